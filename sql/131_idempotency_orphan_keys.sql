-- Keys whose scope has no row in steward.idempotency_scopes belong to
-- nobody: a partial restore (pg_restore -t idempotency_keys, --data-only
-- of the keys alone) or a superuser's DELETE of a scope row leaves them.
-- Whoever next creates the scope -- create_idempotency_scope, or
-- set_idempotency_retention on a scope nobody owns -- must not be served
-- them as replays: the transaction that inserts the scope's row deletes
-- them first, with a NOTICE.  Keys of other scopes are left alone.
-- A begin's claim does not delete them (it would read the whole keys
-- table: regress 140); its new scope row has a new claim, which the
-- leftovers do not carry, so begin deletes each one it meets and replays
-- none (cases 1 and 4, src/idempotency/README.md "Keys without a scope").
\set SHOW_CONTEXT never
CREATE ROLE i131_tenant;
GRANT EXECUTE ON FUNCTION
    steward.idempotency_begin(text, text, text, boolean),
    steward.idempotency_complete(text, text, integer, jsonb),
    steward.set_idempotency_retention(text, interval),
    steward.create_idempotency_scope(text, regrole, interval)
  TO i131_tenant;

-- Orphan keys of scope name s (bypassing the scopes, as a restore of the
-- keys table alone does): a completed key with a response, a pending one.
CREATE FUNCTION pg_temp.orphans(s text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO steward.idempotency_keys (scope, key, fingerprint, status, response, expires_at)
    VALUES (s, 'k1', 'POST /charges 10', 201, '{"secret": "old tenant"}', now() + interval '1 day'),
           (s, 'k2', 'POST /charges 20', NULL, NULL, now() + interval '1 day');
$$;
CREATE FUNCTION pg_temp.keys(s text) RETURNS TABLE (key text, fingerprint text, status int, response jsonb)
LANGUAGE sql AS $$
    SELECT key, fingerprint, status, response FROM steward.idempotency_keys
     WHERE scope = s ORDER BY key;
$$;

-- A scope with an owner and a key: no claim touches it.
SELECT steward.create_idempotency_scope('i131_other');
SELECT outcome FROM steward.idempotency_begin('i131_other', 'k1', 'POST /charges 10');
SELECT steward.idempotency_complete('i131_other', 'k1', 201, '{"mine": true}');

-- 1. begin claims the name: new, not the old tenant's replay.
SELECT pg_temp.orphans('i131_begin');
SELECT count(*) AS scope_rows FROM steward.idempotency_scopes WHERE scope = 'i131_begin';
SET ROLE i131_tenant;
SELECT outcome, status, response FROM steward.idempotency_begin('i131_begin', 'k1', 'POST /charges 10');
-- The pending key is not the scope's either: new, not in_progress nor a
-- takeover of it.
SELECT outcome, status, response FROM steward.idempotency_begin('i131_begin', 'k2', 'POST /charges 20');
SELECT steward.idempotency_complete('i131_begin', 'k1', 201, '{"secret": "new tenant"}');
SELECT outcome, status, response FROM steward.idempotency_begin('i131_begin', 'k1', 'POST /charges 10');
RESET ROLE;
SELECT owner FROM steward.idempotency_scopes WHERE scope = 'i131_begin';
SELECT * FROM pg_temp.keys('i131_begin');
-- A leftover key no begin has met stays (of no claim of the scope's), and
-- its owner cannot read it: row security shows a key with its scope's
-- claim only (it showed the old tenant's response).
INSERT INTO steward.idempotency_keys (scope, key, fingerprint, status, response, expires_at)
VALUES ('i131_begin', 'k3', 'POST /charges 30', 201, '{"secret": "old tenant"}', now() + interval '1 day');
SET ROLE i131_tenant;
SELECT key, status, response FROM steward.idempotency_keys WHERE scope = 'i131_begin' ORDER BY key;
RESET ROLE;
DELETE FROM steward.idempotency_keys WHERE scope = 'i131_begin' AND key = 'k3';

-- A creation rolled back undoes its deletes with its row: the keys are
-- nobody's again, and the next creation deletes them.
SELECT pg_temp.orphans('i131_rollback');
BEGIN;
SET LOCAL ROLE i131_tenant;
SELECT steward.create_idempotency_scope('i131_rollback');
ROLLBACK;
SELECT count(*) AS scope_rows FROM steward.idempotency_scopes WHERE scope = 'i131_rollback';
SELECT * FROM pg_temp.keys('i131_rollback');
SET ROLE i131_tenant;
SELECT steward.set_idempotency_retention('i131_rollback', '1 hour');
SELECT outcome, status, response FROM steward.idempotency_begin('i131_rollback', 'k1', 'POST /charges 10');
RESET ROLE;
SELECT * FROM pg_temp.keys('i131_rollback');

-- 2. create_idempotency_scope reserves the name: the leftover keys are
-- deleted with a NOTICE; the owner's first begin is new.
SELECT pg_temp.orphans('i131_create');
SET ROLE i131_tenant;
SELECT steward.create_idempotency_scope('i131_create');
SELECT outcome, status, response FROM steward.idempotency_begin('i131_create', 'k1', 'POST /charges 10');
RESET ROLE;
SELECT * FROM pg_temp.keys('i131_create');
-- Nothing left over: no NOTICE.
SELECT steward.create_idempotency_scope('i131_clean');

-- 3. set_idempotency_retention's claim of the name is a creation too.
SELECT pg_temp.orphans('i131_retention');
SET ROLE i131_tenant;
SELECT steward.set_idempotency_retention('i131_retention', '1 hour');
SELECT outcome, status, response FROM steward.idempotency_begin('i131_retention', 'k1', 'POST /charges 10');
RESET ROLE;
SELECT * FROM pg_temp.keys('i131_retention');

-- 4. A superuser deletes a scope's row by hand, keys left behind: the next
-- claim by a begin, by another role, starts empty.
SELECT steward.create_idempotency_scope('i131_manual');
SELECT outcome FROM steward.idempotency_begin('i131_manual', 'k1', 'POST /charges 10');
SELECT steward.idempotency_complete('i131_manual', 'k1', 201, '{"secret": "superuser"}');
DELETE FROM steward.idempotency_scopes WHERE scope = 'i131_manual';
SET ROLE i131_tenant;
SELECT outcome, status, response FROM steward.idempotency_begin('i131_manual', 'k1', 'POST /charges 10');
RESET ROLE;
SELECT * FROM pg_temp.keys('i131_manual');

-- 5. Nobody completes a key of a scope without its row, not even its
-- pending one: 55000 (not held, naming the missing scope), the key unchanged.
SELECT pg_temp.orphans('i131_complete');
SET ROLE i131_tenant;
SELECT steward.idempotency_complete('i131_complete', 'k2', 200, '{"forged": true}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT steward.idempotency_complete('i131_complete', 'k2', 200, '{"forged": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM pg_temp.keys('i131_complete');
DELETE FROM steward.idempotency_keys WHERE scope = 'i131_complete';

-- The other scope's key is untouched.
SELECT * FROM pg_temp.keys('i131_other');
SELECT outcome, status, response FROM steward.idempotency_begin('i131_other', 'k1', 'POST /charges 10');

SELECT steward.drop_idempotency_scope(s)
  FROM unnest(ARRAY['i131_other', 'i131_begin', 'i131_rollback', 'i131_create', 'i131_clean',
                    'i131_retention', 'i131_manual']) s;
REVOKE ALL ON FUNCTION
    steward.idempotency_begin(text, text, text, boolean),
    steward.idempotency_complete(text, text, integer, jsonb),
    steward.set_idempotency_retention(text, interval),
    steward.create_idempotency_scope(text, regrole, interval)
  FROM i131_tenant;
DROP ROLE i131_tenant;
