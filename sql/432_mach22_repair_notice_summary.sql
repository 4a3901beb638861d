-- mach22 (follow-up of mach21's 99702b3, item 5): the owner's in-place
-- repair of a row stored in a state its machine does not declare gave one
-- NOTICE per row, so a bulk repair of 100k rows flooded the client with
-- 100k NOTICEs.  Now a statement reports its first 10 repairs of a
-- relation (per machine) one by one, then, once it has finished, one
-- NOTICE counting the others -- as DROP ... CASCADE lists the first
-- objects and counts the rest.  A statement repairing 10 rows or fewer
-- gives no summary.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r432;
SELECT steward.create_state_machine('m432', ARRAY['new','paid'], ARRAY['new'], ARRAY['new->paid']);
CREATE TABLE r432.t (id int PRIMARY KEY, st text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('r432.t', 'st', 'm432');
SET session_replication_role = replica;
INSERT INTO r432.t SELECT g, CASE WHEN g <= 3 THEN 'lost' ELSE 'new' END FROM generate_series(1, 5) g;
INSERT INTO r432.t SELECT g, 'lost' FROM generate_series(101, 1100) g;
RESET session_replication_role;

-- A small repair: one NOTICE per row, no summary.
UPDATE r432.t SET st = 'new' WHERE id <= 5;

-- A 1000-row repair: ten NOTICEs, then one counting the 990 others.
UPDATE r432.t SET st = 'new' WHERE id > 100;
SELECT st, count(*) FROM r432.t GROUP BY st ORDER BY st;

-- The count is per statement: a statement that fails reports no summary
-- (its repairs are undone), and the next one counts from zero again.
SET session_replication_role = replica;
UPDATE r432.t SET st = 'lost' WHERE id > 100;
RESET session_replication_role;
UPDATE r432.t SET st = 'new' WHERE id > 100 AND (id < 1090 OR 1 / (1100 - id) > 0);
UPDATE r432.t SET st = 'new' WHERE id > 1085;
SELECT st, count(*) FROM r432.t GROUP BY st ORDER BY st;

-- The summary comes at the end of the client's statement, after the
-- function's own NOTICE (mach23: it came at the end of the function's
-- UPDATE, inside the caller).
CREATE FUNCTION r432.repair() RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    UPDATE r432.t SET st = 'new' WHERE st = 'lost';
    GET DIAGNOSTICS n = ROW_COUNT;
    RAISE NOTICE 'the function repaired % rows', n;
    RETURN n;
END
$$;
SET client_min_messages = warning;
SELECT r432.repair();
RESET client_min_messages;
SET session_replication_role = replica;
UPDATE r432.t SET st = 'lost' WHERE id BETWEEN 101 AND 120;
RESET session_replication_role;
SELECT r432.repair();

DROP SCHEMA r432 CASCADE;
SELECT steward.drop_state_machine('m432');
