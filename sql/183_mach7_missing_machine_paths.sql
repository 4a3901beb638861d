-- review19 F1/F2 (mach7).  F1: run_transition and set_state_check on a
-- table whose state rule names a missing or malformed machine raised XX000
-- ("state machine ... is missing", check_edge) where a plain UPDATE gets
-- the 55000 with its HINT; now every path gives that 55000 and HINT.
-- F2: a lost built-in data_lifecycle (the rule on steward.migration_runs)
-- made every migration_start fail with a HINT whose two fixes were wrong
-- for the extension's own catalog: detach_state_machine removed the rule
-- for good, create_state_machine made a user's machine.  The HINT now names
-- steward.restore_builtin_machines(), which writes the built-in machines
-- again, and detach_state_machine refuses the extension's own tables.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r183_t (id int PRIMARY KEY, st text, at timestamptz, v int) USING steward;
SELECT steward.create_state_machine('r183_m', ARRAY['a', 'b', 'c'], ARRAY['a'], ARRAY['a->b', 'b->c']);
SELECT steward.attach_state_machine('r183_t', 'st', 'r183_m', 'at');
INSERT INTO r183_t (id, st, v) VALUES (1, 'a', 0), (2, 'a', 0);
-- Healthy machine: the edge checks keep their 22023.
CALL steward.run_transition('r183_t', 'a', 'zz', 'v = v');
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('r183_t', 'b', 'a', 'v = v');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_state_check('r183_t', 'zz', 'SELECT 0');
\echo :LAST_ERROR_SQLSTATE
-- 1. The machine deleted behind the rule's back.
ALTER TABLE steward.machine_definitions DISABLE TRIGGER machine_definitions_attached;
DELETE FROM steward.machine_definitions WHERE name = 'r183_m';
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;
UPDATE r183_t SET st = 'b' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('r183_t', 'a', 'b', 'v = v');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_state_check('r183_t', 'a', 'SELECT 0');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_state_check('r183_t', 'a', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT id, st, v FROM r183_t ORDER BY id;
-- 2. A malformed definition (an edge to an undeclared state).
SELECT steward.create_state_machine('r183_m', ARRAY['a', 'b', 'c'], ARRAY['a'], ARRAY['a->b', 'b->c']);
UPDATE steward.machine_definitions SET transitions = ARRAY['a->zz'] WHERE name = 'r183_m';
CALL steward.run_transition('r183_t', 'a', 'b', 'v = v');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_state_check('r183_t', 'a', 'SELECT 0');
\echo :LAST_ERROR_SQLSTATE
UPDATE steward.machine_definitions SET transitions = ARRAY['a->b', 'b->c'] WHERE name = 'r183_m';
CALL steward.run_transition('r183_t', 'a', 'b', 'v = v + 1');
SELECT id, st, v FROM r183_t ORDER BY id;
-- 3. A partition of a table whose rule is on the parent: the HINT names
-- the parent, where the rule is detached.
CREATE TABLE r183_p (id int, st text, v int, PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE r183_p1 PARTITION OF r183_p FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.attach_state_machine('r183_p', 'st', 'r183_m');
INSERT INTO r183_p VALUES (1, 'a', 0);
ALTER TABLE steward.machine_definitions DISABLE TRIGGER machine_definitions_attached;
DELETE FROM steward.machine_definitions WHERE name = 'r183_m';
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;
CALL steward.run_transition('r183_p1', 'a', 'b', 'v = v');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.detach_state_machine('r183_p', 'st');
DROP TABLE r183_p;
SELECT steward.detach_state_machine('r183_t', 'st');
DROP TABLE r183_t;
-- 4. The built-in data_lifecycle lost: migrations are refused with a HINT
-- naming steward.restore_builtin_machines().
CREATE TABLE r183_so (id bigint PRIMARY KEY, uid bigint, amt int) USING steward;
ALTER TABLE steward.machine_definitions DISABLE TRIGGER machine_definitions_attached;
DELETE FROM steward.machine_definitions WHERE name = 'data_lifecycle';
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;
SELECT steward.migration_start('r183_mig', $$[{"relayout": {"table": "r183_so", "partition_by": "HASH (id)", "partitions": 2}}]$$);
\echo :LAST_ERROR_SQLSTATE
-- verify() names the same way back.
SELECT "check", passed, detail FROM steward.verify('steward.migration_runs') WHERE "check" LIKE 'states%';
-- detach on the extension's own table is refused, whoever asks.
SELECT steward.detach_state_machine('steward.migration_runs', 'phase');
\echo :LAST_ERROR_SQLSTATE
SELECT attname, kind, machine FROM steward.column_rules WHERE relid = 'steward.migration_runs'::regclass;
-- Others may not restore.
CREATE ROLE r183_user;
SET ROLE r183_user;
SELECT steward.restore_builtin_machines();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT steward.restore_builtin_machines();
SELECT steward.restore_builtin_machines();
SELECT name, builtin, owner = (SELECT extowner FROM pg_extension WHERE extname = 'pg_steward')::regrole AS ext_owner,
       usage_roles, array_length(transitions, 1) AS edges
  FROM steward.machine_definitions WHERE name = 'data_lifecycle';
-- 5. A hand edit of the built-in definition is put back.
UPDATE steward.machine_definitions SET transitions = ARRAY['new->pending_backfill'] WHERE name = 'data_lifecycle';
SELECT steward.restore_builtin_machines();
SELECT array_length(transitions, 1) AS edges FROM steward.machine_definitions WHERE name = 'data_lifecycle';
-- 6. A user's machine of that name made while the built-in was lost (the
-- old HINT's advice): taken over when only the extension's tables use it
-- or its definition is the built-in's; refused while a user's column
-- uses another definition.
ALTER TABLE steward.machine_definitions DISABLE TRIGGER machine_definitions_attached;
DELETE FROM steward.machine_definitions WHERE name = 'data_lifecycle';
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;
GRANT CREATE ON SCHEMA public TO r183_user;
SET ROLE r183_user;
SELECT steward.create_state_machine('data_lifecycle', ARRAY['new', 'x'], ARRAY['new'], ARRAY['new->x']);
CREATE TABLE r183_u (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('r183_u', 'st', 'data_lifecycle');
RESET ROLE;
SELECT steward.restore_builtin_machines();
\echo :LAST_ERROR_SQLSTATE
SET ROLE r183_user;
SELECT steward.detach_state_machine('r183_u', 'st');
RESET ROLE;
SELECT steward.restore_builtin_machines();
SELECT name, builtin, owner = (SELECT extowner FROM pg_extension WHERE extname = 'pg_steward')::regrole AS ext_owner,
       usage_roles, array_length(transitions, 1) AS edges
  FROM steward.machine_definitions WHERE name = 'data_lifecycle';
-- The migration starts again.
BEGIN;
SELECT count(*) FROM steward.migration_start('r183_mig', $$[{"relayout": {"table": "r183_so", "partition_by": "HASH (id)", "partitions": 2}}]$$);
SELECT phase FROM steward.migrations WHERE name = 'r183_mig';
ROLLBACK;
DROP TABLE r183_u;
DROP TABLE r183_so;
REVOKE CREATE ON SCHEMA public FROM r183_user;
DROP ROLE r183_user;
