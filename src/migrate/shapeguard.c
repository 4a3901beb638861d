/*-------------------------------------------------------------------------
 *
 * shapeguard.c
 *	  The ddl_command_end guard of a column migration's shapes:
 *
 *	  steward_migration_judge_shape_users()	called by the event trigger
 *	  steward._migration_guard_shape_users() (relayout.c), every tag
 *
 * A column migration puts two views of each table in schemas of its own
 * (<mig>.<table>, <mig>_old.<table>), which cleanup and rollback drop by
 * name as the table's owner, and which the new version of the application
 * reads and writes through with <mig> first on its search_path.  Two
 * kinds of object made while it runs break that:
 *
 *	- an object that uses a shape view, one of its columns, its row type or
 *	  that row type's array type (a view reading it, a cast, a statistics
 *	  object, a column, default or CHECK of the row type, ...): the drop of
 *	  the views would need CASCADE, and its owner may be a role the table's
 *	  owner cannot drop objects of (review12 R12-9, review13 R13-4,
 *	  review14 R14-1);
 *	- an object in a shapes' schema whose owner does not have the rights
 *	  of every owner of the migration's tables: the schemas belong to the
 *	  first table's owner, and a function or table of that role there would
 *	  take the names of another owner's application and run its code as
 *	  that application (CVE-2018-1058's pattern; review14 R14-4).
 *
 * Both are judged on what PostgreSQL recorded, not on the statement: every
 * pg_depend row this transaction wrote (xmin a current transaction ID)
 * whose referenced object is a shape view, a column of it, its row type or
 * its array type (55006, the R13-4 message), or a shapes' schema (42501).
 * The rows are found on the pages of pg_depend the visibility map does not
 * mark all-visible (a page with a row of a running transaction never is)
 * and whose LSN is past the watermark (the WAL insert position when the
 * guard last judged, or when the backend's previous transaction ended),
 * and each referenced schema is looked up once among the shapes' schemas
 * (one read of the migrations named like it, through their primary key),
 * so what a statement costs does not grow with the number of active
 * migrations (review16 R16-4) nor with the statements before it in the
 * transaction or the pages VACUUM has not yet marked (codereview3 #3); the
 * trigger fires for every command tag, so a new kind of statement is
 * covered without a change here.  Each row is judged once, when the first
 * statement to end after it was written while a migration is active ends
 * (rows with a cmin below the command ID the guard last judged up to are
 * not read again), with that statement's context.  A migration's own statement for one of its
 * tables (steward_migration_own_sql_relid) may use the shapes of that
 * table only (review16 R16-7: a create_index definition, an alter_column
 * check or default, an add_column type over another migration's shape was
 * made; codereview3 #4: nor another table's of the same migration); its
 * own views and their _RETURN rules pass, and a rule on a shape view that
 * reads that view, or builds its rows, goes with it (codereview3 #5);
 * another user's rule on a shape view is judged (review16 R16-2).  Every
 * statement passes while no migration is active, which one index probe of
 * steward.migration_tables tells.  CREATE INDEX CONCURRENTLY writes its
 * rows in an earlier transaction than the one its ddl_command_end runs
 * in: relayout.c judges it from the statement
 * (steward_migration_refuse_index_shapes).  Each row is also judged on
 * the columns of migrated tables (steward_migration_judge_column_user,
 * relayout.c; review16 R16-6).
 *
 * The migrations' catalog is read as its owner in a snapshot taken now
 * (steward_spi_read_latest), never the transaction's: a REPEATABLE READ
 * transaction whose snapshot predates migration_start is judged with the
 * migration (review13 R13-6).  pg_depend is read in a snapshot taken after
 * a command counter increment, which shows the statement's own rows.  No
 * lock is taken beyond AccessShareLock on the catalogs read.  A superuser
 * can still go around the guard (ALTER EVENT TRIGGER ... DISABLE);
 * cleanup and rollback then name what uses the views
 * (_migration_check_view_users, 2BP01).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/visibilitymap.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "rewrite/rewriteSupport.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "migrate/migrate.h"

/* A table of an active column migration and one of its two shape views. */
typedef struct ShapeView
{
	char	   *migration;
	Oid			table;			/* the migrated table */
	Oid			table_owner;
	Oid			nsp;			/* <mig> or <mig>_old */
	Oid			view;			/* InvalidOid when it is gone */
	Oid			rowtype;
	Oid			arraytype;
} ShapeView;

