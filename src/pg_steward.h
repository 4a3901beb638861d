/*-------------------------------------------------------------------------
 *
 * pg_steward.h
 *	  Declarations shared by the subsystems of pg_steward.
 *
 * Each subsystem lives in its own folder under src/ and exposes a small
 * interface here or in its own header.  _PG_init (pg_steward.c) wires them
 * together.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_STEWARD_H
#define PG_STEWARD_H

#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

/*
 * Exported symbols.  The library is built with -fvisibility=hidden and
 * PGDLLEXPORT marking "visible" (Makefile), so that it exports only what the
 * server looks up by name: _PG_init, Pg_magic_func, the SQL-callable
 * functions with their pg_finfo_ records, and background workers' main
 * functions (declared PGDLLEXPORT).  PostgreSQL 15's PG_FUNCTION_INFO_V1
 * marks only the pg_finfo_ record; this one also marks the function, as
 * PostgreSQL 16's does.  So every file with an SQL-callable function
 * includes this header (test/t/041_architecture.pl checks the result).
 */
#undef PG_FUNCTION_INFO_V1
#define PG_FUNCTION_INFO_V1(funcname) \
extern PGDLLEXPORT Datum funcname(PG_FUNCTION_ARGS); \
extern PGDLLEXPORT const Pg_finfo_record * CppConcat(pg_finfo_,funcname)(void); \
const Pg_finfo_record * \
CppConcat(pg_finfo_,funcname) (void) \
{ \
	static const Pg_finfo_record my_finfo = { 1 }; \
	return &my_finfo; \
} \
extern int no_such_variable

/* Name of the extension (pg_extension.extname). */
#define STEWARD_EXTENSION "pg_steward"

/* Name of the schema that holds every extension object. */
#define STEWARD_SCHEMA "steward"

/*
 * The HINT of every refusal that needs the extension's SQL objects of this
 * library's version (a database still at 0.1's): the step, as a sentence
 * naming where to run it, one wording at every site.
 */
#define STEWARD_HINT_UPDATE "Run ALTER EXTENSION pg_steward UPDATE in this database."

/* Name of the table access method, as created by the install script. */
#define STEWARD_TABLE_AM "steward"

/*
 * Context of GUCs that size shared memory.  They can only be set at server
 * start, and defining a PGC_POSTMASTER variable after startup is an error,
 * so when the library is loaded later (no shared_preload_libraries) they
 * are defined as fixed, internal values.
 */
#define STEWARD_SERVER_START_GUC \
	(process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_INTERNAL)

/* stats/counters.c */
extern void steward_counters_request_shmem(void);
extern void steward_counters_init_shmem(void);
extern void steward_counters_define_gucs(void);

/* stats/health.c */
extern void steward_health_define_gucs(void);

#endif							/* PG_STEWARD_H */
