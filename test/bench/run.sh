#!/usr/bin/env bash
# pg_steward benchmark: what does version enforcement cost?
#
# Compares three variants of the same orders schema, with identical data, in
# one database of a throwaway cluster:
#   heap     plain heap tables, no enforcement (baseline)
#   steward  USING steward + steward.track_versions(orders, version)
#            (schema "stew": the schema "steward" belongs to the extension)
#   trigger  heap + PL/pgSQL BEFORE INSERT/UPDATE triggers with the same rules
# on three workloads:
#   (a) single-row status updates (version left out: the rule bumps it)
#   (b) one UPDATE of BULK_ROWS rows (timed in psql)
#   (c) the walkthrough mix: create order + 3 items, status update with
#       version = version + 1, get order, list a user's orders, fetch items
#
# Usage (as root, after "make install"):   test/bench/run.sh
# Environment:
#   ROUNDS=7         rounds; each round runs every workload on every variant
#   DURATION=12      seconds per pgbench run of (a) and (c)
#   N_ORDERS=200000  orders per variant (3 items each)
#   N_USERS=20000    distinct user_ids
#   BULK_ROWS=100000 rows changed by the bulk UPDATE of (b)
#   CLIENTS=2        pgbench clients (and threads) for (a) and (c)
#   PORT=5488        port of the throwaway cluster
#   MAX_FOREIGN=25   repeat a run when other processes took more than this
#                    percentage of the CPUs during it ...
#   RETRIES=1        ... up to this many times (then keep it, counted as
#                    disturbed in the report) ...
#   RETRY_BUDGET=10  ... and at most this many repeats in all (bounds the
#                    run time when the machine is busy all the time)
#   KEEP=1           keep the cluster directory (logs) at exit
#   PG_CONFIG        pg_config of the server to use (default: first in PATH)
# A round takes about 6 x DURATION + 10 s, so the defaults take about 9
# minutes on 2 cores (setup ~15 s), 11-12 with the whole retry budget used.
# Writes test/bench/results.md; exits non-zero if a run fails or a version
# count does not add up.
#
# The machine is noisy, so the variants are interleaved: each round runs
# (a), (b), (c) on all three variants, rotating which variant goes first, and
# the report uses medians over rounds.  Before every run the variant's tables
# are vacuumed and a checkpoint is taken, so every run starts from the same
# state (no dead rows from the previous run, same full-page-write cost).
set -euo pipefail

ROUNDS=${ROUNDS:-7}
DURATION=${DURATION:-12}
N_ORDERS=${N_ORDERS:-200000}
N_USERS=${N_USERS:-20000}
BULK_ROWS=${BULK_ROWS:-100000}
CLIENTS=${CLIENTS:-2}
PORT=${PORT:-5488}
KEEP=${KEEP:-0}
MAX_FOREIGN=${MAX_FOREIGN:-25}
RETRIES=${RETRIES:-1}
RETRY_BUDGET=${RETRY_BUDGET:-10}

BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/var/tmp/pg_steward-bench
RESULTS=${RESULTS:-$BENCH/results.md}
DB=bench
. "$BENCH/lib.sh"
[ "$BULK_ROWS" -le "$N_ORDERS" ] || die "BULK_ROWS must not exceed N_ORDERS"

VARIANTS=(heap stew trig)
declare -A LABEL=([heap]=heap [stew]=steward [trig]=trigger)

# Buffers that hold all three variants.
SHARED_BUFFERS=512MB
bench_start_cluster AM

echo "== setup: 3 x $N_ORDERS orders, $((3 * N_ORDERS)) items"
t0=$SECONDS
psql_q -d "$DB" -v n_orders="$N_ORDERS" -v n_users="$N_USERS" -f "$BENCH/setup.sql"
echo "   took $((SECONDS - t0)) s"
psql_q -d "$DB" -f "$BENCH/sanity.sql"

PG_VERSION=$(psql_q -d "$DB" -At -c "SELECT version()")

# ---------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------

