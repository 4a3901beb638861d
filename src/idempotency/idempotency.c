/*-------------------------------------------------------------------------
 *
 * idempotency.c
 *	  Idempotency keys (Stripe / IETF Idempotency-Key semantics).
 *
 *	  steward.idempotency_begin(scope, key, fingerprint, nowait)
 *	  steward.idempotency_begin_strict(scope, key, fingerprint, nowait)
 *	  steward.idempotency_complete(scope, key, status, response)
 *	  steward.idempotency_purge()
 *	  steward.create_idempotency_scope / alter_idempotency_scope_owner /
 *	  drop_idempotency_scope / set_idempotency_retention
 *
 * Scopes have owners.  A scope belongs to the role that first used it
 * (or the one named in create_idempotency_scope), and only roles with the
 * privileges of that owner may begin, complete or take over keys in it;
 * everyone else gets 42501 before any key is looked at, so they learn
 * nothing about the keys (no replay, no mismatch).  A key without a
 * result belongs to the session that began it: that session holds a
 * session-level "beacon" lock, and the key may be taken over only once the
 * beacon is free (the session ended, crashed, or ran DISCARD ALL) or once
 * a lease the holder itself set has run out; what another session sets
 * changes nothing.
 *
 * A key is a row of steward.idempotency_keys (a steward table), unique per
 * (scope, key) through an EXCLUDE USING steward_hash constraint.  The row
 * is written in the caller's transaction, so the key is held exactly as
 * long as that transaction, and it is durable together with whatever else
 * the transaction wrote.  Concurrency rests on the exclusion constraint:
 * INSERT ... ON CONFLICT DO NOTHING waits for an uncommitted holder of the
 * same key (respecting lock_timeout) and then either inserts (the holder
 * rolled back) or does nothing (it committed), so exactly one caller gets
 * "new".  See README.md in this folder.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "idempotency/idempotency.h"

PG_FUNCTION_INFO_V1(steward_idempotency_begin);
PG_FUNCTION_INFO_V1(steward_idempotency_begin_strict);
PG_FUNCTION_INFO_V1(steward_idempotency_complete);
PG_FUNCTION_INFO_V1(steward_idempotency_purge);
PG_FUNCTION_INFO_V1(steward_create_idempotency_scope);
PG_FUNCTION_INFO_V1(steward_alter_idempotency_scope_owner);
PG_FUNCTION_INFO_V1(steward_drop_idempotency_scope);
PG_FUNCTION_INFO_V1(steward_set_idempotency_retention);

int			steward_idem_retention_s = 86400;
int			steward_idem_lock_timeout_s = 0;
int			steward_idem_purge_interval_s = 60;
int			steward_idem_purge_batch = 1000;
int			steward_idem_purge_delay_ms = 10;
int			steward_idem_purge_timeout_ms = 60000;
char	   *steward_idem_purge_databases = NULL;

/* SQLSTATEs of the strict variant, mnemonic for the HTTP status to send. */
#define ERRCODE_IDEM_MISMATCH		MAKE_SQLSTATE('S','I','4','2','2')
#define ERRCODE_IDEM_IN_PROGRESS	MAKE_SQLSTATE('S','I','4','0','9')

/* Rounds of "look, then insert" before giving up under heavy churn. */
#define IDEM_MAX_ATTEMPTS 8

