--------------------------------------------------------------------------
-- Online schema migrations (src/migrate; design: src/migrate/README.md)
--------------------------------------------------------------------------

-- One row per migration, kept after it ends (the record of every rollout).
-- Its phase follows the built-in data_lifecycle machine, enforced by the
-- steward access method: new (being started) -> pending_backfill
-- (expanded, dual writes on) -> backfilled -> dual_written (validated: both
-- shapes agree) -> switched (completed: the new shape is the table's) ->
-- validated (cleaned up: the old shape is gone); the machine's rollback
-- edges walk a rollback back to pending_backfill.
CREATE TABLE steward.migration_runs (
    name                   text PRIMARY KEY,
    steps                  jsonb NOT NULL,
    phase                  text NOT NULL,
    phase_changed_at       timestamptz,
    status                 text NOT NULL DEFAULT 'active'
                           CHECK (status IN ('active', 'rolled_back', 'cleaned_up', 'dropped')),
    failed                 boolean NOT NULL DEFAULT false,
    failures               integer NOT NULL DEFAULT 0,   -- times it became failed
    error                  text,
    started_by             name,
    started_at             timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    expanded_at            timestamptz,
    backfill_started_at    timestamptz,
    backfilled_at          timestamptz,
    validated_at           timestamptz,
    switched_at            timestamptz,
    cleaned_up_at          timestamptz,
    rolled_back_at         timestamptz,
    rows_total             bigint,
    rows_backfilled        bigint NOT NULL DEFAULT 0,
    batches                bigint NOT NULL DEFAULT 0,
    batch_retries          integer NOT NULL DEFAULT 0,
    last_batch_at          timestamptz,
    backfill_pid           integer,
    backfill_run_at        timestamptz,         -- start of the latest backfill call
    backfill_status        text,
    last_validated_at      timestamptz,
    last_validation_passed boolean,
    -- written by something else than the migration functions (a
    -- restore's COPY, a superuser's INSERT or UPDATE) since their last
    -- write: the DDL guard lets a restore rebuild the tables (set by the
    -- trigger migration_runs_restored, below)
    restored               boolean NOT NULL DEFAULT false
) USING steward;
SELECT steward.attach_state_machine('steward.migration_runs', 'phase', 'data_lifecycle',
                                    'phase_changed_at');
-- The rule above is part of the extension, which CREATE EXTENSION makes
-- again on restore: dump only users' rules, and only of relations that
-- exist (see table_retention).
SELECT pg_catalog.pg_extension_config_dump('steward.column_rules',
    'WHERE relid OPERATOR(pg_catalog.<>) ''steward.migration_runs''::pg_catalog.regclass'
    ' AND EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) relid::pg_catalog.oid)');
SELECT pg_catalog.pg_extension_config_dump('steward.migration_runs', '');
REVOKE ALL ON steward.migration_runs FROM PUBLIC;
GRANT SELECT ON steward.migration_runs TO PUBLIC;

-- Marks a record written by anything but pg_steward's migration functions
-- (restored = true), or clears the mark when they write it: a restore
-- loads the record (data) before it rebuilds the tables' constraints,
-- indexes and triggers (post-data), which the DDL guard must then let
-- pass whatever the session's settings; the migration's next step clears
-- it.  ENABLE ALWAYS: a restore with session_replication_role = replica
-- marks it too.
CREATE FUNCTION steward._migration_runs_mark()
RETURNS trigger
AS 'MODULE_PATHNAME', 'steward_migration_runs_mark'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._migration_runs_mark() FROM PUBLIC;
CREATE TRIGGER migration_runs_restored BEFORE INSERT OR UPDATE ON steward.migration_runs
    FOR EACH ROW EXECUTE FUNCTION steward._migration_runs_mark();
ALTER TABLE steward.migration_runs ENABLE ALWAYS TRIGGER migration_runs_restored;

-- Whether the DDL statement running now is the migration's own (a
-- statement of _migration_exec called by pg_steward's code, or an event
-- trigger it fires): for the event triggers (exec.c).
CREATE FUNCTION steward._migration_own_ddl()
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_migration_own_ddl'
LANGUAGE C VOLATILE;
-- Called only by the SECURITY DEFINER event trigger functions.
REVOKE ALL ON FUNCTION steward._migration_own_ddl() FROM PUBLIC;

-- The first statement of the documented PL/pgSQL entry points, with the
-- function itself: whether the function manager hook counted it (exec.c).
-- Not when it began before the library was loaded (a session without
-- preloading; this call loads it): the entry point then calls itself
-- again, and that call is counted.  It only answers: PUBLIC may call it.
CREATE FUNCTION steward._migration_entered(fn regprocedure)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_migration_entered'
LANGUAGE C VOLATILE;

-- The tables a migration changes.  "active" until it is cleaned up or
-- rolled back: one active migration per table.
CREATE TABLE steward.migration_tables (
    migration    text     NOT NULL,
    relid        regclass,              -- NULL once the table is dropped
    ord          integer  NOT NULL,
    table_name   text     NOT NULL,     -- as it was named at start
    relname      name     NOT NULL,     -- unqualified name at start (old-shape view)
    new_name     name,                  -- rename_table
    key_columns  name[]   NOT NULL,     -- primary key: backfill order
    key_types    text[]   NOT NULL,
    last_key     text[],                -- backfill checkpoint
    rows_done    bigint   NOT NULL DEFAULT 0,
    active       boolean  NOT NULL DEFAULT true,
    -- Column migrations (F10): the publications that named the table
    -- without a column list, which have one until the end (_migration_publish).
    publications name[],
    -- Column migrations: the table's replica identity index at start when
    -- it covers a column the migration replaces and a key of the steps
    -- replaces it (_migration_identity_follower): complete moves the
    -- identity to that key, a rollback after complete back to this index.
    replica_identity name,
    PRIMARY KEY (migration, ord)
);
CREATE UNIQUE INDEX migration_tables_one_active ON steward.migration_tables (relid) WHERE active;
SELECT pg_catalog.pg_extension_config_dump('steward.migration_tables', '');
REVOKE ALL ON steward.migration_tables FROM PUBLIC;
GRANT SELECT ON steward.migration_tables TO PUBLIC;

-- One row per changed column.  Names are kept by shape (old_name, new_name)
-- and by phase (the physical column that holds each shape's column while
-- expanded and after the switch); expressions in canonical form
-- (src/migrate/expr.c): text with $k, params[k] naming the shape column.
CREATE TABLE steward.migration_columns (
    migration     text     NOT NULL,
    relid         regclass NOT NULL,
    ord           integer  NOT NULL,
    step          integer  NOT NULL,
    kind          text     NOT NULL CHECK (kind IN ('pair', 'added', 'dropped', 'renamed')),
    old_name      name,
    new_name      name,
    expand_old    name,
    expand_new    name,
    switched_old  name,
    switched_new  name,
    old_type      text,
    new_type      text,
    up_sql        text,
    up_params     text[],
    down_sql      text,
    down_params   text[],
    default_sql   text,
    old_default   text,
    not_null      boolean  NOT NULL DEFAULT false,
    not_null_name name,
    check_sql     text,
    check_params  text[],
    check_name    name,
    fk_table      regclass,
    fk_column     name,
    fk_on_delete  text,
    fk_name       name,
    unique_method text,
    unique_with   text[],
    unique_name   name,
    unique_final  name,
    PRIMARY KEY (migration, relid, ord)
);
SELECT pg_catalog.pg_extension_config_dump('steward.migration_columns', '');
REVOKE ALL ON steward.migration_columns FROM PUBLIC;
GRANT SELECT ON steward.migration_columns TO PUBLIC;

-- Migrations are visible to the owners of their tables and to
-- pg_read_all_stats (validation details name rows by key).
ALTER TABLE steward.migration_tables ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_owners ON steward.migration_tables FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) relid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));
ALTER TABLE steward.migration_columns ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_owners ON steward.migration_columns FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) relid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));
ALTER TABLE steward.migration_runs ENABLE ROW LEVEL SECURITY;
-- A migration whose tables were all dropped (status dropped) has no owner
-- left to show it to: the role that started it sees it.
CREATE POLICY table_owners ON steward.migration_runs FOR SELECT TO PUBLIC
    USING (EXISTS (SELECT 1 FROM steward.migration_tables t
                    WHERE t.migration OPERATOR(pg_catalog.=) name)
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')
           OR (status OPERATOR(pg_catalog.=) 'dropped'
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_roles o
                            WHERE o.rolname OPERATOR(pg_catalog.=) started_by
                              AND pg_catalog.pg_has_role(o.oid, 'USAGE'))));

CREATE TABLE steward.migration_validations (
    migration  text        NOT NULL,
    checked_at timestamptz NOT NULL,
    "check"    text        NOT NULL,
    passed     boolean,                 -- NULL: not judged (newcomer48 N9)
    detail     text
);
CREATE INDEX migration_validations_migration
    ON steward.migration_validations (migration, checked_at);
SELECT pg_catalog.pg_extension_config_dump('steward.migration_validations', '');
REVOKE ALL ON steward.migration_validations FROM PUBLIC;
GRANT SELECT ON steward.migration_validations TO PUBLIC;
ALTER TABLE steward.migration_validations ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_owners ON steward.migration_validations FOR SELECT TO PUBLIC
    USING (EXISTS (SELECT 1 FROM steward.migration_tables t
                    WHERE t.migration OPERATOR(pg_catalog.=) migration)
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));

-- C helpers (src/migrate/expr.c, exec.c, dualwrite.c).
CREATE FUNCTION steward._migration_type(type_name text, search_path text)
RETURNS text
AS 'MODULE_PATHNAME', 'steward_migration_type'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward._migration_expr(tbl regclass, expr text, names text[], types text[],
                                        target text, what text, search_path text,
                                        OUT sql text, OUT params text[])
RETURNS record
AS 'MODULE_PATHNAME', 'steward_migration_expr'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward._migration_sql(tbl regclass, expr text, params text[],
                                       physical text[], target text)
RETURNS text
AS 'MODULE_PATHNAME', 'steward_migration_sql'
LANGUAGE C VOLATILE;

-- The equality the dual-write trigger compares a type by, as
-- "OPERATOR(schema.name)", or NULL (expr.c).  For _migration_distinct.
CREATE FUNCTION steward._migration_type_equality(type_name text)
RETURNS text
AS 'MODULE_PATHNAME', 'steward_migration_type_equality'
LANGUAGE C STABLE;

