--------------------------------------------------------------------------
-- Operations: read-your-writes tokens, verify, checksum ranges (src/ops)
--------------------------------------------------------------------------

-- Read-your-writes tokens: "TLI/LSN", the timeline and the end of the
-- session's last commit record (src/ops/README.md).
CREATE FUNCTION steward.write_token()
RETURNS text
AS 'MODULE_PATHNAME', 'steward_write_token_0_2'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.write_token() IS
  'timeline and commit LSN (''TLI/LSN'') of this session''s last write transaction (NULL before any)';

CREATE PROCEDURE steward.wait_for_token(token text, timeout_ms integer DEFAULT 1000)
AS 'MODULE_PATHNAME', 'steward_wait_for_token_0_2'
LANGUAGE C;
COMMENT ON PROCEDURE steward.wait_for_token(text, integer) IS
  'return once this server has the token''s write; error after timeout_ms, or at once if this server will never have it (holds no snapshot while waiting)';

CREATE FUNCTION steward.replica_caught_up(token text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_replica_caught_up_0_2'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.replica_caught_up(text) IS
  'true once this server has the token''s write; false while it has not, also for a write it will never have; never blocks';

-- The pages first: amcheck's verify_heapam through steward.verify_heap
-- (steward tables are heap pages).  steward.verify() runs this part as the
-- caller - amcheck evaluates nothing a table owner defined, and EXECUTE on
-- steward.verify_heap is the caller's to have - before it switches to the
-- table's owner for the rest; a damaged heap ends the verification there.
CREATE FUNCTION steward._verify_heap_check(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
BEGIN
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) IN ('r', 'm') THEN
        "check" := 'heap';
        IF NOT has_function_privilege(
                'steward.verify_heap(regclass, boolean, boolean, text, bigint, bigint)', 'EXECUTE') THEN
            passed := NULL;
            detail := 'not checked: needs EXECUTE on steward.verify_heap (not granted to PUBLIC)';
            RETURN NEXT;
        ELSE
            BEGIN
                SELECT count(*),
                       (array_agg(format('block %s, offset %s%s: %s', v.blkno, v.offnum,
                                         coalesce(', attribute ' || v.attnum, ''), v.msg)
                                  ORDER BY v.blkno, v.offnum))[1]
                  INTO n, detail
                  FROM steward.verify_heap(tbl) v;
                passed := n = 0;
                detail := CASE WHEN n = 0 THEN 'pages and tuples intact (amcheck verify_heapam)'
                               ELSE format('%s (see steward.verify_heap); first: %s', steward._relayout_count(n, 'problem', 'problems'), detail) END;
            EXCEPTION WHEN undefined_file THEN
                n := 0;
                passed := NULL;
                detail := 'not checked: the amcheck module is not installed';
            END;
            RETURN NEXT;
        END IF;
    END IF;
END
$$;

-- Refuses anyone but the owner of tbl: the parts of steward.verify() below
-- evaluate operators, casts and index expressions the owner defined, so
-- they run only as that owner (steward.verify switches to them,
-- restricted); fn names the part in the error.  PUBLIC may call it.  A
-- table that does not exist (an OID naming none, 0 included: codereview12
-- Q6, it said "owner of -") is 42P01 as core's "relation with OID %u does
-- not exist"; a NULL table 22004, as steward_require_arg says it.
CREATE FUNCTION steward._verify_as_owner(tbl regclass, fn text)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tbl) THEN
        RAISE EXCEPTION 'relation with OID % does not exist', tbl::oid USING ERRCODE = 'undefined_table';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner
                    WHERE c.oid = tbl AND o.rolname = current_user) THEN
        RAISE EXCEPTION '% runs only as the owner of relation "%"', fn, steward._relation_name(tbl)
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call steward.verify().';
    END IF;
END
$$;

-- Part of steward.verify(), run as the owner of tbl: one row per unique or
-- primary key index, checked exactly as the index enforces it: its key
-- columns or expressions, its predicate, NULLS [NOT] DISTINCT.  An index a
-- failed CREATE INDEX CONCURRENTLY left INVALID enforces nothing: it is
-- reported (passed NULL), not checked.
CREATE FUNCTION steward._verify_unique(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    r record;
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_unique');
    FOR r IN SELECT i.indexrelid::regclass AS idx, i.indisvalid, i.indnullsnotdistinct,
                    (SELECT string_agg('(' || pg_get_indexdef(i.indexrelid, k, true) || ')', ', ' ORDER BY k)
                       FROM generate_series(1, i.indnkeyatts) k) AS keys,
                    (SELECT string_agg('(' || pg_get_indexdef(i.indexrelid, k, true) || ') IS NOT NULL', ' AND ')
                       FROM generate_series(1, i.indnkeyatts) k) AS nn,
                    coalesce(pg_get_expr(i.indpred, i.indrelid, true), 'true') AS pred
               FROM pg_index i
              WHERE i.indrelid = tbl AND i.indisunique
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                 WHERE c.conindid = i.indexrelid AND c.contype = 'x')
              ORDER BY i.indexrelid LOOP
        "check" := format('unique %s', r.idx);
        IF NOT r.indisvalid THEN
            passed := NULL;
            detail := 'not checked: the index is INVALID (a failed CREATE INDEX CONCURRENTLY) and enforces nothing; drop it and build it again';
            RETURN NEXT;
            CONTINUE;
        END IF;
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE (%s)%s GROUP BY %s HAVING count(*) > 1) d',
                       steward._relation_scan(tbl), r.pred,
                       CASE WHEN r.indnullsnotdistinct THEN '' ELSE ' AND ' || r.nn END,
                       r.keys) INTO n;
        passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'no duplicates' ELSE steward._relayout_count(n, 'duplicated key', 'duplicated keys') END;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Part of steward.verify(), run as the owner of tbl: one row per exclusion
