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
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class_d.h"
#include "catalog/pg_collation_d.h"
#include "catalog/pg_index.h"
#include "catalog/pg_trigger_d.h"
#include "catalog/pg_type_d.h"
#include "common/hashfn.h"
#include "commands/defrem.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "storage/lock.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"

#include "pg_steward.h"
#include "governor/governor.h"
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
PG_FUNCTION_INFO_V1(steward_idempotency_holder_alive);

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

/*
 * From _PG_init: define this part's steward.* settings.  Takes no lock and
 * raises nothing: a bad value set before the library loaded is core's
 * WARNING (define_custom_variable), and the default stays.
 */
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
							"0 turns the worker off: expired keys stay until steward.idempotency_purge() runs.",
							&steward_idem_purge_interval_s,
							60, 0, 86400,
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
 * Saved SPI plans (steward_spi_execute_own), prepared on first use (as the table owner, with the
 * pinned search_path) and kept for the life of the backend; the plan cache
 * revalidates them if the extension is dropped and created again.
 * ------------------------------------------------------------------------
 */
typedef enum IdemPlan
{
	PLAN_SCOPE_CLAIM,
	PLAN_INSERT,
	PLAN_DELETE_EXPIRED,
	PLAN_DELETE_LEFTOVER,
	PLAN_TAKEOVER,
	PLAN_COMPLETE,
	PLAN_RESULT,
	PLAN_PURGE,
	PLAN_PURGE_V01,
	PLAN_SCOPE_CREATE,
	PLAN_SCOPE_SET_OWNER,
	PLAN_SCOPE_SET_RETENTION,
	PLAN_SCOPE_DROP_KEYS,
	PLAN_SCOPE_DROP,
	PLAN_SCOPE_KEYS_LEFT,
	NUM_PLANS
} IdemPlan;

/*
 * The owner context of the begin, complete or scope function running
 * (idem_enter), entered lazily: run_plan pins search_path and connects
 * SPI in it before the first statement.  NULL in the purge functions,
 * which enter with SPI connected.  Reset by every entry, so a context an
 * error abandoned is never used.
 */
static StewardAsOwner *idem_ctx = NULL;

static const char *const plan_sql[NUM_PLANS] = {
	[PLAN_SCOPE_CLAIM] =
	"INSERT INTO steward.idempotency_scopes (scope, owner) VALUES ($1, $2)"
	" ON CONFLICT (scope) DO NOTHING RETURNING claim",
	[PLAN_INSERT] =
	"INSERT INTO steward.idempotency_keys"
	"       (scope, key, fingerprint, expires_at, holder_pid, holder_start, lease_until, claim)"
	" VALUES ($1, $2, $3, now() + $4, $5, $6, now() + $7, $8)"
	" ON CONFLICT DO NOTHING RETURNING created_at",
	[PLAN_DELETE_EXPIRED] =
	"DELETE FROM steward.idempotency_keys"
	" WHERE scope = $1 AND key = $2 AND expires_at <= now()"
	"   AND NOT (status IS NULL AND holder_pid IS NOT NULL AND holder_start IS NOT NULL"
	"            AND (lease_until IS NULL OR lease_until > now())"
	"            AND steward._idempotency_holder_alive(holder_pid, holder_start))",
	/* A key another claim of the scope's name left (KeyClaim). */
	[PLAN_DELETE_LEFTOVER] =
	"DELETE FROM steward.idempotency_keys"
	" WHERE scope = $1 AND key = $2 AND claim IS DISTINCT FROM $3",
	/* Only the row version judged abandoned: a concurrent taker wins alone. */
	[PLAN_TAKEOVER] =
	"UPDATE steward.idempotency_keys"
	"   SET locked_at = now(), holder_pid = $3, holder_start = $4, lease_until = now() + $5"
	" WHERE scope = $1 AND key = $2 AND status IS NULL AND locked_at = $6"
	"   AND holder_pid IS NOT DISTINCT FROM $7 AND holder_start IS NOT DISTINCT FROM $8"
	"   AND claim IS NOT DISTINCT FROM $9"
	" RETURNING created_at",
	[PLAN_COMPLETE] =
	"UPDATE steward.idempotency_keys"
	"   SET status = $3, response = $4, completed_at = now(),"
	"       expires_at = now() + $5"
	" WHERE scope = $1 AND key = $2 AND status IS NULL AND claim IS NOT DISTINCT FROM $6"
	" RETURNING 1",
	[PLAN_RESULT] =
	"SELECT status = $3 AND response IS NOT DISTINCT FROM $4, status"
	"  FROM steward.idempotency_keys"
	" WHERE scope = $1 AND key = $2 AND claim IS NOT DISTINCT FROM $6",
	/* Not a key in progress whose holder lives and whose lease lasts. */
	[PLAN_PURGE] =
	"DELETE FROM steward.idempotency_keys WHERE ctid = ANY (ARRAY("
	"  SELECT ctid FROM steward.idempotency_keys WHERE expires_at <= now()"
	"   AND NOT (status IS NULL AND holder_pid IS NOT NULL AND holder_start IS NOT NULL"
	"            AND (lease_until IS NULL OR lease_until > now())"
	"            AND steward._idempotency_holder_alive(holder_pid, holder_start))"
	"   ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED))"
	" RETURNING scope",
	/* 0.1's keys, before ALTER EXTENSION UPDATE: no holders. */
	[PLAN_PURGE_V01] =
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
	[PLAN_SCOPE_KEYS_LEFT] =
	"SELECT 1 FROM steward.idempotency_keys WHERE scope = $1 LIMIT 1",
};

static const int plan_nargs[NUM_PLANS] = {
	[PLAN_SCOPE_CLAIM] = 2,
	[PLAN_INSERT] = 8,[PLAN_DELETE_EXPIRED] = 2,[PLAN_DELETE_LEFTOVER] = 3,
	[PLAN_TAKEOVER] = 9,[PLAN_COMPLETE] = 6,[PLAN_RESULT] = 6,[PLAN_PURGE] = 1,[PLAN_PURGE_V01] = 1,
	[PLAN_SCOPE_CREATE] = 3,[PLAN_SCOPE_SET_OWNER] = 2,[PLAN_SCOPE_SET_RETENTION] = 2,
	[PLAN_SCOPE_DROP_KEYS] = 1,[PLAN_SCOPE_DROP] = 1,[PLAN_SCOPE_KEYS_LEFT] = 1,
};

static const Oid plan_argtypes[NUM_PLANS][9] = {
	[PLAN_SCOPE_CLAIM] = {TEXTOID, REGROLEOID},
	[PLAN_INSERT] = {TEXTOID, TEXTOID, TEXTOID, INTERVALOID, INT4OID, TIMESTAMPTZOID,
	INTERVALOID, UUIDOID},
	[PLAN_DELETE_EXPIRED] = {TEXTOID, TEXTOID},
	[PLAN_DELETE_LEFTOVER] = {TEXTOID, TEXTOID, UUIDOID},
	[PLAN_TAKEOVER] = {TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, INTERVALOID,
	TIMESTAMPTZOID, INT4OID, TIMESTAMPTZOID, UUIDOID},
	[PLAN_COMPLETE] = {TEXTOID, TEXTOID, INT4OID, JSONBOID, INTERVALOID, UUIDOID},
	[PLAN_RESULT] = {TEXTOID, TEXTOID, INT4OID, JSONBOID, INTERVALOID, UUIDOID},
	[PLAN_PURGE] = {INT4OID},
	[PLAN_PURGE_V01] = {INT4OID},
	[PLAN_SCOPE_CREATE] = {TEXTOID, REGROLEOID, INTERVALOID},
	[PLAN_SCOPE_SET_OWNER] = {TEXTOID, REGROLEOID},
	[PLAN_SCOPE_SET_RETENTION] = {TEXTOID, INTERVALOID},
	[PLAN_SCOPE_DROP_KEYS] = {TEXTOID},
	[PLAN_SCOPE_DROP] = {TEXTOID},
	[PLAN_SCOPE_KEYS_LEFT] = {TEXTOID},
};

/*
 * read_only is false for every statement, also the lookups: in READ
 * COMMITTED that gives each one a fresh snapshot, so a lookup after waiting
 * for a holder sees the row the holder committed.
 */
/*
 * The SQL function running now, as its errors name it
 * ("steward.idempotency_begin()"), set first by each entry point that may
 * write (idem_entry); NULL in the other paths that reach a write (the
 * purge worker, DROP OWNED / REASSIGN OWNED), which core refuses on a
 * standby before they get here.
 */
static const char *idem_call = NULL;

static inline void
idem_entry(const char *call)
{
	idem_call = call;
}

/*
 * Refuse (25006) a write of the keys or scopes tables in a read-only
 * transaction before core's PreventCommandIfReadOnly does: its "cannot
 * execute INSERT in a read-only transaction" named a statement the caller
 * never wrote, with that statement as CONTEXT, and no way out (readme42
 * R10).  During recovery as every other writer of pg_steward's
 * (steward_require_writable: "cannot execute steward.idempotency_begin()
 * during recovery", a HINT naming the primary; closing45 Noticed 4, msg7
 * item 1); in a read-only transaction on a primary with the idempotency
 * functions' own words, which say what is written.  A begin of a key that
 * has its result only reads, so a replay still works on a standby.
 * Reads backend-local state; no lock.
 */
static void
idem_require_writable(void)
{
	if (!XactReadOnly)
		return;					/* a standby's transactions are read-only */
	if (RecoveryInProgress() && idem_call != NULL)
		steward_require_writable(idem_call);
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("cannot write idempotency keys or scopes in a read-only transaction"),
			 errdetail("A new key, a result, the removal of an expired key and a new scope are written to pg_steward's tables; only a key that has its result is replayed without a write."),
			 RecoveryInProgress() ?
			 errhint("Connect to the primary: a hot standby cannot write (libpq's target_session_attrs=read-write finds it).") :
			 errhint("Run it in a read-write transaction (SET transaction_read_only = off), on the primary.")));
}

/*
 * The statements' plans are kept with pg_steward's other own statements
 * (steward_spi_execute_own: found by text and argument types, kept for
 * the backend).
 */
static int
run_plan(IdemPlan p, Datum *args, const char *nulls, bool read_only)
{
	int			rc;

	/* Every plan but the SELECTs writes. */
	if (strncmp(plan_sql[p], "SELECT", 6) != 0)
		idem_require_writable();
	if (idem_ctx != NULL)
		steward_as_owner_spi(idem_ctx);
	rc = steward_spi_execute_own(plan_sql[p], plan_nargs[p], (Oid *) plan_argtypes[p],
								 args, nulls, InvalidSnapshot, read_only, 0);
	if (rc < 0)
		elog(ERROR, "idempotency statement failed: %s", SPI_result_code_string(rc));
	return rc;
}

/* A read-only statement under snapshot snap (no NULL arguments). */
static int
run_plan_snapshot(IdemPlan p, Datum *args, Snapshot snap)
{
	int			rc;

	if (idem_ctx != NULL)
		steward_as_owner_spi(idem_ctx);
	rc = steward_spi_execute_own(plan_sql[p], plan_nargs[p], (Oid *) plan_argtypes[p],
								 args, NULL, snap, true, 0);
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

/* t + iv, as the statements' now() + interval computes it (22008 on overflow). */
static Datum
timestamp_plus(TimestampTz t, const Interval *iv)
{
	return DirectFunctionCall2(timestamptz_pl_interval, TimestampTzGetDatum(t),
							   IntervalPGetDatum(iv));
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
 * The extension's two tables, as this backend resolved them
 *
 * Every begin and complete needs the OIDs of both tables and of the indexes
 * it reads through, and a dozen column numbers: resolved each time, that
 * was some twenty catalog cache lookups per begin + complete.  They change
 * only through DDL on the tables (ALTER EXTENSION UPDATE, DROP and CREATE
 * EXTENSION, an index rebuilt or added), which invalidates the tables'
 * relcache entries (an index's DDL the table's too), and with them this
 * copy (idem_rels_invalidate); a full invalidation drops it as well.
 * ------------------------------------------------------------------------
 */
typedef enum KeyCol
{
	KC_SCOPE,
	KC_KEY,
	KC_FINGERPRINT,
	KC_STATUS,
	KC_RESPONSE,
	KC_CREATED_AT,
	KC_LOCKED_AT,
	KC_COMPLETED_AT,
	KC_EXPIRES_AT,
	KC_HOLDER_PID,
	KC_HOLDER_START,
	KC_LEASE_UNTIL,
	KC_CLAIM,
	KC_NUM
} KeyCol;

static const char *const key_col_names[KC_NUM] = {
	[KC_SCOPE] = "scope",
	[KC_KEY] = "key",
	[KC_FINGERPRINT] = "fingerprint",
	[KC_STATUS] = "status",
	[KC_RESPONSE] = "response",
	[KC_CREATED_AT] = "created_at",
	[KC_LOCKED_AT] = "locked_at",
	[KC_COMPLETED_AT] = "completed_at",
	[KC_EXPIRES_AT] = "expires_at",
	[KC_HOLDER_PID] = "holder_pid",
	[KC_HOLDER_START] = "holder_start",
	[KC_LEASE_UNTIL] = "lease_until",
	[KC_CLAIM] = "claim",
};

typedef struct IdemRels
{
	bool		valid;
	Oid			keys;
	Oid			keys_index;		/* IDEM_KEYS_CONSTRAINT's index */
	Oid			scopes;
	Oid			scopes_pkey;
	AttrNumber	kcol[KC_NUM];
	AttrNumber	scope_key;
	AttrNumber	scope_owner;
	AttrNumber	scope_retention;
	AttrNumber	scope_claim;
	int			keys_live_cols; /* undropped columns of keys; -1: not counted yet */
	int			keys_plain_indexes; /* 1: no index expression or predicate on
									 * keys; 0: some; -1: not looked yet */
} IdemRels;

static IdemRels idem_rels;
static bool idem_rels_callback_registered = false;
static uint64 relcache_invals = 0;	/* callbacks seen, of any relation */

static void
idem_rels_invalidate(Datum arg, Oid relid)
{
	relcache_invals++;
	if (!OidIsValid(relid) || relid == idem_rels.keys || relid == idem_rels.scopes)
		idem_rels.valid = false;
}

/* Attribute number of a column the extension's table must have. */
static AttrNumber
required_attnum(Oid relid, const char *column)
{
	AttrNumber	attnum = get_attnum(relid, column);

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", column,
						get_rel_name(relid)),
				 errdetail("The extension's SQL objects do not match the pg_steward library."),
				 errhint(STEWARD_HINT_UPDATE)));
	return attnum;
}

/*
 * The tables, indexes and columns (idem_rels), resolved if needed.
 * Without the columns 0.2 added, the database still has 0.1's objects,
 * where scopes have no owners: nothing is done until the extension is
 * updated (55000).  42P01 without the extension.
 */
static const IdemRels *
idem_rels_get(void)
{
	IdemRels	r;
	uint64		invals_before;

	if (idem_rels.valid)
		return &idem_rels;
	if (!idem_rels_callback_registered)
	{
		CacheRegisterRelcacheCallback(idem_rels_invalidate, (Datum) 0);
		idem_rels_callback_registered = true;
	}
	invals_before = relcache_invals;
	r.keys = steward_relid(IDEM_KEYS_TABLE, false);
	r.scopes = steward_relid(IDEM_SCOPES_TABLE, false);
	r.scope_owner = get_attnum(r.scopes, "owner");
	if (r.scope_owner == InvalidAttrNumber ||
		get_attnum(r.keys, "holder_pid") == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("idempotency scopes of this database have no owners yet"),
				 errdetail("The extension's SQL objects are older than the pg_steward library."),
				 errhint(STEWARD_HINT_UPDATE)));
	r.scope_retention = required_attnum(r.scopes, "retention");
	r.scope_key = required_attnum(r.scopes, "scope");
	r.scope_claim = required_attnum(r.scopes, "claim");
	for (int i = 0; i < KC_NUM; i++)
		r.kcol[i] = required_attnum(r.keys, key_col_names[i]);
	r.keys_index = steward_index_relid(r.keys, IDEM_KEYS_CONSTRAINT);
	r.keys_live_cols = -1;		/* insert_direct counts them from the open table */
	r.keys_plain_indexes = -1;	/* direct_write_begin looks at the open indexes */
	r.scopes_pkey = steward_index_relid(r.scopes, IDEM_SCOPES_PKEY);

	/*
	 * Kept only if no invalidation arrived while it was resolved (the
	 * lookups above may process invalidation messages): one that did may
	 * concern what was read before it.  This call uses it either way, as
	 * it would have used the same lookups done one by one.
	 */
	r.valid = relcache_invals == invals_before;
	idem_rels = r;
	return &idem_rels;
}

