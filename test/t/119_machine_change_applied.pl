# A state machine changed on a logical replication subscriber by the
# apply worker reaches the subscriber's sessions (rules19 item 1).  The
# cached rules of a table are reset by the statement triggers of
# steward.machine_definitions (src/lifecycle/machine_roles.c), but the
# apply worker fires row triggers only: a session that had cached the
# machine went on refusing an edge the publisher added until it
# reconnected (23514, illegal state transition "a" -> "c").  Now a row
# trigger, acting in a logical replication worker only, resets them.
# Part 1b: the machines' roles recorded by the apply worker (rules20).
# Part 2: a superuser session under session_replication_role = replica
# (the triggers are enabled ALWAYS, so the statement triggers fire there).
# Part 3: ALTER TABLE ... DISABLE TRIGGER ALL, an UPDATE, ENABLE TRIGGER
# ALL, each its own transaction: the UPDATE reaches the other sessions at
# the ENABLE (the relcache callback of 9706ce2), not before
# (docs/state-machines.md).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest qw(start_psql_bg finish_bg);

my $pub = PostgreSQL::Test::Cluster->new('mca_pub');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('mca_sub');
$sub->init;
$sub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$sub->start;

my $machine = q{SELECT steward.create_state_machine('m119', ARRAY['a', 'b', 'c'], ARRAY['a'], ARRAY['a->b']);};
$pub->safe_psql('postgres', "CREATE EXTENSION pg_steward; $machine");
$sub->safe_psql('postgres', "CREATE EXTENSION pg_steward; $machine
	CREATE TABLE t119 (id int PRIMARY KEY, st text) USING steward;
	SELECT steward.attach_state_machine('t119', 'st', 'm119');
	CREATE TABLE go119 (part int);");

$pub->safe_psql('postgres', 'CREATE PUBLICATION p119 FOR TABLE steward.machine_definitions');
# copy_data = false: both sides created the machine (and the built-ins).
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s119 CONNECTION '" . $pub->connstr
	  . " dbname=postgres' PUBLICATION p119 WITH (copy_data = false)");
$pub->wait_for_catchup('s119');

# A session of the subscriber that caches m119 (its INSERT of rows @ids in
# state a), then for each id waits for go119's row of that id and moves
# the row a -> c, showing its state.
sub start_session
{
	my (@ids) = @_;
	my $sql = "\\set QUIET on\n" . 'INSERT INTO t119 VALUES ' . join(', ', map { "($_, 'a')" } @ids) . ";\n";
	for my $id (@ids)
	{
		$sql .= qq{DO \$\$ BEGIN
	WHILE NOT EXISTS (SELECT FROM go119 WHERE part = $id) LOOP
		PERFORM pg_sleep(0.05);
	END LOOP;
END \$\$;
UPDATE t119 SET st = 'c' WHERE id = $id;
SELECT st FROM t119 WHERE id = $id;
};
	}
	return start_psql_bg($sub, 'postgres', "s119_$ids[0]", $sql);
}

sub cached
{
	my ($id) = @_;
	ok($sub->poll_query_until('postgres', "SELECT count(*) = 1 FROM t119 WHERE id = $id"),
		"session $id cached the machine");
}

# Part 1: the apply worker.
my $bg = start_session(1);
cached(1);
$pub->safe_psql('postgres',
	q{UPDATE steward.machine_definitions SET transitions = ARRAY['a->b', 'a->c'] WHERE name = 'm119'});
$pub->wait_for_catchup('s119');
is($sub->safe_psql('postgres', q{SELECT transitions FROM steward.machine_definitions WHERE name = 'm119'}),
	'{a->b,a->c}', 'the apply worker stored the new edge');
$sub->safe_psql('postgres', 'INSERT INTO go119 VALUES (1)');
my ($rc, $out, $err) = finish_bg($bg);
chomp $out;
is($rc, 0, 'the waiting session follows the replicated edge a -> c') or diag($err);
is($out, 'c', 'row 1 moved to c');

# Part 1c (codereview16 C3): the label of the attached column, which
# carries the machine in dumps, follows the applied change, also one made
# by add_transition on the publisher (which writes the publisher's labels
# only).  It kept the old edges: the subscriber's dump restored the old
# machine and refused the new one's row as "another definition".
my $label = q{SELECT label::jsonb -> 'transitions' FROM pg_seclabel
	WHERE objoid = 't119'::regclass AND provider = 'steward'};
is($sub->safe_psql('postgres', $label), '["a->b", "a->c"]',
	'the applied UPDATE reached the column\'s label');
$pub->safe_psql('postgres', q{SELECT steward.add_transition('m119', 'b', 'c')});
$pub->wait_for_catchup('s119');
is($sub->safe_psql('postgres', $label), '["a->b", "a->c", "b->c"]',
	'the applied add_transition reached the column\'s label');
