/*-------------------------------------------------------------------------
 *
 * as_owner.c
 *	  The trust boundary of pg_steward: which role runs what.
 *
 * Two kinds of work run under a role other than the caller's:
 *
 * 1. The extension's own tables.  API functions check privileges as the
 *    caller (ownership of the table to configure, EXECUTE on the function),
 *    then read and write steward.* tables as the owner of those tables, the
 *    way referential-integrity triggers switch user.  Callers therefore need
 *    no privileges on the extension's tables.
 *
 * 2. User relations.  Every statement of the extension that reads or
 *    writes a user table, or evaluates anything its owner defined (casts,
 *    operators, functions, index expressions, rules, triggers, defaults,
 *    policies), runs as that table's owner, as amcheck, VACUUM and REFRESH
 *    MATERIALIZED VIEW do: a superuser who calls a maintenance function
 *    never lends its rights to code a table owner wrote.
 *
 * In both cases the switch is SetUserIdAndSecContext with
 * SECURITY_RESTRICTED_OPERATION (no SET ROLE, no temporary objects, no
 * cursors left behind), the search_path is pinned so no object of anyone
 * else's schema is found by an unqualified name, and a GUC nest level is
 * opened and rolled back on the way out, so a setting changed by the code
 * that ran (set_config(..., false) included) never survives it.  Errors
 * need no cleanup here: transaction and subtransaction abort restore the
 * user, the security context and the GUC nest level.
 *
 * A switch to a user relation's owner (2., and any role other than the
 * extension's: steward_as_role_begin, steward_as_role_switch) also raises
 * the owner-code barrier (steward_owner_code_enter): whatever runs until
 * the switch ends is the owner's code, and none of pg_steward's internal
 * functions it calls passes for pg_steward's own (the fmgr hook's
 * own_context in src/migrate/exec.c), even when pg_steward's own code
 * (run_transition, a migration step) made the switch (review32 S2: a
 * partial index's predicate, folded while a count was planned, opened
 * runs with steward._transition_prepare).  Every such switch raises it,
 * so no call site can forget it; the end of the switch lowers it, and a
 * (sub)transaction's abort puts it back where the (sub)transaction found
 * it (owner_code_subxact_callback), as core does for the user.  Code of
 * pg_steward's that must run trusted inside a switch counts itself again
 * (steward_own_code_enter(true): a trigger core fires).  The switch to
 * the extension's own tables' owner (1.) raises nothing: only pg_steward's
 * statements on its own catalog run there.
 *
 * Relations are opened through steward_open_user_relation(), which turns
 * an OID that names nothing into 42P01 and a relation of the wrong kind (a
 * view where a table is expected: a table can become a view through a
 * "_RETURN" rule and keep its OID) into 42809, never an internal error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/objectaddress.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "common/hashfn.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "plumbing/own_context.h"

PG_FUNCTION_INFO_V1(steward_sql_require_writable);

/*
 * Resolved steward.* relations of this backend.  Resolving one reads
 * pg_extension and pg_depend without a catalog cache (a third of the CPU
 * of an idempotency_complete); the API functions resolve their tables on
 * every call.  An entry is dropped when its relation's relcache entry is
 * invalidated (DROP, ALTER, DROP EXTENSION: the relation goes away and
 * takes the entry with it), and all of them on a full invalidation.
 */
#define RELID_CACHE_SIZE 16

typedef struct RelidCacheEntry
{
	NameData	relname;
	Oid			relid;
} RelidCacheEntry;

static RelidCacheEntry relid_cache[RELID_CACHE_SIZE];
static int	relid_cache_used = 0;
static bool relid_cache_callback_registered = false;

static void
relid_cache_invalidate(Datum arg, Oid relid)
{
	int			kept = 0;

	for (int i = 0; i < relid_cache_used; i++)
		if (OidIsValid(relid) && relid_cache[i].relid != relid)
			relid_cache[kept++] = relid_cache[i];
	relid_cache_used = kept;
}

static Oid
relid_cache_lookup(const char *relname)
{
	for (int i = 0; i < relid_cache_used; i++)
		if (strcmp(NameStr(relid_cache[i].relname), relname) == 0)
			return relid_cache[i].relid;
	return InvalidOid;
}

static void
relid_cache_remember(const char *relname, Oid relid)
{
	if (!relid_cache_callback_registered)
	{
		CacheRegisterRelcacheCallback(relid_cache_invalidate, (Datum) 0);
		relid_cache_callback_registered = true;
	}
	if (relid_cache_used == RELID_CACHE_SIZE)
		relid_cache_used = 0;	/* start over: there are fewer tables than slots */
	strlcpy(NameStr(relid_cache[relid_cache_used].relname), relname, NAMEDATALEN);
	relid_cache[relid_cache_used].relid = relid;
	relid_cache_used++;
}

/*
 * Is this pg_steward's own install or upgrade script running (CREATE or
 * ALTER EXTENSION pg_steward)?  creating_extension alone is true in the
 * script of any extension, and so in the event and ordinary triggers its
 * commands fire: the guards that let our scripts past (the TRUNCATE of
 * steward.column_rules, the rule of steward.migration_runs) would let
 * another extension's script, or user code it fires, past too
 * (codereview41 K6).  Reads pg_extension (AccessShareLock, released).
 * Raises nothing of its own.
 */
bool
steward_running_own_script(void)
{
	return creating_extension &&
		CurrentExtensionObject == get_extension_oid(STEWARD_EXTENSION, true);
}

/*
 * OID of the extension's own relation steward.<relname>: a relation of that
 * name in schema steward that is a member of extension pg_steward
 * (pg_depend), so that a schema "steward" someone made in a database
 * without the extension, or a relation someone added to the schema, is
 * never taken for ours.  Returns InvalidOid if there is none and
 * missing_ok; otherwise raises 42P01.  Takes no lock.  Found relations are
 * remembered for the backend's life until an invalidation of their
 * relcache entry (see relid_cache); absent ones are looked up every time.
 */
Oid
steward_relid(const char *relname, bool missing_ok)
{
	Oid			relid = relid_cache_lookup(relname);
	Oid			extoid;
	Oid			nspid;

	if (OidIsValid(relid))
		return relid;
	extoid = get_extension_oid(STEWARD_EXTENSION, true);
	nspid = OidIsValid(extoid) ? get_namespace_oid(STEWARD_SCHEMA, true) : InvalidOid;
	relid = OidIsValid(nspid) ? get_relname_relid(relname, nspid) : InvalidOid;

	if (OidIsValid(relid) && getExtensionOfObject(RelationRelationId, relid) != extoid)
		relid = InvalidOid;
	if (OidIsValid(relid))
		relid_cache_remember(relname, relid);
	else if (!missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" of extension %s does not exist",
						STEWARD_SCHEMA, relname, STEWARD_EXTENSION),
				 errhint("Is the pg_steward extension installed in this database?")));
	return relid;
}

/*
 * OID of index <indexname> of the extension's relation heaprelid (indexes
 * are not extension members themselves; they belong to their table).
 * Raises 42P01 if the table has no such index.  Reads the catalog cache;
 * takes no lock.
 */
Oid
steward_index_relid(Oid heaprelid, const char *indexname)
{
	Oid			indexoid = get_relname_relid(indexname, get_rel_namespace(heaprelid));

	if (!OidIsValid(indexoid) || get_rel_relkind(indexoid) != RELKIND_INDEX ||
		IndexGetRelation(indexoid, false) != heaprelid)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("index \"%s.%s\" of extension %s does not exist",
						STEWARD_SCHEMA, indexname, STEWARD_EXTENSION),
				 errhint("Is the pg_steward extension installed in this database?")));
	return indexoid;
}

static void become_role(Oid roleid, bool owner_code, StewardAsOwner *ctx);
static void pin_settings(const char *search_path, bool spi, StewardAsOwner *ctx);

/*
 * "a view", "an index", ...: what a relation of this kind is, for
 * messages.  Takes no lock, raises nothing.
 */
const char *
steward_relkind_phrase(char relkind)
{
	switch (relkind)
	{
		case RELKIND_RELATION:
			return "a table";
		case RELKIND_PARTITIONED_TABLE:
			return "a partitioned table";
		case RELKIND_VIEW:
			return "a view";
		case RELKIND_MATVIEW:
			return "a materialized view";
		case RELKIND_FOREIGN_TABLE:
			return "a foreign table";
		case RELKIND_INDEX:
			return "an index";
		case RELKIND_PARTITIONED_INDEX:
			return "a partitioned index";
		case RELKIND_SEQUENCE:
			return "a sequence";
		case RELKIND_COMPOSITE_TYPE:
			return "a composite type";
		case RELKIND_TOASTVALUE:
			return "a TOAST table";
	}
	return "a relation of another kind";
}

static bool
kind_accepted(char relkind, int kinds)
{
	return ((kinds & STEWARD_KIND_TABLE) && relkind == RELKIND_RELATION) ||
		((kinds & STEWARD_KIND_PARTITIONED) && relkind == RELKIND_PARTITIONED_TABLE) ||
		((kinds & STEWARD_KIND_MATVIEW) && relkind == RELKIND_MATVIEW);
}

