-- ALTER VIEW of a column migration's shape views (<mig>.<t>, <mig>_old.<t>)
-- and ALTER SCHEMA ... OWNER TO of their schemas (leftovers 1).  Each of
-- these passed on the old code, with the effect shown after it; each is
-- now refused (55006) with a DETAIL and a HINT:
--  * RESET (security_invoker) / SET (security_invoker = false): the view
--    read the table with its owner's rights, so the table's row security
--    no longer applied to whoever used it (all rows instead of one);
--  * SET / DROP DEFAULT of a migrated column: the defaults tell the
--    dual-write trigger which shape an INSERT was written in; an old-shape
--    INSERT after complete through a view without the old default took
--    the new default (8 instead of 7);
--  * ALTER VIEW ... OWNER TO: the table's owner lost its rights on the
--    view (its writes through it failed 42501) and complete failed
--    setting the old default on it (42501);
--  * ALTER SCHEMA ... OWNER TO: reads, writes and the rollback failed
--    42501 (permission denied for schema).
-- check_option, security_barrier and a column the migration leaves alone
-- pass.  DROP OWNED BY the owner of the views drops the table with them
-- (the migration ends as dropped).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS sv121_app;
DROP ROLE IF EXISTS sv121_reader;
DROP ROLE IF EXISTS sv121_other;
RESET client_min_messages;
CREATE ROLE sv121_app;
CREATE ROLE sv121_reader;
CREATE ROLE sv121_other;
GRANT CREATE ON DATABASE :"DBNAME" TO sv121_app;
CREATE SCHEMA sv121 AUTHORIZATION sv121_app;
GRANT USAGE ON SCHEMA sv121 TO sv121_reader;

SET ROLE sv121_app;
CREATE TABLE sv121.t (id int PRIMARY KEY, a int NOT NULL DEFAULT 7, b text DEFAULT 'b',
                      who name NOT NULL DEFAULT current_user);
INSERT INTO sv121.t (id, a, who) SELECT g, g, CASE WHEN g = 1 THEN 'sv121_reader' ELSE 'sv121_app' END
  FROM generate_series(1, 5) g;
ALTER TABLE sv121.t ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON sv121.t USING (who = current_user);
GRANT SELECT, INSERT ON sv121.t TO sv121_reader;
SELECT steward.migration_start('sv121m', '[{"alter_column": {"table": "sv121.t", "column": "a", "name": "a2", "type": "bigint", "default": "8"}}]');

-- security_invoker stays on.
ALTER VIEW sv121m.t RESET (security_invoker);
\set VERBOSITY terse
ALTER VIEW sv121m_old.t SET (security_invoker = false);
ALTER TABLE sv121m_old.t RESET (security_barrier, security_invoker);
\set VERBOSITY default
ALTER VIEW sv121m_old.t SET (security_invoker = on, security_barrier = true, check_option = local);
ALTER VIEW sv121m_old.t RESET (security_barrier, check_option);
SELECT n.nspname, c.relname, c.reloptions FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('sv121m', 'sv121m_old') ORDER BY 1, 2;
RESET ROLE;
SET ROLE sv121_reader;
SELECT count(*) AS rows_new_view FROM sv121m.t;
SELECT count(*) AS rows_old_view FROM sv121m_old.t;
RESET ROLE;

-- Defaults of a migrated column, on either view; another column's pass.
SET ROLE sv121_app;
ALTER VIEW sv121m.t ALTER COLUMN a2 DROP DEFAULT;
\set VERBOSITY terse
ALTER TABLE sv121m.t ALTER COLUMN a2 SET DEFAULT 9;
ALTER VIEW sv121m_old.t ALTER COLUMN a SET DEFAULT 9;
\set VERBOSITY default
ALTER VIEW sv121m_old.t ALTER COLUMN b SET DEFAULT 'old view';
INSERT INTO sv121m.t (id) VALUES (10);
INSERT INTO sv121m_old.t (id) VALUES (11);
SELECT id, a, a2, b, _steward_side FROM sv121.t WHERE id >= 10 ORDER BY id;

-- Owners of the views and of their schemas (as the owner: a no-op passes).
ALTER VIEW sv121m.t OWNER TO sv121_app;
RESET ROLE;
\set VERBOSITY terse
ALTER VIEW sv121m.t OWNER TO sv121_other;
ALTER TABLE sv121m_old.t OWNER TO sv121_other;
ALTER SCHEMA sv121m OWNER TO sv121_other;
ALTER SCHEMA sv121m_old OWNER TO sv121_other;
\set VERBOSITY default
SELECT n.nspname, n.nspowner::regrole, c.relname, c.relowner::regrole
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname IN ('sv121m', 'sv121m_old') ORDER BY 1, 3;

SET ROLE sv121_app;
INSERT INTO sv121m.t (id) VALUES (12);
CALL steward.migration_backfill('sv121m');
SELECT bool_and(passed) FROM steward.migration_validate('sv121m');
SELECT steward.migration_complete('sv121m');
-- After complete: the old view keeps the old default.
\set VERBOSITY terse
ALTER VIEW sv121m_old.t ALTER COLUMN a DROP DEFAULT;
\set VERBOSITY default
INSERT INTO sv121m_old.t (id) VALUES (13);
INSERT INTO sv121.t (id) VALUES (14);
SELECT id, a2, b FROM sv121.t WHERE id >= 10 ORDER BY id;
SELECT id, a, b FROM sv121m_old.t WHERE id >= 10 ORDER BY id;
SELECT steward.migration_rollback('sv121m');
SELECT id, a, b FROM sv121.t WHERE id >= 10 ORDER BY id;
SELECT count(*) FROM pg_namespace WHERE nspname IN ('sv121m', 'sv121m_old');

-- No migration: the views and schemas are gone, the table is its owner's again.
ALTER TABLE sv121.t ALTER COLUMN a SET DEFAULT 70;
RESET ROLE;

-- DROP OWNED BY the owner of the views takes the table with them.
SET ROLE sv121_app;
SELECT steward.migration_start('sv121d', '[{"alter_column": {"table": "sv121.t", "column": "a", "name": "a2", "type": "bigint"}}]');
RESET ROLE;
DROP OWNED BY sv121_app;
SELECT result, error FROM steward.migrations WHERE name = 'sv121d';
SELECT count(*) FROM pg_namespace WHERE nspname IN ('sv121d', 'sv121d_old', 'sv121');

-- Leave no migration records (16_migrations counts them).
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('sv121m', 'sv121d');
\i test/sql/drop_migration_records.sql
REVOKE CREATE ON DATABASE :"DBNAME" FROM sv121_app;
DROP ROLE sv121_app;
DROP ROLE sv121_reader;
DROP ROLE sv121_other;
