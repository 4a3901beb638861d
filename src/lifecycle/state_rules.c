/*-------------------------------------------------------------------------
 *
 * state_rules.c
 *	  Enforce lifecycle state machines on the steward AM's write paths.
 *
 * INSERT must start a row in an initial state (COPY by the table's owner
 * may load any declared state, so restores reproduce tables); UPDATE must keep the state or
 * follow a declared edge.  Like the version rule, the UPDATE check compares
 * against the row at the TID being replaced, so it holds on the
 * EvalPlanQual path: of two sessions racing paid->shipped and
 * paid->refunded, the loser is re-checked against the winner's row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "access/xact.h"
#include "commands/extension.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/datetime.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "pg_steward.h"
#include "lifecycle/lifecycle.h"
#include "plumbing/slot.h"
#include "stats/counters.h"
#include "tableam/writectx.h"

static const char *
column_name(Relation rel, AttrNumber attnum)
{
	return NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname);
}

/*
 * Append state name to buf inside double quotes, an embedded double quote
 * doubled as in an SQL identifier: the one way every message prints a
 * state name (msg51), so that a state named  a, b  reads "a, b", one name,
 * where unquoted it read as two states a and b, and one named  a", "b
 * reads "a"", ""b".  Takes no lock; raises nothing but out of memory.
 */
void
steward_append_state_name(StringInfo buf, const char *name)
{
	appendStringInfoChar(buf, '"');
	for (const char *c = name; *c != '\0'; c++)
	{
		if (*c == '"')
			appendStringInfoChar(buf, '"');
		appendStringInfoChar(buf, *c);
	}
	appendStringInfoChar(buf, '"');
}

/*
 * State name quoted as steward_append_state_name quotes it, palloc'd in
 * CurrentMemoryContext.  Takes no lock; raises nothing but out of memory.
 */
char *
steward_quote_state(const char *name)
{
	StringInfoData buf;

	initStringInfo(&buf);
	steward_append_state_name(&buf, name);
	return buf.data;
}

/*
 * "\"a\", \"b\", \"c\"" for the states of rule in a bit mask (bit i:
 * rule->names[i]), in declaration order, each quoted by
 * steward_append_state_name, palloc'd; "" for an empty mask.  Used by
 * every message that lists states (the write path's, run_transition's).
 * Takes no lock; raises nothing but out of memory.
 */
char *
steward_state_list(const StateRule *rule, uint64 mask)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < rule->nstates; i++)
	{
		if (!(mask & (UINT64CONST(1) << i)))
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		steward_append_state_name(&buf, rule->names[i]);
	}
	return buf.data;
}

/*
 * The mask of every state rule declares, for steward_state_list: the
 * "Declared states" of every message about a value that is no state.
 * Takes no lock; raises nothing.
 */
uint64
steward_all_states(const StateRule *rule)
{
	return rule->nstates >= 64 ? ~UINT64CONST(0) : (UINT64CONST(1) << rule->nstates) - 1;
}

/*
 * State index of a datum, or -1; *value gets the text for messages: a
 * declared state's name from the rule (the value's very bytes), so that
 * judging a row allocates nothing -- a copy per row stayed in the
 * executor's query memory until the statement ended, about 40 bytes a row
 * of a bulk UPDATE (review31) -- and a copy only for a value that is no
 * state.
 */
