/*-------------------------------------------------------------------------
 *
 * steward_hash_page.c
 *	  Pages, the metapage and its backend-local cache, bucket addressing,
 *	  extending the index, bucket segments and key hashing for steward_hash:
 *	  the layer below splits and overflow pages (steward_hash_split.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/xloginsert.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "steward_hash/steward_hash.h"

/*
 * Initialise page as a steward_hash page of kind flags for bucket: empty,
 * entries start at STEWARD_HASH_ENTRIES_START.  The caller holds the buffer
 * exclusively and WAL-logs it.  Takes no lock and raises no error (only
 * memory of page is written).
 */
void
steward_hash_init_page(Page page, uint16 flags, uint32 bucket)
{
	StewardHashPageOpaque opaque;

	PageInit(page, BLCKSZ, sizeof(StewardHashPageOpaqueData));
	((PageHeader) page)->pd_lower = STEWARD_HASH_ENTRIES_START;
	opaque = StewardHashPageGetOpaque(page);
	opaque->next = InvalidBlockNumber;
	opaque->bucket = bucket;
	opaque->split_max = 0;
	opaque->partner = 0;
	opaque->flags = flags;
	opaque->unused = 0;
}

/*
 * An empty index: one bucket whose segment has not been allocated yet (the
 * caller allocates segment 0).  pd_lower covers the metadata so that
 * generic WAL, which skips the hole between pd_lower and pd_upper, logs it.
 * As steward_hash_init_page: the caller holds the buffer exclusively and
 * WAL-logs it; takes no lock and raises no error.
 */
void
steward_hash_init_metapage(Page page)
{
	StewardHashMeta meta;

	steward_hash_init_page(page, STEWARD_HASH_PAGE_META, 0);
	meta = StewardHashPageGetMeta(page);
	memset(meta, 0, sizeof(StewardHashMetaData));
	meta->magic = STEWARD_HASH_MAGIC;
	meta->version = STEWARD_HASH_VERSION;
	meta->maxbucket = 0;
	meta->highmask = 1;
	meta->lowmask = 0;
	meta->nsegments = 0;
	meta->freehead = InvalidBlockNumber;
	meta->nfree = 0;
	meta->ntuples = 0;
	((PageHeader) page)->pd_lower =
		((char *) meta + sizeof(StewardHashMetaData)) - (char *) page;
}

/* Which segment holds a bucket, and the first bucket of that segment. */
static void
bucket_segment(uint32 bucket, uint32 *segment, uint32 *first)
{
	if (bucket == 0)
	{
		*segment = 0;
		*first = 0;
	}
	else if (bucket < STEWARD_HASH_SEGMENT_BUCKETS)
	{
		int			g = pg_leftmost_one_pos32(bucket) + 1;

		*segment = g;
		*first = (uint32) 1 << (g - 1);
	}
	else
	{
		*segment = STEWARD_HASH_SMALL_SEGMENTS - 1 + bucket / STEWARD_HASH_SEGMENT_BUCKETS;
		*first = (bucket / STEWARD_HASH_SEGMENT_BUCKETS) * STEWARD_HASH_SEGMENT_BUCKETS;
	}
}

static uint32
segment_size(uint32 segment)
{
	if (segment == 0)
		return 1;
	if (segment < STEWARD_HASH_SMALL_SEGMENTS)
		return (uint32) 1 << (segment - 1);
	return STEWARD_HASH_SEGMENT_BUCKETS;
}

/*
 * Block of bucket's primary page under meta.  elog ERROR (corruption) if
 * the bucket lies past the allocated segments.
 */
BlockNumber
steward_hash_bucket_block(const StewardHashMetaData *meta, uint32 bucket)
{
	uint32		segment,
				first;

	bucket_segment(bucket, &segment, &first);
	if (segment >= meta->nsegments)
		elog(ERROR, "steward_hash bucket %u has no segment", bucket);
	return meta->segstart[segment] + (bucket - first);
}

/*
 * Raise 'index is not a steward_hash index' (XX002) unless page is a
 * steward_hash metapage, and XX002 with a REINDEX hint if it is of another
 * version.  Takes no lock: the caller holds the metapage's buffer locked
 * (shared at least) while it reads it.
 */
