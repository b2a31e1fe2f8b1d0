#!/usr/bin/env bash
# Entrypoint for the `postgres-replica` service (hot standby).
#
# First start (empty data directory): clone the primary with
#   pg_basebackup --write-recovery-conf --slot=<slot> --wal-method=stream
# which writes standby.signal and primary_conninfo/primary_slot_name into
# postgresql.auto.conf. Every start then hands over to the stock
# docker-entrypoint.sh, which sees an existing cluster, skips initdb and
# execs postgres (which starts in standby mode because of standby.signal).
#
# Env: PRIMARY_HOST (default postgres), PRIMARY_PORT (5432),
#      REPLICATION_USER, REPLICATION_PASSWORD, REPLICATION_SLOT (replica_1).
# Invoked as `bash replica-entrypoint.sh postgres -c ...` so the mounted
# file does not need the executable bit.

set -Eeuo pipefail

PGDATA="${PGDATA:-/var/lib/postgresql/data}"
export PGDATA
PRIMARY_HOST="${PRIMARY_HOST:-postgres}"
PRIMARY_PORT="${PRIMARY_PORT:-5432}"
REPLICATION_SLOT="${REPLICATION_SLOT:-replica_1}"
: "${REPLICATION_USER:?REPLICATION_USER must be set}"
: "${REPLICATION_PASSWORD:?REPLICATION_PASSWORD must be set}"

script="${BASH_SOURCE[0]}"

# Started as root (image default): fix ownership of the (possibly fresh) volume,
# then re-run this script as the postgres user.
if [ "$(id -u)" = '0' ]; then
	mkdir -p "$PGDATA"
	chown postgres:postgres "$PGDATA"
	chmod 0700 "$PGDATA"
	exec gosu postgres bash "$script" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	echo "replica-entrypoint: empty data directory, cloning ${PRIMARY_HOST}:${PRIMARY_PORT} (slot ${REPLICATION_SLOT})"

	# libpq reads the password from the environment; --write-recovery-conf
	# records it in primary_conninfo (postgresql.auto.conf) for the walreceiver.
	export PGPASSWORD="$REPLICATION_PASSWORD"

	tries=0
	until pg_isready --quiet --host="$PRIMARY_HOST" --port="$PRIMARY_PORT" --username="$REPLICATION_USER"; do
		tries=$((tries + 1))
		if [ "$tries" -ge 90 ]; then
			echo >&2 "replica-entrypoint: primary ${PRIMARY_HOST}:${PRIMARY_PORT} not ready after 180s, giving up"
			exit 1
		fi
		sleep 2
	done

	# On failure pg_basebackup removes what it wrote, so a restart retries cleanly.
	pg_basebackup \
		--pgdata="$PGDATA" \
		--host="$PRIMARY_HOST" \
		--port="$PRIMARY_PORT" \
		--username="$REPLICATION_USER" \
		--no-password \
		--wal-method=stream \
		--slot="$REPLICATION_SLOT" \
		--write-recovery-conf \
		--checkpoint=fast \
		--progress

	unset PGPASSWORD
	chmod 0700 "$PGDATA"
	echo "replica-entrypoint: base backup complete, starting hot standby"
elif [ ! -f "$PGDATA/standby.signal" ]; then
	echo >&2 "replica-entrypoint: WARNING: $PGDATA has no standby.signal (promoted?); starting as a primary"
fi

exec docker-entrypoint.sh "$@"
