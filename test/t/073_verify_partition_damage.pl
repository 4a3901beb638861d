# steward.verify() of a partitioned table one of whose partitions has a
# damaged page: the partition's heap check fails, its rows are not read
# (the other checks would read the damaged tuples), the other partitions
# are still checked, and the table's row count and checksum say they
# could not be computed - whether the partitions have one owner (the
# table is otherwise read whole) or several (each partition read as its
# owner, regress 52).  verify() returns its rows; it does not fail.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;

my $node = PostgreSQL::Test::Cluster->new('verify_partition_damage');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->append_conf('postgresql.conf', "autovacuum = off");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE EXTENSION amcheck;
	CREATE ROLE vd_bob;
	CREATE TABLE t (id int, k int, note text, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
	CREATE TABLE t1 PARTITION OF t FOR VALUES IN (1) USING steward;
	CREATE TABLE t2 PARTITION OF t FOR VALUES IN (2) USING steward;
	CREATE TABLE t3 PARTITION OF t FOR VALUES IN (3) USING steward;
	INSERT INTO t SELECT g, 1 + g % 3, 'row ' || g FROM generate_series(1, 600) g;
});

my $before = $node->safe_psql('postgres',
	q{SELECT string_agg("check" || ':' || passed, ',' ORDER BY "check") FROM steward.verify('t')});
unlike($before, qr/:false/, 'verify() passes before the damage');

# The first tuple of t2's first page gets an xmin far in the future.
damage_first_page($node, 't2', sub { my ($page, $off1) = @_; substr($$page, $off1, 4) = pack('V', 0xfffffff0); });

foreach my $owners ('one owner', 'two owners')
{
	$node->safe_psql('postgres', 'ALTER TABLE t3 OWNER TO vd_bob') if $owners eq 'two owners';
	my ($rc, $out, $err) = $node->psql('postgres',
		q{SELECT "check" || '|' || coalesce(passed::text, 'null') || '|' || detail
		    FROM steward.verify('t') ORDER BY "check"});
	is($rc, 0, "$owners: verify() returns its rows") or diag($err);
	like($out, qr/^partition public\.t2: heap\|false\|1 problem /m,
		"$owners: the damaged partition's heap check fails");
	like($out, qr/^row_count\|null\|not checked: the pages of partition public\.t2 are damaged/m,
		"$owners: the row count says why it is missing");
	like($out, qr/^checksum\|null\|not checked/m, "$owners: so does the checksum");
	unlike($out, qr/^partition public\.t2: (?!heap)/m, "$owners: nothing else reads the damaged partition");
	like($out, qr/^partition public\.t3: heap\|true/m, "$owners: the other partitions' pages are checked");
	like($out, qr/^partition public\.t1: unique public\.t1_pkey\|true\|no duplicates/m,
		"$owners: and their keys, each partition alone");
	unlike($out, qr/^(?!partition public\.t2: heap).*\|false\|/m,
		"$owners: no other check fails");
}

$node->stop;
done_testing();
