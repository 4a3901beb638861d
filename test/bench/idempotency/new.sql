-- (a) a new request: begin + complete of a new key in one transaction.
-- Unqualified names: run.sh sets search_path to steward or plain.
\set k random(1, 9223372036854775806)
\set s random(0, 99)
BEGIN;
SELECT outcome FROM idempotency_begin('acct-' || :s::text, 'n-' || :k::text, 'POST /v1/charges {"amount":42}');
SELECT idempotency_complete('acct-' || :s::text, 'n-' || :k::text, 201, '{"id": "ch_new", "amount": 42, "status": "succeeded"}');
END;
