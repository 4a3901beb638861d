/*-------------------------------------------------------------------------
 *
 * purge_worker.c
 *	  Background workers that purge expired idempotency keys.
 *
 * A launcher (no database connection; it reads only the shared catalog
 * pg_database) wakes every steward.idempotency_purge_interval and, one
 * database at a time, starts a short-lived worker connected to that
 * database.  The worker does nothing if pg_steward is not installed there;
 * otherwise it deletes expired keys in batches of
 * steward.idempotency_purge_batch, committing after each batch, so it never
 * holds many row locks or a long snapshot, and begins on other keys never
 * wait for it.  The same visit records the sizes and write counters of
 * steward tables for steward.capacity (steward._capacity_sample()).
 *
 * Any role with CREATEDB has databases of its own, so the worker trusts
 * nothing it finds there by name: it touches only relations that are
 * members of extension pg_steward (steward_relid checks pg_depend), and a
 * database without the extension is left at once.  The extension's tables
 * can have no trigger, rule or policy of a tenant (only their owner may add
 * one), and the worker runs as that owner: it becomes the session user
 * (not the bootstrap superuser), and each statement runs under
 * SECURITY_RESTRICTED_OPERATION with a pinned search_path
 * (src/plumbing/as_owner.c).  One database can still be slow (a lock a
 * tenant holds on its own steward table delays the size sample), so a
 * visit's purge ends at steward.idempotency_purge_timeout (a statement
 * running then is cancelled), the size sample gets as long again, a lock
 * wait of the purge ends after that time too (lock_timeout), one of the
 * sample after half of deadlock_timeout, so that DDL on the extension
 * never loses a deadlock check to it (DROP EXTENSION, TAP 111), an error
 * ends only that
 * phase of that database's visit, and the launcher terminates a worker
 * that overstays twice the timeout and moves on.
 *
 * A visit never stands in the way of DROP DATABASE or CREATE DATABASE ...
 * TEMPLATE: before each batch it asks, without waiting, for the lock
 * those commands conflict with, and leaves when it is taken.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "storage/lock.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "plumbing/as_owner.h"
#include "plumbing/preload.h"
#include "governor/governor.h"
#include "idempotency/idempotency.h"

PGDLLEXPORT void steward_purge_launcher_main(Datum main_arg);
PGDLLEXPORT void steward_purge_db_main(Datum main_arg);

/*
 * _PG_init, while preloading: register the purge launcher, a background
 * worker started once recovery has finished (a standby has nothing to
 * purge: its keys arrive by WAL) and restarted 10 s after a crash.  The
 * launcher visits one database at a time, so the purge never holds a
 * connection slot per database.  Takes no lock and raises nothing: core
 * LOGs a worker it cannot register (max_worker_processes reached).
 */
void
steward_purge_worker_register(void)
{
	BackgroundWorker worker;

	/*
	 * Not in a server pg_upgrade runs (binary-upgrade mode, where core's
	 * autovacuum is off too): whatever a worker wrote there would be
	 * overwritten by the copied files, and the launcher's visits would only
	 * meet the restore's DROP and CREATE DATABASE.
	 */
	if (IsBinaryUpgrade)
		return;
	steward_bgworker_fill(&worker, "steward_purge_launcher_main",
						  "pg_steward idempotency purge launcher", "pg_steward purge launcher",
						  BgWorkerStart_RecoveryFinished, 10);
	RegisterBackgroundWorker(&worker);
}

/* Is this database on steward.idempotency_purge_databases (empty: all)? */
static bool
database_selected(const char *dbname)
{
	char	   *raw;
	List	   *names;
	ListCell   *lc;
	bool		selected = false;

	if (steward_idem_purge_databases == NULL || steward_idem_purge_databases[0] == '\0')
		return true;
	raw = pstrdup(steward_idem_purge_databases);
	if (!SplitIdentifierString(raw, ',', &names))
		return false;
	foreach(lc, names)
		if (strcmp((char *) lfirst(lc), dbname) == 0)
			selected = true;
	return selected;
}

