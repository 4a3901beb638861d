/*-------------------------------------------------------------------------
 *
 * state_counts.c
 *	  Rows per state, maintained: steward.state_counts answers from
 *	  counters instead of scanning every attached table on every read.
 *
 * A scraper polling steward.state_counts every 15 s used to run
 * count(*) ... GROUP BY over every attached table each time.  Now the
 * counts of each (table, state column) live in shared memory, exact for
 * committed rows:
 *
 * - The steward AM's write paths (insert, COPY, the insert of an
 *   INSERT ... ON CONFLICT that went through, update, delete, both halves of
 *   a cross-partition update) add the row's state (+1 / -1) to a delta of
 *   this backend, per subtransaction level: a rolled-back subtransaction
 *   drops its deltas, a committed one hands them to its parent.
 * - At pre-commit (before the commit record is flushed and the transaction
 *   becomes visible) the deltas are added to the shared counts of the
 *   tables that have them; the entry is marked "committing" until the
 *   commit callback (after it became visible).  A commit that fails after
 *   pre-commit takes its deltas back.
 * - A table's counts start with one count, the first time they are read
 *   (or after they were invalidated): the "seed".  The seeder waits until
 *   no transaction is between pre-commit and commit for that table, zeroes
 *   the counts and takes a snapshot while holding the lock that pre-commit
 *   needs, then counts the rows visible to that snapshot and adds them.
 *   Every transaction that committed before the snapshot is in the scan
 *   and not in the counts (its delta came before the zeroing); every later
 *   one is in the counts and not in the scan (its pre-commit came after the
 *   snapshot was taken, so it became visible after it).
 * - A transaction that wrote the table (it holds RowExclusiveLock or a
 *   stronger lock on it: an INSERT, UPDATE, DELETE, COPY, TRUNCATE or DDL)
 *   never seeds it: its snapshot sees its own uncommitted rows, which the
 *   seed would put in the shared counts before its commit added them again
 *   as deltas -- or after its rollback, for good (review29 R1).  It counts
 *   directly instead, which shows it its own changes.
 * - Counts are for the table as pg_class describes it: the entry remembers
 *   the xmin of the table's pg_class row, so TRUNCATE, a rewrite or any
 *   other DDL (and a table that reuses a dropped table's OID) seeds again;
 *   and the machine's states (a hash of their names), so attaching another
 *   machine does too.
 * - What cannot be counted makes the counts unknown, to be seeded at the
 *   next read: rows written under session_replication_role = replica
 *   (the rules are not applied, a value may be no state at all), a
 *   prepared transaction (PREPARE TRANSACTION: its deltas cannot wait for
 *   COMMIT PREPARED, which may run in another backend or after a restart),
 *   a state value the machine does not declare.  While a prepared
 *   transaction that wrote a table is pending (it holds its write lock
 *   until COMMIT / ROLLBACK PREPARED), reads of that table count directly
 *   and cache nothing: a cached seed would lack its changes for good.
 *
 * Not maintained, always counted: temporary tables (ON COMMIT DELETE ROWS
 * empties them after pre-commit), hot standbys (replay runs no AM code),
 * servers without pg_steward in shared_preload_libraries, and tables whose
 * entry does not fit (steward.max_tables entries).  The reader sees
 * committed rows as of now, plus the uncommitted changes of its own
 * transaction, like count(*) under READ COMMITTED.
 *
 * Locking: one LWLock for the hash.  Pre-commit shares it (entries are
 * found, never created, there); the seeder takes it exclusively to zero
 * an entry and take its snapshot (GetLatestSnapshot takes ProcArrayLock
 * inside: nothing takes them in the other order), and to create entries.
 * Counts are changed under the entry's spinlock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/twophase.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "plumbing/preload.h"
#include "lifecycle/lifecycle.h"
#include "stats/collect.h"

#define SC_AREA "pg_steward state counts"	/* and its LWLock tranche */

typedef struct SCKey
{
	Oid			dbid;
	Oid			relid;
	int32		attnum;
} SCKey;

typedef struct SCEntry
{
	SCKey		key;
	slock_t		mutex;
	bool		valid;			/* counts are exact */
	bool		dirty;			/* a commit that could not be counted came */
	bool		seeding;		/* a reader is counting it */
	int			committing;		/* transactions between pre-commit and commit */
	int			preparing;		/* transactions between pre-prepare and prepared */
	uint32		sig;			/* the machine's states */
	TransactionId relxmin;		/* of the table's pg_class row */
	int64		counts[STEWARD_MAX_STATES];
} SCEntry;

