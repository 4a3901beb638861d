/*-------------------------------------------------------------------------
 *
 * steward_am.c
 *	  The "steward" table access method: heap storage plus row invariants.
 *
 * Every callback is heap's, except the write paths, which first apply the
 * table's column rules (optimistic versions, monotonic sequences) to the
 * row in the slot and then hand the slot to heap.  Storage, MVCC, TOAST,
 * VACUUM and WAL are therefore exactly heap's; see README.md in this folder
 * for the rules and why they are safe under concurrency.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "fmgr.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pg_steward.h"
#include "stats/counters.h"
#include "stats/hotrows.h"
#include "tableam/rules.h"
#include "lifecycle/lifecycle.h"

PG_FUNCTION_INFO_V1(steward_tableam_handler);

static TableAmRoutine steward_methods;
static bool steward_methods_ready = false;

/* The heap callbacks we wrap. */
static const TableAmRoutine *heap_methods = NULL;

/*
 * Under session_replication_role = replica (logical replication apply,
 * pg_restore --disable-triggers style loads) rows are stored as sent: the
 * origin already enforced the rules.
 */
static inline bool
rules_enforced(void)
{
	return SessionReplicationRole != SESSION_REPLICATION_ROLE_REPLICA;
}

/*
 * Address of attribute "attnum" inside a heap tuple's data, or NULL when it
 * is NULL or not physically present (a column added later with a default).
 * Walks the attributes the way heap_deform_tuple does.
 */
static char *
heap_attr_pointer(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	HeapTupleHeader tup = tuple->t_data;
	char	   *tp = (char *) tup + tup->t_hoff;
	bits8	   *bp = tup->t_bits;
	bool		hasnulls = HeapTupleHasNulls(tuple);
	uint32		off = 0;

	if (attnum > HeapTupleHeaderGetNatts(tup))
		return NULL;
	for (int i = 0; i < attnum; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (hasnulls && att_isnull(i, bp))
		{
			if (i == attnum - 1)
				return NULL;
			continue;
		}
		off = att_align_pointer(off, att->attalign, att->attlen, tp + off);
		if (i == attnum - 1)
			return tp + off;
		off = att_addlength_pointer(off, att->attlen, tp + off);
	}
	return NULL;
}

/*
 * Replace one int8 column of the row in the slot, keeping the slot's type
 * (it must stay a buffer-heap slot for heap's callbacks).  This runs for
 * every versioned write, so the common cases avoid forming a new tuple:
 *
 * - the slot holds only values (the executor's projection has not been
 *   materialized yet): change the value, heap forms the tuple from it;
 * - the slot holds its own materialized copy and the column is stored
 *   non-null: overwrite the 8 bytes in place (same length, same layout).
 *
 * Otherwise (NULL -> value changes the layout) form a modified copy.
 */
void
steward_slot_set_int8(TupleTableSlot *slot, AttrNumber attnum, int64 value)
{
	bool		shouldFree;
	HeapTuple	oldtup;
	int			col = attnum;
	Datum		newval = Int64GetDatum(value);
	bool		newnull = false;
	HeapTuple	newtup;

	if (TTS_IS_BUFFERTUPLE(slot) || TTS_IS_HEAPTUPLE(slot))
	{
		HeapTupleTableSlot *hslot = (HeapTupleTableSlot *) slot;
		char	   *ptr;

		if (hslot->tuple == NULL)
		{
			slot_getallattrs(slot);
			slot->tts_values[attnum - 1] = newval;
			slot->tts_isnull[attnum - 1] = false;
			return;
		}
		ExecMaterializeSlot(slot);
		ptr = heap_attr_pointer(hslot->tuple, slot->tts_tupleDescriptor, attnum);
		if (ptr != NULL)
		{
			memcpy(ptr, &value, sizeof(int64));
			if (attnum <= slot->tts_nvalid)
			{
				slot->tts_values[attnum - 1] = newval;
				slot->tts_isnull[attnum - 1] = false;
			}
			return;
		}
	}

	oldtup = ExecFetchSlotHeapTuple(slot, false, &shouldFree);
	newtup = heap_modify_tuple_by_cols(oldtup, slot->tts_tupleDescriptor,
									   1, &col, &newval, &newnull);
	if (shouldFree)
		heap_freetuple(oldtup);
	ExecForceStoreHeapTuple(newtup, slot, true);
}