# Start every run from the same state: no dead rows, fresh checkpoint.
prepare() {
    psql_q -d "$DB" -c "VACUUM $1.orders, $1.order_items" -c "CHECKPOINT"
}

# pgbench_run VARIANT LOG SCRIPT...: print the TPS.  Table names in the
# scripts are unqualified; search_path selects the variant.
pgbench_run() {
    local s=$1 log=$2; shift 2
    local args=() f
    for f in "$@"; do args+=(-f "$BENCH/$f"); done
    if ! PGOPTIONS="-c search_path=$s" "$PGBIN/pgbench" -n -M prepared \
            -c "$CLIENTS" -j "$CLIENTS" -T "$DURATION" \
            -D n_orders="$N_ORDERS" -D n_users="$N_USERS" \
            "${args[@]}" "$DB" >"$log" 2>&1; then
        cat "$log" >&2
        die "pgbench failed on variant $s"
    fi
    # Every error is a bug here: the workloads cannot conflict.
    if grep -qE 'number of failed transactions: [1-9]' "$log"; then
        cat "$log" >&2
        die "failed transactions on variant $s"
    fi
    sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$log"
}

# Transactions run by one script of a multi-script pgbench log.
script_count() {
    awk -v s="$2" '$0 ~ "^SQL script [0-9]+: .*" s {f=1; next}
                   f && /transactions \(/ {print $2; exit}' "$1"
}

# Rows updated so far according to the statistics system.  Backends flush
# their counts when they exit, so first wait until the other sessions are gone.
updates() {
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(psql_q -d "$DB" -At -c "SELECT count(*) FROM pg_stat_activity
               WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()")" = 0 ] && break
        sleep 0.1
    done
    sleep 0.5   # a backend leaves pg_stat_activity just before its last flush
    psql_q -d "$DB" -At -c "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = '$1.orders'::regclass"
}

# --- Disturbance check -----------------------------------------------------
# Other work on the box (another developer's test clusters) slows runs down
# by a factor of two or more.  Around every run we measure how much CPU went
# to processes outside this benchmark: all busy time from /proc/stat minus
# the time of our postmaster, its children (reaped backends count in the
# postmaster's cutime) and this script's children (pgbench, psql).  A run
# with more than MAX_FOREIGN percent of the CPUs taken by others is repeated,
# up to RETRIES times and RETRY_BUDGET times in all; the last attempt is kept
# either way, and the report shows every sample's share of foreign CPU.
# cpu_sample and foreign_pct come from lib.sh.

# --- Runs -------------------------------------------------------------------

# run_a/run_b/run_c VARIANT LOG: print the measurement (TPS, or ms for b).
run_a() { pgbench_run "$1" "$2" a_status.sql; }
run_b() {
    local out
    out=$(PGOPTIONS="-c search_path=$1" psql_q -d "$DB" -c '\timing on' \
          -c "UPDATE orders SET status = 'x' WHERE order_id <= $BULK_ROWS") \
        || die "bulk update failed on variant $1"
    sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' <<<"$out"
}
MIX=(c_create.sql@10 c_update.sql@20 c_get.sql@35 c_list.sql@25 c_items.sql@10)
run_c() { pgbench_run "$1" "$2" "${MIX[@]}"; }

declare -A SAMPLES   # "workload variant" -> space-separated values
declare -A SHOWN     # "workload variant" -> the same, with others' CPU share
declare -A UPD0      # variant -> n_tup_upd of its orders before the runs
for s in "${VARIANTS[@]}"; do UPD0[$s]=$(updates "$s"); done
# heap bumps versions only in the explicit "version = version + 1" of (c).
# pgbench does not count a transaction still in flight when -T expires, so
# each run may have made up to CLIENTS more than it reports.
heap_bumps_lo=0
heap_bumps_hi=0
# steward's own counters of rejected versions (the sanity check made some).
counters_sql="SELECT coalesce(sum(version_conflicts + invalid_versions), 0) FROM steward.table_counters()"
conflicts0=$(psql_q -d "$DB" -At -c "$counters_sql")
retried=0
disturbed=0

# measure WORKLOAD VARIANT ROUND: one sample, repeated while disturbed
measure() {
    local w=$1 s=$2 r=$3 try c0 c1 val fg log n
    for ((try = 0; ; try++)); do
        prepare "$s"
        log=$LOGS/$w-$s-$r-$try.log
        c0=$(cpu_sample)
        val=$("run_$w" "$s" "$log")
        c1=$(cpu_sample)
        fg=$(foreign_pct "$c0" "$c1")
        [ -n "$val" ] || die "no measurement in $log"
        if [ "$w" = c ] && [ "$s" = heap ]; then
            n=$(script_count "$log" c_update.sql)
            [ -n "$n" ] || { cat "$log" >&2; die "no per-script count in $log"; }
            heap_bumps_lo=$((heap_bumps_lo + n))
            heap_bumps_hi=$((heap_bumps_hi + n + CLIENTS))
        fi
        [ "$fg" -le "$MAX_FOREIGN" ] && break
        if [ "$try" -ge "$RETRIES" ] || [ "$retried" -ge "$RETRY_BUDGET" ]; then
            disturbed=$((disturbed + 1))
            break
        fi
        retried=$((retried + 1))
        echo "   retry $w/${LABEL[$s]}: $(fmt "$val") with ${fg}% of the CPUs busy elsewhere"
    done
    SAMPLES["$w $s"]+="$val "
    SHOWN["$w $s"]+="$(fmt "$val") (${fg}%), "
    line+=" $w/${LABEL[$s]}=$(fmt "$val")"
}

echo "== $ROUNDS rounds x 3 variants: (a) ${DURATION}s, (b) $BULK_ROWS rows, (c) ${DURATION}s"
t_bench=$SECONDS
for ((r = 0; r < ROUNDS; r++)); do
    # rotate the order of the variants from round to round
    order=()
    for ((i = 0; i < 3; i++)); do order+=("${VARIANTS[$(((r + i) % 3))]}"); done
    line="round $((r + 1))/$ROUNDS:"
    for w in a b c; do
        for s in "${order[@]}"; do
            measure "$w" "$s" "$r"
        done
    done
    echo "$line"
done
bench_secs=$((SECONDS - t_bench))

# ---------------------------------------------------------------------------
# Consistency: steward and trigger must have bumped the version of a row
# exactly once per row update (n_tup_upd counts them, concurrent re-checks
# included); heap only in the updates of (c) that ask for it.
# ---------------------------------------------------------------------------
consistency="ok"
for s in "${VARIANTS[@]}"; do
    got=$(psql_q -d "$DB" -At -c "SELECT sum(version - 1) FROM $s.orders")
    bad=$(psql_q -d "$DB" -At -c "SELECT count(*) FROM $s.orders WHERE version < 1")
    if [ "$s" = heap ]; then
        lo=$heap_bumps_lo hi=$heap_bumps_hi
    else
        lo=$(($(updates "$s") - UPD0[$s])) hi=$lo
    fi
    echo "versions ${LABEL[$s]}: sum(version - 1) = $got, expected $lo..$hi; rows below 1: $bad"
    if [ "$got" -lt "$lo" ] || [ "$got" -gt "$hi" ] || [ "$bad" != 0 ]; then
        consistency="MISMATCH in ${LABEL[$s]}: sum(version - 1) = $got, expected $lo..$hi, $bad rows below 1"
        echo "$consistency" >&2
    fi
done
conflicts=$(($(psql_q -d "$DB" -At -c "$counters_sql") - conflicts0))

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {
    if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2];
    else print (v[NR/2] + v[NR/2+1]) / 2 }'; }
