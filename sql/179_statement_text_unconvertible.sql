-- review18 F1: a statement text that cannot be converted into the reading
-- database's encoding is NULL (docs/observability.md), not its bytes as
-- they are: in a single-byte database (LATIN1) every byte sequence is valid, so a UTF8
-- database's euro sign was shown as three letters.  A text that converts
-- is still converted, and an all-ASCII one is shown everywhere.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT current_database() AS regress_db \gset
-- Statements on a table of their own, of different shapes: their queryids
-- are this test's (aliases are not part of a queryid).
CREATE TABLE r179_t (a int);
SELECT a AS "r179_euro_€" FROM r179_t;
SELECT a, a AS "r179_accent_é" FROM r179_t;
SELECT a, a, a AS "r179_ascii_x" FROM r179_t;
SELECT min(queryid) FILTER (WHERE query LIKE '%r179_euro%') AS euro,
       min(queryid) FILTER (WHERE query LIKE '%r179_accent%') AS accent,
       min(queryid) FILTER (WHERE query LIKE '%r179_ascii%') AS ascii
  FROM steward.statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
\gset
CREATE DATABASE steward_r179 ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C';
\c steward_r179
SET client_min_messages = warning;
CREATE EXTENSION pg_steward;
RESET client_min_messages;
SET client_encoding = 'UTF8';
SELECT CASE queryid WHEN :euro THEN 'euro' WHEN :accent THEN 'accent' ELSE 'ascii' END AS text,
       query IS NULL AS hidden, query, encode(convert_to(query, 'LATIN1'), 'hex') AS latin1_bytes, calls
  FROM steward.statements
 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = :'regress_db')
   AND queryid IN (:euro, :accent, :ascii)
 ORDER BY 1;
\c :regress_db
DROP DATABASE steward_r179;
DROP TABLE r179_t;
