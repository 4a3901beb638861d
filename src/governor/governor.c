/*-------------------------------------------------------------------------
 *
 * governor.c
 *	  One pacing mechanism for every background writer: the idempotency
 *	  purge, run_transition and migration backfills take their batch size
 *	  and their pause from here.
 *
 * What the foreground feels is measured by the wait sampler worker
 * (stats/waits.c), which calls steward_governor_tick() every
 * steward.governor_interval: the latency histogram of every top-level
 * statement of the cluster (stats/statements.c) is differenced into one
 * tick, with the samples of foreground backends waiting on WAL and the
 * largest standby replay lag.  A tick during which no governed job worked
 * (nor in the tick before: WAL flushes and dirty buffers outlive a batch;
 * worked: was busy for a share of the tick, measure_job_work) is idle, and
 * idle ticks are the baseline.  Each job, between two
 * batches, compares the p99 of the last steward.governor_window with the
 * baseline's p99 and adapts with additive increase / multiplicative
 * decrease: the share of time it works (duty) and its batch size.  It
 * pauses entirely above steward.governor_critical_p99_ratio or
 * steward.governor_max_replication_lag.  Sessions that the sampler sees
 * begin waiting for a lock a job holds halve that job's batch when they
 * are more than steward.governor_lock_wait_share of the foreground's
 * transactions (enough to reach its p99).  With no
 * foreground statements there is nothing to protect, and a job runs at
 * full speed.  src/governor/README.md has the whole algorithm.
 *
 * The decision itself (gov_decide) is a pure function of the signals, the
 * settings and the job's state, so steward.governor_trace() can replay any
 * sequence of signals through it.
 *
 * Locking: one LWLock.  The sampler takes it exclusively to write a tick
 * and to free the slots of jobs whose process is gone (it then takes
 * ProcArrayLock inside: nobody takes them in the other order); jobs and
 * views share it to read ticks, and take it exclusively to claim or free a
 * slot.  A job updates its own slot under the slot's spinlock; the
 * sampler adds lock-wait samples to a slot with an atomic.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sys/resource.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/lwlock.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "pg_steward.h"
#include "plumbing/preload.h"
#include "governor/governor.h"
#include "stats/collect.h"
#include "stats/waits.h"
#include "stats/statements.h"
#include "plumbing/as_owner.h"

#define GOV_AREA			"pg_steward governor"	/* and its LWLock tranche */
#define GOV_MAX_JOBS		64		/* running jobs listed */
#define GOV_FINISHED		16		/* finished jobs kept for the view */
#define GOV_RING			64		/* recent ticks */
#define GOV_IDLE_RING		32		/* recent idle ticks: the baseline */
#define GOV_BASELINE_MAX_AGE_S	60	/* idle ticks older than this are not a baseline ... */
#define GOV_BASELINE_KEEP_S	300		/* ... unless too few are younger and the load is steady
									 * (baseline_load_steady): then up to this old */
#define GOV_KEEP_LOAD_BAND	1.3		/* steady: the window's load within this factor of the baseline's */
#define GOV_REBASE_AFTER	3		/* decreases in a row that call the baseline into question */
#define GOV_LOAD_FACTOR		2.0		/* a baseline is of another load beyond this factor */
#define GOV_BASELINE_TICKS	3		/* idle ticks a baseline needs, at least (see baseline_ticks()) */
#define GOV_PROBE_MIN_S		10		/* longest wait for a baseline: max(this, 3 windows) */
#define GOV_QUIET_EVERY_S	60		/* a cluster-wide measuring pause at most this often */
#define GOV_BATCH_COUNTS_MAX_S	GOV_BASELINE_MAX_AGE_S	/* a batch's work counts at most
														 * this long (batch_counts_limit_ms) */
#define GOV_JOB_MEMORY_S	300		/* the job's own p99 so far forgets with this time constant */
#define GOV_JOB_MIN_WINDOWS	2		/* ... and counts once it spans this many windows */
#define GOV_STALE_S			600		/* a job silent this long is shown as "stale" */
#define GOV_MIN_DUTY		0.02
#define GOV_START_DUTY		0.1
#define GOV_DUTY_STEP		0.05
#define GOV_DECREASE		0.7		/* duty x this over the target (CUBIC's beta, RFC 8312) */
#define GOV_DECREASE_AGAIN	0.5		/* ... when the last decrease did not bring it back */
#define GOV_WAL_MIN_MS		0.05	/* WAL wait per call must grow by this much too */
#define GOV_CPU_MIN_MS		0.03	/* run-queue wait per statement must grow by this much too */
#define GOV_WORK_SHARE		GOV_MIN_DUTY	/* busy share of a tick that makes a job
												 * handed a batch working */
#define GOV_MAX_LOCAL_JOBS	8		/* per backend */
#define GOV_ROLE_MAX_JOBS	(GOV_MAX_JOBS / 4)	/* listed jobs of one role begun
												 * with steward.governor_begin() */
#define GOV_CBUCKETS		200		/* transaction latency: bucket b >= 1 is [1.1^(b-1), 1.1^b) us */
#define GOV_CGROWTH			1.1
#define GOV_OWN_RING		512		/* this session's recent statements and commits */

typedef enum GovDecision
{
	GOV_D_FULL,					/* full speed: nothing to protect */
	GOV_D_INCREASE,
	GOV_D_HOLD,					/* the window still holds samples from before the last change */
	GOV_D_DECREASE,
	GOV_D_PAUSE,
	GOV_NUM_DECISIONS
} GovDecision;

static const char *const decision_names[GOV_NUM_DECISIONS] = {
	"full_speed", "increase", "hold", "decrease", "pause"
};

typedef enum GovReason
{
	GOV_R_NONE,
	GOV_R_NO_FOREGROUND,
	GOV_R_P99,
	GOV_R_P99_CRITICAL,
	GOV_R_WAL,
	GOV_R_CPU,
	GOV_R_LAG,
	GOV_R_LAG_CRITICAL,
	GOV_R_LOCK_WAITS,
	GOV_R_BASELINE,
	GOV_R_NO_BASELINE,
	GOV_R_CAP,
	GOV_R_DISABLED,
	GOV_NUM_REASONS
} GovReason;

static const char *const reason_names[GOV_NUM_REASONS] = {
	"none", "no_foreground", "p99", "p99_critical", "wal_waits", "cpu_waits", "replication_lag",
	"replication_lag_critical", "lock_waits", "measuring_baseline", "no_baseline",
	"max_rows_per_sec", "disabled"
};

/* What a job sees of the foreground at a decision. */
typedef struct GovSignals
{
	uint64		tick;			/* ticks taken so far (0: none yet) */
	double		calls;			/* foreground statements in the window */
	double		p99_ms;
	double		base_calls;		/* in the baseline's idle ticks */
	int			base_ticks;		/* idle ticks in the baseline */
	int			base_ticks_fresh;	/* of those, younger than GOV_BASELINE_MAX_AGE_S */
	int			base_ticks_recent;	/* of those, taken in the last half of that */
	double		load_per_s;		/* statements + commits a second, in the window */
	double		base_load_per_s;	/* the same in the baseline */
	double		base_p99_ms;
	double		commits;		/* foreground transactions committed in the window */
	double		commit_p99_ms;
	double		base_commits;
	double		base_commit_p99_ms;
	double		wal_ms;			/* WAL wait per foreground call, ms; < 0 unknown */
	double		base_wal_ms;
	double		cpu;			/* foreground run-queue wait per statement, ms; < 0 unknown */
	double		base_cpu;
	double		lag_ms;			/* largest standby replay lag; < 0 none */
	double		recent_calls;	/* others' statements in the newest tick, per window */
	double		recent_commits; /* others' commits in the newest tick, per window */
	uint64		lock_waits;		/* waits of sessions for this job begun since its last decision */
	int			lock_ticks;		/* ticks since its last decision (the waits' span), >= 1 */
	double		window_s;		/* seconds the window's calls and commits span */
	bool		simulated;
	bool		quiet;			/* in a cluster-wide measuring pause (ask_quiet) */
	TimestampTz newest_idle;	/* the newest idle tick with a foreground; 0 none */
	/* the foreground since the job began (job_sums_update); secs 0: none */
	double		job_calls;
	double		job_p99_ms;
	double		job_commits;
	double		job_commit_p99_ms;
	double		job_secs;
} GovSignals;

typedef struct GovSettings
{
	bool		enabled;
	double		target;
	double		critical;
	double		max_lag_ms;		/* 0: not watched */
	int			min_calls;
	double		window_ms;
	double		interval_ms;
	bool		slow_start;
	double		lock_share;		/* of the foreground that may wait for the job's locks */
	double		wait_ratio;		/* WAL and run-queue waits over their baseline: slow down */
	double		cpu_floor_ms;	/* a run-queue baseline counts as at least this */
	double		wal_floor_ms;	/* a WAL-wait baseline counts as at least this */
	bool		job_p99;		/* judge the p99 by the job's run so far, not the window alone */
	bool		keep_baseline;	/* keep an older baseline while the load is steady */
	bool		room_increase;	/* add half the duty when half the room is unused */
} GovSettings;

/* The control state of one job: all gov_decide() reads and writes. */
typedef struct GovState
{
	double		duty;			/* share of time spent working, (0, 1] */
	int			batch;
	int			max_batch;
	int			min_batch;
	int			max_rate;		/* rows/s cap, 0 none */
	bool		paused;
	GovDecision decision;
	GovReason	reason;
	GovReason	throttled_by;	/* what keeps it below full speed; NONE at full speed */
	TimestampTz last_change;	/* of duty or batch; 0: none yet */
	double		resume_duty;	/* the pace to come back to when the foreground does */
	int			resume_batch;
	TimestampTz probe_started;	/* waiting for a baseline since */
	int			decreases_in_row;	/* latency decreases with no increase between */
	bool		increased;		/* the last change of pace was an increase */
	double		duty_before;	/* the pace before it */
	int			batch_before;
	TimestampTz rebase_since;	/* the baseline holds only ticks from then on; 0: any */
	bool		rebasing;		/* pausing until it has enough of them */
	bool		slow_start;		/* doubling until the foreground first reacts */
	int64		counts[GOV_NUM_DECISIONS];
} GovState;

typedef struct GovTick
{
	TimestampTz ts;				/* end of the tick */
	double		secs;
	uint64		calls;
	uint64		wal_samples;
	double		run_delay_ms;	/* foreground backends' time runnable but not running; < 0 unknown */
	double		lag_ms;
	bool		idle;
	uint64		commits;
	uint32		chist[GOV_CBUCKETS];
	uint32		hist[STEWARD_STMT_HIST_BUCKETS];
} GovTick;

/* Transaction latencies of one backend (written by it alone, summed by the sampler). */
typedef struct GovProcCommits
{
	pg_atomic_uint64 count[GOV_CBUCKETS];
} GovProcCommits;

typedef enum GovSlotState
{
	GOV_S_WORKING,				/* between a pace call and the next */
	GOV_S_PAUSING,				/* sleeping in a pace call, or told to wait */
	GOV_S_PAUSED,				/* paused entirely */
	GOV_S_FINISHED,
	GOV_S_GONE,					/* its process ended without finishing */
	GOV_S_FAILED,				/* ended by an error (governor_end(job, 'failed')) */
	GOV_S_CANCELLED				/* ended by a cancel (governor_end(job, 'cancelled')) */
} GovSlotState;

static const char *const state_names[] = {"working", "pausing", "paused", "finished", "gone",
"failed", "cancelled"};

typedef struct GovSlot
{
	slock_t		mutex;
	bool		in_use;
	int64		id;
	int			pid;
	Oid			dbid;
	char		kind[32];
	char		label[64];
	int64		ref;
	Oid			userid;			/* who began it: who else may see label and ref */
	TimestampTz started_at;
	TimestampTz stmt_start;		/* of the client statement that began it; 0 for workers */
	/* written by the job */
	GovSlotState state;
	TimestampTz work_ended;
	TimestampTz last_pace;
	TimestampTz work_started;	/* the current (or last) batch was handed out at */
	double		batch_counts_ms;	/* its work counts this long: 2x the longest before */
	TimestampTz last_decision_at;
	TimestampTz finished_at;
	GovState	st;
	double		rate;			/* rows/s, recent */
	int64		rows_done;
	int64		batches;
	GovSignals	sig;			/* at the last decision */
	int			pgprocno;		/* of the job's process */
	/* written by the sampler */
	pg_atomic_uint64 lock_wait_samples;
	pg_atomic_uint64 lock_waits_begun;	/* distinct waits, each at its first sample */
	pg_atomic_uint64 busy_seen_at;	/* TimestampTz: last tick it worked in */
	pg_atomic_uint64 run_samples;	/* samples that saw it working, on a CPU */
	pg_atomic_uint64 wait_samples;	/* ... waiting for what a batch needs */
} GovSlot;

typedef struct GovShared
{
	LWLock	   *lock;
	uint64		tick_seq;
	int			ring_next;
	int			ring_count;
	int			idle_next;
	int			idle_count;
	int64		next_job_id;
	int			finished_next;
	int			finished_count;
	TimestampTz sim_until;		/* steward.governor_simulate() */
	double		sim_p99_ratio;	/* < 0: measured */
	double		sim_lag_ms;		/* < 0: measured */
	TimestampTz quiet_until;	/* every job pauses to measure a baseline until */
	TimestampTz quiet_asked_at; /* when a job last set quiet_until */
	pg_atomic_uint64 decisions[GOV_NUM_DECISIONS][GOV_NUM_REASONS];
	GovSlot		slots[GOV_MAX_JOBS];
	GovSlot		finished[GOV_FINISHED];
	GovTick		ring[GOV_RING];
	GovTick		idle[GOV_IDLE_RING];
	int			nprocs;			/* entries of commits[] */
	GovProcCommits commits[FLEXIBLE_ARRAY_MEMBER];	/* per pgprocno, regular backends */
} GovShared;

/*
 * The foreground's latency since a job began, each tick's histograms
 * added as it arrives and the older ones weighed down with the time
 * constant GOV_JOB_MEMORY_S (job_sums_update).
 */
typedef struct GovJobSums
{
	TimestampTz until;			/* the newest tick added; 0: none yet */
	double		secs;
	double		calls;
	double		commits;
	double		hist[STEWARD_STMT_HIST_BUCKETS];
	double		chist[GOV_CBUCKETS];
} GovJobSums;

/* A job of this backend. */
struct StewardGovJob
{
	bool		in_use;
	int64		id;
	int			slot;			/* -1: no room in the list; paced all the same */
	GovState	st;
	bool		started;
	bool		working;
	TimestampTz work_started;
	TimestampTz work_ended;
	double		last_work_ms;
	double		longest_work_ms;	/* of its batches so far */
	double		batch_counts_ms;	/* 2 x longest_work_ms when the batch was handed out */
	int64		last_rows;
	uint64		last_tick;
	uint64		lock_seen;		/* lock_waits_begun at the last decision */
	TimestampTz last_pace;
	double		rate;
	int64		rows_done;
	int64		batches;
	GovSignals	sig;
	TimestampTz last_decision_at;
	char		kind[32];
	char		label[64];
	int64		ref;
	TimestampTz started_at;
	bool		nice_on_foreground; /* lower the process's priority at the first foreground */
	GovJobSums	sums;			/* the foreground since it began */
};

/* GUCs */
static bool gov_enabled = true;
static double gov_target = 1.3;
static double gov_critical = 3.0;
static int	gov_max_lag_ms = 10000;
static int	gov_max_batch = 10000;
static int	gov_window_ms = 5000;
static int	gov_interval_ms = 1000;
static int	gov_min_calls = 50;
static double gov_lock_share = 0.005;
static double gov_wait_ratio = 0;	/* 0: gov_target */
static double gov_cpu_wait_floor_ms = 0.05;
static double gov_wal_wait_floor_ms = 0.05;
static bool gov_job_p99 = true;
static bool gov_keep_baseline = true;
static bool gov_room_increase = true;
int			steward_batch_lock_timeout_ms = 10;
static bool gov_batch_synchronous_commit = true;
static bool gov_batch_wal_compression = true;
static bool gov_slow_start = true;
static int	gov_nice = 10;

/*
 * The wal_compression method of steward_governor_pin_batch_wal_compression:
 * the cheapest on CPU of those this PostgreSQL was built with.
 */
#if defined(USE_LZ4)
#define BATCH_WAL_COMPRESSION "lz4"
#elif defined(USE_ZSTD)
#define BATCH_WAL_COMPRESSION "zstd"
#else
#define BATCH_WAL_COMPRESSION "pglz"
#endif

static GovShared *gov = NULL;

/* This backend's jobs. */
static StewardGovJob local_jobs[GOV_MAX_LOCAL_JOBS];

/*
 * The ids of the last jobs free_local_job ended because a later client
 * statement began a job, so that pacing or ending one says why it is gone
 * rather than that another session began it (fuzz1).
 */
static int64 superseded_jobs[GOV_MAX_LOCAL_JOBS];
static int	superseded_next = 0;
static bool callbacks_registered = false;

/*
 * When this session's own statements and commits started, to tell them
 * from the foreground's: a job is not slowed down by the statements its
 * own session ran just before it (or the CALL that runs it).
 */
static TimestampTz own_stmts[GOV_OWN_RING];
static int	own_stmt_next = 0;
static TimestampTz own_commits[GOV_OWN_RING];
static int	own_commit_next = 0;

/* The sampler's own accumulators. */
static uint64 acc_wal_samples = 0;
static int	round_pids[GOV_MAX_JOBS];
static int	round_npids = 0;
static TimestampTz round_at = 0;	/* when this round began */
static TimestampTz round_prev_at = 0;	/* ... and the one before */

PG_FUNCTION_INFO_V1(steward_governor_begin_sql);
PG_FUNCTION_INFO_V1(steward_governor_pace_sql);
PG_FUNCTION_INFO_V1(steward_governor_end_sql);
PG_FUNCTION_INFO_V1(steward_governor_jobs);
PG_FUNCTION_INFO_V1(steward_governor_status);
PG_FUNCTION_INFO_V1(steward_governor_decisions);
PG_FUNCTION_INFO_V1(steward_governor_simulate);
PG_FUNCTION_INFO_V1(steward_governor_trace);

/*
 * _PG_init: define the governor's settings (docs/settings.md).  The
 * thresholds are PGC_SUSET: a session may not loosen the pacing that
 * protects everyone else's latency; the sampling window and interval are
 * PGC_SIGHUP because the one sampler worker reads them for the cluster.
 * Times are GUC_UNIT_MS.  No lock; raises nothing; called once per
 * process.
 */
