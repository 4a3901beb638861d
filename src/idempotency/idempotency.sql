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

