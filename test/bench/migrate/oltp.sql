-- The old application during the migration: read and update one order.
\set id random(1, :rows)
BEGIN;
SELECT total_amount FROM orders WHERE order_id = :id;
UPDATE orders SET total_amount = total_amount + 0.01 WHERE order_id = :id;
END;
