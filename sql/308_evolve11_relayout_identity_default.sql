-- A relayout's apply trigger upserts the other layout with INSERT ... ON
-- CONFLICT (key) DO UPDATE, and an UPDATE may set a GENERATED ALWAYS
-- identity column only to DEFAULT: the upsert left such a column out
-- (review26 R6), so an UPDATE ... SET col = DEFAULT of one outside the
-- key never reached the other layout, and validate reported the row
-- (README said so).  Now the layout the apply trigger writes has the
-- column BY DEFAULT and the upsert sets it; the cutover trades the kinds,
-- so the table keeps ALWAYS throughout (a value written to it is refused
-- 428C9 as before), and a rollback after the cutover gives the old
-- layout ALWAYS back.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r308;
CREATE TABLE r308.events (id bigint PRIMARY KEY, seq bigint GENERATED ALWAYS AS IDENTITY,
                          body text) USING steward;
INSERT INTO r308.events (id, body) SELECT g, 'e' || g FROM generate_series(1, 6) g;
CREATE VIEW r308.kinds AS
    SELECT c.relname, a.attidentity FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
     WHERE c.relnamespace = 'r308'::regnamespace AND c.relkind IN ('r', 'p') AND a.attname = 'seq'
     ORDER BY c.relname;
SELECT steward.migration_start('r308_m', $$[
  {"relayout": {"table": "r308.events", "partition_by": "HASH (id)", "partitions": 2}}
]$$);
SELECT * FROM r308.kinds;
CALL steward.migration_backfill('r308_m');
-- Before the cutover, into the new layout (before: seq stayed 1 there).
UPDATE r308.events SET seq = DEFAULT WHERE id = 1;
SELECT o.seq = n.seq AS carried, o.seq > 6 AS renumbered
  FROM r308.events o JOIN r308.events_relayout_new n USING (id) WHERE id = 1;
-- The table stays ALWAYS.
UPDATE r308.events SET seq = 100 WHERE id = 2;
INSERT INTO r308.events (id, seq, body) VALUES (50, 100, 'x');
SELECT "check", passed FROM steward.migration_validate('r308_m')
 WHERE "check" NOT LIKE 'partition %' AND "check" NOT LIKE 'distribution %' ORDER BY 1;
SELECT steward.migration_complete('r308_m');
SELECT * FROM r308.kinds;
-- After the cutover, into the old layout.
UPDATE r308.events SET seq = DEFAULT WHERE id = 2;
INSERT INTO r308.events (id, body) VALUES (7, 'e7');
SELECT n.id, n.seq = o.seq AS carried FROM r308.events n JOIN r308.events_relayout_old o USING (id)
 WHERE n.id IN (2, 7) ORDER BY n.id;
UPDATE r308.events SET seq = 100 WHERE id = 3;
-- A rollback after the cutover: the old layout is the table again, ALWAYS.
SELECT steward.migration_rollback('r308_m');
SELECT * FROM r308.kinds;
UPDATE r308.events SET seq = DEFAULT WHERE id = 3;
UPDATE r308.events SET seq = 100 WHERE id = 3;
SELECT count(*) AS rows, count(DISTINCT seq) AS distinct_seqs FROM r308.events;
DROP SCHEMA r308 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r308_m');
\i test/sql/drop_migration_records.sql
