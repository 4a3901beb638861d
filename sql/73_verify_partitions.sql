-- steward.verify() of a partitioned table covers its partitions: each
-- leaf's heap pages, its exclusion constraints (an idempotency key of a
-- partitioned table is one per partition) and its steward_hash indexes,
-- named "partition <name>: <check>", checked as the partition's owner.
-- Before, verify('vp') returned the parent's three rows and said nothing
-- of the pages, constraints and indexes it had not looked at.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE vp_alice;
CREATE ROLE vp_bob;
CREATE SCHEMA vp AUTHORIZATION vp_alice;
GRANT USAGE ON SCHEMA vp TO vp_bob;
SET ROLE vp_alice;
CREATE TABLE vp.orders (id int, k int, rk uuid, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE vp.orders_1 PARTITION OF vp.orders FOR VALUES IN (1) USING steward;
CREATE TABLE vp.orders_2 PARTITION OF vp.orders FOR VALUES IN (2, 3) PARTITION BY LIST (k);
CREATE TABLE vp.orders_2a PARTITION OF vp.orders_2 FOR VALUES IN (2) USING steward;
CREATE INDEX orders_rk ON vp.orders USING steward_hash (rk);
ALTER TABLE vp.orders_1 ADD CONSTRAINT orders_1_rk_key EXCLUDE USING steward_hash (rk WITH =);
RESET ROLE;
-- A partition another role owns: its checks run as that role, and so
-- do those of the partitioned table on its rows (since regress 52, a
-- table whose partitions have different owners is never read whole).
CREATE TABLE vp.orders_3 (id int NOT NULL, k int NOT NULL, rk uuid) USING steward;
ALTER TABLE vp.orders_3 OWNER TO vp_bob;
ALTER TABLE vp.orders_3 ADD CONSTRAINT orders_3_rk_key EXCLUDE USING steward_hash (rk WITH =);
ALTER TABLE vp.orders_2 ATTACH PARTITION vp.orders_3 FOR VALUES IN (3);
INSERT INTO vp.orders
SELECT g, 1 + g % 3, md5(g::text)::uuid FROM generate_series(1, 300) g;

SELECT "check", passed, detail FROM steward.verify('vp.orders') ORDER BY 1;
-- A partition alone: its own checks, unprefixed.
SELECT "check", passed FROM steward.verify('vp.orders_3') ORDER BY 1;
-- The partition part refuses anyone but the partition's owner.
SELECT * FROM steward._verify_partition('vp.orders_3', 'vp.orders');

DROP SCHEMA vp CASCADE;
DROP ROLE vp_alice;
DROP ROLE vp_bob;
