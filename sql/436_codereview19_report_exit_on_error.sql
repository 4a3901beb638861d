-- steward._report (mig18) collected its CONTEXT by raising the message
-- as an ERROR and catching it at once.  Under exit_on_error = on, a
-- setting any user may change, core turns every ERROR into a FATAL
-- before any handler sees it, so each NOTICE or WARNING of pg_steward's
-- internal PL/pgSQL (a machine's "already exists, skipping", a
-- migration's warnings) ended the session, even one client_min_messages
-- hid (codereview19 C1).  It now reads the context as GET DIAGNOSTICS
-- PG_CONTEXT does, raising nothing: the reports are emitted at their
-- level, the session goes on.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT always

SET exit_on_error = on;
SELECT steward.create_state_machine('r436_sm', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
-- An entry point's NOTICE: the session survives it.
SELECT steward.create_state_machine('r436_sm', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b'], if_not_exists => true);
SELECT 'alive after the notice' AS session;
-- A WARNING with DETAIL and HINT, called under the user's own function:
-- its line stays, the report's own is gone.
CREATE FUNCTION r436_warn() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward._report('warning', 'r436 warned', 'a detail', 'a hint', '01R36');
END $$;
SELECT r436_warn();
SELECT 'alive after the warning' AS session;
-- Hidden by client_min_messages: nothing shown, nothing ended.
SET client_min_messages = error;
SELECT steward._report('notice', 'r436 not shown');
SELECT r436_warn();
RESET client_min_messages;
SELECT 'alive after the hidden reports' AS session;
RESET exit_on_error;
-- Inside an exception block's handler, the caught error stays readable
-- after the report.
DO $$
DECLARE
    st text;
BEGIN
    BEGIN
        PERFORM 1 / 0;
    EXCEPTION WHEN division_by_zero THEN
        PERFORM steward._report('notice', 'r436 in a handler');
        GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
        RAISE NOTICE 'caught %', st;
    END;
END $$;

SELECT steward.drop_state_machine('r436_sm');
DROP FUNCTION r436_warn();
