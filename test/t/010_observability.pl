# Observability across restarts, on a standby, with a killed sampler, and
# without shared_preload_libraries.
#
# Part 1: steward.statements (counts, percentiles, errors, histogram) are
#   saved at a clean shutdown and loaded at the next start: after a fast
#   restart the numbers are identical (the file is read and kept).
#   After an immediate stop, and after a crash restart (a child process
#   killed with SIGKILL), the statistics start empty and a later clean
#   restart does not resurrect them: only a clean shutdown counts
#   (src/stats/README.md), and an immediate stop is not one (no shutdown
#   checkpoint, crash recovery at the next start).  Note that the postmaster
#   exits with status 0 after an immediate stop too, so an on_shmem_exit
#   callback cannot tell by its exit code (pg_stat_statements of PG 15
#   keeps its numbers across an immediate stop for that reason).
#   The server log has no complaint about the stats file.
# Part 2: the wait sampler ("pg_steward wait sampler", bgw_restart_time 1 s)
#   is terminated with pg_terminate_backend; a new sampler appears within
#   10 s and samples again: two background sessions wait behind a third,
#   one for a relation lock (taken while its SELECT is parsed, so neither
#   core nor pg_steward knows its queryid yet) and one for a row lock
#   (taken while its UPDATE executes); steward.lock_contention shows
#   relation, lock type, mode, blocker pid and the waiting and blocking
#   queryids as pg_stat_activity.query_id has them, steward.waits the
#   Lock samples per queryid.
# Part 3: a streaming standby keeps statement statistics of its own;
#   steward.replication lists the standby on the primary and shows one
#   'standby' row on the standby; steward.metrics has
#   steward_replication_lag_bytes on both; steward.health works on the
#   standby and its replication_lag_s check is ok after catch-up.
# Part 4: without shared_preload_libraries, CREATE EXTENSION works with a
#   WARNING naming the setting to add (and how to purge idempotency keys
#   meanwhile), a steward table with track_versions works, and every
#   statistics view answers (no rows; steward.collector and the metric
#   steward_statistics_collected say nothing is collected) instead of
#   failing, so a scraper keeps working.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use StewardTest qw(finish_bg start_psql_bg);

my $t0 = time;

my $node = PostgreSQL::Test::Cluster->new('obs_primary');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE obs_div (d int);
	INSERT INTO obs_div VALUES (0);
	CREATE TABLE obs_lock (id int);
	CREATE TABLE obs_row (id int PRIMARY KEY, n int NOT NULL);
	INSERT INTO obs_row VALUES (1, 0);
	SELECT steward.reset();
});

my $stat_file = $node->data_dir . '/pg_stat/pg_steward_statements.stat';

my $marker_text = q{SELECT count(*) FROM pg_class WHERE relname = $1};
my $sleep_text  = q{SELECT pg_sleep($1)};
my $div_text    = q{SELECT $1 / d FROM obs_div};

# Everything steward.statements says about a statement text, as one string.
sub stmt_row
{
	my ($n, $text) = @_;
	$text =~ s/'/''/g;
	return $n->safe_psql(
		'postgres', qq{
		SELECT queryid, calls, errors, rows, total_ms, mean_ms, p50_ms, p90_ms, p95_ms,
		       p99_ms, p999_ms, max_ms, slow_calls, shared_blks_hit, shared_blks_read
		  FROM steward.statements WHERE query = '$text'});
}

sub stmt_count
{
	my ($n, $text) = @_;
	$text =~ s/'/''/g;
	return $n->safe_psql('postgres',
		"SELECT count(*) FROM steward.statements WHERE query = '$text'");
}

sub histogram
{
	my ($n, $text) = @_;
	$text =~ s/'/''/g;
	return $n->safe_psql(
		'postgres', qq{
		SELECT string_agg(lower_ms || ':' || upper_ms || ':' || count, ',' ORDER BY lower_ms)
		  FROM steward.latency_histogram((SELECT queryid FROM steward.statements
		                                   WHERE query = '$text'))});
}

