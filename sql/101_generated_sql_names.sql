-- The statements pg_steward generates around a user's table work whatever
-- the table is called (review10 F2).  Two FROM items of one query level
-- may not share a name, and a table without an alias is named by its
-- relation name: the column backfill's UPDATE ... FROM b met a table named
-- b (42712 table name "b" specified more than once), in any schema.  Every
-- FROM item of a generated statement now has an alias of its own; here
-- tables are named like each alias and CTE of those statements (b, u, t,
-- s, n, i, o, j, g, v, d, excluded, batch, moved) and migrated to the end.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE SCHEMA gs;
SELECT format('CREATE TABLE gs.%I (id int PRIMARY KEY, v int, note text) USING steward', n)
  FROM unnest(ARRAY['b', 'u', 't', 's', 'n', 'i', 'o', 'j', 'g', 'v', 'd', 'excluded',
                    'batch', 'moved']) n \gexec
SELECT format('INSERT INTO gs.%I SELECT g, g, ''n'' || g FROM generate_series(1, 50) g', c.relname)
  FROM pg_class c WHERE c.relnamespace = 'gs'::regnamespace AND c.relkind = 'r' ORDER BY c.relname \gexec
CREATE TABLE public.b (id int PRIMARY KEY, v int) USING steward;
INSERT INTO public.b SELECT g, g FROM generate_series(1, 50) g;

-- Column migrations: an added column and a changed type, backfilled in
-- batches of 7 (first and next statements), validated, completed and
-- cleaned up.
SELECT format($f$SELECT steward.migration_start(%L, %L)$f$, 'gs_' || c.relname,
              jsonb_build_array(
                jsonb_build_object('add_column', jsonb_build_object('table', 'gs.' || quote_ident(c.relname),
                                   'column', 'w', 'type', 'int', 'up', 'v * 2')),
                jsonb_build_object('alter_column', jsonb_build_object('table', 'gs.' || quote_ident(c.relname),
                                   'column', 'v', 'type', 'bigint'))))
  FROM pg_class c WHERE c.relnamespace = 'gs'::regnamespace AND c.relkind = 'r' ORDER BY c.relname \gexec
SELECT steward.migration_start('pub_b', $$[{"add_column": {"table": "b", "column": "w", "type": "int", "up": "v * 3"}}]$$);
SELECT format('CALL steward.migration_backfill(%L, 7)', name) FROM steward.migrations
 WHERE name LIKE 'gs\_%' OR name = 'pub_b' ORDER BY name \gexec
SELECT name, result FROM steward.migrations WHERE name LIKE 'gs\_%' OR name = 'pub_b' ORDER BY name;
SELECT m.name, bool_and(v.passed) AS passed
  FROM steward.migrations m, LATERAL steward.migration_validate(m.name) v
 WHERE m.name LIKE 'gs\_%' OR m.name = 'pub_b' GROUP BY m.name ORDER BY m.name;
SELECT format('SELECT steward.migration_complete(%L)', name) FROM steward.migrations
 WHERE name LIKE 'gs\_%' OR name = 'pub_b' ORDER BY name \gexec
SELECT format('SELECT steward.migration_cleanup(%L)', name) FROM steward.migrations
 WHERE name LIKE 'gs\_%' OR name = 'pub_b' ORDER BY name \gexec
-- Every row has w = 2v (3v for public.b) and v became bigint.
SELECT format('SELECT %L AS t, count(*) FILTER (WHERE w = v * 2) AS ok, count(*), pg_typeof(min(v)) FROM gs.%I',
              c.relname, c.relname)
  FROM pg_class c WHERE c.relnamespace = 'gs'::regnamespace AND c.relkind = 'r' ORDER BY c.relname \gexec
SELECT count(*) FILTER (WHERE w = v * 3) AS ok, count(*) FROM public.b;

-- Relayouts of tables named like the aliases of the relayout statements
-- (batch, compare, and the triggers' apply statements, an upsert with
-- EXCLUDED, whose target is the other layout, never a table named
-- excluded): writes in both directions around the cutover, then a
-- rollback and a cleanup.
SELECT steward.migration_start('re_excluded', $$[{"relayout": {"table": "gs.excluded", "partition_by": "HASH (id)", "partitions": 2}}]$$);
SELECT steward.migration_start('re_b', $$[{"relayout": {"table": "gs.b", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CALL steward.migration_backfill('re_excluded', 7);
CALL steward.migration_backfill('re_b', 7);
UPDATE gs.excluded SET note = 'before' WHERE id <= 3;
UPDATE gs.b SET note = 'before' WHERE id <= 3;
SELECT m.name, bool_and(v.passed) AS passed
  FROM unnest(ARRAY['re_excluded', 're_b']) m(name), LATERAL steward.migration_validate(m.name) v
 GROUP BY m.name ORDER BY m.name;
SELECT steward.migration_complete('re_excluded');
SELECT steward.migration_complete('re_b');
UPDATE gs.excluded SET note = 'after' WHERE id = 1;
INSERT INTO gs.excluded (id, v, note, w) VALUES (100, 100, 'new', 200);
DELETE FROM gs.excluded WHERE id = 2;
UPDATE gs.b SET note = 'after' WHERE id = 1;
SELECT steward.migration_rollback('re_excluded');
SELECT steward.migration_cleanup('re_b');
SELECT id, v, note, w FROM gs.excluded WHERE id IN (1, 2, 3, 100) ORDER BY id;
SELECT id, v, note, w FROM gs.b WHERE id IN (1, 2, 3) ORDER BY id;
SELECT relname, relkind FROM pg_class WHERE relnamespace = 'gs'::regnamespace
   AND relname IN ('b', 'excluded') ORDER BY 1;

DROP SCHEMA gs CASCADE;
DROP TABLE public.b;
-- The suite's later tests count the migrations: leave no record behind.
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'gs\_%' OR name IN ('pub_b', 're_b', 're_excluded');
\i test/sql/drop_migration_records.sql
