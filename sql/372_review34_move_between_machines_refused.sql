-- review34 R2: a cross-partition move counted a state machine under
-- ANOTHER machine on the same column as the same rule (d33ab3c), and the
-- row arriving was judged by the destination's machine alone (e3bb926),
-- whose edges may allow what the row's own machine forbids: a role with
-- SELECT and UPDATE only moved a shipped order into a sibling under a
-- looser machine (shipped -> new), reset it there, and moved it back 'new'.
-- Now a move keeps a row under the same rule only under the same machine:
-- a move between partitions under different machines is refused (0A000)
-- before anything changes, as a move into an unruled partition; a move
-- between partitions under the same machine is judged as an update.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r372_app;
CREATE SCHEMA r372;
GRANT USAGE ON SCHEMA r372 TO r372_app;
SET search_path = r372;
CREATE TABLE e1 (id int, region text, st text NOT NULL DEFAULT 'new', PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE e1_a PARTITION OF e1 FOR VALUES IN ('a') USING steward;
CREATE TABLE e1_b PARTITION OF e1 FOR VALUES IN ('b') USING steward;
CREATE TABLE e1_c PARTITION OF e1 FOR VALUES IN ('c') USING steward;
SELECT steward.create_state_machine('e1_strict', ARRAY['new','paid','shipped'], ARRAY['new'], ARRAY['new->paid','paid->shipped']);
SELECT steward.create_state_machine('e1_loose',  ARRAY['new','paid','shipped'], ARRAY['new'], ARRAY['new->paid','paid->shipped','shipped->new']);
SELECT steward.attach_state_machine('e1_a','st','e1_strict'); SELECT steward.attach_state_machine('e1_b','st','e1_loose');
SELECT steward.attach_state_machine('e1_c','st','e1_strict');
INSERT INTO e1 VALUES (1,'a','new'), (2,'a','new'); UPDATE e1 SET st='paid'; UPDATE e1 SET st='shipped';
GRANT SELECT, UPDATE ON e1 TO r372_app;

-- The reproduction, as a role with SELECT, UPDATE only: the first move is
-- refused, so the row stays 'shipped' in e1_a (the old code: 'new').
SET ROLE r372_app;
UPDATE e1 SET region='b' WHERE id=1; UPDATE e1 SET st='new' WHERE id=1; UPDATE e1 SET region='a' WHERE id=1;
SELECT id, region, st FROM e1 WHERE id = 1;
-- The same move by MERGE, with the state kept or changed on the way.
MERGE INTO e1 USING (VALUES (1)) v(id) ON e1.id = v.id
  WHEN MATCHED THEN UPDATE SET region = 'b';
MERGE INTO e1 USING (VALUES (1)) v(id) ON e1.id = v.id
  WHEN MATCHED THEN UPDATE SET region = 'b', st = 'new';
SELECT id, region, st FROM e1 ORDER BY id;

-- Between partitions under the SAME machine (e1_a and e1_c, e1_strict) a
-- move is judged as an update by that machine: a state kept moves, an
-- edge of it on the way too, anything else is refused (23514).
UPDATE e1 SET region = 'c' WHERE id = 1;
UPDATE e1 SET region = 'a', st = 'new' WHERE id = 1;
SELECT id, region, st FROM e1 ORDER BY id;
RESET ROLE;

-- A row in the loose partition (inserted there, or reset by its machine)
-- cannot move into the strict one either.
INSERT INTO e1 VALUES (3, 'b', 'new');
UPDATE e1 SET region = 'a' WHERE id = 3;

-- The HINT's calls: the same machine on both partitions, after which the
-- move is judged by it.
SELECT steward.detach_state_machine('r372.e1_b', 'st'); SELECT steward.attach_state_machine('r372.e1_b', 'st', 'e1_strict');
SET ROLE r372_app;
UPDATE e1 SET region = 'b' WHERE id = 2;
UPDATE e1 SET st = 'new' WHERE id = 2;
UPDATE e1 SET region = 'a' WHERE id = 3;
UPDATE e1 SET region = 'c', st = 'paid' WHERE id = 3;
SELECT id, region, st FROM e1 ORDER BY id;
RESET ROLE;

RESET search_path;
DROP SCHEMA r372 CASCADE;
SELECT steward.drop_state_machine('e1_strict');
SELECT steward.drop_state_machine('e1_loose');
DROP ROLE r372_app;