static int
state_of(const StateRule *rule, Datum d, bool isnull, char **value)
{
	text	   *t;
	int			s;

	if (isnull)
	{
		*value = "NULL";
		return -1;
	}
	t = DatumGetTextPP(d);
	s = steward_state_index(rule, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	*value = s >= 0 ? (char *) rule->names[s] : text_to_cstring(t);
	return s;
}

/*
 * A copy of rule in CurrentMemoryContext, and of *value1 and *value2 (when
 * not NULL), for an error path about to call steward_origin_error_target or
 * steward_row_key_desc.  They lock the row key's index (and the ancestor
 * named), so the backend processes pending invalidations there, and a
 * relcache invalidation of the table frees its cached rules (rd_amcache,
 * rules.c) with the StateRule the caller holds and the state names
 * state_of's values point into.  An illegal transition after an ANALYZE of
 * the table died of signal 11 in steward_state_list on an assert build
 * with debug_discard_caches = 1 (cassert50).  Raises nothing but 53200.
 */
static const StateRule *
rule_for_error(const StateRule *rule, const char **value1, const char **value2)
{
	StateRule  *copy = palloc(sizeof(StateRule));

	memcpy(copy, rule, sizeof(StateRule));
	if (value1 != NULL && *value1 != NULL)
		*value1 = pstrdup(*value1);
	if (value2 != NULL && *value2 != NULL)
		*value2 = pstrdup(*value2);
	return copy;
}

/*
 * The value written to rule's column of origin's row is no state: 23514
 * naming origin's relation, or, for a user who may read the column only
 * in a partitioned table above that partition (the one it writes
 * through), that table with the row's key there
 * (steward_origin_error_target).  Counts origin's relation.  "stored_in":
 * the relation whose row already holds that value (an UPDATE leaving the
 * column as it was), or NULL: then the HINT names the owner's repair to a
 * role that may not make it, and the value is shown only to a role that
 * may read the column.
 */
static void
report_undeclared(const StewardRowOrigin *origin, const StateRule *rule,
				  const char *value, Relation stored_in)
{
	AttrNumber	attnum;
	char	   *key;
	bool		readable;
	Relation	rel;
	bool		owner_only;

	steward_count_event(RelationGetRelid(origin->rel), STEWARD_COUNTER_ILLEGAL_TRANSITIONS, 1);
	rule = rule_for_error(rule, &value, NULL);

	/*
	 * A row already stored in an undeclared state leaves it only by its
	 * owner's UPDATE in place (check_leave_undeclared): naming the declared
	 * states to anyone else sent them to a write they are refused too.
	 * Asked after the copy above: the lookup may free the cached rules.
	 */
	owner_only = stored_in != NULL &&
		(RelationGetRelid(origin->rel) != RelationGetRelid(stored_in) ||
		 !has_privs_of_role(GetUserId(), stored_in->rd_rel->relowner));
	rel = steward_origin_error_target(origin, rule->attnum, &attnum, &key, &readable);
	/*
	 * The stored value only to a role that may read the column (a role
	 * with UPDATE on another column saw it), as check_leave_undeclared.
	 */
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 stored_in != NULL && !readable ?
			 errmsg("the state stored in a row is not a state of machine \"%s\" (column \"%s\" of relation \"%s\")",
					rule->machine, column_name(rel, attnum),
					RelationGetRelationName(rel)) :
			 errmsg("%s is not a state of machine \"%s\" (column \"%s\" of relation \"%s\")",
					strcmp(value, "NULL") == 0 ? "NULL" : quote_literal_cstr(value),
					rule->machine, column_name(rel, attnum),
					RelationGetRelationName(rel)),
			 key ? errdetail("Row key: %s.", key) : 0,
			 owner_only ?
			 errhint("The row was stored in that state past the rules; ask the owner of relation \"%s\" to UPDATE it in place to a state of machine \"%s\" (steward.verify() lists such rows), or declare its state in the machine with steward.add_transition().",
					 RelationGetRelationName(rel), rule->machine) :
			 errhint("Declared states: %s.", steward_state_list(rule, steward_all_states(rule))),
			 errtablecol(rel, attnum)));
}

/*
 * The statement's start time, rounded to the column's precision as core's
 * coercion to timestamptz(p) would (a value the type cannot hold would
 * differ from every value a client can write back: 428C9 on the row it read).
 */
static void
set_changed_at(TupleTableSlot *slot, const StateRule *rule)
{
	if (rule->changed_at != InvalidAttrNumber)
	{
		Timestamp	now = (Timestamp) GetCurrentStatementStartTimestamp();

		if (rule->changed_at_typmod >= 0)
			AdjustTimestampForTypmod(&now, rule->changed_at_typmod);
		steward_slot_set_int8(slot, rule->changed_at, (int64) now);
	}
}

/*
 * changed_at is pg_steward's to write: an UPDATE may leave it as stored
 * (or write the stored value back, as ORMs do), never set another time
 * (the AM stamps it when the state changes).  Raises 428C9, as core does
 * for a write to a GENERATED ALWAYS column, naming origin's relation, or
 * for a role that may read the column only in a partitioned table above
 * it, that table (steward_origin_error_target, as the state errors).
 */
static void
check_changed_at_kept(Relation rel, HeapTuple oldtup, TupleTableSlot *slot,
					  const StateRule *rule, const StewardRowOrigin *origin)
{
	bool		oldnull,
				newnull;
	Datum		oldd,
				newd;
	AttrNumber	oattnum;
	char	   *key;
	bool		readable;
	Relation	erel;

	if (rule->changed_at == InvalidAttrNumber)
		return;
	oldd = heap_getattr(oldtup, rule->changed_at, RelationGetDescr(rel), &oldnull);
	newd = slot_getattr(slot, rule->changed_at, &newnull);
	if (oldnull == newnull && (oldnull || DatumGetTimestampTz(oldd) == DatumGetTimestampTz(newd)))
		return;
	rule = rule_for_error(rule, NULL, NULL);
	erel = steward_origin_error_target(origin, rule->changed_at, &oattnum, &key, &readable);
	/* A partition's columns are named as its ancestors' (attnums differ). */
	ereport(ERROR,
			(errcode(ERRCODE_GENERATED_ALWAYS),
			 errmsg("column \"%s\" of relation \"%s\" is set by pg_steward",
					column_name(erel, oattnum), RelationGetRelationName(erel)),
			 errdetail("It holds when the state in column \"%s\" last changed (machine \"%s\"); an UPDATE may keep it, not change it.",
					   column_name(rel, rule->attnum), rule->machine),
			 errhint("Leave the column out of the UPDATE, or detach the machine and attach it again without changed_at_column to write it yourself."),
			 errtablecol(erel, oattnum)));
}

