# Settings renamed in 0.2 (issue 19): a postgresql.conf written for 0.1 keeps
# working.  With only the 0.1 names in the configuration file:
#   - their values take effect, in C (a 10 ms statement is slow with
#     steward.slow_query_ms = 5; the sampler runs at steward.sample_interval_ms)
#     and in SQL (steward.setting_value, steward.health's thresholds);
#   - the postmaster says once per name that it is deprecated (LOG), and
#     nothing more is logged when sessions connect, when a per-role 0.1
#     setting is applied at connection, or when parallel workers copy a
#     session's settings; SET and ALTER ROLE ... SET warn the user once;
#   - a reload logs once more (the postmaster reads the file again), and the
#     0.2 name, once set in the file, wins;
#   - a database still on 0.1's objects (before ALTER EXTENSION UPDATE): its
#     health view reads the 0.1 names (the p99 thresholds in ms, the runway
#     ones in days) and steward.drill_max_age with current_setting()::float8,
#     which the bare numbers they show allow; so does its
#     steward._capacity_sample() (which the purge worker calls) with
#     steward.capacity_window and steward.capacity_sample_interval, set
#     with units.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('aliases');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
steward.rto_seconds = 120
steward.health_replication_lag_s_warn = 3
steward.slow_query_ms = 5
steward.sample_interval_ms = 20
steward.health_p99_ms_warn = 150
steward.health_runway_days_critical = 3
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');

sub log_count
{
	my ($re) = @_;
	my @hits = slurp_file($node->logfile) =~ /$re/g;
	return scalar(@hits);
}

is( $node->safe_psql('postgres', q{
		SELECT steward.setting_value('steward.rto'), steward.setting_value('steward.sample_interval'),
		       steward.setting_value('steward.slow_query_threshold'),
		       steward.setting_value('steward.health_replication_lag_warn')}),
	'120|20|5|3', 'the 0.1 names of the configuration file are the values in effect');
is( $node->safe_psql('postgres', q{
		SELECT string_agg(format('%s:%s', "check", critical_threshold), ' ')
		  FROM steward.health WHERE "check" = 'restore_drill_duration_s'}),
	'restore_drill_duration_s:120', 'steward.health judges drills against steward.rto_seconds');
is( $node->safe_psql('postgres', q{
		SELECT warn_threshold FROM steward.health WHERE "check" = 'replication_lag_s'}),
	'3', '... and replication lag against steward.health_replication_lag_s_warn');
is( $node->safe_psql('postgres', q{
		SELECT steward.setting_value('steward.health_p99_warn'),
		       steward.setting_value('steward.health_runway_critical')}),
	'150|259200', 'steward.health_p99_ms_warn (ms) and steward.health_runway_days_critical (days) are in effect, in ms and s');
is( $node->safe_psql('postgres', q{
		SELECT string_agg(format('%s:%s/%s', "check", warn_threshold, critical_threshold), ' ' ORDER BY "check")
		  FROM steward.health WHERE "check" IN ('p99_latency_ms', 'capacity_runway_days')}),
	'capacity_runway_days:30/3 p99_latency_ms:150/1000',
	'... and steward.health judges p99 in ms and the runway in days against them');
is($node->safe_psql('postgres', 'SHOW steward.rto'), '30min',
	'SHOW of the 0.2 name shows its own value, left at its default');

# C: a 10 ms statement is slow at 5 ms (it would not be at the default 100 ms).
$node->safe_psql('postgres', 'SELECT steward.reset()');
$node->safe_psql('postgres', 'SELECT pg_sleep(0.02) AS slow_probe');
is( $node->safe_psql('postgres', q{
		SELECT sum(slow_calls) FROM steward.statements WHERE query LIKE '%slow_probe%'}),
	'1', 'the statement collector counts a 20 ms call as slow with steward.slow_query_ms = 5');

for my $name (
	qw(rto_seconds health_replication_lag_s_warn slow_query_ms sample_interval_ms
	health_p99_ms_warn health_runway_days_critical))
{
	is(log_count(qr/LOG:  setting "steward\.$name" is deprecated/), 1,
		"the postmaster logged once that steward.$name is deprecated");
}

