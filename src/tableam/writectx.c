/*-------------------------------------------------------------------------
 *
 * writectx.c
 *	  What the executor knows about the statement a steward write belongs
 *	  to, for the rare cases where a row's values alone cannot tell.
 *
 * The table AM's write callbacks see a relation, a TID, a slot and a
 * command id; they do not see the statement.  One question needs it: does
 * the UPDATE assign the version column (SET version = ...) or leave it to
 * the access method?  After a concurrent update a value the client assigned
 * must be judged against the version the statement read, while an untouched
 * column is simply bumped (src/tableam/README.md, "Versions the client
 * assigns").  Postgres already knows which columns a statement assigns (the
 * result relation's updated columns, ExecGetUpdatedCols); this module finds
 * the executor state of the statement that is writing.  The same state
 * also holds the row version an UPDATE or MERGE replaces, pinned in the
 * result relation's old-row slot, which spares the AM reading the page
 * again for every row (steward_statement_old_row).
 *
 * Every data-modifying statement gets its own output command id
 * (es_output_cid, which standard_ExecutorStart takes with
 * GetCurrentCommandId(true); a nested statement -- a trigger's, a
 * function's -- runs after a CommandCounterIncrement and so under another
 * one), and that command id is what the executor passes to
 * table_tuple_update/insert/delete/lock.  An ExecutorStart hook records
 * (command id, EState) for every modifying statement; a reset callback on
 * the statement's query memory context removes the entry when the executor
 * state goes away, normally or on error.  Lookups walk a list as long as the
 * statement nesting depth.
 *
 * The hook is installed whenever the library is loaded.  The library is
 * loaded no later than the planning of the first statement that writes a
 * steward table (the planner opens the table, which calls the AM handler),
 * so the hook sees that statement's ExecutorStart.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/sysattr.h"
#include "access/tupconvert.h"
#include "access/xact.h"
#include "catalog/partition.h"
#include "catalog/pg_class_d.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type_d.h"
#include "executor/execPartition.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "nodes/bitmapset.h"
#include "nodes/params.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "storage/bufmgr.h"
#include "storage/proc.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "plumbing/utility.h"
#include "tableam/rules.h"
#include "tableam/writectx.h"

typedef struct WritingStatement
{
	struct WritingStatement *next;
	LocalTransactionId lxid;
	CommandId	cid;
	EState	   *estate;
	/* the result relation whose old-row slot served the last update */
	Oid			old_relid;
	ResultRelInfo *old_rri;		/* in estate's query memory, like this */
	PlanState  *planstate;		/* its plan's top node (route_moving_row) */
	MemoryContextCallback forget;
} WritingStatement;

/* Innermost first. */
static WritingStatement *writing = NULL;

static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;

/*
 * Statement reports (steward_statement_report).  The statement a report
 * belongs to is the one the client sent: the outermost one running, at
 * depth 0 -- the executor's run and finish and every utility statement
 * raise the depth while they run, so a statement of a function, a
 * trigger, a DO block or a procedure (SPI) runs deeper and adds to the
 * reports of the statement that called it (mach23: a function's UPDATE
 * reported at its own end, inside the caller's statement, and each call
 * of the function reported its first 10 rows again).  They are emitted
 * once that statement has finished, and dropped when it fails.  A
 * subtransaction that rolls back (a PL/pgSQL EXCEPTION block, a
 * ROLLBACK TO SAVEPOINT inside a procedure) takes back what was counted
 * in it, and a transaction a procedure rolls back what was counted in
 * that transaction, so a report counts the work that stands: a row
 * repaired, undone and repaired again counts once.  In report_cxt, a
 * child of TopMemoryContext (a procedure's COMMIT ends the transaction
 * inside the statement), reset once the statement has ended.
 */
typedef struct ReportSave
{
	struct ReportSave *prev;
	int			level;			/* the level the values below belong to */
	uint64		count;
	uint64		shown;
} ReportSave;

static int	report_depth = 0;
static StewardStatementReport *reports = NULL;
static MemoryContext report_cxt = NULL;

static void
forget_statement(void *arg)
{
	WritingStatement *stmt = (WritingStatement *) arg;

	for (WritingStatement **p = &writing; *p != NULL; p = &(*p)->next)
	{
		if (*p == stmt)
		{
			*p = stmt->next;
			break;
		}
	}
}

static void
writectx_executor_start(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *plan = queryDesc->plannedstmt;
	EState	   *estate;
	WritingStatement *stmt;

	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if ((plan->commandType == CMD_SELECT && !plan->hasModifyingCTE) ||
		(eflags & EXEC_FLAG_EXPLAIN_ONLY))
		return;

	estate = queryDesc->estate;
	stmt = MemoryContextAllocZero(estate->es_query_cxt, sizeof(WritingStatement));
	stmt->lxid = MyProc->lxid;
	stmt->cid = estate->es_output_cid;
	stmt->estate = estate;
	stmt->planstate = queryDesc->planstate;
	stmt->forget.func = forget_statement;
	stmt->forget.arg = stmt;
	MemoryContextRegisterResetCallback(estate->es_query_cxt, &stmt->forget);
	stmt->next = writing;
	writing = stmt;
}

/* Forget every report: its statement has ended or failed. */
static void
drop_reports(void)
{
	reports = NULL;
	if (report_cxt != NULL)
		MemoryContextReset(report_cxt);
}

