/*-------------------------------------------------------------------------
 *
 * written.c
 *	  Refuse table definitions in which something the executor computes or
 *	  checks on a new row depends on a column the steward AM sets.
 *
 * The AM sets two kinds of columns inside tuple_insert / tuple_update: the
 * version column (1 on INSERT, the next version on UPDATE) and the
 * changed_at column of a state machine (the statement time when the state
 * changes).  The executor has by then already computed stored generated
 * columns and checked CHECK constraints, the partition constraint
 * (partition bounds) and row-level security WITH CHECK policies on the row
 * as it was before -- so an "etag" generated
 * from the version would be stored one version behind, and a CHECK on the
 * version could pass for a row that violates it once stored.  PostgreSQL 15
 * gives a table AM no earlier hook into the executor's order (README.md,
 * "Values the AM sets"), so such definitions are refused: when a rule that
 * makes the AM set a column is added (track_versions, attach_state_machine
 * with changed_at), and on every later DDL that could create one (an event
 * trigger calls steward._check_written_ddl for the relations a command
 * touched).  Indexes, RETURNING, AFTER triggers and foreign keys see the
 * stored row and need nothing, and so do views WITH CHECK OPTION: the
 * executor checks those after the AM stored the row, on the slot the AM
 * wrote the values into (check_written_walk).
 *
 * The check covers a whole partition tree: the rules of a partitioned table
 * apply to its partitions, and a partitioned table's key, CHECK
 * constraints and policies check the rows routed through it.
 *
 * Locking.  When a rule is added, the caller holds ShareRowExclusiveLock on
 * the table, and the check takes AccessShareLock on the other relations of
 * the tree, as ALTER TABLE does on a partition tree.  After DDL, the check reads only the relations the DDL command
 * locked itself (every relation whose definition the command changed: the
 * altered table and the partitions it recursed to, both sides of ATTACH
 * PARTITION, the parent of a new partition, the table of a policy): the
 * others did not change and were checked when they did.  Taking new locks there could deadlock with concurrent DDL on
 * sibling partitions, e.g. pg_restore -j adding their primary keys.  What
 * DDL on a partitioned table does to the partitions it did not lock (ALTER
 * TABLE ONLY ... DROP DEFAULT over a NOT NULL partition, review24) is read
 * from their catalog rows only -- pg_inherits, the syscache, the rules
 * catalog -- never by opening them (not_null_below).  A partition's own
 * check reads its ancestors' defaults (column_gives_null) after taking
 * AccessShareLock on them, topmost first (lock_ancestors): unlocked, it
 * raced an ancestor's concurrent ALTER TABLE ONLY ... DROP DEFAULT and
 * both passed (review25 W2).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/sysattr.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "commands/tablespace.h"
#include "utils/array.h"
#include "commands/defrem.h"
#include "catalog/pg_inherits.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/acl.h"
#include "rewrite/rewriteHandler.h"
#include "rewrite/rowsecurity.h"
#include "storage/lmgr.h"
#include "tcop/deparse_utility.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "tableam/rules.h"
#include "tableam/rules_api.h"

PG_FUNCTION_INFO_V1(steward_check_written_columns_sql);
PG_FUNCTION_INFO_V1(steward_check_written_ddl);

/*
 * How NOT NULL and defaults of the columns the AM sets are judged
 * (check_not_null_and_default; every other check always refuses).  NULL:
 * every such column, refused.  After DDL (codereview6 F5) only the columns
 * the statement changed in a way that matters ("names", or all of them),
 * so a table configured before the check (a 0.1 database's `version bigint
 * NOT NULL` with no default) still takes unrelated ALTER TABLEs.  A new
 * partition ("members": CREATE TABLE ... PARTITION OF, ATTACH
 * PARTITION) is judged only where its columns differ from its parent's:
 * one declared as its parent adds no failure of its own, and routine
 * partition maintenance of such a table keeps working (codereview7 E).
 * An attached table that stores no row yet (a restore attaches each
 * partition before loading it: pg_dump writes CREATE TABLE, then ATTACH
 * PARTITION, then its data) is kept with a WARNING naming the fix, as a
 * restored label is (review20 F0); one that stores rows is refused.  A
 * restored label ("restoring") keeps its rule and warns with the fix:
 * losing the guarantee silently in a restore that goes on after errors is
 * worse than INSERTs that fail loudly.  "problems" (verify) collects the
 * fixes instead of raising anything.
 */
typedef struct WrittenJudge
{
	bool		all;			/* every column, not only "names" */
	List	   *names;			/* column names the statement changed */
	List	   *members;		/* new partitions (OIDs), with their own partitions */
	bool		attaching;		/* members come from ATTACH PARTITION */
	bool		member_now;		/* the relation being judged is under one */
	Oid			member_root;	/* ... that one */
	bool		restoring;		/* WARNING instead of ERROR */
	bool		hand_written;	/* WARNING too, with a hand-written row's HINT */
	bool		collect;		/* append to "problems" instead */
	List	   *problems;		/* char *: one per column, with its fix */
	List	   *refused;		/* RefusedColumn *: an ATTACH's, raised at once */
} WrittenJudge;

/*
 * A column of a table an ATTACH PARTITION attaches, storing rows, that is
 * declared otherwise than its parent: collected over the whole attached
 * tree and refused in one error naming every fix (refuse_attached), not
 * one leaf per try (review21: the second leaf's fix showed only at the
 * next ATTACH).
 */
typedef struct RefusedColumn
{
	const char *msg;
	const char *detail;
	const char *fix;
	const char *col;
} RefusedColumn;

/* Does an expression refer to one of "written" (attnums) of relation "varno"? */
typedef struct RefContext
{
	Index		varno;
	Bitmapset  *written;
	int			sublevels_up;
	AttrNumber	found;			/* the column found (0: a whole-row reference) */
} RefContext;

static bool
refs_walker(Node *node, RefContext *cxt)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varno == cxt->varno && var->varlevelsup == cxt->sublevels_up &&
			(var->varattno == 0 ||
			 bms_is_member(var->varattno - FirstLowInvalidHeapAttributeNumber,
						   cxt->written)))
		{
			cxt->found = var->varattno;
			return true;
		}
		return false;
	}
	if (IsA(node, Query))
	{
		bool		result;

		cxt->sublevels_up++;
		result = query_tree_walker((Query *) node, refs_walker, (void *) cxt, 0);
		cxt->sublevels_up--;
		return result;
	}
	return expression_tree_walker(node, refs_walker, (void *) cxt);
}

/* The written column an expression uses, or InvalidAttrNumber. */
static AttrNumber
expr_uses(Node *expr, Index varno, Bitmapset *written)
{
	RefContext	cxt;

	cxt.varno = varno;
	cxt.written = written;
	cxt.sublevels_up = 0;
	cxt.found = InvalidAttrNumber;
	if (!refs_walker(expr, &cxt))
		return InvalidAttrNumber;
	if (cxt.found == 0)			/* whole row: name the first written column */
		cxt.found = bms_next_member(written, -1) + FirstLowInvalidHeapAttributeNumber;
	return cxt.found;
}

/*
 * 0A000 for "what" (a generated column, check constraint or policy
 * named "name"; NULL what: the partition key) of "rel" using column "col".
 */
static void
report(Relation rel, const char *what, const char *name, const char *col,
	   bool configuring)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 what ?
			 errmsg("%s \"%s\" of relation \"%s\" depends on column \"%s\", which the steward access method sets",
					what, name, RelationGetRelationName(rel), col) :
			 errmsg("partition key of relation \"%s\" depends on column \"%s\", which the steward access method sets",
					RelationGetRelationName(rel), col),
			 errdetail("PostgreSQL computes generated columns and checks constraints, partition bounds and row security policies before the access method sets \"%s\" (the new version, or the time of a state change), so they would see a different value than the one stored.",
					   col),
			 configuring ?
			 errhint("Change the table's definition first; derive such values in a view or a query instead.") :
			 errhint("Derive the value in a view or a query instead, or first stop pg_steward setting \"%s\" (steward.untrack, or steward.detach_state_machine and attach it again without changed_at_column).", col)));
}

