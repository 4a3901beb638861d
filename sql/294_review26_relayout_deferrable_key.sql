-- review26 R2: a relayout writes both layouts keyed by the primary key
-- with INSERT ... ON CONFLICT (the apply trigger's upsert, the backfill's
-- DO NOTHING), which PostgreSQL refuses over a DEFERRABLE key.  Start
-- accepted a table whose primary key is DEFERRABLE, and from then on
-- every INSERT and UPDATE of the table failed ("ON CONFLICT does not
-- support deferrable unique constraints/exclusion constraints as
-- arbiters") until a rollback.  Now start refuses it (0A000) before
-- anything changes.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r294;
CREATE TABLE r294.orders (order_id bigint, user_id int NOT NULL, status text,
                          CONSTRAINT orders_pk PRIMARY KEY (order_id, user_id) DEFERRABLE) USING steward;
INSERT INTO r294.orders SELECT g, g % 7, 'new' FROM generate_series(1, 30) g;
SELECT steward.migration_start('r294_by_user', $$[
  {"relayout": {"table": "r294.orders", "partition_by": "HASH (user_id)", "partitions": 2}}
]$$);
SELECT count(*) FROM steward.migrations WHERE name = 'r294_by_user';
-- The application keeps writing (before: 55000 from the apply's ON CONFLICT).
INSERT INTO r294.orders VALUES (100, 1, 'new');
UPDATE r294.orders SET status = 'paid' WHERE order_id = 1;
-- INITIALLY DEFERRED too.
ALTER TABLE r294.orders DROP CONSTRAINT orders_pk;
ALTER TABLE r294.orders ADD CONSTRAINT orders_pk PRIMARY KEY (order_id, user_id) DEFERRABLE INITIALLY DEFERRED;
SELECT steward.migration_start('r294_by_user', $$[
  {"relayout": {"table": "r294.orders", "partition_by": "HASH (user_id)", "partitions": 2}}
]$$);
-- NOT DEFERRABLE, as the HINT says: it starts and the writes go to both layouts.
ALTER TABLE r294.orders DROP CONSTRAINT orders_pk;
ALTER TABLE r294.orders ADD CONSTRAINT orders_pk PRIMARY KEY (order_id, user_id);
SELECT steward.migration_start('r294_by_user', $$[
  {"relayout": {"table": "r294.orders", "partition_by": "HASH (user_id)", "partitions": 2}}
]$$);
INSERT INTO r294.orders VALUES (101, 2, 'new');
UPDATE r294.orders SET status = 'shipped' WHERE order_id = 2;
SELECT order_id, status FROM r294.orders_relayout_new WHERE order_id IN (2, 101) ORDER BY order_id;
SELECT steward.migration_rollback('r294_by_user');
CREATE TEMP TABLE gone AS SELECT 'r294_by_user'::text AS name;
\i test/sql/drop_migration_records.sql
DROP SCHEMA r294 CASCADE;
