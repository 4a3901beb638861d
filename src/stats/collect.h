/*-------------------------------------------------------------------------
 *
 * collect.h
 *	  What every statistics collector of pg_steward shares (collect.c):
 *	  running collection code so that it can never fail the user's
 *	  statement, the bookkeeping of the fixed-size shared structures
 *	  (capacity, evictions, dropped events), and cutting text on character
 *	  boundaries.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_COLLECT_H
#define STEWARD_COLLECT_H

#include "postgres.h"

#include "storage/lwlock.h"
#include "utils/hsearch.h"

/* The fixed-size shared structures, as named in steward.collector. */
typedef enum StewardStruct
{
	STEWARD_STRUCT_STATEMENTS,
	STEWARD_STRUCT_TABLE_COUNTERS,
	STEWARD_STRUCT_TRANSITIONS,
	STEWARD_STRUCT_HOT_ROWS,
	STEWARD_STRUCT_WAITS,
	STEWARD_STRUCT_LOCK_CONTENTION,
	STEWARD_NUM_STRUCTS
} StewardStruct;

typedef void (*steward_collect_fn) (void *arg);

/*
 * Run fn(arg), statistics-collection code, so that whatever it raises is
 * swallowed and counted (steward.collector, "collection_failures") instead
 * of reaching the statement being measured.  Interrupts are held while it
 * runs (a cancel is served by the statement's next CHECK_FOR_INTERRUPTS,
 * never lost); memory context, resource owner and interrupt holdoff counts
 * are restored after an error, and any LWLock of pg_steward statistics
 * still held is released.  fn must not hold a spinlock across anything
 * that can fail, and must not run in a critical section.  Returns false if
 * fn failed.
 */
extern bool steward_collect(steward_collect_fn fn, void *arg);

/* Register an LWLock that steward_collect releases if fn failed holding it. */
extern void steward_collect_register_lock(LWLock *lock);

/*
 * Shared bookkeeping of one structure: its hash table and capacity (read by
 * steward.collector) and counters of entries evicted and events dropped.
 */
extern void steward_struct_register(StewardStruct s, HTAB *hash, int max_entries);
extern void steward_struct_evicted(StewardStruct s, uint64 n);
extern void steward_struct_dropped(StewardStruct s, uint64 n);
extern void steward_structs_reset(void);

/*
 * Enter key into a shared hash table created with ShmemInitHash(init =
 * max = max_entries) without ever taking memory beyond what was
 * preallocated: dynahash would otherwise take new elements from the
 * shared memory that the lock table and others need.  NULL when full.
 * Caller holds the table's lock exclusively.
 */
extern void *steward_hash_enter_bounded(HTAB *hash, const void *key, int max_entries,
										bool *found);

/*
 * The number of bytes of s[0 .. len) to keep so that at most max_bytes are
 * kept and the cut never falls inside a multibyte character of the
 * database encoding.
 */
extern int	steward_clip_len(const char *s, int len, int max_bytes);

/*
 * Whether statistics are collected: the library was loaded by
 * shared_preload_libraries.  Otherwise the SQL functions return no rows
 * (never 55000, so scrapers keep working) and the install script warns.
 */
extern bool steward_statistics_available(void);

extern void steward_collect_request_shmem(void);
extern void steward_collect_init_shmem(void);

#endif							/* STEWARD_COLLECT_H */
