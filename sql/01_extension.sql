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

-- Privileges of every function, procedure, table, view and sequence of the
-- extension, for PUBLIC, pg_read_all_stats and a role with no grants, so
-- any drift shows here.  Internal steward._* functions are executable by
-- exactly the roles that may read the view built on them (docs/security.md); the others check the caller's rights themselves.
CREATE ROLE ext_no_grants;
WITH objs AS (
    SELECT d.classid, d.objid,
           pg_describe_object(d.classid, d.objid, 0) AS object
      FROM pg_depend d
     WHERE d.refclassid = 'pg_extension'::regclass
       AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_steward')
       AND d.deptype = 'e'
       AND (d.classid = 'pg_proc'::regclass
            OR (d.classid = 'pg_class'::regclass
                AND (SELECT relkind FROM pg_class WHERE oid = d.objid) IN ('r', 'v', 'm', 'S')))),
privs AS (
    SELECT o.object, r.role,
           CASE WHEN o.classid = 'pg_proc'::regclass THEN
                    CASE WHEN has_function_privilege(r.role, o.objid, 'EXECUTE')
                         THEN 'execute' ELSE '-' END
                WHEN (SELECT relkind FROM pg_class WHERE oid = o.objid) = 'S' THEN
                    coalesce(nullif(concat_ws(',',
                        CASE WHEN has_sequence_privilege(r.role, o.objid, 'USAGE') THEN 'usage' END,
                        CASE WHEN has_sequence_privilege(r.role, o.objid, 'SELECT') THEN 'select' END,
                        CASE WHEN has_sequence_privilege(r.role, o.objid, 'UPDATE') THEN 'update' END),
                        ''), '-')
                ELSE
                    coalesce(nullif(concat_ws(',',
                        CASE WHEN has_table_privilege(r.role, o.objid, 'SELECT') THEN 'select' END,
                        CASE WHEN has_table_privilege(r.role, o.objid, 'INSERT') THEN 'insert' END,
                        CASE WHEN has_table_privilege(r.role, o.objid, 'UPDATE') THEN 'update' END,
                        CASE WHEN has_table_privilege(r.role, o.objid, 'DELETE') THEN 'delete' END,
                        CASE WHEN has_table_privilege(r.role, o.objid, 'TRUNCATE') THEN 'truncate' END),
                        ''), '-')
           END AS granted
      FROM objs o,
           (VALUES ('public'), ('pg_read_all_stats'), ('ext_no_grants')) r(role))
SELECT object,
       max(granted) FILTER (WHERE role = 'public') AS "PUBLIC",
       max(granted) FILTER (WHERE role = 'pg_read_all_stats') AS pg_read_all_stats,
       max(granted) FILTER (WHERE role = 'ext_no_grants') AS no_grants
  FROM privs GROUP BY object ORDER BY object;

-- Row security on the tables that describe other owners' tables.
SELECT c.oid::regclass AS "table", c.relrowsecurity, p.polname, p.polcmd
  FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
 WHERE c.relnamespace = 'steward'::regnamespace AND c.relkind = 'r'
   AND (c.relrowsecurity OR p.polname IS NOT NULL)
 ORDER BY c.relname;
DROP ROLE ext_no_grants;

-- The steward.* GUC prefix is reserved.
SET steward.no_such_setting = 1;

-- Counters are readable (the test cluster preloads the library) and empty
-- before any steward table exists.
SELECT * FROM steward.table_counters();