static const char *
colname(Relation rel, AttrNumber attnum)
{
	return get_attname(RelationGetRelid(rel), attnum, false);
}

/*
 * Open a relation to check: after DDL (!configuring) only one this backend
 * locked already, else NULL; while configuring, with AccessShareLock.
 */
static Relation
open_to_check(Oid relid, bool configuring)
{
	if (configuring)
		return relation_open(relid, AccessShareLock);
	if (!steward_relation_locked_by_me(relid))
		return NULL;
	return relation_open(relid, NoLock);
}

static Bitmapset *written_by_rules(const StewardRules *rules, Bitmapset **versions);

/*
 * Attribute numbers of table "rel" that the AM sets under the rules that
 * apply to it (none unless it is a steward table: rules are enforced by the
 * access method only); the version column's also in *versions.
 */
static Bitmapset *
written_of_leaf(Relation rel, Bitmapset **versions)
{
	StewardRules *rules;

	if (rel->rd_rel->relam != get_table_am_oid(STEWARD_TABLE_AM, true))
		return NULL;
	rules = steward_load_rules(rel);
	return written_by_rules(rules, versions);
}

/*
 * The attribute numbers in "rules" of the columns the AM sets; the version
 * column's also added to *versions.
 */
static Bitmapset *
written_by_rules(const StewardRules *rules, Bitmapset **versions)
{
	Bitmapset  *written = NULL;

	if (rules->version_attnum != InvalidAttrNumber)
	{
		written = bms_add_member(written, rules->version_attnum - FirstLowInvalidHeapAttributeNumber);
		*versions = bms_add_member(*versions, rules->version_attnum - FirstLowInvalidHeapAttributeNumber);
	}
	for (int i = 0; i < rules->nstates; i++)
		if (rules->states[i].changed_at != InvalidAttrNumber)
			written = bms_add_member(written, rules->states[i].changed_at - FirstLowInvalidHeapAttributeNumber);
	return written;
}

/*
 * Columns the AM sets for rows stored through "rel": its own for a table;
 * for a partitioned table, those of the rules that apply to it and of the
 * rules stored on any of its partitions (read from the rules catalog, so
 * the partitions need not be opened; partitions share column names).  The
 * version columns among them also in *versions.
 */
static Bitmapset *
written_through(Relation rel, Bitmapset **versions)
{
	Bitmapset  *written;
	List	   *parts;
	ListCell   *lc;

	if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return written_of_leaf(rel, versions);

	/*
	 * The rules that apply to the partitioned table itself will apply to
	 * the steward partitions it gets later: refuse now rather than when the
	 * first one is created.
	 */
	written = written_by_rules(steward_load_rules(rel), versions);
	parts = find_all_inheritors(RelationGetRelid(rel), NoLock, NULL);
	foreach(lc, parts)
	{
		List	   *vnames = NIL;
		List	   *names = steward_rule_written_names(lfirst_oid(lc), &vnames);
		ListCell   *nc;

		foreach(nc, names)
		{
			AttrNumber	a = get_attnum(RelationGetRelid(rel), (char *) lfirst(nc));

			if (a > 0)
				written = bms_add_member(written, a - FirstLowInvalidHeapAttributeNumber);
		}
		foreach(nc, vnames)
		{
			AttrNumber	a = get_attnum(RelationGetRelid(rel), (char *) lfirst(nc));

			if (a > 0)
				*versions = bms_add_member(*versions, a - FirstLowInvalidHeapAttributeNumber);
		}
	}
	return written;
}

static void
check_generated_and_checks(Relation rel, Bitmapset *written, bool configuring)
{
	TupleDesc	desc = RelationGetDescr(rel);
	TupleConstr *constr = desc->constr;
	int			m = -1;
	AttrNumber	a;

	while ((m = bms_next_member(written, m)) >= 0)
	{
		Form_pg_attribute att = TupleDescAttr(desc, m + FirstLowInvalidHeapAttributeNumber - 1);

		if (att->attgenerated)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("column \"%s\" of relation \"%s\" is a generated column, which the steward access method cannot set",
							NameStr(att->attname), RelationGetRelationName(rel)),
					 errhint("Use a plain column.")));
	}
	if (constr == NULL)
		return;
	for (int i = 0; i < constr->num_defval; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, constr->defval[i].adnum - 1);

		if (att->attgenerated != ATTRIBUTE_GENERATED_STORED)
			continue;
		a = expr_uses(stringToNode(constr->defval[i].adbin), 1, written);
		if (a != InvalidAttrNumber)
			report(rel, "generated column", NameStr(att->attname),
				   colname(rel, a), configuring);
	}
	for (int i = 0; i < constr->num_check; i++)
	{
		a = expr_uses(stringToNode(constr->check[i].ccbin), 1, written);
		if (a != InvalidAttrNumber)
			report(rel, "check constraint", constr->check[i].ccname,
				   colname(rel, a), configuring);
	}
}

/*
 * The value a column's default gives an INSERT that leaves the column out,
 * when that is a constant: *is_const set, *isnull and the value returned.
 * A default that folds to no constant (nextval, now(), a volatile or
 * stable function: *is_const false) is left to run time.  The column's own
 * default or its type's (a domain's), as the executor would compute it
 * (build_column_default, folded as the planner folds it: immutable
 * functions, run as the table's owner by check_written_walk).  A default
 * whose folding raises a data exception (class 22: DEFAULT 1/0) fails
 * every INSERT that leaves the column out, as the planner folds it the same
 * way: *failure is set to the error's message.
 */
static Datum fold_default(Node *expr, bool *is_const, bool *isnull, char **failure);

static Datum
default_constant(Relation rel, AttrNumber attnum, bool *is_const, bool *isnull,
				 char **failure)
{
	return fold_default(build_column_default(rel, attnum), is_const, isnull, failure);
}

/*
 * default_constant of default expression "expr" (NULL: no default, which
 * gives NULL), folded as the current user (the caller switches to the
 * table's owner).
 */
static Datum
fold_default(Node *expr, bool *is_const, bool *isnull, char **failure)
{
	*is_const = false;
	*isnull = true;
	*failure = NULL;
	if (expr == NULL)
	{
		/* No default: an INSERT leaving the column out sends NULL. */
		*is_const = true;
		return (Datum) 0;
	}

	/*
	 * Folding runs immutable functions and operators, which may fail
	 * (DEFAULT 1/0: 22012): no error escapes from configuration or DDL.  A
	 * data exception depends on the expression alone and is reported
	 * (*failure); any other error (a lock, a search_path the owner's
	 * function relies on) is left to run time.  A cancel is raised again.
	 */
	{
		MemoryContext cxt = CurrentMemoryContext;
		ResourceOwner owner = CurrentResourceOwner;
		Node	   *volatile folded = NULL;

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(cxt);
		PG_TRY();
		{
			folded = eval_const_expressions(NULL, expr);
			ReleaseCurrentSubTransaction();
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
		}
		PG_CATCH();
		{
			ErrorData  *edata = steward_subxact_abort(cxt, owner);

			if (edata->sqlerrcode == ERRCODE_QUERY_CANCELED ||
				edata->sqlerrcode == ERRCODE_ADMIN_SHUTDOWN)
				ReThrowError(edata);
			if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_DATA_EXCEPTION)
				*failure = pstrdup(edata->message);
			FreeErrorData(edata);
			return (Datum) 0;
		}
		PG_END_TRY();
		expr = folded;
	}
	if (!IsA(expr, Const))
		return (Datum) 0;
	*is_const = true;
	*isnull = ((Const *) expr)->constisnull;
	return ((Const *) expr)->constvalue;
}

