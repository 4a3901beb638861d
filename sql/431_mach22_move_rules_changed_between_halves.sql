-- mach22 (follow-up of mach21's 99702b3): a cross-partition move is
-- checked in its delete half (both partitions must hold the same rules),
-- but the destination's BEFORE ROW INSERT triggers run between the delete
-- half and the insert half and may change the destination's rules.  The
-- insert half judged the row by whatever rules were then current: a
-- machine the check never compared (whose shipped -> new reset the row),
-- a changed_at column the source never stamped, no version rule at all.
-- The insert half now checks the rules again and refuses the move (0A000,
-- the delete half's DETAIL and HINT, a context line saying the rules
-- changed); the whole UPDATE is rolled back, the row stays where it was.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r431;
SET search_path = r431;
SELECT steward.create_state_machine('m431', ARRAY['new','paid','shipped'], ARRAY['new'], ARRAY['new->paid','paid->shipped']);
SELECT steward.create_state_machine('m431_reset', ARRAY['new','paid','shipped'], ARRAY['new'], ARRAY['new->paid','paid->shipped','shipped->new']);
CREATE TABLE t (id int, region text, v bigint, st text NOT NULL DEFAULT 'new', st_at timestamptz, other_at timestamptz, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE t_a PARTITION OF t FOR VALUES IN ('a') USING steward;
CREATE TABLE t_b PARTITION OF t FOR VALUES IN ('b') USING steward;
CREATE TABLE t_c PARTITION OF t FOR VALUES IN ('c') USING steward;
SELECT steward.track_versions('t_a', 'v');
SELECT steward.track_versions('t_b', 'v');
SELECT steward.track_versions('t_c', 'v');
SELECT steward.attach_state_machine('t_a', 'st', 'm431', changed_at_column => 'st_at');
SELECT steward.attach_state_machine('t_b', 'st', 'm431', changed_at_column => 'st_at');
SELECT steward.attach_state_machine('t_c', 'st', 'm431', changed_at_column => 'st_at');
-- One shipped row per test, each with version 3.
INSERT INTO t (id, region) SELECT g, 'a' FROM generate_series(1, 4) g;
UPDATE t SET st = 'paid';
UPDATE t SET st = 'shipped';

-- What the trigger on t_b does to t_b's rules is chosen per test.
CREATE TABLE plan (what text);
CREATE FUNCTION rerule() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    w text := (SELECT what FROM r431.plan);
BEGIN
    IF w = 'machine' THEN
        PERFORM steward.detach_state_machine('r431.t_b', 'st');
        PERFORM steward.attach_state_machine('r431.t_b', 'st', 'm431_reset', changed_at_column => 'st_at');
        NEW.st := 'new';
    ELSIF w = 'stamp' THEN
        PERFORM steward.detach_state_machine('r431.t_b', 'st');
        PERFORM steward.attach_state_machine('r431.t_b', 'st', 'm431', changed_at_column => 'other_at');
    ELSIF w = 'version' THEN
        PERFORM steward.untrack('r431.t_b', 'v');
        NEW.v := 1;
    ELSIF w = 'both' THEN
        PERFORM steward.untrack('r431.t_b', 'v');
        PERFORM steward.detach_state_machine('r431.t_b', 'st');
        PERFORM steward.attach_state_machine('r431.t_b', 'st', 'm431_reset', changed_at_column => 'st_at');
    ELSIF w = 'same' THEN
        PERFORM steward.detach_state_machine('r431.t_b', 'st');
        PERFORM steward.attach_state_machine('r431.t_b', 'st', 'm431', changed_at_column => 'st_at');
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER rerule BEFORE INSERT ON t_b FOR EACH ROW EXECUTE FUNCTION rerule();
-- t_b's rules as the delete half sees them, put back after each test (a
-- no-op on the new code, whose refusal rolls the trigger's change back;
-- on the old code each test then shows its own hole).
CREATE FUNCTION reset_b() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward.detach_state_machine('r431.t_b', 'st');
    PERFORM steward.attach_state_machine('r431.t_b', 'st', 'm431', changed_at_column => 'st_at');
    IF NOT EXISTS (SELECT FROM steward.tracked_columns
                   WHERE relid = 'r431.t_b'::regclass AND kind = 'version') THEN
        PERFORM steward.track_versions('r431.t_b', 'v');
    END IF;
END
$$;

-- 1. Another machine, whose shipped -> new the trigger takes: the old code
-- stored the shipped row in t_b as 'new' (review34 R2 reached another way).
INSERT INTO plan VALUES ('machine');
UPDATE t SET region = 'b' WHERE id = 1;
-- The delete was rolled back with the statement, and so was the trigger's
-- re-attach: the row is in t_a, shipped; t_b under m431 again.
SELECT tableoid::regclass, id, v, st FROM t WHERE id = 1;
SELECT machine FROM steward.tracked_columns WHERE relid = 'r431.t_b'::regclass AND kind = 'state';
SELECT reset_b();

-- 2. The same machine stamping another changed_at column (the path
-- stamp_unstamped_arrival stamped; mach21's 413).
UPDATE plan SET what = 'stamp';
UPDATE t SET region = 'b' WHERE id = 2;
SELECT tableoid::regclass, id, v, st FROM t WHERE id = 2;
SELECT reset_b();

-- 3. The version column untracked: the old code stored the row with the
-- version the trigger set, 1.
UPDATE plan SET what = 'version';
UPDATE t SET region = 'b' WHERE id = 3;
SELECT tableoid::regclass, id, v, st FROM t WHERE id = 3;
SELECT reset_b();

-- 4. Both: one error names every difference.
UPDATE plan SET what = 'both';
UPDATE t SET region = 'b' WHERE id = 4;
SELECT reset_b();

-- 5. Re-attaching the very rule the delete half compared is no change:
-- the move goes through, judged as an update (version 4, still shipped).
UPDATE plan SET what = 'same';
UPDATE t SET region = 'b' WHERE id = 1;
SELECT tableoid::regclass, id, v, st, st_at IS NOT NULL AS stamped FROM t WHERE id = 1;

-- 6. A move into a partition without the trigger is untouched.
UPDATE t SET region = 'c' WHERE id = 1;
SELECT tableoid::regclass, id, v, st FROM t ORDER BY id;

DROP SCHEMA r431 CASCADE;
SELECT steward.drop_state_machine('m431');
SELECT steward.drop_state_machine('m431_reset');
