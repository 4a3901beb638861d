-- review9 F4: run_transition splices set_sql into its batch UPDATE; no
-- set_sql may change that statement's WHERE.  A trailing "--" comment
-- used to comment out the batch's conditions: the first batch moved every
-- row of the table, in any state with an edge to the target.
\set SHOW_CONTEXT never
CREATE TABLE rt (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created', note int DEFAULT 0) USING steward;
SELECT steward.create_state_machine('rtm', ARRAY['created', 'paid', 'cancelled'], ARRAY['created'],
       ARRAY['created->paid', 'created->cancelled', 'paid->cancelled']);
SELECT steward.attach_state_machine('rt', 'st', 'rtm');
INSERT INTO rt (id) SELECT g FROM generate_series(1, 10) g;
UPDATE rt SET st = 'paid' WHERE id <= 5;
-- The review's repro: a comment ends at the end of set_sql's line.
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = 1 --', 2);
SELECT st, note, count(*) FROM rt GROUP BY 1, 2 ORDER BY 1, 2;
-- The same through the other batch form (no range: lock timeout 0).
SET steward.batch_lock_timeout = 0;
TRUNCATE rt;
INSERT INTO rt (id) SELECT g FROM generate_series(1, 10) g;
UPDATE rt SET st = 'paid' WHERE id <= 5;
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = 2 -- comment', 3);
SELECT st, note, count(*) FROM rt GROUP BY 1, 2 ORDER BY 1, 2;
RESET steward.batch_lock_timeout;
-- Harmless comments inside are fine.
CALL steward.run_transition('rt', 'paid', 'cancelled', 'note /* why */ = 3 -- done', 10);
SELECT st, note, count(*) FROM rt GROUP BY 1, 2 ORDER BY 1, 2;

-- Every variant that would swallow or replace the batch's WHERE is refused
-- before a row moves.
TRUNCATE rt;
INSERT INTO rt (id) SELECT g FROM generate_series(1, 4) g;
UPDATE rt SET st = 'paid' WHERE id <= 2;
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = 1 /*', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = 1 /* /* */', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = 1; UPDATE rt SET note = 9', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = 1;', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = 1 RETURNING id', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = 1 FROM rt r2', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = 1 WHERE true', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = 1 WHERE true --', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = $x$1', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = length(''x', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = "x', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = $2', 2);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('rt', 'created', 'cancelled', E'note = 1\nWHERE true --', 2);
\echo :LAST_ERROR_SQLSTATE
SELECT st, note, count(*) FROM rt GROUP BY 1, 2 ORDER BY 1, 2;
-- Dollar quotes that close are values like any other.
CALL steward.run_transition('rt', 'created', 'cancelled', 'note = length($x$ab$x$)', 10);
SELECT st, note, count(*) FROM rt GROUP BY 1, 2 ORDER BY 1, 2;

DROP TABLE rt;
SELECT steward.drop_state_machine('rtm');
