/*-------------------------------------------------------------------------
 *
 * machines_api.c
 *	  steward.create_state_machine(), drop_state_machine(),
 *	  alter_state_machine_owner(), grant/revoke_state_machine(),
 *	  add/drop_transition(), attach_state_machine() and
 *	  detach_state_machine().
 *
 * Machines live in steward.machine_definitions, each with an owner and
 * the roles granted USAGE; the SQL parts of create and drop (validation,
 * dependency check) are steward._create/_drop_state_machine.  Attaching
 * one is a column rule of kind "state" in steward.column_rules, enforced
 * by the steward AM (state_rules.c) and cached like the other rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/partition.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type_d.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/varlena.h"

#include "pg_steward.h"
#include "lifecycle/lifecycle.h"
#include "plumbing/as_owner.h"
#include "plumbing/own_context.h"
#include "tableam/labels.h"
#include "tableam/rules.h"
#include "tableam/rules_api.h"

PG_FUNCTION_INFO_V1(steward_attach_state_machine);
PG_FUNCTION_INFO_V1(steward_detach_state_machine);
PG_FUNCTION_INFO_V1(steward_create_state_machine);
PG_FUNCTION_INFO_V1(steward_drop_state_machine);
PG_FUNCTION_INFO_V1(steward_alter_state_machine_owner);
PG_FUNCTION_INFO_V1(steward_grant_state_machine);
PG_FUNCTION_INFO_V1(steward_revoke_state_machine);
PG_FUNCTION_INFO_V1(steward_check_state_collation_sql);
PG_FUNCTION_INFO_V1(steward_state_machine_latest);
PG_FUNCTION_INFO_V1(steward_state_machine_lock);
PG_FUNCTION_INFO_V1(steward_check_state_rule_cap);
PG_FUNCTION_INFO_V1(steward_check_states_fit_sql);
PG_FUNCTION_INFO_V1(steward_machine_definitions_attached);
PG_FUNCTION_INFO_V1(steward_add_initial_state);
PG_FUNCTION_INFO_V1(steward_drop_initial_state);
PG_FUNCTION_INFO_V1(steward_add_transition);
PG_FUNCTION_INFO_V1(steward_drop_transition);

/* ------------------------------------------------------------------------
 * Owners and grants
 *
 * A machine belongs to the role that created it.  Only roles with the
 * owner's privileges (or superusers) may drop it, give it away or grant
 * it; attaching it to a table needs the owner's privileges, a grant to a
 * role whose privileges the caller has, or a built-in machine.  The checks
 * run as the caller; the catalog is then read and written as its owner.
 * ------------------------------------------------------------------------
 */

/*
 * Do the machines have owners?  Not while the database still has 0.1's
 * objects (before ALTER EXTENSION UPDATE).
 */
static bool
machines_have_owners(void)
{
	Oid			machines = steward_relid(STEWARD_MACHINES_TABLE, false);

	return get_attnum(machines, "owner") != InvalidAttrNumber &&
		get_attnum(machines, "usage_roles") != InvalidAttrNumber;
}

/* Check the catalog is 0.2's, then switch to its owner; returns the caller. */
static Oid
enter_machines_owner(StewardAsOwner *ctx)
{
	Oid			caller = GetUserId();

	if (!machines_have_owners())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("state machines of this database have no owners yet"),
				 errdetail("The extension's SQL objects are older than the pg_steward library."),
				 errhint(STEWARD_HINT_UPDATE)));
	steward_as_owner_begin(steward_relid(STEWARD_MACHINES_TABLE, false), ctx);
	return caller;
}

typedef struct MachineInfo
{
	Datum		states;			/* text[] */
	Datum		initial;		/* text[] */
	Datum		transitions;	/* text[], "from->to" */
	bool		builtin;
	Oid			owner;
	ArrayType  *usage_roles;	/* regrole[] */
} MachineInfo;

/*
 * Read a machine (connected to SPI) into *info, its arrays in the caller's
 * context (the one current before SPI_connect: they outlive SPI_finish,
 * src/plumbing/README.md); 42704 if there is none.  With 0.1's
 * catalog (owners false) only its states: there, as in 0.1, machines have
 * no owners and are usable by all.  Read in a snapshot taken now, never the
 * transaction's, as core's privilege checks read the catalog: a REPEATABLE
 * READ transaction whose snapshot predates a revoke (or an owner change)
 * would otherwise still attach the machine (review13 R13-14).
 */
static void
read_machine(const char *machine, MachineInfo *info, bool owners)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(machine)};
	HeapTuple	row;
	TupleDesc	desc;
	bool		isnull;

	if (steward_spi_read_latest(owners ?
								"SELECT states, builtin, owner, usage_roles, initial, transitions"
								"  FROM steward.machine_definitions WHERE name = $1" :
								"SELECT states, true FROM steward.machine_definitions WHERE name = $1",
								1, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.machine_definitions");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("state machine \"%s\" does not exist", machine),
				 errhint("See steward.state_machines, or create one with steward.create_state_machine().")));
	row = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	info->states = SPI_datumTransfer(SPI_getbinval(row, desc, 1, &isnull), false, -1);
	info->builtin = DatumGetBool(SPI_getbinval(row, desc, 2, &isnull));
	info->owner = InvalidOid;
	info->usage_roles = NULL;
	info->initial = (Datum) 0;
	info->transitions = (Datum) 0;
	if (owners)
	{
		ArrayType  *roles = DatumGetArrayTypeP(SPI_getbinval(row, desc, 4, &isnull));

		info->owner = DatumGetObjectId(SPI_getbinval(row, desc, 3, &isnull));

		/*
		 * Detoasted, then copied into the caller's context as the other
		 * arrays are: DatumGetArrayTypePCopy copied it into SPI's memory,
		 * which steward_as_owner_end frees (trust50: no caller read it
		 * after the end, but nothing kept one from doing so).
		 */
		info->usage_roles = SPI_palloc(VARSIZE(roles));
		memcpy(info->usage_roles, roles, VARSIZE(roles));
		info->initial = SPI_datumTransfer(SPI_getbinval(row, desc, 5, &isnull), false, -1);
		info->transitions = SPI_datumTransfer(SPI_getbinval(row, desc, 6, &isnull), false, -1);
	}
}

/* ------------------------------------------------------------------------
 * A role's machines
 *
 * Every path that locks or writes the row of a machine (attach, a label,
 * a rule written into steward.column_rules, create_state_machine, drop,
 * owner and grant changes) first takes a ShareLock on its owner's lock
 * tag, held to the end of the transaction; DROP OWNED takes an
 * ExclusiveLock on the tags of its roles before it locks their machines'
 * rows (steward_lock_role_machines).  So DROP OWNED waits for the
 * transactions using its roles' machines, and those that begin while it
 * waits queue behind it (PostgreSQL's lock queue is fair) instead of
 * holding a row again at each of its tries (codereview6 F6: it waited 8 s
 * behind three overlapping attaches).  A label that makes a missing
 * machine takes no tag: the lock of its new owner's pg_shdepend rows
 * (machine_roles.c), which DROP OWNED takes before steward._drop_owned
 * reads its roles' machines again, orders the two.
 * Machines of other roles are never waited for: an ExclusiveLock on the
 * whole catalog did that, and let any role block every attach of the
 * database with BEGIN; DROP OWNED BY itself (codereview7 B).  The tag is
 * an advisory one (database, role, 0, field4 = 6) that no SQL function
 * makes: SQL's advisory-lock functions use field4 1 and 2, idempotency.c
 * 3 and 4, migrate/indexes.c 5.
 * ------------------------------------------------------------------------
 */
#define ROLE_MACHINES_LOCK_FIELD4 6

static void
role_machines_tag(LOCKTAG *tag, Oid role)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) role, 0, ROLE_MACHINES_LOCK_FIELD4);
}

/*
 * The machine's owner in a snapshot taken now (connected to SPI, as the
 * catalog's owner); InvalidOid when there is no such machine or the
 * catalog is 0.1's (no owners).
 */
static Oid
machine_owner_latest(const char *machine)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(machine)};
	bool		isnull;
	Datum		owner;

	if (!machines_have_owners())
		return InvalidOid;
	if (steward_spi_read_latest("SELECT d.owner::pg_catalog.oid FROM steward.machine_definitions d WHERE d.name = $1",
								1, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.machine_definitions");
	if (SPI_processed == 0)
		return InvalidOid;
	owner = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return isnull ? InvalidOid : DatumGetObjectId(owner);
}

/*
 * ShareLock on the lock tag of the machine's owner, to the end of the
 * transaction (connected to SPI, as the catalog's owner), before the
 * caller locks or writes the machine's row: waits for a DROP OWNED of the
 * owner (lock_timeout applies).  The owner is read again once the lock is
 * held: if the machine changed hands meanwhile, the new owner's tag is
 * taken too.  Nothing for a machine that does not exist (the caller's
 * read raises 42704, or a label makes it).
 */
static void
lock_machine_owner(const char *machine)
{
	for (;;)
	{
		Oid			owner = machine_owner_latest(machine);
		LOCKTAG		tag;

		if (!OidIsValid(owner))
			return;
		role_machines_tag(&tag, owner);
		if (LockHeldByMe(&tag, ShareLock) || LockHeldByMe(&tag, ExclusiveLock))
			return;
		(void) LockAcquire(&tag, ShareLock, false, false);
	}
}

/*
 * Lock the machine's row of steward.machine_definitions FOR KEY SHARE, to
 * the end of the transaction (connected to SPI, as the catalog's owner):
 * every path that attaches a machine takes it before it writes the rule,
 * so that a drop waits for the attaching transaction and then sees its
 * rule (the BEFORE DELETE trigger steward_machine_definitions_attached),
 * and an attach that waited for a drop finds no machine (read_machine,
 * run after it, raises 42704; under REPEATABLE READ core raises 40001
 * here).  Without it, a machine dropped while an attach was uncommitted
 * left a rule naming no machine, which the access method ignores (tidy3
 * finding 1).  The row is found in a snapshot taken now, as read_machine
 * reads it; no row, nothing locked (the caller reads the machine next).
 * Its owner's lock tag comes first (lock_machine_owner), so that a DROP
 * OWNED of the owner is waited for, never overtaken.  for_update: FOR
 * UPDATE instead (add/drop_transition), which also waits for those
 * attaches and makes later ones wait.
 */
static void
lock_machine_row(const char *machine, bool for_update)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(machine)};
	SPIPlanPtr	plan;
	Snapshot	snapshot;
	int			rc;

	lock_machine_owner(machine);
	plan = SPI_prepare(for_update ?
					   "SELECT 1 FROM steward.machine_definitions WHERE name = $1 FOR UPDATE" :
					   "SELECT 1 FROM steward.machine_definitions WHERE name = $1 FOR KEY SHARE",
					   1, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare a lock of steward.machine_definitions: %s",
			 SPI_result_code_string(SPI_result));
	CommandCounterIncrement();
	snapshot = RegisterSnapshot(GetLatestSnapshot());
	rc = SPI_execute_snapshot(plan, args, NULL, snapshot, InvalidSnapshot, false, false, 1);
	UnregisterSnapshot(snapshot);
	SPI_freeplan(plan);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not lock a row of steward.machine_definitions");
}

#define ROLE_MACHINES_SQL \
	"SELECT d.name FROM steward.machine_definitions d WHERE d.owner::oid = ANY ($1) ORDER BY d.name"

/*
 * Lock the rows of the roles' machines FOR UPDATE NOWAIT in a
 * subtransaction: true with every row locked (kept by the transaction),
 * false with none (rolled back) when another transaction holds one
 * (55P03); any other error is raised.  Connected to SPI.
 */
