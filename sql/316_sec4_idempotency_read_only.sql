-- readme42 R10: in a read-only transaction (a hot standby's, where every
-- transaction is) idempotency_begin of a new key failed with core's
-- "cannot execute INSERT in a read-only transaction", naming a statement
-- the caller never wrote, with that statement as CONTEXT for a new scope
-- and no way out.  It now raises 25006 with its own message and a HINT;
-- a key that has its result is still replayed without a write.
-- (TAP 007 checks a standby's HINT: connect to the primary.)
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_idempotency_scope('r316');
SELECT outcome FROM steward.idempotency_begin('r316', 'done', 'fp');
SELECT steward.idempotency_complete('r316', 'done', 200, '{"ok": true}');
SET default_transaction_read_only = on;
-- A new key in a known scope, a new scope, a result, the strict form.
SELECT outcome FROM steward.idempotency_begin('r316', 'new-key', 'fp');
\echo :LAST_ERROR_SQLSTATE
SELECT outcome FROM steward.idempotency_begin('r316_new_scope', 'k', 'fp');
SELECT outcome FROM steward.idempotency_begin_strict('r316', 'new-key', 'fp');
SELECT steward.create_idempotency_scope('r316_other');
-- A completed key: replayed, read only.
SELECT outcome, status, response FROM steward.idempotency_begin('r316', 'done', 'fp');
RESET default_transaction_read_only;
-- A result stored in a transaction that became read-only.
BEGIN;
SELECT outcome FROM steward.idempotency_begin('r316', 'held', 'fp');
SET TRANSACTION READ ONLY;
SELECT steward.idempotency_complete('r316', 'held', 200, '{}');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT count(*) AS keys FROM steward.idempotency_keys WHERE scope LIKE 'r316%';
SELECT steward.drop_idempotency_scope('r316');
