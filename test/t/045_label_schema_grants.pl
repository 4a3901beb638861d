# Rules of tables whose owner reaches the schema only through a GRANT
# survive every restore (review15 R15-2).
#
# pg_dump restores a schema's GRANTs in the ACL pass at the end, while a
# column's SECURITY LABEL (which carries its rule) comes right after
# CREATE TABLE.  Applying the label used to scan the table's rows as its
# owner, by name: "permission denied for schema" until the ACL pass, so a
# pg_dump -n restore lost the table's rules (and machine), and a
# whole-database pg_restore -1 / --exit-on-error failed entirely.  The
# label no longer reads the rows of a table that has none stored (as in a
# restore, whose data comes later); a populated table's rows are still
# read as its owner (regress 106).
#
# Layouts: schema m owned by postgres with GRANT CREATE, USAGE to the
# tenant (a plain table and a partitioned one); schema pubs with GRANT
# USAGE TO PUBLIC and CREATE to the tenant.  Each dump form (whole
# database, -n, -t) is restored with pg_restore -1 and with
# --exit-on-error: no message, the same rules, the machine, and the rules
# are enforced (stale version 40001, illegal transition 23514).
#
# Last, a machine name another role took first in the target database
# (review15 R15-4): what docs/state-machines.md says a restore does then.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('label_schema_grants');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE tenant45 LOGIN;
	CREATE DATABASE src;
});
$node->safe_psql('src', q{
	CREATE EXTENSION pg_steward;
	CREATE SCHEMA m;
	GRANT CREATE, USAGE ON SCHEMA m TO tenant45;
	CREATE SCHEMA pubs;
	GRANT USAGE ON SCHEMA pubs TO PUBLIC;
	GRANT CREATE ON SCHEMA pubs TO tenant45;
	SET ROLE tenant45;
	SELECT steward.create_state_machine('m45', ARRAY['x', 'y', 'z'], ARRAY['x'],
	                                    ARRAY['x->y', 'y->z']);
	CREATE TABLE m.t (id int PRIMARY KEY, status text NOT NULL DEFAULT 'x',
	                  v bigint, seq int NOT NULL DEFAULT 0) USING steward;
	SELECT steward.track_versions('m.t', 'v');
	SELECT steward.track_sequence('m.t', 'seq');
	SELECT steward.attach_state_machine('m.t', 'status', 'm45');
	INSERT INTO m.t (id) SELECT g FROM generate_series(1, 4) g;
	UPDATE m.t SET status = 'y', seq = 1 WHERE id % 2 = 0;

	CREATE TABLE m.pp (part int NOT NULL, id int NOT NULL, st text NOT NULL DEFAULT 'x',
	                   v bigint, PRIMARY KEY (part, id)) PARTITION BY LIST (part);
	CREATE TABLE m.pp_1 PARTITION OF m.pp FOR VALUES IN (1) USING steward;
	CREATE TABLE m.pp_2 PARTITION OF m.pp FOR VALUES IN (2) USING steward;
	SELECT steward.track_versions('m.pp', 'v');
	SELECT steward.attach_state_machine('m.pp', 'st', 'm45');
	INSERT INTO m.pp (part, id) SELECT 1 + g % 2, g FROM generate_series(1, 6) g;

	CREATE TABLE pubs.t (id int PRIMARY KEY, v bigint) USING steward;
	SELECT steward.track_versions('pubs.t', 'v');
	INSERT INTO pubs.t (id) VALUES (1), (2);
	UPDATE pubs.t SET v = 1 WHERE id = 1;
});

my $rules_sql = q{
	SELECT r.relid::text, r.column_name, r.kind, coalesce(r.machine, '-'), r.enforced
	  FROM steward.tracked_columns r ORDER BY 1, 2};
my $machine_sql = q{
	SELECT name, owner::text, states::text, initial::text, transitions::text
	  FROM steward.machine_definitions WHERE name = 'm45'};
my %data_sql = (
	m => q{SELECT string_agg(x, ';' ORDER BY x)
	         FROM (SELECT ROW('t', id, status, v, seq)::text AS x FROM m.t
	               UNION ALL SELECT ROW('pp', part, id, st, v)::text FROM m.pp) s},
	pubs => q{SELECT string_agg(ROW(id, v)::text, ';' ORDER BY id) FROM pubs.t});