static bool
try_lock_role_machines(Datum roles)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Oid			argtypes[1] = {OIDARRAYOID};
	Datum		args[1] = {roles};
	bool		locked = false;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		if (SPI_execute_with_args(ROLE_MACHINES_SQL " FOR UPDATE NOWAIT",
								  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not lock the machines of the roles");
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
		locked = true;
	}
	PG_CATCH();
	{
		ErrorData  *edata = steward_subxact_abort(oldcontext, oldowner);

		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return locked;
}

/*
 * Wait, holding none of the roles' machines, for every transaction that
 * holds one: each row is locked FOR UPDATE (waiting) in a subtransaction
 * that is rolled back at once.  An error while waiting (lock_timeout,
 * statement_timeout, cancel, deadlock) rolls the subtransaction back
 * before it is raised again: left open, the caller's own rollback (a
 * PL/pgSQL EXCEPTION block around DROP OWNED) released this one instead
 * of its own and went on as the user saved when this one began, the
 * catalog's owner (codereview6 F1).  Connected to SPI.
 */
static void
wait_for_role_machines(Datum roles)
{
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	Oid			argtypes[1] = {OIDARRAYOID};
	Datum		args[1] = {roles};
	List	   *names = NIL;
	ListCell   *lc;

	if (SPI_execute_with_args(ROLE_MACHINES_SQL, 1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the machines of the roles");
	for (uint64 i = 0; i < SPI_processed; i++)
		names = lappend(names, SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	foreach(lc, names)
	{
		Oid			nametype[1] = {TEXTOID};
		Datum		name[1] = {CStringGetTextDatum((char *) lfirst(lc))};

		BeginInternalSubTransaction(NULL);
		MemoryContextSwitchTo(oldcontext);
		PG_TRY();
		{
			if (SPI_execute_with_args("SELECT 1 FROM steward.machine_definitions d WHERE d.name = $1 FOR UPDATE",
									  1, nametype, name, NULL, false, 0) != SPI_OK_SELECT)
				elog(ERROR, "could not lock a row of steward.machine_definitions");
		}
		PG_CATCH();
		{
			ReThrowError(steward_subxact_abort(oldcontext, oldowner));
		}
		PG_END_TRY();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;
	}
}

/*
 * $1 the roles, $2 the database: the objects core's part of DROP OWNED is
 * asked to drop (PostgreSQL 15's shdepDropOwned): those the roles own
 * here, and the row-level security policies naming no other role (for a
 * policy naming others too, RemoveRoleFromObjectPolicy only takes the role
 * out).  Without the policies, one over another role's table that calls
 * the roles' function was taken for another role's object depending on
 * theirs, and the drop for one core refuses (codereview12 Q1).
 */
#define ROLE_SEED_SQL \
	"SELECT s.classid, s.objid, s.objsubid FROM pg_catalog.pg_shdepend s" \
	" WHERE s.dbid OPERATOR(pg_catalog.=) $2" \
	" AND s.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_authid'::pg_catalog.regclass" \
	" AND s.refobjid OPERATOR(pg_catalog.=) ANY ($1) AND (s.deptype OPERATOR(pg_catalog.=) 'o'" \
	" OR s.deptype OPERATOR(pg_catalog.=) 'r' AND EXISTS (SELECT FROM pg_catalog.pg_policy p" \
	" WHERE s.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass" \
	" AND p.oid OPERATOR(pg_catalog.=) s.objid AND p.polroles OPERATOR(pg_catalog.<@) $1))"
/*
 * $1 the roles, $2 the database, $3 DROP OWNED's CASCADE.  The objects
 * of ROLE_SEED_SQL, and (recursively; for a column, those depending on
 * that column) the objects core's part drops with them: those depending
 * on them automatically or internally (a table's indexes, TOAST table,
 * rowtype, owned sequences), and with CASCADE every dependent (another
 * role's view, foreign key, default, trigger, rule, policy or column)
 * and the object that one of them is a member of or internal to (its
 * 'e' or 'i' dependency): findDependentObjects turns the drop of such a
 * member into the drop of its owner, with all the owner's members and
 * their dependents (another role's extension whose member view reads the
 * roles' table goes, with its member tables; a view whose _RETURN rule
 * reads it goes, with the views over that view).  Without those owners
 * the extension's tables were not locked first and a machine attached to
 * one was taken for one attached to a kept table (drop9).  Without
 * CASCADE such a drop is refused (ROLE_DROPPED_RELATIONS_SQL), so the
 * walk does not go up.  The relations: those among them, the table of each
 * constraint, default, trigger, rule and policy among them (core drops
 * those under AccessExclusiveLock on their table), the parent of each
 * partition among them (dropped under AccessExclusiveLock on its parent),
 * the table of each index among them (index_drop locks the table, with
 * CASCADE another role's: an expression index over the role's function,
 * codereview9 M1), and the tables with a policy naming a role; with
 * strong false, the table of each extended statistics object among them
 * (RemoveStatisticsById takes it ShareUpdateExclusiveLock: with CASCADE,
 * another role's statistics over an expression using the role's function;
 * without, the role's statistics on a table that changed owner), true for
 * the others.  One row per relation (strong if any reason is).  Ancestors
 * first (by depth in their partition tree, a parent whose detach is
 * pending counted: STEWARD_SQL_ANCESTORS), then OID, an index right
 * after its table (by its table's depth and OID): an attach to a
 * partitioned table locks it before its partitions, as core's drop of a
 * partition locks its parent first, and every reader takes a table before
 * its indexes.
 */
#define ROLE_OBJECTS_SQL \
	"WITH RECURSIVE o(classid, objid, objsubid) AS (" ROLE_SEED_SQL \
	" UNION SELECT x.classid, x.objid, x.objsubid FROM o, LATERAL (" \
	" SELECT d.classid, d.objid, d.objsubid FROM pg_catalog.pg_depend d" \
	" WHERE d.refclassid OPERATOR(pg_catalog.=) o.classid AND d.refobjid OPERATOR(pg_catalog.=) o.objid" \
	" AND (o.objsubid OPERATOR(pg_catalog.=) 0 OR d.refobjsubid OPERATOR(pg_catalog.=) o.objsubid)" \
	" AND ($3 OR d.deptype OPERATOR(pg_catalog.<>) 'n')" \
	" UNION ALL SELECT d.refclassid, d.refobjid, d.refobjsubid FROM pg_catalog.pg_depend d" \
	" WHERE $3 AND d.classid OPERATOR(pg_catalog.=) o.classid AND d.objid OPERATOR(pg_catalog.=) o.objid" \
	" AND (o.objsubid OPERATOR(pg_catalog.=) 0 OR d.objsubid OPERATOR(pg_catalog.=) o.objsubid)" \
	" AND (d.deptype OPERATOR(pg_catalog.=) 'e' OR d.deptype OPERATOR(pg_catalog.=) 'i')" \
	") x)"
#define ROLE_RELATIONS_SQL ROLE_OBJECTS_SQL \
	" , rel(relid, strong, indrelid) AS (" \
	" SELECT x.relid, true, xi.indrelid FROM (SELECT o.objid FROM o WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass" \
	" UNION SELECT i.inhparent FROM o JOIN pg_catalog.pg_inherits i ON i.inhrelid OPERATOR(pg_catalog.=) o.objid" \
	" JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid" \
	" WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass" \
	" AND o.objsubid OPERATOR(pg_catalog.=) 0 AND c.relispartition" \
	" UNION SELECT c.conrelid FROM o JOIN pg_catalog.pg_constraint c ON c.oid OPERATOR(pg_catalog.=) o.objid" \
	" WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass" \
	" AND c.conrelid OPERATOR(pg_catalog.<>) 0" \
	" UNION SELECT a.adrelid FROM o JOIN pg_catalog.pg_attrdef a ON a.oid OPERATOR(pg_catalog.=) o.objid" \
	" WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_attrdef'::pg_catalog.regclass" \
	" UNION SELECT t.tgrelid FROM o JOIN pg_catalog.pg_trigger t ON t.oid OPERATOR(pg_catalog.=) o.objid" \
	" WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass" \
	" UNION SELECT r.ev_class FROM o JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) o.objid" \
	" WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass" \
	" UNION SELECT p.polrelid FROM o JOIN pg_catalog.pg_policy p ON p.oid OPERATOR(pg_catalog.=) o.objid" \
	" WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass" \
	" UNION SELECT p.polrelid FROM pg_catalog.pg_shdepend s JOIN pg_catalog.pg_policy p ON p.oid OPERATOR(pg_catalog.=) s.objid" \
	" WHERE s.dbid OPERATOR(pg_catalog.=) $2" \
	" AND s.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_policy'::pg_catalog.regclass" \
	" AND s.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_authid'::pg_catalog.regclass" \
	" AND s.refobjid OPERATOR(pg_catalog.=) ANY ($1) AND s.deptype OPERATOR(pg_catalog.=) 'r'" \
	" UNION SELECT i.indrelid FROM o JOIN pg_catalog.pg_index i ON i.indexrelid OPERATOR(pg_catalog.=) o.objid" \
	" WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass" \
	") x(relid) LEFT JOIN pg_catalog.pg_index xi ON xi.indexrelid OPERATOR(pg_catalog.=) x.relid" \
	" UNION SELECT s.stxrelid, false, NULL FROM o JOIN pg_catalog.pg_statistic_ext s ON s.oid OPERATOR(pg_catalog.=) o.objid" \
	" WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_statistic_ext'::pg_catalog.regclass)" \
	" SELECT rel.relid, pg_catalog.bool_or(rel.strong) FROM rel GROUP BY rel.relid, rel.indrelid" \
	" ORDER BY (SELECT pg_catalog.count(*) FROM " STEWARD_SQL_ANCESTORS("COALESCE(rel.indrelid, rel.relid)") " a)," \
	" COALESCE(rel.indrelid, rel.relid), rel.indrelid IS NOT NULL, rel.relid"

/*
 * AccessExclusiveLock, to the end of the transaction, on the relations of
 * this database that core's part of DROP OWNED (with CASCADE when cascade)
 * drops or changes under that lock (ROLE_RELATIONS_SQL): those the roles
 * (an oid[] Datum) own, those with a policy naming them, and with CASCADE
 * other roles' tables holding an object that depends on theirs (codereview8,
 * residual of H1: a foreign key to the roles' table; codereview9 M1: an
 * index over the roles' function); ShareUpdateExclusiveLock, the lock core
 * takes, on the table of an extended statistics object it drops (another
 * role's table stays readable and writable meanwhile, drop6 finding 3:
 * unlocked, the 40P01 of drop6_drop_owned_statistics.spec), read in a snapshot
 * taken now, in the order ROLE_RELATIONS_SQL gives (connected to SPI).
 * Waiting, or, with conditional, only where no other transaction holds a
 * lock: then false as soon as one is held elsewhere (those taken
 * are kept), true when all are.  Taken before the roles' lock tags, as
 * every transaction attaching or labelling a machine takes its table
 * before the tag of the machine's owner: DROP OWNED holding the tag while
 * core's part waited for a table that an attach of one of the roles'
 * machines held while it waited for the tag deadlocked (40P01, codereview8
 * H1, drop3_drop_owned_own_table.spec).  A relation dropped meanwhile is
 * locked by OID only (no error).  Core would take the same locks a moment
 * later.  *weak lists the ShareUpdateExclusiveLocks these calls took; a
 * table on it that has since gained a reason for AccessExclusiveLock
 * (another role's object of it now depends on the roles', say its
 * index's function was given to them while DROP OWNED waited for the
 * tags) has that lock given back before the waiting pass waits for the
 * stronger one: upgrading in place waited for a reader of the table while
 * holding the weaker lock, and deadlocked with that reader's ANALYZE
 * (40P01, drop7 finding 2, drop7_drop_owned_statistics_upgrade.spec).  A
 * weaker lock the transaction held before is kept (then upgraded).
 */
static bool
lock_role_relations(Datum roles, bool cascade, bool conditional, List **weak)
{
	Oid			argtypes[3] = {OIDARRAYOID, OIDOID, BOOLOID};
	Datum		args[3] = {roles, ObjectIdGetDatum(MyDatabaseId), BoolGetDatum(cascade)};
	Oid		   *relids;
	LOCKMODE   *modes;
	uint64		n;
	bool		all = true;

	if (steward_spi_read_latest(ROLE_RELATIONS_SQL, 3, argtypes, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the relations of the roles");
	n = SPI_processed;
	relids = palloc(sizeof(Oid) * Max(n, 1));
	modes = palloc(sizeof(LOCKMODE) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		bool		isnull;

		relids[i] = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
												   SPI_tuptable->tupdesc, 1, &isnull));
		modes[i] = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[i],
											  SPI_tuptable->tupdesc, 2, &isnull)) ?
			AccessExclusiveLock : ShareUpdateExclusiveLock;
	}
	for (uint64 i = 0; i < n && all; i++)
	{
		LOCKTAG		tag;

		SET_LOCKTAG_RELATION(tag, MyDatabaseId, relids[i]);
		if (LockHeldByMe(&tag, modes[i]))
			continue;
		if (conditional)
			all = ConditionalLockRelationOid(relids[i], modes[i]);
		else
		{
			/* Never wait for a stronger lock holding a weaker one of ours. */
			if (list_member_oid(*weak, relids[i]))
			{
				UnlockRelationOid(relids[i], ShareUpdateExclusiveLock);
				*weak = list_delete_oid(*weak, relids[i]);
			}
			LockRelationOid(relids[i], modes[i]);
		}
		if (all && modes[i] == ShareUpdateExclusiveLock)
			*weak = lappend_oid(*weak, relids[i]);
	}
	pfree(relids);
	pfree(modes);
	return all;
}

/*
 * Inside ROLE_DROPPED_RELATIONS_SQL, for d, the 'e' or 'i' dependency
 * of an object of ROLE_SEED_SQL ($1, $2) on an object not on that list:
 * whether, with CASCADE, an object of the list that core's part takes
 * before the member (higher OID; the same OID, lower catalog OID)
 * reaches it in ROLE_OBJECTS_SQL's walk, i.e. whether the member is a
 * target already when its turn comes.  Walked backwards from the member:
 * to what an object depends on, and from an owner to its members (the
 * walk's way up).  Written over d, not the member's row, so that it runs
 * only for such a dependency, never for every object of the list.
 * Columns are followed as core drops them (rules19 item 4: a column was
 * taken for its table, so a dependency on one column led to what another
 * column depends on, whose drop takes only that column): a column is
 * dropped with what it depends on and with its table, a table with what
 * it depends on itself (objsubid 0), and the members of a column are its
 * own, those of a table its own and its columns'.
 */
#define ROLE_MEMBER_REACHED_SQL \
	"WITH RECURSIVE w(classid, objid, objsubid) AS (SELECT d.classid, d.objid, d.objsubid" \
	" UNION SELECT y.classid, y.objid, y.objsubid FROM w, LATERAL (" \
	" SELECT e.refclassid, e.refobjid, e.refobjsubid FROM pg_catalog.pg_depend e" \
	" WHERE e.classid OPERATOR(pg_catalog.=) w.classid AND e.objid OPERATOR(pg_catalog.=) w.objid" \
	" AND e.objsubid OPERATOR(pg_catalog.=) w.objsubid" \
	" UNION ALL SELECT w.classid, w.objid, 0 WHERE w.objsubid OPERATOR(pg_catalog.<>) 0" \
	" UNION ALL SELECT e.classid, e.objid, e.objsubid FROM pg_catalog.pg_depend e" \
	" WHERE e.refclassid OPERATOR(pg_catalog.=) w.classid AND e.refobjid OPERATOR(pg_catalog.=) w.objid" \
	" AND (w.objsubid OPERATOR(pg_catalog.=) 0 OR e.refobjsubid OPERATOR(pg_catalog.=) w.objsubid)" \
	" AND (e.deptype OPERATOR(pg_catalog.=) 'e' OR e.deptype OPERATOR(pg_catalog.=) 'i')" \
	") y(classid, objid, objsubid))" \
	" SELECT FROM w JOIN (" ROLE_SEED_SQL ") z" \
	" ON z.classid OPERATOR(pg_catalog.=) w.classid AND z.objid OPERATOR(pg_catalog.=) w.objid" \
	" AND z.objsubid OPERATOR(pg_catalog.=) w.objsubid" \
	" WHERE z.objid OPERATOR(pg_catalog.>) d.objid" \
	" OR z.objid OPERATOR(pg_catalog.=) d.objid AND z.classid OPERATOR(pg_catalog.<) d.classid"

/*
 * $1..$3 as ROLE_OBJECTS_SQL: whether this database has
 * steward._refuse_attached_machine (not before its upgrade script ran);
 * the relations and columns core's part of DROP OWNED drops, as the two
 * arrays it takes (objsubid 0: the relation); and whether core's part
 * will refuse (2BP01): without CASCADE, an object it does not drop
 * depends normally on one it drops (another role's view over the roles'
 * table, say), which core's findDependentObjects refuses under RESTRICT;
 * or, even with CASCADE, one of the objects core's part was asked to drop
 * (ROLE_SEED_SQL: those the roles own and the policies naming only them,
 * shdepDropOwned's list) is a member of an extension, or internal to an
 * object, that is not on that list: findDependentObjects refuses such an
 * original target ("cannot drop function f() because extension e requires
 * it", codereview12 Q2) when its turn comes: core's part takes its list
 * in descending OID order (sort_object_addresses), and with CASCADE an
 * object reached meanwhile from one taken before it (its owner turned
 * into a target, with all its members) is no longer an original target
 * to refuse.  ROLE_MEMBER_REACHED_SQL says so; without it a function of
 * the roles in another role's extension that depends on the roles' newer
 * extension (ALTER FUNCTION ... DEPENDS ON EXTENSION) or schema was taken
 * for a refusal at every try, and every DROP OWNED ... CASCADE run while
 * the roles' machines were in use gave 55006 (drop9).  Without CASCADE
 * core refuses too when an object it drops automatically (not one of
 * its list) is a member of, or internal to, an object it does not drop:
 * that owner becomes a target only as a "reverse" dependency, which
 * RESTRICT reports.  "Not in the walk" is two hashed lookups of the
 * walk's rows (= ANY: the whole object, the column); the anti-join it was
 * scanned the whole walk for each dependency (2.5 s without CASCADE for a
 * role owning 1,500 tables and 150 views, now 0.1-0.2 s).
 */
#define ROLE_DROPPED_RELATIONS_SQL ROLE_OBJECTS_SQL \
	" SELECT pg_catalog.to_regprocedure('steward._refuse_attached_machine(text,oid[],integer[])') IS NOT NULL," \
	" pg_catalog.array_agg(o.objid ORDER BY o.objid, o.objsubid)," \
	" pg_catalog.array_agg(o.objsubid ORDER BY o.objid, o.objsubid)," \
	" NOT $3 AND EXISTS (SELECT FROM pg_catalog.pg_depend d JOIN o r" \
	" ON d.refclassid OPERATOR(pg_catalog.=) r.classid AND d.refobjid OPERATOR(pg_catalog.=) r.objid" \
	" AND (r.objsubid OPERATOR(pg_catalog.=) 0 OR d.refobjsubid OPERATOR(pg_catalog.=) r.objsubid)" \
	" WHERE d.deptype OPERATOR(pg_catalog.=) 'n'" \
	" AND NOT (ROW(d.classid, d.objid, 0) OPERATOR(pg_catalog.=) ANY (SELECT k.classid, k.objid, k.objsubid FROM o k))" \
	" AND NOT (ROW(d.classid, d.objid, d.objsubid) OPERATOR(pg_catalog.=) ANY (SELECT k.classid, k.objid, k.objsubid FROM o k)))" \
	" OR NOT $3 AND EXISTS (SELECT FROM o x JOIN pg_catalog.pg_depend d" \
	" ON d.classid OPERATOR(pg_catalog.=) x.classid AND d.objid OPERATOR(pg_catalog.=) x.objid" \
	" AND (x.objsubid OPERATOR(pg_catalog.=) 0 OR d.objsubid OPERATOR(pg_catalog.=) x.objsubid)" \
	" WHERE (d.deptype OPERATOR(pg_catalog.=) 'e' OR d.deptype OPERATOR(pg_catalog.=) 'i')" \
	" AND NOT (ROW(d.refclassid, d.refobjid, 0) OPERATOR(pg_catalog.=) ANY (SELECT k.classid, k.objid, k.objsubid FROM o k))" \
	" AND NOT (ROW(d.refclassid, d.refobjid, d.refobjsubid) OPERATOR(pg_catalog.=) ANY (SELECT k.classid, k.objid, k.objsubid FROM o k)))" \
	" OR EXISTS (SELECT FROM (" ROLE_SEED_SQL ") t JOIN pg_catalog.pg_depend d" \
	" ON d.classid OPERATOR(pg_catalog.=) t.classid AND d.objid OPERATOR(pg_catalog.=) t.objid" \
	" AND (t.objsubid OPERATOR(pg_catalog.=) 0 OR d.objsubid OPERATOR(pg_catalog.=) t.objsubid)" \
	" WHERE (d.deptype OPERATOR(pg_catalog.=) 'e' OR d.deptype OPERATOR(pg_catalog.=) 'i')" \
	" AND NOT EXISTS (SELECT FROM (" ROLE_SEED_SQL ") k" \
	" WHERE k.classid OPERATOR(pg_catalog.=) d.refclassid AND k.objid OPERATOR(pg_catalog.=) d.refobjid" \
	" AND (k.objsubid OPERATOR(pg_catalog.=) 0 OR k.objsubid OPERATOR(pg_catalog.=) d.refobjsubid))" \
	" AND NOT ($3 AND EXISTS (" ROLE_MEMBER_REACHED_SQL ")))" \
	" FROM o WHERE o.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"

/*
 * $1 the roles, $2 and $3 as ROLE_DROPPED_RELATIONS_SQL gives them: the
 * check of each of the roles' machines, in name order as
 * steward._drop_owned drops them, so that the same machine is named (a
 * volatile function of the target list runs after the sort).
 */
#define ROLE_MACHINES_KEPT_SQL \
	"SELECT steward._refuse_attached_machine(d.name, $2, $3)" \
	" FROM steward.machine_definitions d WHERE d.owner::oid = ANY ($1) ORDER BY d.name"

/*
 * Refuse DROP OWNED before it locks anything of the user's (codereview9
 * L1): 2BP01, from steward._refuse_attached_machine, when a machine of the
 * roles (an oid[] Datum) stays attached to a table or column that core's
 * part (with CASCADE when cascade) does not drop: the error
 * steward._drop_owned would raise once core's part had run.  Without it
 * DROP OWNED took the relations core's part drops (lock_role_relations),
 * held them while it waited for every transaction using the roles'
 * machines, and then failed: readers of those tables waited for nothing
 * (drop7_drop_owned_precheck.spec, regress 253).  Read in a snapshot
 * taken now; steward_lock_role_machines calls it again once it holds the
 * tables and tags, so an attach committed in between is refused then
 * (one committed later still by the check after core's part).  Returns
 * true, checking no machine, when core's part will refuse DROP OWNED
 * itself (ROLE_DROPPED_RELATIONS_SQL: without CASCADE, another object
 * depends on the roles'): the caller then locks
 * nothing for it, and core's own error comes first, as it did when core's
 * part ran before the machines' check (drop7_drop_owned_restrict.spec).
 * Should core's part succeed all the same (a misjudged dependency, or
 * another role's view dropped since this read), the drop must not wait
 * for the machines holding what core's part locked: the caller then calls
 * steward_try_lock_role_machines (codereview12 Q1).  Locks:
 * AccessShareLock on the catalogs it reads, to the end of the
 * transaction; no user relation.  Connected to SPI, as the catalog's
 * owner.
 */
static bool
refuse_kept_role_machines(Datum roles, bool cascade)
{
	Oid			argtypes[3] = {OIDARRAYOID, OIDOID, BOOLOID};
	Datum		args[3] = {roles, ObjectIdGetDatum(MyDatabaseId), BoolGetDatum(cascade)};
	Oid			checktypes[3] = {OIDARRAYOID, OIDARRAYOID, INT4ARRAYOID};
	Datum		checkargs[3] = {roles, (Datum) 0, (Datum) 0};
	char		checknulls[4] = "   ";
	bool		isnull;

	if (steward_spi_read_latest(ROLE_DROPPED_RELATIONS_SQL, 3, argtypes, args, NULL, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read the relations of the roles");
	if (DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &isnull)))
		return true;
	if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
		return false;
	for (int i = 1; i < 3; i++)
	{
		checkargs[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
		checknulls[i] = isnull ? 'n' : ' ';
	}
	if (steward_spi_execute_entry(ROLE_MACHINES_KEPT_SQL, 3, checktypes, checkargs, checknulls,
								  false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not check the machines of the roles");
	return false;
}

/* ExclusiveLock (take) or its release (!take) on the roles' lock tags. */
static void
lock_role_tags(Oid *oids, int n, bool take)
{
	for (int i = 0; i < n; i++)
	{
		LOCKTAG		tag;

		if (i > 0 && oids[i] == oids[i - 1])
			continue;
		role_machines_tag(&tag, oids[i]);
		if (take)
			(void) LockAcquire(&tag, ExclusiveLock, false, false);
		else
			LockRelease(&tag, ExclusiveLock, false);
	}
}

/*
 * Lock the rows of the machines owned by roles (an oid[] Datum) FOR
 * UPDATE, to the end of the transaction, for DROP OWNED (src/ops/roles.c),
 * connected to SPI as the catalog's owner.  A transaction attaching
 * machines holds each row FOR KEY SHARE in the order its statements
 * chose: taking the rows one by one, even in name order, while one of
 * them waited deadlocked with a transaction that attached m2 and then
 * attached m1 (40P01, closing36 item 3).  So the rows are taken all at
 * once without waiting (NOWAIT, in a subtransaction); when one is held,
 * none is kept, the holders are waited for holding none, and the lock is
 * tried again.  Before that it takes the ExclusiveLock on each role's
 * lock tag (in OID order, waiting), which every transaction locking one of
 * the roles' machines holds in ShareLock (lock_machine_owner): it waits
 * for those, and those that begin later wait for it, so the rows are free
 * at its first try, or its second after a change of owner or a direct
 * write of the catalog, instead of held again by a new attach at every
 * try (codereview6 F6).  Other roles' machines are never waited for
 * (codereview7 B).  First of all it refuses (2BP01), locking nothing of
 * the user's, a drop that would leave one of the machines attached to a
 * table core's part keeps (refuse_kept_role_machines, codereview9 L1).
 * Then it locks the relations core's part will drop or change
 * (lock_role_relations; cascade: DROP OWNED ... CASCADE, which also
 * changes other roles' tables), so that it never holds a tag while
 * waiting for a table (one made meanwhile: the tags are given back while
 * it waits for it).  Holding those and the tags, it judges again
 * (refuse_kept_role_machines, drop9): an attach to a kept table
 * committed while it waited raises the 2BP01 then, and a dependent
 * object that makes core's part refuse (another role's view over the
 * roles' function) 55006, instead of core's part waiting for that
 * object's users while holding the tables and then refusing.  Locks:
 * AccessExclusiveLock (a statistics object's table:
 * ShareUpdateExclusiveLock) on those relations, the roles' lock tags
 * ExclusiveLock, the rows FOR UPDATE and RowShareLock on
 * steward.machine_definitions, to the end of the transaction.  Raises
 * 2BP01 and 55006 as above, 40001 under REPEATABLE READ when a machine
 * changed after the snapshot, 55P03 on lock_timeout, 57014 on cancel,
 * 40P01 when a transaction that attached machines of two of the roles in
 * the other order than their OIDs' waits for this one.  Returns true;
 * false, having locked nothing, when core's part will refuse the drop
 * (refuse_kept_role_machines): should core's part succeed all the same,
 * the caller must call steward_try_lock_role_machines before it drops
 * the machines.
 */
bool
steward_lock_role_machines(Datum roles, bool cascade)
{
	Datum	   *elems;
	int			n;
	Oid		   *oids;
	bool		pinned = false;
	List	   *weak = NIL;		/* ShareUpdateExclusiveLocks taken here */

	deconstruct_array(DatumGetArrayTypeP(roles), OIDOID, sizeof(Oid), true,
					  TYPALIGN_INT, &elems, NULL, &n);
	oids = palloc(sizeof(Oid) * Max(n, 1));
	for (int i = 0; i < n; i++)
		oids[i] = DatumGetObjectId(elems[i]);
	qsort(oids, n, sizeof(Oid), oid_cmp);

	/*
	 * Before any lock, a drop that must fail fails now, or is left to
	 * core's part when that refuses it (codereview9 L1).  Not for the
	 * bootstrap superuser, whose objects have no pg_shdepend rows: core
	 * refuses DROP OWNED BY it, with its own message.
	 */
	for (int i = 0; i < n && !pinned; i++)
		pinned = IsPinnedObject(AuthIdRelationId, oids[i]);
	if (!pinned && refuse_kept_role_machines(roles, cascade))
	{
		pfree(oids);
		return false;
	}

	/*
	 * Tables first, then the tags.  A table the roles made while the tags
	 * were awaited is taken without waiting; when another transaction
	 * holds it (an attach of the roles' machine to it waits for a tag),
	 * the tags are given back until it is ours.
	 */
	(void) lock_role_relations(roles, cascade, false, &weak);
	for (;;)
	{
		lock_role_tags(oids, n, true);
		if (lock_role_relations(roles, cascade, true, &weak))
			break;
		lock_role_tags(oids, n, false);
		CHECK_FOR_INTERRUPTS();
		(void) lock_role_relations(roles, cascade, false, &weak);
	}
	list_free(weak);
	pfree(oids);

	/*
	 * Judge again, now that no attach of the roles' machines and no new
	 * dependent of their relations can begin (drop9): what committed while
	 * this waited (an attach of a machine to a kept table, another role's
	 * view over the roles' function) is seen before core's part runs.
	 */
	if (!pinned && refuse_kept_role_machines(roles, cascade))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("objects of the roles gained a dependent object while DROP OWNED waited for them"),
				 errdetail("DROP OWNED judged that PostgreSQL would drop the roles' objects and locked their tables first; "
						   "an object committed meanwhile depends on them, so PostgreSQL would refuse the drop, "
						   "and DROP OWNED does not hold those tables while PostgreSQL waits to refuse it."),
				 errhint("Run DROP OWNED again: it then leaves the refusal to PostgreSQL without locking first.")));

	while (!try_lock_role_machines(roles))
	{
		CHECK_FOR_INTERRUPTS();
		wait_for_role_machines(roles);
	}
	return true;
}

/*
 * For a DROP OWNED whose core's part succeeded although
 * steward_lock_role_machines judged it would refuse and so locked nothing
 * (roles: an oid[] Datum): the roles' lock tags ExclusiveLock and their
 * machines' rows FOR UPDATE, as that function takes them, but without
 * waiting.  Core's part now holds the relations it dropped or changed,
 * some of them other roles' (a table with a policy naming the roles);
 * waiting there for the transactions using the roles' machines kept
 * those tables' readers waiting for it and could deadlock with an attach
 * holding one of them (40P01, codereview12 Q1).  Raises 55006 when a tag
 * or a row is held by another transaction (nothing is waited for); locks,
 * when it returns, as steward_lock_role_machines's, to the end of the
 * transaction.  Connected to SPI, as the catalog's owner.
 */
void
steward_try_lock_role_machines(Datum roles)
{
	Datum	   *elems;
	int			n;
	bool		free = true;

	deconstruct_array(DatumGetArrayTypeP(roles), OIDOID, sizeof(Oid), true,
					  TYPALIGN_INT, &elems, NULL, &n);
	for (int i = 0; i < n && free; i++)
	{
		LOCKTAG		tag;

		role_machines_tag(&tag, DatumGetObjectId(elems[i]));
		free = LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL;
	}
	if (!free || !try_lock_role_machines(roles))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("state machines of the roles are in use by another transaction"),
				 errdetail("DROP OWNED judged that PostgreSQL would refuse it and locked nothing first, "
						   "but PostgreSQL dropped the objects (they may have changed meanwhile); "
						   "it does not wait for that transaction while holding the tables it dropped."),
				 errhint("Run DROP OWNED again: it then waits for the transactions using the roles' state machines first.")));
}

/*
 * steward._state_machine_lock(name): lock_machine_row for the label path
 * (src/tableam/labels.sql), as the catalog's owner.  Locks: the machine's
 * row FOR KEY SHARE, ShareLock on its owner's lock tag and RowShareLock
 * on steward.machine_definitions, to the end of the transaction; waits for
 * a transaction deleting the row and for a DROP OWNED of the owner.
 * Locks nothing when there is no such machine (the label path then makes
 * it).  Raises 40001 under REPEATABLE READ when a concurrent transaction
 * dropped it, 22004 for a NULL name.
 */
Datum
steward_state_machine_lock(PG_FUNCTION_ARGS)
{
	StewardAsOwner ctx;
	char	   *machine;

	steward_require_arg(fcinfo, 0, "state machine name");
	machine = text_to_cstring(PG_GETARG_TEXT_PP(0));
	steward_as_owner_begin(steward_relid(STEWARD_MACHINES_TABLE, false), &ctx);
	lock_machine_row(machine, false);
	steward_as_owner_end(&ctx);
	PG_RETURN_VOID();
}

/* list_sort comparator: two C strings in the database's default collation. */
static int
cmp_default_collation(const ListCell *a, const ListCell *b)
{
	const char *sa = lfirst(a);
	const char *sb = lfirst(b);

	return varstr_cmp(sa, strlen(sa), sb, strlen(sb), DEFAULT_COLLATION_OID);
}

/*
 * The columns of rules (StewardRuleColumn, from steward_machine_columns)
 * as the DETAIL of a refused drop names them: "table.column" (the table as
 * regclass prints it under the caller's search_path, the column quoted
 * only where SQL needs it, as format('%s.%I') writes them), sorted as text
 * in the database's default collation and joined with ", "; NULL for
 * none.  The order is the one the trigger's own query gave (ORDER BY the
 * text), which expected outputs show.  Reads the catalog cache only.
 */
static char *
attached_columns_text(List *rules)
{
	List	   *names = NIL;
	StringInfoData buf;
	ListCell   *lc;

	if (rules == NIL)
		return NULL;
	foreach(lc, rules)
	{
		StewardRuleColumn *rule = lfirst(lc);

		names = lappend(names,
						psprintf("%s.%s",
								 DatumGetCString(DirectFunctionCall1(regclassout,
																	 ObjectIdGetDatum(rule->relid))),
								 quote_identifier(rule->attname)));
	}
	list_sort(names, cmp_default_collation);
	initStringInfo(&buf);
	foreach(lc, names)
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "", (char *) lfirst(lc));
	return buf.data;
}