/*
 * The statement the client sent has finished: emit its reports, in the
 * order they were made, then forget them.  Each emit raises no error but
 * its NOTICE; should one raise, the rest are dropped with it.
 */
static void
emit_reports(void)
{
	StewardStatementReport *report = reports;

	if (report == NULL)
		return;
	PG_TRY();
	{
		for (; report != NULL; report = report->next)
			report->emit(report);
	}
	PG_FINALLY();
	{
		drop_reports();
	}
	PG_END_TRY();
}

/*
 * Leave one level of report_depth: back at depth 0, the client's
 * statement has ended, and its reports are emitted (ok) or dropped (it
 * failed: its work is undone).
 */
static void
leave_report_depth(bool ok)
{
	if (--report_depth > 0)
		return;
	report_depth = 0;
	if (ok)
		emit_reports();
	else
		drop_reports();
}

static void
writectx_executor_run(QueryDesc *queryDesc, ScanDirection direction,
					  uint64 count, bool execute_once)
{
	report_depth++;
	PG_TRY();
	{
		if (prev_executor_run)
			prev_executor_run(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_CATCH();
	{
		leave_report_depth(false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	/* A run is not the end of the statement: ExecutorFinish follows. */
	report_depth--;
}

/*
 * Once a statement the client sent has finished (its AFTER triggers
 * too), emit the reports it and the statements it ran made.  Not on an
 * error: the statement's work is undone, and so is what they sum.
 */
static void
writectx_executor_finish(QueryDesc *queryDesc)
{
	report_depth++;
	PG_TRY();
	{
		if (prev_executor_finish)
			prev_executor_finish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_CATCH();
	{
		leave_report_depth(false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	leave_report_depth(true);
}

/*
 * The utility stage REPORTS (plumbing/utility.h): a utility statement
 * (DO, CALL, EXPLAIN ANALYZE, COPY, FETCH ...) raises report_depth while
 * it runs, so the statements it runs report at its end.
 */
static void
reports_utility_wrap(StewardUtilityCall *call)
{
	report_depth++;
	PG_TRY();
	{
		steward_utility_proceed(call);
	}
	PG_CATCH();
	{
		leave_report_depth(false);
		PG_RE_THROW();
	}
	PG_END_TRY();
	leave_report_depth(true);
}

static const StewardUtilityStep reports_utility_step = {
	.tags = {T_Invalid},
	.wrap = reports_utility_wrap,
};

/*
 * Put the counts of every report back to their values at transaction nest
 * level "level" - 1 (a subtransaction of that level, or the transaction,
 * level 1, rolled back), or make that level's values those of level - 1
 * (committed; at level 1 they cannot be undone any more).
 */
static void
settle_report_level(int level, bool commit)
{
	for (StewardStatementReport *report = reports; report != NULL; report = report->next)
	{
		while (report->level >= level)
		{
			ReportSave *save = report->saved;

			if (commit && (save == NULL || save->level < level - 1))
			{
				report->level = level - 1;
				break;
			}
			if (!commit)
			{
				report->count = save ? save->count : 0;
				report->shown = save ? save->shown : 0;
			}
			report->level = save ? save->level : 0;
			report->saved = save ? save->prev : NULL;
		}
	}
}

static void
reports_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	if (reports == NULL)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB)
		settle_report_level(GetCurrentTransactionNestLevel(), true);
	else if (event == SUBXACT_EVENT_ABORT_SUB)
		settle_report_level(GetCurrentTransactionNestLevel(), false);
}

static void
reports_xact_callback(XactEvent event, void *arg)
{
	if (reports == NULL)
		return;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PREPARE)
		settle_report_level(1, true);
	else if (event == XACT_EVENT_ABORT)
		settle_report_level(1, false);
}

/*
 * Install the ExecutorStart, ExecutorRun and ExecutorFinish hooks, the
 * utility stage REPORTS and the transaction callbacks of the statement
 * reports.  Called once, from _PG_init.  Takes no lock; raises only
 * 53200.
 */
void
steward_writectx_init(void)
{
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = writectx_executor_start;
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = writectx_executor_run;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = writectx_executor_finish;
	steward_utility_register(STEWARD_UTILITY_REPORTS, &reports_utility_step);
	RegisterXactCallback(reports_xact_callback, NULL);
	RegisterSubXactCallback(reports_subxact_callback, NULL);
}

/*
 * The report about relation relid, "name" (a machine) and subkey (a
 * column's number, or 0) that the statement the client sent gives once it
 * has finished, summing what it and every statement it runs (functions,
 * triggers, DO blocks, procedures) report; made with "size" bytes (the
 * caller's struct, beginning with the StewardStatementReport) zeroed if
 * the statement has none for emit, relid, name and subkey yet.  emit runs
 * once the client's statement has finished (after its AFTER triggers, or
 * at the end of its utility statement), and not if it fails; so a
 * statement writing 100k rows reports a sum once rather than a message
 * per row.  Count with steward_statement_report_count.  NULL when no
 * statement runs through the executor or a utility statement (a write
 * outside them).  Takes no lock; raises only 53200.
 */
StewardStatementReport *
steward_statement_report(StewardReportEmit emit, Oid relid, const char *name,
						 int32 subkey, Size size)
{
	StewardStatementReport *report;
	StewardStatementReport **last;

	if (report_depth <= 0)
		return NULL;
	for (last = &reports; *last != NULL; last = &(*last)->next)
	{
		report = *last;
		if (report->emit == emit && report->relid == relid &&
			report->subkey == subkey && strcmp(report->name, name) == 0)
			return report;
	}
	Assert(size >= sizeof(StewardStatementReport));
	if (report_cxt == NULL)
		report_cxt = AllocSetContextCreate(TopMemoryContext,
										   "pg_steward statement reports",
										   ALLOCSET_SMALL_SIZES);
	report = MemoryContextAllocZero(report_cxt, size);
	report->emit = emit;
	report->relid = relid;
	report->subkey = subkey;
	strlcpy(report->name, name, NAMEDATALEN);
	*last = report;
	return report;
}

/*
 * Count one event of "report" (steward_statement_report), reported one by
 * one when "shown": the counts made in a subtransaction or transaction
 * that rolls back are taken back (their values at the outer level saved
 * here, as guc.c saves a setting's), while "sent" keeps every one given.
 * Takes no lock; raises only 53200.
 */
void
steward_statement_report_count(StewardStatementReport *report, bool shown)
{
	int			level = GetCurrentTransactionNestLevel();

	if (report->level < level)
	{
		ReportSave *save = MemoryContextAlloc(report_cxt, sizeof(ReportSave));

		save->prev = report->saved;
		save->level = report->level;
		save->count = report->count;
		save->shown = report->shown;
		report->saved = save;
		report->level = level;
	}
	report->count++;
	if (shown)
	{
		report->shown++;
		report->sent++;
	}
}

/* The statement writing under "cid", or NULL. */
static WritingStatement *
writing_statement(CommandId cid)
{
	for (WritingStatement *stmt = writing; stmt != NULL; stmt = stmt->next)
		if (stmt->cid == cid && stmt->lxid == MyProc->lxid)
			return stmt;
	return NULL;
}

/* The executor state of the statement writing under "cid", or NULL. */
static EState *
writing_estate(CommandId cid)
{
	WritingStatement *stmt = writing_statement(cid);

	return stmt != NULL ? stmt->estate : NULL;
}

/* steward_statement_writes' last answer. */
static struct
{
	bool		valid;
	LocalTransactionId lxid;
	CommandId	cid;
	Oid			relid;
	AttrNumber	attnum;
	bool		assigns;
	bool		on_conflict;
}			writes_cache;

/*
 * The result relations of "estate" that write relation "relid": the
 * statement's own (several for a data-modifying WITH) and the partitions
 * it routed rows to so far.  A new list in CurrentMemoryContext.
 */
static List *
result_relations_of(EState *estate, Oid relid)
{
	List	   *lists[2] = {estate->es_opened_result_relations,
		estate->es_tuple_routing_result_relations};
	List	   *out = NIL;

	for (int i = 0; i < 2; i++)
	{
		ListCell   *lc;

		foreach(lc, lists[i])
		{
			ResultRelInfo *rri = (ResultRelInfo *) lfirst(lc);

			if (RelationGetRelid(rri->ri_RelationDesc) == relid)
				out = lappend(out, rri);
		}
	}
	return out;
}

/* steward_statement_writes when its cache does not hold the answer. */
static pg_noinline void
statement_writes_lookup(Relation rel, CommandId cid, AttrNumber attnum,
						bool *assigns, bool *on_conflict)
{
	Oid			relid = RelationGetRelid(rel);
	EState	   *estate;

	*assigns = false;
	*on_conflict = false;
	estate = writing_estate(cid);
	if (estate == NULL)
		*assigns = true;
	else
	{
		List	   *rris = result_relations_of(estate, relid);
		ListCell   *lc;

		foreach(lc, rris)
		{
			ResultRelInfo *rri = (ResultRelInfo *) lfirst(lc);

			if (bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber,
							  ExecGetUpdatedCols(rri, estate)))
				*assigns = true;
			if (rri->ri_onConflict != NULL)
				*on_conflict = true;
		}
		if (rris == NIL)
			*assigns = true;
		list_free(rris);
	}

	writes_cache.lxid = MyProc->lxid;
	writes_cache.cid = cid;
	writes_cache.relid = relid;
	writes_cache.attnum = attnum;
	writes_cache.assigns = *assigns;
	writes_cache.on_conflict = *on_conflict;
	writes_cache.valid = true;
}

/*
 * What the statement that writes "rel" under command id "cid" does to
 * column "attnum" of "rel": *assigns -- it assigns the column (UPDATE ...
 * SET, ON CONFLICT DO UPDATE SET, a MERGE UPDATE action; for a row routed to
 * another partition, the partitioned table's assigned columns mapped to this
 * partition); *on_conflict -- it is an INSERT ... ON CONFLICT DO UPDATE.
 * When the statement cannot be found, *assigns is true: callers use it to
 * refuse, so an unknown statement is treated the strict way.  A statement
 * with several result relations for "rel" (data-modifying WITH) counts as
 * assigning if any of them does.  The answer is cached for the command (the
 * lookup runs out of line), so callers may ask for every row.  Takes no
 * locks; raises only 53200 (mapping a partition's columns allocates).
 */
void
steward_statement_writes(Relation rel, CommandId cid, AttrNumber attnum,
						 bool *assigns, bool *on_conflict)
{
	if (likely(writes_cache.valid && writes_cache.cid == cid &&
			   writes_cache.relid == RelationGetRelid(rel) &&
			   writes_cache.attnum == attnum &&
			   writes_cache.lxid == MyProc->lxid))
	{
		*assigns = writes_cache.assigns;
		*on_conflict = writes_cache.on_conflict;
		return;
	}
	statement_writes_lookup(rel, cid, attnum, assigns, on_conflict);
}

/* "node" without the casts around it (a RelabelType, an implicit cast). */
static Node *
strip_casts(Node *node)
{
	for (;;)
	{
		if (node != NULL && IsA(node, RelabelType))
			node = (Node *) ((RelabelType *) node)->arg;
		else if (node != NULL && IsA(node, FuncExpr) &&
				 ((FuncExpr *) node)->funcformat == COERCE_IMPLICIT_CAST &&
				 ((FuncExpr *) node)->args != NIL)
			node = linitial(((FuncExpr *) node)->args);
		else
			return node;
	}
}

/* Is "node" column "attnum" of the row of range-table entry "rti"? */
static bool
is_row_column(Node *node, Index rti, AttrNumber attnum)
{
	Var		   *var = (Var *) strip_casts(node);

	return var != NULL && IsA(var, Var) && var->varno == rti &&
		var->varattno == attnum && var->varlevelsup == 0;
}

/* Is "value" of type "type" the integer 1 (of int2, int4 or int8)? */
static bool
is_integer_datum_one(Oid type, Datum value, bool isnull)
{
	if (isnull)
		return false;
	switch (type)
	{
		case INT2OID:
			return DatumGetInt16(value) == 1;
		case INT4OID:
			return DatumGetInt32(value) == 1;
		case INT8OID:
			return DatumGetInt64(value) == 1;
		default:
			return false;
	}
}

/*
 * Is "param" a client's parameter ($n of a prepared statement, a PL/pgSQL
 * variable) whose value in "params", this execution's, is the integer 1?
 * A custom plan folds $1 to its value before the AM sees it and a generic
 * plan keeps the Param (drivers switch after five executions: JDBC's
 * prepareThreshold, plan_cache_mode), so both must be judged by the value
 * the statement runs with, or t.version + $1 would be "the next version"
 * under one plan and a fixed value under the other (trust47).  Fetches
 * speculatively (no side effects); anything it cannot read is not 1.
 */
static bool
is_param_one(Param *param, ParamListInfo params)
{
	ParamExternData workspace;
	ParamExternData *prm;

	if (param->paramkind != PARAM_EXTERN || params == NULL ||
		param->paramid <= 0 || param->paramid > params->numParams)
		return false;
	if (params->paramFetch != NULL)
		prm = params->paramFetch(params, param->paramid, true, &workspace);
	else
		prm = &params->params[param->paramid - 1];
	if (prm == NULL || prm->ptype != param->paramtype)
		return false;
	return is_integer_datum_one(prm->ptype, prm->value, prm->isnull);
}

/*
 * Is "node" the integer 1 (of int2, int4 or int8): a constant, or a
 * parameter whose value in "params" is 1 (is_param_one)?
 */
static bool
is_integer_one(Node *node, ParamListInfo params)
{
	node = strip_casts(node);
	if (node != NULL && IsA(node, Param))
		return is_param_one((Param *) node, params);
	if (node == NULL || !IsA(node, Const))
		return false;
	return is_integer_datum_one(((Const *) node)->consttype,
								((Const *) node)->constvalue,
								((Const *) node)->constisnull);
}

/* Is "op" the built-in addition of bigint and an integer type? */
static bool
is_integer_addition(OpExpr *op)
{
	switch (op->opfuncid)
	{
		case F_INT8PL:
		case F_INT84PL:
		case F_INT82PL:
		case F_INT48PL:
		case F_INT28PL:
			return true;
		default:
			return false;
	}
}

/*
 * Is "expr" exactly the existing row's column "attnum" of range-table
 * entry "rti" plus the constant 1 (SET version = t.version + 1, or 1 +
 * t.version; the 1 of any integer type; implicit casts aside; or a
 * parameter whose value in "params" is 1, t.version + $1 run with 1, as a
 * custom plan folds it: is_integer_one), so that its
 * value is the next version of whatever row the upsert meets?  Only that
 * form: anything else -- a constant, a parameter, EXCLUDED, which setrefs.c
 * turned into INNER_VAR, a CASE, COALESCE or GREATEST that reads the row
 * only to choose such a value (CASE WHEN t.version = EXCLUDED.version - 1
 * THEN EXCLUDED.version ...: codereview17 C4), and every other algebra
 * over the row (EXCLUDED.version + t.version - t.version, t.version + $1
 * run with another value, an explicit cast, a function, a subquery, a user's operator: codereview17
 * R4, trust46) -- is taken as a value the client fixed, which is refused
 * only over a row newer than the statement.  An exact test, not a proof
 * that a value follows the row: a form it misses costs a retry (40001)
 * where the row was deleted and inserted again, never a lost update.
 */
static bool
follows_row_version(Node *expr, Index rti, AttrNumber attnum,
					ParamListInfo params)
{
	OpExpr	   *op = (OpExpr *) strip_casts(expr);

	if (op == NULL || !IsA(op, OpExpr) || list_length(op->args) != 2 ||
		!is_integer_addition(op))
		return false;
	return (is_row_column(linitial(op->args), rti, attnum) &&
			is_integer_one(lsecond(op->args), params)) ||
		(is_integer_one(linitial(op->args), params) &&
		 is_row_column(lsecond(op->args), rti, attnum));
}

/*
 * Is column "attname" of the relation of result range-table entry "rti"
 * assigned, by ON CONFLICT DO UPDATE SET of a plan in "stmt", a value that
 * does not follow the existing row's (follows_row_version)?  "rti" is the
 * nominal target's: onConflictCols, parallel to onConflictSet, holds its
 * attribute numbers, which a partition maps by name.  The plans are the
 * statement's own and its WITH queries' (subplans): an INSERT ... ON
 * CONFLICT is the top of either.  "params": the values the statement runs
 * with (is_param_one).
 */
static bool
on_conflict_sets_literal(PlannedStmt *stmt, ParamListInfo params, Index rti,
						 Relation target, const char *attname)
{
	AttrNumber	attnum = InvalidAttrNumber;
	List	   *plans = lcons(stmt->planTree, list_copy(stmt->subplans));
	ListCell   *lc;

	for (int i = 0; i < RelationGetDescr(target)->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(target), i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), attname) == 0)
			attnum = att->attnum;
	}
	foreach(lc, plans)
	{
		ModifyTable *mt = (ModifyTable *) lfirst(lc);
		ListCell   *tl,
				   *cl;

		if (mt == NULL || !IsA(mt, ModifyTable) ||
			mt->onConflictAction != ONCONFLICT_UPDATE ||
			!list_member_int(mt->resultRelations, (int) rti))
			continue;
		forboth(tl, mt->onConflictSet, cl, mt->onConflictCols)
		{
			TargetEntry *te = (TargetEntry *) lfirst(tl);

			if (lfirst_int(cl) == attnum &&
				!follows_row_version((Node *) te->expr, rti, attnum, params))
				return true;
		}
	}
	return false;
}

