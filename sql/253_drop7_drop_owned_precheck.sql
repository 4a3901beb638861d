-- codereview9 L1 (drop7): DROP OWNED BY a role one of whose state machines
-- stays attached to a table that core's part does not drop refuses
-- (2BP01) before it locks any table: it used to lock the tables core's
-- part drops, wait for every transaction using the role's machines while
-- holding them, and only then fail.  The check leaves out the rules on
-- what core's part drops (the role's own tables, another role's
-- partition of the role's partitioned table, with CASCADE a column in
-- the role's collation), so a drop that can succeed is not refused.  A
-- drop that core's part refuses (without CASCADE, another role's object
-- depends on the role's) is seen first: nothing is locked and core's
-- error comes at once.  One session: the transaction using the machine
-- is a prepared transaction.  (Isolation drop7_drop_owned_precheck and
-- drop7_drop_owned_restrict show a reader not waiting.)
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
CREATE ROLE r253_r;
CREATE ROLE r253_b;
GRANT CREATE ON SCHEMA public TO r253_r, r253_b;
CREATE TABLE r253_x (id int PRIMARY KEY, st text) USING steward;
SET SESSION AUTHORIZATION r253_r;
SELECT steward.create_state_machine('r253_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.create_state_machine('r253_n', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
SELECT steward.grant_state_machine('r253_m', 'r253_b');
SELECT steward.grant_state_machine('r253_n', 'r253_b');
CREATE TABLE r253_rt (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('r253_rt', 'st', 'r253_m');
CREATE TABLE r253_p (id int, st text) PARTITION BY RANGE (id);
CREATE COLLATION r253_c FROM "C";
SET SESSION AUTHORIZATION r253_b;
CREATE TABLE r253_bt (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('r253_bt', 'st', 'r253_m');
RESET SESSION AUTHORIZATION;

-- 1. A transaction using r253_r's machines stays open (prepared: it holds
-- r253_r's lock tag).  DROP OWNED BY r253_r is refused at once, with or
-- without CASCADE, naming the table it keeps only (r253_rt, which core's
-- part drops, is left out); before, it waited for that transaction
-- (lock_timeout: 55P03) and failed the same way once it had ended.
BEGIN;
SELECT steward.attach_state_machine('r253_x', 'st', 'r253_n');
PREPARE TRANSACTION 'r253_use';
SET lock_timeout = '1s';
DROP OWNED BY r253_r;
DROP OWNED BY r253_r CASCADE;
-- Machines in name order, as the check after core's part drops them.
SET SESSION AUTHORIZATION r253_b;
CREATE TABLE r253_bt2 (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('r253_bt2', 'st', 'r253_n');
RESET SESSION AUTHORIZATION;
DROP OWNED BY r253_r;
SELECT steward.detach_state_machine('r253_bt', 'st');
DROP OWNED BY r253_r;
SELECT steward.detach_state_machine('r253_bt2', 'st');
RESET lock_timeout;
ROLLBACK PREPARED 'r253_use';

-- 2. Rules on what core's part drops do not refuse it: another role's
-- partition of r253_r's partitioned table (dropped with it), and with
-- CASCADE another role's column in r253_r's collation (dropped with it).
CREATE TABLE r253_p1 PARTITION OF r253_p FOR VALUES FROM (0) TO (10) USING steward;
ALTER TABLE r253_p1 OWNER TO r253_b;
SET SESSION AUTHORIZATION r253_b;
SELECT steward.attach_state_machine('r253_p1', 'st', 'r253_m');
CREATE TABLE r253_dt (id int PRIMARY KEY, st text COLLATE r253_c) USING steward;
SELECT steward.attach_state_machine('r253_dt', 'st', 'r253_n');
RESET SESSION AUTHORIZATION;
-- Without CASCADE core's part refuses (r253_dt.st's collation is r253_r's):
-- seen coming, DROP OWNED locks nothing and core's error comes first, as
-- it did when core's part ran before the machines' check.
DROP OWNED BY r253_r;
BEGIN;
DROP OWNED BY r253_r CASCADE;
SELECT (SELECT count(*) FROM pg_class WHERE relname IN ('r253_rt', 'r253_p', 'r253_p1')) AS tables,
       (SELECT count(*) FROM pg_attribute WHERE attrelid = 'r253_dt'::regclass AND attname = 'st') AS dt_st,
       (SELECT count(*) FROM steward.machine_definitions WHERE name LIKE 'r253%') AS machines,
       (SELECT count(*) FROM steward.column_rules WHERE machine LIKE 'r253%') AS rules;
ROLLBACK;

-- 3. drop_state_machine keeps its check: every rule counts.
SET SESSION AUTHORIZATION r253_r;
SELECT steward.drop_state_machine('r253_m');
RESET SESSION AUTHORIZATION;

-- 4. A drop core's part lets through is not taken for one it refuses: the
-- role's own view, foreign key and default over its own objects (normal
-- dependencies inside what it drops).  It waits for the transaction using
-- the role's machine, as before (lock_timeout: 55P03), then drops them.
CREATE ROLE r253_s;
GRANT CREATE ON SCHEMA public TO r253_s;
SET SESSION AUTHORIZATION r253_s;
SELECT steward.create_state_machine('r253_sm', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
CREATE SEQUENCE r253_s_seq;
CREATE TABLE r253_s1 (id int PRIMARY KEY DEFAULT nextval('r253_s_seq'), st text) USING steward;
CREATE TABLE r253_s2 (id int REFERENCES r253_s1, st text);
CREATE VIEW r253_s_v AS SELECT id FROM r253_s1;
RESET SESSION AUTHORIZATION;
BEGIN;
SELECT steward.attach_state_machine('r253_x', 'st', 'r253_sm');
PREPARE TRANSACTION 'r253_use2';
SET lock_timeout = '1s';
DROP OWNED BY r253_s;
RESET lock_timeout;
ROLLBACK PREPARED 'r253_use2';
DROP OWNED BY r253_s;
SELECT (SELECT count(*) FROM pg_class WHERE relname LIKE 'r253\_s%') AS relations,
       (SELECT count(*) FROM steward.machine_definitions WHERE name = 'r253_sm') AS machines;
REVOKE CREATE ON SCHEMA public FROM r253_s;
DROP ROLE r253_s;

DROP OWNED BY r253_r CASCADE;
DROP OWNED BY r253_b;
DROP TABLE r253_x;
REVOKE CREATE ON SCHEMA public FROM r253_r, r253_b;
DROP ROLE r253_r, r253_b;
