/*-------------------------------------------------------------------------
 *
 * rules_api.c
 *	  SQL functions that configure column rules, and the trigger that turns
 *	  every change of steward.column_rules into relcache invalidations.
 *
 *	  steward.track_versions(tbl regclass, col name)
 *	  steward.track_sequence(tbl regclass, col name)
 *	  steward.untrack(tbl regclass, col name)
 *
 * The functions run as the caller for every check (ownership, column,
 * type), then write steward.column_rules as the owner of that table, with
 * search_path pinned, the way referential-integrity triggers switch user.
 * Callers therefore need no privileges on the rules table, and the rules
 * table needs none granted to PUBLIC.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "executor/tuptable.h"
#include "access/tableam.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/dependency.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "parser/parse_coerce.h"
#include "replication/logicalworker.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "plumbing/own_context.h"
#include "tableam/labels.h"
#include "tableam/rulekinds.h"
#include "tableam/rules.h"
#include "tableam/rules_api.h"

PG_FUNCTION_INFO_V1(steward_track_versions);
PG_FUNCTION_INFO_V1(steward_track_sequence);
PG_FUNCTION_INFO_V1(steward_untrack);
PG_FUNCTION_INFO_V1(steward_column_rules_changed);
PG_FUNCTION_INFO_V1(steward_column_rules_truncate);
PG_FUNCTION_INFO_V1(steward_check_version_type);
PG_FUNCTION_INFO_V1(steward_check_sequence_type);
PG_FUNCTION_INFO_V1(steward_partition_ancestors_sql);
PG_FUNCTION_INFO_V1(steward_pending_detaches_sql);
PG_FUNCTION_INFO_V1(steward_state_rule_leaves_sql);
PG_FUNCTION_INFO_V1(steward_half_detached_words_sql);

static void invalidate_rule_rows(bool any_kind, List *machines, bool all);

typedef enum RuleKind
{
	RULE_VERSION,
	RULE_SEQUENCE
} RuleKind;

static const char *
rule_kind_name(RuleKind kind)
{
	return kind == RULE_VERSION ? "version" : "sequence";
}

/*
 * A table (relkind r) takes a rule only while it uses the steward access
 * method, the one that enforces rules: 42809 otherwise, with the ALTER
 * TABLE that converts it.  Every way a rule arrives checks this: the API
 * functions, a security label (labels.c; a restore with
 * --no-table-access-method creates the table as heap first) and a row
 * written into steward.column_rules (a whole-database restore's data, a
 * hand edit).  Partitioned tables are checked partition by partition
 * (steward_check_partitions_use_steward); no lock is taken here.  A
 * temporary relation, of any kind, takes no rule: 0A000
 * (steward_refuse_temporary).
 */
void
steward_check_rule_storage(Oid relid)
{
	HeapTuple	tup;
	Form_pg_class form;
	char	   *nspname;
	char	   *relname;

	steward_refuse_temporary(relid, "a column rule");
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return;
	form = (Form_pg_class) GETSTRUCT(tup);
	if (form->relkind != RELKIND_RELATION ||
		form->relam == get_table_am_oid(STEWARD_TABLE_AM, false))
	{
		ReleaseSysCache(tup);
		return;
	}
	nspname = get_namespace_name(form->relnamespace);
	relname = pstrdup(NameStr(form->relname));
	ReleaseSysCache(tup);
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("relation \"%s\" does not use access method \"%s\"",
					relname, STEWARD_TABLE_AM),
			 errdetail("Only access method \"%s\" enforces rules.", STEWARD_TABLE_AM),
			 errhint("Convert it first: ALTER TABLE %s SET ACCESS METHOD %s;",
					 quote_qualified_identifier(nspname, relname), STEWARD_TABLE_AM)));
}

/*
 * Refuse (55000) a change of the rules that reach the partitions of
 * partitioned table rel while a partition anywhere below it is half
 * detached: its ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY
 * committed its first phase and not FINALIZE.  The rules of its former
 * ancestors still apply to its rows (the write path walks up past the
 * pending parent, review25 W3), but PostgreSQL's find_all_inheritors
 * omits it whenever a snapshot is active (find_inheritance_children's
 * omit_detached), and with it every walk down the tree that locks and
 * checks the stored rows (the partitions' locks, the checks of existing
 * versions and states, the written-column checks, a scan of rel), so the
 * change would reach rows nothing locked or checked.  "change" completes
 * the DETAIL ("..., but <change> would neither lock nor check them"):
 * configuring a rule on rel, or detaching rel's state machine, which
 * hands its rows to an ancestor's (part2).  Finishing the detach
 * (FINALIZE) makes the partition a table of its own.  Reads pg_inherits
 * (steward_pending_detach_below, pending children included); the
 * caller holds ShareRowExclusiveLock on rel and its partitions, which
 * conflicts with the ShareUpdateExclusiveLock a new DETACH ...
 * CONCURRENTLY takes on its parent, so none begins meanwhile.
 */
void
steward_check_no_pending_detach(Relation rel, const char *change)
{
	Oid			parent = InvalidOid;
	Oid			child = steward_pending_detach_below(RelationGetRelid(rel), &parent);

	if (OidIsValid(child))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("partition \"%s\" of relation \"%s\" is half detached",
						get_rel_name(child), get_rel_name(parent)),
				 errdetail("%s: the rules of relation \"%s\" still apply to its rows, but %s would neither lock nor check them.",
						   steward_half_detached_why(true), get_rel_name(parent), change),
				 errhint("%s.", steward_half_detached_step(child, parent, true))));
}

/*
 * Open the table to configure, after checking that the caller owns it.  The
 * lock conflicts with every writer, so no write is in flight while the rules
 * change and every later write sees the new rules (as with CREATE TRIGGER).
 * Takes ShareRowExclusiveLock on it and, before any check reads them, on
 * every partition below a partitioned table (a client may write into a
 * partition directly, which locks only the partition: with ACCESS SHARE
 * there, an INSERT or COPY of version 0, or an UPDATE lowering a sequence,
 * was stored unchecked under the new rule; vers10), held to transaction
 * end.  A transaction that wrote into a partition and then writes
 * through the parent while this one waits for the partition gets 40P01,
 * as with CREATE TRIGGER.  Raises 42P01 (no such
 * relation, also when dropped while waiting for the lock), 42501 (caller
 * does not own it), 42809 (not a table, or it or a partition does not use
 * the steward access method), 0A000 (temporary, or with inheritance
 * children), 55000 (a partition below it is half detached:
 * steward_check_no_pending_detach).
 */
Relation
steward_open_table_to_configure(Oid relid)
{
	Relation	rel;
	char		relkind;

	steward_check_table_owner(relid);
	rel = steward_open_user_relation(relid, ShareRowExclusiveLock, STEWARD_KINDS_TABLES,
									 "a column rule");
	relkind = rel->rd_rel->relkind;

	/*
	 * The rule reaches every partition: lock them as CREATE TRIGGER and a
	 * label's LOCK TABLE do, before the checks below and the caller's
	 * reads of stored rows (in a snapshot taken after the locks) and
	 * before any lock tag (tables, then tags; attach_state_machine's
	 * machine).  An attach or label on a partition, or an ATTACH
	 * PARTITION below the table, waits for this transaction too.
	 */
	if (relkind == RELKIND_PARTITIONED_TABLE)
		list_free(find_all_inheritors(relid, ShareRowExclusiveLock, NULL));

	steward_check_rule_storage(RelationGetRelid(rel));
	if (relkind == RELKIND_PARTITIONED_TABLE)
	{
		steward_check_no_pending_detach(rel, psprintf("a rule configured on relation \"%s\" now",
													  RelationGetRelationName(rel)));
		steward_check_partitions_use_steward(rel);
	}
	else
		steward_check_no_inheritance_children(rel);
	return rel;
}

/*
 * Look up a user column by name; errors name the table: 42703 for a column
 * that does not exist (or was dropped), 0A000 for a system column, saying
 * what the caller cannot do to it ("cannot <verb> system column", verb
 * e.g. "track", "untrack": mach16's finding, untrack said "track").  Takes no
 * lock: rel is open and locked by the caller.
 */
Form_pg_attribute
steward_lookup_column(Relation rel, const char *colname, const char *verb)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rel), colname);

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, RelationGetRelationName(rel))));
	if (attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot %s system column \"%s\"", verb, colname)));
	return TupleDescAttr(RelationGetDescr(rel), attnum - 1);
}

/*
 * The HINT of check_column_type: the statements that give column att of
 * rel the type bigint.  A table with a primary key (not partitioned: both
 * are what a column migration needs) can change it online, by
 * an alter_column migration (its name: the table's with "_bigint", else
 * "version_bigint" past the 59 bytes a migration's name may have; the
 * table and column passed as JSON strings); every table can by ALTER TABLE
 * ... TYPE bigint, which rewrites it under ACCESS EXCLUSIVE.  A type that
 * PostgreSQL does not assign to bigint (text, say) has neither: the HINT
 * then adds a new bigint column, as docs/versions.md does.  Names are
 * quoted where SQL and JSON need it.
 */
static char *
bigint_type_hint(Relation rel, Form_pg_attribute att)
{
	char	   *qualname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													  RelationGetRelationName(rel));
	char	   *alter = psprintf("ALTER TABLE %s ALTER COLUMN %s TYPE bigint;",
								 qualname, quote_identifier(NameStr(att->attname)));
	StringInfoData steps;
	char	   *mname;
	Oid			from = att->atttypid;
	Oid			to = INT8OID;

	if (!can_coerce_type(1, &from, &to, COERCION_ASSIGNMENT))
	{
		char	   *newcol = "version";

		if (get_attnum(RelationGetRelid(rel), newcol) != InvalidAttrNumber)
			newcol = psprintf("%s_bigint", NameStr(att->attname));
		return psprintf("Track a bigint column instead; one added with a constant default rewrites nothing: "
						"ALTER TABLE %s ADD COLUMN %s bigint NOT NULL DEFAULT 1;",
						qualname, quote_identifier(newcol));
	}
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		return psprintf("Change its type (this rewrites every partition under an ACCESS EXCLUSIVE lock): %s",
						alter);
	if (!OidIsValid(RelationGetPrimaryKeyIndex(rel)))
		return psprintf("Change its type (this rewrites the table under an ACCESS EXCLUSIVE lock): %s",
						alter);
	mname = psprintf("%s_bigint", RelationGetRelationName(rel));
	if (strlen(mname) > 59)
		mname = "version_bigint";
	initStringInfo(&steps);
	appendStringInfoString(&steps, "[{\"alter_column\": {\"table\": ");
	escape_json(&steps, qualname);
	appendStringInfoString(&steps, ", \"column\": ");
	escape_json(&steps, NameStr(att->attname));
	appendStringInfoString(&steps, ", \"type\": \"bigint\"}}]");
	return psprintf("Change its type online with a migration: SELECT steward.migration_start(%s, %s); "
					"then its migration_backfill, migration_validate, migration_complete and migration_cleanup; "
					"or, rewriting the table under an ACCESS EXCLUSIVE lock: %s",
					quote_literal_cstr(mname), quote_literal_cstr(steps.data), alter);
}

