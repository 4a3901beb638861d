-- review27 R1: the insert half of a cross-partition UPDATE or MERGE is
-- judged with the update rules against the row its delete half removed.
-- When a BEFORE ROW INSERT trigger of the new partition returned NULL, the
-- insert half never came and the next insert of the same command into the
-- same tree was taken for it: a MERGE's WHEN NOT MATCHED INSERT for a
-- later source row, or the INSERT of a data-modifying WITH, stored a new
-- row in a state no INSERT may start in ('shipped'), judged as an edge of
-- the dropped row, by a role with plain INSERT and UPDATE rights.  The
-- memory now ends with the executor's row that moves it.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r321_owner;
CREATE ROLE r321_app;
CREATE SCHEMA r321 AUTHORIZATION r321_owner;
GRANT USAGE ON SCHEMA r321 TO r321_app;
SET ROLE r321_owner;
SET search_path = r321;
SELECT steward.create_state_machine('r321_m', states => ARRAY['new', 'paid', 'shipped'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid', 'paid->shipped']);
CREATE TABLE ord (id int, region text, st text NOT NULL DEFAULT 'new',
                  version bigint NOT NULL DEFAULT 1, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE ord_eu PARTITION OF ord FOR VALUES IN ('eu') USING steward;
CREATE TABLE ord_us PARTITION OF ord FOR VALUES IN ('us') USING steward;
SELECT steward.attach_state_machine('r321.ord', 'st', 'r321_m');
SELECT steward.track_versions('r321.ord', 'version');
-- The owner's trigger keeps rows with a negative id out of ord_us.
CREATE FUNCTION keep_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id < 0 THEN RETURN NULL; END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER keep_out BEFORE INSERT ON ord_us
    FOR EACH ROW EXECUTE FUNCTION keep_out();
INSERT INTO ord VALUES (-1, 'eu'), (-2, 'eu'), (1, 'eu');
UPDATE ord SET st = 'paid' WHERE id < 0;
GRANT SELECT, INSERT, UPDATE ON ord TO r321_app;
RESET ROLE;
SET ROLE r321_app;
-- Row -1's move is dropped by the trigger; row 2 is new: it must start in
-- 'new' (before: stored as 'shipped', version 3).
MERGE INTO ord o USING (VALUES (-1, 'eu'), (2, 'us')) s(id, region)
    ON o.id = s.id AND o.region = s.region
    WHEN MATCHED THEN UPDATE SET region = 'us'
    WHEN NOT MATCHED THEN INSERT (id, region, st, version)
        VALUES (s.id, s.region, 'shipped', 2);
-- The same through a data-modifying WITH (before: stored as 'shipped').
WITH m AS (UPDATE ord SET region = 'us' WHERE id = -2 RETURNING 1)
INSERT INTO ord (id, region, st, version)
    SELECT 3, 'eu', 'shipped', 2 FROM (SELECT count(*) FROM m) x;
-- The MERGE with a NOT MATCHED row in an initial state: row -1 leaves
-- (PostgreSQL drops a row whose insert half a trigger skips), row 2 starts
-- at 'new', version 1.
MERGE INTO ord o USING (VALUES (-1, 'eu'), (2, 'us')) s(id, region)
    ON o.id = s.id AND o.region = s.region
    WHEN MATCHED THEN UPDATE SET region = 'us'
    WHEN NOT MATCHED THEN INSERT (id, region) VALUES (s.id, s.region);
-- A move the trigger lets through is still judged as an UPDATE, in a MERGE
-- that also inserts: row 1 new -> paid keeps its edge, row 4 starts new.
MERGE INTO ord o USING (VALUES (1, 'eu'), (4, 'eu')) s(id, region)
    ON o.id = s.id AND o.region = s.region
    WHEN MATCHED THEN UPDATE SET region = 'us', st = 'paid'
    WHEN NOT MATCHED THEN INSERT (id, region) VALUES (s.id, s.region);
SELECT id, region, st, version FROM ord ORDER BY id;
RESET ROLE;
RESET search_path;
DROP SCHEMA r321 CASCADE;
SELECT steward.drop_state_machine('r321_m');
DROP ROLE r321_app;
DROP ROLE r321_owner;
