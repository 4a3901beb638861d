-- misc40 (mach16): a rule row written by hand under origin naming a state
-- machine that does not exist got no WARNING, though every INSERT, COPY
-- and UPDATE of the column is then refused 55000; and a machine whose row
-- the write path cannot read (a hand edit of steward.machine_definitions:
-- a transition naming an undeclared state, ...) left problem NULL in
-- steward.tracked_columns and verify() passing, while every write was
-- refused "has a malformed definition".  The write path's check is now
-- exposed as steward._state_machine_problem(machine), which problem and
-- verify() use, and the hand-written row gets a WARNING under origin.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r250 (id int, st text, st2 text) USING steward;

-- 1. A missing machine, under origin: a WARNING (the row is kept).
INSERT INTO steward.column_rules (relid, attname, kind, machine)
VALUES ('r250', 'st', 'state', 'r250_no_such');
SELECT column_name, enforced, problem FROM steward.tracked_columns WHERE relid = 'r250'::regclass;
INSERT INTO r250 VALUES (1, 'a');
\echo :LAST_ERROR_SQLSTATE
-- An UPDATE pointing the rule at another missing machine warns too; one
-- that changes nothing of the machine does not.
UPDATE steward.column_rules SET machine = 'r250_no_such2' WHERE relid = 'r250'::regclass;
UPDATE steward.column_rules SET created_at = created_at WHERE relid = 'r250'::regclass;
-- Under replica (a restore may write rules before machines): no WARNING;
-- problem tells.
SET session_replication_role = replica;
UPDATE steward.column_rules SET machine = 'r250_no_such3' WHERE relid = 'r250'::regclass;
RESET session_replication_role;
SELECT machine, problem IS NOT NULL AS has_problem FROM steward.tracked_columns WHERE relid = 'r250'::regclass;
DELETE FROM steward.column_rules WHERE relid = 'r250'::regclass;

-- 2. Malformed machines, each made by a hand edit of its row: the WARNING
-- of a rule row naming it, problem and verify() say what is wrong, and
-- the write is refused as the library reads it.
SELECT steward.create_state_machine('r250_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('r250', 'st', 'r250_m');
INSERT INTO r250 VALUES (1, 'a');
CREATE FUNCTION r250_try(states text[], initial text[], transitions text[])
RETURNS TABLE (problem text, verify_detail text, insert_error text)
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE steward.machine_definitions m
       SET states = r250_try.states, initial = r250_try.initial, transitions = r250_try.transitions
     WHERE m.name = 'r250_m';
    problem := (SELECT t.problem FROM steward.tracked_columns t WHERE t.relid = 'r250'::regclass AND t.column_name = 'st');
    verify_detail := (SELECT v.detail FROM steward.verify('r250') v WHERE v."check" = 'states st');
    BEGIN
        INSERT INTO r250 VALUES (2, 'a');
        insert_error := 'accepted';
    EXCEPTION WHEN object_not_in_prerequisite_state THEN
        insert_error := SQLERRM;
    END;
    RETURN NEXT;
END
$$;
\x on
-- A transition naming a state the machine does not declare.
SELECT * FROM r250_try(ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->z']);
-- A transition with no arrow.
SELECT * FROM r250_try(ARRAY['a', 'b'], ARRAY['a'], ARRAY['a=>b']);
-- An initial state that is not a state.
SELECT * FROM r250_try(ARRAY['a', 'b'], ARRAY['c'], ARRAY['a->b']);
-- No states; more than 64.
SELECT * FROM r250_try(ARRAY[]::text[], ARRAY[]::text[], ARRAY[]::text[]);
SELECT * FROM r250_try(ARRAY(SELECT 's' || i FROM generate_series(1, 65) i), ARRAY['s1'], ARRAY[]::text[]);
-- A state name longer than a name.
SELECT * FROM r250_try(ARRAY['a', repeat('b', 64)], ARRAY['a'], ARRAY['a->a']);
-- Well formed again: no problem, the write goes.
SELECT * FROM r250_try(ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
\x off
-- A hand-written rule row naming the malformed machine warns under origin.
UPDATE steward.machine_definitions SET transitions = ARRAY['a->q'] WHERE name = 'r250_m';
INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('r250', 'st2', 'state', 'r250_m');
-- The problem's fix: correct the row (or detach).
UPDATE steward.machine_definitions SET transitions = ARRAY['a->b'] WHERE name = 'r250_m';
SELECT column_name, enforced, problem FROM steward.tracked_columns WHERE relid = 'r250'::regclass ORDER BY 1;
-- (st2's rows, stored before its hand-written rule, hold NULL: verify()
-- fails them, as the attach would have refused.)
SELECT "check", passed FROM steward.verify('r250') WHERE "check" LIKE 'states%' ORDER BY 1;

-- 3. The function itself: NULL for a machine it reads, a sentence
-- otherwise, NULL for NULL; any text is a name (none matches).
SELECT steward._state_machine_problem('r250_m') IS NULL AS readable,
       steward._state_machine_problem('data_lifecycle') IS NULL AS builtin_readable,
       steward._state_machine_problem(NULL) IS NULL AS null_in,
       steward._state_machine_problem('') AS empty,
       length(steward._state_machine_problem(repeat('é', 5000))) AS long_name;
DROP TABLE r250;
DROP FUNCTION r250_try(text[], text[], text[]);
SELECT steward.drop_state_machine('r250_m');
