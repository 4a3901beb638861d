-- codereview41 K1: a table that two version columns reach (its own rule
-- and a partitioned ancestor's, left by a hand-written rule row with a
-- WARNING) refused every COPY, a restore's too, so its dump restored
-- without its rows (t/107).  A COPY by the table's owner now checks both
-- columns (NULL becomes 1, below 1 refused, each named); INSERT, UPDATE
-- and a COPY by a role that only may INSERT are still refused 54000.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r255_owner;
CREATE ROLE r255_app;
CREATE TABLE s255 (id int, v bigint, w bigint) PARTITION BY RANGE (id);
CREATE TABLE s255_1 PARTITION OF s255 FOR VALUES FROM (0) TO (100) USING steward;
ALTER TABLE s255 OWNER TO r255_owner;
ALTER TABLE s255_1 OWNER TO r255_owner;
GRANT SELECT, INSERT ON s255 TO r255_app;
SELECT steward.track_versions('s255_1', 'v');
INSERT INTO s255 VALUES (1, 1, 1);
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('s255', 'w', 'version');
SET ROLE r255_owner;
-- The owner's COPY, as a restore writes it: into the partition, and
-- routed through the partitioned table.  Both columns as sent, NULL as 1.
COPY s255_1 FROM stdin;
2	3	7
3	\N	\N
\.
COPY s255 FROM stdin;
4	5	2
\.
SELECT id, v, w FROM s255 ORDER BY id;
-- Each column below 1 is refused, naming it.
COPY s255_1 FROM stdin;
5	1	0
\.
COPY s255 FROM stdin;
6	-1	1
\.
-- Every other write is refused.
INSERT INTO s255 VALUES (7, 1, 1);
INSERT INTO s255 SELECT 8, 1, 1;
UPDATE s255 SET w = w + 1 WHERE id = 1;
RESET ROLE;
-- A role that may only INSERT copies as it inserts: refused.
SET ROLE r255_app;
COPY s255 FROM stdin;
9	1	1
\.
RESET ROLE;
SELECT count(*) AS rows FROM s255;
-- Untracking one column, as the HINT says, lets every write in again.
SELECT steward.untrack('s255', 'w');
INSERT INTO s255 VALUES (7, 1, 1);
SET ROLE r255_app;
COPY s255 FROM stdin;
9	1	1
\.
RESET ROLE;
SELECT count(*) AS rows FROM s255;
DROP TABLE s255;
DROP ROLE r255_owner, r255_app;
