-- Capacity planning, verify(), checksum ranges, read-your-writes tokens.
\set SHOW_CONTEXT never

-- The guide's worked example: 500 w/s, 1 KB rows, 1.5x indexes, 3 copies,
-- 30 days, 10% working set.
SELECT writes_per_day, raw_bytes_per_day, with_indexes_bytes_per_day,
       replicated_bytes_per_day, retained_bytes, working_set_bytes
  FROM steward.capacity_estimate(500, 1000, 1.5, 3, 30, 0.10);
SELECT * FROM steward.capacity_report(500, 1000, 1.5, 3, 30, 0.10);
SELECT implications FROM steward.capacity_estimate(500, 1000, 1.5, 3, 30, 0.10);
-- Argument errors.
SELECT * FROM steward.capacity_estimate(-500, 1000, 1.5, 3, 30, 0.10);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward.capacity_estimate(500, 0, 1.5, 3, 30, 0.10);
SELECT * FROM steward.capacity_estimate(500, 1000, 0.5, 3, 30, 0.10);
SELECT * FROM steward.capacity_estimate(500, 1000, 1.5, 0, 30, 0.10);
SELECT * FROM steward.capacity_estimate(500, 1000, 1.5, 3, 0, 0.10);
SELECT * FROM steward.capacity_estimate(500, 1000, 1.5, 3, 30, 1.5);
SELECT * FROM steward.capacity_estimate(1e12, 1000, 1.5, 3, 30, 0.1);
SELECT * FROM steward.capacity_estimate(NULL, 1000, 1.5, 3, 30, 0.1);
\echo :LAST_ERROR_SQLSTATE

