/*-------------------------------------------------------------------------
 *
 * tokens.c
 *	  Read-your-writes tokens.
 *
 *	  steward.write_token()                  -> 'TLI/LSN' of this session's last commit
 *	  CALL steward.wait_for_token(token, timeout_ms)   (on a standby)
 *	  steward.replica_caught_up(token)       -> boolean, never blocks
 *
 * The application takes a token after a write on the primary and passes it
 * along with the user's next read; a standby serves that read once it has
 * replayed up to the token (the guide's "version-based reads").
 *
 * A token names a position in one WAL history: the timeline the commit was
 * written on and the end of its commit record, as text "TLI/LSN" (for
 * example "1/0/3000148").  An LSN alone cannot say whether a server has the
 * write: after an asynchronous failover the promoted standby continues on a
 * new timeline from the point it had replayed, and its LSNs soon pass the
 * LSN of a commit it never received.  With the timeline the answer is exact
 * (token_state): the server has the write iff the token's timeline is in
 * this server's timeline history and the token's LSN is at or before the
 * point where this server's history left that timeline (or the timeline is
 * the current one and the server has replayed / written up to the LSN).  A
 * token the server will never reach is an error for wait_for_token and
 * false for replica_caught_up, never "caught up".
 *
 * wait_for_token is a procedure so that it can end the transaction CALL
 * started and wait holding no snapshot: on a standby, a snapshot held while
 * waiting would make replay of cleanup records wait for us (recovery
 * conflicts) while we wait for replay.
 *
 * Which commit is "this session's last write": the last one that committed
 * a transaction id, or that committed a prepared transaction (COMMIT
 * PREPARED runs without an id of its own), as this library's xact callback
 * and utility step see them (tokens_xact_callback,
 * tokens_before_utility).  core's XactLastCommitEnd also moves for a
 * transaction without an id that wrote WAL: a read that pruned a page,
 * and the catalog reads of the session's own start, so a session that
 * had written nothing got a token (newcomer45 N4).  Commits before the
 * library was loaded (not preloaded, a session that wrote only heap
 * tables before its first pg_steward call) are known only by
 * XactLastCommitEnd as loading found it; that value stands in until the
 * first write this library sees.
 *
 * Release 0.1's SQL declared the token as pg_lsn (no timeline).  Its entry
 * points stay for databases not yet updated; they answer exactly where an
 * LSN alone is enough (the server never left the timeline the LSN could be
 * on) and otherwise ask for ALTER EXTENSION pg_steward UPDATE.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/timeline.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "access/xact.h"
#include "tcop/utility.h"

#include "pg_steward.h"
#include "plumbing/utility.h"
#include "ops/tokens.h"

PG_FUNCTION_INFO_V1(steward_write_token);
PG_FUNCTION_INFO_V1(steward_wait_for_token);
PG_FUNCTION_INFO_V1(steward_replica_caught_up);
PG_FUNCTION_INFO_V1(steward_write_token_0_2);
PG_FUNCTION_INFO_V1(steward_wait_for_token_0_2);
PG_FUNCTION_INFO_V1(steward_replica_caught_up_0_2);

/* A parsed token; tli 0 = no timeline (a 0.1 token). */
typedef struct Token
{
	TimeLineID	tli;
	XLogRecPtr	lsn;
	const char *text;			/* as given, for messages */
} Token;

typedef enum TokenState
{
	TOKEN_REACHED,				/* this server has the write */
	TOKEN_PENDING,				/* not yet: a standby may still replay it */
	TOKEN_NEVER,				/* not on this server's history */
	TOKEN_UNKNOWN				/* no timeline, and the LSN alone cannot tell */
} TokenState;

/* Where this server is: its timeline, and how far it has written / replayed. */
typedef struct ServerPosition
{
	bool		primary;
	TimeLineID	tli;
	XLogRecPtr	lsn;
} ServerPosition;

static ServerPosition
server_position(void)
{
	ServerPosition pos;

	pos.primary = !RecoveryInProgress();
	if (pos.primary)
	{
		pos.tli = GetWALInsertionTimeLine();
		pos.lsn = GetXLogInsertRecPtr();
	}
	else
		pos.lsn = GetXLogReplayRecPtr(&pos.tli);
	return pos;
}

/*
 * The history of timeline "tli" (newest first), cached: a timeline's history
 * file never changes once written.
 */
