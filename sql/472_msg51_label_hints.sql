-- msg51: the label path's refusals (a restore's SECURITY LABEL FOR
-- steward) name the next step in a HINT; four had none: a version
-- column with versions below 1, a state column not of type text, a
-- changed_at column that is no other timestamptz column, and a state
-- column holding values the machine does not declare.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA s472;
CREATE TABLE s472.t (id int PRIMARY KEY, v bigint, st text, ist int, at text) USING steward;
INSERT INTO s472.t VALUES (1, 0, 'a', 1, NULL), (2, 5, 'zz', 1, NULL);
SECURITY LABEL FOR steward ON COLUMN s472.t.v IS '{"v": 1, "kind": "version"}';
SECURITY LABEL FOR steward ON COLUMN s472.t.ist IS
    '{"v": 1, "kind": "state", "machine": "m472", "states": ["a", "b"], "initial": ["a"], "transitions": ["a->b"]}';
SECURITY LABEL FOR steward ON COLUMN s472.t.st IS
    '{"v": 1, "kind": "state", "machine": "m472", "states": ["a", "b"], "initial": ["a"], "transitions": ["a->b"], "changed_at": "at"}';
SECURITY LABEL FOR steward ON COLUMN s472.t.st IS
    '{"v": 1, "kind": "state", "machine": "m472", "states": ["a", "b"], "initial": ["a"], "transitions": ["a->b"]}';
SET client_min_messages = warning;
DROP SCHEMA s472 CASCADE;
SELECT steward.drop_state_machine(name) FROM steward.machine_definitions WHERE name = 'm472';