/* ------------------------------------------------------------------------
 * Entering the extension's tables
 *
 * Every function checks privileges as the caller, then reads and writes
 * the key and scope tables as their owner (src/plumbing/as_owner.c).  The
 * caller's user ID is taken before the switch.  The owner's context is
 * entered lazily: the direct reads and writes below resolve no names and
 * run nobody's code, so search_path is pinned and SPI connected only
 * before the first SQL statement (run_plan), and before a direct write
 * would run code others defined (it does not: it leaves such tables to
 * the statements).  A begin of a new key or a replay, and a complete,
 * thus skip a GUC nest level and an SPI connection, and the caller's next
 * statement the search_path recomputation the pin forced.
 * ------------------------------------------------------------------------
 */
static Oid
idem_enter(StewardAsOwner *ctx)
{
	Oid			caller = GetUserId();

	steward_as_owner_begin_lazy(idem_rels_get()->keys, ctx);
	idem_ctx = ctx;
	return caller;
}

static void
idem_leave(StewardAsOwner *ctx)
{
	idem_ctx = NULL;
	steward_as_owner_end(ctx);
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
 * Start reading the rows of table heapoid whose key (the first nkeys
 * columns of its index indexoid) equals vals: under snap, or when snap is
 * NULL the statement snapshot described above.
 */
static void
direct_read_begin(DirectRead *rd, Oid heapoid, Oid indexoid, Snapshot snap, int nkeys,
				  const Datum *vals)
{
	rd->heap = table_open(heapoid, AccessShareLock);
	rd->index = index_open(indexoid, AccessShareLock);
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
typedef struct KeyClaim
{
	bool		isnull;			/* a row from before the claims (0.2 upgrade) */
	pg_uuid_t	uuid;
} KeyClaim;

typedef struct ScopeInfo
{
	Oid			owner;
	Interval	retention;
	KeyClaim	claim;			/* the scope row's claim, stamped on its keys */
	bool		claimed;		/* this call inserted the scope's row */
} ScopeInfo;

/*
 * Claims.  Each scope row has a claim identity (its column claim, a random
 * UUID given when the row is inserted; NULL for the rows the 0.1 -> 0.2
 * upgrade made), and begin stamps it on every key it writes.  A key whose
 * claim IS DISTINCT FROM its scope row's is not the scope's: another claim
 * of the same name left it (a restore of the keys table alone, a manual
 * DELETE of the scope's row; src/idempotency/README.md "Keys without a
 * scope").  Begin deletes such a key when it meets it, as an expired one,
 * and never replays it; complete does not see it.  This costs begin
 * nothing more than a 16-byte column: it only compares the claim of the
 * one row it reads anyway.
 */
static void
claim_from_datum(KeyClaim *claim, Datum d, bool isnull)
{
	claim->isnull = isnull;
	if (isnull)
		memset(&claim->uuid, 0, sizeof(pg_uuid_t));
	else
		memcpy(&claim->uuid, DatumGetUUIDP(d), sizeof(pg_uuid_t));
}

static bool
claim_equal(const KeyClaim *a, const KeyClaim *b)
{
	if (a->isnull || b->isnull)
		return a->isnull == b->isnull;
	return memcmp(&a->uuid, &b->uuid, sizeof(pg_uuid_t)) == 0;
}

/* The claim as a statement's parameter (uuid, NULL: 'n' in *null). */
static Datum
claim_arg(const KeyClaim *claim, char *null)
{
	*null = claim->isnull ? 'n' : ' ';
	return claim->isnull ? (Datum) 0 : UUIDPGetDatum(&claim->uuid);
}

/*
 * Where this backend last found each scope's row, so that the next
 * transaction's check of the scope reads that row by its TID instead of
 * descending the scopes' primary key.  Only a hint: the row there is used
 * only if it is visible to the snapshot and has the scope -- then it is
 * the row the primary key would find, as a snapshot sees one version of
 * a key at most -- and only if its block is still part of the table
 * (VACUUM may have truncated it since) and the table has the same
 * relfilenode; otherwise the index is read and the hint replaced.
 */
typedef struct ScopeHint
{
	char		scope[IDEM_MAX_KEY_BYTES + 1];	/* hash key */
	Oid			relfilenode;
	ItemPointerData tid;
} ScopeHint;

#define SCOPE_HINTS_MAX 4096	/* then start again from empty */

static HTAB *scope_hints = NULL;

static ScopeHint *
scope_hint(const char *name, bool create)
{
	if (scope_hints != NULL && create && hash_get_num_entries(scope_hints) >= SCOPE_HINTS_MAX)
	{
		hash_destroy(scope_hints);
		scope_hints = NULL;
	}
	if (scope_hints == NULL)
	{
		HASHCTL		ctl;

		if (!create)
			return NULL;
		ctl.keysize = IDEM_MAX_KEY_BYTES + 1;
		ctl.entrysize = sizeof(ScopeHint);
		ctl.hcxt = TopMemoryContext;
		scope_hints = hash_create("pg_steward idempotency scope hints", 64, &ctl,
								  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	return hash_search(scope_hints, name, create ? HASH_ENTER : HASH_FIND, NULL);
}

/* The row of the scope at its hinted TID, into slot; false if none. */
static bool
scope_hint_fetch(Relation heap, const char *name, Datum scope, Snapshot snap,
				 TupleTableSlot *slot)
{
	ScopeHint  *hint = scope_hint(name, false);
	bool		isnull;
	Datum		d;

	if (hint == NULL || hint->relfilenode != heap->rd_node.relNode ||
		ItemPointerGetBlockNumber(&hint->tid) >= RelationGetNumberOfBlocks(heap) ||
		!table_tuple_fetch_row_version(heap, &hint->tid, snap, slot))
		return false;
	d = slot_getattr(slot, idem_rels.scope_key, &isnull);
	return !isnull && text_equal(d, scope);
}

/*
 * Owner of a scope, or InvalidOid if the scope does not exist; with info,
 * also its retention.  Read under the snapshot a statement of ours would
 * take here (see direct_read_begin), or with latest a snapshot taken now
 * (GetLatestSnapshot: what a catalog lookup sees, whatever the isolation
 * level), with the locks a SELECT takes, as the table owner (the caller
 * is in idem_enter): at its hinted TID (scope_hint_fetch), else through
 * the scopes' primary key.
 */
static Oid
scope_lookup_in(text *scope, ScopeInfo *info, ItemPointer tid, bool latest)
{
	Datum		val = PointerGetDatum(scope);
	char		name[IDEM_MAX_KEY_BYTES + 1];
	Relation	heap;
	Snapshot	snap;
	TupleTableSlot *slot;
	bool		found;
	Oid			owner = InvalidOid;
	bool		have_retention = false;

	const IdemRels *rels = idem_rels_get();

	text_to_cstring_buffer(scope, name, sizeof(name));
	heap = table_open(rels->scopes, AccessShareLock);
	rels = idem_rels_get();		/* DDL that committed while we waited for the lock */
	CommandCounterIncrement();
	snap = RegisterSnapshot(latest ? GetLatestSnapshot() : GetTransactionSnapshot());
	slot = table_slot_create(heap, NULL);
	found = scope_hint_fetch(heap, name, val, snap, slot);
	if (!found)
	{
		/* As an index scan's executor node: the index locked after the snapshot. */
		Relation	index = index_open(rels->scopes_pkey, AccessShareLock);
		IndexScanDesc scan = key_scan_begin(heap, index, snap, 1, &val);

		found = key_scan_next(scan, 1, &val, slot);
		index_endscan(scan);
		index_close(index, AccessShareLock);
		if (found)
		{
			ScopeHint  *hint = scope_hint(name, true);

			hint->relfilenode = heap->rd_node.relNode;
			hint->tid = slot->tts_tid;
		}
	}
	if (found && tid != NULL)
		*tid = slot->tts_tid;
	if (found)
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, rels->scope_owner, &isnull);

		if (!isnull)
			owner = DatumGetObjectId(d);
		d = slot_getattr(slot, rels->scope_retention, &isnull);
		if (!isnull && info != NULL)
		{
			info->retention = *DatumGetIntervalP(d);
			have_retention = true;
		}
		if (info != NULL)
		{
			d = slot_getattr(slot, rels->scope_claim, &isnull);
			claim_from_datum(&info->claim, d, isnull);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	table_close(heap, AccessShareLock);
	if (info != NULL)
	{
		info->owner = owner;
		if (!found)
			claim_from_datum(&info->claim, (Datum) 0, true);
		if (!have_retention)
			info->retention = *DatumGetIntervalP(seconds_interval(steward_idem_retention_s));
	}
	return owner;
}

static Oid
scope_lookup(text *scope, ScopeInfo *info, ItemPointer tid)
{
	return scope_lookup_in(scope, info, tid, false);
}

static Oid
scope_owner(text *scope)
{
	return scope_lookup(scope, NULL, NULL);
}

/* ------------------------------------------------------------------------
 * Scope locks
 *
 * No key may outlive its scope (review11 R11-7): a key begun in a scope
 * that a concurrent transaction drops must either be deleted with it or
 * not be written at all; otherwise it stays behind without a scope, and
 * whoever claims the name next is served the old tenant's responses.  So
 * a begin holds, until its transaction ends, a ShareLock on a lock tag
 * of the scope -- an advisory tag (database, 64-bit hash of the name,
 * field4 = 4: SQL's advisory-lock functions use 1 and 2, holders' beacons
 * 3) -- taken before it looks at the scope, and everything that removes
 * a scope (drop_idempotency_scope, DROP OWNED BY its owner) takes an
 * ExclusiveLock on it first.  A drop thus waits for the transactions that
 * began keys in the scope and then, in READ COMMITTED, deletes what they
 * committed (its statements take snapshots after the wait); a begin that
 * waited for a drop finds the scope gone and claims it afresh.  Under
 * REPEATABLE READ a snapshot older than the other side's commit cannot
 * see it: the drop then finds keys it could not delete, the begin a scope
 * that is no longer there, and either raises 40001.  A complete takes the
 * ShareLock too, and the owner changes (alter_idempotency_scope_owner,
 * REASSIGN OWNED BY) the ExclusiveLock: a transaction that used the scope
 * under its old owner ends before the owner changes, so it never reads or
 * completes the new owner's keys (review12 R12-7); the privilege check
 * of a begin or complete comes after its lock.  (For the drop, complete
 * needs no lock: it writes only a row that exists, and the drop's DELETE
 * waits for that row's writer.)  A hash collision between two names only
 * makes a drop or an owner change wait for users of the other scope.
 * ------------------------------------------------------------------------
 */
#define IDEM_SCOPE_LOCK_FIELD4 4

static void
scope_lock_tag(LOCKTAG *tag, const char *name, int len)
{
	uint64		h = hash_bytes_extended((const unsigned char *) name, len, 0);

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) (h >> 32), (uint32) h,
						 IDEM_SCOPE_LOCK_FIELD4);
}

/*
 * Lock the scope for the rest of the transaction: ShareLock to begin keys
 * in it, ExclusiveLock to drop it.  Waits (lock_timeout applies) unless
 * nowait; then returns false if the lock is not available at once.
 */
static bool
scope_lock(const char *name, int len, LOCKMODE mode, bool nowait)
{
	LOCKTAG		tag;

	scope_lock_tag(&tag, name, len);
	return LockAcquire(&tag, mode, false, nowait) != LOCKACQUIRE_NOT_AVAIL;
}

static bool
scope_lock_text(text *scope, LOCKMODE mode, bool nowait)
{
	return scope_lock(VARDATA_ANY(scope), VARSIZE_ANY_EXHDR(scope), mode, nowait);
}

/*
 * REPEATABLE READ: is the scope row version at tid, which the transaction
 * snapshot sees, still the current one?  Not if a transaction that
 * committed after the snapshot was taken dropped the scope (or changed
 * its row): a begin must not act on that old view.
 */
static void
scope_row_check_current(text *scope, ItemPointer tid)
{
	Relation	heap;
	Snapshot	snap;
	TupleTableSlot *slot;
	bool		current;

	if (!IsolationUsesXactSnapshot())
		return;
	heap = table_open(idem_rels_get()->scopes, AccessShareLock);
	CommandCounterIncrement();
	snap = RegisterSnapshot(GetLatestSnapshot());
	slot = table_slot_create(heap, NULL);
	current = table_tuple_fetch_row_version(heap, tid, snap, slot);
	ExecDropSingleTupleTableSlot(slot);
	UnregisterSnapshot(snap);
	table_close(heap, AccessShareLock);
	if (!current)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent change of idempotency scope \"%s\"",
						text_to_cstring(scope)),
				 errdetail("The scope was dropped or changed by a transaction that committed after this transaction's snapshot was taken."),
				 errhint("Retry the transaction.")));
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

/*
 * The HINT of scope_denied: the statements that let the calling role
 * (caller_id, the role checked, not the one pg_steward runs as) use
 * scope, named for it: a membership in the owner (owner, named owner_name;
 * NULL when the owner is gone), which PostgreSQL's privileges then carry,
 * or the scope given to the caller by steward.alter_idempotency_scope_owner;
 * a NOINHERIT member already has the membership and needs SET ROLE.
 */
static char *
scope_denied_hint(text *scope, Oid owner, const char *owner_name, Oid caller_id)
{
	char	   *caller = GetUserNameFromId(caller_id, false);
	char	   *give = psprintf("SELECT steward.alter_idempotency_scope_owner(%s, %s);",
								quote_literal_cstr(text_to_cstring(scope)),
								quote_literal_cstr(quote_identifier(caller)));

	if (owner_name == NULL)
		return psprintf("Use a scope of your own, or have a superuser give this one to role \"%s\": %s",
						caller, give);
	if (is_member_of_role(caller_id, owner))
		return psprintf("Role \"%s\" is a member of \"%s\" without its privileges (NOINHERIT): SET ROLE %s; first.",
						caller, owner_name, quote_identifier(owner_name));
	return psprintf("Use a scope of your own; or give role \"%s\" the owner's privileges (all of them): GRANT %s TO %s; "
					"or have the owner or a superuser give it the scope: %s",
					caller, quote_identifier(owner_name), quote_identifier(caller), give);
}

static void
scope_denied(text *scope, Oid owner, Oid caller, const char *what)
{
	char	   *owner_name = GetUserNameFromId(owner, true);

	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied for idempotency scope \"%s\"", text_to_cstring(scope)),
			 owner_name ?
			 errdetail("The scope belongs to role \"%s\"; only roles with its privileges may %s.",
					   owner_name, what) :
			 errdetail("The scope's owner no longer exists; only superusers may %s.", what),
			 errhint("%s", scope_denied_hint(scope, owner, owner_name, caller))));
}

/*
 * Before a scope's row names role as its owner: lock the role as core
 * does before it records an owner dependency (AccessShareLock on the
 * pg_authid object, which DROP ROLE takes exclusively), and check that it
 * still exists once the lock is held (review13 R13-13).  A DROP ROLE then
 * waits for this transaction and, reading the scopes afresh after its own
 * lock (src/ops/roles.c), sees the claim and refuses (2BP01) instead of
 * leaving a scope owned by a dropped role.
 */
static void
lock_scope_owner_role(Oid role)
{
	LockSharedObject(AuthIdRelationId, role, 0, AccessShareLock);
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(role)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", role)));
}

static void scope_insert_suppressed(text *scope);

/*
 * Delete the scope's keys and, with drop, the scope's row; returns the
 * number of keys deleted.  Connected to SPI as the table owner.  Under
 * REPEATABLE READ the DELETE cannot see a key committed after the
 * transaction snapshot was taken: a snapshot of now is then checked for
 * keys of the scope left, and 40001 raised rather than a key that
 * outlives its scope (drop) or goes to its new owner (claim).
 */
static uint64
delete_scope_keys(text *scope, bool drop)
{
	Datum		args[1] = {PointerGetDatum(scope)};
	uint64		n;

	run_plan(PLAN_SCOPE_DROP_KEYS, args, NULL, false);
	n = SPI_processed;
	if (drop)
		run_plan(PLAN_SCOPE_DROP, args, NULL, false);
	if (!IsolationUsesXactSnapshot())
		return n;
	CommandCounterIncrement();
	run_plan_snapshot(PLAN_SCOPE_KEYS_LEFT, args, GetLatestSnapshot());
	if (SPI_processed == 0)
		return n;
	if (drop)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to a concurrent begin in idempotency scope \"%s\"",
						text_to_cstring(scope)),
				 errdetail("A key of the scope was committed after this transaction's snapshot was taken, so the drop cannot delete it."),
				 errhint("Retry the transaction.")));
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not serialize access due to keys written concurrently in idempotency scope \"%s\"",
					text_to_cstring(scope)),
			 errdetail("A key of the scope, which had no owner, was committed after this transaction's snapshot was taken, so creating the scope cannot delete it."),
			 errhint("Retry the transaction.")));
}

