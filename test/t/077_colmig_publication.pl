# A column migration of a published table keeps a native subscriber
# applying (F10).  The subscriber's table has the columns the user has,
# never _steward_side nor the columns of a shape it has not been given:
# the migration gives the publications that name the table without a
# column list one of the old shape from start (the row filter kept), of
# the new shape from complete (the subscriber adds the new columns first,
# as for any ALTER TABLE ADD COLUMN under logical replication), and none
# again after a rollback or cleanup.  Two publications of the table in one
# subscription get the same list (PostgreSQL refuses different ones).
# Before the fix the subscriber stopped at the first change after start
# ("is missing replicated column").  A dump taken mid-migration restores
# the list and the migration, which finishes in the copy.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $pub = PostgreSQL::Test::Cluster->new('pc_pub');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('pc_sub');
$sub->init;
$sub->append_conf('postgresql.conf', "wal_retrieve_retry_interval = 200ms");
$sub->start;

$pub->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE inv (id int PRIMARY KEY, amt numeric(12,2), note text, gone int) USING steward;
	INSERT INTO inv SELECT g, g * 1.25, 'n' || g, g FROM generate_series(1, 20) g;
	CREATE PUBLICATION p FOR TABLE inv;
	CREATE PUBLICATION p_big FOR TABLE inv WHERE (id > 10);
});
# The subscriber: no pg_steward, the table's columns only.
$sub->safe_psql('postgres', 'CREATE TABLE inv (id int PRIMARY KEY, amt numeric(12,2), note text, gone int)');
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s CONNECTION '" . $pub->connstr . " dbname=postgres' PUBLICATION p, p_big");
$sub->wait_for_subscription_sync($pub, 's');

