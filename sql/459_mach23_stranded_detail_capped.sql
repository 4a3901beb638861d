-- mach23 (follow-up of mach21's 415): the DETAIL of a drop_transition or
-- drop_initial_state refused because rows are in the state it would take
-- away named the rows of every attached column, so a machine attached to
-- many tables gave a DETAIL growing by an entry per table (the HINT was
-- capped at 3 tables, the DETAIL not).  It now names the first 10
-- columns holding rows, then how many others and the query listing every
-- attached column, as PostgreSQL's DROP ... CASCADE lists the first
-- objects and counts the rest; the message still counts every row, and
-- every name stays quoted.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r459;
SELECT steward.create_state_machine('m459', ARRAY['new','paid','late'], ARRAY['new','late'], ARRAY['new->paid']);
SET client_min_messages = warning;
SELECT steward.add_transition('m459', 'paid', 'held "x", y', new_state => true);
RESET client_min_messages;
-- 13 tables, the first with a name that needs quoting, each with one row
-- in 'held "x", y' and two in 'late'.
DO $$
DECLARE
    t text;
BEGIN
    FOR i IN 1..13 LOOP
        t := format('r459.%I', CASE WHEN i = 1 THEN 'T "1"' ELSE 't' || lpad(i::text, 2, '0') END);
        EXECUTE format('CREATE TABLE %s (id int PRIMARY KEY, st text NOT NULL DEFAULT ''new'') USING steward', t);
        PERFORM steward.attach_state_machine(t, 'st', 'm459');
        EXECUTE format('INSERT INTO %s VALUES (1, ''new''), (2, ''late''), (3, ''late'')', t);
        EXECUTE format('UPDATE %s SET st = ''paid'' WHERE id = 1', t);
        EXECUTE format('UPDATE %s SET st = ''held "x", y'' WHERE id = 1', t);
    END LOOP;
END
$$;
-- Refused: 13 rows.  The DETAIL names 10 columns and counts 3 others.
SELECT steward.drop_transition('m459', 'paid', 'held "x", y');
-- The same for drop_initial_state: 26 rows, 10 columns and 3 others.
SELECT steward.drop_initial_state('m459', 'late');
-- The DETAIL's query lists every attached column.
SELECT count(*) FROM (SELECT unnest(attached_to) FROM steward.state_machines WHERE name = 'm459') c;
-- Eleven columns: 10 named and 1 other; ten: all named, nothing counted.
DROP TABLE r459.t13, r459.t12;
SELECT steward.drop_transition('m459', 'paid', 'held "x", y');
DROP TABLE r459.t11;
SELECT steward.drop_transition('m459', 'paid', 'held "x", y');

DROP SCHEMA r459 CASCADE;
SELECT steward.drop_state_machine('m459');
