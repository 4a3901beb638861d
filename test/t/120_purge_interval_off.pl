# steward.idempotency_purge_interval = 0 turns the purge worker off.
#
# Before, the setting's least value was 1 s and the worker had no off
# switch: a restore drill's copy kept its expired keys only by naming a
# database nobody has in steward.idempotency_purge_databases.  Here:
#   - with 0, expired keys stay through a server start (the launcher's
#     first round runs right at start) and a wait of several seconds;
#   - steward.idempotency_purge() still deletes them by hand;
#   - a reload back to 1 s wakes the sleeping launcher, which purges
#     within seconds, not after its hour of sleep.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;

my $node = PostgreSQL::Test::Cluster->new('purge_off');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_steward'
steward.idempotency_purge_interval = 0
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');

is($node->safe_psql('postgres', "SHOW steward.idempotency_purge_interval"),
	'0', 'the interval accepts 0');

sub expire_keys
{
	my ($scope, $n) = @_;
	$node->safe_psql('postgres', qq{
		SELECT count(*) FROM generate_series(1, $n) g,
		       steward.idempotency_begin('$scope', g::text, 'fp');
		UPDATE steward.idempotency_keys SET expires_at = now() - interval '1 hour'
		 WHERE scope = '$scope';
	});
}

sub keys_left
{
	my ($scope) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM steward.idempotency_keys WHERE scope = '$scope'");
}

expire_keys('off', 50);
# The launcher's first round runs right at start; restart so that one
# finds the expired keys.
$node->restart;
ok( poll_until($node, 'postgres', q{
	SELECT count(*) > 0 FROM pg_stat_activity
	 WHERE backend_type = 'pg_steward purge launcher'}, 60),
	'the launcher runs while off');
sleep 4;
is(keys_left('off'), '50', 'off: the worker deleted no expired key');

is($node->safe_psql('postgres', 'SELECT steward.idempotency_purge()'),
	'50', 'off: steward.idempotency_purge() deletes them by hand');

expire_keys('on', 30);
$node->append_conf('postgresql.conf', "steward.idempotency_purge_interval = '1s'");
$node->reload;
ok( poll_until($node, 'postgres', q{
	SELECT count(*) = 0 FROM steward.idempotency_keys WHERE scope = 'on'}, 60),
	'a reload to 1 s wakes the launcher, which purges');

$node->stop;
done_testing();
