--------------------------------------------------------------------------
-- Index steps of a migration: create_index, drop_index (issue 17 section 2;
-- design: src/migrate/README.md "Index steps")
--------------------------------------------------------------------------

-- One row per index step.  A migration is either index steps only or
-- column steps only.
CREATE TABLE steward.migration_indexes (
    migration       text     NOT NULL,
    step            integer  NOT NULL,
    kind            text     NOT NULL CHECK (kind IN ('create_index', 'drop_index')),
    relid           regclass,               -- NULL once the table is dropped
    index_name      name     NOT NULL,      -- unqualified, in the table's schema
    statement       text,                   -- create_index: the checked CREATE INDEX CONCURRENTLY
    definition      text,                   -- drop_index: pg_get_indexdef at start, to rebuild it
    force           boolean  NOT NULL DEFAULT false,
    state           text     NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'building', 'built', 'failed', 'kept', 'dropped',
                                     'rolled_back')),
    build_started_at  timestamptz,
    build_finished_at timestamptz,
    invalid_dropped integer  NOT NULL DEFAULT 0,    -- INVALID indexes of failed builds dropped
    error           text,
    size_bytes      bigint,
    stats_at_start  jsonb,                  -- drop_index: scans and writes of the table at start
    latency         jsonb,                  -- create_index: statement histograms at start,
                                            -- build start and build end
    PRIMARY KEY (migration, step)
);
SELECT pg_catalog.pg_extension_config_dump('steward.migration_indexes', '');
REVOKE ALL ON steward.migration_indexes FROM PUBLIC;
GRANT SELECT ON steward.migration_indexes TO PUBLIC;
ALTER TABLE steward.migration_indexes ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_owners ON steward.migration_indexes FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) relid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));