/*
 * The keys of a scope whose row this transaction has just inserted by an
 * explicit creation -- create_idempotency_scope, or the claim of a name
 * by set_idempotency_retention -- are deleted before the transaction
 * writes any key of its own; returns how many.  Connected to SPI as the
 * table owner.  A begin's claim does not call this: it reads the whole
 * keys table (below), and any role with EXECUTE on begin could make it do
 * so once per name it invents.
 *
 * Keys under a name that has no scope row belong to nobody: our code
 * writes a key only in a scope whose row it sees or has just inserted, and
 * a drop deletes the keys with the row.  A partial restore leaves them
 * (pg_restore -t idempotency_keys, or --data-only of that table, into a
 * database whose scopes lack the row), so does a superuser's DELETE from
 * idempotency_scopes, and builds before review11 R11-7 left the keys a
 * begin racing a drop committed.  Adopted, they would be served to the
 * scope's new owner as replays of another tenant's responses.
 *
 * Why the deletion is complete:
 *
 * - Concurrent claimers are serialized by the scopes' primary key: a
 *   second claim's INSERT ... ON CONFLICT waits for the first one's
 *   transaction.  If that commits, the second finds its row (and nothing
 *   to delete: the deletes committed with the row); if it rolls back, its
 *   deletes are undone with its row, the second's insert succeeds and it
 *   deletes them again.  The keys go exactly when the row comes.
 * - While our row is uncommitted nobody else writes a key of the scope
 *   through us: a begin sees no row, so it claims and waits for ours; a
 *   complete sees no row either and refuses ("not held"): it never
 *   touches a key of a scope without its row.
 * - No begin of the old scope can still be running: the row goes away
 *   only through a drop (drop_idempotency_scope, DROP OWNED BY), which
 *   takes the scope's ExclusiveLock, so it waits for every begin and
 *   complete that saw the row, deletes what they committed, and makes
 *   later ones wait and then find no row ("Scope locks").  Only a
 *   superuser's DELETE of the row bypasses that lock: a begin that read
 *   the row just before it may commit its key after our DELETE (our
 *   ShareLock does not conflict with its own), and that key stays with
 *   the new owner -- as do keys a superuser or a restore writes into an
 *   existing scope, or commits only after our DELETE: a READ COMMITTED
 *   statement cannot see a write still in progress, and waiting for every
 *   writer of the table is not ours to do.
 * - Visibility: in READ COMMITTED the DELETE takes its snapshot after our
 *   row was inserted, so it sees every key committed before.  Under
 *   REPEATABLE READ the transaction snapshot may be older than a key's
 *   commit (a restore that committed after it was taken): then the check
 *   under a snapshot of now finds it and raises 40001, as a drop does.
 *
 * No lock is taken here: create_idempotency_scope and
 * set_idempotency_retention need none (they write no key; the scope's row
 * is what a concurrent claimer waits for).  Lock order stays scope lock,
 * then rows.
 *
 * Cost: O(keys).  The keys' only index on scope is the (scope, key) hash,
 * which a scope alone cannot use, so the DELETE reads the whole keys table
 * -- once per explicit creation (0.14 s per million keys), never in a
 * begin.  Since the claims (b3f2a38) the deletion is no longer what
 * keeps a new owner from the leftovers: a begin neither replays nor
 * completes a key of another claim, and the keys' row security shows a
 * key with its scope's claim only (src/idempotency/idempotency.sql).  It
 * is kept on both explicit paths for the DBA, who hears of the leftovers
 * (the NOTICE) and gets their room back at once rather than at their
 * expiry.  Only roles granted create_idempotency_scope or
 * set_idempotency_retention (revoked from PUBLIC) can make it run, once
 * per name they create.
 */
static uint64
delete_leftover_keys(text *scope)
{
	return delete_scope_keys(scope, false);
}

/*
 * Say that n keys left without a scope row were deleted when the scope's
 * row was created for owner (create_idempotency_scope,
 * set_idempotency_retention), at elevel.
 */
static void
report_leftover_keys(int elevel, text *scope, Oid owner, uint64 n)
{
	char	   *owner_name = GetUserNameFromId(owner, true);

	ereport(elevel,
			(errmsg_plural("deleted %llu idempotency key of scope \"%s\" that had no scope row",
						   "deleted %llu idempotency keys of scope \"%s\" that had no scope row",
						   n, (unsigned long long) n, text_to_cstring(scope)),
			 errdetail("The scope was created for role \"%s\". Keys without their scope's row in steward.idempotency_scopes (left by a restore of steward.idempotency_keys alone, or a manual delete of the row) belong to nobody: they are not served to the new owner.",
					   owner_name ? owner_name : "?")));
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
	ItemPointerData tid;

	/*
	 * A REVOKE of a membership (or of SUPERUSER) committed since this
	 * transaction's last check is seen here, as a table's next lock sees it.
	 */
	AcceptInvalidationMessages();
	if (scope_memo_get(scope, caller, info))
	{
		info->claimed = false;
		/*
		 * The owner cannot have changed: this transaction holds the scope's
		 * lock, which an owner change takes exclusively ("Scope locks").
		 * The caller's privileges may have: checked at every call.
		 */
		if (!has_privs_of_role(caller, info->owner))
			scope_denied(scope, info->owner, caller, "use it");
		return true;
	}
	owner = scope_lookup(scope, info, &tid);
	info->claimed = false;
	if (OidIsValid(owner))
	{
		/* Only the callers that may claim (begin) would act on a stale view. */
		if (claim)
			scope_row_check_current(scope, &tid);
		else if (IsolationUsesXactSnapshot())
		{
			/*
			 * A complete's privilege check is against the owner now, as
			 * core's checks read the catalog now (review13 R13-1): under
			 * REPEATABLE READ the snapshot's owner may have given the scope
			 * away since (alter_idempotency_scope_owner waited only for the
			 * transactions holding the scope's lock, and this one took it
			 * after), and the old owner would store a response the new
			 * owner's clients are served.  A scope dropped since: 40001,
			 * as a begin's check gives.  Retention changes pass.
			 */
			Oid			now = scope_lookup_in(scope, NULL, NULL, true);

			if (!OidIsValid(now))
				ereport(ERROR,
						(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
						 errmsg("could not serialize access due to a concurrent change of idempotency scope \"%s\"",
								text_to_cstring(scope)),
						 errdetail("The scope was dropped by a transaction that committed after this transaction's snapshot was taken."),
						 errhint("Retry the transaction.")));
			owner = info->owner = now;
		}
	}
	else
	{
		Datum		args[2] = {PointerGetDatum(scope), ObjectIdGetDatum(caller)};

		if (!claim)
			return false;
		/* Waits for a concurrent first user of the scope; then it is theirs. */
		lock_scope_owner_role(caller);
		run_plan(PLAN_SCOPE_CLAIM, args, NULL, false);
		if (SPI_processed == 1)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			/*
			 * Keys left under the name without a row are not deleted here:
			 * that reads the whole keys table, and a begin is the hot path
			 * any caller can reach with an invented name (only the explicit
			 * creations do it: delete_leftover_keys).  The row's new claim
			 * makes them another claim's: begin deletes each one it meets,
			 * complete does not see them ("Claims").
			 */
			owner = caller;
			info->claimed = true;
			claim_from_datum(&info->claim, d, isnull);
		}
		else
			owner = scope_lookup(scope, info, NULL);
		info->owner = owner;
		if (!OidIsValid(owner))
		{
			/* A trigger skipped the claim, or the scope was dropped since. */
			scope_insert_suppressed(scope);
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("idempotency scope \"%s\" was dropped while it was claimed",
							text_to_cstring(scope)),
					 errhint("Retry the request.")));
		}
	}
	if (!has_privs_of_role(caller, owner))
		scope_denied(scope, owner, caller, "use it");
	scope_memo_set(scope, caller, info);
	return true;
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

/*
 * steward._idempotency_holder_alive(pid, started): does the session that
 * began a key (its process ID and start time) still hold it?  For the
 * purge's statement, which must not delete a key in progress whose holder
 * lives (review11 R11-1).  Not granted to PUBLIC.  Asks for ShareLock on
 * the holder's beacon lock tag without waiting and releases it at once
 * (this session's own: looks in its lock table).  Raises only 53200 when
 * the shared lock table is full.
 */
Datum
steward_idempotency_holder_alive(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(holder_alive(PG_GETARG_INT32(0), PG_GETARG_TIMESTAMPTZ(1)));
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

/*
 * The next row of the scan whose key equals vals, or false.  *indexed (if
 * not NULL) is set when the index returned any entry at all, visible row
 * or not (index_getnext_slot, with that count added).
 */
static bool
key_scan_next_indexed(IndexScanDesc scan, int nkeys, const Datum *vals,
					  TupleTableSlot *slot, bool *indexed)
{
	Relation	index = scan->indexRelation;

	for (;;)
	{
		bool		match = true;

		if (!scan->xs_heap_continue)
		{
			if (index_getnext_tid(scan, ForwardScanDirection) == NULL)
				break;
			if (indexed != NULL)
				*indexed = true;
		}
		if (!index_fetch_heap(scan, slot))
			continue;

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

static bool
key_scan_next(IndexScanDesc scan, int nkeys, const Datum *vals, TupleTableSlot *slot)
{
	return key_scan_next_indexed(scan, nkeys, vals, slot, NULL);
}

/*
 * Does a row whose key columns equal vals exist in table heapoid, found
 * through its index indexoid under a dirty snapshot: when uncommitted_only,
 * one inserted or deleted by a transaction still running; else any such
 * row or a committed one not deleted.  AccessShareLock on both for the
 * probe.
 */
static bool
row_present_dirty(Oid heapoid, Oid indexoid, int nkeys, const Datum *vals,
				  bool uncommitted_only)
{
	SnapshotData dirty;
	DirectRead	rd;
	bool		found = false;

	InitDirtySnapshot(dirty);
	direct_read_begin(&rd, heapoid, indexoid, &dirty, nkeys, vals);
	while (!found && key_scan_next(rd.scan, nkeys, vals, rd.slot))
		found = !uncommitted_only ||
			TransactionIdIsValid(dirty.xmin) || TransactionIdIsValid(dirty.xmax);
	direct_read_end(&rd);
	return found;
}

static bool
key_held_uncommitted(Datum scope, Datum key)
{
	Datum		vals[2] = {scope, key};

	const IdemRels *rels = idem_rels_get();

	return row_present_dirty(rels->keys, rels->keys_index, 2, vals, true);
}

/*
 * Is there a row of (scope, key) that an INSERT ... ON CONFLICT DO NOTHING
 * of the key would conflict with: committed and not deleted, or written by
 * a transaction still running (ours included)?
 */
static bool
key_row_present(Datum scope, Datum key)
{
	Datum		vals[2] = {scope, key};

	const IdemRels *rels = idem_rels_get();

	return row_present_dirty(rels->keys, rels->keys_index, 2, vals, false);
}

/*
 * A scope's first user has not committed yet: claiming it would wait for
 * that transaction (the claim's ON CONFLICT waits on the uncommitted row).
 */
static bool
scope_claim_uncommitted(Datum scope)
{
	const IdemRels *rels = idem_rels_get();

	return row_present_dirty(rels->scopes, rels->scopes_pkey, 1, &scope, true);
}

/* ------------------------------------------------------------------------
 * Direct writes
 *
 * The complete's UPDATE, run through SPI, is a plan revalidation, an
 * executor start and end, a plan tree and an EvalPlanQual state: more
 * than the row update itself.  complete_direct does what the executor's
 * UPDATE does for this table, with the same calls underneath: the row is
 * found through the key constraint's index under the statement snapshot
 * (direct_read_begin), replaced with table_tuple_update (the steward
 * table AM: its rules and counters run as for any UPDATE; heap_update:
 * WAL, TOAST, HOT, waits for concurrent writers with lock_timeout),
 * index entries are added through ExecInsertIndexTuples (the exclusion
 * constraint's check included) when the update is not HOT, and a
 * concurrent update is handled as ExecUpdate does: 40001 under REPEATABLE
 * READ and SERIALIZABLE, else the row's latest version is locked and
 * updated if it still matches (EvalPlanQual).  Begin's deletes of an
 * expired key and of another claim's key (delete_key_direct) are done the
 * same way, so that their access path is the key's index whatever the
 * table's statistics say (as statements the planner took a sequential
 * scan of a small table, the expiry index's range of a big one).
 *
 * Only while the table has nothing else the executor would run for a
 * write -- triggers, rewrite rules, row-level security, CHECK constraints,
 * generated columns, index expressions or predicates: none are the extension's, but
 * a superuser may add them -- and only for a plain table; otherwise the
 * SPI statement runs, as before.
 * ------------------------------------------------------------------------
 */
typedef struct DirectWrite
{
	Relation	heap;
	Relation	index;			/* the key constraint's index */
	bool		own_index;		/* opened for itself, not one of rri's */
	EState	   *estate;
	ResultRelInfo *rri;
} DirectWrite;

static void direct_write_end(DirectWrite *wr);

/*
 * The snapshot and command ID an SPI statement would take here, pushed as
 * the active snapshot (the steward AM and the index AMs read it); the
 * caller pops it.  After CommandCounterIncrement, so rows this
 * transaction wrote are seen, and in READ COMMITTED a new snapshot, which
 * sees what committed while an earlier statement waited.
 */
static Snapshot
push_statement_snapshot(void)
{
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	return GetActiveSnapshot();
}

/*
 * The result relation of a write of kind cmd into heap, the keys table
 * (RowExclusiveLock held): its indexes opened, for an insert with what
 * the conflict checks of ON CONFLICT need.
 */
static void
direct_write_open(DirectWrite *wr, Relation heap, CmdType cmd)
{
	const IdemRels *rels = idem_rels_get();	/* DDL that committed while we waited for the lock */

	wr->heap = heap;
	wr->estate = CreateExecutorState();
	wr->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(wr->rri, heap, 0, NULL, 0);
	ExecOpenIndices(wr->rri, cmd == CMD_INSERT);
	/* The key constraint's index is one of them: not opened twice. */
	wr->index = NULL;
	for (int i = 0; i < wr->rri->ri_NumIndices; i++)
		if (RelationGetRelid(wr->rri->ri_IndexRelationDescs[i]) == rels->keys_index)
			wr->index = wr->rri->ri_IndexRelationDescs[i];
	wr->own_index = wr->index == NULL;
	if (wr->own_index)
		wr->index = index_open(rels->keys_index, RowExclusiveLock);
}

/*
 * Open the keys table for a direct write of kind cmd (RowExclusiveLock,
 * its indexes too), or return false -- the lock kept, as a statement
 * would keep it -- if only the executor may write it.
 */
static bool
direct_write_begin(DirectWrite *wr, CmdType cmd, bool defer_indexes)
{
	const IdemRels *rels = idem_rels_get();
	const char *cmdname = cmd == CMD_INSERT ? "INSERT" :
		cmd == CMD_UPDATE ? "UPDATE" : "DELETE";
	Relation	heap;
	TupleConstr *constr;

	/* As ExecutorStart: 25006 in a read-only transaction (a standby's). */
	idem_require_writable();
	PreventCommandIfParallelMode(cmdname);
	heap = table_open(rels->keys, RowExclusiveLock);
	constr = RelationGetDescr(heap)->constr;

	/*
	 * Row security counts only where it can apply to the keys' owner, as
	 * whom this writes: when it is forced on the table (the relcache's
	 * flags, no catalog lookup on this path).  0.2's own policies (each
	 * scope owner reads its scopes' keys, for pg_dump) apply to other
	 * roles; with them every begin took the statements' path (and in
	 * REPEATABLE READ core's 40001 for a suppressing index instead of our
	 * 55000).
	 */
	if (heap->rd_rel->relkind != RELKIND_RELATION || heap->trigdesc != NULL ||
		heap->rd_rules != NULL ||
		(heap->rd_rel->relrowsecurity && heap->rd_rel->relforcerowsecurity) ||
		(constr != NULL && (constr->num_check > 0 || constr->has_generated_stored)))
	{
		table_close(heap, NoLock);
		return false;
	}
	/* As CheckValidResultRel: a published table needs a replica identity. */
	CheckCmdReplicaIdentity(heap, cmd);

	/*
	 * The indexes may wait until a row needs entries (a HOT update needs
	 * none) once they are known to have no expression or predicate.  That
	 * knowledge rides on idem_rels, which any index added, dropped or
	 * changed on the table invalidates (its relcache entry); this
	 * transaction's own DDL too, when its command ends.  Nothing changes
	 * them between here and direct_write_indexes:
	 * our RowExclusiveLock keeps out CREATE and DROP INDEX, and an index
	 * built concurrently waits for us before it takes entries.
	 */
	if (defer_indexes && idem_rels_get()->keys_plain_indexes == 1)
	{
		wr->heap = heap;
		wr->rri = NULL;
		wr->estate = NULL;
		wr->index = NULL;
		wr->own_index = false;
		return true;
	}
	direct_write_open(wr, heap, cmd);

	/*
	 * An index expression or predicate is code someone defined: it must run
	 * with search_path pinned, in a statement (the owner's context is
	 * entered lazily, see idem_enter).
	 */
	idem_rels.keys_plain_indexes = 1;
	for (int i = 0; i < wr->rri->ri_NumIndices; i++)
	{
		IndexInfo  *ii = wr->rri->ri_IndexRelationInfo[i];

		if (ii->ii_Expressions != NIL || ii->ii_Predicate != NIL)
		{
			idem_rels.keys_plain_indexes = 0;
			direct_write_end(wr);
			return false;
		}
	}
	return true;
}

/* The indexes of a write whose direct_write_begin deferred them, opened. */
static void
direct_write_indexes(DirectWrite *wr)
{
	if (wr->rri == NULL)
		direct_write_open(wr, wr->heap, CMD_UPDATE);
}

static void
direct_write_end(DirectWrite *wr)
{
	if (wr->rri != NULL)
	{
		if (wr->own_index)
			index_close(wr->index, NoLock);
		ExecCloseIndices(wr->rri);
		FreeExecutorState(wr->estate);
	}
	table_close(wr->heap, NoLock);
}

/* Index entries of a new row version, unless heap_update kept it HOT. */
static void
direct_write_index(DirectWrite *wr, TupleTableSlot *slot)
{
	/*
	 * update = false: it only sets a hint for btree's bottom-up deletion,
	 * which needs the updated columns from a range table we do not have.
	 */
	direct_write_indexes(wr);
	list_free(ExecInsertIndexTuples(wr->rri, slot, wr->estate, false, false, NULL, NIL));
	ResetPerTupleExprContext(wr->estate);
}

/* The timestamp in column attnum of the row in slot; 0 when *isnull. */
static TimestampTz
slot_timestamp(TupleTableSlot *slot, AttrNumber attnum, bool *isnull)
{
	Datum		d = slot_getattr(slot, attnum, isnull);

	return *isnull ? 0 : DatumGetTimestampTz(d);
}

/* Does the row in slot (its columns deformed) have this key and no result? */
static bool
complete_matches(TupleTableSlot *slot, const Datum *vals, const KeyClaim *claim)
{
	const IdemRels *rels = &idem_rels;
	bool		isnull;
	Datum		d;
	KeyClaim	row_claim;

	(void) slot_getattr(slot, rels->kcol[KC_STATUS], &isnull);
	if (!isnull)
		return false;
	/* Another claim's key is not the scope's ("Claims"). */
	d = slot_getattr(slot, rels->kcol[KC_CLAIM], &isnull);
	claim_from_datum(&row_claim, d, isnull);
	if (!claim_equal(&row_claim, claim))
		return false;
	d = slot_getattr(slot, rels->kcol[KC_SCOPE], &isnull);
	if (isnull || !text_equal(d, vals[0]))
		return false;
	d = slot_getattr(slot, rels->kcol[KC_KEY], &isnull);
	return !isnull && text_equal(d, vals[1]);
}

/*
 * A row changed by this transaction after our snapshot: by this command,
 * nothing to do; by a later one (a trigger's), an error, as in ExecUpdate
 * and ExecDelete (deleting: which of the two).
 */
static void
check_self_modified(const TM_FailureData *tmfd, CommandId cid, bool deleting)
{
	if (tmfd->cmax != cid && deleting)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION),
				 errmsg("tuple to be deleted was already modified by an operation triggered by the current command")));
	if (tmfd->cmax != cid)
		ereport(ERROR,
				(errcode(ERRCODE_TRIGGERED_DATA_CHANGE_VIOLATION),
				 errmsg("tuple to be updated was already modified by an operation triggered by the current command")));
}

