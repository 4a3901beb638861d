--------------------------------------------------------------------------
-- Releasing tables, and uninstalling without losing data (src/tableam,
-- release.c; issue 12 item 5)
--------------------------------------------------------------------------

-- The key columns of an index as CREATE INDEX / EXCLUDE elements: a column
-- or a parenthesized expression, with the index's collation when it is not
-- the column's own, and "WITH OPERATOR(...)" when exclusion operators are
-- given.
CREATE FUNCTION steward._index_elements(idx oid, ops oid[] DEFAULT NULL)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT string_agg(CASE WHEN x.attnum = 0
                       THEN '(' || pg_get_indexdef(i.indexrelid, x.ord::int, false) || ')'
                       ELSE quote_ident(a.attname) END
                  || CASE WHEN x.coll <> 0 AND x.coll IS DISTINCT FROM a.attcollation
                          THEN ' COLLATE ' || x.coll::regcollation::text ELSE '' END
                  || coalesce((SELECT format(' WITH OPERATOR(%I.%s)', n.nspname, o.oprname)
                                 FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
                                WHERE o.oid = ops[x.ord]), ''),
                  ', ' ORDER BY x.ord)
  FROM pg_index i
 CROSS JOIN LATERAL unnest(i.indkey::int2[], i.indcollation::oid[]) WITH ORDINALITY x(attnum, coll, ord)
  LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = x.attnum
 WHERE i.indexrelid = idx AND x.ord <= i.indnkeyatts
$$;

-- The core access method, btree or hash, that replaces the steward_hash
-- index idx with the same "=" for its key types (btree when every key type
-- has a btree comparison, hash for one key column with a hash function);
-- 0A000 naming the index and type when neither does.  release.c.
CREATE FUNCTION steward._release_method(idx regclass)
RETURNS text
AS 'MODULE_PATHNAME', 'steward_release_method'
LANGUAGE C STRICT STABLE;

-- The exclusion constraint a steward_hash index of tbl backs, as the two
-- ALTER TABLE subcommands that turn it into a core one under the same
-- name: UNIQUE when btree can replace it (steward._release_method), every
-- key is a plain column in its own collation and the index is not partial
-- (that is what "=" on every column with NULLs never conflicting means),
-- else EXCLUDE USING btree or hash with the same operators, predicate and
-- deferrability.  comment_cmd carries the
-- constraint's comment over.  All NULL when idx backs no exclusion
-- constraint (a plain index).  Reads the catalogs only; runs with the
-- caller's rights, like steward._release_table.
CREATE FUNCTION steward._release_exclusion(tbl regclass, idx oid, table_qualname text,
                                           OUT constraint_name name, OUT cmds text[],
                                           OUT comment_cmd text, OUT action text)
RETURNS record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
    k record;
    con record;
    elems text;
    tail text;
    stmt text;
    method text;
