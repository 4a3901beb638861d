-- rules18 item 3: the rules cache held at most two version columns per
-- table (its nearest and one other), so when three reached a partition
-- (its own rule and two ancestors', left by hand-written rule rows with a
-- WARNING), a restoring COPY, which checks every version column of such a
-- table (codereview41 K1, sql/255), left the third unchecked: NULL stayed
-- NULL and 0 was stored.  The cache now holds every one.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE s282 (id int, v bigint, w bigint, x bigint) PARTITION BY RANGE (id);
CREATE TABLE s282_mid PARTITION OF s282 FOR VALUES FROM (0) TO (100) PARTITION BY RANGE (id);
CREATE TABLE s282_1 PARTITION OF s282_mid FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.track_versions('s282_1', 'v');
INSERT INTO s282 VALUES (1, 1, 1, 1);
SET client_min_messages = error;
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('s282_mid', 'w', 'version');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('s282', 'x', 'version');
RESET client_min_messages;
SELECT relid, column_name, kind FROM steward.tracked_columns
 WHERE relid::text LIKE 's282%' ORDER BY 1::text, 2;
-- A restoring COPY (the superuser's, as the table's owner's): every
-- column NULL becomes 1, each below 1 is refused naming its column.
COPY s282_1 FROM stdin;
2	\N	\N	\N
3	5	6	7
\.
COPY s282 FROM stdin;
4	\N	2	\N
\.
SELECT id, v, w, x FROM s282 ORDER BY id;
COPY s282_1 FROM stdin;
5	1	1	0
\.
COPY s282 FROM stdin;
6	1	0	1
\.
COPY s282 FROM stdin;
7	0	1	1
\.
SELECT count(*) AS rows FROM s282;
-- Every other write is refused (54000), naming the three columns and
-- where each is tracked (rules19 item 3: the message said "two").
INSERT INTO s282 VALUES (8, 1, 1, 1);
UPDATE s282 SET x = x + 1 WHERE id = 1;
-- A role that writes through the root and may not read the partition
-- is told how many, not which.
CREATE ROLE r282_writer;
GRANT INSERT ON s282 TO r282_writer;
SET ROLE r282_writer;
INSERT INTO s282 VALUES (8, 1, 1, 1);
RESET ROLE;
REVOKE ALL ON s282 FROM r282_writer;
DROP ROLE r282_writer;
-- With one of the three untracked, two remain: still refused.
SELECT steward.untrack('s282', 'x');
INSERT INTO s282 VALUES (8, 1, 1, 1);
SELECT steward.untrack('s282_mid', 'w');
INSERT INTO s282 VALUES (8, 1, 1, NULL);
SELECT id, v, w, x FROM s282 ORDER BY id;
DROP TABLE s282;
