/*-------------------------------------------------------------------------
 *
 * hotrows.c
 *	  The most-updated rows of each steward table: a space-saving sketch.
 *
 * Each steward table gets k slots (steward.hot_rows_k) in shared memory.
 * An update of a row whose key is in a slot bumps its count; otherwise the
 * key takes a free slot, or replaces the slot with the smallest count c,
 * starting at c + 1 with error bound c (Metwally et al., "space-saving").
 * Any row updated more than N/k times of N is guaranteed to be in the
 * sketch, and each count overestimates by at most its error bound.
 *
 * A key is shown only while the index it was read from is still the
 * table's row key: after the primary key moved to other columns, the
 * values of the old key's columns would be shown to a role that may read
 * only the new key's (review29 R2).  The index is part of the key's hash,
 * so keys read from two indexes never share a slot.
 *
 * Keys are the primary key (or replica identity) values, hashed by their
 * images (datum_image_hash; pass-by-value ones inline, and a key of one
 * pass-by-value column read once and copied without key_images' loop).  A key entering
 * the sketch is stored as the images of its values (a few bytes copied,
 * no function called), and turned into text only when steward.hot_rows
 * is read: a bulk UPDATE, where almost every row is a new key, used to
 * run the types' output functions for every row.  Keys whose images do
 * not fit a slot (long or toasted values, more than HOT_KEY_COLS columns)
 * are formatted right away, as before, and cut to fit on a character
 * boundary.
 * steward.hot_rows_sample (default 1: every update) trades precision for
 * less work on update-heavy tables.
 *
 * Each backend counts into a partial sketch of its own (k slots per
 * table, for up to HOT_LOCAL_TABLES tables at once) and merges it into the
 * shared one at the end of every statement (ExecutorEnd), at transaction
 * end (updates that no executor ran: logical replication's apply), when it
 * needs room for another table, and before steward.hot_rows is read.  A
 * row update then touches no shared memory and takes no lock: a bulk
 * UPDATE merges k keys once instead of taking the table's spinlock two or
 * three times per row, and concurrent single-row updates of one table
 * take it twice per statement.  Merging is space-saving with weighted
 * updates: a partial key already tracked adds its count and error bound; a
 * new one takes a free slot or replaces the smallest count c, starting at
 * c + its count with error bound c + its error.  The error bounds stay
 * upper bounds of each count's overestimate (each partial sketch adds at
 * most its own N/k).
 *
 * Memory is fixed: steward.max_tables entries, preallocated (collect.c).
 * When full, a new table takes over the entry of a dropped table, else the
 * entry with the fewest updates (counted in steward.collector).  Entries
 * are never removed, only re-keyed in place (hash_update_hash_key), and
 * each carries its owner: a backend using a pointer cached in its
 * relcache entry checks the owner under the entry's spinlock, so an entry
 * handed to another table is never updated for the old one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/pg_index.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"
#include "catalog/pg_type.h"

#include "pg_steward.h"
#include "plumbing/preload.h"
#include "stats/collect.h"
#include "stats/history.h"
#include "stats/hotrows.h"

#define HOT_AREA		"pg_steward hot rows"	/* and its LWLock tranche */
#define HOT_KEY_TEXT	64		/* the text shown, with its terminating zero */
#define HOT_KEY_BYTES	64		/* room for the values' images */
#define HOT_KEY_COLS	4

/*
 * A tracked key.  ncols > 0: key[] holds ncols images, each a uint16
 * length and the value's bytes (a by-value Datum in full, else the
 * value's own bytes: a fixed-length value, a short or plain varlena with
 * its header, a cstring with its zero), of types[]; turned into text when
 * the view is read.  ncols = 0: key[] holds the text already.
 */
typedef struct HotSlot
{
	uint64		keyhash;
	int64		count;
	int64		error;
	Oid			keyindex;		/* the row key's index the values were read from */
	int			ncols;
	Oid			types[HOT_KEY_COLS];
	char		key[HOT_KEY_BYTES];
} HotSlot;

StaticAssertDecl(HOT_KEY_BYTES >= HOT_KEY_TEXT, "a slot holds a key text");

/* A table's slots, copied for steward._hot_rows(). */
typedef struct HotRow
{
	Oid			relid;
	int			used;
	struct HotSlot slots[FLEXIBLE_ARRAY_MEMBER];
} HotRow;

typedef struct HotKey
{
	Oid			dbid;
	Oid			relid;
} HotKey;

typedef struct HotEntry
{
	HotKey		key;
	slock_t		mutex;
	HotKey		owner;			/* = key; read under mutex by cached users */
	int64		total;			/* updates counted, for eviction */
	int			used;
	HotSlot		slots[FLEXIBLE_ARRAY_MEMBER];
} HotEntry;

typedef struct HotShared
{
	LWLock	   *lock;
	pg_atomic_uint32 generation;	/* bumped by reset: cached pointers die */
	/* updates of tables whose entry was taken over, per database */
	StewardRetired retired[STEWARD_RETIRED_DBS];
} HotShared;

