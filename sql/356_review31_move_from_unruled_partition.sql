-- review31 R1: a row moving into a partition is judged by that partition's
-- rules as an update of the row it was in the partition it leaves.  When
-- that partition did not have the rule (a sibling with no state machine,
-- no version or no sequence on the column: rules put on one partition
-- only), the row's value there was never judged, so an application with
-- INSERT and UPDATE only stored a row in a state no INSERT may start in
-- (INSERT into the sibling in 'shipped', then UPDATE its partition key:
-- the move was judged 'shipped' -> 'shipped'), or in no state of the
-- machine at all when the sibling held one; and a changed_at the sibling
-- did not stamp came in as it was written there.  A rule the leaving partition
-- did not have now judges the row as a new row (as a row from a heap
-- partition is); rules both have still judge it as an update.  A row
-- leaving for such a sibling (to come back as a new row, in an initial
-- state) is refused since trust46 (regress 370).  A changed_at the
-- leaving partition does not stamp is stamped on arrival.
\set SHOW_CONTEXT errors
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r356_owner;
CREATE ROLE r356_app;
CREATE SCHEMA r356 AUTHORIZATION r356_owner;
GRANT USAGE ON SCHEMA r356 TO r356_app;
SET ROLE r356_owner;
SET search_path = r356;
SELECT steward.create_state_machine('r356_m', states => ARRAY['new', 'paid', 'shipped'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid', 'paid->shipped']);
SELECT steward.create_state_machine('r356_lax', states => ARRAY['new', 'paid', 'shipped'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid', 'paid->shipped', 'shipped->new']);
-- Rules on ord_eu only; ord_us has none; ord_ap has its own machine.
CREATE TABLE ord (id int, region text, st text NOT NULL DEFAULT 'new',
                  st_at timestamptz, version bigint, seq int,
                  PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE ord_eu PARTITION OF ord FOR VALUES IN ('eu') USING steward;
CREATE TABLE ord_us PARTITION OF ord FOR VALUES IN ('us') USING steward;
CREATE TABLE ord_ap PARTITION OF ord FOR VALUES IN ('ap') USING steward;
SELECT steward.attach_state_machine('r356.ord_eu', 'st', 'r356_m', changed_at_column => 'st_at');
SELECT steward.track_versions('r356.ord_eu', 'version');
SELECT steward.track_sequence('r356.ord_eu', 'seq');
SELECT steward.attach_state_machine('r356.ord_ap', 'st', 'r356_lax');
GRANT SELECT, INSERT, UPDATE ON ord TO r356_app;
RESET ROLE;
SET ROLE r356_app;
SET search_path = r356;
-- An INSERT into ord_eu must start in 'new' ...
INSERT INTO ord VALUES (1, 'eu', 'shipped', NULL, 1, 0);
-- ... and so must a row that arrives from ord_us, where any value goes.
INSERT INTO ord VALUES (1, 'us', 'shipped', '2000-01-01', 7, 0);
UPDATE ord SET region = 'eu' WHERE id = 1;
INSERT INTO ord VALUES (2, 'us', 'bogus', NULL, 7, 0);
UPDATE ord SET region = 'eu' WHERE id = 2;
-- A version below 1 is refused as on INSERT; NULL becomes 1, as on INSERT.
INSERT INTO ord VALUES (3, 'us', 'new', NULL, 0, 0);
UPDATE ord SET region = 'eu' WHERE id = 3;
UPDATE ord SET region = 'eu', version = NULL WHERE id = 3;
-- It arrives in an initial state, stamped, its version and sequence kept.
SELECT id, region, st, st_at > '2001-01-01' AS stamped, version, seq
  FROM ord WHERE id = 3;
-- A row of ord_eu may not leave for ord_us, which lacks its rules
-- (0A000, trust46): it would come back as a new row, in an initial state.
UPDATE ord SET st = 'paid', seq = 5 WHERE id = 3;
UPDATE ord SET region = 'us', st = 'shipped' WHERE id = 3;
UPDATE ord SET region = 'eu' WHERE id = 3;
SELECT id, region, st FROM ord WHERE id = 3;
-- Within ord_eu the update rules hold as before.
UPDATE ord SET region = 'eu', st = 'new' WHERE id = 3 AND region = 'us';
UPDATE ord SET st = 'shipped' WHERE id = 3;
UPDATE ord SET seq = 1 WHERE id = 3;
-- ord_ap's own machine, another one, governs st: a row from there may not
-- move into ord_eu (0A000, review34 R2: r356_lax has 'shipped' -> 'new',
-- so the row could be reset there and come back) ...
INSERT INTO ord VALUES (4, 'ap', 'new', NULL, 1, 0);
UPDATE ord SET st = 'paid' WHERE id = 4;
UPDATE ord SET st = 'shipped' WHERE id = 4;
UPDATE ord SET region = 'eu' WHERE id = 4;
RESET ROLE;
SET ROLE r356_owner;
SELECT steward.detach_state_machine('r356.ord_ap', 'st');
SELECT steward.attach_state_machine('r356.ord_ap', 'st', 'r356_m', changed_at_column => 'st_at');
RESET ROLE;
SET ROLE r356_app;
SET search_path = r356;
-- ... under the same machine (with the same changed_at column: sql/364),
-- attached to ord_ap on its own, it is judged
-- as an update by that machine's edges ('shipped' -> 'new' is none) ...
UPDATE ord SET region = 'eu', st = 'new' WHERE id = 4;
-- ... while its version and sequence, which ord_ap does not track, arrive
-- as new: a version below 1 is refused.
UPDATE ord SET region = 'eu', version = 0 WHERE id = 4;
UPDATE ord SET region = 'eu' WHERE id = 4;
SELECT id, region, st, version, seq FROM ord WHERE id = 4;
RESET ROLE;
-- Rules on the partitioned table: both partitions have them, and a move is
-- judged as an update as before (a lower version is stale, a lower
-- sequence out of order, an edge is needed).
SET ROLE r356_owner;
CREATE TABLE shp (id int, region text, st text NOT NULL DEFAULT 'new',
                  version bigint, seq int, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE shp_eu PARTITION OF shp FOR VALUES IN ('eu') USING steward;
CREATE TABLE shp_us PARTITION OF shp FOR VALUES IN ('us') USING steward;
SELECT steward.attach_state_machine('r356.shp', 'st', 'r356_m');
SELECT steward.track_versions('r356.shp', 'version');
SELECT steward.track_sequence('r356.shp', 'seq');
INSERT INTO shp VALUES (1, 'us', 'new', 3, 5);
UPDATE shp SET region = 'eu', version = 1 WHERE id = 1;
UPDATE shp SET region = 'eu', seq = 4 WHERE id = 1;
UPDATE shp SET region = 'eu', st = 'shipped' WHERE id = 1;
UPDATE shp SET region = 'eu', st = 'paid' WHERE id = 1;
SELECT id, region, st, version, seq FROM shp;
-- Mixed: the state machine only on shp_eu, the version on the whole tree:
-- the version is judged as an update, the state as new.
SELECT steward.detach_state_machine('r356.shp', 'st');
SELECT steward.attach_state_machine('r356.shp_eu', 'st', 'r356_m');
INSERT INTO shp VALUES (2, 'us', 'shipped', 3, 0);
UPDATE shp SET region = 'eu', version = 2 WHERE id = 2;
UPDATE shp SET region = 'eu' WHERE id = 2;
UPDATE shp SET region = 'eu', st = 'new' WHERE id = 2;
SELECT id, region, st, version FROM shp WHERE id = 2;
-- changed_at: the same machine on both partitions, a changed_at column on
-- the one the row enters only.  The move is refused (0A000, newcomer47
-- C1, sql/364: the two partitions' rules differ, and the other way the
-- row would stop being stamped; it was stamped on arrival), and the row
-- stays unstamped where it is.  Under one machine of the partitioned table
-- with the column, a move keeps the stamp the state got.
CREATE TABLE stp (id int, region text, st text NOT NULL DEFAULT 'new',
                  st_at timestamptz, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE stp_eu PARTITION OF stp FOR VALUES IN ('eu') USING steward;
CREATE TABLE stp_us PARTITION OF stp FOR VALUES IN ('us') USING steward;
SELECT steward.attach_state_machine('r356.stp_eu', 'st', 'r356_m', changed_at_column => 'st_at');
SELECT steward.attach_state_machine('r356.stp_us', 'st', 'r356_m');
INSERT INTO stp VALUES (1, 'us', 'new', NULL);
UPDATE stp SET st = 'paid' WHERE id = 1;
UPDATE stp SET st_at = '2000-01-01' WHERE id = 1;
UPDATE stp SET region = 'eu' WHERE id = 1;
SELECT id, region, st, st_at > '2001-01-01' AS stamped FROM stp;
SELECT steward.detach_state_machine('r356.stp_eu', 'st');
SELECT steward.detach_state_machine('r356.stp_us', 'st');
SELECT steward.attach_state_machine('r356.stp', 'st', 'r356_m', changed_at_column => 'st_at');
INSERT INTO stp VALUES (2, 'us', 'new', NULL);
UPDATE stp SET st = 'paid' WHERE id = 2;
CREATE TEMP TABLE r356_stamp AS SELECT st_at FROM stp WHERE id = 2;
UPDATE stp SET region = 'eu' WHERE id = 2;
SELECT id, region, st, st_at = (SELECT st_at FROM r356_stamp) AS kept FROM stp WHERE id = 2;
RESET ROLE;
DROP SCHEMA r356 CASCADE;
SELECT steward.drop_state_machine('r356_m');
SELECT steward.drop_state_machine('r356_lax');
-- r356_owner's temp table (else DROP ROLE fails and the role stays).
DROP TABLE r356_stamp;
DROP ROLE r356_app;
DROP ROLE r356_owner;
