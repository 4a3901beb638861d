/*-------------------------------------------------------------------------
 *
 * idem_stats.c
 *	  Per-scope idempotency counters in shared memory.
 *
 * Outcomes are counted when they happen, whether or not the caller's
 * transaction commits later: a replay that the application then rolls back
 * was still a replay.  Same locking as stats/counters.c: one LWLock guards
 * hash membership, increments are atomic.
 *
 * Like the table counters and PostgreSQL's own cumulative statistics,
 * they survive a clean restart (pg_stat/pg_steward_idempotency.stat,
 * through stats/statsfile.c: written after the shutdown checkpoint,
 * loaded at the next start, discarded after a crash or an immediate
 * stop) and go back to zero with steward.reset().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#include "pg_steward.h"
#include "idempotency/idempotency.h"
#include "plumbing/preload.h"
#include "stats/statsfile.h"

#define IDEM_AREA		"pg_steward idempotency"	/* and its LWLock tranche */
#define IDEM_SCOPE_BYTES	64
#define IDEM_MAX_SCOPES		1024
#define IDEM_DUMP_FILE		"pg_stat/pg_steward_idempotency.stat"
#define IDEM_FILE_MAGIC		0x53544931	/* "STI1" */
#define IDEM_FILE_LAYOUT	((uint32) (IDEM_NUM_COUNTERS | IDEM_SCOPE_BYTES << 8))

typedef struct IdemKey
{
	Oid			dbid;
	char		scope[IDEM_SCOPE_BYTES];	/* truncated, NUL-padded */
} IdemKey;

typedef struct IdemEntry
{
	IdemKey		key;
	pg_atomic_uint64 counts[IDEM_NUM_COUNTERS];
} IdemEntry;

typedef struct IdemShared
{
	LWLock	   *lock;
} IdemShared;

static IdemShared *idem_shared = NULL;
static HTAB *idem_hash = NULL;

PG_FUNCTION_INFO_V1(steward_idempotency_counters);

/*
 * From the shmem_request_hook (src/pg_steward.c): ask for this part's
 * shared-memory area and its lock (plumbing/preload.c).  Takes no lock;
 * raises nothing (core's FATAL is for a request outside that hook).
 */
void
steward_idem_stats_request_shmem(void)
{
	steward_shmem_request(IDEM_AREA,
						  add_size(MAXALIGN(sizeof(IdemShared)),
								   hash_estimate_size(IDEM_MAX_SCOPES, sizeof(IdemEntry))),
						  true);
}

static void save_idem_stats(int code, Datum arg);
static void load_idem_stats(void);

/* Whether the area existed before this process attached (EXEC_BACKEND). */
static bool idem_area_found = false;

static void
idem_stats_init_area(void *area, bool found, LWLock *lock)
{
	idem_shared = (IdemShared *) area;
	idem_area_found = found;
	if (!found)
		idem_shared->lock = lock;
	idem_hash = steward_shmem_hash("pg_steward idempotency hash", IDEM_MAX_SCOPES,
								   sizeof(IdemKey), sizeof(IdemEntry));
}

/*
 * From the shmem_startup_hook (src/pg_steward.c): create or attach to
 * this part's area, under AddinShmemInitLock (plumbing/preload.c).
 * Errors: ShmemInitStruct's and ShmemInitHash's (out of shared memory:
 * FATAL at start).
 */
void
steward_idem_stats_init_shmem(void)
{
	(void) steward_shmem_init(IDEM_AREA, sizeof(IdemShared), true, idem_stats_init_area);

	/* The postmaster loads the saved counts and saves them at shutdown. */
	if (!IsUnderPostmaster)
	{
		if (!idem_area_found)
			load_idem_stats();
		on_shmem_exit(save_idem_stats, (Datum) 0);
	}
}

