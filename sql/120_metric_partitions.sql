-- steward_idempotency_requests_total{outcome} counts requests: its
-- outcomes (new, replay, mismatch, in_progress) add up to the begins
-- (review11 R11-9).  Keys found expired and keys purged are counters of
-- their own; they used to be outcomes too, so summing the outcomes
-- counted an expired key's begin twice and every purged key as a request.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.reset();

-- Five begins: new, replay, mismatch, new, and new again on an expired key.
SELECT outcome FROM steward.idempotency_begin('mp', 'k1', 'f');
SELECT steward.idempotency_complete('mp', 'k1', 200, '{}');
SELECT outcome FROM steward.idempotency_begin('mp', 'k1', 'f');
SELECT outcome FROM steward.idempotency_begin('mp', 'k1', 'g');
SELECT outcome FROM steward.idempotency_begin('mp', 'k2', 'f');
SELECT steward.idempotency_complete('mp', 'k2', 200, '{}');
UPDATE steward.idempotency_keys SET expires_at = now() - interval '1 s' WHERE scope = 'mp';
SELECT outcome FROM steward.idempotency_begin('mp', 'k1', 'f');
SELECT steward.idempotency_complete('mp', 'k1', 200, '{}');
-- The purge deletes k2 (expired): a key, not a request.
SELECT steward.idempotency_purge();

SELECT labels->>'outcome' AS outcome, value
  FROM steward.metrics
 WHERE metric = 'steward_idempotency_requests_total' AND labels->>'scope' = 'mp'
 ORDER BY 1;
SELECT sum(value) AS requests
  FROM steward.metrics
 WHERE metric = 'steward_idempotency_requests_total' AND labels->>'scope' = 'mp';
SELECT metric, value, type
  FROM steward.metrics
 WHERE metric IN ('steward_idempotency_expired_keys_total', 'steward_idempotency_keys_purged_total')
   AND labels->>'scope' = 'mp'
 ORDER BY 1;
-- steward.idempotency_stats keeps all six columns.
SELECT new, replay, mismatch, in_progress, expired, purged
  FROM steward.idempotency_stats WHERE scope = 'mp';

SELECT steward.drop_idempotency_scope('mp');
SELECT steward.reset();
