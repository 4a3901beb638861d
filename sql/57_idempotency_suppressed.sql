-- Issue 18 review: something a superuser adds to steward.idempotency_keys
-- that suppresses the write of a key's row -- a unique index or exclusion
-- constraint on other columns (ON CONFLICT DO NOTHING gives way to a
-- conflict in any of them), a BEFORE INSERT trigger that returns NULL --
-- made begin look for the key, find nothing and insert again, 8 times, and
-- end in 40001 ("retry", for ever).  Now begin raises 55000 naming what
-- suppressed it; a complete whose update a BEFORE UPDATE trigger skipped
-- says so too (it claimed "already completed with a different result").
-- The same key still settles as before.  Each case runs in a transaction
-- that is rolled back, over a keys table emptied in it (other tests' keys
-- would break the unique indexes).
\set SHOW_CONTEXT never
\set ON_ERROR_ROLLBACK on
CREATE ROLE suppress_app;
GRANT EXECUTE ON FUNCTION
    steward.idempotency_begin(text, text, text, boolean),
    steward.idempotency_begin_strict(text, text, text, boolean),
    steward.idempotency_complete(text, text, integer, jsonb)
  TO suppress_app;

-- A unique index on the fingerprint: a second key with the same request
-- conflicts with the first key's row.  As an application role, strict or
-- not, nowait or not; the first key itself still answers; without the
-- index the second key goes through.
BEGIN;
DELETE FROM steward.idempotency_keys;
CREATE UNIQUE INDEX suppress_fp ON steward.idempotency_keys (fingerprint);
SET ROLE suppress_app;
SELECT outcome FROM steward.idempotency_begin('suppress', 's-1', 'POST /a');
SELECT outcome FROM steward.idempotency_begin('suppress', 's-2', 'POST /a');
\echo :LAST_ERROR_SQLSTATE
SELECT outcome FROM steward.idempotency_begin_strict('suppress', 's-2', 'POST /a', true);
\echo :LAST_ERROR_SQLSTATE
SELECT outcome FROM steward.idempotency_begin('suppress', 's-1', 'POST /a');
SELECT outcome FROM steward.idempotency_begin('suppress', 's-1', 'POST /b');
SELECT outcome FROM steward.idempotency_begin('suppress', 's-3', 'POST /b');
RESET ROLE;
DROP INDEX steward.suppress_fp;
SELECT outcome FROM steward.idempotency_begin('suppress', 's-2', 'POST /a');
ROLLBACK;
-- REPEATABLE READ and SERIALIZABLE: the same 55000, not their 40001
-- (SERIALIZABLE with a unique index on the holder: one session's second
-- key).
BEGIN ISOLATION LEVEL REPEATABLE READ;
DELETE FROM steward.idempotency_keys;
CREATE UNIQUE INDEX suppress_fp ON steward.idempotency_keys (fingerprint);
SELECT outcome FROM steward.idempotency_begin('suppress', 's-1', 'POST /a');
SELECT outcome FROM steward.idempotency_begin('suppress', 's-2', 'POST /a');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN ISOLATION LEVEL SERIALIZABLE;
DELETE FROM steward.idempotency_keys;
CREATE UNIQUE INDEX suppress_pid ON steward.idempotency_keys (holder_pid, holder_start);
SELECT outcome FROM steward.idempotency_begin('suppress', 'p-1', 'fp-1');
SELECT outcome FROM steward.idempotency_begin('suppress', 'p-2', 'fp-2');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- Unique across scopes, NULLS NOT DISTINCT, an exclusion
-- constraint, an index with an expression or a predicate (the statement
-- path: the index is found by checking the row against each index).
BEGIN;
DELETE FROM steward.idempotency_keys;
CREATE UNIQUE INDEX suppress_key ON steward.idempotency_keys (key);
SELECT outcome FROM steward.idempotency_begin('suppress', 'k', 'fp-1');
SELECT outcome FROM steward.idempotency_begin('suppress-other', 'k', 'fp-1');
ROLLBACK;
BEGIN;
DELETE FROM steward.idempotency_keys;
CREATE UNIQUE INDEX suppress_lease ON steward.idempotency_keys (lease_until) NULLS NOT DISTINCT;
SELECT outcome FROM steward.idempotency_begin('suppress', 'l-1', 'fp');
SELECT outcome FROM steward.idempotency_begin('suppress', 'l-2', 'fp');
ROLLBACK;
BEGIN;
DELETE FROM steward.idempotency_keys;
ALTER TABLE steward.idempotency_keys ADD CONSTRAINT suppress_excl EXCLUDE USING btree (fingerprint WITH =);
SELECT outcome FROM steward.idempotency_begin('suppress', 'x-1', 'fp');
SELECT outcome FROM steward.idempotency_begin('suppress', 'x-2', 'fp');
ROLLBACK;
BEGIN;
DELETE FROM steward.idempotency_keys;
CREATE UNIQUE INDEX suppress_lower ON steward.idempotency_keys (lower(fingerprint));
SELECT outcome FROM steward.idempotency_begin('suppress', 'e-1', 'FP');
SELECT outcome FROM steward.idempotency_begin('suppress', 'e-2', 'fp');
ROLLBACK;
BEGIN;
DELETE FROM steward.idempotency_keys;
CREATE UNIQUE INDEX suppress_pending ON steward.idempotency_keys (fingerprint) WHERE status IS NULL;
SELECT outcome FROM steward.idempotency_begin('suppress', 'w-1', 'fp');
SELECT outcome FROM steward.idempotency_begin('suppress', 'w-2', 'fp');
SELECT steward.idempotency_complete('suppress', 'w-1', 200, NULL);
SELECT outcome FROM steward.idempotency_begin('suppress', 'w-2', 'fp');
ROLLBACK;
-- A deferrable unique constraint cannot arbitrate ON CONFLICT at all:
-- core's 55000, the same on the direct path.
BEGIN;
DELETE FROM steward.idempotency_keys;
ALTER TABLE steward.idempotency_keys ADD CONSTRAINT suppress_later UNIQUE (fingerprint) DEFERRABLE;
SELECT outcome FROM steward.idempotency_begin('suppress', 'd-1', 'fp');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- A BEFORE INSERT trigger that returns NULL (the statement path): named.
-- Two of them: both named.  Disabled, or firing only on a replica: it
-- suppresses nothing, and begin works.  With a unique index the row
-- conflicts with as well, the index is named: that conflict is a fact the
-- row shows, a trigger returning NULL only a guess.
CREATE FUNCTION public.suppress_skip() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RETURN NULL;
END $$;
BEGIN;
DELETE FROM steward.idempotency_keys;
CREATE TRIGGER suppress_skip BEFORE INSERT ON steward.idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION public.suppress_skip();
SET ROLE suppress_app;
SELECT outcome FROM steward.idempotency_begin('suppress', 't-1', 'fp');
\echo :LAST_ERROR_SQLSTATE
SELECT outcome FROM steward.idempotency_begin('suppress', 't-1', 'fp', true);
RESET ROLE;
CREATE TRIGGER suppress_skip_too BEFORE INSERT ON steward.idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION public.suppress_skip();
SELECT outcome FROM steward.idempotency_begin('suppress', 't-1', 'fp');
ALTER TABLE steward.idempotency_keys DISABLE TRIGGER suppress_skip;
ALTER TABLE steward.idempotency_keys ENABLE REPLICA TRIGGER suppress_skip_too;
SELECT outcome FROM steward.idempotency_begin('suppress', 't-1', 'fp');
SELECT key FROM steward.idempotency_keys WHERE scope = 'suppress';
ALTER TABLE steward.idempotency_keys ENABLE TRIGGER suppress_skip;
CREATE UNIQUE INDEX suppress_fp ON steward.idempotency_keys (fingerprint);
SELECT outcome FROM steward.idempotency_begin('suppress', 't-2', 'fp');
ROLLBACK;

