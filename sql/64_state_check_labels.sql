-- State checks travel with their table: the security label of provider
-- "steward" on a table's state column carries its checks (src/tableam/
-- labels.c), kept in sync with steward.state_checks on every path, and a
-- label applied (a restore, or by hand) recreates them, validated as
-- set_state_check validates them.  test/t/063_dump_forms.pl runs the dumps.
\set SHOW_CONTEXT never
SELECT steward.create_state_machine('ticket_status',
    ARRAY['open', 'closed', 'archived'], ARRAY['open'],
    ARRAY['open->closed', 'closed->archived']);
CREATE TABLE tickets (id int PRIMARY KEY, status text NOT NULL DEFAULT 'open',
                      closed_by text) USING steward;
SELECT steward.attach_state_machine('tickets', 'status', 'ticket_status');
CREATE VIEW ticket_label AS
SELECT a.attname, l.label::jsonb->'checks' AS checks
  FROM pg_seclabel l JOIN pg_attribute a ON a.attrelid = l.objoid AND a.attnum = l.objsubid
 WHERE l.provider = 'steward' AND l.objoid = 'tickets'::regclass;
CREATE VIEW ticket_checks AS
SELECT state, check_sql FROM steward.state_checks
 WHERE relid = 'tickets'::regclass ORDER BY state;

-- No checks yet: the label has none.
SELECT * FROM ticket_label;
-- set_state_check adds, replaces and removes the label's checks.
SELECT steward.set_state_check('tickets', 'closed',
    'SELECT count(*) FROM tickets WHERE status = ''closed'' AND closed_by IS NULL');
SELECT steward.set_state_check('tickets', 'archived', 'SELECT 0');
SELECT * FROM ticket_label;
SELECT steward.set_state_check('tickets', 'archived', 'SELECT 1');
SELECT * FROM ticket_label;
SELECT steward.set_state_check('tickets', 'archived', NULL);
SELECT * FROM ticket_label;
-- Renames: the label is the column's, the checks the table's.
ALTER TABLE tickets RENAME COLUMN status TO state;
ALTER TABLE tickets RENAME TO tickets2;
ALTER TABLE tickets2 RENAME TO tickets;
SELECT * FROM ticket_label;

-- Labels as pg_dump writes them: the rule and its machine, plus checks.
CREATE FUNCTION set_label(checks jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SECURITY LABEL FOR steward ON COLUMN tickets.state IS %L',
                   (SELECT (l.label::jsonb - 'checks')
                           || CASE WHEN checks IS NULL THEN '{}'
                                   ELSE jsonb_build_object('checks', checks) END
                      FROM pg_seclabel l
                     WHERE l.provider = 'steward' AND l.objoid = 'tickets'::regclass));
END
$$;
-- A label recreates the checks: exactly those it names.
SELECT set_label('{"archived": "SELECT 0", "open": "SELECT count(*) FROM tickets WHERE 1/0 = 1"}');
SELECT * FROM ticket_checks;
SELECT * FROM ticket_label;
-- (the "open" check divides by zero: a label stores a check, never runs
-- it; validate runs it, as the table's owner)
SELECT state, passed FROM steward.validate('tickets');
SELECT steward.set_state_check('tickets', 'open', NULL);
SELECT state, passed FROM steward.validate('tickets');
-- A label without checks leaves none.
SELECT set_label(NULL);
SELECT count(*) FROM ticket_checks;

-- Checks in a label are validated as set_state_check validates them, and
-- a refused label leaves the checks as they were.
SELECT steward.set_state_check('tickets', 'closed', 'SELECT 0');
SELECT set_label('{"closed": "DELETE FROM tickets"}');
\echo :LAST_ERROR_SQLSTATE
SELECT set_label('{"closed": "SELECT 1; SELECT 2"}');
\echo :LAST_ERROR_SQLSTATE
SELECT set_label('{"closed": "SELEC 1"}');
\echo :LAST_ERROR_SQLSTATE
SELECT set_label('{"warp": "SELECT 0"}');
\echo :LAST_ERROR_SQLSTATE
SELECT set_label('["SELECT 0"]');
\echo :LAST_ERROR_SQLSTATE
SELECT set_label('{"closed": 1}');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ticket_checks;
-- Only the table's owner may set checks through a label, as through the API.
CREATE ROLE check_stranger;
GRANT EXECUTE ON FUNCTION set_label(jsonb) TO check_stranger;
SET ROLE check_stranger;
SELECT set_label('{"closed": "SELECT 1"}');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
REVOKE EXECUTE ON FUNCTION set_label(jsonb) FROM check_stranger;
DROP ROLE check_stranger;

-- A restore meets the rows of state_checks after the labels made them:
-- the same check again is a no-op, a different one an error saying so.
INSERT INTO steward.state_checks VALUES ('tickets', 'closed', 'SELECT 0');
INSERT INTO steward.state_checks VALUES ('tickets', 'closed', 'SELECT 2');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM ticket_checks;

-- The checks go with the state rule: detach, DROP COLUMN, DROP TABLE.
SELECT steward.detach_state_machine('tickets', 'state');
SELECT count(*) FROM ticket_checks;
SELECT count(*) FROM ticket_label;
SELECT steward.attach_state_machine('tickets', 'state', 'ticket_status');
SELECT steward.set_state_check('tickets', 'closed', 'SELECT 0');
ALTER TABLE tickets DROP COLUMN state;
SELECT count(*) FROM ticket_checks;
ALTER TABLE tickets ADD COLUMN state text NOT NULL DEFAULT 'open';
SELECT steward.attach_state_machine('tickets', 'state', 'ticket_status');
SELECT steward.set_state_check('tickets', 'closed', 'SELECT 0');
SELECT 'tickets'::regclass::oid AS tickets_oid \gset
DROP VIEW ticket_label, ticket_checks;
DROP TABLE tickets;
SELECT count(*) FROM steward.state_checks WHERE relid::oid = :tickets_oid;
SELECT steward.drop_state_machine('ticket_status');
DROP FUNCTION set_label(jsonb);
