-- run_transition never goes quadratic when the statistics are stale (issue
-- 18 section 1).  ANALYZE ran while every row was in 'b'; then every row
-- moved to 'a' without a new ANALYZE.  The planner now believes "status =
-- 'a'" matches almost nothing and, left alone, reads the whole table and
-- sorts it for every batch (a million rows took 175 s instead of 14 s).
-- The batches must read the primary key in order instead: no sequential
-- scan per batch, only the counts (before the run, before a pass from the
-- first key, after the run).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;   -- when run alone
RESET client_min_messages;
\set SHOW_CONTEXT never
SET steward.governor_min_calls = 1000000000;   -- this test's statements are no foreground load
SELECT steward.create_state_machine('plan_ab', ARRAY['a', 'b'], ARRAY['a', 'b'],
                                    ARRAY['a->b', 'b->a']);

CREATE TABLE plan_single (id int PRIMARY KEY, status text NOT NULL, pad text) USING steward;
INSERT INTO plan_single SELECT g, 'b', repeat('x', 50) FROM generate_series(1, 20000) g;
SELECT steward.attach_state_machine('plan_single', 'status', 'plan_ab');
-- Also an index on the state column, which a sort could otherwise read.
CREATE INDEX plan_single_status ON plan_single (status);
ANALYZE plan_single;
UPDATE plan_single SET status = 'a';
-- The statistics say 'a' is rare.
SELECT most_common_vals FROM pg_stats WHERE tablename = 'plan_single' AND attname = 'status';

CREATE TABLE plan_composite (tenant int, id int, status text NOT NULL, PRIMARY KEY (tenant, id))
    USING steward;
INSERT INTO plan_composite SELECT g % 7, g, 'b' FROM generate_series(1, 20000) g;
SELECT steward.attach_state_machine('plan_composite', 'status', 'plan_ab');
ANALYZE plan_composite;
UPDATE plan_composite SET status = 'a';

SELECT pg_stat_force_next_flush();
CREATE TEMP TABLE scans_before AS
    SELECT relname, seq_scan, seq_tup_read, idx_scan, idx_tup_fetch FROM pg_stat_user_tables
     WHERE relname IN ('plan_single', 'plan_composite');

CALL steward.run_transition('plan_single', 'a', 'b', NULL, 200);
CALL steward.run_transition('plan_composite', 'a', 'b', NULL, 200);
SELECT pg_stat_force_next_flush();
\o /dev/null
SELECT 1;
\o

SELECT relid, rows_done, rows_remaining, batches, status FROM steward.transition_progress
 WHERE relid IN ('plan_single'::regclass, 'plan_composite'::regclass) ORDER BY id;
-- (sorted: a parallel plan may return the two branches in either order)
SELECT 'plan_single' AS t, status, count(*) FROM plan_single GROUP BY 2
UNION ALL
SELECT 'plan_composite', status, count(*) FROM plan_composite GROUP BY 2
ORDER BY t DESC;
-- 100 batches each.  Linear: the rows are read a few times (the count
-- before; per batch the search for its last key and the UPDATE of the key
-- range; the count that finds nothing left before a pass from the start;
-- the count after).  Quadratic: each batch would read every row still in 'a' (about
-- 100 * 20000 / 2).  At most the three counts scan the table; every batch
-- reads the primary key (the composite one as a row comparison range).
SELECT s.relname,
       (s.seq_tup_read - b.seq_tup_read) + (s.idx_tup_fetch - b.idx_tup_fetch) < 8 * 20000 AS linear,
       s.seq_scan - b.seq_scan <= 3 AS no_seq_scan_per_batch,
       (SELECT sum(i.idx_scan) FROM pg_stat_user_indexes i
         WHERE i.relname = s.relname AND i.indexrelname LIKE '%pkey') >= 100 AS primary_key_per_batch
  FROM pg_stat_user_tables s JOIN scans_before b USING (relname)
 ORDER BY 1;

-- The batch helper reads a composite key's last value back as a text
-- array of the columns' own texts.  (An open run as a session killed in
-- its CALL leaves one: _transition_prepare opens runs for run_transition
-- only.)
CREATE TEMP TABLE last_run (run_id bigint);
WITH r AS (INSERT INTO steward.transition_runs (relid, state_column, from_state, to_state, rows_total, pid)
           VALUES ('plan_composite', 'status', 'b', 'a', 0, pg_backend_pid()) RETURNING id)
INSERT INTO last_run SELECT id FROM r;
SELECT b.* FROM last_run, steward._transition_batch(run_id, NULL, 3, NULL) b;
SELECT b.* FROM last_run, steward._transition_batch(run_id, NULL, 3, '{0,21}') b;
SELECT b.* FROM last_run, steward._transition_batch(run_id, NULL, 3, '{0}') b;
SELECT b.* FROM last_run, steward._transition_batch(run_id, NULL, 3, '{0,NULL}') b;
SELECT b.* FROM last_run, steward._transition_batch(run_id, NULL, 3, '{0,x}') b;
SELECT b.* FROM last_run, steward._transition_batch(run_id, NULL, 3, 'x') b;

DROP TABLE plan_single, plan_composite;
SELECT steward.drop_state_machine('plan_ab');
RESET steward.governor_min_calls;