-- A rewrite rule that does nothing instead cannot suppress the insert:
-- core refuses INSERT ... RETURNING on a table with such a rule (0A000),
-- as before the direct writes.
BEGIN;
CREATE RULE suppress_nothing AS ON INSERT TO steward.idempotency_keys DO INSTEAD NOTHING;
SELECT outcome FROM steward.idempotency_begin('suppress', 'r-1', 'fp');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- The statements begin runs on a row that exists: the takeover of an
-- abandoned key (its lease is over) and the delete of an expired key.  A
-- BEFORE UPDATE or DELETE trigger that returns NULL skips them, the row
-- stays as it was, and begin looked and wrote again, 8 times: 40001.  Now
-- 55000 naming the trigger; without it, both work.
SELECT outcome FROM steward.idempotency_begin('suppress', 'a-1', 'fp');
SELECT outcome FROM steward.idempotency_begin('suppress', 'x-1', 'fp');
UPDATE steward.idempotency_keys SET lease_until = now() - interval '1 s' WHERE key = 'a-1';
-- (x-1 abandoned too: an expired key whose holder lives stays in progress.)
UPDATE steward.idempotency_keys SET expires_at = now() - interval '1 s', holder_pid = 0 WHERE key = 'x-1';
BEGIN;
CREATE TRIGGER suppress_skip BEFORE UPDATE OR DELETE ON steward.idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION public.suppress_skip();
SELECT outcome FROM steward.idempotency_begin('suppress', 'a-1', 'fp');
\echo :LAST_ERROR_SQLSTATE
SELECT outcome FROM steward.idempotency_begin('suppress', 'x-1', 'fp');
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT outcome FROM steward.idempotency_begin('suppress', 'a-1', 'fp');
SELECT outcome FROM steward.idempotency_begin('suppress', 'x-1', 'fp');