/*
 * The new row in "slot" of rel as an error's origin (rel's own column
 * numbers), whose key the error shows (steward_row_key_desc's rule: only
 * for a role that may read it).  Error paths only: materialises the slot.
 * COPY FROM checks its rows when it flushes a batch, so its "line N"
 * context names where the batch ended: the key is what finds the row
 * (review9 F19).
 */
static StewardRowOrigin
new_row_origin(Relation rel, TupleTableSlot *slot)
{
	StewardRowOrigin origin;
	bool		shouldFree;

	origin.rel = rel;
	origin.tuple = ExecFetchSlotHeapTuple(slot, false, &shouldFree);
	origin.map = NULL;
	return origin;
}

/*
 * Refuse a row entering or changing state in the column of a state rule
 * whose machine is gone or malformed (rules->missing): without the
 * definition nothing can be checked, and a rule that let such rows through
 * would be a guarantee with a bypass.  Also what run_transition and
 * set_state_check raise on such a rule (transitions.c).  "rel"/"attnum":
 * the relation and column the error names (for a cross-partition UPDATE,
 * the partition the row leaves); the HINT names the table the rule is on
 * (a partitioned ancestor's rule is detached there).  A rule on one of the
 * extension's own tables (steward.migration_runs) uses a built-in machine
 * and cannot be detached: its HINT names steward.restore_builtin_machines()
 * (review19 F2).  Raises 55000; takes AccessShareLock on pg_depend (the
 * extension membership), the names are read from the syscache.
 */
void
steward_refuse_missing_machine(Relation rel, AttrNumber attnum, const MissingStateRule *missing)
{
	const char *colname = column_name(rel, attnum);
	char	   *relname;
	char	   *nspname = get_namespace_name(get_rel_namespace(missing->relid));
	char	   *name = get_rel_name(missing->relid);
	Oid			extoid = get_extension_oid(STEWARD_EXTENSION, true);
	bool		builtin = OidIsValid(extoid) &&
		getExtensionOfObject(RelationRelationId, missing->relid) == extoid;

	relname = (nspname && name) ? quote_qualified_identifier(nspname, name) :
		pstrdup(RelationGetRelationName(rel));

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 missing->malformed ?
			 errmsg("state machine \"%s\" of column \"%s\" of relation \"%s\" has a malformed definition",
					missing->machine, colname, RelationGetRelationName(rel)) :
			 errmsg("state machine \"%s\" of column \"%s\" of relation \"%s\" does not exist",
					missing->machine, colname, RelationGetRelationName(rel)),
			 errdetail("Rows cannot enter or change state in column \"%s\" until the machine can be read: pg_steward cannot check them without it.",
					   colname),
			 builtin ?
			 errhint("The relation belongs to extension %s: restore its built-in state machines with SELECT steward.restore_builtin_machines();",
					 STEWARD_EXTENSION) :
			 missing->malformed ?
			 errhint("Correct machine \"%s\"'s row in steward.machine_definitions, or detach the machine: SELECT steward.detach_state_machine(%s, %s);",
					 missing->machine, quote_literal_cstr(relname), quote_literal_cstr(colname)) :
			 errhint("Create state machine \"%s\" again with steward.create_state_machine(), or detach it: SELECT steward.detach_state_machine(%s, %s);",
					 missing->machine, quote_literal_cstr(relname), quote_literal_cstr(colname)),
			 errtablecol(rel, attnum)));
}

/*
 * steward_refuse_missing_machine for origin's row: naming origin's
 * relation, or for a role that may read the column only in a partitioned
 * table above it, that table (steward_origin_error_target), as the state
 * errors do.  Error path: may open that ancestor and the key's index
 * (AccessShareLock).
 */
static void
refuse_missing_at_origin(const StewardRowOrigin *origin, const MissingStateRule *missing)
{
	AttrNumber	attnum;
	char	   *key;
	bool		readable;
	MissingStateRule copy = *missing;	/* rules may be freed: rule_for_error */
	Relation	erel = steward_origin_error_target(origin, copy.attnum, &attnum, &key, &readable);

	steward_refuse_missing_machine(erel, attnum, &copy);
}

