# pg_restore --data-only --disable-triggers (and pg_dump --data-only
# --disable-triggers) ends each table's data with ALTER TABLE ... ENABLE
# TRIGGER ALL, which sets every trigger ORIGIN: the extension's triggers on
# its catalogs, made ENABLE ALWAYS (one pair of steward.column_rules ORIGIN
# and REPLICA) so that they fire in a logical replication apply worker and
# under session_replication_role = replica, then fired on origin only
# (rules20 item 4; checked with PostgreSQL 15's pg_restore: all 17 were
# 'O').  A machine created in replica mode in the restored database then
# had no pg_shdepend row for its owner, and DROP ROLE of the owner from
# another database succeeded.  Now the ALTER TABLE event trigger gives the
# extension's triggers back their installed state.  A full restore with
# --disable-triggers (which PostgreSQL applies to data-only restores only)
# keeps them too.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('trigger_states');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{CREATE ROLE r121_own; CREATE ROLE r121_late; CREATE DATABASE src;});
$node->safe_psql('src', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('m121', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	SELECT steward.alter_state_machine_owner('m121', 'r121_own');
	CREATE TABLE t121 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'a', version bigint) USING steward;
	SELECT steward.track_versions('t121', 'version');
	SELECT steward.attach_state_machine('t121', 'st', 'm121');
	INSERT INTO t121 (id) VALUES (1), (2);
	UPDATE t121 SET st = 'b' WHERE id = 1;
});

# The firing state of every trigger of the extension's relations.
my $states = q{
	SELECT string_agg(t.tgrelid::regclass::text || '.' || t.tgname || '=' || t.tgenabled::text, ' '
	                  ORDER BY t.tgrelid::regclass::text, t.tgname)
	  FROM pg_trigger t
	 WHERE NOT t.tgisinternal
	   AND t.tgrelid IN (SELECT objid FROM pg_depend
	                      WHERE classid = 'pg_class'::regclass AND deptype = 'e'
	                        AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'pg_steward'))};
my $installed = $node->safe_psql('src', $states);
like($installed, qr/column_rules_changed=O .*column_rules_replica=R /,
	'installed: the column_rules pair is ORIGIN / REPLICA');
like($installed, qr/machine_definitions_roles=A/, 'installed: the roles trigger is ALWAYS');

my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/src.dump" ],
	'custom-format dump');

# Data only, into a database given the schema without the labels (which
# would make the rules and the machine first: docs/versions.md, "Managing
# rules", says to restore the catalogs' rows with their triggers enabled
# then, as they merge them).
$node->safe_psql('postgres', 'CREATE DATABASE data_only');
$node->command_ok(
	[ 'pg_restore', '--schema-only', '--no-security-labels', '-d', $node->connstr('data_only'), "$dir/src.dump" ],
	'pg_restore --schema-only --no-security-labels');
$node->command_ok(
	[ 'pg_restore', '--data-only', '--disable-triggers', '-d', $node->connstr('data_only'), "$dir/src.dump" ],
	'pg_restore --data-only --disable-triggers');
is($node->safe_psql('data_only', $states), $installed,
	'after pg_restore --data-only --disable-triggers the triggers are as installed');
# The machine's row came while the triggers were off: its owner is
# recorded at the ENABLE (codereview16 C4: no row, so DROP ROLE of the
# owner succeeded once no other database named it, leaving its OID).
my $owner_rows = q{SELECT count(*) FROM pg_shdepend
	WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
	  AND classid = 'pg_class'::regclass AND objid = 'steward.machine_definitions'::regclass
	  AND refobjid = 'r121_own'::regrole};
is($node->safe_psql('data_only', $owner_rows), '1',
	'the restored machine\'s owner is recorded in pg_shdepend');
is($node->safe_psql('data_only', q{SELECT string_agg(id || st || version, ',' ORDER BY id) FROM t121}),
	'1b2,2a1', 'the rows are restored');
is($node->safe_psql('data_only', q{SELECT string_agg(relid::text || '.' || attname, ',' ORDER BY attname)
	FROM steward.column_rules WHERE relid = 't121'::regclass}), 't121.st,t121.version',
	'and the rules, as data');

# The restored database at work: a machine made under
# session_replication_role = replica records its owner (the roles trigger
# fires there), so DROP ROLE from another database is refused.
$node->safe_psql('data_only', q{SET session_replication_role = replica;
	SELECT steward.create_state_machine('m121_late', ARRAY['x'], ARRAY['x'], '{}');
	SELECT steward.alter_state_machine_owner('m121_late', 'r121_late');});
my ($rc, $out, $err) = $node->psql('postgres', 'DROP ROLE r121_late');
isnt($rc, 0, 'DROP ROLE of the owner of a machine made in replica mode is refused');
like($err, qr/cannot be dropped because some objects depend on it/, 'with core\'s 2BP01');

# Data only, plain format through psql: pg_dump --disable-triggers.
$node->safe_psql('postgres', 'CREATE DATABASE data_plain');
$node->command_ok(
	[ 'pg_restore', '--schema-only', '--no-security-labels', '-d', $node->connstr('data_plain'), "$dir/src.dump" ],
	'the schema again');
$node->command_ok(
	[ 'pg_dump', '--data-only', '--disable-triggers', '-d', $node->connstr('src'), '-f', "$dir/data.sql" ],
	'pg_dump --data-only --disable-triggers');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('data_plain'), '-f', "$dir/data.sql" ],
	'its script runs');
is($node->safe_psql('data_plain', $states), $installed,
	'after pg_dump --data-only --disable-triggers | psql the triggers are as installed');
is($node->safe_psql('data_plain', $owner_rows), '1',
	'and the restored machine\'s owner is recorded');

# A full restore with --disable-triggers: PostgreSQL disables nothing there.
$node->safe_psql('postgres', 'CREATE DATABASE full_restore');
$node->command_ok(
	[ 'pg_restore', '--disable-triggers', '-d', $node->connstr('full_restore'), "$dir/src.dump" ],
	'full pg_restore --disable-triggers');
is($node->safe_psql('full_restore', $states), $installed,
	'after a full restore the triggers are as installed');

$node->stop;
done_testing();
