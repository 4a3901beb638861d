-- (c) walkthrough: get an order by id.
\set id random(1, :n_orders)
SELECT order_id, user_id, status, created_at, total_amount, version FROM orders WHERE order_id = :id;
