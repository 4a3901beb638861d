/*-------------------------------------------------------------------------
 *
 * storage_guard.c
 *	  Keeps DDL from putting rows where the rules of a table do not reach.
 *
 * Only the steward access method enforces rules.  Four DDL paths would
 * otherwise store rows under a table's rules without them:
 *
 *	* a partition that is not a steward table under a partitioned table
 *	  with rules (CREATE TABLE … PARTITION OF … USING heap, or without USING
 *	  while default_table_access_method is heap; ATTACH PARTITION of a heap
 *	  table or of a partitioned tree with heap leaves): refused, 0A000;
 *	* ALTER TABLE … SET ACCESS METHOD away from steward on a table that
 *	  rules reach (its own or a partitioned ancestor's): refused, 0A000 —
 *	  switching back could not tell which rows were written meanwhile;
 *	* an inheritance child (INHERITS, ALTER TABLE … INHERIT) of a table
 *	  with rules, and a rule on a table with inheritance children: an UPDATE
 *	  of the parent reaches the children's rows, which the parent's rules
 *	  do not check: refused, 0A000 (partitions are the way to split it);
 *	* ATTACH PARTITION of a steward table whose stored rows the new
 *	  ancestors' rules refuse (a version below 1 or NULL, a value the
 *	  machine does not declare): refused with the errors track_versions
 *	  and attach_state_machine raise on existing rows (23514).
 *
 * The checks run in the ddl_command_end event trigger
 * steward_rules_storage (tableam.sql; CREATE TABLE, ALTER TABLE, and CREATE
 * SCHEMA, whose CREATE TABLE elements are collected as commands of their
 * own; and CREATE TRIGGER, for the warning about BEFORE UPDATE triggers on a
 * table with a version rule, which ATTACH PARTITION gives too) on the commands the event trigger
 * machinery collected, whose subcommands tell ATTACH PARTITION and SET
 * ACCESS METHOD apart (as src/test/modules/test_ddl_deparse reads them).
 * The command has run by then, so catalogs show the new state; an error
 * rolls it back.  Foreign-table partitions are left alone: the rules there
 * are the remote table's (docs/relayout.md, "A partition to another node").
 *
 * The same event trigger keeps the firing state of the extension's own
 * triggers on its catalogs (keep_trigger_states, rules20 item 4): they are
 * made ENABLE ALWAYS (the pair column_rules_changed / column_rules_replica
 * ORIGIN / REPLICA), so they fire in a logical replication apply worker
 * and under session_replication_role = replica, but ALTER TABLE ...
 * ENABLE TRIGGER [name | ALL | USER] sets ORIGIN, and pg_restore
 * --data-only --disable-triggers (pg_dump --data-only --disable-triggers
 * alike) ends the data of each table with ENABLE TRIGGER ALL.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/parsenodes.h"
#include "tcop/deparse_utility.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "tableam/rulekinds.h"
#include "tableam/rules.h"
#include "tableam/rules_api.h"

PG_FUNCTION_INFO_V1(steward_rules_on_storage_ddl);

/* What the DDL did to the relation being checked, for the HINT. */
typedef enum StorageDdl
{
	DDL_CREATE_PARTITION,
	DDL_ATTACH_PARTITION,
	DDL_SET_ACCESS_METHOD
} StorageDdl;

/* One rule that reaches a relation, and the relation carrying it. */
typedef struct ReachingRule
{
	Oid			holder;
	char	   *holder_name;	/* regclass output, qualified as needed */
	char	   *attname;
	char	   *kind;
} ReachingRule;

/* relids as an oid[] Datum, in their order. */
static Datum
oid_array(List *relids)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(relids), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, relids)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	return PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid),
										   true, TYPALIGN_INT));
}

/* relid and its partitioned ancestors, nearest first. */
static List *
self_and_ancestor_list(Oid relid)
{
	List	   *relids = list_make1_oid(relid);

	if (get_rel_relispartition(relid))
		relids = list_concat(relids, steward_partition_ancestors(relid));
	return relids;
}


/*
 * Every inheritor of relid, at any depth (partitions and inheritance
 * children), relid itself left out.  Not locked here: called for a DDL
 * that recursed to them, which holds their locks.
 */
static List *
inheritors(Oid relid)
{
	if (!has_subclass(relid))
		return NIL;
	return list_delete_first(find_all_inheritors(relid, NoLock, NULL));
}

/*
 * The first rule stored for one of relids (in their order), of kind kind
 * (NULL: any); false if there is none.  Reads steward.column_rules as the
 * owner of the extension's tables.
 */