/*
 * Whether any migration is active: one probe of the partial index
 * steward.migration_tables (relid) WHERE active, in a snapshot taken now.
 * False when the catalog is not there (a library newer than the SQL, or
 * the extension being created); true when the catalog is there and its
 * index is not (renamed or dropped by its owner), so that the full read
 * runs and no guard is skipped (codereview10 C3).
 */
static bool
any_active_migration(void)
{
	Oid			nsp = get_namespace_oid(STEWARD_SCHEMA, true);
	Oid			catalog;
	Oid			index;
	Relation	rel;
	SysScanDesc scan;
	Snapshot	snapshot;
	bool		found;

	if (!OidIsValid(nsp))
		return false;
	catalog = get_relname_relid("migration_tables", nsp);
	index = get_relname_relid("migration_tables_one_active", nsp);
	if (!OidIsValid(catalog))
		return false;
	if (!OidIsValid(index))
		return true;
	rel = table_open(catalog, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	scan = systable_beginscan(rel, index, true, snapshot, 0, NULL);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

/* The plan of shape_views()'s read, prepared once per backend and kept. */
/*
 * The shape views of the active column migrations named name1 or name2
 * (not those of a record a restore wrote, which its next step checks),
 * one per table and schema, ordered by migration, table and view; view
 * InvalidOid for one that is gone.  Read through the primary key of
 * steward.migration_tables as the catalog's owner in a snapshot taken
 * now, with a kept plan (steward_spi_read_latest).  Palloc'd in the
 * caller's context.
 */
static List *
shape_views(const char *name1, const char *name2)
{
	Oid			catalog = steward_relid("migration_tables", true);
	Oid			runs = steward_relid("migration_runs", true);
	StewardAsOwner ctx;
	MemoryContext outer = CurrentMemoryContext;
	List	   *result = NIL;
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];

	if (!OidIsValid(catalog) || !OidIsValid(runs))
		return NIL;
	args[0] = CStringGetTextDatum(name1);
	args[1] = CStringGetTextDatum(name2);
	steward_as_owner_begin(catalog, &ctx);
	if (steward_spi_read_latest(psprintf(
			"SELECT t.migration, t.relid::pg_catalog.oid, c.relowner, n.oid, sv.oid, sv.reltype,"
			"       ty.typarray"
			"  FROM steward.migration_tables t"
			"  JOIN steward.migration_runs r ON r.name OPERATOR(pg_catalog.=) t.migration"
			"  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.relid::pg_catalog.oid"
			"  JOIN pg_catalog.pg_namespace n"
			"    ON n.nspname OPERATOR(pg_catalog.=) ANY (ARRAY[t.migration,"
			"                                                  t.migration OPERATOR(pg_catalog.||) '_old'])"
			"  LEFT JOIN pg_catalog.pg_class sv"
			"    ON sv.relnamespace OPERATOR(pg_catalog.=) n.oid AND sv.relkind OPERATOR(pg_catalog.=) 'v'"
			"   AND sv.relname OPERATOR(pg_catalog.=)"
			"       CASE WHEN n.nspname OPERATOR(pg_catalog.=) t.migration"
			"            THEN coalesce(t.new_name, t.relname) ELSE t.relname END"
			"  LEFT JOIN pg_catalog.pg_type ty ON ty.oid OPERATOR(pg_catalog.=) sv.reltype"
			" WHERE t.migration OPERATOR(pg_catalog.=) ANY (ARRAY[$1, $2])"
			"   AND t.active AND r.status OPERATOR(pg_catalog.=) 'active' AND NOT %s"
			"   AND NOT coalesce(r.steps OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.?|)"
			"                               ARRAY['relayout', 'create_index', 'drop_index'], false)"
			" ORDER BY t.migration, t.ord, sv.oid",
			steward_migration_runs_restored(runs)),
			2, argtypes, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_tables");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(outer);
		ShapeView  *s = palloc0(sizeof(ShapeView));
		Datum		d;

		s->migration = SPI_getvalue(tup, desc, 1);
		s->table = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		s->table_owner = DatumGetObjectId(SPI_getbinval(tup, desc, 3, &isnull));
		s->nsp = DatumGetObjectId(SPI_getbinval(tup, desc, 4, &isnull));
		d = SPI_getbinval(tup, desc, 5, &isnull);
		s->view = isnull ? InvalidOid : DatumGetObjectId(d);
		d = SPI_getbinval(tup, desc, 6, &isnull);
		s->rowtype = isnull ? InvalidOid : DatumGetObjectId(d);
		d = SPI_getbinval(tup, desc, 7, &isnull);
		s->arraytype = isnull ? InvalidOid : DatumGetObjectId(d);
		result = lappend(result, s);
		MemoryContextSwitchTo(old);
	}
	steward_as_owner_end(&ctx);
	return result;
}

/*
 * The shape views of the migration whose shapes' schema nsp is (its
 * <mig> or <mig>_old), every one of that migration's (both schemas), or
 * NIL when nsp is no active column migration's shapes' schema: one read
 * through the primary key for the two names nsp can be a shapes' schema
 * of.
 */
static List *
schema_shapes(Oid nsp)
{
	char	   *name;
	size_t		len;
	char	   *base;
	List	   *all;
	List	   *result = NIL;
	char	   *migration = NULL;
	ListCell   *lc;

	if (IsCatalogNamespace(nsp) || IsToastNamespace(nsp) || isAnyTempNamespace(nsp))
		return NIL;
	name = get_namespace_name(nsp);
	if (name == NULL)
		return NIL;
	len = strlen(name);
	base = pstrdup(name);
	if (len > 4 && strcmp(name + len - 4, "_old") == 0)
		base[len - 4] = '\0';
	all = shape_views(name, base);
	foreach(lc, all)
	{
		ShapeView  *s = lfirst(lc);

		if (s->nsp == nsp)
		{
			migration = s->migration;
			break;
		}
	}
	if (migration == NULL)
		return NIL;
	foreach(lc, all)
	{
		ShapeView  *s = lfirst(lc);

		if (strcmp(s->migration, migration) == 0)
			result = lappend(result, s);
	}
	return result;
}

/*
 * The active column migration whose shapes' schema (<mig> or <mig>_old)
 * nsp is, or NULL: for a regnamespace constant in a CREATE INDEX
 * CONCURRENTLY or a create_index step (steward_migration_refuse_index_shapes),
 * whose pg_depend row on the schema would keep a rollback or the cleanup
 * from dropping it (review17 R17-1).  Reads the migrations' catalog as its
 * owner in a snapshot taken now (AccessShareLock on migration_tables and
 * migration_runs); raises nothing but an unreadable catalog's XX000.
 */
const char *
steward_migration_shapes_schema(Oid nsp)
{
	List	   *shapes = OidIsValid(nsp) && any_active_migration() ? schema_shapes(nsp) : NIL;

	return shapes == NIL ? NULL : ((ShapeView *) linitial(shapes))->migration;
}

/*
 * The name of relation relid as a message prints it: without its schema,
 * inside double quotes, as core does (relation "t"); its OID when it is
 * gone.
 */
static char *
relation_name(Oid relid)
{
	char	   *name = get_rel_name(relid);

	return name != NULL ? psprintf("\"%s\"", name) : psprintf("%u", relid);
}

/*
 * The relation rule ruleoid is on (InvalidOid when it is gone), and
 * whether it is that relation's _RETURN rule (a view's query).
 */
static Oid
rule_relation(Oid ruleoid, bool *is_return)
{
	Relation	rewrite = table_open(RewriteRelationId, AccessShareLock);
	HeapTuple	tup = get_catalog_object_by_oid(rewrite, Anum_pg_rewrite_oid, ruleoid);
	Oid			relid = InvalidOid;

	*is_return = false;
	if (HeapTupleIsValid(tup))
	{
		Form_pg_rewrite rw = (Form_pg_rewrite) GETSTRUCT(tup);

		relid = rw->ev_class;
		*is_return = strcmp(NameStr(rw->rulename), ViewSelectRuleName) == 0;
	}
	table_close(rewrite, AccessShareLock);
	return relid;
}

/* Whether relid is one of the shape views of shapes. */
static bool
is_shape_view(List *shapes, Oid relid)
{
	ListCell   *lc;

	if (!OidIsValid(relid))
		return false;
	foreach(lc, shapes)
	{
		if (((ShapeView *) lfirst(lc))->view == relid)
			return true;
	}
	return false;
}

/*
 * Whether the pg_depend row dep on a shape of the migration whose shape
 * views are shapes is that migration's own: the dependent is one of its
 * shape views or the _RETURN rule (the query) of one.  A user's rule on a
 * shape view is judged like any other object (review16 R16-2), except on
 * the very view the rule is on, its row type or that type's array type (a
 * rule that reads its own view, or builds its rows, goes with it:
 * codereview3 #5).
 */
static bool
own_dependent(List *shapes, Form_pg_depend dep)
{
	if (dep->classid == RelationRelationId)
		return is_shape_view(shapes, dep->objid);
	if (dep->classid == RewriteRelationId)
	{
		bool		is_return;
		Oid			relid = rule_relation(dep->objid, &is_return);

		if (dep->refclassid == RelationRelationId && relid == dep->refobjid)
			return true;
		/* its row type or that type's array type (a ROW(...)::v) too */
		if (dep->refclassid == TypeRelationId && OidIsValid(relid))
		{
			Oid			rowtype = get_rel_type_id(relid);

			if (OidIsValid(rowtype) &&
				(rowtype == dep->refobjid || get_array_type(rowtype) == dep->refobjid))
				return true;
		}
		return is_return && is_shape_view(shapes, relid);
	}
	return false;
}

/*
 * The object a refusal names for the dependent of dep, as the backstop
 * (_migration_check_view_users) names it: a view or materialized view for
 * its _RETURN rule, a composite type for its pg_class row, a relation for
 * one of its columns, else the object itself.
 */
static char *
describe_user(Form_pg_depend dep)
{
	ObjectAddress addr;
	char	   *what;

	ObjectAddressSet(addr, dep->classid, dep->objid);
	if (dep->classid == RewriteRelationId)
	{
		bool		is_return;
		Oid			relid = rule_relation(dep->objid, &is_return);

		if (is_return)
			ObjectAddressSet(addr, RelationRelationId, relid);
	}
	else if (dep->classid == RelationRelationId && get_rel_relkind(dep->objid) == RELKIND_COMPOSITE_TYPE)
		ObjectAddressSet(addr, TypeRelationId, get_rel_type_id(dep->objid));
	what = getObjectDescription(&addr, true);
	return what ? what : psprintf("object %u of catalog %u", dep->objid, dep->classid);
}

/*
 * The owner of the object classid/objid, read from its catalog row (the
 * current role for an object whose catalog has no owner column, or a
 * catalog the object-address machinery does not know).
 */
static Oid
object_owner(Oid classid, Oid objid)
{
	AttrNumber	ownattr;
	Relation	catalog;
	HeapTuple	tup;
	Oid			owner = GetUserId();

	if (!is_objectclass_supported(classid))
		return owner;
	ownattr = get_object_attnum_owner(classid);
	if (ownattr == InvalidAttrNumber)
		return owner;
	catalog = table_open(classid, AccessShareLock);
	tup = get_catalog_object_by_oid(catalog, get_object_attnum_oid(classid), objid);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, ownattr, RelationGetDescr(catalog), &isnull);

		if (!isnull)
			owner = DatumGetObjectId(d);
	}
	table_close(catalog, AccessShareLock);
	return owner;
}

