-- Lifecycle state machines enforced by the steward AM.
-- PL/pgSQL line numbers in CONTEXT lines would make the output brittle.
\set SHOW_CONTEXT never

-- Defining machines: validation.
SELECT steward.create_state_machine('order_status',
    ARRAY['new', 'paid', 'shipped', 'delivered', 'refunded', 'cancelled'],
    ARRAY['new'],
    ARRAY['new->paid', 'new->cancelled', 'paid->shipped', 'paid->refunded',
          'shipped->delivered']);
SELECT steward.create_state_machine('order_status', ARRAY['a'], ARRAY['a'], '{}');
SELECT steward.create_state_machine('', ARRAY['a'], ARRAY['a'], '{}');
SELECT steward.create_state_machine('m', '{}', ARRAY['a'], '{}');
SELECT steward.create_state_machine('m', ARRAY['a', 'b', 'a'], ARRAY['a'], '{}');
SELECT steward.create_state_machine('m', ARRAY['a', 'b'], '{}', '{}');
SELECT steward.create_state_machine('m', ARRAY['a', 'b'], ARRAY['c'], '{}');
SELECT steward.create_state_machine('m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->c']);
SELECT steward.create_state_machine('m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a-b']);
SELECT steward.create_state_machine('m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a=>b']);
SELECT steward.create_state_machine('m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->a']);
SELECT steward.create_state_machine('m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b', 'a->b']);
SELECT steward.create_state_machine('m', ARRAY['a', 'b'], ARRAY['a'], NULL);
SELECT steward.create_state_machine('m', ARRAY['a', ''], ARRAY['a'], '{}');
SELECT steward.create_state_machine('m', ARRAY['a', 'x->y'], ARRAY['a'], '{}');
SELECT steward.create_state_machine('m', ARRAY(SELECT 's' || g FROM generate_series(1, 65) g), ARRAY['s1'], '{}');

-- The built-in machine from the guide.
SELECT name, states, initial, transitions, builtin FROM steward.state_machines
 WHERE name = 'data_lifecycle';

-- Attaching: owner only, text column, existing rows must be declared.
CREATE TABLE orders (
    order_id          bigint PRIMARY KEY,
    status            text NOT NULL DEFAULT 'new',
    status_changed_at timestamptz,
    note              text,
    amount            int
) USING steward;
INSERT INTO orders (order_id) VALUES (1), (2);
INSERT INTO orders VALUES (3, 'lost'), (4, 'lost'), (5, 'bogus');
SELECT steward.attach_state_machine('orders', 'status', 'order_status', 'status_changed_at');
DELETE FROM orders WHERE order_id >= 3;
SELECT steward.attach_state_machine('orders', 'amount', 'order_status');
SELECT steward.attach_state_machine('orders', 'status', 'no_such_machine');
SELECT steward.attach_state_machine('orders', 'status', 'order_status', 'note');
SELECT steward.attach_state_machine('orders', 'status', 'order_status', 'status');
SELECT steward.attach_state_machine('orders', 'nope', 'order_status');
SELECT steward.attach_state_machine(NULL, 'status', 'order_status');
SELECT steward.attach_state_machine('orders', 'status', 'order_status', 'status_changed_at');
SELECT steward.attach_state_machine('orders', 'status', 'order_status');
SELECT relid, column_name, kind, machine, changed_at_column FROM steward.tracked_columns
 WHERE relid = 'orders'::regclass;
CREATE ROLE lifecycle_stranger;
SET ROLE lifecycle_stranger;
SELECT steward.detach_state_machine('orders', 'status');
RESET ROLE;

-- INSERT must use an initial state; the AM stamps changed_at.
INSERT INTO orders (order_id) VALUES (10)
RETURNING status, status_changed_at = statement_timestamp() AS stamped;
INSERT INTO orders (order_id, status) VALUES (11, 'paid');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO orders (order_id, status) VALUES (11, 'teleported');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO orders (order_id, status) VALUES (11, 'new') ON CONFLICT (order_id) DO NOTHING;

