/*-------------------------------------------------------------------------
 *
 * labels.c
 *	  Column rules as security labels of provider "steward", so that they
 *	  travel with their table in every dump that contains it.
 *
 * pg_dump writes the rows of steward.column_rules (an extension
 * configuration table) only in whole-database dumps; "pg_dump -t orders",
 * "-n public" and "--schema-only" lost every rule.  Security labels are the
 * one kind of extension-defined metadata that pg_dump writes with each
 * object, in every dump form that contains the object, and that core lets
 * an extension validate on the way back in (the provider hook, called only
 * after core checked that the caller owns the table).  They are keyed by
 * attribute number, so they follow RENAME COLUMN and vanish with DROP
 * COLUMN.  This is how PostgreSQL Anonymizer keeps its masking rules with
 * the columns.
 *
 * column_rules stays the source of truth that the write paths read
 * (rules.c); the labels mirror it:
 *
 * - steward_sync_rule_label(), called by the AFTER ROW trigger of
 *   column_rules for every change whatever its origin (API, restore, DDL
 *   event triggers, hand edits), rewrites the label of that column from
 *   its row: a JSON object with the rule, its creation time and, for a
 *   state machine, the machine's definition, its owner by role name (as
 *   pg_dump writes ALTER ... OWNER TO name; none for a built-in machine)
 *   and the table's state checks (steward.state_checks, keyed by state).
 *   A restore attaches an existing machine of that name only when that
 *   role owns it (steward._apply_label_state: review35 S1), so the labels
 *   of a machine's columns are written again when its owner changes
 *   (steward._machine_owner_relabel).
 * - steward_state_checks_changed(), the AFTER ROW trigger of state_checks,
 *   rewrites the label of the table's state column the same way, so a
 *   check travels with the column whose states it names.  The checks go
 *   into the state column's label rather than one on the table because
 *   a check exists only while that column has a machine (set_state_check
 *   requires one and validates the state against it): pg_dump writes a
 *   table's own label before its columns', so a table label would be
 *   restored before the machine it needs, and one label restores the rule
 *   and its checks together, atomically.
 * - The provider hook (SECURITY LABEL FOR steward ON COLUMN ...: a
 *   restore, or a user) hands the label to steward._apply_rule_label(),
 *   which validates it like the API functions do and creates the rule (and
 *   the machine if this database lacks it); for a state column it then
 *   makes the table's checks those of the label, each validated as
 *   set_state_check validates it (parsed, never run: nothing the table's
 *   owner wrote runs while a label is applied).
 *
 * The provider must be registered in the session that runs SECURITY LABEL:
 * _PG_init registers it, and the event trigger steward_load_label_provider
 * (ddl_command_start, tag SECURITY LABEL) calls a C function of ours, which
 * loads the library before the command looks for its provider.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type_d.h"
#include "commands/event_trigger.h"
#include "commands/seclabel.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "replication/logicalworker.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "tableam/labels.h"
#include "tableam/rules.h"
#include "tableam/rules_api.h"

PG_FUNCTION_INFO_V1(steward_load_label_provider);
PG_FUNCTION_INFO_V1(steward_state_checks_changed);
PG_FUNCTION_INFO_V1(steward_label_rows_stored);

#define STEWARD_LABEL_PROVIDER "steward"

static void steward_object_relabel(const ObjectAddress *object,
								   const char *seclabel);

/*
 * Called by _PG_init: every backend that loads the library has the
 * provider.  Takes no lock; raises only 53200 (core copies the provider
 * into TopMemoryContext).
 */
void
steward_labels_init(void)
{
	register_label_provider(STEWARD_LABEL_PROVIDER, steward_object_relabel);
}

/*
 * Event trigger steward_load_label_provider (ddl_command_start, SECURITY
 * LABEL).  Its work is done by being called: see the file header.  Takes
 * no lock; raises 39P03 unless called as an event trigger.
 */
