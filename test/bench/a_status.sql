-- (a) single-row status update; the version column is left out, so the
-- steward/trigger rule bumps it (plain heap leaves it alone).
-- Table names are unqualified: run.sh picks the variant via search_path;
-- :n_orders and :n_users come from pgbench -D.
\set id random(1, :n_orders)
\set st random(1, 4)
UPDATE orders SET status = (ARRAY['new','paid','shipped','delivered'])[:st] WHERE order_id = :id;
