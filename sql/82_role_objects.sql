-- Roles that own pg_steward objects (review8 #10).  Idempotency scopes and
-- state machines name their owner (and a machine its grantees) by OID;
-- DROP ROLE used to succeed and leave the OID dangling, to be restored as
-- whichever role gets that OID.  Now, as for core's objects: DROP ROLE is
-- refused (2BP01, listing them), REASSIGN OWNED gives them away, DROP
-- OWNED drops them and the grants (src/ops/roles.c).
CREATE ROLE ro_eve LOGIN;
CREATE ROLE ro_bob;
GRANT EXECUTE ON FUNCTION steward.idempotency_begin(text, text, text, boolean),
                          steward.idempotency_complete(text, text, integer, jsonb) TO ro_eve;
SET ROLE ro_eve;
SELECT outcome FROM steward.idempotency_begin('ro_scope', 'k', 'f');
SELECT steward.idempotency_complete('ro_scope', 'k', 200, '{"secret": 1}');
RESET ROLE;
REVOKE EXECUTE ON FUNCTION steward.idempotency_begin(text, text, text, boolean),
                           steward.idempotency_complete(text, text, integer, jsonb) FROM ro_eve;
SELECT steward.create_state_machine('ro_m', states => ARRAY['a', 'b'], initial => ARRAY['a'],
                                    transitions => ARRAY['a->b']);
SELECT steward.alter_state_machine_owner('ro_m', 'ro_eve');
SELECT steward.create_state_machine('ro_m2', states => ARRAY['a'], initial => ARRAY['a'],
                                    transitions => ARRAY[]::text[]);
SELECT steward.grant_state_machine('ro_m2', 'ro_eve');

-- Refused, naming what the role owns and may use here.
DROP ROLE ro_eve;
-- Several roles: the one with objects is named, and none is dropped.
DROP ROLE IF EXISTS ro_bob, ro_nobody, ro_eve;
SELECT count(*) AS roles FROM pg_roles WHERE rolname IN ('ro_eve', 'ro_bob');

-- REASSIGN OWNED gives the scope and the machine away; the grant stays,
-- as grants on core objects do.
REASSIGN OWNED BY ro_eve TO ro_bob;
SELECT scope, owner FROM steward.idempotency_scopes WHERE scope = 'ro_scope';
SELECT name, owner = 'ro_bob'::regrole AS bob_owns, usage_roles
  FROM steward.machine_definitions WHERE name LIKE 'ro\_m%' ORDER BY name;
DROP ROLE ro_eve;
-- DROP OWNED takes the grant back; then the role goes.
DROP OWNED BY ro_eve;
SELECT name, usage_roles FROM steward.machine_definitions WHERE name = 'ro_m2';
DROP ROLE ro_eve;

-- DROP OWNED drops the scopes with their keys, and the machines; one
-- still attached to another role's table is refused, as
-- drop_state_machine refuses it, and nothing is dropped.
CREATE TABLE ro_t (id int PRIMARY KEY, s text NOT NULL DEFAULT 'a') USING steward;
SELECT steward.attach_state_machine('ro_t', 's', 'ro_m');
DROP OWNED BY ro_bob;
SELECT count(*) AS scopes FROM steward.idempotency_scopes WHERE scope = 'ro_scope';
SELECT steward.detach_state_machine('ro_t', 's');
DROP OWNED BY ro_bob;
SELECT (SELECT count(*) FROM steward.idempotency_scopes WHERE scope = 'ro_scope') AS scopes,
       (SELECT count(*) FROM steward.idempotency_keys WHERE scope = 'ro_scope') AS keys,
       (SELECT count(*) FROM steward.machine_definitions WHERE name = 'ro_m') AS machines;
DROP ROLE ro_bob;

-- A role without such objects drops as before.
CREATE ROLE ro_plain;
DROP ROLE ro_plain;
DROP TABLE ro_t;
SELECT steward.drop_state_machine('ro_m2');
