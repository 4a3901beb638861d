/*-------------------------------------------------------------------------
 *
 * rulekinds.c
 *	  The table through which the steward AM and its rules cache call the
 *	  rule kinds they do not own (rulekinds.h), with its do-nothing
 *	  defaults: no kind registered means no state machine loaded, nothing
 *	  checked or counted, no migration running.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "tableam/rulekinds.h"
static void
no_check_insert_states(Relation rel, TupleTableSlot *slot, const StewardRules *rules,
					   bool from_copy)
{
}

static int
no_check_update_states(Relation rel, HeapTuple oldtup, TupleTableSlot *slot,
					   const StewardRules *rules, StateChange *changes,
					   const StewardRowOrigin *origin)
{
	return 0;
}

static void
no_state_changes(TupleTableSlot *slot, const StateChange *changes, int n)
{
}

static void
no_count_state_changes(Relation rel, const StateChange *changes, int n)
{
}

static void
no_state_counts_row(Relation rel, const StewardRules *rules, TupleTableSlot *slot,
					HeapTuple tuple, int sign)
{
}

static void
no_state_counts_unknown(Relation rel, const StewardRules *rules)
{
}

static StewardMachineLoad
no_load_state_machine(Snapshot snapshot, const char *machine, StateRule *rule)
{
	return STEWARD_MACHINE_IGNORED;
}

static void
no_check_stored_states(Relation rel, const StateRule *rule)
{
}

static void
no_check_state_rule_removed(Oid relid, const char *colname, StewardRuleEntry entry)
{
}

static void
no_triggers_enabled(Oid relid)
{
}

static bool
no_migration_backfilling(Oid relid)
{
	return false;
}

static bool
no_relayout_applying(Relation rel)
{
	return false;
}

StewardRuleKinds steward_rule_kinds = {
	.check_insert_states = no_check_insert_states,
	.check_update_states = no_check_update_states,
	.apply_state_changes = no_state_changes,
	.count_state_changes = no_count_state_changes,
	.state_counts_row = no_state_counts_row,
	.state_counts_changes = no_count_state_changes,
	.state_counts_unknown = no_state_counts_unknown,
	.load_state_machine = no_load_state_machine,
	.check_stored_states = no_check_stored_states,
	.check_state_rule_removed = no_check_state_rule_removed,
	.triggers_enabled = no_triggers_enabled,
	.migration_backfilling = no_migration_backfilling,
	.relayout_applying = no_relayout_applying,
};

#define REGISTER_KIND(member) \
	do { if (k->member) steward_rule_kinds.member = k->member; } while (0)

/*
 * See rulekinds.h: from _PG_init only; NULL members keep their default.
 * Process-local: no lock, raises nothing.
 */
void
steward_rule_kinds_register(const StewardRuleKinds *k)
{
	REGISTER_KIND(check_insert_states);
	REGISTER_KIND(check_update_states);
	REGISTER_KIND(apply_state_changes);
	REGISTER_KIND(count_state_changes);
	REGISTER_KIND(state_counts_row);
	REGISTER_KIND(state_counts_changes);
	REGISTER_KIND(state_counts_unknown);
	REGISTER_KIND(load_state_machine);
	REGISTER_KIND(check_stored_states);
	REGISTER_KIND(check_state_rule_removed);
	REGISTER_KIND(triggers_enabled);
	REGISTER_KIND(migration_backfilling);
	REGISTER_KIND(relayout_applying);
}