/*
 * on_shmem_exit callback of the postmaster: write every scope's counts
 * after a clean shutdown only (stats/statsfile.c): the number of scopes,
 * then each key and its counts.  A failure is LOGged, never raised.
 */
static void
save_idem_stats(int code, Datum arg)
{
	StewardStatsFile sf;
	HASH_SEQ_STATUS status;
	IdemEntry  *entry;
	uint32		n;

	if (idem_hash == NULL ||
		!steward_statsfile_open_write(&sf, code, IDEM_DUMP_FILE, IDEM_FILE_MAGIC,
									  IDEM_FILE_LAYOUT))
		return;
	n = (uint32) hash_get_num_entries(idem_hash);
	steward_statsfile_write(&sf, &n, sizeof(n));
	hash_seq_init(&status, idem_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		uint64		counts[IDEM_NUM_COUNTERS];

		for (int i = 0; i < IDEM_NUM_COUNTERS; i++)
			counts[i] = pg_atomic_read_u64(&entry->counts[i]);
		steward_statsfile_write(&sf, &entry->key, sizeof(IdemKey));
		steward_statsfile_write(&sf, counts, sizeof(counts));
	}
	steward_statsfile_close_write(&sf);
}

/*
 * At postmaster start, before any backend: load the file of the last
 * clean shutdown, all of it or, if any part is damaged (a scope name
 * that does not end in its field, among others), none of it (emptied
 * by steward_idem_stats_reset, whose lock is free: nothing else runs
 * yet).  Raises nothing.
 */
static void
load_idem_stats(void)
{
	StewardStatsFile sf;
	uint32		n;

	if (!steward_statsfile_open_read(&sf, IDEM_DUMP_FILE, IDEM_FILE_MAGIC, IDEM_FILE_LAYOUT))
		return;
	if (steward_statsfile_read(&sf, &n, sizeof(n)))
	{
		for (uint32 i = 0; i < n; i++)
		{
			IdemKey		key;
			uint64		counts[IDEM_NUM_COUNTERS];
			IdemEntry  *entry;
			bool		found;

			if (!steward_statsfile_read(&sf, &key, sizeof(key)) ||
				!steward_statsfile_read(&sf, counts, sizeof(counts)))
				break;
			if (!steward_statsfile_name_ok(key.scope, IDEM_SCOPE_BYTES))
			{
				steward_statsfile_damaged(&sf);
				break;
			}
			if (hash_get_num_entries(idem_hash) >= IDEM_MAX_SCOPES)
				continue;
			entry = hash_search(idem_hash, &key, HASH_ENTER_NULL, &found);
			if (entry == NULL)
				continue;
			for (int c = 0; c < IDEM_NUM_COUNTERS; c++)
				pg_atomic_init_u64(&entry->counts[c], counts[c]);
		}
	}
	/* the lock is free: nothing else runs yet */
	if (!steward_statsfile_close_read(&sf))
		steward_idem_stats_reset();
}

/*
 * The key of a scope: its name when it fits in IDEM_SCOPE_BYTES - 1
 * bytes; else its first characters (cut on a character boundary, so the
 * name stays valid text in the database's encoding), "...#" and 8 hex
 * digits of a hash of the whole name.  Cutting at 63 bytes merged the
 * counts of two scopes with the same first 63 bytes under a name that is
 * neither, and could end the name in the middle of a character: the
 * Prometheus label was invalid UTF-8 and steward.metrics failed (22021)
 * for a client in another encoding.
 */
static void
make_key(IdemKey *key, const char *scope)
{
	size_t		len = strlen(scope);

	memset(key, 0, sizeof(IdemKey));
	key->dbid = MyDatabaseId;
	if (len < IDEM_SCOPE_BYTES)
		memcpy(key->scope, scope, len);
	else
	{
		/* "...#" and 8 hex digits after the prefix, a NUL at the end */
		int			prefix = pg_mbcliplen(scope, (int) len, IDEM_SCOPE_BYTES - 1 - 12);

		memcpy(key->scope, scope, prefix);
		snprintf(key->scope + prefix, IDEM_SCOPE_BYTES - prefix, "...#%08x",
				 (unsigned int) hash_bytes((const unsigned char *) scope, (int) len));
	}
}

