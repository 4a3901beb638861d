# The idempotency purge worker under load.
#
# With steward.idempotency_purge_interval = 1s and a small
# steward.idempotency_purge_batch, the background worker must delete every
# expired key (here: thousands of keys created with a 1 s retention) while
# pgbench keeps claiming and completing keys with the default 24 h retention,
# and it must delete nothing else:
#   - all short-lived keys disappear (polled with a deadline), in every
#     database that has the extension;
#   - no long-lived key disappears, also not keys created in the 1 s session
#     whose scope has a longer per-scope retention;
#   - an expired key that another transaction holds locked is skipped, not
#     waited for (later expired keys are still purged), and is purged once
#     the lock is gone;
#   - pgbench finishes without errors or aborted clients, and exactly-once
#     held for its keys: no duplicate key, one business row per key, every
#     key completed, and every replay returned the stored response (the
#     pgbench script checks that itself and fails with 1/0 otherwise);
#   - idempotency_stats counts the purged keys;
#   - the purge launcher is running (pg_stat_activity).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest qw(:DEFAULT start_pgbench finish_pgbench);
use IPC::Run;
use Time::HiRes qw(time);

my $t0 = time;

my $nwaves    = 5;
my $perwave   = 1000;
my $nshort    = $nwaves * $perwave;    # 1 s retention, scope 'short'
my $nlate     = 200;                    # 1 s retention, created later
my $nlong     = 1000;                   # default retention, scope 'long'
my $nmedium   = 500;     # 1 s session retention, but scope override 1 h
my $ndb2      = 300;     # 1 s retention, in a second database
my $nclients  = 6;
my $nthreads  = 2;
# pgbench outlasts the purge of the short keys on a loaded machine: the
# governor paces the purge beside pgbench (about 200 keys a second with
# two busy loops beside the test: done 24.6 s after the last wave, 30.1 s
# into a pgbench of 30 s, closing41), so both bounds are twice that.
my $duration  = 60;
my $purge_s   = 60;
my $pgb_keys  = 20000;   # key space of the pgbench run
my $batch     = 200;
my $run       = int(rand(1_000_000)) + 1;    # the pgbench run's scope id
my $pgb_scope = "pgb-$run";

my $node = PostgreSQL::Test::Cluster->new('idem_purge');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
steward.idempotency_purge_interval = '1s'
steward.idempotency_purge_batch = $batch
max_connections = 30
# pgbench runs thousands of statements a second; keep the log readable.
log_statement = 'none'
});
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('postgres', 'CREATE DATABASE db2');
$node->safe_psql(
	'shop', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE pgb_business (run int NOT NULL, k int NOT NULL,
	                           UNIQUE (run, k)) USING steward;
	SELECT steward.set_idempotency_retention('medium', interval '1 hour');
});
$node->safe_psql('db2', 'CREATE EXTENSION pg_steward');

is( $node->safe_psql('shop',
		q{SELECT current_setting('steward.idempotency_purge_interval'),
		         current_setting('steward.idempotency_purge_batch')}),
	"1s|$batch",
	'purge interval and batch size come from the configuration');

# Long-lived keys, created with the default retention: half completed, half
# in progress (begun, never completed).
$node->safe_psql(
	'shop', qq{
	SELECT count(*) FROM generate_series(1, $nlong) g,
	       LATERAL steward.idempotency_begin('long', 'l-' || g, 'fp');
	SELECT count(*) FROM (
	  SELECT steward.idempotency_complete('long', 'l-' || g, 200, jsonb_build_object('g', g))
	    FROM generate_series(1, $nlong, 2) g) c;
});
# Keys of a scope with a 1 h override, created in a session whose own
# retention is 1 s: the override wins, they must stay.
$node->safe_psql(
	'shop', qq{
	SET steward.idempotency_retention = '1s';
	SELECT count(*) FROM generate_series(1, $nmedium) g,
	       LATERAL steward.idempotency_begin('medium', 'm-' || g, 'fp');
});
is( $node->safe_psql(
		'shop',
		q{SELECT min(expires_at - created_at) >= interval '1 hour', count(*)
		    FROM steward.idempotency_keys WHERE scope = 'medium'}),
	"t|$nmedium",
	'keys of the scope with a 1 h override got the longer retention');
my $long_fingerprint_q = q{
	SELECT md5(string_agg(format('%s|%s|%s|%s|%s', scope, key, status, response, expires_at),
	                      ',' ORDER BY scope, key)), count(*)
	  FROM steward.idempotency_keys WHERE scope IN ('long', 'medium')};
my $long_before = $node->safe_psql('shop', $long_fingerprint_q);

