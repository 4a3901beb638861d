/*-------------------------------------------------------------------------
 *
 * history.c
 *	  Periodic snapshots of the statistics: health over a recent window,
 *	  and the history behind charts.
 *
 * Every statistic of pg_steward counts since server start (or reset).  A
 * health check on such totals never turns green again after a bad hour,
 * and one conflict in the first three updates reads as a 33% conflict
 * rate.  So the wait sampler worker takes a snapshot of each database's
 * sums every steward.snapshot_interval (statement calls, errors, slow
 * calls, time, a coarse latency histogram, steward-table updates and
 * version conflicts) into a ring of steward.history_size snapshots in
 * shared memory.  A value over a window is the live sums minus the newest
 * snapshot at least the window old (or, before there is one, everything
 * since start).  steward.health evaluates its latency, slow-call and
 * conflict checks over steward.health_window, and only once the window
 * holds steward.health_min_calls calls / steward.health_min_updates
 * updates (its buffer hit ratio, since the statistics were reset, once
 * the database read steward.health_min_reads blocks, defined here with
 * them); steward.statement_history and steward.health_history show the
 * ring.  Like the other statistics it starts empty after a restart.
 *
 * Locking: one LWLock; the sampler takes it exclusively to write a
 * snapshot, readers share it while copying the ring.  The sums are
 * gathered before the lock is taken, under each module's own lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "pg_steward.h"
#include "plumbing/preload.h"
#include "stats/collect.h"
#include "stats/history.h"
#include "stats/statements.h"

#define HISTORY_AREA "pg_steward history"	/* and its LWLock tranche */
/* Databases a snapshot keeps; more are counted as dropped. */
#define HISTORY_DBS 16
/* Statements of the whole cluster whose sums a snapshot keeps. */
#define HISTORY_STMTS 16

typedef struct StatsSnapshot
{
	TimestampTz ts;
	int			ndbs;
	StewardDbTotals dbs[HISTORY_DBS];
	int			nstmts;
	StewardStmtTotals stmts[HISTORY_STMTS];	/* most total time first */
} StatsSnapshot;

typedef struct HistoryShared
{
	LWLock	   *lock;
	int			next;			/* ring slot of the next snapshot */
	int			count;			/* snapshots held */
	TimestampTz last_ts;		/* of the newest snapshot; 0: none */
	TimestampTz next_due;		/* the sampler's next snapshot; 0: at once */
	StatsSnapshot	snaps[FLEXIBLE_ARRAY_MEMBER];
} HistoryShared;

static int	steward_snapshot_interval = 60;
static int	steward_history_size = 60;
static int	steward_health_window = 300;
static int	steward_health_min_calls = 100;
static int	steward_health_min_updates = 100;
static int	steward_health_min_reads = 10000;

static HistoryShared *history = NULL;
static StatsSnapshot *scratch = NULL;	/* the sampler's, for gathering sums */

PG_FUNCTION_INFO_V1(steward_history);
PG_FUNCTION_INFO_V1(steward_take_snapshot);
PG_FUNCTION_INFO_V1(steward_top_statement_history);

/*
 * From _PG_init: define this part's steward.* settings.  Takes no lock and
 * raises nothing: a bad value set before the library loaded is core's
 * WARNING (define_custom_variable), and the default stays.
 */
