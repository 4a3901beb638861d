# State machines of a pg_steward 0.1 dump restored into 0.2's objects
# (pg_restore's CREATE EXTENSION installs the default version) come out
# as ALTER EXTENSION UPDATE leaves them (review33 U2, U3): a machine
# attached only to one role's tables belongs to that role, one attached
# to several roles' tables to the restoring role with a grant to each;
# and the labels of the columns they are attached to carry the machine,
# so this database's own dumps restore.  Before the fix every machine
# belonged to the restoring role (the tenant could no longer detach or
# drop its own), and the labels written when the rules' rows came, before
# the machines' (the dump's data goes in table-name order), lacked the
# machine's states: a dump of the restored database failed to restore
# ("differs from the one attached") under --exit-on-error.
# pg_restore -j may load a machine's row before the rules that name it:
# the machine then stays the restoring role's, with no grants, and the
# COPY of steward.column_rules, the same in 0.1's dumps as in 0.2's,
# cannot tell it must fix them (sec6); docs/upgrading.md gives the query
# that lists the calls that do, run here after a restore in that order
# (a pg_restore -L list with the machines' data first: what -j may do,
# made certain), with the owners and grants of the update after its
# calls (sec7).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(dirname);

my $node = PostgreSQL::Test::Cluster->new('machines_restore01');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE tenant;
	CREATE ROLE other;
	CREATE DATABASE old;
});
# Everything through 0.1's SQL API.
$node->safe_psql('old', q{
	CREATE EXTENSION pg_steward VERSION '0.1';
	GRANT CREATE ON SCHEMA public TO tenant, other;
	SELECT steward.create_state_machine('order_status', ARRAY['created', 'paid', 'shipped'],
	    ARRAY['created'], ARRAY['created->paid', 'paid->shipped']);
	CREATE TABLE porders (id int, region int, status text NOT NULL, changed timestamptz,
	                      PRIMARY KEY (id, region)) PARTITION BY LIST (region);
	CREATE TABLE porders_1 PARTITION OF porders FOR VALUES IN (1) USING steward;
	SELECT steward.attach_state_machine('porders', 'status', 'order_status', 'changed');
	INSERT INTO porders VALUES (1, 1, 'created');
	SET ROLE tenant;
	SELECT steward.create_state_machine('ticket', ARRAY['open', 'closed'], ARRAY['open'],
	                                    ARRAY['open->closed']);
	CREATE TABLE tickets (id int PRIMARY KEY, state text NOT NULL) USING steward;
	SELECT steward.attach_state_machine('tickets', 'state', 'ticket');
	INSERT INTO tickets VALUES (1, 'open');
	SELECT steward.create_state_machine('shared', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	CREATE TABLE shared_1 (id int PRIMARY KEY, s text NOT NULL) USING steward;
	SELECT steward.attach_state_machine('shared_1', 's', 'shared');
	SET ROLE other;
	CREATE TABLE shared_2 (id int PRIMARY KEY, s text NOT NULL) USING steward;
	SELECT steward.attach_state_machine('shared_2', 's', 'shared');
	RESET ROLE;
	-- 0.1's library wrote no labels; this one writes them for 0.1's
	-- objects too (column_rules' trigger), which would carry the rules
	-- and machines through the dump: take them out, as in a real 0.1
	-- database (the rules stay in column_rules).
	DELETE FROM pg_catalog.pg_seclabel WHERE provider = 'steward';
});
my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('old'), '-f', "$dir/old.dump" ],
	'dump of the 0.1 database');
$node->safe_psql('postgres', 'CREATE DATABASE new');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('new'), "$dir/old.dump" ],
	'the 0.1 dump restores into 0.2\'s objects');

is($node->safe_psql('new', q{
	SELECT string_agg(name || ':' || owner::text || ':' || usage_roles::text, ',' ORDER BY name)
	  FROM steward.machine_definitions WHERE NOT builtin}),
	'order_status:postgres:{},shared:postgres:{tenant,other},ticket:tenant:{}',
	'machines get the owners and grants ALTER EXTENSION UPDATE gives them');
