/*-------------------------------------------------------------------------
 *
 * steward_am.c
 *	  The "steward" table access method: heap storage plus row invariants.
 *
 * Every callback is heap's, except the write paths, which first apply the
 * table's column rules (optimistic versions, monotonic sequences, state
 * machines) to the row in the slot and then hand the slot to heap, and
 * tuple_lock / tuple_delete, which remember what a later write of the same
 * statement needs to judge the row (the version the statement read before a
 * concurrent update; the row a cross-partition UPDATE moves).  Storage, MVCC, TOAST,
 * VACUUM and WAL are therefore exactly heap's; see README.md in this folder
 * for the rules and why they are safe under concurrency.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/relation.h"
#include "access/htup_details.h"
#include "access/multixact.h"
#include "access/tableam.h"
#include "access/tupconvert.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type_d.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "storage/bufmgr.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/sinval.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pg_steward.h"
#include "stats/counters.h"
#include "stats/hotrows.h"
#include "tableam/rules.h"
#include "tableam/writectx.h"
#include "plumbing/as_owner.h"
#include "plumbing/slot.h"
#include "tableam/rulekinds.h"

PG_FUNCTION_INFO_V1(steward_tableam_handler);

static TableAmRoutine steward_methods;
static bool steward_methods_ready = false;

/* The heap callbacks we wrap. */
static const TableAmRoutine *heap_methods = NULL;

/*
 * Under session_replication_role = replica (logical replication apply,
 * pg_restore --disable-triggers style loads) rows are stored as sent: the
 * origin already enforced the rules.  So are the rows a relayout copies
 * from one layout of a table to the other (src/migrate/relayout.c).
 */
static inline bool
rules_enforced(Relation rel)
{
	return SessionReplicationRole != SESSION_REPLICATION_ROLE_REPLICA &&
		!steward_rule_kinds.relayout_applying(rel);
}

static char *
key_desc_from_slot(Relation rel, TupleTableSlot *slot)
{
	bool		shouldFree;
	HeapTuple	tuple = ExecFetchSlotHeapTuple(slot, false, &shouldFree);

	return steward_row_key_desc(rel, tuple);
}

static int
errrow(const char *key)
{
	if (key)
		return errdetail_internal("Row key: %s.", key);
	return 0;
}

/* ------------------------------------------------------------------------
 * UPDATE
 *
 * The executor gives us only the TID of the row it read.  The rules compare
 * the new row with the row stored at that TID, which we take on every call
 * from the executor's old-row slot when it holds that TID pinned (UPDATE,
 * MERGE: writectx.c), else read from the page: after a concurrent update,
 * heap_update returns TM_Updated, the executor locks the latest version
 * (tuple_lock), re-evaluates the new row against it (EvalPlanQual) and
 * calls us again with that version's TID, so the check is always made
 * against the row that the update will really replace.  The data of a heap tuple never changes once written, so no
 * buffer lock is needed beyond the pin while reading it.
 *
 * One rule also needs the row the statement *read*: a version the client
 * assigned was computed from it (README.md, "Versions the client
 * assigns").  When the executor replaces a later version than the one it
 * read, it has always locked that later version first with
 * TUPLE_LOCK_FLAG_FIND_LAST_VERSION, from the TID it read (ExecUpdate,
 * ExecMergeMatched and ExecDelete after TM_Updated, GetTupleForTrigger
 * before BEFORE ROW triggers); our tuple_lock notes the version at the TID
 * it read whenever heap followed the update chain, and the next write of the
 * same command to the TID it locked consumes the note.  WHERE CURRENT OF
 * follows the chain without a lock (tuple_get_latest_tid, from the TID the
 * cursor read): it notes the same way.
 * ------------------------------------------------------------------------
 */

/*
 * The buffer that held the last row read by fetch_row_any: the rows of a
 * bulk UPDATE come page after page, so the next one is most likely on the
 * same page, and ReadRecentBuffer pins it without the buffer-mapping lookup
 * ReadBuffer makes (it checks the buffer still holds that block; if not,
 * we read it the normal way).  Nothing stays pinned between rows: a pin
 * would keep the scan from pruning the page.
 */
static struct
{
	RelFileNode node;
	BlockNumber block;
	Buffer		buffer;
} recent_row_page = {{0, 0, 0}, InvalidBlockNumber, InvalidBuffer};

/*
 * The row version at *tid of rel, whatever its visibility, as heap_fetch
 * with SnapshotAny returns it (the row an UPDATE replaces when the
 * executor does not hold it pinned, the version a statement read, the row
 * a delete removes): *buffer pinned (not locked) and the tuple pointing
 * into it; false (and InvalidBuffer) if the line pointer holds no tuple.
 * Same locking as heap_fetch: a share lock while the line pointer is read.
 */
static bool
fetch_row_any(Relation rel, ItemPointer tid, HeapTuple tuple, Buffer *buffer)
{
	BlockNumber block = ItemPointerGetBlockNumber(tid);
	OffsetNumber offnum = ItemPointerGetOffsetNumber(tid);
	Buffer		buf;
	Page		page;
	ItemId		lp;

	if (recent_row_page.block == block &&
		RelFileNodeEquals(recent_row_page.node, rel->rd_node) &&
		!RelationUsesLocalBuffers(rel) &&
		ReadRecentBuffer(rel->rd_node, MAIN_FORKNUM, block, recent_row_page.buffer))
		buf = recent_row_page.buffer;
	else
	{
		buf = ReadBuffer(rel, block);
		recent_row_page.node = rel->rd_node;
		recent_row_page.block = block;
		recent_row_page.buffer = buf;
	}
	LockBuffer(buf, BUFFER_LOCK_SHARE);
	page = BufferGetPage(buf);
	if (offnum < FirstOffsetNumber || offnum > PageGetMaxOffsetNumber(page) ||
		!ItemIdIsNormal(lp = PageGetItemId(page, offnum)))
	{
		LockBuffer(buf, BUFFER_LOCK_UNLOCK);
		ReleaseBuffer(buf);
		*buffer = InvalidBuffer;
		return false;
	}
	tuple->t_self = *tid;
	tuple->t_data = (HeapTupleHeader) PageGetItem(page, lp);
	tuple->t_len = ItemIdGetLength(lp);
	tuple->t_tableOid = RelationGetRelid(rel);
	LockBuffer(buf, BUFFER_LOCK_UNLOCK);
	*buffer = buf;
	return true;
}

/* The row version a statement read, when it replaces a later one. */
typedef struct ReadVersion
{
	bool		valid;
	Oid			relid;
	LocalTransactionId lxid;
	CommandId	cid;
	ItemPointerData locked_tid; /* the later version the executor locked */
	bool		isnull;			/* version of the row the statement read */
	int64		version;
} ReadVersion;

/*
 * The notes of the versions statements read, outermost first, one per
 * command at most.  A statement nested in a BEFORE UPDATE trigger (which
 * fires after GetTupleForTrigger locked the row and the outer command
 * noted what it read) may lock a later version of a row itself (SELECT ...
 * FOR UPDATE of a row another transaction just updated): with one note
 * per backend it replaced the outer command's, whose client-assigned
 * version was then judged as if nothing had raced, so a stale "next
 * version" overwrote the other transaction's change (codereview15 C2,
 * codereview15_read_version_nested.spec).  A new note drops those of
 * statements no longer running (steward_statement_running: a note that
 * is never consumed, SELECT ... FOR UPDATE's, goes at the next note).
 */
static ReadVersion *read_notes = NULL;
static int	nread_notes = 0;
static int	maxread_notes = 0;

static void
drop_read_note(int i)
{
	memmove(&read_notes[i], &read_notes[i + 1],
			sizeof(ReadVersion) * (nread_notes - i - 1));
	nread_notes--;
}

static void
note_read_version(Relation rel, ItemPointer read_tid, ItemPointer locked_tid,
				  CommandId cid)
{
	const StewardRules *rules = steward_get_rules(rel);
	HeapTupleData tuple;
	Buffer		buffer;
	Datum		d;
	ReadVersion *note;

	/*
	 * Keep the notes of the commands this one runs nested in, which wait
	 * for their update; drop this command's earlier one and those of other
	 * transactions, of later commands and of statements that ended.
	 */
	for (int i = nread_notes - 1; i >= 0; i--)
	{
		ReadVersion *r = &read_notes[i];

		if (r->lxid != MyProc->lxid || r->cid >= cid ||
			!steward_statement_running(r->cid))
			drop_read_note(i);
	}
	if (rules->version_attnum == InvalidAttrNumber)
		return;
	if (nread_notes == maxread_notes)
	{
		int			newmax = Max(4, maxread_notes * 2);

		read_notes = read_notes == NULL ?
			MemoryContextAlloc(TopMemoryContext, sizeof(ReadVersion) * newmax) :
			repalloc(read_notes, sizeof(ReadVersion) * newmax);
		maxread_notes = newmax;
	}
	if (!fetch_row_any(rel, read_tid, &tuple, &buffer))
		return;					/* pruned away: judged against the current row only */
	note = &read_notes[nread_notes];
	d = heap_getattr(&tuple, rules->version_attnum, RelationGetDescr(rel),
					 &note->isnull);
	note->version = note->isnull ? 0 : DatumGetInt64(d);
	ReleaseBuffer(buffer);
	note->relid = RelationGetRelid(rel);
	note->lxid = MyProc->lxid;
	note->cid = cid;
	note->locked_tid = *locked_tid;
	note->valid = true;
	nread_notes++;
}

/*
 * If command "cid" locked "tid" of "rel" as the later version of a row it
 * read, copy what it read into *out, forget it and return true.
 */
static bool
take_read_version(Relation rel, ItemPointer tid, CommandId cid, ReadVersion *out)
{
	for (int i = nread_notes - 1; i >= 0; i--)
	{
		ReadVersion *r = &read_notes[i];

		if (r->cid == cid && r->lxid == MyProc->lxid &&
			r->relid == RelationGetRelid(rel) &&
			ItemPointerEquals(&r->locked_tid, tid))
		{
			*out = *r;
			drop_read_note(i);
			return true;
		}
	}
	return false;
}

static TM_Result
steward_tuple_lock(Relation rel, ItemPointer tid, Snapshot snapshot,
				   TupleTableSlot *slot, CommandId cid, LockTupleMode mode,
				   LockWaitPolicy wait_policy, uint8 flags,
				   TM_FailureData *tmfd)
{
	ItemPointerData read_tid = *tid;
	TM_Result	result;

	result = heap_methods->tuple_lock(rel, tid, snapshot, slot, cid, mode,
									  wait_policy, flags, tmfd);
	/* heap moved *tid to the version it locked and set traversed */
	if (result == TM_Ok && tmfd->traversed && rules_enforced(rel))
		note_read_version(rel, &read_tid, tid, cid);
	return result;
}

/* Did this transaction write the row version at *tid of rel? */
static bool
written_by_this_transaction(Relation rel, ItemPointer tid)
{
	HeapTupleData tuple;
	Buffer		buffer;
	bool		mine;

	if (!fetch_row_any(rel, tid, &tuple, &buffer))
		return false;
	mine = TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tuple.t_data));
	ReleaseBuffer(buffer);
	return mine;
}

/*
 * WHERE CURRENT OF (TidNext) and currtid2() (the ODBC driver's way to
 * update a row it read earlier) ask for the newest version of the row at
 * *tid that the statement's snapshot sees; heap follows the update chain
 * to it, and the UPDATE then replaces that version.  When another
 * transaction made it, the statement replaces a version its client never
 * read -- the cursor read the one at the original TID -- and no WHERE
 * version = :read can be added to WHERE CURRENT OF: note the version read
 * there, as tuple_lock does after following a chain, so that a version
 * the client assigns ("the version I read" or "the next version") is
 * judged against it (review29 R3: a cursor's "next version" overwrote a
 * change committed after its FETCH).  A newest version this transaction
 * wrote itself is not noted: the client wrote it, and saw its version.
 * The note is for the command whose snapshot the scan has (the UPDATE's
 * own), and only while a data-modifying statement runs under that command
 * id (steward_statement_running): a read (SELECT currtid2(...), SELECT ...
 * WHERE CURRENT OF) marks no command id used, so the next statement's
 * UPDATE ran under the same one and consumed the read's note: a client
 * that had read the newest version and sent it back got a false 40001
 * "stale version" (closing44 L4, mach19 item 5, sql/388).  Locks: a pin
 * and a share lock of the newest version's page while its xmin is read;
 * raises what reading the page raises.
 */
static void
steward_tuple_get_latest_tid(TableScanDesc scan, ItemPointer tid)
{
	Relation	rel = scan->rs_rd;
	ItemPointerData read_tid = *tid;
	CommandId	cid;

	heap_methods->tuple_get_latest_tid(scan, tid);
	if (ItemPointerEquals(&read_tid, tid) || !rules_enforced(rel) ||
		written_by_this_transaction(rel, tid))
		return;
	cid = (scan->rs_snapshot != InvalidSnapshot && IsMVCCSnapshot(scan->rs_snapshot)) ?
		scan->rs_snapshot->curcid : GetCurrentCommandId(false);
	if (steward_statement_running(cid))
		note_read_version(rel, &read_tid, tid, cid);
}

static const char *
column_name(Relation rel, AttrNumber attnum)
{
	return NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname);
}

/*
 * The rule reports below name the relation, row and column of "origin"
 * (StewardRowOrigin), or, for a user who may read the column only in a
 * partitioned table above origin's partition, that table with the row's
 * key there (steward_origin_error_target); "attnum" is the column's number
 * in the relation the rule checks.  Counters count origin's relation.
 */

/*
 * Count "counter" for origin's relation, then the relation, column, key
 * and readability the error names (steward_origin_error_target).
 */
static Relation
counted_error_target(const StewardRowOrigin *origin, StewardCounter counter,
					 AttrNumber checked_attnum, AttrNumber *attnum, char **key,
					 bool *readable)
{
	steward_count_event(RelationGetRelid(origin->rel), counter, 1);
	return steward_origin_error_target(origin, checked_attnum, attnum, key, readable);
}

/*
 * 40001 "stale version".  "read" is the version the statement read when the
 * row changed while the statement ran (check_version); -2 when the row is
 * newer than the statement's snapshot (ON CONFLICT DO UPDATE); else -1.
 */
