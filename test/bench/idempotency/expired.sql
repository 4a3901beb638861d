-- (c) :nexp expired keys (completed two days ago, expired an hour ago, a
-- millisecond apart), inserted directly into the keys table.  :r makes the
-- keys of every round distinct.
\set ON_ERROR_STOP on
INSERT INTO steward.idempotency_keys
    (scope, key, fingerprint, status, response, created_at, locked_at, completed_at, expires_at)
SELECT 'acct-' || g % 100, 'x' || :r || '-' || g, 'POST /v1/charges {"amount":' || g % 1000 || '}', 201,
       jsonb_build_object('id', 'ch_' || g, 'amount', g % 1000, 'status', 'succeeded'),
       now() - interval '2 days', now() - interval '2 days', now() - interval '2 days',
       now() - interval '1 hour' - g * interval '1 millisecond'
  FROM generate_series(1, :nexp) g;
