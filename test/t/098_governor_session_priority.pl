# A client session that runs a governed job keeps its CPU priority
# (src/governor/README.md, steward.governor_nice): only the purge worker,
# a process of pg_steward's own that ends with its visit, is niced (TAP
# 035 part 2).  A lowered session would hold its batch's row locks and,
# when preempted, LWLocks that the foreground then waits for longer
# (priority inversion), and could not always get its priority back (the
# kernel takes one autogroup change every 100 ms machine-wide).
#
# run_transition under a simulated foreground (steward.governor_simulate)
# at the default steward.governor_nice = 10: its backend's own nice value
# and, where Linux autogroup is in effect, its autogroup's stay 0 while
# the governor slows it down.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use StewardTest qw(start_bg finish_bg);

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

sub sql
{
	return $node->safe_psql('postgres', $_[0]);
}

sql(q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('job', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b', 'b->a']);
	CREATE TABLE items (id int PRIMARY KEY, status text NOT NULL) USING steward;
	INSERT INTO items (id, status) SELECT g, 'a' FROM generate_series(1, 100000) g;
	SELECT steward.attach_state_machine('items', 'status', 'job');
	VACUUM ANALYZE items;
	SELECT steward.governor_simulate(2, NULL, '1 hour');
});

my $job = start_bg('psql', '-X', '-At', '-d', $node->connstr('postgres'),
	'-c', q{CALL steward.run_transition('items', 'a', 'b', NULL, 100, 2000)});

ok( $node->poll_query_until('postgres',
		q{SELECT reason = 'p99' FROM steward.governor_jobs
		   WHERE kind = 'transition' AND finished_at IS NULL}),
	'the job is slowed down by the simulated foreground');
my $pid = sql(q{SELECT pid FROM steward.governor_jobs
                 WHERE kind = 'transition' AND finished_at IS NULL});
my ($worst_ni, $worst_ag) = (0, 0);
for (1 .. 30)
{
	my $ni = `ps -o ni= -p $pid`;
	$ni =~ s/\s+//g;
	$worst_ni = $ni if $ni ne '' && $ni != 0;
	if (open(my $fh, '<', "/proc/$pid/autogroup"))
	{
		my $line = <$fh>;
		close $fh;
		$worst_ag = $1 if $line =~ / nice (-?\d+)/ && $1 != 0;
	}
	usleep(50_000);
}
is($worst_ni, 0, "the job's backend keeps nice 0");
is($worst_ag, 0, "the job's backend keeps its autogroup at nice 0");

sql("SELECT pg_cancel_backend($pid)");
finish_bg($job);
sql(q{SELECT steward.governor_simulate(NULL, NULL, '0')});

$node->stop;
done_testing();
