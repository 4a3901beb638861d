-- ATTACH PARTITION of a table with a BEFORE UPDATE row trigger under a
-- parent a version rule reaches warns as CREATE TRIGGER on such a table
-- does (storage_guard.c check_trigger): the trigger runs before the
-- access method judges the row, and one that bumps the version turns a
-- stale version into the next one.  Before, the ATTACH said nothing.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set SHOW_CONTEXT never
CREATE TABLE avt (id int, note text, version bigint NOT NULL DEFAULT 1) PARTITION BY RANGE (id);
CREATE TABLE avt1 PARTITION OF avt FOR VALUES FROM (0) TO (10) USING steward;
SELECT steward.track_versions('avt', 'version');
CREATE FUNCTION avt_bump() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.version := OLD.version + 1; RETURN NEW; END $$;

-- A table with no rule takes the trigger silently; attached, it warns.
CREATE TABLE avt2 (id int, note text, version bigint NOT NULL DEFAULT 1) USING steward;
CREATE TRIGGER avt2_bump BEFORE UPDATE ON avt2 FOR EACH ROW EXECUTE FUNCTION avt_bump();
ALTER TABLE avt ATTACH PARTITION avt2 FOR VALUES FROM (10) TO (20);
-- What it warns about: a stale version (1, the row is at 5) passes.
INSERT INTO avt VALUES (11, 'a', 5);
UPDATE avt SET note = 'b', version = 1 WHERE id = 11;
SELECT id, note, version FROM avt WHERE id = 11;
-- Same statement on a partition without the trigger: refused.
INSERT INTO avt VALUES (1, 'a', 5);
UPDATE avt SET note = 'b', version = 1 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE

-- A partitioned tree: one WARNING for the trigger on its root, none for
-- the clones on its partitions, an AFTER trigger or a disabled one.
CREATE TABLE avt3 (id int, note text, version bigint NOT NULL DEFAULT 1) PARTITION BY RANGE (id);
CREATE TABLE avt3a PARTITION OF avt3 FOR VALUES FROM (20) TO (25) USING steward;
CREATE TABLE avt3b PARTITION OF avt3 FOR VALUES FROM (25) TO (30) USING steward;
CREATE TRIGGER avt3_bump BEFORE UPDATE ON avt3 FOR EACH ROW EXECUTE FUNCTION avt_bump();
CREATE TRIGGER avt3b_after AFTER UPDATE ON avt3b FOR EACH ROW EXECUTE FUNCTION avt_bump();
CREATE TRIGGER avt3b_off BEFORE UPDATE ON avt3b FOR EACH ROW EXECUTE FUNCTION avt_bump();
ALTER TABLE avt3b DISABLE TRIGGER avt3b_off;
ALTER TABLE avt ATTACH PARTITION avt3 FOR VALUES FROM (20) TO (30);

-- A trigger of the parent, warned about at its CREATE TRIGGER, is cloned
-- onto a table attached later: no second WARNING.  A table without
-- triggers: none either.
CREATE TRIGGER avt_bump BEFORE UPDATE ON avt FOR EACH ROW EXECUTE FUNCTION avt_bump();
CREATE TABLE avt4 (id int, note text, version bigint NOT NULL DEFAULT 1) USING steward;
ALTER TABLE avt ATTACH PARTITION avt4 FOR VALUES FROM (30) TO (40);
SELECT tgrelid::regclass, tgname FROM pg_trigger
 WHERE tgrelid = 'avt4'::regclass ORDER BY tgname;

-- A parent without a version rule: no WARNING.
CREATE TABLE avn (id int, note text, version bigint NOT NULL DEFAULT 1) PARTITION BY RANGE (id);
CREATE TABLE avn2 (id int, note text, version bigint NOT NULL DEFAULT 1) USING steward;
CREATE TRIGGER avn2_bump BEFORE UPDATE ON avn2 FOR EACH ROW EXECUTE FUNCTION avt_bump();
ALTER TABLE avn ATTACH PARTITION avn2 FOR VALUES FROM (0) TO (10);

DROP TABLE avn;
DROP TABLE avt;
DROP FUNCTION avt_bump();
