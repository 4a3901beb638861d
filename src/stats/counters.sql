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

