--------------------------------------------------------------------------
-- The relayout migration step (src/migrate/README.md "Relayout"): a
-- table's layout changes online -- partitioned by a shard key, another
-- partition count or key, partitions in other tablespaces.
--
-- A relayout migration has exactly one step and two tables in
-- steward.migration_tables: ord 1 the old layout (the table the step
-- names), ord 2 the new layout (a partitioned table created by
-- migration_start).  Both carry the apply trigger zz_steward_relayout
-- (src/migrate/relayout.c) until the end, so each is written whenever the
-- other is.  Phases are the migration's: start (new layout, triggers) ->
-- backfill (copy history in checkpointed batches) -> validate (counts,
-- checksums per key range, distribution) -> complete (the names swap in
-- one short locked transaction) -> cleanup (the old layout goes) or
-- rollback (the new one goes).
--------------------------------------------------------------------------

CREATE FUNCTION steward._relayout_exec(tbl regclass, sql text, args text[] DEFAULT NULL,
                                       backfill boolean DEFAULT false)
RETURNS text[]
AS 'MODULE_PATHNAME', 'steward_relayout_exec'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward._relayout_trigger()
RETURNS trigger
AS 'MODULE_PATHNAME', 'steward_relayout_trigger'
LANGUAGE C;

CREATE FUNCTION steward._relayout_partition_by(spec text, OUT strategy text, OUT columns text[])
RETURNS record
AS 'MODULE_PATHNAME', 'steward_relayout_partition_by'
LANGUAGE C IMMUTABLE;

CREATE FUNCTION steward._relayout_key_eqop(typ regtype, strategy text)
RETURNS regoperator
AS 'MODULE_PATHNAME', 'steward_relayout_key_eqop'
LANGUAGE C STABLE;

