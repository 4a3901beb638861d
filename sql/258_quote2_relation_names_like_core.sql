-- quote2: the rest of pg_steward's SQL messages print a relation as core
-- does, its name as it is inside double quotes (relation "My T"), not as
-- its regclass output without them (relation "s p"."My T"), as quote1
-- (229) made the first ones; and a relation name typed in a step whose
-- schema does not exist is core's 3F000 (schema "nosuch" does not exist),
-- not 42P01.  A sample of the messages converted, over a table whose name
-- and schema need quotes.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE SCHEMA "s p";
CREATE TABLE "s p"."My T" (id int PRIMARY KEY, v int, w text);
CREATE INDEX "My I" ON "s p"."My T" (v);
CREATE TABLE "s p"."No Key" (a int);
CREATE FUNCTION "s p".tg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER "My Tg" BEFORE INSERT ON "s p"."My T" FOR EACH ROW EXECUTE FUNCTION "s p".tg();
-- Core's own forms.
ALTER TABLE "s p"."My T" ADD COLUMN v int;
ALTER TABLE "s p"."My T" ALTER COLUMN nope TYPE bigint;

-- Resolved relations (before: relation "s p"."My T", unquoted regclass).
SELECT steward.migration_start('q2_a', $$[{"add_column": {"table": "\"s p\".\"My T\"", "column": "v", "type": "int"}}]$$);
SELECT steward.migration_start('q2_b', $$[{"alter_column": {"table": "\"s p\".\"My T\"", "column": "nope", "type": "bigint", "up": "nope", "down": "nope"}}]$$);
SELECT steward.migration_start('q2_c', $$[{"add_column": {"table": "\"s p\".\"No Key\"", "column": "c", "type": "int"}}]$$);
SELECT steward.migration_start('q2_d', $$[{"alter_column": {"table": "\"s p\".\"My T\"", "column": "v", "name": "x"}}, {"alter_column": {"table": "\"s p\".\"My T\"", "column": "v", "name": "y"}}]$$);
SELECT steward.migration_start('q2_e', $$[{"relayout": {"table": "\"s p\".\"My T\"", "partition_by": "HASH (id)", "partitions": 2}}]$$);
SELECT steward.migration_start('q2_f', $$[{"relayout": {"table": "\"s p\".\"No Key\"", "partition_by": "HASH (a)", "partitions": 2}}]$$);
BEGIN;
SELECT steward.migration_start('q2_g', $$[{"alter_column": {"table": "\"s p\".\"My T\"", "column": "v", "type": "bigint", "up": "v", "down": "v::int"}}]$$);
SELECT steward.migration_start('q2_h', $$[{"add_column": {"table": "\"s p\".\"My T\"", "column": "c", "type": "int"}}]$$);
ROLLBACK;
SELECT * FROM steward._verify_partition('"s p"."My T"', '"s p"."No Key"');

-- A schema that does not exist: 3F000 as core's regclass input gives it,
-- wherever a step names a relation (before: 42P01 relation "nosuch.t").
SELECT 'nosuch.t'::regclass;
SELECT steward.migration_start('q2_i', $$[{"add_column": {"table": "nosuch.t", "column": "c", "type": "int"}}]$$);
SELECT steward.migration_start('q2_j', $$[{"drop_column": {"table": "\"No Such\".\"My T\"", "column": "v"}}]$$);
SELECT steward.migration_start('q2_k', $$[{"add_column": {"table": "\"s p\".\"My T\"", "column": "c", "type": "int", "up": "1", "references": "nosuch.t"}}]$$);
SELECT steward.migration_start('q2_l', $$[{"create_index": {"table": "nosuch.t", "name": "i", "definition": "(a)"}}]$$);
SELECT steward.migration_start('q2_m', $$[{"drop_index": {"name": "nosuch.i"}}]$$);
SELECT steward.migration_start('q2_n', $$[{"relayout": {"table": "nosuch.t", "partition_by": "HASH (id)", "partitions": 2}}]$$);
-- pg_temp is missing too until the session has a temporary schema; then
-- the relation is (42P01), as in core; so is a relation of a schema that
-- exists.
SELECT 'pg_temp.t'::regclass;
SELECT steward.migration_start('q2_o', $$[{"add_column": {"table": "pg_temp.t", "column": "c", "type": "int"}}]$$);
CREATE TEMP TABLE q2_tmp (a int);
SELECT 'pg_temp.t'::regclass;
SELECT steward.migration_start('q2_p', $$[{"add_column": {"table": "pg_temp.t", "column": "c", "type": "int"}}]$$);
SELECT steward.migration_start('q2_q', $$[{"add_column": {"table": "\"s p\".t", "column": "c", "type": "int"}}]$$);
SELECT name FROM steward.migration_runs WHERE name LIKE 'q2\_%';
DROP SCHEMA "s p" CASCADE;
