/*-------------------------------------------------------------------------
 *
 * counters.c
 *	  Per-table event counters in shared memory.
 *
 * Version conflicts and sequence rejects end in an error, so the aborting
 * transaction cannot report them through the cumulative statistics system;
 * they are counted here instead, non-transactionally, the moment they
 * happen.  See README.md in this folder for the locking rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "stats/counters.h"

#define COUNTERS_TRANCHE "pg_steward counters"

typedef struct CounterKey
{
	Oid			dbid;
	Oid			relid;
} CounterKey;

typedef struct CounterEntry
{
	CounterKey	key;			/* hash key: must be first */
	pg_atomic_uint64 counts[STEWARD_NUM_COUNTERS];
} CounterEntry;

typedef struct CounterShared
{
	LWLock	   *lock;			/* protects the hash table's membership */
	pg_atomic_uint64 dropped_events;	/* events lost because the hash was
										 * full */
} CounterShared;

/* Per (table, from, to) state transition counts. */
typedef struct TransitionKey
{
	Oid			dbid;
	Oid			relid;
	char		from[NAMEDATALEN];
	char		to[NAMEDATALEN];
} TransitionKey;

typedef struct TransitionEntry
{
	TransitionKey key;
	pg_atomic_uint64 count;
} TransitionEntry;

#define TRANSITIONS_PER_TABLE 16

int			steward_max_tables = 1000;

static CounterShared *counter_shared = NULL;
static HTAB *counter_hash = NULL;
static HTAB *transition_hash = NULL;

PG_FUNCTION_INFO_V1(steward_table_counters);
PG_FUNCTION_INFO_V1(steward_transition_counters);

void
steward_counters_define_gucs(void)
{
	DefineCustomIntVariable("steward.max_tables",
							"Maximum number of tables whose events pg_steward counts in shared memory.",
							NULL,
							&steward_max_tables,
							1000,
							16,
							1000000,
							STEWARD_SERVER_START_GUC,
							0,
							NULL, NULL, NULL);
}

static Size
counters_shmem_size(void)
{
	return add_size(add_size(MAXALIGN(sizeof(CounterShared)),
							 hash_estimate_size(steward_max_tables, sizeof(CounterEntry))),
					hash_estimate_size(steward_max_tables * TRANSITIONS_PER_TABLE,
									   sizeof(TransitionEntry)));
}

void
steward_counters_request_shmem(void)
{
	RequestAddinShmemSpace(counters_shmem_size());
	RequestNamedLWLockTranche(COUNTERS_TRANCHE, 1);
}

void
steward_counters_init_shmem(void)
{
	bool		found;
	HASHCTL		info;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);

	counter_shared = ShmemInitStruct("pg_steward counters",
									 sizeof(CounterShared), &found);
	if (!found)
	{
		counter_shared->lock = &(GetNamedLWLockTranche(COUNTERS_TRANCHE))->lock;
		pg_atomic_init_u64(&counter_shared->dropped_events, 0);
	}

	info.keysize = sizeof(CounterKey);
	info.entrysize = sizeof(CounterEntry);
	counter_hash = ShmemInitHash("pg_steward counter hash",
								 steward_max_tables, steward_max_tables,
								 &info, HASH_ELEM | HASH_BLOBS);
	info.keysize = sizeof(TransitionKey);
	info.entrysize = sizeof(TransitionEntry);
	transition_hash = ShmemInitHash("pg_steward transition hash",
									steward_max_tables * TRANSITIONS_PER_TABLE,
									steward_max_tables * TRANSITIONS_PER_TABLE,
									&info, HASH_ELEM | HASH_BLOBS);

	LWLockRelease(AddinShmemInitLock);
}

/*
 * Remove entries of this database whose table no longer exists, to make
 * room.  Caller holds the lock exclusively.
 */
static void
evict_dropped_tables(void)
{
	HASH_SEQ_STATUS status;
	CounterEntry *entry;

	hash_seq_init(&status, counter_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->key.dbid == MyDatabaseId &&
			!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->key.relid)))
			hash_search(counter_hash, &entry->key, HASH_REMOVE, NULL);
	}
}

static CounterEntry *
find_or_create_entry(Oid relid)
{
	CounterKey	key;
	CounterEntry *entry;
	bool		found;

	key.dbid = MyDatabaseId;
	key.relid = relid;

	LWLockAcquire(counter_shared->lock, LW_SHARED);
	entry = hash_search(counter_hash, &key, HASH_FIND, NULL);
	LWLockRelease(counter_shared->lock);
	if (entry)
		return entry;

	LWLockAcquire(counter_shared->lock, LW_EXCLUSIVE);
	if (hash_get_num_entries(counter_hash) >= steward_max_tables)
		evict_dropped_tables();
	if (hash_get_num_entries(counter_hash) >= steward_max_tables)
	{
		LWLockRelease(counter_shared->lock);
		return NULL;
	}
	entry = hash_search(counter_hash, &key, HASH_ENTER, &found);
	if (!found)
	{
		for (int i = 0; i < STEWARD_NUM_COUNTERS; i++)
			pg_atomic_init_u64(&entry->counts[i], 0);
	}
	LWLockRelease(counter_shared->lock);
	return entry;
}