/* From _PG_init: define this part's steward.* settings. */
void
steward_idempotency_define_gucs(void)
{
	DefineCustomIntVariable("steward.idempotency_retention",
							"How long idempotency keys are kept after they are created or completed.",
							"A per-scope value set with steward.set_idempotency_retention() takes precedence.",
							&steward_idem_retention_s,
							86400, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.idempotency_lock_timeout",
							"Lease on the keys this session begins: after it, a key still without a result may be taken over even while this session lives.",
							"0 (the default) means no lease: a key without a result is in progress until the session that began it ends. Only the beginning session's value counts.",
							&steward_idem_lock_timeout_s,
							0, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.idempotency_purge_interval",
							"Time between runs of the idempotency key purge worker.",
							NULL,
							&steward_idem_purge_interval_s,
							60, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.idempotency_purge_batch",
							"Expired idempotency keys deleted per committed batch.",
							NULL,
							&steward_idem_purge_batch,
							1000, 1, 1000000,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.idempotency_purge_delay",
							"Pause of the purge worker between two committed batches.",
							"Spreads the purge's WAL flushes so that it does not crowd out concurrent commits.",
							&steward_idem_purge_delay_ms,
							10, 0, 10000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("steward.idempotency_purge_timeout",
							"Longest time the purge worker spends in one database per visit.",
							"Also its statement_timeout and lock_timeout there, so that no database delays the others.",
							&steward_idem_purge_timeout_ms,
							60000, 100, INT_MAX / 4,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomStringVariable("steward.idempotency_purge_databases",
							   "Databases the purge worker visits (comma-separated); empty means every database that has pg_steward.",
							   NULL,
							   &steward_idem_purge_databases,
							   "",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   NULL, NULL, NULL);
}

/* ------------------------------------------------------------------------
 * Saved SPI plans, prepared on first use (as the table owner, with the
 * pinned search_path) and kept for the life of the backend; the plan cache
 * revalidates them if the extension is dropped and created again.
 * ------------------------------------------------------------------------
 */
typedef enum IdemPlan
{
	PLAN_SCOPE_CLAIM,
	PLAN_INSERT,
	PLAN_DELETE_EXPIRED,
	PLAN_TAKEOVER,
	PLAN_COMPLETE,
	PLAN_RESULT,
	PLAN_PURGE,
	PLAN_SCOPE_CREATE,
	PLAN_SCOPE_SET_OWNER,
	PLAN_SCOPE_SET_RETENTION,
	PLAN_SCOPE_DROP_KEYS,
	PLAN_SCOPE_DROP,
	NUM_PLANS
} IdemPlan;

static SPIPlanPtr plans[NUM_PLANS];

static const char *const plan_sql[NUM_PLANS] = {
	[PLAN_SCOPE_CLAIM] =
	"INSERT INTO steward.idempotency_scopes (scope, owner) VALUES ($1, $2)"
	" ON CONFLICT (scope) DO NOTHING RETURNING owner",
	[PLAN_INSERT] =
	"INSERT INTO steward.idempotency_keys"
	"       (scope, key, fingerprint, expires_at, holder_pid, holder_start, lease_until)"
	" VALUES ($1, $2, $3, now() + $4, $5, $6, now() + $7)"
	" ON CONFLICT DO NOTHING RETURNING created_at",
	[PLAN_DELETE_EXPIRED] =
	"DELETE FROM steward.idempotency_keys"
	" WHERE scope = $1 AND key = $2 AND expires_at <= now()",
	/* Only the row version judged abandoned: a concurrent taker wins alone. */
	[PLAN_TAKEOVER] =
	"UPDATE steward.idempotency_keys"
	"   SET locked_at = now(), holder_pid = $3, holder_start = $4, lease_until = now() + $5"
	" WHERE scope = $1 AND key = $2 AND status IS NULL AND locked_at = $6"
	"   AND holder_pid IS NOT DISTINCT FROM $7 AND holder_start IS NOT DISTINCT FROM $8"
	" RETURNING created_at",
	[PLAN_COMPLETE] =
	"UPDATE steward.idempotency_keys"
	"   SET status = $3, response = $4, completed_at = now(),"
	"       expires_at = now() + $5"
	" WHERE scope = $1 AND key = $2 AND status IS NULL RETURNING 1",
	[PLAN_RESULT] =
	"SELECT status = $3 AND response IS NOT DISTINCT FROM $4, status"
	"  FROM steward.idempotency_keys WHERE scope = $1 AND key = $2",
	[PLAN_PURGE] =
	"DELETE FROM steward.idempotency_keys WHERE ctid = ANY (ARRAY("
	"  SELECT ctid FROM steward.idempotency_keys WHERE expires_at <= now()"
	"   ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED))"
	" RETURNING scope",
	[PLAN_SCOPE_CREATE] =
	"INSERT INTO steward.idempotency_scopes (scope, owner, retention) VALUES ($1, $2, $3)"
	" ON CONFLICT (scope) DO NOTHING RETURNING 1",
	[PLAN_SCOPE_SET_OWNER] =
	"UPDATE steward.idempotency_scopes SET owner = $2 WHERE scope = $1",
	[PLAN_SCOPE_SET_RETENTION] =
	"UPDATE steward.idempotency_scopes SET retention = $2 WHERE scope = $1",
	[PLAN_SCOPE_DROP_KEYS] =
	"DELETE FROM steward.idempotency_keys WHERE scope = $1",
	[PLAN_SCOPE_DROP] =
	"DELETE FROM steward.idempotency_scopes WHERE scope = $1",
};

static const int plan_nargs[NUM_PLANS] = {
	[PLAN_SCOPE_CLAIM] = 2,
	[PLAN_INSERT] = 7,[PLAN_DELETE_EXPIRED] = 2,
	[PLAN_TAKEOVER] = 8,[PLAN_COMPLETE] = 5,[PLAN_RESULT] = 4,[PLAN_PURGE] = 1,
	[PLAN_SCOPE_CREATE] = 3,[PLAN_SCOPE_SET_OWNER] = 2,[PLAN_SCOPE_SET_RETENTION] = 2,
	[PLAN_SCOPE_DROP_KEYS] = 1,[PLAN_SCOPE_DROP] = 1,
};

static const Oid plan_argtypes[NUM_PLANS][8] = {
	[PLAN_SCOPE_CLAIM] = {TEXTOID, REGROLEOID},
	[PLAN_INSERT] = {TEXTOID, TEXTOID, TEXTOID, INTERVALOID, INT4OID, TIMESTAMPTZOID,
	INTERVALOID},
	[PLAN_DELETE_EXPIRED] = {TEXTOID, TEXTOID},
	[PLAN_TAKEOVER] = {TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, INTERVALOID,
	TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID},
	[PLAN_COMPLETE] = {TEXTOID, TEXTOID, INT4OID, JSONBOID, INTERVALOID},
	[PLAN_RESULT] = {TEXTOID, TEXTOID, INT4OID, JSONBOID},
	[PLAN_PURGE] = {INT4OID},
	[PLAN_SCOPE_CREATE] = {TEXTOID, REGROLEOID, INTERVALOID},
	[PLAN_SCOPE_SET_OWNER] = {TEXTOID, REGROLEOID},
	[PLAN_SCOPE_SET_RETENTION] = {TEXTOID, INTERVALOID},
	[PLAN_SCOPE_DROP_KEYS] = {TEXTOID},
	[PLAN_SCOPE_DROP] = {TEXTOID},
};

/*
 * read_only is false for every statement, also the lookups: in READ
 * COMMITTED that gives each one a fresh snapshot, so a lookup after waiting
 * for a holder sees the row the holder committed.
 */
static int
run_plan(IdemPlan p, Datum *args, const char *nulls, bool read_only)
{
	int			rc;

	if (plans[p] == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(plan_sql[p], plan_nargs[p],
									   (Oid *) plan_argtypes[p]);

		if (plan == NULL)
			elog(ERROR, "could not prepare idempotency statement: %s",
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(plan);
		plans[p] = plan;
	}
	rc = SPI_execute_plan(plans[p], args, nulls, read_only, 0);
	if (rc < 0)
		elog(ERROR, "idempotency statement failed: %s", SPI_result_code_string(rc));
	return rc;
}

static Datum
seconds_interval(int seconds)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = (int64) seconds * USECS_PER_SEC;
	return IntervalPGetDatum(iv);
}

/* ------------------------------------------------------------------------
 * Argument validation
 * ------------------------------------------------------------------------
 */
static text *
required_text(FunctionCallInfo fcinfo, int argno, const char *what, bool limit)
{
	text	   *t;
	int			len;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("idempotency %s must not be null", what)));
	t = PG_GETARG_TEXT_PP(argno);
	len = VARSIZE_ANY_EXHDR(t);
	if (len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idempotency %s must not be empty", what)));
	if (limit && len > IDEM_MAX_KEY_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idempotency %s is too long", what),
				 errdetail("It has %d bytes; the limit is %d.", len, IDEM_MAX_KEY_BYTES),
				 errhint("Clients should send a UUID or another short random value.")));
	return t;
}

