/*-------------------------------------------------------------------------
 *
 * statements.c
 *	  Per-statement latency statistics with percentiles.
 *
 * Like pg_stat_statements, entries are keyed by (userid, dbid, queryid,
 * toplevel) and kept in shared memory; unlike it, every entry carries a
 * log-linear latency histogram, so p50 ... p99.9 are available with at most
 * 1% relative error, plus failed executions and slow calls.
 *
 * What is a statement (README.md "Statements" has the whole contract):
 * every top-level statement a client sends is counted once, whatever path
 * it takes: simple and extended protocol, SQL PREPARE/EXECUTE (counted as
 * the prepared statement), cursors, COPY, utility statements (under
 * steward.track_utility), and statements inside functions under
 * steward.track = all.  A statement is top-level when it runs at nesting
 * level 0 on behalf of the client: inside a portal (ActivePortal) or
 * analyzed/planned from the client's own query string
 * (debug_query_string).  Queries that run at level 0 outside both, such as
 * the foreign-key checks that deferred triggers run at COMMIT, are not
 * statements of their own.
 *
 * Errors are counted wherever a statement fails -- parse analysis,
 * planning, executor start, run, finish (AFTER triggers, foreign keys) --
 * by the transaction callbacks: a statement "in flight" when its
 * (sub)transaction aborts has failed.  The last statement before an
 * implicit commit (autocommit, or an explicit COMMIT) is only counted as a
 * call once the commit succeeded, so a deferred constraint failing at
 * commit makes it an error instead.
 *
 * Never the reason a statement fails: collection code that can fail
 * (normalization, allocation) runs under steward_collect() (collect.c),
 * which swallows and counts its errors; the transaction callbacks do not
 * allocate at all.  Normalization lexes with the server's own scanner and
 * the session's settings, and checks that every constant the query jumble
 * located starts a token; otherwise it tries the other value of
 * standard_conforming_strings (the raw parser may have lexed the string
 * before a SET in the same string changed it), and falls back to
 * replacing every literal token.  The stored text is always the
 * statement's own part of the query string, constants replaced, cut on a
 * character boundary -- never the raw string.
 *
 * Histogram: bucket 0 holds durations under 1 us; bucket b >= 1 holds
 * [g^(b-1), g^b) us with g = 1.02.  Reporting a bucket by its geometric
 * midpoint is off by at most sqrt(1.02) - 1 < 1%.  1100 buckets reach
 * 2.9e9 us (48 minutes); longer calls land in the last bucket (and max_ms
 * stays exact).
 *
 * Memory: steward.max_statements entries, preallocated.  When full, the
 * least used statements (usage: calls and errors, decayed at every
 * eviction; new entries start at the mean so a running statement is not
 * evicted first) are evicted until 5% of the entries are free, and their
 * counts and histogram are added to one "evicted statements" entry per
 * database, so the totals exported to Prometheus never decrease.  A
 * statement (database, queryid) goes with all its entries (every user,
 * top level or nested), its usage their sum: the per-statement sums the
 * example exporter exports then never decrease either -- the statement's
 * series ends, and starts again from zero if it comes back.
 *
 * Locking: one LWLock guards the hash table's membership (shared to find
 * an entry and update it, exclusive to create or evict); each entry's
 * counters are guarded by its own spinlock.  See README.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <math.h>
#include <sys/stat.h>

#include "access/genam.h"
#include "access/parallel.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "fmgr.h"
#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "parser/parsetree.h"
#include "parser/scanner.h"
#include "parser/scansup.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/queryjumble.h"

/* Token numbers of the core scanner; must come after parser/scanner.h. */
#include "parser/gram.h"

#include "pg_steward.h"
#include "plumbing/preload.h"
#include "plumbing/settings.h"
#include "plumbing/utility.h"
#include "stats/collect.h"
#include "stats/history.h"
#include "stats/statements.h"
#include "stats/statsfile.h"
#include "stats/waits.h"

#define STMT_AREA		"pg_steward statements"	/* and its LWLock tranche */
#define STMT_DUMP_FILE		"pg_stat/pg_steward_statements.stat"
#define STMT_FILE_MAGIC		0x53545333	/* "STS3" */
#define STMT_HIST_BUCKETS	1100
#define STMT_HIST_GROWTH	1.02
StaticAssertDecl(STMT_HIST_BUCKETS == STEWARD_STMT_HIST_BUCKETS,
				 "statements.h describes the histogram");
#define STMT_TEXT_BYTES		1024
#define STMT_EVICT_PERCENT	5
#define STMT_USAGE_DECAY	0.99

/* The per-database entry that keeps the counts of evicted statements. */
#define STMT_EVICTED_QUERYID UINT64CONST(0)

/*
 * Slots (one per nesting level) and open executor runs are kept in arrays
 * that start at this size and grow on demand, at statement start (under
 * steward_collect), so track = all counts statements at any depth.
 */
#define STMT_INITIAL_SLOTS	16

typedef struct StmtKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
	bool		toplevel;
	uint8		kind;			/* STMT_KIND_* flags; 0: a client's query */
} StmtKey;

/*
 * What the governor must not take for the foreground's latency (what an
 * application's users feel): a utility statement (DDL, VACUUM, COPY, DO,
 * CALL, EXPLAIN, cursor commands; not EXECUTE, whose prepared query counts
 * as a client's query), and any statement of a process other than a client
 * backend (pg_steward's own workers, other background workers).  In the
 * key so that each entry's histogram is of one kind; a utility statement's
 * queryid (a hash of its text) and a worker's statements are never a
 * client's query's too, so no row of steward.statements splits.
 */
#define STMT_KIND_UTILITY		0x01
#define STMT_KIND_BACKGROUND	0x02

typedef struct StmtEntry
{
	StmtKey		key;			/* hash key: must be first */
	slock_t		mutex;
	int64		calls;
	int64		errors;
	int64		rows;
	int64		slow_calls;
	int64		blks_hit;
	int64		blks_read;
	int64		evicted;		/* the evicted-statements entry: how many */
	double		total_ms;
	double		max_ms;
	double		usage;
	uint32		hist[STMT_HIST_BUCKETS];
	int			query_len;
	char		query[STMT_TEXT_BYTES];
} StmtEntry;

typedef struct StmtShared
{
	LWLock	   *lock;
	double		mean_usage;		/* usage given to new entries */
	/* Times entries were removed (evictions, reset); changed under the lock. */
	pg_atomic_uint64 removals;
} StmtShared;

typedef enum StmtTrack
{
	STMT_TRACK_NONE,
	STMT_TRACK_TOP,
	STMT_TRACK_ALL
} StmtTrack;

static const struct config_enum_entry track_options[] = {
	{"none", STMT_TRACK_NONE, false},
	{"top", STMT_TRACK_TOP, false},
	{"all", STMT_TRACK_ALL, false},
	{NULL, 0, false}
};

int			steward_max_statements = 1000;
/*
 * steward.slow_query_threshold, and its 0.1 name steward.slow_query_ms.
 * Superuser-only (PGC_SUSET, as core's log_min_duration_statement): the
 * slow calls it counts are shared statistics behind steward.health and
 * the slow-call alerts, which a role setting 0 in its own session could
 * otherwise inflate (review9 F26).
 */
static int	slow_query_threshold = 100;
static int	slow_query_ms = 100;
static StewardRenamedSetting slow_query_setting = {
	"steward.slow_query_threshold", "steward.slow_query_ms"
};
bool		steward_track_statements = true;
static int	steward_track = STMT_TRACK_TOP;
static bool steward_track_utility = true;

static StmtShared *stmt_shared = NULL;
static HTAB *stmt_hash = NULL;
static double log_growth;

/* Called after each top-level statement is counted (the governor's); or NULL. */
static void (*toplevel_observer) (void) = NULL;

/* ------------------------------------------------------------------------
 * Backend-local state of the statements being executed
 * ------------------------------------------------------------------------
 */

/*
 * Nesting level: raised while the executor runs, while the planner runs,
 * and while a utility statement runs (except EXECUTE and PREPARE, whose
 * statement is the prepared one).  What runs at a raised level is nested,
 * never top-level.
 */
static int	nesting_level = 0;

/*
 * A statement in flight, one per nesting level (slot 0: top level; a
 * nested statement started at level L uses slot L + 1).  If its
 * (sub)transaction aborts while it is in flight, it failed.  "text" is its
 * normalized text when we had to produce it (the entry did not exist),
 * so that an error can create the entry without lexing in an abort
 * callback.
 */
typedef struct StmtSlot
{
	bool		active;
	bool		last_in_string; /* nothing of the query string follows */
	StmtKey		key;
	int			text_len;		/* -1: no text */
	char	   *text;			/* STMT_TEXT_BYTES, in TopMemoryContext */
	bool		seen;			/* its entry existed when removals was seen */
	uint64		seen_removals;
} StmtSlot;

static StmtSlot *slots = NULL;
static int	nslots = 0;

/*
 * The last entry_exists() that found its entry, for the slot_begin() that
 * follows it: a statement whose entry was seen, and no entry removed
 * since, needs no text to be counted.
 */
static bool exists_seen = false;
static StmtKey exists_seen_key;
static uint64 exists_seen_removals;

/*
 * Statements this backend counted lately (by queryid, direct-mapped), with
 * the removal count under which each entry was last found: the executions
 * of a prepared statement start without a lookup, and this spares them
 * one at their end (seen in slot_begin) while no entry was removed since.
 */
#define SEEN_CACHE_SIZE 64
static struct
{
	bool		valid;
	StmtKey		key;
	uint64		removals;
} seen_cache[SEEN_CACHE_SIZE];

/* The last top-level statement of an implicit transaction, awaiting commit. */
static struct
{
	bool		valid;
	StmtKey		key;
	double		ms;
	uint64		rows;
	int64		blks_hit;
	int64		blks_read;
	const char *text;			/* slot 0's text buffer, or NULL */
	int			text_len;
} pending;

/* Executor runs we measure: started tracked, counted at ExecutorEnd. */
typedef struct OpenRun
{
	QueryDesc  *qd;
	int			slot;
	StmtKey		key;
	SubTransactionId subid;
} OpenRun;

static OpenRun *open_runs = NULL;
static int	nopen_runs = 0;
static int	maxopen_runs = 0;

/* A top-level BEGIN/START TRANSACTION was run in this transaction. */
static bool explicit_block = false;
static bool explicit_after_end = false; /* COMMIT/ROLLBACK AND CHAIN */

/* Inside a top-level EXECUTE: its position decides what follows. */
static bool in_top_execute = false;
static bool top_execute_last = false;

/* Preallocated for evictions, which run under the exclusive lock. */
static StmtEntry **evict_array = NULL;

/* A statement's entries in evict_array (sorted by statement) and usage. */
typedef struct StmtGroup
{
	int			first;
	int			n;
	double		usage;
} StmtGroup;
static StmtGroup *evict_groups = NULL;

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static planner_hook_type prev_planner = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;

PG_FUNCTION_INFO_V1(steward_statements);
PG_FUNCTION_INFO_V1(steward_statements_v2);
PG_FUNCTION_INFO_V1(steward_statement_totals);
PG_FUNCTION_INFO_V1(steward_latency_histogram);

/* ------------------------------------------------------------------------
 * Histogram arithmetic
 * ------------------------------------------------------------------------
 */
static int
bucket_of(double us)
{
	int			b;

	if (!(us >= 1.0))			/* also NaN */
		return 0;
	b = 1 + (int) floor(log(us) / log_growth);
	return Min(b, STMT_HIST_BUCKETS - 1);
}