BEGIN
    SELECT i.indkey, i.indcollation, i.indpred IS NOT NULL AS partial, ic.reltablespace,
           pg_get_expr(i.indpred, i.indrelid) AS pred
      INTO r
      FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
     WHERE i.indexrelid = idx;

    -- UNIQUE can say it when every key is a plain column in its own
    -- collation.
    SELECT bool_and(x.attnum <> 0 AND (x.coll = 0 OR x.coll = a.attcollation)) AS plain
      INTO k
      FROM unnest(r.indkey::int2[], r.indcollation::oid[]) x(attnum, coll)
      LEFT JOIN pg_attribute a ON a.attrelid = tbl AND a.attnum = x.attnum;

    SELECT c.oid, c.conname, c.condeferrable, c.condeferred, c.conexclop,
           obj_description(c.oid, 'pg_constraint') AS comment
      INTO con
      FROM pg_constraint c
     WHERE c.conindid = idx AND c.conrelid = tbl AND c.contype = 'x';
    IF con.oid IS NULL THEN
        RETURN;
    END IF;
    method := steward._release_method(idx::regclass);

    tail := CASE WHEN r.reltablespace <> 0
                 THEN format(' USING INDEX TABLESPACE %I',
                             (SELECT t.spcname FROM pg_tablespace t WHERE t.oid = r.reltablespace))
                 ELSE '' END;
    IF method = 'btree' AND NOT r.partial AND k.plain THEN
        -- "=" on every column, NULLs never conflicting: that is UNIQUE.
        stmt := format('ADD CONSTRAINT %I UNIQUE (%s)%s', con.conname,
                       (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY x.ord)
                          FROM unnest(r.indkey::int2[]) WITH ORDINALITY x(attnum, ord)
                          JOIN pg_attribute a ON a.attrelid = tbl AND a.attnum = x.attnum),
                       tail);
    ELSE
        elems := steward._index_elements(idx, con.conexclop);
        stmt := format('ADD CONSTRAINT %I EXCLUDE USING %s (%s)%s%s', con.conname, method, elems, tail,
                       CASE WHEN r.partial THEN ' WHERE (' || r.pred || ')' ELSE '' END);
    END IF;
    stmt := stmt || CASE WHEN con.condeferrable THEN ' DEFERRABLE' ELSE '' END
                 || CASE WHEN con.condeferred THEN ' INITIALLY DEFERRED' ELSE '' END;
    constraint_name := con.conname;
    cmds := ARRAY[format('DROP CONSTRAINT %I', con.conname), stmt];
    IF con.comment IS NOT NULL THEN
        comment_cmd := format('COMMENT ON CONSTRAINT %I ON %s IS %L',
                              con.conname, table_qualname, con.comment);
    END IF;
    action := CASE WHEN method = 'btree' AND NOT r.partial AND k.plain
                   THEN 'EXCLUDE USING steward_hash -> UNIQUE (btree)'
                   ELSE 'EXCLUDE USING steward_hash -> EXCLUDE USING ' || method END;
END
$$;

-- The CREATE INDEX (btree or hash, steward._release_method), ATTACH PARTITION and COMMENT statements that
-- rebuild a steward_hash index root_idx (root_kind 'i'; 'I', a partitioned
-- index, with its whole tree of partition indexes) under the same names,
-- parents first, once the caller has dropped it.  Reads the catalogs only.
CREATE FUNCTION steward._release_index_tree(root_idx oid, root_kind "char")
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tree record;
    cols text;
    later text[] := '{}';
    method text := steward._release_method(root_idx::regclass);
BEGIN
    FOR tree IN SELECT t.relid AS idx, t.parentrelid AS parent_idx, t.level,
                       format('%I.%I', n.nspname, ic.relname) AS qualname, ic.relname,
                       ic.reltablespace, i.indrelid, tc.relkind AS table_kind,
                       pg_get_expr(i.indpred, i.indrelid) AS pred,
                       obj_description(ic.oid, 'pg_class') AS comment
                  FROM (SELECT p.relid, p.parentrelid, p.level
                          FROM pg_partition_tree(root_idx) p
                        UNION ALL   -- empty for an index that is not partitioned
                        SELECT root_idx, NULL, 0
                         WHERE root_kind = 'i') t
                  JOIN pg_class ic ON ic.oid = t.relid
                  JOIN pg_namespace n ON n.oid = ic.relnamespace
                  JOIN pg_index i ON i.indexrelid = t.relid
                  JOIN pg_class tc ON tc.oid = i.indrelid
                 ORDER BY t.level, ic.relname LOOP
        cols := steward._index_elements(tree.idx);
        later := later || format('CREATE INDEX %I ON %s%s USING %s (%s)%s%s',
                                 tree.relname,
                                 CASE WHEN tree.table_kind = 'p' THEN 'ONLY ' ELSE '' END,
                                 tree.indrelid::regclass, method, cols,
                                 CASE WHEN tree.reltablespace <> 0
                                      THEN format(' TABLESPACE %I',
                                                  (SELECT t.spcname FROM pg_tablespace t
                                                    WHERE t.oid = tree.reltablespace))
                                      ELSE '' END,
                                 CASE WHEN tree.pred IS NOT NULL THEN ' WHERE (' || tree.pred || ')'
                                      ELSE '' END);
        IF tree.parent_idx IS NOT NULL THEN
            later := later || format('ALTER INDEX %s ATTACH PARTITION %s',
                                     (SELECT format('%I.%I', n.nspname, c.relname)
                                        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                       WHERE c.oid = tree.parent_idx),
                                     tree.qualname);
        END IF;
        IF tree.comment IS NOT NULL THEN
            later := later || format('COMMENT ON INDEX %s IS %L', tree.qualname, tree.comment);
        END IF;
    END LOOP;
    RETURN later;
