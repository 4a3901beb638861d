-- Small findings of recheck8 / review8 (leftovers2):
-- N1: the WARNING of a relayout of a partitioned table restored without
--     its record names the table (not the partition the row went to), and
--     migration_forget of such a partition refuses, naming the table.
-- N6: on a table with an orphaned column-migration trigger,
--     migration_forget drops the NOT VALID constraints that migration
--     added and no user's own (an online NOT NULL on another column).
-- review8 #24: a CALL of a procedure that commits between batches inside
--     a transaction block or from a function is refused up front (25001).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE lo2_owner;
GRANT CREATE ON SCHEMA public TO lo2_owner;
GRANT CREATE ON DATABASE regression TO lo2_owner;
SET ROLE lo2_owner;

-- N1: a relayout of a LIST-partitioned table, its record gone.
CREATE TABLE lo2_pr (id int, region text, v int, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE lo2_pr1 PARTITION OF lo2_pr FOR VALUES IN ('eu') USING steward;
CREATE TABLE lo2_pr2 PARTITION OF lo2_pr FOR VALUES IN ('us') USING steward;
INSERT INTO lo2_pr SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g
  FROM generate_series(1, 6) g;
SELECT steward.migration_start('lo2_rl',
    '[{"relayout": {"table": "lo2_pr", "partition_by": "HASH (id)", "partitions": 2}}]');
RESET ROLE;
DELETE FROM steward.migration_tables WHERE migration = 'lo2_rl';
SET ROLE lo2_owner;
-- The HINT names the table, schema-qualified, whichever partition the row
-- goes to.
INSERT INTO lo2_pr VALUES (7, 'us', 7);
INSERT INTO lo2_pr1 VALUES (8, 'eu', 8);
TRUNCATE lo2_pr1;
-- A partition is refused, naming its table; the table's forget removes
-- the triggers of the whole tree, and the warnings stop.
SELECT * FROM steward.migration_forget('lo2_pr1');
SELECT * FROM steward.migration_forget('lo2_pr');
INSERT INTO lo2_pr VALUES (9, 'us', 9);
SELECT count(*) FROM lo2_pr;

-- review8 #17: validate's hottest keys name each key once (its writes are
-- counted on both layouts), ranked by the part of the count that is certain.
CREATE TABLE lo2_hk (id int PRIMARY KEY, v int) USING steward;
INSERT INTO lo2_hk SELECT g, 0 FROM generate_series(1, 4) g;
SELECT steward.migration_start('lo2_hk_m',
    '[{"relayout": {"table": "lo2_hk", "partition_by": "HASH (id)", "partitions": 2}}]');
CALL steward.migration_backfill('lo2_hk_m');
UPDATE lo2_hk SET v = v + 1 WHERE id = 1;
UPDATE lo2_hk SET v = v + 1 WHERE id = 1;
UPDATE lo2_hk SET v = v + 1 WHERE id = 1;
UPDATE lo2_hk SET v = v + 1 WHERE id = 2;
-- Both layouts count the key (the apply writes the copy) ...
SELECT h.key_text, count(*) AS relations FROM steward.hot_rows h
 WHERE h.relid::text LIKE 'lo2_hk%' GROUP BY 1 ORDER BY 1;
-- ... and validate names it once.
SELECT regexp_replace(detail, '^.*hottest keys: ', '') AS hottest
  FROM steward.migration_validate('lo2_hk_m') WHERE "check" LIKE 'distribution%';
SELECT steward.migration_rollback('lo2_hk_m');

-- N6: an alter_column migration's table, its record gone, carrying the
-- user's own online NOT NULL on another column.
CREATE TABLE lo2_inv (id int PRIMARY KEY, note text, amt numeric(12,2) NOT NULL) USING steward;
INSERT INTO lo2_inv VALUES (1, 'a', 1.25), (2, NULL, 2.5);
ALTER TABLE lo2_inv ADD CONSTRAINT lo2_inv_note_not_null CHECK (note IS NOT NULL) NOT VALID;
SELECT steward.migration_start('lo2_cents', '[{"alter_column": {"table": "lo2_inv", "column": "amt",
    "name": "cents", "type": "bigint", "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}]');
-- The trigger names the constraints the migration added.
SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = 'lo2_inv'::regclass AND NOT tgisinternal;
SELECT conname, convalidated FROM pg_constraint
 WHERE conrelid = 'lo2_inv'::regclass AND contype = 'c' ORDER BY conname;
RESET ROLE;
DELETE FROM steward.migration_columns WHERE migration = 'lo2_cents';
DELETE FROM steward.migration_tables WHERE migration = 'lo2_cents';
SET ROLE lo2_owner;
INSERT INTO lo2_inv (id, note, amt) VALUES (3, 'c', 3);
SELECT * FROM steward.migration_forget('lo2_inv');
-- The user's constraint stays; the old-shape insert now works.
SELECT conname, convalidated FROM pg_constraint
 WHERE conrelid = 'lo2_inv'::regclass AND contype = 'c' ORDER BY conname;
INSERT INTO lo2_inv (id, note, amt) VALUES (3, 'c', 3);
SELECT id, note, amt FROM lo2_inv ORDER BY id;

-- review8 #24: inside a transaction block, and from a function.
CREATE TABLE lo2_tx (id int PRIMARY KEY, a int) USING steward;
INSERT INTO lo2_tx SELECT g, g FROM generate_series(1, 3) g;
SELECT steward.migration_start('lo2_tx_m', '[{"add_column": {"table": "lo2_tx", "column": "b",
    "type": "int", "up": "a * 2"}}]');
\set VERBOSITY default
BEGIN;
CALL steward.migration_backfill('lo2_tx_m');
ROLLBACK;
CREATE FUNCTION lo2_fill() RETURNS void LANGUAGE plpgsql
AS $$ BEGIN CALL steward.migration_backfill('lo2_tx_m'); END $$;
SELECT lo2_fill();
SELECT steward.create_state_machine('lo2_m', ARRAY['new', 'paid'], ARRAY['new'], ARRAY['new->paid']);
CREATE TABLE lo2_tr (id int PRIMARY KEY, s text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('lo2_tr', 's', 'lo2_m');
INSERT INTO lo2_tr (id) SELECT g FROM generate_series(1, 3) g;
BEGIN;
CALL steward.run_transition('lo2_tr', 'new', 'paid');
ROLLBACK;
\set VERBOSITY terse
-- Outside a block (also from a DO block or a procedure CALLed so) it runs.
DO $$ BEGIN CALL steward.migration_backfill('lo2_tx_m'); END $$;
SELECT phase FROM steward.migrations WHERE name = 'lo2_tx_m';
CALL steward.run_transition('lo2_tr', 'new', 'paid');
SELECT s, count(*) FROM lo2_tr GROUP BY s;

SELECT steward.migration_rollback('lo2_tx_m');
DROP FUNCTION lo2_fill();
DROP TABLE lo2_pr, lo2_pr_relayout_new, lo2_inv, lo2_tx, lo2_tr, lo2_hk;
SELECT steward.drop_state_machine('lo2_m');
RESET ROLE;
-- This file's migration records go, the tables' rows too: a later file may
-- count them.
CREATE TEMP TABLE gone (name) AS VALUES ('lo2_rl'), ('lo2_cents'), ('lo2_tx_m'), ('lo2_hk_m');
\i test/sql/drop_migration_records.sql
REVOKE CREATE ON SCHEMA public FROM lo2_owner;
REVOKE CREATE ON DATABASE regression FROM lo2_owner;
DROP ROLE lo2_owner;
