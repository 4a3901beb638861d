-- mig16 (closing45 Noticed 3): an "up" that reads a column both shapes
-- share went stale when the old application updated only that column in
-- a row the new application had written last: the UPDATE changed neither
-- shape's columns, so it was mapped in the shape the row's marker named,
-- the new one, and "total" (up "price * qty") kept the old price's value
-- (and validation, which checks such a row with down only, passed).  Now
-- such an UPDATE is in the writer's shape when that shape's up (or down)
-- reads a column it changes: the derived column follows every write of
-- what it reads.  An up that reads no column stays a default (kept), a
-- column the statement wrote itself is kept, and an UPDATE of a shared
-- column no expression reads still keeps the row's last shape.
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE m16s (id int PRIMARY KEY, price numeric, qty int, label text, amt numeric(12,2))
  USING steward;
INSERT INTO m16s SELECT g, g, 2, 'l' || g, g + 0.5 FROM generate_series(1, 6) g;
SELECT steward.migration_start('m16s', $$[
  {"add_column": {"table": "m16s", "column": "total", "type": "numeric", "up": "price * qty"}},
  {"add_column": {"table": "m16s", "column": "currency", "type": "text", "up": "'EUR'"}},
  {"alter_column": {"table": "m16s", "column": "amt", "name": "cents", "type": "bigint",
                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}]$$);
CALL steward.migration_backfill('m16s');

-- The new application writes rows 1-3 (marker 'n').
SET search_path = m16s, public;
UPDATE m16s SET total = 999, currency = 'USD' WHERE id = 1;
UPDATE m16s SET cents = 777 WHERE id = 2;
UPDATE m16s SET total = 555 WHERE id = 3;
-- The new application's own write of price: no down reads price, so its total is kept.
UPDATE m16s SET price = 30 WHERE id = 3 RETURNING id, price, total;
RESET search_path;

-- The old application updates price only: total follows (was 999, stale),
-- currency keeps the new application's USD (a default), cents follows amt.
UPDATE m16s SET price = 5 WHERE id = 1 RETURNING id, price, qty, total, currency, cents, _steward_side;
-- And qty, in a row the new application wrote cents in: total follows,
-- cents is up(amt) again (the write is in the old shape).
UPDATE m16s SET qty = 10 WHERE id = 2 RETURNING id, total, amt, cents, _steward_side;
-- A shared column no up reads: the row keeps its last shape (no round trip).
SET search_path = m16s, public;
UPDATE m16s SET cents = 1234 WHERE id = 4;
RESET search_path;
UPDATE m16s SET label = 'x' WHERE id = 4 RETURNING id, amt, cents, total, _steward_side;
-- A statement that writes total itself is a new-shape write: total is
-- kept as written, not computed again from price.
UPDATE m16s SET price = 6, total = 13 WHERE id = 5 RETURNING id, total, _steward_side;

SELECT id, price, qty, total, currency, amt, cents, _steward_side FROM m16s ORDER BY id;
SELECT "check", passed FROM steward.migration_validate('m16s') ORDER BY "check";

-- After complete the old application writes through m16s_old.
SELECT steward.migration_complete('m16s');
SET search_path = m16s_old, public;
UPDATE m16s SET price = 8 WHERE id = 3;
RESET search_path;
SELECT id, price, total FROM m16s WHERE id = 3;
-- The new application (the table, after complete) writing price keeps its total.
UPDATE m16s SET total = 1 WHERE id = 3;
UPDATE m16s SET price = 9 WHERE id = 3 RETURNING id, price, total;
SELECT steward.migration_rollback('m16s');
DROP TABLE m16s;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m16s');
\i test/sql/drop_migration_records.sql
