-- Data for the ops/ benchmark; run by run.sh with -v rows=N -v customers=M.
--
-- The orders schema of examples/orders_walkthrough.sql, plus what verify()
-- has checks for:
--   customers  small parent table (heap), :customers rows
--   orders     USING steward, :rows rows:
--              - PRIMARY KEY (order_id)                       -> unique check
--              - EXCLUDE USING steward_hash (customer_id WITH =, idem_key WITH =)
--                (idempotency key)                            -> exclusion check
--                                                                + verify_index
--              - FOREIGN KEY (customer_id) -> customers       -> FK anti-join
--              - version tracked by steward.track_versions    -> versions >= 1
--              - status under the state machine "order_state" -> states valid
-- Rows are loaded before the constraints and indexes are added (one
-- validation pass each instead of 10 M per-row FK trigger calls), then the
-- table is vacuumed (hint bits, visibility map) and analyzed.
\set ON_ERROR_STOP on

CREATE EXTENSION pg_steward;

SELECT steward.create_state_machine('order_state',
    ARRAY['created', 'paid', 'shipped', 'delivered', 'cancelled'],
    ARRAY['created', 'paid', 'shipped', 'delivered', 'cancelled'],
    ARRAY['created->paid', 'paid->shipped', 'shipped->delivered',
          'created->cancelled', 'paid->cancelled']);

CREATE TABLE customers (
    customer_id bigint PRIMARY KEY,
    name        text NOT NULL
);
INSERT INTO customers SELECT i, 'customer ' || i FROM generate_series(1, :customers) i;

CREATE TABLE orders (
    order_id     bigint NOT NULL,
    customer_id  bigint NOT NULL,
    idem_key     uuid NOT NULL,
    status       text NOT NULL DEFAULT 'created',
    created_at   timestamptz NOT NULL DEFAULT now(),
    total_amount numeric(12,2) NOT NULL DEFAULT 0,
    version      bigint
) USING steward;
SELECT steward.track_versions('orders', 'version');

\timing on
INSERT INTO orders (order_id, customer_id, idem_key, status, created_at, total_amount)
SELECT i,
       1 + (i * 7919) % :customers,
       md5(i::text)::uuid,
       (ARRAY['created', 'paid', 'shipped', 'delivered', 'cancelled'])[1 + i % 5],
       timestamptz '2026-01-01' + make_interval(secs => i),
       (i % 20000) / 100.0
  FROM generate_series(1::bigint, :rows) i;
ALTER TABLE orders ADD PRIMARY KEY (order_id);
ALTER TABLE orders ADD CONSTRAINT orders_idem
    EXCLUDE USING steward_hash (customer_id WITH =, idem_key WITH =);
ALTER TABLE orders ADD CONSTRAINT orders_customer_fk
    FOREIGN KEY (customer_id) REFERENCES customers;
SELECT steward.attach_state_machine('orders', 'status', 'order_state');
VACUUM (ANALYZE) customers, orders;
\timing off
CHECKPOINT;
