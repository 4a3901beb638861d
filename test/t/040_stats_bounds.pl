# Fixed-size statistics (issue 11 item 8, issue 14 "Counters never
# decrease", issue 11 item 9 under eviction).
#
# Part 1: a 64-state machine with every edge (4032) attached to 20 steward
#   tables whose 4032 rows each take a different edge: 80,640 distinct
#   (table, edge) pairs against a transition table of max_tables * 16.
#   Before the fix dynahash took the extra entries from the shared memory
#   the lock table needs, and afterwards pg_advisory_xact_lock over 5,000
#   keys failed with 53200.  Now the transition table stays at its size,
#   evicts (counted), keeps every transition in the totals ("(other)"
#   edges), and 5,000 advisory locks are granted.  With steward.max_tables
#   = 16, hot_rows takes over the entries of the coldest tables.
# Part 2: with steward.max_statements = 100, 400 distinct statements evict
#   entries; steward_statement_duration_seconds_count and _errors_total
#   sampled after every batch never decrease, and the evictions are
#   counted.
# Part 3: a multi-statement string with literals runs while other sessions
#   fill the statements table, so its entry is evicted while it runs: no
#   stored text contains a literal, and the texts are the statements' own
#   parts.
# Part 4: the counts survive a clean restart (evicted totals included).
# Part 5: the extended protocol (unnamed and named prepared statements)
#   counts every execution once and every failed execution as one error.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardTest qw(start_pgbench finish_pgbench);

my $node = PostgreSQL::Test::Cluster->new('stats_bounds');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
steward.max_tables = 16
steward.max_statements = 100
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');

# ---------------------------------------------------------------- part 1
$node->safe_psql('postgres', q{
	SELECT steward.create_state_machine('m64',
	    (SELECT array_agg('s' || i ORDER BY i) FROM generate_series(0, 63) i),
	    (SELECT array_agg('s' || i ORDER BY i) FROM generate_series(0, 63) i),
	    (SELECT array_agg('s' || i || '->s' || j ORDER BY i, j)
	       FROM generate_series(0, 63) i, generate_series(0, 63) j WHERE i <> j));
	CREATE TABLE edges AS
	    SELECT row_number() OVER (ORDER BY i, j) AS id, 's' || i AS from_state, 's' || j AS to_state
	      FROM generate_series(0, 63) i, generate_series(0, 63) j WHERE i <> j;
});
is($node->safe_psql('postgres', 'SELECT count(*) FROM edges'), '4032', '4032 edges');

for my $t (1 .. 20)
{
	$node->safe_psql('postgres', qq{
		CREATE TABLE t$t (id bigint PRIMARY KEY, st text NOT NULL) USING steward;
		SELECT steward.attach_state_machine('t$t', 'st', 'm64');
		INSERT INTO t$t SELECT id, from_state FROM edges;
		UPDATE t$t SET st = e.to_state FROM edges e WHERE e.id = t$t.id;
	});
}

my $collector = $node->safe_psql('postgres', q{
	SELECT entries <= max_entries, evictions > 0, max_entries
	  FROM steward.collector WHERE structure = 'transitions'});
is($collector, 't|t|256', 'transition counters stay at their size and evict');
is($node->safe_psql('postgres', q{
	SELECT sum(value) FROM steward.metrics WHERE metric = 'steward_state_transitions_total'}),
	'80640', 'every transition is still in the totals (evicted edges under "(other)")');
is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT labels->>'table') FROM steward.metrics
	 WHERE metric = 'steward_state_transitions_total' AND labels->>'from' = '(other)'}),
	'20', 'each table keeps an "(other)" edge');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM steward.metrics
	 WHERE metric = 'steward_state_transitions_total' AND labels->>'table' = 'public.t1'}),
	'4033', 't1 has a series per declared edge (zeros included) plus "(other)"');
my ($rc, $out, $err) = $node->psql('postgres', q{
	BEGIN;
	SELECT count(*) FROM (SELECT pg_advisory_xact_lock(g) FROM generate_series(1, 5000) g) s;
	COMMIT;});
is($rc, 0, 'pg_advisory_xact_lock over 5000 keys still works');
is($out, '5000', '5000 advisory locks granted');
unlike($err, qr/out of shared memory/, 'no 53200');

is($node->safe_psql('postgres', q{
	SELECT entries <= max_entries AND evictions > 0 FROM steward.collector WHERE structure = 'hot_rows'}),
	't', 'hot rows: 20 tables in 16 entries, the coldest taken over');
is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT relid) <= 16 FROM steward.hot_rows}),
	't', 'hot_rows lists at most 16 tables');

# ---------------------------------------------------------------- part 2
sub scrape
{
	return $node->safe_psql('postgres', q{
		SELECT string_agg(value::bigint::text, '|' ORDER BY metric)
		  FROM steward.metrics
		 WHERE metric IN ('steward_statement_duration_seconds_count', 'steward_statement_errors_total')});
}