static void
report_stale_version(const StewardRowOrigin *origin, AttrNumber checked_attnum,
					 int64 supplied, int64 read, int64 current)
{
	AttrNumber	attnum;
	char	   *key;

	/* The stored version only for a user who may read the column. */
	bool		readable;
	Relation	rel = counted_error_target(origin, STEWARD_COUNTER_VERSION_CONFLICTS, checked_attnum,
										   &attnum, &key, &readable);
	const char *col = column_name(rel, attnum);

	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 key ?
			 errmsg("stale version for row %s of relation \"%s\"",
					key, RelationGetRelationName(rel)) :
			 errmsg("stale version for a row of relation \"%s\"",
					RelationGetRelationName(rel)),
			 !readable ?
			 (read < 0 ?
			  errdetail("The update expected version " INT64_FORMAT ", which is older than the row's.",
						supplied) :
			  errdetail("The update set version " INT64_FORMAT ", but another transaction changed the row while the update ran.",
						supplied)) :
			 read == -1 ?
			 errdetail("The update expected version " INT64_FORMAT " but the row is at version " INT64_FORMAT ".",
					   supplied, current) :
			 read == -2 ?
			 errdetail("The update set version " INT64_FORMAT ", but the row it found was written at version " INT64_FORMAT " by a transaction that committed after the statement began.",
					   supplied, current) :
			 errdetail("The update set version " INT64_FORMAT " on the basis of version " INT64_FORMAT ", but another transaction changed the row to version " INT64_FORMAT " while the update ran.",
					   supplied, read, current),
			 read >= 0 ?
			 errhint("Re-read the row and retry; leave column \"%s\" out of the UPDATE, or set it to \"%s\" + 1, to update whatever the version is.",
					 col, col) :
			 readable ?
			 errhint("Another transaction changed the row after it was read; re-read it and retry with version " INT64_FORMAT ".",
					 current) :
			 errhint("Another transaction changed the row after it was read; re-read it and retry."),
			 errtablecol(rel, attnum)));
}

static void
report_version_ahead(const StewardRowOrigin *origin, AttrNumber checked_attnum,
					 int64 supplied, int64 current)
{
	AttrNumber	attnum;
	char	   *key;
	bool		readable;
	Relation	rel = counted_error_target(origin, STEWARD_COUNTER_VERSION_INVALID, checked_attnum,
										   &attnum, &key, &readable);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 readable ?
			 errmsg("version " INT64_FORMAT " skips ahead of current version " INT64_FORMAT " of relation \"%s\"",
					supplied, current, RelationGetRelationName(rel)) :
			 errmsg("version " INT64_FORMAT " skips ahead of the current version of a row of relation \"%s\"",
					supplied, RelationGetRelationName(rel)),
			 errrow(key),
			 readable ?
			 errhint("Set column \"%s\" to the version that was read (" INT64_FORMAT ") or to the next one (" INT64_FORMAT "), or leave it out of the UPDATE.",
					 column_name(rel, attnum), current, current + 1) :
			 errhint("Set column \"%s\" to the version that was read or to the next one, or leave it out of the UPDATE.",
					 column_name(rel, attnum)),
			 errtablecol(rel, attnum)));
}

/*
 * 22023 for a value below 1 assigned to a row stored without a version
 * (replica apply): versions start at 1, as for an INSERT, and there is no
 * current version it could skip ahead of ("version 0 skips ahead of
 * current version 0", whose HINT named a value refused again).  Whether
 * the row has a version is said only to a user who may read the column.
 */
static void
report_version_below_one(const StewardRowOrigin *origin, AttrNumber checked_attnum,
						 int64 supplied)
{
	AttrNumber	attnum;
	char	   *key;
	bool		readable;
	Relation	rel = counted_error_target(origin, STEWARD_COUNTER_VERSION_INVALID, checked_attnum,
										   &attnum, &key, &readable);

	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid version " INT64_FORMAT " for a row of relation \"%s\"",
					supplied, RelationGetRelationName(rel)),
			 key && readable ?
			 errdetail("Versions start at 1; the row %s has no version yet.", key) :
			 key ?
			 errdetail("Versions start at 1 (row %s).", key) :
			 readable ?
			 errdetail("Versions start at 1; the row has no version yet.") :
			 errdetail("Versions start at 1."),
			 errhint("Leave column \"%s\" out of the UPDATE (or set it to NULL) to let pg_steward assign version 1, or set it to 1 or more.",
					 column_name(rel, attnum)),
			 errtablecol(rel, attnum)));
}

/*
 * The row's version is the largest bigint: no next version exists.  22003
 * with the row's key (for who may read it) and a way out.  "rel" is the
 * relation checked; the HINT's untrack names the table whose rule it
 * follows (steward_ancestor_rule_name, else rel itself): a partition's
 * rule is usually its partitioned table's, and untrack of the partition
 * fails 42704 there.
 */
static void
report_version_exhausted(Relation rel, const StewardRowOrigin *origin,
						 AttrNumber checked_attnum)
{
	AttrNumber	attnum;
	char	   *key;
	bool		readable;
	Relation	erel = steward_origin_error_target(origin, checked_attnum, &attnum, &key, &readable);
	const char *col = column_name(erel, attnum);
	char	   *ancestor = steward_ancestor_rule_name(rel, column_name(rel, checked_attnum),
													  false);
	bool		own = ancestor == NULL && rel == origin->rel;
	char	   *rule_rel = ancestor ? ancestor :
		quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
								   RelationGetRelationName(rel));

	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 key ?
			 errmsg("version of row %s of relation \"%s\" is out of range",
					key, RelationGetRelationName(erel)) :
			 errmsg("version of a row of relation \"%s\" is out of range",
					RelationGetRelationName(erel)),
			 errdetail("Column \"%s\" of the row is at the largest bigint, so the row has no next version.",
					   col),
			 own ?
			 errhint("Delete the row and insert it again with a smaller version, or stop tracking the column: "
					 "SELECT steward.untrack(%s, %s);",
					 quote_literal_cstr(rule_rel), quote_literal_cstr(col)) :
			 errhint("Delete the row and insert it again with a smaller version, or stop tracking the column in every partition of %s, where the rule is declared: "
					 "SELECT steward.untrack(%s, %s);",
					 rule_rel, quote_literal_cstr(rule_rel), quote_literal_cstr(col)),
			 errtablecol(erel, attnum)));
}

/*
 * Refuse (54000) an INSERT, a COPY that does not restore (a restore's
 * checks both: apply_insert_rules) or an UPDATE of rel, a row moving into
 * it included, when two or more (ncolumns, the cached count; rules19 item
 * 3: three were called two) version columns reach it (rules->other_versions:
 * its own rule and a partitioned ancestor's, or two ancestors'): only the
 * nearest would be checked, and a row stored so skips the other's
 * guarantee (review23 follow-up: an empty ATTACH, a restored label or a
 * hand-written rule row leave such a table with a WARNING).  As the
 * state-rule cap: a role with no right on partition rel reads the
 * partitioned table it writes through (steward_table_written), and neither
 * the partition nor its rules.  Error path: reads steward.column_rules
 * (AccessShareLock, steward_two_version_columns).
 */
static pg_noinline void
refuse_two_version_columns(Relation rel, int ncolumns)
{
	Oid			written = steward_table_written(rel);
	AttrNumber	near,
				far;
	Oid			near_relid,
				far_relid;
	char	   *near_rel;
	char	   *listed;
	int			nlisted;

	if (written != RelationGetRelid(rel) ||
		!steward_two_version_columns(rel, &near, &near_relid, &far, &far_relid))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the partition of relation \"%s\" that the row is in has %s version columns",
						get_rel_name(written), ncolumns == 2 ? "two" : psprintf("%d", ncolumns)),
				 errdetail("pg_steward checks one version column per table, counting the rules of its partitioned ancestors; it cannot check the %s, so rows cannot be written.",
						   ncolumns == 2 ? "other" : "others"),
				 errhint("The owner of the partition can stop tracking %s with steward.untrack(table, column).",
						 ncolumns == 2 ? "one of them" : "all but one")));
	near_rel = steward_qualified_name(near_relid);
	listed = steward_version_columns_text(rel, &nlisted);
	if (nlisted > 2)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("relation \"%s\" has %d version columns", RelationGetRelationName(rel), nlisted),
				 errdetail("They are tracked as %s; pg_steward checks one version column per table, counting the rules of its partitioned ancestors, so rows cannot be written.",
						   listed),
				 errhint("Track one column in the whole tree: untrack all but one, the first with SELECT steward.untrack(%s, %s);",
						 quote_literal_cstr(near_rel), quote_literal_cstr(column_name(rel, near)))));
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("relation \"%s\" has two version columns, \"%s\" and \"%s\"",
					RelationGetRelationName(rel), column_name(rel, near), column_name(rel, far)),
			 errdetail("\"%s\" is tracked on relation \"%s\", \"%s\" on relation \"%s\"; pg_steward checks one version column per table, counting the rules of its partitioned ancestors, so rows cannot be written.",
					   column_name(rel, near), get_rel_name(near_relid), column_name(rel, far),
					   get_rel_name(far_relid)),
			 errhint("Track one column in the whole tree: SELECT steward.untrack(%s, %s);",
					 quote_literal_cstr(near_rel), quote_literal_cstr(column_name(rel, near)))));
}

static void
report_null_column(const StewardRowOrigin *origin, AttrNumber checked_attnum,
				   const char *what)
{
	AttrNumber	attnum;
	char	   *key;
	bool		readable;
	Relation	rel = steward_origin_error_target(origin, checked_attnum, &attnum, &key, &readable);

	ereport(ERROR,
			(errcode(ERRCODE_NOT_NULL_VIOLATION),
			 errmsg("null value in %s column \"%s\" of relation \"%s\"",
					what, column_name(rel, attnum), RelationGetRelationName(rel)),
			 errrow(key),
			 errhint("Leave the column out of the UPDATE or set it to the value that was read."),
			 errtablecol(rel, attnum)));
}

static void
report_out_of_order(const StewardRowOrigin *origin, AttrNumber checked_attnum,
					int64 supplied, int64 current)
{
	AttrNumber	attnum;
	char	   *key;
	bool		readable;
	Relation	rel = counted_error_target(origin, STEWARD_COUNTER_SEQUENCE_REJECTS, checked_attnum,
										   &attnum, &key, &readable);

	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 key ?
			 errmsg("out-of-order write to column \"%s\" for row %s of relation \"%s\"",
					column_name(rel, attnum), key, RelationGetRelationName(rel)) :
			 errmsg("out-of-order write to column \"%s\" of relation \"%s\"",
					column_name(rel, attnum), RelationGetRelationName(rel)),
			 readable ?
			 errdetail("The new value " INT64_FORMAT " is lower than the stored value " INT64_FORMAT ".",
					   supplied, current) :
			 errdetail("The new value " INT64_FORMAT " is lower than the stored value.",
					   supplied),
			 errhint("The row already reflects a later event; skip this one."),
			 errtablecol(rel, attnum)));
}

static int64
int_datum_to_int64(Datum value, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return DatumGetInt16(value);
		case INT4OID:
			return DatumGetInt32(value);
		default:
			return DatumGetInt64(value);
	}
}

/*
 * Is "tuple" (in the pinned "buffer") newer than "snapshot", the snapshot
 * of the statement replacing it?  Only ON CONFLICT DO UPDATE replaces such
 * a row without EvalPlanQual: under READ COMMITTED it locks and updates the
 * conflicting row even when that committed after the statement began.
 */
static bool
newer_than_snapshot(HeapTuple tuple, Buffer buffer, Snapshot snapshot)
{
	bool		visible;

	if (!BufferIsValid(buffer) || snapshot == InvalidSnapshot)
		return false;
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	visible = HeapTupleSatisfiesVisibility(tuple, snapshot, buffer);
	LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
	return !visible;
}

/*
 * The current version + 1 assigned by ON CONFLICT DO UPDATE to a row newer
 * than the statement: stale when the statement fixed the value before it
 * began (a literal, a parameter, EXCLUDED) rather than reading it from the
 * row (SET version = t.version + 1).  The client read an older row with
 * the current version: one deleted and inserted again since, whose
 * versions started afresh (review31 R2).  An UPDATE never meets such a
 * row: EvalPlanQual follows the row's own updates, whose versions only
 * rise, and a deleted row is not updated.  Raises 40001.
 */
static pg_noinline void
check_on_conflict_next(Relation rel, HeapTuple oldtup, Buffer buffer,
					   Snapshot snapshot, AttrNumber attnum, int64 v, int64 cur,
					   CommandId cid, const StewardRowOrigin *origin)
{
	bool		assigns;
	bool		on_conflict;

	steward_statement_writes(rel, cid, attnum, &assigns, &on_conflict);
	if (assigns && on_conflict &&
		newer_than_snapshot(oldtup, buffer, snapshot) &&
		steward_on_conflict_sets_literal(rel, cid, attnum))
		report_stale_version(origin, attnum, v, -2, cur);
}

/*
 * Column "attnum" of "oldtup", the row being replaced: from "oldslot", the
 * executor's old-row slot holding that very tuple (writectx.c), when the
 * executor already deformed the row that far (it did, to build the new
 * row from the unchanged columns), else from the tuple.
 */
static inline Datum
old_value(HeapTuple oldtup, TupleTableSlot *oldslot, TupleDesc desc,
		  AttrNumber attnum, bool *isnull)
{
	if (oldslot != NULL && attnum <= oldslot->tts_nvalid)
	{
		*isnull = oldslot->tts_isnull[attnum - 1];
		return oldslot->tts_values[attnum - 1];
	}
	return heap_getattr(oldtup, attnum, desc, isnull);
}

/*
 * Check the version rule.  "read" is the row version the statement read
 * when it differs from "oldtup" (the executor replaces a later version
 * after a concurrent update), else NULL.  "buffer" (pinned, or
 * InvalidBuffer) holds "oldtup", which the statement with "snapshot"
 * replaces; "oldslot", if not NULL, is the executor's slot holding it.
 * Returns the version to store, or -1 when the slot already holds the
 * right value.  Errors out (after the caller's buffer is released
 * by error cleanup) on a violation, naming "origin".
 */
