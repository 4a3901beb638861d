-- A backfill batch updates each row without locking it first: the
-- dual-write trigger leaves a batch's rows alone and the users' triggers
-- do not fire in a batch, so no BEFORE ROW trigger is left and the
-- executor has no trigger to lock the row for (it wrote one Heap/LOCK
-- WAL record per backfilled row, a fifth of a backfill's WAL).  Counted
-- with pg_walinspect over the table's own blocks; the table has room on
-- every page, so heap_update needs no lock of its own either.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
CREATE EXTENSION IF NOT EXISTS pg_walinspect;
RESET client_min_messages;
SET steward.governor = off;

CREATE FUNCTION brl_stamp() RETURNS trigger LANGUAGE plpgsql AS
$$BEGIN NEW.touched := true; RETURN NEW; END$$;

-- Heap/LOCK and Heap/UPDATE records of rel's blocks between two LSNs.
CREATE FUNCTION brl_records(rel regclass, since pg_lsn)
RETURNS TABLE (record_type text, n bigint) LANGUAGE sql AS $$
    SELECT record_type, count(*)
    FROM pg_get_wal_records_info(since, pg_current_wal_flush_lsn())
    WHERE resource_manager = 'Heap' AND record_type IN ('LOCK', 'UPDATE', 'HOT_UPDATE')
      AND block_ref LIKE '%/' || pg_relation_filenode(rel) || ' %'
    GROUP BY 1 ORDER BY 1
$$;

CREATE TABLE brl_heap (id int PRIMARY KEY, a int, touched bool NOT NULL DEFAULT false)
    WITH (fillfactor = 40);
CREATE TABLE brl_steward (id int PRIMARY KEY, a int, touched bool NOT NULL DEFAULT false)
    USING steward WITH (fillfactor = 40);
INSERT INTO brl_heap (id, a) SELECT g, g FROM generate_series(1, 2000) g;
INSERT INTO brl_steward (id, a) SELECT g, g FROM generate_series(1, 2000) g;
CREATE TRIGGER brl_stamp BEFORE UPDATE ON brl_heap FOR EACH ROW EXECUTE FUNCTION brl_stamp();
CREATE TRIGGER brl_stamp BEFORE UPDATE ON brl_steward FOR EACH ROW EXECUTE FUNCTION brl_stamp();
VACUUM brl_heap, brl_steward;

SELECT steward.migration_start('brl_m', $$[
  {"add_column": {"table": "brl_heap", "column": "a2", "type": "int", "up": "a * 2"}},
  {"add_column": {"table": "brl_steward", "column": "a2", "type": "int", "up": "a * 2"}}]$$);
SELECT pg_current_wal_insert_lsn() AS since \gset
CALL steward.migration_backfill('brl_m', 500);
-- Every row written once, in place, and none locked.
SELECT * FROM brl_records('brl_heap', :'since');
SELECT * FROM brl_records('brl_steward', :'since');
-- The backfill filled every row and fired none of the users' triggers.
SELECT count(*) FILTER (WHERE a2 IS DISTINCT FROM a * 2) AS wrong, count(*) FILTER (WHERE touched) AS stamped FROM brl_heap;
SELECT count(*) FILTER (WHERE a2 IS DISTINCT FROM a * 2) AS wrong, count(*) FILTER (WHERE touched) AS stamped FROM brl_steward;

-- The statement after the batch, in the same session, fires both the
-- users' trigger and the dual-write trigger (each statement has its own
-- copy of the trigger descriptor).
UPDATE brl_heap SET a = a + 1 WHERE id <= 3;
UPDATE brl_steward SET a = a + 1 WHERE id <= 3;
SELECT id, a, a2, touched FROM brl_heap WHERE id <= 4 ORDER BY id;
SELECT id, a, a2, touched FROM brl_steward WHERE id <= 4 ORDER BY id;
SELECT steward.migration_rollback('brl_m');

DROP TABLE brl_heap, brl_steward;
DROP FUNCTION brl_records(regclass, pg_lsn);
DROP FUNCTION brl_stamp();
DROP EXTENSION pg_walinspect;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('brl_m');
\i test/sql/drop_migration_records.sql
