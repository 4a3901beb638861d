-- What the statistics views show to whom (review9 F3, F23, F6, F26).
--  * hot_rows: key values only to roles that may read them (SELECT on the
--    table or on every key column, no row security applying to them), as
--    core's BuildIndexValueDescription; pg_read_all_stats alone sees the
--    counts without the key (before: owners and pg_read_all_stats saw it).
--  * transition_counts: rows of tables the role may SELECT without row
--    security, or every row for pg_read_all_stats (before: every row to
--    PUBLIC).
--  * _transition_running(pid, started_at): answers only for a backend
--    pg_stat_activity would show the caller, or a run it may read (before:
--    SECURITY DEFINER, any backend's activity to PUBLIC).
--  * steward.slow_query_threshold: superuser-only (before: USERSET, so any
--    role could raise the shared slow-call rate).
SET client_min_messages = warning;
CREATE ROLE sp_owner;
CREATE ROLE sp_mon IN ROLE pg_monitor;
CREATE ROLE sp_reader;
CREATE ROLE sp_keycols;
CREATE ROLE sp_plain;
SELECT format('GRANT CREATE ON DATABASE %I TO sp_owner', current_database()) \gexec
CREATE SCHEMA sp AUTHORIZATION sp_owner;
GRANT USAGE ON SCHEMA sp TO sp_mon, sp_reader, sp_keycols, sp_plain;
RESET client_min_messages;

SET ROLE sp_owner;
CREATE TABLE sp.people (email text PRIMARY KEY, balance int, tenant text) USING steward;
INSERT INTO sp.people VALUES ('ceo@example.com', 10, 'a'), ('cfo@example.com', 5, 'b');
UPDATE sp.people SET balance = balance + 1 WHERE email = 'ceo@example.com';
GRANT SELECT ON sp.people TO sp_reader;
GRANT SELECT (email) ON sp.people TO sp_keycols;
SELECT steward.create_state_machine('sp_m', ARRAY['created', 'paid', 'refunded'], ARRAY['created'],
                                    ARRAY['created->paid', 'paid->refunded']);
CREATE TABLE sp.refunds (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created') USING steward;
SELECT steward.attach_state_machine('sp.refunds', 'st', 'sp_m');
INSERT INTO sp.refunds (id) SELECT g FROM generate_series(1, 7) g;
UPDATE sp.refunds SET st = 'paid' WHERE id <= 5;
UPDATE sp.refunds SET st = 'refunded' WHERE id <= 2;
GRANT SELECT ON sp.refunds TO sp_reader;
-- the owner sees its keys and its transitions
SELECT key_text, updates FROM steward.hot_rows WHERE relid = 'sp.people'::regclass;
SELECT from_state, to_state, transitions FROM steward.transition_counts
 WHERE relid = 'sp.refunds'::regclass ORDER BY 1, 2;
RESET ROLE;

-- F3: pg_monitor (pg_read_all_stats) may not read the table: counts, no key.
SET ROLE sp_mon;
SELECT count(*) AS rows, count(key_text) AS keys FROM steward.hot_rows WHERE relid = 'sp.people'::regclass;
SELECT email FROM sp.people;    -- 42501, as core refuses it
RESET ROLE;
-- SELECT on the table, or on the key columns: the key is shown.
SET ROLE sp_reader;
SELECT key_text FROM steward.hot_rows WHERE relid = 'sp.people'::regclass;
RESET ROLE;
SET ROLE sp_keycols;
SELECT key_text FROM steward.hot_rows WHERE relid = 'sp.people'::regclass;
RESET ROLE;
SET ROLE sp_plain;
SELECT count(*) AS rows, count(key_text) AS keys FROM steward.hot_rows WHERE relid = 'sp.people'::regclass;
RESET ROLE;
-- Row security applying to the reader hides the key (some rows are hidden from it).
ALTER TABLE sp.people ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_a ON sp.people USING (tenant = 'a');
SET ROLE sp_reader;
SELECT count(*) AS rows, count(key_text) AS keys FROM steward.hot_rows WHERE relid = 'sp.people'::regclass;
RESET ROLE;
SET ROLE sp_owner;   -- the owner is not subject to its policies (not forced)
SELECT key_text FROM steward.hot_rows WHERE relid = 'sp.people'::regclass;
RESET ROLE;
ALTER TABLE sp.people DISABLE ROW LEVEL SECURITY;

-- F23: transition counts of tables the role may read; all for pg_read_all_stats.
SET ROLE sp_plain;
SELECT count(*) AS transition_rows FROM steward.transition_counts WHERE relid = 'sp.refunds'::regclass;
RESET ROLE;
SET ROLE sp_reader;
SELECT from_state, to_state, transitions FROM steward.transition_counts
 WHERE relid = 'sp.refunds'::regclass ORDER BY 1, 2;
RESET ROLE;
SET ROLE sp_mon;
SELECT count(*) AS transition_rows FROM steward.transition_counts WHERE relid = 'sp.refunds'::regclass;
RESET ROLE;

-- F6: _transition_running tells a role only about backends it may see.
-- This session runs a statement now; its login role is a superuser.
SELECT steward._transition_running(pg_backend_pid(), now()) AS superuser_sees;
SET ROLE sp_plain;
SELECT a.state IS NULL AS activity_hidden,
       steward._transition_running(pg_backend_pid(), now()) AS plain_sees
  FROM pg_stat_activity a WHERE a.pid = pg_backend_pid();
RESET ROLE;
SET ROLE sp_mon;
SELECT steward._transition_running(pg_backend_pid(), now()) AS monitor_sees;
RESET ROLE;
-- A run of the owner's table recorded with this backend: its owner sees it.
INSERT INTO steward.transition_runs (relid, state_column, from_state, to_state, rows_total, pid, started_at)
VALUES ('sp.refunds', 'st', 'paid', 'refunded', 0, pg_backend_pid(), now() + interval '1 hour');
SET ROLE sp_owner;
SELECT steward._transition_running(r.pid, r.started_at) AS owner_sees_its_run,
       steward._transition_running(r.pid, r.started_at - interval '2 hours') AS earlier_start
  FROM steward.transition_runs r WHERE r.relid = 'sp.refunds'::regclass;
RESET ROLE;
SET ROLE sp_plain;
SELECT steward._transition_running(pg_backend_pid(), now() + interval '1 hour') AS plain_still_blind;
RESET ROLE;
DELETE FROM steward.transition_runs WHERE relid = 'sp.refunds'::regclass;

-- F26: the slow-call threshold is a superuser's setting.
SET ROLE sp_plain;
SET steward.slow_query_threshold = 0;
SET steward.slow_query_ms = 0;
RESET ROLE;
SELECT context FROM pg_settings WHERE name = 'steward.slow_query_threshold';
SET steward.slow_query_threshold = 250;
SHOW steward.slow_query_threshold;
RESET steward.slow_query_threshold;

SET client_min_messages = warning;
DROP SCHEMA sp CASCADE;
SELECT steward.drop_state_machine('sp_m');
SELECT format('REVOKE CREATE ON DATABASE %I FROM sp_owner', current_database()) \gexec
DROP ROLE sp_owner, sp_mon, sp_reader, sp_keycols, sp_plain;
RESET client_min_messages;
