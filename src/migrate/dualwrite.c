/*-------------------------------------------------------------------------
 *
 * dualwrite.c
 *	  The dual-write trigger of a migration: BEFORE INSERT OR UPDATE FOR
 *	  EACH ROW on every table a migration changes, created by
 *	  migration_start and dropped by migration_cleanup or _rollback.
 *
 * Every row written while a migration is active carries both shapes:
 * a write in the old shape (the old application, through the table before
 * the switch or through the "<migration>_old" views after it) gets its new
 * columns computed with "up"; a write in the new shape (through the
 * migration's views before the switch, through the table after it) gets
 * its old columns computed with "down".  The marker column _steward_side
 * records which shape the row was last written in ('o' or 'n'; NULL: not
 * yet written since the migration started, which the backfill fills), so
 * that validation checks each row in the direction it was written.
 *
 * Which shape a write is in:
 *   UPDATE that changes only old-shape columns -> old; only new-shape
 *     columns -> new; neither -> the writer's shape (its search_path, else
 *     the table's shape) when that shape's up or down reads a column it
 *     changes, so "total" (up "price * qty") follows the old
 *     application's "SET price = 5" in any row (writer_reads_changed,
 *     mig16); else the row's marker (NULL -> old), so an unrelated update
 *     never converts a row through a lossy round trip;
 *     both -> as for INSERT.  In a row the backfill has not filled yet
 *     (its new shape reads as NULL): an UPDATE that leaves a column
 *     computed with up NULL is refused (check_unfilled_write); one that
 *     sets such a column is new, the other such columns first getting
 *     up(row); any other -> old, since there is no new shape to map from.
 *     Such a row first gets the "default" of each added column with no
 *     "up" that the UPDATE does not set, as the backfill gives it
 *     (newcomer44 P1: else NULL in a NOT NULL column).
 *   INSERT -> the first migration schema on the session's search_path
 *     ("<migration>" -> new, "<migration>_old" -> old), which is how
 *     applications choose a shape; else, before the switch, new if a new
 *     column of a changed column is set (the table gives them no default,
 *     the migration's view does), else old; after the switch the same
 *     with the roles reversed.
 * An up or down that reads no column is a default, not a mapping
 * (default_keep, mig14 M4): computed by an INSERT that does not write the
 * column and by the first old-shape write of a row not filled yet, kept
 * by every other write, whatever the other application wrote there.
 * Whichever shape it is, a column of the other one the statement wrote
 * itself (UPDATE: changed; INSERT: a value other than its constant
 * default) must get the very value computed for it, else the write is
 * refused (check_both_shapes, review26 R7): otherwise one of the two
 * values the user wrote was dropped, the new shape's by an UPDATE and
 * the old shape's by an INSERT.
 *
 * up and down are the table owner's SQL.  They are evaluated here as the
 * owner, security-restricted, with search_path = pg_catalog, pg_temp and
 * the settings that change values pinned (steward_pin_output_settings:
 * TimeZone, DateStyle, extra_float_digits, default_text_search_config
 * when an up or down may read it, ...) and row_security off, as the backfill and validation evaluate
 * them, whoever writes the row and whatever their session set (review17
 * R17-2: a writer in another TimeZone got other values, which validation
 * then reported; a function of up reading a table whose policies apply
 * to the owner got the policy's subset of rows where the backfill fails
 * with 42501).  The expressions are parsed and planned once per
 * backend and relation (cache below, dropped on relcache invalidation,
 * which every DDL on the table and every phase change sends) and set up
 * for execution once per statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/sysattr.h"
#include "catalog/namespace.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "migrate/migrate.h"
#include "tableam/rules.h"

PG_FUNCTION_INFO_V1(steward_migration_trigger);

#define MIG_MARKER "_steward_side"

typedef enum MigKind
{
	MIG_PAIR,					/* old column -> new column (type, constraints, name) */
	MIG_ADDED,					/* new column only */
	MIG_DROPPED,				/* old column only */
	MIG_RENAMED					/* one column, two names */
} MigKind;

typedef struct MigCol
{
	MigKind		kind;
	AttrNumber	old_att;		/* physical column of the old shape, or 0 */
	AttrNumber	new_att;		/* physical column of the new shape, or 0 */
	Expr	   *up;				/* old shape -> new_att, or NULL */
	Expr	   *down;			/* new shape -> old_att, or NULL */
	char	   *fill_sql;		/* an added column's "default" with no "up": what
								 * a row not backfilled yet gets, or NULL */
	Expr	   *fill;			/* fill_sql compiled (prepare_fill), or NULL */
	char	   *up_what;
	char	   *fill_what;
	char	   *down_what;
	char	   *label;			/* column "<new-shape name>" of relation "<table>", for errors */
	bool		not_null;		/* the step's "not_null": up may not give NULL */
	bool		up_is_default;	/* up reads no column: a default (default_keep) */
	bool		down_is_default;	/* down reads no column: a default */
	Bitmapset  *up_reads;		/* attribute numbers up reads (writer_reads_changed) */
	Bitmapset  *down_reads;		/* attribute numbers down reads */
} MigCol;

/*
 * A column's default as insert_wrote folds it, kept in the entry: it was
 * folded for each row inserted (build_column_default's parse of the
 * stored tree, a GUC nest level to run as the owner, eval_const_expressions),
 * about 5 us a row, more than half of a 1M-row INSERT's CPU in the new
 * shape (test/bench/migrate/results-insert-default.md).  Dropped with the entry on the relation's relcache invalidation
 * (any DDL on it: a new owner; the migration's guard refuses a new default
 * of its columns), and folded again after any function changed
 * (generation: a redefined immutable function may fold to another value).
 */
typedef enum MigDefaultKind
{
	MIG_DEFAULT_NONE,			/* build_column_default gives none: any value is written */
	MIG_DEFAULT_CONST,			/* folds to value / isnull */
	MIG_DEFAULT_VOLATILE		/* does not fold (now(), nextval): cannot be told apart */
} MigDefaultKind;

typedef struct MigDefault
{
	uint32		generation;		/* mig_proc_generation when folded; 0: not yet */
	MigDefaultKind kind;
	bool		isnull;
	Datum		value;			/* in the entry's context */
} MigDefault;

typedef struct MigEntry
{
	Oid			relid;			/* hash key */
	bool		valid;
	uint32		generation;
	MemoryContext cxt;
	bool		found;			/* an active migration changes this table */
	char		name[NAMEDATALEN];
	bool		switched;
	Oid			owner;
	Oid			new_nsp;
	Oid			old_nsp;
	AttrNumber	marker;
	int			ncols;
	MigCol	   *cols;
	/*
	 * Of the up and down expressions only, set when the entry is built and
	 * never changed after: every write reads them.  The fills' own are
	 * apart (MigExec.fill_pure), since a fill is compiled later
	 * (prepare_fill) and evaluated only in compute_shape's side 'f'.
	 */
	bool		text_search;	/* an up or down may read default_text_search_config */
	bool		pure;			/* every up and down is (steward_migrate_expr_is_pure) */
	int			ndefaults;		/* columns of the relation when allocated */
	MigDefault *defaults;		/* by attnum - 1, allocated on first use */
} MigEntry;

