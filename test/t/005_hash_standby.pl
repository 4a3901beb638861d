# Streaming replication of steward_hash indexes.
#
# Every change to a steward_hash index is generic WAL, so a streaming
# standby must replay splits, overflow pages, VACUUM's page unlinking and
# the free-list reuse that follows, and answer lookups exactly as the
# primary does, also while the primary keeps splitting buckets.  After
# promotion the former standby must be able to grow the indexes itself, and
# the unlogged table's index must start from its init fork (ambuildempty).
#
# verify_index runs on the primary and on the standby after promotion; on a
# standby in recovery it refuses with a clear error (replay could change the
# index under it).  On the standby the test compares every index page byte
# for byte with the primary's (pageinspect) instead.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardTest qw(start_pgbench finish_pgbench verify_clean);
use Time::HiRes qw(time);

my $t0 = time;

my $primary = PostgreSQL::Test::Cluster->new('hprimary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
# No autovacuum: the page-by-page comparison needs a primary that does not
# change the indexes after the standby caught up.
$primary->append_conf('postgresql.conf', "autovacuum = off");
$primary->append_conf('postgresql.conf', "max_connections = 30");
$primary->start;

# The standby is cloned before the extension exists: everything, CREATE
# EXTENSION included, reaches it through streaming.
$primary->backup('bkp');
my $standby = PostgreSQL::Test::Cluster->new('hstandby');
$standby->init_from_backup($primary, 'bkp', has_streaming => 1);
$standby->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$standby->start;

my @logged_indexes = qw(acct_k acct_ab acct_id_built idem_once);

$primary->safe_psql(
	'postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE EXTENSION pageinspect;
	-- Indexes created on empty tables: they grow by splits only.
	CREATE TABLE acct (id bigint NOT NULL, k text NOT NULL, a int, b text);
	CREATE INDEX acct_k ON acct USING steward_hash (k);
	CREATE INDEX acct_ab ON acct USING steward_hash (a, b);
	CREATE TABLE idem (scope text, key text,
	                   CONSTRAINT idem_once EXCLUDE USING steward_hash (scope WITH =, key WITH =));
	CREATE UNLOGGED TABLE ul (id int, k text);
	CREATE INDEX ul_k ON ul USING steward_hash (k);

	INSERT INTO acct SELECT g, md5(g::text), g % 500, 'b' || (g % 37)
	  FROM generate_series(1, 150000) g;
	INSERT INTO idem SELECT 's' || (g % 10), 'key-' || g FROM generate_series(1, 30000) g;
	INSERT INTO ul SELECT g, 'u' || g FROM generate_series(1, 30000) g;
	-- A bulk-built index (pages logged with log_newpage_range).
	CREATE INDEX acct_id_built ON acct USING steward_hash (id);
});

sub stats
{
	my ($node, $idx) = @_;
	my @v = split /\|/, $node->safe_psql('postgres',
		"SELECT buckets, pages, overflow_pages, free_pages, entries FROM steward.hash_index_stats('$idx')");
	return { buckets => $v[0], pages => $v[1], overflow => $v[2], free => $v[3], entries => $v[4] };
}

my $s = stats($primary, 'acct_k');
note "acct_k after load: $s->{buckets} buckets, $s->{pages} pages, $s->{overflow} overflow";
cmp_ok($s->{buckets}, '>', 64, 'acct_k grew by splits beyond 64 buckets');
cmp_ok($s->{overflow}, '>', 0, 'acct_k has overflow pages');
cmp_ok(stats($primary, 'acct_ab')->{buckets}, '>', 64, 'acct_ab grew by splits beyond 64 buckets');
cmp_ok(stats($primary, 'idem_once')->{buckets}, '>', 16, 'idem_once grew by splits');

# Delete most rows, so that whole overflow pages empty out, and VACUUM:
# emptied pages go to the free list.
$primary->safe_psql('postgres', q{
	DELETE FROM acct WHERE id % 10 <> 0;
	DELETE FROM idem WHERE key LIKE '%7';
	VACUUM acct, idem;
});
my $after_vacuum = stats($primary, 'acct_k');
note "acct_k after VACUUM: $after_vacuum->{free} free pages, $after_vacuum->{entries} entries";
cmp_ok($after_vacuum->{free}, '>', 0, 'VACUUM put emptied pages of acct_k on the free list');
is($after_vacuum->{entries}, 15000, 'VACUUM removed the entries of the deleted rows');

