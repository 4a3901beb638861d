/*-------------------------------------------------------------------------
 *
 * relayout.c
 *	  What the relayout migration step (src/migrate/relayout.sql) needs C
 *	  for: the apply trigger that keeps both layouts written, "apply mode"
 *	  (rows stored as sent), and a parser check of the user's partition_by.
 *
 *	  steward._relayout_trigger()			AFTER ROW trigger, both tables
 *	  steward._relayout_exec(tbl, sql, args)	_migration_exec in apply mode
 *	  steward._relayout_partition_by(text)	strategy and key columns
 *	  steward._relayout_guard_ddl()		event trigger: DDL that would change one
 *										layout (or shape) of a migration refused
 *
 * While a relayout runs, the old and the new layout of a table each carry
 * an AFTER INSERT OR UPDATE OR DELETE row trigger that applies the change
 * to the other one, keyed by the primary key: INSERT and UPDATE as an
 * upsert (INSERT ... ON CONFLICT (key) DO UPDATE, after deleting the old
 * key if the update changed it), DELETE as a delete by key.  Applying a
 * change twice leaves the same row, so at-least-once is safe.  The
 * statements are built by relayout.sql from names only (format %I,
 * regclass) and passed as trigger arguments; the changed row is their only
 * parameter.
 *
 * An applied change is a copy of a write the other layout already took,
 * with its rules enforced there.  So while it is applied (and while a
 * backfill batch copies rows) this backend is in apply mode: the steward
 * AM stores rows as sent, as under session_replication_role = replica
 * (versions, sequences and states are not re-checked or re-stamped), and
 * the other layout's apply trigger does nothing, so a change never
 * bounces back.
 *
 * The apply runs as the owner of the table the trigger is on (the owner
 * of both layouts), security-restricted, with search_path pinned: whoever
 * writes the row, the owner's constraints and index expressions on the
 * other layout never run with the writer's rights.  Its plans are kept
 * with the migration's batch plans (steward_spi_execute_kept: by text,
 * row type, owner, the partition the trigger fires on and settings; the
 * plan cache revalidates them after DDL).  The apply keeps the writer's other settings (closing36
 * item 4, decided): it copies values, computing none (its text, built
 * from names by _relayout_apply_sql, holds no string literal that
 * standard_conforming_strings could read otherwise), and the only code
 * it runs on the other layout -- its CHECK constraints, the same as this
 * layout's -- then sees what the write that just passed them here saw;
 * pinned settings could refuse on one layout a row the other accepted.
 * Row security needs no pin: a relayout refuses tables with row security
 * and the DDL guard refuses turning it on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/stratnum.h"
#include "access/htup_details.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "optimizer/optimizer.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_am_d.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_index.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_publication.h"
#include "catalog/pg_publication_rel.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_statistic_ext.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "storage/lmgr.h"
#include "commands/tablecmds.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "parser/parse_utilcmd.h"
#include "rewrite/rewriteSupport.h"
#include "tcop/tcopprot.h"
#include "parser/parser.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "migrate/migrate.h"
#include "tableam/rules.h"

PG_FUNCTION_INFO_V1(steward_relayout_trigger);
PG_FUNCTION_INFO_V1(steward_relayout_exec);
PG_FUNCTION_INFO_V1(steward_relayout_partition_by);
PG_FUNCTION_INFO_V1(steward_relayout_key_eqop);
PG_FUNCTION_INFO_V1(steward_migration_guard_shape_users);
PG_FUNCTION_INFO_V1(steward_relayout_guard_ddl);
PG_FUNCTION_INFO_V1(steward_migration_guard_publications);
PG_FUNCTION_INFO_V1(steward_publication_filter_columns);
PG_FUNCTION_INFO_V1(steward_migrations_drop_snapshot);
PG_FUNCTION_INFO_V1(steward_migration_settle_dropped);

/*
 * Apply mode: the relations an apply statement running in this backend
 * writes as a copy (the other layout and its partitions), NIL when none,
 * and the statement nesting level it runs under (steward_statement_nest:
 * the statement itself writes at apply_nest + 1).  Only these relations,
 * written by that statement itself, are stored as sent: an apply
 * statement is owner-chosen SQL, a write it makes to any other table
 * meets that table's rules, and so does a write a statement it runs in
 * turn (a function its CHECK constraint calls) makes, to either layout.
 */
static List *apply_targets = NIL;
static int	apply_nest = 0;

/* steward.relayout_max_partition_share (docs/settings.md). */
static double relayout_max_partition_share = 0.5;

/* steward.relayout_share_threshold (docs/settings.md). */
static int	relayout_share_threshold = 100;

/* What a trigger call found in the catalog, kept for its statement. */
typedef struct RelayoutCheck
{
	List	   *targets;		/* apply targets; NIL: no relayout has the table */
	char	   *migration;		/* its relayout migration, if targets */
	Oid			want;			/* the other layout the trigger names */
	bool		gone;			/* the migration's other layout was dropped */
	bool		reported;		/* not_a_layout / the WARNING done */
	bool		skip_recorded;	/* a skipped INSERT of this statement is recorded */
} RelayoutCheck;

/*
 * Called by steward_migrate_define_gucs: the relayout's hot-shard limit
 * and the count of rows (and of writes) from which its shares are judged,
 * PGC_USERSET because migration_validate reads them in the caller's
 * session and they only decide that session's cutover (as
 * autovacuum_vacuum_threshold, the threshold is a plain count: no unit).
 * Takes no lock.  Raises nothing but out of memory (53200): a value out of
 * range set before the library was loaded is a WARNING, and the default
 * stays (core's define_custom_variable).
 */
void
steward_relayout_define_gucs(void)
{
	DefineCustomRealVariable("steward.relayout_max_partition_share",
							 "Largest share of rows or writes one partition of a relayout's "
							 "new layout may take before migration_validate fails.",
							 "The hot-shard check of a relayout: a partition above this share "
							 "of the rows or of the writes fails the distribution check, so "
							 "the cutover is refused until the key is fixed.",
							 &relayout_max_partition_share,
							 0.5, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("steward.relayout_share_threshold",
							"Number of rows, and of writes, from which migration_validate "
							"judges the partition shares of a relayout's new layout.",
							"Below it a share is reported, not judged (passed is NULL): a "
							"handful of rows or writes says nothing of the key's skew.",
							&relayout_share_threshold,
							100, 0, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}

/*
 * Rule-kind callback (tableam/rulekinds.h), and the relayout trigger's
 * test for a change that is itself applied: is this backend's apply
 * statement itself copying rows into rel, the other layout of a relayout?
 * Those rows are stored as sent (versions and states kept) and fire no
 * relayout trigger back, and only they: a write the owner-chosen apply
 * SQL makes anywhere else, and a write a statement it runs in turn makes
 * (a volatile function in a CHECK constraint of the layout, which runs
 * one level deeper, steward_statement_nest) to any table, meets that
 * table's rules and is applied to the other layout as an application's
 * write is.  Until stop 40 every write of the backend to the layout while
 * an apply or a backfill batch ran skipped both.  Backend-local, no lock,
 * raises nothing.
 */
bool
steward_relayout_applying(Relation rel)
{
	return apply_targets != NIL && steward_statement_nest() == apply_nest + 1 &&
		list_member_oid(apply_targets, RelationGetRelid(rel));
}

/* Apply mode as it was before apply_mode_begin. */
typedef struct ApplyMode
{
	List	   *targets;
	int			nest;
} ApplyMode;

/*
 * Enter apply mode for targets (see apply_targets): the statement the
 * caller runs next is the apply statement.  The caller calls
 * apply_mode_end(saved), also on error (PG_FINALLY).  Raises nothing.
 */
static void
apply_mode_begin(List *targets, ApplyMode *saved)
{
	saved->targets = apply_targets;
	saved->nest = apply_nest;
	apply_nest = steward_statement_nest_watch();
	apply_targets = targets;
}

/* Back to the mode apply_mode_begin saved.  Raises nothing. */
static void
apply_mode_end(const ApplyMode *saved)
{
	apply_targets = saved->targets;
	apply_nest = saved->nest;
	steward_statement_nest_unwatch();
}

/*
 * The argument to give steward.migration_forget for a migration's row
 * trigger firing on rel without a record, as a SQL literal of the
 * schema-qualified name (palloc'd): the relation the trigger was created
 * on.  On a partition the trigger is a clone of its table's (same name),
 * and forget works from that table (a partition is refused there), so
 * the nearest ancestor whose trigger of that name is no clone is named.
 * Reads pg_inherits and pg_trigger; takes no lock; raises nothing of its
 * own.
 */
char *
steward_migration_forget_target(Relation rel, const Trigger *trigger)
{
	Oid			target = RelationGetRelid(rel);

	if (trigger->tgisclone)
	{
		List	   *ancestors = steward_partition_ancestors(target);
		Relation	tgrel = table_open(TriggerRelationId, AccessShareLock);
		ListCell   *lc;

		foreach(lc, ancestors)
		{
			Oid			ancestor = lfirst_oid(lc);
			ScanKeyData key[2];
			SysScanDesc scan;
			HeapTuple	tup;
			bool		done = false;

			ScanKeyInit(&key[0], Anum_pg_trigger_tgrelid, BTEqualStrategyNumber,
						F_OIDEQ, ObjectIdGetDatum(ancestor));
			ScanKeyInit(&key[1], Anum_pg_trigger_tgname, BTEqualStrategyNumber,
						F_NAMEEQ, CStringGetDatum(trigger->tgname));
			scan = systable_beginscan(tgrel, TriggerRelidNameIndexId, true, NULL, 2, key);
			if (HeapTupleIsValid(tup = systable_getnext(scan)))
			{
				target = ancestor;
				done = !OidIsValid(((Form_pg_trigger) GETSTRUCT(tup))->tgparentid);
			}
			systable_endscan(scan);
			if (done)
				break;
		}
		table_close(tgrel, AccessShareLock);
	}
	return quote_literal_cstr(quote_qualified_identifier(get_namespace_name(get_rel_namespace(target)),
														 get_rel_name(target)));
}

/*
 * The other active layout of the relayout migration that has rel (or an
 * ancestor of rel: the trigger of a partitioned layout fires on its
 * partitions) as one layout, with its partitions, allocated in "outer";
 * NIL when there is none.  want, if valid, must be that layout (else NIL,
 * with *migration set).  *migration (if not NULL) is set to the name of
 * that relayout migration, NULL when the catalog has none for relid: the
 * table came without its record (a partial dump, or a restore that could
 * not write steward's catalog).  *gone (if not NULL) is set when the
 * migration is there but its other layout was dropped (NIL then: its row
 * is inactive, or hidden by the catalog's row security, which shows only
 * rows of existing tables).  Read with SPI (connected by the caller)
 * as the current user with row_security on, whatever the session says
 * (pg_dump's scripts set it off, which would make the catalog's policy an
 * error for a non-superuser owner): the catalog's row security shows a
 * migration to the owners of its tables, which the caller is.
 */
static List *
apply_targets_of(Oid relid, Oid want, MemoryContext outer, char **migration, bool *gone)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	bool		isnull;
	Oid			target;
	MemoryContext old;
	List	   *result;
	int			nest = NewGUCNestLevel();

	(void) set_config_option("row_security", "on", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	/*
	 * In a snapshot taken now, as the dual-write trigger (dualwrite.c).
	 * Once per statement of the trigger's: the plan is kept.
	 */
	if (steward_spi_read_latest(
			"SELECT b.relid::pg_catalog.oid, a.migration, coalesce(b.active, false)"
			"  FROM steward.migration_tables a"
			"  JOIN steward.migration_runs r ON r.name OPERATOR(pg_catalog.=) a.migration"
			"  LEFT JOIN steward.migration_tables b ON b.migration OPERATOR(pg_catalog.=) a.migration"
			"       AND a.relid OPERATOR(pg_catalog.<>) b.relid"
			" WHERE a.active AND (r.steps OPERATOR(pg_catalog.->) 0"
			"                     OPERATOR(pg_catalog.->) 'relayout') IS NOT NULL"
			"   AND (a.relid OPERATOR(pg_catalog.=) $1"
			"        OR a.relid OPERATOR(pg_catalog.=) ANY"
			"           (ARRAY(SELECT x.relid FROM steward._partition_ancestors($1::pg_catalog.regclass) x)))"
			" ORDER BY 3 DESC",
			1, argtypes, args, NULL, 2) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_tables");
	AtEOXact_GUC(true, nest);
	if (migration)
		*migration = SPI_processed == 0 ? NULL :
			MemoryContextStrdup(outer, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
	if (gone)
		*gone = SPI_processed == 1 &&
			!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull));
	if (SPI_processed != 1 ||
		!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull)))
		return NIL;
	target = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
											&isnull));
	if (OidIsValid(want) && target != want)
		return NIL;
	old = MemoryContextSwitchTo(outer);
	result = find_all_inheritors(target, NoLock, NULL);
	MemoryContextSwitchTo(old);
	return result;
}

static void
not_a_layout(Oid relid, const char *migration)
{
	const char *name = get_rel_name(relid) ? get_rel_name(relid) : "?";

	if (migration != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the relayout trigger of relation \"%s\" does not write the other layout of migration \"%s\"",
						name, migration),
				 errhint("A layout was renamed or replaced: steward.migration_rollback(%s) "
						 "(or migration_complete) recreates the triggers.",
						 quote_literal_cstr(migration))));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("relation \"%s\" is not a layout of an active relayout migration", name),
			 errhint("steward.relayouts lists the relayouts.")));
}

/*
 * The other layout a relayout trigger's last argument names: its
 * schema-qualified name (as start and the cutover write it, so that a dump
 * restored in another database, where OIDs differ, names the same table),
 * or an OID (triggers made before names were used).  InvalidOid when no
 * such relation exists.
 */
static Oid
trigger_target(const char *arg)
{
	if (arg[0] != '\0' && strspn(arg, "0123456789") == strlen(arg))
		return DatumGetObjectId(DirectFunctionCall1(oidin, CStringGetDatum(arg)));
	return RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(arg)),
							NoLock, true);
}

/*
 * steward._relayout_exec(tbl regclass, sql text, args text[] DEFAULT NULL,
 *                        backfill boolean DEFAULT false) -> text[]
 *
 * steward._migration_exec (same arguments, checks and result: the caller
 * must own tbl, the statement runs as its owner, restricted) in apply mode
 * for the other layout of tbl's relayout migration: rows the statement
 * writes to that layout are stored as sent and fire no relayout trigger.
 * Used by the backfill batches, which copy rows from one layout to the
 * other.  55000 when tbl is not a layout of an active relayout; 42501
 * when not called by pg_steward's own PL/pgSQL functions, or by tbl's
 * owner; 22004 for a NULL tbl or sql, 42P01 when tbl names no relation;
 * then what steward._migration_exec and the statement raise.  Locks:
 * AccessShareLock on migration_tables and migration_runs (read in a
 * snapshot taken now), to transaction end; then whatever the statement
 * takes, under the caller's lock_timeout.
 */
Datum
steward_relayout_exec(PG_FUNCTION_ARGS)
{
	Datum		result;
	List	   *targets;
	ApplyMode	saved;
	MemoryContext outer = CurrentMemoryContext;

	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "statement");
	/* Someone else's table is refused before anything is read about it. */
	steward_check_table_owner(PG_GETARG_OID(0));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	targets = apply_targets_of(PG_GETARG_OID(0), InvalidOid, outer, NULL, NULL);
	SPI_finish();
	if (targets == NIL)
		not_a_layout(PG_GETARG_OID(0), NULL);
	if (!steward_migrate_called_from_own_code())
		steward_migrate_refuse_direct_call("steward._relayout_exec", "statements in apply mode");

	apply_mode_begin(targets, &saved);
	PG_TRY();
	{
		result = steward_migration_exec_batch(fcinfo);
	}
	PG_FINALLY();
	{
		apply_mode_end(&saved);
	}
	PG_END_TRY();
	return result;
}

/* The row of a trigger slot as a composite datum of the relation's rowtype. */
static Datum
row_datum(TupleTableSlot *slot, TupleDesc desc)
{
	HeapTuple	tuple;

	slot_getallattrs(slot);
	tuple = heap_form_tuple(desc, slot->tts_values, slot->tts_isnull);
	return heap_copy_tuple_as_datum(tuple, desc);
}

/*
 * The catalog's answer for this trigger call, looked up once per
 * statement (kept in fn_extra; the targets live as long as the query).
 * The caller runs as the table's owner (steward_as_table_owner_begin).
 * A layout the catalog's relayout does not name as the other one is an
 * error (not_a_layout); a table whose other layout was dropped gets a
 * WARNING naming the rollback, a table no relayout has one naming
 * steward.migration_forget, unless quiet (a restore loading data, whose
 * catalog may come later).
 */
static RelayoutCheck *
statement_check(FunctionCallInfo fcinfo, Relation rel, Trigger *trigger, bool quiet)
{
	RelayoutCheck *check = (RelayoutCheck *) fcinfo->flinfo->fn_extra;

	if (check == NULL)
	{
		check = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RelayoutCheck));
		check->want = trigger_target(trigger->tgargs[3]);
		check->targets = apply_targets_of(RelationGetRelid(rel), check->want,
										  fcinfo->flinfo->fn_mcxt, &check->migration, &check->gone);
		fcinfo->flinfo->fn_extra = check;
	}
	/* An upsert's skipped INSERT looked quietly; its UPDATE reports. */
	if (quiet || check->reported)
		return check;
	check->reported = true;
	if (check->gone)
		/*
		 * The other layout was dropped (a superuser went around the DDL
		 * guard): the writes go on, there is nothing to copy to.
		 */
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the other layout of relation \"%s\" in migration \"%s\" was dropped; "
						"its relayout trigger applies nothing",
						RelationGetRelationName(rel), check->migration),
				 errhint("steward.migration_rollback(%s) (or migration_cleanup after "
						 "complete) ends the migration and removes the trigger.",
						 quote_literal_cstr(check->migration))));
	else if (check->migration != NULL && (check->targets == NIL || !OidIsValid(check->want)))
		not_a_layout(RelationGetRelid(rel), check->migration);
	else if (check->targets == NIL)
		/*
		 * No relayout in the catalog has this table: it came without its
		 * migration's record.  The writes go on (nothing keeps a copy that
		 * no migration will use); the WARNING names the way out.
		 */
		ereport(WARNING,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no active relayout migration has relation \"%s\"; its relayout trigger applies nothing",
						RelationGetRelationName(rel)),
				 errdetail("The table came without its migration's record (a partial dump, or a restore "
						   "that could not write steward's catalog)."),
				 errhint("steward.migration_forget(%s) removes what the migration left on the table.",
						 steward_migration_forget_target(rel, trigger))));
	return check;
}

/*
 * An INSERT not applied (check_function_bodies off) into a layout of an
 * active relayout: steward._relayout_skipped records it on the migration,
 * once per statement and in the writer's transaction, so that complete
 * (the last validation no longer counts), cleanup and a rollback after
 * complete (which then count both layouts) see it under their locks.
 * Nothing is recorded for a table no relayout in the catalog has (a
 * restore that loads the catalog later).  Runs as the table's owner;
 * _relayout_skipped writes the catalog through _migration_record.
 */
static void
record_skipped_insert(FunctionCallInfo fcinfo, Relation rel, Trigger *trigger)
{
	StewardAsOwner ctx;
	RelayoutCheck *check;
	Oid			argtypes[2] = {TEXTOID, OIDOID};
	Datum		args[2];

	steward_as_table_owner_begin(rel, true, &ctx);
	check = statement_check(fcinfo, rel, trigger, true);
	if (check->targets != NIL && !check->skip_recorded)
	{
		int			depth;

		args[0] = CStringGetTextDatum(check->migration);
		args[1] = ObjectIdGetDatum(RelationGetRelid(rel));
		/* A trigger core fires: pg_steward's own code for what it calls. */
		depth = steward_own_code_enter(true);
		PG_TRY();
		{
			if (SPI_execute_with_args("SELECT steward._relayout_skipped($1, $2::pg_catalog.regclass)",
									  2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "could not record a skipped insert");
		}
		PG_FINALLY();
		{
			steward_own_code_leave(depth);
		}
		PG_END_TRY();
		check->skip_recorded = true;
	}
	steward_as_owner_end(&ctx);
}

/*
 * steward._relayout_trigger() -- AFTER INSERT OR UPDATE OR DELETE FOR EACH
 * ROW, arguments (insert_sql, update_sql, delete_sql, target): target
 * names the other layout (schema-qualified; an OID in triggers made before
 * names were used), which must be the other active layout of the
 * relation's relayout migration (checked once per statement: 55000 with
 * a HINT naming migration_rollback otherwise), the only relation the
 * statements write in apply mode; insert_sql takes the new row as $1,
 * update_sql the old row as $1 and the new one as $2, delete_sql the old
 * row as $1, each of the trigger relation's rowtype.  Runs the statement
 * as the relation's owner (restricted, pinned search_path) in apply mode.
 * Does nothing for a change that is itself an applied one, for an INSERT
 * while a restore loads data (check_function_bodies off), and -- with a WARNING
 * naming steward.migration_forget -- when no relayout in the catalog has
 * the relation (it came without its record).
 *
 * Locks: none of its own on the relation (the writing statement holds
 * it).  Once per statement, AccessShareLock on migration_tables and
 * migration_runs (read as the owner in a snapshot taken now), to
 * transaction end; then what the apply statement takes (the upserts and
 * deletes _relayout_apply_sql wrote: RowExclusiveLock on the other layout
 * and the partitions they write, and the locks of the rows they change),
 * to transaction end.  A skipped INSERT's record (_relayout_skipped)
 * updates migration_runs as its owner (RowExclusiveLock and the row's
 * lock).  Errors: 39P01 when not fired AFTER INSERT, UPDATE or DELETE FOR
 * EACH ROW with four arguments; 55000 when target is not the other active
 * layout; 0A000 for an apply statement SPI cannot run; the apply
 * statement's own (its parse and plan at first use, and the other
 * layout's constraints: 23505 for a unique index other than the key the
 * upsert names, 23514, 23503).  A dropped other layout, or a relation
 * no relayout has: a WARNING (55000), the change not applied.
 */
Datum
steward_relayout_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Trigger    *trigger;
	Relation	rel;
	TupleDesc	desc;
	Oid			argtypes[2];
	StewardPlanScope scope;
	const char *sql;
	int			nargs;
	Datum		args[2];
	StewardAsOwner ctx;
	RelayoutCheck *check;
	ApplyMode	saved;
	int			rc;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._relayout_trigger() must be an AFTER ROW trigger")));
	trigger = trigdata->tg_trigger;
	if (trigger->tgnargs != 4)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._relayout_trigger() takes four arguments")));
	rel = trigdata->tg_relation;
	/* A change that is itself applied from the other layout. */
	if (steward_relayout_applying(rel))
		return PointerGetDatum(NULL);
	/*
	 * A restore loading data (pg_dump's scripts, plain or through
	 * pg_restore, set check_function_bodies off): the dump brings both
	 * layouts' rows, and steward's catalog perhaps only later, so applying
	 * would copy a row into a layout whose own COPY then collides with it.
	 * A restore only inserts, so only an INSERT is not applied: an UPDATE
	 * or DELETE in such a session is applied as any other (recheck8 N4).
	 * An application's INSERT skipped here reaches one layout only: it is
	 * recorded on the migration (record_skipped_insert), which complete,
	 * cleanup and a rollback after complete re-read under their locks
	 * (_migration_recheck) instead of losing it.
	 */
	if (!check_function_bodies && TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		record_skipped_insert(fcinfo, rel, trigger);
		return PointerGetDatum(NULL);
	}

	desc = RelationGetDescr(rel);
	argtypes[0] = argtypes[1] = rel->rd_rel->reltype;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		sql = trigger->tgargs[0];
		nargs = 1;
		args[0] = row_datum(trigdata->tg_trigslot, desc);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		sql = trigger->tgargs[1];
		nargs = 2;
		args[0] = row_datum(trigdata->tg_trigslot, desc);
		args[1] = row_datum(trigdata->tg_newslot, desc);
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		sql = trigger->tgargs[2];
		nargs = 1;
		args[0] = row_datum(trigdata->tg_trigslot, desc);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._relayout_trigger() fires on INSERT, UPDATE and DELETE only")));

	steward_as_table_owner_begin(rel, true, &ctx);
	check = statement_check(fcinfo, rel, trigger, false);
	if (check->targets == NIL)
	{
		steward_as_owner_end(&ctx);
		return PointerGetDatum(NULL);
	}
	apply_mode_begin(check->targets, &saved);
	PG_TRY();
	{
		/*
		 * The plan is kept as the batches' are (steward_spi_execute_kept),
		 * for this owner, partition, text, row type and settings: the plan
		 * cache re-plans it after DDL on what it reads, and it is made
		 * again after any change of a function, a role or a membership.
		 * One entry per statement kind and leaf partition the trigger
		 * fires on, in a table sized for them (a relayout of a table with
		 * 24 partitions keeps 72).  Generic plans: the plan cache chose a
		 * custom plan for every row of an UPDATE or DELETE (the generic
		 * one scans every partition of the other layout in its estimate,
		 * pruned at run time), so planning was 60% of a DELETE's CPU.
		 */
		scope.role = rel->rd_rel->relowner;
		scope.relid = RelationGetRelid(rel);
		scope.cursor_options = CURSOR_OPT_GENERIC_PLAN;
		rc = steward_spi_execute_kept(sql, nargs, argtypes, args, NULL, &scope);
		/* The statement is the trigger's argument: whoever wrote it erred. */
		if (rc < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("could not apply a change to the other layout of relation \"%s\": %s",
							RelationGetRelationName(rel), SPI_result_code_string(rc))));
	}
	PG_FINALLY();
	{
		apply_mode_end(&saved);
	}
	PG_END_TRY();
	steward_as_owner_end(&ctx);
	return PointerGetDatum(NULL);
}

static void
bad_partition_by(const char *text, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid \"partition_by\" \"%s\": %s", text, why),
			 errhint("Give a partition strategy and key columns, e.g. \"HASH (user_id)\", "
					 "\"RANGE (created_at)\" or \"LIST (region)\".")));
}

/*
 * steward._relayout_partition_by(spec text, OUT strategy text, OUT columns
 * text[]) -> record
 *
 * Parse the user's partition_by with PostgreSQL's own grammar, as the
 * PARTITION BY clause of a CREATE TABLE, and accept exactly one strategy
 * and a list of plain column names: no expressions (a primary key cannot
 * include one, and every partition key column must be in it), no
 * collations or operator classes, nothing after the clause.  The DDL is
 * then built from the returned names (format %I), never from the text.
 * Errors: 22023 naming what is wrong; a syntax error is 42601; 22004 for
 * a NULL spec.  Parses only (raw_parser: no catalog read): takes no lock.
 */
Datum
steward_relayout_partition_by(PG_FUNCTION_ARGS)
{
	char	   *spec;
	char	   *sql;
	List	   *stmts;
	CreateStmt *create;
	PartitionSpec *ps;
	ListCell   *lc;
	Datum	   *names;
	int			n = 0;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	int			dims[1];
	int			lbs[1] = {1};
	const char *strategy;

	steward_require_arg(fcinfo, 0, "partition_by");
	spec = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strchr(spec, ';') != NULL)
		bad_partition_by(spec, "it must be one PARTITION BY clause");
	sql = psprintf("CREATE TABLE steward_relayout_check () PARTITION BY %s", spec);
	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(stmts) != 1 ||
		!IsA(((RawStmt *) linitial(stmts))->stmt, CreateStmt))
		bad_partition_by(spec, "it must be one PARTITION BY clause");
	create = (CreateStmt *) ((RawStmt *) linitial(stmts))->stmt;
	ps = create->partspec;
	if (ps == NULL || create->tableElts != NIL || create->inhRelations != NIL ||
		create->partbound != NULL || create->ofTypename != NULL ||
		create->constraints != NIL || create->options != NIL ||
		create->oncommit != ONCOMMIT_NOOP || create->tablespacename != NULL ||
		create->accessMethod != NULL || create->if_not_exists)
		bad_partition_by(spec, "only a strategy and key columns are allowed");
	if (pg_strcasecmp(ps->strategy, "hash") == 0)
		strategy = "hash";
	else if (pg_strcasecmp(ps->strategy, "range") == 0)
		strategy = "range";
	else if (pg_strcasecmp(ps->strategy, "list") == 0)
		strategy = "list";
	else
		bad_partition_by(spec, "the strategy must be HASH, RANGE or LIST");

	names = palloc(sizeof(Datum) * Max(list_length(ps->partParams), 1));
	foreach(lc, ps->partParams)
	{
		PartitionElem *elem = lfirst_node(PartitionElem, lc);

		if (elem->name == NULL || elem->expr != NULL)
			bad_partition_by(spec, "the key must be columns, not expressions (every key column must be in the primary key)");
		if (elem->collation != NIL || elem->opclass != NIL)
			bad_partition_by(spec, "collations and operator classes are not supported");
		names[n++] = CStringGetTextDatum(elem->name);
	}
	if (n == 0)
		bad_partition_by(spec, "no key columns");

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = CStringGetTextDatum(strategy);
	dims[0] = n;
	values[1] = PointerGetDatum(construct_md_array(names, NULL, 1, dims, lbs, TEXTOID, -1,
												   false, TYPALIGN_INT));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}


