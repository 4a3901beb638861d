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
SELECT setseed(0.42);
CREATE TABLE src AS SELECT i FROM generate_series(1, :nkeys) i ORDER BY random();
INSERT INTO steward.idempotency_keys
    (scope, key, fingerprint, status, response, created_at, locked_at, completed_at, expires_at)
SELECT 'acct-' || i % 100, 'r-' || i, 'POST /v1/charges {"amount":' || i % 1000 || '}', 201,
       jsonb_build_object('id', 'ch_' || i, 'amount', i % 1000, 'status', 'succeeded'),
       now(), now(), now(), now() + interval '24 hours'
  FROM src;
INSERT INTO plain.idempotency_keys
    (scope, key, fingerprint, status, response, created_at, locked_at, completed_at, expires_at)
SELECT 'acct-' || i % 100, 'r-' || i, 'POST /v1/charges {"amount":' || i % 1000 || '}', 201,
       jsonb_build_object('id', 'ch_' || i, 'amount', i % 1000, 'status', 'succeeded'),
       now(), now(), now(), now() + interval '24 hours'
  FROM src;
VACUUM ANALYZE;
CHECKPOINT;
