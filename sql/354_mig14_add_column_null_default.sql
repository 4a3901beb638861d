-- mig14 item 2 (refused since newcomer45 N5 by start's evaluation of
-- the default): an add_column step with "not_null" and no "up" whose
-- "default" is NULL whatever the row ("NULL", a cast of NULL, a strict
-- function of NULL, an immutable function of the owner's giving NULL)
-- filled every stored row and every old-shape INSERT with NULL: the
-- backfill stopped at row 1 and those INSERTs failed at once, an outage
-- until rollback.  And mig14 item 1: the settings a fill needs are its own
-- (not the cache entry's, which every write reads): a text-search default
-- fills an unfilled row as the backfill does, whatever the session's
-- default_text_search_config.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE m14 (id bigint PRIMARY KEY, amt int NOT NULL) USING steward;
INSERT INTO m14 SELECT g, g FROM generate_series(1, 5) g;
CREATE FUNCTION m14_nothing(t text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT CASE WHEN t = 'x' THEN t END $$;

-- Refused: defaults that are NULL whatever the row.
SELECT steward.migration_start('m14_n', $$[
  {"add_column": {"table": "m14", "column": "tag", "type": "text", "not_null": true, "default": "NULL"}}]$$);
SELECT steward.migration_start('m14_n', $$[
  {"add_column": {"table": "m14", "column": "tag", "type": "text", "not_null": true, "default": "NULL::text"}}]$$);
SELECT steward.migration_start('m14_n', $$[
  {"add_column": {"table": "m14", "column": "n", "type": "bigint", "not_null": true, "default": "CAST(NULL AS int)"}}]$$);
SELECT steward.migration_start('m14_n', $$[
  {"add_column": {"table": "m14", "column": "tag", "type": "text", "not_null": true, "default": "lower(NULL)"}}]$$);
SELECT steward.migration_start('m14_n', $$[
  {"add_column": {"table": "m14", "column": "tag", "type": "text", "not_null": true, "default": "nullif('a', 'a')"}}]$$);
SELECT steward.migration_start('m14_n', $$[
  {"add_column": {"table": "m14", "column": "tag", "type": "text", "not_null": true, "default": "m14_nothing('y')"}}]$$);
SELECT count(*) AS runs FROM steward.migration_runs WHERE name = 'm14_n';
SELECT attname FROM pg_attribute WHERE attrelid = 'm14'::regclass
   AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'm14'::regclass;

-- Accepted: a NULL default of a nullable column, and with an "up".
SELECT steward.migration_start('m14_ok', $$[
  {"add_column": {"table": "m14", "column": "tag", "type": "text", "default": "NULL"}},
  {"add_column": {"table": "m14", "column": "twice", "type": "int", "not_null": true,
                  "up": "amt * 2", "default": "NULL"}}]$$);
SELECT steward.migration_rollback('m14_ok');

-- A text-search default fills the rows with the pinned configuration
-- (simple), in the backfill and in an old-shape UPDATE of a row not
-- backfilled yet, after an old-shape write in the same session and
-- whatever the session's configuration.
SELECT steward.migration_start('m14_ts', $$[
  {"add_column": {"table": "m14", "column": "twice", "type": "int", "up": "amt * 2"}},
  {"add_column": {"table": "m14", "column": "doc", "type": "tsvector", "not_null": true,
                  "default": "to_tsvector('The Cats')"}}]$$);
SET default_text_search_config = 'pg_catalog.english';
UPDATE m14 SET amt = 10 WHERE id = 1 AND _steward_side IS NULL;
UPDATE m14 SET amt = 20 WHERE id = 2;
UPDATE m14 SET amt = 10 WHERE id = 1;
CALL steward.migration_backfill('m14_ts');
SELECT id, amt, twice, doc::text, _steward_side FROM m14 ORDER BY id;
SELECT count(*) AS failed FROM steward.migration_validate('m14_ts') WHERE NOT passed;
RESET default_text_search_config;
SELECT steward.migration_rollback('m14_ts');

DROP TABLE m14;
DROP FUNCTION m14_nothing(text);
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs
 WHERE name IN ('m14_ok', 'm14_ts');
\i test/sql/drop_migration_records.sql