# Insert more, past what the buckets hold without overflow pages: new
# overflow pages come from the free list first.
$primary->safe_psql('postgres', q{
	INSERT INTO acct SELECT g, md5(g::text), g % 500, 'b' || (g % 37)
	  FROM generate_series(150001, 350000) g;
	INSERT INTO idem SELECT 's' || (g % 10), 'key-' || g FROM generate_series(30001, 40000) g;
	UPDATE acct SET k = k || '!' WHERE id % 1000 = 0;
});
my $after_reuse = stats($primary, 'acct_k');
note "acct_k after more inserts: $after_reuse->{free} free pages, $after_reuse->{pages} pages, "
  . "$after_reuse->{buckets} buckets";
cmp_ok($after_reuse->{free}, '<', $after_vacuum->{free}, 'inserts took pages from the free list');

# Lookup probes, as logged tables so that both nodes have them: present keys
# and absent ones.
$primary->safe_psql('postgres', q{
	CREATE TABLE probe_k AS
	  SELECT k FROM acct WHERE id % 97 = 0                   -- present (~2500)
	  UNION ALL SELECT md5(g::text) FROM generate_series(1, 150000, 53) g  -- mostly deleted
	  UNION ALL SELECT 'absent-' || g FROM generate_series(1, 1500) g;
	CREATE TABLE probe_ab AS
	  SELECT DISTINCT a, b FROM acct WHERE id % 89 = 0       -- present
	  UNION ALL SELECT g, 'b' || g FROM generate_series(1000, 2500) g       -- absent
	  UNION ALL SELECT g % 500, 'b' || (g % 37 + 1) FROM generate_series(1, 700) g;  -- mixed
	CREATE TABLE probe_id AS SELECT g::bigint AS id FROM generate_series(1, 360000, 37) g;
	CREATE TABLE probe_idem AS
	  SELECT 's' || (g % 10) AS scope, 'key-' || g AS key FROM generate_series(1, 45000, 13) g
	  UNION ALL SELECT 's' || (g % 10 + 1), 'key-' || g FROM generate_series(1, 3000, 7) g;
	ANALYZE;
});

# One query per index: every probe with the ids of the rows it finds
# (LEFT JOIN: absent keys give a NULL row), forced through the index.
my %lookups = (
	acct_k => 'SELECT p.k, t.id FROM probe_k p LEFT JOIN acct t ON t.k = p.k ORDER BY 1, 2',
	acct_ab => 'SELECT p.a, p.b, count(t.id), sum(t.id) FROM probe_ab p '
	  . 'LEFT JOIN acct t ON t.a = p.a AND t.b = p.b GROUP BY 1, 2 ORDER BY 1, 2',
	acct_id_built => 'SELECT p.id, t.k FROM probe_id p LEFT JOIN acct t ON t.id = p.id ORDER BY 1, 2',
	idem_once => 'SELECT p.scope, p.key, t.key IS NOT NULL FROM probe_idem p '
	  . 'LEFT JOIN idem t ON t.scope = p.scope AND t.key = p.key ORDER BY 1, 2',);
my $force_index = 'SET enable_seqscan = off; SET enable_hashjoin = off; '
  . 'SET enable_mergejoin = off; SET enable_bitmapscan = off; SET enable_material = off;';
my $force_bitmap = 'SET enable_seqscan = off; SET enable_hashjoin = off; '
  . 'SET enable_mergejoin = off; SET enable_indexscan = off; SET enable_material = off;';
my $no_index = 'SET enable_indexscan = off; SET enable_bitmapscan = off;';

# What a probe that finds nothing looks like in each query's output.
my %absent_re = (
	acct_k => qr/\|$/,
	acct_ab => qr/\|0\|$/,
	acct_id_built => qr/\|$/,
	idem_once => qr/\|f$/);

