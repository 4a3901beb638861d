-- The rules API writes its catalogs with session_replication_role =
-- origin, whatever the caller's: the catalogs' row triggers are ENABLE
-- ORIGIN (a subscriber's apply of catalog rows must not run them), so
-- before, a rule changed under replica (a superuser, or a role granted SET
-- on the parameter) reached neither the cached rules of the backends (this
-- one included), nor the column's security label that carries it in
-- dumps, and a detached machine left its state checks behind.
-- test/isolation/specs/replrules_cache.spec runs the other backends.
\set SHOW_CONTEXT never
CREATE ROLE r109_owner;
GRANT SET ON PARAMETER session_replication_role TO r109_owner;
GRANT USAGE, CREATE ON SCHEMA public TO r109_owner;
SET ROLE r109_owner;
CREATE TABLE t109 (id int PRIMARY KEY, v bigint, seq int, st text) USING steward;
INSERT INTO t109 VALUES (1, 5, 3, 'new');
CREATE VIEW t109_labels AS
SELECT a.attname, l.label::jsonb ->> 'kind' AS kind, l.label::jsonb -> 'checks' AS checks
  FROM pg_seclabel l
  JOIN pg_attribute a ON a.attrelid = l.objoid AND a.attnum = l.objsubid
 WHERE l.objoid = 't109'::regclass AND l.provider = 'steward' ORDER BY 1;
-- This backend caches the table's rules: none.
UPDATE t109 SET v = v, seq = seq, st = st WHERE id = 1;

SET session_replication_role = replica;
SELECT steward.track_versions('t109', 'v');
SELECT steward.track_sequence('t109', 'seq');
SELECT steward.attach_state_machine('t109', 'st', 'data_lifecycle');
SELECT steward.set_state_check('t109', 'validated', 'SELECT 0');
-- The caller's setting is back after each call.
SHOW session_replication_role;
-- Every rule is enforced at once, by this backend too (under replica the
-- access method stores rows as sent).
RESET session_replication_role;
UPDATE t109 SET v = 1 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE t109 SET seq = 2 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE t109 SET st = 'validated' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM t109;
-- The labels carry the rules and the check.
SELECT * FROM t109_labels;

-- untrack and detach_state_machine: the rules go from the cache and the
-- labels, and the machine's checks go with it.
SET session_replication_role = replica;
SELECT steward.untrack('t109', 'seq');
SELECT steward.detach_state_machine('t109', 'st');
RESET session_replication_role;
UPDATE t109 SET seq = 1, st = 'validated' WHERE id = 1 RETURNING seq, st;
SELECT * FROM t109_labels;
SELECT count(*) AS checks_left FROM steward.state_checks WHERE relid = 't109'::regclass;

-- release: the last rule goes the same way.
RESET ROLE;
SET session_replication_role = replica;
SELECT * FROM steward.release('t109') ORDER BY 1, 2, 3;
SELECT count(*) AS rules_left FROM steward.column_rules WHERE relid = 't109'::regclass;
SELECT * FROM t109_labels;
RESET session_replication_role;
DROP VIEW t109_labels;
DROP TABLE t109;
REVOKE SET ON PARAMETER session_replication_role FROM r109_owner;
REVOKE ALL ON SCHEMA public FROM r109_owner;
DROP ROLE r109_owner;
