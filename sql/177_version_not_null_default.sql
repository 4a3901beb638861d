-- review18 F3/F4: PostgreSQL computes a column's default and checks NOT
-- NULL before the steward access method sets the column.  Refused (0A000,
-- by track_versions, attach_state_machine, later ALTER TABLE and a restored
-- label, with the ALTER TABLE that fixes it) are only the definitions that
-- make every INSERT leaving the column out fail: NOT NULL without a default
-- (core's 23502; also a primary key column), a version default that is a
-- constant below 1 (the AM's 22023), a GENERATED ALWAYS identity version
-- column (BY DEFAULT is a sequence default, as bigserial: sql/189).  The
-- schema most users write, `version bigint NOT NULL DEFAULT 1`, works: the
-- default gives 1, NOT NULL passes, the AM stores 1; a default >= 1 is the
-- first version, as a client sending it would be.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

-- 1. Accepted by track_versions: NOT NULL DEFAULT 1, DEFAULT 5, a primary
-- key over a column with a default, a non-constant default.
CREATE TABLE r177_ok (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1) USING steward;
SELECT steward.track_versions('r177_ok', 'version');
CREATE TABLE r177_d5 (id int PRIMARY KEY, version bigint DEFAULT 5) USING steward;
SELECT steward.track_versions('r177_d5', 'version');
CREATE TABLE r177_pkd (id int, version bigint DEFAULT 1, PRIMARY KEY (id, version)) USING steward;
SELECT steward.track_versions('r177_pkd', 'version');
CREATE TABLE r177_vol (id int PRIMARY KEY,
                       version bigint NOT NULL DEFAULT (random() * 0)::bigint) USING steward;
SELECT steward.track_versions('r177_vol', 'version');
INSERT INTO r177_ok (id) VALUES (1);
INSERT INTO r177_ok VALUES (2, 4);
INSERT INTO r177_d5 (id) VALUES (1);
INSERT INTO r177_d5 VALUES (2, NULL);
INSERT INTO r177_pkd (id) VALUES (1);
UPDATE r177_ok SET version = 2 WHERE id = 1;
UPDATE r177_ok SET version = 2 WHERE id = 2;      -- stale (at 4): 40001
\echo :LAST_ERROR_SQLSTATE
SELECT 'ok' AS t, id, version FROM r177_ok UNION ALL
SELECT 'd5', id, version FROM r177_d5 UNION ALL
SELECT 'pkd', id, version FROM r177_pkd ORDER BY 1, 2;
-- NOT NULL refuses an explicit NULL before the AM sees it (core's 23502).
INSERT INTO r177_ok VALUES (3, NULL);
\echo :LAST_ERROR_SQLSTATE
-- A non-constant default below 1 at run time: 22023, the HINT names it.
INSERT INTO r177_vol (id) VALUES (1);
\echo :LAST_ERROR_SQLSTATE

-- 2. Refused by track_versions: NOT NULL without a default, a constant
-- default below 1 (also folded, also with NOT NULL), NOT NULL with a NULL
-- default, identity, a primary key over a column without a default.
CREATE TABLE r177_nn (id int PRIMARY KEY, version bigint NOT NULL) USING steward;
SELECT steward.track_versions('r177_nn', 'version');
\echo :LAST_ERROR_SQLSTATE
CREATE TABLE r177_dv (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 0) USING steward;
SELECT steward.track_versions('r177_dv', 'version');
CREATE TABLE r177_neg (id int PRIMARY KEY, version bigint DEFAULT -1) USING steward;
SELECT steward.track_versions('r177_neg', 'version');
CREATE TABLE r177_fold (id int PRIMARY KEY, version bigint DEFAULT 2 - 2) USING steward;
SELECT steward.track_versions('r177_fold', 'version');
CREATE TABLE r177_dn (id int PRIMARY KEY,
                      version bigint NOT NULL DEFAULT NULL::int::bigint) USING steward;
SELECT atthasdef FROM pg_attribute WHERE attrelid = 'r177_dn'::regclass AND attname = 'version';
SELECT steward.track_versions('r177_dn', 'version');
CREATE TABLE r177_id (id int PRIMARY KEY, version bigint GENERATED ALWAYS AS IDENTITY) USING steward;
SELECT steward.track_versions('r177_id', 'version');
CREATE TABLE r177_pk (id int, version bigint, PRIMARY KEY (id, version)) USING steward;
SELECT steward.track_versions('r177_pk', 'version');
SELECT count(*) AS rules_added FROM steward.column_rules
 WHERE relid IN ('r177_nn'::regclass, 'r177_dv'::regclass, 'r177_neg'::regclass,
                 'r177_fold'::regclass, 'r177_dn'::regclass, 'r177_id'::regclass,
                 'r177_pk'::regclass);
-- The HINT's statement works, then an INSERT leaving the column out stores
-- version 1.
ALTER TABLE r177_nn ALTER COLUMN version SET DEFAULT 1;
SELECT steward.track_versions('r177_nn', 'version');
ALTER TABLE r177_dv ALTER COLUMN version SET DEFAULT 1;
SELECT steward.track_versions('r177_dv', 'version');
ALTER TABLE r177_id ALTER COLUMN version DROP IDENTITY, ALTER COLUMN version SET DEFAULT 1;
SELECT steward.track_versions('r177_id', 'version');
ALTER TABLE r177_pk ALTER COLUMN version SET DEFAULT 1;
SELECT steward.track_versions('r177_pk', 'version');
INSERT INTO r177_nn (id) VALUES (1);
INSERT INTO r177_dv (id) VALUES (1);
INSERT INTO r177_id (id) VALUES (1);
INSERT INTO r177_pk (id) VALUES (1);
SELECT 'nn' AS t, id, version FROM r177_nn UNION ALL
SELECT 'dv', id, version FROM r177_dv UNION ALL
SELECT 'id', id, version FROM r177_id UNION ALL
SELECT 'pk', id, version FROM r177_pk ORDER BY 1, 2;

-- 3. Later DDL on a tracked column: DROP DEFAULT under NOT NULL, SET NOT
-- NULL without a default, SET DEFAULT 0, ADD PRIMARY KEY without a
-- default, ADD GENERATED AS IDENTITY are refused (rolled back); SET DEFAULT
-- 7, DROP NOT NULL then DROP DEFAULT are accepted.
ALTER TABLE r177_nn ALTER COLUMN version DROP DEFAULT;
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r177_nn ALTER COLUMN version SET DEFAULT 0;
ALTER TABLE r177_nn ALTER COLUMN version SET DEFAULT 7;
ALTER TABLE r177_nn ALTER COLUMN version DROP NOT NULL, ALTER COLUMN version DROP DEFAULT;
ALTER TABLE r177_nn ALTER COLUMN version SET NOT NULL;
ALTER TABLE r177_nn DROP CONSTRAINT r177_nn_pkey, ADD PRIMARY KEY (id, version);
ALTER TABLE r177_nn ALTER COLUMN version SET NOT NULL,
                    ALTER COLUMN version ADD GENERATED ALWAYS AS IDENTITY;
SELECT attnotnull, atthasdef, attidentity FROM pg_attribute
 WHERE attrelid = 'r177_nn'::regclass AND attname = 'version';
SELECT conname FROM pg_constraint WHERE conrelid = 'r177_nn'::regclass;
INSERT INTO r177_nn (id) VALUES (3);
SELECT id, version FROM r177_nn ORDER BY id;
-- Other columns keep their NOT NULL and defaults.
ALTER TABLE r177_nn ADD COLUMN note text NOT NULL DEFAULT 'x';
INSERT INTO r177_nn (id) VALUES (4);
SELECT id, version, note FROM r177_nn WHERE id = 4;

-- 4. A partitioned table: the parent's NOT NULL and default are checked for
-- rows routed through it, a partition's for rows inserted into it.
CREATE TABLE r177_p (id int, version bigint) PARTITION BY RANGE (id);
CREATE TABLE r177_p1 PARTITION OF r177_p FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.track_versions('r177_p1', 'version');
ALTER TABLE r177_p ALTER COLUMN version SET NOT NULL;
ALTER TABLE r177_p ALTER COLUMN version SET DEFAULT 0;
ALTER TABLE r177_p ALTER COLUMN version SET DEFAULT 1, ALTER COLUMN version SET NOT NULL;
SELECT steward.track_versions('r177_p', 'version');
CREATE TABLE r177_p2 (id int, version bigint NOT NULL) USING steward;
-- It stores a row (an empty table is attached with a WARNING: sql/195).
INSERT INTO r177_p2 VALUES (150, 1);
ALTER TABLE r177_p ATTACH PARTITION r177_p2 FOR VALUES FROM (100) TO (200);
ALTER TABLE r177_p2 ALTER COLUMN version SET DEFAULT 1;
ALTER TABLE r177_p ATTACH PARTITION r177_p2 FOR VALUES FROM (100) TO (200);
CREATE TABLE r177_p3 PARTITION OF r177_p (version DEFAULT 7) FOR VALUES FROM (200) TO (300) USING steward;
CREATE TABLE r177_p4 PARTITION OF r177_p (version DEFAULT 0) FOR VALUES FROM (300) TO (400) USING steward;
INSERT INTO r177_p (id) VALUES (1), (101), (201);
INSERT INTO r177_p3 (id) VALUES (202);
SELECT tableoid::regclass, id, version FROM r177_p ORDER BY id;
-- A partitioned table's primary key over the column, without a default.
CREATE TABLE r177_pp (id int, version bigint, PRIMARY KEY (id, version)) PARTITION BY RANGE (id);
CREATE TABLE r177_pp1 PARTITION OF r177_pp FOR VALUES FROM (0) TO (100) USING steward;
SELECT steward.track_versions('r177_pp', 'version');
DROP TABLE r177_pp;

-- 5. A state machine's changed_at column: NOT NULL without a default
-- refused (by attach_state_machine and later DDL); NOT NULL DEFAULT now()
-- accepted, and the access method stamps every INSERT.
SELECT steward.create_state_machine('r177_m', states => ARRAY['created', 'paid'],
       initial => ARRAY['created'], transitions => ARRAY['created->paid']);
CREATE TABLE r177_sm (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created',
                      ts timestamptz NOT NULL) USING steward;
SELECT steward.attach_state_machine('r177_sm', 'status', 'r177_m', changed_at_column => 'ts');
ALTER TABLE r177_sm ALTER COLUMN ts SET DEFAULT now();
SELECT steward.attach_state_machine('r177_sm', 'status', 'r177_m', changed_at_column => 'ts');
ALTER TABLE r177_sm ALTER COLUMN ts DROP DEFAULT;
ALTER TABLE r177_sm ALTER COLUMN ts SET DEFAULT '2000-01-01';
BEGIN;
INSERT INTO r177_sm (id) VALUES (1);
SELECT id, status, ts >= transaction_timestamp() AS stamped FROM r177_sm;
COMMIT;

-- 6. A restored label (pg_dump's CREATE TABLE with the column's definition,
-- then the rule's SECURITY LABEL): NOT NULL DEFAULT 1 and a changed_at
-- NOT NULL DEFAULT now() are restored; NOT NULL without a default and
-- DEFAULT 0 keep their rule with a WARNING naming the fix (185).
CREATE TABLE r177_lab (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1) USING steward;
SECURITY LABEL FOR steward ON COLUMN r177_lab.version IS '{"v": 1, "kind": "version"}';
CREATE TABLE r177_lab2 (id int PRIMARY KEY, version bigint DEFAULT 0) USING steward;
SECURITY LABEL FOR steward ON COLUMN r177_lab2.version IS '{"v": 1, "kind": "version"}';
CREATE TABLE r177_lab3 (id int PRIMARY KEY, version bigint NOT NULL) USING steward;
SECURITY LABEL FOR steward ON COLUMN r177_lab3.version IS '{"v": 1, "kind": "version"}';
-- The state rule's label as pg_dump writes it, from a table that has it.
CREATE TABLE r177_lab4 (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created',
                        ts timestamptz NOT NULL DEFAULT now()) USING steward;
SELECT l.label AS sm_label FROM pg_seclabel l
 WHERE l.provider = 'steward' AND l.objoid = 'r177_sm'::regclass \gset
\set ECHO none
SELECT format('SECURITY LABEL FOR steward ON COLUMN r177_lab4.status IS %L', :'sm_label') \gexec
\set ECHO all
SELECT relid::regclass, attname, kind, changed_at FROM steward.column_rules
 WHERE relid IN ('r177_lab'::regclass, 'r177_lab2'::regclass, 'r177_lab3'::regclass,
                 'r177_lab4'::regclass) ORDER BY 1;
INSERT INTO r177_lab (id) VALUES (1);
SELECT id, version FROM r177_lab;

-- 7. A default that predates the refusal (DDL while the event trigger did
-- not fire: single-user mode): the 22023 HINT names it; a version the
-- client sent gets the plain HINT.
ALTER EVENT TRIGGER steward_rules_written DISABLE;
ALTER TABLE r177_dv ALTER COLUMN version SET DEFAULT 0;
ALTER EVENT TRIGGER steward_rules_written ENABLE ALWAYS;
INSERT INTO r177_dv (id) VALUES (2);
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE r177_dv ALTER COLUMN version SET DEFAULT 1;
INSERT INTO r177_d5 (id, version) VALUES (5, 0);
INSERT INTO r177_nn (id, version) VALUES (5, 0);

DROP TABLE r177_ok, r177_d5, r177_pkd, r177_vol, r177_nn, r177_dv, r177_neg, r177_fold,
           r177_dn, r177_id, r177_pk, r177_p, r177_sm, r177_lab, r177_lab2,
           r177_lab3, r177_lab4;
SELECT steward.drop_state_machine('r177_m');
