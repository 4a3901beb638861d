/*-------------------------------------------------------------------------
 *
 * idempotency.c
 *	  Idempotency keys (Stripe / IETF Idempotency-Key semantics).
 *
 *	  steward.idempotency_begin(scope, key, fingerprint, nowait)
 *	  steward.idempotency_begin_strict(scope, key, fingerprint, nowait)
 *	  steward.idempotency_complete(scope, key, status, response)
 *	  steward.idempotency_purge()
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
#include "catalog/pg_collation_d.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
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
#include "common/as_owner.h"
#include "idempotency/idempotency.h"

PG_FUNCTION_INFO_V1(steward_idempotency_begin);
PG_FUNCTION_INFO_V1(steward_idempotency_begin_strict);
PG_FUNCTION_INFO_V1(steward_idempotency_complete);
PG_FUNCTION_INFO_V1(steward_idempotency_purge);

int			steward_idem_retention_s = 86400;
int			steward_idem_lock_timeout_s = 300;
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
							"How long a key committed without a result stays in progress before a new request may take it over.",
							NULL,
							&steward_idem_lock_timeout_s,
							300, 1, INT_MAX,
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
	PLAN_LOOK,
	PLAN_INSERT,
	PLAN_DELETE_EXPIRED,
	PLAN_TAKEOVER,
	PLAN_COMPLETE,
	PLAN_RESULT,
	PLAN_PURGE,
	NUM_PLANS
} IdemPlan;

static SPIPlanPtr plans[NUM_PLANS];

static const char *const plan_sql[NUM_PLANS] = {
	[PLAN_LOOK] =
	"SELECT fingerprint, status, response, created_at,"
	"       expires_at <= now() AS expired,"
	"       locked_at < now() - $3 AS stale"
	"  FROM steward.idempotency_keys WHERE scope = $1 AND key = $2",
	[PLAN_INSERT] =
	"INSERT INTO steward.idempotency_keys (scope, key, fingerprint, expires_at)"
	" VALUES ($1, $2, $3, now() + coalesce((SELECT s.retention FROM steward.idempotency_scopes s"
	"                                        WHERE s.scope = $1), $4))"
	" ON CONFLICT DO NOTHING RETURNING created_at",
	[PLAN_DELETE_EXPIRED] =
	"DELETE FROM steward.idempotency_keys"
	" WHERE scope = $1 AND key = $2 AND expires_at <= now()",
	[PLAN_TAKEOVER] =
	"UPDATE steward.idempotency_keys SET locked_at = now()"
	" WHERE scope = $1 AND key = $2 AND status IS NULL AND locked_at < now() - $3"
	" RETURNING created_at",
	[PLAN_COMPLETE] =
	"UPDATE steward.idempotency_keys"
	"   SET status = $3, response = $4, completed_at = now(),"
	"       expires_at = now() + coalesce((SELECT s.retention FROM steward.idempotency_scopes s"
	"                                       WHERE s.scope = $1), $5)"
	" WHERE scope = $1 AND key = $2 AND status IS NULL RETURNING 1",
	[PLAN_RESULT] =
	"SELECT status = $3 AND response IS NOT DISTINCT FROM $4, status"
	"  FROM steward.idempotency_keys WHERE scope = $1 AND key = $2",
	[PLAN_PURGE] =
	"DELETE FROM steward.idempotency_keys WHERE ctid = ANY (ARRAY("
	"  SELECT ctid FROM steward.idempotency_keys WHERE expires_at <= now()"
	"   ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED))"
	" RETURNING scope",
};

static const int plan_nargs[NUM_PLANS] = {
	[PLAN_LOOK] = 3,[PLAN_INSERT] = 4,[PLAN_DELETE_EXPIRED] = 2,
	[PLAN_TAKEOVER] = 3,[PLAN_COMPLETE] = 5,[PLAN_RESULT] = 4,[PLAN_PURGE] = 1,
};

static const Oid plan_argtypes[NUM_PLANS][5] = {
	[PLAN_LOOK] = {TEXTOID, TEXTOID, INTERVALOID},
	[PLAN_INSERT] = {TEXTOID, TEXTOID, TEXTOID, INTERVALOID},
	[PLAN_DELETE_EXPIRED] = {TEXTOID, TEXTOID},
	[PLAN_TAKEOVER] = {TEXTOID, TEXTOID, INTERVALOID},
	[PLAN_COMPLETE] = {TEXTOID, TEXTOID, INT4OID, JSONBOID, INTERVALOID},
	[PLAN_RESULT] = {TEXTOID, TEXTOID, INT4OID, JSONBOID},
	[PLAN_PURGE] = {INT4OID},
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
 * nowait: is the key held by a transaction that has not committed?
 *
 * An uncommitted holder's row is invisible to our snapshot, so look for it
 * with a dirty snapshot through the exclusion constraint's index, the way
 * the executor's own exclusion check does.
 * ------------------------------------------------------------------------
 */
