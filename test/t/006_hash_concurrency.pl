# Concurrency of steward_hash: lookups, inserts that split buckets, deletes
# and VACUUM all at once, and exclusion-constraint races.
#
# Part 1: 2000 preloaded keys, then pgbench clients with weighted scripts:
#   - insert batches of new random keys (the indexes start nearly empty, so
#     buckets split all the time),
#   - look up a random preloaded key through an index scan or a bitmap scan
#     of the text index and of the two-column index, and fail (1/0, which
#     aborts the client) unless exactly one row is found,
#   - delete a random recently inserted (never a preloaded) row,
# while another pgbench client runs VACUUM on the table in a loop.  pgbench
# must finish without an aborted client or a failed transaction; afterwards
# every preloaded key is found exactly once, every row is found through each
# index, and verify_index is clean.
#
# Part 2: clients INSERT ... ON CONFLICT DO NOTHING the same small set of
# keys into a table with EXCLUDE USING steward_hash, while other clients
# insert unique keys that make the index split.  No key may end up twice.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardTest qw(start_pgbench finish_pgbench check_lookups verify_clean);
use Time::HiRes qw(time);

my $t0 = time;
my $npre = 2000;
my $duration = 12;

my $node = PostgreSQL::Test::Cluster->new('hashrace');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->append_conf('postgresql.conf', "max_connections = 40");
# Our own VACUUM loop; autovacuum would make the run less repeatable.
$node->append_conf('postgresql.conf', "autovacuum = off");
$node->start;

$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION pg_steward;
	CREATE EXTENSION pageinspect;
	CREATE TABLE race (id bigint NOT NULL, k text NOT NULL, a int NOT NULL, b bigint NOT NULL);
	CREATE INDEX race_k ON race USING steward_hash (k);
	CREATE INDEX race_ab ON race USING steward_hash (a, b);
	CREATE INDEX race_id ON race USING steward_hash (id);
	CREATE SEQUENCE race_seq START 100000;
	-- Preloaded keys: ids 1..$npre, k 'pre-<id>', (a, b) = (id % 50, id).
	-- Inserted rows have ids >= 100000 and b >= 1000000: no overlap.
	INSERT INTO race SELECT g, 'pre-' || g, g % 50, g FROM generate_series(1, $npre) g;
});
my @indexes = qw(race_k race_ab race_id);
my $buckets0 = $node->safe_psql('postgres', "SELECT buckets FROM steward.hash_index_stats('race_k')");

my $dir = $node->basedir;
my %script;
$script{insert} = "$dir/insert.sql";
append_to_file($script{insert},
	"INSERT INTO race SELECT nextval('race_seq'), md5(random()::text), (random() * 49)::int, "
	  . "1000000 + (random() * 1e12)::bigint FROM generate_series(1, 50);\n");

# Lookups: exactly one row for a preloaded key, by index scan or bitmap scan.
foreach my $mode ('index', 'bitmap')
{
	my $set = $mode eq 'index'
	  ? 'SET enable_indexscan = on; SET enable_bitmapscan = off;'
	  : 'SET enable_indexscan = off; SET enable_bitmapscan = on;';
	$script{"lookup_$mode"} = "$dir/lookup_$mode.sql";
	append_to_file(
		$script{"lookup_$mode"}, qq{SET enable_seqscan = off;
$set
\\set n random(1, $npre)
SELECT count(*) AS found_k FROM race WHERE k = 'pre-' || :n \\gset
\\if :found_k != 1
SELECT 1 / 0 AS preloaded_k_not_found_exactly_once;
\\endif
SELECT count(*) AS found_ab FROM race WHERE a = :n % 50 AND b = :n \\gset
\\if :found_ab != 1
SELECT 1 / 0 AS preloaded_ab_not_found_exactly_once;
\\endif
SELECT count(*) AS found_id FROM race WHERE id = :n AND k = 'pre-' || :n \\gset
\\if :found_id != 1
SELECT 1 / 0 AS preloaded_id_not_found_exactly_once;
\\endif
});
}

# Delete one of the last 20000 ids handed out (never a preloaded row; the id
# may already be deleted or not inserted yet).
$script{delete} = "$dir/delete.sql";
append_to_file(
	$script{delete}, q{SET enable_seqscan = off;
SELECT last_value AS lv FROM race_seq \gset
\set d :lv - random(0, 20000)
DELETE FROM race WHERE id = :d AND id >= 100000;
});

