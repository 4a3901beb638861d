-- idempotency_complete with a misspelled scope (the key was begun in
-- another one): the scope does not exist, and the HINT says to check its
-- name and where the scopes are listed, not only to call begin (which, with
-- the misspelled name, would make a new, empty scope).  As a superuser and
-- as a tenant role; with the key begun in this transaction and committed.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set SHOW_CONTEXT never
CREATE ROLE n53_app;
GRANT EXECUTE ON FUNCTION
    steward.idempotency_begin(text, text, text, boolean),
    steward.idempotency_complete(text, text, integer, jsonb)
  TO n53_app;
-- Superuser, key begun in this transaction.
BEGIN;
SELECT outcome FROM steward.idempotency_begin('n53_acct_42', 'k1', 'fp');
SELECT steward.idempotency_complete('n53_acct_24', 'k1', 201, '{}');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
-- Tenant role, key begun and committed (begin committed first).
SET ROLE n53_app;
SELECT outcome FROM steward.idempotency_begin('n53_acct_7', 'k2', 'fp');
SELECT steward.idempotency_complete('n53_act_7', 'k2', 201, '{}');
\echo :LAST_ERROR_SQLSTATE
-- The view the HINT names lists the scope the key was begun in.
SELECT scope FROM steward.idempotency_scope_owners WHERE scope LIKE 'n53%' ORDER BY scope;
-- Completed in the right scope, the key is stored.
SELECT steward.idempotency_complete('n53_acct_7', 'k2', 201, '{}');
SELECT outcome, status FROM steward.idempotency_begin('n53_acct_7', 'k2', 'fp');
-- A key not begun in a scope that exists keeps the plain hint.
SELECT steward.idempotency_complete('n53_acct_7', 'never', 201, '{}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT steward.drop_idempotency_scope('n53_acct_7');
REVOKE ALL ON FUNCTION
    steward.idempotency_begin(text, text, text, boolean),
    steward.idempotency_complete(text, text, integer, jsonb)
  FROM n53_app;
DROP ROLE n53_app;