# Run the workload of part 1: 7 lookups (different constants, one
# normalized statement), 5 sleeps of 20 ms, 3 failed divisions.
sub run_workload
{
	my ($n) = @_;
	my $sql = '';
	$sql .= "SELECT count(*) FROM pg_class WHERE relname = 'obs_marker_$_';\n"
	  for 1 .. 7;
	$sql .= "SELECT pg_sleep(0.02);\n" for 1 .. 5;
	$n->safe_psql('postgres', $sql);
	for my $i (1 .. 3)
	{
		my ($ret, $out, $err) =
		  $n->psql('postgres', "SELECT $i / d FROM obs_div");
		die "division by zero did not fail: $out $err" if $ret == 0;
	}
	return;
}

sub log_since
{
	my ($n, $offset) = @_;
	my $log = slurp_file($n->logfile);
	return substr($log, $offset);
}

############################################################################
# Part 1: statement statistics across clean restart, immediate stop, crash.
############################################################################

run_workload($node);

my $marker = stmt_row($node, $marker_text);
my $sleep  = stmt_row($node, $sleep_text);
my $div    = stmt_row($node, $div_text);
my $hist   = histogram($node, $sleep_text);
note "before restart: marker $marker; sleep $sleep; div $div";

my @m = split /\|/, $marker;
is($m[1], 7, 'marker statement: 7 calls, normalized to one entry');
is($m[3], 7, 'marker statement: 7 rows');
my @s = split /\|/, $sleep;
is($s[1], 5, 'pg_sleep: 5 calls');
cmp_ok($s[6], '>=', 20 * 0.99, 'pg_sleep: p50 >= 20 ms');
# p50 is the third of five sleeps; the bound allows a loaded machine's
# overshoot and still catches a unit error (us or s for ms).
cmp_ok($s[6], '<',  20 * 1.01 + 1000, 'pg_sleep: p50 is plausible');
my @d = split /\|/, $div;
is("$d[1]|$d[2]", '0|3', 'failed divisions: 0 calls, 3 errors');
isnt($hist, '', 'pg_sleep has a latency histogram');

my $log_offset = -s $node->logfile;
$node->restart;    # fast mode
# The file stays after loading (statsfile.c): a start that fails later
# keeps it; a crash or immediate stop makes the next start discard it.
ok(-f $stat_file, 'the stats file is read at start and kept');

is(stmt_row($node, $marker_text), $marker,
	'marker statement: calls, percentiles, buffers identical after a clean restart');
is(stmt_row($node, $sleep_text), $sleep,
	'pg_sleep: calls, percentiles, max identical after a clean restart');
is(stmt_row($node, $div_text), $div,
	'errors identical after a clean restart');
is(histogram($node, $sleep_text), $hist,
	'latency histogram identical after a clean restart');

my $log = log_since($node, $log_offset);
unlike($log, qr/pg_steward_statements/,
	'no server log message about the stats file');
like($log, qr/database system is shut down/, 'the restart was a clean shutdown');

# New calls add to the loaded numbers.
$node->safe_psql('postgres',
	"SELECT count(*) FROM pg_class WHERE relname = 'obs_marker_8'");
is((split /\|/, stmt_row($node, $marker_text))[1],
	8, 'calls continue from the loaded count');

# Immediate stop: nothing is saved, the next start is empty.
$log_offset = -s $node->logfile;
$node->stop('immediate');
$node->start;
ok(!-e $stat_file, 'no stats file left over after the start following an immediate stop');
is(stmt_count($node, $marker_text), 0,
	'marker statement gone after an immediate stop');
is(stmt_count($node, $sleep_text), 0, 'pg_sleep gone after an immediate stop');
is(stmt_count($node, $div_text),   0, 'errors gone after an immediate stop');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM steward.latency_histogram($s[0])"),
	0, 'no pg_sleep histogram buckets after an immediate stop');

# ... and a clean restart afterwards does not bring the old numbers back.
$node->restart;
is(stmt_count($node, $marker_text), 0,
	'old statistics not resurrected by a clean restart after the immediate stop');
$log = log_since($node, $log_offset);
unlike($log, qr/pg_steward_statements/,
	'no server log message about the stats file after the immediate stop');