/* Per statement (fn_extra): the expressions ready to run. */
typedef struct MigExec
{
	Oid			relid;
	uint32		generation;
	MemoryContext cxt;			/* fn_mcxt: the statement's */
	ExprContext *econtext;
	TupleTableSlot *slot;
	ExprState **up;
	ExprState **down;
	ExprState **fill;			/* set up by prepare_fill */
	bool		fill_ready;
	bool		fill_text_search;	/* as MigEntry's, of the fills (prepare_fill) */
	bool		fill_pure;
	/* session_side's answer for this search_path string and user */
	char	   *side_path;
	Oid			side_user;
	char		side;
} MigExec;

static HTAB *mig_cache = NULL;
static uint32 mig_generation = 0;
/* Bumped by every pg_proc invalidation: the folded defaults fold again. */
static uint32 mig_proc_generation = 1;

static void
mig_proc_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	if (++mig_proc_generation == 0)
		mig_proc_generation = 1;
}

static void
mig_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	MigEntry   *entry;

	if (mig_cache == NULL)
		return;
	if (OidIsValid(relid))
	{
		entry = hash_search(mig_cache, &relid, HASH_FIND, NULL);
		if (entry)
			entry->valid = false;
		return;
	}
	hash_seq_init(&status, mig_cache);
	while ((entry = hash_seq_search(&status)) != NULL)
		entry->valid = false;
}

static char *
spi_text(int row, int col)
{
	return SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);
}

/* Copy a SPI text[] value as a C array of names (in the current context). */
static char **
spi_names(int row, int col, int *n)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);
	Datum	   *elems;
	bool	   *nulls;
	char	  **out;

	*n = 0;
	if (isnull)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(d), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, n);
	out = palloc(sizeof(char *) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
		out[i] = nulls[i] ? NULL : TextDatumGetCString(elems[i]);
	return out;
}

typedef struct ColText
{
	MigKind		kind;
	char	   *old_phys;
	char	   *new_phys;
	char	   *label;
	char	   *up_sql;
	char	  **up_phys;
	int			up_n;
	char	   *down_sql;
	char	  **down_phys;
	int			down_n;
	char	   *fill_sql;
	bool		not_null;
} ColText;

static AttrNumber
attnum_of(Relation rel, const char *name)
{
	AttrNumber	att = name ? get_attnum(RelationGetRelid(rel), name) : InvalidAttrNumber;

	return att > 0 ? att : InvalidAttrNumber;
}

static Expr *
compile_as_owner(Relation rel, Oid owner, const char *sql, char **phys, int n,
				 AttrNumber target, const char *what)
{
	AttrNumber *attnums = palloc(sizeof(AttrNumber) * Max(n, 1));
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), target - 1);
	StewardAsOwner user;
	Expr	   *expr;

	for (int k = 0; k < n; k++)
		attnums[k] = attnum_of(rel, phys[k]);
	steward_as_role_begin(owner, STEWARD_PINNED_SEARCH_PATH, false, &user);
	steward_pin_output_settings();
	steward_pin_all_rows();
	expr = steward_migrate_compile(rel, sql, n, attnums, att->atttypid, att->atttypmod, what);
	steward_as_owner_end(&user);
	return expr;
}

/*
 * The column steps of rel's active migration, read from the migration
 * catalog as its owner: a list of ColText in cxt, and the migration's name
 * (NULL: none) and whether it is switched in *name and *switched.  Errors:
 * elog ERROR when the catalog cannot be read.
 */
static List *
read_migration_columns(Relation rel, MemoryContext cxt, char **name, bool *switched)
{
	StewardAsOwner ctx;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(RelationGetRelid(rel))};
	List	   *cols = NIL;

	*name = NULL;
	*switched = false;
	steward_as_owner_begin(steward_relid("migration_runs", false), &ctx);

	/*
	 * In a snapshot taken now, not the writer's (review13 R13-12): the
	 * write's lock on the table waited for migration_start (or a phase
	 * change) to commit, but a REPEATABLE READ / SERIALIZABLE writer's
	 * snapshot can predate it; read there, the migration is missing and
	 * the row would be written in one shape, which the backfill then
	 * overwrites.  The table's columns come from the relcache, which is
	 * current: the catalog read must be too.  The entry is cached past
	 * this transaction, so it must not depend on its snapshot anyway.
	 */
	if (steward_spi_read_latest(
			"SELECT r.name, r.phase = 'switched', c.kind,"
			"       CASE WHEN r.phase = 'switched' THEN c.switched_old ELSE c.expand_old END,"
			"       CASE WHEN r.phase = 'switched' THEN c.switched_new ELSE c.expand_new END,"
			"       c.up_sql, steward._migration_physical(r.name, t.relid, 'old', c.up_params),"
			"       c.down_sql, steward._migration_physical(r.name, t.relid, 'new', c.down_params),"
			"       pg_catalog.format('column \"%s\" of relation \"%s\"', coalesce(c.new_name, c.old_name),"
			"                         (SELECT x.relname FROM pg_catalog.pg_class x WHERE x.oid = t.relid)),"
			"       c.not_null,"
			"       CASE WHEN c.kind = 'added' AND c.up_sql IS NULL THEN c.default_sql END"
			"  FROM steward.migration_tables t"
			"  JOIN steward.migration_runs r ON r.name = t.migration"
			"  LEFT JOIN steward.migration_columns c"
			"         ON c.migration = t.migration AND c.relid = t.relid"
			" WHERE t.relid = $1 AND t.active ORDER BY c.ord",
			1, argtypes, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the migration catalog");
	/* SPI_getvalue allocates in the current context: make it the caller's. */
	MemoryContextSwitchTo(cxt);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		char	   *kind = spi_text(r, 3);
		ColText    *ct;

		*name = spi_text(r, 1);
		*switched = strcmp(spi_text(r, 2), "t") == 0;
		if (kind == NULL)
			continue;			/* a table with no column steps (rename_table) */
		ct = palloc0(sizeof(ColText));
		ct->kind = strcmp(kind, "pair") == 0 ? MIG_PAIR :
			strcmp(kind, "added") == 0 ? MIG_ADDED :
			strcmp(kind, "dropped") == 0 ? MIG_DROPPED : MIG_RENAMED;
		ct->old_phys = spi_text(r, 4);
		ct->new_phys = spi_text(r, 5);
		ct->up_sql = spi_text(r, 6);
		ct->up_phys = spi_names(r, 7, &ct->up_n);
		ct->down_sql = spi_text(r, 8);
		ct->down_phys = spi_names(r, 9, &ct->down_n);
		ct->label = spi_text(r, 10);
		ct->not_null = spi_text(r, 11) != NULL && strcmp(spi_text(r, 11), "t") == 0;
		ct->fill_sql = spi_text(r, 12);
		cols = lappend(cols, ct);
	}
	steward_as_owner_end(&ctx);
	return cols;
}

