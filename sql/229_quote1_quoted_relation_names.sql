-- quote1: pg_steward's SQL functions print a relation's name inside double
-- quotes as core does (drop6 finding 1, the SQL side): a name the user
-- typed, not found, as core's regclass input error prints it
-- (relation "public.q'T", not "public."q'T""), and a resolved relation by
-- its name as it is (relation "q'T. x é", not ""Sch ""1"."q'T. x é"").
-- Names with a double quote, a single quote, a dot, a space, upper case
-- and a non-ASCII letter, through each message changed.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE SCHEMA "Q1 ""s";
CREATE TABLE "Q1 ""s"."q'T. x é" (id int PRIMARY KEY, v bigint, w bigint, n int, st text, ts timestamptz) USING steward;
INSERT INTO "Q1 ""s"."q'T. x é" VALUES (1, 0, 1, 1, 'x');
CREATE VIEW "Q1 ""s"."V w" AS SELECT 1 AS a;
-- Core's own messages, the forms followed below.
SELECT 'public."q''T"'::regclass;
SELECT '"Q1 ""s"."Gone É. x"'::regclass;
SELECT 'Q1.ÉCOLE'::regclass;

-- Names typed in a migration's steps, not found (before: the text as
-- typed inside the quotes: relation "public."q'T"").
SELECT steward.migration_start('q1_a', $$[{"add_column": {"table": "public.\"q'T\"", "column": "c", "type": "int"}}]$$);
SELECT steward.migration_start('q1_b', $$[{"drop_column": {"table": " \"Q1 \"\"s\" . \"Gone É. x\" ", "column": "c"}}]$$);
SELECT steward.migration_start('q1_c', $$[{"add_column": {"table": "\"Q1 \"\"s\".\"q'T. x é\"", "column": "c", "type": "int", "up": "n", "references": "\"Q1 \"\"s\".\"Gone É. x\""}}]$$);
SELECT steward.migration_start('q1_d', $$[{"create_index": {"table": "Q1.ÉCOLE", "name": "q1_i", "definition": "(n)"}}]$$);
SELECT steward.migration_start('q1_e', $$[{"drop_index": {"name": "\"Q1 \"\"s\".\"Gone É. x\""}}]$$);
SELECT steward.migration_start('q1_f', $$[{"relayout": {"table": "\"Q1 \"\"s\".\"Gone É. x\"", "partition_by": "HASH (id)", "partitions": 2}}]$$);
-- A name core cannot parse keeps core's error (42602), as before.
SELECT steward.migration_start('q1_g', $$[{"add_column": {"table": "public.\"q'T", "column": "c", "type": "int"}}]$$);

-- A resolved relation by its name (before: its regclass output inside the
-- quotes: "Q1 ""s"."V w"").
SELECT steward.migration_start('q1_h', $$[{"add_column": {"table": "\"Q1 \"\"s\".\"V w\"", "column": "c", "type": "int"}}]$$);
SELECT steward.migration_start('q1_i', $$[{"create_index": {"table": "\"Q1 \"\"s\".\"V w\"", "name": "q1_i", "definition": "(a)"}}]$$);
SELECT steward.migration_start('q1_j', $$[{"drop_index": {"name": "\"Q1 \"\"s\".\"q'T. x é\""}}]$$);
SELECT steward.migration_start('q1_k', $$[{"relayout": {"table": "\"Q1 \"\"s\".\"V w\"", "partition_by": "HASH (a)", "partitions": 2}}]$$);
SELECT * FROM steward.checksum_ranges('"Q1 ""s"."q''T. x é"', 'nope', 2);

-- Labels of provider "steward", as a restore writes them (before: the
-- table's regclass output inside the quotes).
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".v IS 'garbage';
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".v IS '{"v": 1, "kind": "nope"}';
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."V w".a IS '{"v": 1, "kind": "version"}';
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".n IS '{"v": 1, "kind": "version"}';
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".v IS '{"v": 1, "kind": "version"}';
UPDATE "Q1 ""s"."q'T. x é" SET v = 1;
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".v IS '{"v": 1, "kind": "version"}';
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".w IS '{"v": 1, "kind": "version"}';
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".st IS '{"v": 1, "kind": "sequence"}';
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".n IS '{"v": 1, "kind": "state", "machine": "q1_m", "states": ["a"], "initial": ["a"], "transitions": []}';
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".st IS '{"v": 1, "kind": "state", "machine": "q1_m", "changed_at": "n", "states": ["a"], "initial": ["a"], "transitions": []}';
SELECT steward.create_state_machine('q1_m', ARRAY['x', 'y'], ARRAY['x'], '{"x->y"}');
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".st IS '{"v": 1, "kind": "state", "machine": "q1_m", "states": ["a"], "initial": ["a"], "transitions": []}';
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".st IS '{"v": 1, "kind": "state", "machine": "q1_n", "states": ["a"], "initial": ["a"], "transitions": []}';
SECURITY LABEL FOR steward ON COLUMN "Q1 ""s"."q'T. x é".st IS '{"v": 1, "kind": "state", "machine": "q1_m", "states": ["x", "y"], "initial": ["x"], "transitions": ["x->y"], "checks": 5}';
-- A restore's rows of the catalogs meeting different rules.
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('"Q1 ""s"."q''T. x é"', 'v', 'sequence');
SELECT steward.attach_state_machine('"Q1 ""s"."q''T. x é"', 'st', 'q1_m');
SELECT steward.set_state_check('"Q1 ""s"."q''T. x é"', 'y', 'SELECT true');
INSERT INTO steward.state_checks VALUES ('"Q1 ""s"."q''T. x é"', 'y', 'SELECT false');
DROP SCHEMA "Q1 ""s" CASCADE;
SELECT steward.drop_state_machine('q1_m');
