-- codereview6 F5: the DDL event trigger judges NOT NULL and defaults of a
-- column the steward access method sets only where the statement changed
-- them (SET NOT NULL, SET / DROP DEFAULT, a primary key, identity, ALTER
-- TYPE, a new partition): a table configured before the check (a 0.1
-- database's `version bigint NOT NULL` without a default, made here with
-- the event trigger disabled) takes unrelated ALTER TABLEs, steward.verify()
-- names the ALTER TABLE that fixes it, and a restored label of that shape
-- keeps its rule with a WARNING.  review19 F6: a changed_at column cannot
-- change type.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- 1. A table of the old shape.
CREATE TABLE r185_old (id int PRIMARY KEY, version bigint) USING steward;
SELECT steward.track_versions('r185_old', 'version');
CREATE TABLE r185_nopk (id int NOT NULL, version bigint) USING steward;
SELECT steward.track_versions('r185_nopk', 'version');
ALTER EVENT TRIGGER steward_rules_written DISABLE;
ALTER TABLE r185_old ALTER COLUMN version SET NOT NULL;
ALTER TABLE r185_nopk ALTER COLUMN version SET NOT NULL;
ALTER EVENT TRIGGER steward_rules_written ENABLE ALWAYS;
INSERT INTO r185_old VALUES (1, 1);
-- Unrelated DDL is accepted.
ALTER TABLE r185_old ADD COLUMN note text;
ALTER TABLE r185_old ALTER COLUMN id SET STATISTICS 200;
ALTER TABLE r185_old ADD CONSTRAINT r185_pos CHECK (id > 0);
ALTER TABLE r185_nopk ADD PRIMARY KEY (id);
ALTER TABLE r185_old ALTER COLUMN note SET DEFAULT 'x';
SELECT attname FROM pg_attribute WHERE attrelid = 'r185_old'::regclass AND attnum > 0
 ORDER BY attnum;
-- What changes the version column's NOT NULL or default is judged.
ALTER TABLE r185_old ALTER COLUMN version SET NOT NULL;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r185_old ALTER COLUMN version DROP DEFAULT;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r185_old ALTER COLUMN version SET DEFAULT 0;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r185_nopk DROP CONSTRAINT r185_nopk_pkey;
ALTER TABLE r185_nopk ADD PRIMARY KEY (id, version);
\echo :LAST_ERROR_SQLSTATE
-- verify reports the column with its fix.
SELECT "check", passed, detail FROM steward.verify('r185_old')
 WHERE "check" = 'column_definition';
-- The fix, after which verify has nothing to say.
ALTER TABLE r185_old ALTER COLUMN version SET DEFAULT 1;
SELECT count(*) FROM steward.verify('r185_old') WHERE "check" = 'column_definition';
INSERT INTO r185_old (id) VALUES (2);
SELECT id, version FROM r185_old ORDER BY id;

-- 2. A restored label of that shape keeps its rule and warns with the fix,
-- as does one whose default pg_dump restores later (a bigserial's
-- nextval: the sequence's ALTER TABLE ... SET DEFAULT comes after).
CREATE TABLE r185_lab (id int PRIMARY KEY, version bigint NOT NULL) USING steward;
SECURITY LABEL FOR steward ON COLUMN r185_lab.version IS '{"v": 1, "kind": "version"}';
CREATE TABLE r185_ser (id int PRIMARY KEY, version bigint NOT NULL) USING steward;
SECURITY LABEL FOR steward ON COLUMN r185_ser.version IS '{"v": 1, "kind": "version"}';
CREATE SEQUENCE r185_ser_version_seq;
ALTER SEQUENCE r185_ser_version_seq OWNED BY r185_ser.version;
ALTER TABLE ONLY r185_ser ALTER COLUMN version SET DEFAULT nextval('r185_ser_version_seq'::regclass);
SELECT relid::regclass, attname, kind FROM steward.column_rules
 WHERE relid IN ('r185_lab'::regclass, 'r185_ser'::regclass) ORDER BY 1;
SELECT "check", passed, detail FROM steward.verify('r185_lab')
 WHERE "check" = 'column_definition';
SELECT count(*) FROM steward.verify('r185_ser') WHERE "check" = 'column_definition';
INSERT INTO r185_ser (id) VALUES (1);
UPDATE r185_ser SET id = 2;
SELECT id, version FROM r185_ser;
-- Other definitions a restored label cannot keep are still refused.
CREATE TABLE r185_chk (id int PRIMARY KEY, version bigint CHECK (version < 10)) USING steward;
SECURITY LABEL FOR steward ON COLUMN r185_chk.version IS '{"v": 1, "kind": "version"}';
\echo :LAST_ERROR_SQLSTATE

-- 3. A changed_at column keeps type timestamptz (42804).
CREATE DOMAIN r185_tsnn AS timestamptz NOT NULL;
SELECT steward.create_state_machine('r185_m', states => ARRAY['a', 'b'],
       initial => ARRAY['a'], transitions => ARRAY['a->b']);
CREATE TABLE r185_sm (id int PRIMARY KEY, st text, ch timestamptz) USING steward;
SELECT steward.attach_state_machine('r185_sm', 'st', 'r185_m', changed_at_column => 'ch');
ALTER TABLE r185_sm ALTER COLUMN ch TYPE r185_tsnn;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r185_sm ALTER COLUMN ch TYPE text;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r185_sm ALTER COLUMN ch TYPE timestamp;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r185_sm ALTER COLUMN ch TYPE timestamptz;
ALTER TABLE r185_sm RENAME COLUMN ch TO ch2;
ALTER TABLE r185_sm ALTER COLUMN ch2 TYPE text;
\echo :LAST_ERROR_SQLSTATE
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'r185_sm'::regclass AND attname = 'ch2';
INSERT INTO r185_sm (id, st) VALUES (1, 'a');
SELECT id, ch2 IS NOT NULL AS stamped FROM r185_sm;

-- 4. A default whose folding fails with a data exception (1/0) fails every
-- INSERT that leaves the column out: refused by configuration and DDL
-- (0A000, never the 22012 itself), a restored label keeps its rule with a
-- WARNING and verify() names the fix (vers6).
CREATE TABLE r185_div (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1/0) USING steward;
SELECT steward.track_versions('r185_div', 'version');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r185_div ALTER COLUMN version SET DEFAULT 1;
SELECT steward.track_versions('r185_div', 'version');
ALTER TABLE r185_div ALTER COLUMN version SET DEFAULT 2/0;
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE r185_div2 (id int PRIMARY KEY, version bigint DEFAULT 1/0) USING steward;
SECURITY LABEL FOR steward ON COLUMN r185_div2.version IS '{"v": 1, "kind": "version"}';
SELECT relid::regclass, attname FROM steward.column_rules
 WHERE relid IN ('r185_div'::regclass, 'r185_div2'::regclass) ORDER BY 1;
SELECT detail FROM steward.verify('r185_div2') WHERE "check" = 'column_definition';
INSERT INTO r185_div2 (id) VALUES (1);
\echo :LAST_ERROR_SQLSTATE
INSERT INTO r185_div2 VALUES (1, 1);
INSERT INTO r185_div (id) VALUES (1);
SELECT 'div' AS t, id, version FROM r185_div UNION ALL
SELECT 'div2', id, version FROM r185_div2 ORDER BY 1, 2;

DROP TABLE r185_old, r185_nopk, r185_lab, r185_ser, r185_chk, r185_sm, r185_div, r185_div2;
DROP DOMAIN r185_tsnn;
SELECT steward.drop_state_machine('r185_m');
