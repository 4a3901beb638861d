#!/usr/bin/env bash
# pg_steward benchmark: background jobs under the governor (issue 18).
#
# Three jobs, each timed against the OLTP latency it causes, at default
# settings (steward.governor = on):
#   (P) the idempotency purge worker deleting NEXP expired keys while
#       pgbench clients begin new keys (purge_begin.sql, autocommit);
#   (T) CALL steward.run_transition of BIG rows (default batch size 1000)
#       while pgbench clients update random rows of the same table
#       (oltp.sql, hits = hits + 1, the state unchanged);
#   (M) CALL steward.migration_backfill of BIG rows of orders
#       (total_amount -> total_cents, the migrate benchmark's migration;
#       default batch size) while pgbench clients read and update one
#       random order (../migrate/oltp.sql); rolled back afterwards.
# Each round also runs every job once with no foreground at all (solo:
# the governor must let it run at full speed), and run_transition solo
# twice: with statistics that are stale (ANALYZE ran while every row was
# in the other state) and freshly analyzed (issue 18: never quadratic).
# Each round runs, per job, a phase without the job (DURATION_W seconds)
# and a phase during it (until the job is done), the order alternating
# from round to round; pgbench runs in CHUNK-second pieces with -l, and
# p50/p99 are computed from the per-transaction logs of each phase (the
# transactions that completed between the job's start and end).  The
# ratio of the medians over rounds is the headline; per round ratios and
# the raw samples are in results.md.  With OFF=1 each round also runs
# the job with steward.governor = off (the job at its full batch size,
# the purge with its fixed 10 ms delay) for comparison.
#
# Usage (as root; the extension must be installed):
#   test/bench/governor/run.sh
# Environment:
#   ROUNDS=3        rounds
#   NEXP=1000000    expired keys purged per round
#   BIG=1000000     rows moved by run_transition / backfilled per round
#   JOBS="P T M"    which jobs to run
#   SOLO_ONLY=0     1: only the runs with no foreground (solo)
#   DURATION_W=10   seconds of OLTP without the job
#   CHUNK=2         pgbench chunk length, seconds
#   CLIENTS=2       pgbench clients (and threads)
#   LOAD=           empty: the foreground runs closed-loop (each client
#                   sends its next transaction as soon as the last one
#                   ends: the CPUs are saturated); a fraction such as 0.5:
#                   open-loop at that fraction of the TPS the same script
#                   reaches closed-loop (measured once at setup, 5 s), with
#                   pgbench --rate, whose latencies count from each
#                   transaction's scheduled start (no coordinated omission)
#   OFF=0           1: also run each job ungoverned once per round
#   ASYNC=0         1: also run each job governed with
#                   steward.batch_synchronous_commit = off (batches do not
#                   wait for their WAL flush) once per round, beside the
#                   default (mode "async")
#   ADDITIVE=0      1: also run each job governed with
#                   steward.governor_slow_start = off (additive increase
#                   from the start) once per round, beside the default
#                   (mode "additive")
#   NICE0=0         1: also run each job governed with
#                   steward.governor_nice = 0 (neither the purge worker
#                   nor the job's session reniced) once per round, beside
#                   the default (mode "nice0")
#   ANYWAIT=0       1: also run each job governed with
#                   steward.governor_lock_wait_share = 0 (any session
#                   waiting for a row of a batch halves the batch: the
#                   rule before gov5) once per round, beside the default
#                   (mode "anywait")
#   BATCH10K=0      1: also run each job governed in batches of 10000
#                   (run_transition's batch_size, steward.migration_batch_size)
#                   once per round, beside the default (mode "batch10k")
#   NO_SOLO=0       1: skip the runs with no foreground (short runs)
#   TARGET_RATIO=   steward.governor_target_p99_ratio (empty: the default,
#                   1.3); the issue's goal allows 1.5
#   GOVERNOR_WINDOW= steward.governor_window (empty: the default)
#   TRANSITION_BATCH= run_transition's batch_size under OLTP (empty: its
#                   default, 1000); a backfill's is steward.migration_batch_size
#                   (EXTRA_CONF)
#   FILLFACTOR=     the backfill's orders table gets this fillfactor and is
#                   rewritten (VACUUM FULL) at setup, so every page has room
#                   for the new versions of its rows: the backfill's UPDATEs
#                   can be HOT (no new page, no index entry; gov10)
#   EXTRA_CONF=     more postgresql.conf lines, e.g.
#                   "steward.batch_lock_timeout = 0" (batches lock first,
#                   SKIP LOCKED: 0.2's first form) to compare batch forms
#   JOB_DEBUG=      1: log each governor decision of the jobs run under
#                   OLTP (with its signals) to logs/<phase>-call.log (KEEP=1)
#   PORT=5494       port of the throwaway cluster (Unix socket only)
#   KEEP=0          1: keep the cluster directory (logs) at exit
#   POLL=0          1: one session reads steward.governor every 0.5 s into
#                   logs/governor-poll.txt (KEEP=1), for track.py, which
#                   sets the governor's window p99 beside the clients' over
#                   the same seconds (gov11)
# Its per-round ratio is +-30% noise (each phase begins with a CHECKPOINT,
# a job may take its baseline from the round before): for the p99 ratio of
# run_transition or a backfill use aba.sh (warm-up, a fresh baseline per
# round, the job between two phases without it, an A/A noise floor; gov13).
# The machine is shared: each phase is shown with the share of the CPUs
# other processes took meanwhile.  Writes results.md next to this script.
set -euo pipefail

