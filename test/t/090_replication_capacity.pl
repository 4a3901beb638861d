# steward.replication, health and capacity tell the truth: a standby that
# lost its primary is reported as such (not "streaming, lag 0"), a primary
# missing an expected standby warns, and capacity rates survive a counter
# reset by a crash restart and count TOAST bytes in the row width.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 'logical');
$primary->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
steward.expected_standbys = 1
wal_receiver_status_interval = 1s
});
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
$primary->backup('bkp');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bkp', has_streaming => 1);
$standby->append_conf('postgresql.conf', 'wal_retrieve_retry_interval = 500ms');
$standby->start;
$primary->wait_for_catchup($standby);

sub health
{
	my ($node, $check) = @_;
	return $node->safe_psql('postgres',
		"SELECT status FROM steward.health WHERE \"check\" = '$check'");
}

# Connected and idle: streaming, lag 0 on both sides.
$standby->poll_query_until('postgres',
	"SELECT state = 'streaming' AND replay_lag_seconds = 0 FROM steward.replication")
  or die 'standby never reported streaming';
pass('connected standby: streaming, lag 0');
is(health($standby, 'replication_lag_s'), 'ok', 'standby health ok while streaming');
is($primary->safe_psql('postgres',
	"SELECT count(*) FROM steward.replication WHERE state = 'streaming'"),
	'1', 'primary sees its standby');
is(health($primary, 'standbys_streaming'), 'ok', 'primary: the expected standby streams');
# An idle primary: its lag stays 0, not the time since the last commit.
sleep 2;
is($primary->safe_psql('postgres',
	'SELECT max(replay_lag_seconds) FROM steward.replication'),
	'0', 'idle primary reports lag 0');

# Point the standby at a port where nothing listens, then write.
my $dead_port = PostgreSQL::Test::Cluster::get_free_port();
$standby->safe_psql('postgres',
	"ALTER SYSTEM SET primary_conninfo = 'host=127.0.0.1 port=$dead_port connect_timeout=1'");
$standby->safe_psql('postgres', 'SELECT pg_reload_conf()');
$standby->poll_query_until('postgres',
	"SELECT state <> 'streaming' FROM steward.replication")
  or die 'standby still says streaming';
$primary->safe_psql('postgres', q{
	CREATE TABLE t (id int, pad text) USING steward;
	INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g;
});
is($standby->safe_psql('postgres',
	"SELECT state <> 'streaming' AND replay_lag_seconds IS NULL FROM steward.replication"),
	't', 'disconnected standby: not streaming, lag unknown');
is(health($standby, 'replication_lag_s'), 'critical',
	'disconnected standby: replication_lag_s critical');
$primary->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_stat_replication")
  or die 'primary still has a WAL sender';
is(health($primary, 'standbys_streaming'), 'critical',
	'primary: the expected standby is missing');
$primary->safe_psql('postgres', 'ALTER SYSTEM SET steward.expected_standbys = 2');
$primary->safe_psql('postgres', 'SELECT pg_reload_conf()');

# Reconnect: it catches up and both sides recover.
$standby->safe_psql('postgres', 'ALTER SYSTEM RESET primary_conninfo');
$standby->safe_psql('postgres', 'SELECT pg_reload_conf()');
$primary->wait_for_catchup($standby);
$standby->poll_query_until('postgres',
	"SELECT state = 'streaming' AND replay_lag_seconds = 0 FROM steward.replication")
  or die 'standby did not recover';
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'), '50000', 'standby caught up');
is(health($standby, 'replication_lag_s'), 'ok', 'standby health ok again');
is(health($primary, 'standbys_streaming'), 'warn', 'one of two expected standbys: warn');

# Copies: this server and its physical standbys; a logical subscriber is
# listed separately, not counted as a copy.
my $sub = PostgreSQL::Test::Cluster->new('subscriber');
$sub->init;
$sub->start;
$primary->safe_psql('postgres', 'CREATE PUBLICATION pub FOR TABLE t');
$sub->safe_psql('postgres', 'CREATE TABLE t (id int, pad text)');
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION sub CONNECTION 'port=" . $primary->port . ' host='
	  . $primary->host . " dbname=postgres' PUBLICATION pub");
