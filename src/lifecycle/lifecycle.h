/*-------------------------------------------------------------------------
 *
 * lifecycle.h
 *	  Lifecycle state machines enforced by the steward table AM.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_LIFECYCLE_H
#define STEWARD_LIFECYCLE_H

#include "postgres.h"

#include "access/htup.h"
#include "executor/tuptable.h"
#include "tableam/rulekinds.h"
#include "tableam/rules.h"
#include "utils/snapshot.h"

/* Catalog of state machines (lifecycle.sql), read by column name. */
#define STEWARD_MACHINES_TABLE "machine_definitions"

/* machine_load.c */
extern int	steward_state_index(const StateRule *rule, const char *name, int len);
extern StewardMachineLoad steward_load_state_machine(Snapshot snapshot, const char *machine,
									   StateRule *rule);

/* machine_roles.c: the machines' roles in pg_shdepend (see its header) */
extern void steward_machine_roles_forget(Datum roles);
extern void steward_machine_roles_lock(Oid role, bool usage);

/* machines_api.c */
extern bool steward_lock_role_machines(Datum roles, bool cascade);
extern void steward_try_lock_role_machines(Datum roles);
extern void steward_check_stored_states(Relation rel, const StateRule *rule);
extern void steward_check_state_rule_removed(Oid relid, const char *colname,
											 StewardRuleEntry entry);

/* state_rules.c */
extern void steward_append_state_name(StringInfo buf, const char *name);
extern char *steward_quote_state(const char *name);
extern char *steward_state_list(const StateRule *rule, uint64 mask);
extern uint64 steward_all_states(const StateRule *rule);
extern void steward_refuse_missing_machine(Relation rel, AttrNumber attnum,
										   const MissingStateRule *missing) pg_attribute_noreturn();
extern void steward_check_insert_states(Relation rel, TupleTableSlot *slot,
										const StewardRules *rules, bool from_copy);
extern int	steward_check_update_states(Relation rel, HeapTuple oldtup,
										TupleTableSlot *slot,
										const StewardRules *rules,
										StateChange *changes,
										const StewardRowOrigin *origin);
extern void steward_apply_state_changes(TupleTableSlot *slot,
										const StateChange *changes, int n);
extern void steward_count_state_changes(Relation rel,
										const StateChange *changes, int n);

/* transitions.c: may the current user count the rows per state of relid? */
extern bool steward_may_count_states(Oid relid, const char *column);

/* machine_roles.c: the machines' roles in pg_shdepend, recorded again */
extern void steward_machine_triggers_enabled(Oid relid);

/* state_counts.c: rows per state, maintained (see its header) */
typedef bool (*steward_state_count_fn) (Relation rel, const StateRule *rule, Snapshot snap,
										int64 *counts, void *arg);
extern void steward_state_counts_request_shmem(void);
extern void steward_state_counts_init_shmem(void);
extern void steward_state_counts_install_hooks(void);
extern void steward_state_counts_row(Relation rel, const StewardRules *rules,
									 TupleTableSlot *slot, HeapTuple tuple, int sign);
extern void steward_state_counts_changes(Relation rel, const StateChange *changes, int n);
extern void steward_state_counts_unknown(Relation rel, const StewardRules *rules);
extern bool steward_state_counts_read(Relation rel, const StateRule *rule, int64 *counts,
									  steward_state_count_fn count_fn, void *arg);

#endif							/* STEWARD_LIFECYCLE_H */