void
steward_hash_check_metapage(Relation index, Page page)
{
	StewardHashMeta	meta = StewardHashPageGetMeta(page);

	if (!(StewardHashPageGetOpaque(page)->flags & STEWARD_HASH_PAGE_META) ||
		meta->magic != STEWARD_HASH_MAGIC)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("index \"%s\" is not a steward_hash index",
						RelationGetRelationName(index))));
	if (meta->version != STEWARD_HASH_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INDEX_CORRUPTED),
				 errmsg("steward_hash index \"%s\" has version %u, expected %u",
						RelationGetRelationName(index), meta->version,
						STEWARD_HASH_VERSION),
				 errhint("REINDEX the index.")));
}

/*
 * The metapage as this backend last saw it.  Lookups use the cached copy
 * and detect staleness on the bucket page they land on (split_max; see
 * README.md), so the metapage is read only after a split.  refresh (or a
 * first call) reads the metapage under a shared buffer content lock, released
 * before returning; no heavyweight lock (the caller holds the index's).
 * Raises steward_hash_check_metapage's XX002, ReadBuffer's read errors
 * (XX001 for a corrupt page, errcode_for_file_access for a failed read) and
 * 53200 if the cache cannot be allocated in rd_indexcxt.
 */
const StewardHashMetaData *
steward_hash_get_meta(Relation index, bool refresh)
{
	Buffer		buf;
	Page		page;

	if (index->rd_amcache != NULL && !refresh)
		return (const StewardHashMetaData *) index->rd_amcache;

	if (index->rd_amcache == NULL)
		index->rd_amcache = MemoryContextAlloc(index->rd_indexcxt,
											   sizeof(StewardHashMetaCache));
	buf = ReadBuffer(index, STEWARD_HASH_METAPAGE);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	steward_hash_check_metapage(index, page);
	memcpy(index->rd_amcache, StewardHashPageGetMeta(page), sizeof(StewardHashMetaData));
	UnlockReleaseBuffer(buf);
	return (const StewardHashMetaData *) index->rd_amcache;
}

/*
 * Append an entry to page, which must have room (steward_hash_page_has_room).
 * The caller holds the buffer exclusively and WAL-logs the change.  Takes no
 * lock and raises no error (a full page is an Assert, not a check).
 */
void
steward_hash_page_add_entry(Page page, uint64 hash, ItemPointer tid)
{
	int			n = steward_hash_page_nentries(page);

	Assert(steward_hash_page_has_room(page));
	steward_hash_entry_set(&steward_hash_page_entries(page)[n], hash, tid);
	((PageHeader) page)->pd_lower += sizeof(StewardHashEntry);
}

/*
 * Remove entry i by moving the last entry into its place.  The caller holds
 * the buffer exclusively and WAL-logs the change.  Takes no lock and raises
 * no error (i out of range is an Assert, not a check).
 */
void
steward_hash_page_remove_entry(Page page, int i)
{
	int			n = steward_hash_page_nentries(page);
	StewardHashEntry *entries = steward_hash_page_entries(page);

	Assert(i >= 0 && i < n);
	if (i != n - 1)
		entries[i] = entries[n - 1];
	((PageHeader) page)->pd_lower -= sizeof(StewardHashEntry);
}

/*
 * Whether one more entry fits on page.  Takes no lock (the caller holds the
 * buffer locked) and raises no error.
 */
bool
steward_hash_page_has_room(Page page)
{
	return ((PageHeader) page)->pd_lower + sizeof(StewardHashEntry) <=
		((PageHeader) page)->pd_upper;
}

/*
 * A new, exclusively locked page at the end of the index: the caller
 * releases it.  Takes the index's relation extension lock (ExclusiveLock;
 * none for a backend-local index) while it extends, released before
 * returning.  Raises the errors of extending the index (54000 past the
 * maximum file size, errcode_for_file_access, e.g. 53100 when the disk is
 * full).
 */
