-- sec7: docs/security.md says that attaching a machine you were granted
-- (grant_state_machine) trusts its owner with your tables: its rule
-- changes reach them, and each change -- a skipped if_not_exists /
-- if_exists call too -- holds SHARE ROW EXCLUSIVE on them until the
-- owner's transaction ends; a machine of your own is out of its reach.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r407_owner;
CREATE ROLE r407_tenant;
CREATE SCHEMA s407 AUTHORIZATION r407_tenant;
SET ROLE r407_owner;
SELECT steward.create_state_machine('m407', ARRAY['new', 'shipped'], ARRAY['new'],
                                    ARRAY['new->shipped']);
SELECT steward.grant_state_machine('m407', 'r407_tenant');
SET ROLE r407_tenant;
CREATE TABLE s407.orders (id bigint PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('s407.orders', 'st', 'm407');
INSERT INTO s407.orders VALUES (1, 'new');
UPDATE s407.orders SET st = 'shipped';
-- Refused: the machine has no shipped -> new.
UPDATE s407.orders SET st = 'new';
RESET ROLE;
CREATE FUNCTION pg_temp.tenant_locks() RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(string_agg(mode, ', ' ORDER BY mode), 'none') FROM pg_locks
     WHERE locktype = 'relation' AND pid = pg_backend_pid()
       AND relation = 's407.orders'::regclass AND granted
$$;

-- 1. The owner's call that changes nothing locks the tenant's table.
BEGIN;
SET ROLE r407_owner;
SELECT steward.add_transition('m407', 'new', 'shipped', if_not_exists => true);
RESET ROLE;
SELECT pg_temp.tenant_locks() AS skipped_add_transition;
ROLLBACK;
BEGIN;
SET ROLE r407_owner;
SELECT steward.drop_transition('m407', 'shipped', 'new', if_exists => true);
RESET ROLE;
SELECT pg_temp.tenant_locks() AS skipped_drop_transition;
ROLLBACK;

-- 2. The owner's edge shipped -> new reaches the tenant's table.
SET ROLE r407_owner;
SELECT steward.add_transition('m407', 'shipped', 'new');
SET ROLE r407_tenant;
UPDATE s407.orders SET st = 'new' RETURNING st;
UPDATE s407.orders SET st = 'shipped';

-- 3. What to do instead: a machine of the tenant's own.  The owner's
-- changes, and its calls' locks, no longer reach the table.
SELECT steward.create_state_machine('m407_own', ARRAY['new', 'shipped'], ARRAY['new'],
                                    ARRAY['new->shipped']);
SELECT steward.detach_state_machine('s407.orders', 'st');
SELECT steward.attach_state_machine('s407.orders', 'st', 'm407_own');
RESET ROLE;
BEGIN;
SET ROLE r407_owner;
SELECT steward.add_transition('m407', 'shipped', 'new', if_not_exists => true);
RESET ROLE;
SELECT pg_temp.tenant_locks() AS skipped_add_transition_own_machine;
ROLLBACK;
SET ROLE r407_owner;
SELECT steward.drop_transition('m407', 'shipped', 'new');
SELECT steward.add_transition('m407', 'shipped', 'new');
SET ROLE r407_tenant;
UPDATE s407.orders SET st = 'new';
SELECT st FROM s407.orders;
RESET ROLE;

DROP FUNCTION pg_temp.tenant_locks();
DROP SCHEMA s407 CASCADE;
SELECT steward.drop_state_machine('m407_own');
SELECT steward.drop_state_machine('m407');
DROP ROLE r407_tenant;
DROP ROLE r407_owner;
