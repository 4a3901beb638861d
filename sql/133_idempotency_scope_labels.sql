-- The idempotency counters of a scope whose name has 64 bytes or more
-- (steward.idempotency_counters(), the scope label of
-- steward_idempotency_requests_total).  The name used to be cut at 63
-- bytes: two scopes with the same first 63 bytes were counted as one,
-- under a name that is neither, and a cut in the middle of a character
-- gave invalid text (in UTF-8: a lone 0xc3), which the exporter cannot
-- use as a label and which made steward.metrics fail with 22021 for a
-- client in another encoding.  Now such a name is shown as its first
-- characters, "...#" and 8 hex digits of a hash of the whole name.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.reset();
-- 40 two-byte characters; 35 of them then 'x' (the same first 63 bytes); a
-- short one.
SELECT outcome FROM steward.idempotency_begin(repeat('é', 40), 'k1', 'f');
SELECT outcome FROM steward.idempotency_begin(repeat('é', 40), 'k2', 'f');
SELECT outcome FROM steward.idempotency_begin(repeat('é', 35) || 'x', 'k1', 'f');
SELECT outcome FROM steward.idempotency_begin('short é', 'k1', 'f');
SELECT regexp_replace(scope, '#[0-9a-f]{8}$', '#<hash>') AS scope, octet_length(scope) AS bytes,
       new
  FROM steward.idempotency_counters() ORDER BY new DESC, scope COLLATE "C";
-- Two long scopes, two names; each valid text in the database's encoding.
SELECT count(DISTINCT scope) AS scopes,
       bool_and(convert_from(convert_to(scope, 'UTF8'), 'UTF8') = scope) AS valid
  FROM steward.idempotency_counters();
-- The labels converted as for a client in LATIN1 (every character here
-- has a LATIN1 form): this failed with 22021 on the cut character.
SELECT count(convert_to(labels->>'scope', 'LATIN1')) AS series
  FROM steward.metrics
 WHERE metric = 'steward_idempotency_requests_total';
SELECT steward.drop_idempotency_scope(s)
  FROM unnest(ARRAY[repeat('é', 40), repeat('é', 35) || 'x', 'short é']) s;
