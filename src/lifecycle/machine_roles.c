/*-------------------------------------------------------------------------
 *
 * machine_roles.c
 *	  The roles a state machine names (its owner and its grantees), recorded
 *	  in pg_shdepend so that DROP ROLE in any database of the cluster is
 *	  refused while a machine here names the role.
 *
 * steward.machine_definitions stores roles as OIDs (regrole).  The utility
 * hook of src/ops/roles.c keeps DROP ROLE, REASSIGN OWNED and DROP OWNED
 * in step with them, but only in the database where the statement runs:
 * a role dropped from another database left its OID behind, which pg_dump
 * wrote as a bare number and a restore gave to whichever role had that
 * OID there (review12 R12-11).  Core avoids this for its own objects with
 * the shared catalog pg_shdepend, which DROP ROLE reads for every
 * database.  So the machines' roles go there too, as core records a
 * column privilege:
 *
 *	(dbid, pg_class, machine_definitions, attnum of "owner" or
 *	 "usage_roles") -> (pg_authid, role), deptype 'a' (privileges)
 *
 * one row per machine and role; built-in machines (owned by the
 * extension's owner, who owns the extension anyway) have none.  Why not a
 * class of our own: core describes every row of the current database by
 * its class (DROP ROLE, DROP OWNED), and an unknown class is an internal
 * error.  Why 'a' and not 'o': for an owner row, DROP OWNED would drop and
 * REASSIGN OWNED would give away the table itself; for 'a' rows REASSIGN
 * OWNED does nothing and DROP OWNED revokes the role's privileges on the
 * table (none), and without the library's hook DROP ROLE here says
 * "privileges for column owner of table steward.machine_definitions".
 * With the hook, DROP ROLE here is refused first with the machines named,
 * and DROP OWNED forgets the roles' rows before core's part
 * (steward_machine_roles_forget).
 *
 * Sharing the key with core (codereview2 #3).  The key is the one core
 * writes for a column privilege on those two columns, and each side
 * deletes rows of the key wholesale: core's REVOKE of a column privilege
 * deletes every row of (key, role), the machines' too (DROP ROLE from
 * another database then succeeded: R12-11 again), and a write here used
 * to delete core's row of a column GRANT (DROP ROLE of its grantee then
 * left a dangling OID in attacl).  So:
 *
 *	* column privileges on "owner" and "usage_roles" of the catalog are
 *	  refused (0LP01) by an event trigger on GRANT and REVOKE
 *	  (steward_machine_definitions_grant_guard; ENABLE ALWAYS, so it runs
 *	  in every session, whether or not the library is preloaded, and in
 *	  restores under session_replication_role = replica).  They serve no
 *	  purpose: PUBLIC may read the whole table, and only its owner may
 *	  write it.  Privileges on the whole table are left alone: with no
 *	  column privilege on those columns, a table-level REVOKE (or DROP
 *	  OWNED's) changes no column ACL and no row of the key;
 *	* our writes keep core's rows all the same: the rows wanted are the
 *	  machines' plus one per role of the column's ACL (attacl, as core's
 *	  updateAclDependencies records it: grantors and grantees, not the
 *	  table's owner, not pinned roles), so a column privilege granted
 *	  where the event trigger did not run (single-user mode, event
 *	  triggers disabled by a superuser) keeps its row.  There, a REVOKE of
 *	  it still deletes the machines' rows of that role until the next
 *	  write here records them again.
 *
 * Other keys were considered and rejected: only pg_class rows may have a
 * non-zero objsubid (core's getObjectClass refuses any other class's,
 * an internal error in DROP ROLE), and every attnum of a table that
 * takes GRANT, system columns included, takes a column GRANT; relations
 * that refuse GRANT (an index, a composite type) make core's DROP OWNED
 * fail on the row; an attnum with no pg_attribute row makes DROP ROLE
 * fail describing it; and a whole object's key (objsubid 0) is its own
 * privileges' key.
 *
 * The rows follow the table: a statement-level trigger on every write to
 * machine_definitions (create, drop, owner changes, grants, restores,
 * REASSIGN / DROP OWNED) makes this database's rows match the table:
 * rows no machine wants are deleted, missing ones added, the others left
 * as they are (no churn in the shared catalog per write).
 * Writers are serialised per role and column: a writer whose statement
 * changes how many rows a role has in one of the two columns takes an
 * ExclusiveLock on that (role, column)'s lock tag (advisory, field4 = 7)
 * and reads both tables again in one new snapshot once it is held, so two
 * transactions never delete the same row and the last one writes what
 * both committed; writes that leave a role's rows as they are take no
 * lock of it, so a transaction writing one role's machines (a DROP OWNED
 * left open) never holds up another role's create, grant or owner change
 * (review20 F2: one lock of the whole catalog did, for any role, even one
 * owning nothing).  create_state_machine, grant, revoke and owner
 * changes take the tags their UPDATE will need before it
 * (steward_machine_roles_lock): taken only after, a transaction holding
 * one that went on to change the machine (a DROP OWNED of a grantee
 * taking its grant back) would deadlock with it.  A drop takes them after
 * its row, in the trigger, since it waits for the machine's attachers,
 * which may create another of the owner's machines next; so do direct
 * writes of the catalog (a restore, a hand edit).  Two transactions
 * changing one machine after taking tags in the other order can still
 * deadlock (40P01), as they did on the whole catalog's lock (a drop and
 * an owner change of one machine).
 * Each role is locked as core locks a role
 * it records a dependency on, so a concurrent DROP ROLE either waits for
 * us and then sees the row, or has committed and the role is skipped.  A
 * role that no longer exists (dropped before these rows existed) is
 * skipped: its machines are left out of dumps (lifecycle.sql).
 *
 * What does not carry the rows: pg_upgrade (pg_shdepend is rebuilt from
 * the dumped schema); the next write to the catalog records them again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_attribute.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_shdepend.h"
#include "catalog/pg_type_d.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "replication/logicalworker.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/tuplestore.h"

#include "pg_steward.h"
#include "lifecycle/lifecycle.h"
#include "plumbing/as_owner.h"
#include "tableam/labels.h"
#include "tableam/rules.h"
#include "tableam/rules_api.h"

PG_FUNCTION_INFO_V1(steward_machine_definitions_roles);
PG_FUNCTION_INFO_V1(steward_machine_definitions_rules);
PG_FUNCTION_INFO_V1(steward_machine_definitions_grant_guard);

/* The catalog and the attnums its rows are recorded under. */
typedef struct MachineColumns
{
	Oid			relid;
	AttrNumber	owner;
	AttrNumber	usage_roles;
	AttrNumber	builtin;
} MachineColumns;

