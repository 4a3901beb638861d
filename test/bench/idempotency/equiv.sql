-- The same protocol scenario on one variant (search_path set by run.sh);
-- run.sh runs it on steward and on plain and requires identical output.
-- Mirrors sql/07_idempotency.sql.  Timestamps are not printed.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on
\set QUIET on
-- new, in progress, complete, replay, mismatch, other scope
SELECT 'new             ', eq_begin('eq', 'k1', 'POST /charges {"amount":10}');
SELECT 'in progress     ', eq_begin('eq', 'k1', 'POST /charges {"amount":10}');
SELECT 'complete        ', eq_complete('eq', 'k1', 201, '{"charge": "ch_1", "amount": 10}');
SELECT 'replay          ', eq_begin('eq', 'k1', 'POST /charges {"amount":10}');
SELECT 'mismatch        ', eq_begin('eq', 'k1', 'POST /charges {"amount":99}');
SELECT 'other scope     ', eq_begin('eq2', 'k1', 'POST /charges {"amount":99}');
-- a rollback frees the key
BEGIN;
SELECT 'rolled back     ', eq_begin('eq', 'k2', 'fp');
ROLLBACK;
SELECT 'after rollback  ', eq_begin('eq', 'k2', 'fp');
-- begin + complete in one transaction
BEGIN;
SELECT 'tx begin        ', eq_begin('eq', 'k3', 'fp');
SELECT 'tx complete     ', eq_complete('eq', 'k3', 200, '{"ok": true}');
COMMIT;
SELECT 'tx replay       ', eq_begin('eq', 'k3', 'fp');
SELECT 'same result     ', eq_complete('eq', 'k3', 200, '{"ok": true}');
SELECT 'other result    ', eq_complete('eq', 'k3', 500, '{"ok": false}');
SELECT 'no response     ', eq_begin('eq', 'k4', 'fp'), eq_complete('eq', 'k4', 204, NULL);
SELECT 'replay no resp  ', eq_begin('eq', 'k4', 'fp');
SELECT 'not held        ', eq_complete('eq', 'never', 200, '{}');
-- argument checks
SELECT 'null scope      ', eq_begin(NULL, 'k', 'fp');
SELECT 'null key        ', eq_begin('eq', NULL, 'fp');
SELECT 'null fp         ', eq_begin('eq', 'k', NULL);
SELECT 'empty scope     ', eq_begin('', 'k', 'fp');
SELECT 'empty key       ', eq_begin('eq', '', 'fp');
SELECT 'empty fp        ', eq_begin('eq', 'k', '');
SELECT 'null, empty     ', eq_begin('', NULL, 'fp');
SELECT 'key 256 bytes   ', eq_begin('eq', repeat('k', 256), 'fp');
SELECT 'key 255 bytes   ', eq_begin('eq', repeat('k', 255), 'fp');
SELECT 'null status     ', eq_complete('eq', 'k5', NULL, '{}');
SELECT 'array response  ', eq_begin('eq', 'k5', 'fp'), eq_complete('eq', 'k5', 200, '[1, 2]');
SELECT 'scalar response ', eq_complete('eq', 'k5', 200, '"text"');
-- lock timeout (5 min): in progress, then taken over.  pg_steward keeps a
-- key whose session lives in progress unless that session set itself a
-- lease (steward.idempotency_lock_timeout), which it counts in lease_until;
-- the baseline counts 5 minutes from locked_at.  run.sh passes the variant.
SELECT :'variant' = 'steward' AS is_steward \gset
SET steward.idempotency_lock_timeout = '5min';
SELECT 'stuck           ', eq_begin('eq', 'stuck', 'fp');
RESET steward.idempotency_lock_timeout;
\if :is_steward
UPDATE idempotency_keys SET locked_at = now() - interval '4 min', lease_until = now() + interval '1 min'
 WHERE scope = 'eq' AND key = 'stuck';
\else
UPDATE idempotency_keys SET locked_at = now() - interval '4 min' WHERE scope = 'eq' AND key = 'stuck';
\endif
SELECT 'stuck 4 min     ', eq_begin('eq', 'stuck', 'fp');
\if :is_steward
UPDATE idempotency_keys SET locked_at = now() - interval '6 min', lease_until = now() - interval '1 min'
 WHERE scope = 'eq' AND key = 'stuck';
\else
UPDATE idempotency_keys SET locked_at = now() - interval '6 min' WHERE scope = 'eq' AND key = 'stuck';
\endif
SELECT 'stuck, other fp ', eq_begin('eq', 'stuck', 'other fp');
SELECT 'takeover        ', eq_begin('eq', 'stuck', 'fp');
SELECT 'after takeover  ', eq_begin('eq', 'stuck', 'fp');
-- retention: default 24 h, per-scope override, renewed on completion
SELECT 'kept for        ', expires_at - created_at FROM idempotency_keys WHERE scope = 'eq' AND key = 'k2';
INSERT INTO idempotency_scopes VALUES ('eq9', interval '7 days');
SELECT 'override        ', eq_begin('eq9', 'r3', 'fp');
SELECT 'kept for        ', expires_at - created_at FROM idempotency_keys WHERE scope = 'eq9';
SELECT 'complete        ', eq_complete('eq9', 'r3', 200, '{}');
SELECT 'kept for        ', expires_at - completed_at FROM idempotency_keys WHERE scope = 'eq9';
-- expired keys count as new
UPDATE idempotency_keys SET expires_at = now() - interval '1 s' WHERE scope = 'eq' AND key IN ('k1', 'k3');
SELECT 'expired         ', eq_begin('eq', 'k1', 'a brand new request');
SELECT 'expired, nothing', eq_complete('eq', 'k3', 200, '{"ok": true}');
-- what is stored
SELECT scope, key, fingerprint, status, response, completed_at IS NOT NULL AS completed
  FROM idempotency_keys WHERE scope LIKE 'eq%' ORDER BY scope, key;
DELETE FROM idempotency_keys WHERE scope LIKE 'eq%';
DELETE FROM idempotency_scopes WHERE scope LIKE 'eq%';