/*
 * Refuse (54000) a write to rel when its state rules, its own and its
 * partitioned ancestors', are more than STEWARD_MAX_STATE_RULES
 * (rules->too_many_states): the ones beyond the cap are not loaded, and a
 * rule must never go unenforced without a word (codereview7 A).  Only
 * rules written past attach_state_machine's own refusal get here: a
 * partition attached under parents whose rules add up, a rule inserted by
 * hand or restored under session_replication_role = replica.  To a role
 * that writes through a partitioned table and has no right on the
 * partition, the error names that table (steward_table_written, review23
 * item 3).
 */
static void
refuse_too_many_states(Relation rel)
{
	Oid			written = steward_table_written(rel);

	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 written == RelationGetRelid(rel) ?
			 errmsg("relation \"%s\" has more than %d state machines",
					RelationGetRelationName(rel), STEWARD_MAX_STATE_RULES) :
			 errmsg("the partition of relation \"%s\" that the row is in has more than %d state machines",
					get_rel_name(written), STEWARD_MAX_STATE_RULES),
			 errdetail("pg_steward enforces at most %d state machines per table, counting those of its partitioned ancestors; it cannot check the others, so rows cannot be written.",
					   STEWARD_MAX_STATE_RULES),
			 errhint("Detach a state machine with steward.detach_state_machine(table, column).")));
}

/*
 * An UPDATE under a state rule whose machine is gone (rules->missing):
 * one that keeps the state and changed_at columns passes (it enters no
 * state), any other is refused (steward_refuse_missing_machine).
 */
static void
check_update_missing(Relation rel, HeapTuple oldtup, TupleTableSlot *slot,
					 const MissingStateRule *missing, const StewardRowOrigin *origin)
{
	AttrNumber	cols[2] = {missing->attnum, missing->changed_at};

	for (int i = 0; i < 2; i++)
	{
		Form_pg_attribute att;
		bool		oldnull,
					newnull;
		Datum		oldd,
					newd;

		if (cols[i] == InvalidAttrNumber)
			continue;
		att = TupleDescAttr(RelationGetDescr(rel), cols[i] - 1);
		oldd = heap_getattr(oldtup, cols[i], RelationGetDescr(rel), &oldnull);
		newd = slot_getattr(slot, cols[i], &newnull);
		if (oldnull == newnull &&
			(oldnull || datumIsEqual(oldd, newd, att->attbyval, att->attlen)))
			continue;
		refuse_missing_at_origin(origin, missing);
	}
}

/*
 * INSERT rule of every state machine of "rel" for the new row in "slot":
 * the state must be declared, and initial unless "from_copy" (a row COPY
 * FROM loads as the table's owner: a restore, see copy_restores in
 * steward_am.c); stamps changed_at unless "from_copy".  Raises 23514,
 * counted first as an illegal transition (steward_count_event: the
 * counters' LWLock), and 55000 for every row when a state rule's machine
 * is missing or malformed (rules->missing), and 54000 for every row of a
 * table past the state-rule cap (refuse_too_many_states); takes no
 * heavyweight lock.
 */
void
steward_check_insert_states(Relation rel, TupleTableSlot *slot,
							const StewardRules *rules, bool from_copy)
{
	if (rules->too_many_states)
		refuse_too_many_states(rel);
	if (rules->nmissing > 0)
	{
		StewardRowOrigin origin = new_row_origin(rel, slot);

		refuse_missing_at_origin(&origin, &rules->missing[0]);
	}
	if (rules->nstates == 0)
		return;

	for (int i = 0; i < rules->nstates; i++)
	{
		const StateRule *rule = &rules->states[i];
		bool		isnull;
		Datum		d = slot_getattr(slot, rule->attnum, &isnull);
		char	   *value;
		int			s = state_of(rule, d, isnull, &value);

		if (s < 0)
		{
			StewardRowOrigin origin = new_row_origin(rel, slot);

			report_undeclared(&origin, rule, value, NULL);
		}
		if (from_copy)
			continue;
		if (!(rule->initial & (UINT64CONST(1) << s)))
		{
			StewardRowOrigin origin = new_row_origin(rel, slot);
			AttrNumber	attnum;
			char	   *key;
			bool		readable;
			Relation	erel;

			steward_count_event(RelationGetRelid(rel), STEWARD_COUNTER_ILLEGAL_TRANSITIONS, 1);
			/* Named as report_undeclared names it. */
			rule = rule_for_error(rule, (const char **) &value, NULL);
			erel = steward_origin_error_target(&origin, rule->attnum, &attnum, &key, &readable);
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("new row of relation \"%s\" cannot start in state %s",
							RelationGetRelationName(erel), steward_quote_state(value)),
					 key ?
					 errdetail("Machine \"%s\" starts rows in: %s. Row key: %s.",
							   rule->machine, steward_state_list(rule, rule->initial), key) :
					 errdetail("Machine \"%s\" starts rows in: %s.",
							   rule->machine, steward_state_list(rule, rule->initial)),
					 errhint("Insert the row in an initial state and move it with UPDATE; COPY by the table's owner (a restore) may load any declared state."),
					 errtablecol(erel, attnum)));
		}
		set_changed_at(slot, rule);
	}
}

