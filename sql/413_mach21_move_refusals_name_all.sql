-- mach21 (closing46 Noticed 4), moves between partitions:
-- 1. A BEFORE ROW INSERT trigger of the destination runs between the
--    delete half (whose check saw the same rule on both) and the insert
--    half, and may re-attach the machine stamping another changed_at
--    column.  mach21 stamped that column on arrival
--    (stamp_unstamped_arrival); since mach22 the insert half checks the
--    rules again and refuses the move (0A000), so the row stays in t_a,
--    and stamp_unstamped_arrival is gone (sql/431 has the other ways).
-- 2. A move refused because only the destination stamps a changed_at
--    column: the HINT gives first the calls that stamp the source too
--    (the old HINT only re-attached the destination without the stamp,
--    which stops stamping there); its calls are run below.
-- 3. A move into a partition under another machine that also lacks other
--    rules: one error names them all (the old code named the machine
--    alone, then, once fixed, the version column).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r413;
SET search_path = r413;
SELECT steward.create_state_machine('m413', ARRAY['new','paid','shipped'], ARRAY['new'], ARRAY['new->paid','paid->shipped']);
SELECT steward.create_state_machine('m413_other', ARRAY['new','paid','shipped'], ARRAY['new'], ARRAY['new->paid','paid->shipped','shipped->new']);

-- 1. The rule changes between the halves of the move.
CREATE TABLE t (id int, region text, st text NOT NULL DEFAULT 'new', st_at timestamptz, other_at timestamptz, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE t_a PARTITION OF t FOR VALUES IN ('a') USING steward;
CREATE TABLE t_b PARTITION OF t FOR VALUES IN ('b') USING steward;
SELECT steward.attach_state_machine('t_a', 'st', 'm413', changed_at_column => 'st_at');
SELECT steward.attach_state_machine('t_b', 'st', 'm413', changed_at_column => 'st_at');
INSERT INTO t (id, region, other_at) VALUES (1, 'a', '2000-01-01');
CREATE FUNCTION restamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward.detach_state_machine('r413.t_b', 'st');
    PERFORM steward.attach_state_machine('r413.t_b', 'st', 'm413', changed_at_column => 'other_at');
    RETURN NEW;
END
$$;
CREATE TRIGGER restamp BEFORE INSERT ON t_b FOR EACH ROW EXECUTE FUNCTION restamp();
UPDATE t SET region = 'b' WHERE id = 1;
-- Refused: the row stays in t_a, other_at as any writer left it.
SELECT tableoid::regclass, id, st, other_at > '2000-01-01' AS stamped_on_arrival FROM t;

-- 2. o_b stamps nothing, o_a stamps st_at: the move o_b -> o_a is refused;
-- the HINT's first calls give o_b the stamp.
CREATE TABLE o (id int, region text, st text NOT NULL DEFAULT 'new', st_at timestamptz, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE o_a PARTITION OF o FOR VALUES IN ('a') USING steward;
CREATE TABLE o_b PARTITION OF o FOR VALUES IN ('b') USING steward;
SELECT steward.attach_state_machine('o_a', 'st', 'm413', changed_at_column => 'st_at');
SELECT steward.attach_state_machine('o_b', 'st', 'm413');
INSERT INTO o (id, region) VALUES (1, 'b');
UPDATE o SET region = 'a' WHERE id = 1;
-- The HINT's first calls, as given: o_b now stamps st_at, so does o_a.
SELECT steward.detach_state_machine('r413.o_b', 'st'); SELECT steward.attach_state_machine('r413.o_b', 'st', 'm413', changed_at_column => 'st_at');
UPDATE o SET st = 'paid' WHERE id = 1;
SELECT st_at AS before FROM o WHERE id = 1 \gset
UPDATE o SET region = 'a', st = 'shipped' WHERE id = 1;
SELECT tableoid::regclass, id, st, st_at > :'before' AS stamped_after_move FROM o;

-- 3. p_b: another machine on st, and neither p_a's version column nor its
-- sequence: one refusal naming the three.
CREATE TABLE p (id int, region text, st text NOT NULL DEFAULT 'new', v bigint, n bigint, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE p_a PARTITION OF p FOR VALUES IN ('a') USING steward;
CREATE TABLE p_b PARTITION OF p FOR VALUES IN ('b') USING steward;
SELECT steward.attach_state_machine('p_a', 'st', 'm413');
SELECT steward.track_versions('p_a', 'v');
SELECT steward.track_sequence('p_a', 'n');
SELECT steward.attach_state_machine('p_b', 'st', 'm413_other');
INSERT INTO p (id, region, n) VALUES (1, 'a', 1);
UPDATE p SET region = 'b' WHERE id = 1;
-- The HINT's calls, as given; then the move goes through, judged by m413.
SELECT steward.track_versions('r413.p_b', 'v'); SELECT steward.track_sequence('r413.p_b', 'n'); SELECT steward.detach_state_machine('r413.p_b', 'st'); SELECT steward.attach_state_machine('r413.p_b', 'st', 'm413');
UPDATE p SET region = 'b', st = 'paid' WHERE id = 1;
UPDATE p SET st = 'new' WHERE id = 1;
SELECT tableoid::regclass, id, st, v FROM p;

RESET search_path;
DROP SCHEMA r413 CASCADE;
SELECT steward.drop_state_machine('m413');
SELECT steward.drop_state_machine('m413_other');
