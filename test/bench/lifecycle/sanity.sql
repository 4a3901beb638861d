-- Both enforcing variants refuse the same illegal writes, accept the same
-- legal ones; the unenforced one accepts everything.  Run by run.sh with
-- search_path set to m, n or t; prints one line per statement.
\set ON_ERROR_STOP off
\set QUIET on
\set VERBOSITY terse
\pset format unaligned
\pset tuples_only on
\set SHOW_CONTEXT never
BEGIN;
UPDATE items SET status = 'new' WHERE id = 1;              -- active/suspended -> new: illegal
\echo 'back to new:' :SQLSTATE
ROLLBACK;
BEGIN;
UPDATE items SET status = 'closed' WHERE id = 1;           -- legal
\echo 'to closed:' :SQLSTATE
UPDATE items SET status = 'active' WHERE id = 1;           -- closed -> active: illegal
\echo 'closed to active:' :SQLSTATE
ROLLBACK;
BEGIN;
UPDATE items SET status = 'nowhere' WHERE id = 2;          -- undeclared
\echo 'undeclared:' :SQLSTATE
ROLLBACK;
BEGIN;
UPDATE items SET status = status, note = 'x' WHERE id = 3; -- same state
\echo 'same state:' :SQLSTATE
ROLLBACK;
BEGIN;
INSERT INTO items VALUES (0, 'active', 0, 'x');            -- not an initial state
\echo 'insert active:' :SQLSTATE
ROLLBACK;
BEGIN;
INSERT INTO items VALUES (0, 'new', 0, 'x');
\echo 'insert new:' :SQLSTATE
ROLLBACK;