/*
 * steward._relayout_key_eqop(typ regtype, strategy text) -> regoperator
 *
 * The equality operator of a partition key column of type typ that a
 * relayout's key names plainly (no COLLATE, no operator class: see
 * _relayout_partition_by), under strategy 'hash', 'range' or 'list': the
 * type's default operator class of the strategy's access method (hash for
 * HASH, btree else) and that class's equality member, as
 * ComputePartitionAttrs and DefineIndex pick them.  DefineIndex takes a
 * unique index on a partitioned table only if a key column of it is the
 * partition key column with the column's collation and this operator;
 * _relayout_check compares each unique index with it, so that start
 * refuses an index that only names the column (another collation or
 * operator class) with a HINT, before core refuses it on the internal new
 * layout.  NULL when the type has no such class (core then refuses the key
 * at start, naming the type) or does not exist (typ 0: a dropped
 * column's).  Reads the catalog caches only: no lock, no error but 22004
 * for a NULL argument.
 */
Datum
steward_relayout_key_eqop(PG_FUNCTION_ARGS)
{
	Oid			typid;
	bool		hash;
	Oid			opclass;
	Oid			opfamily;
	Oid			opcintype;
	Oid			eqop;

	steward_require_arg(fcinfo, 0, "typ");
	steward_require_arg(fcinfo, 1, "strategy");
	typid = PG_GETARG_OID(0);
	hash = strcmp(text_to_cstring(PG_GETARG_TEXT_PP(1)), "hash") == 0;
	/*
	 * No such type: NULL, not GetDefaultOpClass's "cache lookup failed"
	 * (XX000).  A dropped column's pg_attribute row has atttypid 0, and the
	 * planner may call this on such a row before a join drops it.
	 */
	if (!SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(typid)))
		PG_RETURN_NULL();
	opclass = GetDefaultOpClass(typid, hash ? HASH_AM_OID : BTREE_AM_OID);
	if (!OidIsValid(opclass) ||
		!get_opclass_opfamily_and_input_type(opclass, &opfamily, &opcintype))
		PG_RETURN_NULL();
	eqop = get_opfamily_member(opfamily, opcintype, opcintype,
							   hash ? HTEqualStrategyNumber : BTEqualStrategyNumber);
	if (!OidIsValid(eqop))
		PG_RETURN_NULL();
	PG_RETURN_OID(eqop);
}

/*
 * The active migration that changes a relation, as the DDL guard sees it.
 * Index steps change no table's definition: they are left out.
 */
typedef struct GuardedBy
{
	char	   *name;			/* the migration; NULL when none */
	Oid			table;			/* its layout, or its table (column migration) */
	bool		relayout;
	char	   *phase;
	List	   *columns;		/* column migration: names its columns have or take */
	List	   *constraints;	/* column migration: names of the constraints it adds */
	int			ord;			/* relayout: 1 the application's layout, 2 the new one */
	List	   *dropped;		/* column migration: the columns cleanup drops, as now named */
	List	   *dropped_new;	/* ... and the new column of each ("" for a drop_column) */
	List	   *added;			/* column migration: the new columns a rollback drops, as now named */
} GuardedBy;

/* The elements of a text[] datum as a List of C strings. */
static List *
text_array_list(Datum array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i])
			result = lappend(result, TextDatumGetCString(elems[i]));
	return result;
}

/*
 * The SQL for "this migration record was loaded by a restore" in a query
 * whose steward.migration_runs is aliased r: r.restored, or false in a
 * database whose catalog predates that column (0.1's, before the update).
 * runs is steward.migration_runs' OID.  Takes no lock; raises nothing.
 */
const char *
steward_migration_runs_restored(Oid runs)
{
	return get_attnum(runs, "restored") == InvalidAttrNumber ? "false" : "r.restored";
}

/*
 * The active migration that has relid as a table or layout or -- unless
 * below_only -- that has relid itself, or that has a partition ancestor
 * of relid (m->name NULL when none); relayouts only with
 * relayouts_only.  A migration whose record a restore wrote (restored,
 * see steward._migration_runs_mark) counts for partition_check only:
 * the restore rebuilds both layouts or shapes as the dump has them.  Read as the catalog's owner: the owner of a partition
 * may be another role than the owner of the table it belongs to, whom the
 * catalog's row security would hide the migration from.  Read in a
 * snapshot taken now (steward_spi_read_latest), never the transaction's:
 * after lock_named_first waited for a migration_start, its commit is
 * seen, also by a REPEATABLE READ transaction whose snapshot predates it
 * (review13 R13-6), as core's own catalog lookups see it.  For a relation
 * that is no partition, one probe of the partial index on
 * migration_tables (relid) WHERE active (closing35 item 2: the partition
 * ancestors' OR joined every active migration's table, ~1.2 ms per DROP
 * TABLE with 400 active migrations).  Result palloc'd in the caller's
 * context.
 */
static bool active_migration_table(Oid relid);

static void
guarded_by(Oid relid, bool below_only, bool relayouts_only, bool partition_check, GuardedBy *m)
{
	Oid			catalog = steward_relid("migration_tables", true);
	Oid			runs = steward_relid("migration_runs", true);
	Oid			argtypes[3] = {OIDOID, BOOLOID, BOOLOID};
	Datum		args[3] = {ObjectIdGetDatum(relid), BoolGetDatum(below_only),
	BoolGetDatum(relayouts_only)};
	StewardAsOwner ctx;
	MemoryContext outer = CurrentMemoryContext;
	bool		partition;

	memset(m, 0, sizeof(*m));
	if (!OidIsValid(catalog) || !OidIsValid(steward_relid("migration_columns", true)) ||
		!OidIsValid(runs) || !OidIsValid(relid))
		return;
	/* Only a partition has ancestors (steward._partition_ancestors). */
	partition = get_rel_relispartition(relid);
	if (below_only && !partition)
		return;

	/*
	 * A relation that is no partition is guarded only by an active entry
	 * of its own: one index probe, in a snapshot taken now as the read
	 * below, finds none for a relation no migration changes without
	 * running that read (executed as the catalog's owner, its seven
	 * subqueries were half of what the relayout guard cost an ALTER
	 * TABLE, test/bench/ddl).  The probe sees every row the read would
	 * (no row security), and the command counter is incremented first,
	 * as for that read.
	 */
	if (!IsInParallelMode())
		CommandCounterIncrement();
	if (!partition && !active_migration_table(relid))
		return;
	steward_as_owner_begin(catalog, &ctx);
	if (steward_spi_read_latest(psprintf(
			"SELECT t.migration, t.relid::pg_catalog.oid, x.relayout, r.phase,"
			"       ARRAY(SELECT DISTINCT n.n FROM steward.migration_columns c,"
			"                    LATERAL pg_catalog.unnest(ARRAY[c.old_name, c.new_name, c.expand_old,"
			"                                                    c.expand_new, c.switched_old,"
			"                                                    c.switched_new]) n(n)"
			"              WHERE c.migration OPERATOR(pg_catalog.=) t.migration"
			"                AND c.relid OPERATOR(pg_catalog.=) t.relid AND n.n IS NOT NULL)::pg_catalog.text[],"
			"       ARRAY(SELECT DISTINCT n.n FROM steward.migration_columns c,"
			"                    LATERAL pg_catalog.unnest(ARRAY[c.not_null_name, c.check_name, c.fk_name,"
			"                                                    c.unique_name]) n(n)"
			"              WHERE c.migration OPERATOR(pg_catalog.=) t.migration"
			"                AND c.relid OPERATOR(pg_catalog.=) t.relid AND n.n IS NOT NULL)::pg_catalog.text[],"
			"       t.ord::pg_catalog.int4,"
			"       ARRAY(SELECT CASE WHEN r.phase OPERATOR(pg_catalog.=) 'switched' THEN c.switched_old"
			"                         ELSE c.expand_old END"
			"               FROM steward.migration_columns c"
			"              WHERE c.migration OPERATOR(pg_catalog.=) t.migration"
			"                AND c.relid OPERATOR(pg_catalog.=) t.relid"
			"                AND c.kind OPERATOR(pg_catalog.=) ANY (ARRAY['pair', 'dropped'])"
			"              ORDER BY c.ord)::pg_catalog.text[],"
			"       ARRAY(SELECT coalesce(CASE WHEN r.phase OPERATOR(pg_catalog.=) 'switched'"
			"                                             THEN c.switched_new ELSE c.expand_new END, '')"
			"               FROM steward.migration_columns c"
			"              WHERE c.migration OPERATOR(pg_catalog.=) t.migration"
			"                AND c.relid OPERATOR(pg_catalog.=) t.relid"
			"                AND c.kind OPERATOR(pg_catalog.=) ANY (ARRAY['pair', 'dropped'])"
			"              ORDER BY c.ord)::pg_catalog.text[],"
			"       ARRAY(SELECT CASE WHEN r.phase OPERATOR(pg_catalog.=) 'switched' THEN c.switched_new"
			"                         ELSE c.expand_new END"
			"               FROM steward.migration_columns c"
			"              WHERE c.migration OPERATOR(pg_catalog.=) t.migration"
			"                AND c.relid OPERATOR(pg_catalog.=) t.relid"
			"                AND c.kind OPERATOR(pg_catalog.=) ANY (ARRAY['pair', 'added'])"
			"              ORDER BY c.ord)::pg_catalog.text[]"
			"  FROM steward.migration_tables t"
			"  JOIN steward.migration_runs r ON r.name OPERATOR(pg_catalog.=) t.migration,"
			"       LATERAL (SELECT (r.steps OPERATOR(pg_catalog.->) 0"
			"                        OPERATOR(pg_catalog.->) 'relayout') IS NOT NULL AS relayout) x"
			" WHERE t.active AND r.status OPERATOR(pg_catalog.=) 'active' AND NOT %s"
			"   AND NOT coalesce(r.steps OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.?|)"
			"                    ARRAY['create_index', 'drop_index'], false)"
			"   AND (x.relayout OR NOT $3)"
			"   AND %s"
			" ORDER BY t.ord LIMIT 1",
			partition_check ? "false" : steward_migration_runs_restored(runs),
			partition ?
			"((t.relid OPERATOR(pg_catalog.=) $1 AND NOT $2)"
			"  OR t.relid IN (SELECT a.relid FROM steward._partition_ancestors($1::pg_catalog.regclass) a))" :
			"t.relid OPERATOR(pg_catalog.=) $1 AND NOT $2"),
			3, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_tables");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(outer);

		m->name = SPI_getvalue(tup, desc, 1);
		m->table = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		m->relayout = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		m->phase = SPI_getvalue(tup, desc, 4);
		m->columns = text_array_list(SPI_getbinval(tup, desc, 5, &isnull));
		m->constraints = text_array_list(SPI_getbinval(tup, desc, 6, &isnull));
		m->ord = DatumGetInt32(SPI_getbinval(tup, desc, 7, &isnull));
		m->dropped = text_array_list(SPI_getbinval(tup, desc, 8, &isnull));
		m->dropped_new = text_array_list(SPI_getbinval(tup, desc, 9, &isnull));
		m->added = text_array_list(SPI_getbinval(tup, desc, 10, &isnull));
		MemoryContextSwitchTo(old);
	}
	steward_as_owner_end(&ctx);
}

/*
 * The active migration of the table that sql finds -- its first column, an
 * OID, in its first row; none when it returns no row -- as guarded_by sees
 * it (m->name NULL when none).  sql reads steward.migration_tables (given
 * as catalog) as the catalog's owner, with nargs parameters of argtypes,
 * in a snapshot taken now, as guarded_by does.
 */
static void
guarded_by_table_of(Oid catalog, const char *sql, int nargs, Oid *argtypes, Datum *args,
					GuardedBy *m)
{
	StewardAsOwner ctx;
	Oid			table = InvalidOid;

	memset(m, 0, sizeof(*m));
	steward_as_owner_begin(catalog, &ctx);
	if (steward_spi_read_latest(sql, nargs, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_tables");
	if (SPI_processed == 1)
	{
		bool		isnull;

		table = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1,
											   &isnull));
	}
	steward_as_owner_end(&ctx);
	if (OidIsValid(table))
		guarded_by(table, false, false, false, m);
}

/*
 * A name as a message prints it: inside double quotes, as it is, never
 * quoted again (the error style guide; core's relation "t").
 */
static char *
quoted_ident(const char *name)
{
	return psprintf("\"%s\"", name);
}

/*
 * A relation's name as a message prints it: without its schema, inside
 * double quotes, as core does (column "c" of relation "t"); its OID when
 * it is gone.
 */
static char *
quoted_relation(Oid relid)
{
	char	   *name = get_rel_name(relid);

	return name != NULL ? quoted_ident(name) : psprintf("%u", relid);
}

#define GUARD_HINT "Complete and clean up the migration, or roll it back, first " \
	"(SELECT name, phase FROM steward.relayouts)."

/*
 * ALTER TABLE parent ATTACH / DETACH PARTITION part: refused when parent
 * is (or belongs to) a layout, or part is a layout, of a relayout.
 */
static void
guard_partition_cmd(AlterTableStmt *stmt, AlterTableCmd *cmd)
{
	PartitionCmd *pc = (PartitionCmd *) cmd->def;
	Oid			parent = RangeVarGetRelid(stmt->relation, NoLock, true);
	Oid			part = pc != NULL ? RangeVarGetRelid(pc->name, NoLock, true) : InvalidOid;
	GuardedBy	m;
	bool		attach = cmd->subtype == AT_AttachPartition;

	guarded_by(parent, false, true, true, &m);
	if (m.name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 attach ?
				 errmsg("cannot attach a partition to %s while migration \"%s\" re-layouts %s",
						quoted_relation(parent), m.name, quoted_relation(m.table)) :
				 errmsg("cannot detach a partition from %s while migration \"%s\" re-layouts %s",
						quoted_relation(parent), m.name, quoted_relation(m.table)),
				 attach ?
				 errdetail("The attached rows would be in one layout only: the other layout's "
						   "cleanup or a rollback would lose them.") :
				 errdetail("The detached rows would stay in the other layout: a rollback "
						   "would bring them back, and the layouts would differ."),
				 errhint(attach ? GUARD_HINT " CREATE TABLE ... PARTITION OF adds an empty "
						 "partition meanwhile." : GUARD_HINT)));
	if (attach && OidIsValid(part))
	{
		guarded_by(part, false, true, true, &m);
		if (m.name != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("cannot attach %s as a partition while migration \"%s\" re-layouts it",
							quoted_relation(part), m.name),
					 errdetail("The migration renames and then drops one of the table's layouts, "
							   "and the partition with it."),
					 errhint(GUARD_HINT)));
	}
}

/*
 * What to do next, for the HINT of a refused statement: finish the
 * migration (cleanup after complete) or roll it back.
 */
static char *
guard_next_step(const GuardedBy *m)
{
	const char *q = quote_literal_cstr(m->name);

	if (m->phase != NULL && strcmp(m->phase, "switched") == 0)
		return psprintf(_("Clean the migration up first (SELECT steward.migration_cleanup(%s);), "
						  "or roll it back (SELECT steward.migration_rollback(%s);)."), q, q);
	return psprintf(_("Complete and clean up the migration first, or roll it back "
					  "(SELECT steward.migration_rollback(%s);)."), q);
}

/*
 * The message of a refused statement as whole sentences (PostgreSQL's
 * message style: translatable, never assembled from fragments; codereview
 * F15): one per kind of migration, each for the relation the migration
 * changes itself ("... re-layouts it") and for another one -- a partition
 * of a layout, a shape's view -- naming the table last.  Arguments: the
 * name the statement gives within the relation (a trigger, constraint,
 * column, rule, index), when the message has one, then the relation, the
 * migration and its table.  NULL where the case cannot arise (another of
 * the four is used).
 */
typedef struct GuardMsg
{
	const char *relayout_it;
	const char *relayout_other;
	const char *change_it;
	const char *change_other;
} GuardMsg;

