-- State machines have owners (issue 11 item 7): only the owner (a role
-- with its privileges, or a superuser) may drop a machine or give it away;
-- attaching one needs ownership, a grant from its owner, or a built-in
-- machine.  Every refusal is 42501.
\set SHOW_CONTEXT never
CREATE ROLE mach_a;
CREATE ROLE mach_b;
CREATE ROLE mach_a_app IN ROLE mach_a;
GRANT CREATE ON SCHEMA public TO mach_a, mach_b, mach_a_app;

SET ROLE mach_a;
SELECT steward.create_state_machine('shop_orders',
    ARRAY['new', 'paid', 'shipped'], ARRAY['new'], ARRAY['new->paid', 'paid->shipped']);
CREATE TABLE a_orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new') USING steward;
SELECT name, owner, usage_roles FROM steward.state_machines WHERE name = 'shop_orders';
RESET ROLE;

-- The attack of the issue: mach_b drops mach_a's machine and recreates it
-- with weaker edges, which mach_a would then attach unknowingly.
SET ROLE mach_b;
SELECT steward.drop_state_machine('shop_orders');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.create_state_machine('shop_orders',
    ARRAY['new', 'paid', 'shipped'], ARRAY['new', 'shipped'], ARRAY['new->shipped']);
\echo :LAST_ERROR_SQLSTATE
-- Nor may it take the machine, grant it to itself, or attach it.
SELECT steward.alter_state_machine_owner('shop_orders', 'mach_b');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.grant_state_machine('shop_orders', 'mach_b');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.revoke_state_machine('shop_orders', 'mach_a');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE b_orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('b_orders', 'status', 'shop_orders');
\echo :LAST_ERROR_SQLSTATE
-- ... nor write the catalog directly.
UPDATE steward.machine_definitions SET transitions = ARRAY['new->shipped'];
\echo :LAST_ERROR_SQLSTATE
-- Built-in machines are everyone's to attach and no one's to drop.
CREATE TABLE b_migration (id int PRIMARY KEY, phase text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('b_migration', 'phase', 'data_lifecycle');
SELECT steward.drop_state_machine('data_lifecycle');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.grant_state_machine('data_lifecycle', 'mach_b');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- mach_a's machine is as it made it, and it attaches it.
SET ROLE mach_a;
SELECT transitions, initial FROM steward.state_machines WHERE name = 'shop_orders';
SELECT steward.attach_state_machine('a_orders', 'status', 'shop_orders');
INSERT INTO a_orders VALUES (1);
UPDATE a_orders SET status = 'shipped' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;

-- A member with mach_a's privileges acts as mach_a.
SET ROLE mach_a_app;
CREATE TABLE app_orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('app_orders', 'status', 'shop_orders');
RESET ROLE;

-- A grant lets mach_b attach the machine; revoking stops new attachments,
-- and an attached machine cannot be dropped from under mach_b.
SET ROLE mach_a;
SELECT steward.grant_state_machine('shop_orders', 'mach_b');
SELECT steward.grant_state_machine('shop_orders', 'mach_b');
SELECT name, owner, usage_roles FROM steward.state_machines WHERE name = 'shop_orders';
RESET ROLE;
SET ROLE mach_b;
SELECT steward.attach_state_machine('b_orders', 'status', 'shop_orders');
CREATE TABLE b_orders_2 (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new') USING steward;
RESET ROLE;
SET ROLE mach_a;
SELECT steward.revoke_state_machine('shop_orders', 'mach_b');
SELECT steward.detach_state_machine('a_orders', 'status');
SELECT steward.drop_state_machine('shop_orders');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE mach_a_app;
SELECT steward.detach_state_machine('app_orders', 'status');
RESET ROLE;
SET ROLE mach_b;
SELECT steward.attach_state_machine('b_orders_2', 'status', 'shop_orders');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO b_orders VALUES (1);
UPDATE b_orders SET status = 'shipped' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT steward.detach_state_machine('b_orders', 'status');
RESET ROLE;

-- Giving a machine away: the owner, to a role it is a member of; a
-- superuser to anyone.
SET ROLE mach_a;
SELECT steward.alter_state_machine_owner('shop_orders', 'mach_b');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT steward.alter_state_machine_owner('shop_orders', 'mach_b');
SET ROLE mach_a;
SELECT steward.drop_state_machine('shop_orders');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE mach_b;
SELECT steward.drop_state_machine('shop_orders');
RESET ROLE;

-- Security labels attach machines too (src/tableam/labels.sql): the same
-- rule holds there.
SET ROLE mach_a;
SELECT steward.create_state_machine('a_only', ARRAY['x', 'y'], ARRAY['x'], ARRAY['x->y']);
RESET ROLE;
SET ROLE mach_b;
SECURITY LABEL FOR steward ON COLUMN b_orders_2.status IS
  '{"v": 1, "kind": "state", "machine": "a_only", "states": ["x", "y"], "initial": ["x"], "transitions": ["x->y"]}';
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS b_rules FROM steward.tracked_columns WHERE relid = 'b_orders_2'::regclass;
-- A label naming a machine this database lacks makes it, for the role running
-- the label (here the table's owner).
SECURITY LABEL FOR steward ON COLUMN b_orders_2.status IS
  '{"v": 1, "kind": "state", "machine": "b_labelled", "states": ["new", "done"], "initial": ["new"], "transitions": ["new->done"]}';
SELECT name, owner FROM steward.state_machines WHERE name = 'b_labelled';
SELECT steward.detach_state_machine('b_orders_2', 'status');
SELECT steward.drop_state_machine('b_labelled');
RESET ROLE;

-- Nobody gained anything.
SELECT rolname, rolsuper FROM pg_roles WHERE rolname LIKE 'mach\_%' ORDER BY 1;

SELECT steward.drop_state_machine('a_only');
DROP TABLE a_orders, app_orders, b_orders, b_orders_2, b_migration;
REVOKE CREATE ON SCHEMA public FROM mach_a, mach_b, mach_a_app;
DROP ROLE mach_a_app, mach_a, mach_b;
