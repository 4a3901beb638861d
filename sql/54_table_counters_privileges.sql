-- Who sees a table's pg_steward counters (version conflicts, invalid
-- versions, sequence rejects, illegal transitions: business events, like
-- the transition counts of sql/46_stats_privileges.sql): roles that may
-- SELECT the table with no row security applying to them, and
-- pg_read_all_stats.  steward.table_counters() leaves other tables out;
-- steward.table_stats keeps core's activity counts for every steward table
-- (pg_stat_user_tables shows them to everyone) and shows NULL for the
-- counters.  Before, both showed every table's counters to PUBLIC.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE tc_owner;
CREATE ROLE tc_mon IN ROLE pg_read_all_stats;
CREATE ROLE tc_reader;
CREATE ROLE tc_plain;
SELECT format('GRANT CREATE ON DATABASE %I TO tc_owner', current_database()) \gexec
CREATE SCHEMA tc AUTHORIZATION tc_owner;
GRANT USAGE ON SCHEMA tc TO tc_mon, tc_reader, tc_plain;
RESET client_min_messages;

SET ROLE tc_owner;
SELECT steward.create_state_machine('tc_m', ARRAY['created', 'paid', 'refunded'], ARRAY['created'],
                                    ARRAY['created->paid', 'paid->refunded']);
CREATE TABLE tc.orders (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created',
                        ver bigint, seq int NOT NULL DEFAULT 5, tenant text) USING steward;
SELECT steward.attach_state_machine('tc.orders', 'st', 'tc_m');
SELECT steward.track_versions('tc.orders', 'ver');
SELECT steward.track_sequence('tc.orders', 'seq');
INSERT INTO tc.orders (id, tenant) VALUES (1, 'a'), (2, 'b');
UPDATE tc.orders SET ver = ver + 1 WHERE id = 1;
UPDATE tc.orders SET st = 'refunded' WHERE id = 1;          -- illegal
UPDATE tc.orders SET ver = 1, st = 'paid' WHERE id = 1;     -- stale
UPDATE tc.orders SET seq = 1 WHERE id = 2;                  -- lower
GRANT SELECT ON tc.orders TO tc_reader;
-- the owner sees its counters
SELECT version_conflicts, sequence_rejects, illegal_transitions
  FROM steward.table_counters() WHERE relid = 'tc.orders'::regclass;
SELECT inserts IS NOT NULL AS core_counts, version_conflicts, sequence_rejects, illegal_transitions
  FROM steward.table_stats WHERE relid = 'tc.orders'::regclass;
RESET ROLE;

-- A role that may not read the table: no row from the function; the
-- view's row keeps core's counts, the counters NULL.
SET ROLE tc_plain;
SELECT count(*) AS counter_rows FROM steward.table_counters() WHERE relid = 'tc.orders'::regclass;
SELECT inserts IS NOT NULL AS core_counts, version_conflicts, sequence_rejects, illegal_transitions
  FROM steward.table_stats WHERE relid = 'tc.orders'::regclass;
RESET ROLE;
-- SELECT on the table: the counters.
SET ROLE tc_reader;
SELECT version_conflicts, sequence_rejects, illegal_transitions
  FROM steward.table_counters() WHERE relid = 'tc.orders'::regclass;
SELECT version_conflicts, sequence_rejects, illegal_transitions
  FROM steward.table_stats WHERE relid = 'tc.orders'::regclass;
RESET ROLE;
-- pg_read_all_stats without SELECT: the counters (the monitoring role).
SET ROLE tc_mon;
SELECT version_conflicts, sequence_rejects, illegal_transitions
  FROM steward.table_counters() WHERE relid = 'tc.orders'::regclass;
SELECT version_conflicts, sequence_rejects, illegal_transitions
  FROM steward.table_stats WHERE relid = 'tc.orders'::regclass;
RESET ROLE;
-- Row security applying to the reader hides them (a tenant does not count
-- another tenant's refunds); the owner, not subject to its policies, sees
-- them.
ALTER TABLE tc.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_a ON tc.orders USING (tenant = 'a');
SET ROLE tc_reader;
SELECT count(*) AS counter_rows FROM steward.table_counters() WHERE relid = 'tc.orders'::regclass;
SELECT inserts IS NOT NULL AS core_counts, version_conflicts FROM steward.table_stats WHERE relid = 'tc.orders'::regclass;
RESET ROLE;
SET ROLE tc_owner;
SELECT version_conflicts FROM steward.table_stats WHERE relid = 'tc.orders'::regclass;
RESET ROLE;
-- A table without events: zeros for those who may see it, NULL otherwise.
SET ROLE tc_owner;
CREATE TABLE tc.quiet (id int PRIMARY KEY) USING steward;
SELECT version_conflicts, illegal_transitions FROM steward.table_stats WHERE relid = 'tc.quiet'::regclass;
RESET ROLE;
SET ROLE tc_plain;
SELECT version_conflicts, illegal_transitions FROM steward.table_stats WHERE relid = 'tc.quiet'::regclass;
RESET ROLE;

SET client_min_messages = warning;
DROP SCHEMA tc CASCADE;
SELECT steward.drop_state_machine('tc_m');
SELECT format('REVOKE CREATE ON DATABASE %I FROM tc_owner', current_database()) \gexec
DROP ROLE tc_owner, tc_mon, tc_reader, tc_plain;