/* false for 0.1's catalog (no owners: nothing to record). */
static bool
machine_columns(MachineColumns *cols)
{
	cols->relid = steward_relid(STEWARD_MACHINES_TABLE, true);
	if (!OidIsValid(cols->relid))
		return false;
	cols->owner = get_attnum(cols->relid, "owner");
	cols->usage_roles = get_attnum(cols->relid, "usage_roles");
	cols->builtin = get_attnum(cols->relid, "builtin");
	return cols->owner != InvalidAttrNumber &&
		cols->usage_roles != InvalidAttrNumber &&
		cols->builtin != InvalidAttrNumber;
}

/*
 * The lock of a role's rows of one column (owner or usage_roles): an
 * advisory tag (database, role, attnum, field4 = 7) that no SQL function
 * makes (machines_api.c lists the others), ExclusiveLock, held to the end
 * of the transaction by every writer that changes how many of the rows
 * the role has.  Returns whether it was newly taken.
 */
#define ROLE_ROWS_LOCK_FIELD4 7

static bool
lock_role_rows(Oid role, AttrNumber attnum)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) role, (uint32) attnum,
						 ROLE_ROWS_LOCK_FIELD4);
	return LockAcquire(&tag, ExclusiveLock, false, false) == LOCKACQUIRE_OK;
}

/* A row wanted: the machine's column attnum names role. */
typedef struct RoleRef
{
	int32		attnum;
	Oid			role;
	bool		present;		/* a row for it exists */
} RoleRef;

static int
roleref_cmp(const void *a, const void *b)
{
	const RoleRef *x = a;
	const RoleRef *y = b;

	if (x->attnum != y->attnum)
		return x->attnum < y->attnum ? -1 : 1;
	if (x->role != y->role)
		return x->role < y->role ? -1 : 1;
	return 0;
}

/* Mark an entry equal to key and not yet present (wanted sorted); false if none. */
static bool
claim_wanted(RoleRef *wanted, int nwanted, const RoleRef *key)
{
	RoleRef    *hit = bsearch(key, wanted, nwanted, sizeof(RoleRef), roleref_cmp);

	if (hit == NULL)
		return false;
	while (hit > wanted && roleref_cmp(hit - 1, key) == 0)
		hit--;
	for (; hit < wanted + nwanted && roleref_cmp(hit, key) == 0; hit++)
		if (!hit->present)
		{
			hit->present = true;
			return true;
		}
	return false;
}

/*
 * A scan of this database's rows of the key in snapshot (NULL: the
 * catalog snapshot); key_row() tells the rows of the two columns from
 * the others of the key.
 */
