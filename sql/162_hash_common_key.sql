-- A steward_hash key with many rows lives in one bucket chain (splits
-- cannot separate equal hashes).  VACUUM counts a bucket's entries
-- without collecting their TIDs (steward_hash_count_bucket; before, a
-- bucket of more than 134,217,728 entries failed every VACUUM that
-- removed nothing with XX000), and a scan of such a key collects its
-- matches in a huge allocation.  The sizes that failed are out of reach
-- of a test (134M rows); this checks the same paths at small size:
-- counts and scans of a key whose chain has several overflow pages.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE hck (id int, k text);
INSERT INTO hck SELECT g, 'common' FROM generate_series(1, 3000) g;
INSERT INTO hck SELECT g, 'k' || g FROM generate_series(3001, 4000) g;
CREATE INDEX hck_k ON hck USING steward_hash (k);
INSERT INTO hck SELECT g, 'common' FROM generate_series(4001, 5000) g;
-- Insert-only: VACUUM's cleanup pass counts the entries itself.
VACUUM hck;
SELECT reltuples FROM pg_class WHERE relname = 'hck_k';
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM hck WHERE k = 'common';
SELECT count(*), min(id), max(id), count(DISTINCT id) FROM hck WHERE k = 'common';
SET enable_indexscan = off;
SET enable_bitmapscan = on;
EXPLAIN (COSTS OFF) SELECT count(*) FROM hck WHERE k = 'common';
SELECT count(*), min(id), max(id), count(DISTINCT id) FROM hck WHERE k = 'common';
RESET enable_seqscan;
RESET enable_indexscan;
RESET enable_bitmapscan;
-- After deletes, the bulk-delete pass counts what is left.
DELETE FROM hck WHERE id % 2 = 0;
VACUUM hck;
SELECT reltuples FROM pg_class WHERE relname = 'hck_k';
DROP TABLE hck;
