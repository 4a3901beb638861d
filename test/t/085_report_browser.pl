# steward-report in a real browser.  A known workload builds history on a
# preloaded cluster: three phases of a statement of known latency, each
# closed by a snapshot labelled 10 minutes after the previous one (health
# turns critical in the slowest), updates of three rows 30, 20 and 10
# times (hot rows), a session blocked for half a second behind LOCK TABLE
# (lock contention), capacity samples growing for three hours and four
# restore drills, one failed and one slower than the RTO.  steward-report
# writes the page as a pg_monitor role; headless Chromium (Debian's
# chromium, driven over its DevTools pipe by report_browser.py) opens it,
# and the test checks the DOM: every chart present with its title, axis
# labels with units and a reading; the data points each chart embeds equal
# what the SQL views return; no console message, no request but the file
# itself, no duplicate id.  A full-page screenshot and the page are saved
# under tmp_check/log as artifacts.  Then the cases that must not draw
# charts: a server without shared_preload_libraries (every chart a
# "no data yet" panel), a role without monitoring privileges (panels that
# name the privilege), a database with an awkward name, bad connections
# and bad usage (clean errors, non-zero exits).

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Copy qw(copy);
use IPC::Run;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $browser = dirname(__FILE__) . '/report_browser.py';
my $out     = $PostgreSQL::Test::Utils::tmp_check;
my $logdir  = $PostgreSQL::Test::Utils::log_path;

# Run steward-report; return (exit code, stdout, stderr).
sub report
{
	my @args = @_;
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ 'steward-report', @args ], '>', \$stdout, '2>', \$stderr);
	return ($? >> 8, $stdout, $stderr);
}

# Open a page in Chromium; return what the browser saw.
sub browse
{
	my ($page, $shot) = @_;
	my ($stdout, $stderr) = ('', '');
	IPC::Run::run([ '/usr/bin/python3', $browser, $page, $shot ],
		'>', \$stdout, '2>', \$stderr)
	  or BAIL_OUT("the browser check failed: $stderr");
	return decode_json($stdout);
}

sub section
{
	my ($facts, $id) = @_;
	my ($s) = grep { $_->{id} eq $id } @{ $facts->{sections} };
	return $s;
}

sub close_to
{
	my ($a, $b) = @_;
	return 1 if !defined $a && !defined $b;
	return 0 if !defined $a || !defined $b;
	return abs($a - $b) <= 1e-6 * (1 + abs($b));
}

# Rows of a query as arrays of fields ('|'-separated psql output).
sub rows
{
	my ($node, $db, $sql) = @_;
	return [ map { [ split /\|/, $_, -1 ] } grep { length } split /\n/,
		$node->safe_psql($db, "SET search_path = pg_catalog, pg_temp;\n$sql") ];
}

