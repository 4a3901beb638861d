-- A key in progress whose holder columns name half a holder (idem7, idem5's
-- leftover): holder_pid without holder_start, or holder_start without
-- holder_pid.  No library writes one (begin and a takeover write both, 0.1
-- wrote neither, pg_dump keeps what is stored, a crash cannot split one
-- row version); a hand write does: a superuser's UPDATE, INSERT or COPY.
-- Its holder's beacon cannot be probed, so no holder can be found alive:
-- begin takes the key over as abandoned, as the purge and begin's
-- expired delete already judged it.  It answered in_progress to every
-- begin until the key expired (24 h by default), the key stuck.
\set SHOW_CONTEXT never
SELECT steward.create_idempotency_scope('r276');
SELECT outcome FROM steward.idempotency_begin('r276', 'no_start', 'fp');
SELECT outcome FROM steward.idempotency_begin('r276', 'no_pid', 'fp');
SELECT outcome FROM steward.idempotency_begin('r276', 'neither', 'fp');
-- The hand writes; the PID is a live one (this session's).
UPDATE steward.idempotency_keys SET holder_start = NULL WHERE scope = 'r276' AND key = 'no_start';
UPDATE steward.idempotency_keys SET holder_pid = NULL WHERE scope = 'r276' AND key = 'no_pid';
-- Names no holder at all, as 0.1's keys: in progress until its lease (none
-- here) or its expiry, as before.
UPDATE steward.idempotency_keys SET holder_pid = NULL, holder_start = NULL, lease_until = NULL
 WHERE scope = 'r276' AND key = 'neither';
SELECT key, b.outcome
  FROM unnest(ARRAY['no_start', 'no_pid', 'neither']) key,
       LATERAL steward.idempotency_begin('r276', key, 'fp') b
 ORDER BY key;
-- Taken over: the holder is named whole again (this session), the key
-- completes and replays.
SELECT key, holder_pid = pg_backend_pid() AS ours, holder_start IS NOT NULL AS started
  FROM steward.idempotency_keys WHERE scope = 'r276' ORDER BY key;
SELECT steward.idempotency_complete('r276', 'no_start', 201, '{"done": 1}');
SELECT outcome, status, response FROM steward.idempotency_begin('r276', 'no_start', 'fp');
-- The statement's takeover (taken while the keys table has a trigger)
-- matches the half-named row as judged (IS NOT DISTINCT FROM each column).
CREATE FUNCTION public.r276_note() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER r276_note BEFORE UPDATE ON steward.idempotency_keys
    FOR EACH ROW EXECUTE FUNCTION public.r276_note();
UPDATE steward.idempotency_keys SET holder_start = NULL WHERE scope = 'r276' AND key = 'no_pid';
SELECT outcome FROM steward.idempotency_begin('r276', 'no_pid', 'fp');
DROP TRIGGER r276_note ON steward.idempotency_keys;
SELECT holder_pid = pg_backend_pid() AS ours, holder_start IS NOT NULL AS started
  FROM steward.idempotency_keys WHERE scope = 'r276' AND key = 'no_pid';
SELECT steward.drop_idempotency_scope('r276');
DROP FUNCTION public.r276_note();
