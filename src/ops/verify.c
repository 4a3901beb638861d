/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  steward.verify(tbl) and steward.checksum_ranges(tbl, key_col,
 *	  buckets): the caller's rights are checked here, then the SQL bodies
 *	  (steward._verify_rows, steward._checksum_ranges_rows in ops.sql) run
 *	  as the table's owner.
 *
 * These are what a restore drill runs, usually as a superuser, over every
 * table of every tenant.  Reading a table evaluates code its owner may
 * have defined - index expressions (verify_index), operators, casts, row
 * security policies - so, as amcheck does, we lock the table, switch to
 * its owner under SECURITY_RESTRICTED_OPERATION, open a GUC nest level with
 * search_path and the output settings pinned, run the check, and roll all
 * of it back (plumbing/as_owner.c).  Checksums hash the types' own output,
 * so the owner cannot steer them with a cast either.  The one part that
 * runs as the caller is verify()'s first check, amcheck's verify_heapam on
 * the pages (steward._verify_heap_check): it evaluates nothing the owner
 * wrote, and EXECUTE on steward.verify_heap is the caller's privilege.
 * A partitioned table whose partitions have different owners is never
 * read whole as one of them: each leaf partition is read as its own
 * owner and the counts, checksums and buckets are added up here
 * (tree_has_other_owners, leaf_checks_as_owner, merge_ranges).
 *
 * The caller needs SELECT on the table, and no row security may hide rows
 * from it: the body reads every row as the owner, so counts, checksums and
 * key ranges would otherwise describe rows the caller cannot see.  Nor
 * from the owner (FORCE ROW LEVEL SECURITY): the body would describe the
 * rows the policies show only, so such a table is refused (55000) whoever
 * calls, and the body runs with row_security = off.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_operator.h"
#include "catalog/namespace.h"
#include "catalog/heap.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "plumbing/own_context.h"
#include "tableam/rules.h"

PG_FUNCTION_INFO_V1(steward_verify);
PG_FUNCTION_INFO_V1(steward_checksum_ranges);
PG_FUNCTION_INFO_V1(steward_verify_fk_orphans);

/* Rows of the referencing table fetched per switch to the referenced table's owner. */
#define FK_PROBE_BATCH 1000

/*
 * Open the table for a read of every row by "what": it must exist (42P01)
 * and be a table or materialized view (42809), the caller needs SELECT on
 * it and must not be restricted by row security on it (42501); the
 * table's owner, as whom the rows are read, must see every row (55000,
 * steward_require_owner_sees_all_rows: FORCE ROW LEVEL SECURITY).
 * AccessShareLock, taken after the privilege check.
 */
static Relation
open_for_full_read(Oid relid, const char *what)
{
	Relation	rel;

	/*
	 * The privilege first, as core's RangeVarGetRelidExtended callbacks do:
	 * a role that may not read the table does not queue for its lock (and
	 * delay a DROP or ALTER behind it).  Again once locked: it may have
	 * been revoked meanwhile.
	 */
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
	rel = steward_open_user_relation(relid, AccessShareLock,
									 STEWARD_KINDS_TABLES | STEWARD_KIND_MATVIEW, what);
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(rel->rd_rel->relkind),
					   RelationGetRelationName(rel));
	/* First: for the owner itself, the table's FORCE is what to change. */
	steward_require_owner_sees_all_rows(RelationGetRelid(rel), what);
	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("row-level security hides rows of table \"%s\" from the current user",
						RelationGetRelationName(rel)),
				 errdetail("%s reads every row of the table.", what),
				 errhint("Run it as the table's owner or as a role that bypasses row security.")));
	return rel;
}

/*
 * Append the rows SPI just returned (columns matching the function's
 * result) to the result set; true if one of them has passed = false in
 * column "passed_col" (0: none).
 */
static bool
spi_rows_to_result(ReturnSetInfo *rsinfo, const char *sql, int passed_col)
{
	int			natts = rsinfo->setDesc->natts;
	bool		failed = false;

	if (SPI_tuptable->tupdesc->natts != natts)
		elog(ERROR, "\"%s\" returned %d columns, expected %d",
			 sql, SPI_tuptable->tupdesc->natts, natts);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum	   *values = palloc(sizeof(Datum) * natts);
		bool	   *nulls = palloc(sizeof(bool) * natts);

		for (int c = 0; c < natts; c++)
			values[c] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
									  c + 1, &nulls[c]);
		if (passed_col > 0 && !nulls[passed_col - 1] &&
			!DatumGetBool(values[passed_col - 1]))
			failed = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return failed;
}

/*
 * Run "sql" (a SELECT whose columns match the function's result) as the
 * owner of rel, restricted, with search_path and output settings pinned,
 * and append its rows to the result set.
 */
