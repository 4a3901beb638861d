-- vers12 (review23 R3 and the leftovers of vers11's item 4).
-- 1. A row MOVING into a partition past the state-rule cap was refused
-- naming the partition it leaves (which may be within the cap); a row
-- moving under a state rule whose machine is gone, likewise.  Both now
-- name the partition the row enters (or, for a role with no right on it,
-- the table it writes through).
-- 2. A restored security label or a row written into steward.column_rules
-- could give a table two version columns (its own and a partitioned
-- ancestor's) without a word, and verify() did not list it: a WARNING,
-- and a failed verify() row.
-- 3. Such a table (also after an empty ATTACH's WARNING) checked only the
-- nearer column: INSERT, COPY and UPDATE of it are now refused (54000)
-- until one rule is untracked.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET default_table_access_method = steward;
CREATE ROLE r233_app;

-- 1a. The cap: p5 has 4 machines, p5e 5 of its own, p5ok none.
SELECT steward.create_state_machine('r233_m', states => ARRAY['a', 'b'],
       initial => ARRAY['a'], transitions => ARRAY['a->b']);
CREATE TABLE r233_p5 (id int, s1 text, s2 text, s3 text, s4 text, s5 text,
                      s6 text, s7 text, s8 text, s9 text) PARTITION BY RANGE (id);
SELECT steward.attach_state_machine('r233_p5', 's' || i, 'r233_m') FROM generate_series(1, 4) i;
CREATE TABLE r233_p5ok PARTITION OF r233_p5 FOR VALUES FROM (100) TO (200);
INSERT INTO r233_p5 VALUES (150, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
CREATE TABLE r233_p5e (LIKE r233_p5);
SELECT steward.attach_state_machine('r233_p5e', 's' || i, 'r233_m') FROM generate_series(5, 9) i;
SET client_min_messages = error;
ALTER TABLE r233_p5 ATTACH PARTITION r233_p5e FOR VALUES FROM (0) TO (10);
SET client_min_messages = warning;
-- Names r233_p5e, the partition over the cap (was r233_p5ok).
UPDATE r233_p5 SET id = 4 WHERE id = 150;
-- r233_p5ok accepts updates that stay.
UPDATE r233_p5 SET s1 = 'b' WHERE id = 150;
-- A role with rights on the partitioned table only is told that table.
GRANT SELECT, UPDATE ON r233_p5 TO r233_app;
SET ROLE r233_app;
UPDATE r233_p5 SET id = 4 WHERE id = 150;
RESET ROLE;
SELECT id, s1 FROM r233_p5;
DROP TABLE r233_p5;

-- 1b. A machine malformed: the rule is r233_q2's only.
SELECT steward.create_state_machine('r233_gone', states => ARRAY['a', 'b'],
       initial => ARRAY['a'], transitions => ARRAY['a->b']);
CREATE TABLE r233_q (id int, s text) PARTITION BY RANGE (id);
CREATE TABLE r233_q1 PARTITION OF r233_q FOR VALUES FROM (100) TO (200);
CREATE TABLE r233_q2 PARTITION OF r233_q FOR VALUES FROM (0) TO (10);
SELECT steward.attach_state_machine('r233_q2', 's', 'r233_gone');
INSERT INTO r233_q VALUES (150, 'a');
UPDATE steward.machine_definitions SET transitions = ARRAY['a->zz'] WHERE name = 'r233_gone';
-- Names r233_q2, whose rule it is (was r233_q1, which has none).
UPDATE r233_q SET id = 4, s = 'b' WHERE id = 150;
UPDATE r233_q SET s = 'b' WHERE id = 150;
UPDATE steward.machine_definitions SET transitions = ARRAY['a->b'] WHERE name = 'r233_gone';
DROP TABLE r233_q;
SELECT steward.drop_state_machine('r233_gone');

-- 3a. An empty ATTACH of a table tracking another column: WARNING, then
-- writes are refused (were: only the partition's own "w" checked).
CREATE TABLE r233_t (id int, v bigint, w bigint) PARTITION BY LIST (id);
CREATE TABLE r233_t1 PARTITION OF r233_t FOR VALUES IN (1);
SELECT steward.track_versions('r233_t', 'v');
INSERT INTO r233_t VALUES (1, 1, 1);
CREATE TABLE r233_t2 (LIKE r233_t);
SELECT steward.track_versions('r233_t2', 'w');
ALTER TABLE r233_t ATTACH PARTITION r233_t2 FOR VALUES IN (2);
INSERT INTO r233_t VALUES (2, 7, 7);
-- A COPY is refused too, but the owner's (a restore's: t/107, sql/255).
-- A row moving in is refused too; one staying in r233_t1 is not.
UPDATE r233_t SET id = 2 WHERE id = 1;
UPDATE r233_t SET v = v + 1 WHERE id = 1;
-- Through the partitioned table, a role without rights on r233_t2.
GRANT SELECT, INSERT ON r233_t TO r233_app;
SET ROLE r233_app;
INSERT INTO r233_t VALUES (2, 7, 7);
COPY r233_t FROM STDIN;
2	7	7
\.
RESET ROLE;
SELECT "check", passed, detail FROM steward.verify('r233_t') WHERE NOT passed;
SELECT "check", passed, detail FROM steward.verify('r233_t2') WHERE NOT passed;
-- The HINT's untrack fixes it.
SELECT steward.untrack('public.r233_t2', 'w');
INSERT INTO r233_t VALUES (2, 7, 7);
SELECT id, v, w FROM r233_t ORDER BY id;
SELECT count(*) FROM steward.verify('r233_t') WHERE NOT passed;

-- 2a. A row written into steward.column_rules by hand: a WARNING naming
-- the untrack, kept; verify lists it; writes refused.
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r233_t1', 'w', 'version');
SELECT relid, column_name FROM steward.tracked_columns
 WHERE relid IN ('r233_t'::regclass, 'r233_t1'::regclass) ORDER BY 1, 2;
SELECT "check", passed, detail FROM steward.verify('r233_t1') WHERE NOT passed;
UPDATE r233_t SET v = v + 1 WHERE id = 1;
SELECT steward.untrack('public.r233_t1', 'w');
-- track_versions is refused as before (42710), with no WARNING first.
SELECT steward.track_versions('r233_t1', 'w');
UPDATE r233_t SET v = v + 1 WHERE id = 1;

-- 2b. A security label (a restore) puts "w" on a partition: the same.
SECURITY LABEL FOR steward ON COLUMN r233_t1.w IS '{"v": 1, "kind": "version"}';
SELECT relid, column_name FROM steward.tracked_columns
 WHERE relid IN ('r233_t'::regclass, 'r233_t1'::regclass) ORDER BY 1, 2;
UPDATE r233_t SET v = v + 1 WHERE id = 1;
SECURITY LABEL FOR steward ON COLUMN r233_t1.w IS NULL;
UPDATE r233_t SET v = v + 1 WHERE id = 1;
SELECT id, v, w FROM r233_t ORDER BY id;
DROP TABLE r233_t;
DROP ROLE r233_app;
SELECT steward.drop_state_machine('r233_m');
