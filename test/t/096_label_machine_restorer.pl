# A machine that a restore's label creates belongs to the role running the
# restore, not to the owner of whichever table's label came first
# (codereview3 #2, closing35 item 4's mach3):
#   1. a superuser restores tenant a's -n dump, then tenant b's (another
#      database's, whose machine of the same name has the same definition)
#      in the same session: b.o must not end up on a machine alice owns,
#      which she could revoke, re-grant or give away (the label exception
#      "made by a label of this session" used to last for the backend);
#   2. a partial restore (-n of two schemas, with and without -1) of two
#      owners' tables sharing a machine made it for the owner of the table
#      that sorted first;
#   3. a whole-database restore still gives the machine back to its owner
#      with its grants (the machine's row);
#   4. a non-superuser restoring her own schema gets her machine, and is
#      refused (42501) a machine a superuser's restore left behind;
#   5. a restore with --use-set-session-authorization (each owner's objects
#      made under SET SESSION AUTHORIZATION of their owner, review17 R17-3)
#      ends as without the option: bob's label used to be refused alice's
#      machine, made by alice's label, whose grant to bob comes only with
#      the machine's row in the data section (-1: nothing restored).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('label_restorer');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;
my $su = $node->safe_psql('postgres', 'SELECT current_user');

$node->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	CREATE DATABASE sa;
	CREATE DATABASE sb;
	CREATE DATABASE s;
});
# sa: alice's application; sb: bob's, with a machine of the same name and
# definition.
for my $t ([ 'sa', 'a', 'alice' ], [ 'sb', 'b', 'bob' ])
{
	my ($db, $nsp, $role) = @$t;
	$node->safe_psql($db, qq{
		CREATE EXTENSION pg_steward;
		CREATE SCHEMA $nsp AUTHORIZATION $role;
		SET ROLE $role;
		SELECT steward.create_state_machine('os', ARRAY['x','y','z'], ARRAY['x'], ARRAY['x->y','y->z']);
		CREATE TABLE $nsp.o (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
		SELECT steward.attach_state_machine('$nsp.o', 'st', 'os');
		INSERT INTO $nsp.o VALUES (1);
	});
}
# s: one database, alice's "shared" granted to bob; bob's table sorts first.
$node->safe_psql('s', q{
	CREATE EXTENSION pg_steward;
	CREATE SCHEMA a AUTHORIZATION alice;
	CREATE SCHEMA b AUTHORIZATION bob;
	SET ROLE alice;
	SELECT steward.create_state_machine('shared', ARRAY['p','q'], ARRAY['p'], ARRAY['p->q']);
	SELECT steward.grant_state_machine('shared', 'bob');
	CREATE TABLE a.z (id int PRIMARY KEY, st text NOT NULL DEFAULT 'p') USING steward;
	SELECT steward.attach_state_machine('a.z', 'st', 'shared');
	RESET ROLE;
	SET ROLE bob;
	CREATE TABLE b.a (id int PRIMARY KEY, st text NOT NULL DEFAULT 'p') USING steward;
	SELECT steward.attach_state_machine('b.a', 'st', 'shared');
	INSERT INTO b.a VALUES (1);
});

my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-n', 'a', '-f', "$dir/a.sql", '-d', $node->connstr('sa') ], 'plain dump of tenant a');
$node->command_ok([ 'pg_dump', '-n', 'b', '-f', "$dir/b.sql", '-d', $node->connstr('sb') ], 'plain dump of tenant b');
$node->command_ok([ 'pg_dump', '-Fc', '-n', 'a', '-f', "$dir/a.dump", '-d', $node->connstr('sa') ], 'custom dump of tenant a');
$node->command_ok([ 'pg_dump', '-Fc', '-n', 'b', '-f', "$dir/b.dump", '-d', $node->connstr('sb') ], 'custom dump of tenant b');
$node->command_ok([ 'pg_dump', '-Fc', '-n', 'a', '-n', 'b', '-f', "$dir/ab.dump", '-d', $node->connstr('s') ],
	'dump of both schemas of s');
$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/s.dump", '-d', $node->connstr('s') ], 'whole dump of s');

my $machines = q{
	SELECT string_agg(name || ':' || owner::text || ':' || usage_roles::text || ':'
	                  || array_to_string(attached_to, ';'), ',' ORDER BY name)
	  FROM steward.state_machines WHERE NOT builtin};
my $rules = q{
	SELECT coalesce(string_agg(r.relid::regclass || '.' || r.attname || ':' || r.machine, ','
	                           ORDER BY r.relid::regclass::text), '')
	  FROM steward.column_rules r WHERE r.relid::regclass::text NOT LIKE 'steward.%'};

sub newdb
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION pg_steward');
}