/*
 * NOT NULL and defaults.  PostgreSQL computes a column's default (when the
 * statement leaves the column out) and checks NOT NULL (ExecConstraints)
 * before the AM sets the column.  Only definitions that make every INSERT
 * leaving the column out fail are refused:
 *
 * - NOT NULL (a primary key's too) without a default, or with one that is
 *   the NULL constant: core's 23502 before the AM would store version 1 or
 *   the time of the insert (review18 F4).  With a default, NOT NULL passes
 *   and the AM then sets the column: `version bigint NOT NULL DEFAULT 1`,
 *   the schema most users write (and 0.1 databases and their dumps have),
 *   stores version 1 as docs/versions.md says; `changed_at timestamptz NOT NULL
 *   DEFAULT now()` is stamped by the AM anyway.
 * - a version column's default that is a constant below 1 (review18 F3's
 *   `DEFAULT 0`, JPA's habit): the AM cannot tell a default from a version
 *   the client sent and refuses it with 22023 on every such INSERT.  A
 *   constant >= 1 is the first version, as a client sending it would be
 *   (docs/versions.md); a non-constant default is left to run time, where one below
 *   1 gets the 22023 whose HINT names the default (steward_am.c).
 * - a default whose folding raises a data exception (DEFAULT 1/0: 22012
 *   on every INSERT leaving the column out), of either kind of column.
 * - NOT NULL on a partition (with or without a default of its own) under
 *   an ancestor whose column is nullable without default: an INSERT
 *   through that ancestor routes the row with the ancestor's default, NULL,
 *   and the partition's NOT NULL fails it with 23502 (routing_gap).
 * - a GENERATED ALWAYS identity version column: it refuses (428C9) the
 *   version a client sends in every UPDATE, which is how optimistic
 *   versions work.  GENERATED BY DEFAULT is one rule with a bigserial's
 *   nextval default (readme37 V4): a non-constant default, the sequence's
 *   next number the row's first version, one below 1 refused at run time.
 *
 * Refuses 0A000 naming the column and, while configuring, the ALTER TABLE
 * that fixes it.
 */
static bool
judge_names(const WrittenJudge *judge, const char *name)
{
	ListCell   *lc;

	if (judge == NULL || judge->all)
		return true;
	foreach(lc, judge->names)
		if (strcmp((const char *) lfirst(lc), name) == 0)
			return true;
	return false;
}

/*
 * Is column attnum of partition "rel" declared as the same-named column of
 * its parent (NOT NULL, identity, default)?  Then a new partition adds no
 * failure its parent does not have.  Only a parent this backend has locked
 * (the DDL command's) is read; compares catalog definitions, runs nothing.
 */
static bool
same_as_parent(Relation rel, AttrNumber attnum)
{
	Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
	Oid			parentid;
	Relation	parent;
	AttrNumber	pattnum;
	bool		same = false;

	if (!rel->rd_rel->relispartition)
		return false;
	parentid = get_partition_parent(RelationGetRelid(rel), true);
	if (!OidIsValid(parentid) || !steward_relation_locked_by_me(parentid))
		return false;
	parent = relation_open(parentid, NoLock);
	pattnum = get_attnum(parentid, NameStr(att->attname));
	if (pattnum > 0)
	{
		Form_pg_attribute patt = TupleDescAttr(RelationGetDescr(parent), pattnum - 1);

		same = patt->attnotnull == att->attnotnull &&
			patt->attidentity == att->attidentity &&
			patt->attgenerated == att->attgenerated &&
			equal(build_column_default(parent, pattnum),
				  build_column_default(rel, attnum));
	}
	relation_close(parent, NoLock);
	return same;
}

/*
 * The default of column attnum of relation relid as stored in pg_attrdef
 * (already coerced to the column's type), NULL when it has none.  Reads
 * the catalog only (AccessShareLock on pg_attrdef): relid need not be
 * locked.
 */
static Node *
stored_default(Oid relid, AttrNumber attnum)
{
	Relation	attrdef = table_open(AttrDefaultRelationId, AccessShareLock);
	ScanKeyData keys[2];
	SysScanDesc scan;
	HeapTuple	tuple;
	Node	   *expr = NULL;

	ScanKeyInit(&keys[0], Anum_pg_attrdef_adrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], Anum_pg_attrdef_adnum, BTEqualStrategyNumber,
				F_INT2EQ, Int16GetDatum(attnum));
	scan = systable_beginscan(attrdef, AttrDefaultIndexId, true, NULL, 2, keys);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		adbin = heap_getattr(tuple, Anum_pg_attrdef_adbin,
										 RelationGetDescr(attrdef), &isnull);

		if (!isnull)
			expr = stringToNode(TextDatumGetCString(adbin));
	}
	systable_endscan(scan);
	table_close(attrdef, AccessShareLock);
	return expr;
}

/*
 * Does an INSERT through relation relid that leaves column "name" out
 * route the row with NULL in it?  True when the column is nullable, not
 * an identity (*identity says whether it is one), and has no default or
 * one that folds to the NULL constant (review24 V4: DEFAULT nullif(1, 1),
 * a cast of NULL, an inlined SQL function giving NULL), folded as
 * default_constant folds it, as relid's owner (restricted, search_path
 * pinned).  A default that folds to no constant (a volatile or stable
 * function, nextval, now()) is computed per row and cannot be judged
 * ahead: it counts as giving a value, and a row it gives NULL fails with
 * core's 23502 on a NOT NULL partition, never stored without the column
 * (docs/versions.md).  Reads the syscache and pg_attrdef; relid need not be
 * locked (an ancestor's check after DDL takes no lock on the partitions
 * below it; a partition's check locks its ancestors first: file header).
 */
static bool
column_gives_null(Oid relid, const char *name, bool *identity)
{
	HeapTuple	tuple = SearchSysCacheAttName(relid, name);
	Form_pg_attribute att;
	bool		notnull;
	bool		hasdef;
	AttrNumber	attnum;
	Node	   *expr;
	StewardAsOwner ctx;
	bool		is_const;
	bool		isnull;
	char	   *failure;

	*identity = false;
	if (!HeapTupleIsValid(tuple))
		return false;
	att = (Form_pg_attribute) GETSTRUCT(tuple);
	*identity = att->attidentity != '\0';
	notnull = att->attnotnull;
	hasdef = att->atthasdef;
	attnum = att->attnum;
	ReleaseSysCache(tuple);
	if (*identity || notnull)
		return false;
	if (!hasdef || (expr = stored_default(relid, attnum)) == NULL)
		return true;
	if (IsA(expr, Const))
		return ((Const *) expr)->constisnull;
	steward_as_role_begin(steward_relation_owner(relid), STEWARD_PINNED_SEARCH_PATH,
						  false, &ctx);
	(void) fold_default(expr, &is_const, &isnull, &failure);
	steward_as_owner_end(&ctx);
	return failure == NULL && is_const && isnull;
}

/*
 * Column "name" in the partitioned ancestors of partition "rel" (one whose
 * detach is pending included), read through the syscache after locking
 * them (lock_ancestors).  *identity: whether one of them declares
 * it an identity column.  PostgreSQL 15 does not give partitions the
 * identity (nor a default): the column is NOT NULL without a default
 * there, rows routed through the ancestor get the identity's next value,
 * and an INSERT into the partition itself that leaves the column out
 * fails with 23502 with or without pg_steward.  Such a partition is
 * declared as its parent allows (review20 F1: every CREATE TABLE ...
 * PARTITION OF of a table whose BY DEFAULT identity track_versions
 * accepts was refused).
 *
 * Returns the topmost ancestor whose column gives NULL (column_gives_null:
 * nullable, no identity, no default or one folding to NULL), InvalidOid
 * when none: an INSERT through it that leaves the column out
 * routes the row with its default, NULL, and only the leaf's NOT NULL is
 * checked (ExecConstraints), so a partition whose column is NOT NULL fails
 * every such INSERT with 23502 before the AM sets the column, whatever its
 * own default (review23 R8).  ALTER TABLE ... SET DEFAULT on the topmost
 * one recurses to every table below it: one command fixes them all.  An
 * ancestor NOT NULL without a default is refused (or listed) as itself,
 * with that SET DEFAULT as its fix: naming it again for each partition
 * below it would repeat the same fix.
 */
