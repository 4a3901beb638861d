# steward_hash's directly written generic WAL records (src/steward_hash/steward_hash_wal.c).
#
# An insert into a page with room writes its generic WAL record itself (two
# fragments: pd_lower and the new entry) instead of letting GenericXLog
# compare page images.  Core replays it with generic_redo, so it must be
# exactly what generic_redo needs to rebuild the primary's page.  This test
# runs the primary, a streaming standby and crash recovery with
# wal_consistency_checking = 'generic': every generic record carries a full
# image of each page it touches, and replay compares the page it rebuilt
# with that image (masking only LSN, checksum and the hole), stopping with
# "inconsistent page found" at the first difference.
#
#   1. Inserts of every kind (plain, two-column, exclusion constraint,
#      ON CONFLICT DO NOTHING, the fast path, overflow pages, splits), then
#      DELETE + VACUUM (entries removed, pages unlinked) and inserts that
#      reuse freed pages, replayed by the standby: no inconsistency, the
#      standby answers lookups like the primary, every index page equals
#      the primary's byte for byte (past the LSN and checksum).
#   2. A crash in the middle of inserts and splits (pg_ctl stop -m
#      immediate under pgbench): crash recovery with consistency checking
#      passes, verify_index is clean, every committed row is found, the
#      standby (which replayed the same WAL) is identical again after
#      catching up with the restarted primary.
#   3. wal_level = minimal, index created in the same transaction as its
#      rows (no WAL for it; fsync at commit): survives a crash.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardTest qw(start_pgbench verify_clean);

my $primary = PostgreSQL::Test::Cluster->new('hwprimary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_steward'
wal_consistency_checking = 'generic'
autovacuum = off
max_connections = 30
});
$primary->start;
# Consistency checking writes a page image per page per record: a slot keeps
# that WAL until the (slow, CPU-starved) standby has it.
$primary->safe_psql('postgres', "SELECT pg_create_physical_replication_slot('hw')");
$primary->backup('bkp');
my $standby = PostgreSQL::Test::Cluster->new('hwstandby');
$standby->init_from_backup($primary, 'bkp', has_streaming => 1);
$standby->append_conf('postgresql.conf', "primary_slot_name = 'hw'");
$standby->start;

my @indexes = qw(kv_k kv_ab uq_once);

$primary->safe_psql(
	'postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE EXTENSION pageinspect;
	CREATE TABLE kv (id bigserial, k text NOT NULL, a int, b text);
	CREATE INDEX kv_k ON kv USING steward_hash (k);
	CREATE INDEX kv_ab ON kv USING steward_hash (a, b);
	CREATE TABLE uq (id bigint NOT NULL, note text,
	                 CONSTRAINT uq_once EXCLUDE USING steward_hash (id WITH =));
	INSERT INTO kv (k, a, b) SELECT md5(g::text), g % 300, 'b' || (g % 7)
	  FROM generate_series(1, 20000) g;
	INSERT INTO uq SELECT g, 'n' FROM generate_series(1, 10000) g;
	INSERT INTO uq SELECT g, 'dup' FROM generate_series(7001, 12000) g ON CONFLICT DO NOTHING;
});

sub stats
{
	my ($node, $idx) = @_;
	return $node->safe_psql('postgres',
		"SELECT buckets, pages, overflow_pages, free_pages, entries FROM steward.hash_index_stats('$idx')");
}

my ($buckets, $pages, $overflow) = split /\|/, stats($primary, 'kv_k');
cmp_ok($buckets, '>', 16, 'kv_k grew by splits');
cmp_ok($overflow, '>', 0, 'kv_k has overflow pages');

# Entries removed, empty overflow pages unlinked, then reused.
$primary->safe_psql(
	'postgres', q{
	DELETE FROM kv WHERE id % 3 <> 0;
	DELETE FROM uq WHERE id > 3000;
	VACUUM kv; VACUUM uq;
	INSERT INTO kv (k, a, b) SELECT md5('again' || g), g % 300, 'c' FROM generate_series(1, 8000) g;
	INSERT INTO uq SELECT g, 'back' FROM generate_series(2001, 6000) g ON CONFLICT DO NOTHING;
});
is($primary->safe_psql('postgres', 'SELECT count(*) FROM uq'), '6000',
	'uq: ON CONFLICT DO NOTHING skipped exactly the ids still present');

# Every row's key, looked up through each index, compared with a seq scan.
my $force = 'SET enable_seqscan = off; SET enable_bitmapscan = off; '
  . 'SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_material = off;';
my %lookups = (
	kv_k => 'SELECT count(*), sum(t.id) FROM kv p JOIN kv t ON t.k = p.k',
	kv_ab => 'SELECT count(*), sum(t.id) FROM (SELECT DISTINCT a, b FROM kv) p JOIN kv t ON t.a = p.a AND t.b = p.b',
	uq_once => 'SELECT count(*), sum(t.id) FROM uq p JOIN uq t ON t.id = p.id');

