-- codereview3 #2, closing35 item 4 (mach3): a machine that a label creates
-- belongs to the role running the label, not to the owner of the first
-- table labelled; the label path attaches a machine the table's owner may
-- use or whose owner has the privileges of the table's owner (a
-- superuser's), and no session memory decides it: the exception "made by
-- a label of this session" used to last for the whole backend, so a
-- superuser restoring tenant a then tenant b attached b's table to a
-- machine alice owned.  closing35 item 3: steward.record_machine_roles().
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS l156_alice;
DROP ROLE IF EXISTS l156_bob;
DROP ROLE IF EXISTS l156_mallory;
DROP ROLE IF EXISTS l156_admin;
RESET client_min_messages;
CREATE ROLE l156_alice;
CREATE ROLE l156_bob;
CREATE ROLE l156_mallory;
CREATE ROLE l156_admin;
GRANT l156_alice, l156_bob TO l156_admin;
CREATE SCHEMA l156;
GRANT USAGE, CREATE ON SCHEMA l156 TO l156_alice, l156_bob, l156_mallory, l156_admin;
SET ROLE l156_alice;
CREATE TABLE l156.a (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
CREATE TABLE l156.a2 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
CREATE TABLE l156.a3 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
RESET ROLE;
SET ROLE l156_bob;
CREATE TABLE l156.b (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
CREATE TABLE l156.b2 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
INSERT INTO l156.b VALUES (1);
RESET ROLE;
SELECT format('SECURITY LABEL FOR steward ON COLUMN %%s.st IS %L',
              '{"v": 1, "kind": "state", "machine": "%s", "states": ["x", "y"], "initial": ["x"], "transitions": ["x->y"]}') AS lbl
\gset
\set ECHO all

-- A superuser labels alice's table (a -n restore of tenant a): the machine
-- is the superuser's, not alice's.
SELECT format(:'lbl', 'l156.a', 'm156') \gexec
SELECT name, owner = current_user::regrole AS labeller_owns, attached_to
  FROM steward.state_machines WHERE name = 'm156';
-- Then bob's table (tenant b, same session): attached to the superuser's
-- machine, which alice cannot revoke, re-grant or give away.
SELECT format(:'lbl', 'l156.b', 'm156') \gexec
SELECT name, owner = current_user::regrole AS labeller_owns, attached_to
  FROM steward.state_machines WHERE name = 'm156';
SET ROLE l156_alice;
\set VERBOSITY sqlstate
SELECT steward.grant_state_machine('m156', 'l156_mallory');
SELECT steward.alter_state_machine_owner('m156', 'l156_alice');
\set VERBOSITY default
RESET ROLE;
-- Enforced on bob's table.
SET ROLE l156_bob;
UPDATE l156.b SET st = 'y' WHERE id = 1 RETURNING st;
\set VERBOSITY sqlstate
UPDATE l156.b SET st = 'x' WHERE id = 1;
\set VERBOSITY default
RESET ROLE;

-- A machine a tenant made under the name: refused for another owner's
-- table whoever labels it (mach3), in this session as in any.
SET ROLE l156_mallory;
SELECT steward.create_state_machine('m156m', ARRAY['x', 'y'], ARRAY['x'], ARRAY['x->y']);
RESET ROLE;
SELECT format(:'lbl', 'l156.a2', 'm156m') \gexec
SELECT count(*) AS a2_rules FROM steward.column_rules WHERE relid = 'l156.a2'::regclass;
-- Its owner gaining alice's privileges gains nothing over her tables it
-- had not already: then the label attaches it.
GRANT l156_alice TO l156_mallory;
SELECT format(:'lbl', 'l156.a2', 'm156m') \gexec
SELECT name, owner, attached_to FROM steward.state_machines WHERE name = 'm156m';
REVOKE l156_alice FROM l156_mallory;

-- A role that is not a superuser but has both owners' privileges labels
-- their tables: the machine is its own, and attaches to both.
SET ROLE l156_admin;
SELECT format(:'lbl', 'l156.a3', 'm156n') \gexec
SELECT format(:'lbl', 'l156.b2', 'm156n') \gexec
SELECT name, owner, attached_to FROM steward.state_machines WHERE name = 'm156n';
RESET ROLE;
-- alice's own label where the admin's machine exists: she may not use it.
SELECT steward.detach_state_machine('l156.a3', 'st');
SET ROLE l156_alice;
\set VERBOSITY sqlstate
SELECT format(:'lbl', 'l156.a3', 'm156n') \gexec
\set VERBOSITY default
RESET ROLE;

-- closing35 item 3: the machines' roles recorded in pg_shdepend again.
SELECT steward.alter_state_machine_owner('m156', 'l156_alice');
SELECT steward.grant_state_machine('m156', 'l156_bob');
SELECT d.refobjid::regrole AS role, a.attname AS col
  FROM pg_shdepend d JOIN pg_attribute a ON a.attrelid = d.objid AND a.attnum = d.objsubid
 WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND d.classid = 'pg_class'::regclass AND d.objid = 'steward.machine_definitions'::regclass
   AND d.refobjid::regrole::text LIKE 'l156%' ORDER BY d.refobjid::regrole::text, a.attname;
-- As pg_upgrade leaves them: none.
DELETE FROM pg_shdepend d
 WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND d.classid = 'pg_class'::regclass AND d.objid = 'steward.machine_definitions'::regclass
   AND d.refobjid::regrole::text LIKE 'l156%';
SELECT count(*) AS recorded FROM pg_shdepend d
 WHERE d.classid = 'pg_class'::regclass AND d.objid = 'steward.machine_definitions'::regclass
   AND d.refobjid::regrole::text LIKE 'l156%';
SET ROLE l156_alice;
\set VERBOSITY sqlstate
SELECT steward.record_machine_roles();
\set VERBOSITY default
RESET ROLE;
SELECT steward.record_machine_roles();
SELECT d.refobjid::regrole AS role, a.attname AS col
  FROM pg_shdepend d JOIN pg_attribute a ON a.attrelid = d.objid AND a.attnum = d.objsubid
 WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND d.classid = 'pg_class'::regclass AND d.objid = 'steward.machine_definitions'::regclass
   AND d.refobjid::regrole::text LIKE 'l156%' ORDER BY d.refobjid::regrole::text, a.attname;
SELECT count(*) AS machines_unchanged FROM steward.machine_definitions WHERE name LIKE 'm156%';

\set ECHO none
SET client_min_messages = warning;
DROP SCHEMA l156 CASCADE;
SELECT count(*) AS dropped FROM (SELECT steward.drop_state_machine(name) FROM steward.machine_definitions WHERE name LIKE 'm156%') s;
DROP ROLE l156_alice;
DROP ROLE l156_bob;
DROP ROLE l156_mallory;
DROP ROLE l156_admin;
RESET client_min_messages;