# pgbench: claim a key, check the outcome, and for a new key write the
# business row and complete the key, all in one transaction.  A replay must
# return the stored status and response; anything else (a mismatch, an
# in_progress, a wrong response) fails the transaction with 1/0, which
# aborts the client.  A second business row for a key would violate the
# UNIQUE constraint and abort the client as well.
my $script = $node->basedir . '/idem.sql';
append_to_file(
	$script, qq{\\set k random(1, $pgb_keys)
BEGIN;
SELECT (b.outcome = 'new')::int AS is_new,
       (b.outcome = 'replay')::int AS is_replay,
       (b.outcome IS DISTINCT FROM 'new'
        AND NOT coalesce(b.outcome = 'replay'
                         AND b.status = 200 + :k % 7
                         AND b.response = jsonb_build_object('k', :k, 'run', :run),
                         false))::int AS bad
  FROM steward.idempotency_begin('pgb-' || :run, 'key-' || :k, 'fp-' || :k) b
\\gset
\\if :bad
SELECT 1/0 AS replay_did_not_return_the_stored_response;
\\endif
\\if :is_new
INSERT INTO pgb_business (run, k) VALUES (:run, :k);
SELECT steward.idempotency_complete('pgb-' || :run, 'key-' || :k, 200 + :k % 7,
                                    jsonb_build_object('k', :k, 'run', :run));
\\endif
COMMIT;
});

my $t_pgbench = time;
my $pgbench   = start_pgbench(
	$node, 'keys',
	clients => $nclients,
	jobs    => $nthreads,
	secs    => $duration,
	scripts => [$script],
	args    => [ '-D', "run=$run" ],
	db      => 'shop');

ok( poll_until(
		$node, 'shop',
		"SELECT count(*) >= 100 FROM pgb_business WHERE run = $run", 30),
	'pgbench is committing keys');

# Short-lived keys, in waves, while pgbench runs.  Begin and complete in one
# transaction: complete renews the expiry from the same now(), so no key can
# expire (and be purged) between its begin and its complete.
for my $w (1 .. $nwaves)
{
	my $lo = ($w - 1) * $perwave + 1;
	my $hi = $w * $perwave;
	$node->safe_psql(
		'shop', qq{
	SET steward.idempotency_retention = '1s';
	BEGIN;
	SELECT count(*) FROM generate_series($lo, $hi) g,
	       LATERAL steward.idempotency_begin('short', 's-' || g, 'fp');
	SELECT count(*) FROM (
	  SELECT steward.idempotency_complete('short', 's-' || g, 200, '{"short": true}')
	    FROM generate_series($lo, $hi, 2) g) c;
	COMMIT;
});
}
$node->safe_psql(
	'db2', qq{
	SET steward.idempotency_retention = '1s';
	SELECT count(*) FROM generate_series(1, $ndb2) g,
	       LATERAL steward.idempotency_begin('short', 's-' || g, 'fp');
});

# A short key that a transaction keeps locked.  The session that locks it
# creates it just before, with a 5 s retention, so that the lock is surely
# taken before the key expires.
my $locker = $node->background_psql('shop');
# Its timeout counts per query, not from here: the session lives through
# the polls below, which outlast the default timeout when the machine is
# frozen for minutes (closing41: "timeout on timer #1" at its COMMIT).
$locker->set_query_timer_restart;
$locker->query_safe(q{SET steward.idempotency_retention = '5s'});
is( $locker->query_safe(
		q{SELECT outcome FROM steward.idempotency_begin('short', 'locked', 'fp')}),
	'new',
	'short key "locked" created');
$locker->query_safe('BEGIN');
is( $locker->query_safe(
		q{SELECT key FROM steward.idempotency_keys
		   WHERE scope = 'short' AND key = 'locked' FOR UPDATE}),
	'locked',
	'a transaction holds the short key "locked" locked');

# The purge runs while pgbench keeps going.
my $t_purge = time;
ok( poll_until(
		$node, 'shop',
		q{SELECT count(*) = 0 FROM steward.idempotency_keys
		   WHERE scope = 'short' AND key <> 'locked'}, $purge_s),
	"all $nshort short-lived keys were purged");
note sprintf('purge of the short keys done %.1f s after the last wave, %.1f s into pgbench',
	time - $t_purge, time - $t_pgbench);
ok($pgbench->{h}->pumpable, 'pgbench was still running while the worker purged');
ok(poll_until($node, 'db2', q{SELECT count(*) = 0 FROM steward.idempotency_keys}, 30),
	"the $ndb2 short keys of the second database were purged");

# Once "locked" has expired, later expired keys must still be purged: the
# worker skips the locked row instead of waiting for it.
ok( poll_until(
		$node, 'shop',
		q{SELECT expires_at <= now() FROM steward.idempotency_keys
		   WHERE scope = 'short' AND key = 'locked'}, 30),
	'the locked key has expired');
$node->safe_psql(
	'shop', qq{
	SET steward.idempotency_retention = '1s';
	SELECT count(*) FROM generate_series(1, $nlate) g,
	       LATERAL steward.idempotency_begin('short', 'late-' || g, 'fp');
});
ok( poll_until(
		$node, 'shop',
		q{SELECT count(*) = 0 FROM steward.idempotency_keys
		   WHERE scope = 'short' AND key LIKE 'late-%'}, 30),
	"$nlate keys expiring after the locked one were purged past it");