ROUNDS=${ROUNDS:-3}
NEXP=${NEXP:-1000000}
BIG=${BIG:-1000000}
DURATION_W=${DURATION_W:-10}
CHUNK=${CHUNK:-2}
CLIENTS=${CLIENTS:-2}
LOAD=${LOAD:-}
OFF=${OFF:-0}
ASYNC=${ASYNC:-0}
ADDITIVE=${ADDITIVE:-0}
NICE0=${NICE0:-0}
ANYWAIT=${ANYWAIT:-0}
BATCH10K=${BATCH10K:-0}
NO_SOLO=${NO_SOLO:-0}
JOBS=${JOBS:-P T M}
SOLO_ONLY=${SOLO_ONLY:-0}
PORT=${PORT:-5494}
KEEP=${KEEP:-0}

BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/var/tmp/pg_steward-bench-governor
RESULTS=${RESULTS:-$BENCH/results.md}
DB=bench
T_START=$SECONDS
BG=
WATCHER=
. "$BENCH/../lib.sh"

TARGET_RATIO=${TARGET_RATIO:-}
GOVERNOR_WINDOW=${GOVERNOR_WINDOW:-}
EXTRA_CONF=${EXTRA_CONF:-}
FILLFACTOR=${FILLFACTOR:-}
TRANSITION_BATCH=${TRANSITION_BATCH:-}
TARGET_TEXT="target p99 ratio ${TARGET_RATIO:-1.3}$([ -n "$TARGET_RATIO" ] && echo ' (set)' || echo '')$([ -n "$GOVERNOR_WINDOW" ] && echo ", window $GOVERNOR_WINDOW (set)" || echo '')"
SETTINGS="shared_buffers=1GB, max_wal_size=20GB, checkpoint_timeout=1h, autovacuum=off, steward.idempotency_purge_interval=1s (the worker is switched on with steward.idempotency_purge_databases only during the purge phases); everything else default: synchronous_commit=on, the governor's defaults ($TARGET_TEXT, critical 3, window 5 s, interval 1 s), steward.idempotency_purge_batch=1000, run_transition batch_size ${TRANSITION_BATCH:-1000}$([ -n "$TRANSITION_BATCH" ] && echo ' (set)' || true); C collation$([ -n "$EXTRA_CONF" ] && echo "; also set: $EXTRA_CONF" || true)"
bench_start_cluster governor "steward.idempotency_purge_interval = '1s'
steward.idempotency_purge_databases = 'none'
$([ -n "$TARGET_RATIO" ] && echo "steward.governor_target_p99_ratio = $TARGET_RATIO")
$([ -n "$GOVERNOR_WINDOW" ] && echo "steward.governor_window = '$GOVERNOR_WINDOW'")
$EXTRA_CONF"

echo "== setup: $BIG rows for run_transition"
t0=$SECONDS
psql_q -d "$DB" -v big="$BIG" -f "$BENCH/setup.sql" >"$LOGS/setup.log"
case " $JOBS " in *" M "*)
    echo "== setup: $BIG rows of orders for the migration backfill"
    psql_q -d "$DB" -v rows="$BIG" -f "$BENCH/../migrate/setup.sql" >>"$LOGS/setup.log"
    if [ -n "$FILLFACTOR" ]; then
        echo "== setup: orders at fillfactor $FILLFACTOR (VACUUM FULL)"
        psql_q -d "$DB" -c "ALTER TABLE orders SET (fillfactor = $FILLFACTOR)" -c "VACUUM FULL orders" >>"$LOGS/setup.log"
    fi ;;