/*
 * Refuse a relation whose kind the entry point "what" (a function name, or
 * a noun such as "a column rule") does not handle, with 42809
 * wrong_object_type naming both kinds.  rel is open (the caller's lock);
 * takes none.
 */
void
steward_check_relation_kind(Relation rel, int kinds, const char *what)
{
	char		relkind = rel->rd_rel->relkind;
	const char *expected;

	if (kinds == STEWARD_KINDS_ANY || kind_accepted(relkind, kinds))
		return;
	if (kinds & STEWARD_KIND_MATVIEW)
		expected = "a table or materialized view";
	else if (kinds & STEWARD_KIND_PARTITIONED)
		expected = "a table";
	else
		expected = "an ordinary table";
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("\"%s\" is not %s", RelationGetRelationName(rel), expected),
			 errdetail("\"%s\" is %s; %s needs %s.", RelationGetRelationName(rel),
					   steward_relkind_phrase(relkind), what, expected)));
}

/*
 * Open relation relid with lockmode (held to transaction end unless the
 * caller closes it sooner), or raise 42P01 "relation with OID %u does not
 * exist" when the OID names none (0, a dropped table's), never core's
 * XX000 "could not open relation": for internal functions a superuser may
 * call with any OID (review18 F2).  No kind or privilege check (see
 * steward_open_user_relation for an entry point's).
 */
Relation
steward_open_relation_or_42P01(Oid relid, LOCKMODE lockmode)
{
	Relation	rel = try_relation_open(relid, lockmode);

	if (rel == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	return rel;
}

/*
 * Open a user relation for entry point "what" with "lockmode", or fail
 * cleanly: 42P01 when the OID names no relation, 42809 when its kind is
 * not in "kinds".  When the lock has to be waited for, the relation's
 * qualified name is read first, so that a relation dropped while we waited
 * (DROP TABLE, DROP OWNED) is named as the caller named it rather than by
 * its OID (codereview8); the name costs nothing when the lock is free.
 * Callers check privileges first where the lock itself could disturb
 * others (anything above AccessShareLock).
 */
Relation
steward_open_user_relation(Oid relid, LOCKMODE lockmode, int kinds, const char *what)
{
	char	   *relname = NULL;
	char	   *nspname = NULL;
	Relation	rel;

	if (!ConditionalLockRelationOid(relid, lockmode))
	{
		relname = get_rel_name(relid);
		if (relname != NULL)
			nspname = get_namespace_name(get_rel_namespace(relid));
		LockRelationOid(relid, lockmode);
	}
	/* Locked: a drop committed meanwhile is seen (invalidations read). */
	rel = try_relation_open(relid, NoLock);
	if (rel == NULL)
	{
		UnlockRelationOid(relid, lockmode);
		if (relname != NULL && nspname != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation \"%s.%s\" does not exist", nspname, relname),
					 errdetail("It was dropped while this call waited for its lock.")));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	}
	steward_check_relation_kind(rel, kinds, what);
	return rel;
}

/* Lock "relid" if nobody holds a conflicting lock; remember it in *locked. */
static bool
lock_one_if_free(Oid relid, List **locked)
{
	if (!ConditionalLockRelationOid(relid, AccessShareLock))
		return false;
	*locked = lappend_oid(*locked, relid);
	return true;
}

/* Lock the indexes of an open relation if free (see below). */
static bool
lock_indexes_if_free(Relation rel, List **locked)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;

	foreach(lc, indexes)
		if (!lock_one_if_free(lfirst_oid(lc), locked))
			return false;
	return true;
}

/*
 * AccessShareLock, without waiting, on relation "relid" and what reading
 * or sizing it opens: its TOAST table, their indexes and, for a
 * partitioned table, every partition below it and theirs.  For readers
 * that serve many tables at once (steward.state_counts, steward.capacity,
 * capacity samples): one session idling after LOCK TABLE, ALTER TABLE,
 * TRUNCATE or REINDEX on one table must not stall them for every table.
 * Returns STEWARD_TREE_LOCKED with the locks held and listed in *locked
 * (release them with steward_unlock_relations), or STEWARD_TREE_BUSY
 * (another session holds a conflicting lock) or STEWARD_TREE_GONE (the
 * relation was dropped meanwhile) with none held.  Raises nothing.
 */
int
steward_lock_relation_tree_if_free(Oid relid, List **locked)
{
	List	   *rels;
	ListCell   *lc;

	*locked = NIL;
	if (!lock_one_if_free(relid, locked))
		return STEWARD_TREE_BUSY;
	/* Locked: the catalogs are current (ConditionalLockRelationOid). */
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
	{
		steward_unlock_relations(locked);
		return STEWARD_TREE_GONE;
	}
	rels = list_make1_oid(relid);
	if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE)
		rels = find_all_inheritors(relid, NoLock, NULL);
	foreach(lc, rels)
	{
		Oid			part = lfirst_oid(lc);
		Relation	rel;
		bool		free;

		if (part != relid && !lock_one_if_free(part, locked))
		{
			steward_unlock_relations(locked);
			return STEWARD_TREE_BUSY;
		}
		/* A partition detached and dropped meanwhile: not ours to read. */
		rel = try_relation_open(part, NoLock);
		if (rel == NULL)
			continue;
		free = lock_indexes_if_free(rel, locked);
		if (free && OidIsValid(rel->rd_rel->reltoastrelid))
		{
			Relation	toast;

			free = lock_one_if_free(rel->rd_rel->reltoastrelid, locked);
			if (free && (toast = try_relation_open(rel->rd_rel->reltoastrelid, NoLock)) != NULL)
			{
				free = lock_indexes_if_free(toast, locked);
				relation_close(toast, NoLock);
			}
		}
		relation_close(rel, NoLock);
		if (!free)
		{
			steward_unlock_relations(locked);
			return STEWARD_TREE_BUSY;
		}
	}
	return STEWARD_TREE_LOCKED;
}

/*
 * Release the AccessShareLocks steward_lock_relation_tree_if_free() took
 * (the list is freed and set to NIL).  Raises nothing (a lock not held
 * gives a WARNING from the lock manager, never an error).
 */
void
steward_unlock_relations(List **locked)
{
	ListCell   *lc;

	foreach(lc, *locked)
		UnlockRelationOid(lfirst_oid(lc), AccessShareLock);
	list_free(*locked);
	*locked = NIL;
}

/*
 * Owner-defined code that pg_steward runs now in this backend, nested: the
 * table-owner switches (file header), run_transition's batches and
 * steward._commit.  A frame of pg_steward's own code counts as its own
 * only while the depth is what it was when the frame began (exec.c,
 * own_context): a barrier between pg_steward's functions below it and
 * whatever the owner's code calls (review13 R13-8).
 */
static int	owner_code_level = 0;

/*
 * The depth each open subtransaction began at (its ID with it), innermost
 * last, so that its abort puts the depth back: an error leaving a
 * table-owner switch is caught by a PL/pgSQL EXCEPTION block or an
 * internal subtransaction of pg_steward's, never by the switch's caller.
 * Grown in TopMemoryContext.
 */
typedef struct OwnerCodeSave
{
	SubTransactionId subid;
	int			depth;
} OwnerCodeSave;

static OwnerCodeSave *owner_code_saves = NULL;
static int	n_owner_code_saves = 0;
static int	owner_code_saves_size = 0;

/*
 * The owner's code is about to run (a table-owner switch, run_transition's
 * batch, the COMMIT of steward._commit): nothing it calls is pg_steward's
 * own code until one of pg_steward's entry points begins again.  Returns
 * the depth to give steward_owner_code_leave; an error that skips it is
 * undone by the abort of the (sub)transaction that catches it.
 * Backend-local counter, no lock; raises nothing.
 */
int
steward_owner_code_enter(void)
{
	return owner_code_level++;
}

/*
 * End what steward_owner_code_enter began (depth: what it returned): the
 * counter goes back to it, also past levels an error left.  Backend-local,
 * no lock; raises nothing, so it is safe in PG_FINALLY.
 */
void
steward_owner_code_leave(int depth)
{
	owner_code_level = depth;
}

/*
 * How deep the backend is in owner-defined code (see owner_code_level).
 * Backend-local, no lock; raises nothing.
 */
int
steward_owner_code_depth(void)
{
	return owner_code_level;
}

/* A subtransaction's start, commit or abort: the depth it began at. */
static void
owner_code_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
							SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_START_SUB)
	{
		if (n_owner_code_saves >= owner_code_saves_size)
		{
			int			size = Max(16, owner_code_saves_size * 2);

			owner_code_saves = owner_code_saves == NULL ?
				MemoryContextAlloc(TopMemoryContext, size * sizeof(OwnerCodeSave)) :
				repalloc(owner_code_saves, size * sizeof(OwnerCodeSave));
			owner_code_saves_size = size;
		}
		owner_code_saves[n_owner_code_saves].subid = mySubid;
		owner_code_saves[n_owner_code_saves].depth = owner_code_level;
		n_owner_code_saves++;
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB || event == SUBXACT_EVENT_ABORT_SUB)
	{
		/* Inner ones first; one begun before the library loaded has none. */
		while (n_owner_code_saves > 0 &&
			   owner_code_saves[n_owner_code_saves - 1].subid >= mySubid)
		{
			n_owner_code_saves--;
			if (event == SUBXACT_EVENT_ABORT_SUB &&
				owner_code_saves[n_owner_code_saves].subid == mySubid)
				owner_code_level = owner_code_saves[n_owner_code_saves].depth;
		}
	}
}

