# Restore drills on a cluster of tenants (review9 F25, F17).
#
# F25: a tenant's steward table with FORCE ROW LEVEL SECURITY (the
# multi-tenant pattern of docs/security.md) made every drill fail ("verify() failed
# to run": verify() refuses a table whose policies hide rows from its
# owner).  Now the drill lifts FORCE on its throwaway copy only and
# verifies every row there, says so, leaves the source as it was, and
# reports the checksum comparison with the source as not made (the source
# refuses it too): the drill passes.
#
# F17: the owner of the database a drill is recorded in read the lines of
# every database's tables in restore_drills.details (other tenants' table
# names, row counts, failures).  Now details holds that database's lines
# and other databases only as counts; the whole log is in
# steward.restore_drill_log, whose rows only pg_read_all_stats reads.  The
# tenant can still dump its database with --enable-row-security.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest qw(steward_drill);
use IPC::Run;

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

my ($rc, $out, $err) = steward_drill($node, 'tenant_db');

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

# F17
like($out, qr/^ok: other\.secret_payroll verified \(7 rows\)$/m,
	'the other database is verified (the operator sees every line)');
my $id = $node->safe_psql('tenant_db', 'SELECT max(id) FROM steward.restore_drills');
my $tenant_details = $node->safe_psql('tenant_db',
	"SET ROLE tenant; SELECT result || E'\\n' || details FROM steward.restore_drills WHERE id = $id");
like($tenant_details, qr/\Apassed\n/, "the tenant reads its database's drill");
like($tenant_details, qr/^ok: tenant_db\.tenant_plain verified \(5 rows\)$/m,
	"the tenant reads its own tables' lines");
unlike($tenant_details, qr/secret_payroll/, "the tenant does not read the other database's table names");
like($tenant_details,
	qr/^database other: \d+ steward tables checked, 0 failed \(its lines are in steward\.restore_drill_log/m,
	'the other database appears as counts only');
is($node->safe_psql('tenant_db', 'SET ROLE tenant; SELECT count(*) FROM steward.restore_drill_log'),
	'0', 'the tenant reads no row of the whole log');
like($node->safe_psql('tenant_db',
		"SET ROLE stats; SELECT details FROM steward.restore_drill_log WHERE drill_id = $id"),
	qr/^ok: other\.secret_payroll verified \(7 rows\)$/m,
	'pg_read_all_stats reads the whole log');
my $log = $node->safe_psql('tenant_db',
	"SELECT details FROM steward.restore_drill_log WHERE drill_id = $id");
for my $line (grep { /^(ok|FAIL|skipped|not compared|row security): / } split /\n/, $out)
{
	next if index($log, $line) >= 0;
	fail("the whole log lacks: $line");
}

my ($dump_out, $dump_err) = ('', '');
IPC::Run::run(
	[
		'pg_dump', '--enable-row-security', '-h', $node->host, '-p', $node->port,
		'-U', 'tenant', '-d', 'tenant_db'
	],
	'<', \undef, '>', \$dump_out, '2>', \$dump_err);
is($? >> 8, 0, 'the tenant dumps its database with --enable-row-security')
  or diag($dump_err);
unlike($dump_out, qr/secret_payroll/, 'its dump holds nothing of the other database');

done_testing();