static SysScanDesc
begin_key_scan(Relation sdep, const MachineColumns *cols, Snapshot snapshot)
{
	ScanKeyData key[3];

	ScanKeyInit(&key[0], Anum_pg_shdepend_dbid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(MyDatabaseId));
	ScanKeyInit(&key[1], Anum_pg_shdepend_classid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[2], Anum_pg_shdepend_objid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(cols->relid));
	return systable_beginscan(sdep, SharedDependDependerIndexId, true, snapshot, 3, key);
}

static bool
key_row(Form_pg_shdepend row, const MachineColumns *cols)
{
	return row->refclassid == AuthIdRelationId &&
		row->deptype == SHARED_DEPENDENCY_ACL &&
		(row->objsubid == cols->owner || row->objsubid == cols->usage_roles);
}

/*
 * Delete this database's rows of the key: those of roles (a List of OIDs;
 * all roles if NIL) not in wanted (sorted; the rows kept are marked
 * present there, one per entry).
 */
static void
delete_rows(Relation sdep, const MachineColumns *cols, List *roles,
			RoleRef *wanted, int nwanted)
{
	SysScanDesc scan;
	HeapTuple	tup;

	scan = begin_key_scan(sdep, cols, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_shdepend row = (Form_pg_shdepend) GETSTRUCT(tup);
		RoleRef		ref = {row->objsubid, row->refobjid, false};

		if (!key_row(row, cols))
			continue;
		if ((roles != NIL && !list_member_oid(roles, row->refobjid)) ||
			claim_wanted(wanted, nwanted, &ref))
			continue;
		CatalogTupleDelete(sdep, &tup->t_self);
	}
	systable_endscan(scan);
}

/* One row: the machine's column attnum names roleid, if it still exists. */
static void
insert_row(Relation sdep, const MachineColumns *cols, AttrNumber attnum, Oid roleid)
{
	Datum		values[Natts_pg_shdepend];
	bool		nulls[Natts_pg_shdepend] = {0};
	HeapTuple	tup;

	/* As core's shdepLockAndCheckObject: DROP ROLE locks the role first. */
	LockSharedObject(AuthIdRelationId, roleid, 0, AccessShareLock);
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(roleid)))
		return;
	values[Anum_pg_shdepend_dbid - 1] = ObjectIdGetDatum(MyDatabaseId);
	values[Anum_pg_shdepend_classid - 1] = ObjectIdGetDatum(RelationRelationId);
	values[Anum_pg_shdepend_objid - 1] = ObjectIdGetDatum(cols->relid);
	values[Anum_pg_shdepend_objsubid - 1] = Int32GetDatum(attnum);
	values[Anum_pg_shdepend_refclassid - 1] = ObjectIdGetDatum(AuthIdRelationId);
	values[Anum_pg_shdepend_refobjid - 1] = ObjectIdGetDatum(roleid);
	values[Anum_pg_shdepend_deptype - 1] = CharGetDatum(SHARED_DEPENDENCY_ACL);
	tup = heap_form_tuple(RelationGetDescr(sdep), values, nulls);
	CatalogTupleInsert(sdep, tup);
	heap_freetuple(tup);
}

/* Add (attnum, role) to the wanted rows, growing the array. */
static void
want(RoleRef **wanted, int *n, int *size, int32 attnum, Oid role)
{
	if (!OidIsValid(role) || IsPinnedObject(AuthIdRelationId, role) ||
		!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
		return;
	if (*n == *size)
	{
		*size *= 2;
		*wanted = repalloc(*wanted, sizeof(RoleRef) * *size);
	}
	(*wanted)[*n].attnum = attnum;
	(*wanted)[*n].role = role;
	(*wanted)[*n].present = false;
	(*n)++;
}

/*
 * Core's own rows of the key (see the file header): one per role its
 * updateAclDependencies records for the column's ACL, that is every
 * grantor and grantee but the table's owner and pinned roles.  Read from
 * the catalog as committed now (the syscache, after taking in what other
 * transactions committed).
 */
static void
want_column_acl(RoleRef **wanted, int *n, int *size, Oid relid, AttrNumber attnum)
{
	HeapTuple	tup;
	Datum		d;
	bool		isnull;
	Oid			relowner;
	Oid		   *members;
	int			nmembers;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return;
	relowner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	tup = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(attnum));
	if (!HeapTupleIsValid(tup))
		return;
	d = SysCacheGetAttr(ATTNUM, tup, Anum_pg_attribute_attacl, &isnull);
	if (!isnull)
	{
		nmembers = aclmembers(DatumGetAclPCopy(d), &members);
		for (int i = 0; i < nmembers; i++)
			if (members[i] != relowner)
				want(wanted, n, size, attnum, members[i]);
	}
	ReleaseSysCache(tup);
}

