# The governor's foreground is the top-level queries of client backends
# (gov21): a slow utility statement (a DO block, a CALL, a VACUUM, an
# EXPLAIN ANALYZE, a COPY), in either protocol, does not move its p99; a
# slow SELECT, function call or prepared statement's EXECUTE does.
#
# On the old code it summed every top-level statements entry, utility
# statements included, so one slow DO block among a window's short
# queries became its p99 and throttled or paused every background job.
# 300 short SELECTs and 6 slow (0.4 s) statements of one kind in a 5-s
# window: p99 is the 4th longest of about 306, the slow ones' if they
# count.  The old code fails the utility assertions (p99 about 400 ms).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use StewardTest qw(:DEFAULT gov_node);

my $node = gov_node('foreground_queries');
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET steward.governor_min_calls = 50;
	SELECT pg_reload_conf();
	CREATE PROCEDURE slow_proc() LANGUAGE plpgsql AS $$
	BEGIN PERFORM pg_sleep(0.4); END $$;
	CREATE FUNCTION slow_fn() RETURNS int LANGUAGE plpgsql AS $$
	BEGIN PERFORM pg_sleep(0.4); RETURN 1; END $$;
});

# One window: the short queries and 6 of the slow statement $slow, then
# after the window has passed and a tick has read it, the governor's
# foreground calls and p99 in ms.
# With $extended, the slow statements are sent by pgbench in the extended
# protocol (Parse/Bind/Execute), one transaction each.
sub one_window
{
	my ($slow, $extended) = @_;
	# The previous window's statements leave it.
	sleep 6;
	my $script = join('', map { "SELECT $_;\n" } 1 .. 300)
	  . ($extended ? '' : join('', map { "$slow;\n" } 1 .. 6));
	$node->safe_psql('postgres', $script);
	if ($extended)
	{
		my $file = PostgreSQL::Test::Utils::tempdir() . '/slow.sql';
		PostgreSQL::Test::Utils::append_to_file($file, "$slow;\n");
		$node->command_ok(
			[ 'pgbench', '-n', '-M', 'extended', '-t', '6', '-f', $file,
				$node->connstr('postgres') ],
			"pgbench sends $slow 6 times");
	}
	usleep(1_500_000);
	return [ split /\|/, $node->safe_psql('postgres',
		'SELECT foreground_calls, foreground_p99_ms FROM steward.governor') ];
}

foreach my $slow (
	'DO $$BEGIN PERFORM pg_sleep(0.4); END$$',
	'CALL slow_proc()',
	'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT pg_sleep(0.4)',
	'COPY (SELECT pg_sleep(0.4)) TO STDOUT')
{
	my $r = one_window($slow);
	note "$slow: calls $r->[0], p99 $r->[1] ms";
	ok($r->[0] >= 250, "$slow: the short queries are a foreground ($r->[0])");
	ok($r->[1] < 200, "$slow: a slow utility statement leaves the p99 ($r->[1] ms)");
}

# The same pattern with queries that are slow: they are what users feel.
foreach my $slow ('SELECT pg_sleep(0.4)', 'SELECT slow_fn()',
	'PREPARE p AS SELECT pg_sleep(0.4); EXECUTE p; DEALLOCATE p')
{
	my $r = one_window($slow);
	note "$slow: calls $r->[0], p99 $r->[1] ms";
	ok($r->[1] >= 300, "$slow: a slow query makes the p99 ($r->[1] ms)");
}

# A slow query in the extended protocol is a client's query too; a slow
# utility statement sent so is not.
my $r = one_window('SELECT pg_sleep(0.4)', 1);
note "extended SELECT pg_sleep(0.4): calls $r->[0], p99 $r->[1] ms";
ok($r->[1] >= 300, "a slow query in the extended protocol makes the p99 ($r->[1] ms)");
$r = one_window('CALL slow_proc()', 1);
note "extended CALL slow_proc(): calls $r->[0], p99 $r->[1] ms";
ok($r->[1] < 200, "a slow CALL in the extended protocol leaves the p99 ($r->[1] ms)");

$node->stop;
done_testing();
