-- readme40 N5: a state rule whose machine does not exist (a rule row
-- written under session_replication_role = replica, as a restore writes
-- it before the machine, or by hand) refuses INSERT, COPY and UPDATE of
-- the column 55000, yet steward.tracked_columns showed problem NULL, so a
-- DBA filtering on problem missed a table that takes no new rows.  The
-- rule stays enforced; problem now names the missing machine and the
-- statements that fix it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r239 (id int PRIMARY KEY, st text) USING steward;
SET session_replication_role = replica;
INSERT INTO steward.column_rules (relid, attname, kind, machine)
VALUES ('r239', 'st', 'state', 'r239_no_such_machine');
RESET session_replication_role;
SELECT column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid = 'r239'::regclass;
SELECT count(*) AS listed FROM steward.tracked_columns WHERE problem IS NOT NULL AND relid = 'r239'::regclass;
INSERT INTO r239 VALUES (1, 'new');
SELECT "check", passed FROM steward.verify('r239') WHERE NOT passed ORDER BY 1;
-- The fix problem names, run as written: then no problem, writes go.
SELECT substring(problem FROM 'SELECT steward.detach_state_machine\(.*\)$') AS fix
  FROM steward.tracked_columns WHERE relid = 'r239'::regclass \gset
:fix;
SELECT count(*) AS rules FROM steward.tracked_columns WHERE relid = 'r239'::regclass;
INSERT INTO r239 VALUES (1, 'new');
-- A state rule whose machine exists has no problem.
SELECT steward.create_state_machine('r239_m', ARRAY['new','done'], ARRAY['new'], ARRAY['new->done']);
SELECT steward.attach_state_machine('r239', 'st', 'r239_m');
SELECT column_name, enforced, problem FROM steward.tracked_columns
 WHERE relid = 'r239'::regclass;
-- Under origin the catalog's trigger takes the row too (as the machine
-- may come later in a restore): the same problem shows.
SELECT steward.detach_state_machine('r239', 'st');
INSERT INTO steward.column_rules (relid, attname, kind, machine)
VALUES ('r239', 'st', 'state', 'r239_later');
SELECT column_name, enforced, problem IS NOT NULL AS has_problem FROM steward.tracked_columns
 WHERE relid = 'r239'::regclass;
DELETE FROM steward.column_rules WHERE relid = 'r239'::regclass;

-- readme40 N3: the 9th job of one session fails 54000 with a HINT that
-- fits jobs still running.
DO $$
BEGIN
    FOR i IN 1..9 LOOP
        PERFORM steward.governor_begin('backfill', 'r239 job ' || i);
    END LOOP;
END
$$;

-- readme40 N4: governor_end is idempotent (docs/governor.md): for a job that is not
-- running in this session it does nothing, where governor_pace raises.
SELECT steward.governor_begin('backfill', 'r239 ended') AS job \gset
SELECT steward.governor_end(:job);
SELECT steward.governor_end(:job, 'failed');
SELECT state FROM steward.governor_jobs WHERE job_id = :job;
\set VERBOSITY sqlstate
SELECT steward.governor_pace(:job);
\set VERBOSITY default
DROP TABLE r239;
SELECT steward.drop_state_machine('r239_m');
