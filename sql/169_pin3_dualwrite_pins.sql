-- The dual-write trigger's pins for each row (closing36 item 1): the
-- settings it pins are read through their records and left alone when the
-- session has them already, and the shape an INSERT is in (the first
-- migration schema on the session's search_path) is remembered for the
-- statement only as long as its search_path and user stay the same.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE t169 (id int PRIMARY KEY, v int, ts timestamptz);
SELECT steward.migration_start('m169', $$[
  {"add_column": {"table": "t169", "column": "w", "type": "int", "up": "v * 2"}},
  {"add_column": {"table": "t169", "column": "d", "type": "text", "up": "ts::date::text || ' ' || to_tsvector(ts::text)::text"}}]$$) IS NOT NULL AS started;

-- 1. One statement whose search_path changes between its rows: each row
-- is written in the shape of the path it was written under (the new
-- shape's rows get no w: up runs for old-shape writes only).
INSERT INTO public.t169 (id, v)
SELECT g, g + 0 * length(set_config('search_path',
         CASE g WHEN 2 THEN 'm169, public' WHEN 3 THEN 'm169_old, public'
                WHEN 5 THEN 'm169, public' ELSE 'public' END, true))
  FROM generate_series(1, 6) g;
SELECT id, w, _steward_side FROM public.t169 ORDER BY id;
RESET search_path;

-- 2. The same values whether the session has the pinned settings already
-- (C locales, UTC in some spelling, simple text search) or not.
BEGIN;
SET LOCAL TimeZone = 'Etc/UTC';
SET LOCAL default_text_search_config = 'pg_catalog.simple';
INSERT INTO t169 (id, v, ts) VALUES (11, 1, '2026-01-01 23:30+00');
COMMIT;
BEGIN;
SET LOCAL TimeZone = 'UTC';
SET LOCAL default_text_search_config = 'pg_catalog.english';
INSERT INTO t169 (id, v, ts) VALUES (12, 1, '2026-01-01 23:30+00');
COMMIT;
BEGIN;
SET LOCAL TimeZone = 'Pacific/Kiritimati';
SET LOCAL default_text_search_config = 'pg_catalog.french';
INSERT INTO t169 (id, v, ts) VALUES (13, 1, '2026-01-01 23:30+00'), (14, 1, '2026-01-01 23:30+00')
RETURNING id, d, to_tsvector('running')::text AS session_tv, current_setting('TimeZone') AS session_tz;
COMMIT;
SELECT count(DISTINCT d) AS distinct_d, min(d) AS d FROM t169 WHERE id > 10;
-- The session's settings are its own again after the statement.
SELECT current_setting('TimeZone') AS tz, current_setting('default_text_search_config') AS ts_config,
       current_setting('search_path') AS search_path;

SELECT steward.migration_rollback('m169');
DROP TABLE t169;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name = 'm169';
\i test/sql/drop_migration_records.sql