/*
 * Fills entry's columns from the steps read (cols) of migration "name":
 * their attribute numbers in rel, and their up and down expressions
 * compiled as the table's owner (the owner's code, never run as anyone
 * else).  In the current memory context (the entry's).  Errors: the
 * expressions' compile errors, and 55000 when rel lacks the migration's
 * marker column.
 */
static void
fill_entry_columns(MigEntry *entry, Relation rel, List *cols, const char *name)
{
	ListCell   *lc;
	int			i = 0;

	entry->ncols = list_length(cols);
	entry->cols = palloc0(sizeof(MigCol) * Max(entry->ncols, 1));
	foreach(lc, cols)
	{
		ColText    *ct = lfirst(lc);
		MigCol	   *col = &entry->cols[i++];

		col->kind = ct->kind;
		col->old_att = attnum_of(rel, ct->old_phys);
		col->new_att = attnum_of(rel, ct->new_phys);
		col->label = ct->label;
		col->not_null = ct->not_null;
		col->up_is_default = ct->up_sql != NULL && ct->up_n == 0;
		col->down_is_default = ct->down_sql != NULL && ct->down_n == 0;
		for (int k = 0; k < ct->up_n; k++)
			if (attnum_of(rel, ct->up_phys[k]) != InvalidAttrNumber)
				col->up_reads = bms_add_member(col->up_reads, attnum_of(rel, ct->up_phys[k]));
		for (int k = 0; k < ct->down_n; k++)
			if (attnum_of(rel, ct->down_phys[k]) != InvalidAttrNumber)
				col->down_reads = bms_add_member(col->down_reads, attnum_of(rel, ct->down_phys[k]));
		col->up_what = psprintf("up expression of %s in migration \"%s\"", ct->label, name);
		col->down_what = psprintf("down expression of %s in migration \"%s\"", ct->label, name);
		if (ct->up_sql && col->new_att)
			col->up = compile_as_owner(rel, entry->owner, ct->up_sql, ct->up_phys,
									   ct->up_n, col->new_att, col->up_what);
		if (ct->down_sql && col->old_att)
			col->down = compile_as_owner(rel, entry->owner, ct->down_sql, ct->down_phys,
										 ct->down_n, col->old_att, col->down_what);
		col->fill_what = psprintf("default of %s in migration \"%s\"", ct->label, name);
		col->fill_sql = col->new_att ? ct->fill_sql : NULL;
		entry->text_search |= steward_migrate_expr_reads_text_search((Node *) col->up) ||
			steward_migrate_expr_reads_text_search((Node *) col->down);
		entry->pure &= steward_migrate_expr_is_pure((Node *) col->up) &&
			steward_migrate_expr_is_pure((Node *) col->down);
	}
	if (entry->marker == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" lacks column %s of migration \"%s\"",
						RelationGetRelationName(rel), MIG_MARKER, name),
				 errhint("Roll the migration back with steward.migration_rollback(%s).",
						 quote_literal_cstr(name))));
}

/*
 * (Re)build the cache entry of a relation from the migration catalog
 * (read_migration_columns), in a fresh memory context under
 * CacheMemoryContext.  An entry left by an error stays invalid and is
 * built again on next use.
 *
 * The old entry's context is not freed before the transaction ends
 * (mig14 M5): a write of this transaction may be using it, its
 * statement's ExprStates (MigExec) pointing into its expressions, when a
 * write nested in that write's up or down (a function inserting into its
 * own table) finds the entry invalidated by a relcache message read
 * meanwhile (an ANALYZE, its own or a concurrent one) and rebuilds it:
 * freed there, the outer write went on evaluating freed expressions
 * (SIGSEGV).  The rebuilt entry is the same migration's (the catalog of
 * a table a statement is writing cannot change meanwhile: a phase change
 * takes ACCESS EXCLUSIVE), so the outer write may read either.
 */
static void
build_entry(MigEntry *entry, Relation rel)
{
	MemoryContext old;
	List	   *cols;
	char	   *name;
	bool		switched;

	if (entry->cxt && IsTransactionState())
		MemoryContextSetParent(entry->cxt, TopTransactionContext);
	else if (entry->cxt)
		MemoryContextDelete(entry->cxt);
	entry->cxt = AllocSetContextCreate(CacheMemoryContext, "steward migration trigger",
									   ALLOCSET_SMALL_SIZES);
	entry->found = false;
	entry->ncols = 0;
	entry->cols = NULL;
	entry->text_search = false;
	entry->pure = true;
	entry->ndefaults = 0;
	entry->defaults = NULL;
	entry->generation = ++mig_generation;

	old = MemoryContextSwitchTo(entry->cxt);
	cols = read_migration_columns(rel, entry->cxt, &name, &switched);
	if (name != NULL)
	{
		entry->found = true;
		strlcpy(entry->name, name, NAMEDATALEN);
		entry->switched = switched;
		entry->owner = rel->rd_rel->relowner;
		entry->new_nsp = get_namespace_oid(name, true);
		entry->old_nsp = get_namespace_oid(psprintf("%s_old", name), true);
		entry->marker = attnum_of(rel, MIG_MARKER);
		fill_entry_columns(entry, rel, cols, name);
	}
	MemoryContextSwitchTo(old);
	entry->valid = true;
}

