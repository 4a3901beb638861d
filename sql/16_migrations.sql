-- Online schema migrations (src/migrate): every step kind, the errors that
-- refuse a migration before anything changes, validation, complete,
-- cleanup and rollback.
-- PL/pgSQL line numbers in CONTEXT lines would make the output brittle.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;     -- so that the file also runs alone
RESET client_min_messages;
-- Other files' migrations may still be recorded in this database (the files
-- share it, in any order): this file lists and counts its own by name, and
-- its metrics as the change since it began.
CREATE TEMP TABLE metrics_before AS
SELECT metric, labels, value FROM steward.metrics
 WHERE metric IN ('steward_migrations_total', 'steward_migrations_in_progress');

CREATE TABLE orders (
    order_id     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL,
    status       text NOT NULL DEFAULT 'created',
    total_amount numeric(12,2) NOT NULL DEFAULT 0,
    note         text,
    version      bigint
) USING steward;
SELECT steward.track_versions('orders', 'version');
INSERT INTO orders (user_id, total_amount, note)
SELECT g % 10, g * 1.25, 'n' || g FROM generate_series(1, 200) g;
CREATE VIEW orders_checksum AS
SELECT detail FROM steward.verify('orders') WHERE "check" IN ('row_count', 'checksum');
SELECT * FROM orders_checksum;

-- 1. Refused at start, before anything changes.
SELECT steward.migration_start('m', NULL);
SELECT steward.migration_start('m', '{}');
SELECT steward.migration_start('m', '[]');
SELECT steward.migration_start('', '[{"add_column": {"table": "orders", "column": "c", "type": "int"}}]');
SELECT steward.migration_start('m', '[{"add_colum": {"table": "orders"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders"}, "drop_column": {}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "int", "colour": "red"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "nope", "column": "c", "type": "int"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "note", "type": "int"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "int; DROP TABLE orders"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "no_such_type"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "int", "up": "missing + 1"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "int", "up": "(SELECT 1)"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "int", "up": "count(*)"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "int", "up": "1; DROP TABLE orders"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "int", "up": "1 FROM pg_class"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "int", "up": "now()"}}]');
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "int", "up": "orders.user_id"}}]');
SELECT steward.migration_start('m', '[{"alter_column": {"table": "orders", "column": "order_id", "type": "int"}}]');
SELECT steward.migration_start('m', '[{"alter_column": {"table": "orders", "column": "note"}}]');
SELECT steward.migration_start('m', '[{"alter_column": {"table": "orders", "column": "version", "type": "int"}}]');
SELECT steward.migration_start('m', '[{"alter_column": {"table": "orders", "column": "note", "name": "status"}}]');
SELECT steward.migration_start('m', '[{"alter_column": {"table": "orders", "column": "total_amount", "type": "text"}}]');
SELECT steward.migration_start('m', '[{"alter_column": {"table": "orders", "column": "total_amount", "name": "total_cents", "type": "bigint", "down": "total_amount"}}]');
SELECT steward.migration_start('m', '[{"drop_column": {"table": "orders", "column": "user_id"}}]');
SELECT steward.migration_start('m', '[{"drop_column": {"table": "orders", "column": "note"}}, {"alter_column": {"table": "orders", "column": "note", "name": "n2"}}]');
SELECT steward.migration_start('m', '[{"rename_table": {"table": "orders", "name": "orders_checksum"}}]');
SELECT steward.migration_start('m', '[{"alter_column": {"table": "orders", "column": "note", "check": "length(note) > 0", "references": 7}}]');
CREATE TABLE no_pk (a int) USING steward;
SELECT steward.migration_start('m', '[{"add_column": {"table": "no_pk", "column": "c", "type": "int"}}]');
CREATE ROLE migration_stranger;
SET ROLE migration_stranger;
SELECT steward.migration_start('m', '[{"add_column": {"table": "orders", "column": "c", "type": "int"}}]');
RESET ROLE;
-- Nothing changed.
SELECT count(*) AS migrations FROM steward.migrations WHERE name = 'm';
SELECT count(*) AS extra_columns FROM pg_attribute
 WHERE attrelid = 'orders'::regclass AND attnum > 0 AND NOT attisdropped AND attnum > 6;
