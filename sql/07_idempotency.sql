-- Idempotency keys: outcomes, errors, retention, takeover, privileges.
-- PL/pgSQL line numbers in CONTEXT lines would make the output brittle.
\set SHOW_CONTEXT never
-- (Timestamps vary; the tests show outcomes, statuses and responses.)

-- new -> in_progress (committed without a result) -> replay after complete.
SELECT outcome, status, response FROM steward.idempotency_begin('acct-1', 'req-1', 'POST /charges {"amount":10}');
SELECT outcome, status, response FROM steward.idempotency_begin('acct-1', 'req-1', 'POST /charges {"amount":10}');
SELECT steward.idempotency_complete('acct-1', 'req-1', 201, '{"charge": "ch_1", "amount": 10}');
SELECT outcome, status, response FROM steward.idempotency_begin('acct-1', 'req-1', 'POST /charges {"amount":10}');
-- Same key, different request: mismatch, nothing overwritten.
SELECT outcome, status, response FROM steward.idempotency_begin('acct-1', 'req-1', 'POST /charges {"amount":99}');
SELECT fingerprint, status, response FROM steward.idempotency_keys WHERE scope = 'acct-1' AND key = 'req-1';
-- Keys are per scope.
SELECT outcome FROM steward.idempotency_begin('acct-2', 'req-1', 'POST /charges {"amount":99}');
-- created_at is the key's creation time in every outcome.
SELECT count(DISTINCT created_at) = 1 AS same_created_at
  FROM (SELECT created_at FROM steward.idempotency_begin('acct-1', 'req-1', 'POST /charges {"amount":10}')
        UNION ALL
        SELECT created_at FROM steward.idempotency_begin('acct-1', 'req-1', 'other')
        UNION ALL
        SELECT created_at FROM steward.idempotency_keys WHERE scope = 'acct-1' AND key = 'req-1') t;

-- The key lives in the caller's transaction: a rollback frees it.
BEGIN;
SELECT outcome FROM steward.idempotency_begin('acct-1', 'req-2', 'fp');
ROLLBACK;
SELECT outcome FROM steward.idempotency_begin('acct-1', 'req-2', 'fp');
-- Begin and complete in one transaction: key and response commit together.
BEGIN;
SELECT outcome FROM steward.idempotency_begin('acct-1', 'req-3', 'fp');
SELECT steward.idempotency_complete('acct-1', 'req-3', 200, '{"ok": true}');
COMMIT;
SELECT outcome, status, response FROM steward.idempotency_begin('acct-1', 'req-3', 'fp');
-- Completing again with the same result is a no-op; a different one is an error.
SELECT steward.idempotency_complete('acct-1', 'req-3', 200, '{"ok": true}');
SELECT steward.idempotency_complete('acct-1', 'req-3', 500, '{"ok": false}');
\echo :LAST_ERROR_SQLSTATE
-- A response is optional (204 No Content).
SELECT outcome FROM steward.idempotency_begin('acct-1', 'req-4', 'fp');
SELECT steward.idempotency_complete('acct-1', 'req-4', 204, NULL);
SELECT outcome, status, response FROM steward.idempotency_begin('acct-1', 'req-4', 'fp');

-- Completing a key nobody holds.
SELECT steward.idempotency_complete('acct-1', 'never-begun', 200, '{}');
\echo :LAST_ERROR_SQLSTATE

-- The strict variant raises instead: SI422 (mismatch), SI409 (in progress).
SELECT outcome, status FROM steward.idempotency_begin_strict('acct-1', 'req-3', 'fp');
SELECT outcome FROM steward.idempotency_begin_strict('acct-1', 'req-3', 'other fp');
\echo :LAST_ERROR_SQLSTATE
SELECT outcome FROM steward.idempotency_begin('acct-1', 'req-5', 'fp');
SELECT outcome FROM steward.idempotency_begin_strict('acct-1', 'req-5', 'fp');
\echo :LAST_ERROR_SQLSTATE

