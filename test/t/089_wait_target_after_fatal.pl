# A backend that exits with FATAL while it writes a table leaves no wait
# target behind (codereview2 #5).  Each backend publishes, in the wait
# sampler's array indexed by its PGPROC slot, the one table its running
# statement writes: a transactionid wait without a tuple lock (a unique
# check finding the same key inserted by a transaction in progress) is
# attributed to it.  The statement's end puts the outer target back in a
# PG_FINALLY, which a FATAL (pg_terminate_backend) skips: the slot kept the
# dead backend's table, and the next backend of the slot, whose statements
# wrote no table (a SELECT, a utility statement) stored no change, so its
# waits were attributed to the dead backend's table (possibly of another
# database).  Now the slot is cleared when the backend exits, and a
# backend's first statement always publishes its target.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('waittarget');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
steward.sample_interval = '10ms'
# The purge worker's own lock waits are not part of this test.
steward.idempotency_purge_databases = 'none'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION pg_steward;
CREATE TABLE dead_t (x int);
CREATE TABLE u (id int PRIMARY KEY);
});

# The holder of key 1 of u, connected before the FATAL so that it does not
# take the slot the dead backend frees: free PGPROCs are reused last in,
# first out, so the next backend to connect gets the slot of the last one
# that exited.  The holder also terminates the writer (a backend that
# terminated it and then exited would be the last to exit).
my $holder = $node->background_psql('postgres');

# Start psql running $sql in a new backend, until it waits on $event;
# returns the run and a reference to its stderr.
sub start_waiting
{
	my ($sql, $event) = @_;
	my $err = '';
	(my $literal = $sql) =~ s/'/''/g;
	my $run = IPC::Run::start(
		[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', $sql ], '>', \my $out, '2>', \$err);
	$node->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM pg_stat_activity
		WHERE query = '$literal' AND wait_event = '$event'})
	  or die "$sql did not wait on $event";
	return ($run, \$err);
}

# A backend writing dead_t, in a statement that lasts, is terminated.
my ($writer, $werr) = start_waiting('INSERT INTO dead_t SELECT 1 FROM pg_sleep(300)', 'PgSleep');
is($holder->query_safe(q{
	SELECT pg_terminate_backend(pid, 60000) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO dead_t%'}),
	't', 'the backend writing dead_t is terminated (and has exited)');
$writer->finish;
like($$werr, qr/terminating connection due to administrator command/, 'it exited with FATAL');
$holder->query_safe('BEGIN');
$holder->query_safe('INSERT INTO u VALUES (1)');

# The next backend (on the dead backend's slot) runs only utility
# statements: a COPY into u that waits for the holder's transaction (the
# unique check, no tuple lock).  A utility statement names no table.
my ($copier, $cerr) = start_waiting("COPY u FROM PROGRAM 'echo 1'", 'transactionid');
# Until the sampler has seen the wait more than 10 times (asserted below;
# a fixed second gave a loaded machine's sampler too few).
$node->poll_query_until('postgres', q{
	SELECT coalesce(sum(samples), 0) > 10 FROM steward.lock_contention WHERE locktype = 'transactionid'})
  or die 'the wait was not sampled';
$holder->query_safe('ROLLBACK');
$holder->quit;
$copier->finish;
is($$cerr, '', 'the COPY succeeded once the holder rolled back');

my $waits = $node->safe_psql('postgres', q{
	SELECT string_agg(rel || ' ' || locktype || ' ' || (n > 10), ', ' ORDER BY rel, locktype)
	  FROM (SELECT coalesce(relation::text, '(none)') AS rel, locktype, sum(samples) AS n
	          FROM steward.lock_contention GROUP BY 1, 2) s});
is($waits, '(none) transactionid true',
	'the COPY\'s wait is sampled, and attributed to no table, not to the dead backend\'s dead_t');

$node->stop;
done_testing();