/*
 * What this backend's guard has judged (codereview3 #3).  A pg_depend page
 * whose LSN is at most judged_lsn has not been written since: no row of
 * the transaction that is not yet judged is on it (every write of
 * pg_depend is WAL-logged, and sets the page's LSN to its record's end).
 * A row of the transaction whose cmin is below judged_cid was judged when
 * the statement that wrote it ended, with that statement's own context.
 * At the end of each transaction judged_lsn becomes the WAL insert
 * position (the next transaction writes after it) and judged_cid
 * FirstCommandId; after a judgement that raised nothing, the insert
 * position and command ID it read up to.  InvalidXLogRecPtr (the first
 * transaction after the library was loaded, or during recovery): every
 * page not all-visible is read.
 */
static XLogRecPtr judged_lsn = InvalidXLogRecPtr;
static CommandId judged_cid = FirstCommandId;
static bool judged_callback = false;

/* Transaction end: the next transaction's rows are all written after. */
static void
judged_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			judged_lsn = RecoveryInProgress() ? InvalidXLogRecPtr : GetXLogInsertRecPtr();
			judged_cid = FirstCommandId;
			break;
		default:
			break;
	}
}

/*
 * The pg_depend rows this transaction wrote since the guard last judged
 * (judged_lsn, judged_cid) that snapshot sees (copies).  A heap page that
 * holds a row of a transaction still running is not all-visible
 * (heap_insert and heap_update clear the bit of the page they write, and
 * VACUUM sets it only when every row is visible to all), and a page not
 * written since judged_lsn holds no row to judge, so only the pages the
 * visibility map does not mark all-visible are read, and only the rows of
 * those written since: the cost follows what the transaction wrote since
 * its last statement, not the number of migrations (review16 R16-4) nor
 * what VACUUM has not yet marked, nor the statements before (codereview3
 * #3).  A pg_depend this transaction gave a new relfilenode under
 * wal_level minimal is not WAL-logged: every page not all-visible is read
 * then.  *lsn and *cid are set to the watermark this read reaches.
 */
