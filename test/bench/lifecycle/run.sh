#!/usr/bin/env bash
# pg_steward benchmark: lifecycle state machines.
#
# Variants (setup.sql; same rows in the same physical order):
#   m  USING steward with the state machine "account" attached to status
#   n  USING steward without a machine
#   t  heap with a PL/pgSQL BEFORE INSERT OR UPDATE trigger enforcing the
#      same machine (edges as trigger arguments)
# Workloads:
#   (a) single-row status updates along legal edges (active <-> suspended,
#       toggle.sql): m vs n, the cost of the rule on the update path
#   (b) the same single-row updates, m vs t; and one bulk UPDATE toggling
#       the status of BULK rows (psql \timing), m vs t (n shown too)
#   (c) CALL steward.run_transition('big.items', ...) moving BIG rows
#       pending -> done (back in the next round), default batch size 1000:
#       rows/s; and the latencies of concurrent single-row OLTP updates
#       (oltp.sql: hits = hits + 1 on random rows of the same table,
#       pgbench -l) during the transition vs without it; p99 from the logs
# (c) runs VACUUM ANALYZE before each phase: autovacuum is off, and with the
# statistics of the previous round (status = 'pending' on every row) the
# planner estimates the batch query "WHERE status = 'done' ORDER BY id LIMIT
# 1000 FOR UPDATE SKIP LOCKED" to find one row and picks Seq Scan + Sort for
# every batch: 1000 full scans of 1M rows (observed: 175 s instead of 14 s).
# Before anything is measured, sanity.sql checks that m and t refuse and
# accept the same writes (and n accepts everything).
#
# Usage (as root; the extension must be installed):
#   test/bench/lifecycle/run.sh
# Environment:
#   ROUNDS=9        rounds of (a)/(b): every variant runs once per round,
#                   the first variant rotating
#   DURATION=8      seconds per pgbench run of (a)/(b)
#   ROWS=200000     rows per variant for (a)/(b)
#   BULK=100000     rows changed by the bulk UPDATE of (b)
#   ROUNDS_C=6      rounds of (c); "during" and "without" alternate in order
#   BIG=1000000     rows moved by run_transition in (c)
#   DURATION_C=10   seconds of OLTP without the transition per round of (c)
#   CHUNK=2         (c) runs pgbench in chunks of this many seconds (both
#                   phases alike) until the transition has finished
#   CLIENTS=2       pgbench clients (and threads)
#   PORT=5493       port of the throwaway cluster (Unix socket only)
#   KEEP=0          1: keep the cluster directory (logs) at exit
# With the defaults this takes about 7 minutes on 2 cores (setup ~10 s,
# (a)+(b) ~27 s per round, (c) ~21 s per round; more when the box is busy).  Writes
# results.md next to this script.
set -euo pipefail

ROUNDS=${ROUNDS:-9}
DURATION=${DURATION:-8}
ROWS=${ROWS:-200000}
BULK=${BULK:-100000}
ROUNDS_C=${ROUNDS_C:-6}
BIG=${BIG:-1000000}
DURATION_C=${DURATION_C:-10}
CHUNK=${CHUNK:-2}
CLIENTS=${CLIENTS:-2}
PORT=${PORT:-5493}
KEEP=${KEEP:-0}

BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/var/tmp/pg_steward-bench-lifecycle
RESULTS=${RESULTS:-$BENCH/results.md}
DB=bench
T_START=$SECONDS
BG=
. "$BENCH/../lib.sh"
[ "$BULK" -le "$ROWS" ] || die "BULK must not exceed ROWS"

SETTINGS="shared_buffers=1GB, max_wal_size=20GB, checkpoint_timeout=1h, autovacuum=off; everything else default (synchronous_commit=on); C collation"
bench_start_cluster lifecycle

echo "== setup: $ROWS rows x 3 variants, $BIG rows for (c)"
t0=$SECONDS
psql_q -d "$DB" -v rows="$ROWS" -v big="$BIG" -f "$BENCH/setup.sql" >"$LOGS/setup.log"
SETUP_SECS=$((SECONDS - t0))
echo "   took ${SETUP_SECS}s"
PG_VERSION=$(psql_q -d "$DB" -At -c "SELECT version()")