static void
rows_as_owner(ReturnSetInfo *rsinfo, Relation rel, const char *sql,
			  int nargs, Oid *argtypes, Datum *args)
{
	StewardAsOwner ctx;

	steward_as_table_owner_begin(rel, true, &ctx);
	steward_pin_output_settings();
	steward_pin_all_rows();
	if (steward_spi_execute_entry(sql, nargs, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\"", sql);
	(void) spi_rows_to_result(rsinfo, sql, 0);
	steward_as_owner_end(&ctx);
}

/*
 * Does any relation of partition tree "tree" (find_all_inheritors: the
 * root first) have another owner than the root?  Then no statement may
 * name the root as its owner: planning it loads every partition's index
 * expressions, predicates and partition keys, and folds the code in them
 * (the other owners' code) with the root owner's rights.  Each partition
 * is read on its own, as its owner, instead.
 */
static bool
tree_has_other_owners(List *tree)
{
	Oid			owner = steward_relation_owner(linitial_oid(tree));
	ListCell   *lc;

	foreach(lc, tree)
		if (steward_relation_owner(lfirst_oid(lc)) != owner)
			return true;
	return false;
}

/*
 * A checksum the SQL bodies print, to_hex(sum mod 2^64 - 2^63), back to the
 * sum of the row hashes modulo 2^64, so that checksums of parts add up;
 * and back to text.
 */
static uint64
checksum_sum(const char *hex)
{
	return strtoull(hex, NULL, 16) ^ (UINT64CONST(1) << 63);
}

static char *
checksum_text(uint64 sum)
{
	return psprintf("%llx", (unsigned long long) (sum ^ (UINT64CONST(1) << 63)));
}

/*
 * What verify() of a partitioned table whose partitions have different
 * owners adds up over its leaf partitions: rows, the checksum (the sum of
 * the row hashes modulo 2^64, so partitions add up to the whole table's),
 * and the first partition whose rows could not be read (damaged pages).
 */
typedef struct TreeTotals
{
	int64		rows;
	uint64		checksum;
	const char *unread;
} TreeTotals;

/*
 * The checks of leaf partition rel (label: its qualified name) of
 * partitioned table root as its owner, restricted, settings pinned, each
 * row named "partition <label>: <check>".  Not by_partition: what lives
 * below root (steward._verify_partition: the rules declared on the
 * partition or on a partitioned table between, over its rows; exclusion
 * constraints, steward_hash indexes), root's own checks having read all
 * rows.  by_partition (partitions with different owners): everything on
 * the partition and its rows hashed as rows of root
 * (steward._verify_rows(leaf, root)), its row count and checksum added to
 * totals instead of returned.
 */
static void
leaf_checks_as_owner(ReturnSetInfo *rsinfo, Relation rel, const char *label,
					 Oid root, bool by_partition, TreeTotals *totals)
{
	Oid			argtypes[2] = {REGCLASSOID, REGCLASSOID};
	Datum		args[2];
	const char *sql = by_partition
		? "SELECT \"check\", passed, detail FROM steward._verify_rows($1, $2)"
		: "SELECT \"check\", passed, detail FROM steward._verify_partition($1, $2)";
	StewardAsOwner ctx;

	args[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	args[1] = ObjectIdGetDatum(root);
	steward_as_table_owner_begin(rel, true, &ctx);
	steward_pin_output_settings();
	steward_pin_all_rows();
	if (steward_spi_execute_entry(sql, 2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\"", sql);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		char	   *check = SPI_getvalue(tup, desc, 1);
		char	   *detail = SPI_getvalue(tup, desc, 3);
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		if (by_partition && strcmp(check, "row_count") == 0)
		{
			totals->rows += strtoll(detail, NULL, 10);
			continue;
		}
		if (by_partition && strcmp(check, "checksum") == 0)
		{
			totals->checksum += checksum_sum(detail);
			continue;
		}
		values[0] = CStringGetTextDatum(psprintf("partition %s: %s", label, check));
		values[1] = SPI_getbinval(tup, desc, 2, &nulls[1]);
		values[2] = SPI_getbinval(tup, desc, 3, &nulls[2]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	steward_as_owner_end(&ctx);
}

/* One row of verify()'s result. */
static void
put_check(ReturnSetInfo *rsinfo, const char *check, bool passed_null, bool passed,
		  const char *detail)
{
	Datum		values[3];
	bool		nulls[3] = {false, passed_null, false};

	values[0] = CStringGetTextDatum(check);
	values[1] = BoolGetDatum(passed);
	values[2] = CStringGetTextDatum(detail);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * The heap pages of one leaf partition of a partitioned table verify() was
 * called on, as the caller (amcheck), in a row named "partition <label>:
 * heap"; true if they are damaged.  A foreign table has no pages here:
 * its row says it is not checked (by_partition: its rows are still read,
 * as its owner).  The caller holds AccessShareLock on the partition.
 */
static bool
leaf_heap_check(ReturnSetInfo *rsinfo, Oid leaf, const char *label, bool by_partition)
{
	Oid			argtypes[2] = {REGCLASSOID, TEXTOID};
	Datum		args[2];
	const char *heap_sql = "SELECT pg_catalog.format('partition %s: %s', $2, \"check\"), passed, detail"
		" FROM steward._verify_heap_check($1)";
	bool		damaged;

	if (get_rel_relkind(leaf) == RELKIND_FOREIGN_TABLE)
	{
		put_check(rsinfo, psprintf("partition %s: heap", label), true, false,
				  by_partition
				  ? "not checked: a foreign table (its rows are counted with the partitioned table's, as its owner)"
				  : "not checked: a foreign table (its rows are counted with the partitioned table's)");
		return false;
	}
	args[0] = ObjectIdGetDatum(leaf);
	args[1] = CStringGetTextDatum(label);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (steward_spi_execute_entry(heap_sql, 2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\"", heap_sql);
	damaged = spi_rows_to_result(rsinfo, heap_sql, 2);
	SPI_finish();
	return damaged;
}

/*
 * The partitions of partitioned table rel (tree: find_all_inheritors, all
 * locked), each leaf's checks named "partition <name>: <check>".  First
 * every leaf's heap pages (leaf_heap_check).  Then, unless they are
 * damaged, the leaf's checks as its owner (leaf_checks_as_owner), who may
 * not be rel's.  by_partition (rel's partitions have different owners,
 * or one of them has damaged pages): rel was not read whole, so each leaf
 * is checked entirely and rel's row count and checksum are the leaves'
 * added up, or say which partition's rows could not be read; else only
 * what lives below rel (the rules declared on the leaf or on a
 * partitioned table between, its exclusion constraints and steward_hash
 * indexes; a foreign table: nothing), rel's own checks having read all
 * its rows as its owner first.
 */
static void
verify_partitions(ReturnSetInfo *rsinfo, Relation rel, List *tree, bool by_partition)
{
	int			n = list_length(tree);
	char	  **labels = palloc0(sizeof(char *) * n);
	bool	   *damaged = palloc0(sizeof(bool) * n);
	TreeTotals	totals = {0, 0, NULL};

	for (int i = 0; i < n; i++)
	{
		Oid			part = list_nth_oid(tree, i);
		char		kind = get_rel_relkind(part);

		if (kind != RELKIND_RELATION && kind != RELKIND_FOREIGN_TABLE)
			continue;
		labels[i] = steward_qualified_name(part);
		damaged[i] = leaf_heap_check(rsinfo, part, labels[i], by_partition);
		if (damaged[i] && totals.unread == NULL)
			totals.unread = labels[i];
	}
	/* A damaged page is never read (as for a table): rel is not read whole. */
	by_partition |= totals.unread != NULL;
	if (!by_partition)
	{
		Oid			argtypes[1] = {REGCLASSOID};
		Datum		args[1] = {ObjectIdGetDatum(RelationGetRelid(rel))};

		rows_as_owner(rsinfo, rel,
					  "SELECT \"check\", passed, detail FROM steward._verify_rows($1)",
					  1, argtypes, args);
	}
	for (int i = 0; i < n; i++)
	{
		Oid			part = list_nth_oid(tree, i);
		Relation	prel;

		if (labels[i] == NULL || damaged[i] ||
			(!by_partition && get_rel_relkind(part) == RELKIND_FOREIGN_TABLE))
			continue;
		prel = relation_open(part, NoLock);
		/* Read as its owner too, so its own policies must show that owner every row. */
		steward_require_owner_sees_all_rows(part, "steward.verify()");
		leaf_checks_as_owner(rsinfo, prel, labels[i], RelationGetRelid(rel),
							 by_partition, &totals);
		relation_close(prel, NoLock);
	}
	if (by_partition && totals.unread != NULL)
	{
		char	   *why = psprintf("not checked: the pages of partition %s are damaged (its heap row), its rows were not read",
								   totals.unread);

		put_check(rsinfo, "row_count", true, false, why);
		put_check(rsinfo, "checksum", true, false, why);
	}
	else if (by_partition)
	{
		put_check(rsinfo, "row_count", false, true, psprintf(INT64_FORMAT, totals.rows));
		put_check(rsinfo, "checksum", false, true, checksum_text(totals.checksum));
	}
}

/*
 * steward.verify(tbl): heap pages (as the caller, amcheck), then row
 * count, checksum, keys, rules and steward_hash indexes of a table, checked
 * as its owner; of a partitioned table, each leaf partition's pages
 * first, then its rows and keys as its owner, then each leaf partition's
 * rules declared below tbl, exclusion constraints and steward_hash
 * indexes (verify_partitions).  A
 * partitioned table whose partitions (at any level) have different owners,
 * or one of whose partitions has damaged pages, is never read as a whole:
 * each leaf partition is checked entirely as its owner (its keys,
 * references and rules, those it has from the partitioned table
 * included), and the row count and checksum are the sums of the
 * partitions' (the same as reading the whole table gives).
 * AccessShareLock on the table and its partitions
 * (verify_index takes ShareRowExclusiveLock on it for the index checks).
 * Errors: 22004 NULL, 42P01, 42809, 42501, 55000.
 */
Datum
steward_verify(PG_FUNCTION_ARGS)
{
	Relation	rel;
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		args[1];
	ReturnSetInfo *rsinfo;
	bool		heap_damaged;
	const char *heap_sql = "SELECT \"check\", passed, detail FROM steward._verify_heap_check($1)";

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be null")));
	rel = open_for_full_read(PG_GETARG_OID(0), "steward.verify()");
	args[0] = PG_GETARG_DATUM(0);
	InitMaterializedSRF(fcinfo, 0);
	rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	/*
	 * The heap pages, as the caller (amcheck runs no code of the owner's;
	 * EXECUTE on steward.verify_heap is the caller's).  The row checks read
	 * the rows and could fail on a damaged page: a damaged heap ends here.
	 */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (steward_spi_execute_entry(heap_sql, 1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run \"%s\"", heap_sql);
	heap_damaged = spi_rows_to_result(rsinfo, heap_sql, 2);
	SPI_finish();

	/*
	 * A partitioned table has no pages, exclusion constraints or
	 * steward_hash indexes of its own: its partitions have them.
	 */
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		List	   *tree = find_all_inheritors(RelationGetRelid(rel), AccessShareLock, NULL);

		verify_partitions(rsinfo, rel, tree, tree_has_other_owners(tree));
	}
	else if (!heap_damaged)
		rows_as_owner(rsinfo, rel,
					  "SELECT \"check\", passed, detail FROM steward._verify_rows($1)",
					  1, argtypes, args);

	/*
	 * Columns the AM sets whose NOT NULL or default makes every INSERT
	 * leaving them out fail (a 0.1 database's, a restored label's): one
	 * failed row each, naming the ALTER TABLE that fixes it.  None when
	 * the definitions are sound (no row: older results stay the same).
	 */
	{
		ListCell   *lc;

		foreach(lc, steward_written_definition_problems(RelationGetRelid(rel)))
			put_check(rsinfo, "column_definition", false, false, (char *) lfirst(lc));
	}
	relation_close(rel, AccessShareLock);
	return (Datum) 0;
}

/*
 * Key bounds of one bucket of checksum_ranges() of a partitioned table read
 * partition by partition (merge_ranges): the partitions' smallest and
 * largest keys merged in the key type's order.
 */
typedef struct KeyOrder
{
	bool		typed;			/* the partitions gave bounds in the type's order */
	Oid			type;			/* a type without domains the text is read back as */
	Oid			typinput;
	Oid			typioparam;
	Oid			collation;
	FmgrInfo   *cmp;			/* its default btree comparison, or NULL: text order */
} KeyOrder;

/*
 * Is key text a before key text b in "order"?  In the type's order through
 * its default btree operator class (only a superuser defines one) after
 * reading both back with the input function of the key's type without
 * domains (key_order_type: a superuser's C function, enum_in, or array_in
 * or range_in of such types).  Those strip only the outer domains: a range
 * (or multirange, or an array of them) over a domain reads its bounds with
 * the subtype's input, domain_in, which runs the domain's CHECK; the
 * caller runs this as the table's owner, restricted, as an INSERT of the
 * owner's would run it (regress 447), so the CHECK never runs with the
 * caller's rights.  Else byte order, as min(... COLLATE "C").
 */
static bool
key_before(KeyOrder *order, const char *a, const char *b)
{
	if (order->typed && order->cmp != NULL)
	{
		Datum		da = OidInputFunctionCall(order->typinput, (char *) a, order->typioparam, -1);
		Datum		db = OidInputFunctionCall(order->typinput, (char *) b, order->typioparam, -1);

		return DatumGetInt32(FunctionCall2Coll(order->cmp, order->collation, da, db)) < 0;
	}
	return strcmp(a, b) < 0;
}

/*
 * The type key text of a column of type keytype is read back as for
 * key_before(): the type without domains, for arrays the array of its
 * element without domains; InvalidOid for composite types (their input
 * reads their columns' domains) and anything with no array type.  A range
 * over a domain keeps its subtype, so reading it back runs the domain's
 * CHECK (key_before: as the table's owner).
 */
static Oid
key_order_type(Oid keytype)
{
	Oid			base = getBaseType(keytype);
	Oid			elem = get_element_type(base);

	if (OidIsValid(elem))
	{
		elem = getBaseType(elem);
		return type_is_rowtype(elem) ? InvalidOid : get_array_type(elem);
	}
	return type_is_rowtype(base) ? InvalidOid : base;
}

/*
 * checksum_ranges() of partitioned table rel (locked with its tree) whose
 * partitions have different owners: each leaf partition's buckets as its
 * owner (steward._checksum_ranges_rows(leaf, root, ...): its rows hashed
 * as rows of rel), added up per bucket (rows, checksums modulo 2^64) with
 * the key bounds merged (key_before) as rel's owner; the result is what
 * reading rel as a whole gives.  Errors: as steward._checksum_ranges_rows.
 */
static void
merge_ranges(ReturnSetInfo *rsinfo, Relation rel, List *tree, Name key_col, int32 buckets)
{
	Oid			root = RelationGetRelid(rel);
	AttrNumber	attnum = get_attnum(root, NameStr(*key_col));
	int64	   *rows;
	uint64	   *sums;
	List	  **lows;
	List	  **highs;
	bool	   *seen;
	KeyOrder	order;
	Oid			keytype;
	int32		keytypmod;
	MemoryContext outer = CurrentMemoryContext;
	Oid			argtypes[4] = {REGCLASSOID, REGCLASSOID, NAMEOID, INT4OID};
	Datum		args[4];
	const char *sql = "SELECT bucket, rows, checksum, min_key, max_key, typed"
		"  FROM steward._checksum_ranges_rows($1, $2, $3, $4)";
	ListCell   *lc;
	StewardAsOwner ctx;

	if (buckets < 1 || buckets > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("buckets must be between 1 and 100000, got %d", buckets)));
	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						NameStr(*key_col), RelationGetRelationName(rel))));
	rows = palloc0(sizeof(int64) * buckets);
	sums = palloc0(sizeof(uint64) * buckets);
	lows = palloc0(sizeof(List *) * buckets);
	highs = palloc0(sizeof(List *) * buckets);
	seen = palloc0(sizeof(bool) * buckets);
	memset(&order, 0, sizeof(order));
	get_atttypetypmodcoll(root, attnum, &keytype, &keytypmod, &order.collation);
	order.type = key_order_type(keytype);
	args[1] = ObjectIdGetDatum(root);
	args[2] = NameGetDatum(key_col);
	args[3] = Int32GetDatum(buckets);

	foreach(lc, tree)
	{
		Oid			part = lfirst_oid(lc);
		char		kind = get_rel_relkind(part);
		Relation	prel;

		if (kind != RELKIND_RELATION && kind != RELKIND_FOREIGN_TABLE)
			continue;
		prel = relation_open(part, NoLock);
		steward_require_owner_sees_all_rows(part, "steward.checksum_ranges()");
		args[0] = ObjectIdGetDatum(part);
		steward_as_table_owner_begin(prel, true, &ctx);
		steward_pin_output_settings();
		steward_pin_all_rows();
		if (steward_spi_execute_entry(sql, 4, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not run \"%s\"", sql);
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			int			b = atoi(SPI_getvalue(tup, desc, 1));
			char	   *lo = SPI_getvalue(tup, desc, 4);
			char	   *hi = SPI_getvalue(tup, desc, 5);
			MemoryContext spi = MemoryContextSwitchTo(outer);

			if (b < 0 || b >= buckets)
				elog(ERROR, "bucket %d out of range", b);
			seen[b] = true;
			rows[b] += strtoll(SPI_getvalue(tup, desc, 2), NULL, 10);
			sums[b] += checksum_sum(SPI_getvalue(tup, desc, 3));
			order.typed = strcmp(SPI_getvalue(tup, desc, 6), "t") == 0;
			/* Merged below, as rel's owner, outside SPI's memory. */
			if (lo != NULL)
				lows[b] = lappend(lows[b], pstrdup(lo));
			if (hi != NULL)
				highs[b] = lappend(highs[b], pstrdup(hi));
			MemoryContextSwitchTo(spi);
		}
		steward_as_owner_end(&ctx);
		relation_close(prel, NoLock);
	}

	/* The bounds in the key type's order, as rel's owner (key_before). */
	steward_as_table_owner_begin(rel, false, &ctx);
	if (order.typed && OidIsValid(order.type))
	{
		TypeCacheEntry *tce = lookup_type_cache(order.type, TYPECACHE_CMP_PROC_FINFO);

		if (OidIsValid(tce->cmp_proc_finfo.fn_oid))
			order.cmp = &tce->cmp_proc_finfo;
		getTypeInputInfo(order.type, &order.typinput, &order.typioparam);
	}
	for (int b = 0; b < buckets; b++)
	{
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};
		const char *lo = "";
		const char *hi = "";
		ListCell   *k;

		if (!seen[b])
			continue;
		foreach(k, lows[b])
			if (k == list_head(lows[b]) || key_before(&order, lfirst(k), lo))
				lo = lfirst(k);
		foreach(k, highs[b])
			if (k == list_head(highs[b]) || key_before(&order, hi, lfirst(k)))
				hi = lfirst(k);
		values[0] = Int32GetDatum(b);
		values[1] = Int64GetDatum(rows[b]);
		values[2] = CStringGetTextDatum(checksum_text(sums[b]));
		values[3] = CStringGetTextDatum(lo);
		values[4] = CStringGetTextDatum(hi);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	steward_as_owner_end(&ctx);
}

/*
 * steward.checksum_ranges(tbl, key_col, buckets): rows and checksum per
 * hash bucket of key_col, computed as the table's owner; of a partitioned
 * table whose partitions have different owners, partition by partition,
 * each as its owner (merge_ranges).  AccessShareLock on the table (and
 * its partitions).  Errors: 22004 NULL, 22023 buckets, 42703 column,
 * 0A000 system column, 42P01, 42809, 42501, 55000.
 */
Datum
steward_checksum_ranges(PG_FUNCTION_ARGS)
{
	Relation	rel;
	Oid			argtypes[3] = {REGCLASSOID, NAMEOID, INT4OID};
	Datum		args[3];
	List	   *tree = NIL;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("arguments must not be null")));
	rel = open_for_full_read(PG_GETARG_OID(0), "steward.checksum_ranges()");
	/* ctid, xmin, ...: not the same in two copies of a table */
	if (SystemAttributeByName(NameStr(*PG_GETARG_NAME(1))) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("system column \"%s\" cannot be the key of checksum ranges",
						NameStr(*PG_GETARG_NAME(1))),
				 errdetail("A system column differs between two copies of the same rows."),
				 errhint("Use a column of the table that identifies a row, such as the primary key.")));
	args[0] = PG_GETARG_DATUM(0);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = PG_GETARG_DATUM(2);
	InitMaterializedSRF(fcinfo, 0);
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		tree = find_all_inheritors(RelationGetRelid(rel), AccessShareLock, NULL);
	if (tree != NIL && tree_has_other_owners(tree))
		merge_ranges((ReturnSetInfo *) fcinfo->resultinfo, rel, tree,
					 PG_GETARG_NAME(1), PG_GETARG_INT32(2));
	else
		rows_as_owner((ReturnSetInfo *) fcinfo->resultinfo, rel,
					  "SELECT bucket, rows, checksum, min_key, max_key"
					  "  FROM steward._checksum_ranges_rows($1, $2, $3)",
					  3, argtypes, args);
	relation_close(rel, AccessShareLock);
	return (Datum) 0;
}

