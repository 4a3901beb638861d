-- COPY FROM refused by a rule (review9 F19): COPY checks its rows when it
-- flushes a batch, so its "line N" context is where the batch ended; the
-- error names the row's key (for a role that may read it) and its place
-- in the batch.  Before: no key, and a line that was not the row's.
SELECT steward.create_state_machine('cp_m', ARRAY['created', 'paid'], ARRAY['created'],
                                    ARRAY['created->paid']);
CREATE TABLE cp (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created') USING steward;
SELECT steward.attach_state_machine('cp', 'st', 'cp_m');
CREATE ROLE cp_loader;
GRANT INSERT ON cp TO cp_loader;
\set VERBOSITY default
\set SHOW_CONTEXT always
-- as the owner (a restore): an undeclared state, row 2 of 4
COPY cp FROM stdin;
1	created
2	bogus
3	created
4	paid
\.
-- a loader that is not the owner copies rows as inserts: 'paid' is not an
-- initial state; it may not read the table, so no key is shown
SET ROLE cp_loader;
COPY cp FROM stdin;
5	created
6	paid
\.
RESET ROLE;
GRANT SELECT ON cp TO cp_loader;
SET ROLE cp_loader;
COPY cp FROM stdin;
5	created
6	paid
\.
RESET ROLE;
-- a plain INSERT names the key too
INSERT INTO cp VALUES (7, 'nope');
\set VERBOSITY default
\set SHOW_CONTEXT errors
SELECT count(*) FROM cp;
DROP TABLE cp;
DROP ROLE cp_loader;
SELECT steward.drop_state_machine('cp_m');

-- steward.statements across database encodings (review9 F18): a LATIN1
-- database's statement text is converted to this database's encoding
-- (before: its bytes were returned as they were, invalid UTF-8, and every
-- text function on the view failed with 22021).
SELECT current_database() AS regress_db \gset
CREATE DATABASE steward_latin1 ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
\c steward_latin1
SET client_encoding = 'UTF8';
SELECT 1 AS "dessért_marker_ÿ";
\c :regress_db
SELECT query FROM steward.statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'steward_latin1')
   AND query LIKE '%marker%';
SELECT count(*) > 0 AS text_functions_work FROM steward.statements WHERE lower(query) LIKE '%_marker_%';
-- Once the database is gone its encoding is unknown: the text is shown only
-- if it is valid here as stored (LATIN1 'é' is not valid UTF-8).
DROP DATABASE steward_latin1;
SELECT count(*) FILTER (WHERE query IS NULL) AS hidden,
       count(*) FILTER (WHERE query LIKE '%marker%') AS shown
  FROM steward.statements WHERE dbid NOT IN (SELECT oid FROM pg_database);
SELECT count(*) > 0 AS text_functions_work FROM steward.statements WHERE lower(query) LIKE '%x%';
