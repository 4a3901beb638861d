-- steward.metrics labels are stable and every steward table has its series
-- from the start; hot_rows key texts are cut on character boundaries.
\set SHOW_CONTEXT never
SELECT steward.reset();
CREATE SCHEMA shop;
CREATE TABLE shop.orders (id int PRIMARY KEY, v bigint) USING steward;
SELECT steward.track_versions('shop.orders', 'v');

-- Series exist (zeros) before the first event, schema-qualified, with the
-- database's name.
SELECT metric, labels->>'table' AS "table", labels->>'database' = current_database() AS this_db,
       value, scope
  FROM steward.metrics
 WHERE labels->>'table' = 'shop.orders' ORDER BY metric;

-- The same labels whatever the scraper's search_path.
CREATE TEMP TABLE scrape1 AS SELECT metric, labels, type, scope FROM steward.metrics
 WHERE scope = 'database' AND metric NOT LIKE 'steward_statement%' AND metric <> 'steward_buffer_hit_ratio';
SET search_path = shop, public;
CREATE TEMP TABLE scrape2 AS SELECT metric, labels, type, scope FROM steward.metrics
 WHERE scope = 'database' AND metric NOT LIKE 'steward_statement%' AND metric <> 'steward_buffer_hit_ratio';
RESET search_path;
SELECT (SELECT count(*) FROM scrape1) > 0 AS has_series,
       (SELECT count(*) FROM (SELECT * FROM scrape1 EXCEPT SELECT * FROM scrape2) d) AS only_first,
       (SELECT count(*) FROM (SELECT * FROM scrape2 EXCEPT SELECT * FROM scrape1) d) AS only_second;

-- Every series of this database carries its name; no series repeats.
SELECT count(*) AS without_database FROM steward.metrics
 WHERE scope = 'database' AND NOT labels ? 'database';
SELECT count(*) AS duplicates FROM (
    SELECT metric, labels FROM steward.metrics GROUP BY 1, 2 HAVING count(*) > 1) d;
SELECT DISTINCT scope FROM steward.metrics ORDER BY 1;

-- A conflict is counted under the qualified name.
INSERT INTO shop.orders VALUES (1, NULL);
UPDATE shop.orders SET v = 1 WHERE id = 1;
UPDATE shop.orders SET v = 1 WHERE id = 1;
SELECT value FROM steward.metrics
 WHERE metric = 'steward_version_conflicts_total' AND labels->>'table' = 'shop.orders';

-- Issue 13 input 5: hot_rows key texts cut on a character boundary.  Keys
-- of 40 'é' are 80 bytes; a slot keeps 63, and byte 62 starts an 'é'.
CREATE TABLE shop.hot (k text PRIMARY KEY, n int) USING steward;
INSERT INTO shop.hot VALUES (repeat('é', 40), 0), ('a' || repeat('é', 40), 0);
UPDATE shop.hot SET n = n + 1;
SELECT octet_length(key_text) AS bytes,
       convert_from(convert_to(key_text, 'UTF8'), 'UTF8') = key_text AS valid,
       convert_to(key_text, 'LATIN1') IS NOT NULL AS latin1_ok
  FROM steward.hot_rows WHERE relid = 'shop.hot'::regclass ORDER BY bytes;

-- The fixed-size structures, with nothing evicted or dropped here.
SELECT structure, max_entries > 0 AS sized, entries <= max_entries AS within
  FROM steward.collector ORDER BY structure;

DROP SCHEMA shop CASCADE;