/*
 * Does the INSERT ... ON CONFLICT DO UPDATE writing "rel" under command id
 * "cid" assign column "attnum" a value that does not follow the existing
 * row's (SET version = 2, = $1, = EXCLUDED.version, or a CASE choosing
 * one: follows_row_version), a value the client fixed before the
 * statement began?  Such a value equal to the version after
 * the conflicting row's can only come from an older row with that same
 * version, when that row is newer than the statement (a row deleted and
 * inserted again, versions starting afresh): it is stale (review31 R2).
 * SET version = t.version + 1, read from the row, is not.  True when the
 * statement cannot be found (the strict answer, as steward_statement_writes
 * gives).  Called only for that rare row, so nothing is cached.  Takes no
 * locks; raises only 53200.
 */
bool
steward_on_conflict_sets_literal(Relation rel, CommandId cid, AttrNumber attnum)
{
	EState	   *estate = writing_estate(cid);
	const char *attname = NameStr(TupleDescAttr(RelationGetDescr(rel), attnum - 1)->attname);
	ListCell   *lc;

	if (estate == NULL || estate->es_plannedstmt == NULL)
		return true;
	foreach(lc, result_relations_of(estate, RelationGetRelid(rel)))
	{
		ResultRelInfo *rri = (ResultRelInfo *) lfirst(lc);
		ResultRelInfo *root = rri->ri_RootResultRelInfo != NULL ?
			rri->ri_RootResultRelInfo : rri;

		if (rri->ri_onConflict != NULL &&
			on_conflict_sets_literal(estate->es_plannedstmt,
									 estate->es_param_list_info,
									 root->ri_RangeTableIndex,
									 root->ri_RelationDesc, attname))
			return true;
	}
	return false;
}

