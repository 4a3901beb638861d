-- trust46 (review31's known hole): a row that an UPDATE moved out of a
-- partition carrying a rule of pg_steward (a version column, a sequence or
-- a state machine put on that partition only) into a sibling without it
-- was deleted as far as the rules go, and when moved back it was judged as
-- a new row (ac24faa): it came back in an initial state with any version
-- >= 1, so a role with UPDATE only reset a machine ('shipped' -> 'new')
-- or reopened a lost update.  Such a move is now refused (0A000) before
-- anything is deleted, naming the rule the destination lacks, with the
-- call that gives it the same rule.  Moves between partitions that both
-- have the rule (declared on each, or on a common ancestor) are judged as
-- updates, as before; a row moving in from a partition without the rule
-- is still judged as a new row (regress 356).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r370_owner;
CREATE ROLE r370_app;
CREATE SCHEMA r370 AUTHORIZATION r370_owner;
GRANT USAGE ON SCHEMA r370 TO r370_app;
SET ROLE r370_owner;
SET search_path = r370;
SELECT steward.create_state_machine('r370_m', states => ARRAY['new', 'paid', 'shipped'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid', 'paid->shipped']);
-- One rule kind per tree, on partition x_eu only.
CREATE TABLE sm (id int, region text, st text NOT NULL DEFAULT 'new',
                 PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE sm_eu PARTITION OF sm FOR VALUES IN ('eu') USING steward;
CREATE TABLE sm_us PARTITION OF sm FOR VALUES IN ('us') USING steward;
SELECT steward.attach_state_machine('r370.sm_eu', 'st', 'r370_m');
CREATE TABLE vr (id int, region text, note text, version bigint,
                 PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE vr_eu PARTITION OF vr FOR VALUES IN ('eu') USING steward;
CREATE TABLE vr_us PARTITION OF vr FOR VALUES IN ('us') USING steward;
SELECT steward.track_versions('r370.vr_eu', 'version');
CREATE TABLE sq (id int, region text, seq int, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE sq_eu PARTITION OF sq FOR VALUES IN ('eu') USING steward;
CREATE TABLE sq_us PARTITION OF sq FOR VALUES IN ('us') USING steward;
SELECT steward.track_sequence('r370.sq_eu', 'seq');
INSERT INTO sm VALUES (1, 'eu', 'new');
INSERT INTO vr VALUES (1, 'eu', 'a', NULL);
INSERT INTO sq VALUES (1, 'eu', 5);
GRANT SELECT, UPDATE ON sm, vr, sq TO r370_app;
RESET ROLE;

-- The old behaviour's failing input: an UPDATE-only role ships order 1,
-- then moves it to sm_us and back.  It came back as 'new' (a new row of
-- sm_eu); now the first move is refused and the order stays 'shipped'.
SET ROLE r370_app;
SET search_path = r370;
UPDATE sm SET st = 'paid' WHERE id = 1;
UPDATE sm SET st = 'shipped' WHERE id = 1;
UPDATE sm SET region = 'us' WHERE id = 1;
UPDATE sm SET region = 'eu', st = 'new' WHERE id = 1 AND region = 'us';
SELECT id, region, st FROM sm;
-- The version: a client that read version 1 could move the row out and
-- back and then write "the next version" over a change it never read.
UPDATE vr SET note = 'b' WHERE id = 1;
UPDATE vr SET region = 'us', version = 1 WHERE id = 1;
UPDATE vr SET region = 'us' WHERE id = 1;
SELECT id, region, note, version FROM vr;
-- The sequence: out and back to lower it.
UPDATE sq SET region = 'us', seq = 1 WHERE id = 1;
SELECT id, region, seq FROM sq;
-- A row that stays is judged as before.
UPDATE sm SET st = 'new' WHERE id = 1;
UPDATE sq SET seq = 6 WHERE id = 1;
SELECT id, region, seq FROM sq;
-- MERGE moves rows too: refused the same way.
MERGE INTO sm USING (VALUES (1)) s(id) ON sm.id = s.id
  WHEN MATCHED THEN UPDATE SET region = 'us';
RESET ROLE;

-- The HINT's call gives the destination the same rule: the move is then
-- judged as an update (an edge is needed) and goes through.
SET ROLE r370_owner;
SET search_path = r370;
SELECT steward.attach_state_machine('r370.sm_us', 'st', 'r370_m');
SELECT steward.track_versions('r370.vr_us', 'version');
SELECT steward.track_sequence('r370.sq_us', 'seq');
RESET ROLE;
SET ROLE r370_app;
SET search_path = r370;
UPDATE sm SET region = 'us', st = 'new' WHERE id = 1;
UPDATE sm SET region = 'us' WHERE id = 1;
UPDATE vr SET region = 'us', version = 1 WHERE id = 1;
UPDATE vr SET region = 'us' WHERE id = 1;
UPDATE sq SET region = 'us', seq = 1 WHERE id = 1;
UPDATE sq SET region = 'us' WHERE id = 1;
SELECT id, region, st FROM sm;
SELECT id, region, note, version FROM vr;
SELECT id, region, seq FROM sq;
-- And back: both siblings have the rules, so the row moves as it stays.
UPDATE sm SET region = 'eu' WHERE id = 1;
UPDATE vr SET region = 'eu', version = 3 WHERE id = 1;
SELECT id, region, st FROM sm;
SELECT id, region, note, version FROM vr;
RESET ROLE;

-- Multi-level: the machine on sub-partitioned mt_a (leaves mt_a1, mt_a2),
-- none on mt_b (leaf mt_b1).  Moves within mt_a are judged as updates;
-- out of it, refused, naming the leaf the row would go to.
SET ROLE r370_owner;
SET search_path = r370;
CREATE TABLE mt (id int, grp text, sub int, st text NOT NULL DEFAULT 'new',
                 PRIMARY KEY (id, grp, sub)) PARTITION BY LIST (grp);
CREATE TABLE mt_a PARTITION OF mt FOR VALUES IN ('a') PARTITION BY LIST (sub);
CREATE TABLE mt_a1 PARTITION OF mt_a FOR VALUES IN (1) USING steward;
CREATE TABLE mt_a2 PARTITION OF mt_a FOR VALUES IN (2) USING steward;
CREATE TABLE mt_b PARTITION OF mt FOR VALUES IN ('b') PARTITION BY LIST (sub);
CREATE TABLE mt_b1 PARTITION OF mt_b FOR VALUES IN (1) USING steward;
SELECT steward.attach_state_machine('r370.mt_a', 'st', 'r370_m');
INSERT INTO mt VALUES (1, 'a', 1, 'new');
GRANT SELECT, UPDATE ON mt TO r370_app;
RESET ROLE;
SET ROLE r370_app;
SET search_path = r370;
UPDATE mt SET sub = 2, st = 'paid' WHERE id = 1;
UPDATE mt SET sub = 1, st = 'new' WHERE id = 1;
UPDATE mt SET sub = 1 WHERE id = 1;
UPDATE mt SET grp = 'b', sub = 1 WHERE id = 1;
SELECT id, grp, sub, st FROM mt;
RESET ROLE;
-- Through the sub-partitioned table itself only mt_a's leaves are
-- reachable: the move is judged as before (the owner, who may write it).
SET ROLE r370_owner;
UPDATE r370.mt_a SET sub = 2, st = 'shipped' WHERE id = 1;
SELECT id, grp, sub, st FROM r370.mt;
RESET ROLE;

-- Rules on the partitioned table reach every partition: nothing is lost,
-- every move goes through (judged as an update).
SET ROLE r370_owner;
SET search_path = r370;
CREATE TABLE rt (id int, region text, st text NOT NULL DEFAULT 'new',
                 version bigint, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE rt_eu PARTITION OF rt FOR VALUES IN ('eu') USING steward;
CREATE TABLE rt_us PARTITION OF rt FOR VALUES IN ('us') USING steward;
SELECT steward.attach_state_machine('r370.rt', 'st', 'r370_m');
SELECT steward.track_versions('r370.rt', 'version');
INSERT INTO rt VALUES (1, 'eu', 'new', NULL);
UPDATE rt SET region = 'us', st = 'paid' WHERE id = 1;
UPDATE rt SET region = 'eu', version = 2 WHERE id = 1;
UPDATE rt SET region = 'eu' WHERE id = 1;
SELECT id, region, st, version FROM rt;

-- A heap sibling, under a partitioned table without rules: refused too.
CREATE TABLE hp (id int, region text, version bigint, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE hp_eu PARTITION OF hp FOR VALUES IN ('eu') USING steward;
CREATE TABLE hp_us PARTITION OF hp FOR VALUES IN ('us') USING heap;
SELECT steward.track_versions('r370.hp_eu', 'version');
INSERT INTO hp VALUES (1, 'eu', NULL);
UPDATE hp SET region = 'us' WHERE id = 1;
SELECT id, region, version FROM hp;
-- A row of the unruled partition still moves in, as a new row (356).
INSERT INTO hp VALUES (2, 'us', 7);
UPDATE hp SET region = 'eu' WHERE id = 2;
SELECT id, region, version FROM hp ORDER BY id;
RESET ROLE;

DROP SCHEMA r370 CASCADE;
SELECT steward.drop_state_machine('r370_m');
DROP ROLE r370_app;
DROP ROLE r370_owner;
