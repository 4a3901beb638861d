# Rules travel with their tables in every dump form (issue 12 item 4).
#
# The rules are mirrored as security labels of provider "steward" on their
# columns, which pg_dump writes with the table in every dump that contains
# it.  For each form -- pg_dump -t, -n, --schema-only followed by
# --data-only, and the whole database -- the restored tables must track
# the same columns (same kinds, machines, changed_at columns, creation
# times) and enforce them: the issue's stale version and illegal
# paid -> created must fail.  The state checks (steward.set_state_check)
# travel in the label of their table's state column: each form must bring
# back the same checks, once, and validate() must run them (a row the
# check refuses is reported).  A second cluster does not preload
# pg_steward, so a restore session starts without the library: the label
# provider is loaded by the extension's event trigger on SECURITY LABEL,
# also when a partitioned table's label comes before any steward table.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('dump_forms');
$node->init;
# Preloaded, as users run it: without it CREATE EXTENSION (also in a
# restore) rightly warns that no statistics are collected.
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql(
	'src', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('order_status',
	    states      => ARRAY['created', 'paid', 'shipped', 'refunded'],
	    initial     => ARRAY['created'],
	    transitions => ARRAY['created->paid', 'paid->shipped', 'paid->refunded']);
	CREATE TABLE orders (order_id bigint PRIMARY KEY, user_id bigint NOT NULL,
	                     status text NOT NULL DEFAULT 'created',
	                     status_changed_at timestamptz, event_no int NOT NULL DEFAULT 0,
	                     version bigint) USING steward;
	SELECT steward.track_versions('orders', 'version');
	SELECT steward.track_sequence('orders', 'event_no');
	SELECT steward.attach_state_machine('orders', 'status', 'order_status',
	                                    changed_at_column => 'status_changed_at');
	INSERT INTO orders (order_id, user_id) SELECT g, g % 10 FROM generate_series(1, 30) g;
	UPDATE orders SET status = 'paid', event_no = 1 WHERE order_id % 2 = 0;
	UPDATE orders SET status = 'shipped', event_no = 2 WHERE order_id % 4 = 0;
	-- A renamed changed_at column: the label follows the rename.
	ALTER TABLE orders RENAME COLUMN status_changed_at TO state_since;

	-- Rules on a partitioned table whose name sorts before its partitions.
	CREATE TABLE events (part int NOT NULL, id int NOT NULL, seq bigint NOT NULL,
	                     version bigint, PRIMARY KEY (part, id)) PARTITION BY LIST (part);
	CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1) USING steward;
	CREATE TABLE events_2 PARTITION OF events FOR VALUES IN (2) USING steward;
	SELECT steward.track_versions('events', 'version');
	SELECT steward.track_sequence('events', 'seq');
	INSERT INTO events (part, id, seq) SELECT 1 + g % 2, g, g FROM generate_series(1, 20) g;
	UPDATE events SET seq = seq + 1 WHERE id % 3 = 0;

	-- Another schema, quoted names, the built-in machine.
	CREATE SCHEMA app;
	CREATE TABLE app."Stock Items" (sku text PRIMARY KEY, "Row Version" bigint,
	                                "Life Cycle" text NOT NULL DEFAULT 'new') USING steward;
	SELECT steward.track_versions('app."Stock Items"', 'Row Version');
	SELECT steward.attach_state_machine('app."Stock Items"', 'Life Cycle', 'data_lifecycle');
	INSERT INTO app."Stock Items" (sku) VALUES ('a'), ('b');
	UPDATE app."Stock Items" SET "Life Cycle" = 'pending_backfill' WHERE sku = 'a';

	-- State checks, on both state columns (names unqualified: checks run
	-- with the table's schema on their search_path).
	SELECT steward.set_state_check('orders', 'paid',
	    'SELECT count(*) FROM orders WHERE status = ''paid'' AND user_id > 9');
	SELECT steward.set_state_check('orders', 'shipped',
	    $$SELECT count(*) FROM orders WHERE status = 'shipped' AND event_no < 2$$);
	SELECT steward.set_state_check('app."Stock Items"', 'pending_backfill',
	    'SELECT count(*) FROM "Stock Items" WHERE "Row Version" IS NULL');
});

