-- What the statistics count and what a reset clears.
--
-- steward_idempotency_requests_total{outcome} counts requests: its
-- outcomes (new, replay, mismatch, in_progress) add up to the begins
-- (review11 R11-9).  Keys found expired and keys purged are counters of
-- their own; they used to be outcomes too, so summing the outcomes
-- counted an expired key's begin twice and every purged key as a request.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.reset();

-- Five begins: new, replay, mismatch, new, and new again on an expired key.
SELECT outcome FROM steward.idempotency_begin('mp', 'k1', 'f');
SELECT steward.idempotency_complete('mp', 'k1', 200, '{}');
SELECT outcome FROM steward.idempotency_begin('mp', 'k1', 'f');
SELECT outcome FROM steward.idempotency_begin('mp', 'k1', 'g');
SELECT outcome FROM steward.idempotency_begin('mp', 'k2', 'f');
SELECT steward.idempotency_complete('mp', 'k2', 200, '{}');
UPDATE steward.idempotency_keys SET expires_at = now() - interval '1 s' WHERE scope = 'mp';
SELECT outcome FROM steward.idempotency_begin('mp', 'k1', 'f');
SELECT steward.idempotency_complete('mp', 'k1', 200, '{}');
-- The purge deletes k2 (expired): a key, not a request.
SELECT steward.idempotency_purge();

SELECT labels->>'outcome' AS outcome, value
  FROM steward.metrics
 WHERE metric = 'steward_idempotency_requests_total' AND labels->>'scope' = 'mp'
 ORDER BY 1;
SELECT sum(value) AS requests
  FROM steward.metrics
 WHERE metric = 'steward_idempotency_requests_total' AND labels->>'scope' = 'mp';
SELECT metric, value, type
  FROM steward.metrics
 WHERE metric IN ('steward_idempotency_expired_keys_total', 'steward_idempotency_keys_purged_total')
   AND labels->>'scope' = 'mp'
 ORDER BY 1;
-- steward.idempotency_stats keeps all six columns.
SELECT new, replay, mismatch, in_progress, expired, purged
  FROM steward.idempotency_stats WHERE scope = 'mp';

SELECT steward.drop_idempotency_scope('mp');

-- steward.reset() clears every statistic of the whole cluster, as
-- docs/observability.md says (review11 R11-4; pg_stat_statements_reset() without arguments is
-- the model): another database's statements and the snapshot history go
-- too; rows per state (not a statistic) stay.
\set here :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS reset_other;
RESET client_min_messages;
CREATE DATABASE reset_other;
\c reset_other
SELECT 'a statement of another database' AS other;
\c :here
CREATE TABLE rs_orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created') USING steward;
SELECT steward.create_state_machine('rs_flow', ARRAY['created', 'paid'], ARRAY['created'],
                                    ARRAY['created->paid']);
SELECT steward.attach_state_machine('rs_orders', 'status', 'rs_flow');
INSERT INTO rs_orders SELECT g FROM generate_series(1, 3) g;
UPDATE rs_orders SET status = 'paid' WHERE id = 1;
SELECT steward.take_snapshot() IS NOT NULL AS snapshot;
SELECT (SELECT count(*) FROM steward.statements s JOIN pg_database d ON d.oid = s.dbid
         WHERE d.datname = 'reset_other') > 0 AS other_database_counted,
       (SELECT count(*) FROM steward.statement_history) > 0 AS history,
       (SELECT sum(transitions) FROM steward.transition_counts
         WHERE relid = 'rs_orders'::regclass) AS transitions;
SELECT steward.reset();
SELECT (SELECT count(*) FROM steward.statements s JOIN pg_database d ON d.oid = s.dbid
         WHERE d.datname = 'reset_other') AS other_database_statements,
       (SELECT count(*) FROM steward.statement_history) AS statement_history,
       (SELECT count(*) FROM steward.health_history) AS health_history,
       (SELECT coalesce(sum(transitions), 0) FROM steward.transition_counts
         WHERE relid = 'rs_orders'::regclass) AS transitions;
SELECT state, rows FROM steward.state_counts WHERE relid = 'rs_orders'::regclass ORDER BY 1;
SELECT obj_description('steward.reset()'::regprocedure, 'pg_proc') AS reset_says;

DROP TABLE rs_orders;
SELECT steward.drop_state_machine('rs_flow');
DROP DATABASE reset_other;

-- steward.track = all counts nested statements at any depth (review11
-- R11-3): from 16 levels on they used to be dropped (counted in
-- steward.collector's dropped), 15 of 40 counted.
CREATE FUNCTION rs_recsql(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r int;
BEGIN
    IF n = 0 THEN RETURN 0; END IF;
    EXECUTE 'SELECT rs_recsql($1)' INTO r USING n - 1;
    RETURN r;
END $$;
SET steward.track = 'all';
SELECT steward.reset();
SELECT dropped AS dropped_before FROM steward.collector WHERE structure = 'statements' \gset
SELECT rs_recsql(40);
SELECT sum(calls) AS nested_calls FROM steward.statements
 WHERE NOT toplevel AND query = 'SELECT rs_recsql($1)';
SELECT dropped - :dropped_before AS dropped FROM steward.collector WHERE structure = 'statements';
-- An error 30 levels down fails every statement in flight above it.
SELECT steward.reset();
CREATE FUNCTION rs_fail(n int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r int;
BEGIN
    IF n = 0 THEN RETURN 1 / 0; END IF;
    EXECUTE 'SELECT rs_fail($1)' INTO r USING n - 1;
    RETURN r;
END $$;
\set VERBOSITY terse
SELECT rs_fail(30);
\set VERBOSITY default
SELECT sum(calls) AS calls, sum(errors) AS errors FROM steward.statements
 WHERE NOT toplevel AND query = 'SELECT rs_fail($1)';
RESET steward.track;
DROP FUNCTION rs_recsql(int), rs_fail(int);

-- steward.capacity.avg_row_bytes is bytes on disk per row, as its comment
-- and docs/operations.md say (review11 R11-6; README called it the row
-- width): the
-- table's size over reltuples, bloat included -- after deleting 9 rows of
-- 10 all over the table, several times the width of a row's data.
CREATE TABLE rs_churn (id int PRIMARY KEY, pad text) USING steward;
INSERT INTO rs_churn SELECT g, repeat('x', 20) FROM generate_series(1, 2000) g;
DELETE FROM rs_churn WHERE id % 10 <> 0;
VACUUM ANALYZE rs_churn;
SELECT c.avg_row_bytes = round(pg_table_size('rs_churn')::numeric / k.reltuples::numeric, 1) AS table_bytes_per_reltuple,
       c.avg_row_bytes > 5 * (SELECT avg(pg_column_size(r.*)) FROM rs_churn r) AS bloat_included
  FROM steward.capacity c, pg_class k
 WHERE c.relid = 'rs_churn'::regclass AND k.oid = 'rs_churn'::regclass;
SELECT col_description('steward.capacity'::regclass,
                       (SELECT attnum FROM pg_attribute WHERE attrelid = 'steward.capacity'::regclass
                           AND attname = 'avg_row_bytes')) AS avg_row_bytes_is;
DROP TABLE rs_churn;
SELECT steward.reset();
