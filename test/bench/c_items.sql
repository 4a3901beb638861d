-- (c) walkthrough: the items of an order.
\set id random(1, :n_orders)
SELECT line_no, product_id, quantity, unit_price FROM order_items WHERE order_id = :id ORDER BY line_no;
