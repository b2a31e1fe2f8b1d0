#!/usr/bin/env bash
# Writes every artefact derived from openapi/ into the folder given (default: generated/).
# check-generated runs it into a temporary folder and compares, so it must be deterministic.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(mkdir -p "${1:-generated}" && cd "${1:-generated}" && pwd)
mkdir -p "$out/docs"
bin=node_modules/.bin
quiet() { "$@" >/dev/null 2>"$out/.stderr" || { cat "$out/.stderr" >&2; exit 1; }; }

quiet "$bin/redocly" bundle junggo -o "$out/openapi.yaml"
quiet "$bin/redocly" bundle junggo --ext json -o "$out/openapi.json"
quiet "$bin/redocly" bundle junggo-public -o "$out/openapi.public.yaml"
quiet "$bin/redocly" bundle junggo-public --ext json -o "$out/openapi.public.json"
# openapi-typescript reads a redocly.yaml in its working directory; run it where there is none.
(cd "$out" && quiet "$OLDPWD/$bin/openapi-typescript" openapi.yaml -o api.d.ts)
quiet "$bin/redocly" build-docs "$out/openapi.public.yaml" -o "$out/docs/index.html" --title "Junggo API reference"
# Seeded Math.random: values the converter makes up (no example in the spec) are the same each run.
NODE_OPTIONS="--require $PWD/scripts/seeded-random.cjs" quiet "$bin/openapi2postmanv2" -s "$out/openapi.public.json" -o "$out/postman.collection.json" -p \
  -O folderStrategy=Tags,parametersResolution=Example,includeAuthInfoInExample=false
node scripts/normalize-postman.mjs "$out/postman.collection.json"
rm -f "$out/.stderr"
