-- A begin's claim of a new scope (the first request of a per-account
-- scope such as acct_42) must not read the whole keys table: the keys
-- have no index on the scope alone, and any role with EXECUTE on begin
-- can invent scope names.  Only the explicit creations
-- (create_idempotency_scope, the claim of set_idempotency_retention)
-- delete the keys left under the name, and say so in a NOTICE.
\set SHOW_CONTEXT never
CREATE ROLE i140_tenant;
GRANT EXECUTE ON FUNCTION
    steward.idempotency_begin(text, text, text, boolean),
    steward.idempotency_complete(text, text, integer, jsonb),
    steward.set_idempotency_retention(text, interval)
  TO i140_tenant;
SELECT steward.create_idempotency_scope('i140_existing');
SELECT outcome FROM steward.idempotency_begin('i140_existing', 'k0', 'fp');

-- Reads of the keys table by a transaction of claims other than probes of
-- one key: its sequential scans and the scans of its expiry index (the
-- backend's pending counts: a difference within the transaction).
CREATE FUNCTION pg_temp.keys_seq_scans() RETURNS bigint LANGUAGE sql AS $$
    SELECT seq_scan + pg_stat_get_xact_numscans('steward.idempotency_keys_expiry'::regclass)
      FROM pg_stat_xact_user_tables
     WHERE relid = 'steward.idempotency_keys'::regclass;
$$;
-- The claim may not hang on the planner: a statement it plans takes a
-- sequential scan of a small keys table once ANALYZE or autovacuum has
-- seen it (what a full regress run left here), and the expiry index's
-- range of a big one whose keys expired after its last ANALYZE (213 ms
-- for one begin over 1M keys).  With index scans disabled, any planned
-- read of the keys shows here as a sequential scan:
-- pg_temp.plan_keys_reads_as_seq_scans() disables them, and plans each
-- statement for its own values (plan_cache_mode), until the transaction
-- ends, and returns keys_seq_scans() so far.
CREATE FUNCTION pg_temp.plan_keys_reads_as_seq_scans() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL enable_indexscan = off;
    SET LOCAL enable_bitmapscan = off;
    SET LOCAL plan_cache_mode = force_custom_plan;
    RETURN pg_temp.keys_seq_scans();
END $$;
BEGIN;
SELECT pg_temp.plan_keys_reads_as_seq_scans() AS seq_before \gset
SET LOCAL ROLE i140_tenant;
SELECT g, b.outcome
  FROM generate_series(1, 3) g, LATERAL steward.idempotency_begin('i140_acct_' || g, 'k1', 'fp') b;
SELECT steward.idempotency_complete('i140_acct_1', 'k1', 200, '{}');
RESET ROLE;
SELECT pg_temp.keys_seq_scans() - :seq_before AS seq_scans_of_keys;
COMMIT;
SELECT count(*) AS claimed FROM steward.idempotency_scopes WHERE scope LIKE 'i140\_acct\_%';

-- set_idempotency_retention's claim deletes keys left under the name,
-- with a NOTICE (the DBA's call, as create_idempotency_scope).
INSERT INTO steward.idempotency_keys (scope, key, fingerprint, status, response, expires_at)
VALUES ('i140_ret', 'k1', 'fp', 201, '{"secret": "old tenant"}', now() + interval '1 day');
SET ROLE i140_tenant;
SELECT steward.set_idempotency_retention('i140_ret', '1 hour');
SELECT outcome, status, response FROM steward.idempotency_begin('i140_ret', 'k1', 'fp');
RESET ROLE;
SELECT key, status, response FROM steward.idempotency_keys WHERE scope = 'i140_ret';

-- Claims.  Every scope row gets its own claim; the keys begin writes
-- carry it.
SELECT count(DISTINCT claim) AS claims, count(*) FILTER (WHERE claim IS NULL) AS null_claims
  FROM steward.idempotency_scopes WHERE scope LIKE 'i140\_acct\_%';
SELECT count(*) AS keys_of_their_claim
  FROM steward.idempotency_keys k JOIN steward.idempotency_scopes s USING (scope)
 WHERE k.scope LIKE 'i140\_acct\_%' AND k.claim = s.claim;

-- A begin claiming a name under which keys of other claims are left (a
-- restore of the keys table alone: another database's claim, or NULL from
-- before the claims) gets new for each, in one index probe: the key of
-- another claim is deleted and written afresh, never replayed nor in
-- progress; no sequential scan of the keys.  So is an expired key of the
-- scope's own claim: deleted through the key's index, never through the
-- planner's choice.
INSERT INTO steward.idempotency_keys (scope, key, fingerprint, status, response, expires_at, claim)
VALUES ('i140_acct_9', 'k1', 'fp', 201, '{"secret": "old tenant"}', now() + interval '1 day',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
       ('i140_acct_9', 'k2', 'fp', NULL, NULL, now() + interval '1 day', NULL);
INSERT INTO steward.idempotency_keys (scope, key, fingerprint, status, response, expires_at, claim)
SELECT scope, 'k5', 'fp', 201, '{"old": true}', now() - interval '1 minute', claim
  FROM steward.idempotency_scopes WHERE scope = 'i140_acct_2';
BEGIN;
SELECT pg_temp.plan_keys_reads_as_seq_scans() AS seq_before \gset
SET LOCAL ROLE i140_tenant;
SELECT outcome, status, response FROM steward.idempotency_begin('i140_acct_9', 'k1', 'fp');
SELECT outcome, status, response FROM steward.idempotency_begin('i140_acct_9', 'k2', 'fp');
SELECT steward.idempotency_complete('i140_acct_9', 'k1', 200, '{"mine": true}');
SELECT outcome, status, response FROM steward.idempotency_begin('i140_acct_9', 'k1', 'fp');
SELECT outcome, status, response FROM steward.idempotency_begin('i140_acct_2', 'k5', 'fp');
RESET ROLE;
SELECT pg_temp.keys_seq_scans() - :seq_before AS seq_scans_of_keys;
COMMIT;
SELECT k.key, k.status, k.response, k.claim = s.claim AS scope_claim
  FROM steward.idempotency_keys k JOIN steward.idempotency_scopes s USING (scope)
 WHERE k.scope = 'i140_acct_9' ORDER BY k.key;

-- The takeover of an abandoned key (its holder, PID 0, never ran) and
-- complete's look at a stored result (the same result again: a no-op; a
-- different one: 55000) find the row through the key's index too, never
-- through the planner's choice (they were planned statements: a
-- sequential scan of a small keys table).
INSERT INTO steward.idempotency_keys
       (scope, key, fingerprint, expires_at, holder_pid, holder_start, lease_until, claim)
SELECT scope, 'k6', 'fp', now() + interval '1 day', 0, now(), NULL, claim
  FROM steward.idempotency_scopes WHERE scope = 'i140_acct_2';
BEGIN;
SELECT pg_temp.plan_keys_reads_as_seq_scans() AS seq_before \gset
SET LOCAL ROLE i140_tenant;
SELECT outcome, status FROM steward.idempotency_begin('i140_acct_2', 'k6', 'fp');
SELECT steward.idempotency_complete('i140_acct_2', 'k6', 200, '{"taken": true}');
SELECT steward.idempotency_complete('i140_acct_2', 'k6', 200, '{"taken": true}');
SAVEPOINT different;
SELECT steward.idempotency_complete('i140_acct_2', 'k6', 201, '{"taken": true}');
ROLLBACK TO different;
SAVEPOINT other_response;
SELECT steward.idempotency_complete('i140_acct_2', 'k6', 200, '{"taken": false}');
ROLLBACK TO other_response;
SAVEPOINT not_held;
SELECT steward.idempotency_complete('i140_acct_2', 'k_never', 200, '{}');
ROLLBACK TO not_held;
RESET ROLE;
SELECT pg_temp.keys_seq_scans() - :seq_before AS seq_scans_of_keys;
COMMIT;
SELECT holder_pid = pg_backend_pid() AS held_here, status, response
  FROM steward.idempotency_keys WHERE scope = 'i140_acct_2' AND key = 'k6';

-- A key of another claim in a scope that exists (written there by a
-- restore) is not the scope's: complete refuses it (55000, not held, the
-- key unchanged), even its pending one; begin then replaces it.
INSERT INTO steward.idempotency_keys (scope, key, fingerprint, status, response, expires_at, claim)
VALUES ('i140_acct_2', 'k7', 'fp', NULL, NULL, now() + interval '1 day',
        'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
       ('i140_acct_2', 'k8', 'fp', 201, '{"secret": "old tenant"}', now() + interval '1 day', NULL);
SET ROLE i140_tenant;
SELECT steward.idempotency_complete('i140_acct_2', 'k7', 200, '{"forged": true}');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.idempotency_complete('i140_acct_2', 'k8', 201, '{"secret": "old tenant"}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT key, status, response FROM steward.idempotency_keys WHERE scope = 'i140_acct_2' AND key IN ('k7', 'k8')
 ORDER BY key;
SET ROLE i140_tenant;
SELECT outcome, status, response FROM steward.idempotency_begin('i140_acct_2', 'k8', 'fp');
SELECT steward.idempotency_complete('i140_acct_2', 'k8', 202, '{"mine": true}');
RESET ROLE;
SELECT k.key, k.status, k.response, k.claim = s.claim AS scope_claim
  FROM steward.idempotency_keys k JOIN steward.idempotency_scopes s USING (scope)
 WHERE k.scope = 'i140_acct_2' AND k.key IN ('k7', 'k8') ORDER BY k.key;

-- Rows from before the claims (NULL scope claim, NULL key claims: the
-- 0.1 -> 0.2 upgrade) are one claim: replayed and completed as before.
UPDATE steward.idempotency_scopes SET claim = NULL WHERE scope = 'i140_acct_3';
UPDATE steward.idempotency_keys SET claim = NULL WHERE scope = 'i140_acct_3';
SET ROLE i140_tenant;
SELECT outcome FROM steward.idempotency_begin('i140_acct_3', 'k1', 'fp');
SELECT steward.idempotency_complete('i140_acct_3', 'k1', 200, '{"old": true}');
SELECT outcome, status, response FROM steward.idempotency_begin('i140_acct_3', 'k1', 'fp');
SELECT outcome FROM steward.idempotency_begin('i140_acct_3', 'k2', 'fp');
RESET ROLE;
SELECT key, status, claim FROM steward.idempotency_keys WHERE scope = 'i140_acct_3' ORDER BY key;

SELECT steward.drop_idempotency_scope(scope) FROM steward.idempotency_scopes
 WHERE scope LIKE 'i140\_%' ORDER BY scope;
REVOKE ALL ON FUNCTION
    steward.idempotency_begin(text, text, text, boolean),
    steward.idempotency_complete(text, text, integer, jsonb),
    steward.set_idempotency_retention(text, interval)
  FROM i140_tenant;
DROP ROLE i140_tenant;
