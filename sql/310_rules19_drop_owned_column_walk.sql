-- rules19 item 4: DROP OWNED ... CASCADE judges whether core's part will
-- refuse a member of another role's extension owned by the role: not
-- when an object of the role that core takes first reaches the member
-- (ROLE_MEMBER_REACHED_SQL walks back from the member).  The walk took a
-- column for its table: from the member view's dependency on column c1
-- of another role's table it went on to the table and then to what any
-- of its columns depends on, the role's newer domain, which core's part
-- drops with column c3 only.  So DROP OWNED judged that the drop goes
-- through and refused it (2BP01) for the role's machine attached to a
-- kept table, where core's part refuses it for the member view; now the
-- walk follows the column alone and core's own error comes.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE EXTENSION insert_username;
CREATE ROLE r310_r;
GRANT CREATE ON SCHEMA public TO r310_r;
CREATE TABLE r310_x (id int PRIMARY KEY, st text) USING steward;
CREATE TABLE r310_t (c1 int, c2 int);
SET SESSION AUTHORIZATION r310_r;
SELECT steward.create_state_machine('r310_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE VIEW r310_v AS SELECT c1 FROM r310_t;
CREATE DOMAIN r310_d AS int;
RESET SESSION AUTHORIZATION;
ALTER TABLE r310_t ADD COLUMN c3 r310_d;
ALTER EXTENSION insert_username ADD VIEW r310_v;
SELECT steward.attach_state_machine('r310_x', 'st', 'r310_m');
-- Core's part drops r310_d with column c3, and refuses r310_v, which
-- insert_username requires: its error, not the machine's.
DROP OWNED BY r310_r CASCADE;
SELECT count(*) AS kept FROM pg_class WHERE relname = 'r310_v';
-- With the view out of the extension, the machine's refusal comes.
ALTER EXTENSION insert_username DROP VIEW r310_v;
DROP OWNED BY r310_r CASCADE;
SELECT steward.detach_state_machine('r310_x', 'st');
DROP OWNED BY r310_r CASCADE;
SELECT attname FROM pg_attribute
 WHERE attrelid = 'r310_t'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum;
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name = 'r310_m';
DROP EXTENSION insert_username;
DROP TABLE r310_t, r310_x;
REVOKE CREATE ON SCHEMA public FROM r310_r;
DROP ROLE r310_r;