/*
 * Is the statement writing under "cid" still running (its executor state
 * not yet freed)?  Only data-modifying statements are known, so false for
 * a SELECT ... FOR UPDATE.  Takes no lock; raises nothing.
 */
bool
steward_statement_running(CommandId cid)
{
	return writing_statement(cid) != NULL;
}

/*
 * The memory the executor resets before each row of the statement writing
 * under "cid" (its per-tuple expression context: ExecModifyTable resets it
 * at the top of every row, and nothing between the delete and the insert
 * half of one row's cross-partition move resets it), or NULL when no such
 * statement runs.  A reset callback registered there fires once the
 * executor has moved on to another row.  Takes no lock; raises only 53200.
 */
MemoryContext
steward_statement_row_memory(CommandId cid)
{
	WritingStatement *stmt = writing_statement(cid);

	return stmt != NULL ? GetPerTupleMemoryContext(stmt->estate) : NULL;
}

/*
 * Does result relation "rri" hold the row version at "otid" of relation
 * "relid" in its old-row slot, pinned?  Then point *tuple at it and set
 * *buffer to the slot's buffer.
 *
 * A buffer heap tuple slot with a buffer holds a pin on that buffer and a
 * tuple pointing into its page, from the moment the tuple is stored until
 * it is cleared or replaced.  While any backend holds a pin, the page can
 * be neither pruned nor defragmented (both need a cleanup lock), so a line
 * pointer that held a tuple when the slot stored it still holds that very
 * tuple, and its data never changes.  Whatever executor path filled the
 * slot and however long ago, a pinned slot whose tuple is at "otid" shows
 * the row stored at "otid" now.
 */
