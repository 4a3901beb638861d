/*-------------------------------------------------------------------------
 *
 * steward_hash_build.c
 *	  CREATE INDEX for steward_hash: sort by bucket, then fill pages in
 *	  one pass.
 *
 * The heap is scanned once; every (hash, TID) goes into a tuplesort keyed
 * by the bit-reversed hash.  Sorting on reversed bits groups entries by
 * their low bits, i.e. by bucket, for any power-of-two bucket count, so the
 * bucket count can be chosen after the scan, from the exact number of
 * entries.  Pages are then written bucket by bucket without WAL and logged
 * as full images at the end, as btree's build does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
#include "utils/rel.h"
#include "utils/tuplesort.h"

#include "steward_hash/steward_hash.h"

/* Aim for buckets three quarters full after a build. */
#define STEWARD_HASH_BUILD_FILL 0.75

typedef struct BuildState
{
	Tuplesortstate *sort;
	TupleTableSlot *slot;
	double		count;
} BuildState;

static uint64
reverse_bits64(uint64 x)
{
	x = ((x >> 1) & UINT64CONST(0x5555555555555555)) | ((x & UINT64CONST(0x5555555555555555)) << 1);
	x = ((x >> 2) & UINT64CONST(0x3333333333333333)) | ((x & UINT64CONST(0x3333333333333333)) << 2);
	x = ((x >> 4) & UINT64CONST(0x0F0F0F0F0F0F0F0F)) | ((x & UINT64CONST(0x0F0F0F0F0F0F0F0F)) << 4);
	x = ((x >> 8) & UINT64CONST(0x00FF00FF00FF00FF)) | ((x & UINT64CONST(0x00FF00FF00FF00FF)) << 8);
	x = ((x >> 16) & UINT64CONST(0x0000FFFF0000FFFF)) | ((x & UINT64CONST(0x0000FFFF0000FFFF)) << 16);
	return (x >> 32) | (x << 32);
}

/* Signed sort key whose order is the unsigned order of the reversed hash. */
static int64
hash_to_sortkey(uint64 hash)
{
	return (int64) (reverse_bits64(hash) ^ (UINT64CONST(1) << 63));
}

static uint64
sortkey_to_hash(int64 key)
{
	return reverse_bits64((uint64) key ^ (UINT64CONST(1) << 63));
}

static void
build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			   bool tupleIsAlive, void *state)
{
	BuildState *bs = (BuildState *) state;
	bool		anynull;
	uint64		hash = steward_hash_values(index, values, isnull, &anynull);
	TupleTableSlot *slot = bs->slot;

	if (anynull)
		return;
	ExecClearTuple(slot);
	slot->tts_values[0] = Int64GetDatum(hash_to_sortkey(hash));
	slot->tts_values[1] = Int64GetDatum(((int64) ItemPointerGetBlockNumber(tid) << 16) |
										ItemPointerGetOffsetNumber(tid));
	slot->tts_isnull[0] = false;
	slot->tts_isnull[1] = false;
	ExecStoreVirtualTuple(slot);
	tuplesort_puttupleslot(bs->sort, slot);
	bs->count += 1;
}

static uint32
buckets_for(double count)
{
	double		want = ceil(count / (STEWARD_HASH_PAGE_CAPACITY * STEWARD_HASH_BUILD_FILL));
	uint32		nbuckets = 1;

	while (nbuckets < want && nbuckets * 2 <= STEWARD_HASH_MAX_BUCKETS)
		nbuckets *= 2;
	return nbuckets;
}

