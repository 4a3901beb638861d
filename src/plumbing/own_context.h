/*-------------------------------------------------------------------------
 *
 * own_context.h
 *	  Errors leaving pg_steward's entry points without the CONTEXT lines
 *	  of its own code (own_context.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_OWN_CONTEXT_H
#define STEWARD_OWN_CONTEXT_H

#include "postgres.h"

extern void steward_strip_own_context(const char *statement);
extern int	steward_spi_execute_entry(const char *sql, int nargs, Oid *argtypes,
									  Datum *args, const char *nulls,
									  bool read_only, long tcount);

#endif							/* STEWARD_OWN_CONTEXT_H */
