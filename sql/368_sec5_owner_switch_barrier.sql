-- review32 S2, the general fix: every switch to a table's owner raises
-- the owner-code barrier (src/plumbing/as_owner.c), not only the call
-- sites that review32 fixed.  Here the switch is made by a trusted event
-- trigger of pg_steward's: after the owner's ALTER TABLE ... SET DEFAULT
-- on a tracked version column, steward._rules_on_written_ddl judges the
-- default, folded as the table's owner, and folding it runs the owner's
-- immutable function.  That function called steward._transition_prepare,
-- which only run_transition may call, and with the event trigger on top
-- of pg_steward's counted code the call passed: a run opened that stayed
-- "running".  Now it is refused (42501), as from any other owner's code.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE r368_owner;
CREATE SCHEMA s368 AUTHORIZATION r368_owner;
SET ROLE r368_owner;
SELECT steward.create_state_machine('m368', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE s368.x (id bigint PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('s368.x', 'st', 'm368');
INSERT INTO s368.x VALUES (1, 'a');
-- What the owner's function got, counted (an immutable function may not
-- write a table).
CREATE SEQUENCE s368.accepted;
CREATE SEQUENCE s368.refused;
CREATE FUNCTION s368.k() RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    BEGIN
        PERFORM steward._transition_prepare('s368.x', 'a', 'b', NULL, 1000, NULL);
        PERFORM nextval('s368.accepted');
    EXCEPTION WHEN insufficient_privilege THEN
        PERFORM nextval('s368.refused');
    END;
    RETURN 1;
END $$;
CREATE TABLE s368.w (id bigint PRIMARY KEY, version bigint) USING steward;
SELECT steward.track_versions('s368.w', 'version');
SELECT setval('s368.accepted', 1, false), setval('s368.refused', 1, false);

-- The event trigger folds the new default as s368.w's owner.
ALTER TABLE s368.w ALTER COLUMN version SET DEFAULT s368.k();
SELECT is_called AS any_accepted FROM s368.accepted;
SELECT is_called AS any_refused FROM s368.refused;
SELECT count(*) AS runs FROM steward.transition_runs WHERE relid = 's368.x'::regclass;

-- The same function called straight from the session is refused too, and
-- run_transition itself still opens, moves and finishes its run.
SELECT s368.k();
SELECT last_value AS refused FROM s368.refused;
CALL steward.run_transition('s368.x', 'a', 'b');
SELECT status, rows_done FROM steward.transition_runs
 WHERE relid = 's368.x'::regclass ORDER BY id;
RESET ROLE;

DROP SCHEMA s368 CASCADE;
SELECT steward.drop_state_machine('m368');
DROP ROLE r368_owner;
