-- A backfill batch updates each row without locking it first: the
-- dual-write trigger leaves a batch's rows alone and the users' triggers
-- do not fire in a batch, so no BEFORE ROW trigger is left and the
-- executor has no trigger to lock the row for (it wrote one Heap/LOCK
-- WAL record per backfilled row, a fifth of a backfill's WAL).  Counted
-- with pg_walinspect over the table's own blocks; the table has room on
-- every page, so heap_update needs no lock of its own either.  Then:
-- the batches' full-page images are compressed.
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

-- steward.batch_wal_compression (on by default): the full-page images a
-- batch writes after a checkpoint are compressed although the session's
-- wal_compression is off; off: they are not.  Backfills and run_transition.
-- Full-page images of rel's blocks since an LSN: all, and compressed
-- (autovacuum is off on the tables: its images follow the session's setting).
CREATE FUNCTION brl_fpis(rel regclass, since pg_lsn, OUT fpis bigint, OUT compressed bigint)
LANGUAGE sql AS $$
    SELECT count(*), count(*) FILTER (WHERE block_ref LIKE '%compression saved%')
    FROM pg_get_wal_records_info(since, pg_current_wal_flush_lsn())
    WHERE block_ref LIKE '%/' || pg_relation_filenode(rel) || ' %(FPW)%'
$$;
CREATE TABLE brl_c (id int PRIMARY KEY, a int) WITH (autovacuum_enabled = off);
CREATE TABLE brl_u (id int PRIMARY KEY, a int) WITH (autovacuum_enabled = off);
INSERT INTO brl_c SELECT g, g FROM generate_series(1, 2000) g;
INSERT INTO brl_u SELECT g, g FROM generate_series(1, 2000) g;
SELECT steward.migration_start('brl_c', $$[{"add_column": {"table": "brl_c", "column": "a2", "type": "int", "up": "a * 2"}}]$$);
SELECT steward.migration_start('brl_u', $$[{"add_column": {"table": "brl_u", "column": "a2", "type": "int", "up": "a * 2"}}]$$);
SET wal_compression = off;
SHOW steward.batch_wal_compression;
CHECKPOINT;
SELECT pg_current_wal_insert_lsn() AS since \gset
CALL steward.migration_backfill('brl_c', 500);
SELECT fpis > 0 AS some, fpis = compressed AS all_compressed FROM brl_fpis('brl_c', :'since');
SET steward.batch_wal_compression = off;
CHECKPOINT;
SELECT pg_current_wal_insert_lsn() AS since \gset
CALL steward.migration_backfill('brl_u', 500);
SELECT fpis > 0 AS some, compressed AS compressed FROM brl_fpis('brl_u', :'since');
RESET steward.batch_wal_compression;
SHOW wal_compression;
SELECT steward.migration_rollback('brl_c');
SELECT steward.migration_rollback('brl_u');

SET steward.governor_min_calls = 1000000000;   -- no foreground load here
SELECT steward.create_state_machine('brl_ab', ARRAY['a', 'b'], ARRAY['a', 'b'], ARRAY['a->b', 'b->a']);
CREATE TABLE brl_t (id int PRIMARY KEY, status text NOT NULL) USING steward WITH (autovacuum_enabled = off);
INSERT INTO brl_t SELECT g, 'a' FROM generate_series(1, 2000) g;
SELECT steward.attach_state_machine('brl_t', 'status', 'brl_ab');
CHECKPOINT;
SELECT pg_current_wal_insert_lsn() AS since \gset
CALL steward.run_transition('brl_t', 'a', 'b', NULL, 500);
SELECT fpis > 0 AS some, fpis = compressed AS all_compressed FROM brl_fpis('brl_t', :'since');
SET steward.batch_wal_compression = off;
CHECKPOINT;
SELECT pg_current_wal_insert_lsn() AS since \gset
CALL steward.run_transition('brl_t', 'b', 'a', NULL, 500);
SELECT fpis > 0 AS some, compressed AS compressed FROM brl_fpis('brl_t', :'since');
RESET steward.batch_wal_compression;
RESET steward.governor_min_calls;
SELECT count(*) FILTER (WHERE status = 'a') AS back_in_a FROM brl_t;

-- The purge of expired idempotency keys too (steward.idempotency_purge
-- here; the purge worker's batches the same way): its deletes' full-page
-- images, counted for this transaction's records only.
INSERT INTO steward.idempotency_scopes (scope, owner) VALUES ('brl_scope', current_user::regrole);
INSERT INTO steward.idempotency_keys (scope, key, fingerprint, expires_at)
SELECT 'brl_scope', 'k' || g, 'f', now() - interval '1 day' FROM generate_series(1, 2000) g;
CHECKPOINT;
SELECT pg_current_wal_insert_lsn() AS since \gset
BEGIN;
SELECT pg_current_xact_id()::xid AS purge_xid \gset
SELECT steward.idempotency_purge() >= 2000 AS purged;
COMMIT;
SELECT count(*) > 0 AS some, count(*) FILTER (WHERE block_ref NOT LIKE '%compression saved%') AS uncompressed
  FROM pg_get_wal_records_info(:'since', pg_current_wal_flush_lsn())
 WHERE xid = :'purge_xid' AND block_ref LIKE '%(FPW)%';
DELETE FROM steward.idempotency_scopes WHERE scope = 'brl_scope';

DROP TABLE brl_heap, brl_steward, brl_c, brl_u;
SELECT steward.detach_state_machine('brl_t', 'status');
DROP TABLE brl_t;
SELECT steward.drop_state_machine('brl_ab');
DROP FUNCTION brl_fpis(regclass, pg_lsn);
DROP FUNCTION brl_records(regclass, pg_lsn);
DROP FUNCTION brl_stamp();
DROP EXTENSION pg_walinspect;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('brl_m', 'brl_c', 'brl_u');
\i test/sql/drop_migration_records.sql