static double
bucket_lower_us(int b)
{
	return b == 0 ? 0.0 : pow(STMT_HIST_GROWTH, b - 1);
}

static double
bucket_upper_us(int b)
{
	return b == 0 ? 1.0 : pow(STMT_HIST_GROWTH, b);
}

/* The value reported for a bucket: its geometric midpoint. */
static double
bucket_value_ms(int b)
{
	if (b == 0)
		return 0.0005;
	return sqrt(bucket_lower_us(b) * bucket_upper_us(b)) / 1000.0;
}

static double
percentile_ms(const uint32 *hist, int64 calls, double max_ms, double p)
{
	int64		rank = (int64) ceil(p * calls);
	int64		seen = 0;

	if (calls == 0)
		return 0;
	rank = Max(rank, 1);
	for (int b = 0; b < STMT_HIST_BUCKETS; b++)
	{
		seen += hist[b];
		if (seen >= rank)
			return Min(bucket_value_ms(b), max_ms);
	}
	return max_ms;
}

/*
 * The value reported for a coarse bucket (STEWARD_COARSE_FACTOR fine ones):
 * its upper bound, not its middle.  A coarse bucket is 22% wide; its
 * geometric middle is within 10.5% of any value in it but may lie below
 * every one of them (120 calls of 205-210 ms read 190.8 ms), and a
 * percentile judged against a threshold (steward.health) must never read
 * under it while the true percentile is over it.  The upper bound is never
 * below the true percentile and at most one bucket (22%) above it.
 */
static double
coarse_value_ms(int c)
{
	return bucket_upper_us(c * STEWARD_COARSE_FACTOR + STEWARD_COARSE_FACTOR - 1) / 1000.0;
}

/*
 * Percentile p (0..1) in ms of a coarse histogram holding calls values: the
 * upper bound of the bucket the rank falls in (see coarse_value_ms).  Pure
 * computation: no lock, raises nothing.
 */
double
steward_coarse_percentile_ms(const uint32 *hist, int64 calls, double p)
{
	int64		rank = Max((int64) ceil(p * calls), 1);
	int64		seen = 0;

	for (int c = 0; c < STEWARD_COARSE_BUCKETS; c++)
	{
		seen += hist[c];
		if (seen >= rank)
			return coarse_value_ms(c);
	}
	return coarse_value_ms(STEWARD_COARSE_BUCKETS - 1);
}

/*
 * Percentile p (0..1) in ms of a window ending now: coarse holds the
 * window's calls (the live sums minus an earlier snapshot's), fine the
 * live sums in the statements' buckets, from which the window's coarse
 * counts were taken.  The window's count in each fine bucket is unknown
 * but at most the live count there, so the k-th smallest of the window's
 * values in coarse bucket c is at most where it would be if they all sat
 * as high as the live counts allow: walking down from the top of c until
 * the live counts hold the (n - k + 1) values from the k-th up.  The upper
 * bound of that fine bucket is returned: never below the true percentile,
 * within one fine bucket (2%) of it when the window holds the live values
 * of c (no snapshot before it, or all of c's calls recent), never worse
 * than coarse_value_ms.  (Interpolating instead would be closer on
 * average, but could read under a threshold the true value is over.)
 * Pure computation: no lock, raises nothing.
 */
double
steward_window_percentile_ms(const uint32 *coarse, int64 calls, const uint64 *fine, double p)
{
	int64		rank = Max((int64) ceil(p * calls), 1);
	int64		seen = 0;

	for (int c = 0; c < STEWARD_COARSE_BUCKETS; c++)
	{
		int64		from_top;
		uint64		live = 0;

		if (seen + coarse[c] < rank)
		{
			seen += coarse[c];
			continue;
		}
		/* rank is the (rank - seen)-th of coarse[c]: so many from the top. */
		from_top = (int64) coarse[c] - (rank - seen) + 1;
		for (int b = c * STEWARD_COARSE_FACTOR + STEWARD_COARSE_FACTOR - 1;
			 b >= c * STEWARD_COARSE_FACTOR; b--)
		{
			live += fine[b];
			if ((int64) live >= from_top)
				return bucket_upper_us(b) / 1000.0;
		}
		return coarse_value_ms(c);
	}
	return coarse_value_ms(STEWARD_COARSE_BUCKETS - 1);
}

/* ------------------------------------------------------------------------
 * Shared memory
 * ------------------------------------------------------------------------
 */
static Size
steward_statements_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(StmtShared)),
					hash_estimate_size(steward_max_statements, sizeof(StmtEntry)));
}

/*
 * From the shmem_request_hook (src/pg_steward.c): ask for this part's
 * shared-memory area and its lock (plumbing/preload.c).  Takes no lock;
 * raises nothing (core's FATAL is for a request outside that hook).
 */
void
steward_statements_request_shmem(void)
{
	steward_shmem_request(STMT_AREA, steward_statements_shmem_size(), true);
}

static void save_statements(int code, Datum arg);
static void load_statements(void);

/* Whether the area existed before this process attached (EXEC_BACKEND). */
static bool stmt_area_found = false;

static void
statements_init_area(void *area, bool found, LWLock *lock)
{
	stmt_shared = (StmtShared *) area;
	stmt_area_found = found;
	if (!found)
	{
		stmt_shared->lock = lock;
		stmt_shared->mean_usage = 1.0;
		pg_atomic_init_u64(&stmt_shared->removals, 0);
	}
	stmt_hash = steward_shmem_hash("pg_steward statement hash", steward_max_statements,
								   sizeof(StmtKey), sizeof(StmtEntry));
}

/*
 * From the shmem_startup_hook (src/pg_steward.c): create or attach to
 * this part's area, under AddinShmemInitLock (plumbing/preload.c).
 * Errors: ShmemInitStruct's and ShmemInitHash's (out of shared memory:
 * FATAL at start).
 */
void
steward_statements_init_shmem(void)
{
	(void) steward_shmem_init(STMT_AREA, sizeof(StmtShared), true, statements_init_area);
	steward_collect_register_lock(stmt_shared->lock);
	steward_struct_register(STEWARD_STRUCT_STATEMENTS, stmt_hash, steward_max_statements);

	/* The postmaster loads the saved statistics and saves them at shutdown. */
	if (!IsUnderPostmaster)
	{
		if (!stmt_area_found)
			load_statements();
		on_shmem_exit(save_statements, (Datum) 0);
	}
}

static void
make_key(StmtKey *key, uint64 queryid, bool toplevel)
{
	memset(key, 0, sizeof(StmtKey));
	key->userid = GetUserId();
	key->dbid = MyDatabaseId;
	key->queryid = queryid;
	key->toplevel = toplevel;
	if (MyBackendType != B_BACKEND)
		key->kind |= STMT_KIND_BACKGROUND;
}

static bool
is_evicted_entry(const StmtEntry *entry)
{
	return entry->key.queryid == STMT_EVICTED_QUERYID;
}

/* Order of entries by statement: database, then queryid. */
static int
statement_cmp(const void *a, const void *b)
{
	const StmtKey *ka = &(*(StmtEntry *const *) a)->key;
	const StmtKey *kb = &(*(StmtEntry *const *) b)->key;

	if (ka->dbid != kb->dbid)
		return (ka->dbid > kb->dbid) - (ka->dbid < kb->dbid);
	return (ka->queryid > kb->queryid) - (ka->queryid < kb->queryid);
}

static int
group_usage_cmp(const void *a, const void *b)
{
	double		ua = ((const StmtGroup *) a)->usage;
	double		ub = ((const StmtGroup *) b)->usage;

	return (ua > ub) - (ua < ub);
}

/* Add the counts of "from" to "into" (both locked or private). */
static void
add_counts(StmtEntry *into, const StmtEntry *from)
{
	into->calls += from->calls;
	into->errors += from->errors;
	into->rows += from->rows;
	into->slow_calls += from->slow_calls;
	into->blks_hit += from->blks_hit;
	into->blks_read += from->blks_read;
	into->total_ms += from->total_ms;
	into->max_ms = Max(into->max_ms, from->max_ms);
	for (int b = 0; b < STMT_HIST_BUCKETS; b++)
		into->hist[b] += from->hist[b];
}

static void
init_entry(StmtEntry *entry, const char *text, int text_len)
{
	memset((char *) entry + sizeof(StmtKey), 0, sizeof(StmtEntry) - sizeof(StmtKey));
	SpinLockInit(&entry->mutex);
	entry->usage = stmt_shared->mean_usage;
	entry->query_len = Min(text_len, STMT_TEXT_BYTES - 1);
	memcpy(entry->query, text, entry->query_len);
	entry->query[entry->query_len] = '\0';
}

/*
 * Evict the least used statements until STMT_EVICT_PERCENT of the entries
 * are free, each with all its entries (every user, top level or nested:
 * what the exporter sums per statement then never loses one of its parts),
 * keeping their counts in their database's evicted-statements entry.
 * Caller holds the lock exclusively; allocates nothing (evict_array and
 * evict_groups are preallocated).
 */
static void
evict_entries(void)
{
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	StmtEntry	victim;
	int			n = 0;
	int			ngroups = 0;
	int			nvictims;
	int			evicted = 0;
	double		usage_sum = 0;

	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (is_evicted_entry(entry))
			continue;
		entry->usage *= STMT_USAGE_DECAY;
		usage_sum += entry->usage;
		if (n < steward_max_statements)
			evict_array[n++] = entry;
	}
	if (n == 0)
		return;
	stmt_shared->mean_usage = usage_sum / n;
	qsort(evict_array, n, sizeof(StmtEntry *), statement_cmp);
	for (int i = 0; i < n; i++)
	{
		if (i == 0 || statement_cmp(&evict_array[i - 1], &evict_array[i]) != 0)
		{
			evict_groups[ngroups].first = i;
			evict_groups[ngroups].n = 0;
			evict_groups[ngroups].usage = 0;
			ngroups++;
		}
		evict_groups[ngroups - 1].n++;
		evict_groups[ngroups - 1].usage += evict_array[i]->usage;
	}
	qsort(evict_groups, ngroups, sizeof(StmtGroup), group_usage_cmp);
	nvictims = Max(1, n * STMT_EVICT_PERCENT / 100);
	for (int g = 0; g < ngroups && evicted < nvictims; g++)
	{
		for (int i = evict_groups[g].first; i < evict_groups[g].first + evict_groups[g].n; i++)
		{
			StmtKey		key;
			StmtEntry  *keep;
			bool		found;

			/* Remove first: its element is then free for the evicted entry. */
			memcpy(&victim, evict_array[i], sizeof(StmtEntry));
			hash_search(stmt_hash, &victim.key, HASH_REMOVE, NULL);
			evicted++;

			memset(&key, 0, sizeof(key));
			key.dbid = victim.key.dbid;
			key.queryid = STMT_EVICTED_QUERYID;
			key.toplevel = victim.key.toplevel;
			key.kind = victim.key.kind;
			keep = hash_search(stmt_hash, &key, HASH_ENTER_NULL, &found);
			if (keep == NULL)
				continue;
			if (!found)
			{
				init_entry(keep, "", 0);
				keep->usage = 0;
			}
			add_counts(keep, &victim);
			keep->evicted++;
		}
	}
	pg_atomic_fetch_add_u64(&stmt_shared->removals, 1);
	steward_struct_evicted(STEWARD_STRUCT_STATEMENTS, evicted);
}

/*
 * Find the entry of key; create it with "text" if absent and text is not
 * NULL.  Returns with the lock held shared if an entry is returned, else
 * with no lock.  Allocates nothing, raises nothing: usable in transaction
 * callbacks.
 */
