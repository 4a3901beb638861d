/*-------------------------------------------------------------------------
 *
 * steward_hash_scan.c
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
 * A scan that constrains only some key columns (the planner offers one for
 * a condition on the leading column: amoptionalkey = false only demands
 * that one) cannot compute a hash, and the index cannot answer it: rows
 * with a NULL in any key column are not indexed, yet "tenant_id = 1" must
 * return (1, NULL).  Such a scan therefore does not read the index at all:
 * it hands the executor every heap page (bitmap scans, as lossy pages) or
 * every line pointer of every page (plain scans), all to be rechecked, so
 * it returns exactly what a sequential scan returns.  The heap's own fetch
 * follows each HOT chain from its root and ignores heap-only tuples, dead
 * and unused line pointers, so every visible row comes back once.  The cost
 * estimate keeps the planner away from this unless it is forced.
 *
 * Under SERIALIZABLE a scan predicate-locks the primary page of each bucket
 * it reads (ampredlocks), as core hash does: an insert checks the primary
 * page of its bucket for such locks (steward_hash_insert.c) and a split
 * copies them to the new bucket (steward_hash_split.c).  The lock is taken
 * while the primary page is still locked, so no insert into the bucket and
 * no split of it can fall between the read and the lock.  A partial-key
 * scan reads the table instead and locks the whole table, as a sequential
 * scan does: the rows it may return include some the index does not hold.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/relscan.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "common/hashfn.h"
#include "lib/qunique.h"
#include "miscadmin.h"
#include "nodes/tidbitmap.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "steward_hash/steward_hash.h"

typedef struct StewardHashScanOpaqueData
{
	bool		collected;		/* TIDs gathered for the current keys */
	ItemPointerData *tids;
	int			ntids;
	int			maxtids;
	int			next;			/* next TID for amgettuple */

	/* Partial key: walk every line pointer of the table instead. */
	bool		whole_table;
	BlockNumber nblocks;		/* heap pages when the scan started */
	BlockNumber blkno;			/* page being walked */
	OffsetNumber maxoff;		/* its last line pointer */
	OffsetNumber offnum;		/* last one returned */
} StewardHashScanOpaqueData;

typedef StewardHashScanOpaqueData *StewardHashScanOpaque;

/*
 * Room for the TIDs of a bucket's matches: one key can have any number of
 * rows, so past MaxAllocSize (134,217,728 TIDs in 805 MB, doubled to
 * 1.6 GB) the array is a huge allocation, as tidbitmap's and tuplesort's
 * are; before, repalloc failed there with XX000 "invalid memory alloc
 * request size".  An int counts them: past INT_MAX matches, 54000.
 */
static void
append_tid(ItemPointerData **tids, int *ntids, int *maxtids, ItemPointer tid)
{
	if (*ntids >= *maxtids)
	{
		Size		newmax;

		if (*maxtids == INT_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("steward_hash index scan matched more than %d entries", INT_MAX),
					 errhint("Use a sequential scan or a btree index for a key this common.")));
		newmax = (*maxtids == 0) ? 16 : Min((Size) *maxtids * 2, (Size) INT_MAX);
		if (*tids == NULL)
			*tids = MemoryContextAllocHuge(CurrentMemoryContext,
										   newmax * sizeof(ItemPointerData));
		else
			*tids = repalloc_huge(*tids, newmax * sizeof(ItemPointerData));
		*maxtids = (int) newmax;
	}
	(*tids)[(*ntids)++] = *tid;
}

/*
 * Walk a bucket chain whose primary page "primary" the caller has locked
 * (share), collecting the entries with "hash" (or, with tids NULL, only
 * counting every entry into *nall); chain pages are lock-coupled.
 * Releases everything.
 */
