-- mach19 item 4 (closing45 Noticed 8): the event trigger
-- steward_rules_written fired on CREATE VIEW and ALTER VIEW, where it has
-- had nothing to judge since rules20 (PostgreSQL checks a view's WITH
-- CHECK OPTION on the stored row): every view paid a call of
-- steward._rules_on_written_ddl and an AccessShareLock on
-- steward.column_rules held to its transaction's end (so a CREATE VIEW
-- waited behind anything holding the catalog exclusively).  It now fires
-- on the table and policy commands only; those are still judged.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

SELECT evttags FROM pg_event_trigger WHERE evtname = 'steward_rules_written';

CREATE TABLE w387 (id int PRIMARY KEY, version bigint, note text) USING steward;
SELECT steward.track_versions('w387', 'version');

-- Views over a table with a version rule: no call, no lock.
BEGIN;
SET LOCAL track_functions = 'pl';
CREATE VIEW w387_v AS SELECT id, version, note FROM w387;
ALTER VIEW w387_v ALTER COLUMN note SET DEFAULT 'n';
ALTER VIEW w387_v RENAME TO w387_v2;
CREATE OR REPLACE VIEW w387_v2 AS SELECT id, version, note FROM w387 WITH CHECK OPTION;
SELECT coalesce((SELECT calls FROM pg_stat_xact_user_functions
                  WHERE schemaname = 'steward' AND funcname = '_rules_on_written_ddl'), 0)
       AS written_calls_for_views;
SELECT count(*) AS column_rules_locks FROM pg_locks
 WHERE locktype = 'relation' AND pid = pg_backend_pid()
   AND relation = 'steward.column_rules'::regclass;
COMMIT;
-- A table's DDL still is: its refusal, and one call.
ALTER TABLE w387 ADD CONSTRAINT w387_small CHECK (version < 100);
BEGIN;
SET LOCAL track_functions = 'pl';
ALTER TABLE w387 ADD COLUMN extra int;
SELECT calls AS written_calls_for_table FROM pg_stat_xact_user_functions
 WHERE schemaname = 'steward' AND funcname = '_rules_on_written_ddl';
COMMIT;

-- The view works as before: the AM sets the version on the stored row.
INSERT INTO w387_v2 (id) VALUES (1);
UPDATE w387_v2 SET note = 'x' WHERE id = 1;
SELECT id, version, note FROM w387 ORDER BY id;

DROP VIEW w387_v2;
SELECT steward.release('w387') IS NOT NULL AS released;
DROP TABLE w387;