/* Create buckets 0..nbuckets-1 and point the metapage at them. */
static void
create_buckets(Relation index, Buffer metabuf, uint32 nbuckets)
{
	StewardHashMeta	meta;

	for (uint32 b = 0; b < nbuckets; b++)
	{
		Buffer		buf;

		if (!steward_hash_create_bucket_pages(index, metabuf, b))
			elog(ERROR, "could not allocate bucket %u of steward_hash index", b);
		meta = StewardHashPageGetMeta(BufferGetPage(metabuf));
		buf = ReadBuffer(index, steward_hash_bucket_block(meta, b));
		LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
		steward_hash_init_page(BufferGetPage(buf), STEWARD_HASH_PAGE_BUCKET, b);
		MarkBufferDirty(buf);
		UnlockReleaseBuffer(buf);
	}
	meta = StewardHashPageGetMeta(BufferGetPage(metabuf));
	meta->maxbucket = nbuckets - 1;
	meta->lowmask = nbuckets - 1;
	meta->highmask = nbuckets * 2 - 1;
	MarkBufferDirty(metabuf);
}

/* Append the sorted entries to their buckets' chains. */
static void
fill_buckets(Relation index, Buffer metabuf, Tuplesortstate *sort,
			 TupleTableSlot *slot, uint32 nbuckets)
{
	StewardHashMeta	meta = StewardHashPageGetMeta(BufferGetPage(metabuf));
	Buffer		tail = InvalidBuffer;
	uint32		tailbucket = 0;

	while (tuplesort_gettupleslot(sort, true, false, slot, NULL))
	{
		bool		isnull;
		uint64		hash = sortkey_to_hash(DatumGetInt64(slot_getattr(slot, 1, &isnull)));
		int64		packed = DatumGetInt64(slot_getattr(slot, 2, &isnull));
		uint32		bucket = (uint32) hash & (nbuckets - 1);
		ItemPointerData tid;

		ItemPointerSet(&tid, (BlockNumber) (packed >> 16), (OffsetNumber) (packed & 0xFFFF));
		if (!BufferIsValid(tail) || bucket != tailbucket)
		{
			if (BufferIsValid(tail))
				UnlockReleaseBuffer(tail);
			tail = ReadBuffer(index, steward_hash_bucket_block(meta, bucket));
			LockBuffer(tail, BUFFER_LOCK_EXCLUSIVE);
			tailbucket = bucket;
		}
		if (!steward_hash_page_has_room(BufferGetPage(tail)))
		{
			Buffer		newbuf = steward_hash_extend(index);

			steward_hash_init_page(BufferGetPage(newbuf), STEWARD_HASH_PAGE_OVERFLOW, bucket);
			StewardHashPageGetOpaque(BufferGetPage(tail))->next = BufferGetBlockNumber(newbuf);
			meta->noverflow++;
			MarkBufferDirty(tail);
			UnlockReleaseBuffer(tail);
			tail = newbuf;
		}
		steward_hash_page_add_entry(BufferGetPage(tail), hash, &tid);
		MarkBufferDirty(tail);
		CHECK_FOR_INTERRUPTS();
	}
	if (BufferIsValid(tail))
		UnlockReleaseBuffer(tail);
}

static void
refuse_unique(Relation index)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("steward_hash does not support unique indexes"),
			 errdetail("PostgreSQL 15 accepts only btree unique indexes for INSERT ... ON CONFLICT; a unique steward_hash index would make every ON CONFLICT on the table fail."),
			 errhint("Enforce uniqueness with an exclusion constraint, which also works as an ON CONFLICT DO NOTHING arbiter: ALTER TABLE ... ADD CONSTRAINT ... EXCLUDE USING steward_hash (col1 WITH =, col2 WITH =);")));
}

/*
 * ambuild: CREATE INDEX / REINDEX, as a sorted bulk load into enough
 * buckets for the table's rows (see the file header).  Core holds the
 * locks on the table and the new index; this holds the metapage's buffer
 * exclusively for the whole build, each new page's while it is filled,
 * and the relation extension lock while it extends.  Raises 0A000 for a
 * unique index, the support function's errors (steward_hash_values), the
 * sort's (temporary files past maintenance_work_mem), the extension's
 * (steward_hash_extend) and 53200; its two elog ERRORs (an index that
 * already has pages, a bucket beyond the addressable ones) cannot happen:
 * core builds into an empty relation, and buckets_for stays within
 * STEWARD_HASH_MAX_BUCKETS.
 */