static const GuardMsg GM_replica_identity = {
	gettext_noop("cannot change the replica identity of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot change the replica identity of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot change the replica identity of %s while migration \"%s\" changes it"),
	gettext_noop("cannot change the replica identity of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_enable_all_triggers = {
	gettext_noop("cannot enable all triggers of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot enable all triggers of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot enable all triggers of %s while migration \"%s\" changes it"),
	gettext_noop("cannot enable all triggers of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_enable_trigger = {
	gettext_noop("cannot enable trigger %s of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot enable trigger %s of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot enable trigger %s of %s while migration \"%s\" changes it"),
	gettext_noop("cannot enable trigger %s of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_disable_all_triggers = {
	gettext_noop("cannot disable all triggers of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot disable all triggers of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot disable all triggers of %s while migration \"%s\" changes it"),
	gettext_noop("cannot disable all triggers of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_disable_trigger = {
	gettext_noop("cannot disable trigger %s of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot disable trigger %s of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot disable trigger %s of %s while migration \"%s\" changes it"),
	gettext_noop("cannot disable trigger %s of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_add_column = {
	gettext_noop("cannot add a column to %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot add a column to %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot add a column to %s while migration \"%s\" changes it"),
	gettext_noop("cannot add a column to %s while migration \"%s\" changes %s")};

static const GuardMsg GM_drop_column = {
	gettext_noop("cannot drop a column of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot drop a column of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot drop a column of %s while migration \"%s\" changes it"),
	gettext_noop("cannot drop a column of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_retype_column = {
	gettext_noop("cannot change the type of a column of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot change the type of a column of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot change the type of a column of %s while migration \"%s\" changes it"),
	gettext_noop("cannot change the type of a column of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_inheritance = {
	gettext_noop("cannot change the inheritance of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot change the inheritance of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot change the inheritance of %s while migration \"%s\" changes it"),
	gettext_noop("cannot change the inheritance of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_owner = {
	gettext_noop("cannot change the owner of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot change the owner of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot change the owner of %s while migration \"%s\" changes it"),
	gettext_noop("cannot change the owner of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_add_constraint = {
	gettext_noop("cannot add a constraint to %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot add a constraint to %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_drop_a_constraint = {
	gettext_noop("cannot drop a constraint of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot drop a constraint of %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_column_default = {
	gettext_noop("cannot change a column default of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot change a column default of %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_not_null = {
	gettext_noop("cannot change NOT NULL of a column of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot change NOT NULL of a column of %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_row_security = {
	gettext_noop("cannot turn on row-level security of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot turn on row-level security of %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_alter = {
	gettext_noop("cannot alter %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot alter %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_change_column = {
	NULL,
	NULL,
	gettext_noop("cannot change column %s of relation %s while migration \"%s\" changes it"),
	gettext_noop("cannot change column %s of relation %s while migration \"%s\" changes %s")};

static const GuardMsg GM_enable_update_rule = {
	NULL,
	NULL,
	gettext_noop("cannot enable rule %s on UPDATE of %s while migration \"%s\" changes it"),
	gettext_noop("cannot enable rule %s on UPDATE of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_constrain_migrated = {
	NULL,
	NULL,
	gettext_noop("cannot constrain a migrated column of %s while migration \"%s\" changes it"),
	gettext_noop("cannot constrain a migrated column of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_drop_constraint = {
	NULL,
	NULL,
	gettext_noop("cannot drop constraint %s of %s while migration \"%s\" changes it"),
	gettext_noop("cannot drop constraint %s of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_alter_constraint = {
	NULL,
	NULL,
	gettext_noop("cannot alter constraint %s of %s while migration \"%s\" changes it"),
	gettext_noop("cannot alter constraint %s of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_rename_view = {
	NULL,
	NULL,
	gettext_noop("cannot rename view %s while migration \"%s\" changes it"),
	gettext_noop("cannot rename view %s while migration \"%s\" changes %s")};

static const GuardMsg GM_move_view = {
	NULL,
	NULL,
	gettext_noop("cannot move view %s while migration \"%s\" changes it"),
	gettext_noop("cannot move view %s while migration \"%s\" changes %s")};

static const GuardMsg GM_replace_view = {
	NULL,
	NULL,
	gettext_noop("cannot replace view %s while migration \"%s\" changes it"),
	gettext_noop("cannot replace view %s while migration \"%s\" changes %s")};

static const GuardMsg GM_drop_view = {
	NULL,
	NULL,
	gettext_noop("cannot drop view %s while migration \"%s\" changes it"),
	gettext_noop("cannot drop view %s while migration \"%s\" changes %s")};

static const GuardMsg GM_view_owner = {
	NULL,
	NULL,
	gettext_noop("cannot change the owner of view %s while migration \"%s\" changes it"),
	gettext_noop("cannot change the owner of view %s while migration \"%s\" changes %s")};

static const GuardMsg GM_view_security_invoker = {
	NULL,
	NULL,
	gettext_noop("cannot turn off security_invoker of view %s while migration \"%s\" changes it"),
	gettext_noop("cannot turn off security_invoker of view %s while migration \"%s\" changes %s")};

static const GuardMsg GM_view_default = {
	NULL,
	NULL,
	gettext_noop("cannot change the default of column %s of view %s while migration \"%s\" changes it"),
	gettext_noop("cannot change the default of column %s of view %s while migration \"%s\" changes %s")};

static const GuardMsg GM_rename_column = {
	gettext_noop("cannot rename a column of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot rename a column of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot rename a column of %s while migration \"%s\" changes it"),
	gettext_noop("cannot rename a column of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_rename_constraint = {
	gettext_noop("cannot rename a constraint of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot rename a constraint of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot rename a constraint of %s while migration \"%s\" changes it"),
	gettext_noop("cannot rename a constraint of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_rename_trigger = {
	gettext_noop("cannot rename trigger %s of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot rename trigger %s of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot rename trigger %s of %s while migration \"%s\" changes it"),
	gettext_noop("cannot rename trigger %s of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_rename_to_own_trigger = {
	gettext_noop("cannot rename a trigger to %s on %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot rename a trigger to %s on %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot rename a trigger to %s on %s while migration \"%s\" changes it"),
	gettext_noop("cannot rename a trigger to %s on %s while migration \"%s\" changes %s")};

static const GuardMsg GM_rename = {
	gettext_noop("cannot rename %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot rename %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot rename %s while migration \"%s\" changes it"),
	gettext_noop("cannot rename %s while migration \"%s\" changes %s")};

static const GuardMsg GM_move = {
	gettext_noop("cannot move %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot move %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot move %s while migration \"%s\" changes it"),
	gettext_noop("cannot move %s while migration \"%s\" changes %s")};

static const GuardMsg GM_drop = {
	gettext_noop("cannot drop %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot drop %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_drop_trigger = {
	gettext_noop("cannot drop trigger %s of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot drop trigger %s of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot drop trigger %s of %s while migration \"%s\" changes it"),
	gettext_noop("cannot drop trigger %s of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_inherit_from = {
	gettext_noop("cannot make a table inherit from %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot make a table inherit from %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot make a table inherit from %s while migration \"%s\" changes it"),
	gettext_noop("cannot make a table inherit from %s while migration \"%s\" changes %s")};

static const GuardMsg GM_create_inheriting = {
	gettext_noop("cannot create a table that inherits from %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot create a table that inherits from %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot create a table that inherits from %s while migration \"%s\" changes it"),
	gettext_noop("cannot create a table that inherits from %s while migration \"%s\" changes %s")};

static const GuardMsg GM_create_rule = {
	gettext_noop("cannot create a rule on %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot create a rule on %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_create_policy = {
	gettext_noop("cannot create a policy on %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot create a policy on %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_create_trigger = {
	gettext_noop("cannot create a trigger on %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot create a trigger on %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_create_update_rule = {
	NULL,
	NULL,
	gettext_noop("cannot create a rule on UPDATE on %s while migration \"%s\" changes it"),
	gettext_noop("cannot create a rule on UPDATE on %s while migration \"%s\" changes %s")};

static const GuardMsg GM_create_own_trigger = {
	gettext_noop("cannot create trigger %s on %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot create trigger %s on %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot create trigger %s on %s while migration \"%s\" changes it"),
	gettext_noop("cannot create trigger %s on %s while migration \"%s\" changes %s")};

static const GuardMsg GM_trigger_after_dual_write = {
	NULL,
	NULL,
	gettext_noop("trigger %s on %s would fire after the dual-write trigger of migration \"%s\", which changes it"),
	gettext_noop("trigger %s on %s would fire after the dual-write trigger of migration \"%s\", which changes %s")};

static const GuardMsg GM_drop_unique_index = {
	gettext_noop("cannot drop unique index %s of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot drop unique index %s of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot drop unique index %s of %s while migration \"%s\" changes it"),
	gettext_noop("cannot drop unique index %s of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_index_depends = {
	gettext_noop("cannot let DROP EXTENSION drop index %s of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot let DROP EXTENSION drop index %s of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot let DROP EXTENSION drop index %s of %s while migration \"%s\" changes it"),
	gettext_noop("cannot let DROP EXTENSION drop index %s of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_trigger_depends = {
	gettext_noop("cannot let DROP EXTENSION drop trigger %s of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot let DROP EXTENSION drop trigger %s of %s while migration \"%s\" re-layouts %s"),
	gettext_noop("cannot let DROP EXTENSION drop trigger %s of %s while migration \"%s\" changes it"),
	gettext_noop("cannot let DROP EXTENSION drop trigger %s of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_view_on_layout = {
	gettext_noop("cannot create a view on %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot create a view on %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_matview_on_layout = {
	gettext_noop("cannot create a materialized view on %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot create a materialized view on %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_view_other_owner = {
	gettext_noop("cannot create a view owned by another role than the owner of %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot create a view owned by another role than the owner of %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_view_migrated = {
	NULL,
	NULL,
	gettext_noop("cannot create a view over a migrated column of %s while migration \"%s\" changes it"),
	gettext_noop("cannot create a view over a migrated column of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_matview_migrated = {
	NULL,
	NULL,
	gettext_noop("cannot create a materialized view over a migrated column of %s while migration \"%s\" changes it"),
	gettext_noop("cannot create a materialized view over a migrated column of %s while migration \"%s\" changes %s")};

static const GuardMsg GM_publish = {
	gettext_noop("cannot publish %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot publish %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_foreign_key_layout = {
	gettext_noop("cannot add a foreign key to %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot add a foreign key to %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_foreign_key_other_owner = {
	gettext_noop("cannot add a foreign key from another role's table to %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot add a foreign key from another role's table to %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_foreign_key_dropped = {
	NULL,
	NULL,
	gettext_noop("cannot add a foreign key referencing column \"%s\" of relation %s while migration \"%s\" changes it"),
	gettext_noop("cannot add a foreign key referencing column \"%s\" of relation %s while migration \"%s\" changes %s")};

static const GuardMsg GM_unique_index = {
	gettext_noop("cannot create a unique or exclusion index on %s while migration \"%s\" re-layouts it"),
	gettext_noop("cannot create a unique or exclusion index on %s while migration \"%s\" re-layouts %s"),
	NULL,
	NULL};

static const GuardMsg GM_unique_index_migrated = {
	NULL,
	NULL,
	gettext_noop("cannot create a unique or exclusion index over a migrated column of %s while migration \"%s\" changes it"),
	gettext_noop("cannot create a unique or exclusion index over a migrated column of %s while migration \"%s\" changes %s")};

/*
 * Refuse (55006) what would change relid, a table, layout or partition of
 * one under migration m: msg names the statement (name, its object's
 * name, when msg has one), detail says why (NULL: the migration kind's
 * usual reason), extra_hint what else to do; detail and extra_hint are
 * gettext_noop-marked sentences (or translated already).
 */
static void
guard_refuse(const GuardedBy *m, Oid relid, const GuardMsg *msg, const char *name,
			 const char *detail, const char *extra_hint)
{
	bool		it = relid == m->table;
	const char *fmt = m->relayout ? (it ? msg->relayout_it : msg->relayout_other) :
		(it ? msg->change_it : msg->change_other);
	char	   *rel = quoted_relation(relid);
	char	   *table = quoted_relation(m->table);

	/* A case the table leaves out: the other form of the kind, then any. */
	if (fmt == NULL)
		fmt = m->relayout ? (it ? msg->relayout_other : msg->relayout_it) :
			(it ? msg->change_other : msg->change_it);
	if (fmt == NULL)
		fmt = m->relayout ? msg->change_other : msg->relayout_other;
	if (detail == NULL)
		detail = m->relayout ?
			gettext_noop("Both layouts of the table keep the same columns, constraints, triggers "
						 "and rules until the migration ends: the change would reach one layout "
						 "only, and the cleanup or a rollback would drop it with that layout.") :
			gettext_noop("The migration fixed the table's columns, the shapes' views and the "
						 "dual-write trigger at start: the change would reach one shape only, or "
						 "be dropped with the old columns at cleanup.");
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 name != NULL ? errmsg(fmt, name, rel, m->name, table) :
			 errmsg(fmt, rel, m->name, table),
			 errdetail("%s", _(detail)),
			 extra_hint != NULL ?
			 errhint("%s %s", guard_next_step(m), _(extra_hint)) :
			 errhint("%s", guard_next_step(m))));
}

/* True when name is one of the column names of the list. */
static bool
name_in(const char *name, List *names)
{
	ListCell   *lc;

	if (name == NULL)
		return false;
	foreach(lc, names)
		if (strcmp(name, (char *) lfirst(lc)) == 0)
			return true;
	return false;
}

/* raw_expression_tree_walker callback: the last name of each ColumnRef. */
static bool
collect_column_refs(Node *node, List **names)
{
	if (node == NULL)
		return false;
	if (IsA(node, ColumnRef))
	{
		Node	   *last = llast(((ColumnRef *) node)->fields);

		if (IsA(last, String))
			*names = lappend(*names, strVal(last));
		return false;
	}
	return raw_expression_tree_walker(node, collect_column_refs, (void *) names);
}

/* The column names index elements (name or expression) mention. */
static List *
index_elem_columns(List *elems)
{
	List	   *names = NIL;
	ListCell   *lc;

	foreach(lc, elems)
	{
		Node	   *n = lfirst(lc);

		if (IsA(n, List))		/* an exclusion element: (IndexElem, operator) */
			n = linitial((List *) n);
		if (IsA(n, IndexElem))
		{
			IndexElem  *e = (IndexElem *) n;

			if (e->name != NULL)
				names = lappend(names, e->name);
			else
				collect_column_refs(e->expr, &names);
		}
		else if (IsA(n, String))
			names = lappend(names, strVal(n));
	}
	return names;
}

/* The column names a constraint definition of ALTER TABLE ADD mentions. */
static List *
constraint_columns(Constraint *con)
{
	List	   *names = NIL;
	ListCell   *lc;

	collect_column_refs(con->raw_expr, &names);
	collect_column_refs(con->where_clause, &names);
	names = list_concat(names, index_elem_columns(con->keys));
	names = list_concat(names, index_elem_columns(con->including));
	names = list_concat(names, index_elem_columns(con->exclusions));
	foreach(lc, con->fk_attrs)
		names = lappend(names, strVal(lfirst(lc)));
	return names;
}

/* True when any of names is a column of the column migration m. */
static bool
any_migrated(const GuardedBy *m, List *names)
{
	ListCell   *lc;

	foreach(lc, names)
		if (name_in((char *) lfirst(lc), m->columns) ||
			strcmp((char *) lfirst(lc), "_steward_side") == 0)
			return true;
	return false;
}

/*
 * True when the existing constraint conname of relid is column migration
 * m's own or covers one of its columns.
 */
static bool
constraint_migrated(const GuardedBy *m, Oid relid, const char *conname)
{
	Oid			conoid;
	Bitmapset  *attnos;
	int			i = -1;

	if (name_in(conname, m->constraints))
		return true;
	attnos = get_relation_constraint_attnos(relid, conname, true, &conoid);
	while ((i = bms_next_member(attnos, i)) >= 0)
	{
		AttrNumber	attno = i + FirstLowInvalidHeapAttributeNumber;
		char	   *att = attno > 0 ? get_attname(relid, attno, true) : NULL;

		if (att != NULL && (name_in(att, m->columns) || strcmp(att, "_steward_side") == 0))
			return true;
	}
	return false;
}

/* A trigger the migration made (the apply, dual-write and TRUNCATE guards). */
static bool
migration_trigger(const char *tgname)
{
	return tgname == NULL || strncmp(tgname, "zz_steward_", 11) == 0;
}

/*
 * A BEFORE ROW trigger on INSERT or UPDATE named tgname, of type tgtype,
 * calling function tgfoid (InvalidOid: not found),
 * made (CREATE [OR REPLACE] TRIGGER) or renamed (ALTER TRIGGER ... RENAME)
 * on rel, a table a column migration changes: refused (55006) when its
 * name sorts after the dual-write trigger's
 * (steward_fires_after_dual_write; review26 R1: it would change rows
 * after up or down mapped them, so the shapes disagree, and a rollback
 * after complete would give the old application stale values).  rel is
 * locked by the statement (lock_named_first); a relation without the
 * dual-write trigger (a relayout's layout, an index step's table, no
 * migration) passes after one catalog probe.
 */
static void
guard_trigger_after_dual_write(Oid rel, const char *tgname, int16 tgtype, Oid tgfoid)
{
	GuardedBy	m;

	if (!OidIsValid(rel) || !steward_fires_after_dual_write(tgname, tgtype, tgfoid) ||
		!OidIsValid(get_trigger_oid(rel, STEWARD_DUAL_WRITE_TRIGGER, true)))
		return;
	guarded_by(rel, false, false, false, &m);
	if (m.name != NULL && !m.relayout)
		guard_refuse(&m, rel, &GM_trigger_after_dual_write, quoted_ident(tgname),
					 gettext_noop("PostgreSQL fires BEFORE ROW triggers in name order, and its "
								  "name sorts after \"zz_steward_migration\": what it changes in a "
								  "row would not reach the row's other shape."),
					 gettext_noop("Give it a name that sorts before \"zz_steward_migration\"."));
}

/*
 * The type (pg_trigger.tgtype) of rel's trigger tgname, or 0 when rel has
 * none so named, and its function in *tgfoid (InvalidOid when none).  rel
 * is locked by the statement.
 */
static int16
trigger_type(Oid rel, const char *tgname, Oid *tgfoid)
{
	Relation	r = table_open(rel, NoLock);
	int16		tgtype = 0;

	*tgfoid = InvalidOid;
	for (int i = 0; r->trigdesc != NULL && i < r->trigdesc->numtriggers; i++)
		if (strcmp(r->trigdesc->triggers[i].tgname, tgname) == 0)
		{
			tgtype = r->trigdesc->triggers[i].tgtype;
			*tgfoid = r->trigdesc->triggers[i].tgfoid;
		}
	table_close(r, NoLock);
	return tgtype;
}

/*
 * ALTER TABLE tbl REPLICA IDENTITY USING INDEX idx of a column migration's
 * table (m) where idx covers a column the migration drops: the old one
 * (at cleanup) or a new one (at a rollback).  DROP COLUMN drops the index
 * with it and leaves the table's replica identity naming no index (as
 * NOTHING: no old key decoded, UPDATE and DELETE refused once published),
 * without a word; refused (55006) when it is set, whether or not a
 * publication publishes the table yet.  Reads the index's pg_index row
 * through the syscache.
 */
static void
guard_replica_index_dropped(const GuardedBy *m, Oid rel, Oid index)
{
	HeapTuple	tup;
	Form_pg_index idx;

	if (!OidIsValid(index))
		return;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
	if (!HeapTupleIsValid(tup))
		return;
	idx = (Form_pg_index) GETSTRUCT(tup);
	/* Every column, INCLUDE ones too: dropping any of them drops the index. */
	for (int i = 0; i < idx->indnatts; i++)
	{
		char	   *att = idx->indkey.values[i] > 0 ?
			get_attname(rel, idx->indkey.values[i], true) : NULL;
		bool		old = att != NULL && name_in(att, m->dropped);

		if (att == NULL || !(old || name_in(att, m->added)))
			continue;
		ReleaseSysCache(tup);
		guard_refuse(m, rel, &GM_replica_identity, NULL,
					 psprintf(old ?
							  _("The index covers column %s, which the cleanup drops with the index: "
								"the table's replica identity would then name no index, as NOTHING.") :
							  _("The index covers column %s, the migration's new one until cleanup, "
								"which a rollback drops with the index: the table's replica identity "
								"would then name no index, as NOTHING."),
							  quoted_ident(att)),
					 gettext_noop("An index over columns both shapes have may be the replica identity "
								  "meanwhile; or set it after the cleanup."));
	}
	ReleaseSysCache(tup);
}

/*
 * Whether ALTER TABLE rel REPLICA IDENTITY ri leaves the identity as it is
 * (the same kind; USING INDEX of the index that is the identity now):
 * such a statement passes under any migration (relay3).  Reads pg_class
 * and the index's pg_index row through the syscache.
 */
static bool
replica_identity_unchanged(Oid rel, ReplicaIdentityStmt *ri)
{
	HeapTuple	tup;
	char		ident;
	Oid			index;
	bool		same;

	if (ri == NULL || !IsA(ri, ReplicaIdentityStmt))
		return false;
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
	if (!HeapTupleIsValid(tup))
		return false;
	ident = ((Form_pg_class) GETSTRUCT(tup))->relreplident;
	ReleaseSysCache(tup);
	if (ident != ri->identity_type)
		return false;
	if (ri->identity_type != REPLICA_IDENTITY_INDEX)
		return true;
	index = ri->name != NULL ? get_relname_relid(ri->name, get_rel_namespace(rel)) : InvalidOid;
	if (!OidIsValid(index))
		return false;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(index));
	if (!HeapTupleIsValid(tup))
		return false;
	same = ((Form_pg_index) GETSTRUCT(tup))->indrelid == rel &&
		((Form_pg_index) GETSTRUCT(tup))->indisreplident;
	ReleaseSysCache(tup);
	return same;
}

/*
 * Whether index, made rel's replica identity, is one that column migration
 * m carries itself (steward._migration_identity_carried, read as the
 * catalog's owner in a snapshot taken now): the old-shape index a key of
 * the steps replaces, before complete, when the identity followed the
 * migration from start (complete then moves it to that key), or an index
 * over that key's columns after complete (a rollback moves it back, the
 * cleanup keeps it).  Setting it again is what the migration does anyway,
 * so the guard lets it pass (relay3).  false when the function does not
 * exist (a library newer than the installed SQL).
 */
static bool
replica_identity_carried(const GuardedBy *m, Oid catalog, Oid rel, Oid index)
{
	Oid			argtypes[4] = {TEXTOID, REGCLASSOID, OIDOID, BOOLOID};
	Datum		args[4];
	StewardAsOwner ctx;
	bool		carried = false;

	if (!OidIsValid(index) || !OidIsValid(catalog) ||
		!OidIsValid(LookupFuncName(list_make2(makeString(STEWARD_SCHEMA),
											  makeString("_migration_identity_carried")),
								   4, argtypes, true)))
		return false;
	args[0] = CStringGetTextDatum(m->name);
	args[1] = ObjectIdGetDatum(rel);
	args[2] = ObjectIdGetDatum(index);
	args[3] = BoolGetDatum(m->phase != NULL && strcmp(m->phase, "switched") == 0);
	steward_as_owner_begin(catalog, &ctx);
	if (steward_spi_read_latest("SELECT steward._migration_identity_carried($1, $2, $3, $4)",
								4, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_tables");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		carried = !isnull && DatumGetBool(d);
	}
	steward_as_owner_end(&ctx);
	return carried;
}

/*
 * ALTER TABLE tbl REPLICA IDENTITY of a column migration's table (m): a
 * publication that publishes its updates or deletes under the column
 * list the migration pins (one shape's columns, from start until cleanup
 * or rollback: _migration_publish; one that names the table without a
 * list gets one at the next step) must cover the replica identity, or
 * PostgreSQL 15 refuses every UPDATE and DELETE of the table on the
 * publisher ("cannot update table ... column list ... does not cover the
 * replica identity").  Refused: FULL (no column list covers it, start
 * refuses it too), and USING INDEX or DEFAULT (the primary key) over a
 * column one shape's list leaves out (_steward_side, a new column before
 * complete or after it, the old one); NOTHING passes (updates then fail
 * whatever the migration).  The rule, one for every table of every
 * column migration, published or not (review24 V6): refused is an
 * identity that a step still ahead would break -- an index a step drops
 * with a column (guard_replica_index_dropped), or one the pinned list of a
 * publication of updates or deletes does not cover (a publication that
 * starts publishing them later is judged by the same rule in
 * _migration_check_publication_changes) -- and nothing else; the identity
 * the migration carries itself (replica_identity_carried) and a statement
 * that leaves the identity as it is pass.  The publications and their records are read
 * in a snapshot taken now, as guarded_by reads: a REPEATABLE READ
 * transaction's own snapshot may predate the migration_start the
 * statement's lock waited for (review14 R14-6).
 */
static void
guard_replica_identity(const GuardedBy *m, Oid rel, ReplicaIdentityStmt *ri)
{
	Oid			catalog = steward_relid("migration_tables", true);
	Oid			argtypes[4] = {TEXTOID, OIDOID, CHAROID, OIDOID};
	Datum		args[4];
	StewardAsOwner ctx;
	MemoryContext outer = CurrentMemoryContext;
	char	   *pub = NULL;
	Oid			index = InvalidOid;

	if (ri == NULL || !IsA(ri, ReplicaIdentityStmt) || ri->identity_type == REPLICA_IDENTITY_NOTHING)
		return;
	if (ri->identity_type == REPLICA_IDENTITY_INDEX && ri->name != NULL)
		index = get_relname_relid(ri->name, get_rel_namespace(rel));
	if (replica_identity_carried(m, catalog, rel, index))
		return;
	guard_replica_index_dropped(m, rel, index);
	if (!OidIsValid(catalog) || get_attnum(catalog, "publications") == InvalidAttrNumber)
		return;
	args[0] = CStringGetTextDatum(m->name);
	args[1] = ObjectIdGetDatum(rel);
	args[2] = CharGetDatum(ri->identity_type);
	args[3] = ObjectIdGetDatum(index);
	steward_as_owner_begin(catalog, &ctx);
	if (steward_spi_read_latest(
			"SELECT p.pubname::pg_catalog.text"
			"  FROM steward.migration_tables t"
			"  JOIN pg_catalog.pg_publication_rel pr ON pr.prrelid OPERATOR(pg_catalog.=) t.relid::pg_catalog.oid"
			"  JOIN pg_catalog.pg_publication p ON p.oid OPERATOR(pg_catalog.=) pr.prpubid"
			" WHERE t.migration OPERATOR(pg_catalog.=) $1 AND t.relid::pg_catalog.oid OPERATOR(pg_catalog.=) $2"
			"   AND (p.pubupdate OR p.pubdelete)"
			"   AND (pr.prattrs IS NULL OR p.pubname OPERATOR(pg_catalog.=) ANY (t.publications))"
			"   AND ($3 OPERATOR(pg_catalog.=) 'f'"
			"        OR EXISTS (SELECT 1 FROM pg_catalog.pg_index i"
			"                     JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid"
			"                                      AND a.attnum OPERATOR(pg_catalog.=) ANY (i.indkey)"
			"                    WHERE i.indrelid OPERATOR(pg_catalog.=) $2"
			"                      AND (i.indexrelid OPERATOR(pg_catalog.=) $4"
			"                           OR ($3 OPERATOR(pg_catalog.=) 'd' AND i.indisprimary))"
			"                      AND (a.attname OPERATOR(pg_catalog.=) '_steward_side'"
			"                           OR EXISTS (SELECT 1 FROM steward.migration_columns c"
			"                                       WHERE c.migration OPERATOR(pg_catalog.=) t.migration"
			"                                         AND c.relid OPERATOR(pg_catalog.=) t.relid"
			"                                         AND ((c.kind OPERATOR(pg_catalog.=) ANY (ARRAY['pair', 'added'])"
			"                                               AND a.attname OPERATOR(pg_catalog.=) ANY (ARRAY[c.expand_new, c.switched_new]))"
			"                                              OR (c.kind OPERATOR(pg_catalog.=) ANY (ARRAY['pair', 'dropped'])"
			"                                               AND a.attname OPERATOR(pg_catalog.=) ANY (ARRAY[c.expand_old, c.switched_old])))))))"
			" ORDER BY 1 LIMIT 1",
			4, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_tables");
	if (SPI_processed == 1)
	{
		MemoryContext old = MemoryContextSwitchTo(outer);

		pub = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		MemoryContextSwitchTo(old);
	}
	steward_as_owner_end(&ctx);
	if (pub == NULL)
		return;
	guard_refuse(m, rel, &GM_replica_identity, NULL,
				 ri->identity_type == REPLICA_IDENTITY_FULL ?
				 psprintf(_("Publication \"%s\" publishes the table's updates or deletes with the column "
							"list of one shape, which the migration keeps until cleanup or rollback, "
							"and PostgreSQL 15 refuses UPDATE and DELETE of a table with REPLICA "
							"IDENTITY FULL published with a column list."), pub) :
				 ri->identity_type == REPLICA_IDENTITY_DEFAULT ?
				 psprintf(_("Publication \"%s\" publishes the table's updates or deletes with the column "
							"list of one shape, which the migration keeps until cleanup or rollback, "
							"and the primary key covers a column one shape's list leaves out: UPDATE "
							"and DELETE would fail, for a column list must cover the replica "
							"identity."), pub) :
				 psprintf(_("Publication \"%s\" publishes the table's updates or deletes with the column "
							"list of one shape, which the migration keeps until cleanup or rollback, "
							"and the index covers a column one shape's list leaves out: UPDATE and "
							"DELETE would fail, for a column list must cover the replica identity."),
						  pub),
				 gettext_noop("An index over columns both shapes have may be the replica identity meanwhile."));
}

#define TRIGGER_DETAIL gettext_noop("The migration's triggers keep both layouts (or both shapes) " \
	"of the table written: without one, writes would reach one of them only.")

#define UPDATE_RULE_DETAIL gettext_noop("The backfill writes every row of the table with UPDATE, " \
	"which the rule would rewrite (migration_start refuses a table with rules on UPDATE).")

/* Is rulename a rule ON UPDATE of relid? */
static bool
is_update_rule(Oid relid, const char *rulename)
{
	HeapTuple	tup = SearchSysCache2(RULERELNAME, ObjectIdGetDatum(relid),
									  PointerGetDatum(rulename));
	bool		result = false;

	if (HeapTupleIsValid(tup))
	{
		result = ((Form_pg_rewrite) GETSTRUCT(tup))->ev_type == '0' + CMD_UPDATE;
		ReleaseSysCache(tup);
	}
	return result;
}

/*
 * The part of guard_alter_cmd both kinds of migration share: what passes
 * under either (returns true: nothing more to check), and what either
 * refuses (guard_refuse).  Returns false when the kind of migration
 * decides (guard_alter_relayout_cmd, guard_alter_column_cmd).
 */
static bool
guard_alter_any_cmd(const GuardedBy *m, Oid rel, AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_SetStatistics:
		case AT_SetOptions:
		case AT_ResetOptions:
		case AT_SetStorage:
		case AT_SetCompression:
		case AT_ClusterOn:
		case AT_DropCluster:
		case AT_SetRelOptions:
		case AT_ResetRelOptions:
		case AT_ReplaceRelOptions:
		case AT_SetTableSpace:
		case AT_ValidateConstraint:
		case AT_GenericOptions:
		case AT_AlterColumnGenericOptions:
		case AT_DisableRowSecurity:
		case AT_NoForceRowSecurity:
			return true;
		case AT_EnableAlwaysTrig:
			return true;		/* what the migration's triggers are */
		case AT_EnableTrig:
		case AT_EnableTrigAll:
		case AT_EnableTrigUser:

			/*
			 * ENABLE [ORIGIN] turns the migration's ENABLE ALWAYS triggers
			 * into ORIGIN ones, which writes under session_replication_role
			 * = replica (a subscriber's apply) skip (recheck10 N9).
			 */
			if (migration_trigger(cmd->name))
				guard_refuse(m, rel, cmd->name == NULL ? &GM_enable_all_triggers : &GM_enable_trigger,
							 cmd->name == NULL ? NULL : quoted_ident(cmd->name),
							 gettext_noop("ENABLE TRIGGER makes a trigger fire on origin writes only; the "
							 "migration's triggers are ENABLE ALWAYS, so that writes in "
							 "session_replication_role = replica (a subscriber's apply) reach "
							 "both layouts (or both shapes) too."),
							 cmd->name == NULL ?
							 gettext_noop("ENABLE TRIGGER name enables a trigger of your own meanwhile.") :
							 gettext_noop("ENABLE ALWAYS TRIGGER keeps it firing everywhere."));
			return true;
		case AT_EnableReplicaTrig:
		case AT_DisableTrig:
		case AT_DisableTrigAll:
		case AT_DisableTrigUser:
			if (migration_trigger(cmd->name))
				guard_refuse(m, rel, cmd->name == NULL ? &GM_disable_all_triggers : &GM_disable_trigger,
							 cmd->name == NULL ? NULL : quoted_ident(cmd->name),
							 TRIGGER_DETAIL, gettext_noop("DISABLE TRIGGER name disables a trigger "
														  "of your own meanwhile."));
			return true;
		case AT_AttachPartition:
		case AT_DetachPartition:
		case AT_DetachPartitionFinalize:
			return true;		/* guard_partition_cmd */
		case AT_ReplicaIdentity:
			if (replica_identity_unchanged(rel, (ReplicaIdentityStmt *) cmd->def))
				return true;
			if (m->relayout)
				guard_refuse(m, rel, &GM_replica_identity, NULL,
							 gettext_noop("The migration gave the new layout the table's replica identity "
										  "at start and does not carry a change made since: it would reach "
										  "one layout only, and the cutover or a rollback would put the "
										  "other layout's identity in its place."),
							 gettext_noop("Set the replica identity after the cleanup."));
			else if (rel == m->table)
				guard_replica_identity(m, rel, (ReplicaIdentityStmt *) cmd->def);
			return true;
		case AT_AddColumn:
			guard_refuse(m, rel, &GM_add_column, NULL, NULL, NULL);
			break;
		case AT_DropColumn:
			guard_refuse(m, rel, &GM_drop_column, NULL, NULL, NULL);
			break;
		case AT_AlterColumnType:
			guard_refuse(m, rel, &GM_retype_column, NULL, NULL, NULL);
			break;
		case AT_AddInherit:
		case AT_DropInherit:
		case AT_AddOf:
		case AT_DropOf:
			guard_refuse(m, rel, &GM_inheritance, NULL, NULL, NULL);
			break;
		case AT_ChangeOwner:
			guard_refuse(m, rel, &GM_owner, NULL, m->relayout ?
						 gettext_noop("The apply trigger of each layout writes the other one as "
									  "the layout's owner: both layouts (and their partitions) "
									  "must keep the same owner until the migration ends.") :
						 gettext_noop("The migration's views, schemas and trigger belong to the "
									  "table's owner and run as that role until the migration "
									  "ends."), NULL);
			break;
		default:
			break;
	}
	return false;
}

/*
 * A subcommand of ALTER TABLE on a table, layout or partition under
 * relayout m that guard_alter_any_cmd left: every one changes a layout's
 * definition, which the other layout would not follow, and is refused
 * (guard_refuse), each with its own message.
 */
static void
guard_alter_relayout_cmd(const GuardedBy *m, Oid rel, AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_AddConstraint:
		case AT_AddIndexConstraint:
			guard_refuse(m, rel, &GM_add_constraint, NULL, NULL, NULL);
			break;
		case AT_DropConstraint:
			guard_refuse(m, rel, &GM_drop_a_constraint, NULL, NULL, NULL);
			break;
		case AT_ColumnDefault:
		case AT_CookedColumnDefault:
			guard_refuse(m, rel, &GM_column_default, NULL, NULL, NULL);
			break;
		case AT_SetNotNull:
		case AT_DropNotNull:
		case AT_CheckNotNull:
			guard_refuse(m, rel, &GM_not_null, NULL, NULL, NULL);
			break;
		case AT_EnableRowSecurity:
		case AT_ForceRowSecurity:
			guard_refuse(m, rel, &GM_row_security, NULL,
						 gettext_noop("Row security on one layout only would be lost at the "
									  "cutover or the rollback; a relayout does not carry it."),
						 NULL);
			break;
		default:
			guard_refuse(m, rel, &GM_alter, NULL, NULL, NULL);
			break;
	}
}

/*
 * A subcommand of ALTER TABLE on a table or partition under column
 * migration m that guard_alter_any_cmd left: what touches the migrated
 * columns (defaults, NOT NULL, identity, constraints covering them) or
 * enables a rule ON UPDATE, which the backfill would set off, is refused
 * (guard_refuse); the rest passes.
 */
static void
guard_alter_column_cmd(const GuardedBy *m, Oid rel, AlterTableCmd *cmd)
{
	switch (cmd->subtype)
	{
		case AT_ColumnDefault:
		case AT_CookedColumnDefault:
		case AT_DropNotNull:
		case AT_SetNotNull:
		case AT_CheckNotNull:
		case AT_AddIdentity:
		case AT_SetIdentity:
		case AT_DropIdentity:
		case AT_DropExpression:
			if (cmd->name != NULL && any_migrated(m, list_make1(cmd->name)))
				guard_refuse(m, rel, &GM_change_column, quoted_ident(cmd->name), NULL, NULL);
			break;
		case AT_EnableRule:
		case AT_EnableAlwaysRule:
		case AT_EnableReplicaRule:
			if (is_update_rule(rel, cmd->name))
				guard_refuse(m, rel, &GM_enable_update_rule, quoted_ident(cmd->name),
							 UPDATE_RULE_DETAIL, gettext_noop("Enable the rule after the cleanup."));
			break;
		case AT_AddConstraint:
			if (IsA(cmd->def, Constraint) && any_migrated(m, constraint_columns((Constraint *) cmd->def)))
				guard_refuse(m, rel, &GM_constrain_migrated, NULL,
							 gettext_noop("The migration gives the new columns their constraints "
										  "at start and drops the old columns at cleanup: a "
										  "constraint added now would hold for one shape only, or "
										  "vanish with the old column."),
							 gettext_noop("Add it to the new column after the cleanup."));
			break;
		case AT_DropConstraint:
		case AT_AlterConstraint:
			if (cmd->name != NULL && constraint_migrated(m, rel, cmd->name))
				guard_refuse(m, rel, cmd->subtype == AT_DropConstraint ?
							 &GM_drop_constraint : &GM_alter_constraint, quoted_ident(cmd->name),
							 gettext_noop("It covers a column of the migration, which carries it "
										  "to the new column: the change would reach one shape "
										  "only."), NULL);
			break;
		default:
			break;
	}
}

/*
 * One subcommand of ALTER TABLE rel (a table, layout or partition of one
 * under migration m).  Relayouts: only what changes neither layout's
 * definition passes (storage, statistics and planner settings, VALIDATE,
 * ENABLE/DISABLE of triggers not the migration's; a replica identity
 * left as it is).
 * Column migrations: what touches the migrated columns or the migration's
 * constraints and triggers is refused, the rest passes.  Raises what
 * guard_refuse raises; returns when the subcommand passes.
 */
static void
guard_alter_cmd(const GuardedBy *m, Oid rel, AlterTableCmd *cmd)
{
	if (guard_alter_any_cmd(m, rel, cmd))
		return;
	if (m->relayout)
		guard_alter_relayout_cmd(m, rel, cmd);
	else
		guard_alter_column_cmd(m, rel, cmd);
}

/* The relation a statement names, InvalidOid when it does not exist. */
static Oid
named_relation(RangeVar *rv)
{
	return rv != NULL ? RangeVarGetRelid(rv, NoLock, true) : InvalidOid;
}

static void guard_inherit_from(RangeVar *rv, const GuardMsg *what);
static void guard_index_concurrently(IndexStmt *stmt);
static void refuse_stale_snapshot(const char *digest_sql, int nargs, Oid *argtypes, Datum *args,
								  const char *what);

/*
 * The active column migration whose shape view relid is -- the view it
 * made at start, <mig>.<the table's new name> or <mig>_old.<the table's
 * name>; others a user put in those schemas are not -- as guarded_by sees
 * it (m->name NULL when none).  Read as the catalog's owner.
 */
static void
shape_view_of(Oid relid, GuardedBy *m)
{
	Oid			catalog = steward_relid("migration_tables", true);
	Oid			argtypes[2] = {TEXTOID, TEXTOID};
	Datum		args[2];

	memset(m, 0, sizeof(*m));
	if (!OidIsValid(relid) || get_rel_relkind(relid) != RELKIND_VIEW || !OidIsValid(catalog) ||
		!OidIsValid(steward_relid("migration_runs", true)))
		return;
	args[0] = CStringGetTextDatum(get_namespace_name(get_rel_namespace(relid)));
	args[1] = CStringGetTextDatum(get_rel_name(relid));
	guarded_by_table_of(catalog,
						"SELECT t.relid::pg_catalog.oid"
						"  FROM steward.migration_tables t"
						"  JOIN steward.migration_runs r ON r.name OPERATOR(pg_catalog.=) t.migration"
						" WHERE t.active AND r.status OPERATOR(pg_catalog.=) 'active'"
						"   AND ((t.migration OPERATOR(pg_catalog.=) $1"
						"         AND COALESCE(t.new_name, t.relname)::pg_catalog.text OPERATOR(pg_catalog.=) $2)"
						"        OR (t.migration OPERATOR(pg_catalog.||) '_old' OPERATOR(pg_catalog.=) $1"
						"            AND t.relname::pg_catalog.text OPERATOR(pg_catalog.=) $2))"
						" ORDER BY t.migration, t.ord LIMIT 1",
						2, argtypes, args, m);
}

/*
 * RENAME, SET SCHEMA, CREATE OR REPLACE, DROP of a column migration's
 * shape view (what: the statement, "rename view"): refused.  Complete
 * moves the old columns' defaults onto <mig>_old's view, cleanup and
 * rollback drop both views (and their schemas) by name, and the old and
 * new versions of the application write through them.
 */
static void
guard_shape_view(Oid relid, const GuardMsg *what)
{
	GuardedBy	m;

	shape_view_of(relid, &m);
	if (m.name != NULL)
		guard_refuse(&m, relid, what, NULL,
					 gettext_noop("The migration made the views of the table's shapes at start and "
								  "finds them by name: complete moves the old columns' defaults "
								  "onto the old shape's view, cleanup and rollback drop both views "
								  "and their schemas, and a view under another name or definition "
								  "would keep the columns they drop (or write others); the "
								  "application's old and new versions write through them."),
					 NULL);
}

/* The owner of relation relid (InvalidOid when it is gone). */
static Oid
rel_owner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner = InvalidOid;

	if (HeapTupleIsValid(tup))
	{
		owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
		ReleaseSysCache(tup);
	}
	return owner;
}

/* True when options (DefElems of ALTER VIEW ... SET | RESET) turn security_invoker off. */
static bool
turns_off_security_invoker(List *options, bool reset)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (IsA(def, DefElem) && def->defnamespace == NULL &&
			strcmp(def->defname, "security_invoker") == 0 && (reset || !defGetBoolean(def)))
			return true;
	}
	return false;
}

/*
 * ALTER VIEW (or TABLE) of a column migration's shape view: OWNER TO,
 * RESET (security_invoker) or SET (security_invoker = false), and SET or
 * DROP DEFAULT of a column the migration changes, are refused.  A view
 * owned by another role than the table's: the table's owner, as whom the
 * migration and the application's grants work, lost its rights on it
 * (every write through it failed 42501, complete failed setting the old
 * default on it).  Without security_invoker the view read the table with
 * its owner's rights: the table's row security no longer applied to whoever
 * used it.  The migrated columns' defaults mark a shape: a new-shape
 * INSERT that leaves the new column NULL through a view without its
 * default was taken for an old-shape write (the old default, converted);
 * after complete an old-shape INSERT through <mig>_old's view without the
 * old default took the new one.  Other subcommands (a default of a column
 * the migration leaves alone, check_option, security_barrier) pass.
 */
static void
guard_shape_view_alter(Oid rel, AlterTableStmt *stmt)
{
	GuardedBy	m;
	ListCell   *lc;

	shape_view_of(rel, &m);
	if (m.name == NULL)
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (!IsA(cmd, AlterTableCmd))
			continue;
		if (cmd->subtype == AT_ChangeOwner &&
			get_rolespec_oid(cmd->newowner, false) != rel_owner(rel))
			guard_refuse(&m, rel, &GM_view_owner, NULL,
						 gettext_noop("The views of the table's shapes belong to the table's owner: the "
									  "migration sets the old columns' defaults on them at complete "
									  "and drops them at cleanup or rollback as that role, and the "
									  "grants the application writes through are that role's."), NULL);
		else if ((cmd->subtype == AT_ResetRelOptions || cmd->subtype == AT_SetRelOptions ||
				  cmd->subtype == AT_ReplaceRelOptions) && cmd->def != NULL && IsA(cmd->def, List) &&
				 turns_off_security_invoker((List *) cmd->def, cmd->subtype == AT_ResetRelOptions))
			guard_refuse(&m, rel, &GM_view_security_invoker, NULL,
						 gettext_noop("The views of the table's shapes are security_invoker, so that the "
									  "table's privileges and row security apply to whoever uses them; "
									  "without it they read and write the table with its owner's rights."),
						 NULL);
		else if ((cmd->subtype == AT_ColumnDefault || cmd->subtype == AT_CookedColumnDefault) &&
				 cmd->name != NULL && any_migrated(&m, list_make1(cmd->name)))
			guard_refuse(&m, rel, &GM_view_default, quoted_ident(cmd->name),
						 gettext_noop("A migrated column's default on the views tells the dual-write "
									  "trigger which shape an INSERT was written in (the new column's "
									  "on the new shape's view until complete, the old column's on the "
									  "old shape's view after it): without it, a row is taken for the "
									  "other shape's and gets that shape's default."),
						 gettext_noop("Give the column its new default in the migration's step, or with "
									  "ALTER TABLE after the cleanup."));
	}
}

/* CREATE OR REPLACE VIEW of a column migration's shape view. */
static void
guard_replace_view(ViewStmt *stmt)
{
	if (stmt->replace)
		guard_shape_view(named_relation(stmt->view), &GM_replace_view);
}


/*
 * A step of an active index migration (create_index or drop_index) on a
 * table, as the DDL guard sees it: the migration names its index by name
 * (in the table's schema) and its build statement names the table and
 * the columns.
 */
typedef struct IndexStep
{
	char	   *migration;
	char	   *phase;
	bool		create;			/* create_index, else drop_index */
	char	   *index_name;
	char	   *statement;		/* create_index: the CREATE INDEX CONCURRENTLY */
} IndexStep;

/*
 * The steps of active index migrations on relid not done yet (pending,
 * building, built; a drop_index step's index is kept until the cleanup),
 * read as the catalog's owner; a migration whose record
 * a restore loaded does not count (guarded_by).  Result palloc'd in the
 * caller's context.
 */
static List *
index_steps_on(Oid relid)
{
	Oid			catalog = steward_relid("migration_indexes", true);
	Oid			runs = steward_relid("migration_runs", true);
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};
	StewardAsOwner ctx;
	MemoryContext outer = CurrentMemoryContext;
	List	   *result = NIL;

	if (!OidIsValid(catalog) || !OidIsValid(runs) || !OidIsValid(relid))
		return NIL;
	/* A step counts while its table's entry is active: see guarded_by. */
	if (!IsInParallelMode())
		CommandCounterIncrement();
	if (!active_migration_table(relid))
		return NIL;
	steward_as_owner_begin(catalog, &ctx);
	if (steward_spi_read_latest(psprintf(
			"SELECT i.migration, r.phase, i.kind OPERATOR(pg_catalog.=) 'create_index',"
			"       i.index_name::pg_catalog.text, i.statement"
			"  FROM steward.migration_indexes i"
			"  JOIN steward.migration_runs r ON r.name OPERATOR(pg_catalog.=) i.migration"
			" WHERE i.relid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass"
			"   AND r.status OPERATOR(pg_catalog.=) 'active' AND NOT %s"
			"   AND i.state OPERATOR(pg_catalog.=) ANY (ARRAY['pending', 'building', 'built', 'kept'])"
			"   AND EXISTS (SELECT 1 FROM steward.migration_tables t"
			"                WHERE t.migration OPERATOR(pg_catalog.=) i.migration"
			"                  AND t.relid OPERATOR(pg_catalog.=) i.relid AND t.active)"
			" ORDER BY i.migration, i.step",
			steward_migration_runs_restored(runs)),
			1, argtypes, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_indexes");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(outer);
		IndexStep  *step = palloc0(sizeof(IndexStep));

		step->migration = SPI_getvalue(tup, desc, 1);
		step->phase = SPI_getvalue(tup, desc, 2);
		step->create = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
		step->index_name = SPI_getvalue(tup, desc, 4);
		step->statement = SPI_getvalue(tup, desc, 5);
		result = lappend(result, step);
		MemoryContextSwitchTo(old);
	}
	steward_as_owner_end(&ctx);
	return result;
}

/*
 * Adds to *atts the columns that expression tree column attno of irel's
 * pg_index row (indexprs or indpred) uses, read as stored.  Not through
 * RelationGetIndexExpressions / RelationGetIndexPredicate: they run the
 * trees through eval_const_expressions, which pre-evaluates the index
 * owner's immutable functions, and the guards run in the session of
 * whoever issues the DDL: a superuser's DROP INDEX of a table owner's
 * unique index ran that owner's function as the superuser (sec3 F1).
 * Nothing is evaluated here.
 */
static void
add_stored_tree_columns(Relation irel, AttrNumber attno, Bitmapset **atts)
{
	bool		isnull;
	Datum		tree = SysCacheGetAttr(INDEXRELID, irel->rd_indextuple, attno, &isnull);

	if (!isnull)
		pull_varattnos(stringToNode(TextDatumGetCString(tree)), 1, atts);
}

/*
 * The names of the columns of relid that index idx covers (keys, INCLUDE,
 * expressions, predicate), from its catalog row: evaluates nothing the
 * index's owner wrote (add_stored_tree_columns).  AccessShareLock on idx,
 * released.
 */
static List *
index_columns(Oid idx, Oid relid)
{
	Relation	irel = index_open(idx, AccessShareLock);
	Bitmapset  *atts = NULL;
	List	   *names = NIL;
	int			i = -1;

	for (int k = 0; k < irel->rd_index->indnatts; k++)
		if (irel->rd_index->indkey.values[k] != 0)
			atts = bms_add_member(atts, irel->rd_index->indkey.values[k] -
								  FirstLowInvalidHeapAttributeNumber);
	add_stored_tree_columns(irel, Anum_pg_index_indexprs, &atts);
	add_stored_tree_columns(irel, Anum_pg_index_indpred, &atts);
	index_close(irel, AccessShareLock);
	while ((i = bms_next_member(atts, i)) >= 0)
	{
		AttrNumber	attno = i + FirstLowInvalidHeapAttributeNumber;
		char	   *att = attno > 0 ? get_attname(relid, attno, true) : NULL;

		if (att != NULL)
			names = lappend(names, att);
	}
	return names;
}

/*
 * The column names step's index covers (keys, INCLUDE, expressions,
 * predicate): from the index when it exists, else from the build
 * statement (read under steward_pin_sql_strings).
 */
static List *
index_step_columns(Oid relid, const IndexStep *step)
{
	Oid			idx = get_relname_relid(step->index_name, get_rel_namespace(relid));
	List	   *names = NIL;

	if (OidIsValid(idx) && IndexGetRelation(idx, true) == relid)
		return index_columns(idx, relid);
	if (step->create && step->statement != NULL)
	{
		/* Read as the start checked it and the worker builds it. */
		int			nest = NewGUCNestLevel();
		List	   *raw;

		steward_pin_sql_strings();
		raw = raw_parser(step->statement, RAW_PARSE_DEFAULT);
		AtEOXact_GUC(false, nest);

		if (list_length(raw) == 1 && IsA(((RawStmt *) linitial(raw))->stmt, IndexStmt))
		{
			IndexStmt  *is = (IndexStmt *) ((RawStmt *) linitial(raw))->stmt;

			names = index_elem_columns(is->indexParams);
			names = list_concat(names, index_elem_columns(is->indexIncludingParams));
			collect_column_refs(is->whereClause, &names);
		}
	}
	return names;
}

/*
 * The message of a statement refused while an index migration runs, whole
 * sentences (as GuardMsg): while it creates its index, while it drops it.
 * Arguments: the relation, the migration, the index.
 */
typedef struct IndexStepMsg
{
	const char *creates;
	const char *drops;
} IndexStepMsg;

static const IndexStepMsg IM_drop_index = {
	gettext_noop("cannot drop index %s while migration \"%s\" creates index %s"),
	gettext_noop("cannot drop index %s while migration \"%s\" drops index %s")};
static const IndexStepMsg IM_rename_index = {
	gettext_noop("cannot rename index %s while migration \"%s\" creates index %s"),
	gettext_noop("cannot rename index %s while migration \"%s\" drops index %s")};
static const IndexStepMsg IM_index_depends = {
	gettext_noop("cannot let DROP EXTENSION drop index %s while migration \"%s\" creates index %s"),
	gettext_noop("cannot let DROP EXTENSION drop index %s while migration \"%s\" drops index %s")};
static const IndexStepMsg IM_rename = {
	gettext_noop("cannot rename %s while migration \"%s\" creates index %s"),
	gettext_noop("cannot rename %s while migration \"%s\" drops index %s")};
static const IndexStepMsg IM_move = {
	gettext_noop("cannot move %s while migration \"%s\" creates index %s"),
	gettext_noop("cannot move %s while migration \"%s\" drops index %s")};
static const IndexStepMsg IM_rename_column = {
	gettext_noop("cannot rename a column of %s while migration \"%s\" creates index %s"),
	gettext_noop("cannot rename a column of %s while migration \"%s\" drops index %s")};
static const IndexStepMsg IM_drop_column = {
	gettext_noop("cannot drop a column of %s while migration \"%s\" creates index %s"),
	gettext_noop("cannot drop a column of %s while migration \"%s\" drops index %s")};
static const IndexStepMsg IM_retype_column = {
	gettext_noop("cannot change the type of a column of %s while migration \"%s\" creates index %s"),
	gettext_noop("cannot change the type of a column of %s while migration \"%s\" drops index %s")};
static const IndexStepMsg IM_index_constraint = {
	gettext_noop("cannot turn an index into a constraint of %s while migration \"%s\" creates index %s"),
	gettext_noop("cannot turn an index into a constraint of %s while migration \"%s\" drops index %s")};

/*
 * Refuse (55006) statement msg on relid (the table of step, or step's
 * index) while the index migration runs.
 */
static void
index_step_refuse(const IndexStep *step, Oid relid, const IndexStepMsg *msg)
{
	const char *q = quote_literal_cstr(step->migration);

	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 errmsg(step->create ? msg->creates : msg->drops, quoted_relation(relid),
					step->migration, quoted_ident(step->index_name)),
			 step->create ?
			 errdetail("The migration finds the index by its name in the table's schema, "
					   "and builds it with the statement it checked at start: the "
					   "build, validation, cleanup or rollback would fail or act on "
					   "another index.") :
			 errdetail("The migration watches the index's use until its cleanup drops it "
					   "by its name in the table's schema; a rollback keeps it."),
			 step->create ?
			 errhint("Clean the migration up once it validated (SELECT steward.migration_cleanup(%s);), "
					 "or roll it back (SELECT steward.migration_rollback(%s);), first.", q, q) :
			 errhint("Clean the migration up (SELECT steward.migration_cleanup(%s);), which drops "
					 "the index, or roll it back (SELECT steward.migration_rollback(%s);), first.",
					 q, q)));
}

/*
 * DDL on relid, a table under index migrations (what and shown, the
 * relation it names: the statement for messages): refused when it renames or moves the table (table_too),
 * drops, retypes or renames a column the index covers (column), or names
 * the index itself (index_name: DROP, RENAME, a constraint USING INDEX).
 */
static void
guard_index_steps(Oid relid, Oid shown, bool table_too, const char *column,
				  const char *index_name, const IndexStepMsg *what)
{
	ListCell   *lc;

	if (steward_migration_index_worker() || !OidIsValid(relid))
		return;
	foreach(lc, index_steps_on(relid))
	{
		IndexStep  *step = (IndexStep *) lfirst(lc);

		if (table_too ||
			(index_name != NULL && strcmp(index_name, step->index_name) == 0) ||
			(column != NULL && name_in(column, index_step_columns(relid, step))))
			index_step_refuse(step, shown, what);
	}
}

/* DDL naming idx, an index: the index steps of its table that name it. */
static void
guard_index_object(Oid idx, const IndexStepMsg *what)
{
	Oid			tbl;

	if (!OidIsValid(idx) || (get_rel_relkind(idx) != RELKIND_INDEX &&
							 get_rel_relkind(idx) != RELKIND_PARTITIONED_INDEX))
		return;
	tbl = IndexGetRelation(idx, true);
	if (OidIsValid(tbl))
		guard_index_steps(tbl, idx, false, NULL, get_rel_name(idx), what);
}

/*
 * DROP INDEX (guard_drop_index) or DROP VIEW (guard_drop_view): guard for
 * each relation named that exists.
 */
static void
guard_drop_each(DropStmt *stmt, void (*guard) (Oid relid))
{
	ListCell   *lc;

	foreach(lc, stmt->objects)
		guard(RangeVarGetRelid(makeRangeVarFromNameList((List *) lfirst(lc)), NoLock, true));
}

/* DROP VIEW of a column migration's shape view (guard_shape_view). */
static void
guard_drop_view(Oid relid)
{
	guard_shape_view(relid, &GM_drop_view);
}

/* ALTER TABLE of a table under index migrations: columns and USING INDEX. */
static void
guard_alter_index_steps(Oid rel, AlterTableStmt *stmt)
{
	ListCell   *lc;

	if (!OidIsValid(rel))
		return;
	if (get_rel_relkind(rel) == RELKIND_INDEX || get_rel_relkind(rel) == RELKIND_PARTITIONED_INDEX)
		return;					/* ALTER INDEX ... SET (...), SET TABLESPACE: the index stays */
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (!IsA(cmd, AlterTableCmd))
			continue;
		if (cmd->subtype == AT_DropColumn)
			guard_index_steps(rel, rel, false, cmd->name, NULL, &IM_drop_column);
		else if (cmd->subtype == AT_AlterColumnType)
			guard_index_steps(rel, rel, false, cmd->name, NULL, &IM_retype_column);
		else if (cmd->subtype == AT_AddIndexConstraint && cmd->def != NULL &&
				 IsA(cmd->def, Constraint) && ((Constraint *) cmd->def)->indexname != NULL)
			guard_index_steps(rel, rel, false, NULL, ((Constraint *) cmd->def)->indexname,
							  &IM_index_constraint);
	}
}

/* ALTER TABLE: each subcommand, and ATTACH / DETACH PARTITION. */
static void
guard_alter_table(AlterTableStmt *stmt)
{
	Oid			rel = named_relation(stmt->relation);
	GuardedBy	m;
	ListCell   *lc;

	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (IsA(cmd, AlterTableCmd) &&
			(cmd->subtype == AT_AttachPartition || cmd->subtype == AT_DetachPartition ||
			 cmd->subtype == AT_DetachPartitionFinalize))
			guard_partition_cmd(stmt, cmd);
	}
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		/* ALTER TABLE child INHERIT parent: CREATE TABLE ... INHERITS by another name. */
		if (IsA(cmd, AlterTableCmd) && cmd->subtype == AT_AddInherit && cmd->def != NULL &&
			IsA(cmd->def, RangeVar))
			guard_inherit_from((RangeVar *) cmd->def, &GM_inherit_from);
	}
	guard_alter_index_steps(rel, stmt);
	guard_shape_view_alter(rel, stmt);
	guarded_by(rel, false, false, false, &m);
	if (m.name == NULL)
		return;
	foreach(lc, stmt->cmds)
	{
		AlterTableCmd *cmd = (AlterTableCmd *) lfirst(lc);

		if (IsA(cmd, AlterTableCmd))
			guard_alter_cmd(&m, rel, cmd);
	}
}

#define NAME_DETAIL gettext_noop("The migration gives the table's name to the new layout at " \
	"complete (and back at a rollback), keeping the schema: the application's table would end " \
	"up elsewhere.")

#define TABLE_NAME_DETAIL gettext_noop("The migration's views and steps name the table as it " \
	"was at start.")

/*
 * The object types under which a statement may name a relation: ALTER
 * TABLE, INDEX, VIEW, MATERIALIZED VIEW, FOREIGN TABLE, SEQUENCE.  Core
 * accepts some of them on a table whatever the spelling says (ALTER INDEX
 * tbl RENAME TO, "for compatibility"): the guard judges the relation the
 * name resolves to, never the keyword.
 */
static bool
relation_object(ObjectType type)
{
	return type == OBJECT_TABLE || type == OBJECT_INDEX || type == OBJECT_VIEW ||
		type == OBJECT_MATVIEW || type == OBJECT_FOREIGN_TABLE || type == OBJECT_SEQUENCE;
}

/* What a statement does to a schema, for guard_schema. */
typedef enum SchemaAction
{
	SCHEMA_RENAME,
	SCHEMA_DROP,
	SCHEMA_OWNER
} SchemaAction;

static void guard_schema(const char *nspname, SchemaAction action);

/*
 * ALTER PUBLICATION oldname RENAME TO newname: the column migrations'
 * records of the publications they pin (migration_tables.publications,
 * by name: a dump keeps names, not OIDs) follow the rename, so that
 * complete, cleanup and rollback still give the publication its column
 * list (review14 R14-10: renamed, it kept the old shape's list after
 * complete).  Written before the rename, in the statement's transaction:
 * a rename that fails (a publication of that name exists, the caller
 * does not own it) rolls it back.  As the catalog's owner, in a snapshot
 * taken now (a REPEATABLE READ transaction's may predate the record).
 * Only for the publication's owner (a member of its role): another
 * role's rename, which core refuses (42501), must not first row-lock and
 * wait for the records pinning that name (review16 R16-1 nit).
 */
static void
follow_publication_rename(const char *oldname, const char *newname)
{
	Oid			catalog = steward_relid("migration_tables", true);
	Oid			argtypes[2] = {NAMEOID, NAMEOID};
	Datum		args[2];
	StewardAsOwner ctx;
	SPIPlanPtr	plan;
	Snapshot	snapshot;
	Oid			pubid;

	if (!OidIsValid(catalog) || get_attnum(catalog, "publications") == InvalidAttrNumber ||
		oldname == NULL || newname == NULL)
		return;
	pubid = get_publication_oid(oldname, true);
	if (!OidIsValid(pubid) || !pg_publication_ownercheck(pubid, GetUserId()))
		return;
	args[0] = DirectFunctionCall1(namein, CStringGetDatum(oldname));
	args[1] = DirectFunctionCall1(namein, CStringGetDatum(newname));
	steward_as_owner_begin(catalog, &ctx);
	plan = SPI_prepare("UPDATE steward.migration_tables t"
					   "   SET publications = pg_catalog.array_replace(t.publications, $1, $2)"
					   " WHERE t.active AND $1 OPERATOR(pg_catalog.=) ANY (t.publications)",
					   2, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare the update of steward.migration_tables: %s",
			 SPI_result_code_string(SPI_result));
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	if (SPI_execute_snapshot(plan, args, NULL, snapshot, InvalidSnapshot, false, true, 0) !=
		SPI_OK_UPDATE)
		elog(ERROR, "could not update steward.migration_tables");
	UnregisterSnapshot(snapshot);
	SPI_freeplan(plan);
	steward_as_owner_end(&ctx);
}

/*
 * RENAME of a relation, of one of its columns, constraints or triggers,
 * however spelled: ALTER TABLE | INDEX | VIEW | MATERIALIZED VIEW | FOREIGN
 * TABLE | SEQUENCE name RENAME TO (RenameRelation), ALTER TABLE | VIEW |
 * MATERIALIZED VIEW | FOREIGN TABLE name RENAME COLUMN and ALTER TYPE name
 * RENAME ATTRIBUTE (renameatt: a table's row type names the table, and
 * core never compares the keyword with the relation's kind), ALTER TABLE
 * ... RENAME CONSTRAINT, ALTER TRIGGER ... RENAME.  Each resolves the name
 * as a relation, as core does; the relation decides.
 */
static void
guard_rename(RenameStmt *stmt)
{
	Oid			rel;
	GuardedBy	m;

	if (stmt->renameType == OBJECT_SCHEMA)
	{
		guard_schema(stmt->subname, SCHEMA_RENAME);
		return;
	}
	if (stmt->renameType == OBJECT_PUBLICATION)
	{
		follow_publication_rename(strVal(stmt->object), stmt->newname);
		return;
	}
	if (!relation_object(stmt->renameType) && stmt->renameType != OBJECT_COLUMN &&
		stmt->renameType != OBJECT_ATTRIBUTE && stmt->renameType != OBJECT_TABCONSTRAINT &&
		stmt->renameType != OBJECT_TRIGGER)
		return;
	rel = named_relation(stmt->relation);
	if (relation_object(stmt->renameType))
	{
		guard_shape_view(rel, &GM_rename_view);
		guard_index_object(rel, &IM_rename_index);
		guard_index_steps(rel, rel, true, NULL, NULL, &IM_rename);
	}
	else if (stmt->renameType == OBJECT_COLUMN || stmt->renameType == OBJECT_ATTRIBUTE)
		guard_index_steps(rel, rel, false, stmt->subname, NULL, &IM_rename_column);
	guarded_by(rel, false, false, false, &m);
	if (m.name == NULL)
		return;
	switch (stmt->renameType)
	{
		case OBJECT_COLUMN:
		case OBJECT_ATTRIBUTE:
			guard_refuse(&m, rel, &GM_rename_column, NULL, NULL, NULL);
			break;
		case OBJECT_TABCONSTRAINT:
			if (m.relayout || constraint_migrated(&m, rel, stmt->subname))
				guard_refuse(&m, rel, &GM_rename_constraint, NULL, NULL, NULL);
			break;
		case OBJECT_TRIGGER:
			{
				Oid			tgfoid;
				int16		tgtype = trigger_type(rel, stmt->subname, &tgfoid);

				/* Neither from nor to the migration's own names (codereview14 S1). */
				if (migration_trigger(stmt->subname))
					guard_refuse(&m, rel, &GM_rename_trigger, quoted_ident(stmt->subname),
								 TRIGGER_DETAIL, NULL);
				if (migration_trigger(stmt->newname))
					guard_refuse(&m, rel, &GM_rename_to_own_trigger, quoted_ident(stmt->newname),
								 TRIGGER_DETAIL, gettext_noop("Give your trigger another name."));
				guard_trigger_after_dual_write(rel, stmt->newname, tgtype, tgfoid);
			}
			break;
		default:
			/* A partition of a layout keeps its place whatever its name. */
			if (rel == m.table)
				guard_refuse(&m, rel, &GM_rename, NULL, m.relayout ? NAME_DETAIL : TABLE_NAME_DETAIL,
							 NULL);
			break;
	}
}

/*
 * ALTER SCHEMA ... RENAME of a schema that holds a layout of a relayout
 * (the apply triggers name the other layout schema-qualified: every
 * write would fail) or that is one of a column migration's shape schemas
 * (named after the migration; cleanup drops them by name and would find
 * the shapes' views, over the old columns, in the renamed one); with
 * drop, DROP SCHEMA of a shape schema (CASCADE would drop the shape's
 * views: complete then fails on the old one's defaults, the application
 * loses the views it writes through).  The schema's name decides, as it
 * is what changes.  DROP SCHEMA ... CASCADE of a schema holding a layout
 * is left to the superuser (see steward_relayout_guard_ddl).  With
 * SCHEMA_OWNER, ALTER SCHEMA ... OWNER TO of a shape schema: the
 * migration works in it as the table's owner (the views are created in
 * it, and rollback and cleanup drop it), and another owner's schema
 * denied that role USAGE: every read and write through the views, and
 * the rollback, failed 42501.
 */
static void
guard_schema(const char *nspname, SchemaAction action)
{
	bool		drop = action == SCHEMA_DROP;
	bool		owner = action == SCHEMA_OWNER;

	Oid			nsp = get_namespace_oid(nspname, true);
	Oid			catalog = steward_relid("migration_tables", true);
	Oid			argtypes[3] = {OIDOID, TEXTOID, BOOLOID};
	Datum		args[3];
	StewardAsOwner ctx;
	MemoryContext outer = CurrentMemoryContext;
	List	   *rels = NIL;
	ListCell   *lc;

	if (!OidIsValid(nsp) || !OidIsValid(catalog) || !OidIsValid(steward_relid("migration_runs", true)))
		return;
	args[0] = ObjectIdGetDatum(nsp);
	args[1] = CStringGetTextDatum(nspname);
	args[2] = BoolGetDatum(action != SCHEMA_RENAME);
	steward_as_owner_begin(catalog, &ctx);
	if (steward_spi_read_latest(
			"SELECT t.relid::pg_catalog.oid, t.migration OPERATOR(pg_catalog.=) $2"
			"       OR t.migration OPERATOR(pg_catalog.||) '_old' OPERATOR(pg_catalog.=) $2"
			"  FROM steward.migration_tables t"
			"  JOIN steward.migration_runs r ON r.name OPERATOR(pg_catalog.=) t.migration"
			"  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) t.relid"
			" WHERE t.active AND r.status OPERATOR(pg_catalog.=) 'active'"
			"   AND ((r.steps OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->) 'relayout' IS NOT NULL"
			"         AND c.relnamespace OPERATOR(pg_catalog.=) $1 AND NOT $3)"
			"        OR t.migration OPERATOR(pg_catalog.=) $2"
			"        OR t.migration OPERATOR(pg_catalog.||) '_old' OPERATOR(pg_catalog.=) $2)"
			" ORDER BY t.migration, t.ord",
			3, argtypes, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_tables");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));
		bool		shape = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc, 2, &isnull));
		MemoryContext old = MemoryContextSwitchTo(outer);

		rels = lappend_oid(rels, shape ? relid : InvalidOid);
		rels = lappend_oid(rels, relid);
		MemoryContextSwitchTo(old);
	}
	steward_as_owner_end(&ctx);
	for (lc = list_head(rels); lc != NULL; lc = lnext(rels, lnext(rels, lc)))
	{
		bool		shape = OidIsValid(lfirst_oid(lc));
		Oid			relid = lfirst_oid(lnext(rels, lc));
		GuardedBy	m;

		guarded_by(relid, false, false, false, &m);
		if (m.name == NULL || (owner && (!shape || m.relayout)))
			continue;
		if (owner)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("cannot change the owner of schema %s while migration \"%s\" keeps the views of a shape of %s in it",
							quoted_ident(nspname), m.name, quoted_relation(relid)),
					 errdetail("The migration works in its shapes' schemas as the table's owner: the "
							   "views the application reads and writes through need USAGE on the "
							   "schema, and cleanup and rollback drop it."),
					 errhint("%s", guard_next_step(&m))));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 shape && drop ?
				 errmsg("cannot drop schema %s while migration \"%s\" keeps the views of a shape of %s in it",
						quoted_ident(nspname), m.name, quoted_relation(relid)) :
				 shape ?
				 errmsg("cannot rename schema %s while migration \"%s\" keeps the views of a shape of %s in it",
						quoted_ident(nspname), m.name, quoted_relation(relid)) :
				 errmsg("cannot rename schema %s while migration \"%s\" re-layouts %s in it",
						quoted_ident(nspname), m.name, quoted_relation(relid)),
				 shape && drop ?
				 errdetail("The schema holds the view of a shape the application writes through; "
						   "complete moves the old columns' defaults onto the old shape's view, "
						   "and cleanup and rollback drop the views and schemas themselves.") :
				 shape ?
				 errdetail("The migration names its shapes' schemas after itself: cleanup and "
						   "rollback drop them by that name.") :
				 errdetail("The apply trigger of each layout writes the other one by its "
						   "schema-qualified name: every write to the table would fail."),
				 errhint("%s", guard_next_step(&m))));
	}
}

/* ALTER TABLE (or another relation keyword) ... SET SCHEMA of a layout or a migration's table. */
static void
guard_set_schema(AlterObjectSchemaStmt *stmt)
{
	Oid			rel;
	GuardedBy	m;

	if (!relation_object(stmt->objectType))
		return;
	rel = named_relation(stmt->relation);
	guard_shape_view(rel, &GM_move_view);
	guard_index_steps(rel, rel, true, NULL, NULL, &IM_move);
	guarded_by(rel, false, false, false, &m);
	if (m.name != NULL && rel == m.table)
		guard_refuse(&m, rel, &GM_move, NULL, m.relayout ? NAME_DETAIL : TABLE_NAME_DETAIL, NULL);
}

/*
 * DROP TABLE of a layout (the rows would be left in the other one, under
 * an internal name, by a migration that can then only be rolled back) or
 * of a partition of one.  A column
 * migration's table may be dropped (with CASCADE, for the shapes' views):
 * the migration ends as dropped.
 */
static void
guard_drop(DropStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->objects)
	{
		RangeVar   *rv = makeRangeVarFromNameList((List *) lfirst(lc));
		Oid			relid = RangeVarGetRelid(rv, NoLock, true);
		GuardedBy	m;

		if (!OidIsValid(relid))
			continue;
		if (!get_rel_relispartition(relid))
		{
			guarded_by(relid, false, true, false, &m);
			if (m.name != NULL && relid == m.table)
				guard_refuse(&m, relid, &GM_drop, NULL,
							 gettext_noop("The table's rows would be left in the other layout "
										  "only, under an internal name."),
							 gettext_noop("The rollback drops the new layout, the cleanup the old one."));
			continue;
		}
		guarded_by(relid, true, true, true, &m);
		if (m.name != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("cannot drop partition %s of %s while migration \"%s\" re-layouts it",
							quoted_relation(relid), quoted_relation(m.table), m.name),
					 errdetail("Its rows would stay in the other layout: a rollback would "
							   "bring them back, and the layouts would differ."),
					 errhint("Delete its rows instead, or complete and clean up the migration, "
							 "or roll it back, first.")));
	}
}

/* DROP TRIGGER of one of the migration's triggers. */
static void
guard_drop_trigger(DropStmt *stmt)
{
	ListCell   *lc;

	foreach(lc, stmt->objects)
	{
		List	   *names = (List *) lfirst(lc);
		char	   *tgname;
		Oid			rel;
		GuardedBy	m;

		if (list_length(names) < 2)
			continue;
		tgname = strVal(llast(names));
		if (!migration_trigger(tgname))
			continue;
		rel = named_relation(makeRangeVarFromNameList(list_truncate(list_copy(names),
																	list_length(names) - 1)));
		guarded_by(rel, false, false, false, &m);
		if (m.name != NULL)
			guard_refuse(&m, rel, &GM_drop_trigger, quoted_ident(tgname), TRIGGER_DETAIL, NULL);
	}
}

/*
 * CREATE TABLE ... INHERITS, or ALTER TABLE child INHERIT, naming a
 * layout, a partition of one, or a column migration's table: the child's
 * rows would be read through one layout only (or never migrated), and the
 * child would keep the old layout from being dropped.  PARTITION OF a layout passes: the partition is empty and
 * gets the apply trigger (and the TRUNCATE guard) like its siblings.
 */
static void
guard_inherit_from(RangeVar *rv, const GuardMsg *what)
{
	Oid			parent = named_relation(rv);
	GuardedBy	m;

	guarded_by(parent, false, false, false, &m);
	if (m.name != NULL)
		guard_refuse(&m, parent, what, NULL,
					 m.relayout ?
					 gettext_noop("The child's rows would be read through one layout only, and "
								  "the child would keep the old layout from being dropped at "
								  "cleanup.") :
					 gettext_noop("The child's rows would not be migrated, and complete and "
								  "cleanup would change its columns."),
					 gettext_noop("CREATE TABLE ... (LIKE parent) copies the definition without "
								  "inheriting."));
}

static void
guard_inherits(CreateStmt *stmt)
{
	ListCell   *lc;

	if (stmt->partbound != NULL)
		return;
	foreach(lc, stmt->inhRelations)
		guard_inherit_from((RangeVar *) lfirst(lc), &GM_create_inheriting);
}

/*
 * CREATE TRIGGER, CREATE RULE, CREATE POLICY on a layout or a partition
 * of one: on one layout only, it would fire on the writes the apply
 * copies from the other one (as the owner, search_path pinned) and be
 * dropped with its layout.  Column migrations take them (both shapes are
 * the same table).
 */
static void
guard_create_on(RangeVar *rv, const GuardMsg *what)
{
	Oid			rel = named_relation(rv);
	GuardedBy	m;

	guarded_by(rel, false, true, false, &m);
	if (m.name != NULL)
		guard_refuse(&m, rel, what, NULL,
					 gettext_noop("It would be on one layout only: it would act on the writes the "
								  "apply trigger copies from the other layout (as the owner, with "
								  "search_path = pg_catalog), and be dropped with its layout at "
								  "cleanup or rollback."),
					 NULL);
}

/*
 * CREATE RULE: on a layout (guard_create_on), or ON UPDATE on a column
 * migration's table, whose backfill would meet it (review10 F6).
 */
static void
guard_create_rule(RuleStmt *stmt)
{
	Oid			rel;
	GuardedBy	m;

	guard_create_on(stmt->relation, &GM_create_rule);
	if (stmt->event != CMD_UPDATE)
		return;
	rel = named_relation(stmt->relation);
	guarded_by(rel, false, false, false, &m);
	if (m.name != NULL && !m.relayout)
		guard_refuse(&m, rel, &GM_create_update_rule, NULL, UPDATE_RULE_DETAIL,
					 gettext_noop("Create the rule after the cleanup."));
}

/*
 * CREATE [OR REPLACE] TRIGGER: on a layout or a partition of one refused
 * (guard_create_on).  A trigger named like the migration's own
 * (zz_steward_*) on a table a migration changes, of any kind: OR REPLACE
 * swaps the migration's trigger for the statement's (DROP TRIGGER is
 * refused), and on a partitioned table it replaces the trigger of that
 * name on every partition too, so the table and each partition below it
 * are looked at.  Making those triggers is the extension's business.
 */
static void
guard_create_trigger(CreateTrigStmt *stmt)
{
	Oid			rel = named_relation(stmt->relation);

	if (OidIsValid(rel) && migration_trigger(stmt->trigname))
	{
		List	   *rels = list_make1_oid(rel);
		ListCell   *lc;

		if (get_rel_relkind(rel) == RELKIND_PARTITIONED_TABLE)
			rels = find_all_inheritors(rel, NoLock, NULL);
		foreach(lc, rels)
		{
			GuardedBy	m;

			guarded_by(lfirst_oid(lc), false, false, false, &m);
			if (m.name != NULL)
				guard_refuse(&m, lfirst_oid(lc), &GM_create_own_trigger,
							 quoted_ident(stmt->trigname), TRIGGER_DETAIL,
							 gettext_noop("Give your trigger another name."));
		}
	}
	guard_trigger_after_dual_write(rel, stmt->trigname,
								   (stmt->row ? TRIGGER_TYPE_ROW : 0) | stmt->timing | stmt->events,
								   LookupFuncName(stmt->funcname, 0, NULL, true));
	guard_create_on(stmt->relation, &GM_create_trigger);
}

/*
 * DROP INDEX idx (drop), or ALTER INDEX idx DEPENDS ON EXTENSION, after
 * which DROP EXTENSION would drop it past DROP INDEX's guard, of a unique
 * (or exclusion, or primary key) index of a layout or a partition of one
 * (the guarantee would be left on the other layout only, and validate
 * compares columns, not indexes: codereview F4), or one over a migrated
 * column of a column migration's table, or the one it builds (complete
 * turns it into the new column's constraint; the guarantee would hold
 * for one shape only).  An index a constraint owns, or one attached to a
 * partitioned index, is left to core, which refuses to drop it alone.
 */
static void
guard_unique_index(Oid idx, bool drop)
{
	Oid			tbl;
	HeapTuple	tup;
	bool		unique;
	GuardedBy	m;
	const GuardMsg *what;

	if (!OidIsValid(idx) || (get_rel_relkind(idx) != RELKIND_INDEX &&
							 get_rel_relkind(idx) != RELKIND_PARTITIONED_INDEX))
		return;
	if (drop && (OidIsValid(get_index_constraint(idx)) || get_rel_relispartition(idx)))
		return;
	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(idx));
	if (!HeapTupleIsValid(tup))
		return;
	tbl = ((Form_pg_index) GETSTRUCT(tup))->indrelid;
	unique = ((Form_pg_index) GETSTRUCT(tup))->indisunique ||
		((Form_pg_index) GETSTRUCT(tup))->indisexclusion ||
		((Form_pg_index) GETSTRUCT(tup))->indisprimary;
	ReleaseSysCache(tup);
	if (!unique)
		return;
	guarded_by(tbl, false, false, false, &m);
	if (m.name == NULL)
		return;
	what = drop ? &GM_drop_unique_index : &GM_index_depends;
	if (m.relayout)
		guard_refuse(&m, tbl, what, quoted_ident(get_rel_name(idx)), drop ?
					 gettext_noop("It would be gone from one layout only: the guarantee would "
								  "hold for the other layout alone, and go or stay with that "
								  "layout at the cleanup or rollback.") :
					 gettext_noop("DROP EXTENSION would drop it on one layout only: the guarantee "
								  "would hold for the other layout alone, and go or stay with "
								  "that layout at the cleanup or rollback."),
					 drop ? gettext_noop("Drop it after the cleanup.") : NULL);
	else if (name_in(get_rel_name(idx), m.constraints) || any_migrated(&m, index_columns(idx, tbl)))
		guard_refuse(&m, tbl, what, quoted_ident(get_rel_name(idx)), drop ?
					 gettext_noop("It covers a column of the migration, which carries its "
								  "guarantee to the new column (or builds the new column's from "
								  "it): the guarantee would be gone for one shape only.") :
					 gettext_noop("It covers a column of the migration, which carries its "
								  "guarantee to the new column (or builds the new column's from "
								  "it): DROP EXTENSION would drop it for one shape only."),
					 drop ? gettext_noop("Drop it after the cleanup.") : NULL);
}

/* ALTER INDEX idx DEPENDS ON EXTENSION: an index step's index, or guard_unique_index. */
static void
guard_index_depends(AlterObjectDependsStmt *stmt)
{
	Oid			idx = named_relation(stmt->relation);

	if (!OidIsValid(idx) || (get_rel_relkind(idx) != RELKIND_INDEX &&
							 get_rel_relkind(idx) != RELKIND_PARTITIONED_INDEX))
		return;
	guard_index_object(idx, &IM_index_depends);
	guard_unique_index(idx, false);
}

/*
 * DROP INDEX: of an index an active index migration creates or drops
 * (guard_index_object), of a unique index (guard_unique_index).
 */
static void
guard_drop_index(Oid idx)
{
	guard_index_object(idx, &IM_drop_index);
	guard_unique_index(idx, true);
}

/*
 * ALTER TRIGGER zz_steward_* ON tbl DEPENDS ON EXTENSION: DROP EXTENSION
 * would then drop the migration's trigger, which DROP TRIGGER may not.
 * ALTER INDEX ... DEPENDS ON EXTENSION: guard_index_depends.
 */
static void
guard_trigger_depends(AlterObjectDependsStmt *stmt)
{
	Oid			rel;
	GuardedBy	m;
	char	   *tgname;

	if (stmt->objectType == OBJECT_INDEX && !stmt->remove)
	{
		guard_index_depends(stmt);
		return;
	}
	if (stmt->objectType != OBJECT_TRIGGER || stmt->remove || stmt->object == NULL ||
		!IsA(stmt->object, List) || list_length((List *) stmt->object) < 1)
		return;
	tgname = strVal(llast((List *) stmt->object));
	if (!migration_trigger(tgname))
		return;
	rel = named_relation(stmt->relation);
	guarded_by(rel, false, false, false, &m);
	if (m.name != NULL)
		guard_refuse(&m, rel, &GM_trigger_depends, quoted_ident(tgname), TRIGGER_DETAIL, NULL);
}

/* The relations and column names a raw query names (CREATE VIEW). */
typedef struct QueryRefs
{
	List	   *rels;			/* RangeVar */
	List	   *cols;			/* last name of each column reference */
	bool		star;			/* a * or t.* */
} QueryRefs;

/* raw_expression_tree_walker callback collecting QueryRefs. */
static bool
collect_query_refs(Node *node, QueryRefs *refs)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeVar))
	{
		refs->rels = lappend(refs->rels, node);
		return false;
	}
	if (IsA(node, ColumnRef))
	{
		Node	   *last = llast(((ColumnRef *) node)->fields);

		if (IsA(last, A_Star))
			refs->star = true;
		else if (IsA(last, String))
			refs->cols = lappend(refs->cols, strVal(last));
		return false;
	}
	return raw_expression_tree_walker(node, collect_query_refs, (void *) refs);
}

/*
 * query_tree_walker callback (QTW_EXAMINE_RTES_BEFORE) for an analysed
 * query: each relation's range table entry, its columns read
 * (selectedCols; a whole-row reference counts as *).
 */
static bool
collect_query_rtes(Node *node, QueryRefs *refs)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;
		int			i = -1;

		if (rte->rtekind != RTE_RELATION)
			return false;
		refs->rels = lappend(refs->rels, rte);
		while ((i = bms_next_member(rte->selectedCols, i)) >= 0)
		{
			AttrNumber	attno = i + FirstLowInvalidHeapAttributeNumber;
			char	   *att = attno > 0 ? get_attname(rte->relid, attno, true) : NULL;

			if (attno == InvalidAttrNumber)
				refs->star = true;
			else if (att != NULL)
				refs->cols = lappend(refs->cols, att);
		}
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, collect_query_rtes, (void *) refs,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, collect_query_rtes, (void *) refs);
}

/*
 * CREATE [MATERIALIZED] VIEW whose query reads a table under migration:
 * refused when the migration could not carry it.  Relayouts: a view on
 * the layout that is not the table -- the new one before complete (a
 * rollback drops it), the old one after (the cleanup drops it) --, a
 * materialized view on either (the cutover redefines plain views only;
 * migration_start refuses one too), or a view on the table by a role
 * that does not own it (the cutover -- complete, or a rollback after it
 * -- redirects the table's views to the other layout as its caller, who
 * must own them, as migration_start checks).  The owner's view on the
 * table passes, before complete and after: the cutover carries it.
 * Column migrations: a view over a migrated column, or over every
 * column (*): after complete it would read the old shape's column under
 * its old name, and cleanup or a rollback could not drop that column
 * while the view uses it (migration_start refuses such views too).
 * Names are matched as written: a column of another table with a
 * migrated column's name counts.
 */
static void
guard_view_query(Node *query, bool matview)
{
	QueryRefs	refs = {NIL, NIL, false};
	ListCell   *lc;
	List	   *relids = NIL;
	bool		switched;

	/* CREATE MATERIALIZED VIEW's query is analysed already: its range table. */
	if (IsA(query, Query))
		query_tree_walker((Query *) query, collect_query_rtes, (void *) &refs,
						  QTW_EXAMINE_RTES_BEFORE);
	else
		collect_query_refs(query, &refs);
	foreach(lc, refs.rels)
		relids = lappend_oid(relids, IsA(lfirst(lc), RangeVar) ?
							 named_relation((RangeVar *) lfirst(lc)) :
							 ((RangeTblEntry *) lfirst(lc))->relid);
	foreach(lc, relids)
	{
		Oid			rel = lfirst_oid(lc);
		GuardedBy	m;

		guarded_by(rel, false, false, false, &m);
		if (m.name == NULL)
			continue;
		switched = m.relayout && m.phase != NULL && strcmp(m.phase, "switched") == 0;
		if (m.relayout && m.ord == 2 && !switched)
			guard_refuse(&m, rel, matview ? &GM_matview_on_layout : &GM_view_on_layout, NULL,
						 gettext_noop("The new layout is the migration's until complete gives it "
									  "the table's name: a rollback drops it, and could not with a "
									  "view on it."),
						 matview ? gettext_noop("Create the materialized view after the cleanup.") :
						 gettext_noop("Create the view on the table: complete redirects the "
									  "table's views to the new layout."));
		else if (m.relayout && m.ord == 1 && switched)
			guard_refuse(&m, rel, matview ? &GM_matview_on_layout : &GM_view_on_layout, NULL,
						 gettext_noop("The old layout is the migration's since complete gave the "
									  "table's name to the new one: the cleanup drops it, and could "
									  "not with a view on it."),
						 matview ? gettext_noop("Create the materialized view after the cleanup.") :
						 gettext_noop("Create the view on the table: a rollback redirects the "
									  "table's views to the old layout."));
		else if (m.relayout && matview)
			guard_refuse(&m, rel, &GM_matview_on_layout, NULL,
						 gettext_noop("The cutover (complete, or a rollback after it) redefines only "
									  "the table's plain views on the other layout: a materialized "
									  "view would stay on the layout the cleanup or a rollback drops, "
									  "and could not with it there."),
						 gettext_noop("Create the materialized view after the cleanup."));
		else if (m.relayout && !has_privs_of_role(GetUserId(), steward_relation_owner(m.table)))
			guard_refuse(&m, rel, &GM_view_other_owner, NULL,
						 switched ?
						 gettext_noop("A rollback redirects the table's views to the old layout as "
									  "its caller, who must own them (the table's owner does).") :
						 gettext_noop("Complete redirects the table's views to the new layout as "
									  "its caller, who must own them (the table's owner does)."),
						 gettext_noop("Let the table's owner create it, or create it after the "
									  "cleanup."));
		else if (!m.relayout && (refs.star || any_migrated(&m, refs.cols)))
			guard_refuse(&m, rel, matview ? &GM_matview_migrated : &GM_view_migrated, NULL,
						 gettext_noop("After complete the view would read the old shape's column "
									  "under its old name, and the cleanup or a rollback could not "
									  "drop that column while the view uses it."),
						 gettext_noop("Name only columns the migration leaves alone, or create "
									  "the view after the cleanup."));
	}
}

/*
 * A foreign key that CREATE TABLE or ALTER TABLE (ADD CONSTRAINT, ADD
 * COLUMN ... REFERENCES) adds from a table owned by owner (InvalidOid:
 * the table the statement names does not exist) to a relayout's table
 * (recheck10 N10).  The cutover (complete, a rollback after it) moves the
 * keys to the application's layout to the other one as its caller, who
 * must own the referencing table (migration_start checks the keys there
 * then): a key from a table whose owner the table's owner cannot act as
 * is refused, as is one to the other layout or to a partition of either
 * (nothing moves those; a rollback or the cleanup drops that layout, and
 * could not with a key on it).  elts: CREATE TABLE's table elements or
 * ALTER TABLE's subcommands.
 */
/*
 * A foreign key (con) to rel referencing a column that a column migration
 * drops at cleanup (the old column of an alter_column that writes a new
 * one, a drop_column's), which keeps its unique index until then: the
 * cleanup's DROP COLUMN would fail on the key (a raw 2BP01 whose HINT said
 * CASCADE), so the key is refused when it is made, with the new column to
 * reference after the cleanup instead.  Likewise a key referencing a new
 * column (an alter_column's that writes one, an add_column's, before or
 * after complete), which a rollback drops: the rollback refused on the
 * key (2BP01, _migration_check_column_users), the next step the key was
 * made to be (guard4's left-alone).  No column list: the primary key's
 * columns.  Reads the migration as guarded_by does (a snapshot taken now,
 * also in a REPEATABLE READ transaction); 55006.
 */
static void
guard_references_dropped(Oid rel, Constraint *con)
{
	GuardedBy	m;
	List	   *names = NIL;
	ListCell   *lc;
	ListCell   *lc2;

	guarded_by(rel, false, false, false, &m);
	if (m.name == NULL || m.relayout || (m.dropped == NIL && m.added == NIL))
		return;
	if (con->pk_attrs != NIL)
	{
		foreach(lc, con->pk_attrs)
			names = lappend(names, strVal(lfirst(lc)));
	}
	else
	{
		Oid			pkoid;
		Bitmapset  *pk = get_primary_key_attnos(rel, false, &pkoid);
		int			i = -1;

		while ((i = bms_next_member(pk, i)) >= 0)
		{
			char	   *att = get_attname(rel, i + FirstLowInvalidHeapAttributeNumber, true);

			if (att != NULL)
				names = lappend(names, att);
		}
	}
	forboth(lc, m.dropped, lc2, m.dropped_new)
	{
		char	   *col = (char *) lfirst(lc);
		char	   *newcol = (char *) lfirst(lc2);

		if (!name_in(col, names))
			continue;
		guard_refuse(&m, rel, &GM_foreign_key_dropped, col,
					 gettext_noop("The cleanup drops that column with its unique index, and could not "
								  "with a foreign key referencing it."),
					 newcol[0] != '\0' ?
					 psprintf(_("Then reference the new column %s (the step's \"unique\": true "
								"gives it a unique index)."),
							  quoted_ident(newcol)) :
					 gettext_noop("Or reference another column: the migration drops this one."));
	}
	foreach(lc, m.added)
	{
		char	   *col = (char *) lfirst(lc);

		if (!name_in(col, names))
			continue;
		guard_refuse(&m, rel, &GM_foreign_key_dropped, col,
					 gettext_noop("The column is the migration's new one until cleanup: a rollback "
								  "drops it, and could not with a foreign key referencing it."),
					 gettext_noop("Add the key after the cleanup, when the column stays."));
	}
}

static void
guard_references(List *elts, Oid owner)
{
	ListCell   *lc;

	foreach(lc, elts)
	{
		Node	   *elt = (Node *) lfirst(lc);
		List	   *cons = NIL;
		ListCell   *lc2;

		if (IsA(elt, AlterTableCmd))
			elt = ((AlterTableCmd *) elt)->def;
		if (elt == NULL)
			continue;
		if (IsA(elt, ColumnDef))
			cons = ((ColumnDef *) elt)->constraints;
		else if (IsA(elt, Constraint))
			cons = list_make1(elt);
		foreach(lc2, cons)
		{
			Constraint *con = (Constraint *) lfirst(lc2);
			Oid			rel;
			GuardedBy	m;
			bool		switched;

			if (!IsA(con, Constraint) || con->contype != CONSTR_FOREIGN)
				continue;
			rel = named_relation(con->pktable);
			guard_references_dropped(rel, con);
			if (!OidIsValid(owner))
				continue;
			guarded_by(rel, false, true, false, &m);
			if (m.name == NULL)
				continue;
			switched = m.phase != NULL && strcmp(m.phase, "switched") == 0;
			if (rel != m.table || m.ord != (switched ? 2 : 1))
				guard_refuse(&m, rel, &GM_foreign_key_layout, NULL,
							 gettext_noop("The cutover moves only the foreign keys to the table itself; "
										  "a rollback or the cleanup drops the other layout, and could "
										  "not with a key on it."),
							 gettext_noop("Reference the table itself, or add the key after the cleanup."));
			if (!has_privs_of_role(steward_relation_owner(m.table), owner))
				guard_refuse(&m, rel, &GM_foreign_key_other_owner, NULL,
							 gettext_noop("The cutover moves the table's foreign keys to the other layout "
										  "as the caller of complete (or of a rollback), who must own the "
										  "referencing table: the table's owner cannot act as this one's."),
							 gettext_noop("Let the table's owner create the key, or add it after the cleanup."));
		}
	}
}

/*
 * The first active column migration (in name order) with a table that
 * is in schema nsp, or has a partition there -- any when nsp is
 * InvalidOid (FOR ALL TABLES) -- as guarded_by sees it (m->name NULL when
 * none).  Read as the catalog's owner.
 */
static void
column_migration_in_schema(Oid nsp, GuardedBy *m)
{
	Oid			catalog = steward_relid("migration_tables", true);
	Oid			runs = steward_relid("migration_runs", true);
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(nsp)};

	memset(m, 0, sizeof(*m));
	if (!OidIsValid(catalog) || !OidIsValid(runs))
		return;
	/* As guarded_by: no relayout, no index steps, no record a restore loaded. */
	guarded_by_table_of(catalog, psprintf(
						"SELECT t.relid::pg_catalog.oid"
						"  FROM steward.migration_tables t"
						"  JOIN steward.migration_runs r ON r.name OPERATOR(pg_catalog.=) t.migration"
						" WHERE t.active AND r.status OPERATOR(pg_catalog.=) 'active' AND NOT %s"
						"   AND NOT coalesce(r.steps OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.?|)"
						"                    ARRAY['create_index', 'drop_index', 'relayout'], false)"
						"   AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
						"                WHERE (c.oid OPERATOR(pg_catalog.=) t.relid"
						"                       OR c.oid IN (SELECT p.relid FROM pg_catalog.pg_partition_tree(t.relid) p))"
						"                  AND ($1 OPERATOR(pg_catalog.=) 0"
						"                       OR c.relnamespace OPERATOR(pg_catalog.=) $1))"
						" ORDER BY t.migration, t.ord LIMIT 1",
						steward_migration_runs_restored(runs)),
						1, argtypes, args, m);
}

/* Refuse (55006) publishing schema nsp (InvalidOid: all tables) in pubname. */
static void
refuse_publish_schema(Oid nsp, const char *pubname)
{
	GuardedBy	m;

	column_migration_in_schema(nsp, &m);
	if (m.name == NULL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 OidIsValid(nsp) ?
			 errmsg("cannot publish the tables in schema %s in publication %s while migration \"%s\" changes %s",
					quoted_ident(get_namespace_name(nsp)), quoted_ident(pubname), m.name,
					quoted_relation(m.table)) :
			 errmsg("cannot publish all tables in publication %s while migration \"%s\" changes %s",
					quoted_ident(pubname), m.name, quoted_relation(m.table)),
			 errdetail("The migration adds columns to the table (_steward_side, the new shape's, the old "
					   "shape's under reserved names after complete) and pins a column list of one shape on "
					   "each publication that names the table; a publication of whole schemas publishes "
					   "every column and takes no column list, and a subscriber whose table lacks a "
					   "published column stops applying changes."),
			 errhint("%s A publication that names the table (FOR TABLE %s) gets from the migration the "
					 "column list of the shape its subscribers have.",
					 guard_next_step(&m), steward_qualified_name(m.table))));
}

/* ADD | SET TABLES IN SCHEMA (or CURRENT_SCHEMA): refuse_publish_schema. */
static void
guard_publish_schema(PublicationObjSpec *obj, const char *pubname)
{
	Oid			nsp;

	if (obj->pubobjtype == PUBLICATIONOBJ_TABLES_IN_CUR_SCHEMA)
	{
		List	   *search_path = fetch_search_path(false);

		if (search_path == NIL)
			return;				/* core refuses: no schema has been selected */
		nsp = linitial_oid(search_path);
	}
	else
		nsp = obj->name != NULL ? get_namespace_oid(obj->name, true) : InvalidOid;
	if (OidIsValid(nsp))
		refuse_publish_schema(nsp, pubname);
}

/*
 * 55006 when the table of obj (ADD | SET TABLE of ALTER PUBLICATION, FOR
 * TABLE of CREATE PUBLICATION) is a layout of a relayout that its cleanup
 * or a rollback drops -- the new one before complete, the old one
 * (_relayout_old) after it -- or a partition of a layout: the drop would
 * empty the publication of it without a word, and subscribers would get
 * changes of an internal table meanwhile (review19 F3).  The layout
 * holding the table's name passes: complete and a rollback move its
 * memberships to the layout taking the name.
 */
static void
guard_publish_layout(PublicationObjSpec *obj)
{
	GuardedBy	m;
	Oid			rel;
	bool		switched;

	if (obj->pubobjtype != PUBLICATIONOBJ_TABLE || obj->pubtable == NULL)
		return;
	rel = named_relation(obj->pubtable->relation);
	guarded_by(rel, false, true, false, &m);
	if (m.name == NULL)
		return;
	switched = m.phase != NULL && strcmp(m.phase, "switched") == 0;
	if (rel == m.table && m.ord != (switched ? 1 : 2))
		return;
	guard_refuse(&m, rel, &GM_publish, NULL,
				 rel != m.table ?
				 gettext_noop("The cleanup drops the table's old layout and a rollback its new one, "
							  "with their partitions, and the publication would lose the partition "
							  "without a word; complete and a rollback move the table's own "
							  "memberships to the layout taking its name.") :
				 switched ?
				 gettext_noop("The cleanup drops the old layout, and the publication would lose it "
							  "without a word; complete moved the table's publications to the new "
							  "layout, which has the table's name.") :
				 gettext_noop("The new layout is the migration's until complete gives it "
							  "the table's name; complete moves the table's publications "
							  "to it."),
				 gettext_noop("Add the table itself to the publication."));
}

/*
 * The objects a CREATE or ALTER PUBLICATION pubname names: each TABLES IN
 * SCHEMA element by guard_publish_schema, each by guard_publish_layout.
 */
static void
guard_publication_objects(List *pubobjects, const char *pubname)
{
	ListCell   *lc;

	foreach(lc, pubobjects)
	{
		PublicationObjSpec *obj = (PublicationObjSpec *) lfirst(lc);

		if (obj->pubobjtype == PUBLICATIONOBJ_TABLES_IN_SCHEMA ||
			obj->pubobjtype == PUBLICATIONOBJ_TABLES_IN_CUR_SCHEMA)
			guard_publish_schema(obj, pubname);
		guard_publish_layout(obj);
	}
}

/* CREATE PUBLICATION ... FOR ALL TABLES | FOR TABLES IN SCHEMA | FOR TABLE. */
static void
guard_create_publication(CreatePublicationStmt *stmt)
{
	if (stmt->for_all_tables)
		refuse_publish_schema(InvalidOid, stmt->pubname);
	guard_publication_objects(stmt->pubobjects, stmt->pubname);
}

/*
 * ALTER PUBLICATION ... ADD | SET TABLE of a layout the cleanup or a
 * rollback drops (or a partition of a layout): guard_publish_layout.
 * Column migrations carry a published table's column lists themselves,
 * but a publication of whole schemas takes no column list: ADD | SET
 * TABLES IN SCHEMA of a schema holding a table under a column migration
 * (or a partition of one) is refused (guard_publish_schema), as CREATE
 * PUBLICATION ... FOR TABLES IN SCHEMA and FOR ALL TABLES are
 * (guard_create_publication).
 */
static void
guard_alter_publication(AlterPublicationStmt *stmt)
{
	/* complete's own moves (_relayout_move_publications) run as its caller */
	if (stmt->action == AP_DropObjects || steward_migrate_called_from_own_code())
		return;
	guard_publication_objects(stmt->pubobjects, stmt->pubname);
}

/*
 * A plain index over a column that column migration m drops at cleanup
 * (the old column of an alter_column that writes a new one, a
 * drop_column's) goes with that column (recheck10 N5): a NOTICE says so
 * when it is created, as migration_start says it of the indexes there
 * already, with the concurrent build over the new column that keeps it.
 * Columns, expressions, INCLUDE and WHERE count.
 */
static void
notice_dropped_index(const GuardedBy *m, Oid rel, IndexStmt *stmt)
{
	List	   *names = index_elem_columns(stmt->indexParams);
	ListCell   *lc;
	ListCell   *lc2;

	names = list_concat(names, index_elem_columns(stmt->indexIncludingParams));
	collect_column_refs(stmt->whereClause, &names);
	forboth(lc, m->dropped, lc2, m->dropped_new)
	{
		char	   *col = (char *) lfirst(lc);
		char	   *newcol = (char *) lfirst(lc2);

		if (!name_in(col, names))
			continue;
		ereport(NOTICE,
				(errmsg("index %s over column \"%s\" of relation %s goes at the cleanup of migration \"%s\"",
						stmt->idxname != NULL ? quoted_ident(stmt->idxname) : "(unnamed)",
						col, quoted_relation(rel), m->name),
				 errdetail("The cleanup drops the column, and every index over it with it."),
				 newcol[0] != '\0' ?
				 errhint("Build it over the new column %s with CREATE INDEX CONCURRENTLY before "
						 "complete: that one follows the column through the switch.",
						 quoted_ident(newcol)) : 0));
		return;
	}
}

/*
 * CREATE UNIQUE INDEX (or an exclusion or primary key index) on a layout
 * or a partition of one, or over a column of a column migration: the
 * guarantee would hold on one layout or shape only.  Plain indexes pass:
 * they cost the other layout nothing and only speed (one on the layout
 * that goes is dropped with it).  Nothing for a caller without the
 * rights of the table's owner (core's 42501 follows).
 */
static void
guard_index(IndexStmt *stmt)
{
	Oid			rel;
	GuardedBy	m;

	rel = named_relation(stmt->relation);
	/*
	 * Only when the caller may make it: core refuses another role's index
	 * (42501) after this, with no NOTICE of ours first.
	 */
	if (!OidIsValid(rel) || !has_privs_of_role(GetUserId(), rel_owner(rel)))
		return;
	guarded_by(rel, false, false, false, &m);
	if (m.name == NULL)
		return;
	if (!stmt->unique && !stmt->primary && stmt->excludeOpNames == NIL)
	{
		if (!m.relayout)
			notice_dropped_index(&m, rel, stmt);
		return;
	}
	if (m.relayout)
		guard_refuse(&m, rel, &GM_unique_index, NULL, NULL,
					 gettext_noop("A plain index may be created meanwhile."));
	else
	{
		List	   *names = index_elem_columns(stmt->indexParams);

		/* INCLUDE columns too: DROP COLUMN at cleanup drops the index. */
		names = list_concat(names, index_elem_columns(stmt->indexIncludingParams));
		collect_column_refs(stmt->whereClause, &names);
		if (any_migrated(&m, names))
			guard_refuse(&m, rel, &GM_unique_index_migrated, NULL,
						 gettext_noop("The migration drops the old columns at cleanup: the "
									  "guarantee would vanish with them, or hold for one shape "
									  "only."),
						 gettext_noop("Give the step its own \"unique\" key, or create the index "
									  "on the new column after the cleanup."));
	}
}

/*
 * Take, before the catalog is read, the lock the statement takes first on
 * the relation it names, in the same mode (no lock upgrade), when the
 * caller owns it (a role that may not change the table must not queue a
 * lock on it: core checks first too).  A migration_start holding ACCESS
 * EXCLUSIVE on the table until it commits then makes the statement wait
 * here, and guarded_by's read after the wait (a new snapshot) sees the
 * migration; the other way round, start waits for the statement's
 * transaction.  Before, a statement that passed the guard while start was
 * uncommitted went through after start's commit.  The statements: ALTER
 * TABLE, RENAME, SET SCHEMA, DROP TABLE, CREATE TRIGGER, CREATE INDEX,
 * DROP INDEX (its table), CREATE RULE, CREATE POLICY, CREATE [FOREIGN]
 * TABLE ... INHERITS (each parent), ALTER PUBLICATION ... ADD | SET and
 * CREATE PUBLICATION ... FOR TABLE (each table) and CREATE VIEW (each relation its query names, ACCESS SHARE
 * whoever the caller is, as its parse analysis; recheck10 N11); CREATE
 * MATERIALIZED VIEW's query was analysed, and its relations locked,
 * before the guard runs.  Under REPEATABLE READ
 * or SERIALIZABLE the transaction's snapshot cannot see start's commit:
 * validate's "layouts" check names the columns that then differ.
 */
static void
lock_named_first(Node *parsetree)
{
	List	   *rels = NIL;
	LOCKMODE	mode = AccessExclusiveLock;
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			rels = list_make1_oid(named_relation(((AlterTableStmt *) parsetree)->relation));
			mode = AlterTableGetLockLevel(((AlterTableStmt *) parsetree)->cmds);
			break;
		case T_RenameStmt:
			{
				RenameStmt *stmt = (RenameStmt *) parsetree;

				if (relation_object(stmt->renameType) || stmt->renameType == OBJECT_COLUMN ||
					stmt->renameType == OBJECT_ATTRIBUTE ||
					stmt->renameType == OBJECT_TABCONSTRAINT || stmt->renameType == OBJECT_TRIGGER)
					rels = list_make1_oid(named_relation(stmt->relation));
				break;
			}
		case T_AlterObjectSchemaStmt:
			if (relation_object(((AlterObjectSchemaStmt *) parsetree)->objectType))
				rels = list_make1_oid(named_relation(((AlterObjectSchemaStmt *) parsetree)->relation));
			break;
		case T_DropStmt:
			if (((DropStmt *) parsetree)->removeType == OBJECT_TABLE)
				foreach(lc, ((DropStmt *) parsetree)->objects)
					rels = lappend_oid(rels, RangeVarGetRelid(makeRangeVarFromNameList((List *) lfirst(lc)),
															  NoLock, true));
			else if (((DropStmt *) parsetree)->removeType == OBJECT_INDEX)
			{
				/* DROP INDEX locks the index's table first (RemoveRelations). */
				foreach(lc, ((DropStmt *) parsetree)->objects)
				{
					Oid			idx = RangeVarGetRelid(makeRangeVarFromNameList((List *) lfirst(lc)),
													   NoLock, true);

					if (OidIsValid(idx) && (get_rel_relkind(idx) == RELKIND_INDEX ||
											get_rel_relkind(idx) == RELKIND_PARTITIONED_INDEX))
						rels = lappend_oid(rels, IndexGetRelation(idx, true));
				}
				if (((DropStmt *) parsetree)->concurrent)
					mode = ShareUpdateExclusiveLock;
			}
			break;
		case T_CreateTrigStmt:
			rels = list_make1_oid(named_relation(((CreateTrigStmt *) parsetree)->relation));
			mode = ShareRowExclusiveLock;
			break;
		case T_IndexStmt:
			rels = list_make1_oid(named_relation(((IndexStmt *) parsetree)->relation));
			mode = ((IndexStmt *) parsetree)->concurrent ? ShareUpdateExclusiveLock : ShareLock;
			break;
		case T_RuleStmt:
			rels = list_make1_oid(named_relation(((RuleStmt *) parsetree)->relation));
			break;
		case T_CreatePolicyStmt:
			rels = list_make1_oid(named_relation(((CreatePolicyStmt *) parsetree)->table));
			break;
		case T_CreateStmt:
		case T_CreateForeignTableStmt:
			{
				CreateStmt *stmt = (CreateStmt *) parsetree;	/* a CreateForeignTableStmt begins with one */

				/* DefineRelation: each parent of INHERITS (PARTITION OF passes the guard). */
				if (stmt->partbound != NULL)
					return;
				foreach(lc, stmt->inhRelations)
					rels = lappend_oid(rels, named_relation((RangeVar *) lfirst(lc)));
				mode = ShareUpdateExclusiveLock;
				break;
			}
		case T_AlterPublicationStmt:
		case T_CreatePublicationStmt:
			if (IsA(parsetree, AlterPublicationStmt) &&
				((AlterPublicationStmt *) parsetree)->action == AP_DropObjects)
				return;
			foreach(lc, IsA(parsetree, AlterPublicationStmt) ?
					((AlterPublicationStmt *) parsetree)->pubobjects :
					((CreatePublicationStmt *) parsetree)->pubobjects)
			{
				PublicationObjSpec *obj = (PublicationObjSpec *) lfirst(lc);

				if (obj->pubobjtype == PUBLICATIONOBJ_TABLE && obj->pubtable != NULL)
					rels = lappend_oid(rels, named_relation(obj->pubtable->relation));
			}
			mode = ShareUpdateExclusiveLock;
			break;
		case T_ViewStmt:
			{
				QueryRefs	refs = {NIL, NIL, false};

				/*
				 * Parse analysis of the view's query takes ACCESS SHARE on
				 * every relation it reads, whoever runs it (and the guard
				 * judges views by other roles too): the same lock, for
				 * anyone.
				 */
				collect_query_refs(((ViewStmt *) parsetree)->query, &refs);
				foreach(lc, refs.rels)
				{
					Oid			rel = named_relation((RangeVar *) lfirst(lc));

					if (OidIsValid(rel))
						LockRelationOid(rel, AccessShareLock);
				}
				return;
			}
		default:
			return;
	}
	foreach(lc, rels)
	{
		Oid			rel = lfirst_oid(lc);

		if (OidIsValid(rel) && pg_class_ownercheck(rel, GetUserId()))
			LockRelationOid(rel, mode);
	}
}

/* A CREATE SCHEMA's name and the relations its elements make. */
typedef struct SchemaEltNames
{
	const char *schema;			/* the schema CREATE SCHEMA makes */
	List	   *created;		/* names (char *) of the relations it makes */
} SchemaEltNames;

/*
 * raw_expression_tree_walker callback over a copy of a CREATE SCHEMA
 * element: an unqualified RangeVar naming a relation that one of the
 * statement's elements creates gets the new schema's name, as core
 * resolves it (CreateSchemaCommand puts the new schema first in the search
 * path); the others resolve as the statement will resolve them.
 */
static bool
qualify_schema_names(Node *node, SchemaEltNames *names)
{
	ListCell   *lc;

	if (node == NULL)
		return false;
	if (IsA(node, RangeVar))
	{
		RangeVar   *rv = (RangeVar *) node;

		if (rv->schemaname == NULL && rv->catalogname == NULL)
			foreach(lc, names->created)
				if (strcmp((char *) lfirst(lc), rv->relname) == 0)
					rv->schemaname = pstrdup(names->schema);
		return false;
	}
	return raw_expression_tree_walker(node, qualify_schema_names, (void *) names);
}

/* The foreign keys' referenced tables of a CREATE TABLE's elements. */
static void
qualify_schema_references(List *elts, SchemaEltNames *names)
{
	ListCell   *lc;
	ListCell   *lc2;

	foreach(lc, elts)
	{
		Node	   *elt = (Node *) lfirst(lc);
		List	   *cons = NIL;

		if (IsA(elt, ColumnDef))
			cons = ((ColumnDef *) elt)->constraints;
		else if (IsA(elt, Constraint))
			cons = list_make1(elt);
		foreach(lc2, cons)
			if (IsA(lfirst(lc2), Constraint) && ((Constraint *) lfirst(lc2))->pktable != NULL)
				qualify_schema_names((Node *) ((Constraint *) lfirst(lc2))->pktable, names);
	}
}

/*
 * The elements of a CREATE SCHEMA that the DDL guard judges as the
 * statements they are (review16 R16-6): CREATE TABLE (INHERITS,
 * REFERENCES; PARTITION OF passes, as alone) and CREATE VIEW (what it
 * reads), copied, their names qualified as core will resolve them
 * (qualify_schema_names).  Core runs them as subcommands, which fire no
 * ddl_command_start of their own.  The other elements (CREATE INDEX,
 * SEQUENCE, TRIGGER on the schema's own tables, GRANT) act on objects of
 * the new schema only, which no migration has.
 */
static List *
schema_elements(CreateSchemaStmt *stmt)
{
	SchemaEltNames names;
	List	   *elts = NIL;
	ListCell   *lc;

	names.schema = stmt->schemaname;
	if (names.schema == NULL && stmt->authrole != NULL)
		names.schema = get_rolespec_name(stmt->authrole);
	names.created = NIL;
	if (names.schema == NULL)
		return NIL;
	foreach(lc, stmt->schemaElts)
	{
		Node	   *elt = (Node *) lfirst(lc);

		if (IsA(elt, CreateStmt))
			names.created = lappend(names.created, ((CreateStmt *) elt)->relation->relname);
		else if (IsA(elt, ViewStmt))
			names.created = lappend(names.created, ((ViewStmt *) elt)->view->relname);
		else if (IsA(elt, CreateSeqStmt))
			names.created = lappend(names.created, ((CreateSeqStmt *) elt)->sequence->relname);
	}
	foreach(lc, stmt->schemaElts)
	{
		Node	   *elt = (Node *) lfirst(lc);

		if (IsA(elt, CreateStmt))
		{
			CreateStmt *create = copyObject((CreateStmt *) elt);
			ListCell   *lc2;

			if (create->relation->schemaname == NULL)
				create->relation->schemaname = pstrdup(names.schema);
			foreach(lc2, create->inhRelations)
				qualify_schema_names((Node *) lfirst(lc2), &names);
			qualify_schema_references(create->tableElts, &names);
			elts = lappend(elts, create);
		}
		else if (IsA(elt, ViewStmt))
		{
			ViewStmt   *view = copyObject((ViewStmt *) elt);

			if (view->view->schemaname == NULL)
				view->view->schemaname = pstrdup(names.schema);
			qualify_schema_names(view->query, &names);
			elts = lappend(elts, view);
		}
	}
	return elts;
}

/*
 * CREATE SCHEMA: its CREATE TABLE and CREATE VIEW elements judged as those
 * statements alone are (schema_elements), each element's first lock
 * taken before any is judged.
 */
static void
guard_schema_elements(CreateSchemaStmt *stmt)
{
	/* Its elements' objects are the schema's owner's (CreateSchemaCommand). */
	Oid			owner = stmt->authrole != NULL ? get_rolespec_oid(stmt->authrole, true) : GetUserId();
	List	   *elts = schema_elements(stmt);
	ListCell   *lc;

	foreach(lc, elts)
		lock_named_first((Node *) lfirst(lc));
	foreach(lc, elts)
	{
		Node	   *elt = (Node *) lfirst(lc);

		if (IsA(elt, CreateStmt))
		{
			guard_inherits((CreateStmt *) elt);
			guard_references(((CreateStmt *) elt)->tableElts,
							 OidIsValid(owner) ? owner : GetUserId());
		}
		else if (IsA(elt, ViewStmt))
			guard_view_query(((ViewStmt *) elt)->query, false);
	}
}

/*
 * steward._relayout_guard_ddl(): event trigger on ddl_command_start
 * (steward_relayout_guard).  While a migration changes a table -- a
 * relayout keeping two layouts equal, or a column migration keeping two
 * shapes -- refuses (55006, naming the migration, HINT complete and clean
 * up, or roll back, first) the DDL that would change one layout or shape
 * only, make the migration lose rows, or leave it unable to finish:
 *
 *	relayouts (either layout, or a partition of one): ALTER TABLE but for
 *	storage, statistics and planner settings, VALIDATE CONSTRAINT, replica
 *	identity; RENAME and SET SCHEMA of a layout (a partition may be
 *	renamed or moved); DROP TABLE of a layout or partition; ATTACH /
 *	DETACH PARTITION; CREATE TABLE ... INHERITS; CREATE TRIGGER, RULE,
 *	POLICY; CREATE UNIQUE (or exclusion) INDEX, DROP INDEX and ALTER INDEX
 *	... DEPENDS ON EXTENSION of one (codereview F4: validate compares the
 *	layouts' columns, not their indexes).  CREATE TABLE ... PARTITION OF
 *	and plain indexes pass.
 *	column migrations (the table, or a partition of it): ADD, DROP, RENAME,
 *	ALTER TYPE of any column; defaults, NOT NULL, identity of a migrated
 *	column; constraints and unique indexes over one, and changes to the
 *	constraints the migration carries (and DROP INDEX or DEPENDS ON
 *	EXTENSION of a unique index over one, or of the one it builds); RENAME and SET SCHEMA of the table; OWNER TO;
 *	INHERITS; REPLICA IDENTITY that the column list the migration pins on
 *	a publication would not cover.  DROP TABLE passes: the migration ends
 *	as dropped.  RENAME, SET SCHEMA, CREATE OR REPLACE and DROP VIEW of
 *	the shapes' views, and their OWNER TO, RESET (security_invoker) and
 *	the defaults of their migrated columns (guard_shape_view_alter).
 *	ALTER SCHEMA ... RENAME of a schema holding a layout, or RENAME,
 *	OWNER TO and DROP SCHEMA of a column migration's shape schemas.
 *	both: DROP, RENAME, DISABLE, ENABLE [ORIGIN] or ENABLE REPLICA (only
 *	ENABLE ALWAYS keeps them firing for a subscriber's apply, recheck10
 *	N9), DEPENDS ON EXTENSION of the migration's own triggers
 *	(zz_steward_*), and CREATE [OR REPLACE] TRIGGER of a trigger so named;
 *	on a column migration's table, CREATE [OR REPLACE] TRIGGER and ALTER
 *	TRIGGER ... RENAME of a BEFORE ROW trigger on INSERT or UPDATE whose
 *	name sorts after zz_steward_migration (guard_trigger_after_dual_write).
 *	index migrations (create_index, drop_index), until the cleanup: DROP
 *	INDEX, RENAME and DEPENDS ON EXTENSION of a step's index; RENAME and
 *	SET SCHEMA of the
 *	table; DROP, RENAME, ALTER TYPE of a column the index covers
 *	(guard_index_steps).  The index worker's statements pass.
 *	views, publications: CREATE [MATERIALIZED] VIEW on a new layout, on a
 *	layout by another role, or over a column migration's migrated column;
 *	ALTER PUBLICATION ADD | SET of a new layout (guard_view_query,
 *	guard_alter_publication); ADD | SET TABLES IN SCHEMA, CREATE
 *	PUBLICATION ... FOR TABLES IN SCHEMA | FOR ALL TABLES while a column
 *	migration has a table there (guard_publish_schema).  CREATE STATISTICS passes: a relayout gives
 *	the statistics objects of the table a twin at the cutover, a column
 *	migration drops those over the old column at cleanup, as start notes.
 *
 * The CREATE TABLE and CREATE VIEW elements of a CREATE SCHEMA are judged
 * as those statements (schema_elements; review16 R16-6).
 * Statements are judged by the relation their name resolves to, whatever
 * keyword names it: ALTER INDEX tbl RENAME TO is a rename of the table,
 * ALTER VIEW | MATERIALIZED VIEW | FOREIGN TABLE tbl RENAME COLUMN and
 * ALTER TYPE tbl RENAME ATTRIBUTE rename a column of it, ALTER FOREIGN
 * TABLE and CREATE FOREIGN TABLE ... INHERITS are ALTER TABLE and CREATE
 * TABLE ... INHERITS (the event trigger's tags list all these keywords).
 *
 * TRUNCATE fires no event trigger: the statement trigger
 * zz_steward_relayout_truncate on every table of both layouts refuses it.
 * The migration's own statements (steward._migration_exec called by
 * pg_steward's own code, not directly; not DDL that user code run by such
 * a statement issues, as an up expression in a backfill batch:
 * steward_migration_running_own_sql) pass, and the tables of a
 * migration whose record a restore loaded (migration_runs.restored)
 * meet only the partition checks until its next step.
 * Names are resolved from the parse tree; the statement's lock on the
 * table it names is taken first (lock_named_first), then the catalog is
 * read as its owner in a snapshot taken now (steward_spi_read_latest):
 * a statement that arrives while migration_start is uncommitted waits
 * for it and is judged with its record, whatever the isolation level
 * (a REPEATABLE READ transaction's own snapshot would not show it,
 * review13 R13-6).  A superuser can
 * still go around the guard (ALTER EVENT TRIGGER ... DISABLE, DROP SCHEMA
 * ... CASCADE): migration_validate then reports the layouts' differences,
 * and rollback and cleanup finish without a layout that is gone.
 */
Datum
steward_relayout_guard_ddl(PG_FUNCTION_ARGS)
{
	Node	   *parsetree;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._relayout_guard_ddl() must be called as an event trigger")));
	parsetree = ((EventTriggerData *) fcinfo->context)->parsetree;
	if (steward_migration_running_own_sql())
		PG_RETURN_VOID();

	/* pg_upgrade's schema restore: the catalog's rows come with the files. */
	if (IsBinaryUpgrade)
		PG_RETURN_VOID();
	lock_named_first(parsetree);

	/*
	 * A restore rebuilds both layouts or shapes as the dump has them,
	 * constraints, indexes and the migration's triggers after the
	 * catalog's rows: a record it loaded is marked restored (by who wrote
	 * it, not by the session's settings: check_function_bodies, which
	 * pg_dump's scripts set off, any session may set), and its
	 * migration's tables meet only the partition checks until its next
	 * step (guarded_by).
	 */

	switch (nodeTag(parsetree))
	{
		case T_AlterTableStmt:
			/* ALTER TABLE, ALTER FOREIGN TABLE, ...: the relation decides. */
			guard_alter_table((AlterTableStmt *) parsetree);
			{
				Oid			rel = named_relation(((AlterTableStmt *) parsetree)->relation);

				guard_references(((AlterTableStmt *) parsetree)->cmds,
								 OidIsValid(rel) ? steward_relation_owner(rel) : InvalidOid);
			}
			break;
		case T_RenameStmt:
			guard_rename((RenameStmt *) parsetree);
			break;
		case T_AlterObjectSchemaStmt:
			guard_set_schema((AlterObjectSchemaStmt *) parsetree);
			break;
		case T_DropStmt:
			if (((DropStmt *) parsetree)->removeType == OBJECT_TABLE ||
				((DropStmt *) parsetree)->removeType == OBJECT_FOREIGN_TABLE)
				guard_drop((DropStmt *) parsetree);
			else if (((DropStmt *) parsetree)->removeType == OBJECT_TRIGGER)
				guard_drop_trigger((DropStmt *) parsetree);
			else if (((DropStmt *) parsetree)->removeType == OBJECT_INDEX)
			{
				guard_drop_each((DropStmt *) parsetree, guard_drop_index);
			}
			else if (((DropStmt *) parsetree)->removeType == OBJECT_VIEW)
				guard_drop_each((DropStmt *) parsetree, guard_drop_view);
			else if (((DropStmt *) parsetree)->removeType == OBJECT_SCHEMA)
			{
				ListCell   *lc;

				foreach(lc, ((DropStmt *) parsetree)->objects)
					guard_schema(strVal(lfirst(lc)), SCHEMA_DROP);
			}
			break;
		case T_CreateStmt:
			guard_inherits((CreateStmt *) parsetree);
			guard_references(((CreateStmt *) parsetree)->tableElts, GetUserId());
			break;
		case T_CreateSchemaStmt:
			guard_schema_elements((CreateSchemaStmt *) parsetree);
			break;
		case T_CreateForeignTableStmt:
			guard_inherits(&((CreateForeignTableStmt *) parsetree)->base);
			break;
		case T_CreateTrigStmt:
			guard_create_trigger((CreateTrigStmt *) parsetree);
			break;
		case T_AlterObjectDependsStmt:
			guard_trigger_depends((AlterObjectDependsStmt *) parsetree);
			break;
		case T_RuleStmt:
			guard_create_rule((RuleStmt *) parsetree);
			break;
		case T_CreatePolicyStmt:
			guard_create_on(((CreatePolicyStmt *) parsetree)->table, &GM_create_policy);
			break;
		case T_IndexStmt:
			guard_index((IndexStmt *) parsetree);
			guard_index_concurrently((IndexStmt *) parsetree);
			break;
		case T_ViewStmt:
			guard_replace_view((ViewStmt *) parsetree);
			guard_view_query(((ViewStmt *) parsetree)->query, false);
			break;
		case T_CreateTableAsStmt:
			if (((CreateTableAsStmt *) parsetree)->objtype == OBJECT_MATVIEW)
				guard_view_query(((CreateTableAsStmt *) parsetree)->query, true);
			break;
		case T_AlterPublicationStmt:
			guard_alter_publication((AlterPublicationStmt *) parsetree);
			break;
		case T_CreatePublicationStmt:
			guard_create_publication((CreatePublicationStmt *) parsetree);
			break;
		case T_AlterOwnerStmt:
			if (((AlterOwnerStmt *) parsetree)->objectType == OBJECT_SCHEMA)
				guard_schema(strVal(((AlterOwnerStmt *) parsetree)->object), SCHEMA_OWNER);
			break;
		default:
			break;
	}
	PG_RETURN_VOID();
}

/*
 * What an index expression or predicate names (collected by
 * index_types_walker): every node's result type (a cast to it, a ROW() of
 * it, a constant of it), and the values of its OID-alias constants that
 * record a dependency as find_expr_references does (regclass, regtype,
 * regnamespace: review17 R17-1; a numeric literal needs no privilege).
 */
typedef struct IndexNames
{
	List	   *types;
	List	   *relations;
	List	   *namespaces;
} IndexNames;

static bool
index_types_walker(Node *node, IndexNames *names)
{
	if (node == NULL)
		return false;
	if (IsA(node, List))
		return expression_tree_walker(node, index_types_walker, (void *) names);
	names->types = list_append_unique_oid(names->types, exprType(node));
	if (IsA(node, Const) && !((Const *) node)->constisnull)
	{
		Const	   *c = (Const *) node;
		Oid			value = DatumGetObjectId(c->constvalue);

		if (c->consttype == REGCLASSOID)
			names->relations = list_append_unique_oid(names->relations, value);
		else if (c->consttype == REGTYPEOID)
			names->types = list_append_unique_oid(names->types, value);
		else if (c->consttype == REGNAMESPACEOID)
			names->namespaces = list_append_unique_oid(names->namespaces, value);
	}
	return expression_tree_walker(node, index_types_walker, (void *) names);
}

/*
 * 55006 naming what (an object, or "index x on t") that would depend on
 * index idx when an active create_index step builds it (a rollback drops
 * it) or a drop_index step drops it at cleanup (review17 R17-4): read
 * only when the index's table is an active migration's.
 */
static void
refuse_index_step_user(const char *what, Oid idx)
{
	Oid			table = IndexGetRelation(idx, true);
	char	   *name = get_rel_name(idx);
	ListCell   *lc;

	if (!OidIsValid(table) || name == NULL || !active_migration_table(table))
		return;
	foreach(lc, index_steps_on(table))
	{
		IndexStep  *step = lfirst(lc);
		const char *q = quote_literal_cstr(step->migration);

		if (strcmp(step->index_name, name) != 0)
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg(step->create ?
						"%s would depend on index %s, which migration \"%s\" creates" :
						"%s would depend on index %s, which migration \"%s\" drops",
						what, quoted_relation(idx), step->migration),
				 errdetail(step->create ?
						   "A rollback of the migration drops the index, and could not drop it while another object depends on it (its owner may be a role the table's owner cannot act as)." :
						   "The migration's cleanup drops the index, and could not drop it while another object depends on it (its owner may be a role the table's owner cannot act as)."),
				 errhint("Make it after SELECT steward.migration_cleanup(%s); or a rollback (SELECT steward.migration_rollback(%s);).",
						 q, q)));
	}
}

/*
 * The relayout relid is a layout of, or a partition of one, as guarded_by
 * reads it (m->name NULL when none): one index probe of the migrations'
 * catalog in a snapshot taken now, guarded_by's read only for a table of
 * an active migration or a partition.
 */
static void
relayout_of(Oid relid, GuardedBy *m)
{
	memset(m, 0, sizeof(*m));
	if (!OidIsValid(relid) || !get_rel_relkind(relid) ||
		(!active_migration_table(relid) && !get_rel_relispartition(relid)))
		return;
	guarded_by(relid, false, true, false, m);
	if (!m->relayout)
		m->name = NULL;
}

/*
 * 55006 naming what (an object, or "index x on t") that would depend on
 * relid, a layout of relayout m (or a partition or the row type of one):
 * the cleanup drops the old layout and a rollback the new one, RESTRICT.
 */
static void
refuse_relayout_user(const char *what, Oid relid, const GuardedBy *m)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 errmsg("%s would depend on relation %s, which migration \"%s\" drops at its cleanup or a rollback",
					what, quoted_relation(relid), m->name),
			 errdetail("The cleanup drops the table's old layout and a rollback its new one, and could not drop one another object depends on (its owner may be a role the table's owner cannot act as)."),
			 errhint("%s Then make it over the table.", guard_next_step(m))));
}

/*
 * 55006 when the index of stmt -- analysed already (transformIndexStmt)
 * -- on relid would use the row type, or its array type, of a view of an
 * active column migration's shapes in an expression or its predicate, or
 * name such a view, its type or a shapes' schema, or a layout of an
 * active relayout (its partitions and row type too), in an OID-alias
 * constant (review17 R17-1, R17-4): the view's, schema's or layout's
 * RESTRICT drop at cleanup or rollback would then need the index gone,
 * and its owner may be a role the table's owner cannot act as.  For
 * CREATE INDEX CONCURRENTLY at ddl_command_start and for a create_index
 * step at migration_start (steward._migration_index_check), whose rows in
 * pg_depend are written in an earlier transaction than the
 * ddl_command_end the shape guard judges in (closing35 item 1).  Reads
 * the migrations' catalog in a snapshot taken now; takes no lock beyond
 * AccessShareLock on it and its runs.
 */
void
steward_migration_refuse_index_shapes(Oid relid, IndexStmt *stmt)
{
	IndexNames	names = {NIL, NIL, NIL};
	ListCell   *lc;
	const char *idx = stmt->idxname != NULL ? quoted_ident(stmt->idxname) : "(unnamed)";

	foreach(lc, stmt->indexParams)
		index_types_walker(lfirst_node(IndexElem, lc)->expr, &names);
	index_types_walker(stmt->whereClause, &names);
	foreach(lc, names.types)
	{
		Oid			type = lfirst_oid(lc);
		Oid			elem = get_element_type(type);
		Oid			typrel = get_typ_typrelid(OidIsValid(elem) ? elem : type);

		if (OidIsValid(typrel) && get_rel_relkind(typrel) != RELKIND_VIEW)
			names.relations = list_append_unique_oid(names.relations, typrel);
		else if (OidIsValid(typrel))
		{
			GuardedBy	m;

			shape_view_of(typrel, &m);
			if (m.name == NULL || m.relayout)
				continue;
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("cannot create index %s on %s over the row type of view %s, a shape of migration \"%s\"",
							idx, quoted_relation(relid), quoted_relation(typrel), m.name),
					 errdetail("The cleanup and a rollback drop the views of the shapes of %s, and could not while an index uses the row type of one.",
							   quoted_relation(m.table)),
					 errhint("%s Then make it over the row type of the table %s.",
							 guard_next_step(&m), quoted_relation(m.table))));
		}
	}
	foreach(lc, names.relations)
	{
		Oid			named = lfirst_oid(lc);
		GuardedBy	m;

		if (named == relid)
			continue;			/* its own table: the index goes with it */
		if (get_rel_relkind(named) == RELKIND_INDEX ||
			get_rel_relkind(named) == RELKIND_PARTITIONED_INDEX)
		{
			const char *what = psprintf("index %s on %s", idx, quoted_relation(relid));

			refuse_index_step_user(what, named);
			/* an index of a layout goes with it */
			relayout_of(IndexGetRelation(named, true), &m);
			if (m.name != NULL)
				refuse_relayout_user(what, named, &m);
			continue;
		}
		if (get_rel_relkind(named) == RELKIND_VIEW)
		{
			shape_view_of(named, &m);
			if (m.name != NULL && !m.relayout)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_IN_USE),
						 errmsg("cannot create index %s on %s naming view %s, a shape of migration \"%s\"",
								idx, quoted_relation(relid), quoted_relation(named), m.name),
						 errdetail("The cleanup and a rollback drop the views of the shapes of %s, and could not while an index depends on one (a regclass constant records a dependency).",
								   quoted_relation(m.table)),
						 errhint("%s Then make it over the table %s.",
								 guard_next_step(&m), quoted_relation(m.table))));
			continue;
		}
		relayout_of(named, &m);
		if (m.name != NULL)
			refuse_relayout_user(psprintf("index %s on %s", idx, quoted_relation(relid)), named, &m);
	}
	foreach(lc, names.namespaces)
	{
		Oid			nsp = lfirst_oid(lc);
		const char *migration = steward_migration_shapes_schema(nsp);

		if (migration != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("cannot create index %s on %s naming schema \"%s\" of migration \"%s\"",
							idx, quoted_relation(relid), get_namespace_name(nsp), migration),
					 errdetail("The cleanup and a rollback drop the schemas of the migration's shapes, and could not while an index depends on one (a regnamespace constant records a dependency)."),
					 errhint("Make it after the migration's cleanup or rollback.")));
	}
}

