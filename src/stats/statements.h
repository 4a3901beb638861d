/*-------------------------------------------------------------------------
 *
 * statements.h
 *	  Per-statement latency statistics (statements.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_STATEMENTS_H
#define STEWARD_STATEMENTS_H

#include "postgres.h"

extern Size steward_statements_shmem_size(void);
extern void steward_statements_request_shmem(void);
extern void steward_statements_init_shmem(void);
extern void steward_statements_define_gucs(void);
extern void steward_statements_install_hooks(void);
extern void steward_statements_reset(void);

#endif							/* STEWARD_STATEMENTS_H */