sub compare_lookups
{
	my ($node, $label) = @_;
	foreach my $idx (sort keys %lookups)
	{
		like($node->safe_psql('postgres', "$force EXPLAIN (COSTS OFF) $lookups{$idx}"),
			qr/Index Scan using $idx/, "$label: $idx lookups use the index");
		is($node->safe_psql('postgres', "$force $lookups{$idx}"),
			$primary->safe_psql('postgres', "SET enable_indexscan = off; SET enable_bitmapscan = off; $lookups{$idx}"),
			"$label: $idx lookups find what a seq scan on the primary finds");
	}
}

# Pages past the LSN (8 bytes) and checksum (2 bytes): the rest must be
# the primary's, the hole between pd_lower and pd_upper included.
sub page_digests
{
	my ($node, $idx) = @_;
	return $node->safe_psql('postgres',
		"SELECT blk, md5(substr(get_raw_page('$idx', blk::int), 11)) "
		  . "FROM generate_series(0, pg_relation_size('$idx') / 8192 - 1) blk ORDER BY blk");
}

sub compare_standby
{
	my ($label) = @_;
	$primary->wait_for_catchup($standby);
	ok(!$standby->log_contains(qr/inconsistent page found/),
		"$label: replay found no page that differs from the primary's image");
	compare_lookups($standby, "$label, standby");
	foreach my $idx (@indexes)
	{
		my @p = split /\n/, page_digests($primary, $idx);
		my @s = split /\n/, page_digests($standby, $idx);
		my @diff = grep { !defined $s[$_] || $p[$_] ne $s[$_] } 0 .. $#p;
		is(scalar(@s), scalar(@p), "$label: standby's $idx has the primary's page count");
		is(scalar(@diff), 0, "$label: every page of $idx on the standby equals the primary's")
		  or diag 'differing blocks: ' . join(' ', @diff[ 0 .. ($#diff < 9 ? $#diff : 9) ]);
	}
}

verify_clean($primary, 'part 1, primary', @indexes);
compare_lookups($primary, 'part 1, primary');
compare_standby('part 1');

# Part 2: a crash in the middle of inserts, overflow pages and splits.
my $logdir = PostgreSQL::Test::Utils::tempdir;
append_to_file("$logdir/kv.sql",
	"INSERT INTO kv (k, a, b) SELECT md5(random()::text), (random() * 1000)::int, "
	  . "md5(random()::text) FROM generate_series(1, 50);\n");
append_to_file("$logdir/uq.sql",
	"INSERT INTO uq SELECT (random() * 400000)::bigint, 'c' FROM generate_series(1, 40) "
	  . "ON CONFLICT DO NOTHING;\n");
my $pgbench = start_pgbench($primary, 'part 2', clients => 4, jobs => 2, secs => 120,
	scripts => [ "$logdir/kv.sql\@2", "$logdir/uq.sql\@1" ]);
my $target = $primary->safe_psql('postgres', 'SELECT count(*) FROM kv') + 15000;
ok($primary->poll_query_until('postgres', "SELECT count(*) >= $target FROM kv"),
	'part 2: pgbench is inserting');
$primary->stop('immediate');
$pgbench->{h}->finish;
unlike(slurp_file($pgbench->{err}), qr/ERROR/, 'part 2: no client got an ERROR before the crash');

$primary->start;
ok($primary->log_contains(qr/redo done|database system was not properly shut down/),
	'part 2: the restart ran crash recovery');
ok(!$primary->log_contains(qr/inconsistent page found/),
	'part 2: crash recovery found no page that differs from its image');
verify_clean($primary, 'part 2, after crash recovery', @indexes);
compare_lookups($primary, 'part 2, primary');
is($primary->safe_psql('postgres', 'SELECT count(*) FROM (SELECT id FROM uq GROUP BY id HAVING count(*) > 1) d'),
	'0', 'part 2: the exclusion constraint still holds');
# More writes after recovery (finishing any split the crash interrupted).
$primary->safe_psql('postgres',
	"INSERT INTO kv (k, a, b) SELECT md5('post' || g), g % 50, 'p' FROM generate_series(1, 5000) g");
verify_clean($primary, 'part 2, after more inserts', @indexes);
compare_standby('part 2');

# Part 3: wal_level = minimal, the index filled in the transaction that
# created it (RelationNeedsWAL is false: no records, the files are synced
# at commit), then a crash.
$standby->stop;
$primary->safe_psql('postgres', "SELECT pg_drop_replication_slot('hw')");
$primary->append_conf('postgresql.conf',
	"wal_level = minimal\nmax_wal_senders = 0\narchive_mode = off\n");
$primary->restart;
$primary->safe_psql(
	'postgres', q{
	BEGIN;
	CREATE TABLE mini (k text NOT NULL);
	CREATE INDEX mini_k ON mini USING steward_hash (k);
	INSERT INTO mini SELECT md5(g::text) FROM generate_series(1, 30000) g;
	COMMIT;
});
$primary->stop('immediate');
$primary->start;
is($primary->safe_psql('postgres', "SELECT * FROM steward.verify_index('mini_k')"),
	'', 'part 3: verify_index(mini_k) is clean after a crash');
is( $primary->safe_psql('postgres',
		"$force SELECT count(*) FROM mini p JOIN mini t ON t.k = p.k"),
	'30000', 'part 3: every row of mini is found through its index');

$primary->stop;
done_testing();
