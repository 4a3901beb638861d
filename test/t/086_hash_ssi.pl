# steward_hash under SERIALIZABLE at volume (review11 R11-10; the locks are
# described in src/steward_hash/README.md, "Predicate locks"; the
# hash_ssi_* isolation specs show each case step by step).
#
# Part 1: R11-10's workload.  pgbench clients run the idempotency pattern
# (look up a random key, INSERT ... ON CONFLICT DO NOTHING, UPDATE it) at
# SERIALIZABLE on a table with EXCLUDE USING steward_hash and 20000 rows,
# with --max-tries=1: the share of transactions that fail with 40001 must
# stay under 20% (0.9% measured; 32% when scans locked the whole index).
#
# Part 2: no write skew through the index while it splits.  Pairs of keys
# 'p<m>-0', 'p<m>-1': a transaction inserts one key of a pair, chosen at
# random, only if neither key of the pair exists (two lookups through the
# index).  The pairs in use move every 50 ms, so that several clients race
# for each pair, while another client inserts unrelated keys in batches so
# that buckets split all the time.  At SERIALIZABLE no pair may end up
# with both keys; the same workload at REPEATABLE READ must produce such
# pairs (else the run did not race for pairs and proves nothing).  The
# index must have grown during the run, and verify_index be clean.  A
# split rarely falls between a race's lookups and its inserts here (a run
# without the split's lock copy still passed): that case is made
# deterministic by test/isolation/specs/hash_ssi_split.spec.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardTest qw(start_pgbench finish_pgbench);

my $node = PostgreSQL::Test::Cluster->new('hashssi');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->append_conf('postgresql.conf', "max_connections = 30");
$node->append_conf('postgresql.conf', "autovacuum = off");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE ik (scope text, key text, fp text, status int,
	    CONSTRAINT ik_once EXCLUDE USING steward_hash (scope WITH =, key WITH =));
	INSERT INTO ik SELECT 'pre', g::text, 'fp', 200 FROM generate_series(1, 20000) g;
	CREATE TABLE pairs_ser (m bigint, side int, k text NOT NULL);
	CREATE INDEX pairs_ser_k ON pairs_ser USING steward_hash (k);
	CREATE TABLE pairs_rr (m bigint, side int, k text NOT NULL);
	CREATE INDEX pairs_rr_k ON pairs_rr USING steward_hash (k);
	VACUUM ANALYZE ik;
});

my $dir = $node->basedir;

# pgbench with --max-tries=1: a serialization failure is counted as a
# failed transaction and the client goes on.
sub run_pgbench
{
	my ($name, $clients, $secs, @files) = @_;
	return start_pgbench($node, $name, clients => $clients, jobs => 2, secs => $secs,
		scripts => [@files], args => ['--max-tries=1']);
}

# Part 1: R11-10's script, distinct random keys.
my $idem = "$dir/idem.sql";
append_to_file(
	$idem, q{\set k random(1, 100000)
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT status FROM ik WHERE scope = 'x' AND key = :k::text;
INSERT INTO ik VALUES ('x', :k::text, 'fp') ON CONFLICT DO NOTHING;
UPDATE ik SET status = 200 WHERE scope = 'x' AND key = :k::text;
COMMIT;
});
like(
	$node->safe_psql('postgres', "EXPLAIN (COSTS OFF) SELECT status FROM ik WHERE scope = 'x' AND key = '5'"),
	qr/Index Scan using ik_once/, 'the lookup goes through the steward_hash index');
my ($ok, $failed) = finish_pgbench(run_pgbench('idem', 4, 8, $idem), failures_ok => 1);
cmp_ok($ok, '>=', 500, 'idem: at least 500 transactions committed');
my $rate = $failed / ($ok + $failed);
note sprintf('idem: %d committed, %d failed with 40001 (%.1f%%)', $ok, $failed, 100 * $rate);
cmp_ok($rate, '<', 0.20, 'idem: fewer than 20% of transactions with distinct keys fail with 40001');

