-- Widening a unique key to include the partition key weakens it: the
-- 42P16 HINT of a relayout gave the statements that make (code) into
-- (code, user_id) without saying that two rows with the same code and
-- different user_id values are then allowed (relayout50, 1).  The DETAIL
-- now says so, and the HINT how to keep code unique instead; here the
-- claim is checked: after the HINT's statements the duplicate code goes
-- in, the duplicate (code, user_id) does not.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r433;
CREATE TABLE r433.orders (order_id bigint, user_id bigint NOT NULL, code text NOT NULL,
                          PRIMARY KEY (order_id, user_id), CONSTRAINT orders_code_key UNIQUE (code)) USING steward;
INSERT INTO r433.orders VALUES (1, 10, 'A-1'), (2, 20, 'A-2');
SELECT steward.migration_start('r433_m', '[{"relayout": {"table": "r433.orders", "partition_by": "HASH (user_id)", "partitions": 4}}]');
-- The same code under another user_id is refused while the key is (code).
INSERT INTO r433.orders VALUES (3, 30, 'A-1');
-- The HINT's statements, run as given.
CREATE FUNCTION r433.statements() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
    h text;
BEGIN
    PERFORM steward.migration_start('r433_m', '[{"relayout": {"table": "r433.orders", "partition_by": "HASH (user_id)", "partitions": 4}}]');
EXCEPTION WHEN invalid_table_definition THEN
    GET STACKED DIAGNOSTICS h = PG_EXCEPTION_HINT;
    RETURN QUERY SELECT m[1]
      FROM regexp_matches(h, '((?:CREATE UNIQUE INDEX|DROP INDEX|ALTER TABLE|ALTER INDEX) [^;]*;)', 'g') m;
END
$$;
SELECT * FROM r433.statements() \gexec
-- As the DETAIL said: the same code under another user_id now goes in;
-- the same (code, user_id) still does not.
INSERT INTO r433.orders VALUES (3, 30, 'A-1');
INSERT INTO r433.orders VALUES (4, 30, 'A-1');
SELECT code, count(*) FROM r433.orders GROUP BY code ORDER BY code;
-- A primary key: the DETAIL names its columns the same way.
CREATE TABLE r433.carts (cart_id bigint PRIMARY KEY, user_id bigint NOT NULL, region text NOT NULL);
SELECT steward.migration_start('r433_c', '[{"relayout": {"table": "r433.carts", "partition_by": "HASH (user_id, region)", "partitions": 4}}]');
SELECT steward.migration_start('r433_m', '[{"relayout": {"table": "r433.orders", "partition_by": "HASH (user_id)", "partitions": 4}}]');
SELECT steward.migration_rollback('r433_m');
DROP SCHEMA r433 CASCADE;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('r433_c'), ('r433_m');
\i test/sql/drop_migration_records.sql