-- Validation.
SELECT * FROM steward.idempotency_begin(NULL, 'k', 'fp');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward.idempotency_begin('s', NULL, 'fp');
SELECT * FROM steward.idempotency_begin('s', 'k', NULL);
SELECT * FROM steward.idempotency_begin('', 'k', 'fp');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward.idempotency_begin('s', '', 'fp');
SELECT * FROM steward.idempotency_begin('s', 'k', '');
SELECT * FROM steward.idempotency_begin('s', repeat('k', 256), 'fp');
SELECT outcome FROM steward.idempotency_begin('s', repeat('k', 255), 'fp');
SELECT steward.idempotency_complete('s', 'k', NULL, '{}');
SELECT steward.idempotency_complete('s', 'k', 200, '[1, 2]');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.idempotency_complete('s', 'k', 200, '"text"');
-- The status is the response's HTTP status: 100 to 599 (-5 was stored).
SELECT outcome FROM steward.idempotency_begin('s', 'k3', 'fp');
SELECT steward.idempotency_complete('s', 'k3', -5, '{}');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.idempotency_complete('s', 'k3', 99, '{}');
SELECT steward.idempotency_complete('s', 'k3', 600, '{}');
SELECT steward.idempotency_complete('s', 'k3', 99999999, '{}');
SELECT steward.idempotency_complete('s', 'k3', 100, '{}');
SELECT status FROM steward.idempotency_keys WHERE scope = 's' AND key = 'k3';

-- A key committed without a result is in progress while the session that
-- began it lives, whatever steward.idempotency_lock_timeout another session
-- (here: this one, later) sets and however old the key is.  Once that
-- session lets go (it ends, or runs DISCARD ALL / pg_advisory_unlock_all,
-- as a pooler does when a client leaves), the next begin with the same
-- request takes it over as new.
SELECT outcome FROM steward.idempotency_begin('acct-1', 'stuck', 'fp');
SELECT holder_pid = pg_backend_pid() AS held_by_me, lease_until
  FROM steward.idempotency_keys WHERE scope = 'acct-1' AND key = 'stuck';
SET steward.idempotency_lock_timeout = '1s';
UPDATE steward.idempotency_keys SET locked_at = now() - interval '11 min' WHERE scope = 'acct-1' AND key = 'stuck';
SELECT outcome FROM steward.idempotency_begin('acct-1', 'stuck', 'fp');
RESET steward.idempotency_lock_timeout;
SELECT pg_advisory_unlock_all();
SELECT outcome FROM steward.idempotency_begin('acct-1', 'stuck', 'other fp');
SELECT outcome FROM steward.idempotency_begin('acct-1', 'stuck', 'fp');
SELECT outcome FROM steward.idempotency_begin('acct-1', 'stuck', 'fp');
-- A lease is the holder's own choice: after it, the key may be taken over
-- even while the holder lives.
SET steward.idempotency_lock_timeout = '10min';
SELECT outcome FROM steward.idempotency_begin('acct-1', 'leased', 'fp');
SELECT lease_until - locked_at AS lease FROM steward.idempotency_keys WHERE scope = 'acct-1' AND key = 'leased';
RESET steward.idempotency_lock_timeout;
SELECT outcome FROM steward.idempotency_begin('acct-1', 'leased', 'fp');
UPDATE steward.idempotency_keys SET lease_until = now() - interval '1 s' WHERE scope = 'acct-1' AND key = 'leased';
SELECT outcome FROM steward.idempotency_begin('acct-1', 'leased', 'fp');
SELECT lease_until IS NULL AS no_lease_now FROM steward.idempotency_keys WHERE scope = 'acct-1' AND key = 'leased';

