/*-------------------------------------------------------------------------
 *
 * exec.c
 *	  What the migration functions (PL/pgSQL, src/migrate/migrate.sql) need
 *	  C for: running statements as a table's owner, writing the migration
 *	  catalog as its owner, settings.
 *
 *	  steward._migration_exec(tbl, sql, args, backfill)
 *	  steward._migration_record(op, name, data)
 *	  steward._migration_settings()
 *	  steward._commit()    (the COMMIT of pg_steward's procedures)
 *
 * The migration functions run as their caller.  Every statement that
 * touches a user table (DDL, backfill batches, validation scans) goes
 * through _migration_exec, which checks that the caller owns the table and
 * runs the statement as the table's owner in a security-restricted
 * context with search_path pinned to pg_catalog, pg_temp: the owner's
 * expressions, defaults, checks and triggers never run with a superuser's
 * rights, and objects the migration creates (columns, views, the schema)
 * belong to the table's owner.  The catalog (steward.migration_*) is
 * written only through _migration_record, which checks that the caller
 * owns every table of the migration and then writes as the catalog's
 * owner; PUBLIC has no write privilege on it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_language.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "optimizer/planner.h"
#include "tcop/utility.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "parser/parse_func.h"
#include "nodes/makefuncs.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "plumbing/own_context.h"
#include "plumbing/utility.h"
#include "governor/governor.h"
#include "migrate/migrate.h"

PG_FUNCTION_INFO_V1(steward_migration_start);
PG_FUNCTION_INFO_V1(steward_migration_exec);
PG_FUNCTION_INFO_V1(steward_migration_refuse_temporary);
static Datum migration_exec(FunctionCallInfo fcinfo, bool batch);
static void refuse_triggers_after_dual_write(const char *name);
static void warn_trigger_users(const char *name);
PG_FUNCTION_INFO_V1(steward_migration_record);
PG_FUNCTION_INFO_V1(steward_migration_settings);
PG_FUNCTION_INFO_V1(steward_migration_lock_related);
PG_FUNCTION_INFO_V1(steward_migration_runs_mark);
PG_FUNCTION_INFO_V1(steward_migration_own_ddl);
PG_FUNCTION_INFO_V1(steward_migration_entered);
PG_FUNCTION_INFO_V1(steward_commit);

/* Settings (docs/settings.md). */
static int	migrate_lock_timeout_ms = 500;
static int	migrate_lock_retries = 30;
static int	migrate_batch_size = 2000;
static int	migrate_backfill_interleave = 1;
static int	migrate_index_window_s = 3600;

/* The relation a backfill batch of this backend is writing, if any. */
static Oid	backfill_relid = InvalidOid;

/* Statements of _migration_exec running in this backend (nested calls). */
static int	own_sql_depth = 0;

/*
 * While a statement of _migration_exec runs (own_sql_depth > 0): how
 * deep the backend is in statements under it -- each executor run or
 * finish, plan and utility statement counts one (own_nest) -- and how deep
 * it was when the innermost one began (own_sql_nest).  Its DDL is at
 * own_sql_nest + 1; DDL deeper down runs in user code the statement
 * evaluates (an up expression in a backfill batch, a check in VALIDATE
 * CONSTRAINT, a trigger), which the DDL guard judges (recheck10 N2).
 * Not counted when no such statement runs.
 */
static int	own_nest = 0;
static int	own_sql_nest = 0;

/*
 * Callers that need own_nest counted outside a statement of
 * _migration_exec too (steward_statement_nest_watch: a relayout's apply
 * statement, whose own rows alone are stored as sent).
 */
static int	nest_watchers = 0;

/* The table the innermost running statement of _migration_exec is for. */
static Oid	own_sql_relid = InvalidOid;

/*
 * pg_steward's own PL/pgSQL functions running in this backend (nested
 * calls), counted by the function manager hook below: the stack of their
 * OIDs and own_nest when each began (steward_code_stack[i] for the
 * function at steward_code_depth i + 1), grown in TopMemoryContext at
 * FHET_START.  FHET_END and FHET_ABORT pop the top entry when it is the
 * function that ends, with no catalog look-up (none is safe while an
 * error unwinds, and the function's pg_proc row may be gone or changed
 * by then: a function that dropped itself stayed counted, and the whole
 * session then passed for pg_steward's own code).  A function that
 * began before the library was loaded (without preloading) is not
 * counted, and nothing it runs is pg_steward's own code: see
 * own_context and steward_migration_entered.
 */
typedef struct StewardFrame
{
	Oid			fn_oid;			/* InvalidOid: a C function of pg_steward's */
	int			nest;
	bool		event_trigger;	/* returns event_trigger: only fired, never called */
	bool		trusted;		/* pg_steward's own code (see own_context) */
	bool		reports;		/* an entry point or event trigger: its errors
								 * leave without pg_steward's CONTEXT lines */
	int			barrier;		/* steward_owner_code_depth() when it began */
} StewardFrame;

static StewardFrame *steward_code_stack = NULL;
static int	steward_code_stack_size = 0;
static int	steward_code_depth = 0;

/*
 * The entry point to which steward._migration_entered last answered
 * false (it calls itself again, counted), and how deep the error context
 * stack was then; cleared when that function begins counted.
 */
static Oid	recalling_fn = InvalidOid;
static int	recalling_nest = 0;
static Oid	steward_nsp_cache = InvalidOid;

static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static planner_hook_type prev_planner = NULL;
static needs_fmgr_hook_type prev_needs_fmgr_hook = NULL;
static fmgr_hook_type prev_fmgr_hook = NULL;



/* Is t the migration dual-write trigger (steward._migration_trigger)? */
static bool
is_dual_write_trigger(Trigger *t)
{
	char	   *name = get_func_name(t->tgfoid);
	bool		result = name != NULL && strcmp(name, "_migration_trigger") == 0;

	if (name)
		pfree(name);
	return result;
}

/*
 * Clear the BEFORE ROW INSERT / UPDATE flags of a statement's copy of a
 * trigger descriptor when none of its triggers of that kind is enabled,
 * so that the executor skips the trigger path (and its row lock) as for
 * a table without such triggers.  Only TRIGGER_DISABLED triggers count
 * as not firing: the others depend on session_replication_role.
 */
static void
drop_unfired_before_row_flags(TriggerDesc *trigdesc)
{
	bool		insert_fires = false;
	bool		update_fires = false;

	for (int i = 0; i < trigdesc->numtriggers; i++)
	{
		Trigger    *t = &trigdesc->triggers[i];

		if (t->tgenabled == TRIGGER_DISABLED ||
			!TRIGGER_FOR_ROW(t->tgtype) || !TRIGGER_FOR_BEFORE(t->tgtype))
			continue;
		if (TRIGGER_FOR_INSERT(t->tgtype))
			insert_fires = true;
		if (TRIGGER_FOR_UPDATE(t->tgtype))
			update_fires = true;
	}
	if (!insert_fires)
		trigdesc->trig_insert_before_row = false;
	if (!update_fires)
		trigdesc->trig_update_before_row = false;
}

