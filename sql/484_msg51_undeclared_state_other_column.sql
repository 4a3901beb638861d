-- msg51: a row whose state column holds a value the machine does not
-- declare (stored under session_replication_role = replica, or while the
-- machine was missing) cannot be updated in any column until that value
-- is repaired: the state rules judge every row an UPDATE writes, as
-- PostgreSQL re-checks a CHECK constraint on every update of a row, so
-- an UPDATE that leaves the state alone is refused with the same 23514
-- as one writing the value anew; the owner repairs the row in place
-- (NOTICE), after which other columns update again.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA t484;
CREATE TABLE t484.orders (id int PRIMARY KEY, status text NOT NULL, note text) USING steward;
SELECT steward.create_state_machine('m484', ARRAY['new', 'paid'], ARRAY['new'], ARRAY['new->paid']);
SELECT steward.attach_state_machine('t484.orders', 'status', 'm484');
INSERT INTO t484.orders VALUES (1, 'new', NULL), (2, 'new', NULL);
SET session_replication_role = replica;
UPDATE t484.orders SET status = 'lost' WHERE id = 1;
RESET session_replication_role;
-- The other column of the row stored past the rules: refused, 23514.
UPDATE t484.orders SET note = 'called' WHERE id = 1;
-- So is a no-op UPDATE of the state itself.
UPDATE t484.orders SET status = status WHERE id = 1;
-- Another role with UPDATE rights: refused alike.
CREATE ROLE r484_app;
GRANT USAGE ON SCHEMA t484 TO r484_app;
GRANT SELECT, UPDATE ON t484.orders TO r484_app;
SET ROLE r484_app;
UPDATE t484.orders SET note = 'called' WHERE id = 1;
-- A row in a declared state updates as usual.
UPDATE t484.orders SET note = 'called' WHERE id = 2;
RESET ROLE;
-- The owner repairs in place; then the other column updates.
UPDATE t484.orders SET status = 'new' WHERE id = 1;
SET ROLE r484_app;
UPDATE t484.orders SET note = 'called' WHERE id = 1;
RESET ROLE;
SELECT id, status, note FROM t484.orders ORDER BY id;
SET client_min_messages = warning;
DROP SCHEMA t484 CASCADE;
SELECT steward.drop_state_machine('m484');
DROP ROLE r484_app;
