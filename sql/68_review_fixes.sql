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
-- a record naming no table would let any role take a migration's name
SELECT steward._migration_record('create', 'rf_squat', '{}');
SELECT steward._migration_record('create', 'rf_squat', '{"steps": []}');
SELECT steward._migration_record('create', 'rf_squat', '{"tables": "x"}');
SELECT steward._migration_record('update', 'rf_squat', '{}');
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

-- F2. A relayout of a table in a schema whose name needs quoting ("Sales",
--     "x y") starts, backfills, validates and completes.
-- F3. A second backfill of a unique column in such a schema is a no-op (the
--     index already built is found), and the migration completes.
SET client_min_messages = warning;
CREATE SCHEMA "Sales";
CREATE SCHEMA "x y";
CREATE TABLE "Sales".ord (id bigint GENERATED ALWAYS AS IDENTITY, uid int NOT NULL,
                          PRIMARY KEY (id, uid)) USING steward;
CREATE TABLE "x y".ord (id bigint GENERATED ALWAYS AS IDENTITY, uid int NOT NULL,
                        PRIMARY KEY (id, uid)) USING steward;
RESET client_min_messages;
INSERT INTO "Sales".ord (uid) SELECT g % 7 FROM generate_series(1, 50) g;
INSERT INTO "x y".ord (uid) SELECT g % 5 FROM generate_series(1, 30) g;
SELECT steward.migration_start('f2', $$[{"relayout": {"table": "\"Sales\".ord", "partition_by": "HASH (uid)", "partitions": 2}}]$$);
CALL steward.migration_backfill('f2');
SELECT bool_and(passed) FROM steward.migration_validate('f2');
SELECT steward.migration_complete('f2');
SELECT steward.migration_cleanup('f2');
SELECT phase, result FROM steward.migrations WHERE name = 'f2';
SELECT c.relkind, count(*) FROM "Sales".ord o, pg_class c
 WHERE c.oid = '"Sales".ord'::regclass GROUP BY 1;
SELECT steward.migration_start('f2b', $$[{"relayout": {"table": "\"x y\".ord", "partition_by": "HASH (uid)", "partitions": 2}}]$$);
CALL steward.migration_backfill('f2b');
SELECT bool_and(passed) FROM steward.migration_validate('f2b');
SELECT steward.migration_complete('f2b');
SELECT steward.migration_cleanup('f2b');
SELECT phase, result FROM steward.migrations WHERE name = 'f2b';
SELECT c.relkind, count(*) FROM "x y".ord o, pg_class c
 WHERE c.oid = '"x y".ord'::regclass GROUP BY 1;

SET client_min_messages = warning;
CREATE TABLE "Sales".cust (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                           email text NOT NULL) USING steward;
CREATE TABLE "x y".cust (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                         email text NOT NULL) USING steward;
RESET client_min_messages;
INSERT INTO "Sales".cust (email) SELECT 'u' || g FROM generate_series(1, 100) g;
INSERT INTO "x y".cust (email) SELECT 'u' || g FROM generate_series(1, 100) g;
SELECT steward.migration_start('f3', $$[{"alter_column": {"table": "\"Sales\".cust", "column": "email", "unique": true}}]$$);
CALL steward.migration_backfill('f3');
CALL steward.migration_backfill('f3');
SELECT bool_and(passed) FROM steward.migration_validate('f3');
SELECT steward.migration_complete('f3');
SELECT steward.migration_cleanup('f3');
SELECT phase, result FROM steward.migrations WHERE name = 'f3';
SELECT indexrelid::regclass, indisunique FROM pg_index
 WHERE indrelid = '"Sales".cust'::regclass ORDER BY 1;
-- a column changed (renamed, retyped) in "x y", with a unique index
SELECT steward.migration_start('f3b', $$[{"alter_column": {"table": "\"x y\".cust", "column": "email", "name": "mail",
                                          "type": "varchar(80)", "unique": true}}]$$);
CALL steward.migration_backfill('f3b');
CALL steward.migration_backfill('f3b');
SELECT bool_and(passed) FROM steward.migration_validate('f3b');
SELECT steward.migration_complete('f3b');
SELECT steward.migration_cleanup('f3b');
SELECT phase, result FROM steward.migrations WHERE name = 'f3b';
SELECT count(*), max(mail) FROM "x y".cust;
SELECT indexrelid::regclass, indisunique FROM pg_index
 WHERE indrelid = '"x y".cust'::regclass ORDER BY 1;
SET client_min_messages = warning;
DROP SCHEMA "Sales" CASCADE;
DROP SCHEMA "x y" CASCADE;
RESET client_min_messages;

-- run_transition refuses a table with a rule on UPDATE before it records a
-- run (0A000), instead of failing in the first batch.
SET client_min_messages = warning;
CREATE TABLE rf_rules (id bigint PRIMARY KEY, status text NOT NULL DEFAULT 'new') USING steward;
RESET client_min_messages;
SELECT steward.attach_state_machine('rf_rules', 'status', 'data_lifecycle');
INSERT INTO rf_rules (id) SELECT g FROM generate_series(1, 10) g;
CREATE TABLE rf_audit (id bigint);
CREATE RULE rf_also AS ON UPDATE TO rf_rules DO ALSO INSERT INTO rf_audit VALUES (new.id);
SELECT count(*) AS runs FROM steward.transition_runs WHERE relid = 'rf_rules'::regclass;
CALL steward.run_transition('rf_rules', 'new', 'pending_backfill');
SELECT count(*) AS runs FROM steward.transition_runs WHERE relid = 'rf_rules'::regclass;
DROP RULE rf_also ON rf_rules;
CREATE RULE rf_nothing AS ON UPDATE TO rf_rules DO INSTEAD NOTHING;
\set VERBOSITY sqlstate
CALL steward.run_transition('rf_rules', 'new', 'pending_backfill');
\set VERBOSITY default
SELECT count(*) AS runs FROM steward.transition_runs WHERE relid = 'rf_rules'::regclass;
-- without the rule it runs
DROP RULE rf_nothing ON rf_rules;
CALL steward.run_transition('rf_rules', 'new', 'pending_backfill');
SELECT status, count(*) FROM rf_rules GROUP BY 1;
DROP TABLE rf_rules, rf_audit;

-- Statements SPI cannot run, given to _migration_exec by the table's owner:
-- 0A000, not an internal error.
SET client_min_messages = warning;
CREATE TABLE rf_exec (id int) USING steward;
RESET client_min_messages;
\set VERBOSITY sqlstate
SELECT steward._migration_exec('rf_exec'::regclass, 'COMMIT');
SELECT steward._migration_exec('rf_exec'::regclass, 'COPY public.rf_exec TO STDOUT');
\set VERBOSITY terse
SELECT steward._migration_exec('rf_exec'::regclass, 'COMMIT');
SELECT steward._migration_exec('rf_exec'::regclass, 'SELECT $1::int + 1', '{41}');
\set VERBOSITY default
DROP TABLE rf_exec;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('f2'), ('f2b'), ('f3'), ('f3b');
\i test/sql/drop_migration_records.sql