/*
 * ExecutorStart hook: in a backfill batch, the users' triggers on the
 * table being backfilled do not fire.  The batch writes only the columns
 * the migration derives, as ALTER TABLE's rewrite of a column would, so a
 * "last modified" trigger must not restamp every row, an audit trigger
 * must not log every row, and a trigger written for the application's
 * search_path must not fail the backfill.  What does fire: internal
 * triggers (foreign-key checks of the new column, deferred unique
 * checks) and pg_steward's own (the dual-write trigger, which leaves a
 * batch's rows alone).  Only this statement's executor copy of the
 * trigger descriptor is changed (as ALTER TABLE DISABLE TRIGGER USER
 * would, for this statement alone): other sessions and this session's
 * other statements fire every trigger.  session_replication_role =
 * replica would also skip the foreign-key checks and make the steward AM
 * store rows without its rules (and forget its state counts).
 *
 * The dual-write trigger returns a batch's rows unchanged
 * (steward_migration_backfilling_rows), so it is left out of the batch
 * statement itself too, and once no BEFORE ROW trigger remains the
 * descriptor says so: the executor then updates each row directly
 * instead of locking it first for the trigger (GetTupleForTrigger), which
 * wrote one Heap/LOCK WAL record per backfilled row -- a fifth of a
 * backfill's WAL.  A statement the batch runs in turn (started deeper
 * than the batch's own level, own_nest: an up or down whose function
 * writes its own table) keeps the dual-write trigger, so the rows it
 * writes carry both shapes and the marker: left out, its inserts were
 * rows left unfilled that the backfill's end, trusting that no row
 * becomes unfilled again, did not count (codereview8 L5).  Such a
 * statement keeps the users' triggers too: its rows are whole rows of
 * the user's own making, as when the same up runs in an application's
 * write (readme39 M1).
 */
static void
migrate_executor_start(QueryDesc *queryDesc, int eflags)
{
	ListCell   *lc;
	bool		batch_itself;

	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (!OidIsValid(backfill_relid) || queryDesc->estate == NULL)
		return;
	/* Only the batch statement itself, started at its level (see above). */
	batch_itself = own_sql_depth > 0 && own_nest == own_sql_nest;
	if (!batch_itself)
		return;
	foreach(lc, queryDesc->estate->es_opened_result_relations)
	{
		ResultRelInfo *rri = (ResultRelInfo *) lfirst(lc);
		TriggerDesc *trigdesc = rri->ri_TrigDesc;

		if (trigdesc == NULL || RelationGetRelid(rri->ri_RelationDesc) != backfill_relid)
			continue;
		for (int i = 0; i < trigdesc->numtriggers; i++)
		{
			Trigger    *t = &trigdesc->triggers[i];

			if (!t->tgisinternal &&
				(!steward_function_is_own(t->tgfoid) || is_dual_write_trigger(t)))
				t->tgenabled = TRIGGER_DISABLED;
		}
		drop_unfired_before_row_flags(trigdesc);
	}
}

/* The next executor-run, executor-finish and planner hooks. */
static void
next_executor_run(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
				  bool execute_once)
{
	if (prev_executor_run)
		prev_executor_run(queryDesc, direction, count, execute_once);
	else
		standard_ExecutorRun(queryDesc, direction, count, execute_once);
}

static void
next_executor_finish(QueryDesc *queryDesc)
{
	if (prev_executor_finish)
		prev_executor_finish(queryDesc);
	else
		standard_ExecutorFinish(queryDesc);
}

static PlannedStmt *
next_planner(Query *parse, const char *query_string, int cursorOptions,
			 ParamListInfo boundParams)
{
	if (prev_planner)
		return prev_planner(parse, query_string, cursorOptions, boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/*
 * Executor and planner hooks and the utility step: count own_nest while
 * a statement of _migration_exec or a watched one
 * (steward_statement_nest_watch) runs.  Otherwise they only test two
 * ints and call the next hook: no PG_TRY (a sigsetjmp) on every
 * statement of the cluster.
 */
static inline bool
counting_nest(void)
{
	return own_sql_depth > 0 || nest_watchers > 0;
}

static void
migrate_executor_run(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
					 bool execute_once)
{
	if (!counting_nest())
	{
		next_executor_run(queryDesc, direction, count, execute_once);
		return;
	}
	own_nest++;
	PG_TRY();
	{
		next_executor_run(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		own_nest--;
	}
	PG_END_TRY();
}

static void
migrate_executor_finish(QueryDesc *queryDesc)
{
	if (!counting_nest())
	{
		next_executor_finish(queryDesc);
		return;
	}
	own_nest++;
	PG_TRY();
	{
		next_executor_finish(queryDesc);
	}
	PG_FINALLY();
	{
		own_nest--;
	}
	PG_END_TRY();
}

static PlannedStmt *
migrate_planner(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	PlannedStmt *result;

	if (!counting_nest())
		return next_planner(parse, query_string, cursorOptions, boundParams);
	own_nest++;
	PG_TRY();
	{
		result = next_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		own_nest--;
	}
	PG_END_TRY();
	return result;
}

/*
 * Utility step, innermost (plumbing/utility.h): a utility statement
 * counts one level of own_nest while it runs, core's ProcessUtility only.
 */
static void
migrate_wrap_utility(StewardUtilityCall *call)
{
	if (!counting_nest())
	{
		steward_utility_proceed(call);
		return;
	}
	own_nest++;
	PG_TRY();
	{
		steward_utility_proceed(call);
	}
	PG_FINALLY();
	{
		own_nest--;
	}
	PG_END_TRY();
}

static const StewardUtilityStep migrate_utility_step = {
	.wrap = migrate_wrap_utility,
};

/* Syscache callback: the steward schema may have been dropped or made again. */
static void
forget_steward_nsp(Datum arg, int cacheid, uint32 hashvalue)
{
	steward_nsp_cache = InvalidOid;
}

/*
 * Is fn_oid one of pg_steward's own functions: in schema steward, where
 * no other role may create one?  The one test of "ours" for triggers and
 * functions a user could name like ours (the backfill's trigger filter,
 * steward_fires_after_dual_write).  InvalidOid, or no schema steward: no.
 * The schema's OID is cached (steward_nsp_cache, forgotten on any change
 * of pg_namespace); one syscache look-up, no lock, raises nothing.
 */
bool
steward_function_is_own(Oid fn_oid)
{
	if (!OidIsValid(steward_nsp_cache))
		steward_nsp_cache = get_namespace_oid(STEWARD_SCHEMA, true);
	return OidIsValid(fn_oid) && OidIsValid(steward_nsp_cache) &&
		get_func_namespace(fn_oid) == steward_nsp_cache;
}

/*
 * True when fn_oid is one of pg_steward's own PL/pgSQL functions (schema
 * steward, neither C nor SQL: SQL functions would no longer be inlined);
 * *event_trigger (when not NULL) then says whether it is an event trigger
 * function, *internal whether it is an internal one (name beginning with
 * an underscore) rather than an entry point of the documented API,
 * *secdef whether it is SECURITY DEFINER.  Two syscache look-ups, no
 * lock, raises nothing.
 */
static bool
steward_code_kind(Oid fn_oid, bool *event_trigger, bool *internal, bool *secdef)
{
	HeapTuple	tup;
	bool		result = false;

	if (!IsTransactionState())
		return false;
	if (!OidIsValid(steward_nsp_cache))
		steward_nsp_cache = get_namespace_oid("steward", true);
	if (!OidIsValid(steward_nsp_cache))
		return false;
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn_oid));
	if (HeapTupleIsValid(tup))
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(tup);

		result = proc->pronamespace == steward_nsp_cache &&
			proc->prolang != ClanguageId && proc->prolang != INTERNALlanguageId &&
			proc->prolang != SQLlanguageId;
		if (event_trigger != NULL)
			*event_trigger = proc->prorettype == EVENT_TRIGGEROID;
		if (internal != NULL)
			*internal = NameStr(proc->proname)[0] == '_';
		if (secdef != NULL)
			*secdef = proc->prosecdef;
		ReleaseSysCache(tup);
	}
	return result;
}

static bool
steward_code(Oid fn_oid)
{
	return steward_code_kind(fn_oid, NULL, NULL, NULL);
}

/*
 * needs_fmgr_hook: pg_steward's PL/pgSQL functions go through
 * fmgr_security_definer, which calls migrate_fmgr_hook around them.
 */
static bool
migrate_needs_fmgr_hook(Oid fn_oid)
{
	if (prev_needs_fmgr_hook && prev_needs_fmgr_hook(fn_oid))
		return true;
	return steward_code(fn_oid);
}

