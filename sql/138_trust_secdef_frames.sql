-- The superuser exemption of the trust rule judges a function's caller
-- (codereview2 #4).  At the function manager hook's FHET_START of a
-- SECURITY DEFINER function the current user is already the definer's,
-- and pg_steward's functions belong to the installing superuser: every
-- SECURITY DEFINER internal function passed for pg_steward's own code,
-- whoever called it and from wherever.  Now such a function is trusted
-- only as an event trigger or when pg_steward's own code calls it; what
-- its body calls sees the definer as its caller.
-- * a table owner calling a SECURITY DEFINER internal function that
--   writes the catalog (_migration_record): refused (42501), nothing
--   written; a superuser calling it too;
-- * a superuser calling an internal function that is not SECURITY
--   DEFINER: trusted, as before; the table owner: refused, as before;
-- * a SECURITY DEFINER function's body calling such a function: trusted
--   (its caller, the definer, is a superuser), as the event triggers'
--   helpers are (_migrations_on_sql_drop -> _migration_drop_empty_schemas);
-- * steward._migration_entered only answers whether an entry point was
--   counted: called directly it says false and grants nothing.
-- The test functions below stand for internal functions of the steward
-- schema, owned by the installing superuser as pg_steward's are.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE sd_app;
GRANT CREATE ON SCHEMA public TO sd_app;
SELECT format('GRANT CREATE ON DATABASE %I TO sd_app', current_database()) \gexec

SET ROLE sd_app;
CREATE TABLE sd_t (id int PRIMARY KEY, v int);
INSERT INTO sd_t SELECT g, g FROM generate_series(1,10) g;
SELECT steward.migration_start('sd_m', '[{"alter_column": {"table": "sd_t", "column": "v", "type": "bigint"}}]');
RESET ROLE;

CREATE FUNCTION steward._sd_secdef(mig text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM steward._migration_record('update', mig, '{"add_batches": 1}');
END $$;
CREATE FUNCTION steward._sd_plain(mig text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM steward._migration_record('update', mig, '{"add_batches": 10}');
END $$;
CREATE FUNCTION steward._sd_secdef_calls_plain(mig text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM steward._sd_plain(mig);
END $$;
GRANT EXECUTE ON FUNCTION steward._sd_secdef(text), steward._sd_plain(text),
    steward._sd_secdef_calls_plain(text) TO sd_app;

-- The table owner through a SECURITY DEFINER internal function: refused.
SET ROLE sd_app;
SELECT steward._sd_secdef('sd_m');
-- ... and through one that is not: refused (as before).
SELECT steward._sd_plain('sd_m');
RESET ROLE;
SELECT batches FROM steward.migration_runs WHERE name = 'sd_m';

-- A superuser through the SECURITY DEFINER one: refused too.
SELECT steward._sd_secdef('sd_m');
-- A superuser through the plain one: trusted (10 batches).
SELECT steward._sd_plain('sd_m');
SELECT batches FROM steward.migration_runs WHERE name = 'sd_m';

-- A SECURITY DEFINER body calling the plain one: its caller is the
-- definer, a superuser: trusted, whoever called the outer function.
SET ROLE sd_app;
SELECT steward._sd_secdef_calls_plain('sd_m');
RESET ROLE;
SELECT batches FROM steward.migration_runs WHERE name = 'sd_m';

-- The shape-users check (SECURITY DEFINER, run by the DDL event trigger)
-- still refuses a view over a shape for the table owner.
SET ROLE sd_app;
CREATE VIEW public.sd_over_shape AS SELECT * FROM sd_m.sd_t;
RESET ROLE;
SELECT count(*) FROM pg_class WHERE relname = 'sd_over_shape';

-- _migration_entered called directly: false, and nothing is trusted.
SET ROLE sd_app;
SELECT steward._migration_entered('steward.migration_complete(text)');
SELECT steward._migration_entered('steward.migration_complete(text)');
SELECT steward._migration_record('update', 'sd_m', '{"add_batches": 100}');
-- The documented functions work as before.
SELECT steward.migration_rollback('sd_m');
RESET ROLE;
SELECT phase, status, batches FROM steward.migration_runs WHERE name = 'sd_m';

DROP FUNCTION steward._sd_secdef(text), steward._sd_plain(text), steward._sd_secdef_calls_plain(text);
DROP TABLE sd_t;
SELECT format('REVOKE CREATE ON DATABASE %I FROM sd_app', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM sd_app;
DROP ROLE sd_app;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name = 'sd_m';
\i test/sql/drop_migration_records.sql
