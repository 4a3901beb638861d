/*-------------------------------------------------------------------------
 *
 * indexes.c
 *	  The index steps of a migration (create_index, drop_index): checking
 *	  the statement built from the user's text, and running CREATE / DROP
 *	  INDEX CONCURRENTLY as the table's owner.
 *
 *	  steward._migration_index_check(tbl, sql, name, method, has_where)
 *	  steward._migration_index_run(tbl, idx, sql)          (function: DROP)
 *	  CALL steward._migration_index_build(mig, step, tbl, sql)  (procedure)
 *
 * PostgreSQL runs CREATE INDEX CONCURRENTLY only as a top-level statement
 * outside a transaction block, never from a function, procedure or SPI.
 * So the statement runs in a background worker of this database, which is
 * a top-level context of its own: connected as the caller's login role, it
 * switches to the table's owner under SECURITY_RESTRICTED_OPERATION with
 * search_path = pg_catalog, pg_temp before any transaction starts (so
 * every transaction of the multi-transaction build runs that way), parses
 * the statement again, checks that it is exactly one CREATE or DROP INDEX
 * CONCURRENTLY on the expected table, and runs it through ProcessUtility
 * as a top-level command, as exec_simple_query would.  The caller waits
 * for the worker; if the caller is cancelled (statement_timeout, Ctrl-C)
 * or exits, the worker's statement is cancelled the way a cancelled
 * CREATE INDEX CONCURRENTLY is: an INVALID index stays, which the worker
 * then drops concurrently itself (a worker stopped before, by a crash or
 * a shutdown, leaves it to the migration's next step, which finds and
 * drops it).
 *
 * A concurrent build waits for every transaction with an older snapshot
 * (WaitForOlderSnapshots), the caller's included: the build therefore
 * runs from a procedure that commits first and takes no snapshot while
 * it waits.  A concurrent drop waits only for transactions that hold a
 * lock on the table, so it may run from a function, provided this
 * transaction holds no lock on the table or the index (checked: else the
 * two would wait for each other forever).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "parser/parse_utilcmd.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/dest.h"
#include "tcop/pquery.h"
#include "utils/portal.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "migrate/migrate.h"
#include "plumbing/as_owner.h"
#include "plumbing/preload.h"

PG_FUNCTION_INFO_V1(steward_migration_index_check);
PG_FUNCTION_INFO_V1(steward_migration_index_run);
PG_FUNCTION_INFO_V1(steward_migration_index_build);

PGDLLEXPORT void steward_index_worker_main(Datum main_arg);

/* True in an index worker's process: its one statement is the migration's. */
static bool in_index_worker = false;

/*
 * steward.max_index_workers: index statements of migrations running in
 * background workers at once, in the whole cluster (review13 R13-15: any
 * table owner held every max_worker_processes slot with them, so parallel
 * queries, logical replication's apply and other tenants' builds got no
 * worker).  Each running one holds one of that many session locks.
 */
static int	max_index_workers = 2;

/*
 * Define steward.max_index_workers (from steward_migrate_define_gucs, at
 * _PG_init).  Takes no lock.  Raises nothing but out of memory (53200):
 * a value outside 0..1024 set before the library was loaded is a WARNING,
 * and the default stays (core's define_custom_variable).
 */
void
steward_index_define_gucs(void)
{
	DefineCustomIntVariable("steward.max_index_workers",
							"Index statements of migrations running in background workers at once, in the cluster.",
							"Each takes a max_worker_processes slot while it runs; one more is refused (53000).",
							&max_index_workers,
							2, 0, 1024,
							PGC_SUSET, 0,
							NULL, NULL, NULL);
}

/* The lock of index worker slot i: an advisory tag no SQL function makes. */
static void
index_slot_tag(LOCKTAG *tag, int i)
{
	SET_LOCKTAG_ADVISORY(*tag, InvalidOid, 0x53544557, (uint32) i, 5);
}

/*
 * Take a free index worker slot (a session lock, not waited for: the
 * caller's statement would queue behind other roles' builds) and return
 * its number; 53000 when steward.max_index_workers are running.
 */
