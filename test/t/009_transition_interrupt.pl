# Interrupted and concurrent batch transitions (steward.run_transition).
#
# A steward table "accounts" with $nrows rows and the built-in data_lifecycle
# machine attached; every row starts in 'pending_backfill'.
#
# Part 1: a throttled backfill (pending_backfill -> backfilled, balance =
#   legacy, moved_by = 'run') is killed with pg_terminate_backend.  The run
#   must show as 'interrupted', every row must be consistent (either still
#   pending with balance NULL or backfilled with balance = legacy, never half
#   moved), the moved rows must be exactly the committed batches (a key-order
#   prefix of rows_done rows), and a second run must move exactly the rest.
# Part 2: the same in reverse (backfilled -> pending_backfill, balance =
#   NULL) with the whole server stopped in immediate mode mid-run.  After
#   crash recovery the committed batches and their progress row survive
#   together, the crashed run is not 'finished', the machine is still
#   enforced, and a second run completes the job exactly.
# Part 3: a throttled backfill while a client moves random rows
#   pending_backfill -> backfilled itself with single-row UPDATEs (some of
#   them right at the batch frontier, so they fight over row locks with
#   FOR UPDATE SKIP LOCKED).  Neither side may fail, and every row must be
#   moved exactly once: by the run (counted in rows_done) or by the client
#   (the ids its UPDATE ... RETURNING reported).
# Part 4 (regression test): an UPDATE that keeps the state of a row the
#   current batch has not locked yet, committed while the batch runs, makes
#   the batch come up one row short (the row is locked in a version newer
#   than the batch's snapshot); run_transition must not take the short
#   batch for the last one: it sweeps again until a pass moves nothing.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use StewardTest qw(start_bg finish_bg psql_command);

my $t0    = time;
my $nrows = 200_000;

my $node = PostgreSQL::Test::Cluster->new('transition');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
# Bulk updates below; autovacuum would only add noise to the timing.
$node->append_conf('postgresql.conf', "autovacuum = off");
$node->start;

$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION pg_steward;
	CREATE TABLE accounts (id int PRIMARY KEY,
	                       lifecycle text NOT NULL DEFAULT 'new',
	                       legacy numeric, balance numeric, moved_by text) USING steward;
	SELECT steward.attach_state_machine('accounts', 'lifecycle', 'data_lifecycle');
	INSERT INTO accounts (id, legacy)
	  SELECT g, (g % 997) * 1.5 + 1 FROM generate_series(1, $nrows) g;
	UPDATE accounts SET lifecycle = 'pending_backfill';
	VACUUM ANALYZE accounts;
});
is( $node->safe_psql(
		'postgres',
		q{SELECT lifecycle, count(*), count(balance), count(legacy)
		    FROM accounts GROUP BY 1}),
	"pending_backfill|$nrows|0|$nrows",
	'all rows pending_backfill, no balance yet');

my $logdir = PostgreSQL::Test::Utils::tempdir;
# A psql session of database postgres, for start_bg.
my @psql = psql_command($node->connstr('postgres'));

sub last_run_id
{
	return $node->safe_psql('postgres',
		'SELECT coalesce(max(id), 0) FROM steward.transition_runs');
}

# Wait until a run newer than $after is running and has committed at least
# $min rows; returns its id.
sub wait_for_run
{
	my ($after, $min) = @_;
	$node->poll_query_until(
		'postgres', qq{
		SELECT EXISTS (SELECT 1 FROM steward.transition_progress
		                WHERE id > $after AND status = 'running'
		                  AND rows_done >= $min)})
	  or die "no transition run reached $min rows";
	return $node->safe_psql('postgres',
		"SELECT id FROM steward.transition_runs WHERE id > $after");
}

sub run_info
{
	my ($id) = @_;
	my %r;
	@r{qw(rows_total rows_done rows_remaining batches status finished)} =
	  split /\|/,
	  $node->safe_psql(
		'postgres', qq{
		SELECT r.rows_total, p.rows_done, p.rows_remaining, p.batches, p.status,
		       p.finished_at IS NOT NULL
		  FROM steward.transition_progress p
		  JOIN steward.transition_runs r USING (id) WHERE id = $id});
	return \%r;
}

