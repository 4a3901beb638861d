-- rules20 item 5: steward._state_rule_leaves was SQL of its own and the
-- library wrote the same query out again (STEWARD_SQL_STATE_RULE_LEAVES)
-- for a database still at 0.1's SQL; now the function runs the library's
-- text.  This pins the result against the former SQL definition (kept here
-- as pg_temp.old_leaves) on every pair of tables of a tree with a nearer
-- rule, a partitioned partition, a plain table, no rule and NULL
-- arguments, under a search_path whose first schema shadows what the
-- query calls.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE FUNCTION pg_temp.old_leaves(tbl regclass, rule_rel regclass, col name)
RETURNS oid[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN count(*) > 0 AND count(*) FILTER (WHERE g.governed) = 0 THEN NULL
                ELSE coalesce(array_agg(g.relid) FILTER (WHERE g.governed), '{}') END
      FROM (SELECT t.relid::oid AS relid,
                   (SELECT cr.relid
                      FROM (SELECT t.relid, 0 UNION ALL
                            SELECT x.relid, x.depth FROM steward._partition_ancestors(t.relid) x) a (relid, n)
                      JOIN steward.column_rules cr
                        ON cr.relid = a.relid AND cr.attname = col AND cr.kind = 'state'
                     ORDER BY a.n LIMIT 1) IS NOT DISTINCT FROM rule_rel AS governed
              FROM pg_partition_tree(tbl) t
             WHERE t.isleaf
             UNION ALL
            SELECT c.oid, true FROM pg_class c
             WHERE c.oid = tbl AND c.relkind = 'r' AND NOT c.relispartition) g
$$;

SELECT steward.create_state_machine('r20l_outer', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.create_state_machine('r20l_inner', ARRAY['a', 'c'], ARRAY['a'], ARRAY['a->c']);
CREATE TABLE r20l_root (region text, sub int, st text NOT NULL DEFAULT 'a') PARTITION BY LIST (region);
CREATE TABLE r20l_own PARTITION OF r20l_root FOR VALUES IN ('own') USING steward;
CREATE TABLE r20l_plainpart PARTITION OF r20l_root FOR VALUES IN ('plain') USING steward;
CREATE TABLE r20l_mid PARTITION OF r20l_root FOR VALUES IN ('mid') PARTITION BY LIST (sub);
CREATE TABLE r20l_mid_1 PARTITION OF r20l_mid FOR VALUES IN (1) USING steward;
CREATE TABLE r20l_mid_2 PARTITION OF r20l_mid FOR VALUES IN (2) USING steward;
CREATE TABLE r20l_empty (region text, st text) PARTITION BY LIST (region);
CREATE TABLE r20l_alone (st text NOT NULL DEFAULT 'a') USING steward;
CREATE TABLE r20l_norule (st text) USING steward;
SELECT steward.attach_state_machine('r20l_root', 'st', 'r20l_outer');
SELECT steward.attach_state_machine('r20l_own', 'st', 'r20l_inner');
SELECT steward.attach_state_machine('r20l_mid_2', 'st', 'r20l_inner');
SELECT steward.attach_state_machine('r20l_alone', 'st', 'r20l_outer');

-- What the rules govern, readably.
SELECT 'r20l_root' AS tbl, r.rel AS rule_rel,
       ARRAY(SELECT x::regclass::text FROM unnest(steward._state_rule_leaves('r20l_root', r.rel::regclass, 'st')) x ORDER BY 1) AS leaves
  FROM unnest(ARRAY['r20l_root', 'r20l_own', 'r20l_mid_2']) r (rel) ORDER BY 2;
SELECT steward._state_rule_leaves('r20l_own', 'r20l_root', 'st') IS NULL AS own_not_root,
       steward._state_rule_leaves('r20l_alone', 'r20l_alone', 'st')::regclass[]::text[] AS alone,
       steward._state_rule_leaves('r20l_empty', 'r20l_root', 'st') AS no_leaves,
       steward._state_rule_leaves(NULL, 'r20l_root', 'st') AS null_tbl,
       steward._state_rule_leaves('r20l_root', NULL, 'st') IS NULL AS null_rule,
       steward._state_rule_leaves('r20l_norule', NULL, 'st')::regclass[]::text[] AS norule_null_rule,
       steward._state_rule_leaves('r20l_root', 'r20l_root', NULL) IS NULL AS null_col;

-- A schema listed first that shadows what the query calls.
CREATE SCHEMA r20l_evil;
CREATE FUNCTION r20l_evil.count(anyelement) RETURNS bigint LANGUAGE sql AS 'SELECT 0::bigint';
CREATE FUNCTION r20l_evil.pg_partition_tree(regclass)
  RETURNS TABLE (relid regclass, parentrelid regclass, isleaf boolean, level integer)
  LANGUAGE sql AS 'SELECT NULL::regclass, NULL::regclass, true, 0';
SET search_path = r20l_evil, public;

-- The same as the former SQL on every pair, and each column name.
WITH rels AS (SELECT c.oid::regclass AS rel FROM pg_class c
               WHERE c.relname LIKE 'r20l\_%' AND c.relkind IN ('r', 'p')
              UNION ALL SELECT NULL)
SELECT count(*) AS pairs,
       count(*) FILTER (WHERE steward._state_rule_leaves(a.rel, b.rel, col)
                              IS DISTINCT FROM pg_temp.old_leaves(a.rel, b.rel, col)) AS differ
  FROM rels a, rels b, unnest(ARRAY['st', 'region', NULL]::name[]) col;
RESET search_path;

-- verify() names the machine of each leaf (mach16), and detach of a
-- partition's own machine hands its rows to the nearest ancestor's.
INSERT INTO r20l_root VALUES ('own', 0, 'a'), ('mid', 2, 'a');
UPDATE r20l_root SET st = 'c';
SELECT "check", passed, detail FROM steward.verify('r20l_root') WHERE "check" LIKE '%states%' ORDER BY 1;
SELECT steward.detach_state_machine('r20l_mid_2', 'st');

DROP TABLE r20l_root, r20l_empty, r20l_alone, r20l_norule;
DROP SCHEMA r20l_evil CASCADE;
SELECT steward.drop_state_machine('r20l_outer');
SELECT steward.drop_state_machine('r20l_inner');
