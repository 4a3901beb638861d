-- steward.verify() and steward.checksum_ranges() of a partitioned table
-- whose partitions have different owners never read the table as a whole
-- as its owner: planning it loads every partition's index expressions and
-- predicates and folds the code in them, so vpo_bob's code ran with
-- vpo_alice's rights (before: the rows below said vpo_alice).  Each
-- partition is read on its own, as its owner; counts, checksums and
-- checksum ranges add up to what reading the whole table gives (compared
-- with a copy), keys, references and rules are checked per partition.  A
-- foreign key to such a table looks each key up partition by partition,
-- each as its owner.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE vpo_alice;
CREATE ROLE vpo_bob;
CREATE SCHEMA vpo AUTHORIZATION vpo_alice;
GRANT USAGE, CREATE ON SCHEMA vpo TO vpo_bob;
-- Who ran vpo_bob's code.
CREATE TABLE vpo.seen (who name, what text);
GRANT INSERT ON vpo.seen TO PUBLIC;
SET ROLE vpo_bob;
CREATE FUNCTION vpo.note(text) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO vpo.seen VALUES (current_user, $1); RETURN true; END $$;
CREATE FUNCTION vpo.konst(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS
  $$ BEGIN PERFORM vpo.note($1); RETURN $1; END $$;
RESET ROLE;

SET ROLE vpo_alice;
CREATE TABLE vpo.ref (id int PRIMARY KEY);
INSERT INTO vpo.ref SELECT g FROM generate_series(0, 9) g;
GRANT SELECT, REFERENCES ON vpo.ref TO vpo_bob;
CREATE TABLE vpo.o (id int, k int, v text, ver bigint, r int REFERENCES vpo.ref, u uuid,
                    PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE vpo.o_a PARTITION OF vpo.o FOR VALUES IN (1) USING steward;
CREATE TABLE vpo.o_m PARTITION OF vpo.o FOR VALUES IN (2, 3) PARTITION BY LIST (k);
CREATE TABLE vpo.o_m2 PARTITION OF vpo.o_m FOR VALUES IN (2) USING steward;
RESET ROLE;
-- vpo_bob's partitions: one under a second level, one default, its
-- columns in another order with a dropped one; index expressions and a
-- partial index predicate with vpo_bob's code the planner folds.
SET ROLE vpo_bob;
CREATE TABLE vpo.o_b3 (id int NOT NULL, k int NOT NULL, v text, ver bigint, r int, u uuid) USING steward;
CREATE INDEX o_b3_x ON vpo.o_b3 ((v || vpo.konst('o_b3 index')));
CREATE TABLE vpo.o_bd (gone int, u uuid, r int, v text, ver bigint, k int NOT NULL, id int NOT NULL) USING steward;
ALTER TABLE vpo.o_bd DROP COLUMN gone;
CREATE INDEX o_bd_x ON vpo.o_bd (id) WHERE v <> vpo.konst('o_bd predicate');
-- No autoanalyze: it evaluates the index expression and the predicate too
-- (as vpo_bob), at moments the checks of vpo.seen below do not choose.
ALTER TABLE vpo.o_b3 SET (autovacuum_enabled = off);
ALTER TABLE vpo.o_bd SET (autovacuum_enabled = off);
RESET ROLE;
ALTER TABLE vpo.o_m ATTACH PARTITION vpo.o_b3 FOR VALUES IN (3);
ALTER TABLE vpo.o ATTACH PARTITION vpo.o_bd DEFAULT;
SELECT steward.track_versions('vpo.o', 'ver');
INSERT INTO vpo.o (id, k, v, r, u) SELECT g, 1 + g % 5, 'v' || g, g % 10, md5(g::text)::uuid
  FROM generate_series(1, 200) g;
INSERT INTO vpo.o (id, k, v, r) VALUES (201, 7, NULL, NULL), (202, 3, '', 1);
-- A referencing table, and a copy of vpo.o read whole (as a superuser,
-- before the sessions below) to compare counts and checksums with.
SET ROLE vpo_alice;
CREATE TABLE vpo.c (id int PRIMARY KEY, oid_ int, ok int,
                    FOREIGN KEY (oid_, ok) REFERENCES vpo.o MATCH FULL) USING steward;
INSERT INTO vpo.c SELECT g, g, 1 + g % 5 FROM generate_series(1, 50) g;
INSERT INTO vpo.c VALUES (51, NULL, NULL);
RESET ROLE;
CREATE TABLE vpo.copy USING steward AS SELECT * FROM vpo.o;
ALTER TABLE vpo.copy OWNER TO vpo_alice;
TRUNCATE vpo.seen;

-- New sessions: index expressions are loaded (and folded) once per session.
\c
SELECT "check", passed, detail FROM steward.verify('vpo.o') ORDER BY 1;
SELECT (SELECT detail FROM steward.verify('vpo.o') WHERE "check" = 'checksum')
     = (SELECT detail FROM steward.verify('vpo.copy') WHERE "check" = 'checksum') AS same_checksum;
SELECT DISTINCT who FROM vpo.seen;
\c
SELECT * FROM steward.checksum_ranges('vpo.o', 'id', 8);
SELECT DISTINCT who FROM vpo.seen;
-- The same as the whole table read at once, whatever the key's type:
-- numbers in their order, text, and a key with no min() (byte order).
SELECT k, (SELECT array_agg(r ORDER BY bucket) FROM steward.checksum_ranges('vpo.o', k, 8) r)
        = (SELECT array_agg(r ORDER BY bucket) FROM steward.checksum_ranges('vpo.copy', k, 8) r) AS same
  FROM unnest(ARRAY['id', 'k', 'v', 'ver', 'r', 'u']::name[]) k;
SELECT DISTINCT who FROM vpo.seen;
\c
SELECT "check", passed, detail FROM steward.verify('vpo.c') WHERE "check" LIKE 'foreign%';
SELECT DISTINCT who FROM vpo.seen;
-- As vpo_alice herself: the same, vpo_bob's code runs as vpo_bob.
\c
SET ROLE vpo_alice;
SELECT "check", passed FROM steward.verify('vpo.o') WHERE "check" IN ('row_count', 'checksum') ORDER BY 1;
RESET ROLE;
SELECT DISTINCT who FROM vpo.seen;

-- Still checks: broken rows are found in the partition they are in.
SET session_replication_role = replica;
INSERT INTO vpo.o_b3 VALUES (300, 3, 'x', 0, 99);
INSERT INTO vpo.c VALUES (300, 301, 3), (301, 302, 7), (302, 5, NULL);
RESET session_replication_role;
SELECT "check", passed, detail FROM steward.verify('vpo.o') WHERE passed IS NOT true ORDER BY 1;
SELECT "check", passed, detail FROM steward.verify('vpo.c') WHERE "check" LIKE 'foreign%';
DELETE FROM vpo.c WHERE id >= 300;
DELETE FROM vpo.o_b3 WHERE id = 300;

-- A partition's owner that may not read it: that key is not checked.
REVOKE SELECT ON vpo.o_b3 FROM vpo_bob;
SELECT "check", passed, detail FROM steward.verify('vpo.c') WHERE "check" LIKE 'foreign%';
GRANT SELECT ON vpo.o_b3 TO vpo_bob;

-- The bodies refuse anyone but the partition's owner, and a root that is
-- not the partition's.
SET ROLE vpo_alice;
SELECT * FROM steward._verify_rows('vpo.o_b3', 'vpo.o');
SELECT * FROM steward._checksum_ranges_rows('vpo.o_b3', 'vpo.o', 'id', 4);
RESET ROLE;
SET ROLE vpo_bob;
SELECT * FROM steward._verify_rows('vpo.o_b3', 'vpo.c');
RESET ROLE;

-- A partitioned partition another role owns: its partition key, with
-- vpo_bob's code the key's loading folds, is never loaded as vpo_alice
-- (her leaf partition under it is read on its own, as her).
SET ROLE vpo_alice;
CREATE TABLE vpo.q (id int, k int) PARTITION BY LIST (k);
CREATE TABLE vpo.q1 PARTITION OF vpo.q FOR VALUES IN (1) USING steward;
RESET ROLE;
SET ROLE vpo_bob;
CREATE FUNCTION vpo.kint(int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS
  $$ BEGIN PERFORM vpo.note('q2 partition key'); RETURN $1; END $$;
CREATE TABLE vpo.q2 (id int, k int) PARTITION BY LIST ((k + vpo.kint(0)));
RESET ROLE;
ALTER TABLE vpo.q ATTACH PARTITION vpo.q2 FOR VALUES IN (2);
CREATE TABLE vpo.q2a (id int, k int) USING steward;
ALTER TABLE vpo.q2a OWNER TO vpo_alice;
ALTER TABLE vpo.q2 ATTACH PARTITION vpo.q2a FOR VALUES IN (2);
INSERT INTO vpo.q VALUES (1, 1), (2, 2);
TRUNCATE vpo.seen;
\c
SELECT "check", passed, detail FROM steward.verify('vpo.q') ORDER BY 1;
SELECT * FROM steward.checksum_ranges('vpo.q', 'id', 2);
SELECT DISTINCT who, what FROM vpo.seen;

-- Inheritance: a table's checks read ONLY it.  Its keys do not cover its
-- children's rows (before, a child's row with a key of the parent's was
-- a "duplicated key" of the parent), and a child another role owns was
-- planned as the parent's owner, running its owner's index expression.
SET ROLE vpo_alice;
CREATE TABLE vpo.ip (id int PRIMARY KEY, v text) USING steward;
INSERT INTO vpo.ip VALUES (1, 'a'), (2, 'b');
RESET ROLE;
CREATE TABLE vpo.ic (extra int) INHERITS (vpo.ip);
ALTER TABLE vpo.ic OWNER TO vpo_bob;
SET ROLE vpo_bob;
CREATE INDEX ic_x ON vpo.ic ((v || vpo.konst('ic index')));
INSERT INTO vpo.ic VALUES (1, 'dup', 0);
RESET ROLE;
TRUNCATE vpo.seen;
\c
SELECT "check", passed, detail FROM steward.verify('vpo.ip') ORDER BY 1;
SELECT * FROM steward.checksum_ranges('vpo.ip', 'id', 2);
SELECT DISTINCT who, what FROM vpo.seen;

-- Once every partition has one owner, the table is read whole again
-- (one row per key of the partitioned table).
ALTER TABLE vpo.o_b3 OWNER TO vpo_alice;
ALTER TABLE vpo.o_bd OWNER TO vpo_alice;
SELECT "check", passed, detail FROM steward.verify('vpo.o') WHERE "check" NOT LIKE 'partition%' ORDER BY 1;
SELECT (SELECT detail FROM steward.verify('vpo.o') WHERE "check" = 'checksum')
     = (SELECT detail FROM steward.verify('vpo.copy') WHERE "check" = 'checksum') AS same_checksum;

DROP SCHEMA vpo CASCADE;
DROP ROLE vpo_alice;
DROP ROLE vpo_bob;