-- UPDATE must follow an edge or keep the state.
UPDATE orders SET status = 'paid' WHERE order_id = 1
RETURNING status, status_changed_at = statement_timestamp() AS stamped;
UPDATE orders SET status = 'new' WHERE order_id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE orders SET status = 'delivered' WHERE order_id = 2;
UPDATE orders SET status = 'shipped', note = 'tracking 42' WHERE order_id = 1;
UPDATE orders SET status = 'delivered' WHERE order_id = 1;
UPDATE orders SET status = 'refunded' WHERE order_id = 1;
UPDATE orders SET status = 'nowhere' WHERE order_id = 2;
-- Keeping the state is always allowed and does not touch changed_at;
-- writing changed_at is refused unless it writes the stored time back.
UPDATE orders SET status_changed_at = '2020-01-01' WHERE order_id = 2;
UPDATE orders SET status_changed_at = '2020-01-01', status = 'shipped' WHERE order_id = 2;
SELECT status_changed_at AS before_orm FROM orders WHERE order_id = 1 \gset
UPDATE orders SET status_changed_at = status_changed_at, note = 'orm' WHERE order_id = 1
RETURNING status_changed_at = :'before_orm' AS kept;
UPDATE orders SET note = 'same state', status = 'new' WHERE order_id = 2
RETURNING status, status_changed_at;
-- ON CONFLICT DO UPDATE and MERGE are UPDATEs too.
INSERT INTO orders (order_id) VALUES (2)
  ON CONFLICT (order_id) DO UPDATE SET status = 'shipped';
MERGE INTO orders o USING (VALUES (2)) v(id) ON o.order_id = v.id
  WHEN MATCHED THEN UPDATE SET status = 'cancelled';
SELECT order_id, status FROM orders ORDER BY order_id;

-- COPY may load any declared state (restores), but not an undeclared one.
COPY orders (order_id, status) FROM stdin;
20	shipped
21	refunded
\.
COPY orders (order_id, status) FROM stdin;
22	misplaced
\.
-- session_replication_role = replica stores rows as sent.
SET session_replication_role = replica;
INSERT INTO orders (order_id, status) VALUES (30, 'delivered');
RESET session_replication_role;
SELECT order_id, status, status_changed_at IS NULL AS not_stamped
  FROM orders WHERE order_id >= 20 ORDER BY order_id;

-- Counters and views.
SELECT relid, illegal_transitions FROM steward.table_counters() WHERE relid = 'orders'::regclass;
SELECT from_state, to_state, transitions FROM steward.transition_counts
 WHERE relid = 'orders'::regclass ORDER BY 1, 2;
SELECT state, rows FROM steward.state_counts WHERE relid = 'orders'::regclass ORDER BY state;
SELECT name, attached_to FROM steward.state_machines WHERE name = 'order_status';

-- Machines cannot be dropped while attached, built-ins never.
SELECT steward.drop_state_machine('order_status');
SELECT steward.drop_state_machine('data_lifecycle');
SELECT steward.drop_state_machine('never_defined');

-- The built-in machine on a migration table.
CREATE TABLE accounts (id int PRIMARY KEY, lifecycle text NOT NULL DEFAULT 'new',
                       legacy_balance numeric, balance numeric) USING steward;
SELECT steward.attach_state_machine('accounts', 'lifecycle', 'data_lifecycle');
INSERT INTO accounts (id, legacy_balance) SELECT g, g * 10 FROM generate_series(1, 2500) g;
UPDATE accounts SET lifecycle = 'pending_backfill';
-- Validation queries per state: they return the number of violating rows.
SELECT steward.set_state_check('accounts', 'backfilled',
    'SELECT count(*) FROM accounts WHERE lifecycle = ''backfilled'' AND balance IS DISTINCT FROM legacy_balance');
SELECT steward.set_state_check('accounts', 'pending_backfill',
    'SELECT count(*) FROM accounts WHERE lifecycle = ''pending_backfill'' AND balance IS NOT NULL');
SELECT steward.set_state_check('accounts', 'warp', 'SELECT 0');
SELECT steward.set_state_check('accounts', 'backfilled', 'DELETE FROM accounts');
SELECT steward.set_state_check('accounts', 'backfilled', 'SELECT 1; SELECT 2');
SELECT steward.set_state_check('accounts', 'backfilled', 'SELEC 1');
SELECT state, passed, violations FROM steward.validate('accounts');

