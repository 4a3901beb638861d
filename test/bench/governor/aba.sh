#!/usr/bin/env bash
# pg_steward benchmark: a background job's cost to OLTP p99, measured so
# that one ratio can be trusted (gov13; run.sh's rounds moved +-30%).
#
# run.sh compares a phase during the job with one without it, each
# beginning with a CHECKPOINT (its first seconds pay full-page images:
# the "without" p99 moved 0.58-1.09 ms between phases of one run), and a
# job could take its baseline from the round before.  Here each round is
#
#   VACUUM + CHECKPOINT
#   warm-up  WARMUP s of OLTP, not counted (the full-page images after the
#            checkpoint; every page of the table is touched again)
#   marker   MARKER s of OLTP at MARKER_TPS: a load the governor's baseline
#            never spans (it is the newest run of idle ticks of one load,
#            GOV_LOAD_FACTOR 2), so the job's baseline is this round's A1
#            and nothing older: steward has no reset of its ticks, this is
#            the reset (the marker's ticks are foreground, idle, of another
#            load: they end the run)
#   A1       W s of OLTP without the job
#   B        OLTP during the job (until it ends), or, for the A/A job
#            "none", AA_SECS s of OLTP and no job at all: the noise floor
#   A2       W s of OLTP without the job
#
# and the round's ratio is p99(B) / mean(p99(A1), p99(A2)): a drift of the
# foreground over the round (other programs, the table's growth) falls on
# both sides.  OLTP runs in CHUNK-s pgbench pieces with -l, back to back
# from the warm-up to the end of A2; percentiles are nearest rank over the
# transactions completed in the phase.  Reported per round and as median,
# min and max over rounds (the spread), with p50, p99 and TPS.
#
# Usage (as root; the extension installed in PG_CONFIG's PostgreSQL):
#   test/bench/governor/aba.sh
# Environment:
#   JOBS="N T"     N: none (A/A: the noise floor), T: run_transition of BIG
#                  rows, O: the same with steward.governor_job_p99 = off
#                  (each window over the target slows it down: the rule
#                  before gov14), K: the same with
#                  steward.governor_keep_baseline = off (a job that worked
#                  a minute pauses to re-measure its baseline: the rule
#                  before gov15), U: the same ungoverned (steward.governor
#                  = off in its session), M / MK / MU: migration backfill of
#                  BIG rows (rolled back) at the defaults / keep_baseline
#                  off / ungoverned, P / PK / PU: the idempotency purge
#                  worker deleting BIG expired keys (../idempotency/
#                  expired.sql) while the clients begin new keys
#                  (purge_begin.sql), the same three ways (ALTER SYSTEM);
#                  TC / MC / PC: the same with the run-queue rule off
#                  (steward.governor_cpu_wait_floor = 1000ms: no cpu_waits
#                  decrease), TL / ML: WAL and run-queue rules both off
#                  (steward.governor_wait_ratio = 1000: p99 alone, as in
#                  results-latency-only.md's rule), TR / MR: ungoverned
#                  at a fixed max_rows_per_sec => CAP (what a fixed rate
#                  costs the foreground: the pace the governor could hold)
#                  TA / MA / PA: steward.governor_room_increase = off
#                  (after slow start a twentieth of the time per window
#                  whatever the room: the rule before gov16)
#                  MI / MRI: M / MR with
#                  steward.migration_backfill_interleave = 4 (each window
#                  of 4 batches in 4 interleaved stripes, gov18)
#   CAP=20000      rows a second of TR and MR
#   ROUNDS=5       rounds per job
#   BIG=1000000    rows
#   W=8            seconds of A1 and of A2
#   WARMUP=8       seconds of warm-up
#   MARKER=3       seconds of the marker, MARKER_TPS=100 (>= 10/s so that
#                  its ticks carry a foreground at the default min_calls)
#   AA_SECS=30     seconds of B for the A/A job
#   CLIENTS=2 CHUNK=2 PORT=5494 KEEP=0
#   PRIME=1        one unmeasured, ungoverned pass of run_transition and of
#                  the backfill (those in JOBS) before the rounds, so that
#                  no round is a table's first rewrite (prime(); 0: none)
#   DECISIONS=0    1: the job's session logs each governor decision (DEBUG2,
#                  with what it rested on) into LOGS/<job><round>-call.out
#   EXTRA_CONF=    more postgresql.conf lines (e.g. a governor setting)
#   AUTOVACUUM=off on: autovacuum runs (lib.sh switches it off for every
#                  benchmark); either way the server logs every autovacuum
#                  and checkpoint, and each round counts those that ran
#                  during B
#   RESULTS=       output file (default results-aba.md next to this script)
#   QUIET=         a command that freezes other work while its argument
#                  runs (on the shared machine: /work/notes/quiet); the
#                  setup runs unfrozen, then every QUIET_ROUNDS rounds (all
#                  jobs of a round) run inside one call of it; each row
#                  says whether it was quiet
#   QUIET_ROUNDS=2
# Never part of CI: a benchmark, minutes long, for a quiet machine.
set -euo pipefail