/*
 * How many of the repairs of one column of a relation under one machine
 * that the statement a client sent makes (itself, or the functions,
 * triggers, DO blocks and procedures it runs) are reported one by one;
 * the rest are summed in one NOTICE once that statement has finished
 * (emit_repair_summary), as PostgreSQL lists the first objects a DROP
 * ... CASCADE drops and counts the others.
 */
#define REPAIRS_REPORTED_BY_ROW 10

/* A statement's repairs of one column of a relation under one machine. */
typedef struct RepairTally
{
	StewardStatementReport report;	/* relid, name: the machine; subkey:
									 * the column; count: rows heap stored
									 * repaired; shown: of which reported
									 * one by one */
	char		relname[NAMEDATALEN];
	char		column[NAMEDATALEN];
} RepairTally;

/*
 * The end of the client's statement that repaired rows of one column of a
 * relation under one machine beyond those reported one by one, itself or
 * through the statements it ran: one NOTICE counting the others, exactly
 * (mach22: a bulk repair of 100k rows gave 100k NOTICEs); repairs a
 * rolled-back subtransaction undid are not counted, and the DETAIL says
 * how many of those had been reported.
 */
static void
emit_repair_summary(StewardStatementReport *report)
{
	RepairTally *tally = (RepairTally *) report;
	uint64		others = report->count - report->shown;

	if (others == 0)
		return;
	ereport(NOTICE,
			(errmsg_plural("and %llu other row of relation \"%s\" repaired: states machine \"%s\" does not declare became declared states",
						   "and %llu other rows of relation \"%s\" repaired: states machine \"%s\" does not declare became declared states",
						   others, (unsigned long long) others,
						   tally->relname, report->name),
			 report->sent > report->shown ?
			 errdetail("The statement repaired %llu rows in column \"%s\" in all; %llu of them were reported one by one, and %llu repairs reported were undone (a subtransaction or transaction rolled back).",
					   (unsigned long long) report->count, tally->column,
					   (unsigned long long) report->shown,
					   (unsigned long long) (report->sent - report->shown)) :
			 errdetail("The statement repaired %llu rows in column \"%s\" in all; the first %llu were reported one by one.",
					   (unsigned long long) report->count, tally->column,
					   (unsigned long long) report->shown)));
}

/*
 * The owner's repair in place of a row of rel stored in "oldvalue", a
 * value rule's machine does not declare (check_leave_undeclared lets it
 * through), noted in "change" for steward_count_state_changes, which
 * reports it once heap stored the row (announce_repair).  The statement's
 * tally of the column's repairs is made here, before the row is written,
 * and, while the statement still reports repairs one by one, a copy of
 * the old row whose key announce_repair names.  Not the key itself: that
 * locks the key's index (steward_row_key_desc), which processes pending
 * invalidations, and a relcache invalidation of rel frees its cached
 * rules, which the caller goes on judging with (the next rules, the
 * changed_at it stamps) and which "rule" points into (codereview20; the
 * class of 720400b).  Takes no lock; raises only 53200.
 */
static void
note_repair(Relation rel, const StateRule *rule, const char *oldvalue,
			const StewardRowOrigin *origin, StateChange *change)
{
	RepairTally *tally = (RepairTally *)
		steward_statement_report(emit_repair_summary, RelationGetRelid(rel),
								 rule->machine, rule->attnum,
								 sizeof(RepairTally));

	change->repaired_from = oldvalue;
	change->tally = (StewardStatementReport *) tally;
	change->show = tally == NULL || tally->report.sent < REPAIRS_REPORTED_BY_ROW;
	change->keytuple = change->show ? heap_copytuple(origin->tuple) : NULL;
	if (tally != NULL && tally->relname[0] == '\0')
	{
		strlcpy(tally->relname, RelationGetRelationName(rel), NAMEDATALEN);
		strlcpy(tally->column, column_name(rel, rule->attnum), NAMEDATALEN);
	}
}

