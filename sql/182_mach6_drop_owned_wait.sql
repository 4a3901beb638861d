-- codereview6 F1 (mach6): DROP OWNED waits for transactions attaching the
-- role's machines in an internal subtransaction per machine row; an error
-- while waiting (lock_timeout here; statement_timeout, cancel, deadlock
-- alike) left that subtransaction open.  A PL/pgSQL EXCEPTION block around
-- DROP OWNED then rolled back ours instead of its own and went on as the
-- user saved when ours began: the catalog's owner (a superuser); at top
-- level the session was left in an aborted transaction.  The holder here is
-- a prepared transaction, so that one session shows it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r182_alice;
CREATE TABLE r182_t (id int PRIMARY KEY, st text) USING steward;
SET SESSION AUTHORIZATION r182_alice;
SELECT steward.create_state_machine('r182_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
RESET SESSION AUTHORIZATION;
-- The attach (as the table's owner) holds r182_m's row FOR KEY SHARE.
BEGIN;
SELECT steward.attach_state_machine('r182_t', 'st', 'r182_m');
PREPARE TRANSACTION 'r182_attach';
SET SESSION AUTHORIZATION r182_alice;
SET lock_timeout = '100ms';
-- 1. Caught in an EXCEPTION block: the session goes on as itself.
DO $$
BEGIN
    DROP OWNED BY r182_alice;
EXCEPTION WHEN lock_not_available THEN
    RAISE NOTICE 'caught: %', SQLERRM;
END $$;
SELECT current_user = 'r182_alice' AS as_alice, session_user = 'r182_alice' AS session_alice,
       current_setting('is_superuser') AS is_superuser,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS super;
SELECT current_setting('search_path') AS search_path;
-- The DO statement's transaction ended: a new one has a new start time.
SELECT now() = statement_timestamp() AS new_transaction;
-- 2. Not caught: the statement fails and the session is usable at once.
DROP OWNED BY r182_alice;
SELECT current_user = 'r182_alice' AS as_alice, 1 AS usable;
-- Inside a transaction block, ROLLBACK TO SAVEPOINT restores it.
BEGIN;
SAVEPOINT s;
DROP OWNED BY r182_alice;
ROLLBACK TO SAVEPOINT s;
SELECT current_user = 'r182_alice' AS as_alice, 1 AS usable;
COMMIT;
RESET lock_timeout;
RESET SESSION AUTHORIZATION;
-- The attach rolled back: DROP OWNED drops the machine.
ROLLBACK PREPARED 'r182_attach';
SET SESSION AUTHORIZATION r182_alice;
DROP OWNED BY r182_alice;
RESET SESSION AUTHORIZATION;
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name = 'r182_m';
DROP TABLE r182_t;
DROP ROLE r182_alice;