JOBS=${JOBS:-N T}
ROUNDS=${ROUNDS:-5}
CAP=${CAP:-20000}
BIG=${BIG:-1000000}
W=${W:-8}
WARMUP=${WARMUP:-8}
MARKER=${MARKER:-3}
MARKER_TPS=${MARKER_TPS:-100}
AA_SECS=${AA_SECS:-30}
CLIENTS=${CLIENTS:-2}
CHUNK=${CHUNK:-2}
PORT=${PORT:-5494}
KEEP=${KEEP:-0}
PRIME=${PRIME:-1}
DECISIONS=${DECISIONS:-0}
EXTRA_CONF=${EXTRA_CONF:-}
QUIET=${QUIET:-}
QUIET_ROUNDS=${QUIET_ROUNDS:-2}
AUTOVACUUM=${AUTOVACUUM:-off}
QUIETER=
QUIET_NOW=no

BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=${BASE:-/var/tmp/pg_steward-bench-governor-aba}
RESULTS=${RESULTS:-$BENCH/results-aba.md}
DB=bench
BG=
. "$BENCH/../lib.sh"

T_SQL=$BENCH/../lifecycle/oltp.sql
M_SQL=$BENCH/../migrate/oltp.sql
P_SQL=$BENCH/../idempotency/purge_begin.sql
EXPIRED_SQL=$BENCH/../idempotency/expired.sql

# The purge worker runs only while steward.idempotency_purge_databases
# names the database (set_purge), every second.
bench_start_cluster governor-aba "log_autovacuum_min_duration = 0
log_checkpoints = on
autovacuum = $AUTOVACUUM
steward.idempotency_purge_interval = '1s'
steward.idempotency_purge_databases = 'none'
$EXTRA_CONF"
echo "== setup: $BIG rows"
psql_q -d "$DB" -v big="$BIG" -f "$BENCH/setup.sql" >"$LOGS/setup.log"
case " $JOBS " in *" M"*)
    psql_q -d "$DB" -v rows="$BIG" -f "$BENCH/../migrate/setup.sql" >>"$LOGS/setup.log" ;;
esac
PG_VERSION=$(psql_q -d "$DB" -At -c "SELECT version()")

# pgbench for SECS seconds (or until the file UNTIL exists, in CHUNK-s
# pieces), logs under PREFIX; RATE: --rate, empty for closed loop.
oltp() {   # oltp SCRIPT PREFIX SECS|- UNTIL|- [RATE]
    local script=$1 prefix=$2 secs=$3 until=$4 rate=${5:-} i=0 t_end
    [ "$secs" = - ] || t_end=$(awk -v t="$(now)" -v d="$secs" 'BEGIN {printf "%.3f", t + d}')
    while :; do
        local len=$CHUNK
        if [ "$until" != - ]; then
            [ -e "$until" ] && break
        else
            len=$(awk -v t="$(now)" -v e="$t_end" -v c="$CHUNK" 'BEGIN {r = e - t; printf "%d", (r > c ? c : r) + 0.5}')
            [ "$len" -ge 1 ] || break
        fi
        PGOPTIONS="-c search_path=steward,public" "$PGBIN/pgbench" -n -M prepared \
            -c "$CLIENTS" -j "$CLIENTS" -D big="$BIG" -D rows="$BIG" ${rate:+-R "$rate"} \
            -T "$len" -l --log-prefix="$prefix-$i" -f "$script" "$DB" >"$prefix-$i.out" 2>&1 ||
            { cat "$prefix-$i.out" >&2; die "pgbench $script failed"; }
        i=$((i + 1))
        [ "$i" -lt 600 ] || die "the job did not finish within $((600 * CHUNK)) seconds"
    done
}

declare -A S
rec() { S["$1"]+="$2 "; }
ROWS=()
MIG_N=0
PURGE_N=0
TDIR=