void
steward_history_define_gucs(void)
{
	DefineCustomIntVariable("steward.snapshot_interval",
							"Interval between snapshots of the statistics (health windows, history).",
							NULL, &steward_snapshot_interval, 60, 1, 86400,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.history_size",
							"Snapshots of the statistics kept in shared memory.",
							NULL, &steward_history_size, 60, 2, 10080,
							STEWARD_SERVER_START_GUC, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.health_window",
							"Recent window over which steward.health judges latency, slow calls and conflicts.",
							NULL, &steward_health_window, 300, 1, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.health_min_calls",
							"Calls a window must hold before latency and slow-call checks may warn.",
							NULL, &steward_health_min_calls, 100, 0, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.health_min_updates",
							"Updates a window must hold before the conflict-rate check may warn.",
							NULL, &steward_health_min_updates, 100, 0, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.health_min_reads",
							"Blocks a database must have read (hits and reads) before the buffer hit ratio check may warn.",
							"The ratio is since the database's statistics were reset: right after a start, a few catalog reads from disk would warn.",
							&steward_health_min_reads, 10000, 0, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
}

static Size
steward_history_shmem_size(void)
{
	return add_size(offsetof(HistoryShared, snaps),
					mul_size(steward_history_size, sizeof(StatsSnapshot)));
}

static void
history_init_area(void *area, bool found, LWLock *lock)
{
	history = (HistoryShared *) area;
	if (!found)
	{
		history->lock = lock;
		history->next = 0;
		history->count = 0;
		history->last_ts = 0;
		history->next_due = 0;
	}
}

/*
 * From the shmem_startup_hook (src/pg_steward.c): create or attach to
 * this part's area, under AddinShmemInitLock (plumbing/preload.c).
 * Errors: ShmemInitStruct's (out of shared memory: FATAL at start).
 */
void
steward_history_init_shmem(void)
{
	(void) steward_shmem_init(HISTORY_AREA, steward_history_shmem_size(), true,
							  history_init_area);
	steward_collect_register_lock(history->lock);
}

/*
 * Called from shmem_request: the area and the tranche of the history lock.
 * Takes no lock; raises nothing (core's FATAL is for a request outside that
 * hook).
 */
void
steward_history_request_shmem(void)
{
	steward_shmem_request(HISTORY_AREA, steward_history_shmem_size(), true);
}

/*
 * Add n to dbid's retired sum in retired[STEWARD_RETIRED_DBS] (taking a
 * free slot); nothing if every slot is another database's.  Caller holds
 * the structure's lock exclusively.  Raises nothing.
 */
void
steward_retired_add(StewardRetired *retired, Oid dbid, int64 n)
{
	StewardRetired *free_slot = NULL;

	if (n == 0)
		return;
	for (int i = 0; i < STEWARD_RETIRED_DBS; i++)
	{
		if (retired[i].dbid == dbid)
		{
			retired[i].sum += n;
			return;
		}
		if (free_slot == NULL && !OidIsValid(retired[i].dbid))
			free_slot = &retired[i];
	}
	if (free_slot != NULL)
	{
		free_slot->dbid = dbid;
		free_slot->sum = n;
	}
}

/*
 * dbid's retired sum (0 if none).  Caller holds the structure's lock.
 * Raises nothing.
 */
int64
steward_retired_of(const StewardRetired *retired, Oid dbid)
{
	for (int i = 0; i < STEWARD_RETIRED_DBS; i++)
		if (retired[i].dbid == dbid)
			return retired[i].sum;
	return 0;
}

/*
 * The entry of database dbid among the n totals (at most max), added
 * zeroed if missing; NULL when full.  Local memory only: no lock, raises
 * nothing.
 */
StewardDbTotals *
steward_totals_for(StewardDbTotals *totals, int *n, int max, Oid dbid)
{
	for (int i = 0; i < *n; i++)
		if (totals[i].dbid == dbid)
			return &totals[i];
	if (*n >= max)
		return NULL;
	memset(&totals[*n], 0, sizeof(StewardDbTotals));
	totals[*n].dbid = dbid;
	return &totals[(*n)++];
}

/*
 * Gather the sums of every database (or only dbid) into snap; with fine
 * (and dbid), dbid's histogram in the statements' buckets too (zeroed
 * here).
 */
static void
gather(StatsSnapshot *snap, Oid dbid, uint64 *fine)
{
	snap->ndbs = 0;
	if (fine)
		memset(fine, 0, sizeof(uint64) * STEWARD_STMT_HIST_BUCKETS);
	steward_statements_add_totals(snap->dbs, &snap->ndbs, HISTORY_DBS, dbid, fine);
	if (OidIsValid(dbid))
		(void) steward_totals_for(snap->dbs, &snap->ndbs, HISTORY_DBS, dbid);
	steward_counters_add_totals(snap->dbs, snap->ndbs);
	steward_hotrows_add_totals(snap->dbs, snap->ndbs);
}

/*
 * Append a snapshot of the current sums labelled "at" (labelled false: the
 * time read under the history's lock, never earlier than the newest
 * label) and return true; false, appending nothing, when "at" is earlier
 * than the newest label (*newest).  The order is decided under the lock:
 * checked before it, two backends (or one and the sampler) could append
 * out of order (tidy3 finding 4), and a window would then start at a
 * snapshot newer than its end.
 */
static bool
take_snapshot(StatsSnapshot *snap, bool labelled, TimestampTz *at, TimestampTz *newest)
{
	gather(snap, InvalidOid, NULL);
	steward_statements_top(snap->stmts, &snap->nstmts, HISTORY_STMTS);
	LWLockAcquire(history->lock, LW_EXCLUSIVE);
	*newest = history->last_ts;
	if (!labelled)
		*at = Max(GetCurrentTimestamp(), history->last_ts);
	else if (history->last_ts != 0 && *at < history->last_ts)
	{
		LWLockRelease(history->lock);
		return false;
	}
	snap->ts = *at;
	memcpy(&history->snaps[history->next], snap, sizeof(StatsSnapshot));
	history->next = (history->next + 1) % steward_history_size;
	history->count = Min(history->count + 1, steward_history_size);
	history->last_ts = *at;
	LWLockRelease(history->lock);
	return true;
}

static TimestampTz
plus_interval(TimestampTz t)
{
	return t + (TimestampTz) steward_snapshot_interval * USECS_PER_SEC;
}

static void
tick(void *arg)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz due = history->next_due;
	TimestampTz at;
	TimestampTz newest;

	/* A shortened interval (reload) takes effect at once. */
	if (due != 0 && now < due && plus_interval(now) >= due)
		return;
	if (scratch == NULL)
		scratch = MemoryContextAlloc(TopMemoryContext, sizeof(StatsSnapshot));
	(void) take_snapshot(scratch, false, &at, &newest);
	history->next_due = plus_interval(now);
}

