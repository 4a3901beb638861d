--------------------------------------------------------------------------
-- Table access method "steward" (src/tableam)
--------------------------------------------------------------------------

CREATE FUNCTION steward.steward_tableam_handler(internal)
RETURNS table_am_handler
AS 'MODULE_PATHNAME', 'steward_tableam_handler'
LANGUAGE C;

CREATE ACCESS METHOD steward TYPE TABLE HANDLER steward.steward_tableam_handler;
COMMENT ON ACCESS METHOD steward IS
  'heap storage that enforces optimistic row versions and monotonic sequences';

-- Per-table column rules.  Stored by column name (attribute numbers do not
-- survive pg_dump) and dumped with the database.
CREATE TABLE steward.column_rules (
    relid       regclass    NOT NULL,
    attname     name        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('version', 'sequence', 'state')),
    machine     text,       -- kind 'state': steward.machine_definitions.name
    changed_at  name,       -- kind 'state': timestamptz column set on change
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (relid, attname),
    CHECK ((kind = 'state') = (machine IS NOT NULL)),
    CHECK (kind = 'state' OR changed_at IS NULL)
);
CREATE UNIQUE INDEX column_rules_one_version
    ON steward.column_rules (relid) WHERE kind = 'version';
SELECT pg_catalog.pg_extension_config_dump('steward.column_rules', '');
REVOKE ALL ON steward.column_rules FROM PUBLIC;
GRANT SELECT ON steward.column_rules TO PUBLIC;

-- Every change of a rule, whatever its origin (API, pg_restore, hand edit),
-- invalidates the relcache entries that cache the rules.
CREATE FUNCTION steward._column_rules_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'steward_column_rules_changed'
LANGUAGE C;

REVOKE ALL ON FUNCTION steward._column_rules_changed() FROM PUBLIC;

CREATE TRIGGER column_rules_changed
    AFTER INSERT OR UPDATE OR DELETE ON steward.column_rules
    FOR EACH ROW EXECUTE FUNCTION steward._column_rules_changed();
