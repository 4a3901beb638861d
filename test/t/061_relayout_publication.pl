# A relayout of a published table keeps its changes flowing to a
# subscriber under the table's name (review8 #13): the cutover moves the
# table's membership in the publication, with its row filter (column lists:
# sql/87_relayout_carry.sql; PostgreSQL 15 allows none with REPLICA
# IDENTITY FULL), to the new layout (publish_via_partition_root = true, so the new
# partitions' changes are published as the table's); the apply trigger's
# copies into the other layout are never published.  The old tuple of an
# UPDATE follows the replica identity the new layout gets (FULL here: the
# subscriber's table has no primary key).  A rollback after the cutover
# moves the membership back.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = PostgreSQL::Test::Cluster->new('rl_pub');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('rl_sub');
$sub->init;
$sub->start;

$pub->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE ev (id int PRIMARY KEY, v int NOT NULL, note text) USING steward;
	ALTER TABLE ev REPLICA IDENTITY FULL;
	INSERT INTO ev SELECT g, g % 5, 'n' || g FROM generate_series(1, 40) g;
	CREATE PUBLICATION evp FOR TABLE ev WHERE (v <> 4)
	    WITH (publish_via_partition_root = true);
});
# The subscriber's table: no key, so UPDATE and DELETE find rows by the
# whole old row (REPLICA IDENTITY FULL must hold on the new partitions).
$sub->safe_psql('postgres', 'CREATE TABLE ev (id int, v int, note text)');
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION evs CONNECTION '" . $pub->connstr . " dbname=postgres' PUBLICATION evp");
$sub->wait_for_subscription_sync($pub, 'evs');

my $rows = q{SELECT string_agg(format('%s:%s:%s', id, v, note), ',' ORDER BY id) FROM ev WHERE v <> 4};
my $sub_rows = q{SELECT string_agg(format('%s:%s:%s', id, v, note), ',' ORDER BY id) FROM ev};
sub same
{
	my ($what) = @_;
	$pub->wait_for_catchup('evs');
	is($sub->safe_psql('postgres', $sub_rows), $pub->safe_psql('postgres', $rows), $what);
}
same('initial sync');

my $start = q{SELECT steward.migration_start('ev_rl',
	'[{"relayout": {"table": "ev", "partition_by": "HASH (id)", "partitions": 3}}]')};
$pub->safe_psql('postgres', $start);
$pub->safe_psql('postgres', q{
	INSERT INTO ev VALUES (41, 1, 'during'), (42, 4, 'filtered');
	UPDATE ev SET note = 'upd-during' WHERE id IN (1, 2);
	DELETE FROM ev WHERE id = 3;
	CALL steward.migration_backfill('ev_rl');
});
is($pub->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE NOT passed) FROM steward.migration_validate('ev_rl')}), '0',
	'relayout validated');
same('changes during the relayout reach the subscriber once');

$pub->safe_psql('postgres', q{SELECT steward.migration_complete('ev_rl')});
is($pub->safe_psql('postgres',
	q{SELECT string_agg(format('%s %s %s', tablename, attnames, rowfilter), '; ') FROM pg_publication_tables WHERE pubname = 'evp'}),
	'ev {id,v,note} (v <> 4)', 'after complete the publication names the new layout, row filter kept');
is($pub->safe_psql('postgres',
	q{SELECT string_agg(DISTINCT relreplident::text, ',') FROM pg_class WHERE relname ~ '^ev(_p[0-9])?$'}),
	'f', 'the new layout and its partitions have REPLICA IDENTITY FULL');
$pub->safe_psql('postgres', q{
	INSERT INTO ev VALUES (43, 2, 'after');
	UPDATE ev SET note = 'upd-after', v = 3 WHERE id IN (4, 5, 41);
	DELETE FROM ev WHERE id IN (6, 7);
});
same('after complete: inserts, updates, deletes on the new layout reach the subscriber');

# Back and forth: a rollback after the cutover gives the membership back.
$pub->safe_psql('postgres', q{SELECT steward.migration_rollback('ev_rl')});
is($pub->safe_psql('postgres',
	q{SELECT string_agg(format('%s %s', r.prrelid::regclass, c.relkind), '; ') FROM pg_publication_rel r
	   JOIN pg_class c ON c.oid = r.prrelid}),
	'ev r', 'after a rollback the publication names the old layout again');
$pub->safe_psql('postgres', q{UPDATE ev SET note = 'upd-rolled-back' WHERE id = 8});
same('after the rollback: writes reach the subscriber');

$pub->safe_psql('postgres', $start =~ s/ev_rl/ev_rl2/r);
$pub->safe_psql('postgres', q{CALL steward.migration_backfill('ev_rl2')});
$pub->safe_psql('postgres', q{SELECT count(*) FROM steward.migration_validate('ev_rl2')});
$pub->safe_psql('postgres', q{SELECT steward.migration_complete('ev_rl2')});
$pub->safe_psql('postgres', q{UPDATE ev SET note = 'upd-before-cleanup' WHERE id = 9});
$pub->safe_psql('postgres', q{SELECT steward.migration_cleanup('ev_rl2')});
$pub->safe_psql('postgres', q{
	INSERT INTO ev VALUES (44, 0, 'after cleanup');
	UPDATE ev SET note = 'upd-after-cleanup' WHERE id = 10;
	DELETE FROM ev WHERE id = 11;
});
same('after cleanup: the table still publishes its changes');
is($pub->safe_psql('postgres', q{SELECT count(*) FROM pg_publication_tables WHERE pubname = 'evp' AND tablename = 'ev'}),
	'1', 'the table is still in the publication after cleanup');

$sub->stop;
$pub->stop;
done_testing();
