#!/usr/bin/env bash
# pg_steward benchmark: what a fixed pace of run_transition costs the
# foreground's p99, and what the governor chooses (issue 18 section 1).
#
# The governor can only be as good as the best fixed pace: this script
# measures the OLTP update p99 (pgbench, lifecycle/oltp.sql, CLIENTS
# clients) while CALL steward.run_transition moves rows of big.items at a
# given batch size and max_rows_per_sec with steward.governor = off, and
# with the governor on, each against a phase without the job just before.
# Each configuration is "governor:batch:max_rows_per_sec[:synchronous_commit
# of the job's session[:nice]]" (nice: once the job has started, its
# backend and that backend's Linux autogroup are reniced to 19 from
# outside, as root, once); the job runs for DURATION_D seconds (then it is
# cancelled; the rows it moved are counted) and the rest of the rows are
# moved back to one state before the next configuration.  JOB=M runs a
# migration backfill of orders (../migrate/setup.sql, the run.sh (M) job)
# instead, under ../migrate/oltp.sql, the migration started (dual writes
# on) in both phases and rolled back after each configuration.  Each
# phase also records the CPU the cluster and pgbench took (percent of all
# CPUs) and, during, the job backend's own.
#
# Usage (as root; the extension must be installed):
#   test/bench/governor/pace.sh
# Environment:
#   CONFIGS="off:1000:20000 off:100:20000 off:20:20000 on:1000:0"
#   REPS=2 rounds over the configurations;  BIG=1000000 rows
#   DURATION_W=10  seconds without the job;  DURATION_D=15 seconds with it
#   CLIENTS=2;  PORT=5495;  KEEP=0;  JOB=T (run_transition) or M (backfill)
# Writes results-pace.md next to this script (RESULTS= to change).
set -euo pipefail

CONFIGS=${CONFIGS:-off:1000:20000 off:100:20000 off:20:20000 on:1000:0}
REPS=${REPS:-2}
BIG=${BIG:-1000000}
DURATION_W=${DURATION_W:-10}
DURATION_D=${DURATION_D:-15}
CLIENTS=${CLIENTS:-2}
PORT=${PORT:-5495}
KEEP=${KEEP:-0}
JOB=${JOB:-T}
BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/var/tmp/pg_steward-bench-pace
RESULTS=${RESULTS:-$BENCH/results-pace.md}
DB=bench
BG=
. "$BENCH/../lib.sh"

bench_start_cluster pace "steward.idempotency_purge_databases = 'none'"
if [ "$JOB" = M ]; then
    psql_q -d "$DB" -v rows="$BIG" -f "$BENCH/../migrate/setup.sql" >"$LOGS/setup.log"
    OLTP=$BENCH/../migrate/oltp.sql
else
    psql_q -d "$DB" -v big="$BIG" -f "$BENCH/setup.sql" >"$LOGS/setup.log"
    OLTP=$BENCH/../lifecycle/oltp.sql