/*
 * steward._machine_definitions_attached(): BEFORE DELETE OR UPDATE OF name
 * trigger (FOR EACH ROW) of steward.machine_definitions, on every path that
 * drops a machine (drop_state_machine, DROP OWNED, a direct DELETE by the
 * extension's owner): refuses (2BP01) while a state rule names the
 * machine.  It runs after the row is locked, so after any transaction that
 * attached the machine (lock_machine_row) has ended, and reads
 * steward.column_rules in a snapshot taken now, as the catalog's owner: a
 * REPEATABLE READ transaction's snapshot may predate the attach
 * (steward_machine_columns, the one reader of a machine's columns).
 * Locks: AccessShareLock on steward.column_rules to the end of the
 * transaction.  Raises 39P01 when not called as such a trigger.
 */
Datum
steward_machine_definitions_attached(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int			attnum;
	bool		isnull;
	Datum		name;
	HeapTuple	result;
	StewardAsOwner ctx;
	char	   *users;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_DELETE(trigdata->tg_event) || TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._machine_definitions_attached() must be a BEFORE DELETE OR UPDATE FOR EACH ROW trigger")));
	desc = RelationGetDescr(trigdata->tg_relation);
	attnum = SPI_fnumber(desc, "name");
	if (attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._machine_definitions_attached() must be a trigger of steward.machine_definitions")));
	name = heap_getattr(trigdata->tg_trigtuple, attnum, desc, &isnull);
	result = trigdata->tg_trigtuple;
	if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		bool		newnull;
		Datum		newname = heap_getattr(trigdata->tg_newtuple, attnum, desc, &newnull);

		result = trigdata->tg_newtuple;
		if (isnull || (!newnull &&
					   DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, name, newname))))
			return PointerGetDatum(result);
	}
	if (isnull)
		return PointerGetDatum(result);

	steward_enter_rules_owner(&ctx);
	users = attached_columns_text(steward_machine_columns(TextDatumGetCString(name),
														  CurrentMemoryContext));
	if (users != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("state machine \"%s\" is attached", TextDatumGetCString(name)),
				 errdetail("Attached to: %s.", users),
				 errhint("Detach it first with steward.detach_state_machine().")));
	steward_as_owner_end(&ctx);
	return PointerGetDatum(result);
}

/*
 * steward._state_machine_latest(name): the machine's row of
 * steward.machine_definitions, read as the catalog's owner in a snapshot
 * taken now, as read_machine reads it; NULL if there is none.  For the
 * label path (steward._apply_label_state), which decides with it whether
 * the caller may use the machine: in its transaction's snapshot, a
 * REPEATABLE READ transaction older than a revoke would still attach the
 * machine (review14 R14-9).  The SPI read takes AccessShareLock on
 * steward.machine_definitions (and its index), held to transaction end.
 * Raises 42P01 when the extension has no steward.machine_definitions
 * (steward_relid); its XX000 'could not read' cannot happen (SPI is
 * connected by steward_as_owner_begin).
 */
