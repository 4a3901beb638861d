-- The search_path / owner-code audit of every place pg_steward runs SQL
-- (src/plumbing/README.md, "Where SQL runs"): no code a table owner or any
-- other unprivileged role defined (functions, operators, index
-- expressions, triggers) runs with another role's rights, whatever the
-- caller's search_path.  spa_owner has no privilege beyond its own schemas
-- (and CREATE on the database, as migrations create schemas); it owns the
-- tables, and it plants shadows: operators and functions of
-- pg_catalog's names in spa_evil, which a hostile search_path lists before
-- pg_catalog.  Every shadow records who ran it in spa_log; the test ends
-- with an empty spa_log.
\set SHOW_CONTEXT never
CREATE ROLE spa_owner LOGIN;
SELECT current_user AS spa_super \gset
CREATE SCHEMA spa AUTHORIZATION spa_owner;
CREATE SCHEMA spa_evil AUTHORIZATION spa_owner;
CREATE TABLE public.spa_log (who text, what text);
GRANT INSERT ON public.spa_log TO PUBLIC;
CREATE TABLE public.spa_seen (who text, what text);
GRANT INSERT ON public.spa_seen TO PUBLIC;
-- Migrations create schemas.
SELECT format('GRANT CREATE ON DATABASE %I TO spa_owner', current_database()) \gexec

SET ROLE spa_owner;
CREATE FUNCTION spa_evil.spy(what text) RETURNS void LANGUAGE sql
    AS $$ INSERT INTO public.spa_log VALUES (current_user, what) $$;
CREATE FUNCTION spa_evil.texteq(text, text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT spa_evil.spy('text ='); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE FUNCTION spa_evil.textne(text, text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT spa_evil.spy('text <>'); SELECT $1 OPERATOR(pg_catalog.<>) $2 $$;
CREATE FUNCTION spa_evil.textcat(text, text) RETURNS text LANGUAGE sql
    AS $$ SELECT spa_evil.spy('text ||'); SELECT $1 OPERATOR(pg_catalog.||) $2 $$;
CREATE FUNCTION spa_evil.oideq(oid, oid) RETURNS boolean LANGUAGE sql
    AS $$ SELECT spa_evil.spy('oid ='); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE FUNCTION spa_evil.namecmp(name, text) RETURNS boolean LANGUAGE sql
    AS $$ SELECT spa_evil.spy('name = text'); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE FUNCTION spa_evil.int4gt(integer, integer) RETURNS boolean LANGUAGE sql
    AS $$ SELECT spa_evil.spy('int4 >'); SELECT $1 OPERATOR(pg_catalog.>) $2 $$;
CREATE FUNCTION spa_evil.int4pl(integer, integer) RETURNS integer LANGUAGE sql
    AS $$ SELECT spa_evil.spy('int4 +'); SELECT $1 OPERATOR(pg_catalog.+) $2 $$;
CREATE FUNCTION spa_evil.int8eq(bigint, bigint) RETURNS boolean LANGUAGE sql
    AS $$ SELECT spa_evil.spy('int8 ='); SELECT $1 OPERATOR(pg_catalog.=) $2 $$;
CREATE FUNCTION spa_evil.int8pl(bigint, bigint) RETURNS bigint LANGUAGE sql
    AS $$ SELECT spa_evil.spy('int8 +'); SELECT $1 OPERATOR(pg_catalog.+) $2 $$;
CREATE FUNCTION spa_evil.int84lt(bigint, integer) RETURNS boolean LANGUAGE sql
    AS $$ SELECT spa_evil.spy('int8 < int4'); SELECT $1 OPERATOR(pg_catalog.<) $2 $$;
CREATE FUNCTION spa_evil.jsonfield(jsonb, text) RETURNS text LANGUAGE sql
    AS $$ SELECT spa_evil.spy('jsonb ->>'); SELECT $1 OPERATOR(pg_catalog.->>) $2 $$;
CREATE OPERATOR spa_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = spa_evil.texteq);
CREATE OPERATOR spa_evil.<> (LEFTARG = text, RIGHTARG = text, FUNCTION = spa_evil.textne);
CREATE OPERATOR spa_evil.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = spa_evil.textcat);
CREATE OPERATOR spa_evil.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = spa_evil.oideq);
CREATE OPERATOR spa_evil.= (LEFTARG = name, RIGHTARG = text, FUNCTION = spa_evil.namecmp);
CREATE OPERATOR spa_evil.> (LEFTARG = integer, RIGHTARG = integer, FUNCTION = spa_evil.int4gt);
CREATE OPERATOR spa_evil.+ (LEFTARG = integer, RIGHTARG = integer, FUNCTION = spa_evil.int4pl);
CREATE OPERATOR spa_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = spa_evil.int8eq);
CREATE OPERATOR spa_evil.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = spa_evil.int8pl);
CREATE OPERATOR spa_evil.< (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = spa_evil.int84lt);
CREATE OPERATOR spa_evil.->> (LEFTARG = jsonb, RIGHTARG = text, FUNCTION = spa_evil.jsonfield);
CREATE FUNCTION spa_evil.to_regclass(text) RETURNS regclass LANGUAGE sql
    AS $$ SELECT spa_evil.spy('to_regclass'); SELECT pg_catalog.to_regclass($1) $$;
