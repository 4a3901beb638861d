-- closing38 item 2, review21 F2: DROP OWNED BY r [CASCADE] of a machine
-- that a grantee attached to its own table was refused (2BP01) with the
-- HINT "Detach it first with steward.detach_state_machine()", which r
-- cannot: only a table's owner may detach.  Now, when one of the tables
-- is another role's, the HINT names each detach with the role to run it
-- as (the first three, then how many more), and how to keep the machine
-- instead (give it away first).  Both steps are run here as written.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r199_r;
CREATE ROLE r199_s;
GRANT CREATE ON SCHEMA public TO r199_r, r199_s;
SET ROLE r199_r;
SELECT steward.create_state_machine('r199_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.grant_state_machine('r199_m', 'r199_s');
CREATE TABLE r199_rt (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('r199_rt', 'st', 'r199_m');
SET ROLE r199_s;
CREATE TABLE r199_st (id int PRIMARY KEY, st text) USING steward;
CREATE TABLE "R199 S Tab" (id int PRIMARY KEY, st text) USING steward;
CREATE TABLE r199_st2 (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('r199_st', 'st', 'r199_m');
SELECT steward.attach_state_machine('"R199 S Tab"', 'st', 'r199_m');
SELECT steward.attach_state_machine('r199_st2', 'st', 'r199_m');
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM r199_r, r199_s;
-- Runs cmd; on 2BP01 runs every detach its HINT names, as the role it
-- names, and says how many it ran.
CREATE FUNCTION r199_follow(cmd text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    h text;
    step text[];
    done int := 0;
BEGIN
    BEGIN
        EXECUTE cmd;
        RETURN 'no error';
    EXCEPTION WHEN dependent_objects_still_exist THEN
        GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    END;
    FOR step IN SELECT regexp_matches(h, 'as ([^:]+): (SELECT steward\.detach_state_machine\([^)]*\))', 'g') LOOP
        EXECUTE format('SET LOCAL ROLE %s', step[1]);
        EXECUTE step[2];
        RESET ROLE;
        done := done + 1;
    END LOOP;
    RETURN format('%s detaches run', done);
END
$$;
-- 1. r's DROP OWNED (CASCADE too): r's own table goes with its rule, the
-- grantee's three tables keep the machine: the HINT names the three
-- detaches, as r199_s, and the owner change.
SET ROLE r199_r;
DROP OWNED BY r199_r CASCADE;
DROP OWNED BY r199_r;
-- The owner's own drop_state_machine: four tables, one its own.
SELECT steward.drop_state_machine('r199_m');
-- Nothing changed.
SELECT count(*) AS tables FROM pg_class WHERE relname = 'r199_rt';
RESET ROLE;
-- 2. The HINT's second way: give the machine away, then DROP OWNED goes
-- through and the machine stays, attached, with its new owner.
BEGIN;
SELECT steward.alter_state_machine_owner('r199_m', 'r199_s');
DROP OWNED BY r199_r;
SELECT owner, (SELECT count(*) FROM steward.column_rules WHERE machine = 'r199_m') AS attached
  FROM steward.state_machines WHERE name = 'r199_m';
ROLLBACK;
-- 3. The HINT's first way, its steps run as written (by r199_s): then
-- DROP OWNED BY r199_r drops the machine.
SELECT r199_follow('DROP OWNED BY r199_r');
SELECT relid, attname FROM steward.column_rules WHERE machine = 'r199_m' ORDER BY 1, 2;
SELECT r199_follow('DROP OWNED BY r199_r');
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name = 'r199_m';
-- 4. A machine attached to its owner's tables only: the HINT is the
-- detach the owner can run.
SET ROLE r199_s;
SELECT steward.create_state_machine('r199_m2', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('r199_st', 'st', 'r199_m2');
SELECT steward.drop_state_machine('r199_m2');
RESET ROLE;
DROP FUNCTION r199_follow(text);
DROP OWNED BY r199_s CASCADE;
DROP ROLE r199_r, r199_s;