-- Under session_replication_role = replica (a dump loaded so, a hand edit,
-- an apply worker) the row is stored as sent and the trigger above does
-- not fire; this one (ENABLE REPLICA: only then) resets every session's
-- cached rules of the table and, outside a logical replication worker
-- (whose row may name another cluster's relation), rewrites the column's
-- label; it refuses nothing.
CREATE TRIGGER column_rules_replica
    AFTER INSERT OR UPDATE OR DELETE ON steward.column_rules
    FOR EACH ROW EXECUTE FUNCTION steward._column_rules_changed();
ALTER TABLE steward.column_rules ENABLE REPLICA TRIGGER column_rules_replica;

-- A TRUNCATE of steward.column_rules fires no row trigger: other sessions
-- kept enforcing the rules they had cached, the columns kept their
-- security labels (a dump brought the rules back), and the rule of
-- steward.migration_runs.phase, which a DELETE of its row may not remove
-- (refuse_extension_rule_change), went with the others (mach14's
-- finding, codereview10 C1).  Refused (55000), under
-- session_replication_role = replica too (ENABLE ALWAYS), except in the
-- extension's scripts and in a logical replication worker, whose
-- TRUNCATE is applied as sent and every rule's table is sent an
-- invalidation.  A superuser who disables the trigger goes around it.
CREATE FUNCTION steward._column_rules_truncate()
RETURNS trigger
AS 'MODULE_PATHNAME', 'steward_column_rules_truncate'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._column_rules_truncate() FROM PUBLIC;
CREATE TRIGGER column_rules_truncate
    BEFORE TRUNCATE ON steward.column_rules
    FOR EACH STATEMENT EXECUTE FUNCTION steward._column_rules_truncate();
ALTER TABLE steward.column_rules ENABLE ALWAYS TRIGGER column_rules_truncate;

CREATE FUNCTION steward.track_versions(tbl regclass, col name)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_track_versions'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.track_versions(regclass, name) IS
  'enforce optimistic versions in a bigint column of a steward table';

CREATE FUNCTION steward.track_sequence(tbl regclass, col name)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_track_sequence'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.track_sequence(regclass, name) IS
  'refuse updates that lower an integer column of a steward table';

CREATE FUNCTION steward.untrack(tbl regclass, col name)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_untrack'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.untrack(regclass, name) IS
  'stop enforcing the version or sequence rule of a column';

-- Why a rule row of tbl enforces nothing, NULL when its column is there
-- and of a type its kind checks: the write path (rules.c add_rule) skips
-- a rule naming a column the relation does not have, or one of another
-- type (a row written into steward.column_rules by hand, which gets only
-- a WARNING; track_versions, track_sequence and attach_state_machine
-- refuse both).  For steward.tracked_columns and verify() (readme39 M2).
CREATE FUNCTION steward._rule_column_problem(tbl regclass, col name, kind text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
             -- A hand-written row naming a view, index, sequence, ...
             -- (refused under origin, 42809; stored under replica).
             WHEN c.relkind NOT IN ('r', 'p')
             THEN format('%s is %s, not a table: pg_steward enforces no rule on it; '
                         'remove it as a superuser: DELETE FROM steward.column_rules WHERE relid = %L::regclass AND attname = %L',
                         tbl, CASE c.relkind WHEN 'v' THEN 'a view' WHEN 'm' THEN 'a materialized view'
                                             WHEN 'S' THEN 'a sequence' WHEN 'c' THEN 'a composite type'
                                             WHEN 'i' THEN 'an index' WHEN 'I' THEN 'a partitioned index'
                                             WHEN 'f' THEN 'a foreign table' WHEN 't' THEN 'a TOAST table'
                                             ELSE 'a relation of another kind' END,
                         tbl::text, col)
             WHEN a.attnum IS NULL
             THEN format('column %I does not exist: pg_steward enforces no rule on it', col)
             WHEN a.attnum < 0
             THEN format('column %I is a system column: pg_steward enforces no rule on it', col)
             WHEN (kind = 'version' AND a.atttypid <> 'int8'::regtype)
               OR (kind = 'sequence' AND a.atttypid NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype))
               OR (kind = 'state' AND a.atttypid NOT IN ('text'::regtype, 'varchar'::regtype))
             THEN format('column %I is of type %s, which a %s rule does not check: pg_steward enforces no rule on it',
                         col, a.atttypid::regtype, kind)
           END
      FROM (VALUES (1)) one (x)
      LEFT JOIN pg_class c ON c.oid = tbl
      LEFT JOIN pg_attribute a
             ON a.attrelid = tbl AND a.attname = col AND NOT a.attisdropped
$$;

-- Why a state rule of tbl stamps nothing when the state changes, NULL when
-- it has no changed_at or one of type timestamptz: the write path
-- (rules.c add_state_rule) ignores any other, while the state rule itself
-- stays enforced.
CREATE FUNCTION steward._rule_changed_at_problem(tbl regclass, changed_at name)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE
             WHEN changed_at IS NULL THEN NULL
             WHEN a.attnum IS NULL
             THEN format('changed_at column %I does not exist: the state rule is enforced, but no column is stamped when the state changes',
                         changed_at)
             WHEN a.attnum < 0
             THEN format('changed_at column %I is a system column: the state rule is enforced, but no column is stamped when the state changes',
                         changed_at)
             WHEN a.atttypid <> 'timestamptz'::regtype
             THEN format('changed_at column %I is of type %s, not timestamp with time zone: the state rule is enforced, but no column is stamped when the state changes',
                         changed_at, a.atttypid::regtype)
           END
      FROM (VALUES (1)) one (x)
      LEFT JOIN pg_attribute a
             ON a.attrelid = tbl AND a.attname = changed_at AND NOT a.attisdropped
$$;

-- Why a state rule of tbl refuses every write, NULL when its machine
-- can be read: steward_refuse_missing_machine (lifecycle/state_rules.c)
-- refuses (55000) each INSERT, COPY and UPDATE of the column while the
-- machine is gone (readme40 N5) or its definition malformed (a hand edit
-- of steward.machine_definitions, which steward._state_machine_problem,
-- the write path's own check, describes: misc40), so the rule stays
-- enforced but the table takes no new rows.  plpgsql: the C function and
-- steward.machine_definitions are created after this file
-- (src/lifecycle/lifecycle.sql).
CREATE FUNCTION steward._rule_machine_problem(tbl regclass, col name, kind text, machine text)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    unreadable text;
BEGIN
    IF kind <> 'state' OR machine IS NULL THEN
        RETURN NULL;
    END IF;
    unreadable := steward._state_machine_problem(machine);
    IF unreadable IS NULL THEN
        RETURN NULL;
    END IF;
    IF EXISTS (SELECT 1 FROM steward.machine_definitions d WHERE d.name = machine) THEN
        RETURN format('%s: the rule is enforced by refusing (55000) every INSERT and COPY into the table and every UPDATE of column %I; '
                      'correct the machine''s row in steward.machine_definitions (a built-in one: SELECT steward.restore_builtin_machines()), '
                      'or remove the rule: SELECT steward.detach_state_machine(%L, %L)',
                      unreadable, col, tbl::text, col);
    END IF;
    RETURN format('state machine %L does not exist: the rule is enforced by refusing (55000) every INSERT and COPY into the table and every UPDATE of column %I; '
                  'create the machine again with steward.create_state_machine() (a built-in one: SELECT steward.restore_builtin_machines()), '
                  'or remove the rule: SELECT steward.detach_state_machine(%L, %L)',
                  machine, col, tbl::text, col);
END
$$;

-- The partitioned ancestors of tbl, nearest first (depth 1 its parent, 2
-- the parent's, ...; none for a table that is no partition), including a
-- parent whose ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY is
-- pending (first phase committed, FINALIZE not): its rules still apply
-- to tbl's rows, but pg_partition_ancestors stops below it.  The write
-- path's own walk (steward_partition_ancestors in rules.c, review25 W3),
-- so SQL and C agree on which rules reach a table.  Every SQL walk up a
-- partition tree uses this one.
CREATE FUNCTION steward._partition_ancestors(tbl regclass)
RETURNS TABLE (relid regclass, depth integer)
LANGUAGE C STABLE STRICT
AS 'MODULE_PATHNAME', 'steward_partition_ancestors_sql';

-- Why a version rule of tbl refuses every write of a table it reaches,
-- NULL when no other version column reaches that table too: a table that
-- two reach (its own rule and a partitioned ancestor's, kept with a
-- WARNING by an empty ATTACH, a restored label or a row written into
-- steward.column_rules) refuses (54000) every INSERT, COPY and UPDATE
-- (steward_am.c refuse_two_version_columns), so the rule stays enforced
-- but that table takes no new rows, as verify()'s failed "version columns"
-- row says (vers13).  The topmost such table (tbl, then its partitions),
-- and the untrack of the nearer rule, as the write path's HINT.
CREATE FUNCTION steward._rule_version_problem(tbl regclass, col name, kind text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('%s has two version columns, %I (tracked on %s) and %I (tracked on %s), and pg_steward checks one per table: '
                  'the rule is enforced by refusing (54000) every INSERT and COPY into it and every UPDATE of its rows; '
                  'track one column in the whole tree: SELECT steward.untrack(%L, %L)',
                  CASE WHEN t.relid = tbl::oid THEN 'the relation' ELSE format('partition %s', t.relid::regclass) END,
                  col, tbl, o.other_col, o.other_rel,
                  CASE WHEN o.below THEN o.other_rel::text ELSE tbl::text END,
                  CASE WHEN o.below THEN o.other_col ELSE col END)
      FROM pg_partition_tree(tbl) t
      CROSS JOIN LATERAL (
           SELECT cr.relid AS other_rel, cr.attname AS other_col,
                  cr.relid::oid <> tbl::oid
                  AND cr.relid::oid IN (SELECT d.relid FROM pg_partition_tree(tbl) d) AS below
             FROM steward.column_rules cr
            WHERE cr.kind = 'version' AND cr.attname <> col
              AND cr.relid::oid IN (SELECT t.relid UNION ALL SELECT u.relid FROM steward._partition_ancestors(t.relid) u)
              AND steward._rule_column_problem(t.relid::regclass, cr.attname, 'version') IS NULL
            ORDER BY cr.relid::regclass::text LIMIT 1) o
     WHERE kind = 'version'
     ORDER BY t.level, t.relid::regclass::text
     LIMIT 1
$$;

-- Every partition at or below tbl (tbl included) whose ALTER TABLE ...
-- DETACH PARTITION ... CONCURRENTLY is pending (first phase committed,
-- second still waiting for older transactions or cancelled), with the
-- table it is half detached from: the walk down in C
-- (steward_pending_detaches in rules.c), which includes the partitions
-- pg_partition_tree leaves out, as steward._partition_ancestors walks up.
CREATE FUNCTION steward._pending_detaches(tbl regclass)
RETURNS TABLE (part regclass, parent regclass)
LANGUAGE C STABLE STRICT
AS 'MODULE_PATHNAME', 'steward_pending_detaches_sql';

-- The words of every report of a half-detached partition part (of
-- parent): why, "its ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY has
-- not finished (it is still waiting for older transactions to end, or it
-- was cancelled)", and step, "let a running detach finish, or finish a
-- cancelled one (ALTER TABLE parent DETACH PARTITION part FINALIZE;)";
-- capital starts both with an upper-case letter.  The C builder the
-- refusals of the configuring functions and of release use
-- (steward_half_detached_why and _step in rules_api.c), so the reports
-- written in SQL cannot drift from them (evolve12).
CREATE FUNCTION steward._half_detached_words(part regclass, parent regclass, capital boolean,
                                             OUT why text, OUT step text)
RETURNS record
LANGUAGE C STABLE STRICT
AS 'MODULE_PATHNAME', 'steward_half_detached_words_sql';

-- Why a rule of tbl is left half applied: tbl or a partition below it is
-- half detached (ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY whose
-- second phase is still waiting for older transactions or was
-- cancelled: pg_inherits row pending), NULL when none.  The rules of its
-- former ancestors still apply to its rows (the write path walks up
-- through a pending parent, review25 W3) and a transaction whose snapshot
-- predates the detach still writes it through the parent, until the
-- detach finishes: by itself once the older transactions end, or by
-- FINALIZE after a cancel.  Nothing tells the two apart without waiting,
-- so the problem says both, in the words of the relayout's refusal
-- (steward._half_detached_words; it said "did not finish" while the
-- detach was still waiting, part3).  The tree is
-- steward._pending_detaches' (pg_partition_tree leaves out a partition
-- whose detach is pending).
CREATE FUNCTION steward._detach_pending_problem(tbl regclass)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('partition %s is half detached from %s: %s; '
                  'the rules of %s and its ancestors still apply to its rows until the detach finishes; %s',
                  d.part, d.parent, w.why, d.parent, w.step)
      FROM steward._pending_detaches(tbl) d,
           steward._half_detached_words(d.part, d.parent, false) w
     ORDER BY d.part::text
     LIMIT 1
$$;

-- enforced: the rule holds on every write of the table's rows; problem:
-- why not (NULL when enforced), or, for a rule that is, why it refuses
-- every write (its machine is gone, or a second version column reaches a
-- table it reaches), why its changed_at column is not stamped, or that a
-- partition it reaches is half detached.  A row naming no relation (stored as
-- sent under session_replication_role = replica; refused under origin,
-- review23 R5) is listed too, enforced = f, relid its OID.
CREATE VIEW steward.tracked_columns AS
SELECT r.relid,
       r.attname                AS column_name,
       r.kind,
       a.atttypid::regtype     AS data_type,
       c.oid IS NOT NULL AND p.column_problem IS NULL AND p.storage_problem IS NULL AS enforced,
       r.machine,
       r.changed_at             AS changed_at_column,
       r.created_at             AS tracked_since,
       CASE WHEN c.oid IS NULL
            THEN pg_catalog.format('relation with OID %s does not exist: pg_steward enforces no rule on it (a relation created later with that OID starts without it); '
                                   'remove it as a superuser: DELETE FROM steward.column_rules WHERE relid::oid = %s',
                                   r.relid::pg_catalog.oid, r.relid::pg_catalog.oid)
            ELSE coalesce(p.column_problem, p.storage_problem,
                          steward._rule_machine_problem(r.relid, r.attname, r.kind, r.machine),
                          steward._rule_version_problem(r.relid, r.attname, r.kind),
                          steward._rule_changed_at_problem(r.relid, r.changed_at),
                          steward._detach_pending_problem(r.relid)) END AS problem
  FROM steward.column_rules r
  LEFT JOIN pg_catalog.pg_class c ON c.oid = r.relid
  LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
  LEFT JOIN pg_catalog.pg_attribute a
         ON a.attrelid = r.relid AND a.attname = r.attname AND NOT a.attisdropped
  CROSS JOIN LATERAL (
       SELECT steward._rule_column_problem(r.relid, r.attname, r.kind) AS column_problem,
              -- A partitioned table's rule is enforced when every partition
              -- that stores rows is a steward table (foreign tables are
              -- another server's; the DDL guard, storage_guard.c, keeps it so).
              CASE WHEN c.relkind = 'p'
                   THEN (SELECT pg_catalog.format('partition %s does not use access method steward: pg_steward enforces no rule on its rows',
                                                  pc.oid::pg_catalog.regclass)
                           FROM pg_catalog.pg_partition_tree(c.oid) t
                           JOIN pg_catalog.pg_class pc ON pc.oid = t.relid
                           LEFT JOIN pg_catalog.pg_am pa ON pa.oid = pc.relam
                          WHERE pc.relkind = 'r'
                            AND pa.amname IS DISTINCT FROM 'steward'
                          ORDER BY pc.oid::pg_catalog.regclass::pg_catalog.text LIMIT 1)
                   WHEN am.amname IS DISTINCT FROM 'steward'
                   THEN 'the relation does not use access method steward: pg_steward enforces no rule on it'
              END AS storage_problem) p
 -- pg_steward's own rule (steward.migration_runs.phase) is not the user's.
 WHERE c.relnamespace IS DISTINCT FROM 'steward'::pg_catalog.regnamespace;
GRANT SELECT ON steward.tracked_columns TO PUBLIC;

-- Keep the rules consistent with DDL: dropping a table or a tracked column
-- drops its rules; renaming a tracked column renames the rule; changing the
-- type of a tracked column to one the rule cannot check is refused.
-- session_replication_role = origin: the triggers of steward.column_rules
-- (caches, labels, the state checks of a rule that goes) follow these
-- writes also when the DDL runs under replica (the event triggers are
-- ENABLE ALWAYS, the catalog's row triggers not: a subscriber's apply
-- must not run them on rows that name another cluster's OIDs).
CREATE FUNCTION steward._rules_on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET session_replication_role = origin
AS $$
BEGIN
    IF pg_catalog.to_regclass('steward.column_rules') IS NULL THEN
        RETURN;     -- the extension itself is being dropped
    END IF;
    -- Both writes below need a rule of a relation dropped or of one whose
    -- column was: one read instead of two writes for other drops (ddl2).
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_dropped_objects() d
                     JOIN steward.column_rules r ON r.relid::oid = d.objid
                    WHERE d.classid = 'pg_catalog.pg_class'::regclass) THEN
        RETURN;
    END IF;
    DELETE FROM steward.column_rules r
     USING pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::regclass
       AND r.relid::oid = d.objid
       AND (d.objsubid = 0
            OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = r.relid
                              AND a.attname = r.attname
                              AND NOT a.attisdropped));
    -- A dropped changed_at column is simply no longer maintained.
    UPDATE steward.column_rules r SET changed_at = NULL
      FROM pg_catalog.pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_catalog.pg_class'::regclass
       AND r.relid::oid = d.objid AND d.objsubid > 0
       AND r.changed_at IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid = r.relid
                          AND a.attname = r.changed_at
                          AND NOT a.attisdropped);
END
$$;

CREATE FUNCTION steward._rules_on_alter_table()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET session_replication_role = origin
AS $$
DECLARE
    cmd record;
    bad record;
    tree oid[];
    newname name;
BEGIN
    -- A table with no rule and no child has nothing to check: its tree is
    -- itself (one read per statement instead of two per command, ddl2).
    FOR cmd IN SELECT DISTINCT c.objid, c.objsubid
                 FROM pg_catalog.pg_event_trigger_ddl_commands() c
                WHERE c.classid = 'pg_catalog.pg_class'::regclass
                  AND (EXISTS (SELECT 1 FROM steward.column_rules r WHERE r.relid::oid = c.objid)
                       OR EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.objid)) LOOP
        -- ALTER TABLE recurses to partitions and inheritance children but
        -- reports the named table only: the rules of the whole tree below
        -- it are checked (a type change through a partitioned parent
        -- dropped a partition's version rule silently; recheck10 N1).
        tree := ARRAY(WITH RECURSIVE t(oid) AS (
                          SELECT cmd.objid
                          UNION
                          SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN t ON i.inhparent = t.oid)
                      SELECT t.oid FROM t);
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM steward.column_rules
                                   WHERE relid::oid = ANY (tree));
        -- RENAME COLUMN reports the renamed column as the subobject; a rule
        -- whose name vanished from its table follows it (in the children
        -- the column has the same new name).
        IF cmd.objsubid > 0 THEN
            newname := (SELECT a.attname FROM pg_catalog.pg_attribute a
                         WHERE a.attrelid = cmd.objid AND a.attnum = cmd.objsubid);
            UPDATE steward.column_rules r
               SET attname = newname
             WHERE r.relid::oid = ANY (tree)
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute x
                                WHERE x.attrelid = r.relid AND x.attname = r.attname
                                  AND NOT x.attisdropped)
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute x
                            WHERE x.attrelid = r.relid AND x.attname = newname
                              AND NOT x.attisdropped);
            UPDATE steward.column_rules r
               SET changed_at = newname
             WHERE r.relid::oid = ANY (tree)
               AND r.changed_at IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute x
                                WHERE x.attrelid = r.relid AND x.attname = r.changed_at
                                  AND NOT x.attisdropped)
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute x
                            WHERE x.attrelid = r.relid AND x.attname = newname
                              AND NOT x.attisdropped);
        END IF;
        -- Each column of a rule keeps a type the access method handles; a
        -- changed_at column timestamptz, the one type it stamps: a domain's
        -- NOT NULL failed INSERTs, other types were silently not stamped
        -- (review19 F6).
        FOR bad IN
            SELECT r.relid::oid AS rel, c.relname, r.attname, k.col, k.what,
                   a.atttypid::regtype AS typ
              FROM steward.column_rules r
              JOIN pg_catalog.pg_class c ON c.oid = r.relid
             CROSS JOIN LATERAL (VALUES (r.attname, r.kind::text),
                                        (r.changed_at, 'changed_at')) k(col, what)
              JOIN pg_catalog.pg_attribute a
                ON a.attrelid = r.relid AND a.attname = k.col
                   AND NOT a.attisdropped
             WHERE r.relid::oid = ANY (tree)
               AND ((k.what = 'version' AND a.atttypid <> 'pg_catalog.int8'::regtype)
                 OR (k.what = 'sequence' AND a.atttypid NOT IN
                       ('pg_catalog.int2'::regtype, 'pg_catalog.int4'::regtype,
                        'pg_catalog.int8'::regtype))
                 OR (k.what = 'state' AND a.atttypid NOT IN
                       ('pg_catalog.text'::regtype, 'pg_catalog.varchar'::regtype))
                 OR (k.what = 'changed_at' AND a.atttypid <> 'pg_catalog.timestamptz'::regtype))
        LOOP
            RAISE EXCEPTION USING
                MESSAGE = CASE WHEN bad.what = 'changed_at'
                               THEN pg_catalog.format('column "%s" of relation "%s" is the changed_at column of state column "%s" and cannot become type %s',
                                                      bad.col, bad.relname, bad.attname, bad.typ)
                               ELSE pg_catalog.format('column "%s" of relation "%s" is tracked as a %s and cannot become type %s',
                                                      bad.col, bad.relname, bad.what, bad.typ)
                          END,
                ERRCODE = 'datatype_mismatch',
                HINT = CASE WHEN bad.what = 'changed_at'
                            THEN pg_catalog.format('The access method stamps only timestamptz: keep that type, or call steward.detach_state_machine(%L, %L) first and attach it again without changed_at_column.',
                                                   bad.rel::regclass::text, bad.attname)
                            WHEN bad.what = 'state'
                            THEN pg_catalog.format('Call steward.detach_state_machine(%L, %L) first.',
                                                   bad.rel::regclass::text, bad.attname)
                            ELSE pg_catalog.format('Call steward.untrack(%L, %L) first.',
                                                   bad.rel::regclass::text, bad.attname)
                       END;
        END LOOP;
        -- A state column keeps a deterministic collation, under which SQL
        -- compares states byte for byte, as the access method does.
        PERFORM steward._check_state_collation(r.relid, r.attname)
           FROM steward.column_rules r
          WHERE r.relid::oid = ANY (tree) AND r.kind = 'state';
    END LOOP;
