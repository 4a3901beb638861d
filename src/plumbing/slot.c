/*-------------------------------------------------------------------------
 *
 * slot.c
 *	  Setting a column of the row in a heap tuple slot, cheaply, for the
 *	  values the steward AM and the rule kinds write into a row being
 *	  stored (versions, sequences, state-change times).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupmacs.h"
#include "executor/tuptable.h"

#include "plumbing/slot.h"

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
	/* As fastgetattr: without nulls, the offset the descriptor cached. */
	if (!hasnulls && TupleDescAttr(desc, attnum - 1)->attcacheoff >= 0)
		return tp + TupleDescAttr(desc, attnum - 1)->attcacheoff;
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
 * steward_slot_set_int8 when the value cannot be written in place: form a
 * modified copy of the tuple, which the slot then owns.  Out of line, so
 * that the common case needs no registers saved.
 */
static pg_noinline void
slot_set_int8_copy(TupleTableSlot *slot, AttrNumber attnum, int64 value)
{
	bool		shouldFree;
	HeapTuple	oldtup;
	int			col = attnum;
	Datum		newval = Int64GetDatum(value);
	bool		newnull = false;
	HeapTuple	newtup;

	oldtup = ExecFetchSlotHeapTuple(slot, false, &shouldFree);
	newtup = heap_modify_tuple_by_cols(oldtup, slot->tts_tupleDescriptor,
									   1, &col, &newval, &newnull);
	if (shouldFree)
		heap_freetuple(oldtup);
	ExecForceStoreHeapTuple(newtup, slot, true);
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
 * Otherwise (NULL -> value changes the layout) form a modified copy, in
 * the current memory context, which the slot then owns.  attnum must be an
 * 8-byte pass-by-value column (int8, timestamptz).  Raises only for lack
 * of memory (53200).  Takes no lock: the slot is the caller's.
 */
void
steward_slot_set_int8(TupleTableSlot *slot, AttrNumber attnum, int64 value)
{
	if (TTS_IS_BUFFERTUPLE(slot) || TTS_IS_HEAPTUPLE(slot))
	{
		HeapTupleTableSlot *hslot = (HeapTupleTableSlot *) slot;
		char	   *ptr;

		if (hslot->tuple == NULL)
		{
			slot_getallattrs(slot);
			slot->tts_values[attnum - 1] = Int64GetDatum(value);
			slot->tts_isnull[attnum - 1] = false;
			return;
		}
		/* A slot owning its tuple is materialized: no call needed. */
		if (!TTS_SHOULDFREE(slot))
			ExecMaterializeSlot(slot);
		ptr = heap_attr_pointer(hslot->tuple, slot->tts_tupleDescriptor, attnum);
		if (ptr != NULL)
		{
			memcpy(ptr, &value, sizeof(int64));
			if (attnum <= slot->tts_nvalid)
			{
				slot->tts_values[attnum - 1] = Int64GetDatum(value);
				slot->tts_isnull[attnum - 1] = false;
			}
			return;
		}
	}
	slot_set_int8_copy(slot, attnum, value);
}