$primary->wait_for_catchup('sub');
$sub->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate NOT IN ('r', 's')")
  or die 'table sync did not finish';
is($primary->safe_psql('postgres',
	"SELECT replication_factor || '/' || logical_subscribers FROM steward.capacity WHERE relid IS NULL"),
	'2/1', 'copies = 1 + physical standbys; the subscriber is listed separately');
$sub->safe_psql('postgres', 'DROP SUBSCRIPTION sub');
$sub->stop;

# On a standby, capacity answers from the replicated samples and a sample
# request says where samples are taken.
my ($rc, $out, $err) = $standby->psql('postgres', 'SELECT steward.capacity_sample()');
like($err, qr/capacity samples are taken on the primary/,
	'capacity_sample() on a standby: a clear error');
unlike($err, qr/read-only transaction/, 'not a raw read-only failure');
is($standby->safe_psql('postgres',
	'SELECT count(*) > 0 FROM steward.capacity WHERE relid IS NULL'),
	't', 'steward.capacity answers on a standby');
$standby->stop;

# Capacity across a crash restart (statistics reset): never a negative rate.
$primary->safe_psql('postgres', q{
	CREATE TABLE w (id int PRIMARY KEY, doc text) USING steward;
	INSERT INTO w SELECT g, 'old' FROM generate_series(-1999, 0) g;
});
$primary->poll_query_until('postgres',
	"SELECT n_tup_ins >= 2000 FROM pg_stat_user_tables WHERE relname = 'w'");
$primary->safe_psql('postgres', q{
	SELECT steward.capacity_sample();
	INSERT INTO w SELECT g, 'row' FROM generate_series(1, 3000) g;
});
# Statistics reach the shared counters at the end of the transaction;
# give the stats flush its moment, then sample.
$primary->poll_query_until('postgres',
	"SELECT n_tup_ins >= 3000 FROM pg_stat_user_tables WHERE relname = 'w'");
$primary->safe_psql('postgres', 'SELECT steward.capacity_sample()');
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres',
	"SELECT coalesce(n_tup_ins, 0) FROM pg_stat_user_tables WHERE relname = 'w'"),
	'0', 'the crash restart reset the write counters');
$primary->safe_psql('postgres',
	'INSERT INTO w SELECT g, 0 FROM generate_series(3001, 3010) g');
$primary->poll_query_until('postgres',
	"SELECT n_tup_ins >= 10 FROM pg_stat_user_tables WHERE relname = 'w'");
$primary->safe_psql('postgres', 'SELECT steward.capacity_sample()');
my ($rate, $window) = split /\|/, $primary->safe_psql('postgres', q{
	SELECT c.writes_per_sec,
	       extract(epoch FROM max(s.sampled_at) - min(s.sampled_at))
	  FROM steward.capacity c
	  JOIN steward.capacity_samples s ON s.relid = c.relid::oid
	 WHERE c.relid = 'w'::regclass GROUP BY c.writes_per_sec});
cmp_ok($rate, '>', 0, "write rate after the reset is positive ($rate/s)");
# 3000 writes in the window before the crash and 10 after (the 2000 before
# the first sample are not in the window).
cmp_ok(abs($rate - 3010 / $window), '<', 0.01 * 3010 / $window + 0.001,
	'the rate counts the writes on both sides of the reset');

# Row width counts TOAST: 50 rows of 100 kB incompressible text.
$primary->safe_psql('postgres', q{
	CREATE TABLE docs (id int PRIMARY KEY, body text) USING steward;
	INSERT INTO docs SELECT g, (SELECT string_agg(md5(g::text || i::text), '')
	                              FROM generate_series(1, 3200) i)
	  FROM generate_series(1, 50) g;
	ANALYZE docs;
});
my $width = $primary->safe_psql('postgres',
	"SELECT avg_row_bytes FROM steward.capacity WHERE relid = 'docs'::regclass");
cmp_ok($width, '>', 100000, "avg_row_bytes includes TOAST ($width bytes)");

$primary->stop;
done_testing();
