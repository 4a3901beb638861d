-- review24 V5 (mach16): a rule row written into steward.column_rules that
-- names a view, a sequence, a composite type, an index, a materialized
-- view or a partitioned index (no table, no partitioned table) was kept
-- without a WARNING under origin, enforcing nothing, and an index's
-- problem in steward.tracked_columns spoke of the column's type.  Under
-- origin it is now refused 42809 ("is not a table", as core says), like
-- a row naming no relation (42P01); under replica it is stored as sent
-- with a WARNING and its DELETE; problem names the relation's kind.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('r249_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r249_t (id int, st text, v bigint, n int) USING steward;
CREATE VIEW r249_v AS SELECT * FROM r249_t;
CREATE SEQUENCE r249_s;
CREATE TYPE r249_c AS (st text, v bigint);
CREATE INDEX r249_i ON r249_t (v);
CREATE INDEX r249_ist ON r249_t (st);
CREATE MATERIALIZED VIEW r249_mv AS SELECT * FROM r249_t;
CREATE TABLE r249_p (id int, v bigint) PARTITION BY RANGE (id);
CREATE INDEX r249_pi ON r249_p (v);

-- 1. Under origin: each kind refused 42809, for each rule kind.
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_v', 'v', 'version');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_s', 'last_value', 'version');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('r249_c', 'st', 'state', 'r249_m');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_i', 'v', 'version');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('r249_ist', 'st', 'state', 'r249_m');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_mv', 'n', 'sequence');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_pi', 'v', 'version');
\echo :LAST_ERROR_SQLSTATE
-- An UPDATE moving a table's rule onto a view or an index too.
SELECT steward.track_versions('r249_t', 'v');
UPDATE steward.column_rules SET relid = 'r249_v' WHERE relid = 'r249_t'::regclass;
\echo :LAST_ERROR_SQLSTATE
UPDATE steward.column_rules SET relid = 'r249_i' WHERE relid = 'r249_t'::regclass;
\echo :LAST_ERROR_SQLSTATE
SELECT relid, attname, kind FROM steward.column_rules WHERE relid::text LIKE 'r249%' ORDER BY 1, 2;
-- A table and a partitioned table still take hand-written rows.
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_t', 'n', 'sequence');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_p', 'v', 'version');
SELECT relid, column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid::text LIKE 'r249%' ORDER BY 1, 2;
DELETE FROM steward.column_rules WHERE relid IN ('r249_t'::regclass, 'r249_p'::regclass);

-- 2. Under replica (a superuser's edit, a dump loaded so): stored as
-- sent, with a WARNING naming the kind and the DELETE.
SET session_replication_role = replica;
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_v', 'v', 'version');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_s', 'last_value', 'version');
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('r249_c', 'st', 'state', 'r249_m');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_i', 'v', 'version');
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('r249_ist', 'st', 'state', 'r249_m');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r249_mv', 'n', 'sequence');
RESET session_replication_role;
-- problem names the kind (the index's no longer speaks of the column's
-- type; r249_ist's text column would have had none), enforced = f.
SELECT relid, column_name, kind, enforced, problem FROM steward.tracked_columns
 WHERE relid::text LIKE 'r249%' ORDER BY 1, 2;
-- The DELETE problem names, run as written, removes the row.
SELECT substring(problem FROM 'DELETE FROM .*$') AS fix
  FROM steward.tracked_columns WHERE relid = 'r249_i'::regclass \gset
:fix;
SELECT count(*) FROM steward.column_rules WHERE relid = 'r249_i'::regclass;
-- Writes of the table are not touched by the stored rows.
INSERT INTO r249_t VALUES (1, 'zzz', 0, 5);
DELETE FROM steward.column_rules WHERE relid::text LIKE 'r249%';
SELECT count(*) FROM steward.tracked_columns WHERE relid::text LIKE 'r249%';
DROP MATERIALIZED VIEW r249_mv;
DROP VIEW r249_v;
DROP TABLE r249_t, r249_p;
DROP SEQUENCE r249_s;
DROP TYPE r249_c;
SELECT steward.drop_state_machine('r249_m');
