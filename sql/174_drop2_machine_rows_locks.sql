-- review20 F2: the statement trigger of every write of
-- steward.machine_definitions took an ExclusiveLock on the whole catalog
-- (an object lock), DROP OWNED's DELETE of no row too, so any role, even
-- one owning nothing, held up every role's create_state_machine, grant,
-- owner change and drop with BEGIN; DROP OWNED BY me;.  The machines'
-- pg_shdepend rows are now locked per (role, column) (advisory tag,
-- field4 = 7), by the writers that change that role's rows only.  One
-- session: the holders are prepared transactions.  (Isolation
-- drop2_drop_owned_catalog shows the sessions.)
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r174_a;
CREATE ROLE r174_b;
CREATE ROLE r174_c;
GRANT r174_b TO r174_a;
SET SESSION AUTHORIZATION r174_a;
SELECT steward.create_state_machine('r174_ma', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
RESET SESSION AUTHORIZATION;
-- The locks of this session on the catalog's object and the rows' tags.
CREATE FUNCTION r174_locks() RETURNS TABLE (lock text, mode text)
LANGUAGE sql AS $$
    SELECT CASE WHEN l.locktype = 'object' THEN 'object ' || l.objid::regclass::text
                ELSE 'rows ' || l.classid::oid::regrole::text || ' ' ||
                     (SELECT a.attname FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = 'steward.machine_definitions'::regclass
                         AND a.attnum = l.objid::int) END, l.mode
      FROM pg_catalog.pg_locks l
     WHERE l.pid = pg_catalog.pg_backend_pid()
       AND ((l.locktype = 'advisory' AND l.objsubid = 7)
            OR (l.locktype = 'object' AND l.classid = 'pg_catalog.pg_class'::regclass
                AND l.objid = 'steward.machine_definitions'::regclass))
     ORDER BY 1, 2
$$;
-- The machines' pg_shdepend rows of the r174 roles.
CREATE FUNCTION r174_rows() RETURNS TABLE (role regrole, col name, n bigint)
LANGUAGE sql AS $$
    SELECT s.refobjid::regrole, a.attname, count(*)
      FROM pg_catalog.pg_shdepend s
      JOIN pg_catalog.pg_attribute a ON a.attrelid = s.objid AND a.attnum = s.objsubid
     WHERE s.dbid = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())
       AND s.classid = 'pg_catalog.pg_class'::regclass
       AND s.objid = 'steward.machine_definitions'::regclass
       AND s.refobjid::regrole::text LIKE 'r174%'
     GROUP BY 1, 2 ORDER BY s.refobjid::regrole::text COLLATE "C", 2
$$;
-- 1. DROP OWNED BY a role owning nothing: its own rows' tags only, no
-- lock of the catalog (the old code: object ExclusiveLock).
BEGIN;
DROP OWNED BY r174_c;
SELECT * FROM r174_locks();
ROLLBACK;
-- 2. It stays open (prepared): a's create, grant, owner change, revoke
-- and drop go through (lock_timeout would end a wait, 55P03).
BEGIN;
DROP OWNED BY r174_c;
PREPARE TRANSACTION 'r174_drop_owned';
SET lock_timeout = '200ms';
SET SESSION AUTHORIZATION r174_a;
SELECT steward.create_state_machine('r174_m2', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.grant_state_machine('r174_ma', 'r174_b');
SELECT steward.alter_state_machine_owner('r174_m2', 'r174_b');
SELECT steward.revoke_state_machine('r174_ma', 'r174_b');
SELECT steward.drop_state_machine('r174_m2');
RESET SESSION AUTHORIZATION;
COMMIT PREPARED 'r174_drop_owned';
-- 3. Each write holds the tags of the rows it changed: a grant the
-- grantee's usage_roles, an owner change both owners', a create the
-- owner's; a write that changes no role's rows none.
BEGIN;
SELECT steward.grant_state_machine('r174_ma', 'r174_b');
SELECT * FROM r174_locks();
ROLLBACK;
BEGIN;
SELECT steward.alter_state_machine_owner('r174_ma', 'r174_b');
SELECT * FROM r174_locks();
ROLLBACK;
BEGIN;
UPDATE steward.machine_definitions SET created_at = created_at WHERE name = 'r174_ma';
SELECT * FROM r174_locks();
ROLLBACK;
-- 4. Writers of one role's rows still wait for each other: a grant to b
-- stays open (prepared); another grant to b waits (55P03), a create of a
-- does not.
BEGIN;
SELECT steward.grant_state_machine('r174_ma', 'r174_b');
PREPARE TRANSACTION 'r174_grant';
SET SESSION AUTHORIZATION r174_a;
\set VERBOSITY sqlstate
SELECT steward.create_state_machine('r174_m3', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.grant_state_machine('r174_m3', 'r174_b');
\set VERBOSITY default
RESET SESSION AUTHORIZATION;
COMMIT PREPARED 'r174_grant';
SELECT steward.grant_state_machine('r174_m3', 'r174_b');
RESET lock_timeout;
SELECT * FROM r174_rows();
-- 5. Rows out of step with the catalog (lost, or one too many) are put
-- right by the next write, of any machine.
DELETE FROM pg_catalog.pg_shdepend s
 WHERE s.objid = 'steward.machine_definitions'::regclass AND s.refobjid = 'r174_b'::regrole;
SELECT * FROM r174_rows();
UPDATE steward.machine_definitions SET name = name WHERE false;
SELECT * FROM r174_rows();
INSERT INTO pg_catalog.pg_shdepend
SELECT * FROM pg_catalog.pg_shdepend s
 WHERE s.objid = 'steward.machine_definitions'::regclass AND s.refobjid = 'r174_a'::regrole;
SELECT * FROM r174_rows();
UPDATE steward.machine_definitions SET name = name WHERE false;
SELECT * FROM r174_rows();
-- 6. DROP OWNED BY b: its grants go, its rows with them.
DROP OWNED BY r174_b;
SELECT * FROM r174_rows();
SELECT name, owner, usage_roles FROM steward.machine_definitions WHERE name LIKE 'r174%' ORDER BY name;
DROP OWNED BY r174_a;
SELECT * FROM r174_rows();
DROP FUNCTION r174_locks();
DROP FUNCTION r174_rows();
DROP ROLE r174_a, r174_b, r174_c;