static pg_attribute_always_inline int64
check_version(Relation rel, HeapTuple oldtup, TupleTableSlot *oldslot,
			  Buffer buffer, Snapshot snapshot, TupleTableSlot *slot,
			  AttrNumber attnum, const ReadVersion *read, CommandId cid,
			  const StewardRowOrigin *origin)
{
	TupleDesc	desc = RelationGetDescr(rel);
	bool		curnull,
				newnull;
	Datum		curd = old_value(oldtup, oldslot, desc, attnum, &curnull);
	Datum		newd = slot_getattr(slot, attnum, &newnull);
	int64		cur,
				v;

	if (curnull)
	{
		/* A row stored without a version (replica apply): start afresh. */
		if (newnull)
			return 1;
		if (DatumGetInt64(newd) < 1)
			report_version_below_one(origin, attnum, DatumGetInt64(newd));
		return -1;
	}
	cur = DatumGetInt64(curd);
	if (cur < 1)
	{
		/*
		 * A stored version below 1 (replica apply, or a rewrite before
		 * ALTER … TYPE … USING was refused) is no version: the row starts
		 * afresh like one stored without a version.  Judged against it,
		 * cur + 1 would never reach 1 and the value carried over would be
		 * stored again and again, accepting every stale write.
		 */
		if (newnull || DatumGetInt64(newd) < 1)
			return 1;
		return -1;
	}
	if (newnull)
		report_null_column(origin, attnum, "version");

	v = DatumGetInt64(newd);

	/*
	 * The row changed after the statement read it.  A value the statement
	 * assigns was computed from the version it read, so it is stale --
	 * whether it was meant as "the version I read" or "the next version" --
	 * unless it is the current version + 1, which only an expression that
	 * EvalPlanQual re-evaluated against the current row can produce
	 * (SET version = version + 1): a client that read at most the version
	 * its statement read, and the current one is newer.  A statement that
	 * does not assign the column carries the current version over and is
	 * bumped below, as before.
	 *
	 * Without a note from tuple_lock the row is the one the statement read
	 * -- except for ON CONFLICT DO UPDATE, which may update a row committed
	 * after its snapshot; there a value equal to the current version (the
	 * only stale value the rule below would accept) is refused when the
	 * row is newer than the statement, and so is the current version + 1
	 * when the statement fixed it before it began (check_on_conflict_next:
	 * a row inserted again since the client read its predecessor).
	 */
	if (cur == PG_INT64_MAX || v != cur + 1)
	{
		bool		changed = read != NULL && (read->isnull || read->version != cur);

		if (changed || v == cur)
		{
			bool		assigns;
			bool		on_conflict;

			steward_statement_writes(rel, cid, attnum, &assigns, &on_conflict);
			if (assigns && changed)
				report_stale_version(origin, attnum, v,
									 read->isnull ? 0 : read->version, cur);
			if (assigns && on_conflict &&
				newer_than_snapshot(oldtup, buffer, snapshot))
				report_stale_version(origin, attnum, v, -2, cur);
		}
	}
	else if (unlikely(read == NULL && oldslot == NULL &&
					  BufferIsValid(buffer) && snapshot != InvalidSnapshot))
		check_on_conflict_next(rel, oldtup, buffer, snapshot, attnum, v, cur,
							   cid, origin);

	if (v < cur)
		report_stale_version(origin, attnum, v, -1, cur);
	if (cur == PG_INT64_MAX)
		report_version_exhausted(rel, origin, attnum);
	if (v > cur + 1)
		report_version_ahead(origin, attnum, v, cur);
	return (v == cur + 1) ? -1 : cur + 1;
}

static void
check_sequences(Relation rel, HeapTuple oldtup, TupleTableSlot *oldslot,
				TupleTableSlot *slot, const StewardRules *rules,
				const StewardRowOrigin *origin)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < rules->nsequences; i++)
	{
		const SequenceRule *rule = &rules->sequences[i];
		bool		curnull,
					newnull;
		Datum		curd = old_value(oldtup, oldslot, desc, rule->attnum, &curnull);
		Datum		newd = slot_getattr(slot, rule->attnum, &newnull);
		int64		cur,
					v;

		if (curnull)
			continue;
		if (newnull)
			report_null_column(origin, rule->attnum, "sequence");
		cur = int_datum_to_int64(curd, rule->typid);
		v = int_datum_to_int64(newd, rule->typid);
		if (v < cur)
			report_out_of_order(origin, rule->attnum, v, cur);
	}
}

/*
 * Check every update rule of "rel" for the new row in "slot" against
 * "oldtup", the row it replaces (in rel's format, in the pinned "buffer" or
 * a copy: InvalidBuffer; in the executor's "oldslot" or NULL), "snapshot"
 * and "read" (see check_version).  Errors out on a violation, before
 * anything is written, naming "origin" (NULL: rel and oldtup themselves).
 * Returns the number of state changes stored in "changes"; the new version
 * (or -1) goes to *newversion.  The caller applies them to the slot with
 * set_rule_values once it no longer needs "oldtup".  Inlined: the call with
 * its eleven arguments cost a bulk UPDATE more than the checks themselves.
 */
static pg_attribute_always_inline int
check_update_rules(Relation rel, const StewardRules *rules, HeapTuple oldtup,
				   TupleTableSlot *oldslot, Buffer buffer, Snapshot snapshot,
				   TupleTableSlot *slot, const ReadVersion *read, CommandId cid,
				   int64 *newversion, StateChange *changes,
				   const StewardRowOrigin *origin)
{
	StewardRowOrigin self = {rel, oldtup, NULL};

	if (origin == NULL)
		origin = &self;
	*newversion = -1;
	if (unlikely(rules->nother_versions > 0))
		refuse_two_version_columns(rel, rules->nother_versions + 1);
	if (rules->version_attnum != InvalidAttrNumber)
		*newversion = check_version(rel, oldtup, oldslot, buffer, snapshot,
									slot, rules->version_attnum, read, cid,
									origin);
	if (rules->nsequences > 0)
		check_sequences(rel, oldtup, oldslot, slot, rules, origin);
	if (rules->nstates == 0 && rules->nmissing == 0)
		return 0;
	return steward_rule_kinds.check_update_states(rel, oldtup, slot, rules, changes,
												  origin);
}

/*
 * Every rule passed: now change the row.  "version_attnum" was read from
 * the rules before check_update_rules, which may process invalidations
 * that free them (a repair's privilege check, steward_check_update_states);
 * the changes point at rules that outlive it.
 */
static void
set_rule_values(TupleTableSlot *slot, AttrNumber version_attnum,
				int64 newversion, const StateChange *changes, int nchanges)
{
	if (newversion > 0)
		steward_slot_set_int8(slot, version_attnum, newversion);
	if (nchanges > 0)
		steward_rule_kinds.apply_state_changes(slot, changes, nchanges);
}

/*
 * Once heap stored the new row: counters, so EvalPlanQual retries count
 * once.  The changes point at copies of their rules (keep_change_rules).
 * "moved": the insert half of a cross-partition update, whose old row
 * already left steward.state_counts with the delete half.  Returns rel's
 * rules, looked up after heap's update and after a repair's NOTICE read
 * the row's key (both may process invalidations that free them: heap's
 * opening the TOAST table, the NOTICE's lock of the key's index).
 */
static const StewardRules *
count_update(Relation rel, TupleTableSlot *slot,
			 const StateChange *changes, int nchanges, bool moved)
{
	StewardRules *rules;

	if (nchanges > 0)
	{
		steward_rule_kinds.count_state_changes(rel, changes, nchanges);
		if (!moved)
			steward_rule_kinds.state_counts_changes(rel, changes, nchanges);
	}
	rules = (StewardRules *) steward_get_rules(rel);
	/* The rules cache is this relation's: hot rows keeps its entry there. */
	steward_hotrows_count(rel, slot, &rules->hot);
	return rules;
}

/*
 * Point the nchanges state changes at copies of their rules, in
 * CurrentMemoryContext, before heap stores the row; returns the copies
 * for the caller to pfree once it has counted the changes (count_update),
 * or NULL for none.  StateChange.rule points into rel's cached rules
 * (rd_amcache), which heap's write may free before they are counted: it
 * may process invalidations (storing a large value opens the TOAST table,
 * the transaction's first lock of it), and a relcache invalidation of rel
 * (another session's ANALYZE, sent while this update waited for a
 * locker, wait_for_updater) makes RelationClearRelation pfree
 * rd_amcache, so the counts read the transition's state names and the
 * rule from freed memory (review39).  Copied only for a row that changes
 * state.  Takes no lock; raises only 53200.
 */
static StateRule *
keep_change_rules(StateChange *changes, int nchanges)
{
	StateRule  *kept;

	if (nchanges == 0)
		return NULL;
	kept = palloc(sizeof(StateRule) * nchanges);
	for (int i = 0; i < nchanges; i++)
	{
		kept[i] = *changes[i].rule;
		changes[i].rule = &kept[i];
	}
	return kept;
}

/*
 * Did this very command (or a statement it started since) already replace
 * or delete the row version "tup"?  Then heap_update reports
 * TM_SelfModified, and the executor skips the row silently (a second join
 * row of UPDATE ... FROM, the outer UPDATE of a row a data-modifying WITH
 * updated) or raises PostgreSQL's own error (MERGE's 21000, 27000): no
 * write happens, so there is nothing to judge, and judging the new row
 * against the version the command already left refused statements
 * PostgreSQL runs (review27 R3).  Only this backend writes a tuple's
 * xmax and cmax for its own transaction, so the pin the caller holds
 * suffices; an xmax that is a MultiXact (our update of a row others
 * share-locked) is judged as before.
 */
static bool
replaced_by_this_command(HeapTupleHeader tup, CommandId cid)
{
	uint16		infomask = tup->t_infomask;

	if ((infomask & (HEAP_XMAX_INVALID | HEAP_XMAX_IS_MULTI)) != 0 ||
		HEAP_XMAX_IS_LOCKED_ONLY(infomask) ||
		!TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetRawXmax(tup)))
		return false;
	return HeapTupleHeaderGetCmax(tup) >= cid;
}

static int
apply_update_rules(Relation rel, ItemPointer otid, TupleTableSlot *slot,
				   CommandId cid, Snapshot snapshot, StateChange *changes)
{
	const StewardRules *rules = steward_get_rules(rel);
	HeapTupleData oldtup;
	Buffer		buffer;
	TupleTableSlot *oldslot = NULL;
	ReadVersion read;
	bool		have_read;
	bool		from_slot;
	int64		newversion;
	int			nchanges;
	AttrNumber	version_attnum;

	/*
	 * A migration backfill batch writes only the migration's own columns:
	 * the row keeps its version (a client holding it must not see it go
	 * stale) and its state (src/migrate/README.md).  Only the batch
	 * statement's own rows: a statement the batch runs in turn (an up
	 * whose function writes its own table) meets every rule, as it does
	 * from an application's write (codereview9 M3).
	 */
	if (steward_rules_empty(rules) || !rules_enforced(rel) ||
		steward_rule_kinds.migration_backfilling(RelationGetRelid(rel)))
		return 0;
	have_read = take_read_version(rel, otid, cid, &read);

	/*
	 * Any visibility: the executor already decided this version is the one
	 * to update; visibility is heap_update's business.  An UPDATE or MERGE
	 * holds the row pinned in its old-row slot (writectx.c), which stays
	 * so until we return; else we read the page and pin it ourselves.  If
	 * the line pointer is gone, heap_update will report it.
	 */
	from_slot = steward_statement_old_row(rel, cid, otid, &oldtup, &buffer,
										  &oldslot);
	if (!from_slot && !fetch_row_any(rel, otid, &oldtup, &buffer))
		return 0;
	if (replaced_by_this_command(oldtup.t_data, cid))
	{
		if (!from_slot)
			ReleaseBuffer(buffer);
		return 0;
	}
	version_attnum = rules->version_attnum;
	nchanges = check_update_rules(rel, rules, &oldtup, oldslot, buffer,
								  snapshot, slot, have_read ? &read : NULL,
								  cid, &newversion, changes, NULL);
	if (!from_slot)
		ReleaseBuffer(buffer);
	set_rule_values(slot, version_attnum, newversion, changes, nchanges);
	return nchanges;
}

/* Does an update rule of "rules" write column attnum itself? */
static bool
rule_sets_column(const StewardRules *rules, AttrNumber attnum)
{
	if (rules->version_attnum == attnum)
		return true;
	for (int i = 0; i < rules->nstates; i++)
		if (rules->states[i].changed_at == attnum)
			return true;
	return false;
}

/*
 * The row lock heap_update takes on the row version "oldtup" of rel to
 * replace it by the new row in "slot", and reports in *lockmode:
 * LockTupleExclusive when a key column changes -- a column of a unique
 * index a foreign key can reference (INDEX_ATTR_BITMAP_KEY) -- else
 * LockTupleNoKeyExclusive, which a FOR KEY SHARE lock (a foreign key's
 * check) does not conflict with.  Compared as heap_update's
 * HeapDetermineColumnsInfo does: the row heap would form from the slot
 * (ExecFetchSlotHeapTuple, a copy unless the slot holds a formed tuple)
 * against the stored row, binary equality, NULL equal to NULL.  A key
 * column the rules themselves set (the version, a state's changed_at)
 * counts as changed: the rules have not judged yet, and the version they
 * set always differs.  The stored row's values are read under the pin the
 * caller holds (they never change while it is pinned).  Locks only what
 * building the key bitmap takes (AccessShareLock on rel's indexes, once
 * per relcache entry); raises nothing but out-of-memory.
 */
static LockTupleMode
update_lock_mode(Relation rel, HeapTuple oldtup, TupleTableSlot *slot)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Bitmapset  *keys = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_KEY);

	/*
	 * After the bitmap: building it opens the indexes, which may process
	 * invalidations that free rel's cached rules.
	 */
	const StewardRules *rules = steward_get_rules(rel);
	LockTupleMode mode = LockTupleNoKeyExclusive;
	HeapTuple	newtup = NULL;
	bool		shouldfree = false;
	int			x = -1;

	while (mode == LockTupleNoKeyExclusive &&
		   (x = bms_next_member(keys, x)) >= 0)
	{
		AttrNumber	attnum = x + FirstLowInvalidHeapAttributeNumber;
		Datum		oldval,
					newval;
		bool		oldnull,
					newnull;

		/* A whole-row or system column: heap says "not equal" too. */
		if (attnum <= 0 || rule_sets_column(rules, attnum))
		{
			mode = LockTupleExclusive;
			break;
		}
		if (newtup == NULL)
			newtup = ExecFetchSlotHeapTuple(slot, false, &shouldfree);
		oldval = heap_getattr(oldtup, attnum, desc, &oldnull);
		newval = heap_getattr(newtup, attnum, desc, &newnull);
		if (oldnull != newnull ||
			(!oldnull &&
			 !datumIsEqual(oldval, newval, TupleDescAttr(desc, attnum - 1)->attbyval,
						   TupleDescAttr(desc, attnum - 1)->attlen)))
			mode = LockTupleExclusive;
	}
	if (shouldfree)
		heap_freetuple(newtup);
	bms_free(keys);
	return mode;
}