END
$$;

-- Run one statement of steward._release_table as the current user behind
-- the owner-code barrier (release.c): the index builds and rewrites it
-- makes run the owner's index expressions, predicates and domain checks,
-- and nothing they call passes for pg_steward's own code, even when
-- _release_table itself was trusted (sec5, closing45 noticed 1).  It
-- grants nothing: PUBLIC may call it.
CREATE FUNCTION steward._release_exec(stmt text)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_release_exec'
LANGUAGE C VOLATILE;

-- The DDL that turns one table into core objects: steward_hash indexes and
-- EXCLUDE constraints become btree (or hash) ones with the same names, the table
-- becomes heap.  Runs as the table's owner (steward.release switches to
-- them, restricted), so it is SECURITY INVOKER and checks ownership itself;
-- PUBLIC may call it because it can do nothing the caller could not do
-- with plain DDL.  Each statement runs behind the owner-code barrier
-- (steward._release_exec).
CREATE FUNCTION steward._release_table(tbl regclass)
RETURNS TABLE (object_type text, object_name text, action text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hash_am oid := (SELECT a.oid FROM pg_am a WHERE a.amname = 'steward_hash');
    table_am oid := (SELECT a.oid FROM pg_am a WHERE a.amname = 'steward');
    rel record;
    r record;
    con record;
    tree record;
    alter_cmds text[] := '{}';
    later text[] := '{}';
    stmt text;
BEGIN
    SELECT c.oid, c.relkind, c.relam, c.relowner,
           format('%I.%I', n.nspname, c.relname) AS qualname
      INTO rel
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = tbl;
    IF NOT pg_has_role(current_user, rel.relowner, 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of % %', CASE rel.relkind WHEN 'm' THEN 'materialized view' ELSE 'table' END,
                steward._relation_name(tbl) USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- Each steward_hash index in turn.  An exclusion constraint's index
    -- turns into a btree constraint of the same name: its subcommands join
    -- the one ALTER TABLE below (steward._release_exclusion).  A plain
    -- index is dropped now and built again as btree after that rewrite,
    -- with its tree of partition indexes (steward._release_index_tree).
    -- The index of a partition goes only with its partitioned parent, so
    -- that the tree is rebuilt whole.
    FOR r IN SELECT i.indexrelid, ic.relname, ic.relkind,
                    format('%I.%I', n.nspname, ic.relname) AS qualname
               FROM pg_index i
               JOIN pg_class ic ON ic.oid = i.indexrelid
               JOIN pg_namespace n ON n.oid = ic.relnamespace
              WHERE i.indrelid = tbl AND ic.relam = hash_am
              ORDER BY ic.relname LOOP
        IF EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = r.indexrelid) THEN
            SELECT h.inhparent::regclass AS parent_oid,
                   format('%s', pi.indrelid::regclass) AS parent_table
              INTO tree
              FROM pg_inherits h JOIN pg_index pi ON pi.indexrelid = h.inhparent
             WHERE h.inhrelid = r.indexrelid;
            RAISE EXCEPTION 'index "%" is a partition of index "%"', r.relname, steward._relation_name(tree.parent_oid)
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = format('Release the partitioned table first: SELECT * FROM steward.release(%L);',
                                    tree.parent_table);
        END IF;

        SELECT x.constraint_name, x.cmds, x.comment_cmd, x.action INTO con
          FROM steward._release_exclusion(tbl, r.indexrelid, rel.qualname) x;
        IF con.constraint_name IS NOT NULL THEN
            alter_cmds := alter_cmds || con.cmds;
            IF con.comment_cmd IS NOT NULL THEN
                later := later || con.comment_cmd;
            END IF;
            object_type := 'constraint'; object_name := con.constraint_name; action := con.action;
            RETURN NEXT;
            CONTINUE;
        END IF;

        -- A plain index, maybe partitioned: rebuild the whole tree of
        -- partition indexes with the same names, parents first.
        later := later || steward._release_index_tree(r.indexrelid, r.relkind);
        object_type := 'index'; object_name := r.relname;
        action := 'steward_hash -> ' || steward._release_method(r.indexrelid::regclass)
                  || CASE WHEN r.relkind = 'I' THEN ' (with its partition indexes)' ELSE '' END;
        PERFORM steward._release_exec(format('DROP INDEX %s', r.qualname));
        RETURN NEXT;
    END LOOP;

    IF rel.relkind IN ('r', 'm') AND rel.relam = table_am THEN
        alter_cmds := ARRAY['SET ACCESS METHOD heap'] || alter_cmds;
        object_type := CASE WHEN rel.relkind = 'm' THEN 'materialized view' ELSE 'table' END;
        object_name := tbl::text; action := 'steward -> heap';
        RETURN NEXT;
    END IF;
    -- One ALTER TABLE: the table is rewritten once and every index,
    -- including the new constraints' indexes, is built once.
    IF cardinality(alter_cmds) > 0 THEN
        PERFORM steward._release_exec(format('ALTER %s %s %s',
                       CASE WHEN rel.relkind = 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END,
                       rel.qualname, array_to_string(alter_cmds, ', ')));
    END IF;
    FOREACH stmt IN ARRAY later LOOP
        PERFORM steward._release_exec(stmt);
    END LOOP;
END
$$;

CREATE FUNCTION steward.release(tbl regclass)
RETURNS TABLE (relid regclass, object_type text, object_name text, action text)
AS 'MODULE_PATHNAME', 'steward_release'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.release(regclass) IS
  'turn a table (and its partitions) into core objects: heap storage, btree instead of steward_hash, rules dropped; the data stays';

CREATE FUNCTION steward.release_all()
RETURNS TABLE (relid regclass, object_type text, object_name text, action text)
AS 'MODULE_PATHNAME', 'steward_release_all'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.release_all() IS
  'release every steward table, steward_hash index and rule of the database, so that DROP EXTENSION pg_steward drops no user data';
REVOKE ALL ON FUNCTION steward.release_all() FROM PUBLIC;

-- DROP EXTENSION pg_steward, with or without CASCADE, and every command
-- that would drop it on the way (DROP SCHEMA steward CASCADE, DROP OWNED
-- BY its owner), is refused while user tables or indexes depend on the
-- access methods.  ENABLE ALWAYS: the guard also fires under
-- session_replication_role = replica.
CREATE FUNCTION steward._guard_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'steward_guard_drop'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._guard_drop() FROM PUBLIC;

CREATE EVENT TRIGGER steward_guard_drop ON ddl_command_start
    WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED', 'DROP ACCESS METHOD')
    EXECUTE FUNCTION steward._guard_drop();
ALTER EVENT TRIGGER steward_guard_drop ENABLE ALWAYS;
-- ALTER SCHEMA steward RENAME is refused (2BP01): every event trigger of
-- the extension names its objects steward.*, and CREATE TABLE and ALTER
-- TABLE of the whole database failed after it (review15 R15-8).
CREATE EVENT TRIGGER steward_guard_schema_rename ON ddl_command_start
    WHEN TAG IN ('ALTER SCHEMA')
    EXECUTE FUNCTION steward._guard_drop();
ALTER EVENT TRIGGER steward_guard_schema_rename ENABLE ALWAYS;
