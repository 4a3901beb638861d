-- msg6 item 3: the check names of verify() and migration_validate() and
-- the lines of migration_forget() named some objects as SQL writes them
-- (a table or an index through regclass: "backfill public.t", "unique
-- public.t_pkey", a column with %I: "states st") and others bare: an index
-- step's index and a new unique key ("index ix_t_a", "unique t_code_key",
-- no schema), a constraint, trigger or column ("foreign key Inv Ref FK",
-- "dropped NOT VALID constraint Inv_cents_not_null", unquoted).  Now an
-- index is schema-qualified and every name is quoted where SQL needs it,
-- as quote_qualified_identifier and format('%I') write them.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA "Msg6 S";
CREATE TABLE "Msg6 S"."Par" (id int PRIMARY KEY);
INSERT INTO "Msg6 S"."Par" VALUES (1), (2);
CREATE TABLE "Msg6 S"."Inv" (id int PRIMARY KEY, amt numeric(12,2) NOT NULL, ref int,
                             CONSTRAINT "Inv Ref FK" FOREIGN KEY (ref) REFERENCES "Msg6 S"."Par",
                             CONSTRAINT "Inv Once" EXCLUDE USING steward_hash (id WITH =)) USING steward;
INSERT INTO "Msg6 S"."Inv" VALUES (1, 1.25, 1), (2, 2.5, 2);
-- verify: the constraints quoted, the index qualified.
SELECT "check", passed FROM steward.verify('"Msg6 S"."Inv"')
 WHERE "check" ~ '^(unique|exclusion|foreign key) ' ORDER BY 1;
-- migration_validate: a new unique key's and an index step's index,
-- qualified and quoted.
SELECT steward.migration_start('m353', '[
  {"add_column": {"table": "\"Msg6 S\".\"Inv\"", "column": "Code", "type": "text", "up": "''c'' || id", "unique": true}}]');
CALL steward.migration_backfill('m353');
SELECT "check", passed FROM steward.migration_validate('m353') WHERE "check" ~ '^unique ';
SELECT steward.migration_rollback('m353');
SELECT steward.migration_start('m353i', '[
  {"create_index": {"table": "\"Msg6 S\".\"Inv\"", "name": "Inv By Amt", "definition": "(amt)"}}]');
CALL steward.migration_backfill('m353i');
SELECT "check", passed FROM steward.migration_validate('m353i') WHERE "check" ~ '^index ';
SELECT steward.migration_rollback('m353i');
-- migration_forget: a table restored without its migration's record
-- (the records deleted here): the trigger and the NOT VALID constraint
-- quoted.
SELECT steward.migration_start('m353b', '[{"alter_column": {"table": "\"Msg6 S\".\"Inv\"", "column": "amt",
    "name": "cents", "type": "bigint", "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}]');
DELETE FROM steward.migration_columns WHERE migration = 'm353b';
DELETE FROM steward.migration_tables WHERE migration = 'm353b';
SELECT * FROM steward.migration_forget('"Msg6 S"."Inv"');
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m353', 'm353i', 'm353b');
\i test/sql/drop_migration_records.sql
DROP SCHEMA "Msg6 S" CASCADE;