static MigEntry *
get_entry(Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	MigEntry   *entry;
	bool		found;

	if (mig_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(MigEntry);
		ctl.hcxt = CacheMemoryContext;
		mig_cache = hash_create("steward migration triggers", 16, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(mig_relcache_callback, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, mig_proc_callback, (Datum) 0);
	}
	entry = hash_search(mig_cache, &relid, HASH_ENTER, &found);
	if (!found)
	{
		entry->cxt = NULL;
		entry->valid = false;
	}
	if (!entry->valid)
		build_entry(entry, rel);
	return entry;
}

/*
 * 'n' or 'o' when a migration schema of this entry is on the search_path,
 * else 0.  Remembered in the statement's ex for the search_path string
 * and user it was found for: the trigger's own pin and its rollback for
 * each row make the search_path's next use resolve its names again
 * (namespace.c), which cost more than the rest of session_side.
 */
static char
session_side(MigEntry *entry, MigExec *ex)
{
	Oid			path[32];
	int			n;
	char		side = 0;

	if (ex->side_path != NULL && ex->side_user == GetUserId() &&
		strcmp(ex->side_path, namespace_search_path) == 0)
		return ex->side;
	n = fetch_search_path_array(path, lengthof(path));
	for (int i = 0; i < Min(n, (int) lengthof(path)) && side == 0; i++)
	{
		if (OidIsValid(entry->new_nsp) && path[i] == entry->new_nsp)
			side = 'n';
		else if (OidIsValid(entry->old_nsp) && path[i] == entry->old_nsp)
			side = 'o';
	}
	if (ex->side_path != NULL)
		pfree(ex->side_path);
	ex->side_path = MemoryContextStrdup(ex->cxt, namespace_search_path);
	ex->side_user = GetUserId();
	ex->side = side;
	return side;
}

static bool
att_changed(TupleDesc desc, HeapTuple oldtup, HeapTuple newtup, AttrNumber att)
{
	Form_pg_attribute a;
	bool		n1,
				n2;
	Datum		d1,
				d2;

	if (att == InvalidAttrNumber)
		return false;
	a = TupleDescAttr(desc, att - 1);
	d1 = heap_getattr(oldtup, att, desc, &n1);
	d2 = heap_getattr(newtup, att, desc, &n2);
	if (n1 || n2)
		return n1 != n2;
	return !datum_image_eq(d1, d2, a->attbyval, a->attlen);
}

static bool
att_set(TupleDesc desc, HeapTuple tup, AttrNumber att)
{
	return att != InvalidAttrNumber && !heap_attisnull(tup, att, desc);
}

static MigExec *
get_exec(FunctionCallInfo fcinfo, Relation rel, MigEntry *entry)
{
	MigExec    *ex = (MigExec *) fcinfo->flinfo->fn_extra;
	MemoryContext old;
	StewardAsOwner user;

	if (ex && ex->relid == entry->relid && ex->generation == entry->generation)
		return ex;

	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	if (ex == NULL)
		ex = palloc0(sizeof(MigExec));
	ex->relid = entry->relid;
	ex->generation = entry->generation;
	ex->cxt = fcinfo->flinfo->fn_mcxt;
	if (ex->side_path != NULL)
		pfree(ex->side_path);
	ex->side_path = NULL;		/* another entry's schemas */
	if (ex->econtext == NULL)
		ex->econtext = CreateStandaloneExprContext();
	/* A copy: a slot on the relation's own descriptor would pin it. */
	ex->slot = MakeSingleTupleTableSlot(CreateTupleDescCopy(RelationGetDescr(rel)),
										&TTSOpsHeapTuple);
	ex->up = palloc0(sizeof(ExprState *) * Max(entry->ncols, 1));
	ex->down = palloc0(sizeof(ExprState *) * Max(entry->ncols, 1));
	ex->fill = palloc0(sizeof(ExprState *) * Max(entry->ncols, 1));
	ex->fill_ready = false;
	ex->fill_text_search = true;	/* prepare_fill sets them */
	ex->fill_pure = false;

	/* ExecInitExpr checks EXECUTE on the functions used: as the owner. */
	steward_as_role_begin(entry->owner, STEWARD_PINNED_SEARCH_PATH, false, &user);
	for (int i = 0; i < entry->ncols; i++)
	{
		if (entry->cols[i].up)
			ex->up[i] = ExecInitExpr(entry->cols[i].up, NULL);
		if (entry->cols[i].down)
			ex->down[i] = ExecInitExpr(entry->cols[i].down, NULL);
	}
	steward_as_owner_end(&user);
	MemoryContextSwitchTo(old);
	fcinfo->flinfo->fn_extra = ex;
	return ex;
}

static void
expr_context(void *arg)
{
	errcontext("%s", (const char *) arg);
}

/*
 * Is the row an UPDATE changes one the backfill has not filled (marker
 * NULL)?  Its new shape reads as NULL until then.  An UPDATE that sets
 * a column the migration computes with up to NULL in such a row, and
 * changes no old-shape column (old_changed: then it is an old-shape
 * write, up fills the column), is refused (55000): it may have computed
 * that NULL from the NULL it read ("cents = cents + 7"), and taken for an
 * unchanged column it would be replaced by up(old), reporting success
 * for a write that never happened.  *derived_set: the UPDATE sets such a
 * column to a value.
 */
static bool
check_unfilled_write(TriggerData *td, MigEntry *entry, bool old_changed, bool *derived_set)
{
	Relation	rel = td->tg_relation;
	TupleDesc	desc = RelationGetDescr(rel);
	bool		isnull;
	char	   *key;

	*derived_set = false;
	(void) heap_getattr(td->tg_trigtuple, entry->marker, desc, &isnull);
	if (!isnull)
		return false;
	for (int i = 0; i < entry->ncols && td->tg_updatedcols != NULL; i++)
	{
		MigCol	   *c = &entry->cols[i];

		if (c->up == NULL || c->new_att == InvalidAttrNumber ||
			!bms_is_member(c->new_att - FirstLowInvalidHeapAttributeNumber, td->tg_updatedcols))
			continue;
		if (att_set(desc, td->tg_newtuple, c->new_att))
		{
			*derived_set = true;
			continue;
		}
		if (old_changed)
			continue;			/* an old-shape write: up fills it */
		key = steward_row_key_desc(rel, td->tg_trigtuple);
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot set %s to NULL in a row that migration \"%s\" has not backfilled yet",
						c->label, entry->name),
				 errdetail("Row key: %s. Until the backfill fills the row, its new columns read as NULL, "
						   "so the value may have been computed from that NULL.", key ? key : "unknown"),
				 errhint("Backfill first: CALL steward.migration_backfill(%s); or write the row in the old shape.",
						 quote_literal_cstr(entry->name))));
	}
	return true;
}

/*
 * Compile and set up the "default" of each added column with no "up"
 * (MigCol.fill), as the table's owner, on the first write of a row not
 * backfilled yet in the statement: only then, since compiling folds a
 * constant default, and one that never fits the column (a 'toolong'::text
 * default of a varchar(3)) fails for every write then, where the table's
 * default fails only for the INSERTs that use it.  Compiled once per
 * cache entry (MigCol.fill, read by nothing else), set up once per
 * statement, with the settings they need in ex->fill_pure and
 * ex->fill_text_search (compute_shape's side 'f').  Errors: the compile
 * errors of the default (the backfill meets them too).
 */
static void
prepare_fill(MigEntry *entry, MigExec *ex, Relation rel)
{
	MemoryContext old;
	StewardAsOwner user;

	if (ex->fill_ready)
		return;
	old = MemoryContextSwitchTo(entry->cxt);
	for (int i = 0; i < entry->ncols; i++)
	{
		MigCol	   *c = &entry->cols[i];

		if (c->fill_sql == NULL || c->fill != NULL)
			continue;
		c->fill = compile_as_owner(rel, entry->owner, c->fill_sql, NULL, 0,
								   c->new_att, c->fill_what);
	}
	MemoryContextSwitchTo(ex->cxt);

	/*
	 * The fills' flags go to this statement's ex, not to the entry's
	 * (mig14): those are read by every write of the table, and were set
	 * for the up and down expressions these never evaluate.
	 */
	ex->fill_text_search = false;
	ex->fill_pure = true;
	/* ExecInitExpr checks EXECUTE on the functions used: as the owner. */
	steward_as_role_begin(entry->owner, STEWARD_PINNED_SEARCH_PATH, false, &user);
	for (int i = 0; i < entry->ncols; i++)
	{
		Node	   *fill = (Node *) entry->cols[i].fill;

		if (fill == NULL)
			continue;
		ex->fill[i] = ExecInitExpr((Expr *) fill, NULL);
		ex->fill_text_search |= steward_migrate_expr_reads_text_search(fill);
		ex->fill_pure &= steward_migrate_expr_is_pure(fill);
	}
	steward_as_owner_end(&user);
	MemoryContextSwitchTo(old);
	ex->fill_ready = true;
}

