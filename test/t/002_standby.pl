# Physical streaming replication of steward tables.
#
# Steward tables are heap tables as far as WAL is concerned, so a streaming
# standby must end up with exactly the primary's rows (including versions the
# access method assigned, COPY batches, partitions, TOAST data and indexes),
# must be able to read them through the steward access method, and must
# refuse writes.  After promotion the former standby enforces the rules
# itself, from the rules it received through WAL.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf',
	"shared_preload_libraries = 'pg_steward'");
$primary->start;

# The standby is cloned before the extension exists, so that everything,
# CREATE EXTENSION included, reaches it through streaming.
$primary->backup('bkp');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bkp', has_streaming => 1);
# init_from_backup copies postgresql.conf, setting included; say it anyway so
# that the standby does not depend on that detail.
$standby->append_conf('postgresql.conf',
	"shared_preload_libraries = 'pg_steward'");
$standby->start;

$primary->safe_psql(
	'postgres', q{
	CREATE EXTENSION pg_steward;

	-- Versions and sequences on a plain steward table.
	CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL,
	                     seq int NOT NULL, version bigint) USING steward;
	SELECT steward.track_versions('orders', 'version');
	SELECT steward.track_sequence('orders', 'seq');
	INSERT INTO orders (id, status, seq)
	  SELECT g, 'new', 1 FROM generate_series(1, 200) g;
	-- Untouched version: stored + 1.
	UPDATE orders SET status = 'paid', seq = 2 WHERE id % 3 = 0;
	-- Supplied version equal to the stored one: stored + 1.
	UPDATE orders SET status = 'shipped', seq = 3, version = 2 WHERE id % 6 = 0;
	-- Supplied version stored + 1: stored as given.
	UPDATE orders SET status = 'done', seq = 4, version = 4 WHERE id = 12;

	-- COPY (multi-insert path) into a steward table; NULL versions become 1.
	CREATE TABLE events (id bigint PRIMARY KEY, entity int NOT NULL,
	                     seq bigint NOT NULL, version bigint) USING steward;
	SELECT steward.track_versions('events', 'version');
	SELECT steward.track_sequence('events', 'seq');
	COPY events (id, entity, seq) FROM PROGRAM
	  'seq 1 2000 | awk ''{print $1 "\t" ($1 % 17) "\t" $1}''';
	UPDATE events SET seq = seq + 10 WHERE entity = 5;

	-- Partitioned table with steward partitions, rules on the parent.
	CREATE TABLE ledger (account int NOT NULL, entry int NOT NULL,
	                     amount numeric NOT NULL, version bigint,
	                     PRIMARY KEY (account, entry))
	  PARTITION BY RANGE (account);
	CREATE TABLE ledger_a PARTITION OF ledger FOR VALUES FROM (0) TO (50)
	  USING steward;
	CREATE TABLE ledger_b PARTITION OF ledger FOR VALUES FROM (50) TO (100)
	  USING steward;
	SELECT steward.track_versions('ledger', 'version');
	COPY ledger (account, entry, amount) FROM PROGRAM
	  'seq 0 99 | awk ''{print $1 "\t1\t" $1 * 10}''';
	INSERT INTO ledger (account, entry, amount)
	  SELECT a, 2, a FROM generate_series(0, 99, 7) a;
	UPDATE ledger SET amount = amount + 1 WHERE account % 10 = 0;

	-- A TOASTed value (incompressible, so stored out of line), then an
	-- update of another column that keeps the TOAST pointer.
	CREATE TABLE docs (id int PRIMARY KEY, body text, version bigint)
	  USING steward;
	SELECT steward.track_versions('docs', 'version');
	INSERT INTO docs (id, body)
	  SELECT 1, string_agg(md5(g::text), '') FROM generate_series(1, 10000) g;
	INSERT INTO docs (id, body) VALUES (2, 'short');
	UPDATE docs SET id = id WHERE id = 1;

	-- An index built after the data is loaded.
	CREATE INDEX events_entity_seq ON events (entity, seq);
	CREATE INDEX ledger_amount ON ledger (amount);
});

# A stale update on the primary is refused and leaves nothing behind.
my ($stdout, $stderr);
my $ret = $primary->psql(
	'postgres',
	"\\set VERBOSITY verbose\nUPDATE orders SET status = 'lost', version = 1 WHERE id = 3;",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'stale update is refused on the primary');
like($stderr, qr/ERROR:  40001: stale version/,
	'stale update fails with SQLSTATE 40001');