static inline bool
old_row_from_slot(ResultRelInfo *rri, Oid relid, ItemPointer otid,
				  HeapTuple tuple, Buffer *buffer, TupleTableSlot **oldslot)
{
	TupleTableSlot *slot = rri->ri_oldTupleSlot;
	BufferHeapTupleTableSlot *bslot;

	if (slot == NULL || !TTS_IS_BUFFERTUPLE(slot) || TTS_EMPTY(slot) ||
		slot->tts_tableOid != relid)
		return false;
	bslot = (BufferHeapTupleTableSlot *) slot;
	if (!BufferIsValid(bslot->buffer) || bslot->base.tuple == NULL ||
		ItemPointerGetOffsetNumberNoCheck(&bslot->base.tuple->t_self) !=
		ItemPointerGetOffsetNumberNoCheck(otid) ||
		ItemPointerGetBlockNumberNoCheck(&bslot->base.tuple->t_self) !=
		ItemPointerGetBlockNumberNoCheck(otid))
		return false;
	*tuple = *bslot->base.tuple;
	*buffer = bslot->buffer;
	*oldslot = slot;
	return true;
}

/* The result relations of stmt whose old-row slot holds otid (out of line). */
static pg_noinline bool
old_row_search(WritingStatement *stmt, Oid relid, ItemPointer otid,
			   HeapTuple tuple, Buffer *buffer, TupleTableSlot **oldslot)
{
	ListCell   *lc;

	foreach(lc, stmt->estate->es_opened_result_relations)
	{
		ResultRelInfo *rri = (ResultRelInfo *) lfirst(lc);

		if (RelationGetRelid(rri->ri_RelationDesc) == relid &&
			old_row_from_slot(rri, relid, otid, tuple, buffer, oldslot))
		{
			stmt->old_relid = relid;
			stmt->old_rri = rri;
			return true;
		}
	}
	return false;
}

