/*-------------------------------------------------------------------------
 *
 * roles.c
 *	  DROP ROLE, REASSIGN OWNED and DROP OWNED for the roles that own
 *	  pg_steward objects: idempotency scopes and state machines (and the
 *	  roles a machine is granted to).
 *
 * Those objects name their roles by OID (regrole columns), not as shared
 * dependencies of their own: pg_shdepend takes only objects that core can
 * describe and reassign (an unknown class makes DROP ROLE fail with an
 * internal error; machines borrow a column privilege's form, below), and
 * event triggers do not fire for roles.  So a utility step
 * (plumbing/utility.c) does what pg_shdepend does for core objects, in
 * the database where the statement runs:
 *
 *	* DROP ROLE is refused (2BP01, listing the objects as core lists its
 *	  own) while a role owns or may use such objects here; otherwise the
 *	  OID would dangle, and a dump would restore it as whichever role gets
 *	  that OID in the new cluster (regrole input takes any number);
 *	* REASSIGN OWNED gives them to the new owner, after core's part
 *	  (which checks the caller's privileges on both roles); each scope
 *	  once the transactions using it have ended, as
 *	  steward.alter_idempotency_scope_owner does;
 *	* DROP OWNED revokes the grants and drops the scopes (with their keys,
 *	  each once the transactions that began keys in it have ended, as
 *	  steward.drop_idempotency_scope does: src/idempotency/README.md)
 *	  and the machines, after core's part (which checks the caller's
 *	  privileges and drops the roles' tables, and with them their rules);
 *	  a machine still attached to another role's table is refused (2BP01),
 *	  as steward.drop_state_machine refuses it.
 *
 * The work is SQL (steward._role_objects, _reassign_owned, _drop_owned in
 * ops.sql), run as the owner of the extension's tables with search_path
 * pinned.  Objects in other databases are out of reach (core counts its
 * own there from the shared pg_shdepend): run REASSIGN OWNED / DROP OWNED
 * in each database, as core's documentation asks for its own objects.
 * State machines also record their roles in pg_shdepend, as column
 * privileges on steward.machine_definitions, so that DROP ROLE in another
 * database refuses them (src/lifecycle/machine_roles.c); DROP OWNED
 * forgets the roles' rows (not core's own rows of a column privilege
 * there) before core's part, which would otherwise try to revoke those
 * privileges, and the trigger that records them writes what is left
 * after ours.
 * The step is registered by every process that loads the library;
 * shared_preload_libraries loads it in every session.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "plumbing/own_context.h"
#include "plumbing/utility.h"
#include "ops/roles.h"
#include "idempotency/idempotency.h"
#include "lifecycle/lifecycle.h"

/*
 * Become the owner of the extension's tables (SPI connected) when this
 * database has pg_steward with its 0.2 objects; false otherwise (no
 * extension here, or 0.1's objects before ALTER EXTENSION UPDATE, whose
 * scopes and machines have no owners).
 */
static bool
enter_catalog_owner(StewardAsOwner *ctx)
{
	Oid			scopes;
	bool		isnull;
	bool		ready;

	if (!steward_utility_extension_here())
		return false;
	scopes = steward_relid("idempotency_scopes", true);
	if (!OidIsValid(scopes))
		return false;
	steward_as_owner_begin(scopes, ctx);
	if (SPI_execute("SELECT pg_catalog.to_regprocedure('steward._role_objects(oid[])') IS NOT NULL",
					true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not look up steward._role_objects");
	ready = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (!ready)
		steward_as_owner_end(ctx);
	return ready;
}

static Datum
oid_array(List *roles)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(roles), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, roles)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	return PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
}

/* DROP ROLE: refuse a role that owns or may use objects here (2BP01). */
static void
check_drop_role(DropRoleStmt *stmt)
{
	StewardAsOwner ctx;
	ListCell   *lc;
	Oid			caller = GetUserId();	/* before we act as the catalog's owner */

	if (!enter_catalog_owner(&ctx))
		return;
	foreach(lc, stmt->roles)
	{
		RoleSpec   *spec = lfirst(lc);
		Oid			roleid;
		Oid			argtypes[1] = {OIDARRAYOID};
		Datum		args[1];
		StringInfoData detail;

		/* Core refuses CURRENT_USER and the like, and reports unknown roles. */
		if (spec->roletype != ROLESPEC_CSTRING)
			continue;
		roleid = get_role_oid(spec->rolename, true);
		if (!OidIsValid(roleid))
			continue;

		/*
		 * Only for a caller core lets drop the role (its checks, repeated
		 * here): anyone else must not queue for the role's lock, holding
		 * up every statement that needs it, before core refuses them.
		 */
		if (!has_createrole_privilege(caller) ||
			(superuser_arg(roleid) && !superuser_arg(caller)))
			continue;
		args[0] = oid_array(list_make1_oid(roleid));

		/*
		 * The role's lock first, as DropRole takes it (same mode, same
		 * order), then the objects in a snapshot taken after it: a claim
		 * of a scope holds the role's lock until it commits, and one that
		 * committed after a REPEATABLE READ snapshot is seen too
		 * (review13 R13-13).
		 */
		LockSharedObject(AuthIdRelationId, roleid, 0, AccessExclusiveLock);
		if (steward_spi_read_latest("SELECT d FROM steward._role_objects($1) d",
									1, argtypes, args, NULL, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read the objects of role \"%s\"", spec->rolename);
		if (SPI_processed == 0)
			continue;
		initStringInfo(&detail);
		for (uint64 i = 0; i < SPI_processed; i++)
			appendStringInfo(&detail, "%s%s", i > 0 ? "\n" : "",
							 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("role \"%s\" cannot be dropped because some objects depend on it",
						spec->rolename),
				 errdetail_internal("%s", detail.data),
				 errhint("Give them to another role first (REASSIGN OWNED BY %s TO ..., or steward.alter_idempotency_scope_owner and steward.alter_state_machine_owner), or drop them (DROP OWNED BY %s), in each database that has them.",
						 quote_identifier(spec->rolename), quote_identifier(spec->rolename))));
	}
	steward_as_owner_end(&ctx);
}