/* ------------------------------------------------------------------------
 * Entering the extension's tables
 *
 * Every function checks privileges as the caller, then reads and writes
 * the key and scope tables as their owner (src/plumbing/as_owner.c).  The
 * caller's user ID is taken before the switch.  Without the columns 0.2
 * added, the database still has 0.1's objects, where scopes have no
 * owners: nothing is done until the extension is updated.
 * ------------------------------------------------------------------------
 */
static Oid
idem_enter(StewardAsOwner *ctx)
{
	Oid			caller = GetUserId();
	Oid			keys = steward_relid(IDEM_KEYS_TABLE, false);

	if (get_attnum(steward_relid(IDEM_SCOPES_TABLE, false), "owner") == InvalidAttrNumber ||
		get_attnum(keys, "holder_pid") == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("idempotency scopes of this database have no owners yet"),
				 errdetail("The extension's SQL objects are older than the pg_steward library."),
				 errhint("ALTER EXTENSION pg_steward UPDATE")));
	steward_as_owner_begin(keys, ctx);
	return caller;
}

/* ------------------------------------------------------------------------
 * Direct reads
 *
 * Begin and complete read one row by its key.  Through SPI each such
 * SELECT is a plan, an executor start and end: more than the index probe
 * itself.  They read it through the index directly instead, under the
 * snapshot an SPI statement of ours would take at that point (after a
 * CommandCounterIncrement, so rows this transaction wrote are seen; a new
 * one per read in READ COMMITTED), with the same locks (AccessShareLock).
 * ------------------------------------------------------------------------
 */
typedef struct DirectRead
{
	Relation	heap;
	Relation	index;
	Snapshot	snap;
	bool		registered;		/* snap is ours to unregister */
	IndexScanDesc scan;
	TupleTableSlot *slot;
} DirectRead;

static bool text_equal(Datum a, Datum b);
static IndexScanDesc key_scan_begin(Relation heap, Relation index, Snapshot snap,
									int nkeys, const Datum *vals);
static bool key_scan_next(IndexScanDesc scan, int nkeys, const Datum *vals,
						  TupleTableSlot *slot);

/*
 * Start reading the rows of steward.<tablename> whose key (the first nkeys
 * columns of index indexname) equals vals: under snap, or when snap is
 * NULL the statement snapshot described above.
 */
static void
direct_read_begin(DirectRead *rd, const char *tablename, const char *indexname,
				  Snapshot snap, int nkeys, const Datum *vals)
{
	Oid			heapoid = steward_relid(tablename, false);

	rd->heap = table_open(heapoid, AccessShareLock);
	rd->index = index_open(steward_index_relid(heapoid, indexname), AccessShareLock);
	rd->registered = snap == NULL;
	if (rd->registered)
	{
		CommandCounterIncrement();
		snap = RegisterSnapshot(GetTransactionSnapshot());
	}
	rd->snap = snap;
	rd->slot = table_slot_create(rd->heap, NULL);
	rd->scan = key_scan_begin(rd->heap, rd->index, rd->snap, nkeys, vals);
}

/* Attribute number of a column the extension's table must have. */
static AttrNumber
direct_attnum(DirectRead *rd, const char *column)
{
	AttrNumber	attnum = get_attnum(RelationGetRelid(rd->heap), column);

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", column,
						RelationGetRelationName(rd->heap)),
				 errdetail("The extension's SQL objects do not match the pg_steward library."),
				 errhint("ALTER EXTENSION pg_steward UPDATE")));
	return attnum;
}

static void
direct_read_end(DirectRead *rd)
{
	index_endscan(rd->scan);
	ExecDropSingleTupleTableSlot(rd->slot);
	if (rd->registered)
		UnregisterSnapshot(rd->snap);
	index_close(rd->index, AccessShareLock);
	table_close(rd->heap, AccessShareLock);
}

/* ------------------------------------------------------------------------
 * Scopes and their owners
 * ------------------------------------------------------------------------
 */

/*
 * What begin and complete need of a scope: its owner and the retention of
 * its keys (its override, else steward.idempotency_retention).
 */
typedef struct ScopeInfo
{
	Oid			owner;
	Interval	retention;
} ScopeInfo;

/*
 * Owner of a scope, or InvalidOid if the scope does not exist; with info,
 * also its retention.  Read through the scopes' primary key under the
 * snapshot a statement of ours would take here (direct_read_begin), as
 * the table owner (the caller is in steward_as_owner_begin).
 */
static Oid
scope_lookup(text *scope, ScopeInfo *info)
{
	Datum		val = PointerGetDatum(scope);
	DirectRead	rd;
	Oid			owner = InvalidOid;
	bool		have_retention = false;

	direct_read_begin(&rd, IDEM_SCOPES_TABLE, IDEM_SCOPES_PKEY, NULL, 1, &val);
	if (key_scan_next(rd.scan, 1, &val, rd.slot))
	{
		bool		isnull;
		Datum		d = slot_getattr(rd.slot, direct_attnum(&rd, "owner"), &isnull);

		if (!isnull)
			owner = DatumGetObjectId(d);
		d = slot_getattr(rd.slot, direct_attnum(&rd, "retention"), &isnull);
		if (!isnull && info != NULL)
		{
			info->retention = *DatumGetIntervalP(d);
			have_retention = true;
		}
	}
	direct_read_end(&rd);
	if (info != NULL)
	{
		info->owner = owner;
		if (!have_retention)
			info->retention = *DatumGetIntervalP(seconds_interval(steward_idem_retention_s));
	}
	return owner;
}

static Oid
scope_owner(text *scope)
{
	return scope_lookup(scope, NULL);
}

/*
 * The scope a begin or complete of this (sub)transaction checked last, so
 * that the complete of the key a begin just took does not look the scope
 * up again.  Valid in the same subtransaction only: a rolled-back
 * subtransaction may have held the claim that made the scope the caller's.
 * Functions that change scopes forget it.
 */
static struct
{
	LocalTransactionId lxid;
	SubTransactionId subxid;
	Oid			caller;
	int			retention_s;	/* steward.idempotency_retention then */
	char		scope[IDEM_MAX_KEY_BYTES + 1];
	ScopeInfo	info;
} scope_memo;

