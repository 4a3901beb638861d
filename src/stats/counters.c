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
 * Both tables have a fixed size (collect.c).  Table counters are never
 * evicted while their table exists (each series must only grow): entries
 * of dropped tables make room, and an event that still does not fit is
 * added to its database's "other tables" counts (the row of relid NULL of
 * steward.table_counters(), for pg_read_all_stats; in the database's
 * version conflicts for health) and counted as dropped in
 * steward.collector: one role with steward.max_tables tables used to take
 * every entry, and every other table's events were lost.  Transition counters of a table can be many (a
 * 64-state machine has 4032 edges): when full, the least counted 5% of
 * the edges are evicted and their counts added to their table's
 * "(other)" edge, which is only evicted with its table.
 *
 * Counters are incremented while the lock is held (shared), so an entry
 * cannot be evicted under an increment.
 *
 * Transitions are counted when their transaction commits, as
 * steward.state_counts counts rows: an update that rolls back (a 40001 or
 * deadlock retry, a handler's error after the UPDATE, ROLLBACK) moved no
 * row.  Each backend keeps its transitions per subtransaction level (a
 * rolled-back savepoint drops its own); pre-commit makes sure their edges
 * exist (that may evict, read the catalog, allocate); the commit callback,
 * after the commit record, only adds to edges it finds (if one was evicted
 * in between, to its table's "(other)" edge, else the event is dropped).
 * A prepared transaction's transitions wait in shared memory, labelled
 * with its xid, until a reader of the counts, or the next PREPARE, finds
 * it committed (added), rolled back (forgotten) or gone from the commit
 * log (dropped: resolve_prepared): PostgreSQL runs no
 * extension code at COMMIT PREPARED.  So the slots hold only transactions
 * still prepared, or ended since the last reader or PREPARE.  Transitions
 * that find no free slot even then are dropped (counted in
 * steward.collector), never counted before their transaction commits.
 * The slots are shared memory only: a transaction prepared before a
 * restart and committed after it is not counted.
 *
 * Like PostgreSQL's cumulative statistics (pg_stat/pgstat.stat), the
 * counts survive a clean shutdown: the postmaster writes them to
 * pg_stat/pg_steward_counters.stat when it exits after the shutdown
 * checkpoint and reads them at the next start if that checkpoint is the
 * last one pg_control records (statsfile.c); after a crash or an
 * immediate stop they start from zero.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "plumbing/preload.h"
#include "stats/collect.h"
#include "stats/counters.h"
#include "stats/history.h"
#include "stats/statsfile.h"

#define COUNTERS_AREA "pg_steward counters"	/* and its LWLock tranche */
#define COUNTERS_DUMP_FILE "pg_stat/pg_steward_counters.stat"
#define COUNTERS_FILE_MAGIC 0x53544332	/* "STC2" */

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

/* Per (table, from, to) state transition counts. */
typedef struct TransitionKey
{
	Oid			dbid;
	Oid			relid;
	char		from[NAMEDATALEN];
	char		to[NAMEDATALEN];
} TransitionKey;

/* Transitions of a prepared transaction, waiting for its outcome. */
typedef struct PreparedTransition
{
	FullTransactionId xid;		/* Invalid: a free slot */
	TransitionKey key;
	uint64		count;
} PreparedTransition;

/* Events of a database's tables that found no entry (the table full). */
typedef struct OtherTables
{
	Oid			dbid;			/* InvalidOid: free */
	uint64		counts[STEWARD_NUM_COUNTERS];
} OtherTables;

typedef struct CounterShared
{
	LWLock	   *lock;			/* protects the hash tables' membership and
								 * the prepared slots */
	pg_atomic_uint64 dropped_events;	/* events lost because the hash was
										 * full */
	/* version conflicts of evicted (dropped) tables, per database */
	StewardRetired retired[STEWARD_RETIRED_DBS];
	/* per database (as many as retired[]): written under the exclusive lock */
	OtherTables other_tables[STEWARD_RETIRED_DBS];
	int			nprepared;		/* slots in prepared[] */
	PreparedTransition prepared[FLEXIBLE_ARRAY_MEMBER];
} CounterShared;

/* This backend's transitions not committed yet, per subtransaction level. */
typedef struct PendingTransition
{
	TransitionKey key;
	int			nest;
	uint64		count;
} PendingTransition;

typedef struct TransitionEntry
{
	TransitionKey key;
	pg_atomic_uint64 count;
} TransitionEntry;

#define TRANSITIONS_PER_TABLE 16
#define TRANSITION_OTHER "(other)"
#define TRANSITION_EVICT_PERCENT 5

int			steward_max_tables = 1000;

static CounterShared *counter_shared = NULL;
static HTAB *counter_hash = NULL;
static HTAB *transition_hash = NULL;

static PendingTransition *pending = NULL;
static int	npending = 0;
static int	maxpending = 0;

static int
max_transitions(void)
{
	return steward_max_tables * TRANSITIONS_PER_TABLE;
}

/* Slots for the transitions of prepared transactions: 16 edges each. */
static int
max_prepared_transitions(void)
{
	return max_prepared_xacts * TRANSITIONS_PER_TABLE;
}

static Size
counter_shared_size(void)
{
	return add_size(offsetof(CounterShared, prepared),
					mul_size(max_prepared_transitions(), sizeof(PreparedTransition)));
}

PG_FUNCTION_INFO_V1(steward_table_counters);
PG_FUNCTION_INFO_V1(steward_transition_counters);

/*
 * From _PG_init: define this part's steward.* settings.  Takes no lock and
 * raises nothing: a bad value set before the library loaded is core's
 * WARNING (define_custom_variable), and the default stays.
 */
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
	return add_size(add_size(MAXALIGN(counter_shared_size()),
							 hash_estimate_size(steward_max_tables, sizeof(CounterEntry))),
					hash_estimate_size(steward_max_tables * TRANSITIONS_PER_TABLE,
									   sizeof(TransitionEntry)));
}

/*
 * From the shmem_request_hook (src/pg_steward.c): ask for this part's
 * shared-memory area and its lock (plumbing/preload.c).  Takes no lock;
 * raises nothing (core's FATAL is for a request outside that hook).
 */
void
steward_counters_request_shmem(void)
{
	steward_shmem_request(COUNTERS_AREA, counters_shmem_size(), true);
}

static void save_counters(int code, Datum arg);
static void load_counters(void);

/* Whether the area existed before this process attached (EXEC_BACKEND). */
static bool counters_area_found = false;

static void
counters_init_area(void *area, bool found, LWLock *lock)
{
	counter_shared = (CounterShared *) area;
	counters_area_found = found;
	if (!found)
	{
		counter_shared->lock = lock;
		pg_atomic_init_u64(&counter_shared->dropped_events, 0);
		memset(counter_shared->retired, 0, sizeof(counter_shared->retired));
		memset(counter_shared->other_tables, 0, sizeof(counter_shared->other_tables));
		counter_shared->nprepared = max_prepared_transitions();
		for (int i = 0; i < counter_shared->nprepared; i++)
			counter_shared->prepared[i].xid = InvalidFullTransactionId;
	}
	counter_hash = steward_shmem_hash("pg_steward counter hash", steward_max_tables,
									  sizeof(CounterKey), sizeof(CounterEntry));
	transition_hash = steward_shmem_hash("pg_steward transition hash", max_transitions(),
										 sizeof(TransitionKey), sizeof(TransitionEntry));
}

/*
 * From the shmem_startup_hook (src/pg_steward.c): create or attach to
 * this part's area, under AddinShmemInitLock (plumbing/preload.c).
 * Errors: ShmemInitStruct's and ShmemInitHash's (out of shared memory:
 * FATAL at start).
 */
void
steward_counters_init_shmem(void)
{
	(void) steward_shmem_init(COUNTERS_AREA, counter_shared_size(), true,
							  counters_init_area);
	steward_collect_register_lock(counter_shared->lock);
	steward_struct_register(STEWARD_STRUCT_TABLE_COUNTERS, counter_hash, steward_max_tables);
	steward_struct_register(STEWARD_STRUCT_TRANSITIONS, transition_hash, max_transitions());

	/* The postmaster loads the saved counts and saves them at shutdown. */
	if (!IsUnderPostmaster)
	{
		if (!counters_area_found)
			load_counters();
		on_shmem_exit(save_counters, (Datum) 0);
	}
}

/* ------------------------------------------------------------------------
 * Saving across clean restarts (statsfile.c: when, and which file is good)
 *
 * The records: the number of table entries and of edges, the table
 * entries (key and counts), the edges (key and count), then the
 * dropped-event count and the retired sums and other-tables rows of every
 * database as they are in shared memory.  Entries of tables dropped while
 * the server ran are saved too: the postmaster cannot read any database's
 * catalog, and the readers skip them and making room evicts them, as
 * before the restart.
 * ------------------------------------------------------------------------
 */
typedef struct SavedCounters
{
	CounterKey	key;
	uint64		counts[STEWARD_NUM_COUNTERS];
} SavedCounters;

typedef struct SavedTransition
{
	TransitionKey key;
	uint64		count;
} SavedTransition;

/* A build with other counters or other sizes does not read the file. */
#define COUNTERS_FILE_LAYOUT \
	((uint32) (STEWARD_NUM_COUNTERS | STEWARD_RETIRED_DBS << 8 | NAMEDATALEN << 16))

/*
 * on_shmem_exit callback of the postmaster: write every count to the file
 * after a clean shutdown only (statsfile.c).  A failure is LOGged, never
 * raised.
 */
static void
save_counters(int code, Datum arg)
{
	StewardStatsFile sf;
	HASH_SEQ_STATUS status;
	CounterEntry *entry;
	TransitionEntry *edge;
	uint64		dropped;
	uint32		n[2];

	if (counter_hash == NULL ||
		!steward_statsfile_open_write(&sf, code, COUNTERS_DUMP_FILE,
									  COUNTERS_FILE_MAGIC, COUNTERS_FILE_LAYOUT))
		return;
	n[0] = (uint32) hash_get_num_entries(counter_hash);
	n[1] = (uint32) hash_get_num_entries(transition_hash);
	steward_statsfile_write(&sf, n, sizeof(n));
	hash_seq_init(&status, counter_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		SavedCounters rec;

		memset(&rec, 0, sizeof(rec));
		rec.key = entry->key;
		for (int i = 0; i < STEWARD_NUM_COUNTERS; i++)
			rec.counts[i] = pg_atomic_read_u64(&entry->counts[i]);
		steward_statsfile_write(&sf, &rec, sizeof(rec));
	}
	hash_seq_init(&status, transition_hash);
	while ((edge = hash_seq_search(&status)) != NULL)
	{
		SavedTransition rec;

		memset(&rec, 0, sizeof(rec));
		rec.key = edge->key;
		rec.count = pg_atomic_read_u64(&edge->count);
		steward_statsfile_write(&sf, &rec, sizeof(rec));
	}
	dropped = pg_atomic_read_u64(&counter_shared->dropped_events);
	steward_statsfile_write(&sf, &dropped, sizeof(dropped));
	steward_statsfile_write(&sf, counter_shared->retired, sizeof(counter_shared->retired));
	steward_statsfile_write(&sf, counter_shared->other_tables,
							sizeof(counter_shared->other_tables));
	steward_statsfile_close_write(&sf);
}

/*
 * Empty the tables: a damaged file (none of it is served) or
 * steward.reset().  Caller holds the lock exclusively, or is the
 * postmaster at start.
 */
static void
forget_counters(void)
{
	HASH_SEQ_STATUS status;
	void	   *entry;

	hash_seq_init(&status, counter_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(counter_hash, entry, HASH_REMOVE, NULL);
	hash_seq_init(&status, transition_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(transition_hash, entry, HASH_REMOVE, NULL);
	pg_atomic_write_u64(&counter_shared->dropped_events, 0);
	memset(counter_shared->retired, 0, sizeof(counter_shared->retired));
	memset(counter_shared->other_tables, 0, sizeof(counter_shared->other_tables));
}

/*
 * At postmaster start, before any backend: read the file saved at the
 * last clean shutdown into the empty tables, all of it or, if any part
 * is damaged, none of it (statsfile.c).  Entries beyond
 * steward.max_tables (lowered since) are not loaded.  Takes no lock
 * (nothing else runs yet); raises nothing.
 */
static void
load_counters(void)
{
	StewardStatsFile sf;
	uint32		n[2];
	uint64		dropped;

	if (!steward_statsfile_open_read(&sf, COUNTERS_DUMP_FILE,
									 COUNTERS_FILE_MAGIC, COUNTERS_FILE_LAYOUT))
		return;
	if (steward_statsfile_read(&sf, n, sizeof(n)))
	{
		for (uint32 i = 0; i < n[0]; i++)
		{
			SavedCounters rec;
			CounterEntry *entry;
			bool		found;

			if (!steward_statsfile_read(&sf, &rec, sizeof(rec)))
				break;
			entry = steward_hash_enter_bounded(counter_hash, &rec.key, steward_max_tables, &found);
			if (entry == NULL)
				continue;
			for (int c = 0; c < STEWARD_NUM_COUNTERS; c++)
				pg_atomic_init_u64(&entry->counts[c], rec.counts[c]);
		}
		for (uint32 i = 0; i < n[1]; i++)
		{
			SavedTransition rec;
			TransitionEntry *edge;
			bool		found;

			if (!steward_statsfile_read(&sf, &rec, sizeof(rec)))
				break;
			/* a state name is served as text: it must end within its field */
			if (!steward_statsfile_name_ok(rec.key.from, NAMEDATALEN) ||
				!steward_statsfile_name_ok(rec.key.to, NAMEDATALEN))
			{
				steward_statsfile_damaged(&sf);
				break;
			}
			edge = steward_hash_enter_bounded(transition_hash, &rec.key, max_transitions(), &found);
			if (edge == NULL)
				continue;
			pg_atomic_init_u64(&edge->count, rec.count);
		}
	}
	if (steward_statsfile_read(&sf, &dropped, sizeof(dropped)) &&
		steward_statsfile_read(&sf, counter_shared->retired, sizeof(counter_shared->retired)) &&
		steward_statsfile_read(&sf, counter_shared->other_tables,
							   sizeof(counter_shared->other_tables)))
		pg_atomic_write_u64(&counter_shared->dropped_events, dropped);
	if (!steward_statsfile_close_read(&sf))
		forget_counters();
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
	uint64		n = 0;

	hash_seq_init(&status, counter_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->key.dbid == MyDatabaseId &&
			!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->key.relid)))
		{
			/* Its database's sum of conflicts (history) keeps them. */
			steward_retired_add(counter_shared->retired, entry->key.dbid,
								(int64) pg_atomic_read_u64(&entry->counts[STEWARD_COUNTER_VERSION_CONFLICTS]));
			hash_search(counter_hash, &entry->key, HASH_REMOVE, NULL);
			n++;
		}
	}
	steward_struct_evicted(STEWARD_STRUCT_TABLE_COUNTERS, n);
}