Datum
steward_state_machine_latest(PG_FUNCTION_ARGS)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	Datum		result = (Datum) 0;
	bool		isnull = true;
	StewardAsOwner ctx;

	steward_require_arg(fcinfo, 0, "state machine name");
	args[0] = PointerGetDatum(PG_GETARG_TEXT_PP(0));
	steward_as_owner_begin(steward_relid(STEWARD_MACHINES_TABLE, false), &ctx);
	if (steward_spi_read_latest("SELECT d FROM steward.machine_definitions d WHERE d.name = $1",
								1, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.machine_definitions");
	if (SPI_processed > 0)
	{
		result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		if (!isnull)
			result = SPI_datumTransfer(result, false, -1);
	}
	steward_as_owner_end(&ctx);
	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(result);
}

/*
 * Is role one of the machine's grantees (privs false), or has it the
 * privileges of one (privs true)?
 */
static bool
granted_to(Oid role, ArrayType *usage_roles, bool privs)
{
	Datum	   *roles;
	int			n;

	deconstruct_array(usage_roles, REGROLEOID, sizeof(Oid), true, TYPALIGN_INT,
					  &roles, NULL, &n);
	for (int i = 0; i < n; i++)
		if (privs ? has_privs_of_role(role, DatumGetObjectId(roles[i])) :
			DatumGetObjectId(roles[i]) == role)
			return true;
	return false;
}

/*
 * 42501 unless the caller has the privileges of the machine's owner; for a
 * built-in machine always.  The HINT names who can run the call, or (built
 * in) the machine of one's own to use instead.
 */
static void
require_machine_owner(const char *machine, const MachineInfo *info, Oid caller)
{
	char	   *owner_name;

	if (info->builtin)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("state machine \"%s\" is built in", machine),
				 errdetail("Every role may attach it, and pg_steward's own tables follow it, so nobody changes, drops, grants or gives it away."),
				 errhint("Create a machine of your own with steward.create_state_machine() and change that one.")));
	if (has_privs_of_role(caller, info->owner))
		return;
	owner_name = GetUserNameFromId(info->owner, true);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("must be owner of state machine \"%s\"", machine),
			 owner_name ? errdetail("It belongs to role \"%s\".", owner_name) :
			 errdetail("Its owner no longer exists; only superusers may change it."),
			 owner_name ? errhint("Run it as role \"%s\", a member of it or a superuser.", owner_name) : 0));
}

/*
 * May the caller attach this machine?  Ownership, a grant, or a built-in
 * machine; otherwise 42501 naming the owner and the grant to ask for.
 */
static void
require_machine_usage(const char *machine, const MachineInfo *info, Oid caller)
{
	char	   *owner_name;

	if (info->builtin || has_privs_of_role(caller, info->owner) ||
		granted_to(caller, info->usage_roles, true))
		return;
	owner_name = GetUserNameFromId(info->owner, true);
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for state machine \"%s\"", machine),
			 owner_name ? errdetail("It belongs to role \"%s\".", owner_name) :
			 errdetail("Its owner no longer exists."),
			 errhint(owner_name ?
					 "Attach a machine of your own, or have its owner run steward.grant_state_machine(%s, %s)." :
					 "Attach a machine of your own, or have a superuser run steward.grant_state_machine(%s, %s).",
					 quote_literal_cstr(machine),
					 quote_literal_cstr(quote_identifier(GetUserNameFromId(caller, false))))));
}

static char *
machine_name_arg(FunctionCallInfo fcinfo)
{
	char	   *name;

	steward_require_arg(fcinfo, 0, "state machine name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	return name;
}

/*
 * create_state_machine(..., if_not_exists => true): true when a machine of
 * that name exists with the definition of args[0..3] (name, states,
 * initial, transitions; NOTICE), 42710 when it exists with another
 * (steward._state_machine_exists, run as the catalog's owner: connected
 * to SPI; reads in the transaction's snapshot, as the insert's own check).
 * False when there is none: the machine is created as without the flag.
 */
static bool
machine_exists_alike(Datum *args, char *nulls)
{
	Oid			argtypes[4] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID};
	bool		isnull;
	Datum		same;

	if (steward_spi_execute_entry("SELECT steward._state_machine_exists($1, $2, $3, $4)",
								  4, argtypes, args, nulls, false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read steward.machine_definitions");
	same = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && DatumGetBool(same);
}

/*
 * create_state_machine(..., if_not_exists => true) keeps only a machine of
 * the caller's: one whose owner is the caller or a role it is a member of
 * (not counting a superuser's rights), or a built-in one.  Any role may
 * create a machine, so one of that name that another role made first would
 * be kept with a NOTICE, and the script's attach_state_machine (a
 * superuser's attaches any machine; another role's, after the owner's
 * grant) would put the table under transitions that role changes at will:
 * an edge shipped -> new it adds later lets a role with UPDATE only reset
 * a row (review34 R1; as PostgreSQL's IF NOT EXISTS in extension scripts
 * refuses an object of another owner, CVE-2022-2625).  Connected to SPI;
 * reads the catalog in a snapshot taken now.  Raises 42710 naming the
 * owner; nothing when there is no machine of that name.
 */
static void
refuse_other_roles_machine(Datum name, Oid caller)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {name};
	bool		isnull;
	Oid			owner;
	char	   *owner_name;
	char	   *machine;

	if (steward_spi_read_latest("SELECT owner, builtin FROM steward.machine_definitions"
								" WHERE name = $1",
								1, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.machine_definitions");
	if (SPI_processed == 0 ||
		DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull)))
		return;
	owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!isnull && is_member_of_role_nosuper(caller, owner))
		return;
	machine = TextDatumGetCString(name);
	owner_name = isnull ? NULL : GetUserNameFromId(owner, true);
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_OBJECT),
			 owner_name ?
			 errmsg("state machine \"%s\" already exists and belongs to role \"%s\"",
					machine, owner_name) :
			 errmsg("state machine \"%s\" already exists and belongs to a role that no longer exists",
					machine),
			 errdetail("With if_not_exists, only a machine of your own is kept: another role's machine would govern the tables you attach it to, and its owner could change its transitions at any time."),
			 owner_name ?
			 errhint("Give your machine another name, or have role \"%s\" give this one to you first: steward.alter_state_machine_owner(%s, %s).",
					 owner_name, quote_literal_cstr(machine),
					 quote_literal_cstr(quote_identifier(GetUserNameFromId(caller, false)))) :
			 errhint("Give your machine another name, or have a superuser give this one to you: steward.alter_state_machine_owner(%s, %s).",
					 quote_literal_cstr(machine),
					 quote_literal_cstr(quote_identifier(GetUserNameFromId(caller, false))))));
}

/*
 * steward.create_state_machine(name, states, initial, transitions,
 * if_not_exists DEFAULT false): the caller becomes the owner; with
 * if_not_exists, a machine of that name the caller owns is kept with a
 * NOTICE (machine_exists_alike), another role's is refused
 * (refuse_other_roles_machine).  Validation and the insert are
 * steward._create_state_machine, run as the catalog's owner, after
 * ShareLock on the caller's lock tag (waiting for a DROP OWNED of the
 * caller) and ExclusiveLock on the lock of the caller's pg_shdepend rows as
 * an owner (machine_roles.c: waits only for transactions changing them).
 * Writing the catalog takes RowExclusiveLock on
 * steward.machine_definitions and, through its statement trigger,
 * AccessShareLock on each role recorded in pg_shdepend, all held to
 * transaction end.  Raises 55000 while the catalog is 0.1's (HINT: update
 * the extension), and the SQL function's errors: 22023 for a malformed
 * definition, 22004 for NULL transitions or if_not_exists, 54000 past 64
 * states, 42710 for a name taken (with if_not_exists: by another role's
 * machine).
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_create_state_machine(PG_FUNCTION_ARGS)
{
	StewardAsOwner ctx;
	Oid			caller;
	Oid			argtypes[5] = {TEXTOID, TEXTARRAYOID, TEXTARRAYOID, TEXTARRAYOID, REGROLEOID};
	Datum		args[5];
	char		nulls[5];
	bool		if_not_exists = false;

	steward_require_writable("steward.create_state_machine()");
	for (int i = 0; i < 4; i++)
	{
		args[i] = PG_GETARG_DATUM(i);
		nulls[i] = PG_ARGISNULL(i) ? 'n' : ' ';
	}
	/* The four-argument SQL function of a database not yet updated has none. */
	if (PG_NARGS() > 4)
	{
		steward_require_arg(fcinfo, 4, "if_not_exists");
		if_not_exists = PG_GETARG_BOOL(4);
	}
	caller = enter_machines_owner(&ctx);
	args[4] = ObjectIdGetDatum(caller);
	nulls[4] = ' ';
	/* After a DROP OWNED of the new owner, never under it (above). */
	{
		LOCKTAG		tag;

		role_machines_tag(&tag, caller);
		(void) LockAcquire(&tag, ShareLock, false, false);
	}
	steward_machine_roles_lock(caller, false);
	if (if_not_exists && nulls[0] != 'n')
		refuse_other_roles_machine(args[0], caller);
	if (if_not_exists && machine_exists_alike(args, nulls))
	{
		steward_as_owner_end(&ctx);
		PG_RETURN_VOID();
	}
	if (steward_spi_execute_entry("SELECT steward._create_state_machine($1, $2, $3, $4, $5)",
								  5, argtypes, args, nulls, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not create the state machine");
	steward_as_owner_end(&ctx);
	PG_RETURN_VOID();
}

/*
 * steward.drop_state_machine(name): the owner drops an unattached machine.
 * Takes ShareLock on its owner's lock tag (waiting for a DROP OWNED of
 * the owner), reads the machine in a snapshot taken now (AccessShareLock on
 * steward.machine_definitions), then deletes it as the catalog's owner; the
 * delete takes RowExclusiveLock on steward.machine_definitions and, through
 * its statement trigger once it holds the row, ExclusiveLock on the locks
 * of its owner's and grantees' pg_shdepend rows (machine_roles.c; not
 * before the row: a transaction attaching the machine, which the drop
 * waits for, may create another of the owner's machines next, which
 * deadlocked) and AccessShareLock on each role recorded in pg_shdepend,
 * all held to transaction end.  Raises 22004 for a NULL name, 55000 while the catalog is
 * 0.1's, 42704 for no such machine, 42501 unless the caller has its owner's
 * privileges (or for a built-in machine), 2BP01 while it is attached.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_drop_state_machine(PG_FUNCTION_ARGS)
{
	char	   *machine = machine_name_arg(fcinfo);
	StewardAsOwner ctx;
	Oid			caller;
	MachineInfo info;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(machine)};

	steward_require_writable("steward.drop_state_machine()");
	caller = enter_machines_owner(&ctx);
	lock_machine_owner(machine);
	read_machine(machine, &info, true);
	require_machine_owner(machine, &info, caller);
	if (steward_spi_execute_entry("SELECT steward._drop_state_machine($1)",
								  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not drop the state machine");
	steward_as_owner_end(&ctx);
	PG_RETURN_VOID();
}

/* Run an UPDATE of one machine: $1 = name, $2 = a role. */
static void
update_machine(const char *sql, const char *machine, Oid role)
{
	Oid			argtypes[2] = {TEXTOID, REGROLEOID};
	Datum		args[2] = {CStringGetTextDatum(machine), ObjectIdGetDatum(role)};

	if (steward_spi_execute_entry(sql, 2, argtypes, args, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update steward.machine_definitions");
}

/* 42704 for a role that does not exist. */
static void
require_role(Oid role)
{
	if (GetUserNameFromId(role, true) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", role)));
}

/*
 * Change one machine as its owner: $1 = the machine's name, $2 = the role
 * argument.  With new_owner, the caller must also be a member of that role,
 * as ALTER ... OWNER TO requires (superusers need neither).  The role must
 * exist, except that a revoke takes back a grant to a role dropped (from
 * another database, before roles were recorded in pg_shdepend) by its
 * OID: such a grant keeps the machine out of dumps (lifecycle.sql).
 */
static void
change_machine(FunctionCallInfo fcinfo, const char *role_what, bool new_owner,
			   bool revoke, const char *sql)
{
	char	   *machine = machine_name_arg(fcinfo);
	Oid			role;
	StewardAsOwner ctx;
	Oid			caller;
	MachineInfo info;

	steward_require_arg(fcinfo, 1, role_what);
	role = PG_GETARG_OID(1);
	if (!revoke)
		require_role(role);
	caller = enter_machines_owner(&ctx);
	lock_machine_owner(machine);
	read_machine(machine, &info, true);
	if (revoke && !granted_to(role, info.usage_roles, false))
		require_role(role);
	require_machine_owner(machine, &info, caller);
	if (new_owner)
		check_is_member_of_role(caller, role);
	if (new_owner && !info.builtin)
	{
		/*
		 * Both owners' rows, in OID order as every multi-role locker takes
		 * them: two owner changes swapping two roles' machines took them
		 * in opposite orders (codereview8 L9).
		 */
		steward_machine_roles_lock(Min(info.owner, role), false);
		steward_machine_roles_lock(Max(info.owner, role), false);
	}
	else if (!new_owner && !info.builtin)
		steward_machine_roles_lock(role, true);
	update_machine(sql, machine, role);
	steward_as_owner_end(&ctx);
}

/*
 * steward.alter_state_machine_owner(name, owner): give a machine away.
 * Locks as steward_drop_state_machine (an UPDATE instead of the delete),
 * but takes the locks of the old and new owner's pg_shdepend rows before
 * the UPDATE (an UPDATE waits for no attach: the owner is no key column).
 * Raises 22004 for a NULL argument, 42704 for a role or machine that does
 * not exist, 55000 while the catalog is 0.1's, 42501 unless the caller has
 * the owner's privileges and is a member of the new owner.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_alter_state_machine_owner(PG_FUNCTION_ARGS)
{
	steward_require_writable("steward.alter_state_machine_owner()");
	change_machine(fcinfo, "new owner", true, false,
				   "UPDATE steward.machine_definitions SET owner = $2 WHERE name = $1");
	PG_RETURN_VOID();
}

/*
 * steward.grant_state_machine(name, grantee): the owner lets a role attach
 * it.  Locks as steward_drop_state_machine (an UPDATE instead of the
 * delete), but takes the lock of the grantee's pg_shdepend rows before the
 * UPDATE (so a DROP OWNED of the grantee, which holds it and then writes
 * the machine's row, is waited for rather than deadlocked with).  Raises 22004 for a NULL argument, 42704 for a role or machine
 * that does not exist, 55000 while the catalog is 0.1's, 42501 unless the
 * caller has the owner's privileges.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_grant_state_machine(PG_FUNCTION_ARGS)
{
	steward_require_writable("steward.grant_state_machine()");
	change_machine(fcinfo, "grantee", false, false,
				   "UPDATE steward.machine_definitions"
				   "   SET usage_roles = usage_roles || $2"
				   " WHERE name = $1 AND NOT $2 = ANY (usage_roles)");
	PG_RETURN_VOID();
}

/*
 * steward.revoke_state_machine(name, grantee): the owner takes a grant
 * back.  Tables the grantee attached the machine to keep it, as a column
 * keeps its type when USAGE on the type is revoked.  Locks and errors as
 * steward_grant_state_machine, but a grant to a role dropped meanwhile is
 * taken back without 42704.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_revoke_state_machine(PG_FUNCTION_ARGS)
{
	steward_require_writable("steward.revoke_state_machine()");
	change_machine(fcinfo, "grantee", false, true,
				   "UPDATE steward.machine_definitions"
				   "   SET usage_roles = array_remove(usage_roles, $2)"
				   " WHERE name = $1");
	PG_RETURN_VOID();
}

/*
 * A state column's collation must be deterministic.  The access method
 * compares states byte for byte; under a nondeterministic collation
 * (case-insensitive, say) SQL would take 'Paid' for the state 'paid' in
 * every check, count and batch that compares the column, while the access
 * method refuses it: two definitions of a state.  Under a deterministic
 * collation, equal means byte-equal, so both agree.  Raises 0A000.
 */
static void
check_state_collation(Oid relid, const char *colname)
{
	AttrNumber	attnum = get_attnum(relid, colname);
	Oid			typid;
	int32		typmod;
	Oid			collid;
	char	   *relname;

	if (attnum == InvalidAttrNumber)
		return;
	get_atttypetypmodcoll(relid, attnum, &typid, &typmod, &collid);
	if (!OidIsValid(collid) || get_collation_isdeterministic(collid))
		return;
	relname = get_rel_name(relid);
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("state column \"%s\" of relation \"%s\" uses nondeterministic collation \"%s\"",
					colname, relname, get_collation_name(collid)),
			 errdetail("pg_steward compares states byte for byte; under this collation, values that differ from a state in case or accents would count as that state in queries."),
			 errhint("Give the column a deterministic collation: ALTER TABLE %s ALTER COLUMN %s TYPE %s COLLATE \"default\";",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), relname),
					 quote_identifier(colname), format_type_with_typemod(typid, typmod))));
}

/*
 * steward._check_state_collation(tbl, col): check_state_collation for the
 * SQL paths that give a column a state rule or change a state column (a
 * label, steward._apply_label_state; ALTER TABLE,
 * steward._rules_on_alter_table).  Takes no lock; raises 0A000.
 */
