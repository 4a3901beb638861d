-- codereview8 L7: an UPDATE of steward.column_rules moving a state rule to
-- another table or column (a hand edit by the extension's owner) took
-- neither the machine's lock nor the cap check: the trigger
-- column_rules_lock_machine fired only on a change of kind or machine.
-- Now a move is judged as a rule pointed at a machine: past the cap of 8
-- state rules the rule is kept with a WARNING (as a row written into the
-- catalog is, sql/191), and the machine's owner's lock tag is held.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE TABLE r47_c (id int PRIMARY KEY, s1 text, s2 text, s3 text, s4 text,
                    s5 text, s6 text, s7 text, s8 text, s9 text) USING steward;
CREATE TABLE r47_d (id int PRIMARY KEY, st text, s2 text) USING steward;
SELECT steward.create_state_machine('r47_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT count(steward.attach_state_machine('r47_c', 's' || i, 'r47_m')) AS attached
  FROM generate_series(1, 8) i;
SELECT steward.attach_state_machine('r47_d', 'st', 'r47_m');

-- 1. The rule of r47_d.st moved to r47_c.s9: its 9th state rule, WARNING.
UPDATE steward.column_rules SET relid = 'r47_c'::regclass, attname = 's9'
 WHERE relid = 'r47_d'::regclass AND attname = 'st';
SELECT count(*) AS state_rules FROM steward.column_rules
 WHERE relid = 'r47_c'::regclass AND kind = 'state';
INSERT INTO r47_c VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a');
-- Back to r47_d (below the cap there: no WARNING).
UPDATE steward.column_rules SET relid = 'r47_d'::regclass, attname = 'st'
 WHERE relid = 'r47_c'::regclass AND attname = 's9';
INSERT INTO r47_c VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'zzz');

-- 2. A move to another table alone (relid only): WARNING too.
ALTER TABLE r47_c RENAME COLUMN s9 TO st;
UPDATE steward.column_rules SET relid = 'r47_c'::regclass
 WHERE relid = 'r47_d'::regclass AND attname = 'st';
UPDATE steward.column_rules SET relid = 'r47_d'::regclass
 WHERE relid = 'r47_c'::regclass AND attname = 'st';
ALTER TABLE r47_c RENAME COLUMN st TO s9;

-- 3. A move to another column (attname only) holds the machine owner's
--    lock tag (advisory, field4 = 6) to the end of the transaction, as a
--    drop and DROP OWNED of the owner are ordered with.
BEGIN;
UPDATE steward.column_rules SET attname = 's2'
 WHERE relid = 'r47_d'::regclass AND attname = 'st';
SELECT l.mode, l.granted FROM pg_catalog.pg_locks l
 WHERE l.locktype = 'advisory' AND l.pid = pg_catalog.pg_backend_pid()
   AND l.objsubid = 6 AND l.objid = 0
   AND l.classid = (SELECT owner::oid FROM steward.machine_definitions WHERE name = 'r47_m');
ROLLBACK;

DELETE FROM steward.column_rules WHERE machine = 'r47_m';
DROP TABLE r47_c, r47_d;
SELECT steward.drop_state_machine('r47_m');
