-- mach11: a role that may read a partitioned table's columns only through
-- the table (rights granted where it writes, as PostgreSQL needs) got the
-- undeclared-state, initial-state and version / sequence errors of a row
-- naming the partition, without the row's key and the stored version
-- (mach10's 9db7de1 did it for illegal transitions only).  Each now names
-- the partitioned table with the key and the stored value, as core shows
-- such a role a partition's failing row by its rights on the table the
-- statement named (ExecConstraints).
-- A role without SELECT on the column still gets the redacted errors.
SET client_min_messages = warning;
SELECT steward.create_state_machine('r198_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE ROLE r198_app;
CREATE TABLE r198_p (id int PRIMARY KEY, st text, version bigint DEFAULT 1, seq bigint)
    PARTITION BY HASH (id);
CREATE TABLE r198_p0 PARTITION OF r198_p FOR VALUES WITH (MODULUS 2, REMAINDER 0) USING steward;
CREATE TABLE r198_p1 PARTITION OF r198_p FOR VALUES WITH (MODULUS 2, REMAINDER 1) USING steward;
SELECT steward.attach_state_machine('r198_p', 'st', 'r198_m');
SELECT steward.track_versions('r198_p', 'version');
SELECT steward.track_sequence('r198_p', 'seq');
INSERT INTO r198_p (id, st, seq) VALUES (1, 'a', 5), (2, 'a', 5);
UPDATE r198_p SET st = 'b' WHERE id = 1;
SELECT tableoid::regclass, id, st, version, seq FROM r198_p ORDER BY id;
GRANT SELECT, INSERT, UPDATE ON r198_p TO r198_app;

SET ROLE r198_app;
-- 1. An undeclared state: UPDATE and INSERT.
UPDATE r198_p SET st = 'zz' WHERE id = 1;
INSERT INTO r198_p (id, st) VALUES (3, 'zz');
-- 2. A new row not in an initial state.
INSERT INTO r198_p (id, st) VALUES (3, 'b');
-- 3. Versions: stale, ahead, NULL.
UPDATE r198_p SET version = 1 WHERE id = 1;
UPDATE r198_p SET version = 9 WHERE id = 1;
UPDATE r198_p SET version = NULL WHERE id = 1;
-- 4. A sequence written backwards.
UPDATE r198_p SET seq = 4 WHERE id = 1;
-- 5. The illegal transition (9db7de1) still names the table.
UPDATE r198_p SET st = 'a' WHERE id = 1;
RESET ROLE;

-- 6. A version at the largest bigint (stored under replica).
SET session_replication_role = replica;
UPDATE r198_p SET version = 9223372036854775807 WHERE id = 2;
RESET session_replication_role;
SET ROLE r198_app;
UPDATE r198_p SET seq = 6 WHERE id = 2;
RESET ROLE;

-- 7. Without SELECT on the columns: still redacted, the partition named.
REVOKE SELECT ON r198_p FROM r198_app;
GRANT SELECT (id) ON r198_p TO r198_app;
SET ROLE r198_app;
UPDATE r198_p SET st = 'zz' WHERE id = 1;
UPDATE r198_p SET version = 1 WHERE id = 1;
UPDATE r198_p SET version = 9 WHERE id = 1;
RESET ROLE;

-- 8. The owner writing the partition itself: the partition is named.
UPDATE r198_p0 SET st = 'zz' WHERE id = 1;
UPDATE r198_p0 SET version = 1 WHERE id = 1;

-- Nothing was written past the rules.
SELECT tableoid::regclass, id, st, version, seq FROM r198_p ORDER BY id;
DROP TABLE r198_p;
DROP ROLE r198_app;
SELECT steward.drop_state_machine('r198_m');
