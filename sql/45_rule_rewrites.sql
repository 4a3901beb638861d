-- review9 F14, F16, F22: rules that a table rewrite, a column's precision
-- or a prepared transaction used to get around.
\set SHOW_CONTEXT never
SELECT steward.create_state_machine('rw_em', ARRAY['created', 'paid', 'shipped'], ARRAY['created'],
       ARRAY['created->paid', 'paid->shipped']);

-- F14: ALTER COLUMN ... TYPE ... USING rewrites every row past the rules:
-- refused on a ruled column (version, sequence, state, changed_at), on the
-- table and through a partitioned table.
CREATE TABLE at1 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created', version bigint,
                  seq int, ch timestamptz) USING steward;
SELECT steward.track_versions('at1', 'version');
SELECT steward.track_sequence('at1', 'seq');
SELECT steward.attach_state_machine('at1', 'st', 'rw_em', changed_at_column => 'ch');
INSERT INTO at1 (id, seq) VALUES (1, 1), (2, 1);
UPDATE at1 SET st = 'paid' WHERE id = 1;
UPDATE at1 SET st = 'shipped' WHERE id = 1;
ALTER TABLE at1 ALTER COLUMN st TYPE text USING 'bogus';
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE at1 ALTER COLUMN st TYPE text USING 'created';
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE at1 ALTER COLUMN version TYPE bigint USING -5;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE at1 ALTER COLUMN seq TYPE bigint USING 0;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE at1 ALTER COLUMN ch TYPE timestamptz USING now() - interval '1 year';
\echo :LAST_ERROR_SQLSTATE
SELECT id, st, version, seq FROM at1 ORDER BY id;
-- Without USING the values are kept: allowed.
ALTER TABLE at1 ALTER COLUMN seq TYPE bigint;
ALTER TABLE at1 ALTER COLUMN st TYPE varchar(20);
SELECT id, st, version, seq FROM at1 ORDER BY id;
-- Other columns may be rewritten as before.
ALTER TABLE at1 ADD COLUMN note text;
ALTER TABLE at1 ALTER COLUMN note TYPE varchar USING 'x';
-- Through a partitioned table.
CREATE TABLE atp (id int, version bigint) PARTITION BY RANGE (id);
CREATE TABLE atp1 PARTITION OF atp FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.track_versions('atp', 'version');
INSERT INTO atp (id) VALUES (1);
ALTER TABLE atp ALTER COLUMN version TYPE bigint USING -5;
\echo :LAST_ERROR_SQLSTATE
SELECT id, version FROM atp;

-- A stored version below 1 (replica apply stores rows as sent) is no
-- version: the row starts afresh at 1, and a stale write is refused after.
SET session_replication_role = replica;
UPDATE at1 SET version = -5 WHERE id = 2;
RESET session_replication_role;
UPDATE at1 SET note = 'a' WHERE id = 2 RETURNING version;
UPDATE at1 SET note = 'b' WHERE id = 2 RETURNING version;
UPDATE at1 SET note = 'stale', version = 1 WHERE id = 2;
\echo :LAST_ERROR_SQLSTATE
SET session_replication_role = replica;
UPDATE at1 SET version = 0 WHERE id = 2;
RESET session_replication_role;
UPDATE at1 SET note = 'c', version = 0 WHERE id = 2 RETURNING version;
SET session_replication_role = replica;
UPDATE at1 SET version = -3 WHERE id = 2;
RESET session_replication_role;
UPDATE at1 SET note = 'd', version = 7 WHERE id = 2 RETURNING version;
DROP TABLE at1, atp;

-- F16: changed_at is rounded to the column's precision, so a client can
-- write back the value it read.
CREATE TABLE tm (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created', ch timestamptz(0),
                 ch3 timestamptz(3)) USING steward;
SELECT steward.attach_state_machine('tm', 'st', 'rw_em', changed_at_column => 'ch');
INSERT INTO tm (id) VALUES (1);
UPDATE tm SET st = 'paid';
SELECT extract(microseconds FROM ch)::bigint % 1000000 AS sub_second FROM tm;
SELECT ch AS c0 FROM tm WHERE id = 1 \gset
UPDATE tm SET ch = :'c0' WHERE id = 1;
SELECT st, ch = :'c0' AS same FROM tm;
SELECT steward.detach_state_machine('tm', 'st');
SELECT steward.attach_state_machine('tm', 'st', 'rw_em', changed_at_column => 'ch3');
UPDATE tm SET st = 'shipped';
SELECT extract(microseconds FROM ch3)::bigint % 1000 AS sub_millisecond FROM tm;
SELECT ch3 AS c3 FROM tm WHERE id = 1 \gset
UPDATE tm SET ch3 = :'c3' WHERE id = 1;
SELECT st, ch3 = :'c3' AS same FROM tm;
-- A later ALTER of the precision applies from the next write on.
ALTER TABLE tm ALTER COLUMN ch3 TYPE timestamptz(0);
INSERT INTO tm (id) VALUES (2);
SELECT extract(microseconds FROM ch3)::bigint % 1000000 AS sub_second FROM tm WHERE id = 2;
DROP TABLE tm;

