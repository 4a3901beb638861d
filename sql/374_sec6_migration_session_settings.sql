-- codereview17 R2 (mig14): an online migration's "up" (or a changed
-- column's "down") reading a setting of the session passed
-- migration_start, though the dual-write trigger evaluates it in each
-- writer's session, the backfill and validation in theirs:
-- current_setting('app.x') gave each row the value of whichever session
-- wrote it, and validation failed for every row written elsewhere, after
-- the whole backfill.  Now start refuses (22023) current_setting() of a
-- setting pg_steward does not pin where it evaluates, with or without
-- missing_ok, or of a name that is not a constant; the pinned ones
-- (TimeZone, DateStyle, ... default_text_search_config) read the same
-- everywhere and are accepted.  set_config() and now() stay refused as
-- varying; a function of the user's is judged by its declared volatility.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE s374 (id bigint PRIMARY KEY, v int, t text) USING steward;
INSERT INTO s374 VALUES (1, 1, 'app.x'), (2, 2, 'app.x'), (3, 3, 'app.x');
SET app.x = 'here';

-- Refused: settings of the session.
SELECT steward.migration_start('s374_a', $$[
  {"add_column": {"table": "s374", "column": "w", "type": "text", "up": "current_setting('app.x')"}}]$$);
SELECT steward.migration_start('s374_b', $$[
  {"add_column": {"table": "s374", "column": "w", "type": "text", "up": "coalesce(current_setting('app.x', true), v::text)"}}]$$);
SELECT steward.migration_start('s374_c', $$[
  {"add_column": {"table": "s374", "column": "w", "type": "text", "up": "current_setting(t)"}}]$$);
SELECT steward.migration_start('s374_d', $$[
  {"alter_column": {"table": "s374", "column": "v", "type": "bigint", "up": "v",
                    "down": "v + length(current_setting('app.x', true))"}}]$$);
-- Refused as before: a setting written, the transaction's time.
SELECT steward.migration_start('s374_e', $$[
  {"add_column": {"table": "s374", "column": "w", "type": "text", "up": "set_config('app.x', v::text, false)"}}]$$);
SELECT steward.migration_start('s374_f', $$[
  {"add_column": {"table": "s374", "column": "w", "type": "timestamptz", "up": "now()"}}]$$);
SELECT count(*) AS started FROM steward.migrations WHERE name LIKE 's374%';

-- Accepted: a setting pg_steward pins (any spelling), read the same by
-- the trigger in a session whose TimeZone differs, the backfill and
-- validation.
SELECT steward.migration_start('s374_tz', $$[
  {"add_column": {"table": "s374", "column": "w", "type": "text",
                  "up": "current_setting('timezone') || '/' || current_setting('DateStyle') || '/' || v"}}]$$);
SET TimeZone = 'Asia/Tokyo';
SET DateStyle = 'German';
INSERT INTO s374 (id, v, t) VALUES (4, 4, 'app.x');
RESET TimeZone;
RESET DateStyle;
CALL steward.migration_backfill('s374_tz');
SELECT "check", passed FROM steward.migration_validate('s374_tz') ORDER BY "check";
SELECT id, w FROM s374 ORDER BY id;
SELECT steward.migration_rollback('s374_tz');

-- A function of the user's is judged by its declared volatility
-- (upvol49): VOLATILE ones, CREATE FUNCTION's default, are refused, each
-- named; STABLE and IMMUTABLE ones are accepted on their word, their
-- bodies not read (an SQL function declared STABLE whose body reads the
-- session's setting: accepted; docs/migrations.md: one that varies fails
-- validation).
CREATE TABLE s374_rates (v int PRIMARY KEY, rate int);
INSERT INTO s374_rates SELECT g, g * 10 FROM generate_series(1, 5) g;
CREATE FUNCTION s374_rate(int) RETURNS int LANGUAGE sql STABLE
    AS 'SELECT rate FROM public.s374_rates WHERE v = $1';
CREATE FUNCTION s374_double(int) RETURNS int LANGUAGE plpgsql
    AS 'BEGIN RETURN $1 * 2; END';
CREATE FUNCTION s374_app(int) RETURNS text LANGUAGE sql
    AS $$SELECT current_setting('app.x', true) || $1$$;
SELECT steward.migration_start('s374_v', $$[
  {"add_column": {"table": "s374", "column": "r", "type": "int", "up": "public.s374_rate(v)"}},
  {"add_column": {"table": "s374", "column": "d", "type": "int", "up": "public.s374_double(v)"}}]$$);
SELECT steward.migration_start('s374_w', $$[
  {"add_column": {"table": "s374", "column": "s", "type": "text", "up": "public.s374_app(v)"}}]$$);
ALTER FUNCTION s374_double(int) IMMUTABLE;
ALTER FUNCTION s374_app(int) STABLE;
SELECT steward.migration_start('s374_u', $$[
  {"add_column": {"table": "s374", "column": "r", "type": "int", "up": "public.s374_rate(v)"}},
  {"add_column": {"table": "s374", "column": "d", "type": "int", "up": "public.s374_double(v)"}},
  {"add_column": {"table": "s374", "column": "s", "type": "text", "up": "public.s374_app(v)"}}]$$) IS NOT NULL AS started;
SELECT steward.migration_rollback('s374_u');

RESET app.x;
DROP TABLE s374, s374_rates;
DROP FUNCTION s374_rate(int), s374_double(int), s374_app(int);

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('s374_tz'), ('s374_u');
\i test/sql/drop_migration_records.sql
