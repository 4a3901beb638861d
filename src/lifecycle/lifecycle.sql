--------------------------------------------------------------------------
-- Lifecycle state machines (src/lifecycle)
--------------------------------------------------------------------------

CREATE TABLE steward.machine_definitions (
    name        text PRIMARY KEY,
    states      text[] NOT NULL,
    initial     text[] NOT NULL,
    transitions text[] NOT NULL,      -- 'from->to'
    builtin     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- Machines have owners (the role that created them) and USAGE grants:
    -- only the owner may drop a machine or give it away; attaching one
    -- needs ownership, a grant, or a built-in machine.
    owner       regrole NOT NULL DEFAULT pg_catalog.quote_ident(CURRENT_USER)::regrole,
    usage_roles regrole[] NOT NULL DEFAULT '{}'
);
-- Built-in machines come with the extension; only user machines are
-- dumped, and only those whose owner and grantees are written as role
-- names: regrole writes a role that no longer exists (dropped before its
-- machines were recorded in pg_shdepend, see below, or while the dump
-- runs, after its snapshot) as a bare number, which a restore would give
-- to whichever role has that OID there (review12 R12-11).  The test is
-- regrole's own output, not the snapshot's pg_roles, which still shows a
-- role dropped after the snapshot.  An attached machine left out comes
-- back with its table's label, for the role running the restore
-- (src/tableam/labels.sql).
SELECT pg_catalog.pg_extension_config_dump('steward.machine_definitions',
    'WHERE NOT builtin'
    ' AND machine_definitions.owner::pg_catalog.text'
    ' OPERATOR(pg_catalog.<>) machine_definitions.owner::pg_catalog.oid::pg_catalog.text'
    ' AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(machine_definitions.usage_roles) g'
    ' WHERE g::pg_catalog.text OPERATOR(pg_catalog.=) g::pg_catalog.oid::pg_catalog.text)');
REVOKE ALL ON steward.machine_definitions FROM PUBLIC;
-- Readable (steward.state_machines shows every column of it): pg_dump
-- reads the table itself.
GRANT SELECT ON steward.machine_definitions TO PUBLIC;

-- Why the access method cannot read a state machine, NULL when it can:
-- missing, or a malformed definition (a hand edit of machine_definitions:
-- a transition naming a state the machine does not declare, an initial
-- state that is not one of its states, ...).  The write path's own check
-- (src/lifecycle/machine_load.c), so steward.tracked_columns' problem
-- says what every refused write (55000) says (misc40).
CREATE FUNCTION steward._state_machine_problem(machine text)
RETURNS text
AS 'MODULE_PATHNAME', 'steward_state_machine_problem'
LANGUAGE C STABLE STRICT;

-- The built-in machines, written again where they are missing or no longer
-- the extension's: the rule on steward.migration_runs.phase needs
-- data_lifecycle, and a TRUNCATE or hand edit of machine_definitions loses
-- it (review19 F2).  create_state_machine would make a user's machine
-- (not built in, owned by the caller), and the rule on the extension's own
-- table cannot be detached.  A machine of the same name that a user made
-- since becomes the built-in one (owner the extension's owner, no grants:
-- a built-in machine is attachable by everyone) when its definition is the
-- built-in's or only the extension's tables use it; otherwise 55000 names
-- the user's tables.  The extension's script seeds the machines with it.
-- Returns the machines written.  Superusers and the extension's owner
-- (it writes the catalog); 42501 for others.  Locks each machine's row
-- (FOR UPDATE) before deciding.  Two calls while a machine is missing:
-- the second's insert waits for the first's and, once that commits, reads
-- the row it wrote (no 23505; 40001 under REPEATABLE READ).  The rule of
-- steward.migration_runs.phase, when its row is gone, is attached again
-- (a NOTICE says so; the attach checks the stored phases).  During
-- recovery or in a read-only transaction 25006 first
-- (steward._require_writable).
CREATE FUNCTION steward.restore_builtin_machines()
RETURNS SETOF text
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    b record;
    cur record;
    users text;
    inserted boolean;
    runs regclass;
    extowner regrole := (SELECT e.extowner FROM pg_catalog.pg_extension e
                          WHERE e.extname = 'pg_steward')::regrole;