/*
 * After table_tuple_update (or, deleting, table_tuple_delete) of the row
 * version at tid returned result, not TM_Ok: handled as ExecUpdate and
 * ExecDelete handle it.  Returns false when the write is over (the row
 * was deleted, or this command changed it already); 40001 for a
 * concurrent change under REPEATABLE READ and SERIALIZABLE.  In READ
 * COMMITTED, after a committed concurrent update, locks the row's latest
 * version in mode (waiting for its writer) into *lockslot, created on
 * first use, its columns deformed, and returns true: the caller writes
 * that version if it still matches (EvalPlanQual).
 */
static bool
lock_latest_version(Relation heap, ItemPointer tid, TM_Result result, TM_FailureData *tmfd,
					CommandId cid, Snapshot snap, LockTupleMode mode, bool deleting,
					TupleTableSlot **lockslot)
{
	if (result == TM_SelfModified)
	{
		check_self_modified(tmfd, cid, deleting);
		return false;
	}
	if (result == TM_Deleted)
	{
		if (IsolationUsesXactSnapshot())
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent delete")));
		return false;
	}
	if (result != TM_Updated || IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update")));
	if (*lockslot == NULL)
		*lockslot = table_slot_create(heap, NULL);
	result = table_tuple_lock(heap, tid, snap, *lockslot, cid, mode, LockWaitBlock,
							  TUPLE_LOCK_FLAG_FIND_LAST_VERSION, tmfd);
	if (result == TM_Deleted)
		return false;
	if (result == TM_SelfModified)
	{
		check_self_modified(tmfd, cid, deleting);
		return false;
	}
	if (result != TM_Ok)
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update")));
	slot_getallattrs(*lockslot);
	return true;
}

/*
 * An update of a key's row done directly: the columns it sets (setcols,
 * nset of them) and their values, and the test the row's latest version
 * must still pass after a concurrent update (EvalPlanQual) -- the
 * statement's WHERE.  claim and judged are that test's arguments.  The
 * written version's created_at is returned in created (the takeover's
 * RETURNING).
 */
typedef struct KeyUpdate KeyUpdate;
typedef bool (*KeyUpdateMatch) (TupleTableSlot *slot, const Datum *vals, const KeyUpdate *upd);

struct KeyUpdate
{
	int			nset;
	const KeyCol *setcols;
	Datum		set[4];
	bool		setnull[4];
	KeyUpdateMatch matches;
	const KeyClaim *claim;
	const void *judged;			/* the takeover's KeyRow */
	bool		has_created;	/* out: the written row's created_at */
	TimestampTz created;
};

/* complete_matches as a KeyUpdateMatch. */
static bool
complete_update_matches(TupleTableSlot *slot, const Datum *vals, const KeyUpdate *upd)
{
	return complete_matches(slot, vals, upd->claim);
}

/*
 * The update upd of the row version in oldslot: its SET on a copy of it,
 * written as ExecUpdate writes it (see above).  Returns the number of
 * rows updated, 0 or 1.
 */
static int
update_key_row(DirectWrite *wr, TupleTableSlot *oldslot, const Datum *vals,
			   KeyUpdate *upd, Snapshot snap)
{
	const IdemRels *rels = &idem_rels;
	TupleDesc	desc = RelationGetDescr(wr->heap);
	TupleTableSlot *newslot = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);
	TupleTableSlot *lockslot = NULL;
	TupleTableSlot *src = oldslot;
	CommandId	cid = GetCurrentCommandId(true);
	ItemPointerData tid = oldslot->tts_tid;
	int			updated = 0;

	for (;;)
	{
		TM_FailureData tmfd;
		LockTupleMode lockmode;
		bool		update_indexes;
		TM_Result	result;

		/* The new version: the old one's columns, the statement's SET. */
		slot_getallattrs(src);
		ExecClearTuple(newslot);
		memcpy(newslot->tts_values, src->tts_values, desc->natts * sizeof(Datum));
		memcpy(newslot->tts_isnull, src->tts_isnull, desc->natts * sizeof(bool));
		for (int i = 0; i < upd->nset; i++)
		{
			newslot->tts_values[rels->kcol[upd->setcols[i]] - 1] = upd->set[i];
			newslot->tts_isnull[rels->kcol[upd->setcols[i]] - 1] = upd->setnull[i];
		}
		ExecStoreVirtualTuple(newslot);
		ExecMaterializeSlot(newslot);
		newslot->tts_tableOid = RelationGetRelid(wr->heap);

		result = table_tuple_update(wr->heap, &tid, newslot, cid, snap, InvalidSnapshot,
									true, &tmfd, &lockmode, &update_indexes);
		if (result == TM_Ok)
		{
			bool		created_null;

			if (update_indexes)
				direct_write_index(wr, newslot);
			upd->created = slot_timestamp(newslot, rels->kcol[KC_CREATED_AT], &created_null);
			upd->has_created = !created_null;
			updated = 1;
			break;
		}
		/* READ COMMITTED: the latest version, updated if it still matches. */
		if (!lock_latest_version(wr->heap, &tid, result, &tmfd, cid, snap, lockmode,
								 false, &lockslot) ||
			!upd->matches(lockslot, vals, upd))
			break;
		tid = lockslot->tts_tid;
		src = lockslot;
	}
	if (lockslot != NULL)
		ExecDropSingleTupleTableSlot(lockslot);
	ExecDropSingleTupleTableSlot(newslot);
	return updated;
}

/*
 * The row the last direct insert wrote, so that the complete of the key
 * just begun reads it by its TID instead of probing the key index.  Only
 * a hint: complete_direct uses it only in the same subtransaction (whose
 * locks keep the table from being truncated or vacuumed away under it)
 * and the same relfilenode (no TRUNCATE since), and only if the row there
 * is visible to its snapshot and has the key -- then it is the row the
 * probe would find, as the exclusion constraint allows one visible row
 * per key.  Anything else falls back to the probe.
 */
static struct
{
	LocalTransactionId lxid;
	SubTransactionId subxid;
	Oid			relfilenode;
	ItemPointerData tid;
} inserted_memo;

static bool
inserted_memo_get(Relation heap, ItemPointer tid)
{
	if (inserted_memo.lxid == InvalidLocalTransactionId ||
		inserted_memo.lxid != MyProc->lxid ||
		inserted_memo.subxid != GetCurrentSubTransactionId() ||
		inserted_memo.relfilenode != heap->rd_node.relNode)
		return false;
	*tid = inserted_memo.tid;
	return true;
}

/*
 * The update upd of the visible row of the key in vals that passes its
 * test, done directly (see "Direct writes" above): the row found through
 * the key constraint's index under the statement snapshot -- or, when
 * use_memo, by the TID of the row this subtransaction's insert wrote, if
 * it is that row (inserted_memo) -- whatever the table's statistics say.
 * Returns the number of rows updated (0 or 1), or -1 when the table may
 * only be written through SPI (the caller runs the statement then).  The
 * caller is in the owner's context.
 */
static int
update_key_direct(const Datum *vals, KeyUpdate *upd, bool use_memo)
{
	DirectWrite wr;
	Snapshot	snap;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ItemPointerData tid;
	bool		hinted = false;
	int			updated = 0;

	if (!direct_write_begin(&wr, CMD_UPDATE, true))
		return -1;
	snap = push_statement_snapshot();
	slot = table_slot_create(wr.heap, NULL);
	if (use_memo && inserted_memo_get(wr.heap, &tid) &&
		table_tuple_fetch_row_version(wr.heap, &tid, snap, slot))
	{
		slot_getallattrs(slot);
		hinted = upd->matches(slot, vals, upd);
	}
	if (hinted)
		updated = update_key_row(&wr, slot, vals, upd, snap);
	else
	{
		direct_write_indexes(&wr);
		scan = key_scan_begin(wr.heap, wr.index, snap, 2, vals);
		while (key_scan_next(scan, 2, vals, slot))
		{
			slot_getallattrs(slot);
			if (upd->matches(slot, vals, upd))
				updated += update_key_row(&wr, slot, vals, upd, snap);
		}
		index_endscan(scan);
	}
	ExecDropSingleTupleTableSlot(slot);
	PopActiveSnapshot();
	direct_write_end(&wr);
	return updated;
}

/*
 * PLAN_COMPLETE without the executor: set the result of the visible row of
 * (scope, key) that has none.  Returns the number of rows updated (0 or
 * 1), or -1 when the table may only be written through SPI (the caller
 * runs PLAN_COMPLETE then).  The caller is in the owner's context.
 */
static int
complete_direct(Datum scope, Datum key, int32 status, Jsonb *response,
				const Interval *retention, const KeyClaim *claim)
{
	static const KeyCol setcols[4] = {KC_STATUS, KC_RESPONSE, KC_COMPLETED_AT, KC_EXPIRES_AT};
	Datum		vals[2] = {scope, key};
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	KeyUpdate	upd = {.nset = 4,.setcols = setcols,.matches = complete_update_matches,
	.claim = claim};

	upd.set[0] = Int32GetDatum(status);
	upd.set[1] = PointerGetDatum(response);
	upd.setnull[1] = response == NULL;
	upd.set[2] = TimestampTzGetDatum(now);
	upd.set[3] = timestamp_plus(now, retention);
	return update_key_direct(vals, &upd, true);
}

/*
 * In REPEATABLE READ and SERIALIZABLE, ON CONFLICT DO NOTHING raises 40001
 * if the row it conflicts with is not visible to the transaction's
 * snapshot and not its own (ExecCheckTIDVisible).
 */
static void
insert_conflict_visible(DirectWrite *wr, ItemPointer tid, Snapshot snap)
{
	TupleTableSlot *slot;
	bool		visible;

	if (!IsolationUsesXactSnapshot())
		return;
	slot = table_slot_create(wr->heap, NULL);
	visible = !table_tuple_fetch_row_version(wr->heap, tid, SnapshotAny, slot) ||
		table_tuple_satisfies_snapshot(wr->heap, slot, snap);
	if (!visible)
	{
		bool		isnull;
		TransactionId xmin = DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber,
																	&isnull));

		if (!TransactionIdIsCurrentTransactionId(xmin))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));
	}
	ExecDropSingleTupleTableSlot(slot);
}

/*
 * The row begin inserts for a new key, in a virtual slot of desc (the keys
 * table's): the columns PLAN_INSERT sets, its defaults (now()) for
 * created_at and locked_at, every other column NULL.
 */
static TupleTableSlot *
key_row_slot(TupleDesc desc, Datum scope, Datum key, Datum fp,
			 const Interval *retention, Datum lease, bool lease_null,
			 const KeyClaim *claim)
{
	const IdemRels *rels = &idem_rels;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsVirtual);

	ExecClearTuple(slot);
	memset(slot->tts_isnull, true, desc->natts * sizeof(bool));
#define SET_COL(col, value) \
	(slot->tts_values[rels->kcol[col] - 1] = (value), slot->tts_isnull[rels->kcol[col] - 1] = false)
	SET_COL(KC_SCOPE, scope);
	SET_COL(KC_KEY, key);
	SET_COL(KC_FINGERPRINT, fp);
	SET_COL(KC_CREATED_AT, TimestampTzGetDatum(now));
	SET_COL(KC_LOCKED_AT, TimestampTzGetDatum(now));
	SET_COL(KC_EXPIRES_AT, timestamp_plus(now, retention));
	SET_COL(KC_HOLDER_PID, Int32GetDatum(MyProcPid));
	SET_COL(KC_HOLDER_START, TimestampTzGetDatum(MyStartTimestamp));
	if (!lease_null)
		SET_COL(KC_LEASE_UNTIL, timestamp_plus(now, DatumGetIntervalP(lease)));
	if (!claim->isnull)
		SET_COL(KC_CLAIM, UUIDPGetDatum(&claim->uuid));
#undef SET_COL
	ExecStoreVirtualTuple(slot);
	ExecMaterializeSlot(slot);
	return slot;
}

/*
 * Is the row version at tid (any visibility) one of (scope, key)?  False
 * also when it is gone.
 */
