#!/usr/bin/env bash
# pg_steward benchmark: CPU per row of a column migration's backfill, two
# builds side by side (issue 18; not part of CI).
#
# The migration of wal.sh (orders.total_amount -> total_cents) on ROWS
# rows of setup.sql's orders, loaded fresh for each sample (new database,
# VACUUM, CHECKPOINT, migration_start), then CALL
# steward.migration_backfill('w') with steward.governor = off.  Measured
# in the backfill's own backend: its CPU time (utime + stime from
# /proc/self/stat, which waiting for a CPU on a shared machine does not
# change) and its wall time, around the CALL.  Builds A (old) and B (new)
# each run their own cluster; ROUNDS rounds, the order alternating.
#
# MODE says which job is measured (default backfill):
#   backfill    the column migration's backfill (above);
#   rerun       a second CALL of the backfill, after the first one made the
#               migration backfilled (nothing left to fill);
#   relayout    the backfill of a relayout (orders HASH (order_id), 8 partitions);
#   transition  CALL steward.run_transition('orders', 'created', 'paid') of
#               every row (status under a state machine; no migration).
#   insert_both one INSERT ... SELECT of ROWS new rows naming both shapes
#               of the column migration (total_amount and total_cents,
#               agreeing), into orders of 1,000 rows with the migration
#               started: the dual-write trigger's check of each row, which
#               tells a written total_amount from its default (evolve11).
#   insert_new  the same INSERT naming the new shape only (total_cents):
#               total_amount still gets its default filled in, which the
#               check must tell from a written value as well.
#
# Usage (as root; A and B are DESTDIR roots of an install, as
# /work/notes/htest makes them):
#   A=/var/tmp/pg-old B=/var/tmp/pg-new test/bench/migrate/cpu.sh
# Environment: MODE=backfill, ROWS=300000, ROUNDS=3, PORT=5497 (B: PORT+1), KEEP=0,
# MIGRATION= (the steps of migration 'w'; default: wal.sh's column
# migration, or with MODE=relayout a relayout of orders HASH (order_id)
# in 8 partitions; e.g. '[{"relayout": {"table": "orders", "partition_by":
# "HASH (order_id)", "partitions": 4}}]' for a relayout's batches),
# BASE= (the work directory; default: /var/tmp/pg_steward-bench-migrate-cpu),
# BATCH= (the backfill's batch_size; default: steward.migration_batch_size),
# RESULTS= (default: results-cpu.md next to this script).
set -euo pipefail

A=${A:?A: the DESTDIR root of build A (old)}
B=${B:?B: the DESTDIR root of build B (new)}
MODE=${MODE:-backfill}
ROWS=${ROWS:-300000}
ROUNDS=${ROUNDS:-3}
BATCH=${BATCH:-}
PORT=${PORT:-5497}
KEEP=${KEEP:-0}
BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=${BASE:-/var/tmp/pg_steward-bench-migrate-cpu}
RESULTS=${RESULTS:-$BENCH/results-cpu.md}
DB=bench
PGBIN=$A/usr/lib/postgresql/15/bin
. "$BENCH/../lib.sh"

case $MODE in
backfill | rerun | relayout | transition | insert_both | insert_new) ;;
*) die "MODE: backfill, rerun, relayout, transition, insert_both or insert_new, not $MODE" ;;
esac
COLUMN_MIGRATION='[{"alter_column": {"table": "orders", "column": "total_amount", "name": "total_cents", "type": "bigint", "up": "(total_amount * 100)::bigint", "down": "total_cents / 100.0"}}]'
[ "$MODE" = relayout ] && COLUMN_MIGRATION='[{"relayout": {"table": "orders", "partition_by": "HASH (order_id)", "partitions": 8}}]'
MIGRATION=${MIGRATION:-$COLUMN_MIGRATION}
JOB="CALL steward.migration_backfill('w'${BATCH:+, $BATCH})"
DONE="(SELECT rows_backfilled FROM steward.migrations WHERE name = 'w')"
if [ "$MODE" = transition ]; then
    JOB="CALL steward.run_transition('orders', 'created', 'paid'${BATCH:+, NULL, $BATCH})"
    DONE="(SELECT count(*) FROM orders WHERE status = 'paid')"
fi
SETUP_ROWS=$ROWS
case $MODE in insert_*)
    SETUP_ROWS=1000
    OLD_COL= OLD_VAL=
    if [ "$MODE" = insert_both ]; then OLD_COL='total_amount, ' OLD_VAL='(g % 100000) / 100.0, '; fi
    JOB="INSERT INTO orders (order_id, user_id, ${OLD_COL}total_cents)"
    JOB+=" SELECT g, g % 1000, ${OLD_VAL}g % 100000 FROM generate_series(1001, 1000 + $ROWS) g"
    DONE="(SELECT count(*) - 1000 FROM orders)" ;;
