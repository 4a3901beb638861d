/*-------------------------------------------------------------------------
 *
 * steward_hash_split.c
 *	  Bucket splits and overflow pages of steward_hash: adding a page to a
 *	  bucket's chain, giving emptied ones back to the free list, splitting
 *	  a bucket (linear hashing) and finishing a split a crash interrupted.
 *
 * Insert (steward_hash_insert.c) and VACUUM (steward_hash_vacuum.c) both call down into
 * this file and never into each other, as core hash's insert and vacuum
 * call hashpage.c and hashovfl.c.  This file calls only the page layer
 * (steward_hash_page.c).
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
#include "storage/predicate.h"
#include "utils/rel.h"

#include "steward_hash/steward_hash.h"

/*
 * Get a page for a bucket's chain: from the free list, else by extending
 * the index.  The caller holds the bucket's primary page (and the chain's
 * tail, registered in "state"); we lock the metapage after them, which is
 * the lock order everywhere (buckets, then metapage).  The metapage and the
 * new page are registered in the caller's generic WAL record; the caller
 * links the page, finishes the record and releases *metabuf and the
 * returned buffer.  Takes the metapage's and the new page's buffers
 * exclusively (returned locked), and the relation extension lock while it
 * extends.  Raises XX002 when the free list points to a page that is not
 * free, and steward_hash_extend's errors.
 */
Buffer
steward_hash_new_overflow(Relation index, GenericXLogState *state, Buffer *metabuf,
				 Page *newpage, uint32 bucket)
{
	Page		metapage;
	StewardHashMeta	meta;
	Buffer		newbuf;

	*metabuf = ReadBuffer(index, STEWARD_HASH_METAPAGE);
	LockBuffer(*metabuf, BUFFER_LOCK_EXCLUSIVE);
	metapage = GenericXLogRegisterBuffer(state, *metabuf, 0);
	meta = StewardHashPageGetMeta(metapage);

	if (meta->freehead != InvalidBlockNumber)
	{
		newbuf = ReadBuffer(index, meta->freehead);
		LockBuffer(newbuf, BUFFER_LOCK_EXCLUSIVE);
		if (!(StewardHashPageGetOpaque(BufferGetPage(newbuf))->flags & STEWARD_HASH_PAGE_FREE))
			ereport(ERROR,
					(errcode(ERRCODE_INDEX_CORRUPTED),
					 errmsg("free list of steward_hash index \"%s\" points to block %u, which is not free",
							RelationGetRelationName(index), meta->freehead)));
		meta->freehead = StewardHashPageGetOpaque(BufferGetPage(newbuf))->next;
		meta->nfree--;
	}
	else
		newbuf = steward_hash_extend(index);
	meta->noverflow++;

	*newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
	steward_hash_init_page(*newpage, STEWARD_HASH_PAGE_OVERFLOW, bucket);
	return newbuf;
}

/*
 * Unlink the empty overflow pages of a bucket's chain and push them on the
 * free list.  The caller holds the primary page exclusively, so nobody else
 * walks this chain.  Each unlink is one WAL record (previous page, freed
 * page, metapage).  Takes the chain's pages exclusively, lock-coupled, and
 * the metapage's buffer exclusively for each unlink, all released before
 * returning; no heavyweight lock.  Raises only ReadBuffer's read errors.
 */
