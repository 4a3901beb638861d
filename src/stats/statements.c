/*-------------------------------------------------------------------------
 *
 * statements.c
 *	  Per-statement latency statistics with percentiles.
 *
 * Like pg_stat_statements, entries are keyed by (userid, dbid, queryid) of
 * top-level statements and kept in shared memory; unlike it, every entry
 * carries a log-linear latency histogram, so p50 ... p99.9 are available
 * with at most 1% relative error, plus failed executions and slow calls.
 *
 * Histogram: bucket 0 holds durations under 1 us; bucket b >= 1 holds
 * [g^(b-1), g^b) us with g = 1.02.  Reporting a bucket by its geometric
 * midpoint is off by at most sqrt(1.02) - 1 < 1%.  1100 buckets reach
 * 2.9e9 us (48 minutes); longer calls land in the last bucket (and max_ms
 * stays exact).
 *
 * Locking: one LWLock guards the hash table's membership (shared to find
 * an entry, exclusive to create or evict); each entry's counters are
 * guarded by its own spinlock.  See README.md.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sys/stat.h>

#include "access/parallel.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "parser/analyze.h"
#include "parser/scanner.h"
#include "parser/scansup.h"
#include "pgstat.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/queryjumble.h"

#include "pg_steward.h"
#include "stats/statements.h"
#include "stats/waits.h"

#define STMT_TRANCHE		"pg_steward statements"
#define STMT_DUMP_FILE		"pg_stat/pg_steward_statements.stat"
#define STMT_FILE_MAGIC		0x53545331	/* "STS1" */
#define STMT_HIST_BUCKETS	1100
#define STMT_HIST_GROWTH	1.02
#define STMT_TEXT_BYTES		1024

typedef struct StmtKey
{
	Oid			userid;
	Oid			dbid;
	uint64		queryid;
} StmtKey;

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
	double		total_ms;
	double		max_ms;
	uint32		hist[STMT_HIST_BUCKETS];
	int			query_len;
	char		query[STMT_TEXT_BYTES];
} StmtEntry;

typedef struct StmtShared
{
	LWLock	   *lock;
} StmtShared;

int			steward_max_statements = 1000;
int			steward_slow_query_ms = 100;
bool		steward_track_statements = true;

static StmtShared *stmt_shared = NULL;
static HTAB *stmt_hash = NULL;
static int	nesting_level = 0;
static double log_growth;

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static ExecutorStart_hook_type prev_executor_start = NULL;
static ExecutorRun_hook_type prev_executor_run = NULL;
static ExecutorFinish_hook_type prev_executor_finish = NULL;
static ExecutorEnd_hook_type prev_executor_end = NULL;
static ProcessUtility_hook_type prev_process_utility = NULL;

PG_FUNCTION_INFO_V1(steward_statements);
PG_FUNCTION_INFO_V1(steward_latency_histogram);

/* ------------------------------------------------------------------------
 * Histogram arithmetic
 * ------------------------------------------------------------------------
 */