esac

fresh_base "$BASE"
for b in A B; do
    SIDE_BIN[$b]=${!b}/usr/lib/postgresql/15/bin
    SIDE_BASE[$b]=$BASE/$b
    SIDE_PORT[$b]=$((PORT + $([ "$b" = A ] && echo 0 || echo 1)))
    # not in a pipeline: side_start sets this shell's exit trap
    side_start "$b" < <(printf '%s\n' "shared_preload_libraries = 'pg_steward'" \
        "shared_buffers = ${SHARED_BUFFERS:-1GB}" "max_wal_size = 20GB" "checkpoint_timeout = 1h" \
        "autovacuum = off")
done
cp "$BENCH/setup.sql" "$BASE/setup.sql"
chmod 644 "$BASE/setup.sql"

cpu="(SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint FROM pg_read_file('/proc/self/stat') s)"
# one BUILD: "cpu-seconds wall-seconds" of one backfill of ROWS fresh rows
one() {
    local b=$1
    side_psql "$b" -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
    side_psql "$b" -d "$DB" -v rows="$SETUP_ROWS" -f "$BASE/setup.sql" >/dev/null
    side_psql "$b" -d "$DB" -c "VACUUM orders" -c "CHECKPOINT"
    if [ "$MODE" = transition ]; then
        side_psql "$b" -d "$DB" -c "SELECT steward.create_state_machine('o', ARRAY['created', 'paid'], ARRAY['created', 'paid'], ARRAY['created->paid'])" \
            -c "SELECT steward.attach_state_machine('orders', 'status', 'o')" -c "VACUUM orders" >/dev/null
    else
        side_psql "$b" -d "$DB" -c "SELECT steward.migration_start('w', \$m\$$MIGRATION\$m\$)" >/dev/null
    fi
    [ "$MODE" = rerun ] && side_psql "$b" -d "$DB" -c "SET steward.governor = off" -c "$JOB" >/dev/null
    side_psql "$b" -d "$DB" -At \
        -c "CREATE TEMP TABLE t0 AS SELECT $cpu AS cpu, clock_timestamp() AS at" \
        -c "SET steward.governor = off" -c "$JOB" \
        -c "SELECT round(($cpu - cpu) / 100.0, 2), round(extract(epoch FROM clock_timestamp() - at), 2), $DONE
              FROM t0" | tail -n 1 | tr '|' ' '
}

declare -A SAMPLES
echo "== $MODE: $ROUNDS rounds of $ROWS rows"
for ((r = 0; r < ROUNDS; r++)); do
    for b in $( ((r % 2)) && echo B A || echo A B); do
        out=$(one "$b")
        read -r c w n <<<"$out"
        [ "$n" = "$ROWS" ] || die "build $b backfilled $n rows, not $ROWS"
        echo "round $((r + 1)) $b: cpu s, wall s: $c $w"
        SAMPLES[$b]+="$c $w;"
    done
done

col() { tr ';' '\n' | grep . | awk -v c="$1" '{print $c}' | tr '\n' ' '; }
{
    echo "# pg_steward benchmark: CPU of a migration job ($MODE, $ROWS rows), two builds"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $(side_psql A -d "$DB" -Atc 'SELECT version()')"
    echo "- A: $A ($(side_psql A -d "$DB" -Atc "SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'")${A_LABEL:+, $A_LABEL}), B: $B${B_LABEL:+ ($B_LABEL)}"
    echo "- $SETUP_ROWS rows of orders (USING steward, setup.sql), fresh per sample (VACUUM + CHECKPOINT), MODE $MODE: $JOB (steps: $MIGRATION, unless transition; rerun: after a first CALL) with steward.governor = off, batch_size ${BATCH:-default (steward.migration_batch_size)}; CPU = the backend's utime + stime; $ROUNDS rounds, order alternating"
    echo
    echo "| build | CPU s (median) | wall s (median) | rows/CPU-s | CPU samples | wall samples |"
    echo "|---|---:|---:|---:|---|---|"
    for b in A B; do
        s=${SAMPLES[$b]}
        c=$(echo "$s" | col 1 | median)
        echo "| $b | $c | $(echo "$s" | col 2 | median) | $(awk -v n="$ROWS" -v c="$c" 'BEGIN {printf "%d", n / c}') | $(echo "$s" | col 1) | $(echo "$s" | col 2) |"
    done
} >"$RESULTS"
cat "$RESULTS"
