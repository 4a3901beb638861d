-- Benchmark table: the guide's orders, :rows rows, and the hand-written
-- (pgroll-style) variant of the same migration for comparison.
CREATE EXTENSION IF NOT EXISTS pg_steward;
CREATE TABLE orders (
    order_id     bigint PRIMARY KEY,
    user_id      bigint NOT NULL,
    status       text NOT NULL DEFAULT 'created',
    total_amount numeric(12,2) NOT NULL DEFAULT 0,
    created_at   timestamptz NOT NULL DEFAULT now()
) USING steward;
INSERT INTO orders (order_id, user_id, total_amount)
SELECT g, g % 1000, (g % 100000) / 100.0 FROM generate_series(1, :rows) g;

-- pgroll's approach, by hand: a new column, a trigger computing it from
-- the old one (pgroll's triggers also write the other direction for the
-- new version's schema; the old application only writes the old column
-- here, which is the work this measures), and a backfill that touches
-- every row in primary-key batches of 1000, committed one by one.
CREATE FUNCTION hand_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.total_cents := (NEW.total_amount * 100)::bigint;
    RETURN NEW;
END $$;

CREATE PROCEDURE hand_start() LANGUAGE plpgsql AS $$
BEGIN
    ALTER TABLE orders ADD COLUMN total_cents bigint;
    CREATE TRIGGER hand_up BEFORE INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION hand_up();
END $$;

CREATE PROCEDURE hand_backfill(batch integer) LANGUAGE plpgsql AS $$
DECLARE
    last bigint := 0;
    n bigint;
BEGIN
    LOOP
        WITH b AS (SELECT order_id FROM orders WHERE order_id > last ORDER BY order_id LIMIT batch),
             u AS (UPDATE orders o SET order_id = o.order_id FROM b WHERE o.order_id = b.order_id
                   RETURNING o.order_id)
        SELECT count(*), max(order_id) INTO n, last FROM u;
        COMMIT;
        EXIT WHEN n = 0;
    END LOOP;
END $$;

CREATE PROCEDURE hand_undo() LANGUAGE plpgsql AS $$
BEGIN
    DROP TRIGGER hand_up ON orders;
    ALTER TABLE orders DROP COLUMN total_cents;
END $$;
VACUUM ANALYZE orders;
