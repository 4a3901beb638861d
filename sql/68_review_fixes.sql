-- Fixes of a review of the migration subsystem (fixmig):
-- F7. The C helpers of migrations are executable by PUBLIC: any role may
--     call them with NULLs, null elements, mismatched, empty or
--     multi-dimensional arrays and unknown relations, and gets 22004,
--     22023 or 42P01, never a crash or an internal error.
SET client_min_messages = warning;
CREATE TABLE rf_t (id int) USING steward;
RESET client_min_messages;
CREATE ROLE rf_nobody LOGIN;
SET ROLE rf_nobody;
\set VERBOSITY sqlstate
-- _migration_expr: the crash was a NULL types array.
SELECT steward._migration_expr('rf_t'::regclass, 'x', '{}'::text[], NULL::text[], 'x', 'x', 'x');
SELECT steward._migration_expr('rf_t'::regclass, 'x', NULL::text[], '{}'::text[], 'x', 'x', 'x');
SELECT steward._migration_expr('rf_t'::regclass, NULL, '{}'::text[], '{}'::text[], 'x', 'x', 'x');
SELECT steward._migration_expr('rf_t'::regclass, 'x', '{x}'::text[], '{}'::text[], NULL, NULL, NULL);
SELECT steward._migration_expr('rf_t'::regclass, 'x', '{x}'::text[], '{NULL}'::text[], NULL, NULL, NULL);
SELECT steward._migration_expr('rf_t'::regclass, 'x', '{NULL}'::text[], '{int}'::text[], NULL, NULL, NULL);
SELECT steward._migration_expr('rf_t'::regclass, 'x', '{{x},{y}}'::text[], '{{int},{int}}'::text[], NULL, NULL, NULL);
SELECT steward._migration_expr(NULL, 'x + 1', '{x}'::text[], '{int}'::text[], NULL, NULL, NULL);
SELECT steward._migration_expr(NULL, '1', '{}'::text[], '{}'::text[], NULL, NULL, NULL);
-- _migration_sql
SELECT steward._migration_sql('rf_t'::regclass, '$1', '{a,b}'::text[], '{id}'::text[], NULL);
SELECT steward._migration_sql('rf_t'::regclass, '$1', '{}'::text[], '{id}'::text[], NULL);
SELECT steward._migration_sql('rf_t'::regclass, '$1', '{a}'::text[], '{}'::text[], NULL);
SELECT steward._migration_sql('rf_t'::regclass, '$1', '{a}'::text[], '{NULL}'::text[], NULL);
SELECT steward._migration_sql('rf_t'::regclass, '$1', '{{a}}'::text[], '{{id}}'::text[], NULL);
SELECT steward._migration_sql('rf_t'::regclass, '$1', NULL, '{id}'::text[], NULL);
SELECT steward._migration_sql('rf_t'::regclass, '$1', '{a}'::text[], NULL, NULL);
SELECT steward._migration_sql(NULL, '$1', '{a}'::text[], '{id}'::text[], NULL);
SELECT steward._migration_sql('rf_t'::regclass, NULL, '{a}'::text[], '{id}'::text[], NULL);
SELECT steward._migration_sql(0::regclass, '1', '{}'::text[], '{}'::text[], NULL);
SELECT steward._migration_sql(4294967295::oid::regclass, '1', '{}'::text[], '{}'::text[], NULL);
SELECT steward._migration_sql('rf_t'::regclass, '$1 + 1', '{a}'::text[], '{id}'::text[], 'bigint');
-- _migration_type
SELECT steward._migration_type(NULL, NULL);
SELECT steward._migration_type('int4', NULL);
-- _migration_exec, _relayout_exec, _migration_record
SELECT steward._migration_exec(NULL, 'SELECT 1');
SELECT steward._migration_exec('rf_t'::regclass, NULL);
SELECT steward._migration_exec(0::regclass, 'SELECT 1');
SELECT steward._migration_exec('rf_t'::regclass, 'SELECT 1', '{{a},{NULL}}'::text[], NULL);
SELECT steward._relayout_exec(NULL, 'SELECT 1');
SELECT steward._relayout_exec('rf_t'::regclass, NULL);
SELECT steward._relayout_exec(0::regclass, 'SELECT 1');
SELECT steward._migration_record(NULL, 'm', '{}');
SELECT steward._migration_record('create', NULL, '{}');
SELECT steward._migration_record('create', 'm', NULL);
SELECT steward._migration_record('nonsense', 'm', '{}');
-- _relayout_partition_by
SELECT steward._relayout_partition_by(NULL);
SELECT steward._relayout_partition_by('');
SELECT steward._relayout_partition_by('HASH ()');
-- index helpers
SELECT steward._migration_index_check(NULL, 'x', 'x', 'btree', false);
SELECT steward._migration_index_check('rf_t'::regclass, NULL, 'x', 'btree', false);
SELECT steward._migration_index_check('rf_t'::regclass, 'x', NULL, 'btree', false);
SELECT steward._migration_index_check('rf_t'::regclass, 'x', 'x', NULL, false);
SELECT steward._migration_index_check('rf_t'::regclass, 'x', 'x', 'btree', NULL);
SELECT steward._migration_index_check(0::regclass, 'x', 'x', 'btree', false);
SELECT steward._migration_index_run(NULL, 'rf_t'::regclass, 'x');
SELECT steward._migration_index_run('rf_t'::regclass, NULL, 'x');
SELECT steward._migration_index_run('rf_t'::regclass, 'rf_t'::regclass, NULL);
CALL steward._migration_index_build(NULL, 1, 'rf_t'::regclass, 'x');
CALL steward._migration_index_build('m', NULL, 'rf_t'::regclass, 'x');
CALL steward._migration_index_build('m', 1, NULL, 'x');
CALL steward._migration_index_build('m', 1, 'rf_t'::regclass, NULL);
-- trigger functions are refused outside triggers
SELECT steward._migration_trigger();
SELECT steward._relayout_trigger();
-- the public entry points
SELECT steward.migration_start(NULL, '[]');
SELECT steward.migration_start('m', NULL);
SELECT steward.migration_start('m', '[{"alter_column": null}]');
-- The messages of what used to be internal errors.
\set VERBOSITY terse
SELECT steward._migration_expr('rf_t'::regclass, 'x', '{x}'::text[], '{}'::text[], NULL, NULL, NULL);
SELECT steward._migration_expr('rf_t'::regclass, 'x', '{x}'::text[], '{NULL}'::text[], NULL, NULL, NULL);
SELECT steward._migration_sql('rf_t'::regclass, '$1', '{a,b}'::text[], '{id}'::text[], NULL);
\set VERBOSITY default
RESET ROLE;
SELECT 1 AS alive;
DROP TABLE rf_t;
DROP ROLE rf_nobody;
