-- (h) a new request, every client in the same scope: begin + complete of a
-- new key in one transaction (scope_lock.sh: the scope lock's contention case).
\set k random(1, 9223372036854775806)
BEGIN;
SELECT outcome FROM idempotency_begin('acct-0', 'h-' || :k::text, 'POST /v1/charges {"amount":42}');
SELECT idempotency_complete('acct-0', 'h-' || :k::text, 201, '{"id": "ch_new", "amount": 42, "status": "succeeded"}');
END;