$ret = $primary->psql(
	'postgres',
	"\\set VERBOSITY verbose\nUPDATE events SET seq = 1 WHERE id = 100;",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'lowering a sequence is refused on the primary');
like($stderr, qr/ERROR:  40001: out-of-order write/,
	'out-of-order write fails with SQLSTATE 40001');

is( $primary->safe_psql(
		'postgres', q{SELECT version_conflicts, sequence_rejects
		                FROM steward.table_counters()
		               WHERE relid IN ('orders'::regclass, 'events'::regclass)
		               ORDER BY relid::text}),
	"0|1\n1|0",
	'primary counts the refused updates');

# Sanity checks of what the primary stored, so that "standby equals
# primary" below compares meaningful data.
is( $primary->safe_psql(
		'postgres', q{SELECT version, count(*) FROM orders
		               GROUP BY version ORDER BY version}),
	"1|134\n2|33\n3|32\n4|1",
	'primary assigned the expected versions');
is($primary->safe_psql('postgres', q{SELECT status, version FROM orders WHERE id = 3}),
	'paid|2', 'refused update left the row unchanged');
is( $primary->safe_psql(
		'postgres', q{SELECT count(*), min(version), max(version) FROM events}),
	'2000|1|2', 'COPY stored version 1 in every row');
is( $primary->safe_psql(
		'postgres',
		q{SELECT tableoid::regclass, count(*), max(version) FROM ledger
		   GROUP BY 1 ORDER BY 1}),
	"ledger_a|58|2\nledger_b|57|2",
	'partitions hold the rows, with versions from the parent rule');
is( $primary->safe_psql(
		'postgres',
		q{SELECT pg_column_size(body) > 100000, length(body), version
		    FROM docs WHERE id = 1}),
	't|320000|2', 'large value is stored out of line');
is( $primary->safe_psql(
		'postgres',
		q{SELECT reltoastrelid <> 0 FROM pg_class WHERE oid = 'docs'::regclass}),
	't', 'steward table has a TOAST table');

$primary->wait_for_catchup($standby);

# Queries whose results must be identical on both nodes.
my %queries = (
	'orders' => 'SELECT * FROM orders ORDER BY id',
	'events' => 'SELECT * FROM events ORDER BY id',
	'ledger' =>
	  'SELECT tableoid::regclass, * FROM ledger ORDER BY account, entry',
	'docs' =>
	  'SELECT id, md5(body), length(body), version FROM docs ORDER BY id',
	'tracked_columns' => q{SELECT relid::text, column_name, kind, data_type,
	                              enforced, tracked_since
	                         FROM steward.tracked_columns
	                        ORDER BY relid::text, column_name},
	'access methods' => q{SELECT c.relname, c.relkind, am.amname
	                        FROM pg_class c
	                        LEFT JOIN pg_am am ON am.oid = c.relam
	                       WHERE c.relnamespace = 'public'::regnamespace
	                       ORDER BY c.relname},);
foreach my $name (sort keys %queries)
{
	my $p = $primary->safe_psql('postgres', $queries{$name});
	my $s = $standby->safe_psql('postgres', $queries{$name});
	isnt($p, '', "primary returns rows for $name");
	is($s, $p, "standby returns the same $name as the primary");
}

is( $standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'),
	't', 'standby is in recovery');
