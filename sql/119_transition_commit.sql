-- steward.transition_counts (steward_state_transitions_total) counts the
-- transitions of committed transactions only (review11 R11-8): an update
-- that rolls back -- an error after it, ROLLBACK, a rolled-back savepoint,
-- ROLLBACK PREPARED, a failure at COMMIT -- moved no row.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY terse

CREATE TABLE tc_orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created') USING steward;
SELECT steward.create_state_machine('tc_flow', ARRAY['created', 'paid', 'shipped'],
                                    ARRAY['created'], ARRAY['created->paid', 'paid->shipped']);
SELECT steward.attach_state_machine('tc_orders', 'status', 'tc_flow');
INSERT INTO tc_orders (id) SELECT g FROM generate_series(1, 20) g;
CREATE VIEW tc_counts AS
SELECT from_state || ' -> ' || to_state AS edge, transitions
  FROM steward.transition_counts WHERE relid = 'tc_orders'::regclass AND transitions > 0
 ORDER BY 1;

-- Committed: counted.
UPDATE tc_orders SET status = 'paid' WHERE id IN (1, 2);
SELECT * FROM tc_counts;

-- The transaction fails after the update: not counted.
BEGIN;
UPDATE tc_orders SET status = 'paid' WHERE id = 3;
SELECT 1 / 0;
COMMIT;
-- ROLLBACK of five moves: not counted.
BEGIN;
UPDATE tc_orders SET status = 'paid' WHERE id BETWEEN 3 AND 7;
-- Not counted inside the transaction either (not committed yet).
SELECT * FROM tc_counts;
ROLLBACK;
SELECT * FROM tc_counts;

-- A rolled-back savepoint drops its own moves, the rest commits; a
-- released savepoint's moves count with its transaction.
BEGIN;
UPDATE tc_orders SET status = 'paid' WHERE id = 3;
SAVEPOINT a;
UPDATE tc_orders SET status = 'paid' WHERE id = 4;
UPDATE tc_orders SET status = 'shipped' WHERE id = 3;
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
UPDATE tc_orders SET status = 'paid' WHERE id = 5;
RELEASE SAVEPOINT b;
COMMIT;
SELECT * FROM tc_counts;
SELECT id, status FROM tc_orders WHERE id BETWEEN 3 AND 5 ORDER BY id;

-- An error caught by PL/pgSQL (its block is a subtransaction).
DO $$
BEGIN
    UPDATE tc_orders SET status = 'paid' WHERE id = 6;
    BEGIN
        UPDATE tc_orders SET status = 'paid' WHERE id = 7;
        PERFORM 1 / 0;
    EXCEPTION WHEN division_by_zero THEN NULL;
    END;
END $$;
SELECT * FROM tc_counts;

-- A failure at COMMIT (a deferred constraint): not counted.
CREATE TABLE tc_ref (id int PRIMARY KEY);
CREATE TABLE tc_child (o int REFERENCES tc_ref DEFERRABLE INITIALLY DEFERRED);
BEGIN;
UPDATE tc_orders SET status = 'paid' WHERE id = 8;
INSERT INTO tc_child VALUES (42);
COMMIT;
SELECT * FROM tc_counts;

-- Prepared transactions: counted once COMMIT PREPARED committed them,
-- never after ROLLBACK PREPARED.
BEGIN;
UPDATE tc_orders SET status = 'paid' WHERE id BETWEEN 9 AND 11;
PREPARE TRANSACTION 'tc_rolled_back';
BEGIN;
UPDATE tc_orders SET status = 'paid' WHERE id BETWEEN 12 AND 13;
PREPARE TRANSACTION 'tc_committed';
SELECT * FROM tc_counts;
ROLLBACK PREPARED 'tc_rolled_back';
COMMIT PREPARED 'tc_committed';
SELECT * FROM tc_counts;
SELECT * FROM tc_counts;
SELECT count(*) FILTER (WHERE status = 'paid') AS paid FROM tc_orders;

DROP VIEW tc_counts;
DROP TABLE tc_orders, tc_child, tc_ref;
SELECT steward.drop_state_machine('tc_flow');
