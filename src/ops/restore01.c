/*-------------------------------------------------------------------------
 *
 * restore01.c
 *	  Idempotency keys and scopes and state machines of a pg_steward 0.1
 *	  dump, restored into a database whose extension has 0.2's objects.
 *
 * A dump of a database at 0.1 writes its keys and scopes as
 *
 *	  COPY steward.idempotency_keys (scope, key, fingerprint, status,
 *	       response, created_at, locked_at, completed_at, expires_at) FROM stdin;
 *	  COPY steward.idempotency_scopes (scope, retention) FROM stdin;
 *
 * without 0.2's claim, owner, holder and lease columns, and pg_restore's
 * CREATE EXTENSION installs the default version, 0.2.  Copied as they
 * are, the scope rows would get a new random claim (the column's
 * default) that 0.1's keys (claim NULL) do not carry, and the scopes 0.1
 * kept no row for (every scope without a retention override) none, so
 * the first begin would claim the name: either way every stored response
 * would be another claim's leftover, which begin deletes and answers
 * "new" (docs/idempotency.md, "Safe retries in detail"), and each retried request would run a second
 * time; a key without a result would have no lease, so its retry would
 * take it over at once (review33 U1).
 *
 * So a COPY FROM into one of the two tables that does not name "claim"
 * (0.1's column lists; 0.2's dumps name every column) gets what ALTER
 * EXTENSION UPDATE gives 0.1's rows (pg_steward--0.1--0.2.sql).  The rows
 * are copied into a temporary table, then inserted as the caller (the
 * INSERT checks the caller's privileges on the extension's table, as the
 * COPY would have), with search_path pinned:
 *
 *	  keys:   claim NULL; a key without a result leased for 0.1's default
 *			  of 5 minutes from locked_at; each of their scopes that has no
 *			  row gets one, claim NULL, owned by the caller (the column's
 *			  default for rows restored from a dump made before 0.2);
 *	  scopes: claim NULL, or the retention set on the row a keys COPY
 *			  already made (pg_restore -j may restore either table first).
 *
 * A scope row of the same name that has a claim (made under 0.2) is left
 * alone: keys restored under it stay nobody's, and a scopes COPY naming it
 * is refused with 23505, as the plain COPY's primary key would refuse it.
 *
 * The same dump's COPY steward.machine_definitions (name, states,
 * initial, transitions, builtin, created_at) leaves out 0.2's owner and
 * usage_roles: every machine would belong to the restoring role, a
 * tenant's too (the update gives it to the tenant: review33 U2), and the
 * labels of the
 * columns it is attached to, written when column_rules' rows came (the
 * dump's data goes in table-name order, rules before machines) without
 * the machine, would lack its states: this database's own 0.2 dumps then
 * failed to restore them ("differs from the one attached", review33 U3).
 * So machines too go through a temporary table and get their owners and
 * grants as the update gives them (machines_merge; from the rules already
 * restored: those pg_restore -j restores later leave the machine the
 * restoring role's, which docs/upgrading.md's query lists the calls to
 * fix: the COPY of column_rules is the same in 0.1's dumps and 0.2's, so
 * nothing here can tell it must fix them then), then the labels of their
 * columns are written again.
 *
 * Only sessions that have loaded the library see the COPY: with
 * pg_steward in shared_preload_libraries, every one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "plumbing/utility.h"
#include "idempotency/idempotency.h"
#include "lifecycle/lifecycle.h"
#include "ops/restore01.h"

/* Which 0.1 table a COPY FROM loads, if it loads one the 0.1 way. */
typedef enum OldCopy
{
	OLD_COPY_NONE,
	OLD_COPY_KEYS,
	OLD_COPY_SCOPES,
	OLD_COPY_MACHINES
} OldCopy;

/* Per OldCopy: the table, the 0.2 column 0.1's dumps leave out, the temp. */
typedef struct OldTable
{
	const char *table;
	const char *new_column;
	const char *temp;
} OldTable;

#define RESTORE01_KEYS		"steward_restore01_keys"
#define RESTORE01_SCOPES	"steward_restore01_scopes"
#define RESTORE01_MACHINES	"steward_restore01_machines"

static const OldTable old_tables[] = {
	[OLD_COPY_KEYS] = {IDEM_KEYS_TABLE, "claim", RESTORE01_KEYS},
	[OLD_COPY_SCOPES] = {IDEM_SCOPES_TABLE, "claim", RESTORE01_SCOPES},
	[OLD_COPY_MACHINES] = {STEWARD_MACHINES_TABLE, "owner", RESTORE01_MACHINES},
};

