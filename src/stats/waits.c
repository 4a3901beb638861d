/*-------------------------------------------------------------------------
 *
 * waits.c
 *	  Wait-event sampling with lock-contention attribution.
 *
 * A background worker wakes every steward.sample_interval, reads the
 * wait_event_info of every process (PGPROC) and counts one sample per
 * (database, wait event, top-level queryid).  Backends publish the queryid
 * of their running top-level statement in a shared array indexed by
 * pgprocno (statements.c sets it), so no backend status snapshot is needed.
 * For a backend waiting on a heavyweight lock, the worker also records what
 * it waits for (relation, mode) and who blocks it (pg_blocking_pids), with
 * the blocker's queryid.  A row lock is a wait for the holder's
 * transaction: its relation is that of the tuple lock the waiter holds.
 *
 * Memory is fixed: steward.max_wait_entries entries per table, all
 * preallocated (collect.c).  When a table is full, the sampler evicts its
 * 5% least sampled entries (counted in steward.collector) to make room.
 * An evicted lock-contention entry's samples and seconds are added to the
 * "evicted" entry of its database, relation and lock type (mode NoLock, no
 * statements), which is never evicted itself: the waited seconds per
 * relation and lock type (the exporter's counter) never go down.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "access/twophase.h"
#include "postmaster/interrupt.h"
#include "tcop/tcopprot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/wait_event.h"

#include "pg_steward.h"
#include "plumbing/preload.h"
#include "plumbing/settings.h"
#include "stats/collect.h"
#include "stats/history.h"
#include "stats/waits.h"

#define WAITS_EVICT_PERCENT 5

#define WAITS_AREA "pg_steward waits"	/* and its LWLock tranche */

typedef struct WaitKey
{
	Oid			dbid;
	uint32		wait_event_info;
	uint64		queryid;
} WaitKey;

typedef struct WaitEntry
{
	WaitKey		key;
	uint64		samples;
} WaitEntry;

typedef struct LockKey
{
	Oid			dbid;
	Oid			relid;			/* InvalidOid: no relation (a row lock's: its table) */
	int			locktag_type;
	int			mode;
	uint64		waiting_queryid;
	uint64		blocking_queryid;
} LockKey;

typedef struct LockEntry
{
	LockKey		key;
	uint64		samples;
	uint64		wait_us;		/* each sample's steward.sample_interval, summed
								 * (integer: exact, so the counter only grows) */
	int			waiting_pid;	/* last seen */
	int			blocking_pid;
} LockEntry;

typedef struct WaitsShared
{
	LWLock	   *lock;			/* guards both hash tables */
	uint64		rounds;			/* sampling rounds */
	uint64		dropped;		/* samples that did not fit */
	int			nprocs;
	pg_atomic_uint64 queryids[FLEXIBLE_ARRAY_MEMBER];	/* per pgprocno */
	/* then pg_atomic_uint32 targets[nprocs]: see steward_waits_set_target */
} WaitsShared;

/*
 * The targets array after queryids; this backend's last published target,
 * and whether it published one (the slot may hold what the previous
 * backend of this PGPROC left: see slot_published).
 */
static pg_atomic_uint32 *targets = NULL;
static Oid	my_target = InvalidOid;
static bool my_slot_published = false;

/* steward.sample_interval, and its 0.1 name steward.sample_interval_ms. */
static int	sample_interval = 10;
static int	sample_interval_ms = 10;
static StewardRenamedSetting sample_interval_setting = {
	"steward.sample_interval", "steward.sample_interval_ms"
};
int			steward_max_wait_entries = 5000;

static WaitsShared *waits_shared = NULL;
static HTAB *wait_hash = NULL;
static HTAB *lock_hash = NULL;

/* Who else learns of each round (steward_sampler_observe); none by default. */
static StewardSamplerObserver observer;

/* The sampler's room to sort entries for eviction. */
static void **evict_array = NULL;