static bool
row_of_key(DirectWrite *wr, ItemPointer tid, Datum scope, Datum key)
{
	TupleTableSlot *slot = table_slot_create(wr->heap, NULL);
	Datum		vals[2] = {scope, key};
	bool		found;

	found = table_tuple_fetch_row_version(wr->heap, tid, SnapshotAny, slot);
	if (found)
	{
		bool		isnull;
		Datum		d;

		for (int i = 0; i < 2 && found; i++)
		{
			d = slot_getattr(slot, idem_rels.kcol[i == 0 ? KC_SCOPE : KC_KEY], &isnull);
			found = !isnull && text_equal(d, vals[i]);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
	return found;
}

/*
 * The unique index or exclusion constraint of the keys table, other than
 * the key's own, that the row in slot conflicts with (waiting for an
 * uncommitted conflicting writer, as ON CONFLICT's pre-check does), or
 * InvalidOid.  wr was opened for an insert.
 */
static Oid
other_conflicting_index(DirectWrite *wr, TupleTableSlot *slot)
{
	ResultRelInfo *rri = wr->rri;

	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		Relation	index = rri->ri_IndexRelationDescs[i];
		IndexInfo  *ii = rri->ri_IndexRelationInfo[i];
		Oid			indexoid = RelationGetRelid(index);
		ItemPointerData tid;
		List	   *only;
		bool		clear;

		/* Deferrable ones cannot arbitrate: ON CONFLICT raised 55000 already. */
		if (indexoid == RelationGetRelid(wr->index) ||
			(!ii->ii_Unique && ii->ii_ExclusionOps == NULL) || !ii->ii_ReadyForInserts ||
			!index->rd_index->indimmediate)
			continue;
		only = list_make1_oid(indexoid);
		clear = ExecCheckIndexConstraints(rri, slot, wr->estate, &tid, only);
		list_free(only);
		ResetPerTupleExprContext(wr->estate);
		if (!clear)
			return indexoid;
	}
	return InvalidOid;
}

/*
 * The row triggers of heap that fire BEFORE event (TRIGGER_TYPE_INSERT or
 * TRIGGER_TYPE_UPDATE) in this session, as TriggerEnabled decides: their
 * names, quoted and separated by commas, appended to names; returns how
 * many.  Only error reports use it: one of them may have skipped a write.
 */
static int
before_row_triggers(Relation heap, int16 event, StringInfo names)
{
	TriggerDesc *trig = heap->trigdesc;
	bool		replica = SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA;
	int			n = 0;

	for (int i = 0; trig != NULL && i < trig->numtriggers; i++)
	{
		Trigger    *t = &trig->triggers[i];

		if (t->tgenabled != TRIGGER_FIRES_ALWAYS &&
			t->tgenabled != (replica ? TRIGGER_FIRES_ON_REPLICA : TRIGGER_FIRES_ON_ORIGIN))
			continue;
		if (!TRIGGER_TYPE_MATCHES(t->tgtype, TRIGGER_TYPE_ROW, TRIGGER_TYPE_BEFORE, event))
			continue;
		appendStringInfo(names, "%s\"%s\"", n > 0 ? ", " : "", t->tgname);
		n++;
	}
	return n;
}

static void report_insert_suppressed(const char *object, const char *rowof, Relation heap,
									 Oid index) pg_attribute_noreturn();

/*
 * 55000: the insert of the row of object (the key or the scope, rowof
 * "key" or "scope") into heap (the keys or the scopes table) did nothing,
 * and no row of it exists, so looking again would find nothing either:
 * something a superuser added to the table suppresses the insert --
 * index (a unique index or exclusion constraint of the keys table on
 * other columns the row conflicts with) if valid, else one of the BEFORE
 * INSERT row triggers, if any.  Retrying cannot help, so not 40001.
 */
static void
report_insert_suppressed(const char *object, const char *rowof, Relation heap, Oid index)
{
	StringInfoData names;
	int			ntrig;
	const char *table = RelationGetRelationName(heap);

	initStringInfo(&names);
	ntrig = before_row_triggers(heap, TRIGGER_TYPE_INSERT, &names);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s cannot be stored", object),
			 OidIsValid(index) ?
			 errdetail("Its row conflicts with the row of another key in index \"%s\" of table steward.%s, which is not the key constraint \"%s\".",
					   get_rel_name(index), IDEM_KEYS_TABLE, IDEM_KEYS_CONSTRAINT) :
			 ntrig > 0 ?
			 errdetail_plural("The insert of its row into table steward.%s inserted nothing, and no row of the %s exists: BEFORE INSERT trigger %s returned no row.",
							  "The insert of its row into table steward.%s inserted nothing, and no row of the %s exists: one of the BEFORE INSERT triggers %s returned no row.",
							  ntrig, table, rowof, names.data) :
			 errdetail("The insert of its row into table steward.%s inserted nothing, and no row of the %s exists.",
					   table, rowof),
			 OidIsValid(index) ?
			 errhint("Drop index \"%s\" (or the constraint it belongs to): keys may conflict only on (scope, key).",
					 get_rel_name(index)) :
			 ntrig > 0 ?
			 errhint("Drop the trigger, or let it return the new row for table steward.%s.",
					 table) :
			 errhint("Remove what was added to table steward.%s that skips its inserts.",
					 table)));
}

/* "idempotency key "k" in scope "s"", the object of a key's errors. */
static char *
key_object(Datum scope, Datum key)
{
	return psprintf("idempotency key \"%s\" in scope \"%s\"",
					TextDatumGetCString(key), TextDatumGetCString(scope));
}

/*
 * The claim or creation of a scope inserted nothing and no row of the
 * scope is visible: if the scopes table has BEFORE INSERT row triggers,
 * one of them skipped it (report_insert_suppressed).  Otherwise this
 * returns: the scope that conflicted was dropped since.
 */
static void
scope_insert_suppressed(text *scope)
{
	Relation	heap = table_open(idem_rels_get()->scopes, AccessShareLock);
	StringInfoData names;

	initStringInfo(&names);
	if (before_row_triggers(heap, TRIGGER_TYPE_INSERT, &names) > 0)
		report_insert_suppressed(psprintf("idempotency scope \"%s\"", text_to_cstring(scope)),
								 "scope", heap, InvalidOid);
	table_close(heap, AccessShareLock);
}

/*
 * begin's PLAN_INSERT inserted nothing and no row of (scope, key) exists
 * (twice: see idempotency_begin_internal): find what suppressed it and
 * report it.  The statement ran with the table's triggers, rules or
 * index expressions, in the owner's context with search_path pinned, so
 * the index checks here may evaluate those expressions as it did.
 */
static void insert_suppressed(Datum scope, Datum key, Datum fp, const Interval *retention,
							  Datum lease, bool lease_null, const KeyClaim *claim) pg_attribute_noreturn();

static void
insert_suppressed(Datum scope, Datum key, Datum fp, const Interval *retention,
				  Datum lease, bool lease_null, const KeyClaim *claim)
{
	DirectWrite wr;
	TupleTableSlot *slot;

	direct_write_open(&wr, table_open(idem_rels_get()->keys, RowExclusiveLock), CMD_INSERT);
	slot = key_row_slot(RelationGetDescr(wr.heap), scope, key, fp, retention, lease, lease_null,
						claim);
	/* An index expression may read tables: the snapshot a statement would have. */
	(void) push_statement_snapshot();
	report_insert_suppressed(key_object(scope, key), "key", wr.heap,
							 other_conflicting_index(&wr, slot));
}

/*
 * PLAN_INSERT without the executor: insert the row of a new key unless a
 * row of (scope, key) exists, waiting for an uncommitted one as INSERT ...
 * ON CONFLICT DO NOTHING does -- with its protocol: a pre-check that
 * waits for conflicting writers (ExecCheckIndexConstraints), then the row
 * inserted speculatively under a speculative-insertion lock, its index
 * entries with the conflict check (a concurrent inserter of the same key
 * that got there first makes us take the row back and start over), so
 * that exactly one of them inserts and nobody gets 23505 or 23P01.
 * Returns 1 if inserted (its created_at in *created), 0 if a row of the
 * key exists, -1 when the table may only be written through SPI.  Besides
 * the columns written here, the table must have only the two defaults
 * (created_at, locked_at: now()), or a column added later would miss its
 * default: then -1 too.  A conflict with a row of another key in a
 * unique index or exclusion constraint a superuser added raises 55000
 * (report_insert_suppressed), where the statement would do nothing in
 * every round.  precheck false (the caller's probe found no entry of the
 * key in the index) skips the first round's pre-check.
 */
static int
insert_direct(Datum scope, Datum key, Datum fp, const Interval *retention,
			  Datum lease, bool lease_null, const KeyClaim *claim, bool precheck,
			  TimestampTz *created)
{
	const IdemRels *rels;
	DirectWrite wr;
	TupleDesc	desc;
	TupleTableSlot *slot;
	Snapshot	snap;
	CommandId	cid;
	int			inserted = -1;

	if (!direct_write_begin(&wr, CMD_INSERT, false))
		return -1;
	rels = &idem_rels;
	desc = RelationGetDescr(wr.heap);

	/*
	 * Counted once per resolution of idem_rels: a column added or dropped
	 * invalidates the table's relcache entry, and with it idem_rels, so
	 * the count always belongs to the descriptor locked here.
	 */
	if (rels->keys_live_cols < 0)
	{
		int			live = 0;

		for (int i = 0; i < desc->natts; i++)
			live += !TupleDescAttr(desc, i)->attisdropped;
		idem_rels.keys_live_cols = live;
	}
	if (rels->keys_live_cols != KC_NUM || desc->constr == NULL || desc->constr->num_defval != 2)
	{
		direct_write_end(&wr);
		return -1;
	}

	slot = key_row_slot(desc, scope, key, fp, retention, lease, lease_null, claim);
	slot->tts_tableOid = RelationGetRelid(wr.heap);
	snap = push_statement_snapshot();
	cid = GetCurrentCommandId(true);
	while (inserted < 0)
	{
		ItemPointerData conflict;
		uint32		token;
		bool		spec_conflict = false;

		CHECK_FOR_INTERRUPTS();

		/*
		 * Waits for an uncommitted writer of the key, then looks again.  The
		 * first round skips it when the caller's probe found no entry of the
		 * key at all: the pre-check only spares a speculative insertion that
		 * would conflict; the check after the insertion is what decides (a
		 * conflict there brings us back here, to the pre-check).
		 */
		if (precheck &&
			!ExecCheckIndexConstraints(wr.rri, slot, wr.estate, &conflict, NIL))
		{
			/*
			 * ON CONFLICT DO NOTHING without a target gives way to a
			 * conflict in any unique index: one of another key would make
			 * the caller look for the key, find nothing and insert again,
			 * round after round.
			 */
			if (!row_of_key(&wr, &conflict, scope, key))
			{
				Oid			other = other_conflicting_index(&wr, slot);

				/* Else the row went away meanwhile: the next round looks again. */
				if (OidIsValid(other))
					report_insert_suppressed(key_object(scope, key), "key", wr.heap, other);
			}
			insert_conflict_visible(&wr, &conflict, snap);
			inserted = 0;
			break;
		}
		token = SpeculativeInsertionLockAcquire(GetCurrentTransactionId());
		table_tuple_insert_speculative(wr.heap, slot, cid, 0, NULL, token);
		list_free(ExecInsertIndexTuples(wr.rri, slot, wr.estate, false, true,
										&spec_conflict, NIL));
		table_tuple_complete_speculative(wr.heap, slot, token, !spec_conflict);
		SpeculativeInsertionLockRelease(GetCurrentTransactionId());
		ResetPerTupleExprContext(wr.estate);
		if (!spec_conflict)
		{
			inserted = 1;
			inserted_memo.lxid = MyProc->lxid;
			inserted_memo.subxid = GetCurrentSubTransactionId();
			inserted_memo.relfilenode = wr.heap->rd_node.relNode;
			inserted_memo.tid = slot->tts_tid;
		}
		precheck = true;
	}
	PopActiveSnapshot();
	ExecDropSingleTupleTableSlot(slot);
	direct_write_end(&wr);
	if (inserted == 1)
		*created = GetCurrentTransactionStartTimestamp();
	return inserted;
}

/*
 * The statements of begin and complete that change an existing key row,
 * which something added to the keys table may skip.
 */
typedef enum SkippedWrite
{
	SKIPPED_COMPLETE,			/* complete's UPDATE (PLAN_COMPLETE) */
	SKIPPED_TAKEOVER,			/* begin's takeover of an abandoned key */
	SKIPPED_EXPIRED_DELETE,		/* begin's delete of an expired key */
	SKIPPED_LEFTOVER_DELETE,	/* begin's delete of another claim's key */
} SkippedWrite;

/*
 * A statement of kind what changed nothing although the row of (scope,
 * key) it was to change is still there as it was -- no concurrent writer
 * explains that: under READ COMMITTED the statement waited for it and the
 * row read afterwards shows its change, under REPEATABLE READ it raised
 * 40001 -- so something a superuser added to the keys table skipped it: a
 * BEFORE row trigger that returned NULL, a policy under FORCE ROW LEVEL
 * SECURITY.  If the table has one, 55000 naming it: begin would look and
 * write again, 8 times, and end in 40001 ("retry"), complete said
 * "already completed with a different result" with a status "(null)".
 * Otherwise this returns and the caller goes on as before.
 */
static void
write_skipped(Datum scope, Datum key, SkippedWrite what)
{
	Relation	heap = table_open(idem_rels_get()->keys, AccessShareLock);
	bool		del = what == SKIPPED_EXPIRED_DELETE || what == SKIPPED_LEFTOVER_DELETE;
	const char *stmt = del ? "DELETE" : "UPDATE";
	StringInfoData names;
	int			ntrig;
	bool		forced_rls = heap->rd_rel->relrowsecurity && heap->rd_rel->relforcerowsecurity;
	char	   *k = TextDatumGetCString(key);
	char	   *sc = TextDatumGetCString(scope);

	initStringInfo(&names);
	ntrig = before_row_triggers(heap, del ? TRIGGER_TYPE_DELETE : TRIGGER_TYPE_UPDATE, &names);
	if (ntrig > 0 || forced_rls)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 what == SKIPPED_COMPLETE ?
				 errmsg("idempotency key \"%s\" in scope \"%s\" cannot be completed", k, sc) :
				 what == SKIPPED_TAKEOVER ?
				 errmsg("abandoned idempotency key \"%s\" in scope \"%s\" cannot be taken over", k, sc) :
				 what == SKIPPED_LEFTOVER_DELETE ?
				 errmsg("idempotency key \"%s\" left in scope \"%s\" by another claim of the scope cannot be deleted", k, sc) :
				 errmsg("expired idempotency key \"%s\" in scope \"%s\" cannot be deleted", k, sc),
				 ntrig > 0 ?
				 errdetail_plural("The %s of its row in table steward.%s changed nothing, and the row is as it was: BEFORE %s trigger %s returned no row.",
								  "The %s of its row in table steward.%s changed nothing, and the row is as it was: one of the BEFORE %s triggers %s returned no row.",
								  ntrig, stmt, IDEM_KEYS_TABLE, stmt, names.data) :
				 errdetail("The %s of its row in table steward.%s changed nothing, and the row is as it was: the table's row-level security policies, forced on its owner, hide the row from it.",
						   stmt, IDEM_KEYS_TABLE),
				 ntrig > 0 ?
				 errhint("Drop the trigger, or let it return a row for table steward.%s.",
						 IDEM_KEYS_TABLE) :
				 errhint("ALTER TABLE steward.%s NO FORCE ROW LEVEL SECURITY", IDEM_KEYS_TABLE)));
	table_close(heap, AccessShareLock);
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
	bool		pid_null;		/* holder_pid is NULL */
	bool		start_null;		/* holder_start is NULL */
	int32		holder_pid;
	TimestampTz holder_start;
	bool		lease_over;
	TimestampTz locked_at;
	KeyClaim	claim;
	ItemPointerData tid;		/* the row version found */
} KeyRow;

/*
 * The holder columns of the row in slot (its columns deformed) into row:
 * holder, and whether its lease ran out by the transaction's start (as
 * expires_at is judged).
 */
static void
key_row_holder(TupleTableSlot *slot, KeyRow *row)
{
	const IdemRels *rels = &idem_rels;
	bool		isnull;
	Datum		d;
	TimestampTz t;

	d = slot_getattr(slot, rels->kcol[KC_HOLDER_PID], &row->pid_null);
	row->holder_pid = row->pid_null ? 0 : DatumGetInt32(d);
	row->holder_start = slot_timestamp(slot, rels->kcol[KC_HOLDER_START], &row->start_null);
	row->has_holder = !row->pid_null && !row->start_null;
	t = slot_timestamp(slot, rels->kcol[KC_LEASE_UNTIL], &isnull);
	row->lease_over = !isnull && t <= GetCurrentTransactionStartTimestamp();
}

/*
 * The row of (scope, key) visible now, read through the key constraint's
 * index; false if there is none.  The response is copied into outcxt (it
 * outlives SPI).
 */
static bool
look_key(Datum scope, Datum key, KeyRow *row, MemoryContext outcxt, bool *indexed)
{
	Datum		vals[2] = {scope, key};
	const IdemRels *rels = idem_rels_get();
	DirectRead	rd;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	bool		found;

	memset(row, 0, sizeof(KeyRow));
	direct_read_begin(&rd, rels->keys, rels->keys_index, NULL, 2, vals);
	rels = idem_rels_get();		/* DDL that committed while we waited for the lock */
	*indexed = false;
	found = key_scan_next_indexed(rd.scan, 2, vals, rd.slot, indexed);
	if (found)
	{
		TupleTableSlot *slot = rd.slot;
		bool		isnull;
		Datum		d;
		TimestampTz t;

		row->tid = slot->tts_tid;
		/* All columns up to the last one read, in one pass over the row. */
		slot_getallattrs(slot);
		d = slot_getattr(slot, rels->kcol[KC_FINGERPRINT], &isnull);
		row->fingerprint = isnull ? pstrdup("") : TextDatumGetCString(d);
		d = slot_getattr(slot, rels->kcol[KC_STATUS], &isnull);
		row->completed = !isnull;
		row->status = isnull ? 0 : DatumGetInt32(d);
		d = slot_getattr(slot, rels->kcol[KC_RESPONSE], &isnull);
		if (!isnull)
		{
			MemoryContext old = MemoryContextSwitchTo(outcxt);

			row->response = DatumGetJsonbPCopy(d);
			MemoryContextSwitchTo(old);
		}
		row->created_at = slot_timestamp(slot, rels->kcol[KC_CREATED_AT], &isnull);
		row->has_created = !isnull;
		t = slot_timestamp(slot, rels->kcol[KC_EXPIRES_AT], &isnull);
		row->expired = !isnull && t <= now;
		key_row_holder(slot, row);
		row->locked_at = slot_timestamp(slot, rels->kcol[KC_LOCKED_AT], &isnull);
		d = slot_getattr(slot, rels->kcol[KC_CLAIM], &isnull);
		claim_from_datum(&row->claim, d, isnull);
	}
	direct_read_end(&rd);
	return found;
}