for s in m n t; do
    PGOPTIONS="-c search_path=$s,public" "$PGBIN/psql" -X -d "$DB" -f "$BENCH/sanity.sql" \
        >"$LOGS/sanity-$s.out" 2>"$LOGS/sanity-$s.err"
done
if ! diff -u "$LOGS/sanity-m.out" "$LOGS/sanity-t.out" >"$LOGS/sanity.diff"; then
    cat "$LOGS/sanity.diff" >&2
    die "the trigger variant and the state machine disagree (diff above)"
fi
grep -qv ': 00000$' "$LOGS/sanity-n.out" && { cat "$LOGS/sanity-n.out" >&2; die "variant n refused a write"; }
[ "$(grep -c ': 23514$' "$LOGS/sanity-m.out")" = 4 ] || { cat "$LOGS/sanity-m.out" >&2; die "unexpected sanity output"; }
SANITY=$(paste -sd';' "$LOGS/sanity-m.out" | sed 's/;/; /g')
echo "== sanity: machine and trigger agree: $SANITY"

# ---------------------------------------------------------------------------
# Disturbance: CPU used by others, in percent of all CPUs
# ---------------------------------------------------------------------------
# cpu_sample and foreign_pct come from lib.sh.

declare -A SAMPLES SHOWN
record() { SAMPLES["$1"]+="$2 "; SHOWN["$1"]+="$3, "; }

# pgbench_run VARIANT SCRIPT LOG [args]: print "tps transactions"
pgbench_run() {
    local s=$1 script=$2 log=$3; shift 3
    if ! PGOPTIONS="-c search_path=$s,public" "$PGBIN/pgbench" -n -M prepared \
            -c "$CLIENTS" -j "$CLIENTS" -D rows="$ROWS" -D big="$BIG" "$@" \
            -f "$BENCH/$script" "$DB" >"$log" 2>&1; then
        cat "$log" >&2
        die "pgbench $script failed on variant $s"
    fi
    if grep -qE 'number of failed transactions: [1-9]' "$log"; then
        cat "$log" >&2
        die "failed transactions in $script on variant $s"
    fi
    echo "$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$log") $(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$log")"
}

# ---------------------------------------------------------------------------
# (a), (b)
# ---------------------------------------------------------------------------
VARIANTS=(m n t)
declare -A LABEL=([m]="steward + machine" [n]="steward, no machine" [t]="heap + trigger")
declare -A TX=([m]=0 [n]=0 [t]=0)
ILLEGAL0=$(psql_q -d "$DB" -At -c "SELECT coalesce(sum(illegal_transitions), 0) FROM steward.table_counters()")

echo "== (a), (b): $ROUNDS rounds, single-row ${DURATION}s, bulk UPDATE of $BULK rows"
t_ab=$SECONDS
for ((r = 0; r < ROUNDS; r++)); do
    line="round $((r + 1))/$ROUNDS:"
    order=()
    for ((i = 0; i < 3; i++)); do order+=("${VARIANTS[$(((r + i) % 3))]}"); done
    for s in "${order[@]}"; do
        psql_q -d "$DB" -c "VACUUM $s.items" -c "CHECKPOINT"
        c0=$(cpu_sample)
        read -r tps n <<<"$(pgbench_run "$s" toggle.sql "$LOGS/single-$s-$r.log" -T "$DURATION")"
        c1=$(cpu_sample)
        [ -n "$tps" ] || die "no TPS for $s"
        TX[$s]=$(( ${TX[$s]} + n ))
        record "single $s" "$tps" "$(fmt "$tps") ($(foreign_pct "$c0" "$c1")%)"
        line+=" single/$s=$(fmt "$tps")"
    done
    for s in "${order[@]}"; do
        psql_q -d "$DB" -c "VACUUM $s.items" -c "CHECKPOINT"
        c0=$(cpu_sample)
        out=$(PGOPTIONS="-c search_path=$s,public" psql_q -d "$DB" -c '\timing on' \
            -c "UPDATE items SET status = CASE status WHEN 'active' THEN 'suspended' ELSE 'active' END WHERE id <= $BULK") \
            || die "bulk update failed on $s"
        c1=$(cpu_sample)
        ms=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' <<<"$out")
        [ -n "$ms" ] || die "no time for the bulk update on $s"
        record "bulk $s" "$ms" "$(fmt "$ms") ($(foreign_pct "$c0" "$c1")%)"
        line+=" bulk/$s=$(fmt "$ms")ms"
    done
    echo "$line"