/* "schema.name" of a relation, quoted, with ONLY unless it is partitioned. */
static char *
fk_relation_sql(Oid relid)
{
	return psprintf("%s%s",
					get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE ? "" : "ONLY ",
					steward_qualified_name(relid));
}

/*
 * Read foreign key "conoid" from the syscache: its two tables and its
 * columns and operators.  No such foreign key (any more): 42704.
 */
static void
fk_read_constraint(Oid conoid, Oid *fkrel, Oid *pkrel, int *nkeys,
				   AttrNumber *fkattnums, AttrNumber *pkattnums, Oid *pfeqop)
{
	HeapTuple	tup;
	Form_pg_constraint con;
	Oid			ppeqop[INDEX_MAX_KEYS];
	Oid			ffeqop[INDEX_MAX_KEYS];

	tup = SearchSysCache1(CONSTROID, ObjectIdGetDatum(conoid));
	if (!HeapTupleIsValid(tup) || ((Form_pg_constraint) GETSTRUCT(tup))->contype != CONSTRAINT_FOREIGN)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("foreign key constraint with OID %u does not exist", conoid)));
	con = (Form_pg_constraint) GETSTRUCT(tup);
	*fkrel = con->conrelid;
	*pkrel = con->confrelid;
	DeconstructFkConstraintRow(tup, nkeys, fkattnums, pkattnums,
							   pfeqop, ppeqop, ffeqop, NULL, NULL);
	ReleaseSysCache(tup);
}

