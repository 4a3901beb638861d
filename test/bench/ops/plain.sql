-- The checks of steward.verify('orders'), written by hand as plain SQL
-- (the same queries verify() builds from the catalog, one statement each).
-- run.sh runs this with \timing on and adds up the statement times.
\set ON_ERROR_STOP on
-- row count + order-independent checksum (64-bit hash of each row's text,
-- summed as numeric, exactly like verify)
SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) FROM orders t;
-- unique: primary key
SELECT count(*) FROM (SELECT 1 FROM orders WHERE order_id IS NOT NULL GROUP BY order_id HAVING count(*) > 1) d;
-- exclusion: idempotency key
SELECT count(*) FROM (SELECT 1 FROM orders WHERE customer_id IS NOT NULL AND idem_key IS NOT NULL
                       GROUP BY customer_id, idem_key HAVING count(*) > 1) d;
-- foreign key anti-join
SELECT count(*) FROM orders t WHERE t.customer_id IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM customers p WHERE p.customer_id = t.customer_id);
-- tracked versions >= 1
SELECT count(*) FROM orders WHERE version < 1;
-- states valid
SELECT count(*) FROM orders
 WHERE status IS NULL OR NOT (status = ANY ('{created,paid,shipped,delivered,cancelled}'::text[]));
-- steward_hash index consistent with the table: plain SQL has no equivalent
-- (it checks the index's own pages), so the plain variant calls it too
SELECT count(*) FROM steward.verify_index('orders_idem');