static List *
transaction_depend_rows(Relation depend, Snapshot snapshot, XLogRecPtr *lsn, CommandId *cid)
{
	BlockNumber nblocks = RelationGetNumberOfBlocks(depend);
	Buffer		vmbuffer = InvalidBuffer;
	List	   *rows = NIL;
	XLogRecPtr	since = RelationNeedsWAL(depend) ? judged_lsn : InvalidXLogRecPtr;

	*lsn = RecoveryInProgress() ? InvalidXLogRecPtr : GetXLogInsertRecPtr();
	*cid = GetCurrentCommandId(false);
	for (BlockNumber blkno = 0; blkno < nblocks; blkno++)
	{
		Buffer		buf;
		Page		page;
		OffsetNumber maxoff;

		CHECK_FOR_INTERRUPTS();
		if (VM_ALL_VISIBLE(depend, blkno, &vmbuffer))
			continue;
		buf = ReadBuffer(depend, blkno);
		LockBuffer(buf, BUFFER_LOCK_SHARE);
		if (!XLogRecPtrIsInvalid(since) && BufferGetLSNAtomic(buf) <= since)
		{
			UnlockReleaseBuffer(buf);
			continue;
		}
		page = BufferGetPage(buf);
		maxoff = PageGetMaxOffsetNumber(page);
		for (OffsetNumber off = FirstOffsetNumber; off <= maxoff; off++)
		{
			ItemId		lp = PageGetItemId(page, off);
			HeapTupleData tup;

			if (!ItemIdIsNormal(lp))
				continue;
			tup.t_data = (HeapTupleHeader) PageGetItem(page, lp);
			tup.t_len = ItemIdGetLength(lp);
			tup.t_tableOid = RelationGetRelid(depend);
			ItemPointerSet(&tup.t_self, blkno, off);
			if (!TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tup.t_data)) ||
				HeapTupleHeaderGetCmin(tup.t_data) < judged_cid ||
				!HeapTupleSatisfiesVisibility(&tup, snapshot, buf))
				continue;
			rows = lappend(rows, memcpy(palloc(sizeof(FormData_pg_depend)),
										GETSTRUCT(&tup), sizeof(FormData_pg_depend)));
		}
		UnlockReleaseBuffer(buf);
	}
	if (BufferIsValid(vmbuffer))
		ReleaseBuffer(vmbuffer);
	return rows;
}