/*
 * Add n to counter of dbid's other tables, taking a free slot; false when
 * every slot is another database's.  Caller holds the lock exclusively.
 */
static bool
other_tables_add(Oid dbid, StewardCounter counter, uint64 n)
{
	OtherTables *free_slot = NULL;

	for (int i = 0; i < STEWARD_RETIRED_DBS; i++)
	{
		OtherTables *o = &counter_shared->other_tables[i];

		if (o->dbid == dbid)
		{
			o->counts[counter] += n;
			return true;
		}
		if (free_slot == NULL && !OidIsValid(o->dbid))
			free_slot = o;
	}
	if (free_slot == NULL)
		return false;
	free_slot->dbid = dbid;
	memset(free_slot->counts, 0, sizeof(free_slot->counts));
	free_slot->counts[counter] = n;
	return true;
}

/* dbid's other tables, or NULL.  Caller holds the lock. */
static const OtherTables *
other_tables_of(Oid dbid)
{
	for (int i = 0; i < STEWARD_RETIRED_DBS; i++)
		if (counter_shared->other_tables[i].dbid == dbid)
			return &counter_shared->other_tables[i];
	return NULL;
}

typedef struct EventArgs
{
	Oid			relid;
	StewardCounter counter;
	uint64		n;
} EventArgs;

