-- Column migrations whose tables have two owners, index migrations, DDL
-- of pg_steward's own functions run by the owner's code, and functions
-- with a string body over a shape's view:
-- * DROP OWNED BY ... CASCADE of the role owning the shapes' schemas (the
--   first table's owner) while the migration still changes another
--   owner's table is refused (55006): it dropped the schemas with the
--   other table's views, and complete then failed raw (3F000).  Views
--   gone around the guard stop complete with 55000; rollback works.
-- * An index migration (create_index, drop_index) refuses to start in a
--   REPEATABLE READ or SERIALIZABLE transaction (25000), as the others
--   do: it reads the catalog with SQL, in the transaction's snapshot
--   (isolation mig4_index_rr shows what it missed).
-- * DDL that one of pg_steward's functions (steward.release) runs when
--   the owner's code inside a migration's statement (an up expression in
--   a backfill batch) calls it is judged by the DDL guard like any other
--   (55006): it passed as the migration's own, and dropped a constraint
--   another migration carries, which the guard refuses at top level.
-- * A function with a string body that names a shape's schema records no
--   dependency, so nothing refuses it: cleanup and rollback name each in
--   a NOTICE (they were silent; it failed when run afterwards).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE m4o_own1;
GRANT CREATE ON SCHEMA public TO m4o_own1;
SELECT format('GRANT CREATE ON DATABASE %I TO m4o_own1', current_database()) \gexec
SET ROLE m4o_own1;
CREATE TABLE m4o_t1 (id int PRIMARY KEY, a int) USING steward;
RESET ROLE;
CREATE TABLE m4o_t2 (id int PRIMARY KEY, a int DEFAULT 5) USING steward;
INSERT INTO m4o_t1 VALUES (1, 1);
INSERT INTO m4o_t2 VALUES (1, 1);
SELECT steward.migration_start('m4o_m', $$[{"alter_column": {"table": "m4o_t1", "column": "a", "name": "a1"}},
    {"alter_column": {"table": "m4o_t2", "column": "a", "name": "a2", "type": "bigint"}}]$$);