void
steward_governor_define_gucs(void)
{
	DefineCustomBoolVariable("steward.governor",
							 "Pace background jobs (purge, run_transition, backfills) on the foreground's latency.",
							 "Off: jobs run at their full batch size, paced only by max_rows_per_sec and steward.idempotency_purge_delay.",
							 &gov_enabled, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("steward.governor_target_p99_ratio",
							 "Foreground p99 over its idle baseline above which background jobs slow down.",
							 NULL, &gov_target, 1.3, 1.0, 1000.0, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("steward.governor_wait_ratio",
							 "Foreground WAL or run-queue wait per statement over its idle baseline above which background jobs slow down.",
							 "0: steward.governor_target_p99_ratio.",
							 &gov_wait_ratio, 0, 0, 1000.0, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("steward.governor_cpu_wait_floor",
							 "Smallest baseline of the foreground's run-queue wait per statement the governor compares with.",
							 "A smaller baseline (0 where the CPUs were never all busy) counts as this.",
							 &gov_cpu_wait_floor_ms, 0.05, 0, 1000.0, PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomRealVariable("steward.governor_wal_wait_floor",
							 "Smallest baseline of the foreground's WAL wait per statement the governor compares with.",
							 "A smaller baseline (0 where no sampled statement waited for WAL while no job ran) counts as this.",
							 &gov_wal_wait_floor_ms, 0.05, 0, 1000.0, PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.governor_job_p99",
							 "Whether a job slows down for the p99 only when the foreground's p99 since the job began is over the target too.",
							 "off: every window over the target slows the job down, however much room the job's run so far leaves.",
							 &gov_job_p99, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.governor_keep_baseline",
							 "Whether a job keeps a baseline older than a minute while the foreground's load stays within a factor of 1.3 of the baseline's.",
							 "off: a job that worked for a minute pauses to measure a new baseline, whatever the load.",
							 &gov_keep_baseline, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("steward.governor_critical_p99_ratio",
							 "Foreground p99 over its idle baseline at which background jobs pause entirely.",
							 NULL, &gov_critical, 3.0, 1.0, 1000.0, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.governor_max_replication_lag",
							"Standby replay lag at which background jobs pause (half of it: they slow down); 0 ignores lag.",
							NULL, &gov_max_lag_ms, 10000, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.governor_max_batch",
							"Largest batch of rows a background job may take at once.",
							NULL, &gov_max_batch, 10000, 1, 1000000,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.governor_window",
							"Recent window over which the governor measures the foreground's p99.",
							NULL, &gov_window_ms, 5000, 100, 3600000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.governor_interval",
							"Interval between the governor's measurements (and decisions).",
							NULL, &gov_interval_ms, 1000, 10, 60000,
							PGC_SIGHUP, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.governor_nice",
							"CPU priority (nice value) of the background job processes: the idempotency purge worker.",
							"Where the CPUs are all busy, the kernel then runs the foreground's backends first (the process's nice value and its Linux autogroup's).",
							&gov_nice, 10, 0, 19,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.governor_room_increase",
							 "Whether a job past slow start adds half its share of time per window while the foreground's p99, in the window and since the job began, leaves half the room below the target unused.",
							 "off: it adds a twentieth of the time per window whatever the room (additive increase only).",
							 &gov_room_increase, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.governor_slow_start",
							 "Whether a job under a foreground doubles its share of time each window until the foreground's latency rises.",
							 "off: it adds a twentieth of the time per window from the start (additive increase only).",
							 &gov_slow_start, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.governor_min_calls",
							"Foreground statements a window must hold for its p99 to count; fewer means no foreground load.",
							NULL, &gov_min_calls, 50, 1, INT_MAX,
							PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomRealVariable("steward.governor_lock_wait_share",
							 "Share of the foreground's transactions that may wait for a job's row locks before the job halves its batch.",
							 "0: any wait halves it.",
							 &gov_lock_share, 0.005, 0.0, 1.0,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.batch_lock_timeout",
							"How long a batch of run_transition or of a backfill waits for a row another transaction holds before it skips that transaction's rows.",
							"0: never wait (each batch locks its rows first, skipping held ones). Keep it well below deadlock_timeout, so that the batch, not the other transaction, gives way.",
							&steward_batch_lock_timeout_ms, 10, 0, 60000,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	/* Read by steward._run_batches (SQL), which sets synchronous_commit. */
	DefineCustomBoolVariable("steward.batch_synchronous_commit",
							 "Whether the batches of run_transition and of the backfills commit at the session's synchronous_commit.",
							 "off: each batch commits with synchronous_commit = off (a crash may undo batches other sessions saw committed); the job's last transaction commits with the session's setting, so everything is durable when the CALL returns.",
							 &gov_batch_synchronous_commit, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.batch_wal_compression",
							 "Whether the batches of run_transition, of the backfills and of the idempotency purge compress the full-page images they write to WAL.",
							 "on: in a session with wal_compression = off, each batch writes its full-page images compressed with " BATCH_WAL_COMPRESSION ", as wal_compression would; a session that compresses them already keeps its method.",
							 &gov_batch_wal_compression, true,
							 PGC_USERSET, 0, NULL, NULL, NULL);
}

/*
 * In a batch of run_transition, of a backfill or of the idempotency
 * purge, inside the GUC nest level its caller opened
 * (steward_as_role_begin(), rolled back by steward_as_owner_end()):
 * wal_compression = BATCH_WAL_COMPRESSION when
 * steward.batch_wal_compression is on and the session compresses
 * nothing.  No lock (a setting of this backend); raises nothing.  Why:
 * the first change of a page after a
 * checkpoint writes the whole page to WAL, and a batch changes every page
 * of its key range, so full-page images are a quarter of a backfill's
 * WAL (100k rows of the benchmark's orders after a checkpoint: 351 bytes
 * a row, 297 with lz4, 278 with zstd) -- WAL that the foreground's
 * commits flush in front of their own.  Set with the extension's
 * authority (wal_compression is superuser-only): it changes how this
 * statement's WAL is encoded, nothing any role can observe.
 */
void
steward_governor_pin_batch_wal_compression(void)
{
	const char *current;

	if (!gov_batch_wal_compression)
		return;
	current = GetConfigOption("wal_compression", false, false);
	if (current == NULL || strcmp(current, "off") != 0)
		return;
	(void) set_config_option("wal_compression", BATCH_WAL_COMPRESSION,
							 PGC_SUSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

/*
 * Linux schedules each session (setsid: every PostgreSQL backend, the
 * purge worker included, is the leader of its own) as one group when
 * autogroup is in effect (the kernel's default where the CPU controller of
 * cgroups is not used, as on a stock Debian server): a process's nice
 * value then ranks it only against the processes of its own session, and
 * a niced worker still got as much CPU as any foreground backend
 * (sched(7), "The autogroup feature").  What ranks the session against
 * the others is the autogroup's nice value, /proc/self/autogroup, which an
 * unprivileged process may raise (kernel/sched/autogroup.c,
 * proc_sched_autogroup_set_nice); the kernel takes one change every 100 ms
 * from unprivileged processes, machine-wide (EAGAIN otherwise).
 *
 * Client sessions running a job (run_transition, backfills) are not
 * lowered this way although they could get the value back: a lowered
 * session holds its batch's row locks and, when preempted, LWLocks (a WAL
 * insertion lock) that foreground sessions then wait for longer
 * (priority inversion, measured by codereview8 H2), and the machine-wide
 * rate limit, which any OS user can use up, could leave a session (a
 * pooled connection) lowered after its job.
 */
#define AUTOGROUP_FILE "/proc/self/autogroup"

/*
 * Raise this process's autogroup nice value to at least value, if this
 * process leads its session (the group is its own).  Returns false only
 * when the kernel's rate limit refused it (EAGAIN: try again later); any
 * other failure is logged once and counts as done.  No lock; raises
 * nothing.
 */
static bool
autogroup_lower(int value)
{
	char		buf[128];
	int			fd;
	ssize_t		n;
	char	   *p;
	int			len;

	if (getsid(0) != MyProcPid)
		return true;
	fd = open(AUTOGROUP_FILE, O_RDONLY);
	if (fd < 0)
		return true;			/* no autogroup in this kernel */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[Max(n, 0)] = '\0';
	/* "/autogroup-<id> nice <n>" */
	p = strstr(buf, " nice ");
	if (p != NULL && atoi(p + 6) >= value)
		return true;
	len = snprintf(buf, sizeof(buf), "%d", value);
	fd = open(AUTOGROUP_FILE, O_WRONLY);
	if (fd >= 0 && write(fd, buf, len) == len)
	{
		close(fd);
		return true;
	}
	if (fd >= 0)
	{
		int			save = errno;

		close(fd);
		errno = save;
	}
	if (errno == EAGAIN)
		return false;
	ereport(LOG,
			(errmsg("pg_steward could not lower the CPU priority of a background job: %m")));
	return true;
}

/*
 * A background worker that runs a job (the purge worker) gives way to the
 * foreground on the CPU: nice steward.governor_nice, both the process's
 * own value and its session's autogroup's (above).  Neither is given back:
 * the worker ends with its job.  Returns false when the kernel's rate
 * limit refused the autogroup's change (the caller tries again at its next
 * decision).  No lock; a failure is logged (LOG), never raised.
 */
bool
steward_governor_lower_priority(void)
{
	if (gov_nice <= 0)
		return true;
	if (setpriority(PRIO_PROCESS, 0, gov_nice) != 0)
		ereport(LOG,
				(errmsg("pg_steward could not lower the CPU priority of a background job: %m")));
	return autogroup_lower(gov_nice);
}

/*
 * The same, but only once one of job's decisions sees a foreground: with
 * nobody to protect, a niced job on a machine whose CPUs other programs
 * keep busy would get a small share of a CPU and not run at full speed.
 * The priority cannot be raised again: the caller is a process that ends
 * with its job (the purge worker's visit).  Backend-local (job is this
 * process's), no lock; raises nothing.
 */
void
steward_governor_lower_priority_on_foreground(StewardGovJob *job)
{
	if (job != NULL)
		job->nice_on_foreground = true;
}

/*
 * Whether jobs are paced now: steward.governor is on and the governor's
 * shared area exists (preloaded).  Without it a job runs at its own batch
 * size and rate limit, which is what docs/settings.md (steward.governor) promises when the library
 * is not preloaded.  No lock: a stale answer only delays one decision.
 * Raises nothing.
 */
bool
steward_governor_enabled(void)
{
	return gov_enabled && gov != NULL;
}

static void
current_settings(GovSettings *s)
{
	s->enabled = gov_enabled && gov != NULL;
	s->target = gov_target;
	s->critical = Max(gov_critical, gov_target);
	s->max_lag_ms = gov_max_lag_ms;
	s->min_calls = gov_min_calls;
	s->window_ms = gov_window_ms;
	s->interval_ms = gov_interval_ms;
	s->slow_start = gov_slow_start;
	s->lock_share = gov_lock_share;
	s->wait_ratio = gov_wait_ratio > 0 ? gov_wait_ratio : gov_target;
	s->cpu_floor_ms = gov_cpu_wait_floor_ms;
	s->job_p99 = gov_job_p99;
	s->keep_baseline = gov_keep_baseline;
	s->room_increase = gov_room_increase;
	s->wal_floor_ms = gov_wal_wait_floor_ms;
}

/*
 * Idle ticks a baseline needs: a window's worth (and at least
 * GOV_BASELINE_TICKS), so that the baseline's p99 is taken over as much
 * traffic as the window's it is compared with.  A p99 over fewer requests
 * lands lower, by chance, as often as not, and a job that started together
 * with its foreground (3 idle ticks against a 5-s window) read the
 * difference as its own doing: 8-10 decreases where a job with a longer
 * baseline made 1-3 (test/bench/governor/results-batch-forms.md).  Capped
 * by what the idle ring and the baseline's age limit can hold.
 */
static int
baseline_ticks(double window_ms, double interval_ms)
{
	int			want = (int) ceil(window_ms / Max(interval_ms, 1.0));
	int			most = Min(GOV_IDLE_RING / 2,
						   (int) (GOV_BASELINE_MAX_AGE_S * 1000.0 / Max(interval_ms, 1.0) / 2));

	return Max(GOV_BASELINE_TICKS, Min(want, most));
}

/*
 * Does the tick carry a foreground (the same test as for the newest tick
 * in read_signals: governor_min_calls statements or commits per window)?
 * Only such idle ticks are a baseline.  A tick with a handful of
 * statements (a maintenance session's VACUUM, a monitoring query) says
 * nothing about the latency of the traffic a job meets later: a job that
 * started with its foreground took a baseline of 0.25 ms from the few
 * statements of the minute before, met a foreground whose p99 was 0.45 ms
 * without it, and slowed down to the floor for minutes.
 */
static bool
tick_has_foreground(const GovTick *t)
{
	double		per_window = gov_window_ms / 1000.0 / Max(t->secs, 0.001);

	return t->calls * per_window >= gov_min_calls ||
		t->commits * per_window >= gov_min_calls;
}

static Size
steward_governor_shmem_size(void)
{
	return add_size(offsetof(GovShared, commits),
					mul_size(MaxBackends, sizeof(GovProcCommits)));
}

/*
 * shmem_request_hook: reserve the governor's area (the slots and tick ring,
 * plus one commit ring per backend, sized by MaxBackends) and its LWLock
 * tranche.  Only while preloading (plumbing/preload.c).  No lock; errors
 * are RequestAddinShmemSpace's (outside the request hook).
 */
void
steward_governor_request_shmem(void)
{
	steward_shmem_request(GOV_AREA, steward_governor_shmem_size(), true);
}

static void
governor_init_area(void *area, bool found, LWLock *lock)
{
	gov = (GovShared *) area;
	if (!found)
	{
		memset(gov, 0, steward_governor_shmem_size());
		gov->nprocs = MaxBackends;
		for (int p = 0; p < gov->nprocs; p++)
			for (int b = 0; b < GOV_CBUCKETS; b++)
				pg_atomic_init_u64(&gov->commits[p].count[b], 0);
		gov->lock = lock;
		gov->next_job_id = 1;
		for (int d = 0; d < GOV_NUM_DECISIONS; d++)
			for (int r = 0; r < GOV_NUM_REASONS; r++)
				pg_atomic_init_u64(&gov->decisions[d][r], 0);
		for (int i = 0; i < GOV_MAX_JOBS; i++)
		{
			SpinLockInit(&gov->slots[i].mutex);
			pg_atomic_init_u64(&gov->slots[i].lock_wait_samples, 0);
			pg_atomic_init_u64(&gov->slots[i].lock_waits_begun, 0);
			pg_atomic_init_u64(&gov->slots[i].busy_seen_at, 0);
			pg_atomic_init_u64(&gov->slots[i].run_samples, 0);
			pg_atomic_init_u64(&gov->slots[i].wait_samples, 0);
		}
		for (int i = 0; i < GOV_FINISHED; i++)
		{
			SpinLockInit(&gov->finished[i].mutex);
			pg_atomic_init_u64(&gov->finished[i].lock_wait_samples, 0);
			pg_atomic_init_u64(&gov->finished[i].lock_waits_begun, 0);
			pg_atomic_init_u64(&gov->finished[i].busy_seen_at, 0);
			pg_atomic_init_u64(&gov->finished[i].run_samples, 0);
			pg_atomic_init_u64(&gov->finished[i].wait_samples, 0);
		}
	}
}

/*
 * shmem_startup_hook: create or attach to the governor's area and register
 * its LWLock with stats/collect.c, so that a failure while collecting
 * statistics never leaves the lock held.  Errors are ShmemInitStruct's
 * (FATAL at start when shared memory is short).
 */
void
steward_governor_init_shmem(void)
{
	(void) steward_shmem_init(GOV_AREA, steward_governor_shmem_size(), true,
							  governor_init_area);
	steward_collect_register_lock(gov->lock);
}

/*
 * steward.reset(): the decision counters start again from zero.  Atomic
 * writes, no lock: a decision counted while it runs may survive it.
 * Raises nothing.
 */
void
steward_governor_reset(void)
{
	if (gov == NULL)
		return;
	for (int d = 0; d < GOV_NUM_DECISIONS; d++)
		for (int r = 0; r < GOV_NUM_REASONS; r++)
			pg_atomic_write_u64(&gov->decisions[d][r], 0);
}

static int
commit_bucket(double us)
{
	static double log_cgrowth = 0;
	int			b;

	if (!(us >= 1.0))
		return 0;
	if (log_cgrowth == 0)
		log_cgrowth = log(GOV_CGROWTH);
	b = 1 + (int) floor(log(us) / log_cgrowth);
	return Min(b, GOV_CBUCKETS - 1);
}

/*
 * The value in ms of the k-th (1-based) of the n transactions a commit
 * bucket holds: the bucket's n values are taken as spread evenly over it in
 * log scale, the k-th at the (k - 1/2)/n point, so a bucket of one
 * transaction gives its geometric midpoint.  Bucket 0 (under 1 us) and the
 * last one (everything longer) are read as one value each.
 *
 * Why not the midpoint for all: the buckets are 10% wide, so a p99 read as
 * the midpoint of its bucket moves in steps of 10%, and the ratio of two of
 * them (window over baseline) in steps of 10% too, e.g. 1.21 -> 1.33 around
 * the default target of 1.3: the governor's measure jumped past its target
 * while the clients' p99 moved by a few percent (gov11;
 * test/bench/governor/results-interp-gov11.md).  A window's p99 falls in
 * a bucket holding tens to hundreds of its transactions, and where its rank
 * lies among them says how far into the bucket the tail has moved.
 */
static double
commit_bucket_ms(int b, uint64 k, uint64 n)
{
	double		at;

	if (b == 0)
		return 0.0005;
	at = (b == GOV_CBUCKETS - 1 || n == 0) ? 0.5 : ((double) k - 0.5) / (double) n;
	return pow(GOV_CGROWTH, (b - 1) + at) / 1000.0;
}

/*
 * Percentile p (0..1) in ms of a transaction histogram holding n values:
 * the nearest rank's value, interpolated within its bucket
 * (commit_bucket_ms).  Pure computation: no lock, raises nothing.
 */
static double
commit_percentile_ms(const uint32 *hist, uint64 n, double p)
{
	int64		rank = Max((int64) ceil(p * n), 1);
	int64		seen = 0;

	if (n == 0)
		return 0;
	for (int b = 0; b < GOV_CBUCKETS; b++)
	{
		if (seen + hist[b] >= rank)
			return commit_bucket_ms(b, rank - seen, hist[b]);
		seen += hist[b];
	}
	return commit_bucket_ms(GOV_CBUCKETS - 1, 1, 1);
}

/*
 * statements.c: this session completed a top-level statement (its start
 * goes into the session's own ring, which read_signals subtracts from the
 * foreground).  Backend-local, no lock; raises nothing.
 */
void
steward_governor_own_statement(void)
{
	own_stmts[own_stmt_next] = GetCurrentStatementStartTimestamp();
	own_stmt_next = (own_stmt_next + 1) % GOV_OWN_RING;
}

static int
count_own(const TimestampTz *ring, TimestampTz from, TimestampTz to)
{
	int			n = 0;

	for (int i = 0; i < GOV_OWN_RING; i++)
		if (ring[i] > from && ring[i] <= to)
			n++;
	return n;
}

/* ------------------------------------------------------------------------
 * The decision
 * ------------------------------------------------------------------------
 */

static void
gov_init_state(GovState *st, int max_batch, int max_rate)
{
	memset(st, 0, sizeof(GovState));
	st->max_batch = Max(1, Min(max_batch, gov_max_batch));
	st->min_batch = Max(1, st->max_batch / 32);
	st->max_rate = Max(max_rate, 0);
	st->duty = st->resume_duty = GOV_START_DUTY;
	st->batch = st->resume_batch = st->max_batch;
	st->throttled_by = GOV_R_NONE;
	st->slow_start = true;
}

/*
 * The foreground's p99 over its baseline: the larger of the statements'
 * and the commits' ratios, each counted when both the window and the
 * baseline hold min_calls of them.  0: no usable comparison.
 */
static double
gov_ratio(const GovSignals *sig, int min_calls)
{
	double		ratio = 0;

	if (sig->calls >= min_calls && sig->base_calls >= min_calls && sig->base_p99_ms > 0)
		ratio = sig->p99_ms / sig->base_p99_ms;
	if (sig->commits >= min_calls && sig->base_commits >= min_calls && sig->base_commit_p99_ms > 0)
		ratio = Max(ratio, sig->commit_p99_ms / sig->base_commit_p99_ms);
	return ratio;
}

/*
 * The foreground's p99 since the job began over its baseline, as
 * gov_ratio: 0 (unknown) until the job's sums span GOV_JOB_MIN_WINDOWS
 * windows (before, they are as noisy as one window, and the window
 * decides alone), and for a simulated foreground (governor_simulate sets
 * the window's p99 only).  Pure.
 */
static double
gov_job_ratio(const GovSignals *sig, const GovSettings *set)
{
	double		ratio = 0;

	if (sig->simulated || sig->job_secs * 1000.0 < GOV_JOB_MIN_WINDOWS * set->window_ms)
		return 0;
	if (sig->job_calls >= set->min_calls && sig->base_calls >= set->min_calls &&
		sig->base_p99_ms > 0)
		ratio = sig->job_p99_ms / sig->base_p99_ms;
	if (sig->job_commits >= set->min_calls && sig->base_commits >= set->min_calls &&
		sig->base_commit_p99_ms > 0)
		ratio = Max(ratio, sig->job_commit_p99_ms / sig->base_commit_p99_ms);
	return ratio;
}

/*
 * Is the window's load within "factor" of the baseline's either way (an
 * unknown load, or a simulated foreground, counts as within)?  Pure.
 */
static bool
load_within(const GovSignals *sig, double factor)
{
	if (sig->simulated || sig->load_per_s <= 0 || sig->base_load_per_s <= 0)
		return true;
	return sig->load_per_s <= sig->base_load_per_s * factor &&
		sig->base_load_per_s <= sig->load_per_s * factor;
}

/*
 * Was the baseline measured under the load the job meets now?  Latency
 * depends on load, so a p99 taken at another rate of statements is no
 * measure of what the job adds (a job started together with its
 * foreground compared it with the idle ticks of other traffic a minute
 * before and slowed to the floor).  Within GOV_LOAD_FACTOR either way: a
 * closed-loop foreground slowed by the job keeps its baseline.
 */
static bool
baseline_matches_load(const GovSignals *sig)
{
	return load_within(sig, GOV_LOAD_FACTOR);
}

/*
 * May a baseline older than GOV_BASELINE_MAX_AGE_S still stand?  Only
 * while the foreground's load is the one it was measured under, within
 * GOV_KEEP_LOAD_BAND either way (an unknown load, or a simulated
 * foreground, counts as the same).  Re-measuring it in the middle of a
 * job is no better than keeping it: the idle ticks right after the job
 * worked still pay for its dirty buffers and WAL, so run_transition's
 * pause after a minute measured a transaction p99 of 0.48-0.69 ms against
 * the 0.28 ms of the same load before the job
 * (test/bench/governor/results-aba-gov14.md), a baseline more lenient
 * than the first for the rest of the job.  A changed load is what makes
 * an old baseline wrong; a foreground slower for other reasons is found
 * by the decreases that do not help (GOV_REBASE_AFTER).  Pure.
 */
static bool
baseline_load_steady(const GovSignals *sig)
{
	return load_within(sig, GOV_KEEP_LOAD_BAND);
}

/*
 * Multiplicative decrease of the job's share of time.  The batch shrinks
 * only where its size is what hurts (WAL bursts): a smaller batch at the
 * same rate means more commits, each a WAL flush the foreground's commits
 * queue behind, and measured here that hurt the foreground's p99 more
 * than the batch it replaced (test/bench/governor/results-pace.md).
 */
static void
decrease(GovState *st, double factor, bool batch_too)
{
	st->slow_start = false;
	st->duty = Max(GOV_MIN_DUTY, st->duty * factor);
	if (batch_too)
		st->batch = Max(st->min_batch, st->batch / 2);
}

/*
 * The p99 ratio above which slow start ends: half the room below the
 * target used (see next_duty).
 */
static double
hystart_threshold(const GovSettings *set)
{
	return 1.0 + (set->target - 1.0) / 2;
}

/*
 * What an increase past slow start adds to the duty: GOV_DUTY_STEP, or
 * (steward.governor_room_increase) half the duty when at least that much,
 * while the window's p99 ratio and the job's run so far (0: not known
 * yet) are both at or under hystart_threshold: half the room below the
 * target unused.  After a decrease the job climbs back geometrically
 * while the foreground shows it room, as CUBIC does far from the pace of
 * its last loss (RFC 8312, 4.1), and HyStart++ resumes slow start after a
 * spurious exit (RFC 9406, 4.3): a job that slow start left at a tenth
 * and a few noisy windows took down to 2% climbed back at a twentieth per
 * 5-s window, so a backfill spent most of its run at 6-30% of the time
 * with the foreground's p99 at 0.9-1.2x of its baseline
 * (test/bench/governor/results-aba-gov16.md, run 1).  Near the target the step
 * stays a twentieth, and an increase that takes the window over the
 * target is undone at once (gov_slow_down).  Pure.
 */
static double
room_step(const GovState *st, const GovSettings *set, double ratio, double job_ratio)
{
	double		room = hystart_threshold(set);

	if (set->room_increase && ratio > 0 && ratio <= room && job_ratio <= room)
		return Max(GOV_DUTY_STEP, st->duty / 2);
	return GOV_DUTY_STEP;
}

/*
 * The duty after an increase.  A job starts in slow start (RFC 5681,
 * 3.1): it doubles its share of time each window, from a tenth to all of
 * it in four windows, where adding a twentieth per window took the whole
 * of a 30-s job to reach a quarter (test/bench/governor, run_transition
 * at a p99 ratio of 0.95 and 12.7k rows/s).  Slow start ends for good at
 * the first decrease or pause for cause (decrease(), and the halving for
 * lock waits), and, before any, once the window's p99 ratio has used half
 * the room below the target at any tick (gov_decide)
 * (HyStart's delay-based exit, Ha and Rhee 2011: leave slow start when
 * the delay grows, before the loss that would otherwise end it): from
 * there on the job adds GOV_DUTY_STEP per window, or, while the window's
 * p99 ratio and the job's run so far (job_ratio; 0: not known yet, the
 * window alone) both leave half the room below the target unused
 * (steward.governor_room_increase), half its duty (room_step).  Without a
 * latency signal (ratio 0: no baseline yet) it only adds GOV_DUTY_STEP.
 */
static double
next_duty(GovState *st, const GovSettings *set, double ratio, double job_ratio)
{
	if (st->slow_start && set->slow_start && ratio > 0 &&
		ratio <= hystart_threshold(set))
		return Min(1.0, st->duty * 2);
	if (ratio > 0)
		st->slow_start = false;
	return Min(1.0, st->duty + room_step(st, set, ratio, job_ratio));
}

/*
 * Has the window passed since the last change of pace?  Until it has, the
 * window still holds samples of the previous pace and says nothing about
 * the current one (one change per window, as TCP changes its window once
 * per round trip).
 */
static bool
window_settled(const GovState *st, const GovSettings *set, TimestampTz now)
{
	return st->last_change == 0 || (now - st->last_change) / 1000.0 >= set->window_ms;
}

/*
 * Hold the pace, saying why: what is over the target (it then throttles
 * the job), or, with nothing over it, none or no_baseline (a foreground
 * but no baseline to judge its latency by, after the probe's limit).
 */
static void
hold(GovState *st, GovReason reason)
{
	st->decision = GOV_D_HOLD;
	st->reason = reason;
	if (reason != GOV_R_NONE && reason != GOV_R_NO_BASELINE)
		st->throttled_by = reason;
	st->counts[GOV_D_HOLD]++;
}

/*
 * What one decision reads from the signals, worked out before anything
 * else is decided (gov_view).
 */
typedef struct GovView
{
	double		ratio;			/* foreground p99 over its baseline; 0: none */
	double		job_ratio;		/* the same since the job began; 0: unknown */
	bool		fg;				/* is there foreground load to protect? */
	bool		have_base;		/* a baseline this decision may rely on */
	bool		latency_known;	/* fg and have_base: the ratio means something */
} GovView;

/*
 * Reads the signals into *v, and ends a rebasing or slow start the signals
 * call for.  Both are judged at every tick, before the decision proper and
 * whether or not the governor is enabled, so that a job switched on again
 * starts from what it has seen meanwhile.
 */
static void
gov_view(GovState *st, const GovSignals *sig, const GovSettings *set, GovView *v)
{
	int			need = baseline_ticks(set->window_ms, set->interval_ms);
	bool		measuring = st->paused && st->reason == GOV_R_BASELINE;

	v->ratio = gov_ratio(sig, set->min_calls);
	v->job_ratio = gov_job_ratio(sig, set);
	v->fg = sig->recent_calls >= set->min_calls || sig->recent_commits >= set->min_calls;

	/*
	 * A baseline is a window's worth of idle ticks younger than
	 * GOV_BASELINE_MAX_AGE_S, or, too few of them, older ones (up to
	 * GOV_BASELINE_KEEP_S) while the load is the one they were measured
	 * under (baseline_load_steady): a job that worked for a minute no
	 * longer pauses to re-measure a baseline its own work inflates.
	 * A job that pauses to measure a baseline goes on only with a baseline
	 * that will last: a window's worth of ticks from the last half minute.
	 * Resuming as soon as one new idle tick made up the number spread the
	 * idle ticks out, and each one that aged out later stopped the job
	 * again for the three ticks one more idle tick takes (its own tick and
	 * the next are never idle): a pause every few seconds.
	 */
	v->have_base = v->ratio > 0 && baseline_matches_load(sig) &&
		(measuring ? sig->base_ticks_recent >= need :
		 sig->base_ticks_fresh >= need ||
		 (set->keep_baseline && sig->base_ticks >= need && baseline_load_steady(sig)));

	/*
	 * A baseline called into question (see the decreases in gov_slow_down)
	 * is measured again, from ticks after that moment only (read_signals()
	 * was given rebase_since and counts no older ones, also afterwards: the
	 * old ticks would pull the new baseline back to what was in question).
	 */
	if (st->rebasing)
	{
		if (v->have_base || !v->fg)
			st->rebasing = false;
		else
			v->have_base = false;
	}
	v->latency_known = v->fg && v->have_base;

	/*
	 * HyStart's exit is judged at every tick, not only when a window has
	 * settled: a foreground hurt for a few ticks in the middle of a window
	 * (the job held there, then doubled at the window's end once the
	 * ratio had come back) ended slow start later than one hurt mildly
	 * for the whole window (review13 R13-7).
	 */
	if (v->latency_known && v->ratio > hystart_threshold(set))
		st->slow_start = false;
}

/*
 * Step 1 of a decision: pause entirely when replication lag is critical,
 * when a baseline must be measured, or when the foreground's p99 is past
 * the critical ratio.  Returns true if it paused (the decision is made).
 */
static bool
gov_pause(GovState *st, const GovSignals *sig, const GovSettings *set,
		  const GovView *v, TimestampTz now)
{
	double		probe_limit_ms = Max(GOV_PROBE_MIN_S * 1000.0, 3 * set->window_ms);
	GovReason	over = GOV_R_NONE;

	if (set->max_lag_ms > 0 && sig->lag_ms >= set->max_lag_ms)
		over = GOV_R_LAG_CRITICAL;
	else if (v->fg && sig->quiet)
		over = GOV_R_BASELINE;	/* the cluster-wide measuring pause (ask_quiet) */
	else if (v->fg && !v->have_base)
	{
		/*
		 * Foreground load but no idle baseline (none yet, or only older
		 * than GOV_BASELINE_MAX_AGE_S): stop for a few ticks to measure
		 * one.  If none comes (another job keeps working), go on without a
		 * latency signal rather than starve.
		 */
		if (st->probe_started == 0)
			st->probe_started = now;
		if ((now - st->probe_started) / 1000.0 < probe_limit_ms)
			over = GOV_R_BASELINE;
	}
	else if (v->latency_known && v->ratio >= set->critical)
		over = GOV_R_P99_CRITICAL;
	if (over == GOV_R_NONE)
		return false;

	/* Come back at half the pace (once per pause). */
	if (!st->paused && over != GOV_R_BASELINE)
		decrease(st, 0.5, false);
	st->paused = true;
	st->increased = false;
	st->last_change = now;
	st->decision = GOV_D_PAUSE;
	st->reason = st->throttled_by = over;
	st->counts[GOV_D_PAUSE]++;
	return true;
}

/*
 * Do the waits for the job's locks begun since its last decision reach
 * the foreground's p99?  A wait for a row of a batch costs its
 * transaction up to the batch's length (40-80 ms for 10000 rows, against
 * a p99 below 1 ms), but the p99 moves only when more than 1% of the
 * transactions are slower than it: waits of share s push it to the
 * baseline's (99 + 100 s)th percentile.  So the waits count against the
 * foreground's rate (transactions, or statements when fewer: one wait
 * delays one of each): more than steward.governor_lock_wait_share of it
 * (0.5%: at most up to the baseline's p99.5) halves the batch; 0, any
 * wait does.  A wait with no foreground measured counts too.  Measured
 * before (gov3, results-governed-10k-gov3.md): one session waiting for a
 * row of a batch halved it, one or two a second among ~2000
 * transactions, so batches of 10000 ran at a median of 731 rows, which
 * costs the foreground about twice as much per row/s.  Pure.
 */
static bool
lock_waits_move_p99(const GovSignals *sig, const GovSettings *set)
{
	double		fg = sig->calls;
	double		per_s;

	if (sig->lock_waits == 0)
		return false;
	if (sig->commits > 0 && sig->commits < fg)
		fg = sig->commits;
	per_s = sig->window_s > 0 ? fg / sig->window_s : 0;
	return sig->lock_waits >
		set->lock_share * per_s * Max(sig->lock_ticks, 1) * set->interval_ms / 1000.0;
}

/*
 * Has a foreground wait per statement (ms; < 0 unknown) grown past its
 * baseline times steward.governor_wait_ratio (the target unless set), and
 * by more than margin_ms?  A baseline under floor_ms counts as the floor:
 * where nothing waited while no job ran the baseline is 0, any multiple
 * of it is 0, and the margin alone decided.  Pure; false when either wait
 * is unknown.
 */
static bool
wait_over(double wait, double base, double floor_ms, double margin_ms,
		  const GovSettings *set)
{
	if (wait < 0 || base < 0)
		return false;
	base = Max(base, floor_ms);
	return wait > base * set->wait_ratio && wait - base > margin_ms;
}

/*
 * Has the foreground's run-queue wait per statement grown past its
 * baseline (wait_over, floor steward.governor_cpu_wait_floor)?  On a
 * machine whose CPUs were never all busy the baseline is 0, and until
 * gov13 any wait over 0.03 ms a statement (3% of a 1-ms p99) slowed the
 * job down.  Pure.
 */
static bool
cpu_waits_over(const GovSignals *sig, const GovSettings *set)
{
	return wait_over(sig->cpu, sig->base_cpu, set->cpu_floor_ms, GOV_CPU_MIN_MS, set);
}

/*
 * Has the foreground's WAL wait per statement grown past its baseline
 * (wait_over, floor steward.governor_wal_wait_floor)?  Until gov14 a
 * baseline of 0 (no sampled statement waited for WAL while no job ran)
 * made any wait 0.05 ms a statement a decrease that halved the batch too,
 * however small against the foreground's latency.  Pure.
 */
static bool
wal_waits_over(const GovSignals *sig, const GovSettings *set)
{
	return wait_over(sig->wal_ms, sig->base_wal_ms, set->wal_floor_ms, GOV_WAL_MIN_MS, set);
}

/*
 * The window's p99 ratio above which a job slows down even while its run
 * so far leaves room under the target: half way from the target to the
 * critical ratio (2.15 at the defaults).
 */
static double
window_ceiling(const GovSettings *set)
{
	return set->target + (set->critical - set->target) / 2;
}

/*
 * Does the p99 slow the job down?  The window's ratio over the target,
 * and (steward.governor_job_p99, once the job's run so far is known) the
 * ratio since the job began over it too, or the window's over
 * window_ceiling.  What a user of a job sees is the foreground's p99
 * over the job's whole run, and a rule that slowed down for every window
 * over the target held each near 1.3 while whole runs of run_transition
 * landed anywhere in 0.96-1.47, half of them slowed by 5-7 decreases to
 * 16-17k rows/s (test/bench/governor/results-aba-gov13.md): the quiet
 * windows' room went unused.  A window over the target with room left
 * holds the pace (gov_slow_down), it does not add to it.  Pure.
 */
static bool
p99_over(const GovView *v, const GovSettings *set)
{
	if (!v->latency_known || v->ratio <= set->target)
		return false;
	if (!set->job_p99 || v->job_ratio <= 0)
		return true;
	return v->job_ratio > set->target || v->ratio > window_ceiling(set);
}

/*
 * Step 2 of a decision: slow down when lag, p99, WAL or CPU time is over
 * its target (once per window), or halve the batch when enough sessions
 * wait for the job's row locks to move the foreground's p99.  Returns
 * true if it decided (slowed down or held).
 */
static bool
gov_slow_down(GovState *st, const GovSignals *sig, const GovSettings *set,
			  const GovView *v, TimestampTz now)
{
	GovReason	over = GOV_R_NONE;

	if (set->max_lag_ms > 0 && sig->lag_ms >= set->max_lag_ms / 2)
		over = GOV_R_LAG;
	else if (p99_over(v, set))
		over = GOV_R_P99;
	else if (v->latency_known && wal_waits_over(sig, set))
		over = GOV_R_WAL;
	else if (v->latency_known && cpu_waits_over(sig, set))
		over = GOV_R_CPU;
	if (over != GOV_R_NONE)
	{
		bool		at_floor = st->duty <= GOV_MIN_DUTY;

		if (!window_settled(st, set, now))
		{
			/*
			 * Over the target within a window of an increase: the job
			 * increased because the window was under the target, and it
			 * still holds mostly ticks of the slower pace, so the new pace
			 * is what went over.  Back to the pace before it at once (a
			 * window of an overshoot is what the foreground's p99 is made
			 * of: with JOB_DEBUG the backfill of 1M rows held through most
			 * of its overshoots, test/bench/governor/results-*-gov1.md).
			 * Anything else over the target within a window of a change
			 * waits for a window of the new pace.
			 */
			if (st->increased && over != GOV_R_LAG)
			{
				st->slow_start = false;
				st->increased = false;
				st->duty = st->duty_before;
				st->batch = st->batch_before;
				st->last_change = now;
				st->decision = GOV_D_DECREASE;
				st->reason = st->throttled_by = over;
				st->counts[GOV_D_DECREASE]++;
				return true;
			}
			hold(st, over);
			return true;
		}

		/*
		 * A window after a decrease the foreground is still over the
		 * target: halve, not x0.7 (sustained overshoot; one noisy window
		 * still costs the job only 30%).
		 */
		decrease(st, st->decreases_in_row > 0 && over != GOV_R_LAG ?
				 GOV_DECREASE_AGAIN : GOV_DECREASE, over == GOV_R_WAL);
		st->increased = false;

		/*
		 * Decreases that do not bring the foreground back may not be the
		 * job's doing: other programs, a change in the foreground's own
		 * work.  After GOV_REBASE_AFTER in a row (the job down to about a
		 * sixth of its pace: x0.7, x0.5, x0.5) it pauses to measure the baseline afresh: if the
		 * job was the cause, the new baseline is as low as the old and it
		 * goes on slowing down; if not, the slower foreground is the new
		 * normal.  Without this a job on a machine where other work
		 * started sank to the floor and stayed there (the governor
		 * benchmark with builds running beside it: commit p99 2.6 ms
		 * against 1.6 ms through four decreases down to 2% of the time).
		 * At the floor a decrease changes nothing and is not counted: a
		 * job the foreground keeps there goes on at 2% without stopping
		 * to measure again and again.
		 */
		if (over != GOV_R_LAG && !at_floor && ++st->decreases_in_row >= GOV_REBASE_AFTER)
		{
			st->decreases_in_row = 0;
			st->rebase_since = now;
			st->rebasing = true;
		}
		st->last_change = now;
		st->decision = GOV_D_DECREASE;
		st->reason = st->throttled_by = over;
		st->counts[GOV_D_DECREASE]++;
		return true;
	}
	if (lock_waits_move_p99(sig, set))
	{
		/*
		 * Enough sessions wait for rows the job holds to reach the
		 * foreground's tail: shorter batches hold them shorter.  A
		 * slowdown like any other: slow start ends here too.
		 */
		st->slow_start = false;
		st->increased = false;
		st->batch = Max(st->min_batch, st->batch / 2);
		st->decision = GOV_D_DECREASE;
		st->reason = st->throttled_by = GOV_R_LOCK_WAITS;
		st->counts[GOV_D_DECREASE]++;
		return true;
	}
	if (v->latency_known && v->ratio > set->target)
	{
		/*
		 * The window over the target, the job's run so far not (p99_over):
		 * hold the pace, adding to it only when a window is back under.
		 */
		hold(st, GOV_R_P99);
		return true;
	}
	return false;
}

/*
 * Step 3 of a decision, nothing to protect from: full speed without a
 * foreground, else hold or increase (once per window).
 */
static void
gov_speed_up(GovState *st, const GovSettings *set, const GovView *v, TimestampTz now)
{
	/*
	 * Going on without a latency signal says so in every decision, holds
	 * too: until 2026-12-01 a job past the probe's limit held with reason
	 * none for most of each window, as if its foreground's latency had
	 * been judged and found fine (TAP 108).
	 */
	GovReason	unjudged = v->latency_known ? GOV_R_NONE : GOV_R_NO_BASELINE;

	/*
	 * No foreground: full speed, remembering the pace the foreground
	 * allowed.  When the foreground comes back (clients pause, sessions
	 * come and go), the job resumes at that pace rather than probing down
	 * from full speed while the foreground pays for it.
	 */
	if (!v->fg)
	{
		if (st->decision != GOV_D_FULL && (st->duty < 1.0 || st->batch < st->max_batch))
		{
			st->resume_duty = st->duty;
			st->resume_batch = st->batch;
		}
		st->duty = 1.0;
		st->batch = st->max_batch;
		st->increased = false;
		st->decision = GOV_D_FULL;
		st->reason = GOV_R_NO_FOREGROUND;
		st->throttled_by = GOV_R_NONE;
		st->counts[GOV_D_FULL]++;
		return;
	}
	if (st->decision == GOV_D_FULL && st->reason == GOV_R_NO_FOREGROUND)
	{
		/*
		 * The foreground is back (or came after the job started): hold at
		 * the pace restored in gov_decide, for a window of its own.
		 */
		st->last_change = now;
		hold(st, unjudged);
		return;
	}
	if (st->last_change == 0)
		st->last_change = now;	/* the start pace, judged over a window too */
	if (!window_settled(st, set, now))
	{
		hold(st, unjudged);
		return;
	}
	st->duty_before = st->duty;
	st->batch_before = st->batch;
	st->increased = true;
	st->duty = next_duty(st, set, v->latency_known ? v->ratio : 0, v->job_ratio);
	st->batch = Min(st->max_batch, st->batch + Max(1, st->max_batch / 10));
	st->decreases_in_row = 0;
	st->last_change = now;
	st->decision = GOV_D_INCREASE;
	st->reason = unjudged;
	if (st->duty >= 1.0 && st->batch >= st->max_batch)
		st->throttled_by = GOV_R_NONE;
	st->counts[GOV_D_INCREASE]++;
}

/*
 * One decision, made when a new tick has arrived (so each rests on new
 * measurements).  Order: what pauses (gov_pause), then what slows down
 * (gov_slow_down), then full speed or additive increase (gov_speed_up):
 * the first step that decides ends it.
 */
static void
gov_decide(GovState *st, const GovSignals *sig, const GovSettings *set, TimestampTz now)
{
	GovView		v;

	gov_view(st, sig, set, &v);

	if (!set->enabled)
	{
		st->paused = false;
		st->duty = 1.0;
		st->batch = st->max_batch;
		st->decision = GOV_D_FULL;
		st->reason = GOV_R_DISABLED;
		st->throttled_by = GOV_R_NONE;
		st->counts[GOV_D_FULL]++;
		return;
	}

	if (v.have_base || !v.fg)
		st->probe_started = 0;

	/*
	 * The foreground is back after full speed: the pace it allowed before
	 * comes back first, whatever is decided next.  The first decision under
	 * a returning foreground is often a pause to measure a baseline; a job
	 * that left that pause still at full speed held there for a window
	 * (one change per window) while an open-loop foreground's clients
	 * queued up: p99 66x (test/bench/governor/results-open-loop.md).
	 */
	if (v.fg && st->decision == GOV_D_FULL && st->reason == GOV_R_NO_FOREGROUND)
	{
		st->duty = st->resume_duty;
		st->batch = st->resume_batch;
	}

	if (gov_pause(st, sig, set, &v, now))
		return;
	st->paused = false;
	if (gov_slow_down(st, sig, set, &v, now))
		return;
	gov_speed_up(st, set, &v, now);
}

/*
 * The pause after a batch that did "rows" rows in work_ms: the rest of the
 * duty cycle, or longer if max_rows_per_sec asks for it (*capped then).
 */
static double
gov_pause_ms(const GovState *st, int64 rows, double work_ms, bool *capped)
{
	double		pause = work_ms * (1.0 - st->duty) / st->duty;

	*capped = false;
	if (st->max_rate > 0 && rows > 0)
	{
		double		cap = rows * 1000.0 / st->max_rate - work_ms;

		if (cap > pause)
		{
			pause = cap;
			*capped = true;
		}
	}
	return Max(pause, 0);
}

/* ------------------------------------------------------------------------
 * Measurements: the sampler's side
 * ------------------------------------------------------------------------
 */

/*
 * How long the work of a batch counts (measure_job_work, and its lock
 * waits: job_lock_holder_counts): max(steward.governor_window, counts_ms),
 * counts_ms being twice the job's longest batch before this one, 0 for a
 * first batch; at most GOV_BATCH_COUNTS_MAX_S (or the window when that is
 * longer).  Being handed a batch from governor_pace is what a role's job
 * must keep doing to be paced: one that took one batch and then spent 5%
 * of a CPU (or 2% of each tick, 20 ms a second) for as long as it liked
 * kept every tick of the cluster from being idle, so no job of any role
 * measured a baseline (TAP 108).  A first batch has no history to say how
 * long a real one lasts (its rows say nothing of time), so it counts for
 * a window; one that lasts longer makes its job measure its baseline
 * afresh from its end (steward_governor_pace), so that the job's own
 * decisions never rest on the ticks it overran.  The later ones count
 * for twice the longest so far: a job whose batches all last longer than
 * a window is busy in every tick from its second batch on.  But not
 * without end: twice the longest before let each batch double the last,
 * and after ten batches of a job starting at 5 s one batch counted for
 * 85 minutes, through which no tick was idle and the job never met the
 * measuring pause that gives every job a fresh baseline (gov9's "the limit
 * can double each batch"; TAP 113).  A baseline older than
 * GOV_BASELINE_MAX_AGE_S is no baseline anyway, so a job must come back
 * to governor_pace once in that time, as any job that works for a minute
 * pauses to measure.  The sampler's own window (the server's setting) is
 * the bar.  Pure.
 */
static double
batch_counts_limit_ms(double counts_ms)
{
	return Max((double) gov_window_ms,
			   Min(counts_ms, GOV_BATCH_COUNTS_MAX_S * 1000.0));
}

/*
 * Has the batch handed out at "handed", whose work counts for
 * batch_counts_limit_ms(counts_ms), overrun that time at "at" (the start
 * of a tick: a tick that began before the limit counts whole)?  Pure.
 */
static bool
batch_overran(TimestampTz handed, double counts_ms, TimestampTz at)
{
	if (handed == 0 || at == 0)
		return false;
	return (at - handed) / 1000.0 >= batch_counts_limit_ms(counts_ms);
}

/*
 * Is a job's lock wait part of its work?  Waits for the locks a batch of
 * row writes takes (its table, the relation's extension, a page, a tuple,
 * a row's writer, a speculative insertion) are, while younger than one
 * steward.governor_window: the foreground holds such locks for a
 * transaction, and a job waiting on it is a job at work.  Advisory,
 * object and user locks are not a batch's, nor is a wait older than a
 * window: a role holding a lock its own job waits for (any role may
 * register a job) would otherwise keep the cluster's ticks from ever
 * being idle (recheck9 of review9 F15).  Nor is a wait for a session of
 * the job's own role or for a process without a role, or one in a batch
 * whose work no longer counts (job_lock_holder_counts: review24 V1).  The lock tag's type is in
 * the wait event; PGPROC.waitStart (PostgreSQL 14+, pg_locks.waitstart)
 * is set by ProcSleep before the process reports its lock wait event and
 * zeroed by ProcWakeup when the lock is granted, so a 0 read here is a
 * wait that just ended, counted as young.
 */
static bool
job_lock_wait_counts(PGPROC *proc, uint32 info, TimestampTz now)
{
	TimestampTz start;

	switch ((LockTagType) (info & 0xFFFF))
	{
		case LOCKTAG_RELATION:
		case LOCKTAG_RELATION_EXTEND:
		case LOCKTAG_PAGE:
		case LOCKTAG_TUPLE:
		case LOCKTAG_TRANSACTION:
		case LOCKTAG_SPECULATIVE_TOKEN:
			break;
		default:
			return false;
	}
	start = (TimestampTz) pg_atomic_read_u64(&proc->waitStart);
	return start == 0 ||
		!TimestampDifferenceExceeds(start, now, gov_window_ms);
}

/*
 * Is the wait of a working job's process (waiter) for blocker_pid, its
 * first blocker (pg_blocking_pids), part of its work by whom it waits
 * for and when its batch began?  Only when the blocker is a session of
 * another role than the job's (its session user, PGPROC.roleId, and the
 * role that began it) and the batch's work still counts
 * (batch_overran: a window for a first batch, twice the longest before
 * for the others, at most GOV_BATCH_COUNTS_MAX_S; until 2026-12-01 a
 * window for every batch, so a job whose batches all last longer had
 * its CPU time counted and its lock waits not).  A process without a
 * role (PGPROC.roleId InvalidOid: autovacuum, a background worker that
 * connected as no user) is no other role's session: the job's role starts
 * autovacuum on its own table when it likes (its storage parameters, its
 * own updates), and a job kept waiting for it, again and again under a
 * lock_timeout, was counted busy as if the foreground held the lock
 * (codereview12 Q4; TAP 114).  Waits for its own role's sessions are not: a plain role's job
 * that took one batch and then waited for a row its own role holds in
 * another session, again and again under a lock_timeout shorter than the
 * window (each wait young), was busy in every tick at no cost, and next
 * to 200 statements a second baseline_calls stayed 0 (review24 V1; TAP
 * 102).  Nor are waits in a batch whose work no longer counts: a role that logs
 * in as two roles could hold the row as the other, but then has to take
 * a batch from governor_pace at least that often, and so is paced (a
 * job that is told to pause is not working, and one with no baseline
 * pauses to measure one).  A blocker not found (0: the wait just ended,
 * or a prepared transaction holds the lock) does not count.  Unlocked
 * reads of the slot's fields, as steward_governor_round_begin's; takes
 * ProcArrayLock shared (BackendPidGetProc), after the sampler's lock as
 * count_lock_wait does.
 */
static bool
job_lock_holder_counts(const GovSlot *slot, PGPROC *waiter, int blocker_pid,
					   TimestampTz now)
{
	PGPROC	   *holder;

	if (blocker_pid == 0 || batch_overran(slot->work_started, slot->batch_counts_ms, now))
		return false;
	holder = BackendPidGetProc(blocker_pid);
	return holder != NULL && OidIsValid(holder->roleId) &&
		holder->roleId != waiter->roleId && holder->roleId != slot->userid;
}

/*
 * Is the process of a job that says it works doing something: running,
 * or waiting for I/O, a buffer or another process — not for its client,
 * a timer or an extension's latch?  A lock wait is judged later in the
 * round, where its blocker is known (steward_governor_blocked_by): false
 * here.  *on_cpu: running (no wait event).  Each such sample is a sample
 * of the job's busy time in the tick (measure_job_work): any role may
 * register a job through the SQL API, and a job held "working" by a
 * governor_pace() that is never followed by work kept every tick of the
 * cluster from being idle, and so every job from measuring a baseline
 * (review9 F15).  Unlocked read of the process's wait event, as
 * pg_stat_activity's.
 */
static bool
job_process_busy(const GovSlot *slot, bool *on_cpu)
{
	PGPROC	   *proc;
	uint32		info;

	*on_cpu = false;
	if (slot->pgprocno < 0 || slot->pgprocno >= (int) ProcGlobal->allProcCount)
		return false;
	proc = &ProcGlobal->allProcs[slot->pgprocno];
	if (proc->pid != slot->pid)
		return false;
	info = *((volatile uint32 *) &proc->wait_event_info);
	*on_cpu = info == 0;
	if (info == 0)
		return true;
	switch (info & 0xFF000000)
	{
		case PG_WAIT_CLIENT:
			return info != WAIT_EVENT_CLIENT_READ;
		case PG_WAIT_LOCK:
			return false;
		case PG_WAIT_TIMEOUT:
		case PG_WAIT_EXTENSION:
		case PG_WAIT_ACTIVITY:
			return false;
		default:
			return true;
	}
}

/*
 * Wait sampler, before each round of steward_governor_sample() calls:
 * remember the pids of the running jobs, so that their own waits are not
 * counted as the foreground's.  Reads the slots without the lock (a job
 * starting meanwhile counts as foreground for one round at worst, which
 * only makes the governor more careful).  Memory: static arrays.  Raises
 * nothing.
 */
void
steward_governor_round_begin(void)
{
	TimestampTz now = GetCurrentTimestamp();

	round_prev_at = round_at;
	round_at = now;
	round_npids = 0;
	if (gov == NULL)
		return;
	/* Unlocked reads: at worst a job's own samples count as foreground once. */
	for (int i = 0; i < GOV_MAX_JOBS; i++)
	{
		GovSlot    *slot = &gov->slots[i];
		bool		on_cpu;

		if (!slot->in_use)
			continue;
		round_pids[round_npids++] = slot->pid;
		if (slot->state == GOV_S_WORKING && job_process_busy(slot, &on_cpu))
			pg_atomic_fetch_add_u64(on_cpu ? &slot->run_samples : &slot->wait_samples, 1);
	}
}

static bool
is_wal_wait(uint32 info)
{
	switch (info & 0xFF000000)
	{
		case PG_WAIT_IO:
			return info == WAIT_EVENT_WAL_SYNC || info == WAIT_EVENT_WAL_WRITE ||
				info == WAIT_EVENT_WAL_INIT_SYNC || info == WAIT_EVENT_WAL_INIT_WRITE;
		case PG_WAIT_LWLOCK:
			return info == (PG_WAIT_LWLOCK | WALWriteLock->tranche) ||
				info == (PG_WAIT_LWLOCK | LWTRANCHE_WAL_INSERT);
		case PG_WAIT_IPC:
			return info == WAIT_EVENT_SYNC_REP;
		default:
			return false;
	}
}

/*
 * Is the sampled process part of the foreground the governor protects: a
 * client backend, not an auxiliary process, a background worker,
 * autovacuum or a governed job's session (round_pids, this round's)?  The
 * same backends whose statements and commits make the foreground's
 * latency and rate.  Unlocked reads, as the sampler's; pure otherwise.
 */
static bool
is_foreground_proc(PGPROC *proc)
{
	if (proc - ProcGlobal->allProcs >= MaxBackends || proc->isBackgroundWorker ||
		(proc->statusFlags & PROC_IS_AUTOVACUUM))
		return false;
	for (int i = 0; i < round_npids; i++)
		if (round_pids[i] == proc->pid)
			return false;
	return true;
}

/*
 * One sampled process with a wait event: count it if it is a foreground
 * backend (is_foreground_proc) waiting on WAL.  Wait sampler only: the
 * count is its own (the next tick takes it), no lock; raises nothing.
 */
void
steward_governor_sample(PGPROC *proc, uint32 info)
{
	if (gov == NULL || !is_wal_wait(info) || !is_foreground_proc(proc))
		return;
	acc_wal_samples++;
}

/*
 * A sampled session (waiter) waits for a lock held by blocker_pid: when
 * the waiter is of the foreground (is_foreground_proc), one
 * lock-wait sample for each listed job of that process, and one wait
 * begun when the wait started (PGPROC.waitStart) between the previous
 * round's beginning and this one's: each wait is counted by the first
 * round that begins after it started, once however long it lasts, and a
 * wait shorter than a round in the share of them a round meets.  Not
 * "since the previous round began" alone: round_at is stamped before the
 * round samples each process, so a wait starting in between was counted
 * by this round and again by the next (codereview41 K4).  A waitStart of 0
 * (PostgreSQL 15's ProcSleep sets it before the process reports its lock
 * wait event, and ProcWakeup zeroes the woken waiter's: a wait that just
 * ended) places the wait in no round and is not counted.  (The startup
 * process of a hot standby never sets it, but it is not in the proc
 * array, so pg_blocking_pids finds no blocker for it and it never reaches
 * here: codereview12 Q3.)  Waiters that are not of the foreground (an
 * autovacuum worker, a background worker, another governed job's session)
 * are no victims: the lock-wait rule weighs the waits begun against the
 * foreground's transactions, which only client backends count, and until
 * 2026-12-01 an anti-wraparound autovacuum (the one kind that waits for a
 * locked table rather than skip it) or a second job waiting for the job's
 * row locks halved its batch as if a client did (codereview12 Q4; TAP
 * 114).  When the waiter is a
 * working job's process, the sample is one of its busy time if the wait
 * is part of its work (job_lock_wait_counts, job_lock_holder_counts).
 * Reads the slots without the governor's lock and adds with an atomic: a
 * slot its job leaves meanwhile loses the sample, nothing worse.  Raises
 * nothing.
 */
void
steward_governor_blocked_by(PGPROC *waiter, int blocker_pid)
{
	TimestampTz since;
	bool		begun;
	bool		victim;
	uint32		info;

	if (gov == NULL || blocker_pid == 0)
		return;
	since = (TimestampTz) pg_atomic_read_u64(&waiter->waitStart);
	begun = since != 0 && since >= round_prev_at && since < round_at;
	info = *((volatile uint32 *) &waiter->wait_event_info);
	victim = is_foreground_proc(waiter);
	for (int i = 0; i < GOV_MAX_JOBS; i++)
	{
		GovSlot    *slot = &gov->slots[i];

		if (!slot->in_use)
			continue;
		if (slot->pid == blocker_pid && victim)
		{
			pg_atomic_fetch_add_u64(&slot->lock_wait_samples, 1);
			if (begun)
				pg_atomic_fetch_add_u64(&slot->lock_waits_begun, 1);
		}
		if (slot->pid == waiter->pid && slot->state == GOV_S_WORKING &&
			(info & 0xFF000000) == PG_WAIT_LOCK &&
			job_lock_wait_counts(waiter, info, round_at) &&
			job_lock_holder_counts(slot, waiter, blocker_pid, round_at))
			pg_atomic_fetch_add_u64(&slot->wait_samples, 1);
	}
}

/*
 * Linux /proc/<pid>/schedstat: the process's time on a CPU (*run) and
 * runnable but waiting for one (the result), in ns; -1 for both when it
 * cannot be read (not Linux, the process is gone).  Raises nothing of its
 * own (AllocateFile's descriptor limit aside).
 */
static double
read_schedstat(int pid, double *run)
{
	char		path[64];
	char		buf[128];
	FILE	   *f;
	double		delay = -1;
	unsigned long long on_cpu,
				wait;

	*run = -1;
	snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
	f = AllocateFile(path, "r");
	if (f == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), f) != NULL && sscanf(buf, "%llu %llu", &on_cpu, &wait) == 2)
	{
		*run = (double) on_cpu;
		delay = (double) wait;
	}
	FreeFile(f);
	return delay;
}

/*
 * Nanoseconds the process pid has spent runnable but waiting for a CPU
 * (Linux /proc/<pid>/schedstat, second field), or -1.  A background job
 * on a machine whose CPUs are all busy delays the foreground's backends
 * in the run queue; that delay is part of every statement's latency, and
 * the part the server sees least.
 */
static double
run_delay_ns(int pid)
{
	double		run;

	return read_schedstat(pid, &run);
}

/* The largest replay lag of the walsenders, ms; -1 if none is known. */
static double
max_replay_lag_ms(void)
{
	double		lag = -1;

	if (WalSndCtl == NULL)
		return -1;
	for (int i = 0; i < max_wal_senders; i++)
	{
		WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
		pid_t		pid;
		WalSndState state;
		TimeOffset	apply;

		SpinLockAcquire(&walsnd->mutex);
		pid = walsnd->pid;
		state = walsnd->state;
		apply = walsnd->applyLag;
		SpinLockRelease(&walsnd->mutex);
		if (pid == 0 || (state != WALSNDSTATE_STREAMING && state != WALSNDSTATE_CATCHUP))
			continue;
		if (apply >= 0)
			lag = Max(lag, apply / 1000.0);
	}
	return lag;
}

/*
 * Move a slot to the finished ring (lock held exclusively) and free it.  A
 * purge visit that found nothing to delete is only freed: the worker visits
 * every database every steward.idempotency_purge_interval, and such visits
 * would push the jobs worth seeing out of the ring of GOV_FINISHED.
 */
static void
retire_slot(GovSlot *slot, GovSlotState final, TimestampTz now)
{
	GovSlot    *f = &gov->finished[gov->finished_next];

	SpinLockAcquire(&slot->mutex);
	if (final == GOV_S_FINISHED && slot->rows_done == 0 &&
		strcmp(slot->kind, "purge") == 0)
	{
		slot->in_use = false;
		SpinLockRelease(&slot->mutex);
		return;
	}
	SpinLockAcquire(&f->mutex);
	f->in_use = true;
	f->id = slot->id;
	f->pid = slot->pid;
	f->dbid = slot->dbid;
	memcpy(f->kind, slot->kind, sizeof(f->kind));
	memcpy(f->label, slot->label, sizeof(f->label));
	f->ref = slot->ref;
	f->userid = slot->userid;
	f->started_at = slot->started_at;
	f->state = final;
	f->work_ended = slot->work_ended;
	f->last_pace = slot->last_pace;
	f->last_decision_at = slot->last_decision_at;
	f->finished_at = now;
	f->st = slot->st;
	f->rate = slot->rate;
	f->rows_done = slot->rows_done;
	f->batches = slot->batches;
	f->sig = slot->sig;
	pg_atomic_write_u64(&f->lock_wait_samples, pg_atomic_read_u64(&slot->lock_wait_samples));
	pg_atomic_write_u64(&f->lock_waits_begun, pg_atomic_read_u64(&slot->lock_waits_begun));
	SpinLockRelease(&f->mutex);
	slot->in_use = false;
	SpinLockRelease(&slot->mutex);
	gov->finished_next = (gov->finished_next + 1) % GOV_FINISHED;
	gov->finished_count = Min(gov->finished_count + 1, GOV_FINISHED);
}

/* Run-queue waits of the client backends at the last tick (the sampler's). */
typedef struct DelaySeen
{
	int			pid;
	double		ns;
} DelaySeen;

static DelaySeen *delay_prev = NULL;
static DelaySeen *delay_next = NULL;
static int	ndelay_prev = 0;

/*
 * The run-queue wait of the client backends other than governed jobs
 * during the tick.  Reads a snapshot of the backend status array (the
 * sampler's own, cleared first).
 */
static void
measure_run_delay_guarded(void *arg)
{
	GovTick    *tick = (GovTick *) arg;
	int			n;

	int			nprev = 0;
	bool		have_delay = false;

	pgstat_clear_backend_activity_snapshot();
	n = pgstat_fetch_stat_numbackends();
	if (delay_prev == NULL)
	{
		delay_prev = MemoryContextAllocZero(TopMemoryContext, sizeof(DelaySeen) * MaxBackends);
		delay_next = MemoryContextAllocZero(TopMemoryContext, sizeof(DelaySeen) * MaxBackends);
	}
	tick->run_delay_ms = 0;
	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *l = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;
		bool		job = false;
		double		delay;

		if (l == NULL)
			continue;
		be = &l->backendStatus;
		if (be->st_procpid <= 0 || be->st_backendType != B_BACKEND)
			continue;
		for (int j = 0; j < round_npids; j++)
			if (round_pids[j] == be->st_procpid)
				job = true;
		if (job)
			continue;
		/* Run-queue wait of every client backend since the last tick. */
		delay = run_delay_ns(be->st_procpid);
		if (delay >= 0 && nprev < MaxBackends)
		{
			have_delay = true;
			for (int j = 0; j < ndelay_prev; j++)
				if (delay_prev[j].pid == be->st_procpid && delay >= delay_prev[j].ns)
					tick->run_delay_ms += (delay - delay_prev[j].ns) / 1e6;
			delay_next[nprev].pid = be->st_procpid;
			delay_next[nprev].ns = delay;
			nprev++;
		}
	}
	pgstat_clear_backend_activity_snapshot();
	{
		DelaySeen  *swap = delay_prev;

		delay_prev = delay_next;
		delay_next = swap;
		ndelay_prev = nprev;
	}
	if (!have_delay)
		tick->run_delay_ms = -1;
}

static void
measure_run_delay(GovTick *tick)
{
	if (!steward_collect(measure_run_delay_guarded, tick))
		tick->run_delay_ms = -1;
}

/*
 * Each listed job's process, its time on a CPU and its busy samples at the
 * last tick (the sampler's own; a slot taken by a job of another process
 * starts afresh).
 */
typedef struct JobCpuSeen
{
	int			pid;
	double		ns;				/* < 0: not known */
	uint64		run_samples;
	uint64		wait_samples;
} JobCpuSeen;

static JobCpuSeen job_cpu_prev[GOV_MAX_JOBS];

typedef struct JobCpuArgs
{
	TimestampTz prev;			/* the last tick's end */
	TimestampTz now;			/* this one's */
} JobCpuArgs;

/* Growth of a slot's sample counter since the last tick (reset: all of it). */
static uint64
samples_since(pg_atomic_uint64 *counter, uint64 *prev)
{
	uint64		cur = pg_atomic_read_u64(counter);
	uint64		d = cur >= *prev ? cur - *prev : cur;

	*prev = cur;
	return d;
}

/*
 * A job that was handed a batch during the tick (working now, or its last
 * batch ended after the last tick) works in the tick when it was busy for
 * at least GOV_WORK_SHARE of it (the floor duty: a job is never asked to
 * work less; one at its floor doing small batches may go unseen in some
 * ticks, and what it adds to them is no more than that).  Busy: its time on a CPU since the last tick (Linux
 * /proc/<pid>/schedstat; elsewhere the samples that saw it running) plus
 * steward.sample_interval for each sample that saw it waiting for I/O, a
 * buffer, a lock its batch needs (steward_governor_round_begin,
 * steward_governor_blocked_by); and only while the batch keeps to its pace
 * (batch_overran).
 *
 * Why a share and not any work: a tick a job works in is kept out of every
 * job's baseline, and any role may register a job.  Until 2026-12-01 1 ms
 * on a CPU or one sample that caught it running sufficed, and a plain
 * role's job that was handed a batch and spent 2 ms of CPU every 0.3 s
 * (0.7% of a CPU, doing nothing) kept most ticks from being idle: next to
 * 200 transactions a second the baseline's minute held 820 statements
 * instead of 6,000, and the other roles' jobs paused up to 15 s to measure
 * one, then ran without a latency signal (codereview9 L2; TAP 105).  Work
 * below the share is below anything the governor would cut a job to, so
 * the ticks are a baseline like any other.  Not half of it: a single
 * sample that caught the job waiting (steward.sample_interval, 10 ms)
 * would then make the tick busy.  The CPU time counts because a batch shorter
 * than steward.sample_interval goes unseen by the samples, and on a loaded
 * machine the sampler itself wakes late: a job at a tenth of the time then
 * worked through ticks counted idle, and a foreground that went from 0 to
 * 50 ms next to it never reached the critical ratio (TAP 035 part 3,
 * closing38 item 0).  Time on a CPU cannot be claimed without being spent.
 * Reads the slots under their spinlocks, the files with none held.
 */
static void
measure_job_work_guarded(void *arg)
{
	JobCpuArgs *a = (JobCpuArgs *) arg;
	double		tick_ms = a->prev ? (a->now - a->prev) / 1000.0 : gov_interval_ms;

	for (int i = 0; i < GOV_MAX_JOBS; i++)
	{
		GovSlot    *slot = &gov->slots[i];
		JobCpuSeen *seen = &job_cpu_prev[i];
		bool		in_use;
		int			pid;
		GovSlotState state;
		TimestampTz ended;
		TimestampTz handed;
		double		counts_ms;
		double		run;
		double		prev_ns;
		uint64		on_cpu;
		uint64		waiting;
		double		busy_ms;

		SpinLockAcquire(&slot->mutex);
		in_use = slot->in_use;
		pid = slot->pid;
		state = slot->state;
		ended = slot->work_ended;
		handed = slot->work_started;
		counts_ms = slot->batch_counts_ms;
		SpinLockRelease(&slot->mutex);
		if (!in_use || pid <= 0)
		{
			seen->pid = 0;
			continue;
		}
		if (seen->pid != pid)
		{
			seen->pid = pid;
			seen->ns = -1;
			seen->run_samples = seen->wait_samples = 0;
		}
		(void) read_schedstat(pid, &run);
		prev_ns = seen->ns;
		seen->ns = run;
		on_cpu = samples_since(&slot->run_samples, &seen->run_samples);
		waiting = samples_since(&slot->wait_samples, &seen->wait_samples);
		if (state != GOV_S_WORKING && ended <= a->prev)
			continue;
		if (batch_overran(handed, counts_ms, a->prev))
			continue;
		busy_ms = (double) waiting * steward_sample_interval();
		if (run >= 0 && prev_ns >= 0 && run >= prev_ns)
			busy_ms += (run - prev_ns) / 1e6;
		else
			busy_ms += (double) on_cpu * steward_sample_interval();
		if (busy_ms >= GOV_WORK_SHARE * tick_ms)
			pg_atomic_write_u64(&slot->busy_seen_at, (uint64) a->now);
	}
}

static void
measure_job_work(TimestampTz prev, TimestampTz now)
{
	JobCpuArgs	a = {prev, now};

	(void) steward_collect(measure_job_work_guarded, &a);
}

typedef struct TickArgs
{
	uint64	   *hist;
	uint64		calls;
} TickArgs;

static void
gather_foreground(void *arg)
{
	TickArgs   *a = (TickArgs *) arg;

	steward_statements_sum_toplevel(a->hist, &a->calls);
}

/*
 * The tick's statement histogram from the top-level statements' counters
 * now (cur) and at the last tick (prev), calls of them since.  A bucket
 * that went down (the counters were reset meanwhile) makes the tick count
 * no statements at all: its differences mean nothing.
 */
static void
tick_statements(GovTick *tick, const uint64 *cur, const uint64 *prev, uint64 calls)
{
	bool		reset = false;

	for (int b = 0; b < STEWARD_STMT_HIST_BUCKETS; b++)
	{
		if (cur[b] < prev[b])
			reset = true;
		tick->hist[b] = (uint32) Min(cur[b] - prev[b], PG_UINT32_MAX);
	}
	tick->calls = reset ? 0 : calls;
	if (reset)
		memset(tick->hist, 0, sizeof(tick->hist));
}

/*
 * The tick's commit histogram and count from the commit counters now (cur)
 * and at the last tick (prev; NULL: none yet, the tick counts none).
 * Commit counters only grow; a bucket that went down counts nothing.
 */
static void
tick_commits(GovTick *tick, const uint64 *cur, const uint64 *prev)
{
	memset(tick->chist, 0, sizeof(tick->chist));
	tick->commits = 0;
	if (prev == NULL)
		return;
	for (int b = 0; b < GOV_CBUCKETS; b++)
	{
		uint64		d = cur[b] >= prev[b] ? cur[b] - prev[b] : 0;

		tick->chist[b] = (uint32) Min(d, PG_UINT32_MAX);
		tick->commits += d;
	}
}

/*
 * Adds the tick to the ring under the governor's exclusive lock, and to
 * the idle ring (the baseline) when no job was seen working in it and it
 * had a foreground.  Retires the slots of jobs whose backend is gone on
 * the way.  Never raises.
 */
static void
store_tick(GovTick *tick, TimestampTz now)
{
	bool		idle = true;

	LWLockAcquire(gov->lock, LW_EXCLUSIVE);
	for (int i = 0; i < GOV_MAX_JOBS; i++)
	{
		GovSlot    *slot = &gov->slots[i];
		TimestampTz busy;

		if (!slot->in_use)
			continue;
		if (BackendPidGetProc(slot->pid) == NULL)
		{
			retire_slot(slot, GOV_S_GONE, now);
			continue;
		}

		/*
		 * Seen working in this tick or the one before (a batch's WAL
		 * flushes and dirty buffers outlive it).  Seen, not said: the
		 * slot's state is whatever the caller's last governor_pace() left,
		 * and a job counts only when it was busy for a share of the tick
		 * (measure_job_work()).
		 */
		busy = (TimestampTz) pg_atomic_read_u64(&slot->busy_seen_at);
		if (busy != 0 && now - busy < (TimestampTz) 2 * gov_interval_ms * 1000)
			idle = false;
	}
	tick->idle = idle;
	memcpy(&gov->ring[gov->ring_next], tick, sizeof(GovTick));
	gov->ring_next = (gov->ring_next + 1) % GOV_RING;
	gov->ring_count = Min(gov->ring_count + 1, GOV_RING);
	if (idle && tick_has_foreground(tick))
	{
		memcpy(&gov->idle[gov->idle_next], tick, sizeof(GovTick));
		gov->idle_next = (gov->idle_next + 1) % GOV_IDLE_RING;
		gov->idle_count = Min(gov->idle_count + 1, GOV_IDLE_RING);
	}
	gov->tick_seq++;
	LWLockRelease(gov->lock);
}

/*
 * Called by the wait sampler at every wake-up: take a tick when one is due.
 * Never raises (the collection runs under steward_collect()).  Takes the
 * governor's LWLock exclusively to store the tick (store_tick); the
 * commit counters are read with atomics, no lock.
 */
void
steward_governor_tick(void)
{
	static TimestampTz last_ts = 0;
	static uint64 *prev_hist = NULL;
	static uint64 *cur_hist = NULL;
	static uint64 prev_calls = 0;
	static uint64 prev_wal = 0;
	static uint64 *prev_commits = NULL;
	static uint64 *cur_commits = NULL;
	static bool have_prev = false;
	static GovTick *tick = NULL;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz prev_ts = last_ts;
	TickArgs	args;
	bool		ok;
	uint64	   *swap;

	if (gov == NULL)
		return;
	if (last_ts != 0 && now - last_ts < (TimestampTz) gov_interval_ms * 1000)
		return;
	if (tick == NULL)
	{
		tick = MemoryContextAllocZero(TopMemoryContext, sizeof(GovTick));
		prev_hist = MemoryContextAllocZero(TopMemoryContext,
										   sizeof(uint64) * STEWARD_STMT_HIST_BUCKETS);
		cur_hist = MemoryContextAllocZero(TopMemoryContext,
										  sizeof(uint64) * STEWARD_STMT_HIST_BUCKETS);
		prev_commits = MemoryContextAllocZero(TopMemoryContext, sizeof(uint64) * GOV_CBUCKETS);
		cur_commits = MemoryContextAllocZero(TopMemoryContext, sizeof(uint64) * GOV_CBUCKETS);
	}
	memset(cur_commits, 0, sizeof(uint64) * GOV_CBUCKETS);
	for (int p = 0; p < gov->nprocs; p++)
		for (int b = 0; b < GOV_CBUCKETS; b++)
			cur_commits[b] += pg_atomic_read_u64(&gov->commits[p].count[b]);
	args.hist = cur_hist;
	args.calls = 0;
	ok = steward_collect(gather_foreground, &args);

	memset(tick, 0, offsetof(GovTick, hist));
	tick->ts = now;
	tick->secs = last_ts ? (now - last_ts) / 1e6 : gov_interval_ms / 1000.0;
	tick->lag_ms = max_replay_lag_ms();
	tick->wal_samples = acc_wal_samples - prev_wal;
	prev_wal = acc_wal_samples;

	if (ok && have_prev && args.calls >= prev_calls)
		tick_statements(tick, cur_hist, prev_hist, args.calls - prev_calls);
	else
		memset(tick->hist, 0, sizeof(tick->hist));
	tick_commits(tick, cur_commits, have_prev ? prev_commits : NULL);
	swap = prev_commits;
	prev_commits = cur_commits;
	cur_commits = swap;
	if (ok)
	{
		swap = prev_hist;
		prev_hist = cur_hist;
		cur_hist = swap;
		prev_calls = args.calls;
		have_prev = true;
	}
	last_ts = now;

	measure_run_delay(tick);
	measure_job_work(prev_ts, now);
	store_tick(tick, now);
}

/* ------------------------------------------------------------------------
 * Measurements: the jobs' side
 * ------------------------------------------------------------------------
 */

/* Sums over ticks: of the window, or of the baseline (read_signals). */
typedef struct GovSums
{
	uint32	   *hist;			/* statement latency, STEWARD_STMT_HIST_BUCKETS */
	uint32		chist[GOV_CBUCKETS];	/* transaction latency */
	uint64		calls;
	uint64		commits;
	uint64		wal;			/* WAL wait samples */
	double		delay;			/* run-queue delay, ms, of ticks that measured it */
	uint64		delay_calls;	/* statements of those ticks */
	double		secs;
} GovSums;

/* Adds tick t to s. */
static void
add_tick(GovSums *s, const GovTick *t)
{
	s->calls += t->calls;
	s->secs += t->secs;
	s->wal += t->wal_samples;
	if (t->run_delay_ms >= 0)
	{
		s->delay += t->run_delay_ms;
		s->delay_calls += t->calls;
	}
	for (int b = 0; b < STEWARD_STMT_HIST_BUCKETS; b++)
		s->hist[b] += t->hist[b];
	s->commits += t->commits;
	for (int b = 0; b < GOV_CBUCKETS; b++)
		s->chist[b] += t->chist[b];
}

/*
 * Sums the ticks of the window into *w: the newest tick always, older ones
 * inside gov_window_ms.  The newest also says whether there is a
 * foreground now (sig->recent_calls, recent_commits) and the replication
 * lag.  Caller holds the governor's lock (shared is enough).
 */
static void
sum_window(GovSignals *sig, GovSums *w, TimestampTz now)
{
	TimestampTz wstart = now - (TimestampTz) gov_window_ms * 1000;

	for (int k = 0; k < gov->ring_count; k++)
	{
		GovTick    *t = &gov->ring[(gov->ring_next - 1 - k + GOV_RING) % GOV_RING];

		if (k > 0 && t->ts <= wstart)
			break;
		if (k == 0)
		{
			/*
			 * Is there a foreground now?  The newest tick's statements and
			 * commits, less this session's own, as a rate per window: the
			 * sessions of a minute ago are not a foreground to protect.
			 */
			TimestampTz from = t->ts - (TimestampTz) (t->secs * USECS_PER_SEC);
			double		per_window = gov_window_ms / 1000.0 / Max(t->secs, 0.001);

			sig->lag_ms = t->lag_ms;
			/*
			 * Statements of sessions that have ended since count: clients
			 * that connect per request (no pooler) are a foreground made of
			 * sessions that each live a few milliseconds.
			 */
			sig->recent_calls = Max((double) t->calls - count_own(own_stmts, from, t->ts), 0)
				* per_window;
			sig->recent_commits = Max((double) t->commits - count_own(own_commits, from, t->ts), 0)
				* per_window;
		}
		add_tick(w, t);
	}
}

/*
 * The load a baseline's run is measured against: the newest tick's, or,
 * robust, the median of the newest "need" ticks' (at most n).  Pure.
 */
static double
baseline_ref_load(const double *load, int n, int need, bool robust)
{
	double		v[GOV_IDLE_RING];
	int			m = robust ? Min(n, Min(need, GOV_IDLE_RING)) : 1;

	for (int k = 0; k < m; k++)
	{
		int			j = k;

		while (j > 0 && v[j - 1] > load[k])
		{
			v[j] = v[j - 1];
			j--;
		}
		v[j] = load[k];
	}
	return m % 2 ? v[m / 2] : (v[m / 2 - 1] + v[m / 2]) / 2;
}

/*
 * Which idle ticks make the baseline.  ts[k] and load[k] (statements and
 * commits a second) are the idle ticks, newest first; only ticks after
 * "since" count (a baseline measured afresh).  The baseline is the newest
 * run of ticks under one load (older ticks of a load more than
 * GOV_LOAD_FACTOR apart, another foreground a minute ago, end it, so that
 * a job measuring a new baseline is not held to the old traffic's
 * latency): its ticks younger than GOV_BASELINE_MAX_AGE_S, or, when those
 * are fewer than "need", all of the run younger than GOV_BASELINE_KEEP_S
 * (gov_view keeps them only while the load is steady).
 *
 * "keep" (steward.governor_keep_baseline) also keeps the run through a
 * tick of another load among its newest "need": the run's load is their
 * median, not the newest tick's, and such a tick is left out instead of
 * ending the run.  On a machine shared with other programs one tick's
 * load swings 2-10x with their bursts (a closed-loop foreground starved
 * of CPU for a second): each such tick ended the run, the baseline fell
 * to one tick, and run_transition paused to measure for 85 of its 178
 * decisions (test/bench/governor/results-aba-gov15.md).  A foreground
 * that really changed its load wins the median within "need" ticks.
 *
 * Sets take[k] for the ticks to sum, and sig->base_ticks,
 * base_ticks_fresh, base_ticks_recent.  Pure (the trace models its ticks
 * with it).
 */
static void
select_baseline(const TimestampTz *ts, const double *load, int n, TimestampTz now,
				TimestampTz since, int need, bool keep, GovSignals *sig, bool *take)
{
	TimestampTz kept_from = now - (TimestampTz) GOV_BASELINE_KEEP_S * USECS_PER_SEC;
	TimestampTz fresh_from = now - (TimestampTz) GOV_BASELINE_MAX_AGE_S * USECS_PER_SEC;
	TimestampTz recent_from = now - (TimestampTz) GOV_BASELINE_MAX_AGE_S * USECS_PER_SEC / 2;
	int			m = 0;
	int			run = 0;
	double		ref;

	if (since != 0)
		kept_from = Max(kept_from, since);
	while (m < n && ts[m] > kept_from)
		m++;
	for (int k = 0; k < n; k++)
		take[k] = false;
	sig->base_ticks_fresh = sig->base_ticks_recent = 0;
	if (m == 0)
	{
		sig->base_ticks = 0;
		return;
	}
	ref = baseline_ref_load(load, m, need, keep);
	for (int k = 0; k < m; k++)
	{
		if (load[k] > ref * GOV_LOAD_FACTOR || ref > load[k] * GOV_LOAD_FACTOR)
		{
			if (keep && k < need)
				continue;
			break;
		}
		take[k] = true;
		run++;
		if (ts[k] > fresh_from)
			sig->base_ticks_fresh++;
		if (ts[k] > recent_from)
			sig->base_ticks_recent++;
	}
	sig->base_ticks = run;
	/* Enough fresh ticks: the older ones stay out, as before gov15. */
	if (sig->base_ticks_fresh >= need)
	{
		for (int k = 0; k < m; k++)
			take[k] = take[k] && ts[k] > fresh_from;
		sig->base_ticks = sig->base_ticks_fresh;
	}
}

/*
 * Sums the baseline's idle ticks (select_baseline) into *b.  Caller holds
 * the governor's lock (shared is enough).
 */
static void
sum_baseline(GovSignals *sig, GovSums *b, TimestampTz now, TimestampTz since)
{
	TimestampTz ts[GOV_IDLE_RING] = {0};
	double		load[GOV_IDLE_RING] = {0};
	bool		take[GOV_IDLE_RING];
	int			n = gov->idle_count;

	for (int k = 0; k < n; k++)
	{
		GovTick    *t = &gov->idle[(gov->idle_next - 1 - k + GOV_IDLE_RING) % GOV_IDLE_RING];

		ts[k] = t->ts;
		load[k] = (t->calls + t->commits) / Max(t->secs, 0.001);
	}
	select_baseline(ts, load, n, now, since, baseline_ticks(gov_window_ms, gov_interval_ms),
					gov_keep_baseline, sig, take);
	for (int k = 0; k < n; k++)
		if (take[k])
			add_tick(b, &gov->idle[(gov->idle_next - 1 - k + GOV_IDLE_RING) % GOV_IDLE_RING]);
}

/*
 * steward.governor_simulate()'s foreground, while it lasts: a baseline of
 * 1 ms and the p99 ratio asked for (replacing the sums when too few
 * statements were measured), and the replication lag asked for.  Caller
 * holds the governor's lock (shared is enough).
 */
static void
simulate_signals(GovSignals *sig, GovSums *w, GovSums *b)
{
	sig->simulated = true;
	if (gov->sim_p99_ratio >= 0)
	{
		if (b->calls < (uint64) gov_min_calls || w->calls < (uint64) gov_min_calls)
		{
			memset(b->hist, 0, sizeof(uint32) * STEWARD_STMT_HIST_BUCKETS);
			memset(w->hist, 0, sizeof(uint32) * STEWARD_STMT_HIST_BUCKETS);
			b->calls = w->calls = Max(gov_min_calls, 100);
			b->hist[steward_stmt_bucket_of_ms(1.0)] = b->calls;
			w->hist[steward_stmt_bucket_of_ms(1.0)] = w->calls;
			w->wal = b->wal = 0;
		}
		/* The transactions' and the CPU's measurements would contradict it. */
		w->commits = b->commits = 0;
		w->delay_calls = b->delay_calls = 0;
		sig->calls = w->calls;
		sig->base_ticks = Max(sig->base_ticks, baseline_ticks(gov_window_ms, gov_interval_ms));
		sig->base_ticks_fresh = sig->base_ticks_recent = sig->base_ticks;
		sig->recent_calls = Max(sig->recent_calls, w->calls);
		sig->base_calls = b->calls;
		sig->base_p99_ms = steward_stmt_percentile_ms(b->hist, b->calls, 0.99);
		sig->p99_ms = sig->base_p99_ms * gov->sim_p99_ratio;
	}
	if (gov->sim_lag_ms >= 0)
		sig->lag_ms = gov->sim_lag_ms;
}

/*
 * Read the window and the baseline (only idle ticks after "since", when
 * not 0: a baseline measured afresh) under the governor's shared lock;
 * the caller fills lock_waits.  Without the shared area, every signal is
 * unknown.
 */
static void
read_signals(GovSignals *sig, TimestampTz now, TimestampTz since)
{
	GovSums		w = {0};
	GovSums		b = {0};

	memset(sig, 0, sizeof(GovSignals));
	sig->lag_ms = -1;
	sig->wal_ms = sig->base_wal_ms = -1;
	sig->cpu = sig->base_cpu = -1;
	if (gov == NULL)
		return;
	w.hist = palloc0(sizeof(uint32) * STEWARD_STMT_HIST_BUCKETS);
	b.hist = palloc0(sizeof(uint32) * STEWARD_STMT_HIST_BUCKETS);
	LWLockAcquire(gov->lock, LW_SHARED);
	sig->tick = gov->tick_seq;
	sum_window(sig, &w, now);
	sum_baseline(sig, &b, now, since);
	if (gov->sim_until > now)
		simulate_signals(sig, &w, &b);
	sig->quiet = gov->quiet_until > now;
	if (gov->idle_count > 0)
		sig->newest_idle = gov->idle[(gov->idle_next - 1 + GOV_IDLE_RING) % GOV_IDLE_RING].ts;
	LWLockRelease(gov->lock);
	if (!sig->simulated || sig->p99_ms == 0)
	{
		sig->calls = w.calls;
		sig->base_calls = b.calls;
		sig->p99_ms = steward_stmt_percentile_ms(w.hist, w.calls, 0.99);
		sig->base_p99_ms = steward_stmt_percentile_ms(b.hist, b.calls, 0.99);
	}
	sig->commits = w.commits;
	sig->base_commits = b.commits;
	sig->window_s = w.secs;
	if (w.secs > 0)
		sig->load_per_s = (w.calls + w.commits) / w.secs;
	if (b.secs > 0)
		sig->base_load_per_s = (b.calls + b.commits) / b.secs;
	sig->commit_p99_ms = commit_percentile_ms(w.chist, w.commits, 0.99);
	sig->base_commit_p99_ms = commit_percentile_ms(b.chist, b.commits, 0.99);
	if (w.delay_calls > 0)
		sig->cpu = w.delay / w.delay_calls;
	if (b.delay_calls > 0)
		sig->base_cpu = b.delay / b.delay_calls;
	if (w.calls > 0)
		sig->wal_ms = (double) w.wal * steward_sample_interval() / w.calls;
	if (b.calls > 0)
		sig->base_wal_ms = (double) b.wal * steward_sample_interval() / b.calls;
	pfree(w.hist);
	pfree(b.hist);
}

/* ------------------------------------------------------------------------
 * Jobs
 * ------------------------------------------------------------------------
 */

static void
copy_to_slot(StewardGovJob *job, GovSlotState state)
{
	GovSlot    *slot;

	if (gov == NULL || job->slot < 0)
		return;
	slot = &gov->slots[job->slot];
	SpinLockAcquire(&slot->mutex);
	if (slot->in_use && slot->id == job->id)
	{
		slot->state = state;
		slot->work_ended = job->work_ended;
		slot->last_pace = job->last_pace;
		slot->work_started = job->work_started;
		slot->batch_counts_ms = job->batch_counts_ms;
		slot->last_decision_at = job->last_decision_at;
		slot->st = job->st;
		slot->rate = job->rate;
		slot->rows_done = job->rows_done;
		slot->batches = job->batches;
		slot->sig = job->sig;
	}
	SpinLockRelease(&slot->mutex);
}

/* Stop counting this backend's jobs as working (abort, exit). */
static void
jobs_stop_working(void)
{
	TimestampTz now = GetCurrentTimestamp();

	for (int i = 0; i < GOV_MAX_LOCAL_JOBS; i++)
	{
		StewardGovJob *job = &local_jobs[i];

		if (!job->in_use || !job->working)
			continue;
		job->working = false;
		job->work_ended = now;
		copy_to_slot(job, GOV_S_PAUSING);
	}
}

static bool
have_local_jobs(void)
{
	for (int i = 0; i < GOV_MAX_LOCAL_JOBS; i++)
		if (local_jobs[i].in_use)
			return true;
	return false;
}

/*
 * Transaction callback of every backend (installed at preload).
 *
 * The statements' histograms time the executor, not parsing, planning or
 * the commit, and for OLTP writes the commit (the WAL flush, synchronous
 * replication) is much of the latency a client sees, and what a
 * background writer's WAL and CPU slow down.  So each client backend that
 * runs no governed job times each transaction it commits, from its start
 * (the arrival of its first statement) to the end of the commit, into its
 * own counters: no lock, nothing that can fail.  For an autocommit
 * statement that is the server's whole response time; for a transaction
 * of several statements it includes the round trips in between, as the
 * client's own timing does.
 *
 * A top-level transaction that aborts also ends the batch it ran: whoever
 * catches the error and goes on calls pace again before the next batch.
 */
static void
gov_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			if (gov != NULL && MyBackendType == B_BACKEND && MyProc != NULL &&
				MyProc->pgprocno < gov->nprocs && !have_local_jobs())
			{
				TimestampTz start = GetCurrentTransactionStartTimestamp();
				pg_atomic_uint64 *c = &gov->commits[MyProc->pgprocno]
					.count[commit_bucket((double) (GetCurrentTimestamp() - start))];

				/* This backend is the only writer of its counters. */
				pg_atomic_write_u64(c, pg_atomic_read_u64(c) + 1);
				own_commits[own_commit_next] = start;
				own_commit_next = (own_commit_next + 1) % GOV_OWN_RING;
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			jobs_stop_working();
			break;
		default:
			break;
	}
}

/*
 * _PG_init, while preloading: every backend inherits the callback.  No
 * lock; raises only out of memory.
 */
void
steward_governor_install_hooks(void)
{
	RegisterXactCallback(gov_xact_callback, NULL);
}

/*
 * Is the session of slot's job waiting for its client (idle, or idle in
 * transaction)?  Unlocked read of its wait event, as job_process_busy.
 */
static bool
slot_session_idle(const GovSlot *slot)
{
	PGPROC	   *proc;

	if (slot->pgprocno < 0 || slot->pgprocno >= (int) ProcGlobal->allProcCount)
		return false;
	proc = &ProcGlobal->allProcs[slot->pgprocno];
	return proc->pid == slot->pid && slot->pid != MyProcPid &&
		*((volatile uint32 *) &proc->wait_event_info) == WAIT_EVENT_CLIENT_READ;
}

/*
 * With every listed slot taken: the slot of the job paced longest ago whose
 * session waits for its client, or -1.  Its job goes on, paced, unlisted
 * (copy_to_slot, release_job and maybe_decide check the slot's id): the
 * slots used to stay with idle sessions (8 jobs each), and the jobs begun
 * meanwhile ran unlisted and blind to the sessions waiting for their row
 * locks (review13 R13-10).  Caller holds the governor's lock exclusively.
 */
static int
idle_slot_to_take(void)
{
	int			best = -1;

	for (int i = 0; i < GOV_MAX_JOBS; i++)
	{
		GovSlot    *slot = &gov->slots[i];

		if (slot->in_use && slot_session_idle(slot) &&
			(best < 0 || slot->last_pace < gov->slots[best].last_pace))
			best = i;
	}
	return best;
}

static void
release_job(StewardGovJob *job, GovSlotState final)
{
	if (gov != NULL && job->slot >= 0)
	{
		GovSlot    *slot = &gov->slots[job->slot];

		LWLockAcquire(gov->lock, LW_EXCLUSIVE);
		if (slot->in_use && slot->id == job->id)
		{
			copy_to_slot(job, final);
			retire_slot(slot, final, GetCurrentTimestamp());
		}
		LWLockRelease(gov->lock);
	}
	job->in_use = false;
}

static void
gov_before_exit(int code, Datum arg)
{
	for (int i = 0; i < GOV_MAX_LOCAL_JOBS; i++)
		if (local_jobs[i].in_use)
			release_job(&local_jobs[i], GOV_S_GONE);
}

/* Statement start of a client backend's current statement, or 0. */
static TimestampTz
client_statement_start(void)
{
	return MyBackendType == B_BACKEND ? GetCurrentStatementStartTimestamp() : 0;
}

/*
 * A free entry of this backend's job list, for a job begun by the client
 * statement that started at stmt (0: not a client backend).  Jobs begun in
 * an earlier client statement and never ended (the statement failed or
 * forgot) are ended first, so that they neither hold entries nor stay
 * listed.  Raises 54000 when all GOV_MAX_LOCAL_JOBS are in use.
 */
static StewardGovJob *
free_local_job(TimestampTz stmt)
{
	if (!callbacks_registered)
	{
		before_shmem_exit(gov_before_exit, (Datum) 0);
		callbacks_registered = true;
	}
	for (int i = 0; i < GOV_MAX_LOCAL_JOBS; i++)
	{
		StewardGovJob *j = &local_jobs[i];

		if (j->in_use && stmt != 0 && j->slot >= 0 && gov != NULL &&
			gov->slots[j->slot].stmt_start != stmt)
		{
			superseded_jobs[superseded_next++ % GOV_MAX_LOCAL_JOBS] = j->id;
			release_job(j, GOV_S_GONE);
		}
	}
	for (int i = 0; i < GOV_MAX_LOCAL_JOBS; i++)
		if (!local_jobs[i].in_use)
			return &local_jobs[i];
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("a session may run at most %d governed jobs at once", GOV_MAX_LOCAL_JOBS),
			 errhint("End a job that is done with steward.governor_end(), or begin this one from another session.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * Refuses a job of userid's once the role holds GOV_ROLE_MAX_JOBS listed
 * slots: any role used to fill all of them from 8 idle sessions, and every
 * other job then ran unlisted (review13 R13-10).  Caller holds the
 * governor's lock exclusively; on refusal it is released, job's entry
 * freed, and 53400 raised.
 */
static void
check_role_limit(StewardGovJob *job, Oid userid)
{
	int			role_jobs = 0;

	for (int i = 0; i < GOV_MAX_JOBS; i++)
		if (gov->slots[i].in_use && gov->slots[i].userid == userid)
			role_jobs++;
	if (role_jobs < GOV_ROLE_MAX_JOBS)
		return;
	LWLockRelease(gov->lock);
	job->in_use = false;
	ereport(ERROR,
			(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
			 errmsg("role \"%s\" already runs %d governed jobs, the most one role may run at once",
					GetUserNameFromId(userid, false), role_jobs),
			 errdetail("The governor lists %d jobs of all roles; one role may hold a quarter of them.",
					   GOV_MAX_JOBS),
			 errhint("End finished jobs with steward.governor_end(), or end the sessions that "
					 "began them (steward.governor_jobs shows their pids).")));
}

/*
 * Lists job in slot "take" of the shared area, with every field reset (the
 * slot may be one taken from an idle session's job: idle_slot_to_take).
 * Caller holds the governor's lock exclusively; the slot's spinlock is
 * taken here for readers that hold only the slot's.
 */
static void
fill_slot(int take, StewardGovJob *job, TimestampTz stmt, TimestampTz now)
{
	GovSlot    *slot = &gov->slots[take];

	SpinLockAcquire(&slot->mutex);
	slot->in_use = true;
	slot->id = job->id;
	slot->pid = MyProcPid;
	slot->pgprocno = MyProc->pgprocno;
	slot->dbid = MyDatabaseId;
	memcpy(slot->kind, job->kind, sizeof(slot->kind));
	memcpy(slot->label, job->label, sizeof(slot->label));
	slot->ref = job->ref;
	slot->userid = GetUserId();
	slot->started_at = now;
	slot->stmt_start = stmt;
	slot->state = GOV_S_PAUSING;
	slot->work_ended = now;
	slot->last_pace = now;
	slot->work_started = 0;
	slot->batch_counts_ms = 0;
	slot->last_decision_at = 0;
	slot->finished_at = 0;
	slot->st = job->st;
	slot->rate = 0;
	slot->rows_done = 0;
	slot->batches = 0;
	memset(&slot->sig, 0, sizeof(GovSignals));
	pg_atomic_write_u64(&slot->lock_wait_samples, 0);
	pg_atomic_write_u64(&slot->lock_waits_begun, 0);
	pg_atomic_write_u64(&slot->busy_seen_at, 0);
	pg_atomic_write_u64(&slot->run_samples, 0);
	pg_atomic_write_u64(&slot->wait_samples, 0);
	SpinLockRelease(&slot->mutex);
	job->slot = take;
}

/*
 * Register a job (see governor.h): a local entry (free_local_job), then an
 * id and, when one is free or can be taken from an idle session's job, a
 * listed slot under the governor's exclusive lock.  A job with no slot
 * goes on, paced, unlisted.  limit_role (steward.governor_begin(),
 * callable by anyone): a role other than a superuser may hold at most
 * GOV_ROLE_MAX_JOBS of the GOV_MAX_JOBS listed slots, else 53400
 * (check_role_limit).
 */
static StewardGovJob *
begin_job(const char *kind, const char *label, int64 ref,
		  int max_batch, int max_rows_per_sec, bool limit_role)
{
	StewardGovJob *job;
	TimestampTz stmt = client_statement_start();
	TimestampTz now = GetCurrentTimestamp();
	Oid			userid = GetUserId();
	int			take = -1;

	job = free_local_job(stmt);
	memset(job, 0, sizeof(StewardGovJob));
	job->in_use = true;
	job->slot = -1;
	gov_init_state(&job->st, max_batch, max_rows_per_sec);
	strlcpy(job->kind, kind ? kind : "", sizeof(job->kind));
	strlcpy(job->label, label ? label : "", sizeof(job->label));
	job->ref = ref;
	job->started_at = now;
	job->last_pace = now;
	job->work_ended = now;

	if (gov == NULL)
	{
		static int64 local_id = 0;

		job->id = ++local_id;
		return job;
	}
	if (limit_role && superuser_arg(userid))
		limit_role = false;
	LWLockAcquire(gov->lock, LW_EXCLUSIVE);
	if (limit_role)
		check_role_limit(job, userid);
	job->id = gov->next_job_id++;
	for (int i = 0; i < GOV_MAX_JOBS && take < 0; i++)
		if (!gov->slots[i].in_use)
			take = i;
	if (take < 0)
		take = idle_slot_to_take();
	if (take >= 0)
		fill_slot(take, job, stmt, now);
	LWLockRelease(gov->lock);
	return job;
}

/*
 * Register a job of the extension's own C code (see governor.h), with no
 * per-role limit: begin_job.  Takes the governor's LWLock exclusively,
 * briefly, and the chosen slot's spinlock.  Errors: 54000 when this
 * session already runs GOV_MAX_LOCAL_JOBS jobs.
 */
StewardGovJob *
steward_governor_begin(const char *kind, const char *label, int64 ref,
					   int max_batch, int max_rows_per_sec)
{
	return begin_job(kind, label, ref, max_batch, max_rows_per_sec, false);
}

/*
 * A job that has waited a window for a baseline (st->probe_started: a
 * foreground and no baseline, in its probe or going on past its limit)
 * while no idle tick with a foreground came asks every job to pause for a
 * window and two ticks (quiet_until; read_signals sets sig->quiet, and
 * gov_pause pauses with measuring_baseline), at most once every
 * GOV_QUIET_EVERY_S cluster-wide.  Jobs that each go on without a baseline
 * keep every tick busy for one another: a job pauses to measure only its
 * own way, and one past its probe's limit never again, so next to two such
 * jobs no job measured a baseline for as long as the foreground lasted
 * (TAP 109).  Any role's job may ask: the cost is a pause of about 7 s a
 * minute for every job, the price the rule already charges one job
 * without a fresh baseline.  Takes the governor's lock exclusively when it
 * asks (an unlocked read first: at most once a minute).  Raises nothing.
 */
static void
ask_quiet(const GovState *st, const GovSignals *sig, const GovSettings *set,
		  TimestampTz now)
{
	TimestampTz window = (TimestampTz) (set->window_ms * 1000);

	if (gov == NULL || st->probe_started == 0 || now - st->probe_started < window ||
		now - sig->newest_idle < window)
		return;
	if (now - *((volatile TimestampTz *) &gov->quiet_asked_at) <
		(TimestampTz) GOV_QUIET_EVERY_S * USECS_PER_SEC)
		return;
	LWLockAcquire(gov->lock, LW_EXCLUSIVE);
	if (now - gov->quiet_asked_at >= (TimestampTz) GOV_QUIET_EVERY_S * USECS_PER_SEC)
	{
		gov->quiet_asked_at = now;
		gov->quiet_until = now + window + (TimestampTz) (2 * set->interval_ms * 1000);
	}
	LWLockRelease(gov->lock);
}

/*
 * Percentile p (0..1) in ms of a weighed histogram of n buckets: its
 * weights rounded to counts, read as the window's (percentile(), for
 * statements or transactions).  Pure.
 */
static double
weighed_percentile_ms(const double *w, int n, double p,
					  double (*percentile) (const uint32 *, uint64, double))
{
	uint32	   *hist = palloc(sizeof(uint32) * n);
	uint64		total = 0;
	double		ms;

	for (int b = 0; b < n; b++)
	{
		hist[b] = (uint32) Min(rint(w[b]), (double) PG_UINT32_MAX);
		total += hist[b];
	}
	ms = percentile(hist, total, p);
	pfree(hist);
	return ms;
}

/*
 * Adds to the job's sums the ticks that ended since its last update and
 * after it began (each older weight x exp(-secs / GOV_JOB_MEMORY_S) per
 * tick), and sets sig's job_* from them: the foreground's p99 since the
 * job began, which p99_over() weighs with the window's.  Ticks of pauses
 * count: what the foreground felt over the job's run is what a user of
 * the job sees.  Takes the governor's LWLock shared; raises nothing.
 */
static void
job_sums_update(StewardGovJob *job, GovSignals *sig)
{
	GovJobSums *js = &job->sums;
	TimestampTz from = Max(js->until, job->started_at);
	int			fresh = 0;

	if (gov == NULL)
		return;
	LWLockAcquire(gov->lock, LW_SHARED);
	while (fresh < gov->ring_count &&
		   gov->ring[(gov->ring_next - 1 - fresh + GOV_RING) % GOV_RING].ts > from)
		fresh++;
	for (int k = fresh - 1; k >= 0; k--)
	{
		GovTick    *t = &gov->ring[(gov->ring_next - 1 - k + GOV_RING) % GOV_RING];
		double		keep = exp(-t->secs / GOV_JOB_MEMORY_S);

		js->secs += t->secs;
		js->calls = js->calls * keep + t->calls;
		js->commits = js->commits * keep + t->commits;
		for (int b = 0; b < STEWARD_STMT_HIST_BUCKETS; b++)
			js->hist[b] = js->hist[b] * keep + t->hist[b];
		for (int b = 0; b < GOV_CBUCKETS; b++)
			js->chist[b] = js->chist[b] * keep + t->chist[b];
		js->until = t->ts;
	}
	LWLockRelease(gov->lock);
	sig->job_secs = js->secs;
	sig->job_calls = js->calls;
	sig->job_commits = js->commits;
	sig->job_p99_ms = weighed_percentile_ms(js->hist, STEWARD_STMT_HIST_BUCKETS, 0.99,
											steward_stmt_percentile_ms);
	sig->job_commit_p99_ms = weighed_percentile_ms(js->chist, GOV_CBUCKETS, 0.99,
												   commit_percentile_ms);
}

/* Decide if a new tick has arrived since the last decision (or at the start). */
static void
maybe_decide(StewardGovJob *job, TimestampTz now)
{
	GovSettings set;
	GovSignals	sig;
	uint64		lock_now = 0;

	current_settings(&set);
	if (!set.enabled)
	{
		if (job->started && job->st.reason == GOV_R_DISABLED)
			return;
		memset(&sig, 0, sizeof(sig));
	}
	else
	{
		read_signals(&sig, now, job->st.rebase_since);
		if (job->started && sig.tick == job->last_tick)
			return;
		if (job->slot >= 0)
		{
			GovSlot    *slot = &gov->slots[job->slot];

			/* Its slot may have been taken while the session was idle. */
			lock_now = job->lock_seen;
			SpinLockAcquire(&slot->mutex);
			if (slot->in_use && slot->id == job->id)
				lock_now = pg_atomic_read_u64(&slot->lock_waits_begun);
			SpinLockRelease(&slot->mutex);
		}
		job_sums_update(job, &sig);
		sig.lock_waits = lock_now - job->lock_seen;
		sig.lock_ticks = job->started && sig.tick > job->last_tick ?
			(int) Min(sig.tick - job->last_tick, GOV_RING) : 1;
		job->lock_seen = lock_now;
	}
	gov_decide(&job->st, &sig, &set, now);
	if (set.enabled)
		ask_quiet(&job->st, &sig, &set, now);
	/* For benchmarks and support: each decision with what it rested on. */
	elog(DEBUG2, "governor: %s (%s) duty %.3f batch %d; p99 %.3f / base %.3f ms (%d idle ticks, %d younger than a minute), commit p99 %.3f / %.3f ms, since the job began %.3f / %.3f ms, wal %.3f / %.3f ms, cpu %.3f / %.3f ms, load %.0f / %.0f a second, lock waits " UINT64_FORMAT,
		 decision_names[job->st.decision], reason_names[job->st.reason],
		 job->st.duty, job->st.batch, sig.p99_ms, sig.base_p99_ms, sig.base_ticks,
		 sig.base_ticks_fresh, sig.commit_p99_ms, sig.base_commit_p99_ms, sig.job_p99_ms, sig.job_commit_p99_ms, sig.wal_ms, sig.base_wal_ms,
		 sig.cpu, sig.base_cpu, sig.load_per_s, sig.base_load_per_s, sig.lock_waits);
	if (job->nice_on_foreground && job->st.reason != GOV_R_NO_FOREGROUND &&
		job->st.reason != GOV_R_DISABLED)
		job->nice_on_foreground = !steward_governor_lower_priority();
	job->started = true;
	job->last_tick = sig.tick;
	job->sig = sig;
	job->last_decision_at = now;
	if (gov != NULL)
		pg_atomic_fetch_add_u64(&gov->decisions[job->st.decision][job->st.reason], 1);
}

static void
sleep_ms(double ms)
{
	long		wait = (long) ceil(ms);

	if (wait <= 0)
		return;
	(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
					 wait, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
}

/*
 * The job's batch that just ended at "now" lasted longer than its work
 * counted (batch_counts_limit_ms): the ticks after that may have been
 * taken as idle while it worked, its own doing in the foreground's
 * latency with them.  Its baseline is measured afresh from now on, as
 * after decreases that did not help (rebase_since): until 2026-12-01 a
 * first batch of 15 s counted for its first 5 s only, and the job's next
 * decisions rested on a baseline of the 10 s it overran (TAP 113).  Other
 * jobs that measured a baseline meanwhile keep it: a batch that has not
 * come back cannot be told from one that never will.  Pure.
 */
static void
rebase_after_overrun(GovState *st, TimestampTz now)
{
	st->rebase_since = now;
	st->rebasing = true;
}

/*
 * After a batch of "rows" rows (0 on the first call and while told to
 * wait): the size of the next batch, or 0 while the pause goes on.  Sleeps
 * at most one slice (steward.governor_interval) per call, so that callers
 * can commit, check for interrupts or other work between slices.  Reads
 * the signals under the governor's LWLock (shared) and updates the job's
 * slot under the slot's spinlock; holds neither while it sleeps.  Errors:
 * none of its own; CHECK_FOR_INTERRUPTS's (57014 on a cancel).
 */
int
steward_governor_pace(StewardGovJob *job, int64 rows)
{
	TimestampTz now = GetCurrentTimestamp();

	if (job->working)
	{
		job->working = false;
		job->work_ended = now;
		job->last_work_ms = (now - job->work_started) / 1000.0;
		if (job->last_work_ms >= batch_counts_limit_ms(job->batch_counts_ms))
			rebase_after_overrun(&job->st, now);
		job->longest_work_ms = Max(job->longest_work_ms, job->last_work_ms);
		job->last_rows = rows;
		job->rows_done += rows;
		if (rows > 0)
			job->batches++;
	}
	else if (rows > 0)
	{
		/* Work reported without a batch handed out (the first call). */
		job->rows_done += rows;
		job->batches++;
	}
	job->last_pace = now;

	for (;;)
	{
		bool		capped;
		double		pause_ms;
		double		left_ms;
		double		slice;

		CHECK_FOR_INTERRUPTS();
		now = GetCurrentTimestamp();
		maybe_decide(job, now);
		if (job->st.paused)
		{
			copy_to_slot(job, GOV_S_PAUSED);
			slice = gov_interval_ms;
		}
		else
		{
			pause_ms = gov_pause_ms(&job->st, job->last_rows, job->last_work_ms, &capped);
			if (capped && job->st.throttled_by == GOV_R_NONE)
				job->st.reason = GOV_R_CAP;
			left_ms = pause_ms - (now - job->work_ended) / 1000.0;
			if (left_ms <= 0)
			{
				/*
				 * Rows per second over about the last five seconds: the last
				 * batch's rows over the time from its start to this one's.
				 */
				if (job->work_started != 0)
				{
					double		dt = Max((now - job->work_started) / 1000.0, 1.0);
					double		inst = job->last_rows * 1000.0 / dt;
					double		alpha = 1.0 - exp(-dt / 5000.0);

					job->rate = job->batches <= 1 ? inst : alpha * inst + (1 - alpha) * job->rate;
				}
				job->working = true;
				job->work_started = now;
				job->batch_counts_ms = 2 * job->longest_work_ms;
				job->last_pace = now;
				copy_to_slot(job, GOV_S_WORKING);
				return job->st.batch;
			}
			copy_to_slot(job, GOV_S_PAUSING);
			slice = Min(left_ms, (double) gov_interval_ms);
		}
		sleep_ms(slice);
		/* One slice per call: go round once more only if that ends the pause. */
		now = GetCurrentTimestamp();
		maybe_decide(job, now);
		if (job->st.paused)
			return 0;
		pause_ms = gov_pause_ms(&job->st, job->last_rows, job->last_work_ms, &capped);
		if (pause_ms - (now - job->work_ended) / 1000.0 > 0)
			return 0;
	}
}

/* steward_governor_end, its slot kept in state final (finished, failed, cancelled). */
static void
governor_end_as(StewardGovJob *job, int64 rows, GovSlotState final)
{
	if (job == NULL || !job->in_use)
		return;
	if (job->working)
	{
		job->work_ended = GetCurrentTimestamp();
		job->rows_done += Max(rows, 0);
		if (rows > 0)
			job->batches++;
	}
	job->working = false;
	release_job(job, final);
}

/*
 * End a job begun with steward_governor_begin (NULL or already ended: a
 * no-op, so error paths may call it twice).  "rows": what the batch handed
 * out last did, when the caller stops after it without reporting it to
 * steward_governor_pace (a short last batch: nothing left); 0 otherwise.
 * Its slot keeps the final decision and totals among the finished jobs
 * steward.governor shows; takes the governor's LWLock exclusively for
 * that.  The local job record is freed for reuse.  Raises nothing.
 */
void
steward_governor_end(StewardGovJob *job, int64 rows)
{
	governor_end_as(job, rows, GOV_S_FINISHED);
}

/* ------------------------------------------------------------------------
 * SQL: jobs written in PL/pgSQL (run_transition, migration backfills)
 * ------------------------------------------------------------------------
 */

/*
 * This session's running job "id": 42704 when it has none of that id,
 * 55000 when a later statement's governor_begin ended it (free_local_job).
 */
static StewardGovJob *
job_by_id(int64 id)
{
	for (int i = 0; i < GOV_MAX_LOCAL_JOBS; i++)
		if (local_jobs[i].in_use && local_jobs[i].id == id)
			return &local_jobs[i];
	for (int i = 0; i < Min(superseded_next, GOV_MAX_LOCAL_JOBS); i++)
		if (superseded_jobs[i] == id)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("governed job " INT64_FORMAT " was ended when this session began another job in a later statement", id),
					 errdetail("A job lasts until steward.governor_end() or until its session begins a job in a later statement, which ends the jobs earlier statements left running (as \"gone\" in steward.governor_jobs)."),
					 errhint("Begin, pace and end a job in one statement: a procedure or DO block that commits between batches.")));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("governed job " INT64_FORMAT " is not running in this session", id),
			 errhint("A job is paced by the session that began it, with steward.governor_begin().")));
	return NULL;				/* keep compiler quiet */
}

/*
 * The kinds of job governor_jobs shows (docs/governor.md):
 * the extension's own (purge, transition, backfill for migrations,
 * relayout) and "backfill" for a job of the user's.  A fixed list, so that
 * the column can be grouped and filtered on.
 */
static bool
job_kind_known(const char *kind)
{
	static const char *const kinds[] = {"backfill", "transition", "relayout", "purge"};

	for (int i = 0; i < lengthof(kinds); i++)
		if (strcmp(kind, kinds[i]) == 0)
			return true;
	return false;
}

/*
 * steward.governor_begin(kind, label, max_batch, max_rows_per_sec, ref):
 * register a job of this session; returns its id.  No locks.
 * Errors: 22023 an unknown kind (job_kind_known) or bad sizes, 22004 null
 * kind, 54000 more than 8 jobs, 53400 a role (not a superuser) holding
 * a quarter of the listed slots already (begin_job).
 */
Datum
steward_governor_begin_sql(PG_FUNCTION_ARGS)
{
	char	   *kind;
	char	   *label;
	int			max_batch;
	int			max_rate;
	int64		ref;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("kind must not be null")));
	kind = text_to_cstring(PG_GETARG_TEXT_PP(0));
	if (!job_kind_known(kind))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a kind of governed job", kind),
				 errhint("Use one of backfill, transition, relayout or purge; a job of your own "
						 "that moves rows is a backfill, and its label says which.")));
	label = PG_ARGISNULL(1) ? "" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	max_batch = PG_ARGISNULL(2) ? 1000 : PG_GETARG_INT32(2);
	max_rate = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3);
	ref = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT64(4);
	if (max_batch < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_batch must be at least 1")));
	if (!PG_ARGISNULL(3) && max_rate < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows_per_sec must be at least 1")));
	PG_RETURN_INT64(begin_job(kind, label, ref, max_batch, max_rate, true)->id);
}

/*
 * steward.governor_pace(job, rows): after a batch of "rows" rows (0 on the
 * first call), the size of the next batch, or 0 while the governor wants
 * the job to wait: commit, then call again with rows = 0.  Sleeps at most
 * steward.governor_interval per call, so a caller that commits in between
 * holds no snapshot across a long pause.  Locks as steward_governor_pace.
 * Errors: 42704 not a job of this session, 22023 negative rows, 57014 on a
 * cancel.
 */
Datum
steward_governor_pace_sql(PG_FUNCTION_ARGS)
{
	StewardGovJob *job;

	steward_require_arg(fcinfo, 0, "job");
	if (!PG_ARGISNULL(1) && PG_GETARG_INT64(1) < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rows must not be negative"),
				 errdetail("Got " INT64_FORMAT ".", PG_GETARG_INT64(1)),
				 errhint("Pass the rows the last batch moved, or 0 on the first call and after a pause.")));
	job = job_by_id(PG_GETARG_INT64(0));
	PG_RETURN_INT32(steward_governor_pace(job, PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1)));
}

