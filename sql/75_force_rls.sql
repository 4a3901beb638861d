-- FORCE ROW LEVEL SECURITY: a table whose policies apply to its owner (the
-- multi-tenant pattern: the application connects as the owner, a policy
-- on a session setting picks the tenant).  Everything pg_steward runs as
-- the table's owner must see every row or refuse: column migrations,
-- track_versions, attach_state_machine, ATTACH PARTITION under a rule,
-- validate(), run_transition, state_counts, verify(), checksum_ranges().
-- The refusal is 55000 naming the table, whoever calls (a superuser
-- too: the work runs as the owner, never with the caller's rights), and
-- no row is lost.  Anything else a policy would filter in that context
-- fails with PostgreSQL's own 42501 (row_security = off).  RLS that does
-- not apply to the owner (not forced), an owner with BYPASSRLS, and no
-- RLS at all keep working with full results.
SET client_min_messages = warning;
CREATE ROLE rls_owner;
CREATE ROLE rls_other;
SELECT format('GRANT CREATE ON DATABASE %I TO rls_owner', current_database()) \gexec
CREATE SCHEMA rls AUTHORIZATION rls_owner;
GRANT USAGE ON SCHEMA rls TO rls_other;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

SET ROLE rls_owner;
CREATE TABLE rls.fn (id int PRIMARY KEY, tenant text NOT NULL, price numeric) USING steward;
INSERT INTO rls.fn SELECT g, 't' || (g % 3), g * 1.5 FROM generate_series(1, 9) g;
ALTER TABLE rls.fn ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls.fn FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON rls.fn
    USING (tenant = coalesce(current_setting('app.tenant', true), 't0'));
SELECT count(*) AS owner_sees FROM rls.fn;

-- 1. Column migration: refused at start, as the owner and as a superuser.
SELECT steward.migration_start('fn_m', '[{"alter_column": {"table": "rls.fn",
    "column": "price", "name": "price_cents", "type": "bigint",
    "up": "(price*100)::bigint", "down": "price_cents/100.0"}}]');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT steward.migration_start('fn_m', '[{"alter_column": {"table": "rls.fn",
    "column": "price", "name": "price_cents", "type": "bigint",
    "up": "(price*100)::bigint", "down": "price_cents/100.0"}}]');
SELECT count(*) FROM steward.migration_runs WHERE name = 'fn_m';

-- Started while the owner saw every row, FORCE turned on mid-way: every
-- step that reads the table is refused, the data stays.
SET ROLE rls_owner;
ALTER TABLE rls.fn NO FORCE ROW LEVEL SECURITY;
SELECT steward.migration_start('fn_m', '[{"alter_column": {"table": "rls.fn",
    "column": "price", "name": "price_cents", "type": "bigint",
    "up": "(price*100)::bigint", "down": "price_cents/100.0"}}]') IS NOT NULL AS started;
ALTER TABLE rls.fn FORCE ROW LEVEL SECURITY;
CALL steward.migration_backfill('fn_m');
SELECT "check", passed FROM steward.migration_validate('fn_m');
SELECT steward.migration_complete('fn_m');
-- Writes during the migration still work for the rows the policy shows.
SET app.tenant = 't1';
UPDATE rls.fn SET price = price + 1 WHERE id = 1;
RESET app.tenant;
-- The HINT's way: NO FORCE for the duration, FORCE again afterwards.
ALTER TABLE rls.fn NO FORCE ROW LEVEL SECURITY;
CALL steward.migration_backfill('fn_m');
SELECT "check", passed FROM steward.migration_validate('fn_m') ORDER BY 1;
SELECT steward.migration_complete('fn_m') IS NOT NULL AS completed;
SELECT steward.migration_cleanup('fn_m') IS NOT NULL AS cleaned_up;
ALTER TABLE rls.fn FORCE ROW LEVEL SECURITY;
RESET ROLE;
-- No price lost: every row has its cents.
SELECT id, tenant, price_cents FROM rls.fn ORDER BY id;

-- 2. Rules on stored rows: track_versions, attach_state_machine.
SET ROLE rls_owner;
CREATE TABLE rls.fr (id int PRIMARY KEY, tenant text, version bigint,
                     status text NOT NULL DEFAULT 'a') USING steward;
