# The governor's transaction p99 follows a shift of the foreground's tail
# smaller than one of its histogram's buckets (gov11).
#
# Client backends time each transaction they commit into log buckets 10%
# wide, and the governor read a percentile as the geometric midpoint of
# the bucket its rank fell in.  So the p99 moved in steps of 10%, and the
# p99 ratio a job decides on (window over baseline) was a power of 1.1:
# 1.21, then 1.33 around the default target of 1.3, while what the
# clients felt moved by a few percent (test/bench/governor/
# results-interp-gov11.md).  Now the rank is placed within its bucket.
#
# 2000 short transactions (a procedure that commits in a loop) and 40
# long ones, each a pg_sleep of its own session, their lengths spread
# evenly in log scale over 1.2-1.7 s, all at once: the p99 (nearest rank
# of about 2080, with the sessions' start-up transactions) is the 21st
# longest, about 1.42 s.  Long, so that what a loaded machine's scheduling
# adds to each (a few ms) is small beside a 5% step, and many to a
# bucket, so that the rank's place within its bucket means something.
# The governor's window is read, and 13 s later the same again with the
# long transactions 5% longer.  The p99 must grow by about 5%: on the old
# code both readings are bucket midpoints, so their ratio is 1, 1.1 or
# further (assertion 'a 5% longer tail reads ...' fails: 1.1000 in the
# run that checked it).  (A first form, 40 transactions of 120-170 ms
# one after the other, read 1.03 and 1.12 on a loaded machine: the
# scheduling noise of sleeps that short was as large as the step.)

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use StewardTest qw(:DEFAULT gov_node start_bg psql_command);

# gov_node's cluster, with a window of 12 s (each run lasts 2-3 s) and
# 50 transactions per window as a foreground.
my $node = gov_node('p99_resolution');
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET steward.governor_window = '12s';
	ALTER SYSTEM SET steward.governor_min_calls = 50;
	SELECT pg_reload_conf();
	CREATE PROCEDURE short_ones(n int) LANGUAGE plpgsql AS $$
	BEGIN
		FOR i IN 1 .. n LOOP
			COMMIT;
		END LOOP;
	END $$;
});

# One run: the short transactions, then the 40 long ones at once ($f
# times 1.2-1.7 s); 2.5 s after the last for the sampler's tick, the
# window's transactions and their p99 in ms.
sub one_run
{
	my ($f) = @_;
	$node->safe_psql('postgres', 'CALL short_ones(2000)');
	my @long = map {
		start_bg(psql_command($node->connstr('postgres')),
			'-c', sprintf('SELECT pg_sleep(%.5f)', $f * 1.2 * (1.7 / 1.2)**($_ / 39)))
	} 0 .. 39;
	$_->{h}->finish for @long;
	usleep(2_500_000);
	return [ split /\|/, $node->safe_psql('postgres',
		'SELECT foreground_transactions, transaction_p99_ms FROM steward.governor') ];
}

my @r = (one_run(1.0));
# The first run's ticks leave the 12-s window.
sleep 13;
push @r, one_run(1.05);
note "readings (transactions, p99 ms): $r[0][0] $r[0][1], $r[1][0] $r[1][1]";

SKIP:
{
	# A reading whose window missed part of its run (a sampler that woke
	# late) or held the other run says nothing about the resolution.
	skip 'a window did not hold exactly one run of about 2080 transactions', 2
	  unless $r[0][0] >= 2040 && $r[0][0] < 2150 && $r[1][0] >= 2040 && $r[1][0] < 2150;

	ok($r[0][1] > 1350 && $r[0][1] < 1600,
		"the p99, the 21st longest, reads near 1420 ms ($r[0][1])");
	my $ratio = $r[1][1] / $r[0][1];
	ok($ratio > 1.02 && $ratio < 1.085,
		sprintf('a 5%% longer tail reads 2-8.5%% longer (%.4f)', $ratio));
}

$node->stop;
done_testing();