/*
 * steward.governor_end(job [, outcome]): the job is over; a job that is
 * not running in this session (ended, gone, another session's) is ignored,
 * unlike governor_pace: an EXCEPTION handler calls it, and an error there
 * would hide the one it handles (docs/governor.md, readme40 N4).  outcome ('finished', 'failed' or 'cancelled';
 * 22023 else) is the state steward.governor_jobs shows it in.  Takes the
 * governor's LWLock exclusively to retire the job's slot.
 */
Datum
steward_governor_end_sql(PG_FUNCTION_ARGS)
{
	GovSlotState final = GOV_S_FINISHED;

	if (PG_NARGS() > 1 && !PG_ARGISNULL(1))
	{
		char	   *outcome = text_to_cstring(PG_GETARG_TEXT_PP(1));

		if (strcmp(outcome, "failed") == 0)
			final = GOV_S_FAILED;
		else if (strcmp(outcome, "cancelled") == 0)
			final = GOV_S_CANCELLED;
		else if (strcmp(outcome, "finished") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown job outcome \"%s\"", outcome),
					 errhint("Pass 'finished', 'failed' or 'cancelled'.")));
	}
	if (!PG_ARGISNULL(0))
	{
		int64		id = PG_GETARG_INT64(0);

		for (int i = 0; i < GOV_MAX_LOCAL_JOBS; i++)
			if (local_jobs[i].in_use && local_jobs[i].id == id)
				governor_end_as(&local_jobs[i], 0, final);
	}
	PG_RETURN_VOID();
}