is( $standby->safe_psql(
		'postgres', q{SELECT string_agg(relname || ':' || amname, ',' ORDER BY relname)
		  FROM pg_class c JOIN pg_am am ON am.oid = c.relam
		 WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'}),
	'docs:steward,events:steward,ledger_a:steward,ledger_b:steward,orders:steward',
	'standby tables use the steward access method');

# Index scans on the standby read the steward heap through the indexes.
my $idx = q{SET enable_seqscan = off; SET enable_bitmapscan = off;};
like(
	$standby->safe_psql(
		'postgres',
		"$idx EXPLAIN (COSTS OFF) SELECT * FROM events WHERE entity = 5 AND seq > 1000"
	),
	qr/Index Scan using events_entity_seq on events/,
	'standby plans an index scan on the index built after the load');
is( $standby->safe_psql(
		'postgres',
		"$idx SELECT count(*), min(seq), max(seq) FROM events WHERE entity = 5 AND seq > 1000"
	),
	$primary->safe_psql(
		'postgres',
		'SELECT count(*), min(seq), max(seq) FROM events WHERE entity = 5 AND seq > 1000'
	),
	'index scan on the standby finds the same rows as a scan on the primary');
is( $standby->safe_psql(
		'postgres', "$idx SELECT status, seq, version FROM orders WHERE id = 12"),
	'done|4|4', 'primary key lookup on the standby');
like(
	$standby->safe_psql(
		'postgres',
		"$idx EXPLAIN (COSTS OFF) SELECT * FROM ledger WHERE amount = 701"),
	qr/Index Scan using ledger_b_amount_idx on ledger_b/,
	'standby plans an index scan on a partition index');
is( $standby->safe_psql(
		'postgres', "$idx SELECT account, entry, version FROM ledger WHERE amount = 701"),
	'70|1|2', 'partition index scan on the standby');
# Rebuild the value independently rather than trusting the primary's copy.
is( $standby->safe_psql(
		'postgres', q{SELECT body = (SELECT string_agg(md5(g::text), '')
		                              FROM generate_series(1, 10000) g)
		                FROM docs WHERE id = 1}),
	't', 'TOASTed value is read back intact on the standby');

# Writes are refused on the standby, whatever the path.  DML and COPY fail
# the read-only checks (25006); the rule functions refuse before they lock
# anything, worded as core refuses COPY there (25006; they failed on the
# lock, which hot standby refuses, until msg6: 55000 "cannot acquire lock
# mode ShareRowExclusiveLock ...", 125_msg6_writers_on_standby).
my $readonly =
  qr/ERROR:  25006: cannot execute (INSERT|UPDATE) in a read-only transaction/;
my $recovery_copy = qr/ERROR:  25006: cannot execute COPY during recovery/;
foreach my $write (
	[ "INSERT INTO orders (id, status, seq) VALUES (1000, 'new', 1)", $readonly ],
	[ "UPDATE orders SET status = 'x' WHERE id = 1", $readonly ],
	[ "COPY events (id, entity, seq) FROM PROGRAM 'echo 9999 1 1'", $recovery_copy ],
	[ "SELECT steward.track_sequence('docs', 'id')",
		qr/ERROR:  25006: cannot execute steward\.track_sequence\(\) during recovery/ ],
	[ "SELECT steward.untrack('orders', 'seq')",
		qr/ERROR:  25006: cannot execute steward\.untrack\(\) during recovery/ ])
{
	my ($sql, $expected) = @$write;
	$ret = $standby->psql(
		'postgres', "\\set VERBOSITY verbose\n$sql;",
		stdout => \$stdout,
		stderr => \$stderr);
	isnt($ret, 0, "standby refuses: $sql");
	like($stderr, $expected, "standby gives the expected error for: $sql");
}
is( $standby->safe_psql('postgres', q{SELECT count(*) FROM steward.column_rules
		 WHERE relid <> 'steward.migration_runs'::regclass}),
	'6', 'rules are unchanged on the standby');

# Changes made after the standby caught up stream too, including a rule
# removal that changes what later updates store.
$primary->safe_psql(
	'postgres', q{
	UPDATE orders SET status = 'archived' WHERE id <= 10;
	SELECT steward.untrack('events', 'seq');
	UPDATE events SET seq = 0 WHERE id = 1;
});
$primary->wait_for_catchup($standby);
is( $standby->safe_psql(
		'postgres', 'SELECT id, status, version FROM orders WHERE id IN (1, 3, 6) ORDER BY id'),
	"1|archived|2\n3|archived|3\n6|archived|4",
	'later updates reach the standby with their versions');
is( $standby->safe_psql('postgres', 'SELECT seq, version FROM events WHERE id = 1'),
	'0|2', 'update allowed after untrack reaches the standby');

# After promotion the former standby enforces the rules it received.
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'timed out waiting for promotion';
$ret = $standby->psql(
	'postgres',
	"\\set VERBOSITY verbose\nUPDATE orders SET version = 1 WHERE id = 6;",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'promoted standby refuses a stale update');
like($stderr, qr/ERROR:  40001: stale version/,
	'promoted standby reports SQLSTATE 40001');
$standby->safe_psql('postgres',
	q{UPDATE orders SET status = 'reopened' WHERE id = 6;
	  UPDATE ledger SET amount = 0 WHERE account = 70 AND entry = 1;
	  INSERT INTO docs (id, body) VALUES (3, 'new');});
is( $standby->safe_psql(
		'postgres', q{SELECT (SELECT version FROM orders WHERE id = 6),
		                     (SELECT version FROM ledger WHERE account = 70 AND entry = 1),
		                     (SELECT version FROM docs WHERE id = 3)}),
	'5|3|1',
	'promoted standby assigns versions on update, partition update and insert');

$standby->stop;
$primary->stop;
done_testing();
