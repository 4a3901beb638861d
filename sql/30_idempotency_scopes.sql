-- Idempotency scopes have owners (issue 11 item 6): a role sees, completes
-- and takes over only keys of scopes it may use, and learns nothing about
-- the keys of others.  Every refusal is 42501 and happens before any key
-- is looked at.
\set SHOW_CONTEXT never
CREATE ROLE scope_a;
CREATE ROLE scope_b;
CREATE ROLE scope_app IN ROLE scope_a;                -- inherits scope_a's privileges
CREATE ROLE scope_noinherit NOINHERIT IN ROLE scope_a; -- must SET ROLE first
GRANT EXECUTE ON FUNCTION
    steward.idempotency_begin(text, text, text, boolean),
    steward.idempotency_begin_strict(text, text, text, boolean),
    steward.idempotency_complete(text, text, integer, jsonb),
    steward.set_idempotency_retention(text, interval),
    steward.create_idempotency_scope(text, regrole, interval),
    steward.alter_idempotency_scope_owner(text, regrole),
    steward.drop_idempotency_scope(text)
  TO scope_a, scope_b, scope_app, scope_noinherit;

-- scope_a uses scope "payments" first: it is scope_a's.
SET ROLE scope_a;
SELECT outcome FROM steward.idempotency_begin('payments', 'k1', 'POST /charges 10');
SELECT steward.idempotency_complete('payments', 'k1', 201, '{"charge_id": 7, "card_last4": "4242"}');
SELECT outcome FROM steward.idempotency_begin('payments', 'k2', 'POST /charges 20');
SELECT scope, owner, retention FROM steward.idempotency_scope_owners;
RESET ROLE;