static bool
scope_memo_get(text *scope, Oid caller, ScopeInfo *info)
{
	if (scope_memo.lxid != MyProc->lxid || scope_memo.lxid == InvalidLocalTransactionId ||
		scope_memo.subxid != GetCurrentSubTransactionId() ||
		scope_memo.caller != caller || scope_memo.retention_s != steward_idem_retention_s ||
		strlen(scope_memo.scope) != VARSIZE_ANY_EXHDR(scope) ||
		memcmp(scope_memo.scope, VARDATA_ANY(scope), VARSIZE_ANY_EXHDR(scope)) != 0)
		return false;
	*info = scope_memo.info;
	return true;
}

static void
scope_memo_set(text *scope, Oid caller, const ScopeInfo *info)
{
	scope_memo.lxid = MyProc->lxid;
	scope_memo.subxid = GetCurrentSubTransactionId();
	scope_memo.caller = caller;
	scope_memo.retention_s = steward_idem_retention_s;
	text_to_cstring_buffer(scope, scope_memo.scope, sizeof(scope_memo.scope));
	scope_memo.info = *info;
}

static void
scope_memo_forget(void)
{
	scope_memo.lxid = InvalidLocalTransactionId;
}

static void
scope_denied(text *scope, Oid owner, const char *what)
{
	char	   *owner_name = GetUserNameFromId(owner, true);

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for idempotency scope \"%s\"", text_to_cstring(scope)),
			 owner_name ?
			 errdetail("The scope belongs to role \"%s\"; only roles with its privileges may %s.",
					   owner_name, what) :
			 errdetail("The scope's owner no longer exists; only superusers may %s.", what),
			 errhint("Use a scope of your own, or have a superuser or the owner run steward.alter_idempotency_scope_owner().")));
}

/*
 * May the caller use keys of this scope?  A scope nobody has used yet
 * becomes the caller's when claim is set (in the caller's transaction: a
 * rollback gives it up again).  Returns false if the scope does not exist
 * and claim is not set; raises 42501 if it belongs to a role whose
 * privileges the caller does not have.  Connected to SPI as the table
 * owner.
 */
static bool
check_scope_info(text *scope, Oid caller, bool claim, ScopeInfo *info)
{
	Oid			owner;

	if (scope_memo_get(scope, caller, info))
		return true;
	owner = scope_lookup(scope, info);
	if (!OidIsValid(owner))
	{
		Datum		args[2] = {PointerGetDatum(scope), ObjectIdGetDatum(caller)};

		if (!claim)
			return false;
		/* Waits for a concurrent first user of the scope; then it is theirs. */
		run_plan(PLAN_SCOPE_CLAIM, args, NULL, false);
		owner = SPI_processed == 1 ? caller : scope_lookup(scope, info);
		info->owner = owner;
		if (!OidIsValid(owner))
			elog(ERROR, "idempotency scope \"%s\" vanished while it was claimed",
				 text_to_cstring(scope));
	}
	if (!has_privs_of_role(caller, owner))
		scope_denied(scope, owner, "use it");
	scope_memo_set(scope, caller, info);
	return true;
}

static bool
check_scope(text *scope, Oid caller, bool claim)
{
	ScopeInfo	info;

	return check_scope_info(scope, caller, claim, &info);
}

/* ------------------------------------------------------------------------
 * Holders
 *
 * A session that begins a key holds, at session level, an advisory lock
 * whose tag names its process ID and start time (field4 = 3, which SQL's
 * advisory-lock functions never use).  The key row records both, so anyone
 * can tell whether its holder is still there: the lock is free once the
 * session has ended or crashed, or released its advisory locks
 * (pg_advisory_unlock_all, DISCARD ALL: what a pooler runs when a client
 * leaves).
 * ------------------------------------------------------------------------
 */
#define IDEM_BEACON_FIELD4 3

static void
beacon_tag(LOCKTAG *tag, int32 pid, TimestampTz started)
{
	uint64		s = (uint64) started;

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) pid, (uint32) (s ^ (s >> 32)),
						 IDEM_BEACON_FIELD4);
}

/* Take this session's beacon, unless it already holds it. */
static void
hold_beacon(void)
{
	LOCKTAG		tag;

	beacon_tag(&tag, MyProcPid, MyStartTimestamp);
	if (!LockHeldByMe(&tag, ExclusiveLock))
		(void) LockAcquire(&tag, ExclusiveLock, true, false);
}

/* Is the session that began a key still holding it? */
static bool
holder_alive(int32 pid, TimestampTz started)
{
	LOCKTAG		tag;

	beacon_tag(&tag, pid, started);
	/* Our own locks never conflict with us: ask the lock table instead. */
	if (pid == MyProcPid && started == MyStartTimestamp)
		return LockHeldByMe(&tag, ExclusiveLock);
	if (LockAcquire(&tag, ShareLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return true;
	LockRelease(&tag, ShareLock, false);
	return false;
}

/* This session's lease on the keys it begins (NULL: none). */
static Datum
lease_interval(char *null)
{
	*null = steward_idem_lock_timeout_s > 0 ? ' ' : 'n';
	return seconds_interval(steward_idem_lock_timeout_s);
}

/* ------------------------------------------------------------------------
 * nowait: is the key (or the scope's first use) held by a transaction that
 * has not committed?
 *
 * An uncommitted holder's row is invisible to our snapshot, so look for it
 * with a dirty snapshot through the constraint's index, the way the
 * executor's own exclusion and unique checks do: the INSERT that follows
 * would wait for exactly such a row.
 * ------------------------------------------------------------------------
 */
static bool
text_equal(Datum a, Datum b)
{
	return DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, a, b));
}

/*
 * Index scan of table heap through index for the rows whose key columns
 * (the index's first nkeys columns, text) equal vals, under snapshot snap.
 * Returns the next such row in slot, or false.  The caller holds a lock on
 * both relations.
 */
static IndexScanDesc
key_scan_begin(Relation heap, Relation index, Snapshot snap, int nkeys, const Datum *vals)
{
	ScanKeyData skey[2];
	IndexScanDesc scan;

	Assert(nkeys >= 1 && nkeys <= 2);
	/* btree compares under the index's collation; steward_hash ignores it */
	for (int i = 0; i < nkeys; i++)
		ScanKeyEntryInitialize(&skey[i], 0, i + 1, BTEqualStrategyNumber, InvalidOid,
							   index->rd_indcollation[i], F_TEXTEQ, vals[i]);
	scan = index_beginscan(heap, index, snap, nkeys, 0);
	index_rescan(scan, skey, nkeys, NULL, 0);
	return scan;
}