done
AB_SECS=$((SECONDS - t_ab))

# ---------------------------------------------------------------------------
# (c) run_transition while OLTP updates run
# ---------------------------------------------------------------------------
# stats FILES T0 T1 (lib.sh): p50/p99 of the pgbench -l logs

TX_C=0
# OLTP in chunks of CHUNK seconds until the file $1 exists, or (no $1) for
# DURATION_C seconds; logs under prefix $2
run_chunks() {
    local until=$1 prefix=$2 i=0 t_end tps n
    t_end=$(awk -v t="$(now)" -v d="$DURATION_C" 'BEGIN {printf "%.3f", t + d}')
    while :; do
        if [ -n "$until" ]; then
            [ -e "$until" ] && break
        else
            awk -v t="$(now)" -v e="$t_end" 'BEGIN {exit !(t < e - 0.05)}' || break
        fi
        read -r tps n <<<"$(pgbench_run big oltp.sql "$prefix-$i.out" -T "$CHUNK" -l --log-prefix="$prefix-$i")"
        TX_C=$((TX_C + n))
        i=$((i + 1))
        [ "$i" -lt 600 ] || die "the transition did not finish within $((600 * CHUNK)) seconds"
    done
}

# The sampler of wait events (start_sampler, stop_sampler, waits) is in lib.sh.
SAMPLER_QUERY='UPDATE big.items SET hits%'

phase_without() {   # phase_without ROUND
    local p=$LOGS/c$1-without t0 t1 c0 c1
    psql_q -d "$DB" -c "VACUUM ANALYZE big.items" -c "CHECKPOINT"
    start_sampler "$LOGS/waits-without-$1.txt"
    c0=$(cpu_sample); t0=$(now)
    run_chunks "" "$p"
    t1=$(now); c1=$(cpu_sample)
    stop_sampler
    WO_STATS=$(stats "$p-*.[0-9]*" "$t0" "$t1")
    WO_FG=$(foreign_pct "$c0" "$c1")
}

