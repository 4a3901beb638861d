#!/usr/bin/env bash
# pg_steward benchmark (issue #7): steward.verify() and steward-drill.
#
# (1) SELECT * FROM steward.verify('orders') on a ROWS-row steward table
#     vs the same checks written as plain SQL (plain.sql: count + checksum,
#     PK duplicates, idempotency-key (exclusion) duplicates, FK anti-join,
#     versions >= 1, states valid, and steward.verify_index for the
#     steward_hash index, which plain SQL has no equivalent for).
#     The two variants alternate over ROUNDS rounds (the first one rotating);
#     reported: medians, rows/s, verify/plain ratio of the medians and the
#     median of the per-round ratios, raw samples.  Goal: verify >= 1.0x
#     plain SQL (rows/s).
# (2) steward-drill on the same cluster, padded with a heap filler table to
#     about DRILL_GB GB (10^9 bytes) of database: total duration and the
#     phases (snapshot + base backup, restore/startup, verify, checksum
#     compare), timed from outside from timestamps of the drill's output
#     lines and of the moment its restored copy's log file appears, and
#     checked against steward.restore_drills.duration_s.
#
# Usage (as root, after "make install"):   test/bench/ops/run.sh
# Environment:
#   ROWS=10000000    rows of orders
#   CUSTOMERS=10000  rows of the parent table
#   ROUNDS=3         rounds of (1)
#   DRILL_GB=2       database size for (2), GB = 10^9 bytes (0 skips (2))
#   PORT=55491       port of the throwaway cluster (socket only, no TCP)
#   WAIT_OTHERS=1    wait until no other test/bench/*/run.sh is running
#                    before measuring (they share the CPUs)
#   KEEP=1           keep the cluster directory (logs) at exit
#   PG_CONFIG        pg_config of the server to use (default: first in PATH)
# Writes test/bench/ops/results.md; exits non-zero if a run fails, a check
# of verify() fails or the drill fails.
set -euo pipefail

ROWS=${ROWS:-10000000}
CUSTOMERS=${CUSTOMERS:-10000}
ROUNDS=${ROUNDS:-3}
DRILL_GB=${DRILL_GB:-2}
PORT=${PORT:-55491}
WAIT_OTHERS=${WAIT_OTHERS:-1}
KEEP=${KEEP:-0}

BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/tmp/pg_steward-bench-ops
DRILLDIR=$BASE/drill
RESULTS=${RESULTS:-$BENCH/results.md}
DB=bench
T_START=$SECONDS
POLLER=
. "$BENCH/../lib.sh"
[ -x "$PGBIN/steward-drill" ] || die "$PGBIN/steward-drill is not installed (make install)"

# A drill copy left running by an interrupted drill.
bench_on_exit() {
    local d
    for d in "$DRILLDIR"/steward-drill.*/data; do
        [ -f "$d/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$d" -m immediate -w stop >/dev/null 2>&1 || true
    done
}

# Other benchmarks of this repository share the two CPUs: wait for them.
others() { pgrep -f 'test/bench/run\.sh|bench/(lifecycle|overhead|hash|idempotency)/run\.sh|\./(lifecycle|overhead|hash|idempotency)/run\.sh' || true; }
wait_others() {
    [ "$WAIT_OTHERS" = 1 ] || return 0
    local waited=0
    while [ -n "$(others)" ]; do
        [ "$waited" = 0 ] && echo "   waiting for other benchmarks to finish: $(others | tr '\n' ' ')"
        waited=1
        sleep 5
    done
}

SETTINGS="shared_buffers = 2GB, work_mem = 64MB, maintenance_work_mem = 1GB, max_wal_size = 20GB, checkpoint_timeout = 1h, autovacuum = off, jit = off; everything else default (max_parallel_workers_per_gather = 2, wal_level = replica)"
SHARED_BUFFERS=2GB
bench_start_cluster ops "work_mem = 64MB
maintenance_work_mem = 1GB
jit = off"
mkdir -p "$DRILLDIR"
chown postgres: "$DRILLDIR"
PG_VERSION=$(psql_q -d "$DB" -At -c "SELECT version()")

# The load is heavy too: do not disturb other benchmarks with it either.
wait_others
echo "== setup: $ROWS orders, $CUSTOMERS customers"
t0=$SECONDS
psql_q -d "$DB" -v rows="$ROWS" -v customers="$CUSTOMERS" -f "$BENCH/setup.sql" >"$LOGS/setup.log"
SETUP_SECS=$((SECONDS - t0))
SETUP_TIMES=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' "$LOGS/setup.log" |
    awk '{printf "%s%.1f s", (NR > 1 ? ", " : ""), $1 / 1000}')
