-- codereview4 #2: the column judge refused a user's rule on a shape view
-- that writes the migrated or the new column (55006), though the cleanup
-- and a rollback drop the shape views, and their rules with them, before
-- the columns; only the views' _RETURN rules passed.  Now every rule on a
-- shape view of the migration passes; a rule on another relation over
-- those columns is still refused.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE public.g5r_cz (id int PRIMARY KEY, a int, b int);
INSERT INTO public.g5r_cz SELECT g, g, g FROM generate_series(1, 5) g;
CREATE TABLE public.g5r_other (id int, a int);

-- 1. Rolled back: rules on both shape views made, dropped with them.
SELECT steward.migration_start('g5r_czm', '[{"alter_column": {"table": "g5r_cz", "column": "a", "type": "bigint"}}]');
CREATE RULE g5r_ins AS ON INSERT TO g5r_czm.g5r_cz
    DO INSTEAD INSERT INTO public.g5r_cz (id, b, _steward_new_a) VALUES (NEW.id, NEW.b, NEW.a);
CREATE RULE g5r_upd AS ON UPDATE TO g5r_czm_old.g5r_cz
    DO INSTEAD UPDATE public.g5r_cz SET a = NEW.a WHERE id = OLD.id;
SELECT rulename, ev_class::regclass AS relation FROM pg_rewrite WHERE rulename LIKE 'g5r\_%' ORDER BY 1;
\set VERBOSITY terse
CREATE RULE g5r_other_ins AS ON INSERT TO public.g5r_other
    DO ALSO INSERT INTO public.g5r_cz (id, _steward_new_a) VALUES (NEW.id, NEW.a);
\echo :LAST_ERROR_SQLSTATE
CREATE RULE g5r_other_upd AS ON UPDATE TO public.g5r_other
    DO ALSO UPDATE public.g5r_cz SET a = NEW.a WHERE id = OLD.id;
\echo :LAST_ERROR_SQLSTATE
-- A shape view of another migration: its views may outlive this one's.
CREATE TABLE public.g5r_cy (id int PRIMARY KEY, a int);
SELECT steward.migration_start('g5r_cym', '[{"alter_column": {"table": "g5r_cy", "column": "a", "type": "bigint"}}]');
CREATE RULE g5r_cy_ins AS ON INSERT TO g5r_cym.g5r_cy
    DO INSTEAD INSERT INTO public.g5r_cz (id, _steward_new_a) VALUES (NEW.id, NEW.a);
\echo :LAST_ERROR_SQLSTATE
SELECT steward.migration_rollback('g5r_cym');
\set VERBOSITY default
SELECT steward.migration_rollback('g5r_czm');
SELECT count(*) AS rules_left FROM pg_rewrite WHERE rulename LIKE 'g5r\_%';
SELECT attname FROM pg_attribute WHERE attrelid = 'public.g5r_cz'::regclass AND attnum > 0
   AND NOT attisdropped ORDER BY attnum;

-- 2. Cleaned up: a rule on the new shape writing the new column.
SELECT steward.migration_start('g5r_czm2', '[{"alter_column": {"table": "g5r_cz", "column": "a", "type": "bigint"}}]');
CREATE RULE g5r_ins2 AS ON INSERT TO g5r_czm2.g5r_cz
    DO INSTEAD INSERT INTO public.g5r_cz (id, b, _steward_new_a) VALUES (NEW.id, NEW.b, NEW.a);
CREATE RULE g5r_upd2 AS ON UPDATE TO g5r_czm2_old.g5r_cz
    DO INSTEAD UPDATE public.g5r_cz SET a = NEW.a WHERE id = OLD.id;
SELECT rulename, ev_class::regclass AS relation FROM pg_rewrite WHERE rulename LIKE 'g5r\_%' ORDER BY 1;
INSERT INTO g5r_czm2.g5r_cz (id, a, b) VALUES (6, 6, 6);
SELECT id, a, _steward_new_a, b FROM public.g5r_cz WHERE id = 6;
CALL steward.migration_backfill('g5r_czm2');
SELECT count(*) FILTER (WHERE passed) AS passed, count(*) AS checks FROM steward.migration_validate('g5r_czm2');
SELECT steward.migration_complete('g5r_czm2');
SELECT steward.migration_cleanup('g5r_czm2');
SELECT count(*) AS rules_left FROM pg_rewrite WHERE rulename LIKE 'g5r\_%';
SELECT attname, atttypid::regtype FROM pg_attribute WHERE attrelid = 'public.g5r_cz'::regclass
   AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT sum(a) FROM public.g5r_cz;