static List *
databases_to_visit(void)
{
	List	   *oids = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext outer = CurrentMemoryContext;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;

		if (!db->datallowconn || db->datistemplate ||
			!database_selected(NameStr(db->datname)))
			continue;
		old = MemoryContextSwitchTo(outer);
		oids = lappend_oid(oids, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return oids;
}

/* How long a worker seen past its deadline still has to end by itself. */
#define PURGE_OVERDUE_GRACE_MS 5000

/*
 * Start a worker for one database and wait until it exits, but never more
 * than twice steward.idempotency_purge_timeout (plus a grace second; a
 * visit's own phases end within twice the timeout of the worker's process
 * start, connection included) and then PURGE_OVERDUE_GRACE_MS from when
 * the launcher first sees that deadline passed (a freeze of the machine
 * wakes both past it): a worker that overstays is terminated, so that no
 * database delays the others for longer.
 */
static void
purge_database(Oid dboid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;
	TimestampTz deadline;
	bool		overdue = false;
	bool		terminated = false;

	steward_bgworker_fill(&worker, "steward_purge_db_main", "", "pg_steward purge",
						  BgWorkerStart_RecoveryFinished, BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_steward idempotency purge (db %u)", dboid);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(LOG,
				(errmsg("pg_steward could not start an idempotency purge worker"),
				 errhint("Raise max_worker_processes.")));
		return;
	}
	if (WaitForBackgroundWorkerStartup(handle, &pid) != BGWH_STARTED)
		return;

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   2 * (int64) steward_idem_purge_timeout_ms + 1000);
	for (;;)
	{
		long		wait_ms;

		if (GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
			break;
		wait_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
		if (wait_ms <= 0 && !overdue)
		{
			/*
			 * Seen past the deadline for the first time: the worker gets
			 * one more grace wait before it is terminated.  After a freeze
			 * of the whole machine (a stopped cgroup, a suspended VM) both
			 * processes wake past every deadline at once; the worker's own
			 * deadlines end its visit within moments, and terminating it
			 * first made an ordinary visit look like a failed worker
			 * (exit code 1 in the log, closing41 TAP 008).
			 */
			overdue = true;
			deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												   PURGE_OVERDUE_GRACE_MS);
			wait_ms = PURGE_OVERDUE_GRACE_MS;
		}
		else if (wait_ms <= 0 && !terminated)
		{
			ereport(LOG,
					(errmsg("pg_steward idempotency purge in database %u overstayed %d ms; terminating it",
							dboid, 2 * steward_idem_purge_timeout_ms + 1000),
					 errhint("Look for long-held locks in that database, or raise steward.idempotency_purge_timeout.")));
			TerminateBackgroundWorker(handle);
			terminated = true;
		}
		/* The postmaster sets our latch when the worker's state changes. */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(wait_ms, 100L), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * One round of the launcher: visit each selected database in turn; none
 * while steward.idempotency_purge_interval is 0 (the worker is off).
 */
static void
launcher_round(void)
{
	List	   *dbs;
	ListCell   *lc;

	if (steward_idem_purge_interval_s == 0)
		return;
	dbs = databases_to_visit();
	foreach(lc, dbs)
	{
		CHECK_FOR_INTERRUPTS();
		purge_database(lfirst_oid(lc));
	}
	list_free(dbs);
}

/*
 * The wait before the next round.  Off (0), an hour: a reload that turns
 * the worker on sets the launcher's latch (SignalHandlerForConfigReload),
 * so the hour only bounds how long an off launcher sleeps between looks.
 */
static long
launcher_pause_ms(void)
{
	if (steward_idem_purge_interval_s == 0)
		return 3600L * 1000L;
	return (long) steward_idem_purge_interval_s * 1000L;
}

/*
 * Main function of the purge launcher (bgw_function_name, so exported):
 * every steward.idempotency_purge_interval, visit each database that
 * steward.idempotency_purge_databases selects (launcher_round); while the
 * interval is 0, visit none.  The loop
 * is the shared one of plumbing/preload.c: SIGHUP rereads the settings,
 * SIGTERM ends the worker, postmaster death exits.  Never returns.  Locks
 * and errors: steward_bgworker_loop's (an error of a round ends the
 * launcher, FATAL, and the postmaster restarts it after 10 s) and the
 * rounds' (reading pg_database, starting and waiting for one worker per
 * database).
 */
void
steward_purge_launcher_main(Datum main_arg)
{
	steward_bgworker_loop(launcher_round, launcher_pause_ms);
}

/*
 * Run one phase of a visit in its own transaction.  An error (a timeout, a
 * lock the worker could not get) is logged and ends only this phase, so
 * that the visit, and then the launcher, can go on.  Returns false after
 * an error.
 */
static bool
run_phase(const char *activity, int64 (*phase) (void), int64 *result, TimestampTz deadline)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	long		timeout_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
	bool		ok = true;

	if (timeout_ms <= 0)
		return false;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	/*
	 * The statement_timeout setting is applied by the main loop of a
	 * regular backend only; a worker arms the timer itself.
	 */
	enable_timeout_after(STATEMENT_TIMEOUT, (int) timeout_ms);
	PG_TRY();
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, activity);
		*result = phase();
		PopActiveSnapshot();
		disable_timeout(STATEMENT_TIMEOUT, false);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(oldcxt);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * Does another session want this database to itself?  DROP DATABASE holds
 * AccessExclusiveLock on the database object and CREATE DATABASE ...
 * TEMPLATE holds ShareLock while each waits (five seconds) for the other
 * backends to leave; both conflict with the RowExclusiveLock a connection
 * takes.  Asking for that lock without waiting is the exact signal: the
 * visit then ends at once, and the next visit's connection waits behind
 * the lock instead of counting as a user of the database.
 */
