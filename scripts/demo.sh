#!/usr/bin/env bash
# The README's main command: set everything up, start a throwaway local
# cluster, CREATE EXTENSION pg_steward and run the guide's orders
# walkthrough (examples/orders_walkthrough.sql), which shows every
# capability on the orders schema; then run a restore drill and write the
# steward-report page of charts, whose path it prints last.  Run as root;
# safe to run again: each run makes its own directory and removes only its
# own cluster's data (a demo cluster an earlier run kept keeps running).  Exits non-zero if any step fails, including a statement the
# walkthrough expects pg_steward to refuse that is not refused.
# test/t/014_demo.pl runs the same walkthrough.
#
# The cluster is stopped at the end (its data removed, the report kept)
# unless you ask to keep it: `bash scripts/demo.sh --keep` (or
# PGSTEWARD_DEMO_KEEP=1).  It is reachable by the postgres OS user only:
# it listens on no TCP port, only on a unix socket in its own directory
# (mode 0700, owned by postgres), with peer authentication.
#
# Environment: PG_CONFIG (default Debian's PostgreSQL 15),
# PGSTEWARD_DEMO_PORT (default 5477), PGSTEWARD_DEMO_KEEP,
# PGSTEWARD_DEMO_PARENT (default /var/tmp: where the demo's directory is
# made, and where earlier runs' are listed).
set -euo pipefail
cd "$(dirname "$0")/.."

KEEP=${PGSTEWARD_DEMO_KEEP:-0}
case "${1:-}" in
    --keep) KEEP=1 ;;
    "") ;;
    *) echo "usage: bash scripts/demo.sh [--keep]" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: run as root (it installs packages and runs PostgreSQL as postgres)" >&2
    exit 1
fi

export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
scripts/setup.sh

BIN=$("$PG_CONFIG" --bindir)
PORT=${PGSTEWARD_DEMO_PORT:-5477}
PARENT=${PGSTEWARD_DEMO_PARENT:-/var/tmp}

# pg_as DIR COMMAND [ARG...]: run COMMAND as postgres in DIR.  The command
# and its arguments travel as an argument vector, never spliced into a
# shell string, whatever the paths hold.
pg_as() { su postgres -s /bin/bash -c 'cd -- "$1" && shift && exec "$@"' -- pg_as "$@"; }

# Earlier runs' directories are not this run's: one may hold a cluster
# kept on purpose (--keep), perhaps in use, another the server log of a
# failed run or a report.  Each run removes only what it made itself
# (its cluster's data, at the end); earlier ones are listed, with how to
# remove them, and left as they are.
earlier=()
for old in "$PARENT/pg_steward-demo" "$PARENT"/pg_steward-demo.*; do
    [ -d "$old" ] && [ ! -L "$old" ] && [ "$(stat -c %U -- "$old")" = postgres ] || continue
    earlier+=("$old")
done
if [ "${#earlier[@]}" -gt 0 ]; then
    echo "== earlier demo directories, left as they are (a kept cluster in one keeps running):"
    for old in "${earlier[@]}"; do
        if [ -f "$old/data/postmaster.pid" ]; then
            echo "   $old  (a cluster; stop it: su postgres -c '$BIN/pg_ctl -D $old/data stop')"
        else
            echo "   $old"
        fi
    done
    echo "   remove one, once its cluster is stopped: rm -rf -- DIRECTORY"
fi

# A fresh directory nobody else can have prepared (mktemp), then given to
# postgres: mode 0700, so only postgres (and root) reach the socket in it.
DEMO=$(mktemp -d "$PARENT/pg_steward-demo.XXXXXX")
chown postgres:postgres "$DEMO"
chmod 700 "$DEMO"

stop_demo() {
    if [ -f "$DEMO/data/postmaster.pid" ]; then
        pg_as "$DEMO" "$BIN/pg_ctl" -D "$DEMO/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}
# On a failure the cluster is stopped too (unless kept); its directory
# stays for the server log.
trap '[ "$KEEP" = 1 ] || stop_demo' EXIT

echo "== starting a throwaway cluster in $DEMO (unix socket only, port $PORT)"
pg_as "$DEMO" "$BIN/initdb" -D "$DEMO/data" --auth-local=peer --auth-host=scram-sha-256 \
    -E UTF8 --no-locale >/dev/null
# Written as postgres: root writes nothing into the directory postgres owns.
pg_as "$DEMO" tee -a "$DEMO/data/postgresql.conf" >/dev/null <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DEMO'
unix_socket_permissions = 0700
shared_preload_libraries = 'pg_steward'
CONF
pg_as "$DEMO" "$BIN/pg_ctl" -D "$DEMO/data" -l "$DEMO/server.log" -w start >/dev/null

PSQL=("$BIN/psql" -X -h "$DEMO" -p "$PORT" -U postgres)
pg_as "$DEMO" "${PSQL[@]}" -q -c 'CREATE DATABASE shop'
pg_as "$DEMO" "${PSQL[@]}" -d shop -q -c 'CREATE EXTENSION pg_steward'
# Fed on stdin: the postgres user may not be able to read the checkout.
pg_as "$DEMO" "${PSQL[@]}" -d shop -v ON_ERROR_STOP=1 -f - < examples/orders_walkthrough.sql 2>&1

echo
echo "== a restore drill: back the cluster up, restore it on a free port, verify every steward table"
pg_as "$DEMO" "$BIN/steward-drill" -h "$DEMO" -p "$PORT" -d shop --workdir "$DEMO"
# A snapshot and a capacity sample now, so the history the report charts
# holds the walkthrough (the worker takes them every minute / 5 minutes).
pg_as "$DEMO" "${PSQL[@]}" -d shop -q -c 'SELECT steward.take_snapshot()' \
    -c 'SELECT steward.capacity_sample()' >/dev/null
echo "== the report: steward-report charts statements, health, capacity, drills, lock waits and hot rows"
pg_as "$DEMO" "$BIN/steward-report" -h "$DEMO" -p "$PORT" -d shop -o "$DEMO/report.html"

if [ "$KEEP" = 1 ]; then
    cat <<MSG

== The demo cluster keeps running (--keep) so you can look around, as root:
   su postgres -c '$BIN/psql -X -h $DEMO -p $PORT -d shop'
== Stop it with:
   su postgres -c '$BIN/pg_ctl -D $DEMO/data stop' && rm -rf -- $DEMO
   (running the demo again leaves it running: each run has its own directory)
MSG
else
    stop_demo
    pg_as "$DEMO" rm -rf -- "$DEMO/data"
    echo
    echo "== The demo cluster is stopped and its data removed (bash scripts/demo.sh --keep leaves it running)."
fi
cat <<MSG
== The report (one self-contained HTML file; open it in a browser, as root):
   $DEMO/report.html
MSG
