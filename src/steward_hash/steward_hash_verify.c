/*-------------------------------------------------------------------------
 *
 * steward_hash_verify.c
 *	  steward.verify_index(): amcheck-style consistency check of a
 *	  steward_hash index against itself and its table, and
 *	  steward.hash_index_stats().
 *
 * verify_index takes ShareRowExclusiveLock on the table, then
 * AccessShareLock on the index (amcheck's order): writers and VACUUM wait,
 * readers do not.  Both matter: the heap cross-check needs a stable set of
 * rows, and a concurrent VACUUM could remove an entry we already collected
 * and then free its line pointer.  It refuses to run during recovery.  It
 * reports one row per problem; a healthy index yields no rows.
 *
 * The heap cross-check evaluates the index's expressions and predicate,
 * which the table's owner wrote: like amcheck, verify_index runs the check
 * as that owner under SECURITY_RESTRICTED_OPERATION with search_path pinned
 * and a GUC nest level rolled back (plumbing/as_owner.c), whoever calls it.
 *
 * Who may call them: verify_index, the table's owner or pg_read_all_stats;
 * hash_index_stats, the table's owner, pg_stat_scan_tables, or a role with
 * SELECT on the table that row security does not restrict there (its entry
 * count is the table's row count).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_authid.h"
#include "commands/defrem.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "storage/bufmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "steward_hash/steward_hash.h"

PG_FUNCTION_INFO_V1(steward_verify_index);
PG_FUNCTION_INFO_V1(steward_hash_index_stats);

typedef struct EntryKey
{
	ItemPointerData tid;
	uint64		hash;
} EntryKey;

typedef struct EntryEntry
{
	EntryKey	key;
	bool		seen_in_heap;
} EntryEntry;

typedef struct VerifyState
{
	Relation	index;
	Relation	heap;
	ReturnSetInfo *rsinfo;
	BlockNumber nblocks;
	bool	   *visited;		/* per block: reached from meta or free list */
	HTAB	   *entries;		/* (tid, hash) of every entry */
	int64		problems;
	uint32		noverflow;		/* overflow pages found in chains */
} VerifyState;

static void
report(VerifyState *vs, const char *kind, BlockNumber blkno, const char *fmt,...)
	pg_attribute_printf(4, 5);

static void
report(VerifyState *vs, const char *kind, BlockNumber blkno, const char *fmt,...)
{
	Datum		values[3];
	bool		nulls[3] = {0};
	StringInfoData buf;
	va_list		args;

	initStringInfo(&buf);
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	values[0] = CStringGetTextDatum(kind);
	if (blkno == InvalidBlockNumber)
		nulls[1] = true;
	else
		values[1] = Int64GetDatum((int64) blkno);
	values[2] = CStringGetTextDatum(buf.data);
	tuplestore_putvalues(vs->rsinfo->setResult, vs->rsinfo->setDesc, values, nulls);
	vs->problems++;
}

/* Mark a block as reached; false (and a report) if it was reached before. */
static bool
visit(VerifyState *vs, BlockNumber blkno, const char *what)
{
	if (blkno >= vs->nblocks)
	{
		report(vs, "bad page link", blkno,
			   "%s points to block %u beyond the end of the index (%u blocks)",
			   what, blkno, vs->nblocks);
		return false;
	}
	if (vs->visited[blkno])
	{
		report(vs, "bad page link", blkno,
			   "%s reaches block %u a second time", what, blkno);
		return false;
	}
	vs->visited[blkno] = true;
	return true;
}

static bool
page_structure_ok(VerifyState *vs, Page page, BlockNumber blkno)
{
	PageHeader	hdr = (PageHeader) page;

	if (PageIsNew(page) ||
		hdr->pd_special != BLCKSZ - MAXALIGN(sizeof(StewardHashPageOpaqueData)) ||
		hdr->pd_upper != hdr->pd_special ||
		hdr->pd_lower < STEWARD_HASH_ENTRIES_START || hdr->pd_lower > hdr->pd_upper ||
		(hdr->pd_lower - STEWARD_HASH_ENTRIES_START) % sizeof(StewardHashEntry) != 0)
	{
		report(vs, "bad page structure", blkno,
			   "page header has pd_lower %u, pd_upper %u, pd_special %u",
			   hdr->pd_lower, hdr->pd_upper, hdr->pd_special);
		return false;
	}
	return true;
}

