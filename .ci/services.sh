#!/usr/bin/env bash
# System packages and servers the test suites need. Idempotent: safe to run twice.
#
# - Chromium: the console dashboard's browser test (test/console/) drives /usr/bin/chromium
#   through playwright-core.
# - PostgreSQL: the console's storage tests run against PGlite AND a real PostgreSQL server.
#   The connection URL is written to .ci/postgres.env (CLAWBACK_TEST_DATABASE_URL=...), which the
#   Postgres suite reads; in CI (CI=true) that suite fails loudly when the server is unreachable.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
if [ "${#need[@]}" -gt 0 ]; then
  echo "services: installing ${need[*]}" >&2
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${need[@]}"
fi

# Start the (first) cluster Debian created; create one when none exists.
if ! pg_lsclusters -h | grep -q .; then
  ver="$(ls /usr/lib/postgresql | sort -V | tail -1)"
  $SUDO pg_createcluster "$ver" main
fi
read -r PGVER PGCLUSTER PGPORT PGSTATUS _ < <(pg_lsclusters -h | head -1)
if [ "$PGSTATUS" != "online" ]; then
  $SUDO pg_ctlcluster "$PGVER" "$PGCLUSTER" start
fi

# A role and database for the tests (password auth over loopback TCP).
PGUSER_TEST=clawback_test
PGPASS_TEST=clawback_test
PGDB_TEST=clawback_test
as_postgres() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
as_postgres "psql -p $PGPORT -v ON_ERROR_STOP=1 -tAc \"SELECT 1 FROM pg_roles WHERE rolname='$PGUSER_TEST'\" | grep -q 1 || psql -p $PGPORT -v ON_ERROR_STOP=1 -c \"CREATE ROLE $PGUSER_TEST LOGIN PASSWORD '$PGPASS_TEST'\""
as_postgres "psql -p $PGPORT -v ON_ERROR_STOP=1 -tAc \"SELECT 1 FROM pg_database WHERE datname='$PGDB_TEST'\" | grep -q 1 || createdb -p $PGPORT -O $PGUSER_TEST $PGDB_TEST"

url="postgres://$PGUSER_TEST:$PGPASS_TEST@127.0.0.1:$PGPORT/$PGDB_TEST"
printf 'CLAWBACK_TEST_DATABASE_URL=%s\n' "$url" > .ci/postgres.env
echo "services: chromium at /usr/bin/chromium; PostgreSQL $PGVER/$PGCLUSTER on port $PGPORT (URL in .ci/postgres.env)" >&2
