# pg_dump / pg_restore of steward tables and their rules.
#
# The rules live in steward.column_rules, a configuration table of the
# extension that pg_dump dumps with the data.  They are keyed by column name
# because attribute numbers do not survive a dump: a restored table has no
# holes for dropped columns, and a partition attached with its own column
# order may come back with another one.  After a restore into a new database
# the rows, versions and rules must be identical and the rules must be
# enforced on the right columns.  (The rules also travel as security labels
# on their columns, which restore them first; test/t/063_dump_forms.pl
# covers that and the partial dump forms.)  State checks travel the same
# way (the state column's label, and steward.state_checks): they must come
# back once and run.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
	CREATE EXTENSION pg_steward;

	-- A dropped column before the tracked ones: their attnums shrink by one
	-- in the restored table.
	CREATE TABLE orders (id int PRIMARY KEY, junk text, note text,
	                     seq int NOT NULL, version bigint) USING steward;
	SELECT steward.track_versions('orders', 'version');
	SELECT steward.track_sequence('orders', 'seq');
	INSERT INTO orders (id, junk, note, seq)
	  SELECT g, 'x', 'n' || g, g FROM generate_series(1, 50) g;
	-- Dropped after rows were stored with it, so they keep the dead value.
	ALTER TABLE orders DROP COLUMN junk;
	UPDATE orders SET note = note || '+', seq = seq + 1 WHERE id % 2 = 0;
	UPDATE orders SET note = note || '+', seq = seq + 1 WHERE id % 4 = 0;
	UPDATE orders SET note = note || '!', version = version WHERE id % 8 = 0;

	-- Names that need quoting, in another schema, with a bigint sequence.
	CREATE SCHEMA app;
	CREATE TABLE app."Stock Items" (sku text PRIMARY KEY,
	                                "Row Version" bigint, qty int,
	                                "Event No" bigint NOT NULL) USING steward;
	SELECT steward.track_versions('app."Stock Items"', 'Row Version');
	SELECT steward.track_sequence('app."Stock Items"', 'Event No');
	INSERT INTO app."Stock Items" (sku, qty, "Event No")
	  VALUES ('a-1', 10, 100), ('b-2', 20, 200), ('c-3', 30, 300);
	UPDATE app."Stock Items" SET qty = qty - 1, "Event No" = "Event No" + 1
	 WHERE sku <> 'c-3';

	-- A partitioned table with steward partitions, rules on the parent.
	-- events_2 is built with its own column order and a dropped column and
	-- then attached, so its attnums differ from the parent's.
	CREATE TABLE events (part int NOT NULL, id int NOT NULL, seq bigint NOT NULL,
	                     version bigint, payload text,
	                     PRIMARY KEY (part, id))
	  PARTITION BY LIST (part);
	CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1) USING steward;
	CREATE TABLE events_2 (dropme int, payload text, version bigint,
	                       seq bigint NOT NULL, id int NOT NULL,
	                       part int NOT NULL) USING steward;
	ALTER TABLE events_2 DROP COLUMN dropme;
	ALTER TABLE events ATTACH PARTITION events_2 FOR VALUES IN (2);
	SELECT steward.track_versions('events', 'version');
	SELECT steward.track_sequence('events', 'seq');
	INSERT INTO events (part, id, seq, payload)
	  SELECT 1 + g % 2, g, g * 10, 'p' || g FROM generate_series(1, 40) g;
	UPDATE events SET seq = seq + 1, payload = payload || '+' WHERE id % 3 = 0;
	UPDATE events SET seq = seq + 1 WHERE id % 5 = 0;

	-- A state machine on a column whose attnum shrinks in the restore, with
	-- state checks: the checks travel in the column's label and as rows of
	-- steward.state_checks, and come back once.
	SELECT steward.create_state_machine('ticket_status', ARRAY['open', 'closed'],
	    ARRAY['open'], ARRAY['open->closed']);
	CREATE TABLE tickets (id int PRIMARY KEY, junk text, status text NOT NULL DEFAULT 'open',
	                      closed_by text) USING steward;
	ALTER TABLE tickets DROP COLUMN junk;
	SELECT steward.attach_state_machine('tickets', 'status', 'ticket_status');
	INSERT INTO tickets (id) SELECT g FROM generate_series(1, 6) g;
	UPDATE tickets SET status = 'closed', closed_by = 'ann' WHERE id <= 3;
	SELECT steward.set_state_check('tickets', 'closed',
	    'SELECT count(*) FROM tickets WHERE status = ''closed'' AND closed_by IS NULL');
	SELECT steward.set_state_check('tickets', 'open',
	    'SELECT count(*) FROM tickets WHERE status = ''open'' AND closed_by IS NOT NULL');
});

