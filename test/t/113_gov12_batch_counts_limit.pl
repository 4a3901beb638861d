# How long a governed batch's work counts (gov12; src/governor/README.md,
# Only while it keeps to its pace).
#
# A job's CPU time and lock waits count as work (and keep the tick out of
# every job's baseline) only until its batch has lasted max(one window,
# twice its longest batch before), at most a minute.
#
# Part 1: a first batch has no history and counts for a window; one that
#   lasts 15 s next to a foreground leaves 10 s of ticks that look idle
#   while the job works.  The job now measures its baseline afresh after
#   it (pause/measuring_baseline); on the old code its next decisions
#   rested on the ticks of its own batch (assertion 'after its long first
#   batch the job measures a baseline of its own' fails).
# Part 2: twice the longest before let each batch double the last, without
#   end (gov9: "the limit can double each batch").  A job's 40-s first
#   batch made its second count for 80 s; now it counts for 60 s: the
#   baseline is measured again 60-76 s into the second batch.  On the old
#   code it is not (assertion 'the second batch counts for a minute, not
#   twice the first' fails).
# Part 3: a job's lock waits follow the same limit as its CPU time: a
#   second batch waiting for another role's row counts for twice the first
#   batch, not for one window.  On the old code the waits counted for a
#   window only and the baseline was measured 10-25 s into the second
#   batch (assertion 'its lock waits count as long as its CPU time' fails).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use StewardTest qw(:DEFAULT start_bg gov_foreground gov_baseline_calls
  gov_long_batch_job gov_node gov_end_job);

plan skip_all => 'needs /proc/<pid>/schedstat (Linux)' unless -r "/proc/$$/schedstat";

# These parts judge times since a batch began.  A machine frozen for a
# while (CI's benchmark freezer stops the whole cgroup for minutes) makes
# that time pass without a tick, a batch or a poll: the longest gap
# between two steps of the test (watched) past $stall_s skips the
# assertion that judges it, with a note, rather than failing it.
my $stall_s = 10;
my ($stall, $last_step);

sub watch_start
{
	($stall, $last_step) = (0, time);
}

sub watched
{
	my $now = time;
	$stall = $now - $last_step if $now - $last_step > $stall;
	$last_step = $now;
}

sub judged
{
	my ($what) = @_;
	return 1 if $stall <= $stall_s;
	note(sprintf('machine stalled %.0f s: %s not judged', $stall, $what));
	return 0;
}

# When job $label was seen working in its batch number $done + 1 (polled):
# the batch's start as the test saw it.
sub wait_for_batch
{
	my ($node, $label, $done, $secs) = @_;
	ok( poll_until($node, 'postgres',
			qq{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs
			                   WHERE label = '$label' AND batches = $done
			                     AND state = 'working')}, $secs),
		"job $label works in batch " . ($done + 1));
	return time;
}

# --- Part 1: a long first batch next to a foreground ------------------
my $node = gov_node('first_batch');
my $fg = gov_foreground($node, 60);
ok( poll_until($node, 'postgres',
		q{SELECT coalesce(baseline_calls, 0) >= 1000 FROM steward.governor}, 30),
	'a baseline is measured before the job');
my $long = gov_long_batch_job($node, 'plain', 'first', 15, 50_000, 0.05);
wait_for_batch($node, 'first', 0, 30);
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs
		                  WHERE label = 'first' AND batches = 1)}, 40),
	'the 15-s first batch ended');
my %seen;
my $t0 = time;
watch_start();
while (time - $t0 < 5)
{
	my $d = $node->safe_psql('postgres',
		q{SELECT last_decision || '/' || reason FROM steward.governor_jobs
		   WHERE label = 'first' AND finished_at IS NULL});
	$seen{$d}++;
	usleep(100_000);
	watched();
}
note('decisions after the first batch: ' . join(', ', map { "$_ x$seen{$_}" } sort keys %seen));
SKIP:
{
	skip 'machine stalled', 1 unless judged('the decisions after the first batch');
	ok($seen{'pause/measuring_baseline'},
		'after its long first batch the job measures a baseline of its own');
}
$fg->{h}->kill_kill;
gov_end_job($node, 'first', $long);
$node->stop;

# --- Part 2: batches that double do not count without end -------------
$node = gov_node('doubling');
# 40 s, then 120 s: the second counts for min(2 x 40 s, 60 s).
$long = gov_long_batch_job($node, 'plain', 'doubling', 40, 50_000, 0.05);
wait_for_batch($node, 'doubling', 0, 30);
my $second = wait_for_batch($node, 'doubling', 1, 70);
$fg = gov_foreground($node, 90);
watch_start();
(sleep 1, watched()) while time - $second < 40;
my $calls = gov_baseline_calls($node);
watched();
SKIP:
{
	skip 'machine stalled', 1 unless judged('the second batch 40 s in');
	is($calls, 0, 'the second batch counts past twice a window (40 s in)');
}
(sleep 1, watched()) while time - $second < 60;
$calls = 0;
while (time - $second < 76)
{
	$calls = gov_baseline_calls($node);
	watched();
	last if $calls >= 400;
	sleep 1;
}
note(sprintf('baseline %d calls %.0f s into the second batch', $calls, time - $second));
SKIP:
{
	skip 'machine stalled', 1 unless judged('the second batch 60-76 s in');
	cmp_ok($calls, '>=', 400, 'the second batch counts for a minute, not twice the first');
}
$fg->{h}->kill_kill;
gov_end_job($node, 'doubling', $long);
$node->stop;

# --- Part 3: lock waits count as long as the CPU time -----------------
$node = gov_node('lock_waits');
$node->safe_psql('postgres', q{
	CREATE TABLE pl (id int PRIMARY KEY);
	INSERT INTO pl VALUES (1);
	GRANT SELECT, UPDATE ON pl TO plain;
	ALTER ROLE plain SET lock_timeout = '2s';
});
# A superuser's session holds the row for the whole part.
my $holder = start_bg('psql', '-X', '-At', '-d', $node->connstr('postgres'), '-c',
	q{BEGIN; SELECT * FROM pl FOR UPDATE; SELECT pg_sleep(300); COMMIT;});
# First batch: 16 s of CPU; then batches that wait for the row again and
# again (each wait young: lock_timeout 2 s) for 120 s.
my $waiter = gov_long_batch_job($node, 'plain', 'waiter', 16, 50_000, 0.05, q{
		         BEGIN
		           PERFORM 1 FROM public.pl WHERE id = 1 FOR UPDATE;
		         EXCEPTION WHEN lock_not_available THEN NULL;
		         END;});
wait_for_batch($node, 'waiter', 0, 30);
$second = wait_for_batch($node, 'waiter', 1, 40);
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs j
		                  JOIN pg_stat_activity a USING (pid)
		                  WHERE j.label = 'waiter' AND a.wait_event_type = 'Lock')}, 10),
	"the job's second batch waits for the superuser's row");
$fg = gov_foreground($node, 40);
my $max = 0;
watch_start();
while (time - $second < 25)
{
	my $c = gov_baseline_calls($node);
	$max = $c if $c > $max;
	sleep 1;
	watched();
}
note("largest baseline 10-25 s into the waiting batch: $max calls");
SKIP:
{
	skip 'machine stalled', 1 unless judged('the waiting batch');
	is($max, 0, 'its lock waits count as long as its CPU time');
}
$fg->{h}->kill_kill;
gov_end_job($node, 'waiter', $waiter);
$holder->{h}->kill_kill;
$node->stop;
done_testing();
