#!/usr/bin/env bash
# pg_steward benchmark: online schema migrations (issue 16; not part of CI).
#
# The guide's migration, orders.total_amount numeric(12,2) -> total_cents
# bigint, on a table of ROWS rows (USING steward) while the old application
# (oltp.sql: read and update one random order) runs with CLIENTS pgbench
# clients.  Per round, three phases in rotating order:
#   without  OLTP alone for DURATION seconds
#   ours     steward.migration_start, then CALL steward.migration_backfill
#            at default settings (batch steward.migration_batch_size = 2000,
#            no max_rows_per_sec) while OLTP runs; afterwards validate (must
#            pass) and roll back
#   hand     the same by hand, pgroll-style (setup.sql): ADD COLUMN, a
#            PL/pgSQL trigger computing the new column, a backfill updating
#            every row in committed primary-key batches of 1000; then undo
# Measured: OLTP latency per transaction from pgbench -l logs (p50, p99 of
# the transactions that completed while the backfill ran, or in the phase
# without), transactions per second, backfill time and rows per second.
# VACUUM + CHECKPOINT before each phase.
#
# Usage (as root; the extension must be installed):
#   test/bench/migrate/run.sh
# Environment:
#   ROWS=1000000   rows of orders
#   ROUNDS=3       rounds (every phase once per round, order rotating)
#   DURATION=15    seconds of the phase without a backfill
#   CHUNK=2        OLTP runs in pgbench chunks of this many seconds while
#                  a backfill runs, until it ends
#   CLIENTS=2      pgbench clients (and threads)
#   PORT=5496      port of the throwaway cluster (Unix socket only)
#   KEEP=0         1: keep the cluster directory (logs) at exit
# Writes results.md next to this script (RESULTS= to write elsewhere).
set -euo pipefail

ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
CHUNK=${CHUNK:-2}
CLIENTS=${CLIENTS:-2}
PORT=${PORT:-5496}
KEEP=${KEEP:-0}

BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/var/tmp/pg_steward-bench-migrate
RESULTS=${RESULTS:-$BENCH/results.md}
DB=bench
T_START=$SECONDS
BG=
. "$BENCH/../lib.sh"

SETTINGS="shared_buffers=${SHARED_BUFFERS:-1GB}, max_wal_size=20GB, checkpoint_timeout=1h, autovacuum=off; everything else default (synchronous_commit=on)"
bench_start_cluster migrate

echo "== setup: $ROWS rows"
t0=$SECONDS
psql_q -d "$DB" -v rows="$ROWS" -f "$BENCH/setup.sql" >"$LOGS/setup.log"
SETUP_SECS=$((SECONDS - t0))
PG_VERSION=$(psql_q -d "$DB" -At -c "SELECT version()")

# pgbench_run LOG [args]: print "tps transactions"
pgbench_run() {
    local log=$1; shift
    if ! "$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -D rows="$ROWS" "$@" \
            -f "$BENCH/oltp.sql" "$DB" >"$log" 2>&1; then
        cat "$log" >&2
        die "pgbench failed"
    fi
    if grep -qE 'number of failed transactions: [1-9]' "$log"; then
        cat "$log" >&2
        die "failed transactions"
    fi
    echo "$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$log") $(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$log")"
}

# stats FILES T0 T1 (lib.sh): p50/p99 of the pgbench -l logs

# OLTP in CHUNK-second pgbench runs until file $1 exists, or (empty $1) for
# DURATION seconds; logs under prefix $2
run_chunks() {
    local until=$1 prefix=$2 i=0 t_end
    t_end=$(awk -v t="$(now)" -v d="$DURATION" 'BEGIN {printf "%.3f", t + d}')
    while :; do
        if [ -n "$until" ]; then
            [ -e "$until" ] && break
        else
            awk -v t="$(now)" -v e="$t_end" 'BEGIN {exit !(t < e - 0.05)}' || break
        fi
        pgbench_run "$prefix-$i.out" -T "$CHUNK" -l --log-prefix="$prefix-$i" >/dev/null
        i=$((i + 1))
        [ "$i" -lt 900 ] || die "the backfill did not finish within $((900 * CHUNK)) seconds"
    done
}

declare -A SAMPLES
record() { SAMPLES["$1"]+="$2 "; }
med() { median <<<"${SAMPLES["$1"]}"; }

prepare() { psql_q -d "$DB" -c "VACUUM ANALYZE orders" -c "CHECKPOINT" >/dev/null; }

phase_without() {
    local r=$1 p=$LOGS/r$1-without t0 t1 c0 c1 s
    prepare
    c0=$(cpu_sample); t0=$(now)
    run_chunks "" "$p"
    t1=$(now); c1=$(cpu_sample)
    s=$(stats "$p-*.[0-9]*" "$t0" "$t1")
    read -r _ tps p50 _ p99 _ _ <<<"$s"
    record "without p50" "$p50"; record "without p99" "$p99"; record "without tps" "$tps"
    echo "   without: p50 $p50 ms, p99 $p99 ms, $tps tps (others $(foreign_pct "$c0" "$c1")% CPU)"
}