static char *
key_desc_from_slot(Relation rel, TupleTableSlot *slot)
{
	bool		shouldFree;
	HeapTuple	tuple = ExecFetchSlotHeapTuple(slot, false, &shouldFree);

	return steward_row_key_desc(rel, tuple);
}

static int
errrow(const char *key)
{
	if (key)
		return errdetail_internal("Row key: %s.", key);
	return 0;
}

/* ------------------------------------------------------------------------
 * INSERT and COPY
 * ------------------------------------------------------------------------
 */

static void
apply_insert_rules(Relation rel, TupleTableSlot *slot, bool from_copy)
{
	const StewardRules *rules = steward_get_rules(rel);
	AttrNumber	attnum = rules->version_attnum;
	bool		isnull;
	Datum		value;

	if (!rules_enforced())
		return;
	steward_check_insert_states(rel, slot, rules, from_copy);

	/* Sequences have no insert rule: the first event may carry any value. */
	if (attnum == InvalidAttrNumber)
		return;

	value = slot_getattr(slot, attnum, &isnull);
	if (isnull)
	{
		steward_slot_set_int8(slot, attnum, 1);
		return;
	}
	if (DatumGetInt64(value) < 1)
	{
		char	   *key = key_desc_from_slot(rel, slot);

		steward_count_event(RelationGetRelid(rel), STEWARD_COUNTER_VERSION_INVALID, 1);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid version " INT64_FORMAT " for new row in relation \"%s\"",
						DatumGetInt64(value), RelationGetRelationName(rel)),
				 key ? errdetail("Versions start at 1; the new row %s has version " INT64_FORMAT ".",
								 key, DatumGetInt64(value)) :
				 errdetail("Versions start at 1."),
				 errhint("Leave column \"%s\" out of the INSERT (or NULL) to let pg_steward assign version 1.",
						 NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname)),
				 errtablecol(rel, attnum)));
	}
}

/*
 * Which inserts are COPY FROM's own rows.  A restore loads rows in any
 * declared state, so COPY FROM may (README "Lifecycle"); nothing else may.
 * The signal is the BulkInsertState: in PostgreSQL 15 only COPY FROM
 * (copyfrom.c, for its target and the partitions it routes to), table
 * rewrites (tablecmds.c), CREATE TABLE AS and REFRESH MATERIALIZED VIEW pass
 * one to table_tuple_insert, and the last three write into a relation
 * created by the same command (a transient heap, a new table), which has no
 * rules.  Every executor INSERT -- including the INSERT inside
 * COPY (INSERT ... RETURNING) TO and a trigger's INSERT during COPY FROM --
 * passes NULL.  multi_insert is called by COPY FROM only.  Unlike the
 * progress report, this does not depend on track_activities.
 */
static inline bool
loaded_by_copy_from(BulkInsertState bistate)
{
	return bistate != NULL;
}

static void
steward_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
					 int options, BulkInsertState bistate)
{
	apply_insert_rules(rel, slot, loaded_by_copy_from(bistate));
	heap_methods->tuple_insert(rel, slot, cid, options, bistate);
}

static void
steward_tuple_insert_speculative(Relation rel, TupleTableSlot *slot,
								 CommandId cid, int options,
								 BulkInsertState bistate, uint32 specToken)
{
	apply_insert_rules(rel, slot, false);
	heap_methods->tuple_insert_speculative(rel, slot, cid, options, bistate,
										   specToken);
}