# Crash restart: a child killed with SIGKILL makes the postmaster
# reinitialize shared memory; the statistics start empty.
$node->safe_psql('postgres', 'SELECT steward.reset()');
run_workload($node);
is((split /\|/, stmt_row($node, $marker_text))[1], 7,
	'workload counted again before the crash');
$node->append_conf('postgresql.conf', 'restart_after_crash = on');
$node->reload;
$node->poll_query_until('postgres', 'SHOW restart_after_crash', 'on')
  or die 'restart_after_crash not on';
my $sampler_pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_steward wait sampler'");
like($sampler_pid, qr/^\d+$/, 'one wait sampler runs');
$log_offset = -s $node->logfile;
kill 'KILL', $sampler_pid;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
$node->poll_query_until('postgres', 'SELECT true')
  or die 'server did not come back after the crash';
$log = log_since($node, $log_offset);
like($log, qr/terminating any other active server processes|all server processes terminated/,
	'SIGKILL of the sampler caused a crash restart');
is(stmt_count($node, $marker_text), 0, 'marker statement gone after a crash restart');
is(stmt_count($node, $sleep_text),  0, 'pg_sleep gone after a crash restart');
$node->append_conf('postgresql.conf', 'restart_after_crash = off');
$node->restart;
is(stmt_count($node, $marker_text), 0,
	'old statistics not resurrected by a clean restart after the crash');
$log = log_since($node, $log_offset);
unlike($log, qr/pg_steward_statements/,
	'no server log message about the stats file after the crash');

############################################################################
# Part 2: the wait sampler restarts after pg_terminate_backend.
############################################################################

sub sampler_pid
{
	return $node->safe_psql('postgres',
		"SELECT string_agg(pid::text, ',') FROM pg_stat_activity "
		  . "WHERE backend_type = 'pg_steward wait sampler'");
}

my $old_pid = sampler_pid();
like($old_pid, qr/^\d+$/, 'exactly one wait sampler before the termination');
$log_offset = -s $node->logfile;
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($old_pid)"),
	't', 'sampler terminated');
my $t_term  = time;
my $new_pid = '';
while (time - $t_term < $PostgreSQL::Test::Utils::timeout_default)
{
	$new_pid = sampler_pid();
	last if $new_pid =~ /^\d+$/ && $new_pid ne $old_pid;
	usleep(100_000);
}
note sprintf('sampler back after %.1f s', time - $t_term);
# restarted after 1 s (bgw_restart_time); a loaded machine may take longer
like($new_pid, qr/^\d+$/, 'a wait sampler runs again');
isnt($new_pid, $old_pid, 'the new sampler is a new process');
ok(!kill(0, $old_pid), 'the old sampler process is gone');
like(
	log_since($node, $log_offset),
	qr/terminating background worker "pg_steward wait sampler" due to administrator command/,
	'the log shows the sampler was terminated');

# Only the new sampler can add samples from here on.  Two waits behind one
# holder: a relation lock taken while the waiting SELECT is parsed, and a
# row (transactionid) lock the waiting UPDATE takes while it executes.
$node->safe_psql('postgres', 'SELECT steward.reset()');

my $holder = start_psql_bg($node, 'postgres', 'obs_holder',
	"BEGIN;\nSELECT id FROM obs_row WHERE id = 1 FOR UPDATE;\n"
	  . "LOCK TABLE obs_lock IN ACCESS EXCLUSIVE MODE;\nSELECT pg_sleep(60);\nCOMMIT;\n");
$node->poll_query_until(
	'postgres', q{
	SELECT EXISTS (SELECT 1 FROM pg_stat_activity
	                WHERE application_name = 'obs_holder' AND query_id IS NOT NULL
	                  AND wait_event = 'PgSleep')})
  or die 'holder did not get to its sleep';
my $waiter = start_psql_bg($node, 'postgres', 'obs_waiter', "SELECT count(*) FROM obs_lock;\n");
my $rowwaiter =
  start_psql_bg($node, 'postgres', 'obs_rowwaiter', "UPDATE obs_row SET n = n + 10 WHERE id = 1;\n");
