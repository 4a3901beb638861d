-- fuzz2: a migration step naming a column or a table with more than 63
-- bytes was taken as given while core cuts such a name: an add_column
-- made a column of another name than the step's, an alter_column that
-- renamed and retyped a column failed with 42703 "down expression ...
-- uses column ..., which is not in the shape it reads", and a
-- rename_table was refused with 42P07 "relation ... already exists"
-- although no relation had either name.  Such a name is now refused
-- before anything changes with 42622, as an index step's name is.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r296 (id bigint PRIMARY KEY, v integer NOT NULL) USING steward;
INSERT INTO r296 SELECT g, g FROM generate_series(1, 5) g;
\set long64 '''aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'''
\set long63 '''aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'''
SELECT octet_length(:long64) AS long64, octet_length(:long63) AS long63;
-- Each kind of step, with a name of 64 bytes: 42622, nothing made.
\set VERBOSITY sqlstate
SELECT steward.migration_start('r296_add', jsonb_build_array(jsonb_build_object('add_column',
       jsonb_build_object('table', 'r296', 'column', :long64, 'type', 'bigint', 'up', 'v'))));
SELECT steward.migration_start('r296_alter', jsonb_build_array(jsonb_build_object('alter_column',
       jsonb_build_object('table', 'r296', 'column', 'v', 'name', :long64, 'type', 'bigint'))));
SELECT steward.migration_start('r296_rename', jsonb_build_array(jsonb_build_object('rename_table',
       jsonb_build_object('table', 'r296', 'name', :long64))));
SELECT steward.migration_start('r296_drop', jsonb_build_array(jsonb_build_object('drop_column',
       jsonb_build_object('table', 'r296', 'column', :long64))));
\set VERBOSITY default
SELECT steward.migration_start('r296_rename', jsonb_build_array(jsonb_build_object('rename_table',
       jsonb_build_object('table', 'r296', 'name', :long64))));
-- Multibyte: 32 two-byte characters are 64 bytes.
SELECT steward.migration_start('r296_mb', jsonb_build_array(jsonb_build_object('add_column',
       jsonb_build_object('table', 'r296', 'column', repeat('é', 32), 'type', 'bigint'))));
SELECT count(*) AS migrations FROM steward.migrations WHERE name LIKE 'r296%';
SELECT attname FROM pg_attribute WHERE attrelid = 'r296'::regclass AND attnum > 0 ORDER BY attnum;
-- 63 bytes is an identifier: renaming and retyping a column to it works
-- through backfill, complete and rollback.
SELECT steward.migration_start('r296_ok', jsonb_build_array(jsonb_build_object('alter_column',
       jsonb_build_object('table', 'r296', 'column', 'v', 'name', :long63, 'type', 'bigint'))));
CALL steward.migration_backfill('r296_ok');
SELECT bool_and(passed) AS validated FROM steward.migration_validate('r296_ok');
SELECT steward.migration_complete('r296_ok');
SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'r296'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT LIKE '\_steward%' ORDER BY attnum;
SELECT steward.migration_rollback('r296_ok');
SELECT attname FROM pg_attribute WHERE attrelid = 'r296'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
DROP TABLE r296;
CREATE TEMP TABLE gone AS SELECT 'r296_ok'::text AS name;
\i test/sql/drop_migration_records.sql
SELECT count(*) AS records_left FROM steward.migrations WHERE name LIKE 'r296%';
