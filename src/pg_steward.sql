/* pg_steward: fresh install script, built by the Makefile from the
 * per-subsystem SQL files listed in SQL_SOURCES (in that order). */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pg_steward" to load this file. \quit

-- Users reach the API and views through the schema; what each object allows
-- is granted object by object below.
GRANT USAGE ON SCHEMA steward TO PUBLIC;
