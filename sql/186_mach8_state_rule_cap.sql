-- codereview7 A (mach8): a table keeps at most 8 state rules (its own and
-- its partitioned ancestors'); a 9th was silently not loaded, so its column
-- was written unchecked ('zzz' entered it).  Now attach_state_machine
-- refuses a 9th (54000), and a table that holds more anyway (a rule
-- inserted under session_replication_role = replica, a partition whose
-- ancestors' rules add up) refuses every INSERT, COPY and UPDATE (54000).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r186_t (id int PRIMARY KEY, s1 text, s2 text, s3 text, s4 text,
                     s5 text, s6 text, s7 text, s8 text, s9 text) USING steward;
SELECT steward.create_state_machine('r186_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT count(*) FROM (SELECT steward.attach_state_machine('r186_t', 's' || i, 'r186_m')
                      FROM generate_series(1, 8) i) x;
INSERT INTO r186_t VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
-- 1. The 9th attach is refused; nothing is written.
SELECT steward.attach_state_machine('r186_t', 's9', 'r186_m');
SELECT count(*) FROM steward.column_rules WHERE relid = 'r186_t'::regclass;
-- Detaching one makes room.
SELECT steward.detach_state_machine('r186_t', 's8');
SELECT steward.attach_state_machine('r186_t', 's9', 'r186_m');
INSERT INTO r186_t VALUES (2, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz', 'zzz');
INSERT INTO r186_t VALUES (2, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz', 'a');
-- 2. A 9th rule forced in (a row written into the catalog, as a restore
-- does): kept with a WARNING (mach9); every write refuses, none passes.
SET session_replication_role = replica;
INSERT INTO steward.column_rules (relid, attname, kind, machine)
  VALUES ('r186_t', 's8', 'state', 'r186_m');
RESET session_replication_role;
-- (Cached rules are reset under replica too, trigger column_rules_replica:
-- sql/191; a new session all the same.)
\c -
\set SHOW_CONTEXT never
SELECT count(*) FROM steward.column_rules WHERE relid = 'r186_t'::regclass;
INSERT INTO r186_t VALUES (3, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz');
INSERT INTO r186_t VALUES (3, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz', 'a');
UPDATE r186_t SET s9 = 'qqq' WHERE id = 1;
UPDATE r186_t SET s8 = 'qqq' WHERE id = 1;
COPY r186_t FROM stdin;
4	a	a	a	a	a	a	a	zzz	zzz
\.
SELECT id, s8, s9 FROM r186_t ORDER BY id;
-- Deletes and reads pass; detaching one lets writes through, checked.
DELETE FROM r186_t WHERE id = 2;
SELECT steward.detach_state_machine('r186_t', 's8');
INSERT INTO r186_t VALUES (3, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz', 'zzz');
INSERT INTO r186_t VALUES (3, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz', 'a');
-- 3. Partitions: the ancestors' rules count.  The 9th attach on a
-- partition is refused, and so is an attach on the parent that would be a
-- partition's 9th (mach9); a partition attached under a parent whose
-- rules add up with its own makes writes to that partition refuse.
CREATE TABLE r186_p (id int, s1 text, s2 text, s3 text, s4 text, s5 text,
                     s6 text, s7 text, s8 text, s9 text) PARTITION BY RANGE (id);
CREATE TABLE r186_p1 PARTITION OF r186_p FOR VALUES FROM (0) TO (100) USING steward;
SELECT count(*) FROM (SELECT steward.attach_state_machine('r186_p', 's' || i, 'r186_m')
                      FROM generate_series(1, 5) i) x;
SELECT count(*) FROM (SELECT steward.attach_state_machine('r186_p1', 's' || i, 'r186_m')
                      FROM generate_series(6, 8) i) x;
SELECT steward.attach_state_machine('r186_p1', 's9', 'r186_m');
INSERT INTO r186_p VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
SELECT steward.attach_state_machine('r186_p', 's9', 'r186_m');
SELECT count(*) FROM steward.column_rules WHERE relid = 'r186_p'::regclass;
CREATE TABLE r186_p2 (id int, s1 text, s2 text, s3 text, s4 text, s5 text,
                      s6 text, s7 text, s8 text, s9 text) USING steward;
SELECT count(*) FROM (SELECT steward.attach_state_machine('r186_p2', 's' || i, 'r186_m')
                      FROM generate_series(6, 8) i) x;
ALTER TABLE r186_p ATTACH PARTITION r186_p2 FOR VALUES FROM (100) TO (200);
-- An ATTACH PARTITION past the cap is refused now, empty or not (sql/203);
-- a row written into the catalog still adds up (kept with a WARNING).
INSERT INTO steward.column_rules (relid, attname, kind, machine)
VALUES ('r186_p2', 's9', 'state', 'r186_m');
INSERT INTO r186_p VALUES (102, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz');
INSERT INTO r186_p VALUES (102, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
INSERT INTO r186_p VALUES (2, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
SELECT id, s9 FROM r186_p ORDER BY id;
SELECT steward.detach_state_machine('r186_p2', 's8');
INSERT INTO r186_p VALUES (102, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz');
INSERT INTO r186_p VALUES (102, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
UPDATE r186_p SET s9 = 'b' WHERE id = 102;
SELECT id, s9 FROM r186_p ORDER BY id;
DROP TABLE r186_t, r186_p;
SELECT steward.drop_state_machine('r186_m');