int			steward_hot_rows_k = 10;
int			steward_hot_rows_sample = 1;
extern int	steward_max_tables;

static HotShared *hot_shared = NULL;
static HTAB *hot_hash = NULL;
static uint64 update_counter = 0;

/* This backend's partial sketches, merged into shared memory by flush_all. */
#define HOT_LOCAL_TABLES 4
/*
 * A partial sketch's filter: 256 buckets of key hashes, so that with k = 10
 * a new key finds its bucket empty 24 times in 25 (a count per bucket:
 * k <= 100 < 256).
 */
#define HOT_BUCKETS		256
#define HOT_BUCKET(h)	((int) ((h) >> 56))

typedef struct LocalSketch
{
	Oid			relid;			/* InvalidOid: free */
	HotEntry   *entry;			/* the table's shared entry (owner checked) */
	uint32		generation;		/* of hot_shared when entry was taken */
	int64		total;
	int			used;
	HotSlot    *slots;			/* steward_hot_rows_k of them */
	/* how many slots hold a key whose hash has these top bits */
	uint8		buckets[HOT_BUCKETS];
	/* first_min_slot's place: every count >= min_lo, > before min_from */
	bool		min_valid;
	int			min_from;
	int64		min_lo;
} LocalSketch;

static LocalSketch local_sketches[HOT_LOCAL_TABLES];
static bool local_pending = false;
static ExecutorEnd_hook_type prev_executor_end = NULL;

PG_FUNCTION_INFO_V1(steward_hot_rows);

static Size
entry_size(void)
{
	return offsetof(HotEntry, slots) + steward_hot_rows_k * sizeof(HotSlot);
}

/*
 * _PG_init: define the hot-rows settings.  steward.hot_rows_k sizes the
 * shared entries, so it is read at server start only; the sampling rate
 * is PGC_SUSET (it trades a superuser's view of contention for update
 * cost everywhere).  Takes no lock and raises nothing: a bad value set
 * before the library loaded is core's WARNING (define_custom_variable),
 * and the default stays.
 */
void
steward_hotrows_define_gucs(void)
{
	DefineCustomIntVariable("steward.hot_rows_k",
							"Number of most-updated rows tracked per steward table.",
							NULL, &steward_hot_rows_k, 10, 1, 100,
							STEWARD_SERVER_START_GUC, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.hot_rows_sample",
							"Track one of every N row updates in steward.hot_rows (1: all).",
							NULL, &steward_hot_rows_sample, 1, 1, 1000000,
							PGC_SUSET, 0, NULL, NULL, NULL);
}

/*
 * shmem_request_hook: reserve the hot-rows area, a hash table of
 * steward.max_tables entries of steward.hot_rows_k slots each, and its
 * LWLock.  Only while preloading.  Takes no lock; raises nothing (core's
 * FATAL is for a request outside that hook).
 */
void
steward_hotrows_request_shmem(void)
{
	steward_shmem_request(HOT_AREA,
						  add_size(MAXALIGN(sizeof(HotShared)),
								   hash_estimate_size(steward_max_tables, entry_size())),
						  true);
}

static void
hotrows_init_area(void *area, bool found, LWLock *lock)
{
	hot_shared = (HotShared *) area;
	if (!found)
	{
		hot_shared->lock = lock;
		pg_atomic_init_u32(&hot_shared->generation, 1);
		memset(hot_shared->retired, 0, sizeof(hot_shared->retired));
	}
	hot_hash = steward_shmem_hash("pg_steward hot rows hash", steward_max_tables,
								  sizeof(HotKey), entry_size());
}

/*
 * shmem_startup_hook: create or attach to the hot-rows area, register its
 * LWLock with stats/collect.c and its hash table with the structure
 * bounds steward.collector reports.  Errors are ShmemInitStruct's.
 */
void
steward_hotrows_init_shmem(void)
{
	(void) steward_shmem_init(HOT_AREA, sizeof(HotShared), true, hotrows_init_area);
	steward_collect_register_lock(hot_shared->lock);
	steward_struct_register(STEWARD_STRUCT_HOT_ROWS, hot_hash, steward_max_tables);
}

/*
 * The entry to hand to a new table when the hash is full: one of a dropped
 * table of this database, else the one with the fewest updates.  Caller
 * holds the lock exclusively.
 */
static HotEntry *
eviction_victim(void)
{
	HASH_SEQ_STATUS status;
	HotEntry   *entry;
	HotEntry   *victim = NULL;
	int64		victim_total = 0;

	hash_seq_init(&status, hot_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		int64		total;

		if (entry->key.dbid == MyDatabaseId &&
			!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->key.relid)))
		{
			hash_seq_term(&status);
			return entry;
		}
		SpinLockAcquire(&entry->mutex);
		total = entry->total;
		SpinLockRelease(&entry->mutex);
		if (victim == NULL || total < victim_total)
		{
			victim = entry;
			victim_total = total;
		}
	}
	return victim;
}