static bool
rule_on(List *relids, const char *kind, ReachingRule *found)
{
	Oid			argtypes[2] = {OIDARRAYOID, TEXTOID};
	Datum		args[2];
	StewardAsOwner ctx;
	bool		any = false;
	MemoryContext caller_cxt = CurrentMemoryContext;

	args[0] = oid_array(relids);
	args[1] = kind != NULL ? CStringGetTextDatum(kind) : (Datum) 0;

	/*
	 * In a snapshot taken now, so that a rule committed while this DDL
	 * waited for its lock is seen (see steward_check_partitions_use_steward
	 * for the other side), also by a REPEATABLE READ transaction whose own
	 * snapshot predates the rule (review13 R13-11): as the rest of this
	 * file's reads of steward.column_rules.
	 */
	steward_enter_rules_owner(&ctx);
	if (steward_spi_read_latest("SELECT r.relid::pg_catalog.oid, r.relid::pg_catalog.text,"
							    "       r.attname::pg_catalog.text, r.kind"
							    "  FROM steward.column_rules r"
							    " WHERE r.relid::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)"
							    "   AND ($2 IS NULL OR r.kind::pg_catalog.text OPERATOR(pg_catalog.=) $2)"
							    " ORDER BY pg_catalog.array_position($1, r.relid::pg_catalog.oid),"
							    "          r.attname LIMIT 1",
							    2, argtypes, args, kind != NULL ? "  " : " n", 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.column_rules");
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		/* The strings outlive SPI_finish(). */
		MemoryContext spi_cxt = MemoryContextSwitchTo(caller_cxt);

		found->holder = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
		found->holder_name = pstrdup(SPI_getvalue(tup, desc, 2));
		found->attname = pstrdup(SPI_getvalue(tup, desc, 3));
		found->kind = pstrdup(SPI_getvalue(tup, desc, 4));
		MemoryContextSwitchTo(spi_cxt);
		any = true;
	}
	steward_as_owner_end(&ctx);
	return any;
}

/*
 * The first rule (the relation's own first, then its nearest ancestor's)
 * stored for relid or a partitioned ancestor, of kind kind (NULL: any);
 * false if there is none.
 */
static bool
rule_reaching(Oid relid, const char *kind, ReachingRule *found)
{
	return rule_on(self_and_ancestor_list(relid), kind, found);
}

/*
 * The HINT for a partition relid that an ancestor's rule (on holder)
 * reaches: detach it from its parent, or, when a DETACH PARTITION ...
 * CONCURRENTLY of relid or of a partition between it and holder is
 * pending (review25 W3: the rules apply until FINALIZE, and a second
 * DETACH is refused while one is pending), end that one, in the words
 * of every report of a half-detached partition
 * (steward_half_detached_step: it may still be waiting).  It runs
 * without a lock on the tree, so it walks with the extension's readers,
 * which raise nothing: steward_partition_ancestors, and
 * steward_pending_detach_parent, which reads each pg_inherits row once
 * with its inhdetachpending.  Core's PartitionHasPendingDetach and
 * get_partition_parent raise XX000 when a FINALIZE commits between the
 * syscache's relispartition and their pg_inherits scan (evolve12).
 * Reads pg_inherits and the syscache; no lock; raises nothing.
 */
static char *
ancestor_rule_hint(Oid relid, Oid holder)
{
	List	   *ancestors = steward_partition_ancestors(relid);
	Oid			part = relid;
	ListCell   *lc;

	foreach(lc, ancestors)
	{
		Oid			parent;

		if (part == holder)
			break;
		parent = steward_pending_detach_parent(part);
		if (OidIsValid(parent))
			return psprintf("%s.", steward_half_detached_step(part, parent, true));
		part = lfirst_oid(lc);
	}
	if (ancestors == NIL)
		return pstrdup("Detach it from its partitioned table first.");
	return psprintf("Detach it from the partitioned table first: ALTER TABLE %s DETACH PARTITION %s;",
					steward_qualified_name(linitial_oid(ancestors)),
					steward_qualified_name(relid));
}

/*
 * Refuse when relid is an ordinary table that rules reach and that does not
 * use the steward access method.  Other relation kinds pass: partitioned
 * tables store nothing, foreign tables are another server's.
 */
static void
check_leaf_storage(Oid relid, StorageDdl ddl)
{
	HeapTuple	tup;
	Form_pg_class form;
	Oid			relam;
	char		relkind;
	ReachingRule rule;
	char	   *amname;
	char	   *relname;
	char	   *detail;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return;
	form = (Form_pg_class) GETSTRUCT(tup);
	relam = form->relam;
	relkind = form->relkind;
	ReleaseSysCache(tup);
	if (relkind != RELKIND_RELATION ||
		relam == get_table_am_oid(STEWARD_TABLE_AM, false))
		return;
	if (!rule_reaching(relid, NULL, &rule))
		return;

	amname = get_am_name(relam);
	relname = get_rel_name(relid);
	detail = psprintf("The %s rule on column \"%s\" of relation \"%s\" applies to it, and only access method \"%s\" enforces rules.",
					  rule.kind, rule.attname, get_rel_name(rule.holder), STEWARD_TABLE_AM);

	if (ddl == DDL_SET_ACCESS_METHOD)
	{
		char	   *hint;

		if (rule.holder != relid)
			hint = ancestor_rule_hint(relid, rule.holder);
		else if (strcmp(rule.kind, "state") == 0)
			hint = psprintf("Detach the machine first with SELECT steward.detach_state_machine(%s, %s), or release the table with SELECT * FROM steward.release(%s).",
							quote_literal_cstr(rule.holder_name), quote_literal_cstr(rule.attname),
							quote_literal_cstr(rule.holder_name));
		else
			hint = psprintf("Remove the rule first with SELECT steward.untrack(%s, %s), or release the table with SELECT * FROM steward.release(%s).",
							quote_literal_cstr(rule.holder_name), quote_literal_cstr(rule.attname),
							quote_literal_cstr(rule.holder_name));
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot change the access method of relation \"%s\" to \"%s\" while rules apply to it",
						relname, amname),
				 errdetail_internal("%s", detail),
				 errhint("%s", hint)));
	}
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("partition \"%s\" uses access method \"%s\", not \"%s\"",
					relname, amname, STEWARD_TABLE_AM),
			 errdetail_internal("%s", detail),
			 ddl == DDL_CREATE_PARTITION ?
			 errhint("Create the partition USING %s (or SET default_table_access_method = %s).",
					 STEWARD_TABLE_AM, STEWARD_TABLE_AM) :
			 errhint("Convert it first: ALTER TABLE %s SET ACCESS METHOD %s;",
					 steward_qualified_name(relid), STEWARD_TABLE_AM)));
}

/* check_leaf_storage for relid and every partition below it. */
static void
check_tree_storage(Oid relid, StorageDdl ddl)
{
	List	   *relids = find_all_inheritors(relid, NoLock, NULL);
	ListCell   *lc;

	foreach(lc, relids)
		check_leaf_storage(lfirst_oid(lc), ddl);
	list_free(relids);
}

/*
 * The HINT of steward_check_partitions_use_steward: the ALTER TABLE that
 * converts each partition of rel in other (OIDs of the leaves that are not
 * steward tables), up to ten of them; past ten, a query whose rows are
 * those statements (for psql's \gexec), so the HINT stays readable for a
 * table of hundreds of partitions.
 */
