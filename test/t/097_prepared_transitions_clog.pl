# The transitions of a prepared transaction wait in shared slots under its
# xid until a read of the counts, or the next PREPARE, finds how it ended
# (src/stats/counters.c).  If nobody reads or prepares for long enough,
# VACUUM truncates the transaction's status from the commit log; looking
# it up then failed with 58P01 ("could not access status of transaction")
# at every read of steward.transition_counts, forever (the slot was never
# freed), and every later PREPARE lost its transitions (a swallowed
# collection failure).  Now such a slot's transitions are counted as
# dropped, and reads and later prepared transactions work (tidy3's
# finding 2, stop 36).
#
# The commit log is truncated cheaply: pg_resetwal puts the first xid at
# the last page of commit-log segment 0001, the prepared transaction's xid
# lands there, 40,000 more xids reach segment 0002, and VACUUM FREEZE of
# every database lets VACUUM remove segments 0000 and 0001.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('prepared_clog');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_steward'
max_prepared_transactions = 4
autovacuum = off
});
# 2064384 = 63 * 32768: the first xid of the last page of segment 0001
# (the commit log zeroes a page when its first xid is assigned).
command_ok([ 'pg_resetwal', '-x', '2064384', $node->data_dir ], 'pg_resetwal -x');
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('pc', ARRAY['a', 'b', 'c'], ARRAY['a'],
	                                    ARRAY['a->b', 'b->c']);
	CREATE TABLE pc_t (id int PRIMARY KEY, st text NOT NULL) USING steward;
	SELECT steward.attach_state_machine('pc_t', 'st', 'pc');
	INSERT INTO pc_t VALUES (1, 'a'), (2, 'a');
	SELECT steward.reset();
});

my $counts = q{SELECT coalesce(string_agg(from_state || '->' || to_state || ':' || transitions, ','
                                          ORDER BY from_state, to_state), '')
                 FROM steward.transition_counts WHERE relid = 'pc_t'::regclass};
my $dropped = q{SELECT dropped FROM steward.collector WHERE structure = 'transitions'};

# Before any truncation a parked transition is counted at the next read
# (the commit log's oldest xid, set by pg_resetwal, lies before the first
# epoch here: every xid is still covered).
$node->safe_psql('postgres', q{
	BEGIN;
	UPDATE pc_t SET st = 'b' WHERE id = 1;
	PREPARE TRANSACTION 'pc0';
});
$node->safe_psql('postgres', q{COMMIT PREPARED 'pc0'});
is($node->safe_psql('postgres', $counts), 'a->b:1', 'a prepared transaction is counted after COMMIT PREPARED');
$node->safe_psql('postgres', q{SELECT steward.reset()});

# One transition parked by a prepared transaction, committed; nobody reads.
my $xid = $node->safe_psql('postgres', q{
	BEGIN;
	UPDATE pc_t SET st = 'c' WHERE id = 1;
	SELECT pg_current_xact_id();
	PREPARE TRANSACTION 'pc1';
});
$node->safe_psql('postgres', q{COMMIT PREPARED 'pc1'});
cmp_ok($xid, '>=', 2064384, "the prepared transaction's xid ($xid) is in segment 0001");
cmp_ok($xid, '<', 2097152, '... below segment 0002');
is($node->safe_psql('postgres', $dropped), '0', 'nothing dropped yet');

# 40,000 xids (subtransactions that write), then freeze every database.
$node->safe_psql('postgres', q{
	CREATE TABLE burn (i int);
	DO $$
	BEGIN
		FOR i IN 1 .. 40000 LOOP
			BEGIN
				INSERT INTO burn VALUES (i);
			EXCEPTION WHEN OTHERS THEN NULL;
			END;
		END LOOP;
	END $$;
});
$node->safe_psql('postgres',
	q{UPDATE pg_database SET datallowconn = true WHERE datname = 'template0'});
foreach my $db ('template0', 'template1', 'postgres')
{
	$node->safe_psql($db, 'VACUUM FREEZE');
}
my $pgxact = $node->data_dir . '/pg_xact';
ok(!-e "$pgxact/0001", "VACUUM truncated the commit log's segment 0001")
  or diag(join(' ', glob("$pgxact/*")));
is($node->safe_psql('postgres', "SELECT pg_xact_status('$xid'::xid8) IS NULL"), 't',
	"core no longer knows how $xid ended (pg_xact_status is NULL)");

# The read works, and the parked transition is counted as dropped.
my ($rc, $out, $err) = $node->psql('postgres', $counts);
is($rc, 0, 'steward.transition_counts can be read') or diag($err);
is($out, '', '... and shows no transition of the unknown outcome');
unlike($err, qr/could not access status/, 'no 58P01');
is($node->safe_psql('postgres', $dropped), '1', 'the parked transition is counted as dropped');
($rc, $out, $err) = $node->psql('postgres', $counts);
is($rc, 0, 'a second read works too') or diag($err);

# A later prepared transaction is counted once it commits.
my $failures = q{SELECT collection_failures FROM steward.collector WHERE structure = 'transitions'};
my $failures_before = $node->safe_psql('postgres', $failures);
$node->safe_psql('postgres', q{
	BEGIN;
	UPDATE pc_t SET st = 'b' WHERE id = 2;
	PREPARE TRANSACTION 'pc2';
});
$node->safe_psql('postgres', q{COMMIT PREPARED 'pc2'});
is($node->safe_psql('postgres', $counts), 'a->b:1', 'a later prepared transaction is counted');
is($node->safe_psql('postgres', $failures), $failures_before,
	'no collection failure at its PREPARE');

$node->stop;
done_testing();
