-- The trust boundary (docs/security.md): code a table owner defined never
-- runs with another role's rights; relation kinds and OIDs are checked at
-- every entry point; what each role may see.
--
-- Roles: the superuser running this file, owner1 (a table owner, the
-- attacker), owner2 (a second tenant), app1 (an application role with
-- column grants) and stats1 (a pg_read_all_stats member).  Every owner-defined
-- function below announces who runs it and makes owner1 superuser if it
-- ever runs as one; owner1 must end as it started.
\set SHOW_CONTEXT never
CREATE ROLE owner1;
CREATE ROLE owner2;
CREATE ROLE app1;
CREATE ROLE stats1 IN ROLE pg_read_all_stats;
CREATE SCHEMA o1 AUTHORIZATION owner1;
CREATE SCHEMA o2 AUTHORIZATION owner2;
-- Everyone may name o1's objects: the extension's own checks must refuse.
GRANT USAGE ON SCHEMA o1 TO PUBLIC;

SET ROLE owner1;
CREATE FUNCTION o1.evil() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    RAISE NOTICE 'owner code runs as %', current_user;
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE owner1 SUPERUSER';
    END IF;
    RETURN true;
END $$;
RESET ROLE;

------------------------------------------------------------------------
-- Issue 11, item 1: a table turned into a view by a "_RETURN" rule.
------------------------------------------------------------------------
SET ROLE owner1;
CREATE TABLE o1.t (status text) USING steward;
SELECT steward.attach_state_machine('o1.t', 'status', 'data_lifecycle');
CREATE RULE "_RETURN" AS ON SELECT TO o1.t DO INSTEAD SELECT 'new'::text AS status WHERE o1.evil();
SELECT * FROM steward._transition_prepare('o1.t', 'new', 'pending_backfill', NULL, 1000, NULL);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
-- A superuser touching it: every entry point refuses the view, and
-- state_counts skips it.
SELECT * FROM steward._transition_prepare('o1.t', 'new', 'pending_backfill', NULL, 1000, NULL);
\echo :LAST_ERROR_SQLSTATE
CALL steward.run_transition('o1.t', 'new', 'pending_backfill');
SELECT * FROM steward.state_counts WHERE relid = 'o1.t'::regclass;
SELECT * FROM steward.validate('o1.t');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward.verify('o1.t');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward.checksum_ranges('o1.t', 'status');
SELECT steward.set_state_check('o1.t', 'new', 'SELECT 0');
SELECT steward.set_retention('o1.t', '1 day');
SELECT rolsuper FROM pg_roles WHERE rolname = 'owner1';
-- The owner can still clean up.
SET ROLE owner1;
SELECT steward.detach_state_machine('o1.t', 'status');
DROP VIEW o1.t;
RESET ROLE;

