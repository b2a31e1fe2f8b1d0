#!/usr/bin/env bash
# `make start`: from a fresh checkout to a running API and worker on the defaults, with demo data.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f .env ] && set -a && . ./.env && set +a

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "… installing dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi
bash scripts/ensure-services.sh
node_modules/.bin/tsx src/cli/migrate.ts
node_modules/.bin/tsx src/cli/seed.ts

pids=()
stop() { trap - INT TERM EXIT; kill -TERM "${pids[@]}" 2>/dev/null || true; wait "${pids[@]}" 2>/dev/null || true; }
trap stop INT TERM EXIT
# The providers' local simulators (mail, SMS), unless .env points at real ones.
if [ -z "${SMTP_URL:-}" ]; then node_modules/.bin/tsx src/integrations/email/simulator-cli.ts --port 1025 --http-port 8025 & pids+=($!); fi
if [ -z "${SMS_PROVIDER_URL:-}" ]; then node_modules/.bin/tsx src/integrations/sms/simulator-cli.ts --port 4030 & pids+=($!); fi
# Google and Kakao stand-ins, registered with each callback of SOCIAL_REDIRECT_URIS (docs/social-login.md).
if [ -z "${GOOGLE_ISSUER:-}" ]; then
  social=(); IFS=',' read -ra bases <<< "${SOCIAL_REDIRECT_URIS:-http://localhost:3000/v1/auth/social}"
  for b in "${bases[@]}"; do b=$(echo "$b" | xargs); b=${b%/}; social+=(--google-redirect-uri "$b/google/callback" --kakao-redirect-uri "$b/kakao/callback"); done
  node_modules/.bin/tsx src/integrations/social/simulator-cli.ts --google-port 4040 --kakao-port 4041 "${social[@]}" & pids+=($!)
fi
if [ -z "${NICE_API_URL:-}" ]; then node_modules/.bin/tsx src/integrations/identity/simulator-cli.ts --port 4050 & pids+=($!); fi
node_modules/.bin/tsx src/server.ts & pids+=($!)
node_modules/.bin/tsx src/worker.ts & pids+=($!)

port=${PORT:-3000}
base=${PUBLIC_BASE_URL:-http://127.0.0.1:$port}
for _ in $(seq 1 60); do
  if curl -fsS "http://127.0.0.1:$port/health/live" >/dev/null 2>&1; then break; fi
  sleep 0.5
done
echo
echo "  Junggo API  $base/v1"
echo "  API docs    $base/docs"
echo "  Health      $base/health/ready"
echo "  (Ctrl-C stops the API and the worker)"
echo
wait -n "${pids[@]}"
