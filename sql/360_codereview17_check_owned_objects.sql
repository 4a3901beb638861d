-- codereview17 C1: validate() leaves a state check's schema out of its
-- search_path when a role the table's owner does not trust may create
-- objects there (review32 S1), but a function or operator such a role
-- made while it could stayed after its CREATE was revoked -- the remedy
-- the check's CONTEXT names -- and ran as the table's owner: the schema
-- was back in the path, and the role's lower(varchar) or =(varchar,
-- varchar) shadowed pg_catalog's for a check on a varchar column.  Now a
-- schema holding a function or operator of such a role is left out too,
-- and an error of the check names the object in its CONTEXT.
\set SHOW_CONTEXT errors
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE r360_owner;                -- owns the table and its schema
CREATE ROLE r360_tenant;               -- once had CREATE there
CREATE ROLE r360_member IN ROLE r360_owner;
CREATE SCHEMA s360 AUTHORIZATION r360_owner;
CREATE SCHEMA t360 AUTHORIZATION r360_tenant;
GRANT USAGE ON SCHEMA s360 TO r360_tenant, r360_member;
GRANT USAGE ON SCHEMA t360 TO PUBLIC;

SET ROLE r360_owner;
SELECT steward.create_state_machine('m360', ARRAY['new', 'done'], ARRAY['new'], ARRAY['new->done']);
CREATE TABLE s360.orders (id bigint PRIMARY KEY, st text NOT NULL, code varchar(10)) USING steward;
SELECT steward.attach_state_machine('s360.orders', 'st', 'm360');
INSERT INTO s360.orders VALUES (1, 'new', 'AB');
SELECT steward.set_state_check('s360.orders', 'new',
    'SELECT count(*) FROM s360.orders WHERE lower(code) = ''zz''');
-- The owner lets the tenant create in its schema for a while.
GRANT CREATE ON SCHEMA s360 TO r360_tenant;
RESET ROLE;

SET ROLE r360_tenant;
CREATE FUNCTION s360.lower(varchar) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'r360_tenant''s lower() runs as %', current_user;
    RETURN pg_catalog.lower($1::text);
END $$;
RESET ROLE;

-- Then takes CREATE back, as the CONTEXT of such a check advises: the
-- tenant's function stays, and a superuser's validate() does not run it
-- as r360_owner (no NOTICE).
SET ROLE r360_owner;
REVOKE CREATE ON SCHEMA s360 FROM r360_tenant;
RESET ROLE;
SELECT state, passed, violations FROM steward.validate('s360.orders');
-- Named unqualified, the table is not found, and the CONTEXT names the
-- function and its owner.
SET ROLE r360_owner;
SELECT steward.set_state_check('s360.orders', 'new',
    'SELECT count(*) FROM orders WHERE lower(code) = ''zz''');
RESET ROLE;
SELECT state, passed, violations FROM steward.validate('s360.orders');

-- The same for an operator (its function in the tenant's own schema).
DROP FUNCTION s360.lower(varchar);
SET ROLE r360_owner;
GRANT CREATE ON SCHEMA s360 TO r360_tenant;
SELECT steward.set_state_check('s360.orders', 'new',
    'SELECT count(*) FROM s360.orders WHERE code = ''zz''');
RESET ROLE;
SET ROLE r360_tenant;
CREATE FUNCTION t360.eq(varchar, varchar) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'r360_tenant''s = runs as %', current_user;
    RETURN $1::text OPERATOR(pg_catalog.=) $2::text;
END $$;
CREATE OPERATOR s360.= (LEFTARG = varchar, RIGHTARG = varchar, FUNCTION = t360.eq);
RESET ROLE;
SET ROLE r360_owner;
REVOKE CREATE ON SCHEMA s360 FROM r360_tenant;
RESET ROLE;
SELECT state, passed, violations FROM steward.validate('s360.orders');
SET ROLE r360_owner;
SELECT steward.set_state_check('s360.orders', 'new',
    'SELECT count(*) FROM orders WHERE code = ''zz''');
RESET ROLE;
SELECT state, passed, violations FROM steward.validate('s360.orders');

-- Without the tenant's objects the schema is in the path again, and a
-- function of a role with the owner's privileges keeps it there.
DROP OPERATOR s360.= (varchar, varchar);
CREATE FUNCTION s360.helper() RETURNS int LANGUAGE sql AS 'SELECT 0';
ALTER FUNCTION s360.helper() OWNER TO r360_member;
SELECT state, passed, violations FROM steward.validate('s360.orders');

SELECT rolsuper FROM pg_roles WHERE rolname IN ('r360_owner', 'r360_tenant') ORDER BY rolname;

DROP SCHEMA s360, t360 CASCADE;
SELECT steward.drop_state_machine('m360');
DROP ROLE r360_member;
DROP ROLE r360_tenant;
DROP ROLE r360_owner;
