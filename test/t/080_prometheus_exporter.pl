# examples/monitoring/postgres_exporter.yml with the real exporter.
#
# Debian's prometheus-postgres-exporter (0.11) runs against a throwaway
# cluster with pg_steward, connected as a pg_monitor role (what the file's
# header tells users to create) over the unix socket, after a known
# workload.  Its /metrics are checked with promtool and by value:
#
# Part 1: the queries file itself: every metric family steward.metrics can
#   produce (read from the view's definition) is exported under the same
#   name and Prometheus type; every query that runs in all databases labels
#   its series with datname, the "master: true" ones do not.
# Part 2: one database.  Exactly 100 calls of one statement (each sleeps
#   3 ms) and 3 stale-version updates:
#   - the statement's histogram: _count 100, le="+Inf" 100, 0 in every
#     bucket below 3 ms, cumulative, _sum as steward.statements has it;
#   - the database's histogram cumulative up to +Inf = _count, and the same
#     count as steward.metrics;
#   - steward_version_conflicts_total 3, steward_statement_errors_total 3;
#   - every series of steward.metrics that does not move by itself has the
#     view's value, under the view's type;
#   - health gauges: version_conflict_rate 3/100 = warn (1), a failed drill
#     critical (2) with value 1, never drilled successfully warn (1) with
#     NaN, no kept backup known and no standby unknown (-1) with NaN,
#     statistics_collected ok (0) with 1, thresholds as the GUCs;
#   - seconds waited for a table lock and for a row lock (sampled) as
#     steward.lock_contention has them;
#   - capacity runway in days from a known growth (1.2 GB/day), the drill
#     gauges (last duration 42 s, last passed 0, totals by result);
#   - promtool check metrics finds no error; its only lint complaints are
#     about the exporter's own built-in metrics (pg_stat_database_* counters
#     without _total, pg_settings_* named after our GUCs such as
#     steward.slow_query_threshold) and about steward_capacity_runway_days, which
#     is in days on purpose (issue 15 asks for days, as steward.health's
#     capacity_runway_days and its thresholds are).
# Part 3: --auto-discover-databases with a second database with pg_steward
#   (its own workload: 2 conflicts, a state change, idempotency outcomes)
#   and a third without it, left out with --exclude-databases: HTTP 200, no
#   series twice, no scrape error, per-database series once per database
#   with that database's values, cluster series once.  The same file with
#   its "master: true" lines removed makes the exporter answer HTTP 500
#   (duplicate series): what the file avoids, and what this part detects.
# Part 4: Debian's Prometheus scrapes that exporter every 5 s with
#   examples/monitoring/alerts.yml loaded: every rule evaluates on the
#   real series without error (vector matching included), and the
#   drill alerts the data calls for are pending (postgres: last drill
#   failed, none ever passed, so no StewardBackupUnknown beside it; shop:
#   last drill slower than the RTO), with
#   the guide's first response as annotation.
#
# run.sh may skip: prometheus-postgres-exporter or prometheus (promtool) is not installed (scripts/setup.sh installs both, so bash .ci/run and scripts/test.sh always run this test)

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use HTTP::Tiny;
use Time::HiRes qw(usleep time);
use StewardMonitoring;
use JSON::PP;
use File::Spec;

my $exporter_bin = find_bin('prometheus-postgres-exporter');
my $promtool = find_bin('promtool');
my $prometheus = find_bin('prometheus');
plan skip_all => 'prometheus-postgres-exporter, promtool or prometheus is not installed '
  . '(Debian packages prometheus-postgres-exporter and prometheus; scripts/setup.sh installs them)'
  unless $exporter_bin && $promtool && $prometheus;

my $yml = monitoring_file('postgres_exporter.yml');

# The exporters and the Prometheus started here; stopped however the test
# ends (a die included), so none is left listening.
my @daemons;
END
{
	for my $h (@daemons)
	{
		eval { $h->kill_kill(grace => 5); };
	}
}

# ---------------------------------------------------------------------
# Part 1: the file
# ---------------------------------------------------------------------

