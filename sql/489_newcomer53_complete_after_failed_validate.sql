-- migration_complete after a validation that failed before the backfill:
-- the backfill clears the failure's report, and complete's DETAIL said
-- "The last validation failed: " with nothing after it.  It now says that
-- the failure came before the latest backfill; the HINT says to validate.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set SHOW_CONTEXT never
CREATE TABLE n53_acc (id bigint PRIMARY KEY, amount numeric(12,2) NOT NULL) USING steward;
INSERT INTO n53_acc SELECT g, g * 1.5 FROM generate_series(1, 50) g;
SELECT steward.migration_start('n53_acc_cents', $$[
  {"alter_column": {"table": "n53_acc", "column": "amount", "name": "amount_cents",
                    "type": "bigint", "up": "(amount * 100)::bigint",
                    "down": "amount_cents / 100.0"}}
]$$);
-- Validated before the backfill: fails.
SELECT "check", passed FROM steward.migration_validate('n53_acc_cents') ORDER BY 1;
-- Complete before the backfill is refused for its phase.
SELECT steward.migration_complete('n53_acc_cents');
\echo :LAST_ERROR_SQLSTATE
CALL steward.migration_backfill('n53_acc_cents');
SELECT phase, last_validation_passed, error IS NULL AS no_report
  FROM steward.migrations WHERE name = 'n53_acc_cents';
SELECT steward.migration_complete('n53_acc_cents');
\echo :LAST_ERROR_SQLSTATE
-- Validated again, it completes.
SELECT bool_and(passed) FROM steward.migration_validate('n53_acc_cents');
SELECT steward.migration_complete('n53_acc_cents');
SELECT steward.migration_rollback('n53_acc_cents');
DROP TABLE n53_acc;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('n53_acc_cents');
\i test/sql/drop_migration_records.sql