-- Catalog writer (called by _migration_record as the catalog's owner after
-- it checked that the caller owns the tables): the new layout's row, or
-- releasing one table of the migration before it is dropped.
CREATE FUNCTION steward._migration_record_relayout(mig text, data jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO steward.migration_tables (migration, relid, ord, table_name, relname, new_name,
                                          key_columns, key_types)
    SELECT mig, x.relid, x.ord, x.table_name, x.relname, x.new_name, x.key_columns, x.key_types
      FROM jsonb_populate_recordset(NULL::steward.migration_tables,
                                    coalesce(data->'table_rows', '[]')) x;
    IF data ? 'release_relid' THEN
        UPDATE steward.migration_tables t SET active = false
         WHERE t.migration = mig AND t.relid = (data->>'release_relid')::oid;
    END IF;
    -- The old layout goes at cleanup after the cutover: the table's earlier
    -- migrations follow it to the new layout, whose owner sees them
    -- (review10 F10); other migrations of the table are over by now.
    IF (data->>'repoint')::boolean THEN
        UPDATE steward.migration_tables o SET relid = n.relid
          FROM steward.migration_tables n
         WHERE n.migration = mig AND n.active AND n.relid IS NOT NULL
           AND o.migration <> mig AND NOT o.active AND o.relid = (data->>'release_relid')::oid;
        UPDATE steward.migration_columns o SET relid = n.relid
          FROM steward.migration_tables n
         WHERE n.migration = mig AND n.active AND n.relid IS NOT NULL
           AND o.migration <> mig AND o.relid = (data->>'release_relid')::oid;
        UPDATE steward.migration_indexes o SET relid = n.relid
          FROM steward.migration_tables n
         WHERE n.migration = mig AND n.active AND n.relid IS NOT NULL
           AND o.migration <> mig AND o.relid = (data->>'release_relid')::oid;
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._migration_record_relayout(text, jsonb) FROM PUBLIC;

-- The name of a layout while it is not the table ("new" before the
-- cutover, "old" after): <table>_relayout_<side>, or for a table whose
-- name is longer than 50 bytes its first 40 bytes (whole characters), its
-- OID and _relayout_<side>, so that tables sharing a long prefix do not
-- collide (review10 F7).  rel is the table's OID at start (the old layout).
CREATE FUNCTION steward._relayout_layout_name(relname name, rel oid, side text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN octet_length(relname) <= 50 THEN relname || '_relayout_' || side
                ELSE (SELECT left(relname, n) FROM generate_series(40, 1, -1) n
                       WHERE octet_length(left(relname, n)) <= 40 LIMIT 1)
                     || '_' || rel || '_relayout_' || side END
$$;

-- The relayout step of a migration's steps, or NULL.
CREATE FUNCTION steward._relayout_step(steps jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN jsonb_typeof(steps) = 'array' AND jsonb_typeof(steps->0) = 'object'
                THEN steps->0->'relayout' END
$$;

-- The two layouts of a relayout migration (whatever their names are now).
CREATE FUNCTION steward._relayout_tables(mig text, OUT old_rel regclass, OUT new_rel regclass,
                                         OUT relname name, OUT key_columns name[],
                                         OUT key_types text[])
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF mig IS NULL THEN
        RAISE EXCEPTION 'relayout name must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- Either row may be missing: the catalog's row security hides the row
    -- of a layout that was dropped from the owner (relayout_alive).
    SELECT o.relid, n.relid, coalesce(o.relname, n.relname), coalesce(o.key_columns, n.key_columns),
           coalesce(o.key_types, n.key_types)
      INTO old_rel, new_rel, relname, key_columns, key_types
      FROM (SELECT 1) x
      LEFT JOIN steward.migration_tables o ON o.migration = mig AND o.ord = 1
      LEFT JOIN steward.migration_tables n ON n.migration = mig AND n.ord = 2
     WHERE o.relid IS NOT NULL OR n.relid IS NOT NULL;
    -- Neither: no relayout of that name the caller may see.  Its callers
    -- read the fields of this record at once, which would otherwise fail
    -- with PL/pgSQL's 'record "t" is not assigned yet' (55000).
    IF NOT FOUND THEN
        RAISE EXCEPTION 'relayout "%" does not exist', mig
            USING ERRCODE = 'undefined_object',
                  HINT = 'steward.migrations lists the migrations and their steps.';
    END IF;
END
$$;

-- Whether each layout of a relayout is still there (not released, not
-- dropped around the DDL guard).
CREATE FUNCTION steward._relayout_alive(mig text, OUT old_alive boolean, OUT new_alive boolean)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(bool_or(t.active AND c.oid IS NOT NULL) FILTER (WHERE t.ord = 1), false),
           coalesce(bool_or(t.active AND c.oid IS NOT NULL) FILTER (WHERE t.ord = 2), false)
      FROM steward.migration_tables t LEFT JOIN pg_class c ON c.oid = t.relid
     WHERE t.migration = mig
$$;

-- What keeps a relayout from its next step, both NULL when nothing does:
-- a layout dropped, or layouts whose columns differ -- only a superuser
-- going around the DDL guard (steward_relayout_guard), or DROP SCHEMA /
-- DROP OWNED, gets there.  problem says what, hint what to do: rollback
-- and cleanup finish without the layout that is gone.
CREATE FUNCTION steward._relayout_layouts_problem(mig text, OUT problem text, OUT hint text)
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o steward.migration_tables;
    n steward.migration_tables;
    r steward.migration_runs := steward._migration_get(mig);
    switched boolean := r.phase = 'switched';
    alive record := steward._relayout_alive(mig);
BEGIN
    IF steward._relayout_step(r.steps) IS NULL THEN
        RETURN;     -- not a relayout: ord 1, 2 are two tables of a column migration
    END IF;
    -- The row of a dropped layout is hidden from the owner (row security):
    -- names come from the layout that is left and from the step.
    SELECT * INTO o FROM steward.migration_tables t WHERE t.migration = mig AND t.ord = 1;
    SELECT * INTO n FROM steward.migration_tables t WHERE t.migration = mig AND t.ord = 2;
    IF switched AND NOT alive.old_alive THEN
        problem := format('the old layout of %s was dropped after the cutover', n.relid);
        hint := format('The migration cannot roll back any more: clean it up (SELECT steward.migration_cleanup(%L);).',
                       mig);
    ELSIF switched AND NOT alive.new_alive THEN
        problem := format('table %s (the new layout since the cutover) was dropped', r.steps->0->'relayout'->>'table');
        hint := format('Roll the migration back (SELECT steward.migration_rollback(%L);) to get the table back '
                       'as it was before the migration, or clean it up (SELECT steward.migration_cleanup(%L);): '
                       'the old layout %s then stays, with its rows, for you to drop.', mig, mig, o.relid);
    ELSIF NOT alive.old_alive THEN
        problem := format('table %s (the old layout) was dropped', r.steps->0->'relayout'->>'table');
        hint := format('Roll the migration back (SELECT steward.migration_rollback(%L);): the new layout %s then '
                       'stays, with its rows, for you to drop.', mig, n.relid);
    ELSIF NOT alive.new_alive THEN
        problem := format('the new layout of %s was dropped', o.relid);
        hint := format('Roll the migration back (SELECT steward.migration_rollback(%L);): it leaves %s as it was.',
                       mig, o.relid);
    ELSE
        SELECT string_agg(CASE WHEN y.attname IS NULL THEN format('column %I only on %s', x.attname, o.relid)
                               WHEN x.attname IS NULL THEN format('column %I only on %s', y.attname, n.relid)
                               ELSE format('column %I is %s on %s and %s on %s', x.attname, x.typ, o.relid,
                                           y.typ, n.relid) END,
                          '; ' ORDER BY coalesce(x.attname, y.attname))
          INTO problem
          FROM (SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS typ FROM pg_attribute a
                 WHERE a.attrelid = o.relid AND a.attnum > 0 AND NOT a.attisdropped) x
          FULL JOIN (SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS typ FROM pg_attribute a
                      WHERE a.attrelid = n.relid AND a.attnum > 0 AND NOT a.attisdropped) y
            ON y.attname = x.attname
         WHERE x.typ IS DISTINCT FROM y.typ;
        IF problem IS NOT NULL THEN
            problem := 'the layouts'' columns differ: ' || problem;
            hint := CASE WHEN switched
                         THEN format('Change them back on one layout, or roll the migration back '
                                     '(SELECT steward.migration_rollback(%L);).', mig)
                         ELSE format('Change them back on one layout, or roll the migration back '
                                     '(SELECT steward.migration_rollback(%L);) and start it again.', mig) END;
        END IF;
    END IF;
END
$$;

-- The layouts' problem as validate's failed "layouts" row (a jsonb
-- array), NULL when there is none.
CREATE FUNCTION steward._relayout_layouts_failed(mig text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_array(jsonb_build_object('check', 'layouts', 'passed', false,
                                                'detail', p.problem || '. ' || p.hint))
      FROM steward._relayout_layouts_problem(mig) p WHERE p.problem IS NOT NULL
$$;

-- The layouts' problem as an error (55000) of step action ('backfill',
-- 'complete', 'roll back').
CREATE FUNCTION steward._relayout_require_layouts(mig text, action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record := steward._relayout_layouts_problem(mig);
BEGIN
    IF p.problem IS NOT NULL THEN
        RAISE EXCEPTION 'cannot % migration "%": %', action, mig, p.problem
            USING ERRCODE = 'object_not_in_prerequisite_state', HINT = p.hint;
    END IF;
END
$$;

-- Columns a copy writes: every column but dropped and generated ones.
CREATE FUNCTION steward._relayout_columns(rel regclass)
RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(array_agg(a.attname::text ORDER BY a.attnum), '{}')
      FROM pg_attribute a
     WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
$$;

-- The apply statements of the trigger on src that writes tgt (relayout.c):
-- insert ($1 = new row), update ($1 = old row, $2 = new row), delete ($1 =
-- old row).  Upserts keyed by the primary key: applying twice is harmless.
-- The upsert sets every column but tgt's GENERATED ALWAYS identity ones,
-- which an UPDATE (ON CONFLICT's too) may set only to DEFAULT (review26
-- R6: with one outside the key every INSERT and UPDATE of the table
-- failed 428C9), the key's included.  The layout the trigger writes has
-- such a column BY DEFAULT (_relayout_expand, _relayout_switch), so an
-- UPDATE ... SET col = DEFAULT of the table reaches it too (evolve11); a
-- relayout started before that keeps ALWAYS on both and leaves it out: a key value equal to the row's under the
-- key's collation or type but spelled otherwise ('Alice' -> 'alice' under
-- a case-insensitive collation, citext) is written too (review26 R5: the
-- other layout kept the old spelling).
CREATE FUNCTION steward._relayout_apply_sql(src regclass, tgt regclass, keys name[],
                                            OUT ins text, OUT upd text, OUT del text)
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text[] := steward._relayout_columns(src);
    always text[] := ARRAY(SELECT attname::text FROM pg_attribute
                            WHERE attrelid = tgt AND attnum > 0 AND NOT attisdropped AND attidentity = 'a');
    collist text;
    keylist text;
    sets text;
    vals1 text;
    vals2 text;
    keys1 text;
    keys2 text;
    conflict text;
BEGIN
    SELECT string_agg(format('%I', c), ', ' ORDER BY i), string_agg(format('($1).%I', c), ', ' ORDER BY i),
           string_agg(format('($2).%I', c), ', ' ORDER BY i),
           string_agg(format('%1$I = EXCLUDED.%1$I', c), ', ' ORDER BY i) FILTER (WHERE NOT c = ANY (always))
      INTO collist, vals1, vals2, sets
      FROM unnest(cols) WITH ORDINALITY u(c, i);
    SELECT string_agg(format('%I', k), ', ' ORDER BY i), string_agg(format('($1).%I', k), ', ' ORDER BY i),
           string_agg(format('($2).%I', k), ', ' ORDER BY i)
      INTO keylist, keys1, keys2
      FROM unnest(keys) WITH ORDINALITY u(k, i);
    conflict := format('ON CONFLICT (%s) %s', keylist,
                       CASE WHEN sets IS NULL THEN 'DO NOTHING' ELSE 'DO UPDATE SET ' || sets END);
    ins := format('INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s %s', tgt, collist, vals1, conflict);
    upd := format('WITH d AS (DELETE FROM %s WHERE ROW(%s) = ROW(%s) AND ROW(%s) IS DISTINCT FROM ROW(%s)) '
                  'INSERT INTO %s (%s) OVERRIDING SYSTEM VALUE SELECT %s %s',
                  tgt, keylist, keys1, keys1, keys2, tgt, collist, vals2, conflict);
    del := format('DELETE FROM %s WHERE ROW(%s) = ROW(%s)', tgt, keylist, keys1);
END
$$;

-- The objects that use rel's row type or its array type (review8 #12):
-- functions taking or returning it, columns of other tables, composite
-- types, views selecting whole rows.  They are bound to the type by OID,
-- so the cutover, which gives the table's name to the other layout, leaves
-- them on the layout that goes; its drop would need CASCADE, which drops
-- user columns with their data.  NULL if there is none.
CREATE FUNCTION steward._relayout_rowtype_users(rel regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(x.obj, ', ' ORDER BY x.obj)
      FROM (SELECT DISTINCT pg_describe_object(d.classid, d.objid, d.objsubid) AS obj
              FROM pg_type t JOIN pg_depend d ON d.refclassid = 'pg_type'::regclass
                                              AND d.refobjid IN (t.oid, t.typarray)
             WHERE t.typrelid = rel AND d.deptype = 'n') x
$$;

-- Raises what _relayout_rowtype_users finds on layout rel: 0A000 at start
-- (when_ = 'start'), 2BP01 before the cutover renames it ('complete') or
-- a cleanup or rollback drops it ('cleanup', 'rollback'): objects created
-- since.
CREATE FUNCTION steward._relayout_check_rowtype(rel regclass, when_ text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    users text := steward._relayout_rowtype_users(rel);
BEGIN
    IF users IS NULL THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'objects use the row type of relation "%", which a relayout cannot move: %', steward._relation_name(rel), users
        USING ERRCODE = CASE WHEN when_ = 'start' THEN 'feature_not_supported' ELSE 'dependent_objects_still_exist' END,
              DETAIL = format('They are bound to the row type of %s, not to its name: %s drops that table, and the drop would need CASCADE, which drops them too (columns with their data).',
                              rel, CASE WHEN when_ = 'rollback' THEN 'the rollback' ELSE 'the cleanup' END),
              HINT = 'Drop them for the migration and create them again after the cutover, or change such columns to another type first (for example jsonb: ALTER TABLE ... ALTER COLUMN ... TYPE jsonb USING to_jsonb(...)).';
END
$$;

-- The publications of rel (review8 #13).  The cutover moves an explicit
-- membership (with its column list and row filter) to the other layout:
-- ALTER PUBLICATION needs the publication's owner, so the caller must be a
-- member of it (42501).  Refused (0A000): a publication that would also
-- publish the other layout (FOR ALL TABLES, FOR TABLES IN SCHEMA: its
-- subscribers would receive every change twice, once for a table they do
-- not have), and one without publish_via_partition_root (the new layout's
-- changes would be published under its partitions' names, which the
-- subscribers do not have, and the table's would stop).
CREATE FUNCTION steward._relayout_check_publications(rel regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT * FROM steward._publications_of(rel) LOOP
        IF p.all_tables OR p.by_schema THEN
            RAISE EXCEPTION 'relation "%" is published by publication "%" (%), which would publish its new layout too',
                    steward._relation_name(rel), p.pubname, CASE WHEN p.all_tables THEN 'FOR ALL TABLES' ELSE 'FOR TABLES IN SCHEMA' END
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = 'Both layouts are written while the relayout runs: its subscribers would receive every change twice, the second time for a table they do not have.',
                      HINT = 'Publish the tables by name instead (CREATE PUBLICATION ... FOR TABLE ... WITH (publish_via_partition_root = true)): the cutover moves the table''s membership to the new layout.';
        END IF;
        CONTINUE WHEN NOT p.by_name;
        IF NOT p.pubviaroot THEN
            RAISE EXCEPTION 'publication "%" publishes relation "%" without publish_via_partition_root', p.pubname, steward._relation_name(rel)
                USING ERRCODE = 'feature_not_supported',
                      DETAIL = 'The new layout is partitioned: its changes would be published under the names of its partitions, which the subscribers do not have, and no longer under the table''s.',
                      HINT = format('ALTER PUBLICATION %I SET (publish_via_partition_root = true) first.', p.pubname);
        END IF;
        IF NOT pg_has_role(p.pubowner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of publication % to re-layout "%"', quote_ident(p.pubname), steward._relation_name(rel)
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = 'The cutover moves the table''s membership in the publication to the new layout.';
        END IF;
    END LOOP;
END
$$;

-- What else a relayout of rel could not carry, refused at start like the
-- rest of _relayout_check_dependents and _relayout_check_partitions:
--  * rules of other relations over it (a view's ON INSERT rule writing
--    it, another table's rule): the cutover redefines plain views'
--    queries only, so they would stay on the old layout and the cleanup
--    would fail on them (codereview7 F; refused when made later too);
--  * a sequence owned by a column of one of its partitions alone (ALTER
--    SEQUENCE ... OWNED BY, or the serial column of a table attached as
--    a partition): the cleanup drops the old partitions, and with them
--    such a sequence, its position lost (closing37 item 4);
--  * a DEFERRABLE primary key or unique constraint: the apply writes the
--    other layout with INSERT ... ON CONFLICT on the key, whose arbiters
--    are every unique index over the key's columns, and the backfill with
--    ON CONFLICT DO NOTHING, whose arbiters are all unique indexes; core
--    refuses a deferrable arbiter (review26 R2: with a deferrable primary
--    key every write to the table failed from start on; codereview14 S2:
--    the same with a deferrable unique constraint over the key's columns,
--    and every backfill batch failed with one over other columns).
CREATE FUNCTION steward._relayout_check_carried(rel regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    other text;
    c record;
BEGIN
    SELECT string_agg(x.what, ', ' ORDER BY x.what) INTO other
      FROM (SELECT DISTINCT format('rule "%s" on %s %s', r.rulename,
                                   CASE v.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' ELSE 'table' END,
                                   v.oid::regclass) AS what
              FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
              JOIN pg_class v ON v.oid = r.ev_class
             WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = rel AND v.oid <> rel AND r.rulename <> '_RETURN') x;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'a relayout does not move rules over relation "%": %', steward._relation_name(rel), other
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The cutover redefines only plain views over the table; a rule would stay on the old layout, which the cleanup could not drop then.',
                  HINT = 'Drop the rules for the migration and create them again after steward.migration_cleanup (a rule over the table is refused until then).';
    END IF;
    SELECT d.refobjid::regclass AS part, d.objid::regclass AS seq, a.attname INTO c
      FROM pg_depend d JOIN pg_class sq ON sq.oid = d.objid AND sq.relkind = 'S'
      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
       AND d.deptype = 'a' AND d.refobjsubid > 0
       AND d.refobjid IN (SELECT x FROM steward._relayout_tree(rel) x WHERE x <> rel)
     ORDER BY d.refobjid::regclass::text, a.attnum, d.objid::regclass::text LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'partition "%" of relation "%" has its own sequence "%", owned by its column "%": a relayout cannot carry it to the new partitions',
                steward._relation_name(c.part), steward._relation_name(rel), steward._relation_name(c.seq), c.attname
            USING ERRCODE = 'feature_not_supported',
                  HINT = format('Make it owned by none for the migration (ALTER SEQUENCE %s OWNED BY NONE); the new partitions take the table''s column defaults.',
                                c.seq);
    END IF;
    SELECT x.conname, x.contype INTO c FROM pg_constraint x
     WHERE x.conrelid = rel AND x.contype IN ('p', 'u') AND x.condeferrable
     ORDER BY x.contype = 'p' DESC, x.conname LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION '% "%" of relation "%" is DEFERRABLE',
                CASE c.contype WHEN 'p' THEN 'primary key' ELSE 'unique constraint' END, c.conname,
                steward._relation_name(rel)
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = CASE c.contype
                           WHEN 'p' THEN 'Both layouts are written keyed by the primary key with INSERT ... ON CONFLICT, which PostgreSQL refuses over a deferrable key: every write to the table would fail.'
                           ELSE 'Both layouts are written with INSERT ... ON CONFLICT (the apply on the key, the backfill on every unique index), which PostgreSQL refuses when a unique constraint it checks is deferrable: the writes to the table or the backfill would fail.' END,
                  HINT = format('Make the %s NOT DEFERRABLE first (drop it and add it again), then start the migration.',
                                CASE c.contype WHEN 'p' THEN 'primary key' ELSE 'constraint' END);
    END IF;
END
$$;

-- The objects around a table a relayout cannot move or redirect yet
-- (triggers, row-level security, a foreign key to itself, materialized
-- views, functions with SQL-standard bodies) and the ones the cutover
-- redirects as their owners (views, other tables' foreign keys), which
-- the caller must own too.  Part of _relayout_check; raises 0A000 or
-- 42501 for the first one found.  Any other object that depends on the
-- table, a partition, an index of either or a partition's row type
-- through its definition (an index's, a default's or another table's or
-- domain's CHECK's regclass / regtype constant, a policy or trigger of
-- another table) raises 2BP01: the cleanup's DROP of the old layout
-- would refuse it, RESTRICT, and its owner may be a role the caller
-- cannot act as (review17 R17-4, codereview5 #1, #2).  The tree's own
-- constraints go with it and foreign keys are moved at the cutover; so
-- do its generated columns' expressions over its own columns (the new
-- layout is made INCLUDING GENERATED: review26 R3, start refused any
-- table with one, "default value for column ... depends on relation"),
-- not a default naming the table ('t'::regclass: no column).
CREATE FUNCTION steward._relayout_check_dependents(rel regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    other text; via text;
BEGIN
    SELECT tgname INTO other FROM pg_trigger WHERE tgrelid = rel AND NOT tgisinternal LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%" has trigger "%": a relayout does not move triggers yet', steward._relation_name(rel), other
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Drop the trigger for the migration and create it again on the table after steward.migration_cleanup (CREATE TRIGGER is refused until then): writes between start and cleanup run without it.';
    END IF;
    -- Row-level security, or policies alone (ENABLE ROW LEVEL SECURITY
    -- and CREATE POLICY are refused until the cleanup, recheck10 N8).
    IF (SELECT relrowsecurity FROM pg_class WHERE oid = rel) THEN
        RAISE EXCEPTION 'relation "%" has row-level security enabled: a relayout does not move it or its policies yet', steward._relation_name(rel)
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'The new layout would take the table''s place at the cutover without them.',
                  HINT = format('To re-layout it, disable row-level security (ALTER TABLE %s DISABLE ROW LEVEL SECURITY) and drop its policies, and recreate them after steward.migration_cleanup (refused until then): meanwhile every role granted privileges on the table reads and writes all its rows.', rel);
    END IF;
    SELECT polname INTO other FROM pg_policy WHERE polrelid = rel ORDER BY polname LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%" has policy "%": a relayout does not move policies yet', steward._relation_name(rel), other
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'Row-level security is disabled on the table, so its policies restrict nothing now; the new layout would take the table''s place at the cutover without them.',
                  HINT = 'Drop the policies for the migration and create them again on the table after steward.migration_cleanup (CREATE POLICY is refused until then).';
    END IF;
    -- Rules stay on the old layout: after the cutover they would rewrite
    -- the apply's writes to it, and none the application's.
    SELECT rulename INTO other FROM pg_rewrite WHERE ev_class = rel AND rulename <> '_RETURN' ORDER BY rulename LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%" has rule "%": a relayout does not move rules', steward._relation_name(rel), other
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Drop the rule for the migration and create it again on the table after steward.migration_cleanup (CREATE RULE is refused until then): writes between start and cleanup run without it.';
    END IF;
    SELECT conname INTO other FROM pg_constraint WHERE conrelid = rel AND confrelid = rel AND contype = 'f' LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%" references itself (foreign key "%"): not supported by relayout', steward._relation_name(rel), other
            USING ERRCODE = 'feature_not_supported';
    END IF;
    -- Objects the cutover redirects run DDL as their owners: the caller
    -- must own them too; objects it cannot redirect are refused.
    FOR c IN SELECT DISTINCT v.oid::regclass AS obj, v.relkind, v.relowner
               FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
               JOIN pg_class v ON v.oid = r.ev_class
              WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
                AND d.refobjid = rel AND v.oid <> rel
             UNION
             SELECT DISTINCT x.conrelid::regclass, 'f'::"char", (SELECT relowner FROM pg_class WHERE oid = x.conrelid)
               FROM pg_constraint x WHERE x.confrelid = rel AND x.contype = 'f' AND x.conparentid = 0 LOOP
        IF c.relkind = 'm' THEN
            RAISE EXCEPTION 'materialized view % depends on relation "%"', c.obj, steward._relation_name(rel)
                USING ERRCODE = 'feature_not_supported',
                      HINT = 'Drop it for the migration and recreate it after the cutover.';
        END IF;
        IF NOT pg_has_role(c.relowner, 'USAGE') THEN
            RAISE EXCEPTION 'must be owner of % to re-layout "%"', c.obj, steward._relation_name(rel)
                USING ERRCODE = 'insufficient_privilege',
                      DETAIL = CASE WHEN c.relkind = 'f' THEN 'Its foreign key is moved to the new layout at the cutover.'
                                    ELSE 'The view is redefined on the new layout at the cutover.' END;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
                WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = rel) THEN
        RAISE EXCEPTION 'a function with a SQL-standard body depends on relation "%"', steward._relation_name(rel)
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Recreate it after the cutover; bodies given as strings find the table by name and need nothing.';
    END IF;
    PERFORM steward._relayout_check_rowtype(rel, 'start');
    PERFORM steward._relayout_check_publications(rel);
    -- Any other object over the tree, its indexes or row types: 2BP01 (a view named as such).
    SELECT coalesce((SELECT format('%s %s', CASE vc.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END, vc.oid::regclass)
                       FROM pg_rewrite rw JOIN pg_class vc ON vc.oid = rw.ev_class WHERE d.classid = 'pg_rewrite'::regclass
                        AND rw.oid = d.objid AND rw.rulename = '_RETURN'), pg_describe_object(d.classid, d.objid, d.objsubid)),
           CASE WHEN NOT o.is_table THEN pg_describe_object(o.cls, o.oid, 0) END INTO other, via
      FROM pg_depend d
      JOIN (SELECT 'pg_class'::regclass AS cls, x::oid AS oid, true AS is_table
              FROM steward._relayout_tree(rel) x
            UNION ALL
            SELECT 'pg_class'::regclass, i.indexrelid, false
              FROM pg_index i WHERE i.indrelid IN (SELECT x FROM steward._relayout_tree(rel) x)
            UNION ALL
            SELECT 'pg_type'::regclass, ty.oid, false FROM pg_class pc JOIN pg_type ty
                ON pc.reltype IN (ty.oid, ty.typelem)
             WHERE pc.oid IN (SELECT x FROM steward._relayout_tree(rel) x) AND pc.oid <> rel) o
        ON d.refclassid = o.cls AND d.refobjid = o.oid
     WHERE d.deptype = 'n' AND d.classid <> 'pg_publication_rel'::regclass
       AND NOT (o.is_table AND d.classid IN ('pg_rewrite'::regclass, 'pg_proc'::regclass))
       AND NOT (d.classid = 'pg_attrdef'::regclass AND d.refobjsubid > 0 AND (SELECT adrelid FROM pg_attrdef WHERE oid = d.objid) = d.refobjid)
       AND NOT (d.classid = 'pg_constraint'::regclass AND EXISTS (
                SELECT 1 FROM pg_constraint k
                 WHERE k.oid = d.objid
                   AND (k.contype = 'f' OR k.conrelid IN (SELECT x FROM steward._relayout_tree(rel) x))))
     ORDER BY 1, 2 LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION '% depends on %', other, concat(via || ', which goes with ', format('relation "%s"', steward._relation_name(rel)))
            USING ERRCODE = 'object_in_use',
                  DETAIL = 'The cleanup drops the table''s old layout, and could not drop it while another object depends on it.',
                  HINT = 'Drop it for the migration and make it again after steward.migration_cleanup.';
    END IF;
END
$$;

-- The partitions of a partitioned table a relayout changes (review8 #18,
-- #22, #2): a relayout gives the new layout's partitions what the table
-- itself has, so what a single partition has on its own would be lost
-- silently -- a guarantee (constraint, unique or exclusion key, rule,
-- state check), or a trigger, policy, view or foreign key that would keep
-- using the old partition (or block its drop at cleanup).  Refused with
-- 0A000 naming the first one; what only costs speed (a partition's own
-- plain index, its retention setting) is reported with a NOTICE.
CREATE FUNCTION steward._relayout_check_partitions(rel regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part regclass;
    other text;
    what text;
    hint text;
    lost text[] := '{}';
BEGIN
    FOR part IN SELECT x FROM steward._relayout_tree(rel) x WHERE x <> rel LOOP
        what := NULL;
        -- Triggers (a clone of the table's has tgparentid set) and rules of its own.
        SELECT y.x INTO what FROM (SELECT format('its own trigger "%s"', tgname) FROM pg_trigger WHERE tgrelid = part AND NOT tgisinternal AND tgparentid = 0
                                   UNION ALL SELECT format('its own rule "%s"', rulename) FROM pg_rewrite WHERE ev_class = part AND rulename <> '_RETURN') y(x) ORDER BY 1 LIMIT 1;
        hint := 'Drop it for the migration, and recreate it on the table or its new partitions after steward.migration_cleanup (refused until then): writes between start and cleanup run without it.';
        IF what IS NULL AND ((SELECT relrowsecurity FROM pg_class WHERE oid = part)
                             OR EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = part)) THEN
            what := 'row-level security';
            hint := 'Disable it for the migration, and enable it on the new partitions after steward.migration_cleanup (refused until then).';
        END IF;
        -- Constraints of its own: CHECK not inherited from the table,
        -- foreign keys, unique, primary and exclusion keys not attached to
        -- the table's.
        IF what IS NULL THEN
            SELECT format('its own %s constraint "%s"', CASE contype WHEN 'c' THEN 'check' WHEN 'f' THEN 'foreign key'
                                                             WHEN 'x' THEN 'exclusion' WHEN 'u' THEN 'unique'
                                                             ELSE 'primary key' END, conname)
              INTO what FROM pg_constraint
             WHERE conrelid = part AND ((contype = 'c' AND coninhcount = 0)
                                        OR (contype IN ('f', 'u', 'p', 'x') AND conparentid = 0))
             ORDER BY conname LIMIT 1;
            hint := 'Declare it on the table (a unique key including the partition key), or drop it first if it is not needed: '
                    'the new partitions get the table''s constraints only.';
        END IF;
        IF what IS NULL THEN
            SELECT format('its own unique index "%s"', ic.relname) INTO what
              FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
             WHERE i.indrelid = part AND i.indisunique
               AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
             ORDER BY ic.relname LIMIT 1;
        END IF;
        -- Other tables' foreign keys to it (not the clones of a key to the table).
        IF what IS NULL THEN
            SELECT format('a foreign key referencing it ("%s" of %s)', conname, conrelid::regclass) INTO what
              FROM pg_constraint WHERE confrelid = part AND contype = 'f' AND conparentid = 0
             ORDER BY conname LIMIT 1;
            hint := 'Reference the table instead, or drop the foreign key for the migration.';
        END IF;
        IF what IS NULL THEN
            SELECT format('a %s depending on it (%s)', CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
                          v.oid::regclass) INTO what
              FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class
             WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = part AND v.oid <> part
             ORDER BY 1 LIMIT 1;
            hint := 'Define it on the table, or drop it for the migration and recreate it after the cutover.';
        END IF;
        IF what IS NULL AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                       AND d.refclassid = 'pg_class'::regclass AND d.refobjid = part) THEN
            what := 'a function with a SQL-standard body depending on it';
            hint := 'Recreate it after the cutover; bodies given as strings find tables by name and need nothing.';
        END IF;
        -- A publication naming the partition (review8 #13) would lose it.
        IF what IS NULL THEN
            SELECT format('its own membership in publication "%s"', x.pubname),
                   format('Publish the table itself instead (ALTER PUBLICATION %I DROP TABLE %s, ADD TABLE %s, with publish_via_partition_root = true).',
                          x.pubname, part, rel) INTO what, hint
              FROM pg_publication_rel r JOIN pg_publication x ON x.oid = r.prpubid WHERE r.prrelid = part
             ORDER BY x.pubname LIMIT 1;
        END IF;
        -- pg_steward's own rules and checks on the partition alone.
        IF what IS NULL THEN
            SELECT format('its own %s rule on column "%s"', CASE r.kind WHEN 'state' THEN 'state machine' ELSE r.kind END,
                          r.attname),
                   CASE r.kind WHEN 'state' THEN format('Attach it to the table instead, or remove it: steward.detach_state_machine(%L, %L).',
                                                        part::text, r.attname)
                               ELSE format('Declare it on the table instead, or remove it: steward.untrack(%L, %L).',
                                           part::text, r.attname) END
              INTO what, hint
              FROM steward.column_rules r WHERE r.relid = part ORDER BY r.attname LIMIT 1;
        END IF;
        IF what IS NULL THEN
            SELECT format('its own state check for state "%s"', c.state),
                   format('Set it on the table instead, or remove it: steward.set_state_check(%L, %L, NULL).',
                          part::text, c.state)
              INTO what, hint
              FROM steward.state_checks c WHERE c.relid = part ORDER BY c.state LIMIT 1;
        END IF;
        IF what IS NOT NULL THEN
            RAISE EXCEPTION 'partition "%" of relation "%" has %: a relayout cannot carry it to the new partitions',
                    steward._relation_name(part), steward._relation_name(rel), what
                USING ERRCODE = 'feature_not_supported', HINT = hint;
        END IF;
        lost := lost || steward._relayout_partition_losses(rel, part);
    END LOOP;
    IF cardinality(lost) > 0 THEN
        PERFORM steward._report('notice',
                format('the new layout of relation "%s" will not have what single partitions have on their own: %s', steward._relation_name(rel), array_to_string(lost, ', ')),
                hint => 'Create them on the table now, or on its new partitions after the cleanup, if they are still needed.');
    END IF;
END
$$;

-- What partition part of rel has on its own that costs speed or a
-- setting if lost: its own plain indexes, its retention, its storage
-- parameters (unless all partitions have the same: _relayout_carry moves
-- those), a replica identity other than the table's and its extended
-- statistics (the cleanup drops them with the old partition).  Reported by
-- _relayout_check_partitions.
CREATE FUNCTION steward._relayout_partition_losses(rel regclass, part regclass)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN ARRAY(SELECT format('index %s', i.indexrelid::regclass) FROM pg_index i
                  WHERE i.indrelid = part
                    AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid)
                  ORDER BY 1)
        || ARRAY(SELECT format('retention of %s', part) FROM steward.table_retention t
                  WHERE t.relid = part)
        || ARRAY(SELECT format('storage parameters of %s (%s)', part, array_to_string(c.reloptions, ', '))
                   FROM pg_class c WHERE c.oid = part AND c.reloptions IS NOT NULL
                    AND steward._relayout_storage_options(rel) IS NULL)
        || ARRAY(SELECT format('replica identity %s of %s',
                               CASE c.relreplident WHEN 'f' THEN 'FULL' WHEN 'n' THEN 'NOTHING'
                                                   WHEN 'd' THEN 'DEFAULT' ELSE 'USING INDEX' END, part)
                   FROM pg_class c WHERE c.oid = part
                    AND c.relreplident <> (SELECT relreplident FROM pg_class WHERE oid = rel))
        || ARRAY(SELECT format('statistics object %s (make it again after the cleanup: refused on a layout until then)', steward._relayout_stat_name(x.oid))
                   FROM pg_statistic_ext x WHERE x.stxrelid = part ORDER BY 1);
END
$$;

-- Column n (from 1) of index idx as CREATE INDEX spells it: the column
-- (pg_get_indexdef), then, read from pg_index, its collation when not the
-- column's, its operator class when not the default, and its sort order
-- when not ASC NULLS LAST, so that an index built from these columns
-- orders and compares as idx did (relayout50).  Names outside pg_catalog
-- are schema-qualified.
CREATE FUNCTION steward._relayout_index_column(idx oid, n int)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_get_indexdef(idx, n, true)
        || CASE WHEN i.indcollation[n - 1] <> 0 AND i.indcollation[n - 1] IS DISTINCT FROM a.attcollation
                THEN ' COLLATE ' || (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN '' ELSE quote_ident(cn.nspname) || '.' END
                                            || quote_ident(co.collname)
                                       FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                                      WHERE co.oid = i.indcollation[n - 1])
                ELSE '' END
        || (SELECT CASE WHEN oc.opcdefault THEN ''
                        ELSE ' ' || CASE WHEN on_.nspname = 'pg_catalog' THEN '' ELSE quote_ident(on_.nspname) || '.' END
                                 || quote_ident(oc.opcname) END
              FROM pg_opclass oc JOIN pg_namespace on_ ON on_.oid = oc.opcnamespace
             WHERE oc.oid = i.indclass[n - 1])
        || CASE WHEN i.indoption[n - 1] & 1 <> 0      -- INDOPTION_DESC
                THEN ' DESC' || CASE WHEN i.indoption[n - 1] & 2 = 0 THEN ' NULLS LAST' ELSE '' END
                WHEN i.indoption[n - 1] & 2 <> 0      -- INDOPTION_NULLS_FIRST
                THEN ' NULLS FIRST'
                ELSE '' END
      FROM pg_index i
      LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[n - 1] AND i.indkey[n - 1] <> 0
     WHERE i.indexrelid = idx
$$;

-- A count and its noun as a message prints them: "1 row", "2 rows"
-- (relayout51).  PL/pgSQL has no errmsg_plural; the messages are English
-- only, as every message of the SQL sources.
CREATE FUNCTION steward._relayout_count(n bigint, one text, many text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT n || ' ' || CASE WHEN n = 1 THEN one ELSE many END
$$;

-- The definition of index idx as pg_get_indexdef prints it, without the
-- prefix "CREATE [UNIQUE ]INDEX name ON [ONLY ]schema.table USING ": what
-- two indexes of two layouts of one table share when they are twins.  The
-- prefix is rebuilt from the catalog and cut by its length, not matched by
-- a pattern, since a quoted name, a predicate or an expression may itself
-- contain " USING " (small53).  NULL for an OID that is no index.
CREATE FUNCTION steward._relayout_index_body(idx oid)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN starts_with(rest, tbl) THEN substr(rest, length(tbl) + 1)
                ELSE substr(rest, length('ONLY ' || tbl) + 1) END
      FROM (SELECT substr(pg_get_indexdef(i.indexrelid),
                          length(format('CREATE %sINDEX %s ON ', CASE WHEN i.indisunique THEN 'UNIQUE ' END,
                                        quote_ident(ic.relname))) + 1) AS rest,
                   format('%s.%s USING ', quote_ident(n.nspname), quote_ident(tc.relname)) AS tbl
              FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                   JOIN pg_class tc ON tc.oid = i.indrelid JOIN pg_namespace n ON n.oid = tc.relnamespace
             WHERE i.indexrelid = idx) x
$$;

-- Columns as a message names them: one bare, several in parentheses.
CREATE FUNCTION steward._relayout_column_list(cols text[])
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN cardinality(cols) = 1 THEN quote_ident(cols[1])
                ELSE '(' || (SELECT string_agg(quote_ident(k), ', ' ORDER BY o)
                               FROM unnest(cols) WITH ORDINALITY u(k, o)) || ')' END
$$;

-- The DETAIL of a unique key (key: its key columns and expressions as
-- CREATE INDEX spells them, pg_get_indexdef) that lacks the partition key
-- columns missing: widening it to include them weakens it, which an
-- experienced DBA must be told plainly (relayout50).
CREATE FUNCTION steward._relayout_widen_key_detail(key text[], missing text[])
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('PostgreSQL 15 enforces a unique key of a partitioned table only when it includes every partition key column. '
                  'Widened to (%s), the key is weaker: %s alone is no longer unique, and two rows may have the same %s if their %s differs.',
                  array_to_string(key || ARRAY(SELECT quote_ident(m) FROM unnest(missing) WITH ORDINALITY u(m, o) ORDER BY o), ', '),
                  k.list, k.list, steward._relayout_column_list(missing))
      FROM (SELECT CASE WHEN cardinality(key) = 1 THEN key[1] ELSE '(' || array_to_string(key, ', ') || ')' END AS list) k
$$;

-- The HINT of a unique key (primary key, unique constraint or unique
-- index idx of rel) that lacks the partition key columns missing: the
-- statements that widen it without blocking writes while the new index
-- builds (built CONCURRENTLY, then swapped in under a short ACCESS
-- EXCLUSIVE lock), if its columns need not stay unique by themselves (the
-- DETAIL says the widening weakens it); else the ways to keep them unique.
-- The new index is idx with the missing columns appended to its key and
-- nothing else changed, so that it means what idx meant (relayout51):
-- each key column keeps its collation, operator class and sort order
-- (_relayout_index_column), an expression is kept as pg_get_indexdef
-- gives it, and so are the access method, the INCLUDE columns (less a
-- missing column, which moves into the key), NULLS NOT DISTINCT, the
-- storage parameters, the tablespace and the predicate.  PostgreSQL 15
-- takes such an index on a partitioned table (expressions and a predicate
-- included) as long as each partition key column is a plain key column.
-- The new index's name is free and fits in 63 bytes
-- (_migration_free_name).  Foreign keys referencing the key depend on its
-- index: they are named, to drop first and add again after.
CREATE FUNCTION steward._relayout_widen_key_hint(rel regclass, idx oid, missing text[])
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    con record;
    ix record;
    old_name name := (SELECT relname FROM pg_class WHERE oid = idx);
    nsp oid := (SELECT relnamespace FROM pg_class WHERE oid = idx);
    schema_ name := (SELECT nspname FROM pg_namespace WHERE oid = nsp);
    new_name text := steward._migration_free_name(rel, steward._migration_name_prefix(old_name, 59) || '_new');
    n_key int := (SELECT indnkeyatts FROM pg_index WHERE indexrelid = idx);
    -- Plain key columns by name (the partition key can use only those),
    -- less one named with another collation or operator class.
    key_cols text[] := ARRAY(SELECT a.attname::text
                               FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, o), pg_attribute a
                              WHERE i.indexrelid = idx AND a.attrelid = rel AND a.attnum = k.attnum
                                AND k.o <= i.indnkeyatts AND NOT a.attname::text = ANY (missing) ORDER BY k.o);
    -- Every key column and expression as CREATE INDEX spells it; a missing
    -- column the key has with another collation or operator class than the
    -- partition key's with them, else widened it would read "(code, code)".
    key_spelled text[] := ARRAY(SELECT CASE WHEN a.attname::text = ANY (missing) THEN steward._relayout_index_column(idx, n)
                                            ELSE pg_get_indexdef(idx, n, true) END
                                  FROM generate_series(1, n_key) n
                                  JOIN pg_index i ON i.indexrelid = idx
                                  LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[n - 1]
                                                          AND i.indkey[n - 1] <> 0
                                 ORDER BY n);
    key_list text := CASE WHEN n_key = 1 THEN key_spelled[1] ELSE '(' || array_to_string(key_spelled, ', ') || ')' END;
    col_list text := array_to_string(key_spelled || ARRAY(SELECT quote_ident(m) FROM unnest(missing) WITH ORDINALITY u(m, o)
                                                           ORDER BY o), ', ');
    col_specs text := (SELECT string_agg(s, ', ' ORDER BY o)
                         FROM (SELECT steward._relayout_index_column(idx, n) AS s, n AS o
                                 FROM generate_series(1, n_key) n
                               UNION ALL
                               SELECT quote_ident(k), n_key + o FROM unnest(missing) WITH ORDINALITY u(k, o)) x);
    stmts text;
    fks text;
BEGIN
    SELECT x.conname, x.contype INTO con FROM pg_constraint x
     WHERE x.conindid = idx AND x.conrelid = rel AND x.contype IN ('p', 'u');
    SELECT CASE WHEN am.amname <> 'btree' THEN format(' USING %I', am.amname) ELSE '' END AS using_,
           coalesce(' INCLUDE (' || (SELECT string_agg(pg_get_indexdef(idx, n, true), ', ' ORDER BY n)
                                       FROM generate_series(n_key + 1, i.indnatts) n
                                      WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a
                                                         WHERE a.attrelid = rel AND a.attnum = i.indkey[n - 1]
                                                           AND a.attname::text = ANY (missing))) || ')', '') AS include_,
           CASE WHEN i.indnullsnotdistinct THEN ' NULLS NOT DISTINCT' ELSE '' END AS nulls_,
           coalesce(' WITH (' || array_to_string(c.reloptions, ', ') || ')', '') AS with_,
           coalesce(' TABLESPACE ' || (SELECT quote_ident(spcname) FROM pg_tablespace WHERE oid = c.reltablespace), '') AS space_,
           coalesce(' WHERE ' || pg_get_expr(i.indpred, i.indrelid), '') AS where_
      INTO ix
      FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am am ON am.oid = c.relam
     WHERE i.indexrelid = idx;
    stmts := format('CREATE UNIQUE INDEX CONCURRENTLY %I ON %s%s (%s)%s%s%s%s%s; ', new_name, rel, ix.using_, col_specs,
                    ix.include_, ix.nulls_, ix.with_, ix.space_, ix.where_)
          || CASE WHEN con.conname IS NOT NULL
                  THEN format('ALTER TABLE %s DROP CONSTRAINT %I, ADD CONSTRAINT %I %s USING INDEX %I;',
                              rel, con.conname, con.conname,
                              CASE con.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, new_name)
                  ELSE format('DROP INDEX CONCURRENTLY %I.%I; ALTER INDEX %I.%I RENAME TO %I;',
                              schema_, old_name, schema_, new_name, old_name) END;
    SELECT string_agg(format('%I on %s', f.conname, f.conrelid::regclass), ', ' ORDER BY f.conrelid::regclass::text, f.conname)
      INTO fks FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = idx;
    RETURN format('If %s need not be unique by itself, make the key (%s) first: %s', key_list, col_list, stmts)
        || CASE WHEN fks IS NOT NULL
                THEN format(' The foreign keys referencing it (%s) depend on its index: drop them first and add them again after, referencing (%s).',
                            fks, col_list) ELSE '' END
        || format(' To keep %s unique: %skeep it unique in an unpartitioned table of its own, '
                  'written in the same transaction (a lookup table, see "Unique keys and the partition key" in docs/relayout.md).',
                  key_list,
                  CASE WHEN cardinality(key_cols) > 0
                       THEN format('partition by columns of the key (%s), or ',
                                   (SELECT string_agg(quote_ident(k), ', ' ORDER BY o) FROM unnest(key_cols) WITH ORDINALITY u(k, o)))
                       ELSE '' END);
END
$$;

-- A partitioned table's unique keys must include the partition key: each
-- partition key column (keycols, partitioned by strategy) as a key column
-- of every unique index of rel with the column's collation and the
-- equality operator the partition key gets (_relayout_key_eqop), as
-- DefineIndex demands.  Naming the column is not enough: a unique index on
-- (code COLLATE "POSIX") or with another operator class makes rows unique
-- by another equality than the one that routes them, and core refuses it on
-- the internal new layout (0A000, "lacks column") after the checks passed.
-- Raises 42P16 naming the key, with the statements that widen it; 42704
-- for a key column whose type has no default class for the strategy.
CREATE FUNCTION steward._relayout_check_unique_keys(rel regclass, keycols text[], strategy text, what text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    missing text[];
    other_eq text[];
    kc text;
    typ regtype;
BEGIN
    -- A type without a default class of the strategy's method has no
    -- partition key equality to compare with: say so (core would, from
    -- the new layout, with a HINT to name a class, which partition_by
    -- does not take), rather than call every unique key wrong.
    FOREACH kc IN ARRAY keycols LOOP
        typ := (SELECT atttypid FROM pg_attribute WHERE attrelid = rel AND attname = kc);
        IF steward._relayout_key_eqop(typ, strategy) IS NULL THEN
            RAISE EXCEPTION 'data type % of partition key column "%" has no default operator class for access method "%" (%)',
                    typ, kc, CASE strategy WHEN 'hash' THEN 'hash' ELSE 'btree' END, what
                USING ERRCODE = 'undefined_object',
                      HINT = 'Partition by another column, or with another strategy: HASH needs a default hash operator class, RANGE and LIST a default btree one.';
        END IF;
    END LOOP;
    FOR c IN SELECT i.indexrelid, ic.relname, i.indisprimary,      -- spelled: key columns and expressions
                    ARRAY(SELECT pg_get_indexdef(i.indexrelid, n, true) FROM generate_series(1, i.indnkeyatts) n ORDER BY n) AS spelled,
                    ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, o)
                            JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = k.attnum
                           WHERE k.o <= i.indnkeyatts ORDER BY k.o) AS cols,  -- key columns, not INCLUDE ones
                    -- the key columns that can carry a partition key column:
                    -- its collation and its partition key's equality
                    ARRAY(SELECT a.attname::text
                            FROM unnest(i.indkey::int2[], i.indcollation::oid[], i.indclass::oid[]) WITH ORDINALITY k(attnum, coll, opc, o)
                            JOIN pg_attribute a ON a.attrelid = rel AND a.attnum = k.attnum
                           WHERE k.o <= i.indnkeyatts AND k.coll = a.attcollation
                             AND (SELECT ao.amopopr FROM pg_opclass oc JOIN pg_amop ao
                                      ON ao.amopfamily = oc.opcfamily AND ao.amoplefttype = oc.opcintype
                                     AND ao.amoprighttype = oc.opcintype AND ao.amopstrategy = 3   -- btree's =
                                   WHERE oc.oid = k.opc)
                                 = steward._relayout_key_eqop(a.atttypid, strategy)) AS same
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = rel AND i.indisunique ORDER BY i.indisprimary DESC, ic.relname LOOP
        missing := ARRAY(SELECT k FROM unnest(keycols) k WHERE NOT k = ANY (c.same));
        IF cardinality(missing) > 0 THEN
            other_eq := ARRAY(SELECT k FROM unnest(missing) k WHERE k = ANY (c.cols));
            RAISE EXCEPTION '% of relation "%" does not include the partition key column "%"% (%)',
                    CASE WHEN c.indisprimary THEN 'the primary key' ELSE format('unique index "%s"', c.relname) END,
                    steward._relation_name(rel), missing[1],
                    CASE WHEN missing[1] = ANY (other_eq) THEN ' with its collation and operator class' ELSE '' END, what
                USING ERRCODE = 'invalid_table_definition',
                      DETAIL = CASE WHEN cardinality(other_eq) = 0 THEN steward._relayout_widen_key_detail(c.spelled, missing)
                               ELSE format('PostgreSQL 15 enforces a unique key of a partitioned table only when it includes every partition key column '
                                           'with the collation and equality of the partition key, which are the column''s collation and its type''s '
                                           'default operator class. The key (%s) has %s with another: rows it keeps apart are not those the partition key tells apart.',
                                           (SELECT string_agg(steward._relayout_index_column(c.indexrelid, n), ', ' ORDER BY n)
                                              FROM generate_series(1, cardinality(c.spelled)) n),
                                           steward._relayout_column_list(other_eq)) END,
                      HINT = steward._relayout_widen_key_hint(rel, c.indexrelid, missing);
        END IF;
    END LOOP;
END
$$;

-- Checks on the table a relayout changes, before anything changes.
CREATE FUNCTION steward._relayout_check(rel regclass, keycols text[], strategy text, what text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    pk text[];
    other text;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = rel) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table (%)', steward._relation_name(rel), what USING ERRCODE = 'wrong_object_type';
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
    IF (SELECT relispartition FROM pg_class WHERE oid = rel) THEN
        RAISE EXCEPTION 'relation "%" is a partition (%)', steward._relation_name(rel), what
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Re-layout the partitioned table it belongs to.';
    END IF;
    -- Plain inheritance: the new layout (partitioned) can join no hierarchy.
    other := steward._migration_inheritance(rel);
    IF other IS NOT NULL AND (SELECT relkind FROM pg_class WHERE oid = rel) = 'r' THEN
        RAISE EXCEPTION 'cannot re-layout relation "%": % (%)', steward._relation_name(rel), other, what
            USING ERRCODE = 'feature_not_supported', HINT = 'Detach the tables first (ALTER TABLE ... NO INHERIT).';
    END IF;
    SELECT array_agg(a.attname::text ORDER BY k.ord) INTO pk
      FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord), pg_attribute a
     WHERE i.indrelid = rel AND i.indisprimary AND a.attrelid = rel AND a.attnum = k.attnum;
    IF pk IS NULL THEN
        RAISE EXCEPTION 'relation "%" has no primary key (%)', steward._relation_name(rel), what
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Both layouts are written keyed by the primary key, and the backfill copies rows in its order.',
                  HINT = 'Add a primary key first.';
    END IF;
    FOREACH other IN ARRAY keycols LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = rel AND attname = other
                                                    AND attnum > 0 AND NOT attisdropped) THEN
            RAISE EXCEPTION 'column "%" of relation "%" does not exist (%)', other, steward._relation_name(rel), what
                USING ERRCODE = 'undefined_column';
        END IF;
    END LOOP;
    PERFORM steward._relayout_check_unique_keys(rel, keycols, strategy, what);
    SELECT migration INTO other FROM steward.migration_tables t WHERE t.relid = rel AND t.active;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%" is being changed by migration "%"', steward._relation_name(rel), other
            USING ERRCODE = 'object_in_use',
                  HINT = 'One migration per table at a time: complete and clean up, or roll back, that one first.';
    END IF;
    -- What a partitioned table cannot have (review8 #14): refused here
    -- rather than by core naming the internal new layout.
    SELECT conname INTO other FROM pg_constraint
     WHERE conrelid = rel AND contype = 'f' AND NOT convalidated ORDER BY conname LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'foreign key "%" of relation "%" is NOT VALID, which a partitioned table cannot have (%)',
                other, steward._relation_name(rel), what
            USING ERRCODE = 'feature_not_supported',
                  DETAIL = 'PostgreSQL 15 adds a foreign key to a partitioned table only validated: the rows that break it would fail the backfill.',
                  HINT = format('Validate it first (ALTER TABLE %s VALIDATE CONSTRAINT %I), or drop it for the migration and add it again after the cutover.',
                                rel, other);
    END IF;
    SELECT conname INTO other FROM pg_constraint WHERE conrelid = rel AND contype = 'c' AND connoinherit ORDER BY conname LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'check constraint "%" of relation "%" is NO INHERIT, which a partitioned table cannot have (%)',
                other, steward._relation_name(rel), what
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Drop it and add it again without NO INHERIT first, or drop it for the migration and add it again after the cutover.';
    END IF;
    SELECT conname INTO other FROM pg_constraint WHERE conrelid = rel AND contype = 'x' LIMIT 1;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%" has exclusion constraint "%", which a partitioned table cannot have', steward._relation_name(rel), other
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Use a unique key that includes the partition key instead.';
    END IF;
    PERFORM steward._relayout_check_dependents(rel);
    PERFORM steward._relayout_check_carried(rel);
    PERFORM steward._relayout_check_partitions(rel);
    PERFORM steward._migration_refuse_temporary(rel);
END
$$;

-- The partitions of a relayout step: name, bound clause and tablespace of
-- each, built from the step's values (literals quoted with %L).
CREATE FUNCTION steward._relayout_partitions(body jsonb, strategy text, prefix text, what text)
RETURNS TABLE (name text, bound text, tablespace text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
    p jsonb;
    i integer := 0;
    spaces jsonb := coalesce(body->'tablespaces', '[]');
    k text;
BEGIN
    IF jsonb_typeof(spaces) <> 'array' THEN
        RAISE EXCEPTION '"tablespaces" of % must be an array of tablespace names', what
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF strategy = 'hash' THEN
        IF jsonb_typeof(body->'partitions') <> 'number' OR (body->>'partitions')::numeric
               NOT BETWEEN 1 AND 1024 OR (body->>'partitions')::numeric % 1 <> 0 THEN
            RAISE EXCEPTION '"partitions" of % must be a number of partitions from 1 to 1024', what
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        n := (body->>'partitions')::integer;
        FOR i IN 0 .. n - 1 LOOP
            name := format('%s_p%s', prefix, i);
            bound := format('FOR VALUES WITH (MODULUS %s, REMAINDER %s)', n, i);
            tablespace := CASE WHEN jsonb_array_length(spaces) > 0
                               THEN spaces->>(i % jsonb_array_length(spaces)) END;
            RETURN NEXT;
        END LOOP;
        RETURN;
    END IF;
    IF jsonb_typeof(body->'partitions') <> 'array' OR jsonb_array_length(body->'partitions') = 0 THEN
        RAISE EXCEPTION '"partitions" of % must be an array of partitions with their bounds', what
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = CASE WHEN strategy = 'range'
                              THEN 'For example: [{"from": [null], "to": [1000]}, {"from": [1000], "to": [null]}] (null: MINVALUE / MAXVALUE).'
                              ELSE 'For example: [{"in": ["eu", "uk"]}, {"in": ["us"]}, {"default": true}].' END;
    END IF;
    FOR p IN SELECT x FROM jsonb_array_elements(body->'partitions') x LOOP
        IF jsonb_typeof(p) <> 'object' THEN
            RAISE EXCEPTION 'partition % of % must be an object', i + 1, what
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        FOR k IN SELECT jsonb_object_keys(p) LOOP
            IF NOT k = ANY (CASE WHEN strategy = 'range' THEN ARRAY['name', 'from', 'to', 'default', 'tablespace']
                                 ELSE ARRAY['name', 'in', 'default', 'tablespace'] END) THEN
                RAISE EXCEPTION 'unknown key "%" in partition % of %', k, i + 1, what
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
        END LOOP;
        name := coalesce(p->>'name', format('%s_p%s', prefix, i));
        tablespace := coalesce(p->>'tablespace', CASE WHEN jsonb_array_length(spaces) > 0
                                                      THEN spaces->>(i % jsonb_array_length(spaces)) END);
        IF coalesce(p->>'default', 'false') = 'true' THEN
            bound := 'DEFAULT';
        ELSIF strategy = 'range' THEN
            IF jsonb_typeof(p->'from') IS DISTINCT FROM 'array' OR jsonb_typeof(p->'to') IS DISTINCT FROM 'array' THEN
                RAISE EXCEPTION 'partition % of % needs "from" and "to" arrays (or "default": true)', i + 1, what
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            bound := format('FOR VALUES FROM (%s) TO (%s)',
                (SELECT string_agg(CASE WHEN jsonb_typeof(v) = 'null' THEN 'MINVALUE' ELSE quote_literal(v #>> '{}') END, ', ' ORDER BY o)
                   FROM jsonb_array_elements(p->'from') WITH ORDINALITY e(v, o)),
                (SELECT string_agg(CASE WHEN jsonb_typeof(v) = 'null' THEN 'MAXVALUE' ELSE quote_literal(v #>> '{}') END, ', ' ORDER BY o)
                   FROM jsonb_array_elements(p->'to') WITH ORDINALITY e(v, o)));
        ELSE
            IF jsonb_typeof(p->'in') IS DISTINCT FROM 'array' OR jsonb_array_length(p->'in') = 0 THEN
                RAISE EXCEPTION 'partition % of % needs an "in" array of values (or "default": true)', i + 1, what
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            bound := format('FOR VALUES IN (%s)',
                (SELECT string_agg(CASE WHEN jsonb_typeof(v) = 'null' THEN 'NULL' ELSE quote_literal(v #>> '{}') END, ', ' ORDER BY o)
                   FROM jsonb_array_elements(p->'in') WITH ORDINALITY e(v, o)));
        END IF;
        i := i + 1;
        RETURN NEXT;
    END LOOP;
END
$$;

-- The keys of a relayout step: only those it takes, strings where a name
-- is expected, and the ones it needs.  Raises 22023.
CREATE FUNCTION steward._relayout_check_step(body jsonb)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    k text;
BEGIN
    FOR k IN SELECT jsonb_object_keys(body) LOOP
        IF NOT k = ANY (ARRAY['table', 'partition_by', 'partitions', 'tablespaces', 'partition_prefix']) THEN
            RAISE EXCEPTION 'unknown key "%" in step 1 (relayout)', k
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'relayout takes table, partition_by, partitions, tablespaces, partition_prefix.';
        END IF;
        IF k IN ('table', 'partition_by', 'partition_prefix') AND jsonb_typeof(body->k) <> 'string' THEN
            RAISE EXCEPTION '"%" of step 1 (relayout) must be a string', k
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
    FOREACH k IN ARRAY ARRAY['table', 'partition_by', 'partitions'] LOOP
        IF NOT body ? k OR body->>k = '' THEN
            RAISE EXCEPTION 'step 1 (relayout) needs "%"', k USING ERRCODE = 'invalid_parameter_value';
        END IF;
    END LOOP;
END
$$;

-- migration_start of a relayout migration (called by _migration_start):
-- checks, the record, then the new layout and the triggers under lock.
CREATE FUNCTION steward._relayout_start(mig text, steps jsonb, user_path text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    body jsonb := steward._relayout_step(steps);
    what text := 'step 1 (relayout)';
    rel regclass;
    k text;
    spec record;
    relname name;
    nsp name;
    -- The schema by OID: its name is not a regnamespace literal (quoting).
    nspoid oid;
    prefix text;
    parts jsonb;
BEGIN
    IF jsonb_array_length(steps) <> 1 THEN
        RAISE EXCEPTION 'a relayout must be the only step of its migration'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Change columns in a migration of their own, before or after the relayout.';
    END IF;
    IF jsonb_typeof(body) <> 'object' THEN
        RAISE EXCEPTION 'step 1 (relayout) must be an object' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM steward._relayout_check_step(body);
    rel := steward._migration_regclass(body->>'table', user_path);
    IF rel IS NULL THEN
        PERFORM steward._require_relation_schema(body->>'table', 'step 1');
        RAISE EXCEPTION 'relation "%" does not exist (step 1)', steward._relation_name_typed(body->>'table')
            USING ERRCODE = 'undefined_table';
    END IF;
    what := format('step 1 (relayout %s)', rel);
    spec := steward._relayout_partition_by(body->>'partition_by');
    PERFORM steward._relayout_check(rel, spec.columns, spec.strategy, what);
    SELECT c.relname, n.nspname, n.oid INTO relname, nsp, nspoid
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = rel;
    prefix := coalesce(body->>'partition_prefix', relname);
    SELECT coalesce(jsonb_agg(to_jsonb(p)), '[]') INTO parts
      FROM steward._relayout_partitions(body, spec.strategy, prefix, what) p;
    -- Without a prefix, names default to the table's; a table partitioned
    -- already holds those, so the first of <table>_v2, _v3, ... whose
    -- names are all free is taken instead.
    IF body->>'partition_prefix' IS NULL THEN
        FOR i IN 2..99 LOOP
            EXIT WHEN NOT EXISTS (SELECT 1 FROM jsonb_array_elements(parts) x, pg_class c
                                   WHERE c.relname = x->>'name' AND c.relnamespace = nspoid);
            prefix := left(relname, 50) || '_v' || i;
            SELECT coalesce(jsonb_agg(to_jsonb(p)), '[]') INTO parts
              FROM steward._relayout_partitions(body, spec.strategy, prefix, what) p;
        END LOOP;
    END IF;
    -- Every name the migration will use must be free.
    FOR k IN SELECT x->>'name' FROM jsonb_array_elements(parts) x
             UNION ALL SELECT steward._relayout_layout_name(relname, rel, 'new')
             UNION ALL SELECT steward._relayout_layout_name(relname, rel, 'old') LOOP
        IF octet_length(k) > 63 THEN
            RAISE EXCEPTION 'relation name "%" is longer than 63 bytes (%)', k, what
                USING ERRCODE = 'name_too_long',
                      HINT = 'Name the partitions with a shorter "partition_prefix" or "name".';
        END IF;
        IF EXISTS (SELECT 1 FROM pg_class c WHERE c.relname = k AND c.relnamespace = nspoid) THEN
            RAISE EXCEPTION 'relation "%.%" already exists (%)', nsp, k, what
                USING ERRCODE = 'duplicate_table',
                      HINT = CASE WHEN k IN (steward._relayout_layout_name(relname, rel, 'new'),
                                             steward._relayout_layout_name(relname, rel, 'old'))
                                  THEN format('The relayout names the table''s other layout %I: rename or drop the relation holding that name first.', k)
                                  ELSE 'Name the partitions with "partition_prefix" or "name".' END;
        END IF;
    END LOOP;
    IF (SELECT count(DISTINCT x->>'name') FROM jsonb_array_elements(parts) x) <> jsonb_array_length(parts) THEN
        RAISE EXCEPTION 'two partitions of % have the same name', what USING ERRCODE = 'duplicate_table';
    END IF;
    FOR k IN SELECT DISTINCT x->>'tablespace' FROM jsonb_array_elements(parts) x WHERE x->>'tablespace' IS NOT NULL LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_tablespace WHERE spcname = k) THEN
            RAISE EXCEPTION 'tablespace "%" does not exist (%)', k, what USING ERRCODE = 'undefined_object';
        END IF;
    END LOOP;

    -- The new partitions are pg_steward's (review10 F13): said when rows
    -- of the table are stored by another access method now.
    SELECT string_agg(DISTINCT a.amname, ', ') INTO k
      FROM steward._relayout_tree(rel) x JOIN pg_class c ON c.oid = x::oid JOIN pg_am a ON a.oid = c.relam
     WHERE c.relkind = 'r' AND a.amname <> 'steward';
    IF k IS NOT NULL THEN
        PERFORM steward._report('notice',
                format('relayout of relation "%s" moves its rows from access method "%s" to partitions using access method "steward"', steward._relation_name(rel), k),
                detail => 'After the cutover the table is pg_steward''s: DROP EXTENSION refuses it until steward.release() gives it back to heap.');
    END IF;

    PERFORM steward._migration_create(mig, jsonb_build_object(
        'steps', steps, 'started_by', current_user, 'tables', jsonb_build_array(rel::oid),
        'table_rows', jsonb_build_array(jsonb_build_object(
            'migration', mig, 'relid', rel::oid, 'ord', 1, 'table_name', rel::text,
            'relname', relname) || steward._migration_key_of(rel)),
        'column_rows', '[]'::jsonb));
    -- SHARE ROW EXCLUSIVE (what CREATE TRIGGER takes): reads go on.
    PERFORM steward._migration_locked(mig, '_relayout_expand', 'SHARE ROW EXCLUSIVE',
        jsonb_build_object('strategy', spec.strategy, 'columns', to_jsonb(spec.columns),
                           'partitions', parts));
    PERFORM steward._migration_record('update', mig, jsonb_build_object(
        'phase', 'pending_backfill', 'expanded_at', clock_timestamp()));
END
$$;

-- A LIST or RANGE layout without a default partition must have a place
-- for every row the table holds: else the backfill, and every write the
-- apply trigger copies, would fail with 23514 while the application runs.
-- Checked at start (one scan, as the owner: the partition bounds compare
-- with the key type's operators), so nothing has begun when it is refused.
-- Rows written later that fit no partition fail their writer, as they
-- would after the cutover.
CREATE FUNCTION steward._relayout_check_coverage(old_rel regclass, newrel regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fits text;
    res text[];
BEGIN
    IF EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = newrel AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT')
       OR (SELECT partstrat FROM pg_partitioned_table WHERE partrelid = newrel) = 'h' THEN
        RETURN;
    END IF;
    -- The partitions' own constraints, as PostgreSQL deparses them (column
    -- names only, which the old layout shares).
    SELECT string_agg('(' || pg_get_partition_constraintdef(i.inhrelid) || ')', ' OR ')
      INTO fits FROM pg_inherits i WHERE i.inhparent = newrel;
    res := steward._migration_exec(old_rel, format(
        'SELECT count(*) FROM %s WHERE NOT coalesce(%s, false)', old_rel, coalesce(fits, 'false')));
    IF res[1]::bigint > 0 THEN
        RAISE EXCEPTION 'the partitions of the new layout of % have no place for % of its rows', old_rel, res[1]
            USING ERRCODE = 'check_violation',
                  DETAIL = CASE WHEN res[1]::bigint = 1 THEN 'Its partition key value is outside every bound given in "partitions".'
                                ELSE 'Their partition key values are outside every bound given in "partitions".' END,
                  HINT = 'Add partitions that cover them, or a default partition: {"default": true}.';
    END IF;
END
$$;

-- NOT VALID checks of the table (review8 #14).  LIKE copies a CHECK
-- constraint validated, and a NOT VALID one still checks every row
-- written, so the rows the old layout holds that break it would fail the
-- backfill (and their updates the apply): refused here with their count
-- (23514, one scan as the owner, under start's lock, so no write slips
-- between).  Without such rows the new layout gets the constraint NOT
-- VALID as well, as the table had it.
CREATE FUNCTION steward._relayout_not_valid_checks(old_rel regclass, newrel regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    res text[];
BEGIN
    FOR c IN SELECT x.conname, pg_get_expr(x.conbin, x.conrelid) AS expr FROM pg_constraint x
              WHERE x.conrelid = old_rel AND x.contype = 'c' AND NOT x.convalidated ORDER BY x.conname LOOP
        res := steward._migration_exec(old_rel, format('SELECT count(*) FROM %s WHERE NOT coalesce(%s, true)',
                                                       old_rel, c.expr));
        IF res[1]::bigint > 0 THEN
            RAISE EXCEPTION 'NOT VALID check constraint "%" of relation "%" does not hold for % of its rows',
                    c.conname, steward._relation_name(old_rel), res[1]
                USING ERRCODE = 'check_violation',
                      DETAIL = 'A constraint checks every row written to the new layout, so the backfill would fail on them.',
                      HINT = format('Correct or delete those rows (WHERE NOT (%s)) and validate it (ALTER TABLE %s VALIDATE CONSTRAINT %I), or drop it for the migration.',
                                    c.expr, old_rel, c.conname);
        END IF;
        PERFORM steward._migration_exec(old_rel, format('ALTER TABLE %s DROP CONSTRAINT %I', newrel, c.conname));
        PERFORM steward._migration_exec(old_rel, format('ALTER TABLE %s ADD CONSTRAINT %I CHECK (%s) NOT VALID',
                                                        newrel, c.conname, c.expr));
    END LOOP;
END
$$;

-- (Re)create the apply trigger on src that writes tgt.
CREATE FUNCTION steward._relayout_set_trigger(src regclass, tgt regclass, keys name[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s record := steward._relayout_apply_sql(src, tgt, keys);
BEGIN
    IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = src AND tgname = 'zz_steward_relayout') THEN
        PERFORM steward._migration_exec(src, format('DROP TRIGGER zz_steward_relayout ON %s', src));
    END IF;
    PERFORM steward._migration_exec(src, format(
        'CREATE TRIGGER zz_steward_relayout AFTER INSERT OR UPDATE OR DELETE ON %s '
        'FOR EACH ROW EXECUTE FUNCTION steward._relayout_trigger(%L, %L, %L, %L)', src, s.ins, s.upd, s.del,
        tgt::text));
    -- ALWAYS: a logical-replication subscriber's apply worker writes under
    -- session_replication_role = replica, and its writes must reach both
    -- layouts too (recheck8 N4).  Recurses to the partitions; partitions
    -- created later clone it as it is.
    PERFORM steward._migration_exec(src, format('ALTER TABLE %s ENABLE ALWAYS TRIGGER zz_steward_relayout', src));
END
$$;

-- TRUNCATE fires no row trigger: refused on both layouts while a relayout
-- keeps them equal.  The HINT names the table that carries the relayout's
-- row trigger (a partition's guard is its own, but forget works from the
-- table).
CREATE FUNCTION steward._relayout_truncate_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION 'cannot truncate "%" while migration "%" re-layouts it', TG_TABLE_NAME, TG_ARGV[0]
        USING ERRCODE = 'object_in_use',
              HINT = format('Delete the rows instead, or finish or roll back the migration first '
                            '(steward.migration_forget(%L) if the table came without its record).',
                            coalesce((SELECT t.tgrelid::regclass::text
                                        FROM (SELECT TG_RELID::regclass, 0
                                              UNION ALL
                                              SELECT x.relid, x.depth FROM steward._partition_ancestors(TG_RELID) x) a(relid, lvl)
                                        JOIN pg_trigger t ON t.tgrelid = a.relid
                                       WHERE t.tgparentid = 0
                                         AND t.tgfoid = 'steward._relayout_trigger()'::regprocedure
                                       ORDER BY a.lvl DESC LIMIT 1),
                                     format('%I.%I', TG_TABLE_SCHEMA, TG_TABLE_NAME)));
END
$$;

-- A layout and its partitions at every level, parents first
-- (pg_partition_tree() of a table that is not partitioned is empty).
CREATE FUNCTION steward._relayout_tree(layout regclass)
RETURNS SETOF regclass
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT x.relid FROM (SELECT layout AS relid, 0 AS level
                         UNION SELECT y.relid, y.level FROM pg_partition_tree(layout) y) x
     ORDER BY x.level, x.relid::text
$$;

-- The TRUNCATE guard on layout and on each of its partitions (statement
-- triggers are not inherited: a partition's TRUNCATE fires its own only),
-- as the owner of each.  Partitions created later get it from the event
-- trigger steward_relayout_partitions.
CREATE FUNCTION steward._relayout_guard_truncate(mig text, layout regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT x FROM steward._relayout_tree(layout) x
                 WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = x
                                      AND g.tgname = 'zz_steward_relayout_truncate') LOOP
        PERFORM steward._migration_exec(part, format(
            'CREATE TRIGGER zz_steward_relayout_truncate BEFORE TRUNCATE ON %s '
            'FOR EACH STATEMENT EXECUTE FUNCTION steward._relayout_truncate_guard(%L)', part, mig));
        -- ALWAYS: a TRUNCATE a subscriber's apply worker replays (under
        -- session_replication_role = replica) would empty one layout only.
        PERFORM steward._migration_exec(part, format(
            'ALTER TABLE ONLY %s ENABLE ALWAYS TRIGGER zz_steward_relayout_truncate', part));
    END LOOP;
END
$$;

-- Refuses (2BP01) the cleanup or rollback of relayout mig that would drop
-- layout (its old one, or its new one) while a sequence is owned by a
-- column of it or of one of its partitions: such a sequence was made
-- around the guard (by a superuser with its event trigger disabled, or
-- in single-user mode), since the cutover moves the table's
-- own ones and the guard refuses OWNED BY such a column; DROP TABLE would
-- take it without a word (an AUTO dependency), its position lost.
CREATE FUNCTION steward._relayout_check_owned_sequences(mig text, layout regclass, action text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    seqs text;
BEGIN
    SELECT string_agg(format('%s (owned by column "%s" of %s)', d.objid::regclass, a.attname, d.refobjid::regclass),
                      ', ' ORDER BY d.objid::regclass::text) INTO seqs
      FROM pg_depend d JOIN pg_class sq ON sq.oid = d.objid AND sq.relkind = 'S'
      JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
       AND d.deptype = 'a' AND d.refobjsubid > 0
       AND d.refobjid IN (SELECT x FROM steward._relayout_tree(layout) x);
    IF seqs IS NOT NULL THEN
        RAISE EXCEPTION 'cannot % migration "%": sequences are owned by columns of its % layout "%": %',
                action, mig, CASE WHEN action = 'clean up' THEN 'old' ELSE 'new' END, steward._relation_name(layout), seqs
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = format('The %s drops that layout, and with it the sequences its columns own, their positions lost.',
                                  CASE WHEN action = 'clean up' THEN 'cleanup' ELSE 'rollback' END),
                  HINT = format('Make them owned by none (ALTER SEQUENCE ... OWNED BY NONE), then run SELECT steward.migration_%s(%L); again.',
                                CASE WHEN action = 'clean up' THEN 'cleanup' ELSE 'rollback' END, mig);
    END IF;
END
$$;

-- The guards and apply trigger off the layout that stays (cleanup,
-- rollback): the row trigger of a partitioned table goes with its
-- partitions' clones, the TRUNCATE guard is dropped table by table.
CREATE FUNCTION steward._relayout_unguard(layout regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part regclass;
BEGIN
    PERFORM steward._migration_exec(layout, format('DROP TRIGGER IF EXISTS zz_steward_relayout ON %s', layout));
    FOR part IN SELECT x FROM steward._relayout_tree(layout) x
                 WHERE EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = x
                                  AND g.tgname = 'zz_steward_relayout_truncate') LOOP
        PERFORM steward._migration_exec(part, format('DROP TRIGGER zz_steward_relayout_truncate ON %s', part));
    END LOOP;
END
$$;

-- A partition created (CREATE TABLE ... PARTITION OF, at any level) under
-- a layout of an active relayout gets the TRUNCATE guard: it is empty, and
-- the apply trigger (a row trigger, cloned onto it by PostgreSQL) keeps
-- the other layout written from then on.  SECURITY DEFINER to read the
-- catalog whoever owns the partition; the trigger is created as the
-- partition's owner.
CREATE FUNCTION steward._relayout_on_create_partition()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    IF to_regclass('steward.migration_tables') IS NULL
       OR NOT EXISTS (SELECT 1 FROM steward.migration_tables t WHERE t.active AND t.ord = 2) THEN
        RETURN;
    END IF;
    FOR c IN SELECT DISTINCT d.objid::regclass AS part, t.migration
               FROM pg_event_trigger_ddl_commands() d
               JOIN pg_class k ON k.oid = d.objid AND k.relispartition
               JOIN steward.migration_tables t ON t.active
                AND t.relid IN (SELECT a.relid FROM steward._partition_ancestors(d.objid) a)
               JOIN steward.migration_runs r ON r.name = t.migration AND steward._relayout_step(r.steps) IS NOT NULL
              WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.command_tag = 'CREATE TABLE' LOOP
        PERFORM steward._relayout_guard_truncate(c.migration, c.part);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION steward._relayout_on_create_partition() FROM PUBLIC;
CREATE EVENT TRIGGER steward_relayout_partitions ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE SCHEMA')
    EXECUTE FUNCTION steward._relayout_on_create_partition();
ALTER EVENT TRIGGER steward_relayout_partitions ENABLE ALWAYS;

-- DDL that would change one layout of a relayout, or one shape of a
-- column migration, only -- or leave the migration unable to finish --
-- refused while the migration runs (relayout.c: columns, constraints,
-- triggers, rules, policies, unique indexes, renames, SET SCHEMA,
-- INHERITS, ATTACH / DETACH PARTITION, DROP TABLE of a layout or of a
-- partition of one).
CREATE FUNCTION steward._relayout_guard_ddl()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'steward_relayout_guard_ddl'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._relayout_guard_ddl() FROM PUBLIC;
-- The tags: every keyword under which a statement may name a table (ALTER
-- INDEX tbl RENAME TO, ALTER VIEW tbl RENAME COLUMN, ALTER TYPE tbl
-- RENAME ATTRIBUTE act on the table), ALTER SCHEMA (RENAME renames
-- the layouts in it), CREATE [MATERIALIZED] VIEW (what it selects from;
-- OR REPLACE of a column migration's shape view), ALTER PUBLICATION,
-- DROP VIEW and DROP SCHEMA (a column migration's shape views and
-- schemas), CREATE PUBLICATION (FOR ALL TABLES, FOR TABLES IN SCHEMA of
-- a column migration's table), CREATE SCHEMA (its CREATE TABLE and CREATE
-- VIEW elements, which fire no event of their own); the C function judges
-- the relation the name resolves to, not the keyword.
CREATE EVENT TRIGGER steward_relayout_guard ON ddl_command_start
    WHEN TAG IN ('ALTER TABLE', 'DROP TABLE', 'DROP FOREIGN TABLE', 'CREATE TABLE', 'CREATE INDEX',
                 'CREATE TRIGGER', 'ALTER TRIGGER', 'DROP TRIGGER', 'CREATE RULE', 'CREATE POLICY',
                 'ALTER INDEX', 'ALTER VIEW', 'ALTER MATERIALIZED VIEW', 'ALTER SEQUENCE', 'ALTER TYPE',
                 'ALTER FOREIGN TABLE', 'CREATE FOREIGN TABLE', 'ALTER SCHEMA', 'DROP INDEX',
                 'CREATE VIEW', 'CREATE MATERIALIZED VIEW', 'ALTER PUBLICATION',
                 'DROP VIEW', 'DROP SCHEMA', 'CREATE PUBLICATION', 'CREATE SCHEMA')
    EXECUTE FUNCTION steward._relayout_guard_ddl();
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;

-- GRANT on tgt what src grants (its owner excepted), on the table and
-- column by column (review8 #8).
CREATE FUNCTION steward._relayout_grants(src regclass, tgt regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stmt text;
BEGIN
    FOR stmt IN SELECT format('GRANT %s ON %s TO %s%s', a.privilege_type, tgt,
                              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
                              CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                  FROM pg_class c, aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
                 WHERE c.oid = src AND a.grantee <> c.relowner
                UNION ALL
                SELECT format('GRANT %s (%I) ON %s TO %s%s', a.privilege_type, att.attname, tgt,
                              CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END,
                              CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END)
                  FROM pg_class c JOIN pg_attribute att ON att.attrelid = c.oid AND att.attnum > 0
                                                       AND NOT att.attisdropped,
                       aclexplode(att.attacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
                 WHERE c.oid = src AND a.grantee <> c.relowner LOOP
        PERFORM steward._migration_exec(src, stmt);
    END LOOP;
END
$$;

-- The kinds of a relayout's GENERATED ALWAYS identity columns: ALWAYS on
-- tbl, the layout that is the table, BY DEFAULT on other, the layout the
-- apply trigger writes.  An UPDATE may set an ALWAYS column only to
-- DEFAULT (ON CONFLICT ... DO UPDATE too), so the apply trigger's upsert
-- left such a column out and an UPDATE ... SET col = DEFAULT of the table
-- never reached the other layout (validate reported the row); nothing but
-- the apply trigger and the backfill writes that layout.  At start (tbl
-- the old layout, other the new one just made ALWAYS by LIKE), and at the
-- cutover and back (the layout that takes the table's name gets ALWAYS
-- back), for each column ALWAYS on one and BY DEFAULT or ALWAYS on the
-- other.  Both layouts are locked by the caller (ACCESS EXCLUSIVE at the
-- cutover; SET GENERATED takes it).  Called before the apply triggers
-- are (re)made: their upsert is written from other's kinds.
CREATE FUNCTION steward._relayout_identity_kinds(tbl regclass, other regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT a.attname, a.attidentity AS tbl_kind, b.attidentity AS other_kind
               FROM pg_attribute a
               JOIN pg_attribute b ON b.attrelid = other AND b.attname = a.attname AND NOT b.attisdropped
              WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
                AND 'a' IN (a.attidentity, b.attidentity) AND b.attidentity <> ''
              ORDER BY a.attnum LOOP
        IF c.tbl_kind <> 'a' THEN
            PERFORM steward._migration_exec(tbl, format('ALTER TABLE %s ALTER COLUMN %I SET GENERATED ALWAYS',
                                                        tbl, c.attname));
        END IF;
        IF c.other_kind <> 'd' THEN
            PERFORM steward._migration_exec(other, format('ALTER TABLE %s ALTER COLUMN %I SET GENERATED BY DEFAULT',
                                                          other, c.attname));
        END IF;
    END LOOP;
END
$$;

-- Expand (inside migration_start, the table locked): the new layout with
-- its partitions, the source's columns, defaults, constraints, indexes,
-- foreign keys, rules and grants; the apply triggers on both.  A GENERATED
-- ALWAYS identity column is BY DEFAULT on the new layout, which the apply
-- trigger writes, so that its upsert can carry an UPDATE ... SET col =
-- DEFAULT of the table; the cutover trades the kinds
-- (_relayout_identity_kinds, evolve11).
-- 55000 when a partition of the table is half detached (its DETACH
-- PARTITION ... CONCURRENTLY cancelled after the first phase, or still in
-- its second, waiting for older transactions: it holds no lock then): it
-- would be in neither layout (the apply trigger is not cloned onto it and
-- the backfill's snapshot leaves its rows out), yet it stays a partition
-- of the old layout, whose FINALIZE the migration's DDL guard refuses, and
-- the cleanup's DROP of the old layout dropped it with its rows (part2).
-- Checked last: the triggers hold SHARE ROW EXCLUSIVE on every partition
-- of the old layout, so no detach begins or ends below it meanwhile (a
-- waiting one ends once this transaction does).  The message says both:
-- it said only "did not finish", spoke of rules and named the FINALIZE,
-- while a racing DETACH went on to finish by itself (evolve11).  The
-- partitions are steward._pending_detaches' (the C walk down, which
-- reads each row's inhdetachpending with it; the old layout itself is
-- no partition: start refuses one), the words steward._half_detached_words'
-- (those of every other report of a half-detached partition, evolve12).
CREATE FUNCTION steward._relayout_expand(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    nsp text := (SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = t.old_rel);
    newname text := steward._relayout_layout_name(t.relname, t.old_rel, 'new');
    newrel regclass;
    layout regclass;
    p jsonb;
    c record;
    pend record;
BEGIN
    PERFORM steward._migration_exec(t.old_rel, format(
        'CREATE TABLE %s.%I (LIKE %s INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED '
        'INCLUDING IDENTITY INCLUDING INDEXES INCLUDING STATISTICS INCLUDING STORAGE '
        'INCLUDING COMMENTS INCLUDING COMPRESSION) PARTITION BY %s (%s)',
        nsp, newname, t.old_rel, upper(arg->>'strategy'),
        (SELECT string_agg(format('%I', x), ', ') FROM jsonb_array_elements_text(arg->'columns') x)));
    newrel := format('%s.%I', nsp, newname)::regclass;
    PERFORM steward._relayout_identity_kinds(t.old_rel, newrel);   -- see above
    FOR p IN SELECT x FROM jsonb_array_elements(arg->'partitions') x LOOP
        PERFORM steward._migration_exec(t.old_rel, format(
            'CREATE TABLE %s.%I PARTITION OF %s %s USING steward%s', nsp, p->>'name', newrel,
            p->>'bound', CASE WHEN p->>'tablespace' IS NOT NULL
                              THEN format(' TABLESPACE %I', p->>'tablespace') ELSE '' END));
    END LOOP;
    PERFORM steward._relayout_check_coverage(t.old_rel, newrel);
    PERFORM steward._relayout_not_valid_checks(t.old_rel, newrel);
    PERFORM steward._migration_record('relayout', mig, jsonb_build_object(
        'tables', jsonb_build_array(newrel::oid),
        'table_rows', jsonb_build_array(jsonb_build_object(
            'relid', newrel::oid, 'ord', 2, 'table_name', newrel::text, 'relname', newname,
            'key_columns', t.key_columns, 'key_types', t.key_types))));
    -- Foreign keys to other tables (the new layout is empty: no scan).
    FOR c IN SELECT x.conname, pg_get_constraintdef(x.oid) AS def FROM pg_constraint x
              WHERE x.conrelid = t.old_rel AND x.contype = 'f' AND x.conparentid = 0 ORDER BY x.conname LOOP
        PERFORM steward._migration_exec(t.old_rel, format('ALTER TABLE %s ADD CONSTRAINT %I %s',
                                                          newrel, c.conname, c.def));
    END LOOP;
    -- The same rules: versions, sequences, state machines.
    FOR c IN SELECT r.attname, r.kind, r.machine, r.changed_at FROM steward.column_rules r
              WHERE r.relid = t.old_rel ORDER BY r.attname LOOP
        IF c.kind = 'version' THEN
            PERFORM steward.track_versions(newrel, c.attname);
        ELSIF c.kind = 'sequence' THEN
            PERFORM steward.track_sequence(newrel, c.attname);
        ELSE
            PERFORM steward.attach_state_machine(newrel, c.attname, c.machine, c.changed_at);
        END IF;
    END LOOP;
    -- validate()'s state checks and the retention setting (capacity)
    -- follow the table too; their SQL names the table, which is the new
    -- layout after the cutover.
    FOR c IN SELECT s.state, s.check_sql FROM steward.state_checks s
              WHERE s.relid = t.old_rel ORDER BY s.state LOOP
        PERFORM steward.set_state_check(newrel, c.state, c.check_sql);
    END LOOP;
    IF EXISTS (SELECT 1 FROM steward.table_retention r WHERE r.relid = t.old_rel) THEN
        PERFORM steward.set_retention(newrel, (SELECT r.retention FROM steward.table_retention r
                                                WHERE r.relid = t.old_rel));
    END IF;
    PERFORM steward._relayout_grants(t.old_rel, newrel);
    IF obj_description(t.old_rel, 'pg_class') IS NOT NULL THEN
        PERFORM steward._migration_exec(t.old_rel, format('COMMENT ON TABLE %s IS %L', newrel,
                                                          obj_description(t.old_rel, 'pg_class')));
    END IF;
    PERFORM steward._relayout_set_trigger(t.old_rel, newrel, t.key_columns);
    PERFORM steward._relayout_set_trigger(newrel, t.old_rel, t.key_columns);
    FOREACH layout IN ARRAY ARRAY[t.old_rel, newrel] LOOP
        PERFORM steward._relayout_guard_truncate(mig, layout);
    END LOOP;
    -- A half-detached partition: checked last (see above).
    SELECT d.part, w.why, w.step INTO pend
      FROM steward._pending_detaches(t.old_rel) d,
           steward._half_detached_words(d.part, d.parent, true) w
     ORDER BY d.part::text
     LIMIT 1;
    IF pend.part IS NOT NULL THEN
        RAISE EXCEPTION 'cannot re-layout relation "%": its partition "%" is half detached',
                        steward._relation_name(t.old_rel), steward._relation_name(pend.part)
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = pend.why || '. The relayout would copy none of its rows, and its cleanup would drop them with the old layout.',
                  HINT = pend.step || ', then start the relayout again.';
    END IF;
END
$$;

--------------------------------------------------------------------------
-- backfill
--------------------------------------------------------------------------

-- The batch statement: the next rows of the old layout in key order that
-- the new one lacks, locked FOR NO KEY UPDATE (a concurrent DELETE or
-- UPDATE waits for the batch, so a deleted row is never copied back; rows
-- others hold -- and so their uncommitted upserts into the new layout --
-- are skipped and taken by a later pass: the batch never waits for a
-- writer that waits for it; foreign-key checks, FOR KEY SHARE, neither
-- wait for the batch nor make it skip a row), copied with ON CONFLICT DO NOTHING
-- (a row the apply trigger wrote meanwhile wins).  Returns rows taken,
-- rows inserted, last key.
CREATE FUNCTION steward._relayout_batch_sql(mig text, after boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    cols text;
    keys text;
    skeys text;
    nkeys text;
    keyvals text;
    desc_keys text;
    cond text;
BEGIN
    cols := (SELECT string_agg(format('%I', c), ', ' ORDER BY i)
               FROM unnest(steward._relayout_columns(t.old_rel)) WITH ORDINALITY u(c, i));
    SELECT string_agg(format('%I', k), ', ' ORDER BY i),
           string_agg(format('s.%I', k), ', ' ORDER BY i),
           string_agg(format('n.%I', k), ', ' ORDER BY i),
           string_agg(format('format(''%%s'', %I)', k), ', ' ORDER BY i),
           string_agg(format('%I DESC', k), ', ' ORDER BY i),
           string_agg(format('($1::text[])[%s]::%s', i, ty), ', ' ORDER BY i)
      INTO keys, skeys, nkeys, keyvals, desc_keys, cond
      FROM unnest(t.key_columns, t.key_types) WITH ORDINALITY u(k, ty, i);
    RETURN format(
        'WITH b AS (SELECT %1$s FROM %2$s s WHERE %3$s NOT EXISTS (SELECT 1 FROM %4$s n WHERE ROW(%5$s) = ROW(%6$s)) '
        '           ORDER BY %7$s LIMIT $2::integer FOR NO KEY UPDATE OF s SKIP LOCKED), '
        '     i AS (INSERT INTO %4$s (%1$s) OVERRIDING SYSTEM VALUE SELECT %1$s FROM b ON CONFLICT DO NOTHING RETURNING 1) '
        'SELECT (SELECT count(*) FROM b), (SELECT count(*) FROM i), (SELECT ARRAY[%8$s] FROM b ORDER BY %9$s LIMIT 1)',
        cols, t.old_rel,
        CASE WHEN after THEN format('ROW(%s) > ROW(%s) AND', skeys, cond) ELSE '' END,
        t.new_rel, nkeys, skeys, keys, keyvals, desc_keys);
END
$$;

-- One backfill batch (called by steward._run_batches), its progress and
-- checkpoint in the same transaction.
CREATE FUNCTION steward._relayout_batch(job jsonb, last_key text[], batch_size integer,
                                        retries integer, OUT moved bigint, OUT next_key text[])
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    res text[];
BEGIN
    res := steward._relayout_exec((job->>'relid')::oid::regclass,
                                  CASE WHEN last_key IS NULL THEN job->>'first' ELSE job->>'next' END,
                                  ARRAY[last_key::text, batch_size::text]);
    moved := res[1]::bigint;
    next_key := res[3]::text[];
    PERFORM steward._migration_record('update', job->>'name', jsonb_build_object(
        'add_rows', res[2]::bigint, 'add_batches', CASE WHEN moved > 0 THEN 1 ELSE 0 END,
        'add_retries', retries, 'last_batch_at', clock_timestamp(),
        'table', job->>'relid') ||
        CASE WHEN moved > 0 THEN jsonb_build_object('last_key', to_jsonb(next_key))
             ELSE '{}'::jsonb END);
END
$$;

-- Rows of the old layout the new one lacks (as the owner).
CREATE FUNCTION steward._relayout_missing(mig text)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
BEGIN
    RETURN (steward._migration_exec(t.old_rel, format(
        'SELECT count(*) FROM %s s WHERE NOT EXISTS (SELECT 1 FROM %s n WHERE ROW(%s) = ROW(%s))',
        t.old_rel, t.new_rel,
        (SELECT string_agg(format('n.%I', k), ', ' ORDER BY i) FROM unnest(t.key_columns) WITH ORDINALITY u(k, i)),
        (SELECT string_agg(format('s.%I', k), ', ' ORDER BY i) FROM unnest(t.key_columns) WITH ORDINALITY u(k, i)))))[1]::bigint;
END
$$;

-- Returns the batch size and the rows the new layout lacks (rows_left).
CREATE FUNCTION steward._relayout_backfill_begin(mig text, batch_size integer,
                                                 max_rows_per_sec integer,
                                                 OUT size integer, OUT rows_left bigint)
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r steward.migration_runs := steward._migration_get(mig);
BEGIN
    PERFORM steward._migration_require(r, ARRAY['pending_backfill', 'backfilled'], 'backfill');
    PERFORM steward._relayout_require_layouts(mig, 'backfill');
    PERFORM steward._backfill_check_sizes(batch_size, max_rows_per_sec);
    rows_left := steward._relayout_missing(mig);
    PERFORM steward._migration_record('update', mig,
        CASE WHEN r.phase = 'backfilled' THEN '{"phase": "pending_backfill"}'::jsonb ELSE '{}'::jsonb END ||
        jsonb_build_object(
            'backfill_started_at', coalesce(r.backfill_started_at, clock_timestamp()),
            'rows_total', r.rows_backfilled + rows_left,
            'backfill_pid', pg_backend_pid(), 'backfill_run_at', clock_timestamp(),
            'backfill_status', 'running', 'failed', false, 'error', NULL));
    size := coalesce(batch_size, (steward._migration_settings()).batch_size);
END
$$;

-- Backfilled when the new layout lacks no row.  When the batches copied
-- as many rows as it lacked at begin (rows_total) it lacks none, since
-- that set only shrinks: no count (a scan of the old layout; a re-run with
-- nothing left scanned it twice, readme37 B1).
CREATE FUNCTION steward._relayout_backfill_end(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r steward.migration_runs := steward._migration_get(mig);
    remaining bigint := CASE WHEN r.rows_backfilled >= r.rows_total THEN 0
                             ELSE steward._relayout_missing(mig) END;
BEGIN
    IF remaining > 0 THEN
        PERFORM steward._migration_record('update', mig, jsonb_build_object('backfill_status', 'finished'));
        PERFORM steward._report('warning',
                format('migration "%s": %s held by other transactions and %s not copied yet', mig,
                       steward._relayout_count(remaining, 'row was', 'rows were'),
                       CASE WHEN remaining = 1 THEN 'is' ELSE 'are' END),
                hint => 'Run steward.migration_backfill again.');
        RETURN;
    END IF;
    PERFORM steward._migration_record('update', mig, jsonb_build_object(
        'phase', 'backfilled', 'backfilled_at', clock_timestamp(), 'backfill_status', 'finished'));
END
$$;

-- The backfill of a relayout (called by steward.migration_backfill).
CREATE PROCEDURE steward._relayout_backfill(mig text, batch_size integer, max_rows_per_sec integer)
LANGUAGE plpgsql
-- No SET clause: a procedure with one may not COMMIT; every name below is
-- schema-qualified.
AS $$
DECLARE
    size pg_catalog.int4;
    rows_left pg_catalog.int8;
    t pg_catalog.record;
    resume pg_catalog.text[];
    label pg_catalog.text;
BEGIN
    SELECT b.size, b.rows_left INTO size, rows_left
      FROM steward._relayout_backfill_begin(mig, batch_size, max_rows_per_sec) b;
    CALL steward._commit();
    t := steward._relayout_tables(mig);
    SELECT x.last_key INTO resume FROM steward.migration_tables x
     WHERE x.migration OPERATOR(pg_catalog.=) mig AND x.ord OPERATOR(pg_catalog.=) 1;
    -- The governor job's label names the table schema-qualified whatever
    -- the caller's search_path (this procedure cannot pin one), as
    -- run_transition's and column backfills' do.
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) INTO label
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE c.oid OPERATOR(pg_catalog.=) t.old_rel;
    -- The job ends when it has copied the rows the new layout lacked at
    -- begin ("rows_left", steward._run_batches): the apply trigger writes every
    -- row written since to both layouts, so that set only shrinks; a
    -- re-run with nothing left reads no batch, and a run that copied them
    -- all reads no last pass from the first key (_relayout_backfill_end
    -- counts).
    CALL steward._run_batches('_relayout_batch', '_migration_batch_status',
        pg_catalog.jsonb_build_object('name', mig, 'relid', t.old_rel::pg_catalog.oid,
                                      'table', label, 'keyset', true, 'rows_left', rows_left,
                                      'first', steward._relayout_batch_sql(mig, false),
                                      'next', steward._relayout_batch_sql(mig, true)),
        size, max_rows_per_sec, resume);
    PERFORM steward._relayout_backfill_end(mig);
    CALL steward._commit();
END
$$;

--------------------------------------------------------------------------
-- validate
--------------------------------------------------------------------------

-- Both layouts in one statement (one snapshot; the apply trigger writes
-- both in the writer's transaction, so they must agree exactly): rows per
-- key range (16 buckets of a hash of the key, as steward.checksum_ranges),
-- keys only one side has, rows whose values differ, checksums per range.
CREATE FUNCTION steward._relayout_compare_sql(mig text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    keytext text;
    rowtext text;
BEGIN
    keytext := format('ARRAY[%s]::text', (SELECT string_agg(format('format(''%%s'', t.%I)', k), ', ' ORDER BY i)
                                          FROM unnest(t.key_columns) WITH ORDINALITY u(k, i)));
    rowtext := format('format(''%%s'', ROW(%s))',
                      (SELECT string_agg(format('t.%I', c), ', ' ORDER BY a.attnum)
                         FROM pg_attribute a, LATERAL (SELECT a.attname::text) x(c)
                        WHERE a.attrelid = t.old_rel AND a.attnum > 0 AND NOT a.attisdropped));
    RETURN format(
        'WITH o AS (SELECT %1$s AS k, hashtextextended(%2$s, 0) AS h FROM %3$s t), '
        '     n AS (SELECT %1$s AS k, hashtextextended(%2$s, 0) AS h FROM %4$s t), '
        '     j AS (SELECT (hashtextextended(coalesce(o.k, n.k), 0) %% 16 + 16) %% 16 AS b, '
        '                  coalesce(o.k, n.k) AS k, o.h AS oh, n.h AS nh '
        '             FROM o FULL JOIN n ON n.k = o.k), '
        '     g AS (SELECT b, count(oh) AS no, count(nh) AS nn, '
        '                  count(*) FILTER (WHERE nh IS NULL) AS only_old, '
        '                  count(*) FILTER (WHERE oh IS NULL) AS only_new, '
        '                  count(*) FILTER (WHERE oh <> nh) AS differ, '
        '                  sum(oh::numeric) AS so, sum(nh::numeric) AS sn, '
        '                  min(k) FILTER (WHERE oh IS NULL OR nh IS NULL OR oh <> nh) AS ex '
        '             FROM j GROUP BY b) '
        'SELECT coalesce(sum(no), 0), coalesce(sum(nn), 0), coalesce(sum(only_old), 0), '
        '       coalesce(sum(only_new), 0), coalesce(sum(differ), 0), count(*), '
        '       count(*) FILTER (WHERE so IS DISTINCT FROM sn), '
        '       string_agg(format(''range %%s: %%s old / %%s new %%s, %%s %%s, e.g. key %%s'', '
        '                         b, no, nn, CASE WHEN nn = 1 THEN ''row'' ELSE ''rows'' END, '
        '                         differ, CASE WHEN differ = 1 THEN ''differs'' ELSE ''differ'' END, ex), ''; '' ORDER BY b) '
        '         FILTER (WHERE so IS DISTINCT FROM sn) '
        '  FROM g',
        keytext, rowtext, t.old_rel, t.new_rel);
END
$$;

-- The key distribution over the new layout's partitions: rows and writes
-- (updates and deletes since the layout was created, from the statistics
-- collector: the backfill only inserts) per partition.
CREATE FUNCTION steward._relayout_distribution(mig text)
RETURNS TABLE (partition regclass, rows bigint, row_share double precision,
               writes bigint, writes_per_sec double precision, write_share double precision)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    counts jsonb;
    since timestamptz := (SELECT r.expanded_at FROM steward.migration_runs r WHERE r.name = mig);
BEGIN
    counts := (steward._migration_exec(t.new_rel, format(
        'SELECT coalesce(jsonb_object_agg(p, n), ''{}'') FROM (SELECT tableoid::oid::text AS p, count(*) AS n FROM %s GROUP BY 1) x',
        t.new_rel)))[1]::jsonb;
    RETURN QUERY
    WITH p AS (SELECT i.inhrelid AS relid,
                      coalesce((counts->>i.inhrelid::text)::bigint, 0) AS n,
                      coalesce(s.n_tup_upd + s.n_tup_del, 0) AS w
                 FROM pg_inherits i LEFT JOIN pg_stat_all_tables s ON s.relid = i.inhrelid
                WHERE i.inhparent = t.new_rel)
    SELECT p.relid::regclass, p.n, p.n::double precision / nullif(sum(p.n) OVER (), 0),
           p.w, p.w / greatest(extract(epoch FROM clock_timestamp() - since)::double precision, 1),
           p.w::double precision / nullif(sum(p.w) OVER (), 0)
      FROM p ORDER BY p.relid::regclass::text;
END
$$;

-- What pg_steward's rules, state checks and retention of one layout have
-- that the other's lack, as "<what> only on <layout>; ..."; NULL when
-- they agree.
CREATE FUNCTION steward._relayout_rules_diff(old_rel regclass, new_rel regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(format('%s only on %s', y.what, y.rel), '; ' ORDER BY y.rel, y.what)
      FROM (SELECT x.what, min(x.rel) AS rel
              FROM (SELECT format('%s rule on column "%s"%s', cr.kind, cr.attname,
                                  coalesce(format(' (machine %s%s)', cr.machine,
                                                  coalesce(', changed_at ' || cr.changed_at, '')), '')) AS what,
                           cr.relid::text AS rel
                      FROM steward.column_rules cr WHERE cr.relid IN (old_rel, new_rel)
                    UNION ALL
                    SELECT format('state check for state "%s" (%s)', c.state, c.check_sql), c.relid::text
                      FROM steward.state_checks c WHERE c.relid IN (old_rel, new_rel)
                    UNION ALL
                    SELECT format('retention %s', x.retention), x.relid::text
                      FROM steward.table_retention x WHERE x.relid IN (old_rel, new_rel)) x
             GROUP BY x.what HAVING count(*) = 1) y
$$;

-- The five hottest keys of a relayout's table, for the distribution
-- check: a key's writes are counted on both layouts (the apply writes the
-- copy), so each key is listed once, with its larger count, ranked by the
-- part that is certain (steward.hot_rows' updates less its error bound).
CREATE FUNCTION steward._relayout_hot_keys(old_rel regclass, new_rel regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT string_agg(format('%s (%s, at least %s certain)', h.key_text,
                             steward._relayout_count(h.updates, 'update', 'updates'), h.certain),
                      ', ' ORDER BY h.certain DESC, h.updates DESC)
      FROM (SELECT * FROM (SELECT DISTINCT ON (x.key_text) x.key_text, x.updates,
                                  x.updates - x.error_bound AS certain
                             FROM steward.hot_rows x
                            WHERE x.relid IN (old_rel, new_rel)
                               OR x.relid IN (SELECT i.inhrelid FROM pg_inherits i WHERE i.inhparent = new_rel)
                            ORDER BY x.key_text, x.updates - x.error_bound DESC, x.updates DESC) k
             ORDER BY k.certain DESC, k.updates DESC LIMIT 5) h
$$;

-- The smallest number of rows, and of writes, whose shares over the new
-- partitions the distribution check judges (steward.relayout_share_threshold,
-- 100 by default): one row of a table hashed into four partitions is all
-- of one partition's share, and a handful of rows or writes says nothing
-- of the key's skew.  Below it a share is reported, never failed.  A
-- setting, not a constant (relayout51): a DBA rehearsing on a small copy
-- of the table lowers it to see the check judge, one with a large table
-- raises it to ignore the first minutes of writes; per session, as the
-- limit.  Before the library defined it, the default.
CREATE FUNCTION steward._relayout_share_floor()
RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce((SELECT s.setting::bigint FROM pg_settings s WHERE s.name = 'steward.relayout_share_threshold'), 100)
$$;

-- The largest share one partition of the new layout may hold
-- (steward.relayout_max_partition_share).  One or two partitions cannot
-- be balanced below half: left at its default, the limit is at least
-- twice a fair share (2/N), so only a real skew fails.  A value the user
-- set is taken as it is.
CREATE FUNCTION steward._relayout_share_limit(mig text)
RETURNS double precision
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN s.source = 'default'
                THEN greatest(s.setting::double precision,
                              least(1.0, 2.0 / greatest(1, (SELECT count(*) FROM pg_inherits i
                                                             WHERE i.inhparent = (steward._relayout_tables(mig)).new_rel))))
                ELSE s.setting::double precision END
      FROM pg_settings s WHERE s.name = 'steward.relayout_max_partition_share'
$$;

-- Validate's comparison of both layouts in one snapshot (backfill, rows,
-- values, checksums), as (check, passed, detail) objects.
CREATE FUNCTION steward._relayout_compare_checks(mig text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    res text[] := steward._migration_exec(t.old_rel, steward._relayout_compare_sql(mig));
    old_name text := steward._relation_name(t.old_rel);
    new_name text := steward._relation_name(t.new_rel);
BEGIN
    RETURN jsonb_build_array(
        jsonb_build_object('check', format('backfill %s', t.new_rel),
            'passed', res[3]::bigint = 0,
            'detail', CASE WHEN res[3]::bigint = 0
                           THEN format('every row of relation "%s" is in relation "%s"', old_name, new_name)
                           ELSE format('%s of relation "%s" %s not in relation "%s" yet: CALL steward.migration_backfill(%L)',
                                       steward._relayout_count(res[3]::bigint, 'row', 'rows'), old_name,
                                       CASE WHEN res[3]::bigint = 1 THEN 'is' ELSE 'are' END, new_name, mig) END),
        jsonb_build_object('check', format('rows %s', t.new_rel),
            'passed', res[1] = res[2] AND res[4]::bigint = 0,
            'detail', format('%s in relation "%s", %s in relation "%s", %s only in relation "%s"',
                             steward._relayout_count(res[1]::bigint, 'row', 'rows'), old_name, res[2], new_name, res[4], new_name)),
        jsonb_build_object('check', format('values %s', t.new_rel),
            'passed', res[5]::bigint = 0,
            'detail', steward._relayout_count(res[5]::bigint, 'row with the same key differs', 'rows with the same key differ')),
        jsonb_build_object('check', format('checksums %s', t.new_rel),
            'passed', res[7]::bigint = 0,
            'detail', CASE WHEN res[7]::bigint = 0
                           THEN format('%s: counts and checksums of both layouts agree',
                                       steward._relayout_count(res[6]::bigint, 'key range', 'key ranges'))
                           ELSE format('%s of %s %s (%s)', res[7], steward._relayout_count(res[6]::bigint, 'key range', 'key ranges'),
                                       CASE WHEN res[7]::bigint = 1 THEN 'disagrees' ELSE 'disagree' END, res[8]) END));
END
$$;

-- Validate's rules check: start copied pg_steward's rules, state checks
-- and retention to the new layout; one changed on one layout since would
-- be lost by the cleanup or by a rollback.
CREATE FUNCTION steward._relayout_rules_check(mig text)
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT jsonb_build_array(jsonb_build_object('check', format('rules %s', t.new_rel),
               'passed', d.msg IS NULL,
               'detail', coalesce(d.msg || ': set it on both layouts, or remove it from both',
                                  'both layouts have the same rules, state checks and retention')))
      FROM steward._relayout_tables(mig) t,
           LATERAL (SELECT steward._relayout_rules_diff(t.old_rel, t.new_rel) AS msg) d
$$;

-- Validate's hot-shard check: one row per partition of the new layout
-- (its rows, writes and shares) and the distribution (the largest share
-- and the hottest keys).  A share fails above the limit
-- (_relayout_share_limit) once the table holds _relayout_share_floor()
-- rows (for the row shares) or writes (for the write shares); a failing
-- check names its measured share and the limit.
CREATE FUNCTION steward._relayout_distribution_checks(mig text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    lim double precision := steward._relayout_share_limit(mig);
    floor_ bigint := steward._relayout_share_floor();
    limit_text text := format('limit steward.relayout_max_partition_share = %s%%',
                              round(lim::numeric * 100, 1));
    dist jsonb;
    results jsonb;
    worst record;
BEGIN
    -- Counted once (a scan of the new layout), judged against the floor.
    SELECT coalesce(jsonb_agg(to_jsonb(x) || jsonb_build_object(
               'judged', greatest(CASE WHEN x.all_rows >= floor_ THEN coalesce(x.row_share, 0) ELSE 0 END,
                                  CASE WHEN x.all_writes >= floor_ THEN coalesce(x.write_share, 0) ELSE 0 END))), '[]')
      INTO dist
      FROM (SELECT d.*, sum(d.rows) OVER () AS all_rows, sum(d.writes) OVER () AS all_writes
              FROM steward._relayout_distribution(mig) d) x;
    -- NULL: not judged, as verify() says of a check it did not make; validate
    -- and complete do not count it as failed (newcomer48 N9).
    SELECT coalesce(jsonb_agg(jsonb_build_object('check', format('partition %s', d.partition),
               'passed', CASE WHEN d.all_rows >= floor_ OR d.all_writes >= floor_ THEN d.judged <= lim END,
               'detail', format('%s %s (%s%%), %s %s (%s/s, %s%%)',
                                d.rows, CASE WHEN d.rows = 1 THEN 'row' ELSE 'rows' END,
                                round(coalesce(d.row_share, 0)::numeric * 100, 1),
                                d.writes, CASE WHEN d.writes = 1 THEN 'write' ELSE 'writes' END,
                                round(d.writes_per_sec::numeric, 1),
                                round(coalesce(d.write_share, 0)::numeric * 100, 1))
                         || CASE WHEN d.judged > lim THEN format(' (%s)', limit_text) ELSE '' END)
                             ORDER BY d.partition::text), '[]')
      INTO results
      FROM jsonb_to_recordset(dist) d(partition regclass, rows bigint, row_share double precision, writes bigint,
                                      writes_per_sec double precision, write_share double precision,
                                      judged double precision, all_rows bigint, all_writes bigint);
    SELECT d.partition, d.judged, d.all_rows, d.all_writes,
           greatest(coalesce(d.row_share, 0),
                    CASE WHEN d.all_writes >= floor_ THEN coalesce(d.write_share, 0) ELSE 0 END) AS share
      INTO worst
      FROM jsonb_to_recordset(dist) d(partition regclass, row_share double precision, write_share double precision,
                                      judged double precision, all_rows bigint, all_writes bigint)
     ORDER BY d.judged DESC, 5 DESC LIMIT 1;
    RETURN results || jsonb_build_object('check', format('distribution %s', t.new_rel),
        'passed', CASE WHEN coalesce(worst.all_rows, 0) >= floor_ OR coalesce(worst.all_writes, 0) >= floor_
                       THEN coalesce(worst.judged, 0) <= lim END,
        'detail', format('largest partition %s takes %s%% of rows or writes (%s)', worst.partition,
                         round(coalesce(worst.share, 0)::numeric * 100, 1), limit_text)
                  || CASE WHEN coalesce(worst.all_rows, 0) < floor_ AND coalesce(worst.all_writes, 0) < floor_
                          THEN format('; not judged: %s %s and %s %s are too few to judge a share '
                                      '(under steward.relayout_share_threshold = %s each)',
                                      coalesce(worst.all_rows, 0),
                                      CASE WHEN coalesce(worst.all_rows, 0) = 1 THEN 'row' ELSE 'rows' END,
                                      coalesce(worst.all_writes, 0),
                                      CASE WHEN coalesce(worst.all_writes, 0) = 1 THEN 'write' ELSE 'writes' END,
                                      floor_)
                          ELSE '' END
                  || coalesce('; hottest keys: ' || steward._relayout_hot_keys(t.old_rel, t.new_rel), ''));
END
$$;

-- After the cutover, validate's check of each foreign key moved to the
-- new layout (NOT VALID): it is validated (SHARE UPDATE EXCLUSIVE on the
-- referencing table), and fails naming the rows or the lock.
CREATE FUNCTION steward._relayout_key_checks(mig text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    results jsonb := '[]';
    con record;
    ok boolean;
    msg text;
BEGIN
    FOR con IN SELECT x.conrelid::regclass AS rel, x.conname FROM pg_constraint x
                WHERE x.confrelid = t.new_rel AND x.contype = 'f' AND x.conparentid = 0
                ORDER BY 1, 2 LOOP
        BEGIN
            PERFORM steward._migration_locked(mig, '_migration_validate_constraint', NULL,
                jsonb_build_object('relid', con.rel::oid, 'name', con.conname));
            ok := true;
            msg := 'valid';
        EXCEPTION WHEN foreign_key_violation OR lock_not_available THEN
            ok := false;
            msg := SQLERRM;
        END;
        results := results || jsonb_build_object('check', format('constraint %I on %s', con.conname, con.rel),
                                                 'passed', ok, 'detail', msg);
    END LOOP;
    RETURN results;
END
$$;

-- migration_validate of a relayout: results as (check, passed, detail),
-- every check's (the layouts, the comparison, the rules, the
-- distribution, after the cutover the moved foreign keys).  NULL when the
-- migration is not a relayout.
CREATE FUNCTION steward._relayout_validate(mig text, r steward.migration_runs)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF steward._relayout_step(r.steps) IS NULL OR steward._relayout_layouts_failed(mig) IS NOT NULL THEN
        RETURN steward._relayout_layouts_failed(mig);   -- NULL (not a relayout), or a layout dropped or changed
    END IF;
    RETURN steward._relayout_compare_checks(mig)
           || steward._relayout_rules_check(mig)
           || steward._relayout_distribution_checks(mig)
           || CASE WHEN r.phase = 'switched' THEN steward._relayout_key_checks(mig) ELSE '[]' END;
END
$$;

--------------------------------------------------------------------------
-- complete (cutover), rollback, cleanup
--------------------------------------------------------------------------

-- A relayout's part of _migration_recheck (before the step takes its
-- locks; under them too when a skipped INSERT was recorded since
-- complete): both layouts counted in one snapshot.  The layout a
-- step drops must not hold more rows than the one it keeps (cleanup drops
-- the old one, a rollback after complete the new one), so one of the two
-- always stays possible; the cutover needs them equal.  A count, not the
-- validation's comparison.  55000 naming both counts and the way out.
CREATE FUNCTION steward._relayout_recheck(mig text, action text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lt record := steward._relayout_tables(mig);
    res text[];
    n_old bigint;
    n_new bigint;
    lost boolean;
BEGIN
    -- A layout dropped meanwhile failed the migration (_migrations_on_sql_drop):
    -- nothing to count.
    IF (SELECT count(*) FROM steward.migration_tables t WHERE t.migration = mig AND t.active) < 2 THEN
        RETURN;
    END IF;
    res := steward._migration_exec(lt.old_rel, format(
        'SELECT (SELECT count(*) FROM %s), (SELECT count(*) FROM %s)', lt.old_rel, lt.new_rel));
    n_old := res[1]::bigint;
    n_new := res[2]::bigint;
    lost := CASE action WHEN 'complete' THEN n_old <> n_new
                        WHEN 'clean up' THEN n_old > n_new
                        ELSE n_new > n_old END;
    IF lost THEN
        RAISE EXCEPTION 'cannot % migration "%": relation "%" holds %, relation "%" holds %',
                action, mig, steward._relation_name(lt.old_rel), steward._relayout_count(n_old, 'row', 'rows'),
                steward._relation_name(lt.new_rel), n_new
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Writes since the last validation reached one layout only (an INSERT with '
                           'check_function_bodies = off, or a write while the relayout trigger was '
                           'disabled): ' || CASE action
                               WHEN 'complete' THEN 'the table would lose them at the cutover.'
                               WHEN 'clean up' THEN format('dropping %s would lose them.', lt.old_rel)
                               ELSE format('dropping %s would lose them.', lt.new_rel) END,
                  HINT = CASE action
                      WHEN 'complete' THEN format(
                          'Run SELECT * FROM steward.migration_validate(%L) (it names the rows), '
                          'CALL steward.migration_backfill(%L) (it copies the rows the new layout lacks), '
                          'and validate again.', mig, mig)
                      WHEN 'clean up' THEN format(
                          'SELECT * FROM steward.migration_validate(%L) names the rows; write them to %s too, '
                          'or roll back: SELECT steward.migration_rollback(%L);', mig, lt.new_rel, mig)
                      ELSE format(
                          'SELECT * FROM steward.migration_validate(%L) names the rows; write them to %s too, '
                          'or keep the new layout: SELECT steward.migration_cleanup(%L);', mig, lt.old_rel, mig) END;
    END IF;
END
$$;

-- An INSERT into layout that the relayout trigger did not apply
-- (check_function_bodies off: a restore's, or an application's),
-- recorded by the trigger in the writer's transaction (relayout.c,
-- record_skipped_insert), once per statement: the last validation no
-- longer holds.  Before complete the migration goes back to backfilled
-- (validate, then backfill copies the row); after complete it is marked
-- failed, so that cleanup and a rollback count both layouts under their
-- locks (_migration_recheck).  row_security on: restores turn it off, and
-- the catalog's policy shows the migration to the table's owner.
CREATE FUNCTION steward._relayout_skipped(mig text, layout regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET row_security = on
AS $$
DECLARE
    r steward.migration_runs := steward._migration_get(mig);
    msg text := format('an INSERT into %s with check_function_bodies = off reached that layout only '
                       'after the last validation', layout);
BEGIN
    IF r.status <> 'active' OR r.phase NOT IN ('dual_written', 'switched') OR r.error = msg THEN
        RETURN;
    END IF;
    PERFORM steward._migration_record('update', mig, jsonb_build_object('failed', true, 'error', msg)
        || CASE WHEN r.phase = 'dual_written' THEN '{"phase": "backfilled"}'::jsonb ELSE '{}' END);
END
$$;

-- The triggers after the renames of a cutover (forward) or of its undo:
-- the apply statements name the tables, so both are rebuilt for the new
-- names.  Forward, the TRUNCATE guard goes on every table of both layouts
-- once more: a partition attached to the old layout by an ALTER TABLE that
-- passed steward_relayout_guard before start committed, and then waited
-- for start's lock, has none (its rows were backfilled like any other).
CREATE FUNCTION steward._relayout_retrigger(mig text, forward boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
BEGIN
    IF forward THEN
        PERFORM steward._relayout_guard_truncate(mig, t.old_rel);
        PERFORM steward._relayout_guard_truncate(mig, t.new_rel);
    END IF;
    -- The layout that is the table now gets ALWAYS, the other BY DEFAULT:
    -- the triggers' upserts are written from the kinds.
    IF forward THEN
        PERFORM steward._relayout_identity_kinds(t.new_rel, t.old_rel);
    ELSE
        PERFORM steward._relayout_identity_kinds(t.old_rel, t.new_rel);
    END IF;
    PERFORM steward._relayout_set_trigger(t.old_rel, t.new_rel, t.key_columns);
    PERFORM steward._relayout_set_trigger(t.new_rel, t.old_rel, t.key_columns);
END
$$;

-- What the table has besides rows, columns, constraints and indexes, moved
-- to the layout that takes its name by the cutover (review8 #13), after
-- the renames: dst is the table now.
--  * Publications naming it: the membership, with its column list and row
--    filter, moves from src to dst (both directions), as the caller (a
--    member of the publication's owner: _relayout_check_publications).
--  * Extended statistics: LIKE made a twin of each on the new layout
--    (same kinds, same columns); twins trade names, as indexes do (both
--    directions).  One made on the table after start (after complete, for
--    a rollback) gets a twin here; forward, each twin the statistics
--    target.
--  * Forward only (the old layout keeps its own for a rollback): storage
--    parameters (toast.* included) on each partition of the new layout (a
--    partitioned table takes none), replica identity on it and each
--    partition (USING INDEX: the twin of the index, and its partitions),
--    per-column statistics targets and n_distinct.
-- What partitions of a partitioned table have on their own was reported
-- at start (_relayout_check_partitions).
CREATE FUNCTION steward._relayout_carry(src regclass, dst regclass, forward boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    part regclass;
    opts text;
    ident "char";
    twin regclass;
BEGIN
    PERFORM steward._relayout_move_publications(src, dst);
    PERFORM steward._relayout_swap_statistics(src, dst, forward);
    IF NOT forward THEN
        RETURN;
    END IF;

    -- Storage parameters, on each partition.
    opts := steward._relayout_storage_options(src);
    IF opts IS NOT NULL THEN
        FOR part IN SELECT x.relid FROM pg_partition_tree(dst) x WHERE x.isleaf ORDER BY x.relid::text LOOP
            PERFORM steward._migration_exec(part, format('ALTER TABLE %s SET (%s)', part, opts));
        END LOOP;
    END IF;

    -- Replica identity: what UPDATE and DELETE publish of the old row.
    ident := (SELECT relreplident FROM pg_class WHERE oid = src);
    IF ident = 'i' THEN
        SELECT m.indexrelid INTO twin
          FROM pg_index s,
               LATERAL (SELECT d.indexrelid FROM pg_index d
                         WHERE d.indrelid = dst AND d.indisunique
                           AND steward._relayout_index_body(d.indexrelid)
                               = steward._relayout_index_body(s.indexrelid)
                         ORDER BY d.indexrelid LIMIT 1) m
         WHERE s.indrelid = src AND s.indisreplident;
    END IF;
    IF ident <> 'd' THEN
        FOR part IN SELECT x.relid FROM pg_partition_tree(dst) x ORDER BY x.level, x.relid::text LOOP
            IF ident = 'i' THEN
                CONTINUE WHEN twin IS NULL;
                PERFORM steward._migration_exec(part, format('ALTER TABLE %s REPLICA IDENTITY USING INDEX %I', part,
                    (SELECT ic.relname FROM pg_partition_tree(twin) x JOIN pg_index i ON i.indexrelid = x.relid
                       JOIN pg_class ic ON ic.oid = i.indexrelid
                      WHERE i.indrelid = part)));
            ELSE
                PERFORM steward._migration_exec(part, format('ALTER TABLE %s REPLICA IDENTITY %s', part,
                                                             CASE ident WHEN 'f' THEN 'FULL' ELSE 'NOTHING' END));
            END IF;
        END LOOP;
    END IF;

    -- Per-column statistics targets (ALTER TABLE recurses to the
    -- partitions) and n_distinct (set on each).
    FOR c IN SELECT a.attname, a.attstattarget,
                    (SELECT string_agg(format('%I = %L', split_part(o, '=', 1), substr(o, strpos(o, '=') + 1)), ', ')
                       FROM unnest(a.attoptions) o
                      WHERE split_part(o, '=', 1) IN ('n_distinct', 'n_distinct_inherited')) AS opts
               FROM pg_attribute a WHERE a.attrelid = src AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum LOOP
        IF c.attstattarget >= 0 THEN
            PERFORM steward._migration_exec(dst, format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s',
                                                        dst, c.attname, c.attstattarget));
        END IF;
        IF c.opts IS NOT NULL THEN
            FOR part IN SELECT x.relid FROM pg_partition_tree(dst) x ORDER BY x.level, x.relid::text LOOP
                PERFORM steward._migration_exec(part, format('ALTER TABLE ONLY %s ALTER COLUMN %I SET (%s)',
                                                             part, c.attname, c.opts));
            END LOOP;
        END IF;
    END LOOP;
END
$$;

-- The publications naming src name dst instead, with the same column list
-- and row filter (_relayout_carry).
CREATE FUNCTION steward._relayout_move_publications(src regclass, dst regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM steward._publications_of(src) x WHERE x.by_name LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_publication_rel r JOIN pg_publication x ON x.oid = r.prpubid
                        WHERE r.prrelid = dst AND x.pubname = c.pubname) THEN
            EXECUTE steward._publication_add_sql(c.pubname, dst, c.cols, c.qual);
        END IF;
        EXECUTE format('ALTER PUBLICATION %I DROP TABLE %s', c.pubname, src);
    END LOOP;
END
$$;

-- Extended statistics trade names with their twins (_relayout_carry).
CREATE FUNCTION steward._relayout_swap_statistics(src regclass, dst regclass, forward boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
    i integer := 0;
BEGIN
    -- Extended statistics created on the table since start (since
    -- complete, for a rollback: codereview7 C) get a twin.
    FOR c IN SELECT s.oid, s.stxnamespace::regnamespace AS nsp, pg_get_statisticsobjdef_columns(s.oid) AS cols,
                    (SELECT string_agg(CASE k WHEN 'd' THEN 'ndistinct' WHEN 'f' THEN 'dependencies' ELSE 'mcv' END,
                                       ', ' ORDER BY k)
                       FROM unnest(s.stxkind) k WHERE k <> 'e') AS kinds
               FROM (SELECT x.*, row_number() OVER (PARTITION BY x.stxkind::text,
                                                    pg_get_statisticsobjdef_columns(x.oid) ORDER BY x.oid) AS n
                       FROM pg_statistic_ext x WHERE x.stxrelid = src) s
              WHERE s.n > (SELECT count(*) FROM pg_statistic_ext o
                            WHERE o.stxrelid = dst AND o.stxkind::text = s.stxkind::text
                              AND pg_get_statisticsobjdef_columns(o.oid) = pg_get_statisticsobjdef_columns(s.oid))
              ORDER BY s.oid LOOP
        -- a free name (a rollback's twins meet the cutover's, which kept theirs)
        LOOP
            i := i + 1;
            EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_statistic_ext x
                                   WHERE x.stxnamespace = c.nsp::oid AND x.stxname = '_steward_stat_' || i);
        END LOOP;
        PERFORM steward._migration_exec(src, format('CREATE STATISTICS %s.%I%s ON %s FROM %s', c.nsp,
                                                    '_steward_stat_' || i,
                                                    coalesce(' (' || c.kinds || ')', ''), c.cols, dst));
    END LOOP;
    i := 0;
    FOR c IN SELECT s.oid AS src_oid, s.stxname AS src_name, d.oid AS dst_oid, d.stxname AS dst_name, s.stxstattarget
               FROM (SELECT x.oid, x.stxname, x.stxstattarget,
                            x.stxkind::text || pg_get_statisticsobjdef_columns(x.oid) AS def,
                            row_number() OVER (PARTITION BY x.stxkind::text, pg_get_statisticsobjdef_columns(x.oid)
                                               ORDER BY x.oid) AS n
                       FROM pg_statistic_ext x WHERE x.stxrelid = src) s
               JOIN (SELECT x.oid, x.stxname,
                            x.stxkind::text || pg_get_statisticsobjdef_columns(x.oid) AS def,
                            row_number() OVER (PARTITION BY x.stxkind::text, pg_get_statisticsobjdef_columns(x.oid)
                                               ORDER BY x.oid) AS n
                       FROM pg_statistic_ext x WHERE x.stxrelid = dst) d ON d.def = s.def AND d.n = s.n
              ORDER BY s.stxname LOOP
        i := i + 1;
        PERFORM steward._migration_exec(src, format('ALTER STATISTICS %s RENAME TO %I',
                                                    steward._relayout_stat_name(c.src_oid), '_steward_swap_stat_' || i));
        PERFORM steward._migration_exec(src, format('ALTER STATISTICS %s RENAME TO %I',
                                                    steward._relayout_stat_name(c.dst_oid), c.src_name));
        PERFORM steward._migration_exec(src, format('ALTER STATISTICS %s RENAME TO %I',
                                                    steward._relayout_stat_name(c.src_oid), c.dst_name));
        IF forward AND c.stxstattarget >= 0 THEN
            PERFORM steward._migration_exec(src, format('ALTER STATISTICS %s SET STATISTICS %s',
                                                        steward._relayout_stat_name(c.dst_oid), c.stxstattarget));
        END IF;
    END LOOP;
END
$$;

-- The storage parameters of a table as the list ALTER TABLE ... SET
-- takes (toast.*: its toast table's), NULL if none.  A partitioned table
-- takes none itself: its partitions', when they all have the same.
CREATE FUNCTION steward._relayout_storage_options(rel regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH leaves AS (SELECT x.relid FROM pg_partition_tree(rel) x WHERE x.isleaf
                    UNION SELECT rel WHERE (SELECT relkind FROM pg_class WHERE oid = rel) = 'r'),
         opts AS (SELECT l.relid,
                         (SELECT string_agg(y.o, ', ' ORDER BY y.o)
                            FROM (SELECT format('%I = %L', split_part(o, '=', 1), substr(o, strpos(o, '=') + 1)) AS o
                                    FROM pg_class r, unnest(r.reloptions) o WHERE r.oid = l.relid
                                  UNION ALL
                                  SELECT format('toast.%I = %L', split_part(o, '=', 1), substr(o, strpos(o, '=') + 1))
                                    FROM pg_class r JOIN pg_class t ON t.oid = r.reltoastrelid, unnest(t.reloptions) o
                                   WHERE r.oid = l.relid) y) AS list
                    FROM leaves l)
    SELECT CASE WHEN count(DISTINCT coalesce(o.list, '')) = 1 THEN max(o.list) END FROM opts o
$$;

-- A statistics object's schema-qualified name, quoted.
CREATE FUNCTION steward._relayout_stat_name(stat oid)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('%I.%I', n.nspname, s.stxname)
      FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE s.oid = stat
$$;

-- The cutover drops and adds the foreign keys to src (fks) and redefines
-- its views (views) as their owners, as the caller (_migration_exec): a
-- key or view whose owner the caller cannot act as (made or given away
-- since start, recheck10 N10) is refused here, before any change, with
-- 42501 naming it and the next steps, instead of failing halfway through
-- with a bare "must be owner of table".
CREATE FUNCTION steward._relayout_check_movers(mig text, src regclass, fks jsonb, views jsonb,
                                               forward boolean)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    o record;
BEGIN
    FOR o IN SELECT x.rel, x.name, c.relowner::regrole AS owner, c.relkind
               FROM (SELECT (f->>'rel')::oid::regclass AS rel, f->>'name' AS name
                       FROM jsonb_array_elements(fks) f
                     UNION ALL
                     SELECT (w->>'oid')::oid::regclass, NULL FROM jsonb_array_elements(views) w) x
               JOIN pg_class c ON c.oid = x.rel
              WHERE NOT pg_has_role(c.relowner, 'USAGE')
              ORDER BY x.name IS NULL, x.rel::oid LOOP
        RAISE EXCEPTION 'must be owner of % % to % migration "%"',
                CASE WHEN o.relkind = 'v' THEN 'view' ELSE 'table' END, steward._relation_name(o.rel),
                CASE WHEN forward THEN 'complete' ELSE 'roll back' END, mig
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = CASE WHEN o.name IS NOT NULL
                                THEN format('Its foreign key "%s" references relation "%s"; the cutover moves it to the other layout as its owner, %s, whose privileges %s does not have.',
                                            o.name, steward._relation_name(src), o.owner, current_user)
                                ELSE format('It selects from relation "%s"; the cutover redefines it on the other layout as its owner, %s, whose privileges %s does not have.',
                                            steward._relation_name(src), o.owner, current_user) END,
                  HINT = format('Run it as a role with the privileges of %s, or let %s drop the %s (%s) and make it again after the cleanup%s.',
                                o.owner, o.owner,
                                CASE WHEN o.name IS NOT NULL THEN 'key' ELSE 'view' END,
                                CASE WHEN o.name IS NOT NULL
                                     THEN format('ALTER TABLE %s DROP CONSTRAINT %I', o.rel, o.name)
                                     ELSE format('DROP VIEW %s', o.rel) END,
                                CASE WHEN forward THEN format('; or roll the migration back (SELECT steward.migration_rollback(%L);)', mig)
                                     ELSE '' END);
    END LOOP;
END
$$;

-- The cutover (inside migration_complete, both layouts locked ACCESS
-- EXCLUSIVE under lock_timeout): the table's name moves to the other
-- layout, and what pointed at the table by OID follows it -- views are
-- redefined from their own definitions (pg_get_viewdef, taken before the
-- renames, names the table; run as the view's owner, options kept),
-- foreign keys referencing it are re-added NOT VALID (validated by
-- migration_validate afterwards), identity sequences continue where the
-- other layout's stopped, owned sequences change owner, grants are
-- copied.  arg->>'direction': 'forward' (complete) or 'back' (rollback
-- after the cutover).
CREATE FUNCTION steward._relayout_switch(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    forward boolean := arg->>'direction' = 'forward';
    src regclass := CASE WHEN forward THEN t.old_rel ELSE t.new_rel END;
    dst regclass := CASE WHEN forward THEN t.new_rel ELSE t.old_rel END;
    views jsonb;
    fks jsonb;
    v jsonb;
    c record;
    s_src regclass;
    s_dst regclass;
    seqname name;
    dstname name;
    i integer;
BEGIN
    SELECT coalesce(jsonb_agg(jsonb_build_object('oid', x.oid, 'def', x.def, 'opts', x.opts)), '[]') INTO views
      FROM (SELECT DISTINCT vc.oid, pg_get_viewdef(vc.oid) AS def,
                   array_to_string(vc.reloptions, ', ') AS opts
              FROM pg_depend d JOIN pg_rewrite rw ON rw.oid = d.objid
              JOIN pg_class vc ON vc.oid = rw.ev_class
             WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = src AND vc.oid <> src AND vc.relkind = 'v') x;
    SELECT coalesce(jsonb_agg(jsonb_build_object('rel', x.conrelid, 'name', x.conname,
                                                 'def', pg_get_constraintdef(x.oid),
                                                 'partitioned', (SELECT relkind = 'p' FROM pg_class WHERE oid = x.conrelid))
                              ORDER BY x.conrelid, x.conname), '[]') INTO fks
      FROM pg_constraint x WHERE x.confrelid = src AND x.contype = 'f' AND x.conparentid = 0;
    PERFORM steward._relayout_check_movers(mig, src, fks, views, forward);

    -- Made since start (since complete, for a rollback): objects bound to
    -- the row type of the layout that loses the name; forward, publications.
    PERFORM steward._relayout_check_rowtype(src, CASE WHEN forward THEN 'complete' ELSE 'rollback' END);
    PERFORM steward._relayout_check_publications(src) WHERE forward;
    IF forward THEN
        PERFORM steward._migration_exec(t.old_rel, format('ALTER TABLE %s RENAME TO %I', t.old_rel,
                                                          steward._relayout_layout_name(t.relname, t.old_rel, 'old')));
        PERFORM steward._migration_exec(t.new_rel, format('ALTER TABLE %s RENAME TO %I', t.new_rel, t.relname));
    ELSE
        PERFORM steward._migration_exec(t.new_rel, format('ALTER TABLE %s RENAME TO %I', t.new_rel,
                                                          steward._relayout_layout_name(t.relname, t.old_rel, 'new')));
        PERFORM steward._migration_exec(t.old_rel, format('ALTER TABLE %s RENAME TO %I', t.old_rel, t.relname));
    END IF;
    PERFORM steward._relayout_retrigger(mig, forward);
    -- Index (and constraint) names follow the table's name: each index of
    -- one layout trades names with its twin of the same definition.
    i := 0;
    FOR c IN SELECT si.relname AS src_name, di.relname AS dst_name, di.oid AS dst_oid, si.oid AS src_oid
               FROM pg_index s JOIN pg_class si ON si.oid = s.indexrelid,
                    LATERAL (SELECT d.indexrelid FROM pg_index d
                              WHERE d.indrelid = dst AND d.indisunique = s.indisunique
                                AND d.indisprimary = s.indisprimary
                                AND steward._relayout_index_body(d.indexrelid)
                                    = steward._relayout_index_body(s.indexrelid)
                              ORDER BY d.indexrelid LIMIT 1) m
                    JOIN pg_class di ON di.oid = m.indexrelid
              WHERE s.indrelid = src ORDER BY si.relname LOOP
        i := i + 1;
        PERFORM steward._migration_exec(src, format('ALTER INDEX %s RENAME TO %I',
                                                    c.src_oid::regclass, '_steward_swap_' || i));
        PERFORM steward._migration_exec(src, format('ALTER INDEX %s RENAME TO %I', c.dst_oid::regclass, c.src_name));
        PERFORM steward._migration_exec(src, format('ALTER INDEX %s RENAME TO %I', c.src_oid::regclass, c.dst_name));
    END LOOP;
    FOR v IN SELECT x FROM jsonb_array_elements(fks) x LOOP
        PERFORM steward._migration_exec((v->>'rel')::oid::regclass, format('ALTER TABLE %s DROP CONSTRAINT %I',
                                        (v->>'rel')::oid::regclass, v->>'name'));
        PERFORM steward._migration_exec((v->>'rel')::oid::regclass, format('ALTER TABLE %s ADD CONSTRAINT %I %s%s',
                                        (v->>'rel')::oid::regclass, v->>'name', v->>'def',
                                        CASE WHEN (v->>'partitioned')::boolean THEN '' ELSE ' NOT VALID' END));
    END LOOP;
    FOR v IN SELECT x FROM jsonb_array_elements(views) x LOOP
        PERFORM steward._migration_exec((v->>'oid')::oid::regclass, format('CREATE OR REPLACE VIEW %s%s AS %s',
                                        (v->>'oid')::oid::regclass,
                                        CASE WHEN v->>'opts' <> '' THEN format(' WITH (%s)', v->>'opts') ELSE '' END,
                                        rtrim(v->>'def', ';')));
    END LOOP;

    -- Sequences: an identity continues where the other layout's stopped;
    -- a sequence owned by a column (serial) moves to the table's name.
    FOR c IN SELECT a.attname, a.attidentity FROM pg_attribute a
              WHERE a.attrelid = src AND a.attnum > 0 AND NOT a.attisdropped LOOP
        s_src := pg_get_serial_sequence(src::text, c.attname)::regclass;
        s_dst := pg_get_serial_sequence(dst::text, c.attname)::regclass;
        IF s_src IS NOT NULL AND s_dst IS NOT NULL AND s_src <> s_dst THEN
            PERFORM steward._migration_exec(src, format(
                'SELECT pg_catalog.setval(%L, s.last_value, s.is_called) FROM %s s', s_dst, s_src));
            -- ... and the two trade names, as the indexes do.
            seqname := (SELECT relname FROM pg_class WHERE oid = s_src);
            dstname := (SELECT relname FROM pg_class WHERE oid = s_dst);
            PERFORM steward._migration_exec(src, format('ALTER SEQUENCE %s RENAME TO _steward_swap_seq', s_src));
            PERFORM steward._migration_exec(src, format('ALTER SEQUENCE %s RENAME TO %I', s_dst, seqname));
            PERFORM steward._migration_exec(src, format('ALTER SEQUENCE %s RENAME TO %I', s_src, dstname));
        ELSIF s_src IS NOT NULL AND s_dst IS NULL AND c.attidentity = '' THEN
            PERFORM steward._migration_exec(src, format('ALTER SEQUENCE %s OWNED BY %s.%I',
                                                        s_src, dst, c.attname));
        END IF;
    END LOOP;
    PERFORM steward._relayout_grants(src, dst);
    PERFORM steward._relayout_carry(src, dst, forward);
END
$$;

-- Rollback (inside migration_rollback): back to the old layout, the new
-- one dropped.  A layout dropped around the DDL guard is skipped: without
-- the new one the old one is the table again (under its name, if the
-- cutover had given that to the new one); without the old one after the
-- cutover there is nothing to go back to (cleanup finishes then).
CREATE FUNCTION steward._relayout_undo(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    alive record := steward._relayout_alive(mig);
    con record;
    users text; new_name text := steward._relation_name(t.new_rel);  -- its name before the rollback renames it
BEGIN
    IF (arg->>'switched')::boolean AND NOT alive.old_alive THEN
        PERFORM steward._relayout_require_layouts(mig, 'roll back');
    END IF;
    IF NOT alive.new_alive THEN
        t.new_rel := NULL;
        IF (arg->>'switched')::boolean THEN
            PERFORM steward._migration_exec(t.old_rel, format('ALTER TABLE %s RENAME TO %I', t.old_rel, t.relname));
        END IF;
    ELSIF (arg->>'switched')::boolean THEN
        PERFORM steward._relayout_switch(mig, '{"direction": "back"}');
        -- The foreign keys were valid on the old layout: validated again
        -- here (a scan of each referencing table, under the rollback's
        -- locks) rather than left NOT VALID.
        FOR con IN SELECT x.conrelid::regclass AS rel, x.conname FROM pg_constraint x
                    WHERE x.confrelid = t.old_rel AND x.contype = 'f' AND x.conparentid = 0
                      AND NOT x.convalidated ORDER BY 1, 2 LOOP
            PERFORM steward._migration_exec(con.rel, format('ALTER TABLE %s VALIDATE CONSTRAINT %I',
                                                            con.rel, con.conname));
        END LOOP;
    END IF;
    IF alive.old_alive THEN
        PERFORM steward._relayout_unguard(t.old_rel);
    ELSIF t.new_rel IS NOT NULL THEN
        -- The only copy of the rows left: kept (the record needs a table
        -- of its own to end on, too).
        PERFORM steward._relayout_unguard(t.new_rel);
        PERFORM steward._report('notice',
                format('table "%s" (the old layout of migration "%s") was dropped: the new layout "%s" stays, with its rows', (SELECT p[cardinality(p)] FROM steward.migration_runs r,
                             parse_ident(r.steps->0->'relayout'->>'table') p(p) WHERE r.name = mig)::name, mig, steward._relation_name(t.new_rel)),
                hint => format('Drop it (DROP TABLE %s;) or rename it yourself.', t.new_rel));
        RETURN;
    END IF;
    IF t.new_rel IS NOT NULL THEN
        PERFORM steward._relayout_check_rowtype(t.new_rel, 'rollback');
        -- Released first, so that the drop is not taken for an accident.
        PERFORM steward._relayout_check_owned_sequences(mig, t.new_rel, 'roll back');
        PERFORM steward._migration_check_statistics(mig, 'roll back', NULL, '{}',
            ARRAY(SELECT x FROM steward._relayout_tree(t.new_rel) x WHERE x <> t.new_rel));
        PERFORM steward._migration_record('relayout', mig, jsonb_build_object('release_relid', t.new_rel::oid));
        -- An object made around the guard (in a transaction begun before
        -- start, with session_replication_role = replica) that depends on
        -- the new layout: named in the migration's words, not core's
        -- "Use DROP ... CASCADE".
        BEGIN
            PERFORM steward._migration_exec(t.old_rel, format('DROP TABLE %s', t.new_rel));
        EXCEPTION WHEN dependent_objects_still_exist THEN
            GET STACKED DIAGNOSTICS users = PG_EXCEPTION_DETAIL;
            RAISE EXCEPTION 'cannot roll back migration "%": other objects depend on its new layout "%"', mig, new_name
                USING ERRCODE = 'dependent_objects_still_exist',
                      DETAIL = format('The rollback drops the new layout, which would need CASCADE: %s.', users),
                      HINT = format('Have their owners drop them (make them again over the table %s afterwards), then run SELECT steward.migration_rollback(%L); again.',
                                    t.old_rel, mig);
        END;
    END IF;
END
$$;

-- Cleanup of a relayout: the foreign keys that the cutover re-added NOT
-- VALID to the new layout are validated first (migration_validate does it
-- after complete, but cleanup did not require that: a cleanup right after
-- complete left every key to the table NOT VALID for good).  Before the
-- cleanup's locks, one key at a time under the migration lock timeout
-- (SHARE UPDATE EXCLUSIVE on the referencing table, as migration_validate).
-- A key whose rows do not hold (one made NOT VALID by hand since) stays
-- NOT VALID, with a WARNING naming it.
CREATE FUNCTION steward._relayout_validate_keys(mig text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    con record;
BEGIN
    IF t.new_rel IS NULL OR NOT (SELECT a.new_alive FROM steward._relayout_alive(mig) a) THEN
        RETURN;
    END IF;
    FOR con IN SELECT x.conrelid::regclass AS rel, x.conname FROM pg_constraint x
                WHERE x.confrelid = t.new_rel AND x.contype = 'f' AND x.conparentid = 0
                  AND NOT x.convalidated ORDER BY 1, 2 LOOP
        BEGIN
            PERFORM steward._migration_locked(mig, '_migration_validate_constraint', NULL,
                jsonb_build_object('relid', con.rel::oid, 'name', con.conname));
        EXCEPTION WHEN foreign_key_violation THEN
            PERFORM steward._report('warning',
                    format('foreign key "%s" of relation "%s" stays NOT VALID: %s', con.conname, steward._relation_name(con.rel), SQLERRM),
                    hint => format('Correct the rows and run ALTER TABLE %s VALIDATE CONSTRAINT %I;',
                                    con.rel, con.conname));
        END;
    END LOOP;
END
$$;

-- Cleanup (inside migration_cleanup): the old layout goes.  A layout
-- dropped around the DDL guard is skipped.
CREATE FUNCTION steward._relayout_contract(mig text, arg jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    t record := steward._relayout_tables(mig);
    alive record := steward._relayout_alive(mig);
    users text;
BEGIN
    IF NOT alive.new_alive THEN
        -- The only copy of the rows left: kept (the record needs a table
        -- of its own to end on, too).
        PERFORM steward._relayout_unguard(t.old_rel);
        PERFORM steward._report('notice',
                format('table "%s" (the new layout of migration "%s") was dropped: the old layout "%s" stays, with its rows', t.relname, mig, steward._relation_name(t.old_rel)),
                hint => format('Drop it (DROP TABLE %s;) or rename it yourself.', t.old_rel));
        RETURN;
    END IF;
    PERFORM steward._relayout_check_rowtype(t.old_rel, 'cleanup') WHERE alive.old_alive;
    PERFORM steward._relayout_unguard(t.new_rel);
    IF alive.old_alive THEN
        PERFORM steward._relayout_check_owned_sequences(mig, t.old_rel, 'clean up');
        PERFORM steward._migration_record('relayout', mig, jsonb_build_object('release_relid', t.old_rel::oid,
                                                                              'repoint', true));
        -- An object made around the guard that depends on the old
        -- layout: named in the migration's words (as _relayout_undo).
        BEGIN
            PERFORM steward._migration_exec(t.old_rel, format('DROP TABLE %s', t.old_rel));
        EXCEPTION WHEN dependent_objects_still_exist THEN
            GET STACKED DIAGNOSTICS users = PG_EXCEPTION_DETAIL;
            RAISE EXCEPTION 'cannot clean up migration "%": other objects depend on its old layout "%"', mig, steward._relation_name(t.old_rel)
                USING ERRCODE = 'dependent_objects_still_exist',
                      DETAIL = format('The cleanup drops the old layout, which would need CASCADE: %s.', users),
                      HINT = format('Have their owners drop them (make them again over the table %s afterwards), then run SELECT steward.migration_cleanup(%L); again, or roll the migration back (SELECT steward.migration_rollback(%L);).',
                                    t.new_rel, mig, mig);
        END;
    END IF;
END
$$;

-- Relayouts as they run: layouts, lag and error counts.  The apply is
-- synchronous (both layouts commit in the writer's transaction), so the
-- only lag is the backfill's: rows of the old layout not copied yet.
-- Errors: batch retries, times the migration failed, checks the last
-- validation failed.  security_invoker: the catalog's row security applies.
CREATE VIEW steward.relayouts WITH (security_invoker = true) AS
SELECT r.name,
       r.phase,
       m.result,
       o.table_name,
       CASE WHEN o.active THEN o.relid END AS old_layout,
       CASE WHEN n.active THEN n.relid END AS new_layout,
       r.steps->0->'relayout'->>'partition_by' AS partition_by,
       (SELECT count(*) FROM pg_catalog.pg_inherits i
         WHERE n.active AND i.inhparent OPERATOR(pg_catalog.=) n.relid) AS partitions,
       CASE WHEN r.status = 'active' AND r.phase = 'pending_backfill'
            THEN greatest(coalesce(r.rows_total,
                                   (SELECT greatest(c.reltuples, 0)::bigint FROM pg_catalog.pg_class c
                                     WHERE c.oid OPERATOR(pg_catalog.=) o.relid))   -- estimate before the backfill
                          - r.rows_backfilled, 0)
            ELSE 0 END AS backfill_lag_rows,
       m.backfill_status,
       m.rows_per_sec,
       r.batches,
       r.batch_retries,
       r.failures,
       (SELECT count(*) FROM steward.migration_validations v
         WHERE v.migration = r.name AND v.checked_at = r.last_validated_at AND NOT v.passed) AS failed_checks,
       r.last_validated_at,
       r.last_validation_passed,
       r.error
  FROM steward.migration_runs r
  JOIN steward.migration_tables o ON o.migration = r.name AND o.ord = 1
  LEFT JOIN steward.migration_tables n ON n.migration = r.name AND n.ord = 2
  JOIN steward.migrations m ON m.name = r.name
 WHERE steward._relayout_step(r.steps) IS NOT NULL;
GRANT SELECT ON steward.relayouts TO PUBLIC;

-- A column migration's views of a table restored without its record
-- (whole-database restores bring them), in the schemas mig and mig_old,
-- and those schemas once empty; for steward.migration_forget, which runs
-- as the caller (steward._migration_exec requires the caller to own tbl).
-- Returns what it dropped.
CREATE FUNCTION steward._migration_forget_views(tbl regclass, mig text)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT DISTINCT format('%I.%I', n.nspname, v.relname) AS view, n.nspname
               FROM pg_rewrite r
               JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
               JOIN pg_class v ON v.oid = r.ev_class
               JOIN pg_namespace n ON n.oid = v.relnamespace
              WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = tbl AND v.relkind = 'v'
                AND n.nspname IN (mig, mig || '_old')
              ORDER BY n.nspname LOOP
        PERFORM steward._migration_exec(tbl, format('DROP VIEW %s', c.view));
        RETURN NEXT format('dropped view %s', c.view);
    END LOOP;
    FOR c IN SELECT n.oid, n.nspname FROM pg_namespace n
              WHERE n.nspname IN (mig, mig || '_old')
                AND pg_has_role(n.nspowner, 'USAGE')
                AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.refclassid = 'pg_namespace'::regclass AND d.refobjid = n.oid)
              ORDER BY n.nspname LOOP
        PERFORM steward._migration_exec(tbl, format('DROP SCHEMA %I', c.nspname));
        RETURN NEXT format('dropped schema %I', c.nspname);
    END LOOP;
END
$$;

-- The column lists a column migration pinned on the publications naming
-- tbl, a table left without its record (_migration_publish: the columns
-- of the shape its subscribers have, old until complete, new after),
-- recognised by the shapes' views while they are there: a list that is
-- exactly the table's columns one of the views reads (generated ones
-- aside, which are never published) is the migration's, and the
-- publication names the table without a column list again, row filter
-- kept, as after a cleanup or a rollback.  Called before the views go;
-- runs as the caller, who must be a member of the publication's owner
-- (else the list is reported, kept).  Returns what it did.
CREATE FUNCTION steward._migration_forget_publications(tbl regclass, mig text)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT x.* FROM steward._publications_of(tbl) x
              WHERE x.by_name AND x.cols IS NOT NULL
                AND x.cols IN (SELECT ARRAY(SELECT a.attname::text FROM pg_attribute a
                                             WHERE a.attrelid = tbl AND a.attnum > 0 AND a.attgenerated = ''
                                               AND a.attnum IN (SELECT d.refobjsubid
                                                                  FROM pg_rewrite r
                                                                  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass
                                                                                  AND d.objid = r.oid
                                                                 WHERE r.ev_class = v.oid
                                                                   AND d.refclassid = 'pg_class'::regclass
                                                                   AND d.refobjid = tbl)
                                             ORDER BY a.attnum)
                                 FROM pg_class v JOIN pg_namespace n ON n.oid = v.relnamespace
                                WHERE v.relkind = 'v' AND n.nspname IN (mig, mig || '_old'))
              ORDER BY x.pubname LOOP
        IF NOT pg_has_role(p.pubowner, 'USAGE') THEN
            RETURN NEXT format('kept column list of publication %s (only a member of its owner can drop it)',
                               quote_ident(p.pubname));
            CONTINUE;
        END IF;
        EXECUTE format('ALTER PUBLICATION %I DROP TABLE %s', p.pubname, tbl);
        EXECUTE steward._publication_add_sql(p.pubname, tbl, NULL, p.qual);
        RETURN NEXT format('dropped column list of publication %s', quote_ident(p.pubname));
    END LOOP;
END
$$;

-- A table restored without its migration's record (pg_dump -t / -n, or a
-- restore that could not write steward's catalog) keeps what the
-- migration put on it: its triggers (a relayout's TRUNCATE guard on each
-- partition too), the marker column, NOT VALID
-- constraints, the views of the two shapes, the column lists it pinned
-- on publications.  migration_forget removes
-- them, as the table's owner, so that the table is an ordinary one again;
-- the columns and tables the migration added stay (they hold data).  A table of an
-- active migration is refused: migration_rollback ends that one.  So is a
-- partition whose row triggers are its table's: forget works on the table
-- (and its whole partition tree).
-- Refused first, with 25006, during recovery or in a read-only transaction
-- (steward._migration_entered).
CREATE FUNCTION steward.migration_forget(tbl regclass)
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET row_security = on
AS $$
DECLARE
    mig text;
    tg record;
    c record;
    rel name;
    root regclass;
    column_migration boolean := false;
    made bytea;
BEGIN
    -- Counted as pg_steward's own code, or called again to be (exec.c: steward_migration_entered).
    IF NOT steward._migration_entered('steward.migration_forget(regclass)') THEN
        RETURN QUERY SELECT steward.migration_forget(tbl);
        RETURN;
    END IF;
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT x.relname INTO rel FROM pg_class x WHERE x.oid = tbl;
    IF NOT pg_has_role((SELECT x.relowner FROM pg_class x WHERE x.oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', steward._relation_name(tbl) USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT t.migration INTO mig FROM steward.migration_tables t
     WHERE t.active AND (t.relid = tbl OR t.relid IN (SELECT a.relid FROM steward._partition_ancestors(tbl) a));
    IF mig IS NOT NULL THEN
        RAISE EXCEPTION 'table "%" belongs to active migration "%"', steward._relation_name(tbl), mig
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = format('steward.migration_rollback(%L) ends it and removes what it added.', mig);
    END IF;
    SELECT t.tgrelid::regclass INTO root
      FROM steward._partition_ancestors(tbl) a(relid, lvl)
      JOIN pg_trigger t ON t.tgrelid = a.relid
     WHERE t.tgparentid = 0
       AND t.tgfoid IN ('steward._relayout_trigger()'::regprocedure,
                        'steward._migration_trigger()'::regprocedure)
     ORDER BY a.lvl DESC LIMIT 1;
    IF root IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%" is a partition of "%", which carries the migration''s triggers', steward._relation_name(tbl), steward._relation_name(root)
            USING ERRCODE = 'wrong_object_type',
                  HINT = format('steward.migration_forget(%L) removes what the migration left on the whole table.',
                                root::text);
    END IF;
    FOR tg IN SELECT t.tgname, t.tgfoid, t.tgrelid::regclass AS rel, t.tgnargs, t.tgargs,
                     split_part(encode(t.tgargs, 'escape'), E'\\000', 1) AS mig,
                     split_part(encode(t.tgargs, 'escape'), E'\\000', 4) AS target
                FROM pg_trigger t
               WHERE (t.tgrelid = tbl OR t.tgrelid IN (SELECT x.relid FROM pg_partition_tree(tbl) x))
                 AND t.tgparentid = 0
                 AND t.tgfoid IN ('steward._relayout_trigger()'::regprocedure,
                                  'steward._relayout_truncate_guard()'::regprocedure,
                                  'steward._migration_trigger()'::regprocedure)
               ORDER BY t.tgrelid <> tbl, t.tgrelid::regclass::text, t.tgname LOOP
        PERFORM steward._migration_exec(tg.rel, format('DROP TRIGGER %I ON %s', tg.tgname, tg.rel));
        RETURN NEXT format('dropped trigger %I', tg.tgname) ||
            CASE WHEN tg.rel <> tbl THEN format(' on partition %s', tg.rel) ELSE '' END ||
            CASE WHEN tg.tgfoid = 'steward._relayout_trigger()'::regprocedure AND tg.target <> ''
                 THEN format(' (the other layout, %s, stays)', tg.target) ELSE '' END;
        IF tg.tgfoid = 'steward._migration_trigger()'::regprocedure THEN
            column_migration := true;
            -- After the migration's name the trigger names the NOT VALID
            -- constraints the migration added: "\0name1\0name2\0".
            made := CASE WHEN tg.tgnargs > 1
                         THEN substring(tg.tgargs FROM position(decode('00', 'hex') IN tg.tgargs)) END;
            RETURN QUERY SELECT * FROM steward._migration_forget_publications(tbl, tg.mig);
            RETURN QUERY SELECT * FROM steward._migration_forget_views(tbl, tg.mig);
        END IF;
    END LOOP;
    -- The NOT VALID constraints the column migration added: those its
    -- trigger names (a trigger made before it named them: by the names
    -- migration_start gives them); validated ones are the table's own now.
    -- Only where a column migration's trigger was found: on any other
    -- table such names and a "_steward_side" column are the user's.
    FOR c IN SELECT x.conname FROM pg_constraint x
              WHERE column_migration
                AND x.conrelid = tbl AND NOT x.convalidated AND x.contype IN ('c', 'f')
                AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl
                               AND a.attname = '_steward_side' AND NOT a.attisdropped)
                AND CASE WHEN made IS NOT NULL
                         THEN position(decode('00', 'hex') || convert_to(x.conname::text, getdatabaseencoding())
                                       || decode('00', 'hex') IN made) > 0
                         ELSE x.conname ~ ('^' || regexp_replace(rel, '([^[:alnum:]_])', E'\\\\\\1', 'g')
                                           || '_.+_(not_null|check|fkey)[0-9]*$') END
              ORDER BY x.conname LOOP
        PERFORM steward._migration_exec(tbl, format('ALTER TABLE %s DROP CONSTRAINT %I', tbl, c.conname));
        RETURN NEXT format('dropped NOT VALID constraint %I', c.conname);
    END LOOP;
    IF column_migration AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = tbl AND a.attname = '_steward_side'
                  AND NOT a.attisdropped) THEN
        PERFORM steward._migration_exec(tbl, format('ALTER TABLE %s DROP COLUMN _steward_side', tbl));
        RETURN NEXT 'dropped column _steward_side';
    END IF;
    FOR c IN SELECT a.attname FROM pg_attribute a
              WHERE a.attrelid = tbl AND a.attnum > 0 AND NOT a.attisdropped
                AND starts_with(a.attname::text, '_steward_') ORDER BY a.attnum LOOP
        RETURN NEXT format('kept column %I (drop or rename it if the migration made it)', c.attname);
    END LOOP;
END
$$;
COMMENT ON FUNCTION steward.migration_forget(regclass) IS
  'remove the triggers, marker column and NOT VALID constraints a migration left on a table restored without its record';
