-- Monotonic sequences for out-of-order events.
CREATE TABLE shipments (
    shipment_id int PRIMARY KEY,
    status      text,
    event_seq   bigint,
    small_seq   smallint,
    int_seq     integer
) USING steward;
SELECT steward.track_sequence('shipments', 'event_seq');
SELECT steward.track_sequence('shipments', 'small_seq');
SELECT steward.track_sequence('shipments', 'int_seq');

-- Inserts take any value, NULL included.
INSERT INTO shipments VALUES (1, 'created', 5, 5, 5), (2, 'created', NULL, NULL, NULL);

-- Higher: applied.  Equal: applied (re-applying the same event).
UPDATE shipments SET status = 'picked', event_seq = 7 WHERE shipment_id = 1;
UPDATE shipments SET status = 'picked', event_seq = 7 WHERE shipment_id = 1;
-- Untouched: applied.
UPDATE shipments SET status = 'picked again' WHERE shipment_id = 1;
SELECT status, event_seq FROM shipments WHERE shipment_id = 1;

-- Lower: refused with 40001, nothing changes.
UPDATE shipments SET status = 'created', event_seq = 6 WHERE shipment_id = 1;
UPDATE shipments SET small_seq = 4 WHERE shipment_id = 1;
UPDATE shipments SET int_seq = -1 WHERE shipment_id = 1;
SELECT status, event_seq, small_seq, int_seq FROM shipments WHERE shipment_id = 1;

-- NULL stored: anything goes.  NULL over a value: refused.
UPDATE shipments SET event_seq = 1 WHERE shipment_id = 2;
UPDATE shipments SET event_seq = NULL WHERE shipment_id = 2;

-- Error fields for clients: SQLSTATE 40001 lets drivers treat it as a retry
-- decision; here the caller discards the event.
UPDATE shipments SET event_seq = 0 WHERE shipment_id = 1;
\echo :LAST_ERROR_SQLSTATE

-- The typical event applier: only newer events are applied.
UPDATE shipments SET status = 'delivered', event_seq = 9
 WHERE shipment_id = 1 AND event_seq <= 9;
UPDATE shipments SET status = 'late event', event_seq = 8
 WHERE shipment_id = 1 AND event_seq <= 8;
SELECT status, event_seq FROM shipments WHERE shipment_id = 1;

-- Versions and sequences together.
ALTER TABLE shipments ADD COLUMN version bigint;
-- Its rows hold no version yet (NULL): refused until they do (review25 W1).
SELECT steward.track_versions('shipments', 'version');
UPDATE shipments SET version = 1 WHERE version IS NULL OR version < 1;
SELECT steward.track_versions('shipments', 'version');
UPDATE shipments SET event_seq = 10 WHERE shipment_id = 1 RETURNING event_seq, version;
UPDATE shipments SET event_seq = 3 WHERE shipment_id = 1;

SELECT relid, sequence_rejects FROM steward.table_counters()
 WHERE relid = 'shipments'::regclass;

SELECT relid, column_name, kind, data_type, enforced
  FROM steward.tracked_columns WHERE relid = 'shipments'::regclass
 ORDER BY column_name;

DROP TABLE shipments;
SELECT count(*) AS rules_left FROM steward.column_rules
 WHERE relid <> 'steward.migration_runs'::regclass;   -- pg_steward's own rule stays