static int
take_index_slot(void)
{
	LOCKTAG		tag;

	for (int i = 0; i < max_index_workers; i++)
	{
		LockAcquireResult r;

		index_slot_tag(&tag, i);
		r = LockAcquire(&tag, ExclusiveLock, true, true);
		if (r == LOCKACQUIRE_OK)
			return i;
		if (r == LOCKACQUIRE_ALREADY_HELD)
			LockRelease(&tag, ExclusiveLock, true);
	}
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
			 errmsg("every index worker of pg_steward is busy"),
			 errdetail("steward.max_index_workers (%d) index statements of migrations run in background workers at once.",
					   max_index_workers),
			 errhint("Try again when one has finished, or let a superuser raise steward.max_index_workers (each takes a max_worker_processes slot).")));
	return -1;					/* not reached */
}

#define INDEX_JOB_TEXT 2048

/* Shared between the caller and the worker (a DSM segment). */
typedef struct IndexJob
{
	Oid			dbid;
	Oid			login;			/* role the worker connects as */
	Oid			owner;			/* role the statement runs as */
	Oid			relid;			/* the table */
	bool		started;		/* the worker reached the statement */
	bool		finished;		/* ... and it committed */
	bool		abandoned;		/* the caller was cancelled or exited: undo a build */
	int			sqlerrcode;		/* 0: no error */
	char		message[INDEX_JOB_TEXT];
	char		detail[INDEX_JOB_TEXT];
	char		sql[FLEXIBLE_ARRAY_MEMBER];
} IndexJob;

/*
 * The one statement of sql, which must be a CREATE INDEX CONCURRENTLY on
 * relid (an IndexStmt) or a DROP INDEX CONCURRENTLY of one index of relid
 * (a DropStmt); else 42601 (syntax: more or other statements) or 22023.
 * Resolves names with the current search_path; takes no lock.
 */
static RawStmt *
parse_index_statement(const char *sql, Oid relid)
{
	List	   *stmts = NIL;
	RawStmt    *raw;
	MemoryContext cxt = CurrentMemoryContext;

	/*
	 * A syntax error points into the statement built from the user's text,
	 * not into the query that is running: say so, without a position.
	 */
	PG_TRY();
	{
		stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(edata->sqlerrcode),
				 errmsg("invalid index definition: %s", edata->message),
				 errdetail("The statement built from it: %s", sql)));
	}
	PG_END_TRY();

	if (list_length(stmts) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the index definition must make exactly one CREATE INDEX statement"),
				 errdetail("It makes %d statements.", list_length(stmts)),
				 errhint("\"definition\" is what follows the table name in CREATE INDEX ... ON table: "
						 "the column list and INCLUDE, WITH, TABLESPACE; the predicate goes in \"where\".")));
	raw = linitial_node(RawStmt, stmts);
	if (IsA(raw->stmt, IndexStmt))
	{
		IndexStmt  *stmt = (IndexStmt *) raw->stmt;

		if (!stmt->concurrent ||
			RangeVarGetRelid(stmt->relation, NoLock, true) != relid)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the index statement is not a concurrent build on relation \"%s\"",
							get_rel_name(relid))));
	}
	else if (IsA(raw->stmt, DropStmt))
	{
		DropStmt   *stmt = (DropStmt *) raw->stmt;
		Oid			idx;

		if (stmt->removeType != OBJECT_INDEX || !stmt->concurrent ||
			list_length(stmt->objects) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the index statement is not a concurrent drop of one index")));
		idx = RangeVarGetRelid(makeRangeVarFromNameList(linitial(stmt->objects)), NoLock, true);
		if (OidIsValid(idx) && IndexGetRelation(idx, true) != relid)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("index \"%s\" is not an index of relation \"%s\"",
							get_rel_name(idx), get_rel_name(relid))));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the index definition must make a CREATE INDEX statement")));
	return raw;
}

/*
 * steward._migration_index_check(tbl regclass, sql text, name text,
 *                                method text, has_where boolean) -> void
 *
 * Check the CREATE INDEX CONCURRENTLY statement a create_index step built
 * from the user's "definition" and "where": one statement (so the text
 * cannot smuggle in another), a concurrent build on tbl, of the index
 * named name, with method, with a predicate exactly when "where" was
 * given (a definition that ends the statement early with a comment or
 * brings its own WHERE is refused); then analysed as the table's owner,
 * security-restricted, with search_path = pg_catalog, pg_temp, as the
 * build will be: unknown columns or functions fail here (42703, 42883),
 * not in the middle of the build.  Read under the pinned string settings
 * (steward_pin_sql_strings); a text that the caller's
 * standard_conforming_strings = off reads otherwise is refused (22023).
 * The caller must own tbl (42501).  Locks: AccessShareLock on tbl, for
 * the analysis.
 */
