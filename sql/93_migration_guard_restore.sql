-- The DDL guard no longer stands down for any session that sets
-- check_function_bodies = off (review: pg_dump's scripts set it, and so
-- may anything): it stands down, but for the partition checks, only for
-- the tables of a migration whose record something else than the
-- migration functions wrote -- a restore's COPY, which loads the record
-- before rebuilding the tables' constraints, indexes and triggers --
-- until the migration's next step.  (TAP 056 and 058 restore dumps.)
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE gq_owner;
GRANT CREATE ON SCHEMA public TO gq_owner;
SELECT format('GRANT CREATE ON DATABASE %I TO gq_owner', current_database()) \gexec
CREATE SCHEMA gq_s AUTHORIZATION gq_owner;
SET ROLE gq_owner;
CREATE TABLE gq (id int PRIMARY KEY, amt numeric NOT NULL, note text) USING steward;
INSERT INTO gq SELECT g, g, 'n' FROM generate_series(1, 10) g;
SELECT steward.migration_start('gq_m', '[{"alter_column": {"table": "gq", "column": "amt",
        "type": "bigint", "up": "round(amt)", "down": "amt::numeric"}}]');
CREATE TABLE gq_r (id int PRIMARY KEY, v int) USING steward;
INSERT INTO gq_r SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('gq_rl', '[{"relayout": {"table": "gq_r", "partition_by": "HASH (id)", "partitions": 2}}]');
SELECT name, restored FROM steward.migration_runs WHERE name IN ('gq_m', 'gq_rl') ORDER BY 1;

-- 1. check_function_bodies = off changes nothing.
SET check_function_bodies = off;
ALTER TABLE gq ADD COLUMN extra int;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gq DROP COLUMN note;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gq ALTER COLUMN amt SET DEFAULT 1;
\echo :LAST_ERROR_SQLSTATE
DROP TRIGGER zz_steward_migration ON gq;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gq_r_relayout_new ADD CONSTRAINT gq_pos CHECK (v > 0);
\echo :LAST_ERROR_SQLSTATE
CREATE UNIQUE INDEX gq_r_v ON gq_r (v);
\echo :LAST_ERROR_SQLSTATE
CREATE TRIGGER gq_trg BEFORE INSERT ON gq_r FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gq_r RENAME TO gq_r2;
\echo :LAST_ERROR_SQLSTATE
RESET check_function_bodies;
SELECT attname FROM pg_attribute WHERE attrelid = 'gq'::regclass AND attnum > 0
   AND NOT attisdropped ORDER BY attnum;
SELECT count(*) AS user_constraints FROM pg_constraint WHERE conrelid = 'gq_r_relayout_new'::regclass AND contype = 'c';

-- 2. A record written by something else than the migration functions
-- (here a superuser's UPDATE, as a restore's COPY would write it) is
-- marked restored: its tables meet the partition checks only ...
RESET ROLE;
UPDATE steward.migration_runs SET error = error WHERE name IN ('gq_m', 'gq_rl');
SELECT name, restored FROM steward.migration_runs WHERE name IN ('gq_m', 'gq_rl') ORDER BY 1;
SET ROLE gq_owner;
ALTER TABLE gq_r_relayout_new ADD CONSTRAINT gq_pos CHECK (v > 0) NOT VALID;
ALTER TABLE gq_r ADD CONSTRAINT gq_pos CHECK (v > 0) NOT VALID;
CREATE TABLE gq_p (LIKE gq_r);
ALTER TABLE gq_r_relayout_new ATTACH PARTITION gq_p FOR VALUES WITH (MODULUS 4, REMAINDER 3);
\echo :LAST_ERROR_SQLSTATE
-- ... until the migration's next step clears the mark.
CALL steward.migration_backfill('gq_rl');
CALL steward.migration_backfill('gq_m');
SELECT name, restored FROM steward.migration_runs WHERE name IN ('gq_m', 'gq_rl') ORDER BY 1;
ALTER TABLE gq ADD COLUMN extra int;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gq_r_relayout_new DROP CONSTRAINT gq_pos;
\echo :LAST_ERROR_SQLSTATE
SELECT bool_and(passed) AS valid FROM steward.migration_validate('gq_rl');
SELECT steward.migration_rollback('gq_rl');
SELECT steward.migration_rollback('gq_m');

