# steward.verify() on a hot standby (review30 R1).  verify_index refuses
# during recovery (55000: replay could change the index and its table
# under the check), and verify() called it for every steward_hash index
# of the table: so verify() of any table with such an index (an
# idempotency-key EXCLUDE constraint included), or of a partitioned table
# with one on a partition, failed on a standby and returned none of its
# other checks.  Now each index is reported as not checked there (passed
# NULL, the detail naming the primary) and every other check runs and
# agrees with the primary's; after promotion the indexes are checked again.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('r124_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$primary->start;

$primary->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE acct (id int PRIMARY KEY, k text NOT NULL, version bigint) USING steward;
	SELECT steward.track_versions('acct', 'version');
	CREATE INDEX acct_k ON acct USING steward_hash (k);
	ALTER TABLE acct ADD CONSTRAINT acct_once EXCLUDE USING steward_hash (id WITH =);
	INSERT INTO acct (id, k) SELECT g, 'k' || g FROM generate_series(1, 500) g;
	CREATE TABLE pt (id int, k text) PARTITION BY RANGE (id);
	CREATE TABLE pt1 PARTITION OF pt FOR VALUES FROM (0) TO (1000) USING steward;
	CREATE INDEX pt1_k ON pt1 USING steward_hash (k);
	INSERT INTO pt SELECT g, 'k' || g FROM generate_series(1, 300) g;
});

$primary->backup('bkp');
my $standby = PostgreSQL::Test::Cluster->new('r124_standby');
$standby->init_from_backup($primary, 'bkp', has_streaming => 1);
$standby->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$standby->start;
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

# Rows of verify() as "check|passed|detail" lines, passed as true, false or null.
sub verify_rows
{
	my ($node, $tbl) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT \"check\" || '|' || coalesce(passed::text, 'null') || '|' || detail
		   FROM steward.verify('$tbl')");
	return ($rc, $out, $err);
}

# A steward_hash index's row: "index <name>", or "partition <name>: index
# <name>" for a partitioned table's.
my $index_row = qr/^(partition [^|]+: )?index /;

foreach my $tbl (qw(acct pt))
{
	my ($prc, $pout, $perr) = verify_rows($primary, $tbl);
	is($prc, 0, "verify($tbl) runs on the primary") or diag($perr);
	unlike($pout, qr/\|(false|null)\|/, "verify($tbl) on the primary: every check passed");

	my ($src, $sout, $serr) = verify_rows($standby, $tbl);
	is($src, 0, "verify($tbl) runs on the standby") or diag($serr);
	unlike($serr, qr/cannot run during recovery/, "verify($tbl) on the standby: no verify_index refusal");

	# The index rows: passed on the primary, not checked on the standby.
	my @pidx = grep { /$index_row/ } split /\n/, $pout;
	my @sidx = grep { /$index_row/ } split /\n/, $sout;
	ok(scalar(@pidx) >= 1, "verify($tbl) on the primary checks its steward_hash indexes");
	is(scalar(@sidx), scalar(@pidx), "verify($tbl) on the standby names each steward_hash index");
	foreach my $line (@sidx)
	{
		like($line, qr/\|null\|not checked: on a standby in recovery.*primary/,
			"verify($tbl) on the standby reports it as not checked: $line");
	}

	# Every other check runs on the standby and agrees with the primary.
	my @pother = sort grep { !/$index_row/ } split /\n/, $pout;
	my @sother = sort grep { !/$index_row/ } split /\n/, $sout;
	ok(scalar(@pother) >= 2, "verify($tbl) has checks besides the indexes");
	is_deeply(\@sother, \@pother, "verify($tbl): the other checks on the standby match the primary's");
}

# After promotion the former standby checks the indexes again.
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not leave recovery';
my ($rc, $out, $err) = verify_rows($standby, 'acct');
is($rc, 0, 'verify(acct) runs after promotion') or diag($err);
like($out, qr/^index public\.acct_k\|true\|consistent$/m, 'after promotion the index is checked');

$standby->stop;
$primary->stop;
done_testing();