static int64
database_wanted_phase(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, MyDatabaseId, 0);
	if (LockAcquire(&tag, RowExclusiveLock, false, true) == LOCKACQUIRE_NOT_AVAIL)
		return 1;
	LockRelease(&tag, RowExclusiveLock, false);
	return 0;
}

/* The batch the governor allows now (steward.idempotency_purge_batch at most). */
static int	purge_batch = 1;

static int64
purge_phase(void)
{
	return steward_idem_purge_batch_now(purge_batch);
}

static int64
sample_phase(void)
{
	steward_capacity_sample();
	return 0;
}

/*
 * The sample phase's lock_timeout, in ms: 1, the least lock_timeout
 * takes (0 would mean no timeout), so the sample all but never waits.  It
 * waits only for the extension's own objects (it sizes other tables
 * without waiting), i.e. only behind DDL on the extension (DROP EXTENSION
 * pg_steward CASCADE); such DDL may in turn wait for a lock the sample
 * holds, and the deadlock check runs in whichever backend's
 * deadlock_timeout fires first after the cycle forms, cancelling that
 * backend's statement (40P01, TAP 072).  Any wait of ours longer than a
 * moment lets the user's backend be that one: the user's DDL may have
 * waited since before our wait began, its check due at any time.  Giving
 * up after 1 ms (55P03, logged, the phase ends; the next visit samples)
 * leaves the user's check a cycle only if it runs in that millisecond.
 */
static int
sample_lock_timeout_ms(void)
{
	return 1;
}

/* Set lock_timeout for the rest of this worker's visit (ms). */
static void
set_lock_timeout_ms(int ms)
{
	char		timeout[32];

	snprintf(timeout, sizeof(timeout), "%d", ms);
	SetConfigOption("lock_timeout", timeout, PGC_SUSET, PGC_S_OVERRIDE);
}

/*
 * Become the owner of the extension's keys table, as session and current
 * user.  Returns 0 if pg_steward is not installed in this database (a
 * schema "steward" without the extension is not ours to touch).
 */
static char dbname[NAMEDATALEN];

static int64
become_owner_phase(void)
{
	Oid			relid = steward_relid(IDEM_KEYS_TABLE, true);
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		return 0;
	strlcpy(dbname, get_database_name(MyDatabaseId), sizeof(dbname));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	SetSessionAuthorization(owner, superuser_arg(owner));
	return 1;
}