static void
steward_multi_insert(Relation rel, TupleTableSlot **slots, int ntuples,
					 CommandId cid, int options, BulkInsertState bistate)
{
	/* multi_insert is COPY FROM's path (see loaded_by_copy_from). */
	for (int i = 0; i < ntuples; i++)
		apply_insert_rules(rel, slots[i], true);
	heap_methods->multi_insert(rel, slots, ntuples, cid, options, bistate);
}

/* ------------------------------------------------------------------------
 * UPDATE
 *
 * The executor gives us only the TID of the row it read.  The rules compare
 * the new row with the row stored at that TID, which we read here on every
 * call: after a concurrent update, heap_update returns TM_Updated, the
 * executor re-evaluates the new row against the latest version
 * (EvalPlanQual) and calls us again with that version's TID, so the check
 * is always made against the row that the update will really replace.  The
 * data of a heap tuple never changes once written, so no buffer lock is
 * needed beyond the pin while reading it.
 * ------------------------------------------------------------------------
 */

static const char *
column_name(Relation rel, AttrNumber attnum)
{
	return NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname);
}

static void
report_stale_version(Relation rel, HeapTuple oldtup, AttrNumber attnum,
					 int64 supplied, int64 current)
{
	char	   *key = steward_row_key_desc(rel, oldtup);

	steward_count_event(RelationGetRelid(rel), STEWARD_COUNTER_VERSION_CONFLICTS, 1);
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 key ?
			 errmsg("stale version for row %s of relation \"%s\"",
					key, RelationGetRelationName(rel)) :
			 errmsg("stale version for a row of relation \"%s\"",
					RelationGetRelationName(rel)),
			 errdetail("The update expected version " INT64_FORMAT " but the row is at version " INT64_FORMAT ".",
					   supplied, current),
			 errhint("Another transaction changed the row after it was read; re-read it and retry with version " INT64_FORMAT ".",
					 current),
			 errtablecol(rel, attnum)));
}

static void
report_version_ahead(Relation rel, HeapTuple oldtup, AttrNumber attnum,
					 int64 supplied, int64 current)
{
	char	   *key = steward_row_key_desc(rel, oldtup);

	steward_count_event(RelationGetRelid(rel), STEWARD_COUNTER_VERSION_INVALID, 1);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("version " INT64_FORMAT " skips ahead of current version " INT64_FORMAT " of relation \"%s\"",
					supplied, current, RelationGetRelationName(rel)),
			 errrow(key),
			 errhint("Set column \"%s\" to the version that was read (" INT64_FORMAT ") or to the next one (" INT64_FORMAT "), or leave it out of the UPDATE.",
					 column_name(rel, attnum), current, current + 1),
			 errtablecol(rel, attnum)));
}

static void
report_null_column(Relation rel, HeapTuple oldtup, AttrNumber attnum,
				   const char *what)
{
	char	   *key = steward_row_key_desc(rel, oldtup);

	ereport(ERROR,
			(errcode(ERRCODE_NOT_NULL_VIOLATION),
			 errmsg("null value in %s column \"%s\" of relation \"%s\"",
					what, column_name(rel, attnum), RelationGetRelationName(rel)),
			 errrow(key),
			 errhint("Leave the column out of the UPDATE or set it to the value that was read."),
			 errtablecol(rel, attnum)));
}

static void
report_out_of_order(Relation rel, HeapTuple oldtup, AttrNumber attnum,
					int64 supplied, int64 current)
{
	char	   *key = steward_row_key_desc(rel, oldtup);

	steward_count_event(RelationGetRelid(rel), STEWARD_COUNTER_SEQUENCE_REJECTS, 1);
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 key ?
			 errmsg("out-of-order write to column \"%s\" for row %s of relation \"%s\"",
					column_name(rel, attnum), key, RelationGetRelationName(rel)) :
			 errmsg("out-of-order write to column \"%s\" of relation \"%s\"",
					column_name(rel, attnum), RelationGetRelationName(rel)),
			 errdetail("The new value " INT64_FORMAT " is lower than the stored value " INT64_FORMAT ".",
					   supplied, current),
			 errhint("The row already reflects a later event; skip this one."),
			 errtablecol(rel, attnum)));
}

