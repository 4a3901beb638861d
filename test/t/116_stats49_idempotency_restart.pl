# The idempotency counters (steward.idempotency_counters(),
# steward.idempotency_stats, steward_idempotency_*_total of
# steward.metrics) behave as every other cumulative counter of
# pg_steward and of PostgreSQL (stats49): kept across a clean restart
# (pg_stat/pg_steward_idempotency.stat, src/stats/statsfile.c), back to 0
# after an immediate stop (crash recovery) and after steward.reset(),
# which a clean restart then does not undo.  Before, they went back to 0
# at every restart while the table counters survived a clean one, so
# Prometheus read a counter reset at each planned restart.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('stats49_idem');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	SELECT outcome FROM steward.idempotency_begin('s116', 'k1', 'fp1');
	SELECT steward.idempotency_complete('s116', 'k1', 201, '{}');
	SELECT outcome FROM steward.idempotency_begin('s116', 'k1', 'fp1');
	SELECT outcome FROM steward.idempotency_begin('s116', 'k1', 'other');
});

my $counters_q = q{
	SELECT new || ' ' || replay || ' ' || mismatch
	  FROM steward.idempotency_counters() WHERE scope = 's116'};
my $metrics_q = q{
	SELECT string_agg(labels->>'outcome' || '=' || value, ' ' ORDER BY labels->>'outcome')
	  FROM steward.metrics
	 WHERE metric = 'steward_idempotency_requests_total' AND labels->>'scope' = 's116'};

my $counters = $node->safe_psql('postgres', $counters_q);
my $metrics  = $node->safe_psql('postgres', $metrics_q);
is($counters, '1 1 1', 'one new, one replay, one mismatch');
like($metrics, qr/mismatch=1 new=1 replay=1/, 'the metric counts them');

$node->restart;
is($node->safe_psql('postgres', $counters_q), $counters,
	'idempotency_counters identical after pg_ctl restart -m fast');
is($node->safe_psql('postgres', $metrics_q), $metrics,
	'steward_idempotency_requests_total identical after pg_ctl restart -m fast');
ok(-f $node->data_dir . '/pg_stat/pg_steward_idempotency.stat', 'saved in pg_stat/pg_steward_idempotency.stat');

$node->safe_psql('postgres', q{SELECT outcome FROM steward.idempotency_begin('s116', 'k1', 'fp1')});
is($node->safe_psql('postgres', $counters_q), '1 2 1', 'a replay adds to the loaded count');

# steward.reset() empties them, and a clean restart does not undo it.
$node->safe_psql('postgres', 'SELECT steward.reset()');
is($node->safe_psql('postgres', $counters_q), '', 'no counts after steward.reset()');
$node->restart;
is($node->safe_psql('postgres', $counters_q), '', 'still none after a clean restart');

# After an immediate stop they start from 0, as PostgreSQL's own do.
$node->safe_psql('postgres', q{SELECT outcome FROM steward.idempotency_begin('s116', 'k1', 'fp1')});
$node->restart;
is($node->safe_psql('postgres', $counters_q), '0 1 0', 'one replay, kept by a clean restart');
$node->safe_psql('postgres', q{SELECT outcome FROM steward.idempotency_begin('s116', 'k1', 'fp1')});
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $counters_q), '', 'no counts after an immediate stop');
$node->restart;
is($node->safe_psql('postgres', $counters_q), '', 'not resurrected by a clean restart after it');

$node->stop;
done_testing();
