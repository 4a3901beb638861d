-- Data for the hash/ benchmark; run by run.sh with -v rows=N.
--
-- Three schemas hold the same tables with the same rows in the same physical
-- order; only the key constraint differs:
--   sh  EXCLUDE USING steward_hash (k WITH =)   (pg_steward's uniqueness form)
--   bt  UNIQUE (k)                               (btree)
--   ch  EXCLUDE USING hash (k WITH =)            (core hash; look only, for
--                                                 the in-server lookups)
-- The pgbench scripts use unqualified names; run.sh picks the variant with
-- search_path, so both variants run the very same statements.
--
-- Keys of the pgbench tables are 36-character text UUIDs computed from an
-- integer i (md5(i::text)::uuid::text), so that a pgbench script can name an
-- existing key without a second round trip.
\set ON_ERROR_STOP on

CREATE EXTENSION pg_steward;
SELECT setseed(0.42);

CREATE TABLE keys AS
SELECT i, md5(i::text)::uuid::text AS k FROM generate_series(1, :rows) i ORDER BY random();

CREATE SCHEMA sh;
CREATE SCHEMA bt;
CREATE SCHEMA ch;
-- look: read-only, point lookups.   w: insert / upsert target.
CREATE TABLE sh.look (k text NOT NULL, v int NOT NULL);
CREATE TABLE bt.look (k text NOT NULL, v int NOT NULL);
CREATE TABLE ch.look (k text NOT NULL, v int NOT NULL);
CREATE TABLE sh.w (k text NOT NULL, v int NOT NULL);
CREATE TABLE bt.w (k text NOT NULL, v int NOT NULL);
INSERT INTO sh.look SELECT k, i FROM keys;
INSERT INTO bt.look SELECT k, i FROM keys;
INSERT INTO ch.look SELECT k, i FROM keys;
INSERT INTO sh.w SELECT k, i FROM keys;
INSERT INTO bt.w SELECT k, i FROM keys;
ALTER TABLE sh.look ADD CONSTRAINT look_k EXCLUDE USING steward_hash (k WITH =);
ALTER TABLE bt.look ADD CONSTRAINT look_k UNIQUE (k);
ALTER TABLE ch.look ADD CONSTRAINT look_k EXCLUDE USING hash (k WITH =);
ALTER TABLE sh.w ADD CONSTRAINT w_k EXCLUDE USING steward_hash (k WITH =);
ALTER TABLE bt.w ADD CONSTRAINT w_k UNIQUE (k);

-- Probe keys for the in-server lookup (one statement, nested loop):
-- a fifth of the keys, in random order.
CREATE TABLE probe AS SELECT k FROM keys WHERE i % 5 = 0 ORDER BY random();

-- Random keys for the size test (inserted into tables that already have
-- their index) and for the CREATE INDEX test.
CREATE TABLE src_text AS SELECT gen_random_uuid()::text AS k FROM generate_series(1, :rows);
CREATE TABLE src_int8 AS
SELECT ((random() - 0.5) * 1.8e19)::bigint AS k FROM generate_series(1, :rows);

VACUUM ANALYZE;
CHECKPOINT;
