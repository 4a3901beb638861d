/*-------------------------------------------------------------------------
 *
 * rules.c
 *	  Load a table's column rules from steward.column_rules into the
 *	  relcache entry (rd_amcache).
 *
 * The write paths call steward_get_rules() for every row; all but the first
 * call after an invalidation return the cached struct without touching any
 * catalog.  Rules are stored by column name so that they survive pg_dump
 * (attribute numbers change when a dump drops the holes left by dropped
 * columns) and so that a rule on a partitioned table applies to every
 * partition, whose attribute numbers may differ from the parent's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/skey.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type_d.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "tableam/rulekinds.h"
#include "tableam/rules.h"

#define MAX_SEQUENCE_RULES (MaxHeapAttributeNumber)
#define MAX_STATE_RULES STEWARD_MAX_STATE_RULES

typedef struct RulesBuild
{
	AttrNumber	version_attnum;
	int			nother_versions;	/* StewardRules.other_versions */
	AttrNumber	other_versions[MaxHeapAttributeNumber];
	int			nsequences;
	int			nstates;
	SequenceRule sequences[MAX_SEQUENCE_RULES];
	StateRule	states[MAX_STATE_RULES];
	int			nmissing;
	MissingStateRule missing[MAX_STATE_RULES];	/* StewardRules.missing */
	bool		too_many_states;	/* StewardRules.too_many_states */
} RulesBuild;

/*
 * Attribute number of a column of one of the extension's catalog tables,
 * looked up by name.  Raises 55000 with the HINT to update the extension if
 * the column is missing (the SQL objects are older than the library).
 * Takes no lock beyond the caller's on "catalog".
 */
AttrNumber
steward_catalog_attnum(Relation catalog, const char *attname)
{
	TupleDesc	desc = RelationGetDescr(catalog);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), attname) == 0)
			return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("column \"%s\" of %s.%s does not exist",
					attname, STEWARD_SCHEMA, RelationGetRelationName(catalog)),
			 errdetail("The extension's SQL objects are older than the pg_steward library."),
			 errhint(STEWARD_HINT_UPDATE)));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/* Return the OID of steward.column_rules, or InvalidOid while it is absent. */
static Oid
rules_table_oid(void)
{
	Oid			nspid = get_namespace_oid(STEWARD_SCHEMA, true);

	if (!OidIsValid(nspid))
		return InvalidOid;
	return get_relname_relid(STEWARD_RULES_TABLE, nspid);
}

/*
 * Whether the write path checks a rule of kind "kind" ("version",
 * "sequence", "state") on a column of type typid: a rule on any other type
 * is skipped (add_rule), so nothing is enforced on it.  The API functions
 * refuse such columns; a row written into steward.column_rules by hand
 * gets a WARNING (rules_api.c).  Takes no lock; raises nothing.
 */
bool
steward_rule_type_checked(const char *kind, Oid typid)
{
	if (strcmp(kind, "version") == 0)
		return typid == INT8OID;
	if (strcmp(kind, "sequence") == 0)
		return typid == INT2OID || typid == INT4OID || typid == INT8OID;
	if (strcmp(kind, "state") == 0)
		return typid == TEXTOID || typid == VARCHAROID;
	return false;
}

/*
 * The snapshot the rules are read with: the latest one, so that a rule
 * committed after this statement took its snapshot but before it locked
 * the table (the rule change holds ShareRowExclusiveLock until it commits)
 * is seen.  A parallel operation may not take a new snapshot; the only
 * statements that write while in parallel mode are CREATE TABLE AS, SELECT
 * INTO and CREATE/REFRESH MATERIALIZED VIEW, into a relation no other
 * transaction can have given rules, so the statement's own snapshot is
 * exact there.  (Found by the core regression suite's write_parallel test
 * under default_table_access_method = steward: test/compat.)
 */
static Snapshot
rules_snapshot(void)
{
	return RegisterSnapshot(IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot());
}

