/*-------------------------------------------------------------------------
 *
 * collect.c
 *	  Shared plumbing of the statistics collectors.
 *
 * Statistics are collected inside the user's statements (executor hooks,
 * the table access method's write paths, transaction callbacks).  A
 * monitoring extension must never be the reason a statement fails or
 * returns something else, so collection code that can fail at all (it
 * allocates memory, runs the SQL lexer, calls type output functions) runs
 * under steward_collect(), which swallows and counts its errors.  Code on
 * paths where even that is not allowed (transaction commit and abort
 * callbacks) is written not to fail: no allocation, no catalog access,
 * only hash lookups with HASH_FIND / bounded HASH_ENTER_NULL, spinlocks
 * and atomics.
 *
 * Every shared structure is a dynahash created with init = max entries,
 * all elements preallocated.  Entering beyond that would make dynahash
 * take elements from the general shared memory pool, which the lock table
 * also draws on; steward_hash_enter_bounded() refuses instead, and each
 * structure evicts (counted here) or drops the event (counted too).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "pg_steward.h"
#include "plumbing/preload.h"
#include "stats/collect.h"

#define COLLECT_AREA "pg_steward collector"
#define MAX_COLLECT_LOCKS 8

typedef struct CollectShared
{
	pg_atomic_uint64 failures;	/* errors swallowed by steward_collect */
	pg_atomic_uint64 evictions[STEWARD_NUM_STRUCTS];
	pg_atomic_uint64 dropped[STEWARD_NUM_STRUCTS];
} CollectShared;

static const char *const struct_names[STEWARD_NUM_STRUCTS] = {
	"statements", "table_counters", "transitions", "hot_rows", "waits", "lock_contention"
};

static CollectShared *collect_shared = NULL;
static HTAB *struct_hash[STEWARD_NUM_STRUCTS];
static int	struct_max[STEWARD_NUM_STRUCTS];
static LWLock *collect_locks[MAX_COLLECT_LOCKS];
static int	ncollect_locks = 0;
static bool failure_logged = false;

PG_FUNCTION_INFO_V1(steward_collector);
PG_FUNCTION_INFO_V1(steward_statistics_collected);

/*
 * From the shmem_request_hook (src/pg_steward.c): ask for the collector's
 * shared-memory area, which has no lock: atomics only (plumbing/preload.c).
 * Errors: RequestAddinShmemSpace's (outside the request hook).
 */
void
steward_collect_request_shmem(void)
{
	steward_shmem_request(COLLECT_AREA, MAXALIGN(sizeof(CollectShared)), false);
}

static void
collect_init_area(void *area, bool found, LWLock *lock)
{
	collect_shared = (CollectShared *) area;
	if (!found)
	{
		pg_atomic_init_u64(&collect_shared->failures, 0);
		for (int i = 0; i < STEWARD_NUM_STRUCTS; i++)
		{
			pg_atomic_init_u64(&collect_shared->evictions[i], 0);
			pg_atomic_init_u64(&collect_shared->dropped[i], 0);
		}
	}
}

/*
 * From the shmem_startup_hook (src/pg_steward.c): create or attach to
 * this part's area, under AddinShmemInitLock (plumbing/preload.c).
 * Errors: ShmemInitStruct's (out of shared memory: FATAL at start).
 */
void
steward_collect_init_shmem(void)
{
	(void) steward_shmem_init(COLLECT_AREA, sizeof(CollectShared), false, collect_init_area);
}

/*
 * Remember an LWLock of a statistics area, so that steward_collect() can
 * release it if the collection it guards fails.  At most MAX_COLLECT_LOCKS
 * (more are silently not registered); from an init_shmem function only.
 * Backend-local, no lock; raises nothing.
 */
void
steward_collect_register_lock(LWLock *lock)
{
	for (int i = 0; i < ncollect_locks; i++)
		if (collect_locks[i] == lock)
			return;
	if (ncollect_locks < MAX_COLLECT_LOCKS)
		collect_locks[ncollect_locks++] = lock;
}

/*
 * Name the shared hash table of structure s and its capacity for
 * steward.collector.  From an init_shmem function only.  Backend-local,
 * no lock; raises nothing.
 */
void
steward_struct_register(StewardStruct s, HTAB *hash, int max_entries)
{
	struct_hash[s] = hash;
	struct_max[s] = max_entries;
}

/*
 * Count n entries of structure s evicted to make room.  Atomic, no lock;
 * nothing without shared memory.  Raises nothing.
 */
void
steward_struct_evicted(StewardStruct s, uint64 n)
{
	if (collect_shared != NULL && n > 0)
		pg_atomic_fetch_add_u64(&collect_shared->evictions[s], n);
}

/*
 * steward.reset(): the structures' evictions and dropped events start
 * again from zero with the statistics they count, as
 * pg_stat_statements_reset() zeroes pg_stat_statements_info.dealloc.
 * The swallowed collection failures are kept: they count errors of the
 * collector, not statistics.  Atomic, no lock.
 */
void
steward_structs_reset(void)
{
	if (collect_shared == NULL)
		return;
	for (int i = 0; i < STEWARD_NUM_STRUCTS; i++)
	{
		pg_atomic_write_u64(&collect_shared->evictions[i], 0);
		pg_atomic_write_u64(&collect_shared->dropped[i], 0);
	}
}

