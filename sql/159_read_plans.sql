-- The DDL guards' catalog reads keep their plans for the backend
-- (steward_spi_read_latest): a kept plan must read what a fresh one
-- would, after the catalog it reads is dropped and made again in the same
-- session, under another search_path, and after more uses than the plan
-- cache needs to switch to a generic plan.
CREATE EXTENSION IF NOT EXISTS pg_steward;
SET client_min_messages = warning;
CREATE TABLE rp (id int PRIMARY KEY, a int);
INSERT INTO rp SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('rp1', '[{"alter_column": {"table": "rp", "column": "a", "type": "bigint"}}]') IS NOT NULL AS started;
-- the rename guard refuses, every time (custom plans first, then generic)
SET client_min_messages = notice;
DO $$
DECLARE
    refused int := 0;
BEGIN
    FOR i IN 1..8 LOOP
        BEGIN
            ALTER TABLE rp RENAME COLUMN a TO a9;
        EXCEPTION WHEN object_in_use THEN
            refused := refused + 1;
        END;
    END LOOP;
    RAISE NOTICE 'refused % of 8', refused;
END
$$;
-- another table is not guarded: the kept plan takes its argument
CREATE TABLE rp_other (id int PRIMARY KEY, a int);
ALTER TABLE rp_other RENAME COLUMN a TO a9;
-- a search_path whose first schema shadows the catalog's names
CREATE SCHEMA rp_shadow;
CREATE TABLE rp_shadow.migration_tables (migration text, relid oid, active bool);
CREATE TABLE rp_shadow.migration_runs (name text, status text);
SET search_path = rp_shadow, public;
ALTER TABLE public.rp RENAME COLUMN a TO a9;
RESET search_path;
SELECT steward.migration_rollback('rp1') IS NOT NULL AS rolled_back;
ALTER TABLE rp RENAME COLUMN a TO a2;
ALTER TABLE rp RENAME COLUMN a2 TO a;
-- the catalog dropped and made again in this session: the kept plans
-- read the new one
DROP EXTENSION pg_steward CASCADE;
CREATE EXTENSION pg_steward;
ALTER TABLE rp RENAME COLUMN a TO a2;
ALTER TABLE rp RENAME COLUMN a2 TO a;
SELECT steward.migration_start('rp2', '[{"alter_column": {"table": "rp", "column": "a", "type": "bigint"}}]') IS NOT NULL AS started;
ALTER TABLE rp RENAME COLUMN a TO a9;
SELECT steward.migration_rollback('rp2') IS NOT NULL AS rolled_back;
DROP TABLE rp, rp_other;
DROP SCHEMA rp_shadow CASCADE;
-- The relayout trigger's catalog read names its operators: a session
-- whose search_path puts its own = (regclass, regclass) before pg_catalog does not
-- reach it (codereview4 #6; PostgreSQL resolves the IN to pg_catalog's
-- operator here anyway: this guards the qualified form).
CREATE TABLE rl (id int PRIMARY KEY, k int NOT NULL);
SELECT steward.migration_start('rl1', '[{"relayout": {"table": "rl", "partition_by": "HASH (id)", "partitions": 2}}]') IS NOT NULL AS started;
CREATE SCHEMA rp_ops;
CREATE FUNCTION rp_ops.oideq(regclass, regclass) RETURNS boolean LANGUAGE plpgsql AS
  $$BEGIN RAISE EXCEPTION 'rp_ops.= called'; END$$;
CREATE OPERATOR rp_ops.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = rp_ops.oideq);
SET search_path = rp_ops, pg_catalog, public;
INSERT INTO rl VALUES (1, 1);
UPDATE rl SET k = 2 WHERE id = 1;
-- called directly, the read runs before the own-code check: 42501, not
-- the session's operator
SELECT steward._relayout_exec('public.rl', 'SELECT 1');
RESET search_path;
SELECT count(*) FROM rl;
SELECT steward.migration_rollback('rl1') IS NOT NULL AS rolled_back;
DROP TABLE rl;
DROP SCHEMA rp_ops CASCADE;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('rp2', 'rl1');
\i test/sql/drop_migration_records.sql
