-- vers13: a table that two version columns reach (its own rule and a
-- partitioned ancestor's, kept with a WARNING by an empty ATTACH, a
-- restored label or a row written into steward.column_rules) refuses
-- every INSERT, COPY and UPDATE (54000) and verify() lists it, yet
-- steward.tracked_columns showed both rules with problem NULL.  Now
-- problem says which table refuses writes and the untrack that fixes it;
-- enforced stays true (no row is stored unchecked), as for a state rule
-- whose machine is gone (readme40 N5).
\set SHOW_CONTEXT never
SET client_min_messages = error;
SET default_table_access_method = steward;

-- 1. An empty ATTACH: the partition tracks w, its new parent v.
CREATE TABLE r248_t (id int, v bigint, w bigint) PARTITION BY LIST (id);
CREATE TABLE r248_t1 PARTITION OF r248_t FOR VALUES IN (1);
SELECT steward.track_versions('r248_t', 'v');
CREATE TABLE r248_t2 (LIKE r248_t);
SELECT steward.track_versions('r248_t2', 'w');
ALTER TABLE r248_t ATTACH PARTITION r248_t2 FOR VALUES IN (2);
SELECT relid, column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid::text LIKE 'r248%' ORDER BY 1, 2;
INSERT INTO r248_t VALUES (2, 1, 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
-- The other partition takes rows: its rule is checked there.
INSERT INTO r248_t VALUES (1, 1, 1);
SELECT steward.untrack('public.r248_t2', 'w');
SELECT relid, column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid::text LIKE 'r248%' ORDER BY 1, 2;

-- 2. Three levels, a row written by hand on the middle table: both rules
-- name the leaf under the middle table, and the middle one's untrack.
CREATE TABLE r248_g (id int, v bigint, w bigint) PARTITION BY LIST (id);
CREATE TABLE r248_m PARTITION OF r248_g FOR VALUES IN (1, 2) PARTITION BY LIST (id);
CREATE TABLE r248_l PARTITION OF r248_m FOR VALUES IN (1);
SELECT steward.track_versions('r248_g', 'v');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r248_m', 'w', 'version');
SELECT relid, column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid::text LIKE 'r248%' ORDER BY 1, 2;
SELECT count(*) AS failed FROM steward.verify('r248_g') WHERE NOT passed;
SELECT steward.untrack('public.r248_m', 'w');
SELECT relid, column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid::text LIKE 'r248%' ORDER BY 1, 2;

DROP TABLE r248_t, r248_t2, r248_g;