static bool
key_scan_next(IndexScanDesc scan, int nkeys, const Datum *vals, TupleTableSlot *slot)
{
	Relation	index = scan->indexRelation;

	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		match = true;

		/* A hash index returns hash matches: recheck the values. */
		for (int i = 0; i < nkeys && match; i++)
		{
			bool		isnull;
			Datum		v = slot_getattr(slot, index->rd_index->indkey.values[i], &isnull);

			match = !isnull && text_equal(v, vals[i]);
		}
		if (match)
			return true;
	}
	return false;
}

/*
 * Does a row whose key columns equal vals exist uncommitted (inserted or
 * deleted by a transaction still running) in table IDEM_* tablename, found
 * through its index indexname?  AccessShareLock on both for the probe.
 */
static bool
row_held_uncommitted(const char *tablename, const char *indexname, int nkeys, const Datum *vals)
{
	SnapshotData dirty;
	DirectRead	rd;
	bool		held = false;

	InitDirtySnapshot(dirty);
	direct_read_begin(&rd, tablename, indexname, &dirty, nkeys, vals);
	while (!held && key_scan_next(rd.scan, nkeys, vals, rd.slot))
		held = TransactionIdIsValid(dirty.xmin) || TransactionIdIsValid(dirty.xmax);
	direct_read_end(&rd);
	return held;
}

static bool
key_held_uncommitted(Datum scope, Datum key)
{
	Datum		vals[2] = {scope, key};

	return row_held_uncommitted(IDEM_KEYS_TABLE, IDEM_KEYS_CONSTRAINT, 2, vals);
}

/*
 * A scope's first user has not committed yet: claiming it would wait for
 * that transaction (the claim's ON CONFLICT waits on the uncommitted row).
 */
static bool
scope_claim_uncommitted(Datum scope)
{
	return row_held_uncommitted(IDEM_SCOPES_TABLE, IDEM_SCOPES_PKEY, 1, &scope);
}

/* ------------------------------------------------------------------------
 * begin
 * ------------------------------------------------------------------------
 */
typedef struct BeginResult
{
	IdemOutcome outcome;
	bool		has_status;
	int32		status;
	Jsonb	   *response;		/* copied out of SPI memory, or NULL */
	bool		has_created;
	TimestampTz created_at;
} BeginResult;

static const char *const outcome_names[] = {
	[IDEM_NEW] = "new",
	[IDEM_REPLAY] = "replay",
	[IDEM_MISMATCH] = "mismatch",
	[IDEM_IN_PROGRESS] = "in_progress",
};

static void
take_created_at(BeginResult *res, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, col, &isnull);

	res->has_created = !isnull;
	if (!isnull)
		res->created_at = DatumGetTimestampTz(d);
}

/* What begin needs of an existing key's row. */
typedef struct KeyRow
{
	char	   *fingerprint;
	bool		completed;
	int32		status;
	Jsonb	   *response;		/* NULL if none; in the caller's context */
	bool		has_created;
	TimestampTz created_at;
	bool		expired;
	bool		has_holder;		/* holder_pid and holder_start set */
	int32		holder_pid;
	TimestampTz holder_start;
	bool		lease_over;
	TimestampTz locked_at;
} KeyRow;

static TimestampTz
slot_timestamp(TupleTableSlot *slot, DirectRead *rd, const char *column, bool *isnull)
{
	Datum		d = slot_getattr(slot, direct_attnum(rd, column), isnull);

	return *isnull ? 0 : DatumGetTimestampTz(d);
}

/*
 * The row of (scope, key) visible now, read through the key constraint's
 * index; false if there is none.  The response is copied into outcxt (it
 * outlives SPI).
 */
static bool
look_key(Datum scope, Datum key, KeyRow *row, MemoryContext outcxt)
{
	Datum		vals[2] = {scope, key};
	DirectRead	rd;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	bool		found;

	memset(row, 0, sizeof(KeyRow));
	direct_read_begin(&rd, IDEM_KEYS_TABLE, IDEM_KEYS_CONSTRAINT, NULL, 2, vals);
	found = key_scan_next(rd.scan, 2, vals, rd.slot);
	if (found)
	{
		TupleTableSlot *slot = rd.slot;
		bool		isnull;
		bool		pid_null;
		bool		start_null;
		Datum		d;
		TimestampTz t;

		d = slot_getattr(slot, direct_attnum(&rd, "fingerprint"), &isnull);
		row->fingerprint = isnull ? pstrdup("") : TextDatumGetCString(d);
		d = slot_getattr(slot, direct_attnum(&rd, "status"), &isnull);
		row->completed = !isnull;
		row->status = isnull ? 0 : DatumGetInt32(d);
		d = slot_getattr(slot, direct_attnum(&rd, "response"), &isnull);
		if (!isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(outcxt);

			row->response = DatumGetJsonbPCopy(d);
			MemoryContextSwitchTo(old);
		}
		row->created_at = slot_timestamp(slot, &rd, "created_at", &isnull);
		row->has_created = !isnull;
		t = slot_timestamp(slot, &rd, "expires_at", &isnull);
		row->expired = !isnull && t <= now;
		d = slot_getattr(slot, direct_attnum(&rd, "holder_pid"), &pid_null);
		row->holder_pid = pid_null ? 0 : DatumGetInt32(d);
		row->holder_start = slot_timestamp(slot, &rd, "holder_start", &start_null);
		row->has_holder = !pid_null && !start_null;
		t = slot_timestamp(slot, &rd, "lease_until", &isnull);
		row->lease_over = !isnull && t <= now;
		row->locked_at = slot_timestamp(slot, &rd, "locked_at", &isnull);
	}
	direct_read_end(&rd);
	return found;
}

/*
 * A key without a result may be taken over when the session that began it
 * is gone, or when the lease that session set has run out.  Rows from 0.1
 * name no holder; the upgrade gave them a lease.
 */
static bool
abandoned(const KeyRow *row)
{
	if (row->lease_over)
		return true;
	if (!row->has_holder)
		return false;
	return !holder_alive(row->holder_pid, row->holder_start);
}

/*
 * Take over an abandoned key: new holder, new lease, only if the row is
 * still the version judged abandoned (PLAN_TAKEOVER).  False if we lost.
 */
