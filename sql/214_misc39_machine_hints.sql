-- review22 R7: attach_state_machine's 42501 HINT gave
-- steward.grant_state_machine('m', 'Carol Q'), which fails for a role
-- whose name needs double quotes (the argument is regrole: invalid name
-- syntax); the role is now quoted as regrole input ('"Carol Q"').  The
-- HINT's grant is run here as written, as the machine's owner.
-- review22 R3: the DROP OWNED HINT's way to keep the machine
-- (alter_state_machine_owner) fails for a plain role (must be member of
-- the new owner): it now says who can run it.
-- review22 R5: a rule row naming no column written by hand under
-- session_replication_role = replica got no WARNING (mach12's WARNING
-- lived only in the origin trigger); now it gets the same one.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r214_bob;
CREATE ROLE "R214 Carol Q";
GRANT CREATE ON SCHEMA public TO r214_bob, "R214 Carol Q";
SET ROLE r214_bob;
SELECT steward.create_state_machine('r214''m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SET ROLE "R214 Carol Q";
CREATE TABLE "r214 Tab" (id int PRIMARY KEY, st text) USING steward;
-- 1. The refusal, and its HINT's grant run as the owner: the attach then
--    passes.
CREATE FUNCTION r214_hint(cmd text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE cmd;
    RETURN NULL;
EXCEPTION WHEN insufficient_privilege THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $$;
SELECT r214_hint($$SELECT steward.attach_state_machine('"r214 Tab"', 'st', 'r214''m')$$) AS hint \gset
\echo :hint
SET ROLE r214_bob;
SELECT substring(:'hint' FROM 'steward\.grant_state_machine\(.*\)') AS grant_call \gset
SELECT :grant_call;
SET ROLE "R214 Carol Q";
SELECT steward.attach_state_machine('"r214 Tab"', 'st', 'r214''m');
INSERT INTO "r214 Tab" VALUES (1, 'a');
UPDATE "r214 Tab" SET st = 'zz';
-- 2. bob's DROP OWNED: the HINT names the detach as "R214 Carol Q" and
--    who can give the machine away; bob (a member of no role) cannot,
--    a superuser can, after which bob's DROP OWNED passes and the
--    machine stays.
SET ROLE r214_bob;
DROP OWNED BY r214_bob;
SELECT steward.alter_state_machine_owner('r214''m', 'R214 Carol Q');
RESET ROLE;
SELECT steward.alter_state_machine_owner('r214''m', '"R214 Carol Q"');
SET ROLE r214_bob;
DROP OWNED BY r214_bob;
RESET ROLE;
SELECT name, owner::regrole FROM steward.machine_definitions WHERE name = 'r214''m';
DROP TABLE "r214 Tab";
DROP FUNCTION r214_hint(text);
SELECT steward.drop_state_machine('r214''m');
REVOKE CREATE ON SCHEMA public FROM r214_bob, "R214 Carol Q";
DROP ROLE r214_bob;
DROP ROLE "R214 Carol Q";

-- 3. (R5) Rule rows naming no column, written under replica: the same
--    WARNING as under origin (INSERT, and an UPDATE of attname).
CREATE TABLE r214_hr (id int PRIMARY KEY, n int) USING steward;
SET session_replication_role = replica;
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r214_hr', 'nope', 'sequence');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r214_hr', 'n', 'sequence');
UPDATE steward.column_rules SET attname = 'nope2' WHERE relid = 'r214_hr'::regclass AND attname = 'n';
RESET session_replication_role;
SELECT attname, kind FROM steward.column_rules WHERE relid = 'r214_hr'::regclass ORDER BY 1;
DELETE FROM steward.column_rules WHERE relid = 'r214_hr'::regclass;
DROP TABLE r214_hr;
