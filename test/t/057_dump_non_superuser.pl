# Dumps and restores by a database owner who is not a superuser (review8
# items 6, 4 and 5), as on a managed service.
#
# alice owns database d6 (pg_steward installed by a superuser), a table in
# a relayout, a table in a column migration and an idempotency scope; bob
# owns a scope and a table in a column migration there too.
#   1. alice cannot pg_dump d6 without --enable-row-security (pg_dump
#      refuses tables whose rows a policy hides); with it the dump
#      succeeds and holds her migrations and keys, not bob's.
#   2. A superuser restores alice's dump: her migrations continue and take
#      writes; bob's table came without its record: writes warn, and
#      steward.migration_forget (bob) cleans it.
#   3. alice restores her dump herself into a database prepared with
#      CREATE EXTENSION: steward's catalog rows are refused, so every
#      migrating table is an orphan; its writes warn (the column
#      migration's NOT VALID constraint refuses rows) until she calls
#      steward.migration_forget, after which every write works and no row
#      was lost.
#   4. A superuser's --schema-only + --data-only restore of d6, whose
#      tables a non-superuser owns (the apply would read steward's catalog
#      as alice with pg_dump's row_security = off), loads every row, and
#      alice's writes with row_security = off apply.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('dump_owner');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	CREATE DATABASE d6 OWNER alice;});
$node->safe_psql('d6', q{
	CREATE EXTENSION pg_steward;
	GRANT EXECUTE ON FUNCTION steward.idempotency_begin(text, text, text, boolean),
	                          steward.idempotency_complete(text, text, integer, jsonb) TO alice, bob;
	GRANT CREATE ON SCHEMA public TO bob;
	GRANT CREATE ON DATABASE d6 TO bob;});

sub as
{
	my ($role, $db, $sql) = @_;
	return $node->safe_psql($db, $sql, extra_params => [ '-U', $role ]);
}

as('alice', 'd6', q{
	CREATE TABLE ro (id int PRIMARY KEY, v text) USING steward;
	INSERT INTO ro SELECT g, 'x' || g FROM generate_series(1, 50) g;
	SELECT steward.migration_start('alice_rl',
	    '[{"relayout": {"table": "ro", "partition_by": "HASH (id)", "partitions": 2}}]');
	UPDATE ro SET v = 'upd' WHERE id = 3;
	CREATE TABLE inv (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	                  amt numeric(12,2) NOT NULL DEFAULT 0) USING steward;
	INSERT INTO inv (amt) VALUES (1.25), (2.5);
	SELECT steward.migration_start('alice_cents', '[{"alter_column": {"table": "inv", "column": "amt",
	    "name": "cents", "type": "bigint", "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}]');
	SELECT outcome FROM steward.idempotency_begin('alice_scope', 'a-key', 'fp');
	SELECT steward.idempotency_complete('alice_scope', 'a-key', 201, '{"secret": "alice"}');});
as('bob', 'd6', q{
	CREATE TABLE bt (id int PRIMARY KEY, n int NOT NULL) USING steward;
	INSERT INTO bt VALUES (1, 1), (2, 2);
	GRANT SELECT ON bt TO alice;
	SELECT steward.migration_start('bob_wide', '[{"alter_column": {"table": "bt", "column": "n",
	    "type": "bigint", "up": "n::bigint", "down": "n::int"}}]');
	SELECT outcome FROM steward.idempotency_begin('bob_scope', 'b-key', 'fp');
	SELECT steward.idempotency_complete('bob_scope', 'b-key', 201, '{"secret": "bob"}');});

my $dir = $node->basedir;
my %rows_sql = (
	ro     => q{SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM ro},
	ro_new => q{SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM ro_relayout_new},
	inv    => q{SELECT string_agg(id || ':' || amt, ',' ORDER BY id) FROM inv},
	bt     => q{SELECT string_agg(id || ':' || n, ',' ORDER BY id) FROM bt});
my %src = map { $_ => $node->safe_psql('d6', $rows_sql{$_}) } keys %rows_sql;

sub run_cmd
{
	my (@cmd) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '>', \$out, '2>', \$err);
	return ($? >> 8, $err);
}

# 1. alice dumps her database.
my ($rc, $err) = run_cmd('pg_dump', '-U', 'alice', '-f', "$dir/a.sql", '-d', $node->connstr('d6'));
isnt($rc, 0, 'without --enable-row-security pg_dump refuses as alice');
like($err, qr/query would be affected by row-level security policy for table/,
	'... because a policy hides other owners\' rows of steward\'s catalog');