Buffer
steward_hash_extend(Relation index)
{
	Buffer		buf;
	bool		needLock = !RELATION_IS_LOCAL(index);

	if (needLock)
		LockRelationForExtension(index, ExclusiveLock);
	buf = ReadBuffer(index, P_NEW);
	LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
	if (needLock)
		UnlockRelationForExtension(index, ExclusiveLock);
	return buf;
}

/*
 * Make sure the segment holding "bucket" exists, allocating it if this is
 * its first bucket.  Caller holds the metapage exclusively.  The segment's
 * pages are initialized as unused and WAL-logged as full images before the
 * metapage points at them, so a standby or a crash never sees a segment
 * pointer past the end of the index; a crash in between leaks the pages
 * (at most one segment), it never loses entries.  Returns false when the
 * index cannot address more buckets.  Takes the index's relation extension
 * lock (ExclusiveLock; none for a backend-local index) for the whole segment
 * and each new page's buffer exclusively, all released before returning.
 * Raises the errors of extending the index (54000 past the maximum file
 * size, errcode_for_file_access, e.g. 53100 when the disk is full); an error
 * after the pages are allocated and before the metapage is updated only
 * leaks them (the comment above).
 */
bool
steward_hash_create_bucket_pages(Relation index, Buffer metabuf, uint32 bucket)
{
	StewardHashMeta	meta = StewardHashPageGetMeta(BufferGetPage(metabuf));
	uint32		segment,
				first,
				size;
	BlockNumber start = InvalidBlockNumber;
	bool		needLock = !RELATION_IS_LOCAL(index);
	GenericXLogState *state;
	Page		metapage;

	bucket_segment(bucket, &segment, &first);
	if (segment < meta->nsegments)
		return true;
	if (segment >= STEWARD_HASH_MAX_SEGMENTS || segment != meta->nsegments)
		return false;

	size = segment_size(segment);
	/* One extension lock for the whole segment keeps its blocks contiguous. */
	if (needLock)
		LockRelationForExtension(index, ExclusiveLock);
	for (uint32 i = 0; i < size; i++)
	{
		Buffer		buf = ReadBuffer(index, P_NEW);

		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		if (i == 0)
			start = BufferGetBlockNumber(buf);
		Assert(BufferGetBlockNumber(buf) == start + i);
		START_CRIT_SECTION();
		steward_hash_init_page(BufferGetPage(buf), STEWARD_HASH_PAGE_UNUSED, first + i);
		MarkBufferDirty(buf);
		if (RelationNeedsWAL(index))
			log_newpage_buffer(buf, true);
		END_CRIT_SECTION();
		UnlockReleaseBuffer(buf);
	}
	if (needLock)
		UnlockRelationForExtension(index, ExclusiveLock);

	state = GenericXLogStart(index);
	metapage = GenericXLogRegisterBuffer(state, metabuf, 0);
	meta = StewardHashPageGetMeta(metapage);
	meta->segstart[segment] = start;
	meta->nsegments = segment + 1;
	GenericXLogFinish(state);
	return true;
}

/*
 * The 64-bit hash of a row's key columns: each column's extended hash
 * (seed 0) combined in column order.  Rows with a NULL key are not indexed.
 * Takes no lock.  Raises what the operator class's support function raises,
 * and index_getprocinfo's XX000 'missing support function' for an operator
 * class without support function 1 (only a superuser can create one).
 */
uint64
steward_hash_values(Relation index, Datum *values, bool *isnull, bool *anynull)
{
	int			natts = IndexRelationGetNumberOfKeyAttributes(index);
	uint64		hash = 0;

	*anynull = false;
	for (int i = 0; i < natts; i++)
	{
		FmgrInfo   *proc;
		uint64		h;

		if (isnull[i])
		{
			*anynull = true;
			return 0;
		}
		proc = index_getprocinfo(index, i + 1, STEWARD_HASH_PROC);
		h = DatumGetUInt64(FunctionCall2Coll(proc, index->rd_indcollation[i],
											 values[i], UInt64GetDatum(0)));
		hash = (i == 0) ? h : hash_combine64(hash, h);
	}
	return hash;
}