Datum
steward_migration_index_check(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *sql;
	char	   *name;
	char	   *method;
	bool		has_where;
	RawStmt    *raw;
	IndexStmt  *stmt;
	Relation	rel;
	StewardAsOwner ctx;
	MemoryContext cxt = CurrentMemoryContext;
	char	   *theirs = NULL;

	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "statement");
	steward_require_arg(fcinfo, 2, "index name");
	steward_require_arg(fcinfo, 3, "method");
	steward_require_arg(fcinfo, 4, "has_where");
	relid = PG_GETARG_OID(0);
	sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	name = text_to_cstring(PG_GETARG_TEXT_PP(2));
	method = text_to_cstring(PG_GETARG_TEXT_PP(3));
	has_where = PG_GETARG_BOOL(4);
	steward_check_table_owner(relid);
	/* As the caller wrote it: the same statement under the pinned settings? */
	if (!standard_conforming_strings)
	{
		/* Quiet: the refusal below says what a backslash means. */
		int			nest = NewGUCNestLevel();

		(void) set_config_option("escape_string_warning", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		theirs = nodeToString(parse_index_statement(sql, relid));
		AtEOXact_GUC(false, nest);
	}

	rel = table_open(relid, AccessShareLock);
	steward_as_table_owner_begin(rel, false, &ctx);
	steward_pin_sql_strings();
	raw = parse_index_statement(sql, relid);
	if (theirs != NULL && strcmp(theirs, nodeToString(raw)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("the index definition reads otherwise under standard_conforming_strings = off"),
				 errdetail("pg_steward checks and builds the index with standard_conforming_strings = on, "
						   "where a backslash in '...' is an ordinary character: %s", sql),
				 errhint("Write \"definition\" and \"where\" as standard_conforming_strings = on reads them "
						 "(E'...' for backslash escapes), or SET standard_conforming_strings = on first.")));
	if (!IsA(raw->stmt, IndexStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the index definition must make a CREATE INDEX statement")));
	stmt = (IndexStmt *) raw->stmt;
	if (stmt->idxname == NULL || strcmp(stmt->idxname, name) != 0 ||
		stmt->accessMethod == NULL || strcmp(stmt->accessMethod, method) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the index definition changes the index's name or method")));
	if ((stmt->whereClause != NULL) != has_where)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg(has_where ? "the index definition hides the \"where\" predicate"
						: "the index definition has a WHERE clause"),
				 errhint("Give the predicate in \"where\"; \"definition\" is the column list "
						 "and INCLUDE, WITH, TABLESPACE.")));
	/* Names and expressions resolved as the build will resolve them. */
	PG_TRY();
	{
		stmt = transformIndexStmt(relid, copyObject(stmt), sql);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* A position would point into the query that runs, not the definition. */
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		edata->cursorpos = 0;
		edata->internalpos = 0;
		edata->internalquery = NULL;
		if (edata->detail == NULL)
			edata->detail = psprintf("The statement built from the step: %s", sql);
		ReThrowError(edata);
	}
	PG_END_TRY();
	/* Another migration's shape: the build's rows would escape the shape guard. */
	steward_migration_refuse_index_shapes(relid, stmt);
	{
		ListCell   *lc;

		foreach(lc, list_concat_copy(stmt->indexParams, stmt->indexIncludingParams))
		{
			IndexElem  *elem = lfirst_node(IndexElem, lc);

			if (elem->name != NULL && get_attnum(relid, elem->name) == InvalidAttrNumber)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_COLUMN),
						 errmsg("column \"%s\" of relation \"%s\" does not exist",
								elem->name, get_rel_name(relid))));
		}
	}
	steward_as_owner_end(&ctx);
	table_close(rel, NoLock);
	PG_RETURN_VOID();
}

