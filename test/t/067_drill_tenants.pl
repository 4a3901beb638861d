# Restore drills on a cluster of tenants (review9 F25).
#
# F25: a tenant's steward table with FORCE ROW LEVEL SECURITY (the
# README's multi-tenant pattern) made every drill fail ("verify() failed
# to run": verify() refuses a table whose policies hide rows from its
# owner).  Now the drill lifts FORCE on its throwaway copy only and
# verifies every row there, says so, leaves the source as it was, and
# reports the checksum comparison with the source as not made (the source
# refuses it too): the drill passes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $osuser = getpwuid($>);
my $node   = PostgreSQL::Test::Cluster->new('drill_tenants');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE tenant LOGIN;
	CREATE ROLE other_owner LOGIN;
	CREATE ROLE stats LOGIN IN ROLE pg_read_all_stats;
	CREATE DATABASE tenant_db OWNER tenant;
	CREATE DATABASE other OWNER other_owner;
});
$node->safe_psql('other', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE secret_payroll (id int PRIMARY KEY, salary int) USING steward;
	INSERT INTO secret_payroll SELECT g, 1000 * g FROM generate_series(1, 7) g;
});
$node->safe_psql('tenant_db', q{
	CREATE EXTENSION pg_steward;
	SET ROLE tenant;
	CREATE TABLE tenant_orders (id int PRIMARY KEY, tenant text NOT NULL DEFAULT current_user,
	                            st text) USING steward;
	INSERT INTO tenant_orders (id, tenant) SELECT g, CASE WHEN g <= 4 THEN 'tenant' ELSE 'acme' END
	  FROM generate_series(1, 10) g;
	ALTER TABLE tenant_orders ENABLE ROW LEVEL SECURITY;
	ALTER TABLE tenant_orders FORCE ROW LEVEL SECURITY;
	CREATE POLICY own_rows ON tenant_orders USING (tenant = current_user);
	CREATE TABLE tenant_plain (id int PRIMARY KEY) USING steward;
	INSERT INTO tenant_plain SELECT generate_series(1, 5);
});
is($node->safe_psql('tenant_db', 'SET ROLE tenant; SELECT count(*) FROM tenant_orders'),
	'4', 'the policy shows the owner its own rows only');
$node->safe_psql('tenant_db', 'CHECKPOINT');

my ($out, $err) = ('', '');
IPC::Run::run(
	[ 'steward-drill', '-h', $node->host, '-p', $node->port, '-U', $osuser, '-d', 'tenant_db' ],
	'<', \undef, '>', \$out, '2>', \$err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
my $rc = $? >> 8;
note "steward-drill exit $rc\nstdout:\n$out\nstderr:\n$err";

# F25
is($rc, 0, 'the drill passes with a FORCE ROW LEVEL SECURITY table');
unlike($out, qr/^FAIL/m, 'nothing failed');
like($out,
	qr/^row security: tenant_db\.tenant_orders forces its policies on its owner; lifted on the restored copy only/m,
	'the drill says it lifted FORCE on its copy');
like($out, qr/^ok: tenant_db\.tenant_orders verified \(10 rows\)$/m,
	'the table is verified on the copy, every row of it');
like($out,
	qr/^not compared: tenant_db\.tenant_orders checksum ranges \(its row security is forced on its owner on the source/m,
	'the comparison with the source is reported as not made');
like($out, qr/^ok: tenant_db\.tenant_plain checksum ranges match the source$/m,
	'the other tables are compared as before');
is($node->safe_psql('tenant_db',
		q{SELECT relforcerowsecurity FROM pg_class WHERE oid = 'tenant_orders'::regclass}),
	't', 'the source table still forces its row security');

done_testing();
