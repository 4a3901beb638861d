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

extern void steward_waits_define_gucs(void);
extern void steward_waits_request_shmem(void);
extern void steward_waits_init_shmem(void);
extern void steward_waits_set_queryid(uint64 queryid);
extern void steward_sampler_register(void);
extern void steward_waits_reset(void);

#endif							/* STEWARD_WAITS_H */
