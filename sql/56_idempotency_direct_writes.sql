-- Issue 18: a new key's insert and the complete's update write the key row
-- without the executor, unless the keys table has something only the
-- executor runs (a trigger here: then the SQL statements run, and the
-- trigger sees them) or a column the library does not know (its default
-- must be filled).  Both ways give the same outcomes, and both refuse to
-- write in a read-only transaction (25006, as a standby does).
\set SHOW_CONTEXT never
DELETE FROM steward.idempotency_keys WHERE scope = 'direct';

-- The direct way.
SELECT outcome FROM steward.idempotency_begin('direct', 'd-1', 'fp');
SELECT steward.idempotency_complete('direct', 'd-1', 201, '{"id": 1}');
SELECT outcome, status, response FROM steward.idempotency_begin('direct', 'd-1', 'fp');
SELECT steward.idempotency_complete('direct', 'd-1', 201, '{"id": 1}');   -- same result: no-op
SELECT steward.idempotency_complete('direct', 'd-1', 500, '{"id": 1}');   -- another: 55000
SELECT steward.idempotency_complete('direct', 'd-none', 201, NULL);       -- not held: 55000

-- A response stored out of line (TOAST), a lease set by the holder.
SET steward.idempotency_lock_timeout = '1h';
SELECT outcome FROM steward.idempotency_begin('direct', 'd-big', 'fp');
RESET steward.idempotency_lock_timeout;
SELECT steward.idempotency_complete('direct', 'd-big', 200,
                                    jsonb_build_object('body', repeat('x', 100000)));
SELECT outcome, status, length(response->>'body') FROM steward.idempotency_begin('direct', 'd-big', 'fp');

-- Read-only transactions: 25006 for the insert and for the update.
BEGIN READ ONLY;
SELECT outcome FROM steward.idempotency_begin('direct', 'd-ro', 'fp');
ROLLBACK;
SELECT outcome FROM steward.idempotency_begin('direct', 'd-ro', 'fp');
BEGIN READ ONLY;
SELECT steward.idempotency_complete('direct', 'd-ro', 200, NULL);
ROLLBACK;
SELECT outcome, status FROM steward.idempotency_begin('direct', 'd-ro', 'fp');

-- A trigger on the keys table: the statements run, the trigger fires.
CREATE FUNCTION public.direct_note() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE '% of key %', TG_OP, NEW.key;
    RETURN NEW;
END $$;
CREATE TRIGGER direct_note BEFORE INSERT OR UPDATE ON steward.idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION public.direct_note();
SELECT outcome FROM steward.idempotency_begin('direct', 'd-2', 'fp');
SELECT steward.idempotency_complete('direct', 'd-2', 202, NULL);
SELECT outcome, status, response FROM steward.idempotency_begin('direct', 'd-2', 'fp');
DROP TRIGGER direct_note ON steward.idempotency_keys;
DROP FUNCTION public.direct_note();

-- A rewrite rule on the keys table: only the statements honour it, so they
-- run -- and core refuses an INSERT ... ON CONFLICT on a table with INSERT
-- rules (0A000), as it did before the direct writes; the rule is never
-- skipped.
BEGIN;
CREATE TABLE public.direct_rule_log (scope text, key text);
CREATE RULE direct_rule AS ON INSERT TO steward.idempotency_keys
    DO ALSO INSERT INTO public.direct_rule_log VALUES (NEW.scope, NEW.key);
SELECT outcome FROM steward.idempotency_begin('direct', 'd-rule', 'fp');
ROLLBACK;
SELECT count(*) AS keys_left FROM steward.idempotency_keys WHERE key = 'd-rule';

-- A column the library does not know, with a default: the insert runs as
-- a statement and fills it; the update keeps it.  Rolled back, the direct
-- way resumes (the cached column numbers follow the table).
BEGIN;
ALTER TABLE steward.idempotency_keys ADD COLUMN note text DEFAULT 'filled';
SELECT outcome FROM steward.idempotency_begin('direct', 'd-3', 'fp');
SELECT steward.idempotency_complete('direct', 'd-3', 203, NULL);
SELECT key, status, note FROM steward.idempotency_keys WHERE key = 'd-3';
ROLLBACK;
SELECT outcome FROM steward.idempotency_begin('direct', 'd-4', 'fp');
SELECT steward.idempotency_complete('direct', 'd-4', 204, '{"x": [1, 2]}');