static int
bucket_of(double us)
{
	int			b;

	if (us < 1.0)
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

/* ------------------------------------------------------------------------
 * Shared memory
 * ------------------------------------------------------------------------
 */
Size
steward_statements_shmem_size(void)
{
	return add_size(MAXALIGN(sizeof(StmtShared)),
					hash_estimate_size(steward_max_statements, sizeof(StmtEntry)));
}

void
steward_statements_request_shmem(void)
{
	RequestAddinShmemSpace(steward_statements_shmem_size());
	RequestNamedLWLockTranche(STMT_TRANCHE, 1);
}

static void save_statements(int code, Datum arg);
static void load_statements(void);

void
steward_statements_init_shmem(void)
{
	bool		found;
	HASHCTL		info;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	stmt_shared = ShmemInitStruct("pg_steward statements", sizeof(StmtShared), &found);
	if (!found)
		stmt_shared->lock = &(GetNamedLWLockTranche(STMT_TRANCHE))->lock;
	info.keysize = sizeof(StmtKey);
	info.entrysize = sizeof(StmtEntry);
	stmt_hash = ShmemInitHash("pg_steward statement hash", steward_max_statements,
							  steward_max_statements, &info, HASH_ELEM | HASH_BLOBS);
	LWLockRelease(AddinShmemInitLock);

	/* The postmaster loads the saved statistics and saves them at shutdown. */
	if (!IsUnderPostmaster)
	{
		if (!found)
			load_statements();
		on_shmem_exit(save_statements, (Datum) 0);
	}
}

static int
entry_usage_cmp(const void *a, const void *b)
{
	int64		ca = (*(StmtEntry *const *) a)->calls;
	int64		cb = (*(StmtEntry *const *) b)->calls;

	return (ca > cb) - (ca < cb);
}

/* Drop the least-called 5% of entries.  Caller holds the lock exclusively. */
static void
evict_entries(void)
{
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	StmtEntry **all;
	int			n = 0;
	int			nvictims;

	all = palloc(hash_get_num_entries(stmt_hash) * sizeof(StmtEntry *));
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
		all[n++] = entry;
	qsort(all, n, sizeof(StmtEntry *), entry_usage_cmp);
	nvictims = Max(1, n / 20);
	for (int i = 0; i < nvictims && i < n; i++)
		hash_search(stmt_hash, &all[i]->key, HASH_REMOVE, NULL);
	pfree(all);
}

/* Find or create the entry; caller holds no lock.  Returns NULL if absent and !create. */
static StmtEntry *
get_entry(const StmtKey *key, const char *text, int text_len, bool create)
{
	StmtEntry  *entry;
	bool		found;

	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	entry = hash_search(stmt_hash, key, HASH_FIND, NULL);
	LWLockRelease(stmt_shared->lock);
	if (entry != NULL || !create)
		return entry;

	LWLockAcquire(stmt_shared->lock, LW_EXCLUSIVE);
	if (hash_get_num_entries(stmt_hash) >= steward_max_statements)
		evict_entries();
	entry = hash_search(stmt_hash, key, HASH_ENTER_NULL, &found);
	if (entry != NULL && !found)
	{
		/* Statements of a multi-statement string start after the ';'. */
		while (text_len > 0 && scanner_isspace(*text))
		{
			text++;
			text_len--;
		}
		while (text_len > 0 && scanner_isspace(text[text_len - 1]))
			text_len--;
		memset((char *) entry + sizeof(StmtKey), 0, sizeof(StmtEntry) - sizeof(StmtKey));
		SpinLockInit(&entry->mutex);
		entry->query_len = Min(text_len, STMT_TEXT_BYTES - 1);
		memcpy(entry->query, text, entry->query_len);
		entry->query[entry->query_len] = '\0';
	}
	LWLockRelease(stmt_shared->lock);
	return entry;
}

/* ------------------------------------------------------------------------
 * Query text normalization: constants become $n, as pg_stat_statements
 * shows them.  Constant locations come from the core query jumble; their
 * lengths are found with the core lexer.
 * ------------------------------------------------------------------------
 */
static int
location_cmp(const void *a, const void *b)
{
	int			la = ((const LocationLen *) a)->location;
	int			lb = ((const LocationLen *) b)->location;

	return (la > lb) - (la < lb);
}

/*
 * Fill in the byte length of every constant (or -1 if not found).  "query"
 * is the statement's text, which starts at offset query_loc of the source
 * the locations refer to.  A constant ends where the next token starts
 * (trailing white space trimmed); a negative one is '-' plus the number.
 */
static void
constant_lengths(JumbleState *jstate, const char *query, int query_loc)
{
	core_yyscan_t yyscanner;
	core_yy_extra_type yyextra;
	core_YYSTYPE yylval;
	YYLTYPE		yylloc;
	LocationLen *locs = jstate->clocations;
	int			tok;
	int			tokloc;

	qsort(locs, jstate->clocations_count, sizeof(LocationLen), location_cmp);
	yyscanner = scanner_init(query, &yyextra, &ScanKeywords, ScanKeywordTokens);
	yyextra.escape_string_warning = false;
	yyextra.standard_conforming_strings = true;

	tok = core_yylex(&yylval, &yylloc, yyscanner);
	tokloc = yylloc;
	for (int i = 0; i < jstate->clocations_count; i++)
	{
		int			loc = locs[i].location - query_loc;
		int			next;
		int			end;

		locs[i].length = -1;
		while (tok != 0 && tokloc < loc)
		{
			tok = core_yylex(&yylval, &yylloc, yyscanner);
			tokloc = yylloc;
		}
		if (tok == 0)
			break;
		if (tokloc != loc)
			continue;
		if (tok == '-')
		{
			tok = core_yylex(&yylval, &yylloc, yyscanner);
			if (tok == 0)
				break;
		}
		next = core_yylex(&yylval, &yylloc, yyscanner);
		end = (next == 0) ? (int) strlen(yyextra.scanbuf) : yylloc;
		while (end > loc && scanner_isspace(yyextra.scanbuf[end - 1]))
			end--;
		locs[i].length = end - loc;
		tok = next;
		tokloc = yylloc;
	}
	scanner_finish(yyscanner);
}

static char *
normalize_query(const char *query, int query_loc, int *query_len, JumbleState *jstate)
{
	char	   *out;
	int			len = *query_len;
	int			pos = 0,
				outlen = 0;
	int			param = jstate->highest_extern_param_id;
	char	   *text = pnstrdup(query + query_loc, len);

	constant_lengths(jstate, text, query_loc);
	out = palloc(len + jstate->clocations_count * 10 + 1);
	for (int i = 0; i < jstate->clocations_count; i++)
	{
		int			loc = jstate->clocations[i].location - query_loc;
		int			clen = jstate->clocations[i].length;

		if (clen < 0 || loc < pos || loc + clen > len)
			continue;
		memcpy(out + outlen, text + pos, loc - pos);
		outlen += loc - pos;
		outlen += sprintf(out + outlen, "$%d", ++param);
		pos = loc + clen;
	}
	memcpy(out + outlen, text + pos, len - pos);
	outlen += len - pos;
	out[outlen] = '\0';
	*query_len = outlen;
	return out;
}

/* ------------------------------------------------------------------------
 * Hooks
 * ------------------------------------------------------------------------
 */
static bool
tracking(void)
{
	return steward_track_statements && stmt_hash != NULL && nesting_level == 0 &&
		!IsParallelWorker();
}

static void
stmt_post_parse_analyze(ParseState *pstate, Query *query, JumbleState *jstate)
{
	StmtKey		key;

	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);
	if (!tracking() || query->queryId == UINT64CONST(0) || query->utilityStmt != NULL ||
		pstate->p_sourcetext == NULL)
		return;

	memset(&key, 0, sizeof(key));
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.queryid = query->queryId;
	if (get_entry(&key, NULL, 0, false) == NULL)
	{
		int			loc = Max(query->stmt_location, 0);
		int			len = query->stmt_len > 0 ? query->stmt_len :
		(int) strlen(pstate->p_sourcetext) - loc;
		char	   *text;

		if (jstate && jstate->clocations_count > 0)
			text = normalize_query(pstate->p_sourcetext, loc, &len, jstate);
		else
			text = pnstrdup(pstate->p_sourcetext + loc, len);
		(void) get_entry(&key, text, len, true);
		pfree(text);
	}
}

