-- review23 R2: a state label's permission HINTs gave
-- steward.grant_state_machine('m', 'Dave O''Q'), which fails 42602 for a
-- role whose name needs double quotes (the argument is regrole); they now
-- quote the role as regrole input, as attach_state_machine does (a4c6d85).
-- Each HINT's grant is run here as written, as the machine's owner, and
-- the label, which names the machine's owner (review35 S1), then applies.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r228_owner;
CREATE ROLE "R228 Dave O'Q";
CREATE ROLE "R228 Table Owner";
GRANT CREATE ON SCHEMA public TO r228_owner, "R228 Dave O'Q", "R228 Table Owner";
SET ROLE r228_owner;
SELECT steward.create_state_machine('m228', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
RESET ROLE;
CREATE FUNCTION r228_hint(cmd text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE cmd;
    RETURN NULL;
EXCEPTION WHEN insufficient_privilege THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $$;
GRANT EXECUTE ON FUNCTION r228_hint(text) TO PUBLIC;
SELECT format('SECURITY LABEL FOR steward ON COLUMN %s.st IS %L', '%s',
              '{"v": 1, "kind": "state", "states": ["a", "b"], "initial": ["a"], "machine": "m228", "machine_owner": "r228_owner", "transitions": ["a->b"]}') AS lbl
\gset
-- 1. The caller may not use the machine (the label run by its table's
--    owner).
SET ROLE "R228 Dave O'Q";
CREATE TABLE "r228 t1" (id int, st text) USING steward;
SELECT r228_hint(format(:'lbl', '"r228 t1"')) AS hint \gset
\echo :hint
SET ROLE r228_owner;
SELECT substring(:'hint' FROM 'steward\.grant_state_machine\(.*\)') AS grant_call \gset
SELECT :grant_call;
SET ROLE "R228 Dave O'Q";
SELECT format(:'lbl', '"r228 t1"') \gexec
SELECT attached_to FROM steward.state_machines WHERE name = 'm228';
RESET ROLE;
-- 2. A superuser's label on a table whose owner may not use the machine.
SET ROLE "R228 Table Owner";
CREATE TABLE "r228 t2" (id int, st text) USING steward;
RESET ROLE;
SELECT r228_hint(format(:'lbl', '"r228 t2"')) AS hint \gset
\echo :hint
SET ROLE r228_owner;
SELECT substring(:'hint' FROM 'steward\.grant_state_machine\(.*\)') AS grant_call \gset
SELECT :grant_call;
RESET ROLE;
SELECT format(:'lbl', '"r228 t2"') \gexec
SELECT attached_to FROM steward.state_machines WHERE name = 'm228';
DROP TABLE "r228 t1", "r228 t2";
SET ROLE r228_owner;
SELECT steward.drop_state_machine('m228');
RESET ROLE;
DROP FUNCTION r228_hint(text);
REVOKE CREATE ON SCHEMA public FROM r228_owner, "R228 Dave O'Q", "R228 Table Owner";
DROP ROLE r228_owner, "R228 Dave O'Q", "R228 Table Owner";
