-- pub4's and guard4's left-alone: a publication column list or row filter
-- over the NEW column of a column migration (an alter_column's that
-- writes one, an add_column's) was accepted, and the rollback, which
-- drops that column, then refused (2BP01 from
-- _migration_check_column_users); a foreign key referencing the new
-- column likewise (the refusal of a key to the old column even pointed
-- at the new one).  Now refused at the statement like the old column's:
-- 2BP01 for a list or filter (CREATE PUBLICATION, ALTER PUBLICATION ADD /
-- SET TABLE, a publication with a schema element, before and after
-- complete), 55006 for a foreign key (ALTER TABLE ADD CONSTRAINT,
-- CREATE TABLE ... REFERENCES), each with a HINT naming the cleanup.  A
-- pinned publication may still take the pin's own list (the new shape's
-- after complete): the rollback moves it back.  The rollback then runs;
-- after the cleanup the same statements are accepted.  A replica
-- identity index over a column the migration drops is refused (55006;
-- 55000 at start, as when published).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS pub5_app;
RESET client_min_messages;
CREATE ROLE pub5_app;
GRANT CREATE ON SCHEMA public TO pub5_app;
SELECT format('GRANT CREATE ON DATABASE %I TO pub5_app', current_database()) \gexec
SET ROLE pub5_app;
SET client_min_messages = error;
CREATE SCHEMA pn_other;
CREATE TABLE pn (id int PRIMARY KEY, a int, b int, d int);
INSERT INTO pn SELECT g, g, g, g FROM generate_series(1, 10) g;
CREATE TABLE pnr (id int PRIMARY KEY, r bigint, s int, t int);
CREATE PUBLICATION pnp FOR TABLE pn;
CREATE PUBLICATION pno FOR TABLE pnr WITH (publish = 'insert');
-- a -> a2 (a new column under a new name), d retyped in place (its new
-- column is _steward_new_d until complete, d after it), c added.
SELECT steward.migration_start('pnm', $j$[
  {"alter_column": {"table": "pn", "column": "a", "name": "a2", "type": "bigint", "unique": true}},
  {"alter_column": {"table": "pn", "column": "d", "type": "bigint"}},
  {"add_column": {"table": "pn", "column": "c", "type": "int"}}]$j$);
RESET client_min_messages;
-- Before complete: lists and filters over the new columns.
CREATE PUBLICATION pnx1 FOR TABLE pn WHERE (a2 > 0) WITH (publish = 'insert');
CREATE PUBLICATION pnx2 FOR TABLE pn (id, b, a2);
CREATE PUBLICATION pnx3 FOR TABLE pnr, pn (id, b, c) WITH (publish = 'insert');
CREATE PUBLICATION pnx4 FOR TABLE pn (id, b, _steward_new_d) WITH (publish = 'insert');
ALTER PUBLICATION pno ADD TABLE pn WHERE (c IS NULL);
ALTER PUBLICATION pno SET TABLE pnr, pn (id, a2);
ALTER PUBLICATION pnp SET TABLE pn (id, a, b, d, c);
-- A publication with a schema element.
RESET ROLE;
SET client_min_messages = error;
CREATE PUBLICATION pnx5 FOR TABLES IN SCHEMA pn_other WITH (publish = 'insert');
RESET client_min_messages;
ALTER PUBLICATION pnx5 ADD TABLE pn WHERE (a2 IS NOT NULL);
SET ROLE pub5_app;
-- Columns both shapes have pass.
ALTER PUBLICATION pno ADD TABLE pn (id, b) WHERE (b > 0);
-- Foreign keys: to the new column once its unique index exists, to the
-- old one.
CALL steward.migration_backfill('pnm');
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'pn'::regclass AND indisunique ORDER BY 1;
ALTER TABLE pnr ADD CONSTRAINT pnr_r_fk FOREIGN KEY (r) REFERENCES pn (a2);
CREATE TABLE pnr2 (id int PRIMARY KEY, r bigint REFERENCES pn (a2));
ALTER TABLE pnr ADD COLUMN u bigint REFERENCES pn (a2);
ALTER TABLE pnr ADD CONSTRAINT pnr_s_fk FOREIGN KEY (s) REFERENCES pn (a);
-- After complete: the new columns under their final names.
SELECT passed FROM steward.migration_validate('pnm') ORDER BY 1;
SELECT steward.migration_complete('pnm');
CREATE PUBLICATION pnx6 FOR TABLE pn (id, a2, b) WITH (publish = 'insert');
CREATE PUBLICATION pnx7 FOR TABLE pn WHERE (d > 0) WITH (publish = 'insert');
ALTER PUBLICATION pno SET TABLE pnr, pn (id, b) WHERE (c > 0 AND b > 0);
-- The pinned publication takes the pin's own list (the new shape's)...
ALTER PUBLICATION pnp SET TABLE pn (id, a2, b, d, c);
-- ... not with a filter over a new column.
ALTER PUBLICATION pnp SET TABLE pn (id, a2, b, d, c) WHERE (a2 > 0);
ALTER TABLE pnr ADD CONSTRAINT pnr_r_fk FOREIGN KEY (r) REFERENCES pn (a2);
SELECT pubname, tablename, attnames, rowfilter FROM pg_publication_tables
 WHERE pubname LIKE 'pn%' ORDER BY 1, 2;
