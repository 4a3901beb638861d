-- sec3 F1: the migration guards read the columns an index covers (a
-- DROP INDEX of a unique index of a table under a column migration asks
-- whether it covers a migrated column) through
-- RelationGetIndexExpressions, which folds the index's expressions and
-- predicate with eval_const_expressions: the index owner's immutable
-- function ran in the session of whoever dropped the index, with that
-- role's rights, and a superuser's DROP INDEX made the owner superuser.
-- The guard now reads the stored trees and evaluates nothing; core's
-- DROP INDEX evaluates nothing either.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r290_owner;
CREATE SCHEMA r290 AUTHORIZATION r290_owner;
SELECT format('GRANT CREATE ON DATABASE %I TO r290_owner', current_database()) \gexec
SET ROLE r290_owner;
CREATE TABLE r290.runs (who name, ran_as_superuser boolean);
GRANT INSERT ON r290.runs TO PUBLIC;
-- Records who runs it; makes its owner superuser when a superuser does.
CREATE FUNCTION r290.note(tag text) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO r290.runs
    SELECT current_user, rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user;
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE r290_owner SUPERUSER';
    END IF;
    RETURN 0;
END $$;
CREATE FUNCTION r290.fold(tag text) RETURNS integer LANGUAGE plpgsql IMMUTABLE AS
    $$ BEGIN RETURN r290.note(tag); END $$;
CREATE TABLE r290.t (id int PRIMARY KEY, a int) USING steward;
INSERT INTO r290.t SELECT g, g FROM generate_series(1, 10) g;
-- A unique expression index and a unique partial index.
CREATE UNIQUE INDEX r290_expr ON r290.t ((id + r290.fold('expression')));
CREATE UNIQUE INDEX r290_pred ON r290.t (id) WHERE r290.fold('predicate') = 0 AND a > 0;
SELECT steward.migration_start('r290_mig', $$[
  {"add_column": {"table": "r290.t", "column": "b", "type": "int", "up": "a"}}
]$$);
TRUNCATE r290.runs;
RESET ROLE;
-- A new session: this one's relation cache folded the expressions as
-- their owner already (planning the start's reads).
\c -
\set SHOW_CONTEXT never

-- The superuser drops both (the guard asks whether they cover a migrated
-- column: they do not): nothing of the owner's runs, the owner stays an
-- ordinary role.  Before: a row of runs per index, as the superuser, and
-- rolsuper true.
DROP INDEX r290.r290_expr;
DROP INDEX r290.r290_pred;
SELECT who = current_user AS as_caller, ran_as_superuser FROM r290.runs;
SELECT rolsuper FROM pg_roles WHERE rolname = 'r290_owner';

SELECT steward.migration_rollback('r290_mig');
CREATE TEMP TABLE gone AS SELECT 'r290_mig'::text AS name;
\i test/sql/drop_migration_records.sql
ALTER ROLE r290_owner NOSUPERUSER;
DROP SCHEMA r290 CASCADE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM r290_owner', current_database()) \gexec
DROP ROLE r290_owner;
