-- steward.state_counts is maintained, not counted on every read (issue 18
-- section 2): the first read counts a table once (the seed), then every
-- committed write keeps the counts exact; reads are O(states).  After
-- every kind of write, the counts must equal count(*) ... GROUP BY.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;   -- when run alone
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT steward.create_state_machine('sc_order', ARRAY['new', 'paid', 'shipped', 'void'],
                                    ARRAY['new'],
                                    ARRAY['new->paid', 'paid->shipped', 'new->void', 'paid->void']);

-- true when state_counts agrees with a full count of the table.
CREATE FUNCTION sc_right(t regclass) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    ok boolean;
BEGIN
    EXECUTE format(
        'SELECT NOT EXISTS ((SELECT status, count(*) FROM %1$s GROUP BY 1
                             EXCEPT SELECT state, rows FROM steward.state_counts WHERE relid = %2$L::regclass)
                            UNION ALL
                            (SELECT state, rows FROM steward.state_counts WHERE relid = %2$L::regclass
                             EXCEPT SELECT status, count(*) FROM %1$s GROUP BY 1))', t, t) INTO ok;
    RETURN ok;
END
$$;

CREATE TABLE sc_orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new', note text)
    USING steward;
INSERT INTO sc_orders (id) SELECT g FROM generate_series(1, 1000) g;
SELECT steward.attach_state_machine('sc_orders', 'status', 'sc_order');
SELECT state, rows FROM steward.state_counts WHERE relid = 'sc_orders'::regclass;   -- the seed

UPDATE sc_orders SET status = 'paid' WHERE id <= 300;
UPDATE sc_orders SET note = 'x' WHERE id <= 500;                 -- no state change
SELECT sc_right('sc_orders') AS after_updates;
DELETE FROM sc_orders WHERE id > 900;
SELECT sc_right('sc_orders') AS after_delete;
INSERT INTO sc_orders (id) VALUES (2000), (2001);
COPY sc_orders (id, status) FROM stdin;
3000	paid
3001	shipped
\.
SELECT sc_right('sc_orders') AS after_insert_and_copy;

-- Rolled back: nothing counts.  A rolled back savepoint: its part does not.
BEGIN;
UPDATE sc_orders SET status = 'void' WHERE id <= 100;
DELETE FROM sc_orders WHERE id BETWEEN 500 AND 600;
ROLLBACK;
SELECT sc_right('sc_orders') AS after_rollback;
BEGIN;
UPDATE sc_orders SET status = 'shipped' WHERE id <= 50;
SAVEPOINT s1;
UPDATE sc_orders SET status = 'shipped' WHERE id BETWEEN 51 AND 100;
INSERT INTO sc_orders (id) SELECT g FROM generate_series(4000, 4009) g;
ROLLBACK TO s1;
SAVEPOINT s2;
DELETE FROM sc_orders WHERE id BETWEEN 700 AND 709;
RELEASE s2;
-- Inside the transaction: its own changes count, as count(*) sees them.
SELECT sc_right('sc_orders') AS inside_transaction;
COMMIT;
SELECT sc_right('sc_orders') AS after_savepoints;
-- A statement that fails leaves nothing behind.
UPDATE sc_orders SET status = 'new' WHERE id = 1;             -- shipped -> new: refused
INSERT INTO sc_orders (id) VALUES (1);                        -- duplicate key
SELECT sc_right('sc_orders') AS after_errors;

-- INSERT ... ON CONFLICT: only the rows that went in count.
INSERT INTO sc_orders (id) VALUES (1), (5000) ON CONFLICT DO NOTHING;
INSERT INTO sc_orders (id, note) VALUES (200, 'y'), (5001, 'y')
    ON CONFLICT (id) DO UPDATE SET status = 'void', note = excluded.note;
SELECT sc_right('sc_orders') AS after_on_conflict;
-- MERGE.
MERGE INTO sc_orders o USING (VALUES (250, 'void'), (6000, 'new')) v(id, status) ON o.id = v.id
WHEN MATCHED THEN UPDATE SET status = v.status
WHEN NOT MATCHED THEN INSERT (id, status) VALUES (v.id, v.status);
SELECT sc_right('sc_orders') AS after_merge;

