/*-------------------------------------------------------------------------
 *
 * steward_hash.c
 *	  The steward_hash index access method handler, cost estimate and
 *	  operator class validation.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/amvalidate.h"
#include "access/htup_details.h"
#include "catalog/pg_amop.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "catalog/pg_proc.h"
#include "parser/parse_coerce.h"
#include "catalog/pg_type_d.h"
#include "commands/vacuum.h"
#include "optimizer/cost.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "steward_hash/steward_hash.h"

PG_FUNCTION_INFO_V1(steward_hash_handler);

/*
 * Equality on every key column makes a lookup one bucket: genericcostestimate
 * sees the few matching entries and charges about one page.  Anything less
 * cannot compute a hash and reads the whole table (steward_hash_scan.c), so it is
 * priced out.
 */
static void
steward_hash_costestimate(PlannerInfo *root, IndexPath *path, double loop_count,
				Cost *indexStartupCost, Cost *indexTotalCost,
				Selectivity *indexSelectivity, double *indexCorrelation,
				double *indexPages)
{
	GenericCosts costs;
	bool		covered[INDEX_MAX_KEYS] = {0};
	int			ncovered = 0;
	ListCell   *lc;

	foreach(lc, path->indexclauses)
	{
		IndexClause *iclause = lfirst_node(IndexClause, lc);

		if (!covered[iclause->indexcol])
		{
			covered[iclause->indexcol] = true;
			ncovered++;
		}
	}

	MemSet(&costs, 0, sizeof(costs));
	genericcostestimate(root, path, loop_count, &costs);

	if (ncovered < path->indexinfo->nkeycolumns)
		costs.indexTotalCost += disable_cost;

	*indexStartupCost = costs.indexStartupCost;
	*indexTotalCost = costs.indexTotalCost;
	*indexSelectivity = costs.indexSelectivity;
	*indexCorrelation = 0;
	*indexPages = costs.numIndexPages;
}

static bytea *
steward_hash_options(Datum reloptions, bool validate)
{
	if (validate && DatumGetPointer(reloptions) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("steward_hash indexes have no storage parameters"),
				 errdetail("Buckets grow online, so there is no fill factor to set.")));
	return NULL;
}

/*
 * (type, int8) -> int8.  The first argument may also be a type the column
 * type is binary coercible to, or one of the physically compatible hash
 * functions core hash opclasses use (src/include/catalog/pg_amproc.dat):
 * int4's for date and xid, int8's for xid8, "char"'s for bool,
 * timestamp's for timestamptz, and the varlena one for bytea.
 */
static bool
hash_proc_signature_ok(Oid procoid, Oid type)
{
	HeapTuple	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(procoid));
	Form_pg_proc proc;
	bool		ok;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", procoid);
	proc = (Form_pg_proc) GETSTRUCT(tup);
	ok = proc->prorettype == INT8OID && proc->pronargs == 2 &&
		proc->proargtypes.values[1] == INT8OID &&
		(proc->proargtypes.values[0] == type ||
		 IsBinaryCoercible(type, proc->proargtypes.values[0]) ||
		 (procoid == F_HASHINT4EXTENDED && (type == DATEOID || type == XIDOID)) ||
		 (procoid == F_HASHINT8EXTENDED && type == XID8OID) ||
		 (procoid == F_HASHCHAREXTENDED && type == BOOLOID) ||
		 (procoid == F_TIMESTAMP_HASH_EXTENDED && type == TIMESTAMPTZOID) ||
		 (procoid == F_HASHVARLENAEXTENDED && type == BYTEAOID));
	ReleaseSysCache(tup);
	return ok;
}

/*
 * Every operator must be "=" returning boolean, strategy 1; every support
 * function number 1 must map (type, int8) to int8.  What is wrong is
 * reported as INFO (42P17) and the result is false.  Reads the catalog
 * caches; takes no lock.  Raises XX000 'cache lookup failed' only for an
 * operator class OID that names none, which core's amvalidate() refuses
 * first with the same error.
 */