/*
 * A repair note_repair noted, now that heap stored the row: counted in
 * the statement's tally, and, for each of the first
 * REPAIRS_REPORTED_BY_ROW rows a statement repairs in one column of rel,
 * a NOTICE naming the row's key and both states, so the repair leaves a
 * trace in the session as verify() listed the row (mach21: it went
 * silently, unlike every other way out of an undeclared state, which is
 * refused); the others are counted in one NOTICE once the statement has
 * finished (emit_repair_summary).  Counted here, not when the rules
 * judged the row, so that a row judged twice (the executor's
 * EvalPlanQual after a concurrent update) counts once, and a row
 * repaired in two columns counts once in each column's tally (mach23: it
 * counted twice in the first column's).  "change" points at a copy of
 * its rule (keep_change_rules), as the row's key is read here: locks as
 * steward_row_key_desc (the key's index with AccessShareLock, released at
 * once), which may free rel's cached rules; the caller reads them again
 * after.  Raises nothing but the NOTICE and 53200.
 */
static void
announce_repair(Relation rel, const StateChange *change)
{
	const StateRule *rule = change->rule;
	RepairTally *tally = (RepairTally *) change->tally;
	const char *newvalue = rule->names[change->to];
	char	   *key;

	if (tally != NULL)
	{
		bool		show = change->show &&
			tally->report.sent < REPAIRS_REPORTED_BY_ROW;

		steward_statement_report_count(&tally->report, show);
		if (!show)
			return;
	}
	key = change->keytuple ? steward_row_key_desc(rel, change->keytuple) : NULL;
	ereport(NOTICE,
			(key ?
			 errmsg("row %s of relation \"%s\" repaired: state %s, which machine \"%s\" does not declare, becomes %s",
					key, RelationGetRelationName(rel),
					quote_literal_cstr(change->repaired_from),
					rule->machine, steward_quote_state(newvalue)) :
			 errmsg("a row of relation \"%s\" repaired: state %s, which machine \"%s\" does not declare, becomes %s",
					RelationGetRelationName(rel),
					quote_literal_cstr(change->repaired_from),
					rule->machine, steward_quote_state(newvalue)),
			 errdetail("The row was stored in column \"%s\" past the rules (session_replication_role = replica, or while the machine was missing); only the table's owner may repair it in place.",
					   column_name(rel, rule->attnum))));
}

/*
 * A row whose state in rule's column is "oldvalue", a value rule's machine
 * does not declare, is to take declared state "newvalue": may it leave?
 * In place, only for a role with the privileges of rel's owner: the
 * owner's UPDATE is the repair of rows stored past the rules
 * (session_replication_role = replica, a missing machine), which verify()
 * lists; any other role is refused, or the stored value were a bypass
 * of every edge.  A row moving into rel (origin another partition, under
 * the same machine: a move between machines is refused before the delete,
 * refuse_move_losing_rules) never may, whoever moves it: the repair is in
 * place.  "owner": the current user has the privileges of rel's owner
 * (asked by the caller, see steward_check_update_states).  An allowed
 * repair is noted in "change" (note_repair), to be
 * reported once heap stored the row.  Raises 23514 (counted as an
 * illegal transition) naming origin's relation, or the ancestor a role
 * writes through (steward_origin_error_target), showing the states only
 * to a role that may read the column.
 */
static void
check_leave_undeclared(Relation rel, const StateRule *rule, const char *oldvalue,
					   const char *newvalue, const StewardRowOrigin *origin,
					   bool owner, StateChange *change)
{
	bool		moving = RelationGetRelid(origin->rel) != RelationGetRelid(rel);
	AttrNumber	oattnum;
	char	   *key;
	bool		readable;
	Relation	orel;
	char	   *row;

	if (!moving && owner)
	{
		note_repair(rel, rule, oldvalue, origin, change);
		return;
	}
	steward_count_event(RelationGetRelid(origin->rel), STEWARD_COUNTER_ILLEGAL_TRANSITIONS, 1);
	rule = rule_for_error(rule, &oldvalue, &newvalue);
	orel = steward_origin_error_target(origin, rule->attnum, &oattnum, &key, &readable);
	row = key ? psprintf("row %s", key) : "a row";
	if (moving)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("%s of relation \"%s\" cannot move into partition \"%s\" from state %s",
						row, RelationGetRelationName(orel),
						RelationGetRelationName(rel),
						readable ? quote_literal_cstr(oldvalue) : "(not shown)"),
				 errdetail("Machine \"%s\" does not declare the row's state: it was stored past the rules (session_replication_role = replica, or while the machine was missing), and a move never leaves such a state.",
						   rule->machine),
				 errhint("Ask the owner of relation \"%s\" to UPDATE the row in place to a state of machine \"%s\" first (steward.verify() lists such rows), or declare its state in the machine with steward.add_transition().",
						 RelationGetRelationName(orel), rule->machine),
				 errtablecol(orel, oattnum)));
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("%s of relation \"%s\" cannot leave state %s for %s",
					row, RelationGetRelationName(orel),
					readable ? quote_literal_cstr(oldvalue) : "(not shown)",
					steward_quote_state(newvalue)),
			 errdetail("Machine \"%s\" does not declare the row's state: it was stored past the rules (session_replication_role = replica, or while the machine was missing), and only the table's owner may move it to a declared state.",
					   rule->machine),
			 errhint("Ask the owner of relation \"%s\" to UPDATE the row to a state of machine \"%s\" (steward.verify() lists such rows), or declare its state in the machine with steward.add_transition().",
					 RelationGetRelationName(orel), rule->machine),
			 errtablecol(orel, oattnum)));
}

