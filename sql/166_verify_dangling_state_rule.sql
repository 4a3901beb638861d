-- steward.verify reports a state rule whose machine does not exist: such
-- a rule checks nothing, and verify passed it ("all rows in states of
-- ...", counting no row against an empty list).  Since 0.2 an attached
-- machine cannot be deleted (2BP01); a superuser who disables that
-- trigger, a TRUNCATE of the catalog or single-user mode still can.
CREATE EXTENSION IF NOT EXISTS pg_steward;
CREATE TABLE vd (id int PRIMARY KEY, status text) USING steward;
SELECT steward.create_state_machine('vd_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('vd', 'status', 'vd_m');
INSERT INTO vd VALUES (1, 'a');
SELECT "check", passed, detail FROM steward.verify('vd') WHERE "check" LIKE 'states%';
-- the machine deleted behind the rule's back
DELETE FROM steward.machine_definitions WHERE name = 'vd_m';
ALTER TABLE steward.machine_definitions DISABLE TRIGGER machine_definitions_attached;
DELETE FROM steward.machine_definitions WHERE name = 'vd_m';
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;
-- the rule cannot check the stored rows now (what verify must say); rows
-- entering a state are refused (sql/172), rows stored as sent (replica
-- apply) are not
\c
INSERT INTO vd VALUES (2, 'zzz');
SET session_replication_role = replica;
INSERT INTO vd VALUES (2, 'zzz');
RESET session_replication_role;
SELECT "check", passed, detail FROM steward.verify('vd') WHERE "check" LIKE 'states%';
-- the next step the detail names works: the attach checks the stored
-- rows again
SELECT steward.detach_state_machine('vd', 'status');
SELECT steward.create_state_machine('vd_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('vd', 'status', 'vd_m');
DELETE FROM vd WHERE id = 2;
SELECT steward.attach_state_machine('vd', 'status', 'vd_m');
INSERT INTO vd VALUES (3, 'zzz');
SELECT "check", passed, detail FROM steward.verify('vd') WHERE "check" LIKE 'states%';
SELECT steward.detach_state_machine('vd', 'status');
DROP TABLE vd;
SELECT steward.drop_state_machine('vd_m');
