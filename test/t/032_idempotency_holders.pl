# A key without a result belongs to the session that began it (issue 11
# item 6): it stays in progress while that session lives, whatever
# steward.idempotency_lock_timeout others set, and is taken over by the
# next identical request as soon as the session is gone -- disconnected,
# terminated, or reset with DISCARD ALL (what a pooler runs when its client
# leaves).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('idem_holders');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');

my $begin = q{SET steward.idempotency_lock_timeout = '1s';
              SELECT outcome FROM steward.idempotency_begin('acct', '%s', 'fp')};

sub outcome
{
	my ($key) = @_;
	return $node->safe_psql('postgres', sprintf($begin, $key));
}

# Poll a begin in a session that stays (the taker holds what it takes).
sub poll_outcome
{
	my ($session, $key, $want, $secs) = @_;
	my $deadline = time + $secs;
	my $got;
	$session->query_safe(q{SET steward.idempotency_lock_timeout = '1s'});
	while (time < $deadline)
	{
		$got = $session->query_safe(
			"SELECT outcome FROM steward.idempotency_begin('acct', '$key', 'fp')");
		return $got if $got eq $want;
		usleep(100_000);
	}
	return $got;
}

for my $way ('disconnects', 'is terminated', 'runs DISCARD ALL')
{
	(my $key = $way) =~ s/ /_/g;
	my $holder = $node->background_psql('postgres');
	is($holder->query_safe(
			"SELECT outcome FROM steward.idempotency_begin('acct', '$key', 'fp')"),
		'new', "holder that $way: begins the key");
	my $pid = $holder->query_safe('SELECT pg_backend_pid()');
	$node->safe_psql('postgres',
		"UPDATE steward.idempotency_keys SET locked_at = now() - interval '1 day' WHERE key = '$key'");
	is(outcome($key), 'in_progress',
		"holder that $way: a day-old key is in progress while the holder lives");

	if ($way eq 'disconnects')
	{
		$holder->quit;
	}
	elsif ($way eq 'is terminated')
	{
		$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
		$holder->quit;
	}
	else
	{
		$holder->query_safe('DISCARD ALL');
	}
	my $taker = $node->background_psql('postgres');
	is(poll_outcome($taker, $key, 'new', 30), 'new',
		"holder that $way: the next request takes the key over");
	is(outcome($key), 'in_progress', "holder that $way: ... and only one does");
	$holder->quit if $way eq 'runs DISCARD ALL';
	$taker->quit;
}

ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'client backend'}),
	'no holder session is left');

$node->stop;
done_testing();