/*
 * The relation rv names when the caller owns it, locked in mode, else
 * InvalidOid (nothing locked: a role that may not change the table must
 * not queue a lock on it).  Resolved again after the lock until the name
 * stays on the relation locked, as core's RangeVarGetRelidExtended does:
 * lock_named_first locked what the name meant before it waited, and a
 * rename or drop and a new relation of that name meanwhile leave the name
 * on a relation this backend has not locked (codereview4 #4: analysed
 * unlocked, it was read while another transaction changed it -- 42703 for
 * a column that transaction adds -- or XX000 "could not open relation"
 * when dropped).  Raises only the lock wait's errors (55P03, 40P01).
 */
static Oid
owned_relation_locked(RangeVar *rv, LOCKMODE mode)
{
	Oid			held = InvalidOid;

	for (;;)
	{
		Oid			rel = named_relation(rv);
		HeapTuple	tup;
		bool		owner;

		if (OidIsValid(held) && rel == held)
			return rel;
		if (OidIsValid(held))
			UnlockRelationOid(held, mode);
		held = InvalidOid;
		if (!OidIsValid(rel))
			return InvalidOid;
		tup = SearchSysCache1(RELOID, ObjectIdGetDatum(rel));
		if (!HeapTupleIsValid(tup))
			return InvalidOid;
		owner = has_privs_of_role(GetUserId(), ((Form_pg_class) GETSTRUCT(tup))->relowner);
		ReleaseSysCache(tup);
		if (!owner)
			return InvalidOid;
		LockRelationOid(rel, mode);
		held = rel;
	}
}