/* The rows of core's column privileges on both columns, sorted. */
static RoleRef *
wanted_column_acls(const MachineColumns *cols, RoleRef *wanted, int *n, int *size)
{
	AcceptInvalidationMessages();
	want_column_acl(&wanted, n, size, cols->relid, cols->owner);
	want_column_acl(&wanted, n, size, cols->relid, cols->usage_roles);
	qsort(wanted, *n, sizeof(RoleRef), roleref_cmp);
	return wanted;
}

/* How many rows of (attnum, role) the machines want, and how many exist. */
typedef struct RoleCount
{
	int32		attnum;
	Oid			role;
	int			wanted;
	int			present;
} RoleCount;

/*
 * The rows the machines want (roles that exist, built-in machines left
 * out, core's rows of column privileges added) and the rows of the key
 * that exist, both read in snapshot: one snapshot for both tables, so
 * that another writer's statement is seen whole or not at all (each
 * writer changes both in one transaction).  Sorted by (attnum, role).
 */
static RoleCount *
count_role_rows(const MachineColumns *cols, Snapshot snapshot, int *ncounts)
{
	Relation	machines;
	Relation	sdep;
	TableScanDesc scan;
	TupleTableSlot *slot;
	SysScanDesc sscan;
	HeapTuple	tup;
	int			size = 16;
	int			n = 0;
	RoleRef    *wanted = palloc(sizeof(RoleRef) * size);
	int			psize = 16;
	int			np = 0;
	RoleRef    *present = palloc(sizeof(RoleRef) * psize);
	RoleCount  *counts;
	int			nc = 0;
	int			i = 0;
	int			j = 0;

	machines = table_open(cols->relid, AccessShareLock);
	slot = table_slot_create(machines, NULL);
	scan = table_beginscan(machines, snapshot, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d;

		d = slot_getattr(slot, cols->builtin, &isnull);
		if (!isnull && DatumGetBool(d))
			continue;
		d = slot_getattr(slot, cols->owner, &isnull);
		if (!isnull)
			want(&wanted, &n, &size, cols->owner, DatumGetObjectId(d));
		d = slot_getattr(slot, cols->usage_roles, &isnull);
		if (!isnull)
		{
			Datum	   *roles;
			bool	   *rnulls;
			int			nroles;

			deconstruct_array(DatumGetArrayTypeP(d), REGROLEOID, sizeof(Oid), true,
							  TYPALIGN_INT, &roles, &rnulls, &nroles);
			for (int k = 0; k < nroles; k++)
				if (!rnulls[k])
					want(&wanted, &n, &size, cols->usage_roles, DatumGetObjectId(roles[k]));
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(machines, AccessShareLock);
	wanted = wanted_column_acls(cols, wanted, &n, &size);

	sdep = table_open(SharedDependRelationId, AccessShareLock);
	sscan = begin_key_scan(sdep, cols, snapshot);
	while (HeapTupleIsValid(tup = systable_getnext(sscan)))
	{
		Form_pg_shdepend row = (Form_pg_shdepend) GETSTRUCT(tup);

		if (!key_row(row, cols))
			continue;
		if (np == psize)
		{
			psize *= 2;
			present = repalloc(present, sizeof(RoleRef) * psize);
		}
		present[np].attnum = row->objsubid;
		present[np].role = row->refobjid;
		present[np].present = true;
		np++;
	}
	systable_endscan(sscan);
	table_close(sdep, AccessShareLock);
	qsort(present, np, sizeof(RoleRef), roleref_cmp);

	/* Merge the two sorted lists into counts. */
	counts = palloc(sizeof(RoleCount) * Max(n + np, 1));
	while (i < n || j < np)
	{
		const RoleRef *next;
		int			cmp;

		if (i == n)
			cmp = 1;
		else if (j == np)
			cmp = -1;
		else
			cmp = roleref_cmp(&wanted[i], &present[j]);
		next = cmp <= 0 ? &wanted[i] : &present[j];
		if (nc == 0 || counts[nc - 1].attnum != next->attnum || counts[nc - 1].role != next->role)
		{
			counts[nc].attnum = next->attnum;
			counts[nc].role = next->role;
			counts[nc].wanted = 0;
			counts[nc].present = 0;
			nc++;
		}
		if (cmp <= 0)
		{
			counts[nc - 1].wanted++;
			i++;
		}
		else
		{
			counts[nc - 1].present++;
			j++;
		}
	}
	pfree(wanted);
	pfree(present);
	*ncounts = nc;
	return counts;
}

/*
 * Make the rows of each (attnum, role) whose count differs in counts (read
 * in snapshot, every such lock held) match: surplus rows are deleted, the
 * missing ones added.
 */
static void
apply_role_counts(const MachineColumns *cols, Snapshot snapshot, RoleCount *counts, int n)
{
	Relation	sdep = table_open(SharedDependRelationId, RowExclusiveLock);
	SysScanDesc scan;
	HeapTuple	tup;

	scan = begin_key_scan(sdep, cols, snapshot);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_shdepend row = (Form_pg_shdepend) GETSTRUCT(tup);
		RoleCount  *c = NULL;

		if (!key_row(row, cols))
			continue;
		for (int i = 0; i < n && c == NULL; i++)
			if (counts[i].attnum == row->objsubid && counts[i].role == row->refobjid)
				c = &counts[i];
		if (c == NULL || c->present <= c->wanted)
			continue;
		CatalogTupleDelete(sdep, &tup->t_self);
		c->present--;
	}
	systable_endscan(scan);
	for (int i = 0; i < n; i++)
		for (; counts[i].present < counts[i].wanted; counts[i].present++)
			insert_row(sdep, cols, counts[i].attnum, counts[i].role);
	table_close(sdep, RowExclusiveLock);
}

/*
 * Make this database's rows match machine_definitions, for the roles
 * whose rows differ from what the machines want: the statement's own
 * changes, or another writer's that committed meanwhile.  Each such
 * (role, column) is locked (lock_role_rows) and everything read again in
 * a new snapshot, until a read needs no lock not yet held; then every
 * other writer changing those roles' rows has committed and is seen, and
 * any that starts waits for this transaction: two transactions never
 * delete the same row, and the last one writes what both committed.
 * Rows of roles the statement did not change are neither read under a
 * lock nor written, so writers of other roles' machines go on at once.
 */
static void
record_machine_roles(const MachineColumns *cols)
{
	/* Our own writes, those of the statement too. */
	CommandCounterIncrement();
	AcceptInvalidationMessages();
	for (;;)
	{
		Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
		int			n;
		RoleCount  *counts = count_role_rows(cols, snapshot, &n);
		bool		taken = false;
		int			ndiff = 0;

		for (int i = 0; i < n; i++)
			if (counts[i].wanted != counts[i].present)
			{
				counts[ndiff++] = counts[i];
				if (lock_role_rows(counts[ndiff - 1].role, counts[ndiff - 1].attnum))
					taken = true;
			}
		if (!taken)
			apply_role_counts(cols, snapshot, counts, ndiff);
		UnregisterSnapshot(snapshot);
		pfree(counts);
		if (!taken)
			break;
		CHECK_FOR_INTERRUPTS();
	}
	/* Visible to the rest of the statement (DROP ROLE later in it). */
	CommandCounterIncrement();
}

/*
 * Before a machine's row is written by the functions of machines_api.c:
 * ExclusiveLock on the rows of role in column "owner" (usage false) or
 * "usage_roles" (usage true), to the end of the transaction, which the
 * write's statement trigger takes anyway (record_machine_roles), but only
 * after the statement has locked the row: taken first, a writer never
 * waits for it while holding a machine's row that the holder goes on to
 * write (a DROP OWNED of a grantee, say), which deadlocked (40P01).
 * Waits for the transactions changing the rows of that role and column
 * (lock_timeout applies); does nothing with 0.1's catalog or an invalid
 * role.
 */
void
steward_machine_roles_lock(Oid role, bool usage)
{
	MachineColumns cols;

	if (!OidIsValid(role) || !machine_columns(&cols))
		return;
	(void) lock_role_rows(role, usage ? cols.usage_roles : cols.owner);
}

/*
 * steward._machine_definitions_roles(): the BEFORE and AFTER ... FOR EACH
 * STATEMENT triggers of steward.machine_definitions (INSERT, UPDATE,
 * DELETE, TRUNCATE; enabled ALWAYS, so restores in replica mode record
 * too), and its AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW trigger
 * (enabled ALWAYS), which acts only in a logical replication worker: the
 * apply worker fires row triggers and no statement trigger but
 * TRUNCATE's, so a machine it stored had no pg_shdepend row on the
 * subscriber and DROP ROLE of its owner or grantee from another database
 * there succeeded, leaving the OID dangling (rules20 item 3).  A BEFORE
 * trigger (0.2 before drop2's change) does nothing.  After: makes this
 * database's pg_shdepend rows of the machines' roles match the table,
 * taking AccessShareLock on each role it adds a row for and ExclusiveLock
 * on the (role, column) tags whose count of rows changes (see the file
 * header); the cached rules are steward._machine_definitions_rules()'s.
 * Refused (39P01) when called otherwise or on another table.
 */
Datum
steward_machine_definitions_roles(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	MachineColumns cols;

	/* A BEFORE ... FOR EACH ROW trigger returning NULL would skip the row. */
	if (!CALLED_AS_TRIGGER(fcinfo) ||
		(TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) &&
		 !TRIGGER_FIRED_AFTER(trigdata->tg_event)) ||
		!machine_columns(&cols) ||
		RelationGetRelid(trigdata->tg_relation) != cols.relid)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._machine_definitions_roles() must be a statement trigger or an AFTER row trigger of steward.machine_definitions")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		return PointerGetDatum(NULL);
	/* Elsewhere the statement trigger records, once per statement. */
	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) && !IsLogicalWorker())
		return PointerGetDatum(NULL);
	record_machine_roles(&cols);
	return PointerGetDatum(NULL);
}