PGDLLEXPORT void steward_sampler_main(Datum main_arg);

PG_FUNCTION_INFO_V1(steward_waits);
PG_FUNCTION_INFO_V1(steward_lock_contention);
PG_FUNCTION_INFO_V1(steward_lock_contention_v2);

static int
total_procs(void)
{
	return MaxBackends + NUM_AUXILIARY_PROCS + max_prepared_xacts;
}

/* The struct with its per-process queryids and targets (not the hashes). */
static Size
waits_area_size(void)
{
	return add_size(add_size(offsetof(WaitsShared, queryids),
							 mul_size(total_procs(), sizeof(pg_atomic_uint64))),
					mul_size(total_procs(), sizeof(pg_atomic_uint32)));
}

/* Check hook of the 0.1 name: accepts any value, says it is deprecated. */
static bool
check_sample_interval_ms(int *newval, void **extra, GucSource source)
{
	steward_setting_deprecated("steward.sample_interval_ms", "steward.sample_interval", source);
	return true;
}

/*
 * The wait sampler's period in ms: steward.sample_interval, or its 0.1 name
 * while only that is set.  No lock, raises nothing.
 */
int
steward_sample_interval(void)
{
	return steward_setting_use_old(&sample_interval_setting) ? sample_interval_ms
		: sample_interval;
}

/*
 * From _PG_init: define this part's steward.* settings.  Takes no lock.  A
 * bad value set before the library loaded is core's WARNING
 * (define_custom_variable), and the default stays; setting the 0.1 name
 * steward.sample_interval_ms says it is deprecated (01P01 WARNING, or LOG
 * from the configuration file).  steward_setting_renamed's XX000 would be a
 * programming error (both names are defined just before).
 */
void
steward_waits_define_gucs(void)
{
	DefineCustomIntVariable("steward.sample_interval",
							"Interval between wait-event samples.",
							NULL, &sample_interval, 10, 1, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.sample_interval_ms",
							"Deprecated name of steward.sample_interval (in effect while that is left at its default).",
							NULL, &sample_interval_ms, 10, 1, 60000,
							PGC_SIGHUP, GUC_UNIT_MS | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							check_sample_interval_ms, NULL, NULL);
	steward_setting_renamed(&sample_interval_setting);
	DefineCustomIntVariable("steward.max_wait_entries",
							"Maximum entries kept by steward.waits and by steward.lock_contention.",
							NULL, &steward_max_wait_entries, 5000, 100, 1000000,
							STEWARD_SERVER_START_GUC, 0, NULL, NULL, NULL);
}

/*
 * From the shmem_request_hook (src/pg_steward.c): ask for this part's
 * shared-memory area and its lock (plumbing/preload.c).  Takes no lock;
 * raises nothing (core's FATAL is for a request outside that hook).
 */
void
steward_waits_request_shmem(void)
{
	Size		size = waits_area_size();

	size = add_size(size, hash_estimate_size(steward_max_wait_entries, sizeof(WaitEntry)));
	size = add_size(size, hash_estimate_size(steward_max_wait_entries, sizeof(LockEntry)));
	steward_shmem_request(WAITS_AREA, size, true);
}

static void
waits_init_area(void *area, bool found, LWLock *lock)
{
	int			n = total_procs();

	waits_shared = (WaitsShared *) area;
	targets = (pg_atomic_uint32 *) &waits_shared->queryids[n];
	if (!found)
	{
		waits_shared->lock = lock;
		waits_shared->rounds = 0;
		waits_shared->dropped = 0;
		waits_shared->nprocs = n;
		for (int i = 0; i < n; i++)
		{
			pg_atomic_init_u64(&waits_shared->queryids[i], 0);
			pg_atomic_init_u32(&targets[i], InvalidOid);
		}
	}
	wait_hash = steward_shmem_hash("pg_steward wait hash", steward_max_wait_entries,
								   sizeof(WaitKey), sizeof(WaitEntry));
	lock_hash = steward_shmem_hash("pg_steward lock hash", steward_max_wait_entries,
								   sizeof(LockKey), sizeof(LockEntry));
}

