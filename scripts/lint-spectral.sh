#!/usr/bin/env bash
# Spectral with spectral:oas and the OWASP API Security ruleset (.spectral.yaml) over the full
# bundle, generated/openapi.yaml: the document the request/response validator enforces.
# Zero errors and zero warnings, like Redocly. See docs/api-lint.md.
#
# The exceptions in .spectral.yaml are keyed to generated/openapi.yaml (JSON pointers into the
# bundle), so this lints that file and first makes sure it matches openapi/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=node_modules/.bin
spec=generated/openapi.yaml

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! "$bin/redocly" bundle junggo -o "$tmp/openapi.yaml" >/dev/null 2>"$tmp/bundle.err"; then
  cat "$tmp/bundle.err" >&2
  echo "spectral: openapi/ does not bundle" >&2
  exit 1
fi
if ! cmp -s "$tmp/openapi.yaml" "$spec"; then
  echo "spectral: $spec is stale: run 'make generate' first (it is what gets linted)" >&2
  exit 1
fi

# --fail-severity=warn: a warning fails the lint too; info and hint results are shown only.
if "$bin/spectral" lint "$spec" --ruleset .spectral.yaml --fail-severity=warn --format=text; then
  echo "spectral: $spec passes spectral:oas + OWASP API Security (0 errors, 0 warnings)"
else
  echo "spectral lint failed (exceptions, with their reasons, are in .spectral.yaml)" >&2
  exit 1
fi
