# A client session that runs a governed job gives way to the foreground on
# the CPU (issue 18 section 1), and gets its priority back.
#
# Linux runs every PostgreSQL backend (each leads its own session) in an
# autogroup of its own where autogroup is in effect: a process's nice
# value then ranks it only within its session, and what ranks it against
# the foreground's backends is the autogroup's nice value
# (/proc/<pid>/autogroup).  The governor lowers it to steward.governor_nice
# while a decision sees a foreground, gives it back while there is none,
# and always at the job's end, also when the job fails or is cancelled.
#
# Part 1: run_transition with no foreground: nice 0; a simulated foreground
#   (steward.governor_simulate): nice 10; the simulation ends: 0 again;
#   again 10, then the job is cancelled: the same session reads 0 after.
# Part 2: a job that ends normally while the foreground lasts: 0 after.
# Part 3: steward.governor_nice = 0: never changed.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);

plan skip_all => 'no Linux autogroup (/proc/self/autogroup)'
  unless -r '/proc/self/autogroup';

my $node = PostgreSQL::Test::Cluster->new('priority');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
autovacuum = off
steward.governor_interval = '100ms'
steward.governor_window = '500ms'
steward.governor_min_calls = 100000
});
$node->start;

my $logdir = PostgreSQL::Test::Utils::tempdir;
my $nbg    = 0;

sub sql
{
	return $node->safe_psql('postgres', $_[0]);
}

# A psql session running the given statements one after the other (an
# error does not stop it), in the background.
sub start_session
{
	my (@stmts) = @_;
	$nbg++;
	my %bg = (out => "$logdir/s$nbg.out", err => "$logdir/s$nbg.err");
	$bg{h} = IPC::Run::start(
		[ 'psql', '-X', '-At', '-d', $node->connstr('postgres'), map { ('-c', $_) } @stmts ],
		'<', \undef, '>', $bg{out}, '2>', $bg{err},
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return \%bg;
}

sub autogroup_nice
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/autogroup") or return 'gone';
	my $line = <$fh>;
	close $fh;
	return $line =~ / nice (-?\d+)/ ? $1 : "unreadable: $line";
}

sub poll_nice
{
	my ($pid, $want, $secs, $what) = @_;
	my $deadline = time + $secs;
	my $got;
	while (time < $deadline)
	{
		$got = autogroup_nice($pid);
		return $got if $got eq $want;
		usleep(20_000);
	}
	diag("timed out waiting for $what: nice $got");
	return $got;
}

sub job_pid
{
	my $deadline = time + 60;
	while (time < $deadline)
	{
		my $pid = sql(q{SELECT pid FROM pg_stat_activity
		                 WHERE query LIKE 'CALL steward.run_transition%' AND pid <> pg_backend_pid()});
		return $pid if $pid ne '';
		usleep(20_000);
	}
	return '';
}

sql(q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('job', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b', 'b->a']);
	CREATE TABLE items (id int PRIMARY KEY, status text NOT NULL) USING steward;
	INSERT INTO items (id, status) SELECT g, 'a' FROM generate_series(1, 200000) g;
	SELECT steward.attach_state_machine('items', 'status', 'job');
	VACUUM ANALYZE items;
});

# --- Part 1 ------------------------------------------------------------
my $s = start_session(
	q{CALL steward.run_transition('items', 'a', 'b', NULL, 100, 2000)},
	q{SELECT pg_sleep(30)});
my $pid = job_pid();
isnt($pid, '', 'the job runs');
usleep(500_000);
is(autogroup_nice($pid), '0', 'no foreground: the session keeps its priority');

sql(q{SELECT steward.governor_simulate(2, NULL, '1 hour')});
is(poll_nice($pid, '10', 20, 'the session to give way'),
	'10', 'a foreground: the session gives way (steward.governor_nice)');

sql(q{SELECT steward.governor_simulate(NULL, NULL, '0')});
is(poll_nice($pid, '0', 20, 'the priority to come back'),
	'0', 'the foreground gone: the priority comes back while the job runs');

sql(q{SELECT steward.governor_simulate(2, NULL, '1 hour')});
is(poll_nice($pid, '10', 20, 'the session to give way again'), '10', 'lowered again');
sql("SELECT pg_cancel_backend($pid)");
ok( $node->poll_query_until('postgres',
		qq{SELECT query LIKE 'SELECT pg_sleep%' FROM pg_stat_activity WHERE pid = $pid}),
	'the job is cancelled, the session goes on');
is(autogroup_nice($pid), '0', 'after a cancelled job the session has its priority back');
sql("SELECT pg_cancel_backend($pid)");
$s->{h}->finish;
like(slurp_file($s->{err}), qr/canceling statement due to user request/, 'the job was cancelled');

# --- Part 2 ------------------------------------------------------------
# The simulation still lasts: the rows left ('b' -> 'a' of what moved)
# go at the simulated pace, and the job ends normally.
$s = start_session(
	q{CALL steward.run_transition('items', 'b', 'a', NULL, 100, 20000)},
	q{SELECT pg_sleep(30)});
$pid = job_pid();
is(poll_nice($pid, '10', 20, 'the second job to give way'), '10', 'the second job gives way');
ok( $node->poll_query_until('postgres',
		qq{SELECT query LIKE 'SELECT pg_sleep%' FROM pg_stat_activity WHERE pid = $pid}),
	'the second job ends');
is(autogroup_nice($pid), '0', 'after a job that finished the session has its priority back');
sql("SELECT pg_cancel_backend($pid)");
$s->{h}->finish;
is( sql(q{SELECT status FROM steward.transition_progress ORDER BY id DESC LIMIT 1}),
	'finished', 'the second job finished');

# --- Part 3 ------------------------------------------------------------
$node->append_conf('postgresql.conf', "steward.governor_nice = 0\n");
$node->reload;
$s = start_session(
	q{CALL steward.run_transition('items', 'a', 'b', NULL, 100, 2000)},
	q{SELECT pg_sleep(30)});
$pid = job_pid();
my $seen = '';
for (1 .. 30)
{
	my $n = autogroup_nice($pid);
	$seen = $n if $n ne '0' && $n ne 'gone';
	usleep(50_000);
}
is($seen, '', 'steward.governor_nice = 0: the session is never reniced');
sql("SELECT pg_cancel_backend($pid)");
usleep(200_000);
sql("SELECT pg_cancel_backend($pid)");
$s->{h}->finish;

$node->stop;
done_testing();