END
$$;

-- Every event trigger of pg_steward is ENABLE ALWAYS: it also fires under
-- session_replication_role = replica (a superuser's, or a role's granted
-- SET on it), where one left ENABLE ORIGIN would let DDL past the checks
-- and leave rows of dropped tables behind.  A logical-replication apply
-- worker runs DDL of no one (native replication carries no DDL), and
-- pg_restore --disable-triggers disables table triggers with ALTER TABLE.
CREATE EVENT TRIGGER steward_rules_sql_drop ON sql_drop
    EXECUTE FUNCTION steward._rules_on_sql_drop();
ALTER EVENT TRIGGER steward_rules_sql_drop ENABLE ALWAYS;
CREATE EVENT TRIGGER steward_rules_alter_table ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION steward._rules_on_alter_table();
ALTER EVENT TRIGGER steward_rules_alter_table ENABLE ALWAYS;

REVOKE ALL ON FUNCTION steward._rules_on_sql_drop() FROM PUBLIC;
REVOKE ALL ON FUNCTION steward._rules_on_alter_table() FROM PUBLIC;

-- A relation made now has no rules yet: rows of column_rules, state_checks
-- and table_retention that name its OID and were written by an older
-- transaction belong to a relation that had the OID before, dropped where
-- no event trigger saw it (single-user mode, a drop from an older
-- REPEATABLE READ snapshot, a restore of such rows by an older release).
-- They are deleted before anything reads them as this relation's rules
-- (a stale-version refusal or a retention on a table nobody configured).
-- age(xmin) > 0: written before this transaction (its own rows, of its
-- subtransactions too, are 0 or negative), so a rule made in the same
-- transaction as its table (a restore with --single-transaction) stays.
CREATE FUNCTION steward._rules_on_create()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET session_replication_role = origin
AS $$
BEGIN
    IF pg_catalog.to_regclass('steward.table_retention') IS NULL
       OR pg_catalog.to_regclass('steward.state_checks') IS NULL THEN
        RETURN;     -- the extension's own script, before it made them
    END IF;
    -- One read instead of three writes where no row names a relation made
    -- (nearly always: ddl2).
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_event_trigger_ddl_commands() c
                    WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.objsubid = 0
                      AND (EXISTS (SELECT 1 FROM steward.column_rules r WHERE r.relid::pg_catalog.oid = c.objid)
                           OR EXISTS (SELECT 1 FROM steward.state_checks r WHERE r.relid::pg_catalog.oid = c.objid)
                           OR EXISTS (SELECT 1 FROM steward.table_retention r
                                       WHERE r.relid::pg_catalog.oid = c.objid))) THEN
        RETURN;
    END IF;
    DELETE FROM steward.column_rules r
     USING pg_catalog.pg_event_trigger_ddl_commands() c
     WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.objsubid = 0
       AND r.relid::pg_catalog.oid = c.objid AND pg_catalog.age(r.xmin) > 0;
    DELETE FROM steward.state_checks r
     USING pg_catalog.pg_event_trigger_ddl_commands() c
     WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.objsubid = 0
       AND r.relid::pg_catalog.oid = c.objid AND pg_catalog.age(r.xmin) > 0;
    DELETE FROM steward.table_retention r
     USING pg_catalog.pg_event_trigger_ddl_commands() c
     WHERE c.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.objsubid = 0
       AND r.relid::pg_catalog.oid = c.objid AND pg_catalog.age(r.xmin) > 0;
