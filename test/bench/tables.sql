-- One variant of the orders schema.  Included by setup.sql with the psql
-- variables :s (schema) and :am (table access method) set, so the three
-- variants cannot drift apart.
CREATE SCHEMA :"s";

CREATE TABLE :"s".orders (
    order_id     bigint PRIMARY KEY,
    user_id      bigint NOT NULL,
    status       text NOT NULL,
    created_at   timestamptz NOT NULL,
    total_amount numeric(12,2) NOT NULL,
    -- NOT NULL DEFAULT 1 in all three variants so that the only difference
    -- between them is the version enforcement itself.
    version      bigint NOT NULL DEFAULT 1
) USING :"am";

CREATE TABLE :"s".order_items (
    order_id   bigint NOT NULL REFERENCES :"s".orders,
    line_no    int NOT NULL,
    product_id bigint NOT NULL,
    quantity   int NOT NULL,
    unit_price numeric(12,2) NOT NULL,
    PRIMARY KEY (order_id, line_no)
) USING :"am";

-- New orders of workload (c) take their ids from here; the loaded rows use
-- 1..:n_orders.
CREATE SEQUENCE :"s".orders_id_seq;