static void
stmt_executor_start(QueryDesc *queryDesc, int eflags)
{
	if (prev_executor_start)
		prev_executor_start(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (tracking() && queryDesc->plannedstmt->queryId != UINT64CONST(0) &&
		queryDesc->totaltime == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);

		queryDesc->totaltime = InstrAlloc(1, INSTRUMENT_ALL, false);
		MemoryContextSwitchTo(old);
	}
	if (tracking())
		steward_waits_set_queryid(queryDesc->plannedstmt->queryId);
}

/*
 * Count one call.  "text" is used only if the entry must be created here
 * (its parse-time entry was evicted or reset in between): then the text is
 * the statement as executed, not normalized.
 */
static void
record_call(uint64 queryid, const char *text, double ms, uint64 rows,
			const BufferUsage *bufusage, bool failed)
{
	StmtKey		key;
	StmtEntry  *entry;
	int			b = bucket_of(ms * 1000.0);

	memset(&key, 0, sizeof(key));
	key.userid = GetUserId();
	key.dbid = MyDatabaseId;
	key.queryid = queryid;
	entry = get_entry(&key, text ? text : "", text ? strlen(text) : 0, true);
	if (entry == NULL)
		return;

	SpinLockAcquire(&entry->mutex);
	if (failed)
		entry->errors++;
	else
	{
		entry->calls++;
		entry->rows += rows;
		entry->total_ms += ms;
		entry->max_ms = Max(entry->max_ms, ms);
		entry->hist[b]++;
		if (ms >= steward_slow_query_ms)
			entry->slow_calls++;
		if (bufusage)
		{
			entry->blks_hit += bufusage->shared_blks_hit;
			entry->blks_read += bufusage->shared_blks_read;
		}
	}
	SpinLockRelease(&entry->mutex);
}