/*
 * The caller must own the referencing table and may read the referenced
 * one (42501).  Both exist: the caller read the foreign key in this
 * catalog snapshot, or holds their locks.
 */
static void
fk_check_privileges(Oid fkrel, Oid pkrel)
{
	if (!pg_class_ownercheck(fkrel, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("steward._verify_fk_orphans runs only as the owner of relation \"%s\"",
						get_rel_name(fkrel)),
				 errhint("Call steward.verify().")));
	if (pg_class_aclcheck(pkrel, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(pkrel));
}

/* The name of column "attnum" of a locked table, quoted; 42703 if missing. */
static const char *
fk_column(Oid relid, AttrNumber attnum)
{
	char	   *name = get_attname(relid, attnum, true);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column %d of relation \"%s\" does not exist",
						attnum, get_rel_name(relid)),
				 errhint("Run steward.verify() again.")));
	return quote_identifier(name);
}

/*
 * Reads foreign key conoid and locks its tables: the privileges first, so
 * a role that may not run steward._verify_fk_orphans never queues for a
 * lock; then both tables locked (AccessShareLock, held to the end of the
 * transaction), the referencing one first, as steward.verify() (which
 * holds it already), core's RI checks and the DDL that drops or adds a
 * foreign key (DROP TABLE, ALTER TABLE ... DROP CONSTRAINT) take them.
 * Without the referencing table's lock a DROP TABLE of it committed while
 * we waited for the referenced one left us reading its columns from the
 * catalog: XX000.  Then the key again, as it is now: dropped meanwhile it
 * is gone (42704), and the owner or the grants may have changed (42501).
 */
