/*-------------------------------------------------------------------------
 *
 * steward_hash.h
 *	  steward_hash: a growable, WAL-logged hash index (linear hashing).
 *
 * See README.md in this folder for the page layout, the growth algorithm,
 * the lock ordering and the WAL rules.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_HASH_H
#define STEWARD_HASH_H

#include "postgres.h"

#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/itup.h"
#include "nodes/pathnodes.h"
#include "storage/bufmgr.h"
#include "storage/bufpage.h"
#include "utils/relcache.h"

#define STEWARD_HASH_MAGIC		0x53544831	/* "STH1" */
#define STEWARD_HASH_VERSION		1
#define STEWARD_HASH_METAPAGE		0

/* Support function: (type, int8 seed) -> int8, like HASHEXTENDED_PROC. */
#define STEWARD_HASH_PROC	1
#define STEWARD_HASH_NPROC		1
#define STEWARD_HASH_EQUAL_STRATEGY 1
#define STEWARD_HASH_NSTRATEGIES	1

/* Page kinds, in the special space. */
#define STEWARD_HASH_PAGE_META		0x0001
#define STEWARD_HASH_PAGE_BUCKET		0x0002	/* primary page of a bucket */
#define STEWARD_HASH_PAGE_OVERFLOW	0x0004	/* further page of a bucket's chain */
#define STEWARD_HASH_PAGE_FREE		0x0008	/* on the free list */
#define STEWARD_HASH_PAGE_UNUSED		0x0010	/* reserved for a bucket not yet created */
#define STEWARD_HASH_PAGE_KINDS		0x001F
/* Flags of a primary bucket page while a split is unfinished (crash). */
#define STEWARD_HASH_SPLIT_SOURCE	0x0100	/* entries are moving out to 'partner' */
#define STEWARD_HASH_SPLIT_TARGET	0x0200	/* entries are arriving from 'partner' */
#define STEWARD_HASH_SPLITTING		(STEWARD_HASH_SPLIT_SOURCE | STEWARD_HASH_SPLIT_TARGET)

typedef struct StewardHashPageOpaqueData
{
	BlockNumber next;			/* next page of the chain / free list */
	uint32		bucket;			/* bucket this page belongs to */
	uint32		split_max;		/* maxbucket after the last split that
								 * touched this bucket (primary pages) */
	uint32		partner;		/* other bucket of an unfinished split */
	uint16		flags;
	uint16		unused;
} StewardHashPageOpaqueData;

typedef StewardHashPageOpaqueData *StewardHashPageOpaque;

#define StewardHashPageGetOpaque(page) \
	((StewardHashPageOpaque) PageGetSpecialPointer(page))

/*
 * An index entry: 64-bit hash of the key columns and the heap TID.  14
 * bytes, 2-byte aligned, stored as a dense array after the page header;
 * pd_lower marks the end of the array.  Keys are not stored: every match is
 * rechecked against the heap row.
 */
typedef struct StewardHashEntry
{
	uint16		hash[4];		/* most significant half-word first */
	ItemPointerData tid;
} StewardHashEntry;

#define STEWARD_HASH_ENTRIES_START	MAXALIGN(SizeOfPageHeaderData)
#define STEWARD_HASH_PAGE_CAPACITY \
	((BLCKSZ - STEWARD_HASH_ENTRIES_START - MAXALIGN(sizeof(StewardHashPageOpaqueData))) / sizeof(StewardHashEntry))

/*
 * Buckets live in segments of contiguous blocks allocated when the first
 * bucket of a segment is created.  Segments 0..8 hold 1,1,2,4,...,128
 * buckets (doubling while the index is small); every later segment holds
 * 256.  The metapage stores the first block of every segment.
 */
#define STEWARD_HASH_SMALL_SEGMENTS	9
#define STEWARD_HASH_SEGMENT_BUCKETS	256
#define STEWARD_HASH_MAX_SEGMENTS	1800
#define STEWARD_HASH_MAX_BUCKETS \
	((uint32) STEWARD_HASH_SEGMENT_BUCKETS * (STEWARD_HASH_MAX_SEGMENTS - STEWARD_HASH_SMALL_SEGMENTS + 1))

typedef struct StewardHashMetaData
{
	uint32		magic;
	uint32		version;
	uint32		maxbucket;		/* highest bucket number in use */
	uint32		highmask;		/* mask to modulo into the whole table */
	uint32		lowmask;		/* mask to modulo into the lower half */
	uint32		nsegments;		/* segments allocated */
	BlockNumber freehead;		/* first page of the free list */
	uint32		nfree;			/* pages on the free list */
	uint32		noverflow;		/* overflow pages in bucket chains */
	double		ntuples;		/* entries, as of the last build or VACUUM */
	BlockNumber segstart[STEWARD_HASH_MAX_SEGMENTS];
} StewardHashMetaData;

typedef StewardHashMetaData *StewardHashMeta;

#define StewardHashPageGetMeta(page) ((StewardHashMeta) PageGetContents(page))

/* Backend-local copy of the metapage, kept in the index's rd_amcache. */
typedef StewardHashMetaData StewardHashMetaCache;

/* Entry helpers */
static inline uint64
steward_hash_entry_hash(const StewardHashEntry *e)
{
	return ((uint64) e->hash[0] << 48) | ((uint64) e->hash[1] << 32) |
		((uint64) e->hash[2] << 16) | (uint64) e->hash[3];
}

static inline void
steward_hash_entry_set(StewardHashEntry *e, uint64 hash, ItemPointer tid)
{
	e->hash[0] = (uint16) (hash >> 48);
	e->hash[1] = (uint16) (hash >> 32);
	e->hash[2] = (uint16) (hash >> 16);
	e->hash[3] = (uint16) hash;
	e->tid = *tid;
}

