-- mach16's and vers13's leftovers (rules17).
-- 1. The write path read steward.machine_definitions' states, initial and
-- transitions as text[] and only asserted it: a superuser who changed a
-- column's type (steward.state_machines' dependency refuses the ALTER,
-- so after dropping the view) had a non-assert build misread memory.
-- Now any other type is refused 55000 with the ALTER that restores it.
-- 2. A leaf's NOT NULL version column whose default folds to NULL
-- (DEFAULT nullif(1, 1)) was refused saying it "has no default": it has
-- no non-null default, as the parent-side message says.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('r262', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r262 (id int, st text) USING steward;
SELECT steward.attach_state_machine('r262', 'st', 'r262');
INSERT INTO r262 VALUES (1, 'a');

-- 1a. The view's dependency refuses the ALTER.
ALTER TABLE steward.machine_definitions ALTER COLUMN states TYPE varchar[];
\echo :LAST_ERROR_SQLSTATE
-- 1b. Around it, in a transaction rolled back: integer[], varchar[],
-- then text (no array at all).
BEGIN;
ALTER EXTENSION pg_steward DROP VIEW steward.state_machines;
DROP VIEW steward.state_machines;
ALTER TABLE steward.machine_definitions ALTER COLUMN states TYPE int[] USING '{1}';
-- Every load of r262's rules refuses now, the DDL check's first (r262's
-- cached rules were loaded before: the ALTER reloads them).
SAVEPOINT s;
ALTER TABLE r262 ALTER COLUMN id SET STATISTICS 100;
ROLLBACK TO s;
INSERT INTO r262 VALUES (2, 'a');
ROLLBACK TO s;
UPDATE r262 SET st = 'b';
ROLLBACK TO s;
SELECT steward._state_machine_problem('r262');
ROLLBACK TO s;
-- Reads pass.
SELECT id, st FROM r262 ORDER BY id;
ALTER TABLE steward.machine_definitions ALTER COLUMN states TYPE varchar[] USING '{a,b}';
SAVEPOINT t;
ALTER TABLE r262 ALTER COLUMN id SET STATISTICS 100;
ROLLBACK TO t;
ALTER TABLE steward.machine_definitions ALTER COLUMN states TYPE text USING '{a,b}';
SAVEPOINT u;
INSERT INTO r262 VALUES (2, 'a');
ROLLBACK TO u;
ROLLBACK;
-- Restored: the machine reads again.
INSERT INTO r262 VALUES (2, 'a');
UPDATE r262 SET st = 'b' WHERE id = 2;
SELECT steward._state_machine_problem('r262');
SELECT id, st FROM r262 ORDER BY id;

-- 2. NOT NULL under a default folding to NULL: "no non-null default".
CREATE TABLE r262_v (id int, v bigint NOT NULL DEFAULT nullif(1, 1)) USING steward;
SELECT steward.track_versions('r262_v', 'v');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r262_v ALTER COLUMN v SET DEFAULT NULL::bigint + 1;
SELECT steward.track_versions('r262_v', 'v');
-- No default at all still says so; the primary key's variant too.
ALTER TABLE r262_v ALTER COLUMN v DROP DEFAULT;
SELECT steward.track_versions('r262_v', 'v');
CREATE TABLE r262_pk (v bigint PRIMARY KEY DEFAULT nullif(1, 1)) USING steward;
SELECT steward.track_versions('r262_pk', 'v');
ALTER TABLE r262_v ALTER COLUMN v SET DEFAULT 1;
SELECT steward.track_versions('r262_v', 'v');
ALTER TABLE r262_v ALTER COLUMN v SET DEFAULT nullif(1, 1);
\echo :LAST_ERROR_SQLSTATE

DROP TABLE r262, r262_v, r262_pk;
SELECT steward.drop_state_machine('r262');