my $rules_sql = q{
	SELECT relid::text || '|' || column_name || '|' || kind || '|' ||
	       coalesce(machine, '-') || '|' || coalesce(changed_at_column::text, '-') || '|' ||
	       tracked_since
	  FROM steward.tracked_columns ORDER BY 1};
# (a built-in machine is created by CREATE EXTENSION, at its own time)
my $machines_sql = q{
	SELECT name || '|' || states::text || '|' || initial::text || '|' ||
	       transitions::text || '|' || CASE WHEN builtin THEN 'built in' ELSE created_at::text END
	  FROM steward.state_machines ORDER BY 1};
my $checks_sql = q{
	SELECT relid::text || '|' || state || '|' || check_sql
	  FROM steward.state_checks ORDER BY 1};
my $validate_sql = q{
	SELECT state || '|' || passed || '|' || violations FROM steward.validate('orders')};
my %data_sql = (
	orders => 'SELECT order_id, status, event_no, version, state_since IS NOT NULL FROM orders ORDER BY 1',
	events => 'SELECT tableoid::regclass, part, id, seq, version FROM events ORDER BY 2, 3',
	stock  => 'SELECT sku, "Row Version", "Life Cycle" FROM app."Stock Items" ORDER BY 1');

my $src_rules = $node->safe_psql('src', $rules_sql);
my $src_machines = $node->safe_psql('src', $machines_sql);
my $src_checks = $node->safe_psql('src', $checks_sql);
my $src_validate = $node->safe_psql('src', $validate_sql);
is(scalar(split /\n/, $src_checks), 3, 'the source has three state checks');
is($src_validate, "paid|true|0\nshipped|true|0", 'the source passes its checks');
my @orders_checks = grep { /^orders\|/ } split /\n/, $src_checks;
my %src_data = map { $_ => $node->safe_psql('src', $data_sql{$_}) } keys %data_sql;
is(scalar(split /\n/, $src_rules), 7, 'the source tracks seven columns');
like($src_rules, qr/^orders\|status\|state\|order_status\|state_since\|/m,
	'the source follows the renamed changed_at column');

# The issue's inputs, which a restored table must refuse.
sub check_enforced
{
	my ($db, $form) = @_;
	my ($rc, $out, $err) = $node->psql($db,
		"\\set VERBOSITY sqlstate\nUPDATE orders SET version = 1, status = 'created' WHERE order_id = 2");
	like($err, qr/40001/, "$form: a stale version is refused (40001)");
	($rc, $out, $err) = $node->psql($db,
		"\\set VERBOSITY sqlstate\nUPDATE orders SET status = 'created' WHERE order_id = 2");
	like($err, qr/23514/, "$form: paid -> created is refused (23514)");
	($rc, $out, $err) = $node->psql($db,
		"\\set VERBOSITY sqlstate\nUPDATE orders SET event_no = 0 WHERE order_id = 4");
	like($err, qr/40001/, "$form: a lower sequence value is refused (40001)");
	$node->safe_psql($db, "UPDATE orders SET status = 'paid' WHERE order_id = 1");
	is($node->safe_psql($db,
			'SELECT status, version, state_since IS NOT NULL FROM orders WHERE order_id = 1'),
		'paid|2|t', "$form: a legal update bumps the version and stamps changed_at");
	# The restored checks run: a paid order the "paid" check refuses.
	is($node->safe_psql($db, $validate_sql), $src_validate,
		"$form: validate() runs the restored checks with the source's results");
	$node->safe_psql($db, 'UPDATE orders SET user_id = 42 WHERE order_id = 2');
	is($node->safe_psql($db, $validate_sql), "paid|false|1\nshipped|true|0",
		"$form: the restored \"paid\" check reports the row it refuses");
}

sub fresh_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION pg_steward');
}