/*
 * After ALTER TABLE ... ENABLE TRIGGER of relation relid of the extension
 * (storage_guard.c, keep_trigger_states, through the rule kinds' table,
 * rulekinds.h): when relid is steward.machine_definitions, record the
 * machines' roles in pg_shdepend again, as the catalog's triggers do
 * (record_machine_roles), for rows written while they were disabled: the
 * end of each table's data in pg_restore --data-only --disable-triggers
 * (codereview16 C4).  Does nothing for other relations or with 0.1's
 * catalog (no owners).  Locks and errors: record_machine_roles'.
 */
void
steward_machine_triggers_enabled(Oid relid)
{
	MachineColumns cols;

	if (relid == steward_relid(STEWARD_MACHINES_TABLE, true) &&
		machine_columns(&cols))
		record_machine_roles(&cols);
}

/* A row of a transition table: the machine's name and definition. */
typedef struct MachineRow
{
	char	   *name;
	Datum		def[3];			/* states, initial, transitions, detoasted */
	bool		isnull[3];
} MachineRow;

/*
 * The name and definition of the row in slot (NULL: a row without a name,
 * which names no machine); atts are the attnums of name, states, initial
 * and transitions.  The definition is copied detoasted.
 */
static MachineRow *
machine_row(TupleTableSlot *slot, const AttrNumber *atts)
{
	MachineRow *row;
	bool		isnull;
	Datum		name = slot_getattr(slot, atts[0], &isnull);

	if (isnull)
		return NULL;
	row = palloc(sizeof(MachineRow));
	row->name = TextDatumGetCString(name);
	for (int i = 0; i < 3; i++)
	{
		Datum		d = slot_getattr(slot, atts[i + 1], &row->isnull[i]);

		row->def[i] = row->isnull[i] ? (Datum) 0 :
			PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
	}
	return row;
}

