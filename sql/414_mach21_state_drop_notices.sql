-- mach21 (closing46 Noticed 4): a state going with drop_transition or
-- drop_initial_state gives a NOTICE, as add_transition's new state does
-- (the old code dropped it silently); drop_initial_state(..., if_exists)
-- of a state the machine does not declare says so ("not a state", as the
-- call without if_exists refuses it, 22023), and of a declared state not
-- initial "not initial" (the old code said "not initial" for both).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('m414', ARRAY['new','paid'], ARRAY['new'], ARRAY['new->paid']);

-- Adding a state: NOTICE; dropping the edge takes it back: NOTICE too.
SELECT steward.add_transition('m414', 'paid', 'held', new_state => true);
SELECT steward.drop_transition('m414', 'paid', 'held');
-- Its HINT, as given, brings it back.
SELECT steward.add_transition('m414', 'paid', 'held', new_state => true);
-- An edge between states that stay: no NOTICE.
SELECT steward.add_transition('m414', 'new', 'held');
SELECT steward.drop_transition('m414', 'new', 'held');
-- Both ends go: one NOTICE naming both.
SELECT steward.add_transition('m414', 'held', 'lost', new_state => true);
SELECT steward.drop_transition('m414', 'paid', 'held');
SELECT steward.drop_transition('m414', 'held', 'lost');
SELECT states, initial, transitions FROM steward.state_machines WHERE name = 'm414';

-- drop_initial_state: a state initial and in no transition goes with it.
SELECT steward.add_transition('m414', 'paid', 'draft', new_state => true);
SELECT steward.add_initial_state('m414', 'draft');
SELECT steward.drop_transition('m414', 'paid', 'draft');
SELECT steward.drop_initial_state('m414', 'draft');
SELECT states, initial FROM steward.state_machines WHERE name = 'm414';

-- A state the machine does not declare, and a declared one not initial.
SELECT steward.drop_initial_state('m414', 'zz');
SELECT steward.drop_initial_state('m414', 'zz', if_exists => true);
SELECT steward.drop_initial_state('m414', 'paid');
SELECT steward.drop_initial_state('m414', 'paid', if_exists => true);

SELECT steward.drop_state_machine('m414');