/*
 * Count n events structure s dropped for lack of room.  Atomic, no lock;
 * nothing without shared memory.  Raises nothing.
 */
void
steward_struct_dropped(StewardStruct s, uint64 n)
{
	if (collect_shared != NULL && n > 0)
		pg_atomic_fetch_add_u64(&collect_shared->dropped[s], n);
}

/*
 * Find or enter key in a fixed-size shared hash table, never past
 * max_entries: NULL when it is full (the caller evicts or drops), instead
 * of drawing on the shared memory other hash tables need.  The caller
 * holds the table's lock exclusively.  Raises nothing (HASH_ENTER_NULL
 * returns NULL where HASH_ENTER would raise out of shared memory).
 */
void *
steward_hash_enter_bounded(HTAB *hash, const void *key, int max_entries, bool *found)
{
	void	   *entry = hash_search(hash, key, HASH_FIND, NULL);

	if (entry != NULL)
	{
		*found = true;
		return entry;
	}
	*found = false;
	if (hash_get_num_entries(hash) >= max_entries)
		return NULL;
	return hash_search(hash, key, HASH_ENTER_NULL, found);
}

/*
 * Bytes of the first len bytes of s that fit max_bytes without cutting a
 * multibyte character.  Pure computation: no lock, raises nothing (s is
 * valid in the database encoding).
 */
int
steward_clip_len(const char *s, int len, int max_bytes)
{
	if (len <= max_bytes)
		return len;
	return pg_mbcliplen(s, len, max_bytes);
}

/*
 * Run fn(arg) so that whatever it raises is swallowed and counted instead
 * of reaching the statement being measured (see collect.h for the full
 * contract).  Statistics must never fail a user's statement, yet a bug in
 * them must not go unseen: the first failure of a backend is logged.
 * Returns false if fn failed.  Releases the registered statistics LWLocks
 * fn left held (steward_collect_register_lock); interrupts are held off
 * while fn runs.  Raises nothing but what fn's error recovery cannot
 * undo (FATAL, PANIC).
 */
bool
steward_collect(steward_collect_fn fn, void *arg)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	uint32		holdoff = InterruptHoldoffCount;
	uint32		cancel_holdoff = QueryCancelHoldoffCount;
	volatile bool ok = true;
	char	   *message = NULL;

	HOLD_INTERRUPTS();
	PG_TRY();
	{
		fn(arg);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* errfinish() zeroed the holdoff counts; put back the caller's. */
		InterruptHoldoffCount = holdoff + 1;
		QueryCancelHoldoffCount = cancel_holdoff;
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		for (int i = 0; i < ncollect_locks; i++)
			if (LWLockHeldByMe(collect_locks[i]))
				LWLockRelease(collect_locks[i]);
		edata = CopyErrorData();
		FlushErrorState();
		if (!failure_logged)
			message = pstrdup(edata->message ? edata->message : "");
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	RESUME_INTERRUPTS();

	if (!ok)
	{
		if (collect_shared != NULL)
			pg_atomic_fetch_add_u64(&collect_shared->failures, 1);
		/* Once per backend, so the server log says why numbers are missing. */
		if (message != NULL)
		{
			failure_logged = true;
			ereport(LOG,
					(errmsg("pg_steward: statistics collection failed and was skipped: %s", message),
					 errdetail("The statement itself was not affected; further failures of this session are only counted in steward.collector."),
					 errhidestmt(true)));
			pfree(message);
		}
	}
	return ok;
}

/*
 * Whether this process has the statistics' shared memory (the library was
 * preloaded).  No lock; raises nothing.
 */
bool
steward_statistics_available(void)
{
	return collect_shared != NULL;
}

/*
 * steward._statistics_collected(): whether this server collects statistics
 * (the library was in shared_preload_libraries at server start).  No
 * lock; raises nothing.
 */
Datum
steward_statistics_collected(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(collect_shared != NULL);
}

/*
 * steward._collector(): one row per shared structure (name, capacity,
 * entries, evictions, dropped events, swallowed collection failures, and
 * whether it is collected at all).  Without shared_preload_libraries the
 * rows say so (collected false) instead of failing, so a scraper keeps
 * working.  No lock: a monitoring snapshot.  Errors: none of its own.
 */
Datum
steward_collector(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < STEWARD_NUM_STRUCTS; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {0};

		values[0] = CStringGetTextDatum(struct_names[i]);
		values[6] = BoolGetDatum(collect_shared != NULL);
		if (collect_shared == NULL)
		{
			for (int c = 1; c < 6; c++)
				values[c] = Int64GetDatum(0);
			values[1] = Int32GetDatum(0);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			continue;
		}
		values[1] = Int32GetDatum(struct_max[i]);
		values[2] = Int64GetDatum(struct_hash[i] ? (int64) hash_get_num_entries(struct_hash[i]) : 0);
		values[3] = Int64GetDatum((int64) pg_atomic_read_u64(&collect_shared->evictions[i]));
		values[4] = Int64GetDatum((int64) pg_atomic_read_u64(&collect_shared->dropped[i]));
		values[5] = Int64GetDatum((int64) pg_atomic_read_u64(&collect_shared->failures));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
