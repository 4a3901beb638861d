/*-------------------------------------------------------------------------
 *
 * utility.h
 *	  pg_steward's one ProcessUtility hook: the subsystems that look at
 *	  utility statements register a step at a fixed stage, and the stages
 *	  run in the order written here.  See utility.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_UTILITY_H
#define STEWARD_UTILITY_H

#include "postgres.h"

#include "nodes/nodes.h"
#include "tcop/utility.h"

/*
 * The stages, outermost first.  A statement meets each stage's "before"
 * and "wrap" in this order on its way to core's ProcessUtility, and the
 * "after"s in the reverse order on its way back (src/plumbing/README.md,
 * "Utility statements", says why each stands where it stands):
 *
 *	STATEMENTS: times and counts the whole statement, pg_steward's own work
 *	  on it included, and keeps the statements that work runs through SPI
 *	  nested (not counted as top-level statements) -- so it is outermost;
 *	REPORTS: raises the depth of the statement reports (tableam/writectx.c)
 *	  while the statement runs, and emits them at the end of the client's
 *	  statement -- next to outermost, so that the statements every stage
 *	  below runs report at the end of the client's one;
 *	TOKENS: notes a COMMIT PREPARED before it commits (no other stage looks
 *	  at transaction statements; it stays where the chained hooks had it);
 *	RESTORE01: runs a 0.1 dump's COPY into a temporary table instead: the
 *	  stages below it see that COPY, not the user's;
 *	RELEASE: refuses DROP EXTENSION and the drops that take it along in a
 *	  database at 0.1's objects, before ROLES writes anything for a
 *	  DROP OWNED that would then be refused;
 *	ROLES: refuses DROP ROLE, forgets machine roles before DROP OWNED, and
 *	  follows REASSIGN OWNED / DROP OWNED after core's part;
 *	MIGRATE: counts the statement itself as one level deeper while a
 *	  statement of steward._migration_exec runs -- innermost, so that only
 *	  core's ProcessUtility (and what it fires) is counted, not the SQL the
 *	  stages above run.
 */
typedef enum StewardUtilityStage
{
	STEWARD_UTILITY_STATEMENTS,
	STEWARD_UTILITY_REPORTS,
	STEWARD_UTILITY_TOKENS,
	STEWARD_UTILITY_RESTORE01,
	STEWARD_UTILITY_RELEASE,
	STEWARD_UTILITY_ROLES,
	STEWARD_UTILITY_MIGRATE,
	STEWARD_UTILITY_STAGES
} StewardUtilityStage;

/* A utility statement on its way through the stages: the hook's arguments. */
typedef struct StewardUtilityCall
{
	PlannedStmt *pstmt;
	const char *queryString;
	bool		readOnlyTree;
	ProcessUtilityContext context;
	ParamListInfo params;
	QueryEnvironment *queryEnv;
	DestReceiver *dest;
	QueryCompletion *qc;
	int			next_stage;		/* the dispatcher's: where proceed goes on */
} StewardUtilityCall;

/* At most this many node tags per step. */
#define STEWARD_UTILITY_MAX_TAGS 4

/*
 * What a subsystem does at its stage.  tags: the statements' node tags it
 * looks at (the rest of the array T_Invalid); none at all: every
 * statement.  Each callback may be NULL.  before: before the stages
 * below and core's ProcessUtility; wrap: runs the stages below and core's
 * ProcessUtility itself, by calling steward_utility_proceed(call) (or a
 * copy of call with another pstmt) exactly once, unless it raises; after:
 * once they returned without error (an error passes by it, as it passed
 * by code after the call of a chained hook).
 */
typedef struct StewardUtilityStep
{
	NodeTag		tags[STEWARD_UTILITY_MAX_TAGS];
	void		(*before) (StewardUtilityCall *call);
	void		(*wrap) (StewardUtilityCall *call);
	void		(*after) (StewardUtilityCall *call);
} StewardUtilityStep;

extern void steward_utility_register(StewardUtilityStage stage,
									 const StewardUtilityStep *step);
extern void steward_utility_install(void);
extern void steward_utility_proceed(StewardUtilityCall *call);
extern bool steward_utility_extension_here(void);

#endif							/* STEWARD_UTILITY_H */