set_purge() {   # set_purge DB|none
    psql_q -d "$DB" -c "ALTER SYSTEM SET steward.idempotency_purge_databases = '$1'" \
                    -c "SELECT pg_reload_conf()" >/dev/null
}
purged() { psql_q -d "$DB" -At -c "SELECT coalesce(sum(purged), 0) FROM steward.idempotency_stats"; }
# server_log_events T0 T1: "autovacuums checkpoints" the server log shows
# in [T0, T1) (log_line_prefix '%m [%p] ': the time first)
server_log_events() {
    local av=0 cp=0 line ts
    while IFS= read -r line; do
        ts=$(date -d "$(cut -d' ' -f1-3 <<<"$line")" +%s.%N 2>/dev/null) || continue
        awk -v t="$ts" -v a="$1" -v b="$2" 'BEGIN {exit !(t >= a && t < b)}' || continue
        case $line in *"automatic vacuum"*|*"automatic analyze"*) av=$((av + 1)) ;; *"checkpoint starting"*) cp=$((cp + 1)) ;; esac
    done < <(grep -E 'automatic (vacuum|analyze)|checkpoint starting' "$BASE/server.log" || true)
    echo "$av $cp"
}

# A new migration bench_N of the orders table (the round's backfill).
mig_start() {
    MIG_N=$((MIG_N + 1))
    psql_q -d "$DB" -c "SELECT steward.migration_start('bench_$MIG_N', \$\$[
      {\"alter_column\": {\"table\": \"orders\", \"column\": \"total_amount\", \"name\": \"total_cents\",
                        \"type\": \"bigint\", \"up\": \"(total_amount * 100)::bigint\",
                        \"down\": \"total_cents / 100.0\"}}]\$\$)" >/dev/null
}

# The rows the backfill of bench_N wrote itself: the dual-write trigger
# fills every row the clients update from migration_start on (warm-up,
# marker, A1 and B), so BIG over B's time counted rows the backfill never
# wrote (gov16's MR "26.9k rows/s" under a cap of 20k was ~18k; gov17).
mig_rows() {
    psql_q -d "$DB" -At -c "SELECT rows_backfilled FROM steward.migration_runs WHERE name = 'bench_$MIG_N'"
}

# One unmeasured pass of each job kind in JOBS before the rounds, without
# clients and ungoverned: the first job that rewrites a table writes every
# row as a new version on new pages (the table extends), later ones reuse
# the pages VACUUM freed, and a round of the first kind is the costly one
# (gov16: run_transition 2.16x at 6.5k rows/s for a run's first pass, 1.12x
# at 31.2k after one).  PRIME=0: none (the rounds then mix both kinds).
prime() {
    local kinds=" $(for j in $JOBS; do case $j in M*) echo backfill ;; T|O|K|U|TC|TL|TR|TA) echo transition ;; esac; done | sort -u | tr '\n' ' ')"
    case $kinds in *" transition "*)
        echo "== prime: run_transition pending -> done (unmeasured)"
        psql_q -d "$DB" -c "SET steward.governor = off" -c "CALL steward.run_transition('big.items', 'pending', 'done')" >/dev/null
        TDIR="pending->done"
        psql_q -d "$DB" -c "VACUUM big.items" >/dev/null ;;
    esac
    case $kinds in *" backfill "*)
        echo "== prime: migration backfill (unmeasured)"
        mig_start
        psql_q -d "$DB" -c "SET steward.governor = off" -c "CALL steward.migration_backfill('bench_$MIG_N')" >/dev/null
        psql_q -d "$DB" -c "SELECT steward.migration_rollback('bench_$MIG_N')" -c "VACUUM orders" >/dev/null ;;
    esac
}

