/*-------------------------------------------------------------------------
 *
 * rules_api.h
 *	  Helpers shared by the functions that configure column rules
 *	  (rules_api.c: versions and sequences; lifecycle/machines_api.c:
 *	  state machines).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_RULES_API_H
#define STEWARD_RULES_API_H

#include "postgres.h"

#include "catalog/pg_attribute.h"
#include "plumbing/as_owner.h"
#include "fmgr.h"
#include "utils/rel.h"

extern void require_arg(FunctionCallInfo fcinfo, int argno, const char *what);
extern void check_table_owner(Oid relid);
extern Relation open_table_to_configure(Oid relid);
extern Form_pg_attribute lookup_column(Relation rel, const char *colname);
extern void enter_rules_owner(StewardAsOwner *ctx);
extern uint64 delete_column_rules(Oid relid, const char *colname, const char *kind);
extern int	exec_for_column(const char *sql, Oid relid, const char *colname,
							bool read_only);
extern char *existing_rule(Oid relid, const char *colname);

#endif							/* STEWARD_RULES_API_H */