/* Count an event: under the guard, since making room reads the catalog. */
static void
count_event(void *arg)
{
	EventArgs  *a = (EventArgs *) arg;
	CounterKey	key;
	CounterEntry *entry;
	bool		found;

	key.dbid = MyDatabaseId;
	key.relid = a->relid;

	LWLockAcquire(counter_shared->lock, LW_SHARED);
	entry = hash_search(counter_hash, &key, HASH_FIND, NULL);
	if (entry)
	{
		pg_atomic_fetch_add_u64(&entry->counts[a->counter], a->n);
		LWLockRelease(counter_shared->lock);
		return;
	}
	LWLockRelease(counter_shared->lock);

	LWLockAcquire(counter_shared->lock, LW_EXCLUSIVE);
	if (hash_get_num_entries(counter_hash) >= steward_max_tables)
		evict_dropped_tables();
	entry = steward_hash_enter_bounded(counter_hash, &key, steward_max_tables, &found);
	if (entry != NULL)
	{
		if (!found)
		{
			for (int i = 0; i < STEWARD_NUM_COUNTERS; i++)
				pg_atomic_init_u64(&entry->counts[i], 0);
		}
		pg_atomic_fetch_add_u64(&entry->counts[a->counter], a->n);
	}
	else
	{
		/*
		 * No entry for this table: its database's other tables keep the
		 * event (the database's sums stay whole); still counted as dropped,
		 * which is how steward.collector shows that some table's events
		 * are not in its own row.
		 */
		(void) other_tables_add(MyDatabaseId, a->counter, a->n);
		pg_atomic_fetch_add_u64(&counter_shared->dropped_events, a->n);
		steward_struct_dropped(STEWARD_STRUCT_TABLE_COUNTERS, a->n);
	}
	LWLockRelease(counter_shared->lock);
}

