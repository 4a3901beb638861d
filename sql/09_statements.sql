-- steward.statements: normalization lexes as the server does, texts are
-- the statement's own part with constants replaced (cut on a character
-- boundary), every top-level statement is counted once whatever its path,
-- and failures are counted wherever a statement fails.
\set SHOW_CONTEXT never
SELECT steward.reset();
CREATE TABLE people (name text);
INSERT INTO people VALUES ('ann'), ('it''s'), ('x'), ('bob');

-- Issue 14 input 1: with standard_conforming_strings off, 'it\'s' is one
-- literal.  The statement gives its count; the text is normalized.
SET standard_conforming_strings = off;
SET escape_string_warning = off;
SELECT count(*) FROM people WHERE name <> 'it\'s' AND name <> 'x';
-- Escape strings, dollar quotes and comments holding quotes.
SELECT count(*) FROM people WHERE name <> E'it\'s' AND name <> $$x'y$$ /* it's */ AND name <> $q$a$$b$q$;
RESET standard_conforming_strings;
RESET escape_string_warning;
SELECT count(*) FROM people WHERE name <> E'it\'s' -- it's
  AND name <> U&'d\0061t\+000061' AND name <> U&'d!0061t' UESCAPE '!' AND name <> 'it''s';
-- A very long literal.
SELECT 'SELECT length(' || quote_literal(repeat('z', 5000)) || ') AS long_literal' \gexec
-- A SET earlier in the same query string changes how the rest must be
-- lexed: the raw parser lexed 'a\', 'b' as two literals before the SET ran.
SET standard_conforming_strings = off \; SELECT 'a\', 'b' AS two_literals;
RESET standard_conforming_strings;
SELECT query, calls, errors FROM steward.statements
 WHERE query LIKE '%FROM people%' OR query LIKE '%two_literals%' OR query LIKE '%long_literal%'
 ORDER BY query COLLATE "C";

