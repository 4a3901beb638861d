# A superuser's restore does not attach a tenant's table to a machine that
# another role created first under the label's name (mach3): the label
# path checks that the machine's owner is the one the label names and the
# table's owner may use it, not only the role running SECURITY LABEL, and
# a grant alone never suffices (review35 S1) -- unless the machine's owner has the
# privileges of the table's owner, as the restoring superuser has, for whom
# a whole-database restore's first label of a machine shared by several
# owners makes it (the machine's row brings its owner and grants
# afterwards; codereview3 #2).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('machine_squat');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE alice;
	CREATE ROLE bob;
	CREATE ROLE mallory;
	CREATE DATABASE s;
	CREATE DATABASE t;
	CREATE DATABASE u;
});
$node->safe_psql('s', q{
	CREATE EXTENSION pg_steward;
	CREATE SCHEMA a AUTHORIZATION alice;
	GRANT CREATE ON SCHEMA public TO alice, bob;
	SET ROLE alice;
	SELECT steward.create_state_machine('os', ARRAY['x','y','z'], ARRAY['x'], ARRAY['x->y','y->z']);
	CREATE TABLE a.o (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x', v bigint) USING steward;
	SELECT steward.track_versions('a.o', 'v');
	SELECT steward.attach_state_machine('a.o', 'st', 'os');
	INSERT INTO a.o (id, v) VALUES (1, 1);
	-- A machine alice shares with bob, whose table sorts first: its label
	-- makes the machine (for bob) before alice's table is labelled.
	SELECT steward.create_state_machine('shared', ARRAY['p','q'], ARRAY['p'], ARRAY['p->q']);
	SELECT steward.grant_state_machine('shared', 'bob');
	CREATE TABLE public.z_alice (id int PRIMARY KEY, st text NOT NULL DEFAULT 'p') USING steward;
	SELECT steward.attach_state_machine('public.z_alice', 'st', 'shared');
	RESET ROLE;
	SET ROLE bob;
	CREATE TABLE public.a_bob (id int PRIMARY KEY, st text NOT NULL DEFAULT 'p') USING steward;
	SELECT steward.attach_state_machine('public.a_bob', 'st', 'shared');
	INSERT INTO public.a_bob VALUES (1);
});
my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-Fc', '-n', 'a', '-f', "$dir/a.dump", '-d', $node->connstr('s') ],
	'dump of alice\'s schema');

my $rules = q{
	SELECT coalesce(string_agg(r.relid::regclass || '.' || r.attname || ':' || r.kind
	                           || coalesce(':' || r.machine, ''), ',' ORDER BY r.relid::regclass::text, r.attname), '')
	  FROM steward.column_rules r WHERE r.relid::regclass::text NOT LIKE 'steward.%'};
my $machines = q{
	SELECT string_agg(name || ':' || owner::text || ':' || usage_roles::text || ':'
	                  || array_to_string(attached_to, ';'), ',' ORDER BY name)
	  FROM steward.state_machines WHERE NOT builtin};

# t: mallory takes the name first, with alice's definition.
$node->safe_psql('t', q{
	CREATE EXTENSION pg_steward;
	SET ROLE mallory;
	SELECT steward.create_state_machine('os', ARRAY['x','y','z'], ARRAY['x'], ARRAY['x->y','y->z']);
});
my ($stdout, $stderr) = ('', '');
my $ok = IPC::Run::run([ 'pg_restore', '-d', $node->connstr('t'), "$dir/a.dump" ],
	'>', \$stdout, '2>', \$stderr);
ok(!$ok, 'the superuser\'s restore into the squatted database exits non-zero');
like($stderr, qr/permission denied for state machine "os"/, '... permission denied for state machine "os"');
like($stderr, qr/It belongs to role "mallory"; the label of column "st" of relation "o" expects the machine of role "alice"\./,
	'... naming the machine\'s owner and the one the label expects');
like($stderr, qr/steward\.alter_state_machine_owner\('os', 'alice'\)/, '... and the next step');
is($node->safe_psql('t', $rules), '', 'a.o is attached to nothing (nor tracked)');
is($node->safe_psql('t', $machines), 'os:mallory:{}:', 'mallory\'s os stays unattached');
is($node->safe_psql('t', 'SELECT count(*) FROM a.o'), '1', 'the rows are restored');

# The squat is refused by SQLSTATE 42501 for a superuser's own label too.
my $label = $node->safe_psql('s',
	q{SELECT label FROM pg_seclabels WHERE provider = 'steward' AND objname = 'a.o.st'});
my ($rc, $out, $err) = $node->psql('t',
	"\\set VERBOSITY sqlstate\nSECURITY LABEL FOR steward ON COLUMN a.o.st IS '$label'");
like($err, qr/ERROR:  42501/, 'a superuser\'s SECURITY LABEL naming mallory\'s os: 42501');

# A grant to alice changes nothing: the label names alice as the owner of
# os, and a grant alone never suffices (review35 S1; it used to attach
# mallory's machine, whose edges mallory could then change at will).
$node->safe_psql('t', q{SET ROLE mallory; SELECT steward.grant_state_machine('os', 'alice')});
($rc, $out, $err) = $node->psql('t',
	"\\set VERBOSITY sqlstate\nSECURITY LABEL FOR steward ON COLUMN a.o.st IS '$label'");
like($err, qr/ERROR:  42501/, 'with the grant, the label is still refused: 42501');
is($node->safe_psql('t', $rules), '', '... and a.o stays off mallory\'s os');

# u: alice owns os already: the -n restore attaches her machine.
$node->safe_psql('u', q{
	CREATE EXTENSION pg_steward;
	SET ROLE alice;
	SELECT steward.create_state_machine('os', ARRAY['x','y','z'], ARRAY['x'], ARRAY['x->y','y->z']);
});
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('u'), "$dir/a.dump" ],
	'-n restore where alice owns os');
is($node->safe_psql('u', $rules), 'a.o.st:state:os,a.o.v:version', 'a.o keeps both rules');
is($node->safe_psql('u', $machines), 'os:alice:{}:a.o.st', 'attached to alice\'s os');

# A whole-database restore of a machine shared by two owners with grants:
# bob's table's label makes "shared" for the restoring superuser, alice's
# table attaches that machine, then the machine's row gives it to alice
# with bob's grant.
my $src_machines = $node->safe_psql('s', $machines);
is($src_machines, 'os:alice:{}:a.o.st,shared:alice:{bob}:a_bob.st;z_alice.st', 'source machines');
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/all.dump", '-d', $node->connstr('s') ], 'whole dump');
$node->command_ok([ 'pg_dump', '-f', "$dir/all.sql", '-d', $node->connstr('s') ], 'whole plain dump');
for my $how ('plain', 'custom')
{
	my $db = "all_$how";
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	if ($how eq 'plain')
	{
		$node->command_ok(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-f', "$dir/all.sql" ],
			'whole-database plain restore');
	}
	else
	{
		$node->command_ok(
			[ 'pg_restore', '-j', '2', '--exit-on-error', '-d', $node->connstr($db), "$dir/all.dump" ],
			'whole-database restore with two jobs');
	}
	is($node->safe_psql($db, $machines), $src_machines, "$how: owners, grants and attachments as in the source");
	is($node->safe_psql($db, q{SET ROLE bob; UPDATE public.a_bob SET st = 'q' RETURNING st}), 'q',
		"$how: the shared machine is enforced on bob's table");
}

$node->stop;
done_testing();
