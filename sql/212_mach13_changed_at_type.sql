-- codereview9 N1: a state rule written by hand into steward.column_rules
-- whose changed_at names a column that is not timestamptz got no WARNING
-- (8327a6c warned only when the column does not exist), though the access
-- method ignores it just the same and stamps nothing; attach_state_machine
-- refuses such a column (42804).  Now INSERT, or an UPDATE changing
-- changed_at, warns with the UPDATE that clears it; the state rule itself
-- is enforced.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('r212_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r212_t (id int PRIMARY KEY, st text, at_text text, at_ts timestamp,
                     at_tz timestamptz) USING steward;

-- What attach_state_machine says about the same column.
SELECT steward.attach_state_machine('r212_t', 'st', 'r212_m', 'at_text');

-- 1. By hand: a text changed_at, WARNING; the rule is kept and enforced,
--    nothing stamped.
INSERT INTO steward.column_rules (relid, attname, kind, machine, changed_at)
VALUES ('r212_t', 'st', 'state', 'r212_m', 'at_text');
INSERT INTO r212_t (id, st) VALUES (1, 'a');
UPDATE r212_t SET st = 'b' WHERE id = 1;
UPDATE r212_t SET st = 'a' WHERE id = 1;
SELECT id, st, at_text IS NULL AS unstamped FROM r212_t;

-- 2. An UPDATE to timestamp without time zone: WARNING too.
UPDATE steward.column_rules SET changed_at = 'at_ts' WHERE relid = 'r212_t'::regclass;

-- 3. The HINT's UPDATE clears it (no WARNING); timestamptz: no WARNING,
--    and the state change stamps it.
UPDATE steward.column_rules SET changed_at = NULL WHERE relid = 'public.r212_t'::regclass AND attname = 'st';
UPDATE steward.column_rules SET changed_at = 'at_tz' WHERE relid = 'r212_t'::regclass;
INSERT INTO r212_t (id, st) VALUES (2, 'a');
UPDATE r212_t SET st = 'b' WHERE id = 2;
SELECT id, st, at_tz IS NOT NULL AS stamped FROM r212_t WHERE id = 2;
-- An UPDATE leaving changed_at alone: no WARNING.
UPDATE steward.column_rules SET created_at = created_at WHERE relid = 'r212_t'::regclass;

DROP TABLE r212_t;
SELECT steward.drop_state_machine('r212_m');
