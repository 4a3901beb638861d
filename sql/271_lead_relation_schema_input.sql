-- steward._require_relation_schema (a migration step's relation name as
-- typed; codereview12 Q5): a name core's regclass input refuses before
-- its schema leaves the refusal to the caller's cast, so the user gets
-- core's error (42601 too many dotted names, 0A000 another database), not
-- a 3F000 naming a middle part as a schema; NULL is not a schema.
\set VERBOSITY terse
SELECT 'a.b.c.d'::regclass;
SELECT steward._require_relation_schema('a.b.c.d', 'step 1');
SELECT steward.migration_start('l271_a', $$[{"add_column": {"table": "a.b.c.d", "column": "c", "type": "int"}}]$$);
SELECT 'otherdb.b.c'::regclass;
SELECT steward._require_relation_schema('otherdb.b.c', 'step 1');
SELECT steward.migration_start('l271_b', $$[{"add_column": {"table": "otherdb.b.c", "column": "c", "type": "int"}}]$$);
SELECT steward._require_relation_schema(NULL, NULL);
-- The current database's name as the first of three parts is core's
-- schema check again: 3F000 for a missing schema.
SELECT format('%I.nosuch.t', current_database())::regclass;
SELECT steward._require_relation_schema(format('%I.nosuch.t', current_database()), 'step 1');
SELECT steward._require_relation_schema('nosuch.t', 'step 1');
SELECT steward._require_relation_schema('t', 'step 1');
SELECT name FROM steward.migration_runs WHERE name LIKE 'l271\_%';
