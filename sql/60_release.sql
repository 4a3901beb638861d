-- Uninstalling never drops user data (issue 12 item 5): DROP EXTENSION,
-- with or without CASCADE, and every command that would drop the extension
-- on the way, is refused while user relations use its access methods;
-- steward.release() / release_all() turn them into core objects, keeping
-- data, indexes and constraint names; then the extension drops cleanly.
-- Runs in its own database, which it drops at the end.
SELECT current_database() AS regress_db \gset
CREATE DATABASE steward_release;
\c steward_release
CREATE EXTENSION pg_steward;
\set VERBOSITY default

CREATE TABLE orders (order_id bigint PRIMARY KEY, status text NOT NULL,
                     version bigint) USING steward;
SELECT steward.track_versions('orders', 'version');
SELECT steward.create_state_machine('order_status', ARRAY['created', 'paid'],
                                    ARRAY['created'], ARRAY['created->paid']);
SELECT steward.attach_state_machine('orders', 'status', 'order_status');
SELECT steward.set_state_check('orders', 'paid', 'SELECT 0');
INSERT INTO orders (order_id, status) SELECT g, 'created' FROM generate_series(1, 100) g;
UPDATE orders SET status = 'paid' WHERE order_id <= 10;

CREATE TABLE payments (account_id bigint, request_id text, amount numeric,
    CONSTRAINT payments_once
        EXCLUDE USING steward_hash (account_id WITH =, request_id WITH =)) USING steward;
COMMENT ON CONSTRAINT payments_once ON payments IS 'one charge per request';
CREATE INDEX payments_request ON payments USING steward_hash (request_id);
COMMENT ON INDEX payments_request IS 'lookups by request';
CREATE INDEX payments_lower ON payments USING steward_hash (lower(request_id) COLLATE "C")
    WHERE amount > 0;
ALTER TABLE payments ADD CONSTRAINT payments_big
    EXCLUDE USING steward_hash (request_id WITH =) WHERE (amount > 400)
    DEFERRABLE INITIALLY DEFERRED;
INSERT INTO payments SELECT g % 7, 'r' || g, g FROM generate_series(1, 500) g;

-- A heap table with only a steward_hash index.
CREATE TABLE lookups (k uuid, v text);
CREATE INDEX lookups_k ON lookups USING steward_hash (k);
INSERT INTO lookups SELECT md5(g::text)::uuid, 'v' || g FROM generate_series(1, 50) g;

-- A partitioned table: steward partitions, a partitioned steward_hash index
-- whose partition indexes have their own names.
CREATE TABLE events (part int NOT NULL, id int NOT NULL, payload text)
    PARTITION BY LIST (part);
CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1) USING steward;
CREATE TABLE events_2 PARTITION OF events FOR VALUES IN (2) USING steward;
CREATE INDEX events_payload ON events USING steward_hash (payload);
ALTER INDEX events_1_payload_idx RENAME TO events_1_by_payload;
INSERT INTO events SELECT 1 + g % 2, g, 'p' || g FROM generate_series(1, 60) g;

-- A table switched to heap keeps its rule (not enforced): its label would
-- outlive the extension.  (The switch is refused now; event triggers off
-- stand for a table switched before that.)
CREATE TABLE switched (id int, version bigint) USING steward;
SELECT steward.track_versions('switched', 'version');
ALTER EVENT TRIGGER steward_rules_storage DISABLE;
ALTER TABLE switched SET ACCESS METHOD heap;
ALTER EVENT TRIGGER steward_rules_storage ENABLE ALWAYS;

CREATE MATERIALIZED VIEW order_totals USING steward AS
    SELECT status, count(*) AS n FROM orders GROUP BY status;

-- Everything the release must keep, to compare afterwards.
CREATE TEMP TABLE before AS
SELECT 'orders' AS t, count(*) AS n, sum(version) AS s FROM orders
UNION ALL SELECT 'payments', count(*), sum(amount) FROM payments
UNION ALL SELECT 'lookups', count(*), sum(length(v)) FROM lookups
UNION ALL SELECT 'events', count(*), sum(id) FROM events
UNION ALL SELECT 'order_totals', count(*), sum(n) FROM order_totals;

-- Refused, naming what would be lost; the plain DROP too.
DROP EXTENSION pg_steward;
DROP EXTENSION pg_steward CASCADE;
DROP SCHEMA steward CASCADE;
DROP OWNED BY CURRENT_USER CASCADE;
-- The guard fires under session_replication_role = replica as well.
SET session_replication_role = replica;
DROP EXTENSION pg_steward CASCADE;
RESET session_replication_role;
SELECT count(*) AS orders_still_there FROM orders;

-- Releasing takes ownership: a stranger may not; the extension's own
-- tables are not released; a partition index is released with its parent.
CREATE ROLE release_stranger;
SET ROLE release_stranger;
SELECT * FROM steward.release('orders');
SELECT * FROM steward.release_all();
RESET ROLE;
SELECT * FROM steward.release('steward.idempotency_keys');
SELECT * FROM steward.release('events_2');
SELECT * FROM steward.release('payments_once');
SELECT * FROM steward.release(NULL);

-- The table owner releases their own table; index expressions run as the
-- owner, also when a superuser calls release_all().
CREATE ROLE release_owner;
GRANT CREATE ON SCHEMA public TO release_owner;
SET ROLE release_owner;
CREATE FUNCTION whoami(t text) RETURNS text LANGUAGE plpgsql IMMUTABLE
    AS $$ BEGIN RAISE NOTICE 'index expression runs as %', current_user; RETURN t; END $$;