# Sessions, a per-role 0.1 setting applied at connection, parallel workers:
# no more lines.
my ($ret, $out, $err) = $node->psql('postgres', q{
	CREATE ROLE app LOGIN;
	ALTER ROLE app SET steward.rpo_seconds = 42;});
like($err, qr/WARNING:  setting "steward\.rpo_seconds" is deprecated\nHINT:  Use "steward\.rpo"/,
	'ALTER ROLE ... SET of a 0.1 name warns once, naming the 0.2 name');
for (1 .. 3)
{
	($ret, $out, $err) = $node->psql('postgres', q{SELECT steward.setting_value('steward.rpo')},
		extra_params => [ '-U', 'app' ]);
	is($out, '42', 'the per-role 0.1 setting is in effect');
	is($err, '', '... and connecting says nothing');
}
($ret, $out, $err) = $node->psql('postgres', q{
	CREATE TABLE big AS SELECT g AS id FROM generate_series(1, 100000) g;
	ANALYZE big;
	SET steward.slow_query_ms = 7;
	SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
	SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
	SELECT count(*) FROM big;
	SELECT count(*) FROM big;});
is($ret, 0, 'parallel queries run after SET of a 0.1 name');
my @warnings = $err =~ /WARNING:  setting "steward\.slow_query_ms" is deprecated/g;
is(scalar(@warnings), 1, 'SET warns once; the parallel workers that copy the setting say nothing');
is(log_count(qr/WARNING:  setting "steward\.slow_query_ms" is deprecated/), 1,
	'... nor do they log anything');
is(log_count(qr/setting "steward\.rpo_seconds" is deprecated/), 1,
	'the per-role setting was reported once, when it was made');

# A reload: the postmaster logs once more; the 0.2 name, once set, wins.
$node->append_conf('postgresql.conf', "steward.rto = '5min'");
$node->reload;
$node->poll_query_until('postgres', "SELECT steward.setting_value('steward.rto') = 300")
  or die 'the reload was not seen';
is($node->safe_psql('postgres', q{SELECT steward.setting_value('steward.rto_seconds')}), '300',
	'with both names in the file the 0.2 name wins, under either name');
is(log_count(qr/LOG:  setting "steward\.rto_seconds" is deprecated/), 2,
	'the reload logged once more');

$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', "CREATE EXTENSION pg_steward VERSION '0.1'");
is( $node->safe_psql('old', q{
		SET steward.drill_max_age = '2d';
		SELECT string_agg(format('%s:%s', "check", critical_threshold), ' ' ORDER BY "check")
		  FROM steward.health
		 WHERE "check" IN ('restore_drill_age_s', 'restore_drill_duration_s')}),
	'restore_drill_age_s:172800 restore_drill_duration_s:120',
	"0.1's health view still reads the thresholds: drill_max_age in seconds, rto_seconds from the file");
is( $node->safe_psql('old', q{
		SET steward.health_p99_ms_critical = '2s';
		SELECT string_agg(format('%s:%s/%s', "check", warn_threshold, critical_threshold), ' ' ORDER BY "check")
		  FROM steward.health WHERE "check" IN ('p99_latency_ms', 'capacity_runway_days')}),
	'capacity_runway_days:30/3 p99_latency_ms:150/2000',
	"... the p99 thresholds in ms (one set with a unit) and the runway in days");
is( $node->safe_psql('old', q{
		INSERT INTO steward.capacity_samples (sampled_at, relid, writes, bytes)
		VALUES (now() - interval '3 days', 'pg_class'::regclass, 0, 8192),
		       (now() - interval '1 day', 'pg_class'::regclass, 0, 8192);
		SET steward.capacity_window = '2d';
		SET steward.capacity_sample_interval = '1h';
		SELECT steward.capacity_sample();
		SELECT steward._capacity_sample();
		SELECT count(*) FILTER (WHERE sampled_at < now() - interval '2 days'),
		       count(*) FILTER (WHERE sampled_at < now() - interval '12 hours')
		  FROM steward.capacity_samples}),
	"\n\n0|1",
	"0.1's capacity sampling reads steward.capacity_window and capacity_sample_interval set with units");

$node->stop;
done_testing();
