-- The roles a state machine names (owner, grantees) are recorded in
-- pg_shdepend, as core records its own objects' roles: DROP ROLE from
-- another database is refused while a machine here names the role
-- (review12 R12-11: it used to succeed, leaving the OID, which pg_dump
-- wrote as a bare number and a restore gave to whichever role had that
-- OID there).  Machines whose owner or a grantee is gone all the same
-- (dropped before this) are left out of dumps.
CREATE ROLE m128_own;
CREATE ROLE m128_use;
CREATE ROLE m128_new;
CREATE ROLE m128_gone;
SET ROLE m128_own;
SELECT steward.create_state_machine('m128_a', ARRAY['new', 'done'], ARRAY['new'], ARRAY['new->done']);
SELECT steward.create_state_machine('m128_b', ARRAY['new', 'done'], ARRAY['new'], ARRAY['new->done']);
SELECT steward.grant_state_machine('m128_a', 'm128_use');
RESET ROLE;

-- This database's rows, one per machine and role, as core words them.
\set shdeps 'SELECT d.refobjid::regrole AS role, pg_describe_object(d.classid, d.objid, d.objsubid) AS object, d.deptype FROM pg_shdepend d WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND d.refobjid::regrole::text LIKE ''m128\\_%'' ORDER BY 1, 2'
:shdeps;

-- DROP ROLE from another database: refused, as for a table the role owns
-- here.
\set here :DBNAME
\c postgres
DROP ROLE m128_own;
DROP ROLE m128_use;
\c :here
-- Here, the machines are named (the library's hook, as before).
DROP ROLE m128_use;

-- The rows follow every change: owner, grants, drop.
SELECT steward.alter_state_machine_owner('m128_b', 'm128_new');
SELECT steward.revoke_state_machine('m128_a', 'm128_use');
SELECT steward.grant_state_machine('m128_b', 'm128_use');
:shdeps;
SELECT steward.drop_state_machine('m128_b');
:shdeps;

-- REASSIGN OWNED moves the owner's rows; DROP OWNED run by the role itself
-- drops its machines and grants without a word about the catalog's
-- privileges (core would try to revoke them).
SELECT steward.grant_state_machine('m128_a', 'm128_use');
REASSIGN OWNED BY m128_own TO m128_new;
SELECT name, owner, usage_roles FROM steward.machine_definitions WHERE name LIKE 'm128\_%';
:shdeps;
SET ROLE m128_use;
DROP OWNED BY m128_use;
RESET ROLE;
SELECT name, owner, usage_roles FROM steward.machine_definitions WHERE name LIKE 'm128\_%';
:shdeps;
\c postgres
DROP ROLE m128_own;
DROP ROLE m128_use;
\c :here

-- The trigger that records them works only as that trigger.
CREATE TABLE m128_other (x int);
CREATE TRIGGER m128_roles AFTER INSERT ON m128_other
    FOR EACH STATEMENT EXECUTE FUNCTION steward._machine_definitions_roles();
INSERT INTO m128_other VALUES (1);
DROP TABLE m128_other;

-- A role dropped before its machines were recorded (here: its rows
-- removed by hand, as in a database that had machines before this
-- change): its OID stays in the catalog ...
SELECT steward.create_state_machine('m128_orphan', ARRAY['new', 'done'], ARRAY['new'], ARRAY['new->done']);
SELECT steward.alter_state_machine_owner('m128_orphan', 'm128_gone');
SELECT steward.grant_state_machine('m128_a', 'm128_gone');
SET allow_system_table_mods = on;
DELETE FROM pg_shdepend WHERE refobjid = 'm128_gone'::regrole;
RESET allow_system_table_mods;
\c postgres
DROP ROLE m128_gone;
\c :here
SELECT name, owner::oid IN (SELECT oid FROM pg_roles) AS owner_exists,
       cardinality(usage_roles) AS grants,
       (SELECT count(*) FROM unnest(usage_roles) g WHERE g::oid IN (SELECT oid FROM pg_roles)) AS grantees_exist
  FROM steward.machine_definitions WHERE name LIKE 'm128\_%' ORDER BY 1;

-- ... and is skipped by the next write (no error, no row), which leaves
-- the rows that stay as they are (not rewritten: same xmin) ...
CREATE TEMP TABLE m128_before AS
SELECT xmin::text AS x FROM pg_shdepend WHERE refobjid = 'm128_new'::regrole;
SET ROLE m128_new;
SELECT steward.create_state_machine('m128_c', ARRAY['new', 'done'], ARRAY['new'], ARRAY['new->done']);
RESET ROLE;
:shdeps;
SELECT (SELECT count(*) FROM m128_before) AS before,
       (SELECT count(*) FROM pg_shdepend d WHERE d.refobjid = 'm128_new'::regrole
           AND d.xmin::text IN (SELECT x FROM m128_before)) AS kept;

-- ... and those machines are not dumped: pg_dump would write the OID as a
-- number.  What pg_dump copies of a configuration table: the rows its
-- dump condition selects, under pg_dump's empty search_path.
\i test/sql/dumped_rows.sql
SELECT * FROM pg_temp.dumped('steward.machine_definitions', 'name || '' '' || owner::text || '' '' || usage_roles::text') d
 WHERE d LIKE 'm128\_%';

-- Given to a role, or the grant taken back, they are dumped again (the
-- superuser may change a machine whose owner is gone).
SELECT steward.alter_state_machine_owner('m128_orphan', 'm128_new');
SELECT steward.revoke_state_machine('m128_a', (SELECT g FROM steward.machine_definitions, unnest(usage_roles) g
                                                WHERE name = 'm128_a'));
SELECT * FROM pg_temp.dumped('steward.machine_definitions', 'name || '' '' || owner::text || '' '' || usage_roles::text') d
 WHERE d LIKE 'm128\_%';
:shdeps;
-- Only a grant is taken back by a bare OID; a grant needs a role.
SELECT steward.revoke_state_machine('m128_a', '4294967000');
SELECT steward.grant_state_machine('m128_a', '4294967000');

SELECT steward.drop_state_machine('m128_orphan');
SELECT steward.drop_state_machine('m128_a');
SELECT steward.drop_state_machine('m128_c');
:shdeps;
DROP ROLE m128_new;