BEGIN
    PERFORM steward._require_writable('steward.restore_builtin_machines()');
    -- The guide's data lifecycle, with the rollback edges its migration
    -- plan implies (switched -> dual_written, dual_written -> backfilled,
    -- backfilled -> pending_backfill).
    FOR b IN SELECT * FROM (VALUES
        ('data_lifecycle',
         ARRAY['new', 'pending_backfill', 'backfilled', 'dual_written', 'switched', 'validated'],
         ARRAY['new'],
         ARRAY['new->pending_backfill', 'pending_backfill->backfilled',
               'backfilled->dual_written', 'dual_written->switched', 'switched->validated',
               'switched->dual_written', 'dual_written->backfilled',
               'backfilled->pending_backfill'])) v(name, states, initial, transitions)
    LOOP
        inserted := false;
        LOOP
            SELECT m.states, m.initial, m.transitions, m.builtin, m.owner, m.usage_roles INTO cur
              FROM steward.machine_definitions m WHERE m.name = b.name FOR UPDATE;
            EXIT WHEN FOUND;
            INSERT INTO steward.machine_definitions (name, states, initial, transitions, builtin, owner)
            VALUES (b.name, b.states, b.initial, b.transitions, true, extowner)
            ON CONFLICT (name) DO NOTHING;
            inserted := FOUND;
            EXIT WHEN inserted;
        END LOOP;
        IF inserted THEN
            RETURN NEXT b.name;
            CONTINUE;
        END IF;
        IF (cur.states, cur.initial, cur.transitions, cur.builtin, cur.owner, cur.usage_roles)
           IS NOT DISTINCT FROM (b.states, b.initial, b.transitions, true, extowner, '{}'::regrole[]) THEN
            CONTINUE;
        END IF;
        IF (cur.states, cur.initial, cur.transitions) IS DISTINCT FROM (b.states, b.initial, b.transitions) THEN
            SELECT string_agg(format('%s.%I', r.relid, r.attname), ', ' ORDER BY r.relid::oid, r.attname) INTO users
              FROM steward.column_rules r
             WHERE r.kind = 'state' AND r.machine = b.name
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
                                WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = r.relid::oid
                                  AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
                                  AND d.deptype = 'e' AND e.extname = 'pg_steward');
            IF users IS NOT NULL THEN
                RAISE EXCEPTION 'state machine "%" has another definition than the built-in one', b.name
                    USING ERRCODE = 'object_not_in_prerequisite_state',
                          DETAIL = format('Columns %s use it as it is; the built-in definition would change their rules.', users),
                          HINT = 'Detach the machine from those columns (steward.detach_state_machine), attach them to a machine of another name, then call steward.restore_builtin_machines() again.';
            END IF;
        END IF;
        UPDATE steward.machine_definitions m
           SET states = b.states, initial = b.initial, transitions = b.transitions,
               builtin = true, owner = extowner, usage_roles = '{}'
         WHERE m.name = b.name;
        RETURN NEXT b.name;
    END LOOP;
    -- The extension's own rule, which a DELETE of its row under
    -- session_replication_role = replica (or with the triggers disabled)
    -- loses while detach_state_machine and a DELETE under origin refuse
    -- to remove it: attached again as the extension's script attaches it
    -- (src/migrate/migrate.sql; mach16's finding).  Not yet there while
    -- the extension's script seeds the machines.
    runs := pg_catalog.to_regclass('steward.migration_runs');
    IF runs IS NOT NULL AND NOT EXISTS (SELECT 1 FROM steward.column_rules r
                                         WHERE r.relid = runs AND r.attname = 'phase') THEN
        PERFORM steward.attach_state_machine(runs, 'phase', 'data_lifecycle', 'phase_changed_at');
        PERFORM steward._report('notice',
                'the state rule of steward.migration_runs.phase (machine data_lifecycle) was missing and is attached again');
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward.restore_builtin_machines() FROM PUBLIC;
COMMENT ON FUNCTION steward.restore_builtin_machines() IS
  'write the built-in state machines (data_lifecycle) again where they are missing or changed (superuser, extension owner)';
SELECT FROM steward.restore_builtin_machines();

-- The machines' owners and grantees, recorded in pg_shdepend after every
-- write (src/lifecycle/machine_roles.c): DROP ROLE in any database of the
-- cluster is refused while a machine here names the role, as for core's
-- objects (review12 R12-11).
CREATE FUNCTION steward._machine_definitions_roles()
RETURNS trigger
AS 'MODULE_PATHNAME', 'steward_machine_definitions_roles'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._machine_definitions_roles() FROM PUBLIC;
CREATE TRIGGER machine_definitions_roles
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON steward.machine_definitions
    FOR EACH STATEMENT EXECUTE FUNCTION steward._machine_definitions_roles();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_roles;
-- A logical replication apply worker fires row triggers only: this one
-- records the roles there (it does nothing elsewhere, where the statement
-- trigger above does), so DROP ROLE of the owner or a grantee of a machine
-- the worker stored is refused from any database of the subscriber
-- (rules20 item 3).
CREATE TRIGGER machine_definitions_roles_applied
    AFTER INSERT OR UPDATE OR DELETE ON steward.machine_definitions
    FOR EACH ROW EXECUTE FUNCTION steward._machine_definitions_roles();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_roles_applied;

-- The cached rules of the tables whose state rules name a machine a
-- statement created, removed or redefined are reset in every session
-- (src/lifecycle/machine_roles.c); a TRUNCATE resets every state rule's.
-- One trigger per event: their transition tables name the rows.
CREATE FUNCTION steward._machine_definitions_rules()
RETURNS trigger
AS 'MODULE_PATHNAME', 'steward_machine_definitions_rules'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._machine_definitions_rules() FROM PUBLIC;
CREATE TRIGGER machine_definitions_rules_insert
    AFTER INSERT ON steward.machine_definitions REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION steward._machine_definitions_rules();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_rules_insert;
CREATE TRIGGER machine_definitions_rules_update
    AFTER UPDATE ON steward.machine_definitions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION steward._machine_definitions_rules();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_rules_update;
CREATE TRIGGER machine_definitions_rules_delete
    AFTER DELETE ON steward.machine_definitions REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION steward._machine_definitions_rules();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_rules_delete;
CREATE TRIGGER machine_definitions_rules_truncate
    AFTER TRUNCATE ON steward.machine_definitions
    FOR EACH STATEMENT EXECUTE FUNCTION steward._machine_definitions_rules();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_rules_truncate;
-- A logical replication apply worker fires row triggers only: this one
-- names the rows there (it does nothing elsewhere, where the statement
-- triggers above do), so a machine changed on a publisher reaches the
-- subscriber's sessions (rules19 item 1).
CREATE TRIGGER machine_definitions_rules_applied
    AFTER INSERT OR UPDATE OR DELETE ON steward.machine_definitions
    FOR EACH ROW EXECUTE FUNCTION steward._machine_definitions_rules();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_rules_applied;

-- Records the machines' owners and grantees in pg_shdepend again, as any
-- write to the catalog does: pg_upgrade rebuilds pg_shdepend from the
-- schema and does not carry them (docs/upgrading.md, "pg_upgrade").  Changes no row
-- of the catalog; takes the statement triggers' lock (ExclusiveLock on the
-- catalog's object, to the end of the transaction).  Superusers and the
-- extension's owner (it writes the catalog); 42501 for others; 25006
-- during recovery or in a read-only transaction.  PL/pgSQL, as the other
-- entry points: its errors come without pg_steward's CONTEXT lines.
CREATE FUNCTION steward.record_machine_roles()
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM steward._require_writable('steward.record_machine_roles()');
    UPDATE steward.machine_definitions SET name = name WHERE false;
END
$$;
REVOKE ALL ON FUNCTION steward.record_machine_roles() FROM PUBLIC;
COMMENT ON FUNCTION steward.record_machine_roles() IS
  'record the state machines'' roles in pg_shdepend again (after pg_upgrade)';

-- Column privileges on the two columns whose pg_shdepend key the machines'
-- roles use are refused (src/lifecycle/machine_roles.c, codereview2 #3):
-- core's REVOKE of one would delete the machines' rows of the role.
-- ENABLE ALWAYS: also in restores under session_replication_role = replica.
CREATE FUNCTION steward._machine_definitions_grant_guard()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'steward_machine_definitions_grant_guard'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._machine_definitions_grant_guard() FROM PUBLIC;
CREATE EVENT TRIGGER steward_machine_definitions_grants ON ddl_command_start
    WHEN TAG IN ('GRANT', 'REVOKE')
    EXECUTE FUNCTION steward._machine_definitions_grant_guard();
ALTER EVENT TRIGGER steward_machine_definitions_grants ENABLE ALWAYS;

-- A machine's row read in a snapshot taken now, never the transaction's
-- (src/lifecycle/machines_api.c): the label path decides with it whether
-- the caller may use the machine (review14 R14-9); NULL if none (or if
-- name is NULL: a label without a machine goes on to create one, which
-- refuses it).
CREATE FUNCTION steward._state_machine_latest(name text)
RETURNS steward.machine_definitions
AS 'MODULE_PATHNAME', 'steward_state_machine_latest'
LANGUAGE C STRICT;
REVOKE ALL ON FUNCTION steward._state_machine_latest(text) FROM PUBLIC;

-- Every path that attaches a machine (attach_state_machine, a label, so a
-- restore) locks its row FOR KEY SHARE before it writes the rule, and
-- every delete of a machine (drop_state_machine, DROP OWNED, the
-- extension's owner's DELETE) checks, once it holds the row, in a snapshot
-- taken then, that no rule names it: a machine dropped while an attach was
-- uncommitted, or by a REPEATABLE READ transaction whose snapshot predated
-- it, left a rule naming no machine, which the access method ignores
-- (src/lifecycle/machines_api.c; tidy3 finding 1).
CREATE FUNCTION steward._state_machine_lock(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_state_machine_lock'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._state_machine_lock(text) FROM PUBLIC;

-- attach_state_machine's cap of 8 state rules per table (its partitioned
-- ancestors' counted) for a state rule arriving another way: a label on a
-- table that stores rows is refused (54000); a rule row written into
-- steward.column_rules (a restore, a hand edit) is kept with a WARNING
-- (restoring), and the table refuses writes until one is detached
-- (src/lifecycle/machines_api.c).
CREATE FUNCTION steward._check_state_rule_cap(tbl regclass, col name, restoring boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_check_state_rule_cap'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._check_state_rule_cap(regclass, name, boolean) FROM PUBLIC;

-- attach_state_machine's check that a machine's states fit a varchar(n)
-- state column, for a state rule arriving another way: a label on a table
-- that stores rows is refused (42804); a rule row written into
-- steward.column_rules, or the machine's row written after its rules (a
-- restore, a hand edit), is kept with a WARNING (restoring), as in the
-- source, where a write to such a state fails the same way
-- (src/lifecycle/machines_api.c).
CREATE FUNCTION steward._check_states_fit(tbl regclass, col name, machine text, states text[],
                                          restoring boolean)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_check_states_fit_sql'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._check_states_fit(regclass, name, text, text[], boolean) FROM PUBLIC;
CREATE FUNCTION steward._machine_definitions_attached()
RETURNS trigger
AS 'MODULE_PATHNAME', 'steward_machine_definitions_attached'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._machine_definitions_attached() FROM PUBLIC;
CREATE TRIGGER machine_definitions_attached
    BEFORE DELETE OR UPDATE OF name ON steward.machine_definitions
    FOR EACH ROW EXECUTE FUNCTION steward._machine_definitions_attached();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_attached;

CREATE VIEW steward.state_machines AS
SELECT m.name, m.states, m.initial, m.transitions, m.builtin,
       coalesce((SELECT array_agg(a.col ORDER BY a.col)
                   FROM steward.column_rules r,
                        LATERAL (SELECT format('%s.%I', r.relid, r.attname) AS col) a
                  WHERE r.kind = 'state' AND r.machine = m.name), '{}') AS attached_to,
       m.created_at, m.owner, m.usage_roles
  FROM steward.machine_definitions m;
GRANT SELECT ON steward.state_machines TO PUBLIC;

-- 42704 unless r names a role that exists, 22004 for NULL: for the
-- internal functions that store the role they are given (a machine's
-- owner, the role running a label, REASSIGN OWNED's new owner), which a
-- superuser may call with any number (regrole takes '0' and the OID of a
-- dropped role), as the public functions taking a role refuse one.
CREATE FUNCTION steward._require_role(r oid)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF r IS NULL THEN
        RAISE EXCEPTION 'role must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass a role that exists, by name (regrole) or by an OID listed in pg_roles.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.oid = r) THEN
        RAISE EXCEPTION 'role with OID % does not exist', r
            USING ERRCODE = 'undefined_object',
                  HINT = 'The role was dropped or never existed: pass one listed in pg_roles.';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._require_role(oid) FROM PUBLIC;

-- The states of a machine create_state_machine or add_transition is to
-- store: 1 to 64 distinct names, each non-empty, at most 63 bytes (the
-- rules cache holds them in NAMEDATALEN) and without "->" (which joins
-- two states in a transition).  22023, 54000 past 64 states, 42622 for a
-- long name, each with a HINT naming the accepted form.
CREATE FUNCTION steward._check_machine_states(name text, states text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF states IS NULL OR cardinality(states) = 0 THEN
        RAISE EXCEPTION 'state machine "%" needs at least one state', name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'List the states as the second argument, such as ARRAY[''created'', ''paid''].';
    END IF;
    IF cardinality(states) > 64 THEN
        RAISE EXCEPTION 'state machine "%" has % states; the limit is 64', name, cardinality(states)
            USING ERRCODE = 'program_limit_exceeded',
                  HINT = 'Split the lifecycle into machines of at most 64 states each.';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(states) s WHERE octet_length(s) > 63) THEN
        RAISE EXCEPTION 'state name "%" of machine "%" is longer than 63 bytes',
                (SELECT s FROM unnest(states) s WHERE octet_length(s) > 63 LIMIT 1), name
            USING ERRCODE = 'name_too_long',
                  HINT = 'Names are at most 63 bytes, as PostgreSQL''s own; give a shorter one.';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(states) s WHERE s IS NULL OR s = '' OR s LIKE '%->%') THEN
        RAISE EXCEPTION 'state names must be non-empty, at most 63 bytes and not contain "->"'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name each state with a word such as ''paid''; "->" only joins two states in a transition.';
    END IF;
    IF (SELECT count(DISTINCT s) FROM unnest(states) s) <> cardinality(states) THEN
        RAISE EXCEPTION 'state machine "%" declares a state twice', name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Duplicates: %s.',
                      (SELECT string_agg(format('"%s"', replace(s, '"', '""')), ', ') FROM (SELECT s FROM unnest(states) s
                                                          GROUP BY s HAVING count(*) > 1) d)),
                  HINT = 'List each state once.';
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._check_machine_states(text, text[]) FROM PUBLIC;

-- The transitions of a machine create_state_machine is to store: a list
-- (possibly empty) of distinct edges "from->to" between two different
-- declared states.  22023 (22004 for NULL) with a HINT naming that form.
CREATE FUNCTION steward._check_machine_transitions(name text, states text[], transitions text[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    edge text;
    from_state text;
    to_state text;
    blank text := ' ' || chr(9) || chr(10) || chr(13);   -- what btrim takes off a misspelt edge
BEGIN
    IF transitions IS NULL THEN
        RAISE EXCEPTION 'transitions of machine "%" must not be null (use an empty array)', name
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = 'Pass ARRAY[]::text[] for a machine whose rows never change state.';
    END IF;
    IF (SELECT count(DISTINCT t) FROM unnest(transitions) t) <> cardinality(transitions) THEN
        RAISE EXCEPTION 'state machine "%" declares a transition twice', name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'List each transition once.';
    END IF;
    FOREACH edge IN ARRAY transitions LOOP
        IF edge IS NULL OR edge NOT LIKE '%->%' THEN
            RAISE EXCEPTION 'transition "%" of machine "%" must be written ''from->to''',
                    coalesce(edge, 'NULL'), name
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Write each transition as two declared states joined by "->", '
                             'such as ''created->paid''.';
        END IF;
        from_state := split_part(edge, '->', 1);
        to_state := substr(edge, length(from_state) + 3);
        IF NOT from_state = ANY (states) OR NOT to_state = ANY (states) THEN
            -- States match exactly, so 'a -> b' names "a " and " b": the
            -- DETAIL quotes what was read, and the HINT says why when the
            -- names without their spaces are declared.
            RAISE EXCEPTION 'transition "%" of machine "%" uses an undeclared state', edge, name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Undeclared: %s.',
                          (SELECT string_agg(quote_literal(x), ', ')
                             FROM unnest(ARRAY[from_state, to_state]) x
                            WHERE NOT x = ANY (states))),
                      HINT = CASE WHEN btrim(from_state, blank) = ANY (states) AND btrim(to_state, blank) = ANY (states)
                                  THEN format('States are matched exactly, spaces included: write %L.',
                                              btrim(from_state, blank) || '->' || btrim(to_state, blank))
                                  ELSE format('Declared states: %s.', (SELECT string_agg(format('"%s"', replace(s, '"', '""')), ', ' ORDER BY n) FROM unnest(states) WITH ORDINALITY u(s, n))) END;
        END IF;
        IF from_state = to_state THEN
            RAISE EXCEPTION 'transition "%" of machine "%" goes nowhere', edge, name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Keeping the state is always allowed.',
                      HINT = 'Leave it out of the transitions.';
        END IF;
    END LOOP;
END
$$;
REVOKE ALL ON FUNCTION steward._check_machine_transitions(text, text[], text[]) FROM PUBLIC;

-- The checks and the insert of create_state_machine, run by its C part as
-- the owner of machine_definitions once it knows the caller (a SECURITY
-- DEFINER function cannot: current_user is the definer there).
CREATE FUNCTION steward._create_state_machine(name text, states text[], initial text[],
                                              transitions text[], owner regrole)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'state machine name must not be null or empty'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Name the machine first: steward.create_state_machine(''orders'', '
                         'ARRAY[''created'', ''paid''], ARRAY[''created''], ARRAY[''created->paid'']).';
    END IF;
    -- 42622 as PostgreSQL refuses a name it would cut: the rules of a
    -- table hold a machine's name in NAMEDATALEN bytes (tableam/rules.h).
    IF octet_length(name) > 63 THEN
        RAISE EXCEPTION 'state machine name "%" is longer than 63 bytes', name
            USING ERRCODE = 'name_too_long',
                  HINT = 'Names are at most 63 bytes, as PostgreSQL''s own; give a shorter one.';
    END IF;
    -- Lists: a 2-D array would be stored as given and written into the
    -- rule labels as nested lists that no restore accepts.
    IF array_ndims(states) > 1 OR array_ndims(initial) > 1 OR array_ndims(transitions) > 1 THEN
        RAISE EXCEPTION 'states, initial and transitions of machine "%" must be one-dimensional arrays', name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Write them as lists: ARRAY[''a'', ''b''] or ''{a,b}'', not ''{{a},{b}}''.';
    END IF;
    PERFORM steward._check_machine_states(name, states);
    IF initial IS NULL OR cardinality(initial) = 0 THEN
        RAISE EXCEPTION 'state machine "%" needs at least one initial state', name
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = format('Name the states a new row may start in as the third argument, chosen from: %s.',
                                (SELECT string_agg(format('"%s"', replace(s, '"', '""')), ', ' ORDER BY n) FROM unnest(states) WITH ORDINALITY u(s, n)));
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(initial) i WHERE i IS NULL OR NOT i = ANY (states)) THEN
        RAISE EXCEPTION 'initial states of machine "%" must be declared states', name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Undeclared: %s.',
                      (SELECT string_agg(coalesce(quote_literal(i), 'NULL'), ', ') FROM unnest(initial) i
                        WHERE i IS NULL OR NOT i = ANY (states))),
                  HINT = format('Choose the initial states from the declared states: %s.',
                                (SELECT string_agg(format('"%s"', replace(s, '"', '""')), ', ' ORDER BY n) FROM unnest(states) WITH ORDINALITY u(s, n)));
    END IF;
    PERFORM steward._check_machine_transitions(name, states, transitions);
    IF EXISTS (SELECT 1 FROM steward.machine_definitions m WHERE m.name = _create_state_machine.name) THEN
        RAISE EXCEPTION 'state machine "%" already exists', name
            USING ERRCODE = 'duplicate_object',
                  HINT = 'Choose another name; steward.state_machines shows the existing machine.';
    END IF;
    PERFORM steward._require_role(owner);
    INSERT INTO steward.machine_definitions (name, states, initial, transitions, owner)
    VALUES (name, states, initial, transitions, owner);
END
$$;
REVOKE ALL ON FUNCTION steward._create_state_machine(text, text[], text[], text[], regrole) FROM PUBLIC;

-- create_state_machine(..., if_not_exists => true) when machine "name"
-- exists: true, with a NOTICE (42710) 'already exists, skipping', whatever
-- its definition, as CREATE TABLE IF NOT EXISTS keeps a table whatever its
-- columns.  A machine of another definition is kept too, the NOTICE's
-- DETAIL showing both (states, initial states and transitions, each
-- compared as a set, byte for byte, as the write path compares states):
-- a migration script creates the machine and then changes it
-- (add_transition, ... with if_not_exists / if_exists), so on its second
-- run the machine differs from the create's lists by design; refusing
-- that (mach19's 42710) made such a script fail at its own create
-- (mach20 item 1).  NULL when no machine has that name, or when a list
-- given is NULL or not one-dimensional (create's own checks speak).  Run
-- by the C part as the catalog's owner.
CREATE FUNCTION steward._state_machine_exists(name text, states text[], initial text[],
                                              transitions text[])
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m record;
BEGIN
    IF states IS NULL OR initial IS NULL OR transitions IS NULL
       OR array_ndims(states) > 1 OR array_ndims(initial) > 1 OR array_ndims(transitions) > 1 THEN
        RETURN NULL;
    END IF;
    SELECT d.states, d.initial, d.transitions INTO m
      FROM steward.machine_definitions d WHERE d.name = _state_machine_exists.name;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF ARRAY(SELECT DISTINCT s COLLATE "C" FROM unnest(m.states) s ORDER BY 1)
         = ARRAY(SELECT DISTINCT s COLLATE "C" FROM unnest(states) s ORDER BY 1)
       AND ARRAY(SELECT DISTINCT s COLLATE "C" FROM unnest(m.initial) s ORDER BY 1)
         = ARRAY(SELECT DISTINCT s COLLATE "C" FROM unnest(initial) s ORDER BY 1)
       AND ARRAY(SELECT DISTINCT s COLLATE "C" FROM unnest(m.transitions) s ORDER BY 1)
         = ARRAY(SELECT DISTINCT s COLLATE "C" FROM unnest(transitions) s ORDER BY 1) THEN
        PERFORM steward._report('notice',
                format('state machine "%s" already exists, skipping', name),
                sqlstate => '42710');
    ELSE
        PERFORM steward._report('notice',
                format('state machine "%s" already exists, skipping', name),
                detail => format('Its definition differs from the one given: existing states %s, initial %s, transitions %s; given states %s, initial %s, transitions %s.',
                                  m.states, m.initial, m.transitions, states, initial, transitions),
                hint => 'The machine is kept as it is. Change it in place (steward.add_transition, steward.drop_transition, '
                         'steward.add_initial_state, steward.drop_initial_state, each with if_not_exists / if_exists '
                         'for a script run again), or give the new one another name.',
                sqlstate => '42710');
    END IF;
    RETURN true;
END
$$;
REVOKE ALL ON FUNCTION steward._state_machine_exists(text, text[], text[], text[]) FROM PUBLIC;

-- With if_not_exists => true, a machine of that name is kept, whatever
-- its definition (NOTICE; _state_machine_exists), so that a migration
-- script can be run again.
CREATE FUNCTION steward.create_state_machine(name text, states text[], initial text[],
                                             transitions text[], if_not_exists boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_create_state_machine'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.create_state_machine(text, text[], text[], text[], boolean) IS
  'define a lifecycle state machine: states, initial states, transitions written from->to; with if_not_exists => true, a machine of that name is kept (NOTICE)';

-- The dependency check of drop_state_machine and of DROP OWNED: refuses
-- (2BP01) while a state rule names the machine, leaving out the rules on
-- what DROP OWNED's core part drops before the machines go: the relations
-- in dropped_relids with 0 in dropped_attnums, and the columns
-- (dropped_relids[i], dropped_attnums[i]).  The drop passes none; DROP
-- OWNED's pre-check (refuse_kept_role_machines, src/lifecycle/
-- machines_api.c) passes what core's part will drop, so that, run while
-- the roles' own tables still exist, it raises the error the check after
-- core's part would raise (codereview9 L1).
-- Only a table's owner can detach a machine from it: when one of the
-- tables is another role's (a grantee's), the HINT names each detach and
-- the role to run it as (the first three), and the way to keep the
-- machine instead (review21 F2: DROP OWNED BY r told r to detach it from
-- a grantee's table, which r cannot).
CREATE FUNCTION steward._refuse_attached_machine(name text, dropped_relids oid[], dropped_attnums integer[])
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    users text;
    steps text;
    n_tables bigint;
    n_others bigint;
BEGIN
    WITH k AS (
        SELECT r.relid, r.attname, format('%s.%I', r.relid, r.attname) AS used
          FROM steward.column_rules r
         WHERE r.kind = 'state' AND r.machine = _refuse_attached_machine.name
           AND NOT EXISTS (
               SELECT FROM unnest(dropped_relids, dropped_attnums) d(relid, attnum)
                WHERE d.relid = r.relid::oid
                  AND (d.attnum = 0
                       OR d.attnum = (SELECT a.attnum FROM pg_attribute a
                                       WHERE a.attrelid = r.relid AND a.attname = r.attname))))
    SELECT (SELECT string_agg(k.used, ', ' ORDER BY k.used) FROM k), y.nt, y.nothers, y.st
      INTO users, n_tables, n_others, steps
      FROM (SELECT count(*) AS nt, count(*) FILTER (WHERE x.other) AS nothers,
                   string_agg(x.step, '; ' ORDER BY x.n) FILTER (WHERE x.n <= 3) AS st
              FROM (SELECT format('as %s: SELECT steward.detach_state_machine(%L, %L)',
                                  c.relowner::regrole, k.relid::text, k.attname) AS step,
                           c.relowner IS DISTINCT FROM m.owner::oid AS other,
                           row_number() OVER (ORDER BY k.used) AS n
                      FROM k
                      JOIN pg_class c ON c.oid = k.relid
                      LEFT JOIN steward.machine_definitions m ON m.name = _refuse_attached_machine.name) x) y;
    IF users IS NULL THEN
        RETURN;
    END IF;
    IF n_others = 0 THEN
        RAISE EXCEPTION 'state machine "%" is attached', name
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = format('Attached to: %s.', users),
                  HINT = 'Detach it first with steward.detach_state_machine().';
    END IF;
    RAISE EXCEPTION 'state machine "%" is attached', name
        USING ERRCODE = 'dependent_objects_still_exist',
              DETAIL = format('Attached to: %s.', users),
              HINT = format('Only a table''s owner can detach it: %s%s. To keep the machine instead, a superuser or a member of the new owner can give it away first: SELECT steward.alter_state_machine_owner(%L, ''new_owner'').',
                            steps,
                            CASE WHEN n_tables > 3 THEN format(' (and %s more)', n_tables - 3) ELSE '' END,
                            name);
END
$$;
REVOKE ALL ON FUNCTION steward._refuse_attached_machine(text, oid[], integer[]) FROM PUBLIC;

-- The dependency check (steward._refuse_attached_machine) and the delete
-- of drop_state_machine, run by its C part as the owner of
-- machine_definitions after the ownership check, and by DROP OWNED
-- (steward._drop_owned).
CREATE FUNCTION steward._drop_state_machine(name text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- The row first, before the delete's statement trigger takes the
    -- catalog's lock: a transaction attaching the machine holds its row
    -- (FOR KEY SHARE) and may write the catalog next (a label making
    -- another machine); waiting for it while holding that lock deadlocked.
    PERFORM 1 FROM steward.machine_definitions m WHERE m.name = _drop_state_machine.name FOR UPDATE;
    PERFORM steward._refuse_attached_machine(name, '{}', '{}');
    DELETE FROM steward.machine_definitions m WHERE m.name = _drop_state_machine.name;
END
$$;
REVOKE ALL ON FUNCTION steward._drop_state_machine(text) FROM PUBLIC;

CREATE FUNCTION steward.drop_state_machine(name text)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_drop_state_machine'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.drop_state_machine(text) IS
  'drop a state machine that nothing is attached to (its owner only)';

CREATE FUNCTION steward.alter_state_machine_owner(name text, owner regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_alter_state_machine_owner'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.alter_state_machine_owner(text, regrole) IS
  'give a state machine to another role (owner or superuser; must be a member of the new owner)';

CREATE FUNCTION steward.grant_state_machine(name text, grantee regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_grant_state_machine'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.grant_state_machine(text, regrole) IS
  'let a role attach a state machine to its tables (owner only)';

CREATE FUNCTION steward.revoke_state_machine(name text, grantee regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_revoke_state_machine'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.revoke_state_machine(text, regrole) IS
  'take back a grant_state_machine (owner only); attachments made stay';

-- A change of machine "name" would take the states "changed" out of it
-- (a drop_transition or drop_initial_state leaving them in no transition
-- and not initial): refuse (2BP01) while a state check of a table the
-- machine is attached to (or of a partition below) names one, "why"
-- saying why the state goes, the HINT the call that removes the first
-- check.  A state is quoted as machines_api.c's append_listed_name
-- quotes a listed name (a double quote doubled: trust50, a state named
--  a", "b  read as two).  Run as the catalog's owner.
CREATE FUNCTION steward._refuse_checked_states(name text, changed text[], why text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    checks text;
    first_check text;
BEGIN
    SELECT string_agg(format('%s (state "%s")', c.relid, replace(c.state, '"', '""')), ', ' ORDER BY c.relid::oid, c.state),
           (array_agg(format('SELECT steward.set_state_check(%L, %L, NULL);', c.relid::text, c.state)
                      ORDER BY c.relid::oid, c.state))[1]
      INTO checks, first_check
      FROM steward.state_checks c
     WHERE c.state = ANY (changed)
       AND c.relid::oid IN (SELECT t.relid::oid
                              FROM steward.column_rules r,
                                   LATERAL (SELECT r.relid UNION SELECT p.relid
                                              FROM pg_partition_tree(r.relid) p) t (relid)
                             WHERE r.kind = 'state' AND r.machine = _refuse_checked_states.name);
    IF checks IS NOT NULL THEN
        RAISE EXCEPTION 'cannot drop state % of machine "%": state checks name it',
                (SELECT string_agg(format('"%s"', replace(s, '"', '""')), ', ' ORDER BY n)
                   FROM unnest(changed) WITH ORDINALITY u (s, n)), name
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = format('%s; checks: %s.', why, checks),
                  HINT = format('Remove each check first (its table''s owner): %s', first_check);
    END IF;
END
$$;
REVOKE ALL ON FUNCTION steward._refuse_checked_states(text, text[], text) FROM PUBLIC;

-- The SQL part of add_transition (adding) and drop_transition, run by
-- their C part (machines_api.c) as the owner of machine_definitions once
-- it holds the attached tables, the owner's lock tag and the machine's
-- row.  Adding: from_state must be declared; a to_state that is not
-- becomes a new state (a NOTICE says so), checked as create_state_machine
-- checks its states and transitions.  Dropping: a state the edge leaves in
-- no transition and not initial goes with it (the inverse of add), unless
-- a state check of an attached table names it (2BP01).  Returns the
-- states added or dropped; the C part refuses a drop of a state that rows
-- are in.  22004, 22023, 42704, 42710, 54000, 2BP01.
CREATE FUNCTION steward._change_transition(name text, from_state text, to_state text,
                                           adding boolean)
RETURNS text[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m record;
    edge text := from_state || '->' || to_state;
    new_states text[];
    new_transitions text[];
    changed text[] := '{}';
BEGIN
    IF from_state IS NULL OR to_state IS NULL THEN
        RAISE EXCEPTION 'from_state and to_state must not be null'
            USING ERRCODE = 'null_value_not_allowed',
                  HINT = format('Name both ends of the edge: steward.%s(%L, ''paid'', ''on_hold'').',
                                CASE WHEN adding THEN 'add_transition' ELSE 'drop_transition' END, name);
    END IF;
    SELECT d.states, d.initial, d.transitions INTO STRICT m
      FROM steward.machine_definitions d WHERE d.name = _change_transition.name;
    IF adding THEN
        IF NOT from_state = ANY (m.states) THEN
            RAISE EXCEPTION '% is not a state of machine "%"', format('"%s"', replace(from_state, '"', '""')), name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = format('Declared states: %s.', (SELECT string_agg(format('"%s"', replace(s, '"', '""')), ', ' ORDER BY n) FROM unnest(m.states) WITH ORDINALITY u(s, n))),
                      HINT = 'A new state enters a machine as the target of an edge from a declared state: add that edge first.';
        END IF;
        IF edge = ANY (m.transitions) THEN
            RAISE EXCEPTION 'machine "%" already has transition % -> %', name,
                    format('"%s"', replace(from_state, '"', '""')), format('"%s"', replace(to_state, '"', '""'))
                USING ERRCODE = 'duplicate_object',
                      HINT = 'steward.state_machines lists the transitions of each machine.';
        END IF;
        new_states := m.states;
        IF NOT to_state = ANY (m.states) THEN
            new_states := m.states || to_state;
            changed := ARRAY[to_state];
        END IF;
        new_transitions := m.transitions || edge;
        PERFORM steward._check_machine_states(name, new_states);
        PERFORM steward._check_machine_transitions(name, new_states, new_transitions);
    ELSE
        IF NOT edge = ANY (m.transitions) THEN
            RAISE EXCEPTION 'machine "%" has no transition % -> %', name,
                    format('"%s"', replace(from_state, '"', '""')), format('"%s"', replace(to_state, '"', '""'))
                USING ERRCODE = 'undefined_object',
                      DETAIL = format('Its transitions: %s.',
                                      coalesce((SELECT string_agg(format('"%s" -> "%s"', replace(split_part(t, '->', 1), '"', '""'),
                                                                  replace(substr(t, length(split_part(t, '->', 1)) + 3), '"', '""')),
                                                           ', ' ORDER BY n)
                                                FROM unnest(m.transitions) WITH ORDINALITY u(t, n)), 'none')),
                      HINT = 'steward.state_machines lists the transitions of each machine.';
        END IF;
        new_transitions := array_remove(m.transitions, edge);
        -- States are never written with "->": split_part finds each end.
        changed := ARRAY(SELECT s FROM unnest(ARRAY[from_state, to_state]) s
                          WHERE NOT s = ANY (m.initial)
                            AND NOT EXISTS (SELECT FROM unnest(new_transitions) t
                                             WHERE s IN (split_part(t, '->', 1), split_part(t, '->', 2))));
        new_states := ARRAY(SELECT s FROM unnest(m.states) WITH ORDINALITY u (s, n)
                             WHERE NOT s = ANY (changed) ORDER BY n);
        PERFORM steward._refuse_checked_states(name, changed,
                    format('Without transition %s -> %s the state is in no transition and not initial, so it goes with it',
                           from_state, to_state));
    END IF;
    UPDATE steward.machine_definitions d
       SET states = new_states, transitions = new_transitions
     WHERE d.name = _change_transition.name;
    IF adding AND cardinality(changed) > 0 THEN
        PERFORM steward._report('notice',
                format('state "%s" added to machine "%s"', to_state, name),
                hint => format('If "%s" is a typo, take the edge back, and the state goes with it: SELECT steward.drop_transition(%L, %L, %L);',
                                to_state, name, from_state, to_state));
    END IF;
    RETURN changed;
END
$$;
REVOKE ALL ON FUNCTION steward._change_transition(text, text, text, boolean) FROM PUBLIC;

-- A to_state the machine does not declare becomes a new state only with
-- new_state => true (a typo is refused, 22023, the HINT giving that call);
-- new_state => true for a declared state is refused too (42710).
-- if_not_exists => true: an edge the machine has is a NOTICE, skipping
-- (before new_state is judged: the script's first run added the state),
-- as ALTER TABLE ... ADD COLUMN IF NOT EXISTS; drop_transition's
-- if_exists => true: an edge it lacks is a NOTICE, skipping.  So a
-- migration script changing a machine can be run again (mach20).
CREATE FUNCTION steward.add_transition(machine text, from_state text, to_state text,
                                       new_state boolean DEFAULT false,
                                       if_not_exists boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_add_transition'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.add_transition(text, text, text, boolean, boolean) IS
  'add an edge from->to to a state machine, attached or not (its owner only); with new_state => true, to_state is a new state; with if_not_exists => true, an edge it has is skipped';

CREATE FUNCTION steward.drop_transition(machine text, from_state text, to_state text,
                                        if_exists boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_drop_transition'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.drop_transition(text, text, text, boolean) IS
  'remove an edge from a state machine (its owner only); a state left in no transition and not initial goes too, unless rows are in it; with if_exists => true, an edge it lacks is skipped';

-- The SQL part of add_initial_state (adding) and drop_initial_state, run
-- by their C part (machines_api.c) as the owner of machine_definitions,
-- after the locks of add_transition.  The state must be declared (22023);
-- adding one that is initial is refused (42710), dropping one that is not
-- (42704) or the last one (22023: a new row must start somewhere).  A
-- state that stops being initial and is in no transition goes with it, as
-- drop_transition's (2BP01 while a state check names it).  Returns the
-- states dropped; the C part refuses a drop of a state that rows are in.
CREATE FUNCTION steward._change_initial(name text, state text, adding boolean)
RETURNS text[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    m record;
    changed text[] := '{}';
    other text;
BEGIN
    SELECT d.states, d.initial, d.transitions INTO STRICT m
      FROM steward.machine_definitions d WHERE d.name = _change_initial.name;
    IF NOT state = ANY (m.states) THEN
        RAISE EXCEPTION '% is not a state of machine "%"', format('"%s"', replace(state, '"', '""')), name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Declared states: %s.', (SELECT string_agg(format('"%s"', replace(s, '"', '""')), ', ' ORDER BY n) FROM unnest(m.states) WITH ORDINALITY u(s, n))),
                  HINT = CASE WHEN adding
                         THEN 'A new state enters a machine as the target of an edge (steward.add_transition with new_state => true); then make it initial.'
                         ELSE format('Its initial states: %s.', (SELECT string_agg(format('"%s"', replace(s, '"', '""')), ', ' ORDER BY n) FROM unnest(m.initial) WITH ORDINALITY u(s, n))) END;
    END IF;
    IF adding THEN
        IF state = ANY (m.initial) THEN
            RAISE EXCEPTION 'state % of machine "%" is already initial', format('"%s"', replace(state, '"', '""')), name
                USING ERRCODE = 'duplicate_object',
                      DETAIL = format('Its initial states: %s.', (SELECT string_agg(format('"%s"', replace(s, '"', '""')), ', ' ORDER BY n) FROM unnest(m.initial) WITH ORDINALITY u(s, n)));
        END IF;
        UPDATE steward.machine_definitions d
           SET initial = m.initial || state
         WHERE d.name = _change_initial.name;
        RETURN changed;
    END IF;
    IF NOT state = ANY (m.initial) THEN
        RAISE EXCEPTION 'state % of machine "%" is not initial', format('"%s"', replace(state, '"', '""')), name
            USING ERRCODE = 'undefined_object',
                  DETAIL = format('Its initial states: %s.', (SELECT string_agg(format('"%s"', replace(s, '"', '""')), ', ' ORDER BY n) FROM unnest(m.initial) WITH ORDINALITY u(s, n))),
                  HINT = 'steward.state_machines lists the initial states of each machine.';
    END IF;
    IF cardinality(m.initial) = 1 THEN
        other := (SELECT s FROM unnest(m.states) WITH ORDINALITY u (s, n)
                   WHERE NOT s = state ORDER BY n LIMIT 1);
        RAISE EXCEPTION 'cannot drop initial state "%" of machine "%": it is the only one', state, name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A new row must start in an initial state, so a machine keeps at least one.',
                  HINT = CASE WHEN other IS NULL
                         THEN 'Add another state first, as the target of an edge (steward.add_transition with new_state => true), and make it initial.'
                         ELSE format('Make another state initial first: SELECT steward.add_initial_state(%L, %L);', name, other) END;
    END IF;
    -- States are never written with "->": split_part finds each end.
    IF NOT EXISTS (SELECT FROM unnest(m.transitions) t
                    WHERE state IN (split_part(t, '->', 1), split_part(t, '->', 2))) THEN
        changed := ARRAY[state];
        PERFORM steward._refuse_checked_states(name, changed,
                    format('Not initial, state "%s" is in no transition, so it goes with it', state));
    END IF;
    UPDATE steward.machine_definitions d
       SET initial = array_remove(m.initial, state),
           states = ARRAY(SELECT s FROM unnest(m.states) WITH ORDINALITY u (s, n)
                           WHERE NOT s = ANY (changed) ORDER BY n)
     WHERE d.name = _change_initial.name;
    RETURN changed;
END
$$;
REVOKE ALL ON FUNCTION steward._change_initial(text, text, boolean) FROM PUBLIC;

-- if_not_exists => true: a state initial already is a NOTICE, skipping;
-- drop_initial_state's if_exists => true: a state not initial (or not
-- declared: a first run may have dropped it with its last role) is a
-- NOTICE, skipping (mach20).
CREATE FUNCTION steward.add_initial_state(machine text, state text,
                                          if_not_exists boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_add_initial_state'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.add_initial_state(text, text, boolean) IS
  'let new rows start in a declared state of a state machine, attached or not (its owner only); with if_not_exists => true, a state initial already is skipped';

CREATE FUNCTION steward.drop_initial_state(machine text, state text,
                                           if_exists boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_drop_initial_state'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.drop_initial_state(text, text, boolean) IS
  'stop new rows starting in a state (its owner only); a state left in no transition goes too, unless rows are in it; with if_exists => true, a state not initial is skipped';

CREATE FUNCTION steward.attach_state_machine(tbl regclass, col name, machine text,
                                             changed_at_column name DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_attach_state_machine'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.attach_state_machine(regclass, name, text, name) IS
  'enforce a state machine on a text column of a steward table (table owner; the machine must be yours, granted to you, or built in)';

-- Refuses (0A000) a state column with a nondeterministic collation, for
-- the paths written in SQL: a rule from a label, ALTER TABLE of a state
-- column (attach_state_machine checks in C).
CREATE FUNCTION steward._check_state_collation(tbl regclass, col name)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_check_state_collation_sql'
LANGUAGE C;
REVOKE ALL ON FUNCTION steward._check_state_collation(regclass, name) FROM PUBLIC;

CREATE FUNCTION steward.detach_state_machine(tbl regclass, col name)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_detach_state_machine'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.detach_state_machine(regclass, name) IS
  'removes the state machine rule of a state column (the column and its values stay)';

-- Validation checks per (table, state): a query returning the number of
-- violating rows.
CREATE TABLE steward.state_checks (
    relid     regclass NOT NULL,
    state     text     NOT NULL,
    check_sql text     NOT NULL,
    PRIMARY KEY (relid, state)
);
-- Only checks of relations that exist are dumped (see table_retention).
SELECT pg_catalog.pg_extension_config_dump('steward.state_checks',
    'WHERE EXISTS (SELECT FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) relid::pg_catalog.oid)');
REVOKE ALL ON steward.state_checks FROM PUBLIC;
GRANT SELECT ON steward.state_checks TO PUBLIC;
-- A check's SQL and its results are the table owner's business: each row
-- is visible to roles with the privileges of the table's owner and to
-- pg_read_all_stats (the extension's functions write as the tables' owner,
-- which row security does not restrict).
ALTER TABLE steward.state_checks ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_owners ON steward.state_checks FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) relid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));

CREATE TABLE steward.validation_runs (
    relid      regclass    NOT NULL,
    state      text        NOT NULL,
    check_sql  text        NOT NULL,
    passed     boolean     NOT NULL,
    violations bigint      NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX validation_runs_relid ON steward.validation_runs (relid, checked_at);
-- No key: a dropped table's runs are deleted (steward._tables_on_sql_drop),
-- which a FOR ALL TABLES publication allows only with a replica identity.
ALTER TABLE steward.validation_runs REPLICA IDENTITY FULL;
REVOKE ALL ON steward.validation_runs FROM PUBLIC;
GRANT SELECT ON steward.validation_runs TO PUBLIC;
ALTER TABLE steward.validation_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_owners ON steward.validation_runs FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) relid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));

CREATE FUNCTION steward.set_state_check(tbl regclass, state text, check_sql text)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_set_state_check'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.set_state_check(regclass, text, text) IS
  'validation query for rows in a state; returns the number of violating rows (NULL removes it)';

CREATE FUNCTION steward.validate(tbl regclass)
RETURNS TABLE (state text, check_sql text, passed boolean, violations bigint,
               checked_at timestamptz)
AS 'MODULE_PATHNAME', 'steward_validate'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.validate(regclass) IS
  'run the state checks of a table as its owner and record them in steward.validation_runs';

-- Batch transitions.
CREATE TABLE steward.transition_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    relid         regclass    NOT NULL,
    state_column  name        NOT NULL,
    from_state    text        NOT NULL,
    to_state      text        NOT NULL,
    rows_total    bigint      NOT NULL,
    rows_done     bigint      NOT NULL DEFAULT 0,
    batches       bigint      NOT NULL DEFAULT 0,
    retries       integer     NOT NULL DEFAULT 0,
    pid           integer     NOT NULL,
    status        text        NOT NULL DEFAULT 'running',
    started_at    timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    last_batch_at timestamptz,
    finished_at   timestamptz
);
REVOKE ALL ON steward.transition_runs FROM PUBLIC;
GRANT SELECT ON steward.transition_runs TO PUBLIC;
ALTER TABLE steward.transition_runs ENABLE ROW LEVEL SECURITY;
CREATE POLICY table_owners ON steward.transition_runs FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role((SELECT c.relowner FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) relid), 'USAGE')
           OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE'));

CREATE FUNCTION steward._transition_prepare(tbl regclass, from_state text, to_state text,
                                            set_sql text, batch_size integer,
                                            max_rows_per_sec integer,
                                            OUT run_id bigint, OUT state_column text,
                                            OUT key_columns text, OUT key_type text)
RETURNS record
AS 'MODULE_PATHNAME', 'steward_transition_prepare'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward._transition_progress(run_id bigint, rows bigint, retries integer,
                                             status text, remaining bigint DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_transition_progress'
LANGUAGE C VOLATILE;

-- The rows of a run's table still in its source state, as the table's
-- owner: steward._run_batches' probe ("probe" in job) before a pass from
-- the first key.
CREATE FUNCTION steward._transition_left(run_id bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'steward_transition_left'
LANGUAGE C VOLATILE;

CREATE FUNCTION steward._transition_run_left(job jsonb)
RETURNS bigint
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT steward._transition_left((job->>'run_id')::bigint) $$;

CREATE FUNCTION steward._transition_batch(run_id bigint, set_sql text, batch_size integer,
                                          after_key text,
                                          OUT moved bigint, OUT last_key text)
RETURNS record
AS 'MODULE_PATHNAME', 'steward_transition_batch'
LANGUAGE C VOLATILE;

-- The COMMIT of pg_steward's procedures: the deferred triggers and the
-- caller's cursor loop that a COMMIT runs are the user's code, never
-- pg_steward's own, which a plain COMMIT in these procedures let them pass
-- for (exec.c: steward_commit, codereview15 C7).
CREATE PROCEDURE steward._commit()
AS 'MODULE_PATHNAME', 'steward_commit'
LANGUAGE C;

-- One batch of steward._run_batches (batch_stmt, status_stmt and gov as it
-- made them) with its retries: 40001 and 40P01 are retried with
-- exponential backoff up to 10 times; past that, or on any other error or
-- a cancel, the governor job ends and the job's status is recorded and
-- committed before the error goes on.  moved, batch_key and batch_whole:
-- the batch function's result.  It runs only the two statements
-- _run_batches builds, each a call of a function of the steward schema,
-- which runs a table's own statements behind the owner-code barrier:
-- anything else is refused (42501) before it runs (sec7: a superuser's
-- direct call is trusted, and an UPDATE passed as batch_stmt ran the
-- table owner's trigger in that frame, where its call of
-- steward._transition_prepare, which only run_transition may make, was
-- accepted).
CREATE PROCEDURE steward._run_batch(batch_stmt text, status_stmt text, job jsonb, gov bigint,
                                    last_key text[], size integer, INOUT moved bigint,
                                    INOUT batch_key text[], INOUT batch_whole boolean)
LANGUAGE plpgsql
-- No SET clause: a procedure with one may not COMMIT.  It runs as the
-- caller, so every name below is schema-qualified, operators and types
-- included.
AS $$
DECLARE
    retries pg_catalog.int4 := 0;
    backoff pg_catalog.float8 := 0.01;
BEGIN
    -- No backslash: a pattern reads the same under standard_conforming_strings = off.
    IF batch_stmt IS NULL OR status_stmt IS NULL
       OR batch_stmt OPERATOR(pg_catalog.!~)
          '^SELECT [*](, NULL::pg_catalog[.]bool)? FROM steward[.][a-z0-9_]+[(][$]1, [$]2, [$]3, [$]4[)]$'
       OR status_stmt OPERATOR(pg_catalog.!~)
          '^SELECT steward[.][a-z0-9_]+[(][$]1, [$]2, [$]3, [$]4[)]$' THEN
        RAISE EXCEPTION 'steward._run_batch() runs only the batch statements of steward._run_batches()'
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = pg_catalog.format('Got batch statement %L and status statement %L.',
                                             batch_stmt, status_stmt),
                  HINT = 'Call steward.run_transition() or steward.migration_backfill(), which run their batches through it.';
    END IF;
    LOOP
        BEGIN
            -- steward.batch_synchronous_commit = off: no wait for the
            -- batch's WAL flush (README: the governor).  In this block:
            -- a failed batch's status commits as the session says.
            IF NOT pg_catalog.current_setting('steward.batch_synchronous_commit')::pg_catalog.bool THEN
                PERFORM pg_catalog.set_config('synchronous_commit', 'off', true);
            END IF;
            EXECUTE batch_stmt INTO moved, batch_key, batch_whole
                USING job, last_key, size, retries;
            EXIT;
        EXCEPTION
            WHEN serialization_failure OR deadlock_detected THEN
                retries := retries OPERATOR(pg_catalog.+) 1;
                IF retries OPERATOR(pg_catalog.>) 10 THEN
                    PERFORM steward.governor_end(gov, 'failed');
                    EXECUTE status_stmt USING job, 'failed', retries, SQLERRM;
                    CALL steward._commit();
                    RAISE;
                END IF;
                PERFORM pg_catalog.pg_sleep(backoff OPERATOR(pg_catalog.*)
                                            (0.5::pg_catalog.float8 OPERATOR(pg_catalog.+) pg_catalog.random()));
                backoff := LEAST(backoff OPERATOR(pg_catalog.*) 2::pg_catalog.float8,
                                 2::pg_catalog.float8);
            WHEN query_canceled THEN
                PERFORM steward.governor_end(gov, 'cancelled');
                EXECUTE status_stmt USING job, 'cancelled', retries, SQLERRM;
                CALL steward._commit();
                RAISE;
            WHEN OTHERS THEN
                PERFORM steward.governor_end(gov, 'failed');
                EXECUTE status_stmt USING job, 'failed', retries, SQLERRM;
                CALL steward._commit();
                RAISE;
        END;
    END LOOP;
END
$$;

-- The batch loop of every resumable background job (run_transition,
-- migration backfills): committed batches, retried on 40001/40P01 with
-- exponential backoff, paced by the governor (src/governor: batch size up
-- to batch_size and the pause after each batch, from the foreground's
-- latency, WAL waits, replication lag and the lock waits the job causes;
-- max_rows_per_sec caps it), cancelled or failed with their status
-- recorded (one batch and its retries: steward._run_batch).
-- steward.<batch_fn>(job, after_key, batch_size, retries) -> (moved,
-- last_key) does one batch and records its progress in the same
-- transaction; steward.<status_fn>(job, status, retries, error) records
-- 'failed' or 'cancelled'.  The job is shown in steward.governor_jobs as
-- job->>'kind' (default 'backfill'), job->>'label' (default its name and
-- table) and job->>'ref'.  With keyset batches ("keyset" in job), each
-- batch starts after the previous one's last key, and passes over the
-- table repeat until one that covered every row that may be left moves
-- nothing: a row skipped because it was locked, or re-locked in a newer
-- version than the batch's snapshot can update, is picked up by the next
-- pass.  With "whole" in job, the batch function returns a third column,
-- true when its batch left no row to move after its after_key up to its
-- last key (one key range, all of it written): the next pass then starts
-- after the after_key of the previous pass's first batch that did not
-- say so (a backfill's last pass reads the table's tail, not the whole
-- table again); otherwise from the first key.  resume_key starts the
-- first pass after a checkpoint; the next pass starts from the first key
-- (the run before the checkpoint may have skipped rows anywhere).  With
-- "probe" in job, steward.<probe>(job) -> rows left is asked before each
-- pass from the first key after the first: 0 ends the job without the
-- pass (run_transition: a count of any plan, not the whole key read
-- twice; a row entering the state behind the cursor is still found).  With
-- "rows_left" in job (the rows left to move when the job began, for a job
-- whose rows to move only ever become fewer: a backfill's), the job ends
-- as soon as its batches have moved that many: no batch when it is 0, no
-- last pass after the batch that moved the last of them.  With
-- "interleave" k > 1 in job (a column backfill's), a batch that returns
-- whole NULL was one stripe of a window (steward._migration_stripe_batch):
-- the next batch is the window's next stripe, job "stripe" and "upper" (its
-- last key) added, after the same key; the window counts as one batch
-- for the pass (its rows, its last stripe's whole and last key).
CREATE PROCEDURE steward._run_batches(batch_fn text, status_fn text, job jsonb,
                                      batch_size integer, max_rows_per_sec integer,
                                      resume_key text[] DEFAULT NULL)
LANGUAGE plpgsql
-- No SET clause: a procedure with one may not COMMIT.  It runs as the
-- caller, so every name below is schema-qualified, operators and types
-- included.  The batches themselves run in the job's functions.
AS $$
DECLARE
    keyset pg_catalog.bool := COALESCE((job OPERATOR(pg_catalog.->>) 'keyset')::pg_catalog.bool, false);
    batch_stmt pg_catalog.text := pg_catalog.format('SELECT *%s FROM steward.%I($1, $2, $3, $4)', CASE WHEN job OPERATOR(pg_catalog.?) 'whole' THEN '' ELSE ', NULL::pg_catalog.bool' END, batch_fn);
    status_stmt pg_catalog.text := pg_catalog.format('SELECT steward.%I($1, $2, $3, $4)', status_fn);
    moved pg_catalog.int8 := 0; job_moved pg_catalog.int8 := 0;
    rows_left pg_catalog.int8 := (job OPERATOR(pg_catalog.->>) 'rows_left')::pg_catalog.int8;
    pass_moved pg_catalog.int8; from_start pg_catalog.bool; last_key pg_catalog.text[];
    batch_key pg_catalog.text[]; batch_whole pg_catalog.bool; rescan_key pg_catalog.text[]; rescan pg_catalog.bool;
    gov pg_catalog.int8; size pg_catalog.int4; none_left pg_catalog.bool;
    interleaved pg_catalog.bool := COALESCE((job OPERATOR(pg_catalog.->>) 'interleave')::pg_catalog.int4 OPERATOR(pg_catalog.>) 1, false);
    stripe_job pg_catalog.jsonb; window_moved pg_catalog.int8 := 0;
BEGIN
    gov := steward.governor_begin(
        COALESCE(job OPERATOR(pg_catalog.->>) 'kind', 'backfill'),
        COALESCE(job OPERATOR(pg_catalog.->>) 'label',
                 pg_catalog.concat_ws(' ', job OPERATOR(pg_catalog.->>) 'name',
                                      job OPERATOR(pg_catalog.->>) 'table')),
        batch_size, max_rows_per_sec, (job OPERATOR(pg_catalog.->>) 'ref')::pg_catalog.int8);
    last_key := CASE WHEN keyset THEN resume_key END;
    LOOP
        EXIT WHEN job_moved OPERATOR(pg_catalog.>=) rows_left;  -- NULL rows_left: never
        pass_moved := 0; rescan := false; rescan_key := NULL;
        from_start := COALESCE(from_start, last_key IS NULL);
        LOOP
            -- Ask the governor for the next batch: it sleeps at most one
            -- slice per call, and 0 means the pause goes on; the COMMIT in
            -- between holds no snapshot across a long pause.
            LOOP
                BEGIN
                    size := steward.governor_pace(gov, moved);
                EXCEPTION WHEN query_canceled THEN
                    PERFORM steward.governor_end(gov, 'cancelled');
                    EXECUTE status_stmt USING job, 'cancelled', 0, SQLERRM;
                    CALL steward._commit();
                    RAISE;
                END;
                moved := 0;  -- rows_left reached: the last batch reported, no other taken
                EXIT WHEN size OPERATOR(pg_catalog.>) 0 OR job_moved OPERATOR(pg_catalog.>=) rows_left;
                CALL steward._commit();
            END LOOP;
            EXIT WHEN job_moved OPERATOR(pg_catalog.>=) rows_left;
            CALL steward._run_batch(batch_stmt, status_stmt, COALESCE(stripe_job, job), gov, last_key, size,
                                    moved, batch_key, batch_whole);
            CALL steward._commit();
            pass_moved := pass_moved OPERATOR(pg_catalog.+) moved; job_moved := job_moved OPERATOR(pg_catalog.+) moved;
            IF interleaved AND batch_whole IS NULL THEN
                -- A stripe of a window, not its last: the next batch is
                -- the next stripe, after the same key, up to the window's end.
                window_moved := window_moved OPERATOR(pg_catalog.+) moved;
                stripe_job := job OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
                    'stripe', COALESCE((stripe_job OPERATOR(pg_catalog.->>) 'stripe')::pg_catalog.int4, 0) OPERATOR(pg_catalog.+) 1,
                    'upper', batch_key);
                CONTINUE;
            END IF;
            stripe_job := NULL;
            window_moved := window_moved OPERATOR(pg_catalog.+) moved;  -- the governor counts each stripe's own
            rescan_key := CASE WHEN rescan THEN rescan_key ELSE last_key END;
            rescan := rescan OR batch_whole IS NOT TRUE;
            EXIT WHEN window_moved OPERATOR(pg_catalog.=) 0;
            window_moved := 0;
            IF keyset THEN
                last_key := batch_key;
            END IF;
        END LOOP;
        EXIT WHEN NOT keyset OR (pass_moved OPERATOR(pg_catalog.=) 0 AND from_start) OR job_moved OPERATOR(pg_catalog.>=) rows_left;
        last_key := CASE WHEN from_start THEN rescan_key END;  -- NULL: the first key
        IF last_key IS NULL AND job OPERATOR(pg_catalog.?) 'probe' THEN EXECUTE pg_catalog.format('SELECT steward.%I($1) OPERATOR(pg_catalog.=) 0', job OPERATOR(pg_catalog.->>) 'probe') INTO none_left USING job; END IF;
        EXIT WHEN none_left;
        from_start := true;
    END LOOP;
    -- The transaction the caller commits next has a transaction id, so
    -- its commit (at the session's synchronous_commit) flushes, and waits
    -- for synchronous standbys, up to it: every batch before it included.
    PERFORM pg_catalog.txid_current();
    PERFORM steward.governor_end(gov);
END
$$;

-- One batch of run_transition for steward._run_batches (job: run_id,
-- set_sql), with its progress.
CREATE FUNCTION steward._transition_run_batch(job jsonb, after_key text[], batch_size integer,
                                              retries integer,
                                              OUT moved bigint, OUT last_key text[])
RETURNS record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    batch record;
BEGIN
    batch := steward._transition_batch((job->>'run_id')::bigint, job->>'set_sql', batch_size,
                                       after_key[1]);
    PERFORM steward._transition_progress((job->>'run_id')::bigint, batch.moved, retries, NULL);
    moved := batch.moved;
    last_key := CASE WHEN batch.last_key IS NOT NULL THEN ARRAY[batch.last_key] END;
END
$$;

CREATE FUNCTION steward._transition_run_status(job jsonb, status text, retries integer,
                                               error text)
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT steward._transition_progress((job->>'run_id')::bigint, 0, retries, status) $$;

-- First statement of the procedures that COMMIT between batches: a CALL
-- that may not commit (inside BEGIN ... COMMIT, from a function) is
-- refused up front with 25001 and a HINT, not at the first COMMIT.
CREATE FUNCTION steward._require_own_transactions(procedure text)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_require_own_transactions'
LANGUAGE C VOLATILE;

-- Refused first, with 25006, during recovery or in a read-only transaction
-- (steward._migration_entered).
CREATE PROCEDURE steward.run_transition(tbl regclass, from_state text, to_state text,
                                        set_sql text DEFAULT NULL,
                                        batch_size integer DEFAULT 10000,
                                        max_rows_per_sec integer DEFAULT NULL)
LANGUAGE plpgsql
-- No SET clause: a procedure with one may not COMMIT.  It runs as the
-- caller, so every name below is schema-qualified, operators and types
-- included: the caller's search_path cannot substitute anything.  The rows
-- are counted and moved by the C helpers, as the table's owner.
-- batch_size 10000 (1000 before 0.2's stop 41): under the governor, fewer
-- batches at the same rate cost the foreground less (docs/benchmarks.md,
-- the governor benchmark's batch10k rows).
AS $$
DECLARE
    prep pg_catalog.record;
    label pg_catalog.text;
BEGIN
    PERFORM steward._require_own_transactions('steward.run_transition');
    -- Counted as pg_steward's own code, or called again to be (exec.c:
    -- steward_migration_entered): the helpers that open and close the
    -- run refuse any other caller.
    IF NOT steward._migration_entered('steward.run_transition(pg_catalog.regclass,pg_catalog.text,pg_catalog.text,pg_catalog.text,pg_catalog.int4,pg_catalog.int4)') THEN
        CALL steward.run_transition(tbl, from_state, to_state, set_sql, batch_size, max_rows_per_sec);
        RETURN;
    END IF;
    -- Rows moved to their own state would match again forever.
    IF from_state OPERATOR(pg_catalog.=) to_state THEN
        RAISE EXCEPTION 'run_transition: from and to are the same state "%"', from_state
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'To change other columns of rows in one state, run an UPDATE in batches; run_transition moves rows between states.';
    END IF;
    prep := steward._transition_prepare(tbl, from_state, to_state, set_sql,
                                        batch_size, max_rows_per_sec);
    CALL steward._commit();

    -- The governor job's label: the table schema-qualified whatever the
    -- caller's search_path, as backfills'.
    SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) INTO label
      FROM pg_catalog.pg_class c
      JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
     WHERE c.oid OPERATOR(pg_catalog.=) tbl;

    -- With a primary key each batch starts after the last key moved
    -- (keyset: a composite key as a row comparison); without one every
    -- batch restarts in ctid order and one pass is enough
    -- (steward._run_batches).
    CALL steward._run_batches('_transition_run_batch', '_transition_run_status',
        pg_catalog.jsonb_build_object('run_id', prep.run_id, 'set_sql', set_sql,
                                      'keyset', prep.key_columns OPERATOR(pg_catalog.<>) 'ctid',
                                      'kind', 'transition', 'label', label, 'probe', '_transition_run_left',
                                      'ref', prep.run_id),
        batch_size, max_rows_per_sec);

    -- What is left (rows other transactions kept locked) stays for a re-run;
    -- the helper counts it as the table's owner.
    PERFORM steward._transition_progress(prep.run_id, 0, 0, 'finished');
    CALL steward._commit();
END
$$;
COMMENT ON PROCEDURE steward.run_transition(regclass, text, text, text, integer, integer) IS
  'move rows from one state to another in committed, resumable batches';

-- Is the session that started a run still executing that CALL?  Its pid
-- must be running a statement that began before the run did: a session
-- that was cancelled, failed or went on to other statements is not.  C,
-- as the caller: true only for a backend pg_stat_activity would show it,
-- or one recorded in a run its row security lets it read (review9 F6).
CREATE FUNCTION steward._transition_running(pid integer, started_at timestamptz)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_transition_running'
LANGUAGE C STRICT STABLE;
REVOKE ALL ON FUNCTION steward._transition_running(integer, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward._transition_running(integer, timestamptz) TO PUBLIC;

-- security_invoker: the caller's row security on steward.transition_runs
-- applies (runs are visible to the tables' owners and pg_read_all_stats).
CREATE VIEW steward.transition_progress WITH (security_invoker = true) AS
SELECT r.id, r.relid, r.state_column, r.from_state, r.to_state,
       r.rows_done,
       greatest(r.rows_total - r.rows_done, 0) AS rows_remaining,
       round((r.rows_done / nullif(extract(epoch FROM coalesce(r.last_batch_at, r.started_at)
                                                    - r.started_at), 0))::numeric, 1)
           AS rows_per_sec,
       -- Only a run still executing has an ETA: an interrupted one (its
       -- session terminated, the server restarted) moves nothing until it
       -- is called again, as a cancelled one.
       CASE WHEN r.finished_at IS NULL AND r.rows_done > 0
                 AND steward._transition_running(r.pid, r.started_at) THEN
           (greatest(r.rows_total - r.rows_done, 0)
            * ((r.last_batch_at - r.started_at) / r.rows_done))
       END AS eta,
       r.started_at, r.last_batch_at, r.batches, r.retries,
       r.finished_at,
       CASE WHEN r.finished_at IS NOT NULL THEN r.status
            WHEN steward._transition_running(r.pid, r.started_at) THEN 'running'
            ELSE 'interrupted' END AS status,
       -- While it runs, what the governor lets it do now, and why not more.
       g.batch_size,
       round(g.rows_per_sec::numeric, 1) AS current_rows_per_sec,
       g.throttled_by
  FROM steward.transition_runs r
  LEFT JOIN steward._governor_jobs() g
         ON g.kind = 'transition' AND g.ref = r.id AND g.pid = r.pid
        AND g.finished_at IS NULL AND r.finished_at IS NULL;
GRANT SELECT ON steward.transition_progress TO PUBLIC;

-- Rows per state for every attached table the caller may read in full
-- (SELECT on the table or the state column, no row security hiding rows),
-- counted as each table's owner.
CREATE FUNCTION steward._state_counts()
RETURNS TABLE (relid regclass, column_name name, state text, rows bigint)
AS 'MODULE_PATHNAME', 'steward_state_counts'
LANGUAGE C STABLE;

CREATE VIEW steward.state_counts AS SELECT * FROM steward._state_counts();
GRANT SELECT ON steward.state_counts TO PUBLIC;

CREATE VIEW steward.transition_counts AS
    SELECT relid, from_state, to_state, transitions FROM steward.transition_counters();
-- Readable by those who may call the function it reads (as table_stats).
GRANT SELECT ON steward.transition_counts TO PUBLIC;

