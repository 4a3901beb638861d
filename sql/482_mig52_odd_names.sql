-- A column migration as a user with odd inputs runs it (mig52): a
-- schema with a space, quoted and keyword names, a domain type, a
-- generated column, a partitioned table.  start refused an add_column
-- of a domain with CHECKs on a table with rows (mig17) with a HINT
-- whose "check" replaced the word VALUE everywhere in the domain's
-- CHECK, also inside its string literals and quoted names: CHECK (VALUE
-- <> 'NO VALUE') became ("tag" <> 'NO "tag"'), another check that the
-- user would copy.  Now only VALUE outside literals and quoted names
-- becomes the column.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE SCHEMA "s 482";
CREATE DOMAIN "s 482".tag AS text CHECK (VALUE <> 'NO VALUE' AND VALUE <> '"VALUE"');
CREATE DOMAIN "s 482".label AS text;
CREATE TABLE "s 482"."Order Items" (
    "ID" int PRIMARY KEY,
    "select" text,
    qty int,
    price numeric(10,2),
    total int GENERATED ALWAYS AS (qty * 2) STORED
) USING steward;
INSERT INTO "s 482"."Order Items" ("ID", "select", qty, price)
SELECT g, 'v' || g, g, g * 1.5 FROM generate_series(1, 20) g;

-- The HINT's step keeps the literals; run as printed, it starts, and
-- its check refuses 'NO VALUE' as the domain does.
SELECT steward.migration_start('m482', $j$[{"add_column": {"table": "\"s 482\".\"Order Items\"",
    "column": "Tag", "type": "\"s 482\".tag", "up": "\"select\""}}]$j$);
SELECT steward.migration_start('m482', $j$[{"add_column": {"table": "\"s 482\".\"Order Items\"", "column": "Tag", "type": "text", "check": "(((\"Tag\" <> 'NO VALUE'::text) AND (\"Tag\" <> '\"VALUE\"'::text)))", "up": "\"select\""}}]$j$);
INSERT INTO "s 482"."Order Items" ("ID", "select", qty, price) VALUES (30, 'NO VALUE', 1, 1);
SELECT steward.migration_rollback('m482');

-- A keyword column renamed and retyped, a column to a domain type under
-- a name with a space, the generated column left alone; both shapes
-- written, backfilled, validated, completed, rolled back.
SELECT steward.migration_start('n482', $j$[
  {"alter_column": {"table": "\"s 482\".\"Order Items\"", "column": "select", "name": "from",
                    "type": "varchar(20)", "up": "upper(\"select\")", "down": "lower(\"from\")"}},
  {"alter_column": {"table": "\"s 482\".\"Order Items\"", "column": "price", "name": "Price Tag",
                    "type": "\"s 482\".label", "up": "price::text", "down": "\"Price Tag\"::numeric"}}]$j$);
INSERT INTO "s 482"."Order Items" ("ID", "select", qty, price) VALUES (100, 'new', 3, 2);
INSERT INTO n482."Order Items" ("ID", "from", qty, "Price Tag") VALUES (101, 'NEWER', 8, '2.5');
CALL steward.migration_backfill('n482');
SELECT "check", passed, detail FROM steward.migration_validate('n482') ORDER BY 1;
SELECT steward.migration_complete('n482');
SELECT "ID", "from", qty, "Price Tag", total FROM "s 482"."Order Items" WHERE "ID" IN (1, 100, 101) ORDER BY 1;
SELECT steward.migration_rollback('n482');
SELECT "ID", "select", qty, price, total FROM "s 482"."Order Items" WHERE "ID" IN (1, 100, 101) ORDER BY 1;

-- The generated column's own input cannot change; a partitioned table
-- is refused, naming what to do.
SELECT steward.migration_start('o482', $j$[{"alter_column": {"table": "\"s 482\".\"Order Items\"",
    "column": "qty", "type": "bigint"}}]$j$);
CREATE TABLE "s 482"."Ev" ("at" date NOT NULL, "order" int, PRIMARY KEY ("at", "order")) PARTITION BY RANGE ("at");
SELECT steward.migration_start('o482', $j$[{"add_column": {"table": "\"s 482\".\"Ev\"", "column": "x", "type": "int"}}]$j$);
SELECT count(*) FROM steward.migrations WHERE name = 'o482';

-- start evaluates up once, on the first row a scan returns: a failure
-- names that row by its key (the DETAIL said "once" and no row).  An
-- empty table evaluates nothing.
CREATE TABLE "s 482"."K" ("from" int, "Key 2" text, n int, PRIMARY KEY ("from", "Key 2")) USING steward;
SELECT steward.migration_start('p482', $j$[{"add_column": {"table": "\"s 482\".\"K\"", "column": "r", "type": "int", "up": "10 / n"}}]$j$);
SELECT steward.migration_rollback('p482');
INSERT INTO "s 482"."K" VALUES (7, 'a''b, c', 0), (8, 'd', 1);
SELECT steward.migration_start('q482', $j$[{"add_column": {"table": "\"s 482\".\"K\"", "column": "r", "type": "int", "up": "10 / n"}}]$j$);
SELECT count(*) FROM steward.migrations WHERE name = 'q482';

SET client_min_messages = warning;
DROP SCHEMA "s 482" CASCADE;
RESET client_min_messages;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m482'), ('n482'), ('o482'), ('p482'), ('q482');
\i test/sql/drop_migration_records.sql