/* ------------------------------------------------------------------------
 * SQL: views
 * ------------------------------------------------------------------------
 */

static void
put_job(Tuplestorestate *ts, TupleDesc desc, const GovSlot *s)
{
	Datum		values[25];
	bool		nulls[25] = {0};
	int			i = 0;
	bool		done = s->state >= GOV_S_FINISHED;
	double		ratio = gov_ratio(&s->sig, gov_min_calls);

	/*
	 * The label (a table's name, a database's) and ref only to the roles
	 * pg_stat_activity shows a session's query to: members of the role that
	 * began the job, and pg_read_all_stats.
	 */
	bool		visible = has_privs_of_role(GetUserId(), s->userid) ||
		has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	values[i++] = Int64GetDatum(s->id);
	values[i++] = CStringGetTextDatum(s->kind);
	values[i] = CStringGetTextDatum(s->label);
	nulls[i++] = !visible;
	values[i] = Int64GetDatum(s->ref);
	nulls[i++] = s->ref == 0 || !visible;
	values[i++] = Int32GetDatum(s->pid);
	values[i] = ObjectIdGetDatum(s->dbid);
	nulls[i++] = !OidIsValid(s->dbid);
	/* A job silent for GOV_STALE_S is shown as such. */
	if (!done && GetCurrentTimestamp() - s->last_pace > (TimestampTz) GOV_STALE_S * USECS_PER_SEC)
		values[i++] = CStringGetTextDatum("stale");
	else
		values[i++] = CStringGetTextDatum(state_names[s->state]);
	values[i++] = Int32GetDatum(s->st.paused ? 0 : s->st.batch);
	values[i++] = Int32GetDatum(s->st.max_batch);
	values[i++] = Float8GetDatum(round(s->st.duty * 1000) / 1000);
	values[i++] = Float8GetDatum(round(s->rate * 10) / 10);
	values[i] = Int32GetDatum(s->st.max_rate);
	nulls[i++] = s->st.max_rate == 0;
	values[i++] = Int64GetDatum(s->rows_done);
	values[i++] = Int64GetDatum(s->batches);
	values[i] = CStringGetTextDatum(decision_names[s->st.decision]);
	nulls[i++] = s->last_decision_at == 0;
	values[i] = CStringGetTextDatum(reason_names[s->st.reason]);
	nulls[i++] = s->last_decision_at == 0;
	values[i] = CStringGetTextDatum(reason_names[s->st.reason == GOV_R_CAP ? GOV_R_CAP : s->st.throttled_by]);
	nulls[i++] = s->st.throttled_by == GOV_R_NONE && s->st.reason != GOV_R_CAP;
	values[i] = Float8GetDatum(ratio);
	nulls[i++] = ratio == 0;
	values[i] = Float8GetDatum(s->sig.lag_ms);
	nulls[i++] = s->sig.lag_ms < 0;
	values[i++] = Int64GetDatum((int64) pg_atomic_read_u64(&((GovSlot *) s)->lock_wait_samples));
	values[i++] = Int64GetDatum(s->st.counts[GOV_D_INCREASE] + s->st.counts[GOV_D_FULL]);
	values[i++] = Int64GetDatum(s->st.counts[GOV_D_DECREASE]);
	values[i++] = Int64GetDatum(s->st.counts[GOV_D_PAUSE]);
	values[i++] = TimestampTzGetDatum(s->started_at);
	values[i] = TimestampTzGetDatum(s->finished_at);
	nulls[i++] = !done;
	Assert(i == 25);
	tuplestore_putvalues(ts, desc, values, nulls);
}

