-- steward.verify()'s foreign-key check never plans a referenced table
-- another role owns as the referencing table's owner: planning it runs
-- its owner's index expressions (folded by the planner) and policies.
-- Before (review9 F21), verify('vfo_alice.child') as any role with
-- SELECT on it ran vfo_bob's index expression as vfo_alice, and it
-- deleted vfo_alice's rows.  Now the referenced keys are looked up as
-- the referenced table's owner (as core's RI checks do).  And a
-- referenced table's owner cannot make verify() of the referencing
-- table fail as a whole (review9 F24): schema USAGE revoked or row
-- security enabled gives a row, not an error.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;

CREATE ROLE vfo_alice;
CREATE ROLE vfo_bob;
CREATE SCHEMA vfo_alice AUTHORIZATION vfo_alice;
CREATE SCHEMA vfo_bob AUTHORIZATION vfo_bob;
GRANT USAGE ON SCHEMA vfo_alice TO vfo_bob;
GRANT USAGE ON SCHEMA vfo_bob TO vfo_alice;

SET ROLE vfo_alice;
CREATE TABLE vfo_alice.private (x int);
INSERT INTO vfo_alice.private VALUES (42);
RESET ROLE;

SET ROLE vfo_bob;
CREATE FUNCTION vfo_bob.payload() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'vfo_bob''s code runs as %', current_user;
  IF current_user = 'vfo_alice' THEN EXECUTE 'DELETE FROM vfo_alice.private'; END IF;
  RETURN true;
END $$;
CREATE FUNCTION vfo_bob.konst(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS
  $$ BEGIN PERFORM vfo_bob.payload(); RETURN $1; END $$;
CREATE TABLE vfo_bob.ref (id int PRIMARY KEY, k text);
INSERT INTO vfo_bob.ref VALUES (1, 'a'), (2, 'b');
CREATE INDEX ref_x ON vfo_bob.ref ((k || vfo_bob.konst('x')));
GRANT REFERENCES, SELECT ON vfo_bob.ref TO vfo_alice;
RESET ROLE;

SET ROLE vfo_alice;
CREATE TABLE vfo_alice.child (id int PRIMARY KEY, r int REFERENCES vfo_bob.ref) USING steward;
INSERT INTO vfo_alice.child VALUES (1, 1), (2, 2), (3, NULL), (4, 1);
GRANT SELECT ON vfo_alice.child TO vfo_bob;
RESET ROLE;

-- The attack: vfo_bob verifies vfo_alice's table, in a new session (the
-- index expressions are loaded and folded once per session).  vfo_bob's
-- code runs, as vfo_bob; vfo_alice's row stays.
\c
SET ROLE vfo_bob;
SELECT "check", passed, detail FROM steward.verify('vfo_alice.child') WHERE "check" LIKE 'foreign%';
RESET ROLE;
SELECT count(*) AS alice_rows FROM vfo_alice.private;
-- A superuser (a restore drill) likewise.
SELECT "check", passed, detail FROM steward.verify('vfo_alice.child') WHERE "check" LIKE 'foreign%';
SELECT count(*) AS alice_rows FROM vfo_alice.private;

-- Still a check: a row without its parent is found.
ALTER TABLE vfo_alice.child DISABLE TRIGGER ALL;
INSERT INTO vfo_alice.child VALUES (5, 7), (6, 8);
ALTER TABLE vfo_alice.child ENABLE TRIGGER ALL;
SELECT "check", passed, detail FROM steward.verify('vfo_alice.child') WHERE "check" LIKE 'foreign%';
DELETE FROM vfo_alice.child WHERE id IN (5, 6);

-- F24: the referenced table's owner revokes USAGE on its schema, or
-- enables (or forces) row security: verify() still runs; the lookup,
-- as core's, runs as the owner and applies no policy.
SET ROLE vfo_bob;
REVOKE USAGE ON SCHEMA vfo_bob FROM vfo_alice;
ALTER TABLE vfo_bob.ref ENABLE ROW LEVEL SECURITY;
ALTER TABLE vfo_bob.ref FORCE ROW LEVEL SECURITY;
RESET ROLE;
SELECT "check", passed, detail FROM steward.verify('vfo_alice.child') ORDER BY 1;
-- Its owner may not read it any more: a row says so.
SET ROLE vfo_bob;
REVOKE SELECT ON vfo_bob.ref FROM vfo_bob;
RESET ROLE;
SELECT "check", passed, detail FROM steward.verify('vfo_alice.child') WHERE "check" LIKE 'foreign%';
-- Nor the referencing table's owner.
SET ROLE vfo_bob;
GRANT SELECT ON vfo_bob.ref TO vfo_bob;
REVOKE SELECT ON vfo_bob.ref FROM vfo_alice;
RESET ROLE;
SELECT "check", passed, detail FROM steward.verify('vfo_alice.child') WHERE "check" LIKE 'foreign%';