typedef struct SCShared
{
	LWLock	   *lock;
} SCShared;

/* This backend's changes of one (table, column) at one subtransaction level. */
typedef struct SCDelta
{
	Oid			relid;
	AttrNumber	attnum;
	int			nest;
	uint32		sig;
	bool		unknown;		/* something was written that cannot be counted */
	bool		applied;		/* added to entry at pre-commit */
	bool		preparing;		/* counted in entry->preparing */
	SCEntry    *entry;
	int64		d[STEWARD_MAX_STATES];
} SCDelta;

extern int	steward_max_tables;

static SCShared *sc_shared = NULL;
static HTAB *sc_hash = NULL;

static SCDelta *deltas = NULL;
static int	ndeltas = 0;
static int	maxdeltas = 0;

/*
 * shmem_request_hook: reserve the counts' area, a hash table of
 * steward.max_tables (table, state column) entries, and its LWLock.
 * Only while preloading.  Takes no lock; raises nothing (core's FATAL is
 * for a request outside that hook).
 */
void
steward_state_counts_request_shmem(void)
{
	steward_shmem_request(SC_AREA,
						  add_size(MAXALIGN(sizeof(SCShared)),
								   hash_estimate_size(steward_max_tables, sizeof(SCEntry))),
						  true);
}

static void
state_counts_init_area(void *area, bool found, LWLock *lock)
{
	sc_shared = (SCShared *) area;
	if (!found)
		sc_shared->lock = lock;
	sc_hash = steward_shmem_hash("pg_steward state counts hash", steward_max_tables,
								 sizeof(SCKey), sizeof(SCEntry));
}

/*
 * shmem_startup_hook: create or attach to the counts' area and hash table,
 * and register the LWLock with stats/collect.c so that a failed
 * collection never leaves it held.  Errors are ShmemInitStruct's.
 */
void
steward_state_counts_init_shmem(void)
{
	(void) steward_shmem_init(SC_AREA, sizeof(SCShared), true, state_counts_init_area);
	steward_collect_register_lock(sc_shared->lock);
}

/* The machine's states, as a number: attaching another machine changes it. */
static uint32
rule_sig(const StateRule *rule)
{
	uint32		h = hash_uint32((uint32) rule->nstates);

	for (int i = 0; i < rule->nstates; i++)
		h = hash_combine(h, hash_bytes((const unsigned char *) rule->names[i],
									   strlen(rule->names[i])));
	return h;
}

/* Counted at all?  Not without shared memory, for temporary tables, on a standby. */
static bool
maintained(Relation rel)
{
	return sc_hash != NULL && rel->rd_rel->relpersistence != RELPERSISTENCE_TEMP &&
		!RecoveryInProgress();
}

/* This backend's delta of (rel, rule) at the current level, made if needed. */
static SCDelta *
delta_for(Relation rel, const StateRule *rule)
{
	Oid			relid = RelationGetRelid(rel);
	int			nest = GetCurrentTransactionNestLevel();
	SCDelta    *d;

	for (int i = ndeltas - 1; i >= 0; i--)
		if (deltas[i].relid == relid && deltas[i].attnum == rule->attnum &&
			deltas[i].nest == nest)
			return &deltas[i];
	if (ndeltas == maxdeltas)
	{
		int			newmax = Max(16, maxdeltas * 2);

		if (deltas == NULL)
			deltas = MemoryContextAlloc(TopMemoryContext, newmax * sizeof(SCDelta));
		else
			deltas = repalloc(deltas, newmax * sizeof(SCDelta));
		maxdeltas = newmax;
	}
	d = &deltas[ndeltas++];
	memset(d, 0, sizeof(SCDelta));
	d->relid = relid;
	d->attnum = rule->attnum;
	d->nest = nest;
	d->sig = rule_sig(rule);
	return d;
}

