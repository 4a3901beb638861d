/*-------------------------------------------------------------------------
 *
 * sthash_insert.c
 *	  Insertion and online growth (linear-hashing splits) for steward_hash.
 *
 * Lock order (README.md): a bucket's primary page, then pages of its chain
 * in chain order, then the metapage.  A split holds the metapage and takes
 * the old bucket's primary page only conditionally, so it never waits in
 * the wrong order; the new bucket's page it then locks is not reachable by
 * anyone else yet.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "hashindex/sthash.h"

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
		const StHashMetaData *meta = sth_get_meta(index, refresh);
		uint32		b = sth_hash_to_bucket(hash, meta->maxbucket,
										   meta->highmask, meta->lowmask);
		Buffer		buf = ReadBuffer(index, sth_bucket_block(meta, b));
		StHashPageOpaque opaque;

		LockBuffer(buf, mode);
		opaque = StHashPageGetOpaque(BufferGetPage(buf));
		if (opaque->split_max <= meta->maxbucket &&
			(opaque->flags & STH_PAGE_BUCKET) && opaque->bucket == b)
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

void
sth_insert_entry(Relation index, uint64 hash, ItemPointer tid)
{
	Buffer		primary;
	Buffer		cur;
	uint32		bucket;
	bool		added_page = false;

	for (;;)
	{
		primary = lock_bucket_for_hash(index, hash, BUFFER_LOCK_EXCLUSIVE, &bucket);
		if (!(StHashPageGetOpaque(BufferGetPage(primary))->flags & STH_SPLITTING))
			break;
		/* A split was interrupted by a crash: complete it first. */
		UnlockReleaseBuffer(primary);
		sth_finish_split(index, bucket);
	}

	/* First page of the chain with room; the primary stays locked. */
	cur = primary;
	for (;;)
	{
		Page		page = BufferGetPage(cur);
		BlockNumber next = StHashPageGetOpaque(page)->next;
		GenericXLogState *state;
		Buffer		nextbuf;

		if (sth_page_has_room(page))
		{
			/* The hot path: a small generic record written directly. */
			sth_append_entry_logged(index, cur, hash, tid);
			break;
		}
		if (next == InvalidBlockNumber)
		{
			Buffer		metabuf;
			Buffer		newbuf;
			Page		newpage;

			state = GenericXLogStart(index);
			page = GenericXLogRegisterBuffer(state, cur, 0);
			newbuf = sth_new_overflow(index, state, &metabuf, &newpage, bucket);
			StHashPageGetOpaque(page)->next = BufferGetBlockNumber(newbuf);
			sth_page_add_entry(newpage, hash, tid);
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
		sth_try_split(index);
}

bool
sthinsert(Relation index, Datum *values, bool *isnull, ItemPointer ht_ctid,
		  Relation heapRel, IndexUniqueCheck checkUnique, bool indexUnchanged,
		  struct IndexInfo *indexInfo)
{
	bool		anynull;
	uint64		hash = sth_hash_values(index, values, isnull, &anynull);

	/* NULL keys never match "=", so they are not indexed. */
	if (!anynull)
		sth_insert_entry(index, hash, ht_ctid);
	return false;
}

/*
 * Move the entries of the old bucket's chain that now belong to the new
 * bucket.  Both primary pages are locked exclusively by the caller.  Every
 * WAL record removes a batch from one old page and adds it to one new page,
 * so a crash can leave the split unfinished but never loses or duplicates
 * an entry; the primary pages' STH_SPLITTING flags tell readers to look in
 * both buckets and writers to finish the job.
 */
static void
move_entries(Relation index, Buffer oldprimary, Buffer newprimary,
			 uint32 newbucket)
{
	const StHashMetaData *meta = sth_get_meta(index, true);
	Buffer		tail = newprimary;
	Buffer		cur = oldprimary;
	GenericXLogState *state;
	Page		oldpage;
	Page		newpage;

	/* The new chain may already hold entries (finishing after a crash). */
	while (StHashPageGetOpaque(BufferGetPage(tail))->next != InvalidBlockNumber)
	{
		Buffer		next = ReadBuffer(index, StHashPageGetOpaque(BufferGetPage(tail))->next);

		LockBuffer(next, BUFFER_LOCK_EXCLUSIVE);
		if (tail != newprimary)
			UnlockReleaseBuffer(tail);
		tail = next;
	}

	for (;;)
	{
		BlockNumber next;

		for (;;)
		{
			int			n = sth_page_nentries(BufferGetPage(cur));
			StHashEntry *entries = sth_page_entries(BufferGetPage(cur));
			int			nmove = 0;
			int			room;

			for (int i = 0; i < n; i++)
				if (sth_hash_to_bucket(sth_entry_hash(&entries[i]), meta->maxbucket,
									   meta->highmask, meta->lowmask) == newbucket)
					nmove++;
			if (nmove == 0)
				break;

			if (!sth_page_has_room(BufferGetPage(tail)))
			{
				Buffer		metabuf;
				Buffer		newbuf;
				Page		tailpage;

				state = GenericXLogStart(index);
				tailpage = GenericXLogRegisterBuffer(state, tail, 0);
				newbuf = sth_new_overflow(index, state, &metabuf, &newpage, newbucket);
				StHashPageGetOpaque(tailpage)->next = BufferGetBlockNumber(newbuf);
				GenericXLogFinish(state);
				UnlockReleaseBuffer(metabuf);
				if (tail != newprimary)
					UnlockReleaseBuffer(tail);
				tail = newbuf;
			}

			state = GenericXLogStart(index);
			oldpage = GenericXLogRegisterBuffer(state, cur, 0);
			newpage = GenericXLogRegisterBuffer(state, tail, 0);
			entries = sth_page_entries(oldpage);
			room = (((PageHeader) newpage)->pd_upper - ((PageHeader) newpage)->pd_lower) /
				sizeof(StHashEntry);
			/* Walk backwards so removals do not disturb unvisited slots. */
			for (int i = sth_page_nentries(oldpage) - 1; i >= 0 && room > 0; i--)
			{
				uint64		h = sth_entry_hash(&entries[i]);

				if (sth_hash_to_bucket(h, meta->maxbucket, meta->highmask,
									   meta->lowmask) != newbucket)
					continue;
				sth_page_add_entry(newpage, h, &entries[i].tid);
				sth_page_remove_entry(oldpage, i);
				room--;
			}
			GenericXLogFinish(state);
		}

		next = StHashPageGetOpaque(BufferGetPage(cur))->next;
		if (cur != oldprimary)
			UnlockReleaseBuffer(cur);
		if (next == InvalidBlockNumber)
			break;
		cur = ReadBuffer(index, next);
		LockBuffer(cur, BUFFER_LOCK_EXCLUSIVE);
	}
	if (tail != newprimary)
		UnlockReleaseBuffer(tail);

	/* Pages the split emptied go back to the free list. */
	sth_unlink_empty_pages(index, oldprimary);

	state = GenericXLogStart(index);
	oldpage = GenericXLogRegisterBuffer(state, oldprimary, 0);
	newpage = GenericXLogRegisterBuffer(state, newprimary, 0);
	StHashPageGetOpaque(oldpage)->flags &= ~STH_SPLITTING;
	StHashPageGetOpaque(newpage)->flags &= ~STH_SPLITTING;
	GenericXLogFinish(state);
}

/*
 * Split the next bucket in line if the growth policy asks for it and nobody
 * is busy in that bucket.  Returns false when no split was done.  Skipping
 * a split is harmless (the next overflow tries again); waiting for the
 * bucket could deadlock.
 */
static bool
split_one(Relation index)
{
	Buffer		metabuf = ReadBuffer(index, STHASH_METAPAGE);
	StHashMeta	meta;
	uint32		newbucket,
				oldbucket;
	Buffer		oldbuf,
				newbuf;
	GenericXLogState *state;
	Page		metapage,
				oldpage,
				newpage;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = StHashPageGetMeta(BufferGetPage(metabuf));
	newbucket = meta->maxbucket + 1;
	oldbucket = newbucket & meta->lowmask;
	if (newbucket >= STH_MAX_BUCKETS ||
		(uint64) meta->noverflow * STH_SPLIT_RATIO <= newbucket)
	{
		UnlockReleaseBuffer(metabuf);
		return false;
	}

	oldbuf = ReadBuffer(index, sth_bucket_block(meta, oldbucket));
	if (!ConditionalLockBuffer(oldbuf))
	{
		ReleaseBuffer(oldbuf);
		UnlockReleaseBuffer(metabuf);
		return false;
	}
	if ((StHashPageGetOpaque(BufferGetPage(oldbuf))->flags & STH_SPLITTING) ||
		!sth_create_bucket_pages(index, metabuf, newbucket))
	{
		UnlockReleaseBuffer(oldbuf);
		UnlockReleaseBuffer(metabuf);
		return false;
	}
	meta = StHashPageGetMeta(BufferGetPage(metabuf));
	newbuf = ReadBuffer(index, sth_bucket_block(meta, newbucket));
	LockBuffer(newbuf, BUFFER_LOCK_EXCLUSIVE);

	/* One record: the new bucket exists and both buckets are marked. */
	state = GenericXLogStart(index);
	metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
	oldpage = GenericXLogRegisterBuffer(state, oldbuf, 0);
	newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
	meta = StHashPageGetMeta(metapage);
	meta->maxbucket = newbucket;
	if (newbucket > meta->highmask)
	{
		meta->lowmask = meta->highmask;
		meta->highmask = newbucket | meta->lowmask;
	}
	sth_init_page(newpage, STH_PAGE_BUCKET | STH_SPLIT_TARGET, newbucket);
	StHashPageGetOpaque(newpage)->split_max = newbucket;
	StHashPageGetOpaque(newpage)->partner = oldbucket;
	StHashPageGetOpaque(oldpage)->flags |= STH_SPLIT_SOURCE;
	StHashPageGetOpaque(oldpage)->split_max = newbucket;
	StHashPageGetOpaque(oldpage)->partner = newbucket;
	GenericXLogFinish(state);

	/* Others may use the metapage again; both buckets stay locked. */
	UnlockReleaseBuffer(metabuf);

	move_entries(index, oldbuf, newbuf, newbucket);

	UnlockReleaseBuffer(newbuf);
	UnlockReleaseBuffer(oldbuf);
	return true;
}

void
sth_try_split(Relation index)
{
	for (int i = 0; i < STH_MAX_SPLITS; i++)
		if (!split_one(index))
			break;
}

/*
 * Complete a split that a crash interrupted.  "bucket" is either side; the
 * locks are taken old bucket first, as sth_try_split does.
 */
void
sth_finish_split(Relation index, uint32 bucket)
{
	const StHashMetaData *meta = sth_get_meta(index, true);
	Buffer		buf = ReadBuffer(index, sth_bucket_block(meta, bucket));
	StHashPageOpaque opaque;
	uint32		oldbucket,
				newbucket;
	Buffer		oldbuf,
				newbuf;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	opaque = StHashPageGetOpaque(BufferGetPage(buf));
	if (!(opaque->flags & STH_SPLITTING))
	{
		UnlockReleaseBuffer(buf);
		return;
	}
	oldbucket = (opaque->flags & STH_SPLIT_SOURCE) ? bucket : opaque->partner;
	newbucket = (opaque->flags & STH_SPLIT_SOURCE) ? opaque->partner : bucket;
	UnlockReleaseBuffer(buf);

	oldbuf = ReadBuffer(index, sth_bucket_block(meta, oldbucket));
	LockBuffer(oldbuf, BUFFER_LOCK_EXCLUSIVE);
	newbuf = ReadBuffer(index, sth_bucket_block(meta, newbucket));
	LockBuffer(newbuf, BUFFER_LOCK_EXCLUSIVE);

	/*
	 * Someone else may have finished it while we were not holding locks.
	 * The flags are set and cleared together, in one WAL record each.
	 */
	if ((StHashPageGetOpaque(BufferGetPage(oldbuf))->flags & STH_SPLIT_SOURCE) ||
		(StHashPageGetOpaque(BufferGetPage(newbuf))->flags & STH_SPLIT_TARGET))
		move_entries(index, oldbuf, newbuf, newbucket);

	UnlockReleaseBuffer(newbuf);
	UnlockReleaseBuffer(oldbuf);
}