INSERT INTO rls.fr VALUES (1, 't1', 0, 'zz'), (2, 't2', 5, 'a');
ALTER TABLE rls.fr ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls.fr FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON rls.fr USING (tenant = current_setting('app.tenant', true));
SELECT steward.create_state_machine('rls_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.track_versions('rls.fr', 'version');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.attach_state_machine('rls.fr', 'status', 'rls_m');
RESET ROLE;
-- A superuser caller gets the same refusal: the scan is the owner's.
SELECT steward.track_versions('rls.fr', 'version');
SELECT steward.attach_state_machine('rls.fr', 'status', 'rls_m');
SELECT count(*) FROM steward.column_rules WHERE relid = 'rls.fr'::regclass;
-- So does a caller with BYPASSRLS (a member of the owner's role): its
-- attribute is not lent to the owner's scan.
CREATE ROLE rls_bypass BYPASSRLS IN ROLE rls_owner;
SET ROLE rls_bypass;
SELECT count(*) AS bypass_sees FROM rls.fr;
SELECT steward.track_versions('rls.fr', 'version');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- Not forced: the owner sees every row, and the bad rows are found.
SET ROLE rls_owner;
ALTER TABLE rls.fr NO FORCE ROW LEVEL SECURITY;
SELECT steward.track_versions('rls.fr', 'version');
SELECT steward.attach_state_machine('rls.fr', 'status', 'rls_m');
RESET ROLE;
-- An owner with BYPASSRLS sees every row too, FORCE or not.
ALTER ROLE rls_owner BYPASSRLS;
SET ROLE rls_owner;
ALTER TABLE rls.fr FORCE ROW LEVEL SECURITY;
SELECT steward.track_versions('rls.fr', 'version');
UPDATE rls.fr SET version = 1, status = 'a' WHERE id = 1;
SELECT steward.track_versions('rls.fr', 'version');
SELECT steward.attach_state_machine('rls.fr', 'status', 'rls_m');
RESET ROLE;
ALTER ROLE rls_owner NOBYPASSRLS;

-- 3. ATTACH PARTITION under a rule: a partition whose policies hide its
-- bad rows from its owner is refused, also when a superuser attaches it.
SET ROLE rls_owner;
CREATE TABLE rls.pp (id int, tenant text, version bigint NOT NULL DEFAULT 1,
                     PRIMARY KEY (id)) PARTITION BY RANGE (id);
CREATE TABLE rls.pp1 PARTITION OF rls.pp FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.track_versions('rls.pp', 'version');
CREATE TABLE rls.pp2 (id int, tenant text, version bigint NOT NULL DEFAULT 1,
                      PRIMARY KEY (id)) USING steward;
INSERT INTO rls.pp2 VALUES (100, 't1', 0), (101, 't2', 3);
ALTER TABLE rls.pp2 ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls.pp2 FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON rls.pp2 USING (tenant = 't2');
ALTER TABLE rls.pp ATTACH PARTITION rls.pp2 FOR VALUES FROM (100) TO (200);
RESET ROLE;
ALTER TABLE rls.pp ATTACH PARTITION rls.pp2 FOR VALUES FROM (100) TO (200);
SELECT count(*) FROM pg_inherits WHERE inhrelid = 'rls.pp2'::regclass;

-- verify() of a partitioned table reads each leaf as that leaf's owner.
SET ROLE rls_owner;
INSERT INTO rls.pp VALUES (1, 't1', 1);
ALTER TABLE rls.pp1 ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls.pp1 FORCE ROW LEVEL SECURITY;
SELECT count(*) FROM steward.verify('rls.pp');
ALTER TABLE rls.pp1 NO FORCE ROW LEVEL SECURITY;
SELECT bool_and(passed) FROM steward.verify('rls.pp');
RESET ROLE;

-- 4. validate(): refused, never "passed" on rows it did not see.
SET ROLE rls_owner;
CREATE TABLE rls.fx (id int PRIMARY KEY, tenant text, status text NOT NULL DEFAULT 'a') USING steward;
INSERT INTO rls.fx SELECT g, 't' || (g % 3), 'a' FROM generate_series(1, 9) g;
SELECT steward.attach_state_machine('rls.fx', 'status', 'rls_m');
SELECT steward.set_state_check('rls.fx', 'a', 'select count(*) from fx where tenant = ''t1''');
ALTER TABLE rls.fx ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls.fx FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON rls.fx USING (tenant = coalesce(current_setting('app.tenant', true), 't0'));
SELECT state, passed, violations FROM steward.validate('rls.fx');
RESET ROLE;
SELECT state, passed, violations FROM steward.validate('rls.fx');

-- 5. run_transition: refused before any row moves; state_counts leaves
-- the table out rather than count the rows a policy shows.
SET ROLE rls_owner;
CALL steward.run_transition('rls.fx', 'a', 'b');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS runs FROM steward.transition_runs WHERE relid = 'rls.fx'::regclass;
SELECT state, rows FROM steward.state_counts WHERE relid = 'rls.fx'::regclass;
RESET ROLE;
SELECT state, rows FROM steward.state_counts WHERE relid = 'rls.fx'::regclass;
SELECT status, count(*) FROM rls.fx GROUP BY 1;

-- 6. verify(), checksum_ranges(): the owner gets the FORCE hint, not "run
-- it as the table's owner"; a superuser the same refusal.
SET ROLE rls_owner;
SELECT "check", passed FROM steward.verify('rls.fx');
SELECT * FROM steward.checksum_ranges('rls.fx', 'id', 2);
RESET ROLE;
SELECT "check", passed FROM steward.verify('rls.fx');
\echo :LAST_ERROR_SQLSTATE

-- 7. The net: a check of a table the owner sees in full that reads
-- another table whose policies hide rows from that owner fails with
-- PostgreSQL's own error (row_security = off) instead of counting a subset.
SET ROLE rls_owner;
CREATE TABLE rls.fy (id int PRIMARY KEY, status text NOT NULL DEFAULT 'a') USING steward;
INSERT INTO rls.fy VALUES (1, 'a');
SELECT steward.attach_state_machine('rls.fy', 'status', 'rls_m');
SELECT steward.set_state_check('rls.fy', 'a', 'select count(*) from rls.fx where tenant = ''t1''');
SELECT state, passed, violations FROM steward.validate('rls.fy');
\echo :LAST_ERROR_SQLSTATE

-- 8. Row security that does not apply to the owner (not forced) changes
-- nothing: every step sees every row.
ALTER TABLE rls.fx NO FORCE ROW LEVEL SECURITY;
SELECT state, passed, violations FROM steward.validate('rls.fx');
SELECT state, passed, violations FROM steward.validate('rls.fy');
CALL steward.run_transition('rls.fx', 'a', 'b', batch_size => 4);
SELECT rows_done, rows_remaining, status FROM steward.transition_progress
 WHERE relid = 'rls.fx'::regclass;
SELECT state, rows FROM steward.state_counts WHERE relid = 'rls.fx'::regclass;
SELECT "check", passed FROM steward.verify('rls.fx') WHERE "check" IN ('row_count', 'states status');
SELECT sum(rows) FROM steward.checksum_ranges('rls.fx', 'id', 2);
RESET ROLE;

-- No row security at all: a whole column migration, as before.
SET ROLE rls_owner;
CREATE TABLE rls.plain (id int PRIMARY KEY, price numeric) USING steward;
INSERT INTO rls.plain SELECT g, g * 1.5 FROM generate_series(1, 9) g;
SELECT steward.migration_start('plain_m', '[{"alter_column": {"table": "rls.plain",
    "column": "price", "name": "price_cents", "type": "bigint",
    "up": "(price*100)::bigint", "down": "price_cents/100.0"}}]') IS NOT NULL AS started;