# What must come back identical.  Explicit column lists: the restored
# events_2 may list its columns in another order.
my %queries = (
	orders => 'SELECT id, note, seq, version FROM orders ORDER BY id',
	stock =>
	  'SELECT sku, "Row Version", qty, "Event No" FROM app."Stock Items" ORDER BY sku',
	events =>
	  'SELECT tableoid::regclass, part, id, seq, version, payload FROM events ORDER BY part, id',
	rules => q{SELECT relid::text, column_name, kind
	             FROM steward.tracked_columns ORDER BY 1, 2},
	checks => q{SELECT relid::text, state, check_sql FROM steward.state_checks ORDER BY 1, 2},
	check_results => q{SELECT state, passed, violations FROM steward.validate('tickets')},
	rule_details => q{SELECT relid::text, column_name, data_type, enforced,
	                         tracked_since
	                    FROM steward.tracked_columns ORDER BY 1, 2},
	access_methods => q{SELECT n.nspname, c.relname, c.relkind, am.amname
	                      FROM pg_class c
	                      JOIN pg_namespace n ON n.oid = c.relnamespace
	                      LEFT JOIN pg_am am ON am.oid = c.relam
	                     WHERE n.nspname IN ('public', 'app')
	                       AND c.relkind IN ('r', 'p')
	                     ORDER BY 1, 2},);
my %src;
$src{$_} = $node->safe_psql('src', $queries{$_}) foreach keys %queries;

# Make sure the source really has what the restore must preserve.
is( $node->safe_psql(
		'src', q{SELECT version, count(*) FROM orders GROUP BY 1 ORDER BY 1}),
	"1|25\n2|13\n3|6\n4|6",
	'source orders have versions above 1');
is( $node->safe_psql(
		'src', q{SELECT tableoid::regclass, count(*), max(version) FROM events
		          GROUP BY 1 ORDER BY 1}),
	"events_1|20|3\nevents_2|20|3",
	'source partitions hold updated rows');
is( $src{rules},
	"app.\"Stock Items\"|Event No|sequence\n"
	  . "app.\"Stock Items\"|Row Version|version\n"
	  . "events|seq|sequence\n"
	  . "events|version|version\n"
	  . "orders|seq|sequence\n"
	  . "orders|version|version\n"
	  . "tickets|status|state",
	'source tracks the expected columns');

my $dumpfile = $node->basedir . '/src.dump';
$node->command_ok(
	[ 'pg_dump', '-Fc', '-f', $dumpfile, '-d', $node->connstr('src') ],
	'pg_dump -Fc of the source database');
$node->command_ok([ 'createdb', '-h', $node->host, '-p', $node->port, 'dst' ],
	'createdb dst');
# pg_restore reports problems on stderr even when they do not make it fail
# (warnings, ignored errors): a clean restore prints nothing.
$node->command_checks_all(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dumpfile ],
	0, [qr/^$/], [qr/^$/],
	'pg_restore into dst succeeds without messages');

foreach my $name (sort keys %queries)
{
	isnt($src{$name}, '', "source returns rows for $name");
	is($node->safe_psql('dst', $queries{$name}),
		$src{$name}, "restored $name are identical");
}

is( $node->safe_psql(
		'dst', q{SELECT string_agg(c.oid::regclass::text || ':' || am.amname, ','
		                           ORDER BY c.oid::regclass::text)
		           FROM pg_class c JOIN pg_am am ON am.oid = c.relam
		          WHERE c.relnamespace IN ('public'::regnamespace, 'app'::regnamespace)
		            AND c.relkind = 'r'}),
	'app."Stock Items":steward,events_1:steward,events_2:steward,orders:steward,tickets:steward',
	'restored tables use the steward access method');

# The point of storing rules by name: the tracked columns moved.
my $attnums = q{SELECT string_agg(attrelid::regclass || '.' || attname || '=' || attnum, ','
                                  ORDER BY attrelid::regclass::text, attname)
                  FROM pg_attribute
                 WHERE attrelid IN ('orders'::regclass, 'events_2'::regclass)
                   AND attname IN ('version', 'seq')};
my $src_attnums = $node->safe_psql('src', $attnums);
my $dst_attnums = $node->safe_psql('dst', $attnums);
note "attnums in src: $src_attnums; in dst: $dst_attnums";
like($src_attnums, qr/orders\.version=5/, 'source version column follows a dropped column');
isnt($dst_attnums, $src_attnums, 'tracked columns have other attnums after the restore');

# Run SQL in dst that must fail; return stderr (with the SQLSTATE).
sub dst_fails
{
	my ($sql) = @_;
	my ($stdout, $stderr);
	my $ret = $node->psql(
		'dst', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout,
		stderr => \$stderr);
	isnt($ret, 0, "refused in dst: $sql");
	return $stderr;
}

