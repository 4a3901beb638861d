-- drop9: DROP OWNED ... CASCADE and the objects core's part drops through
-- an extension member or an internal object (findDependentObjects turns
-- the drop of a member it reaches into the drop of its owner, with all
-- the owner's members).  1: another role's extension whose member view
-- reads the role's table is dropped with its member table; DROP OWNED
-- counted neither, so a machine of the role attached to that table was
-- refused (2BP01) although core's part drops the table, and the table
-- was not locked before the machines' users were waited for.  2: the
-- role owns a member of another role's extension that depends on the
-- role's newer extension: core's part reaches the member from the newer
-- extension first and drops the other extension with it (CASCADE), but
-- DROP OWNED judged "refused" at every try, locked nothing, and gave
-- 55006 after core's part whenever the role's machines were in use; now
-- judged right, it waits for them first (lock_timeout here: 55P03).
-- One session: the transaction using the machine is a prepared one.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE EXTENSION autoinc;
CREATE ROLE r284_r;
GRANT CREATE ON SCHEMA public TO r284_r;
CREATE TABLE r284_x (id int PRIMARY KEY, st text) USING steward;
SET SESSION AUTHORIZATION r284_r;
SELECT steward.create_state_machine('r284_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r284_rt (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('r284_rt', 'st', 'r284_m');
RESET SESSION AUTHORIZATION;
-- The superuser's table in autoinc, under r284_m, and autoinc's view of
-- r284_rt; a view over a view over r284_rt (its _RETURN rule is what
-- depends on r284_rt).
CREATE TABLE r284_et (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('r284_et', 'st', 'r284_m');
ALTER EXTENSION autoinc ADD TABLE r284_et;
CREATE VIEW r284_ev AS SELECT id FROM r284_rt;
ALTER EXTENSION autoinc ADD VIEW r284_ev;
CREATE VIEW r284_v1 AS SELECT id FROM r284_rt;
CREATE VIEW r284_v2 AS SELECT id FROM r284_v1;

-- 1. Without CASCADE core refuses at once; with it, autoinc goes, with
-- r284_et and the machine's rule on it: no refusal.
DROP OWNED BY r284_r;
BEGIN;
DROP OWNED BY r284_r CASCADE;
SELECT count(*) AS autoinc FROM pg_extension WHERE extname = 'autoinc';
SELECT count(*) AS relations FROM pg_class WHERE relname IN ('r284_rt', 'r284_et', 'r284_ev', 'r284_v1', 'r284_v2');
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name = 'r284_m';
ROLLBACK;
-- Still refused when the machine stays attached to a table core's part
-- keeps (r284_x), CASCADE or not.
SELECT steward.attach_state_machine('r284_x', 'st', 'r284_m');
DROP OWNED BY r284_r CASCADE;
SELECT steward.detach_state_machine('r284_x', 'st');
ALTER EXTENSION autoinc DROP VIEW r284_ev;
ALTER EXTENSION autoinc DROP TABLE r284_et;
DROP VIEW r284_ev, r284_v2, r284_v1;
SELECT steward.detach_state_machine('r284_et', 'st');
DROP TABLE r284_et;

-- 2. r284_r owns autoinc() (autoinc's) and depends it on its own tcn,
-- made after autoinc: core's part takes tcn first and drops autoinc with
-- it under CASCADE; without CASCADE it refuses (autoinc is then only a
-- "reverse" dependency).  While a transaction uses r284_m, DROP OWNED
-- ... CASCADE now waits for it (55P03 here) instead of 55006 after
-- core's part; without CASCADE core's error comes at once.
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO r284_r', current_database()); END $$;
ALTER FUNCTION autoinc() OWNER TO r284_r;
SET SESSION AUTHORIZATION r284_r;
CREATE EXTENSION tcn;
RESET SESSION AUTHORIZATION;
ALTER FUNCTION autoinc() DEPENDS ON EXTENSION tcn;
BEGIN;
SELECT steward.attach_state_machine('r284_x', 'st', 'r284_m');
PREPARE TRANSACTION 'r284_use';
SET lock_timeout = '1s';
DROP OWNED BY r284_r;
DROP OWNED BY r284_r CASCADE;
RESET lock_timeout;
ROLLBACK PREPARED 'r284_use';
BEGIN;
DROP OWNED BY r284_r CASCADE;
SELECT extname FROM pg_extension WHERE extname IN ('autoinc', 'tcn') ORDER BY 1;
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name = 'r284_m';
ROLLBACK;
-- Without the dependency, core refuses even with CASCADE (drop8's case).
ALTER FUNCTION autoinc() NO DEPENDS ON EXTENSION tcn;
DROP OWNED BY r284_r CASCADE;
ALTER FUNCTION autoinc() OWNER TO CURRENT_USER;
DROP EXTENSION autoinc;

DROP OWNED BY r284_r;
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name = 'r284_m';
DROP TABLE r284_x;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM r284_r', current_database()); END $$;
REVOKE CREATE ON SCHEMA public FROM r284_r;
DROP ROLE r284_r;
