-- What a column migration carries or refuses (review8 #8, #26, #11):
-- column privileges reach the new column and the views of both shapes
-- (with USAGE on their schemas); objects bound to a column the migration
-- drops (views, generated columns, triggers) are refused at start, and
-- ones made since at cleanup or rollback, with 2BP01 naming them (never
-- core's CASCADE hint); a step that changes nothing is refused.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE cc_alice;
CREATE ROLE cc_bob;
CREATE ROLE cc_carol;
GRANT CREATE ON SCHEMA public TO cc_alice;
SELECT format('GRANT CREATE ON DATABASE %I TO cc_alice', current_database()) \gexec
SET ROLE cc_alice;

-- (#8) bob has column privileges only, carol the table's
CREATE TABLE cg (id int PRIMARY KEY, note text, amt numeric(12,2) NOT NULL DEFAULT 0) USING steward;
INSERT INTO cg VALUES (1, 'n', 1.5), (2, 'm', 2.5);
GRANT SELECT (id, note, amt), UPDATE (note, amt) ON cg TO cc_bob;
GRANT SELECT ON cg TO cc_carol;
SELECT steward.migration_start('cg_m', '[{"alter_column": {"table": "cg", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}}]');
-- granted after start: reaches the new column at complete
GRANT SELECT (amt) ON cg TO cc_carol;
SET ROLE cc_bob;
SELECT id, note, cents FROM cg_m.cg ORDER BY id;
SELECT id, amt FROM cg_m_old.cg ORDER BY id;
UPDATE cg_m.cg SET cents = 300 WHERE id = 1;
UPDATE cg_m_old.cg SET amt = 4.25 WHERE id = 2;
SELECT id, amt FROM cg ORDER BY id;
SELECT id FROM cg_m.cg WHERE cents > 0 ORDER BY id;
-- no INSERT privilege: none through the view either
INSERT INTO cg_m.cg (id, cents) VALUES (3, 1);
SET ROLE cc_alice;
CALL steward.migration_backfill('cg_m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('cg_m');
SELECT steward.migration_complete('cg_m');
SET ROLE cc_bob;
SELECT id, note, cents FROM cg ORDER BY id;
UPDATE cg SET cents = 200 WHERE id = 1;
SELECT id, amt FROM cg_m_old.cg ORDER BY id;
SET ROLE cc_carol;
SELECT id, cents FROM cg ORDER BY id;
SET ROLE cc_alice;
SELECT steward.migration_cleanup('cg_m');
SELECT a.attname, array_agg(format('%s %s', x.grantee::regrole, x.privilege_type) ORDER BY x.grantee::regrole::text, x.privilege_type) AS grants
  FROM pg_attribute a, aclexplode(a.attacl) x
 WHERE a.attrelid = 'cg'::regclass AND a.attnum > 0 AND NOT a.attisdropped GROUP BY 1 ORDER BY 1;

-- a rename only: the views' columns and schemas are granted too
CREATE TABLE cr (id int PRIMARY KEY, a int) USING steward;
GRANT SELECT (id, a), INSERT (id, a) ON cr TO cc_bob;
SELECT steward.migration_start('cr_m', '[{"alter_column": {"table": "cr", "column": "a", "name": "b"}}]');
SET ROLE cc_bob;
INSERT INTO cr_m.cr (id, b) VALUES (1, 10);
INSERT INTO cr_m_old.cr (id, a) VALUES (2, 20);
SELECT id, b FROM cr_m.cr ORDER BY id;
SET ROLE cc_alice;
SELECT steward.migration_rollback('cr_m');

-- (#26) a view, a generated column, a trigger on the column: refused at
-- start, naming them
CREATE TABLE gn (id int PRIMARY KEY, amt numeric(12,2) NOT NULL DEFAULT 0,
                 tax numeric GENERATED ALWAYS AS (amt * 0.2) STORED) USING steward;
CREATE VIEW gn_v AS SELECT id, amt FROM gn;
CREATE FUNCTION gn_touch() RETURNS trigger LANGUAGE plpgsql AS 'begin return new; end';
CREATE TRIGGER gn_t BEFORE UPDATE OF amt ON gn FOR EACH ROW EXECUTE FUNCTION gn_touch();
INSERT INTO gn (id, amt) VALUES (1, 10), (2, 20);
SELECT steward.migration_start('gn_m', '[{"alter_column": {"table": "gn", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}}]');
SELECT steward.migration_start('gn_m', '[{"drop_column": {"table": "gn", "column": "amt"}}]');
SELECT count(*) FROM steward.migrations WHERE name = 'gn_m';
DROP VIEW gn_v;
DROP TRIGGER gn_t ON gn;
ALTER TABLE gn ALTER COLUMN tax DROP EXPRESSION;
-- extended statistics over the column: named in a NOTICE, dropped at cleanup
CREATE STATISTICS gn_st ON id, amt FROM gn;
SELECT steward.migration_start('gn_m', '[{"alter_column": {"table": "gn", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt*100)::bigint", "down": "cents/100.0"}}]');
-- a view made meanwhile over the migrated column: refused at once (it
-- would read the old column after complete, and keep cleanup from
-- dropping it; sql/92), so cleanup finishes
CREATE VIEW gn_v AS SELECT id, amt FROM gn;
CALL steward.migration_backfill('gn_m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('gn_m');
SELECT steward.migration_complete('gn_m');
SELECT pg_get_viewdef('gn_v');
SELECT steward.migration_cleanup('gn_m');
DROP VIEW gn_v;
-- after the cleanup, views over the new column pass
CREATE VIEW gn_c AS SELECT id, cents FROM gn;
SELECT steward.migration_rollback('gn_m');
DROP VIEW gn_c;
SELECT steward.migration_cleanup('gn_m');
SELECT id, cents, tax FROM gn ORDER BY id;
SELECT count(*) FROM pg_statistic_ext WHERE stxname = 'gn_st';

-- (#11) a step that changes nothing
CREATE TABLE mn (id int PRIMARY KEY, a int) USING steward;
SELECT steward.migration_start('x5', '[{"alter_column": {"table": "mn", "column": "a", "name": "a"}}]');
SELECT steward.migration_start('x5', '[{"alter_column": {"table": "mn", "column": "a", "type": "int"}}]');
SELECT steward.migration_start('x5', '[{"alter_column": {"table": "mn", "column": "a", "name": "a", "type": "integer"}}]');
SELECT count(*) FROM steward.migrations WHERE name = 'x5';
-- the same name with a real change is a change
SELECT steward.migration_start('x5', '[{"alter_column": {"table": "mn", "column": "a", "name": "a", "type": "bigint"}}]');
SELECT steward.migration_rollback('x5');

RESET ROLE;
DROP TABLE cg, cr, gn, mn;
DROP FUNCTION gn_touch();
REVOKE CREATE ON SCHEMA public FROM cc_alice;
SELECT format('REVOKE CREATE ON DATABASE %I FROM cc_alice', current_database()) \gexec
DROP ROLE cc_alice, cc_bob, cc_carol;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('cg_m'), ('cr_m'), ('gn_m'), ('x5');
\i test/sql/drop_migration_records.sql
