-- Installing pg_steward: objects, schema, privileges.
CREATE EXTENSION pg_steward;

SELECT extname, extversion, extnamespace::regnamespace AS schema, extrelocatable
  FROM pg_extension WHERE extname = 'pg_steward';

SELECT amname, amtype FROM pg_am WHERE amname = 'steward';

-- Every object lives in schema steward.
SELECT pg_describe_object(classid, objid, objsubid) AS object
  FROM pg_depend
 WHERE refclassid = 'pg_extension'::regclass
   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_steward')
   AND deptype = 'e'
 ORDER BY 1;

-- The rules table is dumped with the database.
SELECT extconfig::regclass[] FROM pg_extension WHERE extname = 'pg_steward';

-- PUBLIC can read rules but cannot change them except through the API.
SELECT has_table_privilege('public', 'steward.column_rules', 'SELECT') AS rules_select,
       has_table_privilege('public', 'steward.column_rules', 'INSERT') AS rules_insert,
       has_table_privilege('public', 'steward.column_rules', 'DELETE') AS rules_delete,
       has_table_privilege('public', 'steward.tracked_columns', 'SELECT') AS view_select;

-- Internal event-trigger functions are not callable by PUBLIC.
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'steward'::regnamespace AND p.proname LIKE '\_%'
 ORDER BY 1;

-- The steward.* GUC prefix is reserved.
SET steward.no_such_setting = 1;

-- Counters are readable (the test cluster preloads the library) and empty
-- before any steward table exists.
SELECT * FROM steward.table_counters();
