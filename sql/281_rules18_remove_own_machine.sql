-- rules18 item 2: detach_state_machine of a partition's own machine
-- checks the rows it hands to the nearest ancestor's machine (rules17,
-- sql/261), but the other ways of removing that rule did not: a NULL
-- security label, steward.untrack, a superuser's DELETE or UPDATE of the
-- rule row kept rows in states the ancestor's machine does not declare,
-- and verify(root) then failed.  Every one now runs the same check (the
-- rules table's row trigger), 23514 naming the values.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('r281_root', ARRAY['a', 'b', 'x'], ARRAY['a'], ARRAY['a->b', 'x->b']);
SELECT steward.create_state_machine('r281_leaf', ARRAY['x', 'y'], ARRAY['x'], ARRAY['x->y', 'y->x']);
SELECT steward.create_state_machine('r281_mid', ARRAY['m', 'n'], ARRAY['m'], ARRAY['m->n']);
-- r281 (r281_root) -> r281_own (r281_leaf)
--                  -> r281_mid (r281_mid) -> r281_deep (none)
--                                         -> r281_deep_own (r281_leaf)
CREATE TABLE r281 (id int, st text, note text) PARTITION BY RANGE (id);
CREATE TABLE r281_own PARTITION OF r281 FOR VALUES FROM (0) TO (100) USING steward;
CREATE TABLE r281_mid PARTITION OF r281 FOR VALUES FROM (200) TO (400) PARTITION BY RANGE (id);
CREATE TABLE r281_deep PARTITION OF r281_mid FOR VALUES FROM (200) TO (300) USING steward;
CREATE TABLE r281_deep_own PARTITION OF r281_mid FOR VALUES FROM (300) TO (400) USING steward;
SELECT steward.attach_state_machine('r281', 'st', 'r281_root');
SELECT steward.attach_state_machine('r281_own', 'st', 'r281_leaf');
SELECT steward.attach_state_machine('r281_mid', 'st', 'r281_mid');
SELECT steward.attach_state_machine('r281_deep_own', 'st', 'r281_leaf');
INSERT INTO r281 VALUES (1, 'x'), (2, 'x'), (201, 'm'), (301, 'x');
UPDATE r281 SET st = 'y' WHERE id IN (1, 2, 301);

-- 1. r281_own's rows hold 'y', which r281_root does not declare: every
-- way of removing its own rule is refused, the rule stays.
SECURITY LABEL FOR steward ON COLUMN r281_own.st IS NULL;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM steward.column_rules WHERE relid = 'r281_own'::regclass AND attname = 'st';
\echo :LAST_ERROR_SQLSTATE
UPDATE steward.column_rules SET attname = 'note' WHERE relid = 'r281_own'::regclass AND attname = 'st';
\echo :LAST_ERROR_SQLSTATE
SELECT steward.untrack('r281_own', 'st');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.detach_state_machine('r281_own', 'st');
\echo :LAST_ERROR_SQLSTATE
SELECT relid, column_name, machine FROM steward.tracked_columns
 WHERE relid::text LIKE 'r281%' ORDER BY relid::text COLLATE "C";
SELECT "check", passed FROM steward.verify('r281') WHERE "check" LIKE '%states%' ORDER BY 1;

-- 2. An UPDATE that keeps a state rule on the column (another machine)
-- is no removal: not this check's (here r281_leaf again, unchanged).
UPDATE steward.column_rules SET machine = 'r281_leaf' WHERE relid = 'r281_own'::regclass AND attname = 'st';

-- 3. A partitioned partition: removing r281_mid's rule hands r281_deep's
-- rows ('m') to r281_root, not r281_deep_own's (under its own machine):
-- refused naming 'm' alone, by the label and by the DELETE.
SECURITY LABEL FOR steward ON COLUMN r281_mid.st IS NULL;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM steward.column_rules WHERE relid = 'r281_mid'::regclass;
\echo :LAST_ERROR_SQLSTATE

-- 4. Rows in states r281_root declares: each way passes, and verify()
-- holds.
UPDATE r281 SET st = 'x' WHERE id = 1;
DELETE FROM r281 WHERE id = 2;
DELETE FROM r281_deep;
SECURITY LABEL FOR steward ON COLUMN r281_own.st IS NULL;
DELETE FROM steward.column_rules WHERE relid = 'r281_mid'::regclass;
SELECT relid, column_name, machine FROM steward.tracked_columns
 WHERE relid::text LIKE 'r281%' ORDER BY relid::text COLLATE "C";
SELECT "check", passed FROM steward.verify('r281') WHERE "check" LIKE '%states%' ORDER BY 1;
SELECT steward.attach_state_machine('r281_own', 'st', 'r281_leaf');
UPDATE r281 SET st = 'y' WHERE id = 1;
SELECT steward.untrack('r281_own', 'st');
\echo :LAST_ERROR_SQLSTATE
UPDATE r281 SET st = 'x' WHERE id = 1;
SELECT steward.untrack('r281_own', 'st');

-- 5. Dropping a partition whose rows the ancestor's machine would refuse
-- deletes its rule rows without the check (the rows go with it).
CREATE TABLE r281_gone PARTITION OF r281 FOR VALUES FROM (500) TO (600) USING steward;
SELECT steward.attach_state_machine('r281_gone', 'st', 'r281_leaf');
INSERT INTO r281 VALUES (501, 'x');
UPDATE r281 SET st = 'y' WHERE id = 501;
DROP TABLE r281_gone;
SELECT count(*) FROM steward.column_rules WHERE relid::text LIKE 'r281%';

DROP TABLE r281;
SELECT steward.drop_state_machine(m) FROM unnest(ARRAY['r281_root', 'r281_leaf', 'r281_mid']) m;