fi
MIG_N=0
migration_start() {   # a new migration (the run.sh (M) one), its name in MIG
    MIG_N=$((MIG_N + 1)); MIG=pace_$MIG_N
    psql_q -d "$DB" -c "SELECT steward.migration_start('$MIG', \$\$[
      {\"alter_column\": {\"table\": \"orders\", \"column\": \"total_amount\", \"name\": \"total_cents\",
                        \"type\": \"bigint\", \"up\": \"(total_amount * 100)::bigint\",
                        \"down\": \"total_cents / 100.0\"}}]\$\$)" >/dev/null
}
# CPU ticks of process PID (utime + stime)
pid_ticks() { awk '{sub(/^.*\) /, ""); split($0, a, " "); print a[12] + a[13]}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# percent of all CPUs that "ours" (cluster + pgbench) took between two cpu_samples
ours_pct() { awk -v a="$1" -v b="$2" -v n="$NCPU" 'BEGIN {split(a, x, " "); split(b, y, " "); printf "%d", 100 * (y[2] - x[2]) / ((y[3] - x[3]) * n)}'; }
job_pid() {   # the backend running the job's CALL (waits for it, up to 5 s)
    local pid i
    for i in $(seq 50); do
        pid=$(psql_q -d "$DB" -At -c "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CALL steward.%' AND pid <> pg_backend_pid() LIMIT 1")
        [ -n "$pid" ] && { echo "$pid"; return; }
        sleep 0.1
    done
}

# p50 and p99 (ms, nearest rank) of the transactions completed in [T0, T1)
pct() {   # pct FILES T0 T1 -> "n p50 p99"
    cat $1 | awk -v t0="$2" -v t1="$3" '{ts = $5 + $6 / 1e6; if (ts >= t0 && ts < t1) print $3 / 1000}' |
        sort -g | awk '{v[NR] = $1} END {
            i50 = int(NR * 0.5); if (i50 < 1) i50 = 1; i99 = int(NR * 0.99 + 0.999)
            printf "%d %.3f %.3f", NR, v[i50], v[i99]}'
}
oltp() {   # oltp SECONDS PREFIX
    "$PGBIN/pgbench" -n -M prepared -c "$CLIENTS" -j "$CLIENTS" -D big="$BIG" -D rows="$BIG" -T "$1" \
        -l --log-prefix="$LOGS/$2" -f "$OLTP" "$DB" >"$LOGS/$2.out" 2>&1 || { cat "$LOGS/$2.out" >&2; die "pgbench failed"; }
}
in_state() { psql_q -d "$DB" -At -c "SELECT count(*) FROM big.items WHERE status = '$1'"; }

ROWS=()
declare -A SAMPLES
from=pending to=done
for rep in $(seq 1 "$REPS"); do
    for cfg in $CONFIGS; do
        IFS=: read -r gov batch rate sc nice <<<"$cfg"
        rm -f "$LOGS"/w.* "$LOGS"/d.*
        [ "$JOB" = M ] && migration_start
        psql_q -d "$DB" -c "CHECKPOINT" >/dev/null
        c0=$(cpu_sample); t0=$(now); oltp "$DURATION_W" w; t1=$(now); c1=$(cpu_sample)
        wcpu=$(ours_pct "$c0" "$c1")
        read -r wn w50 w99 <<<"$(pct "$LOGS/w.*" "$t0" "$t1")"
        if [ "$JOB" = M ]; then
            psql_q -d "$DB" -c "VACUUM orders" -c "CHECKPOINT" \
                   -c "ALTER SYSTEM SET steward.governor = $gov" -c "SELECT pg_reload_conf()" >/dev/null
            call="CALL steward.migration_backfill('$MIG', $batch, $([ "$rate" != 0 ] && echo "$rate" || echo NULL))"
        else
            psql_q -d "$DB" -c "VACUUM big.items" -c "CHECKPOINT" \
                   -c "ALTER SYSTEM SET steward.governor = $gov" -c "SELECT pg_reload_conf()" >/dev/null
            before=$(in_state "$to")
            call="CALL steward.run_transition('big.items', '$from', '$to', NULL, $batch, $([ "$rate" != 0 ] && echo "$rate" || echo NULL))"
        fi
        ( PGOPTIONS="${sc:+-c synchronous_commit=$sc}" psql_q -d "$DB" -c "$call" >/dev/null 2>&1 || true ) &
        BG=$!
        jp=$(job_pid)
        if [ "$nice" = nice ] && [ -n "$jp" ]; then
            renice -n 19 -p "$jp" >/dev/null
            echo 19 >"/proc/$jp/autogroup"
        fi
        j0=$(pid_ticks "$jp")
        c0=$(cpu_sample); t0=$(now); oltp "$DURATION_D" d; t1=$(now); c1=$(cpu_sample)
        j1=$(pid_ticks "$jp")
        dcpu=$(ours_pct "$c0" "$c1")
        jcpu=$(awk -v a="$j0" -v b="$j1" -v x="$c0" -v y="$c1" 'BEGIN {split(x, p, " "); split(y, q, " "); printf "%d", 100 * (b - a) / (q[3] - p[3])}')
        if [ "$JOB" = M ]; then
            moved=$(psql_q -d "$DB" -At -c "SELECT rows_done FROM steward.governor_jobs WHERE kind = 'backfill' ORDER BY job_id DESC LIMIT 1")
        else
            moved=$(( $(in_state "$to") - before ))
        fi
        psql_q -d "$DB" -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
                             WHERE query LIKE 'CALL steward.%' AND pid <> pg_backend_pid()" >/dev/null
        wait "$BG" || true; BG=
        psql_q -d "$DB" -c "ALTER SYSTEM SET steward.governor = off" -c "SELECT pg_reload_conf()" >/dev/null
        if [ "$JOB" = M ]; then
            psql_q -d "$DB" -c "SELECT steward.migration_rollback('$MIG')" >/dev/null
        else
            # the rest of the rows, at full speed, so that every round starts alike
            psql_q -d "$DB" -c "CALL steward.run_transition('big.items', '$from', '$to', NULL, 10000)" >/dev/null
        fi
        read -r dn d50 d99 <<<"$(pct "$LOGS/d.*" "$t0" "$t1")"
        q=$(ratio "$d99" "$w99")
        r=$(awk -v n="$moved" -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" 'BEGIN {printf "%.0f", n / s}')
        SAMPLES["$cfg"]+="$q "
        SAMPLES["$cfg rate"]+="$r "
        ROWS+=("| $rep | $gov | $batch | ${rate/#0/-} | ${sc:-on} | ${nice:--} | $wn / $dn | $w50 / $d50 | $w99 / $d99 | $q | $r | $wcpu% / $dcpu% | $jcpu% |")
        echo "round $rep $cfg: p99 $w99 -> $d99 ($q), $r rows/s; CPU cluster+pgbench $wcpu% / $dcpu%, job backend $jcpu% of one CPU"
        tmp=$from; from=$to; to=$tmp
    done
done

{
    echo "# pg_steward benchmark: the foreground's p99 at a fixed pace of $([ "$JOB" = M ] && echo "a migration backfill" || echo run_transition)"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); CPUs: $(nproc); load at the end: $(uptime | sed 's/.*load average: //')"
    echo "- server: $(psql_q -d "$DB" -At -c 'SELECT version()')"
    echo "- big.items USING steward, $BIG rows, PRIMARY KEY, machine job; OLTP: $CLIENTS pgbench clients, lifecycle/oltp.sql (UPDATE one random row), synchronous_commit on; ${DURATION_W} s without the job, then ${DURATION_D} s with it; p99 = nearest rank; ratio = during / without; rate = rows moved / seconds with the job"
    echo "- configuration = steward.governor : run_transition batch_size : max_rows_per_sec : synchronous_commit of the job's session"
    echo
    echo "- job: $([ "$JOB" = M ] && echo "CALL steward.migration_backfill of orders ($BIG rows, total_amount -> total_cents) under ../migrate/oltp.sql (read and update one order), migration started in both phases" || echo "CALL steward.run_transition of big.items under lifecycle/oltp.sql")"
    echo "- CPU: percent of all $NCPU CPUs taken by the cluster and pgbench, without / with the job; job: the job backend's CPU in percent of one CPU"
    echo
    echo "| configuration | p99 ratio per round | median | rows/s per round |"
    echo "|---|---|---:|---|"
    for cfg in $CONFIGS; do
        echo "| $cfg | ${SAMPLES[$cfg]} | $(echo "${SAMPLES[$cfg]}" | median) | ${SAMPLES[$cfg rate]} |"
    done
    echo
    echo "| round | governor | batch | max rows/s | job's synchronous_commit | nice | transactions without / with | p50 ms | p99 ms | p99 ratio | job rows/s | CPU without / with | job CPU |"
    echo "|---|---|---:|---:|---|---|---|---|---|---:|---:|---|---:|"
    printf '%s\n' "${ROWS[@]}"
} >"$RESULTS"
echo "wrote $RESULTS"