is( $node->safe_psql(
		'shop',
		q{SELECT count(*) FROM steward.idempotency_keys
		   WHERE scope = 'short' AND key = 'locked' AND expires_at <= now()}),
	'1',
	'the expired but locked key was skipped');
$locker->query_safe('COMMIT');
$locker->quit;
ok( poll_until(
		$node, 'shop',
		q{SELECT count(*) = 0 FROM steward.idempotency_keys WHERE scope = 'short'}, 30),
	'the key is purged once the lock is released');

is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_stat_activity
		   WHERE backend_type = 'pg_steward purge launcher'}),
	'1',
	'the purge launcher is running');

# Let pgbench finish: exit 0, no aborted client, no failed transaction.
my ($processed, undef, undef, $pgb_err) = finish_pgbench($pgbench);
unlike($pgb_err, qr/abort|error/i, 'pgbench reported no error and no aborted client');

# Exactly once: one key, one business row, one stored result per request.
my ($nkeys, $ndistinct, $ncompleted, $nright) = split /\|/,
  $node->safe_psql(
	'shop', qq{
	SELECT count(*), count(DISTINCT (scope, key)),
	       count(*) FILTER (WHERE status IS NOT NULL),
	       count(*) FILTER (WHERE status = 200 + substr(key, 5)::int % 7
	                          AND response = jsonb_build_object('k', substr(key, 5)::int, 'run', $run))
	  FROM steward.idempotency_keys WHERE scope = '$pgb_scope'});
cmp_ok($nkeys, '>', 0, "pgbench created $nkeys keys");
is($ndistinct,  $nkeys, 'no key of the pgbench run is duplicated');
is($ncompleted, $nkeys, 'every key of the pgbench run was completed');
is($nright,     $nkeys, 'every key of the pgbench run holds its own result');
is( $node->safe_psql(
		'shop', qq{
	SELECT count(*) FROM pgb_business b
	  FULL JOIN steward.idempotency_keys k
	    ON k.scope = '$pgb_scope' AND k.key = 'key-' || b.k
	 WHERE b.run = $run AND k.key IS NULL
	    OR b.run IS NULL AND k.scope = '$pgb_scope'}),
	'0',
	'one business row per key of the pgbench run, and no other');

# Nothing long-lived was purged.
is($node->safe_psql('shop', $long_fingerprint_q),
	$long_before, 'no long-lived key was purged or changed');
like($long_before, qr/\|@{[$nlong + $nmedium]}$/,
	"the $nlong long-lived and $nmedium overridden keys are all there");
is( $node->safe_psql(
		'shop', qq{
	SELECT count(*) FROM steward.idempotency_keys
	 WHERE scope NOT IN ('long', 'medium', '$pgb_scope')}),
	'0',
	'no other key is left');

# Counters.
my ($s_purged) = $node->safe_psql('shop',
	q{SELECT purged FROM steward.idempotency_stats WHERE scope = 'short'});
cmp_ok($s_purged, '>=', $nshort + $nlate + 1,
	"idempotency_stats counts $s_purged purged short keys");
is($s_purged, $nshort + $nlate + 1,
	'... exactly the short keys, each counted once');
is( $node->safe_psql(
		'shop', qq{
	SELECT coalesce(sum(purged), 0) FROM steward.idempotency_stats
	 WHERE scope IN ('long', 'medium', '$pgb_scope')}),
	'0',
	'no purge is counted for the long-lived scopes');
is($node->safe_psql('db2',
		q{SELECT purged FROM steward.idempotency_stats WHERE scope = 'short'}),
	$ndb2, 'the second database counts its own purged keys');
my ($p_new, $p_replay, $p_mismatch, $p_inprog, $p_expired) = split /\|/,
  $node->safe_psql(
	'shop', qq{
	SELECT new, replay, mismatch, in_progress, expired
	  FROM steward.idempotency_stats WHERE scope = '$pgb_scope'});
note "pgbench scope: new $p_new, replay $p_replay, mismatch $p_mismatch, "
  . "in_progress $p_inprog, expired $p_expired";
is($p_new, $nkeys, 'every new outcome of the pgbench run left one key');
cmp_ok($p_replay, '>', 0, 'the pgbench run repeated keys (replays)');
is($p_new + $p_replay, $processed,
	'new + replay = transactions pgbench processed');
is("$p_mismatch|$p_inprog|$p_expired", '0|0|0',
	'no mismatch, in_progress or expired outcome in the pgbench run');

ok( !$node->log_contains(
		qr/background worker "pg_steward[^"]*" \(PID \d+\) (exited with exit code [1-9]|was terminated by signal)|TRAP:|PANIC:/
	),
	'no purge worker failed and no backend crashed');

$node->stop;
note sprintf('test took %.1f s', time - $t0);
done_testing();