END
$$;
REVOKE ALL ON FUNCTION steward._rules_on_create() FROM PUBLIC;
CREATE EVENT TRIGGER steward_rules_create ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO',
                 'CREATE MATERIALIZED VIEW', 'CREATE SCHEMA')
    EXECUTE FUNCTION steward._rules_on_create();
ALTER EVENT TRIGGER steward_rules_create ENABLE ALWAYS;

-- Refuse definitions in which something the executor computes or checks on
-- a new row before storing it (stored generated columns, CHECK constraints,
-- partition keys, row security policies) depends
-- on a column the access method sets: the version, a changed_at column
-- (src/tableam/written.c).  track_versions and attach_state_machine check
-- when they add such a rule; this trigger checks later DDL.
CREATE FUNCTION steward._check_written_columns(tbl regclass)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_check_written_columns_sql'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._check_written_columns(regclass) FROM PUBLIC;
-- The event trigger's: NOT NULL and defaults only of the columns the
-- command changed.
CREATE FUNCTION steward._check_written_ddl(tbl regclass, cmd pg_catalog.pg_ddl_command)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_check_written_ddl'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._check_written_ddl(regclass, pg_catalog.pg_ddl_command) FROM PUBLIC;

CREATE FUNCTION steward._rules_on_written_ddl()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    IF pg_catalog.to_regclass('steward.column_rules') IS NULL THEN
        RETURN;
    END IF;
    -- Each command with its parse tree: NOT NULL and defaults are judged
    -- only on the columns the command changed (codereview6 F5).  Its
    -- relation is read by the one statement that lists the commands (the
    -- rule test too: the extension's own state rule has a changed_at
    -- column, so it never spared the list; ddl2).
    FOR c IN
        SELECT x.rel, x.command
          FROM (SELECT CASE WHEN d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass
                            THEN (SELECT p.polrelid FROM pg_catalog.pg_policy p
                                   WHERE p.oid = d.objid)
                            ELSE d.objid END AS rel,
                       d.command
                  FROM pg_catalog.pg_event_trigger_ddl_commands() d
                 WHERE d.classid IN ('pg_catalog.pg_class'::pg_catalog.regclass,
                                     'pg_catalog.pg_policy'::pg_catalog.regclass)) x
         WHERE EXISTS (SELECT 1 FROM steward.column_rules
                        WHERE kind = 'version' OR changed_at IS NOT NULL)
           AND EXISTS (SELECT 1 FROM pg_catalog.pg_class WHERE oid = x.rel)
    LOOP
        PERFORM steward._check_written_ddl(c.rel::pg_catalog.regclass, c.command);
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION steward._rules_on_written_ddl() FROM PUBLIC;

