/*-------------------------------------------------------------------------
 *
 * capacity.c
 *	  Free space of the data directory's filesystem, for steward.capacity.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/statvfs.h>

#include "catalog/pg_authid.h"
#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"

PG_FUNCTION_INFO_V1(steward_data_dir_space);

/* steward._data_dir_space(): (free_bytes, total_bytes) of DataDir's filesystem. */
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
