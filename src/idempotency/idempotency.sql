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
    -- The session that began the key (process ID and start time: its
    -- session-level "beacon" lock), and the lease it set, if any: a key
    -- without a result is in progress while that session lives and its
    -- lease lasts (src/idempotency/README.md).
    holder_pid   integer,
    holder_start timestamptz,
    lease_until  timestamptz,
    -- The claim of its scope's row that begin wrote the key under: a key
    -- whose claim IS DISTINCT FROM its scope row's was left by another
    -- claim of the name (a restore of this table alone) and is nobody's
    -- (src/idempotency/README.md "Keys without a scope").
    claim        uuid,
    CONSTRAINT idempotency_keys_once
        EXCLUDE USING steward_hash (scope WITH =, key WITH =)
) USING steward;
CREATE INDEX idempotency_keys_expiry ON steward.idempotency_keys (expires_at);
-- Dumped with the scopes that are (see idempotency_scopes below): no key
-- without its scope's row, whose owner exists, in a dump.
SELECT pg_catalog.pg_extension_config_dump('steward.idempotency_keys',
    'WHERE EXISTS (SELECT 1 FROM steward.idempotency_scopes s'
    ' WHERE s.scope OPERATOR(pg_catalog.=) idempotency_keys.scope'
    ' AND s.owner::pg_catalog.text OPERATOR(pg_catalog.<>) s.owner::pg_catalog.oid::pg_catalog.text)');
REVOKE ALL ON steward.idempotency_keys FROM PUBLIC;

-- Every scope that holds keys has a row: its owner (the role that first
-- used it, or the one named in create_idempotency_scope) and its retention
-- override (NULL: the session's steward.idempotency_retention).  Only
-- roles with the owner's privileges may use its keys.
CREATE TABLE steward.idempotency_scopes (
    scope     text PRIMARY KEY,
    retention interval CHECK (retention > interval '0'),
    owner     regrole NOT NULL DEFAULT pg_catalog.quote_ident(CURRENT_USER)::regrole,
    -- This row's claim of the name, stamped on the keys begin writes (NULL
    -- for rows from before the claims, as their keys' are).
    claim     uuid DEFAULT pg_catalog.gen_random_uuid()
);
-- Dumped without the scopes whose owner no longer exists (a role dropped
-- from another database leaves its OID here), and without their keys
-- (below): regrole writes such an owner as a bare number, which a restore
-- would give to whichever role has that OID there (review12 R12-11).
-- The test is regrole's own output (a name, not the OID's digits): the
-- dump's snapshot of pg_roles still shows a role dropped after it was
-- taken, whose OID regrole would write all the same.
SELECT pg_catalog.pg_extension_config_dump('steward.idempotency_scopes',
    'WHERE idempotency_scopes.owner::pg_catalog.text'
    ' OPERATOR(pg_catalog.<>) idempotency_scopes.owner::pg_catalog.oid::pg_catalog.text');
REVOKE ALL ON steward.idempotency_scopes FROM PUBLIC;
-- Readable by the roles with a scope owner's privileges, for their scopes
-- and keys only: so that such a role can pg_dump (--enable-row-security)
-- the database it owns without seeing other owners' keys.
GRANT SELECT ON steward.idempotency_scopes, steward.idempotency_keys TO PUBLIC;
ALTER TABLE steward.idempotency_scopes ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_owners ON steward.idempotency_scopes FOR SELECT TO PUBLIC
    USING (pg_catalog.pg_has_role(owner, 'USAGE'));
-- A key shows with its scope's claim only: keys left under the name by
-- another claim (a restore of the keys alone, a superuser's DELETE of the
-- scope row), which a begin's claim of the name leaves in place until it
-- meets them, are not the new owner's to read.
ALTER TABLE steward.idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_owners ON steward.idempotency_keys FOR SELECT TO PUBLIC
    USING (EXISTS (SELECT 1 FROM steward.idempotency_scopes s
                    WHERE s.scope OPERATOR(pg_catalog.=) idempotency_keys.scope
                      AND (s.claim OPERATOR(pg_catalog.=) idempotency_keys.claim
                           OR (s.claim IS NULL AND idempotency_keys.claim IS NULL))
                      AND pg_catalog.pg_has_role(s.owner, 'USAGE')));

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