static void
check_bucket(VerifyState *vs, const StewardHashMetaData *meta, uint32 bucket)
{
	BlockNumber blkno = steward_hash_bucket_block(meta, bucket);
	bool		primary = true;
	uint32		partner = bucket;
	int			chainlen = 0;

	while (blkno != InvalidBlockNumber)
	{
		Buffer		buf;
		Page		page;
		StewardHashPageOpaque opaque;
		int			n;
		StewardHashEntry *entries;

		if (!visit(vs, blkno, psprintf("bucket %u", bucket)))
			return;
		CHECK_FOR_INTERRUPTS();
		buf = ReadBuffer(vs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!page_structure_ok(vs, page, blkno))
		{
			UnlockReleaseBuffer(buf);
			return;
		}
		opaque = StewardHashPageGetOpaque(page);
		if ((opaque->flags & STEWARD_HASH_PAGE_KINDS) != (primary ? STEWARD_HASH_PAGE_BUCKET : STEWARD_HASH_PAGE_OVERFLOW) ||
			opaque->bucket != bucket)
			report(vs, "bad page structure", blkno,
				   "page of bucket %u chain has kind 0x%04x and bucket %u",
				   bucket, opaque->flags & STEWARD_HASH_PAGE_KINDS, opaque->bucket);
		if (primary && (opaque->flags & STEWARD_HASH_SPLIT_SOURCE))
			partner = opaque->partner;

		n = steward_hash_page_nentries(page);
		entries = steward_hash_page_entries(page);
		for (int i = 0; i < n; i++)
		{
			uint64		h = steward_hash_entry_hash(&entries[i]);
			uint32		b = steward_hash_to_bucket(h, meta->maxbucket, meta->highmask,
											   meta->lowmask);
			EntryKey	key;
			EntryEntry *entry;
			bool		found;

			if (b != bucket && b != partner)
				report(vs, "entry in wrong bucket", blkno,
					   "entry %d (tid (%u,%u)) has hash %016llx, which belongs in bucket %u, not %u",
					   i, ItemPointerGetBlockNumber(&entries[i].tid),
					   ItemPointerGetOffsetNumber(&entries[i].tid),
					   (unsigned long long) h, b, bucket);
			memset(&key, 0, sizeof(key));
			key.tid = entries[i].tid;
			key.hash = h;
			entry = hash_search(vs->entries, &key, HASH_ENTER, &found);
			if (found)
				report(vs, "duplicate entry", blkno,
					   "entry for tid (%u,%u) appears more than once",
					   ItemPointerGetBlockNumber(&key.tid),
					   ItemPointerGetOffsetNumber(&key.tid));
			else
				entry->seen_in_heap = false;	/* hash_search leaves it unset */
		}
		if (!primary)
			vs->noverflow++;
		blkno = opaque->next;
		UnlockReleaseBuffer(buf);
		primary = false;
		if (++chainlen > (int) vs->nblocks)
			return;
	}
}

