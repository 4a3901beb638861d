-- ALTER TABLE on a parent recurses to its partitions and inheritance
-- children; pg_steward checks the rules of the whole tree (recheck10 N1:
-- a type change through a partitioned parent silently ended a partition's
-- version rule).
CREATE TABLE tr_pv (id int, version bigint, state text) PARTITION BY RANGE (id);
CREATE TABLE tr_pv1 PARTITION OF tr_pv FOR VALUES FROM (0) TO (10) USING steward;
CREATE TABLE tr_pv2 PARTITION OF tr_pv FOR VALUES FROM (10) TO (20) USING steward;
SELECT steward.track_versions('tr_pv1', 'version');
-- Refused, naming the partition whose rule it is.
ALTER TABLE tr_pv ALTER COLUMN version TYPE text;
ALTER TABLE tr_pv ALTER COLUMN version TYPE numeric;
SELECT a.atttypid::regtype FROM pg_attribute a
 WHERE a.attrelid = 'tr_pv1'::regclass AND a.attname = 'version';
-- A type the rule accepts passes.
ALTER TABLE tr_pv ALTER COLUMN version TYPE bigint;
-- A column rename through the parent: the partition's rule follows it.
ALTER TABLE tr_pv RENAME COLUMN version TO row_version;
SELECT relid::regclass, attname, kind FROM steward.column_rules WHERE relid = 'tr_pv1'::regclass;
INSERT INTO tr_pv VALUES (1, 1, 'a');
UPDATE tr_pv SET row_version = 0 WHERE id = 1;
-- Two levels, a state machine on the leaf.
CREATE TABLE tr_mid PARTITION OF tr_pv FOR VALUES FROM (20) TO (30) PARTITION BY RANGE (id);
CREATE TABLE tr_leaf PARTITION OF tr_mid FOR VALUES FROM (20) TO (30) USING steward;
SELECT steward.create_state_machine('tr_flow', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('tr_leaf', 'state', 'tr_flow');
ALTER TABLE tr_pv ALTER COLUMN state TYPE int USING 0;
ALTER TABLE tr_pv ALTER COLUMN state TYPE char(5);
ALTER TABLE tr_pv RENAME COLUMN state TO status;
SELECT relid::regclass, attname, kind FROM steward.column_rules
 WHERE relid IN ('tr_pv1'::regclass, 'tr_leaf'::regclass) ORDER BY relid::regclass::text COLLATE "C", 2;
INSERT INTO tr_pv VALUES (21, 1, 'a');
UPDATE tr_pv SET status = 'b' WHERE id = 21;
UPDATE tr_pv SET status = 'a' WHERE id = 21;
-- Plain inheritance: the child's rule is checked through the parent.
CREATE TABLE tr_base (id int, seq int);
CREATE TABLE tr_child () INHERITS (tr_base) USING steward;
SELECT steward.track_sequence('tr_child', 'seq');
ALTER TABLE tr_base ALTER COLUMN seq TYPE text;
ALTER TABLE tr_base ALTER COLUMN seq TYPE bigint;
ALTER TABLE tr_base RENAME COLUMN seq TO n;
SELECT relid::regclass, attname, kind FROM steward.column_rules WHERE relid = 'tr_child'::regclass;
DROP TABLE tr_pv, tr_base CASCADE;
SELECT steward.drop_state_machine('tr_flow');
