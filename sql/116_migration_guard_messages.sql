-- The migration DDL guard's refusals are whole sentences (codereview F15:
-- relayout.c's GuardMsg / IndexStepMsg tables, no message assembled from
-- fragments, details through errdetail): each kind of refusal other tests
-- do not show, with its object's name, relation, migration and table in
-- their places.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE gm_c (id int PRIMARY KEY, a int, b int) USING steward;
INSERT INTO gm_c SELECT g, g, g FROM generate_series(1, 5) g;
CREATE TABLE gm_t (id int PRIMARY KEY, k int, v int, CONSTRAINT gm_t_v CHECK (v > 0)) USING steward;
INSERT INTO gm_t SELECT g, g, g FROM generate_series(1, 5) g;
CREATE TABLE gm_parent (x int);
CREATE TABLE gm_i (id int PRIMARY KEY, a int, b int) USING steward;
CREATE UNIQUE INDEX gm_i_b ON gm_i (b);
SELECT steward.migration_start('gm_c_m', '[{"alter_column": {"table": "gm_c", "column": "a", "name": "a2", "type": "bigint"}}]');
SELECT steward.migration_start('gm_t_rl', '[{"relayout": {"table": "gm_t", "partition_by": "HASH (id)", "partitions": 2}}]');
SELECT steward.migration_start('gm_i_m', '[{"create_index": {"table": "gm_i", "name": "gm_i_a", "definition": "(a)", "unique": true}}]');

-- column migration
ALTER TABLE gm_c ALTER COLUMN b TYPE bigint;
ALTER TABLE gm_c INHERIT gm_parent;
ALTER TABLE gm_c OWNER TO CURRENT_USER;
ALTER TABLE gm_c DISABLE TRIGGER ALL;
ALTER TRIGGER zz_steward_migration ON gm_c RENAME TO gm_x;
-- relayout
ALTER TABLE gm_t SET LOGGED;
ALTER TABLE gm_t INHERIT gm_parent;
ALTER TABLE gm_t ENABLE TRIGGER ALL;
ALTER TABLE gm_t RENAME CONSTRAINT gm_t_v TO gm_t_w;
ALTER TABLE gm_t_relayout_new RENAME CONSTRAINT gm_t_v TO gm_t_w;
ALTER TRIGGER zz_steward_relayout ON gm_t DEPENDS ON EXTENSION plpgsql;
CREATE MATERIALIZED VIEW gm_mv AS SELECT id FROM gm_t_relayout_new;
-- index migration
ALTER TABLE gm_i DROP COLUMN a;
ALTER TABLE gm_i RENAME COLUMN a TO a_old;
ALTER TABLE gm_i ALTER COLUMN a TYPE bigint;
ALTER TABLE gm_i RENAME TO gm_i2;
ALTER TABLE gm_i SET SCHEMA steward;
\echo :LAST_ERROR_SQLSTATE

SELECT steward.migration_rollback('gm_c_m');
SELECT steward.migration_rollback('gm_t_rl');
SELECT steward.migration_rollback('gm_i_m');
DROP TABLE gm_c, gm_t, gm_i, gm_parent;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('gm_c_m', 'gm_t_rl', 'gm_i_m');
\i test/sql/drop_migration_records.sql
SELECT count(*) FROM steward.migration_runs WHERE name LIKE 'gm\_%';