static void
check_free_list(VerifyState *vs, const StewardHashMetaData *meta)
{
	BlockNumber blkno = meta->freehead;
	uint32		count = 0;

	while (blkno != InvalidBlockNumber)
	{
		Buffer		buf;
		Page		page;

		if (!visit(vs, blkno, "the free list"))
			return;
		buf = ReadBuffer(vs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (page_structure_ok(vs, page, blkno) &&
			!(StewardHashPageGetOpaque(page)->flags & STEWARD_HASH_PAGE_FREE))
			report(vs, "bad page structure", blkno,
				   "page on the free list is not marked free");
		blkno = PageIsNew(page) ? InvalidBlockNumber : StewardHashPageGetOpaque(page)->next;
		UnlockReleaseBuffer(buf);
		count++;
	}
	if (count != meta->nfree)
		report(vs, "bad metapage", STEWARD_HASH_METAPAGE,
			   "free list holds %u pages, metapage says %u", count, meta->nfree);
}

/* Pages nobody points to must be unused pages of a segment (or leaked). */
static void
check_unreached(VerifyState *vs)
{
	for (BlockNumber blkno = 1; blkno < vs->nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;

		if (vs->visited[blkno])
			continue;
		buf = ReadBuffer(vs->index, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		if (!PageIsNew(page) &&
			!(StewardHashPageGetOpaque(page)->flags & STEWARD_HASH_PAGE_UNUSED) &&
			steward_hash_page_nentries(page) > 0)
			report(vs, "orphan page", blkno,
				   "page with %d entries is not reachable from the metapage",
				   steward_hash_page_nentries(page));
		UnlockReleaseBuffer(buf);
	}
}

typedef struct HeapCheckState
{
	VerifyState *vs;
} HeapCheckState;

/* Every live row with a non-NULL key must have its entry. */
static void
heap_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull,
			  bool tupleIsAlive, void *state)
{
	VerifyState *vs = ((HeapCheckState *) state)->vs;
	bool		anynull;
	EntryKey	key;
	EntryEntry *entry;

	memset(&key, 0, sizeof(key));
	key.hash = steward_hash_values(index, values, isnull, &anynull);
	if (anynull)
		return;
	key.tid = *tid;
	entry = hash_search(vs->entries, &key, HASH_FIND, NULL);
	if (entry)
		entry->seen_in_heap = true;
	else if (tupleIsAlive)
		report(vs, "missing entry", InvalidBlockNumber,
			   "live tuple (%u,%u) has no entry with hash %016llx",
			   ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
			   (unsigned long long) key.hash);
}

/*
 * A pruned tuple leaves an LP_DEAD line pointer whose index entries VACUUM
 * has not removed yet: that is a valid state.  An unused or out-of-range
 * line pointer is not: VACUUM marks line pointers unused only after
 * removing their index entries.
 */
static bool
line_pointer_awaits_vacuum(Relation heap, ItemPointer tid)
{
	BlockNumber blkno = ItemPointerGetBlockNumber(tid);
	OffsetNumber offnum = ItemPointerGetOffsetNumber(tid);
	Buffer		buf;
	Page		page;
	bool		dead = false;

	if (blkno >= RelationGetNumberOfBlocks(heap))
		return false;
	buf = ReadBuffer(heap, blkno);
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (offnum >= FirstOffsetNumber && offnum <= PageGetMaxOffsetNumber(page))
	{
		ItemId		lp = PageGetItemId(page, offnum);

		dead = ItemIdIsDead(lp) || ItemIdIsRedirected(lp) || ItemIdIsNormal(lp);
	}
	UnlockReleaseBuffer(buf);
	return dead;
}

/*
 * May the key of the row version in slot be computed?  Hashing a key
 * detoasts it, and the TOAST chunks of a dead version die with it: those
 * of a version inserted by an aborted transaction at once, those of a
 * deleted one once its deleter is older than every snapshot, and pruning
 * of the TOAST table's pages (on any read of them) removes them before
 * VACUUM reaches the table.  Detoasting such a version fails with XX001
 * "missing chunk" on a healthy table.  As amcheck's verify_heapam (its
 * tuple_could_be_pruned), only versions whose TOAST is sure to stay until
 * we are done are read: live ones, ones our own transaction inserted,
 * ones whose deleter is running, and ones whose deleter committed no
 * earlier than our snapshot's xmin (safe_xmin: no one removes what it may
 * still see while we hold it).  A temporary table's horizon does not wait
 * for our snapshot (only we read it), so there a committed delete is never
 * read.  Versions of other access methods' tables: those our snapshot
 * sees.
 */
static bool
key_readable(VerifyState *vs, TupleTableSlot *slot, TransactionId safe_xmin)
{
	BufferHeapTupleTableSlot *bslot = (BufferHeapTupleTableSlot *) slot;
	HeapTuple	tuple;
	TransactionId dead_after = InvalidTransactionId;
	HTSV_Result result;

	if (!TTS_IS_BUFFERTUPLE(slot))
		return ActiveSnapshotSet() &&
			table_tuple_satisfies_snapshot(vs->heap, slot, GetActiveSnapshot());
	tuple = bslot->base.tuple;
	LockBuffer(bslot->buffer, BUFFER_LOCK_SHARE);
	result = HeapTupleSatisfiesVacuumHorizon(tuple, bslot->buffer, &dead_after);
	LockBuffer(bslot->buffer, BUFFER_LOCK_UNLOCK);
	switch (result)
	{
		case HEAPTUPLE_LIVE:
		case HEAPTUPLE_DELETE_IN_PROGRESS:
			return true;
		case HEAPTUPLE_INSERT_IN_PROGRESS:
			/* Another inserter may yet abort (none runs under our lock). */
			return TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tuple->t_data));
		case HEAPTUPLE_RECENTLY_DEAD:
			return !RelationUsesLocalBuffers(vs->heap) &&
				TransactionIdIsNormal(safe_xmin) &&
				TransactionIdIsValid(dead_after) &&
				!TransactionIdPrecedes(dead_after, safe_xmin);
		case HEAPTUPLE_DEAD:
			return false;
	}
	return false;				/* keep compiler quiet */
}

