-- Build the three variants of the orders schema with identical data.
-- Run by run.sh with -v n_orders=N -v n_users=N.
--   heap  plain heap tables, no version enforcement (baseline)
--   stew  USING steward + steward.track_versions(orders, version)
--         (not "steward": that schema belongs to the extension)
--   trig  heap + PL/pgSQL triggers implementing the same version rules
\set ON_ERROR_STOP on
\set QUIET on
-- only errors are of interest (they go to stderr)
\o /dev/null

CREATE EXTENSION pg_steward;

\set s heap
\set am heap
\ir tables.sql
\set s stew
\set am steward
\ir tables.sql
\set s trig
\set am heap
\ir tables.sql

-- Data: generated once into heap.*, then copied, so the variants hold the
-- same rows in the same physical order.  setseed makes runs comparable.
SELECT setseed(0.42);
INSERT INTO heap.orders (order_id, user_id, status, created_at, total_amount)
SELECT i,
       1 + floor(random() * :n_users)::bigint,
       (ARRAY['new','paid','shipped','delivered'])[1 + floor(random() * 4)::int],
       timestamptz '2024-01-01' + i * interval '2 minutes' + random() * interval '1 minute',
       round((10 + random() * 490)::numeric, 2)
  FROM generate_series(1, :n_orders) i;
INSERT INTO heap.order_items (order_id, line_no, product_id, quantity, unit_price)
SELECT o, l,
       1 + floor(random() * 5000)::bigint,
       1 + floor(random() * 5)::int,
       round((1 + random() * 99)::numeric, 2)
  FROM generate_series(1, :n_orders) o, generate_series(1, 3) l;

INSERT INTO stew.orders SELECT * FROM heap.orders ORDER BY order_id;
INSERT INTO stew.order_items SELECT * FROM heap.order_items ORDER BY order_id, line_no;
INSERT INTO trig.orders SELECT * FROM heap.orders ORDER BY order_id;
INSERT INTO trig.order_items SELECT * FROM heap.order_items ORDER BY order_id, line_no;

\set s heap
\ir indexes.sql
\set s stew
\ir indexes.sql
\set s trig
\ir indexes.sql

-- Enforcement is switched on after the load (the load is not measured).
SELECT steward.track_versions('stew.orders', 'version');

-- The trigger variant: the same rules as the steward access method.
CREATE FUNCTION trig.orders_version_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.version IS NULL THEN
        NEW.version := 1;
    ELSIF NEW.version < 1 THEN
        RAISE EXCEPTION 'invalid version % for new row in relation "%"',
              NEW.version, TG_TABLE_NAME USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION trig.orders_version_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.version IS NULL THEN
        -- mirrors the access method: a row stored without a version starts afresh
        IF NEW.version IS NULL THEN
            NEW.version := 1;
        ELSIF NEW.version < 1 THEN
            RAISE EXCEPTION 'version % skips ahead of current version 0', NEW.version
                  USING ERRCODE = '22023';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.version IS NULL THEN
        RAISE EXCEPTION 'null value in version column "version" of relation "%"',
              TG_TABLE_NAME USING ERRCODE = '23502';
    ELSIF NEW.version < OLD.version THEN
        RAISE EXCEPTION 'stale version for row (order_id)=(%) of relation "%"',
              OLD.order_id, TG_TABLE_NAME USING ERRCODE = '40001',
              DETAIL = format('The update expected version %s but the row is at version %s.',
                              NEW.version, OLD.version);
    ELSIF NEW.version > OLD.version + 1 THEN
        RAISE EXCEPTION 'version % skips ahead of current version % of relation "%"',
              NEW.version, OLD.version, TG_TABLE_NAME USING ERRCODE = '22023';
    END IF;
    -- untouched (= stored) or stored + 1: store stored + 1
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER orders_version_insert BEFORE INSERT ON trig.orders
    FOR EACH ROW EXECUTE FUNCTION trig.orders_version_insert();
CREATE TRIGGER orders_version_update BEFORE UPDATE ON trig.orders
    FOR EACH ROW EXECUTE FUNCTION trig.orders_version_update();

VACUUM (FREEZE, ANALYZE);
CHECKPOINT;
