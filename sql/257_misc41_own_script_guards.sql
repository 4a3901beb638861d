-- codereview41 K6: the guards that let pg_steward's own install and
-- upgrade scripts past (the TRUNCATE of steward.column_rules, a DELETE of
-- the rule of steward.migration_runs, detach_state_machine of it) tested
-- creating_extension, which is true in the script of ANY extension and in
-- the triggers its commands fire.  Another extension's script, or an
-- event trigger it fires, now meets the same refusals as a session.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE s257 (id int, v bigint) USING steward;
SELECT steward.track_versions('s257', 'v');
CREATE FUNCTION f257() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Only inside the script (CREATE EXTENSION's own event comes after it).
    IF TG_TAG = 'CREATE EXTENSION' THEN
        RETURN;
    END IF;
    EXECUTE current_setting('r257.statement');
END $$;
CREATE EVENT TRIGGER e257 ON ddl_command_end EXECUTE FUNCTION f257();
BEGIN;
SET LOCAL r257.statement = 'TRUNCATE steward.column_rules';
CREATE EXTENSION autoinc;
ROLLBACK;
BEGIN;
SET LOCAL r257.statement = 'DELETE FROM steward.column_rules WHERE relid = ''steward.migration_runs''::regclass';
CREATE EXTENSION autoinc;
ROLLBACK;
BEGIN;
SET LOCAL r257.statement = 'SELECT steward.detach_state_machine(''steward.migration_runs'', ''phase'')';
CREATE EXTENSION autoinc;
ROLLBACK;
DROP EVENT TRIGGER e257;
DROP FUNCTION f257();
-- The rules are all there.
SELECT relid, attname, kind FROM steward.column_rules
 WHERE relid IN ('s257'::regclass, 'steward.migration_runs'::regclass) ORDER BY 1, 2;
DROP TABLE s257;