Datum
steward_load_label_provider(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward_load_label_provider must be called as an event trigger")));
	PG_RETURN_VOID();
}

/*
 * The label of the rule of (relid, attname) as column_rules holds it, or
 * NULL.  The machine's owner is read through to_jsonb(m): a 0.1 catalog
 * (the library serves a database not yet updated) has no owner, nor
 * builtin, and gives none.  Creation times are written in UTC ISO 8601, which reads back the
 * same whatever DateStyle and TimeZone.  Reads the extension's tables as
 * their owner, with a fresh snapshot (not read-only SPI): called from an
 * AFTER ROW trigger, it must see the row that fired it.
 */
static char *
rule_label(Oid relid, const char *attname)
{
	StewardAsOwner ctx;
	MemoryContext caller_cxt = CurrentMemoryContext;
	Oid			argtypes[2] = {OIDOID, NAMEOID};
	Datum		args[2];
	NameData	name;
	char	   *label = NULL;

	namestrcpy(&name, attname);
	args[0] = ObjectIdGetDatum(relid);
	args[1] = NameGetDatum(&name);

	steward_as_owner_begin(steward_relid(STEWARD_RULES_TABLE, false), &ctx);
	if (SPI_execute_with_args(
							  "SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object("
							  "  'v', 1, 'kind', r.kind,"
							  "  'since', pg_catalog.to_char(r.created_at AT TIME ZONE 'UTC',"
							  "                              'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
							  "  'machine', r.machine, 'changed_at', r.changed_at,"
							  "  'states', m.states, 'initial', m.initial, 'transitions', m.transitions,"
							  "  'machine_owner', CASE WHEN (pg_catalog.to_jsonb(m) OPERATOR(pg_catalog.->>) 'builtin')"
							  "    OPERATOR(pg_catalog.=) 'false' THEN pg_catalog.pg_get_userbyid(("
							  "    pg_catalog.to_jsonb(m) OPERATOR(pg_catalog.->>) 'owner')::pg_catalog.regrole::pg_catalog.oid) END,"
							  "  'machine_since', pg_catalog.to_char(m.created_at AT TIME ZONE 'UTC',"
							  "                                      'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
							  "  'checks', CASE WHEN r.kind OPERATOR(pg_catalog.=) 'state' THEN"
							  "    (SELECT pg_catalog.jsonb_object_agg(c.state, c.check_sql)"
							  "       FROM steward.state_checks c"
							  "      WHERE c.relid::pg_catalog.oid OPERATOR(pg_catalog.=) $1) END"
							  "))::pg_catalog.text"
							  "  FROM steward.column_rules r"
							  "  LEFT JOIN steward.machine_definitions m"
							  "         ON m.name OPERATOR(pg_catalog.=) r.machine"
							  " WHERE r.relid::pg_catalog.oid OPERATOR(pg_catalog.=) $1"
							  "   AND r.attname OPERATOR(pg_catalog.=) $2",
							  2, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.column_rules");
	if (SPI_processed == 1)
	{
		char	   *value = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		if (value != NULL)
			label = MemoryContextStrdup(caller_cxt, value);
	}
	steward_as_owner_end(&ctx);
	return label;
}

/*
 * Make the label of column "attname" of "relid" match its rule in
 * column_rules (no rule: no label).  Called by the rules table's trigger
 * for the old and the new row of every change.  Does nothing for a table
 * or column that no longer exists, and writes only when the label changes.
 * Reads the rule as the extension's tables' owner (rule_label:
 * AccessShareLock on steward.column_rules, machine_definitions and
 * state_checks, held to transaction end); pg_seclabel is read and written
 * under locks released at once (core's GetSecurityLabel/SetSecurityLabel).
 * Raises 42P01 when the extension has no steward.column_rules; rule_label's
 * XX000 'could not read' cannot happen (SPI is connected by
 * steward_as_owner_begin).
 */
void
steward_sync_rule_label(Oid relid, const char *attname)
{
	ObjectAddress column;
	AttrNumber	attnum;
	char	   *label;
	char	   *current;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;
	attnum = get_attnum(relid, attname);
	if (attnum <= 0)
		return;

	label = rule_label(relid, attname);
	ObjectAddressSubSet(column, RelationRelationId, relid, attnum);
	current = GetSecurityLabel(&column, STEWARD_LABEL_PROVIDER);
	if ((label == NULL) != (current == NULL) ||
		(label != NULL && strcmp(label, current) != 0))
	{
		SetSecurityLabel(&column, STEWARD_LABEL_PROVIDER, label);
		/* The old and new rows of one UPDATE may name the same column. */
		CommandCounterIncrement();
	}
}

/*
 * Sync the label of every column whose state rule names one of machines
 * (a List of C strings) with its rule (steward_sync_rule_label): for a
 * machine a logical replication apply worker changed (machine_roles.c).
 * A label carries the machine in dumps: one left with the old edges made
 * the subscriber's dump restore the old machine and refuse the new one's
 * row as "another definition" (codereview16 C3).  Reads steward.column_rules
 * as its owner (steward_machine_columns: AccessShareLock to transaction
 * end); then steward_sync_rule_label's locks and errors.
 */
void
steward_sync_machine_labels(List *machines)
{
	StewardAsOwner ctx;
	MemoryContext caller_cxt = CurrentMemoryContext;
	List	   *columns = NIL;
	ListCell   *lc;

	if (machines == NIL)
		return;
	steward_as_owner_begin(steward_relid(STEWARD_RULES_TABLE, false), &ctx);
	foreach(lc, machines)
	{
		List	   *found = steward_machine_columns((const char *) lfirst(lc), caller_cxt);

		/*
		 * The list itself in caller_cxt too: list_concat allocates in
		 * CurrentMemoryContext, here SPI's procedure context, which
		 * steward_as_owner_end (SPI_finish) frees before the loop below
		 * walks the list; the next connection (rule_label's) reuses that
		 * memory, and the apply worker read a list overwritten by its
		 * statements (crash49, TAP 123: signal 11).
		 */
		MemoryContext spi_cxt = MemoryContextSwitchTo(caller_cxt);

		columns = list_concat(columns, found);
		MemoryContextSwitchTo(spi_cxt);
	}
	steward_as_owner_end(&ctx);
	Assert(columns == NIL || GetMemoryChunkContext(columns) == caller_cxt);
	foreach(lc, columns)
	{
		StewardRuleColumn *column = lfirst(lc);

		steward_sync_rule_label(column->relid, column->attname);
	}
}

/*
 * The role whose rights decide whether the label may use a state machine,
 * and who owns a machine the label creates: the current user, except in a
 * session a superuser logged in to that runs as another role by SET SESSION
 * AUTHORIZATION (pg_dump and pg_restore --use-set-session-authorization
 * create each owner's objects so), outside any security-definer function
 * and security-restricted operation.  There the session may return to its
 * login role with RESET SESSION AUTHORIZATION whenever it likes, so taking
 * the label as the login role's grants nothing; it makes the restore one
 * role's, as without the option: bob's table may then be attached to the
 * machine alice's label made before the machine's row brings bob's grant
 * (review17 R17-3).  Takes no lock; raises nothing.
 */
static Oid
steward_label_caller(void)
{
	Oid			userid = GetUserId();
	Oid			loginid = GetAuthenticatedUserId();

	if (userid == GetSessionUserId() && userid != loginid &&
		!InLocalUserIdChange() && !InSecurityRestrictedOperation() &&
		superuser_arg(loginid))
		return loginid;
	return userid;
}

/*
 * The provider hook: SECURITY LABEL FOR steward ON COLUMN tbl.col IS
 * 'label' (or NULL).  Core has checked that the caller owns the table and
 * holds ShareUpdateExclusiveLock on it; steward._apply_rule_label takes
 * ShareRowExclusiveLock like the API functions, validates and writes the
 * rule as the owner of the extension's tables.
 */
static void
steward_object_relabel(const ObjectAddress *object, const char *seclabel)
{
	Oid			applyargs[4] = {REGCLASSOID, INT2OID, TEXTOID, REGROLEOID};
	Oid			nspid;
	StewardAsOwner ctx;
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};

	if (object->classId != RelationRelationId || object->objectSubId <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("security labels of provider \"%s\" apply to table columns only",
						STEWARD_LABEL_PROVIDER),
				 errdetail("They carry pg_steward's column rules, written by steward.track_versions, steward.track_sequence and steward.attach_state_machine."),
				 object->classId == RelationRelationId && object->objectSubId == 0 &&
				 get_rel_relkind(object->objectId) == RELKIND_SEQUENCE ?
				 errhint("pg_steward's sequence rule applies to the table column that stores the sequence's values: SELECT steward.track_sequence('table', 'column');") :
				 errhint("Label a column of a table, SECURITY LABEL FOR %s ON COLUMN table.column IS '...' (as pg_dump writes them), or call one of those functions.",
						 STEWARD_LABEL_PROVIDER)));

	/*
	 * pg_upgrade's schema restore (binary-upgrade mode) recreates the
	 * extension's members one by one and then every table with its labels;
	 * the rules table may not exist yet, and the data files of the
	 * extension's tables (the rules the old cluster had) are copied over
	 * afterwards.  The label is stored by core, nothing is applied.
	 */
	if (IsBinaryUpgrade)
		return;

	nspid = get_namespace_oid(STEWARD_SCHEMA, true);
	if (!OidIsValid(nspid) || !OidIsValid(get_relname_relid(STEWARD_RULES_TABLE, nspid)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"pg_steward\" is not installed in this database"),
				 errhint("CREATE EXTENSION pg_steward; before restoring tables with pg_steward rules.")));
	if (!OidIsValid(LookupFuncName(list_make2(makeString(STEWARD_SCHEMA),
											  makeString("_apply_rule_label")),
								   4, applyargs, true)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the pg_steward objects of this database are older than its library"),
				 errhint(STEWARD_HINT_UPDATE)));

	/*
	 * As track_versions and attach_state_machine: a partitioned table takes
	 * a rule only while every partition is a steward table.  Core holds
	 * ShareUpdateExclusiveLock on it, which keeps partitions from being
	 * created or attached meanwhile.
	 */
	if (seclabel != NULL && get_rel_relkind(object->objectId) == RELKIND_PARTITIONED_TABLE)
	{
		Relation	rel = relation_open(object->objectId, NoLock);

		steward_check_partitions_use_steward(rel);
		relation_close(rel, NoLock);
	}
	else if (seclabel != NULL && get_rel_relkind(object->objectId) == RELKIND_RELATION)
	{
		Relation	rel;

		/*
		 * A rule on a table of another access method would be silently
		 * unenforced: refused, so that a restore with
		 * --no-table-access-method (tables come back as heap) reports
		 * each rule it could not keep.  Removing a label stays allowed.
		 */
		steward_check_rule_storage(object->objectId);
		rel = relation_open(object->objectId, NoLock);
		steward_check_no_inheritance_children(rel);
		relation_close(rel, NoLock);
	}

	args[0] = ObjectIdGetDatum(object->objectId);
	args[1] = Int16GetDatum((int16) object->objectSubId);
	if (seclabel != NULL)
		args[2] = CStringGetTextDatum(seclabel);
	else
		nulls[2] = 'n';
	/* Whose rights decide whether a named state machine may be used. */
	args[3] = ObjectIdGetDatum(steward_label_caller());

	steward_enter_rules_owner(&ctx);
	/* The label checks its row (_apply_rule_label): the trigger does not. */
	if (steward_api_rule_exec(object->objectId, STEWARD_ENTRY_LABEL,
							  "SELECT steward._apply_rule_label($1, $2, $3, $4)",
							  4, applyargs, args, nulls) != SPI_OK_SELECT)
		elog(ERROR, "could not apply a pg_steward label");
	steward_as_owner_end(&ctx);
}

