-- rules20 item 4: ALTER TABLE ... ENABLE TRIGGER [name | ALL | USER] sets
-- a trigger ORIGIN, and pg_restore --data-only --disable-triggers ends each
-- table's data with ENABLE TRIGGER ALL: the extension's triggers on its
-- catalogs, made ENABLE ALWAYS (one pair ORIGIN / REPLICA) so that they
-- fire in a logical replication apply worker and under
-- session_replication_role = replica, were left firing on origin only.
-- Now the ALTER TABLE event trigger gives them back the installed state.
-- This also pins that state (src/tableam/storage_guard.c,
-- intended_trigger_state) against the install script's.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TEMP TABLE r20_installed AS
SELECT t.tgrelid::regclass::text AS tbl, t.tgname, t.tgenabled
  FROM pg_trigger t
 WHERE NOT t.tgisinternal
   AND t.tgrelid IN (SELECT objid FROM pg_depend
                      WHERE classid = 'pg_class'::regclass AND deptype = 'e'
                        AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_steward'));
-- The installed states: ALWAYS but for the column_rules pair.
SELECT tbl, tgname, tgenabled FROM r20_installed WHERE tgenabled <> 'A' ORDER BY 1, 2;
SELECT count(*) > 10 AS many_always FROM r20_installed WHERE tgenabled = 'A';
CREATE FUNCTION pg_temp.r20_changed() RETURNS TABLE (tbl text, tgname name, installed "char", now "char")
LANGUAGE sql AS $$
  SELECT i.tbl, i.tgname, i.tgenabled, t.tgenabled
    FROM r20_installed i
    JOIN pg_trigger t ON t.tgrelid = i.tbl::regclass AND t.tgname = i.tgname
   WHERE t.tgenabled <> i.tgenabled ORDER BY 1, 2
$$;

-- What pg_restore --data-only --disable-triggers runs, on every catalog
-- with triggers: the installed states come back.
SELECT format('ALTER TABLE %s DISABLE TRIGGER ALL', tbl) FROM (SELECT DISTINCT tbl FROM r20_installed) x ORDER BY 1 \gexec
SELECT count(*) AS disabled FROM r20_installed i
  JOIN pg_trigger t ON t.tgrelid = i.tbl::regclass AND t.tgname = i.tgname WHERE t.tgenabled = 'D';
SELECT format('ALTER TABLE %s ENABLE TRIGGER ALL', tbl) FROM (SELECT DISTINCT tbl FROM r20_installed) x ORDER BY 1 \gexec
SELECT * FROM pg_temp.r20_changed();

-- ENABLE TRIGGER name and ENABLE TRIGGER USER alike; a trigger left
-- disabled stays disabled.
ALTER TABLE steward.machine_definitions DISABLE TRIGGER USER;
ALTER TABLE steward.machine_definitions ENABLE TRIGGER machine_definitions_roles;
SELECT * FROM pg_temp.r20_changed();
ALTER TABLE steward.machine_definitions ENABLE TRIGGER USER;
ALTER TABLE steward.column_rules ENABLE TRIGGER column_rules_replica;
ALTER TABLE steward.column_rules ENABLE TRIGGER column_rules_changed;
SELECT * FROM pg_temp.r20_changed();

-- ENABLE REPLICA / ENABLE ALWAYS are kept as written (a superuser's
-- explicit choice).
ALTER TABLE steward.machine_definitions ENABLE REPLICA TRIGGER machine_definitions_roles;
SELECT * FROM pg_temp.r20_changed();
ALTER TABLE steward.machine_definitions ENABLE ALWAYS TRIGGER machine_definitions_roles;
SELECT * FROM pg_temp.r20_changed();

-- A user table's triggers are not the extension's: ENABLE TRIGGER leaves
-- them ORIGIN.
CREATE TABLE r20_plain (x int);
CREATE FUNCTION r20_noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER r20_t AFTER INSERT ON r20_plain FOR EACH ROW EXECUTE FUNCTION r20_noop();
ALTER TABLE r20_plain ENABLE ALWAYS TRIGGER r20_t;
ALTER TABLE r20_plain ENABLE TRIGGER ALL;
SELECT tgenabled FROM pg_trigger WHERE tgrelid = 'r20_plain'::regclass;
DROP TABLE r20_plain;
DROP FUNCTION r20_noop();
