-- codereview19 C8: the NOTICE naming the states a drop_transition took
-- out of a machine printed each name inside "..." as it was, so a state
-- named  a", "b  read as two states; an embedded double quote is now
-- doubled, as in an SQL identifier.  One state and several states use
-- errmsg_plural's two forms (the message and its DETAIL).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('m444', ARRAY['new','paid'], ARRAY['new'], ARRAY['new->paid']);

-- One state with an embedded double quote: one name, the quote doubled.
SELECT steward.add_transition('m444', 'paid', 'a", "b', new_state => true);
SELECT steward.drop_transition('m444', 'paid', 'a", "b');
-- Both ends go, one of them quoted: two names.
SELECT steward.add_transition('m444', 'paid', 'x"y', new_state => true);
SELECT steward.add_transition('m444', 'x"y', 'z', new_state => true);
SELECT steward.drop_transition('m444', 'paid', 'x"y');
SELECT steward.drop_transition('m444', 'x"y', 'z');
SELECT states FROM steward.state_machines WHERE name = 'm444';

SELECT steward.drop_state_machine('m444');
