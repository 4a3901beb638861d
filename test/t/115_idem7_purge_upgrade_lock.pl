# The purge chooses between 0.1's statement (no holders) and 0.2's batch
# after it has locked the keys table, not before (upg1's leftover, idem7).
# A purge that began while ALTER EXTENSION pg_steward UPDATE (0.1 -> 0.2)
# was adding the holder columns read the catalog before the update
# committed, chose 0.1's DELETE, waited for the update's lock and then
# deleted every expired key, also one in progress whose holder lives:
# that holder's complete then failed after its side effect was done, and
# a retry got new (review11 R11-1).  Now the purge waits for the lock
# first and judges the holders.
#
# Here the updating transaction itself begins a key (the library serves
# keys once the columns exist) and makes it expired, so the key exists,
# expired and held by a live session, the moment the update commits.
#
# Part 2: what the worker's batches read with statistics that know no
# expired key (idem5's leftover).  The worker plans its statement afresh
# every visit, and with keys that expired after the last ANALYZE (here
# 20000, in an order unrelated to their expiry, behind 300 ANALYZE saw
# expiring tomorrow) a batch larger than the planner's guess read every
# expired key each time (a bitmap scan and a sort); the direct batch walks
# the expiry index for what it deletes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;

my $node = PostgreSQL::Test::Cluster->new('purge_upgrade_lock');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_steward'
steward.idempotency_purge_databases = 'none'
steward.idempotency_purge_interval = '1s'
steward.idempotency_purge_batch = 5000
steward.governor_min_calls = 1000000000
});
$node->start;
$node->safe_psql('postgres', "CREATE EXTENSION pg_steward VERSION '0.1'");

my $updater = $node->background_psql('postgres');
$updater->query_safe('BEGIN');
$updater->query_safe('ALTER EXTENSION pg_steward UPDATE');
$updater->query_safe(
	"SELECT outcome FROM steward.idempotency_begin('t115', 'held', 'fp')");
$updater->query_safe(
	"UPDATE steward.idempotency_keys SET expires_at = now() - interval '1 hour'
	  WHERE scope = 't115' AND key = 'held'");

# The purge starts while the update is uncommitted and waits for its lock.
my $purger = $node->background_psql('postgres');
$purger->query_until(qr/started/, q{
	\echo started
	SELECT 'purged ' || steward.idempotency_purge();
});
ok( poll_until($node, 'postgres', q{
	SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	 WHERE NOT l.granted AND a.query LIKE '%idempotency_purge()%'}, 60),
	'the purge waits for the update');

$updater->query_safe('COMMIT');
ok( poll_until($node, 'postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity
	 WHERE state = 'active' AND query LIKE '%idempotency_purge()%'
	   AND pid <> pg_backend_pid()}, 60),
	'the purge ends once the update committed');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM steward.idempotency_keys WHERE scope = 't115'"),
	'1', 'the expired key whose holder lives is kept');

# Its holder completes it.
# (In an eval: the old code's complete failed, "not held", and part 2
# still runs.)
eval {
	$updater->query_safe(
		"SELECT steward.idempotency_complete('t115', 'held', 200, '{}')");
};
is($node->safe_psql('postgres',
		"SELECT status FROM steward.idempotency_keys WHERE scope = 't115'"),
	'200', 'its holder completed it');

$purger->quit;
eval { $updater->quit; };

# Part 2.
$node->safe_psql('postgres', q{
	SELECT steward.create_idempotency_scope('t115b');
	INSERT INTO steward.idempotency_keys
	       (scope, key, fingerprint, status, response, completed_at, expires_at, claim)
	SELECT 't115b', 'live' || g, 'fp', 200, '{}', now(),
	       now() + interval '1 day' + (g * 7919 % 300) * interval '1 min', s.claim
	  FROM generate_series(1, 300) g, steward.idempotency_scopes s WHERE s.scope = 't115b';
	ANALYZE steward.idempotency_keys;
	INSERT INTO steward.idempotency_keys
	       (scope, key, fingerprint, status, response, completed_at, expires_at, claim)
	SELECT 't115b', 'old' || g, 'fp', 200, '{}', now(),
	       now() - interval '2 hours' + (g * 7919 % 20000) * interval '1 ms', s.claim
	  FROM generate_series(1, 20000) g, steward.idempotency_scopes s WHERE s.scope = 't115b';
});
my $reads_before = $node->safe_psql('postgres', q{
	SELECT idx_tup_read FROM pg_stat_user_indexes
	 WHERE indexrelid = 'steward.idempotency_keys_expiry'::regclass});
$node->safe_psql('postgres',
	"ALTER SYSTEM SET steward.idempotency_purge_databases = 'postgres'");
$node->reload;
# (Polls that read no index: the index's reads are the worker's.)
ok( poll_until($node, 'postgres', q{
	SELECT sum(purged) >= 20000 FROM steward.idempotency_stats WHERE scope = 't115b'}, 120),
	'the worker purges the 20000 expired keys');
$node->safe_psql('postgres',
	"ALTER SYSTEM SET steward.idempotency_purge_databases = 'none'");
$node->reload;
ok( poll_until($node, 'postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity
	 WHERE application_name = 'pg_steward idempotency purge'}, 60),
	'no worker left');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM steward.idempotency_keys WHERE expires_at + interval '0' <= now()}),
	'0', 'no expired key is left');
my $reads = $node->safe_psql('postgres', q{
	SELECT idx_tup_read FROM pg_stat_user_indexes
	 WHERE indexrelid = 'steward.idempotency_keys_expiry'::regclass}) - $reads_before;
note "expiry index entries the worker read for 20000 keys: $reads";
cmp_ok($reads, '<=', 22000, 'the batches read about one entry per key they delete');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM steward.idempotency_keys WHERE scope = 't115b'"),
	'300', 'the keys that have not expired stay');

$node->stop;
done_testing();