/* The attnums of name, states, initial and transitions of rel, into atts. */
static void
machine_row_atts(Relation rel, AttrNumber *atts)
{
	static const char *const columns[4] = {"name", "states", "initial", "transitions"};

	for (int i = 0; i < 4; i++)
		atts[i] = steward_catalog_attnum(rel, columns[i]);
}

/* The rows of a transition table of steward.machine_definitions (NULL: none). */
static List *
machine_rows(Tuplestorestate *store, Relation rel)
{
	AttrNumber	atts[4];
	TupleTableSlot *slot;
	List	   *rows = NIL;
	int			ptr;

	if (store == NULL)
		return NIL;
	machine_row_atts(rel, atts);
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	/* A read pointer of our own: other triggers read the same store. */
	ptr = tuplestore_alloc_read_pointer(store, EXEC_FLAG_REWIND);
	tuplestore_select_read_pointer(store, ptr);
	tuplestore_rescan(store);
	while (tuplestore_gettupleslot(store, true, false, slot))
	{
		MachineRow *row = machine_row(slot, atts);

		if (row != NULL)
			rows = lappend(rows, row);
	}
	tuplestore_select_read_pointer(store, 0);
	ExecDropSingleTupleTableSlot(slot);
	return rows;
}

/*
 * The row a row-level trigger event wrote (new) or replaced (!new), as a
 * list of at most one machine row: an INSERT has no old row, a DELETE no
 * new one.
 */
static List *
machine_row_of_event(TriggerData *trigdata, bool new)
{
	AttrNumber	atts[4];
	TupleTableSlot *slot = NULL;
	MachineRow *row;

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		slot = new ? trigdata->tg_trigslot : NULL;
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
		slot = new ? trigdata->tg_newslot : trigdata->tg_trigslot;
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
		slot = new ? NULL : trigdata->tg_trigslot;
	if (slot == NULL)
		return NIL;
	machine_row_atts(trigdata->tg_relation, atts);
	row = machine_row(slot, atts);
	return row == NULL ? NIL : list_make1(row);
}

