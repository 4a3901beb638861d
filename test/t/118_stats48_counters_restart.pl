# Table counters and transition counts follow PostgreSQL's rule for its
# cumulative statistics (newcomer48 N13): kept across a clean shutdown
# (pg_ctl restart -m fast: the postmaster writes
# pg_stat/pg_steward_counters.stat after the shutdown checkpoint and the
# next start reads it; stats49: it stays until the next clean shutdown
# replaces it, as it names that checkpoint), discarded after an immediate stop (the next start runs crash
# recovery; pg_control says the shutdown was not clean).  Before, they
# went back to 0 at every restart while steward.statements was kept, so
# steward_version_conflicts_total and the other per-table counters of a
# healthy server read as counter resets to Prometheus.  The series of
# steward.metrics built from them are checked as a scraper reads them.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('stats48_counters');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('s48_m', ARRAY['created', 'paid', 'refunded'],
	                                    ARRAY['created'], ARRAY['created->paid', 'paid->refunded']);
	CREATE TABLE s48 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created',
	                  ver bigint, seq int NOT NULL DEFAULT 5) USING steward;
	SELECT steward.attach_state_machine('s48', 'st', 's48_m');
	SELECT steward.track_versions('s48', 'ver');
	SELECT steward.track_sequence('s48', 'seq');
	INSERT INTO s48 (id) VALUES (1), (2);
	UPDATE s48 SET st = 'paid' WHERE id = 1;
});
# One event of each kind, each failing its statement.
for my $bad (
	q{UPDATE s48 SET st = 'refunded' WHERE id = 2},
	q{UPDATE s48 SET ver = 0, st = 'paid' WHERE id = 1},
	q{UPDATE s48 SET seq = 1 WHERE id = 2})
{
	my ($rc) = $node->psql('postgres', $bad);
	isnt($rc, 0, "refused: $bad");
}

my $counters_q = q{
	SELECT version_conflicts || ' ' || sequence_rejects || ' ' || illegal_transitions
	  FROM steward.table_counters() WHERE relid = 's48'::regclass};
my $transitions_q = q{
	SELECT string_agg(coalesce(from_state, '') || '->' || to_state || '=' || transitions, ', '
	                  ORDER BY from_state, to_state)
	  FROM steward.transition_counts WHERE relid = 's48'::regclass};
my $metrics_q = q{
	SELECT string_agg(metric || coalesce(labels->>'from', '') || coalesce(labels->>'to', '')
	                  || '=' || value, ', ' ORDER BY metric, labels->>'from', labels->>'to')
	  FROM steward.metrics
	 WHERE metric ~ '^steward_(version_conflicts|sequence_rejects|illegal_transitions|state_transitions)_total$'
	   AND labels->>'table' = 'public.s48'};

my $counters    = $node->safe_psql('postgres', $counters_q);
my $transitions = $node->safe_psql('postgres', $transitions_q);
my $metrics     = $node->safe_psql('postgres', $metrics_q);
is($counters, '1 1 1', 'one version conflict, sequence reject, illegal transition');
like($transitions, qr/created->paid=1/, 'the committed transition is counted');
like($metrics, qr/steward_version_conflicts_total=1/, 'the metric counts the conflict');

my $stat_file = $node->data_dir . '/pg_stat/pg_steward_counters.stat';

# Clean restart (fast mode): every count is kept.
my $log_offset = -s $node->logfile;
$node->restart;
ok(-f $stat_file, 'the counters file is read at start and kept (statsfile.c)');
is($node->safe_psql('postgres', $counters_q), $counters,
	'table_counters identical after pg_ctl restart -m fast');
is($node->safe_psql('postgres', $transitions_q), $transitions,
	'transition_counts identical after pg_ctl restart -m fast');
is($node->safe_psql('postgres', $metrics_q), $metrics,
	'per-table _total metrics identical after pg_ctl restart -m fast');
my $log = slurp_file($node->logfile, $log_offset);
unlike($log, qr/pg_steward_counters/, 'no server log message about the counters file');

# New events add to the loaded counts.
$node->psql('postgres', q{UPDATE s48 SET ver = 0, st = 'paid' WHERE id = 1});
$node->safe_psql('postgres', q{UPDATE s48 SET st = 'refunded' WHERE id = 1});
is($node->safe_psql('postgres', $counters_q), '2 1 1', 'a conflict adds to the loaded count');
like($node->safe_psql('postgres', $transitions_q), qr/created->paid=1, paid->refunded=1/,
	'a transition adds an edge next to the loaded one');

# Immediate stop: the next start runs crash recovery and starts from 0,
# as PostgreSQL's own statistics do.
$node->stop('immediate');
$node->start;
ok(!-e $stat_file, 'no counters file left after the start following an immediate stop');
is($node->safe_psql('postgres', $counters_q), '', 'no table counters after an immediate stop');
is($node->safe_psql('postgres', $transitions_q), '', 'no transition counts after an immediate stop');
like($node->safe_psql('postgres', $metrics_q), qr/^steward_illegal_transitions_total=0.*steward_version_conflicts_total=0$/,
	'the per-table metrics are zeros after an immediate stop');

# ... and a clean restart afterwards does not bring the old counts back.
$node->restart;
is($node->safe_psql('postgres', $counters_q), '',
	'old counts not resurrected by a clean restart after the immediate stop');

$node->stop;
done_testing();
