/*-------------------------------------------------------------------------
 *
 * slot.h
 *	  Setting a column of the row in a heap tuple slot (slot.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_SLOT_H
#define STEWARD_SLOT_H

#include "postgres.h"

#include "executor/tuptable.h"

extern void steward_slot_set_int8(TupleTableSlot *slot, AttrNumber attnum, int64 value);

#endif							/* STEWARD_SLOT_H */
