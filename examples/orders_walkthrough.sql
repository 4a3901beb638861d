-- The guide's "Walkthrough 1: OLTP design for orders", on pg_steward: every
-- capability on one orders schema.  Run by scripts/demo.sh (and checked by
-- test/t/014_demo.pl); safe to re-run, it starts from scratch.
--
-- Conventions of this file:
--  * every step starts with one "==" sentence saying what it shows;
--  * functions that return nothing are called with \gset, so they print no
--    empty result table;
--  * a statement that pg_steward must refuse runs between
--    "\set ON_ERROR_STOP 0" and "\set ON_ERROR_STOP 1", and the next line
--    asserts the refusal and its SQLSTATE (pg_temp.refused): if the
--    statement succeeds or fails differently, the walkthrough stops with an
--    error, as it does when anything that should work fails.
--  * steward.health judges every statement the server has seen, so the
--    walkthrough starts its statistics from zero (steward.reset(): creating
--    the cluster, the database and the extension is not the workload) and
--    keeps its history small (2,000 orders): a multi-second bulk load would
--    be the one slow call that turns the slow-call rate and p99 checks red
--    at the end of a short demo.
\set ON_ERROR_STOP 1
\set QUIET on
\pset footer off
SET client_min_messages = warning;
DROP TABLE IF EXISTS payments, order_items, orders_restored, orders;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM steward.state_machines WHERE name = 'order_status') THEN
        PERFORM steward.drop_state_machine('order_status');
    END IF;
END
$$;
RESET client_min_messages;
SELECT steward.reset() \gset

-- refused(failed, sqlstate, expected): the sentence printed after a
-- statement that must be refused; raises when it was not refused as expected.
CREATE FUNCTION pg_temp.refused(failed boolean, sqlstate text, expected text)
RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    IF NOT failed THEN
        RAISE EXCEPTION 'demo: the statement above should have been refused with SQLSTATE %', expected;
    END IF;
    IF sqlstate IS DISTINCT FROM expected THEN
        RAISE EXCEPTION 'demo: the statement above failed with SQLSTATE %, expected %', sqlstate, expected;
    END IF;
    RETURN '   -> refused with SQLSTATE ' || sqlstate;
END
$$;

\echo
\echo '== 1. The orders schema: both tables use the steward access method, and orders.version is an optimistic row version.'
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
SELECT steward.track_versions('orders', 'version') \gset
-- The guide's read patterns: a user's orders by time; recent orders by status.
CREATE INDEX orders_user_created ON orders (user_id, created_at DESC);
CREATE INDEX orders_status_created ON orders (status, created_at);
INSERT INTO orders (user_id, status, created_at, total_amount)
SELECT 1 + g % 200,
       (ARRAY['created', 'paid', 'shipped', 'delivered'])[1 + g % 4],
       now() - make_interval(mins => g),
       (g % 200) + 0.99
  FROM generate_series(1, 2000) g;
INSERT INTO order_items
SELECT o.order_id, i, 'SKU-' || (o.order_id * 7 + i) % 1000, 1 + i % 3, 9.99
  FROM orders o, generate_series(1, 2) i;
ANALYZE orders, order_items;
SELECT count(*) AS orders, min(version) AS min_version, max(version) AS max_version FROM orders;

\echo
\echo '== 2. An order and its items are created in one transaction: all or nothing, and the new row starts at version 1.'
BEGIN;
INSERT INTO orders (user_id, total_amount) VALUES (42, 59.97)
RETURNING order_id \gset
INSERT INTO order_items VALUES
    (:order_id, 1, 'SKU-RED-MUG', 1, 19.99),
    (:order_id, 2, 'SKU-BLUE-MUG', 2, 19.99);
COMMIT;
SELECT order_id, user_id, status, total_amount, version FROM orders WHERE order_id = :order_id;

\echo
\echo '== 3. Two clients read the order at version 1; client A pays it, sending the version it read, and the version becomes 2.'
UPDATE orders SET status = 'paid', version = 1
 WHERE order_id = :order_id
RETURNING order_id, status, version;

\echo
\echo '== 4. Client B still holds version 1 and tries to cancel: pg_steward refuses the stale update, so A''s payment is not lost.'
\set ON_ERROR_STOP 0
UPDATE orders SET status = 'cancelled', version = 1 WHERE order_id = :order_id;
\set ON_ERROR_STOP 1
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '40001') AS msg \gset
\echo :msg '(serialization_failure: B re-reads and decides again)'

\echo
\echo '== 5. Client B re-reads, sees "paid" and ships instead (Rails/Hibernate style version + 1); a blind update still bumps the version.'
SELECT status, version FROM orders WHERE order_id = :order_id \gset cur_
UPDATE orders SET status = 'shipped', version = version + 1
 WHERE order_id = :order_id AND version = :cur_version
