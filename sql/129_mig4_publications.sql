-- A publication given a column migration's table by name without a
-- column list while the migration runs gets the column list of the shape
-- the migration publishes now when its statement ends (ALTER PUBLICATION
-- ... ADD | SET TABLE, CREATE PUBLICATION ... FOR TABLE), and is recorded
-- so that complete moves it to the new shape and cleanup / rollback take
-- the list away again: it published _steward_side and the new shape's
-- columns until the migration's next step, and a subscriber lacking them
-- stopped applying.  One that cannot take a list is refused as at start.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE m4p_alice;
GRANT CREATE ON SCHEMA public TO m4p_alice;
SELECT format('GRANT CREATE ON DATABASE %I TO m4p_alice', current_database()) \gexec
SET ROLE m4p_alice;

CREATE TABLE m4p (id int PRIMARY KEY, amt numeric(12,2), note text, gone int) USING steward;
INSERT INTO m4p SELECT g, g * 1.25, 'n' || g, g FROM generate_series(1, 5) g;
CREATE VIEW m4p_pubs AS
SELECT x.pubname,
       (SELECT array_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a
         WHERE a.attrelid = r.prrelid AND a.attnum = ANY (r.prattrs::int2[])) AS column_list,
       pg_get_expr(r.prqual, r.prrelid) AS row_filter
  FROM pg_publication_rel r JOIN pg_publication x ON x.oid = r.prpubid
 WHERE r.prrelid = 'm4p'::regclass;

SELECT steward.migration_start('m4p_m', $$[
  {"alter_column": {"table": "m4p", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}},
  {"add_column": {"table": "m4p", "column": "extra", "type": "int", "up": "id * 3"}},
  {"drop_column": {"table": "m4p", "column": "gone"}}]$$);
-- REPLICA IDENTITY FULL and published updates: refused (55000), an
-- insert-only publication pinned
ALTER TABLE m4p REPLICA IDENTITY FULL;
CREATE PUBLICATION m4p_full FOR TABLE m4p;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CREATE PUBLICATION m4p_full FOR TABLE m4p WITH (publish = 'insert');
SELECT * FROM m4p_pubs WHERE pubname = 'm4p_full';
ALTER TABLE m4p REPLICA IDENTITY DEFAULT;
-- before complete: the old shape's columns, row filter kept
CREATE PUBLICATION m4p_a;
ALTER PUBLICATION m4p_a ADD TABLE m4p WHERE (id > 1);
CREATE PUBLICATION m4p_b FOR TABLE m4p;
CREATE PUBLICATION m4p_c;
ALTER PUBLICATION m4p_c SET TABLE m4p;
-- a column list given is left as it is
CREATE PUBLICATION m4p_d FOR TABLE m4p (id, note);
SELECT * FROM m4p_pubs ORDER BY 1;
SELECT publications FROM steward.migration_tables WHERE migration = 'm4p_m';
-- re-adding it without a list: pinned again
ALTER PUBLICATION m4p_b DROP TABLE m4p;
ALTER PUBLICATION m4p_b ADD TABLE m4p;
SELECT * FROM m4p_pubs WHERE pubname = 'm4p_b';
-- a publication with FOR TABLES IN SCHEMA elements takes no column list:
-- refused as at start (55000), nothing changed
RESET ROLE;
CREATE SCHEMA m4p_other;
CREATE PUBLICATION m4p_mixed FOR TABLES IN SCHEMA m4p_other;
ALTER PUBLICATION m4p_mixed ADD TABLE m4p;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
CREATE PUBLICATION m4p_mixed2 FOR TABLES IN SCHEMA m4p_other, TABLE m4p;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT count(*) FROM pg_publication_rel WHERE prrelid = 'm4p'::regclass
   AND prpubid IN (SELECT oid FROM pg_publication WHERE pubname LIKE 'm4p\_mixed%');