/*
 * The HINT of a sequence column of another type than smallint, integer or
 * bigint: one PostgreSQL assigns to bigint (numeric, real) changes its
 * type, online, as bigint_type_hint says; another (a timestamp, text)
 * holds no sequence number: the HINT adds a bigint column for one and
 * tracks it.  Names are quoted where SQL needs it.
 */
static char *
sequence_type_hint(Relation rel, Form_pg_attribute att)
{
	Oid			from = att->atttypid;
	Oid			to = INT8OID;
	char	   *qualname;
	char	   *newcol;

	if (can_coerce_type(1, &from, &to, COERCION_ASSIGNMENT))
		return bigint_type_hint(rel, att);
	qualname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										  RelationGetRelationName(rel));
	newcol = psprintf("%s_seq", NameStr(att->attname));
	return psprintf("Order events by a per-entity sequence number, not by timestamps: "
					"ALTER TABLE %s ADD COLUMN %s bigint NOT NULL DEFAULT 0; "
					"then SELECT steward.track_sequence(%s, %s);",
					qualname, quote_identifier(newcol),
					quote_literal_cstr(qualname), quote_literal_cstr(newcol));
}

static void
check_column_type(Relation rel, Form_pg_attribute att, RuleKind kind)
{
	Oid			typid = att->atttypid;

	if (kind == RULE_VERSION && typid != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("version column \"%s\" of relation \"%s\" must be of type bigint",
						NameStr(att->attname), RelationGetRelationName(rel)),
				 errdetail("Column \"%s\" is of type %s.",
						   NameStr(att->attname), format_type_be(typid)),
				 errhint("%s", bigint_type_hint(rel, att))));
	if (kind == RULE_SEQUENCE &&
		typid != INT2OID && typid != INT4OID && typid != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("sequence column \"%s\" of relation \"%s\" must be of type smallint, integer or bigint",
						NameStr(att->attname), RelationGetRelationName(rel)),
				 errdetail("Column \"%s\" is of type %s.",
						   NameStr(att->attname), format_type_be(typid)),
				 errhint("%s", sequence_type_hint(rel, att))));
}

/*
 * check_column_type of column col of relation relid for a rule of kind,
 * for the SQL checks below.  Takes AccessShareLock on relid; 42P01 for an
 * OID naming no relation, 42703 for a missing column.
 */
static void
check_rule_type(Oid relid, Name col, RuleKind kind)
{
	Relation	rel = steward_open_relation_or_42P01(relid, AccessShareLock);

	check_column_type(rel, steward_lookup_column(rel, NameStr(*col), "track"), kind);
	relation_close(rel, NoLock);
}

/*
 * steward._check_version_type(tbl regclass, col name) RETURNS void: refuses
 * (42804) column col of table tbl as a version column unless it is bigint,
 * with track_versions' own message, DETAIL and HINT (check_column_type), so
 * that a SECURITY LABEL's version rule (labels.sql) tells a DBA the same
 * next step (newcomer48 N11: it was refused with no DETAIL nor HINT).
 * Takes AccessShareLock on tbl (the label's caller holds SHARE ROW
 * EXCLUSIVE); an OID naming no relation raises 42P01, a missing column
 * 42703.
 */
Datum
steward_check_version_type(PG_FUNCTION_ARGS)
{
	check_rule_type(PG_GETARG_OID(0), PG_GETARG_NAME(1), RULE_VERSION);
	PG_RETURN_VOID();
}

/*
 * steward._check_sequence_type(tbl regclass, col name) RETURNS void: as
 * steward._check_version_type for a sequence column (smallint, integer or
 * bigint), with track_sequence's own message, DETAIL and HINT, so that a
 * SECURITY LABEL's sequence rule (labels.sql) names the same next step
 * (mig19: it was refused with no DETAIL nor HINT).  Locks and errors as
 * steward._check_version_type.
 */
Datum
steward_check_sequence_type(PG_FUNCTION_ARGS)
{
	check_rule_type(PG_GETARG_OID(0), PG_GETARG_NAME(1), RULE_SEQUENCE);
	PG_RETURN_VOID();
}

/*
 * Write steward.column_rules (and state_checks) as its owner (see
 * plumbing/as_owner.c), with session_replication_role = origin: the row
 * triggers of the rules catalogs are ENABLE ORIGIN (a subscriber's apply of
 * catalog rows naming another cluster's OIDs must not run them), yet a
 * change made here under replica must still invalidate every backend's
 * cached rules, rewrite the column's label, drop a detached machine's
 * checks and check the table's storage.  Set in C with PGC_SUSET, as
 * PostgreSQL's RI code sets its GUCs: allowed whatever the caller's
 * rights; steward_as_owner_end() rolls it back.  Takes no lock (the
 * statements run afterwards take theirs).  Raises 42P01 when the extension
 * has no steward.column_rules (steward_relid), else nothing.
 */
void
steward_enter_rules_owner(StewardAsOwner *ctx)
{
	steward_as_owner_begin(steward_relid(STEWARD_RULES_TABLE, false), ctx);
	(void) set_config_option("session_replication_role", "origin",
							 PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Run a statement on steward.column_rules whose parameters are $1 = relid
 * and $2 = column name; returns SPI's result code (an SPI_ERROR_ code, such
 * as when SPI is not connected, is returned, not raised).  The caller is
 * connected to SPI, as the rules table's owner (steward_enter_rules_owner).
 * Its locks are the statement's, held to transaction end: AccessShareLock on
 * steward.column_rules for a read, RowExclusiveLock and the rows' locks for
 * a write.  Raises what the statement raises, a write's row triggers
 * included (see steward_column_rules_changed).
 */
int
steward_exec_for_column(const char *sql, Oid relid, const char *colname, bool read_only)
{
	Oid			argtypes[2] = {OIDOID, NAMEOID};
	NameData	attname;
	Datum		args[2];

	namestrcpy(&attname, colname);
	args[0] = ObjectIdGetDatum(relid);
	args[1] = NameGetDatum(&attname);
	return SPI_execute_with_args(sql, 2, argtypes, args, NULL, read_only, 0);
}

/*
 * The command writing steward.column_rules in this backend now
 * (steward_delete_column_rules, steward_api_rule_exec; a direct write of
 * the catalog otherwise), named by the triggers' refusals
 * (check_removed_state_rule).
 */
static StewardRuleEntry rule_entry = STEWARD_ENTRY_WRITE;

/*
 * Delete the rules of one column (only those of the given kind, unless
 * kind is NULL) as the owner of the rules table; returns how many went.
 * Takes RowExclusiveLock on steward.column_rules and the deleted rows' locks,
 * held to transaction end; the caller holds a lock on relid that keeps
 * writers out.  The rows' AFTER triggers run: column_rules_changed (relcache
 * invalidations, the column's label: steward_column_rules_changed) and
 * column_rules_drop_checks (a detached machine's state checks).  Raises
 * 42P01 when the extension has no steward.column_rules and what those
 * triggers raise (their messages name entry, the command deleting); its
 * XX000 'could not delete' cannot happen (SPI is connected by
 * steward_enter_rules_owner).
 */
uint64
steward_delete_column_rules(Oid relid, const char *colname, const char *kind,
							StewardRuleEntry entry)
{
	StewardAsOwner ctx;
	const char *sql = "DELETE FROM steward.column_rules "
		"WHERE relid OPERATOR(pg_catalog.=) $1 "
		"AND attname OPERATOR(pg_catalog.=) $2";
	uint64		ndeleted;
	StewardRuleEntry saved = rule_entry;

	if (kind != NULL)
		sql = psprintf("%s AND kind OPERATOR(pg_catalog.=) %s",
					   sql, quote_literal_cstr(kind));
	steward_enter_rules_owner(&ctx);
	rule_entry = entry;
	PG_TRY();
	{
		if (steward_exec_for_column(sql, relid, colname, false) != SPI_OK_DELETE)
			elog(ERROR, "could not delete from steward.column_rules");
	}
	PG_FINALLY();
	{
		rule_entry = saved;
	}
	PG_END_TRY();
	ndeleted = SPI_processed;
	steward_as_owner_end(&ctx);
	return ndeleted;
}

/*
 * Existing rule kind of (relid, column), or NULL; palloc'd in SPI's memory,
 * valid until the caller's steward_as_owner_end().  The caller is connected
 * to SPI as the rules table's owner (steward_enter_rules_owner); its XX000
 * 'could not read' comes only without SPI.  Takes AccessShareLock on
 * steward.column_rules, held to transaction end.
 */
char *
steward_existing_rule(Oid relid, const char *colname)
{
	bool		isnull;

	if (steward_exec_for_column("SELECT kind FROM steward.column_rules "
						"WHERE relid OPERATOR(pg_catalog.=) $1 "
						"AND attname OPERATOR(pg_catalog.=) $2",
						relid, colname, true) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.column_rules");
	if (SPI_processed == 0)
		return NULL;
	return TextDatumGetCString(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 1, &isnull));
}

/* The column that already carries the version rule of relid, or NULL. */
static char *
existing_version_column(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};

	if (SPI_execute_with_args("SELECT attname::text FROM steward.column_rules "
							  "WHERE relid OPERATOR(pg_catalog.=) $1 "
							  "AND kind OPERATOR(pg_catalog.=) 'version'",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.column_rules");
	if (SPI_processed == 0)
		return NULL;
	return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
}

/*
 * Run sql, a SELECT of the stored rows a new rule must accept, with a
 * snapshot taken now.  The caller holds a lock on the table that keeps
 * writers out, and may have waited for it: the statement's snapshot (READ
 * COMMITTED) or the transaction's (REPEATABLE READ) can predate the lock
 * and miss rows that writers committed meanwhile, which would then stand
 * under the rule unchecked.  Core's ALTER TABLE ... VALIDATE CONSTRAINT
 * reads with GetLatestSnapshot() for the same reason.  Returns SPI's
 * result code; the caller is connected to SPI.  Locks and errors as
 * steward_spi_read_latest: AccessShareLock on what sql reads, held to
 * transaction end; raises what sql raises.
 */
int
steward_read_rows_after_lock(const char *sql, int nargs, Oid *argtypes, Datum *args)
{
	return steward_spi_read_latest_once(sql, nargs, argtypes, args, NULL, 0);
}

/*
 * Whether plain table "rel" holds a row a snapshot taken now sees (the
 * command's own earlier writes included): none when it has no block (a
 * table a restore has just created, or a TRUNCATEd one), else the first
 * row found by a scan under the latest snapshot ends it.  A table emptied
 * by DELETE, or whose INSERT rolled back, stores no row (readme38 M3: it
 * counted as storing rows while it had data pages); the scan reads its
 * dead rows until the first live one, a cost only a table with no or few
 * live rows pays.  The caller's lock keeps writers out, so no row arrives
 * after the snapshot.
 */
static bool
table_has_live_row(Relation rel)
{
	Snapshot	snap;
	TableScanDesc scan;
	TupleTableSlot *slot;
	bool		found;

	if (RelationGetNumberOfBlocks(rel) == 0)
		return false;
	snap = RegisterSnapshot(GetLatestSnapshot());
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, snap, 0, NULL);
	found = table_scan_getnextslot(scan, ForwardScanDirection, slot);
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	return found;
}

/*
 * Whether relation relid stores a row: false only when neither it nor
 * any of its partitions holds a row a snapshot taken now sees
 * (table_has_live_row; a partitioned table has no storage of its own) --
 * as a table a restore has just created, before its data (review15
 * R15-2), or one emptied by DELETE.  True for a tree that holds a relation
 * of another kind (a foreign partition).  Runs nothing the owner wrote
 * and needs no privilege (the scan is the AM's, no query): the checks of stored rows, which
 * read them as the owner by name (and so need the owner's USAGE on the
 * schema), skip tables that store none.  The caller holds a lock on relid
 * and its partitions that keeps writers out; AccessShareLock is taken on
 * each partition (find_all_inheritors, held to transaction end) and on
 * relid while it is opened.  relid must name a relation (the C callers
 * pass one they hold locked; steward._label_rows_stored checks its
 * argument first): else core's XX000.
 */
bool
steward_relation_stores_rows(Oid relid)
{
	List	   *tree = find_all_inheritors(relid, AccessShareLock, NULL);
	ListCell   *lc;
	bool		stored = false;

	foreach(lc, tree)
	{
		Relation	rel = relation_open(lfirst_oid(lc), AccessShareLock);

		if (rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE &&
			(rel->rd_rel->relkind != RELKIND_RELATION ||
			 table_has_live_row(rel)))
			stored = true;
		relation_close(rel, AccessShareLock);
		if (stored)
			break;
	}
	list_free(tree);
	return stored;
}

/*
 * The 23514 of steward_check_existing_versions when stored rows hold
 * versions below 1 (below) or none (nulls) of total; returns when both are
 * 0.  qualname is quoted, colname is not.  When no row has a version (a
 * column just added without a default) the HINT gives the re-add with
 * DEFAULT 1 first, which rewrites nothing, as docs/versions.md advises
 * (newcomer47 N5: the UPDATE alone writes every row of a large table);
 * not for a partition, whose inherited column cannot be dropped.
 */
static void
refuse_stored_versions(Relation rel, const char *qualname, const char *colname,
					   int64 below, int64 nulls, int64 total)
{
	const char *col = quote_identifier(colname);
	Oid			coltype = get_atttype(RelationGetRelid(rel),
									  get_attnum(RelationGetRelid(rel), colname));

	if (nulls > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 below > 0 ?
				 errmsg("relation \"%s\" has " INT64_FORMAT " rows without a version or with a version below 1 in column \"%s\"",
						RelationGetRelationName(rel), below + nulls, colname) :
				 errmsg_plural("relation \"%s\" has " INT64_FORMAT " row without a version in column \"%s\"",
							   "relation \"%s\" has " INT64_FORMAT " rows without a version in column \"%s\"",
							   (unsigned long) nulls,
							   RelationGetRelationName(rel), nulls, colname),
				 errdetail("Versions start at 1: a NULL version matches no client's WHERE %s = :read, and a dump restores it as 1.",
						   col),
				 below == 0 && nulls == total && !rel->rd_rel->relispartition ?
				 errhint("No row has one: add the column again with a default, which rewrites nothing (ALTER TABLE %s DROP COLUMN %s, ADD COLUMN %s %s NOT NULL DEFAULT 1;), or write every row (UPDATE %s SET %s = 1 WHERE %s IS NULL;).",
						 qualname, col, col, format_type_be(coltype),
						 qualname, col, col) :
				 errhint("Fix them first, for example: UPDATE %s SET %s = 1 WHERE %s IS NULL OR %s < 1;",
						 qualname, col, col, col)));
	if (below > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg_plural("relation \"%s\" has " INT64_FORMAT " row with a version below 1 in column \"%s\"",
							   "relation \"%s\" has " INT64_FORMAT " rows with a version below 1 in column \"%s\"",
							   (unsigned long) below,
							   RelationGetRelationName(rel), below, colname),
				 errhint("Fix them first, for example: UPDATE %s SET %s = 1 WHERE %s < 1;",
						 qualname, col, col)));
}

