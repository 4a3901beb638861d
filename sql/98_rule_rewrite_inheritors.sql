-- codereview F7, F12: DDL on a partitioned (or inheritance) parent that
-- reaches the rules its partitions and children have of their own.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set SHOW_CONTEXT never
SELECT steward.create_state_machine('rri_m', ARRAY['created', 'paid'], ARRAY['created'],
       ARRAY['created->paid']);

-- F7: ALTER COLUMN ... TYPE ... USING on the parent rewrites every
-- partition (core refuses it on a partition alone), so a rule a partition
-- has of its own refuses it as the partition's would: 0A000, the rows
-- kept.  Before, only the parent and its ancestors were looked at and the
-- tracked versions became -9.
CREATE TABLE rri (id int, version bigint NOT NULL DEFAULT 1, seq int,
                  st text NOT NULL DEFAULT 'created', ch timestamptz, note text)
  PARTITION BY RANGE (id);
CREATE TABLE rri1 PARTITION OF rri FOR VALUES FROM (0) TO (100) USING steward;
CREATE TABLE rri2 PARTITION OF rri FOR VALUES FROM (100) TO (200) USING steward;
-- A partition of a partition, with a rule of its own, two levels down.
CREATE TABLE rri3 PARTITION OF rri FOR VALUES FROM (200) TO (300) PARTITION BY RANGE (id);
CREATE TABLE rri3a PARTITION OF rri3 FOR VALUES FROM (200) TO (300) USING steward;
SELECT steward.track_versions('rri1', 'version');
SELECT steward.track_sequence('rri3a', 'seq');
SELECT steward.attach_state_machine('rri2', 'st', 'rri_m', changed_at_column => 'ch');
INSERT INTO rri (id, seq) VALUES (1, 1), (150, 1), (250, 1);
ALTER TABLE rri ALTER COLUMN version TYPE bigint USING version - 10;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE rri ALTER COLUMN seq TYPE bigint USING 0;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE rri ALTER COLUMN st TYPE text USING 'bogus';
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE rri ALTER COLUMN ch TYPE timestamptz USING now() - interval '1 year';
\echo :LAST_ERROR_SQLSTATE
SELECT tableoid::regclass, id, version, seq, st, ch IS NULL AS ch_null FROM rri ORDER BY id;
-- Without USING the values are kept, and a column no rule checks may be
-- rewritten: both allowed, as on a table.
ALTER TABLE rri ALTER COLUMN version TYPE bigint;
ALTER TABLE rri ALTER COLUMN note TYPE varchar USING 'x';
SELECT tableoid::regclass, id, version, seq, st, note FROM rri ORDER BY id;

-- F12: CREATE TRIGGER ... BEFORE UPDATE ... FOR EACH ROW on the
-- partitioned table is cloned onto every partition: it warns for each
-- partition whose own version rule it may defeat (before: no WARNING).
CREATE FUNCTION rri_bump() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN NEW.version := OLD.version + 1; RETURN NEW; END $$;
CREATE TRIGGER rri_bump BEFORE UPDATE ON rri FOR EACH ROW EXECUTE FUNCTION rri_bump();
-- It does defeat it: a stale version is taken.
UPDATE rri SET note = 'stale', version = 0 WHERE id = 1 RETURNING version;
DROP TRIGGER rri_bump ON rri;
-- An AFTER trigger, or one for INSERT only: no WARNING.
CREATE TRIGGER rri_after AFTER UPDATE ON rri FOR EACH ROW EXECUTE FUNCTION rri_bump();
CREATE TRIGGER rri_ins BEFORE INSERT ON rri FOR EACH ROW EXECUTE FUNCTION rri_bump();
-- The rule on the partitioned table itself: one WARNING for the table.
CREATE TABLE rrv (id int, version bigint) PARTITION BY RANGE (id);
CREATE TABLE rrv1 PARTITION OF rrv FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.track_versions('rrv', 'version');
CREATE TRIGGER rrv_bump BEFORE UPDATE ON rrv FOR EACH ROW EXECUTE FUNCTION rri_bump();
-- The trigger is the one the command created (its object address), not
-- its table's name looked up again at the end of the command, when an
-- earlier ddl_command_end trigger of the database may have changed the
-- search_path: "lg" was rri_s.lg when created, public.lg (no rule) at the
-- end (before: no WARNING).
CREATE SCHEMA rri_s;
CREATE TABLE rri_s.lg (id int PRIMARY KEY, version bigint) USING steward;
SELECT steward.track_versions('rri_s.lg', 'version');
CREATE TABLE public.lg (id int PRIMARY KEY, version bigint);
CREATE FUNCTION rri_path() RETURNS event_trigger LANGUAGE plpgsql AS
  $$ BEGIN PERFORM set_config('search_path', 'public', true); END $$;
CREATE EVENT TRIGGER a_rri_path ON ddl_command_end WHEN TAG IN ('CREATE TRIGGER')
  EXECUTE FUNCTION rri_path();
BEGIN;
SET LOCAL search_path = rri_s, public;
CREATE TRIGGER lg_bump BEFORE UPDATE ON lg FOR EACH ROW EXECUTE FUNCTION public.rri_bump();
COMMIT;
SELECT tgrelid::regclass FROM pg_trigger WHERE tgname = 'lg_bump';
-- And on public.lg, which has no rule: no WARNING.
CREATE TRIGGER lg_bump BEFORE UPDATE ON public.lg FOR EACH ROW EXECUTE FUNCTION rri_bump();
DROP EVENT TRIGGER a_rri_path;
DROP FUNCTION rri_path();
DROP TABLE public.lg;
DROP SCHEMA rri_s CASCADE;
DROP TABLE rrv;

-- F7, inheritance: a steward table with a rule may be the inheritance
-- child of a table without one; ALTER COLUMN ... TYPE ... USING on the
-- parent rewrites the child too: refused.  A trigger on the parent does
-- not fire for the child's rows (not cloned): no WARNING.
CREATE TABLE rrh (id int, version bigint NOT NULL DEFAULT 1);
CREATE TABLE rrh_c () INHERITS (rrh) USING steward;
SELECT steward.track_versions('rrh_c', 'version');
INSERT INTO rrh_c (id) VALUES (1);
ALTER TABLE rrh ALTER COLUMN version TYPE bigint USING version - 10;
\echo :LAST_ERROR_SQLSTATE
SELECT tableoid::regclass, id, version FROM rrh;
CREATE TRIGGER rrh_bump BEFORE UPDATE ON rrh FOR EACH ROW EXECUTE FUNCTION rri_bump();
DROP TABLE rrh CASCADE;

DROP TABLE rri;
DROP FUNCTION rri_bump();
SELECT steward.drop_state_machine('rri_m');
