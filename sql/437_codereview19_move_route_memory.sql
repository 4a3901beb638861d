-- leaves49 routes the new row of every move of a partition with rules
-- (writectx.c route_moving_row) to find its destination; the search for
-- the statement's ModifyTable node built a list in the statement's query
-- memory for each moved row, kept until the statement ended: 84 bytes a
-- row, 16 MB for a 200,000-row UPDATE of the partition key where core
-- keeps 80 kB (codereview19 C2).  It now allocates nothing.  An AFTER
-- STATEMENT trigger reads the executor's memory while the statement's is
-- still there: 1,000 moves, then 40,000, must need the same.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r437;
SET search_path = r437;
CREATE TABLE mv (id int, k int, version bigint) PARTITION BY LIST (k);
CREATE TABLE mv_1 PARTITION OF mv FOR VALUES IN (1) USING steward;
CREATE TABLE mv_2 PARTITION OF mv FOR VALUES IN (2) USING steward;
CREATE TABLE mv_3 PARTITION OF mv FOR VALUES IN (3) USING steward;
SELECT steward.track_versions('r437.mv', 'version');
CREATE TABLE seen (moves text, executor_bytes bigint);
CREATE FUNCTION note_memory() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO r437.seen
    SELECT TG_ARGV[0], max(total_bytes) FROM pg_backend_memory_contexts
     WHERE name = 'ExecutorState';
    RETURN NULL;
END $$;
INSERT INTO mv SELECT g, 1, 1 FROM generate_series(1, 41000) g;
-- The statement's own ModifyTable node.
CREATE TRIGGER note_memory AFTER UPDATE ON mv
    FOR EACH STATEMENT EXECUTE FUNCTION note_memory('few');
UPDATE mv SET k = 2 WHERE id <= 1000;
DROP TRIGGER note_memory ON mv;
CREATE TRIGGER note_memory AFTER UPDATE ON mv
    FOR EACH STATEMENT EXECUTE FUNCTION note_memory('many');
UPDATE mv SET k = 2 WHERE id > 1000;
-- A data-modifying WITH's (the executor's auxiliary ModifyTable nodes).
DROP TRIGGER note_memory ON mv;
CREATE TRIGGER note_memory AFTER UPDATE ON mv
    FOR EACH STATEMENT EXECUTE FUNCTION note_memory('many, in a WITH');
WITH moved AS (UPDATE mv SET k = 3)
SELECT 'moved' AS done;
SELECT k, count(*), min(version) AS min_version, max(version) AS max_version
  FROM mv GROUP BY k ORDER BY k;
SELECT s.moves, s.executor_bytes - f.executor_bytes < 512 * 1024 AS same_memory
  FROM seen s, seen f
 WHERE f.moves = 'few' AND s.moves <> 'few'
 ORDER BY s.moves;
RESET search_path;
DROP SCHEMA r437 CASCADE;
