-- codereview16 C1: rules20 accepted views WITH CHECK OPTION over the
-- version, README saying PostgreSQL checks a view's option after the row is
-- stored, "so it checks the stored version".  Not through a view whose
-- writes an INSTEAD OF trigger makes: PostgreSQL 15 ignores that view's own
-- check option (the rewriter adds none for a trigger-updatable view) and
-- checks the options of the views above it on the row the trigger returns
-- (ExecInsert / ExecUpdate after ExecIR*Triggers), which holds what the
-- client sent, not what the access method stored.  docs/versions.md now says so and
-- names the way out the trigger has: return the stored row (UPDATE ...
-- RETURNING * INTO NEW).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE cr16_acct (id int PRIMARY KEY, bal int, version bigint) USING steward;
SELECT steward.track_versions('cr16_acct', 'version');
INSERT INTO cr16_acct (id, bal) VALUES (1, 10), (2, 20);
UPDATE cr16_acct SET bal = bal + 1;

-- A trigger-updatable view that returns what the client sent.
CREATE VIEW cr16_all AS SELECT * FROM cr16_acct;
CREATE FUNCTION cr16_all_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cr16_acct SET bal = NEW.bal WHERE id = OLD.id;
    RETURN NEW;
END
$$;
CREATE TRIGGER cr16_all_update INSTEAD OF UPDATE ON cr16_all
    FOR EACH ROW EXECUTE FUNCTION cr16_all_update();
CREATE VIEW cr16_young AS SELECT * FROM cr16_all WHERE version <= 2
  WITH CASCADED CHECK OPTION;
-- The check sees version 2 (the row the trigger returns): the update
-- passes although the stored row has 3, and leaves the view.
UPDATE cr16_young SET bal = 12 WHERE id = 1 RETURNING *;
SELECT id, bal, version FROM cr16_acct ORDER BY id;
SELECT count(*) AS still_in_view FROM cr16_young WHERE id = 1;

-- The trigger view's own check option is not applied at all.
CREATE VIEW cr16_young_trig AS SELECT * FROM cr16_acct WHERE version <= 2
  WITH CHECK OPTION;
CREATE TRIGGER cr16_young_trig_update INSTEAD OF UPDATE ON cr16_young_trig
    FOR EACH ROW EXECUTE FUNCTION cr16_all_update();
UPDATE cr16_young_trig SET bal = 22 WHERE id = 2 RETURNING *;
SELECT id, bal, version FROM cr16_acct ORDER BY id;

-- docs/versions.md's way out: the trigger returns the stored row, so the check of
-- the view above sees the stored version and refuses 3.
CREATE TABLE cr16_acct2 (id int PRIMARY KEY, bal int, version bigint) USING steward;
SELECT steward.track_versions('cr16_acct2', 'version');
INSERT INTO cr16_acct2 (id, bal) VALUES (1, 10);
UPDATE cr16_acct2 SET bal = 11;
CREATE VIEW cr16_all2 AS SELECT * FROM cr16_acct2;
CREATE FUNCTION cr16_all2_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cr16_acct2 SET bal = NEW.bal WHERE id = OLD.id RETURNING * INTO NEW;
    RETURN NEW;
END
$$;
CREATE TRIGGER cr16_all2_update INSTEAD OF UPDATE ON cr16_all2
    FOR EACH ROW EXECUTE FUNCTION cr16_all2_update();
CREATE VIEW cr16_young2 AS SELECT * FROM cr16_all2 WHERE version <= 2
  WITH CASCADED CHECK OPTION;
UPDATE cr16_young2 SET bal = 12 WHERE id = 1 RETURNING *;
SELECT id, bal, version FROM cr16_acct2 ORDER BY id;

SET client_min_messages = warning;
DROP TABLE cr16_acct, cr16_acct2 CASCADE;
RESET client_min_messages;
DROP FUNCTION cr16_all_update(), cr16_all2_update();
