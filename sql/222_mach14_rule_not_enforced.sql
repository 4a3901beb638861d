-- readme39 M2 (mach14): a rule row written by hand into
-- steward.column_rules naming a column its table does not have, or one of
-- a type its kind does not check, enforces nothing (the write path skips
-- it; a WARNING at write time for a missing column, none for a type), yet
-- steward.tracked_columns showed it enforced = t and verify() passed (a
-- sequence rule, any wrong type); a changed_at that stamps nothing showed
-- nowhere but in that WARNING.  Now tracked_columns says enforced = f with
-- the reason in its column "problem" (a changed_at stamping nothing:
-- enforced, with the reason), verify() lists each as a failed row with
-- the statement that fixes it, and a wrong type gets a WARNING too.
-- Also (mach13's cap): a table that state machines past the cap of 8
-- reach (kept with a WARNING, writes refused 54000) passed verify(), of
-- itself or of its partitioned parent; now a failed 'state machines' row
-- names the columns.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r222_owner;
RESET client_min_messages;
CREATE ROLE r222_owner;
GRANT CREATE ON SCHEMA public TO r222_owner;
SELECT steward.create_state_machine('r222_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.grant_state_machine('r222_m', 'r222_owner');

-- A table a plain role owns: the view and verify() as that role.
SET ROLE r222_owner;
CREATE TABLE r222_t (id int PRIMARY KEY, v bigint, n int, st text, ist int,
                     at_text text, at_tz timestamptz) USING steward;
SELECT steward.track_versions('r222_t', 'v');
INSERT INTO r222_t VALUES (1, 1, 5, 'a', 1, NULL, NULL);
RESET ROLE;

-- 1. Rows by hand (as a superuser may): a sequence rule on a missing
--    column, a sequence rule on a text column, a state rule on an integer
--    column, a state rule whose changed_at is missing.
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r222_t', 'nocol', 'sequence');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r222_t', 'at_text', 'sequence');
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('r222_t', 'ist', 'state', 'r222_m');
INSERT INTO steward.column_rules (relid, attname, kind, machine, changed_at)
VALUES ('r222_t', 'st', 'state', 'r222_m', 'stamped');

-- Nothing is enforced on ist and at_text: a state outside the machine and a
-- lowered "sequence" go in; the state of st still follows its machine.
UPDATE r222_t SET ist = 42, at_text = '0' WHERE id = 1;
UPDATE r222_t SET st = 'zz' WHERE id = 1;
UPDATE r222_t SET st = 'b' WHERE id = 1;
SELECT id, st, ist, at_text, at_tz FROM r222_t;

SET ROLE r222_owner;
SELECT column_name, kind, data_type, enforced, changed_at_column, problem
  FROM steward.tracked_columns WHERE relid = 'r222_t'::regclass ORDER BY column_name;
SELECT "check", passed, detail FROM steward.verify('r222_t')
 WHERE "check" ~ '^(versions|states|sequence|changed_at)' ORDER BY "check";
RESET ROLE;

-- A changed_at of another type than timestamptz: the same.
UPDATE steward.column_rules SET changed_at = 'at_text' WHERE relid = 'r222_t'::regclass AND attname = 'st';
SELECT column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid = 'r222_t'::regclass AND column_name = 'st';
SELECT "check", passed, detail FROM steward.verify('r222_t') WHERE "check" ~ '^changed_at';
-- The statements verify() gives fix it: afterwards every rule is enforced
-- and verify() passes.
UPDATE steward.column_rules SET changed_at = NULL WHERE relid = 'public.r222_t'::regclass AND attname = 'st';
DELETE FROM steward.column_rules WHERE relid = 'public.r222_t'::regclass AND attname = 'nocol';
DELETE FROM steward.column_rules WHERE relid = 'public.r222_t'::regclass AND attname = 'at_text';
DELETE FROM steward.column_rules WHERE relid = 'public.r222_t'::regclass AND attname = 'ist';
SELECT column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid = 'r222_t'::regclass ORDER BY column_name;
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.verify('r222_t');

-- 2. A version rule on an integer column (the write path checks bigint
--    only): not enforced, a version may go down.
DELETE FROM steward.column_rules WHERE relid = 'r222_t'::regclass AND attname = 'v';
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r222_t', 'n', 'version');
UPDATE r222_t SET n = 1 WHERE id = 1;
SELECT column_name, kind, data_type, enforced, problem FROM steward.tracked_columns
 WHERE relid = 'r222_t'::regclass ORDER BY column_name;
SELECT "check", passed, detail FROM steward.verify('r222_t') WHERE "check" ~ '^versions';
DELETE FROM steward.column_rules WHERE relid = 'r222_t'::regclass;
-- An UPDATE of kind making a text column's state rule a version rule: the
-- same WARNING.
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('r222_t', 'st', 'state', 'r222_m');
UPDATE steward.column_rules SET kind = 'version', machine = NULL WHERE relid = 'r222_t'::regclass;
SELECT column_name, kind, enforced FROM steward.tracked_columns WHERE relid = 'r222_t'::regclass;
DELETE FROM steward.column_rules WHERE relid = 'r222_t'::regclass;

-- 3. A partitioned table: a rule on its parent naming no column is not
--    enforced, the parent's other rule is.
CREATE TABLE r222_p (id int, st text) PARTITION BY RANGE (id);
CREATE TABLE r222_p1 PARTITION OF r222_p FOR VALUES FROM (0) TO (10) USING steward;
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('r222_p', 'stt', 'state', 'r222_m');
SELECT steward.attach_state_machine('r222_p', 'st', 'r222_m');
SELECT relid, column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid = 'r222_p'::regclass ORDER BY column_name;
SELECT "check", passed FROM steward.verify('r222_p') WHERE "check" ~ 'states' ORDER BY "check";

-- 4. Past the cap: a parent with 4 machines and an empty partition with 5
--    of its own are attached with a WARNING (writes refused 54000); verify()
--    of the parent and of the partition list it, and the detach it names
--    brings both back.
CREATE TABLE r222_c (id int, s1 text, s2 text, s3 text, s4 text, s5 text,
                     s6 text, s7 text, s8 text, s9 text) PARTITION BY RANGE (id);
SELECT count(*) FROM (SELECT steward.attach_state_machine('r222_c', 's' || i, 'r222_m')
                        FROM generate_series(1, 4) i) x;
CREATE TABLE r222_c1 (LIKE r222_c) USING steward;
SELECT count(*) FROM (SELECT steward.attach_state_machine('r222_c1', 's' || i, 'r222_m')
                        FROM generate_series(5, 9) i) x;
ALTER TABLE r222_c ATTACH PARTITION r222_c1 FOR VALUES FROM (0) TO (10);
INSERT INTO r222_c VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
SELECT "check", passed, detail FROM steward.verify('r222_c') WHERE "check" ~ 'state machines';
SELECT "check", passed, detail FROM steward.verify('r222_c1') WHERE "check" ~ 'state machines';
SELECT steward.detach_state_machine('r222_c1', 's9');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.verify('r222_c');
-- A 9th rule by hand on a plain table that stores no row: the same.
CREATE TABLE r222_n (id int, s1 text, s2 text, s3 text, s4 text, s5 text,
                     s6 text, s7 text, s8 text, s9 text) USING steward;
SELECT count(*) FROM (SELECT steward.attach_state_machine('r222_n', 's' || i, 'r222_m')
                        FROM generate_series(1, 8) i) x;
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('r222_n', 's9', 'state', 'r222_m');
SELECT "check", passed FROM steward.verify('r222_n') WHERE NOT passed;

DROP TABLE r222_t, r222_p, r222_c, r222_n;
SELECT steward.drop_state_machine('r222_m');
REVOKE CREATE ON SCHEMA public FROM r222_owner;
DROP ROLE r222_owner;