/*
 * tup with the other shape's columns computed, as the table's owner (value settings pinned), from
 * the shape side it is written in ('o': new columns := up, 'n': old
 * columns := down; 'f': the added columns with a "default" and no "up"
 * := their default, what the backfill gives a row not filled yet), except the columns in keep (attribute numbers offset
 * by FirstLowInvalidHeapAttributeNumber, as tg_updatedcols); with marker,
 * the marker set to side.
 */
static HeapTuple
compute_shape(MigEntry *entry, MigExec *ex, TupleDesc desc, HeapTuple tup, char side,
			  const Bitmapset *keep, bool marker)
{
	int			nrepl = 0;
	int		   *replcols = palloc(sizeof(int) * (entry->ncols + 1));
	Datum	   *replvalues = palloc(sizeof(Datum) * (entry->ncols + 1));
	bool	   *replnulls = palloc(sizeof(bool) * (entry->ncols + 1));
	StewardAsOwner user;
	ErrorContextCallback cb;
	bool		pure = side == 'f' ? ex->fill_pure : entry->pure;
	bool		text_search = side == 'f' ? ex->fill_text_search : entry->text_search;

	ExecStoreHeapTuple(tup, ex->slot, false);
	ex->econtext->ecxt_scantuple = ex->slot;

	/*
	 * As the owner, with the backfill's and validation's values: pure
	 * expressions need only the settings they read to be at those values
	 * (then no GUC nest level: its rollback scans every setting, and the
	 * search_path pin is parsed, for each row); the others get the pins,
	 * default_text_search_config only when they may read it (it costs a
	 * catalog lookup), and read every row a table has.
	 */
	if (pure && steward_output_settings_pinned(true))
		steward_as_role_switch(entry->owner, &user);
	else
	{
		steward_as_role_begin(entry->owner, STEWARD_PINNED_SEARCH_PATH, false, &user);
		steward_pin_output_settings_but(!text_search);
		steward_pin_all_rows();
	}
	cb.callback = expr_context;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	for (int i = 0; i < entry->ncols; i++)
	{
		MigCol	   *c = &entry->cols[i];
		ExprState  *state = NULL;
		AttrNumber	att = InvalidAttrNumber;

		if (side == 'o' && (c->kind == MIG_PAIR || c->kind == MIG_ADDED) && ex->up[i])
		{
			state = ex->up[i];
			att = c->new_att;
			cb.arg = c->up_what;
		}
		else if (side == 'n' && (c->kind == MIG_PAIR || c->kind == MIG_DROPPED) && ex->down[i])
		{
			state = ex->down[i];
			att = c->old_att;
			cb.arg = c->down_what;
		}
		else if (side == 'f' && ex->fill[i])
		{
			state = ex->fill[i];
			att = c->new_att;
			cb.arg = c->fill_what;
		}
		if (state == NULL ||
			bms_is_member(att - FirstLowInvalidHeapAttributeNumber, keep))
			continue;
		replcols[nrepl] = att;
		replvalues[nrepl] = ExecEvalExprSwitchContext(state, ex->econtext, &replnulls[nrepl]);

		/*
		 * The new column's NOT VALID check would refuse the row too, naming
		 * only its constraint (review10 F4): say which migration's step and
		 * what to do.
		 */
		if (side == 'o' && c->not_null && replnulls[nrepl])
			ereport(ERROR,
					(errcode(ERRCODE_CHECK_VIOLATION),
					 errmsg("the up expression of %s gives NULL for this row, and migration \"%s\" makes it NOT NULL",
							c->label, entry->name),
					 errdetail("A write in the old shape gets the new column from up; the step's \"not_null\" refuses NULL there."),
					 errhint("Write a value up maps to a non-NULL one, or roll the migration back (SELECT steward.migration_rollback(%s);).",
							 quote_literal_cstr(entry->name))));
		nrepl++;
	}
	error_context_stack = cb.previous;
	steward_as_owner_end(&user);

	if (marker)
	{
		replcols[nrepl] = entry->marker;
		replvalues[nrepl] = CharGetDatum(side);
		replnulls[nrepl] = false;
		nrepl++;
	}
	tup = heap_modify_tuple_by_cols(tup, desc, nrepl, replcols, replvalues, replnulls);
	ExecClearTuple(ex->slot);
	ResetExprContext(ex->econtext);
	return tup;
}

/*
 * Are two values of column a equal?  By the type's default equality
 * operator (numeric 2.00 = 2.000) under the column's collation, else by
 * their images.  NULL equals only NULL.
 */
static bool
shape_values_equal(Form_pg_attribute a, Datum d1, bool n1, Datum d2, bool n2)
{
	TypeCacheEntry *tc;

	if (n1 || n2)
		return n1 == n2;
	if (datum_image_eq(d1, d2, a->attbyval, a->attlen))
		return true;
	tc = lookup_type_cache(a->atttypid, TYPECACHE_EQ_OPR_FINFO);
	if (!OidIsValid(tc->eq_opr_finfo.fn_oid))
		return false;
	return DatumGetBool(FunctionCall2Coll(&tc->eq_opr_finfo, a->attcollation, d1, d2));
}

/*
 * Column att's default (att has one: atthasdef) folded as insert_wrote
 * needs it, from entry's cache, folded first if need be.  The default is
 * the owner's code, and an INSERT that gives the column a value never
 * runs it: folding it (which runs its immutable functions) happens as the
 * owner, with search_path pinned, as up and down do (compute_shape), never
 * as the inserting role (e5e792e), and once per entry and function
 * generation rather than once per row (evolve11: a GUC nest level and a
 * fold per row).  Errors: those of the owner's functions when folded.
 */