static StmtEntry *
lock_entry(const StmtKey *key, const char *text, int text_len)
{
	StmtEntry  *entry;
	bool		found;

	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	entry = hash_search(stmt_hash, key, HASH_FIND, NULL);
	if (entry != NULL)
		return entry;
	LWLockRelease(stmt_shared->lock);
	if (text == NULL)
		return NULL;

	LWLockAcquire(stmt_shared->lock, LW_EXCLUSIVE);
	/* Keep room for a new entry and an evicted-statements entry. */
	if (hash_get_num_entries(stmt_hash) >= steward_max_statements - 1 && evict_array != NULL)
		evict_entries();
	entry = steward_hash_enter_bounded(stmt_hash, key, steward_max_statements, &found);
	if (entry != NULL && !found)
		init_entry(entry, text, text_len);
	LWLockRelease(stmt_shared->lock);
	if (entry == NULL)
		return NULL;
	/* Retake it shared: the caller updates counters under the shared lock. */
	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	entry = hash_search(stmt_hash, key, HASH_FIND, NULL);
	if (entry == NULL)
		LWLockRelease(stmt_shared->lock);
	return entry;
}

/* Does an entry exist?  (Shared lock, no allocation.) */
static bool
entry_exists(const StmtKey *key)
{
	bool		exists;

	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	exists = hash_search(stmt_hash, key, HASH_FIND, NULL) != NULL;
	/* Removals happen under the exclusive lock: this count goes with it. */
	exists_seen_removals = pg_atomic_read_u64(&stmt_shared->removals);
	LWLockRelease(stmt_shared->lock);
	exists_seen = exists;
	if (exists)
		exists_seen_key = *key;
	return exists;
}

/*
 * Count one successful call.  Error-free (see lock_entry).  Returns false,
 * counting nothing, if the entry does not exist and text is NULL; with a
 * text, an entry that cannot be made counts as a dropped event.
 */
static bool
count_call(const StmtKey *key, const char *text, int text_len, double ms,
		   uint64 rows, int64 blks_hit, int64 blks_read)
{
	StmtEntry  *entry = lock_entry(key, text, text_len);
	int			b = bucket_of(ms * 1000.0);

	if (entry == NULL)
	{
		if (text != NULL)
			steward_struct_dropped(STEWARD_STRUCT_STATEMENTS, 1);
		return text != NULL;
	}
	SpinLockAcquire(&entry->mutex);
	entry->calls++;
	entry->usage += 1.0;
	entry->rows += rows;
	entry->total_ms += ms;
	entry->max_ms = Max(entry->max_ms, ms);
	entry->hist[b]++;
	if (ms >= (steward_setting_use_old(&slow_query_setting) ? slow_query_ms
			   : slow_query_threshold))
		entry->slow_calls++;
	entry->blks_hit += blks_hit;
	entry->blks_read += blks_read;
	SpinLockRelease(&entry->mutex);
	seen_cache[key->queryid % SEEN_CACHE_SIZE].valid = true;
	seen_cache[key->queryid % SEEN_CACHE_SIZE].key = *key;
	seen_cache[key->queryid % SEEN_CACHE_SIZE].removals =
		pg_atomic_read_u64(&stmt_shared->removals);
	LWLockRelease(stmt_shared->lock);
	/* The governor tells this session's own statements from the foreground's. */
	if (key->toplevel && key->kind == 0 && toplevel_observer)
		toplevel_observer();
	return true;
}

/* Count one failed call.  Error-free (see lock_entry). */
static void
count_error(const StmtKey *key, const char *text, int text_len)
{
	StmtEntry  *entry = lock_entry(key, text, text_len);

	if (entry == NULL)
	{
		steward_struct_dropped(STEWARD_STRUCT_STATEMENTS, 1);
		return;
	}
	SpinLockAcquire(&entry->mutex);
	entry->errors++;
	entry->usage += 1.0;
	SpinLockRelease(&entry->mutex);
	LWLockRelease(stmt_shared->lock);
}

/* ------------------------------------------------------------------------
 * Query text normalization: constants become $n, as pg_stat_statements
 * shows them.
 * ------------------------------------------------------------------------
 */
typedef struct Token
{
	int			start;
	int			end;			/* exclusive */
	int			code;
} Token;

typedef struct LexArgs
{
	const char *text;			/* NUL-terminated */
	bool		scs;			/* standard_conforming_strings */
	Token	   *tokens;			/* out */
	int			ntokens;
} LexArgs;

/*
 * Tokenize args->text with the core scanner (it raises on text it cannot
 * lex: run under a guard).  A token ends where flex put the NUL after it
 * in its buffer, as pg_stat_statements relies on too.
 */
static void
lex_text(void *arg)
{
	LexArgs    *args = (LexArgs *) arg;
	core_yyscan_t yyscanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	int			max = 64;
	int			tok;

	args->tokens = palloc(max * sizeof(Token));
	args->ntokens = 0;
	yyscanner = scanner_init(args->text, &yyextra, &ScanKeywords, ScanKeywordTokens);
	/* The session's backslash_quote stays; warnings were given by the parser. */
	yyextra.escape_string_warning = false;
	yyextra.standard_conforming_strings = args->scs;
	while ((tok = core_yylex(&yylval, &yylloc, yyscanner)) != 0)
	{
		Token	   *t;

		if (args->ntokens == max)
		{
			max *= 2;
			args->tokens = repalloc(args->tokens, max * sizeof(Token));
		}
		t = &args->tokens[args->ntokens++];
		t->start = yylloc;
		t->end = yylloc + strlen(yyextra.scanbuf + yylloc);
		t->code = tok;
	}
	scanner_finish(yyscanner);
}

/*
 * Lex quietly: false if the scanner refused the text with these settings.
 * The scanner also reports notices the parser already gave (an identifier
 * truncated to NAMEDATALEN - 1): the client must not see them twice, so
 * messages below ERROR are off while it runs (found by PostgreSQL's own
 * regression suite, create_view).
 */
static bool
try_lex(LexArgs *args)
{
	MemoryContext cxt = CurrentMemoryContext;
	uint32		holdoff = InterruptHoldoffCount;
	uint32		cancel_holdoff = QueryCancelHoldoffCount;
	int			save_client = client_min_messages;
	int			save_log = log_min_messages;
	volatile bool ok = true;

	client_min_messages = ERROR;
	log_min_messages = ERROR;
	PG_TRY();
	{
		lex_text(args);
	}
	PG_CATCH();
	{
		InterruptHoldoffCount = holdoff;
		QueryCancelHoldoffCount = cancel_holdoff;
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		ok = false;
	}
	PG_END_TRY();
	client_min_messages = save_client;
	log_min_messages = save_log;
	return ok;
}

