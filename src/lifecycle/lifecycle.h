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
#include "tableam/rules.h"

/* A state change an UPDATE is about to make, applied once it is allowed. */
typedef struct StateChange
{
	const StateRule *rule;
	int			from;			/* -1 when the old value was not a state */
	int			to;
} StateChange;

extern void steward_check_insert_states(Relation rel, TupleTableSlot *slot,
										const StewardRules *rules, bool from_copy);
extern int	steward_check_update_states(Relation rel, HeapTuple oldtup,
										TupleTableSlot *slot,
										const StewardRules *rules,
										StateChange *changes);
extern void steward_apply_state_changes(TupleTableSlot *slot,
										const StateChange *changes, int n);
extern void steward_count_state_changes(Relation rel,
										const StateChange *changes, int n);

#endif							/* STEWARD_LIFECYCLE_H */