/*
 * fmgr_hook: counts pg_steward's PL/pgSQL functions running in this
 * backend (steward_code_stack), so that _migration_exec can tell its
 * callers from a direct call (steward_migrate_called_from_own_code).  Only
 * FHET_START looks the function up; FHET_END and FHET_ABORT (an error
 * unwinding, inner frames first) pop the top entry when it is this
 * function's.  Functions pass here only when needs_fmgr_hook said so,
 * for us or for a hook before us: a function that is not on top was
 * never pushed.
 */
static void
push_frame(Oid fn_oid, bool event_trigger, bool trusted, bool reports)
{
	if (steward_code_depth >= steward_code_stack_size)
	{
		int			size = Max(16, steward_code_stack_size * 2);

		steward_code_stack = steward_code_stack == NULL ?
			MemoryContextAlloc(TopMemoryContext, size * sizeof(StewardFrame)) :
			repalloc(steward_code_stack, size * sizeof(StewardFrame));
		steward_code_stack_size = size;
	}
	steward_code_stack[steward_code_depth].fn_oid = fn_oid;
	steward_code_stack[steward_code_depth].nest = own_nest;
	steward_code_stack[steward_code_depth].event_trigger = event_trigger;
	steward_code_stack[steward_code_depth].trusted = trusted;
	steward_code_stack[steward_code_depth].reports = reports;
	steward_code_stack[steward_code_depth].barrier = steward_owner_code_depth();
	steward_code_depth++;
}

/*
 * Is the code running now pg_steward's own (not counting statements of
 * _migration_exec, see steward_migrate_called_from_own_code)?  The
 * innermost of pg_steward's functions running must be trusted and no
 * owner-defined code must have begun above it.  A function is trusted
 * when it is an entry point of the documented API or an event trigger
 * (which do their own checks for whoever calls them), or when it began
 * where the code running was pg_steward's own, or when its caller is a
 * superuser (who may write the catalog anyway; the owner's code runs as
 * the owner): an internal function (steward._...) called directly, or by
 * the owner's code that a pg_steward statement runs, is not (review13
 * R13-8).
 *
 * It fails closed: with none of pg_steward's functions counted, nothing
 * is pg_steward's own code.  That is the case of every function that
 * began before the library was loaded (a session without preloading):
 * the hook was not in place to count it, and whether it was one of
 * pg_steward's entry points or a user's function, a DO block or an
 * internal function called directly cannot be told afterwards (review14
 * R14-7, codereview2 #1: a load from within such a function passed for
 * pg_steward's own code for the rest of the transaction, and later DO
 * blocks too).  The documented PL/pgSQL entry points therefore begin by
 * asking steward._migration_entered whether they were counted, and when
 * not call themselves again, counted (see there); the C entry points
 * (migration_start, the relayout trigger) count themselves
 * (steward_own_code_enter).
 */
static bool
own_context(void)
{
	StewardFrame *top;

	if (steward_code_depth == 0)
		return false;
	top = &steward_code_stack[steward_code_depth - 1];
	return top->trusted && top->barrier == steward_owner_code_depth();
}

/*
 * The superuser exemption judges the function's caller: at FHET_START the
 * current user is the caller's for a function that is not SECURITY
 * DEFINER, but the definer's for one that is (fmgr_security_definer
 * switches before it calls the hook), and the installing superuser owns
 * pg_steward's functions.  A SECURITY DEFINER function of pg_steward's is
 * therefore never trusted through this path, whoever calls it
 * (codereview2 #4): only as an event trigger or when pg_steward's own
 * code calls it.  What its body calls runs as the definer, which is then
 * the caller those functions see.
 *
 * An error leaving one of the documented PL/pgSQL entry points
 * (run_transition, migration_backfill, migration_validate, ...) or an
 * event trigger of pg_steward's leaves without the CONTEXT lines of
 * pg_steward's own PL/pgSQL code (steward_strip_own_context: "PL/pgSQL
 * function steward._migration_require(...) line 26 at RAISE" and the
 * statements calling it), as migration_start's do; the user's code's lines
 * stay.  FHET_ABORT is called in fmgr_security_definer's PG_CATCH, right
 * before it re-throws: steward_strip_own_context replaces the error on the
 * stack (src/plumbing/own_context.c).
 */
static void
migrate_fmgr_hook(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private)
{
	if (prev_fmgr_hook)
		prev_fmgr_hook(event, flinfo, private);
	if (event == FHET_START)
	{
		bool		event_trigger = false;
		bool		internal = true;
		bool		secdef = true;

		if (!steward_code_kind(flinfo->fn_oid, &event_trigger, &internal, &secdef))
			return;
		if (flinfo->fn_oid == recalling_fn)
			recalling_fn = InvalidOid;
		push_frame(flinfo->fn_oid, event_trigger,
				   event_trigger || !internal || own_context() || (!secdef && superuser()),
				   event_trigger || !internal);
	}
	else if (steward_code_depth > 0 &&
			 steward_code_stack[steward_code_depth - 1].fn_oid == flinfo->fn_oid)
	{
		bool		reports = steward_code_stack[steward_code_depth - 1].reports;

		steward_code_depth--;
		if (event == FHET_ABORT && reports)
			steward_strip_own_context(NULL);
	}
}

/*
 * True when the SQL-callable C function running now was called by
 * pg_steward's own PL/pgSQL code, not directly by a statement (or a
 * function) of the session's, and not from within a statement that
 * _migration_exec runs (where the table owner's triggers, defaults and
 * functions run).  Fails closed: false when none of pg_steward's
 * functions is counted (own_context).  Reads backend-local counters only:
 * takes no lock, raises nothing.
 */
bool
steward_migrate_called_from_own_code(void)
{
	if (own_sql_depth > 0)
		return false;
	return own_context();
}

/*
 * A C function of pg_steward's about to call its PL/pgSQL functions
 * (through SPI or the function manager) counts as pg_steward's own code
 * for them: trusted when it is an entry point or a trigger core fires,
 * else as trusted as the code that called it.  Returns the depth to give
 * steward_own_code_leave, which the caller calls also on error
 * (PG_FINALLY).  Backend-local, no lock.  Errors: only out of memory when
 * the frame stack grows (in TopMemoryContext).
 */
int
steward_own_code_enter(bool entry_point)
{
	int			depth = steward_code_depth;

	push_frame(InvalidOid, false, entry_point || own_context(), false);
	return depth;
}

/*
 * End what steward_own_code_enter began (depth: what it returned), and
 * any frame pushed above it that an error left.  Backend-local, no lock;
 * raises nothing, so it is safe in PG_FINALLY and error cleanup.
 */
void
steward_own_code_leave(int depth)
{
	if (steward_code_depth > depth)
		steward_code_depth = depth;
}

/*
 * CALL steward._commit(): the COMMIT of pg_steward's own procedures (the
 * batch loops of run_transition and of the migrations' backfills and
 * index builds).  A COMMIT runs code that is not pg_steward's: the
 * deferred triggers and constraint checks the transaction queued (the
 * caller's, from before its CALL) and the rest of a cursor loop of the
 * caller's that runs the CALL, which the COMMIT reads to its end
 * (HoldPinnedPortals).  A plain COMMIT in the procedure ran that code
 * with the procedure on top of the counted stack, where it passed for
 * pg_steward's own code (own_context): a user's deferred trigger opened a
 * run with steward._transition_prepare that stayed "running"
 * (codereview15 C7).  Here the COMMIT runs as owner-defined code
 * (steward_owner_code_enter), and a new transaction begins, as with
 * COMMIT.  Needs a CALL that may end transactions (a procedure without SET
 * clause or SECURITY DEFINER, CALLed so, outside a transaction block and
 * any function): else SPI_commit's 2D000, as core's COMMIT.  Takes no
 * lock; errors: what the COMMIT raises.
 */