/*
 * AccessShareLock on each of "ancestors" (nearest first), topmost first as
 * ALTER TABLE takes a tree's locks, before a partition's check reads their
 * defaults (review25 W2): ALTER TABLE [ONLY] ... DROP DEFAULT / SET
 * DEFAULT / DROP IDENTITY on an ancestor holds AccessExclusiveLock, so
 * the partition's check waits for it to end and then reads what it
 * committed, and an ancestor's ALTER begun after the check waits for the
 * partition's transaction, whose NOT NULL its own check (not_null_below)
 * then sees.  Without the lock each side read the catalog before the
 * other committed and both passed.  A concurrent ALTER recursing from an
 * ancestor that already holds the partition can deadlock with this: the
 * detector reports it (40P01), nothing is left unchecked.
 */
static void
lock_ancestors(List *ancestors)
{
	for (int i = list_length(ancestors) - 1; i >= 0; i--)
		LockRelationOid(list_nth_oid(ancestors, i), AccessShareLock);
}

static Oid
routing_gap(Relation rel, const char *name, bool *identity)
{
	List	   *up;
	ListCell   *lc;
	Oid			gap = InvalidOid;

	*identity = false;
	if (!rel->rd_rel->relispartition)
		return InvalidOid;
	up = steward_partition_ancestors(RelationGetRelid(rel));
	lock_ancestors(up);
	foreach(lc, up)
	{
		bool		ancestor_identity;

		if (column_gives_null(lfirst_oid(lc), name, &ancestor_identity))
			gap = lfirst_oid(lc);
		*identity |= ancestor_identity;
	}
	list_free(up);
	return gap;
}

/*
 * Is column "name" NOT NULL in the parent of partition "rel"?  Then
 * PostgreSQL refuses DROP NOT NULL on the partition (and ATTACH PARTITION
 * of a table where it is nullable), so no hint offers it (review20 F1).
 */
static bool
parent_not_null(Relation rel, const char *name)
{
	Oid			parentid;
	HeapTuple	tuple;
	bool		notnull = false;

	if (!rel->rd_rel->relispartition)
		return false;
	parentid = get_partition_parent(RelationGetRelid(rel), true);
	if (!OidIsValid(parentid))
		return false;
	tuple = SearchSysCacheAttName(parentid, name);
	if (HeapTupleIsValid(tuple))
	{
		notnull = ((Form_pg_attribute) GETSTRUCT(tuple))->attnotnull;
		ReleaseSysCache(tuple);
	}
	return notnull;
}

/*
 * Append storage parameters "options" (a pg_class.reloptions array, or
 * (Datum) 0 for none) to a WITH list in "buf", each name prefixed with
 * "prefix" ("toast." for the TOAST table's); *n counts those appended so
 * far (the first opens " WITH (", the caller closes it).
 */
static void
append_reloptions(StringInfo buf, Datum options, const char *prefix, int *n)
{
	Datum	   *elems;
	int			nelems;

	if (options == (Datum) 0)
		return;
	deconstruct_array(DatumGetArrayTypeP(options), TEXTOID, -1, false,
					  TYPALIGN_INT, &elems, NULL, &nelems);
	for (int i = 0; i < nelems; i++, (*n)++)
		appendStringInfo(buf, "%s%s%s", *n > 0 ? ", " : " WITH (", prefix,
						 TextDatumGetCString(elems[i]));
}

/*
 * The CREATE TABLE ... PARTITION OF that declares new partition "rel" with
 * column "col" (quoted) given default "first": UNLOGGED, its parent,
 * bound, access method or partition key, storage parameters (its TOAST
 * table's too, as toast.*: review23 R4) and tablespace as they are
 * (a HINT's exact command).  What it cannot repeat -- the other columns
 * the command declared otherwise than the parent (same_as_parent) and the
 * partition's own constraints -- is named in *left_out (NULL: nothing),
 * for the HINT to say so (closing38 item 3: the command silently dropped
 * them).  Reads pg_constraint with AccessShareLock.
 */
static char *
partition_of_command(Relation rel, const char *col, const char *first, char **left_out)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			parentid = get_partition_parent(relid, true);
	StringInfoData buf;
	StringInfoData out;
	HeapTuple	tuple;
	TupleDesc	desc = RelationGetDescr(rel);
	Relation	conrel;
	ScanKeyData key;
	SysScanDesc scan;
	int			nopts = 0;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE %sTABLE %s PARTITION OF %s (%s DEFAULT %s)",
					 rel->rd_rel->relpersistence == RELPERSISTENCE_UNLOGGED ? "UNLOGGED " : "",
					 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												RelationGetRelationName(rel)),
					 steward_qualified_name(parentid),
					 col, first);
	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (HeapTupleIsValid(tuple))
	{
		bool		isnull;
		Datum		bound = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_relpartbound, &isnull);
		Datum		options;

		if (!isnull)
			appendStringInfo(&buf, " %s",
							 TextDatumGetCString(DirectFunctionCall2(pg_get_expr, bound,
																	 ObjectIdGetDatum(relid))));
		if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
			appendStringInfo(&buf, " PARTITION BY %s",
							 TextDatumGetCString(DirectFunctionCall1(pg_get_partkeydef,
																	 ObjectIdGetDatum(relid))));
		else if (OidIsValid(rel->rd_rel->relam))
			appendStringInfo(&buf, " USING %s", quote_identifier(get_am_name(rel->rd_rel->relam)));
		options = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_reloptions, &isnull);
		append_reloptions(&buf, isnull ? (Datum) 0 : options, "", &nopts);
		ReleaseSysCache(tuple);
	}
	if (OidIsValid(rel->rd_rel->reltoastrelid))
	{
		tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(rel->rd_rel->reltoastrelid));
		if (HeapTupleIsValid(tuple))
		{
			bool		isnull;
			Datum		options = SysCacheGetAttr(RELOID, tuple, Anum_pg_class_reloptions,
												  &isnull);

			append_reloptions(&buf, isnull ? (Datum) 0 : options, "toast.", &nopts);
			ReleaseSysCache(tuple);
		}
	}
	if (nopts > 0)
		appendStringInfoChar(&buf, ')');
	if (OidIsValid(rel->rd_rel->reltablespace))
		appendStringInfo(&buf, " TABLESPACE %s",
						 quote_identifier(get_tablespace_name(rel->rd_rel->reltablespace)));

	initStringInfo(&out);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(quote_identifier(NameStr(att->attname)), col) == 0 ||
			same_as_parent(rel, att->attnum))
			continue;
		appendStringInfo(&out, "%scolumn %s", out.len > 0 ? ", " : "",
						 quote_identifier(NameStr(att->attname)));
	}
	conrel = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_constraint_conrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(conrel, ConstraintRelidTypidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tuple);

		if (con->conislocal)
			appendStringInfo(&out, "%sconstraint %s", out.len > 0 ? ", " : "",
							 quote_identifier(NameStr(con->conname)));
	}
	systable_endscan(scan);
	table_close(conrel, AccessShareLock);
	*left_out = out.len > 0 ? out.data : NULL;
	return buf.data;
}

/*
 * One definition check_not_null_and_default refuses: raised (ERROR, or a
 * WARNING for a restored label, whose hint then gives "fix", the ALTER
 * TABLE), or collected for verify as "column ...: msg; fix".
 */
