-- Lead's stop-40 item 5 (mach14): the rule of steward.migration_runs.phase
-- (machine data_lifecycle, stamping phase_changed_at) keeps the migration
-- records' phases on the machine's edges; detach_state_machine refuses to
-- remove it (review19 F2), but a superuser's DELETE (or UPDATE) of its row
-- in steward.column_rules removed it silently.  Now both are refused
-- 55000 like the detach; the rule stays.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.detach_state_machine('steward.migration_runs', 'phase');
DELETE FROM steward.column_rules WHERE relid = 'steward.migration_runs'::regclass;
UPDATE steward.column_rules SET changed_at = NULL WHERE relid = 'steward.migration_runs'::regclass;
UPDATE steward.column_rules SET attname = 'status' WHERE relid = 'steward.migration_runs'::regclass;
-- An UPDATE that changes none of what the rule is passes.
UPDATE steward.column_rules SET created_at = created_at WHERE relid = 'steward.migration_runs'::regclass;
SELECT attname, kind, machine, changed_at FROM steward.column_rules
 WHERE relid = 'steward.migration_runs'::regclass;
-- Still enforced: a record cannot skip phases.
INSERT INTO steward.migration_runs (name, steps, phase) VALUES ('r223', '[]', 'new');
UPDATE steward.migration_runs SET phase = 'validated' WHERE name = 'r223';
DELETE FROM steward.migration_runs WHERE name = 'r223';