RETURNING order_id, status, version;
UPDATE orders SET total_amount = 54.97 WHERE order_id = :order_id
RETURNING order_id, total_amount, version;

\echo
\echo '== 6. A version that skips ahead is a client bug, not a conflict: refused as an invalid value.'
\set ON_ERROR_STOP 0
UPDATE orders SET version = 99 WHERE order_id = :order_id;
\set ON_ERROR_STOP 1
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '22023') AS msg \gset
\echo :msg

\echo
\echo '== 7. Order creation becomes retry-safe: a steward_hash EXCLUDE constraint on (user_id, request_id) makes a retried INSERT ... ON CONFLICT DO NOTHING insert nothing.'
ALTER TABLE orders ADD COLUMN request_id uuid,
    ADD CONSTRAINT orders_request_once
        EXCLUDE USING steward_hash (user_id WITH =, request_id WITH =);
SELECT gen_random_uuid() AS request_id \gset
WITH created AS (
    INSERT INTO orders (user_id, total_amount, request_id) VALUES (7, 25.00, :'request_id')
    ON CONFLICT DO NOTHING RETURNING order_id)
SELECT 'first request' AS attempt, count(*) AS orders_created, max(order_id) AS order_id FROM created;
WITH created AS (
    INSERT INTO orders (user_id, total_amount, request_id) VALUES (7, 25.00, :'request_id')
    ON CONFLICT DO NOTHING RETURNING order_id)
SELECT 'retry' AS attempt, count(*) AS orders_created, max(order_id) AS order_id FROM created;
\echo '   A retry without ON CONFLICT is refused as a duplicate key:'
\set ON_ERROR_STOP 0
INSERT INTO orders (user_id, total_amount, request_id) VALUES (7, 25.00, :'request_id');
\set ON_ERROR_STOP 1
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '23P01') AS msg \gset
\echo :msg
SELECT order_id AS new_order FROM orders WHERE request_id = :'request_id' \gset

\echo
\echo '== 8. The payment endpoint follows the idempotency-key protocol: the first request is new and charges once, its retry replays the stored response, and the same key with another body is a mismatch.'
CREATE TABLE payments (
    payment_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES orders,
    amount     numeric(12,2) NOT NULL
) USING steward;
SELECT gen_random_uuid() AS idem_key \gset
\echo '   POST /orders/:id/pay, Idempotency-Key' :idem_key
BEGIN;
SELECT 'first request' AS request, outcome, status, response
  FROM steward.idempotency_begin('shop-api', :'idem_key', 'sha256:pay-25.00');
WITH payment AS (
    INSERT INTO payments (order_id, amount) VALUES (:new_order, 25.00) RETURNING payment_id),
paid AS (
    UPDATE orders SET status = 'paid' WHERE order_id = :new_order RETURNING order_id)
SELECT steward.idempotency_complete('shop-api', :'idem_key', 201,
           jsonb_build_object('payment_id', payment_id, 'order_id', (SELECT order_id FROM paid)))
  FROM payment \gset
COMMIT;
SELECT 'retry' AS request, outcome, status, response
  FROM steward.idempotency_begin('shop-api', :'idem_key', 'sha256:pay-25.00');
SELECT 'other body' AS request, outcome, status, response
  FROM steward.idempotency_begin('shop-api', :'idem_key', 'sha256:pay-99.00');
SELECT count(*) AS payments_for_order FROM payments WHERE order_id = :new_order;

\echo
\echo '== 9. A lifecycle state machine on orders.status: the storage layer allows only declared transitions and stamps status_changed_at.'
ALTER TABLE orders ADD COLUMN status_changed_at timestamptz;
SELECT steward.create_state_machine('order_status',
    states      => ARRAY['created', 'paid', 'shipped', 'delivered', 'refunded', 'cancelled'],
    initial     => ARRAY['created'],
    transitions => ARRAY['created->paid', 'created->cancelled', 'paid->shipped',
                         'paid->refunded', 'shipped->delivered']) \gset
SELECT steward.attach_state_machine('orders', 'status', 'order_status',
                                    changed_at_column => 'status_changed_at') \gset
UPDATE orders SET status = 'shipped' WHERE order_id = :new_order
RETURNING order_id, status, status_changed_at IS NOT NULL AS changed_at_stamped, version;
\echo '   Cancelling an order that has shipped is not a declared transition:'
\set ON_ERROR_STOP 0
UPDATE orders SET status = 'cancelled' WHERE order_id = :new_order;
\set ON_ERROR_STOP 1
SELECT pg_temp.refused(:'ERROR', :'LAST_ERROR_SQLSTATE', '23514') AS msg \gset
\echo :msg
SELECT state, rows FROM steward.state_counts WHERE relid = 'orders'::regclass ORDER BY state;