/*
 * From the wait sampler, each round: take a snapshot when one is due.
 * Never raises (through steward_collect).  A snapshot takes the statements',
 * counters' and hot rows' LWLocks shared one after another (see gather),
 * then the history's exclusively to append it.
 */
void
steward_history_tick(void)
{
	if (history != NULL)
		(void) steward_collect(tick, NULL);
}

/*
 * steward.reset(): forget what this part counted, under its own lock
 * (LWLock, exclusive).  Does nothing without shared memory (no
 * shared_preload_libraries).  Raises nothing.
 */
void
steward_history_reset(void)
{
	if (history == NULL)
		return;
	LWLockAcquire(history->lock, LW_EXCLUSIVE);
	history->next = 0;
	history->count = 0;
	history->last_ts = 0;
	/* The next automatic snapshot a full interval from now. */
	history->next_due = plus_interval(GetCurrentTimestamp());
	LWLockRelease(history->lock);
}

/*
 * steward.take_snapshot(at): take a snapshot now, labelled "at" (default
 * now; not later than now, not earlier than the newest snapshot).  For
 * marking a moment by hand, and for tests that need controlled times.
 * Raises 55000 without shared_preload_libraries, 22023 for an "at" in the
 * future or before the newest snapshot's label (decided under the
 * history's lock, so concurrent calls append in time order; without "at",
 * the label is the time the lock is held).  Locks as steward_history_tick.
 */
Datum
steward_take_snapshot(PG_FUNCTION_ARGS)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz at = PG_ARGISNULL(0) ? now : PG_GETARG_TIMESTAMPTZ(0);
	TimestampTz newest = history != NULL ? history->last_ts : 0;
	StatsSnapshot   *snap;

	if (history == NULL)
		steward_preload_error("the statistics history");
	if (at > now)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a snapshot cannot be labelled with a time in the future"),
				 errdetail("It holds the statistics of now; \"at\" may only move it into the past.")));
	snap = palloc(sizeof(StatsSnapshot));
	/* A first look without the lock spares the gathering; the lock decides. */
	if ((newest != 0 && at < newest) ||
		!take_snapshot(snap, !PG_ARGISNULL(0), &at, &newest))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("a snapshot cannot be labelled earlier than the newest one"),
				 errdetail("The newest snapshot is labelled %s.",
						   timestamptz_to_str(newest)),
				 errhint("Snapshots are kept in time order; steward.reset() clears them.")));
	PG_RETURN_TIMESTAMPTZ(at);
}

static const StewardDbTotals *
db_record(const StatsSnapshot *snap, Oid dbid)
{
	for (int i = 0; i < snap->ndbs; i++)
		if (snap->dbs[i].dbid == dbid)
			return &snap->dbs[i];
	return NULL;
}

/* A percentile of a window: refined by the live histogram when there is one. */
static double
window_percentile(const uint32 *coarse, int64 calls, const uint64 *fine, double p)
{
	if (fine != NULL)
		return steward_window_percentile_ms(coarse, calls, fine, p);
	return steward_coarse_percentile_ms(coarse, calls, p);
}