/*
 * steward._governor_jobs(): running jobs, then the last finished ones.
 * Under the governor's LWLock (shared), each slot copied under its
 * spinlock.  None without the shared area.  Raises nothing of its own.
 */
Datum
steward_governor_jobs(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GovSlot    *copy = palloc(sizeof(GovSlot));

	InitMaterializedSRF(fcinfo, 0);
	if (gov == NULL)
		return (Datum) 0;
	LWLockAcquire(gov->lock, LW_SHARED);
	for (int pass = 0; pass < 2; pass++)
	{
		int			n = pass == 0 ? GOV_MAX_JOBS : gov->finished_count;

		for (int k = 0; k < n; k++)
		{
			GovSlot    *s = pass == 0 ? &gov->slots[k]
				: &gov->finished[(gov->finished_next - 1 - k + GOV_FINISHED) % GOV_FINISHED];

			SpinLockAcquire(&s->mutex);
			if (!s->in_use)
			{
				SpinLockRelease(&s->mutex);
				continue;
			}
			memcpy(copy, s, sizeof(GovSlot));
			SpinLockRelease(&s->mutex);
			put_job(rsinfo->setResult, rsinfo->setDesc, copy);
		}
	}
	LWLockRelease(gov->lock);
	return (Datum) 0;
}