/*
 * A transaction's end.  Its abort leaves no owner's code running: every
 * switch, batch and commit that raised the depth either unwound through
 * its own PG_FINALLY (which sets it again) or was skipped by the error
 * (to the top level: nothing of it runs any more).  A procedure's
 * transaction ends without unwinding only by COMMIT or ROLLBACK, which no
 * owner's code can run (SECURITY_RESTRICTED_OPERATION, atomic SPI).
 */
static void
owner_code_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		owner_code_level = 0;
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT ||
		event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT ||
		event == XACT_EVENT_PREPARE)
		n_owner_code_saves = 0;
}

/*
 * From _PG_init: the callbacks that put the owner-code depth back when a
 * (sub)transaction aborts.  Takes no lock; raises nothing.
 */
void
steward_owner_code_install_callbacks(void)
{
	RegisterSubXactCallback(owner_code_subxact_callback, NULL);
	RegisterXactCallback(owner_code_xact_callback, NULL);
}

/*
 * Become "roleid" (a user relation's owner, or a role other than the
 * extension's owner) under SECURITY_RESTRICTED_OPERATION, raise the
 * owner-code barrier (file header), open a GUC nest level and pin
 * search_path to "search_path"; with "spi", also SPI_connect().
 * steward_as_owner_end() undoes all of it; on error the transaction's or
 * subtransaction's abort does (file header).  Takes no lock.  Errors:
 * elog ERROR when SPI_connect fails.
 */
void
steward_as_role_begin(Oid roleid, const char *search_path, bool spi,
					  StewardAsOwner *ctx)
{
	become_role(roleid, true, ctx);
	pin_settings(search_path, spi, ctx);
}