echo "   took $SETUP_SECS s (insert, PK, EXCLUDE steward_hash, FK, attach machine, VACUUM ANALYZE: $SETUP_TIMES)"
SIZES=$(psql_q -d "$DB" -At -c "SELECT format('orders heap %s MB, orders_pkey %s MB, orders_idem (steward_hash) %s MB, customers %s MB',
    pg_relation_size('orders') / 1000000, pg_relation_size('orders_pkey') / 1000000,
    pg_relation_size('orders_idem') / 1000000, pg_total_relation_size('customers') / 1000000)")
echo "   $SIZES"

# ---------------------------------------------------------------------------
# (1) verify vs plain SQL
# ---------------------------------------------------------------------------
run_verify() {   # print ms; the output goes to $1
    local out
    out=$(psql_q -d "$DB" -c '\timing on' -c "SELECT * FROM steward.verify('orders')") || die "verify failed"
    echo "$out" >"$1"
    grep -qE '\| f \|' "$1" && die "a check of verify() failed: $(cat "$1")"
    sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' <<<"$out" | tail -n 1
}
run_plain() {   # print "total ms|ms per statement"
    local out
    out=$(psql_q -d "$DB" -c '\timing on' -f "$BENCH/plain.sql") || die "plain SQL failed"
    echo "$out" >"$1"
    sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' <<<"$out" |
        awk '{s += $1; l = l (NR > 1 ? " " : "") sprintf("%.0f", $1)} END {printf "%.3f|%s\n", s, l}'
}

declare -A SAMPLES LOADS
declare -a RATIOS PLAIN_PARTS
wait_others
echo "== (1) $ROUNDS rounds of verify() and plain SQL, alternating"
VERIFY_OUT=$LOGS/verify-0.out
# Warm-up (not counted): one plain run reads every relation the checks
# touch into shared_buffers / the page cache.
run_plain "$LOGS/plain-warm.out" >/dev/null
t_bench=$SECONDS
for ((r = 0; r < ROUNDS; r++)); do
    if ((r % 2 == 0)); then order=(verify plain); else order=(plain verify); fi
    for v in "${order[@]}"; do
        load0=$(cut -d' ' -f1 /proc/loadavg)
        if [ "$v" = verify ]; then
            ms=$(run_verify "$LOGS/verify-$r.out")
        else
            res=$(run_plain "$LOGS/plain-$r.out")
            ms=${res%%|*}
            PLAIN_PARTS+=("${res#*|}")
        fi
        SAMPLES[$v]+="$ms "
        LOADS[$v]+="$(cut -d' ' -f1 /proc/loadavg) "
        declare "ms_$v=$ms"
    done
    RATIOS+=("$(awk -v p="$ms_plain" -v v="$ms_verify" 'BEGIN {printf "%.4f", p / v}')")
    echo "   round $((r + 1))/$ROUNDS: verify $(fmt "$ms_verify" 0) ms, plain $(fmt "$ms_plain" 0) ms (plain statements: ${PLAIN_PARTS[-1]} ms), verify/plain rows/s $(fmt "${RATIOS[-1]}" 3)"