/*
 * Would heap_update, replacing the row version at otid of rel with a lock
 * of "mode" (update_lock_mode), wait for another transaction first?  It
 * would for one that updated or deleted that version, committed or not (it
 * then reports the update, and the executor judges the new row it computes
 * from the winner's row: EvalPlanQual), and for one still running that
 * holds a lock conflicting with the update: FOR SHARE, FOR NO KEY UPDATE or
 * FOR UPDATE, and FOR KEY SHARE too when a key column changes (mode
 * LockTupleExclusive) -- that locker may update the row before it ends
 * (SELECT ... FOR UPDATE, then UPDATE).  Lockers and updaters in a
 * MultiXact are looked at one by one.  This transaction's own locks and
 * updates are not waited for (heap reports its own update as
 * TM_SelfModified).  "slot" holds the new row.  Reads the tuple header
 * under a share lock of its page, then the MultiXact's members; the mode
 * (update_lock_mode) is computed only when someone is there, so an
 * ordinary update reads one header more.  A locker that comes after the
 * look is waited for by heap_update itself, and its update reported as
 * TM_Updated then (EvalPlanQual judges the winner's row).  Returns the
 * mode to lock in, or -1 when there is nothing to wait for.
 */
static int
row_held_elsewhere(Relation rel, ItemPointer otid, TupleTableSlot *slot)
{
	HeapTupleData tuple;
	Buffer		buffer;
	uint16		infomask;
	TransactionId xmax;
	LockTupleMode mode;
	bool		conflict = false;

	if (!fetch_row_any(rel, otid, &tuple, &buffer))
		return -1;
	LockBuffer(buffer, BUFFER_LOCK_SHARE);
	infomask = tuple.t_data->t_infomask;
	xmax = HeapTupleHeaderGetRawXmax(tuple.t_data);
	LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
	if ((infomask & HEAP_XMAX_INVALID) != 0 ||
		((infomask & HEAP_XMAX_IS_MULTI) == 0 &&
		 (TransactionIdIsCurrentTransactionId(xmax) ||
		  (HEAP_XMAX_IS_LOCKED_ONLY(infomask) &&
		   !TransactionIdIsInProgress(xmax)))))
	{
		ReleaseBuffer(buffer);
		return -1;
	}
	mode = update_lock_mode(rel, &tuple, slot);
	ReleaseBuffer(buffer);

	if ((infomask & HEAP_XMAX_IS_MULTI) == 0)
		conflict = !HEAP_XMAX_IS_LOCKED_ONLY(infomask) ||
			mode == LockTupleExclusive || !HEAP_XMAX_IS_KEYSHR_LOCKED(infomask);
	else
	{
		MultiXactMember *members;
		int			nmembers;

		nmembers = GetMultiXactIdMembers(xmax, &members, false,
										 HEAP_XMAX_IS_LOCKED_ONLY(infomask));
		for (int i = 0; i < nmembers && !conflict; i++)
		{
			if (TransactionIdIsCurrentTransactionId(members[i].xid))
				continue;
			if (ISUPDATE_from_mxstatus(members[i].status))
				conflict = true;	/* committed or not: heap reports it */
			else
				conflict = TransactionIdIsInProgress(members[i].xid) &&
					(mode == LockTupleExclusive ||
					 members[i].status != MultiXactStatusForKeyShare);
		}
		if (nmembers > 0)
			pfree(members);
	}
	return conflict ? (int) mode : -1;
}

/*
 * Before the update rules judge the row version at otid of rel, replaced
 * by the new row in "slot" under command cid: when another transaction
 * updated or deleted it, or holds a lock conflicting with the update
 * (row_held_elsewhere), wait for it as heap_update would, taking the lock
 * heap_update takes (update_lock_mode), and return what heap reports --
 * TM_Updated or TM_Deleted, with *tmfd set and *lockmode heap's mode, when
 * the row was replaced meanwhile: the executor then locks the winner's row
 * in that mode, computes the new row again from it (EvalPlanQual) and
 * updates that version, which the rules judge; TM_Ok when it was not (the
 * updater rolled back, the locker ended without updating: this
 * transaction now holds the lock, and the rules judge the row read before
 * heap writes).  Judged before waiting, a transition legal from the
 * winner's state was refused at once from the state the statement read
 * (new -> shipped while another session's new -> paid was committing,
 * review36 R3; or while it held the row FOR UPDATE before its UPDATE,
 * conc50 X2).  *lockmode must be heap's: LockTupleExclusive for an update
 * that changes no key made the executor's lock of the winner's row
 * conflict with FOR KEY SHARE, so a foreign key's check (a child row's
 * INSERT) waited for this update, and failed 40001 under REPEATABLE READ,
 * where plain heap goes on (conc50 X1).  Only rows under rules, and only
 * when someone else holds the row, so an ordinary UPDATE reads one tuple
 * header more.  Waits as heap does (lock_timeout, deadlock detection: 55P03,
 * 40P01); raises what heap's lock raises (55P03 when !wait).
 */
static TM_Result
wait_for_updater(Relation rel, ItemPointer otid, TupleTableSlot *slot,
				 CommandId cid, Snapshot snapshot, bool wait,
				 TM_FailureData *tmfd, LockTupleMode *lockmode)
{
	TupleTableSlot *lockslot;
	ItemPointerData tid = *otid;
	TM_Result	result;
	int			mode;

	if (steward_rules_empty(steward_get_rules(rel)) || !rules_enforced(rel) ||
		(mode = row_held_elsewhere(rel, otid, slot)) < 0)
		return TM_Ok;
	lockslot = MakeSingleTupleTableSlot(RelationGetDescr(rel),
										&TTSOpsBufferHeapTuple);
	result = heap_methods->tuple_lock(rel, &tid, snapshot, lockslot, cid,
									  (LockTupleMode) mode,
									  wait ? LockWaitBlock : LockWaitError,
									  0, tmfd);
	ExecDropSingleTupleTableSlot(lockslot);
	if (result == TM_Updated || result == TM_Deleted)
	{
		*lockmode = (LockTupleMode) mode;
		return result;
	}
	return TM_Ok;				/* anything else: heap_update reports it */
}

static TM_Result
steward_tuple_update(Relation rel, ItemPointer otid, TupleTableSlot *slot,
					 CommandId cid, Snapshot snapshot, Snapshot crosscheck,
					 bool wait, TM_FailureData *tmfd,
					 LockTupleMode *lockmode, bool *update_indexes)
{
	StateChange changes[STEWARD_MAX_STATE_RULES];
	int			nchanges;
	StateRule  *kept;
	TM_Result	result;

	result = wait_for_updater(rel, otid, slot, cid, snapshot, wait, tmfd,
							  lockmode);
	if (result != TM_Ok)
		return result;
	nchanges = apply_update_rules(rel, otid, slot, cid, snapshot, changes);
	kept = keep_change_rules(changes, nchanges);
	result = heap_methods->tuple_update(rel, otid, slot, cid, snapshot,
										crosscheck, wait, tmfd, lockmode,
										update_indexes);
	if (result == TM_Ok)
	{
		const StewardRules *rules = count_update(rel, slot, changes, nchanges,
												 false);

		/* Rows stored as sent may have changed state unseen. */
		if (rules->nstates > 0 && !rules_enforced(rel))
			steward_rule_kinds.state_counts_unknown(rel, rules);
	}
	if (kept != NULL)
		pfree(kept);
	return result;
}

/* ------------------------------------------------------------------------
 * Cross-partition UPDATE
 *
 * An UPDATE that moves a row to another partition is run by the executor as
 * a delete from the old partition (tuple_delete with changingPart) followed
 * by an insert into the new one (ExecCrossPartitionUpdate): the AM never
 * sees an update.  The delete half remembers the row it deletes; the insert
 * half -- the next insert of the same command into a partition of the same
 * partitioned table -- is then checked with the update rules against that
 * row, converted to the new partition's format by column name (partitions
 * may number their columns differently), exactly as if the row had stayed.
 * Nothing else of the command writes in between: the only code that runs
 * between the two halves is tuple routing and the new partition's BEFORE
 * ROW INSERT triggers, whose own statements run under other command ids.
 * If the delete fails (concurrent update: EvalPlanQual, then a new delete
 * of the later version) or the insert never comes (a BEFORE trigger
 * dropped the row), the memory is replaced or forgotten by the next write
 * of that command, and in any case once the executor goes on to its next
 * row (end_moving_row_with_executor_row).  The writes of those triggers'
 * own statements (an audit row inserted into another steward table, a
 * DELETE anywhere, a move of another row) run under later command ids
 * while the moving command is still under way: they leave its memory
 * alone, a nested move waiting above it (moving_rows), or the insert half
 * would be checked as a new row (an UPDATE setting an older version moved
 * the row with that version, review27 R2, codereview15 C1).
 * ------------------------------------------------------------------------
 */

/*
 * A rule of the partition a row leaves, by kind and column name (partitions
 * may number their columns differently), as held_rules notes it and
 * lost_rules / held_lost report it.
 */
typedef struct HeldRule
{
	const char *kind;			/* "version", "sequence", "state" */
	char		column[NAMEDATALEN];
	char		machine[NAMEDATALEN];	/* a state rule's, else "" */
	char		changed_at[NAMEDATALEN];	/* a state rule's stamp, else "" */
	char		other[NAMEDATALEN]; /* lost: the machine the destination has
									 * on that column, else "" */
	char		other_changed_at[NAMEDATALEN];	/* and that rule's stamp */
} HeldRule;

/*
 * The columns that rules of the partition a moving row leaves governed
 * there, by kind, as that partition's attribute numbers (a state rule
 * whose machine is missing counts: it governs its column too).
 */
typedef struct MoveSourceRules
{
	AttrNumber	version;
	Bitmapset  *sequences;
	Bitmapset  *states;
} MoveSourceRules;

static int	held_rules(Relation from, HeldRule **held);
static void move_source_rules(Relation src, MoveSourceRules *out);

typedef struct MovingRow
{
	LocalTransactionId lxid;
	CommandId	cid;
	Oid			root;			/* topmost partitioned ancestor */
	Oid			relid;			/* the old partition */
	TupleDesc	desc;			/* the old partition's row format */
	HeapTuple	tuple;			/* the row the delete replaced */
	bool		have_read;
	ReadVersion read;
	uint64		generation;		/* which delete half noted it */
	HeldRule   *held;			/* the old partition's rules, as the delete
								 * half compared them (held_rules) */
	int			nheld;
	MoveSourceRules src;		/* and the columns they governed there */
	MemoryContext cxt;			/* holds desc, tuple, held and src; kept
								 * for reuse */
} MovingRow;

/*
 * The moves waiting for their insert half, outermost first, one per
 * command at most, command ids increasing.  Usually one.  A move nested in
 * a BEFORE ROW INSERT trigger of an outer move's new partition (the trigger
 * moves another row across partitions of any steward table) waits above
 * the outer one and ends first; the outer one then still gets its insert
 * half.  With a single memory the nested move replaced the outer one's,
 * whose insert half was then checked as a new row: an UPDATE setting an
 * older version moved the row with that version (codereview15 C1,
 * sql/324).  The slots past nmoving keep their contexts for reuse.
 */
static MovingRow *moving_rows = NULL;
static int	nmoving = 0;
static int	maxmoving = 0;
static uint64 moving_generation = 0;

/* A reset callback that ends a moving row's memory with its executor row. */
typedef struct MovingRowEnd
{
	MemoryContextCallback callback;
	uint64		generation;
} MovingRowEnd;

/* End waiting move i: its insert half came, or never will. */
static void
drop_moving_row(int i)
{
	MovingRow	ended = moving_rows[i];

	MemoryContextReset(ended.cxt);
	memmove(&moving_rows[i], &moving_rows[i + 1],
			sizeof(MovingRow) * (nmoving - i - 1));
	moving_rows[--nmoving] = ended; /* its context, for the next move */
}

/* End the waiting move noted as "generation", if it still waits. */
static void
drop_moving_generation(uint64 generation)
{
	for (int i = 0; i < nmoving; i++)
	{
		if (moving_rows[i].generation == generation)
		{
			drop_moving_row(i);
			break;
		}
	}
}

/*
 * Drop the waiting moves a write under "cid" shows are over: those of
 * another transaction, those of statements that ran nested in this one
 * (later command ids: they ended before this command wrote again), and,
 * unless keep_own, this command's own (its next write after a delete half
 * whose insert half never came).  Moves of the commands this one is nested
 * in (earlier command ids) wait on: its writes run in their BEFORE ROW
 * INSERT triggers (review27 R2).  Then the command's own move, if any, is
 * the last one.
 */
static void
settle_moving_rows(CommandId cid, bool keep_own)
{
	for (int i = nmoving - 1; i >= 0; i--)
	{
		MovingRow  *m = &moving_rows[i];

		if (m->lxid != MyProc->lxid || m->cid > cid ||
			(m->cid == cid && !keep_own))
			drop_moving_row(i);
	}
}

/*
 * The executor moved on to another row of the statement that deleted the
 * moving row (see note_moving_row): its insert half never came.
 */
static void
moving_row_cycle_ended(void *arg)
{
	drop_moving_generation(((MovingRowEnd *) arg)->generation);
}

static Oid
partition_root(Oid relid)
{
	List	   *ancestors = steward_partition_ancestors(relid);
	Oid			root = ancestors != NIL ? llast_oid(ancestors) : InvalidOid;

	list_free(ancestors);
	return root;
}

/*
 * Tie the moving row just noted to the executor's row that moves it: the
 * insert half comes before the executor resets the statement's per-tuple
 * memory for its next row, or never (a BEFORE ROW INSERT trigger of the
 * new partition returned NULL).  Without this, the next insert of the same
 * command into the same tree -- a MERGE's WHEN NOT MATCHED INSERT for a
 * later source row, or the INSERT of a data-modifying WITH -- was taken for
 * the insert half and judged as an UPDATE of the dropped row: a new row
 * stored in a state no INSERT may start in, with any version the dropped
 * row's could become (review27 R1, sql/321).
 */
