-- codereview14 S3: the purge's direct batch (idem7) deleted without
-- waiting and so skipped an expired key whose row its own transaction had
-- locked (SELECT ... FOR UPDATE before steward.idempotency_purge() in one
-- transaction): 4 of 5 purged, where the statement form's SKIP LOCKED,
-- which skips only other transactions' locks, purged 5.  A lock of the
-- purging transaction itself no longer holds the key back.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_idempotency_scope('r303');
BEGIN;
INSERT INTO steward.idempotency_keys
       (scope, key, fingerprint, status, response, completed_at, expires_at, claim)
SELECT 'r303', 'k' || g, 'fp', 200, '{}', now(), now() - interval '1 hour', s.claim
  FROM generate_series(1, 5) g, steward.idempotency_scopes s WHERE s.scope = 'r303';
SELECT key FROM steward.idempotency_keys WHERE scope = 'r303' AND key = 'k1' FOR UPDATE;
-- Other tests' expired keys may be purged too: at least these five.
SELECT steward.idempotency_purge() >= 5 AS purged_all;
SELECT count(*) AS left_over FROM steward.idempotency_keys WHERE scope = 'r303';
COMMIT;
SELECT steward.drop_idempotency_scope('r303');