/*
 * Add n to a table's counter (version conflicts, invalid versions, sequence
 * rejects, ...).  Called from the AM's write paths: never raises (through
 * steward_collect); nothing without shared memory.  Takes the counters'
 * LWLock, shared to find the table's entry, exclusive to make one (making
 * room looks dropped tables up in pg_class through the syscache); released
 * before returning.
 */
void
steward_count_event(Oid relid, StewardCounter counter, uint64 n)
{
	EventArgs	args;

	if (counter_hash == NULL)
		return;
	args.relid = relid;
	args.counter = counter;
	args.n = n;
	(void) steward_collect(count_event, &args);
}

static int
transition_count_cmp(const void *a, const void *b)
{
	uint64		ca = pg_atomic_read_u64(&(*(TransitionEntry *const *) a)->count);
	uint64		cb = pg_atomic_read_u64(&(*(TransitionEntry *const *) b)->count);

	return (ca > cb) - (ca < cb);
}

static bool
is_other_edge(const TransitionKey *key)
{
	return strcmp(key->from, TRANSITION_OTHER) == 0 && strcmp(key->to, TRANSITION_OTHER) == 0;
}

/*
 * Evict the least counted edges into their table's "(other)" edge.  Caller
 * holds the lock exclusively and passes room for every entry.
 */
static void
evict_transitions(TransitionEntry **all)
{
	HASH_SEQ_STATUS status;
	TransitionEntry *entry;
	int			n = 0;
	int			nvictims;
	uint64		evicted = 0;

	hash_seq_init(&status, transition_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		/* Edges of dropped tables go first, and for good. */
		if (entry->key.dbid == MyDatabaseId &&
			!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->key.relid)))
		{
			hash_search(transition_hash, &entry->key, HASH_REMOVE, NULL);
			evicted++;
		}
		else if (!is_other_edge(&entry->key) && n < max_transitions())
			all[n++] = entry;
	}
	if (evicted > 0)
	{
		steward_struct_evicted(STEWARD_STRUCT_TRANSITIONS, evicted);
		return;
	}
	qsort(all, n, sizeof(TransitionEntry *), transition_count_cmp);
	nvictims = Max(1, n * TRANSITION_EVICT_PERCENT / 100);
	for (int i = 0; i < nvictims && i < n; i++)
	{
		TransitionKey other;
		TransitionEntry *keep;
		uint64		count = pg_atomic_read_u64(&all[i]->count);
		bool		found;

		memset(&other, 0, sizeof(other));
		other.dbid = all[i]->key.dbid;
		other.relid = all[i]->key.relid;
		strlcpy(other.from, TRANSITION_OTHER, NAMEDATALEN);
		strlcpy(other.to, TRANSITION_OTHER, NAMEDATALEN);
		/* Remove first: its element is then free for the "(other)" edge. */
		hash_search(transition_hash, &all[i]->key, HASH_REMOVE, NULL);
		evicted++;
		keep = hash_search(transition_hash, &other, HASH_ENTER_NULL, &found);
		if (keep == NULL)
			continue;
		if (!found)
			pg_atomic_init_u64(&keep->count, 0);
		pg_atomic_fetch_add_u64(&keep->count, count);
	}
	steward_struct_evicted(STEWARD_STRUCT_TRANSITIONS, evicted);
}

