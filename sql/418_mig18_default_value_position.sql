-- steward._migration_default_value (the value of an add_column's or an
-- alter_column's "default", which migration_start evaluates once) put an
-- error's caret into the caller's statement: for "invalid input syntax
-- for type integer" the LINE pointed at the first characters of the
-- SELECT that called it (codereview18 C7).  Now a position counts in the
-- default's own text, shown as QUERY with its LINE, under a CONTEXT
-- naming the default, as _migration_expr shows the user's expressions;
-- _migration_fast_default's analysis too.  migration_start names the
-- step's column, and its message no position.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT errors

SELECT steward._migration_default_value('''abc''', 'integer');
SELECT steward._migration_default_value('''2020-13-45''::date', 'date');
SELECT steward._migration_default_value('''x''', 'int4range');
SELECT steward._migration_default_value('''toolong''', 'varchar(3)');
SELECT steward._migration_default_value('1 / 0', 'integer');
SELECT steward._migration_fast_default('''abc''', 'integer');
-- Values still come back.
SELECT steward._migration_default_value('''12''', 'integer') AS twelve,
       steward._migration_fast_default('''12''', 'integer') AS fast;

-- At start: the step's column named, no LINE into the caller's statement.
CREATE TABLE t418 (id int PRIMARY KEY, q int, s text) USING steward;
INSERT INTO t418 VALUES (1, 1, 'a');
SELECT steward.migration_start('m418_1', '[{"add_column": {"table": "t418", "column": "p", "type": "int", "default": "(''abc''::text)::int"}}]');
SELECT steward.migration_start('m418_2', '[{"alter_column": {"table": "t418", "column": "s", "type": "varchar(2)", "default": "''abc''"}}]');
SELECT count(*) AS migrations FROM steward.migrations WHERE name LIKE 'm418%';

DROP TABLE t418;
