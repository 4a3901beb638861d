-- A relation made now starts with no rules: rows of column_rules,
-- state_checks and table_retention naming its OID that an older
-- transaction wrote belonged to a relation that had the OID before,
-- dropped where no event trigger saw it (single-user mode, a drop from an
-- older REPEATABLE READ snapshot).  Such rows are planted here for the
-- next OIDs the server will hand out (replica mode skips the checks of
-- direct writes, as a restore of an older dump would), then a table is
-- made: none of them may become its rules.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY terse

CREATE TABLE r100_probe ();
SELECT 'r100_probe'::regclass::oid AS base \gset
DROP TABLE r100_probe;
SET session_replication_role = replica;
-- (each row naming no relation yet gets a WARNING: review23 R5)
SET client_min_messages = error;
INSERT INTO steward.column_rules (relid, attname, kind)
SELECT (:base + g)::oid::regclass, 'v', 'version' FROM generate_series(1, 200) g;
RESET client_min_messages;
INSERT INTO steward.table_retention (relid, retention)
SELECT (:base + g)::oid::regclass, interval '1 day' FROM generate_series(1, 200) g;
RESET session_replication_role;

CREATE TABLE r100_t (id int PRIMARY KEY, v bigint) USING steward;
SELECT 'r100_t'::regclass::oid::bigint - :base BETWEEN 1 AND 200 AS oid_was_planted;
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 'r100_t'::regclass;
SELECT count(*) AS retention FROM steward.table_retention WHERE relid = 'r100_t'::regclass;
-- No stale-version rule: any version is stored as given.
INSERT INTO r100_t VALUES (1, 5);
UPDATE r100_t SET v = 3 WHERE id = 1;
SELECT v FROM r100_t;
-- Its own rules, made in the same transaction as the table, stay.
BEGIN;
CREATE TABLE r100_u (id int PRIMARY KEY, v bigint) USING steward;
SELECT steward.track_versions('r100_u', 'v');
CREATE TABLE r100_w (id int PRIMARY KEY);
SELECT count(*) AS rules_kept FROM steward.column_rules WHERE relid = 'r100_u'::regclass;
COMMIT;
-- The planted rows of OIDs no relation took are left to the dump
-- conditions (they are not dumped); remove them here.
SET session_replication_role = replica;
DELETE FROM steward.column_rules WHERE relid::oid BETWEEN :base + 1 AND :base + 200
   AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = relid::oid);
DELETE FROM steward.table_retention WHERE relid::oid BETWEEN :base + 1 AND :base + 200
   AND NOT EXISTS (SELECT FROM pg_class c WHERE c.oid = relid::oid);
RESET session_replication_role;
SELECT count(*) AS left_over FROM steward.column_rules WHERE relid::oid BETWEEN :base + 1 AND :base + 200
   AND relid <> 'r100_u'::regclass;
DROP TABLE r100_t, r100_u, r100_w;