/*
 * CREATE INDEX CONCURRENTLY (ddl_command_start): its index is judged by
 * steward_migration_refuse_index_shapes from the statement, analysed as
 * the build will analyse it, since the pg_depend rows of the index are
 * committed before the ddl_command_end the shape guard judges in.  Only
 * when the caller owns the table (core refuses the others first), which
 * is analysed under the statement's lock (owned_relation_locked).  A
 * plain CREATE INDEX is judged by the shape guard at its end.
 */
static void
guard_index_concurrently(IndexStmt *stmt)
{
	Oid			rel;

	if (!stmt->concurrent)
		return;
	rel = owned_relation_locked(stmt->relation, ShareUpdateExclusiveLock);
	if (!OidIsValid(rel) || get_rel_relkind(rel) == RELKIND_VIEW)
		return;
	steward_migration_refuse_index_shapes(rel,
										  transformIndexStmt(rel, copyObject(stmt),
															 debug_query_string));
}

/* A relation the column judge looked at, and its column migration. */
typedef struct ColumnJudgeSeen
{
	Oid			relid;
	GuardedBy	m;				/* m.name NULL: none */
} ColumnJudgeSeen;

/*
 * Whether relid is a table of an active migration: one probe of the
 * partial unique index steward.migration_tables (relid) WHERE active, in
 * a snapshot taken now.  (A column migration's table is never a
 * partitioned table or a partition; a relayout's partitions are found
 * through their layout, relayout_of.)  False when the catalog is not
 * there; true when it is and its index or column is not (renamed or
 * dropped by its owner), so that the full read runs and no guard is
 * skipped (codereview10 C3).
 */