static const MigDefault *
folded_default(MigEntry *entry, Relation rel, AttrNumber att)
{
	Form_pg_attribute a = TupleDescAttr(RelationGetDescr(rel), att - 1);
	MigDefault *d;
	Node	   *def;
	StewardAsOwner user;
	MemoryContext old;
	uint32		gen;

	if (entry->defaults == NULL || att > entry->ndefaults)
	{
		int			n = RelationGetNumberOfAttributes(rel);
		MigDefault *grown = MemoryContextAllocZero(entry->cxt, sizeof(MigDefault) * n);

		if (entry->defaults != NULL)
		{
			memcpy(grown, entry->defaults, sizeof(MigDefault) * entry->ndefaults);
			pfree(entry->defaults);
		}
		entry->defaults = grown;
		entry->ndefaults = n;
	}
	d = &entry->defaults[att - 1];
	if (d->generation == mig_proc_generation)
		return d;

	if (d->kind == MIG_DEFAULT_CONST && !d->isnull && !a->attbyval)
		pfree(DatumGetPointer(d->value));
	d->generation = 0;			/* until folded: an error leaves it to fold again */
	d->kind = MIG_DEFAULT_NONE;

	/*
	 * The generation of the definitions folded below, read before folding:
	 * a pg_proc invalidation taken in while folding (a catalog lock accepts
	 * invalidations) must leave the result stale, not stamp a fold of the
	 * old definition as current (codereview15 C3).
	 */
	gen = mig_proc_generation;
	def = build_column_default(rel, att);
	if (def != NULL)
	{
		steward_as_role_begin(entry->owner, STEWARD_PINNED_SEARCH_PATH, false, &user);
		def = eval_const_expressions(NULL, def);
		steward_as_owner_end(&user);
		d->kind = MIG_DEFAULT_VOLATILE;
		if (IsA(def, Const))
		{
			d->kind = MIG_DEFAULT_CONST;
			d->isnull = ((Const *) def)->constisnull;
			old = MemoryContextSwitchTo(entry->cxt);
			d->value = d->isnull ? (Datum) 0 :
				datumCopy(((Const *) def)->constvalue, a->attbyval, a->attlen);
			MemoryContextSwitchTo(old);
		}
	}
	d->generation = gen;
	return d;
}

/*
 * Did the statement write column att of the row it inserts?  A trigger
 * sees the row with the defaults filled in, so: a value, other than the
 * one the column's constant default gives (folded_default).  A column
 * whose default is not a constant (now(), nextval) counts as not
 * written: it cannot be told from its default.
 */
static bool
insert_wrote(MigEntry *entry, Relation rel, HeapTuple tup, AttrNumber att)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Form_pg_attribute a = TupleDescAttr(desc, att - 1);
	bool		isnull;
	Datum		d = heap_getattr(tup, att, desc, &isnull);
	const MigDefault *def;

	if (isnull)
		return false;
	if (!a->atthasdef)
		return true;
	def = folded_default(entry, rel, att);
	if (def->kind == MIG_DEFAULT_NONE)
		return true;
	if (def->kind == MIG_DEFAULT_VOLATILE)
		return false;
	return !shape_values_equal(a, d, false, def->value, def->isnull);
}

/*
 * Refuse a write that sets both shapes to values that disagree (review26
 * R7): result is written, the row the statement wrote (after the user's
 * BEFORE triggers), with the other shape computed from side.  A column
 * the statement also wrote itself (UPDATE: changed from oldtup; INSERT:
 * insert_wrote) must hold the value computed for it, else one of the two
 * values the user wrote would be dropped without a word, and which one
 * would depend on the statement (an INSERT took the new shape's, an
 * UPDATE the old one's).  Errors: 23514.
 */
static void
check_both_shapes(MigEntry *entry, Relation rel, HeapTuple written, HeapTuple oldtup,
				  HeapTuple result, char side)
{
	TupleDesc	desc = RelationGetDescr(rel);

	for (int i = 0; i < entry->ncols; i++)
	{
		MigCol	   *c = &entry->cols[i];
		AttrNumber	att;
		AttrNumber	from;
		bool		n1,
					n2;
		Datum		d1,
					d2;

		if (side == 'o' && (c->kind == MIG_PAIR || c->kind == MIG_ADDED) && c->up)
			att = c->new_att, from = c->old_att;
		else if (side == 'n' && (c->kind == MIG_PAIR || c->kind == MIG_DROPPED) && c->down)
			att = c->old_att, from = c->new_att;
		else
			continue;
		if (att == InvalidAttrNumber ||
			!(oldtup ? att_changed(desc, oldtup, written, att) : insert_wrote(entry, rel, written, att)))
			continue;
		d1 = heap_getattr(written, att, desc, &n1);
		d2 = heap_getattr(result, att, desc, &n2);
		if (shape_values_equal(TupleDescAttr(desc, att - 1), d1, n1, d2, n2))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 from != InvalidAttrNumber ?
				 errmsg("this %s writes both column \"%s\" and column \"%s\" of relation \"%s\", with values that disagree under migration \"%s\"",
						oldtup ? "UPDATE" : "INSERT",
						NameStr(TupleDescAttr(desc, from - 1)->attname),
						NameStr(TupleDescAttr(desc, att - 1)->attname),
						RelationGetRelationName(rel), entry->name) :
				 errmsg("this %s writes both column \"%s\" of relation \"%s\" and the %s shape it is computed from, with values that disagree under migration \"%s\"",
						oldtup ? "UPDATE" : "INSERT",
						NameStr(TupleDescAttr(desc, att - 1)->attname),
						RelationGetRelationName(rel), side == 'o' ? "old" : "new", entry->name),
				 errdetail("The %s expression computes column \"%s\" from the %s shape written, and gives another value than the one written to it.",
						   side == 'o' ? "up" : "down",
						   NameStr(TupleDescAttr(desc, att - 1)->attname),
						   side == 'o' ? "old" : "new"),
				 errhint("Write one shape only, the old columns or the new ones; the migration computes the other.")));
	}
}

/*
 * The columns of the other shape whose up (side 'o') or down (side 'n')
 * reads no column, which a write keeps as they are (compute_shape's keep),
 * as attribute numbers offset by FirstLowInvalidHeapAttributeNumber
 * (mig14 M4).  Such an expression is a default, not a mapping: it has no
 * value of this shape to follow, so computing it again at each write
 * overwrote what the other application had written there ("currency"
 * set to 'USD' by the new application went back to up's 'EUR' at the old
 * application's next UPDATE of the row; a dropped "note" went to down's
 * 'n/a').  It is computed when the row gets its first value of that
 * column: an INSERT that does not write it itself (insert_wrote), and the
 * first old-shape write of a row not backfilled yet (unfilled) that does
 * not set it, as the backfill computes it; every other UPDATE keeps it.
 * Validation does not compare such columns (_migration_values_check).
 */
static Bitmapset *
default_keep(MigEntry *entry, Relation rel, HeapTuple written, HeapTuple oldtup,
			 char side, bool unfilled)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Bitmapset  *keep = NULL;

	for (int i = 0; i < entry->ncols; i++)
	{
		MigCol	   *c = &entry->cols[i];
		AttrNumber	att;

		if (side == 'o' && c->up_is_default)
			att = c->new_att;
		else if (side == 'n' && c->down_is_default)
			att = c->old_att;
		else
			continue;
		if (att == InvalidAttrNumber)
			continue;
		if (oldtup == NULL ? !insert_wrote(entry, rel, written, att) :
			(unfilled && side == 'o' && !att_changed(desc, oldtup, written, att)))
			continue;
		keep = bms_add_member(keep, att - FirstLowInvalidHeapAttributeNumber);
	}
	return keep;
}