void
steward_count_event(Oid relid, StewardCounter counter, uint64 n)
{
	CounterEntry *entry;

	if (counter_hash == NULL)
		return;

	/*
	 * Entries are only removed under the exclusive lock by a backend that
	 * saw the table gone; a table we are writing to cannot be dropped
	 * concurrently, so the entry stays valid after the lock is released.
	 */
	entry = find_or_create_entry(relid);
	if (entry == NULL)
	{
		pg_atomic_fetch_add_u64(&counter_shared->dropped_events, n);
		return;
	}
	pg_atomic_fetch_add_u64(&entry->counts[counter], n);
}

void
steward_count_transition(Oid relid, const char *from, const char *to)
{
	TransitionKey key;
	TransitionEntry *entry;
	bool		found;

	if (transition_hash == NULL)
		return;
	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.relid = relid;
	strlcpy(key.from, from, NAMEDATALEN);
	strlcpy(key.to, to, NAMEDATALEN);

	LWLockAcquire(counter_shared->lock, LW_SHARED);
	entry = hash_search(transition_hash, &key, HASH_FIND, NULL);
	LWLockRelease(counter_shared->lock);
	if (entry == NULL)
	{
		LWLockAcquire(counter_shared->lock, LW_EXCLUSIVE);
		entry = hash_search(transition_hash, &key, HASH_ENTER_NULL, &found);
		if (entry != NULL && !found)
			pg_atomic_init_u64(&entry->count, 0);
		LWLockRelease(counter_shared->lock);
		if (entry == NULL)
		{
			pg_atomic_fetch_add_u64(&counter_shared->dropped_events, 1);
			return;
		}
	}
	pg_atomic_fetch_add_u64(&entry->count, 1);
}

static void
require_counters(void)
{
	if (counter_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_steward counters are not available"),
				 errdetail("The counters live in shared memory, which pg_steward can only allocate at server start."),
				 errhint("Add pg_steward to shared_preload_libraries and restart the server.")));
}

/* steward.transition_counters(): (relid, from_state, to_state, transitions). */
Datum
steward_transition_counters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS status;
	TransitionEntry *entry;

	require_counters();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(counter_shared->lock, LW_SHARED);
	hash_seq_init(&status, transition_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		Datum		values[4];
		bool		nulls[4] = {0};

		if (entry->key.dbid != MyDatabaseId ||
			!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->key.relid)))
			continue;
		values[0] = ObjectIdGetDatum(entry->key.relid);
		values[1] = CStringGetTextDatum(entry->key.from);
		nulls[1] = entry->key.from[0] == '\0';
		values[2] = CStringGetTextDatum(entry->key.to);
		values[3] = Int64GetDatum((int64) pg_atomic_read_u64(&entry->count));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(counter_shared->lock);
	return (Datum) 0;
}

/* Forget every table and transition counter (steward.reset()). */
void
steward_counters_reset(void)
{
	HASH_SEQ_STATUS status;
	void	   *entry;

	if (counter_hash == NULL)
		return;
	LWLockAcquire(counter_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&status, counter_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(counter_hash, entry, HASH_REMOVE, NULL);
	hash_seq_init(&status, transition_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(transition_hash, entry, HASH_REMOVE, NULL);
	pg_atomic_write_u64(&counter_shared->dropped_events, 0);
	LWLockRelease(counter_shared->lock);
}

/*
 * steward.table_counters(): one row per table of the current database that
 * has counted an event.
 */
Datum
steward_table_counters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS status;
	CounterEntry *entry;

	require_counters();
	InitMaterializedSRF(fcinfo, 0);

	LWLockAcquire(counter_shared->lock, LW_SHARED);
	hash_seq_init(&status, counter_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		Datum		values[1 + STEWARD_NUM_COUNTERS];
		bool		nulls[1 + STEWARD_NUM_COUNTERS] = {0};

		if (entry->key.dbid != MyDatabaseId)
			continue;
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->key.relid)))
			continue;

		values[0] = ObjectIdGetDatum(entry->key.relid);
		for (int i = 0; i < STEWARD_NUM_COUNTERS; i++)
			values[1 + i] = Int64GetDatum((int64) pg_atomic_read_u64(&entry->counts[i]));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(counter_shared->lock);

	return (Datum) 0;
}
