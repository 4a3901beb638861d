-- steward.capacity before growth can be measured: a table with no sample
-- or one sample (history NULL or 0) says to take samples; two samples less
-- than steward.capacity_min_history apart say how much history there is
-- (docs/operations.md, "insufficient history: N min of 60").
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE cap_few (id int PRIMARY KEY, v text) USING steward;
INSERT INTO cap_few SELECT g, 'x' FROM generate_series(1, 100) g;
-- No sample yet.
SELECT history, growth_bytes_per_day, growth_r2, recommendation
  FROM steward.capacity WHERE relid = 'cap_few'::regclass;
-- One sample: history 0.
INSERT INTO steward.capacity_samples (sampled_at, relid, writes, bytes)
VALUES ('2026-01-01 00:00+00', 'cap_few'::regclass, 0, 8192);
SELECT history, growth_bytes_per_day, growth_r2, recommendation
  FROM steward.capacity WHERE relid = 'cap_few'::regclass;
-- Two samples 25 minutes apart: less than the 1h default.
INSERT INTO steward.capacity_samples (sampled_at, relid, writes, bytes)
VALUES ('2026-01-01 00:25+00', 'cap_few'::regclass, 600, 16384);
SELECT history, growth_bytes_per_day, growth_r2, recommendation
  FROM steward.capacity WHERE relid = 'cap_few'::regclass;
DELETE FROM steward.capacity_samples WHERE relid = 'cap_few'::regclass;
DROP TABLE cap_few;
