-- closing37 item 2 and readme37 V2.  A default of a column the steward
-- access method sets whose folding raises a data exception fails every
-- INSERT that leaves the column out: a changed_at column's too (refused by
-- DDL; 185 has the version's).  The folding runs as the table's owner with
-- search_path pinned, whoever configures or alters the table (codereview7's
-- test gap: pinned here).  COPY FROM by the owner keeps changed_at as it
-- loads it, and a COPY that leaves the column out stores the column's
-- default, not a stamp, as docs/state-machines.md says.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;

-- 1. changed_at: a failing default refused by DDL, a constant one accepted.
SELECT steward.create_state_machine('r190_m', '{a,b}', '{a}', '{a->b}');
CREATE TABLE r190_ca (id int PRIMARY KEY, st text, ca timestamptz) USING steward;
SELECT steward.attach_state_machine('r190_ca', 'st', 'r190_m', changed_at_column => 'ca');
ALTER TABLE r190_ca ALTER COLUMN ca SET DEFAULT ('2000-01-01'::timestamptz + (1/0) * interval '1 s');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r190_ca ALTER COLUMN ca SET DEFAULT '2000-01-01';
SELECT pg_get_expr(adbin, adrelid) LIKE '''%2000%''::timestamp with time zone' AS ca_default
  FROM pg_attrdef WHERE adrelid = 'r190_ca'::regclass;

-- 2. The version default is folded as the table's owner, search_path
-- pinned: guard() gives 1 only so, 0 (refused) as anyone else.
CREATE ROLE r190_owner;
CREATE SCHEMA r190 AUTHORIZATION r190_owner;
SET ROLE r190_owner;
CREATE FUNCTION r190.guard(int) RETURNS bigint LANGUAGE sql IMMUTABLE
  AS $$ SELECT CASE WHEN current_user = 'r190_owner'
                     AND pg_catalog.current_setting('search_path') = 'pg_catalog, pg_temp'
                    THEN 1 ELSE $1 END $$;
CREATE TABLE r190.t (id int PRIMARY KEY, version bigint) USING steward;
RESET ROLE;
SET search_path = r190, public;
ALTER TABLE r190.t ALTER COLUMN version SET DEFAULT r190.guard(0);
SELECT steward.track_versions('r190.t', 'version');
ALTER TABLE r190.t ALTER COLUMN version SET DEFAULT r190.guard(-1);
SELECT pg_get_expr(adbin, adrelid) AS version_default FROM pg_attrdef
 WHERE adrelid = 'r190.t'::regclass;
RESET search_path;
SELECT guard FROM (SELECT r190.guard(0) AS guard) s;

-- 3. COPY FROM by the owner: changed_at as loaded; left out, the default.
COPY r190_ca (id, st, ca) FROM stdin;
1	b	2020-05-05 00:00:00+00
\.
COPY r190_ca (id, st) FROM stdin;
2	b
\.
INSERT INTO r190_ca (id, st) VALUES (3, 'a');
SELECT id, st, ca = '2020-05-05 00:00:00+00' AS as_loaded,
       ca = '2000-01-01' AS the_default, ca > now() - interval '1 hour' AS stamped
  FROM r190_ca ORDER BY id;

DROP TABLE r190_ca, r190.t;
DROP FUNCTION r190.guard(int);
DROP SCHEMA r190;
DROP ROLE r190_owner;
SELECT steward.drop_state_machine('r190_m');
