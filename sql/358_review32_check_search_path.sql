-- review32 S1: validate() ran a state check as the table's owner with
-- search_path pg_catalog, <table's schema>, pg_temp, whoever else may
-- create objects in that schema: its owner (public belongs to the
-- database's owner), a grantee of CREATE, or PUBLIC (public in every
-- database created before PostgreSQL 15).  Such a role's lower(varchar)
-- is found before pg_catalog.lower(text) for a varchar argument, so a
-- check calling lower() on a varchar column ran that role's code with the
-- table owner's rights, when the owner or a superuser ran validate().
-- Now such a schema is left out of the check's search_path (pg_catalog,
-- pg_temp), and an error of the check says why in its CONTEXT.
\set SHOW_CONTEXT errors
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE r358_owner;                -- owns the table (the victim)
CREATE ROLE r358_dbo;                  -- owns its schema (the attacker)
CREATE ROLE r358_member IN ROLE r358_owner;
CREATE SCHEMA s358 AUTHORIZATION r358_dbo;
GRANT USAGE, CREATE ON SCHEMA s358 TO r358_owner;
CREATE SCHEMA s358_own AUTHORIZATION r358_owner;

SET ROLE r358_owner;
SELECT steward.create_state_machine('m358', ARRAY['new', 'done'], ARRAY['new'], ARRAY['new->done']);
CREATE TABLE s358.orders (id bigint PRIMARY KEY, st text NOT NULL, code varchar(10)) USING steward;
SELECT steward.attach_state_machine('s358.orders', 'st', 'm358');
INSERT INTO s358.orders VALUES (1, 'new', 'AB');
SELECT steward.set_state_check('s358.orders', 'new',
    'SELECT count(*) FROM orders WHERE lower(code) = ''zz''');
RESET ROLE;

-- The schema's owner plants an exact match for lower(varchar).
SET ROLE r358_dbo;
CREATE FUNCTION s358.lower(varchar) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'r358_dbo''s lower() runs as %', current_user;
    RETURN pg_catalog.lower($1::text);
END $$;
RESET ROLE;

-- A superuser validates: the check does not run the schema owner's code
-- (it ran as r358_owner); naming the table unqualified now fails, saying
-- why.
SELECT state, passed, violations FROM steward.validate('s358.orders');
-- Qualified, the check runs, with pg_catalog.lower().
SET ROLE r358_owner;
SELECT steward.set_state_check('s358.orders', 'new',
    'SELECT count(*) FROM s358.orders WHERE lower(code) = ''zz''');
SELECT state, passed, violations FROM steward.validate('s358.orders');
RESET ROLE;
SELECT state, passed, violations FROM steward.validate('s358.orders');

-- CREATE granted to another role in a schema the table's owner owns: the
-- same; to PUBLIC: the same.
SET ROLE r358_owner;
CREATE TABLE s358_own.t (id bigint PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('s358_own.t', 'st', 'm358');
SELECT steward.set_state_check('s358_own.t', 'new', 'SELECT count(*) FROM t WHERE id < 0');
SELECT state, passed FROM steward.validate('s358_own.t');
GRANT CREATE ON SCHEMA s358_own TO r358_dbo;
SELECT state, passed FROM steward.validate('s358_own.t');
REVOKE CREATE ON SCHEMA s358_own FROM r358_dbo;
GRANT CREATE ON SCHEMA s358_own TO PUBLIC;
SELECT state, passed FROM steward.validate('s358_own.t');
REVOKE CREATE ON SCHEMA s358_own FROM PUBLIC;
-- A role that has the owner's privileges may create there: it could run
-- code as the owner anyway, so the schema stays.
GRANT CREATE ON SCHEMA s358_own TO r358_member;
SELECT state, passed FROM steward.validate('s358_own.t');
RESET ROLE;
-- A schema of pg_database_owner is its database's owner's: here a
-- superuser's, so it stays too.
ALTER SCHEMA s358_own OWNER TO pg_database_owner;
GRANT USAGE, CREATE ON SCHEMA s358_own TO r358_owner;
SELECT state, passed FROM steward.validate('s358_own.t');

SELECT rolsuper FROM pg_roles WHERE rolname IN ('r358_owner', 'r358_dbo') ORDER BY rolname;

DROP SCHEMA s358, s358_own CASCADE;
SELECT steward.drop_state_machine('m358');
DROP ROLE r358_member;
DROP ROLE r358_dbo;
DROP ROLE r358_owner;
