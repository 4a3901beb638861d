# A governed job registered by a plain role cannot keep the governor from
# measuring its baseline by spending a little CPU (codereview9 L2).
#
# A tick in which a job works is kept out of every job's baseline, and any
# role may register a job (steward.governor_begin is PUBLIC: users' own
# backfills use it, and run_transition and the migration backfills call
# it as the caller).  A job counted as working in a tick when it had been
# handed a batch and spent 1 ms on a CPU since the last tick: a plain
# role's job that took one batch and then spent about 1 ms every 0.3 s
# (well under 1% of a CPU) kept every tick from being idle, and a
# foreground of 200 statements a second never got a baseline.  Now a job
# works in a tick only when it was busy for 2% of it (the governor's floor
# duty); a job that really works (here over 5% of a CPU) still keeps the
# ticks from being idle.
#
# Part 1: a busy job of the plain role (in its second batch, which counts
#   for twice its first): no baseline is measured.
# Part 2: a light job of the plain role (its CPU rate asserted to lie
#   between the old and the new bar): the baseline is measured.  On the
#   old code its baseline_calls stays 0.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use StewardTest qw(:DEFAULT gov_foreground gov_baseline_calls gov_wait_for_baseline
  gov_long_batch_job gov_job_pid gov_greedy_job cpu_ms_per_s);

plan skip_all => 'needs /proc/<pid>/schedstat (Linux)' unless -r "/proc/$$/schedstat";

my $node = PostgreSQL::Test::Cluster->new('work_share');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
autovacuum = off
steward.governor_interval = '1s'
steward.governor_window = '5s'
# This test's own polling (about 10 statements a second) is no foreground:
# only the pgbench client's 200 a second (1,000 a window) is.  Part 1's
# job's first batch counts for a window only (TAP 108), and the polling
# made its last seconds idle ticks with a foreground.
steward.governor_min_calls = 200
});
$node->start;

sub sql
{
	return $node->safe_psql('postgres', $_[0]);
}

sql(q{
	CREATE EXTENSION pg_steward;
	CREATE ROLE plain LOGIN;
});

# A job of the plain role: one governor_pace with no foreground hands it a
# whole batch (state working until its next pace), then it spends $burn
# rows of generate_series on a CPU and sleeps $sleep s, over and over.
sub start_job
{
	my ($label, $burn, $sleep) = @_;
	my $bg = gov_greedy_job($node, $label, $burn, $sleep);
	ok( poll_until($node, 'postgres',
			qq{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs
			                   WHERE label = '$label' AND state = 'working')}, 30),
		"the plain role's job '$label' was handed a batch");
	$bg->{pid} = gov_job_pid($node, $label);
	return $bg;
}

sub stop_job
{
	my ($bg) = @_;
	sql(qq{SELECT pg_terminate_backend($bg->{pid})});
	$bg->{h}->finish;
	ok( poll_until($node, 'postgres',
			qq{SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $bg->{pid})}, 30),
		'the job ended');
}

# --- Part 1: a job that works keeps the ticks from being idle ----------
# Its work counts only while it keeps to its pace (TAP 108): until a batch
# has lasted a window, or twice its longest batch before.  So it takes a
# batch of 10 s before the foreground starts, then a second one that
# counts for 20 s.
my $busy = gov_long_batch_job($node, 'plain', 'busy', 10, 200_000, 0.01);
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs
		                  WHERE label = 'busy' AND batches = 1 AND state = 'working')}, 30),
	"the plain role's busy job is in its second batch");
$busy->{pid} = gov_job_pid($node, 'busy');
my $busy_cpu = cpu_ms_per_s($busy->{pid}, 3);
note("busy job: $busy_cpu ms of CPU a second");
cmp_ok($busy_cpu, '>', 50, 'the busy job spends over 5% of a CPU');
my $fg = gov_foreground($node, 12);
sleep 10;
is(gov_baseline_calls($node), 0, 'next to a busy job the foreground has no baseline');
$fg->{h}->kill_kill;
stop_job($busy);

# The baseline ring keeps idle ticks of the last minute: wait until none
# of part 1 is left (there were none; this keeps the parts apart).
sleep 2;

# --- Part 2: a job that barely works does not --------------------------
my $light = start_job('light', 7_000, 0.3);
my $light_cpu = cpu_ms_per_s($light->{pid}, 4);
note("light job: $light_cpu ms of CPU a second");
# Between the old bar (1 ms a tick) and half the new one (2% of a 1-s
# tick):
# on the old code every tick of its run is a tick it worked in.
cmp_ok($light_cpu, '>', 1.2, 'the light job spends over 1 ms of CPU a tick');
cmp_ok($light_cpu, '<', 10, 'the light job spends under 1% of a CPU');
$fg = gov_foreground($node, 30);
# 200 statements a second: at least 5 ticks' worth (a window: what a job
# needs to go on).
my $calls = gov_wait_for_baseline($node, 200, 25);
note("baseline next to the light job: $calls calls");
cmp_ok($calls, '>=', 200, 'next to a job that barely works the baseline is measured');
is(sql(q{SELECT state FROM steward.governor_jobs WHERE label = 'light'}),
	'working', 'the light job still says it works');
$fg->{h}->kill_kill;
stop_job($light);

$node->stop;
done_testing();
