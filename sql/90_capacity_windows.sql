-- steward.capacity with controlled sample timestamps: growth is projected
-- only from enough history (steward.capacity_min_history), by least
-- squares with its r²; writes survive counter resets; less history says so.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE cap_a (id int PRIMARY KEY, v text) USING steward;
CREATE TABLE cap_b (id int PRIMARY KEY, v text) USING steward;
-- cap_a: 7 hourly samples, 1 MB more each hour, 3600 writes an hour with a
-- counter reset (crash restart) between the 4th and the 5th sample.
INSERT INTO steward.capacity_samples (sampled_at, relid, writes, bytes)
SELECT timestamptz '2026-01-01 00:00+00' + make_interval(hours => h), 'cap_a'::regclass,
       CASE WHEN h < 4 THEN 10000 + 3600 * h ELSE 3600 * (h - 3) END,
       1000000 * h
  FROM generate_series(0, 6) h;
-- cap_b: two samples ten minutes apart.
INSERT INTO steward.capacity_samples (sampled_at, relid, writes, bytes)
VALUES ('2026-01-01 00:00+00', 'cap_b'::regclass, 0, 8192),
       ('2026-01-01 00:10+00', 'cap_b'::regclass, 600, 16384);
SELECT relid, writes_per_sec, growth_bytes_per_day, growth_r2, history,
       recommendation LIKE 'insufficient history%' AS insufficient,
       recommendation
  FROM steward.capacity WHERE relid IN ('cap_a'::regclass, 'cap_b'::regclass)
 ORDER BY relid::text;
-- The unit is the GUC's: 10 minutes of history are enough at 5min.
SET steward.capacity_min_history = '5min';
SELECT relid, growth_bytes_per_day, growth_r2
  FROM steward.capacity WHERE relid = 'cap_b'::regclass;
SET steward.capacity_min_history = 0;
SHOW steward.capacity_min_history;
RESET steward.capacity_min_history;
SHOW steward.capacity_min_history;
-- The database row never counts a table twice; copies = 1 here.
SELECT replication_factor, logical_subscribers
  FROM steward.capacity WHERE relid IS NULL;
DELETE FROM steward.capacity_samples WHERE relid IN ('cap_a'::regclass, 'cap_b'::regclass);
DROP TABLE cap_a, cap_b;
