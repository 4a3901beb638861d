-- The dual-write trigger evaluates up and down with row_security off, as
-- the backfill and validation do (closing36 item 4, pin2 #3): a function
-- of up that reads a table whose policies apply to the table's owner
-- (FORCE ROW LEVEL SECURITY) fails with 42501 in a write, as it does in
-- the backfill, whatever rows it reads.  Before, the trigger silently
-- computed values from the rows the policy showed (row 2 got lbl NULL,
-- row 1 'one'), which the backfill could never reproduce.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
\set VERBOSITY terse

CREATE ROLE r170 LOGIN;
CREATE SCHEMA s170 AUTHORIZATION r170;
SELECT format('GRANT CREATE ON DATABASE %I TO r170', current_database()) \gexec
SET ROLE r170;
CREATE TABLE s170.lookup (k int PRIMARY KEY, label text);
INSERT INTO s170.lookup VALUES (1, 'one'), (2, 'two');
ALTER TABLE s170.lookup ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_one ON s170.lookup USING (k = 1);
CREATE FUNCTION s170.label_of(int) RETURNS text LANGUAGE sql STABLE
    SET search_path = pg_catalog AS $$ SELECT label FROM s170.lookup WHERE k = $1 $$;
CREATE TABLE s170.t (id int PRIMARY KEY, v int);
INSERT INTO s170.t VALUES (3, 1);
SELECT steward.migration_start('m170', $$[
  {"add_column": {"table": "s170.t", "column": "lbl", "type": "text", "up": "s170.label_of(v)"}}]$$) IS NOT NULL AS started;
-- the policies apply to the owner from now on (before start, start is
-- refused: sql/193)
ALTER TABLE s170.lookup FORCE ROW LEVEL SECURITY;
CALL steward.migration_backfill('m170');
INSERT INTO s170.t VALUES (1, 1) RETURNING id, lbl;
INSERT INTO s170.t VALUES (2, 2) RETURNING id, lbl;
UPDATE s170.t SET v = 2 WHERE id = 3 RETURNING id, lbl;
SELECT id, v, lbl, _steward_side FROM s170.t ORDER BY id;
-- The session's own reads keep its row_security.
SELECT current_setting('row_security') AS row_security, count(*) AS visible FROM s170.lookup;
RESET ROLE;

SELECT steward.migration_rollback('m170');
DROP SCHEMA s170 CASCADE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r170', current_database()) \gexec
DROP ROLE r170;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name = 'm170';
\i test/sql/drop_migration_records.sql