static bool
text_equal(Datum a, Datum b)
{
	return DatumGetBool(DirectFunctionCall2Coll(texteq, C_COLLATION_OID, a, b));
}

static bool
key_held_uncommitted(Datum scope, Datum key)
{
	Oid			heapoid = steward_relid(IDEM_KEYS_TABLE, false);
	Relation	heap = table_open(heapoid, AccessShareLock);
	Relation	index = index_open(steward_index_relid(heapoid, IDEM_KEYS_CONSTRAINT),
								   AccessShareLock);
	SnapshotData dirty;
	ScanKeyData skey[2];
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(heap, NULL);
	bool		held = false;

	InitDirtySnapshot(dirty);
	ScanKeyInit(&skey[0], 1, BTEqualStrategyNumber, F_TEXTEQ, scope);
	ScanKeyInit(&skey[1], 2, BTEqualStrategyNumber, F_TEXTEQ, key);
	scan = index_beginscan(heap, index, &dirty, 2, 0);
	index_rescan(scan, skey, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull1,
					isnull2;
		Datum		s = slot_getattr(slot, 1, &isnull1);
		Datum		k = slot_getattr(slot, 2, &isnull2);

		/* The index returns hash matches: recheck the key. */
		if (isnull1 || isnull2 || !text_equal(s, scope) || !text_equal(k, key))
			continue;
		if (TransactionIdIsValid(dirty.xmin) || TransactionIdIsValid(dirty.xmax))
		{
			held = true;
			break;
		}
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(heap, AccessShareLock);
	return held;
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

/*
 * Decide the outcome from the existing row found by PLAN_LOOK.  Returns
 * false if the row expired (it has been deleted) or a takeover lost a race:
 * the caller looks again.
 */
static bool
judge_existing_row(Datum *args, const char *fingerprint, BeginResult *res)
{
	HeapTuple	row = SPI_tuptable->vals[0];
	TupleDesc	desc = SPI_tuptable->tupdesc;
	bool		isnull;
	char	   *stored_fp = SPI_getvalue(row, desc, 1);
	Datum		status = SPI_getbinval(row, desc, 2, &isnull);
	bool		completed = !isnull;
	Datum		response;
	bool		response_null;
	bool		expired = DatumGetBool(SPI_getbinval(row, desc, 5, &isnull));
	bool		stale = DatumGetBool(SPI_getbinval(row, desc, 6, &isnull));

	if (expired)
	{
		/* Expired keys count as new: drop the old row and insert afresh. */
		run_plan(PLAN_DELETE_EXPIRED, args, NULL, false);
		res->outcome = IDEM_EXPIRED;
		return false;
	}

	take_created_at(res, 4);
	if (strcmp(stored_fp, fingerprint) != 0)
	{
		res->outcome = IDEM_MISMATCH;
		return true;
	}
	if (completed)
	{
		res->outcome = IDEM_REPLAY;
		res->has_status = true;
		res->status = DatumGetInt32(status);
		response = SPI_getbinval(row, desc, 3, &response_null);
		res->response = response_null ? NULL :
			(Jsonb *) SPI_datumTransfer(response, false, -1);
		return true;
	}
	if (stale)
	{
		/* Committed without a result and abandoned: take it over. */
		if (run_plan(PLAN_TAKEOVER, args, NULL, false) == SPI_OK_UPDATE_RETURNING &&
			SPI_processed == 1)
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
	Datum		args[4];
	bool		expired_seen = false;
	int			attempt;

	memset(res, 0, sizeof(BeginResult));
	steward_as_owner_begin(steward_relid(IDEM_KEYS_TABLE, false), &ctx);

	for (attempt = 0; attempt < IDEM_MAX_ATTEMPTS; attempt++)
	{
		args[0] = PointerGetDatum(scope);
		args[1] = PointerGetDatum(key);
		args[2] = seconds_interval(steward_idem_lock_timeout_s);
		run_plan(PLAN_LOOK, args, NULL, false);
		if (SPI_processed > 0)
		{
			if (judge_existing_row(args, fingerprint, res))
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
		args[3] = seconds_interval(steward_idem_retention_s);
		run_plan(PLAN_INSERT, args, NULL, false);
		if (SPI_processed == 1)
		{
			res->outcome = IDEM_NEW;
			take_created_at(res, 1);
			break;
		}
	}
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

	steward_as_owner_begin(steward_relid(IDEM_KEYS_TABLE, false), &ctx);
	args[0] = PointerGetDatum(scope);
	args[1] = PointerGetDatum(key);
	args[2] = Int32GetDatum(status);
	args[3] = PointerGetDatum(response);
	if (response == NULL)
		nulls[3] = 'n';
	args[4] = seconds_interval(steward_idem_retention_s);
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
