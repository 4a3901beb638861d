-- fuzz52: steward._release_method (PUBLIC, called by release) refused a
-- relation that is no index with its OID ("relation with OID 16390 is
-- not an index"), meaningless to a user who passed it by name.  It names
-- an existing relation of every kind; only an OID with no relation keeps
-- the OID.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE TABLE fz495_t (id int PRIMARY KEY, note text);
CREATE VIEW fz495_v AS SELECT 1 AS a;
CREATE SEQUENCE fz495_s;
CREATE TABLE fz495_p (a int) PARTITION BY RANGE (a);
SELECT steward._release_method('fz495_t');
SELECT steward._release_method('fz495_v');
SELECT steward._release_method('fz495_s');
SELECT steward._release_method('fz495_p');
SELECT steward._release_method('pg_class');
SELECT steward._release_method(0);
DROP TABLE fz495_t, fz495_p;
DROP VIEW fz495_v;
DROP SEQUENCE fz495_s;
-- An index of another access method is refused (42809), not judged by
-- its strategy 1 (btree's "<"), which told a btree primary key over
-- integer that integer "has neither a btree comparison nor a hash
-- function".
CREATE TABLE fz495_k (id int PRIMARY KEY, k text);
CREATE INDEX fz495_k_hash ON fz495_k USING hash (k);
SELECT steward._release_method('fz495_k_pkey');
SELECT steward._release_method('fz495_k_hash');
CREATE INDEX fz495_k_steward ON fz495_k USING steward_hash (k);
SELECT steward._release_method('fz495_k_steward');
DROP TABLE fz495_k;
