/*-------------------------------------------------------------------------
 *
 * own_context.c
 *	  An error leaving one of pg_steward's entry points comes without the
 *	  CONTEXT lines of pg_steward's own code: its internal PL/pgSQL
 *	  functions' lines ("PL/pgSQL function steward._x(...) line N at
 *	  RAISE"), the statements they ran, and the statement a C entry point
 *	  ran to call them ("SQL statement \"SELECT steward._x($1)\"").  Those
 *	  name code the user never wrote and cannot change, under an error
 *	  whose message, DETAIL and HINT say what to do (readme42 R6,
 *	  codereview15 C5).  The lines of the user's code that runs inside (a
 *	  trigger, a cast, an up expression, the caller's own function) stay,
 *	  and so does every line of an internal error (class XX: XX000 from
 *	  elog, a RAISE with ERRCODE 'XX000'), where they show where to look.
 *
 *	  The PL/pgSQL entry points and event triggers are stripped by the
 *	  function manager hook of src/migrate/exec.c at FHET_ABORT, and
 *	  migration_start in its PG_CATCH; the C entry points run their calls
 *	  of internal PL/pgSQL through steward_spi_execute_entry.  The
 *	  WARNINGs and NOTICEs of internal PL/pgSQL go through
 *	  steward._report, which strips them the same way (closing46 Noticed
 *	  6: "PL/pgSQL function steward._migration_warn_trigger_users(...)
 *	  line 29 at RAISE" under a WARNING of migration_complete).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pg_steward.h"
#include "plumbing/own_context.h"

/*
 * The entries of an error's CONTEXT that quote a statement's text and may
 * span lines: SPI's, as PL/pgSQL runs a statement, an expression or an
 * assignment.  Core quotes the text as it is, without doubling the double
 * quotes in it, so where such an entry ends cannot be told from its quotes
 * alone (codereview15 C5).
 */
static const char *const quoted_entries[] = {
	"SQL statement \"", "SQL expression \"", "PL/pgSQL assignment \"", NULL
};

/* The length of the quoted_entries prefix line begins with, or 0. */
static int
quoted_entry_prefix(const char *line)
{
	for (int i = 0; quoted_entries[i] != NULL; i++)
		if (strncmp(line, quoted_entries[i], strlen(quoted_entries[i])) == 0)
			return strlen(quoted_entries[i]);
	return 0;
}

/*
 * Can line begin the entry that follows a quoted statement's?  What
 * follows one is the context of the code that ran the statement: a
 * procedural language's function ("PL/pgSQL function ...", "PL/Perl
 * function ..."), the statement of the code that called that (C code
 * running SPI), or an SQL function.  A line of a statement's text that
 * begins so, right after a line ending in a double quote, is taken for an
 * entry: only text written to look like a CONTEXT is cut there.
 */
static bool
begins_entry(const char *line)
{
	return strncmp(line, "PL/", 3) == 0 || quoted_entry_prefix(line) > 0 ||
		strncmp(line, "SQL function \"", 14) == 0;
}

/*
 * The entries of an error's CONTEXT (context, not NULL), one string each:
 * one line each but a quoted statement's, which ends at a line ending in
 * a double quote (not its opening one) followed by the end or by a line
 * that begins an entry (begins_entry).  Allocates in the current memory
 * context; raises nothing but out of memory.
 */
static List *
context_entries(const char *context)
{
	List	   *entries = NIL;
	StringInfo	open = NULL;	/* a quoted statement's entry not yet ended */
	int			opening = 0;	/* its opening quote's offset + 1 */
	char	   *line;
	char	   *next;

	for (line = pstrdup(context); line != NULL; line = next)
	{
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		if (open != NULL)
			appendStringInfo(open, "\n%s", line);
		else
		{
			open = makeStringInfo();
			appendStringInfoString(open, line);
			entries = lappend(entries, open);
			opening = quoted_entry_prefix(line);
			if (opening == 0)
			{
				open = NULL;
				continue;
			}
		}
		if (open->len > opening && open->data[open->len - 1] == '"' &&
			(next == NULL || begins_entry(next)))
			open = NULL;
	}
	return entries;
}

/*
 * Is entry e a quoted statement that calls one of pg_steward's internal
 * functions, "SQL statement \"SELECT steward._x($1)\"" (or SELECT * FROM,
 * CALL)?  Those are the statements of its own code: a user calls its
 * entry points, whose names do not begin with an underscore.
 */
static bool
calls_internal(const char *e)
{
	static const char *const calls[] = {"SELECT steward._", "SELECT * FROM steward._",
	"CALL steward._", NULL};
	int			n = quoted_entry_prefix(e);

	if (n == 0)
		return false;
	for (int i = 0; calls[i] != NULL; i++)
		if (strncmp(e + n, calls[i], strlen(calls[i])) == 0)
			return true;
	return false;
}