typedef struct EntryArgs
{
	Relation	rel;
	HotEntry   *entry;			/* out */
} EntryArgs;

/* Find, create or take over the table's entry (under the guard: reads the catalog). */
static void
find_entry(void *arg)
{
	EntryArgs  *a = (EntryArgs *) arg;
	HotKey		key;
	HotEntry   *entry;
	bool		found;

	key.dbid = MyDatabaseId;
	key.relid = RelationGetRelid(a->rel);
	LWLockAcquire(hot_shared->lock, LW_EXCLUSIVE);
	entry = steward_hash_enter_bounded(hot_hash, &key, steward_max_tables, &found);
	if (entry != NULL && !found)
	{
		SpinLockInit(&entry->mutex);
		entry->owner = key;
		entry->total = 0;
		entry->used = 0;
	}
	else if (entry == NULL)
	{
		entry = eviction_victim();
		if (entry != NULL && hash_update_hash_key(hot_hash, entry, &key))
		{
			HotKey		old_owner;
			int64		old_total;

			SpinLockAcquire(&entry->mutex);
			old_owner = entry->owner;
			old_total = entry->total;
			entry->owner = key;
			entry->total = 0;
			entry->used = 0;
			SpinLockRelease(&entry->mutex);
			/* Its database's sum of updates (history) keeps them. */
			steward_retired_add(hot_shared->retired, old_owner.dbid, old_total);
			steward_struct_evicted(STEWARD_STRUCT_HOT_ROWS, 1);
		}
		else
			entry = NULL;
	}
	LWLockRelease(hot_shared->lock);
	a->entry = entry;
}

/*
 * The table's entry, through the caller's per-relation cache in the key:
 * a pointer is reused as long as no reset happened since it was taken
 * (and the caller checks the entry's owner).
 */
static HotEntry *
table_entry(Relation rel, StewardHotKey *rk)
{
	uint32		gen = pg_atomic_read_u32(&hot_shared->generation);
	EntryArgs	args;

	if (rk->entry != NULL && rk->generation == gen)
		return (HotEntry *) rk->entry;

	args.rel = rel;
	args.entry = NULL;
	if (!steward_collect(find_entry, &args))
		args.entry = NULL;
	rk->entry = args.entry;
	rk->generation = gen;
	return args.entry;
}

/*
 * The hash of a pass-by-value key's image, inline: a bigint or integer key
 * is hashed for every row a bulk UPDATE changes, and datum_image_hash's
 * hash_bytes call showed in its profile.  The value is narrowed to its
 * length first, as datum_image_hash does, so equal images hash equally;
 * then SplitMix64's finalizer spreads it over 64 bits.
 */
static inline uint64
byval_image_hash(Datum value, int len)
{
	uint64		x;

	if (likely(len == sizeof(int64)))
		x = (uint64) value;		/* bigint, the common key: first */
	else if (len == sizeof(int32))
		x = (uint64) (uint32) DatumGetInt32(value);
	else if (len == sizeof(int16))
		x = (uint64) (uint16) DatumGetInt16(value);
	else if (len == sizeof(char))
		x = (uint64) (uint8) DatumGetChar(value);
	else
		x = (uint64) value;
	x ^= x >> 30;
	x *= UINT64CONST(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64CONST(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static uint64
key_hash(TupleTableSlot *slot, const StewardHotKey *rk, bool *anynull)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;
	uint64		h = 0;

	*anynull = false;
	for (int i = 0; i < rk->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, rk->attnums[i] - 1);
		bool		isnull;
		Datum		d = slot_getattr(slot, rk->attnums[i], &isnull);

		if (isnull)
		{
			*anynull = true;
			return 0;
		}
		h = hash_combine64(h, att->attbyval ? byval_image_hash(d, att->attlen) :
						   (uint64) datum_image_hash(d, false, att->attlen));
	}
	return h;
}

typedef struct KeyTextArgs
{
	TupleTableSlot *slot;
	const StewardHotKey *rk;
	char	   *out;
} KeyTextArgs;

/*
 * The key's values as text ("42", "7, abc"), cut to fit a slot on a
 * character boundary.  Runs the types' output functions: under the guard.
 */
static void
key_text(void *arg)
{
	KeyTextArgs *a = (KeyTextArgs *) arg;
	TupleTableSlot *slot = a->slot;
	const StewardHotKey *rk = a->rk;
	TupleDesc	desc = slot->tts_tupleDescriptor;
	StringInfoData buf;
	int			len;

	initStringInfo(&buf);
	for (int i = 0; i < rk->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, rk->attnums[i] - 1);
		bool		isnull;
		Datum		d = slot_getattr(slot, rk->attnums[i], &isnull);
		Oid			typoutput;
		bool		varlena;

		getTypeOutputInfo(att->atttypid, &typoutput, &varlena);
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, OidOutputFunctionCall(typoutput, d));
	}
	len = steward_clip_len(buf.data, buf.len, HOT_KEY_TEXT - 1);
	memcpy(a->out, buf.data, len);
	a->out[len] = '\0';
	pfree(buf.data);
}

