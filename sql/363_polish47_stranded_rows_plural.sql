-- polish47 item 1: drop_transition's refusal while rows are in states it
-- would take away said "2 rows are in state "x", "y"" and "state "x", "y"
-- is in no transition" (singular for several states), and its HINT named
-- the run_transition of the first table only, leaving the rows of the
-- other attached tables in place.  Now one state and several have their
-- own messages (as PostgreSQL words plurals: "1 row is in one of states",
-- "rows are in states ... are in no transition ... they would go"), and the
-- HINT gives the run_transition calls for every table holding such rows;
-- following it as written lets the edge go.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
SELECT steward.create_state_machine('m363', ARRAY['a', 'x', 'y'], ARRAY['a'],
                                    ARRAY['a->x', 'x->y']);
CREATE TABLE m363_t1 (id int PRIMARY KEY, st text NOT NULL) USING steward;
CREATE TABLE m363_t2 (id int PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('m363_t1', 'st', 'm363');
SELECT steward.attach_state_machine('m363_t2', 'st', 'm363');
INSERT INTO m363_t1 VALUES (1, 'a');
UPDATE m363_t1 SET st = 'x';
SELECT steward.drop_transition('m363', 'a', 'x');
-- One row, both ends of x -> y go: "1 row is in one of states".
SELECT steward.drop_transition('m363', 'x', 'y');
\echo :LAST_ERROR_SQLSTATE
-- Rows in both tables: each table's calls in the HINT.
SELECT steward.add_transition('m363', 'a', 'x');
INSERT INTO m363_t2 VALUES (1, 'a'), (2, 'a');
UPDATE m363_t2 SET st = 'x';
UPDATE m363_t2 SET st = 'y' WHERE id = 2;
SELECT steward.drop_transition('m363', 'a', 'x');
SELECT steward.drop_transition('m363', 'x', 'y');
\echo :LAST_ERROR_SQLSTATE
-- The HINT's calls, as written: then both transitions go.
SELECT steward.add_transition('m363', 'y', 'a');
CALL steward.run_transition('public.m363_t1', 'x', 'y');
CALL steward.run_transition('public.m363_t1', 'y', 'a');
CALL steward.run_transition('public.m363_t2', 'x', 'y');
CALL steward.run_transition('public.m363_t2', 'y', 'a');
SELECT steward.drop_transition('m363', 'x', 'y');
SELECT steward.drop_transition('m363', 'y', 'a');
SELECT 't1' AS tbl, st, count(*) FROM m363_t1 GROUP BY st
UNION ALL SELECT 't2', st, count(*) FROM m363_t2 GROUP BY st ORDER BY 1, 2;
-- One state, rows in both tables: the singular wording stays, both
-- tables' calls in the HINT.
SELECT steward.add_transition('m363', 'a', 'x', new_state => true);
SELECT steward.add_transition('m363', 'x', 'a');
UPDATE m363_t1 SET st = 'x';
UPDATE m363_t2 SET st = 'x' WHERE id = 1;
SELECT steward.drop_transition('m363', 'x', 'a');
SELECT steward.drop_transition('m363', 'a', 'x');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE m363_t1, m363_t2;
SELECT steward.drop_state_machine('m363');