static void
end_moving_row_with_executor_row(CommandId cid, uint64 generation)
{
	MemoryContext row_memory = steward_statement_row_memory(cid);
	MovingRowEnd *end;

	if (row_memory == NULL)
		return;
	end = MemoryContextAlloc(row_memory, sizeof(MovingRowEnd));
	end->generation = generation;
	end->callback.func = moving_row_cycle_ended;
	end->callback.arg = end;
	MemoryContextRegisterResetCallback(row_memory, &end->callback);
}

/*
 * The delete half of a cross-partition move of the row at tid of rel
 * under "cid": remember the row for its insert half, above the moves of
 * the commands this one is nested in.  The caller settled the moves
 * (settle_moving_rows with keep_own false).
 */
static void
note_moving_row(Relation rel, ItemPointer tid, CommandId cid)
{
	HeapTupleData tuple;
	Buffer		buffer;
	MemoryContext old;
	MovingRow  *m;

	if (!rel->rd_rel->relispartition)
		return;
	if (nmoving == maxmoving)
	{
		int			newmax = Max(4, maxmoving * 2);

		moving_rows = moving_rows == NULL ?
			MemoryContextAlloc(TopMemoryContext, sizeof(MovingRow) * newmax) :
			repalloc(moving_rows, sizeof(MovingRow) * newmax);
		for (int i = maxmoving; i < newmax; i++)
			moving_rows[i].cxt = NULL;
		maxmoving = newmax;
	}
	m = &moving_rows[nmoving];
	if (m->cxt == NULL)
		m->cxt = AllocSetContextCreate(TopMemoryContext, "steward moving row",
									   ALLOCSET_SMALL_SIZES);
	MemoryContextReset(m->cxt); /* an error may have left a half-noted row */
	if (!fetch_row_any(rel, tid, &tuple, &buffer))
		return;
	old = MemoryContextSwitchTo(m->cxt);
	m->tuple = heap_copytuple(&tuple);
	m->desc = CreateTupleDescCopyConstr(RelationGetDescr(rel));
	m->nheld = held_rules(rel, &m->held);
	move_source_rules(rel, &m->src);
	MemoryContextSwitchTo(old);
	ReleaseBuffer(buffer);

	m->root = partition_root(RelationGetRelid(rel));
	m->relid = RelationGetRelid(rel);
	m->lxid = MyProc->lxid;
	m->cid = cid;
	m->have_read = take_read_version(rel, tid, cid, &m->read);
	m->generation = ++moving_generation;
	nmoving++;
	end_moving_row_with_executor_row(cid, m->generation);
}

/*
 * Is this insert the second half of a cross-partition UPDATE?  Then the
 * move is the last of moving_rows.  The insert of a statement nested in
 * the moving command (a later command id) is not, and leaves the move
 * waiting; another insert of the same command (a partition of another
 * tree) shows that the move's insert half never came.
 */
static bool
is_moving_row(Relation rel, CommandId cid)
{
	MovingRow  *m;

	if (nmoving == 0)
		return false;
	settle_moving_rows(cid, true);
	if (nmoving == 0)
		return false;
	m = &moving_rows[nmoving - 1];
	if (m->cid != cid)
		return false;
	if (!rel->rd_rel->relispartition ||
		partition_root(RelationGetRelid(rel)) != m->root)
	{
		drop_moving_row(nmoving - 1);
		return false;
	}
	return true;
}
/* A copy of the row version at tid (any visibility), or NULL. */
static HeapTuple
fetch_copy(Relation rel, ItemPointer tid)
{
	HeapTupleData tuple;
	Buffer		buffer;
	HeapTuple	copy = NULL;

	if (fetch_row_any(rel, tid, &tuple, &buffer))
	{
		copy = heap_copytuple(&tuple);
		ReleaseBuffer(buffer);
	}
	return copy;
}

/*
 * The delete half of a cross-partition UPDATE whose row goes to a
 * foreign-table partition: no insert of ours follows (the foreign data
 * wrapper stores the row on the other side, where an insert takes any
 * version and any initial state), so the move is judged here, as an UPDATE
 * of rel, before the row leaves: the update rules against the row at tid,
 * with the new row from the executor's slot (writectx.c), whose version and
 * changed_at are then set in that very slot, which the executor routes to
 * the foreign partition once the delete is done.  Errors name rel and the
 * row's key there, as for a row that stays.  Returns whether the row goes
 * to a foreign partition, with the state changes to count once the delete
 * succeeded.
 */
static bool
judge_move_to_foreign(Relation rel, ItemPointer tid, CommandId cid,
					  StateChange *changes, int *nchanges)
{
	const StewardRules *rules;
	Oid			dest;
	TupleTableSlot *newslot = steward_statement_foreign_move(rel, cid, tid, &dest);
	HeapTupleData oldtup;
	Buffer		buffer;
	ReadVersion read;
	bool		have_read;
	int64		newversion;
	AttrNumber	version_attnum;

	if (newslot == NULL)
		return false;

	/*
	 * After the routing: it may open the destination and the partitioned
	 * tables above it, which processes invalidations that free rel's
	 * cached rules (see keep_change_rules).
	 */
	rules = steward_get_rules(rel);
	have_read = take_read_version(rel, tid, cid, &read);
	if (!fetch_row_any(rel, tid, &oldtup, &buffer))
		return true;			/* gone: heap's delete reports it */
	version_attnum = rules->version_attnum;
	*nchanges = check_update_rules(rel, rules, &oldtup, NULL, buffer,
								   InvalidSnapshot, newslot,
								   have_read ? &read : NULL, cid, &newversion,
								   changes, NULL);
	set_rule_values(newslot, version_attnum, newversion, changes, *nchanges);
	ReleaseBuffer(buffer);
	return true;
}

/*
 * Has "rules" (of a relation described by "desc") a rule like "held": the
 * same kind on a column of the same name, and for a state rule the same
 * machine (machines are named uniquely) stamping a changed_at column of
 * the same name, or none in both?  A state rule under another machine is
 * not the same rule: its edges may allow what the held one forbids
 * (review34 R2: 'shipped' moved into a sibling whose machine has
 * shipped -> new, was reset there, and moved back).  Nor is the same
 * machine stamping another column, or none: the row's later changes of
 * state would silently stop being stamped where they were (newcomer47
 * C1).  The destination's machine and its changed_at column go to
 * held->other and held->other_changed_at.
 */
static bool
rules_hold(const StewardRules *rules, TupleDesc desc, HeldRule *held)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		AttrNumber	attnum = att->attnum;

		if (att->attisdropped || strcmp(NameStr(att->attname), held->column) != 0)
			continue;
		if (strcmp(held->kind, "version") == 0)
			return rules->version_attnum == attnum;
		if (strcmp(held->kind, "sequence") == 0)
		{
			for (int j = 0; j < rules->nsequences; j++)
				if (rules->sequences[j].attnum == attnum)
					return true;
			return false;
		}
		for (int j = 0; j < rules->nstates + rules->nmissing; j++)
		{
			bool		missing = j >= rules->nstates;
			const char *machine = missing ? rules->missing[j - rules->nstates].machine :
				rules->states[j].machine;
			AttrNumber	stamp = missing ? rules->missing[j - rules->nstates].changed_at :
				rules->states[j].changed_at;
			const char *stampname = AttributeNumberIsValid(stamp) ?
				NameStr(TupleDescAttr(desc, stamp - 1)->attname) : "";

			if ((missing ? rules->missing[j - rules->nstates].attnum :
				 rules->states[j].attnum) != attnum)
				continue;
			if (strcmp(machine, held->machine) == 0 &&
				strcmp(stampname, held->changed_at) == 0)
				return true;
			strlcpy(held->other, machine, NAMEDATALEN);
			strlcpy(held->other_changed_at, stampname, NAMEDATALEN);
			return false;
		}
		return false;
	}
	return false;
}

/*
 * The rules of partition "from", by kind and column name, into *held
 * (palloc'd in CurrentMemoryContext, one HeldRule per rule: its version
 * column, each sequence, each state rule with its machine and changed_at
 * column, a missing machine's too); returns how many.  What a move's
 * delete half compares with the destination (lost_rules) and notes for
 * its insert half (note_moving_row, held_lost).  Reads from's cached
 * rules; takes no lock; raises only 53200.
 */
static int
held_rules(Relation from, HeldRule **held)
{
	const StewardRules *fr = steward_get_rules(from);
	TupleDesc	fdesc = RelationGetDescr(from);
	int			maxheld = 1 + fr->nsequences + fr->nstates + fr->nmissing;
	HeldRule   *h;
	int			nheld = 0;

	*held = palloc0(sizeof(HeldRule) * maxheld);
	if (fr->version_attnum != InvalidAttrNumber)
	{
		h = &(*held)[nheld++];
		h->kind = "version";
		strlcpy(h->column, NameStr(TupleDescAttr(fdesc, fr->version_attnum - 1)->attname), NAMEDATALEN);
	}
	for (int i = 0; i < fr->nsequences; i++)
	{
		h = &(*held)[nheld++];
		h->kind = "sequence";
		strlcpy(h->column, NameStr(TupleDescAttr(fdesc, fr->sequences[i].attnum - 1)->attname), NAMEDATALEN);
	}
	for (int i = 0; i < fr->nstates + fr->nmissing; i++)
	{
		bool		missing = i >= fr->nstates;
		AttrNumber	attnum = missing ? fr->missing[i - fr->nstates].attnum :
			fr->states[i].attnum;
		AttrNumber	stamp = missing ? fr->missing[i - fr->nstates].changed_at :
			fr->states[i].changed_at;

		h = &(*held)[nheld++];
		h->kind = "state";
		strlcpy(h->column, NameStr(TupleDescAttr(fdesc, attnum - 1)->attname), NAMEDATALEN);
		strlcpy(h->machine, missing ? fr->missing[i - fr->nstates].machine :
				fr->states[i].machine, NAMEDATALEN);
		if (AttributeNumberIsValid(stamp))
			strlcpy(h->changed_at, NameStr(TupleDescAttr(fdesc, stamp - 1)->attname), NAMEDATALEN);
	}
	return nheld;
}

/*
 * Which of the "nheld" rules "held" (held_rules) do "rules", of a relation
 * described by "desc", lack (rules_hold)?  Returns how many; with lost
 * non-NULL each goes into *lost (palloc'd in CurrentMemoryContext when
 * one is lost: nothing is allocated otherwise, once per moved row; with
 * what the relation has on that column instead), with lost NULL it stops
 * at the first.  Takes no lock; raises only 53200.
 */
static int
held_lost(HeldRule *held, int nheld, const StewardRules *rules,
		  TupleDesc desc, HeldRule **lost)
{
	int			nlost = 0;

	for (int i = 0; i < nheld && (lost != NULL || nlost == 0); i++)
	{
		held[i].other[0] = '\0';
		held[i].other_changed_at[0] = '\0';
		if (!rules_hold(rules, desc, &held[i]))
		{
			if (lost != NULL && nlost == 0)
				*lost = palloc(sizeof(HeldRule) * nheld);
			if (lost != NULL)
				(*lost)[nlost] = held[i];
			nlost++;
		}
	}
	return nlost;
}

/*
 * Does "to" (a leaf partition, or the partitioned table a statement routes
 * from) lack a rule that partition "from" has -- its version column, a
 * sequence, or a state machine on a column of that name, the same machine
 * with the same changed_at column (rules_hold)?  Returns how many it lacks (0: none).  With lost
 * non-NULL, every such rule goes into *lost (palloc'd in the caller's
 * context), so one refusal names them all (newcomer47 N: one at a time,
 * the user met a refusal per rule); with lost NULL it stops at the first.
 * The rules of "to" are its own and its partitioned ancestors'.  Reads
 * the rules catalog, unless the pair is known to lose nothing
 * (LostRulesMemo); opens no relation.
 */
/*
 * lost_rules' answers for pairs of relations that lose nothing, kept
 * while nothing can have changed the rules: in the same transaction and
 * command counter (a statement that changes rules -- attach, track,
 * detach, in a trigger between a move's halves or between two rows --
 * ends with a CommandCounterIncrement, which moves it on), with no
 * invalidation received from other sessions since.  A bulk move asks for
 * the same pairs for every row (the source and the root the statement
 * routes from, the source and the destination), and each answer read
 * the rules catalog (steward_load_rules): mach23 measured a 200,000-row
 * move.  A few pairs, replaced in turn.
 */
#define LOST_RULES_MEMO 8

typedef struct LostRulesMemo
{
	LocalTransactionId lxid;	/* InvalidLocalTransactionId: empty */
	CommandId	command;
	uint64		inval;
	Oid			from;
	Oid			to;
} LostRulesMemo;

static LostRulesMemo lost_rules_memo[LOST_RULES_MEMO];
static int	lost_rules_memo_next = 0;

/* Is "from" -> "to" known to lose no rule now (LostRulesMemo)? */
static bool
loses_nothing_memo(Oid from, Oid to, bool remember)
{
	CommandId	command = GetCurrentCommandId(false);

	if (!remember)
	{
		for (int i = 0; i < LOST_RULES_MEMO; i++)
		{
			LostRulesMemo *m = &lost_rules_memo[i];

			if (m->from == from && m->to == to && m->lxid == MyProc->lxid &&
				m->command == command && m->inval == SharedInvalidMessageCounter)
				return true;
		}
		return false;
	}
	lost_rules_memo[lost_rules_memo_next] = (LostRulesMemo)
	{
		MyProc->lxid, command, SharedInvalidMessageCounter, from, to
	};
	lost_rules_memo_next = (lost_rules_memo_next + 1) % LOST_RULES_MEMO;
	return true;
}

static int
lost_rules(Relation from, Relation to, HeldRule **lost)
{
	MemoryContext cxt;
	MemoryContext old;
	HeldRule   *held;
	HeldRule   *found = NULL;
	int			nheld;
	int			nlost = 0;

	if (loses_nothing_memo(RelationGetRelid(from), RelationGetRelid(to), false))
		return 0;
	cxt = AllocSetContextCreate(CurrentMemoryContext, "steward lost rule",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);

	/*
	 * What "from" holds, copied before the rules of "to" are read: reading
	 * them may process invalidations that free from's cached entry.
	 */
	nheld = held_rules(from, &held);
	if (nheld > 0)
		nlost = held_lost(held, nheld, steward_load_rules(to),
						  RelationGetDescr(to), lost != NULL ? &found : NULL);
	MemoryContextSwitchTo(old);
	if (lost != NULL && nlost > 0)
	{
		*lost = palloc(sizeof(HeldRule) * nlost);
		memcpy(*lost, found, sizeof(HeldRule) * nlost);
	}
	MemoryContextDelete(cxt);
	if (nlost == 0)
		loses_nothing_memo(RelationGetRelid(from), RelationGetRelid(to), true);
	return nlost;
}

