-- Leftovers of the guarantees (trust3):
-- 1. DROP EXTENSION pg_steward CASCADE drops no user object: besides the
--    kinds 60_release checks, the guard names a user's operator family or
--    class for steward_hash, a publication's entry for one of its tables,
--    a statistics object, a rule, a sequence owned by a column
--    of one of its tables, a trigger on one of them running a
--    user's function, a trigger on a user table running one of its
--    functions, a cast over one of its types and an event trigger running
--    one of its functions.
-- 2. A rule never lands on a table that does not use the steward access
--    method, by a label or by a row of steward.column_rules (42809).
-- 3. steward.set_retention takes 0 < retention <= 36500 days (22023).
-- 4. A relayout backfill's governor job names its table schema-qualified.
-- Runs in its own database, which it drops at the end.
SELECT current_database() AS regress_db \gset
CREATE DATABASE steward_guard;
\c steward_guard
SET client_min_messages = warning;
CREATE EXTENSION pg_steward;
RESET client_min_messages;
\set VERBOSITY default

-- 1. Each kind alone: refused, naming it; the object is still there.
CREATE OPERATOR CLASS my_int4_ops FOR TYPE int4 USING steward_hash AS
    OPERATOR 1 = (int4, int4), FUNCTION 1 hashint4extended(int4, int8);
DROP EXTENSION pg_steward CASCADE;
SELECT opcname, opfname FROM pg_opclass c JOIN pg_opfamily f ON f.oid = c.opcfamily
 WHERE opcname = 'my_int4_ops';
DROP OPERATOR FAMILY my_int4_ops USING steward_hash;
CREATE OPERATOR FAMILY my_family USING steward_hash;
DROP EXTENSION pg_steward CASCADE;
DROP OPERATOR FAMILY my_family USING steward_hash;
-- A user's class in one of the extension's families.
CREATE OPERATOR CLASS my_oid_in_theirs FOR TYPE oid USING steward_hash
    FAMILY steward.integer_ops AS
    OPERATOR 1 = (oid, oid), FUNCTION 1 hashoidextended(oid, int8);
DROP EXTENSION pg_steward CASCADE;
DROP OPERATOR CLASS my_oid_in_theirs USING steward_hash;

-- Publications: CASCADE would silently take the table out of one that
-- names it.  FOR TABLES IN SCHEMA steward and FOR ALL TABLES name no
-- table of the extension: they keep their definition either way.
SET client_min_messages = error;
CREATE PUBLICATION pub_tables FOR TABLE steward.table_retention;
CREATE PUBLICATION pub_schema FOR TABLES IN SCHEMA steward;
CREATE PUBLICATION pub_all FOR ALL TABLES;
RESET client_min_messages;
DROP EXTENSION pg_steward CASCADE;
SELECT pubname, count(*) AS tables FROM pg_publication_tables
 WHERE schemaname = 'steward' AND pubname <> 'pub_all' GROUP BY 1 ORDER BY 1;
DROP PUBLICATION pub_tables, pub_schema, pub_all;

CREATE STATISTICS my_stats (dependencies) ON relid, retention FROM steward.table_retention;
DROP EXTENSION pg_steward CASCADE;
DROP STATISTICS my_stats;
CREATE RULE my_rule AS ON INSERT TO steward.table_retention DO ALSO NOTIFY retention_set;
DROP EXTENSION pg_steward CASCADE;
DROP RULE my_rule ON steward.table_retention;
CREATE SEQUENCE steward.my_seq OWNED BY steward.table_retention.relid;
DROP EXTENSION pg_steward CASCADE;
DROP SEQUENCE steward.my_seq;
CREATE FUNCTION my_trigger_fn() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER my_trigger BEFORE INSERT ON steward.table_retention
    FOR EACH ROW EXECUTE FUNCTION my_trigger_fn();
DROP EXTENSION pg_steward CASCADE;
DROP TRIGGER my_trigger ON steward.table_retention;
DROP FUNCTION my_trigger_fn();
CREATE TABLE my_rules_copy (LIKE steward.column_rules);
CREATE TRIGGER my_merge BEFORE INSERT ON my_rules_copy
    FOR EACH ROW EXECUTE FUNCTION steward._column_rules_merge();
DROP EXTENSION pg_steward CASCADE;
DROP TABLE my_rules_copy;
CREATE CAST (steward.tracked_columns AS text) WITH INOUT;
DROP EXTENSION pg_steward CASCADE;
DROP CAST (steward.tracked_columns AS text);
CREATE EVENT TRIGGER my_event_trigger ON ddl_command_start
    EXECUTE FUNCTION steward._load_label_provider();
DROP EXTENSION pg_steward CASCADE;
DROP EVENT TRIGGER my_event_trigger;
-- With all of them gone, nothing is in the way (no false alarm).
DROP EXTENSION pg_steward;
SET client_min_messages = warning;
CREATE EXTENSION pg_steward;
RESET client_min_messages;

-- 2. Rules only on steward tables, whichever way they arrive.
CREATE TABLE plain_orders (id int PRIMARY KEY, version bigint);
SECURITY LABEL FOR steward ON COLUMN plain_orders.version IS '{"v": 1, "kind": "version"}';
INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('plain_orders', 'version', 'version');
-- Removing a label is fine (there is none to remove).
SECURITY LABEL FOR steward ON COLUMN plain_orders.version IS NULL;
SELECT count(*) AS unenforced_rules FROM steward.tracked_columns WHERE NOT enforced;
-- Converted first, the label is taken and enforced.
ALTER TABLE plain_orders SET ACCESS METHOD steward;
SECURITY LABEL FOR steward ON COLUMN plain_orders.version IS '{"v": 1, "kind": "version"}';
SELECT relid, column_name, kind, enforced FROM steward.tracked_columns
 WHERE relid = 'plain_orders'::regclass;
-- A rule row moved onto a heap table is refused too.
CREATE TABLE plain_other (id int, version bigint);
UPDATE steward.column_rules SET relid = 'plain_other'::regclass
 WHERE relid = 'plain_orders'::regclass;
SELECT * FROM steward.release('plain_orders') ORDER BY 2, 3;
DROP TABLE plain_orders, plain_other;

-- 3. Retention: more than 0, at most 36500 days.
CREATE TABLE kept (id int) USING steward;
SELECT steward.set_retention('kept', interval '178956970 years');
SELECT steward.set_retention('kept', interval '36501 days');
SELECT steward.set_retention('kept', interval '-1 day');
SELECT steward.set_retention('kept', interval '0');
SELECT steward.set_retention('kept', interval '100 years');
SELECT steward.set_retention('kept', interval '36500 days');
SELECT relid, retention FROM steward.table_retention;
SELECT * FROM steward.release('kept') ORDER BY 2, 3;
DROP TABLE kept;

-- 4. A relayout backfill run with the table's schema on the search_path:
-- its governor job still names it schema-qualified.
CREATE SCHEMA gl;
CREATE TABLE gl.moved (id bigint PRIMARY KEY, v text) USING steward;
INSERT INTO gl.moved SELECT g, 'v' || g FROM generate_series(1, 100) g;
SET search_path = gl, public;
SELECT steward.migration_start('gl_relayout', '[{"relayout": {"table": "moved", "partition_by": "HASH (id)", "partitions": 2}}]') IS NOT NULL AS started;
CALL steward.migration_backfill('gl_relayout');
RESET search_path;
SELECT kind, label FROM steward.governor_jobs WHERE label LIKE 'gl_relayout%' ORDER BY job_id;

\c :regress_db
DROP DATABASE steward_guard;
