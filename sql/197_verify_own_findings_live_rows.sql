-- readme38 M2: verify() of a sound partition listed its siblings' failed
-- column_definition rows (naming them only inside the fix): verify of a
-- table reports that table's findings and, for a partitioned table, its
-- partitions', each naming its table.  M3: "stores rows" meant "has data
-- pages": after DELETE (or a rolled-back INSERT) a label making a 9th rule
-- and an ATTACH PARTITION of a table declared otherwise were refused as if
-- it held rows; now a table stores rows when a snapshot sees one.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r197_owner;
CREATE ROLE r197_owner;
GRANT CREATE ON SCHEMA public TO r197_owner;
SET default_table_access_method = steward;
SET ROLE r197_owner;

-- 1. M2: p1 sound, p3 made with LIKE, p5 with DEFAULT 0 (as a restore
-- attaches them: empty, kept with a WARNING).
CREATE TABLE r197_p (id int, version bigint NOT NULL DEFAULT 1) PARTITION BY RANGE (id);
SELECT steward.track_versions('r197_p', 'version');
CREATE TABLE r197_p1 PARTITION OF r197_p FOR VALUES FROM (0) TO (100);
CREATE TABLE r197_p3 (LIKE r197_p);
ALTER TABLE r197_p ATTACH PARTITION r197_p3 FOR VALUES FROM (300) TO (400);
CREATE TABLE r197_p5 (id int, version bigint NOT NULL DEFAULT 0);
ALTER TABLE r197_p ATTACH PARTITION r197_p5 FOR VALUES FROM (500) TO (600);
SELECT count(*) AS p1_failed FROM steward.verify('r197_p1') WHERE NOT passed;
SELECT detail FROM steward.verify('r197_p3') WHERE "check" = 'column_definition' AND NOT passed;
SELECT detail FROM steward.verify('r197_p') WHERE "check" = 'column_definition' AND NOT passed ORDER BY 1;
-- A sub-partitioned member: verify of it lists its leaf, not its siblings.
CREATE TABLE r197_s (id int, version bigint NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE r197_s1 PARTITION OF r197_s FOR VALUES FROM (600) TO (700);
ALTER TABLE r197_p ATTACH PARTITION r197_s FOR VALUES FROM (600) TO (700);
SELECT detail FROM steward.verify('r197_s') WHERE "check" = 'column_definition' AND NOT passed ORDER BY 1;
SELECT count(*) AS p1_failed FROM steward.verify('r197_p1') WHERE NOT passed;

-- 2. M3: ATTACH of a table declared otherwise that held rows and holds
-- none now: kept with a WARNING, as an empty one; with a row: refused.
CREATE TABLE r197_del (LIKE r197_p);
INSERT INTO r197_del VALUES (701, 1), (702, 1);
DELETE FROM r197_del;
ALTER TABLE r197_p ATTACH PARTITION r197_del FOR VALUES FROM (700) TO (800);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE r197_rb (LIKE r197_p);
BEGIN;
INSERT INTO r197_rb VALUES (801, 1);
ROLLBACK;
ALTER TABLE r197_p ATTACH PARTITION r197_rb FOR VALUES FROM (800) TO (900);
CREATE TABLE r197_full (LIKE r197_p);
INSERT INTO r197_full VALUES (901, 1), (902, 1);
DELETE FROM r197_full WHERE id = 901;
ALTER TABLE r197_p ATTACH PARTITION r197_full FOR VALUES FROM (900) TO (1000);
\echo :LAST_ERROR_SQLSTATE
-- Rows this transaction wrote count.
BEGIN;
CREATE TABLE r197_own (LIKE r197_p);
INSERT INTO r197_own VALUES (1001, 1);
ALTER TABLE r197_p ATTACH PARTITION r197_own FOR VALUES FROM (1000) TO (1100);
ROLLBACK;
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'r197_p'::regclass ORDER BY 1;

-- 3. M3, the label path: a 9th state rule by a label on a table emptied
-- by DELETE is kept with a WARNING (writes refused), as after TRUNCATE.
SELECT steward.create_state_machine('r197_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r197_c (id int PRIMARY KEY, s1 text, s2 text, s3 text, s4 text,
                     s5 text, s6 text, s7 text, s8 text, s9 text);
SELECT count(*) FROM (SELECT steward.attach_state_machine('r197_c', 's' || i, 'r197_m')
                      FROM generate_series(1, 8) i) x;
SELECT l.label AS lbl FROM pg_seclabel l
 WHERE l.objoid = 'r197_c'::regclass AND l.objsubid = 2 AND l.provider = 'steward' \gset
INSERT INTO r197_c VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
SECURITY LABEL FOR steward ON COLUMN r197_c.s9 IS :'lbl';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM r197_c;
SECURITY LABEL FOR steward ON COLUMN r197_c.s9 IS :'lbl';
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 'r197_c'::regclass;
INSERT INTO r197_c VALUES (2, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
\echo :LAST_ERROR_SQLSTATE

RESET ROLE;
DROP TABLE r197_p, r197_c, r197_full;
SELECT steward.drop_state_machine('r197_m');
REVOKE CREATE ON SCHEMA public FROM r197_owner;
DROP ROLE r197_owner;
