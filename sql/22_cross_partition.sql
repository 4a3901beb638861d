-- Issue 12 item 1: an UPDATE that moves a row to another partition (run by
-- the executor as a delete plus an insert) follows the update rules exactly
-- like one that stays: versions, sequences, state edges, changed_at.
\set SHOW_CONTEXT never

-- The issue's input.
CREATE TABLE accounts (region text NOT NULL, id bigint NOT NULL, balance numeric DEFAULT 0, version bigint,
  PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE accounts_eu PARTITION OF accounts FOR VALUES IN ('eu') USING steward;
CREATE TABLE accounts_us PARTITION OF accounts FOR VALUES IN ('us') USING steward;
SELECT steward.track_versions('accounts', 'version');
INSERT INTO accounts (region, id) VALUES ('eu', 1), ('eu', 2);
UPDATE accounts SET balance = 10 WHERE id = 1; UPDATE accounts SET balance = 20 WHERE id = 1;
SELECT region, id, version FROM accounts ORDER BY id;
UPDATE accounts SET region = 'us', version = 1 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE accounts SET region = 'us' WHERE id = 2;
SELECT tableoid::regclass AS part, region, id, balance, version FROM accounts ORDER BY id;

-- The other values, as for a row that stays: the version read, the next
-- version, version + 1, a version ahead, NULL.
UPDATE accounts SET region = 'us', version = 3 WHERE id = 1 RETURNING region, version;
UPDATE accounts SET region = 'eu', version = 5 WHERE id = 1 RETURNING region, version;
UPDATE accounts SET region = 'eu', version = version + 1 WHERE id = 1 RETURNING region, version;
UPDATE accounts SET region = 'us', version = 9 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE accounts SET region = 'us', version = NULL WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT tableoid::regclass AS part, region, id, version FROM accounts ORDER BY id;

-- MERGE moves rows the same way.
MERGE INTO accounts a USING (VALUES (2::bigint)) v(id) ON a.id = v.id
  WHEN MATCHED THEN UPDATE SET region = 'eu', version = 1;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO accounts a USING (VALUES (2::bigint)) v(id) ON a.id = v.id
  WHEN MATCHED THEN UPDATE SET region = 'eu';
SELECT tableoid::regclass AS part, region, id, version FROM accounts ORDER BY id;

-- session_replication_role = replica stores the moved row as sent.
SET session_replication_role = replica;
UPDATE accounts SET region = 'us', version = 1 WHERE id = 2;
RESET session_replication_role;
SELECT tableoid::regclass AS part, region, id, version FROM accounts ORDER BY id;

-- Partitions that number their columns differently (a dropped column, a
-- different order), a state machine with changed_at, int2 and int4
-- sequences.
SELECT steward.create_state_machine('move_status',
    ARRAY['created', 'paid', 'shipped', 'refunded'], ARRAY['created'],
    ARRAY['created->paid', 'paid->shipped', 'paid->refunded']);
CREATE TABLE shipments (region text NOT NULL, id int NOT NULL, status text NOT NULL DEFAULT 'created',
    changed timestamptz, seq2 int2, seq4 int4, version bigint,
    PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE shipments_eu PARTITION OF shipments FOR VALUES IN ('eu') USING steward;
CREATE TABLE shipments_us (gone int, version bigint, seq4 int4, seq2 int2, changed timestamptz,
    status text NOT NULL DEFAULT 'created', id int NOT NULL, region text NOT NULL) USING steward;
ALTER TABLE shipments_us DROP COLUMN gone;
ALTER TABLE shipments ATTACH PARTITION shipments_us FOR VALUES IN ('us');
SELECT attrelid::regclass, attnum, attname FROM pg_attribute
 WHERE attrelid IN ('shipments_eu'::regclass, 'shipments_us'::regclass)
   AND attname IN ('status', 'version', 'seq2') ORDER BY 1, 2;
SELECT steward.track_versions('shipments', 'version');
SELECT steward.track_sequence('shipments', 'seq2');
SELECT steward.track_sequence('shipments', 'seq4');
SELECT steward.attach_state_machine('shipments', 'status', 'move_status', 'changed');
INSERT INTO shipments (region, id, seq2, seq4) VALUES ('eu', 1, 10, 100), ('us', 2, 10, 100);
-- A known changed_at to compare with (only a replica may write it: the
-- rows are stored as sent, so the version is bumped by hand).
SET session_replication_role = replica;
UPDATE shipments SET changed = '2000-01-01', version = version + 1;
RESET session_replication_role;
-- A move that keeps the state does not stamp changed_at; one that changes
-- it along an edge does; an illegal edge is refused.
UPDATE shipments SET region = 'us' WHERE id = 1
RETURNING tableoid::regclass AS part, status, changed, seq2, seq4, version;
UPDATE shipments SET region = 'eu', status = 'paid' WHERE id = 1
RETURNING tableoid::regclass AS part, status, changed = statement_timestamp() AS stamped, version;
UPDATE shipments SET region = 'us', status = 'created' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE shipments SET region = 'eu', status = 'delivered' WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
-- A row in a non-initial state may move (it is not a new row).
UPDATE shipments SET region = 'us', status = 'shipped' WHERE id = 1
RETURNING tableoid::regclass AS part, status, version;
-- Sequences: lower refused, equal and higher allowed, in both directions.
UPDATE shipments SET region = 'eu', seq2 = 9 WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
UPDATE shipments SET region = 'us', seq4 = 99 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE

-- The errors of a move name the partition the row leaves, the row's key
-- and the column there, as for an update that stays (issue 18 review: they
-- named the partition the row enters, with a key it never held), and are
-- counted there.  shipments_us numbers its columns otherwise: the column
-- an error points to is mapped back.
CREATE FUNCTION move_error(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m text;
    t text;
    c text;
BEGIN
    EXECUTE stmt;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, t = TABLE_NAME, c = COLUMN_NAME;
    RETURN format('%s [table %s, column %s]', m, t, c);
END $$;
SELECT move_error($$UPDATE shipments SET region = 'eu', seq2 = 9 WHERE id = 2$$);
SELECT move_error($$UPDATE shipments SET region = 'eu', version = 1 WHERE id = 2$$);
SELECT move_error($$UPDATE shipments SET region = 'eu', version = 9 WHERE id = 2$$);
SELECT move_error($$UPDATE shipments SET region = 'eu', version = NULL WHERE id = 2$$);
SELECT move_error($$UPDATE shipments SET region = 'eu', status = 'shipped' WHERE id = 2$$);
SELECT move_error($$UPDATE shipments SET region = 'eu', status = 'lost' WHERE id = 2$$);
-- The same updates staying in the partition: the same names.
SELECT move_error($$UPDATE shipments SET seq2 = 9 WHERE id = 2$$);
SELECT move_error($$UPDATE shipments SET version = 1 WHERE id = 2$$);
SELECT move_error($$UPDATE shipments SET status = 'shipped' WHERE id = 2$$);
UPDATE shipments SET region = 'eu', seq2 = 10, seq4 = 101 WHERE id = 2
RETURNING tableoid::regclass AS part, seq2, seq4, version;
SELECT tableoid::regclass AS part, region, id, status, seq2, seq4, version FROM shipments ORDER BY id;

-- A BEFORE trigger on the new partition that skips the insert (PostgreSQL
-- then only deletes the row): nothing of the unfinished move leaks into the
-- next statement's insert.
CREATE FUNCTION drop_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER drop_row BEFORE INSERT ON shipments_us FOR EACH ROW EXECUTE FUNCTION drop_row();
UPDATE shipments SET region = 'us' WHERE id = 2;
DROP TRIGGER drop_row ON shipments_us;
INSERT INTO shipments (region, id) VALUES ('us', 3) RETURNING status, version;
SELECT tableoid::regclass AS part, region, id, status, version FROM shipments ORDER BY id;

SELECT relid, version_conflicts, invalid_versions, sequence_rejects, illegal_transitions
  FROM steward.table_counters() WHERE relid::text ~ '^(accounts|shipments)' ORDER BY relid::text;

-- Two levels of partitions: the leaf the row leaves.
CREATE TABLE nested (region text NOT NULL, id int NOT NULL, version bigint,
    PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE nested_eu PARTITION OF nested FOR VALUES IN ('eu') PARTITION BY RANGE (id);
CREATE TABLE nested_eu_low PARTITION OF nested_eu FOR VALUES FROM (0) TO (100) USING steward;
CREATE TABLE nested_us PARTITION OF nested FOR VALUES IN ('us') USING steward;
SELECT steward.track_versions('nested', 'version');
INSERT INTO nested (region, id) VALUES ('eu', 1);
SELECT move_error($$UPDATE nested SET region = 'us', version = 7 WHERE id = 1$$);
SELECT move_error($$UPDATE nested_eu SET id = 1, version = 7 WHERE id = 1$$);
UPDATE nested SET region = 'us' WHERE id = 1 RETURNING tableoid::regclass AS part, version;
DROP TABLE nested;

DROP TABLE accounts, shipments;
DROP FUNCTION drop_row();
DROP FUNCTION move_error(text);
SELECT steward.drop_state_machine('move_status');
