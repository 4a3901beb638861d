-- (c) walkthrough: status update with an explicit version bump.
\set id random(1, :n_orders)
\set st random(1, 4)
UPDATE orders SET status = (ARRAY['new','paid','shipped','delivered'])[:st], version = version + 1
 WHERE order_id = :id;
