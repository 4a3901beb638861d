/*-------------------------------------------------------------------------
 *
 * history.h
 *	  Periodic snapshots of the statistics (history.c): health over a
 *	  recent window, and the data for charts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_HISTORY_H
#define STEWARD_HISTORY_H

#include "postgres.h"

#include "utils/timestamp.h"

/*
 * Snapshots keep a coarse latency histogram: one bucket per 10 buckets of
 * the statements' histogram (each 1.02^10 = 1.22 wide; a percentile is
 * reported as its bucket's upper bound: never below the true value, at
 * most 22% above it), enough to tell a threshold from another.
 */
#define STEWARD_COARSE_FACTOR	10
#define STEWARD_COARSE_BUCKETS	110

/* What a snapshot keeps of one database: sums since server start or reset. */
typedef struct StewardDbTotals
{
	Oid			dbid;
	int64		calls;			/* top-level statements, evicted ones included */
	int64		errors;
	int64		slow_calls;
	double		total_ms;
	int64		updates;		/* rows updated in steward tables */
	int64		version_conflicts;
	uint32		hist[STEWARD_COARSE_BUCKETS];
} StewardDbTotals;

/*
 * What a snapshot keeps of one of the top statements (the cluster's
 * top-level statements with the most total time, summed over users): sums
 * since server start or reset, for each statement's latency over time.
 */
typedef struct StewardStmtTotals
{
	Oid			dbid;
	uint64		queryid;
	int64		calls;
	double		total_ms;
	uint32		hist[STEWARD_COARSE_BUCKETS];
} StewardStmtTotals;

/*
 * Find the record of dbid among totals[0 .. *n), adding a zeroed one if
 * there is room (max); NULL if not.
 */
extern StewardDbTotals *steward_totals_for(StewardDbTotals *totals, int *n, int max, Oid dbid);

/*
 * The sums a structure's entries took with them when they left it (a
 * hot-rows entry taken over, the counters of a dropped table evicted),
 * per database, so that a database's sums only go down at
 * steward.reset(): history reads a sum that went down as a reset.  Kept
 * by the structure under its own lock (exclusive to add, shared to read
 * with the entries: a snapshot never counts an entry twice, nor misses
 * it).  A database beyond STEWARD_RETIRED_DBS keeps none.
 */
#define STEWARD_RETIRED_DBS 64
typedef struct StewardRetired
{
	Oid			dbid;			/* InvalidOid: free */
	int64		sum;
} StewardRetired;

extern void steward_retired_add(StewardRetired *retired, Oid dbid, int64 n);
extern int64 steward_retired_of(const StewardRetired *retired, Oid dbid);

/* Add each module's sums to the records of the databases (InvalidOid: all). */
extern void steward_statements_add_totals(StewardDbTotals *totals, int *n, int max, Oid dbid,
										  uint64 *fine);
extern void steward_counters_add_totals(StewardDbTotals *totals, int n);
extern void steward_hotrows_add_totals(StewardDbTotals *totals, int n);

/* The max statements with the most total time, into top[0 .. *n). */
extern void steward_statements_top(StewardStmtTotals *top, int *n, int max);

/* Percentile (ms) of a coarse histogram holding "calls" values: an upper bound. */
extern double steward_coarse_percentile_ms(const uint32 *hist, int64 calls, double p);

/*
 * The same of a window ending now, refined with the live histogram in the
 * statements' buckets (fine) its coarse counts were taken from.
 */
extern double steward_window_percentile_ms(const uint32 *coarse, int64 calls,
										   const uint64 *fine, double p);

extern void steward_history_define_gucs(void);
extern void steward_history_request_shmem(void);
extern void steward_history_init_shmem(void);
extern void steward_history_reset(void);

/* Called by the sampler worker at every wake-up: snapshot when one is due. */
extern void steward_history_tick(void);

#endif							/* STEWARD_HISTORY_H */