/*
 * Refuse (23514) to start tracking versions when stored rows hold versions
 * below 1 or no version (NULL: replica apply stores rows as sent, and a
 * column may be nullable; review25 W1: NULL never matched "< 1", so such
 * rows passed and a client's WHERE version = :read never matches them);
 * also used when a version rule starts to reach a partition that is
 * attached (storage_guard.c).  The message keeps its old words when no
 * row is NULL.  The table is read as its owner (restricted), never as the
 * extension's owner, with a snapshot taken after the lock
 * (steward_read_rows_after_lock); not read when it stores no row
 * (steward_relation_stores_rows: a restore attaches an empty partition
 * before its schema's GRANTs).  55000 when row security hides stored rows
 * from the owner (FORCE ROW LEVEL SECURITY), none for an empty table.
 * rel is open and locked.
 */
void
steward_check_existing_versions(Relation rel, const char *colname)
{
	char	   *qualname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													  RelationGetRelationName(rel));
	const char *col = quote_identifier(colname);
	char	   *sql = psprintf("SELECT pg_catalog.count(*) FILTER (WHERE %s OPERATOR(pg_catalog.<) 1),"
							   " pg_catalog.count(*) FILTER (WHERE %s IS NULL), pg_catalog.count(*) FROM %s",
							   col, col, qualname);
	bool		isnull;
	int64		below;
	int64		nulls;
	int64		total;
	StewardAsOwner ctx;

	/*
	 * A rule on stored rows holds for every row or is refused; a table
	 * storing none hides none (rules18 item 4).
	 */
	if (!steward_relation_stores_rows(RelationGetRelid(rel)))
		return;
	steward_require_owner_sees_all_rows(RelationGetRelid(rel), "the check of stored versions");
	steward_as_table_owner_begin(rel, true, &ctx);
	steward_pin_all_rows();
	if (steward_read_rows_after_lock(sql, 0, NULL, NULL) != SPI_OK_SELECT)
		elog(ERROR, "could not scan relation \"%s\"", RelationGetRelationName(rel));
	below = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 1, &isnull));
	nulls = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 2, &isnull));
	total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 3, &isnull));
	steward_as_owner_end(&ctx);
	refuse_stored_versions(rel, qualname, colname, below, nulls, total);
}

/*
 * A BEFORE UPDATE row trigger may assign the version column (the legacy
 * "NEW.version := OLD.version + 1" that track_versions replaces): the AM
 * judges the row after BEFORE triggers, so such a trigger turns every stale
 * version a client sends into the next one, and the stale check never
 * fires.  Which columns a trigger function assigns cannot be told from the
 * catalogs, so track_versions warns about every such trigger of the table.
 */
static void
warn_before_update_triggers(Relation rel, const char *colname)
{
	TriggerDesc *trigdesc = rel->trigdesc;

	if (trigdesc == NULL)
		return;
	for (int i = 0; i < trigdesc->numtriggers; i++)
	{
		Trigger    *t = &trigdesc->triggers[i];

		if (t->tgisinternal || t->tgenabled == TRIGGER_DISABLED ||
			!TRIGGER_FOR_ROW(t->tgtype) || !TRIGGER_FOR_BEFORE(t->tgtype) ||
			!TRIGGER_FOR_UPDATE(t->tgtype))
			continue;
		steward_warn_version_trigger(t->tgname, RelationGetRelationName(rel), colname);
	}
}

/*
 * The WARNING for BEFORE UPDATE row trigger "tgname" on "relname", whose
 * version column "colname" it may assign: from track_versions and from
 * CREATE TRIGGER on a table a version rule reaches (storage_guard.c).
 * Raises nothing else; takes no lock.
 */
void
steward_warn_version_trigger(const char *tgname, const char *relname,
							 const char *colname)
{
	ereport(WARNING,
			(errmsg("trigger \"%s\" on relation \"%s\" runs before pg_steward checks the version of an UPDATE",
					tgname, relname),
			 errdetail("A BEFORE UPDATE trigger that assigns column \"%s\" replaces the version the client sent, so a stale version is no longer refused.",
					   colname),
			 errhint("Drop the trigger's assignment of \"%s\" (pg_steward sets the version) or the trigger.",
					 colname)));
}

/*
 * The table whose version rule track_versions is writing: its own check
 * refuses two version columns (42710), so the catalog's trigger does not
 * warn about that row first (warn_two_version_columns).
 */
static Oid	tracking_versions_of = InvalidOid;

/*
 * The table whose rule an API entry is writing (track_versions,
 * track_sequence, attach_state_machine, a security label:
 * steward_api_rule_exec), or InvalidOid.  The entry checks its row itself
 * after writing it (the written definitions: refused, or for a label
 * warned), so the catalog's trigger does not check them first
 * (warn_written_definition: a restored label's WARNING would come twice).
 */
static Oid	api_rule_relid = InvalidOid;

/*
 * Run SPI statement sql (the caller is connected) as API entry "entry"
 * writing relid's rule (api_rule_relid and rule_entry set for its
 * duration, also on error); returns SPI's code.  Locks and errors: the
 * statement's, its row triggers' included.
 */
int
steward_api_rule_exec(Oid relid, StewardRuleEntry entry, const char *sql, int nargs,
					  Oid *argtypes, Datum *args, const char *nulls)
{
	Oid			saved = api_rule_relid;
	StewardRuleEntry saved_entry = rule_entry;
	int			rc;

	api_rule_relid = relid;
	rule_entry = entry;
	PG_TRY();
	{
		rc = steward_spi_execute_entry(sql, nargs, argtypes, args, nulls, false, 0);
	}
	PG_FINALLY();
	{
		api_rule_relid = saved;
		rule_entry = saved_entry;
	}
	PG_END_TRY();
	return rc;
}

/* steward_half_detached_why's words after "Its " or "its ". */
#define HALF_DETACHED_WHY \
	"ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY has not finished " \
	"(it is still waiting for older transactions to end, or it was cancelled)"

/*
 * The words of every report of a half-detached partition: why its rows
 * are still under its former ancestors' rules, and the next step.  One
 * builder, so the refusals of rules_api.c, release.c and the relayout and
 * the problem of steward.tracked_columns (through
 * steward._half_detached_words) say the same: they drifted (said "did
 * not finish" and named only FINALIZE while the detach was still waiting
 * and went on to finish by itself: part3, codereview15 C4; evolve12).
 * Nothing tells a waiting detach from a cancelled one without waiting,
 * so both say both.  "capital" starts the words with an upper-case
 * letter, for the first sentence of a DETAIL or HINT.
 *
 * steward_half_detached_why: "its ALTER TABLE ... DETACH PARTITION ...
 * CONCURRENTLY has not finished (it is still waiting for older
 * transactions to end, or it was cancelled)", a static string.  Takes no
 * lock; raises nothing.
 */
