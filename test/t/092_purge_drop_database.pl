# The purge worker never makes DROP DATABASE or CREATE DATABASE ... TEMPLATE
# fail: while it works through many expired keys of a database, both
# commands succeed (today's failure: "database is being accessed by other
# users" after 5 s), and it goes on purging other databases.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('purge_drop');
$node->init;
# Small batches with a pause between them make a visit long: 300,000 keys
# take more than 30 s, so the worker is surely inside a visit when we drop
# and when we copy.  The fixed pause applies with the governor off; on, an
# idle server lets the purge run at full speed, and it may have emptied
# the template before CREATE DATABASE copies it.
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_steward'
steward.governor = off
steward.idempotency_purge_interval = '1s'
steward.idempotency_purge_batch = 200
steward.idempotency_purge_delay = '20ms'
});
$node->start;

sub fill
{
	my ($db) = @_;
	$node->safe_psql('postgres', qq{CREATE DATABASE "$db"});
	$node->safe_psql($db, q{
		CREATE EXTENSION pg_steward;
		INSERT INTO steward.idempotency_keys (scope, key, fingerprint, expires_at, locked_at)
		SELECT 'api', 'k' || g, 'fp', now() - interval '1 day', now() - interval '1 day'
		  FROM generate_series(1, 300000) g;
	});
}

sub worker_in
{
	my ($db) = @_;
	return $node->poll_query_until('postgres', qq{
		SELECT EXISTS (SELECT 1 FROM pg_stat_activity
		                WHERE datname = '$db'
		                  AND application_name = 'pg_steward idempotency purge'
		                  AND query LIKE 'purging%')});
}

fill('appdb');
fill('tmpl');
ok(worker_in('appdb'), 'the purge worker is purging appdb');

# DROP DATABASE checkpoints: flush the 600,000 keys' pages first, so that
# the time measured is the wait for the worker, not a loaded machine's
# writes.
$node->safe_psql('postgres', 'CHECKPOINT');
ok(worker_in('appdb'), '... and still is after a checkpoint');
my $start = time;
my ($rc, $out, $err) = $node->psql('postgres', 'DROP DATABASE appdb');
is($rc, 0, 'DROP DATABASE succeeds while the worker was purging it')
  or diag($err);
cmp_ok(time - $start, '<', 5, 'without waiting out the 5 s for other users');

ok(worker_in('tmpl'), 'the purge worker is purging tmpl');
($rc, $out, $err) = $node->psql('postgres', 'CREATE DATABASE copy TEMPLATE tmpl');
is($rc, 0, 'CREATE DATABASE ... TEMPLATE succeeds while the worker was purging the template')
  or diag($err);
is($node->safe_psql('copy', 'SELECT count(*) > 0 FROM steward.idempotency_keys'), 't',
	'the copy has the template\'s keys');

# The worker goes on with its work afterwards.
$node->poll_query_until('tmpl',
	'SELECT count(*) < 300000 FROM steward.idempotency_keys')
  or die 'purge did not go on';
pass('purging goes on after the template copy');
ok(!grep(/terminated by signal/, slurp_file($node->logfile)), 'no backend crashed');

$node->stop;
done_testing();