/* owner_code: a user's role, whose code may run (the barrier). */
static void
become_role(Oid roleid, bool owner_code, StewardAsOwner *ctx)
{
	GetUserIdAndSecContext(&ctx->save_userid, &ctx->save_sec_context);
	SetUserIdAndSecContext(roleid, ctx->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ctx->save_nestlevel = 0;
	ctx->spi = false;
	ctx->owner_code = owner_code ? steward_owner_code_enter() : -1;
}

/* The GUC nest level, the pinned search_path and (with spi) SPI. */
static void
pin_settings(const char *search_path, bool spi, StewardAsOwner *ctx)
{
	ctx->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", search_path,
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	ctx->spi = spi;
	if (spi && SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

/*
 * Become roleid under SECURITY_RESTRICTED_OPERATION behind the owner-code
 * barrier, and nothing else: no GUC nest level, no search_path pin, no
 * SPI.  Only for evaluating code that runs nothing found by name, reads
 * no table and no setting but those the caller checked (the dual-write
 * trigger's pure expressions: steward_migrate_expr_is_pure,
 * steward_output_settings_pinned).  steward_as_owner_end() undoes it; on
 * error the (sub)transaction's abort does.  Takes no lock; raises nothing.
 */
void
steward_as_role_switch(Oid roleid, StewardAsOwner *ctx)
{
	become_role(roleid, true, ctx);
}

/*
 * Become the owner of the extension's relation relid as
 * steward_as_owner_begin() does, for callers that often run no statement
 * at all: they read and write the owner's tables through the table and
 * index access methods by OID, which resolve no name and run no SQL.  The
 * GUC nest level, the pinned search_path and SPI -- what statements need
 * -- are opened by steward_as_owner_spi(), to be called before the first
 * statement and before anything that may run code others defined (an
 * index expression, a trigger).  steward_as_owner_end() undoes whatever
 * was done.  Errors need no cleanup, as for steward_as_owner_begin().
 * Takes no lock; 42P01 when relid names nothing.
 */
void
steward_as_owner_begin_lazy(Oid relid, StewardAsOwner *ctx)
{
	become_role(steward_relation_owner(relid), false, ctx);
}

/*
 * Inside steward_as_owner_begin_lazy() (or any steward_as_*_begin): make
 * sure the GUC nest level is open, search_path pinned and SPI connected;
 * a no-op when they are.  SPI_connect() switches to SPI's memory context
 * until steward_as_owner_end(), as after steward_as_owner_begin().  Takes
 * no lock.  Errors: elog ERROR when SPI_connect fails.
 */
void
steward_as_owner_spi(StewardAsOwner *ctx)
{
	if (ctx->save_nestlevel == 0)
		pin_settings(STEWARD_PINNED_SEARCH_PATH, true, ctx);
	else if (!ctx->spi)
	{
		ctx->spi = true;
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
	}
}

/*
 * "schema"."table" of relid, each part quoted only where SQL needs it, for
 * SQL a HINT names; the OID as regclass prints it when relid names nothing
 * (dropped or detached meanwhile: a message about a relation read without
 * a lock must not fail on it).  Reads the catalog cache; takes no lock;
 * raises nothing.
 */
char *
steward_qualified_name(Oid relid)
{
	char	   *relname = get_rel_name(relid);
	char	   *nspname;

	if (relname == NULL)
		return psprintf("%u", relid);
	nspname = get_namespace_name(get_rel_namespace(relid));
	if (nspname == NULL)
		return psprintf("%u", relid);
	return quote_qualified_identifier(nspname, relname);
}

/*
 * The owner of relation relid; 42P01 when there is none.  Reads the
 * catalog cache; takes no lock (a caller that acts on the relation holds
 * its lock, or the owner may change under it).
 */
Oid
steward_relation_owner(Oid relid)
{
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Does this backend hold any lock on relation relid?  (Work that waits for
 * the lockers of a relation - a concurrent index drop, a relation another
 * backend must lock - would wait for us.)  Reads this backend's lock table
 * only; raises nothing.
 */
bool
steward_relation_locked_by_me(Oid relid)
{
	LOCKTAG		tag;

	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	for (LOCKMODE mode = AccessShareLock; mode <= MaxLockMode; mode++)
		if (LockHeldByMe(&tag, mode))
			return true;
	return false;
}

/*
 * Run SPI statements on an extension table as its owner (as
 * steward_as_role_begin with SPI, search_path pinned, but without the
 * owner-code barrier: pg_steward's own statements on its own catalog).
 * Takes no lock.  Errors: 42P01 when relid names nothing, elog ERROR when
 * SPI_connect fails.
 */
void
steward_as_owner_begin(Oid relid, StewardAsOwner *ctx)
{
	become_role(steward_relation_owner(relid), false, ctx);
	pin_settings(STEWARD_PINNED_SEARCH_PATH, true, ctx);
}

/*
 * Run code on a user relation (opened and locked by the caller) as its
 * owner, behind the owner-code barrier (steward_as_role_begin); every
 * name in statements run this way must be schema-qualified.  Takes no
 * lock of its own.  Errors: elog ERROR when SPI_connect fails.
 */
void
steward_as_table_owner_begin(Relation rel, bool spi, StewardAsOwner *ctx)
{
	steward_as_role_begin(rel->rd_rel->relowner, STEWARD_PINNED_SEARCH_PATH, spi, ctx);
}

/*
 * Back to the caller's user, security context, settings and owner-code
 * depth after steward_as_*_begin (ctx as it filled it); closes SPI if
 * begin opened it.  Not needed on error: the abort of the
 * (sub)transaction that catches it restores all of it.  No lock;
 * raises only what SPI_finish and the settings' rollback raise.
 */
void
steward_as_owner_end(StewardAsOwner *ctx)
{
	if (ctx->spi)
		SPI_finish();
	/* false: roll back every setting changed inside, not only ours. */
	if (ctx->save_nestlevel != 0)	/* 0: a lazy begin that ran no statement */
		AtEOXact_GUC(false, ctx->save_nestlevel);
	SetUserIdAndSecContext(ctx->save_userid, ctx->save_sec_context);
	if (ctx->owner_code >= 0)
		steward_owner_code_leave(ctx->owner_code);
}

/* A setting pins set: see pin_entry. */
typedef struct PinRecord
{
	const char *name;			/* the caller's constant */
	struct config_generic *rec; /* NULL: not a built-in setting */
	int			equiv;			/* pinned_equivalent_kind(name) */
	const char *value;			/* the constant number was read from; NULL: none */
	int			number;			/* value as the setting's bool (0, 1), int or enum */
} PinRecord;

static PinRecord *pin_entry(const char *name);
static bool pin_is(PinRecord *p, const char *value);
static void pin_one(PinRecord *p, const char *value);

/*
 * Whether value, the current value of setting, computes and prints every
 * value as steward_pin_output_settings' pinned one does, though spelled
 * otherwise: initdb's usual TimeZone 'Etc/UTC' is the zone 'UTC' (same
 * offset, same abbreviation), and the C.UTF-8 locale (glibc: also
 * C.utf8) formats numbers, money and dates as C (it differs in the
 * character set only, which lc_numeric / lc_monetary / lc_time do not
 * choose).  Leaving such a value alone saves setting it for every row the
 * dual-write trigger computes (setting a locale checks it with
 * setlocale(); a time zone is looked up).  kind: pinned_equivalent_kind
 * of the setting's name, found once per setting (pin_entry).
 */
#define PIN_EQUIV_NONE		0
#define PIN_EQUIV_TIMEZONE	1	/* TimeZone */
#define PIN_EQUIV_LOCALE	2	/* lc_* */

static int
pinned_equivalent_kind(const char *setting)
{
	if (strcmp(setting, "TimeZone") == 0)
		return PIN_EQUIV_TIMEZONE;
	if (strncmp(setting, "lc_", 3) == 0)
		return PIN_EQUIV_LOCALE;
	return PIN_EQUIV_NONE;
}

static bool
pinned_equivalent(int kind, const char *value)
{
	if (kind == PIN_EQUIV_TIMEZONE)
		return strcmp(value, "Etc/UTC") == 0;
	if (kind == PIN_EQUIV_LOCALE)
		return strcmp(value, "C.UTF-8") == 0 || strcmp(value, "C.utf8") == 0 ||
			strcmp(value, "POSIX") == 0;
	return false;
}

/* steward_pin_output_settings' settings and values (see there). */
static const char *const output_settings[][2] = {
	{"DateStyle", "ISO, MDY"},
	{"IntervalStyle", "postgres"},
	{"TimeZone", "UTC"},
	{"timezone_abbreviations", "Default"},
	{"extra_float_digits", "1"},
	{"bytea_output", "hex"},
	{"xmlbinary", "base64"},
	{"xmloption", "content"},
	{"lc_monetary", "C"},
	{"lc_numeric", "C"},
	{"lc_time", "C"},
	{"array_nulls", "on"},
	{"quote_all_identifiers", "off"},
};
static const char *const text_search_setting[][2] = {
	{"default_text_search_config", "pg_catalog.simple"},
};

/*
 * The pin entry of output_settings[i] (i = lengthof(output_settings):
 * text_search_setting's), found once: the dual-write trigger reads them
 * for every row it computes.  Raises nothing.
 */
static PinRecord *
output_pin(int i)
{
	static PinRecord *pins[lengthof(output_settings) + 1];
	const char *name = i < lengthof(output_settings) ? output_settings[i][0]
		: text_search_setting[0][0];

	/* Another name: the spare entry of a full table, since reused. */
	if (pins[i] == NULL || pins[i]->name != name)
		pins[i] = pin_entry(name);
	return pins[i];
}

/*
 * Pin the settings that change what a value computes to or how it prints
 * (inside a nest level opened by steward_as_role_begin), so that text
 * computed from rows - checksums - and a migration's up / down, check and
 * the backfill's, validation's and dual-write trigger's evaluations of
 * them give the same value in every session and on every copy, whoever
 * wrote the row (review17 R17-2).  Each is PostgreSQL's built-in default
 * (TimeZone: UTC): date/time input and output (DateStyle, IntervalStyle,
 * TimeZone, timezone_abbreviations), float output (extra_float_digits),
 * bytea and XML (bytea_output, xmlbinary, xmloption), to_char and money
 * (lc_monetary, lc_numeric, lc_time), text search functions without a
 * configuration (default_text_search_config), array input
 * (array_nulls) and identifier quoting in regclass / format('%I')
 * output (quote_all_identifiers).  docs/migrations.md ("Steps in detail") lists
 * them.  steward_pin_settings leaves a setting already at its pinned
 * value alone (the dual-write trigger pins them for each row it
 * computes).  No lock; raises nothing.
 */
void
steward_pin_output_settings(void)
{
	steward_pin_output_settings_but(false);
}

/*
 * steward_pin_output_settings(), leaving default_text_search_config as the
 * session has it when skip_text_search is set: for the dual-write
 * trigger's expressions that cannot read it
 * (steward_migrate_expr_reads_text_search), whose result is then the
 * pinned one anyway.  Setting it costs a catalog lookup in its check hook
 * for every row at initdb's english (about 0.5 us a row, closing37 item
 * 6).  No lock; raises nothing.
 */
void
steward_pin_output_settings_but(bool skip_text_search)
{
	for (int i = 0; i < lengthof(output_settings); i++)
		pin_one(output_pin(i), output_settings[i][1]);
	if (!skip_text_search)
		pin_one(output_pin(lengthof(output_settings)), text_search_setting[0][1]);
}

/*
 * Are the settings steward_pin_output_settings_but(skip_text_search) would
 * set all at their pinned values (or an equivalent spelling) now?  Code
 * that reads no other setting, looks no name up and reads no table then
 * computes what it computes under the pins without them (the dual-write
 * trigger's pure expressions, steward_as_role_switch).  No lock; raises
 * nothing.
 */
bool
steward_output_settings_pinned(bool skip_text_search)
{
	for (int i = 0; i < lengthof(output_settings); i++)
		if (!pin_is(output_pin(i), output_settings[i][1]))
			return false;
	return skip_text_search ||
		pin_is(output_pin(lengthof(output_settings)), text_search_setting[0][1]);
}

/*
 * Is "name" (any case, as GUC names) one of the settings
 * steward_pin_output_settings pins?  Then current_setting(name) reads the
 * same value wherever pg_steward evaluates a migration's expression (the
 * dual-write trigger, the backfill, validation: steward._migration_expr_varies
 * accepts it).  No lock; raises nothing.
 */
bool
steward_setting_is_pinned(const char *name)
{
	for (int i = 0; i < lengthof(output_settings); i++)
		if (pg_strcasecmp(name, output_settings[i][0]) == 0)
			return true;
	return pg_strcasecmp(name, text_search_setting[0][0]) == 0;
}

/*
 * Force the plan that reads a batch in key order through the primary key,
 * for the batches of run_transition and of backfills (as the table's
 * owner, inside the GUC nest level of steward_as_role_begin(), which
 * steward_as_owner_end() rolls back).  No lock; raises nothing.  With
 * statistics
 * from before the last run (every row still in the old state), the
 * planner estimates that "state = from" matches one row and picks a
 * sequential scan and a sort for every batch: a million-row run took
 * 175 s instead of 14 s until ANALYZE.  The key-order index scan is linear
 * whatever the statistics: with keyset batches each batch starts where the
 * last one stopped.  Sort is disabled too (an index on the state column
 * would otherwise be scanned in full and sorted each batch), and JIT is
 * off because the disabled paths' costs would trigger it on every batch.
 */
void
steward_pin_key_order_plan(void)
{
	static const char *const settings[][2] = {
		{"enable_seqscan", "off"},
		{"enable_bitmapscan", "off"},
		{"enable_sort", "off"},
		{"jit", "off"},
	};

	steward_pin_settings(settings, lengthof(settings));
}

/*
 * Inside a steward_as_*_begin context whose statements must read or write
 * every row of the tables they name (scans that check a rule on stored
 * rows, counts, backfills, migration statements): row_security = off in
 * the context's GUC nest level, as pg_dump sets it.  A statement that row
 * security would filter for the role then fails with PostgreSQL's 42501
 * ("query would be affected by row-level security policy") instead of
 * seeing the subset of rows the policies show: a table whose policies
 * apply to its owner (FORCE ROW LEVEL SECURITY), or another role's table
 * with policies that the owner's code reads.  Nothing is bypassed: the
 * role keeps its rights and no more.  Never used where the statements read
 * the extension's tables as a table owner (their policies show each owner
 * its own rows).  steward_as_owner_end() rolls it back.  Entry points
 * check the table itself first with steward_require_owner_sees_all_rows(),
 * whose error says what to do; this is the net for everything else.  No
 * lock; raises nothing.
 */
void
steward_pin_all_rows(void)
{
	static const char *const settings[][2] = {
		{"row_security", "off"},
	};

	steward_pin_settings(settings, lengthof(settings));
}

/*
 * Pin, in the GUC nest level the caller opened, the settings under which
 * pg_steward reads SQL text it stored or wrote itself, wherever it parses
 * it: standard_conforming_strings = on, backslash_quote = on.  Under off,
 * '\'' ends no string, so a text could hide an expression in a literal in
 * one reading and expose it in another (codereview4 #1), and a canonical
 * expression's constant holding a backslash would read as an escape.
 * Used for a create_index step's statement (the check at migration_start,
 * the worker's build, the DDL guard), migration expressions' canonical
 * text, state checks and run_transition's set expressions.  No lock;
 * raises nothing.
 */
void
steward_pin_sql_strings(void)
{
	static const char *const settings[][2] = {
		{"standard_conforming_strings", "on"},
		{"backslash_quote", "on"},
	};

	steward_pin_settings(settings, lengthof(settings));
}

/*
 * Does row-level security leave every row of relation relid visible to its
 * owner?  false when the relation has row security, its policies apply to
 * its owner (FORCE ROW LEVEL SECURITY) and the owner has no BYPASSRLS (nor
 * superuser).  A statement naming a table checks that table's policies
 * only, not those of its partitions or inheritance children.  Reads the
 * catalog cache; takes no lock (callers that run statements next must not
 * take a weaker lock before the statement's own); 42P01 if relid names
 * nothing.
 */
bool
steward_owner_sees_all_rows(Oid relid)
{
	return check_enable_rls(relid, steward_relation_owner(relid), true) != RLS_ENABLED;
}

/*
 * Refuse (55000) work "what" (a function name, or a noun such as "the
 * check of its stored versions") that must read every row of relation
 * relid as its owner when its row security hides rows from its owner
 * (steward_owner_sees_all_rows): pg_steward never acts on the subset of
 * rows a policy shows, and never reads them with anyone else's rights.
 * 55000, not 42501: no privilege of the caller is missing (a superuser
 * gets the same refusal, since the work runs as the owner); the table's
 * FORCE ROW LEVEL SECURITY is the state to change.  Takes no lock.
 */
void
steward_require_owner_sees_all_rows(Oid relid, const char *what)
{
	Oid			owner;
	char	   *name;
	char	   *nsp;

	if (steward_owner_sees_all_rows(relid))
		return;
	owner = steward_relation_owner(relid);
	name = get_rel_name(relid);
	nsp = get_namespace_name(get_rel_namespace(relid));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("row-level security hides rows of table \"%s\" from its owner", name),
			 errdetail("The table's policies apply to its owner, role \"%s\" (FORCE ROW LEVEL SECURITY), as whom %s reads every row of the table; pg_steward does not act on the rows a policy shows only.",
					   GetUserNameFromId(owner, false), what),
			 errhint("Run ALTER TABLE %s NO FORCE ROW LEVEL SECURITY for the duration and FORCE it again afterwards, or give role \"%s\" the BYPASSRLS attribute.",
					 quote_qualified_identifier(nsp, name), GetUserNameFromId(owner, false))));
}

/*
 * Set n (name, value) settings inside the GUC nest level opened by
 * steward_as_role_begin() (or NewGUCNestLevel()); steward_as_owner_end()
 * rolls them back.  A setting already at its value, or at a spelling of
 * it (pinned_equivalent), is left alone (pin_is): setting one costs
 * (a locale check, a time zone or text search lookup, a file read for
 * timezone_abbreviations).  Leaving it alone is the same as pinning it
 * only because every caller closes the level with AtEOXact_GUC(false,
 * nest), which undoes whatever the code run inside changed, a SET LOCAL
 * included; closed with isCommit = true, a SET LOCAL made inside the
 * level of a skipped setting would outlive it (codereview6 F4).  The
 * names are the caller's constants (string literals or static arrays):
 * pin_entry finds a setting's record by the address of its name first.
 * No lock.  Errors: set_config_option's for a name or value it rejects
 * (the callers pass constants it accepts).
 */
void
steward_pin_settings(const char *const settings[][2], int n)
{
	for (int i = 0; i < n; i++)
		pin_one(pin_entry(settings[i][0]), settings[i][1]);
}

/*
 * The settings a pin sets and their built-in records, found once per
 * backend (by the address of the caller's constant name, then by name):
 * the records of built-in settings are static in guc.c and never move.
 * Reading the value through the record instead of GetConfigOption saves a
 * binary search of every setting's name for each setting of each pin, 14
 * of them for each row the dual-write trigger computes (closing36 item
 * 1).  A boolean's, an integer's or an enum's pinned value is read once
 * into the number the record holds (number, for the constant value), so
 * that checking it is one comparison, not printing the setting and
 * comparing text (closing38 item 6).
 */
static PinRecord pin_records[64];
static int	n_pin_records = 0;
static PinRecord pin_spare;		/* when pin_records is full: filled at each lookup */

/*
 * The entry of setting name (a caller's constant), found by the address
 * of the name, or made at its first use.  Raises nothing.
 */
static PinRecord *
pin_entry(const char *name)
{
	struct config_generic **vars;
	struct config_generic *rec = NULL;
	PinRecord  *p;
	int			nvars;

	for (int i = 0; i < n_pin_records; i++)
		if (pin_records[i].name == name)
			return &pin_records[i];
	vars = get_guc_variables();
	nvars = GetNumConfigOptions();
	for (int i = 0; i < nvars; i++)
		if (pg_strcasecmp(vars[i]->name, name) == 0)
		{
			if ((vars[i]->flags & GUC_CUSTOM_PLACEHOLDER) == 0)
				rec = vars[i];
			break;
		}
	/* Full (the callers pass fewer constants): looked up each time. */
	p = n_pin_records < lengthof(pin_records) ? &pin_records[n_pin_records++] : &pin_spare;
	p->name = name;
	p->rec = rec;
	p->equiv = pinned_equivalent_kind(name);
	p->value = NULL;
	p->number = 0;
	return p;
}

/* The built-in record of setting name (pin_entry); NULL: none. */
static struct config_generic *
pin_record(const char *name)
{
	return pin_entry(name)->rec;
}

/*
 * Read value, the pinned value of p's boolean, integer or enum setting,
 * into p->number: only a value the setting prints exactly so (a boolean's
 * on / off, an integer's digits, an enum's name as SHOW prints it), the
 * values the old comparison of printed text accepted.  false (p->value
 * left NULL) for any other: the setting is then taken as not at its
 * pinned value and set.  Raises nothing.
 */
static bool
pin_number(PinRecord *p, const char *value)
{
	struct config_generic *rec = p->rec;
	char		buf[32];
	int			n;

	p->value = NULL;
	switch (rec->vartype)
	{
		case PGC_BOOL:
			if (strcmp(value, "on") == 0)
				n = 1;
			else if (strcmp(value, "off") == 0)
				n = 0;
			else
				return false;
			break;
		case PGC_INT:
			{
				char	   *end;
				long		l;

				errno = 0;
				l = strtol(value, &end, 10);
				if (errno != 0 || *end != '\0' || l < PG_INT32_MIN || l > PG_INT32_MAX)
					return false;
				n = (int) l;
				snprintf(buf, sizeof(buf), "%d", n);
				if (strcmp(buf, value) != 0)
					return false;
				break;
			}
		case PGC_ENUM:
			{
				const char *name;

				if (!config_enum_lookup_by_name((struct config_enum *) rec, value, &n))
					return false;
				name = config_enum_lookup_by_value((struct config_enum *) rec, n);
				if (name == NULL || strcmp(name, value) != 0)
					return false;
				break;
			}
		default:
			return false;
	}
	p->number = n;
	p->value = value;
	return true;
}

/*
 * Is p's setting at value (a pin's constant) now, or at a spelling of it
 * that computes and prints the same (pinned_equivalent)?  Read from the
 * setting's record: a string compared as GetConfigOption would print it,
 * a boolean, integer or enum as its number (pin_number); false when in
 * doubt (the caller then sets it).  No lock; raises nothing.
 */
static bool
pin_is(PinRecord *p, const char *value)
{
	struct config_generic *rec = p->rec;
	int			now;

	if (rec == NULL)
		return false;
	switch (rec->vartype)
	{
		case PGC_STRING:
			{
				const char *s = *((struct config_string *) rec)->variable;

				return s != NULL && (strcmp(s, value) == 0 || pinned_equivalent(p->equiv, s));
			}
		case PGC_BOOL:
			now = *((struct config_bool *) rec)->variable ? 1 : 0;
			break;
		case PGC_INT:
			now = *((struct config_int *) rec)->variable;
			break;
		case PGC_ENUM:
			now = *((struct config_enum *) rec)->variable;
			break;
		default:
			return false;
	}
	if (p->value != value && !pin_number(p, value))
		return false;
	return now == p->number;
}

/*
 * Set p's setting to value in the caller's GUC nest level unless it is
 * there already (pin_is; see steward_pin_settings).  Errors:
 * set_config_option's.
 */
static void
pin_one(PinRecord *p, const char *value)
{
	if (!pin_is(p, value))
		(void) set_config_option(p->name, value, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Refuse (25006) entry point "call" (written as the user calls it:
 * "steward.track_versions()"), which writes, before it reads or locks
 * anything: during recovery as core's PreventCommandDuringRecovery words
 * it ("cannot execute %s during recovery"), in a read-only transaction as
 * its PreventCommandIfReadOnly does.  Without it a hot standby's caller
 * got core's refusal of whatever the call reached first: a lock ("cannot
 * acquire lock mode ShareRowExclusiveLock on database objects while
 * recovery is in progress", 55000), a statement the caller never wrote
 * ("cannot execute UPDATE in a read-only transaction"), or another error
 * after a needless read (msg6 item 5).  Reads backend-local state; takes
 * no lock.
 */
void
steward_require_writable(const char *call)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot execute %s during recovery", call),
				 errdetail("This server is a hot standby: it replays the primary's changes and writes none of its own."),
				 errhint("Connect to the primary (libpq's target_session_attrs=read-write finds it).")));
	if (XactReadOnly)
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot execute %s in a read-only transaction", call),
				 errhint("Run it in a read-write transaction.")));
}