const char *
steward_half_detached_why(bool capital)
{
	return capital ?
		"Its " HALF_DETACHED_WHY :
		"its " HALF_DETACHED_WHY;
}

/*
 * steward_half_detached_step: "let a running detach finish, or finish a
 * cancelled one (ALTER TABLE parent DETACH PARTITION part FINALIZE;)",
 * each schema-qualified.  Reads the syscache; palloc'd; no lock; raises
 * nothing (a relation the caller no longer sees prints as its OID).
 */
char *
steward_half_detached_step(Oid part, Oid parent, bool capital)
{
	return psprintf("%set a running detach finish, or finish a cancelled one "
					"(ALTER TABLE %s DETACH PARTITION %s FINALIZE;)",
					capital ? "L" : "l", steward_qualified_name(parent),
					steward_qualified_name(part));
}

/*
 * Refuse (42710) a tree where two version rules on different columns reach
 * one table, its own and a partitioned ancestor's (steward_two_version_columns,
 * review23 item 4): track_versions checked only the table's own rules, so
 * a partition under a parent tracking "v" could track "w" (and the parent
 * "v" over a partition tracking "w"), and the partition's rows then kept
 * the parent's "v" unchecked.  Checks relid and every partition below it
 * (each one reaches its ancestors' rules).  "tracked_relid" is the table
 * whose new rule is checked (track_versions; the HINT names the untrack of
 * the other rule), InvalidOid for an ATTACH of relid, where a table storing
 * no row (a restore attaching a partition before its rows) only gets a
 * WARNING.  "warn": a rule row already stored (a restored label, a row
 * written into steward.column_rules: the catalog's trigger), which is kept
 * with a WARNING whose HINT untracks that rule.  A table left so refuses
 * INSERT, COPY and UPDATE (54000, steward_am.c) until one rule is
 * untracked.  Locks: the caller holds a lock on relid, and, unless "warn"
 * (which takes AccessShareLock on each), on every partition, that keeps
 * rule changes out (track_versions' ShareRowExclusiveLock, an ATTACH's
 * AccessExclusiveLock).
 */
void
steward_check_one_version_column(Oid relid, Oid tracked_relid, bool warn)
{
	List	   *tree = find_all_inheritors(relid, warn ? AccessShareLock : NoLock, NULL);
	ListCell   *lc;

	foreach(lc, tree)
	{
		Relation	rel = relation_open(lfirst_oid(lc), NoLock);
		AttrNumber	near,
					far;
		Oid			near_relid,
					far_relid;
		bool		stored;
		const char *near_col;
		const char *far_col;
		Oid			fix_relid;
		const char *fix_col;

		if (!steward_two_version_columns(rel, &near, &near_relid, &far, &far_relid))
		{
			relation_close(rel, NoLock);
			continue;
		}
		near_col = get_attname(RelationGetRelid(rel), near, false);
		far_col = get_attname(RelationGetRelid(rel), far, false);
		/*
		 * The rule to untrack: the other one (refused), the one a row just
		 * wrote (warn), the nearest (the table's own after an ATTACH).
		 */
		if (warn)
			fix_relid = far_relid == tracked_relid ? far_relid : near_relid;
		else
			fix_relid = near_relid == tracked_relid ? far_relid : near_relid;
		fix_col = fix_relid == near_relid ? near_col : far_col;
		stored = !warn && (OidIsValid(tracked_relid) || steward_relation_stores_rows(relid));
		ereport(stored ? ERROR : WARNING,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("relation \"%s\" would have two version columns, \"%s\" and \"%s\"",
						RelationGetRelationName(rel), near_col, far_col),
				 errdetail("A table has at most one version column, counting the rules of its partitioned ancestors: \"%s\" is tracked on relation \"%s\", \"%s\" on relation \"%s\".%s",
						   near_col, get_rel_name(near_relid), far_col, get_rel_name(far_relid),
						   stored ? "" : warn ?
						   " The rule is kept, and INSERT, UPDATE and COPY of the table are refused until one rule is untracked, but for the owner's COPY (a restore's), which checks both." :
						   " The table stores no row and is attached all the same; INSERT, UPDATE and COPY of it are refused until one rule is untracked, but for the owner's COPY (a restore's), which checks both."),
				 warn ?
				 errhint("Track one column in the whole tree: stop tracking one of them, SELECT steward.untrack(%s, %s);",
						 quote_literal_cstr(steward_qualified_name(fix_relid)),
						 quote_literal_cstr(fix_col)) :
				 errhint("Track one column in the whole tree: stop tracking the other first, SELECT steward.untrack(%s, %s);",
						 quote_literal_cstr(steward_qualified_name(fix_relid)),
						 quote_literal_cstr(fix_col))));
		relation_close(rel, NoLock);
	}
	list_free(tree);
}

static void
insert_rule(Oid relid, const char *colname, RuleKind kind)
{
	Oid			argtypes[3] = {OIDOID, NAMEOID, TEXTOID};
	NameData	attname;
	Datum		args[3];

	namestrcpy(&attname, colname);
	args[0] = ObjectIdGetDatum(relid);
	args[1] = NameGetDatum(&attname);
	args[2] = CStringGetTextDatum(rule_kind_name(kind));

	if (steward_api_rule_exec(relid, STEWARD_ENTRY_CONFIGURE,
							  "INSERT INTO steward.column_rules (relid, attname, kind) "
							  "VALUES ($1, $2, $3)",
							  3, argtypes, args, NULL) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into steward.column_rules");
}

static void
track_column(FunctionCallInfo fcinfo, RuleKind kind)
{
	Oid			relid;
	char	   *colname;
	Relation	rel;
	Form_pg_attribute att;
	StewardAsOwner ctx;
	char	   *current;

	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "column name");
	relid = PG_GETARG_OID(0);
	colname = pstrdup(NameStr(*PG_GETARG_NAME(1)));

	rel = steward_open_table_to_configure(relid);
	att = steward_lookup_column(rel, colname, "track");
	check_column_type(rel, att, kind);

	steward_enter_rules_owner(&ctx);

	current = steward_existing_rule(relid, colname);
	if (current != NULL && strcmp(current, rule_kind_name(kind)) == 0)
	{
		ereport(NOTICE,
				(errmsg("column \"%s\" of relation \"%s\" is already tracked as a %s, skipping",
						colname, RelationGetRelationName(rel), current)));
	}
	else
	{
		if (current != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_OBJECT),
					 errmsg("column \"%s\" of relation \"%s\" is already tracked as a %s",
							colname, RelationGetRelationName(rel), current),
					 errhint("Call steward.untrack() first.")));
		if (kind == RULE_VERSION)
		{
			char	   *other = existing_version_column(relid);

			if (other != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_DUPLICATE_OBJECT),
						 errmsg("relation \"%s\" already tracks versions in column \"%s\"",
								RelationGetRelationName(rel), other),
						 errdetail("A table has at most one version column.")));
			steward_check_existing_versions(rel, colname);
		}
		if (kind == RULE_VERSION)
			tracking_versions_of = relid;
		PG_TRY();
		{
			insert_rule(relid, colname, kind);
		}
		PG_FINALLY();
		{
			tracking_versions_of = InvalidOid;
		}
		PG_END_TRY();
		if (kind == RULE_VERSION)
		{
			CommandCounterIncrement();
			steward_check_one_version_column(relid, relid, false);
			warn_before_update_triggers(rel, colname);
		}
	}

	steward_as_owner_end(&ctx);

	/*
	 * The AM will set the version column: refuse if the executor derives or
	 * checks anything from it (src/tableam/written.c).  The new rule must be
	 * visible to the check's fresh catalog read; an error undoes it.
	 */
	if (kind == RULE_VERSION)
	{
		CommandCounterIncrement();
		steward_check_written_columns(relid, true);
	}
	relation_close(rel, NoLock);
}

/*
 * steward.track_versions(tbl, col): the AM assigns col (bigint) a version
 * on every write and refuses stale ones.  Caller must own tbl; takes
 * ShareRowExclusiveLock on it and on every partition below it (see
 * steward_open_table_to_configure), AccessShareLock on every relation of
 * its tree
 * (steward_check_written_columns) and RowExclusiveLock on
 * steward.column_rules, all held to transaction end.  Raises 22004 for a
 * NULL argument, steward_open_table_to_configure's and
 * steward_lookup_column's errors, 42804 (not bigint), 42710 (the column has
 * another rule, or the table another version column), 55000 (row security
 * hides rows from the owner), 23514 (stored versions below 1; the rows are
 * read as the owner, with that read's errors) and 0A000
 * (steward_check_written_columns).  NOTICE if already tracked.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_track_versions(PG_FUNCTION_ARGS)
{
	steward_require_writable("steward.track_versions()");
	track_column(fcinfo, RULE_VERSION);
	PG_RETURN_VOID();
}

/*
 * steward.track_sequence(tbl, col): the AM refuses an UPDATE that lowers
 * col (40001).  Caller must own tbl; takes ShareRowExclusiveLock on it and
 * on every partition below it (steward_open_table_to_configure) and
 * RowExclusiveLock on steward.column_rules.  Raises 22004 for a NULL
 * argument, steward_open_table_to_configure's and steward_lookup_column's
 * errors, 42804 for a type other than smallint, integer or bigint, 42710
 * when the column has another rule.  NOTICE if already tracked.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_track_sequence(PG_FUNCTION_ARGS)
{
	steward_require_writable("steward.track_sequence()");
	track_column(fcinfo, RULE_SEQUENCE);
	PG_RETURN_VOID();
}

/*
 * steward.untrack(tbl, col): drop the version or sequence rule of col.
 * Caller must own tbl; takes ShareRowExclusiveLock on it (any relation
 * kind) and RowExclusiveLock on steward.column_rules.  Raises 22004 for a
 * NULL argument, 42P01, 42501, 42703 when the table has no such column
 * (0A000 for a system column), 42704 when the column has no rule, and
 * what the rules table's triggers raise (steward_delete_column_rules).
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_untrack(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	Relation	rel;

	steward_require_writable("steward.untrack()");
	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "column name");
	relid = PG_GETARG_OID(0);
	colname = pstrdup(NameStr(*PG_GETARG_NAME(1)));

	/*
	 * Untracking works on any relation we own, also after a switch to heap
	 * or after the table became something else: it only cleans up.
	 */
	steward_check_table_owner(relid);
	rel = steward_open_user_relation(relid, ShareRowExclusiveLock, STEWARD_KINDS_ANY,
									 "steward.untrack()");

	if (steward_delete_column_rules(relid, colname, NULL, STEWARD_ENTRY_UNTRACK) == 0)
	{
		/*
		 * A partition's rule may be an ancestor's: untrack works there, and
		 * detach_state_machine for a state rule (review22 R1).
		 */
		char	   *declname = steward_ancestor_rule_name(rel, colname, false);
		char	   *statename = declname ? NULL :
			steward_ancestor_rule_name(rel, colname, true);

		/* No such column: 42703 (0A000 for a system column), as core says. */
		if (declname == NULL && statename == NULL)
			(void) steward_lookup_column(rel, colname, "untrack");
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("column \"%s\" of relation \"%s\" is not tracked",
						colname, RelationGetRelationName(rel)),
				 declname || statename ?
				 errdetail("The rule on the column is declared on %s, the partitioned table above it, for every partition.",
						   declname ? declname : statename) : 0,
				 declname ?
				 errhint("Untrack it there, for every partition: SELECT steward.untrack(%s, %s);",
						 quote_literal_cstr(declname), quote_literal_cstr(colname)) :
				 statename ?
				 errhint("It is a state machine: detach it there, for every partition: SELECT steward.detach_state_machine(%s, %s);",
						 quote_literal_cstr(statename), quote_literal_cstr(colname)) :
				 errhint("See steward.tracked_columns for the tracked columns.")));
	}
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

