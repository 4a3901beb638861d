-- closing37 item 4 (guard11): objects that depend on a migrated table
-- AUTOmatically -- a drop takes them without a word -- and that a
-- cleanup or a rollback took silently.
-- 1-2. CREATE STATISTICS (codereview7 C) on a relayout's layout the
--      cleanup or a rollback drops (or a partition of one), or over a
--      column a column migration drops: refused 55006 like OWNED BY;
--      statistics made on the table after complete are twinned back by a
--      rollback (they went with the new layout).
-- 3.   A sequence made OWNED BY such a column around the guard (a
--      superuser with the event trigger disabled): the cleanup or rollback
--      refuses (2BP01) naming it, instead of dropping it.
-- 4.   A sequence owned by a partition's own column before start (a
--      table with a serial column attached as a partition): the relayout
--      refuses to start (0A000), as for a partition's other own objects.
-- 5.   Rules of other relations over a relayout's table made before
--      start (codereview7 F): start refuses them.
-- 6.   Coverage: a rollback after complete moves owned sequences back.
-- (4 also: a partition's own extended statistics, which the cleanup drops
--      with the old partition, are named in start's NOTICE of losses.)
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
DROP ROLE IF EXISTS g11_app;
RESET client_min_messages;
CREATE ROLE g11_app;
GRANT CREATE ON SCHEMA public TO g11_app;
SELECT format('GRANT CREATE ON DATABASE %I TO g11_app', current_database()) \gexec
SET ROLE g11_app;

-- 1. relayout (codereview7 C's input)
CREATE TABLE g11_so(id bigint PRIMARY KEY, uid bigint, amt int) USING steward;
INSERT INTO g11_so SELECT g, g % 7, g FROM generate_series(1, 200) g;
CREATE STATISTICS g11_st_before ON uid, amt FROM g11_so;
SELECT steward.migration_start('g11_rm', $$[{"relayout": {"table": "g11_so", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CREATE STATISTICS g11_st_new ON uid, amt FROM g11_so_relayout_new;   -- refused: a rollback drops the new layout
CREATE STATISTICS g11_st_part ON uid, amt FROM g11_so_p0;            -- refused: a partition of the new layout
CREATE STATISTICS g11_st_during (ndistinct) ON id, uid FROM g11_so;  -- accepted: the cutover carries it
CALL steward.migration_backfill('g11_rm');
SELECT count(*) AS failed FROM steward.migration_validate('g11_rm') WHERE NOT passed;
SELECT steward.migration_complete('g11_rm');
CREATE STATISTICS g11_st_old ON uid, amt FROM g11_so_relayout_old;   -- refused: the cleanup drops the old layout
CREATE STATISTICS g11_st_tab ON id, amt FROM g11_so;                 -- accepted: a rollback carries it back
SELECT count(*) AS refused FROM pg_statistic_ext WHERE stxname IN ('g11_st_new', 'g11_st_part', 'g11_st_old');
SELECT steward.migration_rollback('g11_rm');
-- the user's statistics are all on the table, by their names (g11_st_tab went with the new layout)
SELECT stxname, stxrelid::regclass, pg_get_statisticsobjdef_columns(oid) AS cols
  FROM pg_statistic_ext WHERE stxrelid::regclass::text LIKE 'g11\_so%' ORDER BY 1;

-- 2. column migration (codereview7 C's second input)
CREATE TABLE g11_inv(id int PRIMARY KEY, amt int, note text, k int) USING steward;
INSERT INTO g11_inv SELECT g, g, 'n', g % 3 FROM generate_series(1, 5) g;
SELECT steward.migration_start('g11_cm', $$[{"alter_column": {"table": "g11_inv", "column": "amt", "name": "amt2", "type": "bigint"}},
                                            {"drop_column": {"table": "g11_inv", "column": "note"}}]$$);
CREATE STATISTICS g11_cst ON amt, amt2 FROM g11_inv;                 -- refused: both are dropped (cleanup, rollback)
CREATE STATISTICS g11_cst_new ON k, amt2 FROM g11_inv;               -- refused: a rollback drops amt2
CREATE STATISTICS g11_cst_note ON k, note FROM g11_inv;              -- refused: the cleanup drops note
CREATE STATISTICS g11_cst_expr ON (amt + k) FROM g11_inv;            -- refused: an expression over amt
CREATE STATISTICS g11_cst_ok ON id, k FROM g11_inv;                  -- accepted: columns that stay
SELECT stxname FROM pg_statistic_ext WHERE stxrelid = 'g11_inv'::regclass ORDER BY 1;
SELECT steward.migration_rollback('g11_cm');

-- 3. sequences OWNED BY a dropped column, made around the guard
RESET ROLE;
SET ROLE g11_app;
CREATE TABLE g11_ro(id bigint PRIMARY KEY, v int) USING steward;
INSERT INTO g11_ro SELECT g, g FROM generate_series(1, 20) g;
CREATE SEQUENCE g11_seq1;
CREATE SEQUENCE g11_seq2;
SELECT setval('g11_seq1', 41), setval('g11_seq2', 42);
SELECT steward.migration_start('g11_rr', $$[{"relayout": {"table": "g11_ro", "partition_by": "HASH (id)", "partitions": 2}}]$$);
RESET ROLE;
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;   -- a superuser around the guard
ALTER SEQUENCE g11_seq1 OWNED BY g11_ro_relayout_new.v;
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
SET ROLE g11_app;
SELECT steward.migration_rollback('g11_rr');    -- refused, naming the sequence
ALTER SEQUENCE g11_seq1 OWNED BY NONE;
SELECT steward.migration_rollback('g11_rr');
SELECT steward.migration_start('g11_rr2', $$[{"relayout": {"table": "g11_ro", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CALL steward.migration_backfill('g11_rr2');
SELECT count(*) AS failed FROM steward.migration_validate('g11_rr2') WHERE NOT passed;
SELECT steward.migration_complete('g11_rr2');
RESET ROLE;
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
ALTER SEQUENCE g11_seq2 OWNED BY g11_ro_relayout_old.v;   -- the old layout
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
SET ROLE g11_app;
SELECT steward.migration_cleanup('g11_rr2');    -- refused, naming the sequence
ALTER SEQUENCE g11_seq2 OWNED BY NONE;
SELECT steward.migration_cleanup('g11_rr2');
SELECT steward.migration_start('g11_cm2', $$[{"alter_column": {"table": "g11_inv", "column": "amt", "name": "amt2", "type": "bigint"}}]$$);
CALL steward.migration_backfill('g11_cm2');
SELECT count(*) AS failed FROM steward.migration_validate('g11_cm2') WHERE NOT passed;
SELECT steward.migration_complete('g11_cm2');
RESET ROLE;
ALTER EVENT TRIGGER steward_migration_shape_users DISABLE;
ALTER SEQUENCE g11_seq1 OWNED BY g11_inv._steward_old_amt;
ALTER EVENT TRIGGER steward_migration_shape_users ENABLE ALWAYS;
SET ROLE g11_app;
SELECT steward.migration_cleanup('g11_cm2');    -- refused, naming the sequence
ALTER SEQUENCE g11_seq1 OWNED BY NONE;
SELECT steward.migration_cleanup('g11_cm2');
SELECT sequencename, last_value FROM pg_sequences WHERE sequencename LIKE 'g11\_seq%' ORDER BY 1;

-- 4. a partition's own sequence before start
CREATE TABLE g11_pt(id bigint NOT NULL, v int) PARTITION BY RANGE (id);
CREATE TABLE g11_pt_a(id bigint NOT NULL, v int);
CREATE TABLE g11_pt_b(id bigserial NOT NULL, v int);
ALTER TABLE g11_pt ATTACH PARTITION g11_pt_a FOR VALUES FROM (0) TO (100);
ALTER TABLE g11_pt ATTACH PARTITION g11_pt_b FOR VALUES FROM (100) TO (200);
ALTER TABLE g11_pt ADD PRIMARY KEY (id);
INSERT INTO g11_pt VALUES (1, 1), (150, 2);
SELECT steward.migration_start('g11_pm', $$[{"relayout": {"table": "g11_pt", "partition_by": "HASH (id)", "partitions": 2}}]$$);
ALTER SEQUENCE g11_pt_b_id_seq OWNED BY NONE;
-- a partition's own extended statistics are named among its losses
CREATE STATISTICS g11_pt_a_st ON id, v FROM g11_pt_a;
SELECT steward.migration_start('g11_pm', $$[{"relayout": {"table": "g11_pt", "partition_by": "HASH (id)", "partitions": 2}}]$$);
SELECT steward.migration_rollback('g11_pm');

-- 5. rules of other relations over a relayout's table, made before start
--    (codereview7 F's input): they stayed on the old layout and the
--    cleanup failed 2BP01; start refuses them (0A000).  A plain view
--    over the table is still accepted (the cutover redefines it).
CREATE TABLE g11b(id bigint PRIMARY KEY, v int) USING steward;
CREATE TABLE g11b_log(id bigint);
INSERT INTO g11b SELECT g, g FROM generate_series(1, 20) g;
CREATE VIEW g11b_v AS SELECT id, v FROM g11b;
CREATE RULE g11b_r AS ON INSERT TO g11b_v DO INSTEAD INSERT INTO g11b (id, v) VALUES (NEW.id, 0);
CREATE RULE g11b_r2 AS ON INSERT TO g11b_log DO ALSO INSERT INTO g11b (id, v) VALUES (NEW.id + 1000, 0);
SELECT steward.migration_start('g11b_m', $$[{"relayout": {"table": "g11b", "partition_by": "HASH (id)", "partitions": 2}}]$$);
\echo :LAST_ERROR_SQLSTATE
DROP RULE g11b_r ON g11b_v;
SELECT steward.migration_start('g11b_m', $$[{"relayout": {"table": "g11b", "partition_by": "HASH (id)", "partitions": 2}}]$$);
\echo :LAST_ERROR_SQLSTATE
DROP RULE g11b_r2 ON g11b_log;
-- the plain view alone: accepted, carried by the cutover, the cleanup passes
SELECT steward.migration_start('g11b_m', $$[{"relayout": {"table": "g11b", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CALL steward.migration_backfill('g11b_m');
SELECT count(*) AS failed FROM steward.migration_validate('g11b_m') WHERE NOT passed;
SELECT steward.migration_complete('g11b_m');
SELECT steward.migration_cleanup('g11b_m');
SELECT count(*) AS rows_through_view FROM g11b_v;

-- 6. a rollback after complete moves the table's owned sequences back
--    with the name (closing37 item 4: untested): the serial key's and one
--    made OWNED BY the table during the relayout keep their positions
CREATE TABLE g11_sr(id bigserial PRIMARY KEY, uid bigint) USING steward;
INSERT INTO g11_sr (uid) SELECT g FROM generate_series(1, 10) g;
SELECT steward.migration_start('g11_srm', $$[{"relayout": {"table": "g11_sr", "partition_by": "HASH (id)", "partitions": 2}}]$$);
CREATE SEQUENCE g11_sr_uid_seq OWNED BY g11_sr.uid;
SELECT setval('g11_sr_uid_seq', 500);
INSERT INTO g11_sr (uid) VALUES (nextval('g11_sr_uid_seq')) RETURNING id, uid;
CALL steward.migration_backfill('g11_srm');
SELECT count(*) AS failed FROM steward.migration_validate('g11_srm') WHERE NOT passed;
SELECT steward.migration_complete('g11_srm');
INSERT INTO g11_sr (uid) VALUES (nextval('g11_sr_uid_seq')) RETURNING id, uid;
SELECT steward.migration_rollback('g11_srm');
SELECT pg_get_serial_sequence('g11_sr', 'id') AS id_seq, pg_get_serial_sequence('g11_sr', 'uid') AS uid_seq;
INSERT INTO g11_sr (uid) VALUES (nextval('g11_sr_uid_seq')) RETURNING id, uid, tableoid::regclass;
SELECT count(*), max(id), max(uid) FROM g11_sr;

DROP TABLE g11_so, g11_inv, g11_ro, g11_pt, g11_sr, g11b_log, g11b CASCADE;
DROP SEQUENCE g11_seq1, g11_seq2, g11_pt_b_id_seq;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM g11_app;
SELECT format('REVOKE CREATE ON DATABASE %I FROM g11_app', current_database()) \gexec
DROP ROLE g11_app;
CREATE TEMP TABLE gone AS SELECT name FROM steward.migration_runs WHERE name LIKE 'g11\_%' OR name = 'g11b_m';
\i test/sql/drop_migration_records.sql
