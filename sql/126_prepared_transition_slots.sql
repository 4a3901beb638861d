-- Transitions of prepared transactions wait in max_prepared_transactions
-- x 16 shared slots (4 x 16 = 64 here) until their transaction ends
-- (review12 R12-4): the slots of ended transactions are freed at the next
-- PREPARE too, not only by a reader of the counts, and transitions that
-- find no free slot are dropped (counted in steward.collector), never
-- counted before COMMIT PREPARED -- so never after ROLLBACK PREPARED.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY terse

-- A chain s0 -> s1 -> ... -> s39, every state initial: row i starts in
-- s<i> and moves along its own edge.
SELECT steward.create_state_machine('ps_chain',
         (SELECT array_agg('s' || g ORDER BY g) FROM generate_series(0, 39) g),
         (SELECT array_agg('s' || g ORDER BY g) FROM generate_series(0, 39) g),
         (SELECT array_agg('s' || g || '->s' || (g + 1) ORDER BY g) FROM generate_series(0, 38) g));
CREATE TABLE ps_a1 (id int PRIMARY KEY, st text NOT NULL) USING steward;
CREATE TABLE ps_a2 (LIKE ps_a1 INCLUDING ALL) USING steward;
CREATE TABLE ps_b (LIKE ps_a1 INCLUDING ALL) USING steward;
CREATE TABLE ps_c1 (LIKE ps_a1 INCLUDING ALL) USING steward;
CREATE TABLE ps_c2 (LIKE ps_a1 INCLUDING ALL) USING steward;
CREATE TABLE ps_c3 (LIKE ps_a1 INCLUDING ALL) USING steward;
SELECT count(steward.attach_state_machine(t, 'st', 'ps_chain'))
  FROM unnest(ARRAY['ps_a1', 'ps_a2', 'ps_b', 'ps_c1', 'ps_c2', 'ps_c3']::regclass[]) t;
INSERT INTO ps_a1 SELECT g, 's' || g FROM generate_series(0, 31) g;
INSERT INTO ps_a2 SELECT g, 's' || g FROM generate_series(0, 31) g;
INSERT INTO ps_b VALUES (0, 's0');
INSERT INTO ps_c1 SELECT g, 's' || g FROM generate_series(0, 24) g;
INSERT INTO ps_c2 SELECT g, 's' || g FROM generate_series(0, 24) g;
INSERT INTO ps_c3 SELECT g, 's' || g FROM generate_series(0, 24) g;
CREATE VIEW ps_counted AS
SELECT (SELECT coalesce(sum(transitions), 0) FROM steward.transition_counts
         WHERE relid IN ('ps_a1'::regclass, 'ps_a2'::regclass)) AS a,
       (SELECT coalesce(sum(transitions), 0) FROM steward.transition_counts
         WHERE relid = 'ps_b'::regclass) AS b,
       (SELECT coalesce(sum(transitions), 0) FROM steward.transition_counts
         WHERE relid IN ('ps_c1'::regclass, 'ps_c2'::regclass, 'ps_c3'::regclass)) AS c;
SELECT steward.reset();
SELECT dropped AS dropped_before FROM steward.collector WHERE structure = 'transitions' \gset

-- 64 edges in one prepared transaction fill the 64 slots; it commits and
-- nobody reads the counts.
BEGIN;
UPDATE ps_a1 SET st = 's' || (id + 1);
UPDATE ps_a2 SET st = 's' || (id + 1);
PREPARE TRANSACTION 'ps_fill';
COMMIT PREPARED 'ps_fill';
-- A rolled-back prepared transaction: the next PREPARE freed the slots of
-- ps_fill (counting its 64), so its edge waits in a slot and is never
-- counted (it was counted at PREPARE when the slots were full).
BEGIN;
UPDATE ps_b SET st = 's1' WHERE id = 0;
PREPARE TRANSACTION 'ps_rb';
ROLLBACK PREPARED 'ps_rb';
SELECT * FROM ps_counted;

-- More edges than slots in one prepared transaction (75 edges): none
-- shows before COMMIT PREPARED (11 did); the 64 parked ones count after
-- it, the other 11 are counted as dropped.
BEGIN;
UPDATE ps_c1 SET st = 's' || (id + 1);
UPDATE ps_c2 SET st = 's' || (id + 1);
UPDATE ps_c3 SET st = 's' || (id + 1);
PREPARE TRANSACTION 'ps_big';
SELECT * FROM ps_counted;
COMMIT PREPARED 'ps_big';
SELECT * FROM ps_counted;
SELECT dropped - :dropped_before AS dropped FROM steward.collector
 WHERE structure = 'transitions';

DROP VIEW ps_counted;
DROP TABLE ps_a1, ps_a2, ps_b, ps_c1, ps_c2, ps_c3;
SELECT steward.drop_state_machine('ps_chain');