DROP TABLE public.g5r_cz, public.g5r_cy, public.g5r_other;
DELETE FROM steward.migration_validations WHERE migration IN ('g5r_czm', 'g5r_czm2', 'g5r_cym');
DELETE FROM steward.migration_columns WHERE migration IN ('g5r_czm', 'g5r_czm2', 'g5r_cym');
DELETE FROM steward.migration_tables WHERE migration IN ('g5r_czm', 'g5r_czm2', 'g5r_cym');
DELETE FROM steward.migration_runs WHERE name IN ('g5r_czm', 'g5r_czm2', 'g5r_cym');

-- codereview4 #1: a create_index step's statement was read under the
-- session's standard_conforming_strings at start, the worker's at the
-- build and the DDL guard's session's later; under off, '\'' ends no
-- string, so a "where" text could hide an expression in a literal in one
-- reading and expose it in the other.  All three now read it with the
-- setting on; a text the caller's off reads otherwise is refused (22023).
CREATE TABLE public.g5s_t (id int PRIMARY KEY, a int, b text);
INSERT INTO public.g5s_t SELECT g, g, g::text FROM generate_series(1, 5) g;
SET standard_conforming_strings = off;
SELECT steward.migration_start('g5s_m1', $j$[{"create_index": {"table": "g5s_t", "name": "g5s_i1",
    "definition": "(a)", "where": "b <> 'p\\' OR (a > 0) OR b <> '--'"}}]$j$);
-- The same statement in both readings: accepted.
SELECT steward.migration_start('g5s_m1b', $j$[{"create_index": {"table": "g5s_t", "name": "g5s_i1",
    "definition": "(a)", "where": "b <> 'p' OR a > 0"}}]$j$);
RESET standard_conforming_strings;
SELECT name FROM steward.migration_runs WHERE name LIKE 'g5s\_%' ORDER BY 1;
SELECT steward.migration_rollback('g5s_m1b');

-- The worker reads it with the setting on whatever its login's settings.
SELECT current_user AS g5s_orig \gset
CREATE ROLE g5s_login LOGIN;
GRANT CREATE ON SCHEMA public TO g5s_login;
ALTER TABLE public.g5s_t OWNER TO g5s_login;
ALTER ROLE g5s_login SET standard_conforming_strings = off;
\c - g5s_login
SET standard_conforming_strings = on;
SELECT steward.migration_start('g5s_m2', $j$[{"create_index": {"table": "g5s_t", "name": "g5s_i2",
    "definition": "(a)", "where": "b <> 'p\\'"}}]$j$);
-- The DDL guard reads it with the setting on too: b is in its predicate.
SET standard_conforming_strings = off;
\set VERBOSITY terse
ALTER TABLE public.g5s_t DROP COLUMN b;
\echo :LAST_ERROR_SQLSTATE
\set VERBOSITY default
SET standard_conforming_strings = on;
CALL steward.migration_backfill('g5s_m2');
SELECT pg_get_indexdef('public.g5s_i2'::regclass) AS built;
SELECT steward.migration_rollback('g5s_m2');
\c - :g5s_orig
DROP TABLE public.g5s_t;
REVOKE CREATE ON SCHEMA public FROM g5s_login;
DROP ROLE g5s_login;
DELETE FROM steward.migration_validations WHERE migration IN ('g5s_m1', 'g5s_m1b', 'g5s_m2');
DELETE FROM steward.migration_indexes WHERE migration IN ('g5s_m1', 'g5s_m1b', 'g5s_m2');
DELETE FROM steward.migration_tables WHERE migration IN ('g5s_m1', 'g5s_m1b', 'g5s_m2');
DELETE FROM steward.migration_runs WHERE name IN ('g5s_m1', 'g5s_m1b', 'g5s_m2');