/*
 * Entries the heap scan did not match: either the TID holds no tuple (or
 * tuples whose key hashes differently), or dead row versions that VACUUM
 * has not removed yet, which is fine.  Every version of the HOT chain at
 * the TID is looked at (all carry the same key); only those whose key is
 * safe to read (key_readable) are hashed.  An entry is reported if no
 * readable version has its hash; a chain of dead versions only is not.
 */
static void
check_entries_against_heap(VerifyState *vs)
{
	HASH_SEQ_STATUS status;
	EntryEntry *entry;
	IndexFetchTableData *fetch = table_index_fetch_begin(vs->heap);
	TupleTableSlot *slot = table_slot_create(vs->heap, NULL);
	IndexInfo  *indexInfo = BuildIndexInfo(vs->index);
	EState	   *estate = CreateExecutorState();
	ExprContext *econtext = GetPerTupleExprContext(estate);
	TransactionId safe_xmin = MyProc->xmin;

	econtext->ecxt_scantuple = slot;
	hash_seq_init(&status, vs->entries);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		bool		call_again = false;
		bool		all_dead = false;
		bool		fetched = false;
		bool		readable = false;
		bool		matched = false;
		ItemPointerData tid = entry->key.tid;

		if (entry->seen_in_heap)
			continue;
		CHECK_FOR_INTERRUPTS();
		/* SnapshotAny: each call returns the next version of the chain. */
		while (!matched &&
			   table_index_fetch_tuple(fetch, &tid, SnapshotAny, slot,
									   &call_again, &all_dead))
		{
			Datum		values[INDEX_MAX_KEYS];
			bool		isnull[INDEX_MAX_KEYS];
			bool		anynull;

			fetched = true;
			if (key_readable(vs, slot, safe_xmin))
			{
				readable = true;
				FormIndexDatum(indexInfo, slot, estate, values, isnull);
				matched = steward_hash_values(vs->index, values, isnull, &anynull) == entry->key.hash &&
					!anynull;
				ResetExprContext(econtext);
			}
			if (!call_again)
				break;
		}
		if (!fetched)
		{
			if (!line_pointer_awaits_vacuum(vs->heap, &entry->key.tid))
				report(vs, "entry for missing tuple", InvalidBlockNumber,
					   "entry points to tid (%u,%u), which holds no tuple",
					   ItemPointerGetBlockNumber(&entry->key.tid),
					   ItemPointerGetOffsetNumber(&entry->key.tid));
		}
		else if (readable && !matched)
			report(vs, "entry does not match tuple", InvalidBlockNumber,
				   "entry for tid (%u,%u) has hash %016llx, the tuple's key does not",
				   ItemPointerGetBlockNumber(&entry->key.tid),
				   ItemPointerGetOffsetNumber(&entry->key.tid),
				   (unsigned long long) entry->key.hash);
	}
	FreeExecutorState(estate);
	ExecDropSingleTupleTableSlot(slot);
	table_index_fetch_end(fetch);
}

