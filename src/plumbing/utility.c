/*-------------------------------------------------------------------------
 *
 * utility.c
 *	  pg_steward's one ProcessUtility hook, which runs the steps the
 *	  subsystems registered in the order of StewardUtilityStage.
 *
 * Six subsystems look at utility statements (statement statistics,
 * write tokens, 0.1 restores, the DROP EXTENSION guard, roles,
 * migrations).  Each used to chain its own hook, so every utility
 * statement went through six hook calls, each testing its node tag
 * again, and their order was whatever order _PG_init happened to install
 * them in (closing45 D4).  Now _PG_init installs this one hook; each
 * subsystem registers what it needs at its stage (a "before", a "wrap"
 * around the rest, an "after") and the node tags it looks at, which are
 * tested here, so a step is called only for its own statements.  The
 * order is StewardUtilityStage's, and utility.h and the README say why.
 *
 * Nothing here is per statement but the StewardUtilityCall on the stack:
 * a statement a step runs (SPI, a COPY restore01 issues) enters the hook
 * again from the top and meets every stage afresh, as it did with the
 * chained hooks.  The steps are backend-local and set at load time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"

#include "pg_steward.h"
#include "plumbing/utility.h"

/* The step registered at each stage, NULL where none is. */
static const StewardUtilityStep *steps[STEWARD_UTILITY_STAGES];

/* The hook that was installed before ours (another library's), if any. */
static ProcessUtility_hook_type prev_process_utility = NULL;
static bool installed = false;

/* Does step look at statements of node tag "tag"? */
static inline bool
step_wants(const StewardUtilityStep *step, NodeTag tag)
{
	if (step == NULL)
		return false;
	if (step->tags[0] == T_Invalid)
		return true;
	for (int i = 0; i < STEWARD_UTILITY_MAX_TAGS && step->tags[i] != T_Invalid; i++)
	{
		if (step->tags[i] == tag)
			return true;
	}
	return false;
}

/*
 * Run the stages from call->next_stage on: each "before" in order until
 * a "wrap", which runs the rest itself; core's ProcessUtility (or the
 * hook before ours) when no stage wrapped; then the "after"s of the
 * stages passed, innermost first.  Every statement is a new call on the
 * stack: nothing here is shared between nested statements.  Takes no
 * lock; raises what the steps and core raise.
 */
void
steward_utility_proceed(StewardUtilityCall *call)
{
	NodeTag		tag = nodeTag(call->pstmt->utilityStmt);
	int			first = call->next_stage;
	int			stage;

	for (stage = first; stage < STEWARD_UTILITY_STAGES; stage++)
	{
		const StewardUtilityStep *step = steps[stage];

		if (!step_wants(step, tag))
			continue;
		if (step->before)
			step->before(call);
		if (step->wrap)
		{
			call->next_stage = stage + 1;
			step->wrap(call);
			break;
		}
	}
	if (stage == STEWARD_UTILITY_STAGES)
		(prev_process_utility ? prev_process_utility : standard_ProcessUtility)
			(call->pstmt, call->queryString, call->readOnlyTree, call->context,
			 call->params, call->queryEnv, call->dest, call->qc);
	for (stage = Min(stage, STEWARD_UTILITY_STAGES - 1); stage >= first; stage--)
	{
		const StewardUtilityStep *step = steps[stage];

		if (step_wants(step, tag) && step->after)
			step->after(call);
	}
}

/* The hook itself: every utility statement, from the first stage. */
static void
steward_process_utility(PlannedStmt *pstmt, const char *queryString,
						bool readOnlyTree, ProcessUtilityContext context,
						ParamListInfo params, QueryEnvironment *queryEnv,
						DestReceiver *dest, QueryCompletion *qc)
{
	StewardUtilityCall call = {
		.pstmt = pstmt,
		.queryString = queryString,
		.readOnlyTree = readOnlyTree,
		.context = context,
		.params = params,
		.queryEnv = queryEnv,
		.dest = dest,
		.qc = qc,
		.next_stage = 0,
	};

	steward_utility_proceed(&call);
}

/*
 * From _PG_init (a subsystem's install function): run "step" at "stage"
 * for every utility statement from now on in this process.  A stage holds
 * one step; step must stay valid (a static const).  Takes no lock;
 * raises XX000 when the stage is taken or out of range (a programming
 * error).
 */
void
steward_utility_register(StewardUtilityStage stage, const StewardUtilityStep *step)
{
	if (stage < 0 || stage >= STEWARD_UTILITY_STAGES || steps[stage] != NULL)
		elog(ERROR, "utility stage %d is out of range or already registered", (int) stage);
	steps[stage] = step;
}

/*
 * From _PG_init, once per process: install the one ProcessUtility hook,
 * after the hook of any library loaded before (which runs below every
 * stage, where core's ProcessUtility would).  Steps registered later
 * (the preloaded-only ones) take part from then on.  Takes no lock;
 * raises nothing.
 */
void
steward_utility_install(void)
{
	if (installed)
		return;
	installed = true;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = steward_process_utility;
}

/*
 * For steps: is this a transaction in a database where pg_steward is
 * installed?  A utility statement may run outside a transaction (VACUUM,
 * a COMMIT ending one) or in a process with no database; the catalogs are
 * read only when there is a transaction.  One index scan of
 * pg_extension; takes no lock but the catalog's AccessShareLock; raises
 * nothing of its own.
 */
bool
steward_utility_extension_here(void)
{
	return IsTransactionState() && OidIsValid(MyDatabaseId) &&
		OidIsValid(get_extension_oid(STEWARD_EXTENSION, true));
}