/*
 * steward._label_rows_stored(tbl regclass) RETURNS boolean: whether table
 * tbl or one of its partitions may store a row
 * (steward_relation_stores_rows).  The label checks (labels.sql) read the
 * rows as the table's owner, by name, only when there may be some, so that
 * a restore, which labels a table right after creating it and before its
 * data and its schema's GRANTs (review15 R15-2), does not need the owner's
 * USAGE on the schema.  The caller holds SHARE ROW EXCLUSIVE on tbl and its
 * partitions; AccessShareLock is taken on tbl and each partition (held
 * to transaction end).  An OID that names no relation (0, a dropped
 * table's) raises 42P01, never core's XX000 'cache lookup failed'
 * (review18 F2: the function is revoked from PUBLIC, but a superuser may
 * call it with anything).
 */
Datum
steward_label_rows_stored(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	relation_close(steward_open_relation_or_42P01(relid, AccessShareLock), NoLock);
	PG_RETURN_BOOL(steward_relation_stores_rows(relid));
}

/*
 * Sync the label of every state column of "relid" (there is at most one)
 * with its rule and the table's state checks.  Does nothing for a table
 * without a state machine or one that no longer exists.
 */
static void
sync_state_labels(Oid relid)
{
	StewardAsOwner ctx;
	MemoryContext caller_cxt = CurrentMemoryContext;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	List	   *columns = NIL;
	ListCell   *lc;

	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		return;
	steward_as_owner_begin(steward_relid(STEWARD_RULES_TABLE, false), &ctx);
	if (SPI_execute_with_args("SELECT r.attname::pg_catalog.text FROM steward.column_rules r"
							  " WHERE r.relid::pg_catalog.oid OPERATOR(pg_catalog.=) $1"
							  "   AND r.kind OPERATOR(pg_catalog.=) 'state'",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.column_rules");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		MemoryContext spi_cxt = MemoryContextSwitchTo(caller_cxt);

		/* The list outlives SPI_finish(). */
		columns = lappend(columns, pstrdup(name));
		MemoryContextSwitchTo(spi_cxt);
	}
	steward_as_owner_end(&ctx);
	foreach(lc, columns)
		steward_sync_rule_label(relid, (const char *) lfirst(lc));
}

static void
check_row_changed(Relation catalog, HeapTuple tuple)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, steward_catalog_attnum(catalog, "relid"),
								 RelationGetDescr(catalog), &isnull);

	if (!isnull)
		sync_state_labels(DatumGetObjectId(d));
}

