-- track_versions of a column that is not bigint (an ORM's integer
-- version column) was refused with 42804 and no HINT: nothing said how
-- to change the type, nor that pg_steward's own column migration does it
-- online (newcomer48 N5).  The HINT now gives the migration_start of an
-- alter_column step (a table with a primary key, not partitioned: what a
-- column migration needs) and the ALTER TABLE ... TYPE bigint that
-- rewrites the table; checked here by running each as given.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA n428;
-- The statements of the HINT of track_versions(tbl, col): the
-- migration_start when there is one, else the ALTER TABLE.
CREATE FUNCTION n428.first_statement(tbl text, col name) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    PERFORM steward.track_versions(tbl::regclass, col);
    RETURN NULL;
EXCEPTION WHEN datatype_mismatch THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN coalesce(substring(h from '(SELECT steward.migration_start\(.*\);) then'),
                    substring(h from '(ALTER TABLE .*;)$'));
END
$$;

-- A table with a primary key and quoted names: the migration, online.
CREATE TABLE n428."Acct's" (id bigint PRIMARY KEY, "Lock Version" integer NOT NULL DEFAULT 1) USING steward;
INSERT INTO n428."Acct's" SELECT g, g % 3 + 1 FROM generate_series(1, 100) g;
SELECT steward.track_versions('n428."Acct''s"', 'Lock Version');
\echo :LAST_ERROR_SQLSTATE
SELECT n428.first_statement('n428."Acct''s"', 'Lock Version') \gexec
CALL steward.migration_backfill('Acct''s_bigint');
SELECT "check", passed FROM steward.migration_validate('Acct''s_bigint');
SELECT steward.migration_complete('Acct''s_bigint');
SELECT steward.migration_cleanup('Acct''s_bigint');
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'n428."Acct''s"'::regclass AND attname = 'Lock Version';
SELECT steward.track_versions('n428."Acct''s"', 'Lock Version');
UPDATE n428."Acct's" SET "Lock Version" = 3 WHERE id = 2;   -- the version read: 3 -> 4
UPDATE n428."Acct's" SET "Lock Version" = 3 WHERE id = 2;   -- stale now
SELECT "Lock Version" FROM n428."Acct's" WHERE id = 2;

-- No primary key: only the ALTER TABLE, which a migration could not do.
CREATE TABLE n428.nokey (v numeric) USING steward;
INSERT INTO n428.nokey VALUES (1), (2);
SELECT steward.track_versions('n428.nokey', 'v');
SELECT n428.first_statement('n428.nokey', 'v') \gexec
SELECT steward.track_versions('n428.nokey', 'v');

-- A partitioned table: only the ALTER TABLE (no migration of it exists).
CREATE TABLE n428.pt (id int, v int) PARTITION BY HASH (id);
CREATE TABLE n428.pt0 PARTITION OF n428.pt FOR VALUES WITH (MODULUS 2, REMAINDER 0) USING steward;
CREATE TABLE n428.pt1 PARTITION OF n428.pt FOR VALUES WITH (MODULUS 2, REMAINDER 1) USING steward;
SELECT steward.track_versions('n428.pt', 'v');
SELECT n428.first_statement('n428.pt', 'v') \gexec
SELECT steward.track_versions('n428.pt', 'v');

-- A type PostgreSQL does not assign to bigint (text): a new column, which
-- is then tracked; named otherwise when "version" is taken.
CREATE TABLE n428.txt (id int PRIMARY KEY, etag text) USING steward;
INSERT INTO n428.txt VALUES (1, 'a');
SELECT steward.track_versions('n428.txt', 'etag');
SELECT n428.first_statement('n428.txt', 'etag') \gexec
SELECT steward.track_versions('n428.txt', 'version');
SELECT * FROM n428.txt;
CREATE TABLE n428.txt2 (id int PRIMARY KEY, version text) USING steward;
SELECT steward.track_versions('n428.txt2', 'version');

-- A sequence column keeps its own rule; its HINT changes the type as a
-- version's does (mig19).
CREATE TABLE n428.ev (id int PRIMARY KEY, seq numeric) USING steward;
SELECT steward.track_sequence('n428.ev', 'seq');

SELECT steward.untrack('n428."Acct''s"', 'Lock Version');
SELECT steward.untrack('n428.nokey', 'v');
SELECT steward.untrack('n428.pt', 'v');
SELECT steward.untrack('n428.txt', 'version');
DROP SCHEMA n428 CASCADE;

-- This file's migration records go (465_zz_leftovers).
CREATE TEMP TABLE gone (name) AS VALUES ('Acct''s_bigint');
\i test/sql/drop_migration_records.sql
