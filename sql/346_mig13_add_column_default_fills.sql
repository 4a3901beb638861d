-- newcomer44 P1: an add_column step with "not_null" and no "up" was
-- accepted; its "default" filled no stored row, so the backfill stopped at
-- row 1, and with no default every old-shape INSERT failed at once.  Now a
-- "default" with no "up" fills the stored rows (as ALTER TABLE ... ADD
-- COLUMN ... DEFAULT does; a volatile one per row), old-shape INSERTs get
-- it, and "not_null" with neither is refused at start, before anything
-- changes, on an empty table too.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE m13 (id bigint PRIMARY KEY, amt int NOT NULL) USING steward;
INSERT INTO m13 SELECT g, g FROM generate_series(1, 10) g;

-- Refused: not_null with neither up nor default, on a table with rows and
-- on an empty one; nothing changes.
SELECT steward.migration_start('m13_no', $$[
  {"add_column": {"table": "m13", "column": "tag", "type": "text", "not_null": true}}]$$);
CREATE TABLE m13_empty (id bigint PRIMARY KEY) USING steward;
SELECT steward.migration_start('m13_no', $$[
  {"add_column": {"table": "m13_empty", "column": "tag", "type": "text", "not_null": true}}]$$);
SELECT count(*) AS runs FROM steward.migration_runs WHERE name = 'm13_no';
SELECT attname FROM pg_attribute WHERE attrelid IN ('m13'::regclass, 'm13_empty'::regclass)
   AND attnum > 0 AND NOT attisdropped ORDER BY attrelid, attnum;
SELECT count(*) AS triggers FROM pg_trigger WHERE tgrelid IN ('m13'::regclass, 'm13_empty'::regclass);
-- "not_null": false, or an up, or a default: accepted (here on the empty table).
SELECT steward.migration_start('m13_e', $$[
  {"add_column": {"table": "m13_empty", "column": "tag", "type": "text", "not_null": true, "default": "'e'"}}]$$);
INSERT INTO m13_empty (id) VALUES (1);
SELECT id, tag FROM m13_empty;
SELECT steward.migration_rollback('m13_e');

-- A stable default fills the stored rows; a nullable column's too.
SELECT steward.migration_start('m13_s', $$[
  {"add_column": {"table": "m13", "column": "tag", "type": "text", "not_null": true, "default": "'t'"}},
  {"add_column": {"table": "m13", "column": "note", "type": "text", "default": "'n'"}}]$$);
-- An old-shape INSERT gets the defaults.
INSERT INTO m13 (id, amt) VALUES (11, 11);
-- An old-shape UPDATE of a row not backfilled yet gets them too (it
-- failed on the NOT NULL constraint).  With these constant defaults the
-- stored rows read them and count as filled from start on (marker 'o',
-- mig16); the fill of a row not backfilled yet: 367 (now()).
UPDATE m13 SET amt = 20 WHERE id = 2;
SELECT id, amt, tag, note, _steward_side FROM m13 WHERE id IN (1, 2, 11) ORDER BY id;
CALL steward.migration_backfill('m13_s');
SELECT count(*) AS nrows, count(*) FILTER (WHERE tag = 't') AS tag_t,
       count(*) FILTER (WHERE note = 'n') AS note_n FROM m13;
SELECT count(*) AS failed FROM steward.migration_validate('m13_s') WHERE NOT passed;
SELECT steward.migration_complete('m13_s');
SELECT steward.migration_cleanup('m13_s');
SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = 'm13'::regclass
   AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
INSERT INTO m13 (id, amt) VALUES (12, 12);
SELECT id, tag, note FROM m13 WHERE id IN (1, 12) ORDER BY id;

-- A volatile default is evaluated per row, as ALTER TABLE evaluates one.
SELECT steward.migration_start('m13_v', $$[
  {"add_column": {"table": "m13", "column": "uid", "type": "uuid", "not_null": true,
                  "default": "gen_random_uuid()"}},
  {"add_column": {"table": "m13", "column": "at", "type": "timestamptz", "not_null": true,
                  "default": "now()"}}]$$);
INSERT INTO m13 (id, amt) VALUES (13, 13);
CALL steward.migration_backfill('m13_v');
SELECT count(*) AS nrows, count(DISTINCT uid) AS uids, count(at) AS ats FROM m13;
-- A filled row keeps its value through an old-shape UPDATE.
CREATE TEMP TABLE m13_uid AS SELECT uid FROM m13 WHERE id = 1;
UPDATE m13 SET amt = 100 WHERE id = 1;
SELECT uid = (SELECT uid FROM m13_uid) AS kept FROM m13 WHERE id = 1;
SELECT count(*) AS failed FROM steward.migration_validate('m13_v') WHERE NOT passed;
SELECT steward.migration_complete('m13_v');
SELECT steward.migration_cleanup('m13_v');
SELECT attname, attnotnull FROM pg_attribute WHERE attrelid = 'm13'::regclass
   AND attname IN ('uid', 'at') ORDER BY attnum;

DROP TABLE m13, m13_empty, m13_uid;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs
 WHERE name IN ('m13_e', 'm13_s', 'm13_v');
\i test/sql/drop_migration_records.sql
