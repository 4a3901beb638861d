--------------------------------------------------------------------------
-- Rules travel with their tables (src/tableam/labels.c; issue 12 item 4).
--
-- Every rule of steward.column_rules is mirrored as a security label of
-- provider "steward" on its column, which pg_dump writes with the table in
-- every dump that contains it (-t, -n, --schema-only, whole database).
-- A state column's label also carries the table's state checks.
-- Restoring the label (SECURITY LABEL FOR steward ...) recreates the rule
-- through the provider registered by the library.  Whole-database dumps
-- also carry the rules as data of column_rules; inserting a rule that is
-- already there is a no-op, so both paths, and a data-only restore into a
-- database whose schema was restored first, meet without duplicate keys.
--------------------------------------------------------------------------

-- Whether table tbl (or one of its partitions) stores any row (C,
-- labels.c): false only when none has a block, as a table a restore has
-- just created.  Reads no row; the caller holds SHARE ROW EXCLUSIVE on tbl.
CREATE FUNCTION steward._label_rows_stored(tbl regclass)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_label_rows_stored'
LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION steward._label_rows_stored(regclass) FROM PUBLIC;

-- Refuses (42804) col of tbl as a version column unless it is bigint, as
-- steward.track_versions does, with its DETAIL and HINT (C, rules_api.c).
-- Takes AccessShareLock on tbl.
CREATE FUNCTION steward._check_version_type(tbl regclass, col name)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_check_version_type'
LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION steward._check_version_type(regclass, name) FROM PUBLIC;

-- Refuses (42804) col of tbl as a sequence column unless it is smallint,
-- integer or bigint, as steward.track_sequence does, with its DETAIL and
-- HINT (C, rules_api.c).  Takes AccessShareLock on tbl.
CREATE FUNCTION steward._check_sequence_type(tbl regclass, col name)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_check_sequence_type'
LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION steward._check_sequence_type(regclass, name) FROM PUBLIC;

-- The checks of a version rule from a label (as steward.track_versions):
-- the column is bigint, the table's only version column, and no row has a
-- version below 1 or none (NULL).  Raises 42804, 42710 or 23514; the
-- caller holds SHARE ROW EXCLUSIVE on tbl.
CREATE FUNCTION steward._apply_label_version(tbl regclass, col name, typ oid)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    other name;
    n bigint;
    nulls bigint;
BEGIN
    IF typ <> 'int8'::regtype THEN
        -- track_versions' refusal, DETAIL and HINT (newcomer48 N11).
        PERFORM steward._check_version_type(tbl, col);
    END IF;
    SELECT r.attname INTO other FROM steward.column_rules r
     WHERE r.relid = tbl AND r.kind = 'version' AND r.attname <> col;
    IF other IS NOT NULL THEN
        RAISE EXCEPTION 'relation "%" already tracks versions in column "%"', steward._relation_name(tbl), other
            USING ERRCODE = 'duplicate_object', DETAIL = 'A table has at most one version column.';
    END IF;
    -- The rows are read as the table's owner (steward._migration_exec:
    -- restricted, search_path pinned), never as the extension's owner that
    -- runs this function: planning and scanning the table evaluates code
    -- its owner wrote (index expressions and predicates, folded by the
    -- planner; policies).  A table that stores no row is not read: a
    -- restore labels a table right after creating it, before its data and
    -- before the GRANTs (given at the end) by which its owner may reach its
    -- schema (review15 R15-2).
    IF NOT steward._label_rows_stored(tbl) THEN
        RETURN;
    END IF;
    -- NULL counts as below 1 (review25 W1), in the words of
    -- steward_check_existing_versions (rules_api.c).
    SELECT x[1]::bigint, x[2]::bigint INTO n, nulls
      FROM (SELECT steward._migration_exec(tbl, format(
                'SELECT pg_catalog.count(*) FILTER (WHERE %I OPERATOR(pg_catalog.<) 1), '
                'pg_catalog.count(*) FILTER (WHERE %I IS NULL) FROM %s', col, col, tbl)) AS x) q;
    IF nulls > 0 THEN
        RAISE EXCEPTION 'relation "%" has % in column "%"', steward._relation_name(tbl),
                CASE WHEN n > 0 THEN (n + nulls) || ' rows without a version or with a version below 1'
                     WHEN nulls = 1 THEN '1 row without a version' ELSE nulls || ' rows without a version' END, col
            USING ERRCODE = 'check_violation',
                  DETAIL = format('Versions start at 1: a NULL version matches no client''s WHERE %I = :read, and a dump restores it as 1.', col),
                  HINT = format('Fix them first, for example: UPDATE %s SET %I = 1 WHERE %I IS NULL OR %I < 1;', tbl, col, col, col);
    END IF;
    IF n > 0 THEN
        RAISE EXCEPTION 'relation "%" has % with a version below 1 in column "%"', steward._relation_name(tbl), CASE WHEN n = 1 THEN '1 row' ELSE n || ' rows' END, col
            USING ERRCODE = 'check_violation',
                  HINT = format('Fix them first, for example: UPDATE %s SET %I = 1 WHERE %I < 1;', tbl, col, col);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._apply_label_version(regclass, name, oid) FROM PUBLIC;

