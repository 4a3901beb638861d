-- codereview19 C4: a label keeps the name the machine's owner had when it
-- was written, and ALTER ROLE ... RENAME rewrites no label, so a table
-- restored (pg_restore -t) from a dump taken after the rename names a role
-- that no longer exists; the refusal (42501, kept: a grant alone never
-- suffices, review35 S1) gave a HINT calling
-- alter_state_machine_owner(m, '<the old name>'), which fails 42704.  The
-- HINT now says the role is gone and gives the attach_state_machine call,
-- run here as given.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r445_team;
CREATE ROLE r445_app;
GRANT CREATE ON SCHEMA public TO r445_app;
SET ROLE r445_team;
SELECT steward.create_state_machine('m445', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.grant_state_machine('m445', 'r445_app');
RESET ROLE;
ALTER ROLE r445_team RENAME TO r445_team2;
SET ROLE r445_app;
CREATE TABLE r445_t (id int, st text, st_at timestamptz) USING steward;
RESET ROLE;
CREATE FUNCTION r445_hint(cmd text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    EXECUTE cmd;
    RETURN NULL;
EXCEPTION WHEN insufficient_privilege THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $$;
-- What the dump's SECURITY LABEL says (the label written before the rename).
SELECT r445_hint(format('SECURITY LABEL FOR steward ON COLUMN r445_t.st IS %L',
       '{"v": 1, "kind": "state", "states": ["a", "b"], "initial": ["a"], "machine": "m445", "machine_owner": "r445_team", "changed_at": "st_at", "transitions": ["a->b"]}')) AS hint \gset
\echo :hint
SELECT substring(:'hint' FROM 'SELECT steward\.attach_state_machine\(.*\);$') AS attach \gset
SET ROLE r445_app;
:attach
RESET ROLE;
SELECT attached_to FROM steward.state_machines WHERE name = 'm445';
SELECT machine, changed_at FROM steward.column_rules WHERE relid = 'r445_t'::regclass;
-- The rule is enforced.
INSERT INTO r445_t VALUES (1, 'b', now());

-- A label naming an existing role other than the owner keeps its HINT.
CREATE ROLE r445_other;
SELECT r445_hint(format('SECURITY LABEL FOR steward ON COLUMN r445_t.st IS %L',
       '{"v": 1, "kind": "state", "states": ["a", "b"], "initial": ["a"], "machine": "m445", "machine_owner": "r445_other", "changed_at": "st_at", "transitions": ["a->b"]}')) AS hint \gset
\echo :hint

DROP TABLE r445_t;
SET ROLE r445_team2;
SELECT steward.drop_state_machine('m445');
RESET ROLE;
DROP FUNCTION r445_hint(text);
REVOKE CREATE ON SCHEMA public FROM r445_app;
DROP ROLE r445_team2, r445_app, r445_other;