static int
token_at(const Token *tokens, int ntokens, int loc)
{
	int			lo = 0,
				hi = ntokens - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;

		if (tokens[mid].start == loc)
			return mid;
		if (tokens[mid].start < loc)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static bool
is_literal(int code)
{
	return code == ICONST || code == FCONST || code == SCONST || code == USCONST ||
		code == BCONST || code == XCONST;
}

/*
 * Where the statement proper starts: after "PREPARE name [(types)] AS",
 * so a prepared statement is shown as itself.
 */
static int
statement_start(const Token *tokens, int ntokens)
{
	int			depth = 0;

	if (ntokens < 4 || tokens[0].code != PREPARE)
		return 0;
	for (int i = 2; i < ntokens - 1; i++)
	{
		if (tokens[i].code == '(')
			depth++;
		else if (tokens[i].code == ')')
			depth--;
		else if (tokens[i].code == AS && depth == 0)
			return tokens[i + 1].start;
	}
	return 0;
}

/*
 * Build the normalized text of "text" (the statement's own part).  With
 * locs (constant locations relative to text, sorted), replace exactly those
 * constants; without, replace every literal token.  Returns NULL if a
 * location does not start a token (the text was lexed with other
 * settings).  Numbering continues after the highest $n of the statement.
 */
static char *
build_normalized(const char *text, const Token *tokens, int ntokens,
				 const int *locs, int nlocs, int first_param, int *out_len)
{
	StringInfoData buf;
	int			pos = statement_start(tokens, ntokens);
	int			param = first_param;
	int			ti = 0;

	initStringInfo(&buf);
	if (locs == NULL)
	{
		for (int i = 0; i < ntokens; i++)
			if (tokens[i].code == PARAM)
				param = Max(param, atoi(text + tokens[i].start + 1));
	}
	for (int i = 0; locs ? i < nlocs : ti < ntokens; i++)
	{
		int			t;
		int			end;

		if (locs)
		{
			if (locs[i] < pos)
				continue;		/* duplicate, or before the statement */
			t = token_at(tokens, ntokens, locs[i]);
			if (t < 0)
			{
				pfree(buf.data);
				return NULL;
			}
		}
		else
		{
			t = ti++;
			if (!is_literal(tokens[t].code) || tokens[t].start < pos)
				continue;
		}
		end = tokens[t].end;
		/* A negative constant is located at its '-'. */
		if (locs && tokens[t].code == '-' && t + 1 < ntokens)
			end = tokens[t + 1].end;
		appendBinaryStringInfo(&buf, text + pos, tokens[t].start - pos);
		appendStringInfo(&buf, "$%d", ++param);
		pos = end;
	}
	appendStringInfoString(&buf, text + pos);
	*out_len = buf.len;
	return buf.data;
}

static int
int_cmp(const void *a, const void *b)
{
	int			ia = *(const int *) a;
	int			ib = *(const int *) b;

	return (ia > ib) - (ia < ib);
}

/*
 * The normalized text of the statement at [loc, loc + len) of src (len <= 0:
 * to the end), trimmed, cut to fit an entry on a character boundary.  With
 * jstate, its constant locations are used.  Runs under a guard; never
 * returns the raw text: if nothing can be lexed, a placeholder.
 */
static char *
normalized_text(const char *src, int loc, int len, JumbleState *jstate, int *out_len)
{
	char	   *text;
	char	   *result = NULL;
	int		   *locs = NULL;
	int			nlocs = 0;
	int			first_param = 0;
	int			n = 0;
	LexArgs		lexed = {0};

	loc = Max(loc, 0);
	if (len <= 0)
		len = strlen(src + loc);
	while (len > 0 && scanner_isspace(src[loc]))
		loc++, len--;
	while (len > 0 && (scanner_isspace(src[loc + len - 1]) || src[loc + len - 1] == ';'))
		len--;
	text = pnstrdup(src + loc, len);

	if (jstate != NULL)
	{
		locs = palloc(Max(jstate->clocations_count, 1) * sizeof(int));
		for (int i = 0; i < jstate->clocations_count; i++)
		{
			int			l = jstate->clocations[i].location - loc;

			if (l >= 0 && l < len)
				locs[nlocs++] = l;
		}
		qsort(locs, nlocs, sizeof(int), int_cmp);
		first_param = jstate->highest_extern_param_id;
	}

	/*
	 * Lex with the session's standard_conforming_strings, then with the
	 * other value: the raw parser lexed the whole query string before a SET
	 * earlier in the same string took effect.  The right one is the one
	 * where every constant the jumble located starts a token.
	 */
	for (int attempt = 0; attempt < 2 && result == NULL; attempt++)
	{
		LexArgs		args;

		args.text = text;
		args.scs = (attempt == 0) ? standard_conforming_strings : !standard_conforming_strings;
		if (!try_lex(&args))
			continue;
		if (lexed.tokens == NULL)
			lexed = args;
		result = build_normalized(text, args.tokens, args.ntokens,
								  locs, nlocs, first_param, &n);
	}
	/* Locations never matched: replace every literal token. */
	if (result == NULL && lexed.tokens != NULL)
		result = build_normalized(text, lexed.tokens, lexed.ntokens, NULL, 0, 0, &n);
	if (result == NULL)
	{
		result = pstrdup("/* pg_steward: statement text could not be normalized */");
		n = strlen(result);
	}
	*out_len = steward_clip_len(result, n, STMT_TEXT_BYTES - 1);
	result[*out_len] = '\0';
	return result;
}

/* ------------------------------------------------------------------------
 * Statement bookkeeping
 * ------------------------------------------------------------------------
 */

/* Nothing but white space and semicolons follows the statement in src. */
static bool
last_in_string(const char *src, int loc, int len)
{
	const char *p;

	if (src == NULL || len <= 0)
		return true;
	for (p = src + Max(loc, 0) + len; *p; p++)
		if (!scanner_isspace(*p) && *p != ';')
			return false;
	return true;
}

static bool
tracking_on(void)
{
	return steward_track_statements && steward_track != STMT_TRACK_NONE &&
		stmt_hash != NULL && !IsParallelWorker();
}

/*
 * The slot of a statement starting now from query string src, or -1 if it
 * is not tracked.  Slot 0 is the top level.
 */
static int
statement_slot(const char *src)
{
	if (!tracking_on())
		return -1;
	if (nesting_level == 0 &&
		(ActivePortal != NULL || (src != NULL && src == debug_query_string)))
		return 0;
	if (steward_track != STMT_TRACK_ALL)
		return -1;
	return nesting_level + 1;
}

static void
ensure_buffers(void)
{
	if (evict_array == NULL)
	{
		evict_groups = MemoryContextAllocZero(TopMemoryContext,
											  steward_max_statements * sizeof(StmtGroup));
		evict_array = MemoryContextAllocZero(TopMemoryContext,
											 steward_max_statements * sizeof(StmtEntry *));
	}
}

/* The statement of a slot is over: no error can be blamed on it any more. */
static void
slot_clear(int slot)
{
	if (slot >= 0 && slot < nslots)
		slots[slot].active = false;
}

/* Count the pending statement as a call: its commit went through, or more followed. */
static void
flush_pending(void)
{
	if (!pending.valid)
		return;
	pending.valid = false;
	if (!count_call(&pending.key, pending.text, pending.text_len, pending.ms,
					pending.rows, pending.blks_hit, pending.blks_read))
		steward_struct_dropped(STEWARD_STRUCT_STATEMENTS, 1);
}

/*
 * A statement starts (parse analysis, planning, executor start or utility
 * start): it is in flight in its slot.  text, if given, is its normalized
 * text.  Runs under a guard (allocates the slot's buffer).
 */
static void
slot_begin(int slot, const StmtKey *key, bool last, const char *text, int text_len)
{
	StmtSlot   *s;

	if (slot == 0)
		flush_pending();
	if (slot < 0)
		return;
	if (slot >= nslots)
	{
		/* A deeper level than seen so far: no pointer into slots is kept. */
		int			n = Max(STMT_INITIAL_SLOTS, Max(slot + 1, nslots * 2));

		if (slots == NULL)
			slots = MemoryContextAllocZero(TopMemoryContext, n * sizeof(StmtSlot));
		else
		{
			slots = repalloc(slots, n * sizeof(StmtSlot));
			memset(&slots[nslots], 0, (n - nslots) * sizeof(StmtSlot));
		}
		nslots = n;
	}
	s = &slots[slot];
	if (!(s->active && memcmp(&s->key, key, sizeof(StmtKey)) == 0))
	{
		s->active = true;
		s->key = *key;
		s->text_len = -1;
		s->seen = exists_seen && memcmp(&exists_seen_key, key, sizeof(StmtKey)) == 0;
		s->seen_removals = exists_seen_removals;
		if (!s->seen && seen_cache[key->queryid % SEEN_CACHE_SIZE].valid &&
			memcmp(&seen_cache[key->queryid % SEEN_CACHE_SIZE].key, key, sizeof(StmtKey)) == 0)
		{
			s->seen = true;
			s->seen_removals = seen_cache[key->queryid % SEEN_CACHE_SIZE].removals;
		}
	}
	exists_seen = false;
	s->last_in_string = last;
	if (text != NULL)
	{
		if (s->text == NULL)
			s->text = MemoryContextAlloc(TopMemoryContext, STMT_TEXT_BYTES);
		s->text_len = Min(text_len, STMT_TEXT_BYTES - 1);
		memcpy(s->text, text, s->text_len);
	}
}

typedef struct RemakeArgs
{
	const StmtKey *key;
	const char *src;
	int			loc;
	int			len;
	double		ms;
	uint64		rows;
	int64		blks_hit;
	int64		blks_read;
} RemakeArgs;

/* Make an evicted entry again from the statement's text (under a guard: lexes). */
static void
remake_entry(void *arg)
{
	RemakeArgs *a = (RemakeArgs *) arg;
	int			text_len;
	char	   *text = normalized_text(a->src, a->loc, a->len, NULL, &text_len);

	(void) count_call(a->key, text, text_len, a->ms, a->rows, a->blks_hit, a->blks_read);
}

typedef struct KeepTextArgs
{
	StmtSlot   *s;
	const char *src;
	int			loc;
	int			len;
} KeepTextArgs;

/*
 * The statement in slot s ends awaiting its commit, without a text: if
 * its entry is gone (evicted, or steward.reset() ran), keep its
 * normalized text in the slot, so the commit callback, which cannot lex,
 * makes the entry again (under a guard: lexes).
 */
static void
keep_text(void *arg)
{
	KeepTextArgs *a = (KeepTextArgs *) arg;
	int			text_len;
	char	   *text;

	if (entry_exists(&a->s->key))
	{
		a->s->seen = true;
		a->s->seen_removals = exists_seen_removals;
		return;
	}
	text = normalized_text(a->src, a->loc, a->len, NULL, &text_len);
	if (a->s->text == NULL)
		a->s->text = MemoryContextAlloc(TopMemoryContext, STMT_TEXT_BYTES);
	a->s->text_len = Min(text_len, STMT_TEXT_BYTES - 1);
	memcpy(a->s->text, text, a->s->text_len);
}

/*
 * The statement in slot started without its entry being looked up (a
 * prepared statement: it was parsed earlier), or entries were removed
 * since it was last seen: if its entry is gone, keep its text now, so
 * that a failure can make the entry again in the abort callback, which
 * cannot lex (its executions failing after a reset or an eviction were
 * dropped).  Nothing to do while the entry is known and no entry was
 * removed since.
 */
static void
check_started_entry(int slot, const char *src, int loc, int len)
{
	StmtSlot   *s;
	KeepTextArgs args;

	if (slot < 0 || slot >= nslots || src == NULL || !IsTransactionState())
		return;
	s = &slots[slot];
	if (!s->active || s->text_len >= 0 ||
		(s->seen && pg_atomic_read_u64(&stmt_shared->removals) == s->seen_removals))
		return;
	args.s = s;
	args.src = src;
	args.loc = loc;
	args.len = len;
	(void) steward_collect(keep_text, &args);
}

/*
 * A statement ended successfully.  src/loc/len locate its text (to create
 * an entry evicted since it started), or src is NULL.  The last top-level
 * statement before a commit is kept pending until the commit succeeded;
 * slot_begin(0) flushes it before slot 0's text buffer is reused.  Raises
 * nothing (what could, runs under a guard).
 */
static void
statement_end(int slot, const StmtKey *key, double ms, uint64 rows,
			  int64 blks_hit, int64 blks_read, const char *src, int loc, int len,
			  bool commit_follows)
{
	StmtSlot   *s = (slot >= 0 && slot < nslots) ? &slots[slot] : NULL;
	const char *text = NULL;
	int			text_len = 0;

	if (s != NULL && s->active && memcmp(&s->key, key, sizeof(StmtKey)) == 0)
	{
		/*
		 * Counted at commit: without a text, and unless its entry was seen
		 * with no entry removed since, make sure the entry exists or its
		 * text is kept (steward.reset() removes the entry of the very
		 * statement that calls it).
		 */
		if (slot == 0 && commit_follows && s->text_len < 0 && src != NULL &&
			!(s->seen && pg_atomic_read_u64(&stmt_shared->removals) == s->seen_removals) &&
			IsTransactionState())
		{
			KeepTextArgs args = {s, src, loc, len};

			(void) steward_collect(keep_text, &args);
		}
		if (s->text_len >= 0)
		{
			text = s->text;
			text_len = s->text_len;
		}
		s->active = false;
	}

	if (slot == 0 && commit_follows)
	{
		flush_pending();
		pending.valid = true;
		pending.key = *key;
		pending.ms = ms;
		pending.rows = rows;
		pending.blks_hit = blks_hit;
		pending.blks_read = blks_read;
		pending.text = text;
		pending.text_len = text_len;
		return;
	}
	if (count_call(key, text, text_len, ms, rows, blks_hit, blks_read))
		return;
	/* Evicted while it ran: make the entry again from the statement's text. */
	if (src != NULL && IsTransactionState())
	{
		RemakeArgs	args = {key, src, loc, len, ms, rows, blks_hit, blks_read};

		if (!steward_collect(remake_entry, &args))
			steward_struct_dropped(STEWARD_STRUCT_STATEMENTS, 1);
	}
	else
		steward_struct_dropped(STEWARD_STRUCT_STATEMENTS, 1);
}

/*
 * Whether the commit of this transaction follows the top-level statement
 * ending now: it is the last of its query string, outside an explicit
 * transaction block.  (A statement that ends while another one is in
 * flight, as a portal closed late in the extended protocol, is not.)
 */
static bool
commit_follows_top(int slot, const StmtKey *key)
{
	return slot == 0 && nslots > 0 && slots[0].active &&
		memcmp(&slots[0].key, key, sizeof(StmtKey)) == 0 &&
		slots[0].last_in_string && !explicit_block && !IsAbortedTransactionBlockState();
}

/*
 * The (sub)transaction aborted at nesting level "level": statements in
 * flight at that level or deeper failed.  Error-free.
 */
static void
statements_failed(int level)
{
	for (int i = (level == 0 ? 0 : level + 1); i < nslots; i++)
	{
		StmtSlot   *s = &slots[i];

		if (!s->active)
			continue;
		s->active = false;
		count_error(&s->key, s->text_len >= 0 ? s->text : NULL, Max(s->text_len, 0));
	}
}

static void
stmt_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			if (stmt_hash == NULL)
				break;
			/* Inside a procedure (ROLLBACK in PL/pgSQL) the CALL goes on. */
			statements_failed(nesting_level);
			if (nesting_level == 0)
			{
				if (pending.valid)
				{
					pending.valid = false;
					count_error(&pending.key, pending.text, pending.text_len);
				}
				nopen_runs = 0;
				explicit_block = explicit_after_end;
				explicit_after_end = false;
			}
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			if (stmt_hash == NULL || nesting_level > 0)
				break;
			flush_pending();
			for (int i = 0; i < nslots; i++)
				slots[i].active = false;
			nopen_runs = 0;
			explicit_block = explicit_after_end;
			explicit_after_end = false;
			break;
		default:
			break;
	}
}

