-- codereview14 S2 (review26 R2's other arbiters): a relayout writes the
-- other layout with INSERT ... ON CONFLICT on the key (the apply), whose
-- arbiters are every unique index over the key's columns, and with ON
-- CONFLICT DO NOTHING (the backfill), whose arbiters are all unique
-- indexes; PostgreSQL refuses a deferrable arbiter.  Start refused a
-- DEFERRABLE primary key only: with a NOT DEFERRABLE primary key and a
-- DEFERRABLE unique constraint over the key's columns it started, and
-- from then on every INSERT and UPDATE of the table failed ("ON CONFLICT
-- does not support deferrable unique constraints/exclusion constraints as
-- arbiters") until a rollback; with one over other columns every backfill
-- batch failed so.  Now start refuses both (0A000) before anything
-- changes.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r299;
CREATE TABLE r299.t (id int PRIMARY KEY, v int, CONSTRAINT t_id_u UNIQUE (id) DEFERRABLE) USING steward;
INSERT INTO r299.t SELECT g, g FROM generate_series(1, 20) g;
SELECT steward.migration_start('r299_m', $$[
  {"relayout": {"table": "r299.t", "partition_by": "HASH (id)", "partitions": 2}}
]$$);
SELECT count(*) FROM steward.migrations WHERE name = 'r299_m';
-- The application keeps writing (before: the apply's ON CONFLICT error).
INSERT INTO r299.t VALUES (100, 100);
UPDATE r299.t SET v = v + 1 WHERE id = 1;
-- Over other columns, INITIALLY DEFERRED (before: started, and every
-- backfill batch failed so).
CREATE TABLE r299.u (id int PRIMARY KEY, v int, CONSTRAINT u_idv_u UNIQUE (id, v) DEFERRABLE INITIALLY DEFERRED)
    USING steward;
INSERT INTO r299.u SELECT g, g FROM generate_series(1, 20) g;
SELECT steward.migration_start('r299_u', $$[
  {"relayout": {"table": "r299.u", "partition_by": "HASH (id)", "partitions": 2}}
]$$);
SELECT count(*) FROM steward.migrations WHERE name = 'r299_u';
-- NOT DEFERRABLE, as the HINT says: it starts, the backfill copies every
-- row and the writes reach both layouts.
ALTER TABLE r299.u DROP CONSTRAINT u_idv_u;
ALTER TABLE r299.u ADD CONSTRAINT u_idv_u UNIQUE (id, v);
SELECT steward.migration_start('r299_u', $$[
  {"relayout": {"table": "r299.u", "partition_by": "HASH (id)", "partitions": 2}}
]$$);
CALL steward.migration_backfill('r299_u');
INSERT INTO r299.u VALUES (101, 101);
UPDATE r299.u SET v = v + 1 WHERE id = 2;
SELECT (SELECT count(*) FROM r299.u) AS old_rows, (SELECT count(*) FROM r299.u_relayout_new) AS new_rows,
       (SELECT v FROM r299.u_relayout_new WHERE id = 2) AS v2;
SELECT steward.migration_rollback('r299_u');
CREATE TEMP TABLE gone AS SELECT name FROM (VALUES ('r299_m'), ('r299_u')) x (name);
\i test/sql/drop_migration_records.sql
DROP SCHEMA r299 CASCADE;