/* The OIDs of a statement's role list; core has resolved them already. */
static List *
role_oids(List *specs)
{
	List	   *oids = NIL;
	ListCell   *lc;

	foreach(lc, specs)
		oids = lappend_oid(oids, get_rolespec_oid(lfirst(lc), false));
	return oids;
}

/*
 * Set by forget_machine_roles when it locked nothing because core's part
 * was judged to refuse the drop; follow_owned then takes the machines'
 * locks without waiting (codereview12 Q1).  Backend-local, set at each
 * DROP OWNED before core's part.
 */
static bool drop_owned_unlocked = false;

/*
 * DROP OWNED, before core's part: the roles' rows of state machines in
 * pg_shdepend (src/lifecycle/machine_roles.c) are ours to follow, after
 * core's part, in follow_owned; core would take them for privileges on
 * steward.machine_definitions.  Locks the rows of the roles' machines
 * (FOR UPDATE, waiting for transactions attaching them), then the locks
 * of the roles' own pg_shdepend rows (machine_roles.c).
 */
static void
forget_machine_roles(DropOwnedStmt *stmt)
{
	List	   *roles;
	ListCell   *lc;
	StewardAsOwner ctx;

	drop_owned_unlocked = false;
	if (!steward_utility_extension_here())
		return;
	roles = role_oids(stmt->roles);
	/* Core refuses a role whose privileges the caller lacks: no lock first. */
	foreach(lc, roles)
		if (!has_privs_of_role(GetUserId(), lfirst_oid(lc)))
			return;

	/*
	 * The rows of the machines follow_owned drops, before the catalog's
	 * lock: a transaction attaching one holds its row (FOR KEY SHARE) and
	 * may write the catalog next (a label making another machine); waiting
	 * for it while holding that lock deadlocked (as _drop_state_machine).
	 */
	if (enter_catalog_owner(&ctx))
	{
		/* All at once, never waiting while holding one (machines_api.c). */
		drop_owned_unlocked = !steward_lock_role_machines(oid_array(roles),
														  stmt->behavior == DROP_CASCADE);
		steward_as_owner_end(&ctx);
	}
	steward_machine_roles_forget(oid_array(roles));
}

/* REASSIGN OWNED / DROP OWNED, after core's part succeeded. */
static void
follow_owned(Node *parsetree)
{
	StewardAsOwner ctx;
	Oid			argtypes[2] = {OIDARRAYOID, OIDOID};
	Datum		args[2];
	int			rc;

	if (!enter_catalog_owner(&ctx))
		return;
	if (IsA(parsetree, ReassignOwnedStmt))
	{
		ReassignOwnedStmt *stmt = (ReassignOwnedStmt *) parsetree;

		args[0] = oid_array(role_oids(stmt->roles));
		args[1] = ObjectIdGetDatum(get_rolespec_oid(stmt->newrole, false));
		/* Each scope after the transactions using it (src/idempotency). */
		steward_idem_reassign_owned_scopes(args[0], DatumGetObjectId(args[1]));
		rc = steward_spi_execute_entry("SELECT steward._reassign_owned($1, $2)",
									   2, argtypes, args, NULL, false, 0);
	}
	else
	{
		args[0] = oid_array(role_oids(((DropOwnedStmt *) parsetree)->roles));
		/* Core's part succeeded though judged to refuse: never wait now. */
		if (drop_owned_unlocked)
		{
			drop_owned_unlocked = false;
			steward_try_lock_role_machines(args[0]);
		}
		/* Each scope after the transactions using it (src/idempotency). */
		steward_idem_drop_owned_scopes(args[0]);
		rc = steward_spi_execute_entry("SELECT steward._drop_owned($1)",
									   1, argtypes, args, NULL, false, 0);
	}
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "could not update the objects of the roles");
	steward_as_owner_end(&ctx);
}

/* Utility step, before core's part: DROP ROLE, DROP OWNED. */
static void
roles_before_utility(StewardUtilityCall *call)
{
	Node	   *parsetree = call->pstmt->utilityStmt;

	if (IsA(parsetree, DropRoleStmt))
		check_drop_role((DropRoleStmt *) parsetree);
	if (IsA(parsetree, DropOwnedStmt))
		forget_machine_roles((DropOwnedStmt *) parsetree);
}

/* Utility step, after core's part succeeded: REASSIGN OWNED, DROP OWNED. */
static void
roles_after_utility(StewardUtilityCall *call)
{
	Node	   *parsetree = call->pstmt->utilityStmt;

	if (IsA(parsetree, ReassignOwnedStmt) || IsA(parsetree, DropOwnedStmt))
		follow_owned(parsetree);
}

static const StewardUtilityStep roles_utility_step = {
	.tags = {T_DropRoleStmt, T_DropOwnedStmt, T_ReassignOwnedStmt},
	.before = roles_before_utility,
	.after = roles_after_utility,
};

/*
 * From _PG_init, in every process that loads the library: register the
 * utility step that keeps DROP ROLE, REASSIGN OWNED and DROP OWNED in
 * step with the roles pg_steward's objects name (see the file header).
 * Takes no lock; raises nothing.
 */
void
steward_roles_install_hook(void)
{
	steward_utility_register(STEWARD_UTILITY_ROLES, &roles_utility_step);
}
