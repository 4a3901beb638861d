-- review34 R1: create_state_machine(..., if_not_exists => true) kept a
-- machine of that name that another role had made first, whatever its
-- definition, with a NOTICE only.  Any role may create a machine, so a
-- role with UPDATE only on orders made 'r393_flow' first, with an edge
-- shipped -> new (or added it later, as its owner), and granted it to
-- the application: the migration script's create was skipped, its
-- attach_state_machine attached the other role's machine (a superuser's
-- attaches any machine), and the clerk reset a shipped order to new.
-- Now if_not_exists keeps only a machine of the caller's (owner, or a
-- role it is a member of; a superuser's rights do not count) or a
-- built-in one; another role's is 42710 naming its owner.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE ROLE r393_squatter;
CREATE ROLE r393_app;
CREATE ROLE r393_member IN ROLE r393_app;
GRANT USAGE ON SCHEMA steward TO r393_squatter, r393_app, r393_member;

-- The other role makes the name first and lets the application use it.
SET ROLE r393_squatter;
SELECT steward.create_state_machine('r393_flow', ARRAY['new', 'paid', 'shipped'],
                                    ARRAY['new'],
                                    ARRAY['new->paid', 'paid->shipped', 'shipped->new']);
SELECT steward.grant_state_machine('r393_flow', 'r393_app');
-- Its own script run again: kept, a NOTICE.
SELECT steward.create_state_machine('r393_flow', ARRAY['new', 'paid', 'shipped'],
                                    ARRAY['new'],
                                    ARRAY['new->paid', 'paid->shipped', 'shipped->new'],
                                    if_not_exists => true);
RESET ROLE;

-- The migration script, run by a superuser: refused, not kept.
SELECT steward.create_state_machine('r393_flow', ARRAY['new', 'paid', 'shipped'],
                                    ARRAY['new'], ARRAY['new->paid', 'paid->shipped'],
                                    if_not_exists => true);
\echo :LAST_ERROR_SQLSTATE
-- The same definition as the other role's: refused too (its owner could
-- add the edge later).
SELECT steward.create_state_machine('r393_flow', ARRAY['new', 'paid', 'shipped'],
                                    ARRAY['new'],
                                    ARRAY['new->paid', 'paid->shipped', 'shipped->new'],
                                    if_not_exists => true);
\echo :LAST_ERROR_SQLSTATE
-- Run by the application role, which holds a grant of it: refused.
SET ROLE r393_app;
SELECT steward.create_state_machine('r393_flow', ARRAY['new', 'paid', 'shipped'],
                                    ARRAY['new'], ARRAY['new->paid', 'paid->shipped'],
                                    if_not_exists => true);
\echo :LAST_ERROR_SQLSTATE
-- A machine the application role owns: kept, for it and for its members.
SELECT steward.create_state_machine('r393_app_flow', ARRAY['new', 'paid'],
                                    ARRAY['new'], ARRAY['new->paid']);
SELECT steward.create_state_machine('r393_app_flow', ARRAY['new', 'paid'],
                                    ARRAY['new'], ARRAY['new->paid'],
                                    if_not_exists => true);
SET ROLE r393_member;
SELECT steward.create_state_machine('r393_app_flow', ARRAY['new', 'paid'],
                                    ARRAY['new'], ARRAY['new->paid'],
                                    if_not_exists => true);
RESET ROLE;
-- A built-in machine: kept.
SELECT steward.create_state_machine('data_lifecycle', ARRAY['a'], ARRAY['a'], '{}',
                                    if_not_exists => true);
-- Once it is given to the application role (the HINT's call, here by a
-- superuser), it is kept.
SELECT steward.alter_state_machine_owner('r393_flow', 'r393_app');
SET ROLE r393_app;
SELECT steward.create_state_machine('r393_flow', ARRAY['new', 'paid', 'shipped'],
                                    ARRAY['new'], ARRAY['new->paid', 'paid->shipped'],
                                    if_not_exists => true);
RESET ROLE;
SELECT name, owner, transitions FROM steward.state_machines
 WHERE name LIKE 'r393%' ORDER BY name;

SELECT steward.drop_state_machine('r393_flow');
SELECT steward.drop_state_machine('r393_app_flow');
REVOKE USAGE ON SCHEMA steward FROM r393_squatter, r393_app, r393_member;
DROP ROLE r393_member;
DROP ROLE r393_app;
DROP ROLE r393_squatter;
