-- mach20 items 1, 2 and 4.
-- Item 1: a migration script that creates a state machine and then
-- changes it could not be run again: create_state_machine(if_not_exists)
-- refused the machine its own add_transition had changed (42710, mach19's
-- definition compare), and without if_not_exists add_transition refused
-- the edge it had added (42710).  Now create(if_not_exists) keeps any
-- machine of the name (NOTICE, the DETAIL showing both definitions when
-- they differ), as CREATE TABLE IF NOT EXISTS does, and add_transition /
-- add_initial_state take if_not_exists, drop_transition /
-- drop_initial_state if_exists: "already done" is a NOTICE, skipping.
-- Item 2: drop_transition of an edge both of whose ends go, rows in the
-- target only: the HINT said run_transition(from, to), into a state going
-- too; it now names a new edge out of the target to a state that stays
-- and the runs along it, and following it as written works.
-- Item 4: steward.release(tbl) returns one row per object it changes.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE m389_t (id int PRIMARY KEY, st text NOT NULL) USING steward;

-- The script, run three times (the first creates, the others skip).
CREATE FUNCTION pg_temp.m389_script() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward.create_state_machine('m389',
        states => ARRAY['requested', 'received', 'refunded'],
        initial => ARRAY['requested'],
        transitions => ARRAY['requested->received', 'received->refunded'],
        if_not_exists => true);
    PERFORM steward.add_transition('m389', 'received', 'rejected',
                                   new_state => true, if_not_exists => true);
    PERFORM steward.add_initial_state('m389', 'received', if_not_exists => true);
    PERFORM steward.drop_transition('m389', 'requested', 'received', if_exists => true);
    PERFORM steward.drop_initial_state('m389', 'requested', if_exists => true);
END
$$;
SELECT pg_temp.m389_script();
SELECT name, states, initial, transitions FROM steward.state_machines WHERE name = 'm389';
SELECT pg_temp.m389_script();
SELECT pg_temp.m389_script();
SELECT name, states, initial, transitions FROM steward.state_machines WHERE name = 'm389';

-- Each skip on its own, attached, with a row: the labels stay as they are.
SELECT steward.attach_state_machine('m389_t', 'st', 'm389');
INSERT INTO m389_t VALUES (1, 'received');
SELECT steward.add_transition('m389', 'received', 'refunded', if_not_exists => true);
SELECT steward.drop_transition('m389', 'refunded', 'received', if_exists => true);
SELECT steward.add_initial_state('m389', 'received', if_not_exists => true);
SELECT steward.drop_initial_state('m389', 'refunded', if_exists => true);
SELECT steward.drop_initial_state('m389', 'no_such_state', if_exists => true);
SELECT label::jsonb -> 'transitions' AS label_transitions, label::jsonb -> 'initial' AS label_initial
  FROM pg_seclabel WHERE provider = 'steward' AND objoid = 'm389_t'::regclass;

-- Without the flags, as before: 42710, 42704, 42710, 42704.
SELECT steward.add_transition('m389', 'received', 'refunded');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.drop_transition('m389', 'refunded', 'received');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_initial_state('m389', 'received');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.drop_initial_state('m389', 'refunded');
\echo :LAST_ERROR_SQLSTATE
-- The flags skip only "already done": an undeclared to_state still needs
-- new_state, an undeclared state cannot be made initial, NULL flags are
-- refused (22023, 22023, 22004, 22004).
SELECT steward.add_transition('m389', 'received', 'refunnded', if_not_exists => true);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_initial_state('m389', 'no_such_state', if_not_exists => true);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_transition('m389', 'received', 'refunded', false, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.drop_initial_state('m389', 'refunded', NULL);
\echo :LAST_ERROR_SQLSTATE
-- The flags still do the change when it is not done yet.
SELECT steward.add_transition('m389', 'rejected', 'refunded', if_not_exists => true);
SELECT steward.drop_transition('m389', 'rejected', 'refunded', if_exists => true);
SELECT name, states, initial, transitions FROM steward.state_machines WHERE name = 'm389';
-- Only the owner, skip or not (42501 before the skip, as ALTER TABLE).
CREATE ROLE m389_other;
GRANT USAGE ON SCHEMA steward TO m389_other;
SET ROLE m389_other;
SELECT steward.add_transition('m389', 'received', 'refunded', if_not_exists => true);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.drop_initial_state('m389', 'refunded', if_exists => true);
\echo :LAST_ERROR_SQLSTATE
-- Another role's machine of the name: refused, 42710 (review34 R1).
SELECT steward.create_state_machine('m389', ARRAY['a'], ARRAY['a'], '{}', if_not_exists => true);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- Item 2: both ends of x -> y go with the edge; rows in y only.
SELECT steward.create_state_machine('m389h', ARRAY['a', 'x', 'y'], ARRAY['a'],
                                    ARRAY['a->x', 'x->y']);
CREATE TABLE m389_h (id int PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('m389_h', 'st', 'm389h');
INSERT INTO m389_h VALUES (1, 'a'), (2, 'a');
UPDATE m389_h SET st = 'x';
UPDATE m389_h SET st = 'y';
SELECT steward.drop_transition('m389h', 'a', 'x');
SELECT steward.drop_transition('m389h', 'x', 'y');
\echo :LAST_ERROR_SQLSTATE
-- The HINT's calls, as written; then both transitions go.
SELECT steward.add_transition('m389h', 'y', 'a');
CALL steward.run_transition('public.m389_h', 'x', 'y');
CALL steward.run_transition('public.m389_h', 'y', 'a');
SELECT steward.drop_transition('m389h', 'x', 'y');
SELECT steward.drop_transition('m389h', 'y', 'a');
SELECT name, states, initial, transitions FROM steward.state_machines WHERE name = 'm389h';
SELECT id, st FROM m389_h ORDER BY id;

-- Rows in both ends: the same HINT moves x's through y, then out.
SELECT steward.add_transition('m389h', 'a', 'x', new_state => true);
SELECT steward.add_transition('m389h', 'x', 'y', new_state => true);
UPDATE m389_h SET st = 'x';
UPDATE m389_h SET st = 'y' WHERE id = 2;
SELECT steward.drop_transition('m389h', 'a', 'x');
SELECT steward.drop_transition('m389h', 'x', 'y');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_transition('m389h', 'y', 'a');
CALL steward.run_transition('public.m389_h', 'x', 'y');
CALL steward.run_transition('public.m389_h', 'y', 'a');
SELECT steward.drop_transition('m389h', 'x', 'y');
SELECT steward.drop_transition('m389h', 'y', 'a');
SELECT name, states, initial, transitions FROM steward.state_machines WHERE name = 'm389h';
SELECT id, st FROM m389_h ORDER BY id;

-- Only the target goes (from stays): the HINT's new edge leads back to
-- from, as before.
SELECT steward.add_transition('m389h', 'a', 'z', new_state => true);
UPDATE m389_h SET st = 'z' WHERE id = 1;
SELECT steward.drop_transition('m389h', 'a', 'z');
\echo :LAST_ERROR_SQLSTATE

-- Item 4: release returns one row per object it changes: the table's
-- access method and each rule (here the state rule): two rows, one table.
SELECT relid, object_type, object_name, action FROM steward.release('m389_h') ORDER BY 2, 3;
SELECT relid, object_type, object_name, action FROM steward.release('m389_t') ORDER BY 2, 3;

DROP TABLE m389_t, m389_h;
SELECT steward.drop_state_machine('m389');
SELECT steward.drop_state_machine('m389h');
REVOKE USAGE ON SCHEMA steward FROM m389_other;
DROP ROLE m389_other;