void
steward_hash_unlink_empty_pages(Relation index, Buffer primary)
{
	Buffer		prev = primary;
	BlockNumber next = StewardHashPageGetOpaque(BufferGetPage(primary))->next;

	while (next != InvalidBlockNumber)
	{
		Buffer		cur = ReadBuffer(index, next);
		Page		page;

		LockBuffer(cur, BUFFER_LOCK_EXCLUSIVE);
		page = BufferGetPage(cur);
		next = StewardHashPageGetOpaque(page)->next;

		if (steward_hash_page_nentries(page) == 0)
		{
			GenericXLogState *state = GenericXLogStart(index);
			Page		prevpage = GenericXLogRegisterBuffer(state, prev, 0);
			Page		freepage = GenericXLogRegisterBuffer(state, cur, GENERIC_XLOG_FULL_IMAGE);
			Buffer		metabuf = ReadBuffer(index, STEWARD_HASH_METAPAGE);
			Page		metapage;
			StewardHashMeta	meta;

			LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
			metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
			meta = StewardHashPageGetMeta(metapage);

			StewardHashPageGetOpaque(prevpage)->next = next;
			steward_hash_init_page(freepage, STEWARD_HASH_PAGE_FREE, 0);
			StewardHashPageGetOpaque(freepage)->next = meta->freehead;
			meta->freehead = BufferGetBlockNumber(cur);
			meta->nfree++;
			meta->noverflow--;
			GenericXLogFinish(state);
			UnlockReleaseBuffer(metabuf);
			UnlockReleaseBuffer(cur);
			continue;
		}
		if (prev != primary)
			UnlockReleaseBuffer(prev);
		prev = cur;
	}
	if (prev != primary)
		UnlockReleaseBuffer(prev);
}

/*
 * Move the entries of the old bucket's chain that now belong to the new
 * bucket.  Both primary pages are locked exclusively by the caller.  Every
 * WAL record removes a batch from one old page and adds it to one new page,
 * so a crash can leave the split unfinished but never loses or duplicates
 * an entry; the primary pages' STEWARD_HASH_SPLITTING flags tell readers to look in
 * both buckets and writers to finish the job.
 */
