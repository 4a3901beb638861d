/* pg_steward--0.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_steward" to load this file. \quit

-- Users reach the API and views through the schema; what each object allows
-- is granted object by object below.
GRANT USAGE ON SCHEMA steward TO PUBLIC;

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

CREATE VIEW steward.tracked_columns AS
SELECT r.relid,
       r.attname                AS column_name,
       r.kind,
       a.atttypid::regtype     AS data_type,
       (c.relkind = 'p' OR am.amname = 'steward') AS enforced,
       r.machine,
       r.changed_at             AS changed_at_column,
       r.created_at             AS tracked_since
  FROM steward.column_rules r
  JOIN pg_catalog.pg_class c ON c.oid = r.relid
  LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
  LEFT JOIN pg_catalog.pg_attribute a
         ON a.attrelid = r.relid AND a.attname = r.attname AND NOT a.attisdropped;
GRANT SELECT ON steward.tracked_columns TO PUBLIC;

-- Keep the rules consistent with DDL: dropping a table or a tracked column
-- drops its rules; renaming a tracked column renames the rule; changing the
-- type of a tracked column to one the rule cannot check is refused.
CREATE FUNCTION steward._rules_on_sql_drop()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF pg_catalog.to_regclass('steward.column_rules') IS NULL THEN
        RETURN;     -- the extension itself is being dropped
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
AS $$
DECLARE
    cmd record;
    bad record;
    relname name;
BEGIN
    FOR cmd IN SELECT DISTINCT objid, objsubid
                 FROM pg_catalog.pg_event_trigger_ddl_commands()
                WHERE classid = 'pg_catalog.pg_class'::regclass LOOP
        CONTINUE WHEN NOT EXISTS (SELECT 1 FROM steward.column_rules
                                   WHERE relid::oid = cmd.objid);
        -- RENAME COLUMN reports the renamed column as the subobject; a rule
        -- whose name vanished from the table follows it.
        IF cmd.objsubid > 0 THEN
            UPDATE steward.column_rules r
               SET attname = a.attname
              FROM pg_catalog.pg_attribute a
             WHERE r.relid::oid = cmd.objid
               AND a.attrelid = cmd.objid
               AND a.attnum = cmd.objsubid
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute x
                                WHERE x.attrelid = cmd.objid
                                  AND x.attname = r.attname
                                  AND NOT x.attisdropped);
            UPDATE steward.column_rules r
               SET changed_at = a.attname
              FROM pg_catalog.pg_attribute a
             WHERE r.relid::oid = cmd.objid
               AND r.changed_at IS NOT NULL
               AND a.attrelid = cmd.objid
               AND a.attnum = cmd.objsubid
               AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute x
                                WHERE x.attrelid = cmd.objid
                                  AND x.attname = r.changed_at
                                  AND NOT x.attisdropped);
        END IF;
        relname := (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = cmd.objid);
        FOR bad IN
            SELECT r.attname, r.kind, a.atttypid::regtype AS typ
              FROM steward.column_rules r
              JOIN pg_catalog.pg_attribute a
                ON a.attrelid = r.relid AND a.attname = r.attname
                   AND NOT a.attisdropped
             WHERE r.relid::oid = cmd.objid
               AND ((r.kind = 'version' AND a.atttypid <> 'pg_catalog.int8'::regtype)
                 OR (r.kind = 'sequence' AND a.atttypid NOT IN
                       ('pg_catalog.int2'::regtype, 'pg_catalog.int4'::regtype,
                        'pg_catalog.int8'::regtype))
                 OR (r.kind = 'state' AND a.atttypid NOT IN
                       ('pg_catalog.text'::regtype, 'pg_catalog.varchar'::regtype)))
        LOOP
            RAISE EXCEPTION 'column "%" of relation "%" is tracked as a % and cannot become type %',
                    bad.attname, relname, bad.kind, bad.typ
                USING ERRCODE = 'datatype_mismatch',
                      HINT = CASE WHEN bad.kind = 'state'
                                  THEN pg_catalog.format('Call steward.detach_state_machine(%L, %L) first.',
                                                         cmd.objid::regclass::text, bad.attname)
                                  ELSE pg_catalog.format('Call steward.untrack(%L, %L) first.',
                                                         cmd.objid::regclass::text, bad.attname)
                             END;
        END LOOP;
    END LOOP;
END
$$;

CREATE EVENT TRIGGER steward_rules_sql_drop ON sql_drop
    EXECUTE FUNCTION steward._rules_on_sql_drop();
CREATE EVENT TRIGGER steward_rules_alter_table ON ddl_command_end
    WHEN TAG IN ('ALTER TABLE')
    EXECUTE FUNCTION steward._rules_on_alter_table();

REVOKE ALL ON FUNCTION steward._rules_on_sql_drop() FROM PUBLIC;
REVOKE ALL ON FUNCTION steward._rules_on_alter_table() FROM PUBLIC;

--------------------------------------------------------------------------
-- Shared-memory counters (src/stats)
--------------------------------------------------------------------------

CREATE FUNCTION steward.table_counters(
    OUT relid regclass,
    OUT version_conflicts bigint,
    OUT invalid_versions bigint,
    OUT sequence_rejects bigint,
    OUT illegal_transitions bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_table_counters'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION steward.table_counters() IS
  'version conflicts, invalid versions, sequence rejects and illegal state transitions per table since server start (needs shared_preload_libraries)';

CREATE FUNCTION steward.transition_counters(
    OUT relid regclass, OUT from_state text, OUT to_state text, OUT transitions bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_transition_counters'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION steward.transition_counters() IS
  'state changes per table and edge since server start (needs shared_preload_libraries)';

--------------------------------------------------------------------------
-- Index access method "steward_hash" (src/hashindex)
--------------------------------------------------------------------------

CREATE FUNCTION steward.steward_hash_handler(internal)
RETURNS index_am_handler
AS 'MODULE_PATHNAME', 'steward_hash_handler'
LANGUAGE C;

CREATE ACCESS METHOD steward_hash TYPE INDEX HANDLER steward.steward_hash_handler;
COMMENT ON ACCESS METHOD steward_hash IS
  'growable multi-column hash index for equality lookups and exclusion constraints';

-- Integers hash alike across widths, so one family serves int2/int4/int8
-- and comparisons between them (an int4 constant against a bigint column).
CREATE OPERATOR FAMILY steward.integer_ops USING steward_hash;
CREATE OPERATOR CLASS steward.int2_ops DEFAULT FOR TYPE int2
    USING steward_hash FAMILY steward.integer_ops AS
    OPERATOR 1 = (int2, int2),
    FUNCTION 1 pg_catalog.hashint2extended(int2, int8);
CREATE OPERATOR CLASS steward.int4_ops DEFAULT FOR TYPE int4
    USING steward_hash FAMILY steward.integer_ops AS
    OPERATOR 1 = (int4, int4),
    FUNCTION 1 pg_catalog.hashint4extended(int4, int8);
CREATE OPERATOR CLASS steward.int8_ops DEFAULT FOR TYPE int8
    USING steward_hash FAMILY steward.integer_ops AS
    OPERATOR 1 = (int8, int8),
    FUNCTION 1 pg_catalog.hashint8extended(int8, int8);
ALTER OPERATOR FAMILY steward.integer_ops USING steward_hash ADD
    OPERATOR 1 = (int2, int4),
    OPERATOR 1 = (int2, int8),
    OPERATOR 1 = (int4, int2),
    OPERATOR 1 = (int4, int8),
    OPERATOR 1 = (int8, int2),
    OPERATOR 1 = (int8, int4);

CREATE OPERATOR FAMILY steward.text_ops USING steward_hash;
CREATE OPERATOR CLASS steward.text_ops DEFAULT FOR TYPE text
    USING steward_hash FAMILY steward.text_ops AS
    OPERATOR 1 = (text, text),
    FUNCTION 1 pg_catalog.hashtextextended(text, int8);
-- varchar columns use text_ops (binary coercible), as with core hash.

CREATE OPERATOR CLASS steward.bytea_ops DEFAULT FOR TYPE bytea
    USING steward_hash AS
    OPERATOR 1 = (bytea, bytea),
    FUNCTION 1 pg_catalog.hashvarlenaextended(internal, int8);
CREATE OPERATOR CLASS steward.uuid_ops DEFAULT FOR TYPE uuid
    USING steward_hash AS
    OPERATOR 1 = (uuid, uuid),
    FUNCTION 1 pg_catalog.uuid_hash_extended(uuid, int8);
CREATE OPERATOR CLASS steward.numeric_ops DEFAULT FOR TYPE numeric
    USING steward_hash AS
    OPERATOR 1 = (numeric, numeric),
    FUNCTION 1 pg_catalog.hash_numeric_extended(numeric, int8);
CREATE OPERATOR CLASS steward.date_ops DEFAULT FOR TYPE date
    USING steward_hash AS
    OPERATOR 1 = (date, date),
    FUNCTION 1 pg_catalog.hashint4extended(int4, int8);
CREATE OPERATOR CLASS steward.timestamp_ops DEFAULT FOR TYPE timestamp
    USING steward_hash AS
    OPERATOR 1 = (timestamp, timestamp),
    FUNCTION 1 pg_catalog.timestamp_hash_extended(timestamp, int8);
CREATE OPERATOR CLASS steward.timestamptz_ops DEFAULT FOR TYPE timestamptz
    USING steward_hash AS
    OPERATOR 1 = (timestamptz, timestamptz),
    FUNCTION 1 pg_catalog.timestamp_hash_extended(timestamp, int8);

CREATE FUNCTION steward.verify_index(idx regclass,
    OUT problem text, OUT blkno bigint, OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_verify_index'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION steward.verify_index(regclass) IS
  'check a steward_hash index against itself and its table; one row per problem';

CREATE FUNCTION steward.hash_index_stats(idx regclass,
    OUT buckets bigint, OUT pages bigint, OUT overflow_pages bigint,
    OUT free_pages bigint, OUT unused_pages bigint, OUT entries bigint,
    OUT fill double precision, OUT longest_chain bigint,
    OUT entries_per_page bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'steward_hash_index_stats'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION steward.hash_index_stats(regclass) IS
  'buckets, pages by kind, entries and fill of a steward_hash index';

--------------------------------------------------------------------------
-- Idempotency keys (src/idempotency)
--------------------------------------------------------------------------

-- One row per (scope, key), written in the caller's transaction.  Dumped
-- with the database: a restore must not forget keys still within their
-- retention.
CREATE TABLE steward.idempotency_keys (
    scope        text        NOT NULL,
    key          text        NOT NULL,
    fingerprint  text        NOT NULL,
    status       integer,
    response     jsonb,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    locked_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
    completed_at timestamptz,
    expires_at   timestamptz NOT NULL,
    CONSTRAINT idempotency_keys_once
        EXCLUDE USING steward_hash (scope WITH =, key WITH =)
) USING steward;
CREATE INDEX idempotency_keys_expiry ON steward.idempotency_keys (expires_at);
SELECT pg_catalog.pg_extension_config_dump('steward.idempotency_keys', '');
REVOKE ALL ON steward.idempotency_keys FROM PUBLIC;

CREATE TABLE steward.idempotency_scopes (
    scope     text PRIMARY KEY,
    retention interval NOT NULL CHECK (retention > interval '0')
);
SELECT pg_catalog.pg_extension_config_dump('steward.idempotency_scopes', '');
REVOKE ALL ON steward.idempotency_scopes FROM PUBLIC;

CREATE FUNCTION steward.idempotency_begin(scope text, key text, fingerprint text,
                                          nowait boolean DEFAULT false)
RETURNS TABLE (outcome text, status integer, response jsonb, created_at timestamptz)
AS 'MODULE_PATHNAME', 'steward_idempotency_begin'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.idempotency_begin(text, text, text, boolean) IS
  'claim an idempotency key: new, replay, mismatch or in_progress';

CREATE FUNCTION steward.idempotency_begin_strict(scope text, key text, fingerprint text,
                                                 nowait boolean DEFAULT false)
RETURNS TABLE (outcome text, status integer, response jsonb, created_at timestamptz)
AS 'MODULE_PATHNAME', 'steward_idempotency_begin_strict'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.idempotency_begin_strict(text, text, text, boolean) IS
  'like idempotency_begin, but mismatch raises SI422 and in_progress raises SI409';

CREATE FUNCTION steward.idempotency_complete(scope text, key text, status integer,
                                             response jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_idempotency_complete'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.idempotency_complete(text, text, integer, jsonb) IS
  'store the result of the request that holds an idempotency key';

CREATE FUNCTION steward.idempotency_purge()
RETURNS bigint
AS 'MODULE_PATHNAME', 'steward_idempotency_purge'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.idempotency_purge() IS
  'delete expired idempotency keys now; returns how many';

CREATE FUNCTION steward.set_idempotency_retention(scope text, retention interval)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF scope IS NULL OR scope = '' THEN
        RAISE EXCEPTION 'idempotency scope must not be null or empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF retention IS NULL THEN
        DELETE FROM steward.idempotency_scopes s WHERE s.scope = set_idempotency_retention.scope;
    ELSIF retention <= interval '0' THEN
        RAISE EXCEPTION 'idempotency retention must be positive'
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Got %s.', retention);
    ELSE
        INSERT INTO steward.idempotency_scopes AS s VALUES (scope, retention)
            ON CONFLICT ON CONSTRAINT idempotency_scopes_pkey
            DO UPDATE SET retention = excluded.retention;
    END IF;
END
$$;
COMMENT ON FUNCTION steward.set_idempotency_retention(text, interval) IS
  'override steward.idempotency_retention for one scope (NULL removes the override)';

CREATE VIEW steward.idempotency_retention_overrides AS
    SELECT scope, retention FROM steward.idempotency_scopes;

CREATE FUNCTION steward.idempotency_counters(
    OUT scope text, OUT new bigint, OUT replay bigint, OUT mismatch bigint,
    OUT in_progress bigint, OUT expired bigint, OUT purged bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_idempotency_counters'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW steward.idempotency_stats AS
    SELECT scope, new, replay, mismatch, in_progress, expired, purged,
           round(replay::numeric / nullif(new + replay, 0), 4) AS dedup_rate
      FROM steward.idempotency_counters();

-- Applications get these by explicit GRANT (see README "Safe retries").
REVOKE ALL ON FUNCTION steward.idempotency_begin(text, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.idempotency_begin_strict(text, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.idempotency_complete(text, text, integer, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.idempotency_purge() FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.set_idempotency_retention(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.idempotency_counters() FROM PUBLIC;
REVOKE ALL ON steward.idempotency_stats FROM PUBLIC;
REVOKE ALL ON steward.idempotency_retention_overrides FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward.idempotency_counters() TO pg_read_all_stats;
GRANT SELECT ON steward.idempotency_stats TO pg_read_all_stats;

--------------------------------------------------------------------------
-- Lifecycle state machines (src/lifecycle)
--------------------------------------------------------------------------

CREATE TABLE steward.machine_definitions (
    name        text PRIMARY KEY,
    states      text[] NOT NULL,
    initial     text[] NOT NULL,
    transitions text[] NOT NULL,      -- 'from->to'
    builtin     boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
-- Built-in machines come with the extension; only user machines are dumped.
SELECT pg_catalog.pg_extension_config_dump('steward.machine_definitions', 'WHERE NOT builtin');
REVOKE ALL ON steward.machine_definitions FROM PUBLIC;

-- The guide's data lifecycle, with the rollback edges its migration plan
-- implies (switched -> dual_written, dual_written -> backfilled,
-- backfilled -> pending_backfill).
INSERT INTO steward.machine_definitions (name, states, initial, transitions, builtin)
VALUES ('data_lifecycle',
        ARRAY['new', 'pending_backfill', 'backfilled', 'dual_written', 'switched', 'validated'],
        ARRAY['new'],
        ARRAY['new->pending_backfill', 'pending_backfill->backfilled',
              'backfilled->dual_written', 'dual_written->switched', 'switched->validated',
              'switched->dual_written', 'dual_written->backfilled',
              'backfilled->pending_backfill'],
        true);

CREATE VIEW steward.state_machines AS
SELECT m.name, m.states, m.initial, m.transitions, m.builtin,
       coalesce((SELECT array_agg(format('%s.%I', r.relid, r.attname) ORDER BY 1)
                   FROM steward.column_rules r
                  WHERE r.kind = 'state' AND r.machine = m.name), '{}') AS attached_to,
       m.created_at
  FROM steward.machine_definitions m;
GRANT SELECT ON steward.state_machines TO PUBLIC;

CREATE FUNCTION steward.create_state_machine(name text, states text[], initial text[],
                                             transitions text[])
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    edge text;
    from_state text;
    to_state text;
BEGIN
    IF name IS NULL OR name = '' THEN
        RAISE EXCEPTION 'state machine name must not be null or empty'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF states IS NULL OR cardinality(states) = 0 THEN
        RAISE EXCEPTION 'state machine "%" needs at least one state', name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF cardinality(states) > 64 THEN
        RAISE EXCEPTION 'state machine "%" has % states; the limit is 64', name, cardinality(states)
            USING ERRCODE = 'program_limit_exceeded';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(states) s WHERE s IS NULL OR s = '' OR octet_length(s) > 63
                                                 OR s LIKE '%->%') THEN
        RAISE EXCEPTION 'state names must be non-empty, at most 63 bytes and not contain "->"'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF (SELECT count(DISTINCT s) FROM unnest(states) s) <> cardinality(states) THEN
        RAISE EXCEPTION 'state machine "%" declares a state twice', name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Duplicates: %s.',
                      (SELECT string_agg(s, ', ') FROM (SELECT s FROM unnest(states) s
                                                          GROUP BY s HAVING count(*) > 1) d));
    END IF;
    IF initial IS NULL OR cardinality(initial) = 0 THEN
        RAISE EXCEPTION 'state machine "%" needs at least one initial state', name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF EXISTS (SELECT 1 FROM unnest(initial) i WHERE i IS NULL OR NOT i = ANY (states)) THEN
        RAISE EXCEPTION 'initial states of machine "%" must be declared states', name
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = format('Undeclared: %s.',
                      (SELECT string_agg(coalesce(i, 'NULL'), ', ') FROM unnest(initial) i
                        WHERE i IS NULL OR NOT i = ANY (states)));
    END IF;
    IF transitions IS NULL THEN
        RAISE EXCEPTION 'transitions of machine "%" must not be null (use an empty array)', name
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF (SELECT count(DISTINCT t) FROM unnest(transitions) t) <> cardinality(transitions) THEN
        RAISE EXCEPTION 'state machine "%" declares a transition twice', name
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOREACH edge IN ARRAY transitions LOOP
        IF edge IS NULL OR edge NOT LIKE '%->%' THEN
            RAISE EXCEPTION 'transition "%" of machine "%" must be written ''from->to''',
                    coalesce(edge, 'NULL'), name
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        from_state := split_part(edge, '->', 1);
        to_state := substr(edge, length(from_state) + 3);
        IF NOT from_state = ANY (states) OR NOT to_state = ANY (states) THEN
            RAISE EXCEPTION 'transition "%" of machine "%" uses an undeclared state', edge, name
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = format('Declared states: %s.', array_to_string(states, ', '));
        END IF;
        IF from_state = to_state THEN
            RAISE EXCEPTION 'transition "%" of machine "%" goes nowhere', edge, name
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = 'Keeping the state is always allowed.';
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM steward.machine_definitions m WHERE m.name = create_state_machine.name) THEN
        RAISE EXCEPTION 'state machine "%" already exists', name
            USING ERRCODE = 'duplicate_object';
    END IF;
    INSERT INTO steward.machine_definitions (name, states, initial, transitions)
    VALUES (name, states, initial, transitions);
END
$$;
COMMENT ON FUNCTION steward.create_state_machine(text, text[], text[], text[]) IS
  'define a lifecycle state machine: states, initial states, transitions written from->to';

CREATE FUNCTION steward.drop_state_machine(name text)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    users text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM steward.machine_definitions m WHERE m.name = drop_state_machine.name) THEN
        RAISE EXCEPTION 'state machine "%" does not exist', name USING ERRCODE = 'undefined_object';
    END IF;
    IF (SELECT m.builtin FROM steward.machine_definitions m WHERE m.name = drop_state_machine.name) THEN
        RAISE EXCEPTION 'state machine "%" is built in', name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT string_agg(format('%s.%I', r.relid, r.attname), ', ' ORDER BY 1) INTO users
      FROM steward.column_rules r WHERE r.kind = 'state' AND r.machine = drop_state_machine.name;
    IF users IS NOT NULL THEN
        RAISE EXCEPTION 'state machine "%" is attached', name
            USING ERRCODE = 'dependent_objects_still_exist',
                  DETAIL = format('Attached to: %s.', users),
                  HINT = 'Detach it first with steward.detach_state_machine().';
    END IF;
    DELETE FROM steward.machine_definitions m WHERE m.name = drop_state_machine.name;
END
$$;

CREATE FUNCTION steward.attach_state_machine(tbl regclass, col name, machine text,
                                             changed_at_column name DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_attach_state_machine'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.attach_state_machine(regclass, name, text, name) IS
  'enforce a state machine on a text column of a steward table (owner only)';

CREATE FUNCTION steward.detach_state_machine(tbl regclass, col name)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_detach_state_machine'
LANGUAGE C VOLATILE;

-- Validation checks per (table, state): a query returning the number of
-- violating rows.
CREATE TABLE steward.state_checks (
    relid     regclass NOT NULL,
    state     text     NOT NULL,
    check_sql text     NOT NULL,
    PRIMARY KEY (relid, state)
);
SELECT pg_catalog.pg_extension_config_dump('steward.state_checks', '');
REVOKE ALL ON steward.state_checks FROM PUBLIC;
GRANT SELECT ON steward.state_checks TO PUBLIC;

CREATE TABLE steward.validation_runs (
    relid      regclass    NOT NULL,
    state      text        NOT NULL,
    check_sql  text        NOT NULL,
    passed     boolean     NOT NULL,
    violations bigint      NOT NULL,
    checked_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX validation_runs_relid ON steward.validation_runs (relid, checked_at);
REVOKE ALL ON steward.validation_runs FROM PUBLIC;
GRANT SELECT ON steward.validation_runs TO PUBLIC;

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

CREATE PROCEDURE steward.run_transition(tbl regclass, from_state text, to_state text,
                                        set_sql text DEFAULT NULL,
                                        batch_size integer DEFAULT 1000,
                                        max_rows_per_sec integer DEFAULT NULL)
LANGUAGE plpgsql
-- No SET clause: a procedure with one may not COMMIT.  It runs as the
-- caller, so the caller's search_path gives it no rights it lacks.
AS $$
DECLARE
    prep record;
    first_stmt text;
    next_stmt text;
    moved bigint;
    pass_moved bigint;
    last_key text;
    batch_key text;
    retries integer;
    backoff double precision;
    batch_started timestamptz;
    pause double precision;
    remaining bigint;
BEGIN
    prep := steward._transition_prepare(tbl, from_state, to_state, set_sql,
                                        batch_size, max_rows_per_sec);
    COMMIT;

    -- Lock a batch in key order, skipping rows other transactions hold, and
    -- move it.  tableoid makes the join safe on partitioned tables, whose
    -- ctids repeat.  With a single-column key the next batch starts after
    -- the last key moved (keyset), so each batch reads only its own rows.
    first_stmt := format(
        'WITH batch AS (SELECT tableoid, ctid FROM %1$s WHERE %2$I = $1 %5$s ORDER BY %3$s '
        'LIMIT $2 FOR UPDATE SKIP LOCKED), '
        'moved AS (UPDATE %1$s t SET %2$I = $3%4$s FROM batch '
        'WHERE t.tableoid = batch.tableoid AND t.ctid = batch.ctid RETURNING %6$s AS k) '
        'SELECT count(*), max(k)::text FROM moved',
        tbl, prep.state_column, prep.key_columns,
        CASE WHEN set_sql IS NULL THEN '' ELSE ', ' || set_sql END,
        '', CASE WHEN prep.key_type IS NOT NULL THEN 't.' || prep.key_columns
                 ELSE 'NULL::int' END);
    IF prep.key_type IS NOT NULL THEN
        next_stmt := format(
            'WITH batch AS (SELECT tableoid, ctid FROM %1$s WHERE %2$I = $1 AND %3$s > $4::%6$s '
            'ORDER BY %3$s LIMIT $2 FOR UPDATE SKIP LOCKED), '
            'moved AS (UPDATE %1$s t SET %2$I = $3%4$s FROM batch '
            'WHERE t.tableoid = batch.tableoid AND t.ctid = batch.ctid RETURNING t.%3$s AS k) '
            'SELECT count(*), max(k)::text FROM moved',
            tbl, prep.state_column, prep.key_columns,
            CASE WHEN set_sql IS NULL THEN '' ELSE ', ' || set_sql END,
            '', prep.key_type);
    END IF;

    -- Passes over the table until one moves nothing: a row skipped because
    -- it was locked, or re-locked in a newer version than the batch's
    -- snapshot can update, is picked up by the next pass.
    LOOP
        pass_moved := 0;
        last_key := NULL;
        LOOP
            retries := 0;
            backoff := 0.01;
            batch_started := clock_timestamp();
            LOOP
                BEGIN
                    IF last_key IS NULL OR next_stmt IS NULL THEN
                        EXECUTE first_stmt INTO moved, batch_key
                            USING from_state, batch_size, to_state;
                    ELSE
                        EXECUTE next_stmt INTO moved, batch_key
                            USING from_state, batch_size, to_state, last_key;
                    END IF;
                    EXIT;
                EXCEPTION
                    WHEN serialization_failure OR deadlock_detected THEN
                        retries := retries + 1;
                        IF retries > 10 THEN
                            PERFORM steward._transition_progress(prep.run_id, 0, retries, 'failed');
                            COMMIT;
                            RAISE;
                        END IF;
                        PERFORM pg_sleep(backoff * (0.5 + random()));
                        backoff := least(backoff * 2, 2.0);
                    WHEN query_canceled THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, retries, 'cancelled');
                        COMMIT;
                        RAISE;
                    WHEN OTHERS THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, retries, 'failed');
                        COMMIT;
                        RAISE;
                END;
            END LOOP;
            PERFORM steward._transition_progress(prep.run_id, moved, retries, NULL);
            COMMIT;
            EXIT WHEN moved = 0;
            pass_moved := pass_moved + moved;
            last_key := batch_key;

            IF max_rows_per_sec IS NOT NULL THEN
                pause := moved::double precision / max_rows_per_sec
                         - extract(epoch FROM clock_timestamp() - batch_started);
                IF pause > 0 THEN
                    BEGIN
                        PERFORM pg_sleep(pause);
                    EXCEPTION WHEN query_canceled THEN
                        PERFORM steward._transition_progress(prep.run_id, 0, 0, 'cancelled');
                        COMMIT;
                        RAISE;
                    END;
                END IF;
            END IF;
        END LOOP;
        EXIT WHEN pass_moved = 0 OR next_stmt IS NULL;
    END LOOP;

    -- What is left (rows other transactions kept locked) stays for a re-run.
    EXECUTE format('SELECT count(*) FROM %s WHERE %I = $1', tbl, prep.state_column)
        INTO remaining USING from_state;
    PERFORM steward._transition_progress(prep.run_id, 0, 0, 'finished', remaining);
    COMMIT;
END
$$;
COMMENT ON PROCEDURE steward.run_transition(regclass, text, text, text, integer, integer) IS
  'move rows from one state to another in committed, resumable batches';

CREATE VIEW steward.transition_progress AS
SELECT r.id, r.relid, r.state_column, r.from_state, r.to_state,
       r.rows_done,
       greatest(r.rows_total - r.rows_done, 0) AS rows_remaining,
       round((r.rows_done / nullif(extract(epoch FROM coalesce(r.last_batch_at, r.started_at)
                                                    - r.started_at), 0))::numeric, 1)
           AS rows_per_sec,
       CASE WHEN r.finished_at IS NULL AND r.rows_done > 0 THEN
           (greatest(r.rows_total - r.rows_done, 0)
            * ((r.last_batch_at - r.started_at) / r.rows_done))
       END AS eta,
       r.started_at, r.last_batch_at, r.batches, r.retries,
       r.finished_at,
       CASE WHEN r.finished_at IS NOT NULL THEN r.status
            WHEN NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = r.pid)
                THEN 'interrupted'
            ELSE 'running' END AS status
  FROM steward.transition_runs r;
GRANT SELECT ON steward.transition_progress TO PUBLIC;

-- Rows per state for every attached table the caller may read.
CREATE FUNCTION steward._state_counts()
RETURNS TABLE (relid regclass, column_name name, state text, rows bigint)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT c.relid, c.attname FROM steward.column_rules c
              WHERE c.kind = 'state' ORDER BY c.relid::text, c.attname LOOP
        CONTINUE WHEN NOT has_table_privilege(r.relid, 'SELECT');
        RETURN QUERY EXECUTE format('SELECT %L::regclass, %L::name, %I::text, count(*) '
                                    'FROM %s GROUP BY 3 ORDER BY 3',
                                    r.relid, r.attname, r.attname, r.relid);
    END LOOP;
END
$$;

CREATE VIEW steward.state_counts AS SELECT * FROM steward._state_counts();
GRANT SELECT ON steward.state_counts TO PUBLIC;

CREATE VIEW steward.transition_counts AS
    SELECT relid, from_state, to_state, transitions FROM steward.transition_counters();

--------------------------------------------------------------------------
-- Observability (src/stats): statements with percentiles, table stats,
-- replication, connections, Prometheus metrics, health checks
--------------------------------------------------------------------------

CREATE FUNCTION steward._statements(
    OUT userid oid, OUT dbid oid, OUT queryid bigint, OUT query text,
    OUT calls bigint, OUT errors bigint, OUT rows bigint,
    OUT total_ms double precision, OUT mean_ms double precision,
    OUT p50_ms double precision, OUT p90_ms double precision,
    OUT p95_ms double precision, OUT p99_ms double precision,
    OUT p999_ms double precision, OUT max_ms double precision,
    OUT slow_calls bigint, OUT shared_blks_hit bigint, OUT shared_blks_read bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_statements'
LANGUAGE C STRICT VOLATILE PARALLEL SAFE;

-- As with pg_stat_statements, everyone sees the numbers; query texts of
-- other users only with pg_read_all_stats.
CREATE VIEW steward.statements AS SELECT * FROM steward._statements();
GRANT SELECT ON steward.statements TO PUBLIC;

CREATE FUNCTION steward.latency_histogram(queryid bigint,
    OUT lower_ms double precision, OUT upper_ms double precision, OUT count bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_latency_histogram'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.latency_histogram(bigint) IS
  'latency histogram buckets of a statement (NULL: all statements of this database)';

CREATE VIEW steward.table_stats AS
SELECT s.relid::regclass AS relid,
       s.n_tup_ins AS inserts,
       s.n_tup_upd AS updates,
       s.n_tup_del AS deletes,
       coalesce(c.version_conflicts, 0) AS version_conflicts,
       coalesce(c.sequence_rejects, 0) AS sequence_rejects,
       coalesce(c.illegal_transitions, 0) AS illegal_transitions,
       round(io.heap_blks_hit::numeric / nullif(io.heap_blks_hit + io.heap_blks_read, 0), 4)
           AS heap_hit_ratio
  FROM pg_catalog.pg_stat_user_tables s
  JOIN pg_catalog.pg_class cl ON cl.oid = s.relid
  JOIN pg_catalog.pg_am am ON am.oid = cl.relam AND am.amname = 'steward'
  LEFT JOIN steward.table_counters() c ON c.relid = s.relid
  LEFT JOIN pg_catalog.pg_statio_user_tables io ON io.relid = s.relid;
GRANT SELECT ON steward.table_stats TO PUBLIC;

CREATE VIEW steward.replication AS
SELECT 'primary'::text AS role, r.application_name, r.client_addr, r.state, r.sync_state,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.sent_lsn)   AS sent_lag_bytes,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.flush_lsn)  AS flush_lag_bytes,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), r.replay_lsn) AS replay_lag_bytes,
       extract(epoch FROM r.flush_lag)  AS flush_lag_seconds,
       extract(epoch FROM r.replay_lag) AS replay_lag_seconds
  FROM pg_catalog.pg_stat_replication r
 WHERE NOT pg_catalog.pg_is_in_recovery()
UNION ALL
SELECT 'standby', NULL, NULL,
       CASE WHEN pg_catalog.pg_last_wal_receive_lsn() IS NULL THEN 'restoring' ELSE 'streaming' END,
       NULL, NULL, NULL,
       pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_last_wal_receive_lsn(),
                                  pg_catalog.pg_last_wal_replay_lsn()),
       NULL,
       CASE WHEN pg_catalog.pg_last_wal_receive_lsn() = pg_catalog.pg_last_wal_replay_lsn() THEN 0
            ELSE extract(epoch FROM pg_catalog.now() - pg_catalog.pg_last_xact_replay_timestamp())
       END
 WHERE pg_catalog.pg_is_in_recovery();
GRANT SELECT ON steward.replication TO pg_read_all_stats;

CREATE VIEW steward.connections AS
WITH usable AS (
    SELECT current_setting('max_connections')::int
           - current_setting('superuser_reserved_connections')::int AS n)
SELECT coalesce(a.state, 'unknown') AS state, count(*) AS connections,
       (SELECT n FROM usable) AS usable_connections,
       round(count(*)::numeric / (SELECT n FROM usable), 4) AS share
  FROM pg_catalog.pg_stat_activity a
 WHERE a.backend_type = 'client backend'
 GROUP BY 1;
GRANT SELECT ON steward.connections TO pg_read_all_stats;

CREATE VIEW steward.database_hit_ratio AS
SELECT datname, blks_hit, blks_read,
       round(blks_hit::numeric / nullif(blks_hit + blks_read, 0), 4) AS hit_ratio
  FROM pg_catalog.pg_stat_database WHERE datname IS NOT NULL;
GRANT SELECT ON steward.database_hit_ratio TO PUBLIC;

-- Prometheus-style samples: base units, _total counters, histogram
-- _bucket{le}/_sum/_count.
CREATE VIEW steward.metrics AS
WITH st AS (SELECT coalesce(sum(calls), 0) AS calls, coalesce(sum(total_ms), 0) AS total_ms,
                   coalesce(sum(errors), 0) AS errors, coalesce(sum(slow_calls), 0) AS slow_calls
              FROM steward.statements WHERE dbid = (SELECT oid FROM pg_catalog.pg_database
                                                     WHERE datname = current_database())),
     h AS (SELECT upper_ms, count FROM steward.latency_histogram(NULL)),
     le(le) AS (VALUES (0.001), (0.005), (0.01), (0.025), (0.05), (0.1), (0.25), (0.5),
                       (1.0), (2.5), (5.0), (10.0))
SELECT 'steward_statement_duration_seconds_bucket' AS metric,
       jsonb_build_object('le', le.le::text) AS labels,
       (SELECT coalesce(sum(count), 0) FROM h WHERE h.upper_ms <= le.le * 1000)::float8 AS value,
       'histogram' AS type, 'Duration of top-level statements.' AS help
  FROM le
UNION ALL SELECT 'steward_statement_duration_seconds_bucket', '{"le": "+Inf"}',
       (SELECT calls FROM st)::float8, 'histogram', 'Duration of top-level statements.'
UNION ALL SELECT 'steward_statement_duration_seconds_sum', '{}',
       (SELECT total_ms / 1000.0 FROM st)::float8, 'histogram', 'Duration of top-level statements.'
UNION ALL SELECT 'steward_statement_duration_seconds_count', '{}',
       (SELECT calls FROM st)::float8, 'histogram', 'Duration of top-level statements.'
UNION ALL SELECT 'steward_statement_errors_total', '{}', (SELECT errors FROM st)::float8,
       'counter', 'Failed executions of top-level statements.'
UNION ALL SELECT 'steward_statement_slow_calls_total', '{}', (SELECT slow_calls FROM st)::float8,
       'counter', 'Calls at or above steward.slow_query_ms.'
UNION ALL SELECT 'steward_version_conflicts_total', jsonb_build_object('table', relid::text),
       version_conflicts::float8, 'counter', 'Updates refused with a stale version.'
  FROM steward.table_counters()
UNION ALL SELECT 'steward_sequence_rejects_total', jsonb_build_object('table', relid::text),
       sequence_rejects::float8, 'counter', 'Out-of-order writes refused.'
  FROM steward.table_counters()
UNION ALL SELECT 'steward_illegal_transitions_total', jsonb_build_object('table', relid::text),
       illegal_transitions::float8, 'counter', 'State changes refused.'
  FROM steward.table_counters()
UNION ALL SELECT 'steward_state_transitions_total',
       jsonb_build_object('table', relid::text, 'from', from_state, 'to', to_state),
       transitions::float8, 'counter', 'State changes made.'
  FROM steward.transition_counters()
UNION ALL SELECT 'steward_idempotency_requests_total',
       jsonb_build_object('scope', scope, 'outcome', o.outcome), o.n::float8, 'counter',
       'Idempotency key outcomes.'
  FROM steward.idempotency_counters() c,
       LATERAL (VALUES ('new', c.new), ('replay', c.replay), ('mismatch', c.mismatch),
                       ('in_progress', c.in_progress), ('expired', c.expired),
                       ('purged', c.purged)) o(outcome, n)
UNION ALL SELECT 'steward_replication_lag_bytes',
       jsonb_build_object('role', role, 'standby', coalesce(application_name, '')),
       replay_lag_bytes::float8, 'gauge', 'Replay lag in bytes.'
  FROM steward.replication
UNION ALL SELECT 'steward_replication_lag_seconds',
       jsonb_build_object('role', role, 'standby', coalesce(application_name, '')),
       coalesce(replay_lag_seconds, 0)::float8, 'gauge', 'Replay lag in seconds.'
  FROM steward.replication
UNION ALL SELECT 'steward_connections', jsonb_build_object('state', state),
       connections::float8, 'gauge', 'Client connections by state.'
  FROM steward.connections
UNION ALL SELECT 'steward_connections_usable', '{}',
       (current_setting('max_connections')::int
        - current_setting('superuser_reserved_connections')::int)::float8,
       'gauge', 'max_connections minus reserved connections.'
UNION ALL SELECT 'steward_buffer_hit_ratio', jsonb_build_object('database', datname),
       hit_ratio::float8, 'gauge', 'Shared buffer hit ratio.'
  FROM steward.database_hit_ratio WHERE hit_ratio IS NOT NULL;
GRANT SELECT ON steward.metrics TO pg_read_all_stats;

-- Measured capacity: samples of steward tables' write counters and sizes,
-- taken by the purge worker's visit every steward.capacity_sample_interval
-- and kept for steward.capacity_window.
CREATE TABLE steward.capacity_samples (
    sampled_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    relid      oid         NOT NULL,
    writes     bigint      NOT NULL,
    bytes      bigint      NOT NULL,
    PRIMARY KEY (relid, sampled_at)
);
REVOKE ALL ON steward.capacity_samples FROM PUBLIC;

CREATE TABLE steward.table_retention (
    relid     regclass PRIMARY KEY,
    retention interval NOT NULL CHECK (retention > interval '0')
);
SELECT pg_catalog.pg_extension_config_dump('steward.table_retention', '');
REVOKE ALL ON steward.table_retention FROM PUBLIC;
GRANT SELECT ON steward.table_retention TO PUBLIC;

CREATE FUNCTION steward._capacity_sample(force boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT force AND EXISTS (
        SELECT 1 FROM steward.capacity_samples
         WHERE sampled_at > now() - make_interval(
                   secs => current_setting('steward.capacity_sample_interval')::float8)) THEN
        RETURN;
    END IF;
    INSERT INTO steward.capacity_samples (relid, writes, bytes)
    SELECT c.oid, coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0),
           pg_total_relation_size(c.oid)
      FROM pg_class c
      JOIN pg_am a ON a.oid = c.relam AND a.amname = 'steward'
      LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
     WHERE c.relkind = 'r'
    ON CONFLICT DO NOTHING;
    DELETE FROM steward.capacity_samples
     WHERE sampled_at < now() - make_interval(secs => current_setting('steward.capacity_window')::float8)
        OR NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = relid);
END
$$;
REVOKE ALL ON FUNCTION steward._capacity_sample(boolean) FROM PUBLIC;

-- Take a sample now (the worker takes them on its own schedule).
CREATE FUNCTION steward.capacity_sample()
RETURNS void
LANGUAGE sql
AS $$ SELECT steward._capacity_sample(true) $$;
REVOKE ALL ON FUNCTION steward.capacity_sample() FROM PUBLIC;

CREATE FUNCTION steward.set_retention(tbl regclass, retention interval)
RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    -- SECURITY DEFINER hides the caller: check ownership against session_user's roles.
    IF NOT pg_has_role(session_user, (SELECT relowner FROM pg_class WHERE oid = tbl), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF retention IS NULL THEN
        DELETE FROM steward.table_retention r WHERE r.relid = tbl;
    ELSIF retention <= interval '0' THEN
        RAISE EXCEPTION 'retention must be positive, got %', retention
            USING ERRCODE = 'invalid_parameter_value';
    ELSE
        INSERT INTO steward.table_retention AS r VALUES (tbl, retention)
            ON CONFLICT (relid) DO UPDATE SET retention = excluded.retention;
    END IF;
END
$$;
COMMENT ON FUNCTION steward.set_retention(regclass, interval) IS
  'how long rows of a table are kept, for steward.capacity (NULL removes it)';

CREATE FUNCTION steward._data_dir_space(OUT free_bytes bigint, OUT total_bytes bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'steward_data_dir_space'
LANGUAGE C STRICT VOLATILE;

-- Per steward table (and one row for the database, relid NULL): measured
-- write rate, row width, index overhead, copies, retention, growth, days
-- until the data directory's disk is full, size against shared_buffers,
-- and a recommendation.
CREATE VIEW steward.capacity AS
WITH w AS (
    SELECT relid, min(sampled_at) AS t0, max(sampled_at) AS t1
      FROM steward.capacity_samples GROUP BY relid),
ends AS (
    SELECT w.relid, w.t0, w.t1,
           f.writes AS w0, l.writes AS w1, f.bytes AS b0, l.bytes AS b1
      FROM w
      JOIN steward.capacity_samples f ON f.relid = w.relid AND f.sampled_at = w.t0
      JOIN steward.capacity_samples l ON l.relid = w.relid AND l.sampled_at = w.t1),
env AS (
    SELECT (SELECT free_bytes FROM steward._data_dir_space()) AS free_bytes,
           (SELECT setting::bigint * 8192 FROM pg_settings WHERE name = 'shared_buffers') AS sb_bytes,
           CASE WHEN current_setting('steward.replication_factor')::float8 >= 1
                THEN current_setting('steward.replication_factor')::float8::int
                ELSE 1 + (SELECT count(*)::int FROM pg_stat_replication WHERE state = 'streaming')
           END AS copies),
t AS (
    SELECT c.oid::regclass AS relid,
           CASE WHEN e.t1 > e.t0 THEN (e.w1 - e.w0) / extract(epoch FROM e.t1 - e.t0) END
               AS writes_per_sec,
           pg_relation_size(c.oid)::numeric / nullif(greatest(c.reltuples, 0), 0)::numeric AS avg_row_bytes,
           pg_total_relation_size(c.oid)::numeric / nullif(pg_relation_size(c.oid), 0) AS index_overhead,
           r.retention,
           CASE WHEN e.t1 > e.t0 THEN (e.b1 - e.b0) / (extract(epoch FROM e.t1 - e.t0) / 86400) END
               AS growth_bytes_per_day,
           pg_total_relation_size(c.oid) AS total_bytes
      FROM pg_class c
      JOIN pg_am a ON a.oid = c.relam AND a.amname = 'steward'
      LEFT JOIN ends e ON e.relid = c.oid
      LEFT JOIN steward.table_retention r ON r.relid = c.oid
     WHERE c.relkind = 'r' AND c.relnamespace <> 'steward'::regnamespace),
rows AS (
    SELECT relid, writes_per_sec, avg_row_bytes, index_overhead, retention,
           growth_bytes_per_day, total_bytes FROM t
    UNION ALL
    SELECT NULL, sum(writes_per_sec), sum(total_bytes)::numeric / nullif(sum(total_bytes / nullif(avg_row_bytes, 0)), 0),
           sum(total_bytes)::numeric / nullif(sum(total_bytes / nullif(index_overhead, 0)), 0),
           NULL, sum(growth_bytes_per_day), sum(total_bytes)
      FROM t)
SELECT r.relid,
       round(r.writes_per_sec::numeric, 3) AS writes_per_sec,
       round(r.avg_row_bytes, 1) AS avg_row_bytes,
       round(r.index_overhead, 2) AS index_overhead,
       env.copies AS replication_factor,
       r.retention,
       round(r.growth_bytes_per_day::numeric) AS growth_bytes_per_day,
       CASE WHEN r.growth_bytes_per_day > 0
            THEN round((env.free_bytes / r.growth_bytes_per_day)::numeric, 1) END AS days_until_full,
       r.total_bytes,
       round(r.total_bytes::numeric / env.sb_bytes, 3) AS size_vs_shared_buffers,
       CASE
           WHEN r.growth_bytes_per_day > 0 AND env.free_bytes / r.growth_bytes_per_day < 30 THEN
               format('the disk fills in %s days at this rate: add storage%s',
                      round((env.free_bytes / r.growth_bytes_per_day)::numeric),
                      CASE WHEN r.relid IS NOT NULL AND r.retention IS NULL
                           THEN ', or set a retention with steward.set_retention()' ELSE '' END)
           WHEN r.writes_per_sec IS NULL THEN
               'not enough samples yet to measure growth (steward.capacity_sample())'
           WHEN r.total_bytes > env.sb_bytes THEN
               'larger than shared_buffers: make sure its hot part fits in memory'
           ELSE 'ok'
       END AS recommendation
  FROM rows r, env;
GRANT SELECT ON steward.capacity TO pg_read_all_stats;

-- Restore drills, recorded by steward-drill.
CREATE TABLE steward.restore_drills (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host           text,
    started_at     timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished_at    timestamptz,
    duration_s     numeric,
    recovery_point pg_lsn,
    target_time    timestamptz,
    tables         integer,
    result         text CHECK (result IN ('passed', 'failed')),
    details        text
);
SELECT pg_catalog.pg_extension_config_dump('steward.restore_drills', '');
SELECT pg_catalog.pg_extension_config_dump('steward.restore_drills_id_seq', '');
REVOKE ALL ON steward.restore_drills FROM PUBLIC;
GRANT SELECT ON steward.restore_drills TO pg_read_all_stats;

-- One row per check, with the guide's "typical first response".
CREATE VIEW steward.health AS
WITH v AS (
    SELECT 'p99_latency_ms' AS check_name,
           (SELECT max(p99_ms) FROM steward.statements WHERE calls > 0) AS value,
           current_setting('steward.health_p99_ms_warn')::float8 AS warn,
           current_setting('steward.health_p99_ms_critical')::float8 AS critical,
           false AS lower_is_worse,
           'Check slow queries and indexes' AS first_response, 1 AS ord
    UNION ALL
    SELECT 'slow_call_rate',
           (SELECT sum(slow_calls)::float8 / nullif(sum(calls), 0) FROM steward.statements),
           current_setting('steward.health_slow_rate_warn')::float8,
           current_setting('steward.health_slow_rate_critical')::float8, false,
           'Inspect query patterns and plans', 2
    UNION ALL
    SELECT 'lock_waiters',
           (SELECT count(*)::float8 FROM pg_catalog.pg_stat_activity WHERE wait_event_type = 'Lock'),
           current_setting('steward.health_lock_waiters_warn')::float8,
           current_setting('steward.health_lock_waiters_critical')::float8, false,
           'Reduce transaction scope, optimize writes', 3
    UNION ALL
    SELECT 'replication_lag_s',
           (SELECT max(coalesce(replay_lag_seconds, 0))::float8 FROM steward.replication),
           current_setting('steward.health_replication_lag_s_warn')::float8,
           current_setting('steward.health_replication_lag_s_critical')::float8, false,
           'Read-from-leader for RYW, reduce load', 4
    UNION ALL
    SELECT 'connection_saturation',
           (SELECT sum(connections)::float8 / max(usable_connections) FROM steward.connections),
           current_setting('steward.health_connections_warn')::float8,
           current_setting('steward.health_connections_critical')::float8, false,
           'Pooling, rate limits, backpressure', 5
    UNION ALL
    SELECT 'buffer_hit_ratio',
           (SELECT hit_ratio::float8 FROM steward.database_hit_ratio WHERE datname = current_database()),
           current_setting('steward.health_buffer_hit_warn')::float8,
           current_setting('steward.health_buffer_hit_critical')::float8, true,
           'Add memory, fix access patterns', 6
    UNION ALL
    SELECT 'restore_drill_age_s',
           (SELECT extract(epoch FROM now() - max(finished_at))::float8
              FROM steward.restore_drills WHERE result = 'passed'),
           0.8 * current_setting('steward.drill_max_age')::float8,
           current_setting('steward.drill_max_age')::float8, false,
           'Run steward-drill; restore drills are part of delivering the database', 8
    UNION ALL
    SELECT 'restore_drill_duration_s',
           (SELECT duration_s::float8 FROM steward.restore_drills
             WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1),
           0.8 * current_setting('steward.rto_seconds')::float8,
           current_setting('steward.rto_seconds')::float8, false,
           'Improve restore throughput, adjust backup schedule', 9
    UNION ALL
    SELECT 'restore_drill_failed',
           (SELECT CASE WHEN result = 'failed' THEN 1 ELSE 0 END::float8 FROM steward.restore_drills
             WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1),
           1, 1, false,
           'Read steward.restore_drills.details; fix the backup before trusting it', 10
    UNION ALL
    SELECT 'capacity_runway_days',
           (SELECT days_until_full::float8 FROM steward.capacity WHERE relid IS NULL),
           current_setting('steward.health_runway_days_warn')::float8,
           current_setting('steward.health_runway_days_critical')::float8, true,
           'Add storage, set retention, archive or partition old data', 11
    UNION ALL
    SELECT 'version_conflict_rate',
           (SELECT sum(version_conflicts)::float8 / nullif(sum(updates), 0) FROM steward.table_stats),
           current_setting('steward.health_conflict_rate_warn')::float8,
           current_setting('steward.health_conflict_rate_critical')::float8, false,
           'Find hot rows; shorten read-modify-write windows', 7
)
SELECT check_name AS check,
       CASE WHEN value IS NULL AND check_name = 'restore_drill_age_s' THEN 'warn'   -- never drilled
            WHEN value IS NULL THEN 'ok'
            WHEN NOT lower_is_worse AND value >= critical THEN 'critical'
            WHEN NOT lower_is_worse AND value >= warn THEN 'warn'
            WHEN lower_is_worse AND value < critical THEN 'critical'
            WHEN lower_is_worse AND value < warn THEN 'warn'
            ELSE 'ok' END AS status,
       round(value::numeric, 4) AS value,
       warn AS warn_threshold, critical AS critical_threshold, first_response
  FROM v ORDER BY ord;
GRANT SELECT ON steward.health TO pg_read_all_stats;

CREATE FUNCTION steward.reset()
RETURNS void
AS 'MODULE_PATHNAME', 'steward_reset'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.reset() IS
  'clear statement statistics and all pg_steward counters';
REVOKE ALL ON FUNCTION steward.reset() FROM PUBLIC;

-- Wait-event samples (background worker, every steward.sample_interval_ms).
CREATE FUNCTION steward._waits(OUT dbid oid, OUT event_type text, OUT event text,
                               OUT queryid bigint, OUT samples bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_waits'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW steward.waits AS
SELECT event_type, event, queryid, samples,
       round(samples::numeric / nullif(sum(samples) OVER (), 0), 4) AS share,
       dbid
  FROM steward._waits();
GRANT SELECT ON steward.waits TO PUBLIC;

CREATE FUNCTION steward._lock_contention(OUT dbid oid, OUT relid oid, OUT locktype text,
                                         OUT lock_mode text, OUT waiting_queryid bigint,
                                         OUT blocking_queryid bigint, OUT waiting_pid integer,
                                         OUT blocking_pid integer, OUT samples bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_lock_contention'
LANGUAGE C STRICT VOLATILE;

CREATE VIEW steward.lock_contention AS
SELECT CASE WHEN l.dbid = d.oid THEN l.relid::regclass END AS relation,
       l.locktype, l.lock_mode, l.waiting_queryid, l.blocking_queryid,
       l.waiting_pid, l.blocking_pid, l.samples, l.dbid
  FROM steward._lock_contention() l
  LEFT JOIN pg_catalog.pg_database d ON d.datname = current_database();
GRANT SELECT ON steward.lock_contention TO pg_read_all_stats;

-- Most-updated rows per steward table (space-saving sketch).
CREATE FUNCTION steward._hot_rows(OUT relid oid, OUT key_text text, OUT updates bigint,
                                  OUT error_bound bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_hot_rows'
LANGUAGE C STRICT VOLATILE;

-- key_text is shown only to the table's owner and pg_read_all_stats.
CREATE VIEW steward.hot_rows AS
SELECT relid::regclass AS relid, key_text, updates, error_bound
  FROM steward._hot_rows()
 ORDER BY relid, updates DESC;
GRANT SELECT ON steward.hot_rows TO PUBLIC;

--------------------------------------------------------------------------
-- Capacity planning and operations (src/ops)
--------------------------------------------------------------------------

-- The guide's capacity math: writes/day from peak writes, times row size,
-- index overhead, replication and retention; working set as a fraction.
CREATE FUNCTION steward.capacity_estimate(
    peak_writes_per_sec numeric, avg_row_bytes numeric, index_overhead numeric,
    replication_factor integer, retention_days numeric, working_set_fraction numeric,
    OUT writes_per_day numeric, OUT raw_bytes_per_day numeric,
    OUT with_indexes_bytes_per_day numeric, OUT replicated_bytes_per_day numeric,
    OUT retained_bytes numeric, OUT working_set_bytes numeric, OUT implications text)
RETURNS record
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    arg text;
BEGIN
    IF peak_writes_per_sec IS NULL OR avg_row_bytes IS NULL OR index_overhead IS NULL
       OR replication_factor IS NULL OR retention_days IS NULL
       OR working_set_fraction IS NULL THEN
        RAISE EXCEPTION 'capacity_estimate arguments must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    arg := CASE
        WHEN peak_writes_per_sec <= 0 OR peak_writes_per_sec > 1e9 THEN
            format('peak_writes_per_sec must be in (0, 1e9], got %s', peak_writes_per_sec)
        WHEN avg_row_bytes <= 0 OR avg_row_bytes > 1e9 THEN
            format('avg_row_bytes must be in (0, 1e9], got %s', avg_row_bytes)
        WHEN index_overhead < 1 OR index_overhead > 100 THEN
            format('index_overhead is a multiplier of the data size and must be in [1, 100], got %s', index_overhead)
        WHEN replication_factor < 1 OR replication_factor > 100 THEN
            format('replication_factor counts copies and must be in [1, 100], got %s', replication_factor)
        WHEN retention_days <= 0 OR retention_days > 36500 THEN
            format('retention_days must be in (0, 36500], got %s', retention_days)
        WHEN working_set_fraction < 0 OR working_set_fraction > 1 THEN
            format('working_set_fraction must be in [0, 1], got %s', working_set_fraction)
    END;
    IF arg IS NOT NULL THEN
        RAISE EXCEPTION '%', arg USING ERRCODE = 'invalid_parameter_value';
    END IF;

    writes_per_day := peak_writes_per_sec * 86400;
    raw_bytes_per_day := writes_per_day * avg_row_bytes;
    with_indexes_bytes_per_day := raw_bytes_per_day * index_overhead;
    replicated_bytes_per_day := with_indexes_bytes_per_day * replication_factor;
    retained_bytes := replicated_bytes_per_day * retention_days;
    working_set_bytes := retained_bytes * working_set_fraction;
    -- Decimal units (GB = 1e9 bytes), as capacity plans are written.
    implications := format(
        '%s million writes/day at a peak of %s/s (plan for the peak, sustained); '
        '%s GB of raw rows per day, %s GB with indexes, %s GB across %s copies; '
        '%s TB stored after %s days; a working set of %s GB should be fast to read: '
        'compare it with memory and shared_buffers, and validate with real latency, IOPS and cache hit metrics.',
        round(writes_per_day / 1e6, 1), peak_writes_per_sec,
        round(raw_bytes_per_day / 1e9, 1), round(with_indexes_bytes_per_day / 1e9, 1),
        round(replicated_bytes_per_day / 1e9, 1), replication_factor,
        round(retained_bytes / 1e12, 2), retention_days,
        round(working_set_bytes / 1e9, 1));
END
$$;
COMMENT ON FUNCTION steward.capacity_estimate(numeric, numeric, numeric, integer, numeric, numeric) IS
  'the guide''s capacity math: writes/day, bytes/day raw, with indexes, replicated, retained, working set';

-- The same, as the guide's table: one row per assumption.
CREATE FUNCTION steward.capacity_report(
    peak_writes_per_sec numeric, avg_row_bytes numeric, index_overhead numeric,
    replication_factor integer, retention_days numeric, working_set_fraction numeric)
RETURNS TABLE (assumption text, example_value text, capacity_implication text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT a, v, i
      FROM steward.capacity_estimate($1, $2, $3, $4, $5, $6) e,
           LATERAL (VALUES
             (1, 'Peak writes', format('%s writes/sec', $1),
                 format('%s million writes/day', round(e.writes_per_day / 1e6, 1))),
             (2, 'Avg row size', format('%s bytes', $2),
                 format('%s GB/day raw data', round(e.raw_bytes_per_day / 1e9, 1))),
             (3, 'Index overhead', format('%s× data', $3),
                 format('%s GB/day including indexes', round(e.with_indexes_bytes_per_day / 1e9, 1))),
             (4, 'Replication factor', format('%s copies', $4),
                 format('%s GB/day stored', round(e.replicated_bytes_per_day / 1e9, 1))),
             (5, 'Retention', format('%s days', $5),
                 format('%s TB stored', round(e.retained_bytes / 1e12, 2))),
             (6, 'Working set', format('%s%% hot data', round($6 * 100, 1)),
                 format('%s GB should be fast to read', round(e.working_set_bytes / 1e9, 1)))
           ) r(n, a, v, i)
     ORDER BY n
$$;

-- Read-your-writes tokens.
CREATE FUNCTION steward.write_token()
RETURNS pg_lsn
AS 'MODULE_PATHNAME', 'steward_write_token'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.write_token() IS
  'the commit LSN of this session''s last write transaction (NULL before any)';

CREATE PROCEDURE steward.wait_for_token(token pg_lsn, timeout_ms integer DEFAULT 1000)
AS 'MODULE_PATHNAME', 'steward_wait_for_token'
LANGUAGE C;
COMMENT ON PROCEDURE steward.wait_for_token(pg_lsn, integer) IS
  'on a standby, return once the token is replayed; error after timeout_ms (holds no snapshot while waiting)';

CREATE FUNCTION steward.replica_caught_up(token pg_lsn)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_replica_caught_up'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.replica_caught_up(pg_lsn) IS
  'true once this server has replayed the token (always true on a primary); never blocks';

-- Integrity of one table: what a restore drill or a migration checks.
CREATE FUNCTION steward.verify(tbl regclass)
RETURNS TABLE ("check" text, passed boolean, detail text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    sum_hash numeric;
    r record;
    cols text;
    notnull text;
    cond text;
    states text[];
BEGIN
    IF tbl IS NULL THEN
        RAISE EXCEPTION 'table must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT has_table_privilege(tbl, 'SELECT') THEN
        RAISE EXCEPTION 'permission denied for table %', tbl USING ERRCODE = 'insufficient_privilege';
    END IF;

    -- Row count and an order-independent checksum of the rows' text.
    EXECUTE format('SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)::numeric), 0) FROM %s t', tbl)
        INTO n, sum_hash;
    "check" := 'row_count'; passed := true; detail := n::text; RETURN NEXT;
    "check" := 'checksum'; passed := true;
    detail := to_hex(((sum_hash % 18446744073709551616 + 18446744073709551616)
                      % 18446744073709551616 - 9223372036854775808)::bigint);
    RETURN NEXT;

    -- Unique and primary keys (plain column keys).
    FOR r IN SELECT i.indexrelid::regclass AS idx,
                    (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord)
                       FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS cols,
                    (SELECT string_agg(quote_ident(a.attname) || ' IS NOT NULL', ' AND ')
                       FROM unnest(i.indkey) k(attnum)
                       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum) AS nn
               FROM pg_index i
              WHERE i.indrelid = tbl AND i.indisunique AND i.indpred IS NULL
                AND NOT (0 = ANY (i.indkey::int2[])) LOOP
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING count(*) > 1) d',
                       tbl, r.nn, r.cols) INTO n;
        "check" := format('unique %s', r.idx); passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'no duplicates' ELSE format('%s duplicated keys', n) END;
        RETURN NEXT;
    END LOOP;

    -- Exclusion constraints made of "=" (idempotency keys and the like).
    FOR r IN SELECT c.conname,
                    string_agg(quote_ident(a.attname), ', ' ORDER BY k.ord) AS cols,
                    string_agg(quote_ident(a.attname) || ' IS NOT NULL', ' AND ') AS nn,
                    bool_and(o.oprname = '=') AS all_eq
               FROM pg_constraint c
               CROSS JOIN LATERAL unnest(c.conkey, c.conexclop) WITH ORDINALITY k(attnum, op, ord)
               JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
               JOIN pg_operator o ON o.oid = k.op
              WHERE c.conrelid = tbl AND c.contype = 'x'
              GROUP BY c.conname LOOP
        CONTINUE WHEN NOT r.all_eq;
        EXECUTE format('SELECT count(*) FROM (SELECT 1 FROM %s WHERE %s GROUP BY %s HAVING count(*) > 1) d',
                       tbl, r.nn, r.cols) INTO n;
        "check" := format('exclusion %s', r.conname); passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'no conflicting rows' ELSE format('%s conflicting keys', n) END;
        RETURN NEXT;
    END LOOP;

    -- Every foreign key has its parent.
    FOR r IN SELECT c.conname, c.confrelid::regclass AS parent,
                    string_agg(format('p.%I = t.%I', pa.attname, ca.attname), ' AND ') AS cond,
                    string_agg(format('t.%I IS NOT NULL', ca.attname), ' AND ') AS nn
               FROM pg_constraint c
               CROSS JOIN LATERAL unnest(c.conkey, c.confkey) k(child, par)
               JOIN pg_attribute ca ON ca.attrelid = c.conrelid AND ca.attnum = k.child
               JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = k.par
              WHERE c.conrelid = tbl AND c.contype = 'f'
              GROUP BY c.conname, c.confrelid LOOP
        EXECUTE format('SELECT count(*) FROM %s t WHERE %s AND NOT EXISTS (SELECT 1 FROM %s p WHERE %s)',
                       tbl, r.nn, r.parent, r.cond) INTO n;
        "check" := format('foreign key %s', r.conname); passed := n = 0;
        detail := CASE WHEN n = 0 THEN format('every row has its %s', r.parent)
                       ELSE format('%s rows without a parent in %s', n, r.parent) END;
        RETURN NEXT;
    END LOOP;

    -- pg_steward's own rules (on the table or a partitioned ancestor).
    FOR r IN SELECT cr.attname, cr.kind, cr.machine
               FROM steward.column_rules cr
              WHERE cr.relid = tbl
                 OR cr.relid IN (SELECT relid FROM pg_partition_ancestors(tbl))
              ORDER BY cr.kind, cr.attname LOOP
        IF r.kind = 'version' THEN
            EXECUTE format('SELECT count(*) FROM %s WHERE %I < 1', tbl, r.attname) INTO n;
            "check" := format('versions %I', r.attname); passed := n = 0;
            detail := CASE WHEN n = 0 THEN 'all versions >= 1' ELSE format('%s rows with a version below 1', n) END;
            RETURN NEXT;
        ELSIF r.kind = 'state' THEN
            SELECT m.states INTO states FROM steward.machine_definitions m WHERE m.name = r.machine;
            EXECUTE format('SELECT count(*) FROM %s WHERE %I IS NULL OR NOT (%I::text = ANY ($1))',
                           tbl, r.attname, r.attname) INTO n USING states;
            "check" := format('states %I', r.attname); passed := n = 0;
            detail := CASE WHEN n = 0 THEN format('all rows in states of %s', r.machine)
                           ELSE format('%s rows in states %s does not declare', n, r.machine) END;
            RETURN NEXT;
        END IF;
    END LOOP;

    -- steward_hash indexes are consistent with the table.
    FOR r IN SELECT i.indexrelid::regclass AS idx
               FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               JOIN pg_am am ON am.oid = c.relam
              WHERE i.indrelid = tbl AND am.amname = 'steward_hash' LOOP
        SELECT count(*) INTO n FROM steward.verify_index(r.idx);
        "check" := format('index %s', r.idx); passed := n = 0;
        detail := CASE WHEN n = 0 THEN 'consistent' ELSE format('%s problems (see steward.verify_index)', n) END;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION steward.verify(regclass) IS
  'row count, checksum, unique/exclusion/foreign keys, versions, states and steward_hash indexes of a table';

-- Count and checksum per key bucket, to compare two copies range by range.
-- Buckets are a hash of the key, so both copies bucket every key alike
-- whatever their row counts.
CREATE FUNCTION steward.checksum_ranges(tbl regclass, key_col name, buckets integer DEFAULT 16)
RETURNS TABLE (bucket integer, rows bigint, checksum text, min_key text, max_key text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF tbl IS NULL OR key_col IS NULL OR buckets IS NULL THEN
        RAISE EXCEPTION 'arguments must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF buckets < 1 OR buckets > 100000 THEN
        RAISE EXCEPTION 'buckets must be between 1 and 100000, got %', buckets
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = tbl AND attname = key_col
                                              AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'column "%" of relation "%" does not exist', key_col, tbl
            USING ERRCODE = 'undefined_column';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT b::int, count(*), '
        '       to_hex(((sum(h) %% 18446744073709551616 + 18446744073709551616) %% 18446744073709551616'
        '               - 9223372036854775808)::bigint), '
        '       min(k)::text, max(k)::text '
        '  FROM (SELECT (hashtextextended(%I::text, 0) %% $1 + $1) %% $1 AS b, %I AS k, '
        '               hashtextextended(t::text, 0)::numeric AS h FROM %s t) s '
        ' GROUP BY b ORDER BY b', key_col, key_col, tbl) USING buckets;
END
$$;
