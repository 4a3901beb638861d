-- mach18 item 1: a state rule arriving by a security label or as a row of
-- steward.column_rules skipped attach_state_machine's check that the
-- machine's states fit a varchar(n) state column (mach17, 347).  A label
-- on a table that stores rows is now refused as attach_state_machine
-- refuses (42804); a rule a restore brings (a label on a table that
-- stores no row yet, a rule row, a machine row after its rules) is kept,
-- as in the source, with a WARNING naming the states and the widening
-- ALTER TABLE (TAP 129 restores such a table every way).
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

SELECT steward.create_state_machine('m18', ARRAY['a', 'on_hold'], ARRAY['a'], ARRAY['a->on_hold']);
CREATE TABLE m18_wide (id int PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('m18_wide', 'st', 'm18');
CREATE TABLE m18_t (id int PRIMARY KEY, st varchar(4) NOT NULL) USING steward;
INSERT INTO m18_t VALUES (1, 'a');

-- The label of a text column, put on a varchar(4) column that stores a
-- row: refused, nothing attached.
DO $$ BEGIN
  EXECUTE format('SECURITY LABEL FOR steward ON COLUMN m18_t.st IS %L',
                 (SELECT label FROM pg_seclabel WHERE provider = 'steward'
                   AND objoid = 'm18_wide'::regclass AND objsubid = 2));
END $$;
\echo :LAST_ERROR_SQLSTATE
SELECT count(*) AS rules FROM steward.column_rules WHERE relid = 'm18_t'::regclass;

-- The same label on a table that stores no row (as a restore labels a
-- table before its data): kept, with a WARNING.
CREATE TABLE m18_e (id int PRIMARY KEY, st varchar(4) NOT NULL) USING steward;
DO $$ BEGIN
  EXECUTE format('SECURITY LABEL FOR steward ON COLUMN m18_e.st IS %L',
                 (SELECT label FROM pg_seclabel WHERE provider = 'steward'
                   AND objoid = 'm18_wide'::regclass AND objsubid = 2));
END $$;
SELECT machine FROM steward.column_rules WHERE relid = 'm18_e'::regclass;
-- Rules are enforced; the long state fails as the column's type says.
INSERT INTO m18_e VALUES (1, 'a');
UPDATE m18_e SET st = 'on_hold' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
UPDATE m18_e SET st = 'b' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE

-- A rule row written into steward.column_rules (a whole-database or
-- data-only restore's COPY): kept, with a WARNING.
INSERT INTO steward.column_rules (relid, attname, kind, machine)
VALUES ('m18_t'::regclass, 'st', 'state', 'm18');
-- Re-pointing a rule at the machine: a WARNING too.
SELECT steward.create_state_machine('m18s', ARRAY['a'], ARRAY['a'], ARRAY[]::text[]);
CREATE TABLE m18_u (id int PRIMARY KEY, st varchar(2) NOT NULL) USING steward;
SELECT steward.attach_state_machine('m18_u', 'st', 'm18s');
UPDATE steward.column_rules SET machine = 'm18' WHERE relid = 'm18_u'::regclass;

-- The machine's row after its rules (a data-only restore may load
-- column_rules first): a WARNING for each column too short.
SELECT steward.detach_state_machine(t, 'st') FROM unnest(ARRAY['m18_wide', 'm18_t', 'm18_e', 'm18_u']) t;
SELECT steward.drop_state_machine('m18');
INSERT INTO steward.column_rules (relid, attname, kind, machine)
VALUES ('m18_t'::regclass, 'st', 'state', 'm18_late'), ('m18_wide'::regclass, 'st', 'state', 'm18_late');
INSERT INTO steward.machine_definitions (name, states, initial, transitions, owner)
VALUES ('m18_late', ARRAY['a', 'on_hold'], ARRAY['a'], ARRAY['a->on_hold'], current_user::regrole);
SELECT relid::regclass, machine FROM steward.column_rules WHERE machine = 'm18_late' ORDER BY 1;

-- Widening the column, as the HINT says, makes the state reachable.
ALTER TABLE m18_t ALTER COLUMN st TYPE varchar(7);
UPDATE m18_t SET st = 'on_hold' WHERE id = 1 RETURNING id, st;

SELECT steward.detach_state_machine(t, 'st') FROM unnest(ARRAY['m18_wide', 'm18_t']) t;
DROP TABLE m18_wide, m18_t, m18_e, m18_u;
SELECT steward.drop_state_machine(m) FROM unnest(ARRAY['m18_late', 'm18s']) m;