static char *
heap_partitions_hint(Relation rel, List *other)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	if (list_length(other) > 10)
	{
		appendStringInfo(&buf,
						 "Convert them first; these statements are the rows of: "
						 "SELECT format('ALTER TABLE %%s SET ACCESS METHOD %s;', c.oid::regclass) "
						 "FROM pg_partition_tree(%s) t JOIN pg_class c ON c.oid = t.relid "
						 "JOIN pg_am a ON a.oid = c.relam "
						 "WHERE c.relkind = 'r' AND a.amname <> '%s' ORDER BY 1",
						 STEWARD_TABLE_AM,
						 quote_literal_cstr(steward_qualified_name(RelationGetRelid(rel))),
						 STEWARD_TABLE_AM);
		return buf.data;
	}
	appendStringInfoString(&buf, list_length(other) == 1 ?
						   "Convert it first:" : "Convert them first:");
	foreach(lc, other)
		appendStringInfo(&buf, " ALTER TABLE %s SET ACCESS METHOD %s;",
						 steward_qualified_name(lfirst_oid(lc)), STEWARD_TABLE_AM);
	return buf.data;
}

/*
 * A partitioned table that is given a rule must store every row in steward
 * partitions.  rel is open with ShareRowExclusiveLock, which keeps
 * partitions from being created or attached meanwhile; AccessShareLock on
 * every partition waits for a SET ACCESS METHOD in progress and makes a
 * later one wait for this transaction, whose rule its check then sees.
 * Raises 42809 naming the first partition that is not a steward table;
 * its HINT gives the ALTER TABLE of every such partition (heap_partitions_hint),
 * so that one round of conversions is enough, not one round per partition.
 */
void
steward_check_partitions_use_steward(Relation rel)
{
	List	   *relids = find_all_inheritors(RelationGetRelid(rel), AccessShareLock, NULL);
	List	   *other = NIL;
	ListCell   *lc;
	Oid			steward_am = get_table_am_oid(STEWARD_TABLE_AM, false);

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);

		HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		bool		other_am;

		if (!HeapTupleIsValid(tup))
			continue;
		other_am = ((Form_pg_class) GETSTRUCT(tup))->relkind == RELKIND_RELATION &&
			((Form_pg_class) GETSTRUCT(tup))->relam != steward_am;
		ReleaseSysCache(tup);
		if (other_am)
			other = lappend_oid(other, relid);
	}
	if (other != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("partition \"%s\" of relation \"%s\" does not use access method \"%s\"",
						get_rel_name(linitial_oid(other)), RelationGetRelationName(rel),
						STEWARD_TABLE_AM),
				 list_length(other) == 1 ?
				 errdetail("Only access method \"%s\" enforces rules.", STEWARD_TABLE_AM) :
				 errdetail("Only access method \"%s\" enforces rules; %d partitions use another.",
						   STEWARD_TABLE_AM, list_length(other)),
				 errhint("%s", heap_partitions_hint(rel, other))));
	list_free(relids);
}

/*
 * A leaf of an attached tree whose state rules, its own and its new
 * ancestors', add up past STEWARD_MAX_STATE_RULES: refused (54000) when it
 * stores rows, as a SECURITY LABEL making a 9th rule on such a table is
 * (review20 F5); an empty one is kept with a WARNING, as a label on an
 * empty table is, since that is what a restore of a tree already past the
 * cap sends (codereview9 M2): pg_dump writes the partition and its labels
 * as a standalone table, then ATTACH PARTITION, then the rows, and such a
 * tree is made by a label on an empty table or a row written into
 * column_rules (both kept with a WARNING) or by 0.1.  Refused, the restore
 * would leave the partition detached and its rows outside the tree.
 * Either way the table refuses writes until a machine is detached.
 */
static void
refuse_attached_past_cap(Relation rel, Oid parent)
{
	bool		stored = steward_relation_stores_rows(RelationGetRelid(rel));

	ereport(stored ? ERROR : WARNING,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("partition \"%s\" would have more than %d state machines under relation \"%s\"",
					RelationGetRelationName(rel), STEWARD_MAX_STATE_RULES,
					get_rel_name(parent)),
			 stored ?
			 errdetail("pg_steward enforces at most %d state machines per table, counting those of its partitioned ancestors, and the partition stores rows.",
					   STEWARD_MAX_STATE_RULES) :
			 errdetail("pg_steward enforces at most %d state machines per table, counting those of its partitioned ancestors: the partition is attached, but INSERT, COPY and UPDATE of it are refused until one is detached.",
					   STEWARD_MAX_STATE_RULES),
			 errhint("Detach a state machine of the partition or of its new ancestors with steward.detach_state_machine(table, column)%s.",
					 stored ? " first" : "")));
}

/*
 * A partition (tree) attached under parent: every leaf must be a steward
 * table, and its stored rows must satisfy every rule that now reaches it,
 * checked as track_versions and attach_state_machine check them (as the
 * leaf's owner; the DDL holds AccessExclusiveLock on the attached tree).
 * Sequences take any stored value.
 */
static void
check_attached(Oid parent, Oid attached)
{
	ReachingRule rule;
	List	   *relids;
	ListCell   *lc;

	if (!OidIsValid(attached) || !rule_reaching(parent, NULL, &rule))
		return;
	check_tree_storage(attached, DDL_ATTACH_PARTITION);
	steward_check_one_version_column(attached, InvalidOid, false);

	relids = find_all_inheritors(attached, NoLock, NULL);
	foreach(lc, relids)
	{
		Relation	rel;
		StewardRules *rules;

		if (get_rel_relkind(lfirst_oid(lc)) != RELKIND_RELATION)
			continue;
		rel = table_open(lfirst_oid(lc), NoLock);
		rules = steward_load_rules(rel);
		if (rules->too_many_states)
			refuse_attached_past_cap(rel, parent);
		if (rules->version_attnum != InvalidAttrNumber)
			steward_check_existing_versions(rel,
											NameStr(TupleDescAttr(RelationGetDescr(rel),
																  rules->version_attnum - 1)->attname));
		for (int i = 0; i < rules->nstates; i++)
			steward_rule_kinds.check_stored_states(rel, &rules->states[i]);
		/* Its rows entered states without being counted. */
		if (rules->nstates > 0)
			steward_rule_kinds.state_counts_unknown(rel, rules);
		pfree(rules);
		table_close(rel, NoLock);
	}
	list_free(relids);
}

/*
 * True when trigger tgoid is a clone of a trigger of a table outside
 * tree (the tables of an attached partition tree): PostgreSQL cloned
 * it from a new ancestor's trigger at ATTACH.
 */