my $src_rules = $node->safe_psql('src', $rules_sql);
my $src_machine = $node->safe_psql('src', $machine_sql);
my %src_data = map { $_ => $node->safe_psql('src', $data_sql{$_}) } keys %data_sql;
is($src_rules,
	"m.pp|st|state|m45|t\nm.pp|v|version|-|t\nm.t|seq|sequence|-|t\nm.t|status|state|m45|t\n"
	  . "m.t|v|version|-|t\npubs.t|v|version|-|t",
	'the source tracks the columns');

my $dir = PostgreSQL::Test::Utils::tempdir;
my %dumps = (
	all => [],
	m   => [ '-n', 'm' ],
	pubs => [ '-n', 'pubs' ],
	tbl => [ '-t', 'm.t', '-t', 'm.pp*', '-t', 'pubs.t' ],);
for my $form (sort keys %dumps)
{
	$node->command_ok(
		[ 'pg_dump', '-Fc', @{ $dumps{$form} }, '-d', $node->connstr('src'), '-f', "$dir/$form.dump" ],
		"pg_dump -Fc @{ $dumps{$form} }");
}

# The rules a database must have after restoring a form, from the source's.
sub expected_rules
{
	my ($form) = @_;
	my @rows = split /\n/, $src_rules;
	@rows = grep { /^m\./ } @rows if $form eq 'm';
	@rows = grep { /^pubs\./ } @rows if $form eq 'pubs';
	return join("\n", @rows);
}

# The tenant's writes that the rules refuse, with their SQLSTATEs.
sub check_enforced
{
	my ($db, $form, $what) = @_;
	my @writes;
	push @writes,
	  [ 'UPDATE m.t SET v = 0 WHERE id = 2', '40001', 'stale version' ],
	  [ q{UPDATE m.t SET status = 'z' WHERE id = 1}, '23514', 'illegal transition' ],
	  [ 'UPDATE m.t SET seq = 0 WHERE id = 2', '40001', 'sequence going back' ],
	  [ 'UPDATE m.pp SET v = 0 WHERE id = 2', '40001', 'partitioned: stale version' ],
	  [ q{UPDATE m.pp SET st = 'z' WHERE id = 3}, '23514', 'partitioned: illegal transition' ]
	  if $form ne 'pubs';
	push @writes, [ 'UPDATE pubs.t SET v = 0 WHERE id = 1', '40001', 'pubs: stale version' ]
	  if $form ne 'm';
	for my $w (@writes)
	{
		my ($sql, $state, $name) = @$w;
		my ($rc, $out, $err) = $node->psql($db,
			"\\set VERBOSITY sqlstate\nSET ROLE tenant45;\n$sql");
		like($err, qr/ERROR:  $state/, "$what: $name refused ($state)");
	}
	# And a legal write passes.
	my ($rc, $out, $err) = $node->psql($db,
		"SET ROLE tenant45;\n"
		  . ($form ne 'pubs' ? q{UPDATE m.t SET status = 'y' WHERE id = 1;} : '')
		  . ($form ne 'm' ? 'UPDATE pubs.t SET v = 2 WHERE id = 1;' : ''));
	is($err, '', "$what: a legal update passes");
}

my $n = 0;
for my $form (sort keys %dumps)
{
	for my $mode ([ '-1' ], [ '--exit-on-error' ])
	{
		my $db = 'dst' . $n++;
		my $what = "$form dump, pg_restore @$mode";
		$node->safe_psql('postgres', "CREATE DATABASE $db");
		if ($form ne 'all')
		{
			# A partial dump restores into a database that has the
			# extension; -t also needs the schemas, made by the DBA with
			# the same grants.
			$node->safe_psql($db, 'CREATE EXTENSION pg_steward');
			$node->safe_psql($db, q{
				CREATE SCHEMA m; GRANT CREATE, USAGE ON SCHEMA m TO tenant45;
				CREATE SCHEMA pubs; GRANT USAGE ON SCHEMA pubs TO PUBLIC;
				GRANT CREATE ON SCHEMA pubs TO tenant45;}) if $form eq 'tbl';
		}
		$node->command_checks_all(
			[ 'pg_restore', @$mode, '-d', $node->connstr($db), "$dir/$form.dump" ],
			0, [qr/^$/], [qr/^$/], "$what: no message");
		is($node->safe_psql($db, $rules_sql), expected_rules($form), "$what: the same rules");
		# A partial restore makes the machine for the restoring role (the
		# superuser: codereview3 #2); a whole-database one gives it back.
		if ($form eq 'all')
		{
			is($node->safe_psql($db, $machine_sql), $src_machine, "$what: the machine, the tenant's");
		}
		elsif ($form ne 'pubs')
		{
			my $restored = $src_machine;
			my $su = $node->safe_psql('postgres', 'SELECT current_user');
			$restored =~ s/^m45\|tenant45\|/m45|$su|/;
			is($node->safe_psql($db, $machine_sql), $restored, "$what: the machine, the restoring superuser's");
		}
		for my $schema (sort keys %data_sql)
		{
			next if $form ne 'all' && $form ne 'tbl' && $form ne $schema;
			is($node->safe_psql($db, $data_sql{$schema}), $src_data{$schema},
				"$what: the same rows in $schema");
		}
		check_enforced($db, $form, $what);
	}
}

