-- review11 R11-1: a key in progress whose holder lives stays the holder's
-- past its retention; expiry ends a result's replay window, not a request
-- that is still running.  The holder here is this session (its beacon
-- lock), which begins, sees and purges its own keys like anyone else's.
\set SHOW_CONTEXT never
SET steward.idempotency_retention = '1s';

-- Begun and committed, then "calling another service" past its expiry.
SELECT outcome FROM steward.idempotency_begin('r111', 'held', 'fp');
UPDATE steward.idempotency_keys SET expires_at = now() - interval '1 min'
 WHERE scope = 'r111' AND key = 'held';
-- A retry while the holder lives: in progress, not new (the old code
-- deleted the key and answered new: a second handler, a double charge).
SELECT outcome FROM steward.idempotency_begin('r111', 'held', 'fp');
SELECT outcome FROM steward.idempotency_begin('r111', 'held', 'fp', true);
-- Another fingerprint: mismatch, as for any key in progress.
SELECT outcome FROM steward.idempotency_begin('r111', 'held', 'other');
-- The purge leaves it alone too ...
SELECT steward.idempotency_purge() AS purged;
SELECT count(*) AS held_keys FROM steward.idempotency_keys WHERE scope = 'r111' AND key = 'held';
-- ... so the holder can still complete it, which starts its retention anew.
SELECT steward.idempotency_complete('r111', 'held', 201, '{"who": "first"}');
SELECT expires_at > now() AS renewed, status FROM steward.idempotency_keys
 WHERE scope = 'r111' AND key = 'held';
SELECT outcome, status, response FROM steward.idempotency_begin('r111', 'held', 'fp');

-- A completed key past its retention expires as before: new.
UPDATE steward.idempotency_keys SET expires_at = now() - interval '1 min'
 WHERE scope = 'r111' AND key = 'held';
SELECT outcome FROM steward.idempotency_begin('r111', 'held', 'fp');

-- An expired key whose holder is gone (a session that no longer exists:
-- PID 0 never runs a backend) is abandoned: the next begin takes it as
-- new, and the purge deletes it.
SELECT outcome FROM steward.idempotency_begin('r111', 'gone1', 'fp');
SELECT outcome FROM steward.idempotency_begin('r111', 'gone2', 'fp');
UPDATE steward.idempotency_keys SET holder_pid = 0, expires_at = now() - interval '1 min'
 WHERE scope = 'r111' AND key IN ('gone1', 'gone2');
SELECT outcome FROM steward.idempotency_begin('r111', 'gone1', 'fp');
SELECT steward.idempotency_purge() AS purged;
SELECT key FROM steward.idempotency_keys WHERE scope = 'r111' ORDER BY key;

-- A live holder's own lease still bounds it: once the lease is over the
-- expired key is abandoned (new for the next begin, purged).
SET steward.idempotency_lock_timeout = '1h';
SELECT outcome FROM steward.idempotency_begin('r111', 'leased', 'fp');
RESET steward.idempotency_lock_timeout;
UPDATE steward.idempotency_keys SET lease_until = now() - interval '1 s',
       expires_at = now() - interval '1 min'
 WHERE scope = 'r111' AND key = 'leased';
SELECT steward.idempotency_purge() AS purged;
SELECT key FROM steward.idempotency_keys WHERE scope = 'r111' ORDER BY key;

-- The purge's probe is not for applications.
SELECT has_function_privilege('public', 'steward._idempotency_holder_alive(integer, timestamptz)', 'EXECUTE') AS public_may_probe;

RESET steward.idempotency_retention;
SELECT steward.drop_idempotency_scope('r111') >= 0 AS dropped;