round() {   # round JOB R
    local job=$1 r=$2 script=$T_SQL p=$LOGS/$1$2 t0 t1 t2 t3 from to sql kind=transition done_file n=$BIG
    local set_sql="SELECT 1" sys= cap=
    case $job in TR|MR|MRI) cap=$CAP ;; esac
    case $job in
    O) set_sql="SET steward.governor_job_p99 = off" ;;
    K|MK) set_sql="SET steward.governor_keep_baseline = off" ;;
    U|MU|TR|MR) set_sql="SET steward.governor = off" ;;
    TC|MC) set_sql="SET steward.governor_cpu_wait_floor = '1000ms'" ;;
    TA|MA) set_sql="SET steward.governor_room_increase = off" ;;
    TL|ML) set_sql="SET steward.governor_wait_ratio = 1000" ;;
    MI) set_sql="SET steward.migration_backfill_interleave = 4" ;;
    MRI) set_sql="SET steward.governor = off; SET steward.migration_backfill_interleave = 4" ;;
    PK) sys="steward.governor_keep_baseline = off" ;;
    PC) sys="steward.governor_cpu_wait_floor = '1000ms'" ;;
    PA) sys="steward.governor_room_increase = off" ;;
    PU) sys="steward.governor = off" ;;
    esac
    case $job in
    M*)
        script=$M_SQL kind=backfill
        mig_start
        psql_q -d "$DB" -c "VACUUM orders" -c "CHECKPOINT"
        sql="CALL steward.migration_backfill('bench_$MIG_N'${cap:+, max_rows_per_sec => $cap})" ;;
    P*)
        script=$P_SQL kind=purge
        PURGE_N=$((PURGE_N + 1))
        psql_q -d "$DB" -v nexp="$BIG" -v r="$PURGE_N" -f "$EXPIRED_SQL" >/dev/null
        psql_q -d "$DB" -c "VACUUM ANALYZE steward.idempotency_keys" -c "CHECKPOINT" ;;
    N|T|O|K|U|TC|TL|TR|TA)
        psql_q -d "$DB" -c "VACUUM big.items" -c "CHECKPOINT" ;;
    esac
    case $job in T|O|K|U|TC|TL|TR|TA)
        if [ -z "$TDIR" ] || [ "$TDIR" = "done->pending" ]; then from=pending to=done; else from=done to=pending; fi
        TDIR="$from->$to"
        sql="CALL steward.run_transition('big.items', '$from', '$to'${cap:+, max_rows_per_sec => $cap})" ;;
    esac
    [ "$DECISIONS" = 1 ] && set_sql="$set_sql; SET client_min_messages = debug2"
    oltp "$script" "$p-warm" "$WARMUP" -
    oltp "$script" "$p-mark" "$MARKER" - "$MARKER_TPS"
    local c0 c1; c0=$(cpu_sample)
    t0=$(now); oltp "$script" "$p-a1" "$W" -; t1=$(now)
    local job0; job0=$(psql_q -d "$DB" -At -c "SELECT coalesce(max(job_id), 0) FROM steward.governor_jobs")
    if [ "$job" = N ]; then
        oltp "$script" "$p-b" "$AA_SECS" -; t2=$(now)
    elif [ "$kind" = purge ]; then
        # The worker, switched on until it has purged all the round's keys
        # (one watching session, 20 short statements a second).
        done_file=$LOGS/$job$r.done; rm -f "$done_file"
        local base; base=$(purged)
        [ -z "$sys" ] || psql_q -d "$DB" -c "ALTER SYSTEM SET $sys" -c "SELECT pg_reload_conf()" >/dev/null
        for _ in $(seq 12000); do
            echo "SELECT coalesce(sum(purged), 0) >= $base + $n AS done FROM steward.idempotency_stats \\gset"
            echo "\\if :done"; echo "\\q"; echo "\\endif"; echo "\\! sleep 0.05"
        done >"$p-watch.sql"
        echo "SELECT 1 / 0 AS purge_did_not_finish;" >>"$p-watch.sql"
        ( psql_q -d "$DB" -f "$p-watch.sql" >"$p-call.out" 2>&1 && now >"$done_file.tmp" && mv "$done_file.tmp" "$done_file" ) &
        BG=$!
        set_purge "$DB"
        oltp "$script" "$p-b" - "$done_file"
        wait "$BG" || die "the purge did not finish: $(cat "$p-call.out")"
        BG=
        t2=$(cat "$done_file")
        set_purge none
        [ -z "$sys" ] || psql_q -d "$DB" -c "ALTER SYSTEM RESET ${sys%% =*}" -c "SELECT pg_reload_conf()" >/dev/null
    else
        done_file=$LOGS/$job$r.done; rm -f "$done_file"
        ( psql_q -d "$DB" -c "$set_sql" -c "$sql" >"$p-call.out" 2>&1 && now >"$done_file.tmp" && mv "$done_file.tmp" "$done_file" ) &
        BG=$!
        oltp "$script" "$p-b" - "$done_file"
        wait "$BG" || die "$sql failed: $(cat "$p-call.out")"
        BG=
        t2=$(cat "$done_file")
    fi
    oltp "$script" "$p-a2" "$W" -; t3=$(now)
    c1=$(cpu_sample)
    if [ "$kind" = backfill ]; then
        n=$(mig_rows)
        psql_q -d "$DB" -c "SELECT steward.migration_rollback('bench_$MIG_N')" >/dev/null
    fi
    local ev; ev=$(server_log_events "$t1" "$t2")
    local a1 b a2 n1 tps1 p50_1 p95_1 p99_1 x nb tpsb p50_b p95_b p99_b n2 tps2 p50_2 p95_2 p99_2
    read -r n1 tps1 p50_1 p95_1 p99_1 x x <<<"$(stats "$p-a1-*.[0-9]*" "$t0" "$t1")"
    read -r nb tpsb p50_b p95_b p99_b x x <<<"$(stats "$p-b-*.[0-9]*" "$t1" "$t2")"
    read -r n2 tps2 p50_2 p95_2 p99_2 x x <<<"$(stats "$p-a2-*.[0-9]*" "$t2" "$t3")"
    # A1 and A2 pooled: as many transactions as B when W is half of B's
    # length (a p99 over 8 s against one over 40 s is biased: see the A/A)
    local p99_ap qp
    read -r x x x x p99_ap x x <<<"$(stats "$p-a[12]-*.[0-9]*" "$t0" "$t3")"
    qp=$(ratio "$p99_b" "$p99_ap")
    local secs rate q q50 gov
    secs=$(awk -v a="$t1" -v b="$t2" 'BEGIN {printf "%.1f", b - a}')
    rate=$([ "$job" = N ] && echo - || awk -v n="$n" -v s="$secs" 'BEGIN {printf "%.0f", n / s}')
    q=$(awk -v b="$p99_b" -v x="$p99_1" -v y="$p99_2" 'BEGIN {printf "%.3f", 2 * b / (x + y)}')
    q50=$(awk -v b="$p50_b" -v x="$p50_1" -v y="$p50_2" 'BEGIN {printf "%.3f", 2 * b / (x + y)}')
    gov=$(psql_q -d "$DB" -At -F ' / ' -c "SELECT coalesce(sum(increases), 0), coalesce(sum(decreases), 0), coalesce(sum(pauses), 0),
                                                  coalesce(string_agg(DISTINCT throttled_by, ','), '-')
                                             FROM steward.governor_jobs WHERE kind = '$kind' AND job_id > $job0")
    [ "$job" = N ] && gov=-
    # both of issue 18's goals in this round: p99 <= 1.5x, >= 20k rows/s
    [ "$job" = N ] || rec "$job ok" "$(awk -v q="$q" -v r="$rate" 'BEGIN {print (q <= 1.5 && r >= 20000) ? 1 : 0}')"
    rec "$job q" "$q"; rec "$job qp" "$qp"; rec "$job q50" "$q50"; [ "$job" = N ] || rec "$job rate" "$rate"
    rec "$job p99a" "$(awk -v x="$p99_1" -v y="$p99_2" 'BEGIN {printf "%.3f", (x + y) / 2}')"; rec "$job p99b" "$p99_b"
    rec "$job p50a" "$(awk -v x="$p50_1" -v y="$p50_2" 'BEGIN {printf "%.3f", (x + y) / 2}')"; rec "$job p50b" "$p50_b"
    rec "$job tpsa" "$(awk -v x="$tps1" -v y="$tps2" 'BEGIN {printf "%.0f", (x + y) / 2}')"; rec "$job tpsb" "$tpsb"
    local out
    out=$(psql_q -d "$DB" -At -F ' ' -c "SELECT rows_done, status FROM steward.transition_progress ORDER BY id DESC LIMIT 1")
    [ "$kind" != transition ] || [ "$out" = "$BIG finished" ] || die "run_transition: $out (expected $BIG rows, finished)"
    ROWS+=("| $job | $r | $(date -u +%H:%M:%S) | $p50_1 / $p50_b / $p50_2 | $p95_1 / $p95_b / $p95_2 | $p99_1 / $p99_b / $p99_2 | **$q** | $qp | $q50 | $tps1 / $tpsb / $tps2 | $secs | $rate | $gov | ${ev% *} / ${ev#* } | $(uptime | sed 's/.*load average: //') | $(foreign_pct "$c0" "$c1")% | ${QUIET_NOW%% *} |")
    echo "$job round $r: p99 A1 $p99_1 / B $p99_b / A2 $p99_2 ms: ratio $q (p50 $q50); B ${secs}s, rate $rate; governor inc/dec/pause/throttled_by $gov"
}

