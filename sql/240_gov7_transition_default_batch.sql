-- run_transition's default batch is 10000 rows (issue 18, gov7): under the
-- governor the same rate in fewer batches costs the foreground less, and
-- batches of 10000 met the goal (OLTP p99 <= 1.5x at >= 20k rows/s) where
-- the old default, 1000, did not (docs/benchmarks.md, the governor
-- benchmark).  A run that gives no batch_size moves 25000 rows in 3
-- batches (25 before), a batch_size given still counts, and the HINT of
-- a bad size names the new default.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;   -- when run alone
RESET client_min_messages;
\set SHOW_CONTEXT never
SET steward.governor_min_calls = 1000000000;   -- this test's statements are no foreground load

SELECT pg_catalog.pg_get_function_arguments('steward.run_transition'::pg_catalog.regproc);

SELECT steward.create_state_machine('r240_ab', ARRAY['a', 'b'], ARRAY['a', 'b'],
                                    ARRAY['a->b', 'b->a']);
CREATE TABLE r240 (id int PRIMARY KEY, status text NOT NULL) USING steward;
INSERT INTO r240 SELECT g, 'a' FROM generate_series(1, 25000) g;
SELECT steward.attach_state_machine('r240', 'status', 'r240_ab');

-- No batch_size: batches of 10000.
CALL steward.run_transition('r240', 'a', 'b');
SELECT from_state, to_state, rows_done, rows_remaining, batches, status
  FROM steward.transition_progress WHERE relid = 'r240'::regclass ORDER BY id;
-- A batch_size given is kept.
CALL steward.run_transition('r240', 'b', 'a', NULL, 5000);
SELECT from_state, to_state, rows_done, rows_remaining, batches, status
  FROM steward.transition_progress WHERE relid = 'r240'::regclass ORDER BY id;
SELECT status, count(*) FROM r240 GROUP BY status;

-- A batch_size below 1 is refused; the HINT names the default.
CALL steward.run_transition('r240', 'a', 'b', NULL, 0);

DROP TABLE r240;
SELECT steward.drop_state_machine('r240_ab');
