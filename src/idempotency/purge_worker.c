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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/varlena.h"

#include "idempotency/idempotency.h"

PGDLLEXPORT void steward_purge_launcher_main(Datum main_arg);
PGDLLEXPORT void steward_purge_db_main(Datum main_arg);

void
steward_purge_worker_register(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	strlcpy(worker.bgw_library_name, "pg_steward", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "steward_purge_launcher_main", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "pg_steward idempotency purge launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "pg_steward purge launcher", BGW_MAXLEN);
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

static void
purge_database(Oid dboid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	pid_t		pid;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	strlcpy(worker.bgw_library_name, "pg_steward", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "steward_purge_db_main", BGW_MAXLEN);
	snprintf(worker.bgw_name, BGW_MAXLEN, "pg_steward idempotency purge (db %u)", dboid);
	strlcpy(worker.bgw_type, "pg_steward purge", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(LOG,
				(errmsg("pg_steward could not start an idempotency purge worker"),
				 errhint("Raise max_worker_processes.")));
		return;
	}
	if (WaitForBackgroundWorkerStartup(handle, &pid) == BGWH_STARTED)
		(void) WaitForBackgroundWorkerShutdown(handle);
}

void
steward_purge_launcher_main(Datum main_arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	for (;;)
	{
		List	   *dbs;
		ListCell   *lc;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		dbs = databases_to_visit();
		foreach(lc, dbs)
		{
			CHECK_FOR_INTERRUPTS();
			purge_database(lfirst_oid(lc));
		}
		list_free(dbs);

		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) steward_idem_purge_interval_s * 1000L,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

void
steward_purge_db_main(Datum main_arg)
{
	Oid			dboid = DatumGetObjectId(main_arg);
	int64		n;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
	pgstat_report_appname("pg_steward idempotency purge");

	do
	{
		CHECK_FOR_INTERRUPTS();
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "purging expired idempotency keys");
		n = steward_idem_purge_batch_now(steward_idem_purge_batch);
		PopActiveSnapshot();
		CommitTransactionCommand();
		/* Let concurrent commits have the WAL flushes in between. */
		if (n >= steward_idem_purge_batch && steward_idem_purge_delay_ms > 0)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 steward_idem_purge_delay_ms, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
	} while (n >= steward_idem_purge_batch);

	/* The same visit keeps steward.capacity's samples current. */
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "sampling table sizes for steward.capacity");
	steward_capacity_sample();
	PopActiveSnapshot();
	CommitTransactionCommand();

	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}
