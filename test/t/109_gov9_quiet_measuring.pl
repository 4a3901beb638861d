# Jobs that each go on without a baseline no longer keep every tick busy
# for one another for as long as the foreground lasts: a job that has
# waited a window for a baseline with no idle tick coming makes every
# job pause to measure one (review24, gov8's hole (a) part 2).
#
# A job pauses to measure a baseline only its own way, for at most
# max(10 s, 3 windows), then goes on without a latency signal and never
# pauses to measure again while it finds none.  Two obedient jobs of one
# role that passed their probes while something else worked (here a job
# of long batches) then kept each tick busy for each other: no job of any
# role measured a baseline.  Now such a job sets a cluster-wide pause of a
# window and two ticks (at most once a minute) in which every job's pace
# pauses with reason measuring_baseline.  On the old code baseline_calls
# stays 0 (assertion 'the baseline is measured' fails).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use StewardTest qw(:DEFAULT gov_foreground gov_baseline_calls gov_wait_for_baseline
  gov_long_batch_job gov_node gov_end_job gov_obedient_job);

plan skip_all => 'needs /proc/<pid>/schedstat (Linux)' unless -r "/proc/$$/schedstat";

my $node = gov_node('quiet');

sub sql
{
	return $node->safe_psql('postgres', $_[0]);
}

# An obedient job of the plain role: batches of 100 rows, each spending
# CPU (30-100 ms), at most 200 rows a second (two batches): busy for well
# over 2% of each tick.
sub obedient_job
{
	my ($label) = @_;
	return gov_obedient_job($node, $label, 3000, 200);
}

# A job whose batches are long keeps the ticks busy while the two obedient
# jobs pass their probes.
my $long = gov_long_batch_job($node, 'plain', 'long', 10, 50_000, 0.05);
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs
		                  WHERE label = 'long' AND batches = 1 AND state = 'working')}, 40),
	'the long job is in its second batch');
my $fg = gov_foreground($node, 120);
my $fg_at = time;
my @jobs = (obedient_job('a'), obedient_job('b'));
# Both past their probes (max(10 s, 3 windows) = 15 s), going on without
# a baseline (reason no_baseline, or max_rows_per_sec when the cap is what
# makes them wait).
ok( poll_until($node, 'postgres',
		q{SELECT count(*) = 2 FROM steward.governor_jobs
		   WHERE label IN ('a', 'b') AND finished_at IS NULL
		     AND last_decision IN ('hold', 'increase')}, 40),
	'both obedient jobs go on without a baseline');
is(gov_baseline_calls($node), 0, 'no baseline is measured meanwhile');
# The long job's second batch counts for 20 s: end it.
gov_end_job($node, 'long', $long);
note(sprintf('long job ended %.0f s after the foreground began', time - $fg_at));

# A measuring pause at most once a minute: the first one was asked while
# the long job worked.
my $calls = gov_wait_for_baseline($node, 200, 80);
note(sprintf('baseline: %d calls, %.0f s after the foreground began', $calls, time - $fg_at));
cmp_ok($calls, '>=', 200, 'the baseline is measured');
ok( sql(q{SELECT value > 0 FROM steward.metrics
           WHERE metric = 'steward_governor_decisions_total'
             AND labels = '{"decision": "pause", "reason": "measuring_baseline"}'}) eq 't',
	'the jobs paused to measure it');

$fg->{h}->kill_kill;
gov_end_job($node, 'a', $jobs[0]);
gov_end_job($node, 'b', $jobs[1]);

$node->stop;
done_testing();
