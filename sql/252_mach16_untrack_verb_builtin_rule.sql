-- mach16: steward.untrack('t', 'xmin') said "cannot track system column";
-- each function now says what it cannot do (untrack, detach, attach).
-- And steward.restore_builtin_machines() did not bring back the
-- extension's own rule on steward.migration_runs.phase when its row was
-- gone (a DELETE under session_replication_role = replica, which stores
-- rows as sent, while detach_state_machine and a DELETE under origin
-- refuse): it now attaches it again, with a NOTICE.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r252 (id int, st text, at timestamptz) USING steward;
SELECT steward.create_state_machine('r252_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.untrack('r252', 'xmin');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.detach_state_machine('r252', 'ctid');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.track_versions('r252', 'xmin');
SELECT steward.attach_state_machine('r252', 'xmax', 'r252_m');
SELECT steward.attach_state_machine('r252', 'st', 'r252_m', 'cmin');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE r252;
SELECT steward.drop_state_machine('r252_m');

-- The extension's own rule, lost under replica.
SET session_replication_role = replica;
DELETE FROM steward.column_rules WHERE relid = 'steward.migration_runs'::regclass;
RESET session_replication_role;
SELECT count(*) FROM steward.column_rules WHERE relid = 'steward.migration_runs'::regclass;
INSERT INTO steward.migration_runs (name, steps, phase) VALUES ('r252', '[]', 'new');
SELECT * FROM steward.restore_builtin_machines();
SELECT attname, kind, machine, changed_at FROM steward.column_rules
 WHERE relid = 'steward.migration_runs'::regclass;
-- Enforced again: a record cannot skip phases, and phase_changed_at is
-- stamped.
UPDATE steward.migration_runs SET phase = 'validated' WHERE name = 'r252';
\echo :LAST_ERROR_SQLSTATE
UPDATE steward.migration_runs SET phase = 'pending_backfill' WHERE name = 'r252';
SELECT phase, phase_changed_at IS NOT NULL AS stamped FROM steward.migration_runs WHERE name = 'r252';
DELETE FROM steward.migration_runs WHERE name = 'r252';
-- A second call finds the rule and writes nothing.
SELECT * FROM steward.restore_builtin_machines();
SELECT count(*) FROM steward.column_rules WHERE relid = 'steward.migration_runs'::regclass;
