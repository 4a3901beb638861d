-- closing38 item 4 (mach12), readme38 L9: a rule row written by hand
-- (INSERT, or an UPDATE of its attname) naming no column of its relation
-- was accepted silently; the write path ignores it, so nothing was
-- enforced until verify() or run_transition said so.  Now the statement
-- gets a WARNING with the DELETE that removes it.  verify()'s details
-- of rows stored past the rules said "1 rows in states m does not declare".
-- Rule and check rows written under session_replication_role = replica
-- left the labels (the rules in dumps) and a deleted rule's checks as
-- they were.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('r204_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r204_t (id int PRIMARY KEY, st text, v bigint) USING steward;

-- 1. A state rule naming no column: WARNING, the row is kept, nothing
--    enforced (an undeclared state goes in).
INSERT INTO steward.column_rules (relid, attname, kind, machine)
VALUES ('r204_t', 'nocol', 'state', 'r204_m');
INSERT INTO r204_t VALUES (1, 'zz');
SELECT attname, kind FROM steward.column_rules WHERE relid = 'r204_t'::regclass;
-- The HINT's statement removes it.
DELETE FROM steward.column_rules WHERE relid = 'public.r204_t'::regclass AND attname = 'nocol';
-- A version rule, and a rule moved to a missing column.
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r204_t', 'ver', 'version');
DELETE FROM steward.column_rules WHERE relid = 'r204_t'::regclass;
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r204_t', 'v', 'version');
UPDATE steward.column_rules SET attname = 'vv' WHERE relid = 'r204_t'::regclass AND attname = 'v';
-- A system column is no column a rule can name either.
UPDATE steward.column_rules SET attname = 'ctid' WHERE relid = 'r204_t'::regclass AND attname = 'vv';
DELETE FROM steward.column_rules WHERE relid = 'r204_t'::regclass;
-- A state rule's changed_at naming no column: nothing would be stamped.
INSERT INTO steward.column_rules (relid, attname, kind, machine, changed_at)
VALUES ('r204_t', 'st', 'state', 'r204_m', 'stamped');
UPDATE steward.column_rules SET changed_at = 'stamped2' WHERE relid = 'r204_t'::regclass;
UPDATE steward.column_rules SET changed_at = NULL WHERE relid = 'r204_t'::regclass;
DELETE FROM steward.column_rules WHERE relid = 'r204_t'::regclass;
-- Rows naming real columns, and an UPDATE leaving attname alone: no WARNING.
INSERT INTO steward.column_rules (relid, attname, kind, machine)
VALUES ('r204_t', 'st', 'state', 'r204_m');
UPDATE steward.column_rules SET created_at = created_at WHERE relid = 'r204_t'::regclass;
SELECT attname, kind FROM steward.column_rules WHERE relid = 'r204_t'::regclass;
DELETE FROM steward.column_rules WHERE relid = 'r204_t'::regclass;
TRUNCATE r204_t;

-- 2. verify()'s counts: "1 row in a state", "2 rows in states", "1 row
--    with a version below 1", "2 rows with a version below 1".
SELECT steward.attach_state_machine('r204_t', 'st', 'r204_m');
SELECT steward.track_versions('r204_t', 'v');
INSERT INTO r204_t VALUES (1, 'a');
SET session_replication_role = replica;
INSERT INTO r204_t VALUES (2, 'zz', 0);
RESET session_replication_role;
SELECT "check", passed, detail FROM steward.verify('r204_t') WHERE NOT passed ORDER BY 1;
SET session_replication_role = replica;
INSERT INTO r204_t VALUES (3, 'yy', -1);
RESET session_replication_role;
SELECT "check", passed, detail FROM steward.verify('r204_t') WHERE NOT passed ORDER BY 1;

DROP TABLE r204_t;

-- 3. Rule and check rows written under session_replication_role = replica
--    (a dump loaded so, a superuser's edit): the labels, which carry the
--    rules in dumps, follow, and a deleted state rule takes its checks.
--    Before, a deleted rule kept its label (a dump of the table brought
--    it back) and its checks, and an inserted rule had no label.
CREATE TABLE r204_r (id int PRIMARY KEY, st text, v bigint) USING steward;
SELECT steward.attach_state_machine('r204_r', 'st', 'r204_m');
SELECT steward.set_state_check('r204_r', 'b', 'SELECT true');
SELECT a.attname, l.label::jsonb ? 'checks' AS has_checks
  FROM pg_seclabel l JOIN pg_attribute a ON a.attrelid = l.objoid AND a.attnum = l.objsubid
 WHERE l.objoid = 'r204_r'::regclass AND l.provider = 'steward' ORDER BY 1;
SET session_replication_role = replica;
DELETE FROM steward.column_rules WHERE relid = 'r204_r'::regclass;
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r204_r', 'v', 'version');
RESET session_replication_role;
SELECT a.attname, l.label::jsonb ->> 'kind' AS kind
  FROM pg_seclabel l JOIN pg_attribute a ON a.attrelid = l.objoid AND a.attnum = l.objsubid
 WHERE l.objoid = 'r204_r'::regclass AND l.provider = 'steward' ORDER BY 1;
SELECT count(*) AS checks FROM steward.state_checks WHERE relid = 'r204_r'::regclass;
-- A check written so rewrites its column's label too.
SELECT steward.attach_state_machine('r204_r', 'st', 'r204_m');
SET session_replication_role = replica;
INSERT INTO steward.state_checks (relid, state, check_sql)
VALUES ('r204_r', 'b', 'SELECT 1 = 1');
RESET session_replication_role;
SELECT l.label::jsonb -> 'checks' AS checks
  FROM pg_seclabel l JOIN pg_attribute a ON a.attrelid = l.objoid AND a.attnum = l.objsubid
 WHERE l.objoid = 'r204_r'::regclass AND l.provider = 'steward' AND a.attname = 'st';
DROP TABLE r204_r;

-- 4. The refusals of stored rows count the same way: "(1 row)", "has 1
--    row with a version below 1", "holds 1 value" (they said "1 rows",
--    "1 values").
CREATE TABLE r204_s (id int PRIMARY KEY, st text, v bigint) USING steward;
INSERT INTO r204_s VALUES (1, 'zz', 0), (2, 'yy', 5), (3, 'yy', 5);
SELECT steward.attach_state_machine('r204_s', 'st', 'r204_m');
SELECT steward.track_versions('r204_s', 'v');
SECURITY LABEL FOR steward ON COLUMN r204_s.v IS '{"v": 1, "kind": "version"}';
DELETE FROM r204_s WHERE id IN (2, 3);
DO $$ BEGIN EXECUTE format('SECURITY LABEL FOR steward ON COLUMN r204_s.st IS %L',
    jsonb_build_object('v', 1, 'kind', 'state', 'machine', 'r204_m', 'states', jsonb_build_array('a', 'b'),
                       'initial', jsonb_build_array('a'), 'transitions', jsonb_build_array('a->b'))); END $$;
DROP TABLE r204_s;
SELECT steward.drop_state_machine('r204_m');
