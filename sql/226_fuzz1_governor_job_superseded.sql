-- fuzz1: governor_begin ends this session's jobs begun by earlier client
-- statements (free_local_job: a statement that failed or forgot to end its
-- job).  Pacing such a job said "is not running in this session" with a
-- HINT that a job is paced by the session that began it, which was this
-- one.  Now 55000 says that a later statement's governor_begin ended it and
-- how to keep a job (one statement); other unknown ids keep 42704.  Ending
-- it stays a no-op, as for any id this session does not run.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
-- the error of pacing job j, its id written as J (ids depend on earlier tests)
CREATE FUNCTION pg_temp.pace_error(j bigint) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    m text;
    d text;
    h text;
BEGIN
    PERFORM steward.governor_pace(j, 10);
    RETURN NEXT 'paced';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
    RETURN NEXT SQLSTATE || ': ' || replace(m, j::text, 'J');
    RETURN NEXT 'DETAIL: ' || d;
    RETURN NEXT 'HINT: ' || h;
END
$$;
SELECT steward.governor_begin('backfill') AS j1 \gset
SELECT steward.governor_begin('backfill') AS j2 \gset
SELECT pg_temp.pace_error(:j1);
SELECT steward.governor_end(:j1);
SELECT state FROM steward.governor_jobs WHERE job_id = :j1;
-- the later job runs; an id this session never began keeps 42704
SELECT steward.governor_pace(:j2, 10) >= 0 AS paced;
SELECT steward.governor_end(:j2);
SELECT steward.governor_pace(-1, 1);
\echo :LAST_ERROR_SQLSTATE
-- one statement keeps both jobs
DO $$
DECLARE
    a bigint := steward.governor_begin('backfill');
    b bigint := steward.governor_begin('backfill');
BEGIN
    PERFORM steward.governor_pace(a, 1);
    PERFORM steward.governor_pace(b, 1);
    PERFORM steward.governor_end(a);
    PERFORM steward.governor_end(b);
END
$$;
