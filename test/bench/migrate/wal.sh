#!/usr/bin/env bash
# pg_steward benchmark: WAL written per row by a migration backfill (issue
# 18; not part of CI).
#
# The guide's migration (orders.total_amount -> total_cents, setup.sql) on
# ROWS rows of orders, each variant on a freshly loaded table after VACUUM
# and CHECKPOINT (so every page's first change writes a full-page image, as
# after any checkpoint), in rotating order per round:
#   plain      UPDATE orders SET total_amount = total_amount (one statement,
#              no migration): what rewriting every row costs anyway
#   backfill   steward.migration_start, then CALL steward.migration_backfill
#              (governor off), steward.batch_wal_compression = on (default)
#   nocompress the same with steward.batch_wal_compression = off
# Measured with pg_walinspect over the job's LSN range: WAL bytes per row,
# of which full-page images, and Heap/LOCK records per row; seconds.
# wal_compression stays off (PostgreSQL's default) in the cluster.
#
# Usage (as root; the extension must be installed):
#   test/bench/migrate/wal.sh
# Environment: ROWS=100000, ROUNDS=3, PORT=5497, KEEP=0, RESULTS= (default:
# results-wal.md next to this script).
set -euo pipefail

ROWS=${ROWS:-100000}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-5497}
KEEP=${KEEP:-0}
BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/var/tmp/pg_steward-bench-migrate-wal
RESULTS=${RESULTS:-$BENCH/results-wal.md}
DB=bench
. "$BENCH/../lib.sh"

# WAL segments stay until the run's end (pg_walinspect reads them after a
# CHECKPOINT that would recycle them).
bench_start_cluster migrate-wal "wal_keep_size = 20GB"

MIGRATION='[{"alter_column": {"table": "orders", "column": "total_amount", "name": "total_cents", "type": "bigint", "up": "(total_amount * 100)::bigint", "down": "total_cents / 100.0"}}]'

# reload: a fresh database with ROWS rows of orders, vacuumed, checkpointed.
reload() {
    psql_q -d postgres -c "DROP DATABASE $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
    psql_q -d "$DB" -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_walinspect"
    psql_q -d "$DB" -v rows="$ROWS" -f "$BENCH/setup.sql" >/dev/null
    psql_q -d "$DB" -c "VACUUM orders" -c "CHECKPOINT"
}

# one VARIANT: "bytes/row fpi-bytes/row lock-records/row seconds"
one() {
    local v=$1 l0 l1 t0 t1 job
    reload
    case $v in
        plain) job=(-c "UPDATE orders SET total_amount = total_amount") ;;
        backfill) psql_q -d "$DB" -c "SELECT steward.migration_start('w', \$m\$$MIGRATION\$m\$)" >/dev/null
                  job=(-c "SET steward.governor = off" -c "CALL steward.migration_backfill('w')") ;;
        nocompress) psql_q -d "$DB" -c "SELECT steward.migration_start('w', \$m\$$MIGRATION\$m\$)" >/dev/null
                    job=(-c "SET steward.governor = off" -c "SET steward.batch_wal_compression = off"
                         -c "CALL steward.migration_backfill('w')") ;;
    esac
    l0=$(psql_q -d "$DB" -Atc "SELECT pg_current_wal_insert_lsn()")
    t0=$(now)
    psql_q -d "$DB" "${job[@]}" >/dev/null
    t1=$(now)
    l1=$(psql_q -d "$DB" -Atc "SELECT pg_current_wal_insert_lsn()")
    psql_q -d "$DB" -c "CHECKPOINT"   # flushes [l0, l1) for pg_walinspect
    psql_q -d "$DB" -Atc "
        SELECT round(sum(record_length)::numeric / $ROWS, 1),
               round(sum(fpi_length)::numeric / $ROWS, 1),
               round((count(*) FILTER (WHERE resource_manager = 'Heap' AND record_type = 'LOCK'))::numeric / $ROWS, 2)
          FROM pg_get_wal_records_info('$l0', '$l1')" | tr '|' ' ' |
        awk -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')" '{print $0, s}'
}

VARIANTS=(plain backfill nocompress)
declare -A SAMPLES
echo "== $ROUNDS rounds of $ROWS rows"
for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < ${#VARIANTS[@]}; i++)); do
        v=${VARIANTS[$(((i + r) % ${#VARIANTS[@]}))]}
        out=$(one "$v")
        echo "round $((r + 1)) $v: bytes/row, FPI bytes/row, LOCK records/row, s: $out"
        SAMPLES[$v]+="$out;"
    done
done

col() { tr ';' '\n' | grep . | awk -v c="$1" '{print $c}' | tr '\n' ' '; }
{
    echo "# pg_steward benchmark: WAL per row of a migration backfill"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $(psql_q -d "$DB" -Atc 'SELECT version()')"
    echo "- $ROWS rows of orders (USING steward, ../migrate/setup.sql), each variant on a fresh table after VACUUM + CHECKPOINT; wal_compression = off; WAL from pg_walinspect over the job's LSN range; $ROUNDS rounds, order rotating"
    echo
    echo "| variant | WAL bytes/row (median) | of which full-page images | Heap/LOCK records/row | seconds | samples (bytes/row) |"
    echo "|---|---:|---:|---:|---:|---|"
    for v in "${VARIANTS[@]}"; do
        s=${SAMPLES[$v]}
        echo "| $v | $(echo "$s" | col 1 | median) | $(echo "$s" | col 2 | median) | $(echo "$s" | col 3 | median) | $(echo "$s" | col 4 | median) | $(echo "$s" | col 1) |"
    done
} >"$RESULTS"
cat "$RESULTS"
