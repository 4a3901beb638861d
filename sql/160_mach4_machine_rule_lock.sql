-- tidy3 finding 1 (mach4): a state machine deleted while a rule names it
-- left the rule enforcing nothing.  Besides drop_state_machine's own check
-- (which read the transaction's snapshot), a BEFORE DELETE OR UPDATE OF
-- name trigger on steward.machine_definitions refuses (2BP01) on every
-- path, here the extension owner's direct DELETE and a rename of the key;
-- the concurrent paths are test/isolation/specs/mach4_*.spec.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r160_t (id int PRIMARY KEY, st text) USING steward;
SELECT steward.create_state_machine('r160_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('r160_t', 'st', 'r160_m');
-- The catalog's owner writing it directly: refused while attached.
DELETE FROM steward.machine_definitions WHERE name = 'r160_m';
UPDATE steward.machine_definitions SET name = 'r160_m2' WHERE name = 'r160_m';
-- A write that keeps the name passes.
UPDATE steward.machine_definitions SET created_at = created_at WHERE name = 'r160_m';
SELECT steward.record_machine_roles();
SELECT name, attached_to FROM steward.state_machines WHERE name LIKE 'r160%';
INSERT INTO r160_t VALUES (1, 'zzz');
INSERT INTO r160_t VALUES (1, 'a');
-- The lock function of the label path: nothing for a missing machine,
-- 22004 for NULL.
SELECT steward._state_machine_lock('r160_none');
SELECT steward._state_machine_lock(NULL);
-- Detached, the machine goes.
SELECT steward.detach_state_machine('r160_t', 'st');
DELETE FROM steward.machine_definitions WHERE name = 'r160_m';
SELECT count(*) FROM steward.machine_definitions WHERE name LIKE 'r160%';
DROP TABLE r160_t;
