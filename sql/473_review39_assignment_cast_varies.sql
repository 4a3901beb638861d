-- review39: an up or down is coerced to its column's type by the
-- assignment rules (an ASSIGNMENT cast's function is called without being
-- written), but start checked the expression for VOLATILE functions before
-- that coercion (_migration_expr_varies analysed it with no target type).
-- An ASSIGNMENT cast through a VOLATILE function that gives another value
-- each call -- "up": "v" into a column of the user's type, a type change
-- with no up or no down, an array of that type -- passed start, and every
-- row differed at validation after the whole backfill.  Now the check
-- analyses the expression coerced to its column's type, as the backfill
-- and the dual-write trigger evaluate it, and refuses (22023) naming the
-- cast; a STABLE cast function is accepted and validates.
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE SCHEMA s473;
CREATE SEQUENCE s473.q;
CREATE TYPE s473.cents AS (amount bigint);
-- Gives another value at each call: the counter's value is added.
CREATE FUNCTION s473.to_cents(int) RETURNS s473.cents LANGUAGE sql
    AS $$SELECT ROW($1::bigint * 100 + nextval('s473.q'))::s473.cents$$;
CREATE CAST (int AS s473.cents) WITH FUNCTION s473.to_cents(int) AS ASSIGNMENT;
CREATE FUNCTION s473.big_to_cents(bigint) RETURNS s473.cents LANGUAGE sql
    AS $$SELECT ROW($1 + nextval('s473.q'))::s473.cents$$;
CREATE CAST (bigint AS s473.cents) WITH FUNCTION s473.big_to_cents(bigint) AS ASSIGNMENT;
-- One table per migration (one migration per table at a time).
CREATE TABLE s473.t1 (id bigint PRIMARY KEY, v int, a int[], m s473.cents) USING steward;
INSERT INTO s473.t1 SELECT g, g, ARRAY[g], ROW(g * 100::bigint)::s473.cents
  FROM generate_series(1, 3) g;
CREATE TABLE s473.t2 (LIKE s473.t1 INCLUDING ALL) USING steward;
CREATE TABLE s473.t3 (LIKE s473.t1 INCLUDING ALL) USING steward;
CREATE TABLE s473.t4 (LIKE s473.t1 INCLUDING ALL) USING steward;
CREATE TABLE s473.t5 (LIKE s473.t1 INCLUDING ALL) USING steward;
INSERT INTO s473.t2 SELECT * FROM s473.t1;
INSERT INTO s473.t3 SELECT * FROM s473.t1;
INSERT INTO s473.t4 SELECT * FROM s473.t1;
INSERT INTO s473.t5 SELECT * FROM s473.t1;
SET search_path = s473, public;

-- An up of type integer into a column of type cents: the ASSIGNMENT cast.
SELECT steward.migration_start('m473_up', $$[
  {"add_column": {"table": "t1", "column": "c", "type": "s473.cents", "up": "v"}}]$$);
-- A type change with no up: the column itself, through the cast.
SELECT steward.migration_start('m473_type', $$[
  {"alter_column": {"table": "t2", "column": "v", "type": "s473.cents",
                    "down": "(v).amount::int / 100"}}]$$);
-- An array of the type: the cast of each element.
SELECT steward.migration_start('m473_array', $$[
  {"alter_column": {"table": "t3", "column": "a", "type": "s473.cents[]",
                    "down": "'{}'::int[]"}}]$$);
-- A down of type bigint back into the old column of type cents, written
-- and not written.
SELECT steward.migration_start('m473_down', $$[
  {"alter_column": {"table": "t4", "column": "m", "type": "bigint", "up": "(m).amount",
                    "down": "m + 0"}}]$$);
SELECT steward.migration_start('m473_down_implicit', $$[
  {"alter_column": {"table": "t5", "column": "m", "type": "bigint", "up": "(m).amount"}}]$$);
SELECT name AS started FROM steward.migrations WHERE name LIKE 'm473%' ORDER BY 1;
-- Had one started, validation would have compared values that differ:
SELECT ROW(1)::s473.cents IS NOT DISTINCT FROM ROW(1)::s473.cents AS same_input,
       (SELECT (1::int)::s473.cents) = (SELECT (1::int)::s473.cents) AS same_value;

-- The owner's fix: the cast function giving the same value for the same
-- input, declared STABLE: accepted, backfill and validation agree.
CREATE OR REPLACE FUNCTION s473.to_cents(int) RETURNS s473.cents LANGUAGE sql STABLE
    AS $$SELECT ROW($1::bigint * 100)::s473.cents$$;
SELECT steward.migration_start('m473_fixed', $$[
  {"add_column": {"table": "t1", "column": "c", "type": "s473.cents", "up": "v"}}]$$) IS NOT NULL AS started;
CALL steward.migration_backfill('m473_fixed');
SELECT "check", passed FROM steward.migration_validate('m473_fixed') ORDER BY "check";
SELECT steward.migration_rollback('m473_fixed');

RESET search_path;
DROP SCHEMA s473 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m473_fixed');
\i test/sql/drop_migration_records.sql
