-- The steward AM is heap storage: everything heap supports keeps working.
CREATE TABLE docs (id int PRIMARY KEY, body text, version bigint) USING steward;
SELECT steward.track_versions('docs', 'version');

-- TOAST tables of steward tables are heap tables.
SELECT am.amname AS toast_am
  FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
  JOIN pg_am am ON am.oid = t.relam
 WHERE c.oid = 'docs'::regclass;

-- Hex digests barely compress, so these bodies go out of line.
INSERT INTO docs
SELECT g, (SELECT string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 300) i), NULL
  FROM generate_series(1, 200) g;
UPDATE docs SET body = body || 'x' WHERE id <= 10;
SELECT count(*), sum(version), sum(length(body)) FROM docs;
SELECT pg_relation_size(reltoastrelid) > 0 AS toasted FROM pg_class WHERE oid = 'docs'::regclass;

-- Indexes: build, concurrent build, unique, expression; plain and bitmap scans.
CREATE INDEX docs_len ON docs (length(body));
CREATE INDEX CONCURRENTLY docs_version ON docs (version);
CREATE UNIQUE INDEX docs_body_md5 ON docs (md5(body));
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE version = 2;
SELECT id FROM docs WHERE version = 2 ORDER BY id;
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM docs WHERE version = 1;
SELECT count(*) FROM docs WHERE version = 1;
RESET enable_indexscan;
RESET enable_seqscan;
SELECT indexrelid::regclass, indisvalid FROM pg_index WHERE indrelid = 'docs'::regclass ORDER BY 1;

-- VACUUM, VACUUM FULL, CLUSTER, ANALYZE keep rows and rules.
DELETE FROM docs WHERE id > 150;
VACUUM docs;
VACUUM FULL docs;
CLUSTER docs USING docs_pkey;
ANALYZE docs;
SELECT reltuples FROM pg_class WHERE relname = 'docs';
SELECT count(*), sum(version) FROM docs;
UPDATE docs SET body = 'short' WHERE id = 1 RETURNING version;
UPDATE docs SET version = 1 WHERE id = 1;

-- TRUNCATE, then reuse.
TRUNCATE docs;
INSERT INTO docs VALUES (1, 'again', NULL) RETURNING version;

-- SET ACCESS METHOD round trip rewrites the table and keeps the data.
CREATE TABLE conv (id int PRIMARY KEY, v bigint);
INSERT INTO conv SELECT g, g FROM generate_series(1, 1000) g;
ALTER TABLE conv SET ACCESS METHOD steward;
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'conv'::regclass;
SELECT steward.track_versions('conv', 'v');
UPDATE conv SET v = v WHERE id <= 500;
SELECT sum(v) FROM conv;
ALTER TABLE conv SET ACCESS METHOD heap;        -- refused while a rule applies
SELECT steward.untrack('conv', 'v');
ALTER TABLE conv SET ACCESS METHOD heap;
ALTER TABLE conv SET ACCESS METHOD steward;
SELECT count(*), sum(v) FROM conv;

-- Partitions created USING steward; the parent cannot name an AM in PG15.
CREATE TABLE measurements (day date, id int, v bigint) PARTITION BY RANGE (day);
CREATE TABLE measurements_2026 PARTITION OF measurements
    FOR VALUES FROM ('2026-01-01') TO ('2027-01-01') USING steward;
SELECT steward.track_versions('measurements_2026', 'v');
INSERT INTO measurements VALUES ('2026-03-01', 1, NULL);
UPDATE measurements SET id = 2 RETURNING v;

-- Logical decoding reads steward tables like heap tables.
SELECT 'init' FROM pg_create_logical_replication_slot('steward_slot', 'test_decoding');
INSERT INTO docs VALUES (2, 'decoded', NULL);
UPDATE docs SET body = 'decoded twice' WHERE id = 2;
DELETE FROM docs WHERE id = 2;
SELECT data FROM pg_logical_slot_get_changes('steward_slot', NULL, NULL, 'include-xids', '0');
SELECT pg_drop_replication_slot('steward_slot');

-- Subtransactions: a failed update inside a savepoint leaves no trace.
BEGIN;
UPDATE docs SET body = 'in tx' WHERE id = 1;
SAVEPOINT s;
UPDATE docs SET version = 1 WHERE id = 1;
ROLLBACK TO s;
UPDATE docs SET body = 'after savepoint' WHERE id = 1 RETURNING version;
COMMIT;

-- MERGE uses the same update path.
MERGE INTO docs d USING (VALUES (1, 'merged')) s(id, body) ON d.id = s.id
  WHEN MATCHED THEN UPDATE SET body = s.body;
SELECT body, version FROM docs WHERE id = 1;
MERGE INTO docs d USING (VALUES (1, 1::bigint)) s(id, v) ON d.id = s.id
  WHEN MATCHED THEN UPDATE SET version = s.v;

DROP TABLE docs, conv, measurements;
