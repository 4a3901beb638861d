-- A backfill's updates are HOT when the table's pages have room for the
-- new versions (issue 18, gov10): docs/migrations.md's recommendation, a table
-- rewritten at fillfactor 40 before its migration, keeps every row on its
-- page and adds no index entry, while the same table at fillfactor 100
-- (full pages) moves every row to a new page and doubles the table and
-- its primary key.  Block numbers and relation sizes only: deterministic.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;   -- when run alone
RESET client_min_messages;
\set SHOW_CONTEXT never
SET steward.governor = off;

CREATE TABLE invoices (invoice_id bigint PRIMARY KEY, customer_id bigint NOT NULL,
                       total_amount numeric(12,2) NOT NULL) USING steward;
CREATE TABLE r268_full (invoice_id bigint PRIMARY KEY, customer_id bigint NOT NULL,
                        total_amount numeric(12,2) NOT NULL) USING steward;
INSERT INTO invoices SELECT g, g % 100, g / 100.0 FROM generate_series(1, 20000) g;
INSERT INTO r268_full SELECT g, g % 100, g / 100.0 FROM generate_series(1, 20000) g;

-- docs/migrations.md: leave the room before the migration.
ALTER TABLE invoices SET (fillfactor = 40);   -- new pages keep 60% free
VACUUM FULL invoices;                          -- rewrites the table at that fillfactor
VACUUM r268_full;

CREATE TEMP TABLE r268_before AS
    SELECT 'invoices' AS t, invoice_id, (ctid::text::point)[0] AS blk FROM invoices
    UNION ALL SELECT 'r268_full', invoice_id, (ctid::text::point)[0] FROM r268_full;
CREATE TEMP TABLE r268_size AS
    SELECT c.relname, pg_relation_size(c.oid) AS heap, pg_relation_size(i.indexrelid) AS pkey
      FROM pg_class c JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
     WHERE c.relname IN ('invoices', 'r268_full');

SELECT steward.migration_start('r268_m', $$[
  {"alter_column": {"table": "invoices", "column": "total_amount", "name": "total_cents",
                    "type": "bigint", "up": "(total_amount * 100)::bigint",
                    "down": "total_cents / 100.0"}},
  {"alter_column": {"table": "r268_full", "column": "total_amount", "name": "total_cents",
                    "type": "bigint", "up": "(total_amount * 100)::bigint",
                    "down": "total_cents / 100.0"}}]$$);
CALL steward.migration_backfill('r268_m', 5000);
SELECT phase, rows_backfilled FROM steward.migration_runs WHERE name = 'r268_m';

-- Every row filled; at fillfactor 40 every row is still on its block
-- (HOT); at 100 all but the last pages' rows moved.
SELECT t, count(*) AS rows, count(*) FILTER (WHERE filled) AS filled,
       count(*) FILTER (WHERE same) = count(*) AS all_on_their_block,
       count(*) FILTER (WHERE same) < count(*) / 100 AS nearly_all_moved
  FROM (SELECT 'invoices' AS t, x.total_cents = x.total_amount * 100 AS filled,
               (x.ctid::text::point)[0] = b.blk AS same
          FROM invoices x JOIN r268_before b ON b.t = 'invoices' AND b.invoice_id = x.invoice_id
        UNION ALL
        SELECT 'r268_full', x.total_cents = x.total_amount * 100, (x.ctid::text::point)[0] = b.blk
          FROM r268_full x JOIN r268_before b ON b.t = 'r268_full' AND b.invoice_id = x.invoice_id) r
 GROUP BY t ORDER BY t;

-- The table and its primary key did not grow at fillfactor 40; at 100
-- both nearly doubled.
SELECT s.relname, pg_relation_size(c.oid) = s.heap AS heap_same,
       round(pg_relation_size(c.oid)::numeric / s.heap, 1) >= 1.8 AS heap_doubled,
       pg_relation_size(i.indexrelid) = s.pkey AS pkey_same,
       round(pg_relation_size(i.indexrelid)::numeric / s.pkey, 1) >= 1.8 AS pkey_doubled
  FROM r268_size s JOIN pg_class c ON c.relname = s.relname
  JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
 ORDER BY 1;

SELECT steward.migration_rollback('r268_m');
DROP TABLE invoices, r268_full;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r268_m');
\i test/sql/drop_migration_records.sql