$script{vacuum} = "$dir/vacuum.sql";
append_to_file($script{vacuum}, "\\sleep 1500 ms\nVACUUM race;\n");

# The plans the scripts get.
sub plan_of
{
	my ($sets, $sql) = @_;
	return $node->safe_psql('postgres', "SET enable_seqscan = off; $sets EXPLAIN (COSTS OFF) $sql");
}
my $idxscan = 'SET enable_indexscan = on; SET enable_bitmapscan = off;';
my $bmpscan = 'SET enable_indexscan = off; SET enable_bitmapscan = on;';
like(plan_of($idxscan, "SELECT count(*) FROM race WHERE k = 'pre-' || 7"),
	qr/Index Scan using race_k on race/, 'lookups of k use an index scan of race_k');
like(plan_of($idxscan, 'SELECT count(*) FROM race WHERE a = 7 % 50 AND b = 7'),
	qr/Index Scan using race_ab on race/, 'lookups of (a, b) use an index scan of race_ab');
like(plan_of($idxscan, "SELECT count(*) FROM race WHERE id = 7 AND k = 'pre-' || 7"),
	qr/Index Scan using race_(id|k) on race/, 'lookups of (id, k) use an index scan');
like(plan_of($bmpscan, "SELECT count(*) FROM race WHERE k = 'pre-' || 7"),
	qr/Bitmap Index Scan on race_k/, 'bitmap lookups of k use race_k');
like(plan_of($bmpscan, 'SELECT count(*) FROM race WHERE a = 7 % 50 AND b = 7'),
	qr/Bitmap Index Scan on race_ab/, 'bitmap lookups of (a, b) use race_ab');
like(plan_of($bmpscan, "SELECT count(*) FROM race WHERE id = 7 AND k = 'pre-' || 7"),
	qr/Bitmap Index Scan on race_(id|k)/, 'bitmap lookups of (id, k) use an index');
like(plan_of('', 'DELETE FROM race WHERE id = 123456 AND id >= 100000'),
	qr/(Index Scan using|Bitmap Index Scan on) race_id/, 'deletes find the row through race_id');

my $logdir = PostgreSQL::Test::Utils::tempdir;

# verify_index in a loop during the run: it waits for the writers and
# VACUUM (ShareRowExclusiveLock) but not for the readers, which keep
# pruning heap pages meanwhile; it must report nothing.
my $conn = $node->connstr('postgres');
my $verifier = IPC::Run::start(
	[
		'bash', '-c',
		qq{end=\$((SECONDS + $duration)); n=0
		   while [ \$SECONDS -lt \$end ]; do
		     sleep 1
		     psql -X -At -d "$conn" -c "SELECT 'race_k', * FROM steward.verify_index('race_k')" \\
		       -c "SELECT 'race_ab', * FROM steward.verify_index('race_ab')" \\
		       -c "SELECT 'race_id', * FROM steward.verify_index('race_id')" || echo "psql failed"
		     n=\$((n + 1))
		   done
		   echo "runs: \$n"}
	],
	'>', "$logdir/verifier.out",
	'2>', "$logdir/verifier.err");
my $vac = start_pgbench($node, 'vacuum', secs => $duration, scripts => [ $script{vacuum} ]);
my $main = start_pgbench(
	$node, 'main',
	clients => 6,
	jobs    => 2,
	secs    => $duration,
	scripts => [
		"$script{insert}\@4",        "$script{lookup_index}\@3",
		"$script{lookup_bitmap}\@3", "$script{delete}\@2"
	]);
