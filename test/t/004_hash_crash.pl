# Crash recovery of steward_hash indexes.
#
# Part 1: pgbench clients insert random text and bigint keys into a table
# with a steward_hash index on the text column and a two-column steward_hash
# index, and ON CONFLICT DO NOTHING inserts (about half duplicates) into a
# table with an EXCLUDE USING steward_hash constraint.  Every index starts
# empty, so it grows by hundreds of bucket splits while the clients run.
# The server is stopped with "pg_ctl stop -m immediate" in the middle of the
# run.  After WAL replay:
#   - verify_index reports nothing for every index (the aborted in-flight
#     rows are dead tuples, some pruned to LP_DEAD, whose entries are
#     legitimate until VACUUM);
#   - every committed row is found through each index (index scan and
#     bitmap scan lookups of every row's key, compared with a seq scan);
#   - absent keys are not found;
#   - the exclusion constraint still holds (no duplicate id);
#   - more inserts (and splits) work and leave the indexes consistent.
#
# Part 2: an interrupted split, made deterministic.  Catching a split in the
# middle with an immediate stop is a matter of luck (part 1 reports whether
# it happened), so part 2 stops the server cleanly and edits the index file
# into the state a crash in the middle of a split leaves behind: the last
# split pair's primary pages carry STEWARD_HASH_SPLIT_SOURCE / STEWARD_HASH_SPLIT_TARGET and
# some entries that belong to the new bucket are still in the old bucket.
# Readers must find those entries (they look in both buckets), verify_index
# must accept the state, and the next writer must finish the split.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);
use StHashFile;
use StewardTest qw(start_pgbench finish_pgbench check_lookups verify_clean);

my $t0 = time;
my $nclients = 6;
my $nthreads = 2;
my $batch = 100;    # rows per kv transaction

my $node = PostgreSQL::Test::Cluster->new('hashcrash');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->append_conf('postgresql.conf', "max_connections = 30");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE EXTENSION pageinspect;
	CREATE TABLE kv (id bigserial, k text NOT NULL, a bigint, b bigint);
	CREATE INDEX kv_k ON kv USING steward_hash (k);
	CREATE INDEX kv_ab ON kv USING steward_hash (a, b);
	CREATE SEQUENCE uq_seq;
	CREATE TABLE uq (id bigint NOT NULL, note text,
	                 CONSTRAINT uq_once EXCLUDE USING steward_hash (id WITH =));
});

my @indexes = qw(kv_k kv_ab uq_once);

foreach my $idx (@indexes)
{
	is($node->safe_psql('postgres', "SELECT buckets, entries FROM steward.hash_index_stats('$idx')"),
		'1|0', "$idx starts empty with one bucket");
}

# kv: random md5 text keys; (a, b) with a from a small range so that many
# rows share the first column of the two-column key.
my $kv_script = $node->basedir . '/kv.sql';
append_to_file($kv_script,
	"INSERT INTO kv (k, a, b) SELECT md5(random()::text), (random() * 1000)::bigint, "
	  . "(random() * 1e15)::bigint FROM generate_series(1, $batch);\n");
# uq: every even row takes a new id from the sequence, every odd row an id
# already handed out (a duplicate unless its transaction has not committed):
# about half the rows conflict and are skipped.
my $uq_script = $node->basedir . '/uq.sql';
append_to_file($uq_script,
	"INSERT INTO uq (id, note) SELECT CASE WHEN g % 2 = 0 THEN nextval('uq_seq') "
	  . "ELSE 1 + (random() * (SELECT last_value FROM uq_seq))::bigint END, 'n' || g "
	  . "FROM generate_series(1, 80) g ON CONFLICT DO NOTHING;\n");

my $logdir = PostgreSQL::Test::Utils::tempdir;

