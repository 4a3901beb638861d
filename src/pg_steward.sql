/* pg_steward: fresh install script, built by the Makefile from the
 * per-subsystem SQL files listed in SQL_SOURCES (in that order). */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_steward" to load this file. \quit

-- The schema must be the extension owner's.  CREATE EXTENSION adopts a
-- schema "steward" that already exists, and its owner could rename it, drop
-- the extension with it (DROP SCHEMA ... CASCADE) or put look-alike objects
-- next to ours; a CREATEDB role owns databases where it can make one.
DO $$
DECLARE
    owner oid := (SELECT n.nspowner FROM pg_catalog.pg_namespace n WHERE n.nspname = 'steward');
    extowner oid := (SELECT e.extowner FROM pg_catalog.pg_extension e WHERE e.extname = 'pg_steward');
BEGIN
    IF owner IS DISTINCT FROM extowner THEN
        RAISE EXCEPTION 'schema "steward" belongs to role "%", not to the owner of pg_steward ("%")',
                pg_catalog.pg_get_userbyid(owner), pg_catalog.pg_get_userbyid(extowner)
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The role that owns the schema could rename it, drop pg_steward with it, or add objects next to the extension''s.',
                  HINT = 'Drop or rename that schema first (pg_steward creates its own), or, if you trust it, ALTER SCHEMA steward OWNER TO the owner of pg_steward.';
    END IF;
END
$$;

-- Users reach the API and views through the schema; what each object allows
-- is granted object by object below.
GRANT USAGE ON SCHEMA steward TO PUBLIC;

-- The value of a pg_steward setting in effect, as a number in its base
-- unit (pg_settings.unit: ms or s for times), so that SQL never parses the
-- unit string current_setting() prints; the 0.1 name of a renamed setting
-- counts while the new name is left at its default (src/plumbing/settings.c).
CREATE FUNCTION steward.setting_value(name text)
RETURNS double precision
AS 'MODULE_PATHNAME', 'steward_setting_value'
LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION steward.setting_value(text) IS
  'value in effect of a pg_steward setting, as a number in its base unit (ms or s for times), either name of a renamed setting';

-- Refuses (25006) a call of pg_steward's that writes, before it reads or
-- locks anything: during recovery ("cannot execute
-- steward.restore_builtin_machines() during recovery", as core's
-- PreventCommandDuringRecovery) or in a read-only transaction; call is
-- the call as the user writes it.  For the PL/pgSQL entry points; the C
-- ones call steward_require_writable (src/plumbing/as_owner.c).  It tells
-- only whether this transaction may write: PUBLIC may call it.
CREATE FUNCTION steward._require_writable(call text)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_sql_require_writable'
LANGUAGE C STRICT VOLATILE;

-- A relation's name as an error message prints it inside double quotes, as
-- core does (RangeVarGetRelid, column "..." of relation "..."): its name as
-- it is, never quoted again; its OID for a relation gone, as regclass
-- output prints it (codereview10 C5: it was NULL).
CREATE FUNCTION steward._relation_name(rel regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT coalesce((SELECT c.relname::text FROM pg_catalog.pg_class c WHERE c.oid = rel),
                rel::oid::text)
$$;

-- A relation name as the user typed it (regclass input), as core's 42P01
-- for it prints it inside double quotes: its schema and name parsed,
-- downcased unless quoted, cut to 63 bytes, joined with "." (a database
-- name before them is left out, as core does): '"Sch ""1"."q''T"' gives
-- Sch "1.q'T.  For text to_regclass accepted and found nothing, which
-- raised 42602 for a name it cannot parse; the rare text it accepts and
-- parse_ident refuses (a"b", "") is given back as it is.
CREATE FUNCTION steward._relation_name_typed(relname text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parts name[];
BEGIN
    parts := pg_catalog.parse_ident(relname)::name[];
    RETURN pg_catalog.array_to_string(parts[GREATEST(pg_catalog.cardinality(parts) - 1, 1):], '.');
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN relname;
END
$$;

-- For a relation name as the user typed it that names no relation: when
-- it is qualified and its schema does not exist, raises core's 3F000
-- (SELECT 'nosuch.t'::regclass says schema "nosuch" does not exist, not
-- that the relation does not exist), with what (e.g. 'step 1') in
-- parentheses as the caller's own messages have it.  Returns otherwise:
-- the caller raises its 42P01.  pg_temp is missing, as for core, until
-- the session has a temporary schema.  A name core's regclass input
-- refuses before its schema (NULL, more than three parts, or a database
-- other than the current one: 42601 / 0A000) returns too, so the caller's
-- cast raises core's error rather than a 3F000 naming the wrong part.
-- PUBLIC may call it (codereview12 Q5): the migration functions that call
-- it run as their caller, and it tells only whether a schema exists, as
-- pg_namespace tells anyone.
CREATE FUNCTION steward._require_relation_schema(relname text, what text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parts name[];
    nsp name;
BEGIN
    parts := pg_catalog.parse_ident(relname)::name[];
    IF parts IS NULL OR pg_catalog.cardinality(parts) NOT BETWEEN 2 AND 3
       OR (pg_catalog.cardinality(parts) = 3
           AND parts[1] OPERATOR(pg_catalog.<>) pg_catalog.current_database()) THEN
        RETURN;
    END IF;
    nsp := parts[pg_catalog.cardinality(parts) - 1];
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_namespace n WHERE n.nspname = nsp)
       AND NOT (nsp = 'pg_temp' AND pg_catalog.pg_my_temp_schema() <> 0) THEN
        RAISE EXCEPTION 'schema "%" does not exist (%)', nsp, what
            USING ERRCODE = 'invalid_schema_name';
    END IF;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN;
END
$$;

-- RAISE WARNING or NOTICE for pg_steward's internal PL/pgSQL, without the
-- CONTEXT lines of pg_steward's own code (src/plumbing/own_context.c;
-- closing46 Noticed 6).  sqlstate NULL: 01000 for a warning, 00000 for a
-- notice.
CREATE FUNCTION steward._report(level text, message text, detail text DEFAULT NULL,
                                hint text DEFAULT NULL, sqlstate text DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_report'
LANGUAGE C VOLATILE;