static void
move_entries(Relation index, Buffer oldprimary, Buffer newprimary,
			 uint32 newbucket)
{
	const StewardHashMetaData *meta = steward_hash_get_meta(index, true);
	Buffer		tail = newprimary;
	Buffer		cur = oldprimary;
	GenericXLogState *state;
	Page		oldpage;
	Page		newpage;

	/*
	 * Serializable transactions that read the old bucket hold predicate
	 * locks on its primary page; some of the keys they looked up now belong
	 * to the new bucket, where later inserts check the new primary page.
	 * Copy the locks there first (as core hash's _hash_splitbucket does),
	 * while both pages are locked, so no insert into the new bucket can
	 * come before them.  Finishing an interrupted split copies them again:
	 * a prepared transaction's locks survive a restart.
	 */
	PredicateLockPageSplit(index, BufferGetBlockNumber(oldprimary),
						   BufferGetBlockNumber(newprimary));

	/* The new chain may already hold entries (finishing after a crash). */
	while (StewardHashPageGetOpaque(BufferGetPage(tail))->next != InvalidBlockNumber)
	{
		Buffer		next = ReadBuffer(index, StewardHashPageGetOpaque(BufferGetPage(tail))->next);

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
			int			n = steward_hash_page_nentries(BufferGetPage(cur));
			StewardHashEntry *entries = steward_hash_page_entries(BufferGetPage(cur));
			int			nmove = 0;
			int			room;

			for (int i = 0; i < n; i++)
				if (steward_hash_to_bucket(steward_hash_entry_hash(&entries[i]), meta->maxbucket,
									   meta->highmask, meta->lowmask) == newbucket)
					nmove++;
			if (nmove == 0)
				break;

			if (!steward_hash_page_has_room(BufferGetPage(tail)))
			{
				Buffer		metabuf;
				Buffer		newbuf;
				Page		tailpage;

				state = GenericXLogStart(index);
				tailpage = GenericXLogRegisterBuffer(state, tail, 0);
				newbuf = steward_hash_new_overflow(index, state, &metabuf, &newpage, newbucket);
				StewardHashPageGetOpaque(tailpage)->next = BufferGetBlockNumber(newbuf);
				GenericXLogFinish(state);
				UnlockReleaseBuffer(metabuf);
				if (tail != newprimary)
					UnlockReleaseBuffer(tail);
				tail = newbuf;
			}

			state = GenericXLogStart(index);
			oldpage = GenericXLogRegisterBuffer(state, cur, 0);
			newpage = GenericXLogRegisterBuffer(state, tail, 0);
			entries = steward_hash_page_entries(oldpage);
			room = (((PageHeader) newpage)->pd_upper - ((PageHeader) newpage)->pd_lower) /
				sizeof(StewardHashEntry);
			/* Walk backwards so removals do not disturb unvisited slots. */
			for (int i = steward_hash_page_nentries(oldpage) - 1; i >= 0 && room > 0; i--)
			{
				uint64		h = steward_hash_entry_hash(&entries[i]);

				if (steward_hash_to_bucket(h, meta->maxbucket, meta->highmask,
									   meta->lowmask) != newbucket)
					continue;
				steward_hash_page_add_entry(newpage, h, &entries[i].tid);
				steward_hash_page_remove_entry(oldpage, i);
				room--;
			}
			GenericXLogFinish(state);
		}

		next = StewardHashPageGetOpaque(BufferGetPage(cur))->next;
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
	steward_hash_unlink_empty_pages(index, oldprimary);

	state = GenericXLogStart(index);
	oldpage = GenericXLogRegisterBuffer(state, oldprimary, 0);
	newpage = GenericXLogRegisterBuffer(state, newprimary, 0);
	StewardHashPageGetOpaque(oldpage)->flags &= ~STEWARD_HASH_SPLITTING;
	StewardHashPageGetOpaque(newpage)->flags &= ~STEWARD_HASH_SPLITTING;
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
	Buffer		metabuf = ReadBuffer(index, STEWARD_HASH_METAPAGE);
	StewardHashMeta	meta;
	uint32		newbucket,
				oldbucket;
	Buffer		oldbuf,
				newbuf;
	GenericXLogState *state;
	Page		metapage,
				oldpage,
				newpage;

	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	meta = StewardHashPageGetMeta(BufferGetPage(metabuf));
	newbucket = meta->maxbucket + 1;
	oldbucket = newbucket & meta->lowmask;
	if (newbucket >= STEWARD_HASH_MAX_BUCKETS ||
		(uint64) meta->noverflow * STEWARD_HASH_SPLIT_RATIO <= newbucket)
	{
		UnlockReleaseBuffer(metabuf);
		return false;
	}

	oldbuf = ReadBuffer(index, steward_hash_bucket_block(meta, oldbucket));
	if (!ConditionalLockBuffer(oldbuf))
	{
		ReleaseBuffer(oldbuf);
		UnlockReleaseBuffer(metabuf);
		return false;
	}
	if ((StewardHashPageGetOpaque(BufferGetPage(oldbuf))->flags & STEWARD_HASH_SPLITTING) ||
		!steward_hash_create_bucket_pages(index, metabuf, newbucket))
	{
		UnlockReleaseBuffer(oldbuf);
		UnlockReleaseBuffer(metabuf);
		return false;
	}
	meta = StewardHashPageGetMeta(BufferGetPage(metabuf));
	newbuf = ReadBuffer(index, steward_hash_bucket_block(meta, newbucket));
	LockBuffer(newbuf, BUFFER_LOCK_EXCLUSIVE);

	/* One record: the new bucket exists and both buckets are marked. */
	state = GenericXLogStart(index);
	metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
	oldpage = GenericXLogRegisterBuffer(state, oldbuf, 0);
	newpage = GenericXLogRegisterBuffer(state, newbuf, GENERIC_XLOG_FULL_IMAGE);
	meta = StewardHashPageGetMeta(metapage);
	meta->maxbucket = newbucket;
	if (newbucket > meta->highmask)
	{
		meta->lowmask = meta->highmask;
		meta->highmask = newbucket | meta->lowmask;
	}
	steward_hash_init_page(newpage, STEWARD_HASH_PAGE_BUCKET | STEWARD_HASH_SPLIT_TARGET, newbucket);
	StewardHashPageGetOpaque(newpage)->split_max = newbucket;
	StewardHashPageGetOpaque(newpage)->partner = oldbucket;
	StewardHashPageGetOpaque(oldpage)->flags |= STEWARD_HASH_SPLIT_SOURCE;
	StewardHashPageGetOpaque(oldpage)->split_max = newbucket;
	StewardHashPageGetOpaque(oldpage)->partner = newbucket;
	GenericXLogFinish(state);

	/* Others may use the metapage again; both buckets stay locked. */
	UnlockReleaseBuffer(metabuf);

	move_entries(index, oldbuf, newbuf, newbucket);

	UnlockReleaseBuffer(newbuf);
	UnlockReleaseBuffer(oldbuf);
	return true;
}