$node->safe_psql('postgres', 'SELECT steward.reset()');
my @prev = (0, 0);
my $monotonic = 1;
my $calls_made = 0;
for my $batch (1 .. 8)
{
	my $sql = '';
	for my $i (1 .. 50)
	{
		# Distinct statements: the number of columns differs.
		my $n = ($batch - 1) * 50 + $i;
		$sql .= 'SELECT ' . join(', ', (1) x $n) . ";\n";
	}
	$sql .= "SELECT 1 / 0;\n";
	$node->psql('postgres', $sql);
	$calls_made += 50;
	my @now = split /\|/, scrape();
	for my $k (0, 1)
	{
		if ($now[$k] < $prev[$k])
		{
			$monotonic = 0;
			diag("batch $batch: counter $k went from $prev[$k] to $now[$k]");
		}
	}
	@prev = @now;
}
ok($monotonic, 'duration_seconds_count and errors_total never decrease across evictions');
cmp_ok($prev[0], '>=', $calls_made, "count covers the $calls_made calls made");
is($prev[1], '8', 'errors_total counts the 8 failed statements');
is($node->safe_psql('postgres', q{
	SELECT evictions > 0 AND entries <= 100 FROM steward.collector WHERE structure = 'statements'}),
	't', 'statements evicted, table at its size');
is($node->safe_psql('postgres', q{
	SELECT sum(evicted_statements) > 0 FROM steward._statement_totals()}),
	't', 'evicted statements are kept in the totals');

# ---------------------------------------------------------------- part 3
# The statements come from a file, each sent as one multi-statement string.
my $dir = PostgreSQL::Test::Utils::tempdir;
# The first statement waits for an advisory lock the test holds until the
# table is full (a fixed sleep ended first on a loaded machine, and the
# finished statements were evicted by the filling).
my $gate = $node->background_psql('postgres');
$gate->query_safe('SELECT pg_advisory_lock(4242)');
append_to_file("$dir/secret.sql",
	"SELECT pg_advisory_lock(4242), 'SSN 123-45-6789' AS secret \\; SELECT 'card 4111111111111111' AS c2;\n");
my $secret = IPC::Run::start(
	[ 'psql', '-X', '-At', '-d', $node->connstr('postgres'), '-f', "$dir/secret.sql" ],
	'<', \undef, '>', "$dir/secret.out", '2>', "$dir/secret.err",
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
# Fill the table with other statements while it waits.
$node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_advisory_lock(4242)%' AND wait_event_type = 'Lock'")
  or die 'the multi-statement string does not wait';
for my $round (1 .. 3)
{
	my $sql = '';
	$sql .= 'SELECT ' . join(', ', (2) x $_) . " AS round$round;\n" for 1 .. 60;
	$node->psql('postgres', $sql);
}
$gate->query_safe('SELECT pg_advisory_unlock(4242)');
$gate->quit;
$secret->finish;
is(slurp_file("$dir/secret.out"), "|SSN 123-45-6789\ncard 4111111111111111\n",
	'the statements themselves returned their rows');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM steward.statements
	 WHERE query LIKE '%123-45%' OR query LIKE '%4111%'}),
	'0', 'no literal of the multi-statement string is stored, even after eviction');
is($node->safe_psql('postgres', q{
	SELECT string_agg(query, ' | ' ORDER BY query) FROM steward.statements
	 WHERE query LIKE '%secret%' OR query LIKE '%AS c2%'}),
	'SELECT $1 AS c2 | SELECT pg_advisory_lock($1), $2 AS secret',
	'each statement stored as its own part, constants replaced');

# ---------------------------------------------------------------- part 4
my @before = split /\|/, scrape();
$node->restart;
my @after = split /\|/, scrape();
is($after[0], $before[0] + 1, 'calls kept across a clean restart (plus the scrape before it)');
is($after[1], $before[1], 'errors kept across a clean restart');

# ---------------------------------------------------------------- part 5
# The extended protocol, unnamed (-M extended) and named prepared
# statements (-M prepared), counts every execution once, and a failing
# execution once as an error.
$node->safe_psql('postgres', q{
	CREATE TABLE kv (k int PRIMARY KEY, v int);
	INSERT INTO kv SELECT g, g FROM generate_series(1, 100) g;
	SELECT steward.reset();
});
append_to_file("$dir/kv.sql", "\\set k random(1, 100)\nSELECT v FROM kv WHERE k = :k;\n");
append_to_file("$dir/div.sql", "SELECT 1 / (v - v) FROM kv WHERE k = 1;\n");
for my $mode (qw(extended prepared))
{
	my ($done) = finish_pgbench(
		start_pgbench($node, "-M $mode", clients => 2, txns => 60,
			scripts => ["$dir/kv.sql"], args => [ '-M', $mode ]),
		min => 120);
	is($done, 120, "pgbench -M $mode: 2 clients ran their 60 transactions each");
	# The failing statement fails: its client is aborted (exit 2).
	finish_pgbench(
		start_pgbench($node, "-M $mode, failing", txns => 1,
			scripts => ["$dir/div.sql"], args => [ '-M', $mode ]),
		aborted => 1);
}
is($node->safe_psql('postgres', q{
	SELECT sum(calls), sum(rows), sum(errors) FROM steward.statements
	 WHERE query = 'SELECT v FROM kv WHERE k = $1'}),
	'240|240|0', 'extended protocol: 240 executions counted once each');
is($node->safe_psql('postgres', q{
	SELECT sum(calls), sum(errors) FROM steward.statements
	 WHERE query = 'SELECT $1 / (v - v) FROM kv WHERE k = $2'
	    OR query = 'SELECT 1 / (v - v) FROM kv WHERE k = 1'}),
	'0|2', 'extended protocol: each failed execution is one error');

done_testing();
