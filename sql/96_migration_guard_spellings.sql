-- The migration DDL guard judges the relation a statement's name resolves
-- to, not the keyword that names it (codereview F1, F3, F14): ALTER INDEX
-- tbl RENAME TO renames the table, ALTER VIEW | MATERIALIZED VIEW | FOREIGN
-- TABLE tbl RENAME COLUMN and ALTER TYPE tbl RENAME ATTRIBUTE rename one of
-- its columns (core accepts all of these on a table), CREATE FOREIGN TABLE
-- ... INHERITS and ALTER TABLE child INHERIT are CREATE TABLE ... INHERITS;
-- and a unique index's INCLUDE columns are columns it covers.  Each was
-- refused under ALTER TABLE / CREATE TABLE only; now each is refused
-- (55006) the same way, and the table's writes keep working.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE gs_owner;
GRANT CREATE ON SCHEMA public TO gs_owner;
SELECT format('GRANT CREATE ON DATABASE %I TO gs_owner', current_database()) \gexec
CREATE FOREIGN DATA WRAPPER gs_fdw;
CREATE SERVER gs_srv FOREIGN DATA WRAPPER gs_fdw;
GRANT USAGE ON FOREIGN SERVER gs_srv TO gs_owner;
SET ROLE gs_owner;

-- 1. A relayout: the old layout (the application's table), the new one.
CREATE TABLE gs_t (id int PRIMARY KEY, v int) USING steward;
INSERT INTO gs_t SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('gs_t_rl', '[{"relayout": {"table": "gs_t", "partition_by": "HASH (id)", "partitions": 2}}]');
CREATE FOREIGN TABLE gs_ft (w int) INHERITS (gs_t) SERVER gs_srv;
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE gs_ft (w int) INHERITS (gs_t_relayout_new) SERVER gs_srv;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE gs_kid (id int NOT NULL, v int);
ALTER TABLE gs_kid INHERIT gs_t;
\echo :LAST_ERROR_SQLSTATE
ALTER INDEX gs_t RENAME TO gs_t_x;
\echo :LAST_ERROR_SQLSTATE
ALTER INDEX gs_t_relayout_new RENAME TO gs_t_x;
\echo :LAST_ERROR_SQLSTATE
ALTER VIEW gs_t RENAME COLUMN v TO v_z;
\echo :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW gs_t RENAME COLUMN v TO v_z;
\echo :LAST_ERROR_SQLSTATE
ALTER FOREIGN TABLE gs_t RENAME COLUMN v TO v_z;
\echo :LAST_ERROR_SQLSTATE
ALTER TYPE gs_t RENAME ATTRIBUTE v TO v_z;
\echo :LAST_ERROR_SQLSTATE
ALTER VIEW gs_t_relayout_new RENAME COLUMN v TO v_z;
\echo :LAST_ERROR_SQLSTATE
-- what changes no layout passes: an index, a partition of a layout, a view
-- and a foreign table of one's own, under any keyword
ALTER INDEX gs_t_pkey RENAME TO gs_t_pk;
ALTER INDEX gs_t_pk RENAME TO gs_t_pkey;
ALTER INDEX gs_t_p0 RENAME TO gs_t_part0;
ALTER TABLE gs_t_part0 RENAME TO gs_t_p0;
CREATE TABLE gs_other (id int, v int);
CREATE VIEW gs_view AS SELECT id, v FROM gs_other;
ALTER VIEW gs_view RENAME COLUMN v TO v_z;
CREATE FOREIGN TABLE gs_ft (w int) INHERITS (gs_other) SERVER gs_srv;
ALTER FOREIGN TABLE gs_ft RENAME COLUMN w TO w_z;
ALTER FOREIGN TABLE gs_ft ADD COLUMN x int;
SELECT attname FROM pg_attribute WHERE attrelid = 'gs_t'::regclass AND attnum > 0 ORDER BY attnum;
-- the columns are as they were: writes reach both layouts, validate passes
INSERT INTO gs_t VALUES (100, 100);
UPDATE gs_t SET v = v + 1 WHERE id = 1;
CALL steward.migration_backfill('gs_t_rl');
SELECT "check", passed, detail FROM steward.migration_validate('gs_t_rl') WHERE NOT passed;
SELECT steward.migration_complete('gs_t_rl');
-- after complete: the old layout and the live table (the new layout)
ALTER INDEX gs_t_relayout_old RENAME TO gs_t_x;
\echo :LAST_ERROR_SQLSTATE
ALTER INDEX gs_t RENAME TO gs_t_x;
\echo :LAST_ERROR_SQLSTATE
ALTER TYPE gs_t_relayout_old RENAME ATTRIBUTE v TO v_z;
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_cleanup('gs_t_rl');
SELECT count(*), sum(v) FROM gs_t;
-- afterwards the table is its own again (core renames it under ALTER INDEX)
ALTER INDEX gs_t RENAME TO gs_t2;
ALTER VIEW gs_t2 RENAME COLUMN v TO v2;
SELECT count(*), sum(v2) FROM gs_t2;

-- 2. A column migration: renaming the table or its migrated (or any)
-- column under another keyword, a foreign child, a unique index that
-- INCLUDEs the migrated column.
CREATE TABLE gs_c (id int PRIMARY KEY, a int, b int) USING steward;
INSERT INTO gs_c SELECT g, g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('gs_c_m', '[{"alter_column": {"table": "gs_c", "column": "a", "name": "a2", "type": "bigint"}}]');
CREATE UNIQUE INDEX gs_c_id_inc ON gs_c (id) INCLUDE (a);
\echo :LAST_ERROR_SQLSTATE
CREATE UNIQUE INDEX gs_c_id_inc ON gs_c (id) INCLUDE (a2);
\echo :LAST_ERROR_SQLSTATE
CREATE FOREIGN TABLE gs_cft () INHERITS (gs_c) SERVER gs_srv;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE gs_ckid (id int NOT NULL, a int, b int, a2 bigint, _steward_side "char");
ALTER TABLE gs_ckid INHERIT gs_c;
\echo :LAST_ERROR_SQLSTATE
ALTER VIEW gs_c RENAME COLUMN a TO a_z;
\echo :LAST_ERROR_SQLSTATE
ALTER MATERIALIZED VIEW gs_c RENAME COLUMN b TO b_z;
\echo :LAST_ERROR_SQLSTATE
ALTER TYPE gs_c RENAME ATTRIBUTE a2 TO a3;
\echo :LAST_ERROR_SQLSTATE
ALTER FOREIGN TABLE gs_c RENAME COLUMN a TO a_z;
\echo :LAST_ERROR_SQLSTATE
ALTER INDEX gs_c RENAME TO gs_c_x;
\echo :LAST_ERROR_SQLSTATE
-- pass: INCLUDE of a column the migration leaves alone, an index's rename
CREATE UNIQUE INDEX gs_c_id_b ON gs_c (id) INCLUDE (b);
ALTER INDEX gs_c_id_b RENAME TO gs_c_id_inc_b;
SELECT attname FROM pg_attribute WHERE attrelid = 'gs_c'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
INSERT INTO gs_c (id, a, b) VALUES (100, 100, 100);
CALL steward.migration_backfill('gs_c_m');
SELECT bool_and(passed) FROM steward.migration_validate('gs_c_m');
SELECT steward.migration_complete('gs_c_m');
SELECT steward.migration_cleanup('gs_c_m');
SELECT id, a2, b FROM gs_c WHERE id IN (1, 100) ORDER BY id;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'gs_c'::regclass ORDER BY 1;

-- 3. A relayout of a table in a plain inheritance hierarchy is refused at
-- start: the new layout (partitioned) cannot join it, and ALTER TABLE on
-- the parent would reach the old layout only.
CREATE TABLE gs_ip (id int PRIMARY KEY, v int);
CREATE TABLE gs_ic (w int) INHERITS (gs_ip);
ALTER TABLE gs_ic ADD PRIMARY KEY (id);
SELECT steward.migration_start('gs_ip_rl', '[{"relayout": {"table": "gs_ip", "partition_by": "HASH (id)", "partitions": 2}}]');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('gs_ic_rl', '[{"relayout": {"table": "gs_ic", "partition_by": "HASH (id)", "partitions": 2}}]');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM pg_class WHERE relname LIKE 'gs_i%_relayout_new';

-- 4. ALTER SCHEMA ... RENAME: of a schema holding a relayout's layouts
-- (the apply triggers name the other layout schema-qualified: every
-- write would fail) or of a column migration's shape schema (cleanup
-- drops it by name): refused.  The schema of a column migration's table,
-- or any other, may be renamed.
CREATE SCHEMA gs_sx;
CREATE TABLE gs_sx.r (id int PRIMARY KEY, v int) USING steward;
INSERT INTO gs_sx.r SELECT g, g FROM generate_series(1, 5) g;
CREATE SCHEMA gs_cx;
CREATE TABLE gs_cx.c (id int PRIMARY KEY, a int) USING steward;
INSERT INTO gs_cx.c SELECT g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('gs_sx_rl', '[{"relayout": {"table": "gs_sx.r", "partition_by": "HASH (id)", "partitions": 2}}]');
SELECT steward.migration_start('gs_cx_m', '[{"alter_column": {"table": "gs_cx.c", "column": "a", "name": "a2", "type": "bigint"}}]');
ALTER SCHEMA gs_sx RENAME TO gs_sy;
\echo :LAST_ERROR_SQLSTATE
ALTER SCHEMA gs_cx_m RENAME TO gs_cx_shape;
\echo :LAST_ERROR_SQLSTATE
ALTER SCHEMA gs_cx_m_old RENAME TO gs_cx_shape;
\echo :LAST_ERROR_SQLSTATE
ALTER SCHEMA gs_cx RENAME TO gs_cy;
CREATE SCHEMA gs_free;
ALTER SCHEMA gs_free RENAME TO gs_free2;
INSERT INTO gs_sx.r VALUES (100, 100);
INSERT INTO gs_cy.c (id, a) VALUES (100, 100);
CALL steward.migration_backfill('gs_sx_rl');
CALL steward.migration_backfill('gs_cx_m');
SELECT bool_and(passed) FROM steward.migration_validate('gs_sx_rl');
SELECT bool_and(passed) FROM steward.migration_validate('gs_cx_m');
SELECT steward.migration_complete('gs_sx_rl'), steward.migration_complete('gs_cx_m');
ALTER SCHEMA gs_sx RENAME TO gs_sy;
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_cleanup('gs_sx_rl'), steward.migration_cleanup('gs_cx_m');
SELECT count(*), sum(v) FROM gs_sx.r;
SELECT id, a2 FROM gs_cy.c WHERE id IN (1, 100) ORDER BY id;
ALTER SCHEMA gs_sx RENAME TO gs_sy;
DROP SCHEMA gs_sy, gs_cy, gs_free2 CASCADE;

DROP TABLE gs_t2, gs_c, gs_other, gs_kid, gs_ckid, gs_ip CASCADE;
RESET ROLE;
DROP SERVER gs_srv;
DROP FOREIGN DATA WRAPPER gs_fdw;
SELECT format('REVOKE CREATE ON DATABASE %I FROM gs_owner', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM gs_owner;
DROP ROLE gs_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('gs_t_rl'), ('gs_c_m'), ('gs_sx_rl'), ('gs_cx_m');
\i test/sql/drop_migration_records.sql