/* 0.1's keys, with 0.2's columns as ALTER EXTENSION UPDATE fills them. */
static const char *const keys_merge[] = {
	"INSERT INTO steward.idempotency_keys"
	"  (scope, key, fingerprint, status, response, created_at, locked_at,"
	"   completed_at, expires_at, holder_pid, holder_start, lease_until, claim)"
	" SELECT scope, key, fingerprint, status, response, created_at, locked_at,"
	"   completed_at, expires_at, holder_pid, holder_start,"
	"   CASE WHEN status IS NULL AND lease_until IS NULL"
	"        THEN locked_at OPERATOR(pg_catalog.+) '5 minutes'::pg_catalog.interval"
	"        ELSE lease_until END,"
	"   NULL"
	" FROM pg_temp." RESTORE01_KEYS,
	"INSERT INTO steward.idempotency_scopes (scope, claim)"
	" SELECT DISTINCT scope, NULL::pg_catalog.uuid FROM pg_temp." RESTORE01_KEYS
	" ON CONFLICT (scope) DO NOTHING",
};

/* 0.1's scope rows (retention overrides), claim NULL like their keys. */
static const char *const scopes_merge[] = {
	"INSERT INTO steward.idempotency_scopes AS s (scope, retention, owner, claim)"
	" SELECT scope, retention, owner, NULL FROM pg_temp." RESTORE01_SCOPES
	" ON CONFLICT (scope) DO UPDATE SET retention = EXCLUDED.retention"
	"  WHERE s.claim IS NULL",
};

/*
 * 0.1's machines with the owner ALTER EXTENSION UPDATE gives them: the
 * owner of the tables they are attached to when that is one role (a
 * tenant's machine), else the restoring role (the column's default), and
 * a grant to the owners of the other tables they are attached to.  Then
 * the labels of the columns they are attached to are written again
 * (column_rules' AFTER UPDATE trigger, steward_sync_rule_label): a rule
 * restored before its machine got a label without the machine's states,
 * which this database's own dumps could not restore.
 */
static const char *const machines_merge[] = {
	"WITH t AS ("
	"  SELECT t.*, (SELECT pg_catalog.array_agg(DISTINCT c.relowner)"
	"                 FROM steward.column_rules r JOIN pg_catalog.pg_class c"
	"                   ON c.oid OPERATOR(pg_catalog.=) r.relid::pg_catalog.oid"
	"                WHERE r.kind OPERATOR(pg_catalog.=) 'state'"
	"                  AND r.machine OPERATOR(pg_catalog.=) t.name) AS table_owners"
	"    FROM pg_temp." RESTORE01_MACHINES " t)"
	" INSERT INTO steward.machine_definitions"
	"   (name, states, initial, transitions, builtin, created_at, owner, usage_roles)"
	" SELECT t.name, t.states, t.initial, t.transitions, t.builtin, t.created_at, o.owner,"
	"   ARRAY(SELECT g::pg_catalog.regrole FROM pg_catalog.unnest(t.table_owners) g"
	"          WHERE g OPERATOR(pg_catalog.<>) o.owner::pg_catalog.oid ORDER BY g)"
	"   FROM t, LATERAL (SELECT CASE WHEN NOT t.builtin"
	"                     AND pg_catalog.cardinality(t.table_owners) OPERATOR(pg_catalog.=) 1"
	"                    THEN t.table_owners[1]::pg_catalog.regrole ELSE t.owner END AS owner) o",
	"UPDATE steward.column_rules SET machine = machine"
	" WHERE kind OPERATOR(pg_catalog.=) 'state'"
	"   AND machine IN (SELECT name FROM pg_temp." RESTORE01_MACHINES ")",
};

#define SCOPES_CLAIMED \
	"SELECT t.scope FROM pg_temp." RESTORE01_SCOPES " t" \
	" JOIN steward.idempotency_scopes s ON s.scope OPERATOR(pg_catalog.=) t.scope" \
	" WHERE s.claim IS NOT NULL LIMIT 1"

/*
 * The OldCopy of "stmt": a COPY FROM into steward.idempotency_keys,
 * idempotency_scopes or machine_definitions of 0.2's objects (the table
 * has its 0.2 column) with a column list that leaves that column out.
 */
static OldCopy
old_copy_of(CopyStmt *stmt)
{
	Oid			relid;
	OldCopy		kind = OLD_COPY_NONE;
	ListCell   *lc;

	if (!stmt->is_from || stmt->relation == NULL || stmt->attlist == NIL ||
		!steward_utility_extension_here())
		return OLD_COPY_NONE;
	relid = RangeVarGetRelid(stmt->relation, NoLock, true);
	for (int k = OLD_COPY_KEYS; k <= OLD_COPY_MACHINES && OidIsValid(relid); k++)
	{
		if (relid == steward_relid(old_tables[k].table, true))
			kind = (OldCopy) k;
	}
	if (kind == OLD_COPY_NONE ||
		get_attnum(relid, old_tables[kind].new_column) == InvalidAttrNumber)
		return OLD_COPY_NONE;
	foreach(lc, stmt->attlist)
	{
		if (strcmp(strVal(lfirst(lc)), old_tables[kind].new_column) == 0)
			return OLD_COPY_NONE;
	}
	return kind;
}

