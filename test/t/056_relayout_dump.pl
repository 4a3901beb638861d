# Migrations in progress survive pg_dump / pg_restore (review8 items 3
# and 5).  A database with a relayout before its backfill (the new
# layout holds the rows written since the start), a relayout after its cutover and a column migration (backfilled) is
# dumped in every form a superuser uses -- custom (pg_restore), plain
# (psql), directory (pg_restore -j 2), and --schema-only followed by
# --data-only (docs/migrations.md's recipe, triggers on while the data loads).  Each
# restored copy must restore without a message, hold the source's rows in
# every layout and shape, accept INSERT / UPDATE / DELETE on each table
# with the change applied to the other layout (the apply trigger names the
# other layout, not its OID in the source database), and then finish each
# migration -- completed and cleaned up in two copies, rolled back in the
# other two -- without losing a row.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('relayout_dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION pg_steward;
	-- ro: relayout before its backfill, written since its start.
	CREATE TABLE ro (id int PRIMARY KEY, v text, version bigint) USING steward;
	SELECT steward.track_versions('ro', 'version');
	INSERT INTO ro (id, v) SELECT g, 'x' || g FROM generate_series(1, 200) g;
	SELECT steward.migration_start('ro_rl',
	    '[{"relayout": {"table": "ro", "partition_by": "HASH (id)", "partitions": 4}}]');
	INSERT INTO ro (id, v) VALUES (201, 'new');
	UPDATE ro SET v = 'upd' WHERE id IN (3, 150);
	DELETE FROM ro WHERE id IN (4, 151);
	-- rc: relayout after its cutover (rc is the partitioned layout now).
	CREATE TABLE rc (id int PRIMARY KEY, v text) USING steward;
	INSERT INTO rc SELECT g, 'y' || g FROM generate_series(1, 100) g;
	SELECT steward.migration_start('rc_rl',
	    '[{"relayout": {"table": "rc", "partition_by": "HASH (id)", "partitions": 2}}]');
	CALL steward.migration_backfill('rc_rl');
	SELECT passed FROM steward.migration_validate('rc_rl');
	SELECT steward.migration_complete('rc_rl');
	UPDATE rc SET v = 'after' WHERE id = 7;
	-- inv: a column migration after its backfill (a --data-only restore
	-- loads rows the backfill has not reached against the new column's
	-- NOT VALID constraint: docs/migrations.md says to backfill first), written since.
	CREATE TABLE inv (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	                  amt numeric(12,2) NOT NULL DEFAULT 0) USING steward;
	INSERT INTO inv (amt) SELECT g / 4.0 FROM generate_series(1, 20) g;
	SELECT steward.migration_start('cents', '[{"alter_column": {"table": "inv", "column": "amt",
	    "name": "cents", "type": "bigint", "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}]');
	CALL steward.migration_backfill('cents');
	INSERT INTO inv (amt) VALUES (6);
});

is($node->safe_psql('src', q{
	SELECT string_agg(split_part(encode(tgargs, 'escape'), '\000', 4), ',' ORDER BY tgrelid::regclass::text)
	  FROM pg_trigger WHERE tgname = 'zz_steward_relayout' AND tgparentid = 0}),
	'public.rc_relayout_old,public.rc,public.ro_relayout_new,public.ro',
	'the apply triggers name the other layout');

my %rows_sql = (
	ro     => q{SELECT string_agg(id || ':' || v || ':' || version, ',' ORDER BY id) FROM ro},
	ro_new => q{SELECT string_agg(id || ':' || v || ':' || version, ',' ORDER BY id) FROM ro_relayout_new},
	rc     => q{SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM rc},
	rc_old => q{SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM rc_relayout_old},
	inv    => q{SELECT string_agg(id || ':' || amt || ':' || coalesce(cents::text, '-'), ',' ORDER BY id) FROM inv});
