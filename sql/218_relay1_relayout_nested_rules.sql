-- A statement a relayout's apply or backfill batch runs in turn (a
-- volatile function a CHECK constraint of the layout calls, writing the
-- other layout) meets the steward access method's rules and is applied
-- back to the first layout, as the same write from an application is:
-- only the apply statement's own rows are stored as sent.  Old code:
-- every write of the backend to the other layout while an apply or a
-- batch ran was stored as sent (no state check, no version bump) and
-- fired no relayout trigger, so the two layouts differed.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r218_owner;
RESET client_min_messages;
SET steward.governor = off;
\set VERBOSITY terse
CREATE ROLE r218_owner;
GRANT CREATE ON SCHEMA public TO r218_owner;
SELECT steward.create_state_machine('m218', ARRAY['a','b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.grant_state_machine('m218', 'r218_owner');

SET ROLE r218_owner;
-- What f218 writes when a CHECK meets row "fire": n + 1 and st (when
-- given) of row "target" of table tbl, a new layout.
CREATE TABLE ctl218 (fire int, target int, st text, tbl text DEFAULT 't218_relayout_new');
CREATE FUNCTION f218(i int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE c record;
BEGIN
  FOR c IN SELECT * FROM public.ctl218 WHERE fire = i LOOP
    EXECUTE format('UPDATE public.%I SET st = coalesce($1, st), n = n + 1 WHERE id = $2', c.tbl)
      USING c.st, c.target;
  END LOOP;
  RETURN true;
END $$;
CREATE TABLE t218 (id int PRIMARY KEY, st text, version bigint, n int NOT NULL DEFAULT 0,
                   CONSTRAINT c218 CHECK (public.f218(id))) USING steward;
SELECT steward.attach_state_machine('t218', 'st', 'm218');
SELECT steward.track_versions('t218', 'version');
INSERT INTO t218 (id, st) SELECT g, 'a' FROM generate_series(1, 100) g;
UPDATE t218 SET st = 'b' WHERE id = 1;

-- 1. The backfill batch copying row 50 into the new layout makes its
-- CHECK move row 1 (copied by the first batch) from b (final) back to a.
SELECT steward.migration_start('m218', '[{"relayout": {"table": "t218", "partition_by": "HASH (id)", "partitions": 2}}]') IS NOT NULL AS started;
INSERT INTO ctl218 VALUES (50, 1, 'a');
-- Refused as from an application (old code: passed).
CALL steward.migration_backfill('m218', 10);
-- Row 1 is b in both layouts (old code: a, version 2, in the new one).
SELECT 'old' AS layout, id, st, version FROM t218 WHERE id = 1
UNION ALL SELECT 'new', id, st, version FROM t218_relayout_new WHERE id = 1;
DELETE FROM ctl218;
SELECT steward.migration_rollback('m218') IS NOT NULL AS rolled_back;

-- 2. An application's UPDATE of row 60: its CHECK on the old layout (an
-- application write) and then the apply of row 60 into the new layout
-- (the CHECK there, at the upsert's insert and at its update) each add 1
-- to n of row 2 in the new layout.  Every such write bumps the version
-- and reaches the old layout (old code: the apply's kept the version and
-- stayed in the new layout only).
SELECT steward.migration_start('m218b', '[{"relayout": {"table": "t218", "partition_by": "HASH (id)", "partitions": 2}}]') IS NOT NULL AS started;
CALL steward.migration_backfill('m218b', 50);
INSERT INTO ctl218 VALUES (60, 2, NULL);
UPDATE t218 SET n = 5 WHERE id = 60;
SELECT 'old' AS layout, id, n, version FROM t218 WHERE id IN (2, 60)
UNION ALL SELECT 'new', id, n, version FROM t218_relayout_new WHERE id IN (2, 60) ORDER BY 2, 1;
DELETE FROM ctl218;
SELECT count(*) AS differ FROM t218 o FULL JOIN t218_relayout_new n USING (id)
 WHERE (o.st, o.n, o.version) IS DISTINCT FROM (n.st, n.n, n.version);
SELECT steward.migration_rollback('m218b') IS NOT NULL AS rolled_back;

-- 3. A partitioned table: the batch copying row 50 moves row 1 of the
-- new layout from b back to a (old code: passed, the layouts apart).
CREATE TABLE t218p (id int PRIMARY KEY, st text, version bigint, n int NOT NULL DEFAULT 0,
                    CONSTRAINT c218p CHECK (public.f218(id))) PARTITION BY RANGE (id);
CREATE TABLE t218p_1 PARTITION OF t218p FOR VALUES FROM (1) TO (51) USING steward;
CREATE TABLE t218p_2 PARTITION OF t218p FOR VALUES FROM (51) TO (101) USING steward;
SELECT steward.attach_state_machine('t218p', 'st', 'm218');
SELECT steward.track_versions('t218p', 'version');
INSERT INTO t218p (id, st) SELECT g, 'a' FROM generate_series(1, 100) g;
UPDATE t218p SET st = 'b' WHERE id = 1;
SELECT steward.migration_start('m218p', '[{"relayout": {"table": "t218p", "partition_by": "HASH (id)", "partitions": 2}}]') IS NOT NULL AS started;
INSERT INTO ctl218 VALUES (50, 1, 'a', 't218p_relayout_new');
CALL steward.migration_backfill('m218p', 10);
SELECT 'old' AS layout, id, st, version FROM t218p WHERE id = 1
UNION ALL SELECT 'new', id, st, version FROM t218p_relayout_new WHERE id = 1;
DELETE FROM ctl218;
SELECT steward.migration_rollback('m218p') IS NOT NULL AS rolled_back;
RESET ROLE;

DROP TABLE t218, t218p, ctl218;
DROP FUNCTION f218(int);
SELECT steward.drop_state_machine('m218');
DROP OWNED BY r218_owner;
DROP ROLE r218_owner;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m218', 'm218b', 'm218p');
\i test/sql/drop_migration_records.sql