typedef struct TransitionArgs
{
	const TransitionKey *key;
	uint64		n;
} TransitionArgs;

/* Add n to an edge, making it (and room for it) if needed. */
static void
count_transition(void *arg)
{
	TransitionArgs *a = (TransitionArgs *) arg;
	const TransitionKey *key = a->key;
	TransitionEntry *entry;
	TransitionEntry **all = NULL;
	bool		found;

	LWLockAcquire(counter_shared->lock, LW_SHARED);
	entry = hash_search(transition_hash, key, HASH_FIND, NULL);
	if (entry != NULL)
	{
		pg_atomic_fetch_add_u64(&entry->count, a->n);
		LWLockRelease(counter_shared->lock);
		return;
	}
	LWLockRelease(counter_shared->lock);

	/* Room to sort the entries, allocated before the lock is taken. */
	if (hash_get_num_entries(transition_hash) >= max_transitions() - 1)
		all = palloc(max_transitions() * sizeof(TransitionEntry *));

	LWLockAcquire(counter_shared->lock, LW_EXCLUSIVE);
	/*
	 * Keep room for the new edge and an "(other)" edge.  Evicting can free
	 * nothing when every victim's table needed a new "(other)" edge: then
	 * once more (those exist now).
	 */
	entry = NULL;
	for (int tries = 0; tries < 3 && entry == NULL; tries++)
	{
		if (all != NULL && hash_get_num_entries(transition_hash) >= max_transitions() - 1)
			evict_transitions(all);
		entry = steward_hash_enter_bounded(transition_hash, key, max_transitions(), &found);
	}
	if (entry != NULL)
	{
		if (!found)
			pg_atomic_init_u64(&entry->count, 0);
		pg_atomic_fetch_add_u64(&entry->count, a->n);
	}
	else if (a->n > 0)
	{
		pg_atomic_fetch_add_u64(&counter_shared->dropped_events, a->n);
		steward_struct_dropped(STEWARD_STRUCT_TRANSITIONS, a->n);
	}
	LWLockRelease(counter_shared->lock);
	if (all)
		pfree(all);
}

/* Add n to an edge now; never raises. */
static void
add_transitions(const TransitionKey *key, uint64 n)
{
	TransitionArgs args;

	args.key = key;
	args.n = n;
	(void) steward_collect(count_transition, &args);
}

/* Remember one transition of this transaction (subtransaction level). */
static void
add_pending(void *arg)
{
	const TransitionKey *key = (const TransitionKey *) arg;
	int			nest = GetCurrentTransactionNestLevel();

	for (int i = npending - 1; i >= 0 && pending[i].nest == nest; i--)
		if (memcmp(&pending[i].key, key, sizeof(TransitionKey)) == 0)
		{
			pending[i].count++;
			return;
		}
	if (npending == maxpending)
	{
		int			newmax = Max(16, maxpending * 2);

		if (pending == NULL)
			pending = MemoryContextAlloc(TopMemoryContext, newmax * sizeof(PendingTransition));
		else
			pending = repalloc(pending, newmax * sizeof(PendingTransition));
		maxpending = newmax;
	}
	pending[npending].key = *key;
	pending[npending].nest = nest;
	pending[npending].count = 1;
	npending++;
}

/*
 * Count one from -> to transition of a table's state machine, once the
 * transaction commits.  Never raises (through steward_collect); nothing
 * without shared memory.  Takes no lock: the transition is kept in backend
 * memory until pre-commit makes its edge and the commit adds to it, under
 * the counters' LWLock (exclusive to make an edge, shared to add; exclusive
 * to park it at PREPARE TRANSACTION).
 */
void
steward_count_transition(Oid relid, const char *from, const char *to)
{
	TransitionKey key;

	if (transition_hash == NULL)
		return;
	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.relid = relid;
	strlcpy(key.from, from, NAMEDATALEN);
	strlcpy(key.to, to, NAMEDATALEN);
	(void) steward_collect(add_pending, &key);
}

/*
 * Commit: add this transaction's transitions to their edges, made at
 * pre-commit; an edge evicted since goes to its table's "(other)" edge,
 * else the event is dropped.  No allocation, no catalog: it cannot fail.
 */