/*
 * From the shmem_startup_hook (src/pg_steward.c): create or attach to
 * this part's area, under AddinShmemInitLock (plumbing/preload.c).
 * Errors: ShmemInitStruct's and ShmemInitHash's (out of shared memory:
 * FATAL at start).
 */
void
steward_waits_init_shmem(void)
{
	(void) steward_shmem_init(WAITS_AREA, waits_area_size(), true, waits_init_area);
	steward_struct_register(STEWARD_STRUCT_WAITS, wait_hash, steward_max_wait_entries);
	steward_struct_register(STEWARD_STRUCT_LOCK_CONTENTION, lock_hash, steward_max_wait_entries);
}

/*
 * Both entry types start with their key and have "samples" right after
 * it; the offset tells where.
 */
static size_t samples_offset;

static uint64
entry_samples(const void *entry)
{
	return *(const uint64 *) ((const char *) entry + samples_offset);
}

static int
samples_cmp(const void *a, const void *b)
{
	uint64		sa = entry_samples(*(void *const *) a);
	uint64		sb = entry_samples(*(void *const *) b);

	return (sa > sb) - (sa < sb);
}

/*
 * A lock-contention entry that keeps the samples and seconds of the
 * evicted entries of its (database, relation, lock type): mode NoLock,
 * which no wait has, and no statements.
 */
static inline bool
is_evicted_lock_entry(const LockEntry *entry)
{
	return entry->key.mode == NoLock;
}

/* The evicted-entries key of key's (database, relation, lock type). */
static void
evicted_lock_key(LockKey *into, const LockKey *key)
{
	memset(into, 0, sizeof(LockKey));
	into->dbid = key->dbid;
	into->relid = key->relid;
	into->locktag_type = key->locktag_type;
	into->mode = NoLock;
}

/*
 * Make room in a full table: evict its least sampled entries.  Sampler
 * only, lock held exclusively; evict_array has room for every entry.  In
 * the lock-contention table, the evicted-entries entries are not evicted,
 * and each victim's samples and seconds are added to the one of its
 * relation and lock type (so their sum never goes down).  Returns the
 * number evicted.
 */
