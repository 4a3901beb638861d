#!/usr/bin/env bash
# What the foreground's commits wait on during a migration backfill (issue
# 18, gov7).  One throwaway cluster (run.sh's settings) with pg_wait_sampling
# sampling every backend each 1 ms; per mode, a phase of ../migrate/oltp.sql
# (pgbench, 2 clients, closed loop, 2-s chunks with -l) without the backfill
# (DURATION_W s, the migration started) and one during it.  Per phase:
#  - the pgbench p50/p99 and pg_stat_wal (records, FPIs, bytes, writes,
#    syncs and their times: track_wal_io_timing) and WAL bytes per batch;
#  - the clients' statements slower than SLOW_MS (log_min_duration_statement)
#    by kind, and the wait events sampled in them (no sample = on a CPU or
#    runnable: "?:?" where a sample exists without an event);
#  - the transactions ending while the job works (burst) and while it sleeps
#    in governor_pace (its Extension wait event): count, p50, p99 and the
#    clients' wait samples per transaction in each;
#  - where the slow COMMITs fall: burst, the first 5 ms after a batch's
#    commit, or the rest of the sleep, against the time share of each;
#  - WAL segment creations (IO:WALInit* runs of any process) and the slow
#    statements overlapping one; clients' waits of >= 2 ms by event;
#  - schedstat (CPU and run-queue seconds) of the clients and the job.
# Modes: base (defaults), async (steward.batch_synchronous_commit = off),
# rate (governor off, max_rows_per_sec RATE: batches at full speed, then a
# sleep), spread (the same with the batch sleeping 1 ms after every SPREAD_N
# rows on average, through the migration's up expression); any other name:
# its settings from MODES_CONF="name=guc = value;guc = value|name2=...".
# Usage (root; pg_steward and postgresql-15-pg-wait-sampling installed in
# the system PostgreSQL):
#   MODES="base async" ROWS=500000 /work/notes/quiet bash test/bench/governor/diag_commit.sh
# Results: results-commit-tail-gov7.md.
set -euo pipefail
ROWS=${ROWS:-500000}; MODES=${MODES:-base}; DURATION_W=${DURATION_W:-10}
CLIENTS=${CLIENTS:-2}; PORT=${PORT:-5497}; KEEP=${KEEP:-0}
BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=/var/tmp/pg_steward-bench-gov7diag
DB=bench
. "$BENCH/../lib.sh"
bench_start_cluster diag "shared_preload_libraries = 'pg_steward,pg_wait_sampling'
pg_wait_sampling.profile_period = 1
pg_wait_sampling.history_period = 1
pg_wait_sampling.history_size = 2000000
pg_wait_sampling.profile_pid = true
track_wal_io_timing = on
log_min_duration_statement = ${SLOW_MS:-2}
log_line_prefix = '%n %p '
${EXTRA_CONF:-}"
psql_q -d "$DB" -v rows="$ROWS" -f "$BENCH/../migrate/setup.sql" >"$LOGS/setup.log"
psql_q -d "$DB" -c "CREATE EXTENSION pg_wait_sampling" -c "CREATE TABLE fgpids (pid int PRIMARY KEY, app text)" -c "CREATE TABLE slow (ts float8, pid int, ms float8, stmt text)" -c "CREATE TABLE tx (ts float8, ms float8)" -c "CREATE FUNCTION bench_pace(app text, n int) RETURNS bigint LANGUAGE plpgsql AS \$\$ BEGIN IF current_setting('application_name') = app AND random() < 1.0 / n THEN PERFORM pg_sleep(0.001); END IF; RETURN 0; END \$\$" -c "VACUUM ANALYZE"
M_SQL=$BENCH/../migrate/oltp.sql
N=0
mig_start() { N=$((N+1)); MIG=d$N; psql_q -d "$DB" -c "SELECT steward.migration_start('$MIG', \$\$[
      {\"alter_column\": {\"table\": \"orders\", \"column\": \"total_amount\", \"name\": \"total_cents\",
                        \"type\": \"bigint\", \"up\": \"$UP\",
                        \"down\": \"total_cents / 100.0\"}}]\$\$)" >/dev/null
  psql_q -d "$DB" -c "VACUUM orders" -c "CHECKPOINT" >/dev/null; }
mig_undo() { psql_q -d "$DB" -c "SELECT steward.migration_rollback('$MIG')" >/dev/null; }
poller() {  # record the pids of pgbench and of the job, and their schedstat (CPU ns, run-queue ns)
  : >"$LOGS/sched"
  while :; do
    psql_q -d "$DB" -At -F ' ' -c "INSERT INTO fgpids SELECT pid, application_name FROM pg_stat_activity WHERE application_name IN ('pgbench', 'job') ON CONFLICT DO NOTHING" -c "SELECT pid, app FROM fgpids" 2>/dev/null |
      while read -r pid app; do [ ! -r /proc/$pid/schedstat ] || echo "$pid $app $(cat /proc/$pid/schedstat) $(awk '{print $19}' /proc/$pid/stat)" >>"$LOGS/sched" || true; done || true
    sleep 0.2; done
}
schedsum() {  # per app: CPU s, run-queue s, nice
  awk '{ k = $1; app[k] = $2; if (!(k in c0)) { c0[k] = $3; w0[k] = $4 } c1[k] = $3; w1[k] = $4; ni[$2] = $6 }
       END { for (k in app) { c[app[k]] += c1[k] - c0[k]; w[app[k]] += w1[k] - w0[k] }
             for (a in c) printf "%s: cpu %.2f s, run-queue wait %.2f s, nice %s; ", a, c[a] / 1e9, w[a] / 1e9, ni[a] }' "$LOGS/sched"
}
walsnap() { psql_q -d "$DB" -At -F ' ' -c "SELECT wal_records, wal_fpi, wal_bytes, wal_buffers_full, wal_write, wal_sync, round(wal_write_time::numeric,1), round(wal_sync_time::numeric,1) FROM pg_stat_wal"; }
report() {  # report NAME T0 T1
  local name=$1 t0=$2 t1=$3
  echo "--- $name: pgbench (n tps p50 p95 p99 mean max ms): $(stats "$LOGS/$name-*.[0-9]*" "$t0" "$t1")"
  tail -c +$((LOGPOS + 1)) "$BASE/server.log" | awk '$3 == "LOG:" && $4 == "duration:" { st = $0; sub(/.*statement: /, "", st); sub(/^.*execute [^:]*: /, "", st); printf "%s\t%s\t%s\t%s\n", $1, $2, $5, substr(st, 1, 20) }' >"$LOGS/$name.slow"
  psql_q -d "$DB" -c "TRUNCATE slow" -c "\\copy slow FROM '$LOGS/$name.slow'"
  psql_q -d "$DB" -At -F ' ' -c "
    SELECT '    slow (>= ${SLOW_MS:-2} ms) statements of clients per s: ' || string_agg(k || ' ' || round(n / ($t1 - $t0), 1) || ' (avg ' || av || ', max ' || mx || ' ms)', ', ' ORDER BY n DESC)
      FROM (SELECT split_part(stmt, ' ', 1) k, count(*) n, round(avg(ms)::numeric, 2) av, max(ms) mx FROM slow s JOIN fgpids f USING (pid) WHERE f.app = 'pgbench' AND ts >= $t0 AND ts < $t1 AND stmt ~ '^(BEGIN|SELECT|UPDATE|END)' GROUP BY 1) x"
  psql_q -d "$DB" -At -F ' ' -c "
    WITH e AS (SELECT s.ts, s.pid, s.ms, split_part(s.stmt, ' ', 1) k, coalesce(w.event_type,'?') || ':' || coalesce(w.event,'?') ev
                 FROM slow s JOIN fgpids f ON f.pid = s.pid AND f.app = 'pgbench'
                 LEFT JOIN pg_wait_sampling_history w ON w.pid = s.pid AND w.ts >= to_timestamp(s.ts - s.ms / 1000.0) AND w.ts <= to_timestamp(s.ts)
                WHERE s.ts >= $t0 AND s.ts < $t1 AND s.stmt ~ '^(BEGIN|SELECT|UPDATE|END)')
    SELECT '    in them (' || k || ', sampled ms per slow statement): ' || string_agg(ev || ' ' || round(n::numeric / c, 2), ', ' ORDER BY n DESC)
      FROM (SELECT k, ev, count(*) n, (SELECT count(DISTINCT (ts, pid)) FROM e e2 WHERE e2.k = e.k) c FROM e GROUP BY k, ev) x GROUP BY k"
  echo "    WAL (records fpi bytes buffers_full write sync write_ms sync_ms) delta: $W"
  psql_q -d "$DB" -At -F ' ' -c "
    WITH p AS (SELECT coalesce(event_type,'?') || ':' || coalesce(event,'?') AS ev, sum(count) AS n
                 FROM pg_wait_sampling_profile w JOIN fgpids f ON f.pid = w.pid AND f.app = 'pgbench' GROUP BY 1)
    SELECT '    client wait samples (1 ms): ' || string_agg(ev || ' ' || n, ', ' ORDER BY n DESC) FROM p"
  psql_q -d "$DB" -At -F ' ' -c "
    WITH p AS (SELECT coalesce(event_type,'?') || ':' || coalesce(event,'?') AS ev, sum(count) AS n
                 FROM pg_wait_sampling_profile w JOIN fgpids f ON f.pid = w.pid AND f.app = 'job' GROUP BY 1)
    SELECT '    job wait samples (1 ms): ' || coalesce(string_agg(ev || ' ' || n, ', ' ORDER BY n DESC), '-') FROM p"
  # per part of the job's cycle (burst: the job works; sleep: it sleeps in
  # governor_pace): the clients' transactions (by their end), their p99,
  # and the clients' wait samples per transaction
  cat $LOGS/$name-*.[0-9]* 2>/dev/null | awk '{ printf "%.6f\t%.3f\n", $5 + $6 / 1e6, $3 / 1000 }' >"$LOGS/$name.tx"
  psql_q -d "$DB" -c "TRUNCATE tx" -c "\\copy tx FROM '$LOGS/$name.tx'"
  psql_q -d "$DB" -At -F ' ' -c "
    WITH h AS (SELECT w.ts FROM pg_wait_sampling_history w JOIN fgpids f ON f.pid = w.pid AND f.app = 'job'
                WHERE w.event = 'Extension' AND w.ts >= to_timestamp($t0) AND w.ts < to_timestamp($t1)),
         g AS (SELECT ts, coalesce(ts - lag(ts) OVER (ORDER BY ts) > interval '1.6 ms', true) AS brk FROM h),
         r AS (SELECT ts, sum(brk::int) OVER (ORDER BY ts) AS run FROM g),
         sp AS (SELECT tstzrange(min(ts), max(ts) + interval '1 ms') AS z FROM r GROUP BY run),
         t AS (SELECT ms, CASE WHEN EXISTS (SELECT FROM sp WHERE sp.z @> to_timestamp(tx.ts)) THEN 'sleep' ELSE 'burst' END AS k FROM tx WHERE ts >= $t0 AND ts < $t1),
         cs AS (SELECT CASE WHEN EXISTS (SELECT FROM sp WHERE sp.z @> w.ts) THEN 'sleep' ELSE 'burst' END AS k, w.event
                  FROM pg_wait_sampling_history w JOIN fgpids f ON f.pid = w.pid AND f.app = 'pgbench'
                 WHERE w.ts >= to_timestamp($t0) AND w.ts < to_timestamp($t1))
    SELECT '    ' || k || ': tx ' || n || ', p50 ' || p50 || ', p99 ' || p99 || ' ms; client samples ms/tx: ' ||
           (SELECT string_agg(event || ' ' || round(c::numeric / n, 3), ', ' ORDER BY c DESC) FROM (SELECT event, count(*) c FROM cs WHERE cs.k = t2.k GROUP BY event) e)
      FROM (SELECT k, count(*) n, round(percentile_disc(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3) p50, round(percentile_disc(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3) p99 FROM t GROUP BY k) t2 ORDER BY k"
  # WAL segment creations (any process: IO:WALInitWrite/WALInitSync runs) and
  # the slow client statements that overlap one
  psql_q -d "$DB" -At -F ' ' -c "
    WITH h AS (SELECT pid, ts FROM pg_wait_sampling_history WHERE event IN ('WALInitWrite', 'WALInitSync')
                AND ts >= to_timestamp($t0) AND ts < to_timestamp($t1)),
         g AS (SELECT pid, ts, coalesce(ts - lag(ts) OVER (PARTITION BY pid ORDER BY ts) > interval '5 ms', true) AS brk FROM h),
         r AS (SELECT pid, ts, sum(brk::int) OVER (PARTITION BY pid ORDER BY ts) AS run FROM g),
         i AS (SELECT pid, run, min(ts) AS a, max(ts) AS b FROM r GROUP BY pid, run),
         sl AS (SELECT s.* FROM slow s JOIN fgpids f ON f.pid = s.pid AND f.app = 'pgbench' WHERE s.ts >= $t0 AND s.ts < $t1)
    SELECT '    WAL segment inits: ' || (SELECT count(*) FROM i) || ' (ms each: ' || coalesce((SELECT string_agg(round(extract(epoch FROM b - a) * 1000)::text, ' ') FROM i), '-')
           || '); slow client statements overlapping one: ' || (SELECT count(*) FROM sl WHERE EXISTS (SELECT FROM i WHERE to_timestamp(sl.ts) >= i.a AND to_timestamp(sl.ts - sl.ms / 1000) <= i.b + interval '2 ms'))
           || ' of ' || (SELECT count(*) FROM sl)
           || ', their ms: ' || coalesce((SELECT round(sum(ms)::numeric) FROM sl WHERE EXISTS (SELECT FROM i WHERE to_timestamp(sl.ts) >= i.a AND to_timestamp(sl.ts - sl.ms / 1000) <= i.b + interval '2 ms')), 0) || ' of ' || (SELECT round(sum(ms)::numeric) FROM sl)"
  # where the slow client statements fall in the job's cycle: its sleeps
  # (runs of Extension samples of the job, i.e. governor_pace) against the
  # bursts between them; 'after' = the first 5 ms of a sleep (the batch's
  # commit has just happened)
  psql_q -d "$DB" -At -F ' ' -c "
    WITH h AS (SELECT w.ts FROM pg_wait_sampling_history w JOIN fgpids f ON f.pid = w.pid AND f.app = 'job'
                WHERE w.event = 'Extension' AND w.ts >= to_timestamp($t0) AND w.ts < to_timestamp($t1)),
         g AS (SELECT ts, coalesce(ts - lag(ts) OVER (ORDER BY ts) > interval '1.6 ms', true) AS brk FROM h),
         r AS (SELECT ts, sum(brk::int) OVER (ORDER BY ts) AS run FROM g),
         sp AS (SELECT min(ts) a, max(ts) + interval '1 ms' b FROM r GROUP BY run),
         tot AS (SELECT extract(epoch FROM to_timestamp($t1) - to_timestamp($t0)) AS all_s,
                        (SELECT sum(extract(epoch FROM least(b, a + interval '5 ms') - a)) FROM sp) AS after_s,
                        (SELECT sum(extract(epoch FROM b - a)) FROM sp) AS sleep_s, (SELECT count(*) FROM sp) AS nsleep),
         sl AS (SELECT s.*, to_timestamp(s.ts) AS e FROM slow s JOIN fgpids f ON f.pid = s.pid AND f.app = 'pgbench'
                 WHERE s.ts >= $t0 AND s.ts < $t1 AND s.stmt LIKE 'END%'),
         c AS (SELECT sl.ms, CASE WHEN EXISTS (SELECT FROM sp WHERE sl.e >= sp.a AND sl.e < least(sp.b, sp.a + interval '5 ms')) THEN 'after'
                                 WHEN EXISTS (SELECT FROM sp WHERE sl.e >= sp.a AND sl.e < sp.b) THEN 'sleep' ELSE 'burst' END AS k FROM sl)
    SELECT '    job cycle: ' || nsleep || ' sleeps; time share burst/after/sleep ' || round(((all_s - sleep_s) / all_s)::numeric, 3) || '/' || round((after_s / all_s)::numeric, 3) || '/' || round(((sleep_s - after_s) / all_s)::numeric, 3)
           || '; slow ENDs ' || n || ' share burst/after/sleep ' || round(nb::numeric / greatest(n, 1), 3) || '/' || round(na::numeric / greatest(n, 1), 3) || '/' || round(ns::numeric / greatest(n, 1), 3)
           || '; slow ENDs >= 3 ms ' || n3 || ' share ' || round(nb3::numeric / greatest(n3, 1), 3) || '/' || round(na3::numeric / greatest(n3, 1), 3) || '/' || round(ns3::numeric / greatest(n3, 1), 3)
      FROM tot, (SELECT count(*) n, count(*) FILTER (WHERE k = 'burst') nb, count(*) FILTER (WHERE k = 'after') na, count(*) FILTER (WHERE k = 'sleep') ns,
                        count(*) FILTER (WHERE ms >= 3) n3, count(*) FILTER (WHERE ms >= 3 AND k = 'burst') nb3, count(*) FILTER (WHERE ms >= 3 AND k = 'after') na3, count(*) FILTER (WHERE ms >= 3 AND k = 'sleep') ns3 FROM c) cc"
  # runs of consecutive samples of one client in the same wait event (a wait's length, ms)
  psql_q -d "$DB" -At -F ' ' -c "
    WITH h AS (SELECT w.pid, w.ts, coalesce(w.event_type,'?') || ':' || coalesce(w.event,'?') AS ev
                 FROM pg_wait_sampling_history w JOIN fgpids f ON f.pid = w.pid AND f.app = 'pgbench'
                WHERE w.ts >= to_timestamp($t0) AND w.ts < to_timestamp($t1)),
         g AS (SELECT pid, ev, ts, ts - lag(ts) OVER (PARTITION BY pid ORDER BY ts) > interval '1.6 ms'
                      OR ev IS DISTINCT FROM lag(ev) OVER (PARTITION BY pid ORDER BY ts) AS brk FROM h),
         r AS (SELECT pid, ev, sum(brk::int) OVER (PARTITION BY pid ORDER BY ts) AS run FROM g),
         l AS (SELECT ev, count(*) AS ms FROM r GROUP BY pid, ev, run)
    SELECT '    client waits >= 2 ms (event: count, max ms): ' || coalesce(string_agg(ev || ': ' || c || ', ' || mx, '; ' ORDER BY c DESC), '-')
      FROM (SELECT ev, count(*) c, max(ms) mx FROM l WHERE ms >= 2 GROUP BY ev) s"
}
for mode in $MODES; do
  conf=; UP="(total_amount * 100)::bigint"; CALLARGS=
  case $mode in
  rate*) conf="steward.governor = off"; CALLARGS=", NULL, ${RATE:-20000}"
     UP="(total_amount * 100)::bigint + public.bench_pace('nojob', ${SPREAD_N:-20})" ;;
  spread*) conf="steward.governor = off"; CALLARGS=", NULL, ${RATE:-20000}"
     # the batch sleeps inside itself: 1 ms after every SPREAD_N-th row on average
     UP="(total_amount * 100)::bigint + public.bench_pace('job', ${SPREAD_N:-20})" ;;
  esac
  case $mode in base|rate*|spread*) ;; async) conf="steward.batch_synchronous_commit = off" ;;
  *) conf=$(echo "${MODES_CONF:-}" | tr '|' '\n' | sed -n "s/^$mode=//p" | tr ';' '\n') ;; esac
  psql_q -d "$DB" -c "ALTER SYSTEM RESET ALL" >/dev/null
  if [ -n "$conf" ]; then while IFS= read -r l; do [ -n "$l" ] && psql_q -d "$DB" -c "ALTER SYSTEM SET ${l%% = *} = ${l#* = }" >/dev/null; done <<<"$conf"; fi
  psql_q -d "$DB" -c "SELECT pg_reload_conf()" >/dev/null
  for ph in without during; do
    mig_start
    psql_q -d "$DB" -c "TRUNCATE fgpids" -c "SELECT pg_wait_sampling_reset_profile()" -c "SELECT pg_stat_reset_shared('wal')" >/dev/null
    poller & POLLER=$!
    LOGPOS=$(stat -c %s "$BASE/server.log")
    w0=$(walsnap); l0=$(psql_q -d "$DB" -At -c "SELECT pg_current_wal_lsn()")
    t0=$(now); i=0
    if [ $ph = without ]; then
      te=$(awk -v t="$t0" -v d="$DURATION_W" 'BEGIN{printf "%.3f", t+d}')
      while awk -v t="$(now)" -v e="$te" 'BEGIN{exit !(t<e)}'; do
        PGAPPNAME=pgbench PGOPTIONS="-c search_path=steward,public" "$PGBIN/pgbench" -n -M prepared -c $CLIENTS -j $CLIENTS -D rows=$ROWS -T 2 -l --log-prefix="$LOGS/$mode-$ph-$i" -f "$M_SQL" "$DB" >/dev/null 2>&1; i=$((i+1)); done
      t1=$(now)
    else
      rm -f "$LOGS/done"
      ( PGAPPNAME=job PGOPTIONS="-c client_min_messages=debug2" psql_q -d "$DB" -c "CALL steward.migration_backfill('$MIG'$CALLARGS)" >"$LOGS/$mode-call.out" 2>&1; now >"$LOGS/done" ) & BG=$!
      while [ ! -e "$LOGS/done" ]; do
        PGAPPNAME=pgbench PGOPTIONS="-c search_path=steward,public" "$PGBIN/pgbench" -n -M prepared -c $CLIENTS -j $CLIENTS -D rows=$ROWS -T 2 -l --log-prefix="$LOGS/$mode-$ph-$i" -f "$M_SQL" "$DB" >/dev/null 2>&1; i=$((i+1)); done
      wait $BG; BG=; t1=$(cat "$LOGS/done")
    fi
    kill $POLLER; wait $POLLER 2>/dev/null || true; POLLER=
    w1=$(walsnap); l1=$(psql_q -d "$DB" -At -c "SELECT pg_current_wal_lsn()")
    W=$(awk -v a="$w0" -v b="$w1" 'BEGIN{split(a,x," ");split(b,y," ");for(i=1;i<=8;i++)printf "%s ", y[i]-x[i]}')
    report "$mode-$ph" "$t0" "$t1"
    echo "    schedstat: $(schedsum)"
    [ $ph = during ] && { grep -o "governor: .*" "$LOGS/$mode-call.out" | sed -n "1,30s/^/      /p" || true; }
    echo "    secs $(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}'), WAL $(psql_q -d "$DB" -At -c "SELECT pg_size_pretty(pg_wal_lsn_diff('$l1','$l0'))")"
    [ $ph = during ] && psql_q -d "$DB" -At -F ' ' -c "SELECT '    job: rows ' || rows_done || ', batches ' || batches || ', rows/s ' || round(rows_done / extract(epoch FROM finished_at - started_at)) || ', WAL bytes/batch ' || round(pg_wal_lsn_diff('$l1','$l0') / greatest(batches,1)) || ', inc/dec/pause ' || increases || '/' || decreases || '/' || pauses FROM steward.governor_jobs WHERE kind = 'backfill' ORDER BY job_id DESC LIMIT 1"
    mig_undo
  done
done
