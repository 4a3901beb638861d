-- newcomer54: psql's \df+ steward.* showed no description for four public
-- functions (capacity_sample, capacity_report, idempotency_counters,
-- detach_state_machine); every other public function has one.  Every
-- function a user calls (no leading underscore; the access-method
-- handlers are called by PostgreSQL) must carry a comment.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT p.oid::regprocedure AS uncommented
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'steward'::regnamespace
   AND p.proname !~ '^_'
   AND p.prorettype <> ALL (ARRAY['table_am_handler', 'index_am_handler']::regtype[])
   AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NULL
 ORDER BY 1::text;
SELECT count(*) > 0 AS has_commented_functions
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'steward'::regnamespace
   AND pg_catalog.obj_description(p.oid, 'pg_proc') IS NOT NULL;
