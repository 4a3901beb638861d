-- review9 F2: an UPDATE that moves a row into a foreign-table partition
-- (postgres_fdw) is a delete here plus an insert on the other side, where
-- an insert takes any version >= 1 and any initial state.  The move is
-- judged here, as an UPDATE of the partition the row leaves, before the
-- row leaves: versions, sequences, state edges and changed_at, exactly as
-- for a row that stays or moves between local partitions.
\set SHOW_CONTEXT never
CREATE EXTENSION postgres_fdw;
DO $d$ BEGIN
  EXECUTE format('CREATE SERVER fp_loop FOREIGN DATA WRAPPER postgres_fdw OPTIONS (dbname %L, port %L)',
                 current_database(), current_setting('port'));
END $d$;
CREATE USER MAPPING FOR CURRENT_USER SERVER fp_loop;

-- Versions.  remote_p stands for the other node's table (same rules).
CREATE TABLE remote_p (id int PRIMARY KEY, note text, version bigint) USING steward;
SELECT steward.track_versions('remote_p', 'version');
CREATE TABLE fp (id int, note text, version bigint) PARTITION BY RANGE (id);
CREATE TABLE fp_local PARTITION OF fp FOR VALUES FROM (0) TO (100) USING steward;
CREATE FOREIGN TABLE fp_remote PARTITION OF fp FOR VALUES FROM (100) TO (200)
  SERVER fp_loop OPTIONS (table_name 'remote_p');
SELECT steward.track_versions('fp', 'version');
INSERT INTO fp (id, note) VALUES (1, 'a'), (2, 'a'), (3, 'a'), (4, 'a'), (5, 'a');
UPDATE fp SET note = 'b' WHERE id <= 5;
UPDATE fp SET note = 'c' WHERE id <= 5;
SELECT id, version FROM fp ORDER BY id;
-- The review's repro: a stale version must not travel with the row.
UPDATE fp SET id = 150, note = 'stale', version = 1 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE fp SET id = 150, version = 9 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE fp SET id = 150, version = NULL WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
-- Accepted moves: not assigned, the version read, the next version,
-- version + 1: each arrives as current + 1.
UPDATE fp SET id = 101 WHERE id = 1;
UPDATE fp SET id = 102, version = 3 WHERE id = 2;
UPDATE fp SET id = 103, version = 4 WHERE id = 3;
UPDATE fp SET id = 104, version = version + 1 WHERE id = 4;
SELECT tableoid::regclass AS part, id, note, version FROM fp ORDER BY id;
SELECT id, version FROM remote_p ORDER BY id;
-- A move between the local partitions of the same tree is judged as before.
CREATE TABLE fp_local2 PARTITION OF fp FOR VALUES FROM (200) TO (300) USING steward;
UPDATE fp SET id = 205, version = 1 WHERE id = 5;
\echo :LAST_ERROR_SQLSTATE
UPDATE fp SET id = 205 WHERE id = 5;
SELECT tableoid::regclass AS part, id, version FROM fp WHERE id = 205;
-- MERGE moves rows the same way.
INSERT INTO fp (id, note) VALUES (6, 'm');
UPDATE fp SET note = 'n' WHERE id = 6;
MERGE INTO fp USING (VALUES (6)) v(id) ON fp.id = v.id
  WHEN MATCHED THEN UPDATE SET id = 106, version = 1;
\echo :LAST_ERROR_SQLSTATE
MERGE INTO fp USING (VALUES (6)) v(id) ON fp.id = v.id
  WHEN MATCHED THEN UPDATE SET id = 106;
SELECT id, version FROM remote_p WHERE id = 106;
-- Under session_replication_role = replica no rule runs, as everywhere.
INSERT INTO fp (id, note) VALUES (7, 'r');
UPDATE fp SET note = 's' WHERE id = 7;
SET session_replication_role = replica;
UPDATE fp SET id = 107, version = 1 WHERE id = 7;
RESET session_replication_role;
SELECT id, version FROM remote_p WHERE id = 107;

-- State machines: the edge goes from the moved row's state, changed_at is
-- stamped when the state changes.
SELECT steward.create_state_machine('fp_ord', ARRAY['created', 'paid', 'shipped'], ARRAY['created'],
       ARRAY['created->paid', 'paid->shipped']);
CREATE TABLE remote_s (id int PRIMARY KEY, status text NOT NULL, changed timestamptz) USING steward;
CREATE TABLE fs (id int, status text NOT NULL DEFAULT 'created', changed timestamptz) PARTITION BY RANGE (id);
CREATE TABLE fs_local PARTITION OF fs FOR VALUES FROM (0) TO (100) USING steward;
CREATE FOREIGN TABLE fs_remote PARTITION OF fs FOR VALUES FROM (100) TO (200)
  SERVER fp_loop OPTIONS (table_name 'remote_s');
SELECT steward.attach_state_machine('fs', 'status', 'fp_ord', changed_at_column => 'changed');
INSERT INTO fs (id) VALUES (1), (2);
UPDATE fs SET status = 'paid';
UPDATE fs SET status = 'shipped' WHERE id = 1;
UPDATE fs SET status = 'created', id = 101 WHERE id = 1;   -- shipped -> created
\echo :LAST_ERROR_SQLSTATE
UPDATE fs SET status = 'bogus', id = 101 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE fs SET status = 'shipped', id = 102 WHERE id = 2;   -- paid -> shipped, stamped
SELECT id, status, changed IS NOT NULL AS stamped FROM remote_s ORDER BY id;
SELECT from_state, to_state, transitions FROM steward.transition_counts
 WHERE relid = 'fs_local'::regclass ORDER BY 1, 2;

-- Sequences.
CREATE TABLE remote_q (id int PRIMARY KEY, seq int) USING steward;
CREATE TABLE fq (id int, seq int) PARTITION BY RANGE (id);
CREATE TABLE fq_local PARTITION OF fq FOR VALUES FROM (0) TO (100) USING steward;
CREATE FOREIGN TABLE fq_remote PARTITION OF fq FOR VALUES FROM (100) TO (200)
  SERVER fp_loop OPTIONS (table_name 'remote_q');
SELECT steward.track_sequence('fq', 'seq');
INSERT INTO fq VALUES (1, 10), (2, 10);
UPDATE fq SET seq = 5, id = 150 WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE fq SET seq = 10, id = 150 WHERE id = 1;
UPDATE fq SET seq = 11, id = 151 WHERE id = 2;
SELECT id, seq FROM remote_q ORDER BY id;

-- A row stored in the foreign partition is updated there by the foreign
-- data wrapper (PostgreSQL does not move rows out of a foreign partition):
-- the other node's rules judge it.
UPDATE fp SET note = 'stale', version = 1 WHERE id = 101;
\echo :LAST_ERROR_SQLSTATE
UPDATE fp SET note = 'd' WHERE id = 101;
SELECT id, note, version FROM remote_p WHERE id = 101;

DROP TABLE fp, fs, fq, remote_p, remote_s, remote_q;
SELECT steward.drop_state_machine('fp_ord');
DROP SERVER fp_loop CASCADE;
DROP EXTENSION postgres_fdw;