bool
steward_hash_validate(Oid opclassoid)
{
	bool		result = true;
	HeapTuple	classtup;
	Form_pg_opclass classform;
	Oid			opfamilyoid;
	char	   *opclassname;
	CatCList   *proclist,
			   *oprlist;
	bool		found_proc = false;

	classtup = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclassoid));
	if (!HeapTupleIsValid(classtup))
		elog(ERROR, "cache lookup failed for operator class %u", opclassoid);
	classform = (Form_pg_opclass) GETSTRUCT(classtup);
	opfamilyoid = classform->opcfamily;
	opclassname = NameStr(classform->opcname);

	proclist = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(opfamilyoid));
	oprlist = SearchSysCacheList1(AMOPSTRATEGY, ObjectIdGetDatum(opfamilyoid));

	for (int i = 0; i < proclist->n_members; i++)
	{
		Form_pg_amproc procform = (Form_pg_amproc) GETSTRUCT(&proclist->members[i]->tuple);

		if (procform->amprocnum != STEWARD_HASH_PROC ||
			procform->amproclefttype != procform->amprocrighttype ||
			!hash_proc_signature_ok(procform->amproc, procform->amproclefttype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("steward_hash operator class \"%s\" has invalid support function %s with number %d",
							opclassname, format_procedure(procform->amproc),
							procform->amprocnum),
					 errdetail("Support function 1 must take (type, bigint) and return bigint.")));
			result = false;
		}
		if (procform->amproclefttype == classform->opcintype)
			found_proc = true;
	}

	for (int i = 0; i < oprlist->n_members; i++)
	{
		Form_pg_amop oprform = (Form_pg_amop) GETSTRUCT(&oprlist->members[i]->tuple);

		if (oprform->amopstrategy != STEWARD_HASH_EQUAL_STRATEGY ||
			oprform->amoppurpose != AMOP_SEARCH ||
			!check_amop_signature(oprform->amopopr, BOOLOID,
								  oprform->amoplefttype, oprform->amoprighttype))
		{
			ereport(INFO,
					(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
					 errmsg("steward_hash operator class \"%s\" has invalid operator %s",
							opclassname, format_operator(oprform->amopopr)),
					 errdetail("Only equality search operators (strategy 1) are supported.")));
			result = false;
		}
	}

	if (!found_proc)
	{
		ereport(INFO,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("steward_hash operator class \"%s\" is missing support function 1 for type %s",
						opclassname, format_type_be(classform->opcintype))));
		result = false;
	}

	ReleaseCatCacheList(proclist);
	ReleaseCatCacheList(oprlist);
	ReleaseSysCache(classtup);
	return result;
}

/*
 * The steward_hash index AM's handler: every IndexAmRoutine field set
 * explicitly.  Takes no lock; raises only 53200 (out of memory).
 */
Datum
steward_hash_handler(PG_FUNCTION_ARGS)
{
	IndexAmRoutine *amroutine = makeNode(IndexAmRoutine);

	amroutine->amstrategies = STEWARD_HASH_NSTRATEGIES;
	amroutine->amsupport = STEWARD_HASH_NPROC;
	amroutine->amoptsprocnum = 0;
	amroutine->amcanorder = false;
	amroutine->amcanorderbyop = false;
	amroutine->amcanbackward = false;

	/*
	 * Declared unique-capable only so that CREATE UNIQUE INDEX reaches
	 * ambuild, which refuses it with a pointer to exclusion constraints.
	 */
	amroutine->amcanunique = true;
	amroutine->amcanmulticol = true;
	amroutine->amoptionalkey = false;
	amroutine->amsearcharray = false;
	amroutine->amsearchnulls = false;
	amroutine->amstorage = false;
	amroutine->amclusterable = false;
	/*
	 * Scans predicate-lock the primary page of each bucket they read and
	 * inserts check it (README.md, "Predicate locks"), so the executor does
	 * not lock the whole index under SERIALIZABLE.
	 */
	amroutine->ampredlocks = true;
	/* No parallel scan: the am*parallel* callbacks below are NULL. */
	amroutine->amcanparallel = false;
	amroutine->amcaninclude = false;
	amroutine->amusemaintenanceworkmem = true;
	amroutine->amparallelvacuumoptions =
		VACUUM_OPTION_PARALLEL_BULKDEL | VACUUM_OPTION_PARALLEL_CLEANUP;
	amroutine->amkeytype = InvalidOid;

	amroutine->ambuild = steward_hash_build;
	amroutine->ambuildempty = steward_hash_buildempty;
	amroutine->aminsert = steward_hash_insert;
	amroutine->ambulkdelete = steward_hash_bulkdelete;
	amroutine->amvacuumcleanup = steward_hash_vacuumcleanup;
	amroutine->amcanreturn = NULL;
	amroutine->amcostestimate = steward_hash_costestimate;
	amroutine->amoptions = steward_hash_options;
	amroutine->amproperty = NULL;
	amroutine->ambuildphasename = NULL;
	amroutine->amvalidate = steward_hash_validate;
	amroutine->amadjustmembers = NULL;
	amroutine->ambeginscan = steward_hash_beginscan;
	amroutine->amrescan = steward_hash_rescan;
	amroutine->amgettuple = steward_hash_gettuple;
	amroutine->amgetbitmap = steward_hash_getbitmap;
	amroutine->amendscan = steward_hash_endscan;
	amroutine->ammarkpos = NULL;
	amroutine->amrestrpos = NULL;
	amroutine->amestimateparallelscan = NULL;
	amroutine->aminitparallelscan = NULL;
	amroutine->amparallelrescan = NULL;

	PG_RETURN_POINTER(amroutine);
}
