/*-------------------------------------------------------------------------
 *
 * preload.c
 *	  What needs pg_steward in shared_preload_libraries, written once.
 *
 * Shared memory: every area is a struct named "pg_steward <what>", with at
 * most one LWLock in a tranche of the same name (wait events show it), and
 * hash tables whose room the area's request included.  The request runs in
 * the shmem_request_hook, the initialisation in the shmem_startup_hook,
 * both called from src/pg_steward.c only.
 *
 * A feature that cannot work without those areas raises one error, the
 * same everywhere (55000, one hint); a feature that can degrade (the
 * statistics views: no rows) does so instead and says why in
 * steward.collector.
 *
 * Background workers: every worker of pg_steward connects (so that it is
 * seen in pg_stat_activity) and is started from this library; the workers
 * that run forever share one main loop.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "tcop/tcopprot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/wait_event.h"

#include "pg_steward.h"
#include "plumbing/preload.h"

/*
 * Ask for an area of size bytes (hash tables included) and, when with_lock,
 * a tranche of one LWLock named like the area.  Only from the
 * shmem_request_hook.  Takes no lock; raises nothing (core's FATAL is for
 * a request outside that hook).
 */
void
steward_shmem_request(const char *name, Size size, bool with_lock)
{
	RequestAddinShmemSpace(size);
	if (with_lock)
		RequestNamedLWLockTranche(name, 1);
}

/*
 * Create or attach to the area "name" of size bytes (the struct alone: hash
 * tables are made by init through steward_shmem_hash) and return it.  init
 * runs under AddinShmemInitLock, so that two processes attaching at once
 * see one initialisation.  Only from the shmem_startup_hook; errors are
 * those of ShmemInitStruct (out of shared memory: FATAL at start).
 */
void *
steward_shmem_init(const char *name, Size size, bool with_lock,
				   StewardShmemInitFn init)
{
	bool		found;
	void	   *area;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	area = ShmemInitStruct(name, size, &found);
	init(area, found,
		 with_lock ? &(GetNamedLWLockTranche(name))->lock : NULL);
	LWLockRelease(AddinShmemInitLock);
	return area;
}

/*
 * A fixed-size shared hash table of nelem entries whose key is the first
 * keysize bytes of the entry, compared as bytes.  Only from an init
 * callback of steward_shmem_init (AddinShmemInitLock held); its room must
 * be part of the area's request (hash_estimate_size).  Errors: those of
 * ShmemInitHash (out of shared memory: FATAL at start).
 */
HTAB *
steward_shmem_hash(const char *name, long nelem, Size keysize, Size entrysize)
{
	HASHCTL		info;

	info.keysize = keysize;
	info.entrysize = entrysize;
	return ShmemInitHash(name, nelem, nelem, &info, HASH_ELEM | HASH_BLOBS);
}

/*
 * The error of a feature (a phrase: "the governor") that cannot work
 * without its shared memory: 55000 with the HINT to preload the library.
 * Never returns; takes no lock.
 */
void
steward_preload_error(const char *feature)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s needs pg_steward in shared_preload_libraries", feature),
			 errhint("Add pg_steward to shared_preload_libraries and restart the server.")));
	pg_unreachable();
}

/*
 * Describe a background worker of this library that runs function (a
 * PGDLLEXPORT symbol of pg_steward) with shared memory and a database
 * connection.  The caller sets bgw_main_arg and bgw_notify_pid if it needs
 * them, then registers it (statically from _PG_init, or dynamically).
 * Fills worker only: no lock, raises nothing.
 */
void
steward_bgworker_fill(BackgroundWorker *worker, const char *function,
					  const char *name, const char *type,
					  BgWorkerStartTime start, int restart_time)
{
	memset(worker, 0, sizeof(*worker));
	/* A connection, even database-less, makes it visible in pg_stat_activity. */
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = start;
	worker->bgw_restart_time = restart_time;
	strlcpy(worker->bgw_library_name, STEWARD_EXTENSION, BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker->bgw_name, name, BGW_MAXLEN);
	strlcpy(worker->bgw_type, type, BGW_MAXLEN);
}

/*
 * Main loop of a worker that runs for the server's life without a
 * database: SIGHUP reloads the configuration, SIGTERM ends it (die), then
 * round() runs, and the worker sleeps pause_ms() (read after the round, so
 * a reloaded setting counts at once) or until its latch is set.  round()
 * runs in the worker's memory context and resets what it allocates.  No
 * transaction and no lock of its own (round()'s are its own).  Never
 * returns: SIGTERM ends the worker (FATAL 57P01), and so does an error
 * round() raises, since the loop has no error handler (the postmaster
 * restarts it after bgw_restart_time); a bad configuration file on reload
 * raises nothing here (the postmaster reports it).
 */
void
steward_bgworker_loop(void (*round) (void), long (*pause_ms) (void))
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		round();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 pause_ms(), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