-- complete: a BEFORE UPDATE trigger that returns NULL skips the update of a
-- key that has no result: 55000 naming it (not "already completed with a
-- different result", status "(null)").  Its own key begun and committed
-- first, so the trigger is the only thing in the way.
SELECT outcome FROM steward.idempotency_begin('suppress', 'c-1', 'fp');
BEGIN;
CREATE TRIGGER suppress_skip BEFORE UPDATE ON steward.idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION public.suppress_skip();
SELECT steward.idempotency_complete('suppress', 'c-1', 200, NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT steward.idempotency_complete('suppress', 'c-1', 200, NULL);
SELECT outcome, status FROM steward.idempotency_begin('suppress', 'c-1', 'fp');

-- The scopes table: a BEFORE INSERT trigger that returns NULL skips the
-- claim of a scope's first use (begin, set_idempotency_retention) and its
-- creation: 55000 naming it (the claim raised XX000 "vanished", the
-- creation 42710 "already exists").
BEGIN;
CREATE TRIGGER suppress_skip BEFORE INSERT ON steward.idempotency_scopes
    FOR EACH ROW EXECUTE FUNCTION public.suppress_skip();
SELECT outcome FROM steward.idempotency_begin('suppress-new', 'n-1', 'fp');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_idempotency_retention('suppress-new', '1 hour');
SELECT steward.create_idempotency_scope('suppress-new', NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.create_idempotency_scope('suppress', NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;

-- What stays: a-1, x-1, c-1 (the counters count the begins of
-- rolled-back transactions too).
SELECT count(*) AS keys_left FROM steward.idempotency_keys WHERE scope LIKE 'suppress%';
SELECT scope, new, replay, mismatch, in_progress FROM steward.idempotency_stats
 WHERE scope LIKE 'suppress%' ORDER BY scope;
DELETE FROM steward.idempotency_keys WHERE scope LIKE 'suppress%';
SELECT steward.drop_idempotency_scope(scope) FROM steward.idempotency_scope_owners
 WHERE scope LIKE 'suppress%' ORDER BY scope;
DROP FUNCTION public.suppress_skip();
DROP OWNED BY suppress_app;
DROP ROLE suppress_app;