/*
 * The row version at "otid" of "rel" that the statement writing under
 * "cid" is about to replace, when the executor holds it pinned in the
 * result relation's old-row slot: an UPDATE or MERGE fetches the row
 * version it replaces there (ExecModifyTable, ExecMergeMatched, and again
 * after EvalPlanQual) and keeps it until the new row is stored, because
 * the new row's unchanged columns point into it.  Returns true with
 * *tuple pointing into the page of *buffer, pinned by the slot (the
 * caller takes no pin of its own and must not release it); false when no
 * such slot holds it (INSERT ... ON CONFLICT DO UPDATE, a BEFORE ROW
 * trigger that locked a later version, a write outside the executor): the
 * caller reads the page itself.
 *
 * The tuple may be used only until control returns to the executor, which
 * may then store another row in the slot: the caller, the table AM's
 * tuple_update, runs no executor code of this statement in between.  Only
 * slots of the statement's own result relations are looked at, which live
 * as long as its executor state, and that is exactly as long as the
 * statement is found here.  Takes no lock; raises nothing.
 */
bool
steward_statement_old_row(Relation rel, CommandId cid, ItemPointer otid,
						  HeapTuple tuple, Buffer *buffer,
						  TupleTableSlot **oldslot)
{
	WritingStatement *stmt = writing_statement(cid);
	Oid			relid = RelationGetRelid(rel);

	if (stmt == NULL)
		return false;
	/* The rows of a bulk UPDATE all come through one result relation. */
	if (likely(stmt->old_relid == relid) &&
		old_row_from_slot(stmt->old_rri, relid, otid, tuple, buffer, oldslot))
		return true;
	return old_row_search(stmt, relid, otid, tuple, buffer, oldslot);
}

/*
 * Is result relation "rri" one of ModifyTable node "mtstate"'s own?
 */
static bool
owns_result_rel(ModifyTableState *mtstate, ResultRelInfo *rri)
{
	return rri >= mtstate->resultRelInfo &&
		rri < mtstate->resultRelInfo + mtstate->mt_nrels;
}

/*
 * The ModifyTable node of the statement "stmt" one of whose result
 * relations is "rri" (the statement's own, or a data-modifying WITH's), or
 * NULL.  Called for every row a statement moves: allocates nothing (a
 * list built here stayed in the statement's query memory, 84 bytes a
 * moved row: codereview19 C2).
 */
static ModifyTableState *
owning_modify_table(WritingStatement *stmt, ResultRelInfo *rri)
{
	ListCell   *lc;

	if (stmt->planstate != NULL && IsA(stmt->planstate, ModifyTableState) &&
		owns_result_rel((ModifyTableState *) stmt->planstate, rri))
		return (ModifyTableState *) stmt->planstate;
	foreach(lc, stmt->estate->es_auxmodifytables)
	{
		ModifyTableState *mtstate = (ModifyTableState *) lfirst(lc);

		if (owns_result_rel(mtstate, rri))
			return mtstate;
	}
	return NULL;
}

/*
 * The leaf partition the executor will insert the new row of a move
 * through result relation "rri" into, found as the executor finds it,
 * with its own routing state: the cross-partition UPDATE or MERGE sets
 * that up before deleting the row (ExecCrossPartitionUpdate), and inserts
 * the row through ExecFindPartition once the delete is done.  Calling it
 * first descends the same partition descriptors with the row's key --
 * list, range, hash, default partitions and NULL keys alike -- opening with
 * RowExclusiveLock only the partitioned tables on the path and the leaf,
 * the locks the insert takes anyway, and leaves the leaf's result relation
 * in the routing state's cache, where the insert finds it.  NULL when the
 * statement's routing state cannot be found (then the caller decides
 * without the destination).  Raises what routing raises (23514: no
 * partition for the row, or it fails the root's partition constraint:
 * what the executor's insert half would raise, raised by the delete half,
 * which calls this once heap deleted the row, review36).  Allocates
 * nothing in the statement's memory (a call per moved row).
 */