CREATE TABLE owned (id int, tag text) USING steward;
INSERT INTO owned VALUES (1, 'a');
CREATE INDEX owned_tag ON owned USING steward_hash (whoami(tag));
RESET ROLE;

SELECT * FROM steward.release('payments') ORDER BY object_type, object_name;
\d payments
SELECT * FROM steward.release_all() ORDER BY relid::text, object_type, object_name;
-- Nothing left to release.
SELECT * FROM steward.release_all();

\d events
\d events_1
SELECT c.relname, am.amname
  FROM pg_class c JOIN pg_am am ON am.oid = c.relam
 WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1;
SELECT count(*) AS rules_left FROM steward.column_rules
 WHERE relid <> 'steward.migration_runs'::regclass;   -- pg_steward's own rule stays
SELECT count(*) AS labels_left FROM pg_seclabel
 WHERE provider = 'steward'
   AND objoid NOT IN (SELECT oid FROM pg_class WHERE relnamespace = 'steward'::regnamespace);
SELECT count(*) AS state_checks_left FROM steward.state_checks;
SELECT obj_description('payments_request'::regclass, 'pg_class') AS index_comment,
       obj_description(oid, 'pg_constraint') AS constraint_comment
  FROM pg_constraint WHERE conname = 'payments_once';

-- Objects that do not use the access methods but would still go with the
-- extension (found from pg_depend, not from a list of cases): a column of
-- one of its types, a default and a CHECK calling its functions, an index
-- over one of its immutable functions, a function whose body calls it,
-- views over its views, and a temporary steward table.
-- The reviewer's repro: DROP EXTENSION ... CASCADE dropped column r.
CREATE TABLE keeps_tracked (id int, r steward.tracked_columns);
INSERT INTO keeps_tracked
VALUES (1, ROW('keeps_tracked', 'id', 'version', 'int4', false, NULL, NULL, now(), NULL)::steward.tracked_columns);
DROP EXTENSION pg_steward CASCADE;
SELECT count(*) AS keeps_tracked_columns FROM pg_attribute
 WHERE attrelid = 'keeps_tracked'::regclass AND attnum > 0;
DROP TABLE keeps_tracked;
CREATE TABLE uses_token (id int, tok text DEFAULT steward.write_token(),
                         CHECK (steward.write_token() IS NOT NULL));
CREATE INDEX uses_capacity ON uses_token (((steward.capacity_estimate(id, 1, 1, 1, 1, 1)).writes_per_day));
CREATE FUNCTION calls_token() RETURNS text LANGUAGE sql RETURN steward.write_token();
CREATE VIEW over_tracked AS SELECT * FROM steward.tracked_columns;
CREATE VIEW over_over AS SELECT * FROM over_tracked;
CREATE TEMP TABLE temp_steward (id int) USING steward;
DROP EXTENSION pg_steward CASCADE;
DROP SCHEMA steward CASCADE;
DROP TABLE temp_steward;
DROP EXTENSION pg_steward CASCADE;
DROP TABLE uses_token;
DROP FUNCTION calls_token();
DROP VIEW over_tracked CASCADE;
-- A migration in progress: its trigger calls the extension; the HINT
-- says to complete or roll it back.
CREATE TABLE mig_heap (id int PRIMARY KEY, a int);
SELECT steward.migration_start('mig_heap_a', '[{"alter_column": {"table": "mig_heap", "column": "a", "type": "bigint"}}]') IS NOT NULL AS started;
DROP EXTENSION pg_steward CASCADE;
SELECT steward.migration_rollback('mig_heap_a') IS NOT NULL AS rolled_back;
DROP TABLE mig_heap;
-- One object left: the message agrees with the number.
CREATE TABLE one_column (id int, r steward.tracked_columns);
DROP EXTENSION pg_steward CASCADE;
DROP TABLE one_column;
-- A function declared to depend on the extension goes with it: asked for.
CREATE FUNCTION goes_along() RETURNS int LANGUAGE sql RETURN 1;
ALTER FUNCTION goes_along() DEPENDS ON EXTENSION pg_steward;

-- Now the extension drops, without CASCADE, and the data is all there.
DROP EXTENSION pg_steward;
SELECT b.t, b.n = a.n AND b.s = a.s AS same
  FROM before b
  JOIN (SELECT 'orders' AS t, count(*) AS n, sum(version) AS s FROM orders
        UNION ALL SELECT 'payments', count(*), sum(amount) FROM payments
        UNION ALL SELECT 'lookups', count(*), sum(length(v)) FROM lookups
        UNION ALL SELECT 'events', count(*), sum(id) FROM events
        UNION ALL SELECT 'order_totals', count(*), sum(n) FROM order_totals) a USING (t)
 ORDER BY 1;
-- The constraints still hold, under their names.
INSERT INTO payments VALUES (1, 'r1', 5);
BEGIN;
INSERT INTO payments VALUES (99, 'r450', 450);
COMMIT;
INSERT INTO payments VALUES (2, 'r1', -5);   -- 'r1' again, another account: fine
SELECT count(*) FROM lookups WHERE k = md5('7')::uuid;
SELECT count(*) AS goes_along_left FROM pg_proc WHERE proname = 'goes_along';
-- Reinstalling is possible, and the released tables are plain heap tables.
CREATE EXTENSION pg_steward;
DROP EXTENSION pg_steward;

\c :regress_db
DROP DATABASE steward_release;
DROP ROLE release_stranger;
DROP ROLE release_owner;
