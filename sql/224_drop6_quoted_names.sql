-- drop6 finding 1: a message naming a relation inside double quotes gives
-- its names as they are, as core does (relation "Sch "1.q'T. x é"), not
-- quoted again (relation "public."q'T""): the refusal of a table
-- inheriting from a table with rules named the rule's table with
-- regclass's quoting inside the quotes.  Names with a double quote, a
-- single quote, a dot, a space, upper case and a non-ASCII letter.  (The
-- 42P01 of a table dropped while a call waited for its lock:
-- isolation drop6_quoted_name_dropped.)
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.governor = off;
CREATE SCHEMA "Sch ""1";
CREATE TABLE "Sch ""1"."q'T. x é" (id int NOT NULL, v bigint) USING steward;
SELECT steward.track_versions('"Sch ""1"."q''T. x é"', 'v');
-- DETAIL: An UPDATE of "q'T. x é" (before: ""Sch ""1"."q'T. x é"").
CREATE TABLE "Sch ""1"."Child ""c""" () INHERITS ("Sch ""1"."q'T. x é");
CREATE TABLE "Sch ""1"."Child ""c""" (id int NOT NULL, v bigint) USING steward;
ALTER TABLE "Sch ""1"."Child ""c""" INHERIT "Sch ""1"."q'T. x é";
-- Core's own message for a missing relation, the form the 42P01 follows.
SELECT '"Sch ""1"."gone ''T"'::regclass;
DROP SCHEMA "Sch ""1" CASCADE;