-- C helpers (src/migrate/indexes.c).
CREATE FUNCTION steward._migration_index_check(tbl regclass, sql text, name text, method text,
                                               has_where boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_migration_index_check'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward._migration_index_run(tbl regclass, idx regclass, sql text)
RETURNS text
AS 'MODULE_PATHNAME', 'steward_migration_index_run'
LANGUAGE C VOLATILE;

CREATE PROCEDURE steward._migration_index_build(mig text, step integer, tbl regclass, sql text)
AS 'MODULE_PATHNAME', 'steward_migration_index_build'
LANGUAGE C;

-- Catalog writer (called by _migration_record as the catalog's owner after
-- the ownership check): insert or update the row of one index step.
CREATE FUNCTION steward._migration_record_index(mig text, data jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF data ? 'kind' THEN
        INSERT INTO steward.migration_indexes
        SELECT (jsonb_populate_record(NULL::steward.migration_indexes,
                                      jsonb_build_object('force', false,
                                                         'state', 'pending', 'invalid_dropped', 0)
                                      || data || jsonb_build_object('migration', mig))).*;
        RETURN;
    END IF;
    UPDATE steward.migration_indexes i
       SET (state, build_started_at, build_finished_at, error, size_bytes, latency)
         = (SELECT p.state, p.build_started_at, p.build_finished_at, p.error, p.size_bytes,
                   p.latency
              FROM jsonb_populate_record(i, data - 'migration' - 'step') p),
           invalid_dropped = i.invalid_dropped + coalesce((data->>'add_invalid_dropped')::integer, 0)
     WHERE i.migration = mig AND i.step = (data->>'step')::integer;
END
$$;
REVOKE ALL ON FUNCTION steward._migration_record_index(text, jsonb) FROM PUBLIC;

-- True when the migration is made of index steps.
CREATE FUNCTION steward._migration_is_index(mig text)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM steward.migration_indexes i WHERE i.migration = mig)
$$;

-- Statement latency around an index change.  A snapshot holds, for each
-- top-level statement of this database whose text names the table (as a
-- word: "orders", "public.orders", "\"orders\""), its latency histogram
-- (steward.latency_histogram, cumulative since the statistics started);
-- DDL, maintenance commands and calls of steward functions are left out.
-- Only statements whose text the caller may see count: their own, or all
-- of them with pg_read_all_stats; "hidden" says how many were left out.
CREATE FUNCTION steward._migration_latency_snapshot(tbl regclass)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    relname text := (SELECT c.relname FROM pg_class c WHERE c.oid = tbl);
    pattern text;
    stmts jsonb;
BEGIN
    pattern := '(^|[^[:alnum:]_$])"?' || regexp_replace(relname, '([^[:alnum:]_])', E'\\\\\\1', 'g')
               || '"?($|[^[:alnum:]_$])';
    SELECT coalesce(jsonb_agg(jsonb_build_object(
               'queryid', s.queryid, 'query', left(s.query, 200),
               'hist', (SELECT coalesce(jsonb_agg(jsonb_build_array(h.upper_ms, h.count)
                                                  ORDER BY h.upper_ms), '[]')
                          FROM steward.latency_histogram(s.queryid) h))), '[]')
      INTO stmts
      FROM (SELECT DISTINCT ON (x.queryid) x.queryid, x.query
              FROM steward.statements x
             WHERE x.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
               AND x.toplevel AND x.query IS NOT NULL AND x.query ~* pattern
               AND x.query !~* '^[[:space:]]*(create|drop|alter|call|vacuum|analyze|reindex|cluster|select[[:space:]]+steward[.]|select[[:space:]]+[*][[:space:]]+from[[:space:]]+steward[.])'
             ORDER BY x.queryid) s;
    RETURN jsonb_build_object('at', clock_timestamp(), 'statements', stmts,
                              'hidden', (SELECT count(*) FROM steward.statements x
                                          WHERE x.dbid = (SELECT oid FROM pg_database
                                                           WHERE datname = current_database())
                                            AND x.toplevel AND x.query IS NULL));
END
$$;

-- p50/p95/p99 (upper bound of the histogram bucket the percentile falls
-- in: within one bucket's width) and calls of a statement between two
-- snapshots ("before" NULL: everything up to "after").
CREATE FUNCTION steward._migration_latency_window(queryid bigint, before jsonb, after jsonb,
                                                  OUT calls bigint, OUT p50_ms double precision,
                                                  OUT p95_ms double precision,
                                                  OUT p99_ms double precision)
RETURNS record
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH a AS (SELECT (b->>0)::float8 AS upper_ms, (b->>1)::bigint AS n
                 FROM jsonb_array_elements(after->'statements') s,
                      jsonb_array_elements(s->'hist') b
                WHERE (s->>'queryid')::bigint = queryid),
         z AS (SELECT (b->>0)::float8 AS upper_ms, (b->>1)::bigint AS n
                 FROM jsonb_array_elements(before->'statements') s,
                      jsonb_array_elements(s->'hist') b
                WHERE (s->>'queryid')::bigint = queryid),
         d AS (SELECT a.upper_ms, a.n - coalesce(z.n, 0) AS n
                 FROM a LEFT JOIN z USING (upper_ms)),
         c AS (SELECT upper_ms, n, sum(n) OVER (ORDER BY upper_ms) AS cum, sum(n) OVER () AS total
                 FROM d WHERE n > 0)
    SELECT coalesce(max(total), 0)::bigint,
           min(upper_ms) FILTER (WHERE cum >= 0.50 * total),
           min(upper_ms) FILTER (WHERE cum >= 0.95 * total),
           min(upper_ms) FILTER (WHERE cum >= 0.99 * total)
      FROM c
$$;

CREATE FUNCTION steward._migration_latency_text(calls bigint, p50 double precision,
                                                p95 double precision, p99 double precision)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN calls = 0 THEN 'no calls'
                ELSE format('p50/p95/p99 %s/%s/%s ms over %s %s', round(p50::numeric, 3),
                            round(p95::numeric, 3), round(p99::numeric, 3), calls,
                            CASE WHEN calls = 1 THEN 'call' ELSE 'calls' END) END
$$;

-- The latency verdict of a create_index step: per statement that touches
-- the table, p50/p95/p99 over the window before the build (migration
-- start to build start; since the statistics started when that window
-- holds fewer than 20 calls) and after it (build end to now).  p95 more
-- than 25% and 0.2 ms worse: regressed; more than 20% better: improved;
-- else stable.  Statements with fewer than 20 calls in either window are
-- named but not judged.
CREATE FUNCTION steward._migration_latency_report(lat jsonb, now_snap jsonb,
                                                  OUT verdict text, OUT detail text)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s jsonb;
    b record;
    a record;
    one text;
    parts text[] := '{}';
    judged integer := 0;
    worse integer := 0;
    better integer := 0;
    since_start boolean;
BEGIN
    FOR s IN SELECT x FROM jsonb_array_elements(now_snap->'statements') x
              ORDER BY x->>'query' LOOP
        b := steward._migration_latency_window((s->>'queryid')::bigint, lat->'start', lat->'build_start');
        since_start := b.calls < 20;
        IF since_start THEN
            b := steward._migration_latency_window((s->>'queryid')::bigint, NULL, lat->'build_start');
        END IF;
        a := steward._migration_latency_window((s->>'queryid')::bigint, lat->'build_end', now_snap);
        CONTINUE WHEN a.calls = 0 AND b.calls = 0;
        IF a.calls < 20 OR b.calls < 20 THEN
            one := 'too few calls to judge';
        ELSIF a.p95_ms > b.p95_ms * 1.25 AND a.p95_ms - b.p95_ms > 0.2 THEN
            one := 'regressed'; worse := worse + 1; judged := judged + 1;
        ELSIF a.p95_ms < b.p95_ms * 0.8 THEN
            one := 'improved'; better := better + 1; judged := judged + 1;
        ELSE
            one := 'stable'; judged := judged + 1;
        END IF;
        parts := parts || format('%s: %s (before: %s; after: %s)', s->>'query', one,
                                 steward._migration_latency_text(b.calls, b.p50_ms, b.p95_ms, b.p99_ms)
                                 || CASE WHEN since_start THEN ' since statistics start' ELSE '' END,
                                 steward._migration_latency_text(a.calls, a.p50_ms, a.p95_ms, a.p99_ms));
    END LOOP;
    verdict := CASE WHEN worse > 0 THEN 'regressed'
                    WHEN judged = 0 THEN 'not judged'
                    WHEN better > 0 THEN 'improved'
                    ELSE 'stable' END;
    detail := CASE WHEN cardinality(parts) = 0
                   THEN 'no statement naming the table ran before and after the build'
                   ELSE array_to_string(parts, '; ') END
              || CASE WHEN (now_snap->>'hidden')::bigint > 0
                      THEN format(' (%s of other roles not visible: validate as a member of pg_read_all_stats to include them)',
                                  steward._relayout_count((now_snap->>'hidden')::bigint, 'statement', 'statements'))
                      ELSE '' END;
END
$$;

-- Scans of an index and index-entry writes of its table now (inserts and
-- non-HOT updates each add an entry to every index of the table): the
-- shared counters plus this session's not flushed yet (the xact
-- functions: its transaction's and earlier ones' pending counts), so
-- that writes made just before the start are not counted as made after
-- it once they are flushed (review10 F9).
CREATE FUNCTION steward._migration_index_usage(idx regclass)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_object('at', clock_timestamp(),
                              'idx_scan', coalesce(pg_stat_get_numscans(idx), 0)
                                          + coalesce(pg_stat_get_xact_numscans(idx), 0),
                              'entries_written', coalesce(pg_stat_get_tuples_inserted(i.indrelid)
                                                          + pg_stat_get_tuples_updated(i.indrelid)
                                                          - pg_stat_get_tuples_hot_updated(i.indrelid), 0)
                                                 + coalesce(pg_stat_get_xact_tuples_inserted(i.indrelid)
                                                            + pg_stat_get_xact_tuples_updated(i.indrelid)
                                                            - pg_stat_get_xact_tuples_hot_updated(i.indrelid), 0))
      FROM pg_index i WHERE i.indexrelid = idx
$$;

-- The index of a drop_index step, as it is now (NULL when it is gone).
CREATE FUNCTION steward._migration_index_oid(tbl regclass, name text)
RETURNS regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.oid::regclass FROM pg_class c
     WHERE c.relname = name AND c.relkind = 'i'
       AND c.relnamespace = (SELECT t.relnamespace FROM pg_class t WHERE t.oid = tbl)
$$;

-- 2BP01 when idx backs a constraint (primary key, unique, exclusion) or a
-- foreign key references its table through it: PostgreSQL would refuse
-- DROP INDEX, and the constraint is not the step's to drop.
CREATE FUNCTION steward._migration_index_guard_constraints(idx regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    con record;
    idxname text;
    relname text;
BEGIN
    SELECT x.conname, x.contype, x.conrelid::regclass AS rel INTO con
      FROM pg_constraint x WHERE x.conindid = idx
     ORDER BY x.contype = 'f', x.conname LIMIT 1;
    IF FOUND THEN
        idxname := steward._relation_name(idx);
        relname := steward._relation_name(con.rel);
        RAISE EXCEPTION 'cannot drop index "%" of a migration: %', idxname,
                CASE WHEN con.contype = 'f' THEN 'a foreign key references its table through it'
                     ELSE 'it backs a constraint' END
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = CASE con.contype
                      WHEN 'p' THEN format('Index "%s" is the primary key "%s" of table "%s".', idxname, con.conname, relname)
                      WHEN 'u' THEN format('Index "%s" backs the unique constraint "%s" of table "%s".', idxname, con.conname, relname)
                      WHEN 'x' THEN format('Index "%s" backs the exclusion constraint "%s" of table "%s".', idxname, con.conname, relname)
                      ELSE format('Foreign key "%s" of table "%s" references its table through index "%s".', con.conname, relname, idxname) END,
                  HINT = CASE WHEN con.contype = 'f'
                              THEN format('Drop or change foreign key %s of %s first (ALTER TABLE ... DROP CONSTRAINT); force does not override this.', con.conname, con.rel)
                              ELSE format('Drop the constraint instead (ALTER TABLE %s DROP CONSTRAINT %I); force does not override this.', con.rel, con.conname) END;
    END IF;
    -- Another object that names the index (a regclass constant in a
    -- view, index, default or another table's or domain's CHECK, perhaps
    -- of a role the caller cannot act as): DROP INDEX would refuse it at
    -- cleanup (review17 R17-4, codereview5 #1).
    SELECT coalesce((SELECT format('%s %s', CASE vc.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END, vc.oid::regclass)
                       FROM pg_rewrite rw JOIN pg_class vc ON vc.oid = rw.ev_class WHERE d.classid = 'pg_rewrite'::regclass
                        AND rw.oid = d.objid AND rw.rulename = '_RETURN'), pg_describe_object(d.classid, d.objid, d.objsubid)) AS obj INTO con
      FROM pg_depend d
     WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = idx AND d.deptype = 'n'
     ORDER BY 1 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'cannot drop index "%" of a migration: % depends on it', steward._relation_name(idx), con.obj
            USING ERRCODE = 'dependent_objects_still_exist',
                  HINT = 'Drop that object first, or make it again without naming the index; force does not override this.';
    END IF;
END
$$;

-- One index step, checked for its form: create_index or drop_index (other
-- kinds of step go in a migration of their own), an object with the keys
-- its kind takes, of the right JSON types, and the keys it needs.  Returns
-- the kind, the step's value (body) and the step as error messages name it
-- ("step N (kind)").  Raises 0A000 or 22023.
CREATE FUNCTION steward._migration_index_step(step jsonb, stepno integer,
                                              OUT kind text, OUT body jsonb, OUT what text)
RETURNS record
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    allowed text[];
    k text;
BEGIN
    kind := (SELECT x FROM jsonb_object_keys(step) x);
    IF kind NOT IN ('create_index', 'drop_index') THEN
        RAISE EXCEPTION 'step % (%) cannot be combined with index steps in one migration', stepno, kind
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Start one migration for the index steps and another for the other steps.';
    END IF;
    body := step->kind;
    what := format('step %s (%s)', stepno, kind);
    IF jsonb_typeof(body) <> 'object' THEN
        RAISE EXCEPTION '% must be an object', what USING ERRCODE = 'invalid_parameter_value';
    END IF;
    allowed := CASE kind WHEN 'create_index' THEN ARRAY['table', 'name', 'definition', 'method', 'where', 'unique']
                         ELSE ARRAY['name', 'force'] END;
    FOR k IN SELECT x FROM jsonb_object_keys(body) x LOOP
        IF NOT k = ANY (allowed) THEN
            RAISE EXCEPTION 'unknown key "%" in %', k, what
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('%s takes %s.', kind, array_to_string(allowed, ', '));
        END IF;
        IF k IN ('table', 'name', 'definition', 'method', 'where') AND jsonb_typeof(body->k) <> 'string'
           AND NOT (k IN ('where', 'method') AND jsonb_typeof(body->k) = 'null') THEN
            RAISE EXCEPTION '"%" of % must be a string', k, what
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        IF k IN ('force', 'unique') AND jsonb_typeof(body->k) <> 'boolean' THEN
            RAISE EXCEPTION '"%" of % must be true or false', k, what
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    FOREACH k IN ARRAY CASE kind WHEN 'create_index' THEN ARRAY['table', 'name', 'definition']
                                 ELSE ARRAY['name'] END LOOP
        IF NOT body ? k OR body->>k = '' THEN
            RAISE EXCEPTION '% needs "%"', what, k USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
END
$$;

-- A create_index step checked against the database as it is now: the
-- table (the caller's search_path), an index name free in its schema and
-- among the other steps (rows), the owner's CREATE on that schema, the
-- access method, then the statement itself (_migration_index_check).
-- Returns the table and the CREATE INDEX CONCURRENTLY statement the
-- backfill runs as the table's owner.  Raises 42P01, 42P07, 42622, 42501,
-- 42704, or what _migration_index_check raises.
CREATE FUNCTION steward._migration_index_create_step(body jsonb, what text, user_path text,
                                                     rows jsonb,
                                                     OUT rel regclass, OUT stmt text)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    idx regclass;
    nsp text;
    method text;
BEGIN
    rel := steward._migration_regclass(body->>'table', user_path);
    IF rel IS NULL THEN
        PERFORM steward._require_relation_schema(body->>'table', what);
        RAISE EXCEPTION 'relation "%" does not exist (%)', steward._relation_name_typed(body->>'table'), what
            USING ERRCODE = 'undefined_table';
    END IF;
    PERFORM steward._migration_check_index_table(rel);
    nsp := (SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.oid = rel);
    IF octet_length(body->>'name') > 63 THEN
        RAISE EXCEPTION 'index name "%" is longer than 63 bytes (%)', body->>'name', what
            USING ERRCODE = 'name_too_long';
    END IF;
    idx := steward._migration_index_oid(rel, body->>'name');
    IF to_regclass(format('%I.%I', nsp, body->>'name')) IS NOT NULL
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(rows) x
                   WHERE x->>'index_name' = body->>'name' AND (x->>'relid')::oid = rel) THEN
        IF idx IS NOT NULL AND NOT (SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = idx) THEN
            RAISE EXCEPTION 'relation "%" already exists (%)', body->>'name', what
                USING ERRCODE = 'duplicate_table',
                      DETAIL = format('Index "%s" is not valid: a failed or cancelled CREATE INDEX CONCURRENTLY left it.', steward._relation_name(idx)),
                      HINT = format('Drop it first: DROP INDEX CONCURRENTLY %s;', idx);
        END IF;
        RAISE EXCEPTION 'relation "%" already exists (%)', body->>'name', what
            USING ERRCODE = 'duplicate_table', HINT = 'Choose another index name.';
    END IF;
    IF NOT has_schema_privilege((SELECT c.relowner FROM pg_class c WHERE c.oid = rel),
                                (SELECT c.relnamespace FROM pg_class c WHERE c.oid = rel), 'CREATE') THEN
        RAISE EXCEPTION 'the owner of table "%" may not create objects in schema %', steward._relation_name(rel), nsp
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The index is built as the table''s owner, in the table''s schema.',
                  HINT = format('GRANT CREATE ON SCHEMA %I TO %I;', nsp,
                                (SELECT c.relowner::regrole::text FROM pg_class c WHERE c.oid = rel));
    END IF;
    method := coalesce(body->>'method', 'btree');
    IF NOT EXISTS (SELECT 1 FROM pg_am a WHERE a.amname = method AND a.amtype = 'i') THEN
        RAISE EXCEPTION 'index access method "%" does not exist (%)', method, what
            USING ERRCODE = 'undefined_object',
                  HINT = 'pg_am lists them: btree, hash, gist, gin, brin, steward_hash, ...';
    END IF;
    stmt := format('CREATE %sINDEX CONCURRENTLY %I ON %I.%I USING %I %s%s',
                   CASE WHEN (body->>'unique')::boolean THEN 'UNIQUE ' ELSE '' END,
                   body->>'name', nsp, (SELECT c.relname FROM pg_class c WHERE c.oid = rel),
                   method, body->>'definition',
                   CASE WHEN body->>'where' IS NOT NULL THEN ' WHERE ' || (body->>'where') ELSE '' END);
    PERFORM steward._migration_index_check(rel, stmt, body->>'name', method,
                                           body->>'where' IS NOT NULL);
END
$$;

-- A drop_index step checked against the database as it is now: an index
-- (the caller's search_path) of a table that may be migrated, not of a
-- partitioned table, backing no constraint, dropped by no other step
-- (rows).  Returns the step's steward.migration_indexes row with the
-- index's definition, size and usage statistics at start, which
-- migration_validate and migration_cleanup compare against.  Raises
-- 42704, 0A000, 42809, 2BP01 or 22023.
CREATE FUNCTION steward._migration_index_drop_step(body jsonb, stepno integer, what text,
                                                   user_path text, rows jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    idx regclass;
    rel regclass;
    usage jsonb;
BEGIN
    idx := steward._migration_regclass(body->>'name', user_path);
    IF idx IS NULL THEN
        PERFORM steward._require_relation_schema(body->>'name', what);
        RAISE EXCEPTION 'index "%" does not exist (%)', steward._relation_name_typed(body->>'name'), what
            USING ERRCODE = 'undefined_object';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = idx) = 'I' THEN
        RAISE EXCEPTION 'index "%" of a partitioned table cannot be dropped concurrently (%)', steward._relation_name(idx), what
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'PostgreSQL 15 drops indexes concurrently on partitions only.';
    ELSIF (SELECT c.relkind FROM pg_class c WHERE c.oid = idx) <> 'i' THEN
        RAISE EXCEPTION '"%" is not an index (%)', steward._relation_name(idx), what
            USING ERRCODE = 'wrong_object_type';
    END IF;
    rel := (SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = idx);
    PERFORM steward._migration_check_index_table(rel);
    PERFORM steward._migration_index_guard_constraints(idx);
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(rows) x
                WHERE x->>'kind' = 'drop_index' AND x->>'index_name' = (SELECT c.relname FROM pg_class c WHERE c.oid = idx)
                  AND (x->>'relid')::oid = rel) THEN
        RAISE EXCEPTION 'index "%" is dropped by two steps (%)', steward._relation_name(idx), what
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    usage := steward._migration_index_usage(idx);
    RETURN jsonb_build_object('step', stepno, 'kind', 'drop_index', 'relid', rel::oid,
                              'index_name', (SELECT c.relname FROM pg_class c WHERE c.oid = idx),
                              'definition', pg_get_indexdef(idx),
                              'force', coalesce((body->>'force')::boolean, false),
                              'state', 'kept', 'size_bytes', pg_relation_size(idx),
                              'stats_at_start', usage);
END
$$;

-- migration_start of a migration made of index steps (called by
-- _migration_start once it has checked the name and the steps array).
CREATE FUNCTION steward._migration_start_indexes(mig text, steps jsonb, user_path text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    step jsonb;
    stepno integer := 0;
    spec record;
    made record;
    rel regclass;
    rows jsonb := '[]';
    tbls jsonb := '[]';
    snaps jsonb := '{}';
    r jsonb;
BEGIN
    FOR step IN SELECT x FROM jsonb_array_elements(steps) x LOOP
        stepno := stepno + 1;
        spec := steward._migration_index_step(step, stepno);
        IF spec.kind = 'create_index' THEN
            made := steward._migration_index_create_step(spec.body, spec.what, user_path, rows);
            rel := made.rel;
            IF NOT snaps ? rel::oid::text THEN
                snaps := snaps || jsonb_build_object(rel::oid::text,
                                                     steward._migration_latency_snapshot(rel));
            END IF;
            r := jsonb_build_object('step', stepno, 'kind', spec.kind, 'relid', rel::oid,
                                    'index_name', spec.body->>'name', 'statement', made.stmt,
                                    'latency', jsonb_build_object('start', snaps->(rel::oid::text)));
        ELSE
            r := steward._migration_index_drop_step(spec.body, stepno, spec.what, user_path, rows);
            rel := (r->>'relid')::oid;
        END IF;
        rows := rows || r;
        IF NOT tbls @> to_jsonb(rel::oid) THEN
            tbls := tbls || to_jsonb(rel::oid);
        END IF;
    END LOOP;

    PERFORM steward._migration_create(mig, jsonb_build_object(
        'steps', steps, 'started_by', current_user, 'tables', tbls,
        'table_rows', (SELECT jsonb_agg(jsonb_build_object(
                                  'migration', mig, 'relid', t, 'ord', o, 'table_name', t::oid::regclass::text,
                                  'relname', (SELECT c.relname FROM pg_class c WHERE c.oid = t::oid),
                                  'key_columns', '{}'::name[], 'key_types', '{}'::text[]) ORDER BY o)
                         FROM jsonb_array_elements_text(tbls) WITH ORDINALITY u(t, o)),
        'column_rows', '[]'::jsonb));
    FOR r IN SELECT x FROM jsonb_array_elements(rows) x LOOP
        PERFORM steward._migration_record('index', mig, r);
    END LOOP;
    PERFORM steward._migration_record('update', mig, jsonb_build_object(
        'phase', 'pending_backfill', 'expanded_at', clock_timestamp(),
        'rows_total', (SELECT count(*) FROM jsonb_array_elements(rows) x WHERE x->>'kind' = 'create_index')));
    FOR r IN SELECT x FROM jsonb_array_elements(rows) x WHERE x->>'kind' = 'drop_index'
               AND NOT (x->>'force')::boolean AND (x->'stats_at_start'->>'idx_scan')::bigint > 0 LOOP
        PERFORM steward._report('notice',
                format('index "%s" was scanned %s since its statistics were reset; the migration watches it from now', r->>'index_name',
                       steward._relayout_count((r->'stats_at_start'->>'idx_scan')::bigint, 'time', 'times')),
                hint => 'migration_validate and migration_cleanup refuse to drop it if it is scanned again.');
    END LOOP;
END
$$;

-- Checks on the table of an index step.
CREATE FUNCTION steward._migration_check_index_table(rel regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    kind "char" := (SELECT c.relkind FROM pg_class c WHERE c.oid = rel);
    other text;
BEGIN
    IF kind = 'p' THEN
        RAISE EXCEPTION 'index steps on partitioned table "%" are not supported', steward._relation_name(rel)
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'PostgreSQL 15 builds and drops indexes concurrently on partitions, not on a partitioned table.',
                  HINT = 'Migrate its partitions one by one.';
    ELSIF kind IS DISTINCT FROM 'r' THEN
        RAISE EXCEPTION '"%" is not a table', steward._relation_name(rel) USING ERRCODE = 'wrong_object_type';
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
    SELECT t.migration INTO other FROM steward.migration_tables t WHERE t.relid = rel AND t.active;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%" is being changed by migration "%"', steward._relation_name(rel), other
            USING ERRCODE = 'object_in_use',
                  HINT = 'One migration per table at a time: complete and clean up, or roll back, that one first.';
    END IF;
    PERFORM steward._migration_refuse_temporary(rel);
END
$$;

-- A build of an index on the table is running now (pg_stat_progress_create_index)?
CREATE FUNCTION steward._migration_index_building(tbl regclass)
RETURNS boolean
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT EXISTS (SELECT 1 FROM pg_stat_progress_create_index p WHERE p.relid = tbl)
$$;

-- Drop the INVALID index a failed or cancelled build of step left behind,
-- concurrently; returns a sentence for the record (NULL: nothing to do).
-- Not while a build runs on the table: its index is INVALID until it ends.
CREATE FUNCTION steward._migration_index_drop_invalid(mig text, stepno integer)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s steward.migration_indexes;
    idx regclass;
    idxname text;
    err text;
BEGIN
    SELECT * INTO s FROM steward.migration_indexes x WHERE x.migration = mig AND x.step = stepno;
    idx := steward._migration_index_oid(s.relid, s.index_name);
    IF steward._migration_index_building(s.relid) THEN
        RETURN NULL;
    END IF;
    -- A build cancelled (statement_timeout, Ctrl-C) or whose session
    -- ended records nothing after it (review10 F5): it is "building" no
    -- more.  The callers call this only when no backfill of the migration
    -- runs (validate) or from the backfill itself before its next build.
    IF s.state = 'building' THEN
        PERFORM steward._migration_record('index', mig, jsonb_build_object(
            'step', stepno, 'state', 'failed',
            'error', format('build of index "%s" was interrupted (cancelled, or its session ended) before it finished',
                            s.index_name)));
    END IF;
    IF idx IS NULL OR (SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = idx) THEN
        RETURN NULL;
    END IF;
    idxname := idx::text;
    err := steward._migration_index_run(s.relid, idx, format('DROP INDEX CONCURRENTLY %s', idxname));
    IF err IS NOT NULL THEN
        RETURN format('invalid index "%s" left by a failed build could not be dropped: %s', s.index_name, err);
    END IF;
    PERFORM steward._migration_record('index', mig, jsonb_build_object(
        'step', stepno, 'add_invalid_dropped', 1));
    PERFORM steward._report('notice',
            format('dropped invalid index "%s" left by a failed or cancelled build (migration "%s", step %s)', s.index_name, mig, stepno));
    RETURN format('invalid index "%s" left by a failed or cancelled build was dropped', s.index_name);
END
$$;

-- Before a build: leftovers dropped, the "before" latency snapshot, state.
-- Returns false when the step needs no build (built already).
CREATE FUNCTION steward._migration_index_prepare(mig text, stepno integer)
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s steward.migration_indexes;
    idx regclass;
BEGIN
    SELECT * INTO s FROM steward.migration_indexes x WHERE x.migration = mig AND x.step = stepno;
    PERFORM steward._migration_index_drop_invalid(mig, stepno);
    idx := steward._migration_index_oid(s.relid, s.index_name);
    IF idx IS NOT NULL AND s.state = 'built' THEN
        RETURN false;
    END IF;
    IF idx IS NOT NULL THEN
        RAISE EXCEPTION 'index "%" exists but was not built by migration "%"', steward._relation_name(idx), mig
            USING ERRCODE = 'duplicate_table',
                  DETAIL = 'Someone created it meanwhile, or a build of this step that was cancelled just as it finished left it.',
                  HINT = E'Compare its definition with the step''s (\\d), then drop it and run the backfill again, or roll the migration back.';
    END IF;
    PERFORM steward._migration_record('index', mig, jsonb_build_object(
        'step', stepno, 'state', 'building', 'build_started_at', clock_timestamp(), 'error', NULL,
        'latency', s.latency || jsonb_build_object('build_start',
                                                   steward._migration_latency_snapshot(s.relid))));
    RETURN true;
END
$$;

-- After a build (called by _migration_index_build with the worker's error,
-- NULL when it committed): the step's state, the "after" snapshot, and an
-- INVALID leftover of a failed build dropped at once.
CREATE FUNCTION steward._migration_index_built(mig text, stepno integer, err text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s steward.migration_indexes;
    idx regclass;
    cleanup text;
BEGIN
    SELECT * INTO s FROM steward.migration_indexes x WHERE x.migration = mig AND x.step = stepno;
    idx := steward._migration_index_oid(s.relid, s.index_name);
    IF err IS NULL AND idx IS NOT NULL AND (SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = idx) THEN
        PERFORM steward._migration_record('index', mig, jsonb_build_object(
            'step', stepno, 'state', 'built', 'build_finished_at', clock_timestamp(),
            'size_bytes', pg_relation_size(idx),
            'latency', s.latency || jsonb_build_object('build_end',
                                                       steward._migration_latency_snapshot(s.relid))));
        PERFORM steward._migration_record('update', mig, jsonb_build_object(
            'add_rows', 1, 'add_batches', 1, 'last_batch_at', clock_timestamp()));
        RETURN;
    END IF;
    cleanup := steward._migration_index_drop_invalid(mig, stepno);
    err := format('build of index "%s" failed: %s', s.index_name, coalesce(err, 'the index is not valid'))
           || coalesce('; ' || cleanup, '');
    PERFORM steward._migration_record('index', mig, jsonb_build_object(
        'step', stepno, 'state', 'failed', 'build_finished_at', clock_timestamp(), 'error', err));
    PERFORM steward._migration_record('update', mig, jsonb_build_object(
        'failed', true, 'error', err, 'backfill_status', 'failed'));
    PERFORM steward._report('warning',
            format('migration "%s": %s', mig, err),
            hint => 'Fix the cause and run CALL steward.migration_backfill again, or roll the migration back.');
END
$$;

-- The next create_index step of a backfill run (after step "after").
CREATE FUNCTION steward._migration_index_next(mig text, after integer,
                                              OUT step integer, OUT tbl regclass, OUT sql text)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT i.step, i.relid, i.statement FROM steward.migration_indexes i
     WHERE i.migration = mig AND i.kind = 'create_index' AND i.step > after
     ORDER BY i.step LIMIT 1
$$;

CREATE FUNCTION steward._migration_index_backfill_begin(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r steward.migration_runs := steward._migration_get(mig);
BEGIN
    PERFORM steward._migration_require(r, ARRAY['pending_backfill', 'backfilled'], 'backfill');
    PERFORM steward._migration_record('update', mig,
        CASE WHEN r.phase = 'backfilled' THEN '{"phase": "pending_backfill"}'::jsonb ELSE '{}'::jsonb END ||
        jsonb_build_object(
            'backfill_started_at', coalesce(r.backfill_started_at, clock_timestamp()),
            'backfill_pid', pg_backend_pid(), 'backfill_run_at', clock_timestamp(),
            'backfill_status', 'running', 'failed', false, 'error', NULL));
END
$$;

CREATE FUNCTION steward._migration_index_backfill_end(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM steward.migration_indexes i
                WHERE i.migration = mig AND i.kind = 'create_index' AND i.state <> 'built') THEN
        RETURN;     -- failed, recorded by _migration_index_built
    END IF;
    PERFORM steward._migration_record('update', mig, jsonb_build_object(
        'phase', 'backfilled', 'backfilled_at', clock_timestamp(), 'backfill_status', 'finished'));
END
$$;

-- The backfill of an index migration: each create_index step built
-- concurrently (src/migrate/indexes.c), one transaction around each.
CREATE PROCEDURE steward._migration_index_backfill(mig text)
LANGUAGE plpgsql
-- No SET clause: a procedure with one may not COMMIT.  Every name is
-- schema-qualified; the functions it calls pin their search_path.
AS $$
DECLARE
    step pg_catalog.int4;
    tbl pg_catalog.regclass;
    sql pg_catalog.text;
    done pg_catalog.int4 := 0;
BEGIN
    PERFORM steward._migration_index_backfill_begin(mig);
    CALL steward._commit();
    LOOP
        SELECT n.step, n.tbl, n.sql INTO step, tbl, sql FROM steward._migration_index_next(mig, done) n;
        EXIT WHEN step IS NULL;
        done := step;
        IF steward._migration_index_prepare(mig, step) THEN
            CALL steward._commit();
            CALL steward._migration_index_build(mig, step, tbl, sql);
        END IF;
        CALL steward._commit();
    END LOOP;
    PERFORM steward._migration_index_backfill_end(mig);
    CALL steward._commit();
END
$$;

-- Validation of an index migration (called by migration_validate).
CREATE FUNCTION steward._migration_index_validate(mig text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r steward.migration_runs := steward._migration_get(mig);
    s steward.migration_indexes;
    results jsonb := '[]';
    idx regclass;
    ok boolean;
    msg text;
    rep record;
    now_usage jsonb;
    secs double precision;
    window_s double precision;
    scans bigint;
    rate double precision;
    qname text;     -- the index, schema-qualified and quoted as SQL needs
BEGIN
    PERFORM steward._migration_settings();
    window_s := steward.setting_value('steward.migration_index_window');
    FOR s IN SELECT * FROM steward.migration_indexes x WHERE x.migration = mig ORDER BY x.step LOOP
        qname := concat((SELECT quote_ident(n.nspname) || '.' FROM pg_class x JOIN pg_namespace n ON n.oid = x.relnamespace
                          WHERE x.oid = s.relid), quote_ident(s.index_name));
        IF s.kind = 'create_index' THEN
            msg := NULL;
            IF s.state <> 'built' AND NOT (r.backfill_status = 'running'
                                           AND steward._transition_running(r.backfill_pid, r.backfill_run_at)) THEN
                msg := steward._migration_index_drop_invalid(mig, s.step);
                -- Its state and error as that left them (an interrupted build).
                SELECT * INTO s FROM steward.migration_indexes x WHERE x.migration = mig AND x.step = s.step;
            END IF;
            idx := steward._migration_index_oid(s.relid, s.index_name);
            ok := idx IS NOT NULL AND s.state = 'built'
                  AND (SELECT i.indisvalid AND i.indisready FROM pg_index i WHERE i.indexrelid = idx);
            results := results || jsonb_build_object('check', format('index %s', qname), 'passed', ok,
                'detail', CASE WHEN ok THEN format('built concurrently and valid, %s', pg_size_pretty(pg_relation_size(idx)))
                               WHEN s.state = 'building' AND steward._migration_index_building(s.relid)
                               THEN 'being built now'
                               ELSE concat_ws('; ', coalesce(s.error, format('not built: CALL steward.migration_backfill(%L)', mig)), msg) END);
            IF ok THEN
                rep := steward._migration_latency_report(s.latency, steward._migration_latency_snapshot(s.relid));
                results := results || jsonb_build_object('check', format('latency %s', s.relid),
                    -- NULL: not judged (too few calls), as verify() says
                    -- of a check it did not make (newcomer48 N9).
                    'passed', CASE WHEN rep.verdict <> 'not judged' THEN rep.verdict <> 'regressed' END,
                    'detail', format('%s: %s', rep.verdict, rep.detail));
            END IF;
        ELSE
            idx := steward._migration_index_oid(s.relid, s.index_name);
            IF idx IS NULL THEN
                results := results || jsonb_build_object('check', format('unused %s', qname),
                    'passed', false, 'detail', format('index "%s" does not exist', s.index_name));
                CONTINUE;
            END IF;
            BEGIN
                PERFORM steward._migration_index_guard_constraints(idx);
                ok := true; msg := 'backs no constraint';
            EXCEPTION WHEN dependent_objects_still_exist THEN
                ok := false; msg := SQLERRM;
            END;
            results := results || jsonb_build_object('check', format('constraints %s', qname),
                                                     'passed', ok, 'detail', msg);
            now_usage := steward._migration_index_usage(idx);
            secs := extract(epoch FROM (now_usage->>'at')::timestamptz - (s.stats_at_start->>'at')::timestamptz);
            scans := (now_usage->>'idx_scan')::bigint - (s.stats_at_start->>'idx_scan')::bigint;
            ok := s.force OR scans = 0;
            results := results || jsonb_build_object('check', format('unused %s', qname), 'passed', ok,
                'detail', CASE WHEN scans > 0
                               THEN format('scanned %s in the %s s since the migration started%s',
                                           steward._relayout_count(scans, 'time', 'times'), round(secs::numeric),
                                           CASE WHEN s.force THEN ' (force: dropped anyway)' ELSE '' END)
                               ELSE format('not scanned in the %s s since the migration started%s', round(secs::numeric),
                                           CASE WHEN secs < window_s AND NOT s.force
                                                THEN format('; cleanup drops it once it has gone unused for steward.migration_index_window (%s s)', window_s)
                                                ELSE '' END) END);
            rate := ((now_usage->>'entries_written')::bigint - (s.stats_at_start->>'entries_written')::bigint)
                    / greatest(secs, 1);
            results := results || jsonb_build_object('check', format('write cost %s', qname), 'passed', true,
                'detail', format('dropping it saves %s of index and %s, with their WAL and vacuum work',
                                 pg_size_pretty(pg_relation_size(idx)),
                                 CASE WHEN secs < 1 THEN 'the index-entry writes of the table (rate not measured yet: validate again later)'
                                      ELSE format('about %s index-entry writes per second (inserts + non-HOT updates of %s, '
                                                  'each adding an entry to every index of the table, over the %s s since the start)',
                                                  round(rate::numeric, 1), s.relid, round(secs::numeric)) END));
        END IF;
    END LOOP;
    RETURN results;
END
$$;

-- Cleanup of an index migration: drop_index steps drop their index
-- concurrently, after the same guard as validation (unless force).
CREATE FUNCTION steward._migration_index_cleanup(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s steward.migration_indexes;
    idx regclass;
    err text;
    now_usage jsonb;
    secs double precision;
    scans bigint;
    window_s double precision;
BEGIN
    PERFORM steward._migration_settings();
    window_s := steward.setting_value('steward.migration_index_window');
    FOR s IN SELECT * FROM steward.migration_indexes x
              WHERE x.migration = mig AND x.kind = 'drop_index' AND x.state = 'kept' ORDER BY x.step LOOP
        idx := steward._migration_index_oid(s.relid, s.index_name);
        CONTINUE WHEN idx IS NULL;
        PERFORM steward._migration_index_guard_constraints(idx);
        now_usage := steward._migration_index_usage(idx);
        secs := extract(epoch FROM (now_usage->>'at')::timestamptz - (s.stats_at_start->>'at')::timestamptz);
        scans := (now_usage->>'idx_scan')::bigint - (s.stats_at_start->>'idx_scan')::bigint;
        IF NOT s.force AND scans > 0 THEN
            RAISE EXCEPTION 'index "%" was used since migration "%" started', steward._relation_name(idx), mig
                USING ERRCODE = 'object_in_use',
                      DETAIL = format('pg_stat_user_indexes counts %s %s of %s in the %s s since %s.',
                                      scans, CASE WHEN scans = 1 THEN 'scan' ELSE 'scans' END, idx, round(secs::numeric), s.stats_at_start->>'at'),
                      -- A step's "force" is given at start only (newcomer48 N10).
                      HINT = format('Find the statements that use it (EXPLAIN), or roll the migration back: SELECT steward.migration_rollback(%L); '
                                    'to drop it anyway, start a new migration whose step has "force": true.', mig);
        END IF;
        IF NOT s.force AND secs < window_s THEN
            RAISE EXCEPTION 'index "%" has been watched for only % s', steward._relation_name(idx), round(secs::numeric)
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      DETAIL = format('steward.migration_index_window is %s s: an index must go unused that long before it is dropped.', window_s),
                      -- What a started migration can still do: wait, or
                      -- lower the window to the time watched (newcomer48 N10).
                      HINT = format('Clean up in %s s, or lower the window for this session and clean up now: '
                                    'SET steward.migration_index_window = ''%ss''; SELECT steward.migration_cleanup(%L);',
                                    ceil(window_s - secs), floor(secs), mig);
        END IF;
        err := steward._migration_index_run(s.relid, idx, format('DROP INDEX CONCURRENTLY %s', idx));
        IF err IS NOT NULL THEN
            RAISE EXCEPTION 'could not drop index "%" concurrently: %', steward._relation_name(idx), err
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'A failed concurrent drop leaves the index INVALID; run the cleanup again.';
        END IF;
        PERFORM steward._migration_record('index', mig, jsonb_build_object('step', s.step, 'state', 'dropped'));
    END LOOP;
END
$$;

-- Rollback of an index migration: created indexes dropped concurrently
-- (an INVALID leftover too); indexes of drop_index steps were never
-- dropped (that happens at cleanup), so there is nothing to rebuild.
CREATE FUNCTION steward._migration_index_rollback(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s steward.migration_indexes;
    idx regclass;
    err text;
BEGIN
    FOR s IN SELECT * FROM steward.migration_indexes x WHERE x.migration = mig ORDER BY x.step DESC LOOP
        IF s.kind = 'create_index' THEN
            IF steward._migration_index_building(s.relid) AND s.state = 'building' THEN
                RAISE EXCEPTION 'an index of table "%" is being built now', steward._relation_name(s.relid)
                    USING ERRCODE = 'object_in_use',
                          HINT = 'Cancel the running CALL steward.migration_backfill first (pg_cancel_backend).';
            END IF;
            idx := steward._migration_index_oid(s.relid, s.index_name);
            IF idx IS NOT NULL AND s.state IN ('built', 'building', 'failed') THEN
                err := steward._migration_index_run(s.relid, idx, format('DROP INDEX CONCURRENTLY %s', idx));
                IF err IS NOT NULL THEN
                    RAISE EXCEPTION 'could not drop index "%" concurrently: %', steward._relation_name(idx), err
                        USING ERRCODE = 'object_not_in_prerequisite_state',
                              HINT = 'Run the rollback again.';
                END IF;
            END IF;
        END IF;
        PERFORM steward._migration_record('index', mig, jsonb_build_object('step', s.step, 'state', 'rolled_back'));
    END LOOP;
END
$$;
