-- vers9 (closing38 item 3, review21): a refused ATTACH PARTITION of a
-- sub-partitioned table storing rows named one column's fix per try (the
-- next showed only at the next ATTACH): one error now names every fix.
-- A refused CREATE TABLE ... PARTITION OF's HINT gave a command without
-- the storage parameters and without saying it drops the command's other
-- column options and constraints: it repeats the storage parameters and
-- names what it leaves out.
SET client_min_messages = warning;
SET default_table_access_method = steward;
CREATE TABLE r202_t (id int, a int, version bigint NOT NULL DEFAULT 1) PARTITION BY LIST (id);
CREATE TABLE r202_t0 PARTITION OF r202_t FOR VALUES IN (0);
SELECT steward.track_versions('r202_t', 'version');

-- 1. Two levels: the attached table and one of its leaves differ.
CREATE TABLE r202_mid (id int, a int, version bigint NOT NULL) PARTITION BY LIST (id);
CREATE TABLE r202_leaf PARTITION OF r202_mid FOR VALUES IN (1);
CREATE TABLE r202_zero PARTITION OF r202_mid FOR VALUES IN (2);
ALTER TABLE r202_zero ALTER version SET DEFAULT 0;
CREATE TABLE r202_ok PARTITION OF r202_mid FOR VALUES IN (3);
ALTER TABLE r202_ok ALTER version SET DEFAULT 1;
INSERT INTO r202_mid VALUES (1, 0, 1), (2, 0, 1), (3, 0, 1);
ALTER TABLE r202_t ATTACH PARTITION r202_mid FOR VALUES IN (1, 2, 3);
-- The HINT's fixes, then the ATTACH passes and rows get versions.
ALTER TABLE public.r202_mid ALTER COLUMN version SET DEFAULT 1;
ALTER TABLE public.r202_zero ALTER COLUMN version SET DEFAULT 1;
ALTER TABLE r202_t ATTACH PARTITION r202_mid FOR VALUES IN (1, 2, 3);
INSERT INTO r202_t (id, a) VALUES (1, 1), (2, 2), (3, 3);
SELECT tableoid::regclass, id, a, version FROM r202_t WHERE a > 0 ORDER BY id;

-- 2. One column: the single fix, as before.
CREATE TABLE r202_one (id int, a int, version bigint NOT NULL DEFAULT 0);
INSERT INTO r202_one VALUES (4, 0, 1);
ALTER TABLE r202_t ATTACH PARTITION r202_one FOR VALUES IN (4);

-- 2b. Twelve leaves declared otherwise: the first ten fixes and the count.
CREATE TABLE r202_many (id int, a int, version bigint NOT NULL DEFAULT 1) PARTITION BY LIST (id);
SELECT format('CREATE TABLE r202_many%s PARTITION OF r202_many FOR VALUES IN (%s)', i, 100 + i)
    FROM generate_series(1, 12) i \gexec
SELECT format('ALTER TABLE r202_many%s ALTER version SET DEFAULT 0', i)
    FROM generate_series(1, 12) i \gexec
INSERT INTO r202_many SELECT 100 + i, 0, 1 FROM generate_series(1, 12) i;
ALTER TABLE r202_t ATTACH PARTITION r202_many FOR VALUES IN (101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112);
DROP TABLE r202_many;

-- 3. An empty sub-partitioned table (a restore's): kept with a WARNING
--    per column, as before.
SET client_min_messages = warning;
CREATE TABLE r202_emp (id int, a int, version bigint NOT NULL) PARTITION BY LIST (id);
CREATE TABLE r202_emp1 PARTITION OF r202_emp FOR VALUES IN (5);
CREATE TABLE r202_emp2 PARTITION OF r202_emp FOR VALUES IN (6);
ALTER TABLE r202_emp2 ALTER version SET DEFAULT 0;
ALTER TABLE r202_t ATTACH PARTITION r202_emp FOR VALUES IN (5, 6);

-- 4. PARTITION OF with storage parameters, another column's options and a
--    constraint: the HINT repeats the parameters and names the rest.
CREATE TABLE r202_t7 PARTITION OF r202_t (version DEFAULT 0, a DEFAULT 7 NOT NULL,
    CONSTRAINT r202_a_pos CHECK (a > 0)) FOR VALUES IN (7) WITH (fillfactor = 70);
-- The HINT's command, with what it names added, passes.
CREATE TABLE public.r202_t7 PARTITION OF public.r202_t (version DEFAULT 1, a DEFAULT 7 NOT NULL,
    CONSTRAINT r202_a_pos CHECK (a > 0)) FOR VALUES IN (7) USING steward WITH (fillfactor=70);
SELECT reloptions FROM pg_class WHERE oid = 'r202_t7'::regclass;
-- Nothing beyond the parent: no list.
CREATE TABLE r202_t8 PARTITION OF r202_t (version DEFAULT 0) FOR VALUES IN (8) PARTITION BY RANGE (a);
DROP TABLE r202_t, r202_one;
RESET default_table_access_method;