-- The function (any VOLATILE one, now() and kin, the session's) or
-- setting that makes an up or down vary, and the function when it is not
-- PostgreSQL's own, with how the expression calls it when it writes no
-- call of it (a cast, a type's input or output function, an operator) and
-- the extension it belongs to; NULLs for none (expr.c).  The expression
-- is looked at coerced to target, its column's type (NULL: none), so an
-- ASSIGNMENT cast's function counts.  For _migration_refuse_varying.
CREATE FUNCTION steward._migration_expr_varies(expr text, names text[], types text[],
                                               search_path text, target text,
                                               OUT uses text, OUT own_function regprocedure,
                                               OUT used_as text, OUT extension text)
AS 'MODULE_PATHNAME', 'steward_migration_expr_varies'
LANGUAGE C VOLATILE;

-- May an add_column's canonical "default" go into its ADD COLUMN, so
-- that the stored rows read it at once with no rewrite (expr.c;
-- newcomer45 N9)?  For _migration_expand.
CREATE FUNCTION steward._migration_fast_default(expr text, target text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_migration_fast_default'
LANGUAGE C VOLATILE;

-- The value an add_column's canonical "default" gives its column, coerced
-- as an INSERT coerces it (expr.c; mig16: a value too long for
-- varchar(n) passed start).  For _migration_probe_up.
CREATE FUNCTION steward._migration_default_value(expr text, target text)
RETURNS text
AS 'MODULE_PATHNAME', 'steward_migration_default_value'
LANGUAGE C VOLATILE;

-- A value coerced to a column's type by the assignment rules, as the
-- backfill's SET and the dual-write trigger coerce an up (expr.c; mig17:
-- start's probe cast it explicitly, cutting what the backfill refuses).
-- For _migration_probe_up.
CREATE FUNCTION steward._migration_assign(value "any", target text)
RETURNS text
AS 'MODULE_PATHNAME', 'steward_migration_assign'
LANGUAGE C VOLATILE;

-- Is a type a domain with constraints, which ADD COLUMN checks by
-- rewriting the table (expr.c; mig17)?  For _migration_refuse_rewrite.
CREATE FUNCTION steward._migration_domain_checked(target text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_migration_domain_checked'
LANGUAGE C STABLE;

CREATE FUNCTION steward._migration_exec(tbl regclass, sql text, args text[] DEFAULT NULL,
                                        backfill boolean DEFAULT false)
RETURNS text[]
AS 'MODULE_PATHNAME', 'steward_migration_exec'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward._migration_record(op text, name text, data jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_migration_record'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward._migration_settings(OUT lock_timeout_ms integer,
                                            OUT lock_retries integer,
                                            OUT batch_size integer)
RETURNS record
AS 'MODULE_PATHNAME', 'steward_migration_settings'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward._migration_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'steward_migration_trigger'
LANGUAGE C;

-- Catalog writers, called by _migration_record as the catalog's owner after
-- it checked that the caller owns the migration's tables.
CREATE FUNCTION steward._migration_record_create(mig text, data jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO steward.migration_runs (name, steps, phase, started_by)
    VALUES (mig, data->'steps', 'new', data->>'started_by');
    INSERT INTO steward.migration_tables (migration, relid, ord, table_name, relname, new_name,
                                          key_columns, key_types)
    SELECT mig, x.relid, x.ord, x.table_name, x.relname, x.new_name, x.key_columns, x.key_types
      FROM jsonb_populate_recordset(NULL::steward.migration_tables, data->'table_rows') x;
    -- The migration is mig, whatever a row says (the caller was checked
    -- against mig's tables and the tables the rows name, not against
    -- another migration's).
    INSERT INTO steward.migration_columns
    SELECT (jsonb_populate_record(NULL::steward.migration_columns,
                                  jsonb_build_object('not_null', false) || x
                                  || jsonb_build_object('migration', mig))).*
      FROM jsonb_array_elements(data->'column_rows') x;
END
$$;
REVOKE ALL ON FUNCTION steward._migration_record_create(text, jsonb) FROM PUBLIC;

CREATE FUNCTION steward._migration_record_update(mig text, data jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- Fields present in data replace the stored ones; name, steps and
    -- started_at never change.
    UPDATE steward.migration_runs r
       SET (phase, status, failed, error, expanded_at, backfill_started_at, backfilled_at,
            validated_at, switched_at, cleaned_up_at, rolled_back_at, rows_total,
            last_batch_at, backfill_pid, backfill_run_at, backfill_status)
         = (SELECT p.phase, p.status, p.failed, p.error, p.expanded_at, p.backfill_started_at,
                   p.backfilled_at, p.validated_at, p.switched_at, p.cleaned_up_at,
                   p.rolled_back_at, p.rows_total, p.last_batch_at, p.backfill_pid,
                   p.backfill_run_at, p.backfill_status
              FROM jsonb_populate_record(r, data) p),
           rows_backfilled = r.rows_backfilled + coalesce((data->>'add_rows')::bigint, 0),
           batches = r.batches + coalesce((data->>'add_batches')::bigint, 0),
           batch_retries = r.batch_retries + coalesce((data->>'add_retries')::integer, 0),
           failures = r.failures + CASE WHEN (data->>'failed')::boolean AND NOT r.failed
                                        THEN 1 ELSE 0 END
     WHERE r.name = mig;
    IF data ? 'table' THEN
        UPDATE steward.migration_tables t
           SET last_key = CASE WHEN data ? 'last_key'
                               THEN ARRAY(SELECT jsonb_array_elements_text(data->'last_key'))
                               ELSE t.last_key END,
               rows_done = t.rows_done + coalesce((data->>'add_rows')::bigint, 0),
               publications = CASE WHEN data ? 'publications'
                                   THEN ARRAY(SELECT jsonb_array_elements_text(data->'publications'))::name[]
                                   ELSE t.publications END,
               replica_identity = CASE WHEN data ? 'replica_identity' THEN (data->>'replica_identity')::name
                                       ELSE t.replica_identity END
         WHERE t.migration = mig AND t.relid = (data->>'table')::oid;
    END IF;
    IF (data->>'release')::boolean THEN
        UPDATE steward.migration_tables t SET active = false WHERE t.migration = mig;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._migration_record_update(text, jsonb) FROM PUBLIC;

CREATE FUNCTION steward._migration_record_validation(mig text, data jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO steward.migration_validations (migration, checked_at, "check", passed, detail)
    SELECT mig, (data->>'checked_at')::timestamptz, x->>'check', (x->>'passed')::boolean,
           x->>'detail'
      FROM jsonb_array_elements(data->'results') x;
    UPDATE steward.migration_runs r
       SET last_validated_at = (data->>'checked_at')::timestamptz,
           last_validation_passed = (data->>'passed')::boolean
     WHERE r.name = mig;
END
$$;
REVOKE ALL ON FUNCTION steward._migration_record_validation(text, jsonb) FROM PUBLIC;

-- The physical columns that hold the given columns of a shape ('old' or
-- 'new') of a migration's table now: a changed column by its phase, any
-- other column under its own name.
CREATE FUNCTION steward._migration_physical(mig text, tbl regclass, shape text, names text[])
RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT array_agg(coalesce(
               (SELECT CASE WHEN r.phase = 'switched'
                            THEN CASE WHEN shape = 'old' THEN c.switched_old ELSE c.switched_new END
                            ELSE CASE WHEN shape = 'old' THEN c.expand_old ELSE c.expand_new END END
                  FROM steward.migration_columns c
                  JOIN steward.migration_runs r ON r.name = c.migration
                 WHERE c.migration = mig AND c.relid = tbl
                   AND CASE WHEN shape = 'old' THEN c.old_name ELSE c.new_name END = u.n),
               u.n) ORDER BY u.i)
      FROM unnest(names) WITH ORDINALITY u(n, i)
$$;

-- A canonical expression as SQL over the table's physical columns now.
CREATE FUNCTION steward._migration_bind(mig text, tbl regclass, shape text, expr text,
                                        params text[], target text)
RETURNS text
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT steward._migration_sql(tbl, expr, coalesce(params, '{}'),
                                  coalesce(steward._migration_physical(mig, tbl, shape, params),
                                           '{}'),
                                  target)
$$;

CREATE FUNCTION steward._migration_lock_related(tbl regclass, rel regclass)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_migration_lock_related'
LANGUAGE C VOLATILE;

-- The relations steward._migration_locked locks before it runs a phase
-- function fn(mig, arg) with lockmode on the migration's tables, in the
-- order application statements lock them (review10 F1): a statement
-- through a view locks the view before the relations under it, and one
-- writing a table whose foreign key references the migration's table
-- (INSERT ... SELECT, the key check) locks that table first.  So: the
-- referencing tables (ord 1; only for a relayout's cutover either way,
-- which re-adds their foreign keys), then the views on the tables the
-- step redefines or drops (ord 2; a column migration's shape views in the
-- schemas <mig> and <mig>_old, a relayout's cutover every view on a
-- layout), a view that selects from another of them first, then the
-- tables (ord 3), each in OID order.  base: the migration's table the
-- relation belongs to.  Views and referencing tables only with ACCESS
-- EXCLUSIVE (the mode their DDL takes); catalog reads only, no lock.
CREATE FUNCTION steward._migration_lock_plan(mig text, fn text, lockmode text, arg jsonb)
RETURNS TABLE (ord integer, base regclass, rel regclass)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    is_relayout boolean;
BEGIN
    -- A column migration's start locks its tables before it plans (and
    -- records) anything: the tables pass 0 found, in OID order.
    IF fn = '_migration_plan' THEN
        RETURN QUERY SELECT 3, x.relid, x.relid
                       FROM (SELECT DISTINCT (e #>> '{}')::oid::regclass AS relid
                               FROM jsonb_array_elements(arg->'relids') e) x
                      WHERE lockmode IS NOT NULL
                      ORDER BY x.relid::oid;
        RETURN;
    END IF;
    is_relayout := steward._relayout_step((steward._migration_get(mig)).steps) IS NOT NULL;
    RETURN QUERY
    WITH RECURSIVE
    tabs AS (SELECT t.relid FROM steward.migration_tables t WHERE t.migration = mig AND t.active),
    kind AS (SELECT is_relayout AS relayout),
    related AS (
        SELECT lockmode = 'ACCESS EXCLUSIVE' AS views,
               lockmode = 'ACCESS EXCLUSIVE' AND k.relayout
               AND (fn = '_relayout_switch'
                    OR (fn = '_relayout_undo' AND coalesce((arg->>'switched')::boolean, false))
                    OR (fn = '_migration_recheck' AND arg->>'action' IN ('complete', 'roll back')))
                   AS cutover,
               k.relayout
          FROM kind k),
    fks AS (
        SELECT DISTINCT ON (x.conrelid) x.confrelid AS base, x.conrelid AS rel
          FROM pg_constraint x, related
         WHERE related.cutover AND x.contype = 'f' AND x.conparentid = 0
           AND x.confrelid IN (SELECT t1.relid FROM tabs t1) AND x.conrelid NOT IN (SELECT t2.relid FROM tabs t2)
         ORDER BY x.conrelid, x.confrelid),
    views AS (
        SELECT DISTINCT ON (vc.oid) d.refobjid AS base, vc.oid AS rel
          FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
          JOIN pg_class vc ON vc.oid = rw.ev_class
          JOIN pg_namespace n ON n.oid = vc.relnamespace, related
         WHERE related.views AND (related.cutover OR (NOT related.relayout AND n.nspname IN (mig, mig || '_old')))
           AND d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
           AND d.refobjid IN (SELECT t3.relid FROM tabs t3) AND vc.relkind = 'v' AND vc.oid <> d.refobjid
         ORDER BY vc.oid, d.refobjid),
    -- (v, w): view v selects from view w, both in views.
    edges AS (
        SELECT DISTINCT rw.ev_class AS v, d.refobjid AS w
          FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
         WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
           AND rw.ev_class IN (SELECT w1.rel FROM views w1) AND d.refobjid IN (SELECT w2.rel FROM views w2)
           AND rw.ev_class <> d.refobjid),
    depth (v, n) AS (
        SELECT w0.rel, 0 FROM views w0
        UNION ALL
        SELECT e.v, depth.n + 1 FROM depth JOIN edges e ON e.w = depth.v WHERE depth.n < 32)
    SELECT x.ord, x.base::regclass, x.rel::regclass
      FROM (SELECT 1 AS ord, 0 AS n, f.base::oid, f.rel::oid FROM fks f
            UNION ALL
            SELECT 2, d.n, v.base, v.rel
              FROM views v JOIN (SELECT depth.v, max(depth.n) AS n FROM depth GROUP BY depth.v) d
                ON d.v = v.rel
            UNION ALL
            SELECT 3, 0, t.relid::oid, t.relid::oid FROM tabs t WHERE lockmode IS NOT NULL) x
     ORDER BY x.ord, x.n DESC, x.rel;
END
$$;

-- Run a phase function steward.<fn>(mig, arg) of a migration under
-- steward.migration_lock_timeout, after taking lockmode (if any) on every
-- table of the migration, and before them ACCESS EXCLUSIVE on the views
-- and referencing tables the step changes (steward._migration_lock_plan:
-- in the order statements through them lock them, review10 F1), all
-- within one steward.migration_lock_timeout per attempt.  A lock not
-- granted in time rolls the attempt back (releasing whatever it held),
-- sleeps with exponential backoff and jitter, and tries again, up to
-- steward.migration_lock_retries times: the table's traffic never queues
-- behind a migration for longer than the lock timeout.  55P03 at the end,
-- naming the relation and the sessions that held it at the last attempt.
CREATE FUNCTION steward._migration_locked(mig text, fn text, lockmode text,
                                          arg jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s record;
    attempt integer := 0;
    backoff double precision := 0.05;
    l record;
    cur regclass;
    began timestamptz;
    left_ms double precision;
    holders text;
    pids text;
    saved text := current_setting('lock_timeout');
    cur_owner oid;
BEGIN
    SELECT * INTO s FROM steward._migration_settings();
    LOOP
        attempt := attempt + 1;
        BEGIN
            began := clock_timestamp();
            IF lockmode IS NOT NULL THEN
                FOR l IN SELECT * FROM steward._migration_lock_plan(mig, fn, lockmode, arg) LOOP
                    cur := l.rel;
                    cur_owner := (SELECT c.relowner FROM pg_class c WHERE c.oid = l.rel);
                    -- One budget for all of them: a session queued behind
                    -- the first waits no longer than the timeout either.
                    left_ms := s.lock_timeout_ms - 1000 * extract(epoch FROM clock_timestamp() - began);
                    IF left_ms < 1 THEN
                        RAISE EXCEPTION 'canceling statement due to lock timeout'
                            USING ERRCODE = 'lock_not_available';
                    END IF;
                    PERFORM set_config('lock_timeout', ceil(left_ms)::bigint || 'ms', true);
                    -- A table start found, dropped while it slept between
                    -- two attempts (the lock's own wait re-reads the name;
                    -- this sleep does not): nothing to lock, and the plan
                    -- names it (42P01) or the table its name finds now
                    -- (40001).  Its OID alone gave "relation with OID ...".
                    CONTINUE WHEN fn = '_migration_plan'
                                  AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = l.rel);
                    IF l.ord = 3 THEN
                        PERFORM steward._migration_exec(l.rel, format('LOCK TABLE ONLY %s IN %s MODE',
                                                                      l.rel, lockmode));
                    ELSE
                        PERFORM steward._migration_lock_related(l.base, l.rel);
                    END IF;
                END LOOP;
            END IF;
            cur := NULL;
            PERFORM set_config('lock_timeout', s.lock_timeout_ms || 'ms', true);
            EXECUTE format('SELECT steward.%I($1, $2)', fn) USING mig, arg;
            PERFORM set_config('lock_timeout', saved, true);
            RETURN;
        EXCEPTION WHEN lock_not_available THEN
            IF attempt >= s.lock_retries THEN
                -- Who held the relation waited for, right after the timeout.
                SELECT string_agg(format('%s (%s)', k.pid, k.mode), ', ' ORDER BY k.pid, k.mode),
                       string_agg(DISTINCT k.pid::text, ', ') INTO holders, pids
                  FROM pg_locks k
                 WHERE cur IS NOT NULL AND k.locktype = 'relation' AND k.granted
                   AND k.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
                   AND k.relation = cur AND k.pid <> pg_backend_pid();
                RAISE EXCEPTION 'migration "%" could not take its locks in % of % ms',
                        mig, steward._relayout_count(attempt, 'attempt', 'attempts'), s.lock_timeout_ms
                    USING ERRCODE = 'lock_not_available',
                          DETAIL = CASE WHEN cur IS NULL THEN format('Last attempt: %s', SQLERRM)
                                        ELSE format('Last attempt: %s, waiting for %s %s%s.', SQLERRM,
                                                    CASE (SELECT c.relkind FROM pg_class c WHERE c.oid = cur)
                                                         WHEN 'v' THEN 'view' ELSE 'table' END, cur,
                                                    CASE WHEN holders IS NULL THEN ''
                                                         ELSE ', held by pids ' || holders END) END,
                          HINT = CASE WHEN holders IS NOT NULL
                                      THEN format('Sessions %s (pg_stat_activity) use %s without a pause of %s ms; '
                                                  'let them finish, end them, or try again when they are quieter, '
                                                  'or raise steward.migration_lock_retries.',
                                                  pids, cur, s.lock_timeout_ms)
                                      ELSE 'A transaction holds a table of the migration (see pg_stat_activity '
                                           'and pg_locks); let it finish or end it and try again, or raise '
                                           'steward.migration_lock_retries.' END;
            END IF;
        WHEN insufficient_privilege THEN
            -- LOCK TABLE runs as the table's owner, read before it waited:
            -- an OWNER TO committed meanwhile makes its re-check after the
            -- wait fail (mig4).  The next attempt locks as the new owner
            -- (or refuses a caller who no longer owns the table).
            IF cur IS NULL OR attempt >= s.lock_retries
               OR cur_owner IS NOT DISTINCT FROM (SELECT c.relowner FROM pg_class c WHERE c.oid = cur) THEN
                RAISE;
            END IF;
        END;
        PERFORM pg_sleep(backoff * (0.5 + random()));
        backoff := least(backoff * 2, 5.0);
    END LOOP;
END
$$;

-- The migration's record; 42704 if there is none.
CREATE FUNCTION steward._migration_get(mig text)
RETURNS steward.migration_runs
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r steward.migration_runs;
BEGIN
    IF mig IS NULL THEN
        RAISE EXCEPTION 'migration name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT * INTO r FROM steward.migration_runs m WHERE m.name = mig;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'migration "%" does not exist', mig
            USING ERRCODE = 'undefined_object',
                  HINT = 'steward.migrations lists the migrations; steward.migration_forget(table) cleans up '
                         'a table restored without its migration''s record.';
    END IF;
    RETURN r;
END
$$;

-- Record a new migration (_migration_record 'create'): one active
-- migration per table, the unique index deciding races (55006), and a
-- name taken meanwhile (42710).
CREATE FUNCTION steward._migration_create(mig text, data jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    con text;
BEGIN
    PERFORM steward._migration_record('create', mig, data);
EXCEPTION WHEN unique_violation THEN
    GET STACKED DIAGNOSTICS con = CONSTRAINT_NAME;
    IF con = 'migration_runs_pkey' THEN
        RAISE EXCEPTION 'migration "%" already exists', mig
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Migration names are kept in steward.migrations; choose another one.';
    END IF;
    RAISE EXCEPTION 'a table of migration "%" is being changed by another migration', mig
        USING ERRCODE = 'object_in_use',
              HINT = 'Complete and clean up, or roll back, that migration first.';
END
$$;

-- The HINT of _migration_require's refusal of a migration that ended: the
-- step a user can take instead (newcomer44 N2).  Never NULL: PL/pgSQL
-- refuses a NULL RAISE option.
CREATE FUNCTION steward._migration_ended_hint(r steward.migration_runs, action text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT CASE
    WHEN r.status = 'cleaned_up' AND action = 'roll back'
        THEN 'Cleanup dropped the old shape, so there is nothing to roll back to: a new migration (steward.migration_start) can change the table back.'
    WHEN r.status = 'rolled_back'
        THEN format('A rolled-back migration does not resume: start it again under a new name (steward.migrations keeps the old one), such as %L.',
                    r.name || '_2')
    WHEN r.status = 'dropped'
        THEN 'Its tables were dropped; steward.migrations keeps its record.'
    ELSE 'It has ended: steward.migrations shows how.'
END
$$;

-- 55000 unless the migration is active and in one of the phases.  The
-- HINT of a migration that has not reached the phases names every call
-- left, in order (newcomer48 N8: cleanup's "Validate first" was followed
-- by "Complete it first"); complete needs a passed validation, so the
-- steps to it run to dual_written.
CREATE FUNCTION steward._migration_require(r steward.migration_runs, phases text[], action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ladder constant text[] := ARRAY['pending_backfill', 'backfilled', 'dual_written', 'switched'];
    calls constant text[] := ARRAY[format('CALL steward.migration_backfill(%L);', r.name),
                                   format('SELECT * FROM steward.migration_validate(%L);', r.name),
                                   format('SELECT steward.migration_complete(%L);', r.name)];
    here int := array_position(ladder, r.phase);
    target int;
BEGIN
    IF r.status <> 'active' THEN
        RAISE EXCEPTION 'cannot % migration "%": it is %', action, r.name, replace(r.status, '_', ' ')
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = steward._migration_ended_hint(r, action);
    END IF;
    IF NOT r.phase = ANY (phases) THEN
        SELECT min(i) INTO target FROM generate_subscripts(ladder, 1) i
         WHERE i > here AND ladder[i] = ANY (CASE WHEN action = 'complete' THEN ARRAY['dual_written'] ELSE phases END);
        RAISE EXCEPTION 'cannot % migration "%" in phase %', action, r.name, r.phase
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = CASE
                      WHEN target IS NOT NULL
                          THEN 'Run first, in order: ' || array_to_string(calls[here:target - 1], ' ')
                      WHEN r.phase = 'switched'
                          THEN format('It is complete: clean it up with steward.migration_cleanup(%L) or roll it back.', r.name)
                      ELSE format('It is past that step; steward.migrations shows where migration %I is.', r.name) END;
    END IF;
    -- Complete, cleanup and rollback read the tables' catalog with SQL
    -- (grants made meanwhile, which complete copies to the new columns;
    -- publications; dependents of what they drop): under REPEATABLE READ
    -- or SERIALIZABLE in the transaction's snapshot, which misses what
    -- committed since, as start's plan would (review13 R13-5: a column
    -- grant made after the snapshot was lost at the switch).  Refused as
    -- start is.  (Checked last: the lines above keep their numbers.)
    IF action IN ('complete', 'clean up', 'roll back')
       AND current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION 'cannot % migration "%" in a % transaction', action, r.name,
                upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'invalid_transaction_state',
                  DETAIL = 'It reads the tables'' definitions and grants in the transaction''s snapshot, which does not see what committed since.',
                  HINT = 'Run it on its own (autocommit) or in a READ COMMITTED transaction.';
    END IF;
END
$$;

--------------------------------------------------------------------------
-- migration_start
--------------------------------------------------------------------------

-- The shape of a table a migration produces ('old' or 'new'): columns in
-- view order with their canonical types, from the table and the column
-- rows of the migration (given as jsonb, before they are recorded).
CREATE FUNCTION steward._migration_shape(tbl regclass, cols jsonb, shape text,
                                         OUT names text[], OUT types text[],
                                         OUT sources text[])
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a record;
    c jsonb;
    added text[];
BEGIN
    names := '{}'; types := '{}'; sources := '{}';
    -- Columns the migration adds to the table: never part of the old
    -- shape; in the new shape, a changed column's new column takes the old
    -- one's place and added columns come last.
    SELECT coalesce(array_agg(x->>'expand_new'), '{}') INTO added
      FROM jsonb_array_elements(cols) x WHERE x->>'kind' IN ('pair', 'added');
    FOR a IN SELECT attname::text AS attname, format_type(atttypid, atttypmod) AS typ
               FROM pg_attribute
              WHERE attrelid = tbl AND attnum > 0 AND NOT attisdropped
                AND attname <> '_steward_side'
              ORDER BY attnum LOOP
        CONTINUE WHEN a.attname = ANY (added);
        c := NULL;
        IF shape = 'new' THEN
            SELECT x INTO c FROM jsonb_array_elements(cols) x
             WHERE x->>'kind' IN ('renamed', 'pair', 'dropped') AND x->>'old_name' = a.attname;
            CONTINUE WHEN c->>'kind' = 'dropped';
        END IF;
        IF c->>'kind' = 'pair' THEN
            names := names || (c->>'new_name');
            types := types || (c->>'new_type');
            sources := sources || (c->>'expand_new');
        ELSE
            names := names || coalesce(c->>'new_name', a.attname);
            types := types || a.typ;
            sources := sources || a.attname;
        END IF;
    END LOOP;
    IF shape = 'new' THEN
        FOR c IN SELECT x FROM jsonb_array_elements(cols) x WHERE x->>'kind' = 'added' LOOP
            names := names || (c->>'new_name');
            types := types || (c->>'new_type');
            sources := sources || (c->>'expand_new');
        END LOOP;
    END IF;
END
$$;

-- A relation named by a user, resolved with the caller's search_path
-- (user_path) as the name would be in the caller's own SQL; NULL when there
-- is none.  The function's own search_path is back on return.
CREATE FUNCTION steward._migration_regclass(relname text, user_path text)
RETURNS regclass
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass;
BEGIN
    -- Qualified: under the user's path an unqualified call would find a
    -- function of that name in a schema listed before pg_catalog.
    PERFORM pg_catalog.set_config('search_path', user_path, true);
    rel := pg_catalog.to_regclass(relname);
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    RETURN rel;
END
$$;

-- The primary key of rel as the migration catalogs record it: key_columns
-- (names, in key order) and key_types (format_type of each), as a jsonb
-- object to merge into a steward.migration_tables row.
CREATE FUNCTION steward._migration_key_of(rel regclass)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT jsonb_build_object(
    'key_columns', (SELECT array_agg(a.attname ORDER BY k.ord)
                      FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord), pg_attribute a
                     WHERE i.indrelid = rel AND i.indisprimary AND a.attrelid = rel AND a.attnum = k.attnum),
    'key_types', (SELECT array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord)
                    FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord), pg_attribute a
                   WHERE i.indrelid = rel AND i.indisprimary AND a.attrelid = rel AND a.attnum = k.attnum))
$$;

-- The COLLATE clause of a changed column's new column (kind 'pair'): the
-- old column's collation when the new type is collatable and that is not
-- the type's default, which ADD COLUMN would give (quote2: a column of
-- "C", or of a case-insensitive collation with its unique key, sorted and
-- compared otherwise after the switch, the key letting in 'A' beside
-- 'a').  The step changes what it names, not the collation.  '' when
-- there is nothing to keep.
CREATE FUNCTION steward._migration_collate_clause(rel regclass, c steward.migration_columns)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT coalesce((SELECT format(' COLLATE %s', a.attcollation::regcollation)
                   FROM pg_attribute a, pg_type ty
                  WHERE c.kind = 'pair' AND a.attrelid = rel AND a.attname = c.expand_old
                    AND NOT a.attisdropped AND ty.oid = pg_catalog.to_regtype(c.new_type)
                    AND ty.typcollation <> 0 AND a.attcollation NOT IN (0, ty.typcollation)), '')
$$;

-- The checks migration_start makes before it reads any step: a name that
-- fits its two schemas ("<name>", "<name>_old") and is not taken, and a
-- non-empty array of steps.  Raises 22004, 22023, 42710, 42P06 or 42939.
CREATE FUNCTION steward._migration_check_start(mig text, steps jsonb)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF mig IS NULL OR steps IS NULL THEN
        RAISE EXCEPTION 'migration name and steps must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF mig = '' THEN
        RAISE EXCEPTION 'migration name must be 1 to 59 bytes long'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'It names the migration''s schemas, "<name>" and "<name>_old".';
    END IF;
    -- 42622 as PostgreSQL refuses a name it would cut: "<name>_old" must
    -- fit in 63 bytes.
    IF octet_length(mig) > 59 THEN
        RAISE EXCEPTION 'migration name "%" is longer than 59 bytes', mig
            USING ERRCODE = 'name_too_long',
                  DETAIL = 'It names the migration''s schemas, "<name>" and "<name>_old", which PostgreSQL limits to 63 bytes.',
                  HINT = 'Give a shorter one.';
    END IF;
    IF EXISTS (SELECT 1 FROM steward.migration_runs r WHERE r.name = mig) THEN
        RAISE EXCEPTION 'migration "%" already exists', mig
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Migration names are kept in steward.migrations; choose another one.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname IN (mig, mig || '_old')) THEN
        RAISE EXCEPTION 'schema "%" already exists', (SELECT nspname FROM pg_namespace
                                                       WHERE nspname IN (mig, mig || '_old') LIMIT 1)
            USING ERRCODE = 'duplicate_schema',
                  DETAIL = 'A migration creates the schemas "<name>" (new shape) and "<name>_old" (old shape).';
    END IF;
    IF jsonb_typeof(steps) <> 'array' OR jsonb_array_length(steps) = 0 THEN
        RAISE EXCEPTION 'steps must be a non-empty JSON array'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'For example: [{"add_column": {"table": "orders", "column": "note", "type": "text"}}]';
    END IF;
    -- A column migration's schemas take its name, and CREATE SCHEMA
    -- refuses the prefix pg_ (42939) only once start has locked the tables
    -- and added the columns, with no next step (newcomer45 N7).  A
    -- relayout and the index steps create no schema: their names may.
    IF starts_with(mig, 'pg_') AND EXISTS (
           SELECT 1 FROM jsonb_array_elements(steps) s
            WHERE jsonb_typeof(s) = 'object'
              AND s ?| ARRAY['add_column', 'alter_column', 'drop_column', 'rename_table']) THEN
        RAISE EXCEPTION 'migration name "%" starts with "pg_"', mig
            USING ERRCODE = 'reserved_name',
                  DETAIL = 'A column migration creates the schemas "<name>" and "<name>_old", and PostgreSQL reserves the prefix "pg_" for system schemas.',
                  HINT = 'Choose a name that does not start with "pg_".';
    END IF;
END
$$;

-- The constraints of column col (colnum) of rel that an alter_column step
-- writing a new column carries over to it when the step does not give
-- its own, as keys to add to the step (body): "check", the column's one
-- CHECK over it alone (and'ed with the step's "check", if any; not when the
-- column is renamed: the text names it), "references", its one simple
-- foreign key (one column, MATCH SIMPLE, ON UPDATE NO ACTION, not
-- deferrable), "unique", its one single-column UNIQUE constraint (not
-- deferrable, nulls distinct).  The new column's constraints are added NOT
-- VALID and validated like the step's own; what cannot be carried is
-- refused by _migration_column_kept.
CREATE FUNCTION steward._migration_column_carried(rel regclass, col text, colnum smallint,
                                                  newname text, body jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    carried jsonb := '{}';
    k record;
BEGIN
    IF newname = col AND (SELECT count(*) FROM pg_constraint y
                           WHERE y.conrelid = rel AND y.contype = 'c' AND colnum = ANY (y.conkey)) = 1 THEN
        SELECT x.conname, pg_get_expr(x.conbin, x.conrelid) AS expr INTO k
          FROM pg_constraint x
         WHERE x.conrelid = rel AND x.contype = 'c' AND x.conkey = ARRAY[colnum];
        IF k.expr IS NOT NULL THEN
            carried := jsonb_build_object('carried_check', k.conname, 'check',
                CASE WHEN body ? 'check' THEN format('%s AND (%s)', k.expr, body->>'check') ELSE k.expr END);
        END IF;
    END IF;
    IF NOT body ? 'references' AND (SELECT count(*) FROM pg_constraint y
                                     WHERE y.conrelid = rel AND y.contype = 'f' AND colnum = ANY (y.conkey)) = 1 THEN
        SELECT x.confrelid::regclass::text AS tbl, a.attname::text AS refcol,
               CASE x.confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
                                  WHEN 'n' THEN 'set null' ELSE 'set default' END AS on_delete
          INTO k
          FROM pg_constraint x JOIN pg_attribute a ON a.attrelid = x.confrelid AND a.attnum = x.confkey[1]
         WHERE x.conrelid = rel AND x.contype = 'f' AND x.conkey = ARRAY[colnum]
           AND x.confupdtype = 'a' AND x.confmatchtype = 's' AND NOT x.condeferrable
           AND x.confdelsetcols IS NULL;
        IF k.tbl IS NOT NULL THEN
            carried := carried || jsonb_build_object('references', jsonb_build_object(
                'table', k.tbl, 'column', k.refcol, 'on_delete', k.on_delete));
        END IF;
    END IF;
    IF NOT body ? 'unique'
       AND (SELECT count(*) FROM pg_constraint y
             WHERE y.conrelid = rel AND y.contype IN ('u', 'x') AND colnum = ANY (y.conkey)) = 1
       AND EXISTS (SELECT 1 FROM pg_constraint x JOIN pg_index i ON i.indexrelid = x.conindid
                    WHERE x.conrelid = rel AND x.contype = 'u' AND x.conkey = ARRAY[colnum]
                      AND NOT x.condeferrable AND NOT i.indnullsnotdistinct) THEN
        carried := carried || '{"unique": true}';
    END IF;
    RETURN carried;
END
$$;

-- The checks of an alter_column step that writes a new column for column
-- col (attnum) of rel: cleanup drops the old column and whatever depends
-- on it, so a key other tables reference cannot move and a sequence it
-- owns would go (2BP01), and the column's own check, foreign key, unique
-- and exclusion constraints and unique indexes must be given to the new
-- column by the step (body: the user's "check", "references", "unique",
-- including "unique": false, and what _migration_column_carried carries)
-- or dropped first by the owner (2BP01 naming them): never dropped
-- silently.  Other indexes on the column: a NOTICE each, with the
-- concurrent build that keeps them.
CREATE FUNCTION steward._migration_column_kept(rel regclass, col text, attnum smallint, kind text,
                                               body jsonb, what text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lost text;
    lost_kinds text;
BEGIN
    SELECT string_agg(format('foreign key %I of %s', k.conname, k.conrelid::regclass), ', '
                      ORDER BY k.conname)
      INTO lost
      FROM pg_constraint k
     WHERE k.contype = 'f' AND k.confrelid = rel AND attnum = ANY (k.confkey);
    IF lost IS NOT NULL THEN
        RAISE EXCEPTION 'cannot % column "%" of relation "%": it is referenced by %',
                replace(kind, '_column', ''), col, steward._relation_name(rel), lost
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'The migration writes a new column and drops the old one at cleanup; it does not move a referenced key.',
                  HINT = 'Drop those foreign keys first and add them to the new column after the switch, or change the column with ALTER TABLE.';
    END IF;
    SELECT string_agg(d.objid::regclass::text, ', ' ORDER BY d.objid) INTO lost
      FROM pg_depend d JOIN pg_class q ON q.oid = d.objid AND q.relkind = 'S'
     WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
       AND d.refobjid = rel AND d.refobjsubid = attnum AND d.deptype = 'a';
    IF lost IS NOT NULL THEN
        RAISE EXCEPTION 'cannot % column "%" of relation "%": it owns sequence %',
                replace(kind, '_column', ''), col, steward._relation_name(rel), lost
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'The migration drops the old column at cleanup, and with it the sequences it owns.',
                  HINT = 'Detach it first (ALTER SEQUENCE ... OWNED BY NONE) and attach it to the new column after the switch.';
    END IF;
    SELECT string_agg(x.what, ', ' ORDER BY x.what),
           string_agg(DISTINCT x.drop_with, ' or ' ORDER BY x.drop_with) INTO lost, lost_kinds
      FROM (SELECT format('%s constraint %I',
                          CASE k.contype WHEN 'c' THEN 'check' WHEN 'f' THEN 'foreign key'
                                         WHEN 'u' THEN 'unique' ELSE 'exclusion' END, k.conname) AS what,
                   'ALTER TABLE ... DROP CONSTRAINT' AS drop_with
              FROM pg_constraint k
             WHERE k.conrelid = rel AND k.contype IN ('c', 'f', 'u', 'x')
               AND attnum = ANY (k.conkey)
               AND NOT (k.contype = 'c' AND body ? 'check')
               AND NOT (k.contype = 'f' AND body ? 'references')
               AND NOT (k.contype IN ('u', 'x') AND body ? 'unique')
            UNION ALL
            SELECT format('unique index %I', ic.relname), 'DROP INDEX'
              FROM pg_depend d
              JOIN pg_index i ON i.indexrelid = d.objid
              JOIN pg_class ic ON ic.oid = i.indexrelid
             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = rel AND d.refobjsubid = attnum
               AND i.indisunique AND NOT body ? 'unique'
               AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                                                              AND k.conrelid = rel)) x;
    IF lost IS NOT NULL THEN
        RAISE EXCEPTION '% would drop the % of column "%" of relation "%" at cleanup', what, lost, col, steward._relation_name(rel)
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'The new column gets the constraints its step names, the column''s one CHECK over it alone, its one simple foreign key and its one single-column UNIQUE constraint; the old column goes at cleanup with the others.',
                  HINT = format('Name them in the step ("check", "references", "unique", over the new shape), or drop them first (%s) if the new column should not have them.', lost_kinds);
    END IF;
    -- The step's key compares with the new column's collation, the old
    -- column's (_migration_collate_clause): a unique index of the column
    -- under another collation took other values for equal when one of the
    -- two is nondeterministic (case- or accent-insensitive), and the key
    -- would let in rows it refused, or refuse rows it holds.
    SELECT string_agg(format('unique index %I compares it with collation %s, the column with %s',
                             ic.relname, k.oid::regcollation, ac.oid::regcollation), '; ' ORDER BY ic.relname)
      INTO lost
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid,
           unnest(i.indkey::int2[], i.indcollation::oid[]) u(n, coll)
      JOIN pg_collation k ON k.oid = u.coll
      JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = u.n
      JOIN pg_collation ac ON ac.oid = a.attcollation
     WHERE i.indrelid = rel AND i.indisunique AND a.attname = col AND body ? 'unique'
       AND u.coll <> a.attcollation AND NOT (k.collisdeterministic AND ac.collisdeterministic);
    IF lost IS NOT NULL THEN
        RAISE EXCEPTION '% would make the key of column "%" of relation "%" compare values otherwise: %',
                what, col, steward._relation_name(rel), lost
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The new column keeps the column''s collation, and its key compares with it; a nondeterministic collation takes values for equal that another does not.',
                  HINT = 'Make the unique index over the column''s own collation first (CREATE UNIQUE INDEX CONCURRENTLY, then DROP INDEX CONCURRENTLY of the old one), or give the column that collation (ALTER TABLE ... ALTER COLUMN ... TYPE ... COLLATE).';
    END IF;
    -- Other indexes are not copied (a plain build would block writes):
    -- the owner can build them on the new column concurrently meanwhile.
    FOR lost IN SELECT ic.relname
                  FROM pg_depend d
                  JOIN pg_index i ON i.indexrelid = d.objid
                  JOIN pg_class ic ON ic.oid = i.indexrelid
                 WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                   AND d.refobjid = rel AND d.refobjsubid = attnum AND NOT i.indisunique
                 ORDER BY ic.relname LOOP
        PERFORM steward._report('notice',
                format('index "%s" on column "%s" of relation "%s" is not copied to the new column: cleanup drops it', lost, col, steward._relation_name(rel)),
                hint => format('Build it over the new column %I of %s with CREATE INDEX CONCURRENTLY before complete (it follows the column through the switch).',
                                CASE WHEN coalesce(body->>'name', col) <> col THEN body->>'name'
                                          ELSE left('_steward_new_' || col, 63) END, rel));
    END LOOP;
END
$$;

-- What uses column col of rel other than its constraints and indexes
-- (review8 #26): views, generated columns, triggers (WHEN, UPDATE OF),
-- policies, ... bound to the column itself, not to its name.  NULL if
-- nothing does.
CREATE FUNCTION steward._migration_column_users(rel regclass, col text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(x.obj, ', ' ORDER BY x.obj)
      FROM (SELECT DISTINCT
                   CASE WHEN d.classid = 'pg_attrdef'::regclass
                        THEN format('generated column %I of %s', g.attname, rel)
                        WHEN d.classid = 'pg_rewrite'::regclass
                        THEN format('%s %s', CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
                                    v.oid::regclass)
                        ELSE pg_describe_object(d.classid, d.objid, d.objsubid) END AS obj
              FROM pg_attribute a
              JOIN pg_depend d ON d.refclassid = 'pg_class'::regclass AND d.refobjid = rel
                              AND d.refobjsubid = a.attnum AND d.deptype = 'n'
              LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid
              LEFT JOIN pg_attribute g ON g.attrelid = rel AND g.attnum = ad.adnum
              LEFT JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid
              LEFT JOIN pg_class v ON v.oid = rw.ev_class
             WHERE a.attrelid = rel AND a.attname = col AND NOT a.attisdropped
               AND d.classid <> 'pg_constraint'::regclass) x
$$;

-- Refuses (2BP01) the cleanup or rollback (action: 'clean up', 'roll
-- back') of migration mig that would drop extended statistics the DDL
-- guard refuses to make (steward_migration_judge_column_user): those on
-- relation rel over one of columns cols (a new column at a rollback,
-- _steward_side), or on one of relations parts (the partitions of a
-- relayout's new layout at a rollback).  Such a statistics object was made
-- around the guard (by a superuser with its event trigger disabled, or
-- with session_replication_role = replica), and the drop would take it
-- without a word (an AUTO dependency, closing38 item 5).  Statistics over
-- an old column at cleanup are not judged: those made before start are
-- named by start's NOTICE as what cleanup drops, and one made around the
-- guard since cannot be told from them.
CREATE FUNCTION steward._migration_check_statistics(mig text, action text, rel regclass, cols text[],
                                                    parts regclass[])
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stats text;
BEGIN
    SELECT string_agg(format('%I.%I on %s', n.nspname, x.stxname, x.stxrelid::regclass), ', '
                      ORDER BY n.nspname, x.stxname) INTO stats
      FROM pg_statistic_ext x JOIN pg_namespace n ON n.oid = x.stxnamespace
     WHERE x.stxrelid = ANY (parts)
        OR (x.stxrelid = rel
            AND EXISTS (SELECT 1 FROM pg_depend d JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = d.refobjsubid
                         WHERE d.classid = 'pg_statistic_ext'::regclass AND d.objid = x.oid
                           AND d.refclassid = 'pg_class'::regclass AND d.refobjid = rel
                           AND a.attname = ANY (cols)));
    IF stats IS NOT NULL THEN
        RAISE EXCEPTION 'cannot % migration "%": extended statistics it would drop were made around its guard: %',
                action, mig, stats
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = format('The %s drops %s, and these statistics with it without a word; the migration''s guard refuses to make them there.',
                                  CASE WHEN action = 'clean up' THEN 'cleanup' ELSE 'rollback' END,
                                  CASE WHEN cardinality(parts) > 0 THEN 'the new layout''s partitions'
                                       ELSE 'the columns they use' END),
                  HINT = format('Have their owners drop them (DROP STATISTICS ...) and make them again over what stays after the %s, then run SELECT steward.migration_%s(%L); again.',
                                CASE WHEN action = 'clean up' THEN 'cleanup' ELSE 'rollback' END,
                                CASE WHEN action = 'clean up' THEN 'cleanup' ELSE 'rollback' END, mig);
    END IF;
END
$$;

-- Raises what _migration_column_users finds on column col of rel, which
-- the migration drops (at cleanup, or at a rollback for a new column):
-- those objects would keep it from being dropped but by CASCADE, which
-- drops them too.  2BP01 at start (when_ = 'start', later = the name the
-- column has after complete) and before the drop ('cleanup', 'rollback':
-- made since).  At start, a NOTICE names each extended statistics object
-- over the column, which cleanup drops with it.
CREATE FUNCTION steward._migration_check_column_users(rel regclass, col text, later text, when_ text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    users text := steward._migration_column_users(rel, col);
    stat text;
    fks text;
BEGIN
    -- Foreign keys referencing the column (its unique index stays until
    -- the drop): a drop_column's at start; at cleanup or a rollback, one
    -- made since around the guard, or to the new column a rollback drops.
    SELECT string_agg(format('foreign key %I of %s', k.conname, k.conrelid::regclass), ', '
                      ORDER BY k.conname)
      INTO fks
      FROM pg_constraint k JOIN pg_attribute a ON a.attrelid = rel AND a.attname = col
     WHERE k.contype = 'f' AND k.confrelid = rel AND a.attnum = ANY (k.confkey);
    IF fks IS NOT NULL THEN
        RAISE EXCEPTION 'column "%" of relation "%", which the migration drops at %, is referenced by %',
                col, steward._relation_name(rel), CASE WHEN when_ = 'rollback' THEN 'rollback' ELSE 'cleanup' END, fks
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = CASE WHEN when_ = 'start'
                                THEN 'The migration drops the column at cleanup; it does not move a referenced key.'
                                ELSE 'Its drop would need CASCADE, which drops them too.' END,
                  HINT = CASE WHEN when_ = 'start'
                              THEN 'Drop those foreign keys first, or keep the column.'
                              ELSE 'Drop those foreign keys (make them again over a column that stays), then run it again.' END;
    END IF;
    -- A sequence owned by the column (an OWNED BY made around the guard,
    -- which refuses one): its drop would take it without a word, its
    -- position lost (closing37 item 4).  At start, refused by the step's
    -- checks already.
    SELECT string_agg(d.objid::regclass::text, ', ' ORDER BY d.objid::regclass::text) INTO stat
      FROM pg_depend d JOIN pg_class q ON q.oid = d.objid AND q.relkind = 'S'
      JOIN pg_attribute a ON a.attrelid = rel AND a.attname = col
     WHERE when_ <> 'start' AND d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
       AND d.refobjid = rel AND d.refobjsubid = a.attnum AND d.deptype = 'a';
    IF stat IS NOT NULL THEN
        RAISE EXCEPTION 'column "%" of relation "%", which the migration drops at %, owns sequence %',
                col, steward._relation_name(rel), when_, stat
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'Its drop would take the sequence with it, its position lost.',
                  HINT = 'Make it owned by none (ALTER SEQUENCE ... OWNED BY NONE) or by a column that stays, then run it again.';
    END IF;
    -- Extended statistics over the column go with it (as its indexes).
    FOR stat IN SELECT DISTINCT pg_describe_object(d.classid, d.objid, 0)
                  FROM pg_depend d JOIN pg_attribute a ON a.attrelid = rel AND a.attname = col
                 WHERE when_ = 'start' AND d.classid = 'pg_statistic_ext'::regclass
                   AND d.refclassid = 'pg_class'::regclass AND d.refobjid = rel
                   AND d.refobjsubid = a.attnum ORDER BY 1 LOOP
        PERFORM steward._report('notice',
                format('%s on column "%s" of relation "%s" is not copied to the new shape: cleanup drops it', stat, col, steward._relation_name(rel)),
                hint => 'Create it again over the new shape''s columns after complete (CREATE STATISTICS).');
    END LOOP;
    IF users IS NULL THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'objects use column "%" of relation "%", which the migration drops at %: %',
            col, steward._relation_name(rel), CASE WHEN when_ = 'rollback' THEN 'rollback' ELSE 'cleanup' END, users
        USING ERRCODE = 'dependent_objects_still_exist',
              DETAIL = CASE WHEN when_ = 'start'
                            THEN format('They are bound to the column, not to its name: after complete they would use %I, and its drop would need CASCADE, which drops them too.', later)
                            ELSE 'Its drop would need CASCADE, which drops them too.' END,
              HINT = CASE WHEN when_ = 'start'
                          THEN 'Drop them for the migration and create them again over the new shape after complete (ALTER TABLE ... ALTER COLUMN ... DROP EXPRESSION keeps a generated column''s values as a plain column).'
                          ELSE 'Drop them (or redefine them without the column) first.' END;
END
$$;

-- An alter_column step that changes nothing but passes the first check
-- (review8 #11): a rename to the column's own name (it would fail only at
-- complete), or the column's own type and nothing else.  Raises 22023.
CREATE FUNCTION steward._migration_check_noop(rel regclass, col text, newname text, old_type text,
                                              new_type text, body jsonb, what text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF newname <> col OR body ?| ARRAY['not_null', 'check', 'references', 'unique', 'default', 'up', 'down'] THEN
        RETURN;
    END IF;
    IF NOT body ? 'type' THEN
        RAISE EXCEPTION '% changes nothing', what
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Column "%s" of relation "%s" already has that name.', col, steward._relation_name(rel)),
                  HINT = 'Give the column another name, or leave the step out.';
    ELSIF new_type = old_type THEN
        RAISE EXCEPTION '% changes nothing', what
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Column "%s" of relation "%s" is of type %s already.', col, steward._relation_name(rel), new_type),
                  HINT = 'Give another type, or leave the step out.';
    END IF;
END
$$;

-- One column step (add_column, alter_column, drop_column) as its shape:
-- the kind of object {'step', 'kind', ...} pass 1 of _migration_start
-- collects: 'added', 'dropped', 'pair' (a new column beside the old one,
-- values copied both ways) or 'renamed'.  Refuses steps on columns that
-- cannot be migrated (22023, 42701, 42703, 42939, 0A000); NOT NULL,
-- defaults and the user's expressions are analysed later, in pass 2.
CREATE FUNCTION steward._migration_column_step(rel regclass, kind text, body jsonb,
                                               stepno integer, what text, user_path text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col text := body->>'column';
    att record;
    newname text;
    typ text;
    carried jsonb;
BEGIN
    IF starts_with(col, '_steward_') THEN
        RAISE EXCEPTION 'column names starting with "_steward_" are reserved (%)', what
            USING ERRCODE = 'reserved_name';
    END IF;
    SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS typ, a.attnotnull,
           a.atthasdef, pg_get_expr(d.adbin, d.adrelid) AS def, a.attidentity, a.attgenerated,
           EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = rel AND i.indisprimary
                                              AND a.attnum = ANY (i.indkey)) AS in_pk,
           EXISTS (SELECT 1 FROM steward.column_rules cr
                    WHERE cr.relid = rel AND cr.attname = a.attname) AS ruled
      INTO att
      FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = rel AND a.attname = col AND a.attnum > 0 AND NOT a.attisdropped;

    IF kind = 'add_column' THEN
        IF att.attnum IS NOT NULL THEN
            RAISE EXCEPTION 'column "%" of relation "%" already exists (%)', col, steward._relation_name(rel), what
                USING ERRCODE = 'duplicate_column';
        END IF;
        typ := steward._migration_type(body->>'type', user_path);
        RETURN jsonb_build_object('kind', 'added', 'step', stepno, 'new_name', col,
                                  'expand_new', col, 'switched_new', col, 'new_type', typ);
    END IF;
    IF att.attnum IS NULL THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist (%)', col, steward._relation_name(rel), what
            USING ERRCODE = 'undefined_column';
    END IF;
    IF att.in_pk OR att.attidentity <> '' OR att.attgenerated <> '' THEN
        RAISE EXCEPTION 'cannot % column "%" of relation "%": it is %', replace(kind, '_column', ''),
                col, steward._relation_name(rel), CASE WHEN att.in_pk THEN 'part of the primary key'
                               WHEN att.attidentity <> '' THEN 'an identity column'
                               ELSE 'a generated column' END
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Migrations backfill by primary key and copy values between columns.';
    END IF;
    IF kind = 'drop_column' THEN
        IF att.attnotnull AND NOT att.atthasdef AND NOT body ? 'down' THEN
            RAISE EXCEPTION 'column "%" of relation "%" is NOT NULL without a default: % needs "down"',
                    col, steward._relation_name(rel), what
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Rows written in the new shape do not have the column; down gives it a value.';
        END IF;
        PERFORM steward._migration_check_column_users(rel, col, left('_steward_old_' || col, 63), 'start');
        RETURN jsonb_build_object('kind', 'dropped', 'step', stepno, 'old_name', col,
                                  'expand_old', col, 'old_type', att.typ,
                                  'switched_old', left('_steward_old_' || col, 63));
    END IF;
    IF NOT (body ?| ARRAY['name', 'type', 'not_null', 'check', 'references', 'unique', 'default']) THEN
        RAISE EXCEPTION '% changes nothing', what
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'alter_column takes name, type (with up and down), not_null, check, references, unique, default.';
    END IF;
    newname := coalesce(body->>'name', col);
    typ := CASE WHEN body ? 'type' THEN steward._migration_type(body->>'type', user_path)
                ELSE att.typ END;
    PERFORM steward._migration_check_noop(rel, col, newname, att.typ, typ, body, what);
    IF newname <> col AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = rel
                                     AND a.attname = newname AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation "%" already exists (%)', newname, steward._relation_name(rel), what
            USING ERRCODE = 'duplicate_column';
    END IF;
    IF NOT (body ?| ARRAY['type', 'not_null', 'check', 'references', 'unique', 'default', 'up', 'down']) THEN
        RETURN jsonb_build_object('kind', 'renamed', 'step', stepno, 'old_name', col,
                                  'new_name', newname, 'expand_old', col, 'expand_new', col,
                                  'switched_old', newname, 'switched_new', newname,
                                  'old_type', att.typ, 'new_type', att.typ);
    END IF;
    IF att.ruled AND body ? 'type' THEN
        RAISE EXCEPTION 'cannot change the type of column "%" of relation "%": pg_steward enforces a rule on it',
                col, steward._relation_name(rel)
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Remove the rule first (steward.untrack or steward.detach_state_machine).';
    END IF;
    carried := steward._migration_column_carried(rel, col, att.attnum, newname, body);
    PERFORM steward._migration_column_kept(rel, col, att.attnum, kind, body || carried, what);
    PERFORM steward._migration_check_column_users(rel, col, left('_steward_old_' || col, 63), 'start');
    RETURN jsonb_build_object(
        'kind', 'pair', 'step', stepno, 'old_name', col, 'new_name', newname,
        'expand_old', col,
        'expand_new', CASE WHEN newname <> col THEN newname
                           ELSE left('_steward_new_' || col, 63) END,
        'switched_old', left('_steward_old_' || col, 63), 'switched_new', newname,
        'old_type', att.typ, 'new_type', typ, 'old_default', att.def,
        'old_not_null', att.attnotnull,
        'default_sql', CASE WHEN NOT body ? 'type' AND NOT body ? 'default'
                            THEN att.def END,
        'carried', carried);
END
$$;

-- The longest prefix of s, in whole characters, that fits in the given
-- number of bytes: PostgreSQL cuts a longer name itself, at 63 bytes, so
-- a name cut by characters (left(s, 63)) could still be cut, into another
-- name than the one checked (relayout50).
CREATE FUNCTION steward._migration_name_prefix(s text, bytes int)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN octet_length(s) <= bytes THEN s
                ELSE (SELECT left(s, n) FROM generate_series(length(s) - 1, 0, -1) n
                       WHERE octet_length(left(s, n)) <= bytes ORDER BY n DESC LIMIT 1) END
$$;

-- The name of a constraint or index the migration gives a new column (or
-- the index a relayout's HINT builds): base (cut to 63 bytes, at a
-- character's end), or base followed by the first number that makes
-- it free, when the table has a constraint or its schema a relation of
-- that name (the old column's own, when the column keeps its name).
CREATE FUNCTION steward._migration_free_name(rel regclass, base text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    -- The base cut for each width of the number (0: none), once each.
    WITH cut AS MATERIALIZED (SELECT d, steward._migration_name_prefix(base, 63 - d) AS pre FROM generate_series(0, 5) d)
    SELECT x.n
      FROM generate_series(0, 10000) i
      JOIN cut ON cut.d = CASE WHEN i = 0 THEN 0 ELSE length(i::text) END,
           LATERAL (SELECT cut.pre || CASE WHEN i = 0 THEN '' ELSE i::text END AS n) x
     WHERE NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = rel AND k.conname = x.n)
       AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = x.n
                          AND c.relnamespace = (SELECT r.relnamespace FROM pg_class r WHERE r.oid = rel))
     ORDER BY i LIMIT 1
$$;

-- Refuses (55006) a step's "references" (what) to column col of refrel
-- that another active migration of refrel drops at its cleanup (the old
-- column of an alter_column that writes a new one, a drop_column's) or at
-- a rollback (its new column), as the guard refuses ALTER TABLE ... ADD
-- FOREIGN KEY (relayout.c guard_references_dropped): the key, made by
-- start's own DDL, which the guard lets pass, bound that cleanup to fail
-- on it (2BP01, until the user dropped the key) and left the new
-- application's column checked against a column on its way out (mig14 M6).
CREATE FUNCTION steward._migration_refuse_moving_reference(refrel regclass, col text, what text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    busy text;
    gone boolean;
    newcol text;
BEGIN
    SELECT t.migration, c.kind IN ('pair', 'dropped') AND col = x.old_col, c.new_name
      INTO busy, gone, newcol
      FROM steward.migration_tables t
      JOIN steward.migration_runs r ON r.name = t.migration
      JOIN steward.migration_columns c ON c.migration = t.migration AND c.relid = t.relid,
           LATERAL (SELECT CASE WHEN r.phase = 'switched' THEN c.switched_old ELSE c.expand_old END,
                           CASE WHEN r.phase = 'switched' THEN c.switched_new ELSE c.expand_new END) x (old_col, new_col)
     WHERE t.relid = refrel AND t.active AND r.status = 'active'
       AND ((c.kind IN ('pair', 'dropped') AND col = x.old_col)
            OR (c.kind IN ('pair', 'added') AND col = x.new_col))
     ORDER BY c.ord LIMIT 1;
    IF busy IS NULL THEN
        RETURN;
    END IF;
    RAISE EXCEPTION '% references column "%" of relation "%", which migration "%" changes',
            what, col, steward._relation_name(refrel), busy
        USING ERRCODE = 'object_in_use',
              DETAIL = CASE WHEN gone
                            THEN 'That migration''s cleanup drops the column with its unique index, and could not with a foreign key referencing it.'
                            ELSE 'The column is that migration''s new one until its cleanup: a rollback drops it, and could not with a foreign key referencing it.' END,
              HINT = CASE WHEN gone AND newcol IS NOT NULL
                          THEN format('Complete and clean up migration %L first, then reference its new column "%s".', busy, newcol)
                          ELSE format('Complete and clean up migration %L first, or roll it back.', busy) END;
END
$$;

-- The "references" of a column step as the foreign key the migration adds
-- (NOT VALID, validated by migration_validate): {'fk_table', 'fk_column',
-- 'fk_on_delete', 'fk_name'}.  ref is a table name or {"table", "column",
-- "on_delete"}; the column defaults to the referenced table's one-column
-- primary key.  Raises 22023, 42P01 or 42703.
CREATE FUNCTION steward._migration_references(rel regclass, col text, ref jsonb, what text,
                                              user_path text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    refrel regclass;
    other text;
BEGIN
    IF jsonb_typeof(ref) = 'string' THEN
        ref := jsonb_build_object('table', ref);
    END IF;
    IF jsonb_typeof(ref) <> 'object' OR NOT ref ? 'table'
       OR EXISTS (SELECT 1 FROM jsonb_object_keys(ref) x
                   WHERE x NOT IN ('table', 'column', 'on_delete')) THEN
        RAISE EXCEPTION '"references" of % must be a table name or {"table", "column", "on_delete"}', what
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    refrel := steward._migration_regclass(ref->>'table', user_path);
    IF refrel IS NULL THEN
        PERFORM steward._require_relation_schema(ref->>'table', what);
        RAISE EXCEPTION 'referenced relation "%" does not exist (%)',
                steward._relation_name_typed(ref->>'table'), what
            USING ERRCODE = 'undefined_table';
    END IF;
    other := coalesce(ref->>'column',
                      (SELECT a.attname FROM pg_index i
                         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                        WHERE i.indrelid = refrel AND i.indisprimary AND i.indnkeyatts = 1));
    IF other IS NULL OR NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = refrel
                                       AND a.attname = other AND a.attnum > 0
                                       AND NOT a.attisdropped) THEN
        RAISE EXCEPTION 'referenced column of % not found in relation "%"', what, steward._relation_name(refrel)
            USING ERRCODE = 'undefined_column',
                  HINT = 'Name it with "column", or reference a table with a one-column primary key.';
    END IF;
    PERFORM steward._migration_refuse_moving_reference(refrel, other, what);
    IF lower(coalesce(ref->>'on_delete', 'no action')) NOT IN
            ('no action', 'restrict', 'cascade', 'set null', 'set default') THEN
        RAISE EXCEPTION '"on_delete" of % must be no action, restrict, cascade, set null or set default', what
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN jsonb_build_object('fk_table', refrel::oid, 'fk_column', other,
                              'fk_on_delete', upper(coalesce(ref->>'on_delete', 'no action')),
                              'fk_name', steward._migration_free_name(rel, format('%s_%s_fkey', (SELECT x.relname FROM pg_class x WHERE x.oid = rel), col)));
END
$$;

-- The "unique" of a column step as the unique key the migration builds
-- (migration_backfill builds it concurrently): {'unique_method',
-- 'unique_with', 'unique_name', 'unique_final'}, or an empty object for
-- "unique": false.  uniq is true, a method ("btree" or "steward_hash") or
-- {"method", "with": [other columns of the new shape, new_names], "name":
-- the constraint's name after the cleanup (unique_final; until then a
-- free name made from it)}.  Raises 22023 or 42703.
CREATE FUNCTION steward._migration_unique(rel regclass, col text, uniq jsonb, what text,
                                          new_names text[])
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF jsonb_typeof(uniq) = 'boolean' THEN
        uniq := CASE WHEN (uniq)::text::boolean THEN '{"method": "btree"}'::jsonb END;
    ELSIF jsonb_typeof(uniq) = 'string' THEN
        uniq := jsonb_build_object('method', uniq);
    END IF;
    IF uniq IS NULL THEN
        RETURN '{}';
    END IF;
    IF jsonb_typeof(uniq) <> 'object'
       OR coalesce(uniq->>'method', 'btree') NOT IN ('btree', 'steward_hash')
       OR EXISTS (SELECT 1 FROM jsonb_object_keys(uniq) x WHERE x NOT IN ('method', 'with', 'name'))
       OR (uniq ? 'with' AND jsonb_typeof(uniq->'with') <> 'array')
       OR (uniq ? 'name' AND (jsonb_typeof(uniq->'name') <> 'string' OR uniq->>'name' = '')) THEN
        RAISE EXCEPTION '"unique" of % must be true, "btree", "steward_hash" or {"method", "with": [columns], "name"}', what
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = '"name" is the constraint''s name after the cleanup (63 bytes at most); by default the name of the key the step restates.';
    END IF;
    IF octet_length(uniq->>'name') > 63 THEN
        RAISE EXCEPTION 'constraint name "%" is longer than 63 bytes (%)', uniq->>'name', what
            USING ERRCODE = 'name_too_long',
                  HINT = 'Names are at most 63 bytes, as PostgreSQL''s own; give a shorter one.';
    END IF;
    IF EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(uniq->'with', '[]')) w
                WHERE NOT w = ANY (new_names) OR w = col) THEN
        RAISE EXCEPTION '"with" of % names a column the new shape does not have', what
            USING ERRCODE = 'undefined_column';
    END IF;
    RETURN jsonb_build_object(
        'unique_method', coalesce(uniq->>'method', 'btree'),
        'unique_with', coalesce(uniq->'with', '[]'),
        'unique_final', uniq->>'name',
        'unique_name', steward._migration_free_name(rel, coalesce(uniq->>'name', format('%s_%s_%s', (SELECT x.relname FROM pg_class x WHERE x.oid = rel), col,
                                   CASE WHEN uniq->>'method' = 'steward_hash'
                                        THEN 'excl' ELSE 'key' END))));
END
$$;

-- A key an alter_column step restates keeps its name after the cleanup
-- (review10 F8: ON CONFLICT ON CONSTRAINT names it): c (a column row from
-- _migration_unique) with unique_final the name of the one unique or
-- exclusion constraint of the same method over the old column and the
-- "with" columns, and unique_name a free name made from it, unless the
-- step's "name" chose one.
CREATE FUNCTION steward._migration_unique_kept(rel regclass, c jsonb)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    keyname name;
    nkeys bigint;
BEGIN
    IF c->>'kind' <> 'pair' OR c->>'unique_name' IS NULL OR c->>'unique_final' IS NOT NULL THEN
        RETURN c;
    END IF;
    SELECT min(x.conname), count(*) INTO keyname, nkeys
      FROM pg_constraint x
      JOIN pg_class i ON i.oid = x.conindid
      JOIN pg_am am ON am.oid = i.relam
     WHERE x.conrelid = rel AND x.contype IN ('u', 'x')
       AND am.amname = CASE WHEN c->>'unique_method' = 'steward_hash' THEN 'steward_hash' ELSE 'btree' END
       AND (x.contype = 'u') = (c->>'unique_method' = 'btree')
       AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
             WHERE a.attrelid = rel AND a.attnum = ANY (x.conkey))
           = (SELECT array_agg(n ORDER BY n) FROM (
                SELECT c->>'old_name' AS n
                UNION SELECT jsonb_array_elements_text(c->'unique_with')) w);
    IF nkeys = 1 THEN
        c := c || jsonb_build_object('unique_final', keyname,
                                     'unique_name', steward._migration_free_name(rel, keyname));
    END IF;
    RETURN c;
END
$$;

-- Refuses (0A000) an up or down expression ("what") whose parameters
-- (params: shape column names, as _migration_expr gives them) read a
-- stored generated column of rel (mig14 M2): PostgreSQL computes it after
-- the BEFORE ROW triggers, so the dual-write trigger read the value from
-- before the write (NULL in an INSERT), and every row the application
-- wrote during the migration got another value than the backfill gives,
-- which validation then reported, with no way to fix it but a rollback.
-- A generated column keeps its name in both shapes (migrations refuse to
-- change one).
CREATE FUNCTION steward._migration_refuse_generated(rel regclass, params text[], what text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col text;
    expr text;
BEGIN
    SELECT a.attname, pg_get_expr(d.adbin, d.adrelid) INTO col, expr
      FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE a.attrelid = rel AND a.attname = ANY (params) AND a.attgenerated <> ''
       AND NOT a.attisdropped
     ORDER BY a.attnum LIMIT 1;
    IF col IS NOT NULL THEN
        RAISE EXCEPTION 'the % reads generated column "%" of relation "%"', what, col, steward._relation_name(rel)
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'PostgreSQL computes a generated column after the BEFORE triggers: the dual-write trigger would read its value from before the write (NULL in an INSERT), so rows written during the migration would get other values than the backfill gives.',
                  HINT = format('Use its generation expression instead: %s', expr);
    END IF;
END
$$;

-- Refuses (22023) an up or down expression ("what", the user's text
-- expr over the shape of names and types) that gives another value each
-- time, or in each transaction (mig14 M3: gen_random_uuid(), now();
-- _migration_expr_varies): validation evaluates it again and compares it
-- with each row's stored value, so the migration failed validation for
-- every row after the whole backfill and could only be rolled back.  Any
-- VOLATILE function is refused, the user's too (upvol49: one wrapping
-- random() passed where random() was refused), its HINT giving the ALTER
-- FUNCTION ... STABLE that declares one that gives the same value for the
-- same row (CREATE FUNCTION's default is VOLATILE); the message says how
-- the expression calls one it writes no call of (a cast, a type's input
-- function, an operator: trust50, the HINT read as if the user had
-- written the call), and an extension's function gets no ALTER FUNCTION,
-- which only the extension's owner could run and its next update would
-- undo, but a STABLE function of the user's own around it, or another
-- expression.  Declared volatility only: a STABLE function that calls a
-- VOLATILE one passes (docs/migrations.md).  One that reads a
-- setting pg_steward does not pin (current_setting('app.x')) reads the
-- session's, each writer's in the dual-write trigger (codereview17 R2):
-- its own DETAIL says which settings read the same everywhere.  An
-- add_column's "default" fills each row once and is not compared: the
-- HINT says so when there is no other "up" to give.  Not called for a
-- dropped column's down that reads no column (its default, not compared).
-- Looked at coerced to target, the type of the column it fills, as the
-- backfill and the dual-write trigger evaluate it: an ASSIGNMENT cast
-- through a VOLATILE function ("up": "v" into a column of the user's type,
-- or a type change with no up or no down) passed start and failed
-- validation for every row (review39).
CREATE FUNCTION steward._migration_refuse_varying(expr text, names text[], types text[],
                                                  target text, user_path text, what text,
                                                  added boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fn text;
    own regprocedure;
    used_as text;
    ext text;
    once text := CASE WHEN added
                      THEN 'For a value given once to each row, use "default" instead of "up": it fills the rows the table holds, and old-shape writes, and is not compared.'
                      ELSE 'Map the row''s values only: the same row must always give the same value.' END;
BEGIN
    SELECT x.uses, x.own_function, x.used_as, x.extension INTO fn, own, used_as, ext
      FROM steward._migration_expr_varies(expr, names, types, user_path, target) x;
    IF starts_with(fn, 'current_setting(') THEN
        RAISE EXCEPTION 'the % reads a setting of the session that evaluates it: it uses %', what, fn
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The dual-write trigger evaluates it in the session of each write, the backfill and validation in theirs, and validation compares the values: a row written where the setting has another value would differ and the migration could not complete. Only the settings pg_steward pins while it evaluates (DateStyle, IntervalStyle, TimeZone, timezone_abbreviations, extra_float_digits, bytea_output, xmlbinary, xmloption, lc_monetary, lc_numeric, lc_time, array_nulls, quote_all_identifiers, default_text_search_config) read the same everywhere.',
                  HINT = CASE WHEN added
                              THEN 'Write the value into the expression as a constant; for a value given once to each row, use "default" instead of "up": it is not compared.'
                              ELSE 'Write the value into the expression as a constant.' END;
    ELSIF own IS NOT NULL THEN
        RAISE EXCEPTION 'the % may give another value each time it is evaluated: it uses %, declared VOLATILE', what,
                fn || coalesce(', ' || used_as, '')
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Validation evaluates it again and compares it with the value stored in each row; a VOLATILE function (CREATE FUNCTION''s default) may give another value at each call, so rows could differ and the migration could not complete.',
                  HINT = CASE
                         WHEN ext IS NOT NULL AND used_as IS NULL THEN
                             format('%s belongs to extension "%s": only the extension''s owner could declare it otherwise, and an update of the extension would declare it again. If it gives the same value for the same row, call it through a function of your own declared STABLE (CREATE FUNCTION ... STABLE); else write the expression another way.',
                                    fn, ext)
                         WHEN ext IS NOT NULL THEN
                             format('%s, %s, belongs to extension "%s": only the extension''s owner could declare it otherwise, and an update of the extension would declare it again. Write the expression without it, e.g. through a function of your own declared STABLE if it gives the same value for the same input.',
                                    fn, used_as, ext)
                         WHEN used_as IS NOT NULL THEN
                             format('The expression calls %s as %s without writing the call. If it gives the same value for the same input, its owner can declare it so: ALTER FUNCTION %s STABLE (or IMMUTABLE if it reads no table); else write the expression without it.',
                                    fn, used_as, fn)
                         ELSE
                             format('If %s gives the same value for the same row, declare it so: ALTER FUNCTION %s STABLE (or IMMUTABLE if it reads no table).', fn, fn)
                         END
                         || CASE WHEN added THEN ' ' || once ELSE '' END;
    ELSIF fn IS NOT NULL THEN
        RAISE EXCEPTION 'the % gives another value each time it is evaluated: it uses %', what, fn
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Validation evaluates it again and compares it with the value stored in each row, so every row would differ and the migration could not complete.',
                  HINT = once;
    END IF;
END
$$;

-- _migration_refuse_varying as rel's owner (steward._migration_exec:
-- restricted, behind the owner-code barrier), as _migration_expr analyses
-- the same expression: its analysis runs code of the types it meets (a
-- literal compared with a column of the owner's type d[] runs the CHECK of
-- domain d through domain_in), which ran as whoever started the migration,
-- a superuser starting one on an owner's table (review37 S3).  Raises what
-- _migration_refuse_varying raises; its refusal (22023) raised again here,
-- so that it shows no CONTEXT line of the statement that ran it.
CREATE FUNCTION steward._migration_refuse_varying_as_owner(rel regclass, expr text, names text[],
                                                           types text[], target text,
                                                           user_path text, what text,
                                                           added boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st text;
    msg text;
    det text;
    hin text;
BEGIN
    PERFORM steward._migration_exec(rel,
        'SELECT steward._migration_refuse_varying($1, $2::pg_catalog.text[], $3::pg_catalog.text[], '
        '$4, $5, $6, $7::pg_catalog.bool)',
        ARRAY[expr, names::text, types::text, target, user_path, what, added::text]);
EXCEPTION WHEN invalid_parameter_value THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hin = PG_EXCEPTION_HINT;
    IF det <> '' AND hin <> '' THEN
        RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, DETAIL = det, HINT = hin;
    ELSIF det <> '' THEN
        RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, DETAIL = det;
    ELSIF hin <> '' THEN
        RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg, HINT = hin;
    END IF;
    RAISE EXCEPTION USING ERRCODE = st, MESSAGE = msg;
END
$$;

-- The up, default and down expressions of column shape c (pass 2 of
-- _migration_start, for _migration_column_sql), analysed against the old
-- or new shape (names and types in view order) into SQL with parameters:
-- c with up_sql / up_params, default_sql, down_sql / down_params added.
-- Raises what _migration_expr raises, 0A000 for an up or down reading a
-- generated column (_migration_refuse_generated), 22023 for one that
-- varies (_migration_refuse_varying), and 42804 with a HINT
-- when the column's default does not fit its new type.
CREATE FUNCTION steward._migration_column_exprs(rel regclass, c jsonb,
                                                old_names text[], old_types text[],
                                                new_names text[], new_types text[],
                                                user_path text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    body jsonb := c->'body';
    what text := c->>'what';
    e record;
BEGIN
    IF c->>'kind' IN ('pair', 'added') THEN
        IF body ? 'up' OR c->>'kind' = 'pair' THEN
            e := steward._migration_expr(rel, coalesce(body->>'up', quote_ident(c->>'old_name')),
                                         old_names, old_types, c->>'new_type',
                                         'up expression of ' || what, user_path);
            PERFORM steward._migration_refuse_generated(rel, e.params, 'up expression of ' || what);
            -- With no up, the old column itself, through the cast to the
            -- new type (an ASSIGNMENT cast's function may vary).
            PERFORM steward._migration_refuse_varying_as_owner(rel, coalesce(body->>'up', quote_ident(c->>'old_name')),
                                                               old_names, old_types, c->>'new_type',
                                                               user_path, 'up expression of ' || what,
                                                               c->>'kind' = 'added');
            c := c || jsonb_build_object('up_sql', e.sql, 'up_params', e.params);
        END IF;
        IF body ? 'default' THEN
            e := steward._migration_expr(rel, body->>'default', '{}', '{}', c->>'new_type',
                                         'default of ' || what, user_path);
            c := c || jsonb_build_object('default_sql', e.sql);
        ELSIF c->>'kind' = 'pair' AND c->>'default_sql' IS NULL AND c->>'old_default' IS NOT NULL THEN
            -- A type change keeps the column's default, for the new type.
            BEGIN
                e := steward._migration_expr(rel, c->>'old_default', '{}', '{}', c->>'new_type',
                                             format('the default of column "%s" (%s)', c->>'old_name', what),
                                             user_path);
            EXCEPTION WHEN datatype_mismatch THEN
                RAISE EXCEPTION '%', SQLERRM USING ERRCODE = 'datatype_mismatch',
                    HINT = 'Give the step the new column''s "default" (or "default": "NULL" for none).';
            END;
            c := c || jsonb_build_object('default_sql', e.sql);
        END IF;
    END IF;
    IF c->>'kind' = 'pair' OR (c->>'kind' = 'dropped' AND body ? 'down') THEN
        e := steward._migration_expr(rel, coalesce(body->>'down', quote_ident(c->>'new_name')),
                                     new_names, new_types, c->>'old_type',
                                     'down expression of ' || what, user_path);
        PERFORM steward._migration_refuse_generated(rel, e.params, 'down expression of ' || what);
        -- A dropped column's down over no column is its default for
        -- new-shape INSERTs (now() for a created_at), not compared.
        IF c->>'kind' = 'pair' OR cardinality(e.params) > 0 THEN
            PERFORM steward._migration_refuse_varying_as_owner(rel, coalesce(body->>'down', quote_ident(c->>'new_name')),
                                                               new_names, new_types, c->>'old_type',
                                                               user_path, 'down expression of ' || what, false);
        END IF;
        c := c || jsonb_build_object('down_sql', e.sql, 'down_params', e.params);
    END IF;
    RETURN c;
END
$$;

-- The NOT NULL of the new column of shape c (kind pair or added; pass 2
-- of _migration_start, after _migration_column_exprs): c with not_null and
-- its constraint's free name when the step (or, for a changed column, the
-- old column) asks for it.  An added column with no "up" and no "default"
-- is refused (22023, newcomer44 P1): its stored rows would all get NULL,
-- so the backfill would fail at its first row and every old-shape INSERT
-- at once, an outage until rollback (a "default" that is NULL:
-- _migration_probe_up, newcomer45 N5).  Warns when the
-- statistics estimate NULLs the default "up" of a changed column carries.
CREATE FUNCTION steward._migration_column_not_null(mig text, rel regclass, c jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    body jsonb := c->'body';
    what text := c->>'what';
    col text := c->>'new_name';
    nulls numeric;
BEGIN
    IF body ? 'not_null' AND jsonb_typeof(body->'not_null') <> 'boolean' THEN
        RAISE EXCEPTION '"not_null" of % must be true or false', what
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- A changed column stays NOT NULL unless the step says otherwise.
    IF (body ? 'not_null' OR (c->>'old_not_null')::boolean)
       AND coalesce((body->>'not_null')::boolean, true) THEN
        c := c || jsonb_build_object('not_null', true,
                     'not_null_name', steward._migration_free_name(rel, format('%s_%s_not_null', (SELECT x.relname FROM pg_class x WHERE x.oid = rel), col)));
    END IF;
    IF NOT coalesce((c->>'not_null')::boolean, false) OR c->>'kind' <> 'added' OR body ? 'up' THEN
        NULL;
    ELSIF NOT body ? 'default' THEN
        -- newcomer44 P1; refused on an empty table too, as pgroll does: old-shape INSERTs would write NULL.
        -- A default that is NULL: _migration_probe_up (newcomer45 N5).
        RAISE EXCEPTION '% adds NOT NULL column "%" with neither "up" nor "default"', what, col USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'The rows the table holds would get NULL there, and so would every row the old application inserts until the switch (on an empty table too): the backfill would fail at the first row, those INSERTs at once.',
            HINT = 'Give "up" (an expression over the old columns) or "default" (it fills the existing rows too).';
    END IF;
    -- NULLs the default "up" would carry into a NOT NULL column
    -- (review10 F4): the statistics' estimate, no scan at start.
    IF (c->>'not_null')::boolean AND c->>'kind' = 'pair' AND NOT body ? 'up'
       AND NOT (c->>'old_not_null')::boolean THEN
        SELECT round(s.null_frac * greatest(x.reltuples, 0)) INTO nulls
          FROM pg_class x JOIN pg_namespace n ON n.oid = x.relnamespace
          JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = x.relname
                          AND s.attname = c->>'old_name' AND NOT s.inherited
         WHERE x.oid = rel;
        IF nulls > 0 THEN
            PERFORM steward._report('warning',
                    format('the statistics of relation "%s" estimate %s with column "%s" NULL, which "not_null" of %s refuses', steward._relation_name(rel),
                           steward._relayout_count(nulls::bigint, 'row', 'rows'), c->>'old_name', what),
                    detail => 'The backfill fails on the first such row, and old-shape writes of NULL fail meanwhile (23514).',
                    hint => format('Roll back (SELECT steward.migration_rollback(%L);) and give an "up" that maps NULL (coalesce), or fix the rows first.', mig));
        END IF;
    END IF;
    RETURN c;
END
$$;

-- The check, references and unique constraints of the new column of
-- shape c (kind pair or added; pass 2 of _migration_start): c with their
-- SQL and free names added.  Raises what _migration_expr,
-- _migration_references and _migration_unique raise, and 2BP01 when a
-- CHECK carried from the old column does not fit the new one.
CREATE FUNCTION steward._migration_column_constraints(rel regclass, c jsonb,
                                                      new_names text[], new_types text[],
                                                      user_path text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    body jsonb := c->'body';
    what text := c->>'what';
    col text := c->>'new_name';
    e record;
BEGIN
    IF body ? 'check' THEN
        BEGIN
            e := steward._migration_expr(rel, body->>'check', new_names, new_types,
                                         'boolean', 'check of ' || what, user_path);
        EXCEPTION WHEN OTHERS THEN
            IF NOT body ? 'carried_check' THEN
                RAISE;
            END IF;
            RAISE EXCEPTION 'check constraint % of column "%" does not fit the new column (%): %',
                    body->>'carried_check', c->>'old_name', what, SQLERRM
                USING ERRCODE = 'dependent_objects_still_exist',
                      HINT = 'Give the step a "check" over the new shape, or drop the constraint first (ALTER TABLE ... DROP CONSTRAINT).';
        END;
        c := c || jsonb_build_object('check_sql', e.sql, 'check_params', e.params,
                                     'check_name', steward._migration_free_name(rel, format('%s_%s_check', (SELECT x.relname FROM pg_class x WHERE x.oid = rel), col)));
    END IF;
    IF body ? 'references' THEN
        c := c || steward._migration_references(rel, col, body->'references', what, user_path);
    END IF;
    IF body ? 'unique' THEN
        c := c || steward._migration_unique(rel, col, body->'unique', what, new_names);
        c := steward._migration_unique_kept(rel, c);
    END IF;
    RETURN c;
END
$$;

-- Pass 2 of _migration_start for one column shape c (from
-- _migration_column_step): the user's up / down / default expressions
-- (_migration_column_exprs), the NOT NULL (_migration_column_not_null)
-- and the other constraints (_migration_column_constraints) the new
-- column gets, named after the table.  Returns c with these added and the
-- texts pass 1 kept removed: the steward.migration_columns row (ord cord).
CREATE FUNCTION steward._migration_column_sql(mig text, rel regclass, c jsonb, cord integer,
                                              old_names text[], old_types text[],
                                              new_names text[], new_types text[],
                                              user_path text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    c := steward._migration_column_exprs(rel, c, old_names, old_types, new_names, new_types,
                                         user_path);
    IF c->>'kind' IN ('pair', 'added') THEN
        c := steward._migration_column_not_null(mig, rel, c);
        c := steward._migration_column_constraints(rel, c, new_names, new_types, user_path);
    END IF;
    RETURN (c - 'body' - 'what' - 'old_not_null') || jsonb_build_object('migration', mig, 'relid', rel::oid,
                                                                       'ord', cord);
END
$$;

-- A column step (add_column, alter_column, drop_column) of pass 1 of
-- _migration_start, checked against the other steps on its table (cols,
-- the column shapes collected so far) and the table's free column names:
-- a column changed by one step only, no two new columns of one name, and
-- the columns the migration adds beside the old ones free.  Returns the
-- column's shape (_migration_column_step) with the step's body and
-- description kept for pass 2.  Raises 22023 or 42701.
CREATE FUNCTION steward._migration_column_plan(rel regclass, kind text, body jsonb,
                                               stepno integer, what text, cols jsonb,
                                               user_path text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c jsonb;
BEGIN
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(cols) x
                WHERE x->>'old_name' = body->>'column' OR x->>'new_name' = body->>'column') THEN
        RAISE EXCEPTION 'column "%" of relation "%" is changed by more than one step (%)', body->>'column', steward._relation_name(rel), what
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give all changes of a column in one alter_column step.';
    END IF;
    c := steward._migration_column_step(rel, kind, body, stepno, what, user_path);
    IF c->>'new_name' IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_array_elements(cols) x
                                               WHERE x->>'new_name' = c->>'new_name') THEN
        RAISE EXCEPTION 'two steps give relation "%" a column "%" (%)', steward._relation_name(rel), c->>'new_name', what
            USING ERRCODE = 'duplicate_column';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = rel AND NOT a.attisdropped
                  AND a.attname IN (c->>'expand_new', c->>'switched_old')
                  AND a.attname IS DISTINCT FROM c->>'old_name') THEN
        RAISE EXCEPTION 'relation "%" already has a column the migration needs (%)', steward._relation_name(rel), what
            USING ERRCODE = 'duplicate_column',
                  DETAIL = format('Columns %s and %s must be free.', c->>'expand_new', c->>'switched_old');
    END IF;
    -- Keep the step's user texts until pass 2 analyses them.
    RETURN (c - 'carried') || jsonb_build_object('body', body || coalesce(c->'carried', '{}'),
                                                 'what', what);
END
$$;

-- Pass 2 of _migration_start for one table t ({'relid', 'ord', 'cols',
-- 'new_name'} from pass 1): the old and new shapes, then each column's
-- expressions and constraints against them (_migration_column_sql).
-- Returns the steward.migration_tables row and the table's
-- steward.migration_columns rows, nothing recorded yet.  Raises 42701 when
-- the new shape would have a column name twice.
CREATE FUNCTION steward._migration_table_plan(mig text, t jsonb, user_path text,
                                              OUT table_row jsonb, OUT column_rows jsonb)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rel regclass := (t->>'relid')::oid;
    cols jsonb := t->'cols';
    oldshape record;
    newshape record;
    c jsonb;
    cord integer := 0;
BEGIN
    oldshape := steward._migration_shape(rel, cols, 'old');
    newshape := steward._migration_shape(rel, cols, 'new');
    -- A new-shape name may not be a column the new shape keeps.
    FOR c IN SELECT x FROM jsonb_array_elements(cols) x WHERE x->>'kind' IN ('added', 'pair', 'renamed') LOOP
        IF (SELECT count(*) FROM unnest(newshape.names) n WHERE n = c->>'new_name') > 1 THEN
            RAISE EXCEPTION 'the new shape of relation "%" would have two columns "%"', steward._relation_name(rel), c->>'new_name'
                USING ERRCODE = 'duplicate_column';
        END IF;
    END LOOP;
    column_rows := '[]';
    FOR c IN SELECT x FROM jsonb_array_elements(cols) x LOOP
        cord := cord + 1;
        column_rows := column_rows || steward._migration_column_sql(
            mig, rel, c, cord, oldshape.names, oldshape.types, newshape.names, newshape.types,
            user_path);
    END LOOP;
    table_row := jsonb_build_object(
        'migration', mig, 'relid', rel::oid, 'ord', (t->>'ord')::int,
        'table_name', rel::text, 'relname', (SELECT x.relname FROM pg_class x WHERE x.oid = rel),
        'new_name', t->>'new_name') || steward._migration_key_of(rel);
END
$$;

-- One step of a column migration, checked for its form: an object with
-- one key, a known kind of step, whose value is an object with the keys
-- that kind takes, strings where text is expected, and the keys it needs.
-- Returns the kind and the value (body).  Raises 22023, and 42622 for a
-- column or table name longer than an identifier (63 bytes), as an index
-- name is: core would cut it, so the shapes named a column other than the
-- one the user gave (an add_column's was cut silently, an alter_column
-- renaming and retyping one failed as a down expression using a column
-- "not in the shape", a rename_table was refused as "already exists";
-- fuzz2).
CREATE FUNCTION steward._migration_step(step jsonb, stepno integer, known_steps text[],
                                        OUT kind text, OUT body jsonb)
RETURNS record
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    allowed text[];
    k text;
BEGIN
    IF jsonb_typeof(step) <> 'object' OR (SELECT count(*) FROM jsonb_object_keys(step)) <> 1 THEN
        RAISE EXCEPTION 'step % must be an object with exactly one key, the kind of step', stepno
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Got: %s', step);
    END IF;
    kind := (SELECT x FROM jsonb_object_keys(step) x);
    IF NOT kind = ANY (known_steps) THEN
        RAISE EXCEPTION 'unknown migration step "%" (step %)', kind, stepno
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Steps are %s.', array_to_string(known_steps, ', '));
    END IF;
    body := step->kind;
    IF jsonb_typeof(body) <> 'object' THEN
        RAISE EXCEPTION 'step % (%) must be an object', stepno, kind
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    allowed := CASE kind
        WHEN 'add_column' THEN ARRAY['table', 'column', 'type', 'up', 'default', 'not_null',
                                     'check', 'references', 'unique']
        WHEN 'alter_column' THEN ARRAY['table', 'column', 'name', 'type', 'up', 'down',
                                       'default', 'not_null', 'check', 'references', 'unique']
        WHEN 'drop_column' THEN ARRAY['table', 'column', 'down']
        ELSE ARRAY['table', 'name'] END;
    FOR k IN SELECT x FROM jsonb_object_keys(body) x LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown key "%" in step % (%)', k, stepno, kind
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('%s takes %s.', kind, array_to_string(allowed, ', '));
        END IF;
        IF k IN ('table', 'column', 'name', 'type', 'up', 'down', 'default', 'check')
           AND jsonb_typeof(body->k) <> 'string' THEN
            RAISE EXCEPTION '"%" of step % (%) must be a string', k, stepno, kind
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    FOREACH k IN ARRAY CASE kind WHEN 'rename_table' THEN ARRAY['table', 'name']
                                 WHEN 'add_column' THEN ARRAY['table', 'column', 'type']
                                 ELSE ARRAY['table', 'column'] END LOOP
        IF NOT body ? k OR body->>k = '' THEN
            RAISE EXCEPTION 'step % (%) needs "%"', stepno, kind, k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    FOREACH k IN ARRAY ARRAY['column', 'name'] LOOP
        IF octet_length(body->>k) > 63 THEN
            RAISE EXCEPTION '% name "%" is longer than 63 bytes (step % (%))',
                    CASE WHEN k = 'column' OR kind = 'alter_column' THEN 'column' ELSE 'relation' END,
                    body->>k, stepno, kind
                USING ERRCODE = 'name_too_long',
                      HINT = 'Names of tables and columns are at most 63 bytes; give a shorter one.';
        END IF;
    END LOOP;
END
$$;

-- Step stepno of a column migration checked for its form (kind, body:
-- steward._migration_step) and its table (rel), resolved with the
-- caller's search_path; 42P01 if there is none (after_lock: the name
-- resolved before migration_start waited for its lock).
CREATE FUNCTION steward._migration_step_table(step jsonb, stepno integer, user_path text,
                                              after_lock boolean,
                                              OUT kind text, OUT body jsonb, OUT rel regclass)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s record := steward._migration_step(step, stepno, ARRAY['add_column', 'alter_column', 'drop_column',
                                                            'rename_table', 'relayout', 'create_index',
                                                            'drop_index']);
BEGIN
    kind := s.kind;
    body := s.body;
    rel := steward._migration_regclass(body->>'table', user_path);
    IF rel IS NULL THEN
        PERFORM steward._require_relation_schema(body->>'table', format('step %s', stepno));
    END IF;
    IF rel IS NULL AND after_lock THEN
        RAISE EXCEPTION 'relation "%" does not exist (step %)',
                steward._relation_name_typed(body->>'table'), stepno
            USING ERRCODE = 'undefined_table',
                  DETAIL = 'It was renamed or dropped while migration_start waited for its lock.';
    ELSIF rel IS NULL THEN
        RAISE EXCEPTION 'relation "%" does not exist (step %)',
                steward._relation_name_typed(body->>'table'), stepno
            USING ERRCODE = 'undefined_table';
    END IF;
END
$$;

-- The owners of a column migration's tables (relids, in step order):
-- the shapes' schemas are made as the first table's owner, who needs
-- CREATE on the database (42501, recheck10 N6), and each table's views in
-- them as the table's owner, who must have the first owner's rights
-- (0A000, review12 R12-10).  Called by _migration_start before the locks
-- and by _migration_plan under them: an ALTER TABLE ... OWNER TO that
-- committed while start waited for its locks made the CREATE SCHEMA or
-- CREATE VIEW fail with a raw 42501 (mig4).
CREATE FUNCTION steward._migration_check_owners(mig text, relids jsonb)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    owner regrole;
    others text;
BEGIN
    -- The shapes' schemas are made as the first table's owner
    -- (_migration_expand), who needs CREATE on the database (recheck10 N6).
    owner := (SELECT c.relowner::regrole FROM pg_class c WHERE c.oid = (relids->>0)::oid);
    IF NOT has_database_privilege(owner::oid, current_database(), 'CREATE') THEN
        RAISE EXCEPTION 'role "%" cannot create the schemas of migration "%"', pg_get_userbyid(owner), mig
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('A column migration creates the schemas "%s" and "%s" (the views of the new and old shapes) as the owner of relation "%s", which needs CREATE on database "%s".',
                                  mig, mig || '_old', steward._relation_name((relids->>0)::oid), current_database()),
                  HINT = format('GRANT CREATE ON DATABASE %I TO %s (as the database''s owner or a superuser), then start the migration again.',
                                current_database(), owner);
    END IF;
    -- Each table's views are made as its owner in those schemas, where
    -- only the first table's owner (and roles with its rights) can create
    -- (review12 R12-10): tables of other owners are refused.
    SELECT string_agg(format('%s (owner %s)', c.oid::regclass, c.relowner::regrole), ', ' ORDER BY j.ord)
      INTO others
      FROM jsonb_array_elements_text(relids) WITH ORDINALITY j(relid, ord)
      JOIN pg_class c ON c.oid = j.relid::oid
     WHERE NOT pg_has_role(c.relowner, owner, 'USAGE');
    IF others IS NOT NULL THEN
        RAISE EXCEPTION 'column migration "%" changes tables of more than one owner', mig
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('The schemas %I and %I are created as %s (the owner of %s), and each table''s views in them as the table''s owner, who cannot create there: %s.',
                                  mig, mig || '_old', owner, (relids->>0)::oid::regclass, others),
                  HINT = format('Migrate the tables of each owner in a migration of their own, or give them one owner first (ALTER TABLE ... OWNER TO %s).',
                                owner);
    END IF;
END
$$;

-- migration_start: checks the form of every step and finds its table
-- (pass 0), takes ACCESS EXCLUSIVE on those tables (with the
-- migration_lock_timeout retries), and only then checks every step
-- against the tables as they are under the lock and records the
-- migration (steward._migration_plan), so that an ALTER TABLE still in
-- flight when start began (recheck10 N12: a rename or a type change of a
-- column the steps name) is seen by the plan instead of leaving a stale
-- one; then it expands the tables (steward._migration_expand, the locks
-- are held already).  Nothing is recorded or changed unless every step
-- passes.  Index steps and a relayout make migrations of their own
-- (indexes.sql, relayout.sql).
CREATE FUNCTION steward._migration_start(mig text, steps jsonb, user_path text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    step jsonb;
    stepno integer := 0;
    rel regclass;
    relids jsonb := '[]';
BEGIN
    PERFORM steward._migration_settings();      -- loads the library (settings, trigger)
    PERFORM steward._migration_check_start(mig, steps);
    -- The plan reads the tables' definitions with SQL, which under
    -- REPEATABLE READ or SERIALIZABLE sees the transaction's snapshot: an
    -- ALTER TABLE committed after it (while start waited for its locks,
    -- say) would leave a plan that does not fit the table (recheck10 N12).
    -- A relayout's too: its checks and its apply trigger's column lists
    -- are read with SQL, so a column renamed after the snapshot left a
    -- trigger naming the old column and every write failed 42703.  And
    -- index steps': they read the table's and index's catalog rows with
    -- SQL (a table renamed since was seen under its old name in the
    -- CREATE INDEX statement, an index made again under its name was not
    -- found in pg_index: mig4).
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE EXCEPTION '% cannot start in a % transaction',
                CASE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(steps) x
                                   WHERE jsonb_typeof(x) = 'object' AND x ?| ARRAY['create_index', 'drop_index'])
                     THEN 'an index migration'
                     WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(steps) x
                                   WHERE jsonb_typeof(x) = 'object' AND x ? 'relayout')
                     THEN 'a relayout' ELSE 'a column migration' END,
                upper(current_setting('transaction_isolation'))
            USING ERRCODE = 'invalid_transaction_state',
                  DETAIL = 'Its plan reads the tables'' definitions in the transaction''s snapshot, which does not see an ALTER TABLE committed since.',
                  HINT = 'Start it on its own (autocommit) or in a READ COMMITTED transaction.';
    END IF;

    -- Index steps (src/migrate/indexes.sql) make a migration of their own.
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(steps) x
                WHERE jsonb_typeof(x) = 'object' AND x ?| ARRAY['create_index', 'drop_index']) THEN
        PERFORM steward._migration_start_indexes(mig, steps, user_path);
        RETURN;
    END IF;

    -- A relayout is a migration of its own (src/migrate/relayout.sql).
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(steps) x WHERE jsonb_typeof(x) = 'object' AND x ? 'relayout') THEN
        IF steward._relayout_step(steps) IS NULL THEN
            RAISE EXCEPTION 'a relayout must be the only step of its migration'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Change columns in a migration of their own, before or after the relayout.';
        END IF;
        PERFORM steward._relayout_start(mig, steps, user_path);
        RETURN;
    END IF;

    -- Pass 0: each step's form and its table, before any lock.
    FOR step IN SELECT x FROM jsonb_array_elements(steps) x LOOP
        stepno := stepno + 1;
        rel := (steward._migration_step_table(step, stepno, user_path, false)).rel;
        IF NOT relids @> to_jsonb(rel::oid) THEN
            PERFORM steward._migration_check_table(rel);
            relids := relids || to_jsonb(rel::oid);
        END IF;
    END LOOP;

    -- The owners, before the locks (refused before anyone waits), and
    -- again under them (_migration_plan).
    PERFORM steward._migration_check_owners(mig, relids);

    -- Lock, then plan and record; expand under the same locks.
    PERFORM steward._migration_locked(mig, '_migration_plan', 'ACCESS EXCLUSIVE', jsonb_build_object(
        'relids', relids, 'steps', steps, 'user_path', user_path));
    PERFORM steward._migration_refuse_rewrite(mig);
    PERFORM steward._migration_locked(mig, '_migration_expand', 'ACCESS EXCLUSIVE');
    PERFORM steward._migration_probe_up(mig);
    PERFORM steward._migration_record('update', mig, jsonb_build_object(
        'phase', 'pending_backfill', 'expanded_at', clock_timestamp()));
END
$$;

-- Refuses column migration mig (0A000, before expand changes anything;
-- the tables are locked since _migration_plan) when it would add a
-- column whose type is a domain with constraints (an add_column's, or
-- the new column of an alter_column) to a table that holds a row:
-- PostgreSQL 15's ADD COLUMN of such a type rewrites the whole table
-- under ACCESS EXCLUSIVE to check the constraints, default or not, which
-- an online migration must not do behind its user's back (mig17).  The
-- HINT gives the step as the user wrote it (its "up", "default" and other
-- keys kept) with the domain's base type, the domain's constraints as its
-- "check" (and'ed with the step's own "check", which the HINT dropped
-- before: closing46 Noticed 5) and "not_null": a step that runs as
-- printed.  An empty table costs nothing: allowed.  Reads one row of each
-- such table as its owner.
CREATE FUNCTION steward._migration_refuse_rewrite(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    d record;
    body jsonb;
    step text;
BEGIN
    FOR c IN SELECT x.relid, x.kind, x.step, x.old_name, x.new_name, x.new_type
               FROM steward.migration_columns x
               JOIN steward.migration_tables t ON t.migration = x.migration AND t.relid = x.relid
              WHERE x.migration = mig AND x.kind IN ('pair', 'added') AND t.active
              ORDER BY t.ord, x.ord LOOP
        CONTINUE WHEN NOT steward._migration_domain_checked(c.new_type);
        CONTINUE WHEN (steward._migration_exec(c.relid, format('SELECT 1 FROM %s LIMIT 1', c.relid)))[1] IS NULL;
        -- The domain's chain down to its base type: the base type, its
        -- CHECKs over the column, NOT NULL if any domain has it.  VALUE
        -- becomes the column outside the CHECK's string literals and
        -- quoted names only (mig52: CHECK (VALUE <> 'NO VALUE') was
        -- printed as ("c" <> 'NO "c"'), another check).  The deparsed
        -- text doubles quotes inside both and has no other quoting.  The
        -- expression alone (pg_get_expr of conbin, as pg_get_constraintdef
        -- deparses it, in its parentheses): the definition of a constraint
        -- added NOT VALID ends in " NOT VALID", which a "check" refuses
        -- (codereview21).
        WITH RECURSIVE chain AS (
            SELECT ty.oid, ty.typtype, ty.typbasetype, ty.typtypmod, ty.typnotnull, 1 AS depth
              FROM pg_type ty WHERE ty.oid = to_regtype(c.new_type)
            UNION ALL
            SELECT ty.oid, ty.typtype, ty.typbasetype, ty.typtypmod, ty.typnotnull, ch.depth + 1
              FROM chain ch JOIN pg_type ty ON ty.oid = ch.typbasetype
             WHERE ch.typtype = 'd')
        SELECT (SELECT format_type(ch.typbasetype, ch.typtypmod) FROM chain ch
                 WHERE ch.typtype = 'd' ORDER BY ch.depth DESC LIMIT 1) AS base,
               bool_or(ch.typnotnull) AS not_null,
               (SELECT string_agg((SELECT string_agg(CASE WHEN left(m[1], 1) IN ('''', '"') THEN m[1]
                                                          ELSE regexp_replace(m[1], E'\\mVALUE\\M', quote_ident(c.new_name), 'g') END,
                                                     '' ORDER BY o)
                                     FROM regexp_matches('(' || pg_get_expr(k.conbin, 0) || ')',
                                                         '(''(?:[^'']|'''')*''|"(?:[^"]|"")*"|[^''"]+)', 'g')
                                          WITH ORDINALITY x(m, o)),
                                  ' AND ' ORDER BY ch2.depth DESC, k.conname)
                  FROM chain ch2 JOIN pg_constraint k ON k.contypid = ch2.oid AND k.contype = 'c') AS checks
          INTO d
          FROM chain ch;
        -- The user's step (the migration's steps, recorded by the plan),
        -- whose own "check" is and'ed with the domain's, as a carried
        -- check is (_migration_column_carried), and whose other keys
        -- ("up", "default", "unique", ...) stay, after the ones written
        -- here in the order a step is written (json, not jsonb).
        body := (SELECT r.steps -> (c.step - 1) -> CASE c.kind WHEN 'added' THEN 'add_column' ELSE 'alter_column' END
                   FROM steward.migration_runs r WHERE r.name = mig);
        IF body ? 'check' THEN
            d.checks := concat_ws(' AND ', d.checks, format('(%s)', body->>'check'));
        END IF;
        step := format('{"%s": {"table": %s, "column": %s%s, "type": %s%s%s%s}}',
                       CASE c.kind WHEN 'added' THEN 'add_column' ELSE 'alter_column' END,
                       to_json(c.relid::text), to_json(CASE c.kind WHEN 'added' THEN c.new_name ELSE c.old_name END),
                       CASE WHEN c.kind = 'pair' AND c.old_name <> c.new_name
                            THEN ', "name": ' || to_json(c.new_name::text) ELSE '' END,
                       to_json(d.base), coalesce(', "check": ' || to_json(d.checks), ''),
                       CASE WHEN d.not_null OR body->'not_null' = 'true' THEN ', "not_null": true' ELSE '' END,
                       (SELECT string_agg(format(', %s: %s', to_json(k), v), '' ORDER BY k)
                          FROM jsonb_each(body) e(k, v)
                         WHERE k NOT IN ('table', 'column', 'name', 'type', 'check', 'not_null')));
        RAISE EXCEPTION 'cannot add column "%" of domain type % to relation "%" online',
                c.new_name, c.new_type, steward._relation_name(c.relid)
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = format('PostgreSQL rewrites the table under an ACCESS EXCLUSIVE lock to check a domain''s constraints against every row when a column of that type is added, default or not (%s), blocking every reader and writer of the table until it is done; migration "%s" changed nothing.',
                                  CASE c.kind WHEN 'added' THEN 'the add_column''s column'
                                              ELSE 'the new column an alter_column adds' END, mig),
                  HINT = format('Use the domain''s base type with the step''s "check": %s; or run ALTER TABLE in a maintenance window.', step);
    END LOOP;
END
$$;

-- Each up expression of column migration mig evaluated once, at start, on
-- one row of its table (the first a plain scan returns), as the dual-write
-- trigger evaluates it at every write from start on and the backfill on
-- every row: as the table's owner, settings pinned, row_security off
-- (_migration_exec).  An up that fails there -- one reading a table whose
-- policies apply to the owner (42501, readme37 S1), or failing on that
-- row's values -- would fail the application's writes the same way, so
-- start is refused with its SQLSTATE, naming the column and the row by
-- its key (nothing is left of the migration).  Lock, deadlock and serialization failures are
-- raised as they are.  Nothing is evaluated for an empty table.  Each
-- evaluation runs in a subtransaction that is rolled back, also when it
-- succeeds: what up writes (a log row, a NOTIFY) and the locks it takes
-- are undone, as a failed write undoes them; what no rollback undoes (a
-- sequence's nextval, a session advisory lock) stays (closing38 item 5).
-- An add_column's default is the table's default from start on, which
-- every INSERT of the old application leaving the column out evaluates,
-- and, without up, what the backfill writes into each stored row: it reads
-- no row, so it is evaluated once whatever the table holds, as ALTER TABLE
-- ... ADD COLUMN ... DEFAULT evaluates one (a "default": "1/0" failed
-- every such INSERT until the rollback, newcomer45 N1), and coerced to
-- the column's type as they coerce it (_migration_default_value: a value
-- too long for varchar(n) fails with 22001, mig16).  An alter_column's
-- default goes on the new shape's view, where every INSERT of the new
-- application leaving the column out evaluates it: evaluated so too
-- (mig17: one too long passed start, then each such INSERT failed).  An
-- up is coerced to the column's type by the assignment rules, as the
-- backfill's SET and the trigger coerce it (_migration_assign: an
-- explicit cast cut a value the backfill refused, mig17).  A NOT NULL add_column without up whose
-- default is NULL is refused as one with neither up nor default is
-- (22023, _migration_plan): each stored row and each old-shape INSERT
-- would get NULL (newcomer45 N5).
CREATE FUNCTION steward._migration_probe_up(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    msg text;
    state text;
    detail text;
    hint text;
    probed boolean;
    null_fill boolean;
    val text[];
    picked text[];
BEGIN
    FOR c IN SELECT x.relid, x.new_name, e.what, x.kind,
                    e.what = 'default' AND x.up_sql IS NULL AND x.not_null AS fills_not_null,
                    CASE e.what
                        WHEN 'up' THEN format('SELECT steward._migration_assign((%s), %L) FROM %s '
                                              'WHERE tableoid = $1::oid AND ctid = $2::tid',
                            steward._migration_bind(mig, x.relid, 'old', x.up_sql, x.up_params, NULL),
                            x.new_type, x.relid)
                        ELSE format('SELECT steward._migration_default_value(%L, %L)',
                                    x.default_sql, x.new_type)
                    END AS probe,
                    format('SELECT tableoid::text, ctid::text, concat_ws('', '', %s) FROM %s LIMIT 1',
                           (SELECT string_agg(format('%I::text', k), ', ' ORDER BY n) FROM unnest(t.key_columns) WITH ORDINALITY u(k, n)),
                           x.relid) AS pick,
                    (SELECT string_agg(quote_ident(k), ', ' ORDER BY n) FROM unnest(t.key_columns) WITH ORDINALITY u(k, n)) AS keynames
               FROM steward.migration_columns x
               JOIN steward.migration_tables t ON t.migration = x.migration AND t.relid = x.relid
              CROSS JOIN LATERAL (VALUES (1, 'up'), (2, 'default')) e(ord, what)
              WHERE x.migration = mig AND x.kind IN ('pair', 'added') AND t.active
                AND CASE e.what WHEN 'up' THEN x.up_sql IS NOT NULL
                                ELSE x.default_sql IS NOT NULL END
              ORDER BY t.ord, x.ord, e.ord LOOP
        probed := false;
        picked := NULL;
        BEGIN
            -- The row up is evaluated on, picked first, so that a failure
            -- names it by key (mig52: "fails on a row of the table" left
            -- the user to search the table for it).
            IF c.what = 'up' THEN
                picked := steward._migration_exec(c.relid, c.pick);
                CONTINUE WHEN picked[1] IS NULL;     -- an empty table: nothing to evaluate
            END IF;
            val := steward._migration_exec(c.relid, c.probe, picked[1:2]);
            null_fill := c.fills_not_null AND val[1] IS NULL;
            -- evaluated: its subtransaction is rolled back (the handler below)
            probed := true;
            RAISE EXCEPTION USING ERRCODE = 'P0001';
        EXCEPTION WHEN OTHERS THEN
            IF probed AND null_fill THEN
                -- newcomer44 P1's refusal, for a default that is NULL (newcomer45 N5).
                RAISE EXCEPTION 'the default of NOT NULL column "%" of relation "%" in migration "%" is NULL, and the step has no "up"',
                        c.new_name, steward._relation_name(c.relid), mig
                    USING ERRCODE = 'invalid_parameter_value',
                          DETAIL = 'The backfill would write NULL into each stored row, and every INSERT of the old application leaving the column out would get it (on an empty table too): the backfill would fail at the first row, those INSERTs at once.',
                          HINT = 'Give a "default" that is not NULL, or "up" (an expression over the old columns).';
            ELSIF probed THEN
                CONTINUE;
            END IF;
            GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, state = RETURNED_SQLSTATE,
                                    detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
            IF state IN ('55P03', '40P01', '40001', '57014') THEN
                RAISE;
            END IF;
            -- The default reads no row; up fails on the row it read.
            RAISE EXCEPTION '% of column "%" of relation "%" in migration "%" fails%: %',
                    CASE c.what WHEN 'up' THEN 'the up expression' ELSE 'the default' END,
                    c.new_name, steward._relation_name(c.relid), mig,
                    CASE c.what WHEN 'up' THEN ' on a row of the table' ELSE '' END, msg
                USING ERRCODE = state,
                      DETAIL = CASE c.what
                                   WHEN 'up' THEN 'migration_start evaluated it once' || CASE WHEN picked[3] IS NOT NULL THEN format(', on the row (%s)=(%s)', c.keynames, picked[3]) ELSE '' END
                                                  || ', as the dual-write trigger evaluates it at every write of the table from start on (as the table''s owner, settings pinned, row_security off): the application''s writes would fail the same way.'
                                   WHEN 'default' THEN CASE c.kind
                                       WHEN 'added' THEN 'migration_start evaluated it once, as the table''s owner (settings pinned, row_security off): it is the table''s default, so every INSERT of the old application leaving the column out would fail the same way, and without "up" the backfill writes it into each stored row.'
                                       ELSE 'migration_start evaluated it once, as the table''s owner (settings pinned, row_security off): it is the default of the new shape''s view, so every INSERT of the new application leaving the column out would fail the same way.' END
                               END || coalesce(' ' || nullif(detail, ''), ''),
                      HINT = coalesce(nullif(hint, '') || ' ', '')
                             || CASE c.what WHEN 'up' THEN 'Fix the expression, what it reads or the row, then start the migration again.'
                                            ELSE 'Fix the default, then start the migration again.' END;
        END;
    END LOOP;
END
$$;

-- The plan of a column migration (called by _migration_start through
-- steward._migration_locked, with ACCESS EXCLUSIVE on arg->'relids', the
-- tables pass 0 found): pass 1 checks each step, its table and the
-- columns it changes, in the order given; pass 2 the user's expressions
-- and constraints against the final old and new shapes; then the
-- migration is recorded.  A step whose name now finds another table than
-- the one locked (renamed, or dropped and made again while start waited)
-- is refused with 40001: start runs again from the beginning.
CREATE FUNCTION steward._migration_plan(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    steps jsonb := arg->'steps';
    user_path text := arg->>'user_path';
    step jsonb;
    stepno integer := 0;
    s record;
    rel regclass;
    tkey text;
    tbls jsonb := '{}';
    t jsonb;
    p record;
    cols jsonb;
    newname text;
    what text;
    table_rows jsonb := '[]';
    column_rows jsonb := '[]';
    relids jsonb := '[]';
BEGIN
    PERFORM steward._migration_check_owners(mig, arg->'relids');
    -- Pass 1: each step, its table, and the columns it changes.
    FOR step IN SELECT x FROM jsonb_array_elements(steps) x LOOP
        stepno := stepno + 1;
        s := steward._migration_step_table(step, stepno, user_path, true);
        rel := s.rel;
        IF NOT (arg->'relids') @> to_jsonb(rel::oid) THEN
            RAISE EXCEPTION 'relation "%" changed while migration "%" waited for its lock (step %)',
                    steward._relation_name_typed(s.body->>'table'), mig, stepno
                USING ERRCODE = 'serialization_failure',
                      DETAIL = 'Its name now finds another table than the one the migration locked.',
                      HINT = 'Run steward.migration_start again.';
        END IF;
        tkey := rel::oid::text;
        IF NOT tbls ? tkey THEN
            PERFORM steward._migration_check_table(rel);
            tbls := tbls || jsonb_build_object(tkey, jsonb_build_object(
                'relid', rel::oid, 'ord', (SELECT count(*) FROM jsonb_object_keys(tbls)) + 1,
                'cols', '[]'::jsonb, 'new_name', NULL));
        END IF;
        t := tbls->tkey;
        cols := t->'cols';
        what := format('step %s (%s %s)', stepno, s.kind, rel);

        IF s.kind = 'rename_table' THEN
            IF t->>'new_name' IS NOT NULL THEN
                RAISE EXCEPTION '% renames % a second time', what, rel
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            newname := s.body->>'name';
            IF octet_length(newname) > 63 THEN
                RAISE EXCEPTION 'relation name "%" is longer than 63 bytes (%)', newname, what
                    USING ERRCODE = 'name_too_long',
                          HINT = 'Names of tables and columns are at most 63 bytes; give a shorter one.';
            END IF;
            IF EXISTS (
                    SELECT 1 FROM pg_class x WHERE x.relname = newname
                       AND x.relnamespace = (SELECT relnamespace FROM pg_class WHERE oid = rel)) THEN
                RAISE EXCEPTION 'relation "%" already exists (%)', newname, what
                    USING ERRCODE = 'duplicate_table';
            END IF;
            t := jsonb_set(t, '{new_name}', to_jsonb(newname));
            tbls := jsonb_set(tbls, ARRAY[tkey], t);
            CONTINUE;
        END IF;

        t := jsonb_set(t, '{cols}', cols || steward._migration_column_plan(
                                             rel, s.kind, s.body, stepno, what, cols, user_path));
        tbls := jsonb_set(tbls, ARRAY[tkey], t);
    END LOOP;

    -- Pass 2: expressions and constraints, against the final shapes.
    FOR t IN SELECT x FROM jsonb_each(tbls) e(k, x) ORDER BY (x->>'ord')::int LOOP
        p := steward._migration_table_plan(mig, t, user_path);
        table_rows := table_rows || p.table_row;
        column_rows := column_rows || p.column_rows;
        relids := relids || to_jsonb((t->>'relid')::oid);
    END LOOP;

    PERFORM steward._migration_create(mig, jsonb_build_object(
        'steps', steps, 'started_by', current_user, 'tables', relids,
        'table_rows', table_rows, 'column_rows', column_rows));
END
$$;

-- What ties rel to other tables by inheritance, as the end of a sentence
-- ("table x inherits from it", "it inherits from y", "it is a partition
-- of z"); NULL when nothing does.  A column migration handles only the
-- table's own rows (its trigger fires for them, its backfill and
-- validation read ONLY the table) while ALTER TABLE ADD, RENAME and DROP
-- COLUMN recurse to children: start refuses such a table, validate fails
-- and complete and cleanup refuse one that joined a hierarchy since.
CREATE FUNCTION steward._migration_inheritance(rel regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT format('table %s inherits from it', i.inhrelid::regclass)
           FROM pg_inherits i WHERE i.inhparent = rel ORDER BY i.inhrelid LIMIT 1),
        (SELECT format(CASE WHEN c.relispartition THEN 'it is a partition of %s'
                            ELSE 'it inherits from %s' END, i.inhparent::regclass)
           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
          WHERE i.inhrelid = rel ORDER BY i.inhseqno LIMIT 1))
$$;

-- 55000 when a table of migration mig has joined an inheritance hierarchy
-- since start (steward._migration_inheritance): complete's renames and
-- cleanup's drops would reach tables whose rows the migration never wrote.
CREATE FUNCTION steward._migration_require_alone(mig text, action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t steward.migration_tables;
    other text;
BEGIN
    FOR t IN SELECT * FROM steward.migration_tables x WHERE x.migration = mig AND x.active ORDER BY x.ord LOOP
        other := steward._migration_inheritance(t.relid);
        IF other IS NOT NULL THEN
            RAISE EXCEPTION 'cannot % migration "%": relation "%" joined an inheritance hierarchy (%)',
                    action, mig, steward._relation_name(t.relid), other
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'The migration wrote and filled only the table''s own rows; its column '
                               'changes would reach the other tables of the hierarchy.',
                      HINT = format('Detach them (ALTER TABLE ... NO INHERIT, DETACH PARTITION), or roll '
                                    'the migration back with steward.migration_rollback(%L).', mig);
        END IF;
    END LOOP;
END
$$;

-- A temporary table cannot be migrated (review16 R16-3): the index build
-- runs in a background worker, the backfill and the later steps in other
-- transactions and sessions as other roles, none of which sees another
-- session's temporary table, and the table goes with its session (no
-- sql_drop event: the record would stay active).  0A000 at start, for
-- every step kind, called last by each kind's table check.  The check is
-- the one a column rule or a retention setting meets
-- (steward_refuse_temporary in C).
CREATE FUNCTION steward._migration_refuse_temporary(rel regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_migration_refuse_temporary'
LANGUAGE C STABLE STRICT;

-- Checks on a table a migration wants to change (before anything changes).
CREATE FUNCTION steward._migration_check_table(rel regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char";
    other text;
BEGIN
    SELECT relkind INTO kind FROM pg_class WHERE oid = rel;
    IF kind = 'p' THEN
        RAISE EXCEPTION 'migrations of partitioned tables are not supported: %', rel
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Change its columns with ALTER TABLE on the partitioned table (a partition cannot have columns of its own).';
    ELSIF kind <> 'r' THEN
        RAISE EXCEPTION '"%" is not a table', steward._relation_name(rel) USING ERRCODE = 'wrong_object_type';
    END IF;
    -- ALTER TABLE's column changes reach the whole hierarchy, the
    -- migration's trigger, backfill and validation only this table's rows.
    other := steward._migration_inheritance(rel);
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'cannot migrate relation "%": %', steward._relation_name(rel), other
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'A column migration writes, fills and checks only the table''s own rows, '
                           'while adding, renaming and dropping its columns reaches every table of the '
                           'hierarchy: their values would be lost at cleanup.',
                  HINT = CASE WHEN (SELECT relispartition FROM pg_class WHERE oid = rel)
                              THEN 'Change a partition''s columns with ALTER TABLE on its partitioned table.'
                              ELSE 'Change the columns of an inheritance hierarchy with ALTER TABLE, or detach '
                                   'the tables (ALTER TABLE ... NO INHERIT) and migrate each on its own.' END;
    END IF;
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = rel), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', steward._relation_name(rel)
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'Only the owner of a table may migrate it.';
    END IF;
    IF (SELECT relnamespace FROM pg_class WHERE oid = rel) = 'steward'::regnamespace THEN
        RAISE EXCEPTION 'cannot migrate pg_steward''s own table "%"', steward._relation_name(rel)
            USING ERRCODE = 'feature_not_supported';
    END IF;
    -- The backfill is an UPDATE of every row: users' triggers do not fire
    -- for it (exec.c), but the rewriter would apply their rules.
    SELECT string_agg(quote_ident(r.rulename), ', ' ORDER BY r.rulename) INTO other
      FROM pg_rewrite r WHERE r.ev_class = rel AND r.ev_type = '2' AND r.ev_enabled <> 'D';
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'cannot migrate relation "%": it has rules on UPDATE (%)', steward._relation_name(rel), other
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The backfill updates every row in batches; a rule would rewrite those UPDATEs (run its actions for every batch, or replace them).',
                  HINT = 'Drop the rules before the migration (a trigger does the same and does not fire for the backfill).';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_index WHERE indrelid = rel AND indisprimary) THEN
        RAISE EXCEPTION 'relation "%" has no primary key', steward._relation_name(rel)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'A migration backfills rows in primary-key order, in resumable batches.',
                  HINT = 'Add a primary key first.';
    END IF;
    SELECT t.migration INTO other FROM steward.migration_tables t WHERE t.relid = rel AND t.active;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%" is being changed by migration "%"', steward._relation_name(rel), other
            USING ERRCODE = 'object_in_use',
                  HINT = 'One migration per table at a time: complete and clean up, or roll back, that one first.';
    END IF;
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = rel AND starts_with(attname::text, '_steward_')
                                            AND NOT attisdropped) THEN
        RAISE EXCEPTION 'relation "%" has columns named "_steward_..." (left over by a migration?)', steward._relation_name(rel)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'Column names starting with "_steward_" are reserved for migrations.';
    END IF;
    PERFORM steward._migration_refuse_temporary(rel);
END
$$;

-- GRANT on an object of a migration what the table grants (its owner
-- excepted); USAGE on the schema to the same roles.
CREATE FUNCTION steward._migration_grants(rel regclass, nsp text, obj text)
RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('GRANT %s ON %I.%I TO %s', a.privilege_type, nsp, obj,
                  CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END)
      FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
     WHERE c.oid = rel AND a.grantee <> c.relowner
       AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
    UNION ALL
    SELECT DISTINCT format('GRANT USAGE ON SCHEMA %I TO %s', nsp,
                           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END)
      FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
     WHERE c.oid = rel AND a.grantee <> c.relowner
$$;

-- Column privileges (review8 #8): a role granted some columns only
-- (GRANT SELECT (a, b) ON t) keeps them through a migration.  The GRANTs
-- that give the new column of each changed column of rel what the old
-- column grants (grant options kept; its owner excepted), by the names of
-- before the switch.  Run at start and again at complete (grants made
-- meanwhile); the old column's go with it at cleanup.
CREATE FUNCTION steward._migration_column_grants(mig text, rel regclass)
RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('GRANT %s (%I) ON %s TO %s%s', a.privilege_type, c.expand_new, rel,
                  CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
                  CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
      FROM steward.migration_columns c
      JOIN pg_attribute att ON att.attrelid = rel AND att.attname = c.expand_old AND NOT att.attisdropped
      CROSS JOIN LATERAL aclexplode(att.attacl) a
      LEFT JOIN pg_roles r ON r.oid = a.grantee
     WHERE c.migration = mig AND c.relid = rel AND c.kind = 'pair'
       AND a.grantee <> (SELECT relowner FROM pg_class WHERE oid = rel)
     ORDER BY c.ord, a.grantee, a.privilege_type
$$;

-- The GRANTs on the view of one shape (_migration_view_sql) of what the
-- table's columns it shows grant to roles column by column (security
-- invoker: they need both), and USAGE on its schema to those roles.
CREATE FUNCTION steward._migration_view_column_grants(mig text, tbl regclass, shape text)
RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t steward.migration_tables;
    cols jsonb;
    s record;
    nsp text := CASE WHEN shape = 'new' THEN mig ELSE mig || '_old' END;
    obj text;
BEGIN
    SELECT * INTO t FROM steward.migration_tables x WHERE x.migration = mig AND x.relid = tbl;
    obj := CASE WHEN shape = 'new' THEN coalesce(t.new_name, t.relname) ELSE t.relname END;
    SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]') INTO cols
      FROM steward.migration_columns c WHERE c.migration = mig AND c.relid = tbl;
    s := steward._migration_shape(tbl, cols, shape);
    RETURN QUERY
        WITH g AS (SELECT u.nm, u.i, a.privilege_type, a.grantee,
                          CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS who
                     FROM unnest(s.sources, s.names) WITH ORDINALITY u(src, nm, i)
                     JOIN pg_attribute att ON att.attrelid = tbl AND att.attname = u.src
                     CROSS JOIN LATERAL aclexplode(att.attacl) a
                     LEFT JOIN pg_roles r ON r.oid = a.grantee
                    WHERE a.grantee <> (SELECT relowner FROM pg_class WHERE oid = tbl)
                      AND a.privilege_type IN ('SELECT', 'INSERT', 'UPDATE'))
        SELECT x.stmt FROM (
            SELECT format('GRANT %s (%I) ON %I.%I TO %s', g.privilege_type, g.nm, nsp, obj, g.who) AS stmt,
                   1 AS o, g.grantee, g.i, g.privilege_type FROM g
            UNION ALL
            SELECT DISTINCT format('GRANT USAGE ON SCHEMA %I TO %s', nsp, g.who), 2, g.grantee, 0, '' FROM g) x
         ORDER BY x.o, x.grantee, x.i, x.privilege_type;
END
$$;

-- The view of one shape of a table: "new" in schema <mig>, "old" in
-- <mig>_old.  Plain column references only, so both are automatically
-- updatable; security_invoker, so the table's privileges and row security
-- apply to whoever uses them.
CREATE FUNCTION steward._migration_view_sql(mig text, tbl regclass, shape text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t steward.migration_tables;
    cols jsonb;
    s record;
    list text;
BEGIN
    SELECT * INTO t FROM steward.migration_tables x WHERE x.migration = mig AND x.relid = tbl;
    SELECT coalesce(jsonb_agg(to_jsonb(c)), '[]') INTO cols
      FROM steward.migration_columns c WHERE c.migration = mig AND c.relid = tbl;
    s := steward._migration_shape(tbl, cols, shape);
    SELECT string_agg(format('t.%I AS %I', src, nm), ', ' ORDER BY i) INTO list
      FROM unnest(s.sources, s.names) WITH ORDINALITY u(src, nm, i);
    RETURN format('CREATE VIEW %I.%I WITH (security_invoker = true) AS SELECT %s FROM %s t',
                  CASE WHEN shape = 'new' THEN mig ELSE mig || '_old' END,
                  CASE WHEN shape = 'new' THEN coalesce(t.new_name, t.relname) ELSE t.relname END,
                  list, tbl);
END
$$;

-- Adds the new column of shape c (kind pair or added) of migration mig to
-- rel (in _migration_expand), with an added column's default as the
-- table's.
CREATE FUNCTION steward._migration_add_column(mig text, rel regclass, c steward.migration_columns)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fast boolean;
BEGIN
    -- An added column's immutable default with no up is the
    -- value of the stored rows, as the backfill writes it:
    -- given to ADD COLUMN itself, they read it at once, with no
    -- rewrite (PostgreSQL's missing value; newcomer45 N9).
    -- ADD COLUMN evaluates it: one that fails ("1/0", a value
    -- too long for the type) goes the other way, so that
    -- start's own evaluation reports it (_migration_probe_up)
    -- or, if that passes, only the INSERTs using it fail, as
    -- before.
    -- Analysed as the table's owner (review37 S4): a literal of the
    -- owner's type (a default '{}' for a column of its domain array type
    -- d[]) runs the domain's CHECK through domain_in, as a superuser
    -- running the migration otherwise.
    fast := c.kind = 'added' AND c.up_sql IS NULL AND c.default_sql IS NOT NULL
            AND (steward._migration_exec(rel, 'SELECT steward._migration_fast_default($1, $2)',
                                         ARRAY[c.default_sql, c.new_type]))[1]::boolean;
    IF fast THEN
        BEGIN
            PERFORM steward._migration_exec(rel, format('ALTER TABLE %s ADD COLUMN %I %s%s DEFAULT %s',
                    rel, c.expand_new, c.new_type, steward._migration_collate_clause(rel, c),
                    steward._migration_bind(mig, rel, 'new', c.default_sql, '{}', NULL)));
        EXCEPTION WHEN OTHERS THEN
            fast := false;
        END;
    END IF;
    IF NOT fast THEN
        PERFORM steward._migration_exec(rel, format('ALTER TABLE %s ADD COLUMN %I %s%s',
                rel, c.expand_new, c.new_type, steward._migration_collate_clause(rel, c)));
    END IF;
    -- An added column's default is the table's (old inserts
    -- need it too); a changed column's default lives on the
    -- new view until the switch, so that the trigger can tell
    -- which shape an INSERT was written in.
    IF c.kind = 'added' AND c.default_sql IS NOT NULL AND NOT fast THEN
        PERFORM steward._migration_exec(rel, format(
            'ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', rel, c.expand_new,
            steward._migration_bind(mig, rel, 'new', c.default_sql, '{}', NULL)));
    END IF;
END
$$;

-- Adds the marker column _steward_side to rel (in _migration_expand, after
-- the new columns).  NULL marks a row the backfill has not filled yet;
-- when the backfill would write nothing but the marker into any row
-- (_migration_needs_fill: no "up", and the added columns' defaults are
-- PostgreSQL's missing values, or none), every stored row is filled
-- already, so the column is added with the missing value 'o' (written in
-- the old shape) and no default for later rows, as ADD COLUMN ... DEFAULT
-- then DROP DEFAULT leave it: catalog only, no rewrite, and the backfill
-- then has no row to write (mig16: it wrote every row of the table, 27 MB
-- of WAL for 100k rows, to set the marker).
CREATE FUNCTION steward._migration_add_marker(mig text, rel regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF steward._migration_needs_fill(mig, rel) THEN
        PERFORM steward._migration_exec(rel, format('ALTER TABLE %s ADD COLUMN _steward_side "char"', rel));
    ELSE
        PERFORM steward._migration_exec(rel, format(
            'ALTER TABLE %s ADD COLUMN _steward_side "char" DEFAULT %L', rel, 'o'));
        PERFORM steward._migration_exec(rel, format(
            'ALTER TABLE %s ALTER COLUMN _steward_side DROP DEFAULT', rel));
    END IF;
END
$$;

-- Would the backfill of rel in migration mig write anything into a row
-- but its marker?  Yes when a column of the new shape is computed by an
-- "up" (every changed column's), or filled from an added column's
-- "default" that the stored rows do not read already as PostgreSQL's
-- missing value (not immutable, a domain with constraints, one that
-- failed in ADD COLUMN: atthasmissing false), or that has a "check" or
-- "references" (the backfill's write checks them row by row, naming the
-- row that fails).  Called after the new columns are added.
CREATE FUNCTION steward._migration_needs_fill(mig text, rel regclass)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (
        SELECT FROM steward.migration_columns c
         WHERE c.migration = mig AND c.relid = rel AND c.kind IN ('pair', 'added')
           AND (c.kind = 'pair' OR c.up_sql IS NOT NULL
                OR (c.default_sql IS NOT NULL
                    AND (c.check_sql IS NOT NULL OR c.fk_table IS NOT NULL
                         OR NOT coalesce((SELECT a.atthasmissing FROM pg_attribute a
                                           WHERE a.attrelid = rel AND a.attname = c.expand_new
                                             AND NOT a.attisdropped), false)))))
$$;

-- Expand (inside migration_start, all tables locked): new and shadow
-- columns, NOT VALID constraints, the marker column, the dual-write
-- trigger, the two schemas of views.
CREATE FUNCTION steward._migration_expand(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t steward.migration_tables;
    c steward.migration_columns;
    first regclass;
    stmt text;
    nsp text;
    made text[];
BEGIN
    -- Publications naming the tables, checked before anything changes;
    -- the replica identity index complete moves to a key of the new shape.
    FOR t IN SELECT * FROM steward.migration_tables x WHERE x.migration = mig AND x.active ORDER BY x.ord LOOP
        PERFORM steward._migration_record('update', mig, jsonb_build_object(
            'table', t.relid::oid, 'publications', steward._migration_check_publications(mig, t.relid),
            'replica_identity', (SELECT f.idx FROM steward._migration_identity_follower(mig, t.relid) f
                                  WHERE f.follower IS NOT NULL)));
    END LOOP;
    FOR t IN SELECT * FROM steward.migration_tables x WHERE x.migration = mig AND x.active ORDER BY x.ord LOOP
        first := coalesce(first, t.relid);
        made := '{}';
        FOR c IN SELECT * FROM steward.migration_columns x
                  WHERE x.migration = mig AND x.relid = t.relid ORDER BY x.ord LOOP
            IF c.kind IN ('pair', 'added') THEN
                PERFORM steward._migration_add_column(mig, t.relid, c);
                PERFORM steward._migration_add_constraints(mig, t.relid, c);
                made := made || ARRAY[CASE WHEN c.not_null THEN c.not_null_name END,
                                      CASE WHEN c.check_sql IS NOT NULL THEN c.check_name END,
                                      CASE WHEN c.fk_table IS NOT NULL THEN c.fk_name END]::text[];
            END IF;
        END LOOP;
        FOR stmt IN SELECT steward._migration_column_grants(mig, t.relid) LOOP
            PERFORM steward._migration_exec(t.relid, stmt);
        END LOOP;
        PERFORM steward._migration_add_marker(mig, t.relid);
        -- The trigger's arguments: the migration, then the NOT VALID
        -- constraints it added, which a table restored without its record
        -- still names (migration_forget drops those and no other).
        PERFORM steward._migration_exec(t.relid, format(
            'CREATE TRIGGER zz_steward_migration BEFORE INSERT OR UPDATE ON %s '
            'FOR EACH ROW EXECUTE FUNCTION steward._migration_trigger(%s)', t.relid,
            array_to_string(ARRAY(SELECT quote_literal(a)
                                    FROM unnest(mig || array_remove(made, NULL)) WITH ORDINALITY u(a, i)
                                   ORDER BY i), ', ')));
        -- ALWAYS: a logical-replication subscriber's apply worker writes
        -- under session_replication_role = replica; its writes need both
        -- shapes too (recheck8 N4).
        PERFORM steward._migration_exec(t.relid, format(
            'ALTER TABLE %s ENABLE ALWAYS TRIGGER zz_steward_migration', t.relid));
        -- Subscribers keep receiving the old shape's columns only.
        PERFORM steward._migration_publish(mig, t.relid, 'old', false, false);
    END LOOP;

    PERFORM steward._migration_exec(first, format('CREATE SCHEMA %I', mig));
    PERFORM steward._migration_exec(first, format('CREATE SCHEMA %I', mig || '_old'));
    FOR t IN SELECT * FROM steward.migration_tables x WHERE x.migration = mig AND x.active ORDER BY x.ord LOOP
        PERFORM steward._migration_exec(t.relid, steward._migration_view_sql(mig, t.relid, 'new'));
        PERFORM steward._migration_exec(t.relid, steward._migration_view_sql(mig, t.relid, 'old'));
        FOR c IN SELECT * FROM steward.migration_columns x
                  WHERE x.migration = mig AND x.relid = t.relid AND x.kind = 'pair'
                    AND x.default_sql IS NOT NULL LOOP
            PERFORM steward._migration_exec(t.relid, format(
                'ALTER VIEW %I.%I ALTER COLUMN %I SET DEFAULT %s', mig,
                coalesce(t.new_name, t.relname), c.new_name,
                steward._migration_bind(mig, t.relid, 'new', c.default_sql, '{}', NULL)));
        END LOOP;
        FOREACH nsp IN ARRAY ARRAY[mig, mig || '_old'] LOOP
            FOR stmt IN SELECT steward._migration_grants(t.relid, nsp,
                            CASE WHEN nsp = mig THEN coalesce(t.new_name, t.relname) ELSE t.relname END)
                        UNION ALL
                        SELECT steward._migration_view_column_grants(mig, t.relid,
                            CASE WHEN nsp = mig THEN 'new' ELSE 'old' END) LOOP
                PERFORM steward._migration_exec(t.relid, stmt);
            END LOOP;
        END LOOP;
        PERFORM steward._migration_notice_column_grantees(mig, t.relid);
    END LOOP;
END
$$;

-- Roles with column privileges only on rel cannot use migration mig's
-- views (review10 F11): a security_invoker view's query reads every
-- column.  Raises a NOTICE naming them; nothing else.
CREATE FUNCTION steward._migration_notice_column_grantees(mig text, rel regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    roles text;
BEGIN
    SELECT string_agg(DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END, ', ')
      INTO roles
      FROM pg_attribute att CROSS JOIN LATERAL aclexplode(att.attacl) a
      LEFT JOIN pg_roles r ON r.oid = a.grantee
     WHERE att.attrelid = rel AND att.attnum > 0 AND NOT att.attisdropped
       AND a.grantee <> (SELECT relowner FROM pg_class WHERE oid = rel)
       AND NOT EXISTS (SELECT 1 FROM pg_class pc, aclexplode(pc.relacl) x
                        WHERE pc.oid = rel AND x.grantee = a.grantee AND x.privilege_type = 'SELECT');
    IF roles IS NOT NULL THEN
        PERFORM steward._report('notice',
                format('role(s) %s have column privileges on relation "%s" but not SELECT on the table: they cannot use the views of migration "%s"', roles, steward._relation_name(rel), mig),
                detail => 'The views select every column of the table, and PostgreSQL checks each against the role using a security_invoker view.',
                hint => 'Such roles keep using the table itself: the old shape until complete, the new one after it.');
    END IF;
END
$$;

-- NOT VALID constraints of a new column (validated by migration_validate).
CREATE FUNCTION steward._migration_add_constraints(mig text, rel regclass,
                                                   c steward.migration_columns)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF c.not_null THEN
        PERFORM steward._migration_exec(rel, format(
            'ALTER TABLE %s ADD CONSTRAINT %I CHECK (%I IS NOT NULL) NOT VALID',
            rel, c.not_null_name, c.expand_new));
    END IF;
    IF c.check_sql IS NOT NULL THEN
        PERFORM steward._migration_exec(rel, format(
            'ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s) NOT VALID', rel, c.check_name,
            steward._migration_bind(mig, rel, 'new', c.check_sql, c.check_params, NULL)));
    END IF;
    IF c.fk_table IS NOT NULL THEN
        PERFORM steward._migration_exec(rel, format(
            'ALTER TABLE %s ADD CONSTRAINT %I FOREIGN KEY (%I) REFERENCES %s (%I) ON DELETE %s NOT VALID',
            rel, c.fk_name, c.expand_new, c.fk_table, c.fk_column, c.fk_on_delete));
    END IF;
END
$$;

-- The column numbers the row filter of relation relid in publication
-- pubid reads, from its node tree (relayout.c); NULL without a filter.
CREATE FUNCTION steward._publication_filter_columns(pubid oid, relid oid)
RETURNS int2[]
AS 'MODULE_PATHNAME', 'steward_publication_filter_columns'
LANGUAGE C STABLE STRICT;
REVOKE ALL ON FUNCTION steward._publication_filter_columns(oid, oid) FROM PUBLIC;

-- The publications that publish rel, one row each (by name): all_tables
-- (FOR ALL TABLES), by_schema (FOR TABLES IN SCHEMA of rel's schema),
-- by_name (rel listed: cols its column list, NULL for none, qual its row
-- filter), has_schemas (any FOR TABLES IN SCHEMA element: PostgreSQL 15
-- then takes no column list), changes_rows (it publishes UPDATE or
-- DELETE: a column list must then cover the replica identity, and
-- REPLICA IDENTITY FULL takes none).  Read by a relayout (relayout.sql)
-- and a column migration (F10).
CREATE FUNCTION steward._publications_of(rel regclass,
                                         OUT pubname name, OUT pubowner oid, OUT pubviaroot boolean,
                                         OUT all_tables boolean, OUT by_schema boolean,
                                         OUT by_name boolean, OUT has_schemas boolean,
                                         OUT changes_rows boolean, OUT cols text[], OUT qual text)
RETURNS SETOF record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT x.pubname, x.pubowner, x.pubviaroot, x.puballtables, s.by_schema, r.oid IS NOT NULL,
           EXISTS (SELECT 1 FROM pg_publication_namespace n WHERE n.pnpubid = x.oid),
           x.pubupdate OR x.pubdelete,
           (SELECT array_agg(a.attname::text ORDER BY a.attnum) FROM pg_attribute a
             WHERE a.attrelid = rel AND a.attnum = ANY (r.prattrs::int2[])),
           pg_get_expr(r.prqual, r.prrelid)
      FROM pg_publication x
      LEFT JOIN pg_publication_rel r ON r.prpubid = x.oid AND r.prrelid = rel
      CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM pg_publication_namespace n
                                          WHERE n.pnpubid = x.oid
                                            AND n.pnnspid = (SELECT c.relnamespace FROM pg_class c
                                                              WHERE c.oid = rel))) s(by_schema)
     WHERE x.puballtables OR r.oid IS NOT NULL OR s.by_schema
     ORDER BY x.pubname
$$;

-- ALTER PUBLICATION pub ADD TABLE rel with column list cols (NULL: none)
-- and row filter qual (NULL: none).
CREATE FUNCTION steward._publication_add_sql(pub name, rel regclass, cols text[], qual text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('ALTER PUBLICATION %I ADD TABLE %s%s%s', pub, rel,
                  coalesce(' (' || (SELECT string_agg(quote_ident(c), ', ' ORDER BY i)
                                      FROM unnest(cols) WITH ORDINALITY u(c, i)) || ')', ''),
                  coalesce(' WHERE (' || qual || ')', ''))
$$;

-- Whether index is one PostgreSQL takes as a replica identity by what
-- pg_index says of it: unique, not deferrable, valid, not partial, over
-- no expression and without INCLUDE columns (ALTER TABLE ... REPLICA
-- IDENTITY USING INDEX refuses the others).  Whether its columns are NOT
-- NULL is not asked here (_migration_identity_key asks it of the old
-- shape's).  NULL when index is no index.  The one test of both
-- _migration_identity_key and _migration_identity_new_key.
CREATE FUNCTION steward._migration_identity_usable(index oid)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT i.indisunique AND i.indimmediate AND i.indisvalid AND i.indpred IS NULL AND i.indexprs IS NULL
           AND i.indnatts = i.indnkeyatts
      FROM pg_index i
     WHERE i.indexrelid = index
$$;

-- _migration_identity_follower for any index index of rel (NULL: the
-- replica identity index, none when the identity is not USING INDEX):
-- the old shape's columns under their expand names (switched false:
-- start, complete before its renames, the DDL guard before complete) or
-- their switched names (true: a rollback after complete looking for the
-- old key again, review24 V2).  An index PostgreSQL would not take as
-- the identity (not unique, deferrable, partial, over an expression, a
-- nullable column, invalid) has why and no follower, and so has one
-- whose operator class or collation is not its column's default: the key
-- a step builds uses the defaults, and a subscriber would match rows by
-- another equality than the publisher's key enforces (relay3).
CREATE FUNCTION steward._migration_identity_key(mig text, rel regclass, index oid, switched boolean,
                                                OUT idx name, OUT col name,
                                                OUT follower name, OUT why text)
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ind record;
    kind text;
    mapped text[];
    nullable name;
BEGIN
    SELECT i.indexrelid, x.relname, i.indnatts, i.indnkeyatts, i.indkey::int2[] AS keys, am.amname,
           steward._migration_identity_usable(i.indexrelid)
           AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = rel
                              AND a.attnum = ANY (i.indkey::int2[]) AND NOT a.attnotnull) AS usable,
           (SELECT string_agg(format('%I', a.attname), ', ' ORDER BY a.attnum)
              FROM unnest(i.indkey::int2[], i.indclass::oid[], i.indcollation::oid[]) k(n, opc, coll)
              JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = k.n
              JOIN pg_opclass o ON o.oid = k.opc
             WHERE NOT o.opcdefault OR k.coll <> a.attcollation) AS odd INTO ind
      FROM pg_index i JOIN pg_class k ON k.oid = i.indrelid JOIN pg_class x ON x.oid = i.indexrelid
      JOIN pg_am am ON am.oid = x.relam
     WHERE i.indrelid = rel
       AND CASE WHEN index IS NULL THEN i.indisreplident AND k.relreplident = 'i' ELSE i.indexrelid = index END;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- A column a drop_column step drops first, else the first replaced.
    SELECT a.attname, c.kind INTO col, kind
      FROM pg_attribute a
      JOIN steward.migration_columns c ON c.migration = mig AND c.relid = rel AND c.kind IN ('pair', 'dropped')
                                      AND a.attname = CASE WHEN switched THEN c.switched_old ELSE c.expand_old END
     WHERE a.attrelid = rel AND a.attnum = ANY (ind.keys)
     ORDER BY c.kind = 'dropped' DESC, a.attnum LIMIT 1;
    IF col IS NULL THEN
        RETURN;
    END IF;
    idx := ind.relname;
    why := CASE WHEN kind = 'dropped' THEN format('a drop_column step drops column %I', col)
                WHEN ind.indnatts <> ind.indnkeyatts THEN 'the index has INCLUDE columns, and the key a step builds has none'
                WHEN NOT ind.usable OR ind.amname <> 'btree' THEN 'PostgreSQL does not take the index as a replica identity'
                WHEN ind.odd IS NOT NULL
                THEN format('the index uses an operator class or collation other than the default of column(s) %s, '
                            'and the key a step builds uses the defaults', ind.odd) END;
    IF why IS NOT NULL THEN
        RETURN;
    END IF;
    -- Its columns by their new-shape names (a renamed one by its new name).
    SELECT array_agg(coalesce(c.new_name, a.attname)::text ORDER BY 1), min(c.new_name) FILTER (WHERE c.kind = 'pair' AND NOT c.not_null)
      INTO mapped, nullable
      FROM pg_attribute a
      LEFT JOIN steward.migration_columns c ON c.migration = mig AND c.relid = rel AND c.kind IN ('pair', 'renamed')
                                           AND a.attname = CASE WHEN switched THEN c.switched_old ELSE c.expand_old END
     WHERE a.attrelid = rel AND a.attnum = ANY (ind.keys);
    IF nullable IS NOT NULL THEN
        why := format('its new column %I may hold NULL ("not_null": false), and a replica identity index covers NOT NULL columns only',
                      nullable);
        RETURN;
    END IF;
    SELECT min(c.unique_name) INTO follower
      FROM steward.migration_columns c
     WHERE c.migration = mig AND c.relid = rel AND c.kind = 'pair' AND c.unique_method = 'btree'
       AND (SELECT array_agg(n ORDER BY n) FROM (SELECT c.new_name::text AS n
                                                 UNION SELECT unnest(c.unique_with)) w)
           = (SELECT array_agg(n ORDER BY n) FROM unnest(mapped) n);
    IF follower IS NULL THEN
        why := format('no step restates its key (%s) as a btree "unique" of the new shape',
                      array_to_string(ARRAY(SELECT quote_ident(n) FROM unnest(mapped) n), ', '));
    END IF;
END
$$;

-- The replica identity of a column migration's table rel and whether it
-- can follow the migration (relay2): idx, the identity index when it
-- covers a column the migration replaces or drops (col, the first such;
-- both NULL otherwise), and follower, the unique key a step builds over
-- the same columns of the new shape (an alter_column's btree "unique",
-- with "with" naming the others; the new column NOT NULL), which
-- complete makes the identity in its transaction, so that no moment is
-- without one: before complete the publications' column lists are the
-- old shape's and cover idx, from complete the new shape's and cover the
-- follower, and the subscribers see the same key columns by name.  Core's
-- ALTER COLUMN TYPE keeps the identity on the rebuilt index the same way.
-- When none can follow, why says so.  The wrapper of
-- _migration_identity_key for the identity index itself before complete.
CREATE FUNCTION steward._migration_identity_follower(mig text, rel regclass,
                                                     OUT idx name, OUT col name,
                                                     OUT follower name, OUT why text)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT k.idx, k.col, k.follower, k.why FROM steward._migration_identity_key(mig, rel, NULL, false) k
$$;


-- After complete: the key of the new shape that index (an index of rel
-- PostgreSQL takes as the replica identity) stands for, the unique_name
-- of the alter_column whose btree "unique" covers the same columns (the
-- physical names are the new shape's now), or NULL.  The key itself, or
-- an index of the user's over the same columns, is the identity a
-- rollback moves back to the old index (_migration_identity_back).
CREATE FUNCTION steward._migration_identity_new_key(mig text, rel regclass, index oid)
RETURNS name
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.unique_name
      FROM pg_index i
      JOIN steward.migration_columns c ON c.migration = mig AND c.relid = rel AND c.kind = 'pair'
                                      AND c.unique_method = 'btree'
     WHERE i.indexrelid = index AND i.indrelid = rel AND steward._migration_identity_usable(i.indexrelid)
       AND (SELECT array_agg(n ORDER BY n) FROM (SELECT c.new_name::text AS n UNION SELECT unnest(c.unique_with)) w)
           = (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a
               WHERE a.attrelid = rel AND a.attnum = ANY (i.indkey::int2[]))
     ORDER BY c.ord LIMIT 1
$$;

-- Whether index, as rel's replica identity, is one that migration mig
-- carries itself (relay3): its table's identity followed the migration
-- from start (migration_tables.replica_identity) and index is an old-shape
-- index a key of the steps replaces (before complete, switched false:
-- complete moves the identity to that key) or a new-shape index over such
-- a key's columns (after complete: a rollback moves it back to the old
-- index, the cleanup keeps it).  Such an identity is covered by each
-- shape's column list in turn and no step drops it without moving it
-- first, so the DDL guard (guard_replica_identity) and the publication
-- check (_migration_check_publication_changes) let it be set, and complete
-- follows it under whatever name it has now.
CREATE FUNCTION steward._migration_identity_carried(mig text, rel regclass, index oid, switched boolean)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM steward.migration_tables t
                    WHERE t.migration = mig AND t.relid = rel AND t.active AND t.replica_identity IS NOT NULL)
       AND index IS NOT NULL
       AND CASE WHEN switched THEN steward._migration_identity_new_key(mig, rel, index) IS NOT NULL
                ELSE (SELECT k.follower IS NOT NULL FROM steward._migration_identity_key(mig, rel, index, false) k) END
$$;

-- The HINT of start's refusal of a replica identity that cannot follow
-- the migration (f from _migration_identity_follower).
CREATE FUNCTION steward._migration_identity_hint(rel regclass, f record)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN CASE WHEN f.why LIKE 'a drop_column step%' THEN ''
                WHEN f.why LIKE 'the index has INCLUDE%' THEN 'Make a unique index over the same columns without INCLUDE the identity before the start (the step''s key then replaces it); or '
                WHEN f.why LIKE 'the index uses an operator%' THEN 'Make a unique index over the same columns with their default operator classes and collations the identity before the start (the step''s key then replaces it); or '
                WHEN f.why LIKE 'its new column%' THEN 'Leave the new column NOT NULL (drop "not_null": false) so that the identity moves to the key the step builds at complete; or '
                ELSE 'Restate the key in the step ("unique": true, with "with" naming its other columns) so that the identity moves to it at complete; or ' END
           || format('ALTER TABLE %s REPLICA IDENTITY DEFAULT (its primary key; or USING INDEX of an index without column %I) '
                     'first, and after the cleanup set it to an index over the columns that stay.', rel, f.col);
END
$$;

-- The publications of a column migration's table rel (F10), checked
-- before _migration_expand changes it.  The migration adds columns
-- (_steward_side, the new shape's; the old shape's stay, renamed, until
-- cleanup), and a native subscriber whose table lacks a published column
-- stops applying ("is missing replicated column"): so a publication
-- naming the table without a column list gets one, of the shape its
-- subscribers have, at each step (_migration_publish).  A column list
-- or row filter over a column the migration replaces or drops was
-- refused already (_migration_check_column_users: it depends on the
-- column); one over other columns is left as it is.  Refused (55000):
-- FOR ALL TABLES and FOR TABLES IN SCHEMA (every column published, no
-- column list possible); a publication naming the table without a column
-- list that PostgreSQL 15 would not let take one (it has FOR TABLES IN
-- SCHEMA elements; it publishes UPDATE or DELETE of a table with REPLICA
-- IDENTITY FULL); a replica identity index over a column the migration
-- replaces, when UPDATE or DELETE is published (the new shape's list
-- would not cover it: the publisher's UPDATEs would fail), and published
-- or not (the cleanup would drop the index with the column, leaving the
-- identity naming none: pub5).  42501 unless
-- the caller is a member of each such publication's owner (ALTER
-- PUBLICATION).  Returns the publications to record
-- (migration_tables.publications).
CREATE FUNCTION steward._migration_check_publications(mig text, rel regclass)
RETURNS name[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
    ident "char" := (SELECT c.relreplident FROM pg_class c WHERE c.oid = rel);
    f record := steward._migration_identity_follower(mig, rel);
    -- A column of the replica identity index the migration replaces or
    -- drops, when no key of the steps can take the identity over.
    col text := CASE WHEN f.follower IS NULL THEN f.col END;
    pinned name[] := '{}';
BEGIN
    FOR p IN SELECT * FROM steward._publications_of(rel) LOOP
        IF p.all_tables OR p.by_schema THEN
            RAISE EXCEPTION 'relation "%" is published by publication "%" (%), which would publish migration "%"''s columns too',
                    steward._relation_name(rel), p.pubname, CASE WHEN p.all_tables THEN 'FOR ALL TABLES' ELSE 'FOR TABLES IN SCHEMA' END, mig
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = 'A migration adds columns to the table (_steward_side, the new shape''s, the old shape''s '
                               'under reserved names after complete): a subscriber whose table lacks a published column '
                               'stops applying changes. Such a publication publishes every column and takes no column list.',
                      HINT = 'Publish the table by name instead (CREATE PUBLICATION ... FOR TABLE ...): a migration '
                             'gives it a column list of the shape the subscribers have.';
        END IF;
        CONTINUE WHEN p.cols IS NOT NULL;
        IF p.has_schemas THEN
            RAISE EXCEPTION 'publication "%" publishes relation "%" without a column list and cannot take one', p.pubname, steward._relation_name(rel)
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('Migration "%s" adds columns to the table, which its subscribers lack; PostgreSQL 15 '
                                      'takes no column list in a publication with FOR TABLES IN SCHEMA elements.', mig),
                      HINT = format('Publish the table from a publication of tables only (ALTER PUBLICATION %I DROP TABLE %s; '
                                    'CREATE PUBLICATION ... FOR TABLE %s).', p.pubname, rel, rel);
        END IF;
        IF p.changes_rows AND ident = 'f' THEN
            RAISE EXCEPTION 'publication "%" publishes updates or deletes of relation "%", which has REPLICA IDENTITY FULL',
                    p.pubname, steward._relation_name(rel)
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('Migration "%s" gives the table a column list in the publication, so that its '
                                      'subscribers do not receive the migration''s columns, and PostgreSQL 15 refuses '
                                      'UPDATE and DELETE of a table with REPLICA IDENTITY FULL published with a column list.', mig),
                      HINT = format('ALTER TABLE %s REPLICA IDENTITY DEFAULT (its primary key) for the migration, and set '
                                    'it back after the cleanup or rollback.', rel);
        END IF;
        IF p.changes_rows AND col IS NOT NULL THEN
            RAISE EXCEPTION 'the replica identity of relation "%" covers column "%", which migration "%" replaces',
                    steward._relation_name(rel), col, mig
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('From complete publication "%s" publishes the new shape''s columns, without that one: '
                                      'UPDATE and DELETE of the table would fail, for a column list must cover the '
                                      'replica identity; it cannot move to a key of the new shape: %s.', p.pubname, f.why),
                      HINT = steward._migration_identity_hint(rel, f);
        END IF;
        IF NOT pg_has_role(p.pubowner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of publication % to migrate "%"', quote_ident(p.pubname), steward._relation_name(rel)
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'The migration gives the table a column list in the publication at start, complete, '
                               'cleanup and rollback, so that its subscribers receive the columns they have.';
        END IF;
        pinned := pinned || p.pubname;
    END LOOP;
    -- Published or not, the cleanup would drop that index with the
    -- column and leave the identity naming no index (pub5).
    IF col IS NOT NULL THEN
        RAISE EXCEPTION 'the replica identity of relation "%" covers column "%", which migration "%" drops at cleanup',
                steward._relation_name(rel), col, mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('The cleanup would drop the index with the column and leave the table''s replica identity '
                                  'naming no index, as NOTHING (no old key decoded; UPDATE and DELETE refused once '
                                  'published); it cannot move to a key of the new shape: %s.', f.why),
                  HINT = steward._migration_identity_hint(rel, f);
    END IF;
    RETURN pinned;
END
$$;

-- The columns of one shape ('old', 'new') of a column migration's table
-- rel as its physical columns hold them now (switched: after complete's
-- renames), for a publication's column list (F10): never _steward_side,
-- a column of the other shape only, or a generated one (never published).
CREATE FUNCTION steward._migration_published(mig text, rel regclass, shape text, switched boolean)
RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ARRAY(SELECT a.attname::text FROM pg_attribute a
                  WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
                    AND a.attname <> '_steward_side'
                    AND NOT EXISTS (SELECT 1 FROM steward.migration_columns c
                                     WHERE c.migration = mig AND c.relid = rel
                                       AND a.attname = CASE
                                           WHEN shape = 'old' AND c.kind IN ('pair', 'added')
                                               THEN CASE WHEN switched THEN c.switched_new ELSE c.expand_new END
                                           WHEN shape = 'new' AND c.kind IN ('pair', 'dropped')
                                               THEN CASE WHEN switched THEN c.switched_old ELSE c.expand_old END END)
                  ORDER BY a.attnum)
$$;

-- Each publication that named rel, a column migration's table, without
-- a column list (recorded at start by _migration_check_publications, or
-- found now: one that named it since) publishes the columns of one shape
-- (F10): 'old' from start to complete and before a rollback's DDL, 'new'
-- from complete (switched: after its renames).  Its subscribers never
-- receive _steward_side or a column of the other shape.  final (after the
-- cleanup's or a rollback's DDL): no column list again.  ALTER
-- PUBLICATION ... DROP TABLE, ADD TABLE with the row filter kept, only
-- where the list changes, as the caller (a member of the publication's
-- owner, checked at start: else ALTER PUBLICATION's own 42501).
CREATE FUNCTION steward._migration_publish(mig text, rel regclass, shape text, switched boolean,
                                           final boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    recorded name[];
    added name[] := '{}';
    p record;
    want text[];
BEGIN
    SELECT coalesce(t.publications, '{}') INTO recorded
      FROM steward.migration_tables t WHERE t.migration = mig AND t.relid = rel;
    FOR p IN SELECT * FROM steward._publications_of(rel) x
              WHERE x.by_name AND (x.cols IS NULL OR x.pubname = ANY (recorded)) LOOP
        IF NOT p.pubname = ANY (recorded) THEN
            added := added || p.pubname;
        END IF;
        want := CASE WHEN NOT final THEN steward._migration_published(mig, rel, shape, switched) END;
        CONTINUE WHEN want IS NOT DISTINCT FROM p.cols;
        EXECUTE format('ALTER PUBLICATION %I DROP TABLE %s', p.pubname, rel);
        EXECUTE steward._publication_add_sql(p.pubname, rel, want, p.qual);
    END LOOP;
    IF added <> '{}' AND NOT final THEN
        PERFORM steward._migration_record('update', mig, jsonb_build_object(
            'table', rel::oid, 'publications', recorded || added));
    END IF;
END
$$;

CREATE FUNCTION steward.migration_start(name text, steps jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_migration_start'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.migration_start(text, jsonb) IS
  'expand: add the new shape (columns, NOT VALID constraints), turn on dual writes, create schema <name> with views of the new shape';

--------------------------------------------------------------------------
-- migration_backfill
--------------------------------------------------------------------------

-- One backfill batch of one table (called by steward._run_batches): up for
-- the next rows in key order whose marker is NULL, skipping rows other
-- transactions hold; progress and checkpoint in the same transaction.
-- whole: the batch was the range form, which wrote every unfilled row
-- after last_key up to next_key (the skip-locked form may skip some).
-- With "interleave" k > 1 in job (steward.migration_backfill), the batch is
-- one stripe of a window of k * batch_size rows (_migration_stripe_batch):
-- a stripe before the window's last returns whole NULL, next_key the
-- window's end, and leaves the checkpoint where it was, so the rows before
-- the checkpoint are still all filled after any crash.
CREATE FUNCTION steward._migration_batch(job jsonb, last_key text[], batch_size integer,
                                         retries integer, OUT moved bigint, OUT next_key text[],
                                         OUT whole boolean)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    res text[];
    tbl regclass := (job->>'relid')::oid::regclass;
    after text := CASE WHEN last_key IS NULL THEN 'first' ELSE 'next' END;
    k integer := greatest(coalesce((job->>'interleave')::integer, 1), 1);
    stripe boolean := false;
BEGIN
    BEGIN
        IF k > 1 THEN
            res := steward._migration_stripe_batch(job, last_key, batch_size, k);
            stripe := res IS NOT NULL AND res[3] IS NULL;
            whole := res[3]::boolean;
        END IF;
        IF res IS NULL THEN
            res := steward._migration_range_batch(job, last_key, batch_size);
            whole := res IS NOT NULL;
        END IF;
        IF res IS NULL THEN
            res := steward._migration_exec(tbl, job->>after, ARRAY[last_key::text, batch_size::text], true);
        END IF;
    EXCEPTION
        WHEN serialization_failure OR deadlock_detected OR lock_not_available THEN
            RAISE;
        WHEN OTHERS THEN
            -- A row the step cannot map (22012, 23514...): named, with
            -- the next step (review10 F4); a stripe's rows lie anywhere
            -- in its window.
            PERFORM steward._migration_batch_failed(job, last_key, least(batch_size::bigint * k, 2147483647)::integer);
            RAISE;
    END;
    moved := res[1]::bigint;
    next_key := res[2]::text[];
    PERFORM steward._migration_record('update', job->>'name', jsonb_build_object(
        'add_rows', moved, 'add_batches', CASE WHEN moved > 0 THEN 1 ELSE 0 END,
        'add_retries', retries, 'last_batch_at', clock_timestamp(),
        'table', job->>'relid') ||
        CASE WHEN moved > 0 AND NOT stripe THEN jsonb_build_object('last_key', to_jsonb(next_key))
             ELSE '{}'::jsonb END);
END
$$;

-- A backfill batch failed on some row: find the first of the batch's rows
-- (unfilled, after last_key in key order, at most batch_size) whose
-- own update fails, and raise its error naming the migration, the table,
-- the row's key and the next step, worded for what fills the new columns:
-- "up" expressions, an added column's "default", or both (the caller's batch, and every row
-- updated here, are rolled back with it).  Rows other transactions hold
-- are passed over.  Returns when no single row fails (the caller then
-- raises the batch's own error).
CREATE FUNCTION steward._migration_batch_failed(job jsonb, last_key text[], batch_size integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mig text := job->>'name';
    tbl regclass := (job->>'relid')::oid::regclass;
    l record;
    t steward.migration_tables;
    keys text[];
    k text[];
    one text;
    saved text := current_setting('lock_timeout');
    code text;
    msg text;
    detail text;
    keytext text;
    sources text;
BEGIN
    SELECT * INTO l FROM steward._migration_batch_lists(mig, tbl);
    SELECT * INTO t FROM steward.migration_tables x WHERE x.migration = mig AND x.relid = tbl;
    -- What the batch writes into the new columns, for the DETAIL and HINT
    -- (newcomer45 N10: a column filled from its default has no "up").
    SELECT CASE WHEN bool_or(c.up_sql IS NULL) AND bool_or(c.up_sql IS NOT NULL) THEN 'both'
                WHEN bool_or(c.up_sql IS NULL) THEN 'default' ELSE 'up' END
      INTO sources
      FROM steward.migration_columns c
     WHERE c.migration = mig AND c.relid = tbl AND c.kind IN ('pair', 'added')
       AND (c.up_sql IS NOT NULL OR c.default_sql IS NOT NULL);
    keys := steward._migration_exec(tbl, format(
        'SELECT ARRAY(SELECT ARRAY[%s]::text FROM ONLY %s WHERE _steward_side IS NULL%s ORDER BY %s LIMIT $2::integer)',
        l.key_texts, tbl, CASE WHEN last_key IS NULL THEN '' ELSE format(' AND (%s) > (%s)', l.keys, l.after_key) END,
        l.keys), ARRAY[last_key::text, batch_size::text], true);
    keys := keys[1]::text[];
    one := format('UPDATE ONLY %s SET %s_steward_side = ''o'' WHERE _steward_side IS NULL AND (%s) = (%s)',
                  tbl, coalesce(l.sets || ', ', ''), l.keys, l.until_key);
    FOREACH keytext IN ARRAY coalesce(keys, '{}') LOOP
        k := keytext::text[];
        BEGIN
            PERFORM set_config('lock_timeout', '100ms', true);
            PERFORM steward._migration_exec(tbl, one, ARRAY[NULL, NULL, k::text], true);
            PERFORM set_config('lock_timeout', saved, true);
        EXCEPTION
            WHEN lock_not_available OR serialization_failure OR deadlock_detected THEN
                PERFORM set_config('lock_timeout', saved, true);
            WHEN OTHERS THEN
                GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
                PERFORM set_config('lock_timeout', saved, true);
                RAISE EXCEPTION 'cannot backfill row (%)=(%) of relation "%": %',
                    (SELECT string_agg(format('%I', c), ', ' ORDER BY i)
                       FROM unnest(t.key_columns) WITH ORDINALITY u(c, i)),
                    array_to_string(k, ', '), steward._relation_name(tbl), msg
                    USING ERRCODE = code,
                          DETAIL = concat_ws(' ', nullif(detail, ''),
                                             format(CASE sources
                                                    WHEN 'up' THEN 'Migration "%s" computes the new columns of each row of relation "%s" from its "up" expressions (and checks their constraints).'
                                                    WHEN 'default' THEN 'Migration "%s" fills the new columns of each row of relation "%s" with their "default" (and checks their constraints).'
                                                    ELSE 'Migration "%s" computes the new columns of each row of relation "%s" from its "up" expressions, and fills those without one with their "default" (and checks their constraints).' END,
                                                    mig, steward._relation_name(tbl))),
                          HINT = format('Fix that row (an UPDATE of it in the old shape %s its new columns again) and run CALL steward.migration_backfill(%L) again, '
                                        'or roll back (SELECT steward.migration_rollback(%L);) and start with %s.',
                                        CASE sources WHEN 'default' THEN 'fills' ELSE 'computes' END, mig, mig,
                                        CASE sources WHEN 'up' THEN 'an "up" that handles it'
                                                     WHEN 'default' THEN 'a "default" (or an "up") that fits it'
                                                     ELSE 'an "up" or a "default" that handles it' END);
        END;
    END LOOP;
END
$$;

-- The range form of a backfill batch (as steward._transition_batch's),
-- one statement ("fill", _migration_range_sql): the key of the
-- batch_size-th unfilled row after last_key, the UPDATE of the unfilled
-- rows up to it, which writes no row lock record of its own, their count
-- and that key.  They were two statements, the key's query and then the
-- UPDATE; one saves a statement's start, snapshot and owner switch a
-- batch (gov20, callgrind, 20k rows: 2.0% fewer instructions a row at
-- batch_size 2000, 2.4% at 200; test/bench/migrate/results-cpu-gov20.md).
-- It waits for rows other transactions hold at most
-- steward.batch_lock_timeout; on that timeout the batch is rolled back (a
-- subtransaction) and NULL is returned for the skip-locked form to do it,
-- as also when fewer than batch_size rows are left (the key is NULL: it
-- fills none), when it filled none, or the setting is 0.  Returns
-- {moved, last key}.
CREATE FUNCTION steward._migration_range_batch(job jsonb, last_key text[], batch_size integer)
RETURNS text[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass := (job->>'relid')::oid::regclass;
    after text := CASE WHEN last_key IS NULL THEN 'first' ELSE 'next' END;
    wait text := current_setting('steward.batch_lock_timeout');
    saved text := current_setting('lock_timeout');
    res text[];
BEGIN
    IF wait = '0' OR job->>('fill_' || after) IS NULL THEN
        RETURN NULL;
    END IF;
    BEGIN
        PERFORM set_config('lock_timeout', wait, true);
        res := steward._migration_exec(tbl, job->>('fill_' || after),
                                       ARRAY[last_key::text, batch_size::text], true);
        PERFORM set_config('lock_timeout', saved, true);
    EXCEPTION WHEN lock_not_available THEN
        RETURN NULL;
    END;
    -- None filled (fewer than batch_size left, or the range's rows were
    -- filled meanwhile): a batch of none would end the pass; the
    -- skip-locked form goes on instead.
    IF res[1]::bigint = 0 THEN
        RETURN NULL;
    END IF;
    RETURN ARRAY[res[1], res[2]];
END
$$;
-- One stripe of an interleaved backfill window (steward._migration_batch,
-- job "interleave" k > 1, "stripe" j from 0, "upper" the window's end
-- from stripe 0 on).  A key-ordered batch writes every row of its pages
-- in one transaction: none of the dead versions can be pruned before it
-- commits, so once a page's slack is gone each row moves to another page
-- (a Heap/LOCK record of heap_update's, a new index entry, the whole
-- tuple).  The window's k stripes each write the rows on every k-th line
-- pointer of the window's pages, one committed transaction each, so a
-- later stripe prunes what the earlier ones left and updates in place
-- (src/migrate/README.md, gov18).  Stripe 0 finds the window: the key of
-- the (k * batch_size)-th unfilled row after last_key (none: the table's
-- tail, NULL for the ordinary batch); stripes 0 .. k-2 write their rows
-- of the window, waiting for rows others hold at most
-- steward.batch_lock_timeout (on that timeout the stripe writes none:
-- the last stripe or a later pass takes them), and return {moved, window
-- end, NULL}; stripe k-1 is the range form over the whole window, which
-- writes every unfilled row left in it, {moved, window end, true}, or
-- NULL (locked, or none left to write) for the skip-locked form.  The
-- checkpoint moves only with the last stripe (_migration_batch).
CREATE FUNCTION steward._migration_stripe_batch(job jsonb, last_key text[], batch_size integer,
                                                k integer)
RETURNS text[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tbl regclass := (job->>'relid')::oid::regclass;
    after text := CASE WHEN last_key IS NULL THEN 'first' ELSE 'next' END;
    wait text := current_setting('steward.batch_lock_timeout');
    saved text := current_setting('lock_timeout');
    j integer := coalesce((job->>'stripe')::integer, 0);
    upper text[];
    res text[];
BEGIN
    IF j = 0 THEN
        IF wait = '0' OR job->>('end_' || after) IS NULL THEN
            RETURN NULL;
        END IF;
        upper := (steward._migration_exec(tbl, job->>('end_' || after),
                                          ARRAY[last_key::text, (batch_size::bigint * k)::text], true))[1]::text[];
        IF upper IS NULL THEN
            RETURN NULL;
        END IF;
    ELSE
        upper := ARRAY(SELECT jsonb_array_elements_text(job->'upper'));
    END IF;
    BEGIN
        PERFORM set_config('lock_timeout', wait, true);
        IF j < k - 1 THEN
            res := steward._migration_exec(tbl, job->>('stripe_' || after),
                                           ARRAY[last_key::text, k::text, upper::text, j::text], true);
        ELSE
            res := steward._migration_exec(tbl, job->>('range_' || after),
                                           ARRAY[last_key::text, batch_size::text, upper::text], true);
        END IF;
        PERFORM set_config('lock_timeout', saved, true);
    EXCEPTION WHEN lock_not_available THEN
        IF j = k - 1 THEN
            RETURN NULL;
        END IF;
        RETURN ARRAY['0', upper::text, NULL];
    END;
    IF j < k - 1 THEN
        RETURN ARRAY[res[1], upper::text, NULL];
    END IF;
    IF res[1]::bigint = 0 THEN
        RETURN NULL;
    END IF;
    RETURN ARRAY[res[1], upper::text, 'true'];
END
$$;

CREATE FUNCTION steward._migration_batch_status(job jsonb, status text, retries integer,
                                                error text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM steward._migration_record('update', job->>'name', jsonb_build_object(
        'add_retries', retries, 'backfill_status', status) ||
        CASE WHEN status = 'failed'
             THEN jsonb_build_object('failed', true, 'error', 'backfill of ' || (job->>'table') || ': ' || error)
             ELSE '{}'::jsonb END);
END
$$;

-- The lists the backfill statements of one table of a column migration
-- are made of (steward._migration_batch_sql, _migration_range_sql): the
-- SET list computing the new shape from the old, and an added column's
-- "default" when it has no "up" (newcomer44 P1: it fills the stored rows,
-- as ADD COLUMN ... DEFAULT does) (NULL when nothing is
-- computed; each up expression is assigned to its column uncast, so it
-- is coerced as ALTER TABLE ... TYPE and the dual-write trigger coerce,
-- by the assignment rules: a value too long for varchar(n), char(n) or
-- bit(n) fails with 22001/22026 instead of being cut or padded as an
-- explicit cast would), the key columns ("k1, k2") and their texts, the same aliased
-- in a CTE ("k1 AS _steward_k1", their texts, descending), and the key
-- given in $1 and in $3 (text[]) cast to the key's types.
CREATE FUNCTION steward._migration_batch_lists(mig text, tbl regclass,
                                               OUT sets text, OUT keys text, OUT key_texts text,
                                               OUT aliased text, OUT aliased_texts text,
                                               OUT aliased_desc text, OUT after_key text,
                                               OUT until_key text)
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t steward.migration_tables;
BEGIN
    SELECT * INTO t FROM steward.migration_tables x WHERE x.migration = mig AND x.relid = tbl;
    SELECT string_agg(format('%I = (%s)', c.expand_new,
                             CASE WHEN c.up_sql IS NOT NULL
                                  THEN steward._migration_bind(mig, tbl, 'old', c.up_sql, c.up_params, NULL)
                                  ELSE steward._migration_bind(mig, tbl, 'new', c.default_sql, '{}', NULL) END),
                      ', ' ORDER BY c.ord)
      INTO sets
      FROM steward.migration_columns c
     WHERE c.migration = mig AND c.relid = tbl AND c.kind IN ('pair', 'added')
       AND (c.up_sql IS NOT NULL OR (c.kind = 'added' AND c.default_sql IS NOT NULL));
    SELECT string_agg(format('%I', k), ', ' ORDER BY i),
           string_agg(format('%I::text', k), ', ' ORDER BY i),
           string_agg(format('%I AS _steward_k%s', k, i), ', ' ORDER BY i),
           string_agg(format('_steward_k%s::text', i), ', ' ORDER BY i),
           string_agg(format('_steward_k%s DESC', i), ', ' ORDER BY i),
           string_agg(format('($1::text[])[%s]::%s', i, ty), ', ' ORDER BY i),
           string_agg(format('($3::text[])[%s]::%s', i, ty), ', ' ORDER BY i)
      INTO keys, key_texts, aliased, aliased_texts, aliased_desc, after_key, until_key
      FROM unnest(t.key_columns, t.key_types) WITH ORDINALITY u(k, ty, i);
END
$$;

-- The batch statements of a table: first (from the start) and next (after
-- the key in $1).  The rows are locked FOR NO KEY UPDATE, as PostgreSQL's
-- own UPDATE of non-key columns locks them (the batch writes only new
-- columns, which no unique index covers before the backfill ends): the
-- foreign-key checks of OLTP inserts (FOR KEY SHARE) never wait for a
-- batch, and a batch never skips a row that is merely referenced.
-- Every FROM item of the UPDATE has an alias of its own (t, b): a table's
-- name is its alias otherwise, and a table named b met the CTE (42712).
CREATE FUNCTION steward._migration_batch_sql(mig text, tbl regclass, after boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    l record;
BEGIN
    SELECT * INTO l FROM steward._migration_batch_lists(mig, tbl);
    RETURN format(
        'WITH b AS (SELECT ctid AS _steward_ctid, %s FROM ONLY %s WHERE _steward_side IS NULL %s '
        '           ORDER BY %s LIMIT $2::integer FOR NO KEY UPDATE SKIP LOCKED), '
        '     u AS (UPDATE ONLY %s AS t SET %s_steward_side = ''o'' FROM b '
        '            WHERE t.ctid = b._steward_ctid RETURNING 1) '
        'SELECT (SELECT count(*) FROM u), (SELECT ARRAY[%s] FROM b ORDER BY %s LIMIT 1)',
        l.aliased, tbl,
        CASE WHEN after THEN format('AND (%s) > (%s)', l.keys, l.after_key) ELSE '' END,
        l.keys, tbl, coalesce(l.sets || ', ', ''), l.aliased_texts, l.aliased_desc);
END
$$;

-- The range form's statements of a table, first (from the start) or next
-- (after the key in $1): "fill" (steward._migration_range_batch) fills
-- the unfilled rows up to the $2-th and returns their count and that
-- row's key (its columns' texts, a text[]; NULL with fewer left, and none
-- filled); for the stripes of an interleaved window
-- (_migration_stripe_batch), "end" finds the key of the $2-th unfilled
-- row and "range" fills the unfilled rows after $1 up to that key ($3)
-- and counts them.  The key range is the only condition an index can
-- serve.
CREATE FUNCTION steward._migration_range_sql(mig text, tbl regclass, after boolean, part text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    l record;
    lower text;
BEGIN
    SELECT * INTO l FROM steward._migration_batch_lists(mig, tbl);
    lower := CASE WHEN after THEN format(' AND (%s) > (%s)', l.keys, l.after_key) ELSE '' END;
    IF part = 'end' THEN
        RETURN format('SELECT ARRAY[%s] FROM ONLY %s WHERE _steward_side IS NULL%s '
                      'ORDER BY %s OFFSET $2::bigint - 1 LIMIT 1',
                      l.key_texts, tbl, lower, l.keys);
    END IF;
    IF part = 'fill' THEN
        -- One statement: the key of the $2-th unfilled row (_steward_e),
        -- the UPDATE up to it, the count and the key; with fewer rows left
        -- it fills none.
        RETURN format('WITH _steward_e AS (SELECT %s FROM ONLY %s WHERE _steward_side IS NULL%s '
                      '                    ORDER BY %s OFFSET $2::bigint - 1 LIMIT 1), '
                      '     u AS (UPDATE ONLY %s SET %s_steward_side = ''o'' '
                      '            WHERE _steward_side IS NULL%s AND (%s) <= (SELECT %s FROM _steward_e) RETURNING 1) '
                      'SELECT (SELECT count(*) FROM u), (SELECT ARRAY[%s] FROM _steward_e)',
                      l.keys, tbl, lower, l.keys, tbl, coalesce(l.sets || ', ', ''), lower, l.keys,
                      l.keys, l.key_texts);
    END IF;
    IF part = 'stripe' THEN
        -- The rows of one stripe ($4 of $2) of the window: by line
        -- pointer, so every page of a key-ordered table has rows in each.
        RETURN format('WITH u AS (UPDATE ONLY %s SET %s_steward_side = ''o'' '
                      '            WHERE _steward_side IS NULL%s AND (%s) <= (%s) '
                      '              AND ((ctid::text::point)[1])::integer %% $2::integer = $4::integer RETURNING 1) '
                      'SELECT count(*) FROM u',
                      tbl, coalesce(l.sets || ', ', ''), lower, l.keys, l.until_key);
    END IF;
    RETURN format('WITH u AS (UPDATE ONLY %s SET %s_steward_side = ''o'' '
                  '            WHERE _steward_side IS NULL%s AND (%s) <= (%s) RETURNING 1) '
                  'SELECT count(*) FROM u',
                  tbl, coalesce(l.sets || ', ', ''), lower, l.keys, l.until_key);
END
$$;

-- Rows of a migration's table not written in both shapes yet.
CREATE FUNCTION steward._migration_unfilled(mig text, tbl regclass)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT (steward._migration_exec(tbl, format('SELECT count(*) FROM ONLY %s WHERE _steward_side IS NULL',
                                                tbl)))[1]::bigint
$$;

-- Start (or resume) a backfill: checks, rows to do, progress record.
-- Returns the batch size.
-- The sizes a backfill was called with (NULL: the default): 22023 naming
-- the bad one, with a HINT.  Shared by column and relayout migrations.
CREATE FUNCTION steward._backfill_check_sizes(batch_size integer, max_rows_per_sec integer)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF batch_size < 1 THEN
        RAISE EXCEPTION 'batch_size must be at least 1'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', batch_size),
                  HINT = 'Leave it out (NULL) for steward.migration_batch_size.';
    END IF;
    IF max_rows_per_sec < 1 THEN
        RAISE EXCEPTION 'max_rows_per_sec must be at least 1'
            USING ERRCODE = 'invalid_parameter_value', DETAIL = format('Got %s.', max_rows_per_sec),
                  HINT = 'Leave it out (NULL) for no limit: the governor still paces the backfill on the foreground''s latency; to stop it, cancel it.';
    END IF;
END
$$;

CREATE FUNCTION steward._migration_backfill_begin(mig text, batch_size integer,
                                                  max_rows_per_sec integer,
                                                  OUT size integer, OUT rows_left jsonb)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r steward.migration_runs;
BEGIN
    r := steward._migration_get(mig);
    PERFORM steward._migration_require(r, ARRAY['pending_backfill', 'backfilled'], 'backfill');
    PERFORM steward._backfill_check_sizes(batch_size, max_rows_per_sec);
    -- Rows left per table ({"relid": rows}): the job of a table ends when
    -- it has filled that many (steward._run_batches, "rows_left").
    SELECT jsonb_object_agg(t.relid::oid::text, steward._migration_unfilled(mig, t.relid)) INTO rows_left
      FROM steward.migration_tables t WHERE t.migration = mig AND t.active;
    PERFORM steward._migration_record('update', mig,
        CASE WHEN r.phase = 'backfilled' THEN '{"phase": "pending_backfill"}'::jsonb ELSE '{}'::jsonb END ||
        jsonb_build_object(
            'backfill_started_at', coalesce(r.backfill_started_at, clock_timestamp()),
            'rows_total', r.rows_backfilled + (SELECT coalesce(sum(v::bigint), 0) FROM jsonb_each_text(rows_left) x(k, v)),
            'backfill_pid', pg_backend_pid(),
            'backfill_run_at', clock_timestamp(),
            'backfill_status', 'running', 'failed', false, 'error', NULL));
    size := coalesce(batch_size, (steward._migration_settings()).batch_size);
END
$$;

-- The job of one table for steward._run_batches.
CREATE FUNCTION steward._migration_backfill_job(mig text, tbl regclass)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('name', mig, 'relid', tbl::oid, 'table', tbl::text, 'keyset', true,
                              'whole', true,
                              'first', steward._migration_batch_sql(mig, tbl, false),
                              'next', steward._migration_batch_sql(mig, tbl, true),
                              'fill_first', steward._migration_range_sql(mig, tbl, false, 'fill'),
                              'fill_next', steward._migration_range_sql(mig, tbl, true, 'fill'),
                              'end_first', steward._migration_range_sql(mig, tbl, false, 'end'),
                              'end_next', steward._migration_range_sql(mig, tbl, true, 'end'),
                              'range_first', steward._migration_range_sql(mig, tbl, false, 'range'),
                              'range_next', steward._migration_range_sql(mig, tbl, true, 'range'),
                              'stripe_first', steward._migration_range_sql(mig, tbl, false, 'stripe'),
                              'stripe_next', steward._migration_range_sql(mig, tbl, true, 'stripe'))
$$;

-- End a backfill: unique keys, then backfilled if no row is left.  When
-- the batches filled as many rows as were left at begin (rows_total) none
-- is left, since no row becomes unfilled again: no count (a scan of each
-- table; a re-run with nothing left scanned them twice, readme37 B1).
CREATE FUNCTION steward._migration_backfill_end(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    remaining bigint;
    detail text;
    r steward.migration_runs := steward._migration_get(mig);
BEGIN
    IF r.rows_backfilled >= r.rows_total THEN
        remaining := 0;
    ELSE
        SELECT sum(steward._migration_unfilled(mig, t.relid)) INTO remaining
          FROM steward.migration_tables t WHERE t.migration = mig AND t.active;
    END IF;
    IF remaining > 0 THEN
        PERFORM steward._migration_record('update', mig, jsonb_build_object(
            'backfill_status', 'incomplete'));
        PERFORM steward._report('notice',
                format('migration "%s": %s held by other transactions and %s not backfilled yet', mig,
                       steward._relayout_count(remaining, 'row was', 'rows were'),
                       CASE WHEN remaining = 1 THEN 'is' ELSE 'are' END),
                hint => 'Run steward.migration_backfill again.');
        RETURN;
    END IF;
    BEGIN
        PERFORM steward._migration_locked(mig, '_migration_build_unique', NULL);
    EXCEPTION WHEN unique_violation OR exclusion_violation THEN
        GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
        PERFORM steward._migration_record('update', mig, jsonb_build_object(
            'backfill_status', 'failed', 'failed', true,
            'error', format('unique key of the new shape: %s (%s)', SQLERRM, detail)));
        PERFORM steward._report('warning',
                format('migration "%s": the new shape''s unique key cannot be built: %s', mig, SQLERRM),
                detail => detail,
                hint => 'Fix the duplicates and run steward.migration_backfill again, or roll the migration back.');
        RETURN;
    END;
    PERFORM steward._migration_record('update', mig, jsonb_build_object(
        'phase', 'backfilled', 'backfilled_at', clock_timestamp(), 'backfill_status', 'finished'));
END
$$;

-- Refused first, with 25006, during recovery or in a read-only transaction
-- (steward._migration_entered).
CREATE PROCEDURE steward.migration_backfill(name text, batch_size integer DEFAULT NULL,
                                            max_rows_per_sec integer DEFAULT NULL)
LANGUAGE plpgsql
-- No SET clause: a procedure with one may not COMMIT.  It runs as the
-- caller, so every name below is schema-qualified, operators and types
-- included; the functions it calls pin their search_path.
AS $$
DECLARE
    mig pg_catalog.text := name;
    size pg_catalog.int4;
    rows_left pg_catalog.jsonb;
    tbl pg_catalog.regclass;
    resume pg_catalog.text[];
BEGIN
    PERFORM steward._require_own_transactions('steward.migration_backfill');
    -- Counted as pg_steward's own code, or called again to be (exec.c: steward_migration_entered).
    IF NOT steward._migration_entered('steward.migration_backfill(pg_catalog.text,pg_catalog.int4,pg_catalog.int4)') THEN
        CALL steward.migration_backfill(name, batch_size, max_rows_per_sec);
        RETURN;
    END IF;
    PERFORM steward._migration_settle_dropped(mig);
    IF steward._relayout_step((steward._migration_get(mig)).steps) IS NOT NULL THEN
        CALL steward._relayout_backfill(mig, batch_size, max_rows_per_sec);
        RETURN;
    END IF;
    IF steward._migration_is_index(mig) THEN
        CALL steward._migration_index_backfill(mig);
        RETURN;
    END IF;
    SELECT b.size, b.rows_left INTO size, rows_left
      FROM steward._migration_backfill_begin(mig, batch_size, max_rows_per_sec) b;
    CALL steward._commit();
    -- A table's job ends when it has filled the rows that were unfilled
    -- at begin ("rows_left"): no row becomes unfilled again (every write sets
    -- the marker), so a re-run with nothing left reads no batch, and a
    -- run that filled them all reads no last pass (_backfill_end counts).
    FOR tbl, resume IN SELECT t.relid, t.last_key FROM steward.migration_tables t
                         WHERE t.migration OPERATOR(pg_catalog.=) mig AND t.active ORDER BY t.ord LOOP
        CALL steward._run_batches('_migration_batch', '_migration_batch_status',
                                  steward._migration_backfill_job(mig, tbl)
                                      OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('rows_left',
                                          rows_left OPERATOR(pg_catalog.->) (tbl::pg_catalog.oid::pg_catalog.text),
                                          'interleave', pg_catalog.current_setting('steward.migration_backfill_interleave')::pg_catalog.int4),
                                  size, max_rows_per_sec, resume);
    END LOOP;
    PERFORM steward._migration_backfill_end(mig);
    CALL steward._commit();
END
$$;
COMMENT ON PROCEDURE steward.migration_backfill(text, integer, integer) IS
  'fill the new shape of existing rows in committed, resumable, throttled batches';

-- Unique keys on new columns: a btree unique index (attached as a
-- constraint at the switch) or a steward_hash exclusion constraint.
-- PostgreSQL runs CREATE INDEX CONCURRENTLY only as a top-level command,
-- so this is a plain build: it blocks writes to the table while it runs.
CREATE FUNCTION steward._migration_build_unique(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c steward.migration_columns;
    cols text;
BEGIN
    FOR c IN SELECT * FROM steward.migration_columns x
              WHERE x.migration = mig AND x.unique_method IS NOT NULL
                AND x.relid IN (SELECT t.relid FROM steward.migration_tables t
                                 WHERE t.migration = mig AND t.active)
              ORDER BY x.relid::oid, x.ord LOOP
        -- regnamespace output is quoted already: %s, not %I.
        CONTINUE WHEN to_regclass(format('%s.%I', (SELECT relnamespace::regnamespace FROM pg_class
                                                    WHERE oid = c.relid), c.unique_name)) IS NOT NULL;
        SELECT string_agg(format('%I', p), ', ' ORDER BY i) INTO cols
          FROM unnest(steward._migration_physical(mig, c.relid, 'new',
                                                  c.unique_with || c.new_name::text))
               WITH ORDINALITY u(p, i);
        IF c.unique_method = 'btree' THEN
            PERFORM steward._migration_exec(c.relid, format('CREATE UNIQUE INDEX %I ON %s (%s)',
                                                            c.unique_name, c.relid, cols));
        ELSE
            PERFORM steward._migration_exec(c.relid, format(
                'ALTER TABLE %s ADD CONSTRAINT %I EXCLUDE USING steward_hash (%s)', c.relid,
                c.unique_name, (SELECT string_agg(x || ' WITH =', ', ')
                                  FROM regexp_split_to_table(cols, ', ') x)));
        END IF;
    END LOOP;
END
$$;

--------------------------------------------------------------------------
-- migration_validate
--------------------------------------------------------------------------

CREATE FUNCTION steward._migration_validate_constraint(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM steward._migration_exec((arg->>'relid')::oid::regclass,
        format('ALTER TABLE %s VALIDATE CONSTRAINT %I', (arg->>'relid')::oid::regclass,
               arg->>'name'));
END
$$;

-- SQL that is true when column col differs from expression x of type
-- typ (NULL when x is): by the type's equality, as the dual-write trigger
-- compares; a type without one (json, xml, point, box: its "=" compares
-- areas) by its text, which is exact there (mig14 M1: "IS DISTINCT FROM"
-- failed validation with 42883 for json, so the migration could not
-- complete).  The text is what validation's checksums compare, in the
-- same pinned settings.  An equality outside pg_catalog (an extension's
-- type: cube, hstore, geometry, vector) is named with its schema, as
-- "IS DISTINCT FROM" cannot: the validation's search_path (pg_catalog,
-- pg_temp) does not find it (42883, codereview17 C2).
CREATE FUNCTION steward._migration_distinct(col text, x text, typ text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN x IS NULL THEN NULL
                WHEN eq IS NULL THEN format('%s::text IS DISTINCT FROM (%s)::text', col, x)
                WHEN eq = 'OPERATOR(pg_catalog.=)' THEN format('%s IS DISTINCT FROM (%s)', col, x)
                ELSE format('((%1$s IS NULL) OPERATOR(pg_catalog.<>) ((%2$s) IS NULL)'
                            ' OR NOT coalesce(%1$s %3$s (%2$s), true))', col, x, eq) END
      FROM (SELECT steward._migration_type_equality(typ)) AS e(eq)
$$;

-- The rows on which validation's statement q raises a data exception
-- (an up or down failing on a row written behind the trigger's back),
-- found by bisection (mig19: the check gave the error and no row, so the
-- user could not find it, where PostgreSQL's constraint errors name the
-- failing row).  q is the statement in two parts, q[1] ending in its
-- WHERE clause, where a condition on ctid goes between them: never
-- replace() of a marker, which also rewrote the owner's up or down text
-- inside q when it held the marker (a literal '/*rows*/': mig52, other
-- rows named and differences hidden).  It is run as the table's owner (_migration_exec)
-- on halves of the table's block range (a TID range scan), each in its
-- own subtransaction, then on each row of a failing block.  A failing
-- range stops at its first failing row, a passing one is read whole, so
-- a few failing rows cost about two readings of the table.  At most
-- budget statements: failing is then a lower bound and complete false.
-- Returns the count, the first cap rows' keys in the table's physical
-- order as "(k1, k2)=(v1, v2)" (their ctid when the table has no key
-- columns), and every failing row's ctid (for the checks of the other
-- rows).
CREATE FUNCTION steward._migration_failing_rows(rel regclass, q text[], key_columns name[],
                                                cap integer, budget integer,
                                                OUT failing bigint, OUT complete boolean,
                                                OUT keys text[], OUT ctids text[])
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    los text[] := ARRAY['(0,0)'];
    his text[] := ARRAY[format('(%s,0)', pg_relation_size(rel) / current_setting('block_size')::bigint + 1)];
    lo text;
    hi text;
    b1 bigint;
    b2 bigint;
    off bigint;
    mid bigint;
    rows text[];
    probes integer := 0;
    keytext text := (SELECT string_agg(format('%I::text', k), ', ' ORDER BY i)
                       FROM unnest(key_columns) WITH ORDINALITY u(k, i));
    keynames text := (SELECT string_agg(quote_ident(k), ', ' ORDER BY i)
                        FROM unnest(key_columns) WITH ORDINALITY u(k, i));
BEGIN
    failing := 0; keys := '{}'; ctids := '{}';
    WHILE cardinality(los) > 0 AND probes < budget LOOP
        lo := los[cardinality(los)];
        hi := his[cardinality(his)];
        los := los[1:cardinality(los) - 1];
        his := his[1:cardinality(his) - 1];
        probes := probes + 1;
        BEGIN
            PERFORM steward._migration_exec(rel, q[1] || ' AND ctid >= $1::tid AND ctid < $2::tid' || q[2],
                                            ARRAY[lo, hi]);
            CONTINUE;
        EXCEPTION WHEN data_exception THEN
            NULL;
        END;
        b1 := split_part(btrim(lo, '()'), ',', 1)::bigint;
        off := split_part(btrim(lo, '()'), ',', 2)::bigint;
        b2 := split_part(btrim(hi, '()'), ',', 1)::bigint;
        IF off > 0 THEN
            -- One row, and it fails.
            failing := failing + 1;
            ctids := ctids || lo;
            IF cardinality(keys) < cap THEN
                keys := keys || CASE WHEN keytext IS NULL THEN format('ctid %s', lo)
                                     ELSE format('(%s)=(%s)', keynames,
                                                 (steward._migration_exec(rel, format(
                                                     'SELECT concat_ws('', '', %s) FROM ONLY %s WHERE ctid = $1::tid',
                                                     keytext, rel), ARRAY[lo]))[1]) END;
            END IF;
        ELSIF b2 - b1 > 1 THEN
            -- Halves, the lower one first.
            mid := (b1 + b2) / 2;
            los := los || format('(%s,0)', mid) || lo;
            his := his || hi || format('(%s,0)', mid);
        ELSE
            -- One block: each of its rows, the first one first.
            rows := steward._migration_exec(rel, format(
                'SELECT array_agg(ctid::text ORDER BY ctid DESC) FROM ONLY %s '
                ' WHERE _steward_side IS NOT NULL AND ctid >= $1::tid AND ctid < $2::tid', rel),
                ARRAY[lo, hi]);
            SELECT los || coalesce(array_agg(c ORDER BY i), '{}'),
                   his || coalesce(array_agg(format('(%s,%s)', b1,
                                                    split_part(btrim(c, '()'), ',', 2)::bigint + 1) ORDER BY i), '{}')
              INTO los, his
              FROM unnest(rows[1]::text[]) WITH ORDINALITY u(c, i);
        END IF;
    END LOOP;
    complete := cardinality(los) = 0;
END
$$;

-- The checks "values <table>" and "checksums <table>" of
-- _migration_values_check when its statement q raised a data exception
-- (code, err: an up or down failing on a row written behind the
-- trigger's back, which the backfill and the trigger would refuse; q in
-- two parts, as _migration_failing_rows takes it).  The
-- rows are named by key (_migration_failing_rows), and the other rows
-- compared and checksummed without them (mig19: the check named no row,
-- and the checksums check was dropped from the report); when the rows
-- could not all be found or read, checksums is not judged (passed NULL).
CREATE FUNCTION steward._migration_values_failing(t steward.migration_tables, q text[],
                                                  code text, err text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f record;
    res text[];
BEGIN
    SELECT * INTO f FROM steward._migration_failing_rows(t.relid, q, t.key_columns, 5, 1000) x;
    IF f.complete AND f.failing > 0 THEN
        BEGIN
            res := steward._migration_exec(t.relid, q[1] || ' AND ctid <> ALL ($1::tid[])' || q[2],
                                           ARRAY[f.ctids::text]);
        EXCEPTION WHEN data_exception THEN
            res := NULL;     -- rows changed since: not judged now
        END;
    END IF;
    RETURN jsonb_build_array(
        jsonb_build_object('check', format('values %s', t.relid), 'passed', false, 'detail',
            CASE WHEN f.failing = 0
                 -- Rewritten between the two readings.
                 THEN format('an up or down expression fails on a row (%s: %s), as the backfill and the '
                             'dual-write trigger would on it, and on no row at a second reading: validate again',
                             code, err)
                 ELSE format('%s%s %s an up or down expression (%s: %s), as the backfill and the dual-write '
                             'trigger would: %s%s; rewrite %s (UPDATE) in the old or the new shape, or fix the '
                             'expression and start again%s',
                             CASE WHEN f.complete THEN '' ELSE 'at least ' END, f.failing,
                             CASE WHEN f.failing = 1 THEN 'row fails' ELSE 'rows fail' END, code, err,
                             array_to_string(f.keys, ', '),
                             CASE WHEN NOT f.complete THEN ' and more'
                                  WHEN f.failing > cardinality(f.keys)
                                  THEN format(' and %s more', f.failing - cardinality(f.keys))
                                  ELSE '' END,
                             CASE WHEN f.failing = 1 THEN 'it' ELSE 'them' END,
                             CASE WHEN coalesce(res[2]::bigint, 0) > 0
                                  THEN format('; %s of the %s %s (%s)', res[2],
                                              steward._relayout_count(res[1]::bigint, 'other row', 'other rows'),
                                              CASE WHEN res[2]::bigint = 1 THEN 'differs' ELSE 'differ' END, res[5])
                                  ELSE '' END) END),
        jsonb_build_object('check', format('checksums %s', t.relid),
            'passed', CASE WHEN res IS NOT NULL THEN coalesce(res[4]::bigint, 0) = 0 END,
            'detail', CASE WHEN res IS NULL
                           THEN format('not computed: an up or down expression fails (values %s)', t.relid)
                           WHEN coalesce(res[4]::bigint, 0) = 0
                           THEN format('%s: checksums of the derived columns and of up/down agree',
                                       steward._relayout_count(coalesce(res[3], '0')::bigint, 'key range', 'key ranges'))
                           ELSE format('%s of %s %s (%s)', res[4],
                                       steward._relayout_count(res[3]::bigint, 'key range', 'key ranges'),
                                       CASE WHEN res[4]::bigint = 1 THEN 'disagrees' ELSE 'disagree' END, res[5]) END
                      || CASE WHEN res IS NULL THEN ''
                              WHEN f.failing = 1 THEN ' (the failing row left out)'
                              ELSE format(' (the %s failing rows left out)', f.failing) END));
END
$$;

-- Check 2 of migration_validate on one table t: each row's derived
-- columns equal up(old) (rows last written in the old shape) or down(new)
-- (rows last written in the new shape), by the type's equality, or by
-- their text for a type without one (_migration_distinct: json, xml,
-- point; mig14 M1).  An up or down that reads no column is a default
-- (a dropped column's down for new-shape INSERTs may vary: now()),
-- which later writes keep, whatever the other application wrote there:
-- not compared (mig14 M3, M4).  Differing rows are counted, and
-- both sides checksummed per key range (16 buckets of a hash of the key,
-- as steward.checksum_ranges), in one scan run as the table's owner
-- (_migration_exec).  Returns the checks "values <table>" and "checksums
-- <table>" as jsonb objects {check, passed, detail}, none when no column
-- of the migration derives values.  The up and down are coerced by the
-- assignment rules, as the backfill and the trigger coerce them
-- (_migration_sql): a row where one fails (a value too long for
-- varchar(n), which an explicit cast cut and passed, closing46 Noticed
-- 5) fails "values <table>" with the error (data exceptions, class 22).
CREATE FUNCTION steward._migration_values_check(mig text, t steward.migration_tables)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    results jsonb := '[]';
    c steward.migration_columns;
    bads text[];
    actuals text[];
    expecteds text[];
    newcol text;
    oldcol text;
    upx text;
    downx text;
    keys text;
    q text[];
    res text[];
    err text;
    code text;
BEGIN
    bads := '{}'; actuals := '{}'; expecteds := '{}';
    FOR c IN SELECT * FROM steward.migration_columns x
              WHERE x.migration = mig AND x.relid = t.relid
                AND (x.up_sql IS NOT NULL OR x.down_sql IS NOT NULL) ORDER BY x.ord LOOP
        newcol := NULL; upx := NULL; oldcol := NULL; downx := NULL;
        -- An up or down that reads no column is a default, which later
        -- writes keep (mig14 M4, dualwrite.c default_keep): not compared.
        IF c.up_sql IS NOT NULL AND c.kind IN ('pair', 'added') AND cardinality(c.up_params) > 0 THEN
            newcol := format('%I', (steward._migration_physical(mig, t.relid, 'new', ARRAY[c.new_name::text]))[1]);
            upx := steward._migration_bind(mig, t.relid, 'old', c.up_sql, c.up_params, c.new_type);
        END IF;
        IF c.down_sql IS NOT NULL AND c.kind IN ('pair', 'dropped') AND cardinality(c.down_params) > 0 THEN
            oldcol := format('%I', (steward._migration_physical(mig, t.relid, 'old', ARRAY[c.old_name::text]))[1]);
            downx := steward._migration_bind(mig, t.relid, 'new', c.down_sql, c.down_params, c.old_type);
        END IF;
        CONTINUE WHEN upx IS NULL AND downx IS NULL;
        bads := bads || format('CASE _steward_side WHEN ''o'' THEN %s WHEN ''n'' THEN %s ELSE false END',
                               coalesce(steward._migration_distinct(newcol, upx, c.new_type), 'false'),
                               coalesce(steward._migration_distinct(oldcol, downx, c.old_type), 'false'));
        actuals := actuals || format('coalesce(CASE _steward_side WHEN ''o'' THEN %s::text WHEN ''n'' THEN %s::text END, chr(30))',
                                     coalesce(newcol, 'NULL'), coalesce(oldcol, 'NULL'));
        expecteds := expecteds || format('coalesce(CASE _steward_side WHEN ''o'' THEN (%s)::text WHEN ''n'' THEN (%s)::text END, chr(30))',
                                         coalesce(upx, 'NULL'), coalesce(downx, 'NULL'));
    END LOOP;
    IF cardinality(bads) > 0 THEN
        SELECT string_agg(format('%I::text', k), ', ' ORDER BY i) INTO keys
          FROM unnest(t.key_columns) WITH ORDINALITY u(k, i);
        -- In two parts around the end of v's WHERE clause, where the
        -- search for failing rows adds its condition on ctid (mig52).
        q := ARRAY[format(
            'WITH v AS (SELECT (hashtextextended(ARRAY[%1$s]::text, 0) %% 16 + 16) %% 16 AS b, '
            '                  ARRAY[%1$s]::text AS k, (%2$s) AS bad, '
            '                  hashtextextended(concat_ws(chr(31), _steward_side, %3$s) COLLATE "C", 0) AS rha, '
            '                  hashtextextended(concat_ws(chr(31), _steward_side, %4$s) COLLATE "C", 0) AS rhe '
            '             FROM ONLY %5$s WHERE _steward_side IS NOT NULL',
            keys, array_to_string(bads, ' OR '), array_to_string(actuals, ', '),
            array_to_string(expecteds, ', '), t.relid),
            '), '
            '     g AS (SELECT b, count(*) AS n, count(*) FILTER (WHERE bad) AS nbad, '
            '                  sum(rha::numeric) AS ha, sum(rhe::numeric) AS he, min(k) FILTER (WHERE bad) AS bmin, '
            '                  max(k) FILTER (WHERE bad) AS bmax, '
            '                  count(*) FILTER (WHERE rha <> rhe) AS ntext, '
            '                  min(k) FILTER (WHERE rha <> rhe) AS tmin '
            '             FROM v GROUP BY b) '
            'SELECT sum(n), sum(nbad), count(*), count(*) FILTER (WHERE ha <> he), '
            '       string_agg(''range '' || b || '': '' || CASE '
            '           WHEN nbad = 1 THEN ''1 row differs, key '' || bmin '
            '           WHEN nbad > 1 AND bmin = bmax THEN nbad || '' rows differ, e.g. key '' || bmin '
            '           WHEN nbad > 1 THEN nbad || '' rows differ, e.g. keys '' || bmin || '' and '' || bmax '
            '           WHEN ntext = 1 THEN ''1 row equal to up/down by its type''''s equality but not in text, key '' || tmin '
            '           WHEN ntext > 1 THEN ntext || '' rows equal to up/down by their type''''s equality but not in text, '
            'e.g. key '' || tmin '
            '           ELSE ''no row differs: the sums of the row checksums differ'' END, '
            '                  ''; '' ORDER BY b) '
            '         FILTER (WHERE nbad > 0 OR ha <> he) '
            '  FROM g'];
        BEGIN
            res := steward._migration_exec(t.relid, q[1] || q[2]);
        EXCEPTION WHEN data_exception THEN
            -- An up or down failing on a row written behind the trigger's
            -- back: the backfill and the trigger would refuse that row.
            GET STACKED DIAGNOSTICS err = MESSAGE_TEXT, code = RETURNED_SQLSTATE;
            RETURN results || steward._migration_values_failing(t, q, code, err);
        END;
        results := results || jsonb_build_object('check', format('values %s', t.relid),
            'passed', coalesce(res[2]::bigint, 0) = 0,
            'detail', CASE WHEN coalesce(res[2]::bigint, 0) = 0
                           THEN format('%s: new columns = up(old), old columns = down(new)',
                                       steward._relayout_count(coalesce(res[1], '0')::bigint, 'row', 'rows'))
                           ELSE format('%s of %s %s (%s)', res[2], steward._relayout_count(res[1]::bigint, 'row', 'rows'),
                                       CASE WHEN res[2]::bigint = 1 THEN 'differs' ELSE 'differ' END, res[5]) END);
        results := results || jsonb_build_object('check', format('checksums %s', t.relid),
            'passed', coalesce(res[4]::bigint, 0) = 0,
            'detail', CASE WHEN coalesce(res[4]::bigint, 0) = 0
                           THEN format('%s: checksums of the derived columns and of up/down agree',
                                       steward._relayout_count(coalesce(res[3], '0')::bigint, 'key range', 'key ranges'))
                           ELSE format('%s of %s %s (%s)', res[4], steward._relayout_count(res[3]::bigint, 'key range', 'key ranges'),
                                       CASE WHEN res[4]::bigint = 1 THEN 'disagrees' ELSE 'disagree' END, res[5]) END);
    END IF;
    RETURN results;
END
$$;

-- Check 3 of migration_validate on one table t: the NOT VALID constraints
-- the migration added (NOT NULL, check, foreign key) are validated, under
-- lock_timeout with retries (_migration_locked; VALIDATE CONSTRAINT takes
-- SHARE UPDATE EXCLUSIVE, so writes go on).  A constraint some row
-- violates, or a lock not obtained, fails its check with the error's
-- message instead of raising.  Returns the checks "constraint <name>" as
-- jsonb objects {check, passed, detail}.
CREATE FUNCTION steward._migration_constraints_check(mig text, t steward.migration_tables)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    results jsonb := '[]';
    con record;
    "check" text;
    passed boolean;
    detail text;
BEGIN
    FOR con IN SELECT x.conname, x.convalidated FROM pg_constraint x
                WHERE x.conrelid = t.relid
                  AND x.conname IN (SELECT unnest(ARRAY[m.not_null_name, m.check_name, m.fk_name])
                                      FROM steward.migration_columns m
                                     WHERE m.migration = mig AND m.relid = t.relid)
                ORDER BY x.conname LOOP
        "check" := format('constraint %I', con.conname);
        BEGIN
            IF NOT con.convalidated THEN
                PERFORM steward._migration_locked(mig, '_migration_validate_constraint', NULL,
                    jsonb_build_object('relid', t.relid::oid, 'name', con.conname));
            END IF;
            passed := true;
            detail := 'valid';
        EXCEPTION WHEN integrity_constraint_violation OR check_violation OR foreign_key_violation
                       OR not_null_violation OR lock_not_available THEN
            passed := false;
            detail := SQLERRM;
        END;
        results := results || jsonb_build_object('check', "check", 'passed', passed, 'detail', detail);
    END LOOP;
    RETURN results;
END
$$;

-- Refused first, with 25006, during recovery or in a read-only transaction
-- (steward._migration_entered).
CREATE FUNCTION steward.migration_validate(name text)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mig text := name;
    r steward.migration_runs;
    t steward.migration_tables;
    c steward.migration_columns;
    results jsonb := '[]';
    all_passed boolean := true;
    failures text;
    checked timestamptz := clock_timestamp();
    n bigint;
BEGIN
    -- Counted as pg_steward's own code, or called again to be (exec.c: steward_migration_entered).
    IF NOT steward._migration_entered('steward.migration_validate(text)') THEN
        RETURN QUERY SELECT * FROM steward.migration_validate(name);
        RETURN;
    END IF;
    PERFORM steward._migration_settle_dropped(mig);
    r := steward._migration_get(mig);
    PERFORM steward._migration_require(r, ARRAY['pending_backfill', 'backfilled', 'dual_written',
                                                'switched'], 'validate');
    -- A relayout's checks (src/migrate/relayout.sql); NULL for other migrations.
    results := coalesce(steward._relayout_validate(mig, r), '[]');
    IF steward._migration_is_index(mig) THEN
        results := steward._migration_index_validate(mig);
    END IF;
    FOR t IN SELECT * FROM steward.migration_tables x WHERE x.migration = mig AND x.active
                AND steward._relayout_step(r.steps) IS NULL AND NOT steward._migration_is_index(mig)
              ORDER BY x.ord LOOP
        -- 1. Every row is written in both shapes.
        n := (steward._migration_exec(t.relid, format(
                 'SELECT count(*) FROM ONLY %s WHERE _steward_side IS NULL', t.relid)))[1]::bigint;
        "check" := format('backfill %s', t.relid);
        passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'every row is written in both shapes'
                       ELSE format('%s not backfilled yet: CALL steward.migration_backfill(%L)',
                                   steward._relayout_count(n, 'row', 'rows'), mig) END;
        results := results || jsonb_build_object('check', "check", 'passed', passed, 'detail', detail);

        -- A table that joined an inheritance hierarchy since start (a row
        -- only then): the other tables' rows were never written in both
        -- shapes, and complete and cleanup would change their columns.
        detail := steward._migration_inheritance(t.relid);
        IF detail IS NOT NULL THEN
            results := results || jsonb_build_object('check', format('inheritance %s', t.relid),
                'passed', false,
                'detail', format('%s: its rows are not migrated; detach it (ALTER TABLE ... NO INHERIT) '
                                 'or roll the migration back', detail));
        END IF;

        -- 2. Each row's derived columns equal up(old) or down(new).
        results := results || steward._migration_values_check(mig, t);

        -- 3. NOT VALID constraints validate (SHARE UPDATE EXCLUSIVE: writes go on).
        results := results || steward._migration_constraints_check(mig, t);

        -- 4. Unique keys of new columns are built.
        FOR c IN SELECT * FROM steward.migration_columns x
                  WHERE x.migration = mig AND x.relid = t.relid AND x.unique_method IS NOT NULL
                  ORDER BY x.ord LOOP
            "check" := concat('unique ', (SELECT quote_ident(n.nspname) || '.' FROM pg_class x JOIN pg_namespace n ON n.oid = x.relnamespace
                                             WHERE x.oid = t.relid), quote_ident(c.unique_name));
            passed := EXISTS (SELECT 1 FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                               WHERE i.indrelid = t.relid AND ic.relname = c.unique_name AND i.indisvalid);
            detail := CASE WHEN passed THEN 'built and valid'
                           ELSE format('not built yet: CALL steward.migration_backfill(%L) builds it', mig) END;
            results := results || jsonb_build_object('check', "check", 'passed', passed, 'detail', detail);
        END LOOP;
    END LOOP;

    -- Every failing check, one a line, so that one pass fixes them all.
    -- A check passed as NULL was not judged (too few calls or rows to
    -- say): it fails nothing, as in verify() (newcomer48 N9).
    SELECT coalesce(bool_and(coalesce((x->>'passed')::boolean, true)), true), count(*) FILTER (WHERE NOT (x->>'passed')::boolean),
           string_agg(format('%s: %s', x->>'check', x->>'detail'), E'\n' ORDER BY i)
             FILTER (WHERE NOT (x->>'passed')::boolean)
      INTO all_passed, n, failures
      FROM jsonb_array_elements(results) WITH ORDINALITY y(x, i);
    all_passed := coalesce(all_passed, true);
    failures := CASE WHEN n > 1 THEN format('%s checks:', n) || E'\n' ELSE '' END || failures;
    PERFORM steward._migration_record('validation', mig, jsonb_build_object(
        'checked_at', checked, 'passed', all_passed, 'results', results));
    -- Before the backfill ends, validation only reports progress.
    PERFORM steward._migration_record('update', mig,
        CASE WHEN r.phase = 'pending_backfill' THEN '{}'::jsonb
             ELSE jsonb_build_object('failed', NOT all_passed,
                                     'error', CASE WHEN all_passed THEN NULL
                                                   ELSE 'validation failed: ' || failures END)
        END ||
        CASE WHEN all_passed AND r.phase = 'backfilled'
             THEN jsonb_build_object('phase', 'dual_written', 'validated_at', checked)
             WHEN NOT all_passed AND r.phase = 'dual_written'
             THEN jsonb_build_object('phase', 'backfilled')
             ELSE '{}'::jsonb END);
    RETURN QUERY SELECT x->>'check', (x->>'passed')::boolean, x->>'detail'
                   FROM jsonb_array_elements(results) x;
END
$$;
COMMENT ON FUNCTION steward.migration_validate(text) IS
  'check every row against up/down, checksum key ranges, validate NOT VALID constraints; recorded';


--------------------------------------------------------------------------
-- migration_complete, migration_cleanup, migration_rollback
--------------------------------------------------------------------------

-- Switch (inside migration_complete, all tables locked): the new shape
-- becomes the table's, under its final names; the old shape's columns stay
-- under reserved names, written by the trigger, for a rollback.
CREATE FUNCTION steward._migration_switch(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t steward.migration_tables;
    c steward.migration_columns;
    stmt text;
    follow name;
BEGIN
    PERFORM steward._migration_require_alone(mig, 'complete');
    FOR t IN SELECT * FROM steward.migration_tables x WHERE x.migration = mig AND x.active ORDER BY x.ord LOOP
        -- The key the replica identity moves to, read before the renames:
        -- when it followed the migration from start and is still an index
        -- a key of the steps replaces, under whatever name (renamed since:
        -- review24 V2); none when set otherwise since (DEFAULT, an index
        -- over columns both shapes have).
        follow := (SELECT f.follower FROM steward._migration_identity_follower(mig, t.relid) f
                    WHERE t.replica_identity IS NOT NULL);
        -- Column privileges granted since start reach the new columns too.
        FOR stmt IN SELECT steward._migration_column_grants(mig, t.relid) LOOP
            PERFORM steward._migration_exec(t.relid, stmt);
        END LOOP;
        FOR c IN SELECT * FROM steward.migration_columns x
                  WHERE x.migration = mig AND x.relid = t.relid ORDER BY x.ord LOOP
            IF c.kind IN ('pair', 'dropped', 'renamed') THEN
                PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s RENAME COLUMN %I TO %I',
                                                                t.relid, c.expand_old, c.switched_old));
            END IF;
            IF c.kind = 'pair' THEN
                IF c.expand_new <> c.switched_new THEN
                    PERFORM steward._migration_exec(t.relid, format(
                        'ALTER TABLE %s RENAME COLUMN %I TO %I', t.relid, c.expand_new, c.switched_new));
                END IF;
                -- Defaults follow the shapes: the new column's onto the
                -- table, the old column's onto the old view.
                IF c.old_default IS NOT NULL THEN
                    PERFORM steward._migration_exec(t.relid, format(
                        'ALTER TABLE %s ALTER COLUMN %I DROP DEFAULT', t.relid, c.switched_old));
                    PERFORM steward._migration_exec(t.relid, format(
                        'ALTER VIEW %I.%I ALTER COLUMN %I SET DEFAULT %s', mig || '_old', t.relname,
                        c.old_name, c.old_default));
                END IF;
                IF c.default_sql IS NOT NULL THEN
                    PERFORM steward._migration_exec(t.relid, format(
                        'ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', t.relid, c.switched_new,
                        steward._migration_bind(mig, t.relid, 'new', c.default_sql, '{}', NULL)));
                END IF;
            END IF;
            IF c.not_null THEN
                -- Instant: the validated CHECK (col IS NOT NULL) proves it.
                PERFORM steward._migration_exec(t.relid, format(
                    'ALTER TABLE %s ALTER COLUMN %I SET NOT NULL', t.relid, c.switched_new));
                PERFORM steward._migration_exec(t.relid, format(
                    'ALTER TABLE %s DROP CONSTRAINT %I', t.relid, c.not_null_name));
            END IF;
            IF c.unique_method = 'btree' THEN
                PERFORM steward._migration_exec(t.relid, format(
                    'ALTER TABLE %s ADD CONSTRAINT %I UNIQUE USING INDEX %I', t.relid,
                    c.unique_name, c.unique_name));
            END IF;
        END LOOP;
        -- The identity follows its key to the new column in the
        -- transaction that switches the publications' column lists to the
        -- new shape (below), as ALTER COLUMN TYPE keeps it on the rebuilt
        -- index: each change decoded before this commit has the old
        -- identity under the old list, each after it the new one under the
        -- new list, and the key columns keep their names for subscribers.
        IF follow IS NOT NULL THEN
            PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I',
                                                            t.relid, follow));
        END IF;
        IF t.new_name IS NOT NULL THEN
            PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s RENAME TO %I',
                                                            t.relid, t.new_name));
        END IF;
        -- Subscribers receive the new shape's columns from now on.
        PERFORM steward._migration_publish(mig, t.relid, 'new', true, false);
    END LOOP;
END
$$;

-- What complete, cleanup and a rollback after complete re-check instead
-- of trusting the last validation (recheck8 N4): a write that skipped the
-- migration's triggers since then (an INSERT into a relayout's layout
-- with check_function_bodies = off, a write while a trigger was disabled)
-- reached one layout or shape only, which the step would lose.
-- arg->>'action' is 'complete', 'clean up' or 'roll back'.
-- Without arg->>'locked' (called before the step takes its locks, so
-- nobody waits for it): a relayout's layouts counted (_relayout_recheck),
-- a column migration's rows without marker counted (validation required
-- none, and every write through the trigger sets it) -- one scan each.
-- With it (called through _migration_locked, ACCESS EXCLUSIVE, just
-- before the step): only catalog reads, so the lock is held no longer
-- than before: each trigger present and ENABLE ALWAYS; for complete, the
-- migration still validated (a skipped INSERT recorded since, in its
-- writer's transaction, which the lock waited for, moved it back to
-- backfilled: _relayout_skipped); for cleanup and rollback, a relayout
-- marked failed since (such an INSERT after complete) counted again under
-- the lock.  55000 with a DETAIL and a HINT naming the next step.
CREATE FUNCTION steward._migration_recheck(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    action text := arg->>'action';
    locked boolean := coalesce((arg->>'locked')::boolean, false);
    r steward.migration_runs := steward._migration_get(mig);
    relayout boolean := steward._relayout_step(r.steps) IS NOT NULL;
    t steward.migration_tables;
    rel regclass;
    tg name := CASE WHEN relayout THEN 'zz_steward_relayout' ELSE 'zz_steward_migration' END;
    fn regprocedure := CASE WHEN relayout THEN 'steward._relayout_trigger()'::regprocedure
                            ELSE 'steward._migration_trigger()'::regprocedure END;
    state "char";
    n bigint;
BEGIN
    IF relayout THEN
        -- A layout dropped or changed around the DDL guard: complete
        -- refuses naming it; cleanup and rollback keep the layout left.
        PERFORM steward._relayout_require_layouts(mig, action) WHERE action = 'complete';
        IF NOT (SELECT a.old_alive AND a.new_alive FROM steward._relayout_alive(mig) a) THEN
            RETURN;
        END IF;
    END IF;
    IF NOT locked THEN
        IF relayout THEN
            PERFORM steward._relayout_recheck(mig, action);
            RETURN;
        END IF;
        FOR t IN SELECT * FROM steward.migration_tables x WHERE x.migration = mig AND x.active ORDER BY x.ord LOOP
            n := steward._migration_unfilled(mig, t.relid);
            IF n > 0 THEN
                RAISE EXCEPTION 'cannot % migration "%": % of relation "%" % written in one shape only',
                        action, mig, steward._relayout_count(n, 'row', 'rows'), steward._relation_name(t.relid),
                        CASE WHEN n = 1 THEN 'is' ELSE 'are' END
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          DETAIL = format('%s written since the %s without the migration''s trigger '
                                          '(its marker column _steward_side is NULL), and the step would lose '
                                          'what %s in the other shape.',
                                          CASE WHEN n = 1 THEN 'It was' ELSE 'They were' END,
                                          CASE WHEN action = 'complete' THEN 'last validation' ELSE 'switch' END,
                                          CASE WHEN n = 1 THEN 'it holds' ELSE 'they hold' END),
                          HINT = CASE WHEN action = 'complete' THEN format(
                                     'Run SELECT * FROM steward.migration_validate(%L), '
                                     'CALL steward.migration_backfill(%L) (it fills %s from the old shape), '
                                     'and validate again.', mig, mig, CASE WHEN n = 1 THEN 'it' ELSE 'them' END)
                                 WHEN n = 1 THEN format(
                                     'SELECT * FROM ONLY %s WHERE _steward_side IS NULL lists it: set its '
                                     'columns of both shapes and _steward_side (''n'' or ''o'', the shape it '
                                     'was written in), then try again.', t.relid)
                                 ELSE format(
                                     'SELECT * FROM ONLY %s WHERE _steward_side IS NULL lists them: set their '
                                     'columns of both shapes and _steward_side (''n'' or ''o'', the shape they '
                                     'were written in), then try again.', t.relid) END;
            END IF;
        END LOOP;
        RETURN;
    END IF;

    FOR rel IN SELECT x FROM steward.migration_tables m, steward._relayout_tree(m.relid) x
                WHERE m.migration = mig AND m.active AND relayout
               UNION ALL
               SELECT m.relid FROM steward.migration_tables m
                WHERE m.migration = mig AND m.active AND NOT relayout LOOP
        -- For complete the trigger must also still be the migration's:
        -- CREATE OR REPLACE TRIGGER (refused by the DDL guard, not around
        -- it) keeps the name and ENABLE ALWAYS with another function.
        -- Rollback and cleanup drop it whatever it runs.
        state := (SELECT CASE WHEN g.tgfoid = fn OR action <> 'complete' THEN g.tgenabled ELSE 'F' END
                    FROM pg_trigger g WHERE g.tgrelid = rel AND g.tgname = tg);
        CONTINUE WHEN state = 'A';
        RAISE EXCEPTION 'cannot % migration "%": trigger % of relation "%" %', action, mig, tg, steward._relation_name(rel),
                CASE state WHEN 'D' THEN 'is disabled'
                           WHEN 'O' THEN 'does not fire under session_replication_role = replica'
                           WHEN 'R' THEN 'fires only under session_replication_role = replica'
                           WHEN 'F' THEN 'was replaced by one that runs another function'
                           ELSE 'is missing' END
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Writes that skipped it since the last validation reached only one '
                           || CASE WHEN relayout THEN 'layout' ELSE 'shape' END
                           || ', and the step would lose them.',
                  HINT = CASE WHEN state IS NULL
                              THEN format('SELECT * FROM steward.migration_validate(%L) names the rows that differ.', mig)
                              WHEN state = 'F'
                              THEN format('SELECT steward.migration_rollback(%L); ends the migration and drops it.', mig)
                              ELSE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I; then '
                                          'SELECT * FROM steward.migration_validate(%L) names the rows that differ.',
                                          rel, tg, mig) END;
    END LOOP;
    IF action = 'complete' AND r.phase <> 'dual_written' THEN
        RAISE EXCEPTION 'migration "%" has not passed validation', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = r.error,
                  HINT = format('Run SELECT * FROM steward.migration_validate(%L); and fix what it reports.', mig);
    END IF;
    IF relayout AND action <> 'complete' AND r.failed THEN
        PERFORM steward._relayout_recheck(mig, action);
    END IF;
END
$$;

-- Refused first, with 25006, during recovery or in a read-only transaction
-- (steward._migration_entered).
CREATE FUNCTION steward.migration_complete(name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mig text := name;
    r steward.migration_runs;
BEGIN
    -- Counted as pg_steward's own code, or called again to be (exec.c: steward_migration_entered).
    IF NOT steward._migration_entered('steward.migration_complete(text)') THEN
        PERFORM steward.migration_complete(name);
        RETURN;
    END IF;
    PERFORM steward._migration_settle_dropped(mig);
    r := steward._migration_get(mig);
    PERFORM steward._migration_require(r, ARRAY['backfilled', 'dual_written'], 'complete');
    IF r.phase <> 'dual_written' OR NOT coalesce(r.last_validation_passed, false) THEN
        RAISE EXCEPTION 'migration "%" has not passed validation', mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = CASE WHEN r.last_validated_at IS NULL THEN 'It was never validated.'
                                WHEN r.last_validation_passed THEN format('It passed, but %s.', r.error)
                                -- A backfill started since cleared the failure's report
                                -- (error): say so rather than end on an empty colon.
                                WHEN r.error IS NULL THEN
                                    'The last validation failed, before the latest backfill; validate again to see what holds now.'
                                -- The error already says "validation failed: ".
                                ELSE format('The last validation failed: %s',
                                            regexp_replace(r.error, '^validation failed: ', '')) END,
                  HINT = format('Run SELECT * FROM steward.migration_validate(%L); and fix what it reports.', mig);
    END IF;
    IF NOT steward._migration_is_index(mig) THEN       -- index steps switch nothing
        IF steward._relayout_step(r.steps) IS NULL THEN
            PERFORM steward._migration_check_shapes(mig);
            PERFORM steward._migration_warn_trigger_users(mig);
        END IF;
        -- Counted without locks, then re-checked under the same locks
        -- (kept by the transaction) as the switch.
        PERFORM steward._migration_recheck(mig, '{"action": "complete"}');
        PERFORM steward._migration_locked(mig, '_migration_recheck', 'ACCESS EXCLUSIVE',
                                          '{"action": "complete", "locked": true}');
        PERFORM steward._migration_locked(mig, CASE WHEN steward._relayout_step(r.steps) IS NULL
                                                    THEN '_migration_switch' ELSE '_relayout_switch' END,
                                          'ACCESS EXCLUSIVE', '{"direction": "forward"}');
    END IF;
    PERFORM steward._migration_record('update', mig, jsonb_build_object(
        'phase', 'switched', 'switched_at', clock_timestamp()));
END
$$;
COMMENT ON FUNCTION steward.migration_complete(text) IS
  'switch: the new shape becomes the table''s; the old shape stays (schema <name>_old, dual writes) until cleanup';

-- Functions with a string body (not BEGIN ATOMIC) that name a schema of
-- a column migration's shapes (<mig>.x, <mig>_old.x, quoted or not) or
-- put it on their search_path: PostgreSQL records no dependency for
-- them, so the DDL guard cannot refuse them when they are made and the
-- drop of the views does not stop on them; they fail when they run
-- afterwards.  The cleanup and the rollback (action) name each in a
-- NOTICE, before they drop the views (mig4).  Read from the body's text:
-- a name built at run time (format, EXECUTE) is not seen.
CREATE FUNCTION steward._migration_notice_text_users(mig text, action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f record;
    esc text := regexp_replace(mig, '([^[:alnum:]_])', E'\\\\\\1', 'g');   -- as a regular expression
BEGIN
    -- No schema has a longer name (and no regular expression is built
    -- from a direct call's 20,000-byte one; fuzz2).
    IF octet_length(mig) > 63 THEN
        RETURN;
    END IF;
    FOR f IN SELECT p.oid::regprocedure AS fn
               FROM pg_proc p
              WHERE p.prosqlbody IS NULL
                AND p.prolang NOT IN (SELECT l.oid FROM pg_language l WHERE l.lanname IN ('c', 'internal'))
                AND p.pronamespace <> 'steward'::regnamespace
                AND (p.prosrc ~* ('(^|[^[:alnum:]_$"])"?' || esc || '(_old)?"?[[:space:]]*[.]')
                     OR EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                                 WHERE c ~* ('^search_path=(.*[, ])?"?' || esc || '(_old)?"?(,|[[:space:]]|$)')))
              ORDER BY 1 LOOP
        PERFORM steward._report('notice',
                format('function %s names schema "%s" or "%s" of migration "%s", whose views the %s drops', f.fn, mig, mig || '_old', mig, CASE WHEN action = 'roll back' THEN 'rollback' ELSE 'cleanup' END),
                detail => 'Its body is a string, for which PostgreSQL records no dependency: it is not refused, '
                           'and fails when it uses those views afterwards.',
                hint => 'Make it use the table instead (after the cleanup the table has the new shape), or give '
                         'it a BEGIN ATOMIC body, whose dependencies are checked.');
    END LOOP;
END
$$;

-- The user's triggers on a column migration's tables whose function body
-- (a string: PostgreSQL checks no column it names) names an old column
-- that complete renames or drops, so that it no longer exists under that
-- name (review26 R4): NEW.amt := round(NEW.amt) passes start and
-- complete, then every write firing it fails with 42703 until a
-- rollback.  A WARNING at start and again at complete names each
-- trigger, its function and the columns, with a HINT; nothing is
-- refused (the function may handle both shapes already, or the name may
-- be a word of another sense).  Read from the body's text, as
-- _migration_notice_text_users reads it: a name built at run time is not
-- seen.  Also a trigger given the old name as an argument (CREATE
-- TRIGGER ... EXECUTE FUNCTION f('amt'), as contrib's moddatetime takes
-- its column), in any language: the function builds the name from
-- TG_ARGV at run time, which no body text shows (evolve11).
CREATE FUNCTION steward._migration_warn_trigger_users(mig text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT tg.tgname, c.relid, p.oid::regprocedure AS fn,
                    string_agg(format('"%s"', c.old_name), ', ' ORDER BY c.ord) AS cols, count(*) AS n,
                    NOT bool_or(x.in_body) AS args_only
               FROM steward.migration_columns c
               JOIN pg_trigger tg ON tg.tgrelid = c.relid AND NOT tg.tgisinternal
               JOIN pg_proc p ON p.oid = tg.tgfoid
              CROSS JOIN LATERAL (
                    SELECT p.prosqlbody IS NULL
                           AND p.prolang NOT IN (SELECT l.oid FROM pg_language l WHERE l.lanname IN ('c', 'internal'))
                           AND p.prosrc ~* ('(^|[^[:alnum:]_$])"?'
                                            || regexp_replace(c.old_name, '([^[:alnum:]_])', E'\\\\\\1', 'g')
                                            || '"?($|[^[:alnum:]_$])') AS in_body,
                           -- tgargs: each argument followed by a zero byte
                           position((decode('00', 'hex') || convert_to(c.old_name::text, getdatabaseencoding())
                                     || decode('00', 'hex')) IN (decode('00', 'hex') || tg.tgargs)) > 0 AS in_args) x
              WHERE c.migration = mig
                AND c.kind IN ('pair', 'renamed', 'dropped')
                AND c.old_name IS DISTINCT FROM c.new_name
                AND p.pronamespace <> 'steward'::regnamespace
                AND (x.in_body OR x.in_args)
              GROUP BY tg.tgname, c.relid, p.oid
              ORDER BY c.relid::regclass::text, tg.tgname LOOP
        IF t.args_only THEN
            PERFORM steward._report('warning',
                    format('trigger "%s" of relation "%s" passes function %s the name of %s %s that migration "%s" renames or drops at complete', t.tgname, steward._relation_name(t.relid), t.fn, CASE WHEN t.n > 1 THEN 'columns' ELSE 'column' END, t.cols, mig),
                    detail => 'After complete, each write that fires it fails where the function looks that name up, until the trigger is created again with the new name (or, before the cleanup, the migration is rolled back).',
                    hint => 'Right after complete, drop the trigger and create it again with the new column name, or roll the migration back.');
        ELSE
            PERFORM steward._report('warning',
                    format('trigger "%s" of relation "%s" runs function %s, whose body names %s %s that migration "%s" renames or drops at complete', t.tgname, steward._relation_name(t.relid), t.fn, CASE WHEN t.n > 1 THEN 'columns' ELSE 'column' END, t.cols, mig),
                    detail => 'After complete, each write that fires it fails where the body uses that name (42703), until the function is changed (or, before the cleanup, the migration is rolled back).',
                    hint => 'Update the trigger function to handle both shapes (the old columns before complete, the new ones after) before complete, or roll the migration back.');
        END IF;
    END LOOP;
END
$$;

-- Objects made since start over a view of the shapes (<mig>.<table>,
-- <mig>_old.<table>): a user's view selecting from one, say (recheck10
-- N7), or an object bound to a view's row type or its array type (a
-- function RETURNS SETOF <mig>.<table>, a column or an argument of that
-- type: review12 R12-3) -- every pg_depend dependent.  The drop of the
-- shapes' views (cleanup, rollback: action) would need CASCADE: refused
-- first with 2BP01 naming each object and the view it uses, and the next
-- step.
CREATE FUNCTION steward._migration_check_view_users(mig text, action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    users text;
    first_user text;
    first_rowtype boolean;
    rowtype boolean;
    base regclass;
BEGIN
    -- No schema has a longer name: no view to look for (a direct call's
    -- 20,000-byte name took 2.4 s over pg_depend; fuzz2).
    IF octet_length(mig) > 63 THEN
        RETURN;
    END IF;
    PERFORM steward._migration_notice_text_users(mig, action);
    SELECT string_agg(x.what || CASE WHEN x.rowtype THEN ' (on the row type of ' ELSE ' (on ' END
                      || x.shape::regclass::text || ')', ', ' ORDER BY x.what, x.shape::regclass::text),
           (array_agg(x.what ORDER BY x.what))[1], (array_agg(x.rowtype ORDER BY x.what, x.rowtype))[1],
           bool_or(x.rowtype),
           (SELECT t.relid FROM steward.migration_tables t
             WHERE t.migration = mig AND t.active ORDER BY t.ord LIMIT 1)
      INTO users, first_user, first_rowtype, rowtype, base
      FROM (SELECT CASE WHEN d.classid = 'pg_rewrite'::regclass AND rw.rulename = '_RETURN'
                        THEN format('%s %s', CASE uc.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
                                    uc.oid::regclass)
                        ELSE pg_describe_object(d.classid, d.objid,
                                                CASE WHEN dc.relkind IN ('v', 'm') THEN 0 ELSE d.objsubid END) END AS what,
                   sv.oid AS shape,
                   bool_and(d.refclassid = 'pg_type'::regclass) AS rowtype
              FROM pg_class sv
              JOIN pg_namespace n ON n.oid = sv.relnamespace
              JOIN pg_type ty ON ty.oid = sv.reltype
              JOIN pg_depend d ON (d.refclassid = 'pg_class'::regclass AND d.refobjid = sv.oid)
                               OR (d.refclassid = 'pg_type'::regclass AND d.refobjid IN (ty.oid, ty.typarray))
              LEFT JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid
              LEFT JOIN pg_class uc ON uc.oid = rw.ev_class
              LEFT JOIN pg_class dc ON d.classid = 'pg_class'::regclass AND dc.oid = d.objid
             WHERE n.nspname IN (mig, mig || '_old') AND sv.relkind = 'v'
               AND d.deptype = 'n' AND coalesce(uc.oid <> sv.oid, true)
               AND NOT (d.classid = 'pg_class'::regclass AND d.objid = sv.oid)
             GROUP BY 1, 2) x;
    IF users IS NOT NULL THEN
        RAISE EXCEPTION 'cannot % migration "%": % uses %', action, mig, first_user,
                        CASE WHEN first_rowtype THEN 'the row type of a view of its shapes' ELSE 'a view of its shapes' END
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = format('The %s drops the views of the shapes in schemas %I and %I, which would need CASCADE: %s.',
                                  CASE WHEN action = 'roll back' THEN 'rollback' ELSE 'cleanup' END,
                                  mig, mig || '_old', users),
                  HINT = format('Drop them (make them again over the table %s afterwards)%s, then run SELECT steward.migration_%s(%L); again.',
                                base,
                                CASE WHEN rowtype THEN ' or change a column of that type to another type (for example jsonb: ALTER TABLE ... ALTER COLUMN ... TYPE jsonb USING to_jsonb(...))' ELSE '' END,
                                CASE WHEN action = 'roll back' THEN 'rollback' ELSE 'cleanup' END, mig);
    END IF;
END
$$;

-- The views of a column migration's shapes, which complete changes
-- (the old column's default moves onto <mig>_old's view) and the new
-- version reads through: one gone (DROP OWNED BY ... CASCADE or DROP
-- SCHEMA ... CASCADE around the guard) stops complete (55000) before
-- any change, with the rollback, which needs none of them, as the way
-- out (mig4).  A relayout or index migration has none.
CREATE FUNCTION steward._migration_check_shapes(mig text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    gone text;
    tbl regclass;
BEGIN
    SELECT format('%I.%I', v.nsp, v.rel), t.relid INTO gone, tbl
      FROM steward.migration_tables t
     CROSS JOIN LATERAL (VALUES (mig, coalesce(t.new_name, t.relname)), (mig || '_old', t.relname)) v(nsp, rel)
     WHERE t.migration = mig AND t.active
       AND NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                        WHERE n.nspname = v.nsp AND c.relname = v.rel AND c.relkind = 'v')
     ORDER BY t.ord, v.nsp LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot complete migration "%": view %, a shape of table "%", is gone', mig, gone, steward._relation_name(tbl)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = format('Schemas %I and %I hold the views of the new and old shapes; complete changes them, '
                                  'and the new version of the application reads and writes through them. They were '
                                  'dropped around the migration''s guard (DROP OWNED BY ... CASCADE, DROP SCHEMA ... CASCADE).',
                                  mig, mig || '_old'),
                  HINT = format('Roll it back (SELECT steward.migration_rollback(%L);) and start a new migration.', mig);
    END IF;
END
$$;

-- While a column migration runs, a statement is refused when it ends if
-- it made an object use a view of the shapes (<mig>.<table>,
-- <mig>_old.<table>), a column of one, its row type or that type's array
-- (55006: cleanup and rollback drop those views, and could not with it),
-- or put in a shapes' schema an object whose owner lacks the rights of an
-- owner of the migration's tables (42501: the applications put <mig>
-- first on their search_path).  Judged in C (src/migrate/shapeguard.c) on
-- the pg_depend rows the transaction wrote that refer to those objects,
-- whatever the statement's tag, so the trigger fires for every tag
-- (review14 R14-1, R14-4); _migration_check_view_users stays the backstop
-- for an object made around the guard.
CREATE FUNCTION steward._migration_guard_shape_users()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'steward_migration_guard_shape_users'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._migration_guard_shape_users() FROM PUBLIC;
CREATE EVENT TRIGGER steward_migration_shape_users ON ddl_command_end
    EXECUTE FUNCTION steward._migration_guard_shape_users();
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;

-- The column list and row filter a statement gave publication pubname for
-- table tbl, a table of column migration mig (switched: after complete),
-- judged for _migration_check_publication_changes (review16 R16-1): 2BP01
-- for a list or filter over a column the migration replaces or drops, or
-- _steward_side, or a new column (a pair's, an add_column's: a rollback
-- drops it, and DROP COLUMN would refuse while the publication uses it,
-- pub4's left-alone), but a pinned publication's list may hold the pin's
-- own columns (the rollback gives it the old shape's list before its
-- DDL); 55006 for a pinned publication's list other than the pin's.
-- A row filter's columns (filter) are its Vars' column numbers, read from
-- its node tree (_publication_filter_columns): a row filter reads only
-- the table's columns, and never the whole row (PostgreSQL refuses a Var
-- of the table's row type there: "User-defined types are not allowed").
-- Run as the catalog's owner by its caller.
CREATE FUNCTION steward._migration_check_publication_list(tbl regclass, prattrs int2vector, filter int2[],
                                                           pubname name, mig text, switched boolean,
                                                           pinned boolean)
RETURNS void
LANGUAGE plpgsql
STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col name;
    infilter boolean;
    isnew boolean;
    pin text[];
BEGIN
    pin := CASE WHEN pinned AND prattrs IS NOT NULL
                THEN steward._migration_published(mig, tbl,
                                                  CASE WHEN switched THEN 'new' ELSE 'old' END, switched) END;
    SELECT a.attname, a.attnum = ANY (coalesce(filter, '{}')),
           EXISTS (SELECT 1 FROM steward.migration_columns x
                    WHERE x.migration = mig AND x.relid = tbl AND x.kind IN ('pair', 'added')
                      AND a.attname = CASE WHEN switched THEN x.switched_new ELSE x.expand_new END)
      INTO col, infilter, isnew
      FROM pg_attribute a
     WHERE a.attrelid = tbl
       AND ((a.attnum = ANY (prattrs::int2[])
             AND NOT a.attname::text = ANY (coalesce(pin, '{}')))
            OR a.attnum = ANY (coalesce(filter, '{}')))
       AND (a.attname = '_steward_side'
            OR EXISTS (SELECT 1 FROM steward.migration_columns x
                        WHERE x.migration = mig AND x.relid = tbl
                          AND ((x.kind IN ('pair', 'dropped')
                                AND a.attname = CASE WHEN switched THEN x.switched_old ELSE x.expand_old END)
                               OR (x.kind IN ('pair', 'added')
                                   AND a.attname = CASE WHEN switched THEN x.switched_new ELSE x.expand_new END))))
     ORDER BY 2 DESC, a.attnum LIMIT 1;
    IF FOUND AND isnew THEN
        RAISE EXCEPTION 'publication "%" would % column "%" of relation "%", which a rollback of migration "%" drops',
                pubname, CASE WHEN infilter THEN 'filter rows on' ELSE 'publish' END, col, steward._relation_name(tbl), mig
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = 'The column is the migration''s new one until cleanup: a rollback drops it, and could not '
                           'while a column list or row filter of the publication uses it.',
                  HINT = format('After SELECT steward.migration_cleanup(%L); give publication %I a list or row '
                                'filter over column %I. Meanwhile publish %s without a column list (the migration '
                                'gives it the list of the shape its subscribers have), or with a list and row filter '
                                'without column %I.', mig, pubname, col, tbl, col);
    ELSIF FOUND THEN
        RAISE EXCEPTION 'publication "%" would % column "%" of relation "%", which migration "%" replaces or drops',
                pubname, CASE WHEN infilter THEN 'filter rows on' ELSE 'publish' END, col, steward._relation_name(tbl), mig
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = CASE WHEN col = '_steward_side'
                                THEN 'A column list or row filter given to the table is left as it is: it would '
                                     'use the migration''s own column, which no subscriber has, and the cleanup '
                                     'or rollback drops that column.'
                                ELSE 'A column list or row filter given to the table is left as it is: after '
                                     'complete it would use the old column under its reserved name, which no '
                                     'subscriber has, and the cleanup drops that column (migration_start '
                                     'refuses such a list or filter too).' END,
                  HINT = format('Publish %s without a column list (the migration gives it the list of the shape its '
                                'subscribers have), or with a list and row filter without column %I.', tbl, col);
    END IF;
    IF pin IS NOT NULL AND NOT (ARRAY(SELECT a.attname::text FROM pg_attribute a
                                       WHERE a.attrelid = tbl AND a.attnum = ANY (prattrs::int2[])
                                       ORDER BY 1) = ARRAY(SELECT x FROM unnest(pin) x ORDER BY 1)) THEN
        RAISE EXCEPTION 'cannot change the column list of relation "%" in publication "%" while migration "%" changes it',
                steward._relation_name(tbl), pubname, mig
            USING ERRCODE = 'object_in_use',
                  DETAIL = format('The migration keeps the column list of one shape on the publication (now %s) '
                                  'until cleanup or rollback, and moves it to the new shape at complete: another '
                                  'list would be replaced then, and removed at cleanup.', array_to_string(pin, ', ')),
                  HINT = format('Give publication %I its own list after SELECT steward.migration_cleanup(%L); or a rollback. '
                                'Meanwhile publish the columns you want from another publication '
                                'with a list of its own.', pubname, mig);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._migration_check_publication_list(regclass, int2vector, int2[], name, text, boolean, boolean) FROM PUBLIC;

-- A publication a statement changed while a column migration runs
-- (CREATE PUBLICATION, ALTER PUBLICATION), judged when the statement
-- ends as start judges publications: 55006 when a publication the
-- migration pins a column list on (migration_tables.publications) now
-- publishes updates or deletes that the table's replica identity makes
-- fail -- FULL, or an index over a column one shape's list leaves out
-- (review14 R14-2: the other order of the REPLICA IDENTITY guard, which
-- refuses the identity while it publishes them); 2BP01 when the
-- statement gave the table a column list or row filter of its own over a
-- column the migration replaces or drops, a new column a rollback drops
-- (pub5), or _steward_side (R14-3: start
-- refuses one, _migration_check_column_users; after complete it would
-- publish _steward_old_<name>, which no subscriber has, and cleanup could
-- not drop it), whether or not the migration pins the publication
-- (review16 R16-1); 55006 when it gave a publication the migration pins
-- a column list other than the pinned one (the migration would replace it
-- at complete and drop it at cleanup: a narrowed list would be widened
-- without a word).  A row filter's columns are read from its node tree
-- (_publication_filter_columns).  Run by the C event trigger
-- _migration_guard_publications in a snapshot taken after the statement,
-- whose statements read there (it is STABLE), not in a REPEATABLE READ
-- transaction's older snapshot.  SECURITY DEFINER to read every
-- migration's records; it calls no user code.  The migration's own
-- statements are not judged.
CREATE FUNCTION steward._migration_check_publication_changes()
RETURNS void
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    u record;
    col name;
BEGIN
    IF to_regclass('steward.migration_tables') IS NULL THEN
        RETURN;
    END IF;
    FOR u IN SELECT DISTINCT pr.prrelid::regclass AS tbl, pr.prattrs,
                    steward._publication_filter_columns(pr.prpubid, pr.prrelid) AS filter, p.pubname,
                    p.pubupdate OR p.pubdelete AS changes_rows,
                    t.migration, r.phase = 'switched' AS switched, c.command_tag = 'CREATE PUBLICATION'
                    OR c.classid = 'pg_publication_rel'::regclass AS listed, p.pubname = ANY (t.publications) AS pinned
               FROM pg_event_trigger_ddl_commands() c
               JOIN pg_publication_rel pr
                 ON (c.classid = 'pg_publication'::regclass AND pr.prpubid = c.objid)
                 OR (c.classid = 'pg_publication_rel'::regclass AND pr.oid = c.objid)
               JOIN pg_publication p ON p.oid = pr.prpubid
               JOIN steward.migration_tables t ON t.active AND t.relid = pr.prrelid
               JOIN steward.migration_runs r ON r.name = t.migration AND r.status = 'active' AND NOT r.restored
              WHERE (pr.prattrs IS NOT NULL OR pr.prqual IS NOT NULL)
                AND NOT coalesce((r.steps -> 0) ?| ARRAY['relayout', 'create_index', 'drop_index'], false)
              ORDER BY t.migration, p.pubname, 1 LOOP
        IF u.listed THEN
            PERFORM steward._migration_check_publication_list(u.tbl, u.prattrs, u.filter, u.pubname, u.migration,
                                                              u.switched, coalesce(u.pinned, false));
        END IF;
        CONTINUE WHEN NOT coalesce(u.pinned, false) OR NOT u.changes_rows OR u.prattrs IS NULL;
        -- An identity that follows the migration (the index start
        -- recorded until complete, the key it moved to after) is covered
        -- by the list of each shape in turn (_migration_identity_carried).
        CONTINUE WHEN steward._migration_identity_carried(u.migration, u.tbl, (
            SELECT i.indexrelid FROM pg_index i JOIN pg_class k ON k.oid = i.indrelid
             WHERE i.indrelid = u.tbl AND i.indisreplident AND k.relreplident = 'i'), u.switched);
        SELECT a.attname INTO col
          FROM pg_class k
          LEFT JOIN pg_index i ON i.indrelid = k.oid
           AND ((k.relreplident = 'i' AND i.indisreplident) OR (k.relreplident = 'd' AND i.indisprimary))
          LEFT JOIN pg_attribute a ON a.attrelid = k.oid AND a.attnum = ANY (i.indkey)
         WHERE k.oid = u.tbl
           AND (k.relreplident = 'f'
                OR a.attname = '_steward_side'
                OR EXISTS (SELECT 1 FROM steward.migration_columns x
                            WHERE x.migration = u.migration AND x.relid = u.tbl
                              AND ((x.kind IN ('pair', 'added') AND a.attname IN (x.expand_new, x.switched_new))
                                   OR (x.kind IN ('pair', 'dropped') AND a.attname IN (x.expand_old, x.switched_old)))))
         ORDER BY a.attnum LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'cannot publish updates or deletes of relation "%" in publication "%" while migration "%" changes it',
                    steward._relation_name(u.tbl), u.pubname, u.migration
                USING ERRCODE = 'object_in_use',
                      DETAIL = CASE WHEN col IS NULL
                                    THEN 'The migration keeps a column list of one shape on the publication until cleanup or '
                                         'rollback, and PostgreSQL 15 refuses UPDATE and DELETE of a table with REPLICA '
                                         'IDENTITY FULL published with a column list.'
                                    ELSE format('The migration keeps a column list of one shape on the publication until '
                                                'cleanup or rollback, and the replica identity covers column %I, which one '
                                                'shape''s list leaves out: UPDATE and DELETE would fail, for a column list '
                                                'must cover the replica identity.', col) END,
                      HINT = format('Set the replica identity to an index over columns both shapes have (or DEFAULT) '
                                    'first, or publish updates and deletes after SELECT steward.migration_cleanup(%L); '
                                    'or a rollback.', u.migration);
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION steward._migration_check_publication_changes() FROM PUBLIC;
CREATE FUNCTION steward._migration_guard_publications()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'steward_migration_guard_publications'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._migration_guard_publications() FROM PUBLIC;
CREATE EVENT TRIGGER steward_migration_publication_checks ON ddl_command_end
    WHEN TAG IN ('CREATE PUBLICATION', 'ALTER PUBLICATION')
    EXECUTE FUNCTION steward._migration_guard_publications();
ALTER EVENT TRIGGER steward_migration_publication_checks ENABLE ALWAYS;

-- A publication given a column migration's table by name without a
-- column list while the migration runs (ALTER PUBLICATION ... ADD | SET
-- TABLE, CREATE PUBLICATION ... FOR TABLE) gets the column list of the
-- shape the migration publishes now (the old one until complete, the new
-- one after it) when its statement ends, and is recorded for the next
-- steps, as start did for those that named the table then: else it
-- published _steward_side and the other shape's columns until the next
-- step, and a subscriber lacking them stopped applying.  Refused as at
-- start (_migration_check_publications) when it cannot take one.  Only
-- the publications the statement gave the table
-- (pg_event_trigger_ddl_commands: the publication for CREATE, its
-- pg_publication_rel rows for ALTER); not once the step's DDL dropped
-- _steward_side (cleanup and rollback unpin as they end).  Runs as the
-- caller, who owns the publication and the table (ALTER PUBLICATION
-- checks both), so sees the migration's records.
CREATE FUNCTION steward._migration_pin_publications()
RETURNS event_trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record;
    cols text;
BEGIN
    IF to_regclass('steward.migration_tables') IS NULL THEN
        RETURN;
    END IF;
    FOR t IN SELECT DISTINCT m.migration, m.relid, r.phase = 'switched' AS switched
               FROM pg_event_trigger_ddl_commands() c
               JOIN pg_publication_rel pr
                 ON (c.classid = 'pg_publication'::regclass AND pr.prpubid = c.objid)
                 OR (c.classid = 'pg_publication_rel'::regclass AND pr.oid = c.objid)
               JOIN steward.migration_tables m ON m.active AND m.relid = pr.prrelid
               JOIN steward.migration_runs r ON r.name = m.migration AND r.status = 'active' AND NOT r.restored
              WHERE pr.prattrs IS NULL
                AND NOT coalesce((r.steps -> 0) ?| ARRAY['relayout', 'create_index', 'drop_index'], false)
                AND EXISTS (SELECT 1 FROM pg_attribute a
                             WHERE a.attrelid = m.relid AND a.attname = '_steward_side' AND NOT a.attisdropped)
              ORDER BY 1, 2 LOOP
        cols := array_to_string(ARRAY(SELECT quote_ident(c) FROM unnest(steward._migration_published(
                    t.migration, t.relid, CASE WHEN t.switched THEN 'new' ELSE 'old' END, t.switched)) c), ', ');
        BEGIN
            PERFORM steward._migration_check_publications(t.migration, t.relid);
            PERFORM steward._migration_publish(t.migration, t.relid, CASE WHEN t.switched THEN 'new' ELSE 'old' END,
                                               t.switched, false);
        EXCEPTION WHEN insufficient_privilege THEN
            -- Another table of the migration, or another publication of
            -- this one, belongs to a role the caller is not a member of.
            RAISE EXCEPTION 'cannot give relation "%" the column list of migration "%" in its publications: %',
                    steward._relation_name(t.relid), t.migration, SQLERRM
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'Published without a column list, it would send the migration''s columns too; the '
                               'migration gives it the list of the shape its subscribers have and records it, which '
                               'takes a role owning every table of the migration and every such publication.',
                      HINT = format('Publish it with that column list yourself: ... TABLE %s (%s).', t.relid, cols);
        END;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION steward._migration_pin_publications() FROM PUBLIC;
CREATE EVENT TRIGGER steward_migration_publications ON ddl_command_end
    WHEN TAG IN ('CREATE PUBLICATION', 'ALTER PUBLICATION')
    EXECUTE FUNCTION steward._migration_pin_publications();
ALTER EVENT TRIGGER steward_migration_publications ENABLE ALWAYS;

-- Drop the schemas of a migration with the views it created (RESTRICT:
-- whatever else someone put there stays, with a warning).
CREATE FUNCTION steward._migration_drop_views(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t steward.migration_tables;
    nsp text;
BEGIN
    FOR t IN SELECT * FROM steward.migration_tables x WHERE x.migration = mig AND x.active ORDER BY x.ord LOOP
        PERFORM steward._migration_exec(t.relid, format('DROP VIEW IF EXISTS %I.%I', mig,
                                                        coalesce(t.new_name, t.relname)));
        PERFORM steward._migration_exec(t.relid, format('DROP VIEW IF EXISTS %I.%I', mig || '_old',
                                                        t.relname));
    END LOOP;
    SELECT x.relid INTO t.relid FROM steward.migration_tables x WHERE x.migration = mig AND x.active ORDER BY x.ord LIMIT 1;
    FOREACH nsp IN ARRAY ARRAY[mig, mig || '_old'] LOOP
        BEGIN
            PERFORM steward._migration_exec(t.relid, format('DROP SCHEMA IF EXISTS %I', nsp));
        EXCEPTION WHEN dependent_objects_still_exist OR insufficient_privilege THEN
            PERFORM steward._report('warning',
                    format('schema "%s" of migration "%s" is kept: %s', nsp, mig, SQLERRM));
        END;
    END LOOP;
END
$$;

-- After cleanup dropped the old columns: a constraint the migration gave a
-- changed column under a numbered name (steward._migration_free_name:
-- the old column had one of that name) takes the plain name back, so the
-- application sees the names it knew (in unique_violation errors, say).
-- Only while that name is still the migration's constraint (its kind, on
-- the new column; a key over exactly the step's columns): after complete
-- the user may rename it (ALTER INDEX passes the guard), and a constraint
-- of theirs may take the freed name over other columns, which is not the
-- key the old name stood for.  A constraint the user renamed keeps the
-- user's name.
CREATE FUNCTION steward._migration_settle_names(mig text, t steward.migration_tables)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n record;
BEGIN
    FOR n IN SELECT x.name, left(x.base, 63) AS base, x.kinds, x.cols, x.exact
               FROM steward.migration_columns c,
                    LATERAL (VALUES (c.fk_name, format('%s_%s_fkey', t.relname, c.new_name),
                                     '{f}'::"char"[], ARRAY[c.new_name::text], false),
                                    (c.check_name, format('%s_%s_check', t.relname, c.new_name),
                                     '{c}', ARRAY[c.new_name::text], false),
                                    (c.unique_name, coalesce(c.unique_final::text,
                                                    format('%s_%s_%s', t.relname, c.new_name,
                                                           CASE WHEN c.unique_method = 'steward_hash'
                                                                THEN 'excl' ELSE 'key' END)),
                                     '{u,x}', c.unique_with || c.new_name::text, true)) x(name, base, kinds, cols, exact)
              WHERE c.migration = mig AND c.relid = t.relid AND c.kind = 'pair' AND x.name IS NOT NULL LOOP
        CONTINUE WHEN n.name = n.base
            OR NOT EXISTS (SELECT 1 FROM pg_constraint k
                            WHERE k.conrelid = t.relid AND k.conname = n.name AND k.contype = ANY (n.kinds)
                              AND (SELECT array_agg(a.attname::text ORDER BY a.attname::text) FROM pg_attribute a
                                    WHERE a.attrelid = t.relid AND a.attnum = ANY (k.conkey))
                                  OPERATOR(pg_catalog.@>) n.cols
                              AND (NOT n.exact OR pg_catalog.cardinality(k.conkey) = pg_catalog.cardinality(n.cols)))
            OR steward._migration_free_name(t.relid, n.base) <> n.base;
        PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s RENAME CONSTRAINT %I TO %I',
                                                        t.relid, n.name, n.base));
    END LOOP;
END
$$;

-- Contract (inside migration_cleanup): the old shape goes.
CREATE FUNCTION steward._migration_contract(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t steward.migration_tables;
    c steward.migration_columns;
BEGIN
    PERFORM steward._migration_require_alone(mig, 'clean up');
    PERFORM steward._migration_check_view_users(mig, 'clean up');
    PERFORM steward._migration_drop_views(mig);
    FOR t IN SELECT * FROM steward.migration_tables x WHERE x.migration = mig AND x.active ORDER BY x.ord LOOP
        PERFORM steward._migration_exec(t.relid, format('DROP TRIGGER zz_steward_migration ON %s', t.relid));
        FOR c IN SELECT * FROM steward.migration_columns x
                  WHERE x.migration = mig AND x.relid = t.relid AND x.kind IN ('pair', 'dropped')
                  ORDER BY x.ord LOOP
            PERFORM steward._migration_check_column_users(t.relid, c.switched_old, NULL, 'cleanup');
            PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s DROP COLUMN %I',
                                                            t.relid, c.switched_old));
        END LOOP;
        PERFORM steward._migration_check_statistics(mig, 'clean up', t.relid, ARRAY['_steward_side'], '{}');
        PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s DROP COLUMN _steward_side', t.relid));
        PERFORM steward._migration_settle_names(mig, t);
        PERFORM steward._migration_publish(mig, t.relid, 'new', true, true);
    END LOOP;
END
$$;

-- Refused first, with 25006, during recovery or in a read-only transaction
-- (steward._migration_entered).
CREATE FUNCTION steward.migration_cleanup(name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mig text := name;
    r steward.migration_runs;
BEGIN
    -- Counted as pg_steward's own code, or called again to be (exec.c: steward_migration_entered).
    IF NOT steward._migration_entered('steward.migration_cleanup(text)') THEN
        PERFORM steward.migration_cleanup(name);
        RETURN;
    END IF;
    PERFORM steward._migration_settle_dropped(mig);
    r := steward._migration_get(mig);
    PERFORM steward._migration_require(r, ARRAY['switched'], 'clean up');
    IF steward._migration_is_index(mig) THEN
        PERFORM steward._migration_index_cleanup(mig);
    ELSE
        PERFORM steward._migration_recheck(mig, '{"action": "clean up"}');
        PERFORM steward._relayout_validate_keys(mig) WHERE steward._relayout_step(r.steps) IS NOT NULL;
        PERFORM steward._migration_locked(mig, '_migration_recheck', 'ACCESS EXCLUSIVE',
                                          '{"action": "clean up", "locked": true}');
        PERFORM steward._migration_locked(mig, CASE WHEN steward._relayout_step(r.steps) IS NULL
                                                    THEN '_migration_contract' ELSE '_relayout_contract' END,
                                          'ACCESS EXCLUSIVE');
    END IF;
    PERFORM steward._migration_record('update', mig, jsonb_build_object(
        'phase', 'validated', 'status', 'cleaned_up', 'cleaned_up_at', clock_timestamp(),
        'release', true));
END
$$;
COMMENT ON FUNCTION steward.migration_cleanup(text) IS
  'contract: drop the old shape (old columns, views, dual writes) after the rollback window';

-- A rollback after complete (inside _migration_undo, before the new
-- columns go): when the replica identity is one the migration carries
-- (_migration_identity_carried: the key complete moved it to, or an index
-- over its columns), it goes back in the rollback's transaction to the old
-- index over the same columns (_migration_identity_key reads each index
-- with the columns' switched names), so the drop of the new column leaves
-- the table an identity and the old shape's column list covers it.  The
-- index is found by what it is, not by the name start recorded
-- (migration_tables.replica_identity, a name because the record is dumped
-- as data before the indexes; review24 V2): renamed since (ALTER INDEX ...
-- RENAME passes the DDL guard), it is followed, and an index made under
-- the old name over other columns, or not unique, is not taken; the one
-- so named wins among equals.  None left: DEFAULT, with a WARNING whose
-- HINT gives the statements that make the old key the identity again.
CREATE FUNCTION steward._migration_identity_back(mig text, t steward.migration_tables)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur oid := (SELECT i.indexrelid FROM pg_index i JOIN pg_class k ON k.oid = i.indrelid
                 WHERE i.indrelid = t.relid AND i.indisreplident AND k.relreplident = 'i');
    key name := steward._migration_identity_new_key(mig, t.relid, cur);
    old name;
    tbl text;
BEGIN
    IF NOT steward._migration_identity_carried(mig, t.relid, cur, true) THEN
        RETURN;
    END IF;
    SELECT x.relname INTO old
      FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
     WHERE i.indrelid = t.relid AND i.indexrelid <> cur
       AND (SELECT k.follower FROM steward._migration_identity_key(mig, t.relid, i.indexrelid, true) k) = key
     ORDER BY x.relname = t.replica_identity DESC, i.indexrelid LIMIT 1;
    IF FOUND THEN
        PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I',
                                                        t.relid, old));
        RETURN;
    END IF;
    PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s REPLICA IDENTITY DEFAULT', t.relid));
    -- The statements name the table and columns as the rollback leaves them.
    tbl := (SELECT format('%I.%I', n.nspname, t.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.oid = t.relid);
    PERFORM steward._report('warning',
            format('the replica identity of relation "%s" is DEFAULT now: no unique index over the columns of index "%s" is left', steward._relation_name(tbl), t.replica_identity),
            detail => format('Migration "%s" moved the identity from that index to a key of the new shape at complete, '
                              'which the rollback drops; the index is gone, or has another definition under its name.', mig),
            hint => format('To make that key the identity again: CREATE UNIQUE INDEX %I ON %s (%s); '
                            'ALTER TABLE %s REPLICA IDENTITY USING INDEX %I;',
                            steward._migration_free_name(t.relid, t.replica_identity), tbl,
                            (SELECT string_agg(quote_ident(coalesce(c.old_name, a.attname)), ', ' ORDER BY k.ord)
                               FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY k(n, ord)
                               JOIN pg_attribute a ON a.attrelid = t.relid AND a.attnum = k.n
                               LEFT JOIN steward.migration_columns c
                                      ON c.migration = mig AND c.relid = t.relid AND c.kind IN ('pair', 'renamed')
                                     AND c.switched_new = a.attname
                              WHERE i.indexrelid = cur),
                            tbl, steward._migration_free_name(t.relid, t.replica_identity)));
END
$$;

-- Undo (inside migration_rollback): everything new goes, the old shape is
-- the table's again, under its own names, with its defaults.
CREATE FUNCTION steward._migration_undo(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    switched boolean := (arg->>'switched')::boolean;
    t steward.migration_tables;
    c steward.migration_columns;
BEGIN
    PERFORM steward._migration_check_view_users(mig, 'roll back');
    PERFORM steward._migration_drop_views(mig);
    FOR t IN SELECT * FROM steward.migration_tables x WHERE x.migration = mig AND x.active ORDER BY x.ord LOOP
        -- The replica identity complete moved to a key of the new shape
        -- goes back to the old index, with the old shape's column list.
        PERFORM steward._migration_identity_back(mig, t) WHERE switched AND t.replica_identity IS NOT NULL;
        -- The old shape's columns published again before the new ones go
        -- (a column list keeps its columns from being dropped).
        PERFORM steward._migration_publish(mig, t.relid, 'old', switched, false);
        PERFORM steward._migration_check_statistics(mig, 'roll back', t.relid,
            ARRAY(SELECT CASE WHEN switched THEN x.switched_new ELSE x.expand_new END
                    FROM steward.migration_columns x
                   WHERE x.migration = mig AND x.relid = t.relid AND x.kind IN ('pair', 'added'))
                || '_steward_side'::text, '{}');
        PERFORM steward._migration_exec(t.relid, format('DROP TRIGGER IF EXISTS zz_steward_migration ON %s',
                                                        t.relid));
        IF switched AND t.new_name IS NOT NULL THEN
            PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s RENAME TO %I',
                                                            t.relid, t.relname));
        END IF;
        FOR c IN SELECT * FROM steward.migration_columns x
                  WHERE x.migration = mig AND x.relid = t.relid ORDER BY x.ord DESC LOOP
            IF c.kind IN ('pair', 'added') THEN
                PERFORM steward._migration_check_column_users(t.relid,
                    CASE WHEN switched THEN c.switched_new ELSE c.expand_new END, NULL, 'rollback');
                PERFORM steward._migration_exec(t.relid, format(
                    'ALTER TABLE %s DROP COLUMN IF EXISTS %I', t.relid,
                    CASE WHEN switched THEN c.switched_new ELSE c.expand_new END));
            END IF;
            IF switched AND c.kind IN ('pair', 'dropped', 'renamed') THEN
                PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s RENAME COLUMN %I TO %I',
                                                                t.relid, c.switched_old, c.old_name));
            END IF;
            IF switched AND c.kind = 'pair' THEN
                IF c.old_default IS NOT NULL THEN
                    PERFORM steward._migration_exec(t.relid, format(
                        'ALTER TABLE %s ALTER COLUMN %I SET DEFAULT %s', t.relid, c.old_name,
                        c.old_default));
                END IF;
            END IF;
        END LOOP;
        PERFORM steward._migration_exec(t.relid, format('ALTER TABLE %s DROP COLUMN IF EXISTS _steward_side',
                                                        t.relid));
        PERFORM steward._migration_publish(mig, t.relid, 'old', false, true);
    END LOOP;
END
$$;

-- Refused first, with 25006, during recovery or in a read-only transaction
-- (steward._migration_entered).
CREATE FUNCTION steward.migration_rollback(name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    mig text := name;
    r steward.migration_runs;
    phases constant text[] := ARRAY['pending_backfill', 'backfilled', 'dual_written', 'switched'];
    i integer;
BEGIN
    -- Counted as pg_steward's own code, or called again to be (exec.c: steward_migration_entered).
    IF NOT steward._migration_entered('steward.migration_rollback(text)') THEN
        PERFORM steward.migration_rollback(name);
        RETURN;
    END IF;
    IF steward._migration_settle_dropped(mig) THEN
        -- Its tables were all gone: the migration ended with them.
        IF (steward._migration_get(mig)).status = 'dropped' THEN
            PERFORM steward._report('notice',
                    format('migration "%s" ended: its tables were dropped', mig));
            RETURN;
        END IF;
    END IF;
    r := steward._migration_get(mig);
    PERFORM steward._migration_require(r, phases, 'roll back');
    IF steward._migration_is_index(mig) THEN
        PERFORM steward._migration_index_rollback(mig);
    ELSE
        -- Before complete the old layout or shape is the one the application
        -- writes, and the new one is dropped: nothing to re-check.
        IF r.phase = 'switched' THEN
            PERFORM steward._migration_recheck(mig, '{"action": "roll back"}');
            PERFORM steward._migration_locked(mig, '_migration_recheck', 'ACCESS EXCLUSIVE',
                                              '{"action": "roll back", "locked": true}');
        END IF;
        PERFORM steward._migration_locked(mig, CASE WHEN steward._relayout_step(r.steps) IS NULL
                                                    THEN '_migration_undo' ELSE '_relayout_undo' END,
                                          'ACCESS EXCLUSIVE',
                                          jsonb_build_object('switched', r.phase = 'switched'));
    END IF;
    -- Back along the machine's rollback edges to pending_backfill.
    FOR i IN REVERSE array_position(phases, r.phase) - 1 .. 1 LOOP
        PERFORM steward._migration_record('update', mig, jsonb_build_object('phase', phases[i]));
    END LOOP;
    PERFORM steward._migration_record('update', mig, jsonb_build_object(
        'status', 'rolled_back', 'rolled_back_at', clock_timestamp(), 'release', true,
        'backfill_status', CASE WHEN r.backfill_status = 'running' THEN 'cancelled'
                                ELSE r.backfill_status END));
END
$$;
COMMENT ON FUNCTION steward.migration_rollback(text) IS
  'undo a migration at any point before cleanup: the table and its data are as the old application expects';

-- The schemas <mig> and <mig>_old of a column migration whose tables are
-- gone, when nothing is left in them (a DROP TABLE ... CASCADE dropped
-- their views); for steward._migrations_on_sql_drop.
CREATE FUNCTION steward._migration_drop_empty_schemas(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    nsp name;
BEGIN
    FOR nsp IN SELECT n.nspname FROM pg_namespace n
                WHERE n.nspname IN (mig, mig || '_old')
                  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                   WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = n.oid)
                ORDER BY n.nspname LOOP
        EXECUTE format('DROP SCHEMA %I', nsp);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION steward._migration_drop_empty_schemas(text) FROM PUBLIC;

-- Tables of migrations dropped (relids: their OIDs) leave their
-- migrations: each entry is released (its OID may be reused), its
-- migration marked failed (roll back what is left) or, with no table
-- left, dropped.  For the sql_drop handler below, and for
-- _migration_settle_dropped (relayout.c): a record whose relation is gone
-- though its entry is still active.  True when one was a migration's
-- active table.
CREATE FUNCTION steward._migration_tables_dropped(relids oid[])
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m record;
    found_one boolean := false;
BEGIN
    FOR m IN SELECT t.migration, t.relid::oid AS relid, t.table_name
               FROM steward.migration_tables t
              WHERE t.active AND t.relid::oid = ANY (relids)
              ORDER BY t.migration, t.ord LOOP
        found_one := true;
        UPDATE steward.migration_tables t SET active = false
         WHERE t.migration = m.migration AND t.relid::oid = m.relid;
        UPDATE steward.migration_runs r
           SET failures = r.failures + CASE WHEN r.failed THEN 0 ELSE 1 END,
               failed = true,
               error = format('table %s was dropped during the migration', m.table_name),
               status = CASE WHEN EXISTS (SELECT 1 FROM steward.migration_tables t
                                           WHERE t.migration = m.migration AND t.active)
                             THEN r.status ELSE 'dropped' END
         WHERE r.name = m.migration;
        -- A column migration left with no table: its schemas of views
        -- (emptied by the drop's CASCADE) go too.
        PERFORM steward._migration_drop_empty_schemas(m.migration)
           FROM steward.migration_runs r
          WHERE r.name = m.migration AND r.status = 'dropped'
            AND steward._relayout_step(r.steps) IS NULL AND NOT steward._migration_is_index(r.name);
    END LOOP;
    -- No row keeps the OID of a dropped table (pg_dump writes it as a
    -- number, which a restored cluster binds to whatever relation gets
    -- it): a migration's table keeps its name at start, the columns it
    -- changed on that table go (the steps stay in migration_runs).
    UPDATE steward.migration_tables t SET relid = NULL WHERE t.relid::oid = ANY (relids);
    UPDATE steward.migration_indexes i SET relid = NULL WHERE i.relid::oid = ANY (relids);
    DELETE FROM steward.migration_columns c WHERE c.relid::oid = ANY (relids);
    RETURN found_one;
END
$$;
REVOKE ALL ON FUNCTION steward._migration_tables_dropped(oid[]) FROM PUBLIC;

-- Tables of a migration whose relations are gone though its record has
-- them active (a drop the handler below did not see before review14
-- R14-8 was fixed, a restore with OIDs no relation has): taken as
-- dropped (_migration_tables_dropped) by rollback, backfill, validate,
-- complete and cleanup before they act, which would otherwise fail on the
-- missing relation (42P01).  True when one was found.  42501 called
-- directly.
CREATE FUNCTION steward._migration_settle_dropped(mig text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_migration_settle_dropped'
LANGUAGE C VOLATILE;

-- A table dropped while a migration changes it leaves the migration
-- (_migration_tables_dropped).
CREATE FUNCTION steward._migrations_on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m record;
    relids oid[];
    schema_dropped boolean;
BEGIN
    IF to_regclass('steward.migration_tables') IS NULL THEN
        RETURN;     -- the extension itself is being dropped
    END IF;
    SELECT array_agg(d.objid) FILTER (WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objsubid = 0),
           coalesce(bool_or(d.classid = 'pg_catalog.pg_namespace'::regclass), false)
      INTO relids, schema_dropped
      FROM pg_event_trigger_dropped_objects() d;
    -- Only relations the migration catalog names have anything to release
    -- or forget: every write of _migration_tables_dropped matches a row
    -- whose relid is one of them.  A DROP COLUMN drops no relation, a DROP
    -- INDEX or DROP TABLE seldom one a migration names; its three UPDATEs
    -- and DELETE cost 100-250 us each time for nothing (ddl2).  This read
    -- takes its snapshot where the first of those writes took it.
    IF relids IS NOT NULL THEN
        IF EXISTS (SELECT 1 FROM steward.migration_tables t WHERE t.relid::oid = ANY (relids))
           OR EXISTS (SELECT 1 FROM steward.migration_indexes i WHERE i.relid::oid = ANY (relids))
           OR EXISTS (SELECT 1 FROM steward.migration_columns c WHERE c.relid::oid = ANY (relids)) THEN
            PERFORM steward._migration_tables_dropped(relids);
        END IF;
    END IF;
    -- Only a statement that drops a schema reads the migrations (the read
    -- below calls two functions per active migration: ~2.8 ms per DROP
    -- TABLE with 400 of them, closing35 item 2).
    IF NOT schema_dropped THEN
        RETURN;
    END IF;
    -- The schemas of a column migration's shapes go with the migration
    -- (its cleanup or rollback, the drop of its last table), not while
    -- it still changes a table: DROP OWNED BY ... CASCADE of the role
    -- that owns them (the first table's owner, in a migration of tables
    -- of two owners) or DROP SCHEMA ... CASCADE would take the other
    -- tables' views, which complete changes and the new version reads
    -- through (mig4).
    SELECT r.name AS migration, d.object_identity AS nsp,
           (SELECT t.relid FROM steward.migration_tables t
             WHERE t.migration = r.name AND t.active ORDER BY t.ord LIMIT 1) AS tbl
      INTO m
      FROM pg_event_trigger_dropped_objects() d
      JOIN steward.migration_runs r
        ON d.object_identity IN (quote_ident(r.name), quote_ident(r.name || '_old'))
     WHERE d.classid = 'pg_catalog.pg_namespace'::regclass
       AND r.status = 'active' AND NOT r.restored
       AND steward._relayout_step(r.steps) IS NULL AND NOT steward._migration_is_index(r.name)
       AND EXISTS (SELECT 1 FROM steward.migration_tables t WHERE t.migration = r.name AND t.active)
     ORDER BY 1, 2 LIMIT 1;
    IF FOUND AND NOT steward._migration_own_ddl() THEN
        RAISE EXCEPTION 'cannot drop schema %, which holds the views of the shapes of migration "%"', m.nsp, m.migration
            USING ERRCODE = 'object_in_use',
                  DETAIL = format('The migration still changes table "%s": complete changes those views, and the new '
                                  'version of the application reads and writes through them.', steward._relation_name(m.tbl)),
                  HINT = format('Roll the migration back (SELECT steward.migration_rollback(%L);), or complete and clean '
                                'it up, then run the statement again.', m.migration);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._migrations_on_sql_drop() FROM PUBLIC;
CREATE EVENT TRIGGER steward_migrations_drop ON sql_drop
    EXECUTE FUNCTION steward._migrations_on_sql_drop();
ALTER EVENT TRIGGER steward_migrations_drop ENABLE ALWAYS;

-- The handler above reads the migrations' records in the transaction's
-- snapshot: a REPEATABLE READ or SERIALIZABLE transaction whose snapshot
-- predates a migration's start would drop its table unrecorded, and
-- leave the migration stuck on the missing relation (review14 R14-8).
-- Such a drop is refused (40001: retried, it is recorded); relayout.c.
CREATE FUNCTION steward._migrations_drop_snapshot()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'steward_migrations_drop_snapshot'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._migrations_drop_snapshot() FROM PUBLIC;
CREATE EVENT TRIGGER steward_migrations_drop_snapshot ON sql_drop
    EXECUTE FUNCTION steward._migrations_drop_snapshot();
ALTER EVENT TRIGGER steward_migrations_drop_snapshot ENABLE ALWAYS;

-- security_invoker: the caller's row security on the catalog applies.
CREATE VIEW steward.migrations WITH (security_invoker = true) AS
SELECT r.name,
       ARRAY(SELECT CASE WHEN t.active THEN t.relid::text ELSE t.table_name END
               FROM steward.migration_tables t WHERE t.migration = r.name ORDER BY t.ord) AS tables,
       r.phase,
       CASE r.status WHEN 'cleaned_up' THEN 'completed'
                     WHEN 'rolled_back' THEN 'rolled_back'
                     WHEN 'dropped' THEN 'dropped'
                     ELSE CASE WHEN r.failed THEN 'failed' ELSE 'in_progress' END END AS result,
       r.steps,
       r.started_by,
       r.started_at,
       r.expanded_at,
       r.backfill_started_at,
       r.backfilled_at,
       r.validated_at,
       r.switched_at,
       r.cleaned_up_at,
       r.rolled_back_at,
       r.rows_backfilled,
       r.rows_total,
       round((r.rows_backfilled / nullif(extract(epoch FROM r.last_batch_at - r.backfill_started_at), 0))::numeric, 1)
           AS rows_per_sec,
       CASE WHEN r.phase = 'pending_backfill' AND r.status = 'active' AND r.rows_backfilled > 0 THEN
           greatest(r.rows_total - r.rows_backfilled, 0)
           * ((r.last_batch_at - r.backfill_started_at) / r.rows_backfilled)
       END AS eta,
       r.batches,
       r.batch_retries,
       CASE WHEN r.backfill_status = 'running'
                 AND NOT steward._transition_running(r.backfill_pid, r.backfill_run_at)
            THEN 'interrupted' ELSE r.backfill_status END AS backfill_status,
       r.last_validated_at,
       r.last_validation_passed,
       r.failed,
       r.error,
       coalesce(r.switched_at, r.rolled_back_at, pg_catalog.clock_timestamp()) - r.started_at
           AS rollout_duration
  FROM steward.migration_runs r;
GRANT SELECT ON steward.migrations TO PUBLIC;
