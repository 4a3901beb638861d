-- vers13's leftover (rules17): track_versions and attach_state_machine
-- check the written definitions of the column the access method sets
-- (NOT NULL without a non-null default, DEFAULT 0, a generated column,
-- a check constraint using it) and a restored label warns of them, but a
-- rule row written into steward.column_rules by hand got no word: the
-- table then failed every INSERT leaving the column out (23502, or
-- 22023 for DEFAULT 0).  Such a row now gets a WARNING with the fix in
-- the HINT (the row is kept, as for the other hand-written-row checks),
-- under origin and under session_replication_role = replica; a label,
-- which checks its row itself, warns once.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r263_nn (id int, v bigint NOT NULL) USING steward;
CREATE TABLE r263_null (id int, v bigint NOT NULL DEFAULT nullif(1, 1)) USING steward;
CREATE TABLE r263_zero (id int, v bigint DEFAULT 0) USING steward;
CREATE TABLE r263_gen (id int, v bigint, w bigint GENERATED ALWAYS AS (v * 2) STORED) USING steward;
CREATE TABLE r263_chk (id int, v bigint CHECK (v < 10)) USING steward;
CREATE TABLE r263_ok (id int, v bigint NOT NULL DEFAULT 1) USING steward;
CREATE TABLE r263_st (id int, st text, at timestamptz NOT NULL) USING steward;
SELECT steward.create_state_machine('r263', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);

-- 1. Under origin: each gets a WARNING; the rows are kept.
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r263_nn', 'v', 'version');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r263_null', 'v', 'version');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r263_zero', 'v', 'version');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r263_gen', 'v', 'version');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r263_chk', 'v', 'version');
INSERT INTO steward.column_rules (relid, attname, kind, machine, changed_at)
VALUES ('r263_st', 'st', 'state', 'r263', 'at');
-- A sound definition: no word.
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r263_ok', 'v', 'version');
SELECT relid, column_name, kind FROM steward.tracked_columns
 WHERE relid::text LIKE 'r263%' ORDER BY relid::oid;
-- What the WARNINGs are about:
INSERT INTO r263_nn (id) VALUES (1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO r263_zero (id) VALUES (1);
\echo :LAST_ERROR_SQLSTATE
-- The HINT's fix, run as written, makes it insert.
ALTER TABLE public.r263_nn ALTER COLUMN v SET DEFAULT 1;
INSERT INTO r263_nn (id) VALUES (1);
SELECT id, v FROM r263_nn;

-- 2. An UPDATE moving a rule to another table is checked too; one
-- changing nothing the check reads is not.
DELETE FROM steward.column_rules WHERE relid = 'r263_zero'::regclass;
UPDATE steward.column_rules SET relid = 'r263_zero'::regclass
 WHERE relid = 'r263_null'::regclass AND attname = 'v';
UPDATE steward.column_rules SET created_at = now() WHERE relid = 'r263_zero'::regclass;

-- 3. Under replica (a superuser's edit): the same WARNING.
SET session_replication_role = replica;
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r263_null', 'v', 'version');
RESET session_replication_role;

-- 4. The API entries still refuse (one ERROR, no WARNING first).
DELETE FROM steward.column_rules WHERE relid = 'r263_null'::regclass;
SELECT steward.track_versions('r263_null', 'v');
DELETE FROM steward.column_rules WHERE relid = 'r263_st'::regclass;
SELECT steward.attach_state_machine('r263_st', 'st', 'r263', 'at');

-- 5. A label (a restore's path) checks its row itself: one WARNING, not
-- two.
SECURITY LABEL FOR steward ON COLUMN r263_null.v IS '{"v": 1, "kind": "version"}';
SELECT relid, column_name, kind FROM steward.tracked_columns
 WHERE relid = 'r263_null'::regclass;

DROP TABLE r263_nn, r263_null, r263_zero, r263_gen, r263_chk, r263_ok, r263_st;
SELECT steward.drop_state_machine('r263');
