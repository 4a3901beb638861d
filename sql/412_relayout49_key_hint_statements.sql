-- A relayout of a table whose primary key or unique key lacks the
-- partition key is refused (42P16) with a HINT that said "Make it
-- (order_id, user_id) first" and gave no statement (newcomer47's relayout
-- findings, 3).  The HINT now gives the statements, an index built
-- CONCURRENTLY and swapped in; here each HINT's statements are run as
-- given, after which the relayout starts.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r412;
CREATE TABLE r412.orders (order_id bigint PRIMARY KEY, user_id bigint NOT NULL, code text NOT NULL,
                          CONSTRAINT orders_code_key UNIQUE (code)) USING steward;
CREATE UNIQUE INDEX orders_ref_idx ON r412.orders (order_id, code);
CREATE TABLE r412.lines (order_id bigint REFERENCES r412.orders, n int);
INSERT INTO r412.orders SELECT g, g % 7, 'c' || g FROM generate_series(1, 20) g;
INSERT INTO r412.lines VALUES (1, 1);
-- Runs the statements of the HINT of the refused start of a relayout by
-- key, one at a time (CREATE INDEX CONCURRENTLY cannot run in a
-- transaction block: the caller runs them through \gexec).
CREATE FUNCTION r412.hint_of(key text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    PERFORM steward.migration_start('r412_m', format('[{"relayout": {"table": "r412.orders", '
                                                     '"partition_by": "HASH (%s)", "partitions": 4}}]', key)::jsonb);
    RETURN 'started';
EXCEPTION WHEN invalid_table_definition THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END
$$;
CREATE FUNCTION r412.statements(hint text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT s || ';'
      FROM regexp_split_to_table(regexp_replace(regexp_replace(hint, '^If .* make the key \([^)]*\) first: ', ''),
                                                ' (The foreign keys|To keep) .*$', ''), ';\s*') s
     WHERE s <> ''
$$;
SELECT steward.migration_start('r412_m', '[{"relayout": {"table": "r412.orders", "partition_by": "HASH (user_id)", "partitions": 4}}]');
-- The foreign key referencing the key, as the HINT says, first.
ALTER TABLE r412.lines DROP CONSTRAINT lines_order_id_fkey;
SELECT r412.hint_of('user_id') AS hint;
SELECT * FROM r412.statements(r412.hint_of('user_id')) \gexec
-- Next: the unique constraint, then the unique index.
SELECT r412.hint_of('user_id') AS hint;
SELECT * FROM r412.statements(r412.hint_of('user_id')) \gexec
SELECT r412.hint_of('user_id') AS hint;
SELECT * FROM r412.statements(r412.hint_of('user_id')) \gexec
SELECT c.relname, i.indisprimary, pg_get_indexdef(i.indexrelid), x.conname, x.contype
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  LEFT JOIN pg_constraint x ON x.conindid = i.indexrelid AND x.conrelid = i.indrelid
 WHERE i.indrelid = 'r412.orders'::regclass ORDER BY 1;
-- An index with INCLUDE columns: kept (regress 462 runs such statements).
CREATE UNIQUE INDEX orders_cov_idx ON r412.orders (order_id) INCLUDE (code);
SELECT r412.hint_of('user_id') AS hint;
DROP INDEX r412.orders_cov_idx;
-- The partition key as an INCLUDE column is not in the key (was taken as
-- included): it moves into the key.
CREATE UNIQUE INDEX orders_inc_idx ON r412.orders (order_id) INCLUDE (user_id);
SELECT r412.hint_of('user_id') AS hint;
DROP INDEX r412.orders_inc_idx;
ALTER TABLE r412.lines ADD COLUMN user_id bigint;
UPDATE r412.lines l SET user_id = o.user_id FROM r412.orders o WHERE o.order_id = l.order_id;
ALTER TABLE r412.lines ADD FOREIGN KEY (order_id, user_id) REFERENCES r412.orders (order_id, user_id);
SELECT r412.hint_of('user_id');
CALL steward.migration_backfill('r412_m');
SELECT bool_and(passed) FROM steward.migration_validate('r412_m');
SELECT steward.migration_rollback('r412_m');
DROP SCHEMA r412 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r412_m');
\i test/sql/drop_migration_records.sql
