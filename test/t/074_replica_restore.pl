# A whole-database dump loaded under session_replication_role = replica (a
# common way to load one: triggers and foreign keys stay quiet) restores
# pg_steward's rules, machines and state checks: the rows come twice (the
# columns' security labels recreate them, then the extension's
# configuration data), and the merge triggers that make the second copy a
# no-op are ENABLE ALWAYS (before: ENABLE ORIGIN, a duplicate key in
# column_rules ended the restore).  pg_steward's event triggers, ENABLE
# ALWAYS too, fire during such a restore as during any other, and refuse
# nothing the dump holds; afterwards the rules are enforced.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('replica_restore');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('m74', ARRAY['new', 'paid', 'shipped'], ARRAY['new'],
	                                    ARRAY['new->paid', 'paid->shipped']);
	CREATE TABLE orders (id int PRIMARY KEY, st text NOT NULL DEFAULT 'new',
	                     st_at timestamptz, ver bigint, seq int NOT NULL DEFAULT 0) USING steward;
	SELECT steward.attach_state_machine('orders', 'st', 'm74', 'st_at');
	SELECT steward.track_versions('orders', 'ver');
	SELECT steward.track_sequence('orders', 'seq');
	SELECT steward.set_state_check('orders', 'paid', 'SELECT count(*) FROM public.orders WHERE false');
	CREATE TABLE parted (id int NOT NULL, ver bigint) PARTITION BY RANGE (id);
	CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (100) USING steward;
	SELECT steward.track_versions('parted', 'ver');
	INSERT INTO orders (id) SELECT g FROM generate_series(1, 10) g;
	UPDATE orders SET st = 'paid', seq = 3 WHERE id <= 4;
	INSERT INTO parted (id) SELECT g FROM generate_series(1, 10) g;
});

my $state = q{
	SELECT (SELECT string_agg(relid::text || '.' || attname || ':' || kind, ',' ORDER BY relid::text, attname)
	          FROM steward.column_rules WHERE relid::text NOT LIKE 'steward.%') || ' '
	       || (SELECT string_agg(name, ',' ORDER BY name) FROM steward.machine_definitions
	            WHERE name = 'm74') || ' '
	       || (SELECT string_agg(relid::text || ':' || state, ',') FROM steward.state_checks) || ' '
	       || (SELECT count(*) FROM orders WHERE st = 'paid') || '/' || (SELECT count(*) FROM parted)};
my $expected = $node->safe_psql('src', $state);
is($expected, 'orders.seq:sequence,orders.st:state,orders.ver:version,parted.ver:version m74 orders:paid 4/10',
	'source: rules, machine, check and rows');

my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', "$dir/all.sql" ], 'plain dump');
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/all.dump" ],
	'custom-format dump');
$node->safe_psql('postgres', 'CREATE DATABASE r_plain; CREATE DATABASE r_jobs;');

{
	local $ENV{PGOPTIONS} = '-c session_replication_role=replica';
	$node->command_ok(
		[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('r_plain'),
		  '-f', "$dir/all.sql" ],
		'plain dump loaded under session_replication_role = replica');
	$node->command_ok(
		[ 'pg_restore', '-j', '2', '--exit-on-error', '-d', $node->connstr('r_jobs'),
		  "$dir/all.dump" ],
		'pg_restore -j2 under session_replication_role = replica');
}

for my $db ('r_plain', 'r_jobs')
{
	is($node->safe_psql($db, $state), $expected, "$db: the same rules, machine, check and rows");
	my ($ret, $out, $err) = $node->psql($db, "UPDATE orders SET st = 'new' WHERE id = 1");
	like($err, qr/illegal state transition "paid" -> "new"/, "$db: the machine is enforced");
	($ret, $out, $err) = $node->psql($db, 'UPDATE orders SET ver = 0 WHERE id = 2');
	like($err, qr/stale version/, "$db: versions are enforced");
	($ret, $out, $err) = $node->psql($db, 'UPDATE parted SET ver = 0 WHERE id = 2');
	like($err, qr/stale version/, "$db: the partitioned table's rule reaches its partition");
	($ret, $out, $err) = $node->psql($db,
		"SET session_replication_role = replica; ALTER TABLE orders ALTER COLUMN st TYPE text USING 'shipped'");
	like($err, qr/cannot rewrite column "st" of relation "orders" with USING/,
		"$db: the DDL checks fire under replica");
}

done_testing();
