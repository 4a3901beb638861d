-- review27 R2: the insert half of a cross-partition UPDATE is judged with
-- the update rules against the row its delete half removed, remembered
-- until the insert comes.  A BEFORE ROW INSERT trigger of the destination
-- partition that wrote into another steward table with rules (an audit
-- row), or deleted from any steward table, made the AM forget that row:
-- the moving row was then checked as a new one, so an UPDATE setting an
-- older version moved the row with that version (4 -> 1, a lost update
-- undetected), and a legal move of a row past its initial state was
-- refused.  The trigger's statements run under later command ids and now
-- leave the memory alone.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r320_owner;
CREATE SCHEMA r320 AUTHORIZATION r320_owner;
SET ROLE r320_owner;
SET search_path = r320;
CREATE TABLE audit (id bigserial PRIMARY KEY, what text,
                    version bigint NOT NULL DEFAULT 1) USING steward;
SELECT steward.track_versions('r320.audit', 'version');
CREATE FUNCTION audit_arrival() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO r320.audit (what) VALUES ('arrived ' || NEW.id);
    RETURN NEW;
END $$;
CREATE FUNCTION purge_arrival() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM r320.audit;
    RETURN NEW;
END $$;
SELECT steward.create_state_machine('r320_m', states => ARRAY['new', 'paid', 'shipped'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid', 'paid->shipped']);
CREATE TABLE ord (id int, region text, st text NOT NULL DEFAULT 'new',
                  version bigint NOT NULL DEFAULT 1, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE ord_eu PARTITION OF ord FOR VALUES IN ('eu') USING steward;
CREATE TABLE ord_us PARTITION OF ord FOR VALUES IN ('us') USING steward;
CREATE TABLE ord_ap PARTITION OF ord FOR VALUES IN ('ap') USING steward;
SELECT steward.track_versions('r320.ord', 'version');
SELECT steward.attach_state_machine('r320.ord', 'st', 'r320_m');
CREATE TRIGGER audit_arrival BEFORE INSERT ON ord_us
    FOR EACH ROW EXECUTE FUNCTION audit_arrival();
CREATE TRIGGER purge_arrival BEFORE INSERT ON ord_ap
    FOR EACH ROW EXECUTE FUNCTION purge_arrival();
INSERT INTO ord VALUES (1, 'eu'), (2, 'eu');
UPDATE ord SET st = 'paid' WHERE id = 1;
UPDATE ord SET st = 'paid' WHERE id = 1;
UPDATE ord SET st = 'paid' WHERE id = 1;
SELECT id, region, st, version FROM ord ORDER BY id;
-- A table with versions only: a stale version sent with a move past the
-- audit trigger is 40001 (before: the row moved with version 1).
CREATE TABLE vt (id int, region text, version bigint NOT NULL DEFAULT 1,
                 PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE vt_eu PARTITION OF vt FOR VALUES IN ('eu') USING steward;
CREATE TABLE vt_us PARTITION OF vt FOR VALUES IN ('us') USING steward;
CREATE TABLE vt_ap PARTITION OF vt FOR VALUES IN ('ap') USING steward;
SELECT steward.track_versions('r320.vt', 'version');
CREATE TRIGGER audit_arrival BEFORE INSERT ON vt_us
    FOR EACH ROW EXECUTE FUNCTION audit_arrival();
CREATE TRIGGER purge_arrival BEFORE INSERT ON vt_ap
    FOR EACH ROW EXECUTE FUNCTION purge_arrival();
INSERT INTO vt VALUES (1, 'eu', 4);
UPDATE vt SET region = 'us', version = 1 WHERE id = 1;
-- The same past a trigger deleting rows of another steward table.
INSERT INTO audit (what) VALUES ('x');
UPDATE vt SET region = 'ap', version = 2 WHERE id = 1;
UPDATE vt SET region = 'ap' WHERE id = 1 RETURNING id, region, version;
-- Legal moves keep the row's state and bump its version (before: 23514,
-- "cannot start in state 'paid'"); a move that sends the version it read
-- or leaves it out is judged as an UPDATE.
UPDATE ord SET region = 'us', version = 4 WHERE id = 1 RETURNING id, region, st, version;
UPDATE ord SET region = 'ap', st = 'shipped' WHERE id = 1 RETURNING id, region, st, version;
-- A new row is still checked as one, triggers or not.
INSERT INTO ord VALUES (3, 'us', 'paid');
INSERT INTO ord VALUES (3, 'us', 'new', 0);
-- Another row's legal move past the audit trigger, with its state change.
UPDATE ord SET region = 'us', st = 'paid' WHERE id = 2 RETURNING id, region, st, version;
SELECT id, region, st, version FROM ord ORDER BY id;
SELECT what FROM audit ORDER BY id;
RESET search_path;
RESET ROLE;
DROP SCHEMA r320 CASCADE;
SELECT steward.drop_state_machine('r320_m');
DROP ROLE r320_owner;