static void
walk_chain(Relation index, Buffer primary, uint64 hash,
		   ItemPointerData **tids, int *ntids, int *maxtids, uint64 *nall)
{
	Buffer		cur = primary;
	uint64		raw = steward_hash_stored(hash);

	for (;;)
	{
		Page		page = BufferGetPage(cur);
		StewardHashEntry *entries = steward_hash_page_entries(page);
		int			n = steward_hash_page_nentries(page);
		BlockNumber next = StewardHashPageGetOpaque(page)->next;
		Buffer		nextbuf;

		if (tids == NULL)
			*nall += n;
		else
		{
			/* The scan is memory-bound: one 8-byte load per entry. */
			for (int i = 0; i < n; i++)
			{
				uint64		h;

				memcpy(&h, entries[i].hash, sizeof(h));
				if (h == raw)
					append_tid(tids, ntids, maxtids, &entries[i].tid);
			}
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

/*
 * The number of entries of one bucket (VACUUM's count when no bulk delete
 * ran), without collecting them: before, their TIDs were gathered only to
 * be counted, and a bucket of more than 134,217,728 entries (one key's
 * rows) failed every VACUUM of the table with XX000.  Takes the chain's
 * buffers shared, lock-coupled, all released before returning; no
 * heavyweight lock (the caller holds the index's).  Raises
 * steward_hash_get_meta's errors, steward_hash_bucket_block's XX000 for a
 * bucket past the segments (corruption) and ReadBuffer's read errors.
 */
uint64
steward_hash_count_bucket(Relation index, uint32 bucket)
{
	const StewardHashMetaData *meta = steward_hash_get_meta(index, false);
	Buffer		buf;
	uint64		n = 0;

	if (bucket > meta->maxbucket)
		meta = steward_hash_get_meta(index, true);
	buf = ReadBuffer(index, steward_hash_bucket_block(meta, bucket));
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	walk_chain(index, buf, 0, NULL, NULL, NULL, &n);
	return n;
}

/*
 * All entries with "hash".  The bucket is computed from the cached
 * metapage; if the bucket page says it was split after that (split_max),
 * the cache is refreshed and we retry.  A bucket still receiving entries
 * from an interrupted split (after a crash) is read together with its
 * partner, old bucket first: entries only move old -> new, atomically, so
 * reading in that order cannot miss one (it may see one twice; the caller
 * removes duplicates).  Every primary page read is predicate-locked for
 * snapshot (nothing unless it is a serializable transaction's) while its
 * buffer lock is held; see the file header.
 */
static void
collect_hash(Relation index, uint64 hash, Snapshot snapshot,
			 ItemPointerData **tids, int *ntids, int *maxtids)
{
	bool		refresh = false;

	for (;;)
	{
		const StewardHashMetaData *meta = steward_hash_get_meta(index, refresh);
		uint32		bucket = steward_hash_to_bucket(hash, meta->maxbucket,
												meta->highmask, meta->lowmask);
		BlockNumber blkno = steward_hash_bucket_block(meta, bucket);
		Buffer		buf = ReadBuffer(index, blkno);
		StewardHashPageOpaque opaque;
		uint32		partner;
		uint32		split_max;
		Buffer		partnerbuf;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		opaque = StewardHashPageGetOpaque(BufferGetPage(buf));
		if (opaque->split_max > meta->maxbucket)
		{
			UnlockReleaseBuffer(buf);
			refresh = true;
			continue;
		}
		if (!(opaque->flags & STEWARD_HASH_SPLIT_TARGET))
		{
			PredicateLockPage(index, blkno, snapshot);
			walk_chain(index, buf, hash, tids, ntids, maxtids, NULL);
			return;
		}

		partner = opaque->partner;
		split_max = opaque->split_max;
		UnlockReleaseBuffer(buf);

		partnerbuf = ReadBuffer(index, steward_hash_bucket_block(meta, partner));
		LockBuffer(partnerbuf, BUFFER_LOCK_SHARE);
		PredicateLockPage(index, BufferGetBlockNumber(partnerbuf), snapshot);
		walk_chain(index, partnerbuf, hash, tids, ntids, maxtids, NULL);

		buf = ReadBuffer(index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		if (StewardHashPageGetOpaque(BufferGetPage(buf))->split_max != split_max)
		{
			/* Our bucket was split again meanwhile: start over. */
			UnlockReleaseBuffer(buf);
			*ntids = 0;
			refresh = true;
			continue;
		}
		PredicateLockPage(index, blkno, snapshot);
		walk_chain(index, buf, hash, tids, ntids, maxtids, NULL);
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
											   subtype, STEWARD_HASH_PROC);

		if (!OidIsValid(procid))
			elog(ERROR, "missing support function %d(%u,%u) in opfamily %u",
				 STEWARD_HASH_PROC, subtype, subtype, index->rd_opfamily[col]);
		fmgr_info(procid, &local);
		proc = &local;
	}
	else
		proc = index_getprocinfo(index, key->sk_attno, STEWARD_HASH_PROC);

	return DatumGetUInt64(FunctionCall2Coll(proc, key->sk_collation,
											key->sk_argument, UInt64GetDatum(0)));
}

/*
 * The indexed table, for a partial-key scan (bitmap scans have no
 * heapRelation).  The executor holds a lock on it already.  Its pages and
 * line pointers must be heap's: the tables of steward and heap.
 */
static Relation
open_indexed_table(Relation index)
{
	Relation	heap = relation_open(index->rd_index->indrelid, NoLock);
	Oid			steward_am = get_table_am_oid("steward", true);

	if (heap->rd_rel->relam != HEAP_TABLE_AM_OID &&
		heap->rd_rel->relam != steward_am)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("steward_hash index \"%s\" cannot answer a condition on part of its key for table \"%s\"",
						RelationGetRelationName(index), RelationGetRelationName(heap)),
				 errdetail("The table's access method does not store rows in heap pages."),
				 errhint("Compare every key column with \"=\", or let the planner use a sequential scan.")));
	return heap;
}

/* Number of line pointers of a heap page (0 for a new page). */
static OffsetNumber
heap_page_maxoff(Relation heap, BlockNumber blkno)
{
	Buffer		buf = ReadBuffer(heap, blkno);
	Page		page;
	OffsetNumber maxoff;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	maxoff = PageIsNew(page) ? InvalidOffsetNumber : PageGetMaxOffsetNumber(page);
	UnlockReleaseBuffer(buf);
	return maxoff;
}

/*
 * Next line pointer of a partial-key plain scan, or false at the end.  One
 * page is read (briefly) for its line pointer count; the executor then
 * fetches each TID with the scan's snapshot and rechecks the row.
 */
static bool
next_heap_tid(IndexScanDesc scan, StewardHashScanOpaque so)
{
	Relation	heap = scan->heapRelation;

	while (so->offnum >= so->maxoff)
	{
		so->blkno = (so->blkno == InvalidBlockNumber) ? 0 : so->blkno + 1;
		if (so->blkno >= so->nblocks)
		{
			so->blkno = so->nblocks;
			so->maxoff = so->offnum = InvalidOffsetNumber;
			return false;
		}
		CHECK_FOR_INTERRUPTS();
		so->maxoff = heap_page_maxoff(heap, so->blkno);
		so->offnum = InvalidOffsetNumber;
	}
	so->offnum++;
	ItemPointerSet(&scan->xs_heaptid, so->blkno, so->offnum);
	return true;
}

static void
collect(IndexScanDesc scan)
{
	StewardHashScanOpaque so = (StewardHashScanOpaque) scan->opaque;
	Relation	index = scan->indexRelation;
	int			natts = IndexRelationGetNumberOfKeyAttributes(index);
	uint64		colhash[INDEX_MAX_KEYS] = {0};
	bool		have[INDEX_MAX_KEYS] = {0};
	int			ncovered = 0;

	so->ntids = 0;
	so->next = 0;
	so->collected = true;
	so->whole_table = false;

	for (int i = 0; i < scan->numberOfKeys; i++)
	{
		ScanKey		key = &scan->keyData[i];
		int			col = key->sk_attno - 1;
		uint64		h;

		/*
		 * "col = NULL" matches nothing, whatever anyone inserts: nothing to
		 * read, nothing to predicate-lock (nor below for a = x AND a = y).
		 */
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
		collect_hash(index, hash, scan->xs_snapshot, &so->tids, &so->ntids,
					 &so->maxtids);
	}
	else
	{
		/* Not every key column is constrained: see the file header. */
		Relation	heap = open_indexed_table(index);

		so->whole_table = true;

		/*
		 * Every row of the table may be returned, rows with a NULL key
		 * (not in the index) included: lock the table, as a sequential
		 * scan does, so that any insert into it conflicts.
		 */
		PredicateLockRelation(heap, scan->xs_snapshot);
		so->nblocks = RelationGetNumberOfBlocks(heap);
		so->blkno = InvalidBlockNumber;
		so->maxoff = so->offnum = InvalidOffsetNumber;
		relation_close(heap, NoLock);
		return;
	}

	/* Heap order, and no TID twice (see collect_hash). */
	if (so->ntids > 1)
	{
		qsort(so->tids, so->ntids, sizeof(ItemPointerData), tid_cmp);
		so->ntids = qunique(so->tids, so->ntids, sizeof(ItemPointerData), tid_cmp);
	}
}

/*
 * ambeginscan: a scan of index with nkeys equality keys.  Takes no lock
 * (the executor holds the index's); raises only 53200.
 */
IndexScanDesc
steward_hash_beginscan(Relation r, int nkeys, int norderbys)
{
	IndexScanDesc scan = RelationGetIndexScan(r, nkeys, norderbys);
	StewardHashScanOpaque so = palloc0(sizeof(StewardHashScanOpaqueData));

	scan->opaque = so;
	return scan;
}

/*
 * amrescan: (re)start with new keys; the bucket is read at the first
 * gettuple/getbitmap.  Takes no lock; raises nothing.
 */
void
steward_hash_rescan(IndexScanDesc scan, ScanKey scankey, int nscankeys,
		  ScanKey orderbys, int norderbys)
{
	StewardHashScanOpaque so = (StewardHashScanOpaque) scan->opaque;

	if (scankey && scan->numberOfKeys > 0)
		memmove(scan->keyData, scankey, scan->numberOfKeys * sizeof(ScanKeyData));
	so->collected = false;
	so->ntids = 0;
	so->next = 0;
}

/*
 * amgettuple: the next TID collected from the key's bucket(s) whose stored
 * hash matches, or, in whole-table mode, the next heap TID; always with
 * xs_recheck set (the executor compares the keys).  The first call reads
 * the key's bucket(s): their pages' buffers shared, released before
 * returning, and (serializable only) a predicate lock on each primary
 * page read, or on the table for a partial key; in whole-table mode each
 * heap page's buffer shared, briefly.  No heavyweight lock: the executor
 * holds the index's and the table's.  Raises 0A000 for a partial key on a
 * table whose pages are not heap's, the support function's errors (XX000
 * when the operator family lacks support function 1 for the key's type,
 * which only a superuser can bring about), steward_hash_get_meta's and
 * ReadBuffer's errors, steward_hash_bucket_block's XX000 for a bucket
 * past the segments (corruption), 54000 past INT_MAX matches of one key,
 * and 53200 (memory, or the predicate-lock table full).
 */
bool
steward_hash_gettuple(IndexScanDesc scan, ScanDirection dir)
{
	StewardHashScanOpaque so = (StewardHashScanOpaque) scan->opaque;

	if (!so->collected)
		collect(scan);
	if (so->whole_table)
	{
		scan->xs_recheck = true;
		return next_heap_tid(scan, so);
	}
	if (so->next >= so->ntids)
		return false;
	scan->xs_heaptid = so->tids[so->next++];
	scan->xs_recheck = true;
	return true;
}

/*
 * amgetbitmap: the TIDs of the key's bucket(s) whose stored hash matches,
 * to be rechecked (in whole-table mode every heap page, lossy); returns how
 * many TIDs or pages it added.  Locks and errors as steward_hash_gettuple
 * (no heap page is read).
 */
int64
steward_hash_getbitmap(IndexScanDesc scan, TIDBitmap *tbm)
{
	StewardHashScanOpaque so = (StewardHashScanOpaque) scan->opaque;

	collect(scan);
	if (so->whole_table)
	{
		/* Every page, lossy: the executor rechecks each row. */
		for (BlockNumber blkno = 0; blkno < so->nblocks; blkno++)
			tbm_add_page(tbm, blkno);
		return (int64) so->nblocks;
	}
	tbm_add_tuples(tbm, so->tids, so->ntids, true);
	return so->ntids;
}

/*
 * amendscan: free the scan's memory.  Takes no lock; raises nothing.
 */
void
steward_hash_endscan(IndexScanDesc scan)
{
	StewardHashScanOpaque so = (StewardHashScanOpaque) scan->opaque;

	if (so->tids)
		pfree(so->tids);
	pfree(so);
}
