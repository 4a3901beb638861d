-- steward.verify()'s foreign-key check of a key that references a
-- partitioned table (review N2).  PostgreSQL keeps one pg_constraint row
-- per partition of the referenced table besides the key's own; before,
-- each was checked against its partition alone, so every row was
-- reported "without a parent" in the partitions it is not in and
-- verify() (and restore drills) failed on correct data.  Now the key is
-- checked once against the whole referenced table; a key a partition
-- inherits is checked by verify() of the partition, once by verify() of
-- the partitioned table (not once per partition on top).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE vfp_alice;
CREATE ROLE vfp_bob;
CREATE SCHEMA vfp AUTHORIZATION vfp_alice;
GRANT USAGE ON SCHEMA vfp TO vfp_bob;
SET ROLE vfp_alice;
-- The referenced table: two levels, a default partition, a composite key.
CREATE TABLE vfp.p (id int, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE vfp.p1 PARTITION OF vfp.p FOR VALUES IN (1);
CREATE TABLE vfp.p2 PARTITION OF vfp.p FOR VALUES IN (2, 3) PARTITION BY LIST (k);
CREATE TABLE vfp.p2a PARTITION OF vfp.p2 FOR VALUES IN (2);
CREATE TABLE vfp.p2b PARTITION OF vfp.p2 FOR VALUES IN (3);
CREATE TABLE vfp.pd PARTITION OF vfp.p DEFAULT;
INSERT INTO vfp.p SELECT g, g % 5 FROM generate_series(1, 50) g;
-- A plain table referencing it, MATCH SIMPLE and MATCH FULL.
CREATE TABLE vfp.c (id int PRIMARY KEY, pid int, k int,
                    FOREIGN KEY (pid, k) REFERENCES vfp.p) USING steward;
CREATE TABLE vfp.cf (id int PRIMARY KEY, pid int, k int,
                     FOREIGN KEY (pid, k) REFERENCES vfp.p MATCH FULL) USING steward;
INSERT INTO vfp.c SELECT g, g, g % 5 FROM generate_series(1, 50) g;
INSERT INTO vfp.c VALUES (51, NULL, 1), (52, 999, NULL);
INSERT INTO vfp.cf SELECT g, g, g % 5 FROM generate_series(1, 50) g;
INSERT INTO vfp.cf VALUES (51, NULL, NULL);
-- A partitioned table referencing it, two levels too.
CREATE TABLE vfp.t (id int, pid int, k int, FOREIGN KEY (pid, k) REFERENCES vfp.p)
    PARTITION BY LIST (k);
CREATE TABLE vfp.t1 PARTITION OF vfp.t FOR VALUES IN (1) USING steward;
CREATE TABLE vfp.t2 PARTITION OF vfp.t FOR VALUES IN (2, 3) PARTITION BY LIST (k);
CREATE TABLE vfp.t2a PARTITION OF vfp.t2 FOR VALUES IN (2, 3) USING steward;
CREATE TABLE vfp.td PARTITION OF vfp.t DEFAULT USING steward;
INSERT INTO vfp.t SELECT g, g, g % 5 FROM generate_series(1, 50) g;
RESET ROLE;
-- A referencing table another role owns (the lookup as the owner of vfp.p).
CREATE TABLE vfp.cb (id int PRIMARY KEY, pid int, k int,
                     FOREIGN KEY (pid, k) REFERENCES vfp.p) USING steward;
ALTER TABLE vfp.cb OWNER TO vfp_bob;
GRANT SELECT ON vfp.p TO vfp_bob;
INSERT INTO vfp.cb SELECT g, g, g % 5 FROM generate_series(1, 50) g;

-- The catalog this is about: one row per referenced partition.
SELECT count(*) AS constraint_rows FROM pg_constraint WHERE conrelid = 'vfp.c'::regclass;

-- Correct data: every check passes, each key is checked once.
SELECT "check", passed, detail FROM steward.verify('vfp.c') WHERE "check" LIKE 'foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.cf') WHERE "check" LIKE 'foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.cb') WHERE "check" LIKE 'foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.t') WHERE "check" LIKE '%foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.t2') WHERE "check" LIKE '%foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.t2a') WHERE "check" LIKE '%foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.td') WHERE "check" LIKE '%foreign%';

-- Partitions attached later, on both sides (one referencing partition
-- brings its own equal key, which becomes the inherited one).
SET ROLE vfp_alice;
CREATE TABLE vfp.p6 (id int NOT NULL, k int NOT NULL);
INSERT INTO vfp.p6 VALUES (6, 6), (106, 6);
ALTER TABLE vfp.p ATTACH PARTITION vfp.p6 FOR VALUES IN (6);
INSERT INTO vfp.p VALUES (7, 7), (107, 7);
INSERT INTO vfp.c VALUES (106, 106, 6), (107, 107, 7);
CREATE TABLE vfp.t6 (id int, pid int, k int, FOREIGN KEY (pid, k) REFERENCES vfp.p) USING steward;
INSERT INTO vfp.t6 VALUES (106, 106, 6);
ALTER TABLE vfp.t ATTACH PARTITION vfp.t6 FOR VALUES IN (6);
CREATE TABLE vfp.t7 (id int, pid int, k int) USING steward;
ALTER TABLE vfp.t ATTACH PARTITION vfp.t7 FOR VALUES IN (7);
INSERT INTO vfp.t7 VALUES (107, 107, 7), (7, 7, 7);
RESET ROLE;
SELECT "check", passed, detail FROM steward.verify('vfp.c') WHERE "check" LIKE 'foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.t') WHERE "check" LIKE '%foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.t6') WHERE "check" LIKE '%foreign%';
-- A referencing partition detached keeps the key as its own.
ALTER TABLE vfp.t DETACH PARTITION vfp.t6;
SELECT "check", passed, detail FROM steward.verify('vfp.t6') WHERE "check" LIKE '%foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.t') WHERE "check" LIKE '%foreign%';

-- Still a check: rows without a parent are found, each once.
SET session_replication_role = replica;
INSERT INTO vfp.c VALUES (60, 2, 1), (61, 1, 2);
INSERT INTO vfp.cf VALUES (60, 7, NULL);
INSERT INTO vfp.cb VALUES (60, 2, 1);
INSERT INTO vfp.t VALUES (60, 2, 1), (61, 6, 2), (62, 999, 0);
RESET session_replication_role;
SELECT "check", passed, detail FROM steward.verify('vfp.c') WHERE "check" LIKE 'foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.cf') WHERE "check" LIKE 'foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.cb') WHERE "check" LIKE 'foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.t') WHERE "check" LIKE '%foreign%';
SELECT "check", passed, detail FROM steward.verify('vfp.t2a') WHERE "check" LIKE '%foreign%';

DROP SCHEMA vfp CASCADE;
DROP ROLE vfp_alice;
DROP ROLE vfp_bob;
