-- vers13 (review24, vers12's leftover): ALTER TABLE ONLY parent ALTER
-- COLUMN v DROP DEFAULT (or SET DEFAULT NULL) over a partition whose
-- version or changed_at column is NOT NULL reopened the routing gap
-- vers11 closed (every INSERT through the parent leaving the column out
-- fails 23502 on the partition): the DDL check read only the parent, the
-- one relation the command locks, and verify() listed it afterwards.  Now
-- refused with 42P16 (core's SQLSTATE for ALTER TABLE ONLY ... DROP NOT
-- NULL of a partitioned table with partitions), reading the partitions'
-- NOT NULL flags from the catalog caches without locking them.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET default_table_access_method = steward;
CREATE ROLE r246_owner;
GRANT CREATE ON SCHEMA public TO r246_owner;
SET ROLE r246_owner;

-- 1. The finding: the rule on the parent, a NOT NULL partition.
CREATE TABLE r246_p (id int, v bigint DEFAULT 1) PARTITION BY RANGE (id);
CREATE TABLE r246_p1 PARTITION OF r246_p (v NOT NULL) FOR VALUES FROM (0) TO (100);
CREATE TABLE r246_p2 PARTITION OF r246_p FOR VALUES FROM (100) TO (200);
SELECT steward.track_versions('r246_p', 'v');
ALTER TABLE ONLY r246_p ALTER COLUMN v DROP DEFAULT;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
ALTER TABLE ONLY r246_p ALTER COLUMN v SET DEFAULT NULL;
-- Nothing changed: rows routed through the parent still get a version.
INSERT INTO r246_p (id) VALUES (1), (101);
SELECT tableoid::regclass, id, v FROM r246_p ORDER BY id;
SELECT count(*) AS failed FROM steward.verify('r246_p') WHERE NOT passed;
-- Recursive, the partition is judged as itself (as before).
ALTER TABLE r246_p ALTER COLUMN v DROP DEFAULT;
-- The HINT's second fix, then DROP DEFAULT ONLY is accepted: the AM sets
-- the version of a row routed with NULL.
ALTER TABLE public.r246_p ALTER COLUMN v DROP NOT NULL;
ALTER TABLE ONLY r246_p ALTER COLUMN v DROP DEFAULT;
INSERT INTO r246_p (id) VALUES (2);
SELECT tableoid::regclass, id, v FROM r246_p ORDER BY id;
SELECT count(*) AS failed FROM steward.verify('r246_p') WHERE NOT passed;

-- 2. Three levels, the rule on the leaf only: ONLY on the root and on
-- the middle table are both refused, naming the leaf.
CREATE TABLE r246_g (id int, v bigint DEFAULT 1) PARTITION BY RANGE (id);
CREATE TABLE r246_m PARTITION OF r246_g FOR VALUES FROM (0) TO (100) PARTITION BY RANGE (id);
CREATE TABLE r246_l PARTITION OF r246_m (v NOT NULL) FOR VALUES FROM (0) TO (50);
CREATE TABLE r246_l2 PARTITION OF r246_m FOR VALUES FROM (50) TO (100);
SELECT steward.track_versions('r246_l', 'v');
ALTER TABLE ONLY r246_g ALTER COLUMN v DROP DEFAULT;
ALTER TABLE ONLY r246_m ALTER COLUMN v DROP DEFAULT;
-- Without a rule on the NOT NULL leaf, nothing of pg_steward's is at
-- stake: accepted (PostgreSQL's own 23502 as without the extension).
SELECT steward.untrack('r246_l', 'v');
SELECT steward.track_versions('r246_l2', 'v');
ALTER TABLE ONLY r246_g ALTER COLUMN v DROP DEFAULT;
ALTER TABLE r246_g ALTER COLUMN v SET DEFAULT 1;

-- 3. A changed_at column, DEFAULT now() on the parent.
CREATE TABLE r246_s (id int, st text, at timestamptz DEFAULT now()) PARTITION BY LIST (id);
CREATE TABLE r246_s1 PARTITION OF r246_s (at NOT NULL) FOR VALUES IN (1);
SELECT steward.create_state_machine('r246_sm', states => ARRAY['a', 'b'],
       initial => ARRAY['a'], transitions => ARRAY['a->b']);
SELECT steward.attach_state_machine('r246_s', 'st', 'r246_sm', changed_at_column => 'at');
ALTER TABLE ONLY r246_s ALTER COLUMN at DROP DEFAULT;
INSERT INTO r246_s (id, st) VALUES (1, 'a');
SELECT st, at IS NOT NULL AS stamped FROM r246_s;

-- 4. A partition owned by another role: the check reads its catalog
-- rows, not the table, and still refuses.
RESET ROLE;
CREATE ROLE r246_other;
ALTER TABLE r246_p2 OWNER TO r246_other;
ALTER TABLE r246_p ALTER COLUMN v SET DEFAULT 1;
ALTER TABLE r246_p2 ALTER COLUMN v SET NOT NULL;
SET ROLE r246_owner;
ALTER TABLE ONLY r246_p ALTER COLUMN v DROP DEFAULT;

RESET ROLE;
DROP TABLE r246_p, r246_g, r246_s;
SELECT steward.drop_state_machine('r246_sm');
REVOKE CREATE ON SCHEMA public FROM r246_owner;
DROP ROLE r246_owner, r246_other;
