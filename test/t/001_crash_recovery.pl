# Crash recovery of steward tables.
#
# pgbench runs versioned updates against a steward table while the server is
# stopped with "pg_ctl stop -m immediate" (no shutdown checkpoint, WAL replay
# on the next start).  After the restart every update that pgbench saw commit
# must be present, and every row must still satisfy the invariant the access
# method maintains (version = n + 1, since both start at 0/1 and every update
# bumps both).  Finally the rules must still be enforced after recovery.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardTest qw(start_pgbench finish_pgbench);

my $nrows    = 10;
my $nclients = 8;
my $nthreads = 2;

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
# Allow the pgbench clients plus our own monitoring connections.
$node->append_conf('postgresql.conf', "max_connections = 20");
$node->start;

$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION pg_steward;
	CREATE TABLE acct (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0,
	                   version bigint) USING steward;
	SELECT steward.track_versions('acct', 'version');
	INSERT INTO acct (id) SELECT g FROM generate_series(1, $nrows) g;
});

is( $node->safe_psql('postgres',
		'SELECT count(*), sum(n), min(version), max(version) FROM acct'),
	"$nrows|0|1|1",
	'inserts with NULL version store version 1');

# The UPDATE leaves the version column alone, so the access method must
# store stored+1 on every update, also when concurrent updates of the same
# row make the executor re-evaluate the row (EvalPlanQual).
my $script = $node->basedir . '/update_acct.sql';
append_to_file($script,
	"\\set id random(1, $nrows)\nUPDATE acct SET n = n + 1 WHERE id = :id;\n");

my $logdir = PostgreSQL::Test::Utils::tempdir;

# -T is only an upper bound: the server is stopped long before.  -l writes
# one line per finished transaction (after its result arrived, so after its
# commit) into one file per thread; pgbench closes the files when it exits,
# also when its clients were aborted because the server went away.
my $pgbench = start_pgbench(
	$node, 'updates',
	clients => $nclients,
	jobs    => $nthreads,
	secs    => 120,
	scripts => [$script],
	args    => [ '-l', "--log-prefix=$logdir/txn" ]);

# Let a good number of updates happen, with a checkpoint in the middle so
# that recovery replays from a checkpoint taken under load (full-page images
# of pages that keep changing).
ok( $node->poll_query_until(
		'postgres', 'SELECT sum(n) >= 5000 FROM acct'),
	'pgbench is committing updates');
$node->safe_psql('postgres', 'CHECKPOINT');
ok( $node->poll_query_until(
		'postgres', 'SELECT sum(n) >= 20000 FROM acct'),
	'pgbench keeps committing after the checkpoint');

# Cluster.pm runs with fsync = off.  That does not weaken the test: an
# immediate stop kills the server processes, not the machine, so WAL that was
# written before a commit was acknowledged is still in the OS page cache.
ok($pgbench->{h}->pumpable, 'pgbench is still running when the server stops');
$node->stop('immediate');

# Without a server every client aborts and pgbench exits (status 2, "Run was
# aborted"), which finish_pgbench asserts.  Waited for, so that its logs
# are complete.
my (undef, undef, $pgb_out) = finish_pgbench($pgbench, aborted => 1);

# Count the transactions pgbench saw finish.  Each log line is
# "client_id transaction_no time script_no time_epoch time_us": a committed
# transaction has its latency in microseconds as third field, a failed one
# (serialization or deadlock error) has "failed" there.
my @logs = glob("$logdir/txn.*");
is(scalar(@logs), $nthreads, 'pgbench wrote one transaction log per thread');
my ($committed, $failed, $other) = (0, 0, 0);
foreach my $log (@logs)
{
	foreach my $line (split /\n/, slurp_file($log))
	{
		my @f = split / /, $line;
		if (defined $f[2] && $f[2] =~ /^\d+$/)
		{
			$committed++;
		}
		elsif (defined $f[2] && $f[2] eq 'failed')
		{
			$failed++;
		}
		else
		{
			$other++;
		}
	}
}
note "logged: $committed committed, $failed failed, $other other";
# The server had seen 20000 commits before it stopped; all but the in-flight
# ones had been reported to pgbench.
cmp_ok($committed, '>=', 20000 - $nclients,
	'pgbench logged the committed updates');
