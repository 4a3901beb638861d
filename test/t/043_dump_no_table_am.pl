# Dumps restored without their access methods (pg_dump / pg_restore
# --no-table-access-method): the tables come back as heap, and a rule on a
# heap table would be silently unenforced.  Every way a rule arrives -- its
# column's security label, a row of steward.column_rules in a
# whole-database dump -- is refused (42809), so the restore reports an
# error for each rule it cannot keep, and no unenforced rule is left: the
# data is all there, and steward.tracked_columns is empty.  Converting the
# table (ALTER TABLE ... SET ACCESS METHOD steward) and calling the API
# again brings the rule back.  A heap partition is not attached under a
# partitioned table with rules (storage_guard.c), so its rows stay in the
# detached partition.  A normal restore of the same dump keeps
# every rule enforced (the tables are created USING steward before their
# labels; test/t/003 and 063 cover the forms in detail).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('no_table_am');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created',
	                     version bigint) USING steward;
	SELECT steward.track_versions('orders', 'version');
	SELECT steward.attach_state_machine('orders', 'status', 'data_lifecycle');
	INSERT INTO orders (id, status) SELECT g, 'new' FROM generate_series(1, 20) g;
	UPDATE orders SET status = 'pending_backfill' WHERE id % 2 = 0;
	CREATE TABLE events (part int NOT NULL, id int NOT NULL, seq bigint NOT NULL)
	    PARTITION BY LIST (part);
	CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1) USING steward;
	SELECT steward.track_sequence('events', 'seq');
	INSERT INTO events SELECT 1, g, g FROM generate_series(1, 10) g;
});
is($node->safe_psql('src', 'SELECT count(*) FROM steward.tracked_columns WHERE enforced'),
	'3', 'the source enforces three rules');

my $dir = $node->basedir;
my $rules_sql = q{SELECT count(*) FROM steward.tracked_columns};
my $data_sql = q{SELECT (SELECT count(*) FROM orders) || '/' || (SELECT sum(version) FROM orders)
                        || '/' || (SELECT count(*) FROM events)};
my $src_data = $node->safe_psql('src', $data_sql);

sub heap_tables
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT string_agg(c.relname || ':' || a.amname, ',' ORDER BY c.relname)
		  FROM pg_class c JOIN pg_am a ON a.oid = c.relam
		 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'});
}

# 1. The whole database, custom format: the labels and the rows of
# steward.column_rules are refused, the restore says so.
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/all.dump", '-d', $node->connstr('src') ],
	'pg_dump of the whole database');
$node->safe_psql('postgres', 'CREATE DATABASE dst_all');
my ($stdout, $stderr);
my $rc = IPC::Run::run(
	[ 'pg_restore', '--no-table-access-method', '-d', $node->connstr('dst_all'), "$dir/all.dump" ],
	'>', \$stdout, '2>', \$stderr);
ok(!$rc, 'whole database without access methods: pg_restore reports errors');
like($stderr, qr/relation "orders" does not use access method "steward"/,
	'whole database: the error names the heap table');
like($stderr, qr/ALTER TABLE public\.orders SET ACCESS METHOD steward/,
	'whole database: the hint says how to convert it');
# A heap partition is not attached under a table with rules (the DDL
# guard, storage_guard.c): its rows stay in events_1, which has no rule.
like($stderr, qr/partition "events_1" uses access method "heap", not "steward"/,
	'whole database: the heap partition is not attached under the table with rules');
is(heap_tables('dst_all'), 'events_1:heap,orders:heap', 'whole database: the tables are heap');
is($node->safe_psql('dst_all', 'SELECT count(*) FROM steward.tracked_columns WHERE NOT enforced'),
	'0', 'whole database: no unenforced rule is left');
is($node->safe_psql('dst_all',
		q{SELECT count(*) FROM steward.tracked_columns WHERE relid IN ('orders'::regclass, 'events_1'::regclass)}),
	'0', 'whole database: the heap tables have no rule');
is($node->safe_psql('dst_all',
		q{SELECT (SELECT count(*) FROM orders) || '/' || (SELECT sum(version) FROM orders)
		         || '/' || (SELECT count(*) FROM events_1)}),
	$src_data, 'whole database: the rows are all there');

# Converted, the table takes its rules again.
$node->safe_psql('dst_all', q{
	ALTER TABLE orders SET ACCESS METHOD steward;
	SELECT steward.track_versions('orders', 'version');});
is($node->safe_psql('dst_all',
		q{SELECT kind || enforced FROM steward.tracked_columns WHERE relid = 'orders'::regclass}),
	'versiontrue', 'whole database: converted, the table takes its rule again');

# 2. pg_dump -t orders, plain format, --no-table-access-method, into a
# database with the extension: psql reports the labels' errors.
$node->command_ok(
	[ 'pg_dump', '--no-table-access-method', '-t', 'orders', '-f', "$dir/orders.sql",
	  '-d', $node->connstr('src') ],
	'pg_dump -t orders --no-table-access-method');
$node->safe_psql('postgres', 'CREATE DATABASE dst_t');
$node->safe_psql('dst_t', 'CREATE EXTENSION pg_steward');
my ($out, $err);
($rc, $out, $err) = $node->psql('dst_t', slurp_file("$dir/orders.sql"), on_error_stop => 0);
my @errors = ($err =~ /ERROR:  relation "orders" does not use access method "steward"/g);
is(scalar(@errors), 2, 'pg_dump -t: both labels are refused, each with an error');
is(heap_tables('dst_t'), 'orders:heap', 'pg_dump -t: the table is heap');
is($node->safe_psql('dst_t', $rules_sql), '0', 'pg_dump -t: no unenforced rule is left');
is($node->safe_psql('dst_t', 'SELECT count(*) FROM orders'), '20', 'pg_dump -t: the rows are there');

# 3. The same whole-database dump restored normally keeps every rule.
$node->safe_psql('postgres', 'CREATE DATABASE dst_ok');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst_ok'), "$dir/all.dump" ],
	'a normal restore succeeds');
is($node->safe_psql('dst_ok', 'SELECT count(*) FROM steward.tracked_columns WHERE enforced'),
	'3', 'a normal restore enforces all three rules');

done_testing();