/*
 * One row of steward._history(): the sums of "later" minus those of
 * "earlier" (NULL: since start).  A counter that went down was reset:
 * then everything since the reset.  Percentiles are upper bounds (see
 * steward_coarse_percentile_ms); with fine, the histogram in the
 * statements' buckets "later" was taken from (the window ending now),
 * refined by it.
 */
static void
put_delta(Tuplestorestate *ts, TupleDesc desc, TimestampTz at, TimestampTz from,
		  const StewardDbTotals *later, const StewardDbTotals *earlier, bool is_now,
		  const uint64 *fine)
{
	static const StewardDbTotals zero;
	StewardDbTotals d;
	const StewardDbTotals *e = earlier ? earlier : &zero;
	Datum		values[12];
	bool		nulls[12] = {0};

	if (later == NULL)
		later = &zero;
	if (later->calls < e->calls || later->errors < e->errors)
		e = &zero;
	d.calls = later->calls - e->calls;
	d.errors = later->errors - e->errors;
	d.slow_calls = Max(later->slow_calls - e->slow_calls, 0);
	d.total_ms = Max(later->total_ms - e->total_ms, 0);
	for (int b = 0; b < STEWARD_COARSE_BUCKETS; b++)
		d.hist[b] = later->hist[b] >= e->hist[b] ? later->hist[b] - e->hist[b] : 0;
	e = earlier ? earlier : &zero;
	if (later->updates < e->updates || later->version_conflicts < e->version_conflicts)
		e = &zero;
	d.updates = later->updates - e->updates;
	d.version_conflicts = later->version_conflicts - e->version_conflicts;

	values[0] = TimestampTzGetDatum(at);
	values[1] = TimestampTzGetDatum(from);
	nulls[1] = (from == 0);
	values[2] = Int64GetDatum(d.calls);
	values[3] = Int64GetDatum(d.errors);
	values[4] = Int64GetDatum(d.slow_calls);
	values[5] = Float8GetDatum(d.total_ms);
	values[6] = Float8GetDatum(window_percentile(d.hist, d.calls, fine, 0.50));
	values[7] = Float8GetDatum(window_percentile(d.hist, d.calls, fine, 0.95));
	values[8] = Float8GetDatum(window_percentile(d.hist, d.calls, fine, 0.99));
	for (int i = 6; i <= 8; i++)
		nulls[i] = (d.calls == 0);
	values[9] = Int64GetDatum(d.updates);
	values[10] = Int64GetDatum(d.version_conflicts);
	values[11] = BoolGetDatum(is_now);
	tuplestore_putvalues(ts, desc, values, nulls);
}

/*
 * steward._history(window_s): for the current database, one row per
 * snapshot, oldest first, then one for now (is_now): the sums over the
 * window ending there -- window_s seconds, or with NULL the interval since
 * the previous snapshot.  window_start is the snapshot the window starts
 * at (NULL: since server start or reset).  No rows without
 * shared_preload_libraries.  Raises 22023 for a negative or NaN window_s.
 * Copies the ring under the history's LWLock shared, then gathers now's
 * sums under the statements', counters' and hot rows' LWLocks shared, one
 * after another; no heavyweight lock.
 */
Datum
steward_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		by_interval = PG_ARGISNULL(0);
	double		window_s = by_interval ? 0 : PG_GETARG_FLOAT8(0);
	StatsSnapshot   *snaps;
	StatsSnapshot   *now;
	uint64	   *fine;
	int			count;

	InitMaterializedSRF(fcinfo, 0);
	if (history == NULL)
		return (Datum) 0;
	if (!by_interval && (window_s < 0 || isnan(window_s)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("window_s must be a positive number of seconds, or NULL for each interval")));

	snaps = palloc(steward_history_size * sizeof(StatsSnapshot));
	LWLockAcquire(history->lock, LW_SHARED);
	count = history->count;
	for (int i = 0; i < count; i++)
	{
		int			slot = (history->next - count + i + steward_history_size) % steward_history_size;

		memcpy(&snaps[i], &history->snaps[slot], sizeof(StatsSnapshot));
	}
	LWLockRelease(history->lock);

	now = palloc(sizeof(StatsSnapshot));
	fine = palloc(sizeof(uint64) * STEWARD_STMT_HIST_BUCKETS);
	gather(now, MyDatabaseId, fine);
	now->ts = GetCurrentTimestamp();

	for (int k = 0; k <= count; k++)
	{
		const StatsSnapshot *at = (k < count) ? &snaps[k] : now;
		int			base = -1;

		if (by_interval)
			base = k - 1;
		else
		{
			TimestampTz limit = at->ts - (TimestampTz) (window_s * USECS_PER_SEC);

			for (int j = k - 1; j >= 0; j--)
				if (snaps[j].ts <= limit)
				{
					base = j;
					break;
				}
		}
		put_delta(rsinfo->setResult, rsinfo->setDesc, at->ts,
				  base >= 0 ? snaps[base].ts : 0,
				  db_record(at, MyDatabaseId),
				  base >= 0 ? db_record(&snaps[base], MyDatabaseId) : NULL,
				  k == count, k == count ? fine : NULL);
	}
	return (Datum) 0;
}