# Per-row consistency: (pending rows with balance NULL, backfilled rows with
# balance = legacy, all rows, highest backfilled id, lowest pending id).
my $consistency_sql = q{
	SELECT count(*) FILTER (WHERE lifecycle = 'pending_backfill' AND balance IS NULL),
	       count(*) FILTER (WHERE lifecycle = 'backfilled' AND balance = legacy),
	       count(*),
	       coalesce(max(id) FILTER (WHERE lifecycle = 'backfilled'), 0),
	       coalesce(min(id) FILTER (WHERE lifecycle = 'pending_backfill'), 0)
	  FROM accounts};

# Parts 1 and 2 stop a throttled run midway: at 5000 rows/s it lasts 40 s,
# so a loaded machine that is slow between "5000 rows done" and the stop
# still stops it midway.  Part 3's run (10000 rows/s, 20 s) must outlast
# 300 single-row updates with 10 ms pauses (about 4 s).
my $fwd_sql =
  q{CALL steward.run_transition('accounts', 'pending_backfill', 'backfilled', }
  . q{'balance = legacy, moved_by = ''run''', 1000, %s)};
my $back_sql =
  q{CALL steward.run_transition('accounts', 'backfilled', 'pending_backfill', }
  . q{'balance = NULL', 1000, %s)};

############################################################################
# Part 1: pg_terminate_backend in the middle of a throttled run.
############################################################################

my $r0  = last_run_id();
my $bg  = start_bg(@psql, '-c', sprintf($fwd_sql, 5000));
my $run = wait_for_run($r0, 5000);
my $pid = $node->safe_psql('postgres',
	"SELECT pid FROM steward.transition_runs WHERE id = $run");
cmp_ok(run_info($run)->{rows_done}, '<', $nrows,
	'throttled run is still in progress when it is terminated');
is($node->safe_psql('postgres', "SELECT pg_terminate_backend($pid, 30000)"),
	't', 'run_transition backend terminated');

my ($rc, $out, $err) = finish_bg($bg);
isnt($rc, 0, 'terminated CALL failed');
like(
	$err,
	qr/terminating connection due to administrator command/,
	'psql saw the termination');

$node->poll_query_until('postgres',
	"SELECT status FROM steward.transition_progress WHERE id = $run",
	'interrupted');
my $info = run_info($run);
is($info->{status},   'interrupted', 'terminated run shows as interrupted');
is($info->{finished}, 'f',           'terminated run has no finished_at');
is($info->{rows_total}, $nrows, 'terminated run had counted all rows');

my ($pending, $moved, $total, $max_moved, $min_pending) = split /\|/,
  $node->safe_psql('postgres', $consistency_sql);
note "after terminate: $moved moved, $pending pending, rows_done $info->{rows_done}";
is($total, $nrows, 'no row lost or duplicated');
is($pending + $moved, $total,
	'every row is either pending with no balance or backfilled with balance = legacy'
);
cmp_ok($moved,   '>', 0, 'some rows were moved before the termination');
cmp_ok($pending, '>', 0, 'some rows were not moved');
is($moved, $info->{rows_done},
	'moved rows = rows_done: batch and progress commit together');
is($info->{rows_remaining}, $pending, 'rows_remaining = rows still pending');
is($max_moved, $moved, 'moved rows are a prefix in key order (highest id)');
is($min_pending, $moved + 1, 'pending rows start right after that prefix');
is( $node->safe_psql(
		'postgres', q{
		SELECT count(*) FILTER (WHERE moved_by = 'run'),
		       count(*) FILTER (WHERE moved_by IS DISTINCT FROM 'run'
		                          AND lifecycle = 'backfilled'),
		       count(*) FILTER (WHERE moved_by IS NOT NULL
		                          AND lifecycle = 'pending_backfill')
		  FROM accounts}),
	"$moved|0|0",
	'set_sql was applied to exactly the moved rows');

# Resume unthrottled: the state column is the checkpoint.
my $r1 = last_run_id();
$node->safe_psql('postgres', sprintf($fwd_sql, 'NULL'));
my $run2 = $node->safe_psql('postgres',
	"SELECT id FROM steward.transition_runs WHERE id > $r1");