static void
add_state(Relation rel, const StateRule *rule, Datum value, bool isnull, int sign)
{
	SCDelta    *d = delta_for(rel, rule);
	int			s = -1;

	if (!isnull)
	{
		text	   *t = DatumGetTextPP(value);

		s = steward_state_index(rule, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
	}
	if (s < 0)
		d->unknown = true;
	else
		d->d[s] += sign;
}

/*
 * A row of rel enters (sign +1) or leaves (-1) the table: from the slot or,
 * if slot is NULL, from tuple (in rel's format).  Called by the steward AM
 * once the heap write went through.  Takes no lock: the change goes to this
 * backend's deltas, added to the shared counts at commit under the counts'
 * LWLock.  Raises only 53200 (the deltas grow in TopMemoryContext) and
 * what detoasting a state value raises.
 */
void
steward_state_counts_row(Relation rel, const StewardRules *rules, TupleTableSlot *slot,
						 HeapTuple tuple, int sign)
{
	if (rules->nstates == 0 || !maintained(rel))
		return;
	for (int i = 0; i < rules->nstates; i++)
	{
		const StateRule *rule = &rules->states[i];
		bool		isnull;
		Datum		value = slot ? slot_getattr(slot, rule->attnum, &isnull)
			: heap_getattr(tuple, rule->attnum, RelationGetDescr(rel), &isnull);

		add_state(rel, rule, value, isnull, sign);
	}
}

/*
 * An update moved rows between states (the update went through).  Locks
 * and errors as steward_state_counts_row (no value is detoasted here).
 */
void
steward_state_counts_changes(Relation rel, const StateChange *changes, int n)
{
	if (n == 0 || !maintained(rel))
		return;
	for (int i = 0; i < n; i++)
	{
		SCDelta    *d = delta_for(rel, changes[i].rule);

		if (changes[i].from < 0)
			d->unknown = true;
		else
			d->d[changes[i].from]--;
		d->d[changes[i].to]++;
	}
}

/*
 * Something was written to rel that cannot be counted: seed again.  Locks
 * and errors as steward_state_counts_changes.
 */
void
steward_state_counts_unknown(Relation rel, const StewardRules *rules)
{
	if (rules->nstates == 0 || !maintained(rel))
		return;
	for (int i = 0; i < rules->nstates; i++)
		delta_for(rel, &rules->states[i])->unknown = true;
}

/* ------------------------------------------------------------------------
 * Transaction ends
 * ------------------------------------------------------------------------
 */

static SCEntry *
find_entry(Oid relid, AttrNumber attnum)
{
	SCKey		key;

	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.relid = relid;
	key.attnum = attnum;
	return hash_search(sc_hash, &key, HASH_FIND, NULL);
}

/*
 * Pre-commit: add the deltas to the entries that exist (a table nobody
 * read yet has none: its first read seeds it).  Cannot fail: only shared
 * memory, under our lock.
 */
static void
apply_deltas(void)
{
	LWLockAcquire(sc_shared->lock, LW_SHARED);
	for (int i = 0; i < ndeltas; i++)
	{
		SCDelta    *d = &deltas[i];
		SCEntry    *e = find_entry(d->relid, d->attnum);

		if (e == NULL)
			continue;
		SpinLockAcquire(&e->mutex);
		if (d->unknown || e->sig != d->sig)
		{
			e->valid = false;
			e->dirty = true;
		}
		for (int s = 0; s < STEWARD_MAX_STATES; s++)
			e->counts[s] += d->d[s];
		e->committing++;
		SpinLockRelease(&e->mutex);
		d->entry = e;
		d->applied = true;
	}
	LWLockRelease(sc_shared->lock);
}

/* After the commit (or its failure: undo = true), release the entries. */
static void
release_deltas(bool undo)
{
	for (int i = 0; i < ndeltas; i++)
	{
		SCDelta    *d = &deltas[i];
		SCEntry    *e = d->entry;

		if (d->preparing)
		{
			/* PREPARE TRANSACTION failed after pre-prepare. */
			SpinLockAcquire(&e->mutex);
			e->preparing--;
			SpinLockRelease(&e->mutex);
			continue;
		}
		if (!d->applied)
			continue;
		/* Entries are never removed while a transaction is committing into them. */
		SpinLockAcquire(&e->mutex);
		if (undo)
			for (int s = 0; s < STEWARD_MAX_STATES; s++)
				e->counts[s] -= d->d[s];
		e->committing--;
		SpinLockRelease(&e->mutex);
	}
	ndeltas = 0;
}

/*
 * Pre-prepare: a prepared transaction's deltas cannot wait for COMMIT
 * PREPARED, which may come from another backend or after a restart, and no
 * extension code runs there.  So its tables' counts become invalid, and
 * stay uncached for as long as it is prepared: a seed while it is pending
 * would count the rows without its changes and be cached as exact, and its
 * commit would never be added (seed() counts directly instead while a
 * prepared transaction holds a write lock on the table).  Until the
 * transaction is prepared (its locks moved to the prepared transaction's
 * entry in the lock table, XACT_EVENT_PREPARE) the entry counts it in
 * "preparing", which seeders wait for like "committing".  The entry is made
 * here when missing, so that the count covers tables nobody read yet.
 */
static void
deltas_preparing(void)
{
	LWLockAcquire(sc_shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < ndeltas; i++)
	{
		SCKey		key;
		bool		found;
		SCEntry    *e;

		memset(&key, 0, sizeof(key));
		key.dbid = MyDatabaseId;
		key.relid = deltas[i].relid;
		key.attnum = deltas[i].attnum;
		e = steward_hash_enter_bounded(sc_hash, &key, steward_max_tables, &found);
		if (e == NULL)
			continue;			/* not maintained: every read counts */
		if (!found)
		{
			SpinLockInit(&e->mutex);
			e->seeding = false;
			e->committing = 0;
			e->preparing = 0;
		}
		SpinLockAcquire(&e->mutex);
		e->valid = false;
		e->dirty = true;
		e->preparing++;
		SpinLockRelease(&e->mutex);
		deltas[i].entry = e;
		deltas[i].preparing = true;
	}
	LWLockRelease(sc_shared->lock);
}

/* Prepared: its locks now keep seeders from caching (seed()). */
static void
deltas_prepared(void)
{
	for (int i = 0; i < ndeltas; i++)
	{
		SCEntry    *e = deltas[i].entry;

		if (!deltas[i].preparing)
			continue;
		SpinLockAcquire(&e->mutex);
		e->preparing--;
		e->valid = false;
		e->dirty = true;
		SpinLockRelease(&e->mutex);
	}
	ndeltas = 0;
}

static void
sc_xact_callback(XactEvent event, void *arg)
{
	if (sc_hash == NULL || ndeltas == 0)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			apply_deltas();
			break;
		case XACT_EVENT_COMMIT:
			release_deltas(false);
			break;
		case XACT_EVENT_ABORT:
			release_deltas(true);
			break;
		case XACT_EVENT_PRE_PREPARE:
			deltas_preparing();
			break;
		case XACT_EVENT_PREPARE:
			deltas_prepared();
			break;
		default:
			break;
	}
}

