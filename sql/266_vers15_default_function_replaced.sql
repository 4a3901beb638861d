-- vers15 (review25 W4): a default that folds to NULL counts as no
-- default when it enters (track_versions, ALTER TABLE, ATTACH, a label,
-- verify(): sql/247), but README said "at every entry" while replacing
-- the SQL function such a default calls (CREATE OR REPLACE FUNCTION, no
-- DDL on the table) makes it fold to NULL afterwards.  Judged: replacing
-- the function is no entry (its owner may be another role, whose DDL a
-- table must not refuse, and an immutable function's result can change
-- in other ways no trigger sees), the INSERT fails with PostgreSQL's
-- 23502 on the NOT NULL partition, no row is stored without a version,
-- and verify() lists the column with the SET DEFAULT that fixes it.
-- docs/versions.md now says so; this test pins that behaviour.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET default_table_access_method = steward;

CREATE FUNCTION r266_one() RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT 1::bigint';
CREATE TABLE r266_p (id int, v bigint DEFAULT 1) PARTITION BY RANGE (id);
CREATE TABLE r266_p1 PARTITION OF r266_p (v NOT NULL DEFAULT 1) FOR VALUES FROM (0) TO (10);
SELECT steward.track_versions('r266_p', 'v');
-- Folds to 1 when it enters: accepted.
ALTER TABLE ONLY r266_p ALTER COLUMN v SET DEFAULT r266_one();
INSERT INTO r266_p (id) VALUES (1);
SELECT "check", passed FROM steward.verify('r266_p') WHERE "check" LIKE 'column_definition%';
-- Replaced to give NULL: no entry, nothing refuses it.
CREATE OR REPLACE FUNCTION r266_one() RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT NULL::bigint';
INSERT INTO r266_p (id) VALUES (5);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT tableoid::regclass, id, v FROM r266_p ORDER BY id;
SELECT "check", passed, detail FROM steward.verify('r266_p') WHERE NOT passed;
-- The fix verify() names.
ALTER TABLE r266_p ALTER COLUMN v SET DEFAULT 1;
INSERT INTO r266_p (id) VALUES (5);
SELECT tableoid::regclass, id, v FROM r266_p ORDER BY id;
SELECT count(*) AS failed FROM steward.verify('r266_p') WHERE NOT passed;

DROP TABLE r266_p;
DROP FUNCTION r266_one();
