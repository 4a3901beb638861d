-- closing37 item 3 (mach9).
-- 1. A state rule whose column name names no column (a hand edit of
--    steward.column_rules, a rename in single-user mode): set_state_check
--    passed silently, run_transition failed 42703 on a query it built, and
--    with the machine malformed both raised XX000 "cache lookup failed for
--    attribute 0" (codereview7 G).  Now both refuse 55000 with the DELETE
--    that removes the rule.
-- 2. A rule written under session_replication_role = replica reset no
--    cached rules: the session kept enforcing what it had cached (a new
--    rule unenforced, a deleted one still enforced).
-- 3. A 9th state rule (the cap, sql/186) arriving by a label or a row
--    written into the catalog: a label on a table that stores rows is
--    refused 54000; a label on an empty table (a restore) and a catalog row
--    keep the rule with a WARNING, and the table refuses writes.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- 1. A rule naming no column.
CREATE TABLE r191_g (id int PRIMARY KEY, st text) USING steward;
SELECT steward.create_state_machine('r191_gm', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('r191_g', 'st', 'r191_gm');
INSERT INTO r191_g VALUES (1, 'a');
UPDATE steward.column_rules SET attname = 'ghost' WHERE relid = 'r191_g'::regclass;
SELECT steward.set_state_check('r191_g', 'b', 'SELECT 0');
CALL steward.run_transition('r191_g', 'a', 'b');
SELECT count(*) AS checks FROM steward.state_checks WHERE relid = 'r191_g'::regclass;
-- The same with the machine malformed (XX000 before).
UPDATE steward.machine_definitions SET initial = '{nonexistent}' WHERE name = 'r191_gm';
SELECT steward.set_state_check('r191_g', 'b', 'SELECT 0');
CALL steward.run_transition('r191_g', 'a', 'b');
UPDATE steward.machine_definitions SET initial = '{a}' WHERE name = 'r191_gm';
-- The HINT's statement works; the machine attaches to the column again.
DELETE FROM steward.column_rules WHERE relid = 'public.r191_g'::regclass AND attname = 'ghost';
SELECT steward.attach_state_machine('r191_g', 'st', 'r191_gm');
SELECT steward.set_state_check('r191_g', 'b', 'SELECT 0');
DROP TABLE r191_g;

-- 2. Rules written under replica reach the cached rules.
CREATE TABLE r191_r (id int PRIMARY KEY, st text) USING steward;
INSERT INTO r191_r VALUES (1, 'zzz');    -- caches "no rule"
DELETE FROM r191_r;
SET session_replication_role = replica;
INSERT INTO steward.column_rules (relid, attname, kind, machine)
  VALUES ('r191_r', 'st', 'state', 'r191_gm');
RESET session_replication_role;
INSERT INTO r191_r VALUES (2, 'zzz');    -- refused: the rule is enforced
INSERT INTO r191_r VALUES (2, 'a');
UPDATE r191_r SET st = 'zzz' WHERE id = 2;
SET session_replication_role = replica;
DELETE FROM steward.column_rules WHERE relid = 'r191_r'::regclass;
RESET session_replication_role;
UPDATE r191_r SET st = 'zzz' WHERE id = 2;   -- no rule any more
SELECT id, st FROM r191_r ORDER BY id;
DROP TABLE r191_r;

-- 3. The 9th rule by a label or a catalog row.
CREATE TABLE r191_c (id int PRIMARY KEY, s1 text, s2 text, s3 text, s4 text,
                     s5 text, s6 text, s7 text, s8 text, s9 text) USING steward;
SELECT count(*) FROM (SELECT steward.attach_state_machine('r191_c', 's' || i, 'r191_gm')
                      FROM generate_series(1, 8) i) x;
SELECT l.label AS lbl FROM pg_seclabel l
 WHERE l.objoid = 'r191_c'::regclass AND l.objsubid = 2 AND l.provider = 'steward' \gset
INSERT INTO r191_c VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
-- A label on a table that stores rows: refused, nothing written.
SECURITY LABEL FOR steward ON COLUMN r191_c.s9 IS :'lbl';
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 'r191_c'::regclass;
INSERT INTO r191_c VALUES (2, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz');
-- A label on a table that stores no row (as a restore labels it): kept,
-- with a WARNING; writes are refused until one is detached.
TRUNCATE r191_c;
SECURITY LABEL FOR steward ON COLUMN r191_c.s9 IS :'lbl';
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 'r191_c'::regclass;
INSERT INTO r191_c VALUES (3, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
SELECT steward.detach_state_machine('r191_c', 's9');
-- A row written into the catalog (a data-only restore, a hand edit):
-- kept, with a WARNING (under replica too: sql/186).
INSERT INTO steward.column_rules (relid, attname, kind, machine)
  VALUES ('r191_c', 's9', 'state', 'r191_gm');
INSERT INTO r191_c VALUES (3, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
DELETE FROM steward.column_rules WHERE relid = 'r191_c'::regclass AND attname = 's9';
-- A rule of another kind made a state rule by hand counts too.
INSERT INTO steward.column_rules (relid, attname, kind)
  VALUES ('r191_c', 's9', 'sequence');
UPDATE steward.column_rules SET kind = 'state', machine = 'r191_gm'
 WHERE relid = 'r191_c'::regclass AND attname = 's9';
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 'r191_c'::regclass AND kind = 'state';
-- Below the cap no WARNING: detach one, and the label path attaches s9.
SELECT steward.detach_state_machine('r191_c', 's9');
SELECT steward.detach_state_machine('r191_c', 's8');
SECURITY LABEL FOR steward ON COLUMN r191_c.s9 IS :'lbl';
INSERT INTO r191_c VALUES (3, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz', 'a');
INSERT INTO r191_c VALUES (4, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz');
SELECT id, s8, s9 FROM r191_c ORDER BY id;
DROP TABLE r191_c;
SELECT steward.drop_state_machine('r191_gm');
