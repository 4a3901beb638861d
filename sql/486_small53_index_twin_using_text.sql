-- A relayout matched an index with its twin on the other layout by
-- regexp_replace(pg_get_indexdef(...), '^.* USING ', ''): greedy, it cut an
-- index whose predicate contains ' USING ' inside its predicate, so two
-- different indexes compared equal.  steward._relayout_index_body cuts the
-- prefix rebuilt from the catalog; names holding ' USING ' cut right too.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA "s486 USING x";
CREATE TABLE "s486 USING x"."t USING y" (id int, v int, note text);
CREATE TABLE t486b (id int, v int, note text);
CREATE INDEX "i USING z" ON "s486 USING x"."t USING y" (id) WHERE note <> ' USING x';
CREATE INDEX i486_v ON "s486 USING x"."t USING y" (v) WHERE note <> ' USING x';
CREATE UNIQUE INDEX i486b_id ON t486b (id) WHERE note <> ' USING x';
CREATE INDEX i486b_id2 ON t486b (id) WHERE note <> ' USING x';
CREATE TABLE p486 (id int, note text) PARTITION BY RANGE (id);
CREATE INDEX p486_id ON ONLY p486 (id) WHERE note <> ' USING x';
SELECT c.relname, steward._relayout_index_body(c.oid)
  FROM pg_class c WHERE c.relname IN ('i USING z', 'i486_v', 'i486b_id', 'i486b_id2', 'p486_id') ORDER BY 1;
-- The old comparison judged the id and v indexes twins.
SELECT steward._relayout_index_body('"s486 USING x"."i USING z"'::regclass)
       = steward._relayout_index_body('"s486 USING x".i486_v'::regclass) AS id_v_twins,
       steward._relayout_index_body('"s486 USING x"."i USING z"'::regclass)
       = steward._relayout_index_body('i486b_id2'::regclass) AS id_id_twins;
-- What the old greedy cut made of the same two indexes: equal.
SELECT regexp_replace(pg_get_indexdef('"s486 USING x"."i USING z"'::regclass), '^.* USING ', '')
       = regexp_replace(pg_get_indexdef('"s486 USING x".i486_v'::regclass), '^.* USING ', '') AS old_cut_equal;
SELECT steward._relayout_index_body(0) IS NULL AS no_index;
DROP TABLE p486, t486b;
DROP SCHEMA "s486 USING x" CASCADE;
