-- review32 S2: run_transition is counted as pg_steward's own code, and its
-- helpers count the rows in the source state as the table's owner
-- (steward._transition_prepare at the start, steward._transition_left and
-- _transition_progress at the end).  Planning that count folds the
-- owner's immutable functions (here a partial index's predicate), and
-- nothing stood between them and run_transition: such a function called
-- steward._transition_prepare, which only run_transition may call, and
-- every call opened a run that stayed "running" (each count planned the
-- predicate again: 244 runs, until the stack ran out).  The counts now
-- run behind the owner-code barrier the batches have, as does the
-- parsing of the resume key (a domain's CHECK is the owner's code too).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE ROLE r359_owner;
CREATE SCHEMA s359 AUTHORIZATION r359_owner;
SET ROLE r359_owner;
SELECT steward.create_state_machine('m359', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE s359.t (id bigint PRIMARY KEY, st text NOT NULL, v int) USING steward;
SELECT steward.attach_state_machine('s359.t', 'st', 'm359');
INSERT INTO s359.t SELECT g, 'a', g FROM generate_series(1, 5) g;
-- What the owner's functions got, counted (an immutable function may
-- not write a table).
CREATE SEQUENCE s359.accepted;
CREATE SEQUENCE s359.refused;
CREATE FUNCTION s359.k() RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    BEGIN
        PERFORM steward._transition_prepare('s359.t', 'a', 'b', NULL, 1000, NULL);
        PERFORM nextval('s359.accepted');
    EXCEPTION WHEN insufficient_privilege THEN
        PERFORM nextval('s359.refused');
    END;
    RETURN 0;
END $$;
CREATE INDEX t_part ON s359.t (id) WHERE v > s359.k();
SELECT setval('s359.accepted', 1, false), setval('s359.refused', 1, false);

CALL steward.run_transition('s359.t', 'a', 'b');
-- Every call of the predicate's function was refused; one run, finished.
SELECT is_called AS any_accepted FROM s359.accepted;
SELECT is_called AS any_refused FROM s359.refused;
SELECT status, rows_done FROM steward.transition_runs
 WHERE relid = 's359.t'::regclass ORDER BY id;
SELECT st, count(*) FROM s359.t GROUP BY 1;

-- A run resumed from a key of a domain type: its CHECK is the owner's
-- code too, and is refused the same way.
CREATE FUNCTION s359.key_ok(bigint) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    BEGIN
        PERFORM steward._transition_prepare('s359.d', 'a', 'b', NULL, 1000, NULL);
        PERFORM nextval('s359.accepted');
    EXCEPTION WHEN insufficient_privilege THEN
        PERFORM nextval('s359.refused');
    END;
    RETURN true;
END $$;
CREATE DOMAIN s359.dkey AS bigint CHECK (s359.key_ok(VALUE));
CREATE TABLE s359.d (id s359.dkey PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('s359.d', 'st', 'm359');
INSERT INTO s359.d SELECT g, 'a' FROM generate_series(1, 5) g;
SELECT setval('s359.accepted', 1, false), setval('s359.refused', 1, false);
CALL steward.run_transition('s359.d', 'a', 'b', NULL, 2);
SELECT is_called AS any_accepted FROM s359.accepted;
SELECT is_called AS any_refused FROM s359.refused;
SELECT status, rows_done FROM steward.transition_runs
 WHERE relid = 's359.d'::regclass ORDER BY id;
RESET ROLE;

DROP SCHEMA s359 CASCADE;
SELECT steward.drop_state_machine('m359');
DROP ROLE r359_owner;