static bool
cloned_from_outside(Oid tgoid, List *tree)
{
	Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
	bool		result = false;

	for (int hops = 0; OidIsValid(tgoid) && hops < 100; hops++)
	{
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;
		Oid			relid = InvalidOid;

		ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(tgoid));
		scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, &key);
		tgoid = InvalidOid;
		if (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			relid = ((Form_pg_trigger) GETSTRUCT(tup))->tgrelid;
			tgoid = ((Form_pg_trigger) GETSTRUCT(tup))->tgparentid;
		}
		systable_endscan(scan);
		if (OidIsValid(relid) && !list_member_oid(tree, relid))
		{
			result = true;
			break;
		}
	}
	table_close(tgrel, AccessShareLock);
	return result;
}

/*
 * ATTACH PARTITION of a table (or tree) under parent.  A BEFORE UPDATE row
 * trigger runs before the access method judges the row, so a table a
 * version rule reaches warns, once per trigger, as CREATE TRIGGER on it
 * would (check_trigger), about:
 *	- each trigger the attached tables had of their own, when a version
 *	  rule now reaches them from above (parent's own or a partitioned
 *	  ancestor's), since they may have had none before;
 *	- each trigger of the new ancestors PostgreSQL cloned onto an attached
 *	  table that a version rule of the attached tree reaches (its own or an
 *	  attached ancestor's): warned about at its CREATE TRIGGER only if a
 *	  rule reached the ancestor then (recheck10 N4).
 * Other clones (of a trigger of the attached tree, warned about on the
 * table that has it; of an ancestor's, with only the ancestors' rule,
 * warned about at its CREATE TRIGGER), internal, disabled and
 * pg_steward's own (zz_steward_*) triggers are left out.  The command
 * holds AccessExclusiveLock on the attached tables.
 */
static void
check_attached_triggers(Oid parent, Oid attached)
{
	ReachingRule rule;
	bool		from_above;
	List	   *relids;
	ListCell   *lc;

	if (!OidIsValid(attached))
		return;
	from_above = rule_reaching(parent, "version", &rule);

	relids = find_all_inheritors(attached, NoLock, NULL);
	foreach(lc, relids)
	{
		Relation	rel = table_open(lfirst_oid(lc), NoLock);
		TriggerDesc *trigdesc = rel->trigdesc;
		List	   *within = NIL;
		ReachingRule own;
		bool		own_checked = false;
		bool		has_own = false;
		ListCell   *la;

		for (int i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
		{
			Trigger    *t = &trigdesc->triggers[i];

			if (t->tgisinternal || t->tgenabled == TRIGGER_DISABLED ||
				!TRIGGER_FOR_ROW(t->tgtype) || !TRIGGER_FOR_BEFORE(t->tgtype) ||
				!TRIGGER_FOR_UPDATE(t->tgtype) ||
				strncmp(t->tgname, "zz_steward_", strlen("zz_steward_")) == 0)
				continue;
			if (!t->tgisclone)
			{
				if (from_above)
					steward_warn_version_trigger(t->tgname, RelationGetRelationName(rel),
												 rule.attname);
				continue;
			}
			if (!own_checked)
			{
				/* rel and its ancestors up to the attached table. */
				foreach(la, self_and_ancestor_list(RelationGetRelid(rel)))
				{
					within = lappend_oid(within, lfirst_oid(la));
					if (lfirst_oid(la) == attached)
						break;
				}
				has_own = rule_on(within, "version", &own);
				own_checked = true;
			}
			if (has_own && cloned_from_outside(t->tgoid, relids))
				steward_warn_version_trigger(t->tgname, RelationGetRelationName(rel), own.attname);
		}
		table_close(rel, NoLock);
	}
	list_free(relids);
}

/*
 * The table an ATTACH PARTITION subcommand attached.  PostgreSQL 15 does not
 * report it in the subcommand's address (later releases do), so it is
 * looked up from the statement's name for it, as the command looked it up
 * moments ago in this session; the command holds AccessExclusiveLock on it.
 */
static Oid
attached_relid(CollectedATSubcmd *sub, AlterTableCmd *atc)
{
	PartitionCmd *pcmd = (PartitionCmd *) atc->def;

	if (sub->address.classId == RelationRelationId && OidIsValid(sub->address.objectId))
		return sub->address.objectId;
	if (pcmd == NULL || !IsA(pcmd, PartitionCmd) || pcmd->name == NULL)
		return InvalidOid;
	return RangeVarGetRelid(pcmd->name, NoLock, true);
}

/*
 * Refuse an inheritance child (INHERITS, ALTER TABLE ... INHERIT) of a
 * table that rules reach: an UPDATE of the parent reaches the child's rows,
 * which its own rules (none) would let through, and partitions are how a
 * table with rules is split.  0A000.
 */
static void
check_inheritance_parents(Oid child)
{
	Relation	inh = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	List	   *parents = NIL;
	ListCell   *lc;

	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(child));
	scan = systable_beginscan(inh, InheritsRelidSeqnoIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		parents = lappend_oid(parents, ((Form_pg_inherits) GETSTRUCT(tup))->inhparent);
	systable_endscan(scan);
	table_close(inh, AccessShareLock);

	foreach(lc, parents)
	{
		ReachingRule rule;

		if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_PARTITIONED_TABLE ||
			!rule_reaching(lfirst_oid(lc), NULL, &rule))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" cannot inherit from \"%s\", which has pg_steward rules",
						get_rel_name(child), get_rel_name(lfirst_oid(lc))),
				 errdetail("An UPDATE of \"%s\" would reach the child's rows, where its %s rule on column \"%s\" does not apply.",
						   get_rel_name(rule.holder), rule.kind, rule.attname),
				 errhint("Use a partitioned table with steward partitions instead.")));
	}
	list_free(parents);
}

/*
 * A table about to carry a rule must have no inheritance children (see
 * check_inheritance_parents); partitions are checked by
 * steward_check_partitions_use_steward.  0A000.  Takes AccessShareLock on
 * each child found, held to transaction end.
 */
