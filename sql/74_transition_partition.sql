-- run_transition on one partition of a partitioned table whose state
-- machine is attached to the parent: the write path enforces the parent's
-- machine on the partition, so the batch job finds it there too (it said
-- "has no state machine attached").  Only that partition's rows move, and
-- the machine still refuses an undeclared edge.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor_min_calls = 1000000000;   -- no foreground load here
SELECT steward.create_state_machine('tp_jobs', ARRAY['new', 'paid', 'void'], ARRAY['new'],
                                    ARRAY['new->paid', 'paid->void']);
CREATE TABLE tp_orders (id int, region int, status text NOT NULL DEFAULT 'new',
                        PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE tp_orders_1 PARTITION OF tp_orders FOR VALUES IN (1) USING steward;
CREATE TABLE tp_orders_2 PARTITION OF tp_orders FOR VALUES IN (2) USING steward;
SELECT steward.attach_state_machine('tp_orders', 'status', 'tp_jobs');
INSERT INTO tp_orders (id, region) SELECT g, 1 + g % 2 FROM generate_series(1, 100) g;

CALL steward.run_transition('tp_orders_1', 'new', 'paid', NULL, 7);
SELECT tableoid::regclass AS part, status, count(*) FROM tp_orders GROUP BY 1, 2 ORDER BY 1, 2;
SELECT relid, rows_done, rows_remaining, status FROM steward.transition_progress
 WHERE relid = 'tp_orders_1'::regclass;
-- The machine of the parent: new -> void is no edge.
CALL steward.run_transition('tp_orders_2', 'new', 'void');
-- A table with no machine anywhere in its tree still says so.
CREATE TABLE tp_plain (id int PRIMARY KEY, status text) USING steward;
CALL steward.run_transition('tp_plain', 'new', 'paid');

DROP TABLE tp_orders, tp_plain;
SELECT steward.drop_state_machine('tp_jobs');
RESET steward.governor_min_calls;
