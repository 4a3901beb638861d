-- review18 F5 (verify5): steward.verify_index() and steward.verify() of a
-- healthy table raised XX001 "missing chunk ... for toast value" once a row
-- version whose steward_hash key was toasted had died (DELETE, UPDATE of the
-- key, a refused duplicate, an aborted transaction) and the TOAST table had
-- lost its chunks (page pruning on any read of the TOAST table, or a VACUUM
-- of the TOAST table alone, as autovacuum runs them), until VACUUM of the
-- table removed the index entries: the entries the heap scan does not
-- match were hashed from whatever version their TID held, dead ones
-- included.  Now a dead version's key is never read (its TOAST may be
-- gone); its entry is fine until VACUUM.  Each table keeps its dead
-- entries (entries > rows), loses the dead versions' TOAST (VACUUM of its
-- TOAST table only), and must verify clean.  Each case verifies from a
-- new session: verify_index read its entries' "seen" flags uninitialized,
-- so in a session whose memory had been used (as inside steward.verify())
-- it skipped the check of unmatched entries altogether.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
-- A 64 kB key that does not compress: stored out of line, in 33 chunks.
CREATE FUNCTION r176_key(seed int) RETURNS text LANGUAGE sql AS
$$ SELECT string_agg(md5(seed || ':' || i), '') FROM generate_series(1, 2000) i $$;

-- 1. DELETE of a row whose key is toasted (a steward table).
CREATE TABLE r176_del (id int PRIMARY KEY, k text) USING steward
  WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off);
CREATE INDEX r176_del_h ON r176_del USING steward_hash (k);
INSERT INTO r176_del VALUES (1, r176_key(1)), (2, r176_key(2)), (3, 'short');
SELECT reltoastrelid::regclass AS r176_toast FROM pg_class WHERE oid = 'r176_del'::regclass \gset
SELECT pg_relation_size(:'r176_toast') > 0 AS key_toasted;
DELETE FROM r176_del WHERE id = 1;
-- The TOAST pages are full: reading them prunes the deleted key's chunks.
\c -
SELECT * FROM steward.verify_index('r176_del_h');
VACUUM :r176_toast;
SELECT * FROM steward.verify_index('r176_del_h');
SELECT "check", passed, detail FROM steward.verify('r176_del') WHERE "check" LIKE 'index %';
SELECT entries, (SELECT count(*) FROM r176_del) AS rows FROM steward.hash_index_stats('r176_del_h');
-- The live long key is still read and found.
SET enable_seqscan = off;
SELECT id FROM r176_del WHERE k = r176_key(2);
RESET enable_seqscan;
VACUUM r176_del;
SELECT entries FROM steward.hash_index_stats('r176_del_h');
SELECT * FROM steward.verify_index('r176_del_h');

-- 2. UPDATE of the key (the old version and its TOAST die), a plain heap
-- table.
CREATE TABLE r176_upd (id int PRIMARY KEY, k text)
  WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off);
CREATE INDEX r176_upd_h ON r176_upd USING steward_hash (k);
INSERT INTO r176_upd VALUES (1, r176_key(1)), (2, r176_key(2));
UPDATE r176_upd SET k = 'changed' WHERE id = 1;
SELECT reltoastrelid::regclass AS r176_toast FROM pg_class WHERE oid = 'r176_upd'::regclass \gset
VACUUM :r176_toast;
\c -
SELECT * FROM steward.verify_index('r176_upd_h');
SELECT "check", passed, detail FROM steward.verify('r176_upd') WHERE "check" LIKE 'index %';
SELECT entries, (SELECT count(*) FROM r176_upd) AS rows FROM steward.hash_index_stats('r176_upd_h');

-- 3. A duplicate of a long key refused by a steward_hash exclusion
-- constraint: the aborted row keeps its index entry.
CREATE TABLE r176_dup (k text, EXCLUDE USING steward_hash (k WITH =)) USING steward
  WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off);
INSERT INTO r176_dup VALUES (r176_key(5));
\set VERBOSITY sqlstate
INSERT INTO r176_dup VALUES (r176_key(5));
\set VERBOSITY default
SELECT reltoastrelid::regclass AS r176_toast FROM pg_class WHERE oid = 'r176_dup'::regclass \gset
VACUUM :r176_toast;
\c -
SELECT * FROM steward.verify_index('r176_dup_k_excl');
SELECT "check", passed, detail FROM steward.verify('r176_dup') WHERE "check" LIKE 'index %';
SELECT entries, (SELECT count(*) FROM r176_dup) AS rows FROM steward.hash_index_stats('r176_dup_k_excl');

-- 4. A long key inserted by a transaction that rolled back, and one by a
-- subtransaction rolled back inside the transaction that verifies.
CREATE TABLE r176_abort (id int PRIMARY KEY, k text) USING steward
  WITH (autovacuum_enabled = off, toast.autovacuum_enabled = off);
CREATE INDEX r176_abort_h ON r176_abort USING steward_hash (k);
INSERT INTO r176_abort VALUES (1, 'short');
BEGIN;
INSERT INTO r176_abort VALUES (2, r176_key(2));
ROLLBACK;
SELECT reltoastrelid::regclass AS r176_toast FROM pg_class WHERE oid = 'r176_abort'::regclass \gset
VACUUM :r176_toast;
\c -
SELECT * FROM steward.verify_index('r176_abort_h');
SELECT "check", passed, detail FROM steward.verify('r176_abort') WHERE "check" LIKE 'index %';
-- Inside the transaction that wrote them: its own rows (one deleted) and
-- a row of a subtransaction it rolled back.
BEGIN;
INSERT INTO r176_abort VALUES (3, r176_key(3));
DELETE FROM r176_abort WHERE id = 3;
INSERT INTO r176_abort VALUES (4, r176_key(4));
SAVEPOINT s;
INSERT INTO r176_abort VALUES (5, r176_key(5));
ROLLBACK TO SAVEPOINT s;
SELECT * FROM steward.verify_index('r176_abort_h');
COMMIT;
SELECT entries, (SELECT count(*) FROM r176_abort) AS rows FROM steward.hash_index_stats('r176_abort_h');
SELECT * FROM steward.verify_index('r176_abort_h');

-- 5. docs/locks.md: verify_index holds ShareRowExclusiveLock on the table, so it
-- waits for an open (here prepared) transaction that wrote the table;
-- lock_timeout makes it give up (55P03) instead.
BEGIN;
UPDATE r176_abort SET k = k WHERE id = 1;
PREPARE TRANSACTION 'r176_writer';
SET lock_timeout = '200ms';
\set VERBOSITY sqlstate
SELECT * FROM steward.verify_index('r176_abort_h');
\set VERBOSITY default
RESET lock_timeout;
ROLLBACK PREPARED 'r176_writer';
SELECT * FROM steward.verify_index('r176_abort_h');

DROP TABLE r176_del, r176_upd, r176_dup, r176_abort;
DROP FUNCTION r176_key(int);
