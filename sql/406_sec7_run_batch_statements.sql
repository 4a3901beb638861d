-- sec7 (audit of the statements pg_steward's internal functions run on
-- user tables): steward._run_batch(batch_stmt, status_stmt, ...), the
-- batch of steward._run_batches, ran whatever statement it was given.  A
-- superuser's direct call of an internal function is trusted, so an
-- UPDATE passed to it ran the table owner's trigger in that trusted
-- frame, where the trigger's call of steward._transition_prepare (which
-- only run_transition may make) was accepted and opened a run.  Now it
-- runs only the calls of steward functions _run_batches builds, each of
-- which runs a table's statements behind the owner-code barrier: anything
-- else is refused (42501) before it runs.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r406_owner;
CREATE SCHEMA s406 AUTHORIZATION r406_owner;
SET ROLE r406_owner;
SELECT steward.create_state_machine('m406', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE s406.x (id bigint PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('s406.x', 'st', 'm406');
INSERT INTO s406.x SELECT g, 'a' FROM generate_series(1, 3) g;
CREATE TABLE s406.t (id bigint PRIMARY KEY, v bigint);
INSERT INTO s406.t VALUES (1, 1);
-- What the owner's trigger got, and whether it ran as the owner.
CREATE TABLE s406.log (as_owner boolean, what text);
CREATE FUNCTION s406.trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    BEGIN
        PERFORM steward._transition_prepare('s406.x', 'a', 'b', NULL, 1000, NULL);
        INSERT INTO s406.log VALUES (current_user = 'r406_owner', 'accepted');
    EXCEPTION WHEN insufficient_privilege THEN
        INSERT INTO s406.log VALUES (current_user = 'r406_owner', 'refused');
    END;
    RETURN NEW;
END $$;
CREATE TRIGGER trg BEFORE UPDATE ON s406.t FOR EACH ROW EXECUTE FUNCTION s406.trg();
GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA s406 TO PUBLIC;
GRANT USAGE ON SCHEMA s406 TO PUBLIC;
RESET ROLE;

-- 1. A superuser passes an UPDATE: refused before it runs; the trigger
-- never ran, no run was opened, the row is as it was.
CALL steward._run_batch('UPDATE s406.t SET v = v + 1 RETURNING 1::bigint, NULL::text[], NULL::boolean',
                        'SELECT 1', '{}', 0, NULL, 10, NULL, NULL, NULL);
SELECT * FROM s406.log;
SELECT count(*) AS runs FROM steward.transition_runs WHERE relid = 's406.x'::regclass;
SELECT v FROM s406.t;
-- A status statement other than a steward function's call, NULLs, a
-- call of a function of another schema: refused alike.
CREATE FUNCTION pg_temp.sqlstate_of(b text, s text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    m bigint;
    k text[];
    w boolean;
BEGIN
    CALL steward._run_batch(b, s, '{}', 0, NULL, 10, m, k, w);
    RETURN 'ran';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT pg_temp.sqlstate_of('SELECT *, NULL::pg_catalog.bool FROM steward._transition_run_batch($1, $2, $3, $4)',
                           'UPDATE s406.t SET v = v + 1') AS status_update,
       pg_temp.sqlstate_of(NULL, 'SELECT steward._transition_run_status($1, $2, $3, $4)') AS null_batch,
       pg_temp.sqlstate_of('SELECT * FROM s406.f($1, $2, $3, $4)',
                           'SELECT steward._transition_run_status($1, $2, $3, $4)') AS other_schema,
       pg_temp.sqlstate_of('SELECT * FROM steward._transition_run_batch($1, $2, $3, $4); UPDATE s406.t SET v = 0',
                           'SELECT steward._transition_run_status($1, $2, $3, $4)') AS appended;
SELECT * FROM s406.log;
SELECT v FROM s406.t;

-- 2. The documented way still runs its batches through it.
SET ROLE r406_owner;
CALL steward.run_transition('s406.x', 'a', 'b');
RESET ROLE;
SELECT st, count(*) FROM s406.x GROUP BY st ORDER BY st;
SELECT status FROM steward.transition_runs WHERE relid = 's406.x'::regclass;

DROP FUNCTION pg_temp.sqlstate_of(text, text);
DROP SCHEMA s406 CASCADE;
SELECT steward.drop_state_machine('m406');
DROP ROLE r406_owner;
