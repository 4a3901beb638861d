-- fuzz1: an UPDATE assigning a value below 1 to a row stored without a
-- version (rows inserted before track_versions, replica apply) was refused
-- as "version 0 skips ahead of current version 0", with a HINT to set the
-- version that was read (0), which failed again.  Now it is 22023 "invalid
-- version" saying versions start at 1 (the row's missing version only to
-- who may read the column), with a HINT that works; the value is still
-- refused, as an INSERT's.  NULL or the column left out gives 1, 1 or more
-- is kept, as before.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE TABLE r226 (id int PRIMARY KEY, v bigint, note text) USING steward;
SELECT steward.track_versions('r226', 'v');
-- Stored without a version: track_versions refuses such rows (review25
-- W1), replica apply stores rows as sent.
SET session_replication_role = replica;
INSERT INTO r226 VALUES (1, NULL), (2, NULL), (3, NULL), (4, NULL);
RESET session_replication_role;
UPDATE r226 SET v = 0 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE r226 SET v = -1 WHERE id = 1;
-- the HINT's ways out
UPDATE r226 SET note = 'left out' WHERE id = 1 RETURNING id, v;
UPDATE r226 SET v = NULL WHERE id = 2 RETURNING id, v;
UPDATE r226 SET v = 7 WHERE id = 3 RETURNING id, v;
SELECT invalid_versions FROM steward.table_counters() WHERE relid = 'r226'::regclass;
-- a role that may update the column but not read it is not told whether
-- the row has a version
CREATE ROLE r226_writer;
GRANT SELECT (id), UPDATE (v) ON r226 TO r226_writer;
SET ROLE r226_writer;
UPDATE r226 SET v = 0 WHERE id = 4;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT id, v FROM r226 ORDER BY id;
DROP TABLE r226;
DROP ROLE r226_writer;
RESET steward.governor;
