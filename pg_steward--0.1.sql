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
    kind        text        NOT NULL CHECK (kind IN ('version', 'sequence')),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (relid, attname)
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
                        'pg_catalog.int8'::regtype)))
        LOOP
            RAISE EXCEPTION 'column "%" of relation "%" is tracked as a % and cannot become type %',
                    bad.attname, relname, bad.kind, bad.typ
                USING ERRCODE = 'datatype_mismatch',
                      HINT = pg_catalog.format('Call steward.untrack(%L, %L) first.',
                                               cmd.objid::regclass::text, bad.attname);
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
    OUT sequence_rejects bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_table_counters'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION steward.table_counters() IS
  'version conflicts, invalid versions and sequence rejects per table since server start (needs shared_preload_libraries)';

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
