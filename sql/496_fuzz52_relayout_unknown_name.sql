-- fuzz52: the relayout steps' functions (executable by PUBLIC) read the
-- fields of steward._relayout_tables at once; for a name with no
-- relayout tables they failed with PL/pgSQL's internal 55000 'record "t"
-- is not assigned yet'.  Now 42704 naming the relayout.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY default
SELECT * FROM steward._relayout_tables('fz496 none');
SELECT steward._relayout_expand('fz496 none', '{}');
SELECT steward._relayout_switch('fz496 none', '{"direction": "forward"}');
SELECT steward._relayout_undo('fz496 none', '{}');
SELECT steward._relayout_expand(NULL, NULL);