static void
stmt_executor_run(QueryDesc *queryDesc, ScanDirection direction, uint64 count,
				  bool execute_once)
{
	bool		top = tracking();

	nesting_level++;
	PG_TRY();
	{
		if (prev_executor_run)
			prev_executor_run(queryDesc, direction, count, execute_once);
		else
			standard_ExecutorRun(queryDesc, direction, count, execute_once);
	}
	PG_CATCH();
	{
		/* A failed execution of a top-level statement counts as an error. */
		nesting_level--;
		if (top)
			steward_waits_set_queryid(0);
		if (top && queryDesc->plannedstmt->queryId != UINT64CONST(0))
			record_call(queryDesc->plannedstmt->queryId, queryDesc->sourceText,
						0, 0, NULL, true);
		PG_RE_THROW();
	}
	PG_END_TRY();
	nesting_level--;
}

static void
stmt_executor_finish(QueryDesc *queryDesc)
{
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
	}
	PG_END_TRY();
}

static void
stmt_executor_end(QueryDesc *queryDesc)
{
	uint64		queryid = queryDesc->plannedstmt->queryId;

	if (tracking())
		steward_waits_set_queryid(0);
	if (tracking() && queryid != UINT64CONST(0) && queryDesc->totaltime)
	{
		InstrEndLoop(queryDesc->totaltime);
		record_call(queryid, queryDesc->sourceText, queryDesc->totaltime->total * 1000.0,
					queryDesc->estate->es_processed,
					&queryDesc->totaltime->bufusage, false);
	}
	if (prev_executor_end)
		prev_executor_end(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*
 * Utility statements are not tracked, but the statements they run (a DO
 * block's queries, a function's) are nested, not top-level.
 */
static void
stmt_process_utility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree, ProcessUtilityContext context,
					 ParamListInfo params, QueryEnvironment *queryEnv,
					 DestReceiver *dest, QueryCompletion *qc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_process_utility)
			prev_process_utility(pstmt, queryString, readOnlyTree, context,
								 params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
									params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

void
steward_statements_define_gucs(void)
{
	DefineCustomIntVariable("steward.max_statements",
							"Maximum number of statements tracked by steward.statements.",
							NULL, &steward_max_statements, 1000, 100, 100000,
							STEWARD_SERVER_START_GUC, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("steward.slow_query_ms",
							"Duration from which a call counts as slow in steward.statements.",
							NULL, &steward_slow_query_ms, 100, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS, NULL, NULL, NULL);
	DefineCustomBoolVariable("steward.track_statements",
							 "Collect per-statement latency statistics.",
							 NULL, &steward_track_statements, true,
							 PGC_SUSET, 0, NULL, NULL, NULL);
}

void
steward_statements_install_hooks(void)
{
	log_growth = log(STMT_HIST_GROWTH);
	EnableQueryId();
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = stmt_post_parse_analyze;
	prev_executor_start = ExecutorStart_hook;
	ExecutorStart_hook = stmt_executor_start;
	prev_executor_run = ExecutorRun_hook;
	ExecutorRun_hook = stmt_executor_run;
	prev_executor_finish = ExecutorFinish_hook;
	ExecutorFinish_hook = stmt_executor_finish;
	prev_executor_end = ExecutorEnd_hook;
	ExecutorEnd_hook = stmt_executor_end;
	prev_process_utility = ProcessUtility_hook;
	ProcessUtility_hook = stmt_process_utility;
}

/* ------------------------------------------------------------------------
 * Saving across clean restarts
 * ------------------------------------------------------------------------
 */
static void
save_statements(int code, Datum arg)
{
	FILE	   *file;
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	uint32		header[2] = {STMT_FILE_MAGIC, 0};

	/* Only a clean shutdown saves; a crash starts empty, like pg_stat_statements. */
	if (code != 0 || stmt_hash == NULL)
		return;
	file = AllocateFile(STMT_DUMP_FILE ".tmp", PG_BINARY_W);
	if (file == NULL)
		goto error;
	header[1] = (uint32) hash_get_num_entries(stmt_hash);
	if (fwrite(header, sizeof(header), 1, file) != 1)
		goto error;
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (fwrite(entry, sizeof(StmtEntry), 1, file) != 1)
		{
			hash_seq_term(&status);
			goto error;
		}
	}
	if (FreeFile(file))
	{
		file = NULL;
		goto error;
	}
	(void) durable_rename(STMT_DUMP_FILE ".tmp", STMT_DUMP_FILE, LOG);
	return;

error:
	ereport(LOG,
			(errcode_for_file_access(),
			 errmsg("could not write file \"%s\": %m", STMT_DUMP_FILE ".tmp")));
	if (file)
		FreeFile(file);
	unlink(STMT_DUMP_FILE ".tmp");
}

static void
load_statements(void)
{
	FILE	   *file;
	uint32		header[2];
	StmtEntry  *buf;
	bool		crc_ok;
	ControlFileData *control = get_controlfile(DataDir, &crc_ok);

	/*
	 * An immediate stop still lets the postmaster save the file; only a
	 * clean shutdown (pg_control says so) may bring the numbers back.
	 */
	if (!crc_ok || (control->state != DB_SHUTDOWNED &&
					control->state != DB_SHUTDOWNED_IN_RECOVERY))
	{
		unlink(STMT_DUMP_FILE);
		return;
	}
	file = AllocateFile(STMT_DUMP_FILE, PG_BINARY_R);
	if (file == NULL)
		return;
	buf = palloc(sizeof(StmtEntry));
	if (fread(header, sizeof(header), 1, file) == 1 && header[0] == STMT_FILE_MAGIC)
	{
		for (uint32 i = 0; i < header[1]; i++)
		{
			StmtEntry  *entry;
			bool		found;

			if (fread(buf, sizeof(StmtEntry), 1, file) != 1)
				break;
			if (hash_get_num_entries(stmt_hash) >= steward_max_statements)
				break;
			entry = hash_search(stmt_hash, &buf->key, HASH_ENTER_NULL, &found);
			if (entry == NULL)
				break;
			memcpy(entry, buf, sizeof(StmtEntry));
			SpinLockInit(&entry->mutex);
		}
	}
	pfree(buf);
	FreeFile(file);
	/* Read once: a later crash must not resurrect old numbers. */
	unlink(STMT_DUMP_FILE);
}

/* ------------------------------------------------------------------------
 * SQL interface
 * ------------------------------------------------------------------------
 */
static void
require_statements(void)
{
	if (stmt_hash == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_steward statement statistics are not available"),
				 errdetail("They live in shared memory, which pg_steward can only allocate at server start."),
				 errhint("Add pg_steward to shared_preload_libraries and restart the server.")));
}

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
	LWLockRelease(stmt_shared->lock);
}