my $families = exporter_families($yml);
my %file_type = map { $_ => $families->{$_}{type} } keys %$families;
my %family_master = map { $_ => $families->{$_}{master} } keys %$families;
for my $fam (sort keys %$families)
{
	my $has = grep { $_ eq 'datname' } @{ $families->{$fam}{labels} };
	if ($family_master{$fam})
	{
		ok(!$has, "$fam (master: true) has no datname label");
	}
	else
	{
		ok($has, "$fam (every database) has a datname label");
	}
}

my $node = PostgreSQL::Test::Cluster->new('exporter');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
steward.capacity_sample_interval = '1d'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward');

# Every family the view can produce (its definition names them all).
my $viewdef = $node->safe_psql('postgres',
	q{SELECT string_agg(DISTINCT m[1], ' ' ORDER BY m[1])
	    FROM regexp_matches(pg_get_viewdef('steward.metrics'), '''(steward_[a-z_]+)''', 'g') m});
my @view_names = split / /, $viewdef;
cmp_ok(scalar(@view_names), '>=', 20, 'steward.metrics names at least 20 series names');
for my $name (@view_names)
{
	my $base = $name =~ s/_(bucket|sum|count)$//r;
	my $fam = ($file_type{$base} // '') eq 'histogram' ? $base : $name;
	ok(defined $file_type{$fam}, "the queries file exports $fam (steward.metrics has $name)");
}

# ---------------------------------------------------------------------
# Part 2: one database, a known workload
# ---------------------------------------------------------------------

$node->safe_psql(
	'postgres', q{
	CREATE ROLE steward_exporter LOGIN IN ROLE pg_monitor;
	CREATE TABLE acct (id bigint PRIMARY KEY, balance bigint NOT NULL, version bigint) USING steward;
	SELECT steward.track_versions('acct', 'version');
	INSERT INTO acct VALUES (1, 0);
});

# Exactly 100 calls of one statement, each at least 3 ms; psql sends each
# line as its own query.  These are also the database's 100 updates.
my $upd = "UPDATE acct SET balance = balance + 1 WHERE id = 1 AND pg_sleep(0.003) IS NOT NULL;\n";
$node->safe_psql('postgres', $upd x 100);

# Exactly 3 version conflicts: the row is at version 101.
for my $i (1 .. 3)
{
	my ($rc, $out, $err) = $node->psql('postgres',
		'UPDATE acct SET balance = 0, version = 1 WHERE id = 1');
	like($err, qr/stale version/, "conflict $i refused with a stale version");
}

# A failed restore drill and a known growth: 2 hours of samples growing by
# 1.2 GB/day (the purge worker takes no sample of its own for a day).
$node->safe_psql(
	'postgres', q{
	INSERT INTO steward.restore_drills (host, finished_at, duration_s, result, details)
	VALUES ('drill-host', now(), 42, 'failed', 'checksum mismatch (test)');
	INSERT INTO steward.capacity_samples (sampled_at, relid, writes, bytes)
	VALUES (now() - interval '2 hours', 'acct'::regclass, 0, 10000000000),
	       (now(), 'acct'::regclass, 100, 10000000000 + 100000000);
});

# Lock waits: a SELECT waits for a table lock, an UPDATE of a plain table
# for a row lock (a wait for the holder's transaction, attributed to the row's table).
# The holder keeps its locks until both waits have been sampled and then
# commits (a fixed sleep could end before a loaded machine started the
# waiters).
$node->safe_psql('postgres', 'CREATE TABLE plain_rows (id int PRIMARY KEY, n int); INSERT INTO plain_rows VALUES (1, 0);');
my $holder = $node->background_psql('postgres');
$holder->query_safe('BEGIN');
$holder->query_safe('LOCK TABLE acct');
$holder->query_safe('UPDATE plain_rows SET n = n + 1');
# (each step waits for the previous one: a loaded machine starts psql late)
my $row_waiter = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', 'UPDATE plain_rows SET n = n + 1' ],
	'>', \my $wout, '2>', \my $werr);
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'UPDATE plain_rows%'})
  or die 'the row-lock waiter did not wait';
my $acct_waiter = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', 'SELECT count(*) FROM acct' ],
	'>', \my $aout, '2>', \my $aerr);
