-- steward.state_counts read by a transaction that wrote the table, when
-- the counts need a seed (first read, or after TRUNCATE or DDL): the seed
-- counted the rows its snapshot saw -- the transaction's own uncommitted
-- rows included -- into the shared counts, and then added them again as
-- the transaction's own changes, and again at its commit; after a
-- rollback the shared counts kept rows that never committed (review29
-- R1).  Such a read now counts the table directly and seeds nothing.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;   -- when run alone
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT steward.create_state_machine('r29_sc', ARRAY['new', 'done'], ARRAY['new'],
                                    ARRAY['new->done']);
CREATE TABLE r29_sc (id int PRIMARY KEY, st text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('r29_sc', 'st', 'r29_sc');
INSERT INTO r29_sc (id) VALUES (1), (2);
UPDATE r29_sc SET st = 'done' WHERE id = 1;

-- true when state_counts agrees with a full count of the table.
CREATE FUNCTION r29_sc_right() RETURNS boolean LANGUAGE sql AS $$
    SELECT NOT EXISTS ((SELECT st, count(*) FROM r29_sc GROUP BY 1
                        EXCEPT SELECT state, rows FROM steward.state_counts
                                WHERE relid = 'r29_sc'::regclass)
                       UNION ALL
                       (SELECT state, rows FROM steward.state_counts
                         WHERE relid = 'r29_sc'::regclass
                        EXCEPT SELECT st, count(*) FROM r29_sc GROUP BY 1))
$$;

-- First read inside a transaction that inserted rows, then rolled back.
BEGIN;
INSERT INTO r29_sc (id) VALUES (3), (4);
SELECT state, rows FROM steward.state_counts WHERE relid = 'r29_sc'::regclass ORDER BY 1;
SELECT r29_sc_right() AS own_view_right;
ROLLBACK;
SELECT state, rows FROM steward.state_counts WHERE relid = 'r29_sc'::regclass ORDER BY 1;
SELECT r29_sc_right() AS after_rollback_right;

-- TRUNCATE and new rows in one transaction that reads the counts, committed.
BEGIN;
TRUNCATE r29_sc;
INSERT INTO r29_sc (id) VALUES (10), (11);
SELECT state, rows FROM steward.state_counts WHERE relid = 'r29_sc'::regclass ORDER BY 1;
COMMIT;
SELECT state, rows FROM steward.state_counts WHERE relid = 'r29_sc'::regclass ORDER BY 1;
SELECT r29_sc_right() AS after_truncate_commit_right;

-- Rows written before a rewrite in the same transaction, then read.
BEGIN;
INSERT INTO r29_sc (id) VALUES (12);
ALTER TABLE r29_sc ALTER COLUMN st TYPE varchar(20);
UPDATE r29_sc SET st = 'done' WHERE id = 10;
SELECT r29_sc_right() AS own_view_after_rewrite_right;
COMMIT;
SELECT state, rows FROM steward.state_counts WHERE relid = 'r29_sc'::regclass ORDER BY 1;
SELECT r29_sc_right() AS after_rewrite_commit_right;

-- A table created, attached and filled in the reading transaction.
BEGIN;
CREATE TABLE r29_sc2 (id int, st text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('r29_sc2', 'st', 'r29_sc');
INSERT INTO r29_sc2 (id) VALUES (1), (2), (3);
SELECT state, rows FROM steward.state_counts WHERE relid = 'r29_sc2'::regclass;
COMMIT;
SELECT state, rows FROM steward.state_counts WHERE relid = 'r29_sc2'::regclass;

-- Once seeded by a reader that wrote nothing, a writer's read adds its
-- own changes to the shared counts, as before.
BEGIN;
UPDATE r29_sc2 SET st = 'done' WHERE id = 1;
SELECT state, rows FROM steward.state_counts WHERE relid = 'r29_sc2'::regclass ORDER BY 1;
ROLLBACK;
SELECT state, rows FROM steward.state_counts WHERE relid = 'r29_sc2'::regclass ORDER BY 1;

DROP TABLE r29_sc, r29_sc2;
DROP FUNCTION r29_sc_right();
SELECT steward.drop_state_machine('r29_sc');