($rc, $err) = run_cmd('pg_dump', '-U', 'alice', '--enable-row-security', '-f', "$dir/a.sql",
	'-d', $node->connstr('d6'));
is($rc, 0, 'pg_dump --enable-row-security succeeds as alice');
is($err, '', 'pg_dump --enable-row-security prints no message');
my $dump = slurp_file("$dir/a.sql");
like($dump, qr/^alice_rl\t/m, 'the dump holds alice\'s relayout record');
like($dump, qr/^alice_scope\ta-key\t/m, 'the dump holds alice\'s idempotency key');
unlike($dump, qr/^bob_wide\t/m, 'the dump holds no record of bob\'s migration');
unlike($dump, qr/bob_scope|"bob"/, 'the dump holds neither bob\'s scope nor his key');

sub restore_plain
{
	my ($db, $file, $user) = @_;
	return run_cmd('psql', '-X', '-q', ($user ? ('-U', $user) : ()), '-d', $node->connstr($db),
		'-f', $file);
}

# 2. A superuser restores it.
$node->safe_psql('postgres', 'CREATE DATABASE r_super OWNER alice');
($rc, $err) = restore_plain('r_super', "$dir/a.sql");
is($err, '', 'a superuser restores alice\'s dump without a message');
for my $t (sort keys %rows_sql)
{
	is($node->safe_psql('r_super', $rows_sql{$t}), $src{$t}, "superuser restore: $t has every row");
}
as('alice', 'r_super', q{INSERT INTO ro VALUES (51, 'r'); UPDATE ro SET v = 'r2' WHERE id = 1;
                         INSERT INTO inv (amt) VALUES (4)});
is(as('alice', 'r_super', q{SELECT string_agg(id || ':' || v, ',' ORDER BY id) FROM ro_relayout_new
                            WHERE id IN (1, 51)}),
	'1:r2,51:r', 'superuser restore: alice\'s relayout applies her writes');
is(as('alice', 'r_super', q{SELECT cents FROM inv WHERE amt = 4}), '400',
	'superuser restore: alice\'s column migration fills the new column');
is(as('alice', 'r_super', q{SELECT status FROM steward.idempotency_keys WHERE key = 'a-key'}), '201',
	'superuser restore: alice\'s key came with it');
my ($prc, $pout, $perr) = $node->psql('r_super', q{INSERT INTO bt VALUES (3, 3)},
	extra_params => [ '-U', 'bob' ]);
like($perr, qr/WARNING:  no active migration changes relation "bt".*\n.*steward\.migration_forget\('(?:public\.)?bt'\)/,
	'superuser restore: bob\'s table came without its record; the HINT names migration_forget');
as('bob', 'r_super', q{SELECT steward.migration_forget('bt')});
($prc, $pout, $perr) = $node->psql('r_super', q{INSERT INTO bt VALUES (3, 3)},
	extra_params => [ '-U', 'bob' ]);
is($prc . $perr, '0', 'after migration_forget bob\'s table takes writes without a message');
as('alice', 'r_super', q{CALL steward.migration_backfill('alice_rl')});
is(as('alice', 'r_super', q{SELECT bool_and(passed) FROM steward.migration_validate('alice_rl')}), 't',
	'superuser restore: alice\'s relayout backfills and validates');
as('alice', 'r_super', q{SELECT steward.migration_complete('alice_rl');
                         SELECT steward.migration_cleanup('alice_rl')});
is(as('alice', 'r_super', q{SELECT count(*) FROM ro}), '51', 'superuser restore: no row lost by the cutover');

# 3. alice restores it herself.
$node->safe_psql('postgres', 'CREATE DATABASE r_alice OWNER alice');
$node->safe_psql('r_alice', 'CREATE EXTENSION pg_steward');
($rc, $err) = restore_plain('r_alice', "$dir/a.sql", 'alice');
like($err, qr/permission denied for table migration_runs/,
	'restored by alice, steward\'s catalog rows are refused');
for my $t ('ro', 'ro_new', 'inv')
{
	is(as('alice', 'r_alice', $rows_sql{$t}), $src{$t}, "alice's restore: $t has every row");
}
($prc, $pout, $perr) = $node->psql('r_alice', q{INSERT INTO ro VALUES (51, 'r')},
	extra_params => [ '-U', 'alice' ]);
