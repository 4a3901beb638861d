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

extern void steward_statements_request_shmem(void);
extern void steward_statements_init_shmem(void);
extern void steward_statements_define_gucs(void);
extern void steward_statements_install_hooks(void);
extern void steward_statements_observe_toplevel(void (*fn) (void));
extern void steward_statements_reset(void);

/* The statements' latency histogram: bucket b >= 1 covers [1.02^(b-1), 1.02^b) us. */
#define STEWARD_STMT_HIST_BUCKETS 1100

/* For the governor (src/governor): foreground latency of the whole cluster. */
extern void steward_statements_sum_toplevel(uint64 *hist, uint64 *calls);
extern double steward_stmt_percentile_ms(const uint32 *hist, uint64 calls, double p);
extern int	steward_stmt_bucket_of_ms(double ms);

#endif							/* STEWARD_STATEMENTS_H */