Datum
steward_check_state_collation_sql(PG_FUNCTION_ARGS)
{
	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "column name");
	check_state_collation(PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)));
	PG_RETURN_VOID();
}

/*
 * Up to five values of column colname that stored rows of rel hold and
 * "states" (a text[] datum) does not declare (listed false), or declares
 * (listed true: the rows drop_transition would strand), each with its row
 * count ("'y' (1 row), NULL (2 rows)"), or NULL when there is none; their
 * rows are added to *total when total is not NULL.  With leaves
 * (an oid[] datum, or 0 for every row), only the rows of those partitions.
 * One scan, as the table's owner (restricted), never as the extension's
 * owner, with a snapshot taken after the caller's lock
 * (steward_read_rows_after_lock); not read when it stores no row
 * (steward_relation_stores_rows).  Raises 55000 when row security hides
 * stored rows from the owner (a rule holds for every row or is refused;
 * an empty table hides none, so attach and detach pass it whatever its
 * FORCE ROW LEVEL SECURITY, rules18 item 4).
 */
static char *
stored_state_values(Relation rel, const char *colname, Datum states, Datum leaves,
					bool listed, int64 *total)
{
	char	   *qualname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													  RelationGetRelationName(rel));
	const char *col = quote_identifier(colname);
	/* Byte for byte, as the access method compares (check_state_collation). */
	char	   *in_states = psprintf("%s::pg_catalog.text COLLATE pg_catalog.\"C\" = ANY ($1)", col);
	char	   *sql = psprintf("SELECT coalesce(pg_catalog.quote_literal(%s::pg_catalog.text COLLATE pg_catalog.\"C\"), 'NULL'),"
							   "       pg_catalog.count(*)"
							   "  FROM %s WHERE (%s)%s"
							   " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
							   col, qualname,
							   listed ? in_states : psprintf("%s IS NULL OR NOT (%s)", col, in_states),
							   leaves ? " AND tableoid OPERATOR(pg_catalog.=) ANY ($2)" : "");
	Oid			argtypes[2] = {TEXTARRAYOID, OIDARRAYOID};
	Datum		args[2] = {states, leaves};
	StringInfoData offenders;
	MemoryContext callercxt = CurrentMemoryContext;
	StewardAsOwner ctx;

	/* Nothing stored, nothing hidden (rules18 item 4): no refusal. */
	if (!steward_relation_stores_rows(RelationGetRelid(rel)))
		return NULL;
	steward_require_owner_sees_all_rows(RelationGetRelid(rel), "the check of stored states");
	steward_as_table_owner_begin(rel, true, &ctx);
	steward_pin_all_rows();
	if (steward_read_rows_after_lock(sql, leaves ? 2 : 1, argtypes, args) != SPI_OK_SELECT)
		elog(ERROR, "could not scan relation \"%s\"", RelationGetRelationName(rel));
	if (SPI_processed == 0)
	{
		steward_as_owner_end(&ctx);
		return NULL;
	}

	/* In the caller's memory: SPI's goes with steward_as_owner_end. */
	MemoryContextSwitchTo(callercxt);
	initStringInfo(&offenders);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *count = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		if (i > 0)
			appendStringInfoString(&offenders, ", ");
		appendStringInfo(&offenders, "%s (%s %s)",
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
						 count, strcmp(count, "1") == 0 ? "row" : "rows");
		if (total != NULL)
			*total += strtoi64(count, NULL, 10);
	}
	steward_as_owner_end(&ctx);
	return offenders.data;
}

/*
 * Refuse (23514) to attach while stored rows hold values the machine does
 * not declare (stored_state_values: its reads and 55000).
 */
static void
check_existing_states(Relation rel, const char *colname, const char *machine,
					  Datum states)
{
	char	   *offenders = stored_state_values(rel, colname, states, (Datum) 0, false, NULL);

	if (offenders == NULL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("column \"%s\" of relation \"%s\" holds values that machine \"%s\" does not declare",
					colname, RelationGetRelationName(rel), machine),
			 errdetail("Offending values: %s.", offenders),
			 errhint("Update those rows to declared states first.")));
}

/*
 * The same check for a rule that already exists, on a table it starts to
 * reach (a partition attached under a table with a machine; see
 * tableam/storage_guard.c).  rel is open and locked by the caller; raises
 * 23514 naming up to five offending values.
 */
void
steward_check_stored_states(Relation rel, const StateRule *rule)
{
	Datum	   *names = palloc(sizeof(Datum) * Max(rule->nstates, 1));
	ArrayType  *states;

	for (int i = 0; i < rule->nstates; i++)
		names[i] = CStringGetTextDatum(rule->names[i]);
	states = construct_array(names, rule->nstates, TEXTOID, -1, false, TYPALIGN_INT);
	check_existing_states(rel,
						  NameStr(TupleDescAttr(RelationGetDescr(rel), rule->attnum - 1)->attname),
						  rule->machine, PointerGetDatum(states));
}

/*
 * The relation of relid's partition tree (relid itself, or a partition
 * below it) whose state rules, its own and its partitioned ancestors',
 * already number STEWARD_MAX_STATE_RULES on columns other than colname, or
 * InvalidOid: there a rule on colname of relid would be one too many (the
 * loader keeps no more: tableam/rules.c).  A rule on a partitioned table
 * counts for every partition below it (codereview7 A, closing37 item 3).
 * Reads steward.column_rules in SPI (the caller is connected); takes no
 * lock of its own.
 */
static Oid
state_rule_cap_reached(Oid relid, const char *colname)
{
	Oid			argtypes[3] = {OIDOID, NAMEOID, INT8OID};
	Datum		args[3];
	NameData	attname;
	bool		isnull;

	namestrcpy(&attname, colname);
	args[0] = ObjectIdGetDatum(relid);
	args[1] = NameGetDatum(&attname);
	args[2] = Int64GetDatum(STEWARD_MAX_STATE_RULES);
	/*
	 * In a snapshot taken now, after the caller's locks: a rule another
	 * transaction committed on a partition or an ancestor while this one
	 * waited for them counts (closing38 item 4: an attach on a parent and
	 * one on its partition both passed).  pg_partition_tree() lists
	 * nothing for a table outside any tree; the walk up passes a parent
	 * whose detach is pending (STEWARD_SQL_ANCESTORS, review25 W3).
	 */
	if (steward_spi_read_latest("SELECT t.relid::pg_catalog.oid"
							  "  FROM (SELECT $1::pg_catalog.regclass AS relid, 0 AS level"
							  "        UNION SELECT p.relid, p.level"
							  "                FROM pg_catalog.pg_partition_tree($1::pg_catalog.regclass) p) t"
							  " WHERE (SELECT pg_catalog.count(DISTINCT r.attname) FROM steward.column_rules r"
							  "         WHERE r.kind OPERATOR(pg_catalog.=) 'state'"
							  "           AND r.attname OPERATOR(pg_catalog.<>) $2"
							  "           AND r.relid::pg_catalog.oid IN"
							  "               (SELECT a.relid::pg_catalog.oid"
							  "                  FROM " STEWARD_SQL_ANCESTORS("t.relid") " a"
							  "                UNION ALL SELECT t.relid::pg_catalog.oid))"
							  "       OPERATOR(pg_catalog.>=) $3"
							  " ORDER BY t.level, t.relid::pg_catalog.oid LIMIT 1",
							  3, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not count the state rules of relation %u", relid);
	if (SPI_processed == 0)
		return InvalidOid;
	return DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

/*
 * Refuse (elevel ERROR) or report (WARNING: the rule is kept, and writes
 * to the table past the cap are refused, state_rules.c) a new state rule
 * on column colname of relation relid when it, or a partition below it,
 * would hold more than STEWARD_MAX_STATE_RULES state rules counting its
 * partitioned ancestors' (state_rule_cap_reached, in a snapshot taken
 * now).  54000.
 */
static void
check_state_rule_cap(Oid relid, const char *colname, int elevel)
{
	Oid			over = state_rule_cap_reached(relid, colname);
	char	   *relname;
	char	   *overname;

	if (!OidIsValid(over))
		return;
	relname = get_rel_name(relid);
	overname = get_rel_name(over);
	if (elevel < ERROR)
		ereport(elevel,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("relation \"%s\" has more than %d state machines",
						overname, STEWARD_MAX_STATE_RULES),
				 errdetail("The rule on column \"%s\" of relation \"%s\" is kept, but pg_steward enforces at most %d state machines per table, counting those of its partitioned ancestors: INSERT, COPY and UPDATE of relation \"%s\" are refused until one is detached.",
						   colname, relname, STEWARD_MAX_STATE_RULES, overname),
				 errhint("Detach a state machine with steward.detach_state_machine(table, column).")));
	else if (over == relid)
		ereport(elevel,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("relation \"%s\" already has %d state machines",
						relname, STEWARD_MAX_STATE_RULES),
				 errdetail("pg_steward enforces at most %d state machines per table, counting those of its partitioned ancestors.",
						   STEWARD_MAX_STATE_RULES),
				 errhint("Detach a state machine with steward.detach_state_machine(table, column) first.")));
	else
		ereport(elevel,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("partition \"%s\" of relation \"%s\" already has %d state machines",
						overname, relname, STEWARD_MAX_STATE_RULES),
				 errdetail("pg_steward enforces at most %d state machines per table, counting those of its partitioned ancestors; a rule on relation \"%s\" applies to its partitions.",
						   STEWARD_MAX_STATE_RULES, relname),
				 errhint("Detach a state machine of partition \"%s\" with steward.detach_state_machine(table, column) first.",
						 overname)));
}

/*
 * steward._check_state_rule_cap(tbl regclass, col name, restoring boolean):
 * attach_state_machine's cap check (check_state_rule_cap) for a state rule
 * that arrives another way.  A label on a table that stores rows
 * (steward._apply_rule_label) is refused (ERROR); a rule row written into
 * steward.column_rules (its triggers: a restore, a hand edit) is kept with
 * a WARNING ("restoring"): refusing the row would make a restore's COPY
 * lose every rule it carries, and the table refuses writes (54000) until
 * one is detached.  Reads steward.column_rules; takes no lock.  NULL
 * arguments, or a tbl naming no relation, do nothing; raises 54000.
 */
Datum
steward_check_state_rule_cap(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) ||
		!get_rel_relkind(PG_GETARG_OID(0)))
		PG_RETURN_VOID();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	check_state_rule_cap(PG_GETARG_OID(0), NameStr(*PG_GETARG_NAME(1)),
						 PG_GETARG_BOOL(2) ? WARNING : ERROR);
	SPI_finish();
	PG_RETURN_VOID();
}

/*
 * steward._check_states_fit(tbl regclass, col name, machine text, states
 * text[], restoring boolean): attach_state_machine's check that the
 * machine's states fit a varchar(n) state column (steward_check_states_fit)
 * for a state rule that arrives another way.  A label on a table that
 * stores rows (steward._apply_rule_label) is refused (42804, ERROR); a rule
 * row written into steward.column_rules, or a machine row written into
 * steward.machine_definitions for rules already there (their triggers: a
 * restore, a hand edit), is kept with a WARNING ("restoring"), as the cap
 * check does: refused, a partial restore (pg_dump -t, --section) would
 * leave the column unchecked.  NULL arguments, or a tbl naming no
 * relation, do nothing.  Reads the catalogs only; takes no lock.
 */
Datum
steward_check_states_fit_sql(PG_FUNCTION_ARGS)
{
	Oid			relid;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) ||
		PG_ARGISNULL(3) || PG_ARGISNULL(4))
		PG_RETURN_VOID();
	relid = PG_GETARG_OID(0);
	if (!get_rel_relkind(relid))
		PG_RETURN_VOID();
	steward_check_states_fit(relid, NameStr(*PG_GETARG_NAME(1)),
							 text_to_cstring(PG_GETARG_TEXT_PP(2)),
							 PG_GETARG_DATUM(3),
							 PG_GETARG_BOOL(4) ? STEWARD_FIT_RESTORE : STEWARD_FIT_ATTACH);
	PG_RETURN_VOID();
}

/*
 * steward.attach_state_machine(tbl, column, machine, changed_at DEFAULT
 * NULL): make the access method enforce machine on column.  Checks as the
 * caller that they own tbl and may use the machine (their own, granted to
 * them, or built in: 42501); takes ShareRowExclusiveLock on tbl (and on
 * every partition below it: a rule on a partition, or an ATTACH PARTITION
 * below it, waits and then counts this one), which conflicts with every writer, so every later write sees the rule (as with
 * CREATE TRIGGER), and the machine's row FOR KEY SHARE to the end of the
 * transaction, after ShareLock on its owner's lock tag (lock_machine_row: a
 * DROP OWNED of the owner is waited for; a concurrent drop waits, then refuses 2BP01;
 * a drop committed meanwhile gives 42704, or 40001 under REPEATABLE READ).  Raises 42804 for a column not text/varchar or a
 * changed_at not timestamptz, 0A000 for a column with a nondeterministic
 * collation, 22023 when changed_at is the state column,
 * 42710 when the column already has a rule, 54000 when the table or a
 * partition below it already has STEWARD_MAX_STATE_RULES state rules,
 * counting its partitioned ancestors' (check_state_rule_cap), 23514 when stored values are
 * not states of the machine (five listed), 42804 for a varchar(n) column
 * too short for a state of the machine (steward_check_states_fit), and refuses a changed_at the
 * executor derives or checks anything from (tableam/written.c).  The rule
 * row is written as the owner of the extension's tables.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_attach_state_machine(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	char	   *machine;
	char	   *changed_at = NULL;
	Relation	rel;
	Form_pg_attribute att;
	StewardAsOwner ctx;
	StewardAsOwner mctx;
	Oid			caller = GetUserId();
	MachineInfo machine_info;
	bool		owners;
	char	   *current;
	Datum		states;
	Oid			argtypes[4] = {OIDOID, NAMEOID, TEXTOID, NAMEOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	NameData	attname,
				changedname;

	steward_require_writable("steward.attach_state_machine()");
	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "column name");
	steward_require_arg(fcinfo, 2, "state machine name");
	relid = PG_GETARG_OID(0);
	colname = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	machine = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (!PG_ARGISNULL(3))
		changed_at = pstrdup(NameStr(*PG_GETARG_NAME(3)));

	/*
	 * Locks the partitions of a partitioned table SHARE ROW EXCLUSIVE too,
	 * before the machine's tag (tables, then tags), so that an attach or
	 * label on a partition, or an ATTACH PARTITION below the table, waits
	 * for this one and counts its rule (check_state_rule_cap), and no
	 * write into a partition itself is in flight while the rule and the
	 * stored rows are checked.
	 */
	rel = steward_open_table_to_configure(relid);
	att = steward_lookup_column(rel, colname, "attach a state machine to");
	if (att->atttypid != TEXTOID && att->atttypid != VARCHAROID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("state column \"%s\" of relation \"%s\" must be of type text or varchar",
						colname, RelationGetRelationName(rel)),
				 errdetail("Column \"%s\" is of type %s.", colname, format_type_be(att->atttypid))));
	check_state_collation(relid, colname);
	if (changed_at != NULL)
	{
		Form_pg_attribute catt = steward_lookup_column(rel, changed_at, "stamp");

		if (catt->atttypid != TIMESTAMPTZOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("changed_at column \"%s\" of relation \"%s\" must be of type timestamp with time zone",
							changed_at, RelationGetRelationName(rel)),
					 errdetail("Column \"%s\" is of type %s.", changed_at, format_type_be(catt->atttypid))));
		if (strcmp(changed_at, colname) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the changed_at column must differ from the state column")));
	}

	/* The machine: the caller's, granted to it, or built in. */
	owners = machines_have_owners();
	steward_as_owner_begin(steward_relid(STEWARD_MACHINES_TABLE, false), &mctx);
	lock_machine_row(machine, false);
	read_machine(machine, &machine_info, owners);
	require_machine_usage(machine, &machine_info, caller);
	steward_as_owner_end(&mctx);
	states = machine_info.states;
	steward_check_states_fit(relid, colname, machine, states, STEWARD_FIT_ATTACH);

	steward_enter_rules_owner(&ctx);
	current = steward_existing_rule(relid, colname);
	if (current != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("column \"%s\" of relation \"%s\" is already tracked as a %s",
						colname, RelationGetRelationName(rel), current),
				 errhint("Detach or untrack it first.")));
	check_state_rule_cap(relid, colname, ERROR);
	check_existing_states(rel, colname, machine, states);

	namestrcpy(&attname, colname);
	args[0] = ObjectIdGetDatum(relid);
	args[1] = NameGetDatum(&attname);
	args[2] = CStringGetTextDatum(machine);
	if (changed_at != NULL)
	{
		namestrcpy(&changedname, changed_at);
		args[3] = NameGetDatum(&changedname);
	}
	else
		nulls[3] = 'n';
	if (steward_api_rule_exec(relid, STEWARD_ENTRY_CONFIGURE,
							  "INSERT INTO steward.column_rules (relid, attname, kind, machine, changed_at)"
							  " VALUES ($1, $2, 'state', $3, $4)",
							  4, argtypes, args, nulls) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into steward.column_rules");
	steward_as_owner_end(&ctx);

	/*
	 * The AM will set changed_at: refuse if the executor derives or checks
	 * anything from it (src/tableam/written.c).  The new rule must be
	 * visible to the check's fresh catalog read; an error undoes it.
	 */
	if (changed_at != NULL)
	{
		CommandCounterIncrement();
		steward_check_written_columns(relid, true);
	}
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

/*
 * Refuse (55000) to detach the machine of one of the extension's own
 * tables (steward.migration_runs.phase): its rule keeps the migration
 * records' phases in order for good, and a superuser following the HINT of
 * a missing built-in machine would lose it (review19 F2).  The extension's
 * own scripts may (steward_running_own_script).  Takes AccessShareLock on
 * pg_depend.
 */
static void
check_not_extension_rule(Relation rel, const char *colname)
{
	Oid			extoid = get_extension_oid(STEWARD_EXTENSION, true);

	if (steward_running_own_script() || !OidIsValid(extoid) ||
		getExtensionOfObject(RelationRelationId, RelationGetRelid(rel)) != extoid)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot detach the state machine of column \"%s\" of relation \"%s\"",
					colname, RelationGetRelationName(rel)),
			 errdetail("The relation belongs to extension %s, whose rules stay.", STEWARD_EXTENSION),
			 errhint("If its built-in machine is missing, restore it: SELECT steward.restore_builtin_machines();")));
}

