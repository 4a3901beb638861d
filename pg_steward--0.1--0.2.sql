/* pg_steward--0.1--0.2.sql: every SQL change of release 0.2.
 *
 * Rules (README "Upgrading"): this script is applied by
 * ALTER EXTENSION pg_steward UPDATE to a database at 0.1 and must leave
 * exactly the objects of a fresh 0.2 install (test/t/012_upgrade.pl
 * compares the two).  Each change here is also made in the subsystem's own
 * SQL file under src/, which builds the fresh install script.  The library
 * reads the extension's catalog tables by column name, so tables may gain
 * columns here with ALTER TABLE; a column is never dropped or retyped in
 * place while a released library could still read it.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pg_steward UPDATE TO '0.2'" to load this file. \quit

-- The control file's comment is applied only by CREATE EXTENSION.
COMMENT ON EXTENSION pg_steward IS
  'OLTP discipline enforced by PostgreSQL: steward table access method (optimistic row versions, monotonic sequences, lifecycle state machines), steward_hash index, idempotency keys, latency/contention/replication/capacity/health views, verify and restore drills';