SELECT * FROM orders_checksum;

-- 2. The guide's migration: total_amount numeric(12,2) -> total_cents bigint.
SELECT steward.migration_start('orders_cents', $$[
  {"alter_column": {"table": "orders", "column": "total_amount", "name": "total_cents",
                    "type": "bigint", "up": "(total_amount * 100)::bigint",
                    "down": "total_cents / 100.0", "default": "0"}}
]$$);
SELECT name, tables, phase, result FROM steward.migrations
 WHERE name IN ('m', 'orders_cents');
-- The migration's schema presents the new shape; orders_cents_old the old one.
\d orders_cents.orders
\d orders_cents_old.orders
-- One migration per table at a time.
SELECT steward.migration_start('another', '[{"add_column": {"table": "orders", "column": "c", "type": "int"}}]');
SELECT steward.migration_start('orders_cents', '[{"add_column": {"table": "no_pk", "column": "c", "type": "int"}}]');
-- Not before its time.
SELECT steward.migration_complete('orders_cents');
SELECT steward.migration_cleanup('orders_cents');

-- Dual writes: the old application writes the table, the new one the view.
INSERT INTO orders (user_id, total_amount) VALUES (100, 12.34);
UPDATE orders SET total_amount = 2.50 WHERE order_id = 1;
SET search_path = orders_cents, public;
INSERT INTO orders (user_id, total_cents) VALUES (101, 5678);
INSERT INTO orders (user_id) VALUES (102);                  -- default of the new shape
UPDATE orders SET total_cents = 999 WHERE order_id = 2;
SELECT order_id, user_id, total_cents FROM orders WHERE order_id IN (1, 2) OR user_id >= 100 ORDER BY 1;
RESET search_path;
SELECT order_id, total_amount, total_cents, _steward_side FROM orders
 WHERE order_id IN (1, 2, 3) OR user_id >= 100 ORDER BY 1;
-- A value down cannot map fails the write, as a CHECK would.
SET search_path = orders_cents, public;
UPDATE orders SET total_cents = 9223372036854775807 WHERE order_id = 3;
RESET search_path;
-- Rows not written since the start are not validated yet.
SELECT "check", passed, detail FROM steward.migration_validate('orders_cents');
SELECT phase, result, failed FROM steward.migrations WHERE name = 'orders_cents';

-- The extension cannot go while the migration runs: the steward tables
-- and the views the migration made over them are listed.
DROP EXTENSION pg_steward CASCADE;
-- Bad sizes: which one, what was got, what to do.
CALL steward.migration_backfill('orders_cents', 0);
CALL steward.migration_backfill('orders_cents', 50, 0);
CALL steward.migration_backfill('orders_cents', 50);
SELECT phase, rows_backfilled, rows_total, batches, backfill_status FROM steward.migrations
 WHERE name = 'orders_cents';
-- Backfill keeps row versions (clients holding them are not made stale).
SELECT count(*) FILTER (WHERE version = 1) AS untouched_versions FROM orders;
SELECT "check", passed, detail FROM steward.migration_validate('orders_cents');
SELECT phase, result, last_validation_passed FROM steward.migrations WHERE name = 'orders_cents';

-- A row changed behind the trigger's back fails validation, and complete
-- refuses until it is fixed.
-- (The migration's DDL guard refuses to disable its trigger; a superuser
-- can go around the guard.)
ALTER TABLE orders DISABLE TRIGGER zz_steward_migration;
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE orders DISABLE TRIGGER zz_steward_migration;
UPDATE orders SET total_cents = 1 WHERE order_id = 10;
ALTER TABLE orders ENABLE ALWAYS TRIGGER zz_steward_migration;   -- as the migration made it
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SELECT "check", passed FROM steward.migration_validate('orders_cents');
SELECT phase, result, error FROM steward.migrations WHERE name = 'orders_cents';
SELECT status, value, first_response FROM steward.health WHERE "check" = 'failed_migrations';
SELECT steward.migration_complete('orders_cents');
UPDATE orders SET total_amount = total_amount WHERE order_id = 10;   -- old shape rewrites it
SELECT bool_and(passed) FROM steward.migration_validate('orders_cents');