CREATE FUNCTION spa_evil.set_config(text, text, boolean) RETURNS text LANGUAGE sql
    AS $$ SELECT spa_evil.spy('set_config'); SELECT pg_catalog.set_config($1, $2, $3) $$;
CREATE FUNCTION spa_evil.now() RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT spa_evil.spy('now'); SELECT pg_catalog.now() $$;
CREATE FUNCTION spa_evil.clock_timestamp() RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT spa_evil.spy('clock_timestamp'); SELECT pg_catalog.clock_timestamp() $$;
-- An index expression of the owner's that folds to a constant: the planner
-- evaluates it (eval_const_expressions on the index's expressions) as
-- whoever first plans a query on the table in a backend.  Here it raises if
-- that is anybody but its owner.
CREATE FUNCTION spa.guard(integer) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF current_user <> 'spa_owner' THEN
        RAISE EXCEPTION 'an index expression of spa_owner ran as another role';
    END IF;
    RETURN $1;
END $$;
RESET ROLE;

-- 1. The label provider (SECURITY LABEL FOR steward): core checked that
-- the caller owns the table; steward._apply_rule_label then validates as
-- the owner of the extension's tables, but reads the table's rows as the
-- table's owner.  A fresh backend plans the count with the owner's index
-- expressions not yet in its relation cache.
SET ROLE spa_owner;
CREATE TABLE spa.lab (id bigint PRIMARY KEY, v bigint NOT NULL DEFAULT 1,
                      status text NOT NULL DEFAULT 'new') USING steward;
INSERT INTO spa.lab (id) VALUES (1), (2);
CREATE INDEX lab_guarded ON spa.lab ((id + spa.guard(0)));
RESET ROLE;
\c
SET ROLE spa_owner;
SET search_path = spa_evil, pg_catalog, spa;
SECURITY LABEL FOR steward ON COLUMN spa.lab.v IS '{"v": 1, "kind": "version"}';
RESET ROLE;
\c
SET ROLE spa_owner;
SET search_path = spa_evil, pg_catalog, spa;
SECURITY LABEL FOR steward ON COLUMN spa.lab.status IS
    '{"v": 1, "kind": "state", "machine": "spa_lab_m", "states": ["new", "done"],
      "initial": ["new"], "transitions": ["new->done"]}';
RESET search_path;
RESET ROLE;
SELECT relid, attname, kind, machine FROM steward.column_rules
 WHERE relid = 'spa.lab'::regclass ORDER BY attname;
SELECT * FROM spa_log;

-- The event trigger that checks later DDL against the columns the access
-- method sets (steward._rules_on_written_ddl, SECURITY DEFINER) reads each
-- table of the tree as its owner: loading a partition key folds its
-- expressions, here the owner's guard.
SET ROLE spa_owner;
CREATE TABLE spa.pk (id bigint NOT NULL, v bigint NOT NULL DEFAULT 1)
    PARTITION BY RANGE ((id + spa.guard(0)));
CREATE TABLE spa.pk1 PARTITION OF spa.pk FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.track_versions('spa.pk', 'v');
RESET ROLE;
\c
SET ROLE spa_owner;
SET search_path = spa_evil, pg_catalog, spa;
ALTER TABLE spa.pk ADD COLUMN note text;
RESET ROLE;
\c
SET ROLE spa_owner;
SECURITY LABEL FOR steward ON COLUMN spa.pk.v IS '{"v": 1, "kind": "version"}';
RESET ROLE;
\c
-- A superuser configuring the owner's table: the same check, as the owner.
SELECT steward.untrack('spa.pk', 'v');
SELECT steward.track_versions('spa.pk', 'v');
DROP TABLE spa.pk;