Datum
steward_commit(PG_FUNCTION_ARGS)
{
	/*
	 * The CALL's own atomicity: connecting non-atomic whatever the caller
	 * let SPI_commit end a transaction from a function, or from a
	 * procedure CALLed by one or in a transaction block, where core's
	 * COMMIT raises 2D000; any role got XX000 there ("portal snapshots
	 * did not account for all active snapshots", "InstrStartNode called
	 * twice in a row") and in a transaction block the call did nothing
	 * (codereview16 C5).
	 */
	bool		atomic = !(fcinfo->context != NULL && IsA(fcinfo->context, CallContext) &&
						   !((CallContext *) fcinfo->context)->atomic);
	int			depth = steward_owner_code_enter();

	PG_TRY();
	{
		if (SPI_connect_ext(atomic ? 0 : SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		SPI_commit();
		SPI_finish();
	}
	PG_FINALLY();
	{
		steward_owner_code_leave(depth);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/*
 * From _PG_init, in every backend that loads the library (column
 * migrations work without preloading): the backfill's ExecutorStart hook
 * and the function manager hooks that count pg_steward's own code, and
 * the syscache callbacks that forget the cached steward schema and the
 * kept plans of migration statements (steward_kept_plans_install).  Takes no lock; raises nothing but core's FATAL
 * when the backend's syscache callback slots (MAX_SYSCACHE_CALLBACKS)
 * are full.
 */
void
steward_migrate_install_hooks(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = migrate_executor_start;
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = migrate_executor_run;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = migrate_executor_finish;
	prev_planner = planner_hook;
	planner_hook = migrate_planner;
	steward_utility_register(STEWARD_UTILITY_MIGRATE, &migrate_utility_step);
	prev_needs_fmgr_hook = needs_fmgr_hook;
	needs_fmgr_hook = migrate_needs_fmgr_hook;
	prev_fmgr_hook = fmgr_hook;
	fmgr_hook = migrate_fmgr_hook;
	CacheRegisterSyscacheCallback(NAMESPACEOID, forget_steward_nsp, (Datum) 0);
	steward_kept_plans_install();
}

/*
 * _PG_init: define the migration settings (docs/settings.md), all
 * PGC_USERSET because each migration runs in its caller's session and
 * only ever paces that session's own DDL; then the relayout's.  Times use
 * Postgres units (GUC_UNIT_MS, GUC_UNIT_S).  Takes no lock.  Raises
 * nothing but out of memory (53200): a value set before the library was
 * loaded that the bounds reject is a WARNING, and the default stays
 * (core's define_custom_variable).
 */
void
steward_migrate_define_gucs(void)
{
	DefineCustomIntVariable("steward.migration_lock_timeout",
							"lock_timeout of every DDL statement a migration issues.",
							"A migration never waits longer than this for a lock, so the "
							"table's traffic never queues behind it for longer; it backs off "
							"and tries again.",
							&migrate_lock_timeout_ms,
							500, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.migration_index_window",
							"How long a drop_index migration watches its index for scans before cleanup may drop it.",
							"Cleanup refuses (unless the step has force) to drop an index that was "
							"scanned since the migration started, or watched for less than this.",
							&migrate_index_window_s,
							3600, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.migration_lock_retries",
							"How many times a migration step tries to take its locks before it gives up.",
							NULL,
							&migrate_lock_retries,
							30, 1, 100000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.migration_batch_size",
							"Rows per committed batch of steward.migration_backfill when none is given.",
							NULL,
							&migrate_batch_size,
							2000, 1, 1000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.migration_backfill_interleave",
							"Stripes of each window of steward.migration_backfill: 1 writes each batch's rows in key order.",
							"A window of this many batches is written in as many committed stripes, "
							"each taking every n-th row of its pages, so later stripes update in place "
							"what a key-ordered batch would move to new pages.",
							&migrate_backfill_interleave,
							1, 1, 64,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	steward_index_define_gucs();
	steward_relayout_define_gucs();
}

/*
 * For the dual-write trigger, and the access method's rule-kind callback
 * (tableam/rulekinds.h): is this backend running a backfill batch that
 * writes relid, and is the row written by the batch statement itself
 * (the trigger and the access method run at the batch's level plus its
 * run; so do the lazily opened partitions it routes rows to), not by a
 * statement the batch runs in turn (an up or down writing its own table:
 * its rows get both shapes, migrate_executor_start, and meet the table's
 * version, sequence and state rules)?  Only the batch's own rows keep
 * their versions and states.  Backend-local, no lock, raises nothing.
 */
bool
steward_migration_backfilling_rows(Oid relid)
{
	return OidIsValid(backfill_relid) && relid == backfill_relid &&
		own_sql_depth > 0 && own_nest == own_sql_nest + 1;
}

/*
 * Begin counting statement nesting (own_nest) for a caller that must
 * tell the statement it runs from the statements that one runs in turn
 * (a relayout's apply statement, relayout.c: only its own rows are
 * stored as sent; a function a CHECK constraint calls writes at a deeper
 * level).  Returns the level now: the statement the caller runs next
 * executes at that level + 1 (steward_statement_nest).  The caller ends
 * it with steward_statement_nest_unwatch, also on error (PG_FINALLY).
 * Backend-local counters, no lock, raises nothing.
 */
int
steward_statement_nest_watch(void)
{
	nest_watchers++;
	return own_nest;
}

/*
 * End what steward_statement_nest_watch began.  Backend-local counter, no
 * lock, raises nothing.
 */
void
steward_statement_nest_unwatch(void)
{
	nest_watchers--;
}

/*
 * How deep this backend is in statements (own_nest), meaningful while a
 * watch (steward_statement_nest_watch) or a statement of _migration_exec
 * runs.  Backend-local, no lock, raises nothing.
 */
int
steward_statement_nest(void)
{
	return own_nest;
}

/*
 * Refuse (42501) a direct call of an internal function for what only
 * pg_steward's own code may ask of it (steward_migrate_called_from_own_code).
 * Always raises; takes no lock.
 */
void
steward_migrate_refuse_direct_call(const char *fn, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s runs %s only for pg_steward's migration functions", fn, what),
			 errdetail("It was called directly, or from a statement a migration runs."),
			 errhint("Use steward.migration_backfill and the other migration functions.")));
}

/*
 * True when the DDL statement about to run is the migration's own, which
 * the DDL guard (relayout.c) lets pass: a statement of
 * steward._migration_exec called by pg_steward's own code (own_sql_nest +
 * 1), or DDL issued by pg_steward's own PL/pgSQL code that an event
 * trigger fired by such a statement runs (a partition the statement
 * creates under a layout gets the TRUNCATE guard).  DDL in user code such
 * a statement evaluates -- an up expression in a backfill batch or a
 * validation scan, a check during VALIDATE CONSTRAINT, a trigger -- is
 * not (recheck10 N2), nor is DDL of pg_steward's functions that user code
 * calls there (mig4).  An error resets the counts (PG_FINALLY, fmgr
 * FHET_ABORT).  Backend-local, no lock, raises nothing.
 */
bool
steward_migration_running_own_sql(void)
{
	int			outer = -1;

	if (own_sql_depth <= 0)
		return false;
	if (own_nest == own_sql_nest + 1)
		return true;

	/*
	 * The outermost of pg_steward's functions that began below the
	 * statement must be an event trigger the statement itself fired (at
	 * own_sql_nest + 1; an event trigger function is never called, only
	 * fired): one of pg_steward's functions the owner's code called there
	 * -- an up expression calling steward.release(), whose ALTER TABLE
	 * the guard refuses at top level -- runs the owner's DDL, judged like
	 * any other (mig4).  DDL is at least two levels below the statement
	 * when user code issues it, so an event trigger it fires is deeper.
	 */
	for (int i = steward_code_depth - 1; i >= 0 && steward_code_stack[i].nest > own_sql_nest; i--)
		outer = i;
	return outer >= 0 && steward_code_stack[outer].event_trigger &&
		steward_code_stack[outer].nest == own_sql_nest + 1;
}

/*
 * The table whose migration's own statement runs now (the tbl argument of
 * the innermost steward._migration_exec), or InvalidOid when
 * steward_migration_running_own_sql() is false.  The shape guard lets
 * such a statement use that migration's shapes only (review16 R16-7).
 * Backend-local, no lock, raises nothing.
 */
Oid
steward_migration_own_sql_relid(void)
{
	return steward_migration_running_own_sql() ? own_sql_relid : InvalidOid;
}

/*
 * Run sql (steward_migration_exec's statement, as the owner already):
 * a backfill statement or a relayout's batch (batch) with its kept plan,
 * another parsed and planned now.  Leaves its result in SPI_tuptable;
 * raises what the statement raises, 0A000 or 22023 for a statement SPI
 * cannot run.
 */
static void
exec_statement(const char *sql, bool backfill, bool batch, Oid owner, Oid relid, int nargs,
			   Oid *argtypes, Datum *args, const char *nulls)
{
	int			rc;

	if (backfill || batch)
	{
		/*
		 * Generic plans: the pinned settings already choose the key order
		 * (and a relayout batch's index probes), and a custom plan would
		 * be made at every batch.
		 */
		StewardPlanScope scope = {owner, relid, CURSOR_OPT_GENERIC_PLAN};

		rc = steward_spi_execute_kept(sql, nargs, argtypes, args, nulls, &scope);
	}
	else
		rc = SPI_execute_with_args(sql, nargs, argtypes, args, nulls, false, 0);

	/*
	 * A negative code is a statement SPI cannot run (COPY to or from the
	 * client, COMMIT, ROLLBACK): the caller's text, so the caller's error,
	 * not an internal one.
	 */
	if (rc < 0)
		ereport(ERROR,
				(errcode(rc == SPI_ERROR_ARGUMENT ? ERRCODE_INVALID_PARAMETER_VALUE
						 : ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot run this statement as a migration statement: %s",
						SPI_result_code_string(rc)),
				 errdetail("Statement: %s", sql)));
}

/*
 * The settings a batch statement runs under (inside steward_migration_exec's
 * GUC nest level, which steward_as_owner_end rolls back): a backfill's
 * (backfill; its writes to relid also bypass the dual-write trigger:
 * backfill_relid) or a relayout batch's (batch).  No lock; raises nothing.
 */
static void
pin_batch_plan(bool backfill, bool batch, Oid relid)
{
	if (backfill)
	{
		/* Batches read the key in order whatever the statistics say. */
		steward_pin_key_order_plan();
		steward_governor_pin_batch_wal_compression();
		backfill_relid = relid;
	}
	else if (batch)
	{
		/*
		 * A relayout's batch reads the old layout in key order too, and
		 * looks each row up in the new layout through its key's index (an
		 * anti join probing per row): the planner's choice with a kept
		 * generic plan or a custom one, a merge anti join, read the new
		 * layout from its first key at every batch: a relayout of 100k
		 * rows at batch size 200 took 5.05 s of CPU, 1.23 s with the
		 * probes and kept plans (test/bench/migrate/cpu.sh, MIGRATION=
		 * a relayout).
		 */
		static const char *const probe[][2] = {
			{"enable_mergejoin", "off"},
			{"enable_hashjoin", "off"},
		};

		steward_pin_key_order_plan();
		steward_pin_settings(probe, lengthof(probe));
	}
}

/*
 * steward._migration_exec(tbl regclass, sql text, args text[] DEFAULT NULL,
 *                         backfill boolean DEFAULT false) -> text[]
 *
 * Run one statement as the owner of tbl (the caller must own it: 42501),
 * security-restricted, search_path = pg_catalog, pg_temp; args are bound
 * as text parameters $1..$n.  Returns the first row as text (NULL when
 * there is none).  With backfill, writes to tbl by this statement bypass
 * the dual-write trigger and keep row versions and states
 * (steward_migration_backfilling_rows; not the writes of statements it
 * runs in turn).
 * Only a call from pg_steward's own PL/pgSQL functions makes the statement
 * the migration's own, which the DDL guard lets pass, and may ask for
 * backfill (42501 otherwise): called directly (PUBLIC may execute it, as
 * the migration functions run as their caller), the statement runs as the
 * owner would run it, under the guard.
 * Locks: whatever the statement takes, under the caller's lock_timeout.
 */
Datum
steward_migration_exec(PG_FUNCTION_ARGS)
{
	return migration_exec(fcinfo, false);
}

/*
 * steward._migration_refuse_temporary(rel regclass) -> void
 *
 * 0A000 when rel is a temporary table, which no migration can change
 * (steward_refuse_temporary, the same check as a column rule's or a
 * retention setting's); nothing for any other relation, an OID naming
 * none, or NULL (STRICT).  Called last by each step kind's table check
 * at migration_start.  Takes no lock.
 */
Datum
steward_migration_refuse_temporary(PG_FUNCTION_ARGS)
{
	steward_refuse_temporary(PG_GETARG_OID(0), NULL);
	PG_RETURN_VOID();
}

/*
 * steward_migration_exec for a relayout's batch (steward._relayout_exec):
 * the statement's plan is kept for the backend (steward_spi_execute_kept,
 * keyed by the text, the table and its owner), since a relayout runs the
 * same two texts at every batch.  Locks and errors as
 * steward_migration_exec.
 */
Datum
steward_migration_exec_batch(FunctionCallInfo fcinfo)
{
	return migration_exec(fcinfo, true);
}

/* steward_migration_exec, with the statement's plan kept when batch. */
static Datum
migration_exec(FunctionCallInfo fcinfo, bool batch)
{
	Oid			relid;
	char	   *sql;
	int			nargs = 0;
	Datum	   *args = NULL;
	bool	   *argnulls = NULL;
	Oid		   *argtypes = NULL;
	char	   *nulls = NULL;
	bool		backfill = !PG_ARGISNULL(3) && PG_GETARG_BOOL(3);
	bool		own;
	int			saved_sql_nest = 0;
	Oid			saved_sql_relid = InvalidOid;
	Oid			owner;
	StewardAsOwner user;
	ArrayType  *result = NULL;
	MemoryContext outer = CurrentMemoryContext;

	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "statement");
	relid = PG_GETARG_OID(0);
	sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
	{
		deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false, TYPALIGN_INT,
						  &args, &argnulls, &nargs);
		argtypes = palloc(sizeof(Oid) * Max(nargs, 1));
		nulls = palloc(Max(nargs, 1));
		for (int i = 0; i < nargs; i++)
		{
			argtypes[i] = TEXTOID;
			nulls[i] = argnulls[i] ? 'n' : ' ';
		}
	}

	steward_check_table_owner(relid);
	own = steward_migrate_called_from_own_code();
	if (backfill && !own)
		steward_migrate_refuse_direct_call("steward._migration_exec", "a backfill statement");
	owner = steward_relation_owner(relid);
	/* Backfills, checks and rollbacks read and write every row, or none. */
	steward_require_owner_sees_all_rows(relid, "a migration");

	steward_as_role_begin(owner, STEWARD_PINNED_SEARCH_PATH, true, &user);
	steward_pin_output_settings();
	steward_pin_all_rows();
	pin_batch_plan(backfill, batch, relid);
	if (own)
	{
		saved_sql_nest = own_sql_nest;
		saved_sql_relid = own_sql_relid;
		own_sql_nest = own_nest;
		own_sql_relid = relid;
		own_sql_depth++;
	}
	PG_TRY();
	{
		exec_statement(sql, backfill, batch, owner, relid, nargs, argtypes, args, nulls);
	}
	PG_FINALLY();
	{
		backfill_relid = InvalidOid;
		if (own)
		{
			own_sql_depth--;
			own_sql_nest = saved_sql_nest;
			own_sql_relid = saved_sql_relid;
		}
	}
	PG_END_TRY();

	if (SPI_tuptable != NULL && SPI_processed > 0)
	{
		TupleDesc	desc = SPI_tuptable->tupdesc;
		int			natts = desc->natts;
		Datum	   *values;
		bool	   *isnull;
		int			dims[1];
		int			lbs[1] = {1};
		MemoryContext old = MemoryContextSwitchTo(outer);

		values = palloc(sizeof(Datum) * Max(natts, 1));
		isnull = palloc(sizeof(bool) * Max(natts, 1));
		for (int i = 0; i < natts; i++)
		{
			char	   *v = SPI_getvalue(SPI_tuptable->vals[0], desc, i + 1);

			isnull[i] = (v == NULL);
			values[i] = v ? CStringGetTextDatum(v) : (Datum) 0;
		}
		dims[0] = natts;
		result = construct_md_array(values, isnull, 1, dims, lbs, TEXTOID, -1, false,
									TYPALIGN_INT);
		MemoryContextSwitchTo(old);
	}
	steward_as_owner_end(&user);

	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_ARRAYTYPE_P(result);
}

/*
 * steward.migration_start(name text, steps jsonb) -> void
 *
 * The work is steward._migration_start (migrate.sql), which pins its
 * search_path like every function of the extension; table names, types
 * and expressions in the steps are the caller's, written against the
 * caller's search_path, which is handed over here.  Locks: see
 * src/migrate/README.md "Locking" (ACCESS EXCLUSIVE on each table of the
 * migration, and on what the step redefines, under
 * steward.migration_lock_timeout, to transaction end); this function
 * takes none of its own.  Errors: 42883 when steward._migration_start
 * (text, jsonb, text) is missing (SQL objects older than the library);
 * otherwise what _migration_start raises, among them 22004 (a NULL name
 * or steps), 22023 (a malformed step), 25000 (not READ COMMITTED), 42710
 * (the name is taken), 42501 (a table the caller does not own), 40001 (a
 * table changed while start waited for its locks) and 55P03 (the locks
 * not granted in steward.migration_lock_retries tries).  Errors come
 * without the CONTEXT lines of pg_steward's own code
 * (steward_strip_own_context).
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_migration_start(PG_FUNCTION_ARGS)
{
	char	   *path = pstrdup(GetConfigOption("search_path", false, false));
	Oid			argtypes[3] = {TEXTOID, JSONBOID, TEXTOID};
	Oid			fn;
	FmgrInfo	flinfo;
	int			depth;
	LOCAL_FCINFO(call, 3);

	steward_require_writable("steward.migration_start()");
	/* A direct call: no "SQL statement" context line in the caller's errors. */
	fn = LookupFuncName(list_make2(makeString(STEWARD_SCHEMA), makeString("_migration_start")),
						3, argtypes, false);
	fmgr_info(fn, &flinfo);
	InitFunctionCallInfoData(*call, &flinfo, 3, InvalidOid, NULL, NULL);
	for (int i = 0; i < 2; i++)
	{
		call->args[i].isnull = PG_ARGISNULL(i);
		call->args[i].value = PG_ARGISNULL(i) ? (Datum) 0 : PG_GETARG_DATUM(i);
	}
	call->args[2].isnull = false;
	call->args[2].value = CStringGetTextDatum(path);
	depth = steward_own_code_enter(true);
	PG_TRY();
	{
		(void) FunctionCallInvoke(call);
	}
	PG_CATCH();
	{
		steward_own_code_leave(depth);
		steward_strip_own_context(NULL);
		PG_RE_THROW();
	}
	PG_END_TRY();
	steward_own_code_leave(depth);
	refuse_triggers_after_dual_write(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	warn_trigger_users(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/*
 * The end of migration_start: a WARNING for each user trigger on its
 * tables whose function body names an old column complete renames or
 * drops (steward._migration_warn_trigger_users, review26 R4).  The
 * start's own rows, which this statement wrote.  Takes no lock.
 */
static void
warn_trigger_users(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (steward_spi_read_latest("SELECT steward._migration_warn_trigger_users($1)",
								1, argtypes, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not run steward._migration_warn_trigger_users");
	SPI_finish();
}

/*
 * The end of migration_start: each table of migration name that got the
 * dual-write trigger has no trigger of the user's firing after it
 * (steward_refuse_triggers_after_dual_write, 55000; review26 R1), in the
 * start's transaction, which the error rolls back.  The start holds the
 * tables' ACCESS EXCLUSIVE locks.
 */
static void
refuse_triggers_after_dual_write(const char *name)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	MemoryContext outer = CurrentMemoryContext;
	List	   *relids;
	ListCell   *lc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* The start's own rows: this statement wrote them. */
	if (steward_spi_read_latest("SELECT relid::pg_catalog.oid FROM steward.migration_tables"
								" WHERE migration OPERATOR(pg_catalog.=) $1 AND active",
								1, argtypes, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_tables");
	relids = steward_spi_oids(outer);
	SPI_finish();
	foreach(lc, relids)
		steward_refuse_triggers_after_dual_write(lfirst_oid(lc), name);
}

/* The tables of an active migration; 42704 if it does not exist, 55000 if it is over. */
static List *
migration_tables(const char *name, MemoryContext outer)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(name)};
	List	   *relids = NIL;

	/*
	 * This and the other catalog statements of _migration_record run once
	 * per backfill batch: parsing and planning them each time cost more
	 * than running them, so their plans are kept (steward_spi_execute_own).
	 */
	if (steward_spi_execute_own("SELECT 1 FROM steward.migration_runs WHERE name = $1",
								1, argtypes, args, NULL, InvalidSnapshot, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_runs");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("migration \"%s\" does not exist", name),
				 errhint("steward.migrations lists the migrations.")));
	if (steward_spi_execute_own("SELECT relid::oid FROM steward.migration_tables"
								" WHERE migration = $1 AND active ORDER BY ord",
								1, argtypes, args, NULL, InvalidSnapshot, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.migration_tables");
	relids = steward_spi_oids(outer);
	/* Finished (or all its tables dropped): nothing may change its record. */
	if (relids == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("migration \"%s\" is not active", name)));
	return relids;
}

/*
 * Every table a catalog record names: data->'tables', the relid of each of
 * data->'table_rows' and data->'column_rows', data->'relid' (an index
 * step) and data->'release_relid' (a relayout's release, whose repoint
 * moves the other migrations' rows of that table onto the migration's:
 * unchecked, it moved another tenant's records, review13 R13-9).  Each must be a number (an OID): the writers read them as
 * regclass, which would also take a name, resolved by a search_path other
 * than the one this check would use (22P02 here instead).  All qualified:
 * this runs under the caller's search_path.
 */
static List *
tables_of_record(Jsonb *data, MemoryContext outer)
{
	Oid			argtypes[1] = {JSONBOID};
	Datum		args[1] = {JsonbPGetDatum(data)};
	List	   *relids = NIL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (steward_spi_execute_own(
			"WITH d(j) AS (SELECT $1), "
			"  a(k, v) AS (SELECT k, CASE WHEN pg_catalog.jsonb_typeof(j OPERATOR(pg_catalog.->) k)"
			"                                  OPERATOR(pg_catalog.=) 'array'"
			"                             THEN j OPERATOR(pg_catalog.->) k"
			"                             ELSE '[]'::pg_catalog.jsonb END"
			"                FROM d, (VALUES ('tables'), ('table_rows'), ('column_rows')) n(k)) "
			"SELECT r::pg_catalog.oid FROM ("
			"  SELECT pg_catalog.jsonb_array_elements_text(v) FROM a WHERE k OPERATOR(pg_catalog.=) 'tables'"
			"  UNION ALL"
			"  SELECT e OPERATOR(pg_catalog.->>) 'relid'"
			"    FROM a, pg_catalog.jsonb_array_elements(v) e WHERE k OPERATOR(pg_catalog.<>) 'tables'"
			"  UNION ALL"
			"  SELECT j OPERATOR(pg_catalog.->>) 'relid' FROM d"
			"  UNION ALL"
			"  SELECT j OPERATOR(pg_catalog.->>) 'release_relid' FROM d) s(r)"
			" WHERE r IS NOT NULL",
			1, argtypes, args, NULL, InvalidSnapshot, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the tables of a migration record");
	relids = steward_spi_oids(outer);
	SPI_finish();
	return relids;
}

/*
 * steward._migration_record(op text, name text, data jsonb) -> void
 *
 * Write the migration catalog: op is "create" (a new migration, its
 * tables and columns), "update" (phase, timestamps, progress, failure,
 * checkpoints), "validation" (results of migration_validate),
 * "relayout" (the new layout's table of a relayout step, listed in
 * data->'tables' like a "create" record's tables) or "index" (a step of
 * steward.migration_indexes, by migration and step).  The
 * caller must own every table of the migration, and be pg_steward's own
 * PL/pgSQL code (42501 both); the write itself,
 * steward._migration_record_<op>(name, data), runs as the catalog's owner.
 * A phase change invalidates the tables' relcache entries, so every
 * backend's dual-write trigger re-reads the migration.
 *
 * Locks, all to transaction end: AccessShareLock on migration_runs and
 * migration_tables (the migration's tables, read as the catalog's owner,
 * for any op but "create"); RowExclusiveLock on the catalog tables the
 * writer changes (migration_runs, migration_tables, migration_columns,
 * migration_validations, migration_indexes) and the row locks of its
 * UPDATEs.  None on the migration's tables: their owners are read from
 * the catalog cache (the caller holds the tables' locks).  Errors: 22004
 * (a NULL argument), 22023 (an unknown op, a "create" naming no table),
 * 22P02 (a relid in data that is no number; the writer's casts of other
 * fields too), 42P01 (a named relation that does not exist), 42501 (a
 * table the caller does not own, or a caller that is not pg_steward's own
 * code), 42704 (no such migration), 55000 (the migration is over), 23505
 * (a "create" whose name is taken, or whose table is in another active
 * migration: migration_tables_one_active).
 */
Datum
steward_migration_record(PG_FUNCTION_ARGS)
{
	char	   *op;
	char	   *name;
	Jsonb	   *data;
	StewardAsOwner ctx;
	List	   *relids;
	ListCell   *lc;
	static const char *const ops[] = {"create", "update", "validation", "relayout", "index"};
	int			opno;
	Oid			argtypes[2] = {TEXTOID, JSONBOID};
	Datum		args[2];
	char	   *call;

	steward_require_arg(fcinfo, 0, "op");
	steward_require_arg(fcinfo, 1, "migration name");
	steward_require_arg(fcinfo, 2, "data");
	op = text_to_cstring(PG_GETARG_TEXT_PP(0));
	name = text_to_cstring(PG_GETARG_TEXT_PP(1));
	data = PG_GETARG_JSONB_P(2);
	for (opno = 0; opno < lengthof(ops) && strcmp(op, ops[opno]) != 0; opno++)
		;
	if (opno == lengthof(ops))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown migration record operation \"%s\"", op)));

	/*
	 * The caller must own every table the record names (the rows it
	 * writes carry expressions and statements that later run as the owner
	 * of their table) and, for a record of an existing migration, every
	 * table of that migration.  The writers take the migration's name
	 * from "name" alone, never from data.
	 */
	relids = tables_of_record(data, CurrentMemoryContext);

	/*
	 * Owning the tables is the whole privilege check: a new record naming
	 * none would let any role take a migration's name.
	 */
	if (strcmp(op, "create") == 0 && relids == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a new migration record must name its tables")));
	if (strcmp(op, "create") == 0)
	{

		/* Who started it is the caller, whatever data says. */
		JsonbParseState *state = NULL;
		JsonbValue	k,
					v;
		char	   *who = GetUserNameFromId(GetUserId(), false);

		k.type = jbvString;
		k.val.string.val = "started_by";
		k.val.string.len = strlen("started_by");
		v.type = jbvString;
		v.val.string.val = who;
		v.val.string.len = strlen(who);
		(void) pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
		(void) pushJsonbValue(&state, WJB_KEY, &k);
		(void) pushJsonbValue(&state, WJB_VALUE, &v);
		data = DatumGetJsonbP(DirectFunctionCall2(jsonb_concat, JsonbPGetDatum(data),
												  JsonbPGetDatum(JsonbValueToJsonb(
													  pushJsonbValue(&state, WJB_END_OBJECT, NULL)))));
	}
	else
	{
		MemoryContext outer = CurrentMemoryContext;
		List	   *of_migration;

		/* Concatenated out here: inside, CurrentMemoryContext is SPI's. */
		steward_as_owner_begin(steward_relid("migration_runs", false), &ctx);
		of_migration = migration_tables(name, outer);
		steward_as_owner_end(&ctx);
		relids = list_concat(relids, of_migration);
	}
	foreach(lc, relids)
		steward_check_table_owner(lfirst_oid(lc));

	/*
	 * Even its owner changes a migration only through the migration
	 * functions: a record marked released, rolled back or switched by hand
	 * would turn the DDL guard off, or make the next step act on a state
	 * the tables are not in.
	 */
	if (!steward_migrate_called_from_own_code())
		steward_migrate_refuse_direct_call("steward._migration_record",
										   "catalog writes");

	steward_as_owner_begin(steward_relid("migration_runs", false), &ctx);
	args[0] = CStringGetTextDatum(name);
	args[1] = JsonbPGetDatum(data);
	call = psprintf("SELECT steward._migration_record_%s($1, $2)", ops[opno]);
	if (steward_spi_execute_own(call, 2, argtypes, args, NULL, InvalidSnapshot, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not write the migration catalog");
	steward_as_owner_end(&ctx);

	if (strcmp(op, "create") == 0 ||
		DatumGetBool(DirectFunctionCall2(jsonb_exists, JsonbPGetDatum(data),
										 CStringGetTextDatum("phase"))))
		foreach(lc, relids)
			CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
	PG_RETURN_VOID();
}

/*
 * Is rel one of the relations steward._migration_lock_plan may give for
 * tbl: a table with a foreign key referencing tbl, or a view one of whose
 * rules depends on tbl?  Read with the catalog snapshot (the state of now,
 * not of the transaction's snapshot), before any lock on rel.  No lock,
 * raises nothing but catalog read errors.
 */
static bool
relation_related_to(Oid relid, Oid related)
{
	Relation	catalog;
	SysScanDesc scan;
	ScanKeyData key[3];
	HeapTuple	tup;
	bool		found = false;
	List	   *rules = NIL;
	ListCell   *lc;

	/* A foreign key of rel referencing tbl. */
	catalog = table_open(ConstraintRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_constraint_conrelid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(related));
	scan = systable_beginscan(catalog, ConstraintRelidTypidNameIndexId, true, NULL, 1, key);
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_constraint con = (Form_pg_constraint) GETSTRUCT(tup);

		found = con->contype == CONSTRAINT_FOREIGN && con->confrelid == relid;
	}
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);
	if (found || get_rel_relkind(related) != RELKIND_VIEW)
		return found;

	/* A rule of the view rel that depends on tbl. */
	catalog = table_open(RewriteRelationId, AccessShareLock);
	ScanKeyInit(&key[0], Anum_pg_rewrite_ev_class, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(related));
	scan = systable_beginscan(catalog, RewriteRelRulenameIndexId, true, NULL, 1, key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
		rules = lappend_oid(rules, ((Form_pg_rewrite) GETSTRUCT(tup))->oid);
	systable_endscan(scan);
	table_close(catalog, AccessShareLock);

	catalog = table_open(DependRelationId, AccessShareLock);
	foreach(lc, rules)
	{
		ScanKeyInit(&key[0], Anum_pg_depend_classid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(RewriteRelationId));
		ScanKeyInit(&key[1], Anum_pg_depend_objid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(lfirst_oid(lc)));
		scan = systable_beginscan(catalog, DependDependerIndexId, true, NULL, 2, key);
		while (!found && HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tup);

			found = dep->refclassid == RelationRelationId && dep->refobjid == relid;
		}
		systable_endscan(scan);
		if (found)
			break;
	}
	table_close(catalog, AccessShareLock);
	return found;
}

/*
 * steward._migration_lock_related(tbl regclass, rel regclass) -> boolean
 *
 * Take ACCESS EXCLUSIVE on rel, a view on tbl or a table whose foreign
 * key references tbl (steward._migration_lock_plan chose it), for
 * steward._migration_locked: before tbl itself, in the order a statement
 * through the view (or writing the referencing table) takes them, so that
 * a step never holds tbl while it queues behind such statements.  The
 * caller must own tbl (42501), rel must be such a view or table now
 * (42501: any other relation -- a shared catalog such as pg_authid, where
 * the lock stopped every login of the cluster, another tenant's table --
 * is refused before it is locked, review13 R13-8), and only pg_steward's
 * own code may call it (42501).  No recursion into the view's relations,
 * no privilege check on rel: the step redefines or drops rel as part of
 * the migration of tbl, whose owner could lock tbl itself, which blocks
 * rel's users as long.  False (and no lock kept) when rel was dropped
 * meanwhile.
 * Locks: ACCESS EXCLUSIVE on rel, under the caller's lock_timeout.
 */
Datum
steward_migration_lock_related(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Oid			related;

	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "relation");
	relid = PG_GETARG_OID(0);
	related = PG_GETARG_OID(1);
	steward_check_table_owner(relid);
	if (!relation_related_to(relid, related))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("steward._migration_lock_related locks only a view on relation \"%s\" or a table whose foreign key references it",
						get_rel_name(relid)),
				 get_rel_name(related) != NULL ?
				 errdetail("Relation \"%s\" is neither.", get_rel_name(related)) :
				 errdetail("Relation with OID %u does not exist.", related),
				 errhint("Use steward.migration_backfill and the other migration functions.")));
	if (!steward_migrate_called_from_own_code())
		steward_migrate_refuse_direct_call("steward._migration_lock_related", "a lock");
	LockRelationOid(related, AccessExclusiveLock);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(related)))
	{
		UnlockRelationOid(related, AccessExclusiveLock);
		PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}

