#!/usr/bin/env bash
# pg_steward benchmark: instructions and WAL per row of one backfill, one
# build (issue 18; not part of CI).  Deterministic where wall-clock and
# CPU-time samples on a shared machine are not: callgrind counts the
# instructions of one single-user backend (postgres --single, no other
# process of the server runs) that runs CALL steward.migration_backfill
# with steward.governor = off, minus those of the same backend running
# SELECT 1; WAL bytes from pg_current_wal_insert_lsn around the same CALL
# in the running server, with pg_waldump --stats over the range.
#
# The migration of wal.sh (orders.total_amount -> total_cents) on ROWS
# rows of setup.sql's orders (fillfactor 100, loaded in key order, VACUUM,
# migration_start, VACUUM, CHECKPOINT), kept as a template database; every
# sample starts from a fresh copy of it.  For each batch size of BATCHES:
# instructions a row, WAL bytes a row (steward.batch_wal_compression at
# its default, on, and off), updates and HOT updates.
#
# Usage (as root; R is the DESTDIR root of an install, as htest makes
# them, e.g. /work/pg-NAME):
#   R=/work/pg-NAME test/bench/migrate/instr.sh
# Environment: ROWS=20000, BATCHES="2000 200", PORT=24520 (a socket under
# BASE only), BASE= (the work directory, removed at the end; default: a new
# one made by mktemp under /var/tmp).
set -euo pipefail
R=${R:?R: the DESTDIR root of a build}
ROWS=${ROWS:-20000}
BATCHES=${BATCHES:-2000 200}
PORT=${PORT:-24520}
BASE=${BASE:-$(mktemp -d /var/tmp/pg_steward-bench-instr.XXXXXX)}
BENCH=$(cd "$(dirname "$0")" && pwd)
BIN=$R/usr/lib/postgresql/15/bin
MIGRATION='[{"alter_column": {"table": "orders", "column": "total_amount", "name": "total_cents", "type": "bigint", "up": "(total_amount * 100)::bigint", "down": "total_cents / 100.0"}}]'

[ "$(id -u)" -eq 0 ] || { echo "run as root (the cluster runs as postgres)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 1; }
as_pg() { runuser -u postgres -- "$@"; }
# sql DB TEXT: run TEXT (one or more statements, each its own transaction)
sql() {
    printf '%s\n' "$2" >"$BASE/q.sql"
    chown postgres: "$BASE/q.sql"
    as_pg "$BIN/psql" -h "$BASE" -p "$PORT" -X -q -At -v ON_ERROR_STOP=1 -d "$1" -f "$BASE/q.sql"
}
start() { as_pg "$BIN/pg_ctl" -D "$BASE/data" -l "$BASE/log" start -w >/dev/null; }
stop() { as_pg "$BIN/pg_ctl" -D "$BASE/data" stop -m fast -w >/dev/null; }
cleanup() { [ -s "$BASE/waldump.err" ] && cat "$BASE/waldump.err" >&2; [ -f "$BASE/data/postmaster.pid" ] && stop; rm -rf "$BASE"; }

mkdir -p "$BASE" && chown postgres: "$BASE"
trap cleanup EXIT
as_pg "$BIN/initdb" -D "$BASE/data" -A trust >/dev/null
cat >>"$BASE/data/postgresql.conf" <<CONF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$BASE'
shared_preload_libraries = 'pg_steward'
shared_buffers = 256MB
max_wal_size = 4GB
checkpoint_timeout = 1h
autovacuum = off
wal_keep_size = 4GB
CONF
start
cp "$BENCH/setup.sql" "$BASE/setup.sql" && chown postgres: "$BASE/setup.sql"
sql postgres 'CREATE DATABASE tpl;'
as_pg "$BIN/psql" -h "$BASE" -p "$PORT" -X -q -v ON_ERROR_STOP=1 -d tpl -v rows="$ROWS" -f "$BASE/setup.sql" >/dev/null
sql tpl "VACUUM orders; SELECT steward.migration_start('w', \$m\$$MIGRATION\$m\$); VACUUM orders;" >/dev/null

fresh() { sql postgres 'DROP DATABASE IF EXISTS b; CREATE DATABASE b TEMPLATE tpl; CHECKPOINT;' 2>/dev/null; }
# instructions of a single-user backend on a fresh copy reading $BASE/in.sql
single() {
    fresh
    stop
    printf '%b' "$1" >"$BASE/in.sql"
    chown postgres: "$BASE/in.sql"
    as_pg valgrind --tool=callgrind --callgrind-out-file="$BASE/cg.out" "$BIN/postgres" --single -D "$BASE/data" b \
        <"$BASE/in.sql" >"$BASE/single.log" 2>&1
    start
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$BASE/single.log"
}
echo "| batch_size | instructions/row | WAL bytes/row (batch_wal_compression on / off) | full-page images bytes/row (on / off) | updates / HOT |"
echo "|---:|---:|---:|---:|---:|"
base=$(single 'SELECT 1;\n')
for b in $BATCHES; do
    full=$(single "SET steward.governor = off;\nCALL steward.migration_backfill('w', $b);\nSELECT rows_backfilled FROM steward.migrations;\n")
    grep -q "rows_backfilled = \"$ROWS\"" "$BASE/single.log" || { echo "batch $b: not $ROWS rows" >&2; tail "$BASE/single.log" >&2; exit 1; }
    wal=() fpi=()
    for comp in on off; do
        fresh >/dev/null
        l0=$(sql b 'SELECT pg_current_wal_insert_lsn();')
        sql b "SET steward.governor = off; SET steward.batch_wal_compression = $comp;
               CALL steward.migration_backfill('w', $b);"
        l1=$(sql b 'SELECT pg_current_wal_insert_lsn();')
        sql b 'CHECKPOINT;'
        # the first segment named: pg_waldump otherwise reads its size from
        # any file of pg_wal, a new one still zero-filled too
        s0=$(sql b "SELECT pg_walfile_name('$l0');")
        s1=$(sql b "SELECT pg_walfile_name('$l1');")
        wal+=("$(sql b "SELECT round(pg_wal_lsn_diff('$l1', '$l0') / $ROWS);")")
        # "Total N record-bytes [%] fpi-bytes [%] ..." (pg_waldump exits 1
        # at the range's end on some versions: the stats are printed)
        fpi+=("$( (as_pg "$BIN/pg_waldump" -p "$BASE/data/pg_wal" --stats -s "$l0" -e "$l1" "$s0" "$s1" 2>>"$BASE/waldump.err" || true) |
                  awk -v n="$ROWS" '$1 == "Total" {print int($5 / n + 0.5)}')")
        hot=$(sql b "SELECT n_tup_upd || ' / ' || n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'orders';")
    done
    echo "| $b | $(( (full - base) / ROWS )) | ${wal[0]} / ${wal[1]} | ${fpi[0]} / ${fpi[1]} | $hot |"
done