static List *
history_of(TimeLineID tli)
{
	static TimeLineID cached_tli = 0;
	static List *cached = NIL;

	if (tli != cached_tli)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		List	   *history = readTimeLineHistory(tli);

		MemoryContextSwitchTo(old);
		list_free_deep(cached);
		cached = history;
		cached_tli = tli;
	}
	return cached;
}

/*
 * Does this server have the write the token names?  "*why" gets a sentence
 * for the DETAIL of an error when the answer is not TOKEN_REACHED.
 */
static TokenState
token_state(const Token *token, char **why)
{
	ServerPosition pos = server_position();
	List	   *history;
	XLogRecPtr	end;
	TimeLineID	tli = token->tli;

	*why = NULL;
	if (pos.tli == 0)
	{
		/* A standby that has replayed nothing yet. */
		*why = psprintf("This standby has not replayed any WAL yet.");
		return TOKEN_PENDING;
	}
	history = history_of(pos.tli);

	if (tli == 0)
	{
		/*
		 * No timeline: the LSN is unambiguous up to where this server's
		 * current timeline began (every earlier position is on its
		 * history), and everywhere if it never changed timeline.
		 */
		TimeLineHistoryEntry *current = linitial(history);

		if (list_length(history) > 1 && token->lsn > current->begin)
		{
			*why = psprintf("The token has no timeline, and this server has been on timeline %u since %X/%X, before the token's position.",
							pos.tli, LSN_FORMAT_ARGS(current->begin));
			return TOKEN_UNKNOWN;
		}
		tli = pos.tli;
	}

	if (tli == pos.tli)
	{
		if (pos.lsn >= token->lsn)
			return TOKEN_REACHED;
		if (pos.primary)
		{
			*why = psprintf("This server is a primary on timeline %u and has written WAL only up to %X/%X.",
							pos.tli, LSN_FORMAT_ARGS(pos.lsn));
			return TOKEN_NEVER;
		}
		*why = psprintf("This standby has replayed timeline %u up to %X/%X.",
						pos.tli, LSN_FORMAT_ARGS(pos.lsn));
		return TOKEN_PENDING;
	}

	if (tliInHistory(tli, history))
	{
		end = tliSwitchPoint(tli, history, NULL);
		if (token->lsn <= end)
			return TOKEN_REACHED;
		*why = psprintf("This server left timeline %u at %X/%X for timeline %u, before the token's position: the write was not replicated here before the switch.",
						tli, LSN_FORMAT_ARGS(end), pos.tli);
		return TOKEN_NEVER;
	}

	/* A later timeline a standby has not followed yet may still come. */
	if (!pos.primary && tli > pos.tli)
	{
		*why = psprintf("This standby is on timeline %u and has not followed timeline %u.",
						pos.tli, tli);
		return TOKEN_PENDING;
	}
	*why = psprintf("Timeline %u is not in the history of this server's timeline %u.",
					tli, pos.tli);
	return TOKEN_NEVER;
}

static void
report_token(const Token *token, TokenState state, const char *why)
{
	if (state == TOKEN_UNKNOWN)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cannot tell whether this server has the write of token \"%s\"",
						token->text),
				 errdetail_internal("%s", why),
				 errhint("Tokens without a timeline come from pg_steward 0.1; run ALTER EXTENSION pg_steward UPDATE and take new tokens with steward.write_token().")));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("this server does not have the write of token \"%s\"",
					token->text),
			 errdetail_internal("%s", why),
			 errhint("The write was lost in a failover, or the token comes from another cluster; waiting will not help. Read from the current primary and repeat the write if it is still wanted.")));
}

/* The longest part of a malformed token its error message quotes. */
#define TOKEN_SHOWN_MAX 40

