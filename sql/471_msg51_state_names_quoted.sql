-- msg51: every message quotes each state name it prints, a double quote
-- inside doubled as in an SQL identifier.  steward_state_list printed
-- its lists bare ("Allowed from paid: shipped, refunded."), and the
-- illegal-transition messages their endpoints bare, so a state named
-- a, b  read as two states a and b, and one with a double quote, a
-- hyphen or spaces at its ends had no visible ends.  Each message
-- below names such states; on the old code every one printed them bare.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA t471;
CREATE TABLE t471.orders (id int PRIMARY KEY, state text NOT NULL) USING steward;
SELECT steward.create_state_machine('m471',
    ARRAY['new', 'a, b', 'say "hi"', ' two  words ', 'x - y'],
    ARRAY['new', 'a, b'],
    ARRAY['new->a, b', 'new->say "hi"', 'a, b-> two  words ', 'say "hi"->x - y']);
SELECT steward.attach_state_machine('t471.orders', 'state', 'm471');

-- Undeclared value: the HINT lists every declared state, each quoted.
INSERT INTO t471.orders VALUES (1, 'a');
-- Not an initial state: the DETAIL lists the initial ones ("a, b" whole).
INSERT INTO t471.orders VALUES (1, 'say "hi"');
INSERT INTO t471.orders VALUES (1, 'a, b'), (2, 'new');
-- Illegal transitions: both endpoints and the allowed list quoted.
UPDATE t471.orders SET state = 'new' WHERE id = 1;
UPDATE t471.orders SET state = 'x - y' WHERE id = 2;
-- A final state: named quoted in the HINT.
UPDATE t471.orders SET state = 'say "hi"' WHERE id = 2;
UPDATE t471.orders SET state = 'x - y' WHERE id = 2;
UPDATE t471.orders SET state = 'new' WHERE id = 2;
UPDATE t471.orders SET state = ' two  words ' WHERE id = 1;
UPDATE t471.orders SET state = 'a, b' WHERE id = 1;

-- run_transition's check of the edge: same quoting.
CALL steward.run_transition('t471.orders', 'x - y', 'new');
CALL steward.run_transition('t471.orders', 'a, b', 'say "hi"');
CALL steward.run_transition('t471.orders', 'a', 'new');

-- Machine changes: the C and SQL parts quote the same way.
SELECT steward.add_transition('m471', 'a, b', 'say "hi"', new_state => true);
SELECT steward.add_transition('m471', 'nope, no', 'new');
SELECT steward.add_transition('m471', 'new', 'a, b');
SELECT steward.add_transition('m471', 'new', 'a, b', if_not_exists => true);
SELECT steward.drop_transition('m471', 'a, b', 'x - y');
SELECT steward.drop_transition('m471', 'a, b', 'x - y', if_exists => true);
SELECT steward.add_initial_state('m471', 'c, d');
SELECT steward.create_state_machine('m471b', ARRAY['p', 'q, r'], ARRAY['p'], ARRAY['p->q, s']);

SELECT state FROM t471.orders ORDER BY id;
SET client_min_messages = warning;
DROP SCHEMA t471 CASCADE;
SELECT steward.drop_state_machine('m471');