static bool
active_migration_table(Oid relid)
{
	Oid			catalog = steward_relid("migration_tables", true);
	Oid			index = OidIsValid(catalog) ?
		get_relname_relid("migration_tables_one_active", get_rel_namespace(catalog)) : InvalidOid;
	AttrNumber	attnum = OidIsValid(catalog) ? get_attnum(catalog, "relid") : InvalidAttrNumber;
	Relation	rel;
	Snapshot	snapshot;
	ScanKeyData key;
	SysScanDesc scan;
	bool		found;

	if (!OidIsValid(catalog))
		return false;
	if (!OidIsValid(index) || attnum == InvalidAttrNumber)
		return true;
	rel = table_open(catalog, AccessShareLock);
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	ScanKeyInit(&key, attnum, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(rel, index, true, snapshot, 1, &key);
	found = HeapTupleIsValid(systable_getnext(scan));
	systable_endscan(scan);
	UnregisterSnapshot(snapshot);
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * The object a refusal of steward_migration_judge_column_user names for
 * the dependent of dep: a view or materialized view for its _RETURN
 * rule, a column of a table for the column (not the table), else the
 * object itself, as the cleanup's backstop
 * (_migration_column_users) names it; sets *shape_rule when the
 * dependent is a rule (_RETURN or another: an INSERT rule writing the new
 * column, codereview4 #2) on a shape view of migration, which the cleanup
 * and a rollback drop with the view before the columns.
 */
static char *
column_user_name(Form_pg_depend dep, const char *migration, bool *shape_rule)
{
	ObjectAddress addr;
	char	   *what;

	*shape_rule = false;
	/* a column of a table (its type a layout's row type) names the column */
	ObjectAddressSubSet(addr, dep->classid, dep->objid,
						dep->classid == RelationRelationId ? dep->objsubid : 0);
	if (dep->classid == RewriteRelationId)
	{
		Relation	rewrite = table_open(RewriteRelationId, AccessShareLock);
		HeapTuple	tup = get_catalog_object_by_oid(rewrite, Anum_pg_rewrite_oid, dep->objid);

		if (HeapTupleIsValid(tup))
		{
			Oid			view = ((Form_pg_rewrite) GETSTRUCT(tup))->ev_class;
			GuardedBy	s;

			if (strcmp(NameStr(((Form_pg_rewrite) GETSTRUCT(tup))->rulename), ViewSelectRuleName) == 0)
				ObjectAddressSet(addr, RelationRelationId, view);
			shape_view_of(view, &s);
			*shape_rule = s.name != NULL && strcmp(s.name, migration) == 0;
		}
		table_close(rewrite, AccessShareLock);
	}
	what = getObjectDescription(&addr, true);
	return what ? what : psprintf("object %u of catalog %u", dep->objid, dep->classid);
}

/*
 * Whether the dependent of dep goes with relation relid anyway: it also
 * depends on relid itself other than NORMAL (a policy, trigger, rule or
 * default of the table, whose expression refers to its own columns), so
 * a drop of relid drops it too.  Scans pg_depend by depender under
 * AccessShareLock in a fresh catalog snapshot.
 */
static bool
goes_with_relation(Form_pg_depend dep, Oid relid)
{
	Relation	depend = table_open(DependRelationId, AccessShareLock);
	ScanKeyData key[2];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;

	ScanKeyInit(&key[0], Anum_pg_depend_classid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(dep->classid));
	ScanKeyInit(&key[1], Anum_pg_depend_objid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(dep->objid));
	scan = systable_beginscan(depend, DependDependerIndexId, true, NULL, 2, key);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend other = (Form_pg_depend) GETSTRUCT(tup);

		found = other->refclassid == RelationRelationId && other->refobjid == relid &&
			other->deptype != DEPENDENCY_NORMAL;
	}
	systable_endscan(scan);
	table_close(depend, AccessShareLock);
	return found;
}

/*
 * Whether the dependent of dep is the query of a view (a plain one: its
 * _RETURN rule) over relid, the application's layout of relayout m (the
 * table: the original layout until complete, the new one after), whose
 * owner has the rights of relid's owner: the cutover (complete, or a
 * rollback after it) redefines it on the other layout as that owner
 * (start, complete and rollback refuse another owner's, 42501).  Not a
 * rule on the other layout (the cleanup or a rollback drops that one),
 * nor a materialized view's or another rule (of a table, or a view's
 * ON INSERT ...): the cutover does not move those, and they would stay
 * on the layout that is dropped.  Reads pg_rewrite under AccessShareLock.
 */
static bool
carried_rule(Form_pg_depend dep, Oid relid, const GuardedBy *m)
{
	Relation	rewrite;
	HeapTuple	tup;
	Oid			ev_class = InvalidOid;
	bool		view_query = false;
	bool		switched = m->phase != NULL && strcmp(m->phase, "switched") == 0;

	if (dep->classid != RewriteRelationId || dep->refclassid != RelationRelationId ||
		m->table != relid || m->ord != (switched ? 2 : 1))
		return false;
	rewrite = table_open(RewriteRelationId, AccessShareLock);
	tup = get_catalog_object_by_oid(rewrite, Anum_pg_rewrite_oid, dep->objid);
	if (HeapTupleIsValid(tup))
	{
		Form_pg_rewrite rule = (Form_pg_rewrite) GETSTRUCT(tup);

		ev_class = rule->ev_class;
		view_query = strcmp(NameStr(rule->rulename), ViewSelectRuleName) == 0;
	}
	table_close(rewrite, AccessShareLock);
	return OidIsValid(ev_class) && view_query && get_rel_relkind(ev_class) == RELKIND_VIEW &&
		has_privs_of_role(rel_owner(ev_class), rel_owner(relid));
}

/*
 * Whether the statement running now is an own statement of relayout m
 * (steward_migration_own_sql_relid): on one of its layouts or their
 * partitions, or on a view the cutover redefines (dep is that view's
 * rule).  Another migration's own statement -- an add_column step's
 * default naming the layout, codereview5 #4 -- is judged like any other
 * (43df26b narrowed the column judge the same way).  Reads the
 * migrations' catalog in a snapshot taken now and pg_rewrite under
 * AccessShareLock.
 */
static bool
own_relayout_statement(Form_pg_depend dep, const GuardedBy *m)
{
	Oid			own = steward_migration_own_sql_relid();
	GuardedBy	o;
	bool		same;

	if (!OidIsValid(own))
		return false;
	if (own == m->table)
		return true;
	if (dep->classid == RewriteRelationId)
	{
		Relation	rewrite = table_open(RewriteRelationId, AccessShareLock);
		HeapTuple	tup = get_catalog_object_by_oid(rewrite, Anum_pg_rewrite_oid, dep->objid);

		same = HeapTupleIsValid(tup) && ((Form_pg_rewrite) GETSTRUCT(tup))->ev_class == own;
		table_close(rewrite, AccessShareLock);
		if (same)
			return true;
	}
	memset(&o, 0, sizeof(o));
	if (active_migration_table(own))
		guarded_by(own, false, false, false, &o);
	else if (get_rel_relispartition(own))
		relayout_of(own, &o);
	return o.name != NULL && o.relayout && strcmp(o.name, m->name) == 0;
}

/*
 * Whether constraint conoid is a foreign key (the cutover moves a
 * relayout's; an index step's refuses its index at validate and
 * cleanup).  Reads pg_constraint under AccessShareLock; false when the
 * constraint is gone.
 */
static bool
foreign_key(Oid conoid)
{
	Relation	constraint = table_open(ConstraintRelationId, AccessShareLock);
	HeapTuple	tup = get_catalog_object_by_oid(constraint, Anum_pg_constraint_oid, conoid);
	bool		fk = HeapTupleIsValid(tup) &&
		((Form_pg_constraint) GETSTRUCT(tup))->contype == CONSTRAINT_FOREIGN;

	table_close(constraint, AccessShareLock);
	return fk;
}

/*
 * Whether dep is a sequence's OWNED BY row (a serial column's, CREATE or
 * ALTER SEQUENCE ... OWNED BY): an AUTO dependency of the sequence on a
 * column of a table, which a drop of the column or the table follows
 * without a word (review19 F3).
 */
static bool
owned_by_row(Form_pg_depend dep)
{
	return dep->deptype == DEPENDENCY_AUTO && dep->classid == RelationRelationId &&
		dep->objsubid == 0 && dep->refclassid == RelationRelationId &&
		dep->refobjsubid > 0 && get_rel_relkind(dep->objid) == RELKIND_SEQUENCE;
}

/*
 * Whether dep is an extended statistics object's row on a table or one
 * of its columns (CREATE STATISTICS): an AUTO dependency, which a drop of
 * the column or the table follows without a word (codereview7 C).
 */
static bool
statistics_row(Form_pg_depend dep)
{
	return dep->deptype == DEPENDENCY_AUTO && dep->classid == StatisticExtRelationId &&
		dep->refclassid == RelationRelationId;
}

/*
 * 55006 for dep, a statistics object (statistics_row) on relid, a layout
 * of relayout m or a partition of one, unless the layout is the table
 * (ord 1 before the cutover, 2 after it): the cutover and a rollback
 * twin the table's statistics onto the layout taking its name
 * (_relayout_swap_statistics).  The cleanup drops the old layout and a
 * rollback the new one, and with them their statistics (codereview7 C).
 */
static void
judge_statistics_relayout(Form_pg_depend dep, Oid relid, const GuardedBy *m)
{
	bool		switched = m->phase != NULL && strcmp(m->phase, "switched") == 0;
	bool		shape_rule;

	if (dep->refobjid == m->table && relid == m->table && m->ord == (switched ? 2 : 1))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 errmsg("%s cannot be made on %s, which migration \"%s\" drops at its cleanup or a rollback",
					column_user_name(dep, m->name, &shape_rule), quoted_relation(dep->refobjid), m->name),
			 errdetail("The cleanup drops the table's old layout and a rollback its new one, and extended statistics on one would go with it without a word."),
			 errhint("Make it on the table itself instead (the cutover and a rollback carry the table's statistics to the layout taking its name).")));
}