/*
 * The images of the key's values into out (HOT_KEY_BYTES), their types
 * into types; returns the number of columns, or 0 if they do not fit
 * (then the caller formats the text).  Copies bytes only: cannot fail.
 */
static int
key_images(TupleTableSlot *slot, const StewardHotKey *rk, char *out, Oid *types)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;
	int			pos = 0;

	if (rk->natts > HOT_KEY_COLS)
		return 0;
	for (int i = 0; i < rk->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, rk->attnums[i] - 1);
		bool		isnull;
		Datum		d = slot_getattr(slot, rk->attnums[i], &isnull);
		const void *src;
		Size		len;
		uint16		len16;

		if (isnull)
			return 0;
		if (att->attbyval)
		{
			src = &d;
			len = sizeof(Datum);
		}
		else if (att->attlen > 0)
		{
			src = DatumGetPointer(d);
			len = att->attlen;
		}
		else if (att->attlen == -1)
		{
			/* Toasted or compressed values are formatted right away. */
			if (VARATT_IS_EXTENDED(DatumGetPointer(d)) &&
				!VARATT_IS_SHORT(DatumGetPointer(d)))
				return 0;
			src = DatumGetPointer(d);
			len = VARSIZE_ANY(src);
		}
		else
		{
			src = DatumGetPointer(d);
			len = strlen(src) + 1;
		}
		if (pos + sizeof(uint16) + len > HOT_KEY_BYTES)
			return 0;
		len16 = (uint16) len;
		memcpy(out + pos, &len16, sizeof(uint16));
		memcpy(out + pos + sizeof(uint16), src, len);
		pos += sizeof(uint16) + len;
		types[i] = att->atttypid;
	}
	return rk->natts;
}

typedef struct ImageTextArgs
{
	const HotSlot *slot;
	char	   *out;			/* HOT_KEY_TEXT */
} ImageTextArgs;

/*
 * The text of a slot's key images ("42", "7, abc"), cut on a character
 * boundary.  The stored type must still be a type of the same length and
 * passing (else "?"): an image is only ever handed to the output function
 * of the type it was taken from.  Runs output functions: under the guard.
 */
static void
image_text(void *arg)
{
	ImageTextArgs *a = (ImageTextArgs *) arg;
	const HotSlot *hs = a->slot;
	StringInfoData buf;
	int			pos = 0;
	int			len;

	initStringInfo(&buf);
	for (int i = 0; i < hs->ncols; i++)
	{
		HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(hs->types[i]));
		Form_pg_type typ;
		uint16		n;
		char	   *copy;
		Datum		d;
		Oid			typoutput;
		bool		varlena;

		memcpy(&n, hs->key + pos, sizeof(uint16));
		if (!HeapTupleIsValid(tup))
			elog(ERROR, "type %u of a hot row key is gone", hs->types[i]);
		typ = (Form_pg_type) GETSTRUCT(tup);
		if ((typ->typbyval && n != sizeof(Datum)) ||
			(!typ->typbyval && typ->typlen > 0 && n != typ->typlen) ||
			(!typ->typbyval && typ->typlen < 0 && typ->typlen != -1 && typ->typlen != -2))
			elog(ERROR, "type %u of a hot row key changed", hs->types[i]);
		ReleaseSysCache(tup);
		/* An aligned copy: varlena headers and fixed-length structs want it. */
		copy = palloc(Max(n, sizeof(Datum)));
		memcpy(copy, hs->key + pos + sizeof(uint16), n);
		if (n == sizeof(Datum) && typ->typbyval)
			memcpy(&d, copy, sizeof(Datum));
		else
			d = PointerGetDatum(copy);
		getTypeOutputInfo(hs->types[i], &typoutput, &varlena);
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, OidOutputFunctionCall(typoutput, d));
		pos += sizeof(uint16) + n;
	}
	len = steward_clip_len(buf.data, buf.len, HOT_KEY_TEXT - 1);
	memcpy(a->out, buf.data, len);
	a->out[len] = '\0';
	pfree(buf.data);
}

/* Fill a slot with a key (spinlock held: a few dozen bytes copied). */
static void
put_key(HotSlot *dst, const HotSlot *key, uint64 h, int64 count, int64 error)
{
	dst->keyhash = h;
	dst->count = count;
	dst->error = error;
	dst->keyindex = key->keyindex;
	dst->ncols = key->ncols;
	memcpy(dst->types, key->types, sizeof(dst->types));
	memcpy(dst->key, key->key, sizeof(dst->key));
}