static void
add_state_rule(Relation rel, Oid rule_relid, RulesBuild *build, AttrNumber attnum,
			   Oid typid, const char *machine, const char *changed_at)
{
	StateRule  *rule;
	Snapshot	snapshot;
	StewardMachineLoad found;

	if (!steward_rule_type_checked("state", typid) || machine == NULL)
		return;
	for (int i = 0; i < build->nstates; i++)
		if (build->states[i].attnum == attnum)
			return;
	for (int i = 0; i < build->nmissing; i++)
		if (build->missing[i].attnum == attnum)
			return;
	/* A rule beyond the cap is never dropped silently: writes refuse. */
	if (build->nstates + build->nmissing >= MAX_STATE_RULES)
	{
		build->too_many_states = true;
		return;
	}
	rule = &build->states[build->nstates];
	memset(rule, 0, sizeof(StateRule));
	rule->attnum = attnum;
	strlcpy(rule->machine, machine, NAMEDATALEN);
	if (changed_at != NULL)
	{
		AttrNumber	c = get_attnum(RelationGetRelid(rel), changed_at);

		if (c > 0 && TupleDescAttr(RelationGetDescr(rel), c - 1)->atttypid == TIMESTAMPTZOID)
		{
			rule->changed_at = c;
			rule->changed_at_typmod = TupleDescAttr(RelationGetDescr(rel), c - 1)->atttypmod;
		}
	}
	/* The machine's definition is lifecycle's (rulekinds.h). */
	snapshot = rules_snapshot();
	found = steward_rule_kinds.load_state_machine(snapshot, machine, rule);
	UnregisterSnapshot(snapshot);
	if (found == STEWARD_MACHINE_LOADED)
		build->nstates++;
	else if (found == STEWARD_MACHINE_MISSING || found == STEWARD_MACHINE_MALFORMED)
	{
		/*
		 * A rule whose machine is gone still holds the column: rows may
		 * not enter or change state unchecked (state_rules.c).  Each such
		 * rule is kept: an UPDATE may change any of their columns.
		 */
		MissingStateRule *m = &build->missing[build->nmissing++];

		m->relid = rule_relid;
		m->attnum = rule->attnum;
		m->changed_at = rule->changed_at;
		m->malformed = (found == STEWARD_MACHINE_MALFORMED);
		strlcpy(m->machine, machine, NAMEDATALEN);
	}
}

/*
 * Add one stored rule to the build, resolving the column name against the
 * relation being written.  Rules whose column no longer matches (which the
 * event triggers prevent) are ignored rather than failing every write.
 */
static void
add_rule(Relation rel, Oid rule_relid, RulesBuild *build, const char *attname,
		 const char *kind, const char *machine, const char *changed_at)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), attname);
	Oid			typid;

	if (attnum <= 0)
		return;
	typid = TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid;

	if (strcmp(kind, "state") == 0)
	{
		add_state_rule(rel, rule_relid, build, attnum, typid, machine, changed_at);
		return;
	}

	if (strcmp(kind, "version") == 0)
	{
		/*
		 * The table's own rule wins over an ancestor's: it was seen first.
		 * Every other column is kept too: writes refuse rather than leave
		 * it unchecked (StewardRules.other_versions).
		 */
		if (!steward_rule_type_checked(kind, typid))
			return;
		if (build->version_attnum == InvalidAttrNumber)
		{
			build->version_attnum = attnum;
			return;
		}
		if (attnum == build->version_attnum)
			return;
		for (int i = 0; i < build->nother_versions; i++)
			if (build->other_versions[i] == attnum)
				return;
		/* Each column at most once: never beyond the array. */
		build->other_versions[build->nother_versions++] = attnum;
	}
	else if (strcmp(kind, "sequence") == 0 && steward_rule_type_checked(kind, typid))
	{
		for (int i = 0; i < build->nsequences; i++)
			if (build->sequences[i].attnum == attnum)
				return;
		if (build->nsequences < MAX_SEQUENCE_RULES)
		{
			build->sequences[build->nsequences].attnum = attnum;
			build->sequences[build->nsequences].typid = typid;
			build->nsequences++;
		}
	}
}

