-- steward.health's buffer_hit_ratio judged a hit ratio since the
-- statistics were reset with no minimum of reads, so a fresh database
-- warned on a handful of catalog blocks read from disk (edges44).  It is
-- now 'unknown' until the database read steward.health_min_reads blocks
-- (hits and reads: events), as the windowed checks are under theirs.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

SELECT setting, unit, context FROM pg_settings WHERE name = 'steward.health_min_reads';
-- Any ratio under 1 is critical: only the minimum keeps it from judging.
SET steward.health_buffer_hit_warn = 1;
SET steward.health_buffer_hit_critical = 1;
SET steward.health_min_reads = 2147483647;
SELECT status, events > 0 AS blocks_read, events = (SELECT blks_hit + blks_read
                                                       FROM steward.database_hit_ratio
                                                      WHERE datname = current_database()) AS events_are_blocks,
       min_events, value IS NOT NULL AS measured, first_response
  FROM steward.health WHERE "check" = 'buffer_hit_ratio';
-- With the minimum met, it judges the value.
SET steward.health_min_reads = 0;
SELECT status <> 'unknown' AS judged, min_events,
       status = CASE WHEN value < 1 THEN 'critical' ELSE 'ok' END AS by_threshold
  FROM steward.health WHERE "check" = 'buffer_hit_ratio';
RESET ALL;
SELECT min_events FROM steward.health WHERE "check" = 'buffer_hit_ratio';