static int
find_slot(HotEntry *entry, uint64 h)
{
	for (int i = 0; i < entry->used; i++)
		if (entry->slots[i].keyhash == h)
			return i;
	return -1;
}

/* The slot with the smallest count among n (n >= 1), the first of equals. */
static int
min_slot(const HotSlot *slots, int n)
{
	int			min = 0;
	int64		mincount = slots[0].count;

	for (int j = 1; j < n; j++)
	{
		if (slots[j].count < mincount)
		{
			min = j;
			mincount = slots[j].count;
		}
	}
	return min;
}

/*
 * Add one partial key (count, error) to the shared entry: space-saving
 * with a weighted update.  Caller holds the entry's spinlock.
 */
static void
merge_slot(HotEntry *entry, const HotSlot *ps)
{
	int			i = find_slot(entry, ps->keyhash);

	if (i >= 0)
	{
		entry->slots[i].count += ps->count;
		entry->slots[i].error += ps->error;
	}
	else if (entry->used < steward_hot_rows_k)
		put_key(&entry->slots[entry->used++], ps, ps->keyhash, ps->count, ps->error);
	else
	{
		i = min_slot(entry->slots, entry->used);
		put_key(&entry->slots[i], ps, ps->keyhash, entry->slots[i].count + ps->count,
				entry->slots[i].count + ps->error);
	}
}

/*
 * Merge one partial sketch into shared memory and empty it.  The spinlock
 * is taken once per partial key, so it is held as briefly as for one row
 * update before.  Dropped if the entry was handed to another table or
 * reset meanwhile.  Never raises.
 */
static void
flush_local(LocalSketch *ls)
{
	HotEntry   *entry = ls->entry;
	bool		current = pg_atomic_read_u32(&hot_shared->generation) == ls->generation;

	for (int i = -1; current && i < ls->used; i++)
	{
		SpinLockAcquire(&entry->mutex);
		if (entry->owner.relid != ls->relid || entry->owner.dbid != MyDatabaseId)
			current = false;
		else if (i < 0)
			entry->total += ls->total;
		else
			merge_slot(entry, &ls->slots[i]);
		SpinLockRelease(&entry->mutex);
	}
	ls->relid = InvalidOid;
	ls->entry = NULL;
	ls->total = 0;
	ls->used = 0;
	memset(ls->buckets, 0, sizeof(ls->buckets));
	ls->min_valid = false;
}

/* Merge every partial sketch of this backend (a no-op when none has counts). */
static void
flush_all(void)
{
	if (!local_pending)
		return;
	for (int i = 0; i < HOT_LOCAL_TABLES; i++)
		if (OidIsValid(local_sketches[i].relid))
			flush_local(&local_sketches[i]);
	local_pending = false;
}

/*
 * The partial sketch of relid, claiming a free one (merging all of them
 * first when none is free).  NULL if its memory cannot be had.
 */
static LocalSketch *
local_sketch(Oid relid, HotEntry *entry)
{
	LocalSketch *free_one = NULL;
	uint32		gen = pg_atomic_read_u32(&hot_shared->generation);

	for (int i = 0; i < HOT_LOCAL_TABLES; i++)
	{
		LocalSketch *ls = &local_sketches[i];

		if (ls->relid == relid && ls->entry == entry && ls->generation == gen)
			return ls;
		if (!OidIsValid(ls->relid) && free_one == NULL)
			free_one = ls;
	}
	if (free_one == NULL)
	{
		flush_all();
		free_one = &local_sketches[0];
	}
	if (free_one->slots == NULL)
	{
		free_one->slots = MemoryContextAllocExtended(TopMemoryContext,
													 mul_size(sizeof(HotSlot), steward_hot_rows_k),
													 MCXT_ALLOC_NO_OOM);
		if (free_one->slots == NULL)
			return NULL;
	}
	free_one->relid = relid;
	free_one->entry = entry;
	free_one->generation = gen;
	free_one->total = 0;
	free_one->used = 0;
	memset(free_one->buckets, 0, sizeof(free_one->buckets));
	free_one->min_valid = false;
	local_pending = true;
	return free_one;
}

/*
 * The slot min_slot would pick in a full partial sketch (the first with the
 * smallest count), which the caller then replaces, raising its count by
 * one.  Without scanning every slot for every new key: ls->min_lo is at
 * most every count, and every slot before ls->min_from counts more than
 * min_lo.  Counts only grow until the sketch is emptied (which clears
 * min_valid), so both stay true; the first slot from min_from whose count
 * is min_lo is therefore the first minimum, and when none has it every
 * count exceeds min_lo and the search starts over one higher.  In a bulk
 * UPDATE this visits about two slots per new key instead of k.
 */
