#!/usr/bin/env bash
# The e2e scenarios (test/e2e) through Stoplight Prism's validation proxy, so a third party checks
# every request and response against the spec (`make test-contract` runs this after
# scripts/test-contract.sh). See docs/qa.md.
#
#   scripts/prism-conformance.sh                 the run; fails on any spec violation
#   scripts/prism-conformance.sh --prove-drift   then also proves that drift is caught: with a copy
#                                                of the public spec where Category.sort_order is a
#                                                string, the category scenarios must fail on Prism's
#                                                report
#
# Prism routes on the request path alone and forwards to <upstream><path>, ignoring `servers`, so
# one proxy cannot serve both /v1 and the root-level ops routes. Four proxies run:
#   api      --errors  public spec -> <app>/v1   requests that follow the spec
#   ops      --errors  full spec   -> <app>/     requests that follow the spec
#   api-bad            public spec -> <app>/v1   requests broken on purpose (bad max_depth, no token...)
#   ops-bad            full spec   -> <app>/
# With --errors Prism answers a broken request itself (422/401) without asking the app, so broken
# requests go to the proxies without it: they forward everything and still validate the response.
# The identity scenarios read mail and SMS and walk provider windows through the test app's sandbox
# (E2E_SANDBOX_URL). Prism follows redirects upstream, so the one 302 under test (the social sign-in
# start) is fetched from the app directly (E2E_DIRECT_BASE_URL) and checked by the scenario itself.
# A run fails when a scenario fails (a response violation with --errors is a 500 from Prism; any
# violation is named in `sl-violations`, which the suite checks), or when a proxy log shows a
# violation: any at all for api/ops, a response violation for api-bad/ops-bad.
#
# Writes reports/conformance/: e2e-junit.xml, prism-*.log, app.log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/node_modules/.bin
out=reports/conformance
prove_drift=false
[ "${1:-}" = "--prove-drift" ] && prove_drift=true
started=$SECONDS

rm -rf "$out" && mkdir -p "$out"
bash scripts/ensure-services.sh >/dev/null
. scripts/test-app.sh

pids=() # the Prism proxies; the app is app_pid (scripts/test-app.sh)
app_pid=
stop() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}" ${app_pid:+"$app_pid"}; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}" ${app_pid:+"$app_pid"}; do wait "$pid" 2>/dev/null || true; done
  exit "$status"
}
trap stop EXIT INT TERM

start_test_app "$out"
await_test_app "$out"
state() { node -p "require('$root/$out/app.json').$1"; }
app_url=$(state opsBaseUrl)

free_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }
declare -A port
start_prism() { # name spec upstream [--errors]
  local name=$1 spec=$2 upstream=$3 errors=${4:-}
  port[$name]=$(free_port)
  "$bin/prism" proxy $errors --cors=false -h 127.0.0.1 -p "${port[$name]}" "$spec" "$upstream" >"$out/prism-$name.log" 2>&1 &
  pids+=("$!")
}
wait_prism() { # name
  local name=$1
  for _ in $(seq 1 120); do
    grep -q 'Prism is listening' "$out/prism-$name.log" && return 0
    sleep 0.25
  done
  cat "$out/prism-$name.log" >&2
  echo "✗ Prism ($name) did not start" >&2
  exit 1
}

start_prism api generated/openapi.public.json "$app_url/v1" --errors
start_prism ops generated/openapi.json "$app_url" --errors
start_prism api-bad generated/openapi.public.json "$app_url/v1"
start_prism ops-bad generated/openapi.json "$app_url"
if $prove_drift; then
  # The same public spec, except that one response field has the wrong type.
  node -e '
    const doc = require(process.argv[1]);
    doc.components.schemas.Category.properties.sort_order.type = "string";
    require("fs").writeFileSync(process.argv[2], JSON.stringify(doc));
  ' "$root/generated/openapi.public.json" "$out/openapi.drifted.json"
  start_prism drift "$out/openapi.drifted.json" "$app_url/v1" --errors
fi
for name in "${!port[@]}"; do wait_prism "$name"; done

run_e2e() { # api-proxy junit-file [vitest filters...]
  local api=$1 junit=$2
  shift 2
  E2E_BASE_URL="http://127.0.0.1:${port[$api]}" \
  E2E_OPS_URL="http://127.0.0.1:${port[ops]}" \
  E2E_INVALID_BASE_URL="http://127.0.0.1:${port[api-bad]}" \
  E2E_INVALID_OPS_URL="http://127.0.0.1:${port[ops-bad]}" \
  E2E_ADMIN_TOKEN=$(state adminToken) E2E_USER_TOKEN=$(state userToken) E2E_CATEGORY_ID=$(state ownCategoryId) \
  E2E_SANDBOX_URL=$(state sandboxUrl) E2E_DIRECT_BASE_URL=$(state baseUrl) \
  E2E_BUMPABLE_PRODUCT_ID=$(state vars.bumpProductId) E2E_SELLER_TOKEN=$(state vars.sellerToken) \
  E2E_JUNIT_FILE=$junit \
    "$bin/vitest" run -c contract/vitest.e2e.config.mts "$@"
}

status=0
run_e2e api "$out/e2e-junit.xml" || status=$?

# Prism's own account, in case a violation did not surface as a failed assertion.
violations() { grep -hE "$2" "$out/prism-$1.log" || true; }
found=$( { violations api 'Violation:|Request terminated with error'
           violations ops 'Violation:|Request terminated with error'
           violations api-bad 'Violation: response|Request terminated with error'
           violations ops-bad 'Violation: response|Request terminated with error'; } )
if [ -n "$found" ]; then
  echo "✗ Prism reported departures from the spec:" >&2
  echo "$found" >&2
  status=1
fi
for name in api ops api-bad ops-bad; do
  printf '  prism %-8s %3d requests\n' "$name" "$(grep -c 'Request received' "$out/prism-$name.log" || true)"
done

if $prove_drift; then
  echo "… proving drift is caught: category scenarios against a spec where Category.sort_order is a string"
  if NO_COLOR=1 run_e2e drift "$out/drift-junit.xml" test/e2e/categories.e2e.ts >"$out/drift.log" 2>&1; then
    echo "✗ drift NOT caught: the scenarios passed against a spec the app does not follow" >&2
    status=1
  elif ! grep -q 'response.body.*sort_order\|sort_order must be string' "$out/drift.log"; then
    cat "$out/drift.log" >&2
    echo "✗ the drift run failed, but not on Prism's report of sort_order" >&2
    status=1
  else
    echo "✓ drift caught: $(grep -c '^ *FAIL ' "$out/drift.log" || true) scenarios failed on Prism's report of sort_order ($out/drift.log)"
  fi
fi

echo "Prism conformance run: $((SECONDS - started)) s, report in $out/e2e-junit.xml"
exit "$status"