/* What terminate_worker needs: on run_in_worker's stack, live while it runs. */
typedef struct WorkerCall
{
	BackgroundWorkerHandle *handle;
	IndexJob   *job;
} WorkerCall;

/*
 * The caller was cancelled or is exiting: the job is marked abandoned and
 * the worker's statement is cancelled (SIGINT, as pg_cancel_backend does),
 * after which a build's worker drops the INVALID index it leaves; a worker
 * not started yet is terminated.  The mark covers a cancel the statement
 * no longer sees (it was finishing): the worker then drops the index it
 * built, which the caller's record does not know as built.
 */
static void
terminate_worker(int code, Datum arg)
{
	WorkerCall *call = (WorkerCall *) DatumGetPointer(arg);
	pid_t		pid;

	call->job->abandoned = true;
	pg_memory_barrier();
	if (GetBackgroundWorkerPid(call->handle, &pid) == BGWH_STARTED && kill(pid, SIGINT) == 0)
		return;
	TerminateBackgroundWorker(call->handle);
}

/*
 * Run sql in a background worker as the owner of relid and wait for it.
 * Returns NULL when it committed, else "message (SQLSTATE): detail".  Errors: 53000 when no worker slot is free
 * (steward.max_index_workers running, or max_worker_processes taken); a
 * cancel of this backend terminates the worker and is re-thrown.
 */
static char *run_in_worker_slot(Oid relid, const char *sql, Oid owner);

static char *
run_in_worker(Oid relid, const char *sql)
{
	char	   *result = NULL;
	Oid			owner = steward_relation_owner(relid);
	int			slot;
	LOCKTAG		tag;

	slot = take_index_slot();
	index_slot_tag(&tag, slot);
	PG_TRY();
	{
		result = run_in_worker_slot(relid, sql, owner);
	}
	PG_FINALLY();
	{
		LockRelease(&tag, ExclusiveLock, true);
	}
	PG_END_TRY();
	return result;
}

/* run_in_worker with an index worker slot taken. */
static char *
run_in_worker_slot(Oid relid, const char *sql, Oid owner)
{
	Size		len = strlen(sql);
	dsm_segment *seg;
	IndexJob   *job;
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	BgwHandleStatus status;
	pid_t		pid;
	char	   *result = NULL;
	WorkerCall	call;

	seg = dsm_create(offsetof(IndexJob, sql) + len + 1, 0);
	job = dsm_segment_address(seg);
	memset(job, 0, offsetof(IndexJob, sql));
	job->dbid = MyDatabaseId;
	job->login = GetAuthenticatedUserId();
	job->owner = owner;
	job->relid = relid;
	memcpy(job->sql, sql, len + 1);

	steward_bgworker_fill(&worker, "steward_index_worker_main", "", "pg_steward index build",
						  BgWorkerStart_RecoveryFinished, BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_steward index build for PID %d", MyProcPid);
	worker.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
				 errmsg("could not start a background worker for the index statement"),
				 errhint("Raise max_worker_processes, or try again when fewer workers run.")));

	/*
	 * Cancelled or terminated (FATAL too): so is the statement; a build
	 * leaves an INVALID index, which the migration's next step drops.
	 */
	call.handle = handle;
	call.job = job;
	PG_ENSURE_ERROR_CLEANUP(terminate_worker, PointerGetDatum(&call));
	{
		status = WaitForBackgroundWorkerStartup(handle, &pid);
		if (status == BGWH_STARTED)
			status = WaitForBackgroundWorkerShutdown(handle);
	}
	PG_END_ENSURE_ERROR_CLEANUP(terminate_worker, PointerGetDatum(&call));

	if (status == BGWH_POSTMASTER_DIED)
		ereport(FATAL,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("postmaster exited during an index build")));
	if (!job->finished)
	{
		if (job->sqlerrcode != 0)
			result = psprintf("%s (%s)%s%s", job->message, unpack_sql_state(job->sqlerrcode),
							  job->detail[0] ? ": " : "", job->detail);
		else
			result = psprintf("the index worker exited before it %s (57P01)",
							  job->started ? "finished" : "started");
	}
	dsm_detach(seg);
	return result;
}