CALL steward.migration_backfill('plain_m');
SELECT bool_and(passed) FROM steward.migration_validate('plain_m');
SELECT steward.migration_complete('plain_m') IS NOT NULL AS completed;
SELECT steward.migration_cleanup('plain_m') IS NOT NULL AS cleaned_up;
SELECT count(price_cents) FROM rls.plain;
RESET ROLE;

-- 9. Relayout (refused up front for a table with row security): row
-- security turned on mid-way is refused by the DDL guard (one layout
-- only); turned on anyway (a superuser going around the guard), FORCE
-- stops its backfill and its rollback; writes go on (the trigger writes
-- the other layout, which has no row security).
SET ROLE rls_owner;
CREATE TABLE rls.rl (id int PRIMARY KEY, tenant text NOT NULL) USING steward;
INSERT INTO rls.rl SELECT g, 't' || (g % 3) FROM generate_series(1, 6) g;
SELECT steward.migration_start('rl_m', '[{"relayout": {"table": "rls.rl",
    "partition_by": "HASH (id)", "partitions": 2}}]') IS NOT NULL AS started;
ALTER TABLE rls.rl ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant ON rls.rl USING (tenant = 't1');
RESET ROLE;
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
SET ROLE rls_owner;
ALTER TABLE rls.rl ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls.rl FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON rls.rl USING (tenant = 't1');
RESET ROLE;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SET ROLE rls_owner;
CALL steward.migration_backfill('rl_m');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO rls.rl VALUES (7, 't1');
SELECT steward.migration_rollback('rl_m');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE rls.rl NO FORCE ROW LEVEL SECURITY;
SELECT steward.migration_rollback('rl_m') IS NOT NULL AS rolled_back;
SELECT count(*) FROM rls.rl;
RESET ROLE;

SET client_min_messages = warning;
SET ROLE rls_owner;
DROP SCHEMA rls CASCADE;
SELECT steward.drop_state_machine('rls_m');
RESET ROLE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM rls_owner', current_database()) \gexec
DROP ROLE rls_bypass;
DROP ROLE rls_owner;
DROP ROLE rls_other;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('fn_m'), ('plain_m'), ('rl_m');
\i test/sql/drop_migration_records.sql
