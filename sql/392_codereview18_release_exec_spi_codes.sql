-- codereview18 C2: steward._release_exec(stmt), which PUBLIC may call
-- (sec6), answered a statement SPI cannot run -- COMMIT, ROLLBACK, COPY
-- to or from the client -- with XX000 "could not run a statement of the
-- release", an internal error reachable by any role's input.  Now 0A000
-- naming SPI's code and the statement, as steward._migration_exec
-- answers the same statements.  No statement runs.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r392;
SET ROLE r392;
SELECT steward._release_exec('COMMIT');
SELECT steward._release_exec('ROLLBACK');
SELECT steward._release_exec('COPY (SELECT 1) TO STDOUT');
-- The SQLSTATEs, as a client sees them.
CREATE FUNCTION pg_temp.sqlstate_of(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward._release_exec(stmt);
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
SELECT s, pg_temp.sqlstate_of(s) AS sqlstate
  FROM unnest(ARRAY['COMMIT', 'ROLLBACK', 'COPY (SELECT 1) TO STDOUT', 'SELECT 1']) s;
-- A statement SPI runs still runs, as the caller.
SELECT steward._release_exec('CREATE TEMP TABLE t392 (x int)');
SELECT count(*) AS t392_made FROM pg_class WHERE relname = 't392' AND relpersistence = 't';
DROP TABLE t392;
DROP FUNCTION pg_temp.sqlstate_of(text);
RESET ROLE;
DROP ROLE r392;
