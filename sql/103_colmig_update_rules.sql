-- Rules on UPDATE during a column migration (review10 F6), and the names
-- of restated keys (F8, at the end).  migration_start
-- refuses a table with rules on UPDATE (the backfill is an UPDATE of every
-- row, which the rewriter would rewrite), but the DDL guard let one be
-- created, or a disabled one enabled, after the start, and the backfill
-- then failed with a raw 0A000 ("DO ALSO rules are not supported for
-- data-modifying statements in WITH") or 0A000 UPDATE RETURNING.  Both
-- are refused now (55006, naming the migration), until the cleanup; rules
-- on other events still pass, and the backfill runs.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE ru (id int PRIMARY KEY, v int) USING steward;
CREATE TABLE ru_audit (id int, at timestamptz DEFAULT now());
INSERT INTO ru SELECT g, g FROM generate_series(1, 100) g;
-- A disabled rule on UPDATE does not stop the start.
CREATE RULE ru_off AS ON UPDATE TO ru DO ALSO INSERT INTO ru_audit (id) VALUES (NEW.id);
ALTER TABLE ru DISABLE RULE ru_off;
SELECT steward.migration_start('ru_m', $$[{"add_column": {"table": "ru", "column": "w", "type": "int", "up": "v"}}]$$);

CREATE RULE ru_log AS ON UPDATE TO ru DO ALSO INSERT INTO ru_audit (id) VALUES (NEW.id);
CREATE RULE ru_nothing AS ON UPDATE TO ru DO INSTEAD NOTHING;
CREATE RULE ru_cond AS ON UPDATE TO ru WHERE NEW.v < 0 DO INSTEAD NOTHING;
ALTER TABLE ru ENABLE RULE ru_off;
ALTER TABLE ru ENABLE ALWAYS RULE ru_off;
ALTER TABLE ru ENABLE REPLICA RULE ru_off;
-- Other events pass, and so does disabling.
CREATE RULE ru_ins AS ON INSERT TO ru WHERE NEW.id < 0 DO INSTEAD NOTHING;
CREATE RULE ru_del AS ON DELETE TO ru DO ALSO INSERT INTO ru_audit (id) VALUES (OLD.id);
ALTER TABLE ru DISABLE RULE ru_off;
SELECT rulename, ev_type, ev_enabled FROM pg_rewrite WHERE ev_class = 'ru'::regclass ORDER BY 1;

CALL steward.migration_backfill('ru_m', 30);
SELECT "check", passed FROM steward.migration_validate('ru_m') WHERE NOT passed;
SELECT steward.migration_complete('ru_m');
CREATE RULE ru_log AS ON UPDATE TO ru DO ALSO INSERT INTO ru_audit (id) VALUES (NEW.id);
SELECT steward.migration_cleanup('ru_m');
-- After the cleanup: the table is the user's again.
CREATE RULE ru_log AS ON UPDATE TO ru DO ALSO INSERT INTO ru_audit (id) VALUES (NEW.id);
ALTER TABLE ru ENABLE RULE ru_off;
UPDATE ru SET v = v + 1 WHERE id = 5;
SELECT count(*) FILTER (WHERE w = v) AS same, count(*) FILTER (WHERE w = v - 1) AS updated FROM ru;
SELECT count(*) AS audited FROM ru_audit;

DROP TABLE ru, ru_audit;
-- The suite's later tests count the migrations: leave no record behind.
DELETE FROM steward.migration_validations WHERE migration = 'ru_m';
DELETE FROM steward.migration_columns WHERE migration = 'ru_m';
DELETE FROM steward.migration_tables WHERE migration = 'ru_m';
DELETE FROM steward.migration_runs WHERE name = 'ru_m';

-- Keys an alter_column restates keep their names (review10 F8): a
-- steward_hash EXCLUDE key over the column and others, restated by the
-- step, was rebuilt as <table>_<column>_excl and the old name was gone
-- after the cleanup, so ON CONFLICT ON CONSTRAINT <old name> failed
-- (42704).  The new key takes the old name at the cleanup; "name" chooses
-- another.
CREATE TABLE exr (id int PRIMARY KEY, acct int, req text, code text,
                  CONSTRAINT exr_once EXCLUDE USING steward_hash (acct WITH =, req WITH =),
                  CONSTRAINT exr_code UNIQUE (code, acct)) USING steward;
INSERT INTO exr SELECT g, g % 10, 'r' || g, 'c' || g FROM generate_series(1, 100) g;
INSERT INTO exr VALUES (1000, 1, 'r1', 'x') ON CONFLICT ON CONSTRAINT exr_once DO NOTHING;
SELECT steward.migration_start('exr_bad', $$[{"alter_column": {"table": "exr", "column": "req", "type": "varchar(40)",
   "unique": {"method": "steward_hash", "with": ["acct"], "name": ""}}}]$$);
SELECT steward.migration_start('exr_m', $$[{"alter_column": {"table": "exr", "column": "req", "type": "varchar(40)",
   "unique": {"method": "steward_hash", "with": ["acct"]}}},
   {"alter_column": {"table": "exr", "column": "code", "type": "varchar(20)",
   "unique": {"with": ["acct"], "name": "exr_code_acct"}}}]$$);
SELECT unique_name, unique_final FROM steward.migration_columns WHERE migration = 'exr_m' ORDER BY ord;
CALL steward.migration_backfill('exr_m');
SELECT "check", passed FROM steward.migration_validate('exr_m') WHERE NOT passed;
SELECT steward.migration_complete('exr_m');
SELECT steward.migration_cleanup('exr_m');
SELECT conname, contype FROM pg_constraint WHERE conrelid = 'exr'::regclass AND contype IN ('u', 'x') ORDER BY 1;
INSERT INTO exr VALUES (1000, 1, 'r1', 'x') ON CONFLICT ON CONSTRAINT exr_once DO NOTHING;
INSERT INTO exr VALUES (1001, 1, 'c1', 'c1') ON CONFLICT ON CONSTRAINT exr_code_acct DO NOTHING;
SELECT count(*) FROM exr;
DROP TABLE exr;
DELETE FROM steward.migration_validations WHERE migration = 'exr_m';
DELETE FROM steward.migration_columns WHERE migration = 'exr_m';
DELETE FROM steward.migration_tables WHERE migration = 'exr_m';
DELETE FROM steward.migration_indexes WHERE migration = 'exr_m';
DELETE FROM steward.migration_runs WHERE name = 'exr_m';
