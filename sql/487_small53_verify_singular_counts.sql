-- steward.verify() counted one violation in the plural: "1 duplicated
-- keys", "1 conflicting keys", "1 conflicting pairs of rows", "1 problems
-- (see steward.verify_index)".  Each count now reads in the singular for
-- one and in the plural otherwise (steward._relayout_count).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
CREATE EXTENSION IF NOT EXISTS btree_gist;
RESET client_min_messages;
SET steward.governor = off;
CREATE TABLE v487 (id int PRIMARY KEY, email text, room int, during tstzrange) USING steward;
ALTER TABLE v487 ADD CONSTRAINT v487_overlap EXCLUDE USING gist (room WITH =, during WITH &&);
CREATE UNIQUE INDEX v487_email ON v487 (email);
INSERT INTO v487 VALUES (1, 'a', 1, '[2026-01-01,2026-01-02)'), (2, 'b', 2, '[2026-01-01,2026-01-02)');
-- One violation of each: rows slipped in while the indexes were off.
UPDATE pg_class SET relhasindex = false WHERE oid = 'v487'::regclass;
INSERT INTO v487 VALUES (3, 'a', 1, '[2026-01-01 12:00,2026-01-03)');
UPDATE pg_class SET relhasindex = true WHERE oid = 'v487'::regclass;
SELECT "check", passed, detail FROM steward.verify('v487')
 WHERE "check" NOT IN ('checksum', 'heap', 'row_count') ORDER BY 1;
-- Two of each: the plural.
UPDATE pg_class SET relhasindex = false WHERE oid = 'v487'::regclass;
INSERT INTO v487 VALUES (4, 'b', 2, '[2026-01-01 12:00,2026-01-03)');
UPDATE pg_class SET relhasindex = true WHERE oid = 'v487'::regclass;
SELECT "check", passed, detail FROM steward.verify('v487')
 WHERE "check" NOT IN ('checksum', 'heap', 'row_count') ORDER BY 1;
-- An exclusion constraint of steward_hash counts conflicting keys.
CREATE TABLE v487h (id int, sku text, CONSTRAINT v487h_sku EXCLUDE USING steward_hash (sku WITH =)) USING steward;
INSERT INTO v487h VALUES (1, 'x');
UPDATE pg_class SET relhasindex = false WHERE oid = 'v487h'::regclass;
INSERT INTO v487h VALUES (2, 'x');
UPDATE pg_class SET relhasindex = true WHERE oid = 'v487h'::regclass;
SELECT "check", passed, detail FROM steward.verify('v487h')
 WHERE "check" LIKE 'exclusion%' ORDER BY 1;
DROP TABLE v487, v487h;