/*
 * steward._governor_status(): one row, what a job deciding now would see,
 * and the settings.  Reads the signals under the governor's LWLock
 * (shared).  Raises nothing of its own (elog ERROR if called with another
 * result type).
 */
Datum
steward_governor_status(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	GovSignals	sig;
	GovSettings set;
	Datum		values[20];
	bool		nulls[20] = {0};
	int			i = 0;
	double		ratio;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	current_settings(&set);
	read_signals(&sig, GetCurrentTimestamp(), 0);
	ratio = gov_ratio(&sig, set.min_calls);

	values[i++] = BoolGetDatum(set.enabled);
	values[i++] = BoolGetDatum(gov != NULL);
	values[i++] = Int64GetDatum((int64) sig.calls);
	values[i] = Float8GetDatum(sig.p99_ms);
	nulls[i++] = sig.calls == 0;
	values[i++] = Int64GetDatum((int64) sig.base_calls);
	values[i] = Float8GetDatum(sig.base_p99_ms);
	nulls[i++] = sig.base_calls == 0;
	values[i++] = Int64GetDatum((int64) sig.commits);
	values[i] = Float8GetDatum(sig.commit_p99_ms);
	nulls[i++] = sig.commits == 0;
	values[i++] = Int64GetDatum((int64) sig.base_commits);
	values[i] = Float8GetDatum(sig.base_commit_p99_ms);
	nulls[i++] = sig.base_commits == 0;
	values[i] = Float8GetDatum(ratio);
	nulls[i++] = ratio == 0;
	values[i] = Float8GetDatum(sig.wal_ms);
	nulls[i++] = sig.wal_ms < 0;
	values[i] = Float8GetDatum(sig.base_wal_ms);
	nulls[i++] = sig.base_wal_ms < 0;
	values[i] = Float8GetDatum(sig.cpu);
	nulls[i++] = sig.cpu < 0;
	values[i] = Float8GetDatum(sig.base_cpu);
	nulls[i++] = sig.base_cpu < 0;
	values[i] = Float8GetDatum(sig.lag_ms);
	nulls[i++] = sig.lag_ms < 0;
	values[i++] = Float8GetDatum(set.target);
	values[i++] = Float8GetDatum(set.critical);
	values[i] = Int32GetDatum(gov_max_lag_ms);
	nulls[i++] = gov_max_lag_ms == 0;
	values[i] = TimestampTzGetDatum(gov ? gov->sim_until : 0);
	nulls[i++] = !sig.simulated;
	Assert(i == 20);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* The (decision, reason) pairs gov_decide() can make: each is a metric series. */
static bool
decision_pair(int d, int r)
{
	switch (d)
	{
		case GOV_D_FULL:
			return r == GOV_R_NO_FOREGROUND || r == GOV_R_DISABLED;
		case GOV_D_INCREASE:
			return r == GOV_R_NONE || r == GOV_R_NO_BASELINE;
		case GOV_D_HOLD:
			return r == GOV_R_NONE || r == GOV_R_NO_BASELINE || r == GOV_R_P99 ||
				r == GOV_R_WAL || r == GOV_R_CPU || r == GOV_R_LAG;
		case GOV_D_DECREASE:
			return r == GOV_R_P99 || r == GOV_R_WAL || r == GOV_R_CPU || r == GOV_R_LAG ||
				r == GOV_R_LOCK_WAITS;
		case GOV_D_PAUSE:
			return r == GOV_R_P99_CRITICAL || r == GOV_R_LAG_CRITICAL || r == GOV_R_BASELINE;
	}
	return false;
}

/*
 * steward._governor_decisions(): (decision, reason, count) for every pair
 * it can make.  Atomic reads, no lock (a count may be one behind);
 * raises nothing.
 */
Datum
steward_governor_decisions(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int d = 0; d < GOV_NUM_DECISIONS; d++)
		for (int r = 0; r < GOV_NUM_REASONS; r++)
		{
			Datum		values[3];
			bool		nulls[3] = {0};

			if (!decision_pair(d, r))
				continue;
			values[0] = CStringGetTextDatum(decision_names[d]);
			values[1] = CStringGetTextDatum(reason_names[r]);
			values[2] = Int64GetDatum(gov ? (int64) pg_atomic_read_u64(&gov->decisions[d][r]) : 0);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	return (Datum) 0;
}

/* The longest replication_lag or duration governor_simulate accepts. */
#define GOV_SIM_MAX_YEARS 100

/*
 * An interval argument of governor_simulate ("what") in microseconds (a
 * month as 30 days), computed in double so that no interval overflows it:
 * 22023 when negative or longer than GOV_SIM_MAX_YEARS (until = now +
 * duration must stay a timestamp).
 */
static double
simulate_interval_us(const Interval *iv, const char *what)
{
	double		us = (double) iv->time + (double) iv->day * USECS_PER_DAY +
		(double) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;

	if (us < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", what),
				 strcmp(what, "duration") == 0 ?
				 errhint("A duration of 0 ends the simulation.") : 0));
	if (us > (double) GOV_SIM_MAX_YEARS * MONTHS_PER_YEAR * DAYS_PER_MONTH * USECS_PER_DAY)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is too long", what),
				 errdetail("Got %s; the longest is %d years.",
						   DatumGetCString(DirectFunctionCall1(interval_out,
															   IntervalPGetDatum(iv))),
						   GOV_SIM_MAX_YEARS)));
	return us;
}