/*
 * The table of steward_hash index "indexoid", or a clean error: 42P01 when
 * the OID names nothing, 42809 when it names something other than an
 * index.
 */
static Oid
index_table(Oid indexoid)
{
	Oid			heapoid = IndexGetRelation(indexoid, true);
	char	   *name;

	if (OidIsValid(heapoid))
		return heapoid;
	name = get_rel_name(indexoid);
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", indexoid)));
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("\"%s\" is not an index", name)));
	return InvalidOid;			/* keep compiler quiet */
}

/*
 * Lock the table, then the index, as amcheck does; both must still exist
 * and still belong together, and the index must be a steward_hash index
 * with storage (a partitioned index has none: its partitions' indexes do)
 * and valid (55000 otherwise).
 */
static void
open_table_and_index(Oid indexoid, Oid heapoid, LOCKMODE heaplock,
					 Relation *heap, Relation *index)
{
	*heap = try_relation_open(heapoid, heaplock);
	if (*heap == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", heapoid)));
	*index = try_relation_open(indexoid, AccessShareLock);
	if (*index == NULL || IndexGetRelation(indexoid, true) != heapoid)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("index with OID %u does not exist", indexoid),
				 errdetail("It was dropped while waiting for a lock.")));
	if ((*index)->rd_rel->relam != get_index_am_oid("steward_hash", false))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a steward_hash index",
						RelationGetRelationName(*index))));
	if ((*index)->rd_rel->relkind != RELKIND_INDEX)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a partitioned index", RelationGetRelationName(*index)),
				 errdetail("A partitioned index has no storage of its own."),
				 errhint("Check the indexes of its partitions.")));

	/*
	 * As amcheck's index_checkable(): an index a failed or cancelled CREATE
	 * INDEX CONCURRENTLY (or REINDEX CONCURRENTLY) left behind, or one
	 * still being built, may have no pages yet (not ready) or miss the rows
	 * written before it became ready.  Queries do not use it; its state is
	 * not damage, so it is refused, not reported as corrupt.
	 */
	if (!(*index)->rd_index->indisvalid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot check index \"%s\"", RelationGetRelationName(*index)),
				 errdetail("The index is not valid%s: a CREATE INDEX CONCURRENTLY or REINDEX CONCURRENTLY failed, was cancelled or is still running; queries do not use it.",
						   (*index)->rd_index->indisready ? "" : " nor ready for writes"),
				 errhint("Wait for a build still running; else run REINDEX INDEX %s to build it, or DROP INDEX %s.",
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(*index)),
													RelationGetRelationName(*index)),
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(*index)),
													RelationGetRelationName(*index)))));
}

/*
 * steward.verify_index(idx): one row per problem found in a steward_hash
 * index and against its table; none when healthy.  Runs as the table's
 * owner, restricted.  ShareRowExclusiveLock on the table, AccessShareLock
 * on the index.  Errors: 42P01, 42809, 42501, 55000 during recovery.
 */