/*
 * A key without a result may be taken over when the session that began it
 * is gone, or when the lease that session set has run out.  Rows from 0.1
 * name no holder; the upgrade gave them a lease.  A row naming half a
 * holder (holder_pid without holder_start or the other way round) no
 * library writes: only a hand write does (a superuser's or the keys'
 * owner's UPDATE, INSERT or COPY; a crash cannot split one row version).
 * Its holder's beacon cannot be probed, so no session can be found alive:
 * it is abandoned, as the purge and begin's expired delete already judge
 * it (held_alive), rather than in_progress to every begin until it
 * expires.
 */
static bool
abandoned(const KeyRow *row)
{
	if (row->lease_over)
		return true;
	if (row->pid_null != row->start_null)
		return true;
	if (!row->has_holder)
		return false;
	return !holder_alive(row->holder_pid, row->holder_start);
}

/*
 * A key in progress whose holder lives (and whose lease, if any, lasts)
 * stays the holder's even past its expiry (review11 R11-1): expiry ends
 * the replay window of a result, not a request still running.  A key
 * without a result that names no holder expires as before.
 */
static bool
held_alive(const KeyRow *row)
{
	return !row->completed && row->has_holder && !abandoned(row);
}

/*
 * PLAN_TAKEOVER's WHERE on the row in slot (its columns deformed): the
 * key, no result, and the version judged abandoned (upd->judged): the
 * same locked_at, holder and claim.  A concurrent taker changed locked_at
 * and the holder, so after waiting for it the other fails this and looks
 * again.
 */
static bool
takeover_matches(TupleTableSlot *slot, const Datum *vals, const KeyUpdate *upd)
{
	const IdemRels *rels = &idem_rels;
	const KeyRow *row = upd->judged;
	bool		isnull;
	bool		start_null;
	Datum		d;
	TimestampTz t;

	if (!complete_matches(slot, vals, &row->claim))
		return false;
	t = slot_timestamp(slot, rels->kcol[KC_LOCKED_AT], &isnull);
	if (isnull || t != row->locked_at)
		return false;
	/* Each holder column as judged, NULL or not (IS NOT DISTINCT FROM). */
	d = slot_getattr(slot, rels->kcol[KC_HOLDER_PID], &isnull);
	if (isnull != row->pid_null || (!isnull && DatumGetInt32(d) != row->holder_pid))
		return false;
	t = slot_timestamp(slot, rels->kcol[KC_HOLDER_START], &start_null);
	return start_null == row->start_null && (start_null || t == row->holder_start);
}

/*
 * Take over an abandoned key: new holder, new lease, only if the row is
 * still the version judged abandoned (PLAN_TAKEOVER's WHERE), directly
 * (update_key_direct: through the key's index, whatever the statistics
 * say) unless only the statement may write the table.  True if we took
 * it, its created_at in res; false if we lost.
 */
static bool
take_over(Datum scope, Datum key, const KeyRow *row, BeginResult *res)
{
	static const KeyCol setcols[4] = {KC_LOCKED_AT, KC_HOLDER_PID, KC_HOLDER_START,
	KC_LEASE_UNTIL};
	Datum		args[9];
	char		nulls[9] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	KeyUpdate	upd = {.nset = 4,.setcols = setcols,.matches = takeover_matches,
	.claim = &row->claim,.judged = row};
	int			updated;

	args[0] = scope;
	args[1] = key;
	args[2] = Int32GetDatum(MyProcPid);
	args[3] = TimestampTzGetDatum(MyStartTimestamp);
	args[4] = lease_interval(&nulls[4]);
	upd.set[0] = TimestampTzGetDatum(now);
	upd.set[1] = args[2];
	upd.set[2] = args[3];
	upd.setnull[3] = nulls[4] == 'n';
	if (!upd.setnull[3])
		upd.set[3] = timestamp_plus(now, DatumGetIntervalP(args[4]));
	updated = update_key_direct(args, &upd, false);
	if (updated == 1)
	{
		res->has_created = upd.has_created;
		res->created_at = upd.created;
	}
	if (updated >= 0)
		return updated == 1;
	args[5] = TimestampTzGetDatum(row->locked_at);
	args[6] = Int32GetDatum(row->holder_pid);
	args[7] = TimestampTzGetDatum(row->holder_start);
	nulls[6] = row->pid_null ? 'n' : ' ';
	nulls[7] = row->start_null ? 'n' : ' ';
	args[8] = claim_arg(&row->claim, &nulls[8]);
	if (run_plan(PLAN_TAKEOVER, args, nulls, false) != SPI_OK_UPDATE_RETURNING ||
		SPI_processed != 1)
		return false;
	take_created_at(res, 1);
	return true;
}

/*
 * After a statement that was to change row changed nothing: is the same
 * row version still the one visible?  Then nothing concurrent explains it
 * (write_skipped).
 */
static bool
row_unchanged(Datum *args, const KeyRow *row)
{
	KeyRow		again;
	bool		indexed;

	return look_key(args[0], args[1], &again, CurrentMemoryContext, &indexed) &&
		ItemPointerEquals(&again.tid, (ItemPointer) &row->tid);
}

/*
 * Begin's deletes of a key's row, the two kinds: an expired key
 * (PLAN_DELETE_EXPIRED) and another claim's key (PLAN_DELETE_LEFTOVER).
 */
typedef enum KeyDelete
{
	KEY_DELETE_EXPIRED,
	KEY_DELETE_LEFTOVER,
} KeyDelete;

/*
 * Is the row in slot (its columns deformed) expired by now (the
 * transaction's start, as look_key judges) and not in progress under a
 * live holder whose lease lasts (held_alive)?  The WHERE of
 * PLAN_DELETE_EXPIRED (without the key) and of PLAN_PURGE.
 */
static bool
expired_not_held(TupleTableSlot *slot, TimestampTz now)
{
	const IdemRels *rels = &idem_rels;
	bool		isnull;
	TimestampTz t = slot_timestamp(slot, rels->kcol[KC_EXPIRES_AT], &isnull);
	KeyRow		row;

	if (isnull || t > now)
		return false;
	memset(&row, 0, sizeof(KeyRow));
	(void) slot_getattr(slot, rels->kcol[KC_STATUS], &isnull);
	row.completed = !isnull;
	key_row_holder(slot, &row);
	return !held_alive(&row);
}

/*
 * Does the row in slot (its columns deformed) have the key in vals and
 * what the delete of kind what removes: expires_at <= now() (the
 * transaction's start, as look_key judges) and not in progress under a
 * live holder (held_alive, PLAN_DELETE_EXPIRED's NOT (...)), or a claim IS
 * DISTINCT FROM claim?  The holder matters when a concurrent update is
 * waited for (idem6, codereview13 R1): a takeover leaves expires_at as it
 * was, so after another session took the expired key over, its latest
 * version is still expired, but the key is that session's while it lives
 * and begin must say in_progress, not delete it and hand out new twice.
 */
static bool
delete_matches(TupleTableSlot *slot, const Datum *vals, KeyDelete what,
			   const KeyClaim *claim)
{
	const IdemRels *rels = &idem_rels;
	bool		isnull;
	Datum		d;
	KeyClaim	row_claim;

	d = slot_getattr(slot, rels->kcol[KC_SCOPE], &isnull);
	if (isnull || !text_equal(d, vals[0]))
		return false;
	d = slot_getattr(slot, rels->kcol[KC_KEY], &isnull);
	if (isnull || !text_equal(d, vals[1]))
		return false;
	if (what == KEY_DELETE_EXPIRED)
		return expired_not_held(slot, GetCurrentTransactionStartTimestamp());
	d = slot_getattr(slot, rels->kcol[KC_CLAIM], &isnull);
	claim_from_datum(&row_claim, d, isnull);
	return !claim_equal(&row_claim, claim);
}

/*
 * Delete the row version in slot, as ExecDelete deletes it: a concurrent
 * update gives 40001 under REPEATABLE READ and SERIALIZABLE, else the
 * row's latest version is locked and deleted if it still matches
 * (EvalPlanQual).  Returns the number of rows deleted, 0 or 1.
 */
static int
delete_key_row(DirectWrite *wr, TupleTableSlot *slot, const Datum *vals,
			   KeyDelete what, const KeyClaim *claim, Snapshot snap)
{
	CommandId	cid = GetCurrentCommandId(true);
	ItemPointerData tid = slot->tts_tid;
	TupleTableSlot *lockslot = NULL;
	int			deleted = 0;

	for (;;)
	{
		TM_FailureData tmfd;
		TM_Result	result;

		result = table_tuple_delete(wr->heap, &tid, cid, snap, InvalidSnapshot,
									true, &tmfd, false);
		if (result == TM_Ok)
		{
			deleted = 1;
			break;
		}
		/* READ COMMITTED: the latest version, deleted if it still matches. */
		if (!lock_latest_version(wr->heap, &tid, result, &tmfd, cid, snap, LockTupleExclusive,
								 true, &lockslot) ||
			!delete_matches(lockslot, vals, what, claim))
			break;
		tid = lockslot->tts_tid;
	}
	if (lockslot != NULL)
		ExecDropSingleTupleTableSlot(lockslot);
	return deleted;
}

/*
 * Begin's delete of kind what of the key in vals (claim: the scope's, for
 * KEY_DELETE_LEFTOVER), the statement's work done directly (see "Direct
 * writes" above): the rows are found through the key constraint's index
 * under the statement snapshot and deleted with table_tuple_delete.  The
 * statements' plans follow the table's statistics, and the planner takes
 * a sequential scan of a small keys table (as after an ANALYZE of a few
 * hundred keys) for them: the index scan here does not depend on them,
 * so a begin never reads the whole table.  Returns the rows deleted, or
 * -1 when only the statement may write the table.
 */
