# Rules of temporary tables and rows of relations that no longer exist
# (review15 R15-3).  A temporary table goes at session exit without any
# sql_drop event: its rules, state checks and retention setting stayed in
# pg_steward's catalog, kept its machine from being dropped, failed DROP
# OWNED of its owner, and were dumped by bare OID, so that a restore put
# them on whichever table got that OID there.  Now a temporary table takes
# none (0A000), and dumps carry only rows of relations that exist (a row
# left by a drop no event trigger saw, e.g. in single-user mode, or from
# before 0.2).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('temp_table_rules');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE DATABASE src;
	CREATE DATABASE dst;
	CREATE ROLE mallory LOGIN;
});
$node->safe_psql('src', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE kept (id int PRIMARY KEY, v bigint) USING steward;
	SELECT steward.track_versions('kept', 'v');
	SELECT steward.set_retention('kept', '3 days');
});

# A session of mallory's sets rules on a temporary table, then ends.
my ($ret, $out, $err) = $node->psql('src', q{
	SELECT steward.create_state_machine('tmpm', ARRAY['a','b'], ARRAY['a'], ARRAY['a->b']);
	CREATE TEMP TABLE tt (id int PRIMARY KEY, v bigint, st text DEFAULT 'a') USING steward;
	SELECT steward.track_versions('tt', 'v');
	SELECT steward.attach_state_machine('tt', 'st', 'tmpm');
	SELECT steward.set_retention('tt', '1 day');
}, extra_params => [ '-U', 'mallory' ], on_error_stop => 0);
like($err, qr/a column rule cannot be set on temporary table "tt"/,
	'a temporary table takes no column rule');
like($err, qr/a retention setting cannot be set on temporary table "tt"/,
	'a temporary table takes no retention setting');

# After the session: no row names a relation that does not exist, the
# machine can be dropped and DROP OWNED of its owner works.
is($node->safe_psql('src', q{
	SELECT (SELECT count(*) FROM steward.column_rules
	         WHERE relid::oid NOT IN (SELECT oid FROM pg_class))
	     + (SELECT count(*) FROM steward.table_retention
	         WHERE relid::oid NOT IN (SELECT oid FROM pg_class))
	     + (SELECT count(*) FROM steward.state_checks
	         WHERE relid::oid NOT IN (SELECT oid FROM pg_class))
}), '0', 'no row is left for the temporary table after its session');
($ret, $out, $err) = $node->psql('src', q{SELECT steward.drop_state_machine('tmpm')},
	extra_params => [ '-U', 'mallory' ]);
is($ret, 0, 'its machine can be dropped') or diag($err);
($ret, $out, $err) = $node->psql('src', q{DROP OWNED BY mallory});
is($ret, 0, 'DROP OWNED BY its owner works') or diag($err);

# Rows of a relation that no longer exists (as a drop in single-user mode
# leaves them) are not dumped; the existing table's rules are.  Written
# under session_replication_role = replica: under origin a rule row naming
# no relation is refused (42P01, review23 R5), under replica it is stored
# as sent, with a WARNING.
$node->safe_psql('src', q{
	SET session_replication_role = replica;
	INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('4000000000', 'v', 'version');
	INSERT INTO steward.table_retention VALUES ('4000000000', '1 day');
});
my $plain = $node->basedir . '/src.sql';
$node->command_ok([ 'pg_dump', '-f', $plain, '-d', $node->connstr('src') ],
	'pg_dump of the source database');
my $text = slurp_file($plain);
unlike($text, qr/^4000000000\t/m, 'the dump carries no row of a relation that does not exist');
like($text, qr/^public\.kept\tv\tversion\t/m, 'the dump carries the rule of the existing table');

my $dumpfile = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dumpfile, '-d', $node->connstr('src') ],
	'pg_dump -Fc of the source database');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dumpfile ],
	'pg_restore into dst');
is($node->safe_psql('dst', q{
	SELECT string_agg(relid::text || '.' || attname, ',' ORDER BY 1) FROM steward.column_rules
	 WHERE relid::oid <> 'steward.migration_runs'::regclass
}), 'kept.v', 'the restore has the rule of the existing table, and no other');
is($node->safe_psql('dst', q{
	SELECT string_agg(relid::text || ' ' || retention, ',' ORDER BY 1) FROM steward.table_retention
}), 'kept 3 days', 'the restore has the retention of the existing table, and no other');

$node->stop;
done_testing();
