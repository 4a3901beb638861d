-- readme40 N1: a rule on a partitioned table with a partition that is not
-- a steward table (the rule written under session_replication_role =
-- replica, as a restore does) is shown as not enforced by
-- steward.tracked_columns, yet steward.verify() passed it ("all versions
-- >= 1") while the partition stored version 0.  verify() now fails an
-- "access method" row naming the partition and the statement that
-- converts it; the statement works and the row then passes.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r238 (id int, v bigint) PARTITION BY RANGE (id);
CREATE TABLE r238_a PARTITION OF r238 FOR VALUES FROM (0) TO (10) USING steward;
CREATE TABLE r238_h PARTITION OF r238 FOR VALUES FROM (10) TO (20) USING heap;
SET session_replication_role = replica;
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r238', 'v', 'version');
RESET session_replication_role;
SELECT column_name, enforced, problem FROM steward.tracked_columns WHERE relid = 'r238'::regclass;
INSERT INTO r238 VALUES (11, 0);
SELECT "check", passed, detail FROM steward.verify('r238') WHERE NOT passed ORDER BY 1;
-- The detail's statement, run as written.
SELECT substring(detail FROM 'ALTER TABLE .* SET ACCESS METHOD steward') AS fix
  FROM steward.verify('r238') WHERE "check" = 'access method' \gset
:fix;
SELECT count(*) AS access_method_rows FROM steward.verify('r238') WHERE "check" = 'access method';
SELECT column_name, enforced, problem FROM steward.tracked_columns WHERE relid = 'r238'::regclass;
-- A table with no rule gets no such row.
CREATE TABLE r238_plain (id int, v bigint) PARTITION BY RANGE (id);
CREATE TABLE r238_plain_h PARTITION OF r238_plain FOR VALUES FROM (0) TO (10) USING heap;
SELECT count(*) AS access_method_rows FROM steward.verify('r238_plain') WHERE "check" = 'access method';
DROP TABLE r238, r238_plain;