-- Does the session that began a key (its process ID and start time) still
-- hold it?  The purge keeps expired keys in progress whose holder lives
-- (src/idempotency/README.md, "Purge").  Not for applications.
CREATE FUNCTION steward._idempotency_holder_alive(pid integer, started timestamptz)
RETURNS boolean
AS 'MODULE_PATHNAME', 'steward_idempotency_holder_alive'
LANGUAGE C STRICT VOLATILE;
REVOKE ALL ON FUNCTION steward._idempotency_holder_alive(integer, timestamptz) FROM PUBLIC;

CREATE FUNCTION steward.set_idempotency_retention(scope text, retention interval)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_set_idempotency_retention'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.set_idempotency_retention(text, interval) IS
  'override steward.idempotency_retention for one scope (NULL removes the override)';

CREATE VIEW steward.idempotency_retention_overrides AS
    SELECT scope, retention FROM steward.idempotency_scopes WHERE retention IS NOT NULL;

CREATE FUNCTION steward.create_idempotency_scope(scope text, owner regrole DEFAULT NULL,
                                                 retention interval DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_create_idempotency_scope'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.create_idempotency_scope(text, regrole, interval) IS
  'reserve an idempotency scope for a role (default: the current user) before anyone uses it';

CREATE FUNCTION steward.alter_idempotency_scope_owner(scope text, owner regrole)
RETURNS void
AS 'MODULE_PATHNAME', 'steward_alter_idempotency_scope_owner'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.alter_idempotency_scope_owner(text, regrole) IS
  'give an idempotency scope to another role (owner or superuser; must be a member of the new owner)';

CREATE FUNCTION steward.drop_idempotency_scope(scope text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'steward_drop_idempotency_scope'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION steward.drop_idempotency_scope(text) IS
  'remove an idempotency scope and all its keys (owner only); returns how many keys';

-- The scopes the current user may use, with their owners.
CREATE VIEW steward.idempotency_scope_owners WITH (security_barrier) AS
    SELECT scope, owner, retention FROM steward.idempotency_scopes
     WHERE pg_catalog.pg_has_role(owner, 'USAGE');
GRANT SELECT ON steward.idempotency_scope_owners TO PUBLIC;

CREATE FUNCTION steward.idempotency_counters(
    OUT scope text, OUT new bigint, OUT replay bigint, OUT mismatch bigint,
    OUT in_progress bigint, OUT expired bigint, OUT purged bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'steward_idempotency_counters'
LANGUAGE C STRICT VOLATILE;
COMMENT ON FUNCTION steward.idempotency_counters() IS
  'per-scope idempotency-key counters since the server started (new, replay, mismatch, in_progress, expired, purged); read through steward.idempotency_stats';

CREATE VIEW steward.idempotency_stats AS
    SELECT scope, new, replay, mismatch, in_progress, expired, purged,
           round(replay::numeric / nullif(new + replay, 0), 4) AS dedup_rate
      FROM steward.idempotency_counters();

-- Applications get these by explicit GRANT (see docs/idempotency.md, "Safe retries").
REVOKE ALL ON FUNCTION steward.idempotency_begin(text, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.idempotency_begin_strict(text, text, text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.idempotency_complete(text, text, integer, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.idempotency_purge() FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.set_idempotency_retention(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.create_idempotency_scope(text, regrole, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.alter_idempotency_scope_owner(text, regrole) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.drop_idempotency_scope(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION steward.idempotency_counters() FROM PUBLIC;
REVOKE ALL ON steward.idempotency_stats FROM PUBLIC;
REVOKE ALL ON steward.idempotency_retention_overrides FROM PUBLIC;
GRANT EXECUTE ON FUNCTION steward.idempotency_counters() TO pg_read_all_stats;
GRANT SELECT ON steward.idempotency_stats TO pg_read_all_stats;