static int64
int_datum_to_int64(Datum value, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return DatumGetInt16(value);
		case INT4OID:
			return DatumGetInt32(value);
		default:
			return DatumGetInt64(value);
	}
}

/*
 * Check the version rule.  Returns the version to store, or -1 when the
 * slot already holds the right value.  Errors out (after the caller's
 * buffer is released by error cleanup) on a violation.
 */
static int64
check_version(Relation rel, HeapTuple oldtup, TupleTableSlot *slot,
			  AttrNumber attnum)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		curnull,
				newnull;
	Datum		curd = heap_getattr(oldtup, attnum, desc, &curnull);
	Datum		newd = slot_getattr(slot, attnum, &newnull);
	int64		cur,
				v;

	if (curnull)
	{
		/* A row stored without a version (replica apply): start afresh. */
		if (newnull)
			return 1;
		if (DatumGetInt64(newd) < 1)
			report_version_ahead(rel, oldtup, attnum, DatumGetInt64(newd), 0);
		return -1;
	}
	if (newnull)
		report_null_column(rel, oldtup, attnum, "version");

	cur = DatumGetInt64(curd);
	v = DatumGetInt64(newd);
	if (v < cur)
		report_stale_version(rel, oldtup, attnum, v, cur);
	if (cur == PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("version of a row of relation \"%s\" is out of range",
						RelationGetRelationName(rel)),
				 errtablecol(rel, attnum)));
	if (v > cur + 1)
		report_version_ahead(rel, oldtup, attnum, v, cur);
	return (v == cur + 1) ? -1 : cur + 1;
}

static void
check_sequences(Relation rel, HeapTuple oldtup, TupleTableSlot *slot,
				const StewardRules *rules)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < rules->nsequences; i++)
	{
		const SequenceRule *rule = &rules->sequences[i];
		bool		curnull,
					newnull;
		Datum		curd = heap_getattr(oldtup, rule->attnum, desc, &curnull);
		Datum		newd = slot_getattr(slot, rule->attnum, &newnull);
		int64		cur,
					v;

		if (curnull)
			continue;
		if (newnull)
			report_null_column(rel, oldtup, rule->attnum, "sequence");
		cur = int_datum_to_int64(curd, rule->typid);
		v = int_datum_to_int64(newd, rule->typid);
		if (v < cur)
			report_out_of_order(rel, oldtup, rule->attnum, v, cur);
	}
}

/*
 * Returns the number of state changes stored in "changes" (counted by the
 * caller once the update succeeds).
 */
static int
apply_update_rules(Relation rel, ItemPointer otid, TupleTableSlot *slot,
				   StateChange *changes)
{
	const StewardRules *rules = steward_get_rules(rel);
	HeapTupleData oldtup;
	Buffer		buffer;
	int64		newversion = -1;
	int			nchanges;

	if (steward_rules_empty(rules) || !rules_enforced())
		return 0;

	/*
	 * SnapshotAny: the executor already decided this version is the one to
	 * update; visibility is heap_update's business.  If the line pointer is
	 * gone, heap_update will report it.
	 */
	oldtup.t_self = *otid;
	if (!heap_fetch(rel, SnapshotAny, &oldtup, &buffer, false))
	{
		if (BufferIsValid(buffer))
			ReleaseBuffer(buffer);
		return 0;
	}

	if (rules->version_attnum != InvalidAttrNumber)
		newversion = check_version(rel, &oldtup, slot, rules->version_attnum);
	check_sequences(rel, &oldtup, slot, rules);
	nchanges = steward_check_update_states(rel, &oldtup, slot, rules, changes);

	ReleaseBuffer(buffer);

	/* Every rule passed: now change the row. */
	if (newversion > 0)
		steward_slot_set_int8(slot, rules->version_attnum, newversion);
	steward_apply_state_changes(slot, changes, nchanges);
	return nchanges;
}