static void
sc_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					SubTransactionId parentSubid, void *arg)
{
	int			nest = GetCurrentTransactionNestLevel();

	if (sc_hash == NULL || ndeltas == 0)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		int			kept = 0;

		/* Keep the deltas of the outer levels, in order. */
		for (int i = 0; i < ndeltas; i++)
			if (deltas[i].nest < nest)
				deltas[kept++] = deltas[i];
		ndeltas = kept;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		/* The parent owns them now (pre-commit adds duplicates one by one). */
		for (int i = 0; i < ndeltas; i++)
			if (deltas[i].nest >= nest)
				deltas[i].nest = nest - 1;
	}
}

/*
 * _PG_init, while preloading: every backend inherits the callbacks.  Takes
 * no lock; raises only core's 53200 (out of memory) of registering them.
 */
void
steward_state_counts_install_hooks(void)
{
	RegisterXactCallback(sc_xact_callback, NULL);
	RegisterSubXactCallback(sc_subxact_callback, NULL);
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------
 */

/* xmin of rel's pg_class row: changes with TRUNCATE, rewrites, any DDL. */
static TransactionId
class_xmin(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	TransactionId xmin;

	if (!HeapTupleIsValid(tup))
		return InvalidTransactionId;
	xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
	ReleaseSysCache(tup);
	return xmin;
}

/* This transaction's own uncommitted changes of (relid, attnum). */
static void
add_own(Oid relid, AttrNumber attnum, int64 *counts)
{
	for (int i = 0; i < ndeltas; i++)
		if (deltas[i].relid == relid && deltas[i].attnum == attnum && !deltas[i].applied)
			for (int s = 0; s < STEWARD_MAX_STATES; s++)
				counts[s] += deltas[i].d[s];
}

static bool
own_unknown(Oid relid, AttrNumber attnum)
{
	for (int i = 0; i < ndeltas; i++)
		if (deltas[i].relid == relid && deltas[i].attnum == attnum && deltas[i].unknown)
			return true;
	return false;
}

/*
 * Make room: remove the entries of this database's dropped tables that
 * nobody is committing into, preparing or seeding.  Lock held exclusively.  Returns
 * whether any went.
 */
static bool
evict_dropped(void)
{
	HASH_SEQ_STATUS status;
	SCEntry    *e;
	bool		any = false;

	hash_seq_init(&status, sc_hash);
	while ((e = hash_seq_search(&status)) != NULL)
	{
		bool		idle;

		if (e->key.dbid != MyDatabaseId ||
			SearchSysCacheExists1(RELOID, ObjectIdGetDatum(e->key.relid)))
			continue;
		/*
		 * A transaction between pre-prepare and prepared holds a pointer to
		 * the entry (deltas_preparing) and decrements "preparing" in it
		 * once prepared; the table it made is visible to nobody else yet,
		 * so it looks dropped from here.  Before, such an entry was freed
		 * under it (codereview F10).
		 */
		SpinLockAcquire(&e->mutex);
		idle = e->committing == 0 && e->preparing == 0 && !e->seeding;
		SpinLockRelease(&e->mutex);
		if (idle)
		{
			hash_search(sc_hash, &e->key, HASH_REMOVE, NULL);
			any = true;
		}
	}
	return any;
}

/* Does a prepared transaction hold a write lock on relid? */
static bool
prepared_writer(Oid relid)
{
	LOCKTAG		tag;
	VirtualTransactionId *vxids;
	int			n;
	bool		any = false;

	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	/* ShareLock conflicts with every lock a write takes. */
	vxids = GetLockConflicts(&tag, ShareLock, &n);
	for (int i = 0; i < n && !any; i++)
	{
		bool		more = false;

		if (TransactionIdIsValid(TwoPhaseGetXidByVirtualXID(vxids[i], &more)) || more)
			any = true;
	}
	pfree(vxids);
	return any;
}

/*
 * Seed the entry of (rel, rule): wait until nobody is committing into it,
 * zero it and take a snapshot under the exclusive lock, count the rows
 * that snapshot sees with count_fn (as the table's owner, by the caller's
 * code), and add them.  Returns false if it could not (another seeder, no
 * room, commits that would not stop, a value that is no state): then the
 * caller counts directly.
 */
static bool
seed(Relation rel, const StateRule *rule, uint32 sig, TransactionId xmin,
	 steward_state_count_fn count_fn, void *arg)
{
	SCKey		key;
	SCEntry    *e = NULL;
	bool		found;
	Snapshot	snap = NULL;
	int64		scanned[STEWARD_MAX_STATES];
	bool		ok = false;

	memset(&key, 0, sizeof(key));
	key.dbid = MyDatabaseId;
	key.relid = RelationGetRelid(rel);
	key.attnum = rule->attnum;
	for (int tries = 0; tries < 1000; tries++)
	{
		bool		busy;

		LWLockAcquire(sc_shared->lock, LW_EXCLUSIVE);
		e = steward_hash_enter_bounded(sc_hash, &key, steward_max_tables, &found);
		if (e == NULL && evict_dropped())
			e = steward_hash_enter_bounded(sc_hash, &key, steward_max_tables, &found);
		if (e == NULL)
		{
			LWLockRelease(sc_shared->lock);
			return false;
		}
		if (!found)
		{
			SpinLockInit(&e->mutex);
			e->valid = false;
			e->seeding = false;
			e->committing = 0;
			e->preparing = 0;
		}
		SpinLockAcquire(&e->mutex);
		busy = e->seeding || e->committing > 0 || e->preparing > 0;
		SpinLockRelease(&e->mutex);
		/*
		 * A prepared transaction that wrote the table: its changes are not
		 * in the snapshot and will never be added to the counts, so the
		 * counts may not be cached until it is gone.  It holds its write
		 * lock until COMMIT / ROLLBACK PREPARED, also across a restart.
		 * Checked under the exclusive lock, before the snapshot: one that
		 * prepares later passed pre-prepare after this (dirty, below).
		 */
		if (!busy && prepared_writer(RelationGetRelid(rel)))
		{
			LWLockRelease(sc_shared->lock);
			return false;
		}
		SpinLockAcquire(&e->mutex);
		busy = e->seeding || e->committing > 0 || e->preparing > 0;
		if (!busy)
		{
			e->seeding = true;
			e->valid = false;
			e->dirty = false;
			e->sig = sig;
			e->relxmin = xmin;
			memset(e->counts, 0, sizeof(e->counts));
		}
		SpinLockRelease(&e->mutex);
		if (!busy)
		{
			/* Under the lock: every later pre-commit is after this snapshot. */
			snap = RegisterSnapshot(GetLatestSnapshot());
			LWLockRelease(sc_shared->lock);
			break;
		}
		LWLockRelease(sc_shared->lock);
		if (e->seeding)
			return false;		/* another reader counts it; count directly */
		pg_usleep(1000L);
		CHECK_FOR_INTERRUPTS();
	}
	if (snap == NULL)
		return false;

	memset(scanned, 0, sizeof(scanned));
	PG_TRY();
	{
		ok = count_fn(rel, rule, snap, scanned, arg);
	}
	PG_FINALLY();
	{
		UnregisterSnapshot(snap);
		SpinLockAcquire(&e->mutex);
		if (ok)
		{
			for (int s = 0; s < STEWARD_MAX_STATES; s++)
				e->counts[s] += scanned[s];
			/* A commit that could not be counted may have come meanwhile. */
			e->valid = !e->dirty;
		}
		e->seeding = false;
		SpinLockRelease(&e->mutex);
	}
	PG_END_TRY();
	return ok;
}

/*
 * Has this transaction written rel?  Every write takes RowExclusiveLock or
 * a stronger lock (TRUNCATE, a rewrite, any DDL: AccessExclusiveLock) and
 * keeps it to the transaction's end; a rolled-back subtransaction's lock
 * goes with its rows.  A seed must not be taken then: the seed's snapshot
 * would see the transaction's own uncommitted rows (review29 R1).
 */
static bool
wrote_table(Relation rel)
{
	return CheckRelationLockedByMe(rel, RowExclusiveLock, true);
}

/*
 * Rows per state of (rel, rule) into counts[STEWARD_MAX_STATES]: from the
 * maintained counts, seeding them first if needed (count_fn counts the
 * rows a snapshot sees).  Returns false when the caller must count
 * directly (see the file header).  The caller holds a lock on rel.
 */
static bool
read_counts(Relation rel, const StateRule *rule, int64 *counts,
			steward_state_count_fn count_fn, void *arg, bool may_seed)
{
	Oid			relid = RelationGetRelid(rel);
	uint32		sig = rule_sig(rule);
	TransactionId xmin = class_xmin(relid);
	SCEntry    *e;
	bool		have = false;

	if (!maintained(rel) || own_unknown(relid, rule->attnum))
		return false;
	LWLockAcquire(sc_shared->lock, LW_SHARED);
	e = find_entry(relid, rule->attnum);
	if (e != NULL)
	{
		SpinLockAcquire(&e->mutex);
		if (e->valid && !e->seeding && e->sig == sig && e->relxmin == xmin)
		{
			memcpy(counts, e->counts, sizeof(int64) * STEWARD_MAX_STATES);
			have = true;
		}
		SpinLockRelease(&e->mutex);
	}
	LWLockRelease(sc_shared->lock);
	if (!have)
	{
		if (!may_seed || wrote_table(rel) ||
			!seed(rel, rule, sig, xmin, count_fn, arg))
			return false;
		return read_counts(rel, rule, counts, count_fn, arg, false);
	}
	add_own(relid, rule->attnum, counts);
	return true;
}

/*
 * Rows of rel per state of rule into counts[STEWARD_MAX_STATES], as this
 * transaction sees them: the maintained counts plus this backend's own
 * uncommitted changes, after seeding the counts once with count_fn (a scan
 * under a registered snapshot) when they are missing, stale (the table
 * was rewritten, another machine attached) or were invalidated.  Returns
 * false when the caller must count directly: no shared memory, a
 * temporary table, a standby, this transaction wrote rows it could not
 * count, or the counts need a seed and this transaction wrote the table.  The caller holds a lock on rel; takes the counts' LWLock shared
 * and an entry's spinlock.  Errors are count_fn's.
 */
bool
steward_state_counts_read(Relation rel, const StateRule *rule, int64 *counts,
						  steward_state_count_fn count_fn, void *arg)
{
	return read_counts(rel, rule, counts, count_fn, arg, true);
}
