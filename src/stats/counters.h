/*-------------------------------------------------------------------------
 *
 * counters.h
 *	  Per-table event counters kept in shared memory.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_COUNTERS_H
#define STEWARD_COUNTERS_H

#include "postgres.h"

typedef enum StewardCounter
{
	STEWARD_COUNTER_VERSION_CONFLICTS,
	STEWARD_COUNTER_VERSION_INVALID,
	STEWARD_COUNTER_SEQUENCE_REJECTS,
	STEWARD_COUNTER_ILLEGAL_TRANSITIONS,
	STEWARD_NUM_COUNTERS
} StewardCounter;

/*
 * Add "n" to one counter of a table of the current database.  A no-op when
 * the library was not preloaded or the table hash is full.  Safe to call
 * right before ereport(ERROR): it takes no lock that survives the call.
 */
extern void steward_count_event(Oid relid, StewardCounter counter, uint64 n);

extern void steward_counters_reset(void);

/*
 * Count one state change from -> to ("" when the old value was no state)
 * if the transaction commits.
 */
extern void steward_count_transition(Oid relid, const char *from, const char *to);

/* _PG_init: the transaction callbacks that count transitions at commit. */
extern void steward_counters_install_hooks(void);

#endif							/* STEWARD_COUNTERS_H */
