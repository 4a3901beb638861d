-- pg_steward's messages read like PostgreSQL's (msg3; closing41 item 7,
-- readme41 N4 and N8, codereview12 Q5 and Q6): a relation is named as
-- core names it, without its schema and inside double quotes (column "c"
-- of relation "t"), an owner check says what aclcheck_error says (must be
-- owner of table t), the primary message states the fault and leaves the
-- why to DETAIL, a plain unique index is dropped with DROP INDEX, and
-- sentences are one space apart.  Each case below printed public.t, a
-- 230-character message, DROP CONSTRAINT, "owner of -" or two spaces.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE m286_other;

-- 1. A column migration's dual-write trigger: column "c" of relation "t".
CREATE TABLE m286_inv (id int PRIMARY KEY, amt numeric(12,2) NOT NULL) USING steward;
INSERT INTO m286_inv SELECT g, g * 1.25 FROM generate_series(1, 3) g;
SELECT steward.migration_start('m286_cents', '[{"alter_column": {"table": "m286_inv", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}}]');
UPDATE m286_cents.m286_inv SET cents = cents + 7 WHERE id = 2;

-- 2. A guard of the C side: the relation quoted, no schema.
ALTER TABLE m286_inv ADD COLUMN extra int;

-- 3. The owner checks: core's words, the relation's bare name.
SET ROLE m286_other;
SELECT steward.migration_start('m286_x', '[{"add_column": {"table": "m286_inv", "column": "c", "type": "int"}}]');
SELECT steward.migration_start('m286_y', '[{"create_index": {"table": "m286_inv", "name": "m286_i", "definition": "(amt)"}}]');
SELECT steward.migration_forget('m286_inv');
SELECT steward._verify_as_owner('m286_inv', 'steward._verify_rows');
RESET ROLE;
-- Out of the search path, regclass output was qualified and quoted
-- ("m286 s"."My T"); core and now pg_steward print the name as it is.
CREATE SCHEMA "m286 s";
GRANT USAGE ON SCHEMA "m286 s" TO m286_other;
CREATE TABLE "m286 s"."My T" (id int PRIMARY KEY) USING steward;
SET ROLE m286_other;
SELECT steward.migration_start('m286_z', '[{"add_column": {"table": "\"m286 s\".\"My T\"", "column": "c", "type": "int"}}]');
SELECT steward.migration_forget('"m286 s"."My T"');
SELECT steward._verify_as_owner('"m286 s"."My T"', 'steward._verify_rows');
RESET ROLE;
DROP SCHEMA "m286 s" CASCADE;
SELECT steward.migration_rollback('m286_cents');
-- codereview12 Q6: an OID naming no relation, and NULL.
SELECT steward._verify_as_owner(0, 'steward._verify_rows');
SELECT steward._verify_as_owner(NULL, 'steward._verify_rows');

-- 4. readme41 N4: a unique index that is not a constraint is dropped
-- with DROP INDEX, a constraint with ALTER TABLE ... DROP CONSTRAINT.
CREATE TABLE m286_chi (id int PRIMARY KEY, tag text) USING steward;
CREATE UNIQUE INDEX m286_chi_tag ON m286_chi (tag);
SELECT steward.migration_start('m286_t', '[{"alter_column": {"table": "m286_chi", "column": "tag", "type": "varchar(20)"}}]');
ALTER TABLE m286_chi ADD CONSTRAINT m286_chi_tag_id CHECK (tag <> '' OR id > 1);
SELECT steward.migration_start('m286_t', '[{"alter_column": {"table": "m286_chi", "column": "tag", "type": "varchar(20)"}}]');
DROP INDEX m286_chi_tag;
SELECT steward.migration_start('m286_t', '[{"alter_column": {"table": "m286_chi", "column": "tag", "type": "varchar(20)"}}]');

-- 5. codereview12 Q6: a short primary message; the why is in DETAIL.
CREATE TABLE m286_p (id int, v bigint DEFAULT 1) PARTITION BY RANGE (id);
CREATE TABLE m286_p1 PARTITION OF m286_p (v NOT NULL) FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.track_versions('m286_p', 'v');
ALTER TABLE ONLY m286_p ALTER COLUMN v DROP DEFAULT;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;

-- 6. readme41 N8: a hand-written rule row's WARNING, one space between
-- the HINT's sentences.
CREATE TABLE m286_nn (id int, v bigint NOT NULL) USING steward;
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('m286_nn', 'v', 'version');
DELETE FROM steward.column_rules WHERE relid = 'm286_nn'::regclass;

DROP TABLE m286_nn, m286_p, m286_chi, m286_inv;
DROP ROLE m286_other;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m286_cents');
\i test/sql/drop_migration_records.sql