Datum
steward_statements(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			userid = GetUserId();
	bool		see_all = has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS);
	HASH_SEQ_STATUS status;
	StmtEntry  *entry;
	StmtEntry  *copy = palloc(sizeof(StmtEntry));

	require_statements();
	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		Datum		values[18];
		bool		nulls[18] = {0};
		int			i = 0;

		SpinLockAcquire(&entry->mutex);
		memcpy(copy, entry, sizeof(StmtEntry));
		SpinLockRelease(&entry->mutex);
		if (copy->calls == 0 && copy->errors == 0)
			continue;

		values[i++] = ObjectIdGetDatum(copy->key.userid);
		values[i++] = ObjectIdGetDatum(copy->key.dbid);
		values[i++] = Int64GetDatum((int64) copy->key.queryid);
		if (see_all || copy->key.userid == userid)
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
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(stmt_shared->lock);
	pfree(copy);
	return (Datum) 0;
}

/*
 * steward.latency_histogram(queryid): the non-empty buckets of a statement
 * (NULL: of all statements of this database), summed over the users the
 * caller may see.
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
	uint32	   *hist = palloc0(sizeof(uint32) * STMT_HIST_BUCKETS);

	require_statements();
	InitMaterializedSRF(fcinfo, 0);

	/* Sum over the users (and databases) the caller may see. */
	LWLockAcquire(stmt_shared->lock, LW_SHARED);
	hash_seq_init(&status, stmt_hash);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if ((!all && entry->key.queryid != queryid) || entry->key.dbid != MyDatabaseId ||
			(!see_all && entry->key.userid != userid))
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
