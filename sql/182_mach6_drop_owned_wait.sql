-- codereview6 F1 (mach6): DROP OWNED waits for transactions attaching the
-- role's machines in an internal subtransaction per machine row; an error
-- while waiting (lock_timeout here; statement_timeout, cancel, deadlock
-- alike) left that subtransaction open.  A PL/pgSQL EXCEPTION block around
-- DROP OWNED then rolled back ours instead of its own and went on as the
-- user saved when ours began: the catalog's owner (a superuser); at top
-- level the session was left in an aborted transaction.  The holder here is
-- a prepared transaction, so that one session shows it.
-- codereview6 F2: only the first state rule whose machine is missing was
-- enforced; an UPDATE of a second such column passed unchecked.
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
-- F2: two state rules whose machines are both gone: each column is held.
CREATE TABLE r182_two (id int PRIMARY KEY, s1 text, s2 text) USING steward;
SELECT steward.create_state_machine('r182_one', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.create_state_machine('r182_two', ARRAY['p', 'q'], ARRAY['p'], ARRAY['p->q']);
SELECT steward.attach_state_machine('r182_two', 's1', 'r182_one');
SELECT steward.attach_state_machine('r182_two', 's2', 'r182_two');
INSERT INTO r182_two VALUES (1, 'a', 'p');
ALTER TABLE steward.machine_definitions DISABLE TRIGGER machine_definitions_attached;
DELETE FROM steward.machine_definitions WHERE name IN ('r182_one', 'r182_two');
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;
UPDATE r182_two SET s1 = 'zzz' WHERE id = 1;
UPDATE r182_two SET s2 = 'zzz' WHERE id = 1;
UPDATE r182_two SET s2 = 'q' WHERE id = 1;
-- Keeping both states passes.
UPDATE r182_two SET s1 = s1, s2 = 'p' WHERE id = 1;
SELECT id, s1, s2 FROM r182_two;
-- One machine created again: its column is checked by it, the other's
-- column is still held.
SELECT steward.create_state_machine('r182_one', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
UPDATE r182_two SET s1 = 'b' WHERE id = 1;
UPDATE r182_two SET s2 = 'q' WHERE id = 1;
SELECT id, s1, s2 FROM r182_two;
SELECT steward.detach_state_machine('r182_two', 's1');
SELECT steward.detach_state_machine('r182_two', 's2');
SELECT steward.drop_state_machine('r182_one');
DROP TABLE r182_two;
-- codereview6 F7: every statement on steward.machine_definitions reset
-- the cached rules of every table with a state rule, in every session.
-- Only the rules naming a machine the statement created, removed or
-- redefined are reset now.  A reload reads steward.column_rules (a scan,
-- counted in pg_stat_xact_user_tables within the transaction).
CREATE TABLE r182_c (id int PRIMARY KEY, st text) USING steward;
SELECT steward.create_state_machine('r182_c', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('r182_c', 'st', 'r182_c');
INSERT INTO r182_c VALUES (1, 'a');
-- Another machine created: r182_c's rules stay cached.
SELECT steward.create_state_machine('r182_other', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
BEGIN;
SELECT seq_scan AS reads FROM pg_stat_xact_user_tables WHERE relid = 'steward.column_rules'::regclass \gset
INSERT INTO r182_c VALUES (2, 'a');
SELECT seq_scan > :reads AS reloaded FROM pg_stat_xact_user_tables WHERE relid = 'steward.column_rules'::regclass;
COMMIT;
-- An update keeping every definition (SET name = name): stays cached too.
UPDATE steward.machine_definitions SET name = name WHERE name = 'r182_c';
BEGIN;
SELECT seq_scan AS reads FROM pg_stat_xact_user_tables WHERE relid = 'steward.column_rules'::regclass \gset
INSERT INTO r182_c VALUES (3, 'a');
SELECT seq_scan > :reads AS reloaded FROM pg_stat_xact_user_tables WHERE relid = 'steward.column_rules'::regclass;
COMMIT;
-- The machine the rule names redefined: reloaded, the new edge is used.
UPDATE r182_c SET st = 'b' WHERE id = 1;
UPDATE r182_c SET st = 'a' WHERE id = 1;
UPDATE steward.machine_definitions SET transitions = ARRAY['a->b', 'b->a'] WHERE name = 'r182_c';
BEGIN;
SELECT seq_scan AS reads FROM pg_stat_xact_user_tables WHERE relid = 'steward.column_rules'::regclass \gset
UPDATE r182_c SET st = 'a' WHERE id = 1;
SELECT seq_scan > :reads AS reloaded FROM pg_stat_xact_user_tables WHERE relid = 'steward.column_rules'::regclass;
COMMIT;
-- Deleted with the other machine in one statement, then TRUNCATE: reset.
ALTER TABLE steward.machine_definitions DISABLE TRIGGER machine_definitions_attached;
DELETE FROM steward.machine_definitions WHERE name IN ('r182_c', 'r182_other');
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;
\set VERBOSITY sqlstate
INSERT INTO r182_c VALUES (4, 'a');
\set VERBOSITY default
SELECT steward.create_state_machine('r182_c', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
INSERT INTO r182_c VALUES (4, 'a');
BEGIN;
TRUNCATE steward.machine_definitions;
\set VERBOSITY sqlstate
INSERT INTO r182_c VALUES (5, 'a');
\set VERBOSITY default
ROLLBACK;
SELECT steward.detach_state_machine('r182_c', 'st');
SELECT steward.drop_state_machine('r182_c');
DROP TABLE r182_c;
