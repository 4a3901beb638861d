-- review27 R3: an UPDATE reaching a row its own command already replaced
-- (a second join row of UPDATE ... FROM, the outer UPDATE of a row a
-- data-modifying WITH updated) writes nothing in PostgreSQL: heap reports
-- the row as modified by the command and the executor skips it.  The
-- access method judged that attempt first, against the version the
-- command had already left, and refused statements PostgreSQL runs
-- (23514 for an edge from the old state, 22023 for a version past it).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r322_owner;
CREATE SCHEMA r322 AUTHORIZATION r322_owner;
SET ROLE r322_owner;
SET search_path = r322;
SELECT steward.create_state_machine('r322_m', states => ARRAY['new', 'paid', 'shipped'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid', 'paid->shipped']);
CREATE TABLE ord (id int PRIMARY KEY, st text NOT NULL DEFAULT 'new',
                  version bigint NOT NULL DEFAULT 1, note text) USING steward;
SELECT steward.attach_state_machine('r322.ord', 'st', 'r322_m');
SELECT steward.track_versions('r322.ord', 'version');
INSERT INTO ord (id) VALUES (1), (2);
-- The WITH pays row 1; the outer UPDATE reaches the row the WITH left and
-- is skipped (before: 23514, new -> shipped).
WITH u AS (UPDATE ord SET st = 'paid' WHERE id = 1 RETURNING id)
UPDATE ord SET st = 'shipped' FROM u WHERE ord.id = u.id;
-- The same with a version the outer UPDATE assigns (before: 22023, 9
-- skips ahead of 1).
WITH u AS (UPDATE ord SET note = 'seen' WHERE id = 2 RETURNING id)
UPDATE ord SET version = 9 FROM u WHERE ord.id = u.id;
SELECT id, st, version, note FROM ord ORDER BY id;
-- The write that does happen is still judged: an illegal edge in the
-- WITH is refused.
WITH u AS (UPDATE ord SET st = 'new' WHERE id = 1 RETURNING id)
UPDATE ord SET note = 'x' FROM u WHERE ord.id = u.id;
-- A trigger's statement that updates the row the command is updating:
-- PostgreSQL's own 27000, not a rule's error.
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE r322.ord SET note = 'touched' WHERE id = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER touch BEFORE UPDATE ON ord FOR EACH ROW
    WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION touch();
UPDATE ord SET st = 'new' WHERE id = 1;
SELECT id, st, version, note FROM ord ORDER BY id;
RESET search_path;
RESET ROLE;
DROP SCHEMA r322 CASCADE;
SELECT steward.drop_state_machine('r322_m');
DROP ROLE r322_owner;