# The subscriber's rows equal the publisher's ($cols of table or view
# $from), polled for up to 60 s; stops early once the subscriber's apply
# fails on a column it lacks.
sub same
{
	my ($what, $cols, $from) = @_;
	my $q = "SELECT string_agg(format('%s', ($cols)), ',' ORDER BY id) FROM ";
	my $want = $pub->safe_psql('postgres', $q . ($from // 'inv'));
	my $got;
	for (1 .. 600)
	{
		$got = $sub->safe_psql('postgres', $q . 'inv');
		last if $got eq $want;
		last if slurp_file($sub->logfile) =~ /missing replicated column/;
		usleep(100_000);
	}
	is($got, $want, $what);
}
my $old = 'id, amt, note, gone';
same('initial sync', $old);

# Start: the old shape keeps flowing, written through the table or the
# new shape's view.
$pub->safe_psql('postgres', q{
	SELECT steward.migration_start('inv_m', $$[
	  {"alter_column": {"table": "inv", "column": "amt", "name": "cents", "type": "bigint",
	                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}},
	  {"add_column": {"table": "inv", "column": "extra", "type": "int", "up": "id * 3"}},
	  {"drop_column": {"table": "inv", "column": "gone", "down": "-1"}}]$$);
	INSERT INTO inv VALUES (21, 2.5, 'old-shape', 21);
	UPDATE inv SET amt = amt + 1 WHERE id IN (1, 12);
	DELETE FROM inv WHERE id = 2;
	INSERT INTO inv_m.inv (id, cents, note, extra) VALUES (22, 1999, 'new-shape', 7);
	UPDATE inv_m.inv SET cents = 777 WHERE id IN (3, 13);
	DELETE FROM inv_m.inv WHERE id = 14;
});
is($pub->safe_psql('postgres',
	q{SELECT string_agg(format('%s %s', pubname, attnames), '; ' ORDER BY pubname) FROM pg_publication_tables}),
	'p {id,amt,note,gone}; p_big {id,amt,note,gone}',
	'after start both publications publish the old shape only');
same('after start: writes in either shape reach the subscriber in the old shape', $old);

# Backfill (every row updated) and validate.
$pub->safe_psql('postgres', q{
	CALL steward.migration_backfill('inv_m', 5);
	UPDATE inv SET note = 'during-backfill' WHERE id = 4;
});
is($pub->safe_psql('postgres',
	q{SELECT count(*) FILTER (WHERE NOT passed) FROM steward.migration_validate('inv_m')}), '0', 'validated');
same('after the backfill: the subscriber applied it', $old);

# Complete, once the subscriber has the new shape's columns: every
# change since is sent in the new shape (old columns no longer sent).
$sub->safe_psql('postgres', 'ALTER TABLE inv ADD COLUMN cents bigint, ADD COLUMN extra int');
$pub->safe_psql('postgres', q{
	SELECT steward.migration_complete('inv_m');
	INSERT INTO inv (id, cents, note, extra) VALUES (23, 4200, 'after-complete', 9);
	UPDATE inv SET cents = cents + 1 WHERE id = 5;
	DELETE FROM inv WHERE id = 6;
	INSERT INTO inv_m_old.inv (id, amt, note, gone) VALUES (24, 3.25, 'old-view', 24);
	UPDATE inv SET note = note || '.';
});
is($pub->safe_psql('postgres',
	q{SELECT string_agg(format('%s %s', pubname, attnames), '; ' ORDER BY pubname) FROM pg_publication_tables}),
	'p {id,note,cents,extra}; p_big {id,note,cents,extra}',
	'after complete both publications publish the new shape only');
same('after complete: the new shape reaches the subscriber', 'id, note, cents, extra');

# A rollback after complete: the old shape again, on the same columns.
$pub->safe_psql('postgres', q{
	SELECT steward.migration_rollback('inv_m');
	UPDATE inv SET note = note || '!';
	INSERT INTO inv VALUES (25, 5.5, 'after-rollback', 25);
});
is($pub->safe_psql('postgres',
	q{SELECT string_agg(format('%s %s', pubname, prattrs IS NULL), '; ' ORDER BY pubname)
	    FROM pg_publication_rel r JOIN pg_publication x ON x.oid = r.prpubid}),
	'p t; p_big t', 'after the rollback no publication has a column list');
same('after the rollback: the old shape reaches the subscriber', $old);

# Start again and roll back before complete.
$pub->safe_psql('postgres', q{
	SELECT steward.migration_start('inv_m2', '[{"add_column": {"table": "inv", "column": "extra", "type": "int"}}]');
	UPDATE inv SET amt = amt * 2 WHERE id <= 5;
	SELECT steward.migration_rollback('inv_m2');
	DELETE FROM inv WHERE id = 7;
});
same('start and rollback before complete: changes keep flowing', $old);

# A dump taken mid-migration: the restored publication keeps its column
# list and the restored migration moves it to the next shapes.
$pub->safe_psql('postgres', q{
	SELECT steward.migration_start('inv_m3', $$[
	  {"alter_column": {"table": "inv", "column": "amt", "name": "cents", "type": "bigint",
	                    "up": "(amt * 100)::bigint", "down": "cents / 100.0"}},
	  {"add_column": {"table": "inv", "column": "extra", "type": "int", "up": "id * 3"}}]$$);
	UPDATE inv SET amt = amt + 1 WHERE id = 8;
});
same('third migration started: changes keep flowing', $old);
my $dump = $pub->basedir . '/mid.dump';
$pub->command_ok([ 'pg_dump', '-Fc', '-d', $pub->connstr('postgres'), '-f', $dump ], 'dump mid-migration');
$pub->safe_psql('postgres', 'CREATE DATABASE copy');
$pub->command_ok([ 'pg_restore', '-d', $pub->connstr('copy'), $dump ], 'restore it');
my $lists = q{SELECT string_agg(format('%s %s', pubname, attnames), '; ' ORDER BY pubname) FROM pg_publication_tables};
is($pub->safe_psql('copy', $lists), 'p {id,amt,note,gone}; p_big {id,amt,note,gone}',
	'the copy publishes the old shape only');
$pub->safe_psql('copy', q{
	CALL steward.migration_backfill('inv_m3');
	SELECT count(*) FROM steward.migration_validate('inv_m3');
	SELECT steward.migration_complete('inv_m3');
});
is($pub->safe_psql('copy', $lists), 'p {id,note,gone,cents,extra}; p_big {id,note,gone,cents,extra}',
	'complete in the copy: the new shape');
$pub->safe_psql('copy', q{SELECT steward.migration_cleanup('inv_m3')});
is($pub->safe_psql('copy',
	q{SELECT string_agg(format('%s %s', pubname, prattrs IS NULL), '; ' ORDER BY pubname)
	    FROM pg_publication_rel r JOIN pg_publication x ON x.oid = r.prpubid}),
	'p t; p_big t', 'cleanup in the copy: no column list');

# The original goes through cleanup: no list after it, changes flow.
$pub->safe_psql('postgres', q{
	CALL steward.migration_backfill('inv_m3');
	SELECT count(*) FROM steward.migration_validate('inv_m3');
	SELECT steward.migration_complete('inv_m3');
	UPDATE inv SET note = note || '+';
	SELECT steward.migration_cleanup('inv_m3');
	INSERT INTO inv (id, cents, note, gone, extra) VALUES (26, 100, 'after-cleanup', 26, 1);
	UPDATE inv SET note = note || '~' WHERE id > 20;
});
is($pub->safe_psql('postgres',
	q{SELECT string_agg(format('%s %s', pubname, prattrs IS NULL), '; ' ORDER BY pubname)
	    FROM pg_publication_rel r JOIN pg_publication x ON x.oid = r.prpubid}),
	'p t; p_big t', 'after cleanup no publication has a column list');
same('after cleanup: every column reaches the subscriber', 'id, note, gone, cents, extra');

unlike(slurp_file($sub->logfile), qr/missing replicated column|different column lists/,
	'the subscriber never stopped on a column');

$sub->stop;
$pub->stop;
done_testing();
