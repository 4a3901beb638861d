-- review37 S2, S3: migration_start analysed the expressions it carries
-- from the table -- a CHECK constraint of the column it changes, the
-- column's default kept for its new type -- as whoever starts the
-- migration.  They are the table owner's text, and parse analysis runs
-- code of the types they name ('{1}'::d[] runs the CHECK of domain d
-- through domain_in), so a superuser starting a migration of an owner's
-- table ran the owner's function with its rights (S2).  So did the
-- superuser's own innocent up "tags = '{1}'" for a column tags of the
-- owner's type d[]: the literal becomes a d[] (S3, in the check of
-- expressions that vary, _migration_expr_varies), and its default '{3}'
-- for an added column of the owner's type d[] (S4, in the check of a
-- default ADD COLUMN may take, _migration_fast_default).  Now each
-- analyses as the table's owner, restricted, and only for a caller that
-- owns the table.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r426_owner;
CREATE ROLE r426_other;
SELECT format('GRANT CREATE ON DATABASE %I TO r426_owner', current_database()) \gexec
CREATE SCHEMA s426 AUTHORIZATION r426_owner;
GRANT USAGE ON SCHEMA s426 TO PUBLIC;
SET ROLE r426_owner;
-- Who ran the owner's code: a row per call of its domain's CHECK.
CREATE TABLE s426.ran (who name, super boolean);
GRANT INSERT ON s426.ran TO PUBLIC;
CREATE FUNCTION s426.note(x int) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO s426.ran
    SELECT current_user, r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
    RETURN true;
END $$;
CREATE DOMAIN s426.d AS int CHECK (s426.note(VALUE));
CREATE TABLE s426.t (id int PRIMARY KEY,
                     x int CHECK (x IS NULL OR '{5}'::s426.d[] IS NOT NULL),
                     z int DEFAULT coalesce(('{6}'::s426.d[])[1], 0),
                     tags s426.d[]);
INSERT INTO s426.t SELECT g, g, g, CASE WHEN g = 1 THEN '{1}'::s426.d[] END FROM generate_series(1, 3) g;
TRUNCATE s426.ran;
RESET ROLE;
-- 1. A superuser starts, backfills, validates and completes it.
SELECT steward.migration_start('m426', $j$[
  {"alter_column": {"table": "s426.t", "column": "x", "type": "bigint", "up": "x", "down": "x"}},
  {"alter_column": {"table": "s426.t", "column": "z", "type": "bigint", "up": "z", "down": "z"}},
  {"add_column": {"table": "s426.t", "column": "one", "type": "boolean", "up": "tags = '{1}'"}},
  {"add_column": {"table": "s426.t", "column": "more", "type": "s426.d[]", "default": "'{3}'"}}
]$j$);
CALL steward.migration_backfill('m426');
SELECT "check", passed FROM steward.migration_validate('m426');
SELECT steward.migration_complete('m426');
SELECT id, one, more FROM s426.t ORDER BY id;
-- The owner's code ran, as its owner only.
SELECT count(*) > 0 AS ran, count(*) FILTER (WHERE who <> 'r426_owner') AS as_another_role,
       count(*) FILTER (WHERE super) AS as_superuser
  FROM s426.ran;
-- The carried check and the kept default hold for the new columns.
SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
 WHERE c.conrelid = 's426.t'::regclass AND c.contype = 'c' ORDER BY 1;
SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
  JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
 WHERE d.adrelid = 's426.t'::regclass AND a.attname = 'z';
SELECT steward.migration_cleanup('m426');
-- 2. Another role may not have a table's expressions analysed as its
-- owner (42501, as for steward._migration_sql).
SET ROLE r426_other;
SELECT sql FROM steward._migration_expr('s426.t', 'x', '{x}', '{integer}', NULL, NULL, NULL);
RESET ROLE;

SET client_min_messages = warning;
DROP SCHEMA s426 CASCADE;
RESET client_min_messages;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r426_owner', current_database()) \gexec
DROP ROLE r426_owner;
DROP ROLE r426_other;

-- This file's migration records go (465_zz_leftovers).
CREATE TEMP TABLE gone (name) AS VALUES ('m426');
\i test/sql/drop_migration_records.sql
