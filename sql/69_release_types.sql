-- steward.release() picks, for each steward_hash index and EXCLUDE
-- constraint, a core replacement that works for its key types and keeps
-- its "=": btree (UNIQUE / plain) when every type has a btree comparison,
-- else core hash (EXCLUDE USING hash / a hash index) for one key column,
-- else it refuses (0A000, naming index and type) before changing anything.
-- Afterwards duplicates raise 23505 / 23P01 and other rows go in.
-- Runs in its own database, which it drops at the end.
SELECT current_database() AS regress_db \gset
CREATE DATABASE steward_release_types TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C';
\c steward_release_types
SET client_min_messages = warning;
CREATE EXTENSION pg_steward;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- The internal helper on what is no index: 42809, never an internal error.
\set VERBOSITY terse
SELECT steward._release_method(0);
SELECT steward._release_method('pg_class'::regclass);
-- A role that does not own the index: 42501 (checked before the lock).
CREATE TABLE fown (id int, k text);
CREATE INDEX fown_k ON fown USING steward_hash (k);
CREATE ROLE steward_release_nobody;
SET ROLE steward_release_nobody;
SELECT steward._release_method('fown_k'::regclass);
RESET ROLE;
SELECT steward._release_method('fown_k'::regclass);
DROP TABLE fown;
DROP ROLE steward_release_nobody;
\set VERBOSITY default

-- Indexes and constraints of a table, with their access methods.
CREATE FUNCTION defs(tbl regclass)
RETURNS TABLE (name name, def text)
LANGUAGE sql AS $$
SELECT c.relname, pg_get_indexdef(c.oid)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
 WHERE i.indrelid = tbl
UNION ALL
SELECT conname, pg_get_constraintdef(oid)
  FROM pg_constraint WHERE conrelid = tbl AND contype IN ('u', 'x')
 ORDER BY 1, 2
$$;

-- F4: xid has no btree comparison: core hash keeps "=".
CREATE TABLE f4 (id int, x xid, CONSTRAINT f4_once EXCLUDE USING steward_hash (x WITH =)) USING steward;
CREATE INDEX f4_x ON f4 USING steward_hash (x);
INSERT INTO f4 VALUES (1, '5'), (2, '6');
SELECT * FROM steward.release('f4') ORDER BY 2, 3;
SELECT * FROM defs('f4');
INSERT INTO f4 VALUES (3, '7');
INSERT INTO f4 VALUES (4, '5');
\echo :LAST_ERROR_SQLSTATE
SELECT id FROM f4 WHERE x = '6';

-- xid8 has one: UNIQUE.
CREATE TABLE f4b (id int, x xid8, CONSTRAINT f4b_once EXCLUDE USING steward_hash (x WITH =)) USING steward;
INSERT INTO f4b VALUES (1, '5'), (2, '6');
SELECT * FROM steward.release('f4b') ORDER BY 2, 3;
SELECT * FROM defs('f4b');
INSERT INTO f4b VALUES (3, '7');
INSERT INTO f4b VALUES (4, '5');
\echo :LAST_ERROR_SQLSTATE

-- cid has no steward_hash operator class: nothing to release.
CREATE TABLE fcid (c cid);
CREATE INDEX fcid_c ON fcid USING steward_hash (c);

-- F5: a composite with an xid field: btree's record comparison would fail
-- at the second row; core hash hashes every field.  Two rows present.
CREATE TYPE xr AS (a xid, b int);
CREATE TABLE f5 (id int, x xr, CONSTRAINT f5_once EXCLUDE USING steward_hash (x WITH =)) USING steward;
CREATE INDEX f5_x ON f5 USING steward_hash (x);
INSERT INTO f5 VALUES (1, row('5', 1)), (2, row('6', 1));
SELECT * FROM steward.release('f5') ORDER BY 2, 3;
SELECT * FROM defs('f5');
INSERT INTO f5 VALUES (3, row('7', 1)), (4, row('5', 2));
INSERT INTO f5 VALUES (5, row('6', 1));
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM f5;

-- A composite whose fields all have btree: UNIQUE.
CREATE TYPE ir AS (a int, b text);
CREATE TABLE f5b (id int, x ir, CONSTRAINT f5b_once EXCLUDE USING steward_hash (x WITH =)) USING steward;
INSERT INTO f5b VALUES (1, row(1, 'a')), (2, row(2, 'a'));
SELECT * FROM steward.release('f5b') ORDER BY 2, 3;
SELECT * FROM defs('f5b');
INSERT INTO f5b VALUES (3, row(1, 'b'));
INSERT INTO f5b VALUES (4, row(1, 'a'));
\echo :LAST_ERROR_SQLSTATE

-- Arrays of xid, a domain over xid: core hash.
CREATE DOMAIN dxid AS xid;
CREATE TABLE farr (id int, xs xid[], d dxid,
    CONSTRAINT farr_xs EXCLUDE USING steward_hash (xs WITH =),
    CONSTRAINT farr_d EXCLUDE USING steward_hash (d WITH =)) USING steward;
INSERT INTO farr VALUES (1, '{1,2}', '1'), (2, '{2,1}', '2');
SELECT * FROM steward.release('farr') ORDER BY 2, 3;
SELECT * FROM defs('farr');
INSERT INTO farr VALUES (3, '{1,2,3}', '3');
INSERT INTO farr VALUES (4, '{1,2}', '4');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO farr VALUES (5, '{5}', '2');
\echo :LAST_ERROR_SQLSTATE

-- Text in a nondeterministic collation: UNIQUE in that collation.
CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE fci (id int, t text COLLATE ci,
    CONSTRAINT fci_once EXCLUDE USING steward_hash (t WITH =)) USING steward;