# best run: highest TPS, or lowest time for (b).  Other processes on the box
# only ever slow a run down, so the best run is the least disturbed one.
best() { tr ' ' '\n' | grep . | sort -g | if [ "$1" = b ]; then head -n 1; else tail -n 1; fi; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }

declare -A MED BEST
for w in a b c; do
    for s in "${VARIANTS[@]}"; do
        MED["$w $s"]=$(median <<<"${SAMPLES["$w $s"]}")
        BEST["$w $s"]=$(best "$w" <<<"${SAMPLES["$w $s"]}")
    done
done

WNAME_a="(a) single-row status update, TPS"
WNAME_b="(b) UPDATE of $BULK_ROWS rows, ms"
WNAME_c="(c) walkthrough mix, TPS"

# rows WORKLOAD STATS: workload name, the three values and the three ratios,
# '|'-separated.  STATS names the array (MED or BEST).
rows() {
    local -n v=$2
    local name=WNAME_$1 h=${v["$1 heap"]} st=${v["$1 stew"]} tr=${v["$1 trig"]}
    echo "${!name}|$(fmt "$h")|$(fmt "$st")|$(fmt "$tr")|$(ratio "$st" "$h")|$(ratio "$st" "$tr")|$(ratio "$tr" "$h")"
}

table() {
    echo "| workload | heap | steward | trigger | steward/heap | steward/trigger | trigger/heap |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    for w in a b c; do echo "| $(rows "$w" "$1" | sed 's/|/ | /g') |"; done
}