-- Whether a label may attach column col of tbl to this database's
-- existing machine v_machine (owner m_owner): the machine is built in, or
-- its owner has the privileges of the table's owner (a superuser, as the
-- owner of a machine a superuser's restore made, or the table's owner:
-- that role could attach the table itself, so it gains nothing over it),
-- or its owner is the role the label names ("machine_owner", by name, as
-- pg_dump writes ALTER ... OWNER TO) and the table's owner may use it, or,
-- for a label written without the field (0.1, earlier 0.2), the table's
-- owner has the privileges of the machine's owner (has_privs_of_role, as
-- create_state_machine's if_not_exists).  A grant alone never suffices: a
-- tenant who made a machine of that name first and granted it to the
-- table's owner would otherwise own the rules of a superuser's restored
-- table (review35 S1).  Raises 42501, DETAIL naming both owners; when the
-- label names a role that no longer exists (renamed or dropped since the
-- label was written: a role rename rewrites no label), the HINT says so
-- and gives the attach_state_machine call that applies the rule without
-- the label (codereview19 C4), not a call naming the missing role.
CREATE FUNCTION steward._check_label_machine_owner(tbl regclass, col name, v_machine text,
                                                   m_owner regrole, m_builtin boolean,
                                                   m_usage regrole[], l jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    relowner oid := (SELECT c.relowner FROM pg_class c WHERE c.oid = tbl);
    expected text := l->>'machine_owner';
    actual text := pg_get_userbyid(m_owner::oid);
    target text := coalesce(expected, pg_get_userbyid(relowner));
BEGIN
    IF m_builtin OR pg_has_role(m_owner::oid, relowner, 'USAGE') THEN
        RETURN;
    END IF;
    IF expected IS NULL AND pg_has_role(relowner, m_owner::oid, 'USAGE') THEN
        RETURN;
    END IF;
    IF expected = actual AND EXISTS (
            SELECT 1 FROM unnest(m_usage || m_owner) g
             WHERE pg_has_role(relowner, g::oid, 'USAGE')) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'permission denied for state machine "%"', v_machine
        USING ERRCODE = 'insufficient_privilege',
              DETAIL = CASE
                  WHEN expected IS NULL THEN format(
                      'It belongs to role "%s", whose privileges role "%s", the owner of relation "%s", does not have; the label of column "%s" names no owner (written by pg_steward 0.1 or an earlier 0.2), so only a machine of a role whose privileges the table''s owner has is attached.',
                      actual, pg_get_userbyid(relowner), steward._relation_name(tbl), col)
                  WHEN expected IS DISTINCT FROM actual THEN format(
                      'It belongs to role "%s"; the label of column "%s" of relation "%s" expects the machine of role "%s".',
                      actual, col, steward._relation_name(tbl), expected)
                  ELSE format(
                      'It belongs to role "%s", as the label of column "%s" expects, but relation "%s" belongs to role "%s", who may not use it.',
                      actual, col, steward._relation_name(tbl), pg_get_userbyid(relowner))
              END,
              HINT = CASE
                  WHEN expected IS NOT NULL AND to_regrole(quote_ident(expected)) IS NULL THEN format(
                      'No role "%s" exists: it was renamed or dropped after the label was written (a label keeps the name its machine''s owner had then; ALTER ROLE ... RENAME does not rewrite it). If "%s", now role "%s"''s, is the machine of relation "%s", attach it without the label, as the table''s owner or a superuser: SELECT steward.attach_state_machine(%L, %L, %L%s);',
                      expected, v_machine, actual, steward._relation_name(tbl),
                      tbl::text, col, v_machine,
                      CASE WHEN l->>'changed_at' IS NULL THEN ''
                           ELSE format(', %L', l->>'changed_at') END)
                  WHEN expected IS DISTINCT FROM actual THEN format(
                      'If it is not the machine of relation "%s", drop it (steward.drop_state_machine(%L), as role "%s" or a superuser) and restore the table again; if it is, give it to role "%s" first: SELECT steward.alter_state_machine_owner(%L, %L);',
                      steward._relation_name(tbl), v_machine, actual, target,
                      v_machine, quote_ident(target))
                  ELSE format('Have its owner run steward.grant_state_machine(%L, %L).',
                              v_machine, relowner::regrole::text)
              END;
END
$$;
REVOKE ALL ON FUNCTION steward._check_label_machine_owner(regclass, name, text, regrole, boolean, regrole[], jsonb) FROM PUBLIC;

-- The checks of a state rule from a label (as steward.attach_state_machine):
-- the column's type, the changed_at column, and the label's state machine,
-- which is created from the label when this database lacks it, must equal
-- this database's machine of that name otherwise, and must be usable by
-- caller, and may be attached to the table only as
-- steward._check_label_machine_owner says (its owner the label's, or one
-- with the table owner's privileges); every row must hold a state the
-- machine declares.
-- Raises 42804, 42710, 42501 or 23514; the caller holds SHARE ROW
-- EXCLUSIVE on tbl.
CREATE FUNCTION steward._apply_label_state(tbl regclass, col name, typ oid, l jsonb,
                                           caller regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_machine text := l->>'machine';
    v_changed name := l->>'changed_at';
    m record;
    n bigint;
BEGIN
    IF typ NOT IN ('text'::regtype, 'varchar'::regtype) THEN
        RAISE EXCEPTION 'state column "%" of relation "%" must be of type text or varchar', col, steward._relation_name(tbl)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = format('Label a text column, or change the column''s type first: ALTER TABLE %s ALTER COLUMN %I TYPE text;', tbl, col);
    END IF;
    PERFORM steward._check_state_collation(tbl, col);
    IF v_changed IS NOT NULL AND (v_changed = col OR NOT EXISTS (
            SELECT 1 FROM pg_attribute a
             WHERE a.attrelid = tbl AND a.attname = v_changed AND a.attnum > 0
               AND NOT a.attisdropped AND a.atttypid = 'timestamptz'::regtype)) THEN
        RAISE EXCEPTION 'changed_at column "%" of relation "%" must be another column of type timestamp with time zone',
                v_changed, steward._relation_name(tbl)
            USING ERRCODE = 'datatype_mismatch',
                  HINT = format('Name in "changed_at" a timestamptz column other than the state column, or add one: ALTER TABLE %s ADD COLUMN state_changed_at timestamptz;', tbl);
    END IF;
    -- Locked first, as attach_state_machine locks it: a drop waits for
    -- this transaction, then refuses (tidy3 finding 1).
    PERFORM steward._state_machine_lock(v_machine);
    -- In a snapshot taken now, as attach_state_machine reads it: the
    -- transaction's (REPEATABLE READ) could predate a revoke (review14 R14-9).
    SELECT d.states, d.initial, d.transitions, d.builtin, d.owner, d.usage_roles INTO m
      FROM steward._state_machine_latest(v_machine) d WHERE d.name IS NOT NULL;
    IF NOT FOUND THEN
        -- Validated like any new machine, owned by the role running the
        -- label (the restore's), not by the table's owner: the restore's
        -- other tables using it may belong to other roles, and none of
        -- them is more its owner than the others (codereview3 #2).  A
        -- whole-database restore then sets the original owner and grants
        -- from the machine's row; after a partial one, the restoring role
        -- gives it away (steward.alter_state_machine_owner).  Keeps its
        -- original creation time.
        PERFORM steward._create_state_machine(v_machine,
                    ARRAY(SELECT jsonb_array_elements_text(l->'states')),
                    ARRAY(SELECT jsonb_array_elements_text(l->'initial')),
                    ARRAY(SELECT jsonb_array_elements_text(l->'transitions')),
                    caller);
        UPDATE steward.machine_definitions d
           SET created_at = coalesce((l->>'machine_since')::timestamptz, d.created_at)
         WHERE d.name = v_machine;
    ELSIF m.states IS DISTINCT FROM ARRAY(SELECT jsonb_array_elements_text(l->'states'))
       OR m.initial IS DISTINCT FROM ARRAY(SELECT jsonb_array_elements_text(l->'initial'))
       OR m.transitions IS DISTINCT FROM ARRAY(SELECT jsonb_array_elements_text(l->'transitions')) THEN
        RAISE EXCEPTION 'state machine "%" of this database differs from the one attached to column "%" of relation "%"',
                v_machine, col, steward._relation_name(tbl)
            USING ERRCODE = 'duplicate_object',
                  DETAIL = format('Here: states %s, initial %s, transitions %s; the label: states %s, initial %s, transitions %s.',
                                  m.states, m.initial, m.transitions,
                                  l->'states', l->'initial', l->'transitions'),
                  HINT = 'Rename one of the machines, or attach this database''s machine with steward.attach_state_machine.';
    ELSIF NOT (m.builtin OR EXISTS (
            SELECT 1 FROM unnest(m.usage_roles || m.owner) g
             WHERE pg_has_role(caller::oid, g::oid, 'USAGE'))) THEN
        -- As attach_state_machine: the machine must be the caller's,
        -- granted to it, or built in (superusers, who restore whole
        -- databases, may use any).
        RAISE EXCEPTION 'permission denied for state machine "%"', v_machine
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('It belongs to role "%s".', pg_get_userbyid(m.owner)),
                  HINT = format('Have its owner run steward.grant_state_machine(%L, %L).',
                                v_machine, caller::text);
    ELSE
        PERFORM steward._check_label_machine_owner(tbl, col, v_machine, m.owner, m.builtin,
                                                   m.usage_roles, l);
    END IF;
    -- As the table's owner, as in _apply_label_version (and not for a
    -- table that stores no row).
    IF NOT steward._label_rows_stored(tbl) THEN
        RETURN;
    END IF;
    n := (steward._migration_exec(tbl, format(
            'SELECT pg_catalog.count(*) FROM %s WHERE %I IS NULL'
            ' OR NOT (%I::pg_catalog.text COLLATE pg_catalog."C" OPERATOR(pg_catalog.=) ANY ($1::pg_catalog.text[]))',
            tbl, col, col),
            ARRAY[(SELECT d.states FROM steward._state_machine_latest(v_machine) d)::text]))[1]::bigint;
    IF n > 0 THEN
        RAISE EXCEPTION 'column "%" of relation "%" holds % that machine "%" does not declare',
                col, steward._relation_name(tbl), CASE WHEN n = 1 THEN '1 value' ELSE n || ' values' END, v_machine
            USING ERRCODE = 'check_violation',
                  HINT = format('Update those rows to declared states first (SELECT * FROM %s WHERE NOT %I = ANY (%L) lists them), or declare their states in the machine.',
                                tbl, col, (SELECT d.states FROM steward._state_machine_latest(v_machine) d)::text);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._apply_label_state(regclass, name, oid, jsonb, regrole) FROM PUBLIC;

-- The checks set_state_check makes of a check (C, src/lifecycle/
-- transitions.c): check_sql parses as exactly one SELECT (parsed, never
-- run) and machine declares the state.  Raises 22023 or 42601.
CREATE FUNCTION steward._validate_state_check(machine text, state text, check_sql text)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_validate_state_check'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._validate_state_check(text, text, text) FROM PUBLIC;

-- The state checks of a table from its state column's label ("checks":
-- {state: check_sql}; absent: none): afterwards the table has exactly
-- those, each validated as set_state_check validates it.  Nothing the
-- table's owner wrote runs here (validate() runs the checks, as the
-- owner).  Raises 22023 or 42601; the caller holds SHARE ROW EXCLUSIVE on
-- tbl and runs as the owner of the extension's tables.
CREATE FUNCTION steward._apply_label_checks(tbl regclass, col name, machine text, checks jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    c record;
BEGIN
    IF checks IS NOT NULL AND (jsonb_typeof(checks) <> 'object' OR EXISTS (
            SELECT 1 FROM jsonb_each(checks) e WHERE jsonb_typeof(e.value) <> 'string')) THEN
        RAISE EXCEPTION 'invalid pg_steward label for column "%" of relation "%"', col, steward._relation_name(tbl)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = '"checks" must be a JSON object mapping states to check queries.',
                  HINT = 'Use steward.set_state_check.';
    END IF;
    FOR c IN SELECT e.key AS state, e.value AS check_sql
               FROM jsonb_each_text(coalesce(checks, '{}')) e ORDER BY e.key LOOP
        PERFORM steward._validate_state_check(machine, c.state, c.check_sql);
    END LOOP;
    DELETE FROM steward.state_checks s
     WHERE s.relid = tbl AND NOT coalesce(checks ? s.state, false);
    FOR c IN SELECT e.key AS state, e.value AS check_sql
               FROM jsonb_each_text(coalesce(checks, '{}')) e ORDER BY e.key LOOP
        UPDATE steward.state_checks s SET check_sql = c.check_sql
         WHERE s.relid = tbl AND s.state = c.state AND s.check_sql <> c.check_sql;
        IF NOT EXISTS (SELECT 1 FROM steward.state_checks s
                        WHERE s.relid = tbl AND s.state = c.state) THEN
            INSERT INTO steward.state_checks (relid, state, check_sql)
            VALUES (tbl, c.state, c.check_sql);
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION steward._apply_label_checks(regclass, name, text, jsonb) FROM PUBLIC;

-- Recreate (or, label NULL, remove) the rule of one column from its label.
-- Called by the label provider (labels.c) as the owner of the extension's
-- tables, after core checked that the caller owns the table; caller is the
-- role that runs SECURITY LABEL (a state machine must be usable by it).  Validates
-- like track_versions / track_sequence / attach_state_machine, and creates
-- the label's state machine when this database lacks it.  42P01 for a tbl
-- that names no relation, 42704 for a caller that names no role (a
-- superuser's direct call: '0'::regclass, '0'::regrole).
CREATE FUNCTION steward._apply_rule_label(tbl regclass, colnum smallint, label text,
                                          caller regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col name;
    typ oid;
    v_kind text;
    l jsonb;
    since timestamptz;
    v_machine text;
    v_changed name;
BEGIN
    IF tbl IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = tbl) THEN
        RAISE EXCEPTION 'relation with OID % does not exist', tbl::oid
            USING ERRCODE = 'undefined_table';
    END IF;
    PERFORM steward._require_role(caller);
    SELECT a.attname, a.atttypid INTO col, typ
      FROM pg_attribute a
     WHERE a.attrelid = tbl AND a.attnum = colnum AND NOT a.attisdropped;
    IF col IS NULL OR colnum < 1 THEN
        RAISE EXCEPTION 'security labels of provider "steward" apply to user columns of tables'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Label a column of the table: SECURITY LABEL FOR steward ON COLUMN table.column IS ...;';
    END IF;
    IF (SELECT c.relkind FROM pg_class c WHERE c.oid = tbl) NOT IN ('r', 'p') THEN
        RAISE EXCEPTION '"%" is not a table', steward._relation_name(tbl)
            USING ERRCODE = 'wrong_object_type',
                  DETAIL = 'Security labels of provider "steward" carry pg_steward''s column rules.';
    END IF;
    -- Like track_versions: no write is in flight while a rule changes.
    EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', tbl);

    IF label IS NULL THEN
        DELETE FROM steward.column_rules r WHERE r.relid = tbl AND r.attname = col;
        RETURN;
    END IF;
    BEGIN
        l := label::jsonb;
    EXCEPTION WHEN invalid_text_representation THEN
        l := NULL;
    END;
    IF l IS NULL OR jsonb_typeof(l) <> 'object' OR l->>'v' IS DISTINCT FROM '1' THEN
        RAISE EXCEPTION 'invalid pg_steward label for column "%" of relation "%"', col, steward._relation_name(tbl)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'Labels of provider "steward" are written by pg_steward: a JSON object with "v": 1 and "kind".',
                  HINT = 'Use steward.track_versions, steward.track_sequence or steward.attach_state_machine.';
    END IF;
    v_kind := l->>'kind';
    since := coalesce((l->>'since')::timestamptz, now());

    IF v_kind = 'version' THEN
        PERFORM steward._apply_label_version(tbl, col, typ);
    ELSIF v_kind = 'sequence' THEN
        IF typ NOT IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) THEN
            -- track_sequence's refusal, DETAIL and HINT (mig19).
            PERFORM steward._check_sequence_type(tbl, col);
        END IF;
    ELSIF v_kind = 'state' THEN
        v_machine := l->>'machine';
        v_changed := l->>'changed_at';
        PERFORM steward._apply_label_state(tbl, col, typ, l, caller);
    ELSE
        RAISE EXCEPTION 'invalid pg_steward label for column "%" of relation "%"', col, steward._relation_name(tbl)
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Unknown rule kind %s.', coalesce(quote_literal(v_kind), 'NULL'));
    END IF;

    -- As attach_state_machine: at most 8 state rules per table, its
    -- ancestors' counted.  A table that stores no row (a restore labels
    -- tables before their data) keeps the rule with the trigger's
    -- WARNING, and refuses writes until one is detached: refused, the
    -- restore would leave the column unchecked.
    -- Likewise the machine's states must fit a varchar(n) column
    -- (mach18): refused on a table that stores rows; a restore's table
    -- keeps the rule with the merge trigger's WARNING.
    IF v_kind = 'state' AND steward._label_rows_stored(tbl) THEN
        PERFORM steward._check_state_rule_cap(tbl, col, false);
        PERFORM steward._check_states_fit(tbl, col, v_machine,
                    (SELECT d.states FROM steward._state_machine_latest(v_machine) d), false);
    END IF;
    IF EXISTS (SELECT 1 FROM steward.column_rules r WHERE r.relid = tbl AND r.attname = col) THEN
        UPDATE steward.column_rules r
           SET kind = v_kind, machine = v_machine, changed_at = v_changed, created_at = since
         WHERE r.relid = tbl AND r.attname = col;
    ELSE
        INSERT INTO steward.column_rules (relid, attname, kind, machine, changed_at, created_at)
        VALUES (tbl, col, v_kind, v_machine, v_changed, since);
    END IF;
    -- Like track_versions / attach_state_machine: nothing the executor
    -- computes or checks may depend on a column the access method sets.
    IF v_kind = 'version' OR v_changed IS NOT NULL THEN
        PERFORM steward._check_written_columns(tbl);
    END IF;
    -- A state column's label carries the table's state checks.
    IF v_kind = 'state' THEN
        PERFORM steward._apply_label_checks(tbl, col, v_machine, l->'checks');
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._apply_rule_label(regclass, smallint, text, regrole) FROM PUBLIC;

-- Inserting a rule that exists already (a whole-database restore after the
-- labels recreated it, a data-only restore into a database prepared with
-- the schema) is a no-op; inserting a different rule for the same column
-- is an error that says so, not a bare duplicate key.  The merge triggers
-- are ENABLE ALWAYS: a dump loaded under session_replication_role =
-- replica (a common way to load one) meets the rows twice too.  A new
-- state rule locks its machine's row FOR KEY SHARE, as every attaching path
-- does (steward._state_machine_lock): a data-only COPY or INSERT into the
-- catalog took no lock, so a concurrent drop_state_machine deleted the
-- machine under the uncommitted rule (closing36 item 3).  No machine, no
-- lock: a data-only restore may load the rules first, and a rule whose
-- machine is missing refuses rows entering a state (src/lifecycle).  A
-- state rule past the cap of 8 per table is kept with a WARNING
-- (steward._check_state_rule_cap): refused, a restore's COPY would lose
-- every rule it carries; the table refuses writes until one is detached.
-- So is one whose machine has a state longer than a varchar(n) column
-- stores (steward._check_states_fit): writes to that state fail, as in
-- the source.
CREATE FUNCTION steward._column_rules_merge()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur record;
BEGIN
    SELECT r.kind, r.machine, r.changed_at INTO cur
      FROM steward.column_rules r WHERE r.relid = NEW.relid AND r.attname = NEW.attname;
    IF NOT FOUND THEN
        IF NEW.kind = 'state' AND NEW.machine IS NOT NULL THEN
            PERFORM steward._state_machine_lock(NEW.machine);
            PERFORM steward._check_state_rule_cap(NEW.relid, NEW.attname, true);
            PERFORM steward._check_states_fit(NEW.relid, NEW.attname, NEW.machine,
                        (SELECT m.states FROM steward.machine_definitions m WHERE m.name = NEW.machine), true);
        END IF;
        RETURN NEW;
    END IF;
    IF (cur.kind, cur.machine, cur.changed_at) IS NOT DISTINCT FROM (NEW.kind, NEW.machine, NEW.changed_at) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'column "%" of relation "%" already has a different rule', NEW.attname,
          steward._relation_name(NEW.relid)
        USING ERRCODE = 'unique_violation',
              DETAIL = format('It is tracked as %s%s; the new rule is %s%s.',
                              cur.kind, coalesce(' (machine ' || cur.machine || ')', ''),
                              NEW.kind, coalesce(' (machine ' || NEW.machine || ')', '')),
              HINT = 'Untrack or detach the column first.';
END
$$;
REVOKE ALL ON FUNCTION steward._column_rules_merge() FROM PUBLIC;
CREATE TRIGGER column_rules_merge
    BEFORE INSERT ON steward.column_rules
    FOR EACH ROW EXECUTE FUNCTION steward._column_rules_merge();
ALTER TABLE steward.column_rules ENABLE ALWAYS TRIGGER column_rules_merge;

-- An UPDATE that points a state rule at a machine (the extension's owner
-- re-pointing a rule by hand, INSERT ... ON CONFLICT DO UPDATE) locks the
-- machine's row FOR KEY SHARE as an inserted rule does (above): without
-- it a concurrent drop_state_machine deleted the machine under the
-- uncommitted rule (review19 F5).  A rule that becomes a state rule past
-- the cap, or a state rule moved to another column or table past it,
-- warns as an inserted one does (a move took neither the lock nor the
-- check: codereview8 L7).  And it warns when the machine's states do not
-- fit a varchar(n) column, as an inserted rule does.
CREATE FUNCTION steward._column_rules_lock_machine()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM steward._state_machine_lock(NEW.machine);
    IF OLD.kind IS DISTINCT FROM 'state' OR (OLD.relid, OLD.attname) IS DISTINCT FROM (NEW.relid, NEW.attname) THEN
        PERFORM steward._check_state_rule_cap(NEW.relid, NEW.attname, true);
    END IF;
    PERFORM steward._check_states_fit(NEW.relid, NEW.attname, NEW.machine,
                (SELECT m.states FROM steward.machine_definitions m WHERE m.name = NEW.machine), true);
    RETURN NEW;
END
$$;
REVOKE ALL ON FUNCTION steward._column_rules_lock_machine() FROM PUBLIC;
CREATE TRIGGER column_rules_lock_machine
    BEFORE UPDATE OF kind, machine, relid, attname ON steward.column_rules
    FOR EACH ROW
    WHEN (NEW.kind = 'state' AND NEW.machine IS NOT NULL
          AND (OLD.kind, OLD.machine, OLD.relid, OLD.attname) IS DISTINCT FROM (NEW.kind, NEW.machine, NEW.relid, NEW.attname))
    EXECUTE FUNCTION steward._column_rules_lock_machine();
ALTER TABLE steward.column_rules ENABLE ALWAYS TRIGGER column_rules_lock_machine;

-- The same for machines: the label of an attached column carries its
-- machine, so a restore may meet the machine twice.  A new machine whose
-- rules came first (a data-only restore may load column_rules before
-- machine_definitions) warns for each varchar(n) column too short for one
-- of its states, as a rule row does (steward._check_states_fit).
CREATE FUNCTION steward._machine_definitions_merge()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur record;
BEGIN
    SELECT m.states, m.initial, m.transitions INTO cur
      FROM steward.machine_definitions m WHERE m.name = NEW.name;
    IF NOT FOUND THEN
        PERFORM steward._check_states_fit(r.relid, r.attname, NEW.name, NEW.states, true)
           FROM steward.column_rules r
          WHERE r.kind = 'state' AND r.machine = NEW.name
          ORDER BY r.relid, r.attname;
        RETURN NEW;
    END IF;
    IF (cur.states, cur.initial, cur.transitions) IS NOT DISTINCT FROM (NEW.states, NEW.initial, NEW.transitions) THEN
        -- The restored row is the original: it says who owns the machine
        -- and who may attach it (a label may have made it for a table's
        -- owner first).  Only the extension's owner and superusers insert
        -- rows here directly.
        UPDATE steward.machine_definitions m
           SET owner = NEW.owner, usage_roles = NEW.usage_roles
         WHERE m.name = NEW.name;
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'state machine "%" already exists with another definition', NEW.name
        USING ERRCODE = 'unique_violation',
              DETAIL = format('Existing: states %s, initial %s, transitions %s; new: states %s, initial %s, transitions %s.',
                              cur.states, cur.initial, cur.transitions,
                              NEW.states, NEW.initial, NEW.transitions);
END
$$;
REVOKE ALL ON FUNCTION steward._machine_definitions_merge() FROM PUBLIC;
CREATE TRIGGER machine_definitions_merge
    BEFORE INSERT ON steward.machine_definitions
    FOR EACH ROW EXECUTE FUNCTION steward._machine_definitions_merge();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_merge;

-- The label of a state column names its machine's owner (labels.c), which
-- a restore checks (steward._check_label_machine_owner): every change of
-- owner -- alter_state_machine_owner, REASSIGN OWNED, a whole-database
-- restore's row giving a machine a label made back to its owner -- writes
-- the labels of the machine's columns again (their rules' AFTER UPDATE
-- trigger), so a dump names the owner the machine has.  ENABLE ALWAYS: a
-- dump loaded under session_replication_role = replica sets owners too.
-- A renamed role is not seen (ALTER ROLE fires no trigger): the labels
-- keep the old name until the next change of a rule or of the machine.
-- Not in a logical replication worker (apply or table sync: backend_type
-- "logical replication worker"), where the rules' trigger rewrites no
-- label (labels.c: the row may name another cluster's relation), so the
-- UPDATE would only write WAL and a dead row per rule, and republish them
-- where the subscriber publishes column_rules (codereview19 C5).
CREATE FUNCTION steward._machine_owner_relabel()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.owner IS DISTINCT FROM NEW.owner
       AND NOT (current_setting('session_replication_role') = 'replica'
                AND EXISTS (SELECT FROM pg_stat_get_activity(pg_backend_pid()) a
                             WHERE a.backend_type = 'logical replication worker')) THEN
        UPDATE steward.column_rules r SET machine = r.machine
         WHERE r.kind = 'state' AND r.machine = NEW.name;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION steward._machine_owner_relabel() FROM PUBLIC;
CREATE TRIGGER machine_owner_relabel
    AFTER UPDATE ON steward.machine_definitions
    FOR EACH ROW EXECUTE FUNCTION steward._machine_owner_relabel();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_owner_relabel;

-- And for state checks: a whole-database restore meets each check twice
-- (the state column's label, then the rows of state_checks); the same
-- check again is a no-op, a different one for the same (table, state) an
-- error that says so.  (set_state_check updates an existing check rather
-- than inserting.)
CREATE FUNCTION steward._state_checks_merge()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    cur text;
BEGIN
    SELECT s.check_sql INTO cur
      FROM steward.state_checks s WHERE s.relid = NEW.relid AND s.state = NEW.state;
    IF NOT FOUND THEN
        RETURN NEW;
    END IF;
    IF cur = NEW.check_sql THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'relation "%" already has a different check for state "%"',
          steward._relation_name(NEW.relid), NEW.state
        USING ERRCODE = 'unique_violation',
              DETAIL = format('Existing: %s; new: %s.', cur, NEW.check_sql),
              HINT = 'Replace it with steward.set_state_check.';
END
$$;
REVOKE ALL ON FUNCTION steward._state_checks_merge() FROM PUBLIC;
CREATE TRIGGER state_checks_merge
    BEFORE INSERT ON steward.state_checks
    FOR EACH ROW EXECUTE FUNCTION steward._state_checks_merge();
ALTER TABLE steward.state_checks ENABLE ALWAYS TRIGGER state_checks_merge;

-- Every change of a check rewrites the label of the table's state column
-- (labels.c), which carries the checks in dumps.
CREATE FUNCTION steward._state_checks_changed()
RETURNS trigger
AS 'MODULE_PATHNAME', 'steward_state_checks_changed'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._state_checks_changed() FROM PUBLIC;
CREATE TRIGGER state_checks_changed
    AFTER INSERT OR UPDATE OR DELETE ON steward.state_checks
    FOR EACH ROW EXECUTE FUNCTION steward._state_checks_changed();
-- ENABLE ALWAYS: a check written under session_replication_role = replica
-- (a dump loaded so, a superuser's edit) has its label follow too; the
-- function does nothing in a logical replication worker, whose row may
-- name another cluster's relation.
ALTER TABLE steward.state_checks ENABLE ALWAYS TRIGGER state_checks_changed;

-- A table's checks name states of its machine: they go when the table
-- loses its state rule, on every path (detach_state_machine, a label set
-- to NULL or to another kind, DROP COLUMN, DROP TABLE, release), so no
-- check outlives the machine it was validated against and none is left
-- for a table that no longer exists.
CREATE FUNCTION steward._column_rules_drop_checks()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF OLD.kind = 'state' AND NOT EXISTS (
            SELECT 1 FROM steward.column_rules r
             WHERE r.relid = OLD.relid AND r.kind = 'state') THEN
        DELETE FROM steward.state_checks s WHERE s.relid = OLD.relid;
    END IF;
    RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION steward._column_rules_drop_checks() FROM PUBLIC;
CREATE TRIGGER column_rules_drop_checks
    AFTER UPDATE OR DELETE ON steward.column_rules
    FOR EACH ROW EXECUTE FUNCTION steward._column_rules_drop_checks();
-- ENABLE ALWAYS: a state rule deleted under session_replication_role =
-- replica takes its checks along too (they would otherwise stay in the
-- label of a column with no rule, and in dumps).  Safe in a logical
-- replication worker: it deletes only checks naming the same relid as
-- the rule row, which the publisher deleted with it.
ALTER TABLE steward.column_rules ENABLE ALWAYS TRIGGER column_rules_drop_checks;

-- SECURITY LABEL FOR steward needs the provider registered in the session,
-- that is the library loaded; a restore may label a partitioned table
-- before anything else has loaded it.  Calling this C function loads it
-- (its _PG_init registers the provider) before the command looks for the
-- provider; it does nothing else.
CREATE FUNCTION steward._load_label_provider()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'steward_load_label_provider'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._load_label_provider() FROM PUBLIC;
CREATE EVENT TRIGGER steward_load_label_provider ON ddl_command_start
    WHEN TAG IN ('SECURITY LABEL')
    EXECUTE FUNCTION steward._load_label_provider();
ALTER EVENT TRIGGER steward_load_label_provider ENABLE ALWAYS;
