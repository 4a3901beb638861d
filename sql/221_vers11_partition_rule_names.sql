-- vers11 (review23 items 3, 4).
-- 3. The 54000 of a partition past the state-rule cap named the partition
-- to a role that writes through the partitioned table and has no right on
-- the partition; it now names the table the role wrote.
-- 4. "One version column per table" read only the table's own rules: a
-- partition under a parent tracking "v" could track "w" (and the parent
-- "v" over a partition tracking "w"); the partition's rows then kept the
-- parent's "v" unchecked.  Refused (42710) by track_versions and by an
-- ATTACH PARTITION storing rows.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET default_table_access_method = steward;
CREATE ROLE r221_app;

-- 3.
SELECT steward.create_state_machine('r221_m', states => ARRAY['a', 'b'],
       initial => ARRAY['a'], transitions => ARRAY['a->b']);
CREATE TABLE r221_p (id int, s1 text, s2 text, s3 text, s4 text, s5 text,
                     s6 text, s7 text, s8 text, s9 text) PARTITION BY LIST (id);
SELECT steward.attach_state_machine('r221_p', 's' || i, 'r221_m') FROM generate_series(1, 8) i;
CREATE TABLE r221_x (LIKE r221_p);
SELECT steward.attach_state_machine('r221_x', 's9', 'r221_m');
SET client_min_messages = error;
ALTER TABLE r221_p ATTACH PARTITION r221_x FOR VALUES IN (1);
SET client_min_messages = warning;
GRANT INSERT, UPDATE, SELECT ON r221_p TO r221_app;
SET ROLE r221_app;
INSERT INTO r221_p VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
RESET ROLE;
-- The owner (rights on the partition) is told the partition, as before.
INSERT INTO r221_p VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
INSERT INTO r221_x VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
-- A role with a right on the partition too is told the partition.
GRANT SELECT ON r221_x TO r221_app;
SET ROLE r221_app;
INSERT INTO r221_p VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
RESET ROLE;
DROP TABLE r221_p;
SELECT steward.drop_state_machine('r221_m');

-- 4a. track_versions of a partition under a parent tracking another column.
CREATE TABLE r221_t (id int, v bigint, w bigint) PARTITION BY LIST (id);
CREATE TABLE r221_t1 PARTITION OF r221_t FOR VALUES IN (1);
SELECT steward.track_versions('r221_t', 'v');
SELECT steward.track_versions('r221_t1', 'w');
-- The same column is one rule, as before.
SELECT steward.track_versions('r221_t1', 'v');
SELECT steward.untrack('r221_t1', 'v');
-- 4b. The parent over a grandchild that tracks another column.
SELECT steward.untrack('r221_t', 'v');
CREATE TABLE r221_m (id int, v bigint, w bigint) PARTITION BY LIST (id);
CREATE TABLE r221_l PARTITION OF r221_m FOR VALUES IN (2);
SELECT steward.track_versions('r221_l', 'w');
ALTER TABLE r221_t ATTACH PARTITION r221_m FOR VALUES IN (2);
INSERT INTO r221_t VALUES (2, 5, 5);
SELECT steward.track_versions('r221_t', 'v');
SELECT steward.track_versions('r221_t', 'w');
SELECT steward.untrack('r221_t', 'w');
ALTER TABLE r221_t DETACH PARTITION r221_m;
SELECT steward.track_versions('r221_t', 'v');
-- 4c. ATTACH of a tree storing rows that tracks another column: refused,
-- naming the untrack; empty, attached with a WARNING.
SET client_min_messages = notice;
ALTER TABLE r221_t ATTACH PARTITION r221_m FOR VALUES IN (2);
SELECT count(*) FROM pg_inherits WHERE inhrelid = 'r221_m'::regclass;
DELETE FROM r221_m;
ALTER TABLE r221_t ATTACH PARTITION r221_m FOR VALUES IN (2);
SET client_min_messages = warning;
-- Writes to the attached one are refused until one rule is untracked
-- (vers12; it checked only its own column, the nearest rule).
INSERT INTO r221_t VALUES (2, 7, 7);
UPDATE r221_t SET id = id WHERE id = 2;
SELECT id, v, w FROM r221_t WHERE id = 2;
DROP TABLE r221_t;
DROP ROLE r221_app;