/* The forms of removal_words. */
typedef enum RemovalForm
{
	REMOVAL_DO,					/* "cannot <do> column ..." */
	REMOVAL_DOING,				/* "<doing> relation ..." */
	REMOVAL_NEXT				/* "then <next>" */
} RemovalForm;

/*
 * How a refusal of check_states_after_detach names entry, the command
 * removing a partition's state rule, in form "form": the user's own
 * command, not detach's, when the user ran a label, untrack or a DELETE
 * (rules19 item 3).
 */
static const char *
removal_words(StewardRuleEntry entry, RemovalForm form)
{
	static const char *const words[][3] = {
		[STEWARD_ENTRY_WRITE] = {"remove the state rule of", "removing the state rule of", "change the rule row"},
		[STEWARD_ENTRY_CONFIGURE] = {"replace the state rule of", "replacing the state rule of", "configure the column"},
		[STEWARD_ENTRY_LABEL] = {"change the security label of", "changing the security label of", "change the label"},
		[STEWARD_ENTRY_UNTRACK] = {"untrack", "untracking a column of", "untrack the column"},
		[STEWARD_ENTRY_DETACH] = {"detach the state machine of", "detaching the state machine of", "detach the machine"},
	};

	return words[entry][form];
}

/*
 * After rel's own state rule on colname is deleted: the rule its nearest
 * partitioned ancestor has on the column governs again the rows of rel's
 * leaves that have no nearer rule (STEWARD_SQL_STATE_RULE_LEAVES, the
 * query of steward._state_rule_leaves, run inline as 0.1's SQL lacks the
 * function; the write
 * path's choice: rules.c add_state_rule; a parent whose detach is pending
 * included, as the write path walks it: steward_partition_ancestors,
 * codereview13 R2).  Refuse (23514) the detach when
 * those rows hold values that machine does not declare, as attach refuses
 * them (mach16's finding: such rows were kept unchecked and verify() then
 * failed).  One scan of rel, filtered on tableoid (stored_state_values:
 * its reads and 55000); nothing when rel is no partition, no ancestor has
 * a rule on the column, rel still has a state rule of its own on it (a
 * rule row moved back in the same statement), or the machine is missing
 * (every write of the column is then refused, and verify() says so).
 * When an ancestor has one and rel is partitioned with a partition below
 * it half detached, 55000 (steward_check_no_pending_detach): neither the
 * scan nor the caller's locks reach that partition's rows.  The caller holds
 * ShareRowExclusiveLock on rel and every partition below it and is not
 * connected to SPI; reads steward.column_rules and machine_definitions as
 * their owner.  The messages name entry, the command removing the rule
 * (removal_words).
 */
static void
check_states_after_detach(Relation rel, const char *colname, StewardRuleEntry entry)
{
	Oid			argtypes[3] = {OIDOID, NAMEOID, OIDARRAYOID};
	Datum		args[3];
	NameData	attname;
	StewardAsOwner ctx;
	MemoryContext callercxt = CurrentMemoryContext;
	char	   *ruled;
	char	   *machine;
	char	   *parent;
	char	   *self;
	char	   *bound;
	Datum		states;
	Datum		leaves;
	bool		nostates,
				noleaves,
				norel,
				nopending,
				pending;
	char	   *offenders;

	if (!rel->rd_rel->relispartition)
		return;
	namestrcpy(&attname, colname);
	args[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	args[1] = NameGetDatum(&attname);
	args[2] = steward_partition_ancestors_array(RelationGetRelid(rel));
	steward_enter_rules_owner(&ctx);
	if (SPI_execute_with_args("SELECT r.relid::pg_catalog.oid, r.machine, m.states,"
							  "       " STEWARD_SQL_STATE_RULE_LEAVES("$1::pg_catalog.regclass", "r.relid", "$2") ","
							  "       (SELECT i.inhparent::pg_catalog.regclass::pg_catalog.text FROM pg_catalog.pg_inherits i"
							  "         WHERE i.inhrelid OPERATOR(pg_catalog.=) $1),"
							  "       $1::pg_catalog.regclass::pg_catalog.text,"
							  "       (SELECT pg_catalog.pg_get_expr(c.relpartbound, c.oid) FROM pg_catalog.pg_class c"
							  "         WHERE c.oid OPERATOR(pg_catalog.=) $1),"
							  "       (SELECT i.inhdetachpending FROM pg_catalog.pg_inherits i"
							  "         WHERE i.inhrelid OPERATOR(pg_catalog.=) $1)"
							  "  FROM pg_catalog.unnest($3) WITH ORDINALITY a (relid, n)"
							  "  JOIN steward.column_rules r ON r.relid OPERATOR(pg_catalog.=) a.relid"
							  "   AND r.attname OPERATOR(pg_catalog.=) $2"
							  "   AND r.kind OPERATOR(pg_catalog.=) 'state'"
							  "  LEFT JOIN steward.machine_definitions m ON m.name OPERATOR(pg_catalog.=) r.machine"
							  " WHERE a.relid OPERATOR(pg_catalog.<>) $1"
							  "   AND NOT EXISTS (SELECT FROM steward.column_rules o"
							  "         WHERE o.relid OPERATOR(pg_catalog.=) $1 AND o.attname OPERATOR(pg_catalog.=) $2"
							  "           AND o.kind OPERATOR(pg_catalog.=) 'state')"
							  " ORDER BY a.n LIMIT 1",
							  3, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read the state rules above relation \"%s\"",
			 RelationGetRelationName(rel));
	if (SPI_processed == 0)
	{
		steward_as_owner_end(&ctx);
		return;
	}
	states = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &nostates);
	leaves = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 4, &noleaves);
	{
		MemoryContext spicxt = MemoryContextSwitchTo(callercxt);

		ruled = get_rel_name(DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
															SPI_tuptable->tupdesc, 1, &norel)));
		machine = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		parent = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 5);
		self = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 6);
		bound = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 7);
		pending = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
											 SPI_tuptable->tupdesc, 8, &nopending)) && !nopending;
		states = nostates ? (Datum) 0 : datumCopy(states, false, -1);
		leaves = noleaves ? (Datum) 0 : datumCopy(leaves, false, -1);
		MemoryContextSwitchTo(spicxt);
	}
	steward_as_owner_end(&ctx);

	/*
	 * A half-detached partition below rel falls to that machine too (the
	 * write path walks up past its pending parent), but the scan below and
	 * the caller's locks (find_all_inheritors) leave it out: refuse, as
	 * configuring a rule on rel would be (part2).
	 */
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		steward_check_no_pending_detach(rel, psprintf("%s relation \"%s\", which hands them to machine \"%s\" of relation \"%s\",",
													  removal_words(entry, REMOVAL_DOING),
													  RelationGetRelationName(rel), machine, ruled));
	if (nostates || noleaves)
		return;
	offenders = stored_state_values(rel, colname, states, leaves, false, NULL);
	if (offenders == NULL)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("cannot %s column \"%s\" of relation \"%s\"",
					removal_words(entry, REMOVAL_DO), colname, RelationGetRelationName(rel)),
			 errdetail("Machine \"%s\" of relation \"%s\" would govern its rows again, and they hold values it does not declare: %s.",
					   machine, ruled, offenders),
			 pending ?
			 errhint("Update those rows to states both machines declare first, or end the pending detach of the partition (core refuses a plain DETACH PARTITION of it): %s, then %s.",
					 steward_half_detached_step(RelationGetRelid(rel),
												get_partition_parent(RelationGetRelid(rel), true),
												false),
					 removal_words(entry, REMOVAL_NEXT)) :
			 errhint("Update those rows to states both machines declare first, or take the partition out of the tree to fix them: ALTER TABLE %s DETACH PARTITION %s; then %s, update the rows, and ALTER TABLE %s ATTACH PARTITION %s %s;",
					 parent, self, removal_words(entry, REMOVAL_NEXT), parent, self, bound)));
}

/*
 * The relation whose own state rule detach_state_machine is deleting: it
 * checks the rows itself, after its locks (also under
 * session_replication_role = replica, where the rules table's trigger
 * checks nothing), so the trigger's check (steward_check_state_rule_removed)
 * skips it and the rows are scanned once.
 */
static Oid	detach_checks_relid = InvalidOid;

/*
 * The state kind's check_state_rule_removed (rulekinds.h): relid's own
 * state rule on colname is gone by another way than detach_state_machine
 * (the rules table's AFTER ROW trigger: SECURITY LABEL ... IS NULL,
 * steward.untrack, a superuser's DELETE or UPDATE of the row), so run
 * detach's row check (check_states_after_detach): every way of removing a
 * partition's own machine checks the rows it hands to an ancestor's
 * (rules18 item 2: a NULL label or a DELETE kept rows in states that
 * machine does not declare, and verify() failed).  Nothing for a relation
 * that is gone, no partition, or has no such column (a DROP TABLE or DROP
 * COLUMN deleting its rules).  Locks ShareRowExclusiveLock on relid and,
 * for a partitioned partition, on every partition below it, as detach
 * does (after the rule row's lock: a hand DELETE takes them in that
 * order).  Raises 23514 and what check_states_after_detach raises, naming
 * entry, the command removing the rule.
 */
void
steward_check_state_rule_removed(Oid relid, const char *colname, StewardRuleEntry entry)
{
	Relation	rel;

	if (relid == detach_checks_relid ||
		!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)) ||
		!get_rel_relispartition(relid) ||
		get_attnum(relid, colname) == InvalidAttrNumber)
		return;
	rel = try_relation_open(relid, ShareRowExclusiveLock);
	if (rel == NULL)
		return;
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		list_free(find_all_inheritors(relid, ShareRowExclusiveLock, NULL));
	check_states_after_detach(rel, colname, entry);
	relation_close(rel, NoLock);
}

/*
 * Delete relid's state rule on colname (steward_delete_column_rules), the
 * trigger's row check left to the caller (detach_checks_relid).
 */
static uint64
delete_own_state_rule(Oid relid, const char *colname)
{
	uint64		ndeleted = 0;

	detach_checks_relid = relid;
	PG_TRY();
	{
		ndeleted = steward_delete_column_rules(relid, colname, "state", STEWARD_ENTRY_DETACH);
	}
	PG_FINALLY();
	{
		detach_checks_relid = InvalidOid;
	}
	PG_END_TRY();
	return ndeleted;
}

