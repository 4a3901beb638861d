-- The 42P16 HINT of a relayout whose unique index lacks the partition key
-- gives the statements that widen the index; for an index with
-- expressions, a predicate or INCLUDE columns it printed "build ...
-- CONCURRENTLY as CREATE UNIQUE INDEX ... is built (...), with the key
-- columns (...)", which does not run, and for a NULLS NOT DISTINCT index
-- a statement that dropped NULLS NOT DISTINCT (relayout51, 1).  Now each
-- HINT gives a CREATE UNIQUE INDEX that is the old index plus the
-- partition key column (expressions and predicate as pg_get_indexdef
-- gives them, INCLUDE columns, NULLS NOT DISTINCT, storage parameters
-- kept); here every HINT's statements run as given (\gexec), the indexes
-- are shown after and still mean what they meant, and the relayout then
-- carries them to the partitioned layout.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r462;
CREATE TABLE r462.t (id bigint, user_id bigint NOT NULL, code text NOT NULL, label text, ref int,
                     active boolean NOT NULL DEFAULT true, n int, k int, opt int,
                     PRIMARY KEY (id, user_id),
                     CONSTRAINT t_k_key UNIQUE (k) INCLUDE (label)) USING steward;
CREATE UNIQUE INDEX t_a_expr ON r462.t (lower(code));
CREATE UNIQUE INDEX t_b_part ON r462.t (ref) WHERE active AND ref <> 0;
CREATE UNIQUE INDEX t_c_inc ON r462.t (n) INCLUDE (label, user_id);
CREATE UNIQUE INDEX t_d_nnd ON r462.t (opt) NULLS NOT DISTINCT;
CREATE UNIQUE INDEX t_e_mix ON r462.t ((ref + n) DESC, upper(label) COLLATE "C") WITH (fillfactor = 80) WHERE n > 0;
INSERT INTO r462.t SELECT g, g % 5, 'c' || g, 'l' || g, g, true, g, g, CASE WHEN g > 1 THEN g END
  FROM generate_series(1, 20) g;
CREATE FUNCTION r462.hint() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
    d text;
BEGIN
    PERFORM steward.migration_start('r462_m', '[{"relayout": {"table": "r462.t", "partition_by": "HASH (user_id)", "partitions": 4}}]');
    RETURN 'started';
EXCEPTION WHEN invalid_table_definition THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT, d = PG_EXCEPTION_DETAIL;
    RETURN d || E'\n' || h;
END
$$;
-- The statements of a HINT, one at a time (CREATE INDEX CONCURRENTLY
-- cannot run in a transaction block).
CREATE FUNCTION r462.statements(hint text) RETURNS SETOF text LANGUAGE sql AS $$
    SELECT m[1] FROM regexp_matches(hint, '((?:CREATE UNIQUE INDEX|DROP INDEX|ALTER TABLE|ALTER INDEX) [^;]*;)', 'g') m
$$;
CREATE VIEW r462.indexes AS
SELECT c.relname, pg_get_indexdef(i.indexrelid) AS def, x.conname
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
  LEFT JOIN pg_constraint x ON x.conindid = i.indexrelid AND x.conrelid = i.indrelid
 WHERE i.indrelid = 'r462.t'::regclass;
SELECT * FROM r462.indexes ORDER BY 1;
-- The expression index.
SELECT r462.hint();
SELECT * FROM r462.statements(r462.hint()) \gexec
-- The partial index.
SELECT r462.hint();
SELECT * FROM r462.statements(r462.hint()) \gexec
-- INCLUDE columns, the partition key among them: it moves into the key.
SELECT r462.hint();
SELECT * FROM r462.statements(r462.hint()) \gexec
-- NULLS NOT DISTINCT.
SELECT r462.hint();
SELECT * FROM r462.statements(r462.hint()) \gexec
-- Expressions, a sort order, a collation, a storage parameter and a
-- predicate.
SELECT r462.hint();
SELECT * FROM r462.statements(r462.hint()) \gexec
-- The unique constraint with INCLUDE columns.
SELECT r462.hint();
SELECT * FROM r462.statements(r462.hint()) \gexec
-- Each index is the old one with user_id appended to its key.
SELECT * FROM r462.indexes ORDER BY 1;
-- And compares as before, within a user_id.
INSERT INTO r462.t (id, user_id, code, opt) VALUES (101, 1, 'C1', 1001);                   -- lower(code) taken
INSERT INTO r462.t (id, user_id, code, ref, active, opt) VALUES (102, 2, 'x102', 2, false, 1002); -- outside the predicate: goes in
INSERT INTO r462.t (id, user_id, code, ref, opt) VALUES (103, 3, 'x103', 0, 1003);          -- outside the predicate: goes in
INSERT INTO r462.t (id, user_id, code, ref, opt) VALUES (104, 2, 'x104', 2, 1004);          -- inside it: taken
INSERT INTO r462.t (id, user_id, code, opt) VALUES (105, 1, 'x105', NULL);                  -- a second NULL: taken
INSERT INTO r462.t (id, user_id, code, opt) VALUES (106, 2, 'x106', NULL);                  -- another user_id: goes in
INSERT INTO r462.t (id, user_id, code, ref, active, n, label, opt)
     VALUES (107, 0, 'x107', 4, false, 16, 'l10', 1007);                                    -- ref + n, upper(label) taken
-- The relayout starts and carries each index to the partitioned layout.
SELECT r462.hint();
CALL steward.migration_backfill('r462_m');
SELECT bool_and(passed) FROM steward.migration_validate('r462_m');
SELECT c.relname, regexp_replace(pg_get_indexdef(i.indexrelid), ' ON \S+', ' ON <layout>') AS def
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = (SELECT new_rel FROM steward._relayout_tables('r462_m')) ORDER BY 2;
SELECT steward.migration_rollback('r462_m');
DROP SCHEMA r462 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r462_m');
\i test/sql/drop_migration_records.sql