$node->poll_query_until(
	'postgres', q{
	SELECT count(*) = 2 FROM pg_stat_activity
	 WHERE application_name IN ('obs_waiter', 'obs_rowwaiter') AND wait_event_type = 'Lock'})
  or die 'waiters are not waiting';
my ($hpid, $hqid, $wpid, $wqid, $rpid, $rqid) = split /\|/, $node->safe_psql(
	'postgres', q{
	SELECT h.pid, coalesce(h.query_id, 0), w.pid, coalesce(w.query_id, 0),
	       r.pid, coalesce(r.query_id, 0)
	  FROM pg_stat_activity h, pg_stat_activity w, pg_stat_activity r
	 WHERE h.application_name = 'obs_holder' AND w.application_name = 'obs_waiter'
	   AND r.application_name = 'obs_rowwaiter'});
note "holder $hpid ($hqid), relation waiter $wpid ($wqid), row waiter $rpid ($rqid)";
isnt($hqid, 0, 'the holder has a query_id in pg_stat_activity');
isnt($rqid, 0, 'the row waiter has a query_id in pg_stat_activity');

my $contention_sql = qq{
	SELECT count(DISTINCT waiting_pid) = 2 FROM steward.lock_contention
	 WHERE waiting_pid IN ($wpid, $rpid) AND samples > 0};
my $t_wait = time;
my $seen   = 'f';
while (time - $t_wait < $PostgreSQL::Test::Utils::timeout_default)
{
	$seen = $node->safe_psql('postgres', $contention_sql);
	last if $seen eq 't';
	usleep(100_000);
}
is($seen, 't',
	'the restarted sampler records both lock waits in steward.lock_contention');
my $samples_sql = qq{SELECT coalesce(sum(samples), 0) FROM steward.lock_contention
                      WHERE waiting_pid IN ($wpid, $rpid)};
my $samples1 = $node->safe_psql('postgres', $samples_sql);
# (polled: the sampler may be kept off the CPU for a while on a loaded machine)
ok($node->poll_query_until('postgres', "SELECT ($samples_sql) > $samples1"),
	'the restarted sampler keeps sampling');

# What the sampler recorded, compared with what pg_stat_activity says.
is( $node->safe_psql(
		'postgres', qq{
		SELECT relation, locktype, lock_mode, blocking_pid,
		       coalesce(waiting_queryid, 0), coalesce(blocking_queryid, 0)
		  FROM steward.lock_contention WHERE waiting_pid = $wpid}),
	"obs_lock|relation|AccessShareLock|$hpid|$wqid|$hqid",
	'relation wait: relation, mode, blocker pid, queryids as in pg_stat_activity');
is( $node->safe_psql(
		'postgres', qq{
		SELECT relation, locktype, lock_mode, blocking_pid,
		       coalesce(waiting_queryid, 0), coalesce(blocking_queryid, 0)
		  FROM steward.lock_contention WHERE waiting_pid = $rpid}),
	"obs_row|transactionid|ShareLock|$hpid|$rqid|$hqid",
	'row wait: the row\'s table (from the tuple lock the waiter holds), transactionid lock, mode, blocker pid, queryids as in pg_stat_activity');
is( $node->safe_psql(
		'postgres', qq{
		SELECT count(*), bool_and(samples > 0), bool_and(dbid = (SELECT oid FROM pg_database
		                                                         WHERE datname = 'postgres'))
		  FROM steward.waits
		 WHERE event_type = 'Lock' AND event = 'transactionid' AND queryid = $rqid}),
	'1|t|t',
	'steward.waits has Lock/transactionid samples for the waiting UPDATE');
is( $node->safe_psql(
		'postgres', q{
		SELECT coalesce(sum(samples), 0) > 0 FROM steward.waits
		 WHERE event_type = 'Lock' AND event = 'relation'}),
	't', 'steward.waits has Lock/relation samples');

is($node->safe_psql('postgres', "SELECT pg_terminate_backend($hpid)"),
	't', 'lock holder terminated');