/*
 * Refuse a row whose new column of a "not_null" step is NULL after the
 * mapping (newcomer45 N10): a new-shape write of an explicit NULL there.
 * Until complete adds the column's NOT NULL constraint, a NOT VALID check
 * stands for it and refused the row with 23514 naming that check, where
 * the column the application sees as NOT NULL gives 23502: raised here
 * with core's code and wording, the column named as the new shape names
 * it.  An old-shape write whose up gives NULL is refused before
 * (compute_shape, 23514 naming the migration).  After complete the
 * column has its constraint, which core checks.  The DETAIL names the
 * row by its key, as core's "Failing row contains (...)" names it, when
 * the writer may read the key's columns (steward_row_key_desc: core's
 * rule, no row security, SELECT on the table or those columns; mig16);
 * this opens the key index with AccessShareLock.  Errors: 23502.
 */
static void
check_not_null(MigEntry *entry, Relation rel, HeapTuple tup)
{
	TupleDesc	desc = RelationGetDescr(rel);
	char	   *key;

	if (entry->switched)
		return;					/* complete added the constraint: core says it */
	for (int i = 0; i < entry->ncols; i++)
	{
		MigCol	   *c = &entry->cols[i];

		if (!c->not_null || c->new_att == InvalidAttrNumber ||
			!heap_attisnull(tup, c->new_att, desc))
			continue;
		/* The row, as core's "Failing row contains", if the writer may read its key. */
		key = steward_row_key_desc(rel, tup);
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("null value in %s violates not-null constraint", c->label),
				 key ?
				 errdetail("Failing row key: %s. Migration \"%s\" makes the column NOT NULL; the constraint is added at complete, a check stands for it until then.",
						   key, entry->name) :
				 errdetail("Migration \"%s\" makes the column NOT NULL; the constraint is added at complete, a check stands for it until then.",
						   entry->name),
				 errtable(rel)));
	}
}

/*
 * Does an UPDATE that changes neither shape's columns (only columns both
 * shapes share) change a column that an expression of the writer's shape
 * reads: an up when side is 'o', a down when 'n' (mig16)?  Then the write
 * is in the writer's shape, not the one the row was last written in: the
 * old application's "SET price = 5" must give "total" up's "price * qty"
 * again, also in a row the new application wrote last, where the marker
 * alone kept the total of the old price (stale, and validation, which
 * checks such a row with down only, never saw it).  An up or down that
 * reads no column (a default) reads nothing here, so it stays kept.
 */
static bool
writer_reads_changed(MigEntry *entry, TupleDesc desc, HeapTuple oldtup, HeapTuple newtup,
					 char side)
{
	for (int i = 0; i < entry->ncols; i++)
	{
		MigCol	   *c = &entry->cols[i];
		Bitmapset  *reads;
		int			att = -1;

		if (side == 'o' && (c->kind == MIG_PAIR || c->kind == MIG_ADDED) && c->up)
			reads = c->up_reads;
		else if (side == 'n' && (c->kind == MIG_PAIR || c->kind == MIG_DROPPED) && c->down)
			reads = c->down_reads;
		else
			continue;
		while ((att = bms_next_member(reads, att)) >= 0)
			if (att_changed(desc, oldtup, newtup, (AttrNumber) att))
				return true;
	}
	return false;
}

/*
 * The shape of an UPDATE (the file header's rules), session being
 * session_side's answer; *unfilled: the row is one the backfill has not
 * filled yet (check_unfilled_write, whose 55000 this raises).
 */
static char
update_side(TriggerData *td, MigEntry *entry, char session, bool *unfilled)
{
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	HeapTuple	oldtup = td->tg_trigtuple;
	HeapTuple	newtup = td->tg_newtuple;
	char		writer = session ? session : (entry->switched ? 'n' : 'o');
	bool		old_changed = false;
	bool		new_changed = false;
	bool		derived_set;
	bool		isnull;
	Datum		m;

	for (int i = 0; i < entry->ncols; i++)
	{
		MigCol	   *c = &entry->cols[i];

		if (c->kind == MIG_PAIR || c->kind == MIG_DROPPED)
			old_changed |= att_changed(desc, oldtup, newtup, c->old_att);
		if (c->kind == MIG_PAIR || c->kind == MIG_ADDED)
			new_changed |= att_changed(desc, oldtup, newtup, c->new_att);
	}
	*unfilled = check_unfilled_write(td, entry, old_changed, &derived_set);
	if (*unfilled && !derived_set)
		return 'o';				/* no new shape to map from yet */
	if (old_changed && !new_changed)
		return 'o';
	if (new_changed && !old_changed)
		return 'n';
	if (old_changed)
		return writer;			/* both: as for an INSERT */

	/*
	 * Only shared columns changed: the writer's shape when its expressions
	 * read one of them (writer_reads_changed), else the row's last shape,
	 * so that an unrelated update never converts a row through a lossy
	 * round trip.
	 */
	if (writer_reads_changed(entry, desc, oldtup, newtup, writer))
		return writer;
	m = heap_getattr(oldtup, entry->marker, desc, &isnull);
	return isnull ? 'o' : DatumGetChar(m);
}

/*
 * The shape of an INSERT on no migration schema's search_path: before
 * the switch new if a new column of a changed column is set (the table
 * gives them no default), else old; after it the same, roles reversed.
 */
static char
insert_side(MigEntry *entry, TupleDesc desc, HeapTuple newtup)
{
	char		side = entry->switched ? 'n' : 'o';

	for (int i = 0; i < entry->ncols; i++)
	{
		MigCol	   *c = &entry->cols[i];

		if (c->kind != MIG_PAIR)
			continue;
		if (!entry->switched && att_set(desc, newtup, c->new_att))
			side = 'n';
		if (entry->switched && att_set(desc, newtup, c->old_att))
			side = 'o';
	}
	return side;
}

/*
 * steward._migration_trigger(): see the file header.  Returns the row with
 * the other shape's columns and the marker filled in.  Errors raised by up
 * or down abort the write, as a failing CHECK would.
 *
 * Locks: none of its own on the table (the writing statement holds it).
 * Building the backend's cache entry (first write of the table, or after
 * a relcache invalidation: DDL, a phase change) reads migration_tables,
 * migration_runs and migration_columns as the catalog's owner in a
 * snapshot taken now, keeping AccessShareLock on them to transaction end;
 * a cached entry reads nothing.  Errors: 39P01 when not fired BEFORE
 * INSERT OR UPDATE FOR EACH ROW; 23514 when up gives NULL for a step with
 * "not_null"; 23502 when a new-shape write leaves such a column NULL
 * (check_not_null); 23514 when the write sets both shapes to values that disagree
 * (check_both_shapes); 55000 for an UPDATE that sets a computed column to NULL in
 * a row not backfilled yet, or a table lacking the marker column; the
 * compile errors of up and down (42703 for a column dropped by hand) and
 * 42501 when the owner may no longer execute a function they call, or when
 * row security would filter a table up or down reads (row_security off); what
 * up and down raise, run as the owner.  No active migration on the table:
 * a WARNING (55000) and the row unchanged.
 */