/*
 * steward._migration_settings() -> (lock_timeout_ms, lock_retries, batch_size)
 *
 * The settings as numbers (and a sure way to have them defined: calling
 * it loads the library).  Reads backend-local variables: takes no lock.
 * Raises nothing when declared as shipped (an elog ERROR if a declaration
 * returned no row type).
 */
Datum
steward_migration_settings(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	values[0] = Int32GetDatum(migrate_lock_timeout_ms);
	values[1] = Int32GetDatum(migrate_lock_retries);
	values[2] = Int32GetDatum(migrate_batch_size);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * steward._migration_runs_mark(): BEFORE INSERT OR UPDATE row trigger
 * migration_runs_restored on steward.migration_runs.  Sets the row's
 * "restored" to whether pg_steward's own code is not the writer
 * (steward_migrate_called_from_own_code): a restore's COPY marks the
 * record, so the DDL guard lets the restore's post-data DDL rebuild the
 * tables; the migration's next step (_migration_record) clears it.  No
 * lock, no catalog read but the column's number.  Raises 39P01 when not
 * fired as a BEFORE row trigger.
 */
Datum
steward_migration_runs_mark(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	HeapTuple	tuple;
	int			attnum;
	Datum		value;
	bool		isnull = false;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._migration_runs_mark() must be called as a BEFORE row trigger")));
	tuple = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) ? trigdata->tg_newtuple
		: trigdata->tg_trigtuple;
	attnum = SPI_fnumber(trigdata->tg_relation->rd_att, "restored");
	if (attnum <= 0)
		return PointerGetDatum(tuple);
	value = BoolGetDatum(!steward_migrate_called_from_own_code());
	return PointerGetDatum(heap_modify_tuple_by_cols(tuple, trigdata->tg_relation->rd_att,
													 1, &attnum, &value, &isnull));
}

