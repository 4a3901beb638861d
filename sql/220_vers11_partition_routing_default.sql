-- vers11 (review23 R8): a partition whose version or changed_at column is
-- NOT NULL, under a partitioned table whose column has no default, was
-- accepted (its own default looked enough), yet every INSERT through the
-- partitioned table that leaves the column out routes the row with that
-- table's default, NULL, and fails 23502 before the access method sets
-- the column; steward.verify() said nothing.  Now refused, with the fix on
-- the table above (SET DEFAULT there reaches the partitions too) or DROP
-- NOT NULL on the partition.  (review23 R4) The PARTITION OF HINT keeps
-- UNLOGGED and the TOAST table's storage parameters.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET default_table_access_method = steward;
CREATE ROLE r220_owner;
GRANT CREATE ON SCHEMA public TO r220_owner;
SET ROLE r220_owner;

-- 1. track_versions over a bigint partition NOT NULL DEFAULT 1.
CREATE TABLE r220_p (id int, v bigint) PARTITION BY RANGE (id);
CREATE TABLE r220_p1 PARTITION OF r220_p (v NOT NULL DEFAULT 1) FOR VALUES FROM (0) TO (100);
SELECT steward.track_versions('r220_p', 'v');
-- The HINT's fix, then the rule and an INSERT through the parent.
ALTER TABLE public.r220_p ALTER COLUMN v SET DEFAULT 1;
SELECT steward.track_versions('r220_p', 'v');
INSERT INTO r220_p (id) VALUES (1);
INSERT INTO r220_p1 (id) VALUES (2);
SELECT tableoid::regclass, id, v FROM r220_p ORDER BY id;
-- ONLY DROP DEFAULT on the parent would leave the partition's: refused
-- since vers13 (42P16, sql/246), so verify finds nothing to list.
ALTER TABLE ONLY r220_p ALTER COLUMN v DROP DEFAULT;
SELECT "check", passed, detail FROM steward.verify('r220_p') WHERE NOT passed;
ALTER TABLE r220_p ALTER COLUMN v SET DEFAULT 1;
SELECT "check", passed FROM steward.verify('r220_p') WHERE NOT passed;

-- 2. Later DDL under a grandparent without a default, two levels up:
-- SET NOT NULL on a partition, a new partition declared NOT NULL (its
-- HINT's command keeps UNLOGGED and toast.* storage parameters).
CREATE TABLE r220_g (id int, v bigint, note text) PARTITION BY RANGE (id);
CREATE TABLE r220_m PARTITION OF r220_g (v DEFAULT 1) FOR VALUES FROM (0) TO (100) PARTITION BY RANGE (id);
CREATE TABLE r220_l PARTITION OF r220_m FOR VALUES FROM (0) TO (50);
SELECT steward.track_versions('r220_m', 'v');
INSERT INTO r220_g (id) VALUES (1);
ALTER TABLE r220_l ALTER COLUMN v SET NOT NULL;
CREATE TABLE r220_l2 PARTITION OF r220_m (v NOT NULL) FOR VALUES FROM (50) TO (60);
-- (R4: DEFAULT 0 is refused by the old code too, whose HINT dropped
-- UNLOGGED and toast.autovacuum_enabled.)
CREATE UNLOGGED TABLE r220_l3 PARTITION OF r220_m (v DEFAULT 0)
    FOR VALUES FROM (60) TO (70) WITH (fillfactor = 70, toast.autovacuum_enabled = false);
-- The HINT's command, as written.
CREATE UNLOGGED TABLE public.r220_l3 PARTITION OF public.r220_m (v DEFAULT 1) FOR VALUES FROM (60) TO (70) USING steward WITH (fillfactor=70, toast.autovacuum_enabled=false);
SELECT relpersistence, reloptions,
       (SELECT reloptions FROM pg_class t WHERE t.oid = c.reltoastrelid)
    FROM pg_class c WHERE relname = 'r220_l3';
INSERT INTO r220_g (id) VALUES (61);
SELECT tableoid::regclass, id, v FROM r220_g ORDER BY id;

-- 3. ATTACH of a table storing rows, NOT NULL DEFAULT 1: refused, both
-- fixes named; the empty one is kept with a WARNING and verify lists it.
SET client_min_messages = notice;
CREATE TABLE r220_a (id int, v bigint NOT NULL DEFAULT 1, note text);
INSERT INTO r220_a VALUES (70, 1, NULL);
ALTER TABLE r220_m ATTACH PARTITION r220_a FOR VALUES FROM (70) TO (80);
CREATE TABLE r220_e (id int, v bigint NOT NULL DEFAULT 1, note text);
ALTER TABLE r220_m ATTACH PARTITION r220_e FOR VALUES FROM (80) TO (90);
SELECT "check", passed, detail FROM steward.verify('r220_m') WHERE NOT passed;
-- The first fix, then both work through the grandparent.
ALTER TABLE public.r220_g ALTER COLUMN v SET DEFAULT 1;
ALTER TABLE r220_m ATTACH PARTITION r220_a FOR VALUES FROM (70) TO (80);
INSERT INTO r220_g (id) VALUES (71), (81);
SELECT tableoid::regclass, id, v FROM r220_g WHERE id > 70 ORDER BY id;
SELECT "check", passed FROM steward.verify('r220_g') WHERE NOT passed;
SET client_min_messages = warning;

-- 4. changed_at NOT NULL DEFAULT now() on a partition under a parent
-- without a default: attach_state_machine refuses, naming the parent.
CREATE TABLE r220_s (id int, st text, at timestamptz) PARTITION BY LIST (id);
CREATE TABLE r220_s1 PARTITION OF r220_s (at NOT NULL DEFAULT now()) FOR VALUES IN (1);
SELECT steward.create_state_machine('r220_m1', states => ARRAY['a', 'b'],
       initial => ARRAY['a'], transitions => ARRAY['a->b']);
SELECT steward.attach_state_machine('r220_s', 'st', 'r220_m1', changed_at_column => 'at');
ALTER TABLE public.r220_s ALTER COLUMN at SET DEFAULT now();
SELECT steward.attach_state_machine('r220_s', 'st', 'r220_m1', changed_at_column => 'at');
INSERT INTO r220_s (id, st) VALUES (1, 'a');
SELECT st, at IS NOT NULL AS stamped FROM r220_s;

RESET ROLE;
DROP TABLE r220_p, r220_g, r220_s, r220_a;
SELECT steward.drop_state_machine('r220_m1');
REVOKE CREATE ON SCHEMA public FROM r220_owner;
DROP ROLE r220_owner;
