-- The state errors of the write path read the rule (machine name, state
-- names, edges) from the table's cached rules, which live in its relcache
-- entry (rd_amcache, src/tableam/rules.c).  Before they read it they lock
-- the row key's index to show the key (steward_origin_error_target), and a
-- lock processes pending invalidations: a relcache invalidation of the
-- table (an ANALYZE, autovacuum, a sinval reset) frees the cached rules
-- there, so the error read freed memory.  On a PostgreSQL built with
-- assertions (docs/testing.md), debug_discard_caches = 1 makes every such
-- point flush the relcache and the freed memory is clobbered: the old code
-- died of signal 11 in steward_state_list at the UPDATE below (cassert50).
-- A build without assertions refuses the setting (only 0 is valid), and
-- this file then checks the same messages without the flushes.
\set SHOW_CONTEXT never
SELECT steward.create_state_machine('m453', ARRAY['new', 'paid', 'shipped'],
    ARRAY['new'], ARRAY['new->paid', 'paid->shipped']);
CREATE TABLE t453 (id bigint PRIMARY KEY, st text NOT NULL DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('t453', 'st', 'm453');
INSERT INTO t453 (id) VALUES (1);

DO $$
BEGIN
    PERFORM set_config('debug_discard_caches', '1', false);
EXCEPTION WHEN invalid_parameter_value THEN
    NULL;                       -- a build without assertions
END
$$;
-- An edge the machine lacks, a state it does not declare, a state rows
-- do not start in: each names the machine and its states.
UPDATE t453 SET st = 'shipped' WHERE id = 1;
UPDATE t453 SET st = 'lost' WHERE id = 1;
INSERT INTO t453 VALUES (2, 'paid');
RESET debug_discard_caches;

SELECT id, st FROM t453 ORDER BY id;
DROP TABLE t453;
SELECT steward.drop_state_machine('m453');
