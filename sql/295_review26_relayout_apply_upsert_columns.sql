-- review26 R5, R6 (R3 below): a relayout's apply trigger writes the other layout
-- with INSERT ... ON CONFLICT (key) DO UPDATE SET <columns>.
-- R6: the SET list named a GENERATED ALWAYS identity column outside the
-- key, which an UPDATE (ON CONFLICT's too) may set only to DEFAULT: from
-- start on, every INSERT and UPDATE of the table failed with 428C9
-- "column ... can only be updated to DEFAULT" until a rollback.
-- R5: the SET list left the key's columns out, so a key value equal to
-- the row's under the key's collation but spelled otherwise ('Alice' ->
-- 'alice' under a case-insensitive collation) never reached the other
-- layout: validation failed for ever, and after complete a rollback gave
-- the old spelling back.  Now the upsert sets every column but GENERATED
-- ALWAYS identity ones, the key's included.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r295;

-- R6: a GENERATED ALWAYS identity column outside the key.
CREATE TABLE r295.events (id bigint PRIMARY KEY, seq bigint GENERATED ALWAYS AS IDENTITY,
                          body text) USING steward;
INSERT INTO r295.events (id, body) SELECT g, 'e' || g FROM generate_series(1, 10) g;
SELECT steward.migration_start('r295_events', $$[
  {"relayout": {"table": "r295.events", "partition_by": "HASH (id)", "partitions": 2}}
]$$);
-- The application writes (before: 428C9 for the INSERT and the UPDATE).
INSERT INTO r295.events (id, body) VALUES (100, 'new');
UPDATE r295.events SET body = 'changed' WHERE id = 1;
DELETE FROM r295.events WHERE id = 2;
CALL steward.migration_backfill('r295_events');
SELECT id, seq, body FROM r295.events_relayout_new WHERE id IN (1, 2, 100) ORDER BY id;
SELECT "check", passed FROM steward.migration_validate('r295_events')
 WHERE "check" NOT LIKE 'partition %' AND "check" NOT LIKE 'distribution %' ORDER BY 1;
SELECT steward.migration_complete('r295_events');
-- The other way, into the old layout, after the cutover.
UPDATE r295.events SET body = 'after' WHERE id = 3;
INSERT INTO r295.events (id, body) VALUES (101, 'newer');
SELECT id, body FROM r295.events_relayout_old WHERE id IN (3, 101) ORDER BY id;
SELECT steward.migration_cleanup('r295_events');

-- R5: a case-only change of a key column under a case-insensitive
-- collation.
CREATE COLLATION r295.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE r295.users (email text COLLATE r295.ci, tenant int, name text,
                         PRIMARY KEY (email, tenant)) USING steward;
INSERT INTO r295.users VALUES ('Alice@Example.com', 1, 'alice'), ('bob@example.com', 2, 'bob');
SELECT steward.migration_start('r295_users', $$[
  {"relayout": {"table": "r295.users", "partition_by": "HASH (tenant)", "partitions": 2}}
]$$);
CALL steward.migration_backfill('r295_users');
UPDATE r295.users SET email = 'alice@example.com' WHERE tenant = 1;
-- Before: the new layout kept 'Alice@Example.com' and "values" failed.
SELECT email::text FROM r295.users_relayout_new WHERE tenant = 1;
SELECT "check", passed FROM steward.migration_validate('r295_users')
 WHERE "check" NOT LIKE 'partition %' AND "check" NOT LIKE 'distribution %' ORDER BY 1;
SELECT steward.migration_complete('r295_users');
-- After the cutover, into the old layout: a rollback gives the new spelling.
UPDATE r295.users SET email = 'BOB@EXAMPLE.COM' WHERE tenant = 2;
SELECT steward.migration_rollback('r295_users');
SELECT email::text, tenant FROM r295.users ORDER BY tenant;

-- R3: a stored generated column.  The new layout is made INCLUDING
-- GENERATED and the copies leave such columns out, but start refused
-- every table with one (2BP01 "default value for column total of table
-- r295.lines depends on relation r295.lines"): its expression's
-- dependency on its own table's columns was taken for an object the
-- cleanup could not drop.  A default naming the table itself
-- ('r295.lines'::regclass) is still refused.
CREATE TABLE r295.lines (id bigint PRIMARY KEY, qty int NOT NULL, price numeric NOT NULL,
                         total numeric GENERATED ALWAYS AS (qty * price) STORED) USING steward;
INSERT INTO r295.lines (id, qty, price) SELECT g, g, 1.5 FROM generate_series(1, 10) g;
ALTER TABLE r295.lines ADD COLUMN src regclass DEFAULT 'r295.lines'::regclass;
SELECT steward.migration_start('r295_lines', $$[
  {"relayout": {"table": "r295.lines", "partition_by": "HASH (id)", "partitions": 2}}
]$$);
ALTER TABLE r295.lines DROP COLUMN src;
SELECT steward.migration_start('r295_lines', $$[
  {"relayout": {"table": "r295.lines", "partition_by": "HASH (id)", "partitions": 2}}
]$$);
INSERT INTO r295.lines (id, qty, price) VALUES (100, 3, 2);
UPDATE r295.lines SET qty = 7 WHERE id = 1;
CALL steward.migration_backfill('r295_lines');
SELECT id, qty, total FROM r295.lines_relayout_new WHERE id IN (1, 2, 100) ORDER BY id;
SELECT "check", passed FROM steward.migration_validate('r295_lines')
 WHERE "check" NOT LIKE 'partition %' AND "check" NOT LIKE 'distribution %' ORDER BY 1;
SELECT steward.migration_complete('r295_lines');
UPDATE r295.lines SET price = 10 WHERE id = 2;
SELECT steward.migration_cleanup('r295_lines');
SELECT id, qty, total FROM r295.lines WHERE id IN (1, 2, 100) ORDER BY id;
SELECT relkind FROM pg_class WHERE oid = 'r295.lines'::regclass;

CREATE TEMP TABLE gone AS SELECT unnest(ARRAY['r295_events', 'r295_users', 'r295_lines']) AS name;
\i test/sql/drop_migration_records.sql
DROP SCHEMA r295 CASCADE;
