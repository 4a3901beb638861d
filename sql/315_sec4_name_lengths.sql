-- codereview14 S7, fuzz2: a name over PostgreSQL's 63 bytes got three
-- SQLSTATEs across the API: 42P07 (a relayout's partition name, "already
-- exists or the name is too long"), 22023 (a migration's name, the name
-- of a restated key, a state name) and 42622 (a step's column or table
-- name).  Every one is now 42622 name_too_long, as PostgreSQL refuses a
-- name it would cut, with a message naming it; a state machine's own
-- name, taken at any length before (the rules of a table keep 63 bytes of
-- it), too.  And an internal function callable by PUBLIC spent 2.4 s on a
-- 20,000-byte migration name (fuzz2): it returns at once now.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set long64 'repeat(''n'', 64)'
CREATE TABLE r315 (id bigint PRIMARY KEY, v integer NOT NULL, st text) USING steward;
INSERT INTO r315 SELECT g, g, 'a' FROM generate_series(1, 3) g;
-- A state machine's name, and a state name.
SELECT steward.create_state_machine(:long64, ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.create_state_machine('r315_m', ARRAY['a', :long64], ARRAY['a'], ARRAY['a->b']);
\echo :LAST_ERROR_SQLSTATE
-- 63 bytes are a name.
SELECT steward.create_state_machine(repeat('m', 63), ARRAY['a', repeat('s', 63)], ARRAY['a'],
                                    ARRAY['a->' || repeat('s', 63)]);
SELECT steward.drop_state_machine(repeat('m', 63));
-- A migration's name: "<name>_old" must fit.
SELECT steward.migration_start(repeat('g', 60), '[{"rename_table": {"table": "r315", "name": "r315b"}}]');
\echo :LAST_ERROR_SQLSTATE
-- The name of a restated key.
SELECT steward.migration_start('r315_u', jsonb_build_array(jsonb_build_object('alter_column',
       jsonb_build_object('table', 'r315', 'column', 'v', 'type', 'bigint',
                          'unique', jsonb_build_object('name', :long64)))));
\echo :LAST_ERROR_SQLSTATE
-- A relayout's partition names from a prefix.
SELECT steward.migration_start('r315_r', jsonb_build_array(jsonb_build_object('relayout',
       jsonb_build_object('table', 'r315', 'partition_by', 'HASH (id)', 'partitions', 2,
                          'partition_prefix', repeat('p', 62)))));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS migrations FROM steward.migrations WHERE name LIKE 'r315%' OR name LIKE 'ggg%';
-- 20,000 bytes: an internal function returns before any catalog walk
-- (2.4 s before; counted, not timed: the walk of pg_depend and the search
-- of function bodies it called are not run).
SET track_functions = 'pl';
BEGIN;
SELECT steward._migration_check_view_users(repeat('ab', 10000), 'clean up');
SELECT count(*) AS body_searches FROM pg_stat_xact_user_functions
 WHERE schemaname = 'steward' AND funcname = '_migration_notice_text_users';
COMMIT;
RESET track_functions;
SELECT steward._migration_notice_text_users(repeat('ab', 10000), 'clean up');
DROP TABLE r315;