/*
 * steward.detach_state_machine(tbl, column): stop enforcing the column's
 * state machine; the stored values stay.  The caller must own tbl
 * (42501); ShareRowExclusiveLock on tbl (and, for a partitioned
 * partition, on every partition below it) so that no write is in flight
 * while the rule goes.  Raises 42703 when the table has no such column
 * (0A000 for a system column), 42704 when the column has no machine (for
 * a partition following an ancestor's, naming the ancestor's detach),
 * 55000 for a table of the extension (check_not_extension_rule), and 23514
 * when an ancestor's machine would govern rows holding values it does not
 * declare (check_states_after_detach, five listed), and 55000 when it
 * would and a partition below tbl is half detached (its rows would not be
 * checked: steward_check_no_pending_detach).
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_detach_state_machine(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	Relation	rel;

	steward_require_writable("steward.detach_state_machine()");
	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "column name");
	relid = PG_GETARG_OID(0);
	colname = pstrdup(NameStr(*PG_GETARG_NAME(1)));

	steward_check_table_owner(relid);
	rel = steward_open_user_relation(relid, ShareRowExclusiveLock, STEWARD_KINDS_ANY,
									 "steward.detach_state_machine()");

	/*
	 * A partitioned partition's leaves may fall to an ancestor's rule,
	 * whose check reads them: lock them as attach_state_machine does
	 * (steward_open_table_to_configure), before the rule's row.
	 */
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE && rel->rd_rel->relispartition)
		list_free(find_all_inheritors(relid, ShareRowExclusiveLock, NULL));
	check_not_extension_rule(rel, colname);
	if (delete_own_state_rule(relid, colname) > 0)
		check_states_after_detach(rel, colname, STEWARD_ENTRY_DETACH);
	else
	{
		/* A partition's rule may be an ancestor's: detach it there. */
		char	   *declname = steward_ancestor_rule_name(rel, colname, true);

		/* No such column: 42703 (0A000 for a system column), as core says. */
		if (declname == NULL)
			(void) steward_lookup_column(rel, colname, "detach a state machine from");
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 declname ?
				 errmsg("column \"%s\" of relation \"%s\" has no state machine of its own",
						colname, RelationGetRelationName(rel)) :
				 errmsg("column \"%s\" of relation \"%s\" has no state machine attached",
						colname, RelationGetRelationName(rel)),
				 declname ?
				 errdetail("The state machine on the column is attached to %s, the partitioned table above it, for every partition.",
						   declname) : 0,
				 declname ?
				 errhint("Detach it there, for every partition: SELECT steward.detach_state_machine(%s, %s);",
						 quote_literal_cstr(declname), quote_literal_cstr(colname)) : 0));
	}
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * Changing a machine's edges: add_transition / drop_transition
 *
 * A machine attached to tables changes in place, so the guarantee never
 * lapses as it did when the user had to detach it and create it again.
 * Locks, in the order every path takes them (docs/state-machines.md, "Machines have owners"): the
 * tables first (ShareRowExclusiveLock on every table whose state rule
 * names the machine and on every partition below a partitioned one, as
 * attach_state_machine takes them), then the owner's lock tag, then the
 * machine's row FOR UPDATE.  The table lock conflicts with the
 * RowExclusiveLock of every writer: no write is in flight while the
 * definition changes, and a writer that comes later gets its lock after
 * the commit, whose invalidation (machine_definitions' statement trigger)
 * it has then taken in, so it loads the new definition whole.  Each write
 * sees the old machine or the new one, never a mix of them.  The row lock
 * waits for an attach of the machine to another table still in progress
 * (it holds the row FOR KEY SHARE), whose table is then read and locked
 * too (after the row: an attach of the machine to another column of that
 * table, begun meanwhile, would deadlock, 40P01).
 * ------------------------------------------------------------------------
 */

/*
 * ShareRowExclusiveLock, to the end of the transaction, on the table of
 * each rule not yet in *locked (added to it) and on every partition below
 * a partitioned one (find_all_inheritors).  A table dropped meanwhile is
 * skipped (its rule went with it).  Raises 55000 when a partition below
 * is half detached (steward_check_no_pending_detach: find_all_inheritors
 * leaves it out, and its writers with it).
 */
static void
lock_rule_tables(const char *machine, List *rules, List **locked)
{
	ListCell   *lc;

	foreach(lc, rules)
	{
		StewardRuleColumn *rule = lfirst(lc);
		Relation	rel;

		if (list_member_oid(*locked, rule->relid))
			continue;
		LockRelationOid(rule->relid, ShareRowExclusiveLock);
		*locked = lappend_oid(*locked, rule->relid);
		rel = try_relation_open(rule->relid, NoLock);
		if (rel == NULL)
			continue;
		if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		{
			list_free(find_all_inheritors(rule->relid, ShareRowExclusiveLock, NULL));
			steward_check_no_pending_detach(rel, psprintf("a change of machine \"%s\"", machine));
		}
		relation_close(rel, NoLock);
	}
}

/*
 * The partitions whose rows the rule governs (the write path's choice:
 * STEWARD_SQL_STATE_RULE_LEAVES), as an oid[] in cxt; (Datum) 0, every
 * row, for a table in no partition tree.  False when the rule governs no
 * row (every leaf below has a nearer rule).  Reads steward.column_rules as
 * its owner in a snapshot taken now.
 */
static bool
rule_leaves(const StewardRuleColumn *rule, Datum *leaves, MemoryContext cxt)
{
	Oid			argtypes[2] = {OIDOID, NAMEOID};
	Datum		args[2];
	NameData	attname;
	StewardAsOwner ctx;
	bool		isnull = false;

	*leaves = (Datum) 0;
	if (get_rel_relkind(rule->relid) != RELKIND_PARTITIONED_TABLE &&
		!get_rel_relispartition(rule->relid))
		return true;
	namestrcpy(&attname, rule->attname);
	args[0] = ObjectIdGetDatum(rule->relid);
	args[1] = NameGetDatum(&attname);
	steward_enter_rules_owner(&ctx);
	if (steward_spi_read_latest("SELECT " STEWARD_SQL_STATE_RULE_LEAVES("$1::pg_catalog.regclass",
																		"$1::pg_catalog.regclass", "$2"),
								2, argtypes, args, NULL, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the partitions of relation %u", rule->relid);
	*leaves = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		MemoryContext spicxt = MemoryContextSwitchTo(cxt);

		*leaves = datumCopy(*leaves, false, -1);
		MemoryContextSwitchTo(spicxt);
	}
	steward_as_owner_end(&ctx);
	return !isnull;
}

/*
 * Append "name" to a message's list of names as "sep" followed by the name
 * inside double quotes, an embedded double quote doubled as in an SQL
 * identifier (codereview19 C8): a state named  a", "b  then reads
 * "a"", ""b", one name, not two.  A single name outside a list is printed
 * as it is, as core prints relation "t".
 */
static void
append_listed_name(StringInfo list, const char *sep, const char *name)
{
	appendStringInfoString(list, sep);
	steward_append_state_name(list, name);
}

/*
 * The HINT of refuse_stranded_rows, the calls that work as written, for
 * each table of "tables" (quoted names, those holding the rows: the calls
 * that move rows repeat per table, mach21; before, only the first was
 * named, and the rows of the others stayed).  When only "from" of a
 * dropped edge from -> to goes, the rows go along the edge while it
 * exists.  Otherwise "to" (or drop_initial_state's state, from NULL)
 * goes, and the rows leave it along a new edge to "target", a declared
 * state the change keeps (drop_transition's from when it stays, else the
 * machine's first state that stays; drop_initial_state's first other
 * initial state); when from goes too, its rows first go along the edge
 * into to (mach20: the HINT moved them from -> to, into a state going too,
 * and left those in to).  Before mach19, the HINT named
 * add_transition(machine, to, 'another_state'), which add_transition
 * refuses without new_state.  The calls of the first STRANDED_HINT_TABLES
 * tables only, then how many more and the query listing the attached
 * columns (mach21: a machine attached to many tables gave a HINT growing
 * by a call or two per table).
 */
#define STRANDED_HINT_TABLES 3

static int
stranded_rows_hint(const char *machine, List *tables, const char *from,
				   bool from_goes, const char *state, bool state_goes, const char *target)
{
	char	   *m = quote_literal_cstr(machine);
	char	   *qstate = quote_literal_cstr(state);
	char	   *qtarget = quote_literal_cstr(target);
	char	   *qfrom = from ? quote_literal_cstr(from) : NULL;
	StringInfoData runs;
	ListCell   *lc;

	initStringInfo(&runs);
	foreach(lc, tables)
	{
		char	   *tbl = quote_literal_cstr(lfirst(lc));

		if (foreach_current_index(lc) == STRANDED_HINT_TABLES)
		{
			int			more = list_length(tables) - STRANDED_HINT_TABLES;

			appendStringInfo(&runs, " and the same for the %d other %s holding those rows (each attached column: SELECT unnest(attached_to) FROM steward.state_machines WHERE name = %s;);",
							 more, more == 1 ? "table" : "tables", m);
			break;
		}
		if (runs.len > 0)
			appendStringInfoChar(&runs, ' ');
		if (from != NULL && !state_goes)
			appendStringInfo(&runs, "CALL steward.run_transition(%s, %s, %s);", tbl, qfrom, qstate);
		else if (from != NULL && from_goes)
			appendStringInfo(&runs, "CALL steward.run_transition(%s, %s, %s); CALL steward.run_transition(%s, %s, %s);",
							 tbl, qfrom, qstate, tbl, qstate, qtarget);
		else
			appendStringInfo(&runs, "CALL steward.run_transition(%s, %s, %s);", tbl, qstate, qtarget);
	}
	if (from == NULL)
		return errhint("Move those rows out along a new edge first: SELECT steward.add_transition(%s, %s, %s); %s then drop the initial state (the new edge keeps the state).",
					   m, qstate, qtarget, runs.data);
	if (!state_goes)
		return errhint("Move those rows along the edge while it exists, then drop it: %s",
					   runs.data);
	return errhint("Move those rows out along a new edge first: SELECT steward.add_transition(%s, %s, %s); %s then drop both transitions.",
				   m, qstate, qtarget, runs.data);
}

/* Whether "tables" (char * names) holds "name": two columns, one table. */
static bool
table_listed(List *tables, const char *name)
{
	ListCell   *lc;

	foreach(lc, tables)
	{
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	}
	return false;
}

/*
 * The DETAIL of refuse_stranded_rows names the rows of the first
 * STRANDED_DETAIL_COLUMNS attached columns holding them, then counts the
 * others, as PostgreSQL's DETAIL of DROP ... CASCADE lists the first
 * objects and counts the rest (mach23: a machine attached to a thousand
 * tables gave a DETAIL of a thousand entries).
 */
#define STRANDED_DETAIL_COLUMNS 10

/*
 * drop_transition would take "states" (a text[] datum: the ends of from ->
 * to left in no transition and not initial) out of the machine, or
 * drop_initial_state (from NULL) the state "to", in no transition: refuse
 * (23514) while rows of the tables of "rules" are in them, with the count
 * and the rows per table (stored_state_values: one scan of each table as
 * its owner, after the caller's locks; its 55000).  The counts of a table
 * the caller may not count (steward_may_count_states: a grantee's table
 * it cannot read) are left out: only that rows are there, and whose.  One
 * state and several have messages of their own (polish47: "2 rows are in
 * state "x", "y""), the row count through errmsg_plural.  The DETAIL
 * names the first STRANDED_DETAIL_COLUMNS columns holding rows, then how
 * many others and the query listing the attached columns; the message's
 * count is every column's.  The HINT gives the calls that move the rows,
 * for each table (stranded_rows_hint).
 */
static void
refuse_stranded_rows(const char *machine, List *rules, Datum states,
					 const char *from, const char *to, const char *target)
{
	StringInfoData where;
	int64		total = 0;
	bool		hidden = false;
	List	   *tables = NIL;
	bool		from_stranded = false;
	bool		to_stranded = false;
	Datum	   *names;
	int			n;
	StringInfoData stranded;
	int			listed = 0;
	ListCell   *lc;

	initStringInfo(&where);
	foreach(lc, rules)
	{
		StewardRuleColumn *rule = lfirst(lc);
		Relation	rel = try_relation_open(rule->relid, NoLock);
		Datum		leaves;
		int64		count = 0;
		char	   *values;
		char	   *name;

		if (rel == NULL)
			continue;
		if (!rule_leaves(rule, &leaves, CurrentMemoryContext) ||
			(values = stored_state_values(rel, rule->attname, states, leaves, true, &count)) == NULL)
		{
			relation_close(rel, NoLock);
			continue;
		}
		name = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
										  RelationGetRelationName(rel));
		if (steward_may_count_states(rule->relid, rule->attname))
		{
			if (listed < STRANDED_DETAIL_COLUMNS)
				appendStringInfo(&where, "%s%s.%s: %s", where.len > 0 ? "; " : "", name,
								 quote_identifier(rule->attname), values);
			total += count;
		}
		else
		{
			if (listed < STRANDED_DETAIL_COLUMNS)
				appendStringInfo(&where, "%s%s.%s: rows you may not count (its owner %s may move them)",
								 where.len > 0 ? "; " : "", name, quote_identifier(rule->attname),
								 quote_identifier(GetUserNameFromId(rel->rd_rel->relowner, false)));
			hidden = true;
		}
		listed++;
		if (!table_listed(tables, name))
			tables = lappend(tables, name);
		relation_close(rel, NoLock);
	}
	if (tables == NIL)
		return;
	if (listed > STRANDED_DETAIL_COLUMNS)
		appendStringInfo(&where, "; and %d other %s (each attached column: SELECT unnest(attached_to) FROM steward.state_machines WHERE name = %s;)",
						 listed - STRANDED_DETAIL_COLUMNS,
						 listed - STRANDED_DETAIL_COLUMNS == 1 ? "column" : "columns",
						 quote_literal_cstr(machine));
	deconstruct_array(DatumGetArrayTypeP(states), TEXTOID, -1, false, TYPALIGN_INT,
					  &names, NULL, &n);
	initStringInfo(&stranded);
	for (int i = 0; i < n; i++)
	{
		char	   *state = TextDatumGetCString(names[i]);

		append_listed_name(&stranded, i > 0 ? ", " : "", state);
		from_stranded |= from != NULL && strcmp(state, from) == 0;
		to_stranded |= strcmp(state, to) == 0;
	}
	if (from == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 hidden ?
				 errmsg("cannot drop initial state \"%s\" of machine \"%s\": rows are in it",
						to, machine) :
				 errmsg_plural("cannot drop initial state \"%s\" of machine \"%s\": " INT64_FORMAT " row is in it",
							   "cannot drop initial state \"%s\" of machine \"%s\": " INT64_FORMAT " rows are in it",
							   (unsigned long) total, to, machine, total),
				 errdetail("Not initial, state %s would be in no transition, so it would go with it. Rows in it: %s.",
						   stranded.data, where.data),
				 stranded_rows_hint(machine, tables, NULL, false, to, true, target)));
	/* One state or several: separate messages, as PostgreSQL's plurals. */
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 hidden && n == 1 ?
			 errmsg("cannot drop transition %s -> %s of machine \"%s\": rows are in state %s",
					from, to, machine, stranded.data) :
			 hidden ?
			 errmsg("cannot drop transition %s -> %s of machine \"%s\": rows are in states %s",
					from, to, machine, stranded.data) :
			 n == 1 ?
			 errmsg_plural("cannot drop transition %s -> %s of machine \"%s\": " INT64_FORMAT " row is in state %s",
						   "cannot drop transition %s -> %s of machine \"%s\": " INT64_FORMAT " rows are in state %s",
						   (unsigned long) total, from, to, machine, total, stranded.data) :
			 errmsg_plural("cannot drop transition %s -> %s of machine \"%s\": " INT64_FORMAT " row is in one of states %s",
						   "cannot drop transition %s -> %s of machine \"%s\": " INT64_FORMAT " rows are in states %s",
						   (unsigned long) total, from, to, machine, total, stranded.data),
			 n == 1 ?
			 errdetail("Without the edge, state %s is in no transition and not initial, so it would go with it. Rows in it: %s.",
					   stranded.data, where.data) :
			 errdetail("Without the edge, states %s are in no transition and not initial, so they would go with it. Rows in them: %s.",
					   stranded.data, where.data),
			 stranded_rows_hint(machine, tables, from, from_stranded, to, to_stranded, target)));
}

/*
 * What steward._change_transition reads, as the ctids of its rows: the
 * machine's row, the state rules naming it and the state checks.  Read
 * once in the transaction's snapshot and once in a snapshot taken now
 * (require_current_snapshot).  Qualified throughout.
 */
#define CHANGE_TRANSITION_READS_SQL \
	"SELECT pg_catalog.format('%s|%s|%s'," \
	" (SELECT d.ctid::pg_catalog.text FROM steward.machine_definitions d" \
	"   WHERE d.name OPERATOR(pg_catalog.=) $1)," \
	" (SELECT pg_catalog.string_agg(r.ctid::pg_catalog.text, ',' ORDER BY r.ctid::pg_catalog.text)" \
	"    FROM steward.column_rules r" \
	"   WHERE r.kind OPERATOR(pg_catalog.=) 'state' AND r.machine OPERATOR(pg_catalog.=) $1)," \
	" (SELECT pg_catalog.string_agg(c.ctid::pg_catalog.text, ',' ORDER BY c.ctid::pg_catalog.text)" \
	"    FROM steward.state_checks c))"

/*
 * Under REPEATABLE READ or SERIALIZABLE, steward._change_transition (a
 * plpgsql function: its statements use the transaction's snapshot) would
 * decide on rows as of the transaction's start, though the machine's row
 * is locked as it is now: a machine created since failed with P0002
 * "query returned no rows", and a state check set since on a state the
 * drop takes away was missed, so the check was left naming a state of no
 * machine (codereview16 C2).  Refuse with 40001 when that snapshot and
 * one taken now differ in what the function reads
 * (CHANGE_TRANSITION_READS_SQL), as core refuses an UPDATE of a row
 * changed since; READ COMMITTED takes a new snapshot per statement and
 * is not concerned.  Connected to SPI as the catalogs' owner; the
 * caller's locks; reads only.
 */
static void
require_current_snapshot(const char *machine)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(machine)};
	char	   *now;

	if (!IsolationUsesXactSnapshot())
		return;
	if (steward_spi_read_latest(CHANGE_TRANSITION_READS_SQL, 1, argtypes, args, NULL, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read steward.machine_definitions");
	now = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	if (SPI_execute_with_args(CHANGE_TRANSITION_READS_SQL, 1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read steward.machine_definitions");
	if (strcmp(now, SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent change of state machine \"%s\"", machine),
				 errdetail("Since this transaction's snapshot was taken, the machine, the tables it is attached to or their state checks changed; a change of its transitions must see them."),
				 errhint("Run the call again in a new transaction.")));
}

/*
 * The first element of names (a text[] datum without NULLs) that is name
 * (equal) or is not (!equal), palloc'd in the current memory context;
 * NULL when there is none.  Byte for byte, as the write path compares.
 */
static char *
first_name_matching(Datum names, const char *name, bool equal)
{
	Datum	   *elems;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(names), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, NULL, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *elem = TextDatumGetCString(elems[i]);

		if ((strcmp(elem, name) == 0) == equal)
			return elem;
	}
	return NULL;
}

/*
 * True when state is one of states (a text[] datum).
 */
static bool
state_declared(Datum states, const char *state)
{
	return first_name_matching(states, state, true) != NULL;
}

/*
 * add_transition(machine, from, to, new_state): a to that the machine does
 * not declare (states, a text[] datum) becomes a new state only when the
 * call says so (new_state => true): a mistyped to_state used to create a
 * state silently (a NOTICE only), and every row sent there afterwards
 * passed as legal (mach18).  Refused otherwise, 22023, the HINT giving the
 * call that does add it; and new_state => true for a state the machine
 * already declares, 42710 (the caller expected another definition), as
 * ALTER TYPE ... ADD VALUE refuses a label the enum has.  A from that is
 * no state is left to _change_transition's 22023.
 */
static void
check_new_state_intent(const char *machine, Datum states, const char *from,
					   const char *to, bool new_state)
{
	bool		declared = state_declared(states, to);
	Datum	   *names;
	int			n;
	StringInfoData list;

	if (!state_declared(states, from) || declared != new_state)
		return;
	if (declared)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("machine \"%s\" already has state %s", machine, steward_quote_state(to)),
				 errdetail("new_state => true adds the edge only with a state the machine does not declare."),
				 errhint("Leave out new_state to add an edge to it: SELECT steward.add_transition(%s, %s, %s);",
						 quote_literal_cstr(machine), quote_literal_cstr(from),
						 quote_literal_cstr(to))));
	deconstruct_array(DatumGetArrayTypeP(states), TEXTOID, -1, false, TYPALIGN_INT,
					  &names, NULL, &n);
	initStringInfo(&list);
	for (int i = 0; i < n; i++)
		append_listed_name(&list, i > 0 ? ", " : "", TextDatumGetCString(names[i]));
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s is not a state of machine \"%s\"", steward_quote_state(to), machine),
			 errdetail("Declared states: %s.", list.data),
			 errhint("To add it as a new state: SELECT steward.add_transition(%s, %s, %s, new_state => true);",
					 quote_literal_cstr(machine), quote_literal_cstr(from),
					 quote_literal_cstr(to))));
}

