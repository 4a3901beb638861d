-- closing37 item 7 (guard11): each up expression of a column migration
-- is evaluated once at start, on one row, as the dual-write trigger
-- evaluates it at every write: an up reading a table whose policies
-- apply to the owner (readme37 S1: every write of the application failed
-- 42501 from start on), or one failing on the row's values, refuses
-- start with its SQLSTATE, and nothing of the migration is left.  An
-- empty table: nothing to evaluate, start accepted.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g11b_app;
RESET client_min_messages;
SET steward.governor = off;
CREATE ROLE g11b_app;
GRANT CREATE ON SCHEMA public TO g11b_app;
SELECT format('GRANT CREATE ON DATABASE %I TO g11b_app', current_database()) \gexec
SET ROLE g11b_app;

CREATE TABLE g11b_labels(k int PRIMARY KEY, label text, secret boolean NOT NULL DEFAULT false);
INSERT INTO g11b_labels VALUES (1, 'one', false), (2, 'two', true);
ALTER TABLE g11b_labels ENABLE ROW LEVEL SECURITY;
ALTER TABLE g11b_labels FORCE ROW LEVEL SECURITY;
CREATE POLICY g11b_pub ON g11b_labels USING (NOT secret);
CREATE FUNCTION g11b_label_of(int) RETURNS text LANGUAGE sql STABLE
    SET search_path = pg_catalog AS $$ SELECT label FROM public.g11b_labels WHERE k = $1 $$;
CREATE TABLE g11b_inv(id int PRIMARY KEY, code int, amt int);
INSERT INTO g11b_inv VALUES (1, 1, 5);
SELECT steward.migration_start('g11b_lbl', $$[{"add_column": {"table": "g11b_inv", "column": "lbl", "type": "text", "up": "g11b_label_of(code)"}}]$$);
\echo :LAST_ERROR_SQLSTATE
-- nothing of it is left, and the application writes on
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'g11b_lbl';
SELECT string_agg(attname, ', ' ORDER BY attnum) AS columns FROM pg_attribute
 WHERE attrelid = 'g11b_inv'::regclass AND attnum > 0 AND NOT attisdropped;
INSERT INTO g11b_inv VALUES (2, 2, 7);
-- a value the row makes fail (22012)
SELECT steward.migration_start('g11b_div', $$[{"add_column": {"table": "g11b_inv", "column": "per", "type": "int", "up": "amt / (code - 1)"}}]$$);
\echo :LAST_ERROR_SQLSTATE
-- the way out docs/migrations.md gives: start then passes, and writes compute lbl
ALTER TABLE g11b_labels NO FORCE ROW LEVEL SECURITY;
SELECT steward.migration_start('g11b_lbl', $$[{"add_column": {"table": "g11b_inv", "column": "lbl", "type": "text", "up": "g11b_label_of(code)"}}]$$);
INSERT INTO g11b_inv VALUES (3, 1, 9);
CALL steward.migration_backfill('g11b_lbl');
SELECT id, lbl FROM g11b_inv ORDER BY id;
SELECT steward.migration_rollback('g11b_lbl');
-- an empty table: nothing evaluated, start accepted (writes then fail as sql/170 shows)
ALTER TABLE g11b_labels FORCE ROW LEVEL SECURITY;
CREATE TABLE g11b_empty(id int PRIMARY KEY, code int);
SELECT steward.migration_start('g11b_e', $$[{"add_column": {"table": "g11b_empty", "column": "lbl", "type": "text", "up": "g11b_label_of(code)"}}]$$);
SELECT steward.migration_rollback('g11b_e');
SELECT current_user;

DROP TABLE g11b_empty, g11b_inv, g11b_labels;
DROP FUNCTION g11b_label_of(int);
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM g11b_app;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g11b_app', current_database()) \gexec
DROP ROLE g11b_app;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'g11b\_%';
\i test/sql/drop_migration_records.sql
