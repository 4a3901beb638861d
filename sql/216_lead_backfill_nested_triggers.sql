-- Rows an up function writes into its own table during a backfill batch
-- fire the table's triggers, as when the same up runs in an
-- application's write (readme39 M1: the batch statement itself skips
-- users' triggers; statements it runs in turn skipped them too, so an
-- audit trigger missed every row an up inserted).
CREATE TABLE t216 (id int PRIMARY KEY, a int);
CREATE TABLE t216_audit (id int, op text);
CREATE FUNCTION t216_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO public.t216_audit VALUES (NEW.id, TG_OP);
  RETURN NEW;
END $$;
CREATE TRIGGER t216_aud AFTER INSERT OR UPDATE ON t216
  FOR EACH ROW EXECUTE FUNCTION t216_log();
INSERT INTO t216 SELECT g, g FROM generate_series(1001, 1020) g;
TRUNCATE t216_audit;
CREATE FUNCTION f216(i int, a int) RETURNS int LANGUAGE sql AS $$
  INSERT INTO public.t216 (id, a) SELECT i - 1000, a WHERE i > 1000 ON CONFLICT DO NOTHING;
  SELECT a * 2 $$;
-- upvol49: a function declared VOLATILE (CREATE FUNCTION's default; one
-- that writes must be) is refused in an up at start; one declared STABLE
-- is accepted on its word, and may still call it: the defence below
-- holds for that.
SELECT steward.migration_start('m216v', $$[
  {"add_column": {"table": "t216", "column": "a2", "type": "int", "up": "public.f216(id, a)"}}]$$) IS NOT NULL AS started;
CREATE FUNCTION f216_s(i int, a int) RETURNS int LANGUAGE plpgsql STABLE AS 'BEGIN RETURN public.f216(i, a); END';
SELECT steward.migration_start('m216', $$[
  {"add_column": {"table": "t216", "column": "a2", "type": "int", "up": "public.f216_s(id, a)"}}]$$) IS NOT NULL AS started;
-- An application's insert: the trigger logs the row and the up's row.
INSERT INTO t216 (id, a) VALUES (1021, 1021);
SELECT id, op FROM t216_audit ORDER BY id;
TRUNCATE t216_audit;
CALL steward.migration_backfill('m216', 5);
-- The batches' own updates of rows 1001..1020 log nothing (the batch
-- writes only the migration's columns); the 20 rows the up inserted
-- (1..20) are logged as inserts.
SELECT count(*) AS logged, count(*) FILTER (WHERE op = 'INSERT' AND id BETWEEN 1 AND 20) AS up_inserts,
       count(*) FILTER (WHERE id > 1000) AS batch_rows
  FROM t216_audit;
SELECT count(*) AS rows, count(*) FILTER (WHERE _steward_side IS NULL) AS unfilled FROM t216;
SELECT steward.migration_rollback('m216');
DROP TABLE t216, t216_audit;
DROP FUNCTION f216_s(int, int), f216(int, int), t216_log();

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m216');
\i test/sql/drop_migration_records.sql