/*
 * AFTER ROW trigger on steward.state_checks: every change of a check,
 * whatever its origin (set_state_check, a label, pg_restore's rows, a hand
 * edit, the removal of the state rule), rewrites the label of the table's
 * state column, which carries the checks in dumps.  Raises 39P01 unless
 * called as an AFTER ROW trigger of steward.state_checks (checked before
 * anything else, in replica mode too), 55000 when the catalog lacks a column
 * the library reads; its locks are steward_sync_rule_label's, plus
 * AccessShareLock on steward.column_rules to find the state columns (to
 * transaction end).
 */
Datum
steward_state_checks_changed(PG_FUNCTION_ARGS)
{
	/*
	 * ENABLE ALWAYS: a check written under session_replication_role =
	 * replica in a session is this cluster's, and its label follows; a
	 * logical replication worker's row may name another cluster's
	 * relation (steward_column_rules_changed).
	 */
	steward_require_catalog_row_trigger(fcinfo, "steward._state_checks_changed()",
										STEWARD_CHECKS_TABLE);
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA && IsLogicalWorker())
		return PointerGetDatum(NULL);
	steward_catalog_row_trigger(fcinfo, "steward._state_checks_changed()",
								STEWARD_CHECKS_TABLE, check_row_changed);
	return PointerGetDatum(NULL);
}
