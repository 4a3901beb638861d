-- closing37 item 1 (codereview6 F6, review19 F4; codereview7 B): DROP
-- OWNED retried its lock of the roles' machines while new attaches kept
-- arriving (8 s behind three overlapping attaches); the ExclusiveLock on
-- the whole catalog that cured it let any role block every attach of the
-- database.  Now every path that locks or writes a machine's row takes a
-- ShareLock on its owner's lock tag (advisory, field4 = 6), and DROP
-- OWNED an ExclusiveLock on its roles' tags only: it waits for the users
-- of its roles' machines and is never overtaken by new ones, and it never
-- waits for, nor blocks, another role's.  One session: the holder is a
-- prepared transaction.  (Isolation drop1_drop_owned_queue and
-- drop1_drop_owned_other_role show the queueing.)
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r187_a;
CREATE ROLE r187_b;
CREATE TABLE r187_t1 (id int PRIMARY KEY, st text) USING steward;
CREATE TABLE r187_t2 (id int PRIMARY KEY, st text) USING steward;
CREATE TABLE r187_tb (id int PRIMARY KEY, st text) USING steward;
ALTER TABLE r187_tb OWNER TO r187_b;
SET SESSION AUTHORIZATION r187_a;
SELECT steward.create_state_machine('r187_ma', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SET SESSION AUTHORIZATION r187_b;
SELECT steward.create_state_machine('r187_mb', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
RESET SESSION AUTHORIZATION;
-- The machine-owner lock tags this session holds.
CREATE FUNCTION r187_tags() RETURNS TABLE (role regrole, mode text)
LANGUAGE sql AS $$
    SELECT l.classid::oid::regrole, l.mode FROM pg_catalog.pg_locks l
     WHERE l.locktype = 'advisory' AND l.objsubid = 6 AND l.pid = pg_catalog.pg_backend_pid()
       AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = current_database())
     ORDER BY l.classid::oid::regrole::text, l.mode
$$;
-- 1. An attach holds its machine owner's tag (ShareLock) to its end; a
-- rolled-back one leaves none.
BEGIN;
SELECT steward.attach_state_machine('r187_t1', 'st', 'r187_ma');
SELECT * FROM r187_tags();
ROLLBACK;
SELECT count(*) AS tags_left FROM r187_tags();
-- 2. The attach stays open (prepared): DROP OWNED BY its machine's owner
-- waits for it (lock_timeout ends the wait, 55P03).
BEGIN;
SELECT steward.attach_state_machine('r187_t1', 'st', 'r187_ma');
PREPARE TRANSACTION 'r187_attach';
SET lock_timeout = '200ms';
\set VERBOSITY sqlstate
DROP OWNED BY r187_a;
\set VERBOSITY default
-- Another role's machine meanwhile: attached, and its owner's DROP OWNED
-- done, neither waiting; DROP OWNED holds its own role's tag only.
BEGIN;
SELECT steward.attach_state_machine('r187_t2', 'st', 'r187_mb');
SELECT * FROM r187_tags();
ROLLBACK;
BEGIN;
DROP OWNED BY r187_b;
SELECT * FROM r187_tags();
SELECT count(*) AS b_machines FROM steward.machine_definitions WHERE name = 'r187_mb';
ROLLBACK;
RESET lock_timeout;
-- The attach commits: DROP OWNED BY r187_a then refuses (2BP01).
COMMIT PREPARED 'r187_attach';
DROP OWNED BY r187_a;
SELECT steward.detach_state_machine('r187_t1', 'st');
-- 3. In one transaction, an attach and then DROP OWNED BY the machine's
-- owner: no wait for itself (2BP01, the machine is attached).
BEGIN;
SET LOCAL lock_timeout = '1s';
SELECT steward.attach_state_machine('r187_t1', 'st', 'r187_ma');
DROP OWNED BY r187_a;
ROLLBACK;
-- 4. Create, grant, owner change and drop take the owner's tag too.
SET SESSION AUTHORIZATION r187_a;
BEGIN;
SELECT steward.create_state_machine('r187_mc', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT * FROM r187_tags();
ROLLBACK;
RESET SESSION AUTHORIZATION;
BEGIN;
SELECT steward.grant_state_machine('r187_mb', 'r187_a');
SELECT * FROM r187_tags();
ROLLBACK;
BEGIN;
SELECT steward.alter_state_machine_owner('r187_mb', 'r187_a');
SELECT * FROM r187_tags();
ROLLBACK;
BEGIN;
SELECT steward.drop_state_machine('r187_ma');
SELECT * FROM r187_tags();
ROLLBACK;
-- 5. A role refused the machine keeps no lock on its owner: r187_b may not
-- use r187_a's machine (42501); its savepoint's rollback releases the tag.
SET SESSION AUTHORIZATION r187_b;
BEGIN;
SAVEPOINT s;
SELECT steward.attach_state_machine('r187_tb', 'st', 'r187_ma');
ROLLBACK TO SAVEPOINT s;
SELECT * FROM r187_tags();
COMMIT;
RESET SESSION AUTHORIZATION;
-- 6. DROP OWNED BY both roles: both tags, both machines gone.
BEGIN;
DROP OWNED BY r187_b, r187_a;
SELECT * FROM r187_tags();
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name LIKE 'r187%';
COMMIT;
DROP TABLE r187_t1, r187_t2;
DROP FUNCTION r187_tags();
DROP ROLE r187_a, r187_b;