void
steward_check_no_inheritance_children(Relation rel)
{
	List	   *children;

	if (rel->rd_rel->relkind != RELKIND_RELATION || !rel->rd_rel->relhassubclass)
		return;
	children = find_inheritance_children(RelationGetRelid(rel), AccessShareLock);
	if (children != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("table \"%s\" has inheritance child \"%s\"",
						RelationGetRelationName(rel), get_rel_name(linitial_oid(children))),
				 errdetail("An UPDATE of the table would reach the children's rows, where its rules do not apply."),
				 errhint("Use a partitioned table with steward partitions instead, or ALTER TABLE ... NO INHERIT the children first.")));
}

/*
 * The first row of a read of the rules (sql, as the extension's owner,
 * with the latest snapshot), its first ncols columns as text palloc'd in
 * the caller's memory context; NULL when the read finds no row.  For the
 * checks of ALTER COLUMN ... TYPE, which name what they found.
 */
static char **
first_rule_row(const char *sql, int nargs, Oid *argtypes, Datum *args, int ncols)
{
	StewardAsOwner ctx;
	char	  **row = NULL;
	MemoryContext caller_cxt = CurrentMemoryContext;

	steward_enter_rules_owner(&ctx);
	if (steward_spi_read_latest(sql, nargs, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.column_rules");
	if (SPI_processed > 0)
	{
		MemoryContext spi_cxt = MemoryContextSwitchTo(caller_cxt);

		row = palloc(sizeof(char *) * ncols);
		for (int i = 0; i < ncols; i++)
			row[i] = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1);
		MemoryContextSwitchTo(spi_cxt);
	}
	steward_as_owner_end(&ctx);
	return row;
}

/*
 * ALTER TABLE … ALTER COLUMN … TYPE … USING on a column a rule checks (a
 * version, sequence or state column, or a machine's changed_at) of relid,
 * of a partitioned ancestor, or of any inheritor of relid (a partition or
 * inheritance child at any depth: the statement recurses to them and
 * rewrites their rows too, and core refuses it on a partition alone): the
 * rewrite stores every row with the USING expression's value, past the
 * rules (a table rewrite writes a new relation, which has none), so a
 * shipped order could become "created" or a version -5, and the rules
 * would still say enforced.  Refused, 0A000, naming the nearest rule (the
 * table's own, then its ancestors', then its inheritors').  A type change
 * without USING keeps every value (assignment coercion, and the rules
 * refuse types they cannot check), so it stays allowed.
 */
static void
check_retype_using(Oid relid, const char *column)
{
	Oid			argtypes[2] = {OIDARRAYOID, TEXTOID};
	Datum		args[2];
	char	  **row;
	char	   *holder;
	char	   *kind;
	char	   *statecol;

	args[0] = oid_array(list_concat(self_and_ancestor_list(relid), inheritors(relid)));
	args[1] = CStringGetTextDatum(column);
	row = first_rule_row("SELECT r.relid::pg_catalog.text, r.attname::pg_catalog.text,"
						 "       CASE WHEN r.attname OPERATOR(pg_catalog.=) $2::pg_catalog.name"
						 "            THEN r.kind ELSE 'changed_at' END"
						 "  FROM steward.column_rules r"
						 " WHERE r.relid::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)"
						 "   AND (r.attname OPERATOR(pg_catalog.=) $2::pg_catalog.name"
						 "        OR r.changed_at OPERATOR(pg_catalog.=) $2::pg_catalog.name)"
						 " ORDER BY pg_catalog.array_position($1, r.relid::pg_catalog.oid) LIMIT 1",
						 2, argtypes, args, 3);
	if (row == NULL)
		return;
	holder = row[0];
	statecol = row[1];
	kind = row[2];
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot rewrite column \"%s\" of relation \"%s\" with USING: pg_steward's rules check it",
					column, get_rel_name(relid)),
			 strcmp(kind, "changed_at") == 0 ?
			 errdetail("ALTER COLUMN ... TYPE ... USING stores every row with the expression's value, which no rule checks (the changed_at column of the state machine of column \"%s\" of %s).",
					   statecol, holder) :
			 errdetail("ALTER COLUMN ... TYPE ... USING stores every row with the expression's value, which no rule checks (the %s rule of %s).",
					   kind, holder),
			 errhint(strcmp(kind, "state") == 0 || strcmp(kind, "changed_at") == 0 ?
					 "Leave out USING, or call steward.detach_state_machine first and attach the machine again afterwards (which checks the stored rows)." :
					 "Leave out USING, or call steward.untrack first and track the column again afterwards (which checks the stored rows).")));
}

/*
 * Refuse (elevel ERROR) or report (WARNING: a rule a restore brings is
 * kept, steward_check_states_fit) with 42804 a state that a varchar(n)
 * state column (column of relid, typid/typmod its type) cannot store
 * unchanged: msg is the message;
 * "how" names what would store the states ("the conversion", "a write");
 * states lists those longer than n, quoted, found in holder's machine;
 * longest is the longest state's length in characters.  Varchar's length
 * coercion drops spaces past n and refuses any other character, so a
 * state 'a ' stored as 'a' would move its row between states past the
 * rules.  One wording for every path that can make a state not fit
 * (ALTER COLUMN ... TYPE, add_transition, attach_state_machine, a rule
 * a label or a restore's rows bring).
 */
static void
report_long_states(int elevel, const char *msg, const char *how, Oid relid, const char *column,
				   Oid typid, int32 typmod, const char *holder, const char *states,
				   int32 longest)
{
	ereport(elevel,
			(errcode(ERRCODE_DATATYPE_MISMATCH),
			 errmsg_internal("%s", msg),
			 errdetail_plural("Type %s keeps %d character; %s drops spaces past it and refuses any other character, so rows could move between states past the rules. States longer than that (machine of %s): %s.",
							  "Type %s keeps %d characters; %s drops spaces past them and refuses any other character, so rows could move between states past the rules. States longer than that (machine of %s): %s.",
							  typmod - (int32) VARHDRSZ,
							  format_type_with_typemod(typid, typmod), typmod - (int32) VARHDRSZ,
							  how, holder, states),
			 errhint("Keep room for the longest state: ALTER TABLE %s ALTER COLUMN %s TYPE character varying(%d); or use text.",
					 steward_qualified_name(relid), quote_identifier(column), longest)));
}

