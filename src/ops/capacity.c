/*-------------------------------------------------------------------------
 *
 * capacity.c
 *	  Free space of the data directory's filesystem, for steward.capacity,
 *	  and steward.set_retention().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/statvfs.h>

#include "catalog/pg_authid.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"

PG_FUNCTION_INFO_V1(steward_data_dir_space);
PG_FUNCTION_INFO_V1(steward_set_retention);
PG_FUNCTION_INFO_V1(steward_relation_sizes);

/*
 * steward._data_dir_space(): (free_bytes, total_bytes) of DataDir's
 * filesystem.  Takes no lock.  Raises 42501 unless the caller has the
 * privileges of pg_read_all_stats, and statvfs's error
 * (errcode_for_file_access).
 */
Datum
steward_data_dir_space(PG_FUNCTION_ARGS)
{
	struct statvfs st;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {0};

	if (!has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to read the data directory's free space"),
				 errhint("Only members of pg_read_all_stats may.")));
	if (statvfs(DataDir, &st) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat the file system of the data directory: %m")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int64GetDatum((int64) st.f_bavail * (int64) st.f_frsize);
	values[1] = Int64GetDatum((int64) st.f_blocks * (int64) st.f_frsize);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The longest retention set_retention accepts: what steward.capacity_estimate
 * takes as retention_days (a month counts 30 days, as interval comparison
 * counts it).  Longer is a typo, not a policy, and no retention (NULL)
 * already says "kept forever".
 */
#define STEWARD_MAX_RETENTION_DAYS 36500

/* 22023 unless 0 < retention <= STEWARD_MAX_RETENTION_DAYS, naming the range. */
static void
check_retention(Datum retention)
{
	Interval   *zero = palloc0(sizeof(Interval));
	Interval   *longest = palloc0(sizeof(Interval));
	bool		positive;

	longest->day = STEWARD_MAX_RETENTION_DAYS;
	positive = DatumGetBool(DirectFunctionCall2(interval_gt, retention,
												IntervalPGetDatum(zero)));
	if (!positive ||
		DatumGetBool(DirectFunctionCall2(interval_gt, retention,
										 IntervalPGetDatum(longest))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 positive ?
				 errmsg("retention must be at most %d days, got %s",
						STEWARD_MAX_RETENTION_DAYS,
						DatumGetCString(DirectFunctionCall1(interval_out, retention))) :
				 errmsg("retention must be positive, got %s",
						DatumGetCString(DirectFunctionCall1(interval_out, retention))),
				 errhint("A retention is more than 0 and at most %d days (100 years); "
						 "NULL removes it.", STEWARD_MAX_RETENTION_DAYS)));
}

/*
 * steward.set_retention(tbl, retention): how long rows of a table are kept,
 * for steward.capacity; NULL removes it.  The current user (as SET ROLE
 * leaves it, pg_class_ownercheck semantics) must own the table, which must
 * be a table.  Writes steward.table_retention as its owner.  Takes
 * AccessShareLock on the table.  Errors: 22004, 42P01, 42809, 42501, 22023
 * (not positive, or longer than STEWARD_MAX_RETENTION_DAYS), 0A000 (a
 * temporary table: steward_refuse_temporary).
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_set_retention(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Relation	rel;
	StewardAsOwner ctx;
	Oid			argtypes[2] = {OIDOID, INTERVALOID};
	Datum		args[2];

	steward_require_writable("steward.set_retention()");
	steward_require_arg(fcinfo, 0, "table");
	relid = PG_GETARG_OID(0);
	steward_check_table_owner(relid);
	rel = steward_open_user_relation(relid, AccessShareLock, STEWARD_KINDS_TABLES,
									 "steward.set_retention()");
	if (!PG_ARGISNULL(1))
		steward_refuse_temporary(relid, "a retention setting");
	if (!PG_ARGISNULL(1))
		check_retention(PG_GETARG_DATUM(1));

	args[0] = ObjectIdGetDatum(relid);
	args[1] = PG_ARGISNULL(1) ? (Datum) 0 : PG_GETARG_DATUM(1);
	steward_as_owner_begin(steward_relid("table_retention", false), &ctx);
	if (PG_ARGISNULL(1))
	{
		if (SPI_execute_with_args("DELETE FROM steward.table_retention WHERE relid = $1",
								  1, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete from steward.table_retention");
	}
	else if (SPI_execute_with_args("INSERT INTO steward.table_retention AS r VALUES ($1, $2)"
								   " ON CONFLICT (relid) DO UPDATE SET retention = excluded.retention",
								   2, argtypes, args, NULL, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not write steward.table_retention");
	steward_as_owner_end(&ctx);
	relation_close(rel, AccessShareLock);
	PG_RETURN_VOID();
}

/*
 * steward._relation_sizes(rel oid): (table_bytes, total_bytes) of a table
 * as pg_table_size and pg_total_relation_size give them, measured only if
 * no other session holds a conflicting lock on it, its TOAST table, their
 * indexes or (partitioned) its partitions: (NULL, NULL) then.  No row at
 * all when the relation no longer exists (dropped since the caller's
 * catalog snapshot), so that a sample never records a NULL size and a
 * concurrent DROP TABLE never fails it.  steward.capacity and capacity
 * samples read every steward table: one session idling after LOCK TABLE
 * or ALTER TABLE on one of them must not stall them.  The locks are
 * released before returning.  Needs no privilege beyond the size
 * functions' own (PUBLIC in core).  The locks are AccessShareLock, taken
 * without waiting (steward_lock_relation_tree_if_free).  Raises nothing
 * of its own (the size functions' file errors, errcode_for_file_access).
 */
Datum
steward_relation_sizes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	List	   *locked;
	Datum		values[2];
	bool		nulls[2] = {true, true};

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		return (Datum) 0;
	relid = PG_GETARG_OID(0);
	switch (steward_lock_relation_tree_if_free(relid, &locked))
	{
		case STEWARD_TREE_GONE:
			return (Datum) 0;
		case STEWARD_TREE_LOCKED:
			/* Our locks keep everything the size functions open in place. */
			values[0] = DirectFunctionCall1(pg_table_size, ObjectIdGetDatum(relid));
			values[1] = DirectFunctionCall1(pg_total_relation_size, ObjectIdGetDatum(relid));
			nulls[0] = nulls[1] = false;
			steward_unlock_relations(&locked);
			break;
		default:
			break;
	}
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum) 0;
}