esac
SETUP_SECS=$((SECONDS - t0))
POLL=${POLL:-0}
if [ "$POLL" = 1 ]; then
    psql_q -d "$DB" -At -c "SELECT extract(epoch FROM current_setting('steward.governor_window')::interval)" >"$LOGS/governor-window.txt"
    echo "SELECT extract(epoch FROM clock_timestamp()), foreground_transactions, transaction_p99_ms, baseline_transactions, baseline_transaction_p99_ms, foreground_calls, foreground_p99_ms, baseline_calls, baseline_p99_ms, p99_ratio FROM steward.governor \\watch 0.5" |
        "$PGBIN/psql" -X -q -At -F ' ' -d "$DB" >"$LOGS/governor-poll.txt" 2>/dev/null &
    POLLER=$!
fi
PG_VERSION=$(psql_q -d "$DB" -At -c "SELECT version()")

declare -A SAMPLES
record() { SAMPLES["$1"]+="$2 "; }
declare -a ROWS_P ROWS_T ROWS_M ROWS_S

# The workloads of the idempotency and lifecycle benchmarks.
P_SQL=$BENCH/../idempotency/purge_begin.sql
T_SQL=$BENCH/../lifecycle/oltp.sql
M_SQL=$BENCH/../migrate/oltp.sql
EXPIRED_SQL=$BENCH/../idempotency/expired.sql
FG_TEXT="closed-loop: each of the $CLIENTS clients sends its next transaction as soon as the last one ends, so the foreground alone keeps the CPUs busy"

# Open-loop rates per script (LOAD): LOAD x the closed-loop TPS.
declare -A RATE_OF
measure_rates() {
    local script tps
    [ -n "$LOAD" ] || return 0
    for script in "$@"; do
        tps=$(PGOPTIONS="-c search_path=steward,public" "$PGBIN/pgbench" -n -M prepared \
                -c "$CLIENTS" -j "$CLIENTS" -D big="$BIG" -D rows="$BIG" -T 5 -f "$script" "$DB" 2>&1 |
              sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
        [ -n "$tps" ] || die "could not measure the closed-loop TPS of $script"
        RATE_OF[$script]=$(awk -v t="$tps" -v l="$LOAD" 'BEGIN {printf "%.0f", t * l}')
        echo "   $(basename "$(dirname "$script")")/$(basename "$script"): closed-loop $tps TPS, open-loop rate ${RATE_OF[$script]} TPS"
    done
}

pgbench_chunk() {   # pgbench_chunk SCRIPT LOGPREFIX
    if ! PGOPTIONS="-c search_path=steward,public" "$PGBIN/pgbench" -n -M prepared \
            -c "$CLIENTS" -j "$CLIENTS" -D big="$BIG" -D rows="$BIG" \
            ${LOAD:+-R "${RATE_OF[$1]}"} \
            -T "$CHUNK" -l --log-prefix="$2" -f "$1" "$DB" >"$2.out" 2>&1; then
        cat "$2.out" >&2
        die "pgbench $1 failed"
    fi
    grep -qE 'number of failed transactions: [1-9]' "$2.out" && { cat "$2.out" >&2; die "failed transactions in $1"; }
    return 0
}

if [ -n "$LOAD" ]; then
    echo "== open-loop rates (LOAD=$LOAD)"
    scripts=()
    for j in $JOBS; do case $j in P*) scripts+=("$P_SQL") ;; T) scripts+=("$T_SQL") ;; M) scripts+=("$M_SQL") ;; esac; done
    measure_rates $(printf '%s\n' "${scripts[@]}" | sort -u)
    FG_TEXT="open-loop (pgbench --rate, latency from each transaction's scheduled start) at $LOAD x the TPS the script reaches closed-loop with $CLIENTS clients:"
    for sc in "${!RATE_OF[@]}"; do FG_TEXT+=" $(basename "$(dirname "$sc")")/$(basename "$sc") ${RATE_OF[$sc]} TPS;"; done
fi

# OLTP in chunks until the file $2 exists, or (no $2) for DURATION_W s
run_chunks() {   # run_chunks SCRIPT UNTIL PREFIX
    local script=$1 until=$2 prefix=$3 i=0 t_end
    t_end=$(awk -v t="$(now)" -v d="$DURATION_W" 'BEGIN {printf "%.3f", t + d}')
    while :; do
        if [ -n "$until" ]; then
            [ -e "$until" ] && break
        else
            awk -v t="$(now)" -v e="$t_end" 'BEGIN {exit !(t < e - 0.05)}' || break
        fi
        pgbench_chunk "$script" "$prefix-$i"
        i=$((i + 1))
        [ "$i" -lt 600 ] || die "the job did not finish within $((600 * CHUNK)) seconds"
    done
}

