-- Data for the governor benchmark; run by run.sh with -v big=N: the table
-- run_transition moves (the same as (c) of the lifecycle benchmark); the
-- idempotency keys are inserted per round (../idempotency/expired.sql).
\set ON_ERROR_STOP on

CREATE EXTENSION pg_steward;
SELECT steward.create_state_machine('job',
    ARRAY['pending', 'done'], ARRAY['pending'],
    ARRAY['pending->done', 'done->pending']);

CREATE SCHEMA big;
CREATE TABLE big.items (id bigint PRIMARY KEY, status text NOT NULL, hits int NOT NULL,
                        note text NOT NULL) USING steward;
INSERT INTO big.items SELECT i, 'pending', 0, md5(i::text) FROM generate_series(1, :big) i;
SELECT steward.attach_state_machine('big.items', 'status', 'job');

VACUUM (FREEZE, ANALYZE);
CHECKPOINT;
