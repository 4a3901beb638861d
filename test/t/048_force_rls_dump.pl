# Tables whose row-level security is forced on their owner (review8 #19)
# travel through dumps with their rules: pg_dump writes FORCE with the
# table, the column rules in its security labels, the rows, then ENABLE ROW
# LEVEL SECURITY and the policies after the data, so a restore applies the
# rules while the owner still sees every row.  A plain and a custom-format
# (two jobs) whole-database restore, and a schema-only + data-only pair,
# must all bring back every row, every rule and the FORCE; afterwards the
# rule checks that read stored rows refuse (55000) on the restored table
# as on the source, and the write path keeps enforcing the rules for the
# rows a tenant writes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('force_rls_dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE t_owner;
	CREATE DATABASE src;
});
$node->safe_psql('src', q{
	CREATE EXTENSION pg_steward;
	GRANT CREATE ON SCHEMA public TO t_owner;
	SET ROLE t_owner;
	SELECT steward.create_state_machine('order_m', ARRAY['new', 'paid'], ARRAY['new'],
	                                    ARRAY['new->paid']);
	CREATE TABLE orders (id int PRIMARY KEY, tenant text NOT NULL, version bigint,
	                     status text NOT NULL DEFAULT 'new') USING steward;
	SELECT steward.track_versions('orders', 'version');
	SELECT steward.attach_state_machine('orders', 'status', 'order_m');
	INSERT INTO orders (id, tenant) SELECT g, 't' || (g % 3) FROM generate_series(1, 30) g;
	UPDATE orders SET status = 'paid' WHERE id % 2 = 0;
	ALTER TABLE orders ENABLE ROW LEVEL SECURITY;
	ALTER TABLE orders FORCE ROW LEVEL SECURITY;
	CREATE POLICY tenant ON orders
	    USING (tenant = coalesce(current_setting('app.tenant', true), 'none'));
});

# What the superuser sees (every row) and the table's settings.
my $state = q{
	SELECT (SELECT count(*) || '/' || count(*) FILTER (WHERE status = 'paid') || '/'
	               || sum(version) FROM orders)
	       || ' ' || (SELECT string_agg(attname || ':' || kind, ',' ORDER BY attname)
	                    FROM steward.column_rules WHERE relid = 'orders'::regclass)
	       || ' ' || (SELECT relrowsecurity::text || relforcerowsecurity::text
	                    FROM pg_class WHERE oid = 'orders'::regclass)};
my $expected = $node->safe_psql('src', $state);
is($expected, '30/15/45 status:state,version:version truetrue',
	'source: every row, both rules, row security forced');

my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', "$dir/all.sql" ],
	'plain dump');
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/all.dump" ],
	'custom-format dump');

my %restore = (
	plain => sub {
		my $db = shift;
		$node->command_ok(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db),
			  '-f', "$dir/all.sql" ],
			'plain restore');
	},
	custom => sub {
		my $db = shift;
		$node->command_ok(
			[ 'pg_restore', '-j', '2', '--exit-on-error', '-d', $node->connstr($db),
			  "$dir/all.dump" ],
			'custom restore with two jobs');
	},
	split => sub {
		my $db = shift;
		$node->command_ok(
			[ 'pg_restore', '--schema-only', '--exit-on-error', '-d', $node->connstr($db),
			  "$dir/all.dump" ],
			'schema-only restore');
		$node->command_ok(
			[ 'pg_restore', '--data-only', '--exit-on-error', '-d', $node->connstr($db),
			  "$dir/all.dump" ],
			'data-only restore');
	},
);

for my $form ('plain', 'custom', 'split')
{
	my $db = "r_$form";
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$restore{$form}->($db);
	is($node->safe_psql($db, $state), $expected,
		"$form: every row, both rules and FORCE came back");

	# The checks that read stored rows as the owner refuse, as on the source.
	my ($rc, $out, $err) = $node->psql($db,
		q{SELECT count(*) FROM steward.verify('orders')});
	like($err, qr/row-level security hides rows of table "orders" from its owner/,
		"$form: verify() refuses, the owner cannot see every row");
	like($err, qr/NO FORCE ROW LEVEL SECURITY/, "$form: and names the next step");

	# The write path: a tenant's writes are checked by the rules.
	($rc, $out, $err) = $node->psql($db, q{
		SET ROLE t_owner; SET app.tenant = 't1';
		UPDATE orders SET status = 'new' WHERE id = 4});
	like($err, qr/illegal state transition to "new" for a row of relation "orders"/,
		"$form: the state machine still refuses a tenant's illegal transition");
	is($node->safe_psql($db, q{
		SET ROLE t_owner; SET app.tenant = 't1';
		UPDATE orders SET status = 'paid' WHERE id = 1 RETURNING version}),
		'2', "$form: a tenant's legal write moves its row and bumps its version");

	# Not forced, the same verify() sees every row and passes.
	$node->safe_psql($db, 'ALTER TABLE orders NO FORCE ROW LEVEL SECURITY');
	is($node->safe_psql($db, q{
		SELECT detail FROM steward.verify('orders') WHERE "check" = 'row_count'}),
		'30', "$form: NO FORCE: verify() counts every row");
}

done_testing();
