-- ALTER SCHEMA steward RENAME is refused (review15 R15-8): afterwards every
-- CREATE TABLE and ALTER TABLE of the database, heap tables included,
-- failed with 42P01 "relation "steward.migration_tables" does not exist"
-- from pg_steward's event triggers.
\set VERBOSITY default
ALTER SCHEMA steward RENAME TO steward149;
SELECT nspname FROM pg_namespace WHERE nspname IN ('steward', 'steward149') ORDER BY 1;
CREATE TABLE s149_heap (id int);
ALTER TABLE s149_heap ADD COLUMN z int;
-- Other schemas are renamed as before.
CREATE SCHEMA s149_a;
ALTER SCHEMA s149_a RENAME TO s149_b;
ALTER SCHEMA s149_b OWNER TO CURRENT_USER;
SELECT nspname FROM pg_namespace WHERE nspname LIKE 's149%';
DROP SCHEMA s149_b;
DROP TABLE s149_heap;

-- set_state_check refuses a data-modifying WITH (review15 R15-7), as it
-- refuses other statements than a SELECT: it was accepted, and validate()
-- failed with core's "SELECT is not allowed in a non-volatile function".
CREATE TABLE s149_vt (id int PRIMARY KEY, st text DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('s149_vt', 'st', 'data_lifecycle');
INSERT INTO s149_vt SELECT g FROM generate_series(1, 3) g;
SELECT steward.set_state_check('s149_vt', 'new',
    'with x as (delete from s149_vt returning 1) select count(*) from x');
SELECT steward.set_state_check('s149_vt', 'new',
    'with x as (update s149_vt set st = st returning 1) select count(*) from x');
SELECT steward.set_state_check('s149_vt', 'new',
    'select count(*) from (with x as (insert into s149_vt values (9) returning 1) select 1 from x) s');
SELECT steward.set_state_check('s149_vt', 'new',
    'select (with x as (delete from s149_vt returning 1) select count(*) from x)');
-- Row locks are refused too (validate() runs the check read-only).
SELECT steward.set_state_check('s149_vt', 'new', 'select count(*) from s149_vt for update');
SELECT steward.set_state_check('s149_vt', 'new',
    'select count(*) from (select id from s149_vt for share) s');
SELECT count(*) AS checks FROM steward.state_checks WHERE relid = 's149_vt'::regclass;
-- A WITH that only reads is a check like any other.
SELECT steward.set_state_check('s149_vt', 'new',
    'with x as (select id from s149_vt where id < 0) select count(*) from x');
SELECT state, passed, violations FROM steward.validate('s149_vt');
SELECT count(*) AS kept_rows FROM s149_vt;
DROP TABLE s149_vt;