static void
fk_lock_constraint(Oid conoid, Oid *fkrel, Oid *pkrel, int *nkeys,
				   AttrNumber *fkattnums, AttrNumber *pkattnums, Oid *pfeqop)
{
	Oid			locked_fkrel;
	Oid			locked_pkrel;

	fk_read_constraint(conoid, fkrel, pkrel, nkeys, fkattnums, pkattnums, pfeqop);
	fk_check_privileges(*fkrel, *pkrel);
	LockRelationOid(*fkrel, AccessShareLock);
	LockRelationOid(*pkrel, AccessShareLock);
	locked_fkrel = *fkrel;
	locked_pkrel = *pkrel;
	fk_read_constraint(conoid, fkrel, pkrel, nkeys, fkattnums, pkattnums, pfeqop);
	if (*fkrel != locked_fkrel || *pkrel != locked_pkrel)
		elog(ERROR, "foreign key %u changed its tables", conoid);
	fk_check_privileges(*fkrel, *pkrel);
}

/*
 * The tables a key of referenced table pkrel is looked up in: pkrel
 * itself, or, for a partitioned table any of whose partitions (at any
 * level) another role owns, its leaf partitions (each then read as its
 * own owner).  Locks the partitions with AccessShareLock.
 */
static List *
fk_lookup_targets(Oid pkrel)
{
	List	   *targets = list_make1_oid(pkrel);

	if (get_rel_relkind(pkrel) == RELKIND_PARTITIONED_TABLE)
	{
		List	   *tree = find_all_inheritors(pkrel, AccessShareLock, NULL);
		ListCell   *lc;

		if (tree_has_other_owners(tree))
		{
			targets = NIL;
			foreach(lc, tree)
				if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_RELATION)
					targets = lappend_oid(targets, lfirst_oid(lc));
		}
	}
	return targets;
}