/*
 * Invalidate the relcache entry of a table whose rules changed, and of all
 * its partitions (their cached rules include their ancestors').  A table
 * that no longer exists has no cache entry to invalidate.
 */
static void
invalidate_rules_of(Oid relid)
{
	List	   *relids;
	ListCell   *lc;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;
	if (get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE)
	{
		CacheInvalidateRelcacheByRelid(relid);
		return;
	}
	relids = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, relids)
	{
		if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(lfirst_oid(lc))))
			CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
	}
	list_free(relids);
}

/* Does the rule in slot name one of machines (C strings)? */
static bool
names_machine(TupleTableSlot *slot, AttrNumber att_machine, List *machines)
{
	bool		isnull;
	Datum		d = slot_getattr(slot, att_machine, &isnull);
	char	   *machine;
	ListCell   *lc;

	if (isnull)
		return false;
	machine = TextDatumGetCString(d);
	foreach(lc, machines)
		if (strcmp(machine, (const char *) lfirst(lc)) == 0)
			return true;
	return false;
}

/*
 * The rule columns sql reads from steward.column_rules (its first two
 * columns: the table's OID and the column's name as text), in a snapshot
 * taken now (steward_spi_read_latest: all that is committed, and this
 * transaction's writes), as a List of StewardRuleColumn allocated in cxt,
 * which outlives SPI_finish().  One reader for every "which columns"
 * question, so they all see the same rows.  The caller is connected to
 * SPI as the owner of the extension's tables; AccessShareLock on
 * steward.column_rules to the transaction's end.  Raises what the query
 * raises.
 */
List *
steward_rule_columns(const char *sql, int nargs, Oid *argtypes, Datum *args,
					 MemoryContext cxt)
{
	List	   *columns = NIL;

	if (steward_spi_read_latest(sql, nargs, argtypes, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.column_rules");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(cxt);
		StewardRuleColumn *column = palloc(sizeof(StewardRuleColumn));
		bool		isnull;

		column->relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc, 1, &isnull));
		column->attname = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		columns = lappend(columns, column);
		MemoryContextSwitchTo(spicxt);
	}
	return columns;
}

/*
 * The columns state machine "machine" is attached to: its state rules in
 * steward.column_rules, ordered by table OID then column name, read as
 * steward_rule_columns reads (a snapshot taken now; the caller connected
 * to SPI as the owner of the extension's tables; allocated in cxt; its
 * lock and errors).  For add/drop_transition (the tables to lock and
 * check) and for the labels that carry the machine (labels.c).
 */
List *
steward_machine_columns(const char *machine, MemoryContext cxt)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(machine)};

	return steward_rule_columns("SELECT r.relid::pg_catalog.oid, r.attname::pg_catalog.text"
								"  FROM steward.column_rules r"
								" WHERE r.kind OPERATOR(pg_catalog.=) 'state'"
								"   AND r.machine OPERATOR(pg_catalog.=) $1 ORDER BY 1, 2",
								1, argtypes, args, cxt);
}

/*
 * Invalidate the cached rules of every table (and its partitions) with a
 * state rule naming one of machines (a List of C strings; all == true:
 * any machine), read from steward.column_rules with a fresh snapshot:
 * after a write to steward.machine_definitions that changed those
 * machines (its statement triggers, machine_roles.c), so that a machine
 * created again reaches the sessions that cached its rule as missing
 * (which refuse writes), and a TRUNCATE or hand edit reaches those that
 * cached the old definition.  The invalidations are sent at commit.
 * Locks: AccessShareLock on steward.column_rules, released before
 * returning.  Raises 55000 when the catalog lacks a column the library
 * reads (steward_catalog_attnum).
 */
void
steward_invalidate_state_rules(List *machines, bool all)
{
	invalidate_rule_rows(false, machines, all);
}

/*
 * The body of steward_invalidate_state_rules: the tables of every rule row
 * (any_kind), or of the state rules naming one of machines (all: any
 * machine).  Same snapshot, locks and errors.
 */
static void
invalidate_rule_rows(bool any_kind, List *machines, bool all)
{
	Oid			nspid = get_namespace_oid(STEWARD_SCHEMA, true);
	Oid			rulesoid = OidIsValid(nspid) ? get_relname_relid(STEWARD_RULES_TABLE, nspid) : InvalidOid;
	Relation	rulesrel;
	Snapshot	snapshot;
	TableScanDesc scan;
	TupleTableSlot *slot;
	AttrNumber	att_relid,
				att_kind,
				att_machine;

	if (!OidIsValid(rulesoid) || (!any_kind && !all && machines == NIL))
		return;
	rulesrel = table_open(rulesoid, AccessShareLock);
	att_relid = steward_catalog_attnum(rulesrel, "relid");
	att_kind = steward_catalog_attnum(rulesrel, "kind");
	att_machine = steward_catalog_attnum(rulesrel, "machine");
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	slot = table_slot_create(rulesrel, NULL);
	scan = table_beginscan(rulesrel, snapshot, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		n1,
					n2;
		Datum		relid = slot_getattr(slot, att_relid, &n1);
		Datum		kind = slot_getattr(slot, att_kind, &n2);

		if (!n1 && !n2 &&
			(any_kind ||
			 (strcmp(TextDatumGetCString(kind), "state") == 0 &&
			  (all || names_machine(slot, att_machine, machines)))))
			invalidate_rules_of(DatumGetObjectId(relid));
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snapshot);
	table_close(rulesrel, AccessShareLock);
}

static Oid
rule_tuple_relid(Relation catalog, HeapTuple tuple)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, steward_catalog_attnum(catalog, "relid"),
								 RelationGetDescr(catalog), &isnull);

	return isnull ? InvalidOid : DatumGetObjectId(d);
}

/* Whether the name or text column "col" of two rule rows is the same (NULLs equal). */
static bool
rule_tuple_same(Relation catalog, HeapTuple a, HeapTuple b, const char *col)
{
	bool		isnull_a,
				isnull_b;
	AttrNumber	attnum = steward_catalog_attnum(catalog, col);
	Datum		da = heap_getattr(a, attnum, RelationGetDescr(catalog), &isnull_a);
	Datum		db = heap_getattr(b, attnum, RelationGetDescr(catalog), &isnull_b);

	if (isnull_a || isnull_b)
		return isnull_a == isnull_b;
	if (TupleDescAttr(RelationGetDescr(catalog), attnum - 1)->atttypid == TEXTOID)
		return strcmp(TextDatumGetCString(da), TextDatumGetCString(db)) == 0;
	return namestrcmp(DatumGetName(da), NameStr(*DatumGetName(db))) == 0;
}

/* A changed rule row: invalidate the caches, rewrite the column's label. */
static void
rule_row_changed(Relation catalog, HeapTuple tuple)
{
	Oid			relid = rule_tuple_relid(catalog, tuple);
	bool		isnull;
	Datum		attname;

	if (!OidIsValid(relid))
		return;
	invalidate_rules_of(relid);
	attname = heap_getattr(tuple, steward_catalog_attnum(catalog, "attname"),
						   RelationGetDescr(catalog), &isnull);
	if (!isnull)
		steward_sync_rule_label(relid, NameStr(*DatumGetName(attname)));
}

/*
 * What a rule row naming no relation means, for the refusal and the
 * WARNING below (review23 R5).
 */
#define RULE_NO_RELATION_DETAIL \
	"pg_steward enforces no rule on a relation that does not exist (a relation created later with that OID starts without it)"

/*
 * A rule row naming relation OID relid, which names no relation: a row
 * written under session_replication_role = replica (stored as sent, as a
 * restore writes its rows) or an edit of such a row.  A WARNING with the
 * DELETE that removes it; steward.tracked_columns lists it (enforced =
 * f).  No lock.
 */
static void
warn_rule_names_no_relation(Oid relid, const char *kind)
{
	ereport(WARNING,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("the %s rule names relation with OID %u, which does not exist", kind, relid),
			 errdetail(RULE_NO_RELATION_DETAIL "; the row is kept."),
			 errhint("Remove it: DELETE FROM steward.column_rules WHERE relid::oid = %u;", relid)));
}

/*
 * Refuse (42P01) a rule row a statement under session_replication_role =
 * origin points at relation OID relid, which names no relation (an INSERT
 * naming the table by a mistyped OID; a name that is no relation already
 * fails in regclass's input): it would enforce nothing, and nothing but a
 * WARNING-less row in the catalog would tell (review23 R5; a relation
 * created later with that OID deletes it, _rules_on_create).  A restore
 * never sends such a row (relid is dumped as the table's name, unlike a
 * missing column, which only gets a WARNING); rows written under replica
 * are stored as sent, with warn_rule_names_no_relation's WARNING.  No
 * lock.
 */
static void
refuse_rule_names_no_relation(Oid relid)
{
	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_TABLE),
			 errmsg("relation with OID %u does not exist", relid),
			 errdetail(RULE_NO_RELATION_DETAIL "."),
			 errhint("Name the table (relid = 'schema.table'), or use steward.track_versions, steward.track_sequence or steward.attach_state_machine.")));
}

/*
 * Whether relkind is one a rule may name: a table or a partitioned table,
 * the relations whose rows the steward access method writes.
 */
static inline bool
rule_relkind_ok(char relkind)
{
	return relkind == RELKIND_RELATION || relkind == RELKIND_PARTITIONED_TABLE;
}

/*
 * What a rule row naming a view, index, sequence, ... means, for the
 * refusal and the WARNING below (review24 V5).
 */
#define RULE_NOT_TABLE_DETAIL \
	"pg_steward enforces rules on tables and partitioned tables only; \"%s\" is %s"