set_governor() {   # set_governor on|off|async|additive|nice0|anywait (async: on, batches do not wait for their flush; additive: on, no slow start; nice0: on, jobs never reniced; anywait: on, any lock wait halves the batch)
    local sync=on gov=$1 slow=on nice=10 share=DEFAULT mb=DEFAULT
    CUR_TBATCH=$TRANSITION_BATCH
    [ "$1" = batch10k ] && mb=10000 CUR_TBATCH=10000 gov=on
    [ "$1" = async ] && sync=off gov=on
    [ "$1" = additive ] && slow=off gov=on
    [ "$1" = nice0 ] && nice=0 gov=on
    [ "$1" = anywait ] && share=0 gov=on
    psql_q -d "$DB" -c "ALTER SYSTEM SET steward.governor = $gov" \
                    -c "ALTER SYSTEM SET steward.governor_lock_wait_share = $share" \
                    -c "ALTER SYSTEM SET steward.migration_batch_size = $mb" \
                    -c "ALTER SYSTEM SET steward.governor_nice = $nice" \
                    -c "ALTER SYSTEM SET steward.batch_synchronous_commit = $sync" \
                    -c "ALTER SYSTEM SET steward.governor_slow_start = $slow" \
                    -c "SELECT pg_reload_conf()" >/dev/null
}
set_purge() {   # set_purge bench|none
    psql_q -d "$DB" -c "ALTER SYSTEM SET steward.idempotency_purge_databases = '$1'" \
                    -c "SELECT pg_reload_conf()" >/dev/null
}

# What the governor did in a phase: decisions of the jobs that started in it
governor_summary() {   # governor_summary KIND SINCE_JOB_ID
    psql_q -d "$DB" -At -F ' ' -c "
        SELECT count(*), coalesce(sum(increases), 0), coalesce(sum(decreases), 0), coalesce(sum(pauses), 0),
               coalesce(round(min(duty)::numeric, 3), 0)
          FROM steward.governor_jobs WHERE kind = '$1' AND job_id > $2"
}
last_job() { psql_q -d "$DB" -At -c "SELECT coalesce(max(job_id), 0) FROM steward.governor_jobs"; }

phase_without() {   # phase_without SCRIPT NAME
    local p=$LOGS/$2 t0 t1 c0 c1
    psql_q -d "$DB" -c "CHECKPOINT"
    c0=$(cpu_sample); t0=$(now)
    run_chunks "$1" "" "$p"
    t1=$(now); c1=$(cpu_sample)
    W_STATS=$(stats "$p-*.[0-9]*" "$t0" "$t1")
    W_FG=$(foreign_pct "$c0" "$c1")
}

purged() { psql_q -d "$DB" -At -c "SELECT coalesce(sum(purged), 0) FROM steward.idempotency_stats"; }

phase_purge() {   # phase_purge NAME
    local p=$LOGS/$1 done_file=$LOGS/$1.done t0 t1 c0 c1 base job0
    psql_q -d "$DB" -c "CHECKPOINT"
    base=$(purged)
    job0=$(last_job)
    rm -f "$done_file"
    for _ in $(seq 12000); do
        echo "SELECT coalesce(sum(purged), 0) >= $base + $NEXP AS done FROM steward.idempotency_stats \\gset"
        echo "\\if :done"
        echo "\\q"
        echo "\\endif"
        echo "\\! sleep 0.05"
    done >"$LOGS/watch.sql"
    echo "SELECT 1 / 0 AS purge_did_not_finish;" >>"$LOGS/watch.sql"
    ( psql_q -d "$DB" -f "$LOGS/watch.sql" && now >"$done_file.tmp" && mv "$done_file.tmp" "$done_file" ) &
    WATCHER=$!
    c0=$(cpu_sample); t0=$(now)
    set_purge "$DB"
    run_chunks "$P_SQL" "$done_file" "$p"
    wait "$WATCHER" || die "purge watcher failed"
    WATCHER=
    c1=$(cpu_sample)
    t1=$(cat "$done_file")
    set_purge none
    D_STATS=$(stats "$p-*.[0-9]*" "$t0" "$t1")
    D_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    D_FG=$(foreign_pct "$c0" "$c1")
    for _ in $(seq 100); do
        [ "$(psql_q -d "$DB" -At -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_steward purge'")" = 0 ] && break
        sleep 0.1
    done
    D_GOV=$(governor_summary purge "$job0")
}

