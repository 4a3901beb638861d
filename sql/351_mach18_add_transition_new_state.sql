-- mach18 item 3: steward.add_transition turned a to_state the machine
-- does not declare into a new state with only a NOTICE, so a typo
-- ('shiped') made a state, and every row sent there passed as legal.  A
-- new state now needs new_state => true: without it the call is refused
-- (22023), the HINT giving the exact call that adds it; new_state => true
-- for a state the machine declares is refused too (42710).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

SELECT steward.create_state_machine('m18_orders', ARRAY['created', 'paid', 'shipped'],
                                    ARRAY['created'], ARRAY['created->paid']);
CREATE TABLE m18_o (id int PRIMARY KEY, status text NOT NULL) USING steward;
SELECT steward.attach_state_machine('m18_o', 'status', 'm18_orders');
INSERT INTO m18_o VALUES (1, 'created');

-- The typo: refused, the machine unchanged.
SELECT steward.add_transition('m18_orders', 'paid', 'shiped');
\echo :LAST_ERROR_SQLSTATE
SELECT states, transitions FROM steward.machine_definitions WHERE name = 'm18_orders';
-- The declared state it meant: added.
SELECT steward.add_transition('m18_orders', 'paid', 'shipped');
-- A new state, said so: added, with the NOTICE.
SELECT steward.add_transition('m18_orders', 'paid', 'on_hold', new_state => true);
UPDATE m18_o SET status = 'paid' WHERE id = 1;
UPDATE m18_o SET status = 'on_hold' WHERE id = 1 RETURNING id, status;
-- new_state => true for a state the machine declares: refused.
SELECT steward.add_transition('m18_orders', 'created', 'shipped', new_state => true);
\echo :LAST_ERROR_SQLSTATE
-- Positional, and NULL.
SELECT steward.add_transition('m18_orders', 'on_hold', 'cancelled', true);
SELECT steward.add_transition('m18_orders', 'on_hold', 'paid', NULL);
\echo :LAST_ERROR_SQLSTATE
-- A from_state that is no state keeps its own error, whatever new_state.
SELECT steward.add_transition('m18_orders', 'payd', 'refunded');
\echo :LAST_ERROR_SQLSTATE
SELECT states, transitions FROM steward.machine_definitions WHERE name = 'm18_orders';

DROP TABLE m18_o;
SELECT steward.drop_state_machine('m18_orders');
