-- codereview15 C1: the insert half of a cross-partition UPDATE is judged
-- with the update rules against the row its delete half removed, which the
-- AM remembers until the insert comes.  A BEFORE ROW INSERT trigger of the
-- new partition that itself moved a row across partitions (of any steward
-- table, rules or not: an order's lines following it to its new region)
-- replaced that memory with its own move's, so the outer row was checked
-- as a new one: an UPDATE sending an older version moved the row with
-- that version (4 -> 1, a lost update undetected), and a legal move of a
-- row past its initial state was refused 23514.  A nested move now waits
-- above the outer one.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r324_owner;
CREATE SCHEMA r324 AUTHORIZATION r324_owner;
SET ROLE r324_owner;
SET search_path = r324;
SELECT steward.create_state_machine('r324_m', states => ARRAY['new', 'paid', 'shipped'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid', 'paid->shipped']);
-- Lines: a steward table without rules, and one with a version.
CREATE TABLE line (ord int, region text, PRIMARY KEY (ord, region))
    PARTITION BY LIST (region);
CREATE TABLE line_eu PARTITION OF line FOR VALUES IN ('eu') USING steward;
CREATE TABLE line_us PARTITION OF line FOR VALUES IN ('us') USING steward;
CREATE TABLE vline (ord int, region text, version bigint NOT NULL DEFAULT 1,
                    PRIMARY KEY (ord, region)) PARTITION BY LIST (region);
CREATE TABLE vline_eu PARTITION OF vline FOR VALUES IN ('eu') USING steward;
CREATE TABLE vline_us PARTITION OF vline FOR VALUES IN ('us') USING steward;
SELECT steward.track_versions('r324.vline', 'version');
CREATE TABLE ord (id int, region text, st text NOT NULL DEFAULT 'new',
                  version bigint NOT NULL DEFAULT 1, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE ord_eu PARTITION OF ord FOR VALUES IN ('eu') USING steward;
CREATE TABLE ord_us PARTITION OF ord FOR VALUES IN ('us') USING steward;
SELECT steward.track_versions('r324.ord', 'version');
SELECT steward.attach_state_machine('r324.ord', 'st', 'r324_m');
-- The lines follow their order to its new region.
CREATE FUNCTION lines_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE r324.line SET region = NEW.region WHERE ord = NEW.id;
    UPDATE r324.vline SET region = NEW.region WHERE ord = NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER lines_follow BEFORE INSERT ON ord_us
    FOR EACH ROW EXECUTE FUNCTION lines_follow();
-- Line 3's move is dropped by a trigger of line_us: the nested move whose
-- insert half never came does not stand in for the outer one either.
CREATE FUNCTION keep_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.ord = 3 THEN RETURN NULL; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER keep_out BEFORE INSERT ON line_us
    FOR EACH ROW EXECUTE FUNCTION keep_out();
INSERT INTO ord VALUES (1, 'eu', 'new', 4), (2, 'eu', 'new', 1), (3, 'eu', 'new', 4);
INSERT INTO line VALUES (1, 'eu'), (2, 'eu'), (3, 'eu');
INSERT INTO vline VALUES (1, 'eu', 7), (2, 'eu', 1), (3, 'eu', 1);
UPDATE ord SET st = 'paid' WHERE id = 2;
-- An older version sent with the move: 40001, nothing moves (before: the
-- row moved with version 1, its lines with it).
UPDATE ord SET region = 'us', version = 1 WHERE id = 1;
SELECT id, region, st, version FROM ord WHERE id = 1;
-- Legal moves are judged as UPDATEs: the version bumps and the state
-- keeps its edge (before: 23514, "cannot start in state 'paid'").
UPDATE ord SET region = 'us', version = 4 WHERE id = 1 RETURNING id, region, st, version;
UPDATE ord SET region = 'us', st = 'shipped' WHERE id = 2 RETURNING id, region, st, version;
UPDATE ord SET region = 'us', version = 1 WHERE id = 3;
UPDATE ord SET region = 'us' WHERE id = 3 RETURNING id, region, st, version;
-- The lines moved too, each judged against its own row (vline 1: 7 -> 8);
-- line 3 is gone (PostgreSQL drops a row whose insert half a trigger
-- skips), which did not end the wait of order 3's move.
SELECT ord, region FROM line ORDER BY ord;
SELECT ord, region, version FROM vline ORDER BY ord;
-- A new row is still checked as one, nested moves or not.
INSERT INTO ord VALUES (4, 'us', 'paid');
RESET search_path;
RESET ROLE;
DROP SCHEMA r324 CASCADE;
SELECT steward.drop_state_machine('r324_m');
DROP ROLE r324_owner;
