-- fuzz2 F3: a syntax error in a state check's check_sql or in
-- run_transition's set_sql was reported at its position in that text but
-- shown against the client's statement: the caret stood under
-- "SELECT steward.set_state_check(..." (or, for a check arriving in a
-- label, under pg_steward's own internal query).  The position now counts
-- in the user's text, shown as the QUERY, as migration expressions do.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('r298_m', ARRAY['new', 'done'], ARRAY['new'], ARRAY['new->done']);
CREATE TABLE r298 (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new', note text) USING steward;
SELECT steward.attach_state_machine('r298', 'status', 'r298_m');
INSERT INTO r298 (id) VALUES (1), (2);
-- The caret stands under the word the parser stopped at, in check_sql.
SELECT steward.set_state_check('r298', 'done', 'SELECT count(*) FROM r298 WHER status = ''done''');
\echo :LAST_ERROR_SQLSTATE
-- In set_sql, shown inside the UPDATE it is checked in.
CALL steward.run_transition('r298', 'new', 'done', 'note = (1');
\echo :LAST_ERROR_SQLSTATE
-- Errors without a position are as before; a good set_sql still runs.
SELECT steward.set_state_check('r298', 'done', 'SELECT 1; SELECT 2');
CALL steward.run_transition('r298', 'new', 'done', 'note = ''moved''');
SELECT status, note, count(*) FROM r298 GROUP BY 1, 2;
DROP TABLE r298;
SELECT steward.drop_state_machine('r298_m');