/*
 * The states of machine ("states", a text[] datum: the machine's own for
 * attach_state_machine and a restored rule, the new ones for
 * add_transition) must fit state column column of relid unchanged: when
 * it is varchar(n), a state longer than n characters, which a write would
 * refuse (22001) or, past n in spaces only, store as another state, is
 * refused (42804, report_long_states) for STEWARD_FIT_ATTACH and
 * STEWARD_FIT_ADD (the message names the call), and reported with a
 * WARNING for STEWARD_FIT_RESTORE: the rule a restore brings is kept, as
 * in the source, where writes to such a state fail the same way; refused,
 * a partial restore would leave the column unchecked.  Text and unlimited
 * varchar keep every state.  Reads the catalogs only; the caller holds
 * the table's lock.
 */
void
steward_check_states_fit(Oid relid, const char *column, const char *machine,
						 Datum states, StewardStatesFitCall call)
{
	AttrNumber	attnum = get_attnum(relid, column);
	Oid			typid;
	int32		typmod;
	Oid			collid;
	Datum	   *names;
	int			n;
	int32		limit;
	int32		longest = 0;
	StringInfoData toolong;
	char	   *first = NULL;
	char	   *msg;

	if (attnum == InvalidAttrNumber)
		return;
	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	if (typid != VARCHAROID || typmod < (int32) VARHDRSZ)
		return;
	limit = typmod - (int32) VARHDRSZ;
	deconstruct_array(DatumGetArrayTypeP(states), TEXTOID, -1, false, TYPALIGN_INT,
					  &names, NULL, &n);
	initStringInfo(&toolong);
	for (int i = 0; i < n; i++)
	{
		char	   *state = TextDatumGetCString(names[i]);
		int32		len = pg_mbstrlen(state);

		longest = Max(longest, len);
		if (len > limit && first == NULL)
			first = state;
		if (len > limit)
			appendStringInfo(&toolong, "%s%s", toolong.len > 0 ? ", " : "",
							 quote_literal_cstr(state));
	}
	if (toolong.len == 0)
		return;
	if (call == STEWARD_FIT_ADD)
		msg = psprintf("cannot add state \"%s\" to machine \"%s\": state column \"%s\" of relation \"%s\" is of type %s",
					   first, machine, column, get_rel_name(relid),
					   format_type_with_typemod(typid, typmod));
	else if (call == STEWARD_FIT_ATTACH)
		msg = psprintf("cannot attach machine \"%s\" to state column \"%s\" of relation \"%s\": its states do not fit type %s",
					   machine, column, get_rel_name(relid),
					   format_type_with_typemod(typid, typmod));
	else
		msg = psprintf("states of machine \"%s\" do not fit state column \"%s\" of relation \"%s\" of type %s",
					   machine, column, get_rel_name(relid),
					   format_type_with_typemod(typid, typmod));
	report_long_states(call == STEWARD_FIT_RESTORE ? WARNING : ERROR, msg,
					   "a write", relid, column, typid, typmod,
					   get_rel_name(relid), toolong.data, longest);
}

/*
 * ALTER TABLE … ALTER COLUMN … TYPE varchar(n) of a state column of relid,
 * of a partitioned ancestor, or of an inheritor (the statement recurses
 * to them): the rewrite converts every row with varchar's length
 * coercion, which drops trailing spaces past n and refuses other
 * characters past n, so with states 'a ' and 'a' a row in 'a ' silently
 * became 'a', moved between states past the rules (review29).  The rules
 * let rows hold declared states only, so the change is safe exactly when
 * every declared state of the column's machine survives the conversion
 * unchanged (the converted states then stay as distinct as they were):
 * one look at the machine, no scan of the rows.  Refused, 42804, naming
 * the states that would not (the nearest machine's: the table's own,
 * then its ancestors', then its inheritors').
 *
 * Only varchar(n) can change a state here: a state column stays text or
 * varchar (steward._rules_on_alter_table, an event trigger whose name
 * sorts first, refuses char(n), domains, enums, citext and every other
 * type, 42804), text and unlimited varchar keep every value, a new
 * collation must stay deterministic (byte-equal states), and USING is
 * refused (check_retype_using).  Takes no lock of its own: the ALTER
 * TABLE holds the table's.
 */
static void
check_retype_states(Oid relid, const char *column)
{
	AttrNumber	attnum = get_attnum(relid, column);
	Oid			typid;
	int32		typmod;
	Oid			collid;
	Oid			argtypes[3] = {OIDARRAYOID, TEXTOID, INT4OID};
	Datum		args[3];
	char	  **row;
	char	   *holder;
	char	   *machine;
	char	   *states;
	int32		longest;

	if (attnum == InvalidAttrNumber)
		return;
	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	if (typid != VARCHAROID || typmod < (int32) VARHDRSZ)
		return;
	args[0] = oid_array(list_concat(self_and_ancestor_list(relid), inheritors(relid)));
	args[1] = CStringGetTextDatum(column);
	args[2] = Int32GetDatum(typmod - (int32) VARHDRSZ);
	row = first_rule_row("SELECT r.relid::pg_catalog.text, r.machine,"
						 "       pg_catalog.string_agg(pg_catalog.quote_literal(u.s), ', ' ORDER BY u.o)"
						 "         FILTER (WHERE pg_catalog.char_length(u.s) OPERATOR(pg_catalog.>) $3),"
						 "       pg_catalog.max(pg_catalog.char_length(u.s))"
						 "  FROM steward.column_rules r"
						 "  JOIN steward.machine_definitions m ON m.name OPERATOR(pg_catalog.=) r.machine"
						 " CROSS JOIN LATERAL pg_catalog.unnest(m.states) WITH ORDINALITY AS u(s, o)"
						 " WHERE r.relid::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)"
						 "   AND r.attname OPERATOR(pg_catalog.=) $2::pg_catalog.name"
						 "   AND r.kind OPERATOR(pg_catalog.=) 'state'"
						 " GROUP BY r.relid, r.machine"
						 " HAVING pg_catalog.max(pg_catalog.char_length(u.s)) OPERATOR(pg_catalog.>) $3"
						 " ORDER BY pg_catalog.array_position($1, r.relid::pg_catalog.oid) LIMIT 1",
						 3, argtypes, args, 4);
	if (row == NULL)
		return;
	holder = row[0];
	machine = row[1];
	states = row[2];
	longest = pg_strtoint32(row[3]);
	report_long_states(ERROR, psprintf("cannot change state column \"%s\" of relation \"%s\" to type %s: states of machine \"%s\" would change",
								column, get_rel_name(relid), format_type_with_typemod(typid, typmod), machine),
					   "the conversion", relid, column, typid, typmod, holder, states, longest);
}

