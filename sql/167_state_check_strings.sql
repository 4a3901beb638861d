-- A state check is read with standard_conforming_strings on, where it is
-- checked and where validate() runs it (guard5's left-alone): with the
-- setting off, SELECT 'x\'; SELECT 0; --' was one SELECT at
-- set_state_check and two under validate's on, whose last (0) made the
-- check pass whatever the rows held.
CREATE EXTENSION IF NOT EXISTS pg_steward;
CREATE TABLE s167 (id int PRIMARY KEY, st text DEFAULT 'new') USING steward;
SELECT steward.attach_state_machine('s167', 'st', 'data_lifecycle');
INSERT INTO s167 SELECT g FROM generate_series(1, 3) g;
SET standard_conforming_strings = off;
SET escape_string_warning = off;
-- a check with a backslash is refused in such a session, with the next step
SELECT steward.set_state_check('s167', 'new', $c$SELECT count(*) FROM s167 WHERE 'x\' <> st; SELECT 0; --'$c$);
SELECT steward.set_state_check('s167', 'new', $c$SELECT count(*) FROM s167 WHERE st <> E'a\\b'$c$);
SELECT count(*) AS checks FROM steward.state_checks WHERE relid = 's167'::regclass;
-- without a backslash the text reads the same either way: accepted, and
-- validate runs it under on whatever this session says
SELECT steward.set_state_check('s167', 'new', $c$SELECT count(*) FROM s167 WHERE st = 'new'$c$);
SELECT state, passed, violations FROM steward.validate('s167');
RESET standard_conforming_strings;
RESET escape_string_warning;
-- the next step the hint names: the same backslash check under on is
-- one SELECT of a literal that ends at the second quote
SELECT steward.set_state_check('s167', 'new', $c$SELECT count(*) FROM s167 WHERE st <> E'a\\b'$c$);
SELECT state, passed, violations FROM steward.validate('s167');
-- a check stored under on is run under on from a session with it off
SET standard_conforming_strings = off;
SET escape_string_warning = off;
SELECT state, passed, violations FROM steward.validate('s167');
RESET standard_conforming_strings;
RESET escape_string_warning;
SELECT steward.set_state_check('s167', 'new', NULL);
SELECT steward.detach_state_machine('s167', 'st');
DROP TABLE s167;