/* Has row the same definition as the row of the same name in others? */
static bool
same_machine_in(const MachineRow *row, List *others)
{
	ListCell   *lc;

	foreach(lc, others)
	{
		const MachineRow *other = lfirst(lc);
		bool		same = strcmp(row->name, other->name) == 0;

		for (int i = 0; same && i < 3; i++)
		{
			struct varlena *a = (struct varlena *) DatumGetPointer(row->def[i]);
			struct varlena *b = (struct varlena *) DatumGetPointer(other->def[i]);

			if (row->isnull[i] || other->isnull[i])
				same = row->isnull[i] == other->isnull[i];
			else
				same = VARSIZE_ANY_EXHDR(a) == VARSIZE_ANY_EXHDR(b) &&
					memcmp(VARDATA_ANY(a), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(a)) == 0;
		}
		if (same)
			return true;
	}
	return false;
}

/*
 * steward._machine_definitions_rules(): the AFTER ... FOR EACH STATEMENT
 * triggers of steward.machine_definitions, one per event (INSERT,
 * UPDATE, DELETE with their transition tables; TRUNCATE; enabled
 * ALWAYS), and its AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW
 * trigger (enabled ALWAYS), which acts only in a logical replication
 * worker: the apply worker fires row triggers and no statement trigger
 * but TRUNCATE's, so without it a replicated change of a machine reached
 * no session of the subscriber until it reconnected (rules19 item 1);
 * elsewhere the statement triggers see the same rows (a tablesync
 * worker's COPY fires both: one more invalidation).  It invalidates the cached rules of the tables whose state rules
 * name a machine the statement created, removed, renamed or whose states,
 * initial states or transitions it changed (a TRUNCATE: every state
 * rule's), so that a machine created again reaches the sessions that
 * cached its rule as missing and a changed definition those that cached
 * the old one.  An UPDATE of owners or grants only, or a machine no rule
 * names, invalidates nothing: every table with a state rule was rebuilt
 * in every backend after any statement on the catalog (codereview6 F7).
 * Locks: AccessShareLock on steward.column_rules, released
 * (steward_invalidate_state_rules).  Refused (39P01) when called
 * otherwise or on another table.
 */
Datum
steward_machine_definitions_rules(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	List	   *old_rows;
	List	   *new_rows;
	List	   *changed = NIL;
	List	   *stored = NIL;
	ListCell   *lc;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		RelationGetRelid(trigdata->tg_relation) != steward_relid(STEWARD_MACHINES_TABLE, true))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._machine_definitions_rules() must be an AFTER trigger of steward.machine_definitions")));
	rel = trigdata->tg_relation;
	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
	{
		/* Elsewhere the statement triggers name the rows. */
		if (!IsLogicalWorker())
			return PointerGetDatum(NULL);
		old_rows = machine_row_of_event(trigdata, false);
		new_rows = machine_row_of_event(trigdata, true);
	}
	else if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event) ||
			 (trigdata->tg_oldtable == NULL && trigdata->tg_newtable == NULL))
	{
		/* No rows to name (a trigger made without transition tables): all. */
		steward_invalidate_state_rules(NIL, true);
		return PointerGetDatum(NULL);
	}
	else
	{
		old_rows = machine_rows(trigdata->tg_oldtable, rel);
		new_rows = machine_rows(trigdata->tg_newtable, rel);
	}
	foreach(lc, old_rows)
		if (!same_machine_in(lfirst(lc), new_rows))
			changed = lappend(changed, ((MachineRow *) lfirst(lc))->name);
	foreach(lc, new_rows)
		if (!same_machine_in(lfirst(lc), old_rows))
		{
			changed = lappend(changed, ((MachineRow *) lfirst(lc))->name);
			stored = lappend(stored, ((MachineRow *) lfirst(lc))->name);
		}
	steward_invalidate_state_rules(changed, false);

	/*
	 * The labels that carry the machines in dumps: add/drop_transition
	 * writes them on the publisher, not here (codereview16 C3).  Elsewhere
	 * a hand write of the catalog leaves them, as docs/state-machines.md says.
	 */
	if (TRIGGER_FIRED_FOR_ROW(trigdata->tg_event))
		steward_sync_machine_labels(stored);
	return PointerGetDatum(NULL);
}

