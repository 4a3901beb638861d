-- migration_complete refused a migration whose last validation failed
-- naming only the first failing check (the error migration_validate
-- recorded), so a user fixed one check, validated, and met the next
-- (newcomer47's relayout findings, 2).  The recorded error, which
-- complete's DETAIL gives, now lists every failing check, one a line,
-- each with its measured value and its limit.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r411;
CREATE TABLE r411.orders (id bigint, tenant int, PRIMARY KEY (id, tenant)) USING steward;
INSERT INTO r411.orders SELECT g, CASE WHEN g <= 150 THEN 1 ELSE g END FROM generate_series(1, 200) g;
SELECT steward.migration_start('r411_m', $$[
  {"relayout": {"table": "r411.orders", "partition_by": "HASH (tenant)", "partitions": 4}}]$$);
CALL steward.migration_backfill('r411_m');
-- Two problems at once: a hot tenant, and a retention set on one layout.
SELECT steward.set_retention('r411.orders', '30 days');
SELECT "check", passed FROM steward.migration_validate('r411_m') WHERE NOT passed ORDER BY 1;
-- (write counts come from the statistics, flushed at their own pace)
SELECT regexp_replace(regexp_replace(error, ', [0-9]+ writes \([^)]*\)', '', 'g'), '; hottest keys: .*', '', 'n') AS error
  FROM steward.relayouts WHERE name = 'r411_m';
-- complete's DETAIL: each failing check on its line, with its measured
-- value and its limit.
DO $$
BEGIN
    PERFORM steward.migration_complete('r411_m');
EXCEPTION WHEN object_not_in_prerequisite_state THEN
    DECLARE
        d text;
    BEGIN
        GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
        RAISE NOTICE 'complete refused: %', regexp_replace(regexp_replace(d, ', [0-9]+ writes \([^)]*\)', '', 'g'),
                                                           '; hottest keys: .*', '', 'n');
    END;
END
$$;
-- Both fixed in one pass: complete goes through.
SELECT steward.set_retention('r411.orders_relayout_new', '30 days');
SET steward.relayout_max_partition_share = 0.9;
SELECT bool_and(passed) FROM steward.migration_validate('r411_m');
SELECT steward.migration_complete('r411_m');
RESET steward.relayout_max_partition_share;
SELECT steward.migration_cleanup('r411_m');
-- One failing check keeps the one-line error.
CREATE TABLE r411.one (id bigint PRIMARY KEY) USING steward;
INSERT INTO r411.one SELECT generate_series(1, 10);
SELECT steward.migration_start('r411_one', $$[
  {"relayout": {"table": "r411.one", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CALL steward.migration_backfill('r411_one');
SELECT steward.set_retention('r411.one', '30 days');
SELECT count(*) FROM steward.migration_validate('r411_one') WHERE NOT passed;
SELECT error FROM steward.relayouts WHERE name = 'r411_one';
SELECT steward.migration_rollback('r411_one');
DROP SCHEMA r411 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r411_m'), ('r411_one');
\i test/sql/drop_migration_records.sql