DROP PUBLICATION m4p_mixed;
DROP SCHEMA m4p_other;
SET ROLE m4p_alice;
CALL steward.migration_backfill('m4p_m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('m4p_m');
SELECT steward.migration_complete('m4p_m');
-- complete moved each to the new shape
SELECT * FROM m4p_pubs ORDER BY 1;
-- after complete: the new shape's columns
CREATE PUBLICATION m4p_e FOR TABLE m4p;
SELECT * FROM m4p_pubs WHERE pubname = 'm4p_e';
-- the rollback: the old shape's columns, then no list
SELECT steward.migration_rollback('m4p_m');
SELECT * FROM m4p_pubs ORDER BY 1;
-- once the migration ended, no list is given
CREATE PUBLICATION m4p_f FOR TABLE m4p;
SELECT * FROM m4p_pubs WHERE pubname = 'm4p_f';
DROP PUBLICATION m4p_a, m4p_b, m4p_c, m4p_d, m4p_e, m4p_f, m4p_full;

-- cleanup: no list again, the table has the new shape only
SELECT steward.migration_start('m4p_m2', $$[
  {"alter_column": {"table": "m4p", "column": "note", "name": "memo", "type": "varchar(20)"}}]$$);
CREATE PUBLICATION m4p_g FOR TABLE m4p;
SELECT * FROM m4p_pubs ORDER BY 1;
CALL steward.migration_backfill('m4p_m2');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('m4p_m2');
SELECT steward.migration_complete('m4p_m2');
SELECT * FROM m4p_pubs ORDER BY 1;
SELECT steward.migration_cleanup('m4p_m2');
SELECT * FROM m4p_pubs ORDER BY 1;
DROP PUBLICATION m4p_g;

-- a relayout is left alone (complete carries memberships as they are)
SELECT steward.migration_start('m4p_r', $$[{"relayout": {"table": "m4p", "partition_by": "hash (id)", "partitions": 2}}]$$);
CREATE PUBLICATION m4p_h FOR TABLE m4p;
SELECT * FROM m4p_pubs ORDER BY 1;
SELECT steward.migration_rollback('m4p_r');
DROP PUBLICATION m4p_h;

-- tables of two owners (q2 a member of q1): the pin records the
-- publication for the whole migration, which only a role owning every
-- table may do; another gets 42501 with the column list to give
RESET ROLE;
CREATE ROLE m4p_q1;
CREATE ROLE m4p_q2 IN ROLE m4p_q1;
GRANT CREATE ON SCHEMA public TO m4p_q1, m4p_q2;
SELECT format('GRANT CREATE ON DATABASE %I TO m4p_q1', current_database()) \gexec
SET ROLE m4p_q1;
CREATE TABLE m4p_u1 (id int PRIMARY KEY, a int) USING steward;
SET ROLE m4p_q2;
CREATE TABLE m4p_u2 (id int PRIMARY KEY, a int) USING steward;
RESET ROLE;
SELECT steward.migration_start('m4p_u', $$[{"alter_column": {"table": "m4p_u1", "column": "a", "name": "a1"}},
    {"alter_column": {"table": "m4p_u2", "column": "a", "name": "a2"}}]$$);
SET ROLE m4p_q1;
CREATE PUBLICATION m4p_q1p FOR TABLE m4p_u1;
\echo :LAST_ERROR_SQLSTATE
CREATE PUBLICATION m4p_q1p FOR TABLE m4p_u1 (id, a);
SET ROLE m4p_q2;
CREATE PUBLICATION m4p_q2p FOR TABLE m4p_u2;
RESET ROLE;
SELECT x.pubname, r.prrelid::regclass AS "table", r.prattrs IS NULL AS no_list, t.attnames
  FROM pg_publication_rel r JOIN pg_publication x ON x.oid = r.prpubid
  JOIN pg_publication_tables t ON t.pubname = x.pubname
 WHERE x.pubname LIKE 'm4p\_q_p' ORDER BY 1;
SELECT steward.migration_rollback('m4p_u');
SELECT x.pubname, r.prrelid::regclass AS "table", r.prattrs IS NULL AS no_list, t.attnames
  FROM pg_publication_rel r JOIN pg_publication x ON x.oid = r.prpubid
  JOIN pg_publication_tables t ON t.pubname = x.pubname
 WHERE x.pubname LIKE 'm4p\_q_p' ORDER BY 1;
DROP PUBLICATION m4p_q1p, m4p_q2p;
DROP TABLE m4p_u1, m4p_u2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM m4p_q1', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM m4p_q1, m4p_q2;
DROP ROLE m4p_q2;
DROP ROLE m4p_q1;

RESET ROLE;
DROP VIEW m4p_pubs;
DROP TABLE m4p;
SELECT format('REVOKE CREATE ON DATABASE %I FROM m4p_alice', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM m4p_alice;
DROP ROLE m4p_alice;

-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'm4p\_%';
\i test/sql/drop_migration_records.sql
