-- steward.hot_rows showed a key's values to a role that may SELECT the
-- table's row key columns -- checked against the row key as it is now,
-- while the values were read from the key of the moment of the update.
-- After the primary key moved from a column the role may not read (ssn)
-- to one it may (id), it saw the ssn values (review29 R2).  A key is now
-- shown only while the index it was read from is still the row key.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;   -- when run alone
RESET client_min_messages;
CREATE ROLE r29_hr_owner;
CREATE ROLE r29_hr_idreader;
SELECT format('GRANT CREATE ON DATABASE %I TO r29_hr_owner', current_database()) \gexec
SET ROLE r29_hr_owner;
CREATE SCHEMA r29hr;
GRANT USAGE ON SCHEMA r29hr TO r29_hr_idreader;
CREATE TABLE r29hr.people (ssn text PRIMARY KEY, id int NOT NULL UNIQUE, note text)
    USING steward;
INSERT INTO r29hr.people VALUES ('123-45-6789', 1, 'a'), ('987-65-4321', 2, 'b');
UPDATE r29hr.people SET note = 'x' WHERE id = 1;
UPDATE r29hr.people SET note = 'y' WHERE id = 1;
UPDATE r29hr.people SET note = 'z' WHERE id = 2;
GRANT SELECT (id, note) ON r29hr.people TO r29_hr_idreader;
SELECT key_text, updates FROM steward.hot_rows WHERE relid = 'r29hr.people'::regclass
 ORDER BY updates DESC, key_text;                            -- the owner: ssn values
RESET ROLE;
SET ROLE r29_hr_idreader;
SELECT count(*) AS rows, count(key_text) AS keys
  FROM steward.hot_rows WHERE relid = 'r29hr.people'::regclass;   -- no SELECT on ssn
RESET ROLE;

-- The primary key moves to id, which r29_hr_idreader may read.
SET ROLE r29_hr_owner;
ALTER TABLE r29hr.people DROP CONSTRAINT people_pkey;
ALTER TABLE r29hr.people ADD PRIMARY KEY (id);
RESET ROLE;
SET ROLE r29_hr_idreader;
SELECT count(*) AS rows, count(key_text) AS keys
  FROM steward.hot_rows WHERE relid = 'r29hr.people'::regclass;   -- still no ssn
RESET ROLE;
SET ROLE r29_hr_owner;
SELECT count(*) AS rows, count(key_text) AS keys
  FROM steward.hot_rows WHERE relid = 'r29hr.people'::regclass;   -- old keys: for no one
-- Updates counted under the new key show its values, to both roles.
UPDATE r29hr.people SET note = 'w' WHERE id = 2;
RESET ROLE;
SET ROLE r29_hr_idreader;
SELECT key_text, updates FROM steward.hot_rows
 WHERE relid = 'r29hr.people'::regclass AND key_text IS NOT NULL;
RESET ROLE;

-- A replica identity index in place of a primary key: the same rule.
SET ROLE r29_hr_owner;
CREATE TABLE r29hr.events (code text NOT NULL, seq int NOT NULL, note text) USING steward;
CREATE UNIQUE INDEX events_code ON r29hr.events (code);
CREATE UNIQUE INDEX events_seq ON r29hr.events (seq);
ALTER TABLE r29hr.events REPLICA IDENTITY USING INDEX events_code;
INSERT INTO r29hr.events VALUES ('secret-a', 1, 'a');
UPDATE r29hr.events SET note = 'x';
GRANT SELECT (seq, note) ON r29hr.events TO r29_hr_idreader;
ALTER TABLE r29hr.events REPLICA IDENTITY USING INDEX events_seq;
RESET ROLE;
SET ROLE r29_hr_idreader;
SELECT count(*) AS rows, count(key_text) AS keys
  FROM steward.hot_rows WHERE relid = 'r29hr.events'::regclass;
RESET ROLE;

SET ROLE r29_hr_owner;
DROP SCHEMA r29hr CASCADE;
RESET ROLE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r29_hr_owner', current_database()) \gexec
DROP ROLE r29_hr_owner, r29_hr_idreader;