/*
 * The schema of the object a pg_depend row references when it can be a
 * shape (a relation, a type, a schema itself), else InvalidOid.
 */
static Oid
referenced_namespace(Form_pg_depend dep)
{
	if (dep->refclassid == NamespaceRelationId)
		return dep->refobjid;
	if (dep->refclassid == RelationRelationId)
		return get_rel_namespace(dep->refobjid);
	if (dep->refclassid == TypeRelationId)
	{
		HeapTuple	tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(dep->refobjid));
		Oid			nsp = InvalidOid;

		if (HeapTupleIsValid(tup))
		{
			nsp = ((Form_pg_type) GETSTRUCT(tup))->typnamespace;
			ReleaseSysCache(tup);
		}
		return nsp;
	}
	return InvalidOid;
}

/*
 * 55006 when dep makes an object use a shape view of the migration whose
 * shapes are shapes (the view, a column of it, its row type or its array
 * type).
 */
static void
guard_shape_user(List *shapes, Form_pg_depend dep)
{
	ListCell   *lc;

	if (dep->deptype != DEPENDENCY_NORMAL ||
		(dep->refclassid != RelationRelationId && dep->refclassid != TypeRelationId) ||
		own_dependent(shapes, dep))
		return;
	foreach(lc, shapes)
	{
		ShapeView  *s = lfirst(lc);

		if (!OidIsValid(s->view) ||
			(dep->refclassid == RelationRelationId ? s->view != dep->refobjid
			 : s->rowtype != dep->refobjid && s->arraytype != dep->refobjid))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("%s would use view %s, a shape of migration \"%s\"",
						describe_user(dep), relation_name(s->view), s->migration),
				 errdetail("The cleanup and a rollback drop the views of the shapes of %s, and could not while another object uses one.",
						   relation_name(s->table)),
				 errhint("Make it over the table %s instead, after SELECT steward.migration_cleanup(%s); (the table then has the new shape).",
						 relation_name(s->table), quote_literal_cstr(s->migration))));
	}
}

