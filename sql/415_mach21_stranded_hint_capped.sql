-- mach21 (closing46 Noticed 4): the HINT of a drop_transition refused
-- because rows are in the state it would take away gave the calls that
-- move them for every attached table: for a machine attached to many
-- tables it grew by a call per table.  It now gives the first 3 tables'
-- calls, how many more tables (the DETAIL names them) and the query
-- listing every attached column.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r415;
SET search_path = r415;
SELECT steward.create_state_machine('m415', ARRAY['new','paid'], ARRAY['new'], ARRAY['new->paid']);
SET client_min_messages = warning;
SELECT steward.add_transition('m415', 'paid', 'held', new_state => true);
RESET client_min_messages;
DO $$
BEGIN
    FOR i IN 1..5 LOOP
        EXECUTE format('CREATE TABLE r415.t%s (id int PRIMARY KEY, st text NOT NULL DEFAULT ''new'') USING steward', i);
        PERFORM steward.attach_state_machine(format('r415.t%s', i), 'st', 'm415');
        EXECUTE format('INSERT INTO r415.t%s VALUES (1)', i);
        EXECUTE format('UPDATE r415.t%s SET st = ''paid''', i);
        EXECUTE format('UPDATE r415.t%s SET st = ''held''', i);
    END LOOP;
END
$$;
-- Refused: rows of 5 tables are in "held".  The HINT names t1 to t3.
SELECT steward.drop_transition('m415', 'paid', 'held');
-- Its query lists every attached column.
RESET search_path;
SELECT unnest(attached_to) FROM steward.state_machines WHERE name = 'm415';
SET search_path = r415;
-- Three tables: all named, as before.
DROP TABLE t4, t5;
SELECT steward.drop_transition('m415', 'paid', 'held');

RESET search_path;
DROP SCHEMA r415 CASCADE;
SELECT steward.drop_state_machine('m415');