term_table() {
    local fmtline='%-36s %10s %10s %10s %9s %9s %9s\n' w
    printf "$fmtline" workload heap steward trigger st/heap st/trig trig/heap
    for w in a b c; do
        IFS='|' read -r -a f <<<"$(rows "$w" "$1")"
        printf "$fmtline" "${f[@]}"
    done
}

raw() {
    echo "| workload | variant | samples by round (CPU share taken by other processes) |"
    echo "|---|---|---|"
    for w in a b c; do
        for s in "${VARIANTS[@]}"; do
            echo "| $w | ${LABEL[$s]} | ${SHOWN["$w $s"]%, } |"
        done
    done
}

{
    echo "# pg_steward benchmark results"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $PG_VERSION"
    echo "- CPUs: $(nproc) ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1))"
    echo "- rounds: $ROUNDS (variants interleaved, first variant rotated per round)"
    echo "- (a), (c): pgbench -n -M prepared -c $CLIENTS -j $CLIENTS -T $DURATION per run"
    echo "- (b): one \`UPDATE orders SET status = 'x' WHERE order_id <= $BULK_ROWS\` per round and variant, psql \\timing"
    echo "- (c) weights: create order + 3 items 10, status update with version + 1 20, get order 35, list user's orders 25, order items 10"
    echo "- data: $N_ORDERS orders and $((3 * N_ORDERS)) items per variant, $N_USERS users"
    echo "- settings: shared_buffers=512MB, checkpoint_timeout=1h, max_wal_size=20GB, autovacuum=off (VACUUM + CHECKPOINT before every run); everything else default (synchronous_commit=on)"
    echo "- benchmark time: ${bench_secs}s (setup not included)"
    echo "- disturbance: runs with more than ${MAX_FOREIGN}% of the CPUs used by other processes were repeated (up to $RETRIES times, $RETRY_BUDGET in all): $retried repeats; $disturbed of $((9 * ROUNDS)) samples kept although disturbed"
    echo
    echo "TPS: higher is better; for (b) the ratios are of times, so above 1 means slower."
    echo
    echo "Medians:"
    echo
    table MED
    echo
    echo "Best run of each variant (max TPS, min time), for comparison:"
    echo
    table BEST
    echo
    echo "Version check after all runs: $consistency (steward, trigger: sum(version - 1) = rows updated per pg_stat_user_tables);" \
         "versions rejected by steward during the runs (steward.table_counters()): $conflicts."
    echo
    echo "Raw samples:"
    echo
    raw
} >"$RESULTS"

echo
echo "== medians over $ROUNDS rounds (also in $RESULTS)"
term_table MED
echo "== best runs"
term_table BEST
echo "version check: $consistency"
[ "$consistency" = ok ]
