-- upvol49 (sec6's leftover): an online migration's "up" (or an
-- alter_column's "down") calling one of PostgreSQL's VOLATILE functions
-- (random(), clock_timestamp()) was refused at start (22023), but a
-- function of the user's declared VOLATILE was accepted, so
-- CREATE FUNCTION r() ... VOLATILE AS 'SELECT random()' passed where
-- random() was refused, with the same harm: validation evaluates the up
-- again and finds every row different, after the whole backfill.  Now the
-- rule follows the declared volatility of every function: a VOLATILE one
-- is refused (22023, naming it with its argument types), the HINT giving
-- the ALTER FUNCTION ... STABLE that declares one that gives the same
-- value for the same row; STABLE and IMMUTABLE functions are accepted on
-- their word.
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE SCHEMA s429;
CREATE TABLE s429.t (id bigint PRIMARY KEY, v int) USING steward;
INSERT INTO s429.t SELECT g, g FROM generate_series(1, 5) g;
CREATE TABLE s429.rates (v int PRIMARY KEY, rate int);
INSERT INTO s429.rates SELECT g, g * 10 FROM generate_series(1, 6) g;
-- VOLATILE: random() behind an SQL function, and a deterministic
-- function left VOLATILE (CREATE FUNCTION's default).
CREATE FUNCTION s429.r() RETURNS float8 LANGUAGE sql VOLATILE AS 'SELECT random()';
CREATE FUNCTION s429.double(n int, tag text) RETURNS int LANGUAGE plpgsql
    AS 'BEGIN RETURN n * 2; END';
CREATE FUNCTION s429.rate(int) RETURNS int LANGUAGE sql STABLE
    AS 'SELECT rate FROM s429.rates WHERE v = $1';
CREATE FUNCTION s429.plus1(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 + 1';
SET search_path = s429, public;

-- Refused, as random() itself is.
SELECT steward.migration_start('m429_random', $$[
  {"add_column": {"table": "t", "column": "w", "type": "float8", "up": "random()"}}]$$);
SELECT steward.migration_start('m429_r', $$[
  {"add_column": {"table": "t", "column": "w", "type": "float8", "up": "v + r()"}}]$$);
-- Named with its argument types; the add_column's HINT also offers "default".
SELECT steward.migration_start('m429_double', $$[
  {"add_column": {"table": "t", "column": "w", "type": "int", "up": "double(v, 'x')"}}]$$);
-- A changed column's down, and an up nested in an accepted function.
SELECT steward.migration_start('m429_down', $$[
  {"alter_column": {"table": "t", "column": "v", "type": "bigint", "up": "v",
                    "down": "plus1(double(v::int, 'y'))"}}]$$);
SELECT steward.migration_start('m429_nested', $$[
  {"alter_column": {"table": "t", "column": "v", "type": "bigint", "up": "coalesce(rate(v), double(v, 'z'))"}}]$$);
-- In a subquery: refused before, as every subquery is (row-local).
SELECT steward.migration_start('m429_sub', $$[
  {"add_column": {"table": "t", "column": "w", "type": "float8", "up": "(SELECT r())"}}]$$);
SELECT count(*) AS started FROM steward.migrations WHERE name LIKE 'm429%';

-- The HINT's fix for the deterministic one: declared STABLE, accepted;
-- the backfill and validation agree.
ALTER FUNCTION s429.double(integer, text) STABLE;
SELECT steward.migration_start('m429_fixed', $$[
  {"add_column": {"table": "t", "column": "w", "type": "int", "up": "double(v, 'x') + rate(v) + plus1(v)"}}]$$) IS NOT NULL AS started;
INSERT INTO s429.t (id, v) VALUES (6, 6);
CALL steward.migration_backfill('m429_fixed');
SELECT "check", passed FROM steward.migration_validate('m429_fixed') ORDER BY "check";
SELECT id, w FROM s429.t ORDER BY id;
SELECT steward.migration_rollback('m429_fixed');

-- The declared volatility is what counts, as for the planner: a VOLATILE
-- call inside a function declared IMMUTABLE is not seen (start only
-- analyses the expression, inlines nothing, and PostgreSQL never inlines
-- an IMMUTABLE SQL function whose body is volatile).  Accepted: the
-- declaration is the owner's word (docs/migrations.md).
CREATE FUNCTION s429.wrapped(int) RETURNS int LANGUAGE sql IMMUTABLE
    AS 'SELECT $1 + (s429.r() * 0)::int';
SELECT steward.migration_start('m429_wrapped', $$[
  {"add_column": {"table": "t", "column": "w", "type": "int", "up": "wrapped(v)"}}]$$) IS NOT NULL AS started;
SELECT steward.migration_rollback('m429_wrapped');

-- Accepted as before: a default (given once to each row, not compared)
-- and a dropped column's down that reads no column (the old column's
-- default for new-shape INSERTs), VOLATILE or not.
SELECT steward.migration_start('m429_default', $$[
  {"add_column": {"table": "t", "column": "w", "type": "float8", "default": "r()"}},
  {"drop_column": {"table": "t", "column": "v", "down": "(r() * 0)::int"}}]$$) IS NOT NULL AS started;
CALL steward.migration_backfill('m429_default');
SELECT "check", passed FROM steward.migration_validate('m429_default') ORDER BY "check";
SELECT count(*) FILTER (WHERE w >= 0 AND w < 1) AS filled FROM s429.t;
SELECT steward.migration_rollback('m429_default');

RESET search_path;
DROP SCHEMA s429 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m429_fixed'), ('m429_wrapped'), ('m429_default');
\i test/sql/drop_migration_records.sql