$info = run_info($run2);
is($info->{status},     'finished', 'resumed run finished');
is($info->{rows_total}, $pending,   'resumed run counted the rows left over');
is($info->{rows_done},  $pending,   'resumed run moved exactly the rows left over');
is($info->{rows_remaining}, 0, 'resumed run has nothing remaining');
is( $node->safe_psql(
		'postgres', q{
		SELECT lifecycle, count(*), count(*) FILTER (WHERE balance = legacy),
		       count(*) FILTER (WHERE moved_by = 'run')
		  FROM accounts GROUP BY 1}),
	"backfilled|$nrows|$nrows|$nrows",
	'after resuming every row is backfilled with balance = legacy');
is(run_info($run)->{status}, 'interrupted',
	'the terminated run stays interrupted');

############################################################################
# Part 2: immediate stop of the server in the middle of a throttled run.
############################################################################

$r0  = last_run_id();
$bg  = start_bg(@psql, '-c', sprintf($back_sql, 5000));
$run = wait_for_run($r0, 5000);
cmp_ok(run_info($run)->{rows_done}, '<', $nrows,
	'throttled rollback run is still in progress at the stop');
$node->stop('immediate');
($rc, $out, $err) = finish_bg($bg);
isnt($rc, 0, 'CALL failed when the server went away');
$node->start;
ok( $node->log_contains(
		qr/database system was interrupted|was not properly shut down/),
	'the restart ran crash recovery');

$info = run_info($run);
isnt($info->{status}, 'finished', 'crashed run is not finished');
is($info->{status},   'interrupted', 'crashed run shows as interrupted');
is($info->{finished}, 'f',           'crashed run has no finished_at');

# Now 'pending_backfill' rows are the moved ones.
($pending, $moved, $total, $max_moved, $min_pending) = split /\|/,
  $node->safe_psql('postgres', $consistency_sql);
note "after crash: $pending moved back, $moved still backfilled, rows_done $info->{rows_done}";
is($total, $nrows, 'no row lost or duplicated by crash recovery');
is($pending + $moved, $total,
	'after recovery every row is pending with no balance or backfilled with balance = legacy'
);
cmp_ok($info->{rows_done}, '>=', 5000,
	'progress committed before the crash survived');
is($pending, $info->{rows_done},
	'rows moved back = rows_done after recovery: committed batches are durable');
cmp_ok($moved, '>', 0, 'some rows were not moved back before the crash');
is($min_pending, 1, 'moved-back rows start at the lowest key');
is( $node->safe_psql(
		'postgres',
		q{SELECT coalesce(max(id), 0) FROM accounts WHERE lifecycle = 'pending_backfill'}
	),
	$pending,
	'moved-back rows are a prefix in key order');

# The machine is still enforced after recovery.
my ($stdout, $stderr);
$node->psql(
	'postgres',
	"\\set VERBOSITY verbose\nUPDATE accounts SET lifecycle = 'validated' WHERE id = $nrows;",
	stdout => \$stdout,
	stderr => \$stderr);
like($stderr, qr/ERROR:  23514/,
	'illegal transition is refused after recovery');

$r1 = last_run_id();
$node->safe_psql('postgres', sprintf($back_sql, 'NULL'));
$run2 = $node->safe_psql('postgres',
	"SELECT id FROM steward.transition_runs WHERE id > $r1");
$info = run_info($run2);
is($info->{status},    'finished', 'resumed rollback finished');
is($info->{rows_done}, $moved,
	'resumed rollback moved exactly the rows the crashed run had not');
is( $node->safe_psql(
		'postgres',
		q{SELECT lifecycle, count(*), count(balance) FROM accounts GROUP BY 1}),
	"pending_backfill|$nrows|0",
	'after resuming every row is pending_backfill with no balance');
isnt(run_info($run)->{status}, 'finished', 'crashed run is still not finished');

############################################################################
# Part 3: single-row OLTP transitions while a throttled run is going on.
############################################################################

# Keeping the state is allowed: forget who moved the rows last time.
$node->safe_psql('postgres', 'UPDATE accounts SET moved_by = NULL; VACUUM accounts');

$r0  = last_run_id();
$bg  = start_bg(@psql, '-c', sprintf($fwd_sql, 10000));
$run = wait_for_run($r0, 1);

