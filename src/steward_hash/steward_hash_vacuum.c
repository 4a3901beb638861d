/*-------------------------------------------------------------------------
 *
 * steward_hash_vacuum.c
 *	  VACUUM support for steward_hash: remove entries of dead tuples, give
 *	  emptied overflow pages back to the free list (steward_hash_split.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "steward_hash/steward_hash.h"

/* Remove dead entries from one page; returns the number left. */
static int
vacuum_page(Relation index, Buffer buf, IndexBulkDeleteCallback callback,
			void *callback_state, IndexBulkDeleteResult *stats)
{
	Page		page = BufferGetPage(buf);
	StewardHashEntry *entries = steward_hash_page_entries(page);
	int			n = steward_hash_page_nentries(page);
	bool		any = false;
	GenericXLogState *state;

	for (int i = 0; i < n && !any; i++)
		any = callback(&entries[i].tid, callback_state);
	if (!any)
		return n;

	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	entries = steward_hash_page_entries(page);
	for (int i = steward_hash_page_nentries(page) - 1; i >= 0; i--)
	{
		if (callback(&entries[i].tid, callback_state))
		{
			steward_hash_page_remove_entry(page, i);
			stats->tuples_removed += 1;
		}
	}
	n = steward_hash_page_nentries(page);
	GenericXLogFinish(state);
	return n;
}

static Buffer
lock_bucket(Relation index, uint32 bucket)
{
	for (;;)
	{
		const StewardHashMetaData *meta = steward_hash_get_meta(index, true);
		Buffer		buf = ReadBuffer(index, steward_hash_bucket_block(meta, bucket));

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (!(StewardHashPageGetOpaque(BufferGetPage(buf))->flags & STEWARD_HASH_SPLITTING))
			return buf;
		UnlockReleaseBuffer(buf);
		steward_hash_finish_split(index, bucket);
	}
}

/*
 * Buckets are visited in increasing order, re-reading maxbucket as we go. A
 * split only moves entries from a bucket to a higher-numbered one, so an
 * entry moved during the pass is either already clean or still ahead.
 * Core holds the index's lock; each bucket's primary page is held
 * exclusively while its chain is cleaned (chain pages lock-coupled,
 * exclusively; the metapage exclusively to free a page), and an
 * interrupted split is finished first.  Raises steward_hash_get_meta's
 * and ReadBuffer's errors, steward_hash_bucket_block's XX000 for a bucket
 * past the segments (corruption), and 53200.
 */
IndexBulkDeleteResult *
steward_hash_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			  IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	double		remaining = 0;

	if (stats == NULL)
		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));

	for (uint32 bucket = 0; bucket <= steward_hash_get_meta(index, true)->maxbucket; bucket++)
	{
		Buffer		primary = lock_bucket(index, bucket);
		Buffer		cur = primary;

		for (;;)
		{
			BlockNumber next;

			vacuum_delay_point();
			remaining += vacuum_page(index, cur, callback, callback_state, stats);
			next = StewardHashPageGetOpaque(BufferGetPage(cur))->next;
			if (cur != primary)
				UnlockReleaseBuffer(cur);
			if (next == InvalidBlockNumber)
				break;
			cur = ReadBuffer(index, next);
			LockBuffer(cur, BUFFER_LOCK_EXCLUSIVE);
		}
		steward_hash_unlink_empty_pages(index, primary);
		UnlockReleaseBuffer(primary);
	}
	stats->num_index_tuples = remaining;
	stats->estimated_count = false;
	return stats;
}

/*
 * Count pages and entries; record the count in the metapage (its buffer
 * exclusively, WAL-logged).  Without a bulkdelete pass it counts every
 * bucket's chain (steward_hash_count_bucket, shared buffer locks; no
 * memory per entry).  Core holds the index's lock.  Raises
 * steward_hash_count_bucket's and steward_hash_get_meta's errors.
 */
IndexBulkDeleteResult *
steward_hash_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
{
	Relation	index = info->index;
	Buffer		metabuf;
	GenericXLogState *state;
	Page		metapage;

	if (info->analyze_only)
		return stats;

	if (stats == NULL)
	{
		/* No bulkdelete pass ran: count the entries now. */
		const StewardHashMetaData *meta = steward_hash_get_meta(index, true);
		double		count = 0;

		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));
		for (uint32 bucket = 0; bucket <= meta->maxbucket; bucket++)
		{
			count += steward_hash_count_bucket(index, bucket);
			meta = steward_hash_get_meta(index, false);
		}
		stats->num_index_tuples = count;
		stats->estimated_count = false;
	}
	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->pages_free = steward_hash_get_meta(index, true)->nfree;

	metabuf = ReadBuffer(index, STEWARD_HASH_METAPAGE);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
	StewardHashPageGetMeta(metapage)->ntuples = stats->num_index_tuples;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(metabuf);
	return stats;
}
