-- newcomer45 N10: a backfill that failed on a row while filling a column
-- from its "default" (an add_column with no "up") said the migration
-- computes the new columns "from its up expressions" and hinted to
-- "start with an up that handles it": the DETAIL and HINT now name the
-- "default" (and both, when the table has ups and defaults).
--
-- A new-shape INSERT (or UPDATE) of an explicit NULL into the new column
-- of a "not_null" step was refused with 23514 naming the NOT VALID check
-- that stands for the constraint until complete, where the column the
-- application sees as NOT NULL gives 23502, as it does after complete:
-- now 23502 with core's wording.
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE m15f (id bigint PRIMARY KEY, amt numeric) USING steward;
INSERT INTO m15f SELECT g, g FROM generate_series(1, 10) g;
-- Only a default: the check refuses row 5 once lvl is filled.
SELECT steward.migration_start('m15f_def', $$[
  {"add_column": {"table": "m15f", "column": "lvl", "type": "int", "default": "5", "check": "lvl > id"}}]$$);
CALL steward.migration_backfill('m15f_def');
SELECT steward.migration_rollback('m15f_def');
-- A default and an up.
SELECT steward.migration_start('m15f_both', $$[
  {"alter_column": {"table": "m15f", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}},
  {"add_column": {"table": "m15f", "column": "lvl", "type": "int", "default": "5", "check": "lvl > id"}}]$$);
CALL steward.migration_backfill('m15f_both');
SELECT steward.migration_rollback('m15f_both');
-- Only ups: as before.
SELECT steward.migration_start('m15f_up', $$[
  {"add_column": {"table": "m15f", "column": "lvl", "type": "int", "up": "5", "check": "lvl > id"}}]$$);
CALL steward.migration_backfill('m15f_up');
SELECT steward.migration_rollback('m15f_up');

-- not_null: an explicit NULL in the new shape is 23502, as after complete.
SELECT steward.migration_start('m15f_nn', $$[
  {"alter_column": {"table": "m15f", "column": "amt", "name": "cents", "type": "bigint", "not_null": true,
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}},
  {"add_column": {"table": "m15f", "column": "tag", "type": "text", "default": "'t'", "not_null": true}}]$$);
SET search_path = m15f_nn, public;
INSERT INTO m15f (id, cents) VALUES (20, NULL);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO m15f (id, cents, tag) VALUES (21, 2100, NULL);
\echo :LAST_ERROR_SQLSTATE
-- A row not backfilled yet: the UPDATE that sets tag NULL is refused the same way.
UPDATE m15f SET tag = NULL WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO m15f (id, cents) VALUES (22, 2200);
RESET search_path;
-- The old shape: up giving NULL still names the migration (23514).
INSERT INTO m15f (id, amt) VALUES (23, NULL);
\echo :LAST_ERROR_SQLSTATE
CALL steward.migration_backfill('m15f_nn');
SET search_path = m15f_nn, public;
UPDATE m15f SET cents = NULL WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET search_path;
SELECT count(*) FROM steward.migration_validate('m15f_nn') WHERE NOT passed;
SELECT steward.migration_complete('m15f_nn');
-- After complete the table is the new shape and its NOT NULL is core's: the same error.
INSERT INTO m15f (id, cents) VALUES (24, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_cleanup('m15f_nn');
SELECT id, cents, tag FROM m15f WHERE id >= 20 ORDER BY id;
DROP TABLE m15f;