# during_call NAME SQL OLTP_SCRIPT KIND: run the statement SQL (a CALL) in
# the background while OLTP_SCRIPT runs in chunks until it returns; sets
# D_STATS, D_SECS, D_FG and D_GOV (the governor's decisions for jobs of KIND)
during_call() {
    local p=$LOGS/$1 done_file=$LOGS/$1.done t0 t1 c0 c1 job0
    job0=$(last_job)
    rm -f "$done_file"
    c0=$(cpu_sample); t0=$(now)
    ( PGOPTIONS="${JOB_DEBUG:+-c client_min_messages=debug2}" psql_q -d "$DB" -c "$2" >"$LOGS/$1-call.out" 2>"$LOGS/$1-call.log" && now >"$done_file.tmp" && mv "$done_file.tmp" "$done_file" ) &
    BG=$!
    run_chunks "$3" "$done_file" "$p"
    wait "$BG" || die "$2 failed"
    BG=
    c1=$(cpu_sample)
    t1=$(cat "$done_file")
    D_STATS=$(stats "$p-*.[0-9]*" "$t0" "$t1")
    D_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    D_FG=$(foreign_pct "$c0" "$c1")
    D_GOV=$(governor_summary "$4" "$job0")
}

phase_transition() {   # phase_transition NAME FROM TO
    local out
    psql_q -d "$DB" -c "VACUUM big.items" -c "CHECKPOINT"
    during_call "$1" "CALL steward.run_transition('big.items', '$2', '$3'${CUR_TBATCH:+, NULL, $CUR_TBATCH})" "$T_SQL" transition
    out=$(psql_q -d "$DB" -At -F ' ' -c "SELECT rows_done, status FROM steward.transition_progress
                                          WHERE relid = 'big.items'::regclass ORDER BY id DESC LIMIT 1")
    [ "$out" = "$BIG finished" ] || die "run_transition: $out (expected $BIG rows, finished)"
}

MIG_N=0 M_ROWS=0
migration_start() {   # migration_start: start a new migration, its name in MIG
    MIG_N=$((MIG_N + 1)); MIG=bench_$MIG_N
    psql_q -d "$DB" -c "SELECT steward.migration_start('$MIG', \$\$[
      {\"alter_column\": {\"table\": \"orders\", \"column\": \"total_amount\", \"name\": \"total_cents\",
                        \"type\": \"bigint\", \"up\": \"(total_amount * 100)::bigint\",
                        \"down\": \"total_cents / 100.0\"}}]\$\$)" >/dev/null
    psql_q -d "$DB" -c "VACUUM orders" -c "CHECKPOINT" >/dev/null
}
migration_undo() { psql_q -d "$DB" -c "SELECT steward.migration_rollback('$MIG')" >/dev/null; }

# M_ROWS: the rows the backfill wrote itself (the clients' updates of
# rows it had not reached were filled by the dual-write trigger: BIG over
# the phase's time counted them too; gov17).
phase_migration() {   # phase_migration NAME
    migration_start
    during_call "$1" "CALL steward.migration_backfill('$MIG')" "$M_SQL" backfill
    M_ROWS=$(psql_q -d "$DB" -At -c "SELECT rows_backfilled FROM steward.migration_runs WHERE name = '$MIG'")
    migration_undo
}

# Solo runs: no foreground; the rate of each job (full speed expected).
# solo_job ROUND P|Tstale|Tanalyzed|M
solo_job() {
    local r=$1 what=$2 t0 t1 c0 c1 secs rate job0 kind last from to n
    job0=$(last_job)
    case $what in
    P|P0)
        # P0: the purge worker not reniced (steward.governor_nice = 0)
        [ "$what" = P0 ] && psql_q -d "$DB" -c "ALTER SYSTEM SET steward.governor_nice = 0" -c "SELECT pg_reload_conf()" >/dev/null
        psql_q -d "$DB" -v nexp="$NEXP" -v r="$((r * 10 + $([ "$what" = P0 ] && echo 6 || echo 5)))" -f "$EXPIRED_SQL" >/dev/null
        psql_q -d "$DB" -c "VACUUM ANALYZE steward.idempotency_keys" -c "CHECKPOINT" >/dev/null
        local base; base=$(purged)
        c0=$(cpu_sample); t0=$(now)
        set_purge "$DB"
        # (each poll is a short session: rarely, so that they are no foreground)
        until [ "$(psql_q -d "$DB" -At -c "SELECT coalesce(sum(purged), 0) >= $base + $NEXP FROM steward.idempotency_stats")" = t ]; do
            sleep 0.5
        done
        t1=$(now); c1=$(cpu_sample)
        set_purge none
        [ "$what" = P0 ] && psql_q -d "$DB" -c "ALTER SYSTEM RESET steward.governor_nice" -c "SELECT pg_reload_conf()" >/dev/null
        kind=purge n=$NEXP ;;
    Tstale|Tanalyzed)
        if [ -z "${TDIR:-}" ] || [ "$TDIR" = "done->pending" ]; then from=pending to=done; else from=done to=pending; fi
        TDIR="$from->$to"
        # The rows are all in "from".  Analyzed: ANALYZE now.  Stale: the
        # last ANALYZE ran before the previous solo run (Tanalyzed, run just
        # before) moved every row, so the statistics say "from" is rare.
        if [ "$what" = Tanalyzed ]; then
            psql_q -d "$DB" -c "VACUUM ANALYZE big.items" -c "CHECKPOINT" >/dev/null
        else
            psql_q -d "$DB" -c "VACUUM big.items" -c "CHECKPOINT" >/dev/null
        fi
        STALE_MCV=$(psql_q -d "$DB" -At -c "SELECT most_common_vals FROM pg_stats WHERE schemaname = 'big' AND tablename = 'items' AND attname = 'status'")
        c0=$(cpu_sample); t0=$(now)
        psql_q -d "$DB" -c "CALL steward.run_transition('big.items', '$from', '$to')" >/dev/null
        t1=$(now); c1=$(cpu_sample)
        kind=transition n=$BIG ;;
    M)
        migration_start
        c0=$(cpu_sample); t0=$(now)
        psql_q -d "$DB" -c "CALL steward.migration_backfill('$MIG')" >/dev/null
        t1=$(now); c1=$(cpu_sample)
        migration_undo
        kind=backfill n=$BIG ;;
    esac
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    rate=$(awk -v n="$n" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')
    last=$(psql_q -d "$DB" -At -F ' ' -c "SELECT coalesce(string_agg(DISTINCT last_decision || '/' || reason, ','), '-'),
                                                 coalesce(sum(pauses + decreases), 0)
                                            FROM steward.governor_jobs WHERE kind = '$kind' AND job_id > $job0")
    record "solo $what rate" "$rate"
    record "solo $what secs" "$secs"
    ROWS_S+=("| $r | $what | $secs | $rate | ${last% *} | ${last##* } | $(uptime | sed 's/.*load average: //') | $(foreign_pct "$c0" "$c1")% |")
    echo "round $r solo $what: ${secs}s = $rate/s; governor last reasons / slowdowns: $last${STALE_MCV:+; status MCV $STALE_MCV}"
    STALE_MCV=
}

# one_job P|T ROUND FIRST(without|during) LABEL(on|off)
one_job() {
    local job=$1 r=$2 first=$3 mode=$4 name w d from to
    if [ "$job" = T ]; then
        if [ -z "${TDIR:-}" ] || [ "$TDIR" = "done->pending" ]; then from=pending to=done; else from=done to=pending; fi
        TDIR="$from->$to"
    fi
    name="$job$r-$mode"
    set_governor "$mode"
    if [ "$job" = P ]; then
        local rn=$((r * 10))
        [ "$mode" = off ] && rn=$((rn + 1))
        psql_q -d "$DB" -v nexp="$NEXP" -v r="$rn" -f "$EXPIRED_SQL" >/dev/null
        psql_q -d "$DB" -c "VACUUM ANALYZE steward.idempotency_keys"
    fi
    local script
    case $job in P) script=$P_SQL ;; T) script=$T_SQL ;; M) script=$M_SQL ;; esac
    # (M): the migration is started (dual writes on) without its backfill
    # too: the job's cost is what the backfill adds to a foreground that
    # already pays the dual-write trigger (its own cost: ../migrate).
    run_w() {
        [ "$job" = M ] && migration_start
        phase_without "$script" "$name-without"
        [ "$job" = M ] && migration_undo
        return 0
    }
    run_d() {
        case $job in
        P) phase_purge "$name-during" ;;
        T) phase_transition "$name-during" "$from" "$to" ;;
        M) phase_migration "$name-during" ;;
        esac
    }
    if [ "$first" = without ]; then run_w; run_d; else run_d; run_w; fi
    set_governor on
    read -r n0 tps0 p50_0 p95_0 p99_0 mean0 max0 <<<"$W_STATS"
    read -r n1 tps1 p50_1 p95_1 p99_1 mean1 max1 <<<"$D_STATS"
    read -r gjobs ginc gdec gpause gduty <<<"$D_GOV"
    rate=$(awk -v n="$(case $job in P) echo "$NEXP" ;; M) echo "$M_ROWS" ;; *) echo "$BIG" ;; esac)" -v s="$D_SECS" 'BEGIN {printf "%.0f", n / s}')
    LOADAVG=$(uptime | sed 's/.*load average: //')
    q=$(ratio "$p99_1" "$p99_0")
    record "$job $mode p99 without" "$p99_0"
    record "$job $mode p99 during" "$p99_1"
    record "$job $mode p99 ratio" "$q"
    record "$job $mode p50 without" "$p50_0"
    record "$job $mode p50 during" "$p50_1"
    record "$job $mode tps without" "$tps0"
    record "$job $mode tps during" "$tps1"
    record "$job $mode rate" "$rate"
    record "$job $mode p50 ratio" "$(ratio "$p50_1" "$p50_0")"
    row="| $r | $mode | $first | $n0 / $n1 | $tps0 / $tps1 | $p50_0 / $p50_1 | $p95_0 / $p95_1 | $p99_0 / $p99_1 | $q | $max0 / $max1 | $D_SECS | $rate | $gjobs / $ginc / $gdec / $gpause / $gduty | $W_FG% / $D_FG% | $LOADAVG |"
    case $job in P) ROWS_P+=("$row") ;; T) ROWS_T+=("$row") ;; M) ROWS_M+=("$row") ;; esac
    echo "round $r $job ($mode, first $first): p99 without ${p99_0} ms ($tps0 tps), during ${p99_1} ms ($tps1 tps): ratio $q; job ${D_SECS}s = $rate/s; governor jobs/inc/dec/pause/min duty: $D_GOV; CPU taken by others $W_FG% / $D_FG%; load $LOADAVG"
}

