-- fuzz2 F2: run_transition's skip-locked batch (the last batch of a pass,
-- a table without primary key, a range whose rows are taken) joined the
-- table to a CTE with columns tableoid and ctid, which set_sql sees: a
-- set_sql reading the row's own ctid or tableoid, as an UPDATE may, failed
-- there with 42702 "column reference ... is ambiguous", after the range
-- form had moved the earlier batches.  The CTE's columns now have names
-- of pg_steward's own and every batch moves its rows.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('r297_m', ARRAY['new', 'done'], ARRAY['new'], ARRAY['new->done']);
CREATE TABLE r297 (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new', note text) USING steward;
SELECT steward.attach_state_machine('r297', 'status', 'r297_m');
INSERT INTO r297 (id) SELECT g FROM generate_series(1, 25) g;
-- Batches of 10: two by key range, the last 5 skip-locked.
CALL steward.run_transition('r297', 'new', 'done',
                            'note = tableoid::regclass::text || '' '' || (ctid IS NOT NULL)::text', 10);
SELECT status, note, count(*) FROM r297 GROUP BY 1, 2 ORDER BY 1, 2;
-- Without a primary key every batch is skip-locked.
CREATE TABLE r297_nokey (id int, status text NOT NULL DEFAULT 'new', note text) USING steward;
SELECT steward.attach_state_machine('r297_nokey', 'status', 'r297_m');
INSERT INTO r297_nokey (id) SELECT g FROM generate_series(1, 5) g;
CALL steward.run_transition('r297_nokey', 'new', 'done', 'note = tableoid::regclass::text', 2);
SELECT status, note, count(*) FROM r297_nokey GROUP BY 1, 2 ORDER BY 1, 2;
DROP TABLE r297, r297_nokey;
SELECT steward.drop_state_machine('r297_m');