Datum
steward_migration_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	desc;
	HeapTuple	newtup;
	HeapTuple	oldtup = NULL;
	HeapTuple	written;
	MigEntry   *entry;
	MigExec    *ex;
	char		side;
	char		session;
	bool		unfilled = false;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || TRIGGER_FIRED_BY_DELETE(td->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._migration_trigger() must fire BEFORE INSERT OR UPDATE FOR EACH ROW")));
	rel = td->tg_relation;
	desc = RelationGetDescr(rel);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		oldtup = td->tg_trigtuple;
		newtup = td->tg_newtuple;
	}
	else
		newtup = td->tg_trigtuple;

	if (steward_migration_backfilling_rows(RelationGetRelid(rel)))
		return PointerGetDatum(newtup);

	entry = get_entry(rel);
	if (!entry->found)
	{
		/*
		 * A restore loading data (pg_dump's scripts set
		 * check_function_bodies off) may load the table before steward's
		 * catalog: its rows carry both shapes and the marker already.
		 */
		if (!check_function_bodies)
			return PointerGetDatum(newtup);
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no active migration changes relation \"%s\"; its migration trigger writes rows unchanged",
						RelationGetRelationName(rel)),
				 errhint("If the table came without its migration's record (a partial dump, or a "
						 "restore that could not write steward's catalog), "
						 "steward.migration_forget(%s) removes what the migration left on the table.",
						 steward_migration_forget_target(rel, td->tg_trigger))));
		return PointerGetDatum(newtup);
	}

	/* Which shape is this write in? */
	ex = get_exec(fcinfo, rel, entry);
	session = session_side(entry, ex);
	if (oldtup == NULL)
		side = session ? session : insert_side(entry, desc, newtup);
	else
		side = update_side(td, entry, session, &unfilled);
	if (side != 'o' && side != 'n')
		side = 'o';

	/*
	 * Compute the other shape from this one, as the table's owner.  A row
	 * not filled yet first gets what the backfill would have given the
	 * new columns the UPDATE did not set: their defaults (newcomer44 P1:
	 * else an old-shape UPDATE of it wrote NULL into a NOT NULL column),
	 * and in the new shape up(row).
	 */
	written = newtup;
	if (unfilled)
	{
		prepare_fill(entry, ex, rel);
		newtup = compute_shape(entry, ex, desc, newtup, 'f', td->tg_updatedcols, false);
	}
	if (unfilled && side == 'n')
		newtup = compute_shape(entry, ex, desc, newtup, 'o', td->tg_updatedcols, false);
	newtup = compute_shape(entry, ex, desc, newtup, side,
						   default_keep(entry, rel, written, oldtup, side, unfilled), true);
	check_both_shapes(entry, rel, written, oldtup, newtup, side);
	check_not_null(entry, rel, newtup);
	return PointerGetDatum(newtup);
}

/*
 * True when a trigger named tgname of type tgtype (pg_trigger.tgtype) on a
 * table a column migration changes would fire after the dual-write
 * trigger on a row written: a BEFORE ROW trigger on INSERT or UPDATE
 * whose name sorts after STEWARD_DUAL_WRITE_TRIGGER, since PostgreSQL
 * fires a table's BEFORE ROW triggers in name order (strcmp: "zzz_norm",
 * "über", "zz_t").
 * Such a trigger changes the row after up or down mapped it, so the two
 * shapes disagree for every row it changes (review26 R1): validation
 * fails for ever before complete, and after it a rollback silently gives
 * the old application down() of the value before the trigger.  The
 * migration's own triggers are not such triggers: known by their function
 * tgfoid, one of pg_steward's in schema steward (where no other role may
 * create one), not by their zz_steward_ names, which a user's trigger may
 * carry too (codereview14 S1: a user's BEFORE trigger renamed to
 * zz_steward_zzz, or so named before start, fired after the dual write).
 * tgfoid InvalidOid (a trigger function not found) is the user's.  Reads
 * the function's pg_proc row; takes no lock, raises nothing.
 */
bool
steward_fires_after_dual_write(const char *tgname, int16 tgtype, Oid tgfoid)
{
	return TRIGGER_FOR_ROW(tgtype) && TRIGGER_FOR_BEFORE(tgtype) &&
		(TRIGGER_FOR_INSERT(tgtype) || TRIGGER_FOR_UPDATE(tgtype)) &&
		strcmp(tgname, STEWARD_DUAL_WRITE_TRIGGER) > 0 &&
		!steward_function_is_own(tgfoid);
}

/*
 * migration_start of a column migration: refuse (55000, naming the
 * trigger and the migration) when relid, which start just gave its
 * dual-write trigger, has a trigger of the user's, enabled or not, that
 * steward_fires_after_dual_write.  A relation without the dual-write
 * trigger (a relayout's, an index step's table) passes.  Locks relid
 * with AccessShareLock, kept to the end of the transaction: a column
 * migration's start already holds ACCESS EXCLUSIVE on it, but an index
 * step's start holds no lock on its table here, and reading an unlocked
 * relation's triggers failed relation_open's assertion on an assert build
 * (regress 130, cassert50) and could read a table being dropped.
 */
void
steward_refuse_triggers_after_dual_write(Oid relid, const char *migration)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TriggerDesc *trigdesc = rel->trigdesc;
	bool		dual_write = false;

	for (int i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
		if (strcmp(trigdesc->triggers[i].tgname, STEWARD_DUAL_WRITE_TRIGGER) == 0)
			dual_write = true;
	for (int i = 0; dual_write && i < trigdesc->numtriggers; i++)
	{
		Trigger    *t = &trigdesc->triggers[i];

		if (!t->tgisinternal && steward_fires_after_dual_write(t->tgname, t->tgtype, t->tgfoid))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("trigger \"%s\" of relation \"%s\" would fire after the dual-write trigger of migration \"%s\"",
							t->tgname, RelationGetRelationName(rel), migration),
					 errdetail("PostgreSQL fires BEFORE ROW triggers in name order, and its name sorts "
							   "after \"%s\": what it changes in a row would not reach the "
							   "row's other shape.", STEWARD_DUAL_WRITE_TRIGGER),
					 errhint("Rename it to a name that sorts before \"%s\" (ALTER TRIGGER ... RENAME "
							 "TO), then start the migration.", STEWARD_DUAL_WRITE_TRIGGER)));
	}
	table_close(rel, NoLock);
}
