/*-------------------------------------------------------------------------
 *
 * tokens.c
 *	  Read-your-writes tokens.
 *
 *	  steward.write_token()                  -> pg_lsn of this session's last commit
 *	  CALL steward.wait_for_token(token, timeout_ms)   (on a standby)
 *	  steward.replica_caught_up(token)       -> boolean, never blocks
 *
 * The application takes a token after a write on the primary and passes it
 * along with the user's next read; a standby serves that read once it has
 * replayed up to the token (the guide's "version-based reads").
 *
 * wait_for_token is a procedure so that it can end the transaction CALL
 * started and wait holding no snapshot: on a standby, a snapshot held while
 * waiting would make replay of cleanup records wait for us (recovery
 * conflicts) while we wait for replay.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

PG_FUNCTION_INFO_V1(steward_write_token);
PG_FUNCTION_INFO_V1(steward_wait_for_token);
PG_FUNCTION_INFO_V1(steward_replica_caught_up);

/* How far a standby has replayed. */
static XLogRecPtr
position(void)
{
	return GetXLogReplayRecPtr(NULL);
}

Datum
steward_write_token(PG_FUNCTION_ARGS)
{
	if (XLogRecPtrIsInvalid(XactLastCommitEnd))
		PG_RETURN_NULL();
	PG_RETURN_LSN(XactLastCommitEnd);
}

Datum
steward_replica_caught_up(PG_FUNCTION_ARGS)
{
	XLogRecPtr	token;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(true);	/* no write to wait for */
	token = PG_GETARG_LSN(0);
	if (!RecoveryInProgress())
		PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(GetXLogReplayRecPtr(NULL) >= token);
}

Datum
steward_wait_for_token(PG_FUNCTION_ARGS)
{
	XLogRecPtr	token;
	int			timeout_ms;
	TimestampTz deadline;

	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		((CallContext *) fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("steward.wait_for_token must be called with CALL outside a transaction block"),
				 errdetail("It must not hold a snapshot while it waits for replay."),
				 errhint("Use steward.replica_caught_up() to poll inside a transaction.")));
	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();		/* no write to wait for */
	token = PG_GETARG_LSN(0);
	timeout_ms = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	if (timeout_ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout_ms must not be negative")));

	/* A primary sees every committed write: nothing to wait for. */
	if (!RecoveryInProgress() || position() >= token)
		PG_RETURN_VOID();

	/* End the CALL's transaction: from here on we hold no snapshot. */
	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_commit();

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	while (position() < token)
	{
		long		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

		/* Promoted while we waited: everything committed is visible. */
		if (!RecoveryInProgress())
			break;
		if (timeout_ms == 0 || remaining <= 0)
		{
			XLogRecPtr	at = position();

			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("timed out waiting for this standby to replay up to %X/%X",
							LSN_FORMAT_ARGS(token)),
					 errdetail("After %d ms it has replayed up to %X/%X.",
							   timeout_ms, LSN_FORMAT_ARGS(at)),
					 errhint("Read from the primary, or retry later; steward.replication shows the lag.")));
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(remaining, 10L), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_finish();
	PG_RETURN_VOID();
}
