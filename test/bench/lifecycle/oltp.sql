-- (c) single-row OLTP update on big.items (state unchanged), timed with and
-- without a concurrent steward.run_transition.
\set id random(1, :big)
UPDATE big.items SET hits = hits + 1 WHERE id = :id;
