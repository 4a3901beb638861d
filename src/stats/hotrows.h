/*-------------------------------------------------------------------------
 *
 * hotrows.h
 *	  Most-updated rows per steward table (hotrows.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_HOTROWS_H
#define STEWARD_HOTROWS_H

#include "postgres.h"

#include "executor/tuptable.h"
#include "tableam/rules.h"

extern void steward_hotrows_define_gucs(void);
extern void steward_hotrows_request_shmem(void);
extern void steward_hotrows_init_shmem(void);
extern void steward_hotrows_count(Relation rel, TupleTableSlot *slot,
								  const StewardRules *rules);
extern void steward_hotrows_reset(void);

#endif							/* STEWARD_HOTROWS_H */
