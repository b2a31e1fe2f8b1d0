#!/usr/bin/env bash
# Proves scripts/check-breaking.sh: variants of the real bundle (generated/openapi.yaml) built
# in a temporary folder, each compared with the unchanged bundle through --base/--head; then
# the base selection from git, in a scratch repository. Last line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
gate=$root/scripts/check-breaking.sh
spec=$root/generated/openapi.yaml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0 failed=0

# variant NAME JS: writes $tmp/NAME.yaml, the bundle after JS has changed `d` (the parsed document).
variant() {
  node -e '
    const fs = require("node:fs"), YAML = require(process.argv[1] + "/node_modules/yaml");
    const d = YAML.parse(fs.readFileSync(process.argv[2], "utf8"));
    const s = d.components.schemas;
    new Function("d", "s", process.argv[4])(d, s);
    fs.writeFileSync(process.argv[3], YAML.stringify(d));
  ' "$root" "$spec" "$tmp/$1.yaml" "$2"
}

# expect pass|fail|usage NAME OUTPUT-PATTERN COMMAND...: runs the gate, checks its exit code
# (0, 1 or 2) and its output.
expect() {
  local want=$1 name=$2 pattern=$3; shift 3
  local out status code
  out=$("$@" 2>&1); status=$?
  case $want in pass) code=0 ;; fail) code=1 ;; usage) code=2 ;; esac
  local ok=1
  if [ $status -ne "$code" ]; then ok=0; fi
  if ! grep -qzE -- "$pattern" <<<"$out"; then ok=0; fi # -z: the pattern may span lines
  if [ $ok -eq 1 ]; then
    passed=$((passed + 1)); echo "ok - $name"
  else
    failed=$((failed + 1)); echo "not ok - $name (exit $status, wanted $want and /$pattern/)"; sed 's/^/    /' <<<"$out"
  fi
}
against() { expect "$1" "$2" "$3" bash "$gate" --base "$spec" --head "$tmp/$4.yaml"; }

variant unchanged ''
variant removed-response-field '
  delete s.Category.properties.slug;
  s.Category.required = s.Category.required.filter((r) => r !== "slug");'
variant new-required-query-parameter '
  d.paths["/products/categories"].get.parameters.push({ name: "region", in: "query", required: true,
    description: "A region code.", schema: { type: "string", maxLength: 10, pattern: "^[a-z]+$" } });'
variant removed-enum-value '
  s.HealthCheck.properties.status.enum = s.HealthCheck.properties.status.enum.filter((v) => v !== "degraded");'
variant removed-operation 'delete d.paths["/products/categories/{category_id}"].patch;'
variant new-required-request-field 's.CategoryUpdate.required = ["name"];'
variant narrowed-request-type 's.CategoryUpdate.properties.sort_order.maximum = 100;'
variant narrowed-parameter 'd.components.parameters.MaxDepth.schema.maximum = 3;'
variant additive-optional-fields '
  s.Category.properties.icon_url = { type: "string", format: "uri", maxLength: 500, description: "An icon." };
  s.CategoryUpdate.properties.icon_url = { type: "string", format: "uri", maxLength: 500, description: "An icon." };
  d.paths["/products/categories"].get.parameters.push({ name: "locale", in: "query", required: false,
    description: "A locale.", schema: { type: "string", enum: ["ko", "en"] } });'

against pass 'an unchanged spec passes' 'no breaking changes' unchanged
against fail 'a removed response field fails' 'response 200 body\.slug: response field removed' removed-response-field
against fail 'a new required query parameter fails' 'query parameter region: new required parameter' new-required-query-parameter
against fail 'a removed enum value fails' 'checks\.\*\.status: enum value "degraded" removed' removed-enum-value
against fail 'a removed operation fails' 'method\.remove at paths\./products/categories/\{category_id\}\.patch' removed-operation
against fail 'a new required request field fails' 'request body\.name: request field is now required' new-required-request-field
against fail 'a narrowed request field fails' 'body\.sort_order: maximum tightened from 10000 to 100' narrowed-request-type
against fail 'a narrowed parameter fails' 'parameter max_depth: maximum tightened from 5 to 3' narrowed-parameter
against pass 'new optional response/request fields and an optional parameter pass' 'no breaking changes' additive-optional-fields
expect usage 'a missing --base file is an error, not a pass' 'no base document' bash "$gate" --base "$tmp/nonexistent.yaml"

