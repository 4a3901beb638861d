-- trust52: an owner's UPDATE in place that repairs a row stored in a state
-- its machine does not declare asks has_privs_of_role (the owner's
-- privileges), a catalog lookup that processes invalidations; a relcache
-- invalidation of the table frees its cached rules (rd_amcache), which
-- the judgement went on reading (the next state column, the changed_at
-- and version columns it stamps): the class of 720400b.  On a PostgreSQL
-- built with assertions debug_discard_caches = 1 flushes there and the
-- freed memory is clobbered; a build without assertions refuses the
-- setting (caught) and this file checks the same results without it, so
-- on Debian's build it passes on the old code too.  Then a role other
-- than the owner refused at such a row is told to ask the owner (it was
-- told the declared states, a write it is refused too), and a role that
-- may not read the state column is not shown the stored value.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SELECT steward.create_state_machine('m491a', ARRAY['new', 'paid'], ARRAY['new'], ARRAY['new->paid']);
SELECT steward.create_state_machine('m491b', ARRAY['open', 'done'], ARRAY['open'], ARRAY['open->done']);
CREATE TABLE t491 (id int PRIMARY KEY, a text NOT NULL DEFAULT 'new',
    b text NOT NULL DEFAULT 'open', a_at timestamptz, note text,
    ver bigint NOT NULL DEFAULT 1) USING steward;
SELECT steward.attach_state_machine('t491', 'a', 'm491a', 'a_at');
SELECT steward.attach_state_machine('t491', 'b', 'm491b');
SELECT steward.track_versions('t491', 'ver');
INSERT INTO t491 (id) VALUES (1), (2), (3);
SET session_replication_role = replica;
UPDATE t491 SET b = 'lost' WHERE id IN (1, 2, 3);
RESET session_replication_role;

\i test/sql/discard_caches_if_assert_build.sql
-- One statement: a declared move in a (before the repair is judged) and
-- the repair of b; every change and the new version must land.
SET client_min_messages = warning;
UPDATE t491 SET a = 'paid', b = 'done' WHERE id = 1;
UPDATE t491 SET b = 'open' WHERE id = 2;
RESET client_min_messages;
RESET debug_discard_caches;
SELECT id, a, b, a_at IS NOT NULL AS stamped, ver FROM t491 ORDER BY id;
SELECT from_state, to_state, transitions FROM steward.transition_counts
 WHERE relid = 't491'::regclass ORDER BY 1, 2;

-- Another role with UPDATE rights, at a row still stored past the rules.
CREATE ROLE r491_app;
CREATE ROLE r491_note;
GRANT SELECT, UPDATE ON t491 TO r491_app;
GRANT SELECT (id, note), UPDATE (note) ON t491 TO r491_note;
SET ROLE r491_app;
UPDATE t491 SET note = 'x' WHERE id = 3;
UPDATE t491 SET b = b WHERE id = 3;
-- A new undeclared value it writes itself: the declared states.
UPDATE t491 SET b = 'gone' WHERE id = 3;
RESET ROLE;
-- A role that may not read b is not shown what b holds.
SET ROLE r491_note;
UPDATE t491 SET note = 'x' WHERE id = 3;
RESET ROLE;
-- The owner is still told the declared states, and repairs.
UPDATE t491 SET note = 'x' WHERE id = 3;
UPDATE t491 SET b = 'done' WHERE id = 3;
SELECT id, b, note FROM t491 WHERE id = 3;

-- steward._require_role names the next step.
\set VERBOSITY default
SELECT steward._require_role(NULL);
SELECT steward._require_role(4294967000::oid);

SET client_min_messages = warning;
DROP TABLE t491;
SELECT steward.drop_state_machine('m491a');
SELECT steward.drop_state_machine('m491b');
DROP ROLE r491_app;
DROP ROLE r491_note;