/*
 * An error's CONTEXT without the entries of pg_steward's own PL/pgSQL
 * code: its functions' lines ("PL/pgSQL function
 * steward._migration_step(...) line 7 at RAISE") and the statements they
 * ran (a quoted statement entry followed by the line of the steward
 * function that ran it), each with the lines of its text
 * (context_entries).  A mistyped step printed 3 to 7 such lines under the
 * one error whose DETAIL and HINT say what to change (readme42 R6).
 * Entries of the user's code (a trigger, a function an expression calls,
 * the caller's own function) and pg_steward's own "up expression of step
 * ..." entries, which show where in the user's SQL an error is, stay.
 * statement, when not NULL, is the text of a statement a C entry point
 * ran through SPI: its entry ("SQL statement \"...\"", the innermost one
 * with exactly that text) goes too; with internal_calls, so does every
 * quoted statement that calls an internal function of pg_steward's
 * (calls_internal: the calls C entry points make, whose text their
 * callers do not know).  NULL when nothing is left.
 * Allocates in the current memory context; raises nothing but out of
 * memory.
 */
static char *
without_own_context(const char *context, const char *statement, bool internal_calls)
{
	List	   *entries;
	StringInfoData buf;
	ListCell   *lc;

	char	   *own = statement ? psprintf("SQL statement \"%s\"", statement) : NULL;

	if (context == NULL)
		return NULL;
	entries = context_entries(context);
	initStringInfo(&buf);
	foreach(lc, entries)
	{
		const char *e = ((StringInfo) lfirst(lc))->data;
		const char *caller = lnext(entries, lc) ?
			((StringInfo) lfirst(lnext(entries, lc)))->data : "";

		if (strncmp(e, "PL/pgSQL function steward.", 26) == 0 ||
			(quoted_entry_prefix(e) > 0 &&
			 strncmp(caller, "PL/pgSQL function steward.", 26) == 0) ||
			(internal_calls && calls_internal(e)))
			continue;
		if (own != NULL && strcmp(e, own) == 0)
		{
			own = NULL;			/* the innermost only: an outer one is the caller's */
			continue;
		}
		if (buf.len > 0)
			appendStringInfoChar(&buf, '\n');
		appendStringInfoString(&buf, e);
	}
	return buf.len > 0 ? buf.data : NULL;
}

/*
 * A copy of s (or NULL for NULL) in TopMemoryContext that is never freed,
 * the same one for equal strings: the source file and function names and
 * message domains of errors, a set as small as pg_steward's and core's
 * ereport sites, so interning them bounds the memory they take.
 * Backend-local, no lock, raises nothing but out of memory.
 */
static const char *
own_intern(const char *s)
{
	static List *interned = NIL;
	ListCell   *lc;
	MemoryContext old;
	char	   *copy;

	if (s == NULL)
		return NULL;
	foreach(lc, interned)
		if (strcmp((const char *) lfirst(lc), s) == 0)
			return (const char *) lfirst(lc);
	old = MemoryContextSwitchTo(TopMemoryContext);
	copy = pstrdup(s);
	interned = lappend(interned, copy);
	MemoryContextSwitchTo(old);
	return copy;
}

/*
 * Strips the error being handled (in a PG_CATCH block, or at an fmgr
 * hook's FHET_ABORT, which core calls in one) of the CONTEXT entries of
 * pg_steward's own code (without_own_context; statement: the text of the
 * SPI statement the caller ran, whose entry goes too, or NULL); the caller
 * then re-throws it (PG_RE_THROW), stripped, or untouched when it has none
 * of them or is an internal error (SQLSTATE class XX: XX000 from elog, or
 * a user's RAISE with ERRCODE 'XX000'), whose every line helps find the
 * bug.  The error is replaced on the error stack by re-throwing the
 * stripped copy into a PG_TRY of this function's own, so that the
 * caller's code after the PG_CATCH, and other fmgr hooks', still runs.
 * The copy is made in a context of this function's, reset at its next
 * call: the error on the stack keeps copies of its own (ReThrowError) of
 * every string but the source location and message domains, which
 * ReThrowError keeps as pointers (meant for constants) and CopyErrorData
 * had copied into that context; those are therefore pointed at interned
 * copies that live as long as the process (own_intern).  Before, the next
 * call (an outer entry point's FHET_ABORT while the same error left it)
 * reset the context under them: the client was sent freed memory as the
 * error's file and function name, which an assert build's clobbered
 * memory turned into "invalid byte sequence for encoding" in place of
 * the error (regress 373, cassert52).  Takes no lock; raises nothing but
 * out of memory.
 */
