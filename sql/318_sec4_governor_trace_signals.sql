-- fuzz2: steward.governor_trace read ragged signals without a word: an
-- array of two dimensions as one list of ticks, a shorter signal as no
-- signal past its end, a NULL lag or lock count as none.  Each signal is
-- now one element per tick, all of one length (p99_ratio's NULL is still
-- a tick without foreground load).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT count(*) FROM steward.governor_trace('{{1,1},{1,1}}'::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM steward.governor_trace(ARRAY[1, 1, 1]::float8[], ARRAY[0, 0]::float8[]);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM steward.governor_trace(ARRAY[1, 1]::float8[], NULL, ARRAY[0, NULL]);
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM steward.governor_trace(ARRAY[1, 1]::float8[], cpu_wait_ratio => '{{1},{1}}');
\echo :LAST_ERROR_SQLSTATE
-- Still accepted: NULL ticks of p99_ratio, signals of one length, an empty trace.
SELECT count(*) FROM steward.governor_trace(ARRAY[NULL, 1]::float8[], ARRAY[0, 100]::float8[],
                                            ARRAY[0, 1], ARRAY[1000, 1000], ARRAY[1, 1]::float8[]);
SELECT count(*) FROM steward.governor_trace('{}'::float8[]);