# -T is an upper bound only: the server is stopped long before.
my $pgbench = start_pgbench(
	$node, 'load',
	clients => $nclients,
	jobs    => $nthreads,
	secs    => 90,
	scripts => [ "$kv_script\@3", "$uq_script\@2" ],
	# uq's 80-row ON CONFLICT DO NOTHING inserts can deadlock with each
	# other (each waits for the other's uncommitted duplicate, as with any
	# unique index); pgbench retries such a transaction instead of logging
	# it "failed".
	args => [ '--max-tries', 1000, '-l', "--log-prefix=$logdir/txn" ]);

ok($node->poll_query_until('postgres', 'SELECT count(*) >= 150000 FROM kv'),
	'pgbench is inserting');
# Replay then starts from a checkpoint taken under load.
$node->safe_psql('postgres', 'CHECKPOINT');
ok($node->poll_query_until('postgres', 'SELECT count(*) >= 300000 FROM kv'),
	'pgbench keeps inserting after the checkpoint');

ok($pgbench->{h}->pumpable, 'pgbench is still running when the server stops');
$node->stop('immediate');
my (undef, undef, undef, $pgb_err) = finish_pgbench($pgbench, aborted => 1);
# Before the stop no client may have failed: errors other than the lost
# connection would be bugs (e.g. an index error during a split).
unlike($pgb_err, qr/ERROR/, 'no client got an ERROR from the server before the stop');

# Transactions pgbench saw commit, per script (log line: client_id
# transaction_no latency script_no epoch us).
my %committed = (0 => 0, 1 => 0);
my $other = 0;
foreach my $log (glob("$logdir/txn.*"))
{
	foreach my $line (split /\n/, slurp_file($log))
	{
		my @f = split / /, $line;
		if (defined $f[2] && $f[2] =~ /^\d+$/ && defined $f[3] && exists $committed{ $f[3] })
		{
			$committed{ $f[3] }++;
		}
		else
		{
			# (Shown so that a failure says which line it was.)
			diag("log line of $log that is not a committed transaction: $line") if $other < 5;
			$other++;
		}
	}
}
note "committed: kv $committed{0}, uq $committed{1}; other log lines: $other";
cmp_ok($committed{0} * $batch, '>=', 300000 - $nclients * $batch,
	'pgbench logged the committed kv transactions');
cmp_ok($committed{1}, '>', 0, 'pgbench committed uq transactions');
is($other, 0, 'every log line is a committed transaction');

$node->start;
ok($node->log_contains(qr/database system was interrupted|was not properly shut down/),
	'the restart ran crash recovery');

# Did the stop catch splits in the middle?  Count primary pages still
# flagged STEWARD_HASH_SPLITTING (flags: uint16 at special + 16 = byte 8184) before
# anything writes to the indexes.  Informational: it depends on timing.
sub splitting_pages
{
	my ($n, $idx) = @_;
	return $n->safe_psql(
		'postgres', qq{
		SELECT count(*) FROM generate_series(1, pg_relation_size('$idx') / 8192 - 1) blk,
		       LATERAL get_raw_page('$idx', blk::int) p
		 WHERE (get_byte(p, 8185) & 3) <> 0});
}
foreach my $idx (@indexes)
{
	note "$idx: " . splitting_pages($node, $idx)
	  . " primary pages flagged as splitting after crash recovery";
}

my ($kv_rows, $kv_distinct) = split /\|/,
  $node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id) FROM kv');
note "kv rows after recovery: $kv_rows";
cmp_ok($kv_rows, '>=', $committed{0} * $batch, 'every committed kv row survived');
cmp_ok($kv_rows, '<=', ($committed{0} + $nclients) * $batch,
	'no more kv rows than committed plus in-flight transactions');
is($kv_distinct, $kv_rows, 'no kv row appears twice');
# The rows kv holds from here on, as the test writes them: what each
# check_lookups expects a sequential scan to read.
my $kv_expected = $kv_rows;

