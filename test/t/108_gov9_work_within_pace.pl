# A governed job's work counts only while it obeys its pace, and a job
# that goes on without a baseline says so in every decision (review24,
# gov8's hole (a)).
#
# A tick in which a job works is kept out of every job's baseline, and any
# role may register a job (steward.governor_begin is PUBLIC).  A job
# worked in a tick when it had been handed a batch and was busy for 2% of
# the tick (982543a): a plain role's job that took one batch from
# governor_pace and then spent 5% of a CPU for as long as it liked kept
# every tick from being idle, so no job of any role measured a baseline.
# Now its work counts only until the batch has lasted max(one window,
# twice its longest batch before).
#
# Part 1: the plain role's job takes one batch and then burns CPU: the
#   baseline is measured once a window has passed.  On the old code
#   baseline_calls stays 0 (assertion 'the baseline is measured' fails).
# Part 2 (a cluster of its own: the baseline keeps the idle ticks of the
#   last minute): a job whose batches are long keeps counting after its
#   first one, and another job, obedient, pauses to measure a baseline,
#   then goes on without one: each decision says no_baseline, holds too.
#   On the old code its holds said none (assertion 'holds say
#   no_baseline' fails).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use StewardTest qw(:DEFAULT gov_foreground gov_baseline_calls gov_wait_for_baseline
  gov_long_batch_job gov_node gov_end_job gov_job_pid gov_obedient_job gov_greedy_job cpu_ms_per_s);

plan skip_all => 'needs /proc/<pid>/schedstat (Linux)' unless -r "/proc/$$/schedstat";

# --- Part 1: one batch, then CPU for as long as it likes --------------
my $node = gov_node('within_pace');
my $greedy = gov_greedy_job($node, 'greedy', 50_000, 0.05);
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs
		                  WHERE label = 'greedy' AND state = 'working')}, 30),
	"the plain role's job was handed a batch");
my $handed = time;
my $pid = gov_job_pid($node, 'greedy');
my $cpu = cpu_ms_per_s($pid, 3);
note("greedy job: $cpu ms of CPU a second");
cmp_ok($cpu, '>', 20, 'the job spends over 2% of each tick on a CPU');
# Past the window since its batch was handed out.
sleep 1 while time - $handed < 6;
my $fg = gov_foreground($node, 30);
my $calls = gov_wait_for_baseline($node, 200, 25);
note("baseline next to the greedy job: $calls calls");
cmp_ok($calls, '>=', 200, 'the baseline is measured');
is($node->safe_psql('postgres', q{SELECT state FROM steward.governor_jobs WHERE label = 'greedy'}),
	'working', 'the greedy job still says it works');
$fg->{h}->kill_kill;
$node->safe_psql('postgres', qq{SELECT pg_terminate_backend($pid)});
$greedy->{h}->finish;
$node->stop;

# --- Part 2: long batches count; a job without a baseline says so -----
$node = gov_node('no_baseline');
# Batches that each burn CPU for their length: 16 s, then 120 s (it
# counts for twice 16 s).
my $long = gov_long_batch_job($node, 'plain', 'long', 16, 50_000, 0.05);
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs
		                  WHERE label = 'long' AND batches = 1 AND state = 'working')}, 40),
	'the long job is in its second batch');
$fg = gov_foreground($node, 40);
# An obedient job of small batches, next to the foreground.
my $obedient = gov_obedient_job($node, 'obedient', 10);
my (%seen, $max_calls, $hold_none);
$max_calls = 0;
my $t0 = time;
while (time - $t0 < 25)
{
	my ($d, $calls_now) = split /\|/, $node->safe_psql('postgres',
		q{SELECT (SELECT last_decision || '/' || reason FROM steward.governor_jobs
		           WHERE label = 'obedient' AND finished_at IS NULL),
		         (SELECT coalesce(baseline_calls, 0) FROM steward.governor)});
	$d //= '';
	$seen{$d}++;
	$max_calls = $calls_now if $calls_now > $max_calls;
	usleep(250_000);
}
note('obedient job decisions: ' . join(', ', map { "$_ x$seen{$_}" } sort keys %seen));
is($max_calls, 0, 'next to the long job (second batch) no baseline is measured');
ok($seen{'pause/measuring_baseline'}, 'the obedient job paused to measure a baseline');
ok($seen{'hold/no_baseline'}, 'past the probe, holds say no_baseline');
ok(!$seen{'hold/none'}, 'no decision without a baseline says none');
is($node->safe_psql('postgres',
		q{SELECT value > 0 FROM steward.metrics
		   WHERE metric = 'steward_governor_decisions_total'
		     AND labels = '{"decision": "hold", "reason": "no_baseline"}'}),
	't', 'steward.metrics counts the holds without a baseline');
$fg->{h}->kill_kill;
gov_end_job($node, 'long', $long);
gov_end_job($node, 'obedient', $obedient);

$node->stop;
done_testing();
