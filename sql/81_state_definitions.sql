-- One definition of a state (review8 #27, #21).
-- #27: the access method compares states byte for byte.  A state column
--      with a nondeterministic collation would let SQL (attach's check of
--      the stored rows, verify(), counts, batches) take 'Paid' for 'paid':
--      such columns are refused wherever a state rule arrives or a state
--      column changes (attach_state_machine, a label, ALTER TABLE), and
--      the checks of stored rows compare byte for byte.
-- #21: a machine's lists are one-dimensional arrays (a 2-D one was stored
--      as given and written into labels no restore accepts).
SET client_min_messages = warning;
CREATE COLLATION sd_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
RESET client_min_messages;
SELECT steward.create_state_machine('sd_m', states => ARRAY['new', 'paid', 'shipped'],
                                    initial => ARRAY['new'],
                                    transitions => ARRAY['new->paid', 'paid->shipped']);
CREATE TABLE sd_t (id int PRIMARY KEY, status text COLLATE sd_ci NOT NULL DEFAULT 'new') USING steward;
INSERT INTO sd_t VALUES (1, 'NEW'), (2, 'Paid');
-- Under sd_ci, 'NEW' = 'new': the column is refused, with the fix.
SELECT steward.attach_state_machine('sd_t', 'status', 'sd_m');
-- varchar(n) keeps its length in the hint.
CREATE TABLE sd_v (id int PRIMARY KEY, status varchar(20) COLLATE sd_ci) USING steward;
SELECT steward.attach_state_machine('sd_v', 'status', 'sd_m');

-- A deterministic collation: the stored spellings are not states.
ALTER TABLE sd_t ALTER COLUMN status TYPE text COLLATE "default";
SELECT steward.attach_state_machine('sd_t', 'status', 'sd_m');
UPDATE sd_t SET status = lower(status);
SELECT steward.attach_state_machine('sd_t', 'status', 'sd_m');
INSERT INTO sd_t VALUES (3, 'NEW');
-- The column cannot take the nondeterministic collation back.
ALTER TABLE sd_t ALTER COLUMN status TYPE text COLLATE sd_ci;
SELECT a.attcollation::regcollation FROM pg_attribute a
 WHERE a.attrelid = 'sd_t'::regclass AND a.attname = 'status';

-- A label brings the rule the same way (a restore of sd_v's rule).
SECURITY LABEL FOR steward ON COLUMN sd_v.status IS '{"v": 1, "kind": "state", "machine": "sd_m"}';
SELECT count(*) AS sd_v_rules FROM steward.column_rules WHERE relid = 'sd_v'::regclass;

-- A rule that stands on such a column already (attached before this
-- check: simulated by writing the rule row, as a restore's data would):
-- verify() compares byte for byte, so 'Paid' is not a state of sd_m; and
-- an ALTER TABLE of such a table (here ATTACH PARTITION) is refused until
-- the column gets a deterministic collation.
INSERT INTO sd_v VALUES (1, 'new'), (2, 'Paid');
SET client_min_messages = warning;
INSERT INTO steward.column_rules (relid, attname, kind, machine)
VALUES ('sd_v', 'status', 'state', 'sd_m');
RESET client_min_messages;
SELECT "check", passed, detail FROM steward.verify('sd_v') WHERE "check" LIKE 'states%';
CREATE TABLE sd_p (k int NOT NULL, status text COLLATE sd_ci) PARTITION BY LIST (k);
CREATE TABLE sd_p1 PARTITION OF sd_p FOR VALUES IN (1) USING steward;
SET client_min_messages = warning;
INSERT INTO steward.column_rules (relid, attname, kind, machine)
VALUES ('sd_p', 'status', 'state', 'sd_m');
RESET client_min_messages;
CREATE TABLE sd_p2 (k int NOT NULL, status text COLLATE sd_ci) USING steward;
INSERT INTO sd_p2 VALUES (2, 'SHIPPED');
ALTER TABLE sd_p ATTACH PARTITION sd_p2 FOR VALUES IN (2);
SELECT count(*) AS sd_p_partitions FROM pg_inherits WHERE inhparent = 'sd_p'::regclass;

-- #21: two-dimensional lists are refused, whichever list it is.
SELECT steward.create_state_machine('sd_2d', states => ARRAY['a', 'b'], initial => ARRAY['a'],
                                    transitions => '{{a->b},{b->a}}');
SELECT steward.create_state_machine('sd_2d', states => '{{a},{b}}', initial => ARRAY['a'],
                                    transitions => ARRAY['a->b']);
SELECT steward.create_state_machine('sd_2d', states => ARRAY['a', 'b'], initial => '{{a}}',
                                    transitions => ARRAY['a->b']);
SELECT count(*) AS sd_2d_machines FROM steward.machine_definitions WHERE name = 'sd_2d';

DROP TABLE sd_t, sd_v, sd_p, sd_p2;
SELECT steward.drop_state_machine('sd_m');
DROP COLLATION sd_ci;