my %src = map { $_ => $node->safe_psql('src', $rows_sql{$_}) } keys %rows_sql;
my $state_sql = q{SELECT string_agg(name || ':' || phase || ':' || result, ',' ORDER BY name) FROM steward.migrations};
my $src_state = $node->safe_psql('src', $state_sql);
is($src_state, 'cents:backfilled:in_progress,rc_rl:switched:in_progress,ro_rl:pending_backfill:in_progress',
	'the source has the three migrations');
cmp_ok(scalar(split /,/, $src{ro_new}), '<', scalar(split /,/, $src{ro}),
	'the source\'s new layout holds only the rows written since the start');

my $dir = $node->basedir;

sub run_quiet
{
	my ($what, @cmd) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	is($? >> 8, 0, "$what exits 0");
	is($err, '', "$what prints no message");
}

sub psql_file
{
	my ($db, $file) = @_;
	run_quiet("psql -f $file", 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr($db), '-f', $file);
}

sub restore
{
	my ($form, $db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	if ($form eq 'custom' || $form eq 'directory')
	{
		my $file = "$dir/src.$form";
		$node->command_ok([ 'pg_dump', ($form eq 'custom' ? '-Fc' : '-Fd'), '-f', $file,
				'-d', $node->connstr('src') ], "pg_dump $form");
		run_quiet("pg_restore $form", 'pg_restore', ($form eq 'directory' ? ('-j', '2') : ()),
			'-d', $node->connstr($db), $file);
	}
	elsif ($form eq 'plain')
	{
		$node->command_ok([ 'pg_dump', '-f', "$dir/src.sql", '-d', $node->connstr('src') ],
			'pg_dump plain');
		psql_file($db, "$dir/src.sql");
	}
	else
	{
		$node->command_ok([ 'pg_dump', '--schema-only', '-f', "$dir/s.sql",
				'-d', $node->connstr('src') ], 'pg_dump --schema-only');
		$node->command_ok([ 'pg_dump', '--data-only', '-f', "$dir/d.sql",
				'-d', $node->connstr('src') ], 'pg_dump --data-only');
		psql_file($db, "$dir/s.sql");
		psql_file($db, "$dir/d.sql");
	}
}

# The copy's writes, checked on both layouts; returns nothing.
sub write_and_check
{
	my ($db, $form) = @_;
	my ($rc, $out, $err) = $node->psql($db, q{
		INSERT INTO ro (id, v) VALUES (1001, 'r');
		UPDATE ro SET v = 'r2' WHERE id IN (1, 199);
		DELETE FROM ro WHERE id IN (2, 198);
		UPDATE ro SET id = 1002 WHERE id = 5;
		INSERT INTO rc VALUES (1001, 'r');
		UPDATE rc SET v = 'r2' WHERE id = 1;
		DELETE FROM rc WHERE id = 2;
		INSERT INTO inv (amt) VALUES (7.5);
		UPDATE inv SET amt = 9 WHERE id = 1;});
	is($rc, 0, "$form: INSERT, UPDATE and DELETE work on every table");
	is($err, '', "$form: the writes print no message");
	is($node->safe_psql($db, q{SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM ro_relayout_new
	                          WHERE id IN (1, 2, 5, 198, 199, 1001, 1002)}),
		'1:r2,199:r2,1001:r,1002:x5', "$form: ro's writes reached its new layout");
	is($node->safe_psql($db, q{SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM rc_relayout_old
	                          WHERE id IN (1, 2, 1001)}),
		'1:r2,1001:r', "$form: rc's writes reached its old layout");
	is($node->safe_psql($db, q{SELECT string_agg(amt || ':' || cents, ',' ORDER BY id) FROM inv
	                          WHERE id IN (1, 22)}),
		'9.00:900,7.50:750', "$form: inv's writes fill the new column");
}

my %end = (custom => 'complete', plain => 'rollback', directory => 'rollback',
	'schema+data' => 'complete');
my $n = 0;
for my $form ('custom', 'plain', 'directory', 'schema+data')
{
	my $db = 'dst' . ++$n;
	restore($form, $db);
	for my $t (sort keys %rows_sql)
	{
		is($node->safe_psql($db, $rows_sql{$t}), $src{$t}, "$form: $t has the source's rows");
	}
	is($node->safe_psql($db, $state_sql), $src_state, "$form: the migrations came with it");
	write_and_check($db, $form);
	my $ro = $node->safe_psql($db, $rows_sql{ro});
	my $rc = $node->safe_psql($db, $rows_sql{rc});
	my $rc_old = $node->safe_psql($db, $rows_sql{rc_old});
	my $inv = $node->safe_psql($db, q{SELECT string_agg(id || ':' || amt, ',' ORDER BY id) FROM inv});

	if ($end{$form} eq 'complete')
	{
		$node->safe_psql($db, q{
			CALL steward.migration_backfill('ro_rl');
			CALL steward.migration_backfill('cents');});
		is($node->safe_psql($db, q{
			SELECT bool_and(passed) FROM (
			    SELECT passed FROM steward.migration_validate('ro_rl')
			    UNION ALL SELECT passed FROM steward.migration_validate('cents')) v}),
			't', "$form: the restored migrations validate");
		$node->safe_psql($db, q{
			SELECT steward.migration_complete('ro_rl');
			SELECT steward.migration_complete('cents');
			SELECT steward.migration_cleanup('ro_rl');
			SELECT steward.migration_cleanup('rc_rl');
			SELECT steward.migration_cleanup('cents');});
		is($node->safe_psql($db, $rows_sql{ro}), $ro, "$form: ro keeps every row after complete + cleanup");
		is($node->safe_psql($db, q{SELECT relkind FROM pg_class WHERE oid = 'ro'::regclass}), 'p',
			"$form: ro is the partitioned layout");
		is($node->safe_psql($db, $rows_sql{rc}), $rc, "$form: rc keeps every row after cleanup");
		is($node->safe_psql($db, q{SELECT string_agg(id || ':' || cents, ',' ORDER BY id) FROM inv}),
			join(',', map { my ($i, $a) = split /:/; "$i:" . int($a * 100 + 0.5) } split /,/, $inv),
			"$form: inv's new column holds every row's value after complete + cleanup");
		$node->safe_psql($db, q{INSERT INTO ro (id, v) VALUES (2001, 'z'); INSERT INTO rc VALUES (2001, 'z');
		                        INSERT INTO inv (cents) VALUES (5)});
	}
	else
	{
		$node->safe_psql($db, q{
			SELECT steward.migration_rollback('ro_rl');
			SELECT steward.migration_rollback('rc_rl');
			SELECT steward.migration_rollback('cents');});
		is($node->safe_psql($db, $rows_sql{ro}), $ro, "$form: ro keeps every row after rollback");
		is($node->safe_psql($db, q{SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM rc}), $rc_old,
			"$form: rc is the old layout again with every row");
		is($node->safe_psql($db, q{SELECT relkind FROM pg_class WHERE oid = 'rc'::regclass}), 'r',
			"$form: rc is the unpartitioned layout again");
		is($node->safe_psql($db, q{SELECT string_agg(id || ':' || amt, ',' ORDER BY id) FROM inv}), $inv,
			"$form: inv keeps every row after rollback");
		$node->safe_psql($db, q{INSERT INTO ro (id, v) VALUES (2001, 'z'); INSERT INTO rc VALUES (2001, 'z');
		                        INSERT INTO inv (amt) VALUES (5)});
	}
	is($node->safe_psql($db, q{SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'zz_steward%'}), '0',
		"$form: no migration trigger is left");
	is($node->safe_psql($db, $state_sql), $end{$form} eq 'complete'
		? 'cents:validated:completed,rc_rl:validated:completed,ro_rl:validated:completed'
		: 'cents:pending_backfill:rolled_back,rc_rl:pending_backfill:rolled_back,ro_rl:pending_backfill:rolled_back',
		"$form: the migrations ended");
}

done_testing();