-- The PL/pgSQL that cannot pin its search_path (procedures that COMMIT)
-- names every operator as OPERATOR(pg_catalog.x), every function and cast
-- type with its schema: what is left of their source once comments,
-- literals, qualified names and RAISE options are taken out holds no
-- operator, no unqualified call (but COALESCE-like constructs) and no
-- unqualified cast.
WITH src AS (
  SELECT p.oid::regprocedure AS proc,
         regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(p.prosrc,
             '--[^\n]*', ' ', 'g'),
             '''([^'']|'''')*''', ' ''x'' ', 'g'),
             'OPERATOR\(pg_catalog\.[^)]+\)', ' ', 'g'),
             '(pg_catalog|steward)\.[a-z_0-9]+', ' q ', 'g'),
             '(ERRCODE|HINT|DETAIL|MESSAGE)\s*=', ' ', 'g') AS body
    FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
   WHERE p.pronamespace = 'steward'::regnamespace AND l.lanname = 'plpgsql'
     AND NOT coalesce(p.proconfig, '{}') @> ARRAY['search_path=pg_catalog, pg_temp']
)
SELECT proc, m[1] AS unqualified
  FROM src, regexp_matches(body, '(:=|::\s*(?!q\M)[a-z_]+|::|[=<>+*/%|^~!@#&-]+|[a-z_][a-z_0-9]*\()', 'gi') m
 WHERE upper(m[1]) NOT IN (':=', '::', 'COALESCE(', 'LEAST(', 'GREATEST(', 'NULLIF(')
 ORDER BY 1, 2;

-- 2. Entry points that switch to the owner of the extension's tables (C,
-- steward_as_owner_begin: search_path pinned) and the procedures that
-- cannot pin it (a SET clause forbids COMMIT: every name qualified by
-- hand), called by spa_owner under its hostile search_path.
SET ROLE spa_owner;
CREATE TABLE spa.t2 (id bigint PRIMARY KEY, v bigint NOT NULL DEFAULT 1,
                     status text NOT NULL DEFAULT 'draft', changed timestamptz)
    USING steward;
INSERT INTO spa.t2 (id) SELECT g FROM pg_catalog.generate_series(1, 5) g;
SET search_path = spa_evil, pg_catalog, spa;
SELECT steward.create_state_machine('spa_m', ARRAY['draft', 'live', 'gone'], ARRAY['draft'],
                                    ARRAY['draft->live', 'live->gone']);
SELECT steward.grant_state_machine('spa_m', 'spa_owner');
SELECT steward.revoke_state_machine('spa_m', 'spa_owner');
SELECT steward.track_versions('spa.t2', 'v');
SELECT steward.attach_state_machine('spa.t2', 'status', 'spa_m', 'changed');
SELECT steward.set_state_check('spa.t2', 'live', 'SELECT count(*) FROM t2 WHERE v < 1');
SELECT state, passed, violations FROM steward.validate('spa.t2');
SELECT steward.set_retention('spa.t2', '1 day');
CALL steward.run_transition('spa.t2', 'draft', 'live', NULL, 2);
CALL steward.run_transition('spa.t2', 'live', 'gone', 'v = v', 2);
SELECT "check", passed FROM steward.verify('spa.t2');
-- A column migration, its backfill (procedure) and its end.
SELECT steward.migration_start('spa_mig', '[{"add_column": {"table": "t2",
        "column": "note", "type": "text", "up": "upper(status)"}}]');
INSERT INTO spa.t2 (id) VALUES (6);
CALL steward.migration_backfill('spa_mig', 2);
SELECT "check", passed FROM steward.migration_validate('spa_mig');
SELECT steward.migration_complete('spa_mig');
SELECT steward.migration_cleanup('spa_mig');
-- An index migration: the build worker logs in as the session's user and
-- starts with that role's settings (here a hostile search_path), and pins
-- search_path before its first transaction.
ALTER ROLE spa_owner SET search_path = spa_evil, pg_catalog, spa;
\c - spa_owner
SHOW search_path;
SELECT steward.migration_start('spa_ix', '[{"create_index": {"table": "t2",
        "name": "t2_live", "definition": "(id)", "where": "status <> ''draft''"}}]');
CALL steward.migration_backfill('spa_ix');
ALTER ROLE spa_owner RESET search_path;
SELECT phase, result FROM steward.migrations WHERE name OPERATOR(pg_catalog.=) 'spa_ix';
SELECT "check", passed FROM steward.migration_validate('spa_ix') WHERE "check" LIKE 'index %';
SELECT steward.migration_complete('spa_ix');
SELECT steward.migration_cleanup('spa_ix');
-- A relayout and its backfill (another procedure).
CREATE TABLE spa.t4 (id bigint PRIMARY KEY, n integer NOT NULL DEFAULT 0) USING steward;
INSERT INTO spa.t4 (id) SELECT g FROM pg_catalog.generate_series(1, 6) g;
SELECT steward.migration_start('spa_rl', '[{"relayout": {"table": "t4",
        "partition_by": "HASH (id)", "partitions": 2}}]');