my $dumpdir = PostgreSQL::Test::Utils::tempdir;
$sub->command_ok([ 'pg_dump', '-Fc', '-d', $sub->connstr('postgres'), '-f', "$dumpdir/sub.dump" ],
	'the subscriber\'s dump');
$sub->safe_psql('postgres', 'CREATE DATABASE restored119');
$sub->command_ok([ 'pg_restore', '--no-subscriptions', '-d', $sub->connstr('restored119'), "$dumpdir/sub.dump" ],
	'restores without error');
is($sub->safe_psql('restored119', q{SELECT transitions FROM steward.machine_definitions WHERE name = 'm119'}),
	'{a->b,a->c,b->c}', 'with the machine as the subscriber had it');

# Part 1b (rules20 item 3): the roles of a machine the apply worker stores
# are recorded in the subscriber's pg_shdepend, so DROP ROLE of its owner
# or grantee from another database there is refused (the statement
# trigger that records them does not fire in the apply worker: DROP ROLE
# succeeded and left the machine naming a dropped role's OID).
$sub->safe_psql('postgres', 'CREATE ROLE r119_own; CREATE ROLE r119_use; CREATE DATABASE other119');
$pub->safe_psql('postgres', q{CREATE ROLE r119_own; CREATE ROLE r119_use;
	SELECT steward.create_state_machine('m119r', ARRAY['x'], ARRAY['x'], '{}');
	SELECT steward.alter_state_machine_owner('m119r', 'r119_own');
	SELECT steward.grant_state_machine('m119r', 'r119_use');});
$pub->wait_for_catchup('s119');
my $shdepend = q{SELECT string_agg(d.refobjid::regrole::text || ':' || a.attname, ', ' ORDER BY 1)
	FROM pg_shdepend d JOIN pg_attribute a ON a.attrelid = d.objid AND a.attnum = d.objsubid
	WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
	  AND d.classid = 'pg_class'::regclass AND d.objid = 'steward.machine_definitions'::regclass};
is($sub->safe_psql('postgres', q{SELECT owner::text, usage_roles::text FROM steward.machine_definitions WHERE name = 'm119r'}),
	'r119_own|{r119_use}', 'the apply worker stored the machine with its owner and grantee');
is($sub->safe_psql('postgres', $shdepend), 'r119_own:owner, r119_use:usage_roles',
	'the apply worker recorded the machine\'s roles in pg_shdepend');
for my $role ('r119_own', 'r119_use')
{
	my ($drc, $dout, $derr) = $sub->psql('other119', "DROP ROLE $role");
	isnt($drc, 0, "DROP ROLE $role from another database of the subscriber is refused");
	like($derr, qr/cannot be dropped because some objects depend on it/, "$role: core's 2BP01");
}
$pub->safe_psql('postgres', q{SELECT steward.drop_state_machine('m119r')});
$pub->wait_for_catchup('s119');
is($sub->safe_psql('postgres', $shdepend), '',
	'the replicated drop removed the roles\' rows');
$sub->safe_psql('other119', 'DROP ROLE r119_own; DROP ROLE r119_use');

# Part 2: a superuser session under session_replication_role = replica.
$bg = start_session(2);
cached(2);
$sub->safe_psql('postgres', q{SET session_replication_role = replica;
	UPDATE steward.machine_definitions SET transitions = ARRAY['a->c'] WHERE name = 'm119'});
$sub->safe_psql('postgres', 'INSERT INTO go119 VALUES (2)');
($rc, $out, $err) = finish_bg($bg);
chomp $out;
is($rc, 0, 'an UPDATE under session_replication_role = replica reaches the other session') or diag($err);
is($out, 'c', 'row 2 moved to c');

# Part 3: triggers disabled.  The UPDATE (a->c taken away) is not seen by
# a session that cached the machine after the DISABLE; the ENABLE is.
$sub->safe_psql('postgres', q{ALTER TABLE steward.machine_definitions DISABLE TRIGGER ALL});
$bg = start_session(3, 4);
cached(3);
$sub->safe_psql('postgres',
	q{UPDATE steward.machine_definitions SET transitions = ARRAY['a->b'] WHERE name = 'm119'});
$sub->safe_psql('postgres', 'INSERT INTO go119 VALUES (3)');
ok($sub->poll_query_until('postgres', "SELECT st = 'c' FROM t119 WHERE id = 3"),
	'with the triggers disabled the other session keeps the old edge a -> c');
$sub->safe_psql('postgres', q{ALTER TABLE steward.machine_definitions ENABLE TRIGGER ALL});
$sub->safe_psql('postgres', 'INSERT INTO go119 VALUES (4)');
($rc, $out, $err) = finish_bg($bg);
chomp $out;
is($out, 'c', 'row 3 moved to c by the old machine');
isnt($rc, 0, 'once the triggers are enabled again the session refuses a -> c');
like($err, qr/illegal state transition "a" -> "c"/, 'refused with 23514');

$sub->stop;
$pub->stop;
done_testing();
