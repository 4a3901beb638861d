/*-------------------------------------------------------------------------
 *
 * sthash_vacuum.c
 *	  VACUUM support for steward_hash: remove entries of dead tuples, give
 *	  emptied overflow pages back to the free list (sthash_split.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "hashindex/sthash.h"

/* Remove dead entries from one page; returns the number left. */
static int
vacuum_page(Relation index, Buffer buf, IndexBulkDeleteCallback callback,
			void *callback_state, IndexBulkDeleteResult *stats)
{
	Page		page = BufferGetPage(buf);
	StHashEntry *entries = sth_page_entries(page);
	int			n = sth_page_nentries(page);
	bool		any = false;
	GenericXLogState *state;

	for (int i = 0; i < n && !any; i++)
		any = callback(&entries[i].tid, callback_state);
	if (!any)
		return n;

	state = GenericXLogStart(index);
	page = GenericXLogRegisterBuffer(state, buf, 0);
	entries = sth_page_entries(page);
	for (int i = sth_page_nentries(page) - 1; i >= 0; i--)
	{
		if (callback(&entries[i].tid, callback_state))
		{
			sth_page_remove_entry(page, i);
			stats->tuples_removed += 1;
		}
	}
	n = sth_page_nentries(page);
	GenericXLogFinish(state);
	return n;
}

static Buffer
lock_bucket(Relation index, uint32 bucket)
{
	for (;;)
	{
		const StHashMetaData *meta = sth_get_meta(index, true);
		Buffer		buf = ReadBuffer(index, sth_bucket_block(meta, bucket));

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (!(StHashPageGetOpaque(BufferGetPage(buf))->flags & STH_SPLITTING))
			return buf;
		UnlockReleaseBuffer(buf);
		sth_finish_split(index, bucket);
	}
}

/*
 * Buckets are visited in increasing order, re-reading maxbucket as we go. A
 * split only moves entries from a bucket to a higher-numbered one, so an
 * entry moved during the pass is either already clean or still ahead.
 */
IndexBulkDeleteResult *
sthbulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
			  IndexBulkDeleteCallback callback, void *callback_state)
{
	Relation	index = info->index;
	double		remaining = 0;

	if (stats == NULL)
		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));

	for (uint32 bucket = 0; bucket <= sth_get_meta(index, true)->maxbucket; bucket++)
	{
		Buffer		primary = lock_bucket(index, bucket);
		Buffer		cur = primary;

		for (;;)
		{
			BlockNumber next;

			vacuum_delay_point();
			remaining += vacuum_page(index, cur, callback, callback_state, stats);
			next = StHashPageGetOpaque(BufferGetPage(cur))->next;
			if (cur != primary)
				UnlockReleaseBuffer(cur);
			if (next == InvalidBlockNumber)
				break;
			cur = ReadBuffer(index, next);
			LockBuffer(cur, BUFFER_LOCK_EXCLUSIVE);
		}
		sth_unlink_empty_pages(index, primary);
		UnlockReleaseBuffer(primary);
	}
	stats->num_index_tuples = remaining;
	stats->estimated_count = false;
	return stats;
}

/* Count pages and entries; record the count in the metapage. */
IndexBulkDeleteResult *
sthvacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats)
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
		const StHashMetaData *meta = sth_get_meta(index, true);
		double		count = 0;

		stats = (IndexBulkDeleteResult *) palloc0(sizeof(IndexBulkDeleteResult));
		for (uint32 bucket = 0; bucket <= meta->maxbucket; bucket++)
		{
			ItemPointerData *tids = NULL;
			int			ntids = 0,
						maxtids = 0;

			sth_collect_bucket(index, bucket, 0, true, &tids, &ntids, &maxtids);
			count += ntids;
			if (tids)
				pfree(tids);
			meta = sth_get_meta(index, false);
		}
		stats->num_index_tuples = count;
		stats->estimated_count = false;
	}
	stats->num_pages = RelationGetNumberOfBlocks(index);
	stats->pages_free = sth_get_meta(index, true)->nfree;

	metabuf = ReadBuffer(index, STHASH_METAPAGE);
	LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
	state = GenericXLogStart(index);
	metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
	StHashPageGetMeta(metapage)->ntuples = stats->num_index_tuples;
	GenericXLogFinish(state);
	UnlockReleaseBuffer(metabuf);
	return stats;
}