static void
stmt_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
					  SubTransactionId parentSubid, void *arg)
{
	if (event != SUBXACT_EVENT_ABORT_SUB || stmt_hash == NULL)
		return;
	statements_failed(nesting_level);
	/* Runs started in the aborted subtransaction never reach ExecutorEnd. */
	for (int i = 0; i < nopen_runs;)
	{
		if (open_runs[i].subid >= mySubid)
			open_runs[i] = open_runs[--nopen_runs];
		else
			i++;
	}
}

/* ------------------------------------------------------------------------
 * Hooks.  Each does its collection work under steward_collect().
 * ------------------------------------------------------------------------
 */
typedef struct ParseArgs
{
	ParseState *pstate;
	Query	   *query;
	JumbleState *jstate;
	int			slot;
} ParseArgs;

static void
collect_parse(void *arg)
{
	ParseArgs  *a = (ParseArgs *) arg;
	Query	   *query = a->query;
	const char *src = a->pstate->p_sourcetext;
	StmtKey		key;
	char	   *text = NULL;
	int			text_len = 0;

	ensure_buffers();
	make_key(&key, query->queryId, a->slot == 0);
	if (!entry_exists(&key))
	{
		StmtEntry  *entry;

		text = normalized_text(src, query->stmt_location, query->stmt_len,
							   a->jstate, &text_len);
		entry = lock_entry(&key, text, text_len);
		if (entry != NULL)
			LWLockRelease(stmt_shared->lock);
	}
	slot_begin(a->slot, &key,
			   in_top_execute ? top_execute_last :
			   last_in_string(src, query->stmt_location, query->stmt_len),
			   text, text_len);
}

static void
stmt_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	ParseArgs	args;

	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	if (query->utilityStmt != NULL || query->queryId == UINT64CONST(0) ||
		pstate->p_sourcetext == NULL)
		return;
	args.slot = statement_slot(pstate->p_sourcetext);
	if (args.slot < 0)
		return;
	args.pstate = pstate;
	args.query = query;
	args.jstate = jstate;

	/* Known statement: nothing to normalize, nothing that can fail. */
	if (evict_array != NULL)
	{
		StmtKey		key;

		make_key(&key, query->queryId, args.slot == 0);
		if (entry_exists(&key))
		{
			slot_begin(args.slot, &key,
					   in_top_execute ? top_execute_last :
					   last_in_string(pstate->p_sourcetext, query->stmt_location, query->stmt_len),
					   NULL, 0);
			return;
		}
	}
	(void) steward_collect(collect_parse, &args);
}

typedef struct BeginArgs
{
	int			slot;
	StmtKey		key;
	bool		last;
} BeginArgs;

static void
collect_begin(void *arg)
{
	BeginArgs  *a = (BeginArgs *) arg;

	ensure_buffers();
	slot_begin(a->slot, &a->key, a->last, NULL, 0);
}

/*
 * A statement starts planning or execution.  Once the buffers exist,
 * slot_begin without a text allocates nothing and raises nothing: no
 * guard needed on this path taken by every statement.
 */
static void
begin_statement(BeginArgs *args)
{
	if (evict_array != NULL)
		slot_begin(args->slot, &args->key, args->last, NULL, 0);
	else
		(void) steward_collect(collect_begin, args);
}

/* The statement of key is already in flight in slot (parsed, now planned). */
static inline bool
in_flight(int slot, const StmtKey *key)
{
	return slot < nslots && slots[slot].active &&
		memcmp(&slots[slot].key, key, sizeof(StmtKey)) == 0;
}

static PlannedStmt *
stmt_planner(Query *parse, const char *query_string, int cursorOptions,
			 ParamListInfo boundParams)
{
	PlannedStmt *result;
	int			slot = -1;

	if (parse->queryId != UINT64CONST(0))
		slot = statement_slot(query_string);
	if (slot >= 0)
	{
		BeginArgs	args;

		args.slot = slot;
		make_key(&args.key, parse->queryId, slot == 0);
		if (!in_flight(slot, &args.key))
		{
			args.last = in_top_execute ? top_execute_last :
				last_in_string(query_string, parse->stmt_location, parse->stmt_len);
			begin_statement(&args);
			check_started_entry(slot, query_string, parse->stmt_location, parse->stmt_len);
		}
	}

	/* Functions evaluated while planning (constant folding) are nested. */
	nesting_level++;
	PG_TRY();
	{
		if (prev_planner)
			result = prev_planner(parse, query_string, cursorOptions, boundParams);
		else
			result = standard_planner(parse, query_string, cursorOptions, boundParams);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
	return result;
}

typedef struct StartArgs
{
	QueryDesc  *qd;
	int			slot;
} StartArgs;

static void
collect_start(void *arg)
{
	StartArgs  *a = (StartArgs *) arg;
	QueryDesc  *qd = a->qd;
	PlannedStmt *ps = qd->plannedstmt;
	OpenRun    *run = NULL;
	StmtKey		key;

	make_key(&key, ps->queryId, a->slot == 0);
	for (int i = 0; i < nopen_runs; i++)
		if (open_runs[i].qd == qd)
			run = &open_runs[i];
	if (run == NULL)
	{
		if (nopen_runs == maxopen_runs)
		{
			int			n = Max(STMT_INITIAL_SLOTS, maxopen_runs * 2);

			/* Entries are copied out, never pointed to across calls. */
			if (open_runs == NULL)
				open_runs = MemoryContextAlloc(TopMemoryContext, n * sizeof(OpenRun));
			else
				open_runs = repalloc(open_runs, n * sizeof(OpenRun));
			maxopen_runs = n;
		}
		run = &open_runs[nopen_runs++];
	}
	run->qd = qd;
	run->slot = a->slot;
	run->key = key;
	run->subid = GetCurrentSubTransactionId();

	if (qd->totaltime == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(qd->estate->es_query_cxt);

		qd->totaltime = InstrAlloc(1, INSTRUMENT_ALL, false);
		MemoryContextSwitchTo(old);
	}
	if (a->slot == 0)
		steward_waits_set_queryid(ps->queryId);
}

static void
stmt_executor_start(QueryDesc *queryDesc, int eflags)
{
	StartArgs	args;

	PlannedStmt *ps = queryDesc->plannedstmt;

	args.slot = -1;
	if (ps->queryId != UINT64CONST(0) && (eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0)
		args.slot = statement_slot(queryDesc->sourceText);
	if (args.slot >= 0)
	{
		BeginArgs	begin;

		begin.slot = args.slot;
		make_key(&begin.key, ps->queryId, args.slot == 0);
		if (!in_flight(args.slot, &begin.key))
		{
			begin.last = in_top_execute ? top_execute_last :
				last_in_string(queryDesc->sourceText, ps->stmt_location, ps->stmt_len);
			begin_statement(&begin);
			check_started_entry(args.slot, queryDesc->sourceText, ps->stmt_location,
								ps->stmt_len);
		}
	}

	/* Functions run by executor startup (initial partition pruning) are nested. */
	nesting_level++;
	PG_TRY();
	{
		if (prev_executor_start)
			prev_executor_start(queryDesc, eflags);
		else
			standard_ExecutorStart(queryDesc, eflags);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();

	if (args.slot >= 0)
	{
		args.qd = queryDesc;
		(void) steward_collect(collect_start, &args);
	}
}

/*
 * The one table a statement writes, for the wait sampler
 * (steward_waits_set_target): a wait on another transaction that holds no
 * tuple lock (a unique or exclusion check finding the same key inserted
 * by a transaction in progress, a speculative insertion's wait, a deferred
 * unique check at the statement's end) is a wait on a row of the table
 * being written.  Its result relations (the root of a partitioned or
 * inherited target with its members), when they are one table; InvalidOid
 * when the statement writes several (data-modifying WITH) or locks rows of
 * another table (FOR UPDATE in a subquery: following a row's update chain
 * waits without a tuple lock too), or writes nothing.
 */
static Oid
statement_target(PlannedStmt *ps)
{
	Oid			first = InvalidOid;
	Oid			root = InvalidOid;
	bool		several = false;
	ListCell   *lc;

	if (ps->resultRelations == NIL)
		return InvalidOid;
	foreach(lc, ps->resultRelations)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), ps->rtable);

		if (!OidIsValid(first))
			first = rte->relid;
		else if (rte->relid != first)
			several = true;
		if (rte->inh && rte->relid != root)
		{
			if (OidIsValid(root))
				return InvalidOid;
			root = rte->relid;
		}
	}
	if (several)
	{
		if (ps->hasModifyingCTE || !OidIsValid(root))
			return InvalidOid;
		first = root;
	}
	foreach(lc, ps->rowMarks)
	{
		PlanRowMark *rm = (PlanRowMark *) lfirst(lc);

		if (RowMarkRequiresRowShareLock(rm->markType) &&
			rt_fetch(rm->rti, ps->rtable)->relid != first)
			return InvalidOid;
	}
	return first;
}

