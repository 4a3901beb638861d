# Durability of idempotency keys.
#
# (a) Crash recovery.  A key is a row of steward.idempotency_keys written in
#     the caller's transaction, so it must survive a crash exactly when the
#     transaction committed, together with the business row written in the
#     same transaction:
#       - begin + complete + business row, committed, then an immediate
#         stop (no shutdown checkpoint): after WAL replay the key replays the
#         stored status and response, and the business row is there;
#       - a begin committed without complete stays in_progress;
#       - a begin (and business row) not yet committed when the server
#         stops is gone: the key is new again, the row absent.
#     A few thousand completed keys written since the last checkpoint (so
#     that the steward_hash index has to be rebuilt from WAL, splits
#     included) must all replay after recovery as well.
#
# (b) Streaming replication.  Keys created on the primary are readable on a
#     hot standby with the same status and response, the standby answers
#     (scope, key) lookups through the idempotency_keys_once steward_hash
#     index, and calling idempotency_begin / idempotency_complete /
#     idempotency_purge there is refused with a read-only error (SQLSTATE
#     25006) instead of crashing the standby.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $t0 = time;
my $nbulk = 3000;

# The response pgbench-style clients would have stored for bulk key g.
my $bulk_response = q{jsonb_build_object('charge', 'ch_' || g, 'amount', g)};

###########################################################################
# (a) crash recovery
###########################################################################

my $node = PostgreSQL::Test::Cluster->new('idem_crash');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
# No checkpoint may slip in between the commits and the crash: recovery has
# to come from WAL replay.
$node->append_conf('postgresql.conf', "checkpoint_timeout = '1h'");
$node->append_conf('postgresql.conf', "max_wal_size = '1GB'");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE charges (id int PRIMARY KEY, idem_key text NOT NULL,
	                      amount int NOT NULL) USING steward;
	CHECKPOINT;
});

my $redo_before = $node->safe_psql('postgres',
	'SELECT redo_lsn FROM pg_control_checkpoint()');

# K: begin, business row, complete, commit -- one transaction.
is( $node->safe_psql(
		'postgres', q{
	BEGIN;
	SELECT outcome FROM steward.idempotency_begin('shop', 'K', 'POST /charges amount=10');
	INSERT INTO charges VALUES (1, 'K', 10);
	SELECT steward.idempotency_complete('shop', 'K', 201,
	         '{"charge": "ch_1", "amount": 10}');
	COMMIT;
}),
	"new\n",
	'begin on a fresh key K returns new');

# P: begin committed without complete (the request died before finishing).
is( $node->safe_psql(
		'postgres', q{
	BEGIN;
	SELECT outcome FROM steward.idempotency_begin('shop', 'P', 'POST /charges amount=20');
	INSERT INTO charges VALUES (2, 'P', 20);
	COMMIT;
}),
	'new',
	'begin on a fresh key P returns new');

# Bulk: many completed keys, enough for the hash index to split.
is( $node->safe_psql(
		'postgres', qq{
	BEGIN;
	SELECT count(*) FILTER (WHERE b.outcome = 'new')
	  FROM generate_series(1, $nbulk) g,
	       LATERAL steward.idempotency_begin('bulk', 'k' || g, 'fp' || g) b;
	SELECT count(*) FROM (
	  SELECT steward.idempotency_complete('bulk', 'k' || g, 200 + g % 3,
	                                      $bulk_response)
	    FROM generate_series(1, $nbulk) g) c;
	COMMIT;
}),
	"$nbulk\n$nbulk",
	"$nbulk bulk keys begun as new and completed");

# U: begin and business row in a transaction still open at crash time.
my $bg = $node->background_psql('postgres');
$bg->query_safe('BEGIN');
is( $bg->query_safe(
		q{SELECT outcome FROM steward.idempotency_begin('shop', 'U', 'POST /charges amount=30')}),
	'new',
	'uncommitted begin on U returns new in its own transaction');
$bg->query_safe(q{INSERT INTO charges VALUES (3, 'U', 30)});

# While U is held by the open transaction, a nowait begin reports it as in
# progress instead of waiting.
is( $node->safe_psql(
		'postgres',
		q{SELECT outcome FROM steward.idempotency_begin('shop', 'U', 'POST /charges amount=30', true)}
	),
	'in_progress',
	'nowait begin sees the uncommitted holder of U as in_progress');