-- Only the commands that can define what the AM's columns are judged on:
-- a table's columns, constraints, partition keys and policies.  CREATE
-- SCHEMA: its CREATE TABLE elements (listed by
-- pg_event_trigger_ddl_commands, review16 R16-6's kind).  No view tags: a
-- view finds nothing to check since rules20 (PostgreSQL checks a view's
-- WITH CHECK OPTION on the stored row), ALTER VIEW acts on views only,
-- and firing on them cost every CREATE VIEW a call of the function
-- (~0.1 ms) and an AccessShareLock on steward.column_rules to its
-- transaction's end (mach19 item 4).
CREATE EVENT TRIGGER steward_rules_written ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE', 'CREATE TABLE', 'CREATE POLICY', 'ALTER POLICY',
                 'CREATE SCHEMA')
    EXECUTE FUNCTION steward._rules_on_written_ddl();
ALTER EVENT TRIGGER steward_rules_written ENABLE ALWAYS;

-- Refuse DDL that would leave rows where the rules of a table do not reach
-- them: a partition that is not a steward table under a partitioned table
-- with rules (CREATE TABLE ... PARTITION OF, ATTACH PARTITION), SET ACCESS
-- METHOD away from steward on a table rules reach, and a partition attached
-- with rows its new ancestors' rules refuse (src/tableam/storage_guard.c).
CREATE FUNCTION steward._rules_on_storage_ddl()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'steward_rules_on_storage_ddl'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._rules_on_storage_ddl() FROM PUBLIC;

-- CREATE SCHEMA: its CREATE TABLE elements may make partitions.  CREATE
-- TRIGGER: a BEFORE UPDATE row trigger on a table with a version rule is
-- warned about (it may assign the version: review9 F10).  ALTER TABLE ...
-- ENABLE TRIGGER of a catalog here: its triggers keep their installed
-- state (rules20).
CREATE EVENT TRIGGER steward_rules_storage ON ddl_command_end
    WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE SCHEMA', 'CREATE TRIGGER')
    EXECUTE FUNCTION steward._rules_on_storage_ddl();
ALTER EVENT TRIGGER steward_rules_storage ENABLE ALWAYS;