static const StewardStmtTotals *
stmt_record(const StatsSnapshot *snap, Oid dbid, uint64 queryid)
{
	for (int i = 0; i < snap->nstmts; i++)
		if (snap->stmts[i].dbid == dbid && snap->stmts[i].queryid == queryid)
			return &snap->stmts[i];
	return NULL;
}

/*
 * steward._top_statement_history(): for the current database, one row per
 * snapshot interval and top statement: its calls, time and percentiles
 * between the previous snapshot (interval_start; NULL: since server start
 * or reset) and this one.  A snapshot keeps the HISTORY_STMTS statements
 * of the cluster with the most total time; an interval is shown for a
 * statement kept by both of its snapshots, or by the later one when the
 * earlier kept every statement there was (else where it started is not
 * known).  Reads the ring under the history's LWLock, shared, emitting as
 * it goes; no heavyweight lock.  Raises nothing of its own (the
 * tuplestore's errors: 53200, or a file error past work_mem).  No rows
 * without shared_preload_libraries.
 */
Datum
steward_top_statement_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	static const StewardStmtTotals zero;
	uint32		hist[STEWARD_COARSE_BUCKETS];

	InitMaterializedSRF(fcinfo, 0);
	if (history == NULL)
		return (Datum) 0;

	LWLockAcquire(history->lock, LW_SHARED);
	for (int k = 0; k < history->count; k++)
	{
		int			slot = (history->next - history->count + k + steward_history_size) % steward_history_size;
		const StatsSnapshot *at = &history->snaps[slot];
		const StatsSnapshot *prev = k > 0 ?
			&history->snaps[(slot - 1 + steward_history_size) % steward_history_size] : NULL;

		for (int i = 0; i < at->nstmts; i++)
		{
			const StewardStmtTotals *later = &at->stmts[i];
			const StewardStmtTotals *e = &zero;
			int64		calls;
			Datum		values[8];
			bool		nulls[8] = {0};

			if (later->dbid != MyDatabaseId)
				continue;
			if (prev != NULL && (e = stmt_record(prev, later->dbid, later->queryid)) == NULL)
			{
				/*
				 * Not kept by the previous snapshot: if it kept fewer than
				 * it could, it kept every statement, so this one had no
				 * calls yet; else where it started is unknown.
				 */
				if (prev->nstmts >= HISTORY_STMTS)
					continue;
				e = &zero;
			}
			/* Fewer calls than before: reset since, so everything since. */
			if (later->calls < e->calls)
				e = &zero;
			calls = later->calls - e->calls;
			for (int b = 0; b < STEWARD_COARSE_BUCKETS; b++)
				hist[b] = later->hist[b] >= e->hist[b] ? later->hist[b] - e->hist[b] : 0;
			values[0] = TimestampTzGetDatum(prev ? prev->ts : 0);
			nulls[0] = (prev == NULL);
			values[1] = TimestampTzGetDatum(at->ts);
			values[2] = Int64GetDatum((int64) later->queryid);
			values[3] = Int64GetDatum(calls);
			values[4] = Float8GetDatum(Max(later->total_ms - e->total_ms, 0));
			values[5] = Float8GetDatum(steward_coarse_percentile_ms(hist, calls, 0.50));
			values[6] = Float8GetDatum(steward_coarse_percentile_ms(hist, calls, 0.95));
			values[7] = Float8GetDatum(steward_coarse_percentile_ms(hist, calls, 0.99));
			for (int c = 5; c <= 7; c++)
				nulls[c] = (calls == 0);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	LWLockRelease(history->lock);
	return (Datum) 0;
}