/* lost_rules as a StewardLeafTest (writectx.c picks the leaves with it). */
static bool
leaf_lacks_rule(Relation from, Relation leaf)
{
	return lost_rules(from, leaf, NULL) > 0;
}

/*
 * What a lost rule is, for the DETAIL ("version column "v"") and the call
 * that gives it to "target" (a quoted literal of the destination's
 * qualified name) for the HINT: a state machine's with its
 * changed_at_column, so the call gives the very rule the row leaves.
 */
static void
describe_lost_rule(const HeldRule *lost, const char *target,
				   const char **what, const char **call)
{
	if (strcmp(lost->kind, "version") == 0)
	{
		*what = psprintf("version column \"%s\"", lost->column);
		*call = psprintf("SELECT steward.track_versions(%s, %s);", target,
						 quote_literal_cstr(lost->column));
	}
	else if (strcmp(lost->kind, "sequence") == 0)
	{
		*what = psprintf("sequence column \"%s\"", lost->column);
		*call = psprintf("SELECT steward.track_sequence(%s, %s);", target,
						 quote_literal_cstr(lost->column));
	}
	else
	{
		*what = psprintf("state machine \"%s\" on column \"%s\"",
						 lost->machine, lost->column);
		*call = lost->changed_at[0] == '\0' ?
			psprintf("SELECT steward.attach_state_machine(%s, %s, %s);", target,
					 quote_literal_cstr(lost->column),
					 quote_literal_cstr(lost->machine)) :
			psprintf("SELECT steward.attach_state_machine(%s, %s, %s, changed_at_column => %s);",
					 target, quote_literal_cstr(lost->column),
					 quote_literal_cstr(lost->machine),
					 quote_literal_cstr(lost->changed_at));
	}
}

/*
 * The message of a refused move of a row (key, or NULL when the role may
 * not see it) from partition rel to "to"; call inside ereport.
 */
static int
errmsg_move_refused(const char *key, Relation rel, Relation to)
{
	return key ?
		errmsg("cannot move row %s from partition \"%s\" to partition \"%s\"",
			   key, RelationGetRelationName(rel), RelationGetRelationName(to)) :
		errmsg("cannot move a row from partition \"%s\" to partition \"%s\"",
			   RelationGetRelationName(rel), RelationGetRelationName(to));
}

/*
 * The table whose state rule on column "column" partition "to" follows:
 * "to" itself or the partitioned ancestor declaring it (a machine attached
 * to a sub-partitioned table), as a quoted literal of its qualified name,
 * for a HINT's detach_state_machine call, which fails 42704 on a partition
 * that only inherits the rule.  Locks: AccessShareLock on
 * steward.column_rules, released before returning.
 */
static const char *
state_rule_holder(Relation to, const char *column)
{
	Oid			holder = steward_column_rule_relid(to, get_attnum(RelationGetRelid(to), column),
												   true);

	return quote_literal_cstr(steward_qualified_name(OidIsValid(holder) ? holder :
													 RelationGetRelid(to)));
}

/* A changed_at column for a DETAIL: "column "c"", or "no changed_at column". */
static const char *
describe_stamp(const char *changed_at)
{
	return changed_at[0] == '\0' ? "no changed_at column" :
		psprintf("changed_at column \"%s\"", changed_at);
}

/*
 * A state rule "lost" that the destination partition "to" has otherwise,
 * for a DETAIL: under another machine (lost->other: "column "st" follows
 * state machine "a" in "p" and state machine "b" in "q"") or the same
 * machine stamping another changed_at column or none ("... with
 * changed_at column "x" in "p" and with no changed_at column in "q""),
 * "Column" when it starts the DETAIL.
 */
static const char *
describe_rule_difference(Relation rel, Relation to, const HeldRule *lost,
						 bool first)
{
	const char *column = first ? "Column" : "column";

	if (strcmp(lost->other, lost->machine) != 0)
		return psprintf("%s \"%s\" follows state machine \"%s\" in \"%s\" and state machine \"%s\" in \"%s\"",
						column, lost->column, lost->machine, RelationGetRelationName(rel),
						lost->other, RelationGetRelationName(to));
	return psprintf("%s \"%s\" follows state machine \"%s\" with %s in \"%s\" and with %s in \"%s\"",
					column, lost->column, lost->machine, describe_stamp(lost->changed_at),
					RelationGetRelationName(rel), describe_stamp(lost->other_changed_at),
					RelationGetRelationName(to));
}

/*
 * The calls that put rel's state rule "lost", with its changed_at_column,
 * on the table holding the destination's (state_rule_holder: the
 * partition "to", or the sub-partitioned ancestor it inherits the rule
 * from, whose detach_state_machine a leaf's would fail 42704).
 */
static const char *
destination_rule_calls(Relation to, const HeldRule *lost)
{
	const char *holder = state_rule_holder(to, lost->column);
	const char *what;
	const char *call;

	describe_lost_rule(lost, holder, &what, &call);
	return psprintf("SELECT steward.detach_state_machine(%s, %s); %s",
					holder, quote_literal_cstr(lost->column), call);
}

/*
 * Is "lost" the same machine, stamping no changed_at column in the
 * partition the row leaves and one in the destination?  Then stamping
 * is kept by giving the source the destination's column
 * (source_stamp_calls), not by re-attaching the destination without it,
 * which stops stamping there (mach21).
 */
static bool
only_destination_stamps(const HeldRule *lost)
{
	return strcmp(lost->other, lost->machine) == 0 &&
		lost->changed_at[0] == '\0' && lost->other_changed_at[0] != '\0';
}

/*
 * For only_destination_stamps: the calls that re-attach the machine to
 * the table holding rel's rule with the destination's changed_at column
 * (partitions share their columns by name, so rel has it).
 */
static const char *
source_stamp_calls(Relation rel, const HeldRule *lost)
{
	HeldRule	stamped = *lost;
	const char *holder = state_rule_holder(rel, lost->column);
	const char *what;
	const char *call;

	strlcpy(stamped.changed_at, lost->other_changed_at, NAMEDATALEN);
	describe_lost_rule(&stamped, holder, &what, &call);
	return psprintf("SELECT steward.detach_state_machine(%s, %s); %s",
					holder, quote_literal_cstr(lost->column), call);
}

/*
 * Refuse (0A000) the move of a row (key, or NULL when not shown) from rel,
 * whose state rule "lost" the destination partition "to" has otherwise:
 * under another machine (lost->other), where the row would take a state
 * that machine's edges allow and could come back in it (review34 R2), or
 * under the same machine stamping another changed_at column or none
 * (lost->other_changed_at), where its later changes of state would
 * silently stop being stamped (newcomer47 C1).  The HINT gives the calls
 * that put the same rule on both: when only the destination stamps, first
 * its stamp on rel (source_stamp_calls), which keeps stamping, then the
 * other way, rel's rule on the destination (destination_rule_calls).
 */
static void
refuse_move_between_machines(Relation rel, Relation to, const HeldRule *lost,
							 const char *key)
{
	const char *calls = destination_rule_calls(to, lost);

	if (strcmp(lost->other, lost->machine) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg_move_refused(key, rel, to),
				 errdetail("%s: a row moves only between partitions under the same machine, or it could take a state the other machine allows and come back in it.",
						   describe_rule_difference(rel, to, lost, true)),
				 errhint("Attach the same machine to both partitions (%s), or declare one machine on the partitioned table.",
						 calls),
				 errtable(rel)));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg_move_refused(key, rel, to),
			 errdetail("%s: a row moves only between partitions under the same rule, or its changes of state would stop being stamped where they were.",
					   describe_rule_difference(rel, to, lost, true)),
			 only_destination_stamps(lost) ?
			 errhint("Stamp column \"%s\" in \"%s\" too (%s), or stop stamping it in \"%s\" (%s), or declare the machine on the partitioned table.",
					 lost->other_changed_at, RelationGetRelationName(rel),
					 source_stamp_calls(rel, lost), RelationGetRelationName(to), calls) :
			 errhint("Attach the machine to both partitions with the same changed_at_column (%s), or declare it on the partitioned table.",
					 calls),
			 errtable(rel)));
}

/*
 * Refuse (0A000) the move of a row from rel to "to", which lacks the
 * "nlost" rules "lost" (lost_rules; more than one), some of them state
 * rules "to" has otherwise: one error naming them all, each difference
 * in the DETAIL and each rule's calls in the HINT (a stamp only the
 * destination has: the calls giving it to rel, which keep stamping), so
 * the user meets one refusal, not one per rule (mach21: the error
 * named the first state rule "to" has otherwise alone, so the user met
 * one refusal per rule).
 */
static void
refuse_move_losing_mixed(Relation rel, Relation to, const HeldRule *lost,
						 int nlost, const char *key, const char *target)
{
	StringInfoData what;
	StringInfoData calls;

	initStringInfo(&what);
	initStringInfo(&calls);
	for (int i = 0; i < nlost; i++)
	{
		const char *one;
		const char *call;

		if (lost[i].other[0] != '\0')
		{
			one = describe_rule_difference(rel, to, &lost[i], false);
			call = only_destination_stamps(&lost[i]) ?
				source_stamp_calls(rel, &lost[i]) :
				destination_rule_calls(to, &lost[i]);
		}
		else
		{
			describe_lost_rule(&lost[i], target, &one, &call);
			one = psprintf("\"%s\" has the %s and \"%s\" does not",
						   RelationGetRelationName(rel), one, RelationGetRelationName(to));
		}
		appendStringInfo(&what, "%s%s", i > 0 ? "; " : "", one);
		appendStringInfo(&calls, "%s%s", i > 0 ? " " : "", call);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg_move_refused(key, rel, to),
			 errdetail("Partitions \"%s\" and \"%s\" differ in %d rules: %s. A row moves only between partitions under the same rules, or it could take a state another machine allows, stop being stamped, or come back judged as a new row.",
					   RelationGetRelationName(rel), RelationGetRelationName(to),
					   nlost, what.data),
			 errhint("Give both partitions the same rules (%s), or declare them on the partitioned table.",
					 calls.data),
			 errtable(rel)));
}

static void refuse_lost_rules(Relation rel, Relation to, const HeldRule *lost,
							  int nlost, const char *key);

/*
 * The delete half of a cross-partition UPDATE or MERGE of the row at tid of
 * rel, which has rules: refuse (0A000) when the row goes to a local
 * partition lacking one of them (a rule put on one partition only, or a
 * state rule under another machine or stamping another changed_at column:
 * refuse_move_between_machines, or with other lost rules
 * refuse_move_losing_mixed, which names them all).  The
 * partition a row leaves judges nothing (a DELETE), and the one it enters
 * judges it as a new row (split_move_rules), so a row that left and came
 * back returned in an initial state with any version: an UPDATE-only role
 * reset a machine or reopened a lost update (review31, trust46).  Refused
 * before the row goes anywhere (the delete half runs it once heap deleted
 * the row, so the new row routed is the executor's final one; the error
 * undoes the delete), naming every rule the destination lacks and
 * the calls that give them to it, a machine's with its changed_at_column
 * (newcomer47: the HINT's call left the stamp out, and a row then moved
 * stopped being stamped).  A foreign partition is the other node's to
 * check (judge_move_to_foreign).  Finds the destination only when rel has
 * a rule the root the statement routes from lacks, by routing the new row
 * as the executor does (steward_statement_move_losing), which locks the
 * destination alone of the leaves.
 */
static void
refuse_move_losing_rules(Relation rel, ItemPointer tid, CommandId cid)
{
	StewardMoveUnknown unknown;
	Oid			dest = steward_statement_move_losing(rel, cid, tid,
													 leaf_lacks_rule, &unknown);
	Relation	to;
	HeldRule   *lost;
	int			nlost;
	HeapTupleData tuple;
	Buffer		buffer;
	char	   *key = NULL;

	if (unknown != STEWARD_MOVE_KNOWN)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot move a row of relation \"%s\" to another partition here",
						RelationGetRelationName(rel)),
				 errdetail("A partition the row may go to lacks a rule of pg_steward that \"%s\" has, and %s, so where the row goes cannot be told.",
						   RelationGetRelationName(rel), steward_move_unknown_clause(unknown)),
				 errhint("Move the row with one UPDATE of the partitioned table.")));
	if (!OidIsValid(dest))
		return;
	to = relation_open(dest, NoLock);	/* locked by routing */
	nlost = lost_rules(rel, to, &lost);
	if (nlost == 0)
	{
		relation_close(to, NoLock);
		return;
	}
	if (fetch_row_any(rel, tid, &tuple, &buffer))
	{
		key = steward_row_key_desc(rel, &tuple);
		ReleaseBuffer(buffer);
	}
	refuse_lost_rules(rel, to, lost, nlost, key);
}

/*
 * Refuse (0A000) the move of a row (key, or NULL when not shown) from
 * partition rel to "to", which lacks the "nlost" rules "lost" (lost_rules,
 * held_lost): a state rule "to" has otherwise alone
 * (refuse_move_between_machines) or with others (refuse_move_losing_mixed),
 * else every rule "to" lacks, the HINT giving the calls that give them to
 * it.  Locks: steward.column_rules with AccessShareLock for a HINT's
 * detach call (state_rule_holder), until the error.
 */
