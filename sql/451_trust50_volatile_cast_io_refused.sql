-- trust50: an up (or down) that calls a VOLATILE function without
-- writing the call -- a cast to the user's type, a type's input function
-- reached through a cast from text, an operator -- was refused (22023)
-- with a message naming the function alone and the HINT "If f gives the
-- same value for the same row, declare it so: ALTER FUNCTION f STABLE",
-- which reads as if the user had written f(...).  Now the message says how
-- the expression calls it (the cast from integer to s451.cents, the input
-- function of type s451.tag, operator s451.###(integer,integer)) and the
-- HINT says the expression calls it without writing the call, who may
-- declare it STABLE, and to write the expression without it otherwise.
-- A function call written as one keeps its HINT (regress 429).
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE SCHEMA s451;
CREATE TABLE s451.t (id bigint PRIMARY KEY, v int) USING steward;
INSERT INTO s451.t SELECT g, g FROM generate_series(1, 3) g;
-- A cast to a type of the user's through a function left VOLATILE.
CREATE TYPE s451.cents AS (amount bigint);
CREATE FUNCTION s451.to_cents(int) RETURNS s451.cents LANGUAGE sql
    AS 'SELECT ROW($1::bigint * 100)::s451.cents';
CREATE CAST (int AS s451.cents) WITH FUNCTION s451.to_cents(int);
-- A base type whose input function is left VOLATILE (a superuser's).
CREATE TYPE s451.tag;
CREATE FUNCTION s451.tag_in(cstring) RETURNS s451.tag LANGUAGE internal STRICT AS 'textin';
CREATE FUNCTION s451.tag_out(s451.tag) RETURNS cstring LANGUAGE internal STRICT IMMUTABLE AS 'textout';
CREATE TYPE s451.tag (INPUT = s451.tag_in, OUTPUT = s451.tag_out, LIKE = text);
-- An operator whose function is left VOLATILE.
CREATE FUNCTION s451.plus(int, int) RETURNS int LANGUAGE sql AS 'SELECT $1 + $2';
CREATE OPERATOR s451.### (LEFTARG = int, RIGHTARG = int, FUNCTION = s451.plus);
SET search_path = s451, public;

-- The cast, written as a cast: no call of to_cents is written.
SELECT steward.migration_start('m451_cast', $$[
  {"add_column": {"table": "t", "column": "c", "type": "s451.cents", "up": "v::cents"}}]$$);
-- The input function of tag, through the cast from text (CoerceViaIO).
SELECT steward.migration_start('m451_input', $$[
  {"alter_column": {"table": "t", "column": "v", "type": "bigint", "up": "v",
                    "down": "length(v::text::tag::text)"}}]$$);
-- The operator's function.
SELECT steward.migration_start('m451_op', $$[
  {"add_column": {"table": "t", "column": "w", "type": "int", "up": "v ### 1"}}]$$);
-- Written as a call, the same function keeps the HINT of regress 429.
SELECT steward.migration_start('m451_call', $$[
  {"add_column": {"table": "t", "column": "c", "type": "s451.cents", "up": "to_cents(v)"}}]$$);
SELECT count(*) AS started FROM steward.migrations WHERE name LIKE 'm451%';

-- The HINT's fix, by the function's owner: accepted, backfill and
-- validation agree.
ALTER FUNCTION s451.to_cents(integer) STABLE;
SELECT steward.migration_start('m451_fixed', $$[
  {"add_column": {"table": "t", "column": "c", "type": "s451.cents", "up": "v::cents"}}]$$) IS NOT NULL AS started;
CALL steward.migration_backfill('m451_fixed');
SELECT "check", passed FROM steward.migration_validate('m451_fixed') ORDER BY "check";
SELECT steward.migration_rollback('m451_fixed');

RESET search_path;
DROP SCHEMA s451 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m451_fixed');
\i test/sql/drop_migration_records.sql