static pg_attribute_always_inline int
first_min_slot(LocalSketch *ls)
{
	if (!ls->min_valid)
	{
		ls->min_from = min_slot(ls->slots, ls->used);
		ls->min_lo = ls->slots[ls->min_from].count;
		ls->min_valid = true;
	}
	for (;;)
	{
		for (int j = ls->min_from; j < ls->used; j++)
		{
			if (ls->slots[j].count == ls->min_lo)
			{
				/* the caller raises slot j above min_lo */
				ls->min_from = j + 1;
				return j;
			}
		}
		ls->min_lo++;
		ls->min_from = 0;
	}
}

/* The key's images into slot dst (or its text when they do not fit). */
static void
fill_key(HotSlot *dst, TupleTableSlot *slot, const StewardHotKey *rk)
{
	KeyTextArgs args;

	dst->ncols = key_images(slot, rk, dst->key, dst->types);
	if (dst->ncols == 0)
	{
		args.slot = slot;
		args.rk = rk;
		args.out = dst->key;
		if (!steward_collect(key_text, &args))
			strlcpy(dst->key, "?", HOT_KEY_TEXT);
	}
}

/*
 * The partial sketch that counts rel's updates, through rk's cache: the
 * one found last time as long as it still belongs to the same table, the
 * same shared entry and the current reset generation (what local_sketch
 * matches on), else found or claimed again.  NULL when the table has no
 * entry or the memory cannot be had.
 */
static inline LocalSketch *
table_sketch(Relation rel, StewardHotKey *rk)
{
	LocalSketch *ls = (LocalSketch *) rk->local;
	uint32		gen = pg_atomic_read_u32(&hot_shared->generation);
	HotEntry   *entry;

	if (likely(ls != NULL && rk->entry != NULL && rk->generation == gen &&
			   ls->relid == RelationGetRelid(rel) && ls->entry == rk->entry &&
			   ls->generation == gen))
		return ls;
	entry = table_entry(rel, rk);
	if (entry == NULL)
		return NULL;
	ls = local_sketch(RelationGetRelid(rel), entry);
	rk->local = ls;
	return ls;
}

/*
 * Count one update of the key hashed h in ls: bump its slot and return
 * NULL, or return the slot the new key takes (count and error set), whose
 * key the caller fills.
 */
static pg_attribute_always_inline HotSlot *
count_key(LocalSketch *ls, uint64 h)
{
	int			b = HOT_BUCKET(h);
	int			i;

	/*
	 * A key whose bucket holds no slot is not in the sketch: a bulk UPDATE
	 * brings a new key with almost every row, and most of them skip the
	 * search.
	 */
	if (ls->buckets[b] > 0)
	{
		for (i = 0; i < ls->used; i++)
		{
			if (ls->slots[i].keyhash == h)
			{
				ls->slots[i].count++;
				return NULL;
			}
		}
	}
	if (ls->used < steward_hot_rows_k)
	{
		i = ls->used++;
		ls->slots[i].count = 1;
		ls->slots[i].error = 0;
	}
	else
	{
		i = first_min_slot(ls);
		ls->buckets[HOT_BUCKET(ls->slots[i].keyhash)]--;
		ls->slots[i].error = ls->slots[i].count;
		ls->slots[i].count++;
	}
	ls->buckets[b]++;
	ls->slots[i].keyhash = h;
	return &ls->slots[i];
}

/*
 * Count one update of the row in slot, of relation rel whose row key is
 * rk (rk's cache part is updated), in this backend's partial sketch of the
 * table (merged into shared memory by flush_all).  Never raises: the key
 * text and finding the table's entry run under steward_collect().  Takes
 * no lock once the table's entry is cached in rk; finding it (a table's
 * first update in this backend, or after a reset) takes the hot rows'
 * LWLock exclusively.
 *
 * A key of one pass-by-value column (a bigint or integer primary key, the
 * common case) takes a path of its own: the value is read once, hashed
 * and, for a new key, stored as the one image key_images would have
 * written; the hash is key_hash's, so both paths agree on every key.
 */
void
steward_hotrows_count(Relation rel, TupleTableSlot *slot, StewardHotKey *rk)
{
	LocalSketch *ls;
	HotSlot    *dst;
	uint64		h;
	bool		anynull;

	if (hot_hash == NULL)
		return;
	ls = table_sketch(rel, rk);
	if (ls == NULL)
		return;

	/* Every update counts in the table's total (health's conflict rate). */
	ls->total++;

	if (rk->natts == 0)
		return;
	if (steward_hot_rows_sample > 1 && (update_counter++ % steward_hot_rows_sample) != 0)
		return;

	if (rk->natts == 1)
	{
		Form_pg_attribute att = TupleDescAttr(slot->tts_tupleDescriptor,
											  rk->attnums[0] - 1);

		if (att->attbyval)
		{
			bool		isnull;
			Datum		d = slot_getattr(slot, rk->attnums[0], &isnull);
			uint16		len16 = sizeof(Datum);

			if (isnull)
				return;
			h = hash_combine64(0, byval_image_hash(d, att->attlen));
			dst = count_key(ls, hash_combine64(h, rk->indexoid));
			if (dst != NULL)
			{
				/* key_images' layout: the length, then the Datum. */
				dst->keyindex = rk->indexoid;
				dst->ncols = 1;
				dst->types[0] = att->atttypid;
				memcpy(dst->key, &len16, sizeof(uint16));
				memcpy(dst->key + sizeof(uint16), &d, sizeof(Datum));
			}
			return;
		}
	}

	h = key_hash(slot, rk, &anynull);
	if (anynull)
		return;
	dst = count_key(ls, hash_combine64(h, rk->indexoid));
	/* A new key: copy the images of its values, formatted only when read. */
	if (dst != NULL)
	{
		dst->keyindex = rk->indexoid;
		fill_key(dst, slot, rk);
	}
}

