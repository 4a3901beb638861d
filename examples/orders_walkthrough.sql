-- The guide's "Walkthrough 1: OLTP design for orders", on pg_steward.
-- Run by scripts/demo.sh; safe to re-run (it starts from scratch).
\set ON_ERROR_STOP 1
\pset footer off
\set QUIET on
SET client_min_messages = warning;
DROP TABLE IF EXISTS order_items, orders;
RESET client_min_messages;
\set QUIET off

\echo
\echo '== 1. Schema: orders is the aggregate root, order_items its dependent rows.'
\echo '==    Both use the steward access method; orders carries an optimistic version.'
CREATE TABLE orders (
    order_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL,
    status       text NOT NULL DEFAULT 'created',
    created_at   timestamptz NOT NULL DEFAULT now(),
    total_amount numeric(12,2) NOT NULL DEFAULT 0,
    version      bigint           -- maintained by pg_steward
) USING steward;

CREATE TABLE order_items (
    order_id bigint NOT NULL REFERENCES orders,
    item_id  int NOT NULL,
    sku      text NOT NULL,
    qty      int NOT NULL CHECK (qty > 0),
    price    numeric(12,2) NOT NULL,
    PRIMARY KEY (order_id, item_id)          -- "fetch items for an order"
) USING steward;

SELECT steward.track_versions('orders', 'version');

\echo '== Indexes from the guide''s read-pattern table:'
\echo '==   get order by id -> PK; list user orders by time -> (user_id, created_at desc);'
\echo '==   ops: recent orders by status -> (status, created_at)'
CREATE INDEX orders_user_created ON orders (user_id, created_at DESC);
CREATE INDEX orders_status_created ON orders (status, created_at);

-- Some history so the planner has something to choose from.
INSERT INTO orders (user_id, status, created_at, total_amount)
SELECT 1 + g % 500,
       (ARRAY['created', 'paid', 'shipped', 'delivered'])[1 + g % 4],
       now() - make_interval(mins => g),
       (g % 200) + 0.99
  FROM generate_series(1, 20000) g;
INSERT INTO order_items
SELECT o.order_id, i, 'SKU-' || (o.order_id * 7 + i) % 1000, 1 + i % 3, 9.99
  FROM orders o, generate_series(1, 2) i;
ANALYZE orders, order_items;
SELECT count(*) AS orders, min(version) AS min_version, max(version) AS max_version FROM orders;

\echo
\echo '== 2. Create an order and its items in one transaction (all or nothing).'
BEGIN;
INSERT INTO orders (user_id, total_amount) VALUES (42, 59.97)
RETURNING order_id, status, version \gset
INSERT INTO order_items VALUES
    (:order_id, 1, 'SKU-RED-MUG', 1, 19.99),
    (:order_id, 2, 'SKU-BLUE-MUG', 2, 19.99);
COMMIT;
SELECT order_id, user_id, status, total_amount, version FROM orders WHERE order_id = :order_id;

\echo
\echo '== 3. Two clients read the order (version 1). Client A pays it, sending the version it read.'
UPDATE orders SET status = 'paid', version = 1
 WHERE order_id = :order_id
RETURNING order_id, status, version;

\echo
\echo '== 4. Client B still holds version 1 and tries to cancel: refused, nothing is lost.'
\set ON_ERROR_STOP 0
UPDATE orders SET status = 'cancelled', version = 1 WHERE order_id = :order_id;
\echo 'SQLSTATE:' :LAST_ERROR_SQLSTATE '(serialization_failure: re-read and decide again)'
\set ON_ERROR_STOP 1

\echo
\echo '== 5. Client B re-reads, sees "paid", and ships instead (Rails/Hibernate style version + 1).'
SELECT status, version FROM orders WHERE order_id = :order_id \gset cur_
UPDATE orders SET status = 'shipped', version = version + 1
 WHERE order_id = :order_id AND version = :cur_version
RETURNING order_id, status, version;

\echo
\echo '== 6. A blind status update (version untouched) still bumps the version.'
UPDATE orders SET status = 'delivered' WHERE order_id = :order_id RETURNING status, version;

\echo
\echo '== 7. A version that skips ahead is a client bug, not a conflict.'
\set ON_ERROR_STOP 0
UPDATE orders SET version = 99 WHERE order_id = :order_id;
\echo 'SQLSTATE:' :LAST_ERROR_SQLSTATE
\set ON_ERROR_STOP 1

\echo
\echo '== 8. Read paths: order by id, items of the order, a user''s orders by time.'
SELECT order_id, status, total_amount, version FROM orders WHERE order_id = :order_id;
SELECT item_id, sku, qty, price FROM order_items WHERE order_id = :order_id ORDER BY item_id;
EXPLAIN (COSTS OFF)
SELECT order_id, status, created_at FROM orders
 WHERE user_id = 42 ORDER BY created_at DESC LIMIT 5;
SELECT order_id, status, created_at::timestamp(0), version FROM orders
 WHERE user_id = 42 ORDER BY created_at DESC LIMIT 5;

\echo
\echo '== 9. Ops: most recent paid orders (status, created_at index).'
EXPLAIN (COSTS OFF)
SELECT order_id, created_at FROM orders
 WHERE status = 'paid' ORDER BY created_at DESC LIMIT 3;

\echo
\echo '== 10. What pg_steward enforces and what it has seen.'
SELECT relid, column_name, kind, data_type, enforced FROM steward.tracked_columns;
SELECT * FROM steward.table_counters() ORDER BY relid::text;
SELECT c.relname, a.amname AS access_method,
       pg_size_pretty(pg_total_relation_size(c.oid)) AS total_size
  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('orders', 'order_items') ORDER BY 1;

\echo
\echo '== 11. The DBA''s side: latency percentiles, health checks, a verify.'
SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 60) AS query, calls, round(p50_ms::numeric, 3) AS p50_ms,
       round(p99_ms::numeric, 3) AS p99_ms, errors
  FROM steward.statements ORDER BY total_ms DESC LIMIT 5;
SELECT "check", status, value, first_response FROM steward.health;
SELECT "check", passed, detail FROM steward.verify('orders');
SELECT * FROM steward.capacity_report(500, 1000, 1.5, 3, 30, 0.10);