my ($hrc) = finish_bg($holder);
isnt($hrc, 0, 'holder session ended with an error');
my ($wrc, $wout, $werr) = finish_bg($waiter);
is($wrc,  0,     'relation waiter finished after the holder went away');
is($wout, "0\n", 'relation waiter read the empty table');
($wrc, $wout, $werr) = finish_bg($rowwaiter);
is($wrc, 0, 'row waiter finished after the holder went away');
is($node->safe_psql('postgres', 'SELECT n FROM obs_row WHERE id = 1'),
	10, 'only the row waiter\'s update committed');
is($node->safe_psql('postgres',
		"SELECT calls FROM steward.statements WHERE queryid = $rqid"),
	1, 'the waiting UPDATE is counted in steward.statements under the same queryid');

# steward.reset() clears what was just recorded: lock contention, waits,
# hot rows (a steward table updated a few times) and statements.
$node->safe_psql('postgres', q{
	CREATE TABLE obs_hot (id int PRIMARY KEY, n int NOT NULL) USING steward;
	INSERT INTO obs_hot VALUES (1, 0), (2, 0);
	UPDATE obs_hot SET n = n + 1 WHERE id = 1;
	UPDATE obs_hot SET n = n + 1 WHERE id = 1;
	UPDATE obs_hot SET n = n + 1;});
my $recorded_sql = qq{
	SELECT (SELECT count(*) FROM steward.lock_contention WHERE waiting_pid IN ($wpid, $rpid)),
	       (SELECT count(*) FROM steward.waits WHERE event_type = 'Lock'),
	       (SELECT count(*) FROM steward.hot_rows WHERE relid = 'obs_hot'::regclass),
	       (SELECT count(*) FROM steward.statements WHERE queryid = $rqid)};
my @before_reset = split /\|/, $node->safe_psql('postgres', $recorded_sql);
ok($before_reset[0] > 0 && $before_reset[1] > 0 && $before_reset[2] > 0 && $before_reset[3] == 1,
	'before reset: lock contention, Lock waits, hot rows and the statement are recorded')
  or diag "got @before_reset";
$node->safe_psql('postgres', 'SELECT steward.reset()');
is($node->safe_psql('postgres', $recorded_sql), '0|0|0|0',
	'steward.reset() clears lock contention, waits, hot rows and statements');

############################################################################
# Part 3: statistics on a streaming standby.
############################################################################

$node->safe_psql('postgres', 'SELECT steward.reset()');
$node->backup('bkp');
my $standby = PostgreSQL::Test::Cluster->new('obs_standby');
$standby->init_from_backup($node, 'bkp', has_streaming => 1);
$standby->start;
$node->safe_psql('postgres',
	"SELECT count(*) FROM pg_class WHERE relname = 'on_primary'");
$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'standby is in recovery');
is(stmt_count($standby, $marker_text), 0,
	'statements run on the primary are not in the standby statistics');
$standby->safe_psql('postgres',
	join('', map { "SELECT count(*) FROM pg_class WHERE relname = 'on_standby_$_';\n" } 1 .. 4));
my @sb = split /\|/, stmt_row($standby, $marker_text);
is("$sb[1]|$sb[2]|$sb[3]", '4|0|4', 'standby counts its own statements: 4 calls, 4 rows');
cmp_ok($sb[6], '>', 0, 'standby has a p50 for them');
is((split /\|/, stmt_row($node, $marker_text))[1],
	1, 'primary counts only its own call of the statement');

# steward.replication on the primary: one row for the standby.
$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));
my $rep = $node->safe_psql(
	'postgres', q{
	SELECT role, application_name, state, replay_lag_bytes >= 0, sent_lag_bytes >= 0,
	       flush_lag_bytes >= 0
	  FROM steward.replication});
like($rep, qr/^primary\|(obs_standby|walreceiver)\|streaming\|t\|t\|t$/,
	'steward.replication on the primary: one streaming standby, lag >= 0');
my ($appname) = $rep =~ /^primary\|([^|]*)\|/;
$appname //= 'walreceiver';

# On the standby: one row with role 'standby'.
is( $standby->safe_psql(
		'postgres', q{
		SELECT role, application_name IS NULL, state, replay_lag_bytes >= 0,
		       replay_lag_seconds >= 0
		  FROM steward.replication}),
	'standby|t|streaming|t|t',
	'steward.replication on the standby: one standby row with its replay lag');
