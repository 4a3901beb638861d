-- A migration's tables without its record (review8 items 3, 4, 5): what
-- a restore leaves when the table came without steward's catalog
-- (pg_dump -t / -n, or a restore that could not write the catalog),
-- simulated here by deleting the catalog rows as a superuser.  The
-- relayout trigger names the other layout (a restored copy has other
-- OIDs); without a record it applies nothing and warns, with a HINT naming
-- steward.migration_forget, which removes what the migration left; a
-- renamed layout is an error naming migration_rollback; a restore loading
-- data (check_function_bodies off) applies nothing; row_security = off
-- does not break the owner's writes.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE mdo_owner;
CREATE ROLE mdo_other;
GRANT CREATE ON SCHEMA public TO mdo_owner;
GRANT CREATE ON DATABASE regression TO mdo_owner;
SET ROLE mdo_owner;

CREATE TABLE mdo_ro (id int PRIMARY KEY, v text) USING steward;
INSERT INTO mdo_ro SELECT g, 'x' FROM generate_series(1, 5) g;
SELECT steward.migration_start('mdo_rl',
    '[{"relayout": {"table": "mdo_ro", "partition_by": "HASH (id)", "partitions": 2}}]');
-- The trigger names the other layout, schema-qualified.
SELECT tgrelid::regclass, split_part(encode(tgargs, 'escape'), '\000', 4) AS other_layout
  FROM pg_trigger WHERE tgname = 'zz_steward_relayout' AND tgparentid = 0 ORDER BY tgrelid::regclass::text;

-- The owner's writes apply whatever the session's row_security says
-- (pg_dump's scripts set it off; the catalog's policy then would refuse
-- the apply's read).
SET row_security = off;
INSERT INTO mdo_ro VALUES (6, 'y');
RESET row_security;
SELECT id, v FROM mdo_ro_relayout_new ORDER BY id;

-- A restore loading data applies nothing: the dump brings both layouts.
SET check_function_bodies = off;
INSERT INTO mdo_ro VALUES (7, 'restored');
RESET check_function_bodies;
SELECT count(*) AS applied FROM mdo_ro_relayout_new WHERE id = 7;
DELETE FROM mdo_ro WHERE id = 7;

-- Nobody but the owner cleans up; an active migration is refused.
SET ROLE mdo_other;
SELECT * FROM steward.migration_forget('mdo_ro');
SET ROLE mdo_owner;
SELECT * FROM steward.migration_forget('mdo_ro');
SELECT * FROM steward.migration_forget(NULL);

-- A renamed layout: refused while the relayout runs; renamed anyway (a
-- superuser going around the DDL guard), the trigger no longer writes the
-- catalog's layout.
ALTER TABLE mdo_ro_relayout_new RENAME TO mdo_ro_moved;
RESET ROLE;
ALTER EVENT TRIGGER steward_relayout_guard DISABLE;
ALTER TABLE mdo_ro_relayout_new RENAME TO mdo_ro_moved;
SET ROLE mdo_owner;
INSERT INTO mdo_ro VALUES (8, 'z');
RESET ROLE;
ALTER TABLE mdo_ro_moved RENAME TO mdo_ro_relayout_new;
ALTER EVENT TRIGGER steward_relayout_guard ENABLE ALWAYS;
SET ROLE mdo_owner;
INSERT INTO mdo_ro VALUES (8, 'z');

-- A column migration on a second table.
CREATE TABLE mdo_inv (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                      amt numeric(12,2) NOT NULL DEFAULT 0) USING steward;
INSERT INTO mdo_inv (amt) VALUES (1.25), (2.5);
SELECT steward.migration_start('mdo_cents', '[{"alter_column": {"table": "mdo_inv", "column": "amt",
    "name": "cents", "type": "bigint", "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}]');

-- Both records gone, as after a restore without steward's catalog.
RESET ROLE;
DELETE FROM steward.migration_columns WHERE migration IN ('mdo_rl', 'mdo_cents');
DELETE FROM steward.migration_tables WHERE migration IN ('mdo_rl', 'mdo_cents');
SET ROLE mdo_owner;

-- The relayout's tables take writes, with a WARNING naming the way out.
INSERT INTO mdo_ro VALUES (9, 'w');
UPDATE mdo_ro SET v = 'w2' WHERE id = 1;
TRUNCATE mdo_ro;
-- The column migration's table warns, and its NOT VALID constraint
-- refuses the row the trigger could not fill.
INSERT INTO mdo_inv (amt) VALUES (3);
SELECT steward.migration_rollback('mdo_cents');

SELECT * FROM steward.migration_forget('mdo_ro');
SELECT * FROM steward.migration_forget('mdo_ro_relayout_new');
SELECT * FROM steward.migration_forget('mdo_inv');
-- Nothing left to remove.
SELECT * FROM steward.migration_forget('mdo_inv');
INSERT INTO mdo_ro VALUES (10, 'v');
INSERT INTO mdo_inv (amt) VALUES (3);
SELECT id, amt, cents FROM mdo_inv ORDER BY id;
SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('mdo_ro'::regclass, 'mdo_ro_relayout_new'::regclass,
                                                  'mdo_inv'::regclass);

-- Restore drills are readable by the database's owner (a superuser here) and
-- pg_read_all_stats only: another role sees none of them, without error.
RESET ROLE;
INSERT INTO steward.restore_drills (host, result) VALUES ('mdo-host', 'passed');
SET ROLE mdo_owner;
SELECT count(*) AS drills_seen FROM steward.restore_drills WHERE host = 'mdo-host';
RESET ROLE;
SELECT count(*) AS drills_seen_by_superuser FROM steward.restore_drills WHERE host = 'mdo-host';
DELETE FROM steward.restore_drills WHERE host = 'mdo-host';

-- migration_forget on a table no column migration left its trigger on
-- drops nothing of the user's: not a column the user named _steward_side,
-- not the user's own online NOT NULL (a NOT VALID check named like a
-- migration's).  (It dropped both, and the column's values.)
CREATE TABLE mdo_uf (id int PRIMARY KEY, v int, _steward_side "char") USING steward;
INSERT INTO mdo_uf VALUES (1, -1, 'x');
ALTER TABLE mdo_uf ADD CONSTRAINT mdo_uf_v_not_null CHECK (v IS NOT NULL) NOT VALID;
SELECT * FROM steward.migration_forget('mdo_uf');
SELECT _steward_side, (SELECT count(*) FROM pg_constraint WHERE conname = 'mdo_uf_v_not_null') AS kept
  FROM mdo_uf;
DROP TABLE mdo_uf;
DROP TABLE mdo_ro, mdo_ro_relayout_new, mdo_inv;
DELETE FROM steward.migration_runs WHERE name IN ('mdo_rl', 'mdo_cents');
REVOKE CREATE ON SCHEMA public FROM mdo_owner;
REVOKE CREATE ON DATABASE regression FROM mdo_owner;
DROP ROLE mdo_owner, mdo_other;
