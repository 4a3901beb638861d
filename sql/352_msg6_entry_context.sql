-- msg6 items 1 and 2: errors leaving pg_steward's C entry points that
-- call its internal PL/pgSQL through SPI (create_state_machine,
-- add_transition, drop_transition, drop_state_machine, release, SECURITY
-- LABEL, DROP OWNED, and alike track_versions, attach_state_machine,
-- verify, REASSIGN OWNED) printed the
-- CONTEXT lines of that code ("PL/pgSQL function
-- steward._create_state_machine(...) line 19 at RAISE", 'SQL statement
-- "SELECT steward._create_state_machine($1, $2, $3, $4, $5)"'), which the
-- PL/pgSQL entry points drop since msg5 (331).  Now they drop them too,
-- and the lines of the user's own code (an event trigger the entry point
-- fires, the caller's function) stay.  An internal error (SQLSTATE class
-- XX: elog's XX000, or a user's RAISE with ERRCODE 'XX000') keeps every
-- line, where they show where to look: a PL/pgSQL entry point
-- (run_transition) dropped them too.  CONTEXT is shown here.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT errors
SET steward.governor_min_calls = 1000000000;   -- no foreground load here
-- create_state_machine: no CONTEXT; called from the user's function, the
-- function's lines stay.
SELECT steward.create_state_machine('r352_2d', states => '{{a},{b}}', initial => ARRAY['a'],
                                    transitions => ARRAY['a->b']);
CREATE FUNCTION r352_create() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward.create_state_machine('r352_2d', ARRAY['a'], ARRAY['a'], ARRAY['a->a']);
END $$;
SELECT r352_create();
-- add_transition, drop_transition, drop_state_machine: no CONTEXT.
SELECT steward.create_state_machine('r352_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.add_transition('r352_m', 'b', 'b');
SELECT steward.add_transition('r352_m', 'q', 'b');
SELECT steward.add_transition('r352_m', 'a', 'b');
SELECT steward.drop_transition('r352_m', 'b', 'a');
CREATE TABLE r352 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'a', v bigint) USING steward;
SELECT steward.attach_state_machine('r352', 'st', 'r352_m');
SELECT steward.drop_state_machine('r352_m');
-- SECURITY LABEL: no CONTEXT.
INSERT INTO r352 VALUES (1, 'a', 0), (2, 'a', 1), (3, 'a', 1);
SECURITY LABEL FOR steward ON COLUMN r352.v IS '{"v": 1, "kind": "version"}';
-- release of a partition whose index belongs to its parent's: no CONTEXT.
CREATE TABLE r352_p (id int, k int) PARTITION BY RANGE (id);
CREATE TABLE r352_p1 PARTITION OF r352_p FOR VALUES FROM (0) TO (10) USING steward;
CREATE INDEX r352_p_k ON r352_p USING steward_hash (k);
SELECT * FROM steward.release('r352_p1');
-- DROP OWNED of a role whose machine another role's table uses: no CONTEXT.
CREATE ROLE r352_bob;
GRANT CREATE ON SCHEMA public TO r352_bob;
SET ROLE r352_bob;
SELECT steward.create_state_machine('r352_bobs', ARRAY['x', 'y'], ARRAY['x'], ARRAY['x->y']);
SELECT steward.grant_state_machine('r352_bobs', 'postgres');
RESET ROLE;
CREATE TABLE r352_b (id int PRIMARY KEY, s text NOT NULL DEFAULT 'x') USING steward;
SELECT steward.attach_state_machine('r352_b', 's', 'r352_bobs');
DROP OWNED BY r352_bob;
-- The user's event trigger that release fires keeps its line; release's
-- own statements go.
UPDATE r352 SET v = 1 WHERE id = 1;
SELECT steward.detach_state_machine('r352', 'st');
CREATE FUNCTION r352_evt() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('r352.code', true) <> '' THEN
        RAISE EXCEPTION 'r352_evt refuses %', tg_tag USING ERRCODE = current_setting('r352.code');
    END IF;
END $$;
CREATE EVENT TRIGGER r352_evt ON ddl_command_end EXECUTE FUNCTION r352_evt();
SET r352.code = 'P0001';
SELECT * FROM steward.release('r352');
RESET r352.code;
-- An internal error keeps every line, through a C entry point ...
-- Seen as a client sees it, by psql in a session of its own (\!), with
-- the line numbers and statement texts masked: they changed here at any
-- edit of _release_table, run_transition, _run_batches, _run_batch or
-- _transition_run_batch (closing45 Noticed 6).  Which entries come, in
-- which order, is what this asserts.
\setenv PGDATABASE :DBNAME
\setenv PGOPTIONS '-c r352.code=XX000 -c steward.governor_min_calls=1000000000'
\! psql -X -c "SELECT * FROM steward.release('r352')" 2>&1 | sed -nE '/^(CONTEXT:  )?PL\/pgSQL function /s/ line [0-9]+ at .*$/ line N/; s/^((CONTEXT:  )?SQL statement ").*/\1..."/; /^(ERROR|CONTEXT|PL\/pgSQL function|SQL statement)/p'
\setenv PGOPTIONS
DROP EVENT TRIGGER r352_evt;
-- ... and through a PL/pgSQL entry point: the user's trigger raising
-- XX000 under run_transition (any other code: its line alone, as 331).
SELECT steward.attach_state_machine('r352', 'st', 'r352_m');
CREATE FUNCTION r352_fail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 2 THEN
        RAISE EXCEPTION 'r352 internal failure on row %', NEW.id
            USING ERRCODE = coalesce(nullif(current_setting('r352.code', true), ''), 'P0001');
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER r352_fail BEFORE UPDATE ON r352 FOR EACH ROW EXECUTE FUNCTION r352_fail();
CALL steward.run_transition('r352', 'a', 'b');
\setenv PGOPTIONS '-c r352.code=XX000 -c steward.governor_min_calls=1000000000'
\! psql -X -c "CALL steward.run_transition('r352', 'a', 'b')" 2>&1 | sed -nE '/^(CONTEXT:  )?PL\/pgSQL function /s/ line [0-9]+ at .*$/ line N/; s/^((CONTEXT:  )?SQL statement ").*/\1..."/; /^(ERROR|CONTEXT|PL\/pgSQL function|SQL statement)/p'
\setenv PGOPTIONS
SELECT st, count(*) FROM r352 GROUP BY st ORDER BY st;
-- Clean up.
DROP TABLE r352, r352_p, r352_b;
SELECT steward.drop_state_machine('r352_m');
DROP OWNED BY r352_bob;
DROP ROLE r352_bob;
DROP FUNCTION r352_create(), r352_evt(), r352_fail();