/* "TLI/LSN", or a bare LSN (a 0.1 token). */
static Token
parse_token(const char *text)
{
	Token		token;
	const char *slash = strchr(text, '/');
	bool		bad = (slash == NULL);

	token.text = text;
	token.tli = 0;
	if (!bad && strchr(slash + 1, '/') != NULL)
	{
		char	   *end;
		unsigned long tli;

		errno = 0;
		tli = strtoul(text, &end, 10);
		bad = (end != slash || end == text || errno != 0 || tli == 0 ||
			   tli > PG_UINT32_MAX || !isdigit((unsigned char) text[0]));
		token.tli = (TimeLineID) tli;
		text = slash + 1;
	}
	if (!bad)
		token.lsn = pg_lsn_in_internal(text, &bad);
	if (bad)
	{
		/* A token is at most 28 bytes: quote no more than a little over that. */
		int			len = strlen(token.text);
		int			shown = pg_mbcliplen(token.text, len, TOKEN_SHOWN_MAX);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid read-your-writes token: \"%.*s%s\"",
						shown, token.text, shown < len ? "..." : ""),
				 shown < len ? errdetail("It has %d bytes.", len) : 0,
				 errhint("Tokens are what steward.write_token() returns: the timeline and the LSN, as in '1/0/3000148'.")));
	}
	return token;
}

/* The end of this session's last write commit, see the file header. */
static XLogRecPtr last_write_end = InvalidXLogRecPtr;
/* XactLastCommitEnd when the library was loaded: commits it did not see. */
static XLogRecPtr commit_end_at_load = InvalidXLogRecPtr;
/* The current transaction ran COMMIT PREPARED. */
static bool committed_prepared = false;

static void
tokens_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_COMMIT &&
		(TransactionIdIsValid(GetTopTransactionIdIfAny()) || committed_prepared) &&
		!XLogRecPtrIsInvalid(XactLastCommitEnd))
		last_write_end = XactLastCommitEnd;
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE)
		committed_prepared = false;
}

/* Utility step, before: a COMMIT PREPARED commits without an xid of ours. */
static void
tokens_before_utility(StewardUtilityCall *call)
{
	if (((TransactionStmt *) call->pstmt->utilityStmt)->kind == TRANS_STMT_COMMIT_PREPARED)
		committed_prepared = true;
}

static const StewardUtilityStep tokens_utility_step = {
	.tags = {T_TransactionStmt},
	.before = tokens_before_utility,
};

/*
 * From _PG_init, in every process that loads the library: note the commits
 * before loading and start telling write commits from others (see the file
 * header).  Takes no lock; raises nothing.
 */
void
steward_tokens_install_hooks(void)
{
	commit_end_at_load = XactLastCommitEnd;
	RegisterXactCallback(tokens_xact_callback, NULL);
	steward_utility_register(STEWARD_UTILITY_TOKENS, &tokens_utility_step);
}

/* The end of this session's last write commit; invalid before any. */
static XLogRecPtr
session_last_write(void)
{
	if (!XLogRecPtrIsInvalid(last_write_end))
		return last_write_end;
	return commit_end_at_load;
}

static char *
format_token(TimeLineID tli, XLogRecPtr lsn)
{
	return psprintf("%u/%X/%X", tli, LSN_FORMAT_ARGS(lsn));
}

/*
 * steward.write_token() RETURNS text: "TLI/LSN" of the end of the commit
 * record of this session's last write (session_last_write), NULL before
 * any.  Only a primary writes, and a primary's timeline does not change
 * while it runs.  No locks; raises nothing but 53200.
 */
Datum
steward_write_token_0_2(PG_FUNCTION_ARGS)
{
	XLogRecPtr	end = session_last_write();

	if (XLogRecPtrIsInvalid(end) || RecoveryInProgress())
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(format_token(GetWALInsertionTimeLine(), end)));
}

/* 0.1: steward.write_token() RETURNS pg_lsn.  No lock; raises nothing. */
Datum
steward_write_token(PG_FUNCTION_ARGS)
{
	XLogRecPtr	end = session_last_write();

	if (XLogRecPtrIsInvalid(end))
		PG_RETURN_NULL();
	PG_RETURN_LSN(end);
}

static bool
caught_up(const Token *token)
{
	char	   *why;

	return token_state(token, &why) == TOKEN_REACHED;
}

/*
 * steward.replica_caught_up(token text) RETURNS boolean: true iff this
 * server has the write (never blocks); false while a standby has not
 * replayed it, and for a write this server will never have.  NULL token
 * (no write): true.  Malformed token: 22P02.  Takes no lock (the replay
 * position is read under core's spinlock); reading this server's timeline
 * history file can raise core's FATAL (readTimeLineHistory: an unreadable
 * or malformed file).
 */