SELECT steward.migration_complete('orders_cents');
SELECT phase FROM steward.migrations WHERE name = 'orders_cents';
-- The table has the new shape; the old one lives on in orders_cents_old.
SELECT attname FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attnum > 0
   AND NOT attisdropped ORDER BY attnum;
INSERT INTO orders (user_id, total_cents) VALUES (103, 4242);
SET search_path = orders_cents_old, public;
INSERT INTO orders (user_id, total_amount) VALUES (104, 7.77);
UPDATE orders SET total_amount = 3.33 WHERE order_id = 1;
SELECT order_id, total_amount FROM orders WHERE order_id = 1 OR user_id IN (103, 104) ORDER BY 1;
RESET search_path;
SELECT order_id, total_cents FROM orders WHERE order_id = 1 OR user_id IN (103, 104) ORDER BY 1;

SELECT steward.migration_cleanup('orders_cents');
SELECT phase, result, cleaned_up_at IS NOT NULL AS cleaned FROM steward.migrations
 WHERE name = 'orders_cents';
SELECT attname FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attnum > 0
   AND NOT attisdropped ORDER BY attnum;
SELECT nspname FROM pg_namespace WHERE nspname LIKE 'orders_cents%';
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid = 'orders'::regclass;
SELECT steward.migration_rollback('orders_cents');

-- 3. Every step kind in one migration, on two tables; complete, then roll
-- back inside the rollback window: the tables are as before.
CREATE TABLE users (id bigint PRIMARY KEY, email text);
INSERT INTO users SELECT g, 'u' || g || '@example.com' FROM generate_series(0, 110) g;
CREATE TABLE events (id int PRIMARY KEY, kind text NOT NULL DEFAULT 'x', payload text, legacy int);
INSERT INTO events SELECT g, 'k' || (g % 3), 'p' || g, g FROM generate_series(1, 30) g;
CREATE VIEW events_checksum AS
SELECT detail FROM steward.verify('events') WHERE "check" IN ('row_count', 'checksum');
SELECT * FROM orders_checksum;
SELECT * FROM events_checksum;
SELECT steward.migration_start('everything', $$[
  {"add_column": {"table": "orders", "column": "currency", "type": "text", "default": "'EUR'",
                  "up": "'EUR'", "not_null": true, "check": "length(currency) = 3"}},
  {"alter_column": {"table": "orders", "column": "user_id", "references": "users"}},
  {"alter_column": {"table": "orders", "column": "note", "name": "memo"}},
  {"drop_column": {"table": "orders", "column": "status", "down": "'created'"}},
  {"rename_table": {"table": "orders", "name": "purchases"}},
  {"alter_column": {"table": "events", "column": "kind", "not_null": true, "unique": "steward_hash",
                    "up": "kind || '-' || id", "down": "split_part(kind, '-', 1)"}},
  {"alter_column": {"table": "events", "column": "legacy", "type": "text", "unique": true,
                    "down": "legacy::int"}}
]$$);
\d everything.purchases
\d everything.events
INSERT INTO orders (user_id, note) VALUES (1, 'old app');
SET search_path = everything, public;
INSERT INTO purchases (user_id, memo, currency) VALUES (2, 'new app', 'USD');
INSERT INTO purchases (user_id, memo, currency) VALUES (999, 'no such user', 'USD');
INSERT INTO purchases (user_id, memo, currency) VALUES (2, 'bad currency', 'EURO');
INSERT INTO events (id, kind, payload, legacy) VALUES (100, 'k9-100', 'new', '7');
RESET search_path;
SELECT order_id, user_id, status, note, currency FROM orders WHERE user_id IN (1, 2) AND note LIKE '%app' ORDER BY 1;
SELECT id, kind, _steward_new_kind, legacy, _steward_new_legacy FROM events WHERE id IN (1, 100) ORDER BY 1;
-- The new unique key is built after the backfill; a duplicate stops it.
CALL steward.migration_backfill('everything');
SELECT phase, result, backfill_status, error FROM steward.migrations WHERE name = 'everything';
UPDATE events SET legacy = 700 WHERE id = 100;
CALL steward.migration_backfill('everything');
SELECT phase, result, backfill_status FROM steward.migrations WHERE name = 'everything';
SELECT "check", passed, detail FROM steward.migration_validate('everything');
SELECT steward.migration_complete('everything');
\d purchases
\d events
-- The new shape is the tables' now; writes through it reach the old shape.
INSERT INTO purchases (user_id, memo) VALUES (3, 'after switch');
INSERT INTO events (id, kind, legacy) VALUES (101, 'k1-101', '801');
INSERT INTO events (id, kind, legacy) VALUES (102, 'k1-101', '802');   -- kind is a key now
SET search_path = everything_old, public;
SELECT order_id, user_id, status, note FROM orders WHERE note IN ('after switch', 'old app') ORDER BY 1;
SELECT id, kind, legacy FROM events WHERE id IN (1, 100, 101) ORDER BY 1;
INSERT INTO events (id, kind, legacy) VALUES (103, 'k2', 10);   -- legacy '10' is taken
RESET search_path;
SELECT steward.migration_rollback('everything');
SELECT phase, result, rolled_back_at IS NOT NULL AS rolled_back FROM steward.migrations
 WHERE name = 'everything';