static bool
take_over(Datum scope, Datum key, const KeyRow *row)
{
	Datum		args[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};

	args[0] = scope;
	args[1] = key;
	args[2] = Int32GetDatum(MyProcPid);
	args[3] = TimestampTzGetDatum(MyStartTimestamp);
	args[4] = lease_interval(&nulls[4]);
	args[5] = TimestampTzGetDatum(row->locked_at);
	args[6] = Int32GetDatum(row->holder_pid);
	args[7] = TimestampTzGetDatum(row->holder_start);
	if (!row->has_holder)
		nulls[6] = nulls[7] = 'n';
	return run_plan(PLAN_TAKEOVER, args, nulls, false) == SPI_OK_UPDATE_RETURNING &&
		SPI_processed == 1;
}

/*
 * Decide the outcome from the existing row found by look_key.  Returns
 * false if the row expired (it has been deleted) or a takeover lost a race:
 * the caller looks again.
 */
static bool
judge_existing_row(Datum *args, const KeyRow *row, const char *fingerprint,
				   BeginResult *res)
{
	if (row->expired)
	{
		/* Expired keys count as new: drop the old row and insert afresh. */
		run_plan(PLAN_DELETE_EXPIRED, args, NULL, false);
		res->outcome = IDEM_EXPIRED;
		return false;
	}

	res->has_created = row->has_created;
	res->created_at = row->created_at;
	if (strcmp(row->fingerprint, fingerprint) != 0)
	{
		res->outcome = IDEM_MISMATCH;
		return true;
	}
	if (row->completed)
	{
		res->outcome = IDEM_REPLAY;
		res->has_status = true;
		res->status = row->status;
		res->response = row->response;
		return true;
	}
	if (abandoned(row))
	{
		if (take_over(args[0], args[1], row))
		{
			res->outcome = IDEM_NEW;
			take_created_at(res, 1);
			return true;
		}
		return false;
	}
	res->outcome = IDEM_IN_PROGRESS;
	return true;
}

static void
idempotency_begin_internal(FunctionCallInfo fcinfo, BeginResult *res)
{
	text	   *scope = required_text(fcinfo, 0, "scope", true);
	text	   *key = required_text(fcinfo, 1, "key", true);
	text	   *fp = required_text(fcinfo, 2, "fingerprint", false);
	bool		nowait = PG_ARGISNULL(3) ? false : PG_GETARG_BOOL(3);
	char	   *fingerprint = text_to_cstring(fp);
	char	   *scope_str = text_to_cstring(scope);
	StewardAsOwner ctx;
	Oid			caller;
	Datum		args[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		expired_seen = false;
	bool		scope_busy = false;
	ScopeInfo	info;
	KeyRow		row;
	MemoryContext callcxt = CurrentMemoryContext;
	int			attempt;

	memset(res, 0, sizeof(BeginResult));
	caller = idem_enter(&ctx);

	/*
	 * The first use of a scope by a transaction still running: claiming the
	 * scope would wait for it.  A no-wait request never waits: the scope's
	 * first request is in progress, so is this one.
	 */
	if (nowait && !OidIsValid(scope_owner(scope)) &&
		scope_claim_uncommitted(PointerGetDatum(scope)))
	{
		res->outcome = IDEM_IN_PROGRESS;
		scope_busy = true;
	}
	else
		(void) check_scope_info(scope, caller, true, &info);

	for (attempt = 0; attempt < IDEM_MAX_ATTEMPTS && !scope_busy; attempt++)
	{
		args[0] = PointerGetDatum(scope);
		args[1] = PointerGetDatum(key);
		if (look_key(args[0], args[1], &row, callcxt))
		{
			if (judge_existing_row(args, &row, fingerprint, res))
				break;
			if (res->outcome == IDEM_EXPIRED)
				expired_seen = true;
			continue;
		}

		if (nowait && key_held_uncommitted(PointerGetDatum(scope), PointerGetDatum(key)))
		{
			res->outcome = IDEM_IN_PROGRESS;
			break;
		}

		/*
		 * Waits here for an uncommitted holder of the same key; if it
		 * committed, nothing is inserted and the next round sees its row.
		 */
		args[2] = PointerGetDatum(fp);
		args[3] = IntervalPGetDatum(&info.retention);
		args[4] = Int32GetDatum(MyProcPid);
		args[5] = TimestampTzGetDatum(MyStartTimestamp);
		args[6] = lease_interval(&nulls[6]);
		run_plan(PLAN_INSERT, args, nulls, false);
		if (SPI_processed == 1)
		{
			res->outcome = IDEM_NEW;
			take_created_at(res, 1);
			break;
		}
	}
	/* Before the key can commit: the key is ours while this session is. */
	if (attempt < IDEM_MAX_ATTEMPTS && res->outcome == IDEM_NEW)
		hold_beacon();
	steward_as_owner_end(&ctx);

	if (attempt >= IDEM_MAX_ATTEMPTS)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not settle idempotency key \"%s\" in scope \"%s\"",
						text_to_cstring(key), scope_str),
				 errdetail("The key changed under concurrent requests %d times in a row.",
						   IDEM_MAX_ATTEMPTS),
				 errhint("Retry the request.")));

	if (expired_seen)
		steward_idem_count(scope_str, IDEM_EXPIRED, 1);
	steward_idem_count(scope_str, res->outcome, 1);
}

static void
return_begin_row(FunctionCallInfo fcinfo, const BeginResult *res)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[4];
	bool		nulls[4] = {0};

	InitMaterializedSRF(fcinfo, 0);
	values[0] = CStringGetTextDatum(outcome_names[res->outcome]);
	values[1] = Int32GetDatum(res->status);
	nulls[1] = !res->has_status;
	values[2] = PointerGetDatum(res->response);
	nulls[2] = res->response == NULL;
	values[3] = TimestampTzGetDatum(res->created_at);
	nulls[3] = !res->has_created;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * steward.idempotency_begin(scope, key, fingerprint, nowait) -> one row
 * (outcome, status, response, created_at): 'new' (the caller now holds
 * the key until its transaction ends), 'replay' (the stored result),
 * 'mismatch' (another fingerprint), 'in_progress' (an uncommitted or
 * live holder; with nowait also instead of waiting for one).  Waits, like
 * INSERT ON CONFLICT, for an uncommitted holder of the same key
 * (lock_timeout applies).  Raises 22004 for a NULL scope, key or
 * fingerprint, 22023 for an empty one or a scope or key over the size
 * limit, 42501 when the scope belongs to another role, 40001 when the key
 * changed under concurrent requests too often (retry), 55000 while the
 * database still has 0.1's objects.  The row is written in the caller's
 * transaction as the extension's table owner (plumbing/as_owner.c).
 */