static void
judged(const WrittenJudge *judge, bool configuring, Relation rel, const char *col,
	   const char *first, const char *msg, const char *detail, const char *fix,
	   const char *hint)
{
	if (judge != NULL && judge->collect)
	{
		((WrittenJudge *) judge)->problems =
			lappend(((WrittenJudge *) judge)->problems,
					psprintf("column \"%s\" of %s: %s Fix: %s.", col,
							 quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
														RelationGetRelationName(rel)),
							 detail, fix));
		return;
	}
	if (judge != NULL && judge->hand_written)
		ereport(WARNING,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg_internal("%s", msg),
				 errdetail_internal("%s The rule row is kept.", detail),
				 errhint("Fix it: %s. steward.verify() lists the columns still to fix.", fix)));
	else if (judge != NULL && judge->restoring)
		ereport(WARNING,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg_internal("%s", msg),
				 errdetail_internal("%s The rule is applied all the same.", detail),
				 errhint("Unless the restore gives the column a default or an identity later (pg_dump restores a bigserial's nextval default and an identity after the rule), fix it: %s. steward.verify() lists the columns still to fix once the restore is done.", fix)));
	else if (judge != NULL && judge->member_now && judge->attaching &&
			 !steward_relation_stores_rows(judge->member_root))
		ereport(WARNING,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg_internal("%s", msg),
				 errdetail_internal("%s The table is attached all the same: it stores no row yet, as a partition a restore attaches before loading its data.", detail),
				 errhint("Fix it before the partition itself is written to (writes through the parent table use the parent's declaration): %s. steward.verify() lists the columns still to fix.",
						 fix)));
	else if (judge != NULL && judge->member_now && judge->attaching)
	{
		RefusedColumn *r = palloc(sizeof(RefusedColumn));

		r->msg = msg;
		r->detail = detail;
		r->fix = fix;
		r->col = pstrdup(col);
		((WrittenJudge *) judge)->refused = lappend(judge->refused, r);
	}
	else if (judge != NULL && judge->member_now && rel->rd_rel->relispartition)
	{
		char	   *left_out;
		char	   *command = partition_of_command(rel, quote_identifier(col), first, &left_out);

		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg_internal("%s", msg),
				 errdetail_internal("%s", detail),
				 left_out ?
				 errhint("Declare column \"%s\" as the parent table does (leave it out of the column list of PARTITION OF), or give it a default there: %s, adding what your command declared beyond the parent, which this one leaves out (%s).",
						 col, command, left_out) :
				 errhint("Declare column \"%s\" as the parent table does (leave it out of the column list of PARTITION OF), or give it a default there: %s.",
						 col, command)));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg_internal("%s", msg),
				 errdetail_internal("%s", detail),
				 configuring ?
				 errhint("Change the column first: %s.", fix) :
				 errhint("%s", hint)));
}

/*
 * Column m (bitmap member) of partition "rel" is NOT NULL and "gap" above
 * it gives it no default (routing_gap): every INSERT through "gap" leaving
 * the column out fails with 23502, whatever the partition's own default.
 * The fix names "gap": SET DEFAULT there recurses to the tables below
 * (the partition's own SET DEFAULT, which the NOT NULL check would name,
 * leaves the rows routed through "gap" failing: review23 R8), or DROP NOT
 * NULL on the partition when its parent's column is nullable.  Judged as
 * check_not_null_and_default's other definitions (judged).
 */
static void
refuse_routing_gap(const WrittenJudge *judge, bool configuring, Relation rel,
				   int m, Oid gap, bool version)
{
	AttrNumber	attnum = m + FirstLowInvalidHeapAttributeNumber;
	const char *name = NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname);
	const char *col = quote_identifier(name);
	const char *first = version ? "1" : "now()";
	char	   *gapname = get_rel_name(gap);
	char	   *gaptable = quote_qualified_identifier(get_namespace_name(get_rel_namespace(gap)),
													  gapname);
	char	   *table = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   RelationGetRelationName(rel));
	bool		keep_not_null = parent_not_null(rel, name) ||
		bms_is_member(m, RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY));
	char	   *set_default = psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
									   gaptable, col, first);
	char	   *msg = psprintf(_("column \"%s\" of relation \"%s\" is NOT NULL, but \"%s\" above it gives the column no non-null default"),
							   name, RelationGetRelationName(rel), gapname);
	char	   *detail = psprintf(_("An INSERT through \"%s\" that leaves \"%s\" out routes the row with that table's default, NULL, and fails with 23502 before the access method sets it (to %s)."),
								  gapname, name, version ? "version 1" : "the time of the insert");
	char	   *fix = keep_not_null ? set_default :
		psprintf("%s (or ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL)", set_default, table, col);

	/*
	 * An empty table attached (a restore) is kept as judged() keeps it, but
	 * its HINT says writes through the parent work until the fix: here they
	 * are the ones that fail.
	 */
	if (judge != NULL && !judge->collect && !judge->restoring && judge->member_now &&
		judge->attaching && !steward_relation_stores_rows(judge->member_root))
		ereport(WARNING,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg_internal("%s", msg),
				 errdetail_internal("%s The table is attached all the same: it stores no row yet, as a partition a restore attaches before loading its data.", detail),
				 errhint("Fix it before rows are inserted through \"%s\": %s. steward.verify() lists the columns still to fix.",
						 gapname, fix)));
	else
		judged(judge, configuring, rel, name, first, msg, detail, fix,
			   psprintf(_("Give the column a default on \"%s\" (%s, which sets it on the tables below too), or leave it nullable: pg_steward sets it on every INSERT."),
						gapname, set_default));
}

/*
 * Is column "name" set by a rule that reaches relation relid (stored on it
 * or on a partitioned ancestor)?  Reads the rules catalog only
 * (steward_rule_written_names): relid need not be locked.
 */
static bool
rule_reaches(Oid relid, const char *name)
{
	List	   *chain = lcons_oid(relid, get_rel_relispartition(relid) ?
								  steward_partition_ancestors(relid) : NIL);
	ListCell   *lc;
	ListCell   *nc;

	foreach(lc, chain)
		foreach(nc, steward_rule_written_names(lfirst_oid(lc), NULL))
			if (strcmp((const char *) lfirst(nc), name) == 0)
				return true;
	return false;
}

/*
 * A steward partition below partitioned table "rel" whose column "name"
 * is NOT NULL and set by a rule that reaches it, InvalidOid when none:
 * while "rel" gives the column NULL (column_gives_null), every INSERT
 * through "rel" leaving the column out fails on it with 23502 (vers12's
 * routing gap, seen from above).  Partitions this backend has locked are
 * judged as themselves (refuse_routing_gap, naming the topmost gap) and
 * skipped here.  Lock-free, as the check after DDL must be (file header):
 * pg_inherits, the syscache and the rules catalog, no partition opened
 * (review24: ALTER TABLE ONLY ... DROP DEFAULT locks only "rel").  Only
 * leaves are read: a partition is NOT NULL wherever its parent is.
 */
static Oid
not_null_below(Relation rel, const char *name)
{
	Oid			steward_am = get_table_am_oid(STEWARD_TABLE_AM, true);
	List	   *below = find_all_inheritors(RelationGetRelid(rel), NoLock, NULL);
	ListCell   *lc;

	foreach(lc, below)
	{
		Oid			relid = lfirst_oid(lc);
		HeapTuple	tuple;
		bool		candidate;

		if (relid == RelationGetRelid(rel) || steward_relation_locked_by_me(relid))
			continue;
		tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		if (!HeapTupleIsValid(tuple))
			continue;
		candidate = ((Form_pg_class) GETSTRUCT(tuple))->relkind == RELKIND_RELATION &&
			((Form_pg_class) GETSTRUCT(tuple))->relam == steward_am;
		ReleaseSysCache(tuple);
		if (!candidate || !HeapTupleIsValid(tuple = SearchSysCacheAttName(relid, name)))
			continue;
		candidate = ((Form_pg_attribute) GETSTRUCT(tuple))->attnotnull;
		ReleaseSysCache(tuple);
		if (candidate && rule_reaches(relid, name))
			return relid;
	}
	return InvalidOid;
}

/*
 * check_not_null_and_default's message for a NOT NULL column (in_pkey: in
 * the primary key) of relation relname whose default is none or gives
 * NULL: a default that folds to NULL (DEFAULT nullif(1, 1)) is "no non-null
 * default", as the parent-side message says (vers13's leftover: it said
 * "has no default").  Raises nothing.
 */
static char *
not_null_without_default(Form_pg_attribute att, bool in_pkey, const char *relname)
{
	const char *name = NameStr(att->attname);

	if (in_pkey && att->atthasdef)
		return psprintf(_("column \"%s\" of relation \"%s\" is in the primary key and has no non-null default"),
						name, relname);
	if (in_pkey)
		return psprintf(_("column \"%s\" of relation \"%s\" is in the primary key and has no default"),
						name, relname);
	if (att->atthasdef)
		return psprintf(_("column \"%s\" of relation \"%s\" is NOT NULL and has no non-null default"),
						name, relname);
	return psprintf(_("column \"%s\" of relation \"%s\" is NOT NULL and has no default"),
					name, relname);
}