Datum
steward_replica_caught_up_0_2(PG_FUNCTION_ARGS)
{
	Token		token;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(true);	/* no write to wait for */
	token = parse_token(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_BOOL(caught_up(&token));
}

/*
 * 0.1: steward.replica_caught_up(token pg_lsn).  False too when the LSN
 * alone cannot tell (TOKEN_UNKNOWN).  Takes no lock; raises nothing of its
 * own; reading this server's timeline history file can raise core's FATAL
 * (readTimeLineHistory: an unreadable or malformed file).
 */
Datum
steward_replica_caught_up(PG_FUNCTION_ARGS)
{
	Token		token;

	if (PG_ARGISNULL(0))
		PG_RETURN_BOOL(true);
	token.tli = 0;
	token.lsn = PG_GETARG_LSN(0);
	token.text = psprintf("%X/%X", LSN_FORMAT_ARGS(token.lsn));
	PG_RETURN_BOOL(caught_up(&token));
}

/*
 * CALL steward.wait_for_token(token, timeout_ms): return once this server
 * has the write; 57014 after timeout_ms; 55000 at once (or as soon as it is
 * known, e.g. when the standby is promoted while waiting) if the server will
 * never have it.  Must run outside a transaction block (25000): it commits
 * the CALL's transaction and waits holding no snapshot.
 */
static void
wait_for_token(const Token *token, int timeout_ms)
{
	TimestampTz deadline;
	TokenState	state;
	char	   *why;

	if (timeout_ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout_ms must not be negative")));

	state = token_state(token, &why);
	if (state == TOKEN_REACHED)
		return;
	if (state != TOKEN_PENDING)
		report_token(token, state, why);

	/* End the CALL's transaction: from here on we hold no snapshot. */
	if (SPI_connect_ext(SPI_OPT_NONATOMIC) != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	SPI_commit();

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	for (;;)
	{
		long		remaining;

		state = token_state(token, &why);
		if (state == TOKEN_REACHED)
			break;
		if (state != TOKEN_PENDING)
			report_token(token, state, why);
		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (timeout_ms == 0 || remaining <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_QUERY_CANCELED),
					 errmsg("timed out waiting for this standby to replay token \"%s\"",
							token->text),
					 errdetail_internal("%s It waited %d ms.", why, timeout_ms),
					 errhint("Read from the primary, or retry later; steward.replication shows the lag.")));
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Min(remaining, 10L), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_finish();
}

static void
require_nonatomic_call(FunctionCallInfo fcinfo)
{
	if (fcinfo->context == NULL || !IsA(fcinfo->context, CallContext) ||
		((CallContext *) fcinfo->context)->atomic)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TRANSACTION_STATE),
				 errmsg("steward.wait_for_token must be called with CALL outside a transaction block"),
				 errdetail("It must not hold a snapshot while it waits for replay."),
				 errhint("Use steward.replica_caught_up() to poll inside a transaction.")));
}

/*
 * CALL steward.wait_for_token(token text, timeout_ms integer): see
 * wait_for_token.  Raises 25000 unless called with CALL outside a
 * transaction block, 22P02 for a malformed token, 22023 for a negative
 * timeout_ms, 55000 when this server will never have the write, 57014
 * after timeout_ms.  Commits the CALL's transaction before it waits, so
 * it waits holding no lock and no snapshot; reading this server's timeline
 * history file can raise core's FATAL (readTimeLineHistory: an unreadable
 * or malformed file).
 */
Datum
steward_wait_for_token_0_2(PG_FUNCTION_ARGS)
{
	Token		token;

	require_nonatomic_call(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();		/* no write to wait for */
	token = parse_token(text_to_cstring(PG_GETARG_TEXT_PP(0)));
	wait_for_token(&token, PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1));
	PG_RETURN_VOID();
}

/*
 * 0.1: CALL steward.wait_for_token(token pg_lsn, timeout_ms integer).
 * Locks and errors as steward_wait_for_token_0_2, but no 22P02, and 55000
 * also when the LSN alone cannot tell (HINT: update the extension).
 */
Datum
steward_wait_for_token(PG_FUNCTION_ARGS)
{
	Token		token;

	require_nonatomic_call(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_VOID();
	token.tli = 0;
	token.lsn = PG_GETARG_LSN(0);
	token.text = psprintf("%X/%X", LSN_FORMAT_ARGS(token.lsn));
	wait_for_token(&token, PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1));
	PG_RETURN_VOID();
}
