-- Runs after every other regress file (test/run.sh puts it last whatever
-- its number sorts as) and asserts that they left nothing behind: each
-- file removes what it made (docs/testing.md), so that no file's result
-- depends on which files ran before it.  Every query lists leftovers and
-- returns no rows, or counts pg_steward's own records, which a fresh
-- database (01_extension, then this file) has as many of.  A failure names
-- the leftover; grep sql/ for it to find the file that made it.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- Objects of the database that are not pg_steward's (pg_depend 'e'
-- marks its members) nor the system's: tables, views, sequences, types,
-- functions, schemas, publications, subscriptions, event triggers.
CREATE TEMP VIEW leftover_objects AS
SELECT pg_describe_object(o.classid, o.objid, 0) AS object
  FROM (SELECT 'pg_class'::regclass AS classid, c.oid AS objid, c.relnamespace AS nsp
          FROM pg_class c WHERE c.relkind NOT IN ('i', 'I', 't', 'c')
        UNION ALL
        SELECT 'pg_type'::regclass, t.oid, t.typnamespace FROM pg_type t
         WHERE t.typtype IN ('d', 'e', 'r', 'm') OR (t.typtype = 'c' AND t.typrelid = 0)
        UNION ALL
        SELECT 'pg_proc'::regclass, p.oid, p.pronamespace FROM pg_proc p
        UNION ALL
        SELECT 'pg_namespace'::regclass, n.oid, n.oid FROM pg_namespace n
         WHERE n.nspname NOT IN ('public', 'steward')  -- made for the control file's schema, no member
        UNION ALL
        SELECT 'pg_publication'::regclass, p.oid, NULL FROM pg_publication p
        UNION ALL
        SELECT 'pg_subscription'::regclass, s.oid, NULL FROM pg_subscription s
        UNION ALL
        SELECT 'pg_event_trigger'::regclass, e.oid, NULL FROM pg_event_trigger e) o
  LEFT JOIN pg_namespace n ON n.oid = o.nsp
 WHERE o.objid >= 16384                     -- not made by initdb
   AND coalesce(n.nspname, '') NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   AND coalesce(n.nspname, '') !~ '^pg_(temp|toast_temp)_'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = o.classid AND d.objid = o.objid AND d.deptype = 'e')
   -- a table's row type goes with its table
   AND NOT (o.classid = 'pg_type'::regclass
            AND EXISTS (SELECT 1 FROM pg_type t WHERE t.oid = o.objid AND t.typrelid <> 0));
SELECT object FROM leftover_objects ORDER BY 1;

-- Extensions other than pg_steward and plpgsql.
SELECT extname FROM pg_extension WHERE extname NOT IN ('pg_steward', 'plpgsql') ORDER BY 1;

-- Roles: only the bootstrap superuser and the predefined pg_ roles.
SELECT rolname FROM pg_roles WHERE oid <> 10 AND rolname !~ '^pg_' ORDER BY 1;
-- Settings of roles and databases (ALTER ROLE/DATABASE ... SET).
SELECT setdatabase <> 0 AS for_database, setrole <> 0 AS for_role, setconfig
  FROM pg_db_role_setting ORDER BY 1, 2;
-- Databases and tablespaces.
SELECT datname FROM pg_database
 WHERE datname NOT IN ('template0', 'template1', 'postgres', current_database()) ORDER BY 1;
SELECT spcname FROM pg_tablespace WHERE spcname NOT IN ('pg_default', 'pg_global') ORDER BY 1;

-- Security labels of pg_steward on anything but its own members.
SELECT pg_describe_object(l.classoid, l.objoid, l.objsubid) AS labelled
  FROM pg_seclabel l
 WHERE l.provider = 'steward'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = l.classoid AND d.objid = l.objoid AND d.deptype = 'e')
UNION ALL
SELECT 'shared ' || pg_describe_object(l.classoid, l.objoid, 0)
  FROM pg_shseclabel l WHERE l.provider = 'steward'
 ORDER BY 1;

-- Prepared transactions, replication slots, other sessions (a background
-- psql left running), advisory locks.
SELECT gid FROM pg_prepared_xacts ORDER BY 1;
SELECT slot_name FROM pg_replication_slots ORDER BY 1;
SELECT backend_type, datname, state, query FROM pg_stat_activity
 WHERE pid <> pg_backend_pid() AND backend_type = 'client backend' ORDER BY 1, 2, 3, 4;
SELECT locktype, objid FROM pg_locks WHERE locktype = 'advisory' ORDER BY 1, 2;

-- pg_steward's records: keys, machines, migrations, runs, drills.  A
-- fresh database holds only the extension's own machine (the states of
-- steward.migration_runs) and its column rule.
SELECT 'idempotency_keys' AS records, count(*) FROM steward.idempotency_keys
UNION ALL SELECT 'idempotency_scopes', count(*) FROM steward.idempotency_scopes
UNION ALL SELECT 'machine_definitions', count(*) FROM steward.machine_definitions
UNION ALL SELECT 'column_rules', count(*) FROM steward.column_rules
UNION ALL SELECT 'state_checks', count(*) FROM steward.state_checks
UNION ALL SELECT 'table_retention', count(*) FROM steward.table_retention
UNION ALL SELECT 'migration_runs', count(*) FROM steward.migration_runs
UNION ALL SELECT 'migration_tables', count(*) FROM steward.migration_tables
UNION ALL SELECT 'migration_columns', count(*) FROM steward.migration_columns
UNION ALL SELECT 'migration_indexes', count(*) FROM steward.migration_indexes
UNION ALL SELECT 'migration_validations', count(*) FROM steward.migration_validations
UNION ALL SELECT 'transition_runs', count(*) FROM steward.transition_runs
UNION ALL SELECT 'validation_runs', count(*) FROM steward.validation_runs
UNION ALL SELECT 'restore_drills', count(*) FROM steward.restore_drills
UNION ALL SELECT 'restore_drill_log', count(*) FROM steward.restore_drill_log
UNION ALL SELECT 'capacity_samples', count(*) FROM steward.capacity_samples
 ORDER BY 1;
-- Governed jobs still running (a job's session gone without ending it).
SELECT kind, label, state FROM steward.governor_jobs WHERE finished_at IS NULL ORDER BY 1, 2;

DROP VIEW leftover_objects;
