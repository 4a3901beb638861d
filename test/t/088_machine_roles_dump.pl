# State machines name roles by OID (regrole owner and grantees); a role
# that no longer exists is written by pg_dump as a bare number, which a
# restore gives to whichever role has that OID in the new cluster
# (review12 R12-11).  Now:
# * DROP ROLE from another database is refused while a machine names the
#   role (pg_shdepend rows, src/lifecycle/machine_roles.c), and a restore
#   records the rows again;
# * machines whose owner or a grantee is gone anyway (dropped before the
#   rows existed: simulated by removing them) are left out of the dump; an
#   attached one comes back with its table's label, for the role running
#   the restore (codereview3 #2).
#   In the restore cluster the role "eve88" has the dropped owner's OID
#   and "mallory88" the dropped grantee's: they get nothing;
# * a machine whose owner is missing by name in the restore cluster fails
#   the restore loudly (42704), and nobody gets it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old = PostgreSQL::Test::Cluster->new('roles_old');
$old->init;
$old->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$old->start;

$old->safe_psql('postgres', q{
	CREATE ROLE own88;
	CREATE ROLE app88;
	CREATE ROLE solo88;
	CREATE DATABASE src;
	CREATE DATABASE src2;
});
# After the extension's objects, so that the restore cluster can reach
# these OIDs with roles before it creates anything else.
$old->safe_psql('src', q{CREATE EXTENSION pg_steward});
$old->safe_psql('postgres', q{CREATE ROLE gone88; CREATE ROLE gone88b;});
my $gone_oid = $old->safe_psql('postgres', q{SELECT 'gone88'::regrole::oid});
my $goneb_oid = $old->safe_psql('postgres', q{SELECT 'gone88b'::regrole::oid});

