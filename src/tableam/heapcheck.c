/*-------------------------------------------------------------------------
 *
 * heapcheck.c
 *	  The core tools that read heap pages, for steward tables:
 *	  steward.verify_heap (amcheck's verify_heapam), steward.pgstattuple and
 *	  steward.pgstattuple_approx (pgstattuple's).
 *
 * Those functions refuse every table whose access method is not heap
 * ("only heap AM is supported"), and pg_amcheck selects heap tables only,
 * so operators' corruption checks skipped steward tables although their
 * pages are heap pages, written by heap's own code.  Copying amcheck would
 * leave us with a fork to maintain; instead we call the contrib module's
 * own C function, with the table presented as heap for the duration of the
 * call: its relcache entry says relam = heap and carries heap's
 * TableAmRoutine (as steward_am.c does for index builds), restored in
 * PG_FINALLY.  The SQL wrappers have exactly the contrib functions'
 * arguments and result columns, so the call receives our own fcinfo
 * (arguments, result type, result set) unchanged.  Nothing the table owner
 * wrote runs: these functions read pages and TOAST only, as the caller.
 *
 * Why the patched entry cannot go stale before the contrib function looks
 * at it: we open the table first (AccessShareLock, which also processes
 * pending invalidations) and resolve what the call will look up; the
 * function's own relation_open then finds the lock held and accepts no
 * invalidation messages, so the entry is not rebuilt between our change and
 * its check.  Should it be rebuilt later in the call (TOAST opened, say),
 * the entry goes back to "steward", which only makes a read-only check fail
 * with the module's own error; no data depends on it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/relation.h"
#include "access/tableam.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"

PG_FUNCTION_INFO_V1(steward_verify_heap);
PG_FUNCTION_INFO_V1(steward_pgstattuple);
PG_FUNCTION_INFO_V1(steward_pgstattuple_approx);

/*
 * Call "symbol" of contrib module "library" with this call's fcinfo, the
 * table in argument 0 presented as heap if it is a steward table.  Takes
 * AccessShareLock on the table (the contrib function takes its own too).
 * An OID that names no relation raises 42P01.  With tables_only, anything
 * but a table, materialized view or TOAST table raises 42809 here (the
 * contrib function would say 0A000, or read an index of an access method
 * it does not know); otherwise errors of the contrib function (bad
 * arguments, relkind) are its own.
 */
static Datum
call_as_heap(FunctionCallInfo fcinfo, const char *library, const char *symbol,
			 bool tables_only)
{
	PGFunction	fn;
	Relation	rel;
	Oid			steward_am;
	const TableAmRoutine *saved_routine;
	bool		present;
	Datum		result = (Datum) 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be null")));

	fn = load_external_function(library, symbol, true, NULL);
	/* an OID that names nothing (0, a dropped table) is 42P01, not XX000 */
	rel = steward_open_relation_or_42P01(PG_GETARG_OID(0), AccessShareLock);
	if (tables_only && rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_MATVIEW &&
		rel->rd_rel->relkind != RELKIND_TOASTVALUE)
	{
		char		kind = rel->rd_rel->relkind;

		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table, materialized view or TOAST table",
						RelationGetRelationName(rel)),
				 kind == RELKIND_PARTITIONED_TABLE ?
				 errhint("A partitioned table has no rows of its own: call it for each partition "
						 "(pg_partition_tree() lists them).") :
				 kind == RELKIND_INDEX || kind == RELKIND_PARTITIONED_INDEX ?
				 errhint("For an index use steward.hash_index_stats() (steward_hash) or "
						 "pgstattuple's pgstatindex() (btree).") :
				 kind == RELKIND_SEQUENCE ?
				 errhint("Use pgstattuple's own pgstattuple() for a sequence.") :
				 errhint("It has no storage; call it for the tables it reads.")));
	}
	steward_am = get_table_am_oid(STEWARD_TABLE_AM, false);
	present = rel->rd_rel->relam == steward_am;
	saved_routine = rel->rd_tableam;

	/* Look up now what the call would look up (see the file header). */
	(void) get_call_result_type(fcinfo, NULL, NULL);
	(void) GetTransactionSnapshot();

	if (present)
	{
		rel->rd_rel->relam = HEAP_TABLE_AM_OID;
		rel->rd_tableam = GetHeapamTableAmRoutine();
	}
	PG_TRY();
	{
		result = fn(fcinfo);
	}
	PG_FINALLY();
	{
		if (present)
		{
			rel->rd_rel->relam = steward_am;
			rel->rd_tableam = saved_routine;
		}
	}
	PG_END_TRY();
	relation_close(rel, AccessShareLock);
	return result;
}

/*
 * steward.verify_heap(tbl regclass, on_error_stop, check_toast, skip,
 * startblock, endblock): amcheck's verify_heapam on a steward (or heap)
 * table: one row per corruption found, none when healthy.  Locks and
 * errors as call_as_heap: AccessShareLock on the table for the call,
 * released after it; 22004 for NULL, 42P01 for an OID naming nothing,
 * 58P01 when the contrib module is not installed, and the contrib
 * function's own errors.
 */
Datum
steward_verify_heap(PG_FUNCTION_ARGS)
{
	return call_as_heap(fcinfo, "$libdir/amcheck", "verify_heapam", false);
}

/*
 * steward.pgstattuple(tbl regclass): pgstattuple's pgstattuple(regclass).
 * Locks and errors as call_as_heap: AccessShareLock on the table for the
 * call, released after it; 22004 for NULL, 42P01 for an OID naming
 * nothing, 58P01 when the contrib module is not installed, and the
 * contrib function's own errors; 42809 for a relation that is not a
 * table, materialized view or TOAST table.
 */
Datum
steward_pgstattuple(PG_FUNCTION_ARGS)
{
	return call_as_heap(fcinfo, "$libdir/pgstattuple", "pgstattuplebyid_v1_5", true);
}

/*
 * steward.pgstattuple_approx(tbl regclass): pgstattuple_approx(regclass).
 * Locks and errors as steward_pgstattuple.
 */
Datum
steward_pgstattuple_approx(PG_FUNCTION_ARGS)
{
	return call_as_heap(fcinfo, "$libdir/pgstattuple", "pgstattuple_approx_v1_5", true);
}