/* End of a statement: merge what it counted. */
static void
hot_executor_end(QueryDesc *queryDesc)
{
	flush_all();
	if (prev_executor_end)
		prev_executor_end(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/* Transaction end: updates no executor ran (logical replication's apply). */
static void
hot_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PARALLEL_ABORT)
		flush_all();
}

/*
 * _PG_init, while preloading: every backend inherits the hooks.  Takes no
 * lock; raises only core's 53200 (out of memory) of registering the
 * transaction callback.
 */
void
steward_hotrows_install_hooks(void)
{
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = hot_executor_end;
	RegisterXactCallback(hot_xact_callback, NULL);
}

/*
 * Add each database's steward-table updates to its record (history.c).
 * Takes the hot rows' LWLock shared (and each entry's spinlock while its
 * total is read); no allocation, raises nothing.  Nothing without shared
 * memory.
 */
void
steward_hotrows_add_totals(StewardDbTotals *totals, int n)
{
	HASH_SEQ_STATUS status;
	HotEntry   *entry;

	if (hot_hash == NULL)
		return;
	LWLockAcquire(hot_shared->lock, LW_SHARED);
	hash_seq_init(&status, hot_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		int64		total;

		SpinLockAcquire(&entry->mutex);
		total = entry->total;
		SpinLockRelease(&entry->mutex);
		for (int i = 0; i < n; i++)
			if (totals[i].dbid == entry->key.dbid)
				totals[i].updates += total;
	}
	for (int i = 0; i < n; i++)
		totals[i].updates += steward_retired_of(hot_shared->retired, totals[i].dbid);
	LWLockRelease(hot_shared->lock);
}

/*
 * steward.reset(): forget every table's hot rows.  Takes the LWLock
 * exclusively and bumps the generation, so that sketches backends still
 * hold locally from before are dropped instead of merged; entries are
 * emptied, not removed, because a backend may still hold a pointer to
 * one.  A no-op without shared memory; raises nothing.
 */
void
steward_hotrows_reset(void)
{
	HASH_SEQ_STATUS status;
	HotEntry   *entry;

	if (hot_hash == NULL)
		return;
	LWLockAcquire(hot_shared->lock, LW_EXCLUSIVE);
	pg_atomic_fetch_add_u32(&hot_shared->generation, 1);
	hash_seq_init(&status, hot_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		/*
		 * Entries are emptied, not removed: a backend may still hold a
		 * pointer from before the generation changed.
		 */
		SpinLockAcquire(&entry->mutex);
		entry->used = 0;
		entry->total = 0;
		SpinLockRelease(&entry->mutex);
	}
	memset(hot_shared->retired, 0, sizeof(hot_shared->retired));
	LWLockRelease(hot_shared->lock);
}

/*
 * May "userid" read the key values of table relid, as read from the index
 * *keyindex returns?  The rule of core's BuildIndexValueDescription (and of
 * pg_steward's error messages, tableam/rowkey.c): no row security
 * applying to it, and SELECT on the table or on every column of its row
 * key.  The row key is the index the access method reads keys from
 * (rules.c load_row_key, through the relcache): the primary key, else the
 * replica identity index, each only when valid, unique, immediate and
 * without a predicate; *keyindex is InvalidOid when there is none.  A
 * slot's values are shown only when they were read from that very index
 * (review29 R2): a key read from an earlier primary key holds the values
 * of other columns, which the role may not be allowed to read.
 * pg_read_all_stats alone is not enough: core never shows table data to
 * it (pg_stats hides the values of columns it may not SELECT).  Reads the
 * catalogs only: no lock on the table, which may therefore have been
 * dropped since the caller saw it (opening pg_index accepts
 * invalidations): then *missing is set and the answer is false, never an
 * error (before: 42P01 for the whole query, codereview F6).
 */
