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
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_type_d.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "pg_steward.h"
#include "tableam/rules.h"

#define MAX_SEQUENCE_RULES (MaxHeapAttributeNumber)

typedef struct RulesBuild
{
	AttrNumber	version_attnum;
	int			nsequences;
	SequenceRule sequences[MAX_SEQUENCE_RULES];
} RulesBuild;

/* Return the OID of steward.column_rules, or InvalidOid while it is absent. */
static Oid
rules_table_oid(void)
{
	Oid			nspid = get_namespace_oid(STEWARD_SCHEMA, true);

	if (!OidIsValid(nspid))
		return InvalidOid;
	return get_relname_relid(STEWARD_RULES_TABLE, nspid);
}

static bool
sequence_type_ok(Oid typid)
{
	return typid == INT2OID || typid == INT4OID || typid == INT8OID;
}

/*
 * Add one stored rule to the build, resolving the column name against the
 * relation being written.  Rules whose column no longer matches (which the
 * event triggers prevent) are ignored rather than failing every write.
 */
static void
add_rule(Relation rel, RulesBuild *build, const char *attname, const char *kind)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), attname);
	Oid			typid;

	if (attnum <= 0)
		return;
	typid = TupleDescAttr(RelationGetDescr(rel), attnum - 1)->atttypid;

	if (strcmp(kind, "version") == 0)
	{
		/* The table's own rule wins over an ancestor's: it was seen first. */
		if (build->version_attnum == InvalidAttrNumber && typid == INT8OID)
			build->version_attnum = attnum;
	}
	else if (strcmp(kind, "sequence") == 0 && sequence_type_ok(typid))
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

	ScanKeyInit(&key, Anum_column_rules_relid, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	slot = table_slot_create(rulesrel, NULL);
	scan = table_beginscan(rulesrel, snapshot, 1, &key);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull1,
					isnull2;
		Datum		attname = slot_getattr(slot, Anum_column_rules_attname, &isnull1);
		Datum		kind = slot_getattr(slot, Anum_column_rules_kind, &isnull2);

		if (isnull1 || isnull2)
			continue;
		add_rule(rel, build, NameStr(*DatumGetName(attname)),
				 TextDatumGetCString(kind));
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
}

static StewardRules *
load_rules(Relation rel)
{
	RulesBuild	build;
	Oid			rulesoid = rules_table_oid();
	StewardRules *rules;
	Size		size;

	build.version_attnum = InvalidAttrNumber;
	build.nsequences = 0;

	if (OidIsValid(rulesoid))
	{
		Relation	rulesrel = table_open(rulesoid, AccessShareLock);
		Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
		List	   *relids = list_make1_oid(RelationGetRelid(rel));
		ListCell   *lc;

		/* Rules of partitioned ancestors apply to their partitions. */
		if (rel->rd_rel->relispartition)
			relids = list_concat(relids,
								 get_partition_ancestors(RelationGetRelid(rel)));

		foreach(lc, relids)
			scan_rules_for(rulesrel, snapshot, lfirst_oid(lc), rel, &build);

		UnregisterSnapshot(snapshot);
		table_close(rulesrel, AccessShareLock);
		list_free(relids);
	}

	size = offsetof(StewardRules, sequences) +
		build.nsequences * sizeof(SequenceRule);
	rules = MemoryContextAlloc(CacheMemoryContext, size);
	rules->version_attnum = build.version_attnum;
	rules->nsequences = build.nsequences;
	memcpy(rules->sequences, build.sequences,
		   build.nsequences * sizeof(SequenceRule));
	return rules;
}

const StewardRules *
steward_get_rules(Relation rel)
{
	StewardRules *rules;

	if (rel->rd_amcache != NULL)
		return (const StewardRules *) rel->rd_amcache;

	/*
	 * Rules change only under a ShareRowExclusiveLock on the table (see
	 * rules_api.c), which conflicts with the RowExclusiveLock every writer
	 * holds, so what we load stays valid for the rest of this statement.
	 */
	rules = load_rules(rel);
	rel->rd_amcache = rules;
	return rules;
}