static void
flush_pending(void)
{
	LWLockAcquire(counter_shared->lock, LW_SHARED);
	for (int i = 0; i < npending; i++)
	{
		TransitionEntry *entry = hash_search(transition_hash, &pending[i].key, HASH_FIND, NULL);

		if (entry == NULL)
		{
			TransitionKey other;

			memset(&other, 0, sizeof(other));
			other.dbid = pending[i].key.dbid;
			other.relid = pending[i].key.relid;
			strlcpy(other.from, TRANSITION_OTHER, NAMEDATALEN);
			strlcpy(other.to, TRANSITION_OTHER, NAMEDATALEN);
			entry = hash_search(transition_hash, &other, HASH_FIND, NULL);
		}
		if (entry != NULL)
			pg_atomic_fetch_add_u64(&entry->count, pending[i].count);
		else
		{
			pg_atomic_fetch_add_u64(&counter_shared->dropped_events, pending[i].count);
			steward_struct_dropped(STEWARD_STRUCT_TRANSITIONS, pending[i].count);
		}
	}
	LWLockRelease(counter_shared->lock);
	npending = 0;
}

static void resolve_prepared(void);

/*
 * Pre-prepare: park this transaction's transitions in shared slots under
 * its xid (resolve_prepared counts them once it committed), after freeing
 * the slots of prepared transactions that have ended; what still does not
 * fit is dropped (counted as dropped), not counted before the commit.
 */
static void
park_pending(void *arg)
{
	FullTransactionId xid = GetTopFullTransactionIdIfAny();
	int			left = 0;
	int			slot = 0;

	resolve_prepared();
	LWLockAcquire(counter_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < npending; i++)
	{
		while (slot < counter_shared->nprepared &&
			   FullTransactionIdIsValid(counter_shared->prepared[slot].xid))
			slot++;
		if (!FullTransactionIdIsValid(xid) || slot >= counter_shared->nprepared)
		{
			pending[left++] = pending[i];
			continue;
		}
		counter_shared->prepared[slot].xid = xid;
		counter_shared->prepared[slot].key = pending[i].key;
		counter_shared->prepared[slot].count = pending[i].count;
	}
	LWLockRelease(counter_shared->lock);
	for (int i = 0; i < left; i++)
	{
		pg_atomic_fetch_add_u64(&counter_shared->dropped_events, pending[i].count);
		steward_struct_dropped(STEWARD_STRUCT_TRANSITIONS, pending[i].count);
	}
	npending = 0;
}

static void
counters_xact_callback(XactEvent event, void *arg)
{
	if (transition_hash == NULL || npending == 0)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			/* Make the edges (count 0) while that may still allocate. */
			for (int i = 0; i < npending; i++)
				add_transitions(&pending[i].key, 0);
			break;
		case XACT_EVENT_COMMIT:
			flush_pending();
			break;
		case XACT_EVENT_PRE_PREPARE:
			(void) steward_collect(park_pending, NULL);
			npending = 0;
			break;
		default:
			/* Abort, prepare (parked already), parallel events. */
			npending = 0;
			break;
	}
}

static void
counters_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	int			nest = GetCurrentTransactionNestLevel();

	if (transition_hash == NULL || npending == 0)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		int			kept = 0;

		for (int i = 0; i < npending; i++)
			if (pending[i].nest < nest)
				pending[kept++] = pending[i];
		npending = kept;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		for (int i = 0; i < npending; i++)
			if (pending[i].nest >= nest)
				pending[i].nest = nest - 1;
	}
}

/*
 * _PG_init, while preloading: every backend inherits the callbacks.  Takes
 * no lock; raises only core's 53200 (out of memory) of registering them.
 */
void
steward_counters_install_hooks(void)
{
	RegisterXactCallback(counters_xact_callback, NULL);
	RegisterSubXactCallback(counters_subxact_callback, NULL);
}

static bool commit_log_covers(FullTransactionId fxid);

/*
 * The outcome of ended transaction fxid, from the commit log: committed
 * (true) or not (false); *known false when the log no longer covers it.
 * VACUUM truncates the commit log below the oldest datfrozenxid; a slot
 * whose transaction ended and that nobody resolved (no reader of the
 * counts, no PREPARE) for that long would otherwise make every later
 * reader fail with the commit log's 58P01 (and every PREPARE drop its
 * transitions as a collection failure).  XactTruncationLock, shared, keeps
 * the log from being truncated between the check and the read, as core's
 * pg_xact_status does; the full xid keeps the comparison right however old
 * the slot is.
 */
static bool
prepared_outcome(FullTransactionId fxid, bool *known)
{
	bool		committed = false;

	LWLockAcquire(XactTruncationLock, LW_SHARED);
	*known = commit_log_covers(fxid);
	if (*known)
		committed = TransactionIdDidCommit(XidFromFullTransactionId(fxid));
	LWLockRelease(XactTruncationLock);
	return committed;
}

/*
 * Does the commit log still cover fxid?  The caller holds
 * XactTruncationLock (shared).  oldestClogXid is at most 2^31 behind the
 * next xid: in its epoch or the one before; in epoch 0, "before"
 * (pg_resetwal -x sets it so) means the log covers every xid.
 */
static bool
commit_log_covers(FullTransactionId fxid)
{
	FullTransactionId next = ReadNextFullTransactionId();
	TransactionId oldest = ShmemVariableCache->oldestClogXid;
	uint32		epoch = EpochFromFullTransactionId(next);

	if (oldest <= XidFromFullTransactionId(next))
		return !FullTransactionIdPrecedes(fxid, FullTransactionIdFromEpochAndXid(epoch, oldest));
	return epoch == 0 ||
		!FullTransactionIdPrecedes(fxid, FullTransactionIdFromEpochAndXid(epoch - 1, oldest));
}