/*
 * The SQL of the referencing rows with a whole key (into fksql) and the
 * condition of the lookup of one key, " WHERE p.a OPERATOR(ns.=) $1 ..."
 * (into pkcond), with the key's parameter types in argtypes.  Both tables
 * are locked.  Errors: 42703 when a key column is gone (fk_column).
 */
static void
fk_build_sql(Oid fkrel, Oid pkrel, int nkeys, const AttrNumber *fkattnums,
			 const AttrNumber *pkattnums, const Oid *pfeqop, Oid *argtypes,
			 StringInfo fksql, StringInfo pkcond)
{
	appendStringInfoString(fksql, "SELECT ");
	for (int i = 0; i < nkeys; i++)
	{
		const char *fkcol = fk_column(fkrel, fkattnums[i]);
		HeapTuple	optup = SearchSysCache1(OPEROID, ObjectIdGetDatum(pfeqop[i]));
		Form_pg_operator op;

		if (!HeapTupleIsValid(optup))
			elog(ERROR, "cache lookup failed for operator %u", pfeqop[i]);
		op = (Form_pg_operator) GETSTRUCT(optup);
		appendStringInfo(fksql, "%st.%s", i > 0 ? ", " : "", fkcol);
		appendStringInfo(pkcond, " %s p.%s OPERATOR(%s.%s) $%d", i > 0 ? "AND" : "WHERE",
						 fk_column(pkrel, pkattnums[i]),
						 quote_identifier(get_namespace_name(op->oprnamespace)),
						 NameStr(op->oprname), i + 1);
		ReleaseSysCache(optup);
		argtypes[i] = get_atttype(fkrel, fkattnums[i]);
	}
	appendStringInfo(fksql, " FROM %s t WHERE", fk_relation_sql(fkrel));
	for (int i = 0; i < nkeys; i++)
		appendStringInfo(fksql, "%s t.%s IS NOT NULL", i > 0 ? " AND" : "",
						 fk_column(fkrel, fkattnums[i]));
}

