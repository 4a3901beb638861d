# The purge worker's capacity sample gives way to DDL on the extension
# (cap1, after TAP 072's 40P01): a user's DROP EXTENSION pg_steward CASCADE
# was cancelled by the deadlock detector because the worker's sample phase
# waited for AccessShareLock on a steward table the DROP held, with
# lock_timeout = steward.idempotency_purge_timeout (60 s) far above
# deadlock_timeout (1 s), while the DROP waited for something the sample
# held.  Now the sample's lock waits end after 1 ms (55P03, logged, the
# phase ends), so a deadlock check finds no cycle but in that millisecond.
#
# Locks and timeouts here: deadlock_timeout 1 s (the sample's
# lock_timeout is 1 ms), steward.idempotency_purge_timeout 30 s (the old
# code's wait, visibly longer than the 2 s asserted), a visit every second.
# A session holds ACCESS EXCLUSIVE on steward.capacity_samples across
# several visits: no worker may wait for a lock for 2 s, and the server log
# shows the sample's lock-timeout cancel.  Then the lock is released and a
# sample is taken.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('sample_lock_timeout');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_steward'
steward.idempotency_purge_interval = '1s'
steward.idempotency_purge_timeout = '30s'
steward.capacity_sample_interval = '1s'
deadlock_timeout = '1s'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');

ok( poll_until($node, 'postgres',
		'SELECT count(*) > 0 FROM steward.capacity_samples', 60),
	'the worker samples while nothing is locked');

my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM steward.capacity_samples');
my $log_offset = -s $node->logfile;
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK TABLE steward.capacity_samples IN ACCESS EXCLUSIVE MODE');

# Over 8 s (several visits), the longest lock wait of a purge worker.
my $waits = q{
	SELECT coalesce(max(extract(epoch FROM clock_timestamp() - l.waitstart)), 0)
	  FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	 WHERE NOT l.granted
	   AND a.application_name = 'pg_steward idempotency purge'};
my $longest = 0;
my $seen_waiting = 0;
my $end = time + 8;
while (time < $end)
{
	my $w = $node->safe_psql('postgres', $waits);
	$seen_waiting = 1 if $w > 0;
	$longest = $w if $w > $longest;
	usleep(100_000);
}
ok($longest < 2, "no purge worker waits for a lock 2 s or more (longest ${longest} s)");

like( substr(slurp_file($node->logfile), $log_offset),
	qr/ERROR:  canceling statement due to lock timeout[^\n]*\n(?:[^\n]*\n){0,5}?[^\n]*CONTEXT:  PL\/pgSQL function steward\._capacity_sample/,
	'the server log shows the sample phase ending with a lock timeout');
is( $node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	 WHERE NOT l.granted
	   AND a.application_name = 'pg_steward idempotency purge'
	   AND clock_timestamp() - l.waitstart > interval '2 s'}),
	'0', 'pg_locks shows no worker waiting 2 s or more while the lock is held');

$locker->query_safe('COMMIT');
$locker->quit;
ok( poll_until($node, 'postgres',
		"SELECT count(*) > $before FROM steward.capacity_samples", 60),
	'the next visit samples once the lock is gone');

$node->stop;
done_testing();
