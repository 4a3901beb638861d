-- Migration DDL guard leftovers (recheck10 N2, N4, N8, N9; codereview F4).
--  N2: DDL that the owner's up expression runs during a backfill batch is
--      judged by the guard like any other (before, the batch's mark of the
--      migration's own statements covered it: another migration's table
--      gained a column on one shape only).
--  N4: ATTACH PARTITION clones the parent's BEFORE UPDATE row trigger onto
--      a version-tracked table: the WARNING CREATE TRIGGER gives there.
--  N8: relayout start on a table with row-level security or policies: a
--      message that says which, and a HINT.
--  N9: ENABLE [ORIGIN] TRIGGER of a migration's trigger (ALWAYS -> ORIGIN,
--      skipped by replica-mode writes) is refused; ENABLE ALWAYS passes.
--  F4: DROP INDEX of a unique index of a layout (or over a migrated
--      column) is refused; other indexes drop.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE gl_c (id int PRIMARY KEY, a int, b int) USING steward;
INSERT INTO gl_c SELECT g, g, g FROM generate_series(1, 5) g;
CREATE UNIQUE INDEX gl_c_b ON gl_c (b);
CREATE TABLE gl_t (id int PRIMARY KEY, k int, v int) USING steward;
INSERT INTO gl_t SELECT g, g, g FROM generate_series(1, 5) g;
CREATE UNIQUE INDEX gl_t_k ON gl_t (id, k);
CREATE INDEX gl_t_v ON gl_t (v);
SELECT steward.migration_start('gl_c_m', '[{"alter_column": {"table": "gl_c", "column": "a", "name": "a2", "type": "bigint", "unique": true}}]');
SELECT steward.migration_start('gl_t_rl', '[{"relayout": {"table": "gl_t", "partition_by": "HASH (id)", "partitions": 2}}]');

-- N9: ENABLE [ORIGIN] TRIGGER, ENABLE TRIGGER ALL / USER: refused.
ALTER TABLE gl_c ENABLE TRIGGER zz_steward_migration;
ALTER TABLE gl_c ENABLE TRIGGER ALL;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gl_c ENABLE TRIGGER USER;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE gl_t ENABLE TRIGGER zz_steward_relayout;
ALTER TABLE gl_t_relayout_new ENABLE TRIGGER zz_steward_relayout;
\echo :LAST_ERROR_SQLSTATE
-- ENABLE ALWAYS is what they are: passes.
ALTER TABLE gl_c ENABLE ALWAYS TRIGGER zz_steward_migration;
ALTER TABLE gl_t ENABLE ALWAYS TRIGGER zz_steward_relayout;
SELECT tgrelid::regclass, tgname, tgenabled FROM pg_trigger
 WHERE tgrelid IN ('gl_c'::regclass, 'gl_t'::regclass, 'gl_t_relayout_new'::regclass)
   AND tgname LIKE 'zz\_steward\_%' ORDER BY 1, 2;
-- A replica-mode write still reaches the new shape.
SET session_replication_role = replica;
UPDATE gl_c SET a = 30 WHERE id = 2;
RESET session_replication_role;
SELECT id, a, a2 FROM gl_c WHERE id = 2;

-- F4: a unique index of a layout, or the one a column migration builds
-- for its new column: refused.
DROP INDEX gl_t_k;
DROP INDEX gl_c_b, gl_t_k;
\echo :LAST_ERROR_SQLSTATE
CALL steward.migration_backfill('gl_c_m');
\set VERBOSITY sqlstate
SELECT format('DROP INDEX %I', unique_name) FROM steward.migration_columns WHERE migration = 'gl_c_m' \gexec
\set VERBOSITY default
SELECT count(*) FROM pg_index i JOIN steward.migration_columns c ON c.migration = 'gl_c_m'
 WHERE i.indexrelid = c.unique_name::regclass;
-- a plain index of a layout, a unique index over other columns: dropped.
DROP INDEX gl_t_v;
DROP INDEX gl_c_b;
-- a constraint's index: core's refusal, as before
DROP INDEX gl_t_pkey;
SELECT indexrelid::regclass FROM pg_index
 WHERE indrelid IN ('gl_c'::regclass, 'gl_t'::regclass) ORDER BY indexrelid::regclass::text;
CALL steward.migration_backfill('gl_t_rl');
SELECT "check", passed FROM steward.migration_validate('gl_t_rl') WHERE NOT passed;

-- N2: the up expression of another migration runs DDL on gl_c and gl_t
-- during its backfill: refused, neither table changes.
CREATE TABLE gl_c4 (id int PRIMARY KEY, a int, b int) USING steward;
INSERT INTO gl_c4 SELECT g, g, g FROM generate_series(1, 5) g;
CREATE FUNCTION gl_evil(x int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  IF x > 1 AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'public.gl_c'::regclass AND attname = 'zz') THEN
    EXECUTE 'ALTER TABLE public.gl_c ADD COLUMN zz int';
  END IF;
  RETURN x;
END $$;
CREATE FUNCTION gl_evil_t(x int) RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  IF x > 1 AND NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'public.gl_t'::regclass AND attname = 'zz') THEN
    EXECUTE 'ALTER TABLE public.gl_t ADD COLUMN zz int';
  END IF;
  RETURN x;