static int
delete_key_direct(const Datum *vals, KeyDelete what, const KeyClaim *claim)
{
	DirectWrite wr;
	Snapshot	snap;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	int			deleted = 0;

	if (!direct_write_begin(&wr, CMD_DELETE, true))
		return -1;
	snap = push_statement_snapshot();
	slot = table_slot_create(wr.heap, NULL);
	direct_write_indexes(&wr);
	scan = key_scan_begin(wr.heap, wr.index, snap, 2, vals);
	while (key_scan_next(scan, 2, vals, slot))
	{
		slot_getallattrs(slot);
		if (delete_matches(slot, vals, what, claim))
			deleted += delete_key_row(&wr, slot, vals, what, claim, snap);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	PopActiveSnapshot();
	direct_write_end(&wr);
	return deleted;
}

/*
 * Delete the key (scope, key) when it is expired, or another claim's
 * than claim (what); directly, or by the statement when only that may
 * write the table.  Returns the number of rows deleted.
 */
static uint64
delete_key(Datum scope, Datum key, KeyDelete what, const KeyClaim *claim)
{
	Datum		args[3] = {scope, key, (Datum) 0};
	char		nulls[3] = {' ', ' ', ' '};
	int			deleted = delete_key_direct(args, what, claim);

	if (deleted >= 0)
		return (uint64) deleted;
	if (what == KEY_DELETE_EXPIRED)
		run_plan(PLAN_DELETE_EXPIRED, args, NULL, false);
	else
	{
		args[2] = claim_arg(claim, &nulls[2]);
		run_plan(PLAN_DELETE_LEFTOVER, args, nulls, false);
	}
	return SPI_processed;
}

/*
 * Decide the outcome from the existing row found by look_key.  Returns
 * false if the row expired (it has been deleted) or a takeover lost a race:
 * the caller looks again.  55000 when something added to the keys table
 * skips the delete or the takeover (write_skipped).
 */
static bool
judge_existing_row(Datum *args, const KeyRow *row, const KeyClaim *claim,
				   const char *fingerprint, BeginResult *res)
{
	if (!claim_equal(&row->claim, claim))
	{
		/*
		 * Another claim's key ("Claims"): nobody's, never replayed.  Dropped
		 * as an expired one is, whatever its state, and the key inserted
		 * afresh.
		 */
		if (delete_key(args[0], args[1], KEY_DELETE_LEFTOVER, claim) == 0 &&
			row_unchanged(args, row))
			write_skipped(args[0], args[1], SKIPPED_LEFTOVER_DELETE);
		return false;
	}
	if (row->expired && !held_alive(row))
	{
		/*
		 * Expired keys count as new: drop the old row and insert afresh.
		 * Counted as expired only if this begin deleted it: a concurrent
		 * begin or purge that deleted it first, or a takeover that made it
		 * another session's, leaves nothing here to count.
		 */
		if (delete_key(args[0], args[1], KEY_DELETE_EXPIRED, NULL) > 0)
			res->outcome = IDEM_EXPIRED;
		else if (row_unchanged(args, row))
			write_skipped(args[0], args[1], SKIPPED_EXPIRED_DELETE);
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
		if (take_over(args[0], args[1], row, res))
		{
			res->outcome = IDEM_NEW;
			return true;
		}
		if (row_unchanged(args, row))
			write_skipped(args[0], args[1], SKIPPED_TAKEOVER);
		return false;
	}
	res->outcome = IDEM_IN_PROGRESS;
	return true;
}

/*
 * The scope's lock (ShareLock), before the scope is looked at, until the
 * transaction ends: a drop of the scope waits for this transaction, and
 * this one for a drop in progress ("Scope locks").  Then the scope's
 * information in *info, claiming a scope nobody has used for caller.
 * Returns false, with nothing read, when a no-wait request would wait: for
 * the lock (a drop is in progress), or for the transaction still running
 * that used the scope first (the scope's first request is in progress, so
 * is this one).  Errors: check_scope_info's (42501 without the owner's
 * privileges, ...).
 */
static bool
begin_lock_scope(text *scope, Oid caller, bool nowait, ScopeInfo *info)
{
	if (!scope_lock_text(scope, ShareLock, nowait) ||
		(nowait && !OidIsValid(scope_owner(scope)) &&
		 scope_claim_uncommitted(PointerGetDatum(scope))))
		return false;
	(void) check_scope_info(scope, caller, true, info);
	return true;
}

/*
 * One round's insert of a key with no visible row: args[0..1] are the
 * scope and key, fp the fingerprint; args and nulls are filled for
 * PLAN_INSERT.  Waits here for an uncommitted holder of the same key; if
 * it committed, nothing is inserted and the next round sees its row.
 * Returns true when the key was inserted (res: IDEM_NEW, its created_at).
 * *suppressed counts the rounds where nothing was inserted and no row of
 * the key was there to give way to; at two insert_suppressed raises 55000.
 */
static bool
begin_insert_key(Datum *args, char *nulls, text *fp, const ScopeInfo *info,
				 bool indexed, int *suppressed, BeginResult *res)
{
	int			inserted;

	args[2] = PointerGetDatum(fp);
	args[3] = IntervalPGetDatum(&info->retention);
	args[4] = Int32GetDatum(MyProcPid);
	args[5] = TimestampTzGetDatum(MyStartTimestamp);
	args[6] = lease_interval(&nulls[6]);
	args[7] = claim_arg(&info->claim, &nulls[7]);
	inserted = insert_direct(args[0], args[1], args[2], &info->retention,
							 args[6], nulls[6] == 'n', &info->claim, indexed,
							 &res->created_at);
	if (inserted == 1)
	{
		res->outcome = IDEM_NEW;
		res->has_created = true;
		return true;
	}
	if (inserted < 0)
	{
		run_plan(PLAN_INSERT, args, nulls, false);
		if (SPI_processed == 1)
		{
			res->outcome = IDEM_NEW;
			take_created_at(res, 1);
			return true;
		}

		/*
		 * Nothing inserted and no row of the key to give way to: a trigger,
		 * or a unique index on other columns, suppressed the insert, and
		 * every further round would do the same.  Once may also be a
		 * concurrent delete of the row that conflicted, committed since
		 * (the next round then inserts); twice is the table (report it).
		 */
		if (!key_row_present(args[0], args[1]) && ++(*suppressed) >= 2)
			insert_suppressed(args[0], args[1], args[2], &info->retention,
							  args[6], nulls[6] == 'n', &info->claim);
	}
	return false;
}

/*
 * The begin of steward.idempotency_begin and its variants: up to
 * IDEM_MAX_ATTEMPTS rounds of looking the key up (judge_existing_row) or
 * inserting it (begin_insert_key), as the keys' owner, until one settles
 * the outcome in *res.  Errors: 40001 when the key changed under
 * concurrent requests in every round, and those of the parts.
 */
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
	Datum		args[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	bool		expired_seen = false;
	bool		scope_busy = false;
	ScopeInfo	info;
	KeyRow		row;
	MemoryContext callcxt = CurrentMemoryContext;
	int			attempt;
	bool		indexed;
	int			suppressed = 0;

	memset(res, 0, sizeof(BeginResult));
	caller = idem_enter(&ctx);
	if (!begin_lock_scope(scope, caller, nowait, &info))
	{
		res->outcome = IDEM_IN_PROGRESS;
		scope_busy = true;
	}

	for (attempt = 0; attempt < IDEM_MAX_ATTEMPTS && !scope_busy; attempt++)
	{
		args[0] = PointerGetDatum(scope);
		args[1] = PointerGetDatum(key);
		if (look_key(args[0], args[1], &row, callcxt, &indexed))
		{
			if (judge_existing_row(args, &row, &info.claim, fingerprint, res))
				break;
			if (res->outcome == IDEM_EXPIRED)
				expired_seen = true;
			continue;
		}

		/* Not even an invisible row of the key was indexed: none to wait for. */
		if (nowait && indexed &&
			key_held_uncommitted(PointerGetDatum(scope), PointerGetDatum(key)))
		{
			res->outcome = IDEM_IN_PROGRESS;
			break;
		}
		if (begin_insert_key(args, nulls, fp, &info, indexed, &suppressed, res))
			break;
	}
	/* Before the key can commit: the key is ours while this session is. */
	if (attempt < IDEM_MAX_ATTEMPTS && res->outcome == IDEM_NEW)
		hold_beacon();
	idem_leave(&ctx);

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

	/*
	 * The executor's row type when it passes one (a call in FROM or in the
	 * select list of a query): building it again from pg_proc costs more
	 * than the rest of a replay's row.
	 */
	InitMaterializedSRF(fcinfo, rsinfo != NULL && IsA(rsinfo, ReturnSetInfo) &&
						rsinfo->expectedDesc != NULL ? MAT_SRF_USE_EXPECTED_DESC : 0);
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
 * database still has 0.1's objects or when something added to the keys
 * table (a unique index on other columns, a trigger) suppresses the
 * insert of the key's row.  The row is written in the caller's
 * transaction as the extension's table owner (plumbing/as_owner.c).
 * Raises 25006 where it must write during recovery ("cannot execute steward.idempotency_begin()
 * during recovery") or in a read-only transaction (idem_require_writable).
 */
Datum
steward_idempotency_begin(PG_FUNCTION_ARGS)
{
	BeginResult res;

	idem_entry("steward.idempotency_begin()");
	idempotency_begin_internal(fcinfo, &res);
	return_begin_row(fcinfo, &res);
	return (Datum) 0;
}

/*
 * Same, but mismatch and in_progress are errors (SI422, SI409).  Locks and
 * the other errors as steward_idempotency_begin.
 */
Datum
steward_idempotency_begin_strict(PG_FUNCTION_ARGS)
{
	BeginResult res;

	idem_entry("steward.idempotency_begin_strict()");
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
/*
 * 55000: complete found no key of (scope, key) without a result to store;
 * no_scope when the scope has no row, which is then the cause to name,
 * also for a key begun before the row went (a key left under a name
 * without its scope row, by a restore or a direct write, belongs to
 * nobody).
 */
static void key_not_held(text *scope, text *key, bool no_scope) pg_attribute_noreturn();

static void
key_not_held(text *scope, text *key, bool no_scope)
{
	/*
	 * A scope with no row is most often a misspelling of the scope the key
	 * was begun in: a begin with this name would make another, empty scope,
	 * so the hint says where the scopes are listed before it names begin.
	 */
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("idempotency key \"%s\" in scope \"%s\" is not held",
					text_to_cstring(key), text_to_cstring(scope)),
			 no_scope ?
			 errdetail("Scope \"%s\" does not exist: keys left under its name belong to no scope and are never completed or replayed.",
					   text_to_cstring(scope)) :
			 errdetail("No key was begun and committed, or begun in this transaction; it may have expired."),
			 errhint(no_scope ? "Check the scope's name: complete a key in the scope it was begun in (steward.idempotency_scope_owners lists the scopes you may use); a new request calls steward.idempotency_begin() first, which creates the scope." :
					 "Call steward.idempotency_begin() first.")));
}

/*
 * What complete finds when its update changed nothing: the visible row of
 * the key of the scope's claim (found), whether it has a result
 * (completed: its status), and whether that result is the one given
 * (same: status and response, PLAN_RESULT's first column).
 */
typedef struct StoredResult
{
	bool		found;
	bool		completed;
	int32		status;
	bool		same;
} StoredResult;

/*
 * PLAN_RESULT without the executor, after complete_direct: the first
 * visible row of the key in vals of claim, read through the key
 * constraint's index under a statement snapshot (direct_read_begin), as
 * look_key reads it -- whatever the table's statistics say, where the
 * statement's plan followed them (a sequential scan of a small keys table).
 */
static void
stored_result_direct(const Datum *vals, const KeyClaim *claim, int32 status,
					 Jsonb *response, StoredResult *out)
{
	const IdemRels *rels = idem_rels_get();
	DirectRead	rd;

	memset(out, 0, sizeof(StoredResult));
	direct_read_begin(&rd, rels->keys, rels->keys_index, NULL, 2, vals);
	rels = idem_rels_get();		/* DDL that committed while we waited for the lock */
	while (!out->found && key_scan_next(rd.scan, 2, vals, rd.slot))
	{
		bool		isnull;
		Datum		d;
		KeyClaim	row_claim;

		slot_getallattrs(rd.slot);
		d = slot_getattr(rd.slot, rels->kcol[KC_CLAIM], &isnull);
		claim_from_datum(&row_claim, d, isnull);
		if (!claim_equal(&row_claim, claim))
			continue;
		out->found = true;
		d = slot_getattr(rd.slot, rels->kcol[KC_STATUS], &isnull);
		out->completed = !isnull;
		out->status = isnull ? 0 : DatumGetInt32(d);
		d = slot_getattr(rd.slot, rels->kcol[KC_RESPONSE], &isnull);
		/* status = $3 AND response IS NOT DISTINCT FROM $4 */
		out->same = out->completed && out->status == status &&
			(isnull ? response == NULL :
			 response != NULL &&
			 DatumGetBool(DirectFunctionCall2(jsonb_eq, d, PointerGetDatum(response))));
	}
	direct_read_end(&rd);
}

/* PLAN_RESULT, after complete's statement (the table has triggers, ...). */
static void
stored_result_statement(Datum *args, const char *nulls, StoredResult *out)
{
	bool		isnull;
	Datum		d;

	memset(out, 0, sizeof(StoredResult));
	run_plan(PLAN_RESULT, args, nulls, false);
	if (SPI_processed == 0)
		return;
	out->found = true;
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
	out->completed = !isnull;
	out->status = isnull ? 0 : DatumGetInt32(d);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	out->same = !isnull && DatumGetBool(d);
}

/*
 * steward.idempotency_complete(scope, key, status, response): store the
 * result of a key without one, in the caller's transaction, as the keys
 * table's owner; completing again with the same result is a no-op.  Waits
 * for a concurrent writer of the row (lock_timeout applies).  Raises 22004
 * for a NULL scope, key or status, 22023 for an empty or oversized scope
 * or key, a status outside 100..599 (HTTP's) or a response that is not a
 * JSON object, 42501 when the scope
 * belongs to another role, 55000 when the key is not held (never begun,
 * rolled back, expired), already has another result, or the update was
 * skipped by something added to the keys table, 40001 for a concurrent
 * update under REPEATABLE READ or SERIALIZABLE, 25006 in a read-only
 * transaction.
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
	Datum		args[6];
	char		nulls[6] = {' ', ' ', ' ', ' ', ' ', ' '};
	int			updated;
	bool		direct;

	idem_entry("steward.idempotency_complete()");
	idem_require_writable();
	if (PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("idempotency status must not be null")));
	status = PG_GETARG_INT32(2);
	/* the response's HTTP status (RFC 9110: three digits, 100 to 599) */
	if (status < 100 || status > 599)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idempotency status must be an HTTP status code between 100 and 599"),
				 errdetail("Got %d.", status),
				 errhint("Store the status the response was sent with, for example 201; "
						 "a request that must not be replayed is rolled back instead.")));
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

	/*
	 * The scope's lock, as begin takes it, before the scope is checked: an
	 * owner change or a drop waits for this transaction, and this one for
	 * an owner change or drop in progress, after which the check sees who
	 * owns the scope now ("Scope locks").
	 */
	(void) scope_lock_text(scope, ShareLock, false);

	/*
	 * A scope that does not exist holds no keys of anyone's: a key left
	 * under its name without its row belongs to nobody (an explicit
	 * creation of the scope deletes it: delete_leftover_keys), so nobody
	 * completes it.
	 */
	if (!check_scope_info(scope, caller, false, &info))
		key_not_held(scope, key, true);
	args[0] = PointerGetDatum(scope);
	args[1] = PointerGetDatum(key);
	args[2] = Int32GetDatum(status);
	args[3] = PointerGetDatum(response);
	if (response == NULL)
		nulls[3] = 'n';
	args[4] = IntervalPGetDatum(&info.retention);
	args[5] = claim_arg(&info.claim, &nulls[5]);
	updated = complete_direct(args[0], args[1], status, response, &info.retention,
							  &info.claim);
	direct = updated >= 0;
	if (!direct)
	{
		run_plan(PLAN_COMPLETE, args, nulls, false);
		updated = (int) SPI_processed;
	}
	if (updated == 0)
	{
		StoredResult stored;

		if (direct)
			stored_result_direct(args, &info.claim, status, response, &stored);
		else
			stored_result_statement(args, nulls, &stored);
		/* A row without a result that the update did not change. */
		if (stored.found && !stored.completed)
			write_skipped(args[0], args[1], SKIPPED_COMPLETE);
		if (!stored.found || !stored.completed)
			key_not_held(scope, key, false);
		if (!stored.same)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("idempotency key \"%s\" in scope \"%s\" was already completed with a different result",
							text_to_cstring(key), text_to_cstring(scope)),
					 errdetail("The stored status is %d.", stored.status),
					 errhint("A retry of the same request must complete with the stored result; "
							 "give a new request a new key. steward.idempotency_keys shows the "
							 "stored status and response.")));
		/* Completing again with the same result is a no-op. */
	}
	idem_leave(&ctx);
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

	/*
	 * Keys expire at now() + retention, months and days added on the
	 * calendar (a month 28 to 31 days, a day 23 to 25 hours across a DST
	 * change), but intervals compare as 30-day months and 24-hour days: a
	 * retention with fields of both signs, like '-1 mon 31 days', compares
	 * as positive while it is zero or negative on some dates, so every
	 * retry would be new (review11 R11-11).  Every field must be zero or
	 * positive; then the sum is positive on every date exactly when it
	 * compares as positive.
	 */
	if ((iv->month < 0 || iv->day < 0 || iv->time < 0) &&
		(iv->month > 0 || iv->day > 0 || iv->time > 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("idempotency retention must not mix positive and negative fields"),
				 errdetail("Got %s: keys expire at now() + retention, with months and days added on the calendar, so it is not positive on every date.",
						   DatumGetCString(DirectFunctionCall1(interval_out, IntervalPGetDatum(iv)))),
				 errhint("Give the retention in positive fields only, for example '1 day' or '36 hours'.")));
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
		scope_denied(scope, owner, caller, what);
	return owner;
}

/*
 * steward.create_idempotency_scope(scope, owner DEFAULT current_user,
 * retention DEFAULT NULL): reserve a scope for a role before anyone uses
 * it.  Creating one for another role needs membership in it, as CREATE
 * SCHEMA ... AUTHORIZATION does.  Locks: the owner role's pg_authid object
 * (AccessShareLock, as core before recording an owner), then the rows it
 * writes; the deletion of leftover keys reads the whole keys table.
 * Errors: 42704 no such role, 42501 not a member of it, 42710 if the scope
 * exists, 55000 when something added to the scopes table suppressed the
 * insert.
 * Raises 25006 where it must write during recovery ("cannot execute steward.create_idempotency_scope()
 * during recovery") or in a read-only transaction (idem_require_writable).
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
	uint64		n;

	idem_entry("steward.create_idempotency_scope()");
	args[2] = retention_arg(fcinfo, 2, &nulls[2]);
	scope_memo_forget();
	caller = idem_enter(&ctx);
	owner = PG_ARGISNULL(1) ? caller : PG_GETARG_OID(1);
	if (!OidIsValid(owner) || GetUserNameFromId(owner, true) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("role with OID %u does not exist", owner)));
	check_is_member_of_role(caller, owner);
	lock_scope_owner_role(owner);
	args[0] = PointerGetDatum(scope);
	args[1] = ObjectIdGetDatum(owner);
	run_plan(PLAN_SCOPE_CREATE, args, nulls, false);
	if (SPI_processed == 0 && !OidIsValid(scope_owner(scope)))
		scope_insert_suppressed(scope);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("idempotency scope \"%s\" already exists", text_to_cstring(scope)),
				 errhint("See steward.idempotency_scope_owners for the scopes you may use.")));
	/* Keys nobody owned: not the new owner's; the DBA hears of them. */
	n = delete_leftover_keys(scope);
	if (n > 0)
		report_leftover_keys(NOTICE, scope, owner, n);
	idem_leave(&ctx);
	PG_RETURN_VOID();
}

/*
 * steward.alter_idempotency_scope_owner(scope, owner): as ALTER ... OWNER
 * TO: the caller needs the privileges of the current owner and membership
 * in the new one (superusers need neither).  Locks: the scope's
 * ExclusiveLock (waits for the transactions using the scope), then the
 * new owner role's pg_authid object (AccessShareLock).  Errors: 22004 a
 * NULL owner, 42501 (checked before the lock and again after it), 42704
 * no such role.
 * Raises 25006 where it must write during recovery ("cannot execute steward.alter_idempotency_scope_owner()
 * during recovery") or in a read-only transaction (idem_require_writable).
 */
Datum
steward_alter_idempotency_scope_owner(PG_FUNCTION_ARGS)
{
	text	   *scope = required_text(fcinfo, 0, "scope", true);
	StewardAsOwner ctx;
	Oid			caller;
	Oid			owner;
	Datum		args[2];

	idem_entry("steward.alter_idempotency_scope_owner()");
	idem_require_writable();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the new owner of an idempotency scope must not be null")));
	owner = PG_GETARG_OID(1);
	scope_memo_forget();
	caller = idem_enter(&ctx);
	/*
	 * As drop does: privileges first, then the scope's ExclusiveLock, which
	 * waits for the transactions that use the scope (its old owner's must
	 * not go on using it under the new owner: review12 R12-7), then the
	 * privileges again -- the scope may have changed hands meanwhile.
	 */
	(void) require_scope_owner(scope, caller, "change its owner");
	check_is_member_of_role(caller, owner);
	(void) scope_lock_text(scope, ExclusiveLock, false);
	(void) require_scope_owner(scope, caller, "change its owner");
	lock_scope_owner_role(owner);
	args[0] = PointerGetDatum(scope);
	args[1] = ObjectIdGetDatum(owner);
	run_plan(PLAN_SCOPE_SET_OWNER, args, NULL, false);
	idem_leave(&ctx);
	PG_RETURN_VOID();
}

/*
 * Delete the scope's keys and then the scope, holding its ExclusiveLock
 * ("Scope locks"), in the owner's context.  Returns the number of keys
 * deleted.  Under REPEATABLE READ, a key the transaction snapshot does
 * not see (committed after it was taken) could not be deleted: 40001
 * rather than a key left without its scope.
 */
static uint64
drop_scope_locked(text *scope)
{
	return delete_scope_keys(scope, true);
}

/*
 * steward.drop_idempotency_scope(scope): the owner removes a scope and
 * every key in it, after waiting for the transactions that began keys in
 * it (and making begins wait: "Scope locks").  Returns the number of keys
 * removed.  40001 under REPEATABLE READ when a key committed after the
 * snapshot.
 * Raises 25006 where it must write during recovery ("cannot execute steward.drop_idempotency_scope()
 * during recovery") or in a read-only transaction (idem_require_writable).
 */