/*
 * DROP OWNED BY roles (src/ops/roles.c), before core's part: forget the
 * roles' rows in this database, which core would otherwise treat as
 * privileges on machine_definitions and try to revoke (a WARNING for a
 * caller who cannot).  Core's own rows of a column privilege the roles
 * hold there stay (see the file header): its part revokes them, or, for a
 * caller who cannot, leaves them with the privilege.  The hook then drops
 * the roles' machines and grants after core's part, and the trigger
 * records what is left; an error on the way rolls the deletion back with
 * the rest.  Roles is an oid[]; takes the locks of the roles' rows
 * (ExclusiveLock on lock_role_rows' tags of both columns, in OID order,
 * to the end of the transaction: other roles' are not taken), then
 * RowExclusiveLock on pg_shdepend.  Does nothing with 0.1's catalog (no owners).
 * Errors: none of its own; the locks' (40P01 deadlock, 55P03
 * lock_timeout).
 */
void
steward_machine_roles_forget(Datum roles)
{
	MachineColumns cols;
	Relation	sdep;
	Datum	   *elems;
	int			n;
	List	   *list = NIL;
	RoleRef    *wanted;
	int			nwanted = 0;
	int			size;
	ListCell   *lc;

	if (!machine_columns(&cols))
		return;
	deconstruct_array(DatumGetArrayTypeP(roles), OIDOID, sizeof(Oid), true,
					  TYPALIGN_INT, &elems, NULL, &n);
	for (int i = 0; i < n; i++)
		list = lappend_oid(list, DatumGetObjectId(elems[i]));
	if (list == NIL)
		return;
	/* The roles' rows of both columns, in OID order (other roles' none). */
	list_sort(list, list_oid_cmp);
	foreach(lc, list)
	{
		(void) lock_role_rows(lfirst_oid(lc), cols.owner);
		(void) lock_role_rows(lfirst_oid(lc), cols.usage_roles);
	}
	sdep = table_open(SharedDependRelationId, RowExclusiveLock);
	/* Core's rows of column privileges stay: its part revokes them. */
	size = 4;
	wanted = wanted_column_acls(&cols, palloc(sizeof(RoleRef) * size), &nwanted, &size);
	delete_rows(sdep, &cols, list, wanted, nwanted);
	table_close(sdep, RowExclusiveLock);
	CommandCounterIncrement();
}

/* Does a GRANT / REVOKE's privilege list name column colname? */
static bool
privileges_name_column(List *privileges, const char *colname)
{
	ListCell   *lc;

	foreach(lc, privileges)
	{
		AccessPriv *priv = lfirst(lc);
		ListCell   *col;

		foreach(col, priv->cols)
			if (strcmp(strVal(lfirst(col)), colname) == 0)
				return true;
	}
	return false;
}

/* Does a GRANT / REVOKE ... ON TABLE reach steward.machine_definitions? */
static bool
grant_reaches_machines(GrantStmt *stmt, Oid relid)
{
	ListCell   *lc;

	foreach(lc, stmt->objects)
	{
		if (stmt->targtype == ACL_TARGET_OBJECT)
		{
			if (RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true) == relid)
				return true;
		}
		else if (stmt->targtype == ACL_TARGET_ALL_IN_SCHEMA)
		{
			if (get_namespace_oid(strVal(lfirst(lc)), true) == get_rel_namespace(relid))
				return true;
		}
	}
	return false;
}

/*
 * Event trigger steward_machine_definitions_grant_guard (ddl_command_start,
 * GRANT and REVOKE; ENABLE ALWAYS): refuses (0LP01) a column privilege on
 * "owner" or "usage_roles" of steward.machine_definitions, whose
 * pg_shdepend key the machines' roles use (see the file header).  Takes
 * no lock; other statements pass untouched.
 */
Datum
steward_machine_definitions_grant_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata = (EventTriggerData *) fcinfo->context;
	MachineColumns cols;
	GrantStmt  *stmt;
	const char *colname;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward._machine_definitions_grant_guard() must be called as an event trigger")));
	if (!IsA(trigdata->parsetree, GrantStmt))
		PG_RETURN_VOID();
	stmt = (GrantStmt *) trigdata->parsetree;
	if (stmt->objtype != OBJECT_TABLE || !machine_columns(&cols))
		PG_RETURN_VOID();
	if (privileges_name_column(stmt->privileges, "owner"))
		colname = "owner";
	else if (privileges_name_column(stmt->privileges, "usage_roles"))
		colname = "usage_roles";
	else
		PG_RETURN_VOID();
	if (!grant_reaches_machines(stmt, cols.relid))
		PG_RETURN_VOID();
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_GRANT_OPERATION),
			 errmsg("privileges on column \"%s\" of steward.machine_definitions cannot be granted or revoked", colname),
			 errdetail("pg_steward records the roles state machines name in pg_shdepend under the key of that column's privileges; a column privilege there would delete those records, or they it."),
			 errhint("Grant or revoke privileges on the whole table (SELECT is granted to PUBLIC), or on steward.state_machines.")));
	PG_RETURN_VOID();
}