# Compare a chart's points with SQL rows, field by field; numbers approximately.
sub points_match
{
	my ($points, $rows, $fields, $name) = @_;
	my @p = @$points;
	if (@p != @$rows)
	{
		fail("$name: " . scalar(@p) . ' points, SQL has ' . scalar(@$rows) . ' rows');
		return;
	}
	for my $i (0 .. $#p)
	{
		for my $f (0 .. $#$fields)
		{
			my ($key, $sql) = ($fields->[$f], $rows->[$i][$f]);
			my $v = $key =~ /^(\w+)\.(\w+)$/ ? $p[$i]{$1}{$2} : $p[$i]{$key};
			$sql = undef if defined $sql && $sql eq '';
			my $same = (defined $sql && $sql =~ /^-?[\d.]+(e[-+]?\d+)?$/ && defined $v)
			  ? close_to($v, $sql) : (($v // '<null>') eq ($sql // '<null>'));
			if (!$same)
			{
				fail("$name: point $i field $key is " . ($v // 'null') . ', SQL says ' . ($sql // 'null'));
				return;
			}
		}
	}
	pass("$name: all " . scalar(@p) . ' points equal the SQL values');
}

# ---------------------------------------------------------------------------
# A workload with known history
# ---------------------------------------------------------------------------

my $node = PostgreSQL::Test::Cluster->new('report');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
# Only the snapshots and samples this test takes.
steward.snapshot_interval = 86400
steward.capacity_sample_interval = 10000000
steward.health_min_calls = 10
# The lock holder's half second is not a slow call: only p99 turns bad.
steward.slow_query_threshold = '1s'
steward.health_p99_warn = '12ms'
steward.health_p99_critical = '25ms'
steward.rto = '1min'
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', q{
CREATE EXTENSION pg_steward;
CREATE ROLE watcher LOGIN;
GRANT pg_monitor TO watcher;
CREATE ROLE nobody LOGIN;
CREATE TABLE orders (id bigint PRIMARY KEY, status text NOT NULL, version bigint) USING steward;
SELECT steward.track_versions('orders', 'version');
INSERT INTO orders SELECT g, 'created' FROM generate_series(1, 20) g;
-- Hot rows show key values only to roles that may read them (review9 F3):
-- the report's monitoring role reads this table too.
GRANT SELECT ON orders TO watcher;
});

# History from a clean start: reset() empties statements, hot rows and the
# snapshot ring; snapshots are then labelled 50, 40, 30 and 20 minutes ago.
$node->safe_psql('shop', q{SELECT steward.reset(); SELECT steward.take_snapshot(now() - interval '50 min')});
my %phase = (40 => 0.002, 30 => 0.005, 20 => 0.1);
for my $ago (40, 30, 20)
{
	my $sql = join '', map { "SELECT pg_sleep($phase{$ago});\n" } 1 .. 30;
	$sql .= join '', map { "SELECT count(*) FROM orders WHERE id = $_;\n" } 1 .. 20;
	$node->safe_psql('shop', $sql);
	$node->safe_psql('shop', "SELECT steward.take_snapshot(now() - interval '$ago min')");
}
# Hot rows: 30, 20 and 10 updates of three rows.
$node->safe_psql('shop', join '', map {
	my ($id, $n) = @$_; map { "UPDATE orders SET status = 'paid' WHERE id = $id;\n" } 1 .. $n
} [ 1, 30 ], [ 2, 20 ], [ 3, 10 ]);

# Lock contention: a session waits behind LOCK TABLE for half a second.
# The holder takes the lock, the waiter is seen waiting and sampled, and
# only then does the holder's half second start (a fixed hold started
# first could end before a loaded machine started the waiter).
my $locker = $node->background_psql('shop');
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK TABLE orders IN ACCESS EXCLUSIVE MODE');
my ($wout, $werr) = ('', '');
my $waiter = IPC::Run::start([ 'psql', '-X', '-d', $node->connstr('shop'), '-c', 'SELECT count(*) FROM orders' ],
	'>', \$wout, '2>', \$werr);
$node->poll_query_until('shop', q{SELECT coalesce(sum(samples), 0) > 0 FROM steward.lock_contention
	WHERE relation = 'orders'::regclass})
  or die 'the lock wait was not sampled';
$locker->query_safe('SELECT count(*) FROM pg_sleep(0.5)');
$locker->query_safe('COMMIT');
$locker->quit;
$waiter->finish;

# Capacity: seven samples half an hour apart, 100 MB more each time.
$node->safe_psql('shop', q{
BEGIN;
DELETE FROM steward.capacity_samples;
INSERT INTO steward.capacity_samples (sampled_at, relid, writes, bytes)
SELECT date_trunc('minute', now()) - (6 - i) * interval '30 min', 'orders'::regclass, 1000 * i,
       200000000 + 100000000 * i
  FROM generate_series(0, 6) i;
COMMIT;
});

# Restore drills: the third failed, the third took longer than the 60 s RTO.
$node->safe_psql('shop', q{
INSERT INTO steward.restore_drills (host, started_at, finished_at, duration_s, tables, result, details)
SELECT 'test', now() - (5 - i) * interval '1 day', now() - (5 - i) * interval '1 day' + d * interval '1 s',
       d, 1, r, ''
  FROM (VALUES (1, 20.5, 'passed'), (2, 35.25, 'passed'), (3, 80, 'failed'), (4, 41, 'passed'))
       v(i, d, r);
});

# A last snapshot closes the interval of the updates, the lock wait and
# the inserts.
$node->safe_psql('shop', "SELECT steward.take_snapshot(now() - interval '10 min')");

# ---------------------------------------------------------------------------
# The report, as a monitoring role, in a browser
# ---------------------------------------------------------------------------

my $page = "$out/085_report.html";
my ($rc, $stdout, $stderr) = report('-h', $node->host, '-p', $node->port, '-U', 'watcher',
	'-d', 'shop', '-o', $page);
is($rc, 0, 'steward-report exits 0') or diag($stderr);
is($stderr, '', '... and prints nothing on success');

my $facts = browse($page, "$logdir/085_report.png");
copy($page, "$logdir/085_report.html");
ok(-s "$logdir/085_report.png" > 20000, 'a full-page screenshot is saved (tmp_check/log/085_report.png)');

is_deeply($facts->{console}, [], 'the browser logged no console message or error');
is_deeply($facts->{requests}, [ "file://$page" ], 'the page requests nothing but itself');
is_deeply($facts->{ids}, [], 'no id occurs twice (each SVG has its own ids)');
is($facts->{title}, 'pg_steward report: shop', 'the page is titled with the database');

my @want = qw(statement-histogram-1 statement-over-time-1 statement-histogram-2 statement-over-time-2
  statement-histogram-3 statement-over-time-3 latency-over-time health-over-time capacity restore-drills lock-contention hot-rows);
is_deeply([ map { $_->{id} } @{ $facts->{sections} } ], \@want, 'every chart is on the page, in order');

# Axis labels with units, by kind of chart.
my %units = (
	statement_histogram => [ qr/^latency \(ms/, qr/^calls$/ ],
	statement_over_time => [ qr/\(UTC\)/, qr/^latency \(ms/ ],
	latency_over_time   => [ qr/\(UTC\)/, qr/^latency \(ms/ ],
	health_over_time    => [ qr/\(UTC\)/, qr/^check$/ ],
	capacity            => [ qr/\(UTC\)/, qr/^size \((MB|GB)\)$/ ],
	restore_drills      => [ qr/start time UTC/, qr/^duration \(s\)$/ ],
	lock_contention     => [ qr/^waiting time \(s/, qr/^relation$/ ],
	hot_rows            => [ qr/^updates .*\(count\)$/, qr/^table and key$/ ]);
for my $s (@{ $facts->{sections} })
{
	is($s->{status}, 'ok', "$s->{id}: drawn (not a no-data panel)");
	ok($s->{svg_width} > 300 && $s->{svg_height} > 100,
		"$s->{id}: its SVG is rendered ($s->{svg_width} x $s->{svg_height})");
	ok(length($s->{title}) > 10 && length($s->{reading}) > 30, "$s->{id}: a title and a reading")
	  or diag explain $s;
	my $texts = $s->{svg_texts};
	for my $re (@{ $units{ $s->{chart} } })
	{
		ok((grep { $_ =~ $re } @$texts), "$s->{id}: an axis label matching $re")
		  or diag explain $texts;
	}
}

# Top statements: the slowest first, each histogram equal to latency_histogram().
my $sleep_qid = $node->safe_psql('shop',
	q{SELECT queryid FROM steward.statements WHERE query = 'SELECT pg_sleep($1)'});
my $h1 = section($facts, 'statement-histogram-1')->{data};
is($h1->{queryid}, $sleep_qid, 'statement #1 by total time is the pg_sleep one');
is($h1->{calls}, 90, '... with its 90 calls');
for my $i (1 .. 3)
{
	my $d = section($facts, "statement-histogram-$i")->{data};
	points_match($d->{points}, rows($node, 'shop',
		"SELECT lower_ms, upper_ms, count FROM steward.latency_histogram($d->{queryid}) ORDER BY lower_ms"),
		[qw(lower_ms upper_ms count)], "statement #$i histogram");
}
my $pct = rows($node, 'shop', "SELECT p50_ms, p95_ms, p99_ms FROM steward.statements WHERE queryid = $sleep_qid")->[0];
ok(close_to($h1->{percentiles}{p50_ms}, $pct->[0]) && close_to($h1->{percentiles}{p95_ms}, $pct->[1])
	  && close_to($h1->{percentiles}{p99_ms}, $pct->[2]),
	'the percentiles marked on the histogram are steward.statements\' p50/p95/p99')
  or diag explain [ $h1->{percentiles}, $pct ];

# Each top statement over time: top_statement_history, interval by interval.
for my $i (1 .. 3)
{
	my $d = section($facts, "statement-over-time-$i")->{data};
	points_match($d->{points}, rows($node, 'shop', qq{
		SELECT extract(epoch FROM interval_end), extract(epoch FROM interval_start), calls, p50_ms, p95_ms, p99_ms
		  FROM steward.top_statement_history WHERE queryid = $d->{queryid} ORDER BY interval_end}),
		[qw(epoch interval_start.epoch calls p50_ms p95_ms p99_ms)], "statement #$i over time");
}
my $o1 = section($facts, 'statement-over-time-1');
is($o1->{data}{queryid}, $sleep_qid, 'the first statement over time is the pg_sleep one');
is_deeply([ map { $_->{calls} } @{ $o1->{data}{points} } ], [ 30, 30, 30, 0 ],
	'... with its 30 calls in each of the three phases, none in the last interval');
# The phases' sleeps rose from 2 to 100 ms: p50 shows it whatever the
# load.  p99 over 30 calls is their slowest, which one stall on a busy
# machine can lift in any phase: the reading's word is checked against the
# points (themselves checked against top_statement_history above).
my @busy = grep { $_->{calls} > 0 } @{ $o1->{data}{points} };
cmp_ok($busy[-1]{p50_ms}, '>', 10 * $busy[0]{p50_ms}, '... its p50 rose from the first phase to the last');
my ($p99a, $p99z) = ($busy[0]{p99_ms}, $busy[-1]{p99_ms});
my $word = $p99z > $p99a * 1.1 ? 'rose' : $p99z < $p99a / 1.1 ? 'fell' : 'held steady,';
like($o1->{reading}, qr/^p99 of this statement \Q$word\E from [\d.]+ m?s to [\d.]+ m?s over the last 20 min \(3 intervals\)/,
	"... and a reading of its p99 ($word)");

# Latency over time: statement_history, interval by interval.
my $lat = section($facts, 'latency-over-time');
points_match($lat->{data}{points}, rows($node, 'shop', q{
	SELECT extract(epoch FROM interval_end), extract(epoch FROM interval_start), calls, p50_ms, p95_ms, p99_ms
	  FROM steward.statement_history ORDER BY interval_end}),
	[qw(epoch interval_start.epoch calls p50_ms p95_ms p99_ms)], 'latency over time');
is(scalar @{ $lat->{data}{points} }, 5, 'five intervals of history: since reset(), the three phases, the rest');
like($lat->{reading}, qr/^p99 of all statements rose from [\d.]+ ms to [\d.]+ m?s over the last 40 min \(5 intervals\)/,
	'the latency reading says p99 rose, from and to what');

# Health over time: health_history, check by check; critical in the slow phase.
my $hh = section($facts, 'health-over-time');
points_match($hh->{data}{points}, rows($node, 'shop', q{
	SELECT extract(epoch FROM snapshot_at), "check", status, value, events
	  FROM steward.health_history ORDER BY snapshot_at, "check"}),
	[qw(epoch check status value events)], 'health over time');
# The slow phase's p99 is over the critical threshold whatever the load;
# the faster phases' may cross a threshold on a busy machine: the reading
# counts what health_history says.
my ($crit, $warn) = split /\|/, $node->safe_psql('shop', q{
	SELECT count(*) FILTER (WHERE status = 'critical'), count(*) FILTER (WHERE status = 'warn')
	  FROM steward.health_history WHERE "check" = 'p99_latency_ms'});
my $counts = join ' and ', ($crit ? "critical at $crit" : ()), ($warn ? "warn at $warn" : ());
like($hh->{reading}, qr/^p99_latency_ms was \Q$counts\E of 5 snapshots \(last at .*\); at the last snapshot p99_latency_ms critical\.$/,
	'the health reading names the critical check and counts its bad snapshots');

# Capacity: samples summed per time, growth and runway as steward.capacity says.
my $cap = section($facts, 'capacity');
points_match($cap->{data}{points}, rows($node, 'shop', q{
	SELECT extract(epoch FROM sampled_at), sum(bytes) FROM steward.capacity_samples GROUP BY 1 ORDER BY 1}),
	[qw(epoch bytes)], 'capacity samples');
my $cv = rows($node, 'shop', 'SELECT growth_bytes_per_day, days_until_full FROM steward.capacity WHERE relid IS NULL')->[0];
ok(close_to($cap->{data}{projection}{growth_bytes_per_day}, $cv->[0]), 'growth per day is steward.capacity\'s (4.8 GB/day)')
  or diag explain [ $cap->{data}{projection}, $cv ];
ok(abs($cap->{data}{projection}{days_until_full} - $cv->[1]) <= 0.02 * $cv->[1] + 0.1,
	'days until the disk is full match steward.capacity (within the free space that changed meanwhile)');
like($cap->{reading}, qr/measure 800 MB \(up from 200 MB over 3 h of samples\); growing 4\.8 GB\/day, the data directory's disk is full in \d+ days, on \d{4}-\d\d-\d\d\./,
	'the capacity reading gives size, growth and the day the disk fills');

# Restore drills against the RTO.
my $dr = section($facts, 'restore-drills');
points_match($dr->{data}{points}, rows($node, 'shop',
	q{SELECT id, duration_s, result, extract(epoch FROM started_at) FROM steward.restore_drills ORDER BY started_at}),
	[qw(id duration_s result epoch)], 'restore drills');
is($dr->{data}{rto_s}, 60, 'the RTO line is steward.rto');
like($dr->{reading}, qr/The last drill \(.*\) passed in 41\.0 s, 68% of the 60 s RTO; 1 of 4 drills failed and 1 took longer than the RTO\./,
	'the drill reading');

# Lock contention by relation.
my $lk = section($facts, 'lock-contention');
points_match($lk->{data}{points}, rows($node, 'shop', q{
	SELECT coalesce(relation::text, '(' || locktype || ')'), sum(samples)
	  FROM steward.lock_contention WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'shop')
	 GROUP BY 1 ORDER BY 2 DESC, 1}), [qw(relation samples)], 'lock contention');
is($lk->{data}{points}[0]{relation}, 'public.orders', 'orders is where sessions waited');
cmp_ok($lk->{data}{points}[0]{samples}, '>', 0, '... for a sampled part of the wait');
like($lk->{reading}, qr/^public\.orders accounts for 100% of the sampled lock waits \([\d.]+ s of [\d.]+ s over 1 relation\)\.$/,
	'the lock reading (a wait that ends as it is sampled is not a lock on no relation)');

# Hot rows.
my $hr = section($facts, 'hot-rows');
points_match($hr->{data}{points}, rows($node, 'shop',
	q{SELECT relid::text, key_text, updates, error_bound FROM steward.hot_rows ORDER BY updates DESC, 1, 2}),
	[qw(relation key_text updates error_bound)], 'hot rows');
is_deeply([ map { $_->{updates} } @{ $hr->{data}{points} } ], [ 30, 20, 10 ], 'hot rows: 30, 20 and 10 updates');
like($hr->{reading}, qr/^The hottest row is public\.orders key 1 with 30 updates; it took 50% /, 'the hot-rows reading');

# The page is self-contained: no external reference, no script that runs.
my $html = slurp_file($page);
unlike($html, qr/(?:src|href)\s*=\s*["'](?!#|data:)/i, 'no src or href outside the page');
unlike($html, qr/<script(?![^>]*type="application\/json")/, 'the only scripts are JSON data blocks');
unlike($html, qr/\@font-face|\@import|<link/i, 'no fonts or style sheets loaded');
like($html, qr/Content-Security-Policy" content="default-src 'none'/, 'a policy forbids every fetch');

# Text from the database is data: a statement whose text would close the
# JSON block and open a script is drawn and embedded, and runs nothing.
my $evil = q{SELECT pg_sleep(0.3)::text AS "</script><script>document.title='owned'</script><!--<script>"};
$node->safe_psql('shop', $evil);
($rc, $stdout, $stderr) = report('-h', $node->host, '-p', $node->port, '-d', 'shop', '--top', '8',
	'-o', "$out/085_evil.html");
is($rc, 0, '--top 8: a report with a hostile statement text') or diag($stderr);
$facts = browse("$out/085_evil.html", "$out/085_evil.png");
is($facts->{title}, 'pg_steward report: shop', '... runs no script (the title is unchanged)');
is_deeply($facts->{console}, [], '... and logs nothing');
my ($e) = grep { ($_->{data}{query} // '') =~ /owned/ } @{ $facts->{sections} };
ok($e, '... the statement is among the top 8');
is($e->{data}{query}, $node->safe_psql('shop', q{SELECT query FROM steward.statements WHERE query LIKE '%owned%'}),
	'... and its text comes back from the JSON block exactly');
is(scalar(grep { $_->{chart} eq 'statement_histogram' } @{ $facts->{sections} }), 8, '--top 8 draws 8 histograms');

# ---------------------------------------------------------------------------
# Without privileges, without statistics, awkward names, errors
# ---------------------------------------------------------------------------

($rc, $stdout, $stderr) = report('-h', $node->host, '-p', $node->port, '-U', 'nobody',
	'-d', 'shop', '-o', "$out/085_nobody.html");
is($rc, 0, 'a role without monitoring privileges still gets a report');
$facts = browse("$out/085_nobody.html", "$out/085_nobody.png");
is_deeply($facts->{console}, [], '... that the browser shows without errors');
for my $id (qw(health-over-time capacity restore-drills lock-contention))
{
	my $s = section($facts, $id);
	is($s->{status}, 'unavailable', "nobody: $id is a panel saying it is not available");
	like($s->{reading}, qr/permission denied.*needs pg_monitor or pg_read_all_stats \(GRANT pg_monitor TO nobody\)/,
		"nobody: $id names the grant it needs");
}

my $bare = PostgreSQL::Test::Cluster->new('report_bare');
$bare->init;
$bare->start;
my $odd = q{shop "o'brien" dbname=postgres host=/nonexistent};
$bare->safe_psql('postgres', qq{CREATE DATABASE "shop ""o'brien"" dbname=postgres host=/nonexistent"});
$bare->psql($odd, 'CREATE EXTENSION pg_steward');
$bare->safe_psql($odd, 'CREATE TABLE t (id int PRIMARY KEY) USING steward; SELECT 1');
($rc, $stdout, $stderr) = report('-h', $bare->host, '-p', $bare->port, '-d', $odd, '-o', "$out/085_empty.html");
is($rc, 0, 'a database whose name looks like a connection string is just a name') or diag($stderr);
$facts = browse("$out/085_empty.html", "$logdir/085_report_empty.png");
is($facts->{title}, qq{pg_steward report: $odd}, '... and the page names it');
is_deeply($facts->{console}, [], 'without statistics: no console errors');
is(scalar @{ $facts->{sections} }, 7, 'without statistics: one panel per chart (one for the statements)');
for my $s (@{ $facts->{sections} })
{
	is($s->{status}, 'empty', "without statistics: $s->{id} is a no-data panel");
	is($s->{no_data}, 'No data yet.', "without statistics: $s->{id} says no data yet");
	is_deeply($s->{data}{points}, [], "without statistics: $s->{id} embeds no points");
	ok(length($s->{reading}) > 30, "without statistics: $s->{id} says where its data comes from");
}
like(slurp_file("$out/085_empty.html"), qr/collects no statistics on this server: add it to shared_preload_libraries/,
	'a banner says statistics are not collected');

($rc, $stdout, $stderr) = report('-h', $bare->host, '-p', $bare->port, '-d', 'postgres', '-o', "$out/085_noext.html");
is($rc, 1, 'a database without pg_steward: exit 1');
like($stderr, qr/^steward-report: error: extension pg_steward is not installed in database "postgres"\nsteward-report: hint: /,
	'... saying so, with a hint');

$bare->safe_psql('postgres', 'CREATE DATABASE old');
$bare->psql('old', q{CREATE EXTENSION pg_steward VERSION '0.1'});
($rc, $stdout, $stderr) = report('-h', $bare->host, '-p', $bare->port, '-d', 'old', '-o', "$out/085_old.html");
is($rc, 1, 'a database still at 0.1: exit 1');
like($stderr, qr/^steward-report: error: pg_steward in database "old" is at version 0.1; .*\nsteward-report: hint: Run ALTER EXTENSION pg_steward UPDATE in that database, then run steward-report again\.$/,
	'... with the hint to update');

my $port = PostgreSQL::Test::Cluster::get_free_port();
($rc, $stdout, $stderr) = report('-h', $bare->host, '-p', $port, '-d', 'shop', '-o', "$out/085_bad.html");
is($rc, 1, 'nothing listening: exit 1');
like($stderr, qr/^steward-report: error: connection to server on socket ".*" failed: /, '... with libpq\'s message');
ok(!-e "$out/085_bad.html", '... and no file');
($rc, $stdout, $stderr) = report('-h', $bare->host, '-p', $bare->port, '-d', 'nosuchdb', '-o', "$out/085_bad.html");
is($rc, 1, 'a database that does not exist: exit 1');
like($stderr, qr/database "nosuchdb" does not exist/, '... named in the error');

($rc, $stdout, $stderr) = report('-h', $bare->host, '-p', $bare->port, '-d', 'shop');
is($rc, 2, 'no -o: usage error, exit 2');
like($stderr, qr/^steward-report: error: no output file given.*\nTry "steward-report --help" for more information\.$/s,
	'... with the hint to --help');
($rc, $stdout, $stderr) = report('--bogus');
is($rc, 2, 'an unknown option: exit 2');
($rc, $stdout, $stderr) = report('-h', $bare->host, '-p', $bare->port, '-o', '/nonexistent/dir/r.html', '-d', $odd);
is($rc, 1, 'an output file that cannot be written: exit 1');
like($stderr, qr/^steward-report: error: could not write file "\/nonexistent\/dir\/r.html": /, '... saying which');
($rc, $stdout) = report('--version');
like($stdout, qr/^steward-report \(pg_steward\) \d+\.\d+\n$/, '--version');
($rc, $stdout) = report('--help');
is($rc, 0, '--help exits 0');
like($stdout, qr/-o, --output=FILE.*-h, --host=HOSTNAME/s, '--help lists the options');

$bare->stop;
$node->stop;
done_testing();