-- The lookup refuses anyone but the referencing table's owner.
SET ROLE vfo_bob;
SELECT steward._verify_fk_orphans(oid) FROM pg_constraint WHERE conname = 'child_r_fkey';
RESET ROLE;

-- Same owner: one statement, as before; MATCH FULL refuses a partly
-- NULL key and accepts an all-NULL one; a plain table's key covers ONLY
-- it, not its inheritance children (which do not inherit the key).
SET ROLE vfo_alice;
CREATE TABLE vfo_alice.p2 (a int, b int, PRIMARY KEY (a, b));
INSERT INTO vfo_alice.p2 VALUES (1, 1);
CREATE TABLE vfo_alice.c2 (id int PRIMARY KEY, a int, b int,
                           FOREIGN KEY (a, b) REFERENCES vfo_alice.p2 MATCH FULL) USING steward;
INSERT INTO vfo_alice.c2 VALUES (1, 1, 1), (2, NULL, NULL);
CREATE TABLE vfo_alice.p2_kid () INHERITS (vfo_alice.p2);
INSERT INTO vfo_alice.p2_kid VALUES (2, 2);
RESET ROLE;
SELECT "check", passed, detail FROM steward.verify('vfo_alice.c2') WHERE "check" LIKE 'foreign%';
ALTER TABLE vfo_alice.c2 DISABLE TRIGGER ALL;
INSERT INTO vfo_alice.c2 VALUES (3, 1, NULL), (4, 2, 2);
ALTER TABLE vfo_alice.c2 ENABLE TRIGGER ALL;
SELECT "check", passed, detail FROM steward.verify('vfo_alice.c2') WHERE "check" LIKE 'foreign%';

-- run_transition on a table with a DEFERRABLE INITIALLY DEFERRED foreign
-- key (review9 F9): before, every batch failed with 42501 "cannot fire
-- deferred trigger within security-restricted operation"; now the batch
-- makes the table's deferrable constraints IMMEDIATE inside its own
-- transaction, so their checks run at the end of the batch's statement,
-- as the owner.
SELECT steward.create_state_machine('vfo_jobs', ARRAY['created', 'paid'], ARRAY['created'],
                                    ARRAY['created->paid']);
SET ROLE vfo_alice;
CREATE TABLE vfo_alice.cust (id int PRIMARY KEY);
INSERT INTO vfo_alice.cust VALUES (1), (2);
CREATE TABLE vfo_alice.ord (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created',
                            cust_id int REFERENCES vfo_alice.cust DEFERRABLE INITIALLY DEFERRED)
    USING steward;
RESET ROLE;
SELECT steward.attach_state_machine('vfo_alice.ord', 'st', 'vfo_jobs');
SET ROLE vfo_alice;
INSERT INTO vfo_alice.ord (id, cust_id) SELECT g, 1 FROM generate_series(1, 5) g;
CALL steward.run_transition('vfo_alice.ord', 'created', 'paid', 'cust_id = 2', 2);
SELECT st, cust_id, count(*) FROM vfo_alice.ord GROUP BY 1, 2 ORDER BY 1, 2;
-- A batch that breaks the key fails with the key's own error, and moves nothing.
INSERT INTO vfo_alice.ord (id, cust_id) VALUES (6, 1), (7, 1);
CALL steward.run_transition('vfo_alice.ord', 'created', 'paid', 'cust_id = 9', 2);
SELECT st, cust_id, count(*) FROM vfo_alice.ord GROUP BY 1, 2 ORDER BY 1, 2;
RESET ROLE;
DROP SCHEMA vfo_alice CASCADE;
DROP SCHEMA vfo_bob CASCADE;
SELECT steward.drop_state_machine('vfo_jobs');
DROP ROLE vfo_alice;
DROP ROLE vfo_bob;
