#!/usr/bin/env bash
# The README's main command: set everything up, start a throwaway local
# cluster, CREATE EXTENSION pg_steward and run the guide's orders
# walkthrough (examples/orders_walkthrough.sql).  Run as root; safe to run
# again (the previous demo cluster is replaced).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

BIN=/usr/lib/postgresql/15/bin
DEMO=/var/tmp/pg_steward-demo
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
as_pg "$PSQL -d shop -c 'CREATE EXTENSION pg_steward'"
# Fed on stdin: the postgres user may not be able to read the checkout.
as_pg "$PSQL -d shop -v ON_ERROR_STOP=1 -f -" < examples/orders_walkthrough.sql 2>&1

cat <<MSG

== The demo cluster keeps running so you can look around:
   su postgres -c "$PSQL -d shop"
== Stop it with:
   su postgres -c "$BIN/pg_ctl -D $DEMO/data stop"
MSG