$old->safe_psql('src', q{
	GRANT CREATE ON SCHEMA public TO own88, app88;
	-- orph: gone88's, granted to app88, attached to app88's table.
	SELECT steward.create_state_machine('orph', ARRAY['open', 'closed'], ARRAY['open'], ARRAY['open->closed']);
	SELECT steward.grant_state_machine('orph', 'app88');
	SELECT steward.alter_state_machine_owner('orph', 'gone88');
	SET ROLE app88;
	CREATE TABLE t_orph (id int PRIMARY KEY, state text NOT NULL DEFAULT 'open') USING steward;
	SELECT steward.attach_state_machine('t_orph', 'state', 'orph');
	INSERT INTO t_orph VALUES (1);
	RESET ROLE;
	-- lone: gone88's, attached nowhere.
	SELECT steward.create_state_machine('lone', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	SELECT steward.alter_state_machine_owner('lone', 'gone88');
	-- kept: own88's, granted to gone88b, attached to own88's table.
	SET ROLE own88;
	SELECT steward.create_state_machine('kept', ARRAY['open', 'closed'], ARRAY['open'], ARRAY['open->closed']);
	SELECT steward.grant_state_machine('kept', 'gone88b');
	CREATE TABLE t_kept (id int PRIMARY KEY, state text NOT NULL DEFAULT 'open') USING steward;
	SELECT steward.attach_state_machine('t_kept', 'state', 'kept');
	INSERT INTO t_kept VALUES (1);
	-- fine: own88's, granted to app88: dumped and restored as it is.
	SELECT steward.create_state_machine('fine', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	SELECT steward.grant_state_machine('fine', 'app88');
	RESET ROLE;
});

# DROP ROLE from another database is refused while the machines name them.
for my $role ('gone88', 'gone88b')
{
	my ($rc, $out, $err) = $old->psql('postgres', "DROP ROLE $role");
	like($err, qr/role "$role" cannot be dropped because some objects depend on it\nDETAIL:  \d+ objects? in database src/,
		"DROP ROLE $role from another database is refused");
}

# A cluster where they were dropped all the same (before the rows existed).
$old->safe_psql('src', q{
	SET allow_system_table_mods = on;
	DELETE FROM pg_shdepend WHERE refobjid IN (SELECT oid FROM pg_roles WHERE rolname IN ('gone88', 'gone88b'));
});
$old->safe_psql('postgres', q{DROP ROLE IF EXISTS gone88; DROP ROLE IF EXISTS gone88b;});
is($old->safe_psql('src', qq{
	SELECT string_agg(name || ':' || owner::text || ':' || usage_roles::text, ',' ORDER BY name)
	  FROM steward.machine_definitions WHERE NOT builtin}),
	"fine:own88:{app88},kept:own88:{$goneb_oid},lone:$gone_oid:{},orph:$gone_oid:{app88}",
	'the source holds the dropped roles\' OIDs');

# solo88 owns a machine in src2; the restore cluster has no such role.
$old->safe_psql('src2', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('solo', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	SELECT steward.alter_state_machine_owner('solo', 'solo88');
});

my $dir = PostgreSQL::Test::Utils::tempdir;
$old->command_ok([ 'pg_dump', '-Fc', '-d', $old->connstr('src'), '-f', "$dir/src.dump" ], 'dump src');
$old->command_ok([ 'pg_dump', '-Fc', '-d', $old->connstr('src2'), '-f', "$dir/src2.dump" ], 'dump src2');

# A role dropped while the dump runs: the dump's snapshot still shows the
# machine as race88's (given away and the role dropped after it was
# taken), but the role's name is gone when the row is written, so regrole
# writes the bare OID.  The dump condition must judge a role by what
# will be written, not by the snapshot's pg_roles.  The same for an
# idempotency scope (review12 R12-11's dump conditions) and its keys.
$old->safe_psql('postgres', q{CREATE ROLE race88; CREATE DATABASE src3;});
$old->safe_psql('src3', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('race', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	SELECT steward.alter_state_machine_owner('race', 'race88');
	SELECT steward.create_state_machine('race_grant', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	SELECT steward.grant_state_machine('race_grant', 'race88');
	SELECT steward.create_idempotency_scope('race_scope', 'race88');
	SELECT outcome FROM steward.idempotency_begin('race_scope', 'race_key', 'fp');
	SELECT steward.idempotency_complete('race_scope', 'race_key', 200, '{"secret": "race"}');
});
my $race_oid = $old->safe_psql('postgres', q{SELECT 'race88'::regrole::oid});
my $snapshotter = $old->background_psql('src3');
$snapshotter->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
my $snapshot = $snapshotter->query_safe('SELECT pg_export_snapshot()');
$old->safe_psql('src3', q{REASSIGN OWNED BY race88 TO own88; DROP OWNED BY race88;});
$old->safe_psql('postgres', q{DROP ROLE race88});
$old->command_ok(
	[ 'pg_dump', '--snapshot', $snapshot, '-d', $old->connstr('src3'), '-f', "$dir/src3.sql" ],
	'dump src3 in a snapshot taken before race88 was dropped');
$snapshotter->quit;
my $src3 = slurp_file("$dir/src3.sql");
unlike($src3, qr/\b$race_oid\b/, 'the dump does not hold the dropped role\'s OID');
unlike($src3, qr/^race(_grant)?\t/m, '... nor the machines that named it in the dump\'s snapshot');
unlike($src3, qr/race_scope|race_key|"secret"/, '... nor the idempotency scope it owned there, nor its key');
$old->stop;

my $new = PostgreSQL::Test::Cluster->new('roles_new');
$new->init;
$new->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$new->start;

# Roles that take the dropped roles' OIDs, before anything else uses OIDs.
$new->safe_psql('postgres', q{CREATE ROLE own88; CREATE ROLE app88;});
for my $pair ([ 'eve88', $gone_oid ], [ 'mallory88', $goneb_oid ])
{
	my ($name, $oid) = @$pair;
	$new->safe_psql('postgres', qq{
		DO \$\$
		DECLARE
			i int := 0;
			o oid;
		BEGIN
			LOOP
				EXECUTE format('CREATE ROLE %I', 'filler88_$name' || i);
				o := ('filler88_$name' || i)::regrole::oid;
				EXIT WHEN o >= $oid;
				i := i + 1;
			END LOOP;
			IF o <> $oid THEN
				RAISE 'role OID % passed % by', o, $oid;
			END IF;
			EXECUTE format('ALTER ROLE %I RENAME TO $name', 'filler88_$name' || i);
		END
		\$\$});
	is($new->safe_psql('postgres', "SELECT '$name'::regrole::oid"), $oid,
		"$name has the OID the dropped role had");
}

$new->safe_psql('postgres', 'CREATE DATABASE dst');
my $su88 = $new->safe_psql('postgres', 'SELECT current_user');
$new->command_ok(
	[ 'pg_restore', '-j', '2', '--exit-on-error', '-d', $new->connstr('dst'), "$dir/src.dump" ],
	'the dump restores');

is($new->safe_psql('dst', q{
	SELECT string_agg(name || ':' || owner::text || ':' || usage_roles::text, ',' ORDER BY name)
	  FROM steward.state_machines WHERE NOT builtin}),
	"fine:own88:{app88},kept:$su88:{},orph:$su88:{}",
	'machines naming dropped roles were not dumped; the attached ones came back for the restoring role');
is($new->safe_psql('dst', q{
	SELECT count(*) FROM steward.machine_definitions
	 WHERE owner IN ('eve88'::regrole, 'mallory88'::regrole)
	    OR usage_roles && ARRAY['eve88'::regrole, 'mallory88'::regrole]}),
	'0', 'the roles with the dropped roles\' OIDs own and may use nothing');
my ($rc, $out, $err) = $new->psql('dst',
	"\\set VERBOSITY sqlstate\nSET ROLE eve88; SELECT steward.alter_state_machine_owner('orph', 'eve88')");
like($err, qr/ERROR:  42501/, 'eve88 cannot give itself orph');
is($new->safe_psql('dst', q{
	SET ROLE app88;
	UPDATE t_orph SET state = 'closed' WHERE id = 1 RETURNING state}),
	'closed', 'orph is enforced on app88\'s table');
($rc, $out, $err) = $new->psql('dst', "\\set VERBOSITY sqlstate\nUPDATE t_orph SET state = 'open'");
like($err, qr/ERROR:  23514/, '... both ways');

# The restore recorded the machines' roles (one row per machine and role).
is($new->safe_psql('dst', q{
	SELECT string_agg(x, ', ' ORDER BY x)
	  FROM (SELECT d.refobjid::regrole || ' ' || pg_describe_object(d.classid, d.objid, d.objsubid) AS x
	          FROM pg_shdepend d
	         WHERE d.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
	           AND d.classid = 'pg_class'::regclass
	           AND d.objid = 'steward.machine_definitions'::regclass) s}),
	'app88 column usage_roles of table steward.machine_definitions, '
	. 'own88 column owner of table steward.machine_definitions',
	'the restore recorded the machines\' roles (not the bootstrap superuser\'s, pinned)');

# A machine whose owner is missing by name: the restore fails loudly.
$new->safe_psql('postgres', 'CREATE DATABASE dst2');
my ($stdout, $stderr) = ('', '');
IPC::Run::run([ 'pg_restore', '-d', $new->connstr('dst2'), "$dir/src2.dump" ], '>', \$stdout, '2>', \$stderr);
isnt($?, 0, 'restoring a machine of a role the cluster lacks fails');
like($stderr, qr/role "solo88" does not exist/, '... naming the role');
is($new->safe_psql('dst2', q{SELECT count(*) FROM steward.machine_definitions WHERE name = 'solo'}), '0',
	'... and nobody gets the machine');

# Without the library in the session (no shared_preload_libraries, and
# DROP ROLE fires no event trigger that would load it), nothing of ours
# runs at DROP ROLE in the machine's own database: core refuses it from
# the rows alone, naming them as it names any column privilege.
$new->safe_psql('postgres', 'CREATE ROLE nohook88');
$new->safe_psql('dst', q{
	SELECT steward.create_state_machine('nohook', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	SELECT steward.alter_state_machine_owner('nohook', 'nohook88');
});
$new->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$new->restart;
($rc, $out, $err) = $new->psql('dst', 'DROP ROLE nohook88');
like($err, qr/role "nohook88" cannot be dropped because some objects depend on it\nDETAIL:  privileges for column owner of table steward.machine_definitions/,
	'without the library loaded, DROP ROLE of a machine\'s owner is refused by core');
is($new->safe_psql('dst', q{SELECT owner FROM steward.machine_definitions WHERE name = 'nohook'}), 'nohook88',
	'... and the machine keeps its owner');

# The event trigger refusing column privileges on the two columns whose
# pg_shdepend key the machines' rows use (codereview2 #3) runs without the
# library preloaded too: a REVOKE there would delete the machines' rows.
($rc, $out, $err) = $new->psql('dst',
	"\\set VERBOSITY sqlstate\nGRANT SELECT (owner) ON steward.machine_definitions TO nohook88");
like($err, qr/ERROR:  0LP01/, 'without the library loaded, a column privilege on the machines\' owner column is refused');
($rc, $out, $err) = $new->psql('postgres', 'DROP ROLE nohook88');
like($err, qr/DETAIL:  1 object in database dst/, '... and DROP ROLE from another database still refused');

$new->stop;
done_testing();