/*
 * steward.governor_simulate(p99_ratio, replication_lag, duration): for
 * duration, every governed job sees the foreground's p99 at p99_ratio
 * times its baseline and/or the given replication lag instead of the
 * measured ones (NULL: measured).  A drill: check that jobs back off and
 * come back.  duration 0 ends it.  Returns when it ends.  Revoked from
 * PUBLIC.  Takes the governor's LWLock exclusively to set the
 * simulation.  Errors: 55000 without shared_preload_libraries, 22023.
 */
Datum
steward_governor_simulate(PG_FUNCTION_ARGS)
{
	double		ratio = PG_ARGISNULL(0) ? -1 : PG_GETARG_FLOAT8(0);
	double		lag_ms = -1;
	Interval   *dur;
	TimestampTz until;

	if (gov == NULL)
		steward_preload_error("the governor");
	if (!PG_ARGISNULL(0) && !(ratio >= 0 && ratio < 1e6))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("p99_ratio must be between 0 and 1000000")));
	if (!PG_ARGISNULL(1))
		lag_ms = simulate_interval_us(PG_GETARG_INTERVAL_P(1), "replication_lag") / 1000.0;
	steward_require_arg(fcinfo, 2, "duration");
	dur = PG_GETARG_INTERVAL_P(2);
	(void) simulate_interval_us(dur, "duration");
	/* cannot overflow: now + 100 years */
	until = DatumGetTimestampTz(DirectFunctionCall2(timestamptz_pl_interval,
													TimestampTzGetDatum(GetCurrentTimestamp()),
													PointerGetDatum(dur)));
	LWLockAcquire(gov->lock, LW_EXCLUSIVE);
	gov->sim_p99_ratio = ratio;
	gov->sim_lag_ms = lag_ms;
	gov->sim_until = until;
	LWLockRelease(gov->lock);
	PG_RETURN_TIMESTAMPTZ(until);
}