void
steward_strip_own_context(const char *statement)
{
	static MemoryContext cxt = NULL;
	MemoryContext old;
	ErrorData  *edata;
	char	   *context;

	if (cxt == NULL)
		cxt = AllocSetContextCreate(TopMemoryContext, "pg_steward error context",
									ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(cxt);
	old = MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	if (ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_TO_CATEGORY(ERRCODE_INTERNAL_ERROR))
	{
		MemoryContextSwitchTo(old);
		return;
	}
	context = without_own_context(edata->context, statement, false);
	if (edata->context != NULL &&
		(context == NULL || strcmp(context, edata->context) != 0))
	{
		FlushErrorState();
		edata->context = context;
		/* Not copied by ReThrowError: they must outlive cxt's next reset. */
		edata->filename = own_intern(edata->filename);
		edata->funcname = own_intern(edata->funcname);
		edata->domain = own_intern(edata->domain);
		edata->context_domain = own_intern(edata->context_domain);
		PG_TRY();
		{
			ReThrowError(edata);
		}
		PG_CATCH();
		{
			/* edata is on the error stack again, stripped */
		}
		PG_END_TRY();
	}
	MemoryContextSwitchTo(old);
}

/*
 * SPI_execute_with_args(sql, ...) for a C entry point calling pg_steward's
 * internal PL/pgSQL (or writing its catalog, whose triggers are
 * pg_steward's): an error leaving it comes without pg_steward's own
 * CONTEXT lines, sql's entry included (steward_strip_own_context).  The
 * caller is connected to SPI.  Locks: those of the statement.  Raises what
 * the statement raises; returns SPI's result code.
 */
int
steward_spi_execute_entry(const char *sql, int nargs, Oid *argtypes, Datum *args,
						  const char *nulls, bool read_only, long tcount)
{
	int			rc;

	PG_TRY();
	{
		rc = SPI_execute_with_args(sql, nargs, argtypes, args, nulls, read_only, tcount);
	}
	PG_CATCH();
	{
		steward_strip_own_context(sql);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return rc;
}

PG_FUNCTION_INFO_V1(steward_report);

/*
 * steward._report(level text, message text, detail text, hint text,
 *                 sqlstate text) -> void
 *
 * RAISE WARNING or NOTICE (level 'warning' or 'notice') for pg_steward's
 * internal PL/pgSQL, without the CONTEXT lines of pg_steward's own code
 * (without_own_context, the calls of internal functions its C entry
 * points run included): the user's lines (a caller's function) stay.  A
 * RAISE in an internal function printed its own line and every internal
 * caller's, text the user never wrote, under a message whose DETAIL and
 * HINT say what to do.  detail, hint: NULL for none; sqlstate: NULL for
 * 01000 (a warning) or 00000 (a notice).  The context is collected by
 * GetErrorContextStack, as GET DIAGNOSTICS PG_CONTEXT does: no error is
 * raised, so exit_on_error cannot turn the report into a FATAL, no error
 * of the collection is caught and demoted to the report's level, and the
 * error data stack and interrupt holdoffs are left alone; the message is
 * then emitted at level with no context callback running again.  Nothing
 * is collected when client_min_messages and log_min_messages both
 * suppress level (codereview19 C1).  Allocates in the current memory
 * context.  Takes no lock.  Errors: 22023 for another level or a
 * malformed sqlstate, 22004 for a NULL level or message.
 */
Datum
steward_report(PG_FUNCTION_ARGS)
{
	char	   *level;
	char	   *message;
	int			elevel;
	int			code;
	char	   *detail = PG_ARGISNULL(2) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(2));
	char	   *hint = PG_ARGISNULL(3) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(3));
	char	   *context;
	ErrorContextCallback *saved;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("level and message must not be null")));
	level = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (strcmp(level, "warning") == 0)
		elevel = WARNING;
	else if (strcmp(level, "notice") == 0)
		elevel = NOTICE;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("level must be warning or notice, not \"%s\"", level)));
	code = elevel == WARNING ? ERRCODE_WARNING : ERRCODE_SUCCESSFUL_COMPLETION;
	if (!PG_ARGISNULL(4))
	{
		char	   *s = text_to_cstring(PG_GETARG_TEXT_PP(4));

		if (strlen(s) != 5 || strspn(s, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 5)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("sqlstate must be five digits or upper-case letters, not \"%s\"", s)));
		code = MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
	}
	if (!message_level_is_interesting(elevel))
		PG_RETURN_VOID();
	message = text_to_cstring(PG_GETARG_TEXT_PP(1));

	context = without_own_context(GetErrorContextStack(), NULL, true);
	saved = error_context_stack;
	error_context_stack = NULL;
	ereport(elevel,
			(errcode(code),
			 errmsg_internal("%s", message),
			 detail ? errdetail_internal("%s", detail) : 0,
			 hint ? errhint("%s", hint) : 0,
			 context ? errcontext("%s", context) : 0));
	error_context_stack = saved;
	PG_RETURN_VOID();
}