# Nothing was checkpointed since before the transactions above: the redo
# point is unchanged, so the restart must replay the commits from WAL.
is( $node->safe_psql('postgres', 'SELECT redo_lsn FROM pg_control_checkpoint()'),
	$redo_before,
	'no checkpoint happened after the key transactions');

$node->stop('immediate');
# psql of the open transaction lost its server; don't care how it exits.
eval { $bg->quit; };

$node->start;
ok( $node->log_contains(
		qr/database system was interrupted|was not properly shut down/),
	'the restart ran crash recovery');

# K replays the stored result, with the business row next to it.
is( $node->safe_psql(
		'postgres',
		q{SELECT outcome, status, response FROM steward.idempotency_begin('shop', 'K', 'POST /charges amount=10')}
	),
	'replay|201|{"amount": 10, "charge": "ch_1"}',
	'after the crash, K replays the committed status and response');
is( $node->safe_psql(
		'postgres',
		q{SELECT outcome, status, response FROM steward.idempotency_begin('shop', 'K', 'POST /charges amount=10')}
	),
	'replay|201|{"amount": 10, "charge": "ch_1"}',
	'K replays again (a replay changes nothing)');
is($node->safe_psql('postgres', q{SELECT id, amount FROM charges WHERE idem_key = 'K'}),
	'1|10', 'the business row written with K survived');
is( $node->safe_psql(
		'postgres',
		q{SELECT outcome FROM steward.idempotency_begin('shop', 'K', 'POST /charges amount=99')}
	),
	'mismatch',
	'K with a different fingerprint is a mismatch after the crash');

# P survived without a result; the session that began it is gone (the
# crash ended every session), so the retry takes it over as new.
is( $node->safe_psql(
		'postgres',
		q{SELECT outcome, status IS NULL, response IS NULL FROM steward.idempotency_begin('shop', 'P', 'POST /charges amount=20')}
	),
	'new|t|t',
	'P, committed without a result, is taken over after the crash (its holder is gone)');
is($node->safe_psql('postgres', q{SELECT amount FROM charges WHERE idem_key = 'P'}),
	'20', 'the business row written with P survived');

# U never committed: its key and business row are gone, the key is new.
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM steward.idempotency_keys WHERE scope = 'shop' AND key = 'U'}
	),
	'0',
	'the uncommitted key U did not survive the crash');
is($node->safe_psql('postgres', q{SELECT count(*) FROM charges WHERE idem_key = 'U'}),
	'0', 'the uncommitted business row did not survive the crash');
is( $node->safe_psql(
		'postgres', q{
	BEGIN;
	SELECT outcome FROM steward.idempotency_begin('shop', 'U', 'POST /charges amount=30');
	INSERT INTO charges VALUES (3, 'U', 30);
	SELECT steward.idempotency_complete('shop', 'U', 201, '{"charge": "ch_3"}');
	COMMIT;
}),
	"new\n",
	'U is new again after the crash and can be completed');
is( $node->safe_psql(
		'postgres',
		q{SELECT outcome, status, response FROM steward.idempotency_begin('shop', 'U', 'POST /charges amount=30')}
	),
	'replay|201|{"charge": "ch_3"}',
	'U replays its new result');

# P can still be completed after the crash, then replays.
$node->safe_psql('postgres',
	q{SELECT steward.idempotency_complete('shop', 'P', 202, '{"charge": "ch_2"}')});
is( $node->safe_psql(
		'postgres',
		q{SELECT outcome, status, response FROM steward.idempotency_begin('shop', 'P', 'POST /charges amount=20')}
	),
	'replay|202|{"charge": "ch_2"}',
	'P completed after the crash replays its result');

# Every bulk key replays its own result, looked up through the index.
is( $node->safe_psql(
		'postgres', qq{
	SET enable_seqscan = off;
	SELECT count(*) FILTER (WHERE b.outcome = 'replay'
	                          AND b.status = 200 + g % 3
	                          AND b.response = $bulk_response),
	       count(*)
	  FROM generate_series(1, $nbulk) g,
	       LATERAL steward.idempotency_begin('bulk', 'k' || g, 'fp' || g) b;
}),
	"$nbulk|$nbulk",
	"all $nbulk bulk keys replay their stored result after the crash");
is( $node->safe_psql(
		'postgres', qq{
	SET enable_seqscan = off;
	SELECT count(*) FROM generate_series(1, $nbulk) g
	  JOIN steward.idempotency_keys k ON k.scope = 'bulk' AND k.key = 'k' || g
	 WHERE k.status = 200 + g % 3 AND k.response = $bulk_response;
}),
	$nbulk,
	'index lookups find every bulk key after the crash');

