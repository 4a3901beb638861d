-- newcomer44 N1, N2, N3: what a newcomer following README met.
-- N1: add_transition turns a to_state the machine does not declare into a
-- new state with a NOTICE only, so a typo ('shiped') became a state; the
-- NOTICE's HINT now names the drop_transition that takes it back.  Since
-- mach18 the typo is refused (22023, 351_mach18_add_transition_new_state):
-- a new state needs new_state => true, whose NOTICE keeps that HINT.
-- N2: a migration that ended refused rollback (after cleanup) or any step
-- (after rollback) without a HINT; now the HINT says what to do instead.
-- N3: add_column with not_null and no "up" was accepted at start; its
-- "default" filled no stored row, so the backfill stopped at the first
-- row, and without a default every old-shape INSERT failed with core's
-- 23514.  Now (newcomer44 P1, 346_mig13_add_column_default_fills) the
-- default fills the stored rows and a step with neither is refused.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

-- N1
SELECT steward.create_state_machine('nc44_m', ARRAY['created', 'paid', 'shipped'],
                                    ARRAY['created'], ARRAY['created->paid']);
SELECT steward.add_transition('nc44_m', 'paid', 'shiped');
SELECT states, transitions FROM steward.state_machines WHERE name = 'nc44_m';
SELECT steward.add_transition('nc44_m', 'paid', 'shiped', new_state => true);
SELECT states, transitions FROM steward.state_machines WHERE name = 'nc44_m';
SELECT steward.drop_transition('nc44_m', 'paid', 'shiped');
SELECT states, transitions FROM steward.state_machines WHERE name = 'nc44_m';
-- A quote in the state is spelled as a literal.
SELECT steward.add_transition('nc44_m', 'paid', 'it''s');
SELECT steward.add_transition('nc44_m', 'paid', 'it''s', new_state => true);
SELECT steward.drop_transition('nc44_m', 'paid', 'it''s');
SELECT steward.drop_state_machine('nc44_m');

-- N2
CREATE TABLE nc44_inv (id bigint PRIMARY KEY, amt int NOT NULL) USING steward;
INSERT INTO nc44_inv SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('nc44_rb', $$[
  {"add_column": {"table": "nc44_inv", "column": "note", "type": "text", "up": "'x'"}}]$$);
SELECT steward.migration_rollback('nc44_rb');
CALL steward.migration_backfill('nc44_rb');
SELECT steward.migration_complete('nc44_rb');
SELECT steward.migration_start('nc44_cu', $$[
  {"add_column": {"table": "nc44_inv", "column": "note", "type": "text", "up": "'x'"}}]$$);
CALL steward.migration_backfill('nc44_cu');
SELECT count(*) AS failed FROM steward.migration_validate('nc44_cu') WHERE NOT passed;
SELECT steward.migration_complete('nc44_cu');
SELECT steward.migration_cleanup('nc44_cu');
SELECT steward.migration_rollback('nc44_cu');
SELECT steward.migration_cleanup('nc44_cu');

-- N3: a default alone serves new writes and the stored rows.
SELECT steward.migration_start('nc44_nn', $$[
  {"add_column": {"table": "nc44_inv", "column": "tag", "type": "text", "not_null": true,
                  "default": "'t'"}}]$$);
INSERT INTO nc44_inv (id, amt) VALUES (11, 11);
SELECT id, tag FROM nc44_inv WHERE id IN (1, 11) ORDER BY id;
CALL steward.migration_backfill('nc44_nn');
SELECT count(*) FILTER (WHERE tag = 't') AS filled, count(*) FROM nc44_inv;
SELECT steward.migration_rollback('nc44_nn');
-- Without a default, start refuses the step: nothing changes.
SELECT steward.migration_start('nc44_nn2', $$[
  {"add_column": {"table": "nc44_inv", "column": "tag", "type": "text", "not_null": true}}]$$);
INSERT INTO nc44_inv (id, amt) VALUES (12, 12);
SELECT count(*) FROM nc44_inv;

DROP TABLE nc44_inv;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs
 WHERE name IN ('nc44_rb', 'nc44_cu', 'nc44_nn', 'nc44_nn2');
\i test/sql/drop_migration_records.sql

-- N4: a mistyped state in set_state_check or run_transition named no
-- declared state; the DETAIL lists them, as the write path's message does.
CREATE TABLE nc44_o (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'created') USING steward;
SELECT steward.create_state_machine('nc44_s', ARRAY['created', 'paid'], ARRAY['created'],
                                    ARRAY['created->paid']);
SELECT steward.attach_state_machine('nc44_o', 'status', 'nc44_s');
SELECT steward.set_state_check('nc44_o', 'payd', 'SELECT 0');
CALL steward.run_transition('nc44_o', 'created', 'payd');
CALL steward.run_transition('nc44_o', 'craeted', 'paid');
DROP TABLE nc44_o;
SELECT steward.drop_state_machine('nc44_s');

-- N9: changing the built-in machine, or another role's, named no next step.
SELECT steward.add_transition('data_lifecycle', 'validated', 'archived');
CREATE ROLE nc44_owner;
CREATE ROLE nc44_other;
SET ROLE nc44_owner;
SELECT steward.create_state_machine('nc44_owned', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SET ROLE nc44_other;
SELECT steward.add_transition('nc44_owned', 'b', 'a');
SELECT steward.drop_state_machine('nc44_owned');
RESET ROLE;
SELECT steward.drop_state_machine('nc44_owned');
DROP ROLE nc44_owner, nc44_other;