/*
 * steward._require_writable(call text) -> void: steward_require_writable
 * for the PL/pgSQL entry points that write (restore_builtin_machines,
 * record_machine_roles).  STRICT.  Reads backend-local state; takes no
 * lock.  Errors: 25006.
 */
Datum
steward_sql_require_writable(PG_FUNCTION_ARGS)
{
	steward_require_writable(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_VOID();
}

/*
 * Error 22004 ("<what> must not be null") when argument argno of a
 * non-strict SQL-callable function is NULL.  No lock.
 */
void
steward_require_arg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
}

/*
 * The privilege check of an entry point that configures a table: the
 * current user owns relid (42501 otherwise), and relid names a relation
 * (42P01 otherwise).  Takes no lock: the caller opens the table next.
 */
void
steward_check_table_owner(Oid relid)
{
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
}

/*
 * Error 0A000 when relid is a temporary relation: "what" (a column rule, a
 * retention setting) cannot be kept for it, or with what NULL, it cannot
 * be migrated (steward._migration_refuse_temporary).  A temporary table
 * goes at session exit, with DISCARD TEMP or ON COMMIT DROP, where no
 * event trigger fires: a row pg_steward kept for it would outlive it,
 * block the drop of its machine and of its owner's objects, travel in
 * dumps by bare OID and bind to whichever relation later gets that OID
 * (review15 R15-3).  A migration's steps run in other transactions and
 * sessions (the backfill, an index build in a background worker), none
 * of which sees another session's temporary table (review16 R16-3).
 * Raises nothing for any other relation, or an OID naming none; takes no
 * lock.
 */
