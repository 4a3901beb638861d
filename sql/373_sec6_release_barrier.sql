-- closing45 noticed 1 (sec5): steward.release ran steward._release_table
-- as the table's owner without the owner-code barrier, and its DDL (DROP
-- INDEX, the ALTER TABLE that rewrites the table to heap and rebuilds its
-- indexes, CREATE INDEX) with nothing between the owner's index
-- expressions, partial-index predicates and domain checks and
-- _release_table's frame: wherever that frame was trusted, the owner's
-- immutable function called steward._transition_prepare, which only
-- run_transition may call, and opened a run that stayed "running".  Now
-- the switch raises the barrier and each statement runs behind its own
-- (steward._release_exec): the call is refused (42501) whoever releases,
-- and a release the refusal fails leaves the table as it was, on the way
-- to DROP EXTENSION too.
\set SHOW_CONTEXT never
SELECT current_database() AS r373_home \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS steward_r373;
RESET client_min_messages;
CREATE DATABASE steward_r373;
\c steward_r373
SET client_min_messages = warning;
CREATE EXTENSION pg_steward;
RESET client_min_messages;
CREATE ROLE r373_owner;
CREATE SCHEMA s373 AUTHORIZATION r373_owner;
SET ROLE r373_owner;
SELECT steward.create_state_machine('m373', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE s373.x (id bigint PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('s373.x', 'st', 'm373');
INSERT INTO s373.x VALUES (1, 'a');
-- What the owner's code got, counted (an immutable function may not write
-- a table); s373.strict says whether it lets the refusal through.
CREATE SEQUENCE s373.accepted;
CREATE SEQUENCE s373.refused;
CREATE TABLE s373.mode (strict boolean);
INSERT INTO s373.mode VALUES (false);
CREATE FUNCTION s373.k(bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    -- Opens a run that nothing finishes ...
    BEGIN
        PERFORM steward._transition_prepare('s373.x', 'a', 'b', NULL, 1000, NULL);
        PERFORM nextval('s373.accepted');
    EXCEPTION
        WHEN insufficient_privilege THEN
            PERFORM nextval('s373.refused');
            IF (SELECT strict FROM s373.mode) THEN
                RAISE;
            END IF;
        -- s373.x released already (release_all): its machine is gone.
        WHEN object_not_in_prerequisite_state THEN
            NULL;
    END;
    -- ... and a statement only a migration's backfill may run.
    BEGIN
        PERFORM steward._migration_exec('s373.w', 'SELECT 1', NULL, true);
        PERFORM nextval('s373.accepted');
    EXCEPTION WHEN insufficient_privilege THEN
        PERFORM nextval('s373.refused');
    END;
    RETURN $1;
END $$;
CREATE FUNCTION s373.p(bigint) RETURNS boolean LANGUAGE sql IMMUTABLE
    AS 'SELECT s373.k($1) > 0';
CREATE DOMAIN s373.d AS bigint CHECK (s373.k(VALUE) IS NOT NULL);
-- An index expression, a partial index's predicate and a domain's CHECK
-- in an index expression, each evaluated for both rows when the release
-- rebuilds the index as btree.
CREATE TABLE s373.w (id bigint PRIMARY KEY, v bigint, version bigint) USING steward;
SELECT steward.track_versions('s373.w', 'version');
INSERT INTO s373.w VALUES (1, 1), (2, 2);
CREATE INDEX w_k ON s373.w USING steward_hash ((s373.k(id)));
CREATE INDEX w_p ON s373.w USING steward_hash (v) WHERE s373.p(v);
CREATE INDEX w_d ON s373.w USING steward_hash (((v + 10)::s373.d));
CREATE FUNCTION s373.counts(OUT accepted bigint, OUT refused bigint) LANGUAGE sql
    AS $$SELECT (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM s373.accepted),
                (SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM s373.refused)$$;
CREATE FUNCTION s373.reset() RETURNS void LANGUAGE sql
    AS $$SELECT setval('s373.accepted', 1, false), setval('s373.refused', 1, false)$$;
CREATE VIEW s373.state AS
SELECT (SELECT amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid WHERE c.oid = 's373.w'::regclass) AS table_am,
       (SELECT string_agg(c.relname || ':' || a.amname, ', ' ORDER BY c.relname)
          FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
         WHERE i.indrelid = 's373.w'::regclass) AS indexes,
       (SELECT count(*) FROM steward.tracked_columns WHERE relid = 's373.w'::regclass) AS rules,
       (SELECT count(*) FROM steward.transition_runs WHERE relid = 's373.x'::regclass) AS runs;
GRANT SELECT ON ALL TABLES IN SCHEMA s373 TO PUBLIC;
GRANT USAGE ON SCHEMA s373 TO PUBLIC;
RESET ROLE;

-- 1. A superuser calls _release_table itself (a superuser's call of an
-- internal function is trusted): the statements it runs are still the
-- owner's code's frame.  In a transaction rolled back: the table stays.
BEGIN;
SELECT s373.reset();
SET ROLE r373_owner;
SELECT steward.untrack('s373.w', 'version');
RESET ROLE;
SELECT * FROM steward._release_table('s373.w');
SELECT * FROM s373.counts();
SELECT runs FROM s373.state;
ROLLBACK;

-- 2. The documented way, in a transaction rolled back: refused each time,
-- the release itself done.
BEGIN;
SELECT s373.reset();
SET ROLE r373_owner;
SELECT * FROM steward.release('s373.w') ORDER BY 2, 3;
RESET ROLE;
SELECT * FROM s373.counts();
SELECT * FROM s373.state;
ROLLBACK;

-- 3. The owner's code lets the refusal through: the release fails with
-- 42501 and leaves nothing half-done (storage, indexes, rules, no run),
-- and DROP EXTENSION stays refused for the table.
UPDATE s373.mode SET strict = true;
SELECT s373.reset();
SELECT * FROM steward.release('s373.w');
SELECT * FROM s373.state;
SELECT * FROM s373.counts();
\set VERBOSITY terse
DROP EXTENSION pg_steward;
\set VERBOSITY default

-- 4. The way the guard's HINT gives (release_all, then DROP EXTENSION) in
-- one transaction: with the owner's code catching the refusal both go
-- through, and no run was opened on the way.
UPDATE s373.mode SET strict = false;
SELECT s373.reset();
BEGIN;
SELECT relid, object_type, object_name, action FROM steward.release_all() ORDER BY 1, 2, 3;
SELECT * FROM s373.state;
DROP VIEW s373.state;
DROP EXTENSION pg_steward;
COMMIT;
SELECT * FROM s373.counts();
SELECT count(*) AS extension FROM pg_extension WHERE extname = 'pg_steward';
SELECT (SELECT amname FROM pg_am a JOIN pg_class c ON c.relam = a.oid
         WHERE c.oid = 's373.w'::regclass) AS table_am,
       (SELECT count(*) FROM s373.w) AS w_rows;

\c :r373_home
SET client_min_messages = warning;
DROP DATABASE steward_r373;
DROP ROLE r373_owner;
