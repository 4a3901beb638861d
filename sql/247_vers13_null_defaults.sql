-- vers13 (review24 V4): a partitioned table's default that gives NULL
-- (DEFAULT nullif(1, 1), an inlined SQL function returning NULL) passed
-- as a default, so a partition under it could be NOT NULL: every INSERT
-- through the table leaving the column out fails 23502 on the partition.
-- Only a literal NULL (which PostgreSQL stores as no default) was judged.
-- Now a default that folds to the NULL constant counts as none at every
-- entry: track_versions, ALTER ... SET DEFAULT (ONLY or not), ATTACH,
-- labels, and verify().  A default that folds to no constant (a plpgsql
-- function) is computed per row and accepted: a NULL it gives fails that
-- INSERT with PostgreSQL's 23502, no row is stored without a version.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SET default_table_access_method = steward;
CREATE ROLE r247_owner;
GRANT CREATE ON SCHEMA public TO r247_owner;
SET ROLE r247_owner;
CREATE FUNCTION r247_null_sql() RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT NULL::bigint';
CREATE FUNCTION r247_null_vol() RETURNS bigint LANGUAGE sql VOLATILE AS 'SELECT NULL::bigint';
CREATE FUNCTION r247_null_pl() RETURNS bigint LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END';

-- 1. track_versions over a parent whose default folds to NULL.
CREATE TABLE r247_q (id int, v bigint DEFAULT nullif(1, 1)) PARTITION BY RANGE (id);
CREATE TABLE r247_q1 PARTITION OF r247_q (v NOT NULL DEFAULT 1) FOR VALUES FROM (0) TO (100);
SELECT steward.track_versions('r247_q', 'v');
ALTER TABLE r247_q ALTER COLUMN v SET DEFAULT r247_null_sql();
SELECT steward.track_versions('r247_q', 'v');
ALTER TABLE r247_q ALTER COLUMN v SET DEFAULT 1;
SELECT steward.track_versions('r247_q', 'v');

-- 2. Later DDL: ONLY (the partition is not locked) and recursive.
ALTER TABLE ONLY r247_q ALTER COLUMN v SET DEFAULT nullif(1, 1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
ALTER TABLE ONLY r247_q ALTER COLUMN v SET DEFAULT NULL::bigint + 1;
ALTER TABLE ONLY r247_q ALTER COLUMN v SET DEFAULT r247_null_sql();
-- A volatile SQL function whose body is a constant is inlined by the
-- planner as by the check: NULL on every INSERT, refused too.
ALTER TABLE ONLY r247_q ALTER COLUMN v SET DEFAULT r247_null_vol();
ALTER TABLE r247_q ALTER COLUMN v SET DEFAULT nullif(1, 1);
-- Accepted: a default computed per row; PostgreSQL refuses the NULL it
-- gives (23502) and stores nothing.
ALTER TABLE ONLY r247_q ALTER COLUMN v SET DEFAULT r247_null_pl();
INSERT INTO r247_q (id) VALUES (1);
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
INSERT INTO r247_q1 (id) VALUES (2);
SELECT tableoid::regclass, id, v FROM r247_q ORDER BY id;
ALTER TABLE ONLY r247_q ALTER COLUMN v SET DEFAULT 1;

-- 3. ATTACH under a parent whose default folds to NULL: a table storing
-- rows is refused, an empty one kept with a WARNING that verify() lists.
CREATE TABLE r247_a (id int, v bigint DEFAULT nullif(1, 1)) PARTITION BY RANGE (id);
CREATE TABLE r247_a1 PARTITION OF r247_a FOR VALUES FROM (0) TO (10);
SELECT steward.track_versions('r247_a', 'v');
CREATE TABLE r247_a2 (id int, v bigint NOT NULL DEFAULT 1);
INSERT INTO r247_a2 VALUES (15, 1);
ALTER TABLE r247_a ATTACH PARTITION r247_a2 FOR VALUES FROM (10) TO (20);
SET client_min_messages = notice;
CREATE TABLE r247_a3 (id int, v bigint NOT NULL DEFAULT 1);
ALTER TABLE r247_a ATTACH PARTITION r247_a3 FOR VALUES FROM (20) TO (30);
SET client_min_messages = warning;
SELECT "check", passed, detail FROM steward.verify('r247_a') WHERE NOT passed;
-- A nullable partition under it is fine: the AM sets the version.
INSERT INTO r247_a (id) VALUES (1);
SELECT tableoid::regclass, id, v FROM r247_a ORDER BY id;

-- 4. A restored label on a NOT NULL partition under such a parent: kept
-- with a WARNING naming the parent's SET DEFAULT, listed by verify().
CREATE TABLE r247_b (id int, v bigint DEFAULT nullif(1, 1)) PARTITION BY RANGE (id);
CREATE TABLE r247_b1 PARTITION OF r247_b (v NOT NULL DEFAULT 1) FOR VALUES FROM (0) TO (10);
SET client_min_messages = notice;
SECURITY LABEL FOR steward ON COLUMN r247_b1.v IS '{"v": 1, "kind": "version"}';
SET client_min_messages = warning;
SELECT "check", passed, detail FROM steward.verify('r247_b') WHERE NOT passed;

RESET ROLE;
DROP TABLE r247_q, r247_a, r247_a2, r247_b;
DROP FUNCTION r247_null_sql(), r247_null_vol(), r247_null_pl();
REVOKE CREATE ON SCHEMA public FROM r247_owner;
DROP ROLE r247_owner;