is( $node->safe_psql(
		'postgres', q{
	SELECT count(*) = count(DISTINCT (scope, key)), count(*)
	  FROM steward.idempotency_keys}),
	't|' . ($nbulk + 3),
	'no key is duplicated after recovery');
# No VACUUM before the check: completing the bulk keys left 3000 dead row
# versions (some pruned to LP_DEAD line pointers) whose index entries are
# legitimate until VACUUM; verify_index must examine the index exactly as
# crash recovery left it and accept them.
is( $node->safe_psql(
		'postgres',
		q{SELECT count(*) FROM steward.verify_index('steward.idempotency_keys_once')}),
	'0',
	'verify_index finds no problem in idempotency_keys_once after recovery');

# Counters live in shared memory and restart from zero: the replays of K
# after the restart are counted, nothing before it.
is( $node->safe_psql(
		'postgres',
		q{SELECT new, replay, mismatch, in_progress FROM steward.idempotency_stats WHERE scope = 'shop'}
	),
	'2|4|1|0',
	'idempotency_stats counts the outcomes since the restart');

$node->stop;
note sprintf('part (a) took %.1f s', time - $t0);

###########################################################################
# (b) streaming standby
###########################################################################

my $t1 = time;
my $primary = PostgreSQL::Test::Cluster->new('idem_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$primary->start;

# Cloned before the extension exists: CREATE EXTENSION and the keys reach
# the standby through streaming only.
$primary->backup('bkp');
my $standby = PostgreSQL::Test::Cluster->new('idem_standby');
$standby->init_from_backup($primary, 'bkp', has_streaming => 1);
$standby->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$standby->start;

$primary->safe_psql(
	'postgres', qq{
	CREATE EXTENSION pg_steward;
	SELECT count(*) FROM generate_series(1, $nbulk) g,
	       LATERAL steward.idempotency_begin('bulk', 'k' || g, 'fp' || g);
	SELECT count(*) FROM (
	  SELECT steward.idempotency_complete('bulk', 'k' || g, 200 + g % 3,
	                                      $bulk_response)
	    FROM generate_series(1, $nbulk) g) c;
	SELECT outcome FROM steward.idempotency_begin('shop', 'K', 'fp-K');
	SELECT steward.idempotency_complete('shop', 'K', 201, '{"charge": "ch_1", "amount": 10}');
	SELECT outcome FROM steward.idempotency_begin('shop', 'P', 'fp-P');
	SELECT outcome FROM steward.idempotency_begin('shop', 'N', 'fp-N');
	SELECT steward.idempotency_complete('shop', 'N', 204, NULL);
});
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'the standby is in recovery');

# Same rows on both sides.
my $rows_q = q{
	SELECT md5(string_agg(format('%s|%s|%s|%s|%s|%s|%s', scope, key, fingerprint,
	                             status, response, created_at, expires_at),
	                      ',' ORDER BY scope, key)), count(*)
	  FROM steward.idempotency_keys};
my $on_primary = $primary->safe_psql('postgres', $rows_q);
is($standby->safe_psql('postgres', $rows_q),
	$on_primary, 'the standby holds exactly the primary\'s keys');
like($on_primary, qr/\|@{[$nbulk + 3]}$/, 'with the expected number of keys');

is( $standby->safe_psql(
		'postgres',
		q{SELECT status, response FROM steward.idempotency_keys WHERE scope = 'shop' AND key = 'K'}
	),
	'201|{"amount": 10, "charge": "ch_1"}',
	'completed key K has its status and response on the standby');
is( $standby->safe_psql(
		'postgres',
		q{SELECT status IS NULL, response IS NULL FROM steward.idempotency_keys WHERE scope = 'shop' AND key = 'P'}
	),
	't|t',
	'uncompleted key P has no result on the standby');
is( $standby->safe_psql(
		'postgres',
		q{SELECT status, response IS NULL FROM steward.idempotency_keys WHERE scope = 'shop' AND key = 'N'}
	),
	'204|t',
	'key N completed without a response on the standby');

# Lookups through the steward_hash index on the standby.
my $explain = $standby->safe_psql(
	'postgres', q{
	SET enable_seqscan = off;
	EXPLAIN (COSTS OFF)
	SELECT status, response FROM steward.idempotency_keys
	 WHERE scope = 'bulk' AND key = 'k1234'});
like($explain, qr/idempotency_keys_once/,
	'the standby plans the (scope, key) lookup on idempotency_keys_once');