Datum
steward_drop_idempotency_scope(PG_FUNCTION_ARGS)
{
	text	   *scope = required_text(fcinfo, 0, "scope", true);
	StewardAsOwner ctx;
	Oid			caller;
	uint64		n;

	idem_entry("steward.drop_idempotency_scope()");
	idem_require_writable();
	scope_memo_forget();
	caller = idem_enter(&ctx);
	/*
	 * Privileges first, so that nobody else queues for the lock (as DROP
	 * TABLE checks ownership before it locks); again once it is held: the
	 * scope may have changed hands or been dropped while we waited.
	 */
	(void) require_scope_owner(scope, caller, "drop it");
	(void) scope_lock_text(scope, ExclusiveLock, false);
	(void) require_scope_owner(scope, caller, "drop it");
	n = drop_scope_locked(scope);
	idem_leave(&ctx);
	PG_RETURN_INT64((int64) n);
}

/*
 * The scopes the roles (an oid[]) own here, in name order (two walks over
 * them lock alike), each locked exclusively ("Scope locks"): after the
 * transactions using it have ended, fn(scope, arg) runs if the roles still
 * own it; a scope that changed hands while its lock was awaited is left
 * alone.  Connected to SPI as the owner of the extension's tables.
 */
static void
owned_scopes_locked(Datum roles, void (*fn) (text *scope, Datum arg), Datum arg)
{
	Oid			argtypes[1] = {OIDARRAYOID};
	Datum		args[1] = {roles};
	List	   *names = NIL;
	ListCell   *lc;

	scope_memo_forget();
	idem_ctx = NULL;
	if (SPI_execute_with_args("SELECT scope FROM steward.idempotency_scopes"
							  " WHERE owner::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($1)"
							  " ORDER BY scope COLLATE \"C\"",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the idempotency scopes of the roles");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);

		names = lappend(names, DatumGetTextPCopy(d));
	}
	foreach(lc, names)
	{
		text	   *scope = lfirst(lc);
		Datum		owner_args[2] = {PointerGetDatum(scope), roles};
		Oid			owner_types[2] = {TEXTOID, OIDARRAYOID};

		(void) scope_lock_text(scope, ExclusiveLock, false);
		if (SPI_execute_with_args("SELECT 1 FROM steward.idempotency_scopes"
								  " WHERE scope OPERATOR(pg_catalog.=) $1"
								  "   AND owner::pg_catalog.oid OPERATOR(pg_catalog.=) ANY ($2)",
								  2, owner_types, owner_args, NULL, false, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read idempotency scope \"%s\"", text_to_cstring(scope));
		if (SPI_processed > 0)
			fn(scope, arg);
	}
}

static void
drop_owned_scope(text *scope, Datum arg)
{
	(void) drop_scope_locked(scope);
}

/*
 * DROP OWNED BY roles (src/ops/roles.c): drop the scopes the roles own
 * here, with their keys, each as drop_idempotency_scope does.  roles is
 * an oid[].  Takes each scope's ExclusiveLock in name order (waiting for
 * the transactions using it); a scope that changed hands meanwhile is left
 * alone.  Errors: the locks' (40P01, 55P03) and elog ERROR when the
 * catalog cannot be read.
 */
void
steward_idem_drop_owned_scopes(Datum roles)
{
	idem_entry(NULL);
	owned_scopes_locked(roles, drop_owned_scope, (Datum) 0);
}

static void
reassign_owned_scope(text *scope, Datum new_owner)
{
	Datum		args[2] = {PointerGetDatum(scope), new_owner};

	run_plan(PLAN_SCOPE_SET_OWNER, args, NULL, false);
}

/*
 * REASSIGN OWNED BY roles TO new_owner (src/ops/roles.c, after core's
 * part, which checked the caller's privileges on every role): give the
 * scopes the roles own here to new_owner, each as
 * alter_idempotency_scope_owner does -- once the transactions using it
 * have ended, so that none of them goes on using it under the new owner
 * (review12 R12-7).  roles is an oid[].  Locks and errors as
 * steward_idem_drop_owned_scopes.
 */
void
steward_idem_reassign_owned_scopes(Datum roles, Oid new_owner)
{
	idem_entry(NULL);
	owned_scopes_locked(roles, reassign_owned_scope, ObjectIdGetDatum(new_owner));
}

/*
 * steward.set_idempotency_retention(scope, retention): override
 * steward.idempotency_retention for one scope (NULL removes the override).
 * Like a begin, it claims a scope nobody has used, and then, as
 * create_idempotency_scope, deletes the keys left under its name (with a
 * NOTICE: delete_leftover_keys, which reads the whole keys table: O(keys)
 * per name claimed, where a begin's claim is one index probe per key);
 * otherwise the caller needs the privileges of the scope's owner.  Locks:
 * the scope's ShareLock, as a begin, before it checks or claims the scope
 * ("Scope locks"): without it, a caller that was the owner when it looked
 * set the retention of a scope an uncommitted owner change was giving to
 * another role (its UPDATE waited for the row, then changed the new
 * owner's scope), and one racing a drop returned having set nothing.
 * Errors: 42501, 22023 a retention mixing positive and negative fields,
 * 23514 one that is not positive.
 * Raises 25006 where it must write during recovery ("cannot execute steward.set_idempotency_retention()
 * during recovery") or in a read-only transaction (idem_require_writable).
 */
Datum
steward_set_idempotency_retention(PG_FUNCTION_ARGS)
{
	text	   *scope = required_text(fcinfo, 0, "scope", true);
	StewardAsOwner ctx;
	Oid			caller;
	Datum		args[2];
	char		nulls[2] = {' ', ' '};
	ScopeInfo	info;

	idem_entry("steward.set_idempotency_retention()");
	idem_require_writable();
	args[1] = retention_arg(fcinfo, 1, &nulls[1]);
	scope_memo_forget();
	caller = idem_enter(&ctx);
	/* Waits for a drop or an owner change of the scope to end. */
	(void) scope_lock_text(scope, ShareLock, false);
	if (check_scope_info(scope, caller, nulls[1] != 'n', &info))
	{
		/* A claim here is a DBA's creation of the scope, as create's. */
		if (info.claimed)
		{
			uint64		n = delete_leftover_keys(scope);

			if (n > 0)
				report_leftover_keys(NOTICE, scope, caller, n);
		}
		args[0] = PointerGetDatum(scope);
		run_plan(PLAN_SCOPE_SET_RETENTION, args, nulls, false);
	}
	scope_memo_forget();		/* it holds the retention before this change */
	idem_leave(&ctx);
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * purge
 * ------------------------------------------------------------------------
 */

/*
 * The expiry index of the keys table heap (IDEM_EXPIRY_INDEX: 0.1's and
 * 0.2's btree on expires_at), opened with AccessShareLock, or NULL when it
 * is not the valid ascending btree on expires_at alone, with the default
 * timestamptz ordering and no predicate, that the batch walks in expiry
 * order (only a superuser can have changed it): the statement then runs.
 */
static Relation
expiry_index_open(Relation heap)
{
	Oid			indexoid = get_relname_relid(IDEM_EXPIRY_INDEX, RelationGetNamespace(heap));
	Relation	index;
	Form_pg_index ind;

	if (!OidIsValid(indexoid) || get_rel_relkind(indexoid) != RELKIND_INDEX)
		return NULL;
	index = index_open(indexoid, AccessShareLock);
	ind = index->rd_index;
	if (ind->indrelid == RelationGetRelid(heap) && ind->indisvalid &&
		index->rd_rel->relam == BTREE_AM_OID && ind->indnkeyatts == 1 &&
		ind->indkey.values[0] == idem_rels.kcol[KC_EXPIRES_AT] &&
		(index->rd_indoption[0] & INDOPTION_DESC) == 0 &&
		index->rd_opcintype[0] == TIMESTAMPTZOID &&
		index->rd_opfamily[0] ==
		get_opclass_family(GetDefaultOpClass(TIMESTAMPTZOID, BTREE_AM_OID)) &&
		heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL))
		return index;
	index_close(index, AccessShareLock);
	return NULL;
}

/*
 * Delete the expired key in slot, found under snap, without waiting:
 * PLAN_PURGE's FOR UPDATE SKIP LOCKED.  A row another transaction holds
 * (a begin deleting or taking it over, a complete) is skipped, and so,
 * in READ COMMITTED, is one whose newer version committed after snap (the
 * statement's TID scan does not see that version either; the next purge
 * judges it, as PurgeCursor has moved past it); a lock of our own
 * transaction is not another's; under REPEATABLE READ that is 40001, as in ExecLockRows.
 * Returns true if the row was deleted.
 */
static bool
purge_key_row(Relation heap, TupleTableSlot *slot, CommandId cid, Snapshot snap)
{
	TM_FailureData tmfd;
	TM_Result	result;

	result = table_tuple_delete(heap, &slot->tts_tid, cid, snap, InvalidSnapshot,
								false, &tmfd, false);

	/*
	 * A row lock of our own transaction (SELECT ... FOR UPDATE of the key
	 * before purging) is no other's: SKIP LOCKED, which the statement
	 * form uses, does not skip it, and neither do we (codereview14 S3).
	 * Asked to wait, heap_delete waits for no lock of its own transaction.
	 */
	if (result == TM_BeingModified && TransactionIdIsValid(tmfd.xmax) &&
		TransactionIdIsCurrentTransactionId(tmfd.xmax))
		result = table_tuple_delete(heap, &slot->tts_tid, cid, snap, InvalidSnapshot,
									true, &tmfd, false);
	if (result == TM_Ok)
		return true;
	if ((result == TM_Updated || result == TM_Deleted) && IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not serialize access due to concurrent update")));
	return false;				/* TM_BeingModified, TM_SelfModified, ... */
}

/*
 * Where the next batch of a purge starts in the expiry index: at the
 * expires_at of the last key the previous batch deleted (none yet: at the
 * index's start).  The keys before it were deleted or skipped by this
 * purge; without the bound every batch would walk their entries again,
 * which stay in the index until the deletions are older than every
 * snapshot (never, in idempotency_purge()'s one transaction: 1M keys
 * read 500M entries in 1000 batches).  A key skipped (held or locked) is
 * thus looked at again by the next purge, not the next batch.
 */
typedef struct PurgeCursor
{
	bool		valid;
	TimestampTz from;
} PurgeCursor;

/*
 * Up to batch expired keys deleted directly, oldest first: the expiry
 * index walked from *cursor under the statement snapshot, each row
 * judged as PLAN_PURGE judges it (expired_not_held) and deleted without
 * waiting (purge_key_row), each deletion counted for its scope; *cursor
 * is moved to the last one.  The statement was planned from the keys
 * table's statistics: with keys that expired after the last ANALYZE the
 * planner believes few are expired, and when the batch exceeds its
 * estimate it reads them all (a bitmap scan of the expiry index and a
 * sort: 1M keys, batch 10000, 0.67-1.1 s a batch).  The walk reads the batch's entries, plus
 * those it skips (held keys, locked rows, entries of deleted rows),
 * whatever the statistics say.  Returns the keys deleted, or -1 when only
 * the statement may write the table (direct_write_begin) or the expiry
 * index is not the one walked.
 */
static int64
purge_batch_direct(int batch, PurgeCursor *cursor)
{
	DirectWrite wr;
	Relation	index;
	Snapshot	snap;
	ScanKeyData skey[2];
	int			nkeys = 0;
	IndexScanDesc scan;
	TupleTableSlot *slot;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	CommandId	cid;
	Datum		scope;
	bool		isnull;
	int64		n = 0;

	if (!direct_write_begin(&wr, CMD_DELETE, true))
		return -1;
	index = expiry_index_open(wr.heap);
	if (index == NULL)
	{
		direct_write_end(&wr);
		return -1;
	}
	snap = push_statement_snapshot();
	cid = GetCurrentCommandId(true);
	slot = table_slot_create(wr.heap, NULL);
	if (cursor->valid)
		ScanKeyInit(&skey[nkeys++], 1, BTGreaterEqualStrategyNumber, F_TIMESTAMPTZ_GE,
					TimestampTzGetDatum(cursor->from));
	ScanKeyInit(&skey[nkeys++], 1, BTLessEqualStrategyNumber, F_TIMESTAMPTZ_LE,
				TimestampTzGetDatum(now));
	scan = index_beginscan(wr.heap, index, snap, nkeys, 0);
	index_rescan(scan, skey, nkeys, NULL, 0);
	while (n < batch && index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);
		if (!expired_not_held(slot, now) || !purge_key_row(wr.heap, slot, cid, snap))
			continue;
		scope = slot_getattr(slot, idem_rels.kcol[KC_SCOPE], &isnull);
		if (!isnull)
			steward_idem_count(TextDatumGetCString(scope), IDEM_PURGED, 1);
		cursor->valid = true;
		cursor->from = slot_timestamp(slot, idem_rels.kcol[KC_EXPIRES_AT], &isnull);
		n++;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	PopActiveSnapshot();
	index_close(index, AccessShareLock);
	direct_write_end(&wr);
	return n;
}

/* Up to batch expired keys deleted by the statement p; counted per scope. */
static int64
purge_batch_statement(IdemPlan p, int batch)
{
	Datum		args[1] = {Int32GetDatum(batch)};
	uint64		n;

	run_plan(p, args, NULL, false);
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		char	   *scope = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);

		steward_idem_count(scope, IDEM_PURGED, 1);
	}
	return (int64) n;
}

/*
 * Delete up to "batch" expired keys (oldest first, skipping rows other
 * transactions hold) in the current transaction; count them per scope.
 * Directly (purge_batch_direct) unless only the statement may write the
 * table; 0.1's statement while the database has 0.1's objects.  The
 * caller is connected to SPI as the table owner.  Locks: RowExclusiveLock
 * on the keys table, taken before its columns are read (upg1): an ALTER
 * EXTENSION UPDATE that adds 0.2's holder columns holds AccessExclusiveLock
 * on it until it commits, so a batch that waited for it sees the holders
 * and keeps the expired keys whose holders live (0.1's statement would
 * delete them).
 */
static int64
purge_one_batch(int batch, PurgeCursor *cursor)
{
	Oid			relid = steward_relid(IDEM_KEYS_TABLE, false);
	int64		n;

	LockRelationOid(relid, RowExclusiveLock);
	if (get_attnum(relid, "holder_pid") == InvalidAttrNumber)
		return purge_batch_statement(PLAN_PURGE_V01, batch);
	n = purge_batch_direct(batch, cursor);
	if (n >= 0)
		return n;
	return purge_batch_statement(PLAN_PURGE, batch);
}

/* The purge worker's cursor: a worker process lives for one visit. */
static PurgeCursor purge_visit_cursor;

/*
 * Used by the purge worker: one batch, as the owner, starting where the
 * visit's previous batch stopped (purge_visit_cursor); -1 without the
 * extension's keys table.  Locks: the rows it deletes (it never waits for
 * a row another transaction holds: skipped), and RowExclusiveLock on the
 * keys table (waited for, lock_timeout applies).  Errors: 42501 when row
 * security would hide expired keys from the owner, 40001 under
 * REPEATABLE READ for a row changed since the snapshot, and what the
 * statement raises when it runs.
 */
int64
steward_idem_purge_batch_now(int batch)
{
	Oid			relid = steward_relid(IDEM_KEYS_TABLE, true);
	StewardAsOwner ctx;
	int64		n;

	idem_entry(NULL);
	if (!OidIsValid(relid))
		return -1;
	steward_as_owner_begin(relid, &ctx);
	/* A purge deletes every expired key or fails (42501), never a subset. */
	steward_pin_all_rows();
	steward_governor_pin_batch_wal_compression();
	idem_ctx = NULL;
	n = purge_one_batch(batch, &purge_visit_cursor);
	steward_as_owner_end(&ctx);
	return n;
}

/*
 * steward.idempotency_purge(): all expired keys, in batches of
 * steward.idempotency_purge_batch, each starting where the one before it
 * stopped, within the caller's transaction.  Locks and errors as
 * steward_idem_purge_batch_now (42P01 without the keys table).
 * Raises 25006 where it must write during recovery ("cannot execute steward.idempotency_purge()
 * during recovery") or in a read-only transaction (idem_require_writable).
 */
Datum
steward_idempotency_purge(PG_FUNCTION_ARGS)
{
	StewardAsOwner ctx;
	PurgeCursor cursor = {0};
	int64		total = 0;
	int64		n;

	idem_entry("steward.idempotency_purge()");
	steward_as_owner_begin(steward_relid(IDEM_KEYS_TABLE, false), &ctx);
	steward_pin_all_rows();
	steward_governor_pin_batch_wal_compression();
	idem_ctx = NULL;
	do
	{
		CHECK_FOR_INTERRUPTS();
		n = purge_one_batch(steward_idem_purge_batch, &cursor);
		total += n;
	} while (n >= steward_idem_purge_batch);
	steward_as_owner_end(&ctx);
	PG_RETURN_INT64(total);
}

/*
 * Run steward._capacity_sample() as the owner of the samples table, if the
 * extension is installed in this database (the purge worker's last phase).
 * Its locks: RowExclusiveLock on steward.capacity_samples, and
 * AccessShareLock without waiting on each table it sizes
 * (steward._relation_sizes), released at once.  Raises 25006 on a standby
 * ('capacity samples are taken on the primary') and what the statement
 * raises.
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
