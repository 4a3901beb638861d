-- (c) walkthrough: create an order with three items in one transaction.
\set uid random(1, :n_users)
\set p1 random(1, 5000)
\set p2 random(1, 5000)
\set p3 random(1, 5000)
\set q1 random(1, 5)
\set q2 random(1, 5)
\set q3 random(1, 5)
\set c1 random(100, 10000)
\set c2 random(100, 10000)
\set c3 random(100, 10000)
\set total :q1 * :c1 + :q2 * :c2 + :q3 * :c3
BEGIN;
INSERT INTO orders (order_id, user_id, status, created_at, total_amount)
VALUES (nextval('orders_id_seq'), :uid, 'new', now(), :total / 100.0)
RETURNING order_id \gset
INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)
VALUES (:order_id, 1, :p1, :q1, :c1 / 100.0),
       (:order_id, 2, :p2, :q2, :c2 / 100.0),
       (:order_id, 3, :p3, :q3, :c3 / 100.0);
COMMIT;