static void
scan_rules_for(Relation rulesrel, Snapshot snapshot, Oid relid,
			   Relation rel, RulesBuild *build)
{
	ScanKeyData key;
	TableScanDesc scan;
	TupleTableSlot *slot;
	AttrNumber	att_attname = steward_catalog_attnum(rulesrel, "attname");
	AttrNumber	att_kind = steward_catalog_attnum(rulesrel, "kind");
	AttrNumber	att_machine = steward_catalog_attnum(rulesrel, "machine");
	AttrNumber	att_changed_at = steward_catalog_attnum(rulesrel, "changed_at");

	ScanKeyInit(&key, steward_catalog_attnum(rulesrel, "relid"), BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	slot = table_slot_create(rulesrel, NULL);
	scan = table_beginscan(rulesrel, snapshot, 1, &key);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull1,
					isnull2;
		Datum		attname = slot_getattr(slot, att_attname, &isnull1);
		Datum		kind = slot_getattr(slot, att_kind, &isnull2);

		bool		isnull3,
					isnull4;
		Datum		machine = slot_getattr(slot, att_machine, &isnull3);
		Datum		changed_at = slot_getattr(slot, att_changed_at, &isnull4);

		if (isnull1 || isnull2)
			continue;
		add_rule(rel, relid, build, NameStr(*DatumGetName(attname)),
				 TextDatumGetCString(kind),
				 isnull3 ? NULL : TextDatumGetCString(machine),
				 isnull4 ? NULL : pstrdup(NameStr(*DatumGetName(changed_at))));
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * The parent of partition relid from pg_inherits, pending detach or not;
 * InvalidOid when pg_inherits holds no row for it (the syscache's
 * relispartition said it is a partition, but a detach committed since:
 * the catalog snapshot may be newer than the cached pg_class row).
 */
static Oid
partition_parent_or_none(Oid relid)
{
	Relation	inhrel = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			parent = InvalidOid;

	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(inhrel, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
		parent = ((Form_pg_inherits) GETSTRUCT(tup))->inhparent;
	systable_endscan(scan);
	table_close(inhrel, AccessShareLock);
	return parent;
}

/*
 * The partitioned ancestors of relation relid, nearest first (NIL for a
 * table that is no partition, or no relation), including a parent whose
 * ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY is pending: its first
 * phase committed and FINALIZE has not (review25 W3).  PostgreSQL 15's
 * get_partition_ancestors (and pg_partition_ancestors) stops below such a
 * parent, but a transaction whose snapshot predates the detach still
 * routes rows through it into the partition, and the partition stays half
 * detached until FINALIZE: its former ancestors' rules keep applying until
 * then.  FINALIZE clears relispartition (a pg_class update, so the
 * partition's relcache and its cached rules are invalidated).  The one
 * walk up a partition tree in pg_steward: SQL reaches it as
 * steward._partition_ancestors (steward_partition_ancestors_sql).  Reads
 * pg_inherits and the syscache; locks nothing (callers that read an
 * ancestor's definition lock it); raises nothing (a detach that committed
 * since the syscache read relispartition ends the walk there).
 */
List *
steward_partition_ancestors(Oid relid)
{
	List	   *result = NIL;

	while (get_rel_relispartition(relid) &&
		   OidIsValid(relid = partition_parent_or_none(relid)))
		result = lappend_oid(result, relid);
	return result;
}

/*
 * Relation relid and every partition below it, each parent before its
 * partitions, a partition whose ALTER TABLE ... DETACH PARTITION ...
 * CONCURRENTLY is pending included: PostgreSQL 15's find_all_inheritors
 * leaves such a partition out whenever a snapshot is active
 * (find_inheritance_children's omit_detached), though its rows are still
 * routed to through the parent by older snapshots and its indexes are
 * still partitions of the parent's.  The walk down that matches
 * steward_partition_ancestors' walk up.  Reads pg_inherits; locks
 * nothing (the caller locks what it changes, then looks again:
 * steward_pending_detach_below); raises nothing.
 */
List *
steward_partition_tree(Oid relid)
{
	List	   *tree = list_make1_oid(relid);
	ListCell   *lc;

	/* The list grows as it is walked: each level's children go last. */
	foreach(lc, tree)
		tree = list_concat(tree, find_inheritance_children_extended(lfirst_oid(lc), false,
																	NoLock, NULL, NULL));
	return tree;
}

/*
 * The first partition below relid (relid itself not counted) whose ALTER
 * TABLE ... DETACH PARTITION ... CONCURRENTLY is pending -- its first
 * phase committed, its second (or FINALIZE) has not -- in the order of
 * steward_partition_tree; InvalidOid when none.  *parent (if not NULL)
 * is set to the table it is half detached from.  Reads pg_inherits;
 * locks nothing: the answer holds while the caller holds a lock on each
 * parent that conflicts with DETACH's ShareUpdateExclusiveLock.  Raises
 * nothing of its own (core's elog if a partition it listed stopped being
 * one, which that lock rules out).
 */
Oid
steward_pending_detach_below(Oid relid, Oid *parent)
{
	List	   *tree = steward_partition_tree(relid);
	Oid			pending = InvalidOid;
	ListCell   *lc;

	for_each_from(lc, tree, 1)
	{
		if (PartitionHasPendingDetach(lfirst_oid(lc)))
		{
			pending = lfirst_oid(lc);
			if (parent != NULL)
				*parent = get_partition_parent(pending, true);
			break;
		}
	}
	list_free(tree);
	return pending;
}

/*
 * Read the pg_inherits rows with inhrelid = relid (by_parent false) or
 * inhparent = relid (true) with the catalog snapshot: each partition is
 * appended to *tree (if not NULL and not there yet: a table of a legacy
 * inheritance tree may have two parents), and to *pending, its parent to
 * *parents, when its DETACH PARTITION ... CONCURRENTLY is pending.  One
 * scan gives both, so a FINALIZE in between cannot make a second read
 * find no row (core's PartitionHasPendingDetach elogs then).
 */
static void
inherits_rows(Oid relid, bool by_parent, List **tree, List **pending, List **parents)
{
	Relation	catalog = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	ScanKeyInit(&key, by_parent ? Anum_pg_inherits_inhparent : Anum_pg_inherits_inhrelid,
				BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(catalog, by_parent ? InheritsParentIndexId : InheritsRelidSeqnoIndexId,
							  true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_inherits form = (Form_pg_inherits) GETSTRUCT(tup);

		if (tree != NULL)
		{
			if (list_member_oid(*tree, form->inhrelid))
				continue;
			*tree = lappend_oid(*tree, form->inhrelid);
		}
		if (form->inhdetachpending)
		{
			*pending = lappend_oid(*pending, form->inhrelid);
			*parents = lappend_oid(*parents, form->inhparent);
		}
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
}

/*
 * Every partition at or below relid (relid itself included) whose ALTER
 * TABLE ... DETACH PARTITION ... CONCURRENTLY is pending -- its second
 * phase still waiting for older transactions, or cancelled -- in the
 * order of steward_partition_tree (relid first, each parent before its
 * partitions); *parents gets the table each one is half detached from,
 * in the same order.  One walk down pg_inherits, reading each row's
 * inhdetachpending with it, for callers that lock nothing
 * (steward._pending_detaches: tracked_columns, verify()).  Takes
 * AccessShareLock on pg_inherits only; raises nothing.
 */
List *
steward_pending_detaches(Oid relid, List **parents)
{
	List	   *tree = list_make1_oid(relid);
	List	   *pending = NIL;
	ListCell   *lc;

	*parents = NIL;
	/* relid's own row, when it is a partition */
	inherits_rows(relid, false, NULL, &pending, parents);
	/* The list grows as it is walked: each level's children go last. */
	foreach(lc, tree)
		inherits_rows(lfirst_oid(lc), true, &tree, &pending, parents);
	list_free(tree);
	return pending;
}

/*
 * The table relid is half detached from -- its own pg_inherits row reads
 * inhdetachpending: its ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY
 * still waiting for older transactions, or cancelled -- or InvalidOid
 * when none (not a partition, or its detach is not pending).  The row
 * reader of steward_pending_detaches, for a caller with a list of
 * relations of its own (release.c half_detached_hint).  Takes
 * AccessShareLock on pg_inherits only; raises nothing.
 */
Oid
steward_pending_detach_parent(Oid relid)
{
	List	   *pending = NIL;
	List	   *parents = NIL;
	Oid			parent;

	inherits_rows(relid, false, NULL, &pending, &parents);
	parent = (parents != NIL) ? linitial_oid(parents) : InvalidOid;
	list_free(pending);
	list_free(parents);
	return parent;
}

/*
 * steward_partition_ancestors(relid) as an oid[] datum, nearest first,
 * palloc'd in the current memory context: for an SPI statement about one
 * relation, which reads its ancestors as unnest($n) WITH ORDINALITY (the
 * depth) rather than walking pg_inherits in SQL.  Locks and raises as
 * steward_partition_ancestors.
 */
Datum
steward_partition_ancestors_array(Oid relid)
{
	List	   *ancestors = steward_partition_ancestors(relid);
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(ancestors), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, ancestors)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	list_free(ancestors);
	return PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
}

/* Called with one table's rules (visit_rules_up); true stops the walk. */
typedef bool (*RulesVisit) (Oid relid, const RulesBuild *b, void *arg);

/*
 * Call visit with the rules each table declares for rel (open): rel's own
 * first, then its partitioned ancestors', nearest first (load_rules'
 * order), until it returns true.  Locks: AccessShareLock on
 * steward.column_rules, released before returning.
 */
static void
visit_rules_up(Relation rel, RulesVisit visit, void *arg)
{
	Oid			rulesoid = rules_table_oid();
	Relation	rulesrel;
	Snapshot	snapshot;
	List	   *relids;
	ListCell   *lc;

	if (!OidIsValid(rulesoid))
		return;
	rulesrel = table_open(rulesoid, AccessShareLock);
	snapshot = rules_snapshot();
	relids = list_make1_oid(RelationGetRelid(rel));
	if (rel->rd_rel->relispartition)
		relids = list_concat(relids, steward_partition_ancestors(RelationGetRelid(rel)));
	foreach(lc, relids)
	{
		RulesBuild *b = palloc0(sizeof(RulesBuild));
		bool		done;

		b->version_attnum = InvalidAttrNumber;
		scan_rules_for(rulesrel, snapshot, lfirst_oid(lc), rel, b);
		done = visit(lfirst_oid(lc), b, arg);
		pfree(b);
		if (done)
			break;
	}
	UnregisterSnapshot(snapshot);
	table_close(rulesrel, AccessShareLock);
	list_free(relids);
}

/* steward_column_rule_relid's search: the column, the kind, the table. */
typedef struct ColumnRuleSearch
{
	AttrNumber	attnum;
	bool		state;
	Oid			result;
} ColumnRuleSearch;

/* RulesVisit: does relid declare search's rule? */
static bool
visit_column_rule(Oid relid, const RulesBuild *b, void *arg)
{
	ColumnRuleSearch *search = (ColumnRuleSearch *) arg;
	AttrNumber	attnum = search->attnum;
	bool		state = search->state;

	if (!state && b->version_attnum == attnum)
		search->result = relid;
	for (int i = 0; !state && i < b->nsequences; i++)
		if (b->sequences[i].attnum == attnum)
			search->result = relid;
	for (int i = 0; state && i < b->nstates; i++)
		if (b->states[i].attnum == attnum)
			search->result = relid;
	for (int i = 0; state && i < b->nmissing; i++)
		if (b->missing[i].attnum == attnum)
			search->result = relid;
	return OidIsValid(search->result);
}

/*
 * The table whose version or sequence rule (state rule if "state") on
 * column attnum rel (open) follows: rel's own rule, else its nearest
 * partitioned ancestor's (the one load_rules keeps); InvalidOid when none.
 * For error paths: the exhausted version's HINT and the refusals of
 * untrack and detach_state_machine name where those work (mach11: the
 * HINT named the partition, whose untrack fails 42704 when the rule is its
 * parent's; review22 R1: the same for a state rule).  Locks:
 * AccessShareLock on steward.column_rules, released before returning.
 */
Oid
steward_column_rule_relid(Relation rel, AttrNumber attnum, bool state)
{
	ColumnRuleSearch search = {attnum, state, InvalidOid};

	if (attnum > 0)
		visit_rules_up(rel, visit_column_rule, &search);
	return search.result;
}

/* steward_two_version_columns' result: the nearest column, and another. */
typedef struct VersionColumns
{
	AttrNumber	near;
	Oid			near_relid;
	AttrNumber	far;
	Oid			far_relid;
} VersionColumns;

/* RulesVisit: keep relid's version column; stop at a second one. */
static bool
visit_version_rule(Oid relid, const RulesBuild *b, void *arg)
{
	VersionColumns *v = (VersionColumns *) arg;

	if (b->version_attnum == InvalidAttrNumber)
		return false;
	if (v->near == InvalidAttrNumber)
	{
		v->near = b->version_attnum;
		v->near_relid = relid;
		return false;
	}
	if (b->version_attnum == v->near)
		return false;
	v->far = b->version_attnum;
	v->far_relid = relid;
	return true;
}

/*
 * Two version rules on different columns reaching rel: its own and a
 * partitioned ancestor's, or two ancestors' (review23 item 4: "one version
 * column per table" read only the table's own rules, and load_rules keeps
 * the nearest, so the other went unenforced without a word).  Fills
 * *near (the column load_rules keeps) and *far with rel's attribute
 * numbers and *near_relid / *far_relid with the tables declaring them;
 * false when at most one column is tracked.  Locks: AccessShareLock on
 * steward.column_rules, released before returning.  Raises no error of
 * its own (the caller refuses: steward_check_one_version_column).
 */
bool
steward_two_version_columns(Relation rel, AttrNumber *near, Oid *near_relid,
							AttrNumber *far, Oid *far_relid)
{
	VersionColumns v = {InvalidAttrNumber, InvalidOid, InvalidAttrNumber, InvalidOid};

	visit_rules_up(rel, visit_version_rule, &v);
	*near = v.near;
	*near_relid = v.near_relid;
	*far = v.far;
	*far_relid = v.far_relid;
	return v.far != InvalidAttrNumber;
}

/* steward_version_columns_text's walk: each version column once. */
typedef struct VersionColumnsText
{
	Relation	rel;
	Bitmapset  *seen;			/* rel's attnums listed */
	List	   *items;			/* '"col" on relation "table"', nearest first */
} VersionColumnsText;

/* RulesVisit: list relid's version column unless a nearer table has. */
static bool
visit_version_text(Oid relid, const RulesBuild *b, void *arg)
{
	VersionColumnsText *v = (VersionColumnsText *) arg;

	if (b->version_attnum == InvalidAttrNumber || bms_is_member(b->version_attnum, v->seen))
		return false;
	v->seen = bms_add_member(v->seen, b->version_attnum);
	v->items = lappend(v->items,
					   psprintf("\"%s\" on relation \"%s\"",
								get_attname(RelationGetRelid(v->rel), b->version_attnum, false),
								get_rel_name(relid)));
	return false;
}

/*
 * Every version column reaching rel (open: its own rule's and its
 * partitioned ancestors'), nearest first, as text for a message:
 * '"a" on relation "t", "b" on relation "p" and "c" on relation "q"';
 * *ncolumns gets how many (for the 54000 of three or more, rules19 item
 * 3).  Locks: AccessShareLock on steward.column_rules, released before
 * returning.  Raises no error of its own.
 */
char *
steward_version_columns_text(Relation rel, int *ncolumns)
{
	VersionColumnsText v = {rel, NULL, NIL};
	StringInfoData buf;
	int			n;

	visit_rules_up(rel, visit_version_text, &v);
	n = list_length(v.items);
	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i == 0 ? "" : i == n - 1 ? " and " : ", ",
						 (char *) list_nth(v.items, i));
	*ncolumns = n;
	return buf.data;
}

/*
 * For the refusals of untrack and detach_state_machine on a partition
 * (42704) and the exhausted version's HINT: the schema-qualified, quoted name of the ancestor whose rule on
 * column colname of rel (open) the partition follows
 * (steward_column_rule_relid), or NULL when rel is no partition or none
 * has one.  Same locks.
 */
char *
steward_ancestor_rule_name(Relation rel, const char *colname, bool state)
{
	Oid			declarer;

	if (!rel->rd_rel->relispartition)
		return NULL;
	declarer = steward_column_rule_relid(rel, get_attnum(RelationGetRelid(rel), colname),
										 state);
	if (!OidIsValid(declarer) || declarer == RelationGetRelid(rel))
		return NULL;
	return steward_qualified_name(declarer);
}

/* The columns that identify a row: primary key, else replica identity. */
static void
load_row_key(Relation rel, StewardRules *rules)
{
	Oid			indexoid = RelationGetPrimaryKeyIndex(rel);
	Relation	index;

	rules->hot.natts = 0;
	rules->hot.indexoid = InvalidOid;
	if (!OidIsValid(indexoid))
		indexoid = RelationGetReplicaIndex(rel);
	if (!OidIsValid(indexoid))
		return;
	rules->hot.indexoid = indexoid;
	index = index_open(indexoid, AccessShareLock);
	for (int i = 0; i < index->rd_index->indnkeyatts && i < INDEX_MAX_KEYS; i++)
	{
		if (index->rd_index->indkey.values[i] <= 0)
		{
			rules->hot.natts = 0;
			break;
		}
		rules->hot.attnums[rules->hot.natts++] = index->rd_index->indkey.values[i];
	}
	index_close(index, AccessShareLock);
}

/*
 * The rules of rel, allocated in cxt; with_key: also the row key
 * (load_row_key), which opens the key index.
 */
static StewardRules *
load_rules(Relation rel, MemoryContext cxt, bool with_key)
{
	/* Too big for the stack; freed with the caller's memory context. */
	RulesBuild *b = palloc0(sizeof(RulesBuild));
	Oid			rulesoid = rules_table_oid();
	StewardRules *rules;
	Size		size;

	b->version_attnum = InvalidAttrNumber;

	if (OidIsValid(rulesoid))
	{
		Relation	rulesrel = table_open(rulesoid, AccessShareLock);
		Snapshot	snapshot = rules_snapshot();
		List	   *relids = list_make1_oid(RelationGetRelid(rel));
		ListCell   *lc;

		/* Rules of partitioned ancestors apply to their partitions. */
		if (rel->rd_rel->relispartition)
			relids = list_concat(relids,
								 steward_partition_ancestors(RelationGetRelid(rel)));

		foreach(lc, relids)
			scan_rules_for(rulesrel, snapshot, lfirst_oid(lc), rel, b);

		UnregisterSnapshot(snapshot);
		table_close(rulesrel, AccessShareLock);
		list_free(relids);
	}

	/*
	 * One chunk: header, then the sequence rules, then the state rules,
	 * then the other version columns.
	 */
	size = MAXALIGN(sizeof(StewardRules)) +
		MAXALIGN(b->nsequences * sizeof(SequenceRule)) +
		MAXALIGN(b->nstates * sizeof(StateRule)) +
		b->nother_versions * sizeof(AttrNumber);
	rules = MemoryContextAllocZero(cxt, size);
	rules->version_attnum = b->version_attnum;
	rules->nsequences = b->nsequences;
	rules->nstates = b->nstates;
	rules->sequences = (SequenceRule *) ((char *) rules + MAXALIGN(sizeof(StewardRules)));
	rules->states = (StateRule *) ((char *) rules->sequences +
								   MAXALIGN(b->nsequences * sizeof(SequenceRule)));
	memcpy(rules->sequences, b->sequences,
		   b->nsequences * sizeof(SequenceRule));
	memcpy(rules->states, b->states, b->nstates * sizeof(StateRule));
	rules->nmissing = b->nmissing;
	memcpy(rules->missing, b->missing, b->nmissing * sizeof(MissingStateRule));
	rules->too_many_states = b->too_many_states;
	rules->nother_versions = b->nother_versions;
	rules->other_versions = (AttrNumber *) ((char *) rules->states +
											MAXALIGN(b->nstates * sizeof(StateRule)));
	memcpy(rules->other_versions, b->other_versions,
		   b->nother_versions * sizeof(AttrNumber));
	if (with_key)
		load_row_key(rel, rules);
	else
		rules->hot.natts = 0;
	pfree(b);
	return rules;
}

uint64		steward_machines_generation = 1;

/*
 * Cached rules replaced because their machines' generation passed
 * (steward_cache_rules), freed at the end of the transaction: a write
 * callback further up the stack may still read them.
 */
static List *retired_rules = NIL;
static bool retired_callback_registered = false;

/* Transaction end: free the retired rules (no write path runs now). */
static void
free_retired_rules(XactEvent event, void *arg)
{
	if (retired_rules == NIL ||
		(event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		 event != XACT_EVENT_PREPARE && event != XACT_EVENT_PARALLEL_COMMIT &&
		 event != XACT_EVENT_PARALLEL_ABORT))
		return;
	list_free_deep(retired_rules);
	retired_rules = NIL;
}

/*
 * Make every cached rules struct of this backend stale: the next
 * steward_get_rules of each table loads its rules (and their machines)
 * again.  For lifecycle's relcache callback on steward.machine_definitions
 * (machine_load.c), which an ALTER TABLE of the catalog fires (a trigger
 * disabled and enabled around an UPDATE, a column's type changed with
 * USING): those change machines without the statement triggers that
 * invalidate the tables naming them (rules18 item 1).  Safe in an
 * invalidation callback: takes no lock, touches no catalog, allocates
 * nothing, raises nothing.
 */
void
steward_forget_machines(void)
{
	steward_machines_generation++;
}

/*
 * The rules of rel when rd_amcache does not hold them yet, or holds them
 * from before steward_forget_machines (steward_get_rules in rules.h):
 * loaded into rd_amcache (CacheMemoryContext) and kept until a relcache
 * invalidation of rel or the next steward_forget_machines.  The caller has
 * rel open with at least RowExclusiveLock.  Reads the catalog; raises what
 * that raises.
 */
const StewardRules *
steward_cache_rules(Relation rel)
{
	StewardRules *rules;
	uint64		generation = steward_machines_generation;

	/*
	 * Rules change only under a ShareRowExclusiveLock on the table (see
	 * rules_api.c), which conflicts with the RowExclusiveLock every writer
	 * holds, so what we load stays valid for the rest of this statement.
	 * A machine's definition changes without a lock on the tables: rows
	 * written after the change is seen here meet the new definition.
	 */
	rules = load_rules(rel, CacheMemoryContext, true);
	rules->machines_generation = generation;
	if (rel->rd_amcache != NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		if (!retired_callback_registered)
		{
			RegisterXactCallback(free_retired_rules, NULL);
			retired_callback_registered = true;
		}
		retired_rules = lappend(retired_rules, rel->rd_amcache);
		MemoryContextSwitchTo(old);
	}
	rel->rd_amcache = rules;
	return rules;
}

/*
 * Names of the columns whose values the AM sets under the rules stored on
 * relation "relid" itself (a version column; a state machine's changed_at
 * column), read with a fresh snapshot; the version column's name also in
 * *versions when "versions" is not NULL.  Opens no relation but the rules
 * table, so it may be called for relations the caller has not locked:
 * AccessShareLock on steward.column_rules, released before returning.
 * Raises 55000 when the rules table lacks a column (steward_catalog_attnum).
 */
List *
steward_rule_written_names(Oid relid, List **versions)
{
	Oid			rulesoid = rules_table_oid();
	Relation	rulesrel;
	Snapshot	snapshot;
	ScanKeyData key;
	TableScanDesc scan;
	TupleTableSlot *slot;
	List	   *names = NIL;
	AttrNumber	att_attname,
				att_kind,
				att_changed_at;

	if (!OidIsValid(rulesoid))
		return NIL;
	rulesrel = table_open(rulesoid, AccessShareLock);
	att_attname = steward_catalog_attnum(rulesrel, "attname");
	att_kind = steward_catalog_attnum(rulesrel, "kind");
	att_changed_at = steward_catalog_attnum(rulesrel, "changed_at");
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key, steward_catalog_attnum(rulesrel, "relid"), BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	slot = table_slot_create(rulesrel, NULL);
	scan = table_beginscan(rulesrel, snapshot, 1, &key);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		n1,
					n2,
					n3;
		Datum		attname = slot_getattr(slot, att_attname, &n1);
		Datum		kind = slot_getattr(slot, att_kind, &n2);
		Datum		changed_at = slot_getattr(slot, att_changed_at, &n3);

		if (!n1 && !n2 && strcmp(TextDatumGetCString(kind), "version") == 0)
		{
			names = lappend(names, pstrdup(NameStr(*DatumGetName(attname))));
			if (versions != NULL)
				*versions = lappend(*versions, pstrdup(NameStr(*DatumGetName(attname))));
		}
		if (!n3)
			names = lappend(names, pstrdup(NameStr(*DatumGetName(changed_at))));
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	table_close(rulesrel, AccessShareLock);
	return names;
}

/*
 * The rules that apply to "rel" (its own and its partition ancestors'), read
 * afresh into the current memory context, for any relation kind (a
 * partitioned table has no rd_amcache of ours), for the DDL checks
 * (written.c, storage_guard.c).  Without the row key (hot.natts 0), which
 * only the write paths' hot-rows sketch uses: loading it opens the key
 * index, and the event triggers must lock no relation their command did
 * not -- pg_restore -j deadlocked when the check after ALTER TABLE ...
 * ENABLE TRIGGER on a partitioned table waited for a partition's primary
 * key that ALTER INDEX ... ATTACH PARTITION held, while the attach waited
 * for the partitioned table (isolation spec ddl_check_locks).  Opens no
 * relation but the rules table and, for a state rule,
 * steward.machine_definitions, each with AccessShareLock released before
 * returning; rel must be open.  Raises 55000 when the rules table lacks a
 * column (steward_catalog_attnum), and 53200.
 */
StewardRules *
steward_load_rules(Relation rel)
{
	return load_rules(rel, CurrentMemoryContext, false);
}