-- verify() on healthy tables.
CREATE TABLE ord (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new', version bigint) USING steward;
CREATE TABLE items (ord_id int REFERENCES ord, n int, sku text, PRIMARY KEY (ord_id, n),
    CONSTRAINT items_sku EXCLUDE USING steward_hash (sku WITH =)) USING steward;
SELECT steward.track_versions('ord', 'version');
SELECT steward.attach_state_machine('ord', 'status', 'data_lifecycle');
INSERT INTO ord (id) SELECT g FROM generate_series(1, 200) g;
INSERT INTO items SELECT g, 1, 'sku-' || g FROM generate_series(1, 200) g;
SELECT "check", passed, CASE WHEN "check" = 'checksum' THEN 'x' ELSE detail END AS detail
  FROM steward.verify('ord');
SELECT "check", passed, CASE WHEN "check" = 'checksum' THEN 'x' ELSE detail END AS detail
  FROM steward.verify('items');
-- The checksum does not depend on row order, and changes with any value.
SELECT detail AS before FROM steward.verify('ord') WHERE "check" = 'checksum' \gset
CLUSTER ord USING ord_pkey;
SELECT detail = :'before' AS same_after_cluster FROM steward.verify('ord') WHERE "check" = 'checksum';
UPDATE ord SET status = 'pending_backfill' WHERE id = 1;
SELECT detail <> :'before' AS changed FROM steward.verify('ord') WHERE "check" = 'checksum';

-- Injected faults.
SET session_replication_role = replica;
DELETE FROM ord WHERE id = 5;                         -- a child loses its parent
UPDATE ord SET status = 'teleported' WHERE id = 6;    -- an undeclared state
UPDATE ord SET version = 0 WHERE id = 7;              -- a version below 1
RESET session_replication_role;
-- A duplicate slipped in while the constraint's index was not maintained.
UPDATE pg_index SET indisready = false WHERE indexrelid = 'items_sku'::regclass;
INSERT INTO items VALUES (8, 2, 'sku-8');
UPDATE pg_index SET indisready = true WHERE indexrelid = 'items_sku'::regclass;
SELECT "check", passed, detail FROM steward.verify('ord') WHERE NOT passed;
SELECT "check", passed, detail FROM steward.verify('items') WHERE NOT passed;

-- Checksum ranges: the same keys land in the same bucket in every copy.
CREATE TABLE ord_copy (LIKE ord);
INSERT INTO ord_copy SELECT * FROM ord;
SELECT count(*) AS buckets, sum(rows) AS rows FROM steward.checksum_ranges('ord', 'id', 8);
SELECT count(*) AS differing_buckets
  FROM steward.checksum_ranges('ord', 'id', 8) a
  FULL JOIN steward.checksum_ranges('ord_copy', 'id', 8) b USING (bucket)
 WHERE a.checksum IS DISTINCT FROM b.checksum OR a.rows IS DISTINCT FROM b.rows;
UPDATE ord_copy SET status = 'validated' WHERE id = 42;
SELECT count(*) AS differing_buckets
  FROM steward.checksum_ranges('ord', 'id', 8) a
  FULL JOIN steward.checksum_ranges('ord_copy', 'id', 8) b USING (bucket)
 WHERE a.checksum IS DISTINCT FROM b.checksum OR a.rows IS DISTINCT FROM b.rows;
SELECT * FROM steward.checksum_ranges('ord', 'nope', 8);
SELECT * FROM steward.checksum_ranges('ord', 'id', 0);

-- Measured capacity: samples of sizes and write counters (the purge
-- worker takes them every steward.capacity_sample_interval).
CREATE TABLE grow (id int PRIMARY KEY, pad text) USING steward;
SELECT steward.capacity_sample();
INSERT INTO grow SELECT g, repeat('x', 100) FROM generate_series(1, 5000) g;
ANALYZE grow;
SELECT pg_stat_force_next_flush();
SELECT pg_sleep(0.2);
SELECT steward.capacity_sample();
SELECT steward.set_retention('grow', interval '90 days');
-- 0.2 projects growth only from steward.capacity_min_history (1h) of
-- samples; this test measures over a fraction of a second.
SET steward.capacity_min_history = 0;
SELECT relid, writes_per_sec > 0 AS writes_measured, avg_row_bytes BETWEEN 100 AND 400 AS row_width_ok,
       index_overhead >= 1 AS overhead_ok, replication_factor, retention,
       growth_bytes_per_day > 0 AS grows, days_until_full > 0 AS runway, recommendation IS NOT NULL AS advised
  FROM steward.capacity WHERE relid = 'grow'::regclass;
SELECT count(*) AS database_rows FROM steward.capacity WHERE relid IS NULL;
SET steward.replication_factor = 3;
SELECT replication_factor FROM steward.capacity WHERE relid = 'grow'::regclass;
RESET steward.replication_factor;
-- The runway check reads the database row of steward.capacity and its
-- thresholds drive the status (lower is worse).
SELECT "check", value = (SELECT round(days_until_full::numeric, 4) FROM steward.capacity
                          WHERE relid IS NULL) AS value_from_capacity
  FROM steward.health WHERE "check" = 'capacity_runway_days';
SET steward.health_runway_warn = '1000000d';
SET steward.health_runway_critical = 0;
SELECT status FROM steward.health WHERE "check" = 'capacity_runway_days';
SET steward.health_runway_critical = '1000000d';
SELECT status FROM steward.health WHERE "check" = 'capacity_runway_days';
RESET steward.health_runway_warn;
RESET steward.health_runway_critical;
RESET steward.capacity_min_history;
SELECT steward.set_retention('grow', interval '-1 day');
SELECT steward.set_retention('grow', NULL);
SELECT count(*) FROM steward.table_retention;
DROP TABLE grow;

-- Read-your-writes tokens: "TLI/LSN".  A primary has every write of its own
-- timeline up to where it has written, and nothing beyond.
SELECT steward.write_token() IS NOT NULL AS has_token;
SELECT steward.write_token() AS token \gset
SELECT :'token' ~ '^[1-9][0-9]*/[0-9A-F]+/[0-9A-F]+$' AS token_format,
       split_part(:'token', '/', 1)::int = (SELECT timeline_id FROM pg_control_checkpoint()) AS on_this_timeline,
       substr(:'token', strpos(:'token', '/') + 1)::pg_lsn <= pg_current_wal_insert_lsn() AS written;
SELECT steward.replica_caught_up(:'token');
CALL steward.wait_for_token(:'token', 100);
CALL steward.wait_for_token(NULL, 100);
SELECT steward.replica_caught_up(NULL);
BEGIN;
CALL steward.wait_for_token(:'token', 100);
ROLLBACK;
CALL steward.wait_for_token(:'token', -1);
-- Issue 20: a token beyond what this primary has written, or from a
-- timeline it never had, names a write it does not have: an error at once
-- (no waiting), false from replica_caught_up.  A bare LSN is a 0.1 token.
-- (Terse: the DETAIL names this run's WAL position.)
\set VERBOSITY terse
CALL steward.wait_for_token('FFFFFFFF/0', 20);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.replica_caught_up('FFFFFFFF/0');
CALL steward.wait_for_token('1/FFFFFFFF/0', 20);
SELECT steward.replica_caught_up('1/FFFFFFFF/0');
CALL steward.wait_for_token('7/0/1', 20);
SELECT steward.replica_caught_up('7/0/1');
SELECT steward.replica_caught_up('1/0/1') AS old_position_on_this_timeline;
-- Malformed tokens: 22P02.
SELECT steward.replica_caught_up('0/0/1');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.replica_caught_up('x/0/1');
SELECT steward.replica_caught_up('1/0/1/2');
SELECT steward.replica_caught_up('');
CALL steward.wait_for_token('1/zz', 20);
\echo :LAST_ERROR_SQLSTATE
-- A long one is quoted in part (100 kB were echoed whole).
SELECT steward.replica_caught_up(repeat('1/', 50000));
SELECT steward.replica_caught_up(repeat('é', 100));
\set VERBOSITY default

DROP TABLE items, ord, ord_copy;