/*
 * steward._migration_index_run(tbl regclass, idx regclass, sql text) -> text
 *
 * Run one DROP INDEX CONCURRENTLY of idx (an index of tbl) as tbl's owner
 * in a background worker and wait for it; NULL when it committed, else
 * the error as "message (SQLSTATE): detail".  The caller must own tbl (42501) and
 * this transaction must hold no lock on tbl or idx (55006: the drop would
 * wait for this transaction, which waits for the drop).
 */
Datum
steward_migration_index_run(PG_FUNCTION_ARGS)
{
	Oid			relid;
	Oid			idx;
	char	   *sql;
	char	   *result;

	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "index");
	steward_require_arg(fcinfo, 2, "statement");
	relid = PG_GETARG_OID(0);
	idx = PG_GETARG_OID(1);
	sql = text_to_cstring(PG_GETARG_TEXT_PP(2));
	steward_check_table_owner(relid);
	if (steward_relation_locked_by_me(relid) || steward_relation_locked_by_me(idx))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("cannot drop an index concurrently while this transaction holds a lock on its table"),
				 errhint("Run the migration step in a transaction of its own.")));
	{
		/* Only a concurrent drop may run from inside a transaction. */
		List	   *stmts = raw_parser(sql, RAW_PARSE_DEFAULT);

		if (list_length(stmts) != 1 || !IsA(linitial_node(RawStmt, stmts)->stmt, DropStmt))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("_migration_index_run runs DROP INDEX CONCURRENTLY only")));
	}
	InvalidateCatalogSnapshot();
	result = run_in_worker(relid, sql);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(result));
}

/*
 * CALL steward._migration_index_build(mig text, step integer, tbl regclass,
 *                                     sql text)
 *
 * Commit, then run sql (CREATE INDEX CONCURRENTLY on tbl, checked by the
 * worker) in a background worker as tbl's owner while this backend holds
 * no snapshot, then record the outcome with
 * steward._migration_index_built(mig, step, error) in a new transaction
 * (which the caller commits).  25001 when called inside a transaction
 * block or from a function (a concurrent build cannot run there).
 */