phase_during() {   # phase_during ROUND FROM TO
    local r=$1 from=$2 to=$3 p=$LOGS/c$1-during done_file=$LOGS/c$1-during.done t0 t1 c0 c1 out
    psql_q -d "$DB" -c "VACUUM ANALYZE big.items" -c "CHECKPOINT"
    rm -f "$done_file"
    start_sampler "$LOGS/waits-during-$r.txt"
    c0=$(cpu_sample); t0=$(now)
    ( psql_q -d "$DB" -c '\timing on' -c "CALL steward.run_transition('big.items', '$from', '$to')" \
          >"$LOGS/c$r-call.out" && now >"$done_file.tmp" && mv "$done_file.tmp" "$done_file" ) &
    BG=$!
    run_chunks "$done_file" "$p"
    wait "$BG" || die "run_transition failed"
    BG=
    c1=$(cpu_sample)
    stop_sampler
    t1=$(cat "$done_file")
    DU_STATS=$(stats "$p-*.[0-9]*" "$t0" "$t1")
    DU_FG=$(foreign_pct "$c0" "$c1")
    CALL_MS=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' "$LOGS/c$r-call.out")
    out=$(psql_q -d "$DB" -At -F ' ' -c "SELECT rows_done, batches, retries, status FROM steward.transition_progress
                                          WHERE relid = 'big.items'::regclass ORDER BY id DESC LIMIT 1")
    read -r MOVED BATCHES RETRIES TSTATUS <<<"$out"
    [ "$MOVED" = "$BIG" ] && [ "$TSTATUS" = finished ] || die "run_transition: $out (expected $BIG rows, finished)"
    left=$(psql_q -d "$DB" -At -c "SELECT count(*) FROM big.items WHERE status <> '$to'")
    [ "$left" = 0 ] || die "run_transition left $left rows outside '$to'"
}

echo "== (c): $ROUNDS_C rounds, run_transition of $BIG rows while OLTP updates run"
t_c=$SECONDS
declare -a C_ROWS
for ((r = 0; r < ROUNDS_C; r++)); do
    if [ $((r % 2)) = 0 ]; then from=pending to=done; else from=done to=pending; fi
    if [ $((r % 2)) = 0 ]; then
        phase_without "$r"; phase_during "$r" "$from" "$to"; first=without
    else
        phase_during "$r" "$from" "$to"; phase_without "$r"; first=during
    fi
    read -r n0 tps0 p50_0 p95_0 p99_0 mean0 max0 <<<"$WO_STATS"
    read -r n1 tps1 p50_1 p95_1 p99_1 mean1 max1 <<<"$DU_STATS"
    rate=$(awk -v n="$BIG" -v ms="$CALL_MS" 'BEGIN {printf "%.0f", n / ms * 1000}')
    record "c p99 without" "$p99_0" "$p99_0 ($WO_FG%)"
    record "c p99 during" "$p99_1" "$p99_1 ($DU_FG%)"
    record "c p99 ratio" "$(ratio "$p99_1" "$p99_0")" ""
    record "c p50 without" "$p50_0" ""
    record "c p50 during" "$p50_1" ""
    record "c tps without" "$tps0" ""
    record "c tps during" "$tps1" ""
    record "c rate" "$rate" ""
    record "c secs" "$(awk -v ms="$CALL_MS" 'BEGIN {printf "%.1f", ms / 1000}')" ""
    C_ROWS+=("| $((r + 1)) | $from -> $to | $first | $n0 / $n1 | $tps0 / $tps1 | $p50_0 / $p50_1 | $p95_0 / $p95_1 | $p99_0 / $p99_1 | $(ratio "$p99_1" "$p99_0") | $max0 / $max1 | $(fmt "$CALL_MS") | $rate | $BATCHES / $RETRIES | $WO_FG% / $DU_FG% |")
    echo "round $((r + 1))/$ROUNDS_C ($from -> $to): transition $(fmt "$CALL_MS") ms = $rate rows/s; OLTP p99 without ${p99_0} ms ($tps0 tps), during ${p99_1} ms ($tps1 tps)"
done
C_SECS=$((SECONDS - t_c))

# ---------------------------------------------------------------------------
# Consistency: every single-row update was legal and applied
# ---------------------------------------------------------------------------
check=ok
ILLEGAL1=$(psql_q -d "$DB" -At -c "SELECT coalesce(sum(illegal_transitions), 0) FROM steward.table_counters()")
[ "$ILLEGAL1" = "$ILLEGAL0" ] || check="steward counted $((ILLEGAL1 - ILLEGAL0)) illegal transitions during the runs"
# every row of big.items got one hit per OLTP transaction
hits=$(psql_q -d "$DB" -At -c "SELECT sum(hits) FROM big.items")
slack=$((CLIENTS * 600))
[ "$hits" -ge "$TX_C" ] && [ "$hits" -le $((TX_C + slack)) ] || check="big.items: $hits hits, pgbench ran $TX_C OLTP updates"
for s in m n t; do
    bad=$(psql_q -d "$DB" -At -c "SELECT count(*) FROM $s.items WHERE status NOT IN ('active', 'suspended')")
    [ "$bad" = 0 ] || check="$s.items: $bad rows outside active/suspended"
done
echo "consistency: $check"

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
med() { median <<<"${SAMPLES["$1"]}"; }
# paired KEY_A KEY_B: median over rounds of A/B within the same round
paired() {
    fmt3 "$(paste -d' ' <(tr ' ' '\n' <<<"${SAMPLES["$1"]}" | grep .) <(tr ' ' '\n' <<<"${SAMPLES["$2"]}" | grep .) |
        awk '{printf "%.4f\n", $1 / $2}' | median)"
}
# best KEY max|min: the least disturbed sample
best() { tr ' ' '\n' <<<"${SAMPLES["$1"]}" | grep . | sort -g | if [ "$2" = max ]; then tail -n 1; else head -n 1; fi; }
bestratio() { ratio "$(best "$1" "$3")" "$(best "$2" "$3")"; }
goal() {
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        ok = (op == ">=") ? (v >= l) : (v <= l); printf "%s %s: %s", op, l, ok ? "met" : "MISSED" }'
}
sm=$(med "single m") sn=$(med "single n") st=$(med "single t")
bm=$(med "bulk m") bn=$(med "bulk n") bt=$(med "bulk t")
q_a=$(ratio "$sm" "$sn") q_b=$(ratio "$sm" "$st") q_bulk=$(ratio "$bt" "$bm")
TABLE=(
"| (a) single-row status update, TPS: machine / no machine | $(fmt "$sm") | $(fmt "$sn") | $q_a | $(paired "single m" "single n") | $(bestratio "single m" "single n" max) | $(goal "$q_a" ">=" 0.97) |"
"| (b) single-row status update, TPS: machine / trigger | $(fmt "$sm") | $(fmt "$st") | $q_b | $(paired "single m" "single t") | $(bestratio "single m" "single t" max) | report |"
"| (b) bulk UPDATE of $BULK rows, ms: machine / trigger; ratio = trigger time / machine time (speedup) | $(fmt "$bm") | $(fmt "$bt") | $q_bulk | $(paired "bulk t" "bulk m") | $(bestratio "bulk t" "bulk m" min) | > 1 (faster): $(awk -v q="$q_bulk" 'BEGIN {print (q > 1) ? "met" : "MISSED"}') |"
"| (b) bulk UPDATE of $BULK rows, ms: machine / no machine; ratio = machine time / no-machine time (overhead) | $(fmt "$bm") | $(fmt "$bn") | $(ratio "$bm" "$bn") | $(paired "bulk m" "bulk n") | $(bestratio "bulk m" "bulk n" min) | info |"
)
p0=$(med "c p99 without") p1=$(med "c p99 during"); q_c=$(ratio "$p1" "$p0")
CTABLE=(
"| (c) OLTP update p99 latency, ms | $(fmt3 "$p0") | $(fmt3 "$p1") | $q_c | $(goal "$q_c" "<=" 2) |"
"| (c) median over rounds of the per-round p99 ratio | | | $(fmt3 "$(med "c p99 ratio")") | |"
"| (c) OLTP update p50 latency, ms | $(fmt3 "$(med "c p50 without")") | $(fmt3 "$(med "c p50 during")") | $(ratio "$(med "c p50 during")" "$(med "c p50 without")") | |"
"| (c) OLTP updates per second | $(fmt "$(med "c tps without")") | $(fmt "$(med "c tps during")") | $(ratio "$(med "c tps during")" "$(med "c tps without")") | |"
"| (c) run_transition of $BIG rows: seconds / rows per second | | $(med "c secs") / $(med "c rate") | | report |"
)

