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
 * Keys are the primary key (or replica identity) values, hashed with
 * datum_image_hash.  A key entering the sketch is stored as the images of
 * its values (a few bytes copied, no function called), and turned into
 * text only when steward.hot_rows is read: a bulk UPDATE, where almost
 * every row is a new key, used to run the types' output functions for
 * every row.  Keys whose images do not fit a slot (long or toasted
 * values, more than HOT_KEY_COLS columns) are formatted right away, as
 * before, and cut to fit on a character boundary.
 * steward.hot_rows_sample (default 1: every update) trades precision for
 * less work on update-heavy tables.
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

#include "access/htup_details.h"
#include "catalog/pg_authid.h"
#include "common/hashfn.h"
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
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
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
} HotShared;

int			steward_hot_rows_k = 10;
int			steward_hot_rows_sample = 1;
extern int	steward_max_tables;

static HotShared *hot_shared = NULL;
static HTAB *hot_hash = NULL;
static uint64 update_counter = 0;

PG_FUNCTION_INFO_V1(steward_hot_rows);

static Size
entry_size(void)
{
	return offsetof(HotEntry, slots) + steward_hot_rows_k * sizeof(HotSlot);
}

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
	}
	hot_hash = steward_shmem_hash("pg_steward hot rows hash", steward_max_tables,
								  sizeof(HotKey), entry_size());
}

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
			SpinLockAcquire(&entry->mutex);
			entry->owner = key;
			entry->total = 0;
			entry->used = 0;
			SpinLockRelease(&entry->mutex);
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
		h = hash_combine64(h, (uint64) datum_image_hash(d, att->attbyval, att->attlen));
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

/*
 * Count one update of the row in slot, of relation rel whose row key is
 * rk (rk's cache part is updated).  Never raises: the key text and finding
 * the table's entry run under steward_collect().
 */
void
steward_hotrows_count(Relation rel, TupleTableSlot *slot, StewardHotKey *rk)
{
	HotEntry   *entry;
	uint64		h;
	bool		anynull;
	int			i;
	HotSlot		hs;
	KeyTextArgs args;
	Oid			relid = RelationGetRelid(rel);

	if (hot_hash == NULL)
		return;
	entry = table_entry(rel, rk);
	if (entry == NULL)
		return;

	/* Every update counts in the table's total (health's conflict rate). */
	SpinLockAcquire(&entry->mutex);
	if (entry->owner.relid != relid || entry->owner.dbid != MyDatabaseId)
	{
		/* Handed to another table since we cached it: look again next time. */
		SpinLockRelease(&entry->mutex);
		rk->entry = NULL;
		return;
	}
	entry->total++;
	SpinLockRelease(&entry->mutex);

	if (rk->natts == 0)
		return;
	if (steward_hot_rows_sample > 1 && (update_counter++ % steward_hot_rows_sample) != 0)
		return;
	h = key_hash(slot, rk, &anynull);
	if (anynull)
		return;

	SpinLockAcquire(&entry->mutex);
	if (entry->owner.relid != relid || entry->owner.dbid != MyDatabaseId)
	{
		SpinLockRelease(&entry->mutex);
		return;
	}
	i = find_slot(entry, h);
	if (i >= 0)
	{
		entry->slots[i].count++;
		SpinLockRelease(&entry->mutex);
		return;
	}
	SpinLockRelease(&entry->mutex);

	/*
	 * A new key: copy the images of its values (formatted only when the
	 * view is read), or, if they do not fit, its text, without holding the
	 * spinlock.
	 */
	memset(&hs, 0, sizeof(hs));
	hs.ncols = key_images(slot, rk, hs.key, hs.types);
	if (hs.ncols == 0)
	{
		args.slot = slot;
		args.rk = rk;
		args.out = hs.key;
		if (!steward_collect(key_text, &args))
			strlcpy(hs.key, "?", HOT_KEY_TEXT);
	}

	SpinLockAcquire(&entry->mutex);
	if (entry->owner.relid != relid || entry->owner.dbid != MyDatabaseId)
		;						/* handed over meanwhile: drop this update */
	else if ((i = find_slot(entry, h)) >= 0)
		entry->slots[i].count++;
	else if (entry->used < steward_hot_rows_k)
	{
		i = entry->used++;
		put_key(&entry->slots[i], &hs, h, 1, 0);
	}
	else
	{
		int			min = 0;

		for (int j = 1; j < entry->used; j++)
			if (entry->slots[j].count < entry->slots[min].count)
				min = j;
		put_key(&entry->slots[min], &hs, h, entry->slots[min].count + 1,
				entry->slots[min].count);
	}
	SpinLockRelease(&entry->mutex);
}

/* Add each database's steward-table updates to its record (history.c). */
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
	LWLockRelease(hot_shared->lock);
}

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
	LWLockRelease(hot_shared->lock);
}

/*
 * steward._hot_rows(): (relid, key_text, updates, error_bound) for tables
 * of this database; key_text only for the table's owner and members of
 * pg_read_all_stats.
 */
Datum
steward_hot_rows(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			userid = GetUserId();
	bool		see_all = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS);
	HASH_SEQ_STATUS status;
	HotEntry   *entry;
	List	   *rows = NIL;
	ListCell   *lc;

	/* Without shared_preload_libraries: no rows (steward.collector says why). */
	InitMaterializedSRF(fcinfo, 0);
	if (hot_hash == NULL)
		return (Datum) 0;

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
		bool		show = see_all || pg_class_ownercheck(row->relid, userid);

		for (int i = 0; i < row->used; i++)
		{
			Datum		values[4];
			bool		nulls[4] = {0};
			char		text[HOT_KEY_TEXT];

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