/*
 * Column m (bitmap member) of partitioned table "rel" gives rows routed
 * through it NULL (no default, or one folding to NULL) while partition
 * "leaf" below it, not locked by this command, is NOT NULL (not_null_below):
 * the DDL just made "rel" so (ALTER TABLE ONLY ... DROP DEFAULT; review24),
 * and every INSERT through "rel" leaving the column out would fail with
 * 23502.  Refused with 42P16, as core refuses ALTER TABLE ONLY ... DROP NOT
 * NULL of a partitioned table with partitions: the HINT names the SET
 * DEFAULT that keeps a default (it recurses to the tables below) and the
 * DROP NOT NULL that makes the partitions nullable.  A restored label or
 * hand-written rule row warns instead (judged).
 */
static void
refuse_gap_above(const WrittenJudge *judge, Relation rel, int m, Oid leaf, bool version)
{
	AttrNumber	attnum = m + FirstLowInvalidHeapAttributeNumber;
	const char *name = NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname);
	const char *col = quote_identifier(name);
	const char *first = version ? "1" : "now()";
	const char *relname = RelationGetRelationName(rel);
	char	   *table = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   relname);
	char	   *leafname = get_rel_name(leaf);
	char	   *msg = psprintf(_("column \"%s\" of relation \"%s\" has no non-null default, but partition \"%s\" below it is NOT NULL"),
							   name, relname, leafname);
	char	   *detail = psprintf(_("An INSERT through \"%s\" that leaves \"%s\" out routes the row with that table's default, NULL, and fails with 23502 on \"%s\" before the access method sets it (to %s)."),
								  relname, name, leafname, version ? "version 1" : "the time of the insert");
	char	   *set_default = psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s",
									   table, col, first);
	char	   *fix = psprintf("%s (or ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL)",
							   set_default, table, col);

	if (judge->restoring || judge->hand_written)
	{
		judged(judge, false, rel, name, first, msg, detail, fix, NULL);
		return;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
			 errmsg_internal("%s", msg),
			 errdetail_internal("%s", detail),
			 errhint("Keep a non-null default on \"%s\" (%s, which sets it on the tables below too), or make the column nullable below it first (ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL): pg_steward sets it on every INSERT.",
					 relname, set_default, table, col)));
}

static void
check_not_null_and_default(Relation rel, Bitmapset *written, Bitmapset *versions,
						   bool configuring, const WrittenJudge *judge)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			m = -1;

	while ((m = bms_next_member(written, m)) >= 0)
	{
		AttrNumber	attnum = m + FirstLowInvalidHeapAttributeNumber;
		Form_pg_attribute att = TupleDescAttr(desc, attnum - 1);
		bool		version = bms_is_member(m, versions);
		const char *first = version ? "1" : "now()";
		const char *name = NameStr(att->attname);
		const char *relname = RelationGetRelationName(rel);
		char	   *table;
		const char *col;
		bool		is_const;
		bool		isnull;
		char	   *failure;
		Datum		value;
		Oid			gap;
		bool		ancestor_identity = false;

		if (att->attgenerated)
			continue;			/* refused by check_generated_and_checks */
		if (!judge_names(judge, name) &&
			!(judge->member_now && !same_as_parent(rel, attnum)))
			continue;			/* not changed by the DDL statement */
		table = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										   relname);
		col = quote_identifier(name);

		if (att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS)
		{
			judged(judge, configuring, rel, name, first,
				   psprintf(_("column \"%s\" of relation \"%s\" is a GENERATED ALWAYS identity column, which refuses the version a client sends"),
							name, relname),
				   _("GENERATED ALWAYS refuses (428C9) the version a client sends in an UPDATE, which is how optimistic versions are checked."),
				   psprintf("ALTER TABLE %s ALTER COLUMN %s SET GENERATED BY DEFAULT", table, col),
				   _("Use GENERATED BY DEFAULT, or a plain column: pg_steward assigns version 1 on INSERT."));
			continue;
		}

		value = default_constant(rel, attnum, &is_const, &isnull, &failure);

		if (failure != NULL)
		{
			judged(judge, configuring, rel, name, first,
				   psprintf(_("default of column \"%s\" of relation \"%s\" fails: %s"),
							name, relname, failure),
				   psprintf(_("PostgreSQL computes the default of \"%s\" before the steward access method sets it, so every INSERT that leaves the column out would fail with the error \"%s\"."),
							name, failure),
				   psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", table, col, first),
				   psprintf(_("Use a default that can be computed (DEFAULT %s)."), first));
			continue;
		}

		gap = att->attnotnull ? routing_gap(rel, name, &ancestor_identity) : InvalidOid;
		if (OidIsValid(gap))
		{
			refuse_routing_gap(judge, configuring, rel, m, gap, version);
			continue;
		}
		if (!att->attnotnull && att->attidentity == '\0' && is_const && isnull &&
			rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE && judge != NULL &&
			!judge->collect)
		{
			Oid			leaf = not_null_below(rel, name);

			if (OidIsValid(leaf))
			{
				refuse_gap_above(judge, rel, m, leaf, version);
				continue;
			}
		}
		if (att->attnotnull && is_const && isnull && !ancestor_identity)
		{
			/*
			 * Only now the indexes (RelationGetIndexAttrBitmap opens them):
			 * the check after DDL takes no lock it could wait for unless it
			 * is about to refuse anyway (file header).  A partition's column
			 * stays NOT NULL while its parent's is (no DROP NOT NULL then).
			 */
			bool		in_pkey = bms_is_member(m, RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_PRIMARY_KEY));
			bool		keep_not_null = in_pkey || parent_not_null(rel, name);

			judged(judge, configuring, rel, name, first,
				   not_null_without_default(att, in_pkey, relname),
				   psprintf(_("An INSERT that leaves \"%s\" out would fail with 23502 before the access method sets it (to %s)."),
							name, version ? "version 1" : "the time of the insert"),
				   keep_not_null ?
				   psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", table, col, first) :
				   psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s (or DROP NOT NULL)", table, col, first),
				   in_pkey ?
				   psprintf(_("Keep a default on column \"%s\" (DEFAULT %s), or use a primary key without it."),
							name, first) :
				   keep_not_null ?
				   psprintf(_("Keep a default on column \"%s\" (DEFAULT %s): the parent's column is NOT NULL."),
							name, first) :
				   psprintf(_("Keep a default on column \"%s\" (DEFAULT %s), or leave it nullable: pg_steward sets it on every INSERT."),
							name, first));
			continue;
		}
		if (version && is_const && !isnull && DatumGetInt64(value) < 1)
			judged(judge, configuring, rel, name, first,
				   psprintf(_("default of version column \"%s\" of relation \"%s\" is " INT64_FORMAT ", below the first version 1"),
							name, relname, DatumGetInt64(value)),
				   _("PostgreSQL computes the default before the steward access method sets the version, which then refuses the version below 1 (22023) in every INSERT that leaves the column out."),
				   psprintf("ALTER TABLE %s ALTER COLUMN %s SET DEFAULT 1", table, col),
				   _("Use DEFAULT 1, or no default on a nullable column: pg_steward assigns version 1 to a row inserted without one."));
	}
}

static void
check_partition_key(Relation rel, Bitmapset *written, bool configuring)
{
	PartitionKey key;
	AttrNumber	a;

	if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return;
	key = RelationGetPartitionKey(rel);
	for (int i = 0; i < key->partnatts; i++)
		if (key->partattrs[i] != 0 &&
			bms_is_member(key->partattrs[i] - FirstLowInvalidHeapAttributeNumber, written))
			report(rel, NULL, NULL, colname(rel, key->partattrs[i]), configuring);
	a = expr_uses((Node *) key->partexprs, 1, written);
	if (a != InvalidAttrNumber)
		report(rel, NULL, NULL, colname(rel, a), configuring);
}