/*
 * steward._migration_own_ddl() -> boolean: whether the DDL statement
 * running now is the migration's own (steward_migration_running_own_sql),
 * for pg_steward's event triggers, which let the migration's own drops
 * pass (_migrations_on_sql_drop: the shapes' schemas go with cleanup and
 * rollback, not with a user's DROP OWNED BY ... CASCADE).  Backend-local,
 * no lock, raises nothing.
 */
Datum
steward_migration_own_ddl(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(steward_migration_running_own_sql());
}

/*
 * steward._migration_entered(fn regprocedure) -> boolean
 *
 * Called first by each documented PL/pgSQL entry point of the
 * migrations (migration_backfill, _validate, _complete, _cleanup,
 * _rollback, _forget) and by run_transition, with fn itself: true when fn is the innermost of
 * pg_steward's functions the hook counts and no owner-defined code began
 * above it, i.e. fn is running counted, as a trusted entry point.  False
 * when fn began before the library was loaded (the session's first call
 * of it, without preloading; this call loads it): the entry point then
 * calls itself again, once, and returns what that call returns.  That
 * call begins with the hook in place, so it is counted and trusted
 * (own_context); the first call does nothing.
 *
 * Why not push a trusted frame here for the calling function instead:
 * which function called cannot be told from C (a user's DO block or
 * function could name any entry point), and a frame pushed for a
 * function the hook did not see begin would never be popped (its
 * FHET_END never comes), leaving the whole session trusted.  Walking the
 * error context stack to plpgsql's frame relies on plpgsql's private
 * structures; requiring preloading would stop column migrations on
 * clusters that have none.  This asks the hook only: it grants nothing,
 * so any role may call it.
 *
 * A second false for the same fn, deeper in the same call (fn called
 * itself again and did not begin counted: the hook is not in place,
 * another library's needs_fmgr_hook that does not call ours), raises
 * 55000 instead of recursing until the stack is full.  Every entry point
 * that calls it writes (the migration's record, a run's rows): during
 * recovery, or in a read-only transaction, it is refused here first
 * (25006, steward_require_writable, naming fn), not by core's lock or
 * write check wherever it first writes.  Backend-local, no lock; a
 * catalog read only to name fn in that error.
 */
