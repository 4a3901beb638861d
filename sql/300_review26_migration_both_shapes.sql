-- A write that sets both shapes of a column migration directly on the
-- table (review26 R7): the INSERT kept the new shape's value and the
-- UPDATE of a row not backfilled yet the old shape's, silently dropping
-- the other value the user wrote.  Now a write whose two shapes disagree
-- is refused (23514) for INSERT and UPDATE alike; one whose shapes agree,
-- or that writes one shape only, passes.
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE r300 (id int PRIMARY KEY, amt numeric(12,2) DEFAULT 0, note text) USING steward;
INSERT INTO r300 SELECT g, g * 1.25, 'n' FROM generate_series(1, 6) g;
SELECT steward.migration_start('r300_m', '[{"alter_column": {"table": "r300", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}},
                                           {"add_column": {"table": "r300", "column": "twice", "type": "numeric", "up": "amt * 2"}}]');

-- The review's reproductions: both refused, the rows unchanged.
INSERT INTO r300 (id, amt, cents) VALUES (50, 1.00, 999);
UPDATE r300 SET amt = 2.00, cents = 12345 WHERE id = 1;
SELECT id, amt, cents, twice, _steward_side FROM r300 WHERE id IN (1, 50) ORDER BY id;
-- A derived column only up computes, written against it: refused too.
INSERT INTO r300 (id, amt, twice) VALUES (51, 1.00, 7);
UPDATE r300 SET amt = 3.00, twice = 1 WHERE id = 2;

-- Both shapes written with values that agree: accepted.
INSERT INTO r300 (id, amt, cents) VALUES (52, 1.50, 150);
UPDATE r300 SET amt = 2.50, cents = 250 WHERE id = 3 RETURNING amt, cents, twice;
-- One shape only: the other computed, as before.
INSERT INTO r300 (id, cents) VALUES (53, 777) RETURNING amt, cents;
INSERT INTO r300 (id, amt) VALUES (54, 4.25) RETURNING amt, cents, twice;
UPDATE r300 SET amt = 5.00 WHERE id = 4 RETURNING amt, cents, twice;
UPDATE r300 SET cents = 600 WHERE id = 5 RETURNING amt, cents, twice;
-- A value equal to the old column's constant default counts as not written.
INSERT INTO r300 (id, amt, cents) VALUES (55, 0, 999) RETURNING amt, cents;
-- Through the migration's views, one shape each.
INSERT INTO r300_m.r300 (id, cents) VALUES (56, 1234) RETURNING cents;
UPDATE r300_m.r300 SET cents = 4321 WHERE id = 56;
SELECT id, amt, cents, _steward_side FROM r300 WHERE id = 56;

-- After the backfill, an UPDATE of a filled row: the same rule.
CALL steward.migration_backfill('r300_m');
UPDATE r300 SET amt = 9.00, cents = 1 WHERE id = 6;
UPDATE r300 SET amt = 9.00, cents = 900 WHERE id = 6 RETURNING amt, cents, twice;
SELECT bool_and(passed) FROM steward.migration_validate('r300_m');

-- After complete the old shape is reached through the views only.
SELECT steward.migration_complete('r300_m');
SELECT id, cents FROM r300 ORDER BY id;
SELECT steward.migration_rollback('r300_m');
DROP TABLE r300;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r300_m');
\i test/sql/drop_migration_records.sql