-- The owner's context is entered lazily (search_path pinned only before
-- the first statement): a caller's search_path that puts its own "="
-- before pg_catalog's is still never used by the statements that run (the
-- scope's claim, the lookup of a key that is not held) nor by the direct
-- paths.
CREATE SCHEMA direct_evil;
CREATE FUNCTION direct_evil.texteq(text, text) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'direct_evil.= ran as %', current_user;
    RETURN $1 OPERATOR(pg_catalog.=) $2;
END $$;
CREATE OPERATOR direct_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = direct_evil.texteq);
SET search_path = direct_evil, pg_catalog;
SELECT outcome FROM steward.idempotency_begin('direct-claimed', 'e-1', 'fp');
SELECT steward.idempotency_complete('direct-claimed', 'e-1', 201, NULL);
SELECT outcome, status FROM steward.idempotency_begin('direct-claimed', 'e-1', 'fp');
SELECT outcome FROM steward.idempotency_begin('direct-claimed', 'e-1', 'other');
SELECT steward.idempotency_complete('direct-claimed', 'e-none', 201, NULL);
SELECT 'a'::text = 'a'::text AS "the caller's own = is theirs";
RESET search_path;
DROP SCHEMA direct_evil CASCADE;
SELECT steward.drop_idempotency_scope('direct-claimed');

-- A begin reads its scope's row at the TID where this session last found
-- it, if the row there is still visible and still that scope's: after the
-- row moved (a new retention), was deleted, or its page was truncated away
-- by VACUUM, it reads the primary key again.
SELECT outcome FROM steward.idempotency_begin('hint', 'h-1', 'fp');
SELECT steward.set_idempotency_retention('hint', '2 days');
SELECT outcome FROM steward.idempotency_begin('hint', 'h-2', 'fp');
SELECT key, expires_at > now() + interval '47 hours' AS two_days
  FROM steward.idempotency_keys WHERE scope = 'hint' ORDER BY key;
SELECT count(*) AS filler_scopes FROM (
    SELECT steward.create_idempotency_scope('hint-fill-' || lpad(i::text, 200, '0'))
      FROM generate_series(1, 200) i) s;
SELECT outcome FROM steward.idempotency_begin('hint-last', 'h-1', 'fp');
SELECT (ctid::text::point)[0] AS hinted_block FROM steward.idempotency_scopes
 WHERE scope = 'hint-last' \gset
SELECT :hinted_block > 0 AS past_the_first_page;
SELECT sum(steward.drop_idempotency_scope(scope)) AS keys_dropped FROM steward.idempotency_scopes
 WHERE scope LIKE 'hint-%';
VACUUM steward.idempotency_scopes;
SELECT pg_relation_size('steward.idempotency_scopes') <= :hinted_block * current_setting('block_size')::int
       AS hinted_page_truncated;
SELECT outcome FROM steward.idempotency_begin('hint-last', 'h-2', 'fp');
SELECT scope, owner = current_user::regrole AS mine FROM steward.idempotency_scopes
 WHERE scope LIKE 'hint%' ORDER BY scope;

-- A complete whose update is not HOT (the scope's retention changed since
-- the begin, so expires_at, which an index covers, changes) opens the
-- indexes only then and adds the new version's entries: the key is found
-- again through its index (a replay), and the expiry index finds it.
BEGIN;
SELECT outcome FROM steward.idempotency_begin('hint', 'h-3', 'fp');
SELECT steward.set_idempotency_retention('hint', '3 days');
SELECT steward.idempotency_complete('hint', 'h-3', 201, '{"id": 3}');
COMMIT;
SELECT outcome, status, response FROM steward.idempotency_begin('hint', 'h-3', 'fp');
SELECT expires_at > now() + interval '71 hours' AS three_days
  FROM steward.idempotency_keys WHERE scope = 'hint' AND key = 'h-3';
SET enable_seqscan = off;
SELECT count(*) AS by_expiry FROM steward.idempotency_keys
 WHERE expires_at > now() + interval '71 hours' AND scope = 'hint';
RESET enable_seqscan;
SELECT steward.drop_idempotency_scope('hint-last'), steward.drop_idempotency_scope('hint');

-- Every key as written, whichever way.
SELECT key, fingerprint, status, left(response::text, 20) AS response, created_at = locked_at AS fresh,
       completed_at IS NOT NULL AS completed,
       expires_at > now() + interval '23 hours' AS retained,
       holder_pid = pg_backend_pid() AS held_here, lease_until IS NULL AS no_lease
  FROM steward.idempotency_keys WHERE scope = 'direct' ORDER BY key;
SELECT scope, new, replay, mismatch, in_progress FROM steward.idempotency_stats WHERE scope = 'direct';
DELETE FROM steward.idempotency_keys WHERE scope = 'direct';
DELETE FROM steward.idempotency_scopes WHERE scope = 'direct';
