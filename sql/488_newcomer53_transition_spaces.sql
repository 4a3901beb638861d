-- create_state_machine with a transition written with spaces around "->"
-- ('a -> b'): states match exactly, so it names "a " and " b".  The error
-- said only "uses an undeclared state" with the HINT "Declared states: a,
-- b", which lists the very names the user wrote.  The DETAIL now quotes the
-- undeclared names as read, and the HINT says that spaces count.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set SHOW_CONTEXT never
-- Spaces on both sides, on one side, with tabs: the HINT spells the fix.
SELECT steward.create_state_machine('n53_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a -> b']);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.create_state_machine('n53_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b', 'b ->a']);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.create_state_machine('n53_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a' || chr(9) || '->b']);
-- A state that is not declared at all keeps the list of declared states.
SELECT steward.create_state_machine('n53_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a -> c']);
\echo :LAST_ERROR_SQLSTATE
-- A state declared with a space is matched as declared.
SELECT steward.create_state_machine('n53_m', ARRAY['a', 'b c'], ARRAY['a'], ARRAY['a->b c']);
SELECT states, transitions FROM steward.state_machines WHERE name = 'n53_m';
SELECT steward.drop_state_machine('n53_m');