-- F22: state_counts stays exact when a two-phase transaction changes states
-- and the view is read between PREPARE TRANSACTION and COMMIT PREPARED.
CREATE TABLE tp3 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created') USING steward;
SELECT steward.attach_state_machine('tp3', 'st', 'rw_em');
INSERT INTO tp3 (id) SELECT g FROM generate_series(1, 10) g;
SELECT state, rows FROM steward.state_counts WHERE relid = 'tp3'::regclass ORDER BY state;
BEGIN;
UPDATE tp3 SET st = 'paid' WHERE id <= 4;
PREPARE TRANSACTION 'steward_sc_r1';
SELECT state, rows FROM steward.state_counts WHERE relid = 'tp3'::regclass ORDER BY state;
COMMIT PREPARED 'steward_sc_r1';
SELECT state, rows FROM steward.state_counts WHERE relid = 'tp3'::regclass ORDER BY state;
UPDATE tp3 SET st = 'paid' WHERE id = 5;
SELECT state, rows FROM steward.state_counts WHERE relid = 'tp3'::regclass ORDER BY state;
-- Rolled back, and a table nobody read before the prepare.
BEGIN;
UPDATE tp3 SET st = 'shipped' WHERE id <= 2;
PREPARE TRANSACTION 'steward_sc_r2';
SELECT state, rows FROM steward.state_counts WHERE relid = 'tp3'::regclass ORDER BY state;
ROLLBACK PREPARED 'steward_sc_r2';
SELECT state, rows FROM steward.state_counts WHERE relid = 'tp3'::regclass ORDER BY state;
CREATE TABLE tp4 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created') USING steward;
SELECT steward.attach_state_machine('tp4', 'st', 'rw_em');
INSERT INTO tp4 (id) SELECT g FROM generate_series(1, 3) g;
BEGIN;
UPDATE tp4 SET st = 'paid' WHERE id = 1;
PREPARE TRANSACTION 'steward_sc_r3';
SELECT state, rows FROM steward.state_counts WHERE relid = 'tp4'::regclass ORDER BY state;
COMMIT PREPARED 'steward_sc_r3';
SELECT state, rows FROM steward.state_counts WHERE relid = 'tp4'::regclass ORDER BY state;
SELECT st AS state, count(*) AS rows FROM tp4 GROUP BY 1 ORDER BY 1;
DROP TABLE tp3, tp4;
SELECT steward.drop_state_machine('rw_em');

-- F10: a legacy BEFORE UPDATE trigger that bumps the version replaces the
-- client's stale version by the next one; track_versions warns about
-- every BEFORE UPDATE row trigger of the table.
CREATE TABLE lg (id int PRIMARY KEY, note text, version bigint) USING steward;
CREATE FUNCTION lg_bump() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.version := OLD.version + 1; RETURN NEW; END $$;
CREATE TRIGGER lg_bump BEFORE UPDATE ON lg FOR EACH ROW EXECUTE FUNCTION lg_bump();
SELECT steward.track_versions('lg', 'version');
DROP TRIGGER lg_bump ON lg;
SELECT steward.untrack('lg', 'version');
SELECT steward.track_versions('lg', 'version');
-- ... and so does CREATE TRIGGER on a table a version rule reaches.
CREATE TRIGGER lg_bump BEFORE UPDATE ON lg FOR EACH ROW EXECUTE FUNCTION lg_bump();
CREATE TRIGGER lg_after AFTER UPDATE ON lg FOR EACH ROW EXECUTE FUNCTION lg_bump();
CREATE TABLE lgp (id int, version bigint) PARTITION BY RANGE (id);
CREATE TABLE lgp1 PARTITION OF lgp FOR VALUES FROM (0) TO (10) USING steward;
SELECT steward.track_versions('lgp', 'version');
CREATE TRIGGER lgp1_bump BEFORE INSERT OR UPDATE ON lgp1 FOR EACH ROW EXECUTE FUNCTION lg_bump();
DROP TABLE lgp;
DROP TABLE lg;
DROP FUNCTION lg_bump();