-- scope_b gets no replay, no mismatch, no in_progress: the same 42501 for
-- a completed key, a pending key, another fingerprint and a key that does
-- not exist.
SET ROLE scope_b;
SELECT outcome, response FROM steward.idempotency_begin('payments', 'k1', 'POST /charges 10');
\echo :LAST_ERROR_SQLSTATE
SELECT outcome FROM steward.idempotency_begin('payments', 'k1', 'other request');
\echo :LAST_ERROR_SQLSTATE
SELECT outcome FROM steward.idempotency_begin('payments', 'k2', 'POST /charges 20', true);
\echo :LAST_ERROR_SQLSTATE
SELECT outcome FROM steward.idempotency_begin('payments', 'no-such-key', 'x');
\echo :LAST_ERROR_SQLSTATE
SELECT outcome FROM steward.idempotency_begin_strict('payments', 'k1', 'other request');
\echo :LAST_ERROR_SQLSTATE
-- ... cannot complete scope_a's pending key with a forged response ...
SELECT steward.idempotency_complete('payments', 'k2', 200, '{"forged": true}');
\echo :LAST_ERROR_SQLSTATE
-- ... nor change, take or drop the scope, nor read its rows in the tables
-- (readable for pg_dump --enable-row-security: row security shows a role
-- the scopes whose owner's privileges it has, and their keys).
SELECT steward.set_idempotency_retention('payments', '1 minute');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.alter_idempotency_scope_owner('payments', 'scope_b');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.drop_idempotency_scope('payments');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.create_idempotency_scope('payments');
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS keys_b_reads FROM steward.idempotency_keys;
SELECT count(*) AS scopes_b_reads FROM steward.idempotency_scopes;
SET row_security = off;
SELECT count(*) FROM steward.idempotency_keys;
\echo :LAST_ERROR_SQLSTATE
RESET row_security;
SELECT count(*) AS scopes_b_sees FROM steward.idempotency_scope_owners;
-- Nor give itself a scope in scope_a's name.
SELECT steward.create_idempotency_scope('orders', 'scope_a');
\echo :LAST_ERROR_SQLSTATE
-- Its own scopes work as usual.
SELECT outcome FROM steward.idempotency_begin('b-payments', 'k1', 'fp');
RESET ROLE;

-- scope_a's keys are as it left them.
SET ROLE scope_a;
SELECT scope, key, status FROM steward.idempotency_keys ORDER BY key;
SELECT outcome, status, response FROM steward.idempotency_begin('payments', 'k1', 'POST /charges 10');
SELECT outcome, status, response FROM steward.idempotency_begin('payments', 'k2', 'POST /charges 20', true);
SELECT outcome FROM steward.idempotency_begin('b-payments', 'k1', 'fp');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Members with scope_a's privileges use its scopes; a NOINHERIT member
-- only after SET ROLE, as with tables.
SET ROLE scope_app;
SELECT outcome, status FROM steward.idempotency_begin('payments', 'k1', 'POST /charges 10');
RESET ROLE;
SET ROLE scope_noinherit;
SELECT outcome FROM steward.idempotency_begin('payments', 'k1', 'POST /charges 10');
\echo :LAST_ERROR_SQLSTATE
SET ROLE scope_a;
SELECT outcome, status FROM steward.idempotency_begin('payments', 'k1', 'POST /charges 10');
RESET ROLE;

-- Reserving a scope before anyone uses it; creating one for a role needs
-- membership in it.
SET ROLE scope_app;
SELECT steward.create_idempotency_scope('refunds', 'scope_a', '2 days');
SELECT steward.create_idempotency_scope('refunds');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.create_idempotency_scope('mine-but-b', 'scope_b');
\echo :LAST_ERROR_SQLSTATE
SELECT scope, owner, retention FROM steward.idempotency_scope_owners ORDER BY scope;
RESET ROLE;

-- Giving a scope away: the owner (or a superuser) to a role it belongs to.
SET ROLE scope_a;
SELECT steward.alter_idempotency_scope_owner('refunds', 'scope_b');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT steward.alter_idempotency_scope_owner('refunds', 'scope_b');
SET ROLE scope_a;
SELECT outcome FROM steward.idempotency_begin('refunds', 'r1', 'fp');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE scope_b;
SELECT outcome FROM steward.idempotency_begin('refunds', 'r1', 'fp');
SELECT steward.drop_idempotency_scope('refunds');
SELECT outcome FROM steward.idempotency_begin('refunds', 'r1', 'fp');
RESET ROLE;

-- A scope whose owner was dropped is usable by superusers only, who can
-- give it to someone.  DROP ROLE refuses the owner of a scope in this
-- database (82_role_objects); one dropped from another database leaves
-- its OID here, simulated by writing an OID no role has.
CREATE ROLE scope_gone;
GRANT EXECUTE ON FUNCTION steward.idempotency_begin(text, text, text, boolean) TO scope_gone;
SET ROLE scope_gone;
SELECT outcome FROM steward.idempotency_begin('orphan', 'k', 'fp');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION steward.idempotency_begin(text, text, text, boolean) FROM scope_gone;
DROP ROLE scope_gone;
UPDATE steward.idempotency_scopes SET owner = '4000000000'::regrole WHERE scope = 'orphan';
DROP ROLE scope_gone;
SET ROLE scope_b;
SELECT outcome FROM steward.idempotency_begin('orphan', 'k', 'fp');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT steward.alter_idempotency_scope_owner('orphan', 'scope_b');
-- (The key is still in progress: this session began it and lives.)
SET ROLE scope_b;
SELECT outcome FROM steward.idempotency_begin('orphan', 'k', 'fp');
RESET ROLE;

-- Nobody gained anything.
SELECT rolname, rolsuper FROM pg_roles WHERE rolname LIKE 'scope\_%' ORDER BY 1;

-- A complete reuses the scope its begin checked in the same
-- subtransaction; never across a rolled-back one, which may have held the
-- scope's claim, and never past a change of the scope.
SET ROLE scope_a;
BEGIN;
SAVEPOINT first_use;
SELECT outcome FROM steward.idempotency_begin('memo', 'k1', 'fp');
ROLLBACK TO first_use;
SELECT count(*) AS memo_scope_rows FROM steward.idempotency_scope_owners WHERE scope = 'memo';
SELECT outcome FROM steward.idempotency_begin('memo', 'k2', 'fp');
SELECT scope, owner FROM steward.idempotency_scope_owners WHERE scope = 'memo';
SELECT steward.set_idempotency_retention('memo', '7 days');
SELECT steward.idempotency_complete('memo', 'k2', 200, '{}');
COMMIT;
RESET ROLE;
SELECT expires_at - completed_at AS kept_for
  FROM steward.idempotency_keys WHERE scope = 'memo' AND key = 'k2';
-- Keys expire at now() + retention: a retention past the last timestamp is
-- refused when it is set, not by every begin afterwards.
SELECT steward.set_idempotency_retention('memo', '1000000 years');
SELECT steward.create_idempotency_scope('too-long', NULL, '100001 years');
SELECT steward.set_idempotency_retention('memo', '100000 years');
SELECT outcome FROM steward.idempotency_begin('memo', 'far-future', 'fp');
SELECT expires_at > now() + interval '99999 years' AS far
  FROM steward.idempotency_keys WHERE scope = 'memo' AND key = 'far-future';
SET ROLE scope_b;
SELECT outcome FROM steward.idempotency_begin('memo', 'k3', 'fp');
RESET ROLE;

-- The 42501 HINT names the caller and gives the statements that let it in
-- (newcomer48 N6: it said only "run steward.alter_idempotency_scope_owner()"):
-- each, run as given, does.
CREATE ROLE "scope C";
GRANT EXECUTE ON FUNCTION steward.idempotency_begin(text, text, text, boolean) TO "scope C";
CREATE FUNCTION pg_temp.hint_statement(scope text, pick text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    PERFORM steward.idempotency_begin(scope, 'c1', 'fp');
    RETURN NULL;
EXCEPTION WHEN insufficient_privilege THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RAISE NOTICE 'HINT: %', h;
    RETURN substring(h from '(' || pick || '[^;]*;)');
END
$$;
SET ROLE scope_a;
SELECT outcome FROM steward.idempotency_begin('hint-scope', 'a1', 'fp');
SET ROLE "scope C";
SELECT pg_temp.hint_statement('hint-scope', 'GRANT') AS stmt \gset
RESET ROLE;
:stmt
SET ROLE "scope C";
SELECT outcome FROM steward.idempotency_begin('hint-scope', 'c1', 'fp');
RESET ROLE;
REVOKE scope_a FROM "scope C";
SET ROLE "scope C";
SELECT pg_temp.hint_statement('hint-scope', 'SELECT steward.alter_idempotency_scope_owner') AS stmt \gset
RESET ROLE;
:stmt
SET ROLE "scope C";
SELECT outcome FROM steward.idempotency_begin('hint-scope', 'c2', 'fp');
RESET ROLE;
SELECT owner FROM steward.idempotency_scope_owners WHERE scope = 'hint-scope';
SELECT steward.drop_idempotency_scope('hint-scope');
REVOKE ALL ON FUNCTION steward.idempotency_begin(text, text, text, boolean) FROM "scope C";
DROP ROLE "scope C";

SELECT steward.drop_idempotency_scope(s) FROM unnest(ARRAY['payments', 'b-payments', 'orphan', 'memo']) s;
REVOKE ALL ON FUNCTION
    steward.idempotency_begin(text, text, text, boolean),
    steward.idempotency_begin_strict(text, text, text, boolean),
    steward.idempotency_complete(text, text, integer, jsonb),
    steward.set_idempotency_retention(text, interval),
    steward.create_idempotency_scope(text, regrole, interval),
    steward.alter_idempotency_scope_owner(text, regrole),
    steward.drop_idempotency_scope(text)
  FROM scope_a, scope_b, scope_app, scope_noinherit;
DELETE FROM steward.idempotency_scopes WHERE owner::text IN ('scope_a', 'scope_b');
-- The key scope_b left in scope refunds before it dropped the scope.
DELETE FROM steward.idempotency_keys WHERE scope = 'refunds';
DROP ROLE scope_app, scope_noinherit, scope_a, scope_b;