echo "== $ROUNDS rounds"
t_r=$SECONDS
for ((r = 1; r <= ROUNDS; r++)); do
    if [ $((r % 2)) = 1 ]; then first=without; else first=during; fi
    for job in $JOBS; do
        [ "$SOLO_ONLY" = 1 ] && continue
        one_job "$job" "$r" "$first" on
        [ "$OFF" = 1 ] && one_job "$job" "$r" "$first" off
        [ "$ASYNC" = 1 ] && [ "$job" != P ] && one_job "$job" "$r" "$first" async
        [ "$ADDITIVE" = 1 ] && one_job "$job" "$r" "$first" additive
        [ "$NICE0" = 1 ] && one_job "$job" "$r" "$first" nice0
        [ "$ANYWAIT" = 1 ] && [ "$job" != P ] && one_job "$job" "$r" "$first" anywait
        [ "$BATCH10K" = 1 ] && [ "$job" != P ] && one_job "$job" "$r" "$first" batch10k
    done
    for job in $JOBS; do
        [ "$NO_SOLO" = 1 ] && continue
        case $job in
        T) solo_job "$r" Tanalyzed; solo_job "$r" Tstale ;;
        P) solo_job "$r" P; solo_job "$r" P0 ;;
        *) solo_job "$r" "$job" ;;
        esac
    done
