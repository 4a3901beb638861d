-- pg_steward has one ProcessUtility hook (src/plumbing/utility.c); the
-- subsystems' steps run in the order of StewardUtilityStage
-- (src/plumbing/utility.h), no longer in the order _PG_init chained six
-- hooks (closing45 D4).  Where the order shows: statement statistics is
-- the outermost stage, so the SQL the roles step runs after REASSIGN
-- OWNED / DROP OWNED (steward._reassign_owned, _drop_owned) and the SQL
-- the 0.1-restore step runs around a 0.1 COPY (its temporary table, the
-- merge INSERTs) are nested statements of the user's one statement, not
-- top-level statements of their own.  With roles or restore01 outside
-- statistics, steward.statements listed them as statements the client
-- sent.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_steward;
RESET client_min_messages;
SET steward.track = top;
SET steward.track_utility = on;

CREATE ROLE r384_a;
CREATE ROLE r384_b;
SELECT steward.create_state_machine('m384', states => ARRAY['a', 'b'], initial => ARRAY['a'],
                                    transitions => ARRAY['a->b']);
SELECT steward.alter_state_machine_owner('m384', 'r384_a');
SELECT steward.reset();

-- Roles, after core's part: the machine follows; the step's SQL is nested.
REASSIGN OWNED BY r384_a TO r384_b;
SELECT owner::text FROM steward.machine_definitions WHERE name = 'm384';
DROP OWNED BY r384_b;
SELECT count(*) AS machines FROM steward.machine_definitions WHERE name = 'm384';

-- Restore01, around core's COPY: a 0.1 dump's scope row gets claim NULL
-- (the step ran); its temporary table and merge are nested.
COPY steward.idempotency_scopes (scope, retention) FROM stdin;
s384	2 days
\.
SELECT scope, retention, claim IS NULL AS claim_null
  FROM steward.idempotency_scopes WHERE scope = 's384';

-- Each user statement once; none of the steps' own statements.
SELECT query, calls FROM steward.statements
 WHERE query ~ '^(REASSIGN|DROP OWNED|COPY steward)' ORDER BY query COLLATE "C";
SELECT query FROM steward.statements
 WHERE query ~ '(_reassign_owned|_drop_owned|_role_objects|steward_restore01)'
 ORDER BY query COLLATE "C";

SELECT steward.drop_idempotency_scope('s384');
DROP ROLE r384_a, r384_b;
RESET steward.track;
RESET steward.track_utility;