void
steward_refuse_temporary(Oid relid, const char *what)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	char	   *relname;

	if (!HeapTupleIsValid(tup))
		return;
	if (((Form_pg_class) GETSTRUCT(tup))->relpersistence != RELPERSISTENCE_TEMP)
	{
		ReleaseSysCache(tup);
		return;
	}
	relname = pstrdup(NameStr(((Form_pg_class) GETSTRUCT(tup))->relname));
	ReleaseSysCache(tup);
	if (what == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot migrate temporary table \"%s\"", relname),
				 errdetail("A migration's steps run in other transactions and sessions (the backfill, an index build in a background worker), which cannot see another session's temporary table, and the table goes with its session."),
				 errhint("Change a temporary table with ALTER TABLE or CREATE INDEX in its own session.")));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("%s cannot be set on temporary table \"%s\"", what, relname),
			 errdetail("A temporary table goes at session exit, with DISCARD TEMP or at an ON COMMIT DROP commit, where pg_steward cannot remove what it keeps for the table."),
			 errhint("Use a permanent table (CREATE UNLOGGED TABLE ... USING steward also skips WAL).")));
}

/*
 * The first column of the last SPI result, as a list of OIDs allocated in
 * "outer" (a context that outlives SPI_finish, such as the caller's before
 * it connected).  Raises nothing (but out of memory); NULLs are read as
 * InvalidOid.  No lock.
 */
List *
steward_spi_oids(MemoryContext outer)
{
	List	   *oids = NIL;

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			oid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														 SPI_tuptable->tupdesc, 1, &isnull));
		MemoryContext old = MemoryContextSwitchTo(outer);

		oids = lappend_oid(oids, oid);
		MemoryContextSwitchTo(old);
	}
	return oids;
}

/*
 * Run plan (of steward_spi_read_latest; its text sql) in a snapshot taken
 * now, after a command counter increment: see there.  An error leaving it
 * comes without the CONTEXT entries of pg_steward's own code, the read's
 * own ("SQL statement \"SELECT ...\"") included, as an entry point's
 * (steward_strip_own_context, closing45 Noticed 4): the user never wrote
 * that text.  The user's lines stay; an internal error keeps every line.
 */
static int
run_read_latest(SPIPlanPtr plan, const char *sql, Datum *args, const char *nulls, long tcount)
{
	Snapshot	snapshot;
	int			rc;

	if (!IsInParallelMode())
		CommandCounterIncrement();
	snapshot = RegisterSnapshot(IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot());
	PG_TRY();
	{
		rc = SPI_execute_snapshot(plan, args, nulls, snapshot, InvalidSnapshot, true, false, tcount);
	}
	PG_CATCH();
	{
		steward_strip_own_context(sql);
		PG_RE_THROW();
	}
	PG_END_TRY();
	UnregisterSnapshot(snapshot);
	return rc;
}

/*
 * Kept plans (SPI_keepplan): one table for every statement pg_steward
 * runs again and again in a backend, one lookup (kept_plan), sized by
 * what it keeps (a hash table in its own memory context, "pg_steward kept
 * plans").  Two kinds of entries:
 *
 * - pg_steward's own statements on its catalog, scope NULL: the reads of
 *   steward_spi_read_latest and the statements of steward_spi_execute_own
 *   (_migration_record's, once per backfill batch; the idempotency keys'
 *   claims, completions and purges), found by text and argument types.
 *   The call sites pass constant text or one of two or three variants of
 *   it; past KEPT_OWN_PLANS of them a statement is planned for its call.
 *   Such an entry is kept for the backend's life: the plan cache re-plans
 *   it after DDL on what it reads, under another search_path, and for
 *   another role or row_security setting when row security applies.
 *
 * - a table owner's statements, run as that owner (steward_spi_execute_kept
 *   with a StewardPlanScope): those a migration runs at every batch (the
 *   backfill statements of steward._migration_batch and
 *   _migration_range_batch, a relayout's batch; parsing and planning them
 *   cost about 0.3 ms of CPU a batch) and those a relayout's trigger runs
 *   at every row (its apply statements, once per leaf partition the
 *   trigger fires on).  An entry is found by its text, argument types,
 *   table, role and cursor options, and by the values of the settings
 *   that change how a text parses (parse_settings) and of the planner
 *   settings pg_steward pins for some of them (plan_settings: a
 *   backfill's key order, a relayout batch's probes), so a plan made for
 *   one role, or under other settings, is never run for another (codereview6
 *   F3).  Other planner settings (costs) are read when the plan is made.
 *   The plan cache re-plans after DDL on, or a privilege change of, what
 *   the plan reads, and the executor checks the role's table privileges
 *   at every run.  The plan cache does not see a change of a function it
 *   folded into a constant (an IMMUTABLE one called with constants, run
 *   as the role when planning, its EXECUTE right checked then) nor of a
 *   role's memberships: every change of pg_proc, pg_authid or
 *   pg_auth_members drops all these entries (forget_role_plans), and an
 *   invalidation of an entry's table drops that table's (forget_relation_plans:
 *   a dropped relation's entries go with it).  At most KEPT_ROLE_PLANS are
 *   kept per backend, the least recently used dropped first: far more
 *   than one migration's batches and the apply statements of a relayout
 *   of a table with a hundred partitions.
 *
 * An entry dropped while its plan runs (a statement run inside another,
 * or inside itself: a trigger's apply writing a table under another
 * relayout) is freed when the last run ends, so a kept plan is never freed
 * under its caller and a nested statement keeps its plan too.  Nothing is
 * allocated before the statement is prepared and kept: a statement that
 * fails to prepare leaves nothing behind (codereview6 F9).
 */
#define KEPT_OWN_PLANS 128
#define KEPT_ROLE_PLANS 512

typedef struct KeptKey
{
	uint32		hash;			/* of everything below (kept_key_hash) */
	bool		own;			/* pg_steward's own statement */
	Oid			role;			/* a role's statement: its role and table */
	Oid			relid;
	int			cursor_options;
	int			nargs;
	const Oid  *argtypes;
	const char *text;			/* a role's: settings, then the statement */
} KeptKey;

typedef struct KeptPlan
{
	SPIPlanPtr	plan;			/* SPI_keepplan'd */
	char	   *text;			/* the key's copies (kept_plans_cxt) */
	Oid		   *argtypes;
	uint64		used;			/* kept_plan_clock at the last use */
	int			running;		/* runs under way (nested ones included) */
	bool		dropped;		/* out of the table: freed when running is 0 */
} KeptPlan;

typedef struct KeptEntry
{
	KeptKey		key;			/* first: the hash table's key */
	KeptPlan   *kp;
} KeptEntry;

static HTAB *kept_plans = NULL;
static MemoryContext kept_plans_cxt = NULL;
static int	n_own_plans = 0;
static int	n_role_plans = 0;
static uint64 kept_plan_clock = 0;
/* Role entries to drop at the next lookup: all, or those of these tables. */
static bool role_plans_stale = false;
static Oid	stale_relids[16];
static int	n_stale_relids = 0;
/* Dropped entries whose last run ended in an error: freed at the next lookup. */
static List *orphan_plans = NIL;

/* The settings a role's statement is parsed under that no one pins. */
static const char *const parse_settings[] = {
	"standard_conforming_strings", "backslash_quote", "transform_null_equals",
	"array_nulls", "xmloption", "timezone_abbreviations", "default_text_search_config",
};

/* The planner settings pg_steward pins for some role statements. */
static const char *const plan_settings[] = {
	"enable_seqscan", "enable_bitmapscan", "enable_sort", "jit",
	"enable_mergejoin", "enable_hashjoin",
};

/*
 * Syscache callback: a function, a role or a membership changed.  Any
 * such change in the database (another session's CREATE FUNCTION or
 * GRANT role included) drops every kept plan of a role's statement in
 * every backend: a conservative rule, since a plan may hold a function
 * folded in as a constant whose EXECUTE right was checked when it was
 * made.  While other sessions run function or role DDL, a backfill's
 * batches and a relayout trigger's applies are planned again after each
 * such change (at worst, the cost before the plans were kept: about 0.3
 * ms per batch, test/bench/migrate/results-cpu.md; codereview4 #5).
 */
