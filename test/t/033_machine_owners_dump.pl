# State machine owners and grants travel with dumps (issue 11 item 7).
#
# A whole-database dump restores each machine with its owner and grants,
# also when a column's security label recreated the machine first (for the
# role running the restore) and the machine's row arrives later.  A
# single-table dump restored where the machine is missing recreates it for
# the role running the restore (codereview3 #2);
# restored where another role's machine of that name exists without a
# grant, it is refused (42501) rather than attached.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('machine_dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE m_owner;
	CREATE ROLE m_user LOGIN;
	CREATE DATABASE src;
});
$node->safe_psql('src', q{
	CREATE EXTENSION pg_steward;
	GRANT CREATE ON SCHEMA public TO m_owner, m_user;
	SET ROLE m_owner;
	SELECT steward.create_state_machine('ticket', ARRAY['open', 'closed'], ARRAY['open'],
	                                    ARRAY['open->closed']);
	SELECT steward.grant_state_machine('ticket', 'm_user');
	CREATE TABLE z_owner_tickets (id int PRIMARY KEY, state text NOT NULL DEFAULT 'open') USING steward;
	SELECT steward.attach_state_machine('z_owner_tickets', 'state', 'ticket');
	RESET ROLE;
	SET ROLE m_user;
	-- Sorts first: its label is restored before the machine's row.
	CREATE TABLE a_user_tickets (id int PRIMARY KEY, state text NOT NULL DEFAULT 'open') USING steward;
	SELECT steward.attach_state_machine('a_user_tickets', 'state', 'ticket');
	INSERT INTO a_user_tickets VALUES (1), (2);
	UPDATE a_user_tickets SET state = 'closed' WHERE id = 1;
});

my $machines = q{
	SELECT string_agg(name || ':' || owner::text || ':' || usage_roles::text || ':'
	                  || array_to_string(attached_to, ';'), ',' ORDER BY name)
	  FROM steward.state_machines WHERE NOT builtin};
my $expected = $node->safe_psql('src', $machines);
is($expected,
	'ticket:m_owner:{m_user}:a_user_tickets.state;z_owner_tickets.state',
	'source: m_owner owns ticket, m_user may use it, both attached');

my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', "$dir/all.sql" ],
	'whole-database dump');
$node->command_ok(
	[ 'pg_dump', '-d', $node->connstr('src'), '-t', 'a_user_tickets', '-f', "$dir/one.sql" ],
	'single-table dump of m_user\'s table');

for my $fmt ('plain', 'custom')
{
	my $db = "all_$fmt";
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	if ($fmt eq 'plain')
	{
		$node->command_ok(
			[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($db), '-f', "$dir/all.sql" ],
			'whole-database plain restore');
	}
	else
	{
		$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/all.dump" ],
			'custom-format dump');
		$node->command_ok(
			[ 'pg_restore', '-j', '2', '--exit-on-error', '-d', $node->connstr($db), "$dir/all.dump" ],
			'whole-database custom restore with two jobs');
	}
	is($node->safe_psql($db, $machines), $expected,
		"$fmt restore: ticket keeps its owner and grant");
	my ($rc, $out, $err) = $node->psql($db,
		"\\set VERBOSITY sqlstate\nSET ROLE m_user; SELECT steward.drop_state_machine('ticket')");
	like($err, qr/ERROR:  42501/, "$fmt restore: m_user still cannot drop ticket");
	is($node->safe_psql($db, q{
		SET ROLE m_user;
		UPDATE a_user_tickets SET state = 'closed' WHERE id = 2 RETURNING state}),
		'closed', "$fmt restore: the machine is enforced on m_user's table");
}

# One table into a database without the machine: made for the role running
# the restore (a superuser), which gives it to the table's owner.
$node->safe_psql('postgres', 'CREATE DATABASE one_fresh');
$node->safe_psql('one_fresh', 'CREATE EXTENSION pg_steward');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('one_fresh'), '-f', "$dir/one.sql" ],
	'single-table restore into a database without the machine');
is($node->safe_psql('one_fresh', $machines),
	'ticket:' . $node->safe_psql('postgres', 'SELECT current_user') . ':{}:a_user_tickets.state',
	'the machine is recreated for the restoring superuser');
$node->safe_psql('one_fresh', q{SELECT steward.alter_state_machine_owner('ticket', 'm_user')});
is($node->safe_psql('one_fresh', $machines), 'ticket:m_user:{}:a_user_tickets.state',
	'which gives it to the table\'s owner');

# m_user restores its table where m_owner has another "ticket" and granted
# it nothing: refused, nothing attached.  A superuser's restore may use any
# machine, as its attach_state_machine may.
$node->safe_psql('postgres', 'CREATE DATABASE one_taken');
$node->safe_psql('one_taken', q{
	CREATE EXTENSION pg_steward;
	GRANT CREATE ON SCHEMA public TO m_user;
	SET ROLE m_owner;
	SELECT steward.create_state_machine('ticket', ARRAY['open', 'closed'], ARRAY['open'],
	                                    ARRAY['open->closed']);
});
my ($rc, $out, $err) = $node->psql('one_taken', undef,
	extra_params => [ '-U', 'm_user', '-v', 'ON_ERROR_STOP=1', '-f', "$dir/one.sql" ]);
like($err, qr/permission denied for state machine "ticket"/,
	'a tenant\'s single-table restore cannot attach another role\'s machine without a grant');
is($node->safe_psql('one_taken',
	q{SELECT count(*) FROM steward.column_rules WHERE relid = to_regclass('public.a_user_tickets')}), '0',
	'... and attaches nothing');
$node->safe_psql('one_taken', q{
	DROP TABLE IF EXISTS a_user_tickets;
	SET ROLE m_owner;
	SELECT steward.grant_state_machine('ticket', 'm_user');
});
$node->command_ok(
	[ 'psql', '-X', '-q', '-U', 'm_user', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('one_taken'),
	  '-f', "$dir/one.sql" ],
	'with a grant, the tenant\'s restore attaches the machine');
is($node->safe_psql('one_taken', $machines),
	'ticket:m_owner:{m_user}:a_user_tickets.state', '... which stays m_owner\'s');

is($node->safe_psql('postgres',
	q{SELECT string_agg(rolname || ':' || rolsuper, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'm\_%'}),
	'm_owner:false,m_user:false', 'nobody became superuser');

$node->stop;
done_testing();
