#!/usr/bin/env bash
# pg_steward benchmark: the lock each maintenance function takes on the
# user's table and how long it runs, for docs/locks.md (not part of CI;
# the lock modes themselves are checked by
# sql/319_readme_function_locks.sql).
#
# One throwaway cluster with pg_steward preloaded.  Each round makes two
# steward tables of N rows (lk: order-like, six columns and a primary key;
# lk2: a primary key and one index) and runs every function in a
# transaction of its own, reading this backend's granted locks on the
# tables from pg_locks before COMMIT (every one is held until then) and
# the time from the statement's start to then.  CALLs commit their own
# batches and are timed alone, with steward.governor off (no foreground
# to pace against).  ROUNDS rounds; the table gives the median and range.
#
# Usage (as root, the extension installed into the PostgreSQL that
# pg_config names):  bash test/bench/locks/run.sh
# Environment: N=1000000, ROUNDS=3, PORT=5498, KEEP=0,
# BASE= (default /var/tmp/pg_steward-bench-locks), RESULTS= (default:
# results.md next to this script).
set -euo pipefail

N=${N:-1000000}
ROUNDS=${ROUNDS:-3}
PORT=${PORT:-5498}
KEEP=${KEEP:-0}
BENCH=$(cd "$(dirname "$0")" && pwd)
BASE=${BASE:-/var/tmp/pg_steward-bench-locks}
RESULTS=${RESULTS:-$BENCH/results.md}
DB=bench
. "$BENCH/../lib.sh"

bench_start_cluster locks
psql_q -d "$DB" -c "CREATE EXTENSION pg_steward" >/dev/null

# step NAME SQL [END]: SQL (one statement, no semicolon) in a transaction
# of its own; prints "NAME|locks|ms" before END (default COMMIT).
step() {
    cat <<SQL
BEGIN;
SELECT clock_timestamp() AS t0 \\gset
$2 \\g /dev/null
SELECT '$1', pg_temp.held(), round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
${3:-COMMIT};
SQL
}
# call NAME SQL: a CALL, which commits its batches: the time only.
call() {
    cat <<SQL
SELECT clock_timestamp() AS t0 \\gset
$2 \\g /dev/null
SELECT '$1', '(its own transactions: not read)', round(extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);
SQL
}
mig() {   # mig NAME STEPS-JSON
    echo "SELECT steward.migration_start('$1', \$j\$[$2]\$j\$)"
}