UPDATE spa.t4 SET n = 1;
CALL steward.migration_backfill('spa_rl', 4);
SELECT "check", passed FROM steward.migration_validate('spa_rl');
SELECT steward.migration_complete('spa_rl');
SELECT steward.migration_cleanup('spa_rl');
-- The event triggers (SECURITY DEFINER, pinned) on the owner's DDL.
ALTER TABLE spa.t2 RENAME COLUMN changed TO changed_at;
ALTER TABLE spa.t2 ADD COLUMN extra integer;
ALTER TABLE spa.t2 DROP COLUMN extra;
SELECT steward.detach_state_machine('spa.t2', 'status');
SELECT steward.untrack('spa.t2', 'v');
SELECT steward.drop_state_machine('spa_m');
SELECT steward.set_retention('spa.t2', NULL);
SELECT object_type, action FROM steward.release('spa.t2');
DROP TABLE spa.t4;
\c - :spa_super
SELECT * FROM spa_log;

-- 3. Code the table's owner wrote runs as the owner, also when a superuser
-- (under a hostile search_path of its own) calls the entry points that
-- read or write the table: here the owner's trigger records who ran it and
-- the index expression raises for anybody else.
SET ROLE spa_owner;
CREATE TABLE spa.t3 (id bigint PRIMARY KEY, v bigint NOT NULL DEFAULT 1,
                     status text NOT NULL DEFAULT 'draft') USING steward;
INSERT INTO spa.t3 (id) SELECT g FROM pg_catalog.generate_series(1, 4) g;
CREATE FUNCTION spa.seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.spa_seen VALUES (current_user, TG_OP);
    RETURN NEW;
END $$;
CREATE TRIGGER t3_seen BEFORE UPDATE ON spa.t3 FOR EACH ROW EXECUTE FUNCTION spa.seen();
CREATE INDEX t3_guarded ON spa.t3 ((id + spa.guard(0)));
SELECT steward.track_versions('spa.t3', 'v');
SELECT steward.create_state_machine('spa_m3', ARRAY['draft', 'live'], ARRAY['draft'],
                                    ARRAY['draft->live']);
SELECT steward.attach_state_machine('spa.t3', 'status', 'spa_m3');
SELECT steward.set_state_check('spa.t3', 'live', 'SELECT count(*) FROM t3 WHERE v < 1');
-- Keys of a domain type whose CHECK is the owner's code: run_transition
-- reads the key it resumes after with the type's input function.
CREATE FUNCTION spa.key_ok(bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.spa_seen VALUES (current_user, 'domain check');
    RETURN true;
END $$;
CREATE DOMAIN spa.k AS bigint CHECK (spa.key_ok(VALUE));
CREATE TABLE spa.t5 (id spa.k PRIMARY KEY, status text NOT NULL DEFAULT 'draft') USING steward;
CREATE TABLE spa.t6 (a spa.k, b spa.k, status text NOT NULL DEFAULT 'draft',
                     PRIMARY KEY (a, b)) USING steward;
INSERT INTO spa.t5 (id) SELECT g FROM pg_catalog.generate_series(1, 5) g;
INSERT INTO spa.t6 (a, b) SELECT g, g FROM pg_catalog.generate_series(1, 5) g;
SELECT steward.attach_state_machine('spa.t5', 'status', 'spa_m3');
SELECT steward.attach_state_machine('spa.t6', 'status', 'spa_m3');
RESET ROLE;
\c
SET search_path = spa_evil, pg_catalog, public;
SELECT state, passed, violations FROM steward.validate('spa.t3');
CALL steward.run_transition('spa.t3', 'draft', 'live', NULL, 3);
CALL steward.run_transition('spa.t5', 'draft', 'live', NULL, 2);
CALL steward.run_transition('spa.t6', 'draft', 'live', NULL, 2);
SELECT "check", passed FROM steward.verify('spa.t3');
SELECT count(*) AS ranges FROM steward.checksum_ranges('spa.t3', 'id', 2);
SELECT state, rows FROM steward.state_counts WHERE relid OPERATOR(pg_catalog.=) 'spa.t3'::regclass;
-- The label path's check of a state (revoked from PUBLIC; a superuser
-- calling it directly still gets pg_catalog's operators).
SELECT steward._validate_state_check('spa_m3', 'live', 'SELECT 0');
RESET search_path;
SELECT DISTINCT who, what FROM spa_seen ORDER BY 1, 2;
SELECT * FROM spa_log;

-- Clean up.
DROP TABLE spa.lab, spa.t2, spa.t3, spa.t5, spa.t6, public.spa_seen;
SELECT steward.drop_state_machine('spa_m3');
SELECT steward.drop_state_machine('spa_lab_m');
SET client_min_messages = warning;
DROP SCHEMA spa, spa_evil CASCADE;
RESET client_min_messages;
DROP TABLE spa_log;
SELECT format('REVOKE CREATE ON DATABASE %I FROM spa_owner', current_database()) \gexec
DROP ROLE spa_owner;

-- This file's migration records go: a later file may count them.
CREATE TEMP TABLE gone (name) AS VALUES ('spa_mig'), ('spa_ix'), ('spa_rl');
\i test/sql/drop_migration_records.sql
