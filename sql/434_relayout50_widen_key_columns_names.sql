-- The 42P16 HINT's statements that widen a unique index to include the
-- partition key lost each column's operator class, collation and sort
-- order (the index was rebuilt from bare column names, comparing and
-- ordering otherwise), and named the new index <name>_new even when a
-- relation held that name or when it was over 63 bytes, which PostgreSQL
-- cut back into the old name (relayout50, 2).  Each column is now spelled
-- from the catalogs and the name is free and fits; here every HINT's
-- statements run as given (\gexec) and the indexes are shown after.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r434;
CREATE TABLE r434.t (id bigint, user_id bigint NOT NULL, code text NOT NULL, label text NOT NULL,
                     a int NOT NULL, b int, c int, ref int NOT NULL, PRIMARY KEY (id, user_id)) USING steward;
CREATE UNIQUE INDEX t_code_ops ON r434.t (code text_pattern_ops);
CREATE INDEX t_code_ops_new ON r434.t (code);                          -- the name the HINT gave is taken
CREATE UNIQUE INDEX t_label_c ON r434.t (label COLLATE "C");
CREATE UNIQUE INDEX t_order ON r434.t (a DESC NULLS LAST, b NULLS FIRST, c DESC NULLS FIRST);
CREATE UNIQUE INDEX "üüüüüüüüüüüüüüüüüüüüüüüüüüüüüüüx" ON r434.t (ref);   -- 63 bytes
INSERT INTO r434.t SELECT g, g % 5, 'k' || g, 'L' || g, g, g, g, g FROM generate_series(1, 20) g;
-- The HINT of the refused start, and its statements one at a time
-- (CREATE INDEX CONCURRENTLY cannot run in a transaction block).
CREATE FUNCTION r434.hint() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    PERFORM steward.migration_start('r434_m', '[{"relayout": {"table": "r434.t", "partition_by": "HASH (user_id)", "partitions": 4}}]');
    RETURN 'started';
EXCEPTION WHEN invalid_table_definition THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END
$$;
CREATE FUNCTION r434.statements(hint text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT m[1] FROM regexp_matches(hint, '((?:CREATE UNIQUE INDEX|DROP INDEX|ALTER TABLE|ALTER INDEX) [^;]*;)', 'g') m
$$;
SELECT r434.hint();
SELECT * FROM r434.statements(r434.hint()) \gexec
SELECT r434.hint();
SELECT * FROM r434.statements(r434.hint()) \gexec
SELECT r434.hint();
SELECT * FROM r434.statements(r434.hint()) \gexec
SELECT r434.hint();
SELECT * FROM r434.statements(r434.hint()) \gexec
-- Each index kept its operator class, collation and order, and its name.
SELECT c.relname, octet_length(c.relname) AS bytes, pg_get_indexdef(i.indexrelid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'r434.t'::regclass ORDER BY 1;
-- The relayout starts now.
SELECT r434.hint();
CALL steward.migration_backfill('r434_m');
SELECT bool_and(passed) FROM steward.migration_validate('r434_m');
SELECT steward.migration_rollback('r434_m');
-- The new index's name comes from steward._migration_free_name, which
-- names a column migration's keys and now cuts at 63 bytes, not 63
-- characters: a key's default name over 63 bytes is still built and
-- found by validate under the name PostgreSQL gives it.
CREATE TABLE r434.äääääääääääääääääääääääääääää (id bigint PRIMARY KEY, v int);
SELECT steward.migration_start('r434_u', '[{"alter_column": {"table": "r434.äääääääääääääääääääääääääääää", "column": "v", "name": "v2", "type": "bigint", "unique": true}}]');
CALL steward.migration_backfill('r434_u');
SELECT "check", passed, detail FROM steward.migration_validate('r434_u') WHERE "check" LIKE 'unique %';
SELECT c.relname, octet_length(c.relname) AS bytes FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = 'r434.äääääääääääääääääääääääääääää'::regclass AND NOT i.indisprimary;
SELECT steward.migration_rollback('r434_u');
DROP SCHEMA r434 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r434_m'), ('r434_u');
\i test/sql/drop_migration_records.sql