# psql -f of a plain dump; returns stderr, which must be empty.
sub restore_plain
{
	my ($db, $file, $stop) = @_;
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=' . ($stop // 1),
			'-d', $node->connstr($db), '-f', $file ], '>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stderr);
}

sub dump_to
{
	my ($file, @args) = @_;
	$node->command_ok([ 'pg_dump', '-f', $file, @args, '-d', $node->connstr('src') ],
		"pg_dump @args");
}

my $dir = $node->basedir;

# 1. pg_dump -t orders: rules, machine attachment and the machine itself.
dump_to("$dir/t.sql", '-t', 'orders');
like(slurp_file("$dir/t.sql"), qr/SECURITY LABEL FOR steward ON COLUMN public\.orders\.version/,
	'the -t dump carries the version rule as a label');
like(slurp_file("$dir/t.sql"),
	qr/SECURITY LABEL FOR steward ON COLUMN public\.orders\.status IS '[^\n]*"checks": \{"paid": /,
	'the -t dump carries the state checks in the state column\'s label');
fresh_db('dst_t');
my ($rc, $err) = restore_plain('dst_t', "$dir/t.sql");
is($rc, 0, 'pg_dump -t restores');
is($err, '', 'pg_dump -t restores without messages');
my @orders_rules = grep { /^orders\|/ } split /\n/, $src_rules;
is($node->safe_psql('dst_t', $rules_sql), join("\n", @orders_rules),
	'-t: the same rules, machine, changed_at column and creation times');
is((grep { /^order_status\|/ } split /\n/, $node->safe_psql('dst_t', $machines_sql))[0],
	(grep { /^order_status\|/ } split /\n/, $src_machines)[0],
	'-t: the machine was created with its definition and creation time');
is($node->safe_psql('dst_t', $data_sql{orders}), $src_data{orders}, '-t: the rows are identical');
is($node->safe_psql('dst_t', $checks_sql), join("\n", @orders_checks),
	'-t: the table\'s state checks came with it');
check_enforced('dst_t', 'pg_dump -t');

# 2. pg_dump -n public: the partitioned table's label comes first.  The
# dump creates schema public, which every database has: that one error is
# what psql shows, as for any -n public dump.
dump_to("$dir/n.sql", '-n', 'public');
fresh_db('dst_n');
($rc, $err) = restore_plain('dst_n', "$dir/n.sql", 0);
is($rc, 0, 'pg_dump -n public restores');
like($err, qr/\A[^\n]*ERROR:  schema "public" already exists\n\z/,
	'pg_dump -n public restores with no other message');
is($node->safe_psql('dst_n', $rules_sql),
	join("\n", grep { !/^app\./ } split /\n/, $src_rules),
	'-n public: the same rules, partitioned table included');
is($node->safe_psql('dst_n', $data_sql{events}), $src_data{events}, '-n: partitions identical');
($rc, my $out, $err) = $node->psql('dst_n',
	"\\set VERBOSITY sqlstate\nUPDATE events SET seq = 1 WHERE id = 9");
like($err, qr/40001/, '-n: the parent\'s sequence rule holds in its partitions');
is($node->safe_psql('dst_n', $checks_sql), join("\n", @orders_checks),
	'-n public: the state checks of its tables came with them');
check_enforced('dst_n', 'pg_dump -n');

# The same dump into a server that does not preload pg_steward: the first
# label (the partitioned table's) comes before anything has loaded the
# library in the restore session.
my $bare = PostgreSQL::Test::Cluster->new('not_preloaded');
$bare->init;
$bare->start;
$bare->safe_psql('postgres', 'CREATE DATABASE dst');
$bare->safe_psql('dst', 'CREATE EXTENSION pg_steward');
my ($bare_out, $bare_err) = ('', '');
IPC::Run::run([ 'psql', '-X', '-q', '-d', $bare->connstr('dst'), '-f', "$dir/n.sql" ],
	'>', \$bare_out, '2>', \$bare_err);
like($bare_err, qr/\A[^\n]*ERROR:  schema "public" already exists\n\z/,
	'not preloaded: the -n dump restores with no other message');