# A machine name taken by another role in the target database (review15
# R15-4): the tenant's own restore of its tables is refused for the state
# labels (42501), never attaches the other role's machine, and -- pg_dump
# writing all labels of a table's columns as one group -- the table's
# other rules are not restored either (docs/state-machines.md, "Machine
# names are first-come per database").  A grant changes nothing: the label
# names tenant45 as the machine's owner (review35 S1).  Once the squatter's
# machine is dropped, restoring the labels again (pg_restore -L) brings
# every rule back, on a machine the restore makes.
$node->safe_psql('postgres', q{CREATE ROLE squat45; CREATE DATABASE squat;});
$node->safe_psql('squat', q{
	CREATE EXTENSION pg_steward;
	CREATE SCHEMA m; GRANT CREATE, USAGE ON SCHEMA m TO tenant45;
	CREATE SCHEMA pubs; GRANT USAGE ON SCHEMA pubs TO PUBLIC;
	GRANT CREATE ON SCHEMA pubs TO tenant45;
	SET ROLE squat45;
	SELECT steward.create_state_machine('m45', ARRAY['x', 'y', 'z'], ARRAY['x'],
	                                    ARRAY['x->y', 'y->z']);});
my ($stdout, $stderr);
IPC::Run::run([ 'pg_restore', '-U', 'tenant45', '-d', $node->connstr('squat'), "$dir/tbl.dump" ],
	'>', \$stdout, '2>', \$stderr);
like($stderr, qr/ERROR:  permission denied for state machine "m45"\nDETAIL:  It belongs to role "squat45"\.\nHINT:  Have its owner run steward\.grant_state_machine\('m45', 'tenant45'\)\./,
	'squatted machine: the state label is refused, naming the grant to ask for');
like($stderr, qr/errors ignored on restore: 2/, '... once for each table with a state column');
is($node->safe_psql('squat', $rules_sql), 'pubs.t|v|version|-|t',
	'... the tables with a state column lost their other rules too, as docs/state-machines.md says');
is($node->safe_psql('squat', $data_sql{m}), $src_data{m}, '... the rows are restored');
$node->safe_psql('squat', q{SELECT steward.grant_state_machine('m45', 'tenant45')});
my $list = join('', grep { /SECURITY LABEL/ } `pg_restore -l $dir/tbl.dump`);
open(my $fh, '>', "$dir/labels.list") or die;
print $fh $list;
close $fh;
IPC::Run::run([ 'pg_restore', '-U', 'tenant45', '-L', "$dir/labels.list",
		'-d', $node->connstr('squat'), "$dir/tbl.dump" ],
	'>', \$stdout, '2>', \$stderr);
like($stderr, qr/DETAIL:  It belongs to role "squat45"; the label of column "status" of relation "t" expects the machine of role "tenant45"\./,
	'squatted machine granted: still refused, naming both owners');
is($node->safe_psql('squat', $rules_sql), 'pubs.t|v|version|-|t', '... nothing attached');
$node->safe_psql('squat', q{SET ROLE squat45; SELECT steward.drop_state_machine('m45')});
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-U', 'tenant45', '-L', "$dir/labels.list",
		'-d', $node->connstr('squat'), "$dir/tbl.dump" ],
	'squatted machine dropped: the labels restore again');
is($node->safe_psql('squat', $rules_sql), expected_rules('tbl'), '... every rule is back');
is($node->safe_psql('squat', q{SELECT owner FROM steward.machine_definitions WHERE name = 'm45'}),
	'tenant45', '... on a machine the tenant\'s restore made');
check_enforced('squat', 'tbl', 'squatted machine dropped');

done_testing();
