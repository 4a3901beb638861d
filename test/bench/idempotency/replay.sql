-- (b) a retried request: begin of a random existing completed key (the
-- loaded keys 1..:nkeys), which answers replay with the stored response.
\set i random(1, :nkeys)
\set s :i % 100
\set a :i % 1000
SELECT outcome, status, response
  FROM idempotency_begin('acct-' || :s::text, 'r-' || :i::text,
                         'POST /v1/charges {"amount":' || :a::text || '}');
