-- What PostgreSQL's own regression suite found when every table is a
-- steward table (test/compat/core-regress.sh), kept as tests.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- write_parallel: CREATE TABLE AS / SELECT INTO / CREATE MATERIALIZED VIEW
-- write the rows of a parallel plan while in parallel mode, where no new
-- snapshot may be taken; loading the new table's rules must not try.
SET default_table_access_method = steward;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = on;
CREATE TABLE compat_src AS SELECT g, g % 7 AS k FROM generate_series(1, 5000) g;
ANALYZE compat_src;
EXPLAIN (COSTS OFF) CREATE TABLE compat_ctas AS SELECT k, count(*) FROM compat_src GROUP BY k;
CREATE TABLE compat_ctas AS SELECT k, count(*) FROM compat_src GROUP BY k;
SELECT count(*), sum(count) FROM compat_ctas;
SELECT k, count(*) INTO compat_into FROM compat_src GROUP BY k;
SELECT count(*) FROM compat_into;
CREATE MATERIALIZED VIEW compat_mv AS SELECT k, count(*) FROM compat_src GROUP BY k;
REFRESH MATERIALIZED VIEW compat_mv;
SELECT count(*) FROM compat_mv;
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname LIKE 'compat\_%' ORDER BY 1;
DROP MATERIALIZED VIEW compat_mv;
DROP TABLE compat_src, compat_ctas, compat_into;
RESET ALL;