IndexBuildResult *
steward_hash_build(Relation heap, Relation index, struct IndexInfo *indexInfo)
{
	IndexBuildResult *result;
	BuildState	bs;
	TupleDesc	sortdesc;
	AttrNumber	sortcol = 1;
	Oid			sortop = Int8LessOperator;
	Oid			sortcoll = InvalidOid;
	bool		nullsfirst = false;
	double		reltuples;
	Buffer		metabuf;
	uint32		nbuckets;

	if (indexInfo->ii_Unique)
		refuse_unique(index);
	if (RelationGetNumberOfBlocks(index) != 0)
		elog(ERROR, "index \"%s\" already contains data",
			 RelationGetRelationName(index));

	sortdesc = CreateTemplateTupleDesc(2);
	TupleDescInitEntry(sortdesc, 1, "sortkey", INT8OID, -1, 0);
	TupleDescInitEntry(sortdesc, 2, "tid", INT8OID, -1, 0);
	bs.sort = tuplesort_begin_heap(sortdesc, 1, &sortcol, &sortop, &sortcoll,
								   &nullsfirst, maintenance_work_mem, NULL,
								   TUPLESORT_NONE);
	bs.slot = MakeSingleTupleTableSlot(sortdesc, &TTSOpsMinimalTuple);
	bs.count = 0;

	reltuples = table_index_build_scan(heap, index, indexInfo, true, true,
									   build_callback, &bs, NULL);
	tuplesort_performsort(bs.sort);

	metabuf = steward_hash_extend(index);
	Assert(BufferGetBlockNumber(metabuf) == STEWARD_HASH_METAPAGE);
	steward_hash_init_metapage(BufferGetPage(metabuf));
	MarkBufferDirty(metabuf);

	nbuckets = buckets_for(bs.count);
	create_buckets(index, metabuf, nbuckets);
	fill_buckets(index, metabuf, bs.sort, bs.slot, nbuckets);
	StewardHashPageGetMeta(BufferGetPage(metabuf))->ntuples = bs.count;
	MarkBufferDirty(metabuf);
	UnlockReleaseBuffer(metabuf);

	tuplesort_end(bs.sort);
	ExecDropSingleTupleTableSlot(bs.slot);

	if (RelationNeedsWAL(index))
		log_newpage_range(index, MAIN_FORKNUM, 0,
						  RelationGetNumberOfBlocks(index), true);

	result = (IndexBuildResult *) palloc(sizeof(IndexBuildResult));
	result->heap_tuples = reltuples;
	result->index_tuples = bs.count;
	return result;
}

/*
 * The init fork of an unlogged index: metapage and one empty bucket.  Core
 * holds the index's lock; this takes none (the pages are written through
 * smgr, not shared buffers).  Raises the file errors of writing the fork
 * (errcode_for_file_access, 53100 when the disk is full); a failed fsync
 * of it is core's PANIC (data_sync_retry off, the default).
 */
void
steward_hash_buildempty(Relation index)
{
	PGAlignedBlock metablock;
	PGAlignedBlock bucketblock;
	Page		metapage = (Page) metablock.data;
	Page		bucketpage = (Page) bucketblock.data;
	StewardHashMeta	meta;

	steward_hash_init_metapage(metapage);
	meta = StewardHashPageGetMeta(metapage);
	meta->nsegments = 1;
	meta->segstart[0] = 1;
	steward_hash_init_page(bucketpage, STEWARD_HASH_PAGE_BUCKET, 0);

	PageSetChecksumInplace(metapage, 0);
	PageSetChecksumInplace(bucketpage, 1);
	smgrextend(RelationGetSmgr(index), INIT_FORKNUM, 0, (char *) metapage, true);
	smgrextend(RelationGetSmgr(index), INIT_FORKNUM, 1, (char *) bucketpage, true);
	log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM, 0,
				metapage, true);
	log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM, 1,
				bucketpage, true);
	smgrimmedsync(RelationGetSmgr(index), INIT_FORKNUM);
}
