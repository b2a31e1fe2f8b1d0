# Sourced by scripts/test-contract.sh and scripts/prism-conformance.sh: starts the black-box suites'
# app (scripts/start-test-app.ts) and waits until it has written its state file.
#
#   start_test_app <out>   starts it in the background; sets app_pid (the caller's trap stops it)
#   await_test_app <out>   waits up to 120 s for <out>/app.json; fails at once if the app died
#
# Once in many CI runs the app stalled at start, asleep, before it reached the database. A stall
# is not what these suites test, so it is diagnosed and the app started once more: the stalled
# process writes a Node diagnostic report (its JavaScript stack and open handles, printed here), and
# its kernel wait channel is printed too. An app that exits, or stalls twice, fails the run.

start_test_app() {
  local out=$1
  rm -f "$out/app.json"
  node --report-on-signal --report-signal=SIGUSR2 --report-directory="$out" \
    --import tsx scripts/start-test-app.ts "$out/app.json" >"$out/app.log" 2>&1 &
  app_pid=$!
}

# Returns 0 once app.json exists, 1 after 120 s; exits the script if the app died.
wait_for_test_app() {
  local out=$1
  for _ in $(seq 1 480); do
    [ -f "$out/app.json" ] && return 0
    kill -0 "$app_pid" 2>/dev/null || { cat "$out/app.log" >&2; echo "✗ the test app did not start" >&2; exit 1; }
    sleep 0.25
  done
  return 1
}

diagnose_stalled_test_app() {
  local out=$1 report
  echo "… the test app stalled at start; what it was doing:" >&2
  cat "$out/app.log" >&2
  echo "kernel wait channel: $(cat "/proc/$app_pid/wchan" 2>/dev/null || echo '?'), state: $(awk '/^State/ {print $2, $3}' "/proc/$app_pid/status" 2>/dev/null)" >&2
  kill -USR2 "$app_pid" 2>/dev/null || true
  for _ in $(seq 1 20); do
    # This process's report only (a first stall's stays in $out); no match yet is not an error.
    report=$(ls "$out"/report.*."$app_pid".*.json 2>/dev/null | head -n 1 || true)
    [ -n "$report" ] && break
    sleep 0.25
  done
  if [ -n "$report" ]; then
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      console.error("JavaScript stack:", JSON.stringify(r.javascriptStack, null, 1));
      console.error("libuv handles:", JSON.stringify((r.libuv || []).filter((h) => h.is_active).map((h) => [h.type, h.localEndpoint, h.remoteEndpoint].filter(Boolean))));
    ' "$report" || true
  else
    echo "(no diagnostic report within 5 s)" >&2
  fi
  kill -KILL "$app_pid" 2>/dev/null || true
  wait "$app_pid" 2>/dev/null || true
}

await_test_app() {
  local out=$1
  wait_for_test_app "$out" && return 0
  diagnose_stalled_test_app "$out"
  echo "… starting the test app once more" >&2
  start_test_app "$out"
  wait_for_test_app "$out" && return 0
  diagnose_stalled_test_app "$out"
  echo "✗ the test app did not start within 120 s, twice" >&2
  exit 1
}
