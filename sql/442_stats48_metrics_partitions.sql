-- The per-table series of steward.metrics as a DBA charting them expects
-- (newcomer48 N14): user tables only -- pg_steward's own steward table
-- steward.migration_runs has none -- and one series per partition, as
-- pg_stat_user_tables and postgres_exporter count, each labelled with its
-- partitioned table at the top of its tree as "parent" (a table that is no
-- partition: itself), so sum by (parent) gives the partitioned table.
-- Before, steward.migration_runs had its series and there was no
-- "parent" label.
\set SHOW_CONTEXT never
CREATE SCHEMA s442;
CREATE TABLE s442.orders (region text NOT NULL, id int NOT NULL, version bigint,
                          PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE s442.orders_eu PARTITION OF s442.orders FOR VALUES IN ('eu') USING steward;
CREATE TABLE s442.orders_am PARTITION OF s442.orders FOR VALUES IN ('us', 'ca')
    PARTITION BY LIST (region);
CREATE TABLE s442.orders_us PARTITION OF s442.orders_am FOR VALUES IN ('us') USING steward;
CREATE TABLE s442.orders_ca PARTITION OF s442.orders_am FOR VALUES IN ('ca') USING steward;
CREATE TABLE s442."Plain" (id int PRIMARY KEY, version bigint, st text NOT NULL DEFAULT 'a')
    USING steward;
SELECT steward.create_state_machine('s442_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.attach_state_machine('s442."Plain"', 'st', 's442_m');
SELECT steward.track_versions('s442.orders', 'version');
SELECT steward.track_versions('s442."Plain"', 'version');
INSERT INTO s442.orders (region, id) VALUES ('eu', 1), ('us', 2), ('ca', 3);
INSERT INTO s442."Plain" (id) VALUES (1);
-- one stale update in each leaf, two in "Plain"
UPDATE s442.orders SET version = 0 WHERE id = 1;
UPDATE s442.orders SET version = 0 WHERE id = 2;
UPDATE s442.orders SET version = 0 WHERE id = 3;
UPDATE s442."Plain" SET version = 0 WHERE id = 1;
UPDATE s442."Plain" SET version = 0 WHERE id = 1;

-- one series per leaf, with its parent
SELECT labels->>'table' AS "table", labels->>'parent' AS parent, value
  FROM steward.metrics
 WHERE metric = 'steward_version_conflicts_total' AND labels->>'table' LIKE 's442.%'
 ORDER BY 1;
-- sum by (parent), as a Prometheus query would
SELECT labels->>'parent' AS parent, sum(value) AS conflicts, count(*) AS series
  FROM steward.metrics
 WHERE metric = 'steward_version_conflicts_total' AND labels->>'parent' LIKE 's442.%'
 GROUP BY 1 ORDER BY 1;
-- every per-table metric carries the label
SELECT metric, count(*) FILTER (WHERE labels ? 'parent') AS with_parent, count(*) AS series
  FROM steward.metrics
 WHERE metric IN ('steward_version_conflicts_total', 'steward_sequence_rejects_total',
                  'steward_illegal_transitions_total', 'steward_state_transitions_total')
   AND labels->>'table' LIKE 's442.%'
 GROUP BY 1 ORDER BY 1;
-- pg_steward's own tables have no series (migration_runs is a steward
-- table with a state machine)
SELECT count(*) AS own_series
  FROM steward.metrics
 WHERE labels->>'table' LIKE 'steward.%' OR labels->>'parent' LIKE 'steward.%';
SELECT count(*) AS own_steward_tables
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_am am ON am.oid = c.relam
 WHERE am.amname = 'steward' AND c.relnamespace = 'steward'::regnamespace;

DROP SCHEMA s442 CASCADE;
SELECT steward.drop_state_machine('s442_m');