/*
 * Run "sqls" through SPI as the current user with search_path pinned
 * (every name in them is qualified but the temporary table's, which
 * pg_temp finds).  A SELECT returns its first row's first column (NULL
 * when there is none); the others return NULL.
 */
static char *
run_pinned(const char *const *sqls, int n)
{
	int			nestlevel = NewGUCNestLevel();
	char	   *result = NULL;
	MemoryContext outer = CurrentMemoryContext;

	(void) set_config_option("search_path", STEWARD_PINNED_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	for (int i = 0; i < n; i++)
	{
		int			rc = SPI_execute(sqls[i], false, 0);

		if (rc < 0)
			elog(ERROR, "could not run \"%s\": %s", sqls[i], SPI_result_code_string(rc));
		if (rc == SPI_OK_SELECT && SPI_processed > 0)
		{
			MemoryContext spi = MemoryContextSwitchTo(outer);

			result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
			MemoryContextSwitchTo(spi);
		}
	}
	SPI_finish();
	AtEOXact_GUC(true, nestlevel);
	return result;
}

/*
 * A 0.1 COPY of keys or scopes: the COPY itself (through the utility
 * stages after this one and core's) into a temporary table shaped like
 * the extension's, then the inserts from it that the file header lists,
 * then its drop.
 * Errors: the COPY's own; 23505 when a scopes COPY names a scope that has
 * a claim; the INSERT's (42501 without INSERT on the extension's table).
 */
static void
copy_old_rows(OldCopy kind, StewardUtilityCall *call)
{
	const char *temp = old_tables[kind].temp;
	const char *create[1];
	const char *drop[1];
	StewardUtilityCall copy = *call;
	CopyStmt   *stmt;
	char	   *claimed;

	create[0] = psprintf("CREATE TEMPORARY TABLE pg_temp.%s (LIKE steward.%s INCLUDING DEFAULTS) USING heap",
						 temp, old_tables[kind].table);
	drop[0] = psprintf("DROP TABLE pg_temp.%s", temp);
	(void) run_pinned(create, 1);
	copy.pstmt = copyObject(call->pstmt);
	copy.readOnlyTree = false;
	stmt = (CopyStmt *) copy.pstmt->utilityStmt;
	stmt->relation = makeRangeVar("pg_temp", pstrdup(temp), stmt->relation->location);
	steward_utility_proceed(&copy);
	if (kind == OLD_COPY_SCOPES)
	{
		const char *check[1] = {SCOPES_CLAIMED};

		claimed = run_pinned(check, 1);
		if (claimed != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("idempotency scope \"%s\" already exists", claimed),
					 errdetail("These rows come from a dump of pg_steward 0.1, whose keys have no claim; the scope here was claimed under 0.2."),
					 errhint("Restore into a database without the scope, or drop it first: SELECT steward.drop_idempotency_scope(%s);",
							 quote_literal_cstr(claimed))));
	}
	if (kind == OLD_COPY_KEYS)
		(void) run_pinned(keys_merge, lengthof(keys_merge));
	else if (kind == OLD_COPY_SCOPES)
		(void) run_pinned(scopes_merge, lengthof(scopes_merge));
	else
		(void) run_pinned(machines_merge, lengthof(machines_merge));
	(void) run_pinned(drop, 1);
}

/*
 * Utility step, around the stages after this one and core's: a 0.1 COPY
 * of keys, scopes or machines goes through copy_old_rows, anything else on.
 */
static void
restore01_wrap_utility(StewardUtilityCall *call)
{
	OldCopy		kind = old_copy_of((CopyStmt *) call->pstmt->utilityStmt);

	if (kind != OLD_COPY_NONE)
		copy_old_rows(kind, call);
	else
		steward_utility_proceed(call);
}

static const StewardUtilityStep restore01_utility_step = {
	.tags = {T_CopyStmt},
	.wrap = restore01_wrap_utility,
};

/*
 * From _PG_init, in every process that loads the library: register the
 * utility step that restores a 0.1 dump's idempotency keys and scopes and
 * state machines as ALTER EXTENSION UPDATE would have updated them (file
 * header).  Takes no
 * lock; raises nothing.
 */
void
steward_restore01_install_hook(void)
{
	steward_utility_register(STEWARD_UTILITY_RESTORE01, &restore01_utility_step);
}