/*
 * Refuse (42809, as core says "is not a table") a rule row a statement
 * under session_replication_role = origin points at relation relid when
 * it is no table or partitioned table (a view, an index, a sequence, a
 * composite type, a materialized view, a foreign table): it would enforce
 * nothing, and only steward.tracked_columns would tell (review24 V5).
 * The API functions refuse such a relation the same way
 * (steward_open_user_relation); a restore never sends one (the dumped
 * rows are those of tables).  Rows written under replica are stored as
 * sent, with warn_rule_names_no_table's WARNING.  No lock.
 */
static void
refuse_rule_names_no_table(Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind == '\0' || rule_relkind_ok(relkind))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("\"%s\" is not a table", get_rel_name(relid)),
			 errdetail(RULE_NOT_TABLE_DETAIL ".", get_rel_name(relid),
					   steward_relkind_phrase(relkind)),
			 errhint("Name a table, or use steward.track_versions, steward.track_sequence or steward.attach_state_machine.")));
}

/*
 * A rule row written under session_replication_role = replica (stored as
 * sent) naming relation relid, called relname, of a kind that takes no
 * rule: a WARNING with the DELETE that removes it; steward.tracked_columns
 * lists it (enforced = f).  Returns whether it warned.  No lock.
 */
static bool
warn_rule_names_no_table(Oid relid, const char *relname, const char *kind)
{
	char		relkind = get_rel_relkind(relid);

	if (rule_relkind_ok(relkind))
		return false;
	ereport(WARNING,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("the %s rule names relation \"%s\", which is not a table", kind, relname),
			 errdetail(RULE_NOT_TABLE_DETAIL "; the row is kept.", relname,
					   steward_relkind_phrase(relkind)),
			 errhint("Remove it: DELETE FROM steward.column_rules WHERE relid = %s::regclass;",
					 quote_literal_cstr(quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
																   relname)))));
	return true;
}

/*
 * A rule row that a statement wrote by hand (an INSERT or an UPDATE of its
 * relid or attname: the API functions and labels name existing columns)
 * naming no column of an existing relation: the write path ignores it, so
 * nothing is enforced.  Kept (a data-only restore into another schema may
 * meet such rows, and verify() lists them with the DELETE), but the typo is
 * reported when it is made, with a WARNING (readme38 L9); so is a column
 * of a type the rule's kind does not check (steward_rule_type_checked), and
 * a state rule's changed_at naming no column or one not of type
 * timestamptz, which the write path ignores too (readme39 M2: these rules
 * also show as such in steward.tracked_columns and fail verify()).  No
 * lock.
 */
static void
warn_rule_names_no_column(Relation catalog, HeapTuple tuple)
{
	Oid			relid = rule_tuple_relid(catalog, tuple);
	bool		isnull1,
				isnull2,
				isnull3;
	Datum		attname = heap_getattr(tuple, steward_catalog_attnum(catalog, "attname"),
									   RelationGetDescr(catalog), &isnull1);
	Datum		kind = heap_getattr(tuple, steward_catalog_attnum(catalog, "kind"),
									RelationGetDescr(catalog), &isnull2);
	Datum		changed_at = heap_getattr(tuple, steward_catalog_attnum(catalog, "changed_at"),
										  RelationGetDescr(catalog), &isnull3);
	char	   *relname;
	char	   *qualname;
	AttrNumber	attnum;
	AttrNumber	changed_attnum = InvalidAttrNumber;
	Oid			changed_type = InvalidOid;

	if (!OidIsValid(relid) || isnull1 || isnull2)
		return;
	if ((relname = get_rel_name(relid)) == NULL)
	{
		warn_rule_names_no_relation(relid, TextDatumGetCString(kind));
		return;
	}
	if (warn_rule_names_no_table(relid, relname, TextDatumGetCString(kind)))
		return;
	qualname = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname);
	attnum = get_attnum(relid, NameStr(*DatumGetName(attname)));
	if (attnum < 0)
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("the %s rule of relation \"%s\" names system column \"%s\"",
						TextDatumGetCString(kind), relname, NameStr(*DatumGetName(attname))),
				 errdetail("pg_steward enforces rules on user columns only; the row is kept."),
				 errhint("Remove it: DELETE FROM steward.column_rules WHERE relid = %s::regclass AND attname = %s; then attach or track the right column.",
						 quote_literal_cstr(qualname),
						 quote_literal_cstr(NameStr(*DatumGetName(attname))))));
	else if (attnum == InvalidAttrNumber)
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("the %s rule of relation \"%s\" names column \"%s\", which the relation does not have",
						TextDatumGetCString(kind), relname, NameStr(*DatumGetName(attname))),
				 errdetail("pg_steward enforces no rule on a column that does not exist; the row is kept."),
				 errhint("Remove it: DELETE FROM steward.column_rules WHERE relid = %s::regclass AND attname = %s; then attach or track the right column.",
						 quote_literal_cstr(qualname),
						 quote_literal_cstr(NameStr(*DatumGetName(attname))))));
	/* A column of a type the rule's kind does not check: skipped too. */
	else if (!steward_rule_type_checked(TextDatumGetCString(kind), get_atttype(relid, attnum)))
		ereport(WARNING,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the %s rule of relation \"%s\" names column \"%s\" of type %s, which a %s rule does not check",
						TextDatumGetCString(kind), relname, NameStr(*DatumGetName(attname)),
						format_type_be(get_atttype(relid, attnum)), TextDatumGetCString(kind)),
				 errdetail("pg_steward enforces no rule on the column; the row is kept."),
				 errhint("Remove it: DELETE FROM steward.column_rules WHERE relid = %s::regclass AND attname = %s; then attach or track a column of the right type.",
						 quote_literal_cstr(qualname),
						 quote_literal_cstr(NameStr(*DatumGetName(attname))))));
	/* The same for a state rule's changed_at: nothing would be stamped. */
	else if (!isnull3 &&
			 (changed_attnum = get_attnum(relid, NameStr(*DatumGetName(changed_at)))) <= 0)
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 changed_attnum < 0 ?
				 errmsg("the state rule of column \"%s\" of relation \"%s\" names changed_at column \"%s\", a system column",
						NameStr(*DatumGetName(attname)), relname, NameStr(*DatumGetName(changed_at))) :
				 errmsg("the state rule of column \"%s\" of relation \"%s\" names changed_at column \"%s\", which the relation does not have",
						NameStr(*DatumGetName(attname)), relname, NameStr(*DatumGetName(changed_at))),
				 errdetail("pg_steward stamps no column when the state changes; the state rule itself is enforced."),
				 errhint("Clear it: UPDATE steward.column_rules SET changed_at = NULL WHERE relid = %s::regclass AND attname = %s, or detach the machine and attach it again naming the right column.",
						 quote_literal_cstr(qualname),
						 quote_literal_cstr(NameStr(*DatumGetName(attname))))));
	/*
	 * A changed_at column of another type than timestamptz: the write path
	 * ignores it (rules.c add_state_rule), as attach_state_machine refuses
	 * it, so nothing would be stamped either (codereview9 N1).
	 */
	else if (!isnull3 &&
			 (changed_type = get_atttype(relid, changed_attnum)) != TIMESTAMPTZOID)
		ereport(WARNING,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the state rule of column \"%s\" of relation \"%s\" names changed_at column \"%s\" of type %s, not timestamp with time zone",
						NameStr(*DatumGetName(attname)), relname, NameStr(*DatumGetName(changed_at)),
						format_type_be(changed_type)),
				 errdetail("pg_steward stamps no column when the state changes; the state rule itself is enforced."),
				 errhint("Clear it: UPDATE steward.column_rules SET changed_at = NULL WHERE relid = %s::regclass AND attname = %s, or detach the machine and attach it again naming a timestamptz column.",
						 quote_literal_cstr(qualname),
						 quote_literal_cstr(NameStr(*DatumGetName(attname))))));
}

/*
 * A version rule row written into steward.column_rules other than by
 * track_versions -- a restored security label (steward._apply_rule_label
 * writes the row) or a row written by hand -- that gives a table two
 * version columns, its own and a partitioned ancestor's
 * (steward_check_one_version_column: a WARNING; such a table refuses
 * writes until one rule is untracked).  Kept, as the other WARNINGs here
 * keep theirs: a restore may label a partition before its parent
 * is attached.  Makes the row visible to the check (CommandCounterIncrement).
 * Locks: AccessShareLock on the row's relation and every partition below
 * it, and on steward.column_rules, held to transaction end.
 */
static void
warn_two_version_columns(Relation catalog, HeapTuple tuple)
{
	Oid			relid = rule_tuple_relid(catalog, tuple);
	bool		isnull;
	Datum		kind = heap_getattr(tuple, steward_catalog_attnum(catalog, "kind"),
									RelationGetDescr(catalog), &isnull);
	Relation	rel;

	if (!OidIsValid(relid) || relid == tracking_versions_of || isnull ||
		strcmp(TextDatumGetCString(kind), "version") != 0)
		return;
	rel = try_relation_open(relid, AccessShareLock);
	if (rel == NULL)
		return;
	CommandCounterIncrement();
	steward_check_one_version_column(relid, relid, true);
	relation_close(rel, NoLock);
}

/*
 * A version rule row, or a state rule row naming changed_at, written into
 * steward.column_rules by hand (not by an API entry: api_rule_relid) on a
 * table whose definitions make INSERTs fail or the executor see another
 * value than the one the access method sets: the check of track_versions
 * and attach_state_machine (steward_warn_written_columns), as WARNINGs with
 * the fix in the HINT, the row kept as the other WARNINGs here keep theirs
 * (vers13's leftover: the row was kept without a word).  What
 * track_versions refuses with 0A000 (a generated column, a check
 * constraint, partition key, policy or view using the column) is caught in
 * a subtransaction and given as a WARNING too.  Makes the row visible
 * (CommandCounterIncrement).  Locks: AccessShareLock on the row's partition
 * tree, held to transaction end.
 */
static void
warn_written_definition(Relation catalog, HeapTuple tuple)
{
	TupleDesc	desc = RelationGetDescr(catalog);
	Oid			relid = rule_tuple_relid(catalog, tuple);
	bool		isnull[3];
	Datum		kind = heap_getattr(tuple, steward_catalog_attnum(catalog, "kind"), desc, &isnull[0]);
	Datum		attname = heap_getattr(tuple, steward_catalog_attnum(catalog, "attname"), desc, &isnull[1]);
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	(void) heap_getattr(tuple, steward_catalog_attnum(catalog, "changed_at"), desc, &isnull[2]);
	if (!OidIsValid(relid) || relid == api_rule_relid || isnull[0] || isnull[1] ||
		!rule_relkind_ok(get_rel_relkind(relid)) ||
		!(strcmp(TextDatumGetCString(kind), "version") == 0 ||
		  (strcmp(TextDatumGetCString(kind), "state") == 0 && !isnull[2])))
		return;
	CommandCounterIncrement();
	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		steward_warn_written_columns(relid);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata = steward_subxact_abort(cxt, owner);

		if (edata->sqlerrcode != ERRCODE_FEATURE_NOT_SUPPORTED)
			ReThrowError(edata);
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg_internal("%s", edata->message),
				 errdetail_internal("%s%sThe rule row is kept.",
									edata->detail ? edata->detail : "",
									edata->detail ? " " : ""),
				 errhint("Change the table's definition, or remove the rule: DELETE FROM steward.column_rules WHERE relid = %s::regclass AND attname = %s;",
						 quote_literal_cstr(steward_qualified_name(relid)),
						 quote_literal_cstr(NameStr(*DatumGetName(attname))))));
	}
	PG_END_TRY();
}

