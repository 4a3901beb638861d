-- Column migrations of published tables (F10): a publication that names
-- the table without a column list gets one, of the shape its subscribers
-- have (the old shape from start, the new one from complete), so that
-- they never receive _steward_side or the other shape's columns; the row
-- filter is kept, a list the user gave is left alone, and the end of the
-- migration (cleanup, rollback) leaves no list again.  Publications that
-- cannot take a column list are refused at start (55000), and so is one
-- the caller may not alter (42501).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE pc_alice;
CREATE ROLE pc_bob;
GRANT CREATE ON SCHEMA public TO pc_alice;
SELECT format('GRANT CREATE ON DATABASE %I TO pc_alice', current_database()) \gexec
SET ROLE pc_alice;

CREATE TABLE pc (id int PRIMARY KEY, amt numeric(12,2), note text, gone int,
                 twice int GENERATED ALWAYS AS (id * 2) STORED) USING steward;
INSERT INTO pc (id, amt, note, gone) SELECT g, g * 1.25, 'n' || g, g FROM generate_series(1, 5) g;
CREATE PUBLICATION pc_plain FOR TABLE pc;
CREATE PUBLICATION pc_filtered FOR TABLE pc WHERE (id > 1);
CREATE PUBLICATION pc_listed FOR TABLE pc (id, note);

-- What each publication publishes of the table: its column list (NULL:
-- none, every column) and row filter.
CREATE VIEW pc_pubs AS
SELECT x.pubname,
       (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
         WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs::int2[])) AS column_list,
       pg_get_expr(r.prqual, r.prrelid) AS row_filter
  FROM pg_publication_rel r JOIN pg_publication x ON x.oid = r.prpubid
 WHERE r.prrelid = 'pc'::regclass;

SELECT steward.migration_start('pc_m', $$[
  {"alter_column": {"table": "pc", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}},
  {"add_column": {"table": "pc", "column": "extra", "type": "int", "up": "id * 3"}},
  {"drop_column": {"table": "pc", "column": "gone"}}]$$);