/*
 * CREATE TRIGGER … BEFORE UPDATE … FOR EACH ROW on a table a version rule
 * reaches (its own or a partitioned ancestor's), or on a partitioned table
 * with a partition that has a version rule of its own (the trigger is
 * cloned onto every partition): the trigger runs before the access method
 * judges the row, and one that assigns the version column defeats the
 * stale check (docs/versions.md, "Optimistic versions: triggers").  Which columns a trigger
 * function assigns cannot be told, so it warns: once for the table, and
 * once for each partition with a rule of its own.  The trigger is the one
 * the command created (its object address), read from pg_trigger, never
 * the statement's table name looked up again (search_path or a temporary
 * table of that name could make it another).
 */
static void
check_trigger(const ObjectAddress *address)
{
	Relation	tgrel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			relid = InvalidOid;
	int16		tgtype = 0;
	char	   *tgname = NULL;
	List	   *up;
	List	   *down = NIL;
	Oid			argtypes[1] = {OIDARRAYOID};
	Datum		args[1];
	StewardAsOwner ctx;
	List	   *holders;
	bool		warned_self = false;
	ListCell   *lh;
	MemoryContext caller_cxt = CurrentMemoryContext;

	if (address->classId != TriggerRelationId)
		return;
	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(address->objectId));
	scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger trig = (Form_pg_trigger) GETSTRUCT(tup);

		relid = trig->tgrelid;
		tgtype = trig->tgtype;
		tgname = pstrdup(NameStr(trig->tgname));
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);

	if (!OidIsValid(relid) || !TRIGGER_FOR_ROW(tgtype) ||
		!TRIGGER_FOR_BEFORE(tgtype) || !TRIGGER_FOR_UPDATE(tgtype))
		return;
	/* Our own (src/migrate: zz_steward_migration) never assign it. */
	if (strncmp(tgname, "zz_steward_", strlen("zz_steward_")) == 0)
		return;
	up = self_and_ancestor_list(relid);
	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		down = inheritors(relid);
	args[0] = oid_array(list_concat_copy(up, down));
	steward_enter_rules_owner(&ctx);
	holders = steward_rule_columns("SELECT r.relid::pg_catalog.oid, r.attname::pg_catalog.text"
								   "  FROM steward.column_rules r"
								   " WHERE r.relid::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)"
								   "   AND r.kind OPERATOR(pg_catalog.=) 'version'"
								   " ORDER BY pg_catalog.array_position($1, r.relid::pg_catalog.oid),"
								   "          r.attname",
								   1, argtypes, args, caller_cxt);
	steward_as_owner_end(&ctx);
	foreach(lh, holders)
	{
		StewardRuleColumn *rule = lfirst(lh);

		if (list_member_oid(up, rule->relid))
		{
			/* The table's own rule or an ancestor's: one warning for it. */
			if (!warned_self)
				steward_warn_version_trigger(tgname, get_rel_name(relid), rule->attname);
			warned_self = true;
		}
		else
			steward_warn_version_trigger(tgname, get_rel_name(rule->relid), rule->attname);
	}
}

/*
 * The state the extension gives trigger tgname of its catalog relid: the
 * two triggers of steward.column_rules that split the work by
 * session_replication_role (tableam.sql) ORIGIN and REPLICA, every other
 * one ALWAYS (regress 327 compares this with a fresh install's).
 */
static char
intended_trigger_state(Oid relid, const char *tgname)
{
	if (relid == steward_relid(STEWARD_RULES_TABLE, true))
	{
		if (strcmp(tgname, "column_rules_changed") == 0)
			return TRIGGER_FIRES_ON_ORIGIN;
		if (strcmp(tgname, "column_rules_replica") == 0)
			return TRIGGER_FIRES_ON_REPLICA;
	}
	return TRIGGER_FIRES_ALWAYS;
}

/* Whether an ALTER TABLE subcommand sets triggers ORIGIN. */
static bool
enables_on_origin(AlterTableType subtype)
{
	return subtype == AT_EnableTrig || subtype == AT_EnableTrigAll ||
		subtype == AT_EnableTrigUser;
}

/*
 * After ALTER TABLE ... ENABLE TRIGGER [name | ALL | USER] of a relation
 * of the extension: each of its triggers that runs a function of the
 * extension and that the command left ORIGIN gets the state the extension
 * gave it (intended_trigger_state).  A disabled trigger stays disabled,
 * ENABLE ALWAYS / REPLICA stay as written, other relations and user
 * triggers are left alone.  For steward.machine_definitions, the
 * machines' roles are recorded in pg_shdepend again, as its triggers
 * would have for rows written while they were disabled
 * (steward_rule_kinds.triggers_enabled).  Locks: the ShareRowExclusiveLock
 * the command holds on relid, and those of the roles' recording; the
 * relcache entry is invalidated, as by ENABLE TRIGGER.
 */