static ResultRelInfo *
route_moving_row(WritingStatement *stmt, ResultRelInfo *rri)
{
	ModifyTableState *mtstate = owning_modify_table(stmt, rri);
	TupleConversionMap *map;
	TupleTableSlot *slot = rri->ri_newTupleSlot;

	if (mtstate == NULL || mtstate->mt_partition_tuple_routing == NULL ||
		mtstate->mt_root_tuple_slot == NULL ||
		mtstate->rootResultRelInfo != rri->ri_RootResultRelInfo)
		return NULL;
	/* Routing starts from the root, in its format, as after the delete. */
	map = ExecGetChildToRootMap(rri);
	if (map != NULL)
		slot = execute_attr_map_slot(map->attrMap, slot,
									 mtstate->mt_root_tuple_slot);
	return ExecFindPartition(mtstate, mtstate->rootResultRelInfo,
							 mtstate->mt_partition_tuple_routing, slot,
							 stmt->estate);
}

/*
 * Does "test" hold for some leaf under "root": a foreign-table leaf
 * (lacks NULL), or a local leaf that "lacks" says lacks a rule of "from"?
 * For a move whose destination cannot be found; opens the local leaves,
 * with AccessShareLock, only with "lacks".
 */
static bool
some_leaf(Oid root, Relation from, StewardLeafTest lacks)
{
	List	   *all = find_all_inheritors(root, NoLock, NULL);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, all)
	{
		Oid			relid = lfirst_oid(lc);
		char		relkind = get_rel_relkind(relid);
		Relation	leaf;

		if (lacks == NULL)
			found = relkind == RELKIND_FOREIGN_TABLE;
		else if (relkind == RELKIND_RELATION &&
				 (leaf = try_relation_open(relid, AccessShareLock)) != NULL)
		{
			found = lacks(from, leaf);
			relation_close(leaf, NoLock);
		}
		if (found)
			break;
	}
	list_free(all);
	return found;
}

/* The result relation of stmt for relid whose old-row slot holds otid. */
static ResultRelInfo *
moving_result_rel(WritingStatement *stmt, Oid relid, ItemPointer otid,
				  bool *ambiguous)
{
	ListCell   *lc;
	ResultRelInfo *only = NULL;
	int			n = 0;

	*ambiguous = false;
	foreach(lc, stmt->estate->es_opened_result_relations)
	{
		ResultRelInfo *rri = (ResultRelInfo *) lfirst(lc);
		HeapTupleData tuple;
		Buffer		buffer;
		TupleTableSlot *oldslot;

		if (RelationGetRelid(rri->ri_RelationDesc) != relid ||
			rri->ri_RootResultRelInfo == NULL ||
			rri->ri_newTupleSlot == NULL || TTS_EMPTY(rri->ri_newTupleSlot))
			continue;
		if (old_row_from_slot(rri, relid, otid, &tuple, &buffer, &oldslot))
			return rri;
		only = rri;
		n++;
	}
	/*
	 * A BEFORE ROW trigger that locked a later version than the old-row slot
	 * holds: the one result relation moving a row of relid.
	 */
	if (n > 1)
		*ambiguous = true;
	return n == 1 ? only : NULL;
}

/*
 * The root partitioned table that the statement "stmt" (may be NULL) routes
 * the row at "otid" of partition "rel" from, with *rri the result
 * relation moving it (NULL when it cannot be identified: then the root is
 * rel's topmost ancestor, and *ambiguous says whether several result
 * relations move rows of rel).  InvalidOid: rel is no partition.
 */
static Oid
moving_root(WritingStatement *stmt, Relation rel, ItemPointer otid,
			ResultRelInfo **rri, bool *ambiguous)
{
	List	   *ancestors;
	Oid			root;

	*rri = NULL;
	*ambiguous = false;
	if (stmt != NULL)
		*rri = moving_result_rel(stmt, RelationGetRelid(rel), otid, ambiguous);
	if (*rri != NULL)
		return RelationGetRelid((*rri)->ri_RootResultRelInfo->ri_RelationDesc);
	ancestors = steward_partition_ancestors(RelationGetRelid(rel));
	root = ancestors != NIL ? llast_oid(ancestors) : InvalidOid;
	list_free(ancestors);
	return root;
}

/*
 * Why moving_root found no result relation routing the row, or
 * route_moving_row no destination, for the statement "stmt" (may be NULL)
 * with moving_root's "ambiguous".
 */
static StewardMoveUnknown
move_unknown_why(WritingStatement *stmt, bool ambiguous)
{
	if (stmt == NULL)
		return STEWARD_MOVE_NO_STATEMENT;
	return ambiguous ? STEWARD_MOVE_SEVERAL_RESULT_RELS : STEWARD_MOVE_NO_ROUTING;
}

/*
 * The clause of a refusal's DETAIL saying why the destination of a moving
 * row is not known ("why" not STEWARD_MOVE_KNOWN), to follow "and ".
 * Each reason has its own: the refusal said "through more than one result
 * relation" for all three (trust50).  Takes no lock; raises nothing.
 */