/*
 * Is prepared transaction fxid still running?  Only asked of one the
 * commit log still covers: a prepared transaction holds back the oldest
 * datfrozenxid, so one the log no longer covers has ended, and
 * TransactionIdIsInProgress, given an xid that old (its 32-bit
 * comparisons wrap after 2^31), could read the truncated log or
 * pg_subtrans and fail with 58P01 (codereview5 #5).
 */
static bool
prepared_running(FullTransactionId fxid)
{
	bool		covered;

	LWLockAcquire(XactTruncationLock, LW_SHARED);
	covered = commit_log_covers(fxid);
	LWLockRelease(XactTruncationLock);
	return covered && TransactionIdIsInProgress(XidFromFullTransactionId(fxid));
}

/*
 * Count the transitions of prepared transactions that have ended since:
 * committed ones are added, rolled-back ones forgotten, those whose
 * outcome the commit log no longer holds counted as dropped
 * (prepared_outcome).  The outcomes are looked up outside the counters'
 * lock (TransactionIdIsInProgress takes ProcArrayLock); a slot is freed by
 * whoever finds it still holding the xid it looked up.
 */
static void
resolve_prepared(void)
{
	int			n = counter_shared->nprepared;
	FullTransactionId *xids;

	if (n == 0)
		return;
	xids = palloc(n * sizeof(FullTransactionId));
	LWLockAcquire(counter_shared->lock, LW_SHARED);
	for (int i = 0; i < n; i++)
		xids[i] = counter_shared->prepared[i].xid;
	LWLockRelease(counter_shared->lock);
	for (int i = 0; i < n; i++)
	{
		PreparedTransition done;
		bool		committed;
		bool		known;
		bool		mine;

		if (!FullTransactionIdIsValid(xids[i]) || prepared_running(xids[i]))
			continue;
		committed = prepared_outcome(xids[i], &known);
		LWLockAcquire(counter_shared->lock, LW_EXCLUSIVE);
		done = counter_shared->prepared[i];
		mine = FullTransactionIdEquals(done.xid, xids[i]);
		if (mine)
			counter_shared->prepared[i].xid = InvalidFullTransactionId;
		LWLockRelease(counter_shared->lock);
		if (!mine)
			continue;
		if (!known)
		{
			pg_atomic_fetch_add_u64(&counter_shared->dropped_events, done.count);
			steward_struct_dropped(STEWARD_STRUCT_TRANSITIONS, done.count);
		}
		else if (committed)
			add_transitions(&done.key, done.count);
	}
	pfree(xids);
}

/*
 * May the current user see table relid's transition counts and counters?
 * They are business events (orders paid, refunded; illegal transitions,
 * stale versions tried): shown to roles that may read the table (SELECT,
 * no row security applying to them: a tenant must not count another
 * tenant's refunds), and to pg_read_all_stats, the monitoring role, as
 * core shows it every table's activity counts.  steward.table_stats
 * applies the same rule in SQL to its counter columns.
 */
static bool
may_see_counts(Oid relid, Oid userid, bool see_all)
{
	bool		missing = false;

	if (see_all)
		return true;
	if (pg_class_aclcheck_ext(relid, userid, ACL_SELECT, &missing) != ACLCHECK_OK || missing)
		return false;
	return check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED;
}

/*
 * steward.transition_counters(): (relid, from_state, to_state, transitions)
 * for this database's tables the caller may see (may_see_counts).
 * The entries are copied under the counters' lock, checked after it.
 * First the parked transitions of ended prepared transactions are counted
 * (resolve_prepared: the counters' LWLock, ProcArrayLock and the commit
 * log's, and XactTruncationLock shared).  No heavyweight lock.  A
 * parked transaction whose status the commit log no longer holds (it
 * ended, and nothing resolved its slot, for longer than the freeze
 * horizon) is counted as dropped; before, the commit log's 58P01 failed
 * every call.  Raises nothing of its own: the tuplestore's errors (53200,
 * or a file error past work_mem).
 */
Datum
steward_transition_counters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			userid = GetUserId();
	bool		see_all = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS);
	HASH_SEQ_STATUS status;
	TransitionEntry *entry;
	List	   *copies = NIL;
	ListCell   *lc;

	/* Without shared_preload_libraries: no rows (steward.collector says why). */
	InitMaterializedSRF(fcinfo, 0);
	if (counter_hash == NULL)
		return (Datum) 0;
	resolve_prepared();
	LWLockAcquire(counter_shared->lock, LW_SHARED);
	hash_seq_init(&status, transition_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		TransitionEntry *copy;

		if (entry->key.dbid != MyDatabaseId)
			continue;
		copy = palloc(sizeof(TransitionEntry));
		copy->key = entry->key;
		pg_atomic_init_u64(&copy->count, pg_atomic_read_u64(&entry->count));
		copies = lappend(copies, copy);
	}
	LWLockRelease(counter_shared->lock);

	foreach(lc, copies)
	{
		TransitionEntry *copy = lfirst(lc);
		Datum		values[4];
		bool		nulls[4] = {0};

		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(copy->key.relid)) ||
			!may_see_counts(copy->key.relid, userid, see_all))
			continue;
		values[0] = ObjectIdGetDatum(copy->key.relid);
		values[1] = CStringGetTextDatum(copy->key.from);
		nulls[1] = copy->key.from[0] == '\0';
		values[2] = CStringGetTextDatum(copy->key.to);
		values[3] = Int64GetDatum((int64) pg_atomic_read_u64(&copy->count));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * Add each database's version conflicts to its record (history.c): the
 * tables' counters, the retired sums of dropped tables and the other
 * tables' row.  Takes the counters' LWLock shared; no allocation, raises
 * nothing.  Nothing without shared memory.
 */
