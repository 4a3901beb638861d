-- Optimistic versions: INSERT/COPY/UPDATE rules, messages, counters.
CREATE TABLE orders (
    order_id     bigint PRIMARY KEY,
    user_id      bigint NOT NULL,
    status       text NOT NULL,
    total_amount numeric(12,2),
    version      bigint
) USING steward;
SELECT steward.track_versions('orders', 'version');

-- INSERT: NULL becomes 1, a supplied value >= 1 is kept.
INSERT INTO orders VALUES (1, 10, 'new', 10.00, NULL);
INSERT INTO orders (order_id, user_id, status) VALUES (2, 10, 'new');
INSERT INTO orders VALUES (3, 11, 'new', 5.00, 42);
SELECT order_id, version FROM orders ORDER BY order_id;

-- A supplied version below 1 is refused.
INSERT INTO orders VALUES (4, 11, 'new', 1.00, 0);
INSERT INTO orders VALUES (4, 11, 'new', 1.00, -7);
\echo :LAST_ERROR_SQLSTATE

-- COPY goes through multi_insert: same rules.
COPY orders FROM stdin;
5	12	new	1.00	\N
6	12	new	2.00	9
\.
SELECT order_id, version FROM orders WHERE order_id IN (5, 6) ORDER BY order_id;
COPY orders FROM stdin;
7	12	new	1.00	0
\.
SELECT count(*) AS rows_after_failed_copy FROM orders;

-- UPDATE leaving the version untouched: stored version + 1; RETURNING sees it.
UPDATE orders SET status = 'paid' WHERE order_id = 1 RETURNING order_id, status, version;

-- Client sends the version it read: stored + 1.
UPDATE orders SET status = 'packed', version = 2 WHERE order_id = 1 RETURNING version;

-- Hibernate / Rails style: SET version = version + 1.
UPDATE orders SET status = 'shipped', version = version + 1 WHERE order_id = 1 RETURNING version;

-- Stale: the client read version 2, the row is at 4.
UPDATE orders SET status = 'cancelled', version = 2 WHERE order_id = 1;
\echo :LAST_ERROR_SQLSTATE
-- The failed update changed nothing.
SELECT status, version FROM orders WHERE order_id = 1;

-- Skipping ahead is invalid input, not a conflict.
UPDATE orders SET version = 6 WHERE order_id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE orders SET version = 5 WHERE order_id = 1 RETURNING version;

-- NULL is not a version.
UPDATE orders SET version = NULL WHERE order_id = 1;
\echo :LAST_ERROR_SQLSTATE

-- Multi-row updates increment each row from its own version.
UPDATE orders SET total_amount = total_amount + 1 WHERE user_id = 12 RETURNING order_id, version;

-- The common optimistic pattern: WHERE version = <read>; a loser updates 0 rows.
UPDATE orders SET status = 'paid', version = version + 1 WHERE order_id = 2 AND version = 1;
UPDATE orders SET status = 'paid', version = version + 1 WHERE order_id = 2 AND version = 1;
SELECT version FROM orders WHERE order_id = 2;

-- INSERT ... ON CONFLICT DO UPDATE runs the update rules on the existing row.
INSERT INTO orders VALUES (3, 11, 'new', 5.00, NULL)
  ON CONFLICT (order_id) DO UPDATE SET status = 'upserted'
  RETURNING order_id, status, version;
INSERT INTO orders VALUES (3, 11, 'new', 5.00, 1)
  ON CONFLICT (order_id) DO UPDATE SET status = 'upserted', version = excluded.version;

-- A BEFORE UPDATE trigger's changes are checked too.
CREATE FUNCTION rewind_version() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN NEW.version := 1; RETURN NEW; END $$;
CREATE TRIGGER rewind BEFORE UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION rewind_version();
UPDATE orders SET status = 'x' WHERE order_id = 3;
DROP TRIGGER rewind ON orders;

-- Version overflow is an error, not a wrap-around.
INSERT INTO orders VALUES (8, 13, 'new', 1.00, 9223372036854775807);
UPDATE orders SET status = 'x' WHERE order_id = 8;
DELETE FROM orders WHERE order_id = 8;

-- Under session_replication_role = replica values are stored as sent.
SET session_replication_role = replica;
INSERT INTO orders VALUES (9, 14, 'new', 1.00, 0);
UPDATE orders SET version = 3 WHERE order_id = 9;
UPDATE orders SET version = 1 WHERE order_id = 9;
RESET session_replication_role;
SELECT version FROM orders WHERE order_id = 9;

-- A row stored without a version (replica apply) starts afresh.
SET session_replication_role = replica;
UPDATE orders SET version = NULL WHERE order_id = 9;
RESET session_replication_role;
UPDATE orders SET status = 'x' WHERE order_id = 9 RETURNING version;

-- Without a primary key, the error names no key.
CREATE TABLE nokey (v bigint, note text) USING steward;
SELECT steward.track_versions('nokey', 'v');
INSERT INTO nokey VALUES (NULL, 'a');
UPDATE nokey SET note = 'b' RETURNING v;
UPDATE nokey SET v = 1;

-- A composite key is shown in index order.
CREATE TABLE items (order_id bigint, item_id int, qty int, version bigint,
                    PRIMARY KEY (order_id, item_id)) USING steward;
SELECT steward.track_versions('items', 'version');
INSERT INTO items VALUES (1, 1, 1, NULL), (1, 2, 1, NULL);
UPDATE items SET qty = 2 WHERE item_id = 2;
UPDATE items SET qty = 3, version = 1 WHERE item_id = 2;

-- Counters: conflicts and invalid versions per table, since server start.
SELECT relid, version_conflicts, invalid_versions, sequence_rejects
  FROM steward.table_counters()
 WHERE relid IN ('orders'::regclass, 'nokey'::regclass, 'items'::regclass)
 ORDER BY relid::text;

-- Untracked tables are plain heap tables.
SELECT steward.untrack('orders', 'version');
UPDATE orders SET version = 1 WHERE order_id = 1 RETURNING version;

DROP TABLE orders, nokey, items;
DROP FUNCTION rewind_version();
