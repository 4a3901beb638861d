-- The roles state machines name are rows of pg_shdepend under the key core
-- uses for column privileges on "owner" and "usage_roles" of
-- steward.machine_definitions (src/lifecycle/machine_roles.c).  Each side
-- used to delete the other's rows (codereview2 #3): a REVOKE of a column
-- privilege deleted the machines' rows of the role (DROP ROLE from another
-- database then succeeded: review12 R12-11 again), and a machine write
-- deleted core's row of a column GRANT (DROP ROLE of its grantee then
-- left its OID in attacl).  Column privileges on those two columns are now
-- refused, and machine writes keep core's rows.
CREATE ROLE m145_own;
CREATE ROLE m145_use;
CREATE ROLE m145_auditor;
SET ROLE m145_own;
SELECT steward.create_state_machine('m145_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.grant_state_machine('m145_m', 'm145_use');
RESET ROLE;
\set shdeps 'SELECT d.refobjid::regrole AS role, pg_describe_object(d.classid, d.objid, d.objsubid) AS object, d.deptype FROM pg_shdepend d WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND d.refobjid::regrole::text LIKE ''m145\\_%'' ORDER BY 1, 2'
\set attacl 'SELECT attname, attacl FROM pg_attribute WHERE attrelid = ''steward.machine_definitions''::regclass AND attname IN (''owner'', ''usage_roles'') ORDER BY 1'
:shdeps;

-- Column privileges on owner / usage_roles: refused, in every form.
GRANT SELECT (usage_roles) ON steward.machine_definitions TO m145_use;
\echo :LAST_ERROR_SQLSTATE
REVOKE SELECT (usage_roles) ON steward.machine_definitions FROM m145_use;
REVOKE SELECT (owner) ON steward.machine_definitions FROM m145_own;
GRANT SELECT (name, owner) ON steward.machine_definitions TO m145_auditor;
GRANT UPDATE (owner) ON TABLE steward.machine_definitions TO m145_auditor;
GRANT SELECT (owner) ON ALL TABLES IN SCHEMA steward TO m145_auditor;
SET search_path = steward, public;
GRANT ALL (usage_roles) ON machine_definitions TO m145_auditor;
RESET search_path;
-- Others pass: another column, the whole table, another table's "owner".
GRANT SELECT (name) ON steward.machine_definitions TO m145_auditor;
REVOKE SELECT (name) ON steward.machine_definitions FROM m145_auditor;
GRANT UPDATE ON steward.machine_definitions TO m145_auditor;
REVOKE UPDATE ON steward.machine_definitions FROM m145_auditor;
REVOKE SELECT ON steward.machine_definitions FROM m145_use;
CREATE TABLE m145_other (owner text);
GRANT SELECT (owner) ON m145_other TO m145_auditor;
REVOKE SELECT (owner) ON m145_other FROM m145_auditor;
DROP TABLE m145_other;
:attacl;
-- The machines' rows are all there: DROP ROLE from another database is
-- still refused.
:shdeps;
\set here :DBNAME
\c postgres
DROP ROLE m145_use;
DROP ROLE m145_own;
\c :here

-- A column privilege granted where the event trigger did not run (here:
-- disabled by a superuser) keeps core's row through machine writes ...
ALTER EVENT TRIGGER steward_machine_definitions_grants DISABLE;
GRANT SELECT (owner) ON steward.machine_definitions TO m145_auditor;
ALTER EVENT TRIGGER steward_machine_definitions_grants ENABLE ALWAYS;
SET ROLE m145_own;
SELECT steward.create_state_machine('m145_m2', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
RESET ROLE;
:shdeps;
DROP ROLE m145_auditor;
-- ... and through DROP OWNED run by the role itself, which cannot revoke
-- what the superuser granted (core leaves it; the hook's forgetting of
-- the role's machine rows leaves core's row).
SET ROLE m145_auditor;
DROP OWNED BY m145_auditor;
RESET ROLE;
:attacl;
DROP ROLE m145_auditor;
-- DROP OWNED run by the superuser revokes it, and core deletes its row.
DROP OWNED BY m145_auditor;
:attacl;
:shdeps;
DROP ROLE m145_auditor;

SELECT steward.drop_state_machine('m145_m');
SELECT steward.drop_state_machine('m145_m2');
:shdeps;
DROP ROLE m145_own;
DROP ROLE m145_use;