TOTAL_SECS=$((SECONDS - T_START))
{
    echo "# pg_steward benchmark: lifecycle state machines"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $PG_VERSION"
    echo "- CPUs: $NCPU ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)); a shared, noisy machine"
    echo "- settings: $SETTINGS"
    echo "- variants: steward + machine = USING steward, steward.attach_state_machine(items, status, 'account') (states new, active, suspended, closed; edges new->active, active->suspended, suspended->active, active->closed, suspended->closed; no changed_at column); steward, no machine = same AM, no rule; heap + trigger = heap with a PL/pgSQL BEFORE INSERT OR UPDATE FOR EACH ROW trigger (edges as TG_ARGV, \`OLD.status || '->' || NEW.status = ANY (TG_ARGV)\`)"
    echo "- sanity: sanity.sql gives identical results on machine and trigger ($SANITY), the no-machine variant accepts everything"
    echo "- tables: items (id bigint PRIMARY KEY, status text, amount int, note text), $ROWS rows per variant, half active, half suspended, identical rows and order"
    echo "- (a), (b) single-row: pgbench -n -M prepared -c $CLIENTS -j $CLIENTS -T $DURATION, toggle.sql (status active <-> suspended of a random row); (b) bulk: one \`UPDATE items SET status = CASE ... END WHERE id <= $BULK\` per round and variant, psql \\timing; $ROUNDS rounds, variants interleaved with the first one rotating; VACUUM + CHECKPOINT before every run; medians"
    echo "- (c): big.items, USING steward, $BIG rows, machine job (pending <-> done), PRIMARY KEY (id) only; per round one \`CALL steward.run_transition('big.items', from, to)\` (default batch size 1000, no throttle; direction alternates) while oltp.sql (\`UPDATE big.items SET hits = hits + 1 WHERE id = random\`) runs in ${CHUNK}s pgbench chunks with -l, and ${DURATION_C}s of oltp.sql without the transition; the order of the two phases alternates per round; VACUUM ANALYZE + CHECKPOINT before each phase (ANALYZE matters: with statistics from before the previous transition the planner picks a seq scan + sort for every batch, see the header of run.sh). Latencies per transaction from the pgbench logs, p99 = nearest rank; \"during\" = transactions completed between the CALL's start and its end; rows/s = $BIG / CALL time (psql \\timing)"
    echo "- time: setup ${SETUP_SECS}s, (a)+(b) ${AB_SECS}s, (c) ${C_SECS}s, total ${TOTAL_SECS}s"
    echo "- consistency after the runs: $check (no illegal transitions counted by steward during the runs, every OLTP update applied: sum(hits) = $hits for $TX_C pgbench transactions, every run_transition finished and moved all $BIG rows)"
    echo
    echo "## Results (medians)"
    echo
    echo "Medians over rounds; ratio = ratio of the medians (the headline, checked against the goal); per round = median over rounds of the same ratio taken within each round; best = ratio of the best runs (max TPS, min time), i.e. of the least disturbed ones."
    echo
    echo "| measurement | first variant | second variant | ratio | per round | best | goal |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    printf '%s\n' "${TABLE[@]}"
    echo
    echo "| measurement | without run_transition | during run_transition | during / without | goal |"
    echo "|---|---:|---:|---:|---|"
    printf '%s\n' "${CTABLE[@]}"
    echo
    echo "Wait events of the OLTP backends (pg_stat_activity sampled every 0.1 s, all rounds): without: $(waits "$LOGS"/waits-without-*.txt); during: $(waits "$LOGS"/waits-during-*.txt)."
    echo
    echo "## (c) per round (without / during)"
    echo
    echo "| round | transition | first | OLTP transactions | OLTP tps | p50 ms | p95 ms | p99 ms | p99 ratio | max ms | CALL ms | rows/s | batches / retries | CPU used by others |"
    echo "|---|---|---|---|---|---|---|---|---:|---|---:|---:|---|---|"
    printf '%s\n' "${C_ROWS[@]}"
    echo
    echo "## Raw samples of (a), (b) in round order (CPU share used by other processes)"
    echo
    echo "| workload | variant | samples |"
    echo "|---|---|---|"
    for w in single bulk; do
        for s in "${VARIANTS[@]}"; do
            echo "| $w $([ "$w" = single ] && echo TPS || echo ms) | ${LABEL[$s]} | ${SHOWN["$w $s"]%, } |"
        done
    done
} >"$RESULTS"

echo
echo "== results (also in $RESULTS)"
printf '%s\n' "${TABLE[@]}" "${CTABLE[@]}"
echo "OLTP wait events without: $(waits "$LOGS"/waits-without-*.txt)"
echo "OLTP wait events during:  $(waits "$LOGS"/waits-during-*.txt)"
echo "consistency: $check; total ${TOTAL_SECS}s"
[ "$check" = ok ]