\d orders
\d events
-- Rows written during the migration stay, in the old shape.
SELECT order_id, user_id, status, note FROM orders WHERE note IN ('after switch', 'old app', 'new app') ORDER BY 1;
SELECT id, kind, legacy FROM events WHERE id >= 100 ORDER BY 1;
DELETE FROM orders WHERE note IN ('after switch', 'old app', 'new app');
DELETE FROM events WHERE id >= 100;
SELECT * FROM orders_checksum;
SELECT * FROM events_checksum;

-- 4. Rolled back midway (during the backfill): exactly as before.
SELECT steward.migration_start('midway', $$[
  {"alter_column": {"table": "events", "column": "legacy", "type": "bigint", "up": "legacy * 10",
                    "down": "legacy / 10"}},
  {"add_column": {"table": "events", "column": "extra", "type": "int", "up": "id"}}
]$$);
-- One row a batch, two batches a second: 2 s is several batches after the
-- first, which a loaded machine may start late (with 300 ms the cancel
-- could land before it), and far from the 15 s all 30 rows take.
SET statement_timeout = '2s';
CALL steward.migration_backfill('midway', 1, 2);    -- cancelled after a few batches
RESET statement_timeout;
-- cancelled, or interrupted when the cancel lands on a COMMIT between batches
-- (src/lifecycle/README.md)
SELECT backfill_status IN ('cancelled', 'interrupted') AS stopped,
       rows_backfilled BETWEEN 1 AND 29 AS partly FROM steward.migrations
 WHERE name = 'midway';
SELECT steward.migration_rollback('midway');
SELECT * FROM events_checksum;
SELECT name, phase, result FROM steward.migrations
 WHERE name IN ('m', 'orders_cents', 'another', 'everything', 'midway') ORDER BY started_at;

SELECT status, value FROM steward.health WHERE "check" = 'failed_migrations';
SELECT labels->>'result' AS result, m.value - coalesce(b.value, 0) AS value
  FROM steward.metrics m LEFT JOIN metrics_before b USING (metric, labels)
 WHERE metric = 'steward_migrations_total' AND m.value <> coalesce(b.value, 0) ORDER BY 1;
