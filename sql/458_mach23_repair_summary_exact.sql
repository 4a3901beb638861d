-- mach23 (follow-up of mach22's 951531d): the summary of an owner's
-- repair of rows stored in undeclared states must count exactly the rows
-- not reported one by one.  A row repaired in two columns under the same
-- machine counted twice in one tally (the first column's), so 6 rows gave
-- 10 NOTICEs and "and 2 more rows ... repaired 12 rows in column a".  Now
-- a statement keeps one tally per relation, machine and column, counts a
-- row once heap stored it, and the summary says "and N other rows".
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r458;
SELECT steward.create_state_machine('m458', ARRAY['new','paid'], ARRAY['new'], ARRAY['new->paid']);
CREATE TABLE r458.t (id int PRIMARY KEY, st text NOT NULL DEFAULT 'new') USING steward;
CREATE TABLE r458.u (id int PRIMARY KEY, st text NOT NULL DEFAULT 'new') USING steward;
CREATE TABLE r458.two (id int PRIMARY KEY, a text NOT NULL DEFAULT 'new',
                       b text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('r458.t', 'st', 'm458');
SELECT steward.attach_state_machine('r458.u', 'st', 'm458');
SELECT steward.attach_state_machine('r458.two', 'a', 'm458');
SELECT steward.attach_state_machine('r458.two', 'b', 'm458');
SET session_replication_role = replica;
INSERT INTO r458.t SELECT g, 'lost' FROM generate_series(1, 100) g;
INSERT INTO r458.u SELECT g, 'gone' FROM generate_series(1, 100) g;
INSERT INTO r458.two SELECT g, 'lost', 'gone' FROM generate_series(1, 100) g;
RESET session_replication_role;

-- 9 rows: 9 NOTICEs, no summary.
UPDATE r458.t SET st = 'new' WHERE id BETWEEN 1 AND 9;
-- 10 rows: 10 NOTICEs, no summary (nothing left to count).
UPDATE r458.t SET st = 'new' WHERE id BETWEEN 11 AND 20;
-- 11 rows: 10 NOTICEs and "and 1 other row".
UPDATE r458.t SET st = 'new' WHERE id BETWEEN 21 AND 31;
-- 25 rows: 10 NOTICEs and "and 15 other rows".
UPDATE r458.t SET st = 'new' WHERE id BETWEEN 41 AND 65;

-- Two tables in one statement: a tally each, 13 and 12 rows.
WITH w AS (UPDATE r458.u SET st = 'new' WHERE id <= 12 RETURNING 1)
UPDATE r458.t SET st = 'new' WHERE id BETWEEN 71 AND 83;

-- Two columns of one table under one machine: a tally each.  6 rows
-- repaired in both columns are 6 in each: 12 NOTICEs, no summary.
UPDATE r458.two SET a = 'new', b = 'new' WHERE id <= 6;
-- 11 rows in both: 10 NOTICEs and "and 1 other row" per column.
UPDATE r458.two SET a = 'new', b = 'new' WHERE id BETWEEN 11 AND 21;
-- 17 rows repaired in one column only: that column's tally alone.
SET session_replication_role = replica;
UPDATE r458.two SET a = 'lost' WHERE b = 'new';
RESET session_replication_role;
UPDATE r458.two SET a = 'new' WHERE a = 'lost' AND b = 'new';

-- A second join row of UPDATE ... FROM meets the row this statement
-- already repaired (TM_SelfModified, skipped): counted once, 12 rows.
UPDATE r458.u SET st = 'new' FROM generate_series(1, 2) g WHERE id BETWEEN 21 AND 32;

SELECT st, count(*) FROM r458.t GROUP BY st ORDER BY st;
SELECT st, count(*) FROM r458.u GROUP BY st ORDER BY st;
SELECT a, b, count(*) FROM r458.two GROUP BY a, b ORDER BY a, b;

DROP SCHEMA r458 CASCADE;
SELECT steward.drop_state_machine('m458');
