-- The owner-code barrier every switch to a table's owner raises
-- (src/plumbing/as_owner.c) is lowered when the switch ends, and also
-- when an error leaves the switch: the (sub)transaction that catches the
-- error puts it back where that (sub)transaction found it.  Else
-- pg_steward's own code after the error passed for the owner's and was
-- refused: a run_transition batch cancelled by the owner's trigger
-- (query_canceled, caught by steward._run_batch's EXCEPTION block inside
-- the batch's switch) could not record its status "cancelled" with
-- steward._transition_progress, and the run stayed "running".
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE ROLE r369_owner;
CREATE SCHEMA s369 AUTHORIZATION r369_owner;
SET ROLE r369_owner;
SELECT steward.create_state_machine('m369', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE s369.t (id bigint PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('s369.t', 'st', 'm369');
INSERT INTO s369.t SELECT g, 'a' FROM generate_series(1, 5) g;
CREATE FUNCTION s369.stop() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 3 THEN
        RAISE EXCEPTION 'batch stopped' USING ERRCODE = 'query_canceled';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER stop BEFORE UPDATE ON s369.t FOR EACH ROW EXECUTE FUNCTION s369.stop();

-- The second batch is cancelled inside the switch: the status is recorded.
CALL steward.run_transition('s369.t', 'a', 'b', NULL, 2);
SELECT status, rows_done FROM steward.transition_runs
 WHERE relid = 's369.t'::regclass ORDER BY id;

-- After the transaction's abort, the next run is pg_steward's own again.
DROP TRIGGER stop ON s369.t;
CALL steward.run_transition('s369.t', 'a', 'b', NULL, 2);
SELECT status, rows_done FROM steward.transition_runs
 WHERE relid = 's369.t'::regclass ORDER BY id;
SELECT st, count(*) FROM s369.t GROUP BY 1;

RESET ROLE;

DROP SCHEMA s369 CASCADE;
SELECT steward.drop_state_machine('m369');
DROP ROLE r369_owner;
