-- review11 R11-11: a retention must be positive on every date.  Keys
-- expire at now() + retention with months and days added on the calendar,
-- while intervals compare as 30-day months and 24-hour days: a retention
-- mixing signs, like '-1 mon 31 days', compared as positive (+1 day) and
-- was accepted, but on 2026-11-30 it kept keys for 2.4 ms, and every retry
-- was new.  Such retentions are refused (22023, with a hint); retentions
-- whose fields are all zero or positive are accepted as before.
\set VERBOSITY default
\set SHOW_CONTEXT never

SELECT steward.set_idempotency_retention('r112', '-1 mon 31 days');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_idempotency_retention('r112', '1 mon -29 days');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_idempotency_retention('r112', '1 day -1 hour');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_idempotency_retention('r112', '-1 year 400 days');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.create_idempotency_scope('r112-created', NULL, '1 mon -1 second');
\echo :LAST_ERROR_SQLSTATE
-- Nothing was stored or claimed by the refused calls.
SELECT count(*) AS scopes FROM steward.idempotency_scopes WHERE scope LIKE 'r112%';

-- Not positive at all: refused as before.
SELECT steward.set_idempotency_retention('r112', '-1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_idempotency_retention('r112', '0');
\echo :LAST_ERROR_SQLSTATE

-- One sign throughout: accepted, and a key is kept that long.
SELECT steward.set_idempotency_retention('r112', '1 mon 1 day 01:00');
SELECT steward.set_idempotency_retention('r112', '23 hours');
SELECT outcome FROM steward.idempotency_begin('r112', 'k', 'fp');
SELECT steward.idempotency_complete('r112', 'k', 200, '{}');
SELECT expires_at - completed_at AS kept_for FROM steward.idempotency_keys
 WHERE scope = 'r112' AND key = 'k';
SELECT outcome FROM steward.idempotency_begin('r112', 'k', 'fp');
SELECT scope, retention FROM steward.idempotency_retention_overrides WHERE scope LIKE 'r112%';

SELECT steward.drop_idempotency_scope('r112') AS keys_dropped;
