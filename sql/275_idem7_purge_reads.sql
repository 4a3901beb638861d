-- The purge's batch (idem7, idem5's leftover): it deletes the oldest
-- expired keys by walking the expiry index directly, so what a purge reads
-- follows what it deletes, not the keys table's statistics.  As a planned
-- DELETE ... ORDER BY expires_at LIMIT batch it followed them: keys that
-- expired after the last ANALYZE look few to the planner, and a batch
-- larger than its guess read every expired key (a bitmap scan of the
-- expiry index and a sort: 1M keys, batch 10000, 0.67-1.1 s a batch); and
-- each batch of steward.idempotency_purge() walked again the entries of
-- the keys the batches before it had deleted in the same transaction.
\set SHOW_CONTEXT never
SELECT steward.create_idempotency_scope('r275');

-- The expiry index's entries the transaction read and its scans, and the
-- keys table's sequential scans (the backend's pending counts: compared
-- within one transaction).
CREATE FUNCTION pg_temp.purge_reads(OUT entries bigint, OUT scans bigint, OUT seq_scans bigint)
LANGUAGE sql AS $$
    SELECT pg_stat_get_xact_tuples_returned('steward.idempotency_keys_expiry'::regclass),
           pg_stat_get_xact_numscans('steward.idempotency_keys_expiry'::regclass),
           seq_scan
      FROM pg_stat_xact_user_tables WHERE relid = 'steward.idempotency_keys'::regclass;
$$;
-- Keys of r275, expiring at now() + offset, in an order unrelated to
-- their expiry.
CREATE FUNCTION pg_temp.add_keys(prefix text, n int, first interval, step interval)
RETURNS void LANGUAGE sql AS $$
    INSERT INTO steward.idempotency_keys
           (scope, key, fingerprint, status, response, completed_at, expires_at, claim)
    SELECT 'r275', prefix || g, 'fp', 200, '{}', now(),
           now() + first + (g * 7919 % n) * step, s.claim
      FROM generate_series(1, n) g, steward.idempotency_scopes s WHERE s.scope = 'r275';
$$;

-- Statistics that know no expired key: ANALYZE sees 300 keys expiring
-- tomorrow; then 5000 keys that expired before, unseen by ANALYZE.
SELECT pg_temp.add_keys('live', 300, '1 day', '1 min');
ANALYZE steward.idempotency_keys;
SELECT pg_temp.add_keys('old', 5000, '-2 hours', '1 ms');

-- One transaction, six batches of steward.idempotency_purge_batch (1000):
-- each expired key's entry is read about once (the old statements read
-- the entries of the keys deleted before them again, each batch).
BEGIN;
SELECT * FROM pg_temp.purge_reads() \gset before_
SELECT steward.idempotency_purge() AS purged \gset
SELECT :purged >= 5000 AS purged_them,
       entries - :before_entries <= :purged + (scans - :before_scans) + 10 AS reads_follow_deletes,
       scans - :before_scans BETWEEN 6 AND 7 AS batches,
       seq_scans - :before_seq_scans AS seq_scans
  FROM pg_temp.purge_reads();
COMMIT;
SELECT count(*) AS expired_left FROM steward.idempotency_keys WHERE expires_at <= now();
SELECT count(*) AS live_left FROM steward.idempotency_keys WHERE scope = 'r275';

-- Whatever plan the statement would get: with the planner's index scans
-- disabled it read the keys table sequentially, once per batch.
SELECT pg_temp.add_keys('old2', 2500, '-2 hours', '1 ms');
BEGIN;
SET LOCAL enable_indexscan = off;
SET LOCAL enable_bitmapscan = off;
SET LOCAL plan_cache_mode = force_custom_plan;
SELECT * FROM pg_temp.purge_reads() \gset before_
SELECT steward.idempotency_purge() AS purged \gset
SELECT :purged >= 2500 AS purged_them,
       entries - :before_entries <= :purged + (scans - :before_scans) + 10 AS reads_follow_deletes,
       seq_scans - :before_seq_scans AS seq_scans
  FROM pg_temp.purge_reads();
COMMIT;

-- The batch judges each key as the statement did: a key in progress whose
-- holder lives (this session) stays, expired or not; one whose holder is
-- gone (PID 0 never runs a backend) or whose lease ran out goes; oldest
-- first, skipping what it keeps.
SELECT outcome FROM steward.idempotency_begin('r275', 'held', 'fp');
SELECT outcome FROM steward.idempotency_begin('r275', 'gone', 'fp');
SELECT outcome FROM steward.idempotency_begin('r275', 'leased', 'fp');
UPDATE steward.idempotency_keys SET expires_at = now() - interval '3 hours'
 WHERE scope = 'r275' AND key IN ('held', 'gone', 'leased');
UPDATE steward.idempotency_keys SET holder_pid = 0 WHERE scope = 'r275' AND key = 'gone';
UPDATE steward.idempotency_keys SET lease_until = now() - interval '1 s'
 WHERE scope = 'r275' AND key = 'leased';
SELECT steward.idempotency_purge() AS purged;
SELECT key FROM steward.idempotency_keys WHERE scope = 'r275' AND expires_at <= now() ORDER BY key;
SELECT purged >= 2 AS counted FROM steward.idempotency_stats WHERE scope = 'r275';

-- A keys table the batch cannot walk (a superuser replaced the expiry
-- index by a descending one) is purged by the statement, as before.
DROP INDEX steward.idempotency_keys_expiry;
CREATE INDEX idempotency_keys_expiry ON steward.idempotency_keys (expires_at DESC);
SELECT pg_temp.add_keys('old3', 50, '-2 hours', '1 ms');
SELECT steward.idempotency_purge() AS purged;
DROP INDEX steward.idempotency_keys_expiry;
CREATE INDEX idempotency_keys_expiry ON steward.idempotency_keys (expires_at);
SELECT steward.idempotency_complete('r275', 'held', 200, '{}');
SELECT steward.drop_idempotency_scope('r275');
