-- codereview12 Q1, Q2 (drop8): DROP OWNED judges, before it locks
-- anything, whether core's part will refuse the drop (it then locks
-- nothing and core's error comes at once).  Q1: a row-level security
-- policy of another role naming only the dropped role is dropped by core's
-- part (shdepDropOwned), so its call of the role's function is no reason
-- to refuse; it was taken for one, DROP OWNED locked nothing, core's part
-- dropped the policy and the role's table, and DROP OWNED then waited for
-- the transaction using the role's machine (lock_timeout: 55P03) instead
-- of refusing at once the machine still attached to a kept table.  Q2:
-- an owned member of an extension the role does not own makes core refuse
-- even with CASCADE; it was taken for a drop that succeeds, and DROP
-- OWNED waited (55P03) before core's error.  One session: the transaction
-- using the machine is a prepared transaction.  (Isolation
-- drop8_drop_owned_policy and drop8_drop_owned_extension show a reader
-- not waiting, and the 55006 of a drop judged wrongly.)
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r270_r;
CREATE ROLE r270_u;
GRANT CREATE ON SCHEMA public TO r270_r, r270_u;
CREATE TABLE r270_x (id int PRIMARY KEY, st text) USING steward;
CREATE TABLE r270_y (id int PRIMARY KEY, st text) USING steward;
SET SESSION AUTHORIZATION r270_r;
SELECT steward.create_state_machine('r270_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE FUNCTION r270_f() RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
GRANT EXECUTE ON FUNCTION r270_f() TO PUBLIC;
CREATE TABLE r270_rt (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('r270_rt', 'st', 'r270_m');
SET SESSION AUTHORIZATION r270_u;
CREATE TABLE r270_ut (id int);
ALTER TABLE r270_ut ENABLE ROW LEVEL SECURITY;
CREATE POLICY r270_p ON r270_ut TO r270_r USING (r270_f());
RESET SESSION AUTHORIZATION;
-- r270_m stays attached to r270_y, a table core's part keeps.
SELECT steward.attach_state_machine('r270_y', 'st', 'r270_m');

-- 1. The policy names r270_r alone: core's part would drop it.  The
-- machine attached to r270_y is refused at once (2BP01), while a
-- transaction using r270_m stays open; before, 55P03 after core's part.
BEGIN;
SELECT steward.attach_state_machine('r270_x', 'st', 'r270_m');
PREPARE TRANSACTION 'r270_use';
SET lock_timeout = '1s';
DROP OWNED BY r270_r;
-- A policy naming another role too keeps its call of r270_f(): core's
-- part refuses (its message), at once.
ALTER POLICY r270_p ON r270_ut TO r270_r, r270_u;
DROP OWNED BY r270_r;
ALTER POLICY r270_p ON r270_ut TO r270_r;
-- Dropping both roles' objects drops the policy: 2BP01 again.
DROP OWNED BY r270_r, r270_u;
RESET lock_timeout;
ROLLBACK PREPARED 'r270_use';
SELECT steward.detach_state_machine('r270_y', 'st');
-- Nothing in use: the drop goes through, the policy with it.
DROP OWNED BY r270_r;
SELECT count(*) AS policies FROM pg_policy WHERE polname = 'r270_p';
SELECT count(*) AS tables FROM pg_class WHERE relname = 'r270_rt';
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name = 'r270_m';

-- 2. r270_r owns autoinc(), a member of an extension it does not own:
-- core refuses even with CASCADE, and DROP OWNED no longer waits for the
-- transaction using the role's machine first.
CREATE EXTENSION autoinc;
ALTER FUNCTION autoinc() OWNER TO r270_r;
GRANT CREATE ON SCHEMA public TO r270_r;
SET SESSION AUTHORIZATION r270_r;
SELECT steward.create_state_machine('r270_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE TABLE r270_rt (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('r270_rt', 'st', 'r270_m');
RESET SESSION AUTHORIZATION;
BEGIN;
SELECT steward.attach_state_machine('r270_x', 'st', 'r270_m');
PREPARE TRANSACTION 'r270_use';
SET lock_timeout = '1s';
DROP OWNED BY r270_r;
DROP OWNED BY r270_r CASCADE;
RESET lock_timeout;
ROLLBACK PREPARED 'r270_use';
-- Without the extension the drop goes through.
DROP EXTENSION autoinc;
DROP OWNED BY r270_r CASCADE;
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name = 'r270_m';

-- 3. None of a role's usual objects is taken for a refusal: a table with
-- a key, an identity and a serial column, a composite, domain, enum and
-- range type (its multirange is internal to it), a view, a materialized
-- view, a partitioned table with a partition and an index, a trigger, a
-- foreign key, a policy on its table and r270_u's policy naming it
-- alone.  The machine attached to r270_y is refused at once (2BP01), with
-- and without CASCADE; a drop misjudged as core's refusal would give
-- 55006 after core's part instead.
GRANT CREATE ON SCHEMA public TO r270_r;
SET SESSION AUTHORIZATION r270_r;
SELECT steward.create_state_machine('r270_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE FUNCTION r270_f() RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
GRANT EXECUTE ON FUNCTION r270_f() TO PUBLIC;
CREATE TABLE r270_rt (id int PRIMARY KEY, st text, g int GENERATED ALWAYS AS IDENTITY, s serial) USING steward;
SELECT steward.attach_state_machine('r270_rt', 'st', 'r270_m');
CREATE TYPE r270_comp AS (a int, b text);
CREATE DOMAIN r270_dom AS int CHECK (VALUE > 0);
CREATE TYPE r270_enum AS ENUM ('a', 'b');
CREATE TYPE r270_range AS RANGE (subtype = int);
CREATE VIEW r270_v AS SELECT id FROM r270_rt;
CREATE MATERIALIZED VIEW r270_mv AS SELECT id FROM r270_rt;
CREATE TABLE r270_pt (id int, d r270_dom) PARTITION BY RANGE (id);
CREATE TABLE r270_pt1 PARTITION OF r270_pt FOR VALUES FROM (0) TO (10);
CREATE INDEX ON r270_pt (id);
CREATE TABLE r270_ft (id int REFERENCES r270_rt (id), e r270_enum, r r270_range);
CREATE FUNCTION r270_tf() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER r270_tr BEFORE INSERT ON r270_ft FOR EACH ROW EXECUTE FUNCTION r270_tf();
ALTER TABLE r270_ft ENABLE ROW LEVEL SECURITY;
CREATE POLICY r270_own ON r270_ft USING (r270_f());
RESET SESSION AUTHORIZATION;
CREATE POLICY r270_p ON r270_ut TO r270_r USING (r270_f());
SELECT steward.attach_state_machine('r270_y', 'st', 'r270_m');
BEGIN;
SELECT steward.attach_state_machine('r270_x', 'st', 'r270_m');
PREPARE TRANSACTION 'r270_use';
SET lock_timeout = '1s';
DROP OWNED BY r270_r;
DROP OWNED BY r270_r CASCADE;
RESET lock_timeout;
ROLLBACK PREPARED 'r270_use';
SELECT steward.detach_state_machine('r270_y', 'st');
DROP OWNED BY r270_r;
SELECT count(*) AS objects FROM pg_shdepend s JOIN pg_roles r ON r.oid = s.refobjid
 WHERE r.rolname = 'r270_r' AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database());

DROP TABLE r270_x, r270_y;
DROP OWNED BY r270_u;
REVOKE CREATE ON SCHEMA public FROM r270_r, r270_u;
DROP ROLE r270_r, r270_u;