sub check_all
{
	my ($n, $label) = @_;
	# uq holds one row per id (the exclusion constraint, asserted below):
	# its ids, counted without the index, are the rows expected.
	my $uq_ids = $n->safe_psql('postgres',
		'SET enable_indexscan = off; SET enable_bitmapscan = off; SELECT count(DISTINCT id) FROM uq');
	my %kv = (rows => $kv_expected, label => $label);
	check_lookups($n, 'kv', 'kv_k', ['k'], %kv);
	check_lookups($n, 'kv', 'kv_k', ['k'], %kv, mode => 'bitmap', sample => 7);
	check_lookups($n, 'kv', 'kv_ab', [ 'a', 'b' ], %kv);
	check_lookups($n, 'kv', 'kv_ab', [ 'a', 'b' ], %kv, mode => 'bitmap', sample => 7);
	check_lookups($n, 'uq', 'uq_once', ['id'], rows => $uq_ids, label => $label);

	# Absent keys are not found (the index is used, see the plans above).
	is( $n->safe_psql(
			'postgres', q{
			SET enable_seqscan = off; SET enable_bitmapscan = off;
			SET enable_hashjoin = off; SET enable_mergejoin = off;
			SELECT (SELECT count(*) FROM generate_series(1, 2000) g
			          JOIN kv ON kv.k = 'absent-' || g),
			       (SELECT count(*) FROM generate_series(1, 2000) g
			          JOIN kv ON kv.a = g + 5000 AND kv.b = g),
			       (SELECT count(*) FROM generate_series(1, 2000) g
			          JOIN uq ON uq.id = -g)}),
		'0|0|0', "$label: absent keys are not found");

	my ($rows, $distinct) = split /\|/,
	  $n->safe_psql('postgres', 'SELECT count(*), count(DISTINCT id) FROM uq');
	cmp_ok($rows, '>', 0, "$label: uq has rows");
	is($distinct, $rows, "$label: the exclusion constraint held (no duplicate id in $rows rows)");
}

check_all($node, 'after crash recovery');
# Rows of the transactions the crash aborted are dead tuples whose entries
# stay until VACUUM, and pruning may already have turned them into LP_DEAD
# line pointers: verify_index must accept both.
verify_clean($node, 'after crash recovery', @indexes);

foreach my $idx (@indexes)
{
	my ($buckets, $entries) = split /\|/, $node->safe_psql('postgres',
		"SELECT buckets, entries FROM steward.hash_index_stats('$idx')");
	note "$idx after recovery: $buckets buckets, $entries entries";
	cmp_ok($buckets, '>', 64, "$idx grew beyond 64 buckets ($buckets)");
}
# Rows of the transactions the crash aborted keep their entries until VACUUM
# (verify_index accepts entries of dead tuples): at most one batch per client.
my $kv_entries = $node->safe_psql('postgres', "SELECT entries FROM steward.hash_index_stats('kv_k')");
cmp_ok($kv_entries, '>=', $kv_rows, 'kv_k has at least one entry per row');
cmp_ok($kv_entries, '<=', $kv_rows + $nclients * $batch,
	'kv_k has no more extra entries than the aborted in-flight rows');

# The constraint still rejects duplicates, and still arbitrates ON CONFLICT.
my ($ret, $stdout, $stderr);
$ret = $node->psql(
	'postgres',
	"\\set VERBOSITY verbose\nINSERT INTO uq (id, note) SELECT min(id), 'dup' FROM uq;",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'a duplicate id is refused after recovery');
like($stderr, qr/ERROR:  23P01: conflicting key value violates exclusion constraint "uq_once"/,
	'duplicate fails with SQLSTATE 23P01');
is( $node->safe_psql(
		'postgres', q{
		WITH ins AS (INSERT INTO uq (id, note) SELECT id, 'again' FROM uq WHERE id % 10 = 0
		             ON CONFLICT DO NOTHING RETURNING 1)
		SELECT count(*) FROM ins}),
	'0', 'ON CONFLICT DO NOTHING skips every existing id after recovery');