static void
keep_trigger_states(CollectedCommand *cmd)
{
	Oid			relid;
	Oid			ext;
	bool		enables = false;
	List	   *names = NIL;
	List	   *states = NIL;
	Relation	tgrel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	ListCell   *lc;
	ListCell   *ls;

	if (cmd->type != SCT_AlterTable ||
		cmd->d.alterTable.classId != RelationRelationId)
		return;
	foreach(lc, cmd->d.alterTable.subcmds)
	{
		AlterTableCmd *atc = (AlterTableCmd *) ((CollectedATSubcmd *) lfirst(lc))->parsetree;

		if (atc != NULL && IsA(atc, AlterTableCmd) && enables_on_origin(atc->subtype))
			enables = true;
	}
	relid = cmd->d.alterTable.objectId;
	ext = get_extension_oid("pg_steward", true);
	if (!enables || !OidIsValid(ext) ||
		getExtensionOfObject(RelationRelationId, relid) != ext)
		return;

	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_tgrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tup);
		char		want = intended_trigger_state(relid, NameStr(tg->tgname));

		if (tg->tgisinternal || tg->tgenabled != TRIGGER_FIRES_ON_ORIGIN ||
			want == TRIGGER_FIRES_ON_ORIGIN ||
			getExtensionOfObject(ProcedureRelationId, tg->tgfoid) != ext)
			continue;
		names = lappend(names, pstrdup(NameStr(tg->tgname)));
		states = lappend_int(states, want);
	}
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);

	if (names != NIL)
	{
		Relation	rel = table_open(relid, ShareRowExclusiveLock);

		forboth(lc, names, ls, states)
			EnableDisableTrigger(rel, lfirst(lc), (char) lfirst_int(ls), false,
								 ShareRowExclusiveLock);
		table_close(rel, NoLock);
		CommandCounterIncrement();
	}
	list_free_deep(names);
	list_free(states);

	/*
	 * Rows loaded while the triggers were off (pg_restore --data-only
	 * --disable-triggers) recorded no roles: DROP ROLE of a machine's
	 * owner then succeeded and left its OID (codereview16 C4).
	 */
	steward_rule_kinds.triggers_enabled(relid);
}

/* One collected CREATE TABLE or ALTER TABLE command. */
static void
check_command(CollectedCommand *cmd)
{
	ListCell   *lc;

	switch (cmd->type)
	{
		case SCT_Simple:
			if (cmd->parsetree && IsA(cmd->parsetree, CreateStmt) &&
				((CreateStmt *) cmd->parsetree)->partbound != NULL &&
				cmd->d.simple.address.classId == RelationRelationId)
				check_tree_storage(cmd->d.simple.address.objectId, DDL_CREATE_PARTITION);
			else if (cmd->parsetree && IsA(cmd->parsetree, CreateStmt) &&
					 ((CreateStmt *) cmd->parsetree)->inhRelations != NIL &&
					 cmd->d.simple.address.classId == RelationRelationId)
				check_inheritance_parents(cmd->d.simple.address.objectId);
			else if (cmd->parsetree && IsA(cmd->parsetree, CreateTrigStmt))
				check_trigger(&cmd->d.simple.address);
			break;
		case SCT_AlterTable:
			if (cmd->d.alterTable.classId != RelationRelationId)
				break;
			foreach(lc, cmd->d.alterTable.subcmds)
			{
				CollectedATSubcmd *sub = (CollectedATSubcmd *) lfirst(lc);
				AlterTableCmd *atc = (AlterTableCmd *) sub->parsetree;

				if (atc == NULL || !IsA(atc, AlterTableCmd))
					continue;
				if (atc->subtype == AT_AttachPartition &&
					get_rel_relkind(cmd->d.alterTable.objectId) == RELKIND_PARTITIONED_TABLE)
				{
					Oid			attached = attached_relid(sub, atc);

					check_attached(cmd->d.alterTable.objectId, attached);
					check_attached_triggers(cmd->d.alterTable.objectId, attached);
				}
				else if (atc->subtype == AT_SetAccessMethod)
					check_leaf_storage(cmd->d.alterTable.objectId, DDL_SET_ACCESS_METHOD);
				else if (atc->subtype == AT_AddInherit)
					check_inheritance_parents(cmd->d.alterTable.objectId);
				else if (atc->subtype == AT_AlterColumnType && atc->name != NULL &&
						 atc->def != NULL && IsA(atc->def, ColumnDef) &&
						 ((ColumnDef *) atc->def)->raw_default != NULL)
					check_retype_using(cmd->d.alterTable.objectId, atc->name);
				if (atc->subtype == AT_AlterColumnType && atc->name != NULL)
					check_retype_states(cmd->d.alterTable.objectId, atc->name);
			}
			break;
		default:
			break;
	}
}

/*
 * steward._rules_on_storage_ddl(): the ddl_command_end event trigger for
 * CREATE TABLE, ALTER TABLE and CREATE SCHEMA (steward_rules_storage).  Reads the commands
 * the statement collected and refuses, rolling the statement back, any
 * that leaves rows where rules do not reach them (see the file header):
 * 0A000 for storage other than steward, 23514 for attached rows the rules
 * refuse; and gives the extension's catalog triggers an ALTER TABLE ...
 * ENABLE TRIGGER left ORIGIN their installed state (keep_trigger_states).
 * Locks: those the DDL took.
 */
Datum
steward_rules_on_storage_ddl(PG_FUNCTION_ARGS)
{
	List	   *cmds = NIL;
	ListCell   *lc;
	StewardAsOwner ctx;
	MemoryContext caller_cxt = CurrentMemoryContext;
	bool		rules = false;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._rules_on_storage_ddl() must be called as an event trigger")));

	/*
	 * The collected commands live in the event trigger's memory; their
	 * pointers stay valid until the trigger returns.  Nothing to do when
	 * no table has rules.  The read's plan is kept (it ran parsed and
	 * planned anew at every CREATE or ALTER TABLE: a fifth of what the
	 * steward event triggers added to a column ALTER TABLE, test/bench/ddl).
	 */
	steward_enter_rules_owner(&ctx);
	if (steward_spi_execute_own("SELECT c.command, EXISTS (SELECT 1 FROM steward.column_rules)"
								" FROM pg_catalog.pg_event_trigger_ddl_commands() c"
								" WHERE EXISTS (SELECT 1 FROM steward.column_rules)"
								"    OR (c.command_tag = 'ALTER TABLE' AND c.schema_name = 'steward')",
								0, NULL, NULL, NULL, InvalidSnapshot, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the collected commands");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext spi_cxt;

		if (isnull)
			continue;
		rules = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
		spi_cxt = MemoryContextSwitchTo(caller_cxt);
		cmds = lappend(cmds, DatumGetPointer(d));
		MemoryContextSwitchTo(spi_cxt);
	}
	steward_as_owner_end(&ctx);

	foreach(lc, cmds)
	{
		if (rules)
			check_command((CollectedCommand *) lfirst(lc));
		keep_trigger_states((CollectedCommand *) lfirst(lc));
	}
	list_free(cmds);
	PG_RETURN_VOID();
}
