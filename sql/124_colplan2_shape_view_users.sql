-- recheck10 N7 follow-up: an object made over a view of a column
-- migration's shapes (<mig>.<table>, <mig>_old.<table>) is refused when
-- it is made (55006 naming it, the view and the migration, HINT: make it
-- over the table after the cleanup), instead of only at cleanup or
-- rollback (2BP01, sql/114, still the backstop).  The guard reads what
-- PostgreSQL recorded in pg_depend for the statement's objects: views,
-- materialized views, rules, policies, SQL functions with a BEGIN ATOMIC
-- body, and columns, functions and types of a shape view's row type.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE cp2_sv (id int PRIMARY KEY, a int) USING steward;
INSERT INTO cp2_sv SELECT g, g FROM generate_series(1, 10) g;
CREATE TABLE cp2_log (id int, a int);
SELECT steward.migration_start('cp2_sv_m', $$[{"alter_column": {"table": "cp2_sv", "column": "a", "name": "a2", "type": "bigint"}}]$$);
CREATE VIEW cp2_sv_new AS SELECT id, a2 FROM cp2_sv_m.cp2_sv;
\echo :LAST_ERROR_SQLSTATE
CREATE VIEW cp2_sv_old AS SELECT s.id FROM cp2_log l JOIN cp2_sv_m_old.cp2_sv s USING (id);
CREATE OR REPLACE VIEW cp2_ok AS SELECT 1 AS x;
CREATE OR REPLACE VIEW cp2_ok AS SELECT count(*)::int AS x FROM cp2_sv_m.cp2_sv;
CREATE MATERIALIZED VIEW cp2_sv_mv AS SELECT id FROM cp2_sv_m.cp2_sv;
\echo :LAST_ERROR_SQLSTATE
CREATE FUNCTION cp2_f() RETURNS bigint LANGUAGE sql BEGIN ATOMIC SELECT count(*) FROM cp2_sv_m.cp2_sv; END;
CREATE FUNCTION cp2_g() RETURNS SETOF cp2_sv_m.cp2_sv LANGUAGE sql AS 'SELECT 1, 1::bigint';
CREATE RULE cp2_r AS ON INSERT TO cp2_log DO ALSO INSERT INTO cp2_sv_m_old.cp2_sv (id, a) VALUES (NEW.id, NEW.a);
ALTER TABLE cp2_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY cp2_p ON cp2_log USING (EXISTS (SELECT 1 FROM cp2_sv_m.cp2_sv s WHERE s.id = cp2_log.id));
CREATE POLICY cp2_p ON cp2_log USING (true);
ALTER POLICY cp2_p ON cp2_log USING (id IN (SELECT id FROM cp2_sv_m_old.cp2_sv));
CREATE TABLE cp2_rows (r cp2_sv_m.cp2_sv);
CREATE TABLE cp2_rows (r cp2_sv_m.cp2_sv[]);
ALTER TABLE cp2_log ADD COLUMN r cp2_sv_m_old.cp2_sv;
CREATE TYPE cp2_t AS (r cp2_sv_m.cp2_sv);
CREATE DOMAIN cp2_d AS cp2_sv_m_old.cp2_sv;
-- none of them was made
SELECT count(*) AS made FROM pg_class WHERE relname IN ('cp2_sv_new', 'cp2_sv_old', 'cp2_sv_mv', 'cp2_rows');
SELECT count(*) AS made FROM pg_proc WHERE proname IN ('cp2_f', 'cp2_g');
SELECT count(*) AS made FROM pg_type WHERE typname IN ('cp2_t', 'cp2_d');
SELECT x AS cp2_ok FROM cp2_ok;
SELECT count(*) AS made FROM pg_rewrite WHERE rulename = 'cp2_r';
SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polname = 'cp2_p';
SELECT count(*) AS columns FROM pg_attribute WHERE attrelid = 'cp2_log'::regclass AND attnum > 0;
-- over the table itself, or a function with a string body: passes
CREATE VIEW cp2_sv_tbl AS SELECT id FROM cp2_sv;
CREATE FUNCTION cp2_h() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM cp2_sv_m.cp2_sv';
SELECT cp2_h();
-- writes through the shape views go on; the migration finishes
INSERT INTO cp2_sv_m.cp2_sv (id, a2) VALUES (11, 11);
INSERT INTO cp2_sv_m_old.cp2_sv (id, a) VALUES (12, 12);
CALL steward.migration_backfill('cp2_sv_m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('cp2_sv_m');
SELECT steward.migration_complete('cp2_sv_m');
CREATE VIEW cp2_sv_new AS SELECT id, a2 FROM cp2_sv_m.cp2_sv;
\echo :LAST_ERROR_SQLSTATE
-- the backstop: a type and a rule made around the guard (a superuser)
-- stop the cleanup with 2BP01 naming each (the rule: it was called a
-- view before)
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
CREATE TYPE cp2_t AS (r cp2_sv_m.cp2_sv);
CREATE RULE cp2_r AS ON INSERT TO cp2_log DO ALSO INSERT INTO cp2_sv_m_old.cp2_sv (id, a) VALUES (NEW.id, NEW.a);
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
SELECT steward.migration_cleanup('cp2_sv_m');
\echo :LAST_ERROR_SQLSTATE
DROP TYPE cp2_t;
DROP RULE cp2_r ON cp2_log;
SELECT steward.migration_cleanup('cp2_sv_m');
-- after the cleanup, what the HINT says
CREATE VIEW cp2_sv_new AS SELECT id, a2 FROM cp2_sv;
SELECT count(*) FROM cp2_sv_new;
DROP VIEW cp2_sv_new, cp2_sv_tbl, cp2_ok;
DROP FUNCTION cp2_h();
DROP TABLE cp2_sv, cp2_log;

-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'cp2\_%';
\i test/sql/drop_migration_records.sql