/*
 * Whether the dependent of dep (a row on schema nsp) is in that schema,
 * as its catalog row says; false for an object of a catalog without a
 * schema column (a rule, a policy, an extension), which names the schema
 * only in an expression or as an option.  Reads the object's syscache
 * entry; raises nothing for an object this transaction wrote.
 */
static bool
object_in_namespace(Form_pg_depend dep, Oid nsp)
{
	ObjectAddress addr;

	if (!is_objectclass_supported(dep->classid))
		return true;			/* judged as before: by its owner */
	ObjectAddressSet(addr, dep->classid, dep->objid);
	return get_object_namespace(&addr) == nsp;
}

/*
 * 42501 when dep puts in shapes' schema nsp (made there, or moved there by
 * SET SCHEMA, which rewrites its row) an object whose owner lacks the
 * rights of an owner of the migration's tables.
 */
static void
guard_shape_schema(List *shapes, Oid nsp, Form_pg_depend dep)
{
	Oid			owner;
	ListCell   *lc;
	const char *migration = ((ShapeView *) linitial(shapes))->migration;

	if (own_dependent(shapes, dep))
		return;
	/*
	 * An object elsewhere that names the schema (a regnamespace constant,
	 * review17 R17-1's nit): the cleanup's and a rollback's DROP SCHEMA
	 * would refuse it, whoever owns it.
	 */
	if (!object_in_namespace(dep, nsp))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("%s would use schema \"%s\" of migration \"%s\"",
						describe_user(dep), get_namespace_name(nsp), migration),
				 errdetail("The cleanup and a rollback drop the schemas of the migration's shapes, and could not while another object depends on one (a regnamespace constant records a dependency)."),
				 errhint("Make it after SELECT steward.migration_cleanup(%s); or a rollback.",
						 quote_literal_cstr(migration))));
	owner = object_owner(dep->classid, dep->objid);
	foreach(lc, shapes)
	{
		ShapeView  *t = lfirst(lc);

		if (has_privs_of_role(owner, t->table_owner))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s cannot be in schema \"%s\" of migration \"%s\": its owner, role \"%s\", lacks the rights of role \"%s\", owner of table %s",
						describe_user(dep), get_namespace_name(nsp), migration,
						GetUserNameFromId(owner, false), GetUserNameFromId(t->table_owner, false),
						relation_name(t->table)),
				 errdetail("The new version of the application of each table of the migration puts schema \"%s\" first on its search_path: an object there takes the names it resolves, and its code runs as that application.",
						   get_namespace_name(nsp)),
				 errhint("Make it in another schema. Only the migration's views and objects of a role with the rights of every owner of its tables belong in schemas \"%s\" and \"%s_old\".",
						 migration, migration)));
	}
}

