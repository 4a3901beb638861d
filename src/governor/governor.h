/*-------------------------------------------------------------------------
 *
 * governor.h
 *	  One pacing mechanism for every background writer (governor.c):
 *	  the idempotency purge, run_transition, migration backfills.
 *
 * A job registers, then calls steward_governor_pace() after every batch
 * (outside the batch's transaction where it can).  The call records what
 * the batch did, sleeps at most one slice of the pause the governor wants,
 * and returns the size of the next batch, or 0 while the pause goes on
 * (commit, then call again with rows = 0).  See src/governor/README.md.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_GOVERNOR_H
#define STEWARD_GOVERNOR_H

#include "postgres.h"

#include "storage/proc.h"
#include "utils/timestamp.h"

/* A job of this backend (backend-local handle). */
typedef struct StewardGovJob StewardGovJob;

extern void steward_governor_define_gucs(void);

/* steward.batch_lock_timeout, ms (0: batches never wait for row locks) */
extern int	steward_batch_lock_timeout_ms;
extern void steward_governor_pin_batch_wal_compression(void);
extern void steward_governor_request_shmem(void);
extern void steward_governor_init_shmem(void);
extern void steward_governor_reset(void);
extern void steward_governor_install_hooks(void);
extern void steward_governor_own_statement(void);

/* The wait sampler (stats/waits.c), once per sampling round. */
extern void steward_governor_round_begin(void);
extern void steward_governor_sample(PGPROC *proc, uint32 wait_event_info);
extern void steward_governor_blocked_by(PGPROC *waiter, int blocker_pid);
extern void steward_governor_tick(void);

/*
 * Jobs.  kind ("purge", "transition", "backfill", ...) and label (what it
 * works on) are shown in steward.governor_jobs; ref is the job's own id
 * (a transition run, a migration), 0 if none.  max_batch is the batch at
 * full speed (capped by steward.governor_max_batch); max_rows_per_sec > 0
 * caps the rate whatever the governor allows.  Never raises for lack of
 * room: a job that finds no free slot is paced all the same, unlisted.
 */
extern StewardGovJob *steward_governor_begin(const char *kind, const char *label, int64 ref,
											 int max_batch, int max_rows_per_sec);
extern int	steward_governor_pace(StewardGovJob *job, int64 rows);
extern void steward_governor_end(StewardGovJob *job, int64 rows);
extern bool steward_governor_enabled(void);
extern bool steward_governor_lower_priority(void);
extern void steward_governor_lower_priority_on_foreground(StewardGovJob *job);

#endif							/* STEWARD_GOVERNOR_H */