Datum
steward_verify_index(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Oid			heapoid = index_table(indexoid);
	VerifyState vs;
	HASHCTL		ctl;
	const StewardHashMetaData *meta;
	Buffer		metabuf;
	StewardHashMetaData metacopy;
	HeapCheckState hcs;
	IndexInfo  *indexInfo;
	LOCKMODE	heaplock;
	StewardAsOwner ctx;

	/* Privileges first: the lock we take holds off the table's writers. */
	if (!pg_class_ownercheck(heapoid, GetUserId()) &&
		!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, get_rel_name(heapoid));

	InitMaterializedSRF(fcinfo, 0);
	memset(&vs, 0, sizeof(vs));
	vs.rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	/*
	 * On a hot standby nothing can stop WAL replay from changing the index
	 * and the table under the check (and rows of transactions still running
	 * on the primary are replayed before their index entries), so results
	 * would not be trustworthy.
	 */
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("steward.verify_index cannot run during recovery"),
				 errdetail("WAL replay would change the index and its table while they are checked."),
				 errhint("Run it on the primary, or on a restored copy (steward-drill verifies one).")));
	heaplock = ShareRowExclusiveLock;
	open_table_and_index(indexoid, heapoid, heaplock, &vs.heap, &vs.index);

	/* The index's expressions and predicate run as the table's owner. */
	steward_as_table_owner_begin(vs.heap, false, &ctx);

	vs.nblocks = RelationGetNumberOfBlocks(vs.index);
	vs.visited = palloc0(sizeof(bool) * Max(vs.nblocks, 1));

	ctl.keysize = sizeof(EntryKey);
	ctl.entrysize = sizeof(EntryEntry);
	ctl.hcxt = CurrentMemoryContext;
	vs.entries = hash_create("steward_hash verify", 1024, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	/* With writers locked out no split runs: a copy of meta is stable. */
	metabuf = ReadBuffer(vs.index, STEWARD_HASH_METAPAGE);
	LockBuffer(metabuf, BUFFER_LOCK_SHARE);
	steward_hash_check_metapage(vs.index, BufferGetPage(metabuf));
	memcpy(&metacopy, StewardHashPageGetMeta(BufferGetPage(metabuf)), sizeof(metacopy));
	UnlockReleaseBuffer(metabuf);
	meta = &metacopy;
	vs.visited[STEWARD_HASH_METAPAGE] = true;

	if (meta->nsegments == 0 || meta->maxbucket >= STEWARD_HASH_MAX_BUCKETS ||
		meta->lowmask != (meta->highmask >> 1) || meta->maxbucket > meta->highmask ||
		meta->maxbucket < meta->lowmask)
		report(&vs, "bad metapage", STEWARD_HASH_METAPAGE,
			   "maxbucket %u, highmask %u, lowmask %u, %u segments",
			   meta->maxbucket, meta->highmask, meta->lowmask, meta->nsegments);
	else
	{
		for (uint32 b = 0; b <= meta->maxbucket; b++)
			check_bucket(&vs, meta, b);
		if (vs.noverflow != meta->noverflow)
			report(&vs, "bad metapage", STEWARD_HASH_METAPAGE,
				   "bucket chains hold %u overflow pages, metapage says %u",
				   vs.noverflow, meta->noverflow);
		check_free_list(&vs, meta);
		check_unreached(&vs);

		hcs.vs = &vs;
		indexInfo = BuildIndexInfo(vs.index);
		table_index_build_scan(vs.heap, vs.index, indexInfo, true, false,
							   heap_callback, &hcs, NULL);
		check_entries_against_heap(&vs);
	}

	steward_as_owner_end(&ctx);
	index_close(vs.index, AccessShareLock);
	table_close(vs.heap, heaplock);
	return (Datum) 0;
}

/*
 * steward.hash_index_stats(idx): buckets, pages by kind, entries and the
 * average fill of bucket and overflow pages.  Checks the caller's rights
 * first (42501 unless owner, pg_stat_scan_tables or SELECT with no row
 * security hiding rows), then takes AccessShareLock on the table and the
 * index, held to transaction end, and each page's buffer shared while it
 * is read.  Raises 42P01 (no such relation, or dropped meanwhile), 42809
 * (not an index, not steward_hash, partitioned), 55000 (not valid),
 * steward_hash_get_meta's XX002 and ReadBuffer's errors.
 */
