-- A migration's up and down give one value whoever writes the row
-- (review17 R17-2): the dual-write trigger evaluates them under the same
-- pinned settings as the backfill and validation (TimeZone, DateStyle,
-- IntervalStyle, timezone_abbreviations, extra_float_digits,
-- bytea_output, xmlbinary, xmloption, default_text_search_config,
-- array_nulls, quote_all_identifiers; lc_monetary, lc_numeric and lc_time
-- too, which this test cannot vary: it may find only C locales), not
-- under the writing session's.  Before, a writer in another TimeZone
-- made validation fail for its rows, and the backfill, which skips rows
-- written in both shapes, could not mend them.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE t165 (id int PRIMARY KEY, ts timestamptz, f float8, s text, iv interval,
                   b bytea, body text, z text, a text, n text);
INSERT INTO t165 VALUES (1, '2026-01-01 23:30+00', 0.1 + 0.2, '01/02/2026', '-1 day 02:03:04',
                         '\x41ff', 'The running dogs', '2026-01-01 10:00 IST', '{NULL,x}', 'abc');
INSERT INTO t165 VALUES (2, '2026-01-01 23:30+00', 0.1 + 0.2, '01/02/2026', '-1 day 02:03:04',
                         '\x41ff', 'The running dogs', '2026-01-01 10:00 IST', '{NULL,x}', 'abc');
SELECT steward.migration_start('m165', $$[
  {"add_column": {"table": "t165", "column": "d", "type": "date", "up": "ts::date"}},
  {"add_column": {"table": "t165", "column": "ft", "type": "text", "up": "f::text"}},
  {"add_column": {"table": "t165", "column": "sd", "type": "date", "up": "s::date"}},
  {"add_column": {"table": "t165", "column": "ivt", "type": "text", "up": "iv::text"}},
  {"add_column": {"table": "t165", "column": "bt", "type": "text", "up": "b::text"}},
  {"add_column": {"table": "t165", "column": "tv", "type": "tsvector", "up": "to_tsvector(body)"}},
  {"add_column": {"table": "t165", "column": "zt", "type": "timestamptz", "up": "z::timestamptz"}},
  {"add_column": {"table": "t165", "column": "at", "type": "text[]", "up": "a::text[]"}},
  {"add_column": {"table": "t165", "column": "q", "type": "text", "up": "quote_ident(n)"}},
  {"add_column": {"table": "t165", "column": "nx", "type": "text", "up": "(n::xml)::text"}},
  {"add_column": {"table": "t165", "column": "bx", "type": "text", "up": "xmlelement(name e, b)::text"}}]$$);

-- An application session with every such setting changed writes rows 2
-- (update) and 3 (insert, the same values as row 1's) in the old shape;
-- its own expressions keep its settings (RETURNING), the trigger's do
-- not.
BEGIN;
SET LOCAL TimeZone = 'Pacific/Kiritimati';
SET LOCAL extra_float_digits = 0;
SET LOCAL DateStyle = 'SQL, DMY';
SET LOCAL IntervalStyle = 'sql_standard';
SET LOCAL bytea_output = 'escape';
SET LOCAL default_text_search_config = 'pg_catalog.french';
SET LOCAL timezone_abbreviations = 'India';
SET LOCAL array_nulls = off;
SET LOCAL quote_all_identifiers = on;
SET LOCAL xmlbinary = hex;
UPDATE t165 SET ts = ts WHERE id = 2
RETURNING ts::date::text AS session_date, d::text AS trigger_date, f::text AS session_f, ft AS trigger_f;
INSERT INTO t165 SELECT 3, ts, f, s, iv, b, body, z, a, n FROM t165 WHERE id = 1
RETURNING to_tsvector(body) AS session_tv, tv AS trigger_tv, quote_ident(n) AS session_q, q AS trigger_q;
SELECT current_setting('TimeZone') AS tz, current_setting('DateStyle') AS datestyle,
       current_setting('default_text_search_config') AS ts_config,
       current_setting('search_path') AS search_path;
COMMIT;
-- (Before, 2201M "invalid XML document" from the up expression of nx.)
BEGIN;
SET LOCAL xmloption = document;
INSERT INTO t165 SELECT 4, ts, f, s, iv, b, body, z, a, n FROM t165 WHERE id = 1
RETURNING nx;
COMMIT;

CALL steward.migration_backfill('m165');
SELECT "check", passed FROM steward.migration_validate('m165') ORDER BY 1;
-- One value per column whoever wrote the row (1: the backfill).
SELECT count(DISTINCT (d, ft, sd, ivt, bt, tv, zt, at, q, nx, bx)) AS distinct_values,
       array_agg(_steward_side ORDER BY id) AS sides FROM t165;
SET TimeZone = 'UTC';
SELECT d::text, ft, sd::text, ivt, bt, tv, zt::text, at::text, q, nx, bx FROM t165 WHERE id = 3;
RESET TimeZone;

-- down, for writes in the new shape (through the view), and up, for
-- writes in the old shape, from sessions in other time zones.
CREATE TABLE t165d (id int PRIMARY KEY, ts timestamptz);
INSERT INTO t165d VALUES (1, '2026-01-01 10:00+00');
SELECT steward.migration_start('m165d', $$[
  {"alter_column": {"table": "t165d", "column": "ts", "name": "tsx", "type": "text",
                    "up": "ts::text", "down": "tsx::timestamptz"}}]$$);
BEGIN;
SET LOCAL TimeZone = 'Pacific/Kiritimati';
SET LOCAL search_path = m165d, public;
INSERT INTO t165d (id, tsx) VALUES (2, '2026-01-01 10:00');
COMMIT;
BEGIN;
SET LOCAL TimeZone = 'America/Anchorage';
INSERT INTO t165d (id, ts) VALUES (3, '2026-01-01 10:00+00');
COMMIT;
CALL steward.migration_backfill('m165d');
SELECT "check", passed FROM steward.migration_validate('m165d') ORDER BY 1;
SET TimeZone = 'UTC';
SELECT id, n.tsx, o.ts::text AS ts FROM m165d.t165d n JOIN m165d_old.t165d o USING (id) ORDER BY id;
RESET TimeZone;
SELECT steward.migration_complete('m165d');
SELECT steward.migration_rollback('m165d');
SELECT steward.migration_rollback('m165');

DROP TABLE t165, t165d;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m165', 'm165d');
\i test/sql/drop_migration_records.sql