# quiet_begin: start $QUIET holding a flag file, return once it froze the
# others (its command has begun); quiet_end: release it.
quiet_begin() {
    [ -n "$QUIET" ] || return 0
    touch "$LOGS/quiet.hold"; rm -f "$LOGS/quiet.on"
    $QUIET bash -c "touch '$LOGS/quiet.on'; while [ -e '$LOGS/quiet.hold' ]; do sleep 0.2; done" &
    QUIETER=$!
    until [ -e "$LOGS/quiet.on" ]; do sleep 0.2; kill -0 "$QUIETER" 2>/dev/null || die "$QUIET failed"; done
    QUIET_NOW="yes $(date -u +%H:%M:%S)-"
}
quiet_end() {
    [ -n "$QUIETER" ] || return 0
    rm -f "$LOGS/quiet.hold"; wait "$QUIETER" || true; QUIETER=
    QUIET_LOG+=("${QUIET_NOW#yes }$(date -u +%H:%M:%S) UTC;")
    QUIET_NOW=no
}
bench_on_exit() { [ -z "$QUIETER" ] || { rm -f "$LOGS/quiet.hold"; wait "$QUIETER"; }; }
QUIET_LOG=()

stat3() {   # stat3 KEY: "median (min-max)"
    local v; v=$(tr ' ' '\n' <<<"${S[$1]:-}" | grep . | sort -g)
    printf '%s (%s-%s)' "$(median <<<"$v")" "$(head -n1 <<<"$v")" "$(tail -n1 <<<"$v")"
}
# The results of the rounds run so far (R of them): written after every
# round, so that an interrupted run keeps what it measured.
write_results() {   # write_results R
local ROUNDS=$1
{
    echo "# governor ABA benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
    echo
    echo "- server: $PG_VERSION; $(nproc) CPUs; $CLIENTS closed-loop pgbench clients; BIG=$BIG; autovacuum=$AUTOVACUUM; W=${W}s WARMUP=${WARMUP}s MARKER=${MARKER}s at ${MARKER_TPS} TPS, AA_SECS=${AA_SECS}s, CHUNK=${CHUNK}s${EXTRA_CONF:+; also set: $EXTRA_CONF}"
    echo "- quiet (others frozen by $QUIET): ${QUIET_LOG[*]:-none}"
    echo "- primed (one unmeasured pass per job kind first): $([ "$PRIME" = 1 ] && echo yes || echo no); a backfill's rows/s counts the rows it wrote (rows_backfilled), not those the clients' updates filled"
    echo "- each round: VACUUM + CHECKPOINT, warm-up, marker (fresh baseline), A1, B, A2; ratio = p99(B) / mean(p99(A1), p99(A2))"
    echo
    echo "| job | rounds | p99 ratio median (min-max) | p99 ratio, A1+A2 pooled | p50 ratio | p99 ms A / B | p50 ms A / B | TPS A / B | job rows/s | rounds with p99 <= 1.5x and >= 20k rows/s |"
    echo "|---|---:|---|---|---|---|---|---|---|---|"
    for job in $JOBS; do
        echo "| $job | $ROUNDS | **$(stat3 "$job q")** | $(stat3 "$job qp") | $(stat3 "$job q50") | $(stat3 "$job p99a") / $(stat3 "$job p99b") | $(stat3 "$job p50a") / $(stat3 "$job p50b") | $(stat3 "$job tpsa") / $(stat3 "$job tpsb") | $([ "$job" = N ] && echo - || stat3 "$job rate") | $([ "$job" = N ] && echo - || tr ' ' '\n' <<<"${S[$job ok]}" | grep -c 1) of $ROUNDS |"
    done
    echo
    echo "## Per round (A1 / B / A2)"
    echo
    echo "| job | round | end (UTC) | p50 ms | p95 ms | p99 ms | p99 ratio | p99 ratio, A pooled | p50 ratio | TPS | B s | rows/s | governor inc / dec / pause / throttled_by | autovacuums / checkpoints in B | load | CPU used by others | quiet |"
    echo "|---|---:|---|---|---|---|---:|---:|---:|---|---:|---:|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
} >"$RESULTS"
}

[ "$PRIME" = 1 ] && prime
for ((r = 1; r <= ROUNDS; r++)); do
    [ $(((r - 1) % QUIET_ROUNDS)) = 0 ] && quiet_begin
    for job in $JOBS; do round "$job" "$r"; done
    { [ $((r % QUIET_ROUNDS)) = 0 ] || [ "$r" = "$ROUNDS" ]; } && quiet_end
    write_results "$r"
done
cat "$RESULTS"