void
steward_counters_add_totals(StewardDbTotals *totals, int n)
{
	HASH_SEQ_STATUS status;
	CounterEntry *entry;

	if (counter_hash == NULL)
		return;
	LWLockAcquire(counter_shared->lock, LW_SHARED);
	hash_seq_init(&status, counter_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		for (int i = 0; i < n; i++)
			if (totals[i].dbid == entry->key.dbid)
				totals[i].version_conflicts +=
					pg_atomic_read_u64(&entry->counts[STEWARD_COUNTER_VERSION_CONFLICTS]);
	}
	for (int i = 0; i < n; i++)
	{
		const OtherTables *o = other_tables_of(totals[i].dbid);

		totals[i].version_conflicts += steward_retired_of(counter_shared->retired, totals[i].dbid);
		if (o != NULL)
			totals[i].version_conflicts += o->counts[STEWARD_COUNTER_VERSION_CONFLICTS];
	}
	LWLockRelease(counter_shared->lock);
}

/*
 * Forget every table and transition counter (steward.reset()), the dropped
 * count and the parked transitions of prepared transactions.  Takes the
 * counters' LWLock exclusively; no allocation, raises nothing.  Nothing
 * without shared memory.
 */
void
steward_counters_reset(void)
{
	if (counter_hash == NULL)
		return;
	LWLockAcquire(counter_shared->lock, LW_EXCLUSIVE);
	forget_counters();
	/* Transitions of still-prepared transactions happened before, too. */
	for (int i = 0; i < counter_shared->nprepared; i++)
		counter_shared->prepared[i].xid = InvalidFullTransactionId;
	LWLockRelease(counter_shared->lock);
}

/*
 * steward.table_counters(): one row per table of the current database that
 * has counted an event and that the caller may see (may_see_counts: the
 * rows of other tables are left out, as transition_counters leaves them),
 * and, for pg_read_all_stats, a row of relid NULL with the events of the
 * tables that found no entry (steward.max_tables full), if any.  The
 * entries are copied under the counters' lock (LWLock, shared), checked
 * after it; no heavyweight lock.  Raises nothing of its own (the
 * tuplestore's errors: 53200, or a file error past work_mem).
 */
Datum
steward_table_counters(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			userid = GetUserId();
	bool		see_all = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS);
	HASH_SEQ_STATUS status;
	CounterEntry *entry;
	List	   *relids = NIL;
	List	   *counts = NIL;
	ListCell   *lr;
	ListCell   *lc;
	OtherTables other = {0};
	bool		have_other = false;

	/* Without shared_preload_libraries: no rows (steward.collector says why). */
	InitMaterializedSRF(fcinfo, 0);
	if (counter_hash == NULL)
		return (Datum) 0;

	LWLockAcquire(counter_shared->lock, LW_SHARED);
	if (see_all && other_tables_of(MyDatabaseId) != NULL)
	{
		other = *other_tables_of(MyDatabaseId);
		have_other = true;
	}
	hash_seq_init(&status, counter_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		int64	   *copy;

		if (entry->key.dbid != MyDatabaseId)
			continue;
		copy = palloc(sizeof(int64) * STEWARD_NUM_COUNTERS);
		for (int i = 0; i < STEWARD_NUM_COUNTERS; i++)
			copy[i] = (int64) pg_atomic_read_u64(&entry->counts[i]);
		relids = lappend_oid(relids, entry->key.relid);
		counts = lappend(counts, copy);
	}
	LWLockRelease(counter_shared->lock);

	forboth(lr, relids, lc, counts)
	{
		Oid			relid = lfirst_oid(lr);
		int64	   *copy = lfirst(lc);
		Datum		values[1 + STEWARD_NUM_COUNTERS];
		bool		nulls[1 + STEWARD_NUM_COUNTERS] = {0};

		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)) ||
			!may_see_counts(relid, userid, see_all))
			continue;
		values[0] = ObjectIdGetDatum(relid);
		for (int i = 0; i < STEWARD_NUM_COUNTERS; i++)
			values[1 + i] = Int64GetDatum(copy[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (have_other)
	{
		Datum		values[1 + STEWARD_NUM_COUNTERS];
		bool		nulls[1 + STEWARD_NUM_COUNTERS] = {0};

		values[0] = (Datum) 0;
		nulls[0] = true;
		for (int i = 0; i < STEWARD_NUM_COUNTERS; i++)
			values[1 + i] = Int64GetDatum((int64) other.counts[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
