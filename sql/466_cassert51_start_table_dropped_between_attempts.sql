-- A column migration's start finds its tables by name (pass 0), then
-- locks them by OID, retrying after a lock timeout with a sleep between
-- attempts.  A table dropped while start slept between two attempts was
-- then locked by its bare OID and start failed with "relation with OID
-- ... does not exist" (isolation quote1_start_table_renamed showed it on
-- a slower, assert-enabled build).  Start now skips the gone OID and its
-- plan names the table (42P01) or refuses the table its name finds now
-- (40001).  The drop between the attempts is made here by calling the
-- lock loop with the OID of a table dropped before it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA s466;
CREATE TABLE s466."T 1" (id int PRIMARY KEY, a int) USING steward;
SELECT set_config('s466.gone', 's466."T 1"'::regclass::oid::text, false) IS NOT NULL AS found;
DROP TABLE s466."T 1";

-- The table gone: 42P01 naming it, not its OID.  Made again under its
-- name: 40001 (start runs again and finds the new one).
CREATE FUNCTION s466.start_after_drop() RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward._migration_locked('m466', '_migration_plan', 'ACCESS EXCLUSIVE', jsonb_build_object(
        'relids', jsonb_build_array(current_setting('s466.gone')::oid),
        'steps', jsonb_build_array(jsonb_build_object('add_column', jsonb_build_object(
                     'table', 's466."T 1"', 'column', 'c', 'type', 'int'))),
        'user_path', 'public'));
    RETURN 'started';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END $$;
SELECT s466.start_after_drop();
CREATE TABLE s466."T 1" (id int PRIMARY KEY, a int) USING steward;
SELECT s466.start_after_drop();
SELECT count(*) AS recorded FROM steward.migration_runs WHERE name = 'm466';
SELECT count(*) AS schemas FROM pg_namespace WHERE nspname IN ('m466', 'm466_old');

SET client_min_messages = warning;
DROP SCHEMA s466 CASCADE;
RESET client_min_messages;
