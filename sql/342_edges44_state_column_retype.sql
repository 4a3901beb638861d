-- review29: a state column's type change could move rows between states
-- past the access method.  With states 'a ' and 'a', ALTER COLUMN ...
-- TYPE varchar(1) rewrote every row with varchar's length coercion, which
-- drops trailing spaces: rows in 'a ' silently became 'a'.  A type change
-- of a state column is now refused (42804) unless every declared state
-- survives it unchanged: one look at the machine, no scan of the rows.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;

SELECT steward.create_state_machine('e44_spaces', ARRAY['a', 'a ', 'b'], ARRAY['a', 'a '],
                                    ARRAY['a->b', 'a ->b']);
CREATE TABLE e44_t (id int PRIMARY KEY, st text NOT NULL) USING steward;
SELECT steward.attach_state_machine('e44_t', 'st', 'e44_spaces');
INSERT INTO e44_t VALUES (1, 'a '), (2, 'a');

-- varchar(1): 'a ' would become 'a'.  Refused; the rows keep their states.
ALTER TABLE e44_t ALTER COLUMN st TYPE varchar(1);
SELECT id, st, length(st) FROM e44_t ORDER BY id;
-- Also with a collation change in the same command, and in a bigger
-- ALTER TABLE whose other parts are harmless.
ALTER TABLE e44_t ALTER COLUMN st TYPE varchar(1) COLLATE "C";
ALTER TABLE e44_t ADD COLUMN note text, ALTER COLUMN st TYPE varchar(1);
SELECT count(*) AS note_columns FROM pg_attribute
 WHERE attrelid = 'e44_t'::regclass AND attname = 'note' AND NOT attisdropped;

-- Room for every state: allowed, the rows unchanged, the rules kept.
ALTER TABLE e44_t ALTER COLUMN st TYPE varchar(2);
SELECT id, st, length(st) FROM e44_t ORDER BY id;
UPDATE e44_t SET st = 'b' WHERE id = 1;
UPDATE e44_t SET st = 'a ' WHERE id = 1;   -- b->a  : not a transition
-- Shrinking again is judged against the states, not the rows.
ALTER TABLE e44_t ALTER COLUMN st TYPE varchar(1);
-- Unlimited lengths keep every value.
ALTER TABLE e44_t ALTER COLUMN st TYPE varchar;
ALTER TABLE e44_t ALTER COLUMN st TYPE text;
SELECT id, st, length(st) FROM e44_t ORDER BY id;

-- A state no row holds yet counts too: it could never be stored again.
SELECT steward.create_state_machine('e44_words', ARRAY['new', 'done'], ARRAY['new'],
                                    ARRAY['new->done']);
CREATE TABLE e44_w (id int PRIMARY KEY, st varchar(10) NOT NULL) USING steward;
SELECT steward.attach_state_machine('e44_w', 'st', 'e44_words');
INSERT INTO e44_w VALUES (1, 'new');
ALTER TABLE e44_w ALTER COLUMN st TYPE varchar(3);
ALTER TABLE e44_w ALTER COLUMN st TYPE varchar(4);
SELECT format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid = 'e44_w'::regclass AND attname = 'st';

-- Partitions: a type change through the parent reaches the partition
-- whose own machine declares 'a '; one through a parent with the machine
-- is judged too.
CREATE TABLE e44_p (id int, st text NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE e44_p1 PARTITION OF e44_p FOR VALUES FROM (0) TO (10) USING steward;
SELECT steward.attach_state_machine('e44_p1', 'st', 'e44_spaces');
INSERT INTO e44_p VALUES (1, 'a ');
ALTER TABLE e44_p ALTER COLUMN st TYPE varchar(1);
SELECT st, length(st) FROM e44_p;
DROP TABLE e44_p;
CREATE TABLE e44_q (id int, st text NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE e44_q1 PARTITION OF e44_q FOR VALUES FROM (0) TO (10) USING steward;
SELECT steward.attach_state_machine('e44_q', 'st', 'e44_spaces');
INSERT INTO e44_q VALUES (1, 'a ');
ALTER TABLE e44_q ALTER COLUMN st TYPE varchar(1);
SELECT st, length(st) FROM e44_q;
DROP TABLE e44_q;

-- The other kinds of type change stay refused as before: USING (any
-- value), blank-padded char(n), a domain over text, an enum, a
-- nondeterministic collation; and the version column stays bigint
-- (int, smallint or numeric refused, whatever the values), so no
-- version is truncated.
ALTER TABLE e44_t ALTER COLUMN st TYPE varchar(2) USING st;
ALTER TABLE e44_t ALTER COLUMN st TYPE char(2);
CREATE DOMAIN e44_dom AS text;
ALTER TABLE e44_t ALTER COLUMN st TYPE e44_dom;
CREATE TYPE e44_enum AS ENUM ('a', 'a ', 'b');
ALTER TABLE e44_t ALTER COLUMN st TYPE e44_enum USING st::e44_enum;
ALTER TABLE e44_t ALTER COLUMN st TYPE e44_enum;
CREATE COLLATION e44_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
ALTER TABLE e44_t ALTER COLUMN st TYPE text COLLATE e44_ci;
CREATE TABLE e44_v (id int PRIMARY KEY, version bigint) USING steward;
SELECT steward.track_versions('e44_v', 'version');
INSERT INTO e44_v VALUES (1, NULL);   -- version 1: every value would fit
ALTER TABLE e44_v ALTER COLUMN version TYPE int;
ALTER TABLE e44_v ALTER COLUMN version TYPE numeric;
ALTER TABLE e44_v ALTER COLUMN version TYPE smallint;
SELECT id, version FROM e44_v;
SELECT id, st, length(st) FROM e44_t ORDER BY id;

-- mach18 item 4: a changed_at column's precision may change: ALTER
-- COLUMN ... TYPE timestamptz(0) rounds the stored stamps as the access
-- method rounds each stamp it writes to a timestamptz(0) column (the
-- rule's precision follows the column), so the rows read as if the column
-- had had it from the start; a client that writes back the stamp it read
-- before the change is keeping it (the value is coerced the same way),
-- and new stamps are whole seconds.  Allowed: no rule is bypassed.
CREATE TABLE e44_c (id int PRIMARY KEY, st text NOT NULL, at timestamptz) USING steward;
SELECT steward.attach_state_machine('e44_c', 'st', 'e44_words', 'at');
COPY e44_c FROM stdin;
1	done	2026-01-01 00:00:00.6+00
2	done	2026-01-01 00:00:00.4+00
\.
-- In a transaction whose writes loaded the rule (its precision) first.
BEGIN;
INSERT INTO e44_c (id, st) VALUES (3, 'new');
ALTER TABLE e44_c ALTER COLUMN at TYPE timestamptz(0);
UPDATE e44_c SET st = 'done' WHERE id = 3;
COMMIT;
SELECT id, st, at AT TIME ZONE 'UTC' AS at_utc FROM e44_c WHERE id < 3 ORDER BY id;
SELECT id, at IS NOT NULL AS stamped, at = date_trunc('second', at) AS whole_second FROM e44_c WHERE id = 3;
UPDATE e44_c SET at = '2026-01-01 00:00:00.6+00' WHERE id = 1 RETURNING id, at AT TIME ZONE 'UTC' AS at_utc;
UPDATE e44_c SET at = '2026-01-01 00:00:02+00' WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE e44_t, e44_w, e44_v, e44_c;
DROP TYPE e44_enum;
DROP DOMAIN e44_dom;
DROP COLLATION e44_ci;
SELECT steward.drop_state_machine('e44_spaces');
SELECT steward.drop_state_machine('e44_words');