/*
 * One signal of governor_trace (argument argno, called "what"): a NULL
 * argument is no signal (*n = 0); else a one-dimensional array, one
 * element per tick (2202E for more dimensions: a {{1,2},{3,4}} was read
 * as four ticks), without NULL elements unless nulls_ok (p99_ratio, where
 * NULL is a tick without foreground load; 22004 elsewhere, where a NULL
 * meant nothing documented and was read as no wait, no lag).  Raises only
 * these; no lock.
 */
static void
trace_signal(FunctionCallInfo fcinfo, int argno, const char *what, bool nulls_ok,
			 Datum **elems, bool **nulls, int *n)
{
	ArrayType  *arr;
	Oid			elemtype;

	*n = 0;
	/* An argument the installed SQL does not declare yet (before ALTER EXTENSION UPDATE). */
	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return;
	arr = PG_GETARG_ARRAYTYPE_P(argno);
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("%s must be a one-dimensional array", what),
				 errdetail("It has %d dimensions.", ARR_NDIM(arr)),
				 errhint("Give one element per tick, for example ARRAY[1, 1.5, 1].")));
	elemtype = ARR_ELEMTYPE(arr);
	if (elemtype == FLOAT8OID)
		deconstruct_array(arr, FLOAT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, elems, nulls, n);
	else
		deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, elems, nulls, n);
	if (!nulls_ok && array_contains_nulls(arr))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not contain NULL elements", what),
				 errhint("Give a value for every tick, or leave %s out (NULL) for none.", what)));
}

/*
 * Refuse (22023) signals of governor_trace of different lengths: each
 * array gives one element per tick, and a shorter one was read as no
 * signal in the ticks past its end.  n: the length of signal "what" (0:
 * not given); steps: the longest.  Raises only that; no lock.
 */
static void
trace_same_length(int n, const char *what, int steps)
{
	if (n == 0 || n == steps)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("the signals of a trace must have the same length"),
			 errdetail("%s has %d elements, another signal %d.", what, n, steps),
			 errhint("Give every signal one element per tick; leave one out (NULL) for none.")));
}

/*
 * A trace's tick with the p99 ratio since the job began given: a run so
 * far long enough to count, of as many statements as the baseline (whose
 * p99 is 1 ms).  Pure.
 */
static void
trace_job_ratio(GovSignals *sig, const GovSettings *set, double ratio)
{
	sig->job_secs = GOV_JOB_MIN_WINDOWS * set->window_ms / 1000.0;
	sig->job_calls = sig->base_calls;
	sig->job_p99_ms = ratio * sig->base_p99_ms;
}

/*
 * One row of governor_trace for tick "step": the decision in st and the
 * pace it sets (pause_ms after a batch that takes row_ms per row).  No
 * lock; raises only the tuplestore's errors.
 */
static void
trace_put_row(ReturnSetInfo *rsinfo, int step, const GovState *st, double pause, double row_ms)
{
	Datum		values[8];
	bool		nulls[8] = {0};

	values[0] = Int32GetDatum(step);
	values[1] = CStringGetTextDatum(decision_names[st->decision]);
	values[2] = CStringGetTextDatum(reason_names[st->reason]);
	values[3] = CStringGetTextDatum(reason_names[st->reason == GOV_R_CAP ? GOV_R_CAP : st->throttled_by]);
	nulls[3] = st->throttled_by == GOV_R_NONE && st->reason != GOV_R_CAP;
	values[4] = Float8GetDatum(round(st->duty * 1000) / 1000);
	values[5] = Int32GetDatum(st->paused ? 0 : st->batch);
	values[6] = Float8GetDatum(round(pause * 100) / 100);
	nulls[6] = st->paused;
	values[7] = Float8GetDatum(st->paused ? 0 :
							   round(st->batch * 1000.0 / (st->batch * row_ms + pause)));
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * The idle ticks of a trace, newest first: the baseline's window's worth
 * taken before the job began (one a second up to its start, at the load
 * TRACE_LOAD), then every tick after three decisions in a row that paused
 * (the tick the job last worked in and the next one are never idle).
 */
#define TRACE_LOAD	1000.0		/* statements a second of load_ratio 1 */
typedef struct TraceIdle
{
	TimestampTz ts[GOV_IDLE_RING];
	double		load[GOV_IDLE_RING];
	int			n;
	uint32		paused;			/* bit k: the decision k + 1 steps ago paused */
} TraceIdle;

static void
trace_idle_push(TraceIdle *idle, TimestampTz ts, double load)
{
	memmove(idle->ts + 1, idle->ts, sizeof(TimestampTz) * (GOV_IDLE_RING - 1));
	memmove(idle->load + 1, idle->load, sizeof(double) * (GOV_IDLE_RING - 1));
	idle->ts[0] = ts;
	idle->load[0] = load;
	idle->n = Min(idle->n + 1, GOV_IDLE_RING);
}

static void
trace_idle_init(TraceIdle *idle, const GovSettings *set)
{
	int			need = baseline_ticks(set->window_ms, set->interval_ms);

	memset(idle, 0, sizeof(TraceIdle));
	for (int k = need - 1; k >= 0; k--)
		trace_idle_push(idle, -(TimestampTz) (k * set->interval_ms * 1000), TRACE_LOAD);
}

/* The tick ending at t (load: 0 unknown, taken as TRACE_LOAD) is idle? */
static void
trace_idle_tick(TraceIdle *idle, TimestampTz t, double load)
{
	if ((idle->paused & 7) == 7)
		trace_idle_push(idle, t, load > 0 ? load : TRACE_LOAD);
}

/*
 * The trace's baseline at t: the real selection (select_baseline) over the
 * modelled idle ticks, its load their mean (0, unknown, when the trace
 * gives no load_ratio).  A baseline measured afresh (st->rebase_since)
 * counts, as before gov15, the ticks since less two.
 */
static void
trace_baseline(const TraceIdle *idle, GovSignals *sig, const GovState *st,
			   const GovSettings *set, TimestampTz t)
{
	int			need = baseline_ticks(set->window_ms, set->interval_ms);
	bool		take[GOV_IDLE_RING];
	double		sum = 0;
	int			used = 0;

	select_baseline(idle->ts, idle->load, idle->n, t, st->rebase_since, need,
					set->keep_baseline, sig, take);
	for (int k = 0; k < idle->n; k++)
		if (take[k])
		{
			sum += idle->load[k];
			used++;
		}
	sig->base_load_per_s = used > 0 ? sum / used : 0;
	if (st->rebase_since != 0)
	{
		int			since = (int) ((t - st->rebase_since) / (set->interval_ms * 1000.0)) - 2;

		sig->base_ticks = sig->base_ticks_fresh = sig->base_ticks_recent = Min(need, Max(since, 0));
	}
}

/*
 * steward.governor_trace(p99_ratio[], replication_lag_ms[], lock_waits[],
 * foreground_calls[], cpu_pressure[], max_batch, max_rows_per_sec,
 * row_ms, job_p99_ratio[], wal_wait_ms[], load_ratio[]): run the
 * decision rule over a sequence of ticks with these signals (a NULL
 * p99_ratio element: no foreground load in that tick; a NULL
 * job_p99_ratio element: the job's run so far not known yet; wal_wait_ms
 * against a WAL-wait baseline of 0; load_ratio the foreground's
 * statements a second over those of the baseline taken before the job,
 * NULL unknown; the baseline's idle ticks age, TraceIdle) under the current
 * settings, and show each decision and the pace it sets for a batch that
 * takes row_ms per row.  Pure: touches no shared state, takes no lock.
 * Errors: 22023 max_batch or max_rows_per_sec below 1, row_ms not
 * positive, or signals of different lengths (trace_same_length); 2202E a
 * signal of more than one dimension, 22004 a NULL element of a signal
 * other than p99_ratio (trace_signal); 54000 more than 100000 steps.
 */
Datum
steward_governor_trace(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GovSettings set;
	GovState	st;
	Datum	   *ratios = NULL,
			   *lags = NULL,
			   *locks = NULL,
			   *calls = NULL,
			   *cpus = NULL,
			   *jobs = NULL,
			   *wals = NULL,
			   *loads = NULL;
	bool	   *rnulls = NULL,
			   *lnulls = NULL,
			   *knulls = NULL,
			   *cnulls = NULL,
			   *unulls = NULL,
			   *jnulls = NULL,
			   *wnulls = NULL,
			   *onulls = NULL;
	int			nr = 0,
				nl = 0,
				nk = 0,
				nc = 0,
				nu = 0,
				nj = 0,
				nw = 0,
				no = 0;
	int			max_batch = PG_ARGISNULL(5) ? 1000 : PG_GETARG_INT32(5);
	int			max_rate = PG_ARGISNULL(6) ? 0 : PG_GETARG_INT32(6);
	double		row_ms = PG_ARGISNULL(7) ? 0.01 : PG_GETARG_FLOAT8(7);
	int			steps;
	TimestampTz t = (TimestampTz) gov_interval_ms * 1000;
	TraceIdle	idle;

	if (max_batch < 1 || (!PG_ARGISNULL(6) && max_rate < 1) || !(row_ms > 0 && row_ms < 1e6))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_batch and max_rows_per_sec must be at least 1, row_ms positive")));
	trace_signal(fcinfo, 0, "p99_ratio", true, &ratios, &rnulls, &nr);
	trace_signal(fcinfo, 1, "replication_lag_ms", false, &lags, &lnulls, &nl);
	trace_signal(fcinfo, 2, "lock_waits", false, &locks, &knulls, &nk);
	trace_signal(fcinfo, 3, "foreground_calls", false, &calls, &cnulls, &nc);
	trace_signal(fcinfo, 4, "cpu_wait_ratio", false, &cpus, &unulls, &nu);
	trace_signal(fcinfo, 8, "job_p99_ratio", true, &jobs, &jnulls, &nj);
	trace_signal(fcinfo, 9, "wal_wait_ms", false, &wals, &wnulls, &nw);
	trace_signal(fcinfo, 10, "load_ratio", false, &loads, &onulls, &no);
	steps = Max(Max(Max(nr, nl), Max(nk, nc)), Max(Max(nu, no), Max(nj, nw)));
	trace_same_length(nr, "p99_ratio", steps);
	trace_same_length(nl, "replication_lag_ms", steps);
	trace_same_length(nk, "lock_waits", steps);
	trace_same_length(nc, "foreground_calls", steps);
	trace_same_length(nu, "cpu_wait_ratio", steps);
	trace_same_length(nj, "job_p99_ratio", steps);
	trace_same_length(nw, "wal_wait_ms", steps);
	trace_same_length(no, "load_ratio", steps);
	if (steps > 100000)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("a trace has at most 100000 steps")));

	InitMaterializedSRF(fcinfo, 0);
	current_settings(&set);
	set.enabled = gov_enabled;
	gov_init_state(&st, max_batch, max_rate);
	trace_idle_init(&idle, &set);
	for (int i = 0; i < steps; i++)
	{
		GovSignals	sig;
		bool		capped = false;
		double		pause = 0;
		double		load;

		memset(&sig, 0, sizeof(sig));
		sig.tick = i + 1;
		/* WAL wait per statement, ms, against a baseline of 0. */
		sig.wal_ms = (i < nw && !wnulls[i]) ? DatumGetFloat8(wals[i]) : -1;
		sig.base_wal_ms = sig.wal_ms >= 0 ? 0 : -1;
		/* Run-queue wait per statement, as a ratio of a 0.1 ms baseline. */
		sig.cpu = (i < nu && !unulls[i]) ? 0.1 * DatumGetFloat8(cpus[i]) : -1;
		sig.base_cpu = sig.cpu >= 0 ? 0.1 : -1;
		sig.base_calls = 1000;
		load = (i < no && !onulls[i]) ? TRACE_LOAD * DatumGetFloat8(loads[i]) : 0;
		trace_idle_tick(&idle, t, load);
		trace_baseline(&idle, &sig, &st, &set, t);
		sig.load_per_s = load;
		sig.base_p99_ms = 1.0;
		if (i < nr && !rnulls[i])
		{
			sig.calls = 1000;
			sig.p99_ms = DatumGetFloat8(ratios[i]);
		}
		if (i < nc && !cnulls[i])
			sig.calls = DatumGetInt32(calls[i]);
		sig.recent_calls = sig.calls;
		if (i < nj && !jnulls[i])
			trace_job_ratio(&sig, &set, DatumGetFloat8(jobs[i]));
		sig.lag_ms = (i < nl && !lnulls[i]) ? DatumGetFloat8(lags[i]) : -1;
		sig.lock_waits = (i < nk && !knulls[i]) ? Max(DatumGetInt32(locks[i]), 0) : 0;
		sig.lock_ticks = 1;
		sig.window_s = set.window_ms / 1000.0;
		gov_decide(&st, &sig, &set, t);
		idle.paused = (idle.paused << 1) | (st.paused ? 1 : 0);
		if (!st.paused)
		{
			pause = gov_pause_ms(&st, st.batch, st.batch * row_ms, &capped);
			if (capped && st.throttled_by == GOV_R_NONE)
				st.reason = GOV_R_CAP;
		}
		trace_put_row(rsinfo, i + 1, &st, pause, row_ms);
		t += (TimestampTz) gov_interval_ms * 1000;
	}
	return (Datum) 0;
}