# Half of the updates hit random rows, half hit rows at or just past the
# run's committed position, i.e. in the batch being moved or the next ones.
my $noltp  = 300;
my $script = '';
for my $i (1 .. $noltp)
{
	my $target =
	  $i % 2
	  ? 1 + int(rand($nrows))
	  : "(SELECT rows_done FROM steward.transition_runs WHERE id = $run) + "
	  . (1 + int(rand(3000)));
	$script .=
	    "UPDATE accounts SET lifecycle = 'backfilled', balance = legacy, "
	  . "moved_by = 'oltp' WHERE id = $target AND lifecycle = 'pending_backfill' "
	  . "RETURNING id;\nSELECT pg_sleep(0.01) \\g /dev/null\n";
}
my $script_file = "$logdir/oltp.sql";
append_to_file($script_file, $script);
my $oltp = start_bg(@psql, '-f', $script_file);
my ($orc, $oout, $oerr) = finish_bg($oltp);
is($orc,  0,  'OLTP updates ran without error');
is($oerr, '', 'OLTP updates printed no error');
is(run_info($run)->{status},
	'running', 'the run was still going when the OLTP updates ended');

($rc, $out, $err) = finish_bg($bg);
is($rc,  0,  'run_transition finished without error next to the OLTP updates');
is($err, '', 'run_transition printed no error');

my @oltp_ids = sort { $a <=> $b } grep { /^\d+$/ } split /\n/, $oout;
note scalar(@oltp_ids) . " rows moved by the OLTP updates";
cmp_ok(scalar(@oltp_ids), '>', 0, 'the OLTP updates moved some rows');
is( $node->safe_psql(
		'postgres',
		q{SELECT string_agg(id::text, ',' ORDER BY id) FROM accounts WHERE moved_by = 'oltp'}
	),
	join(',', @oltp_ids),
	'exactly the rows the OLTP updates reported are marked as theirs');

$info = run_info($run);
is($info->{status}, 'finished', 'the run finished');
is( $node->safe_psql(
		'postgres', q{
		SELECT lifecycle, count(*), count(*) FILTER (WHERE balance = legacy),
		       count(*) FILTER (WHERE moved_by = 'run'),
		       count(*) FILTER (WHERE moved_by = 'oltp')
		  FROM accounts GROUP BY 1}),
	"backfilled|$nrows|$nrows|"
	  . ($nrows - scalar(@oltp_ids)) . '|'
	  . scalar(@oltp_ids),
	'every row backfilled exactly once, by the run or by the OLTP updates');
is($info->{rows_done}, $nrows - scalar(@oltp_ids),
	'rows_done counts exactly the rows the run moved');

############################################################################
# Part 4: an update that keeps the state of a row of the running batch.
############################################################################

# set_sql sleeps per row, so the batch of 10 reaches row 8 about 2 seconds
# after it started; the concurrent update commits well before that.
$node->safe_psql(
	'postgres', q{
	CREATE TABLE touchy (id int PRIMARY KEY, lifecycle text NOT NULL DEFAULT 'new',
	                     legacy numeric, balance numeric) USING steward;
	SELECT steward.attach_state_machine('touchy', 'lifecycle', 'data_lifecycle');
	INSERT INTO touchy (id, legacy) SELECT g, g FROM generate_series(1, 20) g;
	UPDATE touchy SET lifecycle = 'pending_backfill';
});
$r0 = last_run_id();
$bg = start_bg(@psql, '-c',
	q{CALL steward.run_transition('touchy', 'pending_backfill', 'backfilled', }
	  . q{'balance = (SELECT legacy FROM pg_sleep(0.3 + 0 * legacy))', 10)});
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM steward.transition_runs WHERE id > $r0)")
  or die "run on touchy did not start";
$run = $node->safe_psql('postgres',
	"SELECT id FROM steward.transition_runs WHERE id > $r0");
$node->safe_psql('postgres', 'UPDATE touchy SET legacy = legacy WHERE id = 8');
($rc, $out, $err) = finish_bg($bg);
is($rc, 0, 'run on touchy ended without error');
$info = run_info($run);
note "touchy run: rows_done $info->{rows_done}, remaining $info->{rows_remaining}, status $info->{status}";
is( $node->safe_psql(
		'postgres',
		q{SELECT lifecycle, count(*), count(*) FILTER (WHERE balance = legacy)
		    FROM touchy GROUP BY 1}),
	'backfilled|20|20',
	'a finished run left no row in from_state');
is($info->{rows_done}, 20, 'the run moved every row');

$node->stop;
note sprintf('total time %.1f s', time - $t0);
done_testing();