static void
stmt_executor_run(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
				  bool execute_once)
{
	Oid			outer_target = steward_waits_set_target(statement_target(queryDesc->plannedstmt));

	nesting_level++;
	PG_TRY();
	{
		if (prev_executor_run)
			prev_executor_run(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_FINALLY();
	{
		nesting_level--;
		(void) steward_waits_set_target(outer_target);
	}
	PG_END_TRY();
}

static void
stmt_executor_finish(QueryDesc *queryDesc)
{
	Oid			outer_target = steward_waits_set_target(statement_target(queryDesc->plannedstmt));

	nesting_level++;
	PG_TRY();
	{
		if (prev_executor_finish)
			prev_executor_finish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nesting_level--;
		(void) steward_waits_set_target(outer_target);
	}
	PG_END_TRY();
}

typedef struct EndArgs
{
	QueryDesc  *qd;
	OpenRun		run;
} EndArgs;

/* Count the run that ends.  Raises nothing (statement_end guards what could). */
static void
collect_end(void *arg)
{
	EndArgs    *a = (EndArgs *) arg;
	QueryDesc  *qd = a->qd;
	PlannedStmt *ps = qd->plannedstmt;
	double		ms = 0;
	int64		hit = 0,
				read = 0;

	if (qd->totaltime)
	{
		/* Still running (shut down mid-run): InstrEndLoop would raise. */
		if (!INSTR_TIME_IS_ZERO(qd->totaltime->starttime))
		{
			steward_struct_dropped(STEWARD_STRUCT_STATEMENTS, 1);
			return;
		}
		InstrEndLoop(qd->totaltime);
		ms = qd->totaltime->total * 1000.0;
		hit = qd->totaltime->bufusage.shared_blks_hit;
		read = qd->totaltime->bufusage.shared_blks_read;
	}
	if (a->run.slot == 0)
		steward_waits_set_queryid(0);
	statement_end(a->run.slot, &a->run.key, ms, qd->estate->es_processed, hit, read,
				  qd->sourceText, ps->stmt_location, ps->stmt_len,
				  commit_follows_top(a->run.slot, &a->run.key));
}

static void
stmt_executor_end(QueryDesc *queryDesc)
{
	for (int i = 0; i < nopen_runs; i++)
	{
		if (open_runs[i].qd == queryDesc)
		{
			EndArgs		args;

			args.qd = queryDesc;
			args.run = open_runs[i];
			open_runs[i] = open_runs[--nopen_runs];
			collect_end(&args);
			break;
		}
	}

	/* Executor shutdown runs no user code: no nesting level needed. */
	if (prev_executor_end)
		prev_executor_end(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

typedef struct UtilityArgs
{
	PlannedStmt *pstmt;
	const char *src;
	int			slot;
	StmtKey		key;
	bool		commit_follows;
	double		ms;
	uint64		rows;
	BufferUsage bufusage;
} UtilityArgs;

static void
collect_utility_begin(void *arg)
{
	UtilityArgs *a = (UtilityArgs *) arg;
	char	   *text;
	int			text_len;
	uint64		queryid;

	ensure_buffers();
	/* The identity of a utility statement is its normalized text. */
	text = normalized_text(a->src, a->pstmt->stmt_location, a->pstmt->stmt_len,
						   NULL, &text_len);
	queryid = hash_bytes_extended((const unsigned char *) text, text_len, 0x53545557);
	if (queryid == STMT_EVICTED_QUERYID)
		queryid++;
	make_key(&a->key, queryid, a->slot == 0);
	a->key.kind |= STMT_KIND_UTILITY;
	slot_begin(a->slot, &a->key,
			   last_in_string(a->src, a->pstmt->stmt_location, a->pstmt->stmt_len),
			   text, text_len);
	if (a->slot == 0)
		steward_waits_set_queryid(queryid);
}

static void
collect_utility_end(void *arg)
{
	UtilityArgs *a = (UtilityArgs *) arg;

	if (a->slot == 0)
		steward_waits_set_queryid(0);
	statement_end(a->slot, &a->key, a->ms, a->rows, a->bufusage.shared_blks_hit,
				  a->bufusage.shared_blks_read, NULL, 0, 0, a->commit_follows);
}

static void
collect_clear_top(void *arg)
{
	slot_clear(0);
}

/*
 * Is a utility statement at top level (top; xact: its TransactionStmt, or
 * NULL) tracked in slot 0 followed by a commit that can fail?  Only a
 * COMMIT that really commits (not one ending a failed block) is; AND
 * CHAIN opens a new block.  Another statement is when it is the last of
 * its query string outside an explicit block (the implicit commit).
 */
static bool
utility_commit_follows(PlannedStmt *pstmt, const char *queryString, bool top,
					   TransactionStmt *xact, int slot)
{
	if (top && xact != NULL)
		return (xact->kind == TRANS_STMT_COMMIT || xact->kind == TRANS_STMT_PREPARE) &&
			!IsAbortedTransactionBlockState();
	if (slot == 0)
		return last_in_string(queryString, pstmt->stmt_location, pstmt->stmt_len) &&
			!explicit_block && !IsAbortedTransactionBlockState();
	return false;
}

/*
 * After a top-level transaction statement has run: an explicit block
 * starts (BEGIN, START TRANSACTION); or ends (COMMIT, ROLLBACK, PREPARE
 * TRANSACTION), AND CHAIN opening the next one.
 */
static void
note_transaction_block(TransactionStmt *xact)
{
	if (xact->kind == TRANS_STMT_BEGIN || xact->kind == TRANS_STMT_START)
		explicit_block = true;
	else if (xact->kind == TRANS_STMT_COMMIT || xact->kind == TRANS_STMT_ROLLBACK ||
			 xact->kind == TRANS_STMT_PREPARE)
	{
		explicit_block = xact->chain;
		explicit_after_end = xact->chain;
	}
}

/*
 * The end of a tracked utility statement (a->slot >= 0) that started at
 * "start" with the buffer counters at *bufusage_start: its time, the rows
 * of the commands that report some, and its buffers, collected under
 * steward_collect (never raises).
 */
static void
utility_end(UtilityArgs *a, QueryCompletion *qc, instr_time start,
			const BufferUsage *bufusage_start)
{
	instr_time	duration;

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	a->ms = INSTR_TIME_GET_MILLISEC(duration);
	a->rows = 0;
	if (qc && (qc->commandTag == CMDTAG_COPY || qc->commandTag == CMDTAG_FETCH ||
			   qc->commandTag == CMDTAG_SELECT ||
			   qc->commandTag == CMDTAG_REFRESH_MATERIALIZED_VIEW))
		a->rows = qc->nprocessed;
	memset(&a->bufusage, 0, sizeof(BufferUsage));
	BufferUsageAccumDiff(&a->bufusage, &pgBufferUsage, bufusage_start);
	(void) steward_collect(collect_utility_end, a);
}

/*
 * Utility statements (steward.track_utility), cursor commands and COPY
 * included, as the outermost utility step: what the other steps run
 * through SPI is nested.  EXECUTE and PREPARE do not raise the nesting
 * level: the prepared statement is the statement (counted by the
 * executor hooks).
 * Everything else a utility statement runs (a DO block's or a CALLed
 * procedure's statements, a cursor's query, COPY's query) is nested.
 */
static void
stmt_wrap_utility(StewardUtilityCall *call)
{
	PlannedStmt *pstmt = call->pstmt;
	const char *queryString = call->queryString;
	ProcessUtilityContext context = call->context;
	QueryCompletion *qc = call->qc;
	Node	   *parsetree = pstmt->utilityStmt;
	bool		top = nesting_level == 0 && context == PROCESS_UTILITY_TOPLEVEL;
	bool		prepared = IsA(parsetree, ExecuteStmt) || IsA(parsetree, PrepareStmt) ||
		IsA(parsetree, DeallocateStmt);
	bool		raise_level = !(IsA(parsetree, ExecuteStmt) || IsA(parsetree, PrepareStmt));
	bool		save_in_execute = in_top_execute;
	bool		save_execute_last = top_execute_last;
	TransactionStmt *xact = IsA(parsetree, TransactionStmt) ? (TransactionStmt *) parsetree : NULL;
	UtilityArgs args;
	instr_time	start;
	BufferUsage bufusage_start = pgBufferUsage;
	Oid			outer_target;

	args.slot = -1;
	if (steward_track_utility && !prepared && queryString != NULL && tracking_on())
	{
		if (top)
			args.slot = 0;
		else if (steward_track == STMT_TRACK_ALL)
			args.slot = nesting_level + 1;
	}

	if (args.slot >= 0)
	{
		args.pstmt = pstmt;
		args.src = queryString;
		if (!steward_collect(collect_utility_begin, &args))
			args.slot = -1;
	}

	args.commit_follows = utility_commit_follows(pstmt, queryString, top, xact, args.slot);

	if (top && IsA(parsetree, ExecuteStmt))
	{
		in_top_execute = tracking_on();
		top_execute_last = last_in_string(queryString, pstmt->stmt_location, pstmt->stmt_len);
	}

	INSTR_TIME_SET_CURRENT(start);
	if (raise_level)
		nesting_level++;
	/* A utility statement writes no table the wait sampler could name. */
	outer_target = steward_waits_set_target(InvalidOid);
	PG_TRY();
	{
		steward_utility_proceed(call);
	}
	PG_FINALLY();
	{
		if (raise_level)
			nesting_level--;
		(void) steward_waits_set_target(outer_target);
		in_top_execute = save_in_execute;
		top_execute_last = save_execute_last;
	}
	PG_END_TRY();

	if (top && xact != NULL)
		note_transaction_block(xact);

	if (args.slot >= 0)
		utility_end(&args, qc, start, &bufusage_start);
	else if (top && IsA(parsetree, PrepareStmt))
	{
		/* PREPARE analyzed a statement that did not run. */
		(void) steward_collect(collect_clear_top, NULL);
	}
}

/* Outermost utility step (plumbing/utility.h): every statement. */
static const StewardUtilityStep stmt_utility_step = {
	.wrap = stmt_wrap_utility,
};

/* Check hook of the 0.1 name: accepts any value, says it is deprecated. */
static bool
check_slow_query_ms(int *newval, void **extra, GucSource source)
{
	steward_setting_deprecated("steward.slow_query_ms", "steward.slow_query_threshold", source);
	return true;
}

/*
 * From _PG_init: define this part's steward.* settings.
 * Takes no lock.  A bad value set before the library loaded is core's
 * WARNING (define_custom_variable), and the default stays; setting a 0.1
 * name says it is deprecated (01P01 WARNING, or LOG from the configuration
 * file).  steward_setting_renamed's XX000 would be a programming error
 * (both names are defined just before).
 */
void
steward_statements_define_gucs(void)
{
	DefineCustomIntVariable("steward.max_statements",
							"Maximum number of statements tracked by steward.statements.",
							NULL, &steward_max_statements, 1000, 100, 100000,
							STEWARD_SERVER_START_GUC, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.slow_query_threshold",
							"Duration from which a call counts as slow in steward.statements.",
							NULL, &slow_query_threshold, 100, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.slow_query_ms",
							"Deprecated name of steward.slow_query_threshold (in effect while that is left at its default).",
							NULL, &slow_query_ms, 100, 0, INT_MAX,
							PGC_SUSET, GUC_UNIT_MS | GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE,
							check_slow_query_ms, NULL, NULL);
	steward_setting_renamed(&slow_query_setting);
	DefineCustomBoolVariable("steward.track_statements",
							 "Collect per-statement latency statistics.",
							 NULL, &steward_track_statements, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("steward.track",
							 "Which statements steward.statements counts: none, top (sent by clients), all (also inside functions).",
							 NULL, &steward_track, STMT_TRACK_TOP, track_options,
							 PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.track_utility",
							 "Count utility statements (DDL, COPY, cursor commands, transaction control) in steward.statements.",
							 NULL, &steward_track_utility, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
}

/*
 * Call fn, which must not raise errors, after each top-level statement this
 * backend counts.  From _PG_init only (the governor tells a session's own
 * statements from the foreground's by it).  Process-local: no lock, raises
 * nothing.
 */
void
steward_statements_observe_toplevel(void (*fn) (void))
{
	toplevel_observer = fn;
}

/*
 * From _PG_init while preloading: the parse, plan and executor hooks and
 * the utility step that time every statement (queryid computed:
 * EnableQueryId).  No lock; raises nothing.
 */
void
steward_statements_install_hooks(void)
{
	log_growth = log(STMT_HIST_GROWTH);
	EnableQueryId();
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = stmt_post_parse_analyze;
	prev_planner = planner_hook;
	planner_hook = stmt_planner;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = stmt_executor_start;
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = stmt_executor_run;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = stmt_executor_finish;
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = stmt_executor_end;
	steward_utility_register(STEWARD_UTILITY_STATEMENTS, &stmt_utility_step);
	RegisterXactCallback(stmt_xact_callback, NULL);
	RegisterSubXactCallback(stmt_subxact_callback, NULL);
}

/* ------------------------------------------------------------------------
 * Saving across clean restarts (statsfile.c: when, and which file is good)
 *
 * The records: the number of entries, then each entry as it is in shared
 * memory (its spinlock is set up again at load).
 * ------------------------------------------------------------------------
 */

/* A build with other entries does not read the file. */
#define STMT_FILE_LAYOUT	((uint32) sizeof(StmtEntry))

/*
 * on_shmem_exit callback of the postmaster: write every entry after a
 * clean shutdown only.  A failure is LOGged, never raised.
 */
static void
save_statements(int code, Datum arg)
{
	StewardStatsFile sf;
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	uint32		n;

	if (stmt_hash == NULL ||
		!steward_statsfile_open_write(&sf, code, STMT_DUMP_FILE, STMT_FILE_MAGIC,
									  STMT_FILE_LAYOUT))
		return;
	n = (uint32) hash_get_num_entries(stmt_hash);
	steward_statsfile_write(&sf, &n, sizeof(n));
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		steward_statsfile_write(&sf, entry, sizeof(StmtEntry));
	steward_statsfile_close_write(&sf);
}

/* Whether a saved entry can be served: a bool, a text that ends. */
static bool
saved_entry_ok(const StmtEntry *entry)
{
	uint8		toplevel;

	memcpy(&toplevel, &entry->key.toplevel, 1);
	return toplevel <= 1 &&
		(entry->key.kind & ~(STMT_KIND_UTILITY | STMT_KIND_BACKGROUND)) == 0 &&
		entry->query_len >= 0 && entry->query_len < STMT_TEXT_BYTES &&
		entry->query[entry->query_len] == '\0' &&
		strlen(entry->query) == (size_t) entry->query_len;
}

/*
 * At postmaster start: load the file of the last clean shutdown, all of
 * it or, if any part is damaged, none of it (emptied by
 * steward_statements_reset, whose lock is free: nothing else runs yet).
 * Raises nothing but palloc's ERROR.
 */
static void
load_statements(void)
{
	StewardStatsFile sf;
	uint32		n;
	StmtEntry  *buf;

	if (!steward_statsfile_open_read(&sf, STMT_DUMP_FILE, STMT_FILE_MAGIC, STMT_FILE_LAYOUT))
		return;
	buf = palloc(sizeof(StmtEntry));
	if (steward_statsfile_read(&sf, &n, sizeof(n)))
	{
		for (uint32 i = 0; i < n && steward_statsfile_read(&sf, buf, sizeof(StmtEntry)); i++)
		{
			StmtEntry  *entry;
			bool		found;

			if (!saved_entry_ok(buf))
			{
				steward_statsfile_damaged(&sf);
				break;
			}
			entry = steward_hash_enter_bounded(stmt_hash, &buf->key,
											   steward_max_statements, &found);
			if (entry == NULL)
				continue;
			memcpy(entry, buf, sizeof(StmtEntry));
			SpinLockInit(&entry->mutex);
		}
	}
	pfree(buf);
	/* the lock is free: nothing else runs yet */
	if (!steward_statsfile_close_read(&sf))
		steward_statements_reset();
}

/* ------------------------------------------------------------------------
 * SQL interface
 * ------------------------------------------------------------------------
 */

/*
 * steward.reset(): forget every statement of the cluster (evicted ones'
 * sums included) and this session's statement awaiting its commit.
 * Takes the statements' LWLock exclusively.  Raises nothing; a no-op
 * without shared_preload_libraries.
 */
void
steward_statements_reset(void)
{
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;

	if (stmt_hash == NULL)
		return;
	LWLockAcquire(stmt_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		hash_search(stmt_hash, &entry->key, HASH_REMOVE, NULL);
	stmt_shared->mean_usage = 1.0;
	pg_atomic_fetch_add_u64(&stmt_shared->removals, 1);
	LWLockRelease(stmt_shared->lock);
	pending.valid = false;
}

/*
 * Add an entry's calls, errors, slow calls and time to the sums given
 * (errors, slow_calls: NULL to leave out) and its histogram, coarsened, to
 * coarse[STEWARD_COARSE_BUCKETS].  Takes the entry's spinlock for the copy;
 * hist is scratch space of STMT_HIST_BUCKETS.
 */
static void
add_entry_sums(StmtEntry *entry, int64 *calls, int64 *errors, int64 *slow_calls,
			   double *total_ms, uint32 *coarse, uint32 *hist, uint64 *fine)
{
	SpinLockAcquire(&entry->mutex);
	*calls += entry->calls;
	if (errors)
		*errors += entry->errors;
	if (slow_calls)
		*slow_calls += entry->slow_calls;
	*total_ms += entry->total_ms;
	memcpy(hist, entry->hist, sizeof(uint32) * STMT_HIST_BUCKETS);
	SpinLockRelease(&entry->mutex);
	for (int b = 0; b < STMT_HIST_BUCKETS; b++)
		coarse[b / STEWARD_COARSE_FACTOR] += hist[b];
	if (fine)
		for (int b = 0; b < STMT_HIST_BUCKETS; b++)
			fine[b] += hist[b];
}

/*
 * Add the sums of the top-level statements (evicted ones included) of
 * every database, or only of dbid, to their records (history.c).  With
 * fine (only with a valid dbid), also dbid's histogram in the statements'
 * buckets (STEWARD_STMT_HIST_BUCKETS), from the same copies as the coarse
 * one.  The statements' LWLock shared, each entry's spinlock while it is
 * copied.  Raises nothing (but out of memory).
 */
void
steward_statements_add_totals(StewardDbTotals *totals, int *n, int max, Oid dbid,
							  uint64 *fine)
{
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	uint32	   *hist;

	if (stmt_hash == NULL)
		return;
	hist = palloc(sizeof(uint32) * STMT_HIST_BUCKETS);
	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		StewardDbTotals *t;

		if (!entry->key.toplevel || (OidIsValid(dbid) && entry->key.dbid != dbid))
			continue;
		t = steward_totals_for(totals, n, max, entry->key.dbid);
		if (t == NULL)
			continue;
		add_entry_sums(entry, &t->calls, &t->errors, &t->slow_calls, &t->total_ms,
					   t->hist, hist, OidIsValid(dbid) ? fine : NULL);
	}
	LWLockRelease(stmt_shared->lock);
	pfree(hist);
}

/* One statement's total time, for choosing the top statements. */
typedef struct StmtTime
{
	Oid			dbid;
	uint64		queryid;
	double		total_ms;
} StmtTime;

static int
stmt_time_key_cmp(const void *a, const void *b)
{
	const StmtTime *x = a;
	const StmtTime *y = b;

	if (x->dbid != y->dbid)
		return x->dbid < y->dbid ? -1 : 1;
	if (x->queryid != y->queryid)
		return x->queryid < y->queryid ? -1 : 1;
	return 0;
}

static int
stmt_time_desc_cmp(const void *a, const void *b)
{
	const StmtTime *x = a;
	const StmtTime *y = b;

	if (x->total_ms != y->total_ms)
		return x->total_ms > y->total_ms ? -1 : 1;
	return stmt_time_key_cmp(a, b);
}

/*
 * The history of the top statements (history.c): the "max" top-level
 * (database, queryid) pairs with the most total time since start or
 * reset, summed over users, evicted statements left out, with their calls,
 * time and coarse histograms, into top[0 .. *n).  Two passes under the
 * shared lock (each entry's spinlock while it is read): the times, then,
 * once the top pairs are chosen outside the lock, the sums of those.
 * Raises only 53200 (its copies are palloc'd before the lock is taken).
 */
void
steward_statements_top(StewardStmtTotals *top, int *n, int max)
{
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	StmtTime   *times;
	uint32	   *hist;
	long		cap;
	int			ntimes = 0;
	int			ndistinct = 0;

	*n = 0;
	if (stmt_hash == NULL || max <= 0)
		return;
	/* Entries are preallocated: never more than steward.max_statements. */
	cap = Max(hash_get_num_entries(stmt_hash), 0) + steward_max_statements + 1;
	times = palloc(sizeof(StmtTime) * cap);
	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!entry->key.toplevel || is_evicted_entry(entry))
			continue;
		if (ntimes >= cap)
		{
			hash_seq_term(&status);
			break;
		}
		times[ntimes].dbid = entry->key.dbid;
		times[ntimes].queryid = entry->key.queryid;
		SpinLockAcquire(&entry->mutex);
		times[ntimes].total_ms = entry->total_ms;
		SpinLockRelease(&entry->mutex);
		ntimes++;
	}
	LWLockRelease(stmt_shared->lock);

	/* Sum over users: sort by key, merge neighbours, sort by time. */
	if (ntimes > 0)
		qsort(times, ntimes, sizeof(StmtTime), stmt_time_key_cmp);
	for (int i = 0; i < ntimes; i++)
	{
		if (ndistinct > 0 && stmt_time_key_cmp(&times[ndistinct - 1], &times[i]) == 0)
			times[ndistinct - 1].total_ms += times[i].total_ms;
		else
			times[ndistinct++] = times[i];
	}
	if (ndistinct > 0)
		qsort(times, ndistinct, sizeof(StmtTime), stmt_time_desc_cmp);
	for (int i = 0; i < Min(ndistinct, max); i++)
	{
		memset(&top[i], 0, sizeof(StewardStmtTotals));
		top[i].dbid = times[i].dbid;
		top[i].queryid = times[i].queryid;
	}
	*n = Min(ndistinct, max);
	pfree(times);
	if (*n == 0)
		return;

	hist = palloc(sizeof(uint32) * STMT_HIST_BUCKETS);
	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		StewardStmtTotals *t = NULL;

		if (!entry->key.toplevel || is_evicted_entry(entry))
			continue;
		for (int i = 0; i < *n && t == NULL; i++)
			if (top[i].dbid == entry->key.dbid && top[i].queryid == entry->key.queryid)
				t = &top[i];
		if (t == NULL)
			continue;
		add_entry_sums(entry, &t->calls, NULL, NULL, &t->total_ms, t->hist, hist, NULL);
	}
	LWLockRelease(stmt_shared->lock);
	pfree(hist);
}

/*
 * The governor's view of the foreground (src/governor): the histograms and
 * calls of every top-level client query of every database (kind 0: no
 * utility statement, no background process's statement), evicted ones
 * included, summed into hist[STEWARD_STMT_HIST_BUCKETS] and *calls (both
 * zeroed here).  Sums never decrease except at steward.reset().  Shared
 * lock on the statements, each entry's spinlock while it is copied.
 * Raises only 53200 (a palloc before the lock is taken).
 */
void
steward_statements_sum_toplevel(uint64 *hist, uint64 *calls)
{
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	uint32	   *copy;

	memset(hist, 0, sizeof(uint64) * STMT_HIST_BUCKETS);
	*calls = 0;
	if (stmt_hash == NULL)
		return;
	copy = palloc(sizeof(uint32) * STMT_HIST_BUCKETS);
	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!entry->key.toplevel || entry->key.kind != 0)
			continue;
		SpinLockAcquire(&entry->mutex);
		*calls += entry->calls;
		memcpy(copy, entry->hist, sizeof(uint32) * STMT_HIST_BUCKETS);
		SpinLockRelease(&entry->mutex);
		for (int b = 0; b < STMT_HIST_BUCKETS; b++)
			hist[b] += copy[b];
	}
	LWLockRelease(stmt_shared->lock);
	pfree(copy);
}

/*
 * Percentile p (0..1) in ms of a histogram in the statements' buckets
 * holding "calls" values: the geometric midpoint of the bucket holding its
 * rank (relative error < 1%).  0 without values.  Pure computation: no
 * lock, raises nothing.
 */
double
steward_stmt_percentile_ms(const uint32 *hist, uint64 calls, double p)
{
	if (log_growth == 0)
		log_growth = log(STMT_HIST_GROWTH);
	return percentile_ms(hist, calls, DBL_MAX, p);
}

/*
 * The bucket of a duration in ms (for tests that feed the governor).  Pure
 * computation: no lock, raises nothing.
 */
int
steward_stmt_bucket_of_ms(double ms)
{
	if (log_growth == 0)
		log_growth = log(STMT_HIST_GROWTH);
	return bucket_of(ms * 1000.0);
}

/* A database's encoding (see query_text_datum). */
typedef struct DbEncoding
{
	Oid			dbid;
	int			encoding;
} DbEncoding;

/*
 * Every database's encoding, read from pg_database before the statements'
 * lock is taken (no catalog access happens under it).
 */
static List *
database_encodings(void)
{
	List	   *list = NIL;
	Relation	rel = table_open(DatabaseRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	HeapTuple	tup;

	while ((tup = systable_getnext(scan)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		DbEncoding *e = palloc(sizeof(DbEncoding));

		e->dbid = db->oid;
		e->encoding = db->encoding;
		list = lappend(list, e);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	return list;
}

/* The encoding of database dbid in the list, -1 if it is not there (dropped). */
static int
encoding_of(List *encodings, Oid dbid)
{
	ListCell   *lc;

	foreach(lc, encodings)
	{
		DbEncoding *e = lfirst(lc);

		if (e->dbid == dbid)
			return e->encoding;
	}
	return -1;
}

/* May a text of a database in "encoding" be shown here as it is stored? */
static bool
text_as_stored(int encoding)
{
	return encoding == GetDatabaseEncoding() ||
		(encoding != -1 && GetDatabaseEncoding() == PG_SQL_ASCII);
}

/* Are the "len" bytes at "s" all ASCII (no byte with the high bit set)? */
static bool
bytes_are_ascii(const char *s, int len)
{
	for (int i = 0; i < len; i++)
		if (IS_HIGHBIT_SET(s[i]))
			return false;
	return true;
}

/*
 * The text of a statement recorded in a database in encoding "from" (-1:
 * unknown, the database was dropped), in this database's encoding, or NULL
 * (*isnull) when it cannot be shown as valid text here.  Texts are kept as
 * their database wrote them; one of another encoding (a LATIN1 database's
 * text read in a UTF8 one) is converted, as pg_stat_statements converts
 * its texts, but without raising: a text that does not convert completely
 * (or has no conversion) is NULL unless it is all ASCII; one from a
 * database dropped since (encoding unknown) or a SQL_ASCII one is shown only
 * if its bytes are valid here as they are.  Never returns invalidly
 * encoded text (every text function would fail on it with 22021).  Reads
 * the catalogs (the conversion): call it without the statements' lock.
 */
static Datum
query_text_datum(int from, const char *query, int len, bool *isnull)
{
	int			to = GetDatabaseEncoding();

	*isnull = false;
	if (text_as_stored(from))
		return PointerGetDatum(cstring_to_text_with_len(query, len));
	if (from != -1 && from != PG_SQL_ASCII)
	{
		Oid			proc = FindDefaultConversionProc(from, to);

		if (OidIsValid(proc))
		{
			int			size = len * MAX_CONVERSION_GROWTH + 1;
			unsigned char *out = palloc(size);
			int			done;

			done = pg_do_encoding_conversion_buf(proc, from, to,
												 (unsigned char *) query, len,
												 out, size, true);
			if (done == len && pg_verifymbstr((char *) out, strlen((char *) out), true))
				return PointerGetDatum(cstring_to_text((char *) out));
			pfree(out);
		}

		/*
		 * The text's encoding is known and it does not convert: its bytes,
		 * read in this encoding, would be other characters (a UTF8
		 * database's euro sign read in a LATIN1 one as three letters,
		 * review18 F1), unless they are all ASCII, which reads the same in
		 * every server encoding.
		 */
		if (!bytes_are_ascii(query, len))
		{
			*isnull = true;
			return (Datum) 0;
		}
	}
	if (pg_verifymbstr(query, len, true))
		return PointerGetDatum(cstring_to_text_with_len(query, len));
	*isnull = true;
	return (Datum) 0;
}

/* A row whose text is converted after the lock is released. */
typedef struct DeferredRow
{
	Datum		values[19];
	bool		nulls[19];
	int			text_col;
	int			encoding;
	char	   *query;
} DeferredRow;

/*
 * Rows of steward._statements(): 18 columns for the 0.1 definition
 * (steward_statements), 19 with toplevel (steward_statements_v2).
 */
static Datum
statements_srf(FunctionCallInfo fcinfo, int ncols)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			userid = GetUserId();
	bool		see_all = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS);
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	StmtEntry  *copy = palloc(sizeof(StmtEntry));
	List	   *encodings;
	List	   *deferred = NIL;
	ListCell   *lc;

	/* Without shared_preload_libraries: no rows (steward.collector says why). */
	InitMaterializedSRF(fcinfo, 0);
	if (stmt_hash == NULL)
		return (Datum) 0;
	encodings = database_encodings();
	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		Datum		values[19];
		bool		nulls[19] = {0};
		int			i = 0;
		int			text_col = -1;

		if (is_evicted_entry(entry))
			continue;
		SpinLockAcquire(&entry->mutex);
		memcpy(copy, entry, sizeof(StmtEntry));
		SpinLockRelease(&entry->mutex);
		if (copy->calls == 0 && copy->errors == 0)
			continue;

		values[i++] = ObjectIdGetDatum(copy->key.userid);
		values[i++] = ObjectIdGetDatum(copy->key.dbid);
		values[i++] = Int64GetDatum((int64) copy->key.queryid);
		if ((see_all || copy->key.userid == userid) &&
			!text_as_stored(encoding_of(encodings, copy->key.dbid)))
		{
			/* Converted below, without the lock: the slot stays for now. */
			text_col = i;
			nulls[i] = true;
			values[i++] = (Datum) 0;
		}
		else if (see_all || copy->key.userid == userid)
			values[i++] = CStringGetTextDatum(copy->query);
		else
		{
			nulls[i] = true;
			values[i++] = (Datum) 0;
		}
		values[i++] = Int64GetDatum(copy->calls);
		values[i++] = Int64GetDatum(copy->errors);
		values[i++] = Int64GetDatum(copy->rows);
		values[i++] = Float8GetDatum(copy->total_ms);
		values[i++] = Float8GetDatum(copy->calls ? copy->total_ms / copy->calls : 0);
		values[i++] = Float8GetDatum(percentile_ms(copy->hist, copy->calls, copy->max_ms, 0.50));
		values[i++] = Float8GetDatum(percentile_ms(copy->hist, copy->calls, copy->max_ms, 0.90));
		values[i++] = Float8GetDatum(percentile_ms(copy->hist, copy->calls, copy->max_ms, 0.95));
		values[i++] = Float8GetDatum(percentile_ms(copy->hist, copy->calls, copy->max_ms, 0.99));
		values[i++] = Float8GetDatum(percentile_ms(copy->hist, copy->calls, copy->max_ms, 0.999));
		values[i++] = Float8GetDatum(copy->max_ms);
		values[i++] = Int64GetDatum(copy->slow_calls);
		values[i++] = Int64GetDatum(copy->blks_hit);
		values[i++] = Int64GetDatum(copy->blks_read);
		if (ncols > 18)
			values[i++] = BoolGetDatum(copy->key.toplevel);
		if (text_col >= 0)
		{
			DeferredRow *d = palloc(sizeof(DeferredRow));

			memcpy(d->values, values, sizeof(values));
			memcpy(d->nulls, nulls, sizeof(nulls));
			d->text_col = text_col;
			d->encoding = encoding_of(encodings, copy->key.dbid);
			d->query = pstrdup(copy->query);
			deferred = lappend(deferred, d);
			continue;
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(stmt_shared->lock);
	pfree(copy);

	/* Texts of databases in another encoding (review9 F18). */
	foreach(lc, deferred)
	{
		DeferredRow *d = lfirst(lc);

		d->values[d->text_col] = query_text_datum(d->encoding, d->query, strlen(d->query),
												  &d->nulls[d->text_col]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, d->values, d->nulls);
	}
	return (Datum) 0;
}

/*
 * steward._statements() of 0.1: kept for databases not yet updated.  Locks
 * and errors as steward_statements_v2.
 */
Datum
steward_statements(PG_FUNCTION_ARGS)
{
	return statements_srf(fcinfo, 18);
}

/*
 * steward._statements(): one row per statement with calls or errors; the
 * query text only to its user or pg_read_all_stats.  The statements'
 * LWLock shared, each entry's spinlock while it is copied; texts of a
 * database in another encoding are converted after the lock is released.
 * No rows without shared_preload_libraries.  Errors: none of its own.
 */
Datum
steward_statements_v2(PG_FUNCTION_ARGS)
{
	return statements_srf(fcinfo, 19);
}

/*
 * steward._statement_totals(): per database and toplevel, the sums over
 * its statements including evicted ones (calls, errors, rows, total_ms,
 * slow_calls, evicted entries).  These never decrease except by
 * steward.reset(): the Prometheus counters are built from them.  The
 * statements' LWLock shared, each entry's spinlock while it is copied.
 * Errors: none of its own.
 */
Datum
steward_statement_totals(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	HTAB	   *sums;
	HASHCTL		info;
	StmtEntry  *sum;

	InitMaterializedSRF(fcinfo, 0);
	if (stmt_hash == NULL)
		return (Datum) 0;
	info.keysize = sizeof(StmtKey);
	info.entrysize = sizeof(StmtEntry);
	info.hcxt = CurrentMemoryContext;
	sums = hash_create("statement totals", 16, &info, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		bool		found;
		StmtKey		key;

		memset(&key, 0, sizeof(key));
		key.dbid = entry->key.dbid;
		key.toplevel = entry->key.toplevel;
		sum = hash_search(sums, &key, HASH_ENTER, &found);
		if (!found)
		{
			memset(sum, 0, sizeof(StmtEntry));
			sum->key = key;
		}
		SpinLockAcquire(&entry->mutex);
		sum->calls += entry->calls;
		sum->errors += entry->errors;
		sum->rows += entry->rows;
		sum->total_ms += entry->total_ms;
		sum->slow_calls += entry->slow_calls;
		sum->evicted += entry->evicted;
		SpinLockRelease(&entry->mutex);
	}
	LWLockRelease(stmt_shared->lock);

	hash_seq_init(&status, sums);
	while ((sum = hash_seq_search(&status)) != NULL)
	{
		Datum		values[8];
		bool		nulls[8] = {0};

		values[0] = ObjectIdGetDatum(sum->key.dbid);
		values[1] = Int64GetDatum(sum->calls);
		values[2] = Int64GetDatum(sum->errors);
		values[3] = Int64GetDatum(sum->rows);
		values[4] = Float8GetDatum(sum->total_ms);
		values[5] = Int64GetDatum(sum->slow_calls);
		values[6] = Int64GetDatum(sum->evicted);
		values[7] = BoolGetDatum(sum->key.toplevel);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * steward.latency_histogram(queryid): the non-empty buckets of a statement
 * (NULL: of all top-level statements of this database, evicted ones
 * included), summed over the users the caller may see.  The statements'
 * LWLock shared, each entry's spinlock while it is copied.  Errors: none
 * of its own.
 */
Datum
steward_latency_histogram(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		all = PG_ARGISNULL(0);
	uint64		queryid = all ? 0 : (uint64) PG_GETARG_INT64(0);
	Oid			userid = GetUserId();
	bool		see_all = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS);
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	uint64	   *hist = palloc0(sizeof(uint64) * STMT_HIST_BUCKETS);

	InitMaterializedSRF(fcinfo, 0);
	if (stmt_hash == NULL)
		return (Datum) 0;

	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->key.dbid != MyDatabaseId || (all && !entry->key.toplevel))
			continue;
		if (is_evicted_entry(entry) ? !(all && see_all) :
			((!all && entry->key.queryid != queryid) ||
			 (!see_all && entry->key.userid != userid)))
			continue;
		SpinLockAcquire(&entry->mutex);
		for (int b = 0; b < STMT_HIST_BUCKETS; b++)
			hist[b] += entry->hist[b];
		SpinLockRelease(&entry->mutex);
	}
	LWLockRelease(stmt_shared->lock);

	for (int b = 0; b < STMT_HIST_BUCKETS; b++)
	{
		Datum		values[3];
		bool		nulls[3] = {0};

		if (hist[b] == 0)
			continue;
		values[0] = Float8GetDatum(bucket_lower_us(b) / 1000.0);
		values[1] = Float8GetDatum(bucket_upper_us(b) / 1000.0);
		values[2] = Int64GetDatum((int64) hist[b]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
