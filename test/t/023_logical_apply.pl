# Logical replication apply into steward tables.
#
# The apply worker runs with session_replication_role = replica, under which
# the steward access method stores rows as sent: the publisher already
# enforced the rules, and the subscriber must end up with the same
# versions, states and changed_at values, not bump them again.  The
# publisher exercises every write path pg_steward wraps: INSERT, COPY,
# ON CONFLICT, UPDATE (blind, literal, version + 1), MERGE, an UPDATE that
# moves rows between partitions with different column numbers (published
# as a delete plus an insert), and a concurrent update re-evaluated by
# EvalPlanQual.  The subscriber's tables carry the same rules; afterwards
# they still enforce them for local writes.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $schema = q{
	SELECT steward.create_state_machine('ord_status', ARRAY['new', 'paid', 'shipped'],
	    ARRAY['new'], ARRAY['new->paid', 'paid->shipped']);
	CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'new',
	    status_at timestamptz, note text, seq int2, version bigint) USING steward;
	SELECT steward.track_versions('orders', 'version');
	SELECT steward.track_sequence('orders', 'seq');
	SELECT steward.attach_state_machine('orders', 'status', 'ord_status', 'status_at');
	CREATE TABLE acct (region text NOT NULL, id int NOT NULL, balance int NOT NULL DEFAULT 0,
	    version bigint, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
	CREATE TABLE acct_eu PARTITION OF acct FOR VALUES IN ('eu') USING steward;
	CREATE TABLE acct_us (x int, version bigint, balance int NOT NULL DEFAULT 0,
	    id int NOT NULL, region text NOT NULL) USING steward;
	ALTER TABLE acct_us DROP COLUMN x;
	ALTER TABLE acct ATTACH PARTITION acct_us FOR VALUES IN ('us');
	SELECT steward.track_versions('acct', 'version');
};

my $pub = PostgreSQL::Test::Cluster->new('lr_pub');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('lr_sub');
$sub->init;
$sub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$sub->start;

for my $node ($pub, $sub)
{
	$node->safe_psql('postgres', "CREATE EXTENSION pg_steward; $schema");
}
$pub->safe_psql('postgres', 'CREATE PUBLICATION p FOR TABLE orders, acct');
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s CONNECTION '" . $pub->connstr . " dbname=postgres' PUBLICATION p");
$pub->wait_for_catchup('s');

$pub->safe_psql(
	'postgres', q{
	INSERT INTO orders (id, seq) SELECT g, 1 FROM generate_series(1, 10) g;
	COPY orders (id, status, seq) FROM PROGRAM 'printf "20\tpaid\t5\n21\tshipped\t7\n"';
	INSERT INTO orders (id, seq) VALUES (1, 1), (30, 1)
	    ON CONFLICT (id) DO UPDATE SET note = 'upserted';
	UPDATE orders SET status = 'paid', seq = 2 WHERE id <= 5;
	UPDATE orders SET note = 'literal', version = 2 WHERE id = 6;
	UPDATE orders SET note = 'incr', version = version + 1 WHERE id IN (7, 8);
	MERGE INTO orders o USING (VALUES (9)) v(id) ON o.id = v.id
	    WHEN MATCHED THEN UPDATE SET status = 'paid';
	INSERT INTO acct (region, id) SELECT CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g
	    FROM generate_series(1, 10) g;
	UPDATE acct SET balance = balance + 1;
	UPDATE acct SET region = 'us', balance = 7 WHERE id IN (2, 4);
	UPDATE acct SET region = 'eu' WHERE id = 3;
});

# A concurrent update re-evaluated by EvalPlanQual on the publisher.
my $s1 = $pub->background_psql('postgres');
$s1->query_safe("BEGIN; UPDATE orders SET note = 'first' WHERE id = 10;");
my $s2 = $pub->background_psql('postgres');
$s2->query_until(qr/started/, q{
	\echo started
	UPDATE orders SET note = note || '+second' WHERE id = 10;
});
$pub->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE orders%'"
) or die 'the second update does not wait';
$s1->query_safe('COMMIT');
$s2->quit;
$s1->quit;

$pub->wait_for_catchup('s');

my $rows = q{
	SELECT string_agg(format('%s|%s|%s|%s|%s|%s', id, status, status_at, note, seq, version), E'\n' ORDER BY id) FROM orders;
	SELECT string_agg(format('%s|%s|%s|%s', tableoid::regclass, id, balance, version), E'\n' ORDER BY id) FROM acct;
};
my $expected = $pub->safe_psql('postgres', $rows);
like($expected, qr/^10\|new\|[^|]*\|first\+second\|1\|3$/m,
	'publisher: the concurrent update was re-evaluated (version 3)');
like($expected, qr/^acct_us\|2\|7\|3$/m, 'publisher: the moved row was bumped');
is($sub->safe_psql('postgres', $rows), $expected,
	'subscriber: every row, version, state, changed_at and partition as on the publisher');

# The subscriber's own writes are still checked.
my ($ret, $out, $err) = $sub->psql('postgres', "UPDATE orders SET version = 1 WHERE id = 1");
like($err, qr/stale version/, 'subscriber: a local stale version is refused');
($ret, $out, $err) = $sub->psql('postgres', "UPDATE orders SET status = 'new' WHERE id = 1");
like($err, qr/illegal state transition "paid" -> "new"/, 'subscriber: a local illegal transition is refused');
is($sub->safe_psql('postgres', "UPDATE acct SET region = 'eu' WHERE id = 2 RETURNING version"),
	'4', 'subscriber: a local cross-partition update bumps the version');

$sub->stop;
$pub->stop;
done_testing();
