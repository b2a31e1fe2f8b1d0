#!/usr/bin/env bash
# Primary-only init script, run once by the official postgres image's entrypoint
# (mounted at /docker-entrypoint-initdb.d) when the data directory is empty.
#
# At this point the entrypoint is running as the `postgres` user and a temporary
# server is listening on the Unix socket only. We:
#   1. create the streaming-replication role,
#   2. create the physical replication slot the standby will stream from
#      (so the primary keeps WAL the standby has not received yet;
#      bounded by max_slot_wal_keep_size on the command line),
#   3. allow the role to open replication connections in pg_hba.conf.
#
# Written so it works whether the entrypoint executes it (+x) or sources it
# (no `set -u`, no `exit`): sourcing shares the entrypoint's shell options.

set -Eeo pipefail

if [ -z "${REPLICATION_USER:-}" ] || [ -z "${REPLICATION_PASSWORD:-}" ]; then
	echo >&2 "10-replication.sh: REPLICATION_USER and REPLICATION_PASSWORD must be set"
	false
fi
replication_slot="${REPLICATION_SLOT:-replica_1}"

echo "10-replication.sh: creating role '${REPLICATION_USER}' and slot '${replication_slot}'"

# Values are passed as psql variables (quoted by psql via :"x" / :'x'),
# never spliced into SQL text by the shell.
psql -v ON_ERROR_STOP=1 --no-psqlrc \
	--username "$POSTGRES_USER" --dbname "${POSTGRES_DB:-$POSTGRES_USER}" \
	--set repl_user="$REPLICATION_USER" \
	--set repl_password="$REPLICATION_PASSWORD" \
	--set repl_slot="$replication_slot" <<-'EOSQL'
	CREATE ROLE :"repl_user" WITH REPLICATION LOGIN PASSWORD :'repl_password';
	SELECT pg_create_physical_replication_slot(:'repl_slot');
EOSQL

# The image's entrypoint already appended `host all all all scram-sha-256`,
# but the `all` database keyword does not match replication connections.
printf '\n# streaming replication (added by deploy/postgres/initdb/10-replication.sh)\nhost replication %s all scram-sha-256\n' \
	"$REPLICATION_USER" >> "$PGDATA/pg_hba.conf"