/*
 * Row security: a policy's expression is checked against new rows when it
 * is a WITH CHECK, when it is the USING of an INSERT/UPDATE/ALL policy
 * without WITH CHECK, and (for statements that also read the table) when
 * it is the USING of a SELECT or ALL policy.  Only DELETE policies and the
 * USING of UPDATE policies that have a WITH CHECK see stored rows only.
 * Policies matter only while row security is enabled; enabling it is an
 * ALTER TABLE, which runs this check again.
 */
static void
check_policies(Relation rel, Bitmapset *written, bool configuring)
{
	ListCell   *lc;

	if (!rel->rd_rel->relrowsecurity || rel->rd_rsdesc == NULL)
		return;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *policy = (RowSecurityPolicy *) lfirst(lc);
		AttrNumber	a = InvalidAttrNumber;

		if (policy->polcmd == ACL_DELETE_CHR)
			continue;
		a = expr_uses((Node *) policy->with_check_qual, 1, written);
		if (a == InvalidAttrNumber &&
			!(policy->polcmd == ACL_UPDATE_CHR && policy->with_check_qual != NULL))
			a = expr_uses((Node *) policy->qual, 1, written);
		if (a != InvalidAttrNumber)
			report(rel, "policy", policy->policy_name, colname(rel, a), configuring);
	}
}

static void
check_relation(Relation rel, bool configuring, WrittenJudge *judge)
{
	Bitmapset  *versions = NULL;
	Bitmapset  *written = written_through(rel, &versions);

	if (written == NULL)
		return;
	if (judge != NULL && judge->collect)
	{
		check_not_null_and_default(rel, written, versions, configuring, judge);
		return;
	}
	check_generated_and_checks(rel, written, configuring);
	check_not_null_and_default(rel, written, versions, configuring, judge);
	check_partition_key(rel, written, configuring);
	check_policies(rel, written, configuring);
}

/*
 * steward_check_written_columns for relid's partition tree.  A view (or
 * anything else that is not a table) has nothing to check: PostgreSQL 15
 * checks a view's WITH CHECK OPTION after the access method stored the
 * row (ExecInsert and ExecUpdateEpilogue run ExecWithCheckOptions for
 * WCO_VIEW_CHECK after table_tuple_insert / table_tuple_update, on the
 * slot the AM wrote the version and changed_at into), so a view's check
 * sees the stored values (rules20; README.md, "Values the AM sets").
 */
static void
check_written_walk(Oid relid, bool configuring, WrittenJudge *judge)
{
	char		relkind = get_rel_relkind(relid);
	Oid			root = relid;
	List	   *tree;
	ListCell   *lc;

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE)
		return;
	/*
	 * verify() ("collect") reports the table it is given and, for a
	 * partitioned table, its partitions: never a sibling's or an
	 * ancestor's definition (readme38 M2: verify of a sound partition
	 * listed its siblings' fixes).
	 */
	if (get_rel_relispartition(relid) && !(judge != NULL && judge->collect))
		root = llast_oid(steward_partition_ancestors(relid));

	tree = find_all_inheritors(root, configuring ? AccessShareLock : NoLock, NULL);
	foreach(lc, tree)
	{
		Relation	r = open_to_check(lfirst_oid(lc), configuring);
		StewardAsOwner ctx;

		if (r == NULL)
			continue;
		if (judge != NULL && judge->members != NIL)
		{
			List	   *up = r->rd_rel->relispartition ?
				steward_partition_ancestors(RelationGetRelid(r)) : NIL;
			ListCell   *uc;

			judge->member_now = list_member_oid(judge->members, RelationGetRelid(r));
			judge->member_root = RelationGetRelid(r);
			foreach(uc, up)
				if (!judge->member_now && list_member_oid(judge->members, lfirst_oid(uc)))
				{
					judge->member_now = true;
					judge->member_root = lfirst_oid(uc);
				}
		}

		/*
		 * As the relation's owner (restricted, search_path pinned), never
		 * as the caller nor as the extension's owner that runs the event
		 * trigger: loading the partition key folds its expressions
		 * (eval_const_expressions), so an immutable function of the
		 * owner's with constant arguments runs here.
		 */
		steward_as_table_owner_begin(r, false, &ctx);
		check_relation(r, configuring, judge);
		steward_as_owner_end(&ctx);
		relation_close(r, NoLock);
	}
}

/*
 * Check the partition tree of table "relid" (nothing for a view).
 * "configuring": called while adding a rule (the HINT says to change the
 * definition first; every relation of the tree is read, with
 * AccessShareLock) rather than after DDL (only relations the command
 * locked are read; see the file header).  Raises 0A000 naming the
 * generated column, constraint, partition key or policy.  Each
 * relation of the tree is read as its owner (check_written_walk).
 */
void
steward_check_written_columns(Oid relid, bool configuring)
{
	check_written_walk(relid, configuring, NULL);
}

/* check_written_walk of relid under "judge"; (Datum) 0, a void result. */
static Datum
judged_walk(Oid relid, bool configuring, WrittenJudge *judge)
{
	check_written_walk(relid, configuring, judge);
	return (Datum) 0;
}

/*
 * The partitions of "parent" attached (or created) by this transaction:
 * their pg_inherits rows are its own.  PostgreSQL 15 collects ATTACH
 * PARTITION without the attached table's address, and its name would be
 * looked up under the event trigger's search_path, not the statement's:
 * of those, the ones named "name" (relation name, and schema when given)
 * are the table this ATTACH attached, all of them when none is (a partition
 * attached earlier in the transaction was judged by its own ATTACH and may
 * have been loaded since).
 */
static List *
partitions_attached_now(Oid parent, RangeVar *name)
{
	Relation	inh = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	List	   *result = NIL;

	ScanKeyInit(&key, Anum_pg_inherits_inhparent, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(parent));
	scan = systable_beginscan(inh, InheritsParentIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
		if (TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tuple->t_data)))
			result = lappend_oid(result, ((Form_pg_inherits) GETSTRUCT(tuple))->inhrelid);
	systable_endscan(scan);
	table_close(inh, AccessShareLock);
	if (name != NULL && name->relname != NULL)
	{
		List	   *named = NIL;
		ListCell   *lc;

		foreach(lc, result)
		{
			Oid			child = lfirst_oid(lc);
			char	   *relname = get_rel_name(child);

			if (relname != NULL && strcmp(relname, name->relname) == 0 &&
				(name->schemaname == NULL ||
				 strcmp(get_namespace_name(get_rel_namespace(child)), name->schemaname) == 0))
				named = lappend_oid(named, child);
		}
		if (named != NIL)
			result = named;
	}
	return result;
}

/*
 * The column names an ALTER TABLE statement (collected by the event
 * trigger machinery) changed in a way check_not_null_and_default judges:
 * SET NOT NULL, SET / DROP DEFAULT, identity (ADD, SET, DROP), ALTER TYPE,
 * a primary key (its columns); a new access method: every column
 * (judge->all).  A new partition (ATTACH PARTITION's table, CREATE TABLE
 * "relid", which is a partition when a rule reaches it): judge->members,
 * judged where it differs from its parent.  INHERIT changes no column and
 * brings no rule (rules reach partitions only).  A policy's command:
 * none.  No command: every column.
 */
