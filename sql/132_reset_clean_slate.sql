-- After steward.reset() the statistics are a clean slate, as after
-- pg_stat_statements_reset(): the reset statement is the first call of
-- its own new entry (pg_stat_statements shows "SELECT
-- pg_stat_statements_reset()" with calls = 1), nothing is counted as
-- dropped, and the structures' evictions and dropped events are zero
-- again (pg_stat_statements_info.dealloc is zeroed).  The reset removes
-- the entry of the very statement that calls it: the last statement of an
-- implicit transaction is counted at commit, where no text can be made,
-- so it used to count as one dropped statement (closing33, left alone 4).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE VIEW here_statements AS
  SELECT query, toplevel, calls, errors, rows
    FROM steward.statements
   WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database());
SELECT steward.reset();
SELECT query, calls, errors, rows FROM here_statements ORDER BY query COLLATE "C";
SELECT structure, evictions, dropped FROM steward.collector ORDER BY 1;
SELECT metric, labels, value FROM steward.metrics
 WHERE metric IN ('steward_collector_dropped_total', 'steward_collector_evictions_total')
   AND value <> 0;

-- Twice in a row: the second reset's entry was made by the first.
SELECT steward.reset();
SELECT steward.reset();
SELECT query, calls FROM here_statements ORDER BY query COLLATE "C";
SELECT structure, dropped FROM steward.collector WHERE dropped <> 0;

-- Inside a transaction block the COMMIT is the statement counted at
-- commit: its entry went with the reset too (a utility statement: its
-- text is made at its start, so it was counted before as well).
BEGIN;
SELECT 1 AS in_block;
COMMIT;
BEGIN;
SELECT steward.reset();
COMMIT;
SELECT query, calls FROM here_statements ORDER BY query COLLATE "C";
SELECT structure, dropped FROM steward.collector WHERE dropped <> 0;

-- A prepared statement made before the reset is counted after it: its
-- executions start without looking its entry up (the parse was earlier),
-- and each one used to be dropped at its commit for as long as the
-- session lived (a connection pool's prepared statements, pgbench -M
-- prepared: never counted again after a reset or their eviction).
PREPARE q(int) AS SELECT $1 + 100 AS plus;
EXECUTE q(1);
SELECT steward.reset();
EXECUTE q(2);
EXECUTE q(3);
SELECT query, calls, rows FROM here_statements WHERE query LIKE '%plus';
SELECT structure, dropped FROM steward.collector WHERE dropped <> 0;
DEALLOCATE q;

-- Its failures after the reset are counted too: an error is counted in
-- the abort callback, which cannot make a text, so each one was dropped.
-- With a custom plan (10 / 0 fails while planning) and a generic one (it
-- fails while running).
PREPARE d(int) AS SELECT 10 / $1 AS tenth;
EXECUTE d(1);
SELECT steward.reset();
EXECUTE d(0);
SET plan_cache_mode = force_generic_plan;
EXECUTE d(0);
RESET plan_cache_mode;
SELECT query, calls, errors FROM here_statements WHERE query LIKE '%tenth';
SELECT structure, dropped FROM steward.collector WHERE dropped <> 0;
DEALLOCATE d;

DROP VIEW here_statements;