is($prc, 0, 'alice\'s restore: the orphan relayout\'s table takes writes');
like($perr, qr/no active relayout migration has relation "ro".*\n.*\n.*steward\.migration_forget\('public\.ro'\)/,
	'... with a WARNING whose HINT names migration_forget');
($prc, $pout, $perr) = $node->psql('r_alice', q{INSERT INTO inv (amt) VALUES (3)},
	extra_params => [ '-U', 'alice' ]);
like($perr, qr/steward\.migration_forget\('public\.inv'\).*\n.*violates check constraint "inv_cents_not_null"/s,
	'alice\'s restore: the orphan column migration names migration_forget before its constraint refuses the row');
is(as('alice', 'r_alice', q{
	SELECT string_agg(f, '; ') FROM (
	    SELECT steward.migration_forget('ro') AS f
	    UNION ALL SELECT steward.migration_forget('ro_relayout_new')
	    UNION ALL SELECT steward.migration_forget('inv')) x
	 WHERE f LIKE 'dropped trigger zz_steward_relayout %' OR f LIKE 'dropped trigger zz_steward_migration'
	    OR f LIKE 'dropped schema%' OR f LIKE 'dropped NOT VALID%'}),
	'dropped trigger zz_steward_relayout (the other layout, public.ro_relayout_new, stays); '
	  . 'dropped trigger zz_steward_relayout (the other layout, public.ro, stays); '
	  . 'dropped trigger zz_steward_migration; dropped schema alice_cents; dropped schema alice_cents_old; '
	  . 'dropped NOT VALID constraint inv_cents_not_null',
	'alice\'s restore: migration_forget removes triggers, views\' schemas and the NOT VALID constraint');
($prc, $pout, $perr) = $node->psql('r_alice', q{
	INSERT INTO ro VALUES (52, 'r'); UPDATE ro SET v = 'r2' WHERE id = 1; DELETE FROM ro WHERE id = 2;
	TRUNCATE ro_relayout_new;
	INSERT INTO inv (amt) VALUES (3); UPDATE inv SET amt = 9 WHERE id = 1},
	extra_params => [ '-U', 'alice' ]);
is($prc . $perr, '0', 'alice\'s restore: after migration_forget every write works without a message');
is(as('alice', 'r_alice', q{SELECT count(*) FROM ro}), '51', 'alice\'s restore: no row of ro was lost');
is(as('alice', 'r_alice', q{SELECT count(*) FROM inv}), '3', 'alice\'s restore: no row of inv was lost');

# 4. A superuser's --schema-only + --data-only restore of alice's tables
# (column migrations backfilled first, as docs/migrations.md says for this pair).
as('alice', 'd6', q{CALL steward.migration_backfill('alice_cents')});
as('bob', 'd6', q{CALL steward.migration_backfill('bob_wide')});
$node->command_ok([ 'pg_dump', '--schema-only', '-f', "$dir/s.sql", '-d', $node->connstr('d6') ],
	'pg_dump --schema-only');
$node->command_ok([ 'pg_dump', '--data-only', '-f', "$dir/d.sql", '-d', $node->connstr('d6') ],
	'pg_dump --data-only');
$node->safe_psql('postgres', 'CREATE DATABASE r_split OWNER alice');
($rc, $err) = restore_plain('r_split', "$dir/s.sql");
is($err, '', 'the --schema-only restore prints no message');
($rc, $err) = restore_plain('r_split', "$dir/d.sql");
is($err, '', 'the --data-only restore of alice\'s migrating tables prints no message');
for my $t (sort keys %rows_sql)
{
	is($node->safe_psql('r_split', $rows_sql{$t}), $src{$t}, "schema + data restore: $t has every row");
}
($prc, $pout, $perr) = $node->psql('r_split', q{
	SET row_security = off;
	INSERT INTO ro VALUES (53, 'q'); DELETE FROM ro WHERE id = 4;
	SELECT string_agg(id::text, ',' ORDER BY id) FROM ro_relayout_new WHERE id IN (4, 53)},
	extra_params => [ '-U', 'alice' ]);
is($perr, '', 'alice writes with row_security = off without a message');
is($pout, '53', '... and the writes reach the other layout');

done_testing();