/*
 * add_transition(machine, from, to) with a to the machine does not declare
 * (states, a text[] datum) adds it: refuse (42804,
 * steward_check_states_fit) when a state column of the tables of "rules"
 * (partitions share their partitioned table's column type) is a varchar
 * too short for it, before _change_transition announces the new state.
 * A from that is no state is left to _change_transition's 22023.
 */
static void
check_new_state_fits(const char *machine, List *rules, Datum states,
					 const char *from, const char *to)
{
	Datum		added;
	ListCell   *lc;

	if (!state_declared(states, from) || state_declared(states, to))
		return;
	added = PointerGetDatum(construct_array((Datum[]) {CStringGetTextDatum(to)}, 1,
											TEXTOID, -1, false, TYPALIGN_INT));
	foreach(lc, rules)
	{
		StewardRuleColumn *rule = lfirst(lc);

		steward_check_states_fit(rule->relid, rule->attname, machine, added, STEWARD_FIT_ADD);
	}
}

/*
 * The start of every change of a machine in place (add/drop_transition,
 * add/drop_initial_state): switches to the catalog's owner (ctx: connected
 * to SPI; the caller ends it), requires the caller to have the machine's
 * owner's privileges (42501; a built-in machine is refused), takes the
 * locks as the section header says (the attached tables, the machine's
 * row, the tables again) and requires a current snapshot (40001).  Fills
 * info, read once the row is held; returns the state rules naming the
 * machine, in cxt.
 */
static List *
begin_machine_change(const char *machine, StewardAsOwner *ctx, MachineInfo *info,
					 MemoryContext cxt)
{
	Oid			caller;
	List	   *locked = NIL;
	List	   *rules;

	caller = enter_machines_owner(ctx);
	/* Nobody but its owner locks the tables of a machine. */
	read_machine(machine, info, true);
	require_machine_owner(machine, info, caller);
	lock_rule_tables(machine, steward_machine_columns(machine, CurrentMemoryContext), &locked);
	lock_machine_row(machine, true);
	/* Once the row is held: given away, or dropped, meanwhile? */
	read_machine(machine, info, true);
	require_machine_owner(machine, info, caller);
	rules = steward_machine_columns(machine, cxt);
	lock_rule_tables(machine, rules, &locked);
	require_current_snapshot(machine);
	return rules;
}

/*
 * Run sql, the SQL part of a change begun by begin_machine_change, whose
 * one result is a text[] of the states it drops: returns it, in cxt, or
 * (Datum) 0 when it drops none; then ends ctx.
 */
static Datum
run_machine_change(const char *sql, int nargs, Oid *argtypes, Datum *args,
				   StewardAsOwner *ctx, MemoryContext cxt)
{
	Datum		changed;
	bool		isnull;

	if (steward_spi_execute_entry(sql, nargs, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not change the state machine");
	changed = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull || ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(changed)),
								 ARR_DIMS(DatumGetArrayTypeP(changed))) == 0)
		changed = (Datum) 0;
	else
	{
		MemoryContext spicxt = MemoryContextSwitchTo(cxt);

		changed = datumCopy(changed, false, -1);
		MemoryContextSwitchTo(spicxt);
	}
	steward_as_owner_end(ctx);
	return changed;
}

/*
 * The end of every change of a machine in place: the labels of the
 * attached columns, which carry the machine in dumps (tableam/labels.c),
 * are written again: a stale one would bring the old machine back in a
 * restore, or make it refuse the machine's row as "another definition".
 */
static void
sync_machine_labels(List *rules)
{
	ListCell   *lc;

	CommandCounterIncrement();
	foreach(lc, rules)
	{
		StewardRuleColumn *rule = lfirst(lc);

		steward_sync_rule_label(rule->relid, rule->attname);
	}
}

/*
 * The first of states (a text[] datum) that is not in changed (a text[]
 * datum), palloc'd: a machine keeps its initial states, so there is one.
 */
static char *
first_state_kept(Datum states, Datum changed)
{
	Datum	   *elems;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(states), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, NULL, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *state = TextDatumGetCString(elems[i]);

		if (first_name_matching(changed, state, true) == NULL)
			return state;
	}
	elog(ERROR, "state machine keeps no state");
	return NULL;				/* keep compiler quiet */
}

/*
 * add_transition(..., if_not_exists => true) finding the edge, or
 * add_initial_state's finding the state initial (adding, present), and
 * drop_transition(..., if_exists => true) not finding the edge, or
 * drop_initial_state's not finding the state initial: the change is
 * skipped with a NOTICE "msg, skipping" (42710 when adding; 00000 when
 * dropping), as ALTER TABLE ... ADD COLUMN IF NOT EXISTS and DROP COLUMN IF
 * EXISTS do, so that a migration script can be run again.  Judged on the
 * row read after begin_machine_change's locks, so a change committed
 * meanwhile is seen; the owner check has run (42501 first, as ALTER TABLE
 * checks ownership before IF NOT EXISTS).  Returns true, ctx ended, when
 * skipped.
 */
static bool
skip_machine_change(bool adding, bool present, StewardAsOwner *ctx, const char *msg)
{
	if (adding != present)
		return false;
	ereport(NOTICE,
			(adding ? errcode(ERRCODE_DUPLICATE_OBJECT) : 0,
			 errmsg("%s, skipping", msg)));
	steward_as_owner_end(ctx);
	return true;
}

/*
 * A drop_transition or drop_initial_state that took states out of the
 * machine ("changed", a text[] datum: no rows were in them) says so with a
 * NOTICE, as add_transition's new state does (mach21: a state went
 * silently): drop_transition's edge from -> to, drop_initial_state's
 * state "to" (from NULL).  The HINT takes the drop back when one state,
 * the edge's "to", went and "from" stays:
 * add_transition(machine, from, to, new_state => true).
 */
static void
announce_dropped_states(const char *machine, Datum changed, const char *from,
						const char *to)
{
	Datum	   *names;
	int			n;
	StringInfoData list;

	deconstruct_array(DatumGetArrayTypeP(changed), TEXTOID, -1, false, TYPALIGN_INT,
					  &names, NULL, &n);
	initStringInfo(&list);
	for (int i = 0; i < n; i++)
		append_listed_name(&list, i > 0 ? ", " : "", TextDatumGetCString(names[i]));
	ereport(NOTICE,
			(errmsg_plural("state %s dropped from machine \"%s\"",
						   "states %s dropped from machine \"%s\"",
						   n, list.data, machine),
			 from != NULL ?
			 errdetail_plural("Without transition %s -> %s, it is in no transition and not initial.",
							  "Without transition %s -> %s, they are in no transition and not initial.",
							  n, from, to) :
			 errdetail("No longer initial, it is in no transition."),
			 from != NULL && n == 1 && first_name_matching(changed, to, true) != NULL ?
			 errhint("To take it back: SELECT steward.add_transition(%s, %s, %s, new_state => true);",
					 quote_literal_cstr(machine), quote_literal_cstr(from),
					 quote_literal_cstr(to)) : 0));
}

/*
 * The body of add_transition (adding) and drop_transition: locks and
 * checks of begin_machine_change; with if_not_exists / if_exists, an edge
 * already there / not there is skipped (skip_machine_change); the definition is checked and written
 * by steward._change_transition (as the catalog's owner), whose statement
 * trigger invalidates the cached rules of the tables at commit; a state
 * the drop takes away is refused while rows are in it
 * (refuse_stranded_rows); then the labels (sync_machine_labels).
 */
static void
change_transition(FunctionCallInfo fcinfo, bool adding)
{
	char	   *machine = machine_name_arg(fcinfo);
	MemoryContext cxt = CurrentMemoryContext;
	StewardAsOwner ctx;
	MachineInfo info;
	List	   *rules;
	Oid			argtypes[4] = {TEXTOID, TEXTOID, TEXTOID, BOOLOID};
	Datum		args[4];
	Datum		changed;
	bool		new_state = false;
	bool		check_intent = false;
	bool		if_flag = false;
	char	   *from;
	char	   *to;
	char	   *target;

	steward_require_arg(fcinfo, 1, "from_state");
	steward_require_arg(fcinfo, 2, "to_state");
	/*
	 * add_transition's new_state; the three-argument SQL function of a
	 * database not yet updated (ALTER EXTENSION pg_steward UPDATE) keeps
	 * its old behaviour: an undeclared to_state becomes a new state.
	 */
	if (adding && PG_NARGS() > 3)
	{
		steward_require_arg(fcinfo, 3, "new_state");
		new_state = PG_GETARG_BOOL(3);
		check_intent = true;
	}
	/* add_transition's if_not_exists, drop_transition's if_exists. */
	if (PG_NARGS() > (adding ? 4 : 3))
	{
		steward_require_arg(fcinfo, adding ? 4 : 3, adding ? "if_not_exists" : "if_exists");
		if_flag = PG_GETARG_BOOL(adding ? 4 : 3);
	}
	args[0] = CStringGetTextDatum(machine);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = PG_GETARG_DATUM(2);
	args[3] = BoolGetDatum(adding);
	from = TextDatumGetCString(args[1]);
	to = TextDatumGetCString(args[2]);

	rules = begin_machine_change(machine, &ctx, &info, cxt);
	if (if_flag &&
		skip_machine_change(adding,
							first_name_matching(info.transitions, psprintf("%s->%s", from, to), true) != NULL,
							&ctx,
							psprintf(adding ? "machine \"%s\" already has transition %s -> %s" :
									 "machine \"%s\" has no transition %s -> %s", machine,
									 steward_quote_state(from), steward_quote_state(to))))
		return;
	if (adding)
	{
		if (check_intent)
			check_new_state_intent(machine, info.states, from, to, new_state);
		check_new_state_fits(machine, rules, info.states, from, to);
	}
	changed = run_machine_change("SELECT steward._change_transition($1, $2, $3, $4)",
								 4, argtypes, args, &ctx, cxt);
	/* The way out of to: from when it stays, else the first state kept. */
	if (!adding && changed != (Datum) 0)
	{
		target = from;
		if (first_name_matching(changed, from, true) != NULL)
			target = first_state_kept(info.states, changed);
		refuse_stranded_rows(machine, rules, changed, from, to, target);
		announce_dropped_states(machine, changed, from, to);
	}
	sync_machine_labels(rules);
}

/*
 * The body of add_initial_state (adding) and drop_initial_state: as
 * change_transition, the SQL part being steward._change_initial.  A state
 * that stops being initial and is in no transition goes with it, refused
 * while rows are in it (refuse_stranded_rows, whose HINT moves them to
 * the first other initial state: the last one cannot be dropped).
 */
static void
change_initial(FunctionCallInfo fcinfo, bool adding)
{
	char	   *machine = machine_name_arg(fcinfo);
	MemoryContext cxt = CurrentMemoryContext;
	StewardAsOwner ctx;
	MachineInfo info;
	List	   *rules;
	Oid			argtypes[3] = {TEXTOID, TEXTOID, BOOLOID};
	Datum		args[3];
	Datum		changed;
	char	   *state;
	bool		if_flag = false;

	steward_require_arg(fcinfo, 1, "state");
	/* if_not_exists / if_exists (absent from an older SQL function). */
	if (PG_NARGS() > 2)
	{
		steward_require_arg(fcinfo, 2, adding ? "if_not_exists" : "if_exists");
		if_flag = PG_GETARG_BOOL(2);
	}
	args[0] = CStringGetTextDatum(machine);
	args[1] = PG_GETARG_DATUM(1);
	args[2] = BoolGetDatum(adding);
	state = TextDatumGetCString(args[1]);

	rules = begin_machine_change(machine, &ctx, &info, cxt);
	/*
	 * Dropped if_exists, a state not declared is skipped as not a state,
	 * as the call without if_exists refuses it (22023), and a declared one
	 * not initial as not initial (42704 without): mach21, both said "not
	 * initial".
	 */
	if (if_flag &&
		skip_machine_change(adding, first_name_matching(info.initial, state, true) != NULL, &ctx,
							adding ? psprintf("state %s of machine \"%s\" is already initial", steward_quote_state(state), machine) :
							!state_declared(info.states, state) ?
							psprintf("%s is not a state of machine \"%s\"", steward_quote_state(state), machine) :
							psprintf("state %s of machine \"%s\" is not initial", steward_quote_state(state), machine)))
		return;
	changed = run_machine_change("SELECT steward._change_initial($1, $2, $3)",
								 3, argtypes, args, &ctx, cxt);
	if (!adding && changed != (Datum) 0)
	{
		refuse_stranded_rows(machine, rules, changed, NULL, state,
							 first_name_matching(info.initial, state, false));
		announce_dropped_states(machine, changed, NULL, state);
	}
	sync_machine_labels(rules);
}

/*
 * steward.add_transition(machine, from_state, to_state, new_state DEFAULT
 * false, if_not_exists DEFAULT false): the machine's owner adds the edge
 * from_state -> to_state, attached or not (with if_not_exists, an edge it
 * has is a NOTICE, skipping: skip_machine_change); a to_state the machine does not declare becomes a new
 * state (NOTICE) when new_state is true, and is refused (22023) when it is
 * false, as new_state => true is for a declared one (42710:
 * check_new_state_intent).  Locks as
 * the section header says: ShareRowExclusiveLock on each attached table
 * and the partitions below, ShareLock on the owner's lock tag, the
 * machine's row FOR UPDATE, and through the catalog's statement triggers
 * AccessShareLock on steward.column_rules; pg_seclabel is written under
 * core's locks.  All held to transaction end.  Raises 22004 for a NULL
 * argument, 55000 while the catalog is 0.1's or a partition below an
 * attached table is half detached, 42704 for no such machine, 42501
 * unless the caller has the owner's privileges (or for a built-in
 * machine), 22023 when from_state is not a state or from = to, 42710 for
 * an edge it has (without if_not_exists), 54000 past 64 states, 42622 for a name over 63 bytes,
 * 42804 for a new state longer than a varchar(n) state column of an
 * attached table stores (steward_check_states_fit),
 * 40001 under REPEATABLE READ or SERIALIZABLE when the transaction's
 * snapshot predates a change it must see (require_current_snapshot).
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_add_transition(PG_FUNCTION_ARGS)
{
	steward_require_writable("steward.add_transition()");
	change_transition(fcinfo, true);
	PG_RETURN_VOID();
}

/*
 * steward.drop_transition(machine, from_state, to_state, if_exists
 * DEFAULT false): the machine's owner removes the edge (with if_exists, an
 * edge it lacks is a NOTICE, skipping); rows keep their states, and only later updates
 * are restricted.  A state the edge leaves in no transition and not
 * initial (a state add_transition introduced, say) goes with it (a
 * NOTICE: announce_dropped_states), refused
 * (23514, the count per table, HINT: the run_transition that moves them)
 * while rows of an attached table are in it, and (2BP01) while a state
 * check of an attached table names it.  Locks as steward_add_transition,
 * plus the scans of the attached tables, as their owners, when a state
 * goes.  Raises 42704 for an edge the machine lacks (without if_exists), and otherwise as
 * steward_add_transition.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_drop_transition(PG_FUNCTION_ARGS)
{
	steward_require_writable("steward.drop_transition()");
	change_transition(fcinfo, false);
	PG_RETURN_VOID();
}

/*
 * steward.add_initial_state(machine, state, if_not_exists DEFAULT false):
 * the machine's owner lets new rows start in a declared state, attached or
 * not (with if_not_exists, a state initial already is a NOTICE, skipping).  Locks as
 * steward_add_transition.  Raises 22004 for a NULL argument, 22023 when
 * state is not a state of the machine, 42710 when it is initial already,
 * and otherwise as steward_add_transition (55000, 42704, 42501, 40001).
 */
Datum
steward_add_initial_state(PG_FUNCTION_ARGS)
{
	steward_require_writable("steward.add_initial_state()");
	change_initial(fcinfo, true);
	PG_RETURN_VOID();
}

/*
 * steward.drop_initial_state(machine, state, if_exists DEFAULT false): the
 * machine's owner stops new rows starting in state; rows in it keep it
 * (with if_exists, a state not initial, or not declared, is a NOTICE,
 * skipping, saying which).  A state then in no
 * transition goes with it (a NOTICE: announce_dropped_states), refused (23514, the count per table, HINT the
 * edge and run_transition that move them) while rows of an attached table
 * are in it, and (2BP01) while a state check names it.  Locks as
 * steward_drop_transition.  Raises 22004 for a NULL argument, 22023 when
 * state is not a state of the machine or is its only initial state, 42704
 * when it is not initial, and otherwise as steward_add_transition.
 */
Datum
steward_drop_initial_state(PG_FUNCTION_ARGS)
{
	steward_require_writable("steward.drop_initial_state()");
	change_initial(fcinfo, false);
	PG_RETURN_VOID();
}