done
R_SECS=$((SECONDS - t_r))

# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------
med() { median <<<"${SAMPLES["$1"]:-}"; }
goal() {
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        ok = (op == ">=") ? (v >= l) : (v <= l); printf "%s %s: %s", op, l, ok ? "met" : "MISSED" }'
}
TABLE=()
what_of() {   # what_of JOB: "description|unit"
    case $1 in
    P) echo "purge of $NEXP expired keys|keys/s" ;;
    T) echo "run_transition of $BIG rows|rows/s" ;;
    M) echo "migration backfill of $BIG rows|rows/s" ;;
    esac
}
for job in $JOBS; do
    for mode in on anywait batch10k additive async nice0 off; do
        [ -n "${SAMPLES["$job $mode p99 without"]:-}" ] || continue
        IFS='|' read -r what unit <<<"$(what_of "$job")"
        p0=$(med "$job $mode p99 without") p1=$(med "$job $mode p99 during") q=$(ratio "$p1" "$p0")
        r50=$(ratio "$(med "$job $mode p50 during")" "$(med "$job $mode p50 without")")
        rt=$(med "$job $mode rate")
        TABLE+=("| $what, governor $mode | $(fmt3 "$p0") / $(fmt3 "$p1") | $q | $(fmt3 "$(med "$job $mode p99 ratio")") | $(fmt3 "$(med "$job $mode p50 without")") / $(fmt3 "$(med "$job $mode p50 during")") ($r50; per round $(fmt3 "$(med "$job $mode p50 ratio")")) | $(fmt "$(med "$job $mode tps without")") / $(fmt "$(med "$job $mode tps during")") | $rt $unit | $(goal "$q" "<=" 1.5); $(goal "$rt" ">=" 20000) |")
    done
done
SOLO=()
for what in P P0 Tanalyzed Tstale M; do
    [ -n "${SAMPLES["solo $what rate"]:-}" ] || continue
    case $what in
    P) d="purge of $NEXP expired keys (worker niced: steward.governor_nice = 10, the default)"; u="keys/s"; k="P" ;;
    P0) d="purge of $NEXP expired keys, worker not niced (steward.governor_nice = 0)"; u="keys/s"; k="P" ;;
    Tanalyzed) d="run_transition of $BIG rows, statistics analyzed"; u="rows/s"; k="T" ;;
    Tstale) d="run_transition of $BIG rows, statistics stale (say every row is in the target state)"; u="rows/s"; k="T" ;;
    M) d="migration backfill of $BIG rows"; u="rows/s"; k="M" ;;
    esac
    sr=$(med "solo $what rate")
    under=$(med "$k on rate")
    [ "$under" = nan ] && vs=- || vs=$(ratio "$sr" "$under")
    SOLO+=("| $d | $(med "solo $what secs") | $sr $u | $vs | ${SAMPLES["solo $what rate"]} |")