-- Other relation kinds where a table is expected, and OIDs naming nothing.
CREATE FOREIGN DATA WRAPPER sec_fdw;
CREATE SERVER sec_server FOREIGN DATA WRAPPER sec_fdw;
GRANT USAGE ON FOREIGN SERVER sec_server TO owner1;
SET ROLE owner1;
CREATE FOREIGN TABLE o1.ft (id int, status text) SERVER sec_server;
CREATE MATERIALIZED VIEW o1.mv AS SELECT 1 AS id, 'new'::text AS status;
CREATE SEQUENCE o1.seq;
SELECT steward.attach_state_machine('o1.ft', 'status', 'data_lifecycle');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.track_versions('o1.mv', 'id');
SELECT * FROM steward.validate('o1.mv');
SELECT * FROM steward.verify('o1.ft');
SELECT * FROM steward.verify('o1.seq');
SELECT * FROM steward.checksum_ranges('o1.ft', 'id');
SELECT steward.set_retention('o1.mv', '1 day');
SELECT * FROM steward.verify_index('o1.mv');
SELECT * FROM steward.hash_index_stats('o1.seq');
RESET ROLE;
SELECT * FROM steward.validate(4000000000::oid::regclass);
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward.verify(4000000000::oid::regclass);
SELECT * FROM steward.checksum_ranges(4000000000::oid::regclass, 'id');
SELECT steward.set_retention(4000000000::oid::regclass, '1 day');
SELECT steward.set_state_check(4000000000::oid::regclass, 'new', 'SELECT 0');
SELECT steward.track_versions(4000000000::oid::regclass, 'v');
SELECT * FROM steward.verify_index(4000000000::oid::regclass);
SELECT * FROM steward.hash_index_stats(4000000000::oid::regclass);
SELECT * FROM steward._transition_prepare(4000000000::oid::regclass, 'a', 'b', NULL, 1, NULL);
SELECT * FROM steward._transition_batch(-1, NULL, 10, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT steward._transition_progress(-1, 0, 0, NULL);

------------------------------------------------------------------------
-- Run as the table's owner: triggers, defaults and set_sql of a batch
-- transition, the count of state_counts, the checks of validate().
------------------------------------------------------------------------
SET ROLE owner1;
CREATE TABLE o1.mig (id int PRIMARY KEY, lifecycle text NOT NULL DEFAULT 'new',
                     note boolean DEFAULT o1.evil()) USING steward;
SELECT steward.attach_state_machine('o1.mig', 'lifecycle', 'data_lifecycle');
INSERT INTO o1.mig (id, note) SELECT g, true FROM generate_series(1, 5) g;
CREATE FUNCTION o1.trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM o1.evil();
    RETURN NEW;
END $$;
CREATE TRIGGER mig_trg BEFORE UPDATE ON o1.mig FOR EACH STATEMENT EXECUTE FUNCTION o1.trg();
-- A check that changes the caller's settings and calls owner code.
SELECT steward.set_state_check('o1.mig', 'pending_backfill',
    'SELECT (SELECT count(*) FROM mig WHERE lifecycle = ''nope'')
            + 0 * length(pg_catalog.set_config(''search_path'', ''o1, pg_catalog'', false))
            + 0 * length(pg_catalog.set_config(''work_mem'', ''77MB'', false))
            + 0 * o1.evil()::int');
RESET ROLE;
-- The superuser runs the backfill, the check and reads the counts: the
-- trigger, the default (set_sql DEFAULT), the check and nothing else of
-- owner1's runs as owner1.
CALL steward.run_transition('o1.mig', 'new', 'pending_backfill', 'note = DEFAULT', 2);
SELECT id, lifecycle, note FROM o1.mig ORDER BY id;
SHOW search_path;
SHOW work_mem;
SELECT state, passed, violations FROM steward.validate('o1.mig');
-- issue 11 item 4: no setting changed by the check survives it; the
-- superuser's next now() is pg_catalog's, not owner1's o1.now().
SHOW search_path;
SHOW work_mem;
SET ROLE owner1;
CREATE FUNCTION o1.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM o1.evil(); RETURN pg_catalog.now(); END $$;
RESET ROLE;
SELECT now() IS NOT NULL AS now_is_pg_catalogs;
SELECT state, rows FROM steward.state_counts WHERE relid = 'o1.mig'::regclass;
SELECT rolsuper FROM pg_roles WHERE rolname = 'owner1';
-- A hostile search_path does not steer the procedure: every name in it
-- is qualified (owner1 offers its own clock_timestamp and + operator).
SET ROLE owner1;
CREATE FUNCTION o1.clock_timestamp() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN PERFORM o1.evil(); RETURN pg_catalog.now(); END $$;
CREATE FUNCTION o1.plus(int, int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN PERFORM o1.evil(); RETURN $1 OPERATOR(pg_catalog.+) $2; END $$;
CREATE OPERATOR o1.+ (LEFTARG = int, RIGHTARG = int, FUNCTION = o1.plus);
CREATE FUNCTION o1.pg_sleep(float8) RETURNS void LANGUAGE plpgsql AS $$
BEGIN PERFORM o1.evil(); END $$;
RESET ROLE;
SET search_path = o1, pg_catalog, public;
CALL steward.run_transition('o1.mig', 'pending_backfill', 'backfilled', NULL, 2, 1000);
SELECT state, passed FROM steward.validate('o1.mig');
RESET search_path;
SELECT rolsuper FROM pg_roles WHERE rolname = 'owner1';
-- The batch helper refuses what the procedure would: a run of another
-- owner's table, a finished run, and a set_sql that is not a SET list.
-- (An open run as a session killed in the middle of its CALL leaves one:
-- _transition_prepare opens runs for run_transition only.)
BEGIN;
INSERT INTO steward.transition_runs (relid, state_column, from_state, to_state, rows_total, pid)
VALUES ('o1.mig', 'lifecycle', 'backfilled', 'dual_written', 5, pg_backend_pid())
RETURNING id AS mig_run \gset
SET ROLE owner2;
SELECT * FROM steward._transition_batch(:mig_run, NULL, 10, NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
INSERT INTO steward.transition_runs (relid, state_column, from_state, to_state, rows_total, pid)
VALUES ('o1.mig', 'lifecycle', 'backfilled', 'dual_written', 5, pg_backend_pid())
RETURNING id AS mig_run \gset
SET ROLE owner1;
SELECT * FROM steward._transition_batch(:mig_run, 'note = true WHERE false', 10, NULL);
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
SELECT id AS mig_run FROM steward.transition_runs WHERE relid = 'o1.mig'::regclass
 ORDER BY id DESC LIMIT 1 \gset
SET ROLE owner2;
SELECT steward._transition_progress(:mig_run, 100, 0, NULL);
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
\set VERBOSITY sqlstate
SELECT * FROM steward._transition_batch(:mig_run, NULL, 10, NULL);
\set VERBOSITY default

-- A partitioned table: the partition's row trigger runs as owner1 too.
SET ROLE owner1;
CREATE TABLE o1.parted (id int PRIMARY KEY, lifecycle text NOT NULL DEFAULT 'new')
    PARTITION BY RANGE (id);
CREATE TABLE o1.parted_1 PARTITION OF o1.parted FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.attach_state_machine('o1.parted', 'lifecycle', 'data_lifecycle');
INSERT INTO o1.parted (id) VALUES (1), (2);
CREATE FUNCTION o1.row_trg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM o1.evil();
    RETURN NEW;
END $$;
CREATE TRIGGER parted_trg BEFORE UPDATE ON o1.parted_1 FOR EACH ROW EXECUTE FUNCTION o1.row_trg();
RESET ROLE;
CALL steward.run_transition('o1.parted', 'new', 'pending_backfill');
SELECT state, rows FROM steward.state_counts WHERE relid = 'o1.parted'::regclass;
-- A partitioned steward_hash index has no storage: its partitions' do.
SET ROLE owner1;
CREATE INDEX parted_h ON o1.parted USING steward_hash (lifecycle);
RESET ROLE;
SELECT * FROM steward.verify_index('o1.parted_h');
\echo :LAST_ERROR_SQLSTATE
SELECT buckets FROM steward.hash_index_stats('o1.parted_h');
SELECT count(*) AS problems FROM steward.verify_index('o1.parted_1_lifecycle_idx');
-- Policies are owner code as well: with FORCE ROW LEVEL SECURITY they
-- apply to the owner, and never run with a superuser's rights when a
-- superuser counts or verifies: the count leaves the table out and
-- verify() refuses (55000), since the owner, as whom they read, cannot
-- see every row (75_force_rls).
SET ROLE owner1;
CREATE TABLE o1.pol (id int PRIMARY KEY, lifecycle text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('o1.pol', 'lifecycle', 'data_lifecycle');
INSERT INTO o1.pol (id) VALUES (1);
ALTER TABLE o1.pol ENABLE ROW LEVEL SECURITY;
ALTER TABLE o1.pol FORCE ROW LEVEL SECURITY;
CREATE POLICY everything ON o1.pol USING (o1.evil());
RESET ROLE;
SELECT state, rows FROM steward.state_counts WHERE relid = 'o1.pol'::regclass;
SELECT "check", passed FROM steward.verify('o1.pol') WHERE "check" <> 'heap';
SELECT rolsuper FROM pg_roles WHERE rolname = 'owner1';

-- Every function of the extension written in SQL or PL/pgSQL pins its
-- search_path; the one that cannot (a procedure that COMMITs) qualifies
-- every name, as the hostile search_path above shows.
SELECT p.oid::regprocedure AS unpinned
  FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace = 'steward'::regnamespace AND l.lanname NOT IN ('c', 'internal')
   AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp']
 ORDER BY p.oid::regprocedure::text COLLATE "C";

------------------------------------------------------------------------
-- Issue 11, item 2: verify(), checksum_ranges(), verify_index() run owner
-- code as the owner; checksums ignore casts the owner adds.
------------------------------------------------------------------------
SET ROLE owner1;
CREATE TABLE o1.acct (id int PRIMARY KEY, k text NOT NULL, balance numeric) USING steward;
INSERT INTO o1.acct SELECT g, 'k' || g, g * 10 FROM generate_series(1, 50) g;
CREATE FUNCTION o1.row_to_text(o1.acct) RETURNS text LANGUAGE plpgsql AS $$
BEGIN PERFORM o1.evil(); RETURN 'same'; END $$;
-- An IMMUTABLE function may not run ALTER ROLE itself, but may call a
-- volatile one that does (silently: index expressions run once per row).
CREATE FUNCTION o1.escalate() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE owner1 SUPERUSER';
    END IF;
    RETURN true;
END $$;
CREATE FUNCTION o1.key_of(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    PERFORM o1.escalate();
    RETURN $1;
END $$;
CREATE INDEX acct_k ON o1.acct USING steward_hash (o1.key_of(k));
RESET ROLE;
SELECT detail AS sum_before FROM steward.verify('o1.acct') WHERE "check" = 'checksum' \gset
SELECT string_agg(checksum, ',' ORDER BY bucket) AS ranges_before
  FROM steward.checksum_ranges('o1.acct', 'id', 4) \gset
SET ROLE owner1;
CREATE CAST (o1.acct AS text) WITH FUNCTION o1.row_to_text(o1.acct);
RESET ROLE;
-- The superuser verifies: the cast never runs, the checksums do not move,
-- the index expression runs as owner1.
SELECT "check", passed, CASE WHEN "check" = 'checksum' THEN detail = :'sum_before' ELSE NULL END AS same_checksum
  FROM steward.verify('o1.acct') ORDER BY 1;
SELECT string_agg(checksum, ',' ORDER BY bucket) = :'ranges_before' AS same_ranges
  FROM steward.checksum_ranges('o1.acct', 'id', 4);
SELECT * FROM steward.verify_index('o1.acct_k');
SELECT rolsuper FROM pg_roles WHERE rolname = 'owner1';
-- A damaged copy cannot be made to "match": a changed row changes the sum.
SET ROLE owner1;
UPDATE o1.acct SET balance = -1 WHERE id = 7;
RESET ROLE;
SELECT detail = :'sum_before' AS still_same FROM steward.verify('o1.acct') WHERE "check" = 'checksum';
-- The bodies refuse anyone but the owner when called directly.
SELECT * FROM steward._verify_rows('o1.acct');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward._checksum_ranges_rows('o1.acct', 'id', 4);
-- A foreign key whose operator the owner defined for its own type: the
-- pinned search_path never finds it.
SET ROLE owner1;
CREATE TYPE o1.color AS ENUM ('red', 'green');
CREATE FUNCTION o1.color_eq(o1.color, o1.color) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN PERFORM o1.evil(); RETURN $1::text = $2::text; END $$;
CREATE OPERATOR o1.= (LEFTARG = o1.color, RIGHTARG = o1.color, FUNCTION = o1.color_eq);
CREATE TABLE o1.palette (c o1.color PRIMARY KEY) USING steward;
CREATE TABLE o1.paint (id int PRIMARY KEY, c o1.color REFERENCES o1.palette) USING steward;
INSERT INTO o1.palette VALUES ('red'), ('green');
INSERT INTO o1.paint VALUES (1, 'red');
RESET ROLE;
SET search_path = o1, pg_catalog, public;
SELECT "check", passed, detail FROM steward.verify('o1.paint') WHERE "check" LIKE 'foreign key%';
RESET search_path;
-- verify() and checksum_ranges() need SELECT, and refuse when row
-- security would hide rows from the caller (they read every row).
SET ROLE owner2;
SELECT * FROM steward.verify('o1.acct');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward.checksum_ranges('o1.acct', 'id');
RESET ROLE;
SET ROLE owner1;
GRANT SELECT ON o1.acct TO app1;
ALTER TABLE o1.acct ENABLE ROW LEVEL SECURITY;
CREATE POLICY low_ids ON o1.acct FOR SELECT TO app1 USING (id < 10);
RESET ROLE;
SET ROLE app1;
SELECT count(*) FROM o1.acct;
SELECT * FROM steward.verify('o1.acct');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT rolsuper FROM pg_roles WHERE rolname = 'owner1';

------------------------------------------------------------------------
-- Issue 11, item 10: what errors and views reveal.
------------------------------------------------------------------------
-- app1 may update the version and the state but not read them: errors
-- name the row by the key it may read, not the stored version or state.
SET ROLE owner1;
CREATE TABLE o1.doc (id int PRIMARY KEY, body text, v bigint, status text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.track_versions('o1.doc', 'v');
SELECT steward.attach_state_machine('o1.doc', 'status', 'data_lifecycle');
INSERT INTO o1.doc (id, body) VALUES (1, 'a');
UPDATE o1.doc SET body = 'b', status = 'pending_backfill' WHERE id = 1;
UPDATE o1.doc SET body = 'c' WHERE id = 1;
GRANT SELECT (id, body), UPDATE (body, v, status) ON o1.doc TO app1;
RESET ROLE;
SET ROLE app1;
UPDATE o1.doc SET body = 'd', v = 1 WHERE id = 1;
UPDATE o1.doc SET v = 9 WHERE id = 1;
UPDATE o1.doc SET status = 'validated' WHERE id = 1;
RESET ROLE;
-- The owner sees the values.
SET ROLE owner1;
UPDATE o1.doc SET body = 'd', v = 1 WHERE id = 1;
UPDATE o1.doc SET status = 'validated' WHERE id = 1;
RESET ROLE;

-- hash_index_stats: owner, SELECT on the table, or pg_stat_scan_tables.
SET ROLE owner2;
SELECT entries FROM steward.hash_index_stats('o1.acct_k');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
GRANT pg_stat_scan_tables TO owner2;
SET ROLE owner2;
SELECT entries FROM steward.hash_index_stats('o1.acct_k');
RESET ROLE;
REVOKE pg_stat_scan_tables FROM owner2;
-- app1's SELECT is restricted by row security there: the entry count
-- would tell it how many rows it cannot see.
SET ROLE app1;
SELECT entries FROM steward.hash_index_stats('o1.acct_k');
RESET ROLE;
SET ROLE owner1;
CREATE INDEX palette_h ON o1.palette USING steward_hash (c);
GRANT SELECT ON o1.palette TO app1;
RESET ROLE;
SET ROLE app1;
SELECT entries FROM steward.hash_index_stats('o1.palette_h');
RESET ROLE;
-- verify_index: the owner or pg_read_all_stats.
SET ROLE owner2;
SELECT * FROM steward.verify_index('o1.acct_k');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE stats1;
SELECT * FROM steward.verify_index('o1.acct_k');
RESET ROLE;

-- State checks, validation runs and transition runs: visible to the
-- tables' owners and pg_read_all_stats only.
SET ROLE owner2;
CREATE TABLE o2.mine (id int PRIMARY KEY, lifecycle text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('o2.mine', 'lifecycle', 'data_lifecycle');
SELECT steward.set_state_check('o2.mine', 'new', 'SELECT 0');
SELECT count(*) FROM steward.validate('o2.mine');
-- (Other tests' tables may be about: only o1 and o2 are looked at.)
SELECT relid, state FROM steward.state_checks WHERE relid::text ~ '^o[12]\.' ORDER BY 1, 2;
SELECT relid, state FROM steward.validation_runs WHERE relid::text ~ '^o[12]\.' ORDER BY 1, 2;
SELECT relid, from_state, to_state FROM steward.transition_runs WHERE relid::text ~ '^o[12]\.' ORDER BY id;
SELECT relid, from_state, to_state FROM steward.transition_progress WHERE relid::text ~ '^o[12]\.' ORDER BY id;
SELECT relid, state FROM steward.state_counts WHERE relid::text ~ '^o[12]\.' ORDER BY 1, 2;
RESET ROLE;
SET ROLE owner1;
SELECT relid, state FROM steward.state_checks WHERE relid::text ~ '^o[12]\.' ORDER BY 1, 2;
SELECT relid, state, passed FROM steward.validation_runs WHERE relid::text ~ '^o[12]\.' ORDER BY 1, 2, 3;
SELECT relid, from_state, to_state, status FROM steward.transition_progress
 WHERE relid::text ~ '^o[12]\.' ORDER BY id;
RESET ROLE;
SET ROLE stats1;
SELECT relid, state FROM steward.state_checks WHERE relid::text ~ '^o[12]\.' ORDER BY 1, 2;
SELECT count(*) AS runs_seen FROM steward.transition_runs WHERE relid::text ~ '^o[12]\.';
RESET ROLE;
-- app1 reads o1.doc's states (column grant) but not those of a table whose
-- row security hides rows from it.
SET ROLE owner1;
GRANT SELECT (status) ON o1.doc TO app1;
GRANT SELECT ON o1.mig TO app1;
ALTER TABLE o1.mig ENABLE ROW LEVEL SECURITY;
CREATE POLICY first_only ON o1.mig FOR SELECT TO app1 USING (id = 1);
RESET ROLE;
SET ROLE app1;
SELECT relid, state, rows FROM steward.state_counts WHERE relid::text ~ '^o[12]\.' ORDER BY 1, 2;
RESET ROLE;

-- set_retention: the current user must own the table; SET ROLE counts.
SET ROLE owner2;
SELECT steward.set_retention('o1.acct', '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_retention('o2.mine', '0 days');
\echo :LAST_ERROR_SQLSTATE
SELECT steward.set_retention('o2.mine', '30 days');
RESET ROLE;
SELECT relid, retention FROM steward.table_retention ORDER BY 1;
SET ROLE owner2;
SELECT steward.set_retention('o2.mine', NULL);
RESET ROLE;
SELECT count(*) FROM steward.table_retention WHERE relid = 'o2.mine'::regclass;

-- The internal functions behind pg_read_all_stats views.
SET ROLE owner2;
SELECT count(*) FROM steward._lock_contention();
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) FROM steward._data_dir_space();
RESET ROLE;
SET ROLE stats1;
SELECT count(*) >= 0 AS readable FROM steward._lock_contention();
SELECT total_bytes > 0 AS readable FROM steward._data_dir_space();
RESET ROLE;

-- After all of it, owner1 is what it was.
SELECT rolname, rolsuper FROM pg_roles WHERE rolname IN ('owner1', 'owner2', 'app1', 'stats1') ORDER BY 1;

-- The extension's rows about the dropped tables go with them.
DELETE FROM steward.state_checks WHERE relid::text ~ '^o[12]\.';
DELETE FROM steward.validation_runs WHERE relid::text ~ '^o[12]\.';
DELETE FROM steward.transition_runs WHERE relid::text ~ '^o[12]\.';
DROP SCHEMA o1 CASCADE;
DROP SCHEMA o2 CASCADE;
DROP SERVER sec_server;
DROP FOREIGN DATA WRAPPER sec_fdw;
DROP ROLE owner1;
DROP ROLE owner2;
DROP ROLE app1;
DROP ROLE stats1;