const char *
steward_move_unknown_clause(StewardMoveUnknown why)
{
	switch (why)
	{
		case STEWARD_MOVE_NO_STATEMENT:
			return "the row is moved outside any statement pg_steward saw start";
		case STEWARD_MOVE_SEVERAL_RESULT_RELS:
			return "the statement moves rows of the partition through more than one result relation";
		case STEWARD_MOVE_NO_ROUTING:
		case STEWARD_MOVE_KNOWN:
			break;
	}
	return "the statement's routing of the row could not be found";
}

/*
 * Does the row at "otid" of partition "rel", which the statement writing
 * under "cid" is moving to another partition (the delete half of a
 * cross-partition UPDATE or MERGE, tuple_delete with changingPart), go to a
 * foreign-table partition?  Then return the executor's slot holding the
 * row's new version in rel's format (the result relation's new-row slot,
 * which the executor converts and routes once the delete is done, so values
 * set in it are the values inserted) and set *dest to that partition; else
 * return NULL: the row goes to a local partition, whose insert half the
 * access method judges (src/tableam/README.md, "Cross-partition UPDATE"),
 * or no foreign partition exists under the root the statement routes from.
 * The destination is the partition the executor routes the row to
 * (route_moving_row).  When the root has foreign partitions but the
 * statement's new row cannot be identified (a write outside the executor,
 * or several result relations moving rows of rel in one statement), raises
 * 0A000 rather than let a row leave unjudged.  Locks what routing locks:
 * RowExclusiveLock on the destination and the partitioned tables above it.
 */
TupleTableSlot *
steward_statement_foreign_move(Relation rel, CommandId cid, ItemPointer otid,
							   Oid *dest)
{
	WritingStatement *stmt = writing_statement(cid);
	ResultRelInfo *rri;
	bool		ambiguous;
	Oid			root = moving_root(stmt, rel, otid, &rri, &ambiguous);
	ResultRelInfo *to;

	*dest = InvalidOid;
	if (!OidIsValid(root))
		return NULL;
	if (rri != NULL && (to = route_moving_row(stmt, rri)) != NULL)
	{
		if (to->ri_RelationDesc->rd_rel->relkind != RELKIND_FOREIGN_TABLE)
			return NULL;
		*dest = RelationGetRelid(to->ri_RelationDesc);
		return rri->ri_newTupleSlot;
	}
	if (!some_leaf(root, rel, NULL))
		return NULL;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot move a row of relation \"%s\" to another partition here",
					RelationGetRelationName(rel)),
			 errdetail("Rules of pg_steward apply to the row, a partition of \"%s\" is a foreign table, where they cannot check the move, and %s, so whether the row goes there cannot be told.",
					   get_rel_name(root),
					   steward_move_unknown_clause(move_unknown_why(stmt, ambiguous))),
			 errhint("Move the row with one UPDATE of the partitioned table.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * Does the row at "otid" of partition "rel", which the statement writing
 * under "cid" is moving to another partition (the delete half of a
 * cross-partition UPDATE or MERGE), go to a local leaf partition that
 * "lacks" says lacks a rule of rel's?  Returns that partition, or
 * InvalidOid: the root the statement routes from has all of rel's rules
 * (the usual case, rules declared on the partitioned table: every
 * partition has its ancestors' rules, so none below loses one; answered
 * without opening a leaf), or the row goes to a partition that has them
 * all.  The destination is the partition the executor routes the row to
 * (route_moving_row), so only the partitioned tables on its path and the
 * leaf are locked, with RowExclusiveLock, the locks the insert takes
 * anyway; a sibling's lock does not stand in the way.  Sets *unknown to
 * why (StewardMoveUnknown) when the statement's new row or routing state
 * cannot be identified (outside the executor; several result relations
 * moving rows of rel in one statement; no routing state found) and the
 * root lacks a rule, some leaf too (inside the executor,
 * opening the leaves with AccessShareLock: this rare case alone), where
 * the caller refuses rather than let the row leave its rules.  Raises what
 * routing raises (23514) and what the rules' loading raises (55000, 53200).
 */
Oid
steward_statement_move_losing(Relation rel, CommandId cid, ItemPointer otid,
							  StewardLeafTest lacks, StewardMoveUnknown *unknown)
{
	WritingStatement *stmt = writing_statement(cid);
	ResultRelInfo *rri;
	ResultRelInfo *to;
	bool		ambiguous;
	Oid			root;
	Relation	rootrel;
	bool		root_lacks;

	*unknown = STEWARD_MOVE_KNOWN;
	root = moving_root(stmt, rel, otid, &rri, &ambiguous);
	if (!OidIsValid(root))
		return InvalidOid;
	rootrel = relation_open(root, AccessShareLock);
	root_lacks = lacks(rel, rootrel);
	relation_close(rootrel, NoLock);
	if (!root_lacks)
		return InvalidOid;
	if (stmt == NULL)
	{
		/* Outside the executor: refuse, the topmost root loses one. */
		*unknown = STEWARD_MOVE_NO_STATEMENT;
		return InvalidOid;
	}
	if (rri == NULL || (to = route_moving_row(stmt, rri)) == NULL)
	{
		if (some_leaf(root, rel, lacks))
			*unknown = move_unknown_why(stmt, ambiguous);
		return InvalidOid;
	}
	if (to->ri_RelationDesc->rd_rel->relkind != RELKIND_RELATION ||
		!lacks(rel, to->ri_RelationDesc))
		return InvalidOid;
	return RelationGetRelid(to->ri_RelationDesc);
}
