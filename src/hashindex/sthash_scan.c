/*-------------------------------------------------------------------------
 *
 * sthash_scan.c
 *	  Index scans for steward_hash.
 *
 * A scan reads its whole bucket at the first amgettuple/amgetbitmap call,
 * holding the bucket's primary page (share) while it walks the chain, and
 * then returns the collected TIDs from memory.  No buffer lock or pin is
 * held between calls.  That is safe because every match is returned with
 * xs_recheck = true: even if VACUUM removed the entry and the heap reused
 * the TID meanwhile, the executor rechecks the row against the scan keys
 * (indexam.sgml, "Index Locking Considerations").
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "catalog/pg_type_d.h"
#include "common/hashfn.h"
#include "lib/qunique.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "storage/bufmgr.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "hashindex/sthash.h"

typedef struct StHashScanOpaqueData
{
	bool		collected;		/* TIDs gathered for the current keys */
	ItemPointerData *tids;
	int			ntids;
	int			maxtids;
	int			next;			/* next TID for amgettuple */
} StHashScanOpaqueData;

typedef StHashScanOpaqueData *StHashScanOpaque;

static void
append_tid(ItemPointerData **tids, int *ntids, int *maxtids, ItemPointer tid)
{
	if (*ntids >= *maxtids)
	{
		*maxtids = (*maxtids == 0) ? 16 : *maxtids * 2;
		if (*tids == NULL)
			*tids = palloc(*maxtids * sizeof(ItemPointerData));
		else
			*tids = repalloc(*tids, *maxtids * sizeof(ItemPointerData));
	}
	(*tids)[(*ntids)++] = *tid;
}

/*
 * Walk a bucket chain whose primary page "primary" the caller has locked
 * (share), collecting matches; chain pages are lock-coupled.  Releases
 * everything.
 */
static void
walk_chain(Relation index, Buffer primary, uint64 hash, bool match_all,
		   ItemPointerData **tids, int *ntids, int *maxtids)
{
	Buffer		cur = primary;

	for (;;)
	{
		Page		page = BufferGetPage(cur);
		StHashEntry *entries = sth_page_entries(page);
		int			n = sth_page_nentries(page);
		BlockNumber next = StHashPageGetOpaque(page)->next;
		Buffer		nextbuf;

		for (int i = 0; i < n; i++)
		{
			if (match_all || sth_entry_hash(&entries[i]) == hash)
				append_tid(tids, ntids, maxtids, &entries[i].tid);
		}
		if (next == InvalidBlockNumber)
			break;
		nextbuf = ReadBuffer(index, next);
		LockBuffer(nextbuf, BUFFER_LOCK_SHARE);
		if (cur != primary)
			UnlockReleaseBuffer(cur);
		cur = nextbuf;
	}
	if (cur != primary)
		UnlockReleaseBuffer(cur);
	UnlockReleaseBuffer(primary);
}

/* Every entry (match_all) or the entries with "hash" of one bucket. */
void
sth_collect_bucket(Relation index, uint32 bucket, uint64 hash, bool match_all,
				   ItemPointerData **tids, int *ntids, int *maxtids)
{
	const StHashMetaData *meta = sth_get_meta(index, false);
	Buffer		buf;

	if (bucket > meta->maxbucket)
		meta = sth_get_meta(index, true);
	buf = ReadBuffer(index, sth_bucket_block(meta, bucket));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	walk_chain(index, buf, hash, match_all, tids, ntids, maxtids);
}

/*
 * All entries with "hash".  The bucket is computed from the cached
 * metapage; if the bucket page says it was split after that (split_max),
 * the cache is refreshed and we retry.  A bucket still receiving entries
 * from an interrupted split (after a crash) is read together with its
 * partner, old bucket first: entries only move old -> new, atomically, so
 * reading in that order cannot miss one (it may see one twice; the caller
 * removes duplicates).
 */
static void
collect_hash(Relation index, uint64 hash, ItemPointerData **tids, int *ntids,
			 int *maxtids)
{
	bool		refresh = false;

	for (;;)
	{
		const StHashMetaData *meta = sth_get_meta(index, refresh);
		uint32		bucket = sth_hash_to_bucket(hash, meta->maxbucket,
												meta->highmask, meta->lowmask);
		BlockNumber blkno = sth_bucket_block(meta, bucket);
		Buffer		buf = ReadBuffer(index, blkno);
		StHashPageOpaque opaque;
		uint32		partner;
		uint32		split_max;
		Buffer		partnerbuf;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		opaque = StHashPageGetOpaque(BufferGetPage(buf));
		if (opaque->split_max > meta->maxbucket)
		{
			UnlockReleaseBuffer(buf);
			refresh = true;
			continue;
		}
		if (!(opaque->flags & STH_SPLIT_TARGET))
		{
			walk_chain(index, buf, hash, false, tids, ntids, maxtids);
			return;
		}

		partner = opaque->partner;
		split_max = opaque->split_max;
		UnlockReleaseBuffer(buf);

		partnerbuf = ReadBuffer(index, sth_bucket_block(meta, partner));
		LockBuffer(partnerbuf, BUFFER_LOCK_SHARE);
		walk_chain(index, partnerbuf, hash, false, tids, ntids, maxtids);

		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		if (StHashPageGetOpaque(BufferGetPage(buf))->split_max != split_max)
		{
			/* Our bucket was split again meanwhile: start over. */
			UnlockReleaseBuffer(buf);
			*ntids = 0;
			refresh = true;
			continue;
		}
		walk_chain(index, buf, hash, false, tids, ntids, maxtids);
		return;
	}
}