static void
judge_command(CollectedCommand *cmd, Oid relid, WrittenJudge *judge)
{
	ListCell   *lc;

	if (cmd == NULL || cmd->type != SCT_AlterTable)
	{
		judge->all = cmd == NULL || cmd->parsetree == NULL;
		if (cmd != NULL && cmd->parsetree != NULL && IsA(cmd->parsetree, CreateStmt))
			judge->members = list_make1_oid(relid);
		return;
	}
	foreach(lc, cmd->d.alterTable.subcmds)
	{
		CollectedATSubcmd *sub = (CollectedATSubcmd *) lfirst(lc);
		AlterTableCmd *at = (AlterTableCmd *) sub->parsetree;
		IndexStmt  *index = NULL;
		ListCell   *kc;

		if (at == NULL || !IsA(at, AlterTableCmd))
			continue;
		switch (at->subtype)
		{
			case AT_SetNotNull:
			case AT_ColumnDefault:
			case AT_CookedColumnDefault:
			case AT_AddIdentity:
			case AT_SetIdentity:
			case AT_DropIdentity:
			case AT_AlterColumnType:
				if (at->name)
					judge->names = lappend(judge->names, pstrdup(at->name));
				break;
			case AT_AddColumn:
			case AT_AddColumnRecurse:
				if (at->def && IsA(at->def, ColumnDef))
					judge->names = lappend(judge->names,
										   pstrdup(((ColumnDef *) at->def)->colname));
				break;
			case AT_AddIndex:
			case AT_ReAddIndex:
				index = (IndexStmt *) at->def;
				if (index && IsA(index, IndexStmt) && index->primary)
					foreach(kc, index->indexParams)
					{
						IndexElem  *elem = (IndexElem *) lfirst(kc);

						if (elem->name)
							judge->names = lappend(judge->names, pstrdup(elem->name));
					}
				break;
			case AT_AddIndexConstraint:
				index = (IndexStmt *) at->def;
				if (index && IsA(index, IndexStmt) && index->primary)
					judge->all = true;	/* the index's columns: by number */
				break;
			case AT_AddConstraint:
			case AT_AddConstraintRecurse:
				if (at->def && IsA(at->def, Constraint) &&
					((Constraint *) at->def)->contype == CONSTR_PRIMARY)
					foreach(kc, ((Constraint *) at->def)->keys)
						judge->names = lappend(judge->names, pstrdup(strVal(lfirst(kc))));
				break;
			case AT_AttachPartition:
				judge->members = list_concat(judge->members,
											 partitions_attached_now(cmd->d.alterTable.objectId,
																	 at->def && IsA(at->def, PartitionCmd) ?
																	 ((PartitionCmd *) at->def)->name : NULL));
				judge->attaching = true;
				break;
			case AT_SetAccessMethod:
				judge->all = true;
				break;
			default:
				break;
		}
	}
}

/* At most this many fixes in refuse_attached's HINT. */
#define MAX_REFUSED_FIXES 10

/*
 * Refuse (0A000) the ATTACH PARTITION whose attached tables store rows and
 * declare columns otherwise than their parent (judge->refused, in the
 * order of the walk: the attached table, then its partitions): the first
 * column's message, and a HINT with the fix of every such column (the
 * first MAX_REFUSED_FIXES, and how many more).  Nothing when none.
 */
static void
refuse_attached(const WrittenJudge *judge)
{
	RefusedColumn *first;
	StringInfoData fixes;
	int			n = list_length(judge->refused);
	int			i = 0;
	ListCell   *lc;

	if (n == 0)
		return;
	first = (RefusedColumn *) linitial(judge->refused);
	if (n == 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg_internal("%s", first->msg),
				 errdetail_internal("%s The table stores rows (an empty one is attached with a WARNING, as in a restore).", first->detail),
				 errhint("Declare column \"%s\" as the parent table does, or fix it before attaching the table: %s.",
						 first->col, first->fix)));
	initStringInfo(&fixes);
	foreach(lc, judge->refused)
	{
		if (i == MAX_REFUSED_FIXES)
		{
			appendStringInfo(&fixes, "; and %d more", n - i);
			break;
		}
		appendStringInfo(&fixes, "%s%s", i > 0 ? "; " : "",
						 ((RefusedColumn *) lfirst(lc))->fix);
		i++;
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg_internal("%s", first->msg),
			 errdetail("%s The table stores rows (an empty one is attached with a WARNING, as in a restore), and %d columns of it and its partitions are declared otherwise than their parent, this one included.",
					   first->detail, n),
			 errhint("Declare the columns as the parent tables do, or fix them before attaching the table: %s.",
					 fixes.data)));
}

/*
 * steward._check_written_ddl(tbl regclass, cmd pg_ddl_command) RETURNS
 * void: the check for the DDL event trigger (src/tableam/tableam.sql) on
 * relation tbl that command cmd (NULL: a policy's) touched.  Locks and
 * errors as steward_check_written_columns, not configuring: only relations
 * this backend has locked (the DDL command's) are read (a view: none);
 * 0A000 naming what derives or checks a column the AM sets.  NOT NULL and
 * defaults only of the columns cmd changed (judge_command).  NULL tbl does
 * nothing.
 */
Datum
steward_check_written_ddl(PG_FUNCTION_ARGS)
{
	WrittenJudge judge = {0};

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	judge_command(PG_ARGISNULL(1) ? NULL : (CollectedCommand *) PG_GETARG_POINTER(1),
				  PG_GETARG_OID(0), &judge);
	judged_walk(PG_GETARG_OID(0), false, &judge);
	refuse_attached(&judge);
	PG_RETURN_VOID();
}

/*
 * The check of track_versions and attach_state_machine (configuring) for a
 * rule row written into steward.column_rules by hand (its trigger,
 * rules_api.c): NOT NULL and default definitions that make every INSERT
 * leaving a column the AM sets out fail (DEFAULT 0, a default folding to
 * NULL, none on a NOT NULL column) warn, with the ALTER TABLE that fixes
 * them in the HINT; the rule stays (vers13's leftover).  A generated
 * column, constraint, partition key or policy depending on such a
 * column raises 0A000 as for track_versions (the caller turns it into a
 * WARNING).  Reads relid's partition tree, each relation with
 * AccessShareLock held to transaction end, as its owner.
 */
void
steward_warn_written_columns(Oid relid)
{
	WrittenJudge judge = {0};

	judge.all = true;
	judge.hand_written = true;
	judged_walk(relid, true, &judge);
}

/*
 * The NOT NULL and default definitions of the columns the AM sets in table
 * relid and its partitions (not its siblings or ancestors) that make
 * every INSERT leaving them out fail (a 0.1 database's, one restored from
 * a label): one text per column, naming its table and the ALTER TABLE
 * that fixes it, for steward.verify().  Reads relid and each of its
 * partitions with AccessShareLock, as its owner.  Errors: none
 * of its own (those of reading the catalogs: 42P01 for a dropped table).
 */
List *
steward_written_definition_problems(Oid relid)
{
	WrittenJudge judge = {0};

	judge.all = true;
	judge.collect = true;
	judged_walk(relid, true, &judge);
	return judge.problems;
}

/*
 * steward._check_written_columns(tbl regclass) RETURNS void: the check for
 * a rule restored from a label (steward._apply_rule_label, after pg_dump's
 * CREATE TABLE) and for every table with a rule at the update from 0.1.
 * When tbl is not locked by this backend yet (the update's pass), takes
 * AccessShareLock on its partition tree, root first; then reads only
 * relations this backend has locked, with errors as
 * steward_check_written_columns, not configuring; 0A000
 * naming what derives or checks a column the AM sets.  NOT NULL and
 * default definitions that make INSERTs fail only warn, with the ALTER
 * TABLE that fixes them (WrittenJudge): the rule stays.  NULL, or an OID
 * naming no relation, does nothing.
 */
Datum
steward_check_written_columns_sql(PG_FUNCTION_ARGS)
{
	WrittenJudge judge = {0};
	Oid			relid;
	Oid			root;

	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	relid = PG_GETARG_OID(0);
	if (!get_rel_relkind(relid))
		PG_RETURN_VOID();

	/*
	 * The walk reads only relations this backend has locked (not
	 * configuring).  The upgrade's pass over every table with a rule
	 * (pg_steward--0.1--0.2.sql) holds no lock of its own and read none
	 * (vers5's finding): it locks the tree, root first and then its
	 * members, the order of ALTER TABLE on the root.  The label's caller
	 * holds a lock on its table already and takes no new one here: a
	 * partition's label locking its root after the partition deadlocked
	 * with an ALTER TABLE of the root (codereview7 H).
	 */
	if (!CheckRelationOidLockedByMe(relid, AccessShareLock, true))
	{
		root = get_rel_relispartition(relid) ?
			llast_oid(steward_partition_ancestors(relid)) : relid;
		LockRelationOid(root, AccessShareLock);
		(void) find_all_inheritors(root, AccessShareLock, NULL);
	}
	judge.all = true;
	judge.restoring = true;
	return judged_walk(PG_GETARG_OID(0), false, &judge);
}
