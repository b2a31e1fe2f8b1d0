#!/usr/bin/env bash
# Makes sure PostgreSQL, Redis and RabbitMQ answer at the configured addresses. A local service
# that is installed but stopped is started; anything missing is named with what to install.
set -uo pipefail
cd "$(dirname "$0")/.."
[ -f .env ] && set -a && . ./.env && set +a

pg_url=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/junggo}
redis_url=${REDIS_URL:-redis://127.0.0.1:6379/0}
amqp_url=${RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:5672}

host_port() { # URL default-port -> "host port"
  local rest=${1#*://}; rest=${rest#*@}; rest=${rest%%/*}; rest=${rest%%\?*}
  local host=${rest%%:*} port=${rest##*:}
  [ "$host" = "$rest" ] && port=$2
  echo "$host $port"
}
answers() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }
is_local() { [[ $1 == 127.* || $1 == localhost || $1 == ::1 ]]; }
wait_for() { for _ in $(seq 1 "${3:-60}"); do answers "$1" "$2" && return 0; sleep 1; done; return 1; }

missing=()
check() { # name host port start-command install-hint
  local name=$1 host=$2 port=$3 start=$4 hint=$5
  if answers "$host" "$port"; then echo "✓ $name at $host:$port"; return; fi
  if ! is_local "$host"; then missing+=("$name is not answering at $host:$port (remote: start it there)"); return; fi
  local bin=${start%% *}
  if ! command -v "$bin" >/dev/null 2>&1; then missing+=("$name is not installed: $hint"); return; fi
  echo "… starting $name"
  eval "$start" >/dev/null 2>&1 || true
  if wait_for "$host" "$port" 90; then echo "✓ $name started at $host:$port"; else missing+=("$name did not start at $host:$port (tried: $start)"); fi
}

read -r pg_host pg_port <<<"$(host_port "$pg_url" 5432)"
read -r redis_host redis_port <<<"$(host_port "$redis_url" 6379)"
read -r amqp_host amqp_port <<<"$(host_port "$amqp_url" 5672)"

pg_version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
check PostgreSQL "$pg_host" "$pg_port" "pg_ctlcluster --skip-systemctl-redirect ${pg_version:-15} main start" "apt-get install postgresql (15 or later)"
check Redis "$redis_host" "$redis_port" "redis-server --daemonize yes --bind 127.0.0.1 --port $redis_port --save '' --appendonly no" "apt-get install redis-server"
check RabbitMQ "$amqp_host" "$amqp_port" "rabbitmq-server -detached" "apt-get install rabbitmq-server"

if [ ${#missing[@]} -gt 0 ]; then
  printf '✗ %s\n' "${missing[@]}" >&2
  exit 1
fi
