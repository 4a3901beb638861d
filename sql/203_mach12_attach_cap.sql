-- closing38 item 4 (mach12): an ATTACH PARTITION whose state rules add up
-- past 8 with its new ancestors' was kept with a WARNING when the table
-- stored no row, and the partition then refused every INSERT, COPY and
-- UPDATE (54000).  It was refused up front for a while, but a tree past
-- the cap is still made with a WARNING (a label on an empty table, a row
-- written into column_rules) and its dump sends exactly such an ATTACH
-- before the rows (codereview9 M2, TAP 101): an empty table is kept with a
-- WARNING again, one that stores rows is refused.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('r203_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);

CREATE TABLE r203_p (id int, s1 text, s2 text, s3 text, s4 text, s5 text,
                     s6 text, s7 text, s8 text, s9 text) PARTITION BY RANGE (id);
SELECT count(*) FROM (SELECT steward.attach_state_machine('r203_p', 's' || i, 'r203_m')
                        FROM generate_series(1, 4) i) x;

-- 1. An empty table with 5 machines of its own: 4 + 5 = 9, attached with
--    a WARNING; writes refused until one is detached.
CREATE TABLE r203_e (LIKE r203_p) USING steward;
SELECT count(*) FROM (SELECT steward.attach_state_machine('r203_e', 's' || i, 'r203_m')
                        FROM generate_series(5, 9) i) x;
ALTER TABLE r203_p ATTACH PARTITION r203_e FOR VALUES FROM (0) TO (10);
SELECT relispartition FROM pg_class WHERE oid = 'r203_e'::regclass;
INSERT INTO r203_p VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
-- With one detached rows go in through the parent.
SELECT steward.detach_state_machine('r203_e', 's9');
INSERT INTO r203_p VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zz');
SELECT id, s1, s8, s9 FROM r203_p;
-- Eight: a 9th attach on the parent is refused as before.
SELECT steward.attach_state_machine('r203_p', 's9', 'r203_m');

-- 2. A sub-partitioned tree: its parent's 2 and its leaf's 3 with the new
--    ancestors' 4 make 9 on the leaf: refused naming the leaf while the
--    leaf stores a row, attached with a WARNING naming it once empty.
CREATE TABLE r203_m (LIKE r203_p) PARTITION BY RANGE (id);
SELECT steward.attach_state_machine('r203_m', 's5', 'r203_m');
SELECT steward.attach_state_machine('r203_m', 's6', 'r203_m');
CREATE TABLE r203_ml (LIKE r203_p) USING steward;
SELECT count(*) FROM (SELECT steward.attach_state_machine('r203_ml', 's' || i, 'r203_m')
                        FROM generate_series(7, 9) i) x;
ALTER TABLE r203_m ATTACH PARTITION r203_ml FOR VALUES FROM (10) TO (20);
INSERT INTO r203_m VALUES (11, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
ALTER TABLE r203_p ATTACH PARTITION r203_m FOR VALUES FROM (10) TO (20);
SELECT relispartition FROM pg_class WHERE oid = 'r203_m'::regclass;
-- Empty, in one transaction with the data after it (as pg_restore
-- --single-transaction orders them): attached, the data refused.
TRUNCATE r203_ml;
BEGIN;
ALTER TABLE r203_p ATTACH PARTITION r203_m FOR VALUES FROM (10) TO (20);
SELECT relispartition FROM pg_class WHERE oid = 'r203_m'::regclass;
COPY r203_ml FROM stdin;
11	a	a	a	a	a	a	a	a	a
\.
ROLLBACK;

-- 3. What a restore of a tree within the cap sends, in pg_dump's order:
--    each table and its labels, then the ATTACH, then the rows.
SELECT steward.detach_state_machine('r203_ml', 's9');
CREATE TABLE r203_r (id int, s1 text, s2 text, s3 text, s4 text, s5 text,
                     s6 text, s7 text, s8 text, s9 text) PARTITION BY RANGE (id);
SELECT count(*) AS labels FROM pg_seclabel l JOIN pg_class c ON c.oid = l.objoid
 WHERE l.provider = 'steward' AND c.relname IN ('r203_p', 'r203_m', 'r203_ml');
CREATE TABLE r203_rm (LIKE r203_p) PARTITION BY RANGE (id);
CREATE TABLE r203_rml (LIKE r203_p) USING steward;
DO $$
DECLARE
    l record;
BEGIN
    FOR l IN SELECT regexp_replace(c.relname, '^r203_', 'r203_r') AS rel, a.attname, s.label
               FROM pg_seclabel s JOIN pg_class c ON c.oid = s.objoid
               JOIN pg_attribute a ON a.attrelid = s.objoid AND a.attnum = s.objsubid
              WHERE s.provider = 'steward' AND c.relname IN ('r203_p', 'r203_m', 'r203_ml')
              ORDER BY c.relname, a.attnum LOOP
        EXECUTE format('SECURITY LABEL FOR steward ON COLUMN %I.%I IS %L',
                       CASE l.rel WHEN 'r203_rp' THEN 'r203_r' ELSE l.rel END, l.attname, l.label);
    END LOOP;
END
$$;
ALTER TABLE ONLY r203_rm ATTACH PARTITION r203_rml FOR VALUES FROM (10) TO (20);
ALTER TABLE ONLY r203_r ATTACH PARTITION r203_rm FOR VALUES FROM (10) TO (20);
COPY r203_rml FROM stdin;
11	a	a	a	a	a	a	a	a	b
\.
SELECT r.relid::text, count(*) FROM steward.column_rules r
 WHERE r.relid IN ('r203_r'::regclass, 'r203_rm'::regclass, 'r203_rml'::regclass)
 GROUP BY 1 ORDER BY 1;
INSERT INTO r203_r VALUES (12, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zz');
INSERT INTO r203_r VALUES (13, 'zz', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zz');

DROP TABLE r203_p, r203_m, r203_r;
SELECT steward.drop_state_machine('r203_m');
