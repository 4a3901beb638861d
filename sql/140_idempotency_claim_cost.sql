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

-- Sequential scans of the keys table by a transaction of claims (the
-- backend's pending counts: a difference within the transaction).
CREATE FUNCTION pg_temp.keys_seq_scans() RETURNS bigint LANGUAGE sql AS $$
    SELECT seq_scan FROM pg_stat_xact_user_tables
     WHERE relid = 'steward.idempotency_keys'::regclass;
$$;
BEGIN;
SELECT pg_temp.keys_seq_scans() AS seq_before \gset
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

SELECT steward.drop_idempotency_scope(scope) FROM steward.idempotency_scopes
 WHERE scope LIKE 'i140\_%' ORDER BY scope;
REVOKE ALL ON FUNCTION
    steward.idempotency_begin(text, text, text, boolean),
    steward.idempotency_complete(text, text, integer, jsonb),
    steward.set_idempotency_retention(text, interval)
  FROM i140_tenant;
DROP ROLE i140_tenant;