# More inserts after recovery: splits continue (and finish any split the
# crash interrupted), the indexes stay consistent.
my %buckets_before;
foreach my $idx (@indexes)
{
	$buckets_before{$idx} = $node->safe_psql('postgres',
		"SELECT buckets FROM steward.hash_index_stats('$idx')");
}
my $after = start_pgbench(
	$node, 'after recovery',
	clients => 4,
	jobs    => 2,
	txns    => 250,
	scripts => [ "$kv_script\@3", "$uq_script\@2" ],
	# (uq's deadlocks, as in the first run)
	args => [ '--max-tries', 1000 ]);
my (undef, undef, $after_out) = finish_pgbench($after, min => 1000);
my ($kv_txns) = $after_out =~ /SQL script \d+: \Q$kv_script\E\n - weight: \d+ .*\n - (\d+) transactions/;
cmp_ok($kv_txns // 0, '>', 0, 'after recovery: pgbench ran the kv script ('
	  . ($kv_txns // 0) . ' transactions)');
$kv_expected += $batch * ($kv_txns // 0);
# Buckets split only when overflow pages pile up (one bucket in four with an
# overflow page), so add enough rows for every index to need more buckets.
$node->safe_psql('postgres',
	"INSERT INTO kv (k, a, b) SELECT md5(random()::text), g % 1000, g FROM generate_series(1, 200000) g");
$kv_expected += 200000;
$node->safe_psql('postgres',
	"INSERT INTO uq (id) SELECT g FROM generate_series(1, 300000) g ON CONFLICT DO NOTHING");
foreach my $idx (@indexes)
{
	my $buckets = $node->safe_psql('postgres',
		"SELECT buckets FROM steward.hash_index_stats('$idx')");
	cmp_ok($buckets, '>', $buckets_before{$idx},
		"$idx keeps growing after recovery ($buckets_before{$idx} -> $buckets buckets)");
}
foreach my $idx (@indexes)
{
	is(splitting_pages($node, $idx), 0,
		"$idx: no split left unfinished after inserts (writers finish splits)");
}
check_all($node, 'after inserts following recovery');
verify_clean($node, 'after inserts following recovery', @indexes);

note sprintf('part 1 took %.1f s', time - $t0);

#
# Part 2: an interrupted split, crafted in the index file.
#
my $PAGE_BUCKET = 0x0002;
my $SPLIT_SOURCE = 0x0100;
my $SPLIT_TARGET = 0x0200;

my $relpath = $node->safe_psql('postgres', "SELECT pg_relation_filepath('kv_k')");
my $file = $node->data_dir . '/' . $relpath;
$node->safe_psql('postgres', 'CHECKPOINT');
$node->stop;    # clean: nothing to replay over the edited file
cmp_ok(-s $file, '<', 1024 * 1024 * 1024, 'kv_k fits in one segment file');

open(my $fh, '+<', $file) or die "open $file: $!";
binmode $fh;
my $meta = read_page($fh, 0);
my ($magic, $version, $maxbucket, $highmask, $lowmask) = unpack('L5', substr($meta, 24, 20));
is(sprintf('%08x', $magic), '53544831', 'kv_k metapage has the steward_hash magic');

# Primary page of every bucket, found by scanning the file.
my %primary;
my $nblocks = (-s $file) / $BLCKSZ;
for my $blk (1 .. $nblocks - 1)
{
	my $page = read_page($fh, $blk);
	next if $page eq ("\0" x $BLCKSZ);
	my (undef, $bucket, undef, undef, $flags) = opaque($page);
	$primary{$bucket} = $blk if ($flags & 0x1F) == $PAGE_BUCKET;
}
is(scalar(keys %primary), $maxbucket + 1, 'found the primary page of every bucket');

# The most recent split: new bucket = maxbucket, old = maxbucket & lowmask.
my $newb = $maxbucket;
my $oldb = $newb & $lowmask;
my $oldpage = read_page($fh, $primary{$oldb});
my $newpage = read_page($fh, $primary{$newb});
my $room = $CAPACITY - nentries($oldpage);
my $nmove = nentries($newpage);
$nmove = $room if $nmove > $room;
$nmove = 100 if $nmove > 100;
note "crafting split $oldb -> $newb: moving $nmove entries back from block $primary{$newb} to block $primary{$oldb}";
cmp_ok($nmove, '>=', 10, 'enough entries and room to craft an interrupted split');

# Move the last $nmove entries of the new bucket's primary page back to the
# old bucket's primary page (as if the split had not moved them yet).
my $nnew = nentries($newpage);
my $nold = nentries($oldpage);
my $moved = substr($newpage, $ENTRIES + ($nnew - $nmove) * $ENTRY, $nmove * $ENTRY);
my @moved_tids;
for my $i (0 .. $nmove - 1)
{
	my ($hi, $lo, $off) = unpack('S3', substr($moved, $i * $ENTRY + 8, 6));
	push @moved_tids, sprintf('(%d,%d)', ($hi << 16) | $lo, $off);
	is(bucket_of(entry_hash($newpage, $nnew - $nmove + $i), $maxbucket, $highmask, $lowmask),
		$newb, "moved entry $i belongs to bucket $newb") if $i < 3;
}
substr($oldpage, $ENTRIES + $nold * $ENTRY, $nmove * $ENTRY) = $moved;
substr($oldpage, 12, 2) = pack('S', pd_lower($oldpage) + $nmove * $ENTRY);
substr($newpage, $ENTRIES + ($nnew - $nmove) * $ENTRY, $nmove * $ENTRY) = "\0" x ($nmove * $ENTRY);
substr($newpage, 12, 2) = pack('S', pd_lower($newpage) - $nmove * $ENTRY);
# Flags and partners as split_one sets them (split_max is already right).
my @oo = opaque($oldpage);
my @no = opaque($newpage);
substr($oldpage, $SPECIAL + 12, 6) = pack('L S', $newb, $oo[4] | $SPLIT_SOURCE);
substr($newpage, $SPECIAL + 12, 6) = pack('L S', $oldb, $no[4] | $SPLIT_TARGET);
write_page($fh, $primary{$oldb}, $oldpage);
write_page($fh, $primary{$newb}, $newpage);
close($fh);

$node->start;
is(splitting_pages($node, 'kv_k'), 2, 'the crafted split shows as two flagged primary pages');

# Readers: the rows whose entries sit in the old bucket are found by index
# and bitmap scans; verify_index accepts the state.
my $tidlist = join(',', map { "'$_'::tid" } @moved_tids);
my $moved_rows = $node->safe_psql('postgres', "SELECT count(*) FROM kv WHERE ctid IN ($tidlist)");
is($moved_rows, $nmove, 'the moved entries point at live rows');
foreach my $mode ('index', 'bitmap')
{
	# The outer side finds the rows by TID; the inner side must look each up
	# through kv_k (a TID scan there would never read the index).
	my $force = 'SET enable_seqscan = off; SET enable_hashjoin = off; SET enable_mergejoin = off; '
	  . 'SET enable_tidscan = off; SET enable_material = off; '
	  . ($mode eq 'index' ? 'SET enable_bitmapscan = off;' : 'SET enable_indexscan = off;');
	my $query = qq{SELECT count(*) FROM (SELECT ctid, k FROM kv WHERE ctid = ANY (ARRAY[$tidlist]) OFFSET 0) p
			 WHERE EXISTS (SELECT 1 FROM kv t WHERE t.k = p.k AND t.ctid = p.ctid)};
	my $plan = $node->safe_psql('postgres', "$force EXPLAIN (COSTS OFF) $query");
	ok( $plan =~ /Nested Loop/
		  && ($mode eq 'index'
			? $plan =~ /Index Scan using kv_k on kv t/
			: $plan =~ /Bitmap Heap Scan on kv t.*Bitmap Index Scan on kv_k/s)
		  && $plan !~ /Tid Scan on kv t/,
		"mid-split: the $mode-scan lookups read kv_k, not the TIDs")
	  or diag $plan;
	is($node->safe_psql('postgres', "$force $query"),
		$nmove, "mid-split: $mode scans find the rows whose entries are still in the old bucket");
}
check_lookups($node, 'kv', 'kv_k', ['k'], rows => $kv_expected, label => 'mid-split');
check_lookups($node, 'kv', 'kv_k', ['k'], rows => $kv_expected, label => 'mid-split',
	mode => 'bitmap', sample => 5);
is($node->safe_psql('postgres', "SELECT * FROM steward.verify_index('kv_k')"),
	'', 'mid-split: verify_index accepts an interrupted split');
is(splitting_pages($node, 'kv_k'), 2, 'readers and verify_index leave the split alone');

# Writers: inserting keys until one lands in bucket $oldb or $newb finishes
# the split; a batch of 5000 random keys hits every bucket.  An insert
# finishes it only when it can have the bucket to itself (a pin held
# elsewhere, as on a loaded machine, leaves it to a later insert): a few
# batches at most.
for my $batch (1 .. 5)
{
	$node->safe_psql('postgres',
		'INSERT INTO kv (k, a, b) SELECT md5(random()::text), g, g FROM generate_series(1, 5000) g');
	$kv_expected += 5000;
	last if splitting_pages($node, 'kv_k') == 0;
}
is(splitting_pages($node, 'kv_k'), 0, 'an insert finished the interrupted split');
is($node->safe_psql('postgres', "SELECT * FROM steward.verify_index('kv_k')"),
	'', 'after the finished split: verify_index reports no problem');
check_lookups($node, 'kv', 'kv_k', ['k'], rows => $kv_expected, label => 'after the finished split');

# The moved entries are in the new bucket again: read the file after a
# checkpoint and look for them there.
$node->safe_psql('postgres', 'CHECKPOINT');
open($fh, '<', $file) or die "open $file: $!";
binmode $fh;
$meta = read_page($fh, 0);
my ($mb2, $hm2, $lm2) = unpack('L3', substr($meta, 32, 12));
my %where;    # tid -> bucket whose chain holds it
foreach my $b ($oldb, $newb)
{
	my $blk = $primary{$b};
	while ($blk != 0xFFFFFFFF)
	{
		my $page = read_page($fh, $blk);
		for my $i (0 .. nentries($page) - 1)
		{
			my ($hi, $lo, $off) = unpack('S3', substr($page, $ENTRIES + $i * $ENTRY + 8, 6));
			$where{ sprintf('(%d,%d)', ($hi << 16) | $lo, $off) } = $b;
		}
		($blk) = opaque($page);
	}
}
close($fh);
my $in_new = grep { defined $where{$_} && $where{$_} == $newb } @moved_tids;
is($in_new, $nmove, "finishing the split moved all $nmove entries to bucket $newb");

# A second crash, now in a quiet state, and a last full check.
$node->stop('immediate');
$node->start;
check_all($node, 'after a second crash');
verify_clean($node, 'after a second crash', @indexes);

# After a VACUUM that cleans the indexes (INDEX_CLEANUP ON: a plain VACUUM
# may bypass index cleanup when few pages have dead items) no entry of a
# dead tuple is left.
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) kv, uq');
foreach my $idx (@indexes)
{
	is($node->safe_psql('postgres', "SELECT * FROM steward.verify_index('$idx')"),
		'', "after VACUUM (INDEX_CLEANUP ON): verify_index('$idx') returns zero rows");
}

$node->stop;
note sprintf('total %.1f s', time - $t0);
done_testing();
