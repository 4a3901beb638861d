-- Publications changed during a column migration (review14).  R14-2: a
-- publication pinned while it published inserts only, then turned to
-- publish updates and deletes while the table has REPLICA IDENTITY FULL
-- (or USING INDEX over a replaced column), made every UPDATE and DELETE
-- of the table fail: refused (55006), as the REPLICA IDENTITY guard
-- refuses the other order.  R14-3: a column list over the replaced
-- column, given after start, was accepted and after complete published
-- _steward_old_a: refused (2BP01) as at start.  R14-10: a pinned
-- publication renamed meanwhile kept the old shape's list after
-- complete, and cleanup refused: the record follows the rename.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS mig5_app1;
RESET client_min_messages;
CREATE ROLE mig5_app1;
GRANT CREATE ON SCHEMA public TO mig5_app1;
SELECT format('GRANT CREATE ON DATABASE %I TO mig5_app1', current_database()) \gexec
SET ROLE mig5_app1;

-- R14-2, as review14 gave it.
CREATE TABLE pt2 (id int PRIMARY KEY, a int, b int); INSERT INTO pt2 SELECT g,g,g FROM generate_series(1,10) g;
SELECT steward.migration_start('pt2m', '[{"alter_column": {"table": "pt2", "column": "a", "name": "a2", "type": "bigint"}}]');
CREATE PUBLICATION pub4 FOR TABLE pt2 WITH (publish = 'insert');
ALTER TABLE pt2 REPLICA IDENTITY FULL;
ALTER PUBLICATION pub4 SET (publish = 'insert, update, delete');
ALTER PUBLICATION pub4 SET (publish = 'insert, delete');
SELECT pubupdate, pubdelete FROM pg_publication WHERE pubname = 'pub4';
UPDATE pt2 SET b = b + 1 WHERE id = 1;
DELETE FROM pt2 WHERE id = 2;
-- The primary key (over columns both shapes have) may be the replica identity.
ALTER TABLE pt2 REPLICA IDENTITY DEFAULT;
ALTER PUBLICATION pub4 SET (publish = 'insert, update, delete');
UPDATE pt2 SET b = b + 1 WHERE id = 1;
SELECT steward.migration_rollback('pt2m');
ALTER TABLE pt2 REPLICA IDENTITY FULL;
ALTER PUBLICATION pub4 SET (publish = 'insert');
ALTER PUBLICATION pub4 SET (publish = 'insert, update, delete');

-- R14-3, as review14 gave it: each list over the replaced column refused.
CREATE TABLE pt (id int PRIMARY KEY, a int, b int); INSERT INTO pt SELECT g,g,g FROM generate_series(1,10) g;
SELECT steward.migration_start('ptm', '[{"alter_column": {"table": "pt", "column": "a", "name": "a2", "type": "bigint"}}]');
CREATE PUBLICATION pub2 FOR TABLE pt (id, a);
CREATE PUBLICATION pub2 FOR TABLE pt (id, b);
ALTER PUBLICATION pub2 SET TABLE pt (id, a, b);
ALTER PUBLICATION pub2 SET TABLE pt (id, _steward_side);
CREATE PUBLICATION pub5;
ALTER PUBLICATION pub5 ADD TABLE pt (a);
CALL steward.migration_backfill('ptm'); SELECT * FROM steward.migration_validate('ptm');
SELECT steward.migration_complete('ptm');
-- After complete the old column is _steward_old_a; the new one, a2, a
-- rollback drops (pub5): both refused until the cleanup.
ALTER PUBLICATION pub5 ADD TABLE pt (id, _steward_old_a);
ALTER PUBLICATION pub5 ADD TABLE pt (id, a2);
SELECT pubname, attnames FROM pg_publication_tables WHERE tablename = 'pt' ORDER BY 1;
SELECT steward.migration_cleanup('ptm');
SELECT pubname, attnames FROM pg_publication_tables WHERE tablename = 'pt' ORDER BY 1;

-- R14-10, as review14 gave it.
CREATE TABLE pq (id int PRIMARY KEY, a int, b int); INSERT INTO pq SELECT g,g,g FROM generate_series(1,10) g;
CREATE PUBLICATION pq2 FOR TABLE pq;
SELECT steward.migration_start('pqm', '[{"alter_column": {"table": "pq", "column": "a", "name": "a2", "type": "bigint"}}]');
ALTER PUBLICATION pq2 RENAME TO pq2r;
SELECT publications FROM steward.migration_tables WHERE migration = 'pqm';
CALL steward.migration_backfill('pqm'); SELECT * FROM steward.migration_validate('pqm');
SELECT steward.migration_complete('pqm');
SELECT pubname, attnames FROM pg_publication_tables WHERE tablename = 'pq';
-- A rename that fails leaves the record as it was.
CREATE PUBLICATION pq3;
ALTER PUBLICATION pq2r RENAME TO pq3;
SELECT publications FROM steward.migration_tables WHERE migration = 'pqm';
SELECT steward.migration_cleanup('pqm');
SELECT pubname, prattrs FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
 WHERE r.prrelid = 'pq'::regclass;
-- Renamed before a rollback: the list goes too.
CREATE TABLE pr (id int PRIMARY KEY, a int, b int); INSERT INTO pr SELECT g,g,g FROM generate_series(1,10) g;
CREATE PUBLICATION pr2 FOR TABLE pr;
SELECT steward.migration_start('prm', '[{"alter_column": {"table": "pr", "column": "a", "name": "a2", "type": "bigint"}}]');
ALTER PUBLICATION pr2 RENAME TO pr2r;
SELECT steward.migration_rollback('prm');
SELECT pubname, prattrs FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
 WHERE r.prrelid = 'pr'::regclass;

RESET ROLE;
DROP PUBLICATION pub2, pub4, pub5, pq2r, pq3, pr2r;
DROP TABLE pt2, pt, pq, pr;
REVOKE CREATE ON SCHEMA public FROM mig5_app1;
SELECT format('REVOKE CREATE ON DATABASE %I FROM mig5_app1', current_database()) \gexec
DROP ROLE mig5_app1;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('pt2m', 'ptm', 'pqm', 'prm');
\i test/sql/drop_migration_records.sql
