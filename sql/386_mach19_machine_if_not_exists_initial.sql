-- mach19 items 1 and 2 (closing45 Noticed 5 and 8): a migration script
-- creating a state machine could not be run again (42710 at once), and a
-- machine's initial states could not change.  create_state_machine takes
-- if_not_exists => true: the same definition existing (each list as a
-- set) gives a NOTICE; another one (mach20: as CREATE TABLE IF NOT
-- EXISTS) a NOTICE too, with both in the DETAIL, the machine kept.
-- add_initial_state / drop_initial_state change the initial states of a
-- machine in use; a drop that would take away a state rows are in is
-- refused (23514) with a HINT whose calls work as written -- as is
-- drop_transition's, whose HINT used to name add_transition(..., 'another_state'),
-- which add_transition refuses without new_state (22023).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

-- A migration script, run twice: the second run keeps the machine.
SELECT steward.create_state_machine('m386', ARRAY['created', 'paid', 'held'],
                                    ARRAY['created'], ARRAY['created->paid'],
                                    if_not_exists => true);
SELECT steward.create_state_machine('m386', ARRAY['held', 'paid', 'created'],
                                    ARRAY['created'], ARRAY['created->paid'],
                                    if_not_exists => true);
\echo :LAST_ERROR_SQLSTATE
-- Another definition under the name: kept, a NOTICE with both (mach20).
SELECT steward.create_state_machine('m386', ARRAY['created', 'paid'],
                                    ARRAY['created'], ARRAY['created->paid'], true);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.create_state_machine('m386', ARRAY['created', 'paid', 'held'],
                                    ARRAY['created', 'held'], ARRAY['created->paid'], true);
-- Without the flag, as before; a NULL flag; a malformed definition
-- under an existing name gets create's own error.
SELECT steward.create_state_machine('m386', ARRAY['created', 'paid', 'held'],
                                    ARRAY['created'], ARRAY['created->paid']);
SELECT steward.create_state_machine('m386', ARRAY['created'], ARRAY['created'], '{}', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.create_state_machine('m386', ARRAY['created'], ARRAY['created'], NULL, true);
\echo :LAST_ERROR_SQLSTATE
SELECT name, states, initial, transitions FROM steward.state_machines WHERE name = 'm386';

-- Initial states of a machine in use.
CREATE TABLE m386_t (id int PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('m386_t', 'st', 'm386');
INSERT INTO m386_t VALUES (1, 'created');
INSERT INTO m386_t VALUES (2, 'held');
SELECT steward.add_initial_state('m386', 'held');
INSERT INTO m386_t VALUES (2, 'held');
SELECT label::jsonb -> 'initial' AS label_initial
  FROM pg_seclabel WHERE provider = 'steward' AND objoid = 'm386_t'::regclass;
SELECT steward.add_initial_state('m386', 'held');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_initial_state('m386', 'hled');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_initial_state('m386', NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_initial_state('no_such_m386', 'held');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.drop_initial_state('m386', 'paid');
\echo :LAST_ERROR_SQLSTATE

-- "held" is in no transition: not initial, it would go; a row is in it.
SELECT steward.drop_initial_state('m386', 'held');
\echo :LAST_ERROR_SQLSTATE
-- The HINT's calls, as written, then the drop.
SELECT steward.add_transition('m386', 'held', 'created');
CALL steward.run_transition('public.m386_t', 'held', 'created');
SELECT steward.drop_initial_state('m386', 'held');
INSERT INTO m386_t VALUES (3, 'held');
\echo :LAST_ERROR_SQLSTATE
SELECT name, states, initial, transitions FROM steward.state_machines WHERE name = 'm386';

-- A state in no transition and no row: it goes with its initial mark;
-- one a state check names stays (2BP01).
SELECT steward.add_transition('m386', 'paid', 'solo', new_state => true);
SELECT steward.add_initial_state('m386', 'solo');
SELECT steward.drop_transition('m386', 'paid', 'solo');
SELECT steward.set_state_check('m386_t', 'solo', 'SELECT 0');
SELECT steward.drop_initial_state('m386', 'solo');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_state_check('m386_t', 'solo', NULL);
SELECT steward.drop_initial_state('m386', 'solo');
SELECT name, states, initial, transitions FROM steward.state_machines WHERE name = 'm386';

-- The last initial state stays; the HINT names another to make initial.
SELECT steward.drop_initial_state('m386', 'created');
\echo :LAST_ERROR_SQLSTATE

-- drop_transition's HINT (item 2): the calls, run as written, work.
SELECT steward.add_transition('m386', 'paid', 'on_hold', new_state => true);
UPDATE m386_t SET st = 'paid' WHERE id = 1;
UPDATE m386_t SET st = 'on_hold' WHERE id = 1;
SELECT steward.drop_transition('m386', 'paid', 'on_hold');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_transition('m386', 'on_hold', 'paid');
CALL steward.run_transition('public.m386_t', 'on_hold', 'paid');
SELECT steward.drop_transition('m386', 'paid', 'on_hold');
SELECT steward.drop_transition('m386', 'on_hold', 'paid');
SELECT name, states, initial, transitions FROM steward.state_machines WHERE name = 'm386';
SELECT id, st FROM m386_t ORDER BY id;

-- Only the owner changes initial states.
CREATE ROLE m386_other;
GRANT USAGE ON SCHEMA steward TO m386_other;
SET ROLE m386_other;
SELECT steward.add_initial_state('m386', 'paid');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

SELECT steward.release('m386_t') IS NOT NULL AS released;
DROP TABLE m386_t;
SELECT steward.drop_state_machine('m386');
REVOKE USAGE ON SCHEMA steward FROM m386_other;
DROP ROLE m386_other;