Datum
steward_idempotency_begin(PG_FUNCTION_ARGS)
{
	BeginResult res;

	idempotency_begin_internal(fcinfo, &res);
	return_begin_row(fcinfo, &res);
	return (Datum) 0;
}

/* Same, but mismatch and in_progress are errors (SI422, SI409). */
Datum
steward_idempotency_begin_strict(PG_FUNCTION_ARGS)
{
	BeginResult res;

	idempotency_begin_internal(fcinfo, &res);
	if (res.outcome == IDEM_MISMATCH)
		ereport(ERROR,
				(errcode(ERRCODE_IDEM_MISMATCH),
				 errmsg("idempotency key \"%s\" was already used for a different request",
						text_to_cstring(PG_GETARG_TEXT_PP(1))),
				 errdetail("Scope \"%s\": the request fingerprint does not match the one stored with the key.",
						   text_to_cstring(PG_GETARG_TEXT_PP(0))),
				 errhint("Send a new idempotency key for a new request (HTTP 422).")));
	if (res.outcome == IDEM_IN_PROGRESS)
		ereport(ERROR,
				(errcode(ERRCODE_IDEM_IN_PROGRESS),
				 errmsg("idempotency key \"%s\" is held by a request in progress",
						text_to_cstring(PG_GETARG_TEXT_PP(1))),
				 errdetail("Scope \"%s\".", text_to_cstring(PG_GETARG_TEXT_PP(0))),
				 errhint("Retry after the first request finishes (HTTP 409).")));
	return_begin_row(fcinfo, &res);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * complete
 * ------------------------------------------------------------------------
 */
Datum
steward_idempotency_complete(PG_FUNCTION_ARGS)
{
	text	   *scope = required_text(fcinfo, 0, "scope", true);
	text	   *key = required_text(fcinfo, 1, "key", true);
	int32		status;
	Jsonb	   *response = NULL;
	StewardAsOwner ctx;
	Oid			caller;
	ScopeInfo	info;
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("idempotency status must not be null")));
	status = PG_GETARG_INT32(2);
	if (!PG_ARGISNULL(3))
	{
		response = PG_GETARG_JSONB_P(3);
		if (!JB_ROOT_IS_OBJECT(response) || JB_ROOT_IS_SCALAR(response))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("idempotency response must be a JSON object"),
					 errhint("Wrap the value, for example: jsonb_build_object('body', ...).")));
	}

	caller = idem_enter(&ctx);
	/* A scope that does not exist holds no keys: "not held" below. */
	if (!check_scope_info(scope, caller, false, &info))
		info.retention = *DatumGetIntervalP(seconds_interval(steward_idem_retention_s));
	args[0] = PointerGetDatum(scope);
	args[1] = PointerGetDatum(key);
	args[2] = Int32GetDatum(status);
	args[3] = PointerGetDatum(response);
	if (response == NULL)
		nulls[3] = 'n';
	args[4] = IntervalPGetDatum(&info.retention);
	run_plan(PLAN_COMPLETE, args, nulls, false);
	if (SPI_processed == 0)
	{
		bool		isnull;

		run_plan(PLAN_RESULT, args, nulls, false);
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("idempotency key \"%s\" in scope \"%s\" is not held",
							text_to_cstring(key), text_to_cstring(scope)),
					 errdetail("No key was begun and committed, or begun in this transaction; it may have expired."),
					 errhint("Call steward.idempotency_begin() first.")));
		if (!DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)))
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("idempotency key \"%s\" in scope \"%s\" was already completed with a different result",
							text_to_cstring(key), text_to_cstring(scope)),
					 errdetail("The stored status is %s.",
							   SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2))));
		/* Completing again with the same result is a no-op. */
	}
	steward_as_owner_end(&ctx);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * Scope management
 * ------------------------------------------------------------------------
 */

/*
 * The longest retention: keys expire at now() + retention, and timestamps
 * end in the year 294276.
 */
#define IDEM_MAX_RETENTION_YEARS 100000

static Interval *
max_retention(void)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->month = IDEM_MAX_RETENTION_YEARS * MONTHS_PER_YEAR;
	return iv;
}

/* A positive retention of at most IDEM_MAX_RETENTION_YEARS, or NULL (argument argno). */
static Datum
retention_arg(FunctionCallInfo fcinfo, int argno, char *null)
{
	Interval   *iv;

	*null = PG_ARGISNULL(argno) ? 'n' : ' ';
	if (PG_ARGISNULL(argno))
		return (Datum) 0;
	iv = PG_GETARG_INTERVAL_P(argno);
	if (!DatumGetBool(DirectFunctionCall2(interval_gt, IntervalPGetDatum(iv),
										  IntervalPGetDatum(palloc0(sizeof(Interval))))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idempotency retention must be positive"),
				 errdetail("Got %s.", DatumGetCString(DirectFunctionCall1(interval_out,
																		  IntervalPGetDatum(iv))))));
	/* Keys expire at now() + retention: that must stay a timestamp. */
	if (DatumGetBool(DirectFunctionCall2(interval_gt, IntervalPGetDatum(iv),
										 IntervalPGetDatum(max_retention()))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idempotency retention is too long"),
				 errdetail("Got %s; the longest is %d years.",
						   DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(iv))),
						   IDEM_MAX_RETENTION_YEARS)));
	return IntervalPGetDatum(iv);
}

/* The caller must have the privileges of the scope's owner. */
static Oid
require_scope_owner(text *scope, Oid caller, const char *what)
{
	Oid			owner = scope_owner(scope);

	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("idempotency scope \"%s\" does not exist", text_to_cstring(scope))));
	if (!has_privs_of_role(caller, owner))
		scope_denied(scope, owner, what);
	return owner;
}

