-- mach14's finding (mach15): steward.verify() of a partitioned table whose
-- partitions all have one owner checked, for each leaf partition, only its
-- exclusion constraints, steward_hash indexes and the cap of state
-- machines: a state or version rule declared on a leaf partition, or on a
-- partitioned table between the root and the leaf, was not checked over
-- the leaf's rows.  Rows stored past such a rule under
-- session_replication_role = replica (a dump loaded so, a superuser's
-- edit) passed verify(root), which a DBA runs and trusts; verify(leaf)
-- reported them.  Now verify(root) runs, for each leaf, the rules
-- declared below the root, each once.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS r234_owner;
RESET client_min_messages;
CREATE ROLE r234_owner;
GRANT CREATE ON SCHEMA public TO r234_owner;
SELECT steward.create_state_machine('r234_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.grant_state_machine('r234_m', 'r234_owner');

-- root (sequence rule on n) -> mid (state machine on st) -> leaf (version
-- rule on v); other, a leaf right under root, has no rule on st or v.
SET ROLE r234_owner;
CREATE TABLE r234_root (k text, sub int, n int, st text, v bigint) PARTITION BY LIST (k);
CREATE TABLE r234_mid PARTITION OF r234_root FOR VALUES IN ('m') PARTITION BY LIST (sub);
CREATE TABLE r234_leaf PARTITION OF r234_mid FOR VALUES IN (1) USING steward;
CREATE TABLE r234_other PARTITION OF r234_root FOR VALUES IN ('o') USING steward;
SELECT steward.track_sequence('r234_root', 'n');
SELECT steward.attach_state_machine('r234_mid', 'st', 'r234_m');
SELECT steward.track_versions('r234_leaf', 'v');
INSERT INTO r234_root VALUES ('m', 1, 1, 'a', 1), ('o', 1, 1, 'zz', 0);
-- All pass: other's 'zz' and 0 break no rule of its own.
SELECT "check", passed FROM steward.verify('r234_root')
 WHERE "check" !~ '(heap|row_count|checksum)$' ORDER BY "check";
RESET ROLE;

-- Rows past the rules of mid and leaf, stored as sent.
SET session_replication_role = replica;
INSERT INTO r234_leaf VALUES ('m', 1, 2, 'zz', 0);
RESET session_replication_role;

-- verify(root), as the owner and as a superuser: the leaf's rows fail
-- mid's state rule and the leaf's version rule, once each; root's
-- sequence rule is not repeated per partition.
SET ROLE r234_owner;
SELECT "check", passed, detail FROM steward.verify('r234_root')
 WHERE "check" !~ '(heap|row_count|checksum)$' ORDER BY "check";
RESET ROLE;
SELECT "check", passed FROM steward.verify('r234_root')
 WHERE passed IS NOT TRUE ORDER BY "check";
-- verify(mid): mid's state rule over all its rows, the leaf's version rule
-- as the leaf's part.
SELECT "check", passed FROM steward.verify('r234_mid')
 WHERE "check" !~ '(heap|row_count|checksum)$' ORDER BY "check";
-- verify(leaf), as before: every rule that reaches it.
SELECT "check", passed FROM steward.verify('r234_leaf')
 WHERE "check" ~ '^(versions|states|sequence)' ORDER BY "check";

-- The leaf's part refuses a root it is not under (22023) and anyone but
-- the leaf's owner (42501).
SET ROLE r234_owner;
SELECT * FROM steward._verify_partition('r234_leaf', 'r234_other');
RESET ROLE;
SELECT * FROM steward._verify_partition('r234_leaf', 'r234_root');

-- Fixed rows pass.
SET session_replication_role = replica;
UPDATE r234_leaf SET st = 'a', v = 1 WHERE n = 2;
RESET session_replication_role;
SELECT count(*) AS failed FROM steward.verify('r234_root') WHERE passed IS NOT TRUE;

DROP TABLE r234_root;
SELECT steward.drop_state_machine('r234_m');
REVOKE CREATE ON SCHEMA public FROM r234_owner;
DROP ROLE r234_owner;
