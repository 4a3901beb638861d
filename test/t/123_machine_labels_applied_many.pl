# A machine changed by the logical replication apply worker rewrites the
# labels of every column attached to it (steward_sync_machine_labels,
# src/tableam/labels.c; codereview16 C3).  The list of those columns was
# built inside the SPI connection that read them, so steward_as_owner_end
# (SPI_finish) freed it before the loop that writes the labels walked it:
# the next SPI connection (rule_label's, for the first column) reused the
# memory, and the apply worker read a list overwritten by its statements
# (crash49: label49's first rule_label, which built its query with
# psprintf inside the connection, made the worker die of signal 11 in
# TAP 119).  With many columns the list is long, and the overwritten part
# is walked.  The worker dying stalls replication: the test then fails at
# once, naming the line of the subscriber's log that says so, instead of
# waiting out wait_for_catchup's timeout (180 s, with no word of the
# cause).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $ncols = 40;
my $pub = PostgreSQL::Test::Cluster->new('mla_pub');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('mla_sub');
$sub->init;
$sub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'\nrestart_after_crash = off");
$sub->start;

my $machine = q{SELECT steward.create_state_machine('m123', ARRAY['a', 'b', 'c'], ARRAY['a'], ARRAY['a->b']);};
$pub->safe_psql('postgres', "CREATE EXTENSION pg_steward; $machine");
my $tables = join("\n", map { "CREATE TABLE t123_$_ (id int PRIMARY KEY, st text, st2 text) USING steward;
	SELECT steward.attach_state_machine('t123_$_', 'st', 'm123');
	SELECT steward.attach_state_machine('t123_$_', 'st2', 'm123');" } 1 .. $ncols);
$sub->safe_psql('postgres', "CREATE EXTENSION pg_steward; $machine\n$tables");

# wait_applied($what): one assertion, that the subscriber applied all the
# publisher had written when called (wait_for_catchup's test: the
# subscription's replay_lsn in pg_stat_replication), polled every 100 ms
# up to the harness's timeout; it fails at once when the subscriber's log
# shows a process terminated by a signal (the apply worker's crash; with
# restart_after_crash = off the server then stops) or the apply worker
# exiting with an error (it would restart and fail again), and the test
# ends there: nothing after it could pass.
sub wait_applied
{
	my ($what) = @_;
	my $target = $pub->lsn('write');
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	my $failed;
	while (1)
	{
		my ($dead) = slurp_file($sub->logfile) =~
		  /^(.*(?:terminated by signal|logical replication (?:apply )?worker.*exited with exit code).*)$/m;
		if (defined $dead)
		{
			$failed = "the subscriber's log says: $dead";
			last;
		}
		return pass($what)
		  if $pub->safe_psql('postgres',
			"SELECT EXISTS (SELECT 1 FROM pg_stat_replication
			                 WHERE application_name = 's123' AND state = 'streaming'
			                   AND replay_lsn >= '$target')") eq 't';
		if (time > $deadline)
		{
			$failed = "not applied after $PostgreSQL::Test::Utils::timeout_default s";
			last;
		}
		usleep(100_000);
	}
	fail($what);
	diag($failed);
	done_testing();
	exit;
}

$pub->safe_psql('postgres', 'CREATE PUBLICATION p123 FOR TABLE steward.machine_definitions');
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s123 CONNECTION '" . $pub->connstr
	  . " dbname=postgres' PUBLICATION p123 WITH (copy_data = false)");
wait_applied('the subscription started');

my $labels = q{SELECT count(*) FILTER (WHERE label::jsonb -> 'transitions' = $$%s$$::jsonb)
	FROM pg_seclabel WHERE provider = 'steward' AND objoid::regclass::text LIKE 't123\_%%'};
for my $round (['a->c', '["a->b", "a->c"]'], ['b->c', '["a->b", "a->c", "b->c"]'])
{
	my ($edge, $json) = @$round;
	my ($from, $to) = split /->/, $edge;
	$pub->safe_psql('postgres', "SELECT steward.add_transition('m123', '$from', '$to')");
	wait_applied("the subscriber applied add_transition $edge");
	is($sub->safe_psql('postgres', sprintf($labels, $json)), 2 * $ncols,
		"the applied $edge reached the labels of all " . (2 * $ncols) . ' columns');
}
my $log = slurp_file($sub->logfile);
unlike($log, qr/terminated by signal/, 'no backend of the subscriber crashed');
unlike($log, qr/logical replication worker.*exited with exit code/,
	'the apply worker did not fail');

$sub->stop;
$pub->stop;
done_testing();