# Ground truth from sequential scans on the primary.
my %truth;
foreach my $idx (sort keys %lookups)
{
	$truth{$idx} = $primary->safe_psql('postgres', "$no_index $lookups{$idx}");
	my @lines = split /\n/, $truth{$idx};
	my $absent = grep { $_ =~ $absent_re{$idx} } @lines;
	my $found = @lines - $absent;
	note "$idx: $found probe rows found, $absent probes find nothing";
	cmp_ok($found, '>', 1000, "$idx probes include more than a thousand present keys");
	cmp_ok($absent, '>', 500, "$idx probes include more than five hundred absent keys");
}

sub compare_lookups
{
	my ($node, $label) = @_;
	foreach my $idx (sort keys %lookups)
	{
		my $table = $idx =~ /^idem/ ? 'idem' : 'acct';
		like($node->safe_psql('postgres', "$force_index EXPLAIN (COSTS OFF) $lookups{$idx}"),
			qr/Index Scan using $idx on $table t/, "$label: $idx lookups plan an index scan");
		is($node->safe_psql('postgres', "$force_index $lookups{$idx}"),
			$truth{$idx}, "$label: $idx index scans answer like a seq scan on the primary");
		like($node->safe_psql('postgres', "$force_bitmap EXPLAIN (COSTS OFF) $lookups{$idx}"),
			qr/Bitmap Index Scan on $idx/, "$label: $idx lookups plan a bitmap scan");
		is($node->safe_psql('postgres', "$force_bitmap $lookups{$idx}"),
			$truth{$idx}, "$label: $idx bitmap scans answer like a seq scan on the primary");
	}
}

# md5 of every page of an index, one line per block.
sub page_digests
{
	my ($node, $idx) = @_;
	return $node->safe_psql('postgres',
		"SELECT blk, md5(get_raw_page('$idx', blk::int)) "
		  . "FROM generate_series(0, pg_relation_size('$idx') / 8192 - 1) blk ORDER BY blk");
}

compare_lookups($primary, 'primary');
verify_clean($primary, 'primary', @logged_indexes, 'ul_k');

# The UPDATE above left 350 dead row versions, and the scans since have
# pruned them to LP_DEAD line pointers: their index entries are legitimate
# until VACUUM, and verify_index (just above) must not report them.
is( $primary->safe_psql(
		'postgres', q{
		SELECT count(*) FROM generate_series(0, pg_relation_size('acct') / 8192 - 1) blk,
		       LATERAL heap_page_items(get_raw_page('acct', blk::int)) h
		 WHERE h.lp_flags = 3}) > 0 ? 'yes' : 'no',
	'yes', 'primary: acct has LP_DEAD line pointers whose entries verify_index accepted');

$primary->wait_for_catchup($standby);

