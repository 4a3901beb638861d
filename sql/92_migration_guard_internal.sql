-- The migration functions run as their caller, so PUBLIC executes their
-- internal helpers; a table owner calling one directly must not go around
-- the DDL guard on its own tables (review: _migration_exec executable by
-- PUBLIC).  Only a call from pg_steward's own code makes a statement the
-- migration's own (guard bypass), asks for a backfill batch, apply mode,
-- or writes the catalog; called directly, _migration_exec runs the
-- statement as the owner would, under the guard.  A non-superuser owner
-- still drives a migration from start to cleanup.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE gi_owner;
GRANT CREATE ON SCHEMA public TO gi_owner;
SELECT format('GRANT CREATE ON DATABASE %I TO gi_owner', current_database()) \gexec
SET ROLE gi_owner;
CREATE TABLE gi (id int PRIMARY KEY, amt numeric NOT NULL, note text) USING steward;
INSERT INTO gi SELECT g, g * 1.5, 'n' FROM generate_series(1, 20) g;
SELECT steward.migration_start('gi_m', '[{"alter_column": {"table": "gi", "column": "amt",
        "type": "bigint", "up": "round(amt * 100)", "down": "amt / 100.0"}}]');

-- Directly: the statement is the owner's, and the guard refuses it.
SELECT steward._migration_exec('gi', 'ALTER TABLE public.gi DROP COLUMN note');
\echo :LAST_ERROR_SQLSTATE
SELECT steward._migration_exec('gi', 'ALTER TABLE public.gi ADD COLUMN extra int');
\echo :LAST_ERROR_SQLSTATE
SELECT steward._migration_exec('gi', 'DROP TRIGGER zz_steward_migration ON public.gi');
\echo :LAST_ERROR_SQLSTATE
-- from a function of the owner's, or a DO block: the same
DO $$ BEGIN PERFORM steward._migration_exec('gi', 'ALTER TABLE public.gi DROP COLUMN note'); END $$;
\echo :LAST_ERROR_SQLSTATE
-- a backfill statement (no dual-write trigger, no user triggers): refused
SELECT steward._migration_exec('gi', 'UPDATE public.gi SET note = ''x''', NULL, true);
\echo :LAST_ERROR_SQLSTATE
-- the catalog: releasing the migration by hand would turn the guard off
SELECT steward._migration_record('update', 'gi_m', '{"release": true, "status": "rolled_back"}');
\echo :LAST_ERROR_SQLSTATE
-- what the owner may do anyway still runs
SELECT steward._migration_exec('gi', 'SELECT count(*) FROM public.gi');
SELECT attname FROM pg_attribute WHERE attrelid = 'gi'::regclass AND attnum > 0
   AND NOT attisdropped ORDER BY attnum;
SELECT status, phase FROM steward.migration_runs WHERE name = 'gi_m';

-- The migration itself runs through, as this non-superuser owner.
CALL steward.migration_backfill('gi_m');
SELECT bool_and(passed) AS valid FROM steward.migration_validate('gi_m');
SELECT steward.migration_complete('gi_m');
SELECT steward.migration_cleanup('gi_m');
SELECT status, phase FROM steward.migration_runs WHERE name = 'gi_m';
SELECT id, amt FROM gi ORDER BY id LIMIT 3;

-- A relayout: apply mode (rows stored as sent into the other layout)
-- only for the migration's batches.
CREATE TABLE gr (id int PRIMARY KEY, v int) USING steward;
INSERT INTO gr SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('gr_m', '[{"relayout": {"table": "gr", "partition_by": "HASH (id)", "partitions": 2}}]');
SELECT steward._relayout_exec('gr', 'INSERT INTO public.gr_relayout_new VALUES (100, 1)');
\echo :LAST_ERROR_SQLSTATE
SELECT steward._migration_exec('gr', 'ALTER TABLE public.gr_relayout_new ADD COLUMN w int');
\echo :LAST_ERROR_SQLSTATE
CALL steward.migration_backfill('gr_m');
SELECT bool_and(passed) AS valid FROM steward.migration_validate('gr_m');
SELECT steward.migration_rollback('gr_m');
SELECT status FROM steward.migration_runs WHERE name = 'gr_m';