my (undef, undef, $main_out) = finish_pgbench($main, min => 1000);
# (8 runs on a quiet machine; a loaded one runs fewer, slower VACUUMs)
finish_pgbench($vac, min => 2);
$verifier->finish;
my $vout = slurp_file("$logdir/verifier.out");
my $verr = slurp_file("$logdir/verifier.err");
my ($vruns) = $vout =~ /^runs: (\d+)$/m;
$vout =~ s/^runs: \d+\n//m;
note "verify_index loop ran " . ($vruns // 0) . " times during the run";
cmp_ok($vruns // 0, '>=', 2, 'verify_index ran during the run');
is($vout, '', 'verify_index reported no problem during the run');
is($verr, '', 'verify_index raised no error or warning during the run');
# Per-script counts: every kind of transaction ran.
my %ran;
foreach my $s (qw(insert lookup_index lookup_bitmap delete))
{
	my ($n) = $main_out =~ /SQL script \d+: \Q$script{$s}\E\n - weight: \d+ .*\n - (\d+) transactions/;
	$ran{$s} = $n // 0;
	cmp_ok($ran{$s}, '>', 0, "main: the $s script ran ($ran{$s} transactions)");
}

my ($rows, $deleted_guess) = split /\|/, $node->safe_psql('postgres',
	'SELECT count(*), (SELECT last_value FROM race_seq) - 100000 + 1 + 2000 - count(*) FROM race');
note "race: $rows rows, about $deleted_guess ids deleted or never inserted";
# How many rows a loaded machine inserts in the time varies; that every
# insert transaction inserted its 50 rows does not, and the rows must be
# many times the preloaded ones for the indexes to split (checked below).
# A statement in flight when -T ends still runs (and may commit) though
# pgbench no longer counts it: up to one per client beyond the count.
my $drawn = $node->safe_psql('postgres', 'SELECT last_value - 100000 + 1 FROM race_seq');
ok($drawn % 50 == 0 && $drawn >= 50 * $ran{insert} && $drawn <= 50 * ($ran{insert} + 6),
	"every insert transaction inserted its 50 keys ($ran{insert} counted, $drawn keys drawn)");
cmp_ok($rows, '>', 5 * $npre, 'the run inserted many rows (over five times the preloaded keys)');
cmp_ok($deleted_guess, '>', 0, 'the run deleted rows');
my $buckets = $node->safe_psql('postgres', "SELECT buckets FROM steward.hash_index_stats('race_k')");
note "race_k: $buckets0 -> $buckets buckets";
cmp_ok($buckets, '>', 64, 'race_k split buckets during the run (more than 64 buckets)');
cmp_ok($buckets, '>', $buckets0, 'race_k grew during the run');

# Every preloaded key exactly once, through each index, both scan kinds.
foreach my $mode ('index', 'bitmap')
{
	my $force = 'SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off; '
	  . ($mode eq 'index' ? 'SET enable_bitmapscan = off;' : 'SET enable_indexscan = off;');
	foreach my $q (
		[ 'race_k', "r.k = 'pre-' || g" ],
		[ 'race_ab', 'r.a = g % 50 AND r.b = g' ],
		[ 'race_id', 'r.id = g' ])
	{
		my ($idx, $cond) = @$q;
		my $sql = "SELECT g, count(r.id) FROM generate_series(1, $npre) g "
		  . "LEFT JOIN race r ON $cond GROUP BY g HAVING count(r.id) <> 1 ORDER BY g";
		like($node->safe_psql('postgres', "$force EXPLAIN (COSTS OFF) $sql"),
			$mode eq 'index' ? qr/Index Scan using $idx/ : qr/Bitmap Index Scan on $idx/,
			"after the run: preloaded keys are looked up with a $mode scan of $idx");
		is($node->safe_psql('postgres', "$force $sql"), '',
			"after the run: every preloaded key is found exactly once by a $mode scan of $idx");
	}
}

# Every row is found through each index by a lookup of its own key, once:
# the $rows counted above.
my %after_run = (rows => $rows, label => 'after the run');
check_lookups($node, 'race', 'race_k', ['k'], %after_run);
check_lookups($node, 'race', 'race_ab', [ 'a', 'b' ], %after_run);
check_lookups($node, 'race', 'race_id', ['id'], %after_run);
verify_clean($node, 'after the run', @indexes);

# Deleted rows that pruning turned into LP_DEAD line pointers keep their
# (legitimate) index entries until VACUUM: verify_index must accept them.
# Delete some rows and scan the table (pruning), as any workload does.
$node->safe_psql('postgres', q{
	DELETE FROM race WHERE id >= 100000 AND id % 97 = 0;
	SELECT count(*) FROM race;});
cmp_ok(
	$node->safe_psql(
		'postgres', q{
		SELECT count(*) FROM generate_series(0, pg_relation_size('race') / 8192 - 1) blk,
		       LATERAL heap_page_items(get_raw_page('race', blk::int)) h
		 WHERE h.lp_flags = 3}),
	'>', 0, 'race has LP_DEAD line pointers after the DELETE');
verify_clean($node, 'after a DELETE, before VACUUM', @indexes);

# After a VACUUM that cleans the indexes (INDEX_CLEANUP ON: a plain VACUUM
# may bypass index cleanup when few pages have dead items) nothing may be
# left to report either.
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) race');
foreach my $idx (@indexes)
{
	is($node->safe_psql('postgres', "SELECT * FROM steward.verify_index('$idx')"),
		'', "after VACUUM (INDEX_CLEANUP ON): verify_index('$idx') returns zero rows");
}
note sprintf('part 1 took %.1f s', time - $t0);

#
# Part 2: exclusion constraint races.
#
$node->safe_psql(
	'postgres', q{
	CREATE TABLE ex (scope int NOT NULL, key text NOT NULL, who int,
	                 CONSTRAINT ex_once EXCLUDE USING steward_hash (scope WITH =, key WITH =));
});
# 5 scopes x 300 keys, one row per transaction (several rows per statement
# could deadlock on each other's speculative insertions, as with btree).
$script{ex} = "$dir/ex.sql";
append_to_file($script{ex}, q{\set s random(1, 5)
\set kk random(1, 300)
INSERT INTO ex VALUES (:s, 'k' || :kk, :client_id) ON CONFLICT DO NOTHING;
});
# Unique keys in scope 0 make the index grow (split) during the race.
$script{ex_fill} = "$dir/ex_fill.sql";
append_to_file($script{ex_fill},
	"INSERT INTO ex SELECT 0, md5(random()::text), -1 FROM generate_series(1, 50) ON CONFLICT DO NOTHING;\n");
# Plain inserts of a taken key must fail with 23P01; run from a background
# psql loop would be racy to assert, so check it after the run.
my $ex_buckets0 = $node->safe_psql('postgres', "SELECT buckets FROM steward.hash_index_stats('ex_once')");
my $ex = start_pgbench($node, 'ex', clients => 8, jobs => 2, secs => 8,
	scripts => [ "$script{ex}\@4", "$script{ex_fill}\@1" ]);
my (undef, undef, $ex_out) = finish_pgbench($ex, min => 1000);
my ($fills) = $ex_out =~ /SQL script \d+: \Q$script{ex_fill}\E\n - weight: \d+ .*\n - (\d+) transactions/;
cmp_ok($fills // 0, '>', 0, 'ex: the fill script ran (' . ($fills // 0) . ' transactions)');

my $ex_buckets = $node->safe_psql('postgres', "SELECT buckets FROM steward.hash_index_stats('ex_once')");
note "ex_once: $ex_buckets0 -> $ex_buckets buckets";
cmp_ok($ex_buckets, '>', $ex_buckets0, 'ex_once split buckets during the race');
is( $node->safe_psql(
		'postgres', 'SELECT count(*) - count(DISTINCT (scope, key)) FROM ex'),
	'0', 'no (scope, key) was inserted twice');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ex WHERE scope > 0'),
	'1500', 'every contended key was inserted exactly once');
is( $node->safe_psql(
		'postgres', q{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SET enable_hashjoin = off; SET enable_mergejoin = off;
		SELECT count(*) FROM generate_series(1, 5) s CROSS JOIN generate_series(1, 300) k
		  JOIN ex ON ex.scope = s AND ex.key = 'k' || k}),
	'1500', 'every contended key is found once through ex_once');
my ($ret, $stdout, $stderr);
$ret = $node->psql(
	'postgres', "\\set VERBOSITY verbose\nINSERT INTO ex VALUES (3, 'k77', 0);",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'a plain insert of a taken key is refused');
like($stderr, qr/ERROR:  23P01: conflicting key value violates exclusion constraint "ex_once"/,
	'with SQLSTATE 23P01');
# ex holds the 1500 contended keys and the 50 random keys of each fill
# (a fill in flight when -T ended may have committed uncounted: up to one
# per client).
my $filled = $node->safe_psql('postgres', 'SELECT count(*) FROM ex WHERE scope = 0');
ok($filled % 50 == 0 && $filled >= 50 * $fills && $filled <= 50 * ($fills + 8),
	"every fill inserted its 50 keys ($fills counted, $filled keys)");
check_lookups($node, 'ex', 'ex_once', [ 'scope', 'key' ],
	rows => 1500 + $filled, label => 'after the exclusion race');
verify_clean($node, 'after the exclusion race', 'ex_once');
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) ex');
is($node->safe_psql('postgres', "SELECT * FROM steward.verify_index('ex_once')"),
	'', 'after VACUUM (INDEX_CLEANUP ON): verify_index(ex_once) returns zero rows');

$node->stop;
note sprintf('total %.1f s', time - $t0);
done_testing();
