-- rules20: views WITH CHECK OPTION over a column the steward access method
-- sets (the version, a state machine's changed_at) were refused with 0A000,
-- README saying they "would see a different value than the one stored".
-- PostgreSQL 15 checks a view's check option after table_tuple_insert /
-- table_tuple_update (ExecInsert, ExecUpdateEpilogue), on the slot the AM
-- wrote the values into, so such views are accepted and check the stored
-- row: LOCAL and CASCADED, INSERT and UPDATE, a cross-partition move, and a
-- view made to use the version by CREATE OR REPLACE VIEW under a view WITH
-- CASCADED CHECK OPTION.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

CREATE TABLE r20_acct (id int PRIMARY KEY, bal int, version bigint) USING steward;
SELECT steward.track_versions('r20_acct', 'version');

-- LOCAL: the predicate names the version.  An UPDATE that leaves the
-- version out sends the version it read (2): the stored row has 3, and
-- that is what the check refuses.
CREATE VIEW r20_young AS SELECT * FROM r20_acct WHERE version <= 2
  WITH LOCAL CHECK OPTION;
INSERT INTO r20_young (id, bal) VALUES (1, 10) RETURNING *;
INSERT INTO r20_young (id, bal, version) VALUES (2, 10, 3) RETURNING *;
UPDATE r20_young SET bal = 11 WHERE id = 1 RETURNING *;
UPDATE r20_young SET bal = 12 WHERE id = 1 RETURNING *;
UPDATE r20_young SET bal = 12, version = version + 1 WHERE id = 1 RETURNING *;
TABLE r20_acct;
-- INSERT ... ON CONFLICT DO UPDATE through the view: the update is checked
-- as stored too (ExecOnConflictUpdate runs ExecUpdate's epilogue).
INSERT INTO r20_young (id, bal) VALUES (7, 70)
  ON CONFLICT (id) DO UPDATE SET bal = excluded.bal RETURNING *;
INSERT INTO r20_young (id, bal) VALUES (7, 71)
  ON CONFLICT (id) DO UPDATE SET bal = excluded.bal RETURNING *;
INSERT INTO r20_young (id, bal) VALUES (7, 72)
  ON CONFLICT (id) DO UPDATE SET bal = excluded.bal RETURNING *;

-- CASCADED over a view without a check option whose WHERE names the
-- version; LOCAL over the same view checks only its own WHERE.
CREATE VIEW r20_low AS SELECT * FROM r20_acct WHERE version <= 2;
CREATE VIEW r20_low_cascaded AS SELECT * FROM r20_low WHERE id > 0
  WITH CASCADED CHECK OPTION;
CREATE VIEW r20_low_local AS SELECT * FROM r20_low WHERE id > 0
  WITH LOCAL CHECK OPTION;
INSERT INTO r20_low_cascaded (id, bal) VALUES (3, 30) RETURNING *;
INSERT INTO r20_low_cascaded (id, bal, version) VALUES (4, 40, 3) RETURNING *;
UPDATE r20_low_cascaded SET bal = 31 WHERE id = 3 RETURNING *;
UPDATE r20_low_cascaded SET bal = 32 WHERE id = 3 RETURNING *;
UPDATE r20_low_local SET bal = 32 WHERE id = 3 RETURNING *;
-- ALTER VIEW ... SET (check_option) is accepted as well.
ALTER VIEW r20_low SET (check_option = local);
UPDATE r20_low SET bal = 13 WHERE id = 1 RETURNING *;

-- CREATE OR REPLACE VIEW makes a view under a CASCADED one use the version:
-- accepted, and the cascaded check refuses the stored version 3.
CREATE VIEW r20_base AS SELECT * FROM r20_acct;
CREATE VIEW r20_top AS SELECT * FROM r20_base WHERE bal > 0
  WITH CASCADED CHECK OPTION;
CREATE OR REPLACE VIEW r20_base AS SELECT * FROM r20_acct WHERE version <= 2;
INSERT INTO r20_top (id, bal) VALUES (5, 50) RETURNING *;
UPDATE r20_top SET bal = 51 WHERE id = 5 RETURNING *;
UPDATE r20_top SET bal = 52 WHERE id = 5 RETURNING *;
-- ... and through a view that renames the column.
CREATE VIEW r20_renamed AS SELECT id, bal, version AS v FROM r20_base;
CREATE VIEW r20_renamed_v AS SELECT * FROM r20_renamed WHERE v < 3
  WITH CHECK OPTION;
INSERT INTO r20_renamed_v (id, bal) VALUES (6, 60) RETURNING *;

-- A state machine's state and changed_at columns: the AM stamps changed_at
-- (on INSERT too), and the check sees the stamp; a state the view leaves
-- out is refused by the view, an illegal edge by the AM first.
SELECT steward.create_state_machine('r20_order', ARRAY['new', 'paid', 'shipped'],
    ARRAY['new'], ARRAY['new->paid', 'paid->shipped']);
CREATE TABLE r20_orders (id int PRIMARY KEY, state text NOT NULL DEFAULT 'new',
  changed_at timestamptz, version bigint) USING steward;
SELECT steward.track_versions('r20_orders', 'version');
SELECT steward.attach_state_machine('r20_orders', 'state', 'r20_order', 'changed_at');
CREATE VIEW r20_unstamped AS SELECT * FROM r20_orders WHERE changed_at IS NULL
  WITH CHECK OPTION;
\set VERBOSITY terse
INSERT INTO r20_unstamped (id) VALUES (1);
\set VERBOSITY default
CREATE VIEW r20_unshipped AS SELECT * FROM r20_orders WHERE state <> 'shipped';
CREATE VIEW r20_unshipped_c AS SELECT * FROM r20_unshipped WHERE version < 9
  WITH CASCADED CHECK OPTION;
INSERT INTO r20_unshipped_c (id) VALUES (2)
RETURNING id, state, changed_at = statement_timestamp() AS stamped, version;
UPDATE r20_unshipped_c SET state = 'paid' WHERE id = 2 RETURNING id, state, version;
UPDATE r20_unshipped_c SET state = 'new' WHERE id = 2 RETURNING id, state, version;
\set VERBOSITY terse
UPDATE r20_unshipped_c SET state = 'shipped' WHERE id = 2;
\set VERBOSITY default
SELECT id, state, version FROM r20_orders ORDER BY id;

-- A partitioned table: a row moved to another partition is checked as
-- stored there (version 2, then 3).
CREATE TABLE r20_part (region text, id int, version bigint) PARTITION BY LIST (region);
CREATE TABLE r20_part_eu PARTITION OF r20_part FOR VALUES IN ('eu') USING steward;
CREATE TABLE r20_part_us PARTITION OF r20_part FOR VALUES IN ('us') USING steward;
SELECT steward.track_versions('r20_part', 'version');
CREATE VIEW r20_part_v AS SELECT * FROM r20_part WHERE version <= 2
  WITH LOCAL CHECK OPTION;
INSERT INTO r20_part_v VALUES ('eu', 1) RETURNING *;
UPDATE r20_part_v SET region = 'us' RETURNING *;
UPDATE r20_part_v SET region = 'eu' RETURNING *;
SELECT tableoid::regclass, * FROM r20_part;

SET client_min_messages = warning;
DROP TABLE r20_acct, r20_orders, r20_part CASCADE;
RESET client_min_messages;
SELECT steward.drop_state_machine('r20_order');