Datum
steward_hash_index_stats(PG_FUNCTION_ARGS)
{
	Oid			indexoid = PG_GETARG_OID(0);
	Oid			heapoid = index_table(indexoid);
	Relation	heap;
	Relation	index;
	const StewardHashMetaData *meta;
	BlockNumber nblocks;
	int64		entries = 0,
				overflow = 0,
				unused = 0,
				freepages = 0,
				longest = 0;
	TupleDesc	tupdesc;
	Datum		values[9];
	bool		nulls[9] = {0};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	/* SELECT counts only where row security hides no rows: entries count rows. */
	if (!pg_class_ownercheck(heapoid, GetUserId()) &&
		!has_privs_of_role(GetUserId(), ROLE_PG_STAT_SCAN_TABLES) &&
		(pg_class_aclcheck(heapoid, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		 check_enable_rls(heapoid, InvalidOid, true) == RLS_ENABLED))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for table %s", get_rel_name(heapoid)),
				 errdetail("steward.hash_index_stats() needs ownership of the table, SELECT on it with no row security hiding rows, or membership in pg_stat_scan_tables.")));
	open_table_and_index(indexoid, heapoid, AccessShareLock, &heap, &index);
	meta = steward_hash_get_meta(index, true);
	nblocks = RelationGetNumberOfBlocks(index);

	for (BlockNumber blkno = 1; blkno < nblocks; blkno++)
	{
		Buffer		buf = ReadBuffer(index, blkno);
		Page		page;
		uint16		kind;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		page = BufferGetPage(buf);
		kind = PageIsNew(page) ? STEWARD_HASH_PAGE_UNUSED : (StewardHashPageGetOpaque(page)->flags & STEWARD_HASH_PAGE_KINDS);
		if (kind & (STEWARD_HASH_PAGE_BUCKET | STEWARD_HASH_PAGE_OVERFLOW))
			entries += steward_hash_page_nentries(page);
		if (kind & STEWARD_HASH_PAGE_OVERFLOW)
			overflow++;
		else if (kind & STEWARD_HASH_PAGE_FREE)
			freepages++;
		else if (kind & STEWARD_HASH_PAGE_UNUSED)
			unused++;
		UnlockReleaseBuffer(buf);
		CHECK_FOR_INTERRUPTS();
	}
	for (uint32 b = 0; b <= meta->maxbucket; b++)
	{
		int64		len;
		Buffer		buf = ReadBuffer(index, steward_hash_bucket_block(meta, b));
		BlockNumber next;

		LockBuffer(buf, BUFFER_LOCK_SHARE);
		next = StewardHashPageGetOpaque(BufferGetPage(buf))->next;
		UnlockReleaseBuffer(buf);
		len = 1;
		while (next != InvalidBlockNumber && len <= nblocks)
		{
			buf = ReadBuffer(index, next);
			LockBuffer(buf, BUFFER_LOCK_SHARE);
			next = StewardHashPageGetOpaque(BufferGetPage(buf))->next;
			UnlockReleaseBuffer(buf);
			len++;
		}
		longest = Max(longest, len);
	}

	values[0] = Int64GetDatum((int64) meta->maxbucket + 1);
	values[1] = Int64GetDatum((int64) nblocks);
	values[2] = Int64GetDatum(overflow);
	values[3] = Int64GetDatum(freepages);
	values[4] = Int64GetDatum(unused);
	values[5] = Int64GetDatum(entries);
	values[6] = Float8GetDatum((double) entries /
							   ((double) (meta->maxbucket + 1 + overflow) * STEWARD_HASH_PAGE_CAPACITY));
	values[7] = Int64GetDatum(longest);
	values[8] = Int64GetDatum((int64) STEWARD_HASH_PAGE_CAPACITY);
	index_close(index, AccessShareLock);
	relation_close(heap, AccessShareLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