/*
 * A state rule row a statement wrote, or whose machine an UPDATE changed,
 * naming a machine the write path cannot read: missing (not yet restored,
 * dropped in single-user mode, a typo) or malformed (a hand edit of
 * steward.machine_definitions).  Every INSERT and COPY into the table and
 * every UPDATE of the column is refused (55000) until it can be read: a
 * WARNING says so under session_replication_role = origin (misc40).  Not
 * under replica, where a restore may write the rules before the machines
 * and every state rule would warn; steward.tracked_columns shows it.  steward.tracked_columns' problem
 * says why (steward._state_machine_problem).  Reads the machine through
 * the state kind (rulekinds.h): AccessShareLock on
 * steward.machine_definitions, released.
 */
static void
warn_rule_machine_unreadable(Relation catalog, HeapTuple tuple)
{
	bool		isnull1,
				isnull2;
	Datum		kind = heap_getattr(tuple, steward_catalog_attnum(catalog, "kind"),
									RelationGetDescr(catalog), &isnull1);
	Datum		machine = heap_getattr(tuple, steward_catalog_attnum(catalog, "machine"),
									   RelationGetDescr(catalog), &isnull2);
	Oid			relid = rule_tuple_relid(catalog, tuple);
	char	   *relname = OidIsValid(relid) ? get_rel_name(relid) : NULL;
	char	   *name;
	StateRule  *rule;
	Snapshot	snapshot;
	StewardMachineLoad found;

	if (isnull1 || isnull2 || relname == NULL ||
		!rule_relkind_ok(get_rel_relkind(relid)) ||
		strcmp(TextDatumGetCString(kind), "state") != 0)
		return;
	name = TextDatumGetCString(machine);
	rule = palloc0(sizeof(StateRule));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	found = steward_rule_kinds.load_state_machine ?
		steward_rule_kinds.load_state_machine(snapshot, name, rule) : STEWARD_MACHINE_IGNORED;
	UnregisterSnapshot(snapshot);
	pfree(rule);
	if (found != STEWARD_MACHINE_MISSING && found != STEWARD_MACHINE_MALFORMED)
		return;
	ereport(WARNING,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 found == STEWARD_MACHINE_MISSING ?
			 errmsg("the state rule of relation \"%s\" names state machine \"%s\", which does not exist",
					relname, name) :
			 errmsg("the state rule of relation \"%s\" names state machine \"%s\", whose definition is malformed",
					relname, name),
			 errdetail("Every INSERT and COPY into the table and every UPDATE of the column is refused until the machine can be read; the row is kept."),
			 found == STEWARD_MACHINE_MISSING ?
			 errhint("Create the machine with steward.create_state_machine(), or remove the rule with steward.detach_state_machine().") :
			 errhint("See the problem column of steward.tracked_columns; correct the machine's row in steward.machine_definitions, or remove the rule with steward.detach_state_machine().")));
}

/*
 * The WARNINGs of warn_rule_names_no_column and warn_two_version_columns
 * for the row a statement wrote:
 * an INSERT's, or an UPDATE's that changed relid, attname, kind or
 * changed_at; and, under origin, warn_rule_machine_unreadable's for an
 * INSERT's or an UPDATE's that changed the machine.
 * Also under session_replication_role = replica outside a logical
 * replication worker (review22 R5).  For a row trigger only.  No lock.
 */
static void
warn_hand_written_rule(TriggerData *trigdata)
{
	Relation	catalog = trigdata->tg_relation;
	HeapTuple	written = NULL;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		written = trigdata->tg_trigtuple;
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
			 (rule_tuple_relid(catalog, trigdata->tg_trigtuple) !=
			  rule_tuple_relid(catalog, trigdata->tg_newtuple) ||
			  !rule_tuple_same(catalog, trigdata->tg_trigtuple,
							   trigdata->tg_newtuple, "attname") ||
			  !rule_tuple_same(catalog, trigdata->tg_trigtuple,
							   trigdata->tg_newtuple, "kind") ||
			  !rule_tuple_same(catalog, trigdata->tg_trigtuple,
							   trigdata->tg_newtuple, "changed_at")))
		written = trigdata->tg_newtuple;
	if (written != NULL)
	{
		warn_rule_names_no_column(catalog, written);
		warn_two_version_columns(catalog, written);
		warn_written_definition(catalog, written);
	}
	if (SessionReplicationRole != SESSION_REPLICATION_ROLE_REPLICA &&
		(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		 (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		  !rule_tuple_same(catalog, trigdata->tg_trigtuple,
						   trigdata->tg_newtuple, "machine"))))
		warn_rule_machine_unreadable(catalog, TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ?
									 trigdata->tg_trigtuple : trigdata->tg_newtuple);
}

/*
 * Refuse (55000) a DELETE of the rule of one of the extension's own
 * tables (steward.migration_runs.phase), or an UPDATE changing its table,
 * column, kind, machine or changed_at: that rule keeps the migration
 * records' phases on the edges of data_lifecycle and stamps
 * phase_changed_at, and detach_state_machine refuses to remove it
 * (review19 F2); a superuser's DELETE was the way around that refusal
 * (lead's stop-40 item 5).  The extension's own scripts may
 * (steward_running_own_script).  Under session_replication_role = replica rows are
 * stored as sent, as for every rule.  Takes AccessShareLock on pg_depend.
 */
static void
refuse_extension_rule_change(TriggerData *trigdata)
{
	Relation	catalog = trigdata->tg_relation;
	HeapTuple	old = trigdata->tg_trigtuple;
	Oid			relid;
	Oid			extoid;

	if (steward_running_own_script() ||
		!(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		return;
	relid = rule_tuple_relid(catalog, old);
	extoid = get_extension_oid(STEWARD_EXTENSION, true);
	if (!OidIsValid(relid) || !OidIsValid(extoid) ||
		getExtensionOfObject(RelationRelationId, relid) != extoid)
		return;
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		rule_tuple_relid(catalog, trigdata->tg_newtuple) == relid &&
		rule_tuple_same(catalog, old, trigdata->tg_newtuple, "attname") &&
		rule_tuple_same(catalog, old, trigdata->tg_newtuple, "kind") &&
		rule_tuple_same(catalog, old, trigdata->tg_newtuple, "machine") &&
		rule_tuple_same(catalog, old, trigdata->tg_newtuple, "changed_at"))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot %s the rule of relation \"%s\", a table of extension %s",
					TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) ? "delete" : "change",
					get_rel_name(relid), STEWARD_EXTENSION),
			 errdetail("The rule keeps the phases of migration records on the edges of machine data_lifecycle."),
			 errhint("If its built-in machine is missing, restore it: SELECT steward.restore_builtin_machines();")));
}

/*
 * A rule row written under session_replication_role = replica: only the
 * caches.  Its relid may name another cluster's relation (an apply
 * worker's row), so nothing else is read or checked.
 */
static void
rule_row_invalidate(Relation catalog, HeapTuple tuple)
{
	Oid			relid = rule_tuple_relid(catalog, tuple);

	if (OidIsValid(relid))
		invalidate_rules_of(relid);
}

/* Is the rule row a state rule? */
static bool
rule_tuple_is_state(Relation catalog, HeapTuple tuple)
{
	bool		isnull;
	Datum		kind = heap_getattr(tuple, steward_catalog_attnum(catalog, "kind"),
									RelationGetDescr(catalog), &isnull);

	return !isnull && strcmp(TextDatumGetCString(kind), "state") == 0;
}

/*
 * A DELETE or UPDATE of a rule row that takes a state rule off its table's
 * column (SECURITY LABEL ... IS NULL, untrack, a label of another kind, a
 * superuser's DELETE or UPDATE): the rows of a partition fall to an
 * ancestor's machine, which must declare their values, as
 * detach_state_machine checks (the state kind's check_state_rule_removed:
 * 23514; rules18 item 2).  An UPDATE that keeps a state rule on the same
 * table and column is an attach's business, not a removal.  Locks and
 * errors: the check's.
 */
static void
check_removed_state_rule(TriggerData *trigdata)
{
	Relation	catalog = trigdata->tg_relation;
	HeapTuple	old = trigdata->tg_trigtuple;
	bool		isnull;
	Datum		attname;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) || !rule_tuple_is_state(catalog, old))
		return;
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
		rule_tuple_is_state(catalog, trigdata->tg_newtuple) &&
		rule_tuple_relid(catalog, old) == rule_tuple_relid(catalog, trigdata->tg_newtuple) &&
		rule_tuple_same(catalog, old, trigdata->tg_newtuple, "attname"))
		return;
	attname = heap_getattr(old, steward_catalog_attnum(catalog, "attname"),
						   RelationGetDescr(catalog), &isnull);
	if (isnull || !OidIsValid(rule_tuple_relid(catalog, old)))
		return;
	steward_rule_kinds.check_state_rule_removed(rule_tuple_relid(catalog, old),
												NameStr(*DatumGetName(attname)), rule_entry);
}

/*
 * Checks that fcinfo is a call of an AFTER ROW trigger on the extension's
 * catalog table steward.<catalog>; raises 39P01 naming "name" otherwise.
 * Called before anything reads the trigger's tuples: a superuser may bind
 * the function to a statement trigger (no tuple) or to another table
 * (review23 R4: a crash).  Takes no lock (the trigger's table is open).
 */
void
steward_require_catalog_row_trigger(FunctionCallInfo fcinfo, const char *name,
									const char *catalog)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		RelationGetRelid(trigdata->tg_relation) != steward_relid(catalog, true))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s must be an AFTER ROW trigger of steward.%s", name, catalog)));
}

/*
 * The body of an AFTER ROW trigger on the extension's catalog table
 * steward.<catalog>: checks the trigger protocol
 * (steward_require_catalog_row_trigger: 39P01) and calls fn for the old
 * row and the new row, whichever exist.  Takes no lock of its own; fn's
 * locks and errors are its own.
 */
void
steward_catalog_row_trigger(FunctionCallInfo fcinfo, const char *name,
							const char *catalog, StewardCatalogRowFn fn)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	steward_require_catalog_row_trigger(fcinfo, name, catalog);
	if (trigdata->tg_trigtuple)
		fn(trigdata->tg_relation, trigdata->tg_trigtuple);
	if (trigdata->tg_newtuple)
		fn(trigdata->tg_relation, trigdata->tg_newtuple);
}

