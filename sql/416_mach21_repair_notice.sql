-- mach21 (closing46 Noticed 4): the owner's repair in place of a row
-- stored in a state its machine does not declare (written under
-- session_replication_role = replica) went silently; it now gives a
-- NOTICE naming the row's key and both states.  Any other role is still
-- refused (23514), and a move out of such a state too.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r416_owner;
CREATE ROLE r416_app;
CREATE SCHEMA r416;
GRANT USAGE, CREATE ON SCHEMA r416 TO r416_owner;
GRANT USAGE ON SCHEMA r416 TO r416_app;
SELECT steward.create_state_machine('m416', ARRAY['new','paid'], ARRAY['new'], ARRAY['new->paid']);
CREATE TABLE r416.t (id int, region text, st text NOT NULL DEFAULT 'new', PRIMARY KEY (id, region)) USING steward;
SELECT steward.attach_state_machine('r416.t', 'st', 'm416');
ALTER TABLE r416.t OWNER TO r416_owner;
GRANT SELECT, UPDATE ON r416.t TO r416_app;
SET session_replication_role = replica;
INSERT INTO r416.t VALUES (1, 'a', 'lost'), (2, 'a', 'lost'), (3, 'a', 'new');
RESET session_replication_role;
SET ROLE r416_app;
UPDATE r416.t SET st = 'new' WHERE id = 1;
RESET ROLE;
-- The owner's repair: one NOTICE per row repaired, none for a row that
-- was in a declared state.
SET ROLE r416_owner;
UPDATE r416.t SET st = 'new';
RESET ROLE;
SELECT id, st FROM r416.t ORDER BY id;

DROP SCHEMA r416 CASCADE;
SELECT steward.drop_state_machine('m416');
DROP ROLE r416_owner, r416_app;
