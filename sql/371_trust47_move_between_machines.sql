-- trust46 item 1: a state machine under another machine on the same column
-- counts as "the same rule" for a cross-partition move, so a row left
-- machine A's partition for a sibling under machine B, took B's edges
-- there, and came back in a state A does not declare judged by A from
-- that state: the AM let a row leave an undeclared state, so an
-- UPDATE-only role reset a shipped order ('shipped' -> B's 'returned' ->
-- back into A's partition as 'new').  A move between partitions under
-- different machines is now refused (0A000, review34 R2, sql/372), and
-- leaving an undeclared state in place is refused to every role but the
-- table's owner, whose UPDATE is the documented repair of rows stored
-- past the rules; a move (between partitions under the same machine,
-- o_eu and o_uk) never leaves one.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r371_owner;
CREATE ROLE r371_app;
CREATE SCHEMA r371 AUTHORIZATION r371_owner;
GRANT USAGE ON SCHEMA r371 TO r371_app;
SET ROLE r371_owner;
SET search_path = r371;
-- A: orders in the EU; B: orders in the US, with returns.
SELECT steward.create_state_machine('r371_a', states => ARRAY['new', 'paid', 'shipped'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid', 'paid->shipped']);
SELECT steward.create_state_machine('r371_b', states => ARRAY['new', 'paid', 'shipped', 'returned'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid', 'paid->shipped', 'shipped->returned']);
CREATE TABLE o (id int, region text, st text NOT NULL DEFAULT 'new',
                PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE o_eu PARTITION OF o FOR VALUES IN ('eu') USING steward;
CREATE TABLE o_us PARTITION OF o FOR VALUES IN ('us') USING steward;
CREATE TABLE o_uk PARTITION OF o FOR VALUES IN ('uk') USING steward;
SELECT steward.attach_state_machine('r371.o_eu', 'st', 'r371_a');
SELECT steward.attach_state_machine('r371.o_uk', 'st', 'r371_a');
SELECT steward.attach_state_machine('r371.o_us', 'st', 'r371_b');
INSERT INTO o VALUES (1, 'eu'), (2, 'eu'), (3, 'us'), (4, 'eu');
GRANT SELECT, UPDATE ON o TO r371_app;
RESET ROLE;

-- The failing input of the old code: an UPDATE-only role ships order 1,
-- moves it to o_us as 'returned' (B's edge shipped -> returned), and moves
-- it back to o_eu as 'new'.  It came back 'new'; now the move to o_us
-- (another machine) is refused, and the row stays 'shipped' in o_eu.
SET ROLE r371_app;
SET search_path = r371;
UPDATE o SET st = 'paid' WHERE id = 1;
UPDATE o SET st = 'shipped' WHERE id = 1;
UPDATE o SET region = 'us', st = 'returned' WHERE id = 1;
UPDATE o SET region = 'eu', st = 'new' WHERE id = 1;
UPDATE o SET region = 'eu' WHERE id = 1;
SELECT id, region, st FROM o WHERE id = 1;
-- The same in one MERGE.
MERGE INTO o USING (VALUES (1)) v(id) ON o.id = v.id
  WHEN MATCHED THEN UPDATE SET region = 'eu', st = 'paid';
SELECT id, region, st FROM o WHERE id = 1;

-- Between machines nothing moves, whatever the state (e3bb926 judged
-- these by the destination's machine); between o_eu and o_uk (both A) a
-- move is judged by A's edges.
UPDATE o SET region = 'us', st = 'paid' WHERE id = 2;
UPDATE o SET region = 'eu', st = 'shipped' WHERE id = 3 AND st = 'new';
UPDATE o SET st = 'paid' WHERE id = 3;
UPDATE o SET region = 'eu', st = 'shipped' WHERE id = 3;
UPDATE o SET region = 'us' WHERE id = 3;
UPDATE o SET region = 'eu', st = 'new' WHERE id = 2;
UPDATE o SET region = 'uk', st = 'paid' WHERE id = 2;
UPDATE o SET region = 'eu', st = 'new' WHERE id = 2;
SELECT id, region, st FROM o ORDER BY id;
RESET ROLE;

-- A row stored past the rules (session_replication_role = replica) in a
-- state its machine does not declare: an UPDATE-only role cannot move it
-- out of that state (the AM let it go anywhere); the table's owner may,
-- the repair docs/state-machines.md gives for what verify() lists.
SET session_replication_role = replica;
UPDATE r371.o SET st = 'lost' WHERE id = 4;
RESET session_replication_role;
SET ROLE r371_app;
SET search_path = r371;
UPDATE o SET st = 'new' WHERE id = 4;
UPDATE o SET region = 'uk', st = 'new' WHERE id = 4;
RESET ROLE;
SET ROLE r371_owner;
SET search_path = r371;
-- The owner too cannot carry it into another partition: a move never
-- leaves an undeclared state; in place the owner's UPDATE repairs it.
UPDATE o SET region = 'uk', st = 'new' WHERE id = 4;
UPDATE o SET st = 'new' WHERE id = 4;
SELECT id, region, st FROM o ORDER BY id;
RESET ROLE;

RESET search_path;
DROP SCHEMA r371 CASCADE;
SELECT steward.drop_state_machine('r371_a');
SELECT steward.drop_state_machine('r371_b');
DROP ROLE r371_owner;
DROP ROLE r371_app;