/*
 * Whether column attnum of relid is an identity column or owns another
 * sequence than seq (the cutover moves one sequence per column, the one
 * pg_get_serial_sequence finds).  Scans pg_depend by referenced object
 * under AccessShareLock.
 */
static bool
other_owned_sequence(Oid relid, AttrNumber attnum, Oid seq)
{
	Relation	depend;
	ScanKeyData key[3];
	SysScanDesc scan;
	HeapTuple	tup;
	bool		found = false;
	HeapTuple	att = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(attnum));

	if (HeapTupleIsValid(att))
	{
		found = ((Form_pg_attribute) GETSTRUCT(att))->attidentity != '\0';
		ReleaseSysCache(att);
	}
	depend = table_open(DependRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&key[2], Anum_pg_depend_refobjsubid, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(attnum));
	scan = systable_beginscan(depend, DependReferenceIndexId, true, NULL, 3, key);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_depend other = (Form_pg_depend) GETSTRUCT(tup);

		found = other->classid == RelationRelationId && other->objid != seq &&
			(other->deptype == DEPENDENCY_AUTO || other->deptype == DEPENDENCY_INTERNAL) &&
			get_rel_relkind(other->objid) == RELKIND_SEQUENCE;
	}
	systable_endscan(scan);
	table_close(depend, AccessShareLock);
	return found;
}

/*
 * 55006 for dep, a sequence made owned by a column (owned_by_row) of
 * relid, a layout of relayout m or a partition of one, unless the
 * layout is the table (ord 1 before the cutover, 2 after it) and the
 * column owns no other sequence: the cutover and a rollback's move that
 * sequence to the layout taking the table's name.  The cleanup drops the
 * old layout and a rollback the new one, and with it the sequence, its
 * position lost, as DROP TABLE ... RESTRICT does (review19 F3).
 */
static void
judge_owned_sequence_relayout(Form_pg_depend dep, Oid relid, const GuardedBy *m)
{
	bool		switched = m->phase != NULL && strcmp(m->phase, "switched") == 0;
	char	   *column = get_attname(dep->refobjid, dep->refobjsubid, true);
	bool		other;

	if (column == NULL)
		return;
	other = other_owned_sequence(dep->refobjid, dep->refobjsubid, dep->objid);
	if (dep->refobjid == m->table && relid == m->table &&
		m->ord == (switched ? 2 : 1) && !other)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 errmsg("sequence %s cannot be owned by column \"%s\" of relation %s, which migration \"%s\" drops at its cleanup or a rollback",
					quoted_relation(dep->objid), column, quoted_relation(dep->refobjid), m->name),
			 errdetail("The cleanup drops the table's old layout and a rollback its new one, and a sequence owned by one of its columns would go with it, its position lost."),
			 other ?
			 errhint("Column \"%s\" of the table is an identity column or owns a sequence already, the one the cutover keeps with the table: make this one owned by another column, or by none (OWNED BY NONE).",
					 column) :
			 errhint("Make it owned by column \"%s\" of the table itself instead (the cutover and a rollback keep such a sequence with the table), or by none (OWNED BY NONE).",
					 column)));
}

