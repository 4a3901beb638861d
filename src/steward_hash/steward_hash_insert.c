/*-------------------------------------------------------------------------
 *
 * steward_hash_insert.c
 *	  Insertion for steward_hash.  A full chain gets an overflow page, and
 *	  the growth policy may then split buckets (steward_hash_split.c).
 *
 * Lock order (README.md): a bucket's primary page, then pages of its chain
 * in chain order, then the metapage.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/rel.h"

#include "steward_hash/steward_hash.h"

/*
 * Lock the primary page of the bucket that "hash" belongs to, refreshing the
 * cached metapage when the bucket was split since it was cached.
 */
static Buffer
lock_bucket_for_hash(Relation index, uint64 hash, int mode, uint32 *bucket)
{
	bool		refresh = false;

	for (;;)
	{
		const StewardHashMetaData *meta = steward_hash_get_meta(index, refresh);
		uint32		b = steward_hash_to_bucket(hash, meta->maxbucket,
										   meta->highmask, meta->lowmask);
		Buffer		buf = ReadBuffer(index, steward_hash_bucket_block(meta, b));
		StewardHashPageOpaque opaque;

		LockBuffer(buf, mode);
		opaque = StewardHashPageGetOpaque(BufferGetPage(buf));
		if (opaque->split_max <= meta->maxbucket &&
			(opaque->flags & STEWARD_HASH_PAGE_BUCKET) && opaque->bucket == b)
		{
			*bucket = b;
			return buf;
		}
		UnlockReleaseBuffer(buf);
		if (refresh && opaque->split_max <= meta->maxbucket)
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("steward_hash index \"%s\" has a bad primary page for bucket %u",
							RelationGetRelationName(index), b),
					 errhint("REINDEX the index.")));
		refresh = true;
	}
}

/*
 * Add (hash, tid) to its bucket's chain, finishing an interrupted split of
 * the bucket first and adding an overflow page when the chain is full; may
 * then split buckets.  Takes and releases its own buffer locks (lock order
 * in README.md), and the relation extension lock for a new page; no
 * heavyweight lock of its own (the executor holds the index's).
 * WAL-logged.  Raises 40001 when a serializable transaction's read of the
 * bucket conflicts (CheckForSerializableConflictIn), XX002 for a bad
 * primary page or free list (REINDEX), steward_hash_bucket_block's XX000
 * for a bucket past the segments (corruption), the errors of
 * steward_hash_get_meta, steward_hash_extend and a split
 * (steward_hash_try_split, steward_hash_finish_split), and 53200.
 */
void
steward_hash_insert_entry(Relation index, uint64 hash, ItemPointer tid)
{
	Buffer		primary;
	Buffer		cur;
	uint32		bucket;
	bool		added_page = false;

	for (;;)
	{
		primary = lock_bucket_for_hash(index, hash, BUFFER_LOCK_EXCLUSIVE, &bucket);
		if (!(StewardHashPageGetOpaque(BufferGetPage(primary))->flags & STEWARD_HASH_SPLITTING))
			break;
		/* A split was interrupted by a crash: complete it first. */
		UnlockReleaseBuffer(primary);
		steward_hash_finish_split(index, bucket);
	}

	/*
	 * A serializable transaction that scanned this bucket holds a predicate
	 * lock on its primary page (steward_hash_scan.c; a split copied it to
	 * the new bucket's page): the new entry is a rw-conflict with it.
	 * Checked while the primary page is locked, as core hash does, so no
	 * scan of the bucket falls between the check and the entry.
	 */
	CheckForSerializableConflictIn(index, NULL, BufferGetBlockNumber(primary));

	/* First page of the chain with room; the primary stays locked. */
	cur = primary;
	for (;;)
	{
		Page		page = BufferGetPage(cur);
		BlockNumber next = StewardHashPageGetOpaque(page)->next;
		GenericXLogState *state;
		Buffer		nextbuf;

		if (steward_hash_page_has_room(page))
		{
			/* The hot path: a small generic record written directly. */
			steward_hash_append_entry_logged(index, cur, hash, tid);
			break;
		}
		if (next == InvalidBlockNumber)
		{
			Buffer		metabuf;
			Buffer		newbuf;
			Page		newpage;

			state = GenericXLogStart(index);
			page = GenericXLogRegisterBuffer(state, cur, 0);
			newbuf = steward_hash_new_overflow(index, state, &metabuf, &newpage, bucket);
			StewardHashPageGetOpaque(page)->next = BufferGetBlockNumber(newbuf);
			steward_hash_page_add_entry(newpage, hash, tid);
			GenericXLogFinish(state);
			UnlockReleaseBuffer(newbuf);
			UnlockReleaseBuffer(metabuf);
			added_page = true;
			break;
		}
		nextbuf = ReadBuffer(index, next);
		LockBuffer(nextbuf, BUFFER_LOCK_EXCLUSIVE);
		if (cur != primary)
			UnlockReleaseBuffer(cur);
		cur = nextbuf;
	}
	if (cur != primary)
		UnlockReleaseBuffer(cur);
	UnlockReleaseBuffer(primary);

	/*
	 * Linear hashing with splits driven by overflow pages: when a chain
	 * grows by a page, buckets are split (in linear-hashing order) while
	 * too many chains have overflowed.  No shared tuple counter is needed,
	 * so inserters touch the metapage only when they add a page.
	 */
	if (added_page)
		steward_hash_try_split(index);
}

/*
 * aminsert: index the row's key unless a key column is NULL.  Never checks
 * uniqueness (exclusion constraints do); returns false.  Locks and errors
 * as steward_hash_insert_entry, plus the support function's
 * (steward_hash_values).
 */
bool
steward_hash_insert(Relation index, Datum *values, bool *isnull, ItemPointer ht_ctid,
		  Relation heapRel, IndexUniqueCheck checkUnique, bool indexUnchanged,
		  struct IndexInfo *indexInfo)
{
	bool		anynull;
	uint64		hash = steward_hash_values(index, values, isnull, &anynull);

	/* NULL keys never match "=", so they are not indexed. */
	if (!anynull)
		steward_hash_insert_entry(index, hash, ht_ctid);
	return false;
}
