-- A scope whose owner was dropped from another database (review12
-- R12-11): its owner is a bare OID here, which pg_dump wrote as a number
-- and a restore gave to whichever role has that OID there, with the
-- scope's stored responses.  Such scopes and their keys are left out of
-- the dump (the tables' dump conditions); scopes of existing roles and
-- their keys are dumped as before.
CREATE ROLE i125_gone;
CREATE ROLE i125_kept;
SELECT steward.create_idempotency_scope('i125_orphan', 'i125_gone');
SELECT steward.create_idempotency_scope('i125_kept', 'i125_kept');
SELECT outcome FROM steward.idempotency_begin('i125_orphan', 'k', 'fp');
SELECT steward.idempotency_complete('i125_orphan', 'k', 200, '{"secret": "gone"}');
SELECT outcome FROM steward.idempotency_begin('i125_kept', 'k', 'fp');
SELECT steward.idempotency_complete('i125_kept', 'k', 200, '{"secret": "kept"}');

-- DROP ROLE from another database: nothing there refuses it.
\set here :DBNAME
\c postgres
DROP ROLE i125_gone;
\c :here

-- What pg_dump copies of a configuration table: the rows its dump
-- condition selects, under pg_dump's empty search_path.
\i test/sql/dumped_rows.sql


-- The scope is still here, owned by an OID no role has (superusers may
-- give it away) ...
SELECT scope, owner::oid IN (SELECT oid FROM pg_roles) AS owner_exists
  FROM steward.idempotency_scopes WHERE scope LIKE 'i125\_%' ORDER BY 1;
-- ... but neither it nor its keys are dumped.
SELECT * FROM pg_temp.dumped('steward.idempotency_scopes', 'scope') s WHERE s LIKE 'i125\_%';
SELECT * FROM pg_temp.dumped('steward.idempotency_keys', 'scope || ''/'' || key || '' '' || response::text') k
 WHERE k LIKE 'i125\_%';

-- Given to a role, it is dumped again.
SELECT steward.alter_idempotency_scope_owner('i125_orphan', 'i125_kept');
SELECT * FROM pg_temp.dumped('steward.idempotency_scopes', 'scope') s WHERE s LIKE 'i125\_%';
SELECT * FROM pg_temp.dumped('steward.idempotency_keys', 'scope || ''/'' || key || '' '' || response::text') k
 WHERE k LIKE 'i125\_%';

SELECT steward.drop_idempotency_scope('i125_orphan');
SELECT steward.drop_idempotency_scope('i125_kept');
DROP ROLE i125_kept;
