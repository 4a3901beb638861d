-- A HINT that names a statement to run quotes the names in it as SQL
-- literals: a state machine, table or column name with a quote gives a
-- statement that runs (they were pasted between quotes as they were).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
\set VERBOSITY default
\set SHOW_CONTEXT never

-- A machine of another role: the HINT's grant_state_machine call.
CREATE ROLE h147_owner;
CREATE ROLE h147_user;
GRANT CREATE ON SCHEMA public TO h147_user;
SET ROLE h147_owner;
SELECT steward.create_state_machine('o''brien', states => ARRAY['a', 'b'],
                                    initial => ARRAY['a'], transitions => ARRAY['a->b']);
RESET ROLE;
SET ROLE h147_user;
CREATE TABLE h147_t (id int PRIMARY KEY, st text) USING steward;
SELECT steward.attach_state_machine('h147_t', 'st', 'o''brien');
\echo :LAST_ERROR_SQLSTATE
DROP TABLE h147_t;
RESET ROLE;
-- The HINT's statement, run by the machine's owner, works.
SET ROLE h147_owner;
SELECT steward.grant_state_machine('o''brien', 'h147_user');
SELECT steward.drop_state_machine('o''brien');
RESET ROLE;

-- A version at the largest bigint: the HINT's untrack call.
CREATE TABLE "it's" (id int PRIMARY KEY, "v'n" bigint NOT NULL DEFAULT 1) USING steward;
SELECT steward.track_versions('"it''s"', 'v''n');
INSERT INTO "it's" VALUES (1, 9223372036854775807);
UPDATE "it's" SET id = id WHERE id = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT steward.untrack('public."it''s"', 'v''n');
UPDATE "it's" SET id = id WHERE id = 1;
DROP TABLE "it's";

REVOKE CREATE ON SCHEMA public FROM h147_user;
DROP ROLE h147_user;
DROP ROLE h147_owner;
