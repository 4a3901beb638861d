-- mig14 M1: migration_validate compared each row's derived columns with
-- "IS DISTINCT FROM", which needs an "=" operator: a migration changing a
-- json, xml or point column (or adding one computed from it) failed
-- validation with 42883 "operator does not exist: json = json", so it
-- could never complete (json[] at the first row).  A type without the
-- equality the dual-write trigger uses (json, xml, point, box: its "="
-- compares areas) is now compared by its text, as the checksums are.
--
-- mig14 M2: an "up" or "down" reading a stored generated column was
-- accepted, but PostgreSQL computes the column after the BEFORE triggers:
-- the dual-write trigger read its value from before the write (NULL in an
-- INSERT), every row written during the migration got another value than
-- the backfill gives, and validation failed with no way out but rollback.
-- Now refused at start (0A000), the HINT giving the generation expression.
--
-- mig14 M3: an "up" (or a changed column's "down") that gives another
-- value at each evaluation or transaction (gen_random_uuid(), now()) was
-- accepted, but validation evaluates it again and compares it with each
-- stored value: every row differed, after the whole backfill.  Now
-- refused at start (22023; HINT: "default" fills each row once).  A
-- dropped column's "down" over no column is the old column's default for
-- new-shape INSERTs: it may vary (now()), and is not compared.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE m14v (id bigint PRIMARY KEY, doc json, x xml, p point, b box) USING steward;
INSERT INTO m14v SELECT g, '{"a": 1, "a": 2}', '<a/>', point(g, g), box(point(0, 0), point(g, 1))
  FROM generate_series(1, 6) g;
SELECT steward.migration_start('m14v', $$[
  {"alter_column": {"table": "m14v", "column": "doc", "type": "jsonb", "up": "doc::jsonb", "down": "doc::json"}},
  {"alter_column": {"table": "m14v", "column": "x", "not_null": true}},
  {"add_column": {"table": "m14v", "column": "p2", "type": "point", "up": "p"}},
  {"add_column": {"table": "m14v", "column": "b2", "type": "box", "up": "b"}},
  {"add_column": {"table": "m14v", "column": "docs", "type": "json[]", "up": "ARRAY[doc]"}}]$$);
INSERT INTO m14v (id, doc, x, p, b) VALUES (100, '{"b": 1}', '<b/>', point(1, 2), box(point(0, 0), point(1, 1)));
SET search_path = m14v, public;
INSERT INTO m14v (id, doc, x, p, b, p2) VALUES (101, '{"d": 1}', '<c/>', point(3, 3), box(point(0, 0), point(2, 2)), point(3, 3));
UPDATE m14v SET doc = '{"e": 1}' WHERE id = 3;
RESET search_path;
CALL steward.migration_backfill('m14v');
SELECT "check", passed, detail FROM steward.migration_validate('m14v') ORDER BY "check";
-- An UPDATE of a row in the old shape keeps the values right.
UPDATE m14v SET b = box(point(0, 0), point(2, 1)), doc = '{"f": 1}' WHERE id = 2;
SELECT "check", passed FROM steward.migration_validate('m14v') ORDER BY "check";
SELECT steward.migration_complete('m14v');
SELECT id, doc, x, p2, b2, docs FROM m14v WHERE id IN (1, 2, 3, 100, 101) ORDER BY id;
SELECT steward.migration_cleanup('m14v');

DROP TABLE m14v;

CREATE TABLE m14g (id bigint PRIMARY KEY, amt numeric(12,2) NOT NULL, note text,
                   tax numeric GENERATED ALWAYS AS (amt * 0.2) STORED) USING steward;
INSERT INTO m14g (id, amt) SELECT g, g FROM generate_series(1, 4) g;
SELECT steward.migration_start('m14g', $$[
  {"add_column": {"table": "m14g", "column": "tax2", "type": "numeric", "up": "tax * 2"}}]$$);
SELECT steward.migration_start('m14g', $$[
  {"drop_column": {"table": "m14g", "column": "note", "down": "tax::text"}}]$$);
SELECT count(*) AS runs FROM steward.migration_runs WHERE name = 'm14g';
-- The generation expression itself: rows written meanwhile agree.
SELECT steward.migration_start('m14g', $$[
  {"add_column": {"table": "m14g", "column": "tax2", "type": "numeric", "up": "amt * 0.2 * 2"}}]$$);
INSERT INTO m14g (id, amt) VALUES (100, 5);
UPDATE m14g SET amt = 7 WHERE id = 1;
CALL steward.migration_backfill('m14g');
SELECT id, amt, tax, tax2 FROM m14g WHERE id IN (1, 2, 100) ORDER BY id;
SELECT "check", passed FROM steward.migration_validate('m14g') ORDER BY "check";
SELECT steward.migration_rollback('m14g');
DROP TABLE m14g;
CREATE TABLE m14r (id bigint PRIMARY KEY, amt int NOT NULL,
                   created_at timestamptz NOT NULL DEFAULT '2020-01-01') USING steward;
INSERT INTO m14r (id, amt) SELECT g, g FROM generate_series(1, 4) g;
SELECT steward.migration_start('m14r', $$[
  {"add_column": {"table": "m14r", "column": "uid", "type": "uuid", "up": "gen_random_uuid()"}}]$$);
SELECT steward.migration_start('m14r', $$[
  {"add_column": {"table": "m14r", "column": "at", "type": "timestamptz", "up": "now() + amt * interval '1 s'"}}]$$);
SELECT steward.migration_start('m14r', $$[
  {"alter_column": {"table": "m14r", "column": "amt", "type": "bigint", "up": "amt", "down": "amt + (random() * 0)::int"}}]$$);
SELECT steward.migration_start('m14r', $$[
  {"alter_column": {"table": "m14r", "column": "created_at", "type": "timestamp", "up": "CURRENT_TIMESTAMP"}}]$$);
SELECT count(*) AS runs FROM steward.migration_runs WHERE name = 'm14r';
-- Accepted: "default" for a value given once per row, and a dropped
-- column's default; validation passes after new-shape writes.
SELECT steward.migration_start('m14r', $$[
  {"add_column": {"table": "m14r", "column": "uid", "type": "uuid", "not_null": true, "default": "gen_random_uuid()"}},
  {"drop_column": {"table": "m14r", "column": "created_at", "down": "now()"}}]$$);
SET search_path = m14r, public;
INSERT INTO m14r (id, amt) VALUES (100, 100);
UPDATE m14r SET uid = gen_random_uuid() WHERE id = 1;
RESET search_path;
CALL steward.migration_backfill('m14r');
SELECT count(*) AS nrows, count(DISTINCT uid) AS uids, count(*) FILTER (WHERE created_at > '2020-01-01') AS new_dates
  FROM m14r;
SELECT "check", passed FROM steward.migration_validate('m14r') ORDER BY "check";
SELECT steward.migration_rollback('m14r');
DROP TABLE m14r;
-- mig14 M6: a step's "references" to a column another migration drops
-- at cleanup (or its new column, which a rollback drops) was accepted,
-- though ALTER TABLE ... ADD FOREIGN KEY to it is refused: that cleanup
-- then failed on the key until the user dropped it.  Now refused (55006).
CREATE TABLE m14p (id int PRIMARY KEY, code int UNIQUE NOT NULL, old int UNIQUE) USING steward;
INSERT INTO m14p SELECT g, g * 10, g FROM generate_series(1, 3) g;
CREATE TABLE m14c (id bigint PRIMARY KEY, c int) USING steward;
INSERT INTO m14c VALUES (1, 10);
SELECT steward.migration_start('m14p', $$[
  {"alter_column": {"table": "m14p", "column": "code", "name": "kode", "type": "bigint", "unique": true}},
  {"drop_column": {"table": "m14p", "column": "old"}},
  {"add_column": {"table": "m14p", "column": "fresh", "type": "int", "up": "id", "unique": true}}]$$);
SELECT steward.migration_start('m14c', $$[
  {"add_column": {"table": "m14c", "column": "c2", "type": "int", "up": "c",
                  "references": {"table": "m14p", "column": "code"}}}]$$);
SELECT steward.migration_start('m14c', $$[
  {"add_column": {"table": "m14c", "column": "c2", "type": "int", "up": "c",
                  "references": {"table": "m14p", "column": "old"}}}]$$);
SELECT steward.migration_start('m14c', $$[
  {"add_column": {"table": "m14c", "column": "c2", "type": "int", "up": "c",
                  "references": {"table": "m14p", "column": "fresh"}}}]$$);
-- A column the other migration leaves alone: accepted.
SELECT steward.migration_start('m14c', $$[
  {"add_column": {"table": "m14c", "column": "c2", "type": "int", "up": "1", "references": "m14p"}}]$$);
SELECT steward.migration_rollback('m14c');
SELECT steward.migration_rollback('m14p');
DROP TABLE m14c, m14p;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name IN ('m14v', 'm14g', 'm14r', 'm14p', 'm14c');
\i test/sql/drop_migration_records.sql
