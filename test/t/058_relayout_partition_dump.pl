# A database with a relayout of a partitioned table in progress (after the
# cutover, with a partition created under the live layout meanwhile) dumps
# and restores, plain and custom format with two jobs: the DDL guards of
# review8 #16 / #28 / #9 (ATTACH / DETACH PARTITION on a layout refused
# while the relayout is active) must not refuse the dump's own
# ATTACH PARTITION statements, which run before the migration catalog's
# rows are restored.  The restored database has every row in both layouts
# and the TRUNCATE guard on every table of both.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('relayout_partition_dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE t_owner;
	CREATE DATABASE src;
});
$node->safe_psql('src', q{
	CREATE EXTENSION pg_steward;
	GRANT CREATE ON SCHEMA public TO t_owner;
	GRANT CREATE ON DATABASE src TO t_owner;
	SET ROLE t_owner;
	CREATE TABLE ev (id int, k int, v int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
	CREATE TABLE ev1 PARTITION OF ev FOR VALUES IN (1) PARTITION BY HASH (id);
	CREATE TABLE ev1a PARTITION OF ev1 FOR VALUES WITH (MODULUS 2, REMAINDER 0) USING steward;
	CREATE TABLE ev1b PARTITION OF ev1 FOR VALUES WITH (MODULUS 2, REMAINDER 1) USING steward;
	CREATE TABLE ev2 PARTITION OF ev FOR VALUES IN (2) USING steward;
	INSERT INTO ev SELECT g, 1 + g % 2, g FROM generate_series(1, 40) g;
	SELECT steward.migration_start('ev_rl',
	    '[{"relayout": {"table": "ev", "partition_by": "RANGE (id)",
	                    "partitions": [{"from": [null], "to": [100]}]}}]');
});
$node->safe_psql('src', q{
	SET ROLE t_owner;
	CALL steward.migration_backfill('ev_rl');
	SELECT count(*) FROM steward.migration_validate('ev_rl') WHERE NOT passed;
	SELECT steward.migration_complete('ev_rl');
	CREATE TABLE ev_more PARTITION OF ev FOR VALUES FROM (100) TO (200) USING steward;
	INSERT INTO ev VALUES (150, 1, 0), (151, 2, 0);
});

# Rows of each layout, and the tables of both that lack the TRUNCATE guard.
my $state = q{
	SELECT (SELECT count(*) FROM ev) || '/' || (SELECT count(*) FROM ev_relayout_old) || ' '
	       || coalesce((SELECT string_agg(x::text, ',' ORDER BY x::text)
	                      FROM (SELECT relid AS x FROM pg_partition_tree('ev')
	                            UNION SELECT relid FROM pg_partition_tree('ev_relayout_old')) t
	                     WHERE NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = t.x
	                                          AND g.tgname = 'zz_steward_relayout_truncate')), 'all guarded')};
my $expected = $node->safe_psql('src', $state);
is($expected, '42/42 all guarded', 'source: both layouts hold every row, every table guarded');

my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-d', $node->connstr('src'), '-f', "$dir/all.sql" ], 'plain dump');
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/all.dump" ],
	'custom-format dump');
my $plain = slurp_file("$dir/all.sql");
like($plain, qr/ATTACH PARTITION/, 'the dump attaches partitions with ALTER TABLE');

$node->safe_psql('postgres', 'CREATE DATABASE r_plain; CREATE DATABASE r_custom;');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('r_plain'),
	  '-f', "$dir/all.sql" ],
	'plain restore: no statement refused');
# Two jobs: one attaches a partition's index while the other creates and
# enables the migration's trigger on the partitioned old layout; the event
# triggers' checks lock nothing the commands did not (pg_restore deadlocked
# here once: isolation spec ddl_check_locks).
$node->command_ok(
	[ 'pg_restore', '-j', '2', '--exit-on-error', '-d', $node->connstr('r_custom'),
	  "$dir/all.dump" ],
	'custom restore with two jobs: no statement refused');

for my $db ('r_plain', 'r_custom')
{
	is($node->safe_psql($db, $state), $expected, "$db: every row in both layouts, every table guarded");
	my ($ret, $out, $err) = $node->psql($db, 'TRUNCATE ev1a');
	like($err, qr/cannot truncate "ev1a" while migration "ev_rl" re-layouts it/,
		"$db: TRUNCATE of a partition of the old layout refused");
	($ret, $out, $err) = $node->psql($db, 'ALTER TABLE ev DETACH PARTITION ev_more');
	like($err, qr/cannot detach a partition from "ev" while migration "ev_rl"/,
		"$db: DETACH PARTITION from the live layout refused");
}

done_testing();