# 1. Two tenants' plain dumps, one psql session (codereview3 #2).
newdb('t1');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('t1'), '-f', "$dir/a.sql", '-f', "$dir/b.sql" ],
	'tenant a then tenant b in one session');
is($node->safe_psql('t1', $machines), "os:$su:{}:a.o.st;b.o.st",
	'one session: os belongs to the restoring superuser, not to alice');
my ($rc, $out, $err) = $node->psql('t1', q{SET ROLE alice; SELECT steward.revoke_state_machine('os', 'bob')},
	extra_params => [ '-v', 'VERBOSITY=sqlstate' ]);
like($err, qr/42501/, 'alice cannot revoke or re-grant the machine bob\'s table uses');
($rc, $out, $err) = $node->psql('t1', q{SET ROLE alice; SELECT steward.alter_state_machine_owner('os', 'alice')});
like($err, qr/must be owner of state machine "os"/, 'nor give it away');
($rc, $out, $err) = $node->psql('t1', q{SET ROLE bob; UPDATE b.o SET st = 'z' WHERE id = 1});
like($err, qr/transition|not allowed|x.*z/, 'the machine is enforced on b.o (x->z refused)');

# The same with two pg_restore runs (two sessions) and with both custom
# dumps in one -1 restore each.
newdb('t2');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('t2'), "$dir/a.dump" ], 'restore a');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-1', '-d', $node->connstr('t2'), "$dir/b.dump" ],
	'restore b (-1) into the same database');
is($node->safe_psql('t2', $machines), "os:$su:{}:a.o.st;b.o.st", 'two sessions: os is the superuser\'s');

# 2. -n of both schemas of one database (mach3): "shared" is not bob's.
for my $single (0, 1)
{
	my $db = "t3_$single";
	newdb($db);
	$node->command_ok([ 'pg_restore', '--exit-on-error', ($single ? ('-1') : ()),
		'-d', $node->connstr($db), "$dir/ab.dump" ], "partial restore of both schemas (-1: $single)");
	is($node->safe_psql($db, $machines), "shared:$su:{}:a.z.st;b.a.st",
		"partial restore (-1: $single): shared is the superuser's, not bob's");
	is($node->safe_psql($db, $rules), 'a.z.st:shared,b.a.st:shared', "both tables attached (-1: $single)");
	# Giving it back is one call.
	$node->safe_psql($db, q{
		SELECT steward.alter_state_machine_owner('shared', 'alice');
		SET ROLE alice; SELECT steward.grant_state_machine('shared', 'bob')});
	is($node->safe_psql($db, $machines), 'shared:alice:{bob}:a.z.st;b.a.st', 'given back to alice with her grant');
}
# Each schema on its own, in either order, in one session.
newdb('t4');
$node->command_ok([ 'pg_dump', '-n', 'b', '-f', "$dir/nb.sql", '-d', $node->connstr('s') ], 'plain dump of -n b');
$node->command_ok([ 'pg_dump', '-n', 'a', '-f', "$dir/na.sql", '-d', $node->connstr('s') ], 'plain dump of -n a');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('t4'), '-f', "$dir/nb.sql", '-f', "$dir/na.sql" ],
	'-n b then -n a in one session');
is($node->safe_psql('t4', $machines), "shared:$su:{}:a.z.st;b.a.st", '-n b, -n a: shared is the superuser\'s');

# 3. The whole database: the machine's row gives it back (-1 and not).
my $src = $node->safe_psql('s', $machines);
is($src, 'shared:alice:{bob}:a.z.st;b.a.st', 'source machines');
for my $single (0, 1)
{
	my $db = "t5_$single";
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->command_ok([ 'pg_restore', '--exit-on-error', ($single ? ('-1') : ()),
		'-d', $node->connstr($db), "$dir/s.dump" ], "whole-database restore (-1: $single)");
	is($node->safe_psql($db, $machines), $src, "whole database (-1: $single): owner and grants as in the source");
	is($node->safe_psql($db, q{SELECT count(*) FROM pg_shdepend
		WHERE objid = 'steward.machine_definitions'::regclass AND refobjid IN ('alice'::regrole, 'bob'::regrole)}),
		'2', "whole database (-1: $single): alice and bob recorded in pg_shdepend");
}

# 4. A non-superuser restores her own schema: the machine is hers.
newdb('t6');
$node->safe_psql('t6', 'GRANT CREATE ON DATABASE t6 TO alice');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--no-owner', '-U', 'alice', '-d', $node->connstr('t6'), "$dir/a.dump" ],
	'alice restores tenant a herself');
is($node->safe_psql('t6', $machines), 'os:alice:{}:a.o.st', 'her restore makes os hers');
# ... but not a machine a superuser's restore made.
newdb('t7');
$node->safe_psql('t7', 'GRANT CREATE ON DATABASE t7 TO alice');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('t7'), "$dir/b.dump" ], 'superuser restores b');
my ($stdout, $stderr) = ('', '');
my $ok = IPC::Run::run([ 'pg_restore', '--no-owner', '-U', 'alice', '-d', $node->connstr('t7'), "$dir/a.dump" ],
	'>', \$stdout, '2>', \$stderr);
