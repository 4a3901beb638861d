# A state column's label names its machine's owner (review35 S1): a
# superuser's partial restore (pg_restore -n) attaches the table to an
# existing machine of the label's name only when the role the label names
# owns it, or its owner has the table owner's privileges.  A grant alone
# never suffices: mallory, who made a machine of that name first with the
# same definition and granted it to alice, would otherwise own the rules
# of alice's restored table.  A label without the owner (0.1, earlier
# 0.2) attaches only a machine of a role whose privileges the table's
# owner has.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('label_machine_owner');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE alice;
	CREATE ROLE mallory;
	CREATE ROLE team;
	CREATE ROLE app;
	CREATE ROLE dev IN ROLE team;
	CREATE DATABASE s;
});
my $def = q{ARRAY['x','y','z'], ARRAY['x'], ARRAY['x->y','y->z']};
$node->safe_psql('s', qq{
	CREATE EXTENSION pg_steward;
	CREATE SCHEMA a AUTHORIZATION alice;
	CREATE SCHEMA b AUTHORIZATION app;
	CREATE SCHEMA c AUTHORIZATION dev;
	SET ROLE alice;
	SELECT steward.create_state_machine('os', $def);
	CREATE TABLE a.o (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
	SELECT steward.attach_state_machine('a.o', 'st', 'os');
	INSERT INTO a.o VALUES (1);
	RESET ROLE;
	SET ROLE team;
	SELECT steward.create_state_machine('tm', $def);
	SELECT steward.grant_state_machine('tm', 'app');
	RESET ROLE;
	SET ROLE app;
	CREATE TABLE b.t (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
	SELECT steward.attach_state_machine('b.t', 'st', 'tm');
	INSERT INTO b.t VALUES (1);
	RESET ROLE;
	SET ROLE dev;
	CREATE TABLE c.t (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
	SELECT steward.attach_state_machine('c.t', 'st', 'tm');
});

my $owner_of = sub {
	my ($db, $col) = @_;
	return $node->safe_psql($db, qq{
		SELECT coalesce(label::jsonb->>'machine_owner', '<none>') FROM pg_seclabels
		 WHERE provider = 'steward' AND objname = '$col'});
};
is($owner_of->('s', 'a.o.st'), 'alice', 'the label of a.o.st names the machine\'s owner alice');
is($owner_of->('s', 'b.t.st'), 'team', 'the label of b.t.st names team');
is($owner_of->('s', 'c.t.st'), 'team', 'the label of c.t.st names team');

my $dir = PostgreSQL::Test::Utils::tempdir;
for my $n ('a', 'b', 'c')
{
	$node->command_ok([ 'pg_dump', '-Fc', '-n', $n, '-f', "$dir/$n.dump", '-d', $node->connstr('s') ],
		"dump of schema $n");
}
my $label_a = $node->safe_psql('s',
	q{SELECT label FROM pg_seclabels WHERE provider = 'steward' AND objname = 'a.o.st'});
my $label_c = $node->safe_psql('s',
	q{SELECT label FROM pg_seclabels WHERE provider = 'steward' AND objname = 'c.t.st'});
my $label_b = $node->safe_psql('s',
	q{SELECT label FROM pg_seclabels WHERE provider = 'steward' AND objname = 'b.t.st'});

my $rules = q{
	SELECT coalesce(string_agg(r.relid::regclass || '.' || r.attname || ':' || r.machine, ','
	                           ORDER BY r.relid::regclass::text), '')
	  FROM steward.column_rules r WHERE r.relid::regclass::text NOT LIKE 'steward.%'};
my $machines = q{
	SELECT string_agg(name || ':' || owner::text || ':' || array_to_string(attached_to, ';'), ',' ORDER BY name)
	  FROM steward.state_machines WHERE NOT builtin};

# The squat: mallory takes "os" first, with alice's definition, and
# grants it to alice; a superuser restores alice's schema.
$node->safe_psql('postgres', 'CREATE DATABASE t');
$node->safe_psql('t', qq{
	CREATE EXTENSION pg_steward;
	SET ROLE mallory;
	SELECT steward.create_state_machine('os', $def);
	SELECT steward.grant_state_machine('os', 'alice');
});
my ($stdout, $stderr) = ('', '');
my $ok = IPC::Run::run([ 'pg_restore', '-d', $node->connstr('t'), "$dir/a.dump" ],
	'>', \$stdout, '2>', \$stderr);
ok(!$ok, 'the superuser\'s -n restore onto mallory\'s granted machine exits non-zero');
like($stderr, qr/permission denied for state machine "os"/, '... permission denied for state machine "os"');
like($stderr, qr/It belongs to role "mallory"; the label of column "st" of relation "o" expects the machine of role "alice"\./,
	'... DETAIL naming mallory and alice');
like($stderr, qr/steward\.alter_state_machine_owner\('os', 'alice'\)/, '... HINT giving the next step');
is($node->safe_psql('t', $rules), '', 'a.o is not attached to mallory\'s machine');
is($node->safe_psql('t', $machines), 'os:mallory:', 'mallory\'s os stays unattached');
is($node->safe_psql('t', 'SELECT count(*) FROM a.o'), '1', 'the rows are restored');
my ($rc, $out, $err) = $node->psql('t',
	"\\set VERBOSITY sqlstate\nSECURITY LABEL FOR steward ON COLUMN a.o.st IS '$label_a'");
like($err, qr/ERROR:  42501/, 'the superuser\'s own SECURITY LABEL: 42501');

# The HINT's step, when it is the table's machine: give it to alice.
$node->safe_psql('t', q{SELECT steward.alter_state_machine_owner('os', 'alice')});
$node->safe_psql('t', "SECURITY LABEL FOR steward ON COLUMN a.o.st IS '$label_a'");
is($node->safe_psql('t', $rules), 'a.o.st:os', 'given to alice, the label attaches os');
is($owner_of->('t', 'a.o.st'), 'alice', '... and the label names alice');

# A shared machine owned by team, granted to app: restored onto team's.
$node->safe_psql('postgres', 'CREATE DATABASE u');
$node->safe_psql('u', qq{
	CREATE EXTENSION pg_steward;
	SET ROLE team;
	SELECT steward.create_state_machine('tm', $def);
	SELECT steward.grant_state_machine('tm', 'app');
});
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('u'), "$dir/b.dump" ],
	'-n restore of app\'s table onto team\'s granted machine');
# A machine owned by a role the table's owner is a member of (no grant).
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('u'), "$dir/c.dump" ],
	'-n restore of dev\'s table onto the machine of team, whose member dev is');