is($bare->safe_psql('dst', $rules_sql),
	join("\n", grep { !/^app\./ } split /\n/, $src_rules),
	'not preloaded: the partitioned table\'s rules are restored too');
# A session whose first statement is the label (pg_restore --section, a
# label-only script): only the event trigger loads the provider for it.
$bare->safe_psql('dst', 'CREATE TABLE first_label (id int, version bigint) USING steward');
is($bare->psql('dst',
		q{SECURITY LABEL FOR steward ON COLUMN first_label.version IS '{"v": 1, "kind": "version"}'}),
	0, 'not preloaded: a label as the first statement of a session works');
is($bare->safe_psql('dst',
		q{SELECT kind FROM steward.tracked_columns WHERE relid = 'first_label'::regclass}),
	'version', 'and makes the rule');
$bare->stop;

# 3. --schema-only, then --data-only into that prepared database: the
# extension's own tables meet rows the labels created, without duplicate
# keys, and the data restore runs under the rules.
dump_to("$dir/schema.sql", '--schema-only');
dump_to("$dir/data.sql", '--data-only');
like(slurp_file("$dir/data.sql"), qr/COPY steward\.state_checks/,
	'the data-only dump carries the state checks table too');
like(slurp_file("$dir/data.sql"), qr/COPY steward\.column_rules/,
	'the data-only dump carries the rules table too');
$node->safe_psql('postgres', 'CREATE DATABASE dst_s');
($rc, $err) = restore_plain('dst_s', "$dir/schema.sql");
is($rc, 0, '--schema-only restores');
is($err, '', '--schema-only restores without messages');
is($node->safe_psql('dst_s', $rules_sql), $src_rules, '--schema-only: every rule is there');
is($node->safe_psql('dst_s', $checks_sql), $src_checks, '--schema-only: every state check is there');
is($node->safe_psql('dst_s', 'SELECT count(*) FROM orders'), '0', '--schema-only: no rows yet');
($rc, $err) = restore_plain('dst_s', "$dir/data.sql");
is($rc, 0, '--data-only into the prepared database restores');
is($err, '', '--data-only restores without messages (no duplicate keys)');
is($node->safe_psql('dst_s', $rules_sql), $src_rules, 'schema + data: the rules, once');
is($node->safe_psql('dst_s', $machines_sql), $src_machines, 'schema + data: the machines, once');
is($node->safe_psql('dst_s', $checks_sql), $src_checks, 'schema + data: the state checks, once');
is($node->safe_psql('dst_s', $data_sql{$_}), $src_data{$_}, "schema + data: $_ identical")
  foreach sort keys %data_sql;
check_enforced('dst_s', 'schema-only + data-only');

# 4. The whole database, custom format, pg_restore: an exact round trip.
dump_to("$dir/all.dump", '-Fc');
$node->safe_psql('postgres', 'CREATE DATABASE dst_all');
$node->command_checks_all(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst_all'), "$dir/all.dump" ],
	0, [qr/^$/], [qr/^$/], 'whole database: pg_restore without messages');
is($node->safe_psql('dst_all', $rules_sql), $src_rules, 'whole database: the same rules');
is($node->safe_psql('dst_all', $machines_sql), $src_machines, 'whole database: the same machines');
is($node->safe_psql('dst_all', $checks_sql), $src_checks, 'whole database: the same state checks, once');
is($node->safe_psql('dst_all', $data_sql{$_}), $src_data{$_}, "whole database: $_ identical")
  foreach sort keys %data_sql;
is($node->safe_psql('dst_all',
		q{SELECT count(*) FROM pg_seclabel WHERE provider = 'steward'
		    AND objoid <> 'steward.migration_runs'::regclass}),   # not pg_steward's own rule
	'7', 'whole database: one label per rule');
check_enforced('dst_all', 'whole database');