-- 3. Index migrations (create_index, drop_index) are guarded too: DDL
-- that drops or renames the index a step builds or will drop, renames or
-- moves the table, or drops, retypes or renames a column the index covers
-- (its build statement names them) is refused (55006); the rest passes.
CREATE TABLE gx (id int PRIMARY KEY, a int, b int, c text) USING steward;
CREATE INDEX gx_b ON gx (b);
INSERT INTO gx SELECT g, g, g, 'c' FROM generate_series(1, 10) g;
SELECT steward.migration_start('gx_m', '[{"create_index": {"table": "gx", "name": "gx_a", "definition": "(a)", "where": "c IS NOT NULL"}},
                                         {"drop_index": {"name": "gx_b", "force": true}}]');
-- before the build
ALTER TABLE gx DROP COLUMN a;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gx RENAME COLUMN c TO cc;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gx RENAME TO gx2;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gx SET SCHEMA gq_s;
\echo :LAST_ERROR_SQLSTATE
DROP INDEX gx_b;
\echo :LAST_ERROR_SQLSTATE
ALTER INDEX gx_b RENAME TO gx_b2;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gx ALTER COLUMN b TYPE bigint;
\echo :LAST_ERROR_SQLSTATE
CALL steward.migration_backfill('gx_m');
SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = 'gx'::regclass ORDER BY indexrelid::regclass::text;
-- after the build: the built index itself
DROP INDEX gx_a;
\echo :LAST_ERROR_SQLSTATE
ALTER INDEX gx_a RENAME TO gx_a2;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gx ALTER COLUMN c TYPE varchar(10);
\echo :LAST_ERROR_SQLSTATE
-- what leaves the steps' indexes alone passes
ALTER TABLE gx ADD COLUMN d int;
ALTER TABLE gx RENAME COLUMN d TO dd;
ALTER TABLE gx DROP COLUMN dd;
ALTER INDEX gx_a SET (fillfactor = 80);
CREATE INDEX gx_id ON gx (id, b);
DROP INDEX gx_id;
SELECT "check", passed FROM steward.migration_validate('gx_m') WHERE NOT passed;
SELECT steward.migration_complete('gx_m');
SELECT steward.migration_cleanup('gx_m');
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'gx'::regclass ORDER BY indexrelid::regclass::text;
-- after the cleanup everything passes again
ALTER INDEX gx_a RENAME TO gx_a2;
ALTER TABLE gx DROP COLUMN c;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'gx'::regclass ORDER BY indexrelid::regclass::text;

-- 5. DROP TABLE ... CASCADE of a column migration's tables (the guard
-- lets it pass: the user drops the table on purpose) ends the migration
-- as dropped once no table is left, and leaves nothing of it: no shape
-- schemas or views, no trigger, no column rows, no table OIDs.
CREATE TABLE gd1 (id int PRIMARY KEY, amt numeric NOT NULL) USING steward;
CREATE TABLE gd2 (id int PRIMARY KEY, x int) USING steward;
INSERT INTO gd1 SELECT g, g FROM generate_series(1, 5) g;
INSERT INTO gd2 SELECT g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('gd_m', '[{"alter_column": {"table": "gd1", "column": "amt", "type": "bigint",
        "up": "round(amt)", "down": "amt::numeric", "check": "amt > 0"}},
        {"add_column": {"table": "gd2", "column": "y", "type": "int", "up": "x"}}]');
SET client_min_messages = warning;
DROP TABLE gd1 CASCADE;
RESET client_min_messages;
-- one table left: the migration goes on with it
SELECT status FROM steward.migration_runs WHERE name = 'gd_m';
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('gd_m', 'gd_m_old') ORDER BY n.nspname, 1;
SET client_min_messages = warning;
DROP TABLE gd2 CASCADE;
RESET client_min_messages;
RESET ROLE;
SELECT status, error FROM steward.migration_runs WHERE name = 'gd_m';
SELECT ord, relid, table_name, active FROM steward.migration_tables WHERE migration = 'gd_m' ORDER BY ord;
SELECT count(*) AS column_rows FROM steward.migration_columns WHERE migration = 'gd_m';
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname IN ('gd_m', 'gd_m_old');
SELECT count(*) AS triggers FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relname IN ('gd1', 'gd2');
SELECT count(*) AS owned_objects FROM pg_class WHERE relowner = 'gq_owner'::regrole
   AND relname LIKE 'gd%';
SET ROLE gq_owner;

RESET ROLE;
DROP TABLE gq, gq_r, gq_p, gx;
REVOKE CREATE ON SCHEMA public FROM gq_owner;
SELECT format('REVOKE CREATE ON DATABASE %I FROM gq_owner', current_database()) \gexec
DROP SCHEMA gq_s;
DROP OWNED BY gq_owner;
DROP ROLE gq_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('gq_m'), ('gq_rl'), ('gx_m'), ('gd_m');
\i test/sql/drop_migration_records.sql