static void
forget_role_plans(Datum arg, int cacheid, uint32 hashvalue)
{
	role_plans_stale = true;
}

/*
 * Relcache callback: relid (InvalidOid: every relation) was invalidated
 * (altered, analyzed, vacuumed, dropped).  Its role entries are dropped
 * at the next lookup: the plan cache would re-plan them anyway, and a
 * dropped table's entries do not stay.
 */
static void
forget_relation_plans(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || n_stale_relids >= lengthof(stale_relids))
		role_plans_stale = true;
	else
	{
		for (int i = 0; i < n_stale_relids; i++)
			if (stale_relids[i] == relid)
				return;
		stale_relids[n_stale_relids++] = relid;
	}
}

/*
 * Register the callbacks of the kept plans (forget_role_plans,
 * forget_relation_plans), once, at the library's load.  Takes no lock;
 * raises nothing but core's FATAL when the backend's callback slots
 * (MAX_SYSCACHE_CALLBACKS, MAX_RELCACHE_CALLBACKS) are full.
 */
void
steward_kept_plans_install(void)
{
	CacheRegisterSyscacheCallback(PROCOID, forget_role_plans, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, forget_role_plans, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, forget_role_plans, (Datum) 0);
	CacheRegisterRelcacheCallback(forget_relation_plans, (Datum) 0);
}

static uint32
kept_key_hash(const void *key, Size keysize)
{
	return ((const KeptKey *) key)->hash;
}

static int
kept_key_match(const void *key1, const void *key2, Size keysize)
{
	const KeptKey *a = key1;
	const KeptKey *b = key2;

	if (a->hash != b->hash || a->own != b->own || a->role != b->role ||
		a->relid != b->relid || a->cursor_options != b->cursor_options ||
		a->nargs != b->nargs)
		return 1;
	if (a->nargs > 0 && memcmp(a->argtypes, b->argtypes, a->nargs * sizeof(Oid)) != 0)
		return 1;
	return strcmp(a->text, b->text);
}

/* Free kp now, or when its last run ends.  Raises nothing. */
static void
free_kept(KeptPlan *kp)
{
	kp->dropped = true;
	if (kp->running > 0)
		return;
	SPI_freeplan(kp->plan);
	pfree(kp->text);
	if (kp->argtypes)
		pfree(kp->argtypes);
	pfree(kp);
}

/* Take entry e out of the table and free its plan (free_kept).  Raises nothing. */
static void
drop_kept(KeptEntry *e)
{
	KeptPlan   *kp = e->kp;
	KeptKey		key = e->key;

	if (key.own)
		n_own_plans--;
	else
		n_role_plans--;
	hash_search(kept_plans, &key, HASH_REMOVE, NULL);
	free_kept(kp);
}

/*
 * Drop the role entries the callbacks marked (all of them, or those of
 * the invalidated tables), and free the orphans.  Raises nothing.
 */
static void
drop_stale_plans(void)
{
	HASH_SEQ_STATUS seq;
	KeptEntry  *e;
	bool		all = role_plans_stale;
	int			n = n_stale_relids;
	Oid			relids[lengthof(stale_relids)];

	memcpy(relids, stale_relids, n * sizeof(Oid));
	role_plans_stale = false;
	n_stale_relids = 0;
	hash_seq_init(&seq, kept_plans);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		bool		drop = false;

		if (e->key.own)
			continue;
		drop = all;
		for (int i = 0; !drop && i < n; i++)
			drop = e->key.relid == relids[i];
		if (drop)
			drop_kept(e);		/* removing the current entry is allowed */
	}
	while (orphan_plans != NIL)
	{
		KeptPlan   *kp = linitial(orphan_plans);

		orphan_plans = list_delete_first(orphan_plans);
		free_kept(kp);
	}
}

/* Drop the least recently used role entry.  Raises nothing. */
static void
drop_oldest_role_plan(void)
{
	HASH_SEQ_STATUS seq;
	KeptEntry  *e;
	KeptEntry  *oldest = NULL;

	hash_seq_init(&seq, kept_plans);
	while ((e = hash_seq_search(&seq)) != NULL)
		if (!e->key.own && (oldest == NULL || e->kp->used < oldest->kp->used))
			oldest = e;
	if (oldest != NULL)
		drop_kept(oldest);
}

/*
 * Append to text the values of parse_settings and plan_settings, read
 * from their records (found once: this runs at every row of a relayout
 * trigger), a boolean or an enum as one character, a string as itself.
 * Raises nothing but out of memory.
 */
static void
append_key_settings(StringInfo text)
{
	static struct config_generic *recs[lengthof(parse_settings) + lengthof(plan_settings)];
	static bool found = false;

	if (!found)
	{
		for (int i = 0; i < lengthof(recs); i++)
			recs[i] = pin_record(i < lengthof(parse_settings) ? parse_settings[i]
								 : plan_settings[i - lengthof(parse_settings)]);
		found = true;
	}
	for (int i = 0; i < lengthof(recs); i++)
	{
		struct config_generic *rec = recs[i];

		if (rec != NULL && rec->vartype == PGC_BOOL)
			appendStringInfoChar(text, *((struct config_bool *) rec)->variable ? '1' : '0');
		else if (rec != NULL && rec->vartype == PGC_ENUM)
			appendStringInfoChar(text, 'A' + (*((struct config_enum *) rec)->variable & 0x3f));
		else if (rec != NULL && rec->vartype == PGC_STRING)
		{
			const char *v = *((struct config_string *) rec)->variable;

			appendStringInfoString(text, v ? v : "");
		}
		else
		{
			const char *name = i < lengthof(parse_settings) ? parse_settings[i]
				: plan_settings[i - lengthof(parse_settings)];
			const char *v = GetConfigOption(name, true, false);

			appendStringInfoString(text, v ? v : "");
		}
		appendStringInfoChar(text, '\x1f');
	}
}

/*
 * The key of sql with nargs arguments of argtypes for scope (NULL:
 * pg_steward's own statement) into *key, its text built in *text (palloc'd
 * in the current context, the caller frees text->data).  Raises nothing
 * but out of memory.
 */
static void
kept_key_make(KeptKey *key, StringInfo text, const char *sql, int nargs, Oid *argtypes,
			  const StewardPlanScope *scope)
{
	initStringInfo(text);
	if (scope)
		append_key_settings(text);
	appendStringInfoString(text, sql);
	memset(key, 0, sizeof(*key));
	key->own = (scope == NULL);
	key->role = scope ? scope->role : InvalidOid;
	key->relid = scope ? scope->relid : InvalidOid;
	key->cursor_options = scope ? scope->cursor_options : 0;
	key->nargs = nargs;
	key->argtypes = argtypes;
	key->text = text->data;
	key->hash = hash_bytes((const unsigned char *) text->data, text->len);
	key->hash = hash_combine(key->hash, hash_bytes_uint32(key->role ^ (key->own ? 0x80000000 : 0)));
	key->hash = hash_combine(key->hash, hash_bytes_uint32(key->relid));
	key->hash = hash_combine(key->hash, hash_bytes_uint32((uint32) key->cursor_options));
	if (nargs > 0 && nargs <= FUNC_MAX_ARGS)
		key->hash = hash_combine(key->hash, hash_bytes((const unsigned char *) argtypes,
													 nargs * sizeof(Oid)));
}

/*
 * The kept plan of sql with nargs arguments of argtypes, for pg_steward's
 * own statement (scope NULL) or a role's (scope): found, or made and kept
 * at its first use.  NULL when the statement is not kept (the own entries
 * are full, or more than FUNC_MAX_ARGS arguments): *once is then a plan
 * made for this call, which the caller frees (it is connected to SPI).
 * Raises what SPI_prepare raises (the statement's own errors; nothing is
 * kept or left allocated then), elog ERROR when it cannot be prepared or
 * kept.
 */