-- The scanner's notices are the parser's alone: an identifier longer than
-- NAMEDATALEN - 1 is reported truncated once, not once more by the
-- normalization (PostgreSQL's create_view test caught it).
SELECT 1, 2, 3 AS xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxy;

-- Issue 11 input 9: each statement of a multi-statement string is stored as
-- its own part, constants replaced; no literal is ever stored.
SELECT 1 AS one, 'SSN 123-45-6789' AS secret \; SELECT 'card 4111111111111111' AS c2;
SELECT query, calls FROM steward.statements
 WHERE query LIKE '%secret%' OR query LIKE '%c2%' ORDER BY query COLLATE "C";
SELECT count(*) AS leaked FROM steward.statements, unnest(ARRAY['123-45', '4111', 'zzzz', '''x''',
                                                       'd\0061t', '$$x', '''a\', 'a$$b']) AS l(literal)
 WHERE strpos(query, literal) > 0;

-- Issue 14 input 2: a text longer than an entry (1 kB) is cut on a
-- character boundary.  Byte 1022 starts an 'é' here, so a byte cut at 1023
-- would leave half a character.
SELECT 'SELECT 1 /* ' || repeat('é', 600) || ' */ AS cut_here' \gexec
SELECT octet_length(query) AS bytes, convert_from(convert_to(query, 'UTF8'), 'UTF8') = query AS valid,
       right(query, 1) = 'é' AS ends_with_whole_char
  FROM steward.statements WHERE query LIKE 'SELECT $1 /* é%';
SELECT convert_to(query, 'LATIN1') IS NOT NULL AS latin1_ok
  FROM steward.statements WHERE query LIKE 'SELECT $1 /* é%';

-- Issue 14 input 3: SQL PREPARE/EXECUTE count the prepared statement.
CREATE TABLE kv (k int PRIMARY KEY, v text);
INSERT INTO kv VALUES (1, 'a'), (2, 'b'), (3, 'c');
PREPARE q(int) AS SELECT v FROM kv WHERE k = $1;
EXECUTE q(1);
EXECUTE q(2);
EXECUTE q(3);
DEALLOCATE q;
SELECT query, calls, rows FROM steward.statements WHERE query = 'SELECT v FROM kv WHERE k = $1';
SELECT count(*) AS prepare_or_execute_entries FROM steward.statements
 WHERE query LIKE 'PREPARE%' OR query LIKE 'EXECUTE%';

-- Cursors and COPY, with utility statements tracked (the default): the
-- cursor commands are the statements.
BEGIN;
DECLARE c CURSOR FOR SELECT k FROM kv WHERE k > 0 ORDER BY k;
FETCH 2 FROM c;
FETCH 2 FROM c;
CLOSE c;
COMMIT;
COPY kv TO STDOUT;
COPY kv (k, v) FROM STDIN;
4	d
5	e
\.
SELECT query, calls, rows FROM steward.statements
 WHERE query LIKE 'DECLARE c%' OR query LIKE 'FETCH%' OR query = 'CLOSE c' OR query LIKE 'COPY kv%'
 ORDER BY query COLLATE "C";
-- With steward.track_utility off, utility statements (cursor commands
-- too) are not counted.
SET steward.track_utility = off;
BEGIN;
DECLARE c2 CURSOR FOR SELECT v FROM kv WHERE k > 1 ORDER BY k;
FETCH 3 FROM c2;
CLOSE c2;
COMMIT;
CREATE TABLE not_counted (a int);
RESET steward.track_utility;
SELECT count(*) AS utility_while_off FROM steward.statements
 WHERE query LIKE '%not_counted%' OR query LIKE '%c2 CURSOR%' OR query LIKE '%FROM c2%' OR query = 'CLOSE c2';

-- Statements inside functions and DO blocks are not top-level; with
-- steward.track = all they are counted as nested (toplevel false).
CREATE FUNCTION lookup(x int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT v FROM kv WHERE k = x);
END $$;
SELECT lookup(1);
DO $$ BEGIN PERFORM lookup(2); END $$;
SELECT query, calls, toplevel FROM steward.statements
 WHERE query LIKE '%lookup(%' OR query LIKE '%(SELECT v FROM kv WHERE k = x)%' ORDER BY query COLLATE "C";
SET steward.track = 'all';
SELECT lookup(1);
SELECT lookup(2);
RESET steward.track;
SELECT query, calls, toplevel FROM steward.statements
 WHERE query LIKE '%lookup(%' OR query LIKE '%(SELECT v FROM kv WHERE k = x)%' ORDER BY query COLLATE "C";

-- Issue 14 input 4: failures wherever they happen.  One unique and two
-- foreign-key violations (the latter found by AFTER triggers, in
-- ExecutorFinish).
CREATE TABLE customers (id int PRIMARY KEY);
INSERT INTO customers VALUES (1);
CREATE TABLE invoices (id int PRIMARY KEY, customer int REFERENCES customers);
INSERT INTO invoices VALUES (1, 1);
INSERT INTO invoices VALUES (1, 1);
INSERT INTO invoices VALUES (2, 7);
INSERT INTO invoices VALUES (3, 8);
-- Constant folding fails while planning.
SELECT 5 / 0;
SELECT 5 / 0;
SELECT query, calls, errors FROM steward.statements
 WHERE query IN ('INSERT INTO invoices VALUES ($1, $2)', 'SELECT $1 / $2') ORDER BY query COLLATE "C";
-- Executor start: a permission check.
CREATE ROLE stmt_reader;
SET ROLE stmt_reader;
SELECT count(*) FROM kv;
RESET ROLE;
SELECT calls, errors FROM steward.statements
 WHERE query = 'SELECT count(*) FROM kv' AND userid = 'stmt_reader'::regrole;
-- An error caught inside a function is not the statement's failure.
CREATE FUNCTION safe_div(a int, b int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RETURN a / b;
EXCEPTION WHEN division_by_zero THEN RETURN NULL;
END $$;
SELECT safe_div(1, 0);
SELECT query, calls, errors FROM steward.statements WHERE query LIKE '%safe_div($1, $2)%';
-- A failure inside a transaction block with a savepoint counts once.
BEGIN;
SAVEPOINT s;
SELECT 1 / (k - k) FROM kv;
ROLLBACK TO s;
COMMIT;
SELECT query, calls, errors FROM steward.statements WHERE query LIKE '%/ (k - k) FROM kv';
-- Deferred constraints fail at commit: an autocommit statement is then an
-- error, not a call; in a block, the COMMIT is.
CREATE TABLE deferred (id int, CONSTRAINT deferred_once UNIQUE (id) DEFERRABLE INITIALLY DEFERRED);
INSERT INTO deferred VALUES (1), (1);
INSERT INTO deferred VALUES (2);
BEGIN;
INSERT INTO deferred VALUES (3);
INSERT INTO deferred VALUES (3);
COMMIT;
SELECT query, calls, errors FROM steward.statements
 WHERE query LIKE 'INSERT INTO deferred%' OR query = 'COMMIT' ORDER BY query COLLATE "C";

-- Nothing of this changed a statement's outcome, and nothing failed.
SELECT max(collection_failures) AS failures FROM steward.collector;

DROP FUNCTION lookup(int), safe_div(int, int);
DROP TABLE people, kv, not_counted, invoices, customers, deferred;
DROP ROLE stmt_reader;
