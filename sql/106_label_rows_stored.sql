-- A label reads its table's stored rows as the table's owner, by name, only
-- when the table stores some (review15 R15-2).  A restore labels a table
-- right after creating it, before its data and before its schema's GRANTs
-- (pg_dump's ACL pass comes last): the read needed the owner's USAGE on
-- the schema, so a table whose owner reaches its schema only through a
-- GRANT lost its rules in pg_dump -n restores (42501 permission denied for
-- schema), and pg_restore -1 of the whole database failed.  A table that
-- stores rows is still read as its owner, never with the labelling role's
-- rights (the owner below may not reach the schema: refused).
CREATE ROLE r106_owner;
CREATE SCHEMA s106;                      -- no USAGE for r106_owner (yet)
CREATE TABLE s106.t (id int PRIMARY KEY, v bigint, st text) USING steward;
ALTER TABLE s106.t OWNER TO r106_owner;
CREATE TABLE s106.pp (part int NOT NULL, id int NOT NULL, v bigint, st text,
                      PRIMARY KEY (part, id)) PARTITION BY LIST (part);
CREATE TABLE s106.pp_1 PARTITION OF s106.pp FOR VALUES IN (1) USING steward;
CREATE TABLE s106.pp_2 PARTITION OF s106.pp FOR VALUES IN (2) USING steward;
ALTER TABLE s106.pp OWNER TO r106_owner;
ALTER TABLE s106.pp_1 OWNER TO r106_owner;
ALTER TABLE s106.pp_2 OWNER TO r106_owner;

-- No row stored: both labels are applied (42501 before), the machine is
-- made for the role running the label (codereview3 #2).
SECURITY LABEL FOR steward ON COLUMN s106.t.v IS '{"v": 1, "kind": "version"}';
SECURITY LABEL FOR steward ON COLUMN s106.t.st IS
    '{"v": 1, "kind": "state", "machine": "m106", "states": ["a", "b"], "initial": ["a"], "transitions": ["a->b"]}';
SECURITY LABEL FOR steward ON COLUMN s106.pp.v IS '{"v": 1, "kind": "version"}';
SECURITY LABEL FOR steward ON COLUMN s106.pp.st IS
    '{"v": 1, "kind": "state", "machine": "m106", "states": ["a", "b"], "initial": ["a"], "transitions": ["a->b"]}';
SELECT relid, attname, kind, machine FROM steward.column_rules
 WHERE relid IN ('s106.t'::regclass, 's106.pp'::regclass) ORDER BY 1, 2;
SELECT name, owner = current_user::regrole AS labeller_owns FROM steward.machine_definitions WHERE name = 'm106';
-- The rules hold.
INSERT INTO s106.t VALUES (1, NULL, 'a');
INSERT INTO s106.pp VALUES (2, 1, NULL, 'a');
\set VERBOSITY terse
UPDATE s106.t SET st = 'c';
UPDATE s106.pp SET v = 0;
\set VERBOSITY default

-- Rows stored: the labels read them as the owner, who may not reach the
-- schema: refused, with the owner's error (not read with the superuser's
-- rights that run SECURITY LABEL).
SECURITY LABEL FOR steward ON COLUMN s106.t.v IS NULL;
SECURITY LABEL FOR steward ON COLUMN s106.t.st IS NULL;
SECURITY LABEL FOR steward ON COLUMN s106.pp.v IS NULL;
\set VERBOSITY terse
SECURITY LABEL FOR steward ON COLUMN s106.t.v IS '{"v": 1, "kind": "version"}';
SECURITY LABEL FOR steward ON COLUMN s106.t.st IS
    '{"v": 1, "kind": "state", "machine": "m106", "states": ["a", "b"], "initial": ["a"], "transitions": ["a->b"]}';
-- One partition storing a row is enough.
SECURITY LABEL FOR steward ON COLUMN s106.pp.v IS '{"v": 1, "kind": "version"}';
-- A table whose rows were all deleted stores none (readme38 M3): applied
-- without reading as the owner (refused here before, for its block);
-- taken off again for what follows.
DELETE FROM s106.t;
SECURITY LABEL FOR steward ON COLUMN s106.t.v IS '{"v": 1, "kind": "version"}';
SELECT attname, kind FROM steward.column_rules WHERE relid = 's106.t'::regclass ORDER BY 1;
SECURITY LABEL FOR steward ON COLUMN s106.t.v IS NULL;
-- The same for a partition attached under a table with a rule (pp's
-- machine): an empty one, as a restore attaches it, is accepted; one that
-- stores a row is read as its owner.
CREATE TABLE s106.pp_3 (part int NOT NULL, id int NOT NULL, v bigint, st text) USING steward;
ALTER TABLE s106.pp_3 OWNER TO r106_owner;
ALTER TABLE s106.pp ATTACH PARTITION s106.pp_3 FOR VALUES IN (3);
CREATE TABLE s106.pp_4 (part int NOT NULL, id int NOT NULL, v bigint, st text) USING steward;
ALTER TABLE s106.pp_4 OWNER TO r106_owner;
INSERT INTO s106.pp_4 VALUES (4, 1, 1, 'a');
ALTER TABLE s106.pp ATTACH PARTITION s106.pp_4 FOR VALUES IN (4);
SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 's106.pp'::regclass ORDER BY 1;
\set VERBOSITY default
-- Once the owner may reach the schema, the rows are read and judged.
GRANT USAGE ON SCHEMA s106 TO r106_owner;
INSERT INTO s106.t VALUES (2, 0, 'c');
SECURITY LABEL FOR steward ON COLUMN s106.t.v IS '{"v": 1, "kind": "version"}';
SECURITY LABEL FOR steward ON COLUMN s106.t.st IS
    '{"v": 1, "kind": "state", "machine": "m106", "states": ["a", "b"], "initial": ["a"], "transitions": ["a->b"]}';
UPDATE s106.t SET v = 1, st = 'b';
SECURITY LABEL FOR steward ON COLUMN s106.t.v IS '{"v": 1, "kind": "version"}';
SECURITY LABEL FOR steward ON COLUMN s106.t.st IS
    '{"v": 1, "kind": "state", "machine": "m106", "states": ["a", "b"], "initial": ["a"], "transitions": ["a->b"]}';
SECURITY LABEL FOR steward ON COLUMN s106.pp.v IS '{"v": 1, "kind": "version"}';
SELECT relid, attname, kind, machine FROM steward.column_rules
 WHERE relid IN ('s106.t'::regclass, 's106.pp'::regclass) ORDER BY 1, 2;

DROP SCHEMA s106 CASCADE;
SELECT steward.drop_state_machine('m106');
DROP ROLE r106_owner;