static void
refuse_lost_rules(Relation rel, Relation to, const HeldRule *lost, int nlost,
				  const char *key)
{
	StringInfoData what;
	StringInfoData calls;
	const char *target;
	const char *toname;

	toname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(to)),
										RelationGetRelationName(to));
	target = quote_literal_cstr(toname);
	for (int i = 0; i < nlost; i++)
	{
		if (lost[i].other[0] == '\0')
			continue;
		if (nlost == 1)
			refuse_move_between_machines(rel, to, &lost[i], key);
		refuse_move_losing_mixed(rel, to, lost, nlost, key, target);
	}
	initStringInfo(&what);
	initStringInfo(&calls);
	for (int i = 0; i < nlost; i++)
	{
		const char *one;
		const char *call;

		describe_lost_rule(&lost[i], target, &one, &call);
		if (i > 0)
			appendStringInfoString(&what, i == nlost - 1 ? " and the " : ", the ");
		appendStringInfoString(&what, one);
		appendStringInfo(&calls, "%s%s", i > 0 ? " " : "", call);
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg_move_refused(key, rel, to),
			 nlost == 1 ?
			 errdetail("Partition \"%s\" has the %s and \"%s\" does not: the row would leave the rule, and if it came back it would be judged as a new row.",
					   RelationGetRelationName(rel), what.data, RelationGetRelationName(to)) :
			 errdetail("Partition \"%s\" has the %s, and \"%s\" has none of them: the row would leave the rules, and if it came back it would be judged as a new row.",
					   RelationGetRelationName(rel), what.data, RelationGetRelationName(to)),
			 to->rd_tableam == &steward_methods ?
			 errhint("Give \"%s\" the same %s (%s), or declare %s on the partitioned table, which gives %s to every partition.",
					 RelationGetRelationName(to), nlost == 1 ? "rule" : "rules",
					 calls.data, nlost == 1 ? "it" : "them",
					 nlost == 1 ? "it" : "them") :
			 errhint("Give \"%s\" the same %s (ALTER TABLE %s SET ACCESS METHOD steward, then %s), or declare %s on the partitioned table, which gives %s to every partition.",
					 RelationGetRelationName(to), nlost == 1 ? "rule" : "rules",
					 toname, calls.data, nlost == 1 ? "it" : "them",
					 nlost == 1 ? "it" : "them"),
			 errtable(rel)));
}

/*
 * The delete half of a move of the row at tid of rel, which heap has just
 * deleted under cid (so the executor's new row was computed from that very
 * version): refuse a move into a local partition lacking one of rel's
 * rules, judge a move into a foreign partition (its state changes in
 * changes / *nchanges, to count), or remember the row for the insert half.
 * Raises what refuse_move_losing_rules, routing and the rules raise.
 */
static void
judge_moving_row(Relation rel, ItemPointer tid, CommandId cid,
				 StateChange *changes, int *nchanges)
{
	const StewardRules *rules = steward_get_rules(rel);

	if (!steward_rules_empty(rules))
	{
		refuse_move_losing_rules(rel, tid, cid);
		rules = steward_get_rules(rel); /* reading others' may free it */
	}
	if (steward_rules_empty(rules) ||
		!judge_move_to_foreign(rel, tid, cid, changes, nchanges))
		note_moving_row(rel, tid, cid);
}

static TM_Result
steward_tuple_delete(Relation rel, ItemPointer tid, CommandId cid,
					 Snapshot snapshot, Snapshot crosscheck, bool wait,
					 TM_FailureData *tmfd, bool changingPart)
{
	TM_Result	result;
	const StewardRules *rules = steward_get_rules(rel);
	HeapTuple	old = NULL;
	StateChange changes[STEWARD_MAX_STATE_RULES];
	int			nchanges = 0;

	settle_moving_rows(cid, false);
	/* The state the row leaves with, for steward.state_counts. */
	if (rules->nstates > 0)
		old = fetch_copy(rel, tid);
	result = heap_methods->tuple_delete(rel, tid, cid, snapshot, crosscheck,
										wait, tmfd, changingPart);

	/*
	 * heap's delete may have freed the rules: deleting the row's TOAST
	 * values opens the TOAST table, the transaction's first lock of it,
	 * which processes invalidations, and a relcache invalidation of rel
	 * pending then (another session's ANALYZE while the delete waited for
	 * a locker) frees rd_amcache (review39: steward.state_counts read the
	 * row's state rules from freed memory).
	 */
	rules = steward_get_rules(rel);
	if (result == TM_Ok && changingPart && rules_enforced(rel))
	{
		/*
		 * The move is judged only once heap deleted the row at tid, so the
		 * executor's new row was computed from it: a row another
		 * transaction updated meanwhile is re-read (EvalPlanQual) and its
		 * new row routed again, never refused for where the stale one
		 * would have gone (review36 R2).  A refusal undoes the delete
		 * with the rest of the statement.
		 */
		judge_moving_row(rel, tid, cid, changes, &nchanges);
		rules = steward_get_rules(rel); /* reading others' may free it */
	}
	if (result != TM_Ok)
		settle_moving_rows(cid, false);
	else
	{
		if (old != NULL)
			steward_rule_kinds.state_counts_row(rel, rules, NULL, old, -1);
		if (nchanges > 0)
		{
			/*
			 * A repair's NOTICE reads the row's key, which may free rel's
			 * cached rules the changes point into (announce_repair).
			 */
			StateRule  *kept = keep_change_rules(changes, nchanges);

			steward_rule_kinds.count_state_changes(rel, changes, nchanges);
			pfree(kept);
		}
	}
	if (old != NULL)
		heap_freetuple(old);
	return result;
}

/* Memory of apply_move_rules' split of the rules, one move at a time. */
static MemoryContext move_rules_cxt = NULL;

/*
 * What partition "src", which a row leaves, governed (MoveSourceRules),
 * from its cached rules, the bitmaps in CurrentMemoryContext
 * (note_moving_row: the move's own memory).  Takes no lock; raises only
 * 53200.
 */
static void
move_source_rules(Relation src, MoveSourceRules *out)
{
	const StewardRules *r = steward_get_rules(src);

	out->version = r->version_attnum;
	out->sequences = NULL;
	out->states = NULL;
	for (int i = 0; i < r->nsequences; i++)
		out->sequences = bms_add_member(out->sequences, r->sequences[i].attnum);
	for (int i = 0; i < r->nstates; i++)
		out->states = bms_add_member(out->states, r->states[i].attnum);
	for (int i = 0; i < r->nmissing; i++)
		out->states = bms_add_member(out->states, r->missing[i].attnum);
}

/* The partition's attribute number of rel's column "attnum" (0: none). */
static inline AttrNumber
move_source_attnum(const AttrMap *map, AttrNumber attnum)
{
	return map ? map->attnums[attnum - 1] : attnum;
}

/*
 * Split rel's "rules" for a row moving in from the partition that
 * "src" describes: "kept", the rules whose column the row's partition
 * governed with the same kind of rule (judged as an update of the row as
 * it was there; a state rule only under the same machine: a move between
 * machines, or between changed_at columns, is refused in the delete half,
 * refuse_move_losing_rules), and
 * "fresh", the others, under which the row was
 * never judged: those judge it as a new row (review31 R1).  A sibling
 * without rel's rule stores any value there, so judging it as an update
 * took whatever an UPDATE there had written -- a state no INSERT may
 * start in, a lowered sequence, an old version -- for the row's history.
 * Returns false, leaving both untouched, when every rule is kept (the
 * usual case: rules declared on a common ancestor).  The arrays are
 * allocated in CurrentMemoryContext (apply_move_rules: move_rules_cxt).
 */
static bool
split_move_rules(const StewardRules *rules, const MoveSourceRules *src,
				 const AttrMap *map, StewardRules *kept, StewardRules *fresh)
{
	bool		version_kept = true;
	int			nseq = 0,
				nst = 0;

	if (rules->version_attnum != InvalidAttrNumber)
		version_kept = src->version != InvalidAttrNumber &&
			move_source_attnum(map, rules->version_attnum) == src->version;
	for (int i = 0; i < rules->nsequences; i++)
		if (bms_is_member(move_source_attnum(map, rules->sequences[i].attnum),
						  src->sequences))
			nseq++;
	for (int i = 0; i < rules->nstates; i++)
		if (bms_is_member(move_source_attnum(map, rules->states[i].attnum),
						  src->states))
			nst++;
	if (version_kept && nseq == rules->nsequences && nst == rules->nstates)
		return false;

	*kept = *rules;
	memset(fresh, 0, sizeof(StewardRules));
	if (!version_kept)
	{
		kept->version_attnum = InvalidAttrNumber;
		fresh->version_attnum = rules->version_attnum;
	}
	kept->nsequences = 0;
	kept->sequences = palloc(sizeof(SequenceRule) * Max(rules->nsequences, 1));
	fresh->sequences = palloc(sizeof(SequenceRule) * Max(rules->nsequences, 1));
	for (int i = 0; i < rules->nsequences; i++)
	{
		if (bms_is_member(move_source_attnum(map, rules->sequences[i].attnum),
						  src->sequences))
			kept->sequences[kept->nsequences++] = rules->sequences[i];
		else
			fresh->sequences[fresh->nsequences++] = rules->sequences[i];
	}
	kept->nstates = 0;
	kept->states = palloc(sizeof(StateRule) * Max(rules->nstates, 1));
	fresh->states = palloc(sizeof(StateRule) * Max(rules->nstates, 1));
	for (int i = 0; i < rules->nstates; i++)
	{
		if (bms_is_member(move_source_attnum(map, rules->states[i].attnum),
						  src->states))
			kept->states[kept->nstates++] = rules->states[i];
		else
			fresh->states[fresh->nstates++] = rules->states[i];
	}
	return true;
}

static void check_insert_version(Relation rel, TupleTableSlot *slot,
								 AttrNumber attnum);

/* What move_as_new_context names. */
typedef struct MoveAsNew
{
	Relation	from;
	Relation	to;
} MoveAsNew;

static void
move_as_new_context(void *arg)
{
	MoveAsNew  *m = (MoveAsNew *) arg;

	errcontext("row moving from partition \"%s\" into \"%s\": a rule of \"%s\" that \"%s\" does not have judges it as a new row",
			   RelationGetRelationName(m->from), RelationGetRelationName(m->to),
			   RelationGetRelationName(m->to), RelationGetRelationName(m->from));
}

/*
 * The insert rules of "fresh" (split_move_rules) for a row moving into
 * rel from "from": an initial state, stamped; a version as an INSERT
 * takes it.  Errors name rel and the row as it arrives (a new row there),
 * with a context line naming the move.
 */
static void
apply_fresh_move_rules(Relation rel, Relation from, TupleTableSlot *slot,
					   const StewardRules *fresh)
{
	MoveAsNew	arg = {from, rel};
	ErrorContextCallback cb;

	cb.callback = move_as_new_context;
	cb.arg = &arg;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	if (fresh->nstates > 0)
		steward_rule_kinds.check_insert_states(rel, slot, fresh, false);
	if (fresh->version_attnum != InvalidAttrNumber)
		check_insert_version(rel, slot, fresh->version_attnum);
	error_context_stack = cb.previous;
}

/* What rules_changed_context names. */
typedef struct MoveRulesChanged
{
	Relation	from;
	Relation	to;
} MoveRulesChanged;

static void
rules_changed_context(void *arg)
{
	MoveRulesChanged *m = (MoveRulesChanged *) arg;

	errcontext("the rules of partition \"%s\" changed after the row left \"%s\" (a BEFORE ROW INSERT trigger of \"%s\" ran in between)",
			   RelationGetRelationName(m->to), RelationGetRelationName(m->from),
			   RelationGetRelationName(m->to));
}

/*
 * The insert half of the move "m" into rel, from partition "from": refuse
 * it (0A000, as the delete half does: refuse_lost_rules, with a context
 * line saying the rules changed) when rel's rules now lack one the
 * delete half found in both (m->held).  The destination's BEFORE ROW
 * INSERT triggers run between the halves, after that check, and may
 * re-attach another machine or changed_at column or untrack the version
 * column; the insert half then judged the row by rules the check never
 * compared (mach22: a machine whose edges allow what the row's forbid,
 * review34 R2 reached another way; an unstamped column).  Another
 * session's change mostly cannot come in between: every way to change a
 * rule takes SHARE ROW EXCLUSIVE on the table holding it (and its
 * partitions), and the moving statement holds RowExclusiveLock, from
 * the delete half's check on, on the partitioned table declaring the
 * rules or on the destination routing found (steward_statement_move_losing);
 * only its fallback (several result relations moving the partition's
 * rows) reads the leaves under AccessShareLock, and routing's lock comes
 * after the delete, with no user code in between -- the check here
 * covers that window too.  A rel whose rules refuse every write
 * (past the state-machine cap, two version columns) is left to that
 * refusal.  Reads rel's cached rules; locks as refuse_lost_rules.
 */
static void
refuse_rules_changed(Relation rel, Relation from, MovingRow *m)
{
	const StewardRules *rules = steward_get_rules(rel);
	HeldRule   *lost;
	int			nlost;
	MoveRulesChanged arg = {from, rel};
	ErrorContextCallback cb;

	/*
	 * Rules past the state-machine cap, or two version columns: every
	 * write of rel is refused (54000, check_update_rules), which says
	 * what to fix; the rules loaded are not all there are.
	 */
	if (rules->too_many_states || rules->nother_versions > 0)
		return;
	nlost = held_lost(m->held, m->nheld, rules, RelationGetDescr(rel), &lost);
	if (nlost == 0)
		return;
	cb.callback = rules_changed_context;
	cb.arg = &arg;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	refuse_lost_rules(from, rel, lost, nlost, steward_row_key_desc(from, m->tuple));
}

/*
 * The insert half of a cross-partition UPDATE: the update rules against the
 * row the delete half removed, where the partition it leaves governed the
 * same columns; the rules it did not have judge the row as new
 * (split_move_rules).  Refused (0A000) when rel lost one of the rules the
 * delete half compared in between (refuse_rules_changed), so a kept
 * state rule is the row's own machine stamping the row's own changed_at
 * column, and nothing is left to stamp on arrival (stamp_unstamped_arrival,
 * which stamped a column the two rules did not share, is gone with the
 * way to reach it).  An error of the update rules names the partition
 * the row leaves and the row as it was there (StewardRowOrigin), as for an
 * update that stays; the executor holds that partition open and locked
 * since it deleted the row.  Returns the number of state changes, which
 * point into move_rules_cxt when the rules were split: valid until the
 * next move.
 */
