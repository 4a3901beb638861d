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
#include "access/htup.h"
#include "fmgr.h"
#include "tableam/rules.h"
#include "utils/rel.h"

extern Relation steward_open_table_to_configure(Oid relid);
extern void steward_check_no_pending_detach(Relation rel, const char *change);
extern const char *steward_half_detached_why(bool capital);
extern char *steward_half_detached_step(Oid part, Oid parent, bool capital);
extern void steward_check_rule_storage(Oid relid);
extern Form_pg_attribute steward_lookup_column(Relation rel, const char *colname,
												const char *verb);
extern void steward_enter_rules_owner(StewardAsOwner *ctx);
extern uint64 steward_delete_column_rules(Oid relid, const char *colname, const char *kind,
										  StewardRuleEntry entry);
extern int	steward_api_rule_exec(Oid relid, StewardRuleEntry entry, const char *sql, int nargs,
								  Oid *argtypes, Datum *args, const char *nulls);
extern int	steward_exec_for_column(const char *sql, Oid relid, const char *colname,
							bool read_only);
extern char *steward_existing_rule(Oid relid, const char *colname);
extern int	steward_read_rows_after_lock(const char *sql, int nargs, Oid *argtypes,
										 Datum *args);
extern bool steward_relation_stores_rows(Oid relid);
extern void steward_check_existing_versions(Relation rel, const char *colname);
extern void steward_check_one_version_column(Oid relid, Oid tracked_relid, bool warn);
extern void steward_invalidate_state_rules(List *machines, bool all);

/* A column with a rule: steward_rule_columns, steward_machine_columns. */
typedef struct StewardRuleColumn
{
	Oid			relid;
	char	   *attname;
} StewardRuleColumn;
extern List *steward_rule_columns(const char *sql, int nargs, Oid *argtypes, Datum *args,
								  MemoryContext cxt);
extern List *steward_machine_columns(const char *machine, MemoryContext cxt);
extern void steward_warn_version_trigger(const char *tgname, const char *relname,
										 const char *colname);

/* release.c */
extern void steward_release_install_hook(void);

/* storage_guard.c */
extern void steward_check_partitions_use_steward(Relation rel);
extern void steward_check_no_inheritance_children(Relation rel);
/* Which call checks that a machine's states fit a state column. */
typedef enum StewardStatesFitCall
{
	STEWARD_FIT_ATTACH,			/* attach_state_machine: refused */
	STEWARD_FIT_ADD,			/* add_transition's new state: refused */
	STEWARD_FIT_RESTORE			/* a restored rule: kept, WARNING */
} StewardStatesFitCall;
extern void steward_check_states_fit(Oid relid, const char *column, const char *machine,
									 Datum states, StewardStatesFitCall call);

/* Called for each row an AFTER ROW trigger of a catalog table sees. */
typedef void (*StewardCatalogRowFn) (Relation catalog, HeapTuple tuple);
extern void steward_require_catalog_row_trigger(FunctionCallInfo fcinfo,
												const char *name,
												const char *catalog);
extern void steward_catalog_row_trigger(FunctionCallInfo fcinfo, const char *name,
										const char *catalog, StewardCatalogRowFn fn);

#endif							/* STEWARD_RULES_API_H */
