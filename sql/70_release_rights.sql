-- steward.release() rebuilds each steward_hash index and EXCLUDE
-- constraint as a core one, as the table's owner: that owner needs CREATE
-- on the table's schema (and on the index's tablespace), as anyone who
-- builds an index there does.  Without it the release refuses up front
-- with 42501 naming the role, the schema or tablespace and the GRANT, and
-- changes nothing; a table with no steward_hash index needs no CREATE.
-- Runs in its own database, which it drops at the end.
SELECT current_database() AS regress_db \gset
CREATE DATABASE steward_release_rights TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C';
\c steward_release_rights
SET client_min_messages = warning;
CREATE EXTENSION pg_steward;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE ROLE rr_owner;
CREATE SCHEMA rr_app;
CREATE SCHEMA rr_parts;
CREATE SCHEMA rr_mine AUTHORIZATION rr_owner;
GRANT USAGE, CREATE ON SCHEMA rr_app, rr_parts TO rr_owner;
SET allow_in_place_tablespaces = on;
CREATE TABLESPACE rr_space LOCATION '';
RESET allow_in_place_tablespaces;
GRANT CREATE ON TABLESPACE rr_space TO rr_owner;

SET ROLE rr_owner;
CREATE TABLE rr_app.orders (id int, request text,
    CONSTRAINT orders_once EXCLUDE USING steward_hash (request WITH =)) USING steward;
CREATE INDEX orders_id ON rr_app.orders USING steward_hash (id);
INSERT INTO rr_app.orders SELECT g, 'r' || g FROM generate_series(1, 20) g;
-- No steward_hash index: switching to heap builds no new index.
CREATE TABLE rr_app.plain (id int PRIMARY KEY) USING steward;
INSERT INTO rr_app.plain SELECT generate_series(1, 5);
-- A partition in another schema: its index is rebuilt there.
CREATE TABLE rr_app.events (id int, k text) PARTITION BY RANGE (id);
CREATE TABLE rr_parts.events_1 PARTITION OF rr_app.events FOR VALUES FROM (0) TO (100) USING steward;
CREATE INDEX events_k ON rr_app.events USING steward_hash (k);
INSERT INTO rr_app.events SELECT g, 'k' || g FROM generate_series(1, 10) g;
-- An index in a tablespace, in a schema of the owner's own.
CREATE TABLE rr_mine.spaced (id int) USING steward;
CREATE INDEX spaced_id ON rr_mine.spaced USING steward_hash (id) TABLESPACE rr_space;
RESET ROLE;

-- The owner loses CREATE (as in PostgreSQL 15's public schema).
REVOKE CREATE ON SCHEMA rr_app, rr_parts FROM rr_owner;
REVOKE CREATE ON TABLESPACE rr_space FROM rr_owner;

-- What each relation is made of.
CREATE FUNCTION ams() RETURNS TABLE (name name, am name)
LANGUAGE sql AS $$
SELECT c.relname, a.amname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_am a ON a.oid = c.relam
 WHERE n.nspname IN ('rr_app', 'rr_parts', 'rr_mine') AND c.relkind IN ('r', 'i', 'I', 'p')
 ORDER BY 1
$$;
SELECT * FROM ams();

SET ROLE rr_owner;
SELECT * FROM steward.release('rr_app.orders');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward.release('rr_app.events');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM steward.release('rr_mine.spaced');
\echo :LAST_ERROR_SQLSTATE
-- A table without steward_hash indexes needs no CREATE.
SELECT * FROM steward.release('rr_app.plain');
RESET ROLE;

-- A superuser's call is refused the same way: the owner builds.
SELECT count(*) FROM steward.release_all();
\echo :LAST_ERROR_SQLSTATE
-- Nothing changed.
SELECT * FROM ams();
INSERT INTO rr_app.orders VALUES (21, 'r1');
\echo :LAST_ERROR_SQLSTATE

-- The GRANT the HINT names is all it takes.
GRANT CREATE ON SCHEMA rr_app TO rr_owner;
SELECT * FROM steward.release('rr_app.orders') ORDER BY object_type, object_name;
SELECT * FROM steward.release('rr_app.events');
\echo :LAST_ERROR_SQLSTATE
GRANT CREATE ON SCHEMA rr_parts TO rr_owner;
GRANT CREATE ON TABLESPACE rr_space TO rr_owner;
SELECT * FROM steward.release_all() ORDER BY relid::text, object_type, object_name;
SELECT * FROM ams();
INSERT INTO rr_app.orders VALUES (21, 'r1');
\echo :LAST_ERROR_SQLSTATE

DROP TABLE rr_mine.spaced;
DROP EXTENSION pg_steward;
\c :regress_db
DROP DATABASE steward_release_rights;
DROP TABLESPACE rr_space;
DROP ROLE rr_owner;
