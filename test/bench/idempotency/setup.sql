-- Data for the idempotency/ benchmark; run by run.sh with -v nkeys=N.
\set ON_ERROR_STOP on

CREATE EXTENSION pg_steward;
\ir plain.sql

-- Helpers of equiv.sql: one line per call, the outcome or the SQLSTATE.
-- They call the functions unqualified: search_path picks the variant.
CREATE FUNCTION public.eq_begin(s text, k text, fp text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    SELECT * INTO r FROM idempotency_begin(s, k, fp);
    RETURN concat_ws(' | ', r.outcome, coalesce(r.status::text, '-'),
                     coalesce(r.response::text, '-'),
                     CASE WHEN r.created_at IS NULL THEN 'no created_at' ELSE 'created_at' END);
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE;
END
$$;
CREATE FUNCTION public.eq_complete(s text, k text, st int, resp jsonb) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM idempotency_complete(s, k, st, resp);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN 'ERROR ' || SQLSTATE;
END
$$;

-- NKEYS completed keys, identical in both variants (same rows, same order):
-- the replays of workload (b) pick them at random.  Key i: scope
-- 'acct-' || i % 100, key 'r-' || i, fingerprint of amount i % 1000.
-- pg_steward's keys go into scopes that exist, with their scope's claim
-- (src/idempotency/README.md "Claims"; builds before the claims have no
-- such column): keys without it would be another claim's, which begin
-- deletes instead of replaying.
SELECT setseed(0.42);
CREATE TABLE src AS SELECT i FROM generate_series(1, :nkeys) i ORDER BY random();
SELECT count(steward.create_idempotency_scope('acct-' || g)) AS scopes FROM generate_series(0, 99) g;
DO $$
DECLARE
    claims boolean := EXISTS (SELECT 1 FROM pg_attribute
                               WHERE attrelid = 'steward.idempotency_keys'::regclass
                                 AND attname = 'claim' AND NOT attisdropped);
BEGIN
    EXECUTE format($q$
    INSERT INTO steward.idempotency_keys
        (scope, key, fingerprint, status, response, created_at, locked_at, completed_at, expires_at%s)
    SELECT 'acct-' || i %% 100, 'r-' || i, 'POST /v1/charges {"amount":' || i %% 1000 || '}', 201,
           jsonb_build_object('id', 'ch_' || i, 'amount', i %% 1000, 'status', 'succeeded'),
           now(), now(), now(), now() + interval '24 hours'%s
      FROM src JOIN steward.idempotency_scopes s ON s.scope = 'acct-' || i %% 100
     ORDER BY src.ctid$q$,
        CASE WHEN claims THEN ', claim' ELSE '' END,
        CASE WHEN claims THEN ', s.claim' ELSE '' END);
END
$$;
INSERT INTO plain.idempotency_keys
    (scope, key, fingerprint, status, response, created_at, locked_at, completed_at, expires_at)
SELECT 'acct-' || i % 100, 'r-' || i, 'POST /v1/charges {"amount":' || i % 1000 || '}', 201,
       jsonb_build_object('id', 'ch_' || i, 'amount', i % 1000, 'status', 'succeeded'),
       now(), now(), now(), now() + interval '24 hours'
  FROM src;
VACUUM ANALYZE;
CHECKPOINT;
