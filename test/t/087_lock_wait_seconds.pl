# Lock waits in seconds (review11 R11-2): each sample of a waiting backend
# counts the steward.sample_interval in effect when it was taken, so the
# exporter's steward_lock_wait_seconds_total (the query of
# examples/monitoring/postgres_exporter.yml, run as the exporter runs it)
# is a counter: a reload of the interval changes what later samples add,
# never the total so far.  It used to be sum(samples) times the interval
# of now: a reload from 10 ms to 100 ms multiplied the whole history by 10
# (and lowering it looked like a counter reset).  And the row-lock waits
# are attributed to the row's table (R11-12).  Dropping a table ends its
# series, without adding its seconds to another one (review13 R13-3).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardMonitoring;

my $query = exporter_query(monitoring_file('postgres_exporter.yml'), 'steward_lock_wait');

my $node = PostgreSQL::Test::Cluster->new('lockwait');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
steward.sample_interval = '10ms'
# The purge worker's own lock waits (on steward.idempotency_keys) would be
# rows of their own, which the exact lists below do not expect.
steward.idempotency_purge_databases = 'none'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_steward;
CREATE TABLE hot (id int PRIMARY KEY, n int);
INSERT INTO hot VALUES (500, 0);
});

# The exported total of this database (all relations and lock types).
sub exported
{
	my $out = $node->safe_psql('postgres', "SELECT coalesce(sum(seconds_total), 0) FROM ($query) q");
	return $out + 0;
}

sub samples
{
	return $node->safe_psql('postgres', 'SELECT coalesce(sum(samples), 0) FROM steward.lock_contention') + 0;
}

# One row-lock wait of about $secs seconds (on row 500 of $table, hot by
# default).
sub row_lock_wait
{
	my ($secs, $table) = @_;
	$table //= 'hot';
	my $holder = $node->background_psql('postgres');
	$holder->query_safe('BEGIN');
	$holder->query_safe("UPDATE $table SET n = n + 1 WHERE id = 500");
	my $waiter = IPC::Run::start(
		[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', "UPDATE $table SET n = n + 1 WHERE id = 500" ],
		'>', \my $out, '2>', \my $err);
	$node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'})
	  or die 'the waiter did not wait';
	sleep($secs);
	$holder->query_safe('COMMIT');
	$holder->quit;
	$waiter->finish;
}

sub interval_is
{
	my ($ms) = @_;
	$node->safe_psql('postgres', "ALTER SYSTEM SET steward.sample_interval = '${ms}ms'");
	$node->reload;
	$node->poll_query_until('postgres', "SELECT steward.setting_value('steward.sample_interval') = $ms")
	  or die "the reload to $ms ms was not seen";
	# The sampler has slept its old interval out: wait a few rounds.
	sleep(1);
}

row_lock_wait(1);
my $s1 = samples();
my $e1 = exported();
cmp_ok($s1, '>', 20, "the wait was sampled ($s1 samples)");
cmp_ok(abs($e1 - $s1 * 0.01), '<', 1e-6, "exported: the samples times 10 ms ($e1 s)");

interval_is(100);
my $e2 = exported();
cmp_ok(abs($e2 - $e1), '<', 1e-6, "a reload to 100 ms leaves the total as it was ($e2 s)");

row_lock_wait(2);
my $s3 = samples();
my $e3 = exported();
cmp_ok(abs(($e3 - $e2) - ($s3 - $s1) * 0.1), '<', 1e-6,
	"the next wait adds its samples times 100 ms (" . ($s3 - $s1) . " samples, " . ($e3 - $e2) . " s)");
cmp_ok($e3 - $e2, '>', 0.5, 'and that is about the two seconds waited (a loaded machine samples late)');

interval_is(10);
my $e4 = exported();
cmp_ok(abs($e4 - $e3), '<', 1e-6, "a reload back to 10 ms never lowers it ($e4 s)");

# The view says the same per row: wait_seconds is the exported quantity.
is($node->safe_psql('postgres', q{
	SELECT abs(sum(wait_seconds) - } . $e4 . q{) < 1e-6 FROM steward.lock_contention}),
	't', 'steward.lock_contention.wait_seconds sums to the exported total');

# Row-lock contention is attributed to the row's table (review11 R11-12):
# the first waiter for a row waits on the holder's transactionid, which
# names no relation, while holding the row's tuple lock, which does.  It
# used to read relation NULL (the exporter's relation="").
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT coalesce(relation::text, '(none)') || ' ' || locktype, ', ')
	  FROM steward.lock_contention}),
	'hot transactionid', 'the row-lock waits are on table hot, lock type transactionid');
is($node->safe_psql('postgres', "SELECT string_agg(DISTINCT relation || ' ' || locktype, ', ') FROM ($query) q"),
	'public.hot transactionid', 'the exporter labels them relation="public.hot"');

# Dropping a table ends its series (review13 R13-3): its rows stay in
# steward.lock_contention under its OID, which the exporter used to label
# relation="" -- at DROP TABLE its whole history jumped into that series
# (or started it), which rate() reads as waiting in the last scrape
# interval: a false StewardLockContentionCritical.  The other series are
# unchanged.
$node->safe_psql('postgres', 'CREATE TABLE hot2 (id int PRIMARY KEY, n int); INSERT INTO hot2 VALUES (500, 0)');
row_lock_wait(1, 'hot2');
my $others = "SELECT string_agg(relation || ' ' || locktype || ' ' || seconds_total, ', ' ORDER BY relation, locktype)
	FROM ($query) q WHERE relation IN ('', 'public.hot')";
my $before = $node->safe_psql('postgres', $others);
cmp_ok($node->safe_psql('postgres', "SELECT sum(seconds_total) FROM ($query) q WHERE relation = 'public.hot2'"),
	'>', 0.2, 'the waits on hot2 are exported as relation="public.hot2"');
$node->safe_psql('postgres', 'DROP TABLE hot2');
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM steward.lock_contention WHERE relation IS NOT NULL
	AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = relation)"),
	'>', 0, 'the dropped table\'s rows are still in steward.lock_contention');
is($node->safe_psql('postgres', "SELECT count(*) FROM ($query) q WHERE relation IN ('', 'public.hot2')"), '0',
	'after DROP TABLE hot2 the exporter has no series of hot2 and none with relation=""');
is($node->safe_psql('postgres', $others), $before, '... and the series of hot is unchanged');

$node->stop;
done_testing();