/*
 * Add n to a scope's count of outcome.  Scopes beyond IDEM_MAX_SCOPES are
 * counted under "(other)".  Takes the idempotency counters' LWLock, shared
 * to find the scope's entry, exclusive to make one; the count is added
 * (atomically) while the lock is held.  Raises nothing; nothing without
 * shared memory.
 */
void
steward_idem_count(const char *scope, IdemOutcome outcome, uint64 n)
{
	IdemKey		key;
	IdemEntry  *entry;
	bool		found;

	if (idem_hash == NULL || n == 0)
		return;
	make_key(&key, scope);

	/*
	 * The add happens under the lock: released first, steward.reset()
	 * could remove the entry and another scope take its slot, which would
	 * then get this scope's count (tidy3 finding 5).  Shared is enough:
	 * the add is atomic, and reset() takes the lock exclusively.
	 */
	LWLockAcquire(idem_shared->lock, LW_SHARED);
	entry = hash_search(idem_hash, &key, HASH_FIND, NULL);
	if (entry != NULL)
	{
		pg_atomic_fetch_add_u64(&entry->counts[outcome], n);
		LWLockRelease(idem_shared->lock);
		return;
	}
	LWLockRelease(idem_shared->lock);

	LWLockAcquire(idem_shared->lock, LW_EXCLUSIVE);
	if (hash_get_num_entries(idem_hash) >= IDEM_MAX_SCOPES - 1)
		make_key(&key, "(other)");
	entry = hash_search(idem_hash, &key, HASH_ENTER_NULL, &found);
	if (entry != NULL)
	{
		if (!found)
		{
			for (int i = 0; i < IDEM_NUM_COUNTERS; i++)
				pg_atomic_init_u64(&entry->counts[i], 0);
		}
		pg_atomic_fetch_add_u64(&entry->counts[outcome], n);
	}
	LWLockRelease(idem_shared->lock);
}

/*
 * steward.reset(): forget what this part counted, under its own lock
 * (LWLock, exclusive).  Does nothing without shared memory (no
 * shared_preload_libraries).  Raises nothing.
 */
void
steward_idem_stats_reset(void)
{
	HASH_SEQ_STATUS status;
	IdemEntry  *entry;

	if (idem_hash == NULL)
		return;
	LWLockAcquire(idem_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&status, idem_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(idem_hash, &entry->key, HASH_REMOVE, NULL);
	LWLockRelease(idem_shared->lock);
}

/*
 * steward.idempotency_counters(): one row per scope of this database.
 * Holds the idempotency counters' LWLock shared while it copies the
 * entries into the result; raises nothing of its own (the tuplestore's
 * errors: 53200, or a file error past work_mem).  No rows without
 * shared_preload_libraries.
 */
Datum
steward_idempotency_counters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS status;
	IdemEntry  *entry;

	/* Without shared_preload_libraries: no rows (steward.collector says why). */
	InitMaterializedSRF(fcinfo, 0);
	if (idem_hash == NULL)
		return (Datum) 0;
	LWLockAcquire(idem_shared->lock, LW_SHARED);
	hash_seq_init(&status, idem_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		Datum		values[1 + IDEM_NUM_COUNTERS];
		bool		nulls[1 + IDEM_NUM_COUNTERS] = {0};

		if (entry->key.dbid != MyDatabaseId)
			continue;
		values[0] = CStringGetTextDatum(entry->key.scope);
		for (int i = 0; i < IDEM_NUM_COUNTERS; i++)
			values[1 + i] = Int64GetDatum((int64) pg_atomic_read_u64(&entry->counts[i]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(idem_shared->lock);
	return (Datum) 0;
}
