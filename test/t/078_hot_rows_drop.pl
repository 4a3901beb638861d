# steward.hot_rows while tables in it are dropped (codereview F6).
# _hot_rows checks that each table exists while it copies the shared hash,
# then, for a role without SELECT on a table, reads pg_index to learn
# whether it may read the key's columns; opening pg_index accepts
# invalidations, so a table dropped meanwhile is gone when its privileges
# are checked.  Before, pg_class_aclcheck raised 42P01 "relation with OID
# ... does not exist" and the whole monitoring query failed; now the
# dropped tables' rows are left out and the others shown.  Session A's
# LOCK of pg_index only makes the window deterministic (any DROP that
# commits while the reader opens pg_index hits it); it cannot be an
# isolation spec, whose tester plans its own queries through pg_index.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('hot_rows_drop');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE ROLE mon LOGIN IN ROLE pg_read_all_stats;
	CREATE TABLE h1 (id int PRIMARY KEY, v int) USING steward;
	CREATE TABLE h2 (id int PRIMARY KEY, v int) USING steward;
	CREATE TABLE h3 (id int PRIMARY KEY, v int) USING steward;
	CREATE TABLE kept (id int PRIMARY KEY, v int) USING steward;
	INSERT INTO h1 VALUES (1, 0);
	INSERT INTO h2 VALUES (1, 0);
	INSERT INTO h3 VALUES (1, 0);
	INSERT INTO kept VALUES (1, 0);
});
$node->safe_psql('postgres', q{
	UPDATE h1 SET v = v + 1;
	UPDATE h2 SET v = v + 1;
	UPDATE h3 SET v = v + 1;
	UPDATE kept SET v = v + 1;
});

my $read = q{SELECT relid, coalesce(key_text, '-'), updates FROM steward.hot_rows ORDER BY relid::text;};

# The monitoring session, connected and warm (its caches filled).
my $mon = $node->background_psql('postgres', on_error_stop => 0);
$mon->query_safe('SET ROLE mon');
is($mon->query_safe($read), "h1|-|1\nh2|-|1\nh3|-|1\nkept|-|1",
	'the monitoring role sees the four tables, without their keys');

# A holds pg_index; the reader queues for it in may_read_key.
my $a = $node->background_psql('postgres');
$a->query_safe('BEGIN');
$a->query_safe('LOCK TABLE pg_catalog.pg_index IN ACCESS EXCLUSIVE MODE');
$mon->query_until(qr/sent/, "\\echo sent\n$read\n\\echo done\n");
my $waiting = 0;
for (1 .. 300)
{
	$waiting = $a->query_safe(q{SELECT count(*) FROM pg_locks
		WHERE locktype = 'relation' AND relation = 'pg_catalog.pg_index'::regclass
		  AND NOT granted});
	last if $waiting eq '1';
	usleep(100_000);
}
is($waiting, '1', 'the reader waits for pg_index');
$a->query_safe('DROP TABLE h1, h2, h3');
$a->query_safe('COMMIT');
my $out = $mon->query_until(qr/done/, '');
$out =~ s/\n?done\n?$//;
is($mon->{stderr}, '', 'no error for the tables dropped while it waited');
is($out, 'kept|-|1', 'the dropped tables are left out, the others shown');

$mon->quit;
$a->quit;
done_testing();