# 5. The same archive restored section by section (pg_restore --section):
# the labels come with pre-data, the extension's rows with data.
$node->safe_psql('postgres', 'CREATE DATABASE dst_sec');
foreach my $section (qw(pre-data data post-data))
{
	$node->command_checks_all(
		[ 'pg_restore', '--exit-on-error', "--section=$section",
			'-d', $node->connstr('dst_sec'), "$dir/all.dump" ],
		0, [qr/^$/], [qr/^$/], "--section=$section: pg_restore without messages");
	is($node->safe_psql('dst_sec', $checks_sql), $src_checks,
		"--section=$section: the state checks are there, once")
	  if $section eq 'pre-data' || $section eq 'post-data';
}
is($node->safe_psql('dst_sec', $rules_sql), $src_rules, '--section: the same rules');
is($node->safe_psql('dst_sec', $machines_sql), $src_machines, '--section: the same machines');
is($node->safe_psql('dst_sec', $data_sql{$_}), $src_data{$_}, "--section: $_ identical")
  foreach sort keys %data_sql;
check_enforced('dst_sec', '--section');

# A machine of the same name but another definition is not silently
# swapped in: the label is refused, saying why.
fresh_db('dst_conflict');
$node->safe_psql('dst_conflict',
	q{SELECT steward.create_state_machine('order_status', ARRAY['created', 'done'],
	                                      ARRAY['created'], ARRAY['created->done'])});
($rc, $err) = restore_plain('dst_conflict', "$dir/t.sql");
like($err, qr/state machine "order_status" of this database differs from the one attached to column "status"/,
	'a differing machine of the same name is refused with a clear error');

# Labels are pg_steward's to write: validated, and only on columns.
($rc, $out, $err) = $node->psql('dst_t',
	q{SECURITY LABEL FOR steward ON COLUMN orders.user_id IS 'version'});
like($err, qr/invalid pg_steward label/, 'a label that is not a rule is refused');
($rc, $out, $err) = $node->psql('dst_t',
	q{SECURITY LABEL FOR steward ON COLUMN orders.status IS '{"v": 1, "kind": "version"}'});
like($err, qr/must be of type bigint/, 'a label is validated like the API');
($rc, $out, $err) = $node->psql('dst_t', q{SECURITY LABEL FOR steward ON TABLE orders IS 'x'});
like($err, qr/apply to table columns only/, 'labels on tables are refused');
$node->safe_psql('dst_t', q{CREATE ROLE label_stranger});
($rc, $out, $err) = $node->psql('dst_t',
	q{SET ROLE label_stranger;
	  SECURITY LABEL FOR steward ON COLUMN orders.version IS NULL});
like($err, qr/must be owner of relation orders/, 'only the owner may change a rule through its label');
# A definition the API refuses (a generated column computed from the
# version, which the AM sets after the executor computed it) is refused
# through a label too.
$node->safe_psql('dst_t', q{
	CREATE TABLE docs (id int PRIMARY KEY, version bigint,
	                   etag text GENERATED ALWAYS AS (id::text || '-' || version::text) STORED)
	  USING steward});
($rc, $out, $err) = $node->psql('dst_t',
	q{SECURITY LABEL FOR steward ON COLUMN docs.version IS '{"v": 1, "kind": "version"}'});
like($err, qr/etag/, 'a label cannot make a rule that track_versions refuses');
is($node->safe_psql('dst_t', q{SELECT count(*) FROM steward.tracked_columns WHERE relid = 'docs'::regclass}),
	'0', 'and no rule was left behind');
# Removing the label removes the rule, like untrack.
$node->safe_psql('dst_t', q{SECURITY LABEL FOR steward ON COLUMN orders.event_no IS NULL});
is($node->safe_psql('dst_t',
		q{SELECT count(*) FROM steward.tracked_columns WHERE column_name = 'event_no'}),
	'0', 'SECURITY LABEL ... IS NULL drops the rule');

# What ALTER EXTENSION UPDATE labels in a database of 0.1 (which wrote no
# labels) is TAP 133's, on a real 0.1 install: this library writes labels
# for 0.1's objects itself, so a "0.1" database made here tests nothing
# of the update (review33 U4).

$node->stop;
done_testing();