static bool
may_read_key(Oid relid, Oid userid, Oid *keyindex, bool *missing)
{
	Relation	pg_index;
	SysScanDesc scan;
	ScanKeyData skey;
	HeapTuple	tup;
	int2vector *key = NULL;
	bool		table_select;
	bool		ok = true;

	*missing = false;
	*keyindex = InvalidOid;
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		return false;
	table_select = pg_class_aclcheck_ext(relid, userid, ACL_SELECT, missing) == ACLCHECK_OK;
	if (*missing)
		return false;

	/* The key's columns, as steward_hotrows_count's caller picks them. */
	pg_index = table_open(IndexRelationId, AccessShareLock);
	ScanKeyInit(&skey, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(pg_index, IndexIndrelidIndexId, true, NULL, 1, &skey);
	while ((tup = systable_getnext(scan)) != NULL)
	{
		Form_pg_index idx = (Form_pg_index) GETSTRUCT(tup);

		/* What the relcache skips for the primary key and replica identity. */
		if (!idx->indisvalid || !idx->indisunique || !idx->indimmediate ||
			!heap_attisnull(tup, Anum_pg_index_indpred, NULL))
			continue;
		if (idx->indisprimary || (idx->indisreplident && key == NULL))
		{
			ok = true;
			for (int i = 0; i < idx->indnkeyatts && ok; i++)
				ok = idx->indkey.values[i] > 0 &&
					(table_select ||
					 (pg_attribute_aclcheck_ext(relid, idx->indkey.values[i], userid,
												ACL_SELECT, missing) == ACLCHECK_OK &&
					  !*missing));
			key = &idx->indkey;
			*keyindex = idx->indexrelid;
			if (idx->indisprimary)
				break;
		}
	}
	systable_endscan(scan);
	table_close(pg_index, AccessShareLock);
	/* Dropped while we waited for pg_index: its row goes too. */
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
	{
		*missing = true;
		return false;
	}
	return key != NULL && ok;
}

/*
 * steward._hot_rows(): (relid, key_text, updates, error_bound) for tables
 * of this database; key_text only for roles that may read the key's
 * values (may_read_key: SELECT on the table or its key columns, no row
 * security), NULL for the others, pg_read_all_stats included, and for a
 * key read from an index that is no longer the table's row key.  Merges this
 * backend's counts first, then copies the entries under the hot rows'
 * LWLock (shared; each entry's spinlock while its slots are copied), and
 * reads the catalogs after it (pg_index under AccessShareLock, released
 * at once); no lock on the tables.  Raises nothing of its own (a key that
 * cannot be formatted shows as "?"); the tuplestore's errors (53200, or a
 * file error past work_mem).  No rows without shared_preload_libraries.
 */
Datum
steward_hot_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			userid = GetUserId();
	HASH_SEQ_STATUS status;
	HotEntry   *entry;
	List	   *rows = NIL;
	ListCell   *lc;

	/* Without shared_preload_libraries: no rows (steward.collector says why). */
	InitMaterializedSRF(fcinfo, 0);
	if (hot_hash == NULL)
		return (Datum) 0;
	/* This session's own updates of a statement still running count too. */
	flush_all();

	/* Copy the slots under the lock; format them after it is released. */
	LWLockAcquire(hot_shared->lock, LW_SHARED);
	hash_seq_init(&status, hot_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		int			used;
		HotRow	   *row;

		if (entry->key.dbid != MyDatabaseId ||
			!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(entry->key.relid)))
			continue;
		row = palloc(offsetof(HotRow, slots) + steward_hot_rows_k * sizeof(HotSlot));
		row->relid = entry->key.relid;
		SpinLockAcquire(&entry->mutex);
		used = entry->used;
		memcpy(row->slots, entry->slots, used * sizeof(HotSlot));
		SpinLockRelease(&entry->mutex);
		row->used = used;
		rows = lappend(rows, row);
	}
	LWLockRelease(hot_shared->lock);

	foreach(lc, rows)
	{
		HotRow	   *row = lfirst(lc);
		bool		missing;
		Oid			keyindex;
		bool		may_read = may_read_key(row->relid, userid, &keyindex, &missing);

		if (missing)
			continue;			/* dropped since the hash was read */

		for (int i = 0; i < row->used; i++)
		{
			Datum		values[4];
			bool		nulls[4] = {0};
			char		text[HOT_KEY_TEXT];
			bool		show = may_read && row->slots[i].keyindex == keyindex;

			values[0] = ObjectIdGetDatum(row->relid);
			if (show && row->slots[i].ncols > 0)
			{
				ImageTextArgs args;

				/* Formatted now, not when the key entered the sketch. */
				args.slot = &row->slots[i];
				args.out = text;
				if (!steward_collect(image_text, &args))
					strlcpy(text, "?", HOT_KEY_TEXT);
			}
			else if (show)
				strlcpy(text, row->slots[i].key, HOT_KEY_TEXT);
			else
				text[0] = '\0';
			values[1] = CStringGetTextDatum(text);
			nulls[1] = !show;
			values[2] = Int64GetDatum(row->slots[i].count);
			values[3] = Int64GetDatum(row->slots[i].error);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	return (Datum) 0;
}