/*
 * Has the current user the privileges of rel's owner (may it repair a row
 * in place, check_leave_undeclared)?  Asking may read pg_authid and
 * pg_auth_members, which processes pending invalidations: a relcache
 * invalidation of rel frees its cached rules, which the caller's
 * *states (nstates of them), its rule and state names and the first n
 * "changes" point into (trust52; the class of 720400b).  So *states and
 * those changes are pointed at a copy first, made only for a row leaving
 * an undeclared state, which is rare.  Raises only 53200.
 */
static bool
ask_owner_on_copy(Relation rel, const StateRule **states, int nstates,
				  StateChange *changes, int n)
{
	StateRule  *copy = palloc(sizeof(StateRule) * nstates);

	memcpy(copy, *states, sizeof(StateRule) * nstates);
	for (int j = 0; j < n; j++)
		changes[j].rule = &copy[changes[j].rule - *states];
	*states = copy;
	return has_privs_of_role(GetUserId(), rel->rd_rel->relowner);
}

/*
 * UPDATE rule of every state machine of rel: for each state column that
 * changes between oldtup and the new row in slot, the new value must be a
 * declared state and the machine must have the edge; a stored value that
 * is no state (written under session_replication_role = replica) may go
 * to any declared state only by an UPDATE in place of a role with the
 * privileges of rel's owner, never for a row moving in from another
 * partition (check_leave_undeclared).  Fills changes[] (room for rules->nstates) with the moves and
 * returns how many; nothing is written yet, so that the caller stamps and
 * counts them only once the update succeeded.  Under a state rule whose
 * machine is missing or malformed (any of rules->missing) an update that
 * changes that state column or its changed_at column raises 55000, and
 * every update of a table past the state-rule cap 54000
 * (refuse_too_many_states), both naming rel (or the ancestor the role
 * writes through), also for a row moving into rel.  Raises 23514 (counted as an
 * illegal transition) naming origin's relation, row and column (the
 * partition a moving row leaves: StewardRowOrigin), showing the old state
 * only to a user who may read the column; to one who may read it only in a
 * partitioned table above the partition, the error names that table
 * (steward_origin_error_target).  Memory: error texts in
 * CurrentMemoryContext.  Locks: the counters' LWLock to count the illegal
 * transition, and for the error's DETAIL the row key's index with
 * AccessShareLock, released at once (steward_row_key_desc), and that
 * ancestor with AccessShareLock until the error.
 */
