-- review10 F4: a backfill that fails on one row names the row's key, the
-- table and the next step (HINT), keeps its internal statement out of the
-- error, and steward.governor_jobs shows the job failed (it said
-- "finished").  F9: drop_index's write cost does not count writes made
-- just before the start (not flushed to the statistics yet).  F10: after a
-- relayout's cleanup the table's owner still sees its earlier migrations.
-- F7: two tables whose names share 50 bytes can be re-laid out at once.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- F4: division by zero on row 1500.
CREATE TABLE bre (id int PRIMARY KEY, a int, b int) USING steward;
INSERT INTO bre SELECT g, g, CASE WHEN g = 1500 THEN 0 ELSE 1 END FROM generate_series(1, 3000) g;
SELECT steward.migration_start('bre_ratio', $$[{"add_column": {"table": "bre", "column": "r", "type": "int", "up": "a / b"}}]$$);
\set VERBOSITY verbose
CALL steward.migration_backfill('bre_ratio', 500);
\set VERBOSITY default
SELECT result, error FROM steward.migrations WHERE name = 'bre_ratio';
SELECT state FROM steward.governor_jobs WHERE label = 'bre_ratio public.bre';
-- Fixing the row (an old-shape write computes it) lets the backfill end.
UPDATE bre SET b = 1 WHERE id = 1500;
CALL steward.migration_backfill('bre_ratio', 500);
SELECT phase, result FROM steward.migrations WHERE name = 'bre_ratio';
SELECT count(*) FROM bre WHERE r IS DISTINCT FROM a / b;
SELECT steward.migration_rollback('bre_ratio');

-- A not_null over existing NULLs: start warns, the failing row is named.
CREATE TABLE brn (k1 text, k2 int, v int, PRIMARY KEY (k1, k2)) USING steward;
INSERT INTO brn SELECT 'x''' || (g % 3), g, CASE WHEN g = 700 THEN NULL ELSE g END FROM generate_series(1, 1000) g;
ANALYZE brn;   -- start warns from the statistics (one NULL in 1000 rows)
SELECT steward.migration_start('brn_m', $$[{"alter_column": {"table": "brn", "column": "v", "type": "bigint", "not_null": true}}]$$);
-- An old-shape write of NULL says which migration refuses it.
INSERT INTO brn VALUES ('y', 1, NULL);
CALL steward.migration_backfill('brn_m');
SELECT steward.migration_rollback('brn_m');

-- governor_end's outcome.
SELECT steward.governor_end(steward.governor_begin('backfill', 'gov outcome'), 'sideways');
SELECT steward.governor_end(steward.governor_begin('backfill', 'gov cancelled'), 'cancelled');
SELECT label, state, finished_at IS NOT NULL AS done FROM steward.governor_jobs
 WHERE label = 'gov cancelled';

-- F9: 10000 inserts in the start's own transaction are not written "since the start".
CREATE TABLE brd (id int PRIMARY KEY, v int) USING steward;
CREATE INDEX brd_v ON brd (v);
BEGIN;
INSERT INTO brd SELECT g, g FROM generate_series(1, 10000) g;
SELECT steward.migration_start('brd_m', $$[{"drop_index": {"name": "brd_v"}}]$$);
COMMIT;
SELECT pg_sleep(1.2);
SELECT detail ~ 'about 0(\.0)? index-entry writes per second' AS no_writes_counted
  FROM steward.migration_validate('brd_m') WHERE "check" = 'write cost public.brd_v';
SELECT steward.migration_rollback('brd_m');

-- F10: the owner sees the earlier migration after the relayout's cleanup.
CREATE ROLE bre_alice;
GRANT CREATE ON SCHEMA public TO bre_alice;
SELECT format('GRANT CREATE ON DATABASE %I TO bre_alice', current_database()) \gexec
SET ROLE bre_alice;
CREATE TABLE bra (id int PRIMARY KEY, v int) USING steward;
INSERT INTO bra SELECT g, g FROM generate_series(1, 200) g;
SELECT steward.migration_start('bra_m', $$[{"alter_column": {"table": "bra", "column": "v", "type": "bigint"}}]$$);
CALL steward.migration_backfill('bra_m');
SELECT count(*) FROM steward.migration_validate('bra_m') WHERE NOT passed;
SELECT steward.migration_complete('bra_m');
SELECT steward.migration_cleanup('bra_m');
SELECT steward.migration_start('bra_re', $$[{"relayout": {"table": "bra", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CALL steward.migration_backfill('bra_re');
SELECT count(*) FROM steward.migration_validate('bra_re') WHERE NOT passed;
SELECT steward.migration_complete('bra_re');
SELECT steward.migration_cleanup('bra_re');
SELECT name, result, tables FROM steward.migrations WHERE name LIKE 'bra%' ORDER BY name;
RESET ROLE;

-- F7: names sharing their first 50 bytes; F13: a heap source is named.
CREATE TABLE aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1 (id int PRIMARY KEY, v int) USING steward;
CREATE TABLE aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2 (id int PRIMARY KEY, v int);
SELECT steward.migration_start('brl1', $$[{"relayout": {"table": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1", "partition_by": "HASH (id)", "partitions": 2, "partition_prefix": "brl1"}}]$$);
SELECT steward.migration_start('brl2', $$[{"relayout": {"table": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2", "partition_by": "HASH (id)", "partitions": 2, "partition_prefix": "brl2"}}]$$);
SELECT count(*) FROM pg_class WHERE relname LIKE 'aaaaaaaaaa%\_relayout\_new';
SELECT steward.migration_rollback('brl1');
SELECT steward.migration_rollback('brl2');

-- F12: the trigger HINT names cleanup.
CREATE TABLE brt (id int PRIMARY KEY, v int) USING steward;
CREATE FUNCTION brt_touch() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RETURN NEW; END $f$;
CREATE TRIGGER brt_t BEFORE UPDATE ON brt FOR EACH ROW EXECUTE FUNCTION brt_touch();
SELECT steward.migration_start('brt_m', $$[{"relayout": {"table": "brt", "partition_by": "HASH (id)", "partitions": 2}}]$$);

-- F11: a role with column privileges only is named at start.
CREATE TABLE brg (id int PRIMARY KEY, amt numeric(12,2), secret text) USING steward;
CREATE ROLE bre_dave;
GRANT SELECT (id, amt) ON brg TO bre_dave;
SELECT steward.migration_start('brg_m', $$[{"alter_column": {"table": "brg", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}}]$$);
SELECT steward.migration_rollback('brg_m');

DROP TABLE brg, brt, bre, brn, brd;
DROP FUNCTION brt_touch();
DROP TABLE aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1, aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa2;
DROP TABLE bra;
REVOKE CREATE ON SCHEMA public FROM bre_alice;
SELECT format('REVOKE CREATE ON DATABASE %I FROM bre_alice', current_database()) \gexec
DROP ROLE bre_alice;
DROP ROLE bre_dave;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('bre_ratio', 'brn_m', 'brd_m', 'bra_m', 'bra_re', 'brl1', 'brl2', 'brg_m', 'brt_m');
\i test/sql/drop_migration_records.sql
