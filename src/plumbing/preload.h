/*-------------------------------------------------------------------------
 *
 * preload.h
 *	  What needs pg_steward in shared_preload_libraries, written once:
 *	  shared-memory areas, the error of a feature that needs them, and
 *	  background workers.  See preload.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_PRELOAD_H
#define STEWARD_PRELOAD_H

#include "postgres.h"

#include "postmaster/bgworker.h"
#include "storage/lwlock.h"
#include "utils/hsearch.h"

/*
 * Fills a new area (found false) or attaches to one the postmaster made
 * (found true, EXEC_BACKEND).  Runs under AddinShmemInitLock; lock is the
 * area's own LWLock, or NULL for an area requested without one.
 */
typedef void (*StewardShmemInitFn) (void *area, bool found, LWLock *lock);

extern void steward_shmem_request(const char *name, Size size, bool with_lock);
extern void *steward_shmem_init(const char *name, Size size, bool with_lock,
								StewardShmemInitFn init);
extern HTAB *steward_shmem_hash(const char *name, long nelem, Size keysize,
								Size entrysize);

extern void steward_preload_error(const char *feature) pg_attribute_noreturn();

extern void steward_bgworker_fill(BackgroundWorker *worker, const char *function,
								  const char *name, const char *type,
								  BgWorkerStartTime start, int restart_time);
extern void steward_bgworker_loop(void (*round) (void), long (*pause_ms) (void))
			pg_attribute_noreturn();

#endif							/* STEWARD_PRELOAD_H */
