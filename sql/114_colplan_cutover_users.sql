-- recheck10 N10: a foreign key to a table under relayout from a table
-- whose owner the table's owner cannot act as is refused while the
-- relayout runs (55006), as is a key to the other layout; one that slips
-- in anyway (a table given away since) makes complete refuse before any
-- change with 42501 naming the key and the next steps.  N7: an object
-- over a view of a column migration's shapes makes cleanup and rollback
-- refuse with 2BP01 naming it and the next step.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE cp_owner;
CREATE ROLE cp_other;
GRANT CREATE ON SCHEMA public TO cp_owner, cp_other;
SET ROLE cp_owner;
CREATE TABLE cp_pa (id int PRIMARY KEY, v int) USING steward;
INSERT INTO cp_pa SELECT g, g FROM generate_series(1, 20) g;
GRANT REFERENCES ON cp_pa TO cp_other;
SELECT steward.migration_start('cp_pa_re', $$[{"relayout": {"table": "cp_pa", "partition_by": "HASH (id)", "partitions": 2}}]$$);
-- another role's key to the table: refused, however it is spelled
SET ROLE cp_other;
CREATE TABLE cp_fa (id int PRIMARY KEY, pid int REFERENCES cp_pa) USING steward;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE cp_fa (id int PRIMARY KEY, pid int, FOREIGN KEY (pid) REFERENCES public.cp_pa (id)) USING steward;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE cp_fb (id int PRIMARY KEY, pid int) USING steward;
ALTER TABLE cp_fb ADD CONSTRAINT cp_fb_pid FOREIGN KEY (pid) REFERENCES cp_pa;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE cp_fb ADD COLUMN pid2 int REFERENCES cp_pa;
\echo :LAST_ERROR_SQLSTATE
-- a key to another table passes
CREATE TABLE cp_fb_ok (id int PRIMARY KEY, bid int REFERENCES cp_fb) USING steward;
-- the owner's key to the new layout: refused (a rollback drops that layout)
SET ROLE cp_owner;
CREATE TABLE cp_fc (id int PRIMARY KEY, pid int REFERENCES cp_pa_relayout_new) USING steward;
\echo :LAST_ERROR_SQLSTATE
-- the owner's key to the table passes, and the cutover moves it
CREATE TABLE cp_fd (id int PRIMARY KEY, pid int REFERENCES cp_pa) USING steward;
INSERT INTO cp_fd VALUES (1, 1);
-- given away since (the guard cannot see that coming): complete refuses
-- before any change, naming the key and what to do
RESET ROLE;
ALTER TABLE cp_fd OWNER TO cp_other;
SET ROLE cp_owner;
CALL steward.migration_backfill('cp_pa_re');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('cp_pa_re');
SELECT steward.migration_complete('cp_pa_re');
\echo :LAST_ERROR_SQLSTATE
SELECT phase FROM steward.migration_runs WHERE name = 'cp_pa_re';
SELECT relname FROM pg_class WHERE relname LIKE 'cp\_pa%' AND relkind = 'p';
-- the HINT's way out: the key's owner drops it; complete, cleanup; the
-- key can be added again afterwards
SET ROLE cp_other;
ALTER TABLE cp_fd DROP CONSTRAINT cp_fd_pid_fkey;
SET ROLE cp_owner;
SELECT steward.migration_complete('cp_pa_re');
SELECT steward.migration_cleanup('cp_pa_re');
SET ROLE cp_other;
ALTER TABLE cp_fd ADD CONSTRAINT cp_fd_pid_fkey FOREIGN KEY (pid) REFERENCES cp_pa;
ALTER TABLE cp_fb ADD CONSTRAINT cp_fb_pid FOREIGN KEY (pid) REFERENCES cp_pa;
SELECT conrelid::regclass, confrelid::regclass, (SELECT relkind FROM pg_class WHERE oid = confrelid)
  FROM pg_constraint WHERE contype = 'f' AND confrelid = 'cp_pa'::regclass ORDER BY 1;
DROP TABLE cp_fd, cp_fb_ok, cp_fb;
SET ROLE cp_owner;
DROP TABLE cp_pa;
RESET ROLE;

-- N7: a view over a view of the shapes, made after start (the guard
-- refuses that now, sql/124: a superuser goes around it here, and cleanup
-- and rollback still refuse).
CREATE TABLE cp_sv (id int PRIMARY KEY, a int) USING steward;
INSERT INTO cp_sv SELECT g, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('cp_sv_m', $$[{"alter_column": {"table": "cp_sv", "column": "a", "name": "a2", "type": "bigint"}}]$$);
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
CREATE VIEW cp_sv_user AS SELECT id, a FROM cp_sv_m_old.cp_sv;
CREATE VIEW cp_sv_new AS SELECT id, a2 FROM cp_sv_m.cp_sv;
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
CALL steward.migration_backfill('cp_sv_m');
SELECT count(*) FILTER (WHERE NOT passed) AS failed FROM steward.migration_validate('cp_sv_m');
SELECT steward.migration_complete('cp_sv_m');
SELECT steward.migration_cleanup('cp_sv_m');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_rollback('cp_sv_m');
\echo :LAST_ERROR_SQLSTATE
-- the HINT's way out: drop them, clean up, make them again on the table
DROP VIEW cp_sv_new;
SELECT steward.migration_cleanup('cp_sv_m');
\echo :LAST_ERROR_SQLSTATE
DROP VIEW cp_sv_user;
SELECT steward.migration_cleanup('cp_sv_m');
SELECT count(*) AS shape_schemas FROM pg_namespace WHERE nspname IN ('cp_sv_m', 'cp_sv_m_old');
CREATE VIEW cp_sv_user AS SELECT id, a2 AS a FROM cp_sv;
SELECT id, a FROM cp_sv_user WHERE id <= 2 ORDER BY id;
DROP VIEW cp_sv_user;
DROP TABLE cp_sv;

-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'cp\_%';
\i test/sql/drop_migration_records.sql
REVOKE CREATE ON SCHEMA public FROM cp_owner, cp_other;
DROP ROLE cp_owner;
DROP ROLE cp_other;