done
BENCH_SECS=$((SECONDS - t_bench))
VERIFY_CHECKS=$(awk -F'|' 'NR > 2 && NF >= 3 {gsub(/^ +| +$/, "", $1); gsub(/^ +| +$/, "", $2); gsub(/^ +| +$/, "", $3);
    printf "%s`%s` %s (%s)", n++ ? ", " : "", $1, $2 == "t" ? "passed" : "FAILED", $3}' "$LOGS/verify-0.out")

# Info: what the cheaper 32-bit checksum (sum of hashtext(row::text)::bigint)
# and the checksum query alone cost, and whether plain SQL used parallel workers.
CHEAP_MS=$(psql_q -d "$DB" -c '\timing on' -c "SELECT count(*), sum(hashtext(t::text)::bigint) FROM orders t" |
    sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' | tail -n 1)
PLAN_PAR=$(psql_q -d "$DB" -At -c "EXPLAIN SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) FROM orders t" | grep -c Gather || true)
# Does verify()'s dynamic SQL get parallel plans?  auto_explain on a tiny copy.
psql_q -d "$DB" -c "CREATE TABLE par_probe (LIKE orders) USING steward" \
       -c "INSERT INTO par_probe SELECT * FROM orders LIMIT 1000" \
       -c "ALTER TABLE par_probe ADD PRIMARY KEY (order_id)" >/dev/null
VERIFY_PAR=$(psql_q -d "$DB" -At -c "LOAD 'auto_explain'" -c "SET auto_explain.log_min_duration = 0" \
       -c "SET auto_explain.log_nested_statements = on" -c "SET auto_explain.log_level = notice" \
       -c "SET parallel_setup_cost = 0" -c "SET parallel_tuple_cost = 0" -c "SET min_parallel_table_scan_size = 0" \
       -c "SELECT count(*) FROM steward.verify('par_probe')" 2>&1 | grep -c 'Gather' || true)
PLAIN_PAR_FORCED=$(psql_q -d "$DB" -At -c "SET parallel_setup_cost = 0" -c "SET parallel_tuple_cost = 0" \
       -c "SET min_parallel_table_scan_size = 0" \
       -c "EXPLAIN SELECT count(*) FROM (SELECT 1 FROM par_probe GROUP BY order_id HAVING count(*) > 1) d" | grep -c Gather || true)
psql_q -d "$DB" -c "DROP TABLE par_probe" >/dev/null

# ---------------------------------------------------------------------------
# (2) steward-drill
# ---------------------------------------------------------------------------
DRILL_DONE=0
if awk -v g="$DRILL_GB" 'BEGIN {exit !(g > 0)}'; then
    target=$(awk -v g="$DRILL_GB" 'BEGIN {printf "%.0f", g * 1e9}')
    have=$(psql_q -d "$DB" -At -c "SELECT pg_database_size(current_database())")
    FILLER_ROWS=0
    if [ "$have" -lt "$target" ]; then
        # ~ 250 bytes per row on disk (200-character pad + header + item pointer)
        FILLER_ROWS=$(( (target - have) / 250 ))
        echo "== (2) padding the database from $((have / 1000000)) MB with $FILLER_ROWS filler rows (heap)"
        psql_q -d "$DB" -c "CREATE TABLE filler (id bigint PRIMARY KEY, pad text NOT NULL)" \
            -c "INSERT INTO filler SELECT i, repeat(md5(i::text), 7)::char(200) FROM generate_series(1, $FILLER_ROWS) i" \
            -c "VACUUM ANALYZE filler" >/dev/null
    fi
    psql_q -d "$DB" -c "CHECKPOINT"
    DB_SIZE=$(psql_q -d "$DB" -At -c "SELECT pg_database_size(current_database())")
    CLUSTER_SIZE=$(psql_q -d "$DB" -At -c "SELECT sum(pg_database_size(oid)) FROM pg_database")
    wait_others
    echo "== (2) steward-drill: database $DB $((DB_SIZE / 1000000)) MB, cluster $((CLUSTER_SIZE / 1000000)) MB"
    DRILL_LOG=$LOGS/drill.log
    # Poll for the restored copy's log file: pg_ctl creates it when the
    # copy starts, i.e. right after pg_basebackup (and writing the config).
    (
        while :; do
            f=$(ls "$DRILLDIR"/steward-drill.*/restore.log 2>/dev/null | head -n 1 || true)
            if [ -n "$f" ]; then date +%s.%N >"$LOGS/restore_start"; break; fi
            sleep 0.05
        done
    ) &
    POLLER=$!
    T0=$(date +%s.%N)
    set +e
    as_pg "$PGBIN/steward-drill" -h "$SOCK" -p "$PORT" -U postgres -d "$DB" --workdir "$DRILLDIR" --keep 2>&1 |
        while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done >"$DRILL_LOG"
    DRILL_RC=${PIPESTATUS[0]}
    set -e
    T1=$(date +%s.%N)
    kill "$POLLER" 2>/dev/null || true; wait "$POLLER" 2>/dev/null || true; POLLER=
    cat "$DRILL_LOG"
    [ "$DRILL_RC" = 0 ] || die "steward-drill failed (exit $DRILL_RC)"
    COPYDIR=$(ls -d "$DRILLDIR"/steward-drill.* | head -n 1)
    cp "$COPYDIR/restore.log" "$LOGS/restore.log" 2>/dev/null || true
    cp "$COPYDIR/details.txt" "$LOGS/drill-details.txt" 2>/dev/null || true
    rm -rf "$COPYDIR"
    DRILL_ROW=$(psql_q -d "$DB" -At -F ' | ' -c "SELECT id, duration_s, tables, result, recovery_point FROM steward.restore_drills ORDER BY id DESC LIMIT 1")
    DRILL_DONE=1
fi

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
mv=$(median <<<"${SAMPLES[verify]}")
mp=$(median <<<"${SAMPLES[plain]}")
rps() { awk -v n="$ROWS" -v ms="$1" 'BEGIN {printf "%.0f", n / ms * 1000}'; }
RATIO=$(awk -v p="$mp" -v v="$mv" 'BEGIN {printf "%.3f", p / v}')
RATIO_R=$(fmt "$(printf '%s ' "${RATIOS[@]}" | median)" 3)
GOAL=$(awk -v r="$RATIO" 'BEGIN {print (r >= 1.0) ? "met" : "MISSED"}')

# Drill phases from the timestamped lines.
if [ "$DRILL_DONE" = 1 ]; then
    RS=$(cat "$LOGS/restore_start" 2>/dev/null || echo "")
    PHASES=$(awk -v t0="$T0" -v t1="$T1" -v rs="$RS" '
        function add(name, t) { printf "| %s | %.1f | %.1f |\n", name, t - prev, t - t0; cat[name ~ /^verify/ ? "verify" : name ~ /^checksum/ ? "checksum compare" : name] += t - prev; prev = t }
        BEGIN { prev = t0 }
        {
            t = $1; $1 = ""; sub(/^ /, "")
            if ($0 ~ /^drill [0-9]+: backing up/) add("start: record the drill (psql)", t)
            else if ($0 ~ /^restored copy/) {
                if (rs != "") add("snapshot write counters + pg_basebackup (-X stream -c fast)", rs)
                add(rs != "" ? "restore: start the copy, recovery, ready" : "pg_basebackup + restore/startup", t)
            }
            else if ($0 ~ /^ok: .* verified/) add("verify: " $2, t)
            else if ($0 ~ /checksum ranges/) add("checksum compare: " $2 " (" ($1 == "skipped:" ? "skipped" : "copy + source") ")", t)
            else if ($0 ~ /^drill [0-9]+ (passed|failed)/) add("record the outcome, stop the copy", t)
        }
        END {
            if (t1 > prev) add("exit (cleanup trap)", t1)
            for (c in cat) if (c == "verify" || c == "checksum compare") printf "SUM|%s|%.1f\n", c, cat[c]
        }' "$DRILL_LOG")
    DRILL_TOTAL=$(awk -v a="$T0" -v b="$T1" 'BEGIN {printf "%.1f", b - a}')
    REDO=$(grep -E 'redo (starts|done)|ready to accept|checkpoint complete' "$LOGS/restore.log" 2>/dev/null | sed 's/^/    /' || true)
fi

TOTAL_SECS=$((SECONDS - T_START))
{
    echo "# pg_steward benchmark: steward.verify() and steward-drill (issue #7)"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $PG_VERSION"
    echo "- CPUs: $(nproc) ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)), $(free -g | awk '/^Mem:/ {print $2}') GB RAM; a shared machine"
    echo "- settings: $SETTINGS"
    echo "- data (test/bench/ops/setup.sql): orders USING steward, $ROWS rows: PRIMARY KEY (order_id), EXCLUDE USING steward_hash (customer_id WITH =, idem_key WITH =) (idempotency key), FOREIGN KEY (customer_id) -> customers ($CUSTOMERS rows, heap), version tracked (steward.track_versions, all rows at 1), status under a 5-state machine (steward.attach_state_machine)"
    echo "- sizes: $SIZES"
    echo "- setup: ${SETUP_SECS} s (INSERT ... SELECT generate_series, PK, EXCLUDE steward_hash, FK, attach machine, VACUUM ANALYZE: $SETUP_TIMES)"
    echo "- run: ROWS=$ROWS ROUNDS=$ROUNDS DRILL_GB=$DRILL_GB; time: rounds of (1) ${BENCH_SECS} s, total ${TOTAL_SECS} s"
    echo
    echo "## (1) steward.verify('orders') vs the same checks in plain SQL"
    echo
    echo "Each round runs \`SELECT * FROM steward.verify('orders')\` and test/bench/ops/plain.sql (the same seven checks as separate statements, one psql session) once each, alternating which goes first; a warm-up run of plain.sql before the rounds is not counted. Time: psql \\timing (plain: sum of its statements). rows/s = $ROWS rows / time. Ratio > 1 means verify() is faster."
    echo
    echo "| variant | median time (s) | rows/s |"
    echo "|---|---:|---:|"
    echo "| steward.verify('orders') | $(fmt "$(awk -v m="$mv" 'BEGIN {print m / 1000}')" 2) | $(rps "$mv") |"
    echo "| plain SQL (plain.sql) | $(fmt "$(awk -v m="$mp" 'BEGIN {print m / 1000}')" 2) | $(rps "$mp") |"
    echo
    echo "| measurement | verify / plain (rows/s) | goal |"
    echo "|---|---:|---|"
    echo "| ratio of the medians | $RATIO | >= 1.0: $GOAL |"
    echo "| median of the per-round ratios (same round, adjacent runs) | $RATIO_R | |"
    echo
    echo "verify()'s result (round 1): $VERIFY_CHECKS."
    echo
    echo "Notes:"
    echo
    echo "- The plain SQL does exactly what verify() does, check for check, including the 64-bit checksum \`sum(hashtextextended(row::text, 0)::numeric)\`. The steward_hash index check has no plain-SQL equivalent (it walks the index's own pages and probes the table), so the plain variant calls \`steward.verify_index('orders_idem')\` as well; it is the last number of \"plain statements\" below."
    echo "- Info (one run, after the rounds): the cheaper 32-bit checksum \`count(*), sum(hashtext(t::text)::bigint)\` alone took $(fmt "$(awk -v m="$CHEAP_MS" 'BEGIN {print m / 1000}')" 2) s, vs the first plain statement (64-bit numeric checksum + count) in the table below."
    echo "- Parallel query: the plain checksum query's plan has $PLAN_PAR Gather node(s) at the default settings and this size; with parallel costs forced to 0, auto_explain showed $VERIFY_PAR Gather node(s) in verify()'s nested statements and EXPLAIN showed $PLAIN_PAR_FORCED for the same GROUP BY in plain SQL."
    echo
    echo "### Raw samples (ms, round order; 1-minute load average after the run)"
    echo
    echo "| round | first | verify ms | plain ms | plain statements ms (checksum+count, PK dups, idempotency dups, FK, versions, states, verify_index) | verify/plain rows/s |"
    echo "|---|---|---:|---:|---|---:|"
    read -ra sv <<<"${SAMPLES[verify]}"; read -ra sp <<<"${SAMPLES[plain]}"
    read -ra lv <<<"${LOADS[verify]}"; read -ra lp <<<"${LOADS[plain]}"
    for ((r = 0; r < ROUNDS; r++)); do
        ((r % 2 == 0)) && first=verify || first=plain
        echo "| $((r + 1)) | $first | $(fmt "${sv[$r]}" 0) (load ${lv[$r]}) | $(fmt "${sp[$r]}" 0) (load ${lp[$r]}) | ${PLAIN_PARTS[$r]} | $(fmt "${RATIOS[$r]}" 3) |"
    done
    echo
    if [ "$DRILL_DONE" = 1 ]; then
        echo "## (2) steward-drill"
        echo
        echo "\`steward-drill -h <socket dir> -p $PORT -U postgres -d $DB --workdir $DRILLDIR --keep\` (as postgres; --keep only so that run.sh can read the copy's restore.log; the copy is stopped by the drill either way), after a CHECKPOINT."
        echo
        echo "- database $DB: $((DB_SIZE / 1000000)) MB (orders as in (1) + $FILLER_ROWS filler rows in a heap table to reach DRILL_GB=$DRILL_GB GB); whole cluster (what pg_basebackup copies): $((CLUSTER_SIZE / 1000000)) MB; same disk for source and copy"
        echo "- steward tables verified in the copy: $(sed -nE 's/^[0-9.]+ ok: (.*) verified$/\1/p' "$DRILL_LOG" | paste -sd, - | sed 's/,/, /g') (orders: $ROWS rows; steward.idempotency_keys is the extension's own, empty); customers and filler are heap, which the drill does not verify"
        echo "- **total: $DRILL_TOTAL s** (from outside, start of the command to its exit); steward.restore_drills row (id | duration_s | tables | result | recovery_point): $DRILL_ROW"
        echo
        echo "### Where the time goes"
        echo
        echo "Phases end at the timestamp of a line of the drill's output, except the end of the base backup, which is the moment the copy's restore.log appears (pg_ctl start; polled every 50 ms)."
        echo
        echo "| phase | seconds | ends at (s from start) |"
        echo "|---|---:|---:|"
        grep -v '^SUM|' <<<"$PHASES"
        echo
        echo "Totals: $(grep '^SUM|' <<<"$PHASES" | awk -F'|' '{printf "%s%s %s s", (NR > 1 ? ", " : ""), $2, $3}')."
        echo
        echo "The copy's log (recovery):"
        echo
        echo '```'
        echo "$REDO"
        echo '```'
        echo
        echo "Drill output (timestamps in seconds since the epoch):"
        echo
        echo '```'
        cat "$DRILL_LOG"
        echo '```'
    fi
} >"$RESULTS"

echo
echo "== results (also in $RESULTS)"
echo "verify median $(fmt "$mv" 0) ms ($(rps "$mv") rows/s), plain median $(fmt "$mp" 0) ms ($(rps "$mp") rows/s), verify/plain $RATIO (per round $RATIO_R), goal >= 1.0 $GOAL"
[ "$DRILL_DONE" = 1 ] && { echo "drill total $DRILL_TOTAL s"; grep -v '^SUM|' <<<"$PHASES"; }
echo "total ${TOTAL_SECS}s"