# An untouched version is never stale: the access method derives it from the
# row it replaces, so no update may fail with a serialization error.
is($failed, 0, 'no update failed with a serialization error');
is($other,  0, 'every log line was understood');

# pgbench's own summary counts the same transactions as the logs.
if ($pgb_out =~ /number of transactions actually processed: (\d+)/)
{
	is($1, $committed, 'pgbench summary agrees with its logs');
}
else
{
	fail('pgbench printed its summary');
}

$node->start;
ok( $node->log_contains(
		qr/database system was interrupted|was not properly shut down/),
	'the restart ran crash recovery');

# Every update pgbench saw commit must have survived.  Each client can also
# have had one update in flight whose commit reached the WAL but whose result
# never reached pgbench; those may or may not be there.
my ($sum_n, $bad_rows, $count) = split /\|/,
  $node->safe_psql('postgres',
	'SELECT sum(n), count(*) FILTER (WHERE version IS DISTINCT FROM n + 1), count(*) FROM acct'
  );
cmp_ok($sum_n, '>=', $committed,
	"sum(n) = $sum_n covers all $committed committed updates");
cmp_ok($sum_n, '<=', $committed + $nclients,
	"sum(n) = $sum_n exceeds the committed updates by at most the in-flight ones"
);
is($count,    $nrows, 'no row was lost or duplicated');
is($bad_rows, 0,      'every row has version = n + 1 after recovery');

# The primary key index must agree with the table after WAL replay.
$node->safe_psql('postgres', 'CREATE EXTENSION amcheck');
is( $node->safe_psql(
		'postgres',
		q{SELECT bt_index_check('acct_pkey'::regclass, true)}),
	'',
	'primary key index is consistent with the recovered table');
is( $node->safe_psql(
		'postgres',
		'SET enable_seqscan = off; SELECT n + 1 = version FROM acct WHERE id = 3'),
	't',
	'index scan finds the recovered row');

# The rules still apply after recovery: an untouched version goes up by
# exactly one, a version read before that update is stale.
my $v3 = $node->safe_psql('postgres', 'SELECT version FROM acct WHERE id = 3');
$node->safe_psql('postgres', 'UPDATE acct SET n = n + 1 WHERE id = 3');
is($node->safe_psql('postgres', 'SELECT version FROM acct WHERE id = 3'),
	$v3 + 1, 'untouched version is incremented by exactly one after recovery');

my ($stdout, $stderr);
my $ret = $node->psql(
	'postgres',
	"\\set VERBOSITY verbose\nUPDATE acct SET n = n + 1, version = $v3 WHERE id = 3;",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'stale update is refused after recovery');
like(
	$stderr,
	qr/ERROR:  40001: stale version .*relation "acct"/,
	'stale update fails with SQLSTATE 40001');
like(
	$stderr,
	qr/expected version $v3 but the row is at version @{[$v3 + 1]}/,
	'error names the supplied and the current version');

my $v5 = $node->safe_psql('postgres', 'SELECT version FROM acct WHERE id = 5');
$node->safe_psql('postgres',
	"UPDATE acct SET n = n + 1, version = $v5 WHERE id = 5");
is( $node->safe_psql('postgres', 'SELECT version = n + 1 FROM acct WHERE id = 5'),
	't', 'update that supplies the version it read is accepted');

# Counters live in shared memory and start from zero with the new server:
# only the stale update above counts.
is( $node->safe_psql(
		'postgres',
		q{SELECT version_conflicts, invalid_versions, sequence_rejects
		    FROM steward.table_counters() WHERE relid = 'acct'::regclass}),
	'1|0|0',
	'counters after restart count the one refused update');

$node->stop;
done_testing();
