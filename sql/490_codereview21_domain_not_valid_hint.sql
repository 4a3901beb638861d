-- migration_start refuses a column of a domain type with CHECKs on a
-- table with rows and its HINT gives the step with the domain's base type
-- and its CHECKs as the step's "check".  A domain CHECK added NOT VALID
-- was printed with its definition's " NOT VALID" suffix inside that
-- "check" ("((x > 0)) NOT VALID AND ..."), a step that fails to run as
-- printed.  Now the HINT has the CHECK's expression only; run as printed,
-- the step starts and its check refuses what the domain refuses.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE DOMAIN d490 AS integer;
ALTER DOMAIN d490 ADD CONSTRAINT d490_pos CHECK (VALUE > 0) NOT VALID;
ALTER DOMAIN d490 ADD CONSTRAINT d490_small CHECK (VALUE < 100);
CREATE TABLE t490 (id int PRIMARY KEY, a int);
INSERT INTO t490 VALUES (1, 5);
\set VERBOSITY default
SELECT steward.migration_start('m490', $j$[
  {"add_column": {"table": "t490", "column": "x", "type": "d490", "up": "a"}}]$j$);
\set VERBOSITY terse
-- The HINT's step as printed: it starts, and its check refuses 0.
SELECT steward.migration_start('m490', $j$[{"add_column": {"table": "public.t490", "column": "x", "type": "integer", "check": "((x > 0)) AND ((x < 100))", "up": "a"}}]$j$);
INSERT INTO t490 (id, a) VALUES (2, 0);
INSERT INTO t490 (id, a) VALUES (3, 7);
SELECT id, a FROM t490 ORDER BY id;
SELECT steward.migration_rollback('m490');
DROP TABLE t490;
DROP DOMAIN d490;
CREATE TEMP TABLE gone (name) AS VALUES ('m490');
\i test/sql/drop_migration_records.sql