$node->poll_query_until('postgres', q{
	SELECT count(DISTINCT locktype) = 2 FROM steward.lock_contention
	 WHERE samples > 0
	   AND (relation = 'acct'::regclass AND locktype = 'relation'
	        OR relation = 'plain_rows'::regclass AND locktype = 'transactionid')})
  or die 'the two lock waits were not sampled';
$holder->query_safe('COMMIT');
$holder->quit;
$row_waiter->finish;
$acct_waiter->finish;
my $lock_s = $node->safe_psql('postgres',
	q{SELECT sum(wait_seconds) FROM steward.lock_contention
	   WHERE relation = 'acct'::regclass AND locktype = 'relation'});
cmp_ok($lock_s, '>', 0, "the wait for acct's lock was sampled ($lock_s s)");
my $row_s = $node->safe_psql('postgres',
	q{SELECT sum(wait_seconds) FROM steward.lock_contention
	   WHERE relation = 'plain_rows'::regclass AND locktype = 'transactionid'});
cmp_ok($row_s, '>', 0, "the wait for the row lock was sampled ($row_s s)");

my $host = $node->host;
my $pgport = $node->port;
my $dsn = "host=$host port=$pgport user=steward_exporter dbname=postgres sslmode=disable";

my ($code, $body, $exp) = scrape_once($dsn, $yml, []);
is($code, 200, 'exporter answers /metrics with HTTP 200');
my %m = parse_metrics($body);
is($m{value}{pg_exporter_last_scrape_error}, 0, 'no query of the file failed');

sub series { my ($name, %l) = @_; return $name . '{' . join(',', map { "$_=\"$l{$_}\"" } sort keys %l) . '}'; }

# The statement's histogram.
my ($qid) = $node->safe_psql('postgres',
	q{SELECT queryid FROM steward.statements WHERE query LIKE 'UPDATE acct SET balance = balance + $1 WHERE id = $2 AND pg_sleep%'});
