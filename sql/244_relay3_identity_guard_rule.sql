-- One rule for ALTER TABLE ... REPLICA IDENTITY under a migration
-- (review24 V6, relay2's leftovers).  A column migration refuses an
-- identity that a step still ahead would break -- an index a step drops
-- with a column, or one the pinned column list of a publication of
-- updates or deletes does not cover (FULL never is) -- and nothing else:
-- the identity the migration carries itself (the recorded index before
-- complete, the key it moved to after) and a statement that leaves the
-- identity as it is pass (both were refused 55006: "the cleanup drops"
-- / "a rollback drops" it).  A relayout, which gave the new layout the
-- table's identity at start and carries no change made since, refuses
-- every change (it accepted them: FULL set meanwhile was silently gone
-- after the cutover, validate passing), a no-op passing.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
\i test/sql/migration_to_complete.sql
CREATE FUNCTION r244_identity(rel regclass) RETURNS TABLE (relreplident "char", identity_index name)
LANGUAGE sql AS $$
    SELECT c.relreplident, x.relname FROM pg_class c
      LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisreplident
      LEFT JOIN pg_class x ON x.oid = i.indexrelid
     WHERE c.oid = rel
$$;

-- 1. A published table whose identity follows the migration.
CREATE TABLE r244 (id int PRIMARY KEY, code int NOT NULL CONSTRAINT r244_code_key UNIQUE, v int) USING steward;
INSERT INTO r244 SELECT g, 100 + g, g FROM generate_series(1, 6) g;
ALTER TABLE r244 REPLICA IDENTITY USING INDEX r244_code_key;
CREATE PUBLICATION r244_pub FOR TABLE r244;
SET client_min_messages = error;
SELECT steward.migration_start('r244_m', $j$[
  {"alter_column": {"table": "r244", "column": "code", "type": "bigint"}}]$j$);
RESET client_min_messages;
-- Before complete: the recorded index again (a no-op), DEFAULT (the
-- primary key, over a column both shapes have) and back: all pass.
ALTER TABLE r244 REPLICA IDENTITY USING INDEX r244_code_key;
ALTER TABLE r244 REPLICA IDENTITY DEFAULT;
ALTER TABLE r244 REPLICA IDENTITY USING INDEX r244_code_key;
-- FULL is refused: the pinned column list cannot cover it.
ALTER TABLE r244 REPLICA IDENTITY FULL;
CALL pg_temp.migration_to_complete('r244_m');
SELECT * FROM r244_identity('r244');
UPDATE r244 SET v = v + 1 WHERE id = 1;
-- After complete: the key again, DEFAULT and back to the key pass; the
-- old index (the cleanup drops it with the old column) is refused.
ALTER TABLE r244 REPLICA IDENTITY USING INDEX r244_code_key1;
ALTER TABLE r244 REPLICA IDENTITY DEFAULT;
ALTER TABLE r244 REPLICA IDENTITY USING INDEX r244_code_key1;
ALTER TABLE r244 REPLICA IDENTITY USING INDEX r244_code_key;
ALTER TABLE r244 REPLICA IDENTITY FULL;
UPDATE r244 SET v = v + 1 WHERE id = 2;
-- The key set again is still carried back by a rollback.
SELECT steward.migration_rollback('r244_m');
SELECT * FROM r244_identity('r244');
UPDATE r244 SET v = v + 1 WHERE id = 3;

-- 2. The same rule without a publication: FULL breaks no step and
--    passes; a publication of its updates is then refused (the other
--    order), and the table's identity set back lets it in.
CREATE TABLE r244b (id int PRIMARY KEY, code int NOT NULL, v int) USING steward;
SET client_min_messages = error;
SELECT steward.migration_start('r244_mb', $j$[
  {"alter_column": {"table": "r244b", "column": "code", "type": "bigint"}}]$j$);
RESET client_min_messages;
ALTER TABLE r244b REPLICA IDENTITY FULL;
CREATE PUBLICATION r244b_pub FOR TABLE r244b;
ALTER TABLE r244b REPLICA IDENTITY DEFAULT;
SET client_min_messages = warning;
CREATE PUBLICATION r244b_pub FOR TABLE r244b;
RESET client_min_messages;
SELECT steward.migration_rollback('r244_mb');

-- 3. A relayout: every change of the identity is refused, on the table
--    and on the new layout; a statement that changes nothing passes.
CREATE TABLE r244r (id int PRIMARY KEY, v int) USING steward;
INSERT INTO r244r SELECT g, g FROM generate_series(1, 6) g;
SET client_min_messages = error;
SELECT steward.migration_start('r244_mr', $j$[
  {"relayout": {"table": "r244r", "partition_by": "HASH (id)", "partitions": 2}}]$j$);
RESET client_min_messages;
ALTER TABLE r244r REPLICA IDENTITY FULL;
ALTER TABLE r244r REPLICA IDENTITY USING INDEX r244r_pkey;
ALTER TABLE r244r_relayout_new REPLICA IDENTITY NOTHING;
ALTER TABLE r244r REPLICA IDENTITY DEFAULT;
CALL pg_temp.migration_to_complete('r244_mr');
SELECT * FROM r244_identity('r244r');
ALTER TABLE r244r REPLICA IDENTITY FULL;
SELECT steward.migration_rollback('r244_mr');

DROP PUBLICATION r244_pub, r244b_pub;
DROP TABLE r244, r244b, r244r;
DROP PROCEDURE pg_temp.migration_to_complete(text);
DROP FUNCTION r244_identity(regclass);

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r244_m'), ('r244_mb'), ('r244_mr');
\i test/sql/drop_migration_records.sql