-- Retention: default 24 h, per session, per scope override.
SHOW steward.idempotency_retention;
SELECT outcome FROM steward.idempotency_begin('acct-1', 'r1', 'fp');
SELECT expires_at - created_at AS kept_for FROM steward.idempotency_keys WHERE scope = 'acct-1' AND key = 'r1';
SET steward.idempotency_retention = '2h';
SELECT outcome FROM steward.idempotency_begin('acct-1', 'r2', 'fp');
SELECT expires_at - created_at AS kept_for FROM steward.idempotency_keys WHERE scope = 'acct-1' AND key = 'r2';
SELECT steward.set_idempotency_retention('acct-9', interval '7 days');
SELECT outcome FROM steward.idempotency_begin('acct-9', 'r3', 'fp');
SELECT expires_at - created_at AS kept_for FROM steward.idempotency_keys WHERE scope = 'acct-9' AND key = 'r3';
SELECT * FROM steward.idempotency_retention_overrides;
-- Completing restarts the retention clock from completion.
SELECT steward.idempotency_complete('acct-9', 'r3', 200, '{}');
SELECT expires_at - completed_at AS kept_for FROM steward.idempotency_keys WHERE scope = 'acct-9' AND key = 'r3';
SELECT steward.set_idempotency_retention('acct-9', NULL);
SELECT count(*) FROM steward.idempotency_retention_overrides;
SELECT steward.set_idempotency_retention('acct-9', interval '-1 day');
SELECT steward.set_idempotency_retention('', interval '1 day');
RESET steward.idempotency_retention;

-- Expired keys count as new, whatever they held.  (Keys and counts of this
-- file's scopes only: other files' keys may share the database.)
UPDATE steward.idempotency_keys SET expires_at = now() - interval '1 s' WHERE scope IN ('acct-1', 'acct-2') AND key IN ('req-1', 'req-3');
SELECT outcome, status FROM steward.idempotency_begin('acct-1', 'req-1', 'a brand new request');
-- The purge removes expired keys only, and of those not acct-2's req-1:
-- in progress, and its holder (this session) lives (sql/111).
SELECT count(*) AS expired_left FROM steward.idempotency_keys
 WHERE scope IN ('acct-1', 'acct-2', 'acct-9', 's') AND expires_at <= now();
SELECT steward.idempotency_purge();
SELECT steward.idempotency_purge();
SELECT count(*) AS expired_left FROM steward.idempotency_keys
 WHERE scope IN ('acct-1', 'acct-2', 'acct-9', 's') AND expires_at <= now();
SELECT count(*) > 0 AS others_kept FROM steward.idempotency_keys;

-- Per-scope counters (this file's scopes: other files' may share the database).
SELECT scope, new, replay, mismatch, in_progress, expired, purged, dedup_rate
  FROM steward.idempotency_stats WHERE scope IN ('acct-1', 'acct-2', 'acct-9', 's', 'app', 'x')
 ORDER BY scope;

-- Privileges: applications need explicit grants.
CREATE ROLE idem_app;
SET ROLE idem_app;
SELECT * FROM steward.idempotency_begin('x', 'y', 'z');
-- (the tables show a role only its own scopes' keys: none here)
SELECT count(*) FROM steward.idempotency_keys;
SELECT * FROM steward.idempotency_stats;
RESET ROLE;
GRANT EXECUTE ON FUNCTION steward.idempotency_begin(text, text, text, boolean),
                          steward.idempotency_complete(text, text, integer, jsonb) TO idem_app;
SET ROLE idem_app;
SELECT outcome FROM steward.idempotency_begin('app', 'k', 'fp');
SELECT steward.idempotency_complete('app', 'k', 200, '{}');
SELECT outcome, status FROM steward.idempotency_begin('app', 'k', 'fp');
RESET ROLE;
REVOKE ALL ON FUNCTION steward.idempotency_begin(text, text, text, boolean),
                       steward.idempotency_complete(text, text, integer, jsonb) FROM idem_app;
-- Its scope first (DROP ROLE refuses an owner: 82_role_objects).
REASSIGN OWNED BY idem_app TO CURRENT_USER;
DROP ROLE idem_app;

-- The keys table is a steward table guarded by a steward_hash exclusion constraint.
SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam
 WHERE c.oid = 'steward.idempotency_keys'::regclass;
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
 WHERE conrelid = 'steward.idempotency_keys'::regclass AND contype = 'x';
SELECT count(*) AS problems FROM steward.verify_index('steward.idempotency_keys_once');
-- This file's keys go (other files' keys may share the database).
DELETE FROM steward.idempotency_keys WHERE scope IN ('acct-1', 'acct-2', 'acct-9', 's', 'app', 'x');
SELECT count(*) AS left_behind FROM steward.idempotency_keys
 WHERE scope IN ('acct-1', 'acct-2', 'acct-9', 's', 'app', 'x');
