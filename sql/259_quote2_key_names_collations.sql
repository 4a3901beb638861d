-- quote2 (relay3's leftovers): (a) the cleanup gives a changed column's
-- key its plain name back (unique_final) only while the migration's
-- numbered name is still that key: after complete the user may rename it
-- (ALTER INDEX passes the guard) and give the freed name to a constraint
-- over another column, which the cleanup renamed to the old key's name
-- (the application's unique_violation errors then named the wrong
-- column).  (b) The new column of an alter_column keeps the old column's
-- collation: it took its type's default, so a column of a case-insensitive
-- collation lost it, its restated key let 'C1' in beside 'c1', and a
-- column of "C" sorted otherwise; a unique index of the column under
-- another collation, when the two compare values otherwise, is refused at
-- start; and validate no longer fails ("could not determine which
-- collation to use for string hashing") on two changed columns of
-- different collations: its checksums hash the bytes (COLLATE "C").
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
\i test/sql/migration_to_complete.sql
CREATE FUNCTION r259_keys(rel regclass) RETURNS TABLE (conname name, def text)
LANGUAGE sql AS $$
    SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = rel AND contype = 'u' ORDER BY 1
$$;

-- (a) The key renamed after complete, its numbered name given to a
--     constraint over w: after cleanup the old name is not over w, and
--     the user's names stay.
CREATE TABLE r259 (id int PRIMARY KEY, code int NOT NULL CONSTRAINT r259_code_key UNIQUE, w int NOT NULL);
INSERT INTO r259 SELECT g, 100 + g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('r259_a', $j$[{"alter_column": {"table": "r259", "column": "code", "type": "bigint", "unique": true}}]$j$);
CALL pg_temp.migration_to_complete('r259_a');
SELECT * FROM r259_keys('r259');
ALTER INDEX r259_code_key1 RENAME TO r259_code_mine;
ALTER TABLE r259 ADD CONSTRAINT r259_code_key1 UNIQUE (w);
SELECT steward.migration_cleanup('r259_a');
SELECT * FROM r259_keys('r259');
-- Unrenamed, the key takes the old name back as before.
SELECT steward.migration_start('r259_a2', $j$[{"alter_column": {"table": "r259", "column": "w", "type": "bigint", "unique": true}}]$j$);
CALL pg_temp.migration_to_complete('r259_a2');
SELECT steward.migration_cleanup('r259_a2');
SELECT * FROM r259_keys('r259');

-- (b) A case-insensitive column with its key and a "C" column, changed
--     in one migration: both keep their collation, validate passes, and
--     the key still refuses 'C1' beside 'c1'.
CREATE COLLATION r259_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE r259c (id int PRIMARY KEY, code text COLLATE r259_ci NOT NULL CONSTRAINT r259c_code_key UNIQUE,
                    s varchar(5) COLLATE "C");
INSERT INTO r259c SELECT g, 'c' || g, 'b' || g FROM generate_series(1, 5) g;
SELECT steward.migration_start('r259_b', $j$[{"alter_column": {"table": "r259c", "column": "code", "type": "varchar(20)", "unique": true}},
                                             {"alter_column": {"table": "r259c", "column": "s", "type": "varchar(10)"}}]$j$);
CALL pg_temp.migration_to_complete('r259_b');
SELECT steward.migration_cleanup('r259_b');
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attcollation::regcollation
  FROM pg_attribute a WHERE a.attrelid = 'r259c'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum;
INSERT INTO r259c (id, code) VALUES (6, 'C1');
SELECT * FROM r259_keys('r259c');
-- A type that is not collatable takes none.
SELECT steward.migration_start('r259_b2', $j$[{"alter_column": {"table": "r259c", "column": "s", "type": "int", "up": "length(s)", "down": "s::text"}}]$j$);
CALL pg_temp.migration_to_complete('r259_b2');
SELECT steward.migration_cleanup('r259_b2');
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attcollation
  FROM pg_attribute a WHERE a.attrelid = 'r259c'::regclass AND a.attname = 's';

-- A unique index under another collation than the column's, one of them
-- nondeterministic: restating it would change which values are equal.
CREATE TABLE r259d (id int PRIMARY KEY, code text COLLATE r259_ci NOT NULL);
CREATE UNIQUE INDEX r259d_code_c ON r259d (code COLLATE "C");
SELECT steward.migration_start('r259_d', $j$[{"alter_column": {"table": "r259d", "column": "code", "type": "varchar(20)", "unique": true}}]$j$);
-- Two deterministic collations take the same values for equal: accepted.
CREATE TABLE r259e (id int PRIMARY KEY, code text COLLATE "C" NOT NULL);
CREATE UNIQUE INDEX r259e_code_posix ON r259e (code COLLATE "POSIX");
SELECT steward.migration_start('r259_e', $j$[{"alter_column": {"table": "r259e", "column": "code", "type": "varchar(20)", "unique": true}}]$j$);
SELECT steward.migration_rollback('r259_e');
DROP TABLE r259, r259c, r259d, r259e;
DROP COLLATION r259_ci;
DROP PROCEDURE pg_temp.migration_to_complete(text);
DROP FUNCTION r259_keys(regclass);

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r259_a'), ('r259_a2'), ('r259_b'), ('r259_b2'),
    ('r259_e');
\i test/sql/drop_migration_records.sql