-- A backfill in committed batches, with set_sql applied in the same statement.
CALL steward.run_transition('accounts', 'pending_backfill', 'backfilled',
                            'balance = legacy_balance', 1000);
SELECT state, passed, violations FROM steward.validate('accounts');
SELECT rows_done, rows_remaining, batches, retries, status
  FROM steward.transition_progress WHERE relid = 'accounts'::regclass;
-- Its governor job names the table schema-qualified, as backfills do.
SELECT kind, label, ref = (SELECT max(id) FROM steward.transition_runs) AS its_run
  FROM steward.governor_jobs WHERE kind = 'transition' ORDER BY job_id DESC LIMIT 1;
-- Re-running is idempotent: nothing left to move.
CALL steward.run_transition('accounts', 'pending_backfill', 'backfilled', 'balance = legacy_balance');
SELECT lifecycle, count(*) FROM accounts GROUP BY 1;
-- validate catches a bad row and keeps history.
UPDATE accounts SET balance = 0 WHERE id = 7;
SELECT state, passed, violations FROM steward.validate('accounts');
SELECT state, passed, violations FROM steward.validation_runs
 WHERE relid = 'accounts'::regclass ORDER BY checked_at, state;

-- run_transition refuses what it cannot do safely.
CALL steward.run_transition('accounts', 'backfilled', 'validated');
-- From a final state nothing is allowed: the DETAIL says so.
CALL steward.run_transition('accounts', 'validated', 'new');
CALL steward.run_transition('accounts', 'backfilled', 'dual_written', 'balance = 1; DROP TABLE accounts');
CALL steward.run_transition('accounts', 'backfilled', 'dual_written', 'balance = 1 WHERE id = 1');
CALL steward.run_transition('accounts', 'backfilled', 'dual_written', 'lifecycle = ''validated''');
CALL steward.run_transition('accounts', 'backfilled', 'dual_written', 'balance = 1) --');
CALL steward.run_transition('accounts', 'backfilled', 'dual_written', NULL, 0);
CALL steward.run_transition('orders', 'new', 'paid', NULL, 10, 0);
CALL steward.run_transition('plain_nothing', 'a', 'b');
BEGIN;
CALL steward.run_transition('accounts', 'backfilled', 'dual_written');
ROLLBACK;
SET ROLE lifecycle_stranger;
CALL steward.run_transition('accounts', 'backfilled', 'dual_written');
RESET ROLE;
-- Rollback edges work through run_transition too.
CALL steward.run_transition('accounts', 'backfilled', 'pending_backfill', 'balance = NULL', 500, 100000);
SELECT lifecycle, count(*), count(balance) FROM accounts GROUP BY 1;

-- Renaming and dropping columns keep the rules consistent.
ALTER TABLE orders RENAME COLUMN status TO order_state;
ALTER TABLE orders RENAME COLUMN status_changed_at TO state_since;
SELECT column_name, machine, changed_at_column FROM steward.tracked_columns
 WHERE relid = 'orders'::regclass;
UPDATE orders SET order_state = 'paid' WHERE order_id = 10 RETURNING state_since IS NOT NULL;
ALTER TABLE orders DROP COLUMN state_since;
SELECT column_name, machine, changed_at_column FROM steward.tracked_columns
 WHERE relid = 'orders'::regclass;
ALTER TABLE orders ALTER COLUMN order_state DROP DEFAULT,
                   ALTER COLUMN order_state TYPE int USING 0;

-- Detach, then the machine can go.
SELECT steward.detach_state_machine('orders', 'order_state');
SELECT steward.detach_state_machine('orders', 'order_state');
UPDATE orders SET order_state = 'anything' WHERE order_id = 10;
SELECT steward.drop_state_machine('order_status');
DROP TABLE orders, accounts;
DROP ROLE lifecycle_stranger;
SELECT count(*) AS rules_left FROM steward.column_rules
 WHERE relid <> 'steward.migration_runs'::regclass;   -- pg_steward's own rule stays
