-- (c) begins of new keys (autocommit), timed while the purge runs and
-- without it.
\set k random(1, 9223372036854775806)
\set s random(0, 99)
SELECT outcome FROM idempotency_begin('acct-' || :s::text, 'p-' || :k::text, 'POST /v1/charges {"amount":42}');