SELECT labels->>'migration' AS migration, value > 0 AS positive FROM steward.metrics
 WHERE metric = 'steward_migration_rollout_seconds'
   AND labels->>'migration' IN ('m', 'orders_cents', 'another', 'everything', 'midway') ORDER BY 1;
SELECT m.value - coalesce(b.value, 0) AS value
  FROM steward.metrics m LEFT JOIN metrics_before b USING (metric, labels)
 WHERE metric = 'steward_migrations_in_progress';

-- The phase follows the data_lifecycle machine, enforced by the AM.
UPDATE steward.migration_runs SET phase = 'switched' WHERE name = 'midway';

-- A table dropped in the middle of a migration leaves it.
CREATE TABLE gone (id int PRIMARY KEY, a int);
SELECT steward.migration_start('gone_mig', '[{"add_column": {"table": "gone", "column": "b", "type": "int"}}]');
DROP TABLE gone CASCADE;
SELECT name, phase, result, failed, error FROM steward.migrations WHERE name = 'gone_mig';
SELECT steward.migration_rollback('gone_mig');
-- Its schemas of views went with it (the CASCADE emptied them).
SELECT count(*) AS schemas_left FROM pg_namespace WHERE nspname IN ('gone_mig', 'gone_mig_old');

-- 5. Trust: the owner's up and down run as the owner, whoever writes or
-- drives the migration; objects the migration creates are the owner's.
CREATE ROLE mig_owner;
CREATE ROLE mig_app;
SELECT format('GRANT CREATE ON DATABASE %I TO mig_owner', current_database()) \gexec
CREATE SCHEMA mo AUTHORIZATION mig_owner;
SET ROLE mig_owner;
CREATE FUNCTION mo.who(int) RETURNS int LANGUAGE plpgsql STABLE AS $$
BEGIN
    RAISE NOTICE 'up runs as %', current_user;
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        RAISE EXCEPTION 'the owner''s code ran as a superuser';
    END IF;
    RETURN $1;
END $$;
CREATE TABLE mo.t (id int PRIMARY KEY, a int) USING steward;
INSERT INTO mo.t VALUES (1, 1);
GRANT USAGE ON SCHEMA mo TO mig_app;
GRANT SELECT, INSERT, UPDATE ON mo.t TO mig_app;
RESET ROLE;
-- A superuser may drive it (it counts as the owner).
SELECT steward.migration_start('mo_b', '[{"add_column": {"table": "mo.t", "column": "b", "type": "int", "up": "mo.who(a) * 10"}}]');
SELECT nspname, nspowner::regrole FROM pg_namespace WHERE nspname LIKE 'mo\_b%' ORDER BY 1;
SELECT relname, relowner::regrole FROM pg_class WHERE relnamespace = 'mo_b'::regnamespace;
SELECT has_table_privilege('mig_app', 'mo_b.t', 'INSERT') AS app_may_insert;
INSERT INTO mo.t VALUES (2, 2);
SET ROLE mig_app;
INSERT INTO mo.t VALUES (3, 3);
SET search_path = mo_b, public;
INSERT INTO t (id, a, b) VALUES (4, 4, 400);
RESET search_path;
-- Only the owner drives a migration.
SELECT steward.migration_rollback('mo_b');
CALL steward.migration_backfill('mo_b');
SELECT count(*) AS visible FROM steward.migrations WHERE name = 'mo_b';
RESET ROLE;
CALL steward.migration_backfill('mo_b');
SELECT id, a, b, _steward_side FROM mo.t ORDER BY id;
SET ROLE mig_owner;
SELECT name, phase FROM steward.migrations WHERE name = 'mo_b';
SELECT steward.migration_rollback('mo_b');
RESET ROLE;
DROP SCHEMA mo CASCADE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM mig_owner', current_database()) \gexec
DROP ROLE mig_owner, mig_app;

DROP VIEW orders_checksum, events_checksum;
DROP TABLE orders, events, users, no_pk;
DROP ROLE migration_stranger;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('orders_cents'), ('everything'), ('midway'),
    ('gone_mig'), ('mo_b');
\i test/sql/drop_migration_records.sql
