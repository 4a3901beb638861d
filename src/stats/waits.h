/*-------------------------------------------------------------------------
 *
 * waits.h
 *	  Wait-event sampling and lock contention (waits.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_WAITS_H
#define STEWARD_WAITS_H

#include "postgres.h"

#include "storage/proc.h"

/*
 * What the wait sampler tells its observer (the governor, wired by
 * src/pg_steward.c) in each round, so that stats includes no other
 * subsystem.  Each member may be NULL.  round_begin, sample and blocked_by
 * run while the sampler holds its own lock: they must not raise errors or
 * take locks of their own beyond spinlocks; tick runs after the round.
 */
typedef struct StewardSamplerObserver
{
	void		(*round_begin) (void);
	void		(*sample) (PGPROC *proc, uint32 wait_event_info);
	void		(*blocked_by) (PGPROC *waiter, int blocker_pid);
	void		(*tick) (void);
} StewardSamplerObserver;

extern void steward_sampler_observe(const StewardSamplerObserver *observer);

extern void steward_waits_define_gucs(void);
extern int	steward_sample_interval(void);
extern void steward_waits_request_shmem(void);
extern void steward_waits_init_shmem(void);
extern void steward_waits_set_queryid(uint64 queryid);
extern Oid	steward_waits_set_target(Oid relid);
extern void steward_sampler_register(void);
extern void steward_waits_reset(void);

#endif							/* STEWARD_WAITS_H */