/*
 * steward.create_idempotency_scope(scope, owner DEFAULT current_user,
 * retention DEFAULT NULL): reserve a scope for a role before anyone uses
 * it.  Creating one for another role needs membership in it, as CREATE
 * SCHEMA ... AUTHORIZATION does.  42710 if the scope exists.
 */
Datum
steward_create_idempotency_scope(PG_FUNCTION_ARGS)
{
	text	   *scope = required_text(fcinfo, 0, "scope", true);
	StewardAsOwner ctx;
	Oid			caller;
	Oid			owner;
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};

	args[2] = retention_arg(fcinfo, 2, &nulls[2]);
	scope_memo_forget();
	caller = idem_enter(&ctx);
	owner = PG_ARGISNULL(1) ? caller : PG_GETARG_OID(1);
	if (!OidIsValid(owner) || GetUserNameFromId(owner, true) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", owner)));
	check_is_member_of_role(caller, owner);
	args[0] = PointerGetDatum(scope);
	args[1] = ObjectIdGetDatum(owner);
	run_plan(PLAN_SCOPE_CREATE, args, nulls, false);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("idempotency scope \"%s\" already exists", text_to_cstring(scope)),
				 errhint("See steward.idempotency_scope_owners for the scopes you may use.")));
	steward_as_owner_end(&ctx);
	PG_RETURN_VOID();
}

/*
 * steward.alter_idempotency_scope_owner(scope, owner): as ALTER ... OWNER
 * TO: the caller needs the privileges of the current owner and membership
 * in the new one (superusers need neither).
 */
Datum
steward_alter_idempotency_scope_owner(PG_FUNCTION_ARGS)
{
	text	   *scope = required_text(fcinfo, 0, "scope", true);
	StewardAsOwner ctx;
	Oid			caller;
	Oid			owner;
	Datum		args[2];

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the new owner of an idempotency scope must not be null")));
	owner = PG_GETARG_OID(1);
	scope_memo_forget();
	caller = idem_enter(&ctx);
	(void) require_scope_owner(scope, caller, "change its owner");
	check_is_member_of_role(caller, owner);
	args[0] = PointerGetDatum(scope);
	args[1] = ObjectIdGetDatum(owner);
	run_plan(PLAN_SCOPE_SET_OWNER, args, NULL, false);
	steward_as_owner_end(&ctx);
	PG_RETURN_VOID();
}

/*
 * steward.drop_idempotency_scope(scope): the owner removes a scope and
 * every key in it (waiting for transactions that hold one).  Returns the
 * number of keys removed.
 */
Datum
steward_drop_idempotency_scope(PG_FUNCTION_ARGS)
{
	text	   *scope = required_text(fcinfo, 0, "scope", true);
	StewardAsOwner ctx;
	Oid			caller;
	Datum		args[1] = {PointerGetDatum(scope)};
	uint64		n;

	scope_memo_forget();
	caller = idem_enter(&ctx);
	(void) require_scope_owner(scope, caller, "drop it");
	run_plan(PLAN_SCOPE_DROP_KEYS, args, NULL, false);
	n = SPI_processed;
	run_plan(PLAN_SCOPE_DROP, args, NULL, false);
	steward_as_owner_end(&ctx);
	PG_RETURN_INT64((int64) n);
}

/*
 * steward.set_idempotency_retention(scope, retention): override
 * steward.idempotency_retention for one scope (NULL removes the override).
 * Like a begin, it claims a scope nobody has used; otherwise the caller
 * needs the privileges of the scope's owner.
 */
Datum
steward_set_idempotency_retention(PG_FUNCTION_ARGS)
{
	text	   *scope = required_text(fcinfo, 0, "scope", true);
	StewardAsOwner ctx;
	Oid			caller;
	Datum		args[2];
	char		nulls[2] = {' ', ' '};

	args[1] = retention_arg(fcinfo, 1, &nulls[1]);
	scope_memo_forget();
	caller = idem_enter(&ctx);
	if (check_scope(scope, caller, nulls[1] != 'n'))
	{
		args[0] = PointerGetDatum(scope);
		run_plan(PLAN_SCOPE_SET_RETENTION, args, nulls, false);
	}
	scope_memo_forget();		/* it holds the retention before this change */
	steward_as_owner_end(&ctx);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * purge
 * ------------------------------------------------------------------------
 */

/*
 * Delete up to "batch" expired keys (oldest first, skipping rows other
 * transactions hold) in the current transaction; count them per scope.
 * The caller is connected to SPI as the table owner.
 */
static int64
purge_one_batch(int batch)
{
	Datum		args[1] = {Int32GetDatum(batch)};
	uint64		n;

	run_plan(PLAN_PURGE, args, NULL, false);
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		char	   *scope = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		steward_idem_count(scope, IDEM_PURGED, 1);
	}
	return (int64) n;
}

/* Used by the purge worker: one batch, as the owner. */
int64
steward_idem_purge_batch_now(int batch)
{
	Oid			relid = steward_relid(IDEM_KEYS_TABLE, true);
	StewardAsOwner ctx;
	int64		n;

	if (!OidIsValid(relid))
		return -1;
	steward_as_owner_begin(relid, &ctx);
	n = purge_one_batch(batch);
	steward_as_owner_end(&ctx);
	return n;
}

/*
 * steward.idempotency_purge(): all expired keys, in batches of
 * steward.idempotency_purge_batch, within the caller's transaction.
 */
Datum
steward_idempotency_purge(PG_FUNCTION_ARGS)
{
	StewardAsOwner ctx;
	int64		total = 0;
	int64		n;

	steward_as_owner_begin(steward_relid(IDEM_KEYS_TABLE, false), &ctx);
	do
	{
		CHECK_FOR_INTERRUPTS();
		n = purge_one_batch(steward_idem_purge_batch);
		total += n;
	} while (n >= steward_idem_purge_batch);
	steward_as_owner_end(&ctx);
	PG_RETURN_INT64(total);
}

/*
 * Run steward._capacity_sample() as the owner of the samples table, if the
 * extension is installed in this database.
 */
void
steward_capacity_sample(void)
{
	Oid			relid = steward_relid("capacity_samples", true);
	StewardAsOwner ctx;

	if (!OidIsValid(relid))
		return;
	steward_as_owner_begin(relid, &ctx);
	if (SPI_execute("SELECT steward._capacity_sample()", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not sample table sizes");
	steward_as_owner_end(&ctx);
}