SELECT conname FROM pg_constraint WHERE contype = 'f' AND confrelid = 'pn'::regclass ORDER BY 1;
-- The rollback runs, and gives the pinned publication the old shape's list.
SELECT steward.migration_rollback('pnm');
SELECT pubname, tablename, attnames, rowfilter FROM pg_publication_tables
 WHERE pubname LIKE 'pn%' ORDER BY 1, 2;
SELECT attname FROM pg_attribute WHERE attrelid = 'pn'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;

-- Again to the cleanup: then the hints' statements are accepted.
SET client_min_messages = error;
SELECT steward.migration_start('pnm2', $j$[
  {"alter_column": {"table": "pn", "column": "a", "name": "a2", "type": "bigint", "unique": true}}]$j$);
CALL steward.migration_backfill('pnm2');
RESET client_min_messages;
SELECT passed FROM steward.migration_validate('pnm2') ORDER BY 1;
SELECT steward.migration_complete('pnm2');
SELECT steward.migration_cleanup('pnm2');
CREATE PUBLICATION pnx8 FOR TABLE pn (id, a2) WHERE (a2 > 0) WITH (publish = 'insert');
ALTER TABLE pnr ADD CONSTRAINT pnr_r_fk FOREIGN KEY (r) REFERENCES pn (a2);
SELECT pubname, tablename, attnames, rowfilter FROM pg_publication_tables
 WHERE pubname LIKE 'pn%' ORDER BY 1, 2;
SELECT conname FROM pg_constraint WHERE contype = 'f' AND confrelid = 'pn'::regclass ORDER BY 1;

-- A replica identity index over a column the migration drops (the old
-- one at cleanup, the new one at a rollback) went with it, leaving the
-- identity naming no index; refused when it is set.
CREATE TABLE pni (id int PRIMARY KEY, a int NOT NULL, b int NOT NULL);
CREATE UNIQUE INDEX pni_a ON pni (a);
CREATE UNIQUE INDEX pni_b ON pni (b);
INSERT INTO pni SELECT g, g, g FROM generate_series(1, 5) g;
-- Set before the start, the start refuses it where the identity cannot
-- follow the column to a key of the new shape (an alter_column that
-- writes a new column without restating the key, a drop_column; relay2:
-- one that restates it moves the identity at complete, sql/231).
ALTER TABLE pni REPLICA IDENTITY USING INDEX pni_a;
SELECT steward.migration_start('pnim', $j$[
  {"alter_column": {"table": "pni", "column": "a", "name": "a2", "type": "bigint", "unique": false, "not_null": true}}]$j$);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_start('pnim', $j$[{"drop_column": {"table": "pni", "column": "a", "down": "id"}}]$j$);
SELECT count(*) AS records FROM steward.migration_runs WHERE name = 'pnim';
ALTER TABLE pni REPLICA IDENTITY DEFAULT;
SET client_min_messages = error;
SELECT steward.migration_start('pnim', $j$[
  {"alter_column": {"table": "pni", "column": "a", "name": "a2", "type": "bigint", "unique": true, "not_null": true}}]$j$);
CALL steward.migration_backfill('pnim');
RESET client_min_messages;
ALTER TABLE pni REPLICA IDENTITY USING INDEX pni_a;
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('pnim');
SELECT steward.migration_complete('pnim');
ALTER TABLE pni REPLICA IDENTITY USING INDEX pni_a2_key;
ALTER TABLE pni REPLICA IDENTITY USING INDEX pni_a;
SELECT c.relreplident, i.indexrelid::regclass AS identity_index
  FROM pg_class c LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisreplident
 WHERE c.oid = 'pni'::regclass;
-- An index over a column both shapes have passes.
ALTER TABLE pni REPLICA IDENTITY USING INDEX pni_b;
SELECT steward.migration_rollback('pnim');
SELECT c.relreplident, i.indexrelid::regclass AS identity_index
  FROM pg_class c LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisreplident
 WHERE c.oid = 'pni'::regclass;
DROP TABLE pni;

RESET ROLE;
DROP PUBLICATION pnp, pno, pnx5, pnx8;
DROP TABLE pnr, pn;
DROP SCHEMA pn_other;
REVOKE CREATE ON SCHEMA public FROM pub5_app;
SELECT format('REVOKE CREATE ON DATABASE %I FROM pub5_app', current_database()) \gexec
DROP ROLE pub5_app;
CREATE TEMP TABLE gone AS SELECT unnest(ARRAY['pnm', 'pnm2', 'pnim']) AS name;
\i test/sql/drop_migration_records.sql
