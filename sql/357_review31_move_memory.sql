-- review31: the insert half of a row moving in from a partition without
-- the new partition's rules (split_move_rules, review31 R1) allocated its
-- split of the rules in the executor's query memory, about 9 kB per row
-- under one state machine, kept until the statement ended: a 200,000-row
-- UPDATE of the partition key peaked at 2.5 GB; between partitions whose
-- columns differ, the converted row was kept alike (older).  Both now
-- live in a context of their own, reset by the next move.  And any UPDATE
-- under a state machine kept two strings a row (older).  An AFTER STATEMENT trigger
-- reads the executor's memory while the statement's is still there.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE SCHEMA r357;
SET search_path = r357;
SELECT steward.create_state_machine('r357_m', states => ARRAY['new', 'paid'],
    initial => ARRAY['new'], transitions => ARRAY['new->paid']);
CREATE TABLE mv (id int, region text, st text NOT NULL DEFAULT 'new',
                 version bigint, PRIMARY KEY (id, region))
    PARTITION BY LIST (region);
CREATE TABLE mv_eu PARTITION OF mv FOR VALUES IN ('eu') USING steward;
CREATE TABLE mv_us PARTITION OF mv FOR VALUES IN ('us') USING steward;
SELECT steward.attach_state_machine('r357.mv_eu', 'st', 'r357_m');
SELECT steward.track_versions('r357.mv_eu', 'version');
CREATE TABLE seen (executor_bytes bigint);
CREATE FUNCTION note_memory() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO r357.seen
    SELECT sum(total_bytes) FROM pg_backend_memory_contexts
     WHERE name = 'ExecutorState';
    RETURN NULL;
END $$;
CREATE TRIGGER note_memory AFTER UPDATE ON mv
    FOR EACH STATEMENT EXECUTE FUNCTION note_memory();
INSERT INTO mv SELECT g, 'us', 'new', 1 FROM generate_series(1, 20000) g;
UPDATE mv SET region = 'eu';
SELECT count(*) FILTER (WHERE region = 'eu') AS moved FROM mv;
SELECT executor_bytes < 8 * 1024 * 1024 AS bounded FROM seen;
-- Rules on the partitioned table (no split), partitions whose columns
-- differ (a dropped column): the conversion of each moving row into the
-- new partition's columns was kept too, about 1.2 kB a row.
CREATE TABLE lv (id int, region text, version bigint, pad text,
                 PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE lv_eu (x int, id int NOT NULL, region text NOT NULL,
                    version bigint, pad text) USING steward;
ALTER TABLE lv_eu DROP COLUMN x;
ALTER TABLE lv ATTACH PARTITION lv_eu FOR VALUES IN ('eu');
CREATE TABLE lv_us PARTITION OF lv FOR VALUES IN ('us') USING steward;
SELECT steward.track_versions('r357.lv', 'version');
CREATE TRIGGER note_memory AFTER UPDATE ON lv
    FOR EACH STATEMENT EXECUTE FUNCTION note_memory();
TRUNCATE seen;
INSERT INTO lv SELECT g, 'us', 1, 'p' FROM generate_series(1, 40000) g;
UPDATE lv SET region = 'eu';
SELECT count(*) FILTER (WHERE region = 'eu' AND version = 2) AS moved FROM lv;
SELECT executor_bytes < 8 * 1024 * 1024 AS bounded FROM seen;
-- Not a move: an UPDATE of a table with a state machine copied the old
-- and the new state of every row as text for the messages it did not
-- raise, about 80 bytes a row kept until the statement ended.
CREATE TABLE st (id int PRIMARY KEY, st text NOT NULL DEFAULT 'new', note text)
    USING steward;
SELECT steward.attach_state_machine('r357.st', 'st', 'r357_m');
CREATE TRIGGER note_memory AFTER UPDATE ON st
    FOR EACH STATEMENT EXECUTE FUNCTION note_memory();
TRUNCATE seen;
INSERT INTO st (id) SELECT g FROM generate_series(1, 100000) g;
UPDATE st SET st = 'paid', note = 'x';
SELECT count(*) FILTER (WHERE st = 'paid') AS paid FROM st;
SELECT executor_bytes < 4 * 1024 * 1024 AS bounded FROM seen;
RESET search_path;
DROP SCHEMA r357 CASCADE;
SELECT steward.drop_state_machine('r357_m');
