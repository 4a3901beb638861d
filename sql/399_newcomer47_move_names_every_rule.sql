-- newcomer47: an UPDATE moving a row out of a partition with rules of
-- pg_steward into a sibling lacking them is refused (0A000, trust46), and
-- the refusal named one lacking rule at a time: a partition with a version
-- column, a sequence and a state machine took three refusals, each
-- followed by its call, before the move went through.  And the HINT's
-- attach_state_machine call left out the machine's changed_at_column: a
-- user who ran it got a partition whose machine stamped nothing, and a row
-- moved there kept its old stamp on every later change of state.  Now the
-- DETAIL names every rule the destination lacks and the HINT gives every
-- call, a machine's with its changed_at_column; one lacking rule reads as
-- before.  Here the HINT's calls are run as the user would copy them.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r399_owner;
CREATE SCHEMA r399 AUTHORIZATION r399_owner;
SET ROLE r399_owner;
SET search_path = r399;
SELECT steward.create_state_machine('r399_m', states => ARRAY['new', 'paid', 'shipped'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid', 'paid->shipped']);
CREATE TABLE t (id int PRIMARY KEY, st text NOT NULL DEFAULT 'new',
                st_at timestamptz, seq int, version bigint NOT NULL DEFAULT 1)
    PARTITION BY RANGE (id);
CREATE TABLE t_a PARTITION OF t FOR VALUES FROM (0) TO (100) USING steward;
CREATE TABLE t_b PARTITION OF t FOR VALUES FROM (100) TO (200) USING steward;
CREATE TABLE t_c PARTITION OF t FOR VALUES FROM (200) TO (300) USING heap;
SELECT steward.attach_state_machine('r399.t_a', 'st', 'r399_m', changed_at_column => 'st_at');
SELECT steward.track_sequence('r399.t_a', 'seq');
SELECT steward.track_versions('r399.t_a', 'version');
SELECT steward.track_versions('r399.t_b', 'version');
INSERT INTO t (id, seq) VALUES (1, 1), (2, 1);
SELECT max(st_at) AS inserted_at FROM t \gset
-- t_b lacks two of t_a's rules, the heap partition t_c all three: one
-- refusal names them all.
UPDATE t SET id = 101 WHERE id = 1;
UPDATE t SET id = 201 WHERE id = 2;
-- Run what each HINT says (", then " separates the ALTER TABLE), then move.
CREATE FUNCTION run_hint(move text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
    calls text;
BEGIN
    BEGIN
        EXECUTE move;
        RETURN 'moved without a refusal';
    EXCEPTION WHEN feature_not_supported THEN
        GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    END;
    calls := replace(substring(h from '\((.*;)\), or declare'), ', then ', '; ');
    EXECUTE calls;
    EXECUTE move;
    RETURN calls;
END $$;
SELECT run_hint('UPDATE t SET id = 101 WHERE id = 1');
SELECT run_hint('UPDATE t SET id = 201 WHERE id = 2');
SELECT relid::regclass, column_name, kind, machine, changed_at_column
  FROM steward.tracked_columns WHERE relid::regclass::text LIKE 't%'
 ORDER BY relid::regclass::text, column_name;
-- The moved rows are under the same rules: a change of state is stamped.
UPDATE t SET st = 'paid' WHERE id IN (101, 201);
SELECT id, st, st_at > :'inserted_at' AS stamped, seq, version FROM t ORDER BY id;
UPDATE t SET seq = 0 WHERE id = 201;
-- One lacking rule reads as before.
CREATE TABLE u (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1)
    PARTITION BY RANGE (id);
CREATE TABLE u_a PARTITION OF u FOR VALUES FROM (0) TO (100) USING steward;
CREATE TABLE u_b PARTITION OF u FOR VALUES FROM (100) TO (200) USING steward;
SELECT steward.track_versions('r399.u_a', 'version');
INSERT INTO u VALUES (1);
UPDATE u SET id = 101 WHERE id = 1;
RESET ROLE;
RESET search_path;

DROP SCHEMA r399 CASCADE;
SELECT steward.drop_state_machine('r399_m');
DROP ROLE r399_owner;