INSERT INTO fci VALUES (1, 'abc'), (2, 'abd');
INSERT INTO fci VALUES (3, 'ABC');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward.release('fci') ORDER BY 2, 3;
SELECT * FROM defs('fci');
INSERT INTO fci VALUES (3, 'abe');
INSERT INTO fci VALUES (4, 'ABD');
\echo :LAST_ERROR_SQLSTATE

-- Partial: EXCLUDE USING hash keeps the predicate.
CREATE TABLE fpart (id int, x xid,
    CONSTRAINT fpart_once EXCLUDE USING steward_hash (x WITH =) WHERE (id > 0)) USING steward;
INSERT INTO fpart VALUES (1, '5'), (-1, '5');
SELECT * FROM steward.release('fpart') ORDER BY 2, 3;
SELECT * FROM defs('fpart');
INSERT INTO fpart VALUES (-2, '5');
INSERT INTO fpart VALUES (2, '5');
\echo :LAST_ERROR_SQLSTATE

-- Several key columns: btree when all have it; with an xid, core hash
-- cannot (one column only): refused, naming index and type, and nothing
-- changed, not even the table's other indexes.
CREATE TABLE fmulti (id int, x xid8, b int,
    CONSTRAINT fmulti_once EXCLUDE USING steward_hash (x WITH =, b WITH =)) USING steward;
INSERT INTO fmulti VALUES (1, '5', 1), (2, '5', 2);
SELECT * FROM steward.release('fmulti') ORDER BY 2, 3;
SELECT * FROM defs('fmulti');
INSERT INTO fmulti VALUES (3, '5', 1);
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE fno (id int, x xid, b int, version bigint,
    CONSTRAINT fno_once EXCLUDE USING steward_hash (x WITH =, b WITH =)) USING steward;
CREATE INDEX fno_id ON fno USING steward_hash (id);
CREATE INDEX fno_xb ON fno USING steward_hash (x, b);
INSERT INTO fno VALUES (1, '5', 1, 1), (2, '5', 2, 1);
SELECT steward.track_versions('fno', 'version');
CREATE TEMP TABLE fno_before AS SELECT * FROM defs('fno');
SELECT * FROM steward.release('fno');
\echo :LAST_ERROR_SQLSTATE
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'fno'::regclass;
(SELECT * FROM defs('fno') EXCEPT SELECT * FROM fno_before)
UNION ALL (SELECT * FROM fno_before EXCEPT SELECT * FROM defs('fno'));
SELECT count(*) AS rules_kept FROM steward.column_rules WHERE relid = 'fno'::regclass;
-- Dropping what has no replacement lets the release go through.
ALTER TABLE fno DROP CONSTRAINT fno_once;
DROP INDEX fno_xb;
SELECT * FROM steward.release('fno') ORDER BY 2, 3;
SELECT * FROM defs('fno');

-- A partitioned table: a partitioned steward_hash index on xid becomes a
-- tree of hash indexes with the same names; one on (xid, int) refuses the
-- whole release, partitions included.
CREATE TABLE fp (p int NOT NULL, x xid, b int) PARTITION BY LIST (p);
CREATE TABLE fp_1 PARTITION OF fp FOR VALUES IN (1) USING steward;
CREATE TABLE fp_2 PARTITION OF fp FOR VALUES IN (2) USING steward;
CREATE INDEX fp_x ON fp USING steward_hash (x);
CREATE INDEX fp_xb ON fp USING steward_hash (x, b);
INSERT INTO fp SELECT 1 + g % 2, g::text::xid, g FROM generate_series(1, 20) g;
SELECT * FROM steward.release('fp');
\echo :LAST_ERROR_SQLSTATE
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname ~ '^fp(_[0-9x]|$)' ORDER BY 1;
DROP INDEX fp_xb;
SELECT * FROM steward.release('fp') ORDER BY 1, 2, 3;
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname ~ '^fp(_[0-9x]|$)' ORDER BY 1;
SELECT count(*) FROM fp WHERE x = '7';

-- steward.pgstattuple / pgstattuple_approx given the wrong kind of
-- relation: 42809 with a HINT, before pgstattuple's own code runs.
CREATE TABLE hx (k int, CONSTRAINT hx_once EXCLUDE USING steward_hash (k WITH =)) USING steward;
CREATE VIEW hx_view AS SELECT * FROM hx;
CREATE SEQUENCE hx_seq;
SELECT tuple_count FROM steward.pgstattuple('hx');
SELECT steward.pgstattuple('hx_once');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.pgstattuple_approx('hx_once');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.pgstattuple('hx_view');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.pgstattuple_approx('hx_view');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.pgstattuple('hx_seq');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.pgstattuple_approx('hx_seq');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.pgstattuple('fp');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.pgstattuple_approx('fp');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.pgstattuple('fp_x');
\echo :LAST_ERROR_SQLSTATE

-- release_all() decides every table's replacements first: one table
-- without a core equivalent leaves all of them as they were, rules too.
CREATE TABLE fall (id int, x xid, b int, version bigint,
    CONSTRAINT fall_once EXCLUDE USING steward_hash (x WITH =, b WITH =)) USING steward;
SELECT steward.track_versions('fall', 'version');
SELECT count(*) FROM steward.release_all();
\echo :LAST_ERROR_SQLSTATE
SELECT c.relname, a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
 WHERE c.relname IN ('hx', 'hx_once', 'fall', 'fall_once') ORDER BY 1;
SELECT count(*) AS rules_kept FROM steward.column_rules WHERE relid = 'fall'::regclass;
ALTER TABLE fall DROP CONSTRAINT fall_once;

-- With everything released, the extension drops.
SELECT count(*) FROM steward.release_all();
DROP EXTENSION pg_steward;

\c :regress_db
DROP DATABASE steward_release_types;