END $$;
-- upvol49: a function declared VOLATILE (CREATE FUNCTION's default; one
-- that writes must be) is refused in an up at start; one declared STABLE
-- is accepted on its word, and may still call it: the defence below
-- holds for that.
SELECT steward.migration_start('gl_c4_v', '[{"alter_column": {"table": "gl_c4", "column": "a", "name": "a2", "type": "bigint", "up": "public.gl_evil(a)", "down": "a2::int"}}]');
CREATE FUNCTION gl_evil_s(x int) RETURNS bigint LANGUAGE plpgsql STABLE AS 'BEGIN RETURN public.gl_evil(x); END';
CREATE FUNCTION gl_evil_t_s(x int) RETURNS bigint LANGUAGE plpgsql STABLE AS 'BEGIN RETURN public.gl_evil_t(x); END';
SELECT steward.migration_start('gl_c4_m', '[{"alter_column": {"table": "gl_c4", "column": "a", "name": "a2", "type": "bigint", "up": "public.gl_evil_s(a)", "down": "a2::int"}}]');
CALL steward.migration_backfill('gl_c4_m');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_rollback('gl_c4_m');
SELECT steward.migration_start('gl_c4_n', '[{"alter_column": {"table": "gl_c4", "column": "a", "name": "a2", "type": "bigint", "up": "public.gl_evil_t_s(a)", "down": "a2::int"}}]');
CALL steward.migration_backfill('gl_c4_n');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_rollback('gl_c4_n');
SELECT attrelid::regclass, count(*) FROM pg_attribute
 WHERE attrelid IN ('gl_c'::regclass, 'gl_t'::regclass, 'gl_t_relayout_new'::regclass) AND attname = 'zz'
 GROUP BY 1 ORDER BY 1;
SELECT "check", passed FROM steward.migration_validate('gl_t_rl') WHERE NOT passed;
-- the migration's own DDL still passes: complete and cleanup
SELECT steward.migration_complete('gl_t_rl');
SELECT steward.migration_cleanup('gl_t_rl');
SELECT steward.migration_rollback('gl_c_m');

-- N8: row-level security enabled, or policies alone.
CREATE TABLE gl_rs (id int PRIMARY KEY, v int) USING steward;
ALTER TABLE gl_rs ENABLE ROW LEVEL SECURITY;
CREATE POLICY gl_rs_p ON gl_rs USING (v > 0);
SELECT steward.migration_start('gl_rs_m', '[{"relayout": {"table": "gl_rs", "partition_by": "HASH (id)", "partitions": 2}}]');
ALTER TABLE gl_rs DISABLE ROW LEVEL SECURITY;
SELECT steward.migration_start('gl_rs_m', '[{"relayout": {"table": "gl_rs", "partition_by": "HASH (id)", "partitions": 2}}]');

-- N4: the parent's BEFORE UPDATE row trigger cloned onto a tracked table.
CREATE FUNCTION gl_bump() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.version := OLD.version + 1; RETURN NEW; END $$;
CREATE TABLE gl_pw (id int, version bigint NOT NULL DEFAULT 1) PARTITION BY RANGE (id);
CREATE TABLE gl_pw1 PARTITION OF gl_pw FOR VALUES FROM (0) TO (100) USING steward;
CREATE TRIGGER gl_pw_bump BEFORE UPDATE ON gl_pw FOR EACH ROW EXECUTE FUNCTION gl_bump();
CREATE TABLE gl_pw3 (id int, version bigint NOT NULL DEFAULT 1) USING steward;
SELECT steward.track_versions('gl_pw3', 'version');
ALTER TABLE gl_pw ATTACH PARTITION gl_pw3 FOR VALUES FROM (200) TO (300);
-- a partitioned tree whose leaf is tracked: the clone on the leaf warns
CREATE TABLE gl_pw4 (id int, version bigint NOT NULL DEFAULT 1) PARTITION BY RANGE (id);
CREATE TABLE gl_pw4a PARTITION OF gl_pw4 FOR VALUES FROM (300) TO (400) USING steward;
SELECT steward.track_versions('gl_pw4a', 'version');
ALTER TABLE gl_pw ATTACH PARTITION gl_pw4 FOR VALUES FROM (300) TO (400);
-- untracked, or an AFTER trigger only: no WARNING
CREATE TABLE gl_pw5 (id int, version bigint NOT NULL DEFAULT 1) USING steward;
ALTER TABLE gl_pw ATTACH PARTITION gl_pw5 FOR VALUES FROM (400) TO (500);
CREATE TABLE gl_pa (id int, version bigint NOT NULL DEFAULT 1) PARTITION BY RANGE (id);
CREATE TRIGGER gl_pa_after AFTER UPDATE ON gl_pa FOR EACH ROW EXECUTE FUNCTION gl_bump();
CREATE TABLE gl_pa1 (id int, version bigint NOT NULL DEFAULT 1) USING steward;
SELECT steward.track_versions('gl_pa1', 'version');
ALTER TABLE gl_pa ATTACH PARTITION gl_pa1 FOR VALUES FROM (0) TO (100);
-- what it warns about: a stale version passes on gl_pw3
INSERT INTO gl_pw VALUES (201, 5);
UPDATE gl_pw SET version = 1 WHERE id = 201;
SELECT id, version FROM gl_pw WHERE id = 201;

DROP TABLE gl_pw, gl_pa, gl_rs, gl_c, gl_c4;
DROP TABLE gl_t;
DROP FUNCTION gl_bump(), gl_evil_s(int), gl_evil_t_s(int), gl_evil(int), gl_evil_t(int);
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('gl_c_m', 'gl_t_rl', 'gl_c4_m', 'gl_c4_n', 'gl_rs_m');
\i test/sql/drop_migration_records.sql
SELECT count(*) FROM steward.migration_runs WHERE name LIKE 'gl\_%';
