-- review23 R5 (mach15): a rule row written into steward.column_rules whose
-- relid names no relation was kept without a word, under origin and under
-- replica, and steward.tracked_columns did not list it (a relation created
-- later with that OID deletes it: _rules_on_create).  Now a statement under origin is
-- refused 42P01 (a restore names the table, which regclass's input
-- resolves); under replica the row is stored as sent with a WARNING, and
-- tracked_columns lists it, enforced = f, with the DELETE.
-- review23 R6: detach_state_machine and untrack of a column the table does
-- not have say 42703, as core does (was 42704 "has no state machine
-- attached" / "is not tracked"); a rule naming a system column, as its
-- column or as changed_at, says so; require_machine_usage's HINT names a
-- superuser when the machine's owner no longer exists.  mach14's finding:
-- a TRUNCATE of steward.column_rules is refused.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r235_user;
RESET client_min_messages;
SELECT steward.create_state_machine('r235_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r235_t (id int, st text, n int) USING steward;

-- 1. A relid naming no relation.
SELECT count(*) FROM pg_class WHERE oid = 999998;
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES (999998, 'st', 'state', 'r235_m');
\echo :LAST_ERROR_SQLSTATE
-- An UPDATE moving a rule there too.
SELECT steward.track_sequence('r235_t', 'n');
UPDATE steward.column_rules SET relid = 999998 WHERE relid = 'r235_t'::regclass;
SELECT attname, kind FROM steward.column_rules WHERE relid = 'r235_t'::regclass;
SELECT steward.untrack('r235_t', 'n');
-- Under replica (a superuser's edit, a dump loaded so): stored as sent,
-- with a WARNING.
SET session_replication_role = replica;
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES (999998, 'st', 'state', 'r235_m');
RESET session_replication_role;
SELECT relid::oid, column_name, kind, data_type, enforced, machine, problem
  FROM steward.tracked_columns WHERE relid::oid = 999998;
DELETE FROM steward.column_rules WHERE relid::oid = 999998;
SELECT count(*) FROM steward.tracked_columns WHERE relid::oid = 999998;

-- 2. A column the table does not have: 42703 (a system column: 0A000).
SELECT steward.detach_state_machine('r235_t', 'nocol');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.untrack('r235_t', 'nocol');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.untrack('r235_t', 'xmin');
\echo :LAST_ERROR_SQLSTATE
-- A column the table has, with no rule: 42704 as before.
SELECT steward.detach_state_machine('r235_t', 'st');
SELECT steward.untrack('r235_t', 'st');
-- A hand-written rule on a missing column is still removed by untrack.
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r235_t', 'nocol', 'sequence');
SELECT steward.untrack('r235_t', 'nocol');
SELECT count(*) FROM steward.column_rules WHERE relid = 'r235_t'::regclass;

-- 3. System columns named by a rule row.
INSERT INTO steward.column_rules (relid, attname, kind, machine, changed_at)
VALUES ('r235_t', 'st', 'state', 'r235_m', 'ctid');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r235_t', 'xmin', 'sequence');
SELECT column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid = 'r235_t'::regclass ORDER BY column_name;
SELECT "check", passed, detail FROM steward.verify('r235_t')
 WHERE "check" ~ '^(states|sequence|changed_at)' ORDER BY "check";
DELETE FROM steward.column_rules WHERE relid = 'r235_t'::regclass;

-- 4. A machine whose owner no longer exists (a restore without its role):
--    the HINT names a superuser, who may still grant it.
UPDATE steward.machine_definitions SET owner = 999997 WHERE name = 'r235_m';
CREATE ROLE r235_user;
GRANT CREATE ON SCHEMA public TO r235_user;
SET ROLE r235_user;
CREATE TABLE r235_u (st text) USING steward;
SELECT steward.attach_state_machine('r235_u', 'st', 'r235_m');
RESET ROLE;
SELECT steward.grant_state_machine('r235_m', 'r235_user');
SET ROLE r235_user;
SELECT steward.attach_state_machine('r235_u', 'st', 'r235_m');
DROP TABLE r235_u;
RESET ROLE;

-- 5. (mach14's finding) A TRUNCATE of the catalog fires no row trigger:
--    it would drop the rule of steward.migration_runs.phase, which a
--    DELETE may not, and leave the cached rules and labels.  Refused.
TRUNCATE steward.column_rules;
\echo :LAST_ERROR_SQLSTATE
SELECT attname, machine FROM steward.column_rules
 WHERE relid = 'steward.migration_runs'::regclass;

DROP TABLE r235_t;
UPDATE steward.machine_definitions SET owner = current_user::regrole WHERE name = 'r235_m';
SELECT steward.drop_state_machine('r235_m');
REVOKE CREATE ON SCHEMA public FROM r235_user;
DROP ROLE r235_user;
