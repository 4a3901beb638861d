/*-------------------------------------------------------------------------
 *
 * rulekinds.h
 *	  The rule kinds the steward AM enforces beyond its own versions and
 *	  sequences, called through a table of functions.
 *
 * States (src/lifecycle) and migrations (src/migrate) depend on the AM,
 * never the other way: the AM calls them only through this table, which
 * _PG_init (src/pg_steward.c, the one file that includes every subsystem)
 * fills at load time, before any table is opened.  A member left NULL keeps
 * its default, which does nothing (no states: nothing to check, count or
 * change; no migration running), so the AM works with any subset.  The way
 * timescaledb's cross-module function table keeps its core free of its
 * optional modules.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_RULEKINDS_H
#define STEWARD_RULEKINDS_H

#include "postgres.h"

#include "access/htup.h"
#include "executor/tuptable.h"
#include "tableam/rules.h"
#include "utils/rel.h"
#include "utils/snapshot.h"

struct StewardStatementReport;

/* A state change an UPDATE is about to make, applied once it is allowed. */
typedef struct StateChange
{
	const StateRule *rule;
	int			from;			/* -1 when the old value was not a state */
	int			to;

	/*
	 * from -1, the owner's repair in place: what count_state_changes
	 * reports once heap stored the row (and only then, so a row the
	 * executor updates again after EvalPlanQual is reported once): the
	 * value it leaves, the statement's tally of the column's repairs
	 * (NULL: none could be made), and, when the repair is to be reported
	 * one by one (show), a copy of the old row whose key the NOTICE names:
	 * the key is read only then, as reading it locks the key's index,
	 * which may process invalidations that free the cached rules the
	 * judging still reads (codereview20).
	 */
	const char *repaired_from;
	struct StewardStatementReport *tally;
	HeapTuple	keytuple;
	bool		show;
} StateChange;

/* What load_state_machine found. */
typedef enum StewardMachineLoad
{
	STEWARD_MACHINE_IGNORED,	/* no state kind registered: no rule */
	STEWARD_MACHINE_LOADED,
	STEWARD_MACHINE_MISSING,	/* no such machine (or no catalog) */
	STEWARD_MACHINE_MALFORMED	/* a definition the library cannot read */
} StewardMachineLoad;

/*
 * Each function runs inside the AM's write path, with the relation open
 * and locked by the executor, in the executor's memory context.  The check
 * functions raise the kind's own errors; the others must not raise (they
 * count, after heap has stored the row).
 */
typedef struct StewardRuleKinds
{
	/* States: refuse an insert whose state is not initial. */
	void		(*check_insert_states) (Relation rel, TupleTableSlot *slot,
										const StewardRules *rules, bool from_copy);
	/*
	 * States: refuse an illegal edge, the error naming origin's relation
	 * and row (StewardRowOrigin); fill changes, return their number.
	 */
	int			(*check_update_states) (Relation rel, HeapTuple oldtup,
										TupleTableSlot *slot,
										const StewardRules *rules,
										StateChange *changes,
										const StewardRowOrigin *origin);
	/* States: write what allowed changes imply (state-change times). */
	void		(*apply_state_changes) (TupleTableSlot *slot,
										const StateChange *changes, int n);
	/* States: count transitions per edge (steward.transition_counts). */
	void		(*count_state_changes) (Relation rel,
										const StateChange *changes, int n);
	/* States: rows per state (steward.state_counts): a row in or out... */
	void		(*state_counts_row) (Relation rel, const StewardRules *rules,
									 TupleTableSlot *slot, HeapTuple tuple, int sign);
	/* ... a row moved between states ... */
	void		(*state_counts_changes) (Relation rel, const StateChange *changes, int n);
	/* ... or rows stored unchecked: the counts must be taken again. */
	void		(*state_counts_unknown) (Relation rel, const StewardRules *rules);

	/*
	 * States: fill rule (attnum and changed_at already set) from the
	 * definition of machine, read with snapshot; MISSING or MALFORMED
	 * when it cannot (the rule then refuses rows entering or changing
	 * state: StewardRules.missing).  Called by the rules cache loader
	 * (rules.c) in any memory context; raises only for lack of memory or
	 * a catalog older than the library (55000).
	 */
	StewardMachineLoad (*load_state_machine) (Snapshot snapshot, const char *machine,
											  StateRule *rule);
	/*
	 * States: refuse (23514) when stored rows of rel hold values that are
	 * not states of rule, as attaching the machine would.  Called by DDL
	 * (storage_guard.c) outside the write paths; reads rel as its owner.
	 */
	void		(*check_stored_states) (Relation rel, const StateRule *rule);
	/*
	 * States: relation relid's own state rule on column colname is gone
	 * (a DELETE or UPDATE of its row in steward.column_rules: a label set
	 * to NULL, untrack, a hand edit); refuse (23514) when the rows it
	 * leaves to a partitioned ancestor's machine hold values that machine
	 * does not declare, as detach_state_machine does.  Called by the rules
	 * table's row trigger (rules_api.c), entry the command removing it
	 * (its message names it); locks relid (and its partitions) and reads it
	 * as its owner.
	 */
	void		(*check_state_rule_removed) (Oid relid, const char *colname,
											 StewardRuleEntry entry);
	/*
	 * States: after ALTER TABLE ... ENABLE TRIGGER of relation relid of
	 * the extension (storage_guard.c): when it is
	 * steward.machine_definitions, record the machines' owners and
	 * grantees in pg_shdepend again, for rows stored while its triggers
	 * were disabled.  Locks and errors are the roles' recording
	 * (machine_roles.c).
	 */
	void		(*triggers_enabled) (Oid relid);

	/*
	 * Migrations: the row is written to relid by this backend's backfill
	 * batch statement itself (not by a statement the batch runs in turn:
	 * an up or down writing its own table meets the rules).
	 */
	bool		(*migration_backfilling) (Oid relid);
	/*
	 * Migrations: this backend copies rows into rel, the other layout of
	 * its relayout (rows stored as sent).
	 */
	bool		(*relayout_applying) (Relation rel);
} StewardRuleKinds;

/* The table the AM and rules.c call through; written only by register. */
extern StewardRuleKinds steward_rule_kinds;

/*
 * Fill the AM's table with the non-NULL members of kinds (copied).  From
 * _PG_init only: every backend has its table before it opens a table.
 */
extern void steward_rule_kinds_register(const StewardRuleKinds *kinds);

#endif							/* STEWARD_RULEKINDS_H */