/*
 * The 8 bytes of an entry's hash[] as they lie in memory, for comparing
 * entries with one unaligned load each instead of reassembling every hash.
 */
static inline uint64
steward_hash_stored(uint64 hash)
{
	uint16		h[4];
	uint64		raw;

	h[0] = (uint16) (hash >> 48);
	h[1] = (uint16) (hash >> 32);
	h[2] = (uint16) (hash >> 16);
	h[3] = (uint16) hash;
	memcpy(&raw, h, sizeof(raw));
	return raw;
}

static inline int
steward_hash_page_nentries(Page page)
{
	return (((PageHeader) page)->pd_lower - STEWARD_HASH_ENTRIES_START) / sizeof(StewardHashEntry);
}

static inline StewardHashEntry *
steward_hash_page_entries(Page page)
{
	return (StewardHashEntry *) ((char *) page + STEWARD_HASH_ENTRIES_START);
}

static inline uint32
steward_hash_to_bucket(uint64 hash, uint32 maxbucket, uint32 highmask, uint32 lowmask)
{
	uint32		bucket = (uint32) hash & highmask;

	if (bucket > maxbucket)
		bucket &= lowmask;
	return bucket;
}

/* steward_hash_page.c */
extern void steward_hash_init_page(Page page, uint16 flags, uint32 bucket);
extern void steward_hash_init_metapage(Page page);
extern BlockNumber steward_hash_bucket_block(const StewardHashMetaData *meta, uint32 bucket);
extern const StewardHashMetaData *steward_hash_get_meta(Relation index, bool refresh);
extern void steward_hash_check_metapage(Relation index, Page page);
extern void steward_hash_page_add_entry(Page page, uint64 hash, ItemPointer tid);
extern void steward_hash_page_remove_entry(Page page, int i);
extern bool steward_hash_page_has_room(Page page);
extern bool steward_hash_create_bucket_pages(Relation index, Buffer metabuf, uint32 bucket);
extern Buffer steward_hash_extend(Relation index);
extern uint64 steward_hash_values(Relation index, Datum *values, bool *isnull,
							  bool *anynull);

/* steward_hash_insert.c */
extern bool steward_hash_insert(Relation index, Datum *values, bool *isnull,
					  ItemPointer ht_ctid, Relation heapRel,
					  IndexUniqueCheck checkUnique, bool indexUnchanged,
					  struct IndexInfo *indexInfo);
extern void steward_hash_insert_entry(Relation index, uint64 hash, ItemPointer tid);

/*
 * steward_hash_split.c: bucket splits and overflow pages, which insert and vacuum
 * call down into.
 *
 * steward_hash_new_overflow: the caller holds the bucket's primary page and the
 * chain's tail (registered in state); returns a new page for the chain,
 * registered in state with the metapage (*metabuf, locked); the caller
 * links it, finishes the record, releases both.
 * steward_hash_unlink_empty_pages: the caller holds the primary page exclusively;
 * it stays so.
 * steward_hash_try_split: no locks held; splits at most STEWARD_HASH_MAX_SPLITS buckets,
 * skipping (never waiting for) a busy one.
 * steward_hash_finish_split: no locks held; completes the interrupted split that
 * bucket (either side) is part of, if any.
 */
extern Buffer steward_hash_new_overflow(Relation index, GenericXLogState *state,
							   Buffer *metabuf, Page *newpage, uint32 bucket);
extern void steward_hash_unlink_empty_pages(Relation index, Buffer primary);
extern void steward_hash_try_split(Relation index);
extern void steward_hash_finish_split(Relation index, uint32 bucket);

/*
 * Growth policy: split while more than one bucket in STEWARD_HASH_SPLIT_RATIO has an
 * overflow page (on average), at most STEWARD_HASH_MAX_SPLITS per insert.
 */
#define STEWARD_HASH_SPLIT_RATIO		4
#define STEWARD_HASH_MAX_SPLITS		4

/* steward_hash_wal.c */
extern void steward_hash_append_entry_logged(Relation index, Buffer buf, uint64 hash,
									ItemPointer tid);

/* steward_hash_build.c */
extern IndexBuildResult *steward_hash_build(Relation heap, Relation index,
								  struct IndexInfo *indexInfo);
extern void steward_hash_buildempty(Relation index);

/* steward_hash_scan.c */
extern IndexScanDesc steward_hash_beginscan(Relation r, int nkeys, int norderbys);
extern void steward_hash_rescan(IndexScanDesc scan, ScanKey scankey, int nscankeys,
					  ScanKey orderbys, int norderbys);
extern bool steward_hash_gettuple(IndexScanDesc scan, ScanDirection dir);
extern int64 steward_hash_getbitmap(IndexScanDesc scan, TIDBitmap *tbm);
extern void steward_hash_endscan(IndexScanDesc scan);
extern uint64 steward_hash_count_bucket(Relation index, uint32 bucket);

/* steward_hash_vacuum.c */
extern IndexBulkDeleteResult *steward_hash_bulkdelete(IndexVacuumInfo *info,
											IndexBulkDeleteResult *stats,
											IndexBulkDeleteCallback callback,
											void *callback_state);
extern IndexBulkDeleteResult *steward_hash_vacuumcleanup(IndexVacuumInfo *info,
											   IndexBulkDeleteResult *stats);

/* steward_hash.c */
extern bool steward_hash_validate(Oid opclassoid);

#endif							/* STEWARD_HASH_H */
