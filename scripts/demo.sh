#!/usr/bin/env bash
# The README's main command: set everything up, start a throwaway local
# cluster, CREATE EXTENSION pg_steward and run the guide's orders
# walkthrough (examples/orders_walkthrough.sql), which shows every
# capability on the orders schema; then run a restore drill and write the
# steward-report page of charts, whose path it prints last.  Run as root;
# safe to run again (the previous demo cluster is replaced).  Exits non-zero if any step fails,
# including a statement the walkthrough expects pg_steward to refuse that
# is not refused.  test/t/014_demo.pl runs the same walkthrough.
#
# Environment: PG_CONFIG (default Debian's PostgreSQL 15), PGSTEWARD_DEMO_DIR
# (default /var/tmp/pg_steward-demo), PGSTEWARD_DEMO_PORT (default 5477).
set -euo pipefail
cd "$(dirname "$0")/.."

export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
scripts/setup.sh

BIN=$("$PG_CONFIG" --bindir)
DEMO=${PGSTEWARD_DEMO_DIR:-/var/tmp/pg_steward-demo}
PORT=${PGSTEWARD_DEMO_PORT:-5477}

as_pg() { su postgres -s /bin/bash -c "$*"; }

if [ -f "$DEMO/data/postmaster.pid" ]; then
    as_pg "$BIN/pg_ctl -D $DEMO/data -m fast -w stop" >/dev/null 2>&1 || true
fi
rm -rf "$DEMO"
mkdir -p "$DEMO"
chown postgres:postgres "$DEMO"

echo "== starting a throwaway cluster in $DEMO (port $PORT)"
as_pg "$BIN/initdb -D $DEMO/data -A trust -E UTF8 --no-locale" >/dev/null
cat >> "$DEMO/data/postgresql.conf" <<CONF
port = $PORT
unix_socket_directories = '$DEMO'
listen_addresses = ''
shared_preload_libraries = 'pg_steward'
CONF
as_pg "$BIN/pg_ctl -D $DEMO/data -l $DEMO/server.log -w start" >/dev/null

PSQL="$BIN/psql -X -h $DEMO -p $PORT -U postgres"
as_pg "$PSQL -q -c 'CREATE DATABASE shop'"
as_pg "$PSQL -d shop -q -c 'CREATE EXTENSION pg_steward'"
# Fed on stdin: the postgres user may not be able to read the checkout.
as_pg "$PSQL -d shop -v ON_ERROR_STOP=1 -f -" < examples/orders_walkthrough.sql 2>&1

echo
echo "== a restore drill: back the cluster up, restore it on a free port, verify every steward table"
as_pg "cd $DEMO && $BIN/steward-drill -h $DEMO -p $PORT -d shop --workdir $DEMO"
# A snapshot and a capacity sample now, so the history the report charts
# holds the walkthrough (the worker takes them every minute / 5 minutes).
as_pg "$PSQL -d shop -q -c 'SELECT steward.take_snapshot()' -c 'SELECT steward.capacity_sample()'" >/dev/null
echo "== the report: steward-report charts statements, health, capacity, drills, lock waits and hot rows"
as_pg "$BIN/steward-report -h $DEMO -p $PORT -d shop -o $DEMO/report.html"

cat <<MSG

== The demo cluster keeps running so you can look around:
   su postgres -c "$PSQL -d shop"
== Stop it with:
   su postgres -c "$BIN/pg_ctl -D $DEMO/data stop"
== The report (one self-contained HTML file; open it in a browser):
   $DEMO/report.html
MSG