Datum
steward_migration_index_build(PG_FUNCTION_ARGS)
{
	char	   *mig;
	int32		step;
	Oid			relid;
	char	   *sql;
	char	   *result;
	Oid			argtypes[3] = {TEXTOID, INT4OID, TEXTOID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};
	int			depth;

	steward_require_arg(fcinfo, 0, "migration name");
	steward_require_arg(fcinfo, 1, "step");
	steward_require_arg(fcinfo, 2, "table");
	steward_require_arg(fcinfo, 3, "statement");
	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		((CallContext *) fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("an index is built concurrently only by CALL steward.migration_backfill outside a transaction block")));
	mig = MemoryContextStrdup(TopMemoryContext, text_to_cstring(PG_GETARG_TEXT_PP(0)));
	step = PG_GETARG_INT32(1);
	relid = PG_GETARG_OID(2);
	sql = MemoryContextStrdup(TopMemoryContext, text_to_cstring(PG_GETARG_TEXT_PP(3)));
	steward_check_table_owner(relid);

	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* No snapshot of ours may hold the build back: commit them all. */
	SPI_commit();
	InvalidateCatalogSnapshot();
	result = run_in_worker(relid, sql);

	args[0] = CStringGetTextDatum(mig);
	args[1] = Int32GetDatum(step);
	args[2] = result ? CStringGetTextDatum(result) : (Datum) 0;
	nulls[2] = result ? ' ' : 'n';
	/* As much pg_steward's own code as its caller (review13 R13-8). */
	depth = steward_own_code_enter(false);
	PG_TRY();
	{
		if (SPI_execute_with_args("SELECT steward._migration_index_built($1, $2, $3)",
								  3, argtypes, args, nulls, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not record the index build");
	}
	PG_FINALLY();
	{
		steward_own_code_leave(depth);
	}
	PG_END_TRY();
	SPI_finish();
	pfree(mig);
	pfree(sql);
	PG_RETURN_VOID();
}

/* The index a CREATE INDEX run by this worker names (empty: none). */
static char built_index[NAMEDATALEN];

/*
 * Worker: parse sql (one CREATE or DROP INDEX CONCURRENTLY on job->relid,
 * checked again) and run it as a top-level command in transactions of its
 * own, through a portal named portal_name.
 */
static void
run_statement(IndexJob *job, const char *sql, const char *portal_name)
{
	RawStmt    *raw;
	PlannedStmt *pstmt;
	MemoryContext stmtcxt;
	Portal		portal;
	DestReceiver *receiver;
	QueryCompletion qc;

	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, sql);

	/*
	 * The parse tree outlives the transactions the statement commits
	 * (exec_simple_query keeps it in MessageContext for that reason).
	 */
	stmtcxt = AllocSetContextCreate(TopMemoryContext, "pg_steward index statement",
									ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(stmtcxt);
	if (get_rel_relkind(job->relid) != RELKIND_RELATION ||
		!has_privs_of_role(job->login, job->owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("the index statement's table changed owner or is gone")));
	raw = parse_index_statement(sql, job->relid);
	pstmt = makeNode(PlannedStmt);
	pstmt->commandType = CMD_UTILITY;
	pstmt->canSetTag = true;
	pstmt->utilityStmt = raw->stmt;
	pstmt->stmt_location = raw->stmt_location;
	pstmt->stmt_len = raw->stmt_len;
	if (IsA(raw->stmt, IndexStmt) && ((IndexStmt *) raw->stmt)->idxname != NULL)
		strlcpy(built_index, ((IndexStmt *) raw->stmt)->idxname, NAMEDATALEN);
	job->started = true;

	/*
	 * Through a portal, as exec_simple_query runs it: the portal holds the
	 * snapshot the statement pops and re-creates it when the statement
	 * needs one after its own commits (event triggers).
	 */
	portal = CreatePortal(portal_name, true, true);
	portal->visible = false;
	PortalDefineQuery(portal, NULL, sql, CreateCommandTag(raw->stmt),
					  list_make1(pstmt), NULL);
	PortalStart(portal, NULL, 0, InvalidSnapshot);
	receiver = CreateDestReceiver(DestNone);
	InitializeQueryCompletion(&qc);
	(void) PortalRun(portal, FETCH_ALL, true, true, receiver, receiver, &qc);
	receiver->rDestroy(receiver);
	PortalDrop(portal, false);
	CommitTransactionCommand();
}

/*
 * Worker, after its build was cancelled: drop concurrently the INVALID
 * index of that name on the table, if the build left one (valid_too: a
 * build that finished for a caller that had gone, valid or not).  An
 * error (the table gone meanwhile) ends the worker as any error does.
 */
static void
drop_cancelled_build(IndexJob *job, bool valid_too)
{
	char	   *sql = NULL;
	char		name[NAMEDATALEN];
	Oid			nsp;
	Oid			idx;

	strlcpy(name, built_index, NAMEDATALEN);
	StartTransactionCommand();
	nsp = get_rel_namespace(job->relid);
	idx = OidIsValid(nsp) ? get_relname_relid(built_index, nsp) : InvalidOid;
	if (OidIsValid(idx) && get_rel_relkind(idx) == RELKIND_INDEX &&
		IndexGetRelation(idx, true) == job->relid && (valid_too || !get_index_isvalid(idx)))
		sql = MemoryContextStrdup(TopMemoryContext,
								  psprintf("DROP INDEX CONCURRENTLY %s",
										   quote_qualified_identifier(get_namespace_name(nsp),
																	  built_index)));
	CommitTransactionCommand();
	if (sql != NULL)
	{
		run_statement(job, sql, "pg_steward index drop");
		if (valid_too)
			ereport(LOG,
					(errmsg("dropped index \"%s\": its build finished after its caller was cancelled", name)));
		else
			ereport(LOG,
					(errmsg("dropped invalid index \"%s\" left by a cancelled build", name)));
	}
}

/*
 * Background worker: run the statement of an IndexJob (DSM handle in
 * main_arg) as a top-level command, as the table's owner.  Locks: the
 * statement's own, in transactions of its own -- CREATE INDEX
 * CONCURRENTLY takes SHARE UPDATE EXCLUSIVE on the table (a session lock
 * across its three transactions) and waits for older snapshots; DROP
 * INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE, then ACCESS EXCLUSIVE
 * on the index only.  The worker slot's lock is the launching backend's,
 * not the worker's.  Errors: 55000 when the launching backend is gone
 * (its DSM segment detached), 42501 when the table changed owner or is
 * gone, 42601 or 22023 for a statement that is not the one it must be,
 * and what the statement raises (23505 for a unique build on duplicates):
 * each is copied into the job for the launching backend, and, as any
 * ERROR in a background worker, logged and ends the worker.  A build
 * cancelled by the launching backend (57014) is logged, and the INVALID
 * index it left is dropped (DROP INDEX CONCURRENTLY, as above), as is
 * one that finished after the launching backend gave up on it.
 */
void
steward_index_worker_main(Datum main_arg)
{
	dsm_segment *seg;
	IndexJob   *job;
	MemoryContext cxt;
	volatile bool cancelled = false;
	bool		undo_finished = false;
	bool		owner_is_superuser;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	seg = dsm_attach(DatumGetUInt32(main_arg));
	if (seg == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_steward index worker: the caller is gone")));
	job = dsm_segment_address(seg);
	in_index_worker = true;
	BackgroundWorkerInitializeConnectionByOid(job->dbid, job->login, 0);
	pgstat_report_appname("pg_steward index build");

	/*
	 * Before any transaction: every transaction the statement starts and
	 * commits (a concurrent build runs three) keeps the owner's identity
	 * and the pinned search_path.
	 */
	SetConfigOption("search_path", STEWARD_PINNED_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION);
	/* The statement is read as the start checked it (codereview4 #1). */
	SetConfigOption("standard_conforming_strings", "on", PGC_USERSET, PGC_S_SESSION);
	SetConfigOption("backslash_quote", "on", PGC_USERSET, PGC_S_SESSION);

	/*
	 * The owner's identity as SET ROLE gives it, not a security context:
	 * no transaction may start inside one (StartTransaction asserts
	 * prevSecContext == 0; an assert build's worker died at once, and a
	 * production build carried the flags across the statement's own
	 * commits).  The owner's code the statement runs (index expressions
	 * and predicates) is restricted all the same: DefineIndex,
	 * index_concurrently_build and validate_index switch to the table's
	 * owner with SECURITY_RESTRICTED_OPERATION inside each transaction.
	 */
	StartTransactionCommand();
	owner_is_superuser = superuser_arg(job->owner);
	CommitTransactionCommand();
	SetCurrentRoleId(job->owner, owner_is_superuser);
	cxt = CurrentMemoryContext;

	PG_TRY();
	{
		run_statement(job, job->sql, "pg_steward index");
		job->finished = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		job->sqlerrcode = edata->sqlerrcode;
		strlcpy(job->message, edata->message ? edata->message : "", INDEX_JOB_TEXT);
		strlcpy(job->detail, edata->detail ? edata->detail : "", INDEX_JOB_TEXT);
		/* Logged and the worker exits (an error is FATAL in a worker). */
		if (edata->sqlerrcode != ERRCODE_QUERY_CANCELED || built_index[0] == '\0')
			PG_RE_THROW();

		/*
		 * A build cancelled by its caller (review10 F5): logged, and the
		 * INVALID index it leaves is dropped here at once.
		 */
		HOLD_INTERRUPTS();
		EmitErrorReport();
		AbortOutOfAnyTransaction();
		FlushErrorState();
		QueryCancelPending = false;
		RESUME_INTERRUPTS();
		cancelled = true;
	}
	PG_END_TRY();

	/*
	 * A build that finished after its caller had gone (the cancel reached
	 * the statement too late, or not at all: CI saw regress 105 leave a
	 * valid index the migration then took for someone else's): undone too.
	 */
	pg_memory_barrier();
	if (!cancelled && job->abandoned && built_index[0] != '\0')
		undo_finished = true;
	if (cancelled || undo_finished)
		drop_cancelled_build(job, undo_finished);
	pgstat_report_activity(STATE_IDLE, NULL);
	dsm_detach(seg);
	proc_exit(0);
}

/*
 * True in the process of an index worker (steward_index_worker_main),
 * whose only statement is the migration's own CREATE or DROP INDEX
 * CONCURRENTLY, checked before it runs: the DDL guard lets it pass.
 * Process-local, no lock, raises nothing.
 */
bool
steward_migration_index_worker(void)
{
	return in_index_worker;
}
