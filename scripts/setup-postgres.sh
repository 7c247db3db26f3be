#!/usr/bin/env bash
# Prepares the local PostgreSQL for JdbcSink.exactlyOnceSink: PREPARE TRANSACTION needs
# max_prepared_transactions > 0, and PostgreSQL ships with 0. Idempotent: restarts the server
# only when the setting has to change. Needs a superuser connection (trust auth on 127.0.0.1)
# and root (or the postgres user) for the restart.
set -euo pipefail
HOST="${PGHOST:-127.0.0.1}"
PORT="${PGPORT:-5432}"
DB="${PGDATABASE:-test}"
USER_NAME="${PGUSER:-postgres}"
WANT="${SLUICE_PG_MAX_PREPARED_TRANSACTIONS:-64}"

psql_q() { psql -h "$HOST" -p "$PORT" -U "$USER_NAME" -d "$DB" -Atqc "$1"; }

if ! command -v psql >/dev/null || ! psql_q 'select 1' >/dev/null 2>&1; then
  echo "setup-postgres: no PostgreSQL reachable at $HOST:$PORT (db $DB); nothing to configure." >&2
  exit 0
fi

current="$(psql_q 'show max_prepared_transactions')"
if [ "$current" -ge "$WANT" ]; then
  echo "setup-postgres: max_prepared_transactions = $current (>= $WANT), nothing to do."
  exit 0
fi

psql_q "ALTER SYSTEM SET max_prepared_transactions = $WANT"
# The setting takes effect only at server start.
if command -v pg_lsclusters >/dev/null; then
  read -r ver cluster _ < <(pg_lsclusters -h | awk -v p="$PORT" '$3 == p')
  pg_ctlcluster "$ver" "$cluster" restart
elif command -v service >/dev/null; then
  service postgresql restart
else
  echo "setup-postgres: restart PostgreSQL yourself for max_prepared_transactions to take effect." >&2
  exit 1
fi

for _ in $(seq 1 60); do
  if psql_q 'select 1' >/dev/null 2>&1; then break; fi
  sleep 0.5
done
echo "setup-postgres: max_prepared_transactions = $(psql_q 'show max_prepared_transactions')."
