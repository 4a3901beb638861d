-- codereview41 K2: steward.verify(root) fails a rule declared below root
-- (on a partitioned table between root and a leaf, or on the leaf itself)
-- whose leaf is not a steward table, as verify() of the table the rule is
-- declared on does: _verify_partition(leaf, root) runs
-- _verify_rule_storage(leaf, root), which reads the rules declared below
-- root.  A rule of root itself is still reported once (by root's part).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE r256 (id int, v bigint, s bigint) PARTITION BY RANGE (id);
CREATE TABLE r256_m PARTITION OF r256 FOR VALUES FROM (0) TO (100) PARTITION BY RANGE (id);
CREATE TABLE r256_l PARTITION OF r256_m FOR VALUES FROM (0) TO (100);
CREATE TABLE r256_k PARTITION OF r256 FOR VALUES FROM (100) TO (200);
INSERT INTO r256 VALUES (1, 1, 1), (101, 1, 1);
SET session_replication_role = replica;
-- On the partitioned table in between, and on a leaf itself.
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r256_m', 'v', 'version');
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r256_k', 's', 'sequence');
RESET session_replication_role;
SELECT "check", passed, detail FROM steward.verify('r256_m') WHERE NOT passed ORDER BY 1;
SELECT "check", passed, detail FROM steward.verify('r256_k') WHERE NOT passed ORDER BY 1;
SELECT "check", passed, detail FROM steward.verify('r256') WHERE NOT passed ORDER BY 1;
-- Partitions of different owners: each leaf is checked whole, the same rows.
CREATE ROLE r256_owner;
ALTER TABLE r256_k OWNER TO r256_owner;
SELECT "check", passed, detail FROM steward.verify('r256') WHERE NOT passed ORDER BY 1;
ALTER TABLE r256_k OWNER TO CURRENT_USER;
-- A rule of the root instead of the leaf's: reported by the root's own
-- part (naming the first such partition), not again by the leaf's.
SET session_replication_role = replica;
DELETE FROM steward.column_rules WHERE relid = 'r256_k'::regclass;
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('r256', 's', 'sequence');
RESET session_replication_role;
SELECT "check", passed, detail FROM steward.verify('r256') WHERE NOT passed ORDER BY 1;
-- The details' statements, run as written, clear them.
DO $$
DECLARE fix text;
BEGIN
    FOR fix IN SELECT DISTINCT substring(detail FROM 'ALTER TABLE .* SET ACCESS METHOD steward')
                 FROM steward.verify('r256') WHERE "check" LIKE '%access method' LOOP
        EXECUTE fix;
    END LOOP;
END $$;
SELECT count(*) AS failed FROM steward.verify('r256') WHERE NOT passed;
-- The parts stay refused to anyone but the table's owner.
SET ROLE r256_owner;
SELECT * FROM steward._verify_rule_storage('r256_l', 'r256');
RESET ROLE;
SELECT * FROM steward._verify_rule_storage('r256_l', 'r256_k');
DROP TABLE r256;
DROP ROLE r256_owner;
