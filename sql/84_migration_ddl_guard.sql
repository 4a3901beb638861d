-- DDL on a table while a migration changes it (review8 #7, recheck8 N2,
-- N5, N7): what would change one layout of a relayout (or one shape of a
-- column migration) only, lose rows, or leave the migration unable to
-- finish is refused up front (55006, naming the migration, HINT the next
-- step); what costs nothing passes.  Owner and superuser alike; the
-- migration's own DDL passes; after the cleanup everything passes again.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE gd_owner;
GRANT CREATE ON SCHEMA public TO gd_owner;
SELECT format('GRANT CREATE ON DATABASE %I TO gd_owner', current_database()) \gexec
CREATE SCHEMA gd_s2 AUTHORIZATION gd_owner;
SET ROLE gd_owner;
CREATE FUNCTION gd_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;

-- 1. A relayout of a plain table, before complete: the old layout (the
-- application's table) and the new one.
CREATE TABLE df (id int PRIMARY KEY, v int, note text) USING steward;
INSERT INTO df SELECT g, g, 'n' FROM generate_series(1, 10) g;
SELECT steward.migration_start('df_rl', '[{"relayout": {"table": "df", "partition_by": "HASH (id)", "partitions": 2}}]');
ALTER TABLE df ADD COLUMN extra text DEFAULT 'd';
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE df DROP COLUMN note;
ALTER TABLE df RENAME COLUMN id TO ident;
ALTER TABLE df ALTER COLUMN v TYPE bigint;
ALTER TABLE df ALTER COLUMN v SET DEFAULT 7;
ALTER TABLE df ALTER COLUMN note SET NOT NULL;
ALTER TABLE df ADD CONSTRAINT df_pos CHECK (v > 0);
ALTER TABLE df RENAME TO df2;
ALTER TABLE df SET SCHEMA gd_s2;
ALTER TABLE df OWNER TO gd_owner;
ALTER TABLE df ENABLE ROW LEVEL SECURITY;
ALTER TABLE df DISABLE TRIGGER ALL;
ALTER TABLE df DISABLE TRIGGER zz_steward_relayout;
ALTER TRIGGER zz_steward_relayout ON df RENAME TO mine;
DROP TRIGGER zz_steward_relayout ON df;
DROP TRIGGER zz_steward_relayout_truncate ON df_p0;
DROP TABLE df;
DROP TABLE df_relayout_new;
DROP TABLE IF EXISTS gd_none, df_relayout_new;
CREATE TABLE df_child (x int) INHERITS (df);
CREATE TABLE df_child (x int) INHERITS (df_p1);
CREATE TRIGGER df_trg BEFORE UPDATE ON df FOR EACH ROW EXECUTE FUNCTION gd_noop();
CREATE TRIGGER df_trg BEFORE UPDATE ON df_p0 FOR EACH ROW EXECUTE FUNCTION gd_noop();
CREATE RULE df_rule AS ON DELETE TO df_relayout_new DO INSTEAD NOTHING;
CREATE POLICY df_pol ON df USING (v > 0);
CREATE UNIQUE INDEX df_v_key ON df (v);
ALTER TABLE df_relayout_new ADD COLUMN extra text;
ALTER TABLE df_p0 ALTER COLUMN v DROP NOT NULL;
-- what changes neither layout's definition passes
CREATE INDEX df_v ON df (v);
CREATE INDEX df_new_v ON df_relayout_new (v);
COMMENT ON TABLE df IS 'the application''s table';
ALTER TABLE df SET (fillfactor = 90);
ALTER TABLE df_relayout_new ALTER COLUMN v SET STATISTICS 200;
ALTER TABLE df ALTER COLUMN note SET STORAGE EXTERNAL;
ALTER TABLE df_p0 RENAME TO df_part0;
ALTER TABLE df_part0 RENAME TO df_p0;
CREATE TABLE df_like (LIKE df);
ALTER TABLE IF EXISTS gd_none ADD COLUMN x int;
GRANT SELECT ON df TO PUBLIC;
-- a superuser is refused the same way
RESET ROLE;
ALTER TABLE df ADD COLUMN extra text;
DROP TABLE df_relayout_new CASCADE;
SET ROLE gd_owner;
-- nothing changed: the migration goes on and validates
CALL steward.migration_backfill('df_rl');
SELECT "check", passed, detail FROM steward.migration_validate('df_rl') WHERE NOT passed;
SELECT steward.migration_complete('df_rl');

-- 2. After complete: the live table is the new layout; DROP of the old
-- one, renames, triggers on a partition are refused; the HINT names the
-- cleanup.
DROP TABLE df_relayout_old;
ALTER TABLE df RENAME TO df2;
ALTER TABLE df_relayout_old SET SCHEMA gd_s2;
CREATE TRIGGER df_trg AFTER UPDATE ON df_p0 FOR EACH ROW EXECUTE FUNCTION gd_noop();
ALTER TABLE df_p1 ADD CONSTRAINT df_p1_pos CHECK (v > 0);
UPDATE df SET v = v + 1 WHERE id = 1;
SELECT steward.migration_cleanup('df_rl');
-- after the cleanup everything passes again
ALTER TABLE df ADD COLUMN extra text DEFAULT 'd';
CREATE TRIGGER df_trg BEFORE UPDATE ON df FOR EACH ROW EXECUTE FUNCTION gd_noop();
ALTER TABLE df RENAME TO df2;
SELECT count(*), sum(v), min(extra) FROM df2;

-- 3. A partitioned table re-laid out (recheck8 N5): an exclusion
-- constraint on an old-layout partition, a trigger on a new-layout
-- partition, CREATE TABLE ... INHERITS a partition are refused; CREATE
-- TABLE ... PARTITION OF passes (empty, guarded like its siblings).
CREATE TABLE gdpay (id int, k int, v int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE gdpay1 PARTITION OF gdpay FOR VALUES IN (1);
CREATE TABLE gdpay2 PARTITION OF gdpay FOR VALUES IN (2);
INSERT INTO gdpay SELECT g, 1 + g % 2, g FROM generate_series(1, 10) g;
SELECT steward.migration_start('gdpay_rl', '[{"relayout": {"table": "gdpay", "partition_by": "HASH (id)", "partitions": 2}}]');
ALTER TABLE gdpay2 ADD CONSTRAINT gdpay2_once EXCLUDE USING btree (v WITH =);
CREATE TRIGGER gdpay_trg BEFORE INSERT ON gdpay_p0 FOR EACH ROW EXECUTE FUNCTION gd_noop();
CREATE TABLE gdpay_inh () INHERITS (gdpay2);
CREATE TABLE gdpay3 PARTITION OF gdpay FOR VALUES IN (3);
INSERT INTO gdpay VALUES (11, 3, 11);
CALL steward.migration_backfill('gdpay_rl');
SELECT bool_and(passed) FROM steward.migration_validate('gdpay_rl');
SELECT steward.migration_rollback('gdpay_rl');
SELECT count(*) FROM gdpay;
-- after the rollback: the table is its own again
ALTER TABLE gdpay2 ADD CONSTRAINT gdpay2_once EXCLUDE USING btree (v WITH =);

-- 4. A column migration (recheck8 N5): a constraint over the old column,
-- columns added, renamed or dropped, the migrated column's default, a
-- unique index over it, the migration's constraint and trigger, renaming
-- or moving the table, INHERITS: refused.  Constraints, defaults and
-- indexes on other columns, triggers: pass.
CREATE TABLE c4 (id int PRIMARY KEY, a int, b int) USING steward;
INSERT INTO c4 SELECT g, g, g FROM generate_series(1, 5) g;
SELECT steward.migration_start('c4_m', '[{"alter_column": {"table": "c4", "column": "a", "name": "a2", "type": "bigint", "not_null": true}}]');
ALTER TABLE c4 ADD CONSTRAINT c4_pos CHECK (a > 0);
ALTER TABLE c4 ADD CONSTRAINT c4_pos2 CHECK (a2 > 0);
ALTER TABLE c4 ADD CONSTRAINT c4_ab UNIQUE (b, a);
ALTER TABLE c4 ADD COLUMN c int;
ALTER TABLE c4 RENAME COLUMN b TO bb;
ALTER TABLE c4 DROP COLUMN b;
ALTER TABLE c4 ALTER COLUMN a SET DEFAULT 1;
ALTER TABLE c4 ALTER COLUMN _steward_side DROP DEFAULT;
CREATE UNIQUE INDEX c4_a_key ON c4 (a);
SELECT conname AS migration_constraint FROM pg_constraint WHERE conrelid = 'c4'::regclass AND NOT convalidated \gset
ALTER TABLE c4 DROP CONSTRAINT :"migration_constraint";
ALTER TABLE c4 DISABLE TRIGGER zz_steward_migration;
ALTER TABLE c4 RENAME TO c4x;
ALTER TABLE c4 SET SCHEMA gd_s2;
CREATE TABLE c4_child () INHERITS (c4);
-- pass
ALTER TABLE c4 ADD CONSTRAINT c4_b_pos CHECK (b > 0);
ALTER TABLE c4 ALTER COLUMN b SET DEFAULT 0;
CREATE UNIQUE INDEX c4_b_key ON c4 (b);
CREATE INDEX c4_a ON c4 (a);
CREATE TRIGGER c4_trg BEFORE UPDATE ON c4 FOR EACH ROW EXECUTE FUNCTION gd_noop();
UPDATE c4 SET a = a + 10 WHERE id = 1;
CALL steward.migration_backfill('c4_m');
SELECT bool_and(passed) FROM steward.migration_validate('c4_m');
SELECT steward.migration_complete('c4_m');
-- after complete the guard names the cleanup
ALTER TABLE c4 ADD CONSTRAINT c4_pos CHECK (_steward_old_a > 0);
SELECT steward.migration_cleanup('c4_m');
ALTER TABLE c4 ADD CONSTRAINT c4_pos CHECK (a2 > 0);
SELECT id, a2, b FROM c4 ORDER BY id;

-- 5. add_column and rename_table migrations.
CREATE TABLE ac (id int PRIMARY KEY, v int) USING steward;
INSERT INTO ac VALUES (1, 1);
SELECT steward.migration_start('ac_m', '[{"add_column": {"table": "ac", "column": "w", "type": "int", "up": "v * 2"}},
                                          {"rename_table": {"table": "ac", "name": "ac_new"}}]');
ALTER TABLE ac ADD CONSTRAINT ac_w CHECK (w > 0);
ALTER TABLE ac RENAME TO ac_new;
ALTER TABLE ac ALTER COLUMN v SET DEFAULT 0;
SELECT steward.migration_rollback('ac_m');
ALTER TABLE ac RENAME TO ac2;

-- 6. Index migrations change no column: the guard lets DDL pass.
CREATE TABLE ix (id int PRIMARY KEY, v int) USING steward;
SELECT steward.migration_start('ix_m', '[{"create_index": {"table": "ix", "name": "ix_v", "definition": "(v)"}}]');
ALTER TABLE ix ADD COLUMN w int;
SELECT steward.migration_rollback('ix_m');

DROP TABLE df2, df_like, gdpay, c4, ac2, ix;
DROP FUNCTION gd_noop();
RESET ROLE;
DROP SCHEMA gd_s2;
SELECT format('REVOKE CREATE ON DATABASE %I FROM gd_owner', current_database()) \gexec
REVOKE CREATE ON SCHEMA public FROM gd_owner;
DROP ROLE gd_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('df_rl'), ('gdpay_rl'), ('c4_m'), ('ac_m'), ('ix_m');
\i test/sql/drop_migration_records.sql
