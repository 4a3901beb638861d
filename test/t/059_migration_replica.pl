# Migrations on a logical-replication subscriber (recheck8 N4, review8 #23).
#
# The subscriber's apply worker writes under session_replication_role =
# replica.  A migration's own triggers are ENABLE ALWAYS, so the writes a
# publisher sends while the subscriber re-layouts a table or migrates its
# columns reach both layouts or both shapes: validation passes, complete
# loses nothing, and a rollback after complete keeps what was applied
# since.  Before the fix the triggers did not fire in the apply worker:
# validation failed, and a rollback after complete reverted committed
# rows.  A replicated TRUNCATE of a relayout's table is refused like any
# other (it would empty one layout only); the subscription resumes once
# the relayout is rolled back.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;

my $schema = q{
	CREATE TABLE rl (id int PRIMARY KEY, v int) USING steward;
	CREATE TABLE prl (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
	CREATE TABLE prl1 PARTITION OF prl FOR VALUES FROM (0) TO (1000) USING steward;
	CREATE TABLE prl2 PARTITION OF prl FOR VALUES FROM (1000) TO (2000) USING steward;
	CREATE TABLE cm (id int PRIMARY KEY, amt numeric(12,2)) USING steward;
	CREATE TABLE ad (id int PRIMARY KEY, a int) USING steward;
};

my $pub = PostgreSQL::Test::Cluster->new('mr_pub');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('mr_sub');
$sub->init;
$sub->append_conf('postgresql.conf',
	"shared_preload_libraries = 'pg_steward'\nwal_retrieve_retry_interval = 200ms");
$sub->start;

for my $node ($pub, $sub)
{
	$node->safe_psql('postgres', "CREATE EXTENSION pg_steward; $schema");
}
$pub->safe_psql(
	'postgres', q{
	INSERT INTO rl SELECT g, g FROM generate_series(1, 20) g;
	INSERT INTO prl SELECT g, g FROM generate_series(1, 20) g;
	INSERT INTO prl SELECT g, g FROM generate_series(1001, 1010) g;
	INSERT INTO cm SELECT g, g FROM generate_series(1, 20) g;
	INSERT INTO ad SELECT g, g FROM generate_series(1, 20) g;
	CREATE PUBLICATION p FOR TABLE rl, prl, cm, ad;
});
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s CONNECTION '" . $pub->connstr . " dbname=postgres' PUBLICATION p");
$sub->wait_for_subscription_sync($pub, 's');

# The subscriber migrates all four tables.
$sub->safe_psql(
	'postgres', q{
	SELECT steward.migration_start('rl_m', '[{"relayout": {"table": "rl", "partition_by": "HASH (id)", "partitions": 4}}]');
	SELECT steward.migration_start('prl_m', '[{"relayout": {"table": "prl", "partition_by": "HASH (id)", "partitions": 2}}]');
	SELECT steward.migration_start('cm_m', '[{"alter_column": {"table": "cm", "column": "amt", "name": "cents", "type": "bigint", "up": "(amt * 100)::bigint", "down": "cents / 100.0"}}]');
	SELECT steward.migration_start('ad_m', '[{"add_column": {"table": "ad", "column": "b", "type": "int", "up": "a * 2"}}]');
	CALL steward.migration_backfill('rl_m');
	CALL steward.migration_backfill('prl_m');
	CALL steward.migration_backfill('cm_m');
	CALL steward.migration_backfill('ad_m');
});
is( $sub->safe_psql(
		'postgres', q{
	SELECT string_agg(DISTINCT tgenabled::text, ',') FROM pg_trigger WHERE tgname LIKE 'zz_steward%'}),
	'A',
	'every trigger of the migrations (and their clones on partitions) fires always');

# The publisher writes every way: the apply worker replays it.
my $writes = q{
	UPDATE rl SET v = v + 100 WHERE id <= 3;  DELETE FROM rl WHERE id IN (4, 5);
	INSERT INTO rl VALUES (%1$d, %1$d);
	COPY rl FROM PROGRAM 'printf "%2$d\t%2$d\n"';
	UPDATE prl SET v = v + 100 WHERE id IN (1, 1001);  DELETE FROM prl WHERE id IN (2, 1002);
	INSERT INTO prl VALUES (%1$d, %1$d), (%1$d + 1000, 1);
	UPDATE prl SET id = id + 1500 WHERE id = 3;        -- moves between partitions
	UPDATE cm SET amt = amt + 0.5 WHERE id <= 3;  DELETE FROM cm WHERE id = 4;
	INSERT INTO cm VALUES (%1$d, 1.25);
	COPY cm FROM PROGRAM 'printf "%2$d\t2.50\n"';
	UPDATE ad SET a = a + 100 WHERE id <= 3;  DELETE FROM ad WHERE id = 4;
	INSERT INTO ad VALUES (%1$d, %1$d);
	COPY ad FROM PROGRAM 'printf "%2$d\t7\n"';
};
$writes =~ s/%1\$d/50/g;
$writes =~ s/%2\$d/51/g;
$pub->safe_psql('postgres', $writes);
$pub->wait_for_catchup('s');

my $failed_checks = q{
	SELECT coalesce(string_agg(m || ': ' || v."check" || ' ' || v.detail, '; '), 'none')
	  FROM unnest(ARRAY['rl_m', 'prl_m', 'cm_m', 'ad_m']) m, steward.migration_validate(m) v
	 WHERE NOT v.passed AND v."check" NOT LIKE 'partition %' AND v."check" NOT LIKE 'distribution %'};
is($sub->safe_psql('postgres', $failed_checks),
	'none', 'replicated writes reached both layouts and both shapes: every validation passes');
is( $sub->safe_psql(
		'postgres', q{
	SELECT string_agg(format('%s:%s:%s', id, amt, cents), ' ' ORDER BY id) FROM cm WHERE id IN (1, 50, 51)}),
	'1:1.50:150 50:1.25:125 51:2.50:250',
	'a column migration computes the new column for replicated UPDATE, INSERT and COPY');

# Complete on the subscriber, then more replicated writes.
$sub->safe_psql(
	'postgres', q{
	SELECT steward.migration_complete('rl_m');
	SELECT steward.migration_complete('ad_m');
});
my $after = $writes;
$after =~ s/\b50\b/60/g;
$after =~ s/\b51\b/61/g;
$after =~ s/\b1050\b/1060/g;
$after =~ s/^.*(prl|cm).*$//mg;    # prl and cm stay before complete
$pub->safe_psql('postgres', $after);
$pub->wait_for_catchup('s');

my $rows = q{SELECT string_agg(format('%s|%s', id, v), ' ' ORDER BY id) FROM rl};
my $pub_rl = $pub->safe_psql('postgres', $rows);
is($sub->safe_psql('postgres', $rows),
	$pub_rl, 'after complete the apply writes the new layout (the table now)');
is( $sub->safe_psql(
		'postgres',
		q{SELECT string_agg(format('%s|%s', id, v), ' ' ORDER BY id) FROM rl_relayout_old}),
	$pub_rl,
	'... and the apply trigger keeps the old layout in step');
is($sub->safe_psql('postgres', $failed_checks),
	'none', 'validations after complete pass');

# Rollback after complete keeps every replicated write (before the fix: the
# rows as they were at complete).
$sub->safe_psql('postgres', q{SELECT steward.migration_rollback('rl_m')});
is($sub->safe_psql('postgres', $rows), $pub_rl, 'a rollback after complete loses no replicated write');
$sub->safe_psql('postgres', q{SELECT steward.migration_rollback('ad_m')});
my $ad_rows = q{SELECT string_agg(format('%s|%s', id, a), ' ' ORDER BY id) FROM ad};
is($sub->safe_psql('postgres', $ad_rows),
	$pub->safe_psql('postgres', $ad_rows), '... nor of a column migration');

# A replicated TRUNCATE is refused while the relayout runs (it would empty
# one layout only); it goes through once the relayout is rolled back.
$pub->safe_psql('postgres', 'TRUNCATE prl');
ok( $sub->wait_for_log(qr/cannot truncate "prl\d?" while migration "prl_m" re-layouts it/),
	'a replicated TRUNCATE of a layout is refused in the apply worker');
is($sub->safe_psql('postgres', 'SELECT count(*) > 0 FROM prl_relayout_new'),
	't', '... and both layouts keep their rows');
$sub->safe_psql('postgres', q{SELECT steward.migration_rollback('prl_m')});
$pub->wait_for_catchup('s');
is($sub->safe_psql('postgres', 'SELECT count(*) FROM prl'),
	'0', 'after the rollback the apply resumes and truncates the table');

$sub->safe_psql('postgres', q{SELECT steward.migration_rollback('cm_m')});
my $cm_rows = q{SELECT string_agg(format('%s|%s', id, amt), ' ' ORDER BY id) FROM cm};
is($sub->safe_psql('postgres', $cm_rows),
	$pub->safe_psql('postgres', $cm_rows), 'the column migration rolled back keeps the publisher\'s values');

done_testing();