unlike($explain, qr/Seq Scan/, 'the lookup plan has no sequential scan');
is( $standby->safe_psql(
		'postgres', q{
	SET enable_seqscan = off;
	SELECT status, response FROM steward.idempotency_keys
	 WHERE scope = 'bulk' AND key = 'k1234'}),
	'201|{"amount": 1234, "charge": "ch_1234"}',
	'the index lookup on the standby returns the stored result');
is( $standby->safe_psql(
		'postgres', qq{
	SET enable_seqscan = off;
	SET enable_bitmapscan = off;
	SELECT count(*) FROM generate_series(1, $nbulk) g
	  JOIN steward.idempotency_keys k ON k.scope = 'bulk' AND k.key = 'k' || g
	 WHERE k.status = 200 + g % 3 AND k.response = $bulk_response}),
	$nbulk,
	"index lookups on the standby find all $nbulk bulk keys with their results");
is( $standby->safe_psql(
		'postgres', q{
	SET enable_seqscan = off;
	SELECT count(*) FROM steward.idempotency_keys
	 WHERE scope = 'bulk' AND key = 'no-such-key'}),
	'0',
	'an index lookup of an absent key finds nothing on the standby');

# Writes through the API are refused with a read-only error.
my ($ret, $stdout, $stderr);
$ret = $standby->psql(
	'postgres',
	"\\set VERBOSITY verbose\nSELECT * FROM steward.idempotency_begin('shop', 'brand-new', 'fp');",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'idempotency_begin of a new key fails on the standby');
like($stderr, qr/ERROR:  25006: cannot execute steward\.idempotency_begin\(\) during recovery/,
	'... with pg_steward\'s recovery error, SQLSTATE 25006 (msg7 item 1)');
like($stderr, qr/HINT:  Connect to the primary \(libpq's target_session_attrs=read-write finds it\)\./,
	'... whose HINT says to connect to the primary');
unlike($stderr, qr/CONTEXT:/, '... and no internal statement as CONTEXT');
note "standby begin: $stderr";

# For a key that exists and needs no write (completed, or in progress and
# not stale), begin only reads; what it answers on a standby is recorded,
# not asserted.
$standby->psql(
	'postgres',
	"SELECT outcome, status FROM steward.idempotency_begin('shop', 'K', 'fp-K');",
	stdout => \$stdout,
	stderr => \$stderr);
note "standby begin on completed key K: stdout '$stdout', stderr '$stderr'";

$ret = $standby->psql(
	'postgres',
	"\\set VERBOSITY verbose\nSELECT steward.idempotency_complete('shop', 'P', 200, '{}');",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'idempotency_complete fails on the standby');
like($stderr, qr/ERROR:  25006: cannot execute steward\.idempotency_complete\(\) during recovery/,
	'... with pg_steward\'s recovery error, SQLSTATE 25006');

$ret = $standby->psql(
	'postgres',
	"\\set VERBOSITY verbose\nSELECT steward.idempotency_purge();",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'idempotency_purge fails on the standby');
like($stderr, qr/ERROR:  25006: cannot execute steward\.idempotency_purge\(\) during recovery/,
	'... with pg_steward\'s recovery error, SQLSTATE 25006');

# The standby is still up and serving reads, and did not restart.
is($standby->safe_psql('postgres', 'SELECT count(*) FROM steward.idempotency_keys'),
	$nbulk + 3, 'the standby still serves reads after the refused writes');
ok( !$standby->log_contains(
		qr/terminated by signal|server process .* was terminated|TRAP:/),
	'no backend of the standby crashed');

# The purge launcher starts only after recovery, i.e. on the primary.
is( $primary->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_steward purge launcher'}
	),
	'1',
	'the purge launcher runs on the primary');
is( $standby->safe_psql(
		'postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pg_steward purge%'}
	),
	'0',
	'no purge worker runs on the standby');

# Changes keep streaming: P completed on the primary shows on the standby.
$primary->safe_psql('postgres',
	q{SELECT steward.idempotency_complete('shop', 'P', 202, '{"charge": "ch_2"}')});
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is( $standby->safe_psql(
		'postgres', q{
	SET enable_seqscan = off;
	SELECT status, response FROM steward.idempotency_keys WHERE scope = 'shop' AND key = 'P'}),
	'202|{"charge": "ch_2"}',
	'a completion on the primary reaches the standby');

$standby->stop;
$primary->stop;
note sprintf('part (b) took %.1f s, total %.1f s', time - $t1, time - $t0);

done_testing();