/* The shapes of shapes whose table is not relid. */
static List *
other_tables_shapes(List *shapes, Oid relid)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, shapes)
	{
		if (((ShapeView *) lfirst(lc))->table != relid)
			result = lappend(result, lfirst(lc));
	}
	return result;
}

/* A schema the guard looked up, and the shapes of its migration (or NIL). */
typedef struct SchemaShapes
{
	Oid			nsp;
	List	   *shapes;
} SchemaShapes;

/*
 * For the event trigger steward._migration_guard_shape_users()
 * (steward_migration_shape_users on ddl_command_end, every command tag):
 * raises 55006 when this transaction wrote a pg_depend row that makes an
 * object use a shape view of an active column migration, or 42501 when it
 * put in a shapes' schema an object whose owner lacks the rights of an
 * owner of the migration's tables; see the file header.  Starts from the
 * rows this transaction wrote and looks up each referenced schema once,
 * so the cost does not grow with the number of active migrations
 * (review16 R16-4).  A migration's own statement may use that
 * migration's shapes only (review16 R16-7).  Nothing in pg_upgrade or
 * while no migration is active.  Takes AccessShareLock on
 * steward.migration_tables, its runs, pg_depend and the catalogs of the
 * objects named; runs no user code.
 */
void
steward_migration_judge_shape_users(void)
{
	StewardAsOwner ctx;
	Relation	depend;
	Snapshot	snapshot;
	List	   *rows;
	List	   *schemas = NIL;
	List	   *tables = NIL;
	Oid			own_relid = steward_migration_own_sql_relid();
	XLogRecPtr	lsn;
	CommandId	cid;
	ListCell   *lc;

	if (IsBinaryUpgrade || !any_active_migration())
		return;
	if (!judged_callback)
	{
		RegisterXactCallback(judged_xact_callback, NULL);
		judged_callback = true;
	}
	CommandCounterIncrement();
	depend = table_open(DependRelationId, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	rows = transaction_depend_rows(depend, snapshot, &lsn, &cid);
	UnregisterSnapshot(snapshot);
	table_close(depend, AccessShareLock);
	if (rows == NIL)
	{
		judged_lsn = lsn;
		judged_cid = cid;
		return;
	}
	/* Names in messages qualified as the backstop's (a pinned search_path). */
	steward_as_role_begin(GetUserId(), STEWARD_PINNED_SEARCH_PATH, false, &ctx);
	foreach(lc, rows)
	{
		Form_pg_depend dep = lfirst(lc);
		Oid			nsp = referenced_namespace(dep);
		List	   *shapes = NIL;
		bool		known = false;
		bool		own = false;
		ListCell   *sc;

		/* An object over a column a migration changes (relayout.c). */
		steward_migration_judge_column_user(dep, &tables);
		if (!OidIsValid(nsp))
			continue;
		foreach(sc, schemas)
		{
			SchemaShapes *seen = lfirst(sc);

			if (seen->nsp == nsp)
			{
				shapes = seen->shapes;
				known = true;
				break;
			}
		}
		if (!known)
		{
			SchemaShapes *seen = palloc(sizeof(SchemaShapes));

			seen->nsp = nsp;
			seen->shapes = shapes = schema_shapes(nsp);
			schemas = lappend(schemas, seen);
		}
		if (shapes == NIL)
			continue;
		/*
		 * The running migration's own statement for table own_relid may
		 * put objects in its shapes' schemas and use the shapes of that
		 * table only, not those of another table of the migration
		 * (codereview3 #4: perhaps another owner's).
		 */
		foreach(sc, shapes)
		{
			if (OidIsValid(own_relid) && ((ShapeView *) lfirst(sc))->table == own_relid)
				own = true;
		}
		if (dep->refclassid == NamespaceRelationId)
		{
			if (!own)
				guard_shape_schema(shapes, nsp, dep);
		}
		else
			guard_shape_user(own ? other_tables_shapes(shapes, own_relid) : shapes, dep);
	}
	steward_as_owner_end(&ctx);
	judged_lsn = lsn;
	judged_cid = cid;
}
