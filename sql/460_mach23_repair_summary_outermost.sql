-- mach23 (follow-up of mach22's 951531d): the summary of an owner's
-- repair came at the end of the innermost statement, so a repair inside
-- a function called by the client's statement was summed inside the
-- function's statement, once per call, and each call reported its first
-- 10 rows again; a DO block's or a procedure's statements likewise.  Now
-- the summary comes once, at the end of the statement the client sent,
-- counting what every statement it ran (SPI, triggers, DO blocks,
-- procedures) repaired; work a subtransaction rolled back is not counted.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r460;
SELECT steward.create_state_machine('m460', ARRAY['new','paid'], ARRAY['new'], ARRAY['new->paid']);
CREATE TABLE r460.t (id int PRIMARY KEY, st text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('r460.t', 'st', 'm460');
CREATE TABLE r460.log (id int) USING steward;
SET session_replication_role = replica;
INSERT INTO r460.t SELECT g, 'lost' FROM generate_series(1, 40) g;
RESET session_replication_role;

-- A function repairing 4 rows per call, called 6 times by one SELECT:
-- 10 NOTICEs, then, after the function's own NOTICEs, one summary of 14.
CREATE FUNCTION r460.repair(lo int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    n int;
BEGIN
    UPDATE r460.t SET st = 'new' WHERE id BETWEEN lo AND lo + 3 AND st = 'lost';
    GET DIAGNOSTICS n = ROW_COUNT;
    RAISE NOTICE 'the function repaired % rows from %', n, lo;
    RETURN n;
END
$$;
SELECT sum(r460.repair(lo)) FROM generate_series(1, 21, 4) lo;

-- A DO block: two UPDATEs of 7 rows each, one summary of 4 at its end.
DO $$
BEGIN
    UPDATE r460.t SET st = 'new' WHERE id BETWEEN 25 AND 31;
    UPDATE r460.t SET st = 'new' WHERE id BETWEEN 32 AND 38;
    RAISE NOTICE 'the block''s statements are done';
END
$$;

-- A trigger's UPDATE: an AFTER INSERT trigger on log repairs 3 rows per
-- inserted row; 5 rows inserted, 15 repaired: 10 NOTICEs and 5 others.
CREATE FUNCTION r460.lose_all() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    SET LOCAL session_replication_role = replica;
    UPDATE r460.t SET st = 'lost';
    SET LOCAL session_replication_role = origin;
END
$$;
SELECT r460.lose_all();
CREATE FUNCTION r460.on_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE r460.t SET st = 'new' WHERE id BETWEEN NEW.id * 3 - 2 AND NEW.id * 3;
    RETURN NULL;
END
$$;
CREATE TRIGGER on_log AFTER INSERT ON r460.log FOR EACH ROW EXECUTE FUNCTION r460.on_log();
INSERT INTO r460.log SELECT generate_series(1, 5);
DROP TRIGGER on_log ON r460.log;

-- A subtransaction rolled back: its 8 repairs were reported (the NOTICEs
-- went), but they are undone and not counted; the 12 repairs that stand
-- are: 2 more NOTICEs (10 in all), and a summary of the other 10.
DO $$
BEGIN
    BEGIN
        UPDATE r460.t SET st = 'new' WHERE id BETWEEN 16 AND 23;
        RAISE EXCEPTION 'undo';
    EXCEPTION WHEN raise_exception THEN
        RAISE NOTICE 'undone';
    END;
    UPDATE r460.t SET st = 'new' WHERE id BETWEEN 16 AND 27;
END
$$;

-- A procedure committing between its statements: 6 + 6 rows, one
-- summary of 2 at the end of the CALL.
CREATE PROCEDURE r460.repair_in_two() LANGUAGE plpgsql AS $$
BEGIN
    UPDATE r460.t SET st = 'new' WHERE id BETWEEN 28 AND 33;
    COMMIT;
    UPDATE r460.t SET st = 'new' WHERE id BETWEEN 34 AND 39;
END
$$;
CALL r460.repair_in_two();

-- A client's statement that fails: no summary, and the next statement
-- counts from zero.
SELECT r460.lose_all();
DO $$
BEGIN
    UPDATE r460.t SET st = 'new' WHERE id BETWEEN 1 AND 20;
    RAISE EXCEPTION 'the block fails';
END
$$;
UPDATE r460.t SET st = 'new' WHERE id BETWEEN 1 AND 11;
SELECT st, count(*) FROM r460.t GROUP BY st ORDER BY st;

DROP SCHEMA r460 CASCADE;
SELECT steward.drop_state_machine('m460');