# NULL says "does not apply here" (a standby sends nothing and has no
# sync_state) or "cannot be known" (not streaming); a streaming standby's
# flush lag in seconds is known as its replay lag is (newcomer48 N12: it
# was NULL next to a replay lag of 0).
is( $standby->safe_psql(
		'postgres', q{
		SELECT sent_lag_bytes IS NULL, sync_state IS NULL, client_addr IS NULL,
		       flush_lag_bytes >= 0, flush_lag_seconds >= 0,
		       flush_lag_seconds <= replay_lag_seconds
		  FROM steward.replication}),
	't|t|t|t|t|t',
	'steward.replication on the standby: NULL only where a column does not apply, flush lag in seconds known');

is( $node->safe_psql(
		'postgres', q{
		SELECT labels->>'role', labels->>'standby', value >= 0, type
		  FROM steward.metrics WHERE metric = 'steward_replication_lag_bytes'}),
	"primary|$appname|t|gauge",
	'steward.metrics on the primary: steward_replication_lag_bytes for the standby');
is( $standby->safe_psql(
		'postgres', q{
		SELECT labels->>'role', labels->>'standby', value >= 0, type
		  FROM steward.metrics WHERE metric = 'steward_replication_lag_bytes'}),
	'standby||t|gauge',
	'steward.metrics on the standby: steward_replication_lag_bytes');
is( $standby->safe_psql(
		'postgres', q{
		SELECT count(*) FROM steward.metrics WHERE metric = 'steward_replication_lag_seconds'}),
	1, 'steward.metrics on the standby: steward_replication_lag_seconds');

my ($hret, $hout, $herr) = $standby->psql('postgres',
	q{SELECT "check", status, value FROM steward.health ORDER BY "check"});
is($hret, 0,  'steward.health on the standby works');
is($herr, '', 'steward.health on the standby prints no error');
my $nchecks = $node->safe_psql('postgres', 'SELECT count(*) FROM steward.health');
cmp_ok($nchecks, '>=', 7, 'steward.health on the primary has at least 7 checks');
is(scalar(my @lines = split /\n/, $hout),
	$nchecks, 'steward.health on the standby has as many checks as on the primary');
like($hout, qr/^replication_lag_s\|ok\|/m,
	'replication_lag_s is ok on the standby after catch-up');
# p99_latency_ms on the standby comes from the standby's own statements: a
# 250 ms statement run there (and not on the primary) drives it to warn.
$standby->safe_psql('postgres', 'SELECT pg_sleep(0.25)');
is( $standby->safe_psql(
		'postgres', q{
		SET steward.health_p99_warn = '200ms'; SET steward.health_p99_critical = '10s';
		SET steward.health_min_calls = 1;  -- a handful of calls on the standby
		-- health's p99 is over the window, from the snapshots' coarse
		-- histogram: 250 ms within 10.5%; fewer than 100 calls, so the max.
		-- The upper bound is the slowest call the standby recorded (on a
		-- loaded machine the sleep, or another statement, takes longer).
		SELECT status, value BETWEEN 250 * 0.895
		                     AND (SELECT max(max_ms) * 1.105 FROM steward.statements),
		       value >= (SELECT max(p99_ms) * 0.895 FROM steward.statements WHERE calls > 0)
		  FROM steward.health WHERE "check" = 'p99_latency_ms'}),
	'warn|t|t',
	'p99_latency_ms on the standby is the standby\'s own p99 (250 ms sleep there: warn)');
is( $node->safe_psql(
		'postgres', q{
		SELECT coalesce(value, 0) <= coalesce((SELECT max(max_ms) * 1.105 FROM steward.statements), 0)
		  FROM steward.health WHERE "check" = 'p99_latency_ms'}),
	't', 'the primary\'s p99_latency_ms comes from its own statements, not the standby\'s');

# The standby has a sampler of its own.
is($standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_steward wait sampler'"),
	1, 'the standby runs a wait sampler');

$standby->stop;

############################################################################
# Part 4: without shared_preload_libraries.
############################################################################