-- Reading does not scan the table any more.
SELECT pg_stat_force_next_flush();
CREATE TEMP TABLE sc_scans AS
    SELECT seq_scan, idx_scan FROM pg_stat_user_tables WHERE relname = 'sc_orders';
SELECT count(*) > 0 FROM steward.state_counts WHERE relid = 'sc_orders'::regclass;
SELECT count(*) > 0 FROM steward.state_counts WHERE relid = 'sc_orders'::regclass;
SELECT count(*) > 0 FROM steward.state_counts WHERE relid = 'sc_orders'::regclass;
SELECT pg_stat_force_next_flush();
\o /dev/null
SELECT 1;
\o
SELECT s.seq_scan = b.seq_scan AND s.idx_scan = b.idx_scan AS reads_scan_nothing
  FROM pg_stat_user_tables s, sc_scans b WHERE s.relname = 'sc_orders';

-- TRUNCATE, rewrites and other DDL count the table again.
TRUNCATE sc_orders;
SELECT count(*) AS rows_after_truncate FROM steward.state_counts WHERE relid = 'sc_orders'::regclass;
INSERT INTO sc_orders (id) SELECT g FROM generate_series(1, 10) g;
ALTER TABLE sc_orders ADD COLUMN extra int DEFAULT 7;
UPDATE sc_orders SET status = 'paid' WHERE id <= 4;
SELECT state, rows FROM steward.state_counts WHERE relid = 'sc_orders'::regclass;
BEGIN;
TRUNCATE sc_orders;
INSERT INTO sc_orders (id) VALUES (1);
ROLLBACK;
SELECT sc_right('sc_orders') AS after_truncate_rolled_back;

-- Rows stored as sent (logical replication apply) need not follow the
-- rules: the counts are taken again at the next read, and stay right.
SET session_replication_role = replica;
UPDATE sc_orders SET status = 'shipped' WHERE id = 10;
INSERT INTO sc_orders (id, status) VALUES (20, 'void');
RESET session_replication_role;
SELECT sc_right('sc_orders') AS after_replica_writes;

-- Another machine on the column: counted again with its states.
SELECT steward.detach_state_machine('sc_orders', 'status');
SELECT steward.create_state_machine('sc_simple', ARRAY['new', 'paid', 'shipped', 'void', 'lost'],
                                    ARRAY['new'], ARRAY['new->lost']);
SELECT steward.attach_state_machine('sc_orders', 'status', 'sc_simple');
UPDATE sc_orders SET status = 'lost' WHERE id = 5;
SELECT sc_right('sc_orders') AS after_new_machine;

-- Partitions: each is counted and maintained; rows moving between
-- partitions (a cross-partition UPDATE) leave one and enter the other.
CREATE TABLE sc_parted (region text NOT NULL, id int NOT NULL, status text NOT NULL DEFAULT 'new',
                        PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE sc_parted_eu PARTITION OF sc_parted FOR VALUES IN ('eu') USING steward;
CREATE TABLE sc_parted_us PARTITION OF sc_parted FOR VALUES IN ('us') USING steward;
SELECT steward.attach_state_machine('sc_parted', 'status', 'sc_order');
INSERT INTO sc_parted (region, id) SELECT CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g
  FROM generate_series(1, 100) g;
SELECT state, rows FROM steward.state_counts WHERE relid = 'sc_parted'::regclass;
UPDATE sc_parted SET region = 'us', status = 'paid' WHERE region = 'eu' AND id <= 20;
DELETE FROM sc_parted WHERE id > 90;
SELECT sc_right('sc_parted') AS partitioned;
SELECT state, rows FROM steward.state_counts WHERE relid = 'sc_parted'::regclass;

-- Temporary tables take no state machine (review15 R15-3; regress 117).
CREATE TEMP TABLE sc_temp (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('sc_temp', 'status', 'sc_order');

DROP TABLE sc_orders, sc_parted, sc_temp;
SELECT steward.drop_state_machine('sc_order');
SELECT steward.drop_state_machine('sc_simple');
DROP FUNCTION sc_right(regclass);