\echo
\echo '== 10. A backfill under the built-in data_lifecycle machine: order_items gains line_total, filled by run_transition in committed batches and checked by validate.'
ALTER TABLE order_items ADD COLUMN line_total numeric(12,2),
    ADD COLUMN migration text NOT NULL DEFAULT 'pending_backfill';
SELECT steward.attach_state_machine('order_items', 'migration', 'data_lifecycle') \gset
SELECT steward.set_state_check('order_items', 'backfilled',
    'SELECT count(*) FROM order_items
      WHERE migration = ''backfilled'' AND line_total IS DISTINCT FROM qty * price') \gset
CALL steward.run_transition('order_items', 'pending_backfill', 'backfilled',
                            'line_total = qty * price', 1000);
SELECT from_state, to_state, rows_done, rows_remaining, batches, status
  FROM steward.transition_progress WHERE relid = 'order_items'::regclass;
SELECT state, passed, violations FROM steward.validate('order_items');

\echo
\echo '== 11. verify checks orders: row count, checksum, keys, versions, states and the steward_hash constraint.'
SELECT "check", passed, detail FROM steward.verify('orders');

\echo
\echo '== 12. Checksum ranges compare two copies range by range: a copy with one changed row differs in exactly one range.'
CREATE TABLE orders_restored (LIKE orders) USING steward;
INSERT INTO orders_restored SELECT * FROM orders;
UPDATE orders_restored SET total_amount = total_amount + 1 WHERE order_id = :order_id;
SELECT p.bucket, p.rows, p.checksum AS orders, r.checksum AS orders_restored
  FROM steward.checksum_ranges('orders', 'order_id', 8) p
  JOIN steward.checksum_ranges('orders_restored', 'order_id', 8) r USING (bucket)
 WHERE p.checksum IS DISTINCT FROM r.checksum OR p.rows <> r.rows;
DROP TABLE orders_restored;

\echo
\echo '== 13. Some application traffic, one statement each as an application sends them: 1,000 order reads, 200 user order lists, 200 status updates.'
\o /dev/null
SELECT format('SELECT order_id, status, total_amount, version FROM orders WHERE order_id = %s', 1 + g * 7 % 2000)
  FROM generate_series(1, 1000) g \gexec
SELECT format('SELECT order_id, status, created_at FROM orders WHERE user_id = %s ORDER BY created_at DESC LIMIT 5', 1 + g % 200)
  FROM generate_series(1, 200) g \gexec
SELECT format('UPDATE orders SET status = %L WHERE order_id = %s',
              CASE status WHEN 'created' THEN 'paid' ELSE 'shipped' END, order_id)
  FROM orders WHERE status IN ('created', 'paid') ORDER BY order_id LIMIT 200 \gexec
\o
-- PostgreSQL flushes a session's table counts at most once a second: flush
-- them now, so the views below see this session's updates.
SELECT pg_stat_force_next_flush() \gset

\echo
\echo '== 14. The DBA''s side: per-statement latency percentiles of this walkthrough from steward.statements, most called first (the cancellation refused in step 9 counts as an error).'
SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 60) AS query, calls,
       round(p50_ms::numeric, 3) AS p50_ms, round(p95_ms::numeric, 3) AS p95_ms,
       round(p99_ms::numeric, 3) AS p99_ms, errors
  FROM steward.statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY calls DESC, query LIMIT 3;

\echo
\echo '== 15. steward.health: no check is critical; restore_drill_age_s warns because no restore drill has run on this cluster yet (steward-drill runs one).'
SELECT "check", status, value, first_response FROM steward.health;

\echo
\echo '== 16. Capacity: the guide''s planning table, then steward.capacity measured from the live tables (growth needs samples minutes apart, which the background worker takes).'
SELECT * FROM steward.capacity_report(500, 1000, 1.5, 3, 30, 0.10);
SELECT coalesce(relid::text, '(database)') AS relid, avg_row_bytes, index_overhead,
       replication_factor, pg_size_pretty(total_bytes) AS size, recommendation
  FROM steward.capacity ORDER BY relid NULLS LAST;

\echo
\echo '== 17. steward.metrics: the same numbers for Prometheus, one row per sample, shown here in the exposition format (histogram buckets left out).'
SELECT m.metric
       || coalesce('{' || (SELECT string_agg(format('%s="%s"', l.key, l.value), ',' ORDER BY l.key)
                             FROM jsonb_each_text(m.labels) l) || '}', '')
       || ' ' || m.value AS sample
  FROM steward.metrics m
 WHERE m.metric NOT LIKE '%\_bucket'
 ORDER BY 1;