# phase_backfill ROUND VARIANT: the backfill of VARIANT (ours | hand) while OLTP runs
phase_backfill() {
    local r=$1 v=$2 p=$LOGS/r$1-$2 done_file=$LOGS/r$1-$2.done t0 t1 c0 c1 s call ms rate
    if [ "$v" = ours ]; then
        psql_q -d "$DB" -c "SELECT steward.migration_start('bench_$r', \$\$[
          {\"alter_column\": {\"table\": \"orders\", \"column\": \"total_amount\", \"name\": \"total_cents\",
                            \"type\": \"bigint\", \"up\": \"(total_amount * 100)::bigint\",
                            \"down\": \"total_cents / 100.0\"}}]\$\$)" >/dev/null
        call="CALL steward.migration_backfill('bench_$r')"
    else
        psql_q -d "$DB" -c "CALL hand_start()" >/dev/null
        call="CALL hand_backfill(1000)"
    fi
    prepare
    rm -f "$done_file"
    c0=$(cpu_sample); t0=$(now)
    ( psql_q -d "$DB" -c '\timing on' -c "$call" >"$LOGS/r$r-$v-call.out" &&
          now >"$done_file.tmp" && mv "$done_file.tmp" "$done_file" ) &
    BG=$!
    run_chunks "$done_file" "$p"
    wait "$BG" || die "$call failed"
    BG=
    c1=$(cpu_sample)
    t1=$(cat "$done_file")
    ms=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' "$LOGS/r$r-$v-call.out")
    rate=$(awk -v n="$ROWS" -v ms="$ms" 'BEGIN {printf "%.0f", n / ms * 1000}')
    s=$(stats "$p-*.[0-9]*" "$t0" "$t1")
    read -r _ tps p50 _ p99 _ _ <<<"$s"
    record "$v p50" "$p50"; record "$v p99" "$p99"; record "$v tps" "$tps"
    record "$v secs" "$(awk -v ms="$ms" 'BEGIN {printf "%.1f", ms / 1000}')"; record "$v rate" "$rate"
    echo "   $v: backfill $(fmt "$ms") ms = $rate rows/s; OLTP p50 $p50 ms, p99 $p99 ms, $tps tps (others $(foreign_pct "$c0" "$c1")% CPU)"
    if [ "$v" = ours ]; then
        bad=$(psql_q -d "$DB" -At -c "SELECT count(*) FILTER (WHERE NOT passed) FROM steward.migration_validate('bench_$r')")
        [ "$bad" = 0 ] || die "validation of bench_$r failed"
        psql_q -d "$DB" -c "SELECT steward.migration_rollback('bench_$r')" >/dev/null
    else
        bad=$(psql_q -d "$DB" -At -c "SELECT count(*) FROM orders WHERE total_cents IS DISTINCT FROM (total_amount * 100)::bigint")
        [ "$bad" = 0 ] || die "the hand-made backfill left $bad rows wrong"
        psql_q -d "$DB" -c "CALL hand_undo()" >/dev/null
    fi
}

echo "== $ROUNDS rounds: OLTP alone, during our backfill, during the hand-made one ($ROWS rows)"
PHASES=(without ours hand)
for ((r = 0; r < ROUNDS; r++)); do
    echo "round $((r + 1))/$ROUNDS"
    for ((i = 0; i < 3; i++)); do
        ph=${PHASES[$(((r + i) % 3))]}
        if [ "$ph" = without ]; then phase_without "$r"; else phase_backfill "$r" "$ph"; fi
    done
done

# The table after all the rollbacks and undos: the old application's data
# (total_amount moved by the OLTP updates) in the old shape.
COLUMNS=$(psql_q -d "$DB" -At -c "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
                                   WHERE attrelid = 'orders'::regclass AND attnum > 0 AND NOT attisdropped")
[ "$COLUMNS" = "order_id,user_id,status,total_amount,created_at" ] || die "columns left: $COLUMNS"

p0=$(med "without p99"); p1=$(med "ours p99"); p2=$(med "hand p99")
TOTAL_SECS=$((SECONDS - T_START))
{
    echo "# pg_steward benchmark: online schema migrations"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $PG_VERSION"
    echo "- CPUs: $NCPU ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); a shared, noisy machine"
    echo "- settings: $SETTINGS"
    echo "- table: orders USING steward, $ROWS rows; OLTP: oltp.sql (read and update one random order), pgbench -M prepared -c $CLIENTS -j $CLIENTS, latencies from -l logs (nearest rank)"
    echo "- migration: total_amount numeric(12,2) -> total_cents bigint, up (total_amount * 100)::bigint; ours at default settings, then validated (passed every round) and rolled back; hand = pgroll-style ADD COLUMN + PL/pgSQL trigger + committed pk batches of 1000"
    echo "- $ROUNDS rounds, phases rotating; total ${TOTAL_SECS}s (setup ${SETUP_SECS}s)"
    echo
    echo "| measurement (medians over rounds) | without | ours | hand-made |"
    echo "|---|---:|---:|---:|"
    echo "| OLTP p50, ms | $(med "without p50") | $(med "ours p50") | $(med "hand p50") |"
    echo "| OLTP p99, ms | $p0 | $p1 | $p2 |"
    echo "| OLTP p99 / without | 1 | $(ratio "$p1" "$p0") | $(ratio "$p2" "$p0") |"
    echo "| OLTP transactions/s | $(med "without tps") | $(med "ours tps") | $(med "hand tps") |"
    echo "| backfill of $ROWS rows, s | | $(med "ours secs") | $(med "hand secs") |"
    echo "| backfill rows/s | | $(med "ours rate") | $(med "hand rate") |"
    echo
    echo "Raw samples (rounds in order):"
    echo
    for k in "without p50" "without p99" "without tps" "ours p50" "ours p99" "ours tps" "ours secs" "ours rate" \
             "hand p50" "hand p99" "hand tps" "hand secs" "hand rate"; do
        echo "- $k: ${SAMPLES["$k"]}"
    done
} >"$RESULTS"
echo "== results in $RESULTS"
cat "$RESULTS"
