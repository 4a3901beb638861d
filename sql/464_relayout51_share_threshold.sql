-- The distribution check of a relayout's validate judges partition shares
-- only from 100 rows (and 100 writes) on (relayout49), a constant a DBA
-- could not change: rehearsing a relayout on a small copy of a skewed
-- table, the check could not be made to judge it (relayout51, 3).  The
-- count is now setting steward.relayout_share_threshold (integer, a count
-- of rows and of writes like autovacuum_vacuum_threshold, default 100,
-- per session as steward.relayout_max_partition_share), and the detail of
-- a share not judged names it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT name, setting, unit, vartype, context, min_val, max_val, boot_val
  FROM pg_settings WHERE name = 'steward.relayout_share_threshold';
CREATE SCHEMA r464;
-- 20 rows, 18 of one tenant: skewed, and under 100 rows.
CREATE TABLE r464.t (id bigint, tenant int, PRIMARY KEY (id, tenant)) USING steward;
INSERT INTO r464.t SELECT g, CASE WHEN g <= 18 THEN 1 ELSE g END FROM generate_series(1, 20) g;
SELECT steward.migration_start('r464_m', $$[
  {"relayout": {"table": "r464.t", "partition_by": "HASH (tenant)", "partitions": 4}}]$$);
CALL steward.migration_backfill('r464_m');
-- (write counts come from the statistics, flushed at their own pace)
CREATE FUNCTION r464.report(mig text) RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE sql AS $$
    SELECT "check", passed, regexp_replace(regexp_replace(detail, ', [0-9]+ writes? \([^)]*\)', ''),
                                           '(not judged: [0-9]+ rows?) and [0-9]+ writes?', '\1')
      FROM steward.migration_validate(mig)
     WHERE "check" LIKE 'distribution %' ORDER BY 1
$$;
-- By default: reported, not judged, and the detail names the setting.
SELECT * FROM r464.report('r464_m');
-- Lowered for this session: judged, and failed.
SET steward.relayout_share_threshold = 10;
SHOW steward.relayout_share_threshold;
SELECT * FROM r464.report('r464_m');
SELECT count(*) FILTER (WHERE passed) AS passed, count(*) FILTER (WHERE NOT passed) AS failed,
       count(*) FILTER (WHERE passed IS NULL) AS not_judged
  FROM steward.migration_validate('r464_m') WHERE "check" LIKE 'partition %';
SELECT steward.migration_complete('r464_m');
-- Above the table's rows again: not judged.
SET steward.relayout_share_threshold = 21;
SELECT * FROM r464.report('r464_m');
-- A count: no unit, not negative.
SET steward.relayout_share_threshold = -1;
SET steward.relayout_share_threshold = '10kB';
RESET steward.relayout_share_threshold;
SHOW steward.relayout_share_threshold;
SELECT steward.migration_rollback('r464_m');
DROP SCHEMA r464 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r464_m');
\i test/sql/drop_migration_records.sql
