# steward.batch_lock_timeout: a batch of run_transition moves a key range
# with one UPDATE, which waits for a row another transaction holds at most
# this long; then the batch is rolled back and done again skipping that
# transaction's rows (SKIP LOCKED), never failing.
#
# Part 1: a transaction holds row 150 longer than the timeout: the run
#   finishes without it, every other row moved; a re-run after its commit
#   moves it.  With 0 the batch never waits and the result is the same.
# Part 2: a lock cycle.  An OLTP transaction holds row 50; the batch has
#   moved rows 1..49 and waits for row 50; the OLTP transaction then
#   updates row 10, which the batch holds.  Neither side's deadlock
#   detector may settle it (deadlock_timeout is a minute on both): the
#   batch's own lock timeout must, so the OLTP update completes after at
#   most the timeout, without an error, and the run finishes, leaving the
#   rows OLTP holds for a re-run.
# Part 3: only a superuser may change the setting (it decides how long
#   other sessions may wait for a job's rows).
# Part 4: a migration backfill batch does the same: a row held past the
#   timeout is left unfilled (the backfill ends incomplete, with a notice),
#   a re-run after the holder's commit fills it, and every row holds its
#   value in the new shape.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('batch_lock');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('bl', ARRAY['new', 'paid'], ARRAY['new'],
	                                    ARRAY['new->paid', 'paid->new']);
	CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new',
	                     note text) USING steward;
	SELECT steward.attach_state_machine('orders', 'status', 'bl');
	INSERT INTO orders (id) SELECT g FROM generate_series(1, 300) g;
	CREATE ROLE app LOGIN;
});

sub in_state
{
	my ($state) = @_;
	return $node->safe_psql('postgres',
		"SELECT coalesce(string_agg(id::text, ',' ORDER BY id), '') FROM orders WHERE status = '$state'"
	);
}

sub move_all
{
	my ($from, $to, $timeout) = @_;
	$node->safe_psql('postgres',
		"SET steward.batch_lock_timeout = '$timeout'; "
		  . "CALL steward.run_transition('orders', '$from', '$to', NULL, 100)");
}

# Part 1
for my $timeout ('200ms', '0')
{
	my ($from, $to) = in_state('new') eq '' ? ('paid', 'new') : ('new', 'paid');
	my $holder = $node->background_psql('postgres');
	$holder->query_safe('BEGIN');
	$holder->query_safe('SELECT id FROM orders WHERE id = 150 FOR UPDATE');
	move_all($from, $to, $timeout);
	is(in_state($from), '150',
		"batch_lock_timeout $timeout: the held row is skipped, every other row moved");
	$holder->query_safe('COMMIT');
	move_all($from, $to, $timeout);
	is(in_state($from), '', "batch_lock_timeout $timeout: a re-run moves it");
	$holder->quit;
}

# Part 2: every row back in 'new' first.
move_all('paid', 'new', '10ms') if in_state('new') eq '';
is(in_state('paid'), '', 'every row is new again');

my $oltp = $node->background_psql('postgres');
$oltp->query_safe("SET deadlock_timeout = '60s'");
$oltp->query_safe('BEGIN');
$oltp->query_safe("UPDATE orders SET note = 'oltp' WHERE id = 50");

my $job    = $node->background_psql('postgres');
my $jobpid = $job->query_safe('SELECT pg_backend_pid()');
$job->query_safe("SET deadlock_timeout = '60s'");
$job->query_safe("SET steward.batch_lock_timeout = '3s'");
$job->query_until(qr/started/,
	"\\echo started\nCALL steward.run_transition('orders', 'new', 'paid', NULL, 100);\n");

ok( $node->poll_query_until(
		'postgres',
		"SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = $jobpid"),
	'the batch waits for row 50, which the OLTP transaction holds');

my $t0 = time;
my $updated =
  $oltp->query_safe("UPDATE orders SET note = 'oltp' WHERE id = 10 RETURNING id");
my $waited = time - $t0;
is($updated, '10',
	'the OLTP update of row 10, which the waiting batch had moved, completes without an error');
ok($waited < 30,
	sprintf('... once the batch gave way, after %.1f s (its timeout is 3 s; no deadlock detector runs within a minute)',
		$waited));

# The CALL has ended when the next query answers; query_safe dies on any
# error the CALL printed.
is($job->query_safe("SELECT 'job done'"), 'job done', 'the run finished without an error');
# Row 10: when the batch gave way, OLTP's update woke up to lock it, and
# the skip-locked retry of the batch may have locked it first (then OLTP
# waited for that batch's commit and updated the moved row).
like(in_state('new'), qr/^(10,)?50$/,
	'the run moved every row but those the OLTP transaction held');
$oltp->query_safe('COMMIT');
is( $node->safe_psql('postgres',
		"SELECT string_agg(id || ':' || note, ',' ORDER BY id) FROM orders WHERE note IS NOT NULL"
	),
	'10:oltp,50:oltp',
	'the OLTP transaction committed both of its updates');
$job->query_safe("RESET steward.batch_lock_timeout");
$job->query_safe("CALL steward.run_transition('orders', 'new', 'paid', NULL, 100)");
is(in_state('new'), '', 'a re-run moves them');
$job->quit;
$oltp->quit;

# Part 3
is($node->safe_psql('postgres', 'SHOW steward.batch_lock_timeout'),
	'10ms', 'the default is 10ms');
my ($ret, $out, $err) = $node->psql('postgres',
	"SET steward.batch_lock_timeout = '10s'",
	extra_params => [ '-U', 'app' ]);
like($err, qr/permission denied to set parameter "steward.batch_lock_timeout"/,
	'a role that is not superuser may not change it');
($ret, $out, $err) = $node->psql('postgres', "SET steward.batch_lock_timeout = -1");
like($err, qr/-1 ms is outside the valid range/, 'a negative timeout is refused');

# Part 4
$node->safe_psql('postgres',
	q{SELECT steward.migration_start('cents', jsonb_build_array(jsonb_build_object(
	    'add_column', jsonb_build_object('table', 'orders', 'column', 'cents',
	                                     'type', 'bigint', 'up', 'id * 100'))))});
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe('SELECT id FROM orders WHERE id = 250 FOR UPDATE');
($ret, $out, $err) = $node->psql('postgres',
	"SET steward.batch_lock_timeout = '200ms'; CALL steward.migration_backfill('cents', 100)");
is($ret, 0, 'the backfill does not fail on a held row');
like($err, qr/1 row was held by other transactions and is not backfilled yet/, '... it says one row is left');
is( $node->safe_psql('postgres',
		"SELECT backfill_status, rows_backfilled FROM steward.migrations WHERE name = 'cents'"),
	'incomplete|299', '... and records the backfill as incomplete');
$holder->query_safe('COMMIT');
$holder->quit;
$node->safe_psql('postgres', "CALL steward.migration_backfill('cents', 100)");
is( $node->safe_psql('postgres',
		"SELECT backfill_status, rows_backfilled FROM steward.migrations WHERE name = 'cents'"),
	'finished|300', 'a re-run fills the last row');
is($node->safe_psql('postgres', 'SELECT count(*) FROM orders WHERE cents = id * 100'),
	'300', 'every row holds its value in the new shape');
$node->safe_psql('postgres', "SELECT steward.migration_rollback('cents')");

$node->stop;
done_testing();