static int
tid_cmp(const void *a, const void *b)
{
	return ItemPointerCompare((ItemPointer) a, (ItemPointer) b);
}

/*
 * The hash of one scan key's value, using the support function for the
 * key's own type when it differs from the column's (int4 constant against
 * an int8 column): the integer hash functions agree across types.
 */
static uint64
scankey_hash(Relation index, ScanKey key)
{
	int			col = key->sk_attno - 1;
	Oid			opcintype = index->rd_opcintype[col];
	Oid			subtype = key->sk_subtype;
	FmgrInfo	local;
	FmgrInfo   *proc;

	if (OidIsValid(subtype) && subtype != opcintype)
	{
		Oid			procid = get_opfamily_proc(index->rd_opfamily[col], subtype,
											   subtype, STHASH_HASH_PROC);

		if (!OidIsValid(procid))
			elog(ERROR, "missing support function %d(%u,%u) in opfamily %u",
				 STHASH_HASH_PROC, subtype, subtype, index->rd_opfamily[col]);
		fmgr_info(procid, &local);
		proc = &local;
	}
	else
		proc = index_getprocinfo(index, key->sk_attno, STHASH_HASH_PROC);

	return DatumGetUInt64(FunctionCall2Coll(proc, key->sk_collation,
											key->sk_argument, UInt64GetDatum(0)));
}

static void
collect(IndexScanDesc scan)
{
	StHashScanOpaque so = (StHashScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	int			natts = IndexRelationGetNumberOfKeyAttributes(index);
	uint64		colhash[INDEX_MAX_KEYS] = {0};
	bool		have[INDEX_MAX_KEYS] = {0};
	int			ncovered = 0;

	so->ntids = 0;
	so->next = 0;
	so->collected = true;

	for (int i = 0; i < scan->numberOfKeys; i++)
	{
		ScanKey		key = &scan->keyData[i];
		int			col = key->sk_attno - 1;
		uint64		h;

		/* "col = NULL" matches nothing. */
		if (key->sk_flags & SK_ISNULL)
			return;
		h = scankey_hash(index, key);
		if (have[col])
		{
			/* a = x AND a = y: different hashes cannot both match. */
			if (colhash[col] != h)
				return;
			continue;
		}
		have[col] = true;
		colhash[col] = h;
		ncovered++;
	}

	if (ncovered == natts)
	{
		uint64		hash = colhash[0];

		for (int col = 1; col < natts; col++)
			hash = hash_combine64(hash, colhash[col]);
		collect_hash(index, hash, &so->tids, &so->ntids, &so->maxtids);
	}
	else
	{
		/*
		 * Not every key column is constrained, so no hash can be computed:
		 * return every entry and let the executor recheck.  The cost
		 * estimate keeps the planner away from this unless forced.
		 */
		for (uint32 bucket = 0; bucket <= sth_get_meta(index, true)->maxbucket; bucket++)
		{
			CHECK_FOR_INTERRUPTS();
			sth_collect_bucket(index, bucket, 0, true, &so->tids, &so->ntids,
							   &so->maxtids);
		}
	}

	/* Heap order, and no TID twice (see collect_hash). */
	if (so->ntids > 1)
	{
		qsort(so->tids, so->ntids, sizeof(ItemPointerData), tid_cmp);
		so->ntids = qunique(so->tids, so->ntids, sizeof(ItemPointerData), tid_cmp);
	}
}

IndexScanDesc
sthbeginscan(Relation r, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(r, nkeys, norderbys);
	StHashScanOpaque so = palloc0(sizeof(StHashScanOpaqueData));

	scan->opaque = so;
	return scan;
}

void
sthrescan(IndexScanDesc scan, ScanKey scankey, int nscankeys,
		  ScanKey orderbys, int norderbys)
{
	StHashScanOpaque so = (StHashScanOpaque) scan->opaque;

	if (scankey && scan->numberOfKeys > 0)
		memmove(scan->keyData, scankey, scan->numberOfKeys * sizeof(ScanKeyData));
	so->collected = false;
	so->ntids = 0;
	so->next = 0;
}

bool
sthgettuple(IndexScanDesc scan, ScanDirection dir)
{
	StHashScanOpaque so = (StHashScanOpaque) scan->opaque;

	if (!so->collected)
		collect(scan);
	if (so->next >= so->ntids)
		return false;
	scan->xs_heaptid = so->tids[so->next++];
	scan->xs_recheck = true;
	return true;
}

int64
sthgetbitmap(IndexScanDesc scan, TIDBitmap *tbm)
{
	StHashScanOpaque so = (StHashScanOpaque) scan->opaque;

	collect(scan);
	tbm_add_tuples(tbm, so->tids, so->ntids, true);
	return so->ntids;
}

void
sthendscan(IndexScanDesc scan)
{
	StHashScanOpaque so = (StHashScanOpaque) scan->opaque;

	if (so->tids)
		pfree(so->tids);
	pfree(so);
}
