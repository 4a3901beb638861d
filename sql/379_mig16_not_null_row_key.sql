-- mig16 (closing45 Noticed 3): the 23502 a new-shape write of NULL into
-- the new column of a "not_null" step gets before complete (newcomer45
-- N10: core's code and wording) named no row, where core's says
-- "Failing row contains (...)".  Now its DETAIL gives the row's key, to a
-- writer who may read the key's columns (as core shows a row only to one
-- who may read it: no row security, SELECT on the table or the columns).
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS m16n_writer;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE m16n (id int PRIMARY KEY, amt numeric) USING steward;
INSERT INTO m16n SELECT g, g FROM generate_series(1, 3) g;
CREATE ROLE m16n_writer;
GRANT INSERT, UPDATE ON m16n TO m16n_writer;
SELECT steward.migration_start('m16n', $$[
  {"add_column": {"table": "m16n", "column": "lvl", "type": "int", "up": "1", "not_null": true}}]$$);
CALL steward.migration_backfill('m16n');

SET search_path = m16n, public;
INSERT INTO m16n (id, amt, lvl) VALUES (10, 1, NULL);
UPDATE m16n SET lvl = NULL WHERE id = 2;
-- A writer who may not read the key: no row in the DETAIL.
SET ROLE m16n_writer;
INSERT INTO m16n (id, amt, lvl) VALUES (11, 1, NULL);
RESET ROLE;
-- With SELECT on the key column only: the key.
GRANT SELECT (id) ON public.m16n TO m16n_writer;
SET ROLE m16n_writer;
INSERT INTO m16n (id, amt, lvl) VALUES (12, 1, NULL);
RESET ROLE;
-- Row security for the writer: no row in the DETAIL.
GRANT SELECT ON public.m16n TO m16n_writer;
ALTER TABLE public.m16n ENABLE ROW LEVEL SECURITY;
CREATE POLICY m16n_all ON public.m16n TO m16n_writer USING (true) WITH CHECK (true);
SET ROLE m16n_writer;
INSERT INTO m16n (id, amt, lvl) VALUES (13, 1, NULL);
RESET ROLE;
RESET search_path;
SELECT steward.migration_rollback('m16n');
DROP TABLE m16n;
DROP ROLE m16n_writer;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m16n');
\i test/sql/drop_migration_records.sql
