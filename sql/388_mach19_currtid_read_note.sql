-- mach19 item 5 (closing44 L4, closing45 Noticed 8): currtid2() and
-- SELECT ... WHERE CURRENT OF follow a row's update chain and noted the
-- version at the TID they started from, as an UPDATE ... WHERE CURRENT
-- OF must (review29 R3).  A read marks no command id used, so the next
-- statement's UPDATE ran under the same command id and took the read's
-- note as its own: a client that had read the newest version and sent it
-- back got a false 40001 "stale version".  A read now notes nothing; an
-- UPDATE whose own scan follows the chain still does.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE c388 (id int PRIMARY KEY, version bigint, note text) USING steward;
SELECT steward.track_versions('c388', 'version');
INSERT INTO c388 (id) VALUES (1);
UPDATE c388 SET note = 'a' WHERE id = 1;              -- (0,1) -> (0,2), version 2
SELECT ctid, version FROM c388;

-- currtid2 from the old TID, then an UPDATE sending back the version read.
BEGIN;
SELECT currtid2('c388', '(0,1)') AS newest, (SELECT version FROM c388 WHERE id = 1) AS read;
UPDATE c388 SET version = 2, note = 'b' WHERE id = 1 RETURNING version, note;
COMMIT;

-- The same with "the next version".
BEGIN;
SELECT currtid2('c388', '(0,2)') AS newest, (SELECT version FROM c388 WHERE id = 1) AS read;
UPDATE c388 SET version = 4, note = 'c' WHERE id = 1 RETURNING version, note;
COMMIT;

-- Still judged: an UPDATE whose own scan follows the chain from a TID
-- read before another transaction's update (version 4 -> 5 meanwhile)
-- and sends "the next version" of what it read there is stale.
SELECT ctid AS read_tid, version AS read_version FROM c388 WHERE id = 1 \gset
UPDATE c388 SET note = 'f' WHERE id = 1;              -- another change: 5
UPDATE c388 SET version = :read_version + 1, note = 'g'
 WHERE ctid = currtid2('c388', :'read_tid');
\echo :LAST_ERROR_SQLSTATE
SELECT version, note FROM c388;

SELECT steward.release('c388') IS NOT NULL AS released;
DROP TABLE c388;
