-- mach17: steward.add_transition accepted a new state longer than an
-- attached varchar(n) state column stores (a later UPDATE to it failed
-- with 22001, or, past n in spaces only, stored another state), and
-- attach_state_machine attached such a machine.  Both now refuse it as
-- ALTER COLUMN ... TYPE does (42804, DETAIL the states, HINT the shortest
-- varchar that keeps them), on every attached table, partitions included.
-- And drop_transition's 2BP01 quotes the state it names.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

SELECT steward.create_state_machine('m17', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE m17_wide (id int PRIMARY KEY, st text NOT NULL) USING steward;
CREATE TABLE m17_t (id int PRIMARY KEY, st varchar(4) NOT NULL) USING steward;
CREATE TABLE m17_p (id int, st varchar(5) NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE m17_p1 PARTITION OF m17_p FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.attach_state_machine('m17_wide', 'st', 'm17');
SELECT steward.attach_state_machine('m17_t', 'st', 'm17');
SELECT steward.attach_state_machine('m17_p', 'st', 'm17');
INSERT INTO m17_t VALUES (1, 'a');
INSERT INTO m17_p VALUES (1, 'a');

-- 'on_hold' (7 characters) fits neither varchar(4) nor varchar(5):
-- refused before the NOTICE of a new state, the machine unchanged.
SELECT steward.add_transition('m17', 'a', 'on_hold', new_state => true);
\echo :LAST_ERROR_SQLSTATE
SELECT states, transitions FROM steward.machine_definitions WHERE name = 'm17';
-- 'held ' (5, a trailing space) would be stored as 'held' in varchar(4).
SELECT steward.add_transition('m17', 'a', 'held ', new_state => true);
\echo :LAST_ERROR_SQLSTATE
-- The partitioned table's column alone too.
ALTER TABLE m17_t ALTER COLUMN st TYPE varchar(7);
SELECT steward.add_transition('m17', 'a', 'on_hold', new_state => true);
\echo :LAST_ERROR_SQLSTATE
-- With room everywhere: added, and the rows move to it.
ALTER TABLE m17_p ALTER COLUMN st TYPE varchar(7);
SELECT steward.add_transition('m17', 'a', 'on_hold', new_state => true);
UPDATE m17_t SET st = 'on_hold' WHERE id = 1 RETURNING id, st;
UPDATE m17_p SET st = 'on_hold' WHERE id = 1 RETURNING id, st;
-- A declared state needs no room check: an edge between them is added.
SELECT steward.add_transition('m17', 'on_hold', 'b');

-- attach_state_machine of a machine with a state longer than the column.
CREATE TABLE m17_u (id int PRIMARY KEY, st varchar(3) NOT NULL) USING steward;
SELECT steward.attach_state_machine('m17_u', 'st', 'm17');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 'm17_u'::regclass;
ALTER TABLE m17_u ALTER COLUMN st TYPE varchar(7);
SELECT steward.attach_state_machine('m17_u', 'st', 'm17');

-- drop_transition's 2BP01 names the state quoted.
SELECT steward.add_transition('m17', 'b', 'c', new_state => true);
SELECT steward.set_state_check('m17_wide', 'c', 'SELECT 0');
SELECT steward.drop_transition('m17', 'b', 'c');
\echo :LAST_ERROR_SQLSTATE

DROP TABLE m17_wide, m17_t, m17_p, m17_u;
SELECT steward.drop_state_machine('m17');
