-- closing36 item 3 (mach5): a state rule whose machine is gone (a TRUNCATE
-- or hand edit of steward.machine_definitions, single-user mode, a rule
-- left by 0.1) let every write through: the access method ignored it.
-- Now rows cannot enter or change state in its column (55000, naming the
-- machine, HINT: detach, or create it again); updates that keep the state
-- and changed_at, deletes and reads pass.  Every write to the machines'
-- catalog invalidates the cached rules of the tables with a state rule, so
-- a TRUNCATE reaches a session's cache and a machine created again is
-- enforced at once.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r172_t (id int PRIMARY KEY, st text, at timestamptz, note text) USING steward;
SELECT steward.create_state_machine('r172_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('r172_t', 'st', 'r172_m', 'at');
INSERT INTO r172_t (id, st) VALUES (1, 'a'), (2, 'a');
-- 1. TRUNCATE of the catalog (no row trigger fires): this session's cached
-- rules are invalidated by the catalog's statement trigger.
BEGIN;
TRUNCATE steward.machine_definitions;
INSERT INTO r172_t (id, st) VALUES (3, 'a');
ROLLBACK;
INSERT INTO r172_t (id, st) VALUES (3, 'a');
-- 2. A malformed definition (a hand edit: an edge to an undeclared state).
UPDATE steward.machine_definitions SET transitions = ARRAY['a->zz'] WHERE name = 'r172_m';
INSERT INTO r172_t (id, st) VALUES (4, 'a');
UPDATE r172_t SET st = 'b' WHERE id = 1;
UPDATE steward.machine_definitions SET transitions = ARRAY['a->b'] WHERE name = 'r172_m';
-- 3. The machine deleted behind the rule's back.
ALTER TABLE steward.machine_definitions DISABLE TRIGGER machine_definitions_attached;
DELETE FROM steward.machine_definitions WHERE name = 'r172_m';
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;
\set VERBOSITY sqlstate
INSERT INTO r172_t (id, st) VALUES (4, 'a');
\set VERBOSITY default
INSERT INTO r172_t (id, st) VALUES (4, 'a');
INSERT INTO r172_t (id, st) VALUES (4, 'zzz');
COPY r172_t (id, st) FROM stdin;
4	zzz
\.
UPDATE r172_t SET st = 'b' WHERE id = 1;
UPDATE r172_t SET st = 'zzz' WHERE id = 1;
UPDATE r172_t SET st = NULL WHERE id = 1;
UPDATE r172_t SET at = at + interval '1 day' WHERE id = 1;
INSERT INTO r172_t (id, st) VALUES (1, 'b') ON CONFLICT (id) DO UPDATE SET st = excluded.st;
-- What enters no state passes: an update keeping st and at, a delete, reads.
UPDATE r172_t SET note = 'kept', st = st, at = at WHERE id = 1;
DELETE FROM r172_t WHERE id = 3;
SELECT id, st, note FROM r172_t ORDER BY id;
SELECT "check", passed, detail FROM steward.verify('r172_t') WHERE "check" LIKE 'states%';
-- 4. Created again: enforced at once in this session (its cache was
-- invalidated by the catalog's write).
SELECT steward.create_state_machine('r172_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
INSERT INTO r172_t (id, st) VALUES (4, 'zzz');
INSERT INTO r172_t (id, st) VALUES (4, 'a');
UPDATE r172_t SET st = 'b' WHERE id = 1;
UPDATE r172_t SET st = 'a' WHERE id = 1;
SELECT "check", passed, detail FROM steward.verify('r172_t') WHERE "check" LIKE 'states%';
-- 5. A partitioned table's rule on the parent: a row moving between
-- partitions keeps its state (passes) or changes it (refused, naming the
-- partition it leaves); detaching is the other way out.
CREATE TABLE r172_p (id int, st text) PARTITION BY RANGE (id);
CREATE TABLE r172_p1 PARTITION OF r172_p FOR VALUES FROM (0) TO (10) USING steward;
CREATE TABLE r172_p2 PARTITION OF r172_p FOR VALUES FROM (10) TO (20) USING steward;
SELECT steward.attach_state_machine('r172_p', 'st', 'r172_m');
INSERT INTO r172_p VALUES (1, 'a'), (2, 'a');
ALTER TABLE steward.machine_definitions DISABLE TRIGGER machine_definitions_attached;
DELETE FROM steward.machine_definitions WHERE name = 'r172_m';
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;
INSERT INTO r172_p VALUES (11, 'a');
UPDATE r172_p SET id = 12 WHERE id = 1;
UPDATE r172_p SET id = 13, st = 'b' WHERE id = 2;
SELECT tableoid::regclass, id, st FROM r172_p ORDER BY id;
SELECT steward.detach_state_machine('r172_p', 'st');
SELECT steward.detach_state_machine('r172_t', 'st');
INSERT INTO r172_p VALUES (14, 'zzz');
INSERT INTO r172_t (id, st) VALUES (5, 'zzz');
SELECT count(*) FROM steward.column_rules WHERE machine = 'r172_m';
DROP TABLE r172_t, r172_p;