SELECT nspname, nspowner::regrole FROM pg_namespace WHERE nspname LIKE 'm4o\_m%' ORDER BY 1;
DROP OWNED BY m4o_own1 CASCADE;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- nothing dropped
SELECT nspname, nspowner::regrole FROM pg_namespace WHERE nspname LIKE 'm4o\_m%' ORDER BY 1;
SELECT to_regclass('m4o_t1') AS t1, to_regclass('m4o_m.m4o_t2') AS new_view, to_regclass('m4o_m_old.m4o_t2') AS old_view;
SELECT migration, relid, active FROM steward.migration_tables WHERE migration = 'm4o_m' ORDER BY ord;
CALL steward.migration_backfill('m4o_m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('m4o_m');
-- the views dropped around the guard (both event triggers off): complete
-- refuses before any change (55000), rollback works
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER EVENT TRIGGER steward_migrations_drop DISABLE;
SET client_min_messages = warning;
DROP SCHEMA m4o_m_old CASCADE;
RESET client_min_messages;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
ALTER EVENT TRIGGER steward_migrations_drop ENABLE ALWAYS;
SELECT steward.migration_complete('m4o_m');
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT phase FROM steward.migrations WHERE name = 'm4o_m';
SELECT attname FROM pg_attribute WHERE attrelid = 'm4o_t2'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SET client_min_messages = warning;
SELECT steward.migration_rollback('m4o_m');
RESET client_min_messages;
SELECT phase, result FROM steward.migrations WHERE name = 'm4o_m';
SELECT attname, pg_get_expr(d.adbin, d.adrelid) AS "default"
  FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 'm4o_t2'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum;
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname LIKE 'm4o\_m%';
-- once the migration ended, the drop passes; so does one that drops
-- every table of a migration (it ends as dropped, its schemas go)
SET ROLE m4o_own1;
CREATE TABLE m4o_t3 (id int PRIMARY KEY, a int) USING steward;
SELECT steward.migration_start('m4o_m2', $$[{"alter_column": {"table": "m4o_t3", "column": "a", "name": "a3"}}]$$);
RESET ROLE;
DROP OWNED BY m4o_own1 CASCADE;
SELECT to_regclass('m4o_t1') AS t1, to_regclass('m4o_t3') AS t3;
SELECT name, result FROM steward.migrations WHERE name LIKE 'm4o\_%' ORDER BY 1;
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname LIKE 'm4o\_m%';

DROP TABLE m4o_t2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM m4o_own1', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM m4o_own1;
DROP ROLE m4o_own1;

-- index migrations under REPEATABLE READ / SERIALIZABLE: 25000, nothing recorded
CREATE TABLE m4o_ix (id int PRIMARY KEY, b int) USING steward;
CREATE INDEX m4o_ix_b ON m4o_ix (b);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT steward.migration_start('m4o_ix_c', '[{"create_index": {"table": "m4o_ix", "name": "m4o_ix_b2", "definition": "(b, id)"}}]');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT steward.migration_start('m4o_ix_d', '[{"drop_index": {"name": "m4o_ix_b"}}]');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT count(*) AS records FROM steward.migration_runs WHERE name LIKE 'm4o\_ix%';
-- READ COMMITTED starts
BEGIN;
SELECT steward.migration_start('m4o_ix_d', '[{"drop_index": {"name": "m4o_ix_b"}}]');
COMMIT;
SELECT name, phase FROM steward.migrations WHERE name LIKE 'm4o\_ix%';
SELECT steward.migration_rollback('m4o_ix_d');
DROP TABLE m4o_ix;

-- steward.release() from an up expression, against another migration's table
CREATE TABLE m4o_r2 (id int PRIMARY KEY, k int, CONSTRAINT m4o_r2_k_once EXCLUDE USING steward_hash (k WITH =)) USING steward;
INSERT INTO m4o_r2 SELECT g, g FROM generate_series(1, 3) g;
SELECT steward.migration_start('m4o_rb', $$[{"alter_column": {"table": "m4o_r2", "column": "k", "type": "bigint", "unique": "steward_hash"}}]$$);
-- at top level: refused
SELECT * FROM steward.release('m4o_r2');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE m4o_r1 (id int PRIMARY KEY, a int) USING steward;
INSERT INTO m4o_r1 SELECT g, g FROM generate_series(1, 3) g;
CREATE FUNCTION m4o_release(x int) RETURNS int LANGUAGE plpgsql
    AS $f$ BEGIN IF x > 1 THEN PERFORM * FROM steward.release('public.m4o_r2'); END IF; RETURN x; END $f$;
-- upvol49: a function declared VOLATILE (CREATE FUNCTION's default; one
-- that writes must be) is refused in an up at start; one declared STABLE
-- is accepted on its word, and may still call it: the defence below
-- holds for that.
SELECT steward.migration_start('m4o_rv', $$[{"alter_column": {"table": "m4o_r1", "column": "a", "type": "bigint", "up": "public.m4o_release(a)"}}]$$);
CREATE FUNCTION m4o_release_s(x int) RETURNS int LANGUAGE plpgsql STABLE AS 'BEGIN RETURN public.m4o_release(x); END';
SELECT steward.migration_start('m4o_ra', $$[{"alter_column": {"table": "m4o_r1", "column": "a", "type": "bigint", "up": "public.m4o_release_s(a)"}}]$$);
-- in a backfill batch: refused the same way
CALL steward.migration_backfill('m4o_ra');
\echo :LAST_ERROR_SQLSTATE
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'm4o_r2'::regclass ORDER BY 1;
SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'm4o_r2'::regclass;
SELECT steward.migration_rollback('m4o_ra');
SELECT steward.migration_rollback('m4o_rb');
DROP TABLE m4o_r1, m4o_r2;
DROP FUNCTION m4o_release_s(int), m4o_release(int);

-- functions with a string body over the shapes: named by rollback and cleanup
CREATE TABLE m4o_tx1 (id int PRIMARY KEY, a int) USING steward;
INSERT INTO m4o_tx1 VALUES (1, 1);
SELECT steward.migration_start('m4o_tx', $$[{"alter_column": {"table": "m4o_tx1", "column": "a", "name": "a2"}}]$$);
CREATE FUNCTION m4o_tx_sql() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM m4o_tx.m4o_tx1';
CREATE FUNCTION m4o_tx_quoted() RETURNS bigint LANGUAGE plpgsql
    AS $f$ BEGIN RETURN (SELECT count(*) FROM "m4o_tx_old" . m4o_tx1); END $f$;
CREATE FUNCTION m4o_tx_path() RETURNS bigint LANGUAGE sql SET search_path = m4o_tx, public
    AS 'SELECT count(*) FROM m4o_tx1';
-- not these: another schema whose name starts the same, the table itself
CREATE FUNCTION m4o_tx_other() RETURNS text LANGUAGE sql AS $f$SELECT 'm4o_txy.m4o_tx1, xm4o_tx.t'$f$;
CREATE FUNCTION m4o_tx_table() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM public.m4o_tx1';
SELECT m4o_tx_sql(), m4o_tx_quoted(), m4o_tx_path();
SELECT steward.migration_rollback('m4o_tx');
SELECT steward.migration_start('m4o_tx2', $$[{"alter_column": {"table": "m4o_tx1", "column": "a", "name": "a2"}}]$$);
CREATE FUNCTION m4o_tx2_sql() RETURNS bigint LANGUAGE sql AS 'SELECT count(*) FROM M4O_TX2.m4o_tx1';
CALL steward.migration_backfill('m4o_tx2');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('m4o_tx2');
SELECT steward.migration_complete('m4o_tx2');
SELECT steward.migration_cleanup('m4o_tx2');
DROP FUNCTION m4o_tx_sql(), m4o_tx_quoted(), m4o_tx_path(), m4o_tx_other(), m4o_tx_table(), m4o_tx2_sql();
DROP TABLE m4o_tx1;

-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'm4o\_%';
\i test/sql/drop_migration_records.sql
