-- docs/observability.md: with compute_query_id = off, planned statements
-- are not counted (statements are told apart by the query identifier), utility statements
-- are.
SELECT steward.reset() IS NOT NULL AS reset;
SET compute_query_id = off;
SELECT 287 AS planned_while_off;
CREATE TEMP TABLE t287 (x int);
SET compute_query_id = on;
SELECT 288 AS planned_while_on;
SELECT query, calls FROM steward.statements
 WHERE query LIKE 'SELECT $1 AS planned_while_%' OR query LIKE 'CREATE TEMP TABLE t287%'
 ORDER BY query;
RESET compute_query_id;