-- constraint, checked exactly as enforced: the index's columns or
-- expressions compared with the constraint's operators, under its
-- predicate.  Built-in "=" on both sides groups (one pass); any other
-- operator compares pairs of rows (the planner can use the index).
CREATE FUNCTION steward._verify_exclusion(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    r record;
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_exclusion');
    FOR r IN SELECT c.conname, i.indexrelid::regclass AS idx, i.indisvalid,
                    coalesce(pg_get_expr(i.indpred, i.indrelid, true), 'true') AS pred,
                    bool_and(o.oprname = '=' AND o.oprleft = o.oprright
                             AND o.oprnamespace = 'pg_catalog'::regnamespace) AS builtin_eq,
                    string_agg('(' || pg_get_indexdef(i.indexrelid, k.ord::int, true) || ')', ', '
                               ORDER BY k.ord) AS keys,
                    string_agg('(' || pg_get_indexdef(i.indexrelid, k.ord::int, true) || ') IS NOT NULL',
                               ' AND ') AS nn,
                    string_agg(format('(%s) AS k%s', pg_get_indexdef(i.indexrelid, k.ord::int, true), k.ord),
                               ', ' ORDER BY k.ord) AS key_cols,
                    string_agg(format('a.k%s OPERATOR(%I.%s) b.k%s', k.ord, ns.nspname, o.oprname, k.ord),
                               ' AND ' ORDER BY k.ord) AS pair_cond
               FROM pg_constraint c
               JOIN pg_index i ON i.indexrelid = c.conindid
               CROSS JOIN LATERAL unnest(c.conexclop) WITH ORDINALITY k(op, ord)
               JOIN pg_operator o ON o.oid = k.op
               JOIN pg_namespace ns ON ns.oid = o.oprnamespace
              WHERE c.conrelid = tbl AND c.contype = 'x'
              GROUP BY c.conname, i.indexrelid, i.indisvalid, i.indpred, i.indrelid
              ORDER BY c.conname LOOP
        "check" := format('exclusion %I', r.conname);
        IF NOT r.indisvalid THEN
            passed := NULL;
            detail := 'not checked: its index is INVALID and enforces nothing';
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF r.builtin_eq THEN
            EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE (%s) AND %s GROUP BY %s HAVING count(*) > 1) d',
                           steward._relation_scan(tbl), r.pred, r.nn, r.keys) INTO n;
            passed := n = 0;
            detail := CASE WHEN n = 0 THEN 'no conflicting rows' ELSE steward._relayout_count(n, 'conflicting key', 'conflicting keys') END;
        ELSE
            EXECUTE format('SELECT count(*) FROM (SELECT ctid AS tid, %2$s FROM %1$s WHERE (%3$s)) a, '
                           '(SELECT ctid AS tid, %2$s FROM %1$s WHERE (%3$s)) b '
                           'WHERE a.tid OPERATOR(pg_catalog.<) b.tid AND %4$s',
                           steward._relation_scan(tbl), r.key_cols, r.pred, r.pair_cond) INTO n;
            passed := n = 0;
            detail := CASE WHEN n = 0 THEN 'no conflicting rows' ELSE steward._relayout_count(n, 'conflicting pair of rows', 'conflicting pairs of rows') END;
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Part of steward.verify(), run as the owner of tbl: one row per foreign
-- key of tbl, passed when every row has its parent.  The parent's key is
-- compared with the constraint's own operators (conpfeqop); MATCH FULL
-- also refuses partly-NULL keys; a NOT VALID key is not enforced for
-- existing rows, so it is not checked (passed NULL), nor a parent the
-- owner may not read, nor one whose owner may not read it (its schema's
-- USAGE or SELECT revoked).  A parent with the same owner is joined in
-- one statement; a parent another role owns is never named in a
-- statement run here: planning it would run its owner's index
-- expressions and policies with this owner's rights.  Its keys are looked
-- up as its owner (steward._verify_fk_orphans, C), as core's RI checks
-- do; so is a parent whose policies apply to its owner (FORCE ROW LEVEL
-- SECURITY), which the lookup, like core's, does not apply.  So is a
-- partitioned parent any of whose partitions another role owns: each
-- partition is looked up as its own owner, never planned as the owner of
-- the partitioned table.
-- A key referencing a partitioned table has, besides its own row, one
-- pg_constraint row per partition of that table, with the same
-- referencing table and the key's row as parent (conparentid): those
-- hold the partitions' action triggers and are part of the key, checked
-- once, against the whole partitioned table (before, each was checked
-- against its partition alone, and every row was "without a parent" in
-- the partitions it is not in).  A key of a partition, inherited from
-- its partitioned table (its parent row's table is another), is the
-- partition's own: verify() of the partition checks it.
CREATE FUNCTION steward._verify_foreign_keys(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    r record;
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_foreign_keys');
    FOR r IN SELECT c.oid AS con, c.conname, c.confrelid::regclass AS parent, c.convalidated,
                    c.confmatchtype = 'f' AS match_full,
                    pc.relowner AS parent_owner, pc.relnamespace::regnamespace AS parent_nsp,
                    pc.relowner = tc.relowner AND NOT pc.relforcerowsecurity
                    AND NOT EXISTS (SELECT 1 FROM pg_partition_tree(c.confrelid) pt
                                      JOIN pg_class x ON x.oid = pt.relid
                                     WHERE x.relowner <> pc.relowner) AS joinable,
                    (SELECT min(format('%s, the owner of its partition %s', x.relowner::regrole, x.oid::regclass))
                       FROM pg_partition_tree(c.confrelid) pt JOIN pg_class x ON x.oid = pt.relid
                      WHERE pt.isleaf AND x.relowner <> pc.relowner
                        AND (NOT has_schema_privilege(x.relowner, x.relnamespace, 'USAGE')
                             OR NOT has_table_privilege(x.relowner, x.oid, 'SELECT'))) AS blind_part_owner,
                    CASE WHEN tc.relkind = 'p' THEN '' ELSE 'ONLY ' END AS t_only,
                    CASE WHEN pc.relkind = 'p' THEN '' ELSE 'ONLY ' END AS p_only,
                    string_agg(format('p.%I OPERATOR(%I.%s) t.%I', pa.attname, ns.nspname,
                                      o.oprname, ca.attname), ' AND ') AS cond,
                    string_agg(format('t.%I IS NOT NULL', ca.attname), ' AND ') AS nn,
                    string_agg(format('t.%I IS NULL', ca.attname), ' OR ') AS anynull,
                    string_agg(format('t.%I IS NULL', ca.attname), ' AND ') AS allnull
               FROM pg_constraint c
               JOIN pg_class tc ON tc.oid = c.conrelid
               JOIN pg_class pc ON pc.oid = c.confrelid
               CROSS JOIN LATERAL unnest(c.conkey, c.confkey, c.conpfeqop) k(child, par, op)
               JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = k.child
               JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.par
               JOIN pg_operator o ON o.oid = k.op
               JOIN pg_namespace ns ON ns.oid = o.oprnamespace
              WHERE c.conrelid = tbl AND c.contype = 'f'
                AND NOT EXISTS (SELECT 1 FROM pg_constraint pk
                                 WHERE pk.oid = c.conparentid AND pk.conrelid = c.conrelid)
              GROUP BY c.oid, c.conname, c.confrelid, c.convalidated, c.confmatchtype,
                       pc.relowner, pc.relnamespace, pc.relforcerowsecurity, pc.relkind,
                       tc.relowner, tc.relkind
              ORDER BY c.conname LOOP
        "check" := format('foreign key %I', r.conname);
        IF NOT r.convalidated THEN
            passed := NULL;
            detail := 'not checked: NOT VALID (not enforced for existing rows; VALIDATE CONSTRAINT checks them)';
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF NOT has_table_privilege(r.parent, 'SELECT') THEN
            passed := NULL;
            detail := format('not checked: the owner of %s may not read %s', tbl, r.parent);
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF NOT has_schema_privilege(r.parent_owner, r.parent_nsp, 'USAGE')
           OR NOT has_table_privilege(r.parent_owner, r.parent, 'SELECT') THEN
            passed := NULL;
            detail := format('not checked: %s, the owner of %s, may not read it (USAGE on schema %s or SELECT revoked)',
                             r.parent_owner::regrole, r.parent, r.parent_nsp);
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF r.blind_part_owner IS NOT NULL THEN
            passed := NULL;
            detail := format('not checked: %s, may not read it (USAGE on its schema or SELECT revoked)',
                             r.blind_part_owner);
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF r.joinable THEN
            EXECUTE format('SELECT count(*) FROM %s%s t WHERE %s AND NOT EXISTS (SELECT 1 FROM %s%s p WHERE %s)',
                           r.t_only, tbl, r.nn, r.p_only, r.parent, r.cond) INTO n;
        ELSE
            n := steward._verify_fk_orphans(r.con);
        END IF;
        IF r.match_full THEN
            -- Partly NULL: refused; all NULL: needs no parent.
            EXECUTE format('SELECT %s + count(*) FROM %s%s t WHERE (%s) AND NOT (%s)',
                           n, r.t_only, tbl, r.anynull, r.allnull) INTO n;
        END IF;
        passed := n = 0;
        detail := CASE WHEN n = 0 THEN format('every row has its %s', r.parent)
                       ELSE format('%s without a parent in %s', steward._relayout_count(n, 'row', 'rows'), r.parent) END;
        RETURN NEXT;
    END LOOP;
END
$$;

-- The referencing rows of foreign key con whose parent is missing, the
-- parent looked up as its own owner (src/ops/verify.c); for
-- steward._verify_foreign_keys, which runs as the referencing table's
-- owner.  Refuses anyone else (42501).
CREATE FUNCTION steward._verify_fk_orphans(con oid)
RETURNS bigint
AS 'MODULE_PATHNAME', 'steward_verify_fk_orphans'
LANGUAGE C STRICT VOLATILE;

-- The rules of steward.column_rules that reach tbl: those declared on
-- tbl (depth 0) or on a partitioned ancestor of it (1 its parent, 2 the
-- parent's, ...), nearest first as the write path reads them (rules.c);
-- with above, a partitioned ancestor of tbl (the caller checks that),
-- without those declared on above or its ancestors, leaving those below
-- it.  What the parts of steward.verify() walk.
CREATE FUNCTION steward._rules_reaching(tbl regclass, above regclass)
RETURNS TABLE (relid regclass, attname name, kind text, machine text, changed_at name, depth bigint)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT cr.relid, cr.attname, cr.kind, cr.machine, cr.changed_at, up.depth
      FROM steward.column_rules cr
      -- A parent whose detach is pending included (_partition_ancestors).
      JOIN (SELECT tbl::oid, 0::bigint
            UNION ALL
            SELECT a.relid::oid, a.depth
              FROM steward._partition_ancestors(tbl) a) up (relid, depth) ON up.relid = cr.relid::oid
     WHERE above IS NULL
        OR (cr.relid <> above
            AND cr.relid NOT IN (SELECT a.relid FROM steward._partition_ancestors(above) a))
     ORDER BY up.depth, cr.kind, cr.attname
$$;

-- Part of steward.verify(), run as the owner of tbl: a failed row when
-- more state rules reach tbl (its own and its partitioned ancestors', on
-- columns the write path checks: rules.c add_state_rule) than pg_steward
-- enforces on one table.  Such a table is kept (a restore of a tree past
-- the cap, a row written into steward.column_rules, an empty partition
-- attached: WARNINGs only) and refuses INSERT, COPY and UPDATE with 54000
-- until one is detached; no row when within the cap.
CREATE FUNCTION steward._verify_state_cap(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    cols text;
    cap CONSTANT integer := 8;      -- STEWARD_MAX_STATE_RULES
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_state_cap');
    SELECT count(DISTINCT cr.attname),
           string_agg(format('%s (%s)', quote_ident(cr.attname), cr.relid::regclass), ', '
                      ORDER BY cr.attname, cr.relid::regclass::text)
      INTO n, cols
      FROM steward._rules_reaching(tbl, NULL) cr
     WHERE cr.kind = 'state'
       AND steward._rule_column_problem(tbl, cr.attname, cr.kind) IS NULL;
    IF n > cap THEN
        "check" := 'state machines'; passed := false;
        detail := format('%s state machines reach the relation (counting those of its partitioned ancestors), more than the %s pg_steward enforces on one table: '
                         'INSERT, COPY and UPDATE of it are refused until one is detached with steward.detach_state_machine(table, column); '
                         'the columns (and the tables they are declared on): %s',
                         n, cap, cols);
        RETURN NEXT;
    END IF;
END
$$;

-- Part of steward.verify(), run as the owner of tbl: a failed row when
-- version rules on two columns reach tbl (its own and its partitioned
-- ancestors', on bigint columns: rules.c add_rule).  track_versions and
-- an ATTACH of a table storing rows refuse that; an empty ATTACH, a
-- restored label and a row written into steward.column_rules keep it with
-- a WARNING, and the table refuses INSERT, COPY and UPDATE with 54000
-- until one is untracked; no row with one version column or none.
CREATE FUNCTION steward._verify_version_columns(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    cols text;
    near_rel regclass;
    near_col name;
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_version_columns');
    -- Nearest first (tbl, then its ancestors upwards), as the write path
    -- reads them: the first is the column it checks.
    SELECT count(DISTINCT cr.attname),
           string_agg(format('%I (%s)', cr.attname, cr.relid::regclass), ', ' ORDER BY cr.depth),
           (array_agg(cr.relid ORDER BY cr.depth))[1],
           (array_agg(cr.attname ORDER BY cr.depth))[1]
      INTO n, cols, near_rel, near_col
      FROM steward._rules_reaching(tbl, NULL) cr
     WHERE cr.kind = 'version'
       AND steward._rule_column_problem(tbl, cr.attname, cr.kind) IS NULL;
    IF n > 1 THEN
        "check" := 'version columns'; passed := false;
        detail := format('%s version columns reach the relation (counting those of its partitioned ancestors), and pg_steward checks one per table: '
                         'INSERT, UPDATE and COPY of it are refused (but for its owner''s COPY, a restore''s, which checks both) until one is untracked, as SELECT steward.untrack(%L, %L); '
                         'the columns (and the tables they are declared on), nearest first: %s',
                         n, near_rel::text, near_col, cols);
        RETURN NEXT;
    END IF;
END
$$;

-- Part of steward.verify(), run as the owner of tbl: a failed row when a
-- rule reaches tbl (its own or a partitioned ancestor's) and tbl, or a
-- partition below it that stores rows, is not a steward table (a rule
-- written under replica, a restore): the access method enforces the
-- rules, so that table's rows meet none (readme40 N1; tracked_columns
-- says so in "problem").  The row names the first such table and the
-- statement that converts it.  above, a partitioned ancestor of tbl, or
-- NULL: as for _verify_rule_rows, the rules declared on above or its
-- ancestors are left out (steward.verify(above) checked its whole tree
-- for them), leaving those declared below it (codereview41 K2).
CREATE FUNCTION steward._verify_rule_storage(tbl regclass, above regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cols text;
    bare regclass;
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_rule_storage');
    IF above IS NOT NULL THEN
        PERFORM steward._require_part_of(tbl, above);
    END IF;
    SELECT string_agg(DISTINCT format('%I', cr.attname), ', ') INTO cols
      FROM steward._rules_reaching(tbl, above) cr;
    IF cols IS NULL THEN
        RETURN;
    END IF;
    SELECT pc.oid::regclass INTO bare
      FROM pg_partition_tree(tbl) t
      JOIN pg_class pc ON pc.oid = t.relid
      LEFT JOIN pg_am pa ON pa.oid = pc.relam
     WHERE pc.relkind = 'r' AND pa.amname IS DISTINCT FROM 'steward'
     ORDER BY pc.oid::regclass::text LIMIT 1;
    IF bare IS NOT NULL THEN
        "check" := 'access method'; passed := false;
        detail := format('%s does not use access method steward: pg_steward enforces no rule on its rows (the rules of %s); '
                         'make it a steward table: ALTER TABLE %s SET ACCESS METHOD steward',
                         CASE WHEN bare = tbl THEN 'the relation' ELSE format('partition %s', bare) END,
                         cols, bare);
        RETURN NEXT;
    END IF;
END
$$;

-- Part of steward.verify(): why a state rule of tbl cannot check its
-- stored rows, NULL when its machine can be read.  A rule whose machine
-- is gone (missing: a TRUNCATE of the catalog, a catalog edited in
-- single-user mode, a rule older than 0.2's lock between attach and drop)
-- or whose definition the access method cannot read (a hand edit of the
-- catalog: steward._state_machine_problem, misc40): the access method
-- refuses rows entering or changing state.
CREATE FUNCTION steward._verify_machine_unreadable(tbl regclass, machine text, missing boolean)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    problem text;
BEGIN
    IF missing THEN
        RETURN format('state machine %s does not exist: rows cannot enter or change state in the column; %s', machine, CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid OPERATOR(pg_catalog.=) tbl::pg_catalog.oid AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass AND d.deptype OPERATOR(pg_catalog.=) 'e' AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'pg_steward'))
                             THEN 'a table of the extension: restore its built-in machines with steward.restore_builtin_machines()' ELSE 'detach the column (steward.detach_state_machine), then create the '
                             'machine and attach it again (the attach checks the stored rows)' END);
    END IF;
    problem := steward._state_machine_problem(machine);
    IF problem IS NOT NULL THEN
        RETURN format('%s: rows cannot enter or change state in the column; correct its row in steward.machine_definitions, or detach the machine', problem);
    END IF;
    RETURN NULL;
END
$$;

-- The tables under tbl (tbl itself when it stores rows) whose rows the
-- state rule of column col declared on rule_rel governs: the write path
-- loads, per column, the state rule of the partition itself, else of its
-- nearest partitioned ancestor that has one (src/tableam/rules.c,
-- add_state_rule: the first seen wins), so a partition with a machine of
-- its own on col is checked against that machine, not the parent's
-- (mach15's finding: verify(root) checked the root's machine over such a
-- partition's rows, which the access method had accepted).  NULL when
-- tbl has such tables and the rule governs none of them (a nearer rule
-- does everywhere): verify() leaves it out.  The query is the library's
-- (STEWARD_SQL_STATE_RULE_LEAVES, src/tableam/rules.h), which also runs it
-- for a database still at 0.1's SQL: one text (rules20 item 5).
CREATE FUNCTION steward._state_rule_leaves(tbl regclass, rule_rel regclass, col name)
RETURNS oid[]
AS 'MODULE_PATHNAME', 'steward_state_rule_leaves_sql'
LANGUAGE C STABLE;

-- Part of steward.verify(): the detail of a table's "versions" row, given
-- the count of its rows with a version below 1 (below) and without one
-- (nulls), both stored past the rule (session_replication_role = replica
-- stores rows as sent; a nullable column).  Below 1, the table's dump does
-- not restore until they are fixed (its COPY refuses them); NULL, a
-- client's WHERE version = :read never matches the row and a dump restores
-- it as 1 (review25 W1: "< 1" never counted NULL, so verify() said "all
-- versions >= 1" over them).  Formats only: reads no table.  STRICT: a
-- NULL argument gives NULL, not 22004 from format() (codereview13 R3).
CREATE FUNCTION steward._verify_versions_detail(tbl regclass, col name, below bigint, nulls bigint)
RETURNS text
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN below = 0 AND nulls = 0 THEN 'all versions >= 1'
                WHEN nulls = 0
                THEN format('%s with a version below 1: a dump of the table does not restore until fixed: '
                            'UPDATE %s SET %I = 1 WHERE %I < 1',
                            CASE WHEN below = 1 THEN '1 row' ELSE below || ' rows' END, tbl, col, col)
                ELSE format('%s without a version (NULL): WHERE %I = :read never matches %s and a dump of the table restores %s as 1%s: '
                            'UPDATE %s SET %I = 1 WHERE %I IS NULL OR %I < 1',
                            CASE WHEN nulls = 1 THEN '1 row' ELSE nulls || ' rows' END, col,
                            CASE WHEN nulls = 1 THEN 'it' ELSE 'them' END, CASE WHEN nulls = 1 THEN 'it' ELSE 'them' END,
                            CASE WHEN below = 0 THEN ''
                                 ELSE format('; %s with a version below 1, which it does not restore until fixed',
                                             CASE WHEN below = 1 THEN '1 row' ELSE below || ' rows' END) END,
                            tbl, col, col, col) END
$$;

-- Part of steward.verify(), run as the owner of tbl: one row per rule
-- pg_steward enforces on tbl (its own or a partitioned ancestor's:
-- versions >= 1, states the machine declares; a rule whose column is
-- missing or of a type its kind does not check, which enforces nothing,
-- and a changed_at column that is not stamped, as failed rows), over tbl's
-- rows alone (a partitioned table: with its partitions').  above, a
-- partitioned ancestor of tbl, or NULL: the rules declared on above or
-- its ancestors are left out (steward.verify(above) checked them over all
-- of above's rows), leaving those declared below it.
CREATE FUNCTION steward._verify_rule_rows(tbl regclass, above regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    nulls bigint;
    r record;
    states text[];
    leaves oid[];
    problem text;
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_rule_rows');
    IF above IS NOT NULL THEN
        PERFORM steward._require_part_of(tbl, above);
    END IF;
    FOR r IN SELECT cr.relid, cr.attname, cr.kind, cr.machine, cr.changed_at
               FROM steward._rules_reaching(tbl, above) cr
              ORDER BY cr.kind, cr.attname, cr.relid::text LOOP
        -- A rule whose column name names no column (a hand edit of the
        -- catalog, a rename in single-user mode), or a column of a type
        -- its kind does not check (a hand edit): the write path ignores
        -- it, and the counts below would fail 42703.  Listed with the
        -- statement that removes it, as set_state_check refuses it.
        problem := steward._rule_column_problem(tbl, r.attname, r.kind);
        IF problem IS NOT NULL THEN
            "check" := format('%s %I', CASE r.kind WHEN 'version' THEN 'versions' WHEN 'state' THEN 'states'
                                                   ELSE 'sequence' END, r.attname);
            passed := false;
            detail := CASE WHEN NOT EXISTS (SELECT 1 FROM pg_attribute a
                                             WHERE a.attrelid = tbl AND a.attname = r.attname
                                               AND NOT a.attisdropped)
                           THEN format('the rule of %s names column %I, which the relation does not have: pg_steward enforces no rule on it; ',
                                       r.relid::regclass, r.attname)
                           ELSE format('the %s rule of %s: %s; ', r.kind, r.relid::regclass, problem) END
                   || format('remove it as a superuser: DELETE FROM steward.column_rules WHERE relid = %L::regclass AND attname = %L; '
                             'then attach or track the right column',
                             r.relid::regclass::text, r.attname);
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF r.kind = 'version' THEN
            EXECUTE format('SELECT count(*) FILTER (WHERE %I < 1), count(*) FILTER (WHERE %I IS NULL) FROM %s',
                           r.attname, r.attname, steward._relation_scan(tbl)) INTO n, nulls;
            "check" := format('versions %I', r.attname); passed := n = 0 AND nulls = 0;
            detail := steward._verify_versions_detail(tbl, r.attname, n, nulls);
            RETURN NEXT;
        ELSIF r.kind = 'state' THEN
            leaves := steward._state_rule_leaves(tbl, r.relid, r.attname);
            CONTINUE WHEN leaves IS NULL;
            -- The public view: this body runs as the table owner.
            SELECT m.states INTO states FROM steward.state_machines m WHERE m.name = r.machine;
            detail := steward._verify_machine_unreadable(tbl, r.machine, states IS NULL);
            IF detail IS NOT NULL THEN
                "check" := format('states %I', r.attname); passed := false;
                RETURN NEXT;
                CONTINUE;
            END IF;
            -- Byte for byte, as the access method compares states; over the
            -- rows of the partitions this rule governs (mach15's finding).
            EXECUTE format('SELECT count(*) FROM %s WHERE (%I IS NULL OR NOT (%I::text COLLATE "C" = ANY ($1))) AND tableoid = ANY ($2)',
                           steward._relation_scan(tbl), r.attname, r.attname)
               INTO n USING states, leaves;
            "check" := format('states %I', r.attname); passed := n = 0;
            detail := CASE WHEN n = 0 THEN format('all rows in states of %s', r.machine)
                           ELSE format('%s that machine %s does not declare: a dump of the table does not restore until fixed: '
                                       'UPDATE such rows to declared states (SELECT * FROM %s WHERE %I IS NULL OR %I <> ALL (%L) lists them), '
                                       'or detach the machine',
                                       CASE WHEN n = 1 THEN '1 row in a state' ELSE n || ' rows in states' END,
                                       r.machine, tbl, r.attname, r.attname, states) END;
            RETURN NEXT;
            -- A changed_at naming no timestamptz column (a hand edit):
            -- the state rule holds, but nothing is stamped.
            problem := steward._rule_changed_at_problem(tbl, r.changed_at);
            IF problem IS NOT NULL THEN
                "check" := format('changed_at of states %I', r.attname); passed := false;
                detail := format('the state rule of %s: %s; clear it as a superuser: UPDATE steward.column_rules SET changed_at = NULL '
                                 'WHERE relid = %L::regclass AND attname = %L; or detach the machine and attach it again naming a timestamptz column',
                                 r.relid::regclass, problem, r.relid::regclass::text, r.attname);
                RETURN NEXT;
            END IF;
        END IF;
    END LOOP;
END
$$;

-- Part of steward.verify(), run as the owner of tbl: a failed row when
-- tbl or a partition below it is half detached (steward.
-- _detach_pending_problem: its former ancestors' rules still apply until
-- FINALIZE; review25 W3), none otherwise.
CREATE FUNCTION steward._verify_detach_pending(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_detach_pending');
    detail := steward._detach_pending_problem(tbl);
    IF detail IS NOT NULL THEN
        "check" := 'detach pending'; passed := false;
        RETURN NEXT;
    END IF;
END
$$;

-- Part of steward.verify(), run as the owner of tbl: one row per rule
-- pg_steward enforces on tbl (steward._verify_rule_rows), a failed row
-- when tbl is past the cap of state machines or two version columns reach
-- it, then one per steward_hash index (consistent with the table), and
-- a failed row when a partition of tbl (or tbl) is half detached.
CREATE FUNCTION steward._verify_rules(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_rules');
    RETURN QUERY SELECT * FROM steward._verify_rule_storage(tbl, NULL);
    RETURN QUERY SELECT * FROM steward._verify_rule_rows(tbl, NULL);
    RETURN QUERY SELECT * FROM steward._verify_state_cap(tbl);
    RETURN QUERY SELECT * FROM steward._verify_version_columns(tbl);
    RETURN QUERY SELECT * FROM steward._verify_hash_indexes(tbl);
    RETURN QUERY SELECT * FROM steward._verify_detach_pending(tbl);
END
$$;

-- Part of steward.verify(), run as the owner of tbl: one row per
-- steward_hash index of tbl, consistent with the table; an index a failed
-- or cancelled CREATE INDEX CONCURRENTLY left INVALID is not used by
-- queries and may lack rows or pages: it is reported (passed NULL), not
-- checked, as by _verify_unique.  On a hot standby verify_index refuses
-- (55000: replay could change the index under the check), so each index
-- is reported as not checked there, and the rest of verify() still runs
-- (review30 R1).
CREATE FUNCTION steward._verify_hash_indexes(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    r record;
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_hash_indexes');
    FOR r IN SELECT i.indexrelid::regclass AS idx, i.indisvalid
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               JOIN pg_am am ON am.oid = c.relam
              WHERE i.indrelid = tbl AND am.amname = 'steward_hash'
                AND c.relkind = 'i'
              ORDER BY i.indexrelid LOOP
        "check" := format('index %s', r.idx);
        IF NOT r.indisvalid THEN
            passed := NULL;
            detail := 'not checked: the index is INVALID (a failed or cancelled CREATE INDEX CONCURRENTLY); REINDEX or drop it';
            RETURN NEXT;
            CONTINUE;
        END IF;
        IF pg_is_in_recovery() THEN
            passed := NULL;
            detail := 'not checked: on a standby in recovery (replay could change the index under the check); run steward.verify_index on the primary or on a restored copy';
            RETURN NEXT;
            CONTINUE;
        END IF;
        SELECT count(*) INTO n FROM steward.verify_index(r.idx);
        passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'consistent' ELSE format('%s (see steward.verify_index)', steward._relayout_count(n, 'problem', 'problems')) END;
        RETURN NEXT;
    END LOOP;
END
$$;

-- Part of steward.verify(root) of a partitioned table root, run as the
-- owner of tbl, one of its leaf partitions: what the checks of root
-- cannot see, because it lives below root - the rules declared on tbl or
-- on a partitioned table between root and tbl, over tbl's rows and its
-- storage (tbl not a steward table: codereview41 K2) (a
-- partition's rows stored under session_replication_role = replica may
-- break them: mach14's finding), state machines past the cap or two
-- version columns (its own rules with its ancestors'), its exclusion constraints (PostgreSQL 15
-- has none on partitioned tables: an idempotency key of a partitioned
-- table is one per partition) and its steward_hash indexes (those of a
-- partitioned index are the partitions').  The keys, references and
-- rules of root are checked over all its rows by the parts above.
CREATE FUNCTION steward._verify_partition(tbl regclass, root regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_partition');
    PERFORM steward._require_part_of(tbl, root);
    RETURN QUERY SELECT * FROM steward._verify_rule_storage(tbl, root);
    RETURN QUERY SELECT * FROM steward._verify_rule_rows(tbl, root);
    RETURN QUERY SELECT * FROM steward._verify_state_cap(tbl);
    RETURN QUERY SELECT * FROM steward._verify_version_columns(tbl);
    RETURN QUERY SELECT * FROM steward._verify_exclusion(tbl);
    RETURN QUERY SELECT * FROM steward._verify_hash_indexes(tbl);
END
$$;

-- The text a row of tbl is hashed as in checksums: the row type's own
-- output (format %s), never a cast the owner may add.  For a partition
-- read on its own for its partitioned table root (steward.verify() and
-- steward.checksum_ranges() of a tree whose partitions have different
-- owners) the row is built with root's columns in root's order, so it
-- prints exactly as the row of root would (a partition may order its
-- columns otherwise, or have dropped ones).
CREATE FUNCTION steward._row_text_expr(tbl regclass, root regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN tbl = root THEN 'format(''%s'', t)'
                ELSE (SELECT 'format(''%s'', ROW(' || coalesce(string_agg(format('t.%I', a.attname), ', '
                                                                           ORDER BY a.attnum), '') || '))'
                        FROM pg_attribute a
                       WHERE a.attrelid = root AND a.attnum > 0 AND NOT a.attisdropped) END
$$;

-- How the checks below name tbl in a statement: a partitioned table with
-- its partitions, any other table ONLY itself.  Its keys cover no
-- inheritance child, whose rows are another table's (verified on its own,
-- as its owner: planning a child another role owns as tbl's owner would
-- run that role's index expressions with tbl's owner's rights).
CREATE FUNCTION steward._relation_scan(tbl regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN c.relkind = 'p' THEN '' ELSE 'ONLY ' END || tbl::text
      FROM pg_class c WHERE c.oid = tbl
$$;

-- Refuses a root that is neither tbl nor one of its partitioned
-- ancestors (22023): the parts below read tbl alone with root's row type.
CREATE FUNCTION steward._require_part_of(tbl regclass, root regclass)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF tbl IS DISTINCT FROM root
       AND NOT EXISTS (SELECT 1 FROM steward._partition_ancestors(tbl) a WHERE a.relid = root) THEN
        RAISE EXCEPTION 'relation "%" is not a partition of relation "%"', steward._relation_name(tbl), steward._relation_name(root)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$$;

-- Integrity of one table: what a restore drill or a migration checks.
-- steward.verify() (C, src/ops/verify.c) checks the caller's rights, locks
-- the table and runs this body as the table's owner under
-- SECURITY_RESTRICTED_OPERATION with settings pinned, so casts, operators
-- and index expressions the owner defined never run as the caller (a
-- superuser running a restore drill).  Called directly, the body refuses
-- anyone but the table's owner.
CREATE FUNCTION steward._verify_rows(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_rows');
    RETURN QUERY SELECT * FROM steward._verify_rows(tbl, tbl);
END
$$;

-- The body of steward._verify_rows(tbl), and, with root a partitioned
-- ancestor of tbl, the part of steward.verify(root) run as the owner of
-- its leaf partition tbl when the partitions of root have different
-- owners (src/ops/verify.c): tbl's rows alone, counted and hashed as rows
-- of root (steward.verify() adds the partitions' counts and checksums up),
-- and every key, reference and rule on tbl, those it has from root
-- included.  Refuses anyone but tbl's owner.
CREATE FUNCTION steward._verify_rows(tbl regclass, root regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    sum_hash numeric;
BEGIN
    PERFORM steward._verify_as_owner(tbl, 'steward._verify_rows');
    PERFORM steward._require_part_of(tbl, root);

    -- Row count and an order-independent checksum of the rows' text.
    EXECUTE format('SELECT count(*), coalesce(sum(hashtextextended(%s, 0)::numeric), 0) FROM %s t',
                   steward._row_text_expr(tbl, root), steward._relation_scan(tbl))
        INTO n, sum_hash;
    "check" := 'row_count'; passed := true; detail := n::text; RETURN NEXT;
    "check" := 'checksum'; passed := true;
    detail := to_hex(((sum_hash % 18446744073709551616 + 18446744073709551616)
                      % 18446744073709551616 - 9223372036854775808)::bigint);
    RETURN NEXT;

    -- The keys, references and pg_steward's rules, each a part of its own.
    RETURN QUERY SELECT * FROM steward._verify_unique(tbl);
    RETURN QUERY SELECT * FROM steward._verify_exclusion(tbl);
    RETURN QUERY SELECT * FROM steward._verify_foreign_keys(tbl);
    RETURN QUERY SELECT * FROM steward._verify_rules(tbl);
END
$$;

CREATE FUNCTION steward.verify(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
AS 'MODULE_PATHNAME', 'steward_verify'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.verify(regclass) IS
  'heap pages (amcheck), row count, checksum, unique/exclusion/foreign keys, versions, states and steward_hash indexes of a table (of a partitioned table: and of each partition)';

-- Count and checksum per key bucket, to compare two copies range by range.
-- Buckets are a hash of the key, so both copies bucket every key alike
-- whatever their row counts.  Keys and rows are hashed as their types'
-- own output (format %s), never through a cast the owner may add.
-- steward.checksum_ranges() (C) runs this body as the table's owner,
-- restricted, with the output settings pinned.
CREATE FUNCTION steward._checksum_ranges_rows(tbl regclass, key_col name, buckets integer)
RETURNS TABLE (bucket integer, rows bigint, checksum text, min_key text, max_key text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY SELECT r.bucket, r.rows, r.checksum, coalesce(r.min_key, ''), coalesce(r.max_key, '')
                   FROM steward._checksum_ranges_rows(tbl, tbl, key_col, buckets) r;
END
$$;

-- The body of steward._checksum_ranges_rows(tbl, ...), and, with root a
-- partitioned ancestor of tbl, the part of steward.checksum_ranges(root)
-- run as the owner of its leaf partition tbl when the partitions of root
-- have different owners (src/ops/verify.c adds the partitions' buckets
-- up): tbl's rows alone, hashed as rows of root.  typed: min_key and
-- max_key are in the key type's order (else the smallest and largest
-- key text, byte order), so the partitions' bounds can be merged alike;
-- NULL when the bucket has no key but NULL (the one-table form prints
-- '', as format('%s', NULL) does).
CREATE FUNCTION steward._checksum_ranges_rows(tbl regclass, root regclass, key_col name, buckets integer)
RETURNS TABLE (bucket integer, rows bigint, checksum text, min_key text, max_key text, typed boolean)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    scan text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_class c JOIN pg_roles o ON o.oid = c.relowner
                    WHERE c.oid = tbl AND o.rolname = current_user) THEN
        RAISE EXCEPTION 'steward._checksum_ranges_rows runs only as the owner of relation "%"', steward._relation_name(tbl)
            USING ERRCODE = 'insufficient_privilege', HINT = 'Call steward.checksum_ranges().';
    END IF;
    PERFORM steward._require_part_of(tbl, root);
    IF buckets IS NULL OR buckets < 1 OR buckets > 100000 THEN
        RAISE EXCEPTION 'buckets must be between 1 and 100000, got %', buckets
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = key_col
                                              AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', key_col, steward._relation_name(tbl)
            USING ERRCODE = 'undefined_column';
    END IF;
    scan := format('%s AS h FROM %s t) s GROUP BY b ORDER BY b',
                   'hashtextextended(' || steward._row_text_expr(tbl, root) || ', 0)::numeric',
                   steward._relation_scan(tbl));
    -- min_key/max_key in the key type's own order where it has min() and
    -- max() (numbers, text, dates, enums, ...); types without them (uuid,
    -- bool, bytea, ...) show the smallest and largest key text.
    BEGIN
        RETURN QUERY EXECUTE format(
            'SELECT b::int, count(*), '
            '       to_hex(((sum(h) %% 18446744073709551616 + 18446744073709551616) %% 18446744073709551616'
            '               - 9223372036854775808)::bigint), '
            '       CASE WHEN count(k) > 0 THEN format(''%%s'', min(k)) END, '
            '       CASE WHEN count(k) > 0 THEN format(''%%s'', max(k)) END, true '
            '  FROM (SELECT (hashtextextended(format(''%%s'', %I), 0) %% $1 + $1) %% $1 AS b, %I AS k, %s',
            key_col, key_col, scan) USING buckets;
    EXCEPTION WHEN undefined_function THEN
        RETURN QUERY EXECUTE format(
            'SELECT b::int, count(*), '
            '       to_hex(((sum(h) %% 18446744073709551616 + 18446744073709551616) %% 18446744073709551616'
            '               - 9223372036854775808)::bigint), '
            '       min(k COLLATE "C"), max(k COLLATE "C"), false '
            '  FROM (SELECT (hashtextextended(format(''%%s'', %I), 0) %% $1 + $1) %% $1 AS b, '
            '               format(''%%s'', %I) AS k, %s',
            key_col, key_col, scan) USING buckets;
    END;
END
$$;

CREATE FUNCTION steward.checksum_ranges(tbl regclass, key_col name, buckets integer DEFAULT 16)
RETURNS TABLE (bucket integer, rows bigint, checksum text, min_key text, max_key text)
AS 'MODULE_PATHNAME', 'steward_checksum_ranges'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.checksum_ranges(regclass, name, integer) IS
  'row count and checksum per hash bucket of a key column, to compare two copies of a table';

--------------------------------------------------------------------------
-- Roles that own pg_steward objects (review8 #10; src/ops/roles.c).
-- Idempotency scopes and state machines name their owner, and a machine
-- its grantees, by OID: core keeps no shared dependency for them.  The
-- library's utility hook calls these as the owner of the extension's
-- tables, in the database where the statement runs, so that DROP ROLE,
-- REASSIGN OWNED and DROP OWNED treat them as core treats its own objects.
--------------------------------------------------------------------------

-- What roles own or may use here, one line each, worded as DROP ROLE's
-- DETAIL words core's objects.
CREATE FUNCTION steward._role_objects(roles oid[])
RETURNS SETOF text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RETURN QUERY
    SELECT x.d FROM (
        SELECT 1 AS o, format('owner of idempotency scope %s', s.scope) AS d
          FROM steward.idempotency_scopes s WHERE s.owner::oid = ANY (roles)
        UNION ALL
        SELECT 2, format('owner of state machine %s', m.name)
          FROM steward.machine_definitions m WHERE m.owner::oid = ANY (roles)
        UNION ALL
        SELECT 3, format('privileges for state machine %s', m.name)
          FROM steward.machine_definitions m WHERE m.usage_roles::oid[] && roles) x
     ORDER BY x.o, x.d;
END
$$;
REVOKE ALL ON FUNCTION steward._role_objects(oid[]) FROM PUBLIC;

-- REASSIGN OWNED BY roles TO new_owner, after core's part (which checked
-- that the caller has the privileges of every role involved): the roles'
-- machines go to new_owner.  Their scopes are given away before this
-- runs, from C (src/ops/roles.c): each scope once the transactions using
-- it have ended (src/idempotency/README.md, "Scope locks").
CREATE FUNCTION steward._reassign_owned(roles oid[], new_owner oid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM steward._require_role(new_owner);
    UPDATE steward.machine_definitions m SET owner = new_owner::regrole
     WHERE m.owner::oid = ANY (roles);
END
$$;
REVOKE ALL ON FUNCTION steward._reassign_owned(oid[], oid) FROM PUBLIC;

-- DROP OWNED BY roles, after core's part (which checked the caller's
-- privileges and dropped the roles' tables, and with them their rules):
-- the roles' machine grants go, their machines go unless still attached
-- to another role's table (2BP01, from steward._drop_state_machine).
-- Their scopes go with their keys before this runs, from C
-- (src/ops/roles.c): each scope once the transactions that began keys in
-- it have ended (src/idempotency/README.md, "Scope locks").
CREATE FUNCTION steward._drop_owned(roles oid[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m text;
BEGIN
    UPDATE steward.machine_definitions d
       SET usage_roles = ARRAY(SELECT g FROM unnest(d.usage_roles) g WHERE NOT g::oid = ANY (roles))
     WHERE d.usage_roles::oid[] && roles;
    FOR m IN SELECT d.name FROM steward.machine_definitions d
              WHERE d.owner::oid = ANY (roles) ORDER BY d.name LOOP
        PERFORM steward._drop_state_machine(m);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION steward._drop_owned(oid[]) FROM PUBLIC;