/*
 * See steward_hash.h: no locks held on entry or exit; splits at most
 * STEWARD_HASH_MAX_SPLITS buckets, skipping a busy one.  Each split holds
 * the metapage's buffer exclusively, then the old bucket's (conditionally:
 * never waits for it) and the new one's; the metapage is let go before the
 * entries move (steward_hash_new_overflow takes it again for a new page),
 * and the relation extension lock is taken while the index grows.  Raises
 * the errors of steward_hash_create_bucket_pages, steward_hash_new_overflow
 * (XX002 for a bad free list), steward_hash_get_meta and ReadBuffer.
 */
void
steward_hash_try_split(Relation index)
{
	for (int i = 0; i < STEWARD_HASH_MAX_SPLITS; i++)
		if (!split_one(index))
			break;
}

/*
 * Complete a split that a crash interrupted.  "bucket" is either side; the
 * locks are taken old bucket first, as steward_hash_try_split does: the
 * bucket's primary page shared to read its partner, then both primary
 * pages exclusively, released before returning, and the chain pages and
 * metapage that moving entries needs (steward_hash_new_overflow).  Raises
 * steward_hash_get_meta's errors, steward_hash_bucket_block's XX000 for a
 * bucket past the segments (corruption), steward_hash_new_overflow's and
 * ReadBuffer's errors.
 */
void
steward_hash_finish_split(Relation index, uint32 bucket)
{
	const StewardHashMetaData *meta = steward_hash_get_meta(index, true);
	Buffer		buf = ReadBuffer(index, steward_hash_bucket_block(meta, bucket));
	StewardHashPageOpaque opaque;
	uint32		oldbucket,
				newbucket;
	Buffer		oldbuf,
				newbuf;

	LockBuffer(buf, BUFFER_LOCK_SHARE);
	opaque = StewardHashPageGetOpaque(BufferGetPage(buf));
	if (!(opaque->flags & STEWARD_HASH_SPLITTING))
	{
		UnlockReleaseBuffer(buf);
		return;
	}
	oldbucket = (opaque->flags & STEWARD_HASH_SPLIT_SOURCE) ? bucket : opaque->partner;
	newbucket = (opaque->flags & STEWARD_HASH_SPLIT_SOURCE) ? opaque->partner : bucket;
	UnlockReleaseBuffer(buf);

	oldbuf = ReadBuffer(index, steward_hash_bucket_block(meta, oldbucket));
	LockBuffer(oldbuf, BUFFER_LOCK_EXCLUSIVE);
	newbuf = ReadBuffer(index, steward_hash_bucket_block(meta, newbucket));
	LockBuffer(newbuf, BUFFER_LOCK_EXCLUSIVE);

	/*
	 * Someone else may have finished it while we were not holding locks.
	 * The flags are set and cleared together, in one WAL record each.
	 */
	if ((StewardHashPageGetOpaque(BufferGetPage(oldbuf))->flags & STEWARD_HASH_SPLIT_SOURCE) ||
		(StewardHashPageGetOpaque(BufferGetPage(newbuf))->flags & STEWARD_HASH_SPLIT_TARGET))
		move_entries(index, oldbuf, newbuf, newbucket);

	UnlockReleaseBuffer(newbuf);
	UnlockReleaseBuffer(oldbuf);
}
