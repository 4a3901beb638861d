-- msg7 item 3 (closing45 Noticed 4): errors of the reads pg_steward's C
-- entry points run through steward_spi_read_latest (a table's stored
-- versions and states, read as its owner, before a rule may stand; the
-- rules' catalog) printed the read's own text as CONTEXT ('SQL statement
-- "SELECT pg_catalog.count(*) FILTER (WHERE v OPERATOR(pg_catalog.<) 1),
-- ..."'), text the user never wrote, where steward_spi_execute_entry's
-- calls drop it since msg6 (352).  Now the read's entry goes too; the
-- lines of the user's own code stay.  CONTEXT is shown here.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT errors
CREATE ROLE r380_owner;
GRANT CREATE ON SCHEMA public TO r380_owner;
SET ROLE r380_owner;
CREATE TABLE r380 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'a', v bigint NOT NULL DEFAULT 1)
    USING steward;
INSERT INTO r380 VALUES (1, 'a', 1), (2, 'a', 1);
SELECT steward.create_state_machine('r380_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
-- The owner reads its table no longer: the check of stored versions, and
-- of stored states, cannot read it (42501), without CONTEXT.
REVOKE SELECT ON r380 FROM r380_owner;
SELECT steward.track_versions('r380', 'v');
SELECT steward.attach_state_machine('r380', 'st', 'r380_m');
-- Called from the user's own function: its line stays, alone.
CREATE FUNCTION r380_track() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM steward.track_versions('r380', 'v');
END $$;
SELECT r380_track();
-- Readable again: the checks pass and the rules stand.
GRANT SELECT ON r380 TO r380_owner;
SELECT steward.track_versions('r380', 'v');
SELECT steward.attach_state_machine('r380', 'st', 'r380_m');
UPDATE r380 SET st = 'b', v = 2 WHERE id = 1 RETURNING id, st, v;
RESET ROLE;
-- Clean up.
SET ROLE r380_owner;
DROP TABLE r380;
SELECT steward.drop_state_machine('r380_m');
RESET ROLE;
DROP FUNCTION r380_track();
REVOKE CREATE ON SCHEMA public FROM r380_owner;
DROP ROLE r380_owner;
