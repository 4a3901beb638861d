-- edge1: an attached state machine gains an edge (and the new state it
-- introduces) or loses one in place, with steward.add_transition and
-- steward.drop_transition, so an order workflow gaining "on_hold" keeps
-- its guarantee throughout (before, the machine had to be detached and
-- created again).  Only its owner may change it; a state that
-- drop_transition would take away is refused while rows are in it.
\set SHOW_CONTEXT never
\set VERBOSITY default
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor_min_calls = 1000000000;   -- no foreground load here
CREATE ROLE e1_owner;
CREATE ROLE e1_grantee;
CREATE SCHEMA e1;
GRANT ALL ON SCHEMA e1 TO e1_owner, e1_grantee;
SET ROLE e1_owner;
SELECT steward.create_state_machine('e1_orders', ARRAY['created', 'paid', 'shipped'],
                                    ARRAY['created'], ARRAY['created->paid', 'paid->shipped']);
CREATE TABLE e1.orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created',
                        status_at timestamptz) USING steward;
SELECT steward.attach_state_machine('e1.orders', 'status', 'e1_orders', 'status_at');
INSERT INTO e1.orders (id) SELECT g FROM generate_series(1, 4) g;
UPDATE e1.orders SET status = 'paid';
SELECT state, rows FROM steward.state_counts WHERE relid = 'e1.orders'::regclass ORDER BY state;
SELECT steward.grant_state_machine('e1_orders', 'e1_grantee');
RESET ROLE;
SET ROLE e1_grantee;
CREATE TABLE e1.returns (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created') USING steward;
SELECT steward.attach_state_machine('e1.returns', 'status', 'e1_orders');
INSERT INTO e1.returns VALUES (1, 'created');
UPDATE e1.returns SET status = 'paid';
RESET ROLE;

-- Not yet an edge (nor a state).
UPDATE e1.orders SET status = 'on_hold' WHERE id = 1;

-- The owner adds paid -> on_hold: on_hold is a new state (NOTICE).
SET ROLE e1_owner;
SELECT steward.add_transition('e1_orders', 'paid', 'on_hold', new_state => true);
SELECT states, transitions, attached_to FROM steward.state_machines WHERE name = 'e1_orders';
-- Enforced at once on both tables, the grantee's too; and no more.
UPDATE e1.orders SET status = 'on_hold' WHERE id = 1 RETURNING id, status, status_at IS NOT NULL AS stamped;
UPDATE e1.orders SET status = 'paid' WHERE id = 1;
RESET ROLE;
SET ROLE e1_grantee;
UPDATE e1.returns SET status = 'on_hold' WHERE id = 1 RETURNING id, status;
-- A grantee may use the machine, not change it.
SELECT steward.add_transition('e1_orders', 'on_hold', 'paid');
SELECT steward.drop_transition('e1_orders', 'paid', 'on_hold');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE e1_owner;
-- The way back, between declared states: no NOTICE.
SELECT steward.add_transition('e1_orders', 'on_hold', 'paid');
UPDATE e1.orders SET status = 'paid' WHERE id = 1 RETURNING id, status;
UPDATE e1.orders SET status = 'on_hold' WHERE id IN (1, 2);
-- The maintained counts know the new state.
SELECT state, rows FROM steward.state_counts WHERE relid = 'e1.orders'::regclass ORDER BY state;
-- The column's label, which carries the machine in dumps, follows.
SELECT l.label::jsonb -> 'states' AS label_states, l.label::jsonb -> 'transitions' AS label_transitions
  FROM pg_seclabel l
 WHERE l.objoid = 'e1.orders'::regclass AND l.provider = 'steward'
   AND l.objsubid = (SELECT attnum FROM pg_attribute WHERE attrelid = 'e1.orders'::regclass AND attname = 'status');

-- Refusals.
SELECT steward.add_transition('e1_orders', 'paid', 'on_hold');        -- 42710
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_transition('e1_orders', 'archived', 'created');   -- 22023: from a new state
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_transition('e1_orders', 'paid', 'paid');           -- 22023
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_transition('e1_orders', 'paid', 'a->b', true);     -- 22023
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_transition('e1_orders', 'paid', repeat('x', 64), true);  -- 42622
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_transition('e1_orders', NULL, 'paid');             -- 22004
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_transition('e1_nope', 'paid', 'shipped');          -- 42704
\echo :LAST_ERROR_SQLSTATE
SELECT steward.drop_transition('e1_orders', 'shipped', 'paid');       -- 42704
\echo :LAST_ERROR_SQLSTATE
-- msg4's refusal of a batch across a missing edge names add_transition.
CALL steward.run_transition('e1.orders', 'paid', 'created');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT steward.add_transition('data_lifecycle', 'new', 'validated'); -- 42501: built in
\echo :LAST_ERROR_SQLSTATE
-- 65 states: one too many.
SELECT steward.create_state_machine('e1_big', ARRAY(SELECT 's' || g FROM generate_series(1, 64) g),
                                    ARRAY['s1'], '{}');
SELECT steward.add_transition('e1_big', 's1', 's65', true);           -- 54000
\echo :LAST_ERROR_SQLSTATE
SELECT steward.drop_state_machine('e1_big');

-- drop_transition: only later updates are restricted; on_hold stays a
-- state while on_hold -> paid names it, and its rows stay.
SET ROLE e1_owner;
SELECT steward.drop_transition('e1_orders', 'paid', 'on_hold');
UPDATE e1.orders SET status = 'on_hold' WHERE id = 3;
SELECT id, status FROM e1.orders ORDER BY id;
-- The last edge of on_hold: refused while rows are in it (grantee's too).
SELECT steward.drop_transition('e1_orders', 'on_hold', 'paid');
\echo :LAST_ERROR_SQLSTATE
-- A state check naming it is refused too, with its removal as HINT.
SELECT steward.set_state_check('e1.orders', 'on_hold', 'SELECT 0');
UPDATE e1.orders SET status = 'paid' WHERE status = 'on_hold';
RESET ROLE;
SET ROLE e1_grantee;
UPDATE e1.returns SET status = 'paid' WHERE status = 'on_hold';
RESET ROLE;
SET ROLE e1_owner;
SELECT steward.drop_transition('e1_orders', 'on_hold', 'paid');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_state_check('e1.orders', 'on_hold', NULL);
-- No row in on_hold: it goes with its last edge.
SELECT steward.drop_transition('e1_orders', 'on_hold', 'paid');
SELECT states, transitions FROM steward.state_machines WHERE name = 'e1_orders';
UPDATE e1.orders SET status = 'on_hold' WHERE id = 1;
SELECT l.label::jsonb -> 'states' AS label_states, l.label::jsonb -> 'transitions' AS label_transitions
  FROM pg_seclabel l
 WHERE l.objoid = 'e1.orders'::regclass AND l.provider = 'steward'
   AND l.objsubid = (SELECT attnum FROM pg_attribute WHERE attrelid = 'e1.orders'::regclass AND attname = 'status');

-- A partitioned table: the rows of its partitions count, those of a
-- partition governed by a machine of its own do not.
SELECT steward.create_state_machine('e1_other', ARRAY['created', 'on_hold'], ARRAY['created', 'on_hold'], '{}');
CREATE TABLE e1.parts (id int, status text NOT NULL DEFAULT 'created') PARTITION BY RANGE (id);
CREATE TABLE e1.parts_1 PARTITION OF e1.parts FOR VALUES FROM (1) TO (10) USING steward;
CREATE TABLE e1.parts_2 PARTITION OF e1.parts FOR VALUES FROM (10) TO (20) USING steward;
SELECT steward.attach_state_machine('e1.parts_2', 'status', 'e1_other');
SELECT steward.add_transition('e1_orders', 'created', 'cancelled', new_state => true);
SELECT steward.attach_state_machine('e1.parts', 'status', 'e1_orders');
INSERT INTO e1.parts VALUES (1, 'created'), (10, 'on_hold');
UPDATE e1.parts SET status = 'cancelled' WHERE id = 1;
SELECT steward.drop_transition('e1_orders', 'created', 'cancelled');
\echo :LAST_ERROR_SQLSTATE
DELETE FROM e1.parts WHERE id = 1;
SELECT steward.drop_transition('e1_orders', 'created', 'cancelled');

-- The new state as the target of its last edge: the HINT adds an edge
-- out, and following it lets the state go.
SELECT steward.add_transition('e1_orders', 'paid', 'on_hold', new_state => true);
UPDATE e1.orders SET status = 'on_hold' WHERE id = 4;
SELECT steward.drop_transition('e1_orders', 'paid', 'on_hold');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.add_transition('e1_orders', 'on_hold', 'paid');
CALL steward.run_transition('e1.orders', 'on_hold', 'paid');
SELECT steward.drop_transition('e1_orders', 'on_hold', 'paid');
-- parts_2's row in on_hold follows e1_other: not counted.
SELECT steward.drop_transition('e1_orders', 'paid', 'on_hold');
SELECT states, transitions FROM steward.state_machines WHERE name = 'e1_orders';
SELECT id, status FROM e1.orders ORDER BY id;
RESET ROLE;

-- Locks: SHARE ROW EXCLUSIVE on each attached table and on the partitions
-- below a partitioned one (writes wait, reads go on).
BEGIN;
SELECT steward.add_transition('e1_orders', 'shipped', 'paid');
SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
 WHERE l.pid = pg_backend_pid() AND c.relnamespace = 'e1'::regnamespace AND c.relkind IN ('r', 'p')
   AND l.granted
 ORDER BY 1, 2;
ROLLBACK;

DROP SCHEMA e1 CASCADE;
SELECT steward.drop_state_machine('e1_other');
SELECT steward.drop_state_machine('e1_orders');
DROP OWNED BY e1_owner, e1_grantee;
DROP ROLE e1_owner, e1_grantee;
