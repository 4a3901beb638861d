-- codereview10 C1: TRUNCATE steward.column_rules fires no row trigger, so
-- a superuser's TRUNCATE removed the extension's own rule on
-- steward.migration_runs (which a DELETE may not: ac91967) and left every
-- session that had cached a removed rule enforcing it.  17eb82d refused it
-- under origin (sql/235); under session_replication_role = replica the
-- guard did not fire and the same happened.  It is now refused there too
-- (a logical replication worker's TRUNCATE is applied, with every rule's
-- table invalidated); rules are removed with untrack /
-- detach_state_machine or a DELETE.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r236 (id int PRIMARY KEY, v bigint) USING steward;
SELECT steward.track_versions('r236', 'v');
SELECT count(*) AS rules_before FROM steward.column_rules \gset
-- 1. Refused under origin, naming what works instead.
TRUNCATE steward.column_rules;
-- 2. Refused under replica (the trigger is ENABLE ALWAYS).
SET session_replication_role = replica;
TRUNCATE steward.column_rules;
RESET session_replication_role;
-- 3. Nothing was removed: the extension's rule and the table's rule stay,
--    and the table's rule is enforced.
SELECT count(*) = :rules_before AS rules_kept FROM steward.column_rules;
SELECT count(*) AS extension_rule FROM steward.column_rules
 WHERE relid = 'steward.migration_runs'::regclass;
INSERT INTO r236 VALUES (1, 1);
UPDATE r236 SET v = 5 WHERE id = 1;
-- 4. The ways the HINT names work: untrack, then a DELETE of a user rule.
SELECT steward.untrack('r236', 'v');
SELECT steward.track_versions('r236', 'v');
DELETE FROM steward.column_rules WHERE relid = 'r236'::regclass;
UPDATE r236 SET v = 5 WHERE id = 1 RETURNING v;
-- 5. The trigger function bound elsewhere: 39P01.
CREATE TABLE r236_other (x int);
CREATE TRIGGER r236_t BEFORE TRUNCATE ON r236_other
    FOR EACH STATEMENT EXECUTE FUNCTION steward._column_rules_truncate();
TRUNCATE r236_other;
DROP TABLE r236_other, r236;