is($node->safe_psql('new', q{
	SELECT string_agg(objoid::regclass || '.' || objsubid || ':' || (label::jsonb ? 'states')::text, ','
	                  ORDER BY objoid::regclass::text, objsubid)
	  FROM pg_seclabel WHERE provider = 'steward' AND label::jsonb->>'kind' = 'state'
	   AND objoid::regclass::text NOT LIKE 'steward.%'}),
	'porders.3:true,shared_1.2:true,shared_2.2:true,tickets.2:true',
	'every state column\'s label carries its machine');
my ($rc, $out, $err) = $node->psql('new', q{
	SET ROLE tenant;
	SELECT steward.detach_state_machine('tickets', 'state');
	SELECT steward.drop_state_machine('ticket')});
is($rc, 0, 'the tenant detaches and drops its own machine') or diag($err);

# The restored database's own dump restores, rules and machines with it.
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('new'), '-f', "$dir/new.dump" ],
	'dump of the restored database');
$node->safe_psql('postgres', 'CREATE DATABASE again');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('again'), "$dir/new.dump" ],
	'... restores under --exit-on-error');
($rc, $out, $err) = $node->psql('again', q{
	\set VERBOSITY sqlstate
	UPDATE porders SET status = 'shipped' WHERE id = 1});
like($err, qr/ERROR:  23514/, 'the partitioned table\'s machine is still enforced');
is($node->safe_psql('again', q{
	SELECT string_agg(name || ':' || owner::text, ',' ORDER BY name)
	  FROM steward.machine_definitions WHERE NOT builtin}),
	'order_status:postgres,shared:postgres', 'with its owners');

# pg_restore -j's order, made certain: the machines' data before the rules'.
my $page = dirname(__FILE__) . '/../../docs/upgrading.md';
open(my $fh, '<', $page) or die "cannot read $page: $!";
my $text = do { local $/; <$fh> };
close($fh);
my ($query) = $text =~ /Under `pg_restore -j`.*?```sql\n(.*?)```/s;
ok(defined $query, 'docs/upgrading.md has the query for pg_restore -j');
$query =~ s/;\s*$//;
my @list = split /\n/, `pg_restore -l "$dir/old.dump"`;
my ($machines) = grep { /TABLE DATA steward machine_definitions / } @list;
my ($rules) = grep { /TABLE DATA steward column_rules / } @list;
ok(defined $machines && defined $rules, 'the dump has both tables\' data');
@list = map { $_ eq $rules ? ($machines, $rules) : $_ eq $machines ? () : ($_) } @list;
open(my $lf, '>', "$dir/list") or die;
print $lf join("\n", @list), "\n";
close($lf);
$node->safe_psql('postgres', 'CREATE DATABASE parallel');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-L', "$dir/list", '-d',
		$node->connstr('parallel'), "$dir/old.dump" ],
	'the 0.1 dump restores with the machines before the rules');
my $machines_sql = q{
	SELECT string_agg(name || ':' || owner::text || ':' || usage_roles::text, ',' ORDER BY name)
	  FROM steward.machine_definitions WHERE NOT builtin};
is($node->safe_psql('parallel', $machines_sql),
	'order_status:postgres:{},shared:postgres:{},ticket:postgres:{}',
	'restored before their rules, the machines are the restoring role\'s');
my $calls = $node->safe_psql('parallel', "SELECT string_agg(run, ' ' ORDER BY name) FROM ($query) q");
is($calls, "SELECT steward.grant_state_machine('shared', 'tenant'); "
	. "SELECT steward.grant_state_machine('shared', 'other'); "
	. "SELECT steward.alter_state_machine_owner('ticket', 'tenant');",
	'the page\'s query lists the calls the update would have made');
$node->safe_psql('parallel', $calls);
is($node->safe_psql('parallel', $machines_sql),
	'order_status:postgres:{},shared:postgres:{tenant,other},ticket:tenant:{}',
	'after them, the owners and grants ALTER EXTENSION UPDATE gives');
is($node->safe_psql('parallel', "SELECT count(*) FROM ($query) q"), '0',
	'and the query lists nothing more');

$node->stop;
done_testing();