/*
 * AFTER ROW trigger on steward.column_rules.  Fires for the API functions,
 * for the rows pg_restore loads, and for hand edits alike, so every path
 * that changes a rule reaches the caches of all backends and the column's
 * security label (labels.c), which carries the rule in dumps.  Under
 * session_replication_role = replica (trigger column_rules_replica) it
 * refuses nothing (a hand-written row naming no column still gets the
 * WARNING) and, in a logical replication worker, only resets the caches
 * (rule_row_invalidate).  A row that
 * puts a rule on a table not using the steward access method is refused
 * (42809, steward_check_rule_storage), as is one on a temporary relation
 * (0A000), and so is one naming no relation (42P01,
 * refuse_rule_names_no_relation), or one naming a view, index or other
 * relation that is no table (42809, refuse_rule_names_no_table), and so
 * is a DELETE or UPDATE of the rule
 * of one of the extension's own tables (55000,
 * refuse_extension_rule_change), and so is a DELETE or UPDATE taking a
 * partition's own state rule off its column while its rows hold values
 * the machine of the ancestor they fall to does not declare (23514,
 * check_removed_state_rule; ShareRowExclusiveLock on the partition and
 * those below it); a row a
 * statement points at a column its relation does not
 * have, or whose changed_at names no timestamptz column, gets a WARNING
 * (warn_rule_names_no_column); 39P01 when not called as an AFTER ROW
 * trigger of steward.column_rules, checked first; 55000 when the
 * catalog lacks a column the library reads (steward_catalog_attnum).
 * Locks, held to transaction end: for a rule newly on a partitioned table,
 * AccessShareLock on it and on every partition; for each row whose table
 * and column exist, AccessShareLock on steward.column_rules,
 * machine_definitions and state_checks, read as their owner to build the
 * column's label (steward_sync_rule_label).  pg_seclabel is read and
 * written under locks released at once, as core's SetSecurityLabel does.
 */
Datum
steward_column_rules_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	/* Before any read of the trigger's tuples (review23 R4). */
	steward_require_catalog_row_trigger(fcinfo, "steward._column_rules_changed()",
										STEWARD_RULES_TABLE);

	/*
	 * Under session_replication_role = replica only the trigger
	 * column_rules_replica (ENABLE REPLICA) fires: the row is stored as
	 * sent, but every session's cached rules are reset, or other sessions
	 * kept enforcing what they had cached (closing37 item 3).
	 */
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
	{
		/*
		 * A session under replica (a dump loaded so, a superuser's edit)
		 * writes rules of this cluster's relations: their labels follow, or
		 * a dump would bring back a deleted rule and lose an inserted one
		 * (closing38 item 4); nothing is refused, the row is stored as
		 * sent.  A logical replication worker's row may name another
		 * cluster's relation (a binary subscription sends regclass as an
		 * OID): only the caches.
		 */
		if (!IsLogicalWorker())
			warn_hand_written_rule(trigdata);
		steward_catalog_row_trigger(fcinfo, "steward._column_rules_changed()",
									STEWARD_RULES_TABLE,
									IsLogicalWorker() ? rule_row_invalidate : rule_row_changed);
		return PointerGetDatum(NULL);
	}

	refuse_extension_rule_change(trigdata);

	/*
	 * A new rule, or one moved to another table, must reach a steward
	 * table, or it would be silently unenforced (steward_check_rule_storage).
	 * Rules already there stay editable.
	 */
	{
		HeapTuple	written = NULL;

		if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
			written = trigdata->tg_trigtuple;
		else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
				 rule_tuple_relid(trigdata->tg_relation, trigdata->tg_trigtuple) !=
				 rule_tuple_relid(trigdata->tg_relation, trigdata->tg_newtuple))
			written = trigdata->tg_newtuple;
		if (written != NULL)
		{
			Oid			relid = rule_tuple_relid(trigdata->tg_relation, written);

			if (OidIsValid(relid))
			{
				refuse_rule_names_no_relation(relid);
				refuse_rule_names_no_table(relid);
			}
			if (OidIsValid(relid) && get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
			{
				Relation	rel = relation_open(relid, AccessShareLock);

				steward_refuse_temporary(relid, "a column rule");
				steward_check_partitions_use_steward(rel);
				relation_close(rel, NoLock);
			}
			else if (OidIsValid(relid))
				steward_check_rule_storage(relid);
		}
		warn_hand_written_rule(trigdata);
	}
	check_removed_state_rule(trigdata);
	steward_catalog_row_trigger(fcinfo, "steward._column_rules_changed()",
								STEWARD_RULES_TABLE, rule_row_changed);
	return PointerGetDatum(NULL);
}

/*
 * BEFORE TRUNCATE statement trigger on steward.column_rules (ENABLE
 * ALWAYS, so under session_replication_role = replica too).  TRUNCATE
 * fires no row trigger: the rules it removed stayed enforced in every
 * session that had cached them, the tables' labels kept them for the next
 * dump, and the extension's own rule on steward.migration_runs went with
 * them, which a DELETE may not remove (codereview10 C1).  So it is
 * refused (55000) except in the extension's own scripts and in a logical
 * replication worker, whose rows are stored as sent (as the row triggers
 * do); there the tables of every rule row are sent an invalidation, at
 * commit, so no session keeps enforcing a removed rule.  39P01 unless a
 * BEFORE TRUNCATE trigger of steward.column_rules.  Locks: those of the
 * TRUNCATE; AccessShareLock on the catalog to read its rows, released.
 */
Datum
steward_column_rules_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) ||
		RelationGetRelid(trigdata->tg_relation) != steward_relid(STEWARD_RULES_TABLE, true))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._column_rules_truncate() must be a BEFORE TRUNCATE trigger of steward.%s",
						STEWARD_RULES_TABLE)));
	if (!steward_running_own_script() && !IsLogicalWorker())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot truncate steward.%s", STEWARD_RULES_TABLE),
				 errdetail("TRUNCATE fires no row trigger: the rules cached by other sessions and the columns' security labels would stay, and the rule of steward.migration_runs.phase, a table of extension %s, would go.",
						   STEWARD_EXTENSION),
				 errhint("Remove rules with steward.untrack() or steward.detach_state_machine(), or with a DELETE, which the triggers follow: DELETE FROM steward.%s WHERE relid <> 'steward.migration_runs'::regclass;",
						 STEWARD_RULES_TABLE)));
	invalidate_rule_rows(true, NIL, true);
	return PointerGetDatum(NULL);
}

/*
 * steward._partition_ancestors(tbl regclass) RETURNS TABLE (relid regclass,
 * depth integer): the partitioned ancestors of tbl, nearest first (depth 1
 * its parent, 2 the parent's, ...; no row for a table that is no partition
 * or no relation), a parent whose DETACH PARTITION ... CONCURRENTLY is
 * pending included: steward_partition_ancestors, the walk the write path
 * enforces rules by, so SQL and C never disagree on which rules reach a
 * table (pg_partition_ancestors stops below a pending parent, review25
 * W3).  STRICT.  Reads pg_inherits and the syscache; takes no lock on the
 * relations; raises nothing of its own.
 */
Datum
steward_partition_ancestors_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *ancestors = steward_partition_ancestors(PG_GETARG_OID(0));
	int32		depth = 0;
	ListCell   *lc;

	InitMaterializedSRF(fcinfo, 0);
	foreach(lc, ancestors)
	{
		Datum		values[2] = {ObjectIdGetDatum(lfirst_oid(lc)), Int32GetDatum(++depth)};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}

/*
 * steward._pending_detaches(tbl regclass) RETURNS TABLE (part regclass,
 * parent regclass): every partition at or below tbl (tbl included) whose
 * ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY is pending (its second
 * phase still waiting for older transactions, or cancelled), with the
 * table it is half detached from, tbl first, each parent before its
 * partitions: steward_pending_detaches, the C walk down that includes
 * what pg_partition_tree and find_all_inheritors leave out.  STRICT; no
 * row for an OID that names no relation.  Reads pg_inherits; takes no
 * lock on the relations; raises nothing of its own.
 */
Datum
steward_pending_detaches_sql(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *parents;
	List	   *parts = steward_pending_detaches(PG_GETARG_OID(0), &parents);
	ListCell   *lc;
	ListCell   *pc;

	InitMaterializedSRF(fcinfo, 0);
	forboth(lc, parts, pc, parents)
	{
		Datum		values[2] = {ObjectIdGetDatum(lfirst_oid(lc)), ObjectIdGetDatum(lfirst_oid(pc))};
		bool		nulls[2] = {false, false};

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_NULL();
}

/*
 * steward._state_rule_leaves(tbl regclass, rule_rel regclass, col name)
 * RETURNS oid[]: STEWARD_SQL_STATE_RULE_LEAVES, run as the caller in the
 * caller's snapshot (STABLE; read-only SPI), so the function and the
 * library's statement for a 0.1 database share one text (rules20 item 5;
 * the function was SQL of its own).  Not STRICT, like the SQL it replaces:
 * a NULL argument reaches the query as NULL.  Reads pg_inherits, pg_class
 * and steward.column_rules; pg_partition_tree takes AccessShareLock on
 * tbl's partitions; raises what reading them raises.
 */
Datum
steward_state_rule_leaves_sql(PG_FUNCTION_ARGS)
{
	Oid			argtypes[3] = {REGCLASSOID, REGCLASSOID, NAMEOID};
	Datum		args[3];
	char		nulls[3];
	bool		isnull;
	Datum		leaves;
	MemoryContext callercxt = CurrentMemoryContext;

	for (int i = 0; i < 3; i++)
	{
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
		args[i] = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	SPI_connect();
	if (SPI_execute_with_args("SELECT " STEWARD_SQL_STATE_RULE_LEAVES("$1", "$2", "$3"),
							  3, argtypes, args, nulls, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the leaves a state rule governs");
	leaves = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(callercxt);

		leaves = datumCopy(leaves, false, -1);
		MemoryContextSwitchTo(spicxt);
	}
	SPI_finish();
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(leaves);
}

/*
 * steward._half_detached_words(part regclass, parent regclass, capital
 * boolean, OUT why text, OUT step text): steward_half_detached_why and
 * steward_half_detached_step, for the reports written in SQL (the
 * relayout's refusal, steward.tracked_columns' problem), so they say what
 * the C refusals say.  STRICT.  Reads the syscache; takes no lock; raises
 * nothing of its own.
 */
Datum
steward_half_detached_words_sql(PG_FUNCTION_ARGS)
{
	Oid			part = PG_GETARG_OID(0);
	Oid			parent = PG_GETARG_OID(1);
	bool		capital = PG_GETARG_BOOL(2);
	TupleDesc	desc;
	Datum		values[2];
	bool		nulls[2] = {false, false};

	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = CStringGetTextDatum(steward_half_detached_why(capital));
	values[1] = CStringGetTextDatum(steward_half_detached_step(part, parent, capital));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(desc), values, nulls)));
}