int
steward_check_update_states(Relation rel, HeapTuple oldtup, TupleTableSlot *slot,
							const StewardRules *rules, StateChange *changes,
							const StewardRowOrigin *origin)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Relation	orel = origin->rel;
	int			n = 0;
	const StateRule *states = rules->states;
	int			nstates = rules->nstates;
	int			owner = -1;		/* -1: not asked yet */

	/*
	 * What rel is, not what the row was, is refused here: a row moving into
	 * a partition is refused for that partition's rules, not for those of
	 * the partition it leaves (review23 R3: the cap named the latter, which
	 * may be within it).  oldtup is already in rel's format.
	 */
	StewardRowOrigin checked = {rel, oldtup, NULL};

	if (rules->too_many_states)
		refuse_too_many_states(rel);
	for (int i = 0; i < rules->nmissing; i++)
		check_update_missing(rel, oldtup, slot, &rules->missing[i], &checked);
	for (int i = 0; i < nstates; i++)
	{
		const StateRule *rule = &states[i];
		bool		oldnull,
					newnull;
		Datum		oldd = heap_getattr(oldtup, rule->attnum, desc, &oldnull);
		Datum		newd = slot_getattr(slot, rule->attnum, &newnull);
		char	   *oldvalue,
				   *newvalue;
		int			from = state_of(rule, oldd, oldnull, &oldvalue);
		int			to = state_of(rule, newd, newnull, &newvalue);

		if (to < 0)
			report_undeclared(origin, rule, newvalue,
							  from < 0 && strcmp(oldvalue, newvalue) == 0 ? rel : NULL);
		check_changed_at_kept(rel, oldtup, slot, rule, origin);
		if (from == to)
			continue;

		/*
		 * A row whose stored value is not a state (written under
		 * session_replication_role = replica, or while the machine was
		 * missing) leaves it only by its owner's repair in place
		 * (check_leave_undeclared).
		 */
		memset(&changes[n], 0, sizeof(StateChange));
		if (from < 0)
		{
			/* A row moving in is refused whoever moves it: no need to ask. */
			if (owner < 0 && RelationGetRelid(orel) == RelationGetRelid(rel))
			{
				owner = ask_owner_on_copy(rel, &states, nstates, changes, n);
				rule = &states[i];
				newvalue = (char *) rule->names[to];
			}
			check_leave_undeclared(rel, rule, oldvalue, newvalue, origin,
								   owner > 0, &changes[n]);
		}
		else if (!(rule->edges[from] & (UINT64CONST(1) << to)))
		{
			char	   *key;
			AttrNumber	oattnum;
			bool		readable;

			steward_count_event(RelationGetRelid(orel), STEWARD_COUNTER_ILLEGAL_TRANSITIONS, 1);

			/*
			 * The stored state only for a user who may read the column: in
			 * the partition, or in the partitioned table the application
			 * writes through (named then, with the row's key there).
			 */
			rule = rule_for_error(rule, (const char **) &oldvalue, (const char **) &newvalue);
			orel = steward_origin_error_target(origin, rule->attnum, &oattnum, &key, &readable);
			/* Declared states both: quoted as every message quotes them. */
			oldvalue = steward_quote_state(oldvalue);
			newvalue = steward_quote_state(newvalue);
			if (!readable)
				ereport(ERROR,
						(errcode(ERRCODE_CHECK_VIOLATION),
						 key ?
						 errmsg("illegal state transition to %s for row %s of relation \"%s\"",
								newvalue, key, RelationGetRelationName(orel)) :
						 errmsg("illegal state transition to %s for a row of relation \"%s\"",
								newvalue, RelationGetRelationName(orel)),
						 errdetail("Machine \"%s\" has no edge from the row's current state to %s.",
								   rule->machine, newvalue),
						 errhint("steward.state_machines lists the edges of machine \"%s\".",
								 rule->machine),
						 errtablecol(orel, oattnum)));
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 key ?
					 errmsg("illegal state transition %s -> %s for row %s of relation \"%s\"",
							oldvalue, newvalue, key, RelationGetRelationName(orel)) :
					 errmsg("illegal state transition %s -> %s for a row of relation \"%s\"",
							oldvalue, newvalue, RelationGetRelationName(orel)),
					 errdetail("Machine \"%s\" has no edge %s -> %s.",
							   rule->machine, oldvalue, newvalue),
					 rule->edges[from] ?
					 errhint("Allowed from %s: %s.", oldvalue, steward_state_list(rule, rule->edges[from])) :
					 errhint("%s is a final state.", oldvalue),
					 errtablecol(orel, oattnum)));
		}
		changes[n].rule = rule;
		changes[n].from = from;
		changes[n].to = to;
		n++;
	}
	return n;
}

/*
 * Stamp changed_at (the statement's start time, so one statement gives
 * every row it moves the same time) in slot for each of the n moves
 * steward_check_update_states found.  Raises nothing but 53200; takes no
 * lock.
 */
void
steward_apply_state_changes(TupleTableSlot *slot, const StateChange *changes, int n)
{
	for (int i = 0; i < n; i++)
		set_changed_at(slot, changes[i].rule);
}

/*
 * Count the n moves (steward_count_transition) once heap_update succeeded,
 * so EvalPlanQual retries count once, and report the owner's repairs
 * among them (announce_repair: a NOTICE for the first ones).  Takes no
 * lock (the counts are added at commit); raises nothing but the NOTICE.
 */
void
steward_count_state_changes(Relation rel, const StateChange *changes, int n)
{
	for (int i = 0; i < n; i++)
	{
		const StateRule *rule = changes[i].rule;

		if (changes[i].repaired_from != NULL)
			announce_repair(rel, &changes[i]);
		steward_count_transition(RelationGetRelid(rel),
								 changes[i].from >= 0 ? rule->names[changes[i].from] : "",
								 rule->names[changes[i].to]);
	}
}