# Acknowledgements: a reviewed finding passes and is shown with its reason; nothing else does.
# (Both checkers see this one: each finding must be acknowledged.)
finding='PATCH /products/categories/{category_id} request body.sort_order: maximum tightened from 10000 to 100'
diff_finding='request.body.scope.remove at paths./products/categories/{category_id}.patch.requestBody.content.application/json.schema'
why='Only the admin console sets it, and it never went above 100.'
printf -- "- finding: '%s'\n  why: %s\n- finding: '%s'\n  why: %s\n" "$finding" "$why" "$diff_finding" "$why" >"$tmp/ack.yaml"
printf -- "- finding: '%s'\n  why: %s\n" "$finding" "$why" >"$tmp/ack-one.yaml"
printf -- "- finding: '%s'\n" "$finding" >"$tmp/ack-no-reason.yaml"
printf -- "- finding: 'GET /nowhere: something'\n  why: stale\n" >"$tmp/ack-other.yaml"
acknowledged() { expect "$1" "$2" "$3" bash "$gate" --base "$spec" --head "$tmp/$4.yaml" --acknowledged "$tmp/$5.yaml"; }
acknowledged pass 'an acknowledged finding passes, shown with its reason' 'acknowledged, not breaking: PATCH [^ ]+ request body\.sort_order.{0,60}why: Only the admin console' narrowed-request-type ack
acknowledged fail 'a finding not acknowledged still fails beside one that is' 'BREAKING \(1\):.{0,4}- \[openapi-diff\] request\.body\.scope\.remove' narrowed-request-type ack-one
acknowledged fail 'an acknowledgement of another finding lets nothing through and is reported stale' 'matches nothing \(stale, remove it\).*nowhere.*maximum tightened from 10000 to 100' narrowed-request-type ack-other
acknowledged usage 'an acknowledgement without a reason is an input error' 'each with a reason' narrowed-request-type ack-no-reason

# Base selection from git, in a scratch repository holding a copy of the gate.
repo=$tmp/repo
mkdir -p "$repo/scripts" "$repo/generated" "$repo/openapi"
cp "$gate" "$repo/scripts/"
ln -s "$root/node_modules" "$repo/node_modules"
printf 'node_modules\n' >"$repo/.gitignore"
g() { git -C "$repo" -c user.name=check-breaking-test -c user.email=test@example.invalid -c commit.gpgsign=false -c tag.gpgsign=false "$@" >/dev/null; }
in_repo() { bash "$repo/scripts/check-breaking.sh" "$@"; }
g init -q -b main
cp "$spec" "$repo/generated/openapi.yaml"; g add -A; g commit -q -m first
expect pass 'first commit (no HEAD~1): passes with a message' 'does not exist' in_repo
cp "$tmp/additive-optional-fields.yaml" "$repo/generated/openapi.yaml"; g commit -q -am additive
expect pass 'clean tree: HEAD~1 is the base, an additive commit passes' 'base HEAD~1:' in_repo
cp "$tmp/removed-response-field.yaml" "$repo/generated/openapi.yaml"
expect fail 'uncommitted spec change: HEAD is the base' 'base HEAD:generated.*response field removed' in_repo
g commit -q -am breaking
expect fail 'clean tree: the last commit is checked against HEAD~1' 'base HEAD~1:.*' in_repo
g tag v1.0.0 HEAD~2
expect fail 'a v* release tag is the base when there is one' 'base v1\.0\.0:generated' in_repo
expect pass '--base-ref picks the base explicitly' 'base HEAD:generated.*no breaking changes' in_repo --base-ref HEAD
g rm -q generated/openapi.yaml; g commit -q -m 'no spec'
mkdir -p "$repo/generated"; cp "$spec" "$repo/generated/openapi.yaml"
expect pass 'base without generated/openapi.yaml passes with a message' 'has no generated/openapi\.yaml' in_repo --base-ref HEAD

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