static int
apply_move_rules(Relation rel, TupleTableSlot *slot, CommandId cid,
				 StateChange *changes)
{
	const StewardRules *rules;
	MovingRow  *m = &moving_rows[nmoving - 1];
	uint64		generation = m->generation;
	TupleConversionMap *map;
	HeapTuple	oldtup;
	StewardRowOrigin origin;
	StewardRules kept,
				fresh;
	MemoryContext oldcxt;
	bool		split;
	int64		newversion;
	int			nchanges;
	AttrNumber	version_attnum;

	/*
	 * The source's rules as the delete half compared them (m->held,
	 * m->src), not as they are now: the row left under those.
	 */
	if (m->nheld > 0)
	{
		Relation	from = relation_open(m->relid, NoLock);

		refuse_rules_changed(rel, from, m);
		relation_close(from, NoLock);
	}
	rules = steward_get_rules(rel);
	if (steward_rules_empty(rules))
	{
		drop_moving_row(nmoving - 1);
		return 0;
	}

	/*
	 * What the judgement allocates -- the conversion map, the converted
	 * row, the split of the rules -- lives in move_rules_cxt, reset by the
	 * next move: the executor's memory here is the query's, so a bulk move
	 * kept every row's (about 1.2 kB a row between partitions whose columns
	 * differ, 9 kB with a split).  The state changes point into the split
	 * until steward_tuple_insert has counted them, with no move in between.
	 * What goes into the slot is set in the executor's memory, below.
	 */
	if (move_rules_cxt == NULL)
		move_rules_cxt = AllocSetContextCreate(TopMemoryContext,
											   "steward move rules",
											   ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(move_rules_cxt);
	oldcxt = MemoryContextSwitchTo(move_rules_cxt);
	map = convert_tuples_by_name(m->desc, RelationGetDescr(rel));
	oldtup = map ? execute_attr_map_tuple(m->tuple, map) : m->tuple;
	origin.rel = relation_open(m->relid, NoLock);
	origin.tuple = m->tuple;
	origin.map = map ? map->attrMap : NULL;

	rules = steward_get_rules(rel);
	split = split_move_rules(rules, &m->src, origin.map, &kept, &fresh);
	version_attnum = (split ? &kept : rules)->version_attnum;
	nchanges = check_update_rules(rel, split ? &kept : rules, oldtup, NULL,
								  InvalidBuffer, InvalidSnapshot, slot,
								  m->have_read ? &m->read : NULL,
								  cid, &newversion, changes, &origin);
	MemoryContextSwitchTo(oldcxt);
	if (split)
		apply_fresh_move_rules(rel, origin.rel, slot, &fresh);
	relation_close(origin.rel, NoLock);
	set_rule_values(slot, version_attnum, newversion, changes, nchanges);
	drop_moving_generation(generation);
	return nchanges;
}

/* ------------------------------------------------------------------------
 * INSERT and COPY
 * ------------------------------------------------------------------------
 */

/*
 * The insert rule of version column "attnum" of rel: NULL becomes 1, a
 * value below 1 is refused (22023), anything else is kept (a restore and
 * replication reproduce rows exactly).
 */
static void
check_insert_version(Relation rel, TupleTableSlot *slot, AttrNumber attnum)
{
	bool		isnull;
	Datum		value;

	value = slot_getattr(slot, attnum, &isnull);
	if (isnull)
	{
		steward_slot_set_int8(slot, attnum, 1);
		return;
	}
	if (DatumGetInt64(value) < 1)
	{
		char	   *key = key_desc_from_slot(rel, slot);
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);

		/*
		 * A default of the version column that is a constant below 1 is
		 * refused when the rule is added and by later DDL (written.c); a
		 * non-constant one can still give a value below 1 here, and a
		 * constant one can predate the refusal (a 0.1 database, DDL in
		 * single-user mode, where event triggers do not fire).  The AM
		 * cannot tell a default from a version the client sent: when the
		 * column has one, the HINT names it (review18 F3).
		 */
		steward_count_event(RelationGetRelid(rel), STEWARD_COUNTER_VERSION_INVALID, 1);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid version " INT64_FORMAT " for new row in relation \"%s\"",
						DatumGetInt64(value), RelationGetRelationName(rel)),
				 key ? errdetail("Versions start at 1; the new row %s has version " INT64_FORMAT ".",
								 key, DatumGetInt64(value)) :
				 errdetail("Versions start at 1."),
				 att->atthasdef ?
				 errhint("Send a version of 1 or more; if the INSERT left column \"%s\" out, its default gave this one (PostgreSQL computes it before pg_steward sets the version): make it 1 or more (ALTER TABLE %s ALTER COLUMN %s SET DEFAULT 1).",
						 NameStr(att->attname),
						 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													RelationGetRelationName(rel)),
						 quote_identifier(NameStr(att->attname))) :
				 errhint("Leave column \"%s\" out of the INSERT (or NULL) to let pg_steward assign version 1.",
						 NameStr(att->attname)),
				 errtablecol(rel, attnum)));
	}
}

/*
 * The insert rules of rel for the new row in "slot".  "from_copy": a
 * restoring COPY FROM (see copy_restores), which may load rows in any
 * declared state and, when two or more version columns reach rel, checks
 * them all (each NULL becomes 1, each below 1 is refused; a third was left
 * unchecked, rules18 item 3): the dump of such a table,
 * left by a WARNING in the source (refuse_two_version_columns), restores
 * its rows exactly.  Every other write of such a table is refused.
 */
static void
apply_insert_rules(Relation rel, TupleTableSlot *slot, bool from_copy)
{
	const StewardRules *rules = steward_get_rules(rel);

	if (!rules_enforced(rel))
		return;
	if (unlikely(rules->nother_versions > 0))
	{
		if (!from_copy)
			refuse_two_version_columns(rel, rules->nother_versions + 1);
		for (int i = 0; i < rules->nother_versions; i++)
			check_insert_version(rel, slot, rules->other_versions[i]);
	}
	steward_rule_kinds.check_insert_states(rel, slot, rules, from_copy);

	/* Sequences have no insert rule: the first event may carry any value. */
	if (rules->version_attnum != InvalidAttrNumber)
		check_insert_version(rel, slot, rules->version_attnum);
}

/*
 * Which inserts are COPY FROM's own rows.  A restore loads rows in any
 * declared state, so COPY FROM may (docs/state-machines.md); nothing else may.
 * The signal is the BulkInsertState: in PostgreSQL 15 only COPY FROM
 * (copyfrom.c, for its target and the partitions it routes to), table
 * rewrites (tablecmds.c), CREATE TABLE AS and REFRESH MATERIALIZED VIEW pass
 * one to table_tuple_insert, and the last three write into a relation
 * created by the same command (a transient heap, a new table), which has no
 * rules.  Every executor INSERT -- including the INSERT inside
 * COPY (INSERT ... RETURNING) TO and a trigger's INSERT during COPY FROM --
 * passes NULL.  multi_insert is called by COPY FROM only.  Unlike the
 * progress report, this does not depend on track_activities.
 */
static inline bool
loaded_by_copy_from(BulkInsertState bistate)
{
	return bistate != NULL;
}

/*
 * May this COPY FROM load rows in any declared state, with changed_at as
 * sent?  Only a restore may, and restores run as the table's owner or a
 * superuser: a role that only has INSERT (an application) copies rows as
 * it would insert them, starting in an initial state with changed_at
 * stamped, or it could write any state, and with DELETE walk a row back
 * through its machine.  The owner of "rel" itself (for a partition COPY
 * routes to: the partition's owner), as the current user: the role a
 * SECURITY DEFINER function runs as, the owner's choice.
 */
static bool
copy_restores(Relation rel)
{
	return has_privs_of_role(GetUserId(), rel->rd_rel->relowner);
}

static void
steward_tuple_insert(Relation rel, TupleTableSlot *slot, CommandId cid,
					 int options, BulkInsertState bistate)
{
	StateChange changes[STEWARD_MAX_STATE_RULES];
	int			nchanges;
	const StewardRules *rules;
	StateRule  *kept;

	if (rules_enforced(rel) && is_moving_row(rel, cid))
	{
		nchanges = apply_move_rules(rel, slot, cid, changes);
		kept = keep_change_rules(changes, nchanges);
		heap_methods->tuple_insert(rel, slot, cid, options, bistate);
		rules = count_update(rel, slot, changes, nchanges, true);
		if (kept != NULL)
			pfree(kept);
		/* The row arrives here in its new state (the delete took the old). */
		steward_rule_kinds.state_counts_row(rel, rules, slot, NULL, +1);
		return;
	}
	apply_insert_rules(rel, slot, loaded_by_copy_from(bistate) && copy_restores(rel));
	heap_methods->tuple_insert(rel, slot, cid, options, bistate);
	steward_rule_kinds.state_counts_row(rel, steward_get_rules(rel), slot, NULL, +1);
}

static void
steward_tuple_insert_speculative(Relation rel, TupleTableSlot *slot,
								 CommandId cid, int options,
								 BulkInsertState bistate, uint32 specToken)
{
	apply_insert_rules(rel, slot, false);
	heap_methods->tuple_insert_speculative(rel, slot, cid, options, bistate,
										   specToken);
}

/* The row of an INSERT ... ON CONFLICT counts once it is in for good. */
static void
steward_tuple_complete_speculative(Relation rel, TupleTableSlot *slot,
								   uint32 specToken, bool succeeded)
{
	heap_methods->tuple_complete_speculative(rel, slot, specToken, succeeded);
	if (succeeded)
		steward_rule_kinds.state_counts_row(rel, steward_get_rules(rel), slot, NULL, +1);
}

/* Where in COPY FROM's batch the row a rule refuses is (errcontext). */
typedef struct CopyBatchPos
{
	int			row;
	int			nrows;
} CopyBatchPos;

static void
copy_batch_context(void *arg)
{
	CopyBatchPos *pos = (CopyBatchPos *) arg;

	/*
	 * The row's own line is not known here: COPY FROM keeps each buffered
	 * row's line number in its private batch (copyfrom.c), and sets its
	 * cur_lineno back to it only around the index inserts and AFTER ROW
	 * triggers it runs after table_multi_insert.  A batch of one row still
	 * says so (review23 item 5: "COPY p1, line 2" of a one-row COPY named
	 * the "\." line alone).
	 */
	if (pos->nrows > 1)
		errcontext("row %d of a batch of %d rows that COPY FROM checks together; "
				   "the line COPY names is where the batch ended",
				   pos->row, pos->nrows);
	else
		errcontext("the only row of a batch that COPY FROM checks on its own; "
				   "the line COPY names is where the batch ended");
}

static void
steward_multi_insert(Relation rel, TupleTableSlot **slots, int ntuples,
					 CommandId cid, int options, BulkInsertState bistate)
{
	/* multi_insert is COPY FROM's path (see loaded_by_copy_from). */
	const StewardRules *rules;
	bool		restores = rules_enforced(rel) && copy_restores(rel);
	CopyBatchPos pos = {0, ntuples};
	ErrorContextCallback callback;

	/*
	 * COPY FROM buffers rows and hands them over when its buffer is full
	 * or the input ends, so its own context then shows the line of the
	 * batch's end, not of the row refused: say which row of the batch it
	 * is (the error's DETAIL names its key when the role may read it).
	 */
	callback.callback = copy_batch_context;
	callback.arg = &pos;
	callback.previous = error_context_stack;
	error_context_stack = &callback;
	for (int i = 0; i < ntuples; i++)
	{
		pos.row = i + 1;
		apply_insert_rules(rel, slots[i], restores);
	}
	error_context_stack = callback.previous;
	heap_methods->multi_insert(rel, slots, ntuples, cid, options, bistate);
	rules = steward_get_rules(rel);
	for (int i = 0; i < ntuples; i++)
		steward_rule_kinds.state_counts_row(rel, rules, slots[i], NULL, +1);
}

/* ------------------------------------------------------------------------
 * Index builds
 *
 * heap's index build and validation scans call heap_getnext(), which
 * refuses relations whose rd_tableam is not heap's own routine.  Our rows
 * are heap rows, so we present heap's routine for the duration of the scan
 * and put ours back afterwards, also on error.
 * ------------------------------------------------------------------------
 */

static double
steward_index_build_range_scan(Relation table_rel, Relation index_rel,
							   struct IndexInfo *index_info, bool allow_sync,
							   bool anyvisible, bool progress,
							   BlockNumber start_blockno,
							   BlockNumber numblocks,
							   IndexBuildCallback callback,
							   void *callback_state, TableScanDesc scan)
{
	const TableAmRoutine *saved = table_rel->rd_tableam;
	volatile double result = 0;

	table_rel->rd_tableam = heap_methods;
	PG_TRY();
	{
		result = heap_methods->index_build_range_scan(table_rel, index_rel,
													  index_info, allow_sync,
													  anyvisible, progress,
													  start_blockno, numblocks,
													  callback, callback_state,
													  scan);
	}
	PG_FINALLY();
	{
		table_rel->rd_tableam = saved;
	}
	PG_END_TRY();
	return result;
}

static void
steward_index_validate_scan(Relation table_rel, Relation index_rel,
							struct IndexInfo *index_info, Snapshot snapshot,
							struct ValidateIndexState *state)
{
	const TableAmRoutine *saved = table_rel->rd_tableam;

	table_rel->rd_tableam = heap_methods;
	PG_TRY();
	{
		heap_methods->index_validate_scan(table_rel, index_rel, index_info,
										  snapshot, state);
	}
	PG_FINALLY();
	{
		table_rel->rd_tableam = saved;
	}
	PG_END_TRY();
}

/* TOAST tables of steward tables are plain heap tables. */
static Oid
steward_relation_toast_am(Relation rel)
{
	return HEAP_TABLE_AM_OID;
}

static void
init_steward_methods(void)
{
	heap_methods = GetHeapamTableAmRoutine();
	steward_methods = *heap_methods;

	steward_methods.tuple_insert = steward_tuple_insert;
	steward_methods.tuple_insert_speculative = steward_tuple_insert_speculative;
	steward_methods.tuple_complete_speculative = steward_tuple_complete_speculative;
	steward_methods.multi_insert = steward_multi_insert;
	steward_methods.tuple_update = steward_tuple_update;
	steward_methods.tuple_delete = steward_tuple_delete;
	steward_methods.tuple_lock = steward_tuple_lock;
	steward_methods.tuple_get_latest_tid = steward_tuple_get_latest_tid;
	steward_methods.index_build_range_scan = steward_index_build_range_scan;
	steward_methods.index_validate_scan = steward_index_validate_scan;
	steward_methods.relation_toast_am = steward_relation_toast_am;

	steward_methods_ready = true;
}

/*
 * The steward table AM's handler (CREATE ACCESS METHOD steward): heap's
 * routine with wrapped write paths.  Takes no lock; raises nothing.
 */
Datum
steward_tableam_handler(PG_FUNCTION_ARGS)
{
	if (!steward_methods_ready)
		init_steward_methods();
	PG_RETURN_POINTER(&steward_methods);
}