/*
 * A visit of one database (main_arg: its OID): purge expired keys in
 * committed batches until none are left or steward.idempotency_purge_timeout
 * has passed, then take a capacity sample within the same time again.
 * Each phase is cancelled at its deadline (statement timeout).  A lock
 * wait of the purge ends after the same time (lock_timeout): it waits for
 * row locks of keys that a begin or complete holds legitimately, and a
 * deadlock there is core's to resolve as between any two sessions.  A lock
 * wait of the sample phase ends after 1 ms (sample_lock_timeout_ms): it
 * waits only behind DDL on the extension, which must not lose a deadlock
 * check to a background sample.  Each phase
 * runs in its own transaction and takes its statements' locks (RowExclusiveLock on the
 * keys table and the row locks of the keys it deletes; the capacity
 * sample's), released at its commit; the database check asks for the
 * database's lock without waiting.  An error of a phase (57014 at the
 * deadline, 55P03 for a lock wait) is logged and ends that phase only;
 * connecting to a database dropped meanwhile is core's FATAL.
 */
void
steward_purge_db_main(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);
	TimestampTz start;
	TimestampTz now;
	TimestampTz deadline;
	int64		n = 0;
	int64		installed = 0;
	StewardGovJob *job;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("pg_steward idempotency purge");

	set_lock_timeout_ms(steward_idem_purge_timeout_ms);
	/*
	 * The budget counts from the process start, not from here: connecting
	 * takes a while on a loaded machine, and the launcher's deadline
	 * (purge_database) leaves a worker only a second beyond its two phases.
	 */
	start = MyStartTimestamp;
	now = GetCurrentTimestamp();
	/* (a start stamp that is not this process's own: count from now) */
	if (start <= 0 || start > now || TimestampDifferenceExceeds(start, now, 60 * 1000))
		start = now;
	deadline = TimestampTzPlusMilliseconds(start, steward_idem_purge_timeout_ms);

	if (!run_phase("looking for pg_steward", become_owner_phase, &installed, deadline) ||
		!installed)
		proc_exit(0);

	/*
	 * The governor (src/governor) sizes each batch and the pause after it
	 * from what the foreground feels.  The purge's commits need not wait
	 * for their WAL flush: a purge lost in a crash leaves keys that are
	 * still expired, and the next visit deletes them; meanwhile the
	 * foreground's commits do not queue behind ours.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
	job = steward_governor_begin("purge", dbname, 0,
								 steward_idem_purge_batch, 0);
	/* Niced once there is a foreground to give way to (for this visit). */
	steward_governor_lower_priority_on_foreground(job);
	n = 0;
	for (;;)
	{
		int64		wanted = 0;

		CHECK_FOR_INTERRUPTS();
		if (!run_phase("checking for DROP or CREATE DATABASE", database_wanted_phase,
					   &wanted, deadline) || wanted)
			proc_exit(0);
		/*
		 * At most one slice of the governor's pause per round, so that a
		 * long pause still lets DROP DATABASE in (the check above).
		 */
		pgstat_report_activity(STATE_IDLE, "waiting for the governor");
		purge_batch = steward_governor_pace(job, n);
		n = 0;
		if (purge_batch == 0)
		{
			if (GetCurrentTimestamp() >= deadline)
				break;
			continue;
		}
		if (!run_phase("purging expired idempotency keys", purge_phase, &n, deadline))
		{
			n = 0;				/* rolled back */
			break;
		}
		if (n < purge_batch)
			break;				/* nothing left */
		/*
		 * With the governor off, the fixed pause lets concurrent commits
		 * have the WAL flushes in between.
		 */
		if (!steward_governor_enabled() && steward_idem_purge_delay_ms > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 steward_idem_purge_delay_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	}
	/* n: the last batch's keys, when it stopped the loop unreported */
	steward_governor_end(job, n);

	/*
	 * The same visit keeps steward.capacity's samples current, within the
	 * timeout again but never past twice the timeout since the start (a
	 * purge cancelled at its deadline aborts before this phase begins).
	 */
	deadline = Min(TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											   steward_idem_purge_timeout_ms),
				   TimestampTzPlusMilliseconds(start,
											   2 * (int64) steward_idem_purge_timeout_ms));
	set_lock_timeout_ms(sample_lock_timeout_ms());
	(void) run_phase("sampling table sizes for steward.capacity", sample_phase, &n, deadline);
	set_lock_timeout_ms(steward_idem_purge_timeout_ms);

	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}