static int
evict_samples(HTAB *hash, size_t offset, StewardStruct s)
{
	HASH_SEQ_STATUS status;
	void	   *entry;
	int			n = 0;
	int			nvictims;
	bool		locks = (hash == lock_hash);

	if (evict_array == NULL)
		return 0;
	hash_seq_init(&status, hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		if (n < steward_max_wait_entries &&
			!(locks && is_evicted_lock_entry((LockEntry *) entry)))
			evict_array[n++] = entry;
	if (n == 0)
		return 0;
	samples_offset = offset;
	qsort(evict_array, n, sizeof(void *), samples_cmp);
	nvictims = Max(1, n * WAITS_EVICT_PERCENT / 100);
	for (int i = 0; i < nvictims && i < n; i++)
	{
		LockEntry	victim;
		LockKey		key;
		LockEntry  *keep;
		bool		found;

		if (locks)
			memcpy(&victim, evict_array[i], sizeof(LockEntry));
		/* Remove first: its element is then free for the evicted entry. */
		hash_search(hash, evict_array[i], HASH_REMOVE, NULL);
		if (!locks)
			continue;
		evicted_lock_key(&key, &victim.key);
		keep = hash_search(lock_hash, &key, HASH_ENTER_NULL, &found);
		if (keep == NULL)
			continue;			/* cannot happen: an element was just freed */
		if (!found)
		{
			keep->samples = 0;
			keep->wait_us = 0;
			keep->waiting_pid = 0;
			keep->blocking_pid = 0;
		}
		keep->samples += victim.samples;
		keep->wait_us += victim.wait_us;
	}
	nvictims = Min(nvictims, n);
	steward_struct_evicted(s, nvictims);
	return nvictims;
}

/* Enter key, evicting if the table is full; NULL (counted) if still no room. */
static void *
enter_sample(HTAB *hash, const void *key, size_t offset, StewardStruct s, bool *found)
{
	void	   *entry;

	entry = steward_hash_enter_bounded(hash, key, steward_max_wait_entries, found);
	if (entry == NULL)
	{
		evict_samples(hash, offset, s);
		entry = steward_hash_enter_bounded(hash, key, steward_max_wait_entries, found);
	}
	/*
	 * A lock-contention table full of evicted-entries entries: the sample
	 * goes to the one of its relation and lock type, if there is one.
	 */
	if (entry == NULL && hash == lock_hash)
	{
		LockKey		ekey;

		evicted_lock_key(&ekey, (const LockKey *) key);
		entry = hash_search(lock_hash, &ekey, HASH_FIND, NULL);
		*found = true;
	}
	if (entry == NULL)
	{
		waits_shared->dropped++;
		steward_struct_dropped(s, 1);
	}
	return entry;
}

/*
 * At exit of a backend that published in its slot: clear it.  A FATAL
 * exit (pg_terminate_backend, idle_session_timeout) skips the PG_FINALLY
 * blocks that put the outer target and the queryid back, and the next
 * backend of this PGPROC would otherwise start with the dead one's table
 * and queryid: its waits attributed to them (codereview2 #5).  Runs before
 * ProcKill gives the PGPROC back.
 */
static void
clear_slot_at_exit(int code, Datum arg)
{
	int			procno = DatumGetInt32(arg);

	pg_atomic_write_u64(&waits_shared->queryids[procno], 0);
	pg_atomic_write_u32(&targets[procno], InvalidOid);
}

/*
 * Can this backend publish in its slot?  On the first use, the slot is
 * cleared (whatever a previous backend of this PGPROC left there) and
 * cleared again at exit.
 */
static bool
slot_published(void)
{
	if (waits_shared == NULL || targets == NULL || MyProc == NULL ||
		MyProc->pgprocno >= waits_shared->nprocs)
		return false;
	if (!my_slot_published)
	{
		pg_atomic_write_u64(&waits_shared->queryids[MyProc->pgprocno], 0);
		pg_atomic_write_u32(&targets[MyProc->pgprocno], InvalidOid);
		my_target = InvalidOid;
		before_shmem_exit(clear_slot_at_exit, Int32GetDatum(MyProc->pgprocno));
		my_slot_published = true;
	}
	return true;
}

/*
 * Called by statements.c: the top-level statement this backend runs.  An
 * atomic write to this backend's slot, no lock (the sampler reads it
 * racily: a sample taken as a statement starts or ends may name the
 * neighbouring one).  Raises nothing, except on the first call, which
 * registers the exit callback (FATAL if the callback list is full).
 */
void
steward_waits_set_queryid(uint64 queryid)
{
	if (slot_published())
		pg_atomic_write_u64(&waits_shared->queryids[MyProc->pgprocno], queryid);
}

/*
 * Called by statements.c around each executor run and utility statement:
 * the one table the innermost statement this backend runs writes, or
 * InvalidOid (see count_lock_wait).  Returns the target it replaces, for
 * the caller to put back.  Stores only a change.  An atomic write to this
 * backend's slot, no lock, read racily by the sampler; raises nothing but
 * as steward_waits_set_queryid.
 */
Oid
steward_waits_set_target(Oid relid)
{
	Oid			prev = my_target;

	if (slot_published() && relid != my_target)
	{
		pg_atomic_write_u32(&targets[MyProc->pgprocno], relid);
		my_target = relid;
	}
	return prev;
}

static Oid
target_of_proc(PGPROC *proc)
{
	if (proc == NULL || proc->pgprocno >= waits_shared->nprocs)
		return InvalidOid;
	return pg_atomic_read_u32(&targets[proc->pgprocno]);
}

static uint64
queryid_of_proc(PGPROC *proc)
{
	if (proc == NULL || proc->pgprocno >= waits_shared->nprocs)
		return 0;
	return pg_atomic_read_u64(&waits_shared->queryids[proc->pgprocno]);
}

/*
 * Set the sampler's observer (copied).  From _PG_init only, before the
 * sampler starts; it inherits the setting through fork.  Process-local:
 * no lock, raises nothing.
 */
void
steward_sampler_observe(const StewardSamplerObserver *o)
{
	observer = *o;
}

/*
 * From _PG_init while preloading: the wait sampler, restarted after 1 s if
 * it exits.  Takes no lock and raises nothing: core LOGs a worker it cannot
 * register (max_worker_processes reached, or not preloading) and the server
 * runs without the sampler.
 */
void
steward_sampler_register(void)
{
	BackgroundWorker worker;

	/*
	 * Not in a server pg_upgrade runs (binary-upgrade mode, where core's
	 * autovacuum is off too): whatever a worker wrote there would be
	 * overwritten by the copied files, and the launcher's visits would only
	 * meet the restore's DROP and CREATE DATABASE.
	 */
	if (IsBinaryUpgrade)
		return;
	steward_bgworker_fill(&worker, "steward_sampler_main", "pg_steward wait sampler",
						  "pg_steward wait sampler", BgWorkerStart_ConsistentState, 1);
	RegisterBackgroundWorker(&worker);
}

/* The first process blocking "pid" (pg_blocking_pids), or 0. */
static int
first_blocker(int pid)
{
	ArrayType  *arr = DatumGetArrayTypeP(DirectFunctionCall1(pg_blocking_pids,
															 Int32GetDatum(pid)));
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(arr, INT4OID, sizeof(int32), true, TYPALIGN_INT,
					  &elems, &nulls, &n);
	return (n > 0 && !nulls[0]) ? DatumGetInt32(elems[0]) : 0;
}

static void
count_wait(Oid dbid, uint32 info, uint64 queryid)
{
	WaitKey		key;
	WaitEntry  *entry;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.dbid = dbid;
	key.wait_event_info = info;
	key.queryid = queryid;
	entry = enter_sample(wait_hash, &key, offsetof(WaitEntry, samples),
						 STEWARD_STRUCT_WAITS, &found);
	if (entry == NULL)
		return;
	if (!found)
		entry->samples = 0;
	entry->samples++;
}

/*
 * The relation of a tuple lock proc holds, or InvalidOid.  A backend that
 * finds a row locked takes the row's tuple lock, then waits for the
 * holder's transaction (heap_update, heap_delete, heap_lock_tuple): its
 * wait is on a transactionid, which names no relation, while the granted
 * tuple lock (as pg_locks shows it) names the row's table.  Tuple locks
 * are held only around such a wait, so the one found is the row's.  A
 * transactionid wait without one (a unique or exclusion check waiting for
 * the inserter of the same key) is attributed by count_lock_wait to the
 * table the waiting statement writes, as its backend published it
 * (steward_waits_set_target).  Takes each
 * lock-manager partition lock in turn, shared (after the sampler's lock,
 * as pg_blocking_pids does).
 */
static Oid
held_tuple_lock_relation(PGPROC *proc)
{
	Oid			relid = InvalidOid;

	for (int i = 0; i < NUM_LOCK_PARTITIONS && !OidIsValid(relid); i++)
	{
		LWLock	   *partition = LockHashPartitionLockByIndex(i);
		SHM_QUEUE  *head = &proc->myProcLocks[i];
		PROCLOCK   *pl;

		LWLockAcquire(partition, LW_SHARED);
		pl = (PROCLOCK *) SHMQueueNext(head, head, offsetof(PROCLOCK, procLink));
		while (pl != NULL)
		{
			const LOCKTAG *tag = &pl->tag.myLock->tag;

			if (pl->holdMask != 0 && tag->locktag_type == LOCKTAG_TUPLE &&
				tag->locktag_field1 == proc->databaseId)
			{
				relid = tag->locktag_field2;
				break;
			}
			pl = (PROCLOCK *) SHMQueueNext(head, &pl->procLink, offsetof(PROCLOCK, procLink));
		}
		LWLockRelease(partition);
	}
	return relid;
}

/*
 * Count a sample of proc's lock wait, standing for interval_us of
 * waiting: the sampling interval in effect when it was taken.  Summing
 * those (not samples times the interval of now) keeps the waited time a
 * counter when steward.sample_interval is changed: a reload changes only
 * what later samples add.
 */
static void
count_lock_wait(PGPROC *proc, uint64 queryid, uint64 interval_us)
{
	LOCK	   *lock = proc->waitLock;
	LockKey		key;
	LockEntry  *entry;
	bool		found;
	int			blocker;
	PGPROC	   *bproc;

	/*
	 * The wait ended between reading its wait event and its lock: nothing
	 * to attribute (recorded, it read as a relation lock on no relation).
	 */
	if (lock == NULL)
		return;
	memset(&key, 0, sizeof(key));
	key.dbid = proc->databaseId;
	key.waiting_queryid = queryid;
	key.mode = proc->waitLockMode;
	/* The tag of a lock being waited on does not change. */
	key.locktag_type = lock->tag.locktag_type;
	if (lock->tag.locktag_type == LOCKTAG_RELATION ||
		lock->tag.locktag_type == LOCKTAG_TUPLE ||
		lock->tag.locktag_type == LOCKTAG_PAGE ||
		lock->tag.locktag_type == LOCKTAG_RELATION_EXTEND)
		key.relid = lock->tag.locktag_field2;
	else if (lock->tag.locktag_type == LOCKTAG_TRANSACTION)
	{
		key.relid = held_tuple_lock_relation(proc);
		if (!OidIsValid(key.relid))
			key.relid = target_of_proc(proc);
	}
	blocker = first_blocker(proc->pid);
	if (observer.blocked_by)
		observer.blocked_by(proc, blocker);
	bproc = blocker ? BackendPidGetProc(blocker) : NULL;
	key.blocking_queryid = queryid_of_proc(bproc);

	entry = enter_sample(lock_hash, &key, offsetof(LockEntry, samples),
						 STEWARD_STRUCT_LOCK_CONTENTION, &found);
	if (entry == NULL)
		return;
	if (!found)
	{
		entry->samples = 0;
		entry->wait_us = 0;
	}
	entry->samples++;
	entry->wait_us += interval_us;
	if (!is_evicted_lock_entry(entry))
	{
		entry->waiting_pid = proc->pid;
		entry->blocking_pid = blocker;
	}
}

static void
sample_once(MemoryContext cxt)
{
	int			n = Min((int) ProcGlobal->allProcCount, waits_shared->nprocs);
	uint64		interval_us = (uint64) steward_sample_interval() * 1000;

	if (observer.round_begin)
		observer.round_begin();
	LWLockAcquire(waits_shared->lock, LW_EXCLUSIVE);
	waits_shared->rounds++;
	for (int i = 0; i < n; i++)
	{
		PGPROC	   *proc = &ProcGlobal->allProcs[i];
		uint32		info = *((volatile uint32 *) &proc->wait_event_info);
		uint64		queryid;

		/* Idle loops of background processes are not waits of interest. */
		if (proc->pid == 0 || proc->pid == MyProcPid || info == 0 ||
			(info & 0xFF000000) == PG_WAIT_ACTIVITY)
			continue;
		queryid = queryid_of_proc(proc);
		/* Nor are idle extension workers (this one's siblings included). */
		if ((info & 0xFF000000) == PG_WAIT_EXTENSION && queryid == 0)
			continue;
		count_wait(proc->databaseId, info, queryid);
		if (observer.sample)
			observer.sample(proc, info);
		if ((info & 0xFF000000) == PG_WAIT_LOCK)
		{
			MemoryContext old = MemoryContextSwitchTo(cxt);

			count_lock_wait(proc, queryid, interval_us);
			MemoryContextSwitchTo(old);
			MemoryContextReset(cxt);
		}
	}
	LWLockRelease(waits_shared->lock);
}

/* The sampler's memory, reset after each sample. */
static MemoryContext sampler_cxt = NULL;

/* One round of the sampler: a sample, then the ticks that ride on it. */
static void
sampler_round(void)
{
	if (waits_shared != NULL)
		sample_once(sampler_cxt);
	steward_history_tick();
	if (observer.tick)
		observer.tick();
}

static long
sampler_pause_ms(void)
{
	return steward_sample_interval();
}

/*
 * The wait sampler's main function (bgw_function_name): samples every
 * steward.sample_interval, then the history and its observer tick.  No
 * transaction, no heavyweight lock.  A sample holds the waits' LWLock
 * exclusively; for each process waiting on a heavyweight lock it also takes
 * the lock-manager partition locks shared one at a time and, through
 * pg_blocking_pids, ProcArrayLock and every partition lock shared; the
 * history tick takes its locks (steward_history_tick), the observer its
 * own.  The loop has no error handler: an error (53200 when memory runs
 * out) ends the worker (FATAL) and the postmaster restarts it after 1 s.
 */
void
steward_sampler_main(Datum main_arg)
{
	sampler_cxt = AllocSetContextCreate(TopMemoryContext, "pg_steward sampler",
										ALLOCSET_DEFAULT_SIZES);
	evict_array = MemoryContextAlloc(TopMemoryContext,
									 steward_max_wait_entries * sizeof(void *));
	steward_bgworker_loop(sampler_round, sampler_pause_ms);
}

/*
 * steward.reset(): forget what this part counted, under its own lock
 * (LWLock, exclusive).  Does nothing without shared memory (no
 * shared_preload_libraries).  Raises nothing.
 */
void
steward_waits_reset(void)
{
	HASH_SEQ_STATUS status;
	void	   *entry;

	if (wait_hash == NULL)
		return;
	LWLockAcquire(waits_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&status, wait_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(wait_hash, entry, HASH_REMOVE, NULL);
	hash_seq_init(&status, lock_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(lock_hash, entry, HASH_REMOVE, NULL);
	waits_shared->rounds = 0;
	waits_shared->dropped = 0;
	LWLockRelease(waits_shared->lock);
}

/*
 * steward._waits(): (dbid, event_type, event, queryid, samples).  Holds the
 * waits' LWLock shared while it copies the entries into the result; raises
 * nothing of its own (the tuplestore's errors: 53200, or a file error when
 * it spills past work_mem).  No rows without shared_preload_libraries.
 */
Datum
steward_waits(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS status;
	WaitEntry  *entry;

	/* Without shared_preload_libraries: no rows (steward.collector says why). */
	InitMaterializedSRF(fcinfo, 0);
	if (wait_hash == NULL)
		return (Datum) 0;
	LWLockAcquire(waits_shared->lock, LW_SHARED);
	hash_seq_init(&status, wait_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		Datum		values[5];
		bool		nulls[5] = {0};
		const char *type = pgstat_get_wait_event_type(entry->key.wait_event_info);
		const char *event = pgstat_get_wait_event(entry->key.wait_event_info);

		values[0] = ObjectIdGetDatum(entry->key.dbid);
		nulls[0] = !OidIsValid(entry->key.dbid);
		values[1] = CStringGetTextDatum(type ? type : "???");
		values[2] = CStringGetTextDatum(event ? event : "???");
		values[3] = Int64GetDatum((int64) entry->key.queryid);
		nulls[3] = entry->key.queryid == 0;
		values[4] = Int64GetDatum((int64) entry->samples);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(waits_shared->lock);
	return (Datum) 0;
}

static const char *
locktag_name(int type)
{
	switch (type)
	{
		case LOCKTAG_RELATION:
			return "relation";
		case LOCKTAG_RELATION_EXTEND:
			return "extend";
		case LOCKTAG_PAGE:
			return "page";
		case LOCKTAG_TUPLE:
			return "tuple";
		case LOCKTAG_TRANSACTION:
			return "transactionid";
		case LOCKTAG_VIRTUALTRANSACTION:
			return "virtualxid";
		case LOCKTAG_ADVISORY:
			return "advisory";
		default:
			return "other";
	}
}

/*
 * Rows of steward._lock_contention(): (dbid, relid, locktype, mode,
 * waiting_queryid, blocking_queryid, waiting_pid, blocking_pid, samples),
 * and with 10 columns wait_seconds (steward_lock_contention_v2; 0.1's
 * definition calls steward_lock_contention, with 9).
 */
static Datum
lock_contention_srf(FunctionCallInfo fcinfo, int ncols)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS status;
	LockEntry  *entry;

	/* Without shared_preload_libraries: no rows (steward.collector says why). */
	InitMaterializedSRF(fcinfo, 0);
	if (wait_hash == NULL)
		return (Datum) 0;
	LWLockAcquire(waits_shared->lock, LW_SHARED);
	hash_seq_init(&status, lock_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		Datum		values[10];
		bool		nulls[10] = {0};

		values[0] = ObjectIdGetDatum(entry->key.dbid);
		values[1] = ObjectIdGetDatum(entry->key.relid);
		nulls[1] = !OidIsValid(entry->key.relid);
		values[2] = CStringGetTextDatum(locktag_name(entry->key.locktag_type));
		/* The evicted entries of a relation and lock type: no mode, no pid. */
		values[3] = CStringGetTextDatum(GetLockmodeName(DEFAULT_LOCKMETHOD, entry->key.mode));
		nulls[3] = is_evicted_lock_entry(entry);
		values[4] = Int64GetDatum((int64) entry->key.waiting_queryid);
		nulls[4] = entry->key.waiting_queryid == 0;
		values[5] = Int64GetDatum((int64) entry->key.blocking_queryid);
		nulls[5] = entry->key.blocking_queryid == 0;
		values[6] = Int32GetDatum(entry->waiting_pid);
		nulls[6] = entry->waiting_pid == 0;
		values[7] = Int32GetDatum(entry->blocking_pid);
		nulls[7] = entry->blocking_pid == 0;
		values[8] = Int64GetDatum((int64) entry->samples);
		values[9] = Float8GetDatum((double) entry->wait_us / 1000000.0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(waits_shared->lock);
	return (Datum) 0;
}

/*
 * steward._lock_contention() of 0.1: 9 columns, no wait_seconds.  Locks and
 * errors as steward_lock_contention_v2.
 */
Datum
steward_lock_contention(PG_FUNCTION_ARGS)
{
	return lock_contention_srf(fcinfo, 9);
}

/*
 * steward._lock_contention(): one row per (database, relation, lock type,
 * mode, waiting and blocking statement) sampled waiting, with its samples
 * and the seconds they stand for.  Holds the waits' LWLock shared while it
 * copies the entries into the result; raises nothing of its own (the
 * tuplestore's errors: 53200, or a file error when it spills past
 * work_mem).  No rows without shared_preload_libraries.
 */
Datum
steward_lock_contention_v2(PG_FUNCTION_ARGS)
{
	return lock_contention_srf(fcinfo, 10);
}