is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');
compare_lookups($standby, 'standby');
# After replay the standby's index pages must be the primary's, byte for
# byte (generic WAL zeroes the hole between pd_lower and pd_upper on both).
sub compare_pages
{
	my ($label) = @_;
	foreach my $idx (@logged_indexes)
	{
		is( $standby->safe_psql('postgres', "SELECT * FROM steward.hash_index_stats('$idx')"),
			$primary->safe_psql('postgres', "SELECT * FROM steward.hash_index_stats('$idx')"),
			"$label: hash_index_stats('$idx') equals the primary's");
		my @pl = split /\n/, page_digests($primary, $idx);
		my @sl = split /\n/, page_digests($standby, $idx);
		my @diff = grep { !defined $sl[$_] || $pl[$_] ne $sl[$_] } 0 .. $#pl;
		is(scalar(@sl), scalar(@pl), "$label: $idx has as many pages as on the primary");
		is(scalar(@diff), 0, "$label: every page of $idx is identical to the primary's")
		  or diag 'differing blocks: ' . join(' ', @diff[ 0 .. ($#diff < 9 ? $#diff : 9) ]);
	}
}
compare_pages('standby');

# verify_index refuses to run during recovery, and says why.
{
	my ($rc, $o, $e) = (0, '', '');
	$rc = $standby->psql('postgres', "SELECT * FROM steward.verify_index('acct_k')",
		stdout => \$o, stderr => \$e);
	isnt($rc, 0, 'standby: verify_index refuses to run during recovery');
	like($e, qr/cannot run during recovery/, 'standby: verify_index says why');
}

my ($ret, $stdout, $stderr);
# Unlogged tables cannot be read on a standby.
$ret = $standby->psql(
	'postgres', 'SELECT count(*) FROM ul',
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'standby: the unlogged table cannot be read during recovery');
like($stderr, qr/cannot access temporary or unlogged relations during recovery/,
	'standby: with the usual error');

# Lookups on the standby while the primary grows the index: every preloaded
# key (a row with id % 10 = 0 and id <= 150000, never touched by the writers)
# must be found exactly once at any time, while splits replay.
my $before_race = stats($primary, 'acct_k');
my $logdir = PostgreSQL::Test::Utils::tempdir;
my $ins_script = "$logdir/ins.sql";
append_to_file($ins_script,
	"INSERT INTO acct SELECT -1 - (random() * 1e12)::bigint, md5(random()::text), "
	  . "(random() * 1e6)::int, md5(random()::text) FROM generate_series(1, 100);\n");
my $look_script = "$logdir/look.sql";
# Rows with id % 1000 = 0 had '!' appended to their key.  The id condition
# of the second query is written "id + 0" so that it cannot use acct_id_built.
my $look_sql = q{SET enable_seqscan = off;
\set id 10 * random(1, 15000)
SELECT count(*) AS found FROM acct
 WHERE k = md5(:id::text) || CASE WHEN :id % 1000 = 0 THEN '!' ELSE '' END \gset
\if :found != 1
SELECT 1 / 0 AS preloaded_key_not_found_exactly_once;
\endif
SELECT count(*) AS found2 FROM acct
 WHERE a = :id % 500 AND b = 'b' || (:id % 37) AND id + 0 = :id \gset
\if :found2 != 1
SELECT 1 / 0 AS preloaded_key_not_found_exactly_once_ab;
\endif
};
append_to_file($look_script, $look_sql);
my $explain_k = $standby->safe_psql('postgres',
	"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT count(*) FROM acct WHERE k = md5(970::text) || ''");
like($explain_k, qr/Index Scan using acct_k|Bitmap Index Scan on acct_k/,
	'race: the standby readers look keys up through acct_k');
my $explain_ab = $standby->safe_psql('postgres',
	"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT count(*) FROM acct WHERE a = 470 AND b = 'b' || 8 AND id + 0 = 970");
like($explain_ab, qr/Index Scan using acct_ab|Bitmap Index Scan on acct_ab/,
	'race: the standby readers look (a, b) up through acct_ab');
my @run = (
	[ $primary, $ins_script, 4, 'writer' ],
	[ $standby, $look_script, 4, 'reader' ]);
my %h;
foreach my $r (@run)
{
	my ($node, $script, $clients, $name) = @$r;
	$h{$name} = start_pgbench($node, "race: $name", clients => $clients, jobs => 2, secs => 10,
		scripts => [$script]);
}
finish_pgbench($h{$_}, min => 101) foreach qw(reader writer);
$primary->wait_for_catchup($standby);
my $after_race = stats($primary, 'acct_k');
note "acct_k during the race: $before_race->{buckets} -> $after_race->{buckets} buckets";
cmp_ok($after_race->{buckets}, '>', $before_race->{buckets}, 'race: the primary split buckets while the standby read');
is( $standby->safe_psql('postgres', 'SELECT count(*) FROM acct WHERE id < 0'),
	$primary->safe_psql('postgres', 'SELECT count(*) FROM acct WHERE id < 0'),
	'race: the standby has the rows the writers inserted');
compare_lookups($standby, 'standby after the race');
compare_pages('standby after the race');
is( $standby->safe_psql('postgres', "$force_index SELECT count(*) FROM acct t JOIN (SELECT k FROM acct WHERE id < 0 OFFSET 0) p ON t.k = p.k"),
	$primary->safe_psql('postgres', 'SELECT count(*) FROM acct WHERE id < 0'),
	'race: the standby finds every row inserted during the race through acct_k');
verify_clean($primary, 'primary after the race', @logged_indexes);

# Promotion.
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'standby did not leave recovery';
verify_clean($standby, 'promoted', @logged_indexes);

# The unlogged table restarts empty from its init fork, and its index works.
is($standby->safe_psql('postgres', 'SELECT count(*) FROM ul'), '0', 'promoted: the unlogged table is empty');
is($standby->safe_psql('postgres', "SELECT buckets, entries FROM steward.hash_index_stats('ul_k')"),
	'1|0', 'promoted: ul_k is the empty index of the init fork');
verify_clean($standby, 'promoted, empty unlogged table', 'ul_k');
$standby->safe_psql('postgres',
	"INSERT INTO ul SELECT g, 'u' || g FROM generate_series(1, 40000) g");
cmp_ok(stats($standby, 'ul_k')->{buckets}, '>', 16, 'promoted: ul_k grows by splits');
like($standby->safe_psql('postgres', "$force_index EXPLAIN (COSTS OFF) SELECT id FROM ul WHERE k = 'u77'"),
	qr/Index Scan using ul_k on ul/, 'promoted: lookups in the unlogged table use ul_k');
is( $standby->safe_psql(
		'postgres', "$force_index SELECT count(*), sum(t.id) FROM generate_series(1, 45000, 7) g "
		  . "JOIN ul t ON t.k = 'u' || g"),
	$standby->safe_psql('postgres',
		"SELECT count(*), sum(g) FROM generate_series(1, 45000, 7) g WHERE g <= 40000"),
	'promoted: ul_k finds present keys and not absent ones');
verify_clean($standby, 'promoted, after inserts into the unlogged table', 'ul_k');

# Writes on the promoted standby: the logged indexes grow, uniqueness holds.
# Buckets split only once one in four has an overflow page, and a split
# whose bucket page is busy (a checkpoint writing it out) is skipped until
# the next overflow: insert batches of 100000 rows until one happens (at
# most 8; CI once saw none in 4 under load).
my $before_promo = stats($standby, 'acct_k');
$standby->safe_psql('postgres',
	"INSERT INTO idem SELECT 's' || (g % 10), 'key-' || g FROM generate_series(40001, 60000) g");
my $maxid = 350000;
for (my $i = 0; $i < 8 && stats($standby, 'acct_k')->{buckets} == $before_promo->{buckets}; $i++)
{
	$standby->safe_psql('postgres',
		"INSERT INTO acct SELECT g, md5(g::text), g % 500, 'b' || (g % 37) "
		  . "FROM generate_series($maxid + 1, $maxid + 100000) g");
	$maxid += 100000;
}
my $after_promo = stats($standby, 'acct_k');
note "acct_k on the promoted standby: $before_promo->{buckets} buckets, $before_promo->{overflow} overflow pages, "
  . "then $after_promo->{buckets} buckets, $after_promo->{overflow} overflow pages";
cmp_ok($after_promo->{buckets}, '>', $before_promo->{buckets},
	"promoted: acct_k splits buckets (after inserting up to id $maxid)");
is( $standby->safe_psql(
		'postgres', "$force_index SELECT count(*) FROM generate_series(1, $maxid, 11) g "
		  . "JOIN acct t ON t.k = md5(g::text) AND t.id + 0 = g"),
	$standby->safe_psql('postgres',
		"$no_index SELECT count(*) FROM generate_series(1, $maxid, 11) g "
		  . "JOIN acct t ON t.k = md5(g::text) AND t.id = g"),
	'promoted: acct_k lookups agree with a seq scan after inserts');
$ret = $standby->psql(
	'postgres', "\\set VERBOSITY verbose\nINSERT INTO idem VALUES ('s1', 'key-41');",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'promoted: a duplicate key is refused');
like($stderr, qr/ERROR:  23P01: conflicting key value violates exclusion constraint "idem_once"/,
	'promoted: with SQLSTATE 23P01');
is( $standby->safe_psql(
		'postgres', q{SELECT count(*) - count(DISTINCT (scope, key)) FROM idem}),
	'0', 'promoted: no duplicate key in idem');
verify_clean($standby, 'promoted, after inserts', @logged_indexes, 'ul_k');

# After a VACUUM that cleans the indexes (INDEX_CLEANUP ON: a plain VACUUM
# may bypass index cleanup when few pages have dead items) no entry of a
# dead tuple is left.
$standby->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) acct, idem, ul');
foreach my $idx (@logged_indexes, 'ul_k')
{
	is($standby->safe_psql('postgres', "SELECT * FROM steward.verify_index('$idx')"),
		'', "promoted, after VACUUM (INDEX_CLEANUP ON): verify_index('$idx') returns zero rows");
}

$standby->stop;
$primary->stop;
note sprintf('total %.1f s', time - $t0);
done_testing();