/*
 * 55006 for dep, a sequence made owned by column column of a column
 * migration m's table (review19 F3), or a statistics object made over it
 * (statistics: codereview7 C), a column it drops at cleanup (an old one,
 * as _steward_old_<col>) or at a rollback (a new one, _steward_side): the
 * drop would take the sequence or the statistics with it without a word.
 * The HINT names the column that stays when there is one.
 */
static void
refuse_auto_user_column(Form_pg_depend dep, const char *column, const GuardedBy *m,
						bool statistics)
{
	const char *stays = NULL;
	const char *q = quote_literal_cstr(m->name);
	ListCell   *d;
	ListCell   *n;

	forboth(d, m->dropped, n, m->dropped_new)
	{
		if ((strcmp((char *) lfirst(d), column) == 0 || strcmp((char *) lfirst(n), column) == 0) &&
			*(char *) lfirst(n) != '\0')
		{
			/*
			 * the new column keeps its name after the cleanup, unless it
			 * is _steward_new_<col> before complete: it takes <col>'s
			 */
			stays = strncmp((char *) lfirst(n), "_steward_new_", 13) == 0 ? lfirst(d) : lfirst(n);
		}
	}
	if (stays == NULL && name_in(column, m->added))
		stays = column;
	if (statistics)
	{
		bool		shape_rule;

		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("%s cannot use column \"%s\" of relation %s while migration \"%s\" changes it",
						column_user_name(dep, m->name, &shape_rule), column,
						quoted_relation(dep->refobjid), m->name),
				 errdetail("The migration drops the table's old columns at cleanup and its new ones at a rollback, and extended statistics over one would go with it without a word."),
				 stays != NULL ?
				 errhint("Make it over column \"%s\", which stays, after the cleanup (SELECT steward.migration_cleanup(%s);), or over columns the migration leaves alone.",
						 stays, q) :
				 errhint("%s Or make it over columns the migration leaves alone.",
						 guard_next_step(m))));
	}
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 errmsg("sequence %s cannot be owned by column \"%s\" of relation %s while migration \"%s\" changes it",
					quoted_relation(dep->objid), column, quoted_relation(dep->refobjid), m->name),
			 errdetail("The migration drops the table's old columns at cleanup and its new ones at a rollback, and a sequence owned by one of them would go with it, its position lost."),
			 stays != NULL ?
			 errhint("Make it owned by column \"%s\", which stays, after the cleanup (SELECT steward.migration_cleanup(%s);), or by a column the migration leaves alone.",
					 stays, q) :
			 errhint("%s Or make it owned by a column the migration leaves alone.",
					 guard_next_step(m))));
}

/*
 * Called by the shape guard (steward_migration_judge_shape_users) for
 * each pg_depend row this transaction wrote: 55006 when dep makes an
 * object use a column of an active column migration's table that the
 * migration changes -- a column it drops at cleanup or at a rollback, a
 * new one, _steward_side -- in the way DROP COLUMN ... RESTRICT refuses
 * (a NORMAL dependency; constraints and indexes, which go with the
 * column, publications' column lists, which the migration pins and the
 * publication checks judge, and the migration's own statements on that
 * table (steward_migration_own_sql_relid; codereview4 #2), the rules of
 * its shape views and its triggers aside).  The statement guard refuses CREATE
 * [MATERIALIZED] VIEW over such a column by its text; a rule (_RETURN or
 * another), a BEGIN ATOMIC function, a policy, a trigger's WHEN or UPDATE
 * OF, an element of CREATE SCHEMA ... were accepted and kept the cleanup
 * from ever dropping the column (review16 R16-6).  For a relayout's
 * layouts (and their partitions and row types) every NORMAL dependency
 * of another object is refused the same way, on a column or not: the
 * cleanup drops the old layout and a rollback the new one (review17
 * R17-4, R17-5: a regclass or regtype constant, a BEGIN ATOMIC body, a
 * policy of another table; another table's or a domain's CHECK,
 * codereview5 #1: only foreign keys, which the cutover moves, and the
 * layouts' own constraints, which go with them, pass).  A sequence's
 * OWNED BY (an AUTO dependency, which the drop follows without a word)
 * on a column the cleanup or a rollback drops is refused too
 * (review19 F3: judge_owned_sequence_relayout, refuse_auto_user_column),
 * and so is a statistics object (CREATE STATISTICS, AUTO as well) on such
 * a column or on a layout other than the table (codereview7 C:
 * judge_statistics_relayout, refuse_auto_user_column).  *seen keeps the
 * relations looked at during one judgement.  Reads the migrations'
 * catalog in a snapshot taken now (one index probe per relation, the
 * migration's record only for a migrated one); takes AccessShareLock on
 * it and on pg_rewrite.
 */
void
steward_migration_judge_column_user(Form_pg_depend dep, List **seen)
{
	ColumnJudgeSeen *judged = NULL;
	ListCell   *lc;
	char	   *column;
	char	   *what;
	bool		shape_rule;
	Oid			relid = dep->refobjid;
	bool		on_index = false;
	bool		owned_by = owned_by_row(dep);
	bool		statistics = statistics_row(dep);

	if ((dep->deptype != DEPENDENCY_NORMAL && !owned_by && !statistics) ||
		(dep->refclassid != RelationRelationId && dep->refclassid != TypeRelationId) ||
		dep->classid == PublicationRelRelationId ||
		(dep->classid == ConstraintRelationId && foreign_key(dep->objid)))
		return;
	if (dep->refclassid == RelationRelationId &&
		(get_rel_relkind(relid) == RELKIND_INDEX ||
		 get_rel_relkind(relid) == RELKIND_PARTITIONED_INDEX))
	{
		/*
		 * an index step's index; an index of a layout goes with it.  Only
		 * an own statement on the index's table passes (codereview5 #4).
		 */
		if (OidIsValid(steward_migration_own_sql_relid()) &&
			steward_migration_own_sql_relid() == IndexGetRelation(relid, true))
			return;
		what = column_user_name(dep, "", &shape_rule);
		refuse_index_step_user(what, relid);
		relid = IndexGetRelation(relid, true);
		if (!OidIsValid(relid))
			return;
		on_index = true;
	}
	else if (dep->refclassid == TypeRelationId)
	{
		/* a relayout's row type (or its array type) goes with its layout */
		Oid			elem = get_element_type(dep->refobjid);

		relid = get_typ_typrelid(OidIsValid(elem) ? elem : dep->refobjid);
		if (!OidIsValid(relid))
			return;
	}
	foreach(lc, *seen)
	{
		if (((ColumnJudgeSeen *) lfirst(lc))->relid == relid)
		{
			judged = lfirst(lc);
			break;
		}
	}
	if (judged == NULL)
	{
		judged = palloc0(sizeof(ColumnJudgeSeen));
		judged->relid = relid;
		if (active_migration_table(relid))
			guarded_by(relid, false, false, false, &judged->m);
		else if (get_rel_relispartition(relid))
			relayout_of(relid, &judged->m);
		*seen = lappend(*seen, judged);
	}
	if (judged->m.name == NULL)
		return;
	/*
	 * A relayout drops a whole layout (its partitions, its row type):
	 * every NORMAL dependency on one blocks it, also on no column
	 * (review17 R17-4, R17-5: a regclass constant, a BEGIN ATOMIC body,
	 * a policy of another table).
	 */
	if (judged->m.relayout)
	{
		/* the relayout's own statements (codereview5 #4: its own only) */
		if (own_relayout_statement(dep, &judged->m))
			return;
		if (owned_by || statistics)
		{
			(owned_by ? judge_owned_sequence_relayout : judge_statistics_relayout) (dep, relid, &judged->m);
			return;
		}
		if ( goes_with_relation(dep, relid) ||
			carried_rule(dep, relid, &judged->m))
			return;
		what = column_user_name(dep, judged->m.name, &shape_rule);
		refuse_relayout_user(what, on_index ? dep->refobjid : relid, &judged->m);
	}
	if (on_index || dep->refclassid != RelationRelationId || dep->refobjsubid <= 0 ||
		dep->classid == ConstraintRelationId ||
		dep->refobjid == steward_migration_own_sql_relid())
		return;
	column = get_attname(dep->refobjid, dep->refobjsubid, true);
	if (column == NULL || !any_migrated(&judged->m, list_make1(column)))
		return;
	if (owned_by || statistics)
		refuse_auto_user_column(dep, column, &judged->m, statistics);
	if (dep->classid == TriggerRelationId)
	{
		Relation	trigger = table_open(TriggerRelationId, AccessShareLock);
		HeapTuple	tup = get_catalog_object_by_oid(trigger, Anum_pg_trigger_oid, dep->objid);
		bool		own = HeapTupleIsValid(tup) &&
			migration_trigger(NameStr(((Form_pg_trigger) GETSTRUCT(tup))->tgname));

		table_close(trigger, AccessShareLock);
		if (own)
			return;
	}
	what = column_user_name(dep, judged->m.name, &shape_rule);
	if (shape_rule)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_IN_USE),
			 errmsg("%s would use column \"%s\" of relation %s while migration \"%s\" changes it",
					what, column, quoted_relation(dep->refobjid), judged->m.name),
			 errdetail("The migration drops the table's old columns at cleanup and its new ones at a rollback, and could not drop one another object uses (its owner may be a role the table's owner cannot act as)."),
			 errhint("%s Name only columns the migration leaves alone, or make it after the cleanup.",
					 guard_next_step(&judged->m))));
}

/*
 * Call steward.<fname>(), a STABLE check without arguments that raises
 * what it finds, in a snapshot taken now after a command counter
 * increment that shows the statement's own objects: its statements read
 * in that snapshot, not in a REPEATABLE READ transaction's older one.
 * Called directly (no EXECUTE check: it is the extension's); nothing when
 * it does not exist (a library newer than the installed SQL).
 */
static void
run_check_latest(const char *fname)
{
	Oid			fn;
	FmgrInfo	flinfo;
	LOCAL_FCINFO(call, 0);

	fn = LookupFuncName(list_make2(makeString(STEWARD_SCHEMA), makeString(pstrdup(fname))),
						0, NULL, true);
	if (!OidIsValid(fn))
		return;
	CommandCounterIncrement();
	PushActiveSnapshot(GetLatestSnapshot());
	fmgr_info(fn, &flinfo);
	InitFunctionCallInfoData(*call, &flinfo, 0, InvalidOid, NULL, NULL);
	(void) FunctionCallInvoke(call);
	PopActiveSnapshot();
}

/*
 * Whether the statement makes a partition: CREATE TABLE ... PARTITION OF,
 * alone or as an element of a CREATE SCHEMA (review16 R16-5).
 */
static bool
creates_partition(Node *parsetree)
{
	ListCell   *lc;

	if (IsA(parsetree, CreateStmt))
		return ((CreateStmt *) parsetree)->partbound != NULL;
	if (IsA(parsetree, CreateSchemaStmt))
		foreach(lc, ((CreateSchemaStmt *) parsetree)->schemaElts)
			if (IsA(lfirst(lc), CreateStmt) && ((CreateStmt *) lfirst(lc))->partbound != NULL)
				return true;
	return false;
}

/*
 * steward._migration_guard_shape_users(): event trigger on ddl_command_end
 * (steward_migration_shape_users, every command tag).  Judges the
 * pg_depend rows of the transaction on a column migration's shape views,
 * their row types and their schemas (steward_migration_judge_shape_users,
 * shapeguard.c: 55006 for an object over a shape view, 42501 for an
 * object in a shapes' schema whose owner lacks an owner's rights; review14
 * R14-1, R14-4).  Also, for CREATE TABLE ... PARTITION OF, alone or as
 * an element of CREATE SCHEMA (review16 R16-5): 40001
 * (refuse_stale_snapshot) when the transaction's snapshot does not show
 * the migrations of the new partition's ancestors as they are now, for
 * the PL/pgSQL trigger steward._relayout_on_create_partition, which
 * gives a partition of a relayout's layout its TRUNCATE guard, reads them
 * in that snapshot (review14 R14-8's audit).  39P03 when not called as an
 * event trigger.  Locks: those of steward_migration_judge_shape_users
 * (AccessShareLock on migration_tables, migration_runs, pg_depend and the
 * catalogs of the objects named); for a new partition in a REPEATABLE
 * READ or SERIALIZABLE transaction, AccessShareLock on migration_tables
 * and migration_runs (read as the catalog's owner, in both snapshots), to
 * transaction end.
 */
Datum
steward_migration_guard_shape_users(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._migration_guard_shape_users() must be called as an event trigger")));
	steward_migration_judge_shape_users();
	if (creates_partition(((EventTriggerData *) fcinfo->context)->parsetree))
		refuse_stale_snapshot(
			"SELECT pg_catalog.string_agg(pg_catalog.format('%s:%s:%s:%s', t.migration, t.ord, t.active,"
			"                                               r.status), ' ' ORDER BY t.migration, t.ord)"
			"  FROM pg_catalog.pg_event_trigger_ddl_commands() c,"
			"       LATERAL steward._partition_ancestors(c.objid::pg_catalog.regclass) a,"
			"       steward.migration_tables t"
			"  JOIN steward.migration_runs r ON r.name OPERATOR(pg_catalog.=) t.migration"
			" WHERE c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
			"   AND c.objsubid OPERATOR(pg_catalog.=) 0 AND c.command_tag OPERATOR(pg_catalog.=) 'CREATE TABLE'"
			"   AND t.relid::pg_catalog.oid OPERATOR(pg_catalog.=) a.relid",
			0, NULL, NULL, "the new partition's parent");
	PG_RETURN_VOID();
}

/*
 * Refuse (40001) a statement of a REPEATABLE READ or SERIALIZABLE
 * transaction whose snapshot does not show the migrations' records the
 * way a snapshot taken now does: digest_sql, a read of pg_steward's
 * migration catalog returning one text (NULL when it finds nothing),
 * gives another result in the two snapshots.  For pg_steward's event
 * triggers written in PL/pgSQL, whose statements read (and write) the
 * records in the transaction's snapshot: from one older than a
 * migration_start they would not see the migration, and act as if the
 * table had none (review14 R14-8, R14-6).  The retry sees it.  Nothing in
 * READ COMMITTED (each statement of theirs takes a snapshot) or when the
 * catalog is not there.  Read as the catalog's owner (its row security
 * hides other owners' migrations).  what names the statement's object
 * for the message.
 */
static void
refuse_stale_snapshot(const char *digest_sql, int nargs, Oid *argtypes, Datum *args,
					  const char *what)
{
	Oid			catalog = steward_relid("migration_tables", true);
	StewardAsOwner ctx;
	SPIPlanPtr	plan;
	char	   *seen[2];
	bool		stale;

	if (!IsolationUsesXactSnapshot() || !OidIsValid(catalog) ||
		!OidIsValid(steward_relid("migration_runs", true)))
		return;
	steward_as_owner_begin(catalog, &ctx);
	plan = SPI_prepare(digest_sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare a read of steward.migration_tables: %s",
			 SPI_result_code_string(SPI_result));
	for (int i = 0; i < 2; i++)
	{
		Snapshot	snapshot = RegisterSnapshot(i == 0 ? GetLatestSnapshot() : GetTransactionSnapshot());

		if (SPI_execute_snapshot(plan, args, NULL, snapshot, InvalidSnapshot, true, false, 1) !=
			SPI_OK_SELECT)
			elog(ERROR, "could not read steward.migration_tables");
		seen[i] = SPI_processed == 1 ?
			SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1) : NULL;
		UnregisterSnapshot(snapshot);
	}
	stale = (seen[0] == NULL) != (seen[1] == NULL) ||
		(seen[0] != NULL && strcmp(seen[0], seen[1]) != 0);
	SPI_freeplan(plan);
	steward_as_owner_end(&ctx);
	if (stale)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access to the migration records of %s", what),
				 errdetail("A migration of its tables began, ended or changed after this transaction's "
						   "snapshot was taken, and pg_steward records what the statement does to them "
						   "in that migration."),
				 errhint("Retry the transaction.")));
}

/*
 * steward._migrations_drop_snapshot(): event trigger on sql_drop
 * (steward_migrations_drop_snapshot).  A table of an active migration (or
 * a schema of a column migration's shapes) dropped by a REPEATABLE READ
 * or SERIALIZABLE transaction whose snapshot predates the migration's
 * start is refused (40001, refuse_stale_snapshot): the sql_drop handler,
 * steward._migrations_on_sql_drop (PL/pgSQL), reads the records in the
 * transaction's snapshot, did not see the migration, and left it stuck
 * with the dropped table's OID, rollback failing on the missing relation
 * (review14 R14-8).  The digest: every record of each migration that
 * has a dropped relation or whose shapes' schema is dropped.  The
 * migration's own drops (cleanup, rollback) pass.  39P03 when not called
 * as an event trigger.  Locks: in a REPEATABLE READ or SERIALIZABLE
 * transaction only, AccessShareLock on migration_tables, migration_indexes
 * and migration_runs (read as the catalog's owner, in both snapshots), to
 * transaction end; none in READ COMMITTED.
 */
Datum
steward_migrations_drop_snapshot(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._migrations_drop_snapshot() must be called as an event trigger")));
	if (steward_migration_running_own_sql() || steward_migrate_called_from_own_code() ||
		!OidIsValid(steward_relid("migration_indexes", true)))
		PG_RETURN_VOID();
	refuse_stale_snapshot(
		"WITH d AS (SELECT d.classid, d.objid, d.objsubid, d.object_identity"
		"             FROM pg_catalog.pg_event_trigger_dropped_objects() d),"
		"     m AS (SELECT t.migration FROM steward.migration_tables t, d"
		"            WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
		"              AND d.objsubid OPERATOR(pg_catalog.=) 0"
		"              AND d.objid OPERATOR(pg_catalog.=) t.relid::pg_catalog.oid"
		"           UNION"
		"           SELECT i.migration FROM steward.migration_indexes i, d"
		"            WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
		"              AND d.objsubid OPERATOR(pg_catalog.=) 0"
		"              AND d.objid OPERATOR(pg_catalog.=) i.relid::pg_catalog.oid"
		"           UNION"
		"           SELECT r.name FROM steward.migration_runs r, d"
		"            WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass"
		"              AND d.object_identity IN (pg_catalog.quote_ident(r.name),"
		"                                        pg_catalog.quote_ident(r.name OPERATOR(pg_catalog.||) '_old')))"
		"SELECT pg_catalog.string_agg(x.x, ' ' ORDER BY x.x)"
		"  FROM (SELECT pg_catalog.format('t:%s:%s:%s:%s', t.migration, t.ord, t.relid::pg_catalog.oid, t.active)"
		"          FROM steward.migration_tables t WHERE t.migration IN (SELECT m.migration FROM m)"
		"        UNION ALL"
		"        SELECT pg_catalog.format('r:%s:%s:%s', r.name, r.status, r.restored)"
		"          FROM steward.migration_runs r WHERE r.name IN (SELECT m.migration FROM m)) x(x)",
		0, NULL, NULL, "the dropped objects");
	PG_RETURN_VOID();
}

/*
 * steward._migration_guard_publications(): event trigger on
 * ddl_command_end of CREATE PUBLICATION and ALTER PUBLICATION
 * (steward_migration_publication_checks), beside the PL/pgSQL pin
 * (steward._migration_pin_publications).  First the checks of
 * steward._migration_check_publication_changes() (migrate.sql: 55006 for
 * a pinned publication turned to publish updates or deletes that the
 * table's replica identity would make fail, R14-2; 2BP01 for a column
 * list over a column the migration replaces or drops, R14-3), STABLE and
 * run in a snapshot taken now after a command counter increment, as
 * steward_migration_guard_shape_users runs its check.  Then the pin's
 * snapshot: refused (40001, refuse_stale_snapshot) when the transaction's
 * does not show the records of the migrations of the publications'
 * tables as they are now, which the pin would not pin (R14-6): what the
 * pin reads of them (tables, pins, status, whether complete switched the
 * shapes), not the backfill's progress or phase before complete; only
 * for the tables the statement publishes without a column list, the only
 * ones the pin changes (a list given, the statement does the same in
 * either snapshot, and the checks above read a snapshot taken now:
 * closing38 item 5, it was refused 40001 all the same), and only for
 * their column migrations: the pin passes over a relayout and the index
 * steps (their steps never change, so both snapshots leave out the same
 * ones), and a relayout's own checks of a publication (the DDL guard's
 * at ddl_command_start, the cutover's) read a snapshot taken now (stop
 * 40: a relayout's table published from such a snapshot was refused
 * 40001 all the same).  The
 * migration's own statements (_migration_publish) pass.  39P03 when not
 * called as an event trigger.  Locks, to transaction end: the check's
 * reads (as the catalog's owner: AccessShareLock on migration_tables,
 * migration_runs, migration_columns and the system catalogs it joins);
 * in a REPEATABLE READ or SERIALIZABLE transaction, AccessShareLock on
 * migration_tables and migration_runs for the snapshot comparison.
 */
Datum
steward_migration_guard_publications(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._migration_guard_publications() must be called as an event trigger")));
	if (steward_migration_running_own_sql() || steward_migrate_called_from_own_code())
		PG_RETURN_VOID();
	run_check_latest("_migration_check_publication_changes");
	refuse_stale_snapshot(
		"WITH p AS (SELECT pr.prrelid FROM pg_catalog.pg_event_trigger_ddl_commands() c"
		"             JOIN pg_catalog.pg_publication_rel pr"
		"               ON (c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_publication'::pg_catalog.regclass"
		"                   AND pr.prpubid OPERATOR(pg_catalog.=) c.objid)"
		"               OR (c.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_publication_rel'::pg_catalog.regclass"
		"                   AND pr.oid OPERATOR(pg_catalog.=) c.objid)"
		"            WHERE pr.prattrs IS NULL),"
		"     m AS (SELECT t.migration FROM steward.migration_tables t"
		"             JOIN steward.migration_runs r ON r.name OPERATOR(pg_catalog.=) t.migration"
		"            WHERE t.relid::pg_catalog.oid IN (SELECT p.prrelid FROM p)"
		"              AND NOT coalesce((r.steps OPERATOR(pg_catalog.->) 0) OPERATOR(pg_catalog.?|)"
		"                               '{relayout,create_index,drop_index}'::pg_catalog.text[], false))"
		"SELECT pg_catalog.string_agg(x.x, ' ' ORDER BY x.x)"
		"  FROM (SELECT pg_catalog.format('t:%s:%s:%s:%s:%s', t.migration, t.ord, t.relid::pg_catalog.oid,"
		"                                 t.active, t.publications)"
		"          FROM steward.migration_tables t WHERE t.migration IN (SELECT m.migration FROM m)"
		"        UNION ALL"
		"        SELECT pg_catalog.format('r:%s:%s:%s:%s', r.name, r.status,"
		"                                 r.phase OPERATOR(pg_catalog.=) 'switched', r.restored)"
		"          FROM steward.migration_runs r WHERE r.name IN (SELECT m.migration FROM m)) x(x)",
		0, NULL, NULL, "the publication's tables");
	PG_RETURN_VOID();
}

/*
 * steward._publication_filter_columns(pubid oid, relid oid) -> int2[]:
 * the column numbers the row filter of relation relid in publication
 * pubid reads, ascending (0 would be a whole-row reference, which
 * PostgreSQL refuses in a row filter: its type is the table's row type);
 * an empty array for a filter that reads none, NULL when the publication
 * does not list the relation or gives it no filter.  The filter's Vars are read from
 * the node tree (stringToNode of prqual, pull_varattnos), not by matching
 * its text (codereview3 #1: a pattern depended on the session's string
 * settings).  Reads the pg_publication_rel row through the syscache (the
 * catalog snapshot: this transaction's own changes after a command
 * counter increment; a cache miss reads the catalog under
 * AccessShareLock, released at once); locks neither the publication nor
 * the relation.  Raises no error of its own (stringToNode's XX000 only
 * for a catalog value no CREATE PUBLICATION wrote).
 * pg_steward's publication checks call it (migrate.sql).
 */
Datum
steward_publication_filter_columns(PG_FUNCTION_ARGS)
{
	Oid			pubid = PG_GETARG_OID(0);
	Oid			relid = PG_GETARG_OID(1);
	HeapTuple	tup;
	Datum		qual;
	bool		isnull;
	Bitmapset  *attnos = NULL;
	Datum	   *elems;
	int			n = 0;
	int			x = -1;

	tup = SearchSysCache2(PUBLICATIONRELMAP, ObjectIdGetDatum(relid), ObjectIdGetDatum(pubid));
	if (!HeapTupleIsValid(tup))
		PG_RETURN_NULL();
	qual = SysCacheGetAttr(PUBLICATIONRELMAP, tup, Anum_pg_publication_rel_prqual, &isnull);
	if (!isnull)
		pull_varattnos((Node *) stringToNode(TextDatumGetCString(qual)), 1, &attnos);
	ReleaseSysCache(tup);
	if (isnull)
		PG_RETURN_NULL();
	elems = palloc(sizeof(Datum) * Max(bms_num_members(attnos), 1));
	while ((x = bms_next_member(attnos, x)) >= 0)
		elems[n++] = Int16GetDatum((int16) (x + FirstLowInvalidHeapAttributeNumber));
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, INT2OID, sizeof(int16), true, TYPALIGN_SHORT));
}

/*
 * steward._migration_settle_dropped(mig text) -> boolean: the tables of
 * migration mig whose relation is gone though the record still has it
 * active (a record written before R14-8's fix by a drop its handler did
 * not see, or loaded by a restore with an OID no relation has) are taken
 * as dropped, as the sql_drop handler takes them
 * (steward._migration_tables_dropped: released, the migration failed, or
 * dropped with no table left): rollback, backfill, validate, complete and
 * cleanup call it first, and would otherwise fail on the missing
 * relation (42P01).  True when it found one.  Read as the catalog's
 * owner in a snapshot taken now (a relation is gone when no pg_class row
 * has its OID); only for pg_steward's migration functions (42501 called
 * directly: its writes clear the record's restored mark).  Locks, to
 * transaction end: AccessShareLock on migration_tables and pg_class for
 * the read; when a table is gone, _migration_tables_dropped's writes
 * (RowExclusiveLock on migration_tables, migration_runs,
 * migration_indexes and migration_columns, and the rows' locks), and for
 * a column migration left without a table the DROP SCHEMA of its emptied
 * shapes' schemas (AccessExclusiveLock on each schema).  Errors: 42501;
 * 42883 when _migration_tables_dropped(oid[]) is missing; what its
 * writes raise.
 */
Datum
steward_migration_settle_dropped(PG_FUNCTION_ARGS)
{
	Oid			catalog = steward_relid("migration_tables", true);
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	Datum		gone = (Datum) 0;
	bool		isnull = true;
	StewardAsOwner ctx;
	MemoryContext outer = CurrentMemoryContext;
	Oid			fn;

	if (!steward_migrate_called_from_own_code())
		steward_migrate_refuse_direct_call("steward._migration_settle_dropped()",
										   "its writes to the migration catalog");
	if (PG_ARGISNULL(0) || !OidIsValid(catalog))
		PG_RETURN_BOOL(false);
	args[0] = PG_GETARG_DATUM(0);
	steward_as_owner_begin(catalog, &ctx);
	if (steward_spi_read_latest(
			"SELECT pg_catalog.array_agg(t.relid::pg_catalog.oid ORDER BY t.ord)"
			"  FROM steward.migration_tables t"
			" WHERE t.migration OPERATOR(pg_catalog.=) $1 AND t.active AND t.relid IS NOT NULL"
			"   AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_class c"
			"                    WHERE c.oid OPERATOR(pg_catalog.=) t.relid::pg_catalog.oid)",
			1, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_tables");
	if (SPI_processed == 1)
	{
		Datum		value = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(outer);

			gone = PointerGetDatum(DatumGetArrayTypePCopy(value));
			MemoryContextSwitchTo(old);
		}
	}
	steward_as_owner_end(&ctx);
	if (isnull)
		PG_RETURN_BOOL(false);
	fn = LookupFuncName(list_make2(makeString(STEWARD_SCHEMA), makeString("_migration_tables_dropped")),
						1, (Oid[]) {OIDARRAYOID}, false);
	return OidFunctionCall1(fn, gone);
}