Datum
steward_migration_entered(PG_FUNCTION_ARGS)
{
	Oid			fn;
	int			nest = 0;

	steward_require_arg(fcinfo, 0, "function");
	fn = PG_GETARG_OID(0);
	/* Every entry point that calls this writes: refused before it reads. */
	if (RecoveryInProgress() || XactReadOnly)
		steward_require_writable(psprintf("steward.%s()", get_func_name(fn)));
	if (steward_code_depth > 0 &&
		steward_code_stack[steward_code_depth - 1].fn_oid == fn &&
		steward_code_stack[steward_code_depth - 1].barrier == steward_owner_code_depth())
	{
		if (recalling_fn == fn)
			recalling_fn = InvalidOid;
		PG_RETURN_BOOL(true);
	}
	for (ErrorContextCallback *e = error_context_stack; e != NULL; e = e->previous)
		nest++;
	if (recalling_fn == fn && nest > recalling_nest)
	{
		recalling_fn = InvalidOid;
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_steward's function manager hook did not count %s",
						format_procedure(fn)),
				 errdetail("The function called itself again and that call was not counted either: another library loaded after pg_steward may have replaced the hook."),
				 errhint("Add pg_steward to shared_preload_libraries after the other libraries and restart the server.")));
	}
	recalling_fn = fn;
	recalling_nest = nest;
	PG_RETURN_BOOL(false);
}