-- 4. CREATE VIEW, ALTER PUBLICATION, CREATE STATISTICS on a table under
-- migration: what the migration cannot carry is refused (55006), the rest
-- passes and is carried.
RESET ROLE;
CREATE ROLE gi_other;
GRANT CREATE ON SCHEMA public TO gi_other;
CREATE PUBLICATION gi_pub WITH (publish_via_partition_root = true);
ALTER PUBLICATION gi_pub OWNER TO gi_owner;
SET ROLE gi_owner;
CREATE TABLE gv (id int PRIMARY KEY, amt numeric NOT NULL, note text) USING steward;
INSERT INTO gv SELECT g, g, 'n' FROM generate_series(1, 5) g;
GRANT SELECT ON gv TO gi_other;
SELECT steward.migration_start('gv_m', '[{"alter_column": {"table": "gv", "column": "amt",
        "type": "bigint", "up": "round(amt)", "down": "amt::numeric"}}]');
CREATE VIEW gv_all AS SELECT * FROM gv;
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW gv_amt AS SELECT id, amt FROM public.gv WHERE note IS NOT NULL;
\echo :LAST_ERROR_SQLSTATE
CREATE MATERIALIZED VIEW gv_mv AS SELECT sum(amt) FROM gv;
\echo :LAST_ERROR_SQLSTATE
-- columns the migration leaves alone, the shape's view: pass
CREATE VIEW gv_note AS SELECT id, note FROM gv;
CREATE STATISTICS gv_st (ndistinct) ON id, note FROM gv;
-- over amt: the cleanup would drop them with the old column (codereview7 C)
CREATE STATISTICS gv_st_amt (ndistinct) ON id, amt FROM gv;
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_rollback('gv_m');
DROP VIEW gv_note;

CREATE TABLE gw (id int PRIMARY KEY, v int) USING steward;
INSERT INTO gw SELECT g, g FROM generate_series(1, 6) g;
GRANT SELECT ON gw TO gi_other;
SELECT steward.migration_start('gw_m', '[{"relayout": {"table": "gw", "partition_by": "HASH (id)", "partitions": 2}}]');
CREATE VIEW gw_v_new AS SELECT id FROM gw_relayout_new;
\echo :LAST_ERROR_SQLSTATE
-- statistics get a twin at the cutover (sql/87)
CREATE STATISTICS gw_st (ndistinct) ON id, v FROM gw;
ALTER PUBLICATION gi_pub ADD TABLE gw_relayout_new;
\echo :LAST_ERROR_SQLSTATE
SET ROLE gi_other;
CREATE VIEW gw_v_other AS SELECT id, v FROM public.gw;
\echo :LAST_ERROR_SQLSTATE
SET ROLE gi_owner;
-- the owner's view on the table and the table's publication: carried
CREATE VIEW gw_v AS SELECT id, v FROM gw;
ALTER PUBLICATION gi_pub ADD TABLE gw;
CALL steward.migration_backfill('gw_m');
SELECT bool_and(passed) AS valid FROM steward.migration_validate('gw_m');
SELECT steward.migration_complete('gw_m');
SELECT steward.migration_cleanup('gw_m');
SELECT c.relkind, (SELECT count(*) FROM gw_v) AS view_rows,
       EXISTS (SELECT 1 FROM pg_publication_rel pr JOIN pg_publication p ON p.oid = pr.prpubid
                WHERE p.pubname = 'gi_pub' AND pr.prrelid = 'gw'::regclass) AS published
  FROM pg_class c WHERE c.oid = 'gw'::regclass;
SELECT pg_get_viewdef('gw_v'::regclass) LIKE '%FROM gw;' AS view_on_gw;
DROP VIEW gw_v;
RESET ROLE;
DROP PUBLICATION gi_pub;
DROP TABLE gv, gw;
REVOKE CREATE ON SCHEMA public FROM gi_other;
DROP OWNED BY gi_other;
DROP ROLE gi_other;

RESET ROLE;
DROP TABLE gi, gr;
REVOKE CREATE ON SCHEMA public FROM gi_owner;
SELECT format('REVOKE CREATE ON DATABASE %I FROM gi_owner', current_database()) \gexec
DROP OWNED BY gi_owner;
DROP ROLE gi_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('gi_m'), ('gr_m'), ('gv_m'), ('gw_m');
\i test/sql/drop_migration_records.sql