done
TOTAL_SECS=$((SECONDS - T_START))
{
    echo "# pg_steward benchmark: background jobs under the governor"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- server: $PG_VERSION"
    echo "- CPUs: $NCPU; a shared machine: other workers' builds, tests and benchmarks ran meanwhile (see the CPU share other processes took and the load average per phase). Noise applies: treat single ratios as ±20%."
    echo "- settings: $SETTINGS"
    echo "- foreground: $FG_TEXT"
    echo "- (P): each round inserts $NEXP expired keys (expired.sql), then purge_begin.sql (begin of a new key, autocommit) with pgbench -c $CLIENTS -j $CLIENTS -M prepared in ${CHUNK}s chunks with -l: ${DURATION_W}s without the purge, and with the purge worker switched on until it has purged all $NEXP keys"
    echo "- (T): big.items, USING steward, $BIG rows, machine job (pending <-> done), PRIMARY KEY (id); CALL steward.run_transition('big.items', from, to) (batch_size ${TRANSITION_BATCH:-1000}, no max_rows_per_sec; the direction alternates) while oltp.sql (UPDATE big.items SET hits = hits + 1 WHERE id = random) runs; ${DURATION_W}s of oltp.sql without it"
    echo "- (M): orders USING steward, $BIG rows (../migrate/setup.sql)${FILLFACTOR:+, fillfactor $FILLFACTOR (set; rewritten at setup)}; steward.migration_start (total_amount numeric -> total_cents bigint), CALL steward.migration_backfill at default settings while ../migrate/oltp.sql (read and update one random order) runs; rolled back after each run; without: the same migration started (dual writes on), no backfill"
    echo "- solo: the same jobs with no foreground at all (full speed expected); run_transition once analyzed, then once with stale statistics"
    echo "- phases: the order of without/during alternates per round; p50/p99 = nearest rank over the transactions completed in the phase (during: between the job's start and end); ratio = during / without; rate = rows / job seconds"
    echo "- time: setup ${SETUP_SECS}s, rounds ${R_SECS}s, total ${TOTAL_SECS}s"
    echo
    echo "## Results (medians over $ROUNDS rounds)"
    echo
    echo "| job | p99 ms without / during | p99 ratio (of medians) | median of per-round ratios | p50 ms without / during (ratio) | OLTP TPS without / during | job rate | goal |"
    echo "|---|---|---:|---:|---|---|---:|---|"
    printf '%s\n' "${TABLE[@]}"
    echo
    echo "## No foreground (solo), medians over $ROUNDS rounds"
    echo
    echo "| job | seconds | rate | rate / rate under OLTP | samples (rate per round) |"
    echo "|---|---:|---:|---:|---|"
    printf '%s\n' "${SOLO[@]}"
    echo
    echo "## Per round (without / during)"
    echo
    echo "governor: jobs (purge visits) / increases / decreases / pauses / smallest duty of the jobs of the phase; load: the 1/5/15-minute load average at the end of the phase"
    echo
    for job in $JOBS; do
        case $job in
        P) echo "### (P) purge" ;;
        T) echo "### (T) run_transition" ;;
        M) echo "### (M) migration backfill" ;;
        esac
        echo
        echo "| round | governor | first | OLTP transactions | TPS | p50 ms | p95 ms | p99 ms | p99 ratio | max ms | job s | job rate | governor | CPU used by others | load |"
        echo "|---|---|---|---|---|---|---|---|---:|---|---:|---:|---|---|---|"
        case $job in
        P) printf '%s\n' "${ROWS_P[@]}" ;;
        T) printf '%s\n' "${ROWS_T[@]}" ;;
        M) printf '%s\n' "${ROWS_M[@]}" ;;
        esac
        echo
    done
    echo "### Solo runs"
    echo
    echo "| round | job | seconds | rate | governor's last reasons | decreases + pauses | load | CPU used by others |"
    echo "|---|---|---:|---:|---|---:|---|---|"
    printf '%s\n' "${ROWS_S[@]}"
} >"$RESULTS"
echo
echo "== results (also in $RESULTS)"
printf '%s\n' "${TABLE[@]}"
echo "total ${TOTAL_SECS}s"