-- the old shape's columns (not the generated one, never published)
SELECT * FROM pc_pubs ORDER BY 1;
SELECT publications FROM steward.migration_tables WHERE migration = 'pc_m';
-- a publication made since without a column list: given one when its
-- statement ends (sql/129), and moved along at the next steps
CREATE PUBLICATION pc_late FOR TABLE pc;
SELECT * FROM pc_pubs WHERE pubname = 'pc_late';
CALL steward.migration_backfill('pc_m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('pc_m');
SELECT steward.migration_complete('pc_m');
-- the new shape's columns, under their final names
SELECT * FROM pc_pubs ORDER BY 1;
SELECT publications FROM steward.migration_tables WHERE migration = 'pc_m';
-- a rollback after complete: the old shape's again, then no list
SELECT steward.migration_rollback('pc_m');
SELECT * FROM pc_pubs ORDER BY 1;

-- cleanup: no list, the table has the new shape only
SELECT steward.migration_start('pc_m2', $$[
  {"alter_column": {"table": "pc", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}},
  {"alter_column": {"table": "pc", "column": "note", "name": "memo"}}]$$);
SELECT * FROM pc_pubs ORDER BY 1;
CALL steward.migration_backfill('pc_m2');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('pc_m2');
SELECT steward.migration_complete('pc_m2');
SELECT * FROM pc_pubs ORDER BY 1;
SELECT steward.migration_cleanup('pc_m2');
SELECT * FROM pc_pubs ORDER BY 1;
SELECT attname FROM pg_attribute WHERE attrelid = 'pc'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;

-- a rollback before complete: no list again
SELECT steward.migration_start('pc_m3', '[{"add_column": {"table": "pc", "column": "extra", "type": "int"}}]');
SELECT * FROM pc_pubs ORDER BY 1;
SELECT steward.migration_rollback('pc_m3');
SELECT * FROM pc_pubs ORDER BY 1;
DROP PUBLICATION pc_plain, pc_filtered, pc_listed, pc_late;

-- Refused at start (55000), nothing changed: publications that publish
-- every column and take no column list ...
CREATE TABLE pr (id int PRIMARY KEY, v int, w text) USING steward;
RESET ROLE;
CREATE PUBLICATION pr_every FOR ALL TABLES;
SET ROLE pc_alice;
SELECT steward.migration_start('pr_m', '[{"add_column": {"table": "pr", "column": "x", "type": "int"}}]');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
DROP PUBLICATION pr_every;
CREATE PUBLICATION pr_schema FOR TABLES IN SCHEMA public;
SET ROLE pc_alice;
SELECT steward.migration_start('pr_m', '[{"add_column": {"table": "pr", "column": "x", "type": "int"}}]');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
DROP PUBLICATION pr_schema;
-- ... one naming the table that PostgreSQL 15 lets take none: with FOR
-- TABLES IN SCHEMA elements,
CREATE SCHEMA pr_other;
CREATE PUBLICATION pr_mixed FOR TABLES IN SCHEMA pr_other, TABLE pr;
SET ROLE pc_alice;
SELECT steward.migration_start('pr_m', '[{"add_column": {"table": "pr", "column": "x", "type": "int"}}]');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
DROP PUBLICATION pr_mixed;
SET ROLE pc_alice;
-- or publishing updates of a table with REPLICA IDENTITY FULL (an
-- insert-only publication is not refused),
CREATE PUBLICATION pr_full FOR TABLE pr;
ALTER TABLE pr REPLICA IDENTITY FULL;
SELECT steward.migration_start('pr_m', '[{"add_column": {"table": "pr", "column": "x", "type": "int"}}]');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
ALTER PUBLICATION pr_full SET (publish = 'insert');
SELECT steward.migration_start('pr_m', '[{"add_column": {"table": "pr", "column": "x", "type": "int"}}]');
SELECT pubname, attnames FROM pg_publication_tables WHERE pubname = 'pr_full';
SELECT steward.migration_rollback('pr_m');
ALTER TABLE pr REPLICA IDENTITY DEFAULT;
DROP PUBLICATION pr_full;
-- ... a replica identity over a column the migration replaces, when
-- updates are published and no key of the step can take it over (the
-- new shape's list would not cover it; one restating the key: sql/231),
CREATE TABLE ri (id int PRIMARY KEY, code text NOT NULL, v int) USING steward;
CREATE UNIQUE INDEX ri_code ON ri (code);
ALTER TABLE ri REPLICA IDENTITY USING INDEX ri_code;
CREATE PUBLICATION ri_pub FOR TABLE ri;
SELECT steward.migration_start('ri_m', $$[{"alter_column": {"table": "ri", "column": "code", "type": "varchar(20)", "unique": false}}]$$);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) FROM steward.migrations WHERE name IN ('pr_m', 'ri_m') AND result = 'in_progress';
-- ... and one the caller does not own (42501); a column list its owner
-- gave is left alone, so not refused.
RESET ROLE;
CREATE PUBLICATION pr_bobs FOR TABLE pr;
ALTER PUBLICATION pr_bobs OWNER TO pc_bob;
SET ROLE pc_alice;
SELECT steward.migration_start('pr_m2', '[{"add_column": {"table": "pr", "column": "x", "type": "int"}}]');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
RESET ROLE;
ALTER PUBLICATION pr_bobs DROP TABLE pr;
ALTER PUBLICATION pr_bobs ADD TABLE pr (id, v);
SET ROLE pc_alice;
SELECT steward.migration_start('pr_m2', '[{"add_column": {"table": "pr", "column": "x", "type": "int"}}]');
SELECT pubname, attnames FROM pg_publication_tables WHERE pubname = 'pr_bobs';
SELECT steward.migration_rollback('pr_m2');

RESET ROLE;
DROP PUBLICATION pr_bobs, ri_pub;
DROP SCHEMA pr_other;
DROP VIEW pc_pubs;
DROP TABLE pc, pr, ri;
REVOKE CREATE ON SCHEMA public FROM pc_alice;
SELECT format('REVOKE CREATE ON DATABASE %I FROM pc_alice', current_database()) \gexec
DROP ROLE pc_alice;
DROP ROLE pc_bob;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('pc_m'), ('pc_m2'), ('pc_m3'), ('pr_m'), ('pr_m2');
\i test/sql/drop_migration_records.sql