like($stderr, qr/permission denied for state machine "os"/, 'alice\'s own restore may not use the superuser\'s os');
is($node->safe_psql('t7', $machines), "os:$su:{}:b.o.st", 'os stays as it was');

# 5. --use-set-session-authorization: the labels count as the superuser's
# running the restore, as without the option.  Read without dying: the old
# code left some of these databases without the extension (-1 rolled back).
sub query
{
	my ($db, $sql) = @_;
	my ($qrc, $qout, $qerr) = $node->psql($db, $sql);
	return $qrc == 0 ? $qout : "error: $qerr";
}
$node->command_ok([ 'pg_dump', '--use-set-session-authorization', '-f', "$dir/ssa.sql", '-d', $node->connstr('s') ],
	'plain dump with --use-set-session-authorization');
$node->command_ok([ 'pg_dump', '-Fd', '-f', "$dir/s.dir", '-d', $node->connstr('s') ], 'directory dump of s');
my @ssa_restores = (
	[ 'psql -1 of the plain dump', [ 'psql', '-X', '-q', '-1', '-v', 'ON_ERROR_STOP=1', '-f', "$dir/ssa.sql" ] ],
	[ 'pg_restore -1', [ 'pg_restore', '--exit-on-error', '-1', '--use-set-session-authorization', "$dir/s.dump" ] ],
	[ 'pg_restore -j 2 of a directory dump',
		[ 'pg_restore', '--exit-on-error', '-j', '2', '--use-set-session-authorization', "$dir/s.dir" ] ]);
for my $i (0 .. $#ssa_restores)
{
	my ($what, $cmd) = @{ $ssa_restores[$i] };
	my $db = "t8_$i";
	$node->safe_psql('postgres', "CREATE DATABASE $db; GRANT CREATE ON DATABASE $db TO alice, bob");
	$node->command_ok([ @$cmd, '-d', $node->connstr($db) ], "--use-set-session-authorization: $what");
	is(query($db, $machines), $src, "--use-set-session-authorization, $what: owner and grants as in the source");
	is(query($db, $rules), 'a.z.st:shared,b.a.st:shared', "--use-set-session-authorization, $what: both attached");
}
# Sections one by one, each in one transaction.
$node->safe_psql('postgres', 'CREATE DATABASE t9; GRANT CREATE ON DATABASE t9 TO alice, bob');
for my $section ('pre-data', 'data', 'post-data')
{
	$node->command_ok([ 'pg_restore', '--exit-on-error', '-1', '--use-set-session-authorization',
		"--section=$section", '-d', $node->connstr('t9'), "$dir/s.dump" ],
		"--use-set-session-authorization --section=$section");
	is(query('t9', $machines), "shared:$su:{}:a.z.st;b.a.st",
		'after pre-data: shared is the restoring superuser\'s') if $section eq 'pre-data';
}
is(query('t9', $machines), $src, 'sections with --use-set-session-authorization: as in the source');
# A partial one: as without the option, the superuser's.
newdb('t10');
$node->safe_psql('t10', 'GRANT CREATE ON DATABASE t10 TO alice, bob');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-1', '--use-set-session-authorization',
	'-d', $node->connstr('t10'), "$dir/ab.dump" ], '--use-set-session-authorization of -n a -n b');
is(query('t10', $machines), "shared:$su:{}:a.z.st;b.a.st",
	'partial restore with --use-set-session-authorization: shared is the superuser\'s');
# Still no machine the table's owner may not use: alice's own, not granted.
newdb('t11');
my $label = $node->safe_psql('s', q{SELECT label FROM pg_seclabel
	WHERE objoid = 'b.a'::regclass AND objsubid = 2 AND provider = 'steward'});
$label =~ s/'/''/g;
$node->safe_psql('t11', q{
	CREATE SCHEMA b AUTHORIZATION bob;
	SET ROLE alice;
	SELECT steward.create_state_machine('shared', ARRAY['p','q'], ARRAY['p'], ARRAY['p->q']);
	RESET ROLE;
	SET ROLE bob;
	CREATE TABLE b.a (id int PRIMARY KEY, st text NOT NULL DEFAULT 'p') USING steward});
($rc, $out, $err) = $node->psql('t11', qq{SET SESSION AUTHORIZATION bob;
	SECURITY LABEL FOR steward ON COLUMN b.a.st IS '$label'});
like($err, qr/permission denied for state machine "shared"/,
	'under SET SESSION AUTHORIZATION bob: alice\'s machine, not granted to bob, refused');
is(query('t11', $rules), '', 'b.a not attached');

$node->stop;
done_testing();