/*
 * Looks up the keys of the fetched referencing rows not found yet
 * (found[r] false) in table "target", as its owner, restricted,
 * search_path pinned, row security not applied (SECURITY_NOFORCE_RLS, as
 * core's lookups), through *plan, prepared and planned as that owner the
 * first time and kept: the target's index expressions, predicates and
 * policies run with its owner's rights only.  SPI connected.
 */
static void
fk_probe_target(Oid target, SPIPlanPtr *plan, const char *pkcond, int nkeys,
				Oid *argtypes, SPITupleTable *rows, uint64 nrows, bool *found)
{
	StewardAsOwner ctx;
	Oid			userid;
	int			sec_context;
	Datum		values[INDEX_MAX_KEYS];
	char		nulls[INDEX_MAX_KEYS];

	steward_as_role_begin(steward_relation_owner(target), STEWARD_PINNED_SEARCH_PATH,
						  true, &ctx);
	GetUserIdAndSecContext(&userid, &sec_context);
	SetUserIdAndSecContext(userid, sec_context | SECURITY_NOFORCE_RLS);
	steward_pin_all_rows();
	if (*plan == NULL)
	{
		char	   *sql = psprintf("SELECT 1 FROM %s p%s", fk_relation_sql(target), pkcond);

		*plan = SPI_prepare(sql, nkeys, argtypes);
		if (*plan == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", sql,
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(*plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
	}
	for (uint64 r = 0; r < nrows; r++)
	{
		if (found[r])
			continue;
		for (int i = 0; i < nkeys; i++)
		{
			bool		isnull;

			values[i] = SPI_getbinval(rows->vals[r], rows->tupdesc, i + 1, &isnull);
			nulls[i] = isnull ? 'n' : ' ';
		}
		if (SPI_execute_plan(*plan, values, nulls, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not run the lookup in %s", get_rel_name(target));
		if (SPI_processed > 0)
			found[r] = true;
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	steward_as_owner_end(&ctx);
}

/*
 * steward._verify_fk_orphans(con oid): the number of rows of the
 * referencing table of foreign key "con" whose key has no NULL part and
 * no row in the referenced table, for steward._verify_foreign_keys when
 * the two tables have different owners.  Each table is read as its own
 * owner, as core's referential-integrity checks do: the rows of the
 * referencing table as the current user (who must own it: 42501), the
 * referenced key as the referenced table's owner, restricted, search_path
 * pinned, row security not applied (SECURITY_NOFORCE_RLS, as core's
 * lookups), through a statement prepared and planned as that owner - so
 * the index expressions, predicates and policies the referenced table's
 * owner defined never run with the referencing owner's rights, nor the
 * other way round.  The current user must also have SELECT on the
 * referenced table (42501).  A referenced partitioned table any of whose
 * partitions (at any level) another role owns is never planned as a
 * whole: each key is looked up in its leaf partitions, each as its owner,
 * until found.  AccessShareLock on the referencing table, then on the
 * referenced one (and its partitions), both after the privilege checks.
 * Errors: 42704 no such foreign key (also: dropped while we waited for a
 * lock), 42501.
 */
Datum
steward_verify_fk_orphans(PG_FUNCTION_ARGS)
{
	Oid			conoid = PG_GETARG_OID(0);
	int			nkeys;
	AttrNumber	fkattnums[INDEX_MAX_KEYS];
	AttrNumber	pkattnums[INDEX_MAX_KEYS];
	Oid			pfeqop[INDEX_MAX_KEYS];
	Oid			argtypes[INDEX_MAX_KEYS];
	Oid			fkrel;
	Oid			pkrel;
	List	   *targets;
	int			ntargets;
	StringInfoData fksql;
	StringInfoData pksql;
	Portal		portal;
	SPIPlanPtr *plans;
	int64		orphans = 0;

	fk_lock_constraint(conoid, &fkrel, &pkrel, &nkeys, fkattnums, pkattnums, pfeqop);
	targets = fk_lookup_targets(pkrel);
	ntargets = list_length(targets);
	plans = palloc0(sizeof(SPIPlanPtr) * Max(ntargets, 1));

	/* The referencing rows with a whole key, and the lookup of one key. */
	initStringInfo(&fksql);
	initStringInfo(&pksql);
	fk_build_sql(fkrel, pkrel, nkeys, fkattnums, pkattnums, pfeqop, argtypes,
				 &fksql, &pksql);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* Read as the current user: the referencing table's owner. */
	portal = SPI_cursor_open_with_args(NULL, fksql.data, 0, NULL, NULL, NULL, true, 0);
	for (;;)
	{
		SPITupleTable *rows;
		uint64		nrows;
		bool	   *found;

		SPI_cursor_fetch(portal, true, FK_PROBE_BATCH);
		rows = SPI_tuptable;
		nrows = SPI_processed;
		if (nrows == 0)
			break;

		/* Each key looked up as the owner of each table it may be in. */
		found = palloc0(sizeof(bool) * nrows);
		for (int t = 0; t < ntargets; t++)
			fk_probe_target(list_nth_oid(targets, t), &plans[t], pksql.data, nkeys,
							argtypes, rows, nrows, found);
		for (uint64 r = 0; r < nrows; r++)
			if (!found[r])
				orphans++;
		pfree(found);
		SPI_freetuptable(rows);
	}
	SPI_cursor_close(portal);
	for (int t = 0; t < ntargets; t++)
		if (plans[t] != NULL)
			SPI_freeplan(plans[t]);
	SPI_finish();
	PG_RETURN_INT64(orphans);
}