# Part 2: pairs.  m: the current 50-ms tick times 8 plus 0..7, so each
# tick 8 pairs are raced for; side 0 or 1.
foreach my $iso ('ser', 'rr')
{
	my $level = $iso eq 'ser' ? 'SERIALIZABLE' : 'REPEATABLE READ';
	append_to_file(
		"$dir/pair_$iso.sql", qq{BEGIN ISOLATION LEVEL $level;
SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off;
WITH c AS (SELECT (extract(epoch FROM clock_timestamp()) * 20)::bigint * 8 + (random() * 7)::int AS m,
                  (random() < 0.5)::int AS side)
INSERT INTO pairs_$iso (m, side, k)
SELECT m, side, 'p' || m || '-' || side FROM c
 WHERE NOT EXISTS (SELECT 1 FROM pairs_$iso p WHERE p.k = 'p' || c.m || '-0')
   AND NOT EXISTS (SELECT 1 FROM pairs_$iso p WHERE p.k = 'p' || c.m || '-1');
COMMIT;
});
	append_to_file("$dir/grow_$iso.sql",
		"INSERT INTO pairs_$iso SELECT 0, 0, md5(random()::text) FROM generate_series(1, 200);\n");
}

like(
	$node->safe_psql(
		'postgres', q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	EXPLAIN (COSTS OFF)
	WITH c AS (SELECT 5::bigint AS m, 0 AS side)
	INSERT INTO pairs_ser (m, side, k)
	SELECT m, side, 'p' || m || '-' || side FROM c
	 WHERE NOT EXISTS (SELECT 1 FROM pairs_ser p WHERE p.k = 'p' || c.m || '-0')
	   AND NOT EXISTS (SELECT 1 FROM pairs_ser p WHERE p.k = 'p' || c.m || '-1')}),
	qr/Index Scan using pairs_ser_k.*Index Scan using pairs_ser_k/s,
	'both pair lookups go through the steward_hash index');

foreach my $iso ('ser', 'rr')
{
	my $buckets0 = $node->safe_psql('postgres',
		"SELECT buckets FROM steward.hash_index_stats('pairs_${iso}_k')");
	my $grow = run_pgbench("grow_$iso", 1, 8, "$dir/grow_$iso.sql");
	my ($pok, $pfailed) = finish_pgbench(run_pgbench("pair_$iso", 6, 8, "$dir/pair_$iso.sql"), failures_ok => 1);
	finish_pgbench($grow, failures_ok => 1);
	my ($buckets, $pairs, $both) = split /\|/, $node->safe_psql(
		'postgres', qq{
		SELECT (SELECT buckets FROM steward.hash_index_stats('pairs_${iso}_k')),
		       (SELECT count(DISTINCT m) FROM pairs_$iso WHERE m > 0),
		       (SELECT count(*) FROM (SELECT m FROM pairs_$iso WHERE m > 0
		                               GROUP BY m HAVING count(*) > 1) s)});
	note "pair_$iso: $pok committed, $pfailed failed, $pairs pairs taken, $both with both keys; "
	  . "buckets $buckets0 -> $buckets";
	cmp_ok($buckets, '>=', 4 * $buckets0 + 4, "pair_$iso: the index split during the run");
	cmp_ok($pairs, '>=', 100, "pair_$iso: at least 100 pairs were raced for");
	if ($iso eq 'ser')
	{
		is($both, 0, 'SERIALIZABLE: no pair got both keys (no write skew through the index)');
		cmp_ok($pfailed, '>', 0, 'SERIALIZABLE: racing for pairs made some transactions fail with 40001');
	}
	else
	{
		cmp_ok($both, '>', 0, 'REPEATABLE READ: some pairs got both keys (the workload does race)');
	}
	is($node->safe_psql('postgres', "SELECT count(*) FROM steward.verify_index('pairs_${iso}_k')"),
		'0', "pair_$iso: verify_index finds no problem");
}

$node->stop;
done_testing();