round_sql() {
    cat <<SQL
\\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET steward.governor = off;
DROP TABLE IF EXISTS lk, lk2 CASCADE;
CREATE TABLE lk (order_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint NOT NULL, status text NOT NULL DEFAULT 'created',
    total_amount numeric(12,2) NOT NULL DEFAULT 0, seq bigint NOT NULL DEFAULT 1,
    version bigint NOT NULL DEFAULT 1) USING steward;
INSERT INTO lk (user_id, total_amount) SELECT g % 1000, g FROM generate_series(1, $N) g;
CREATE TABLE lk2 (id bigint PRIMARY KEY, user_id bigint NOT NULL, version bigint NOT NULL DEFAULT 1) USING steward;
INSERT INTO lk2 SELECT g, g % 1000 FROM generate_series(1, $N) g;
CREATE INDEX lk2_user ON lk2 (user_id);
VACUUM ANALYZE lk;
VACUUM ANALYZE lk2;
CHECKPOINT;
SELECT steward.create_state_machine('lk_status', ARRAY['created', 'paid'], ARRAY['created'],
                                    ARRAY['created->paid'])
 WHERE NOT EXISTS (SELECT FROM steward.machine_definitions WHERE name = 'lk_status') \\g /dev/null
CREATE OR REPLACE FUNCTION pg_temp.held() RETURNS text LANGUAGE sql AS \$\$
  SELECT coalesce(string_agg(DISTINCT l.mode, ', '), 'none')
    FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
   WHERE l.pid = pg_backend_pid() AND l.granted AND c.relkind IN ('r', 'p')
     AND c.relname IN ('lk', 'lk2', 'lk_relayout_old') \$\$;
SQL
    step track_versions "SELECT steward.track_versions('lk', 'version')"
    step track_sequence "SELECT steward.track_sequence('lk', 'seq')"
    step attach_state_machine "SELECT steward.attach_state_machine('lk', 'status', 'lk_status')"
    step set_state_check "SELECT steward.set_state_check('lk', 'paid', 'SELECT count(*) FROM public.lk WHERE status = ''paid'' AND total_amount <= 0')"
    step validate "SELECT * FROM steward.validate('lk')"
    step verify "SELECT * FROM steward.verify('lk')"
    step checksum_ranges "SELECT * FROM steward.checksum_ranges('lk', 'order_id', 8)"
    step verify_heap "SELECT * FROM steward.verify_heap('lk')"
    step "untrack (rolled back)" "SELECT steward.untrack('lk', 'version')" ROLLBACK
    step "detach_state_machine (rolled back)" "SELECT steward.detach_state_machine('lk', 'status')" ROLLBACK
    step "label IS NULL" "SECURITY LABEL FOR steward ON COLUMN lk.seq IS NULL"
    step "column: start" "$(mig lk_cents '{"alter_column": {"table": "lk", "column": "total_amount", "name": "total_cents", "type": "bigint", "up": "(total_amount * 100)::bigint", "down": "total_cents / 100.0"}}')"
    call "column: backfill" "CALL steward.migration_backfill('lk_cents', 10000)"
    step "column: validate" "SELECT * FROM steward.migration_validate('lk_cents')"
    step "column: complete" "SELECT steward.migration_complete('lk_cents')"
    step "column: cleanup" "SELECT steward.migration_cleanup('lk_cents')"
    step "column: start (add_column)" "$(mig lk_note "{\"add_column\": {\"table\": \"lk\", \"column\": \"note\", \"type\": \"text\", \"up\": \"'x'\"}}")"
    step "column: rollback" "SELECT steward.migration_rollback('lk_note')"
    step "relayout: start" "$(mig lk_rl '{"relayout": {"table": "lk", "partition_by": "HASH (order_id)", "partitions": 8}}')"
    call "relayout: backfill" "CALL steward.migration_backfill('lk_rl', 10000)"
    step "relayout: validate" "SELECT * FROM steward.migration_validate('lk_rl')"
    step "relayout: complete" "SELECT steward.migration_complete('lk_rl')"
    step "relayout: cleanup" "SELECT steward.migration_cleanup('lk_rl')"
    step "create_index: start" "$(mig lk_ci '{"create_index": {"table": "lk2", "name": "lk2_ut", "definition": "(user_id, id)"}}')"
    call "create_index: backfill (the build)" "CALL steward.migration_backfill('lk_ci')"
    step "create_index: validate" "SELECT * FROM steward.migration_validate('lk_ci')"
    step "create_index: complete" "SELECT steward.migration_complete('lk_ci')"
    step "create_index: cleanup" "SELECT steward.migration_cleanup('lk_ci')"
    step "drop_index: start" "$(mig lk_di '{"drop_index": {"name": "lk2_user", "force": true}}')"
    call "drop_index: backfill" "CALL steward.migration_backfill('lk_di')"
    step "drop_index: validate" "SELECT * FROM steward.migration_validate('lk_di')"
    step "drop_index: complete" "SELECT steward.migration_complete('lk_di')"
    call "drop_index: cleanup (DROP INDEX CONCURRENTLY)" "SELECT steward.migration_cleanup('lk_di')"
    step release "SELECT * FROM steward.release('lk2')"
    cat <<SQL
DELETE FROM steward.migration_validations WHERE migration LIKE 'lk\\_%';
DELETE FROM steward.migration_columns WHERE migration LIKE 'lk\\_%';
DELETE FROM steward.migration_tables WHERE migration LIKE 'lk\\_%';
DELETE FROM steward.migration_indexes WHERE migration LIKE 'lk\\_%';
DELETE FROM steward.migration_runs WHERE name LIKE 'lk\\_%';
SQL
}

OUT=$LOGS/rounds.txt
: >"$OUT"
for ((r = 1; r <= ROUNDS; r++)); do
    echo "== round $r of $ROUNDS ($N rows)"
    c0=$(cpu_sample)
    round_sql | psql_q -At -d "$DB" -f - | sed "s/^/$r|/" >>"$OUT"
    c1=$(cpu_sample)
    echo "   others took $(foreign_pct "$c0" "$c1")% of the CPUs" | tee -a "$LOGS/load.txt"
done

{
    echo "# Locks each maintenance function takes, and its time"
    echo
    echo "\`bash test/bench/locks/run.sh\`, N=$N rows, $ROUNDS rounds, $(date -u '+%Y-%m-%d %H:%M UTC'),"
    echo "$(nproc) CPUs, load average at the end $(cut -d' ' -f1-3 /proc/loadavg);"
    echo "CPU taken by other programs per round: $(grep -o '[0-9]*%' "$LOGS/load.txt" | tr '\n' ' ')"
    echo
    echo "| function | locks held on the table at COMMIT | median ms | range ms |"
    echo "|---|---|---|---|"
    awk -F'|' '{ name = $2; if (!(name in seen)) { seen[name] = 1; order[++n] = name }
                 locks[name] = $3; ms[name] = ms[name] " " $4 }
        END { for (i = 1; i <= n; i++) print order[i] "|" locks[order[i]] "|" ms[order[i]] }' "$OUT" |
    while IFS='|' read -r name locks samples; do
        echo "| $name | $locks | $(echo "$samples" | median) | $(echo "$samples" | tr ' ' '\n' | grep . | sort -g | sed -n '1p;$p' | paste -sd'-') |"
    done
    echo
    echo "Raw samples (round|function|locks|ms):"
    echo
    echo '```'
    cat "$OUT"
    echo '```'
} >"$RESULTS"
echo "== wrote $RESULTS"
