-- trust50: the messages of drop_transition and drop_initial_state that
-- list states quote each as a listed name is quoted, a double quote
-- inside doubled as in an SQL identifier: the old code printed
-- "%s" as it was, so a state named  a", "b  read as two states "a" and
-- "b" (refuse_stranded_rows' errmsg and DETAIL; the state-check refusal's
-- message and its "checks:" list).  Hostile names: quotes and commas, a
-- newline, 63 bytes, non-ASCII.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA t450;
CREATE TABLE t450.orders (id int PRIMARY KEY, state text NOT NULL) USING steward;
INSERT INTO t450.orders VALUES (1, 'a", "b'), (2, E'x\ny'), (3, 'a", "b');
SELECT steward.create_state_machine('m450',
    ARRAY['new', 'a", "b', E'x\ny', repeat('z', 63), 'grün"ß'], ARRAY['new'],
    ARRAY['a", "b->' || E'x\ny', repeat('z', 63) || '->grün"ß']);
SELECT steward.attach_state_machine('t450.orders', 'state', 'm450');

-- Rows in both states the edge leaves in no transition: one list, two
-- names, each quoted whole.
SELECT steward.drop_transition('m450', 'a", "b', E'x\ny');
-- Rows in one of the two states: the list still names both.
DELETE FROM t450.orders WHERE id = 2;
SELECT steward.drop_transition('m450', 'a", "b', E'x\ny');
DELETE FROM t450.orders;

-- A state check names a state the edge would drop: the message's states
-- and the DETAIL's checks quote it whole (63 bytes, non-ASCII, a quote).
SELECT steward.set_state_check('t450.orders', 'grün"ß', 'SELECT 0');
SELECT steward.drop_transition('m450', repeat('z', 63), 'grün"ß');
SELECT steward.set_state_check('t450.orders', 'grün"ß', NULL);
-- Without the check (and no rows) both states go: the NOTICE quotes them
-- (append_listed_name, as before trust50).
SELECT steward.drop_transition('m450', repeat('z', 63), 'grün"ß');
SELECT states FROM steward.state_machines WHERE name = 'm450';

-- drop_initial_state with rows in the state: one state, quoted whole in
-- the DETAIL.
SELECT steward.add_initial_state('m450', 'a", "b');
INSERT INTO t450.orders VALUES (4, 'a", "b');
SELECT steward.drop_transition('m450', 'a", "b', E'x\ny');
SELECT steward.drop_initial_state('m450', 'a", "b');

SELECT steward.detach_state_machine('t450.orders', 'state');
SELECT steward.drop_state_machine('m450');
DROP SCHEMA t450 CASCADE;
