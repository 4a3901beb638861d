/*-------------------------------------------------------------------------
 *
 * steward_hash_wal.c
 *	  Generic WAL records written directly, for the insert hot path.
 *
 * steward_hash logs every change as a generic WAL record (RM_GENERIC_ID),
 * which core replays without this library (README.md, "WAL").  The
 * GenericXLog API builds such a record by copying each registered page
 * into a private image, letting the caller modify the image, then
 * comparing the image with the page byte by byte to find what changed:
 * for an insert of one 14-byte entry into a full 8 kB page that is a 64 kB
 * allocation, two 8 kB copies and an 8 kB comparison.  Profiled, that was
 * half of an insert's cost.
 *
 * When the caller knows exactly which bytes it changed, the record can be
 * written directly: it is the same record GenericXLogFinish would write
 * (rmgr RM_GENERIC_ID, info 0, each page registered REGBUF_STANDARD with
 * block data made of fragments "offset (uint16), length (uint16), bytes"),
 * so core's generic_redo replays it exactly as it replays the API's
 * records.  Like GenericXLogFinish, the page must keep the hole between
 * pd_lower and pd_upper zeroed, because generic_redo zeroes it on the
 * standby; the callers only ever append entries into the hole.
 *
 * The fragment format is PostgreSQL's WAL format for generic records
 * (src/backend/access/transam/generic_xlog.c); WAL formats do not change
 * within a major version.  wal_consistency_checking = 'generic' compares
 * every replayed page with the primary's (test/t/095_hash_wal.pl).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/rmgr.h"
#include "access/xloginsert.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"

#include "steward_hash/steward_hash.h"

/* Fragment header of a generic WAL delta: offset and length, both uint16. */
#define STEWARD_HASH_FRAGMENT_HEADER		(2 * sizeof(OffsetNumber))

/*
 * Append "entry" (hash, tid) to the exclusively locked page "buf", which has
 * room, and WAL-log it as a generic record of two fragments: pd_lower and
 * the new entry.  Errors only before the change (none expected); the change
 * and its record are one critical section.
 */
void
steward_hash_append_entry_logged(Relation index, Buffer buf, uint64 hash, ItemPointer tid)
{
	Page		page = BufferGetPage(buf);
	uint16		off = ((PageHeader) page)->pd_lower;
	char		delta[2 * STEWARD_HASH_FRAGMENT_HEADER + sizeof(LocationIndex) + sizeof(StewardHashEntry)];
	char	   *p = delta;
	OffsetNumber frag[2];

	Assert(steward_hash_page_has_room(page));

	START_CRIT_SECTION();
	steward_hash_page_add_entry(page, hash, tid);
	MarkBufferDirty(buf);

	if (RelationNeedsWAL(index))
	{
		XLogRecPtr	lsn;

		/* Fragment 1: pd_lower (the new end of the entry array). */
		frag[0] = offsetof(PageHeaderData, pd_lower);
		frag[1] = sizeof(LocationIndex);
		memcpy(p, frag, STEWARD_HASH_FRAGMENT_HEADER);
		p += STEWARD_HASH_FRAGMENT_HEADER;
		memcpy(p, (char *) page + frag[0], frag[1]);
		p += frag[1];
		/* Fragment 2: the entry, where pd_lower was. */
		frag[0] = off;
		frag[1] = sizeof(StewardHashEntry);
		memcpy(p, frag, STEWARD_HASH_FRAGMENT_HEADER);
		p += STEWARD_HASH_FRAGMENT_HEADER;
		memcpy(p, (char *) page + off, sizeof(StewardHashEntry));
		p += sizeof(StewardHashEntry);

		XLogBeginInsert();
		XLogRegisterBuffer(0, buf, REGBUF_STANDARD);
		XLogRegisterBufData(0, delta, p - delta);
		lsn = XLogInsert(RM_GENERIC_ID, 0);
		PageSetLSN(page, lsn);
	}
	END_CRIT_SECTION();
}