my $plain = PostgreSQL::Test::Cluster->new('obs_nopreload');
$plain->init;
$plain->start;
is($plain->safe_psql('postgres', 'SHOW shared_preload_libraries'),
	'', 'node without shared_preload_libraries');

# Each step in a session of its own: a FATAL error must not hide the rest.
my ($ret, $out, $err) = $plain->psql('postgres', 'CREATE EXTENSION pg_steward');
is($ret, 0, 'CREATE EXTENSION pg_steward works without preload');
like($err, qr/WARNING:  pg_steward collects no statistics: it is not in shared_preload_libraries/,
	'CREATE EXTENSION warns that statistics are not collected');
like($err, qr/HINT:  Add pg_steward to shared_preload_libraries in postgresql.conf \(shared_preload_libraries = 'pg_steward'\)/,
	'the warning names the exact setting to add');
like($err, qr/steward\.idempotency_purge\(\) from cron or pg_cron/,
	'the warning says how expired idempotency keys are purged meanwhile');
unlike($err, qr/ERROR/, 'CREATE EXTENSION pg_steward prints no error without preload');
($ret, $out, $err) = $plain->psql(
	'postgres', q{
	CREATE TABLE acct (id int PRIMARY KEY, n int NOT NULL DEFAULT 0, v bigint) USING steward;
	SELECT steward.track_versions('acct', 'v');
	INSERT INTO acct (id) VALUES (1), (2);
	UPDATE acct SET n = n + 1 WHERE id = 1;
	UPDATE acct SET n = n + 1, v = 2 WHERE id = 1;
});
is($ret, 0,  'steward table with track_versions can be created and written without preload');
is($err, '', 'no error writing the steward table without preload');
($ret, $out, $err) = $plain->psql('postgres', 'SELECT id, n, v FROM acct ORDER BY id');
is($out, "1|2|3\n2|0|1", 'versions assigned by track_versions without preload');
($ret, $out, $err) =
  $plain->psql('postgres', 'UPDATE acct SET n = 9, v = 1 WHERE id = 1');
isnt($ret, 0, 'stale version refused without preload');
like($err, qr/ERROR:  stale version/, 'stale version error without preload');

# Every view answers, so a scraper keeps working; the collector says why
# the statistics are empty.
for my $view (qw(statements waits lock_contention hot_rows table_stats transition_counts
	idempotency_stats metrics health collector))
{
	($ret, $out, $err) = $plain->psql('postgres', "SELECT count(*) FROM steward.$view");
	is($ret, 0, "steward.$view answers without preload");
	is($err, '', "steward.$view: no error without preload");
}
is($plain->safe_psql('postgres', 'SELECT count(*) FROM steward.statements'), '0',
	'steward.statements is empty without preload');
is($plain->safe_psql('postgres',
		'SELECT count(*), bool_or(collected) FROM steward.collector'),
	'6|f', 'steward.collector: every structure says it is not collected');
is($plain->safe_psql('postgres',
		"SELECT value FROM steward.metrics WHERE metric = 'steward_statistics_collected'"),
	'0', 'steward.metrics: steward_statistics_collected is 0');
# acct had a stale version refused above, which nothing counted: its
# counters are unknown (NULL), not 0, and its series are absent, not 0
# (review15 R15-5: a dashboard read "no conflicts").
is($plain->safe_psql('postgres',
		"SELECT coalesce(version_conflicts::text, 'null') || '|' || coalesce(illegal_transitions::text, 'null')
		   FROM steward.table_stats WHERE relid = 'acct'::regclass"),
	'null|null', 'steward.table_stats: counters NULL without preload, not 0');
is($plain->safe_psql('postgres',
		"SELECT count(*) FROM steward.metrics
		  WHERE metric IN ('steward_version_conflicts_total', 'steward_sequence_rejects_total',
		                   'steward_illegal_transitions_total', 'steward_state_transitions_total')"),
	'0', 'steward.metrics: no per-table counter series without preload');
is($plain->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_steward wait sampler'"),
	0, 'no wait sampler without preload');
unlike(slurp_file($plain->logfile), qr/FATAL/, 'no FATAL error in the log of the node without preload');

$plain->stop;
$node->stop;
note sprintf('total time %.1f s', time - $t0);
done_testing();