is($node->safe_psql('u', $rules), 'b.t.st:tm,c.t.st:tm', 'both tables attached to tm');
is($node->safe_psql('u', $machines), 'tm:team:b.t.st;c.t.st', '... team\'s machine');
is($node->safe_psql('u', q{SET ROLE app; UPDATE b.t SET st = 'y' RETURNING st}), 'y',
	'team\'s machine is enforced on app\'s table');

# A grant to app of a machine whose owner is not the label's: refused.
$node->safe_psql('postgres', 'CREATE DATABASE v');
$node->safe_psql('v', qq{
	CREATE EXTENSION pg_steward;
	SET ROLE mallory;
	SELECT steward.create_state_machine('tm', $def);
	SELECT steward.grant_state_machine('tm', 'app');
});
$ok = IPC::Run::run([ 'pg_restore', '-d', $node->connstr('v'), "$dir/b.dump" ],
	'>', \$stdout, '2>', \$stderr);
ok(!$ok, 'app\'s label names team: mallory\'s granted tm is refused');
like($stderr, qr/It belongs to role "mallory"; the label of column "st" of relation "t" expects the machine of role "team"\./,
	'... naming mallory and team');
is($node->safe_psql('v', $rules), '', '... b.t attached to nothing');

# A label written without the owner (0.1, earlier 0.2): a machine whose
# owner's privileges the table's owner has is attached, a grant is not
# enough.
(my $old_a = $label_a) =~ s/"machine_owner": "alice", //;
(my $old_b = $label_b) =~ s/"machine_owner": "team", //;
(my $old_c = $label_c) =~ s/"machine_owner": "team", //;
unlike($old_a . $old_b . $old_c, qr/machine_owner/, 'old-format labels');
$node->safe_psql('postgres', 'CREATE DATABASE w');
$node->safe_psql('w', qq{
	CREATE EXTENSION pg_steward;
	CREATE SCHEMA a AUTHORIZATION alice;
	CREATE SCHEMA b AUTHORIZATION app;
	CREATE SCHEMA c AUTHORIZATION dev;
	CREATE TABLE a.o (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
	ALTER TABLE a.o OWNER TO alice;
	CREATE TABLE b.t (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
	ALTER TABLE b.t OWNER TO app;
	CREATE TABLE c.t (id int PRIMARY KEY, st text NOT NULL DEFAULT 'x') USING steward;
	ALTER TABLE c.t OWNER TO dev;
	SET ROLE mallory;
	SELECT steward.create_state_machine('os', $def);
	SELECT steward.grant_state_machine('os', 'alice');
	RESET ROLE;
	SET ROLE team;
	SELECT steward.create_state_machine('tm', $def);
	SELECT steward.grant_state_machine('tm', 'app');
});
($rc, $out, $err) = $node->psql('w',
	"\\set VERBOSITY verbose\nSECURITY LABEL FOR steward ON COLUMN a.o.st IS '$old_a'");
like($err, qr/ERROR:  42501: permission denied for state machine "os"/, 'old label, mallory\'s granted os: 42501');
like($err, qr/It belongs to role "mallory", whose privileges role "alice", the owner of relation "o", does not have/,
	'... DETAIL naming mallory and alice');
($rc, $out, $err) = $node->psql('w',
	"\\set VERBOSITY sqlstate\nSECURITY LABEL FOR steward ON COLUMN b.t.st IS '$old_b'");
like($err, qr/ERROR:  42501/, 'old label, team\'s tm granted to app: 42501 (a grant alone never suffices)');
$node->safe_psql('w', "SECURITY LABEL FOR steward ON COLUMN c.t.st IS '$old_c'");
is($node->safe_psql('w', $rules), 'c.t.st:tm', 'old label, dev a member of team: attached to team\'s tm');

# The labels follow a change of owner (alter_state_machine_owner).
$node->safe_psql('s', q{SELECT steward.alter_state_machine_owner('os', 'mallory')});
is($owner_of->('s', 'a.o.st'), 'mallory', 'alter_state_machine_owner rewrites the label');
$node->safe_psql('s', q{REASSIGN OWNED BY mallory TO alice});
is($owner_of->('s', 'a.o.st'), 'alice', 'so does REASSIGN OWNED');

$node->stop;
done_testing();