static KeptPlan *
kept_plan(const char *sql, int nargs, Oid *argtypes, const StewardPlanScope *scope,
		  SPIPlanPtr *once)
{
	StringInfoData text;
	KeptKey		key;
	KeptEntry  *e;
	KeptPlan   *volatile kp = NULL;
	SPIPlanPtr	plan;
	bool		keep;
	bool		found = false;

	*once = NULL;
	if (kept_plans == NULL)
	{
		HASHCTL		ctl;

		kept_plans_cxt = AllocSetContextCreate(TopMemoryContext, "pg_steward kept plans",
											   ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(KeptKey);
		ctl.entrysize = sizeof(KeptEntry);
		ctl.hash = kept_key_hash;
		ctl.match = kept_key_match;
		ctl.hcxt = kept_plans_cxt;
		kept_plans = hash_create("pg_steward kept plans", 64, &ctl,
								 HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
	}
	if (role_plans_stale || n_stale_relids > 0 || orphan_plans != NIL)
		drop_stale_plans();

	kept_key_make(&key, &text, sql, nargs, argtypes, scope);
	e = hash_search(kept_plans, &key, HASH_FIND, NULL);
	if (e != NULL)
	{
		e->kp->used = ++kept_plan_clock;
		pfree(text.data);
		return e->kp;
	}

	keep = nargs <= FUNC_MAX_ARGS && (scope != NULL || n_own_plans < KEPT_OWN_PLANS);
	plan = scope ? SPI_prepare_cursor(sql, nargs, argtypes, scope->cursor_options)
		: SPI_prepare(sql, nargs, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare %s: %s",
			 scope ? "a migration statement" : "a statement of pg_steward's catalog",
			 SPI_result_code_string(SPI_result));
	if (!keep)
	{
		pfree(text.data);
		*once = plan;
		return NULL;
	}
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "could not keep %s: %s",
			 scope ? "a migration statement" : "a statement of pg_steward's catalog",
			 SPI_result_code_string(SPI_result));
	if (scope && n_role_plans >= KEPT_ROLE_PLANS)
		drop_oldest_role_plan();

	/* Only out of memory can fail from here: the kept plan is freed then. */
	PG_TRY();
	{
		kp = MemoryContextAllocZero(kept_plans_cxt, sizeof(KeptPlan));
		kp->plan = plan;
		kp->text = MemoryContextStrdup(kept_plans_cxt, text.data);
		if (nargs > 0)
		{
			kp->argtypes = MemoryContextAlloc(kept_plans_cxt, nargs * sizeof(Oid));
			memcpy(kp->argtypes, argtypes, nargs * sizeof(Oid));
		}
		key.text = kp->text;
		key.argtypes = kp->argtypes;
		e = hash_search(kept_plans, &key, HASH_ENTER, &found);
		if (!found)
			e->kp = kp;
	}
	PG_CATCH();
	{
		SPI_freeplan(plan);
		if (kp != NULL)
		{
			if (kp->text)
				pfree(kp->text);
			if (kp->argtypes)
				pfree(kp->argtypes);
			pfree(kp);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	pfree(text.data);
	/* kept meanwhile by a call that preparing made (a function it folded) */
	if (found)
	{
		free_kept(kp);
		e->kp->used = ++kept_plan_clock;
		return e->kp;
	}
	if (scope)
		n_role_plans++;
	else
		n_own_plans++;
	kp->used = ++kept_plan_clock;
	return kp;
}

/*
 * Run plan as SPI_execute_plan (snap InvalidSnapshot) or
 * SPI_execute_snapshot (snap, no crosscheck) would.
 */
static int
run_plan_as(SPIPlanPtr plan, Datum *args, const char *nulls, Snapshot snap,
			bool read_only, long tcount)
{
	if (snap != InvalidSnapshot)
		return SPI_execute_snapshot(plan, args, nulls, snap, InvalidSnapshot,
									read_only, false, tcount);
	return SPI_execute_plan(plan, args, nulls, read_only, tcount);
}

/*
 * Run sql, a statement of scope->role on scope->relid that pg_steward
 * runs again and again (a migration's batch, a relayout trigger's apply),
 * with its kept plan (kept_plan: see there for what keys it and when it
 * is planned again).  Not read-only: the command counter is incremented
 * as for SPI_execute_with_args.  The caller runs as scope->role already,
 * connected to SPI.  Locks: those of the statement.  Raises what the
 * statement raises, elog ERROR when it cannot be prepared or kept.
 * Returns SPI's result code (negative for a statement SPI cannot run).
 */
int
steward_spi_execute_kept(const char *sql, int nargs, Oid *argtypes, Datum *args,
						 const char *nulls, const StewardPlanScope *scope)
{
	volatile int rc;
	SPIPlanPtr	once;
	KeptPlan   *kp = kept_plan(sql, nargs, argtypes, scope, &once);

	if (kp == NULL)
	{
		rc = SPI_execute_plan(once, args, nulls, false, 0);
		SPI_freeplan(once);
		return rc;
	}
	kp->running++;
	PG_TRY();
	{
		rc = SPI_execute_plan(kp->plan, args, nulls, false, 0);
	}
	PG_CATCH();
	{
		/* dropped meanwhile: freed at the next lookup, not while erroring */
		if (--kp->running == 0 && kp->dropped)
		{
			MemoryContext old = MemoryContextSwitchTo(kept_plans_cxt);

			orphan_plans = lappend(orphan_plans, kp);
			MemoryContextSwitchTo(old);
		}
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (--kp->running == 0 && kp->dropped)
		free_kept(kp);
	return rc;
}

/*
 * Run sql, a statement of pg_steward's own on its catalog (constant text,
 * qualified names) run again and again (_migration_record's at every
 * backfill batch, the idempotency keys' claims and completions), with its
 * kept plan (kept_plan, scope NULL: found by text and argument types,
 * kept for the backend), as SPI_execute_plan (snap InvalidSnapshot) or
 * SPI_execute_snapshot (snap) would run it, read_only and tcount as
 * there.  The caller is connected to SPI and runs as whoever must run
 * sql.  Locks: those of the statement.  Raises what the statement raises,
 * elog ERROR when it cannot be prepared or kept.  Returns SPI's result
 * code.
 */
int
steward_spi_execute_own(const char *sql, int nargs, Oid *argtypes, Datum *args,
						const char *nulls, Snapshot snap, bool read_only, long tcount)
{
	SPIPlanPtr	once;
	KeptPlan   *kp = kept_plan(sql, nargs, argtypes, NULL, &once);
	int			rc;

	/* an own entry is never dropped: no run count */
	rc = run_plan_as(kp ? kp->plan : once, args, nulls, snap, read_only, tcount);
	if (kp == NULL)
		SPI_freeplan(once);
	return rc;
}

/*
 * Run sql, a read of pg_steward's own catalog that decides a guarantee or
 * a privilege (which migration changes a table, who owns a scope, who may
 * use a machine, which rules a table has), or of the stored rows a new
 * rule must accept (steward_read_rows_after_lock), with a snapshot taken
 * now, as core reads its catalogs (a catalog snapshot), never the
 * transaction's: under REPEATABLE READ / SERIALIZABLE that snapshot can
 * predate a record committed before this statement could lock what it
 * acts on (a migration_start, an owner change, a revoke), which the
 * statement would then act without (review13 R13-12, R13-6).
 *
 * What it sees: everything committed when it is called, and all of this
 * transaction's writes, those of the command running now included: the
 * command counter is incremented first (as SPI does for a read that is
 * not read-only), so rows a data-modifying WITH of the calling statement
 * wrote are checked too (regress 146).  The read itself is read-only:
 * functions it calls see that snapshot.  In parallel mode neither a new
 * snapshot nor a command counter increment is allowed: the statement's
 * own snapshot is used (nothing that calls this runs there but reads of a
 * relation no other transaction can have touched).
 *
 * The plan is kept for the backend, by the query's text and argument
 * types (kept_plan): the DDL guards run these reads several times per
 * statement, and parsing and planning them was two fifths of what a
 * column ALTER TABLE cost with the extension (test/bench/ddl).  The plan
 * cache re-plans a kept plan after DDL on what it reads, for another
 * search_path, and for another role or row_security setting when row
 * security applies, so a kept plan reads what a fresh one would.
 * Locks: those of the query (AccessShareLock on what it reads, to the
 * transaction's end).  Raises what the query raises, without the CONTEXT
 * entries of pg_steward's own code (run_read_latest), and elog ERROR when
 * it cannot be prepared.  The caller is connected to SPI.  Returns SPI's
 * result code.
 */
int
steward_spi_read_latest(const char *sql, int nargs, Oid *argtypes, Datum *args,
						const char *nulls, long tcount)
{
	SPIPlanPtr	once;
	KeptPlan   *kp = kept_plan(sql, nargs, argtypes, NULL, &once);
	int			rc;

	/* an own entry is never dropped: no run count */
	rc = run_read_latest(kp ? kp->plan : once, sql, args, nulls, tcount);
	if (kp == NULL)
		SPI_freeplan(once);
	return rc;
}

/*
 * steward_spi_read_latest for a read whose text names a user's relation
 * (steward_read_rows_after_lock): planned for this call only, so such
 * texts never fill the table of kept plans.  Locks, errors and result as
 * steward_spi_read_latest.
 */
int
steward_spi_read_latest_once(const char *sql, int nargs, Oid *argtypes, Datum *args,
							 const char *nulls, long tcount)
{
	SPIPlanPtr	plan = SPI_prepare(sql, nargs, argtypes);
	int			rc;

	if (plan == NULL)
		elog(ERROR, "could not prepare a read: %s", SPI_result_code_string(SPI_result));
	rc = run_read_latest(plan, sql, args, nulls, tcount);
	SPI_freeplan(plan);
	return rc;
}

/*
 * In the PG_CATCH of an internal subtransaction begun (in memory context
 * cxt, under resource owner owner) with BeginInternalSubTransaction: copy
 * the error into cxt, flush it, roll the subtransaction back and restore
 * cxt and owner; the caller then re-throws the error (ReThrowError) or
 * frees it.  Every error path of such a subtransaction must end it so:
 * left open, the caller's own rollback (a PL/pgSQL EXCEPTION block)
 * releases it instead of its own and goes on as the user saved when it
 * began (codereview6 F1).  Takes no lock; the rollback releases the
 * subtransaction's.
 */
ErrorData *
steward_subxact_abort(MemoryContext cxt, ResourceOwner owner)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return edata;
}
