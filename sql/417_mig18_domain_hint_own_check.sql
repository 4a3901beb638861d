-- The HINT of start's refusal of a domain with constraints on a table
-- holding rows (382, mig17) gave the step with the base type and the
-- domain's CHECKs as "check", dropping the step's own "check", and its
-- "up", "default" and other keys too: the step it printed was not the
-- equivalent one (closing46 Noticed 5).  Now the step's own check is
-- and'ed with the domain's, NOT NULL kept, its other keys follow; the
-- HINT's step, run as printed, starts without a rewrite, and the merged
-- check holds for both shapes' writes.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE DOMAIN pos417 AS integer CHECK (VALUE > 0);
CREATE DOMAIN small417 AS pos417 CHECK (VALUE < 100);
CREATE TABLE d417 (id int PRIMARY KEY, q int) USING steward;
INSERT INTO d417 SELECT g, g FROM generate_series(1, 20) g;
CREATE TEMP TABLE before417 AS SELECT relfilenode FROM pg_class WHERE oid = 'd417'::regclass;

-- The HINT of a refused step, and the step it gives.
CREATE FUNCTION hint417(mig text, steps text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    PERFORM steward.migration_start(mig, steps::jsonb);
    RETURN 'started';
EXCEPTION WHEN feature_not_supported THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN h;
END $$;
CREATE FUNCTION step417(hint text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_array(substring(hint FROM '"check": (\{.*\}); or run ALTER TABLE')::jsonb)
$$;

-- add_column with its own check, an up and a default: kept, the checks and'ed.
SELECT hint417('m417_1', '[{"add_column": {"table": "d417", "column": "p", "type": "pos417", "up": "q + 1", "default": "7", "check": "p <> 13"}}]');
-- alter_column renaming, with its own check and not_null: both kept.
SELECT hint417('m417_2', '[{"alter_column": {"table": "d417", "column": "q", "name": "qty", "type": "small417", "check": "qty % 2 = 0 OR qty < 50", "not_null": true}}]');
-- Without a check of its own: the domain's alone, as before.
SELECT hint417('m417_3', '[{"add_column": {"table": "d417", "column": "p", "type": "small417", "up": "q"}}]');
SELECT count(*) AS migrations FROM steward.migrations WHERE name LIKE 'm417%';

-- The HINT's step of the first runs as printed: no rewrite, the backfill
-- fills with up, the merged check holds for the old and the new shape.
SELECT steward.migration_start('m417_1', step417(hint417('m417_x', '[{"add_column": {"table": "d417", "column": "p", "type": "pos417", "up": "q + 1", "default": "7", "check": "p <> 13"}}]')));
SELECT (SELECT relfilenode FROM pg_class WHERE oid = 'd417'::regclass) = relfilenode AS not_rewritten FROM before417;
CALL steward.migration_backfill('m417_1');
SELECT count(*) FILTER (WHERE p = q + 1) AS filled FROM d417;
INSERT INTO d417 (id, q) VALUES (101, 12);
INSERT INTO d417 (id, q) VALUES (102, -5);
INSERT INTO d417 (id, q) VALUES (103, 1);
INSERT INTO m417_1.d417 (id, q, p) VALUES (104, 3, 4);
SELECT id, q, p FROM d417 WHERE id > 100 ORDER BY id;
SELECT bool_and(passed) AS validated FROM steward.migration_validate('m417_1');
SELECT steward.migration_rollback('m417_1');

-- The second's step too: the rename, the and'ed checks, NOT NULL.
SELECT steward.migration_start('m417_2', step417(hint417('m417_y', '[{"alter_column": {"table": "d417", "column": "q", "name": "qty", "type": "small417", "check": "qty % 2 = 0 OR qty < 50", "not_null": true}}]')));
CALL steward.migration_backfill('m417_2');
INSERT INTO m417_2.d417 (id, qty) VALUES (201, 51);
INSERT INTO m417_2.d417 (id, qty) VALUES (202, 100);
INSERT INTO m417_2.d417 (id, qty) VALUES (203, 52);
SELECT id, qty FROM m417_2.d417 WHERE id > 200 ORDER BY id;
SELECT bool_and(passed) AS validated FROM steward.migration_validate('m417_2');
SELECT steward.migration_rollback('m417_2');

DROP TABLE d417;
DROP FUNCTION hint417(text, text), step417(text);
DROP DOMAIN small417, pos417;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('m417_1'), ('m417_2');
\i test/sql/drop_migration_records.sql