# orders: rules apply to the shifted columns.
like(
	dst_fails(q{UPDATE orders SET note = 'stale', version = 1 WHERE id = 8;}),
	qr/ERROR:  40001: stale version for row \(id\)=\(8\) of relation "orders"/,
	'stale update of orders fails with 40001');
like(
	dst_fails(q{UPDATE orders SET seq = 1 WHERE id = 4;}),
	qr/ERROR:  40001: out-of-order write to column "seq"/,
	'lowering orders.seq fails with 40001');
like(
	dst_fails(q{UPDATE orders SET version = 9 WHERE id = 1;}),
	qr/ERROR:  22023: version 9 skips ahead of current version 1/,
	'skipping a version of orders fails with 22023');
like(
	dst_fails(q{INSERT INTO orders (id, note, seq, version) VALUES (99, 'z', 1, 0);}),
	qr/ERROR:  22023: invalid version 0 for new row/,
	'inserting version 0 into orders fails with 22023');
$node->safe_psql('dst',
	q{UPDATE orders SET note = 'touched' WHERE id IN (1, 8);
	  INSERT INTO orders (id, note, seq) VALUES (51, 'new', 1);});
is( $node->safe_psql(
		'dst', 'SELECT id, seq, version FROM orders WHERE id IN (1, 8, 51) ORDER BY id'),
	"1|1|2\n8|10|5\n51|1|1",
	'untouched versions of orders go up by exactly one; inserts start at 1');

# Quoted names.
like(
	dst_fails(q{UPDATE app."Stock Items" SET qty = 0, "Row Version" = 1 WHERE sku = 'a-1';}),
	qr/ERROR:  40001: stale version .*relation "Stock Items"/,
	'stale update of a quoted version column fails with 40001');
like(
	dst_fails(q{UPDATE app."Stock Items" SET "Event No" = 1 WHERE sku = 'c-3';}),
	qr/ERROR:  40001: out-of-order write to column "Event No"/,
	'lowering a quoted sequence column fails with 40001');
$node->safe_psql('dst', q{UPDATE app."Stock Items" SET qty = 0 WHERE sku = 'a-1'});
is( $node->safe_psql(
		'dst', q{SELECT "Row Version", qty FROM app."Stock Items" WHERE sku = 'a-1'}),
	'3|0', 'untouched quoted version column goes up by exactly one');

# Partitions: the parent's rules apply, through the parent and directly,
# also to events_2 whose columns moved.
my $ev = q{SELECT part, id, seq, version FROM events
             WHERE (part, id) IN ((1, 30), (2, 15)) ORDER BY part};
is($node->safe_psql('dst', $ev), "1|30|302|3\n2|15|152|3",
	'restored partition rows before the checks');
like(
	dst_fails(q{UPDATE events SET payload = 'x', version = 2 WHERE part = 2 AND id = 15;}),
	qr/ERROR:  40001: stale version .*relation "events_2"/,
	'stale update through the parent fails with 40001');
like(
	dst_fails(q{UPDATE events_2 SET seq = 151 WHERE id = 15;}),
	qr/ERROR:  40001: out-of-order write to column "seq" .*relation "events_2"/,
	'lowering seq directly in a partition fails with 40001');
like(
	dst_fails(q{UPDATE events_1 SET version = 1 WHERE id = 30;}),
	qr/ERROR:  40001: stale version .*relation "events_1"/,
	'stale update directly in the other partition fails with 40001');
$node->safe_psql('dst',
	q{UPDATE events SET payload = 'touched' WHERE (part, id) IN ((1, 30), (2, 15));
	  UPDATE events_2 SET seq = 153 WHERE id = 15;
	  INSERT INTO events (part, id, seq) VALUES (2, 100, 1);});
is($node->safe_psql('dst', $ev), "1|30|302|4\n2|15|153|5",
	'untouched partition versions go up by exactly one per update');
is($node->safe_psql('dst', 'SELECT version FROM events WHERE part = 2 AND id = 100'),
	'1', 'insert through the parent into the moved partition stores version 1');

# The refused updates were counted against the restored tables of dst.
is( $node->safe_psql(
		'dst', q{SELECT relid::text, version_conflicts, invalid_versions, sequence_rejects
		           FROM steward.table_counters() ORDER BY 1}),
	"app.\"Stock Items\"|1|0|1\nevents_1|1|0|0\nevents_2|1|0|1\norders|1|2|1",
	'dst counts its refused writes per table');

# The restored state checks run on the restored table: a row the "open"
# check refuses is reported.
$node->safe_psql('dst', q{UPDATE tickets SET closed_by = 'bob' WHERE id = 5});
is($node->safe_psql('dst', $queries{check_results}), "closed|t|0\nopen|f|1",
	'the restored state checks report a row they refuse');

# The source database is untouched by all of this.
is($node->safe_psql('src', $queries{orders}), $src{orders},
	'source orders unchanged');

$node->stop;
done_testing();