ok($qid, "the 100-call statement has a queryid ($qid)");
my %top = (datname => 'postgres', queryid => $qid);
my @top = grep { /^steward_top_statement_duration_seconds_count\{/ && /queryid="\Q$qid\E"/ } keys %{ $m{value} };
is(scalar(@top), 1, 'the 100-call statement is one of the exported top statements');
my %toplabels = %{ $m{labels}{ $top[0] } };
my $tl = sub {
	my ($suffix, $le) = @_;
	return value(\%m, "steward_top_statement_duration_seconds_$suffix", %toplabels, defined $le ? (le => $le) : ());
};
is_num($tl->('count'), 100, 'statement histogram _count is exactly 100');
is_num($tl->('bucket', '+Inf'), 100, 'statement histogram le="+Inf" is exactly 100');
my @les = bucket_bounds(\%m, 'steward_top_statement_duration_seconds', %toplabels);
is(join(' ', @les), '0.0001 0.00025 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 +Inf',
	'statement histogram has the documented bounds, in seconds, up to +Inf');
is_num($tl->('bucket', '0.0025'), 0, 'no call of 3 ms or more falls at or below le="0.0025"');
check_cumulative(\%m, 'statement histogram', 'steward_top_statement_duration_seconds', %toplabels);
my $total_ms = $node->safe_psql('postgres', "SELECT sum(total_ms) FROM steward.statements WHERE queryid = $qid");
ok(abs($tl->('sum') - $total_ms / 1000) < 1e-9 * $total_ms + 1e-12,
	"statement histogram _sum is steward.statements' total in seconds ($total_ms ms)");
cmp_ok($tl->('sum'), '>=', 0.3, '_sum covers 100 calls of at least 3 ms');
is($m{type}{steward_top_statement_duration_seconds}, 'histogram', 'top statement latency is a histogram');

# The database's histogram.
check_cumulative(\%m, 'database histogram', 'steward_statement_duration_seconds', datname => 'postgres');
cmp_ok(value(\%m, 'steward_statement_duration_seconds_count', datname => 'postgres'), '>=', 100,
	'database histogram counts the 100 calls');
is($m{type}{steward_statement_duration_seconds}, 'histogram', 'database latency is a histogram');
is_num(value(\%m, 'steward_version_conflicts_total', datname => 'postgres', table => 'public.acct', parent => 'public.acct'), 3,
	'steward_version_conflicts_total is exactly 3');
is_num(value(\%m, 'steward_statement_errors_total', datname => 'postgres'), 3,
	'steward_statement_errors_total is exactly 3 (the conflicts)');

compare_with_view('postgres', \%m);

is_num(value(\%m, 'steward_lock_wait_seconds_total', datname => 'postgres', relation => 'public.acct',
		locktype => 'relation'), $lock_s, "lock wait seconds on public.acct: $lock_s");
is_num(value(\%m, 'steward_lock_wait_seconds_total', datname => 'postgres', relation => 'public.plain_rows',
		locktype => 'transactionid'), $row_s, "lock wait seconds for a row of public.plain_rows (a transactionid wait): $row_s");

# Health.
my %h = (
	'version_conflict_rate' => [ 1, 0.03, 0.01, 0.05 ],
	'restore_drill_failed' => [ 2, 1, 1, 1 ],
	'restore_drill_age_s' => [ 1, 'NaN', 483840, 604800 ],
	'backup_age_s' => [ -1, 'NaN', 138240, 172800 ],
	'failed_migrations' => [ 0, 0, 1, 1 ],);
for my $check (sort keys %h)
{
	my ($st, $v, $w, $c) = @{ $h{$check} };
	is_num(value(\%m, 'steward_health_status', datname => 'postgres', check => $check), $st, "health $check status $st");
	is_num(value(\%m, 'steward_health_value', datname => 'postgres', check => $check), $v, "health $check value $v");
	is_num(value(\%m, 'steward_health_warn_threshold', datname => 'postgres', check => $check), $w, "health $check warn threshold $w");
	is_num(value(\%m, 'steward_health_critical_threshold', datname => 'postgres', check => $check), $c, "health $check critical threshold $c");
}
is_num(value(\%m, 'steward_cluster_health_status', check => 'statistics_collected'), 0, 'cluster health statistics_collected ok (0)');
is_num(value(\%m, 'steward_cluster_health_value', check => 'statistics_collected'), 1, 'cluster health statistics_collected value 1');
is_num(value(\%m, 'steward_cluster_health_status', check => 'replication_lag_s'), -1,
	'cluster health replication_lag_s unknown (-1) without a standby');
is_num(value(\%m, 'steward_cluster_health_value', check => 'replication_lag_s'), 'NaN',
	'cluster health replication_lag_s value NaN without a standby');
# Every check of steward.health is exported exactly once, in one family.
my @checks = split /\n/, $node->safe_psql('postgres', 'SELECT "check" FROM steward.health ORDER BY 1');
for my $check (@checks)
{
	my $n = grep { /^steward_(cluster_)?health_status\{/ && /check="\Q$check\E"/ } keys %{ $m{value} };
	is($n, 1, "health check $check exported once");
}
my ($sql_status) = $node->safe_psql('postgres', q{SELECT status FROM steward.health WHERE "check" = 'version_conflict_rate'});
is($sql_status, 'warn', 'steward.health says warn for 3 conflicts in 100 updates too');

# Capacity and drills.
is_num(value(\%m, 'steward_capacity_growth_bytes_per_day', datname => 'postgres'), 1.2e9, 'capacity growth 1.2 GB/day');
my $runway = $node->safe_psql('postgres', q{SELECT days_until_full FROM steward.capacity WHERE relid IS NULL});
my $got_runway = value(\%m, 'steward_capacity_runway_days', datname => 'postgres');
ok($runway > 0 && abs($got_runway - $runway) <= 0.01 * $runway,
	"capacity runway $got_runway days, steward.capacity says $runway");
is_num(value(\%m, 'steward_restore_drill_last_duration_seconds', datname => 'postgres'), 42, 'last drill took 42 s');
is_num(value(\%m, 'steward_restore_drill_last_passed', datname => 'postgres'), 0, 'last drill failed (0)');
is_num(value(\%m, 'steward_restore_drill_last_success_timestamp_seconds', datname => 'postgres'), 'NaN', 'no drill ever passed (NaN)');
is_num(value(\%m, 'steward_restore_drill_rto_seconds', datname => 'postgres'), 1800, 'RTO 1800 s');
is_num(value(\%m, 'steward_restore_drills_total', datname => 'postgres', result => 'failed'), 1, 'one failed drill');
is_num(value(\%m, 'steward_restore_drills_total', datname => 'postgres', result => 'passed'), 0, 'no passed drill');

# Types: every steward family in the scrape is typed as the file says.
for my $fam (sort grep { /^steward_/ } keys %{ $m{type} })
{
	is($m{type}{$fam}, $file_type{$fam}, "$fam is exported as a $file_type{$fam}");
}

promtool_check($body, 'one database');

# ---------------------------------------------------------------------
# Part 3: --auto-discover-databases
# ---------------------------------------------------------------------

$node->safe_psql('postgres', 'CREATE DATABASE shop; CREATE DATABASE plain;');
$node->safe_psql(
	'shop', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE acct (id bigint PRIMARY KEY, balance bigint NOT NULL, version bigint,
	                   status text NOT NULL DEFAULT 'open') USING steward;
	SELECT steward.track_versions('acct', 'version');
	SELECT steward.create_state_machine('acct_status', states => ARRAY['open', 'closed'],
	                                    initial => ARRAY['open'], transitions => ARRAY['open->closed']);
	SELECT steward.attach_state_machine('acct', 'status', 'acct_status');
	INSERT INTO acct VALUES (1, 0);
	UPDATE acct SET status = 'closed' WHERE id = 1;
	SELECT outcome FROM steward.idempotency_begin('s1', 'k1', 'f1');
	SELECT outcome FROM steward.idempotency_begin('s1', 'k1', 'f1');
});
for my $i (1 .. 2)
{
	my ($rc, $out, $err) = $node->psql('shop', 'UPDATE acct SET balance = 0, version = 1 WHERE id = 1');
	like($err, qr/stale version/, "shop: conflict $i refused");
}

my @auto = ('--auto-discover-databases', '--exclude-databases=plain');
($code, $body) = scrape_once($dsn, $yml, \@auto);
is($code, 200, 'auto-discover: HTTP 200');
%m = parse_metrics($body);
my %seen;
my @dups = grep { $seen{$_}++ } @{ $m{order} };
is(scalar(@dups), 0, 'auto-discover: no series twice') or diag join("\n", @dups[0 .. ($#dups < 9 ? $#dups : 9)]);
is($m{value}{'pg_exporter_last_scrape_error'}, 0, 'auto-discover: no query failed (plain is excluded)');
is_num(value(\%m, 'steward_version_conflicts_total', datname => 'postgres', table => 'public.acct', parent => 'public.acct'), 3, 'postgres: 3 conflicts');
is_num(value(\%m, 'steward_version_conflicts_total', datname => 'shop', table => 'public.acct', parent => 'public.acct'), 2, 'shop: 2 conflicts');
is_num(value(\%m, 'steward_state_transitions_total', datname => 'shop', table => 'public.acct', parent => 'public.acct', from => 'open', to => 'closed'), 1,
	'shop: one open -> closed');
is_num(value(\%m, 'steward_idempotency_requests_total', datname => 'shop', scope => 's1', outcome => 'new'), 1, 'shop: one new key');
compare_with_view('shop', \%m);
for my $fam (sort grep { /^steward_/ } keys %family_master)
{
	my $sample = $file_type{$fam} eq 'histogram' ? "${fam}_count" : $fam;
	my @s = grep { /^\Q$sample\E\{/ } @{ $m{order} };
	next unless @s;
	my %dbs;
	$dbs{ /datname="([^"]*)"/ ? $1 : '' }++ for @s;
	if ($family_master{$fam})
	{
		is(join(',', sort keys %dbs), '', "auto-discover: cluster family $fam has no datname");
	}
	else
	{
		ok(!grep({ $_ ne 'postgres' && $_ ne 'shop' } keys %dbs),
			"auto-discover: $fam from postgres and shop only (" . join(',', sort keys %dbs) . ')');
	}
}
for my $fam (qw(steward_statement_duration_seconds_count steward_health_status steward_capacity_size_bytes
	steward_restore_drills_total steward_version_conflicts_total))
{
	my %dbs;
	$dbs{ $m{labels}{$_}{datname} }++ for grep { /^\Q$fam\E\{/ } @{ $m{order} };
	is(join(',', sort keys %dbs), 'postgres,shop', "auto-discover: $fam from both databases");
}
for my $fam (qw(steward_connections_usable steward_statistics_collected steward_collector_failures_total))
{
	is(scalar(grep { /^\Q$fam\E(\{|$)/ } @{ $m{order} }), 1, "auto-discover: $fam exported once");
}
promtool_check($body, 'auto-discover');

# ---------------------------------------------------------------------
# Part 4: a real Prometheus scrapes the exporter and evaluates alerts.yml
# ---------------------------------------------------------------------

# shop's last drill passed but took longer than the RTO (1800 s).
$node->safe_psql('shop', q{
	INSERT INTO steward.restore_drills (host, finished_at, duration_s, result, backup_time)
	VALUES ('drill-host', now(), 2000, 'passed', now() - interval '1 hour')});
my ($exp_h, $exp_port) = start_exporter($dsn, $yml, \@auto);
my $pdir = $node->basedir . '/prometheus';
mkdir $pdir or die "$pdir: $!";
my $rules_file = monitoring_file('alerts.yml');
$rules_file = File::Spec->rel2abs($rules_file);
my $nrules_expected = () = slurp_file($rules_file) =~ /^      - alert: /mg;
open(my $cfg, '>', "$pdir/prometheus.yml") or die;
print $cfg <<"EOC";
global:
  scrape_interval: 5s
  scrape_timeout: 5s
  evaluation_interval: 1s
rule_files:
  - $rules_file
scrape_configs:
  - job_name: pg_steward
    static_configs:
      - targets: ['127.0.0.1:$exp_port']
EOC
close $cfg;
my $prom_port = PostgreSQL::Test::Cluster::get_free_port();
my $prom = IPC::Run::start(
	[
		$prometheus, "--config.file=$pdir/prometheus.yml", "--storage.tsdb.path=$pdir/data",
		"--web.listen-address=127.0.0.1:$prom_port"
	],
	'<', \undef, '>', "$pdir/prometheus.log", '2>&1');
push @daemons, $prom;

# What the data calls for: postgres' last drill failed and none ever
# passed; shop's passed but took longer than the RTO (and more than 80%
# of it).  Wait until every rule has been evaluated on scraped series and
# these are pending (each has a "for:").
my %want = (
	'StewardRestoreDrillFailed postgres' => 1,
	'StewardRestoreDrillNeverPassed postgres' => 1,
	'StewardRestoreDrillSlowerThanRTO shop' => 1,
	'StewardRestoreDrillNearRTO shop' => 1,);
my ($rules_json, %active, @unhealthy, $evaluated);
my $t_prom = time;
my $http = HTTP::Tiny->new(timeout => 10);
# (A loaded machine makes scrapes slow: a scrape that times out gives no
# series, so it is given 5 s, and the wait up to 4 minutes.)
for (1 .. 960)
{
	my $res = $http->get("http://127.0.0.1:$prom_port/api/v1/rules");
	if ($res->{success})
	{
		$rules_json = JSON::PP::decode_json($res->{content});
		(%active, @unhealthy) = ();
		$evaluated = 0;
		for my $g (@{ $rules_json->{data}{groups} })
		{
			for my $r (@{ $g->{rules} })
			{
				$evaluated++ if $r->{lastEvaluation} !~ /^0001-/;
				push @unhealthy, "$r->{name}: $r->{health} $r->{lastError}" if $r->{health} ne 'ok';
				$active{"$r->{name} " . ($_->{labels}{datname} // '')} = $_ for @{ $r->{alerts} // [] };
			}
		}
		last if $evaluated == $nrules_expected && !grep({ !$active{$_} } keys %want) && !@unhealthy;
	}
	usleep(250_000);
}
note sprintf('Prometheus: %.1f s until the rules were evaluated and the alerts pending', time - $t_prom);
is($evaluated, $nrules_expected, "Prometheus evaluated all $nrules_expected rules of alerts.yml");
is(join("\n", @unhealthy), '', 'every rule evaluates without error on the scraped series');
for my $k (sort keys %want)
{
	is($active{$k} && $active{$k}{state}, 'pending', "Prometheus: $k is pending");
}
# postgres has no kept backup known either, but no drill of it ever
# passed: StewardRestoreDrillNeverPassed says so, StewardBackupUnknown
# stays silent (one warning, one first step).
ok(!$active{'StewardBackupUnknown postgres'},
	'Prometheus: no StewardBackupUnknown for postgres (StewardRestoreDrillNeverPassed is pending)');
for my $k (qw(StewardRestoreDrillFailed StewardRestoreDrillNeverPassed))
{
	ok(!$active{"$k shop"}, "Prometheus: no $k for shop (its drill passed)");
}
ok(!$active{'StewardRestoreDrillSlowerThanRTO postgres'}, 'Prometheus: no StewardRestoreDrillSlowerThanRTO for postgres (42 s)');
is($active{'StewardRestoreDrillFailed postgres'} && $active{'StewardRestoreDrillFailed postgres'}{annotations}{first_response},
	"Read steward.restore_drills.details; fix the backup before trusting it",
	'the alert carries the first response');
if (grep { !$active{$_} } keys %want)
{
	my $up = $http->get("http://127.0.0.1:$prom_port/api/v1/targets");
	diag "targets: " . ($up->{content} // '') . "\nprometheus log:\n" . slurp_file("$pdir/prometheus.log");
}
$prom->signal('TERM');
$prom->finish;
$exp_h->signal('TERM');
$exp_h->finish;

# Without "master: true", the cluster series come from every database.
my $broken = $node->basedir . '/no_master.yml';
{
	open(my $in, '<', $yml) or die;
	open(my $out, '>', $broken) or die;
	print $out grep { !/^  master:\s*true/ } <$in>;
	close $out;
}
($code, $body) = scrape_once($dsn, $broken, \@auto);
is($code, 500, 'without master: true, auto-discover gives HTTP 500');
like($body, qr/was collected before with the same name and label values/, '... for duplicate series');

$node->stop;
done_testing();

# ---------------------------------------------------------------------

# Start the exporter on a free loopback port, scrape /metrics once, stop
# it.  Returns (HTTP status, body).
sub scrape_once
{
	my ($dsn, $file, $extra) = @_;
	my ($h, $port, $log) = start_exporter($dsn, $file, $extra);
	my $http = HTTP::Tiny->new(timeout => 30);
	my $res;
	for (1 .. 300)
	{
		$res = $http->get("http://127.0.0.1:$port/metrics");
		last if $res->{status} != 599;
		usleep(100_000);
	}
	$h->signal('TERM');
	$h->finish;
	note "exporter log:\n" . slurp_file($log) if $res->{status} != 200;
	return ($res->{status}, $res->{content});
}

# Start the exporter on a free loopback port: (handle, port, log file).
sub start_exporter
{
	my ($dsn, $file, $extra) = @_;
	my $port = PostgreSQL::Test::Cluster::get_free_port();
	my $log = $node->basedir . "/exporter_$port.log";
	local $ENV{DATA_SOURCE_NAME} = $dsn;
	my $h = IPC::Run::start(
		[
			$exporter_bin, "--web.listen-address=127.0.0.1:$port",
			"--extend.query-path=$file", @$extra
		],
		'<', \undef, '>', $log, '2>&1');
	push @daemons, $h;
	return ($h, $port, $log);
}

# Parse the text exposition: value{series} (labels sorted), type{family},
# order (every series as it came).
sub parse_metrics
{
	my ($text) = @_;
	my (%value, %type, %labels, @order);
	for my $line (split /\n/, $text)
	{
		if ($line =~ /^# TYPE (\S+) (\S+)/) { $type{$1} = $2; next; }
		next if $line =~ /^#/ || $line !~ /\S/;
		$line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/ or die "unparsable line: $line";
		my ($name, $labels, $v) = ($1, $2 // '', $3);
		my %l = $labels =~ /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
		delete $l{server};
		my $key = series($name, %l);
		$key = $name if !%l;
		$value{$key} = $v;
		$labels{$key} = \%l;
		push @order, $key;
	}
	return (value => \%value, type => \%type, labels => \%labels, order => \@order);
}

# Every series of steward.metrics in database $db that does not move on
# its own has the view's value and type (statement totals, connections,
# the collector's entries, the hit ratio and rollout times change with the
# exporter's own queries or the clock).
sub compare_with_view
{
	my ($db, $m) = @_;
	my $rows = $node->safe_psql($db,
		q{SELECT metric, type, labels::text, value FROM steward.metrics
		   WHERE metric !~ '^steward_(statement_|connections$|collector_entries|buffer_hit|migration_rollout)'
		   ORDER BY 1, 3});
	my $compared = 0;
	for my $line (split /\n/, $rows)
	{
		my ($metric, $type, $labels, $v) = split /\|/, $line;
		my %l = $labels =~ /"([a-z_]+)": "([^"]*)"/g;
		$l{datname} = delete $l{database} if exists $l{database};
		is_num(value($m, $metric, %l), $v, "$db: scrape equals steward.metrics: $metric $labels = $v");
		is($m->{type}{$metric}, $type, "$db: $metric is a $type");
		$compared++;
	}
	cmp_ok($compared, '>=', 10, "$db: compared $compared series of steward.metrics with the scrape");
}

# Numbers as numbers (the exporter writes 1e+09 where SQL writes
# 1000000000); NaN only equals NaN.
sub is_num
{
	my ($got, $want, $what) = @_;
	if (!defined $got || $got eq 'NaN' || $want eq 'NaN')
	{
		return is($got, $want, $what);
	}
	return ok(abs($got - $want) <= 1e-12 * abs($want), $what) || diag("got $got, want $want");
}

sub value
{
	my ($m, $name, %l) = @_;
	my $key = %l ? series($name, %l) : $name;
	return $m->{value}{$key};
}

# The le values of histogram $name's buckets with labels %l, in the
# exporter's order.
sub bucket_bounds
{
	my ($m, $name, %l) = @_;
	my @le;
	for my $k (grep { index($_, "${name}_bucket{") == 0 } @{ $m->{order} })
	{
		my %kl = %{ $m->{labels}{$k} };
		my $le = delete $kl{le};
		push @le, $le if series('x', %kl) eq series('x', %l);
	}
	return @le;
}

# Buckets never decrease, le="+Inf" is last and equals _count.
sub check_cumulative
{
	my ($m, $what, $name, %l) = @_;
	my @le = bucket_bounds($m, $name, %l);
	my ($prev, $ok) = (0, 1);
	for my $le (@le)
	{
		my $v = value($m, "${name}_bucket", %l, le => $le);
		$ok = 0 if $v < $prev;
		$prev = $v;
	}
	ok($ok && @le > 1, "$what: buckets are cumulative");
	is($le[-1], '+Inf', "$what: the last bucket is +Inf");
	is_num($prev, value($m, "${name}_count", %l), "$what: le=\"+Inf\" equals _count ($prev)");
}

# promtool check metrics: no error; lint only about the exporter's built-in
# families and the runway in days.
sub promtool_check
{
	my ($text, $what) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ $promtool, 'check', 'metrics' ], '<', \$text, '>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	ok($rc == 0 || $rc == 3, "$what: promtool check metrics finds no error (exit $rc)") or diag "$out$err";
	my @ours = grep { /^steward_/ && !/^steward_capacity_runway_days use base unit "seconds" instead of "days"$/ }
	  split /\n/, "$out$err";
	is(join("\n", @ours), '', "$what: promtool has no complaint about steward_* families but the runway in days");
	my @other = grep { !/^steward_/ && /\S/ } split /\n/, "$out$err";
	ok(!grep({ !/^pg_/ } @other), "$what: promtool's other lint lines are about the exporter's pg_* metrics")
	  or diag join("\n", @other);
}