static TM_Result
steward_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
					 CommandId cid, Snapshot snapshot, Snapshot crosscheck,
					 bool wait, TM_FailureData *tmfd,
					 LockTupleMode *lockmode, bool *update_indexes)
{
	StateChange changes[STEWARD_MAX_STATE_RULES];
	int			nchanges = apply_update_rules(rel, otid, slot, changes);
	TM_Result	result;

	result = heap_methods->tuple_update(rel, otid, slot, cid, snapshot,
										crosscheck, wait, tmfd, lockmode,
										update_indexes);
	if (result == TM_Ok)
	{
		if (nchanges > 0)
			steward_count_state_changes(rel, changes, nchanges);
		steward_hotrows_count(rel, slot, steward_get_rules(rel));
	}
	return result;
}

/* ------------------------------------------------------------------------
 * Index builds
 *
 * heap's index build and validation scans call heap_getnext(), which
 * refuses relations whose rd_tableam is not heap's own routine.  Our rows
 * are heap rows, so we present heap's routine for the duration of the scan
 * and put ours back afterwards, also on error.
 * ------------------------------------------------------------------------
 */

static double
steward_index_build_range_scan(Relation table_rel, Relation index_rel,
							   struct IndexInfo *index_info, bool allow_sync,
							   bool anyvisible, bool progress,
							   BlockNumber start_blockno,
							   BlockNumber numblocks,
							   IndexBuildCallback callback,
							   void *callback_state, TableScanDesc scan)
{
	const TableAmRoutine *saved = table_rel->rd_tableam;
	volatile double result = 0;

	table_rel->rd_tableam = heap_methods;
	PG_TRY();
	{
		result = heap_methods->index_build_range_scan(table_rel, index_rel,
													  index_info, allow_sync,
													  anyvisible, progress,
													  start_blockno, numblocks,
													  callback, callback_state,
													  scan);
	}
	PG_FINALLY();
	{
		table_rel->rd_tableam = saved;
	}
	PG_END_TRY();
	return result;
}

static void
steward_index_validate_scan(Relation table_rel, Relation index_rel,
							struct IndexInfo *index_info, Snapshot snapshot,
							struct ValidateIndexState *state)
{
	const TableAmRoutine *saved = table_rel->rd_tableam;

	table_rel->rd_tableam = heap_methods;
	PG_TRY();
	{
		heap_methods->index_validate_scan(table_rel, index_rel, index_info,
										  snapshot, state);
	}
	PG_FINALLY();
	{
		table_rel->rd_tableam = saved;
	}
	PG_END_TRY();
}

/* TOAST tables of steward tables are plain heap tables. */
static Oid
steward_relation_toast_am(Relation rel)
{
	return HEAP_TABLE_AM_OID;
}

static void
init_steward_methods(void)
{
	heap_methods = GetHeapamTableAmRoutine();
	steward_methods = *heap_methods;

	steward_methods.tuple_insert = steward_tuple_insert;
	steward_methods.tuple_insert_speculative = steward_tuple_insert_speculative;
	steward_methods.multi_insert = steward_multi_insert;
	steward_methods.tuple_update = steward_tuple_update;
	steward_methods.index_build_range_scan = steward_index_build_range_scan;
	steward_methods.index_validate_scan = steward_index_validate_scan;
	steward_methods.relation_toast_am = steward_relation_toast_am;

	steward_methods_ready = true;
}

Datum
steward_tableam_handler(PG_FUNCTION_ARGS)
{
	if (!steward_methods_ready)
		init_steward_methods();
	PG_RETURN_POINTER(&steward_methods);
}
