# Claims of README.md and docs/*.md that no other test checked, each
# driven so that it could fail.  One preloaded server with default
# settings (part 1) and one with the memory-sizing settings at small
# values (part 2).
#
# Part 1:
#   - idempotency: a waiting idempotency_begin respects lock_timeout (55P03);
#     scopes and keys over 255 bytes (multibyte counts bytes) are 22023;
#     idempotency_stats is readable with pg_read_all_stats only;
#   - steward_hash: a lookup reads one index page (the bucket page; the
#     metapage is cached per backend), counted in the transaction's block
#     statistics over 1000 lookups;
#   - lifecycle: validate() runs the check as the table owner;
#     run_transition retries 40001 and 40P01, throttles to
#     max_rows_per_sec, and shows rate and ETA while it runs;
#   - observability: connections against max_connections − reserved,
#     database_hit_ratio as blks_hit / (hit + read), waits.share summing to
#     1, latency_histogram(NULL) summing every statement of the database,
#     percentiles of a single call within 1% of its exact maximum and
#     histogram buckets at most 2% wide, statements kept per database, hot-row
#     keys shown to a non-superuser owner and to nobody else, every health
#     check with a value driven to warn and to critical by its thresholds;
#     the drill checks by steward.drill_max_age and steward.rto;
#     capacity samples older than steward.capacity_window are dropped;
#   - a standby without shared_preload_libraries replays steward_hash splits;
#   - logical replication apply reproduces steward rows exactly (versions,
#     states, sequence values).
# Part 2 (steward.max_tables = 16, max_statements = 100, hot_rows_k = 2,
#   max_wait_entries = 100, sample_interval = 1s by reload):
#   the counters hold at most 16 tables, statements at most 100 entries,
#   hot rows 2 per table (the two most updated), hot_rows_sample = 10 tracks
#   one update in 10, track_statements = off records nothing new, lock
#   contention keeps at most 100 entries when 130 statements wait, and a
#   1.5 s lock wait sampled every second gets a handful of samples, not 150.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);
use StewardMonitoring;
use StewardTest qw(finish_bg start_psql_bg);

my $logdir = PostgreSQL::Test::Utils::tempdir;

# psql with verbose errors: (exit code, stdout, stderr).
sub try_sql
{
	my ($n, $db, $sql) = @_;
	my ($out, $err);
	my $ret = $n->psql($db, "\\set VERBOSITY verbose\n$sql", stdout => \$out, stderr => \$err);
	return ($ret, $out, $err);
}

my $node = PostgreSQL::Test::Cluster->new('claims');
$node->init(allows_streaming => 'logical');
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE DATABASE other;
	CREATE ROLE stats_reader LOGIN IN ROLE pg_read_all_stats;
	CREATE ROLE plain_user LOGIN;
	CREATE ROLE app_owner LOGIN;
	GRANT CREATE, USAGE ON SCHEMA public TO app_owner;
	GRANT USAGE ON SCHEMA public TO plain_user, stats_reader;
});
$node->safe_psql('other', 'CREATE EXTENSION pg_steward');

############################################################################
# Idempotency
############################################################################

# A second caller waits for an uncommitted first one; lock_timeout bounds it.
# The scope is in use already (its first key), so what is waited for is the
# key, not the scope's first claim.
$node->safe_psql('postgres', "SELECT steward.idempotency_begin('lt', 'k0', 'fp')");
my $holder = start_psql_bg($node, 'postgres', 'idem_holder', q{
BEGIN;
SELECT outcome FROM steward.idempotency_begin('lt', 'k1', 'fp');
SELECT pg_sleep(30);
});
$node->poll_query_until('postgres', q{
	SELECT EXISTS (SELECT 1 FROM pg_stat_activity
	                WHERE application_name = 'idem_holder' AND wait_event = 'PgSleep')})
  or die 'the key holder did not start';
my $t_wait = time;
my ($ret, $out, $err) = try_sql($node, 'postgres',
	"SET lock_timeout = '300ms';\nSELECT outcome FROM steward.idempotency_begin('lt', 'k1', 'fp');");
my $waited = time - $t_wait;
isnt($ret, 0, 'a begin waiting for an uncommitted holder fails when lock_timeout passes');
like($err, qr/ERROR:  55P03: /, '... with SQLSTATE 55P03 (lock_not_available)');
cmp_ok($waited, '>=', 0.3, sprintf('... after waiting at least lock_timeout (%.2f s)', $waited));
cmp_ok($waited, '<', 10, '... and not much longer');
is( $node->safe_psql('postgres', q{
		SELECT outcome FROM steward.idempotency_begin('lt', 'k1', 'fp', nowait => true)}),
	'in_progress', 'with nowait the same call answers in_progress at once');
$node->safe_psql('postgres', q{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'idem_holder'});
finish_bg($holder);

# 255 bytes is the limit, in bytes: 128 two-byte characters are 256 bytes.
foreach my $case (
	[ 'scope', "repeat('s', 256)", "'k'" ],
	[ 'key', "'s'", "repeat('k', 256)" ],
	[ 'multibyte scope', "repeat('é', 128)", "'k'" ])
{
	my ($what, $scope, $key) = @$case;
	($ret, $out, $err) = try_sql($node, 'postgres',
		"SELECT steward.idempotency_begin($scope, $key, 'fp');");
	like($err, qr/ERROR:  22023: /, "a $what over 255 bytes is refused with 22023");
}
is( $node->safe_psql('postgres', q{
		SELECT outcome FROM steward.idempotency_begin(repeat('é', 127) || 's', repeat('k', 255), 'fp')}),
	'new', 'a scope and a key of exactly 255 bytes are accepted');

# idempotency_stats: pg_read_all_stats reads it, others are refused.
is( $node->safe_psql('postgres',
		"SELECT new >= 1 FROM steward.idempotency_stats WHERE scope = 'lt'",
		extra_params => [ '-U', 'stats_reader' ]),
	't', 'a pg_read_all_stats member reads idempotency_stats');
($ret, $out, $err) = $node->psql('postgres', 'SELECT * FROM steward.idempotency_stats',
	extra_params => [ '-U', 'plain_user' ]);
like($err, qr/permission denied for view idempotency_stats/,
	'a role without pg_read_all_stats is refused idempotency_stats');

############################################################################
# steward_hash: one index page per lookup
############################################################################

$node->safe_psql('postgres', q{
	CREATE TABLE lk (id int, k text);
	INSERT INTO lk SELECT g, 'key-' || g FROM generate_series(1, 100000) g;
	CREATE INDEX lk_k ON lk USING steward_hash (k);
	ANALYZE lk;
});
is($node->safe_psql('postgres', "SELECT overflow_pages FROM steward.hash_index_stats('lk_k')"),
	'0', 'the built index has no overflow pages (every bucket is one page)');
# A lookup reads one bucket page; the metapage is cached per backend.  The
# Bitmap Index Scan node's buffer counts are index pages only: after a
# first lookup that caches the metapage, 1000 lookups read 1000 pages.
my $explain = $node->safe_psql('postgres', q{
	SET enable_seqscan = off; SET enable_indexscan = off; SET enable_hashjoin = off;
	SET enable_mergejoin = off; SET enable_material = off;
	SELECT count(*) FROM lk WHERE k = 'key-1';
	EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF, SUMMARY OFF)
	SELECT count(*) FROM generate_series(1, 1000) g JOIN lk ON lk.k = 'key-' || (g * 97);});
my ($node_buffers) = $explain =~ /Bitmap Index Scan on lk_k.*?\n\s*Buffers: ([^\n]*)/s;
note "1000 lookups: Bitmap Index Scan on lk_k: " . ($node_buffers // 'no buffers line');
my $pages = 0;
$pages += $1 while defined $node_buffers && $node_buffers =~ /(?:hit|read)=(\d+)/g;
like($explain, qr/loops=1000\)/, 'the index is scanned 1000 times') or diag $explain;
is($pages, 1000, '1000 lookups read 1000 index pages: one bucket page each') or diag $explain;

# Standbys need nothing preloaded: generic WAL is replayed by core.  A
# standby without shared_preload_libraries replays the splits of lk_k and
# answers lookups through it like the primary.
$node->backup('lk_backup');
my $plain_standby = PostgreSQL::Test::Cluster->new('claims_standby');
$plain_standby->init_from_backup($node, 'lk_backup', has_streaming => 1);
$plain_standby->append_conf('postgresql.conf', "shared_preload_libraries = ''");
$plain_standby->start;
$node->safe_psql('postgres',
	"INSERT INTO lk SELECT g, 'key-' || g FROM generate_series(100001, 160000) g");
$node->wait_for_catchup($plain_standby, 'replay', $node->lsn('insert'));
is($plain_standby->safe_psql('postgres', 'SHOW shared_preload_libraries'), '',
	'the standby preloads nothing');
my $lk_check = q{
	SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_hashjoin = off;
	SET enable_mergejoin = off;
	SELECT count(*), (SELECT buckets FROM steward.hash_index_stats('lk_k'))
	  FROM generate_series(1, 160000, 13) g JOIN lk ON lk.k = 'key-' || g};
is($plain_standby->safe_psql('postgres', $lk_check), $node->safe_psql('postgres', $lk_check),
	'the standby finds every sampled key through lk_k and has the same buckets as the primary');
$plain_standby->stop;

############################################################################
# Lifecycle: validate() as the owner; run_transition retries, throttle, ETA
############################################################################

$node->safe_psql('postgres', q{
	SET ROLE app_owner;
	CREATE TABLE owned (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created') USING steward;
	SELECT steward.create_state_machine('owned_m', ARRAY['created', 'done'], ARRAY['created'],
	                                    ARRAY['created->done']);
	SELECT steward.attach_state_machine('owned', 'status', 'owned_m');
	INSERT INTO owned SELECT g FROM generate_series(1, 3) g;
	SELECT steward.set_state_check('owned', 'created',
	    'SELECT count(*) FROM owned WHERE current_user <> ''app_owner''');
	RESET ROLE;
});
is( $node->safe_psql('postgres',
		"SELECT state, passed, violations FROM steward.validate('owned')"),
	'created|t|0',
	'validate() called by a superuser runs the check as the table owner (current_user = app_owner)');

$node->safe_psql('postgres', q{
	CREATE TABLE moves (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created',
	                    note text) USING steward;
	SELECT steward.create_state_machine('moves_m', ARRAY['created', 'done'], ARRAY['created'],
	                                    ARRAY['created->done']);
	SELECT steward.attach_state_machine('moves', 'status', 'moves_m');
	INSERT INTO moves (id) SELECT g FROM generate_series(1, 2000) g;
	CREATE SEQUENCE fails;
	-- Raises 40001 twice and 40P01 once (sequences do not roll back), then
	-- lets every row through.
	CREATE FUNCTION flaky() RETURNS text LANGUAGE plpgsql AS $$
	BEGIN
	    CASE nextval('public.fails')
	        WHEN 1, 2 THEN RAISE EXCEPTION 'transient' USING ERRCODE = '40001';
	        WHEN 3 THEN RAISE EXCEPTION 'transient' USING ERRCODE = '40P01';
	        ELSE RETURN 'moved';
	    END CASE;
	END $$;
});
my $mover = start_psql_bg($node, 'postgres', 'mover',
	"CALL steward.run_transition('moves', 'created', 'done', 'note = public.flaky()', 100, 500);\n");
# (500 rows/s: the run lasts 4 s, long enough to be seen midway on a
# loaded machine)
my ($mid, $t_mid) = ('', time);
while (time - $t_mid < 30)
{
	$mid = $node->safe_psql('postgres', q{
		SELECT rows_done > 0 AND rows_remaining > 0, rows_per_sec > 0, eta IS NOT NULL, retries
		  FROM steward.transition_progress WHERE relid = 'moves'::regclass AND finished_at IS NULL});
	last if $mid =~ /^t\|/;
	usleep(50_000);
}
like($mid, qr/^t\|t\|t\|3$/, 'while running: rows done and remaining, a rate, an ETA, 3 retries so far');
my ($mrc, $mout, $merr) = finish_bg($mover);
is($mrc, 0, 'run_transition finished despite 40001, 40001 and 40P01 in its first batch') or diag $merr;
my ($done, $retries, $secs, $rate) = split /\|/, $node->safe_psql('postgres', q{
	SELECT rows_done, retries, extract(epoch FROM finished_at - started_at), rows_per_sec
	  FROM steward.transition_progress WHERE relid = 'moves'::regclass});
is("$done|$retries", '2000|3', 'all 2000 rows moved; the run counted its 3 retries');
is($node->safe_psql('postgres', q{SELECT count(*) FROM moves WHERE status = 'done' AND note = 'moved'}),
	'2000', 'every row moved once, with its SET applied');
cmp_ok($secs, '>=', 3.6, "throttled to 500 rows/s: 2000 rows took at least 3.6 s ($secs s)");
cmp_ok($rate, '<=', 550, "the reported rate respects max_rows_per_sec ($rate rows/s)");

############################################################################
# Observability
############################################################################

# connections: client backends by state against max_connections - reserved.
# (they sleep until terminated below: a fixed short sleep could end before
# the check on a loaded machine)
my @idle = map { start_psql_bg($node, 'postgres', "idle$_", "SELECT pg_sleep(600);\n") } 1 .. 2;
$node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM pg_stat_activity WHERE application_name IN ('idle1', 'idle2')
	   AND wait_event = 'PgSleep'});
is( $node->safe_psql('postgres', q{
		SELECT (SELECT connections FROM steward.connections WHERE state = 'active') >= 3,
		       (SELECT sum(connections) FROM steward.connections)
		         = (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
		       (SELECT DISTINCT usable_connections FROM steward.connections)
		         = current_setting('max_connections')::int
		           - current_setting('superuser_reserved_connections')::int,
		       (SELECT bool_and(share = round(connections::numeric / usable_connections, 4))
		          FROM steward.connections)}),
	't|t|t|t', 'connections: per state, all client backends, against max_connections - reserved');
$node->safe_psql('postgres', q{
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ('idle1', 'idle2')});
finish_bg($_) foreach @idle;

is( $node->safe_psql('postgres', q{
		SELECT hit_ratio = round(blks_hit::numeric / (blks_hit + blks_read), 4),
		       hit_ratio > 0 AND hit_ratio <= 1
		  FROM steward.database_hit_ratio WHERE datname = current_database()}),
	't|t', 'database_hit_ratio is blks_hit / (blks_hit + blks_read) of the database');

# waits.share: each row's share of all samples.  A lock wait makes samples.
my $lh = start_psql_bg($node, 'postgres', 'lock_holder', "BEGIN;\nLOCK TABLE lk;\nSELECT pg_sleep(1);\nCOMMIT;\n");
$node->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'lock_holder' AND wait_event = 'PgSleep')");
$node->safe_psql('postgres', 'SELECT count(*) FROM lk');
finish_bg($lh);
is( $node->safe_psql('postgres', q{
		SELECT count(*) > 0, abs(sum(share) - 1) <= 0.001 * count(*),
		       bool_and(abs(share - samples::numeric / (SELECT sum(samples) FROM steward.waits))
		                <= 0.00005)
		  FROM steward.waits}),
	't|t|t', 'waits.share is each row\'s share of all samples; the shares sum to 1');

# Percentiles: one call of a 120 ms statement; its max is exact, every
# percentile is within 1% of it.  Buckets are at most 2% wide (±1%).
$node->safe_psql('postgres', 'SELECT 1 AS single_call FROM pg_sleep(0.12)');
is( $node->safe_psql('postgres', q{
		SELECT calls, max_ms >= 120,
		       bool_and(abs(p - max_ms) <= 0.01 * max_ms)
		  FROM steward.statements,
		       LATERAL unnest(ARRAY[p50_ms, p90_ms, p95_ms, p99_ms, p999_ms]) p
		 WHERE query = 'SELECT $1 AS single_call FROM pg_sleep($2)'
		 GROUP BY calls, max_ms}),
	'1|t|t', 'p50, p90, p95, p99 and p99.9 of a single call are within 1% of its exact duration');
is( $node->safe_psql('postgres', q{
		SELECT count(*) > 0, bool_and(upper_ms <= lower_ms * 1.0201)
		  FROM steward.latency_histogram(NULL) WHERE lower_ms >= 1 AND upper_ms < 'Infinity'}),
	't|t', 'histogram buckets above 1 ms are at most 2% wide (≤ 1% error at the middle)');
is( $node->safe_psql('postgres', q{
		SELECT (SELECT sum(count) FROM steward.latency_histogram(NULL))
		     = (SELECT sum(calls) FROM steward.statements
		         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()))}),
	't', 'latency_histogram(NULL) counts every call of every statement of the database');

# Statements are kept per database.
$node->safe_psql('postgres', "SELECT 'per-db marker' FROM pg_class LIMIT 1") foreach 1 .. 3;
$node->safe_psql('other', "SELECT 'per-db marker' FROM pg_class LIMIT 1") foreach 1 .. 2;
is( $node->safe_psql('postgres', q{
		SELECT string_agg(d.datname || ':' || s.calls, ',' ORDER BY d.datname)
		  FROM steward.statements s JOIN pg_database d ON d.oid = s.dbid
		 WHERE s.query = 'SELECT $1 FROM pg_class LIMIT $2'}),
	'other:2,postgres:3', 'the same statement in two databases is counted per database');

# Hot-row keys: shown to roles that may read them (the table's owner, not a
# superuser; a role with SELECT), hidden from others, pg_read_all_stats
# included (review9 F3).
$node->safe_psql('postgres', q{
	SET ROLE app_owner;
	CREATE TABLE hot_owned (id int PRIMARY KEY, n int NOT NULL) USING steward;
	INSERT INTO hot_owned SELECT g, 0 FROM generate_series(1, 5) g;
	UPDATE hot_owned SET n = n + 1 WHERE id = 3;
	UPDATE hot_owned SET n = n + 1 WHERE id = 3;
	RESET ROLE;
});
is( $node->safe_psql('postgres',
		"SELECT key_text, updates FROM steward.hot_rows WHERE relid = 'hot_owned'::regclass",
		extra_params => [ '-U', 'app_owner' ]),
	'3|2', 'the non-superuser owner sees its hot row key and count');
is( $node->safe_psql('postgres',
		"SELECT count(*), count(key_text) FROM steward.hot_rows WHERE relid = 'hot_owned'::regclass",
		extra_params => [ '-U', 'plain_user' ]),
	'1|0', 'another role sees the hot row but not its key');
is( $node->safe_psql('postgres',
		"SELECT count(*), count(key_text) FROM steward.hot_rows WHERE relid = 'hot_owned'::regclass",
		extra_params => [ '-U', 'stats_reader' ]),
	'1|0', 'pg_read_all_stats sees the hot row but not its key');
$node->safe_psql('postgres', 'GRANT SELECT ON hot_owned TO plain_user');
is( $node->safe_psql('postgres',
		"SELECT count(*), count(key_text) FROM steward.hot_rows WHERE relid = 'hot_owned'::regclass",
		extra_params => [ '-U', 'plain_user' ]),
	'1|1', 'with SELECT on the table the key is shown');

# Health: every check goes to warn and to critical by its thresholds (per
# session); lower_is_worse checks are compared the other way.  The windowed
# checks and the hit ratio judge only with enough evidence: health_min_calls /
# min_updates / min_reads 0.
my $gate = 'SET steward.health_min_calls = 0; SET steward.health_min_updates = 0; SET steward.health_min_reads = 0;';
my %health_gucs = (
	p99_latency_ms        => [ 'steward.health_p99_ms',            0, 1e9 ],
	slow_call_rate        => [ 'steward.health_slow_rate',         0, 1 ],
	lock_waiters          => [ 'steward.health_lock_waiters',      0, 1e6 ],
	connection_saturation => [ 'steward.health_connections',       0, 1 ],
	buffer_hit_ratio      => [ 'steward.health_buffer_hit',        1, 1 ],
	version_conflict_rate => [ 'steward.health_conflict_rate',     0, 1 ],
	capacity_runway_days  => [ 'steward.health_runway_days',       1, 1e6 ],
	replication_lag_s     => [ 'steward.health_replication_lag',   0, 1e9 ],
);
# Values for the checks that need some: a slow call, a version conflict, a
# capacity sample.
$node->safe_psql('postgres', q{
	SET steward.slow_query_threshold = 1; SELECT pg_sleep(0.01);
	CREATE TABLE acct (id int PRIMARY KEY, version bigint) USING steward;
	SELECT steward.track_versions('acct', 'version');
	INSERT INTO acct VALUES (1, NULL);
	UPDATE acct SET id = 1;});
$node->psql('postgres', 'UPDATE acct SET version = 1 WHERE id = 1');    # stale: 40001
$node->safe_psql('postgres', 'SELECT steward.capacity_sample()');
# steward.capacity_window: a sample older than the window is dropped when the
# next sample is taken, a younger one is kept.
is( $node->safe_psql('postgres', q{
		INSERT INTO steward.capacity_samples (sampled_at, relid, writes, bytes)
		VALUES (now() - interval '2 days', 'acct'::regclass, 0, 8192),
		       (now() - interval '1 hour', 'acct'::regclass, 0, 8192);
		SET steward.capacity_window = '1d';
		SELECT steward.capacity_sample();
		SELECT count(*) FILTER (WHERE sampled_at < now() - interval '1 day'),
		       count(*) FILTER (WHERE sampled_at BETWEEN now() - interval '2 hours'
		                                               AND now() - interval '30 minutes')
		  FROM steward.capacity_samples WHERE relid = 'acct'::regclass;}),
	"\n0|1", 'steward.capacity_window = 1 day: the 2-day-old sample is dropped, the 1-hour-old kept');
my %covered;
sub health_status
{
	my ($sets, $check) = @_;
	return $node->safe_psql('postgres',
		qq{$gate $sets SELECT status FROM steward.health WHERE "check" = '$check'});
}
foreach my $check (sort keys %health_gucs)
{
	my ($guc, $lower_is_worse, $max) = @{ $health_gucs{$check} };
	my $value = $node->safe_psql('postgres',
		qq{$gate SELECT value FROM steward.health WHERE "check" = '$check'});
	$covered{$check} = 1;
	if ($value eq '')
	{
		# A primary without standbys has no replication lag, and one capacity
		# sample gives no growth rate (sql/10_operations.sql drives the
		# runway check once samples measure growth).
		like($check, qr/^(replication_lag_s|capacity_runway_days)$/, "$check has no value here");
		next;
	}
	if ($value > $max || ($lower_is_worse && $value >= $max))
	{
		fail("$check: value $value cannot be judged by thresholds up to $max");
		next;
	}
	my ($warn, $crit) = $lower_is_worse
	  ? ("SET ${guc}_warn = $max; SET ${guc}_critical = 0;", "SET ${guc}_warn = $max; SET ${guc}_critical = $max;")
	  : ("SET ${guc}_warn = 0; SET ${guc}_critical = $max;",  "SET ${guc}_warn = 0; SET ${guc}_critical = 0;");
	is(health_status($warn, $check), 'warn',     "$check ($value) is warn by ${guc}_warn");
	is(health_status($crit, $check), 'critical', "$check ($value) is critical by ${guc}_critical");
}

# The drill checks, from a passed pgBackRest drill that finished 100 s ago,
# took 50 s, restored a backup taken 200 s ago and reached 30 s short of its
# target (backup_age_s measures only backups the server keeps: pgBackRest's).
$node->safe_psql('postgres', q{
	INSERT INTO steward.restore_drills (started_at, finished_at, duration_s, tables, result,
	                                    backup_source, backup_time, target_time, recovered_to)
	VALUES (now() - interval '150 s', now() - interval '100 s', 50, 1, 'passed', 'pgbackrest:main',
	        now() - interval '200 s', now() - interval '100 s', now() - interval '130 s')});
foreach my $case (
	[ 'steward.drill_max_age',  1000, 'restore_drill_age_s',      'ok' ],
	[ 'steward.drill_max_age',  120,  'restore_drill_age_s',      'warn' ],
	[ 'steward.drill_max_age',  90,   'restore_drill_age_s',      'critical' ],
	[ 'steward.rto',            100,  'restore_drill_duration_s', 'ok' ],
	[ 'steward.rto',            '1min', 'restore_drill_duration_s', 'warn' ],
	[ 'steward.rto',            40,   'restore_drill_duration_s', 'critical' ],
	[ 'steward.backup_max_age', 1000, 'backup_age_s',             'ok' ],
	[ 'steward.backup_max_age', '4min', 'backup_age_s',           'warn' ],
	[ 'steward.backup_max_age', 150,  'backup_age_s',             'critical' ],
	[ 'steward.rpo',            100,  'recovery_point_s',         'ok' ],
	[ 'steward.rpo',            35,   'recovery_point_s',         'warn' ],
	[ 'steward.rpo',            '20s', 'recovery_point_s',        'critical' ])
{
	my ($guc, $v, $check, $status) = @$case;
	$covered{$check} = 1;
	is(health_status("SET $guc = '$v';", $check), $status, "$check is $status with $guc = $v");
}
# Standbys expected but none streaming: critical (one of two missing would
# warn; this server has no standby to stream).
$covered{standbys_streaming} = 1;
is(health_status('SET steward.expected_standbys = 0;', 'standbys_streaming'), 'unknown',
	'standbys_streaming is unknown (not ok: nothing measured) when no standby is expected');
is(health_status('SET steward.expected_standbys = 2;', 'standbys_streaming'), 'critical',
	'standbys_streaming is critical when 2 are expected and none streams');
# The last drill failed: critical.
$node->safe_psql('postgres', q{
	INSERT INTO steward.restore_drills (started_at, finished_at, duration_s, tables, result)
	VALUES (now() - interval '20 s', now() - interval '10 s', 10, 1, 'failed')});
$covered{restore_drill_failed} = 1;
is(health_status('', 'restore_drill_failed'), 'critical', 'restore_drill_failed is critical after a failed drill');
# statistics_collected is critical only without shared_preload_libraries
# (test/t/010_observability.pl runs a server without it).
$covered{statistics_collected} = 1;
is(health_status('', 'statistics_collected'), 'ok', 'statistics_collected is ok with the library preloaded');
# Checks driven to warn / critical by another test (a new check must be
# driven above or named here with its test).
my %driven_elsewhere = (failed_migrations => 'sql/16_migrations.sql');
is( join(',', grep { !$covered{$_} && !$driven_elsewhere{$_} } split /\n/,
		$node->safe_psql('postgres', 'SELECT "check" FROM steward.health ORDER BY 1')),
	'', 'every check of steward.health is driven above or by the test named in %driven_elsewhere');

# Logical replication: the apply worker writes as session_replication_role
# = replica, so a subscriber's steward table stores versions, states and
# sequence values exactly as the publisher sent them.
my $sub = PostgreSQL::Test::Cluster->new('claims_sub');
$sub->init;
$sub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$sub->start;
my $ledger_ddl = q{
	CREATE TABLE ledger (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created',
	                     seq int NOT NULL DEFAULT 0, version bigint) USING steward;
	SELECT steward.track_versions('ledger', 'version');
	SELECT steward.track_sequence('ledger', 'seq');
	SELECT steward.create_state_machine('ledger_m', ARRAY['created', 'paid', 'shipped'],
	       ARRAY['created'], ARRAY['created->paid', 'paid->shipped']);
	SELECT steward.attach_state_machine('ledger', 'status', 'ledger_m');};
$node->safe_psql('postgres', $ledger_ddl . q{
	INSERT INTO ledger (id) SELECT g FROM generate_series(1, 50) g;
	UPDATE ledger SET status = 'paid', seq = 3 WHERE id <= 30;
	CREATE PUBLICATION ledger_pub FOR TABLE ledger;});
$sub->safe_psql('postgres', 'CREATE EXTENSION pg_steward;' . $ledger_ddl);
$sub->safe_psql('postgres',
	sprintf("CREATE SUBSCRIPTION ledger_sub CONNECTION 'host=%s port=%d dbname=postgres' "
		  . 'PUBLICATION ledger_pub', $node->host, $node->port));
$sub->wait_for_subscription_sync($node, 'ledger_sub');
$node->safe_psql('postgres', q{
	UPDATE ledger SET status = 'shipped', seq = 5 WHERE id <= 10;
	UPDATE ledger SET seq = 9 WHERE id = 1;
	INSERT INTO ledger (id, version) VALUES (51, 7);
	DELETE FROM ledger WHERE id = 50;});
$node->wait_for_catchup('ledger_sub');
my $ledger_rows = 'SELECT id, status, seq, version FROM ledger ORDER BY id';
my $pub_rows = $node->safe_psql('postgres', $ledger_rows);
like($pub_rows, qr/^1\|shipped\|9\|4$/m, 'publisher: row 1 went through three updates (version 4)');
is($sub->safe_psql('postgres', $ledger_rows), $pub_rows,
	'the subscriber holds exactly the publisher\'s rows: versions, states and sequences as sent');
$sub->stop;

$node->stop;

############################################################################
# Part 2: the memory-sizing settings at small values
############################################################################

my $small = PostgreSQL::Test::Cluster->new('claims_small');
$small->init;
$small->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
steward.max_tables = 16
steward.max_statements = 100
steward.max_wait_entries = 100
steward.hot_rows_k = 2
});
$small->start;
$small->safe_psql('postgres', 'CREATE EXTENSION pg_steward');
is( $small->safe_psql('postgres', q{
		SELECT string_agg(current_setting(n), ',') FROM unnest(ARRAY['steward.max_tables',
		  'steward.max_statements', 'steward.max_wait_entries', 'steward.hot_rows_k']) n}),
	'16,100,100,2', 'the small settings are in force');

# max_tables: 20 tables with a version conflict each; 16 are counted.
$small->safe_psql('postgres', join('', map {
	"CREATE TABLE c$_ (id int PRIMARY KEY, version bigint) USING steward;
	 SELECT steward.track_versions('c$_', 'version');
	 INSERT INTO c$_ VALUES (1, NULL); UPDATE c$_ SET id = 1;\n" } 1 .. 20));
$small->psql('postgres', "UPDATE c$_ SET version = 1 WHERE id = 1") foreach 1 .. 20;
is( $small->safe_psql('postgres', q{
		SELECT count(*), sum(version_conflicts) FROM steward.table_counters() WHERE relid IS NOT NULL}),
	'16|16', 'steward.max_tables = 16: the counters hold 16 tables');
# The other 4 tables' conflicts are kept in the database's row of other
# tables (relid NULL, for pg_read_all_stats) and in its sums, and counted
# as dropped (review13 R13-16: one role owning max_tables tables took
# every entry, and every other tenant's events were lost).
is( $small->safe_psql('postgres', q{
		SELECT count(*), sum(version_conflicts) FROM steward.table_counters() WHERE relid IS NULL}),
	'1|4', '... the 4 others in the row of other tables');
is( $small->safe_psql('postgres', q{
		SELECT version_conflicts FROM steward._history(1e9) WHERE is_now}),
	'20', '... and in the database\'s sums (history, health\'s version-conflict rate): all 20');
is( $small->safe_psql('postgres', q{
		SELECT dropped FROM steward.collector WHERE structure = 'table_counters'}),
	'4', '... counted as dropped in steward.collector');
$small->safe_psql('postgres', 'CREATE ROLE tc_reader; GRANT SELECT ON c1, c20 TO tc_reader');
is( $small->safe_psql('postgres', q{
		SET ROLE tc_reader; SELECT string_agg(coalesce(relid::text, 'other'), ',') FROM steward.table_counters()}),
	'c1', '... which a role without pg_read_all_stats does not see');

# max_statements: 150 distinct statements; at most 100 are kept.
$small->safe_psql('postgres',
	join('', map { "SELECT $_ AS c$_;\n" } 1 .. 150));
my $nstmts = $small->safe_psql('postgres', 'SELECT count(*) FROM steward.statements');
cmp_ok($nstmts, '<=', 100, "steward.max_statements = 100: $nstmts statements kept");
cmp_ok($nstmts, '>=', 50, '... and the table is in use');

# A statement of two users (300 calls and 1) outlives 150 other statements
# whole: eviction takes a statement with all its entries, so what the
# example exporter sums per statement (steward_top_statement_*) never
# loses one user's part (it went 301 -> 300: a counter reset).
$small->safe_psql('postgres', q{
	CREATE ROLE ev_app2; GRANT pg_read_all_stats TO ev_app2;
	SET ROLE ev_app2; SELECT count(*) FROM pg_class WHERE relpages >= 5; RESET ROLE;}
	  . "\n" . join('', map { "SELECT count(*) FROM pg_class WHERE relpages >= 5;\n" } 1 .. 300));
my $ev_sql = q{SELECT sum(calls), count(*) FROM steward.statements
	WHERE query = 'SELECT count(*) FROM pg_class WHERE relpages >= $1'};
is($small->safe_psql('postgres', $ev_sql), '301|2', 'the statement of two users: 301 calls');
$small->safe_psql('postgres',
	join('', map { 'SELECT 1' . (' + 1' x $_) . ";\n" } 1 .. 150));
is($small->safe_psql('postgres', $ev_sql), '301|2',
	'... still 301 in two entries after 150 other statements were evicted');

# hot_rows_k = 2: five keys with 5, 4, 3, 2, 1 updates; the two hottest kept.
$small->safe_psql('postgres', q{
	CREATE TABLE h (id int PRIMARY KEY, n int NOT NULL) USING steward;
	INSERT INTO h SELECT g, 0 FROM generate_series(1, 5) g;
	UPDATE h SET n = n + 1 WHERE id <= 5; UPDATE h SET n = n + 1 WHERE id <= 4;
	UPDATE h SET n = n + 1 WHERE id <= 3; UPDATE h SET n = n + 1 WHERE id <= 2;
	UPDATE h SET n = n + 1 WHERE id <= 1;});
is( $small->safe_psql('postgres', q{
		SELECT string_agg(key_text, ',' ORDER BY key_text)
		  FROM steward.hot_rows WHERE relid = 'h'::regclass}),
	'1,2', 'steward.hot_rows_k = 2: the two most-updated rows are kept');

# hot_rows_sample = 10: one update in ten is tracked.
$small->safe_psql('postgres', q{
	SELECT steward.reset();
	SET steward.hot_rows_sample = 10;
	CREATE TABLE hs (id int PRIMARY KEY, n int NOT NULL) USING steward;
	INSERT INTO hs VALUES (1, 0);
	SELECT count(*) FROM (SELECT 1 FROM generate_series(1, 100)) g;} . "\n"
	  . join('', map { "UPDATE hs SET n = n + 1 WHERE id = 1;\n" } 1 .. 100));
is( $small->safe_psql('postgres', "SELECT updates FROM steward.hot_rows WHERE relid = 'hs'::regclass"),
	'10', 'steward.hot_rows_sample = 10: 100 updates of a row count 10');

# track_statements = off: nothing new is recorded.
$small->safe_psql('postgres',
	"SET steward.track_statements = off; SELECT 'untracked marker' FROM pg_class LIMIT 1;");
$small->safe_psql('postgres', "SELECT 'tracked marker', 1 FROM pg_class LIMIT 1;");
is( $small->safe_psql('postgres', q{
		SELECT count(*) FILTER (WHERE query = 'SELECT $1 FROM pg_class LIMIT $2'),
		       count(*) FILTER (WHERE query = 'SELECT $1, $2 FROM pg_class LIMIT $3')
		  FROM steward.statements}),
	'0|1', 'steward.track_statements = off records nothing; on (default) records');

# max_wait_entries = 100: 130 different statements each wait for a row
# lock (100 ms, then lock_timeout: about ten 10-ms samples each, so a
# sampler slowed by a loaded machine still sees most of them); lock
# contention keeps at most 100 of them.
$small->safe_psql('postgres', 'SELECT steward.reset(); CREATE TABLE mw (id int PRIMARY KEY, v int); INSERT INTO mw VALUES (1, 0)');
my $mw = start_psql_bg($small, 'postgres', 'mw_holder',
	"BEGIN;\nSELECT v FROM mw WHERE id = 1 FOR UPDATE;\nSELECT pg_sleep(60);\n");
$small->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'mw_holder' AND wait_event = 'PgSleep')");
# Statement n has n constant quals: 130 different query ids.
my $waiters = "SET lock_timeout = '100ms';\n"
  . join('', map { 'UPDATE mw SET v = v + 1 WHERE id = 1' . (' AND 1 = 1' x $_) . ";\n" } 1 .. 130);
# Meanwhile the example exporter's steward_lock_wait_seconds_total (its
# query: the seconds per relation and lock type) is read every few ms: a
# counter, it never goes down, though entries are evicted from the full
# table (their seconds go to the relation's evicted-entries row) -- not
# even by a float8 rounding: Prometheus has no tolerance (review13 R13-2:
# a float8 sum over the rows, whose set and order each eviction changes,
# went down by an ulp, 22 times in 2,500 reads).
my ($mw_out, $mw_err) = ('', '');
my $mw_file = "$logdir/mw_waiters.sql";
append_to_file($mw_file, $waiters);
my $mw_run = IPC::Run::start(
	[ 'psql', '-X', '-At', '-d', $small->connstr('postgres') . ' application_name=mw_waiters',
	  '-f', $mw_file ],
	'<', \undef, '>', \$mw_out, '2>', \$mw_err);
$small->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'mw_waiters')");
my $lw_query = exporter_query(monitoring_file('postgres_exporter.yml'), 'steward_lock_wait');
my $lw_mw = "SELECT seconds_total FROM ($lw_query) q WHERE relation = 'public.mw' AND locktype = 'transactionid'";
my $exported = qq{SELECT coalesce(($lw_mw), 0),
	EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'mw_waiters')};
my $mw_poll = $small->background_psql('postgres');
my ($mw_prev, $mw_reads, $mw_busy, @mw_drops) = (0, 0, 't');
while ($mw_busy eq 't')
{
	$mw_run->pump_nb;
	(my $v, $mw_busy) = split /\|/, $mw_poll->query_safe($exported);
	push @mw_drops, "$mw_prev -> $v" if $v < $mw_prev;
	$mw_prev = $v;
	$mw_reads++;
	usleep(5_000);
}
$mw_run->finish;
$mw_poll->quit;
my $timeouts = () = $mw_err =~ /canceling statement due to lock timeout/g;
is($timeouts, 130, 'all 130 statements waited for the row lock until lock_timeout');
note "exported lock-wait seconds read $mw_reads times, last $mw_prev";
is(join(', ', @mw_drops), '',
	'the exported lock-wait seconds of mw never decrease while entries are evicted');
# Exactly its samples times 10 ms (every sample was taken at 10 ms): the
# float8 sum of 100 rows was off by some ulps, up or down.
is($small->safe_psql('postgres', qq{
	SELECT ($lw_mw) = (SELECT sum(samples) * 0.01 FROM steward.lock_contention
	                    WHERE relation = 'mw'::regclass AND locktype = 'transactionid')}),
	't', '... and are exactly its samples times 10 ms');
$small->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'mw_holder'");
finish_bg($mw);
my ($lc_rows, $lc_distinct) = split /\|/, $small->safe_psql('postgres',
	"SELECT count(*), count(DISTINCT waiting_queryid) FROM steward.lock_contention");
note "lock_contention: $lc_rows rows, $lc_distinct waiting statements";
cmp_ok($lc_rows, '<=', 100, "steward.max_wait_entries = 100: lock_contention holds at most 100 entries ($lc_rows)");
cmp_ok($lc_distinct, '>=', 50, '... and is in use by the waiting statements');
my ($ev_rows, $ev_mode, $ev_pid, $ev_samples, $all_samples) = split /\|/, $small->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE waiting_queryid IS NULL AND lock_mode IS NULL),
	       count(*) FILTER (WHERE lock_mode IS NULL), count(*) FILTER (WHERE waiting_pid IS NULL),
	       sum(samples) FILTER (WHERE lock_mode IS NULL), sum(samples)
	  FROM steward.lock_contention WHERE relation = 'mw'::regclass});
is("$ev_rows|$ev_mode|$ev_pid", '1|1|1',
	'one row of mw (no mode, statement or pid) keeps the samples of its evicted entries');
cmp_ok($ev_samples, '>', 0, "... $ev_samples of its $all_samples samples");
cmp_ok($small->safe_psql('postgres',
		"SELECT evictions FROM steward.collector WHERE structure = 'lock_contention'"),
	'>', 0, '... evicted from the full table');

# sample_interval = 1s (reload): a lock wait of a few seconds gets about
# one sample a second (at 10 ms it would get hundreds).
$small->append_conf('postgresql.conf', "steward.sample_interval = '1s'");
$small->reload;
$small->poll_query_until('postgres', "SELECT current_setting('steward.sample_interval') = '1s'");
usleep(1_100_000);    # the sampler picks the new period up after its current sleep
$small->safe_psql('postgres', 'SELECT steward.reset(); CREATE TABLE lw (id int)');
# The holder keeps the lock until the waiter has waited 2.5 s (measured
# from when it is seen waiting) and is then terminated; the wait lasts
# from the waiter's start to the termination.
my $lw = start_psql_bg($small, 'postgres', 'lw_holder', "BEGIN;\nLOCK TABLE lw;\nSELECT pg_sleep(600);\n");
$small->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'lw_holder' AND wait_event = 'PgSleep')");
my $lw_t0 = time;
my $lw_waiter = start_psql_bg($small, 'postgres', 'lw_waiter', "SELECT count(*) FROM lw;\n");
$small->poll_query_until('postgres',
	"SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'lw_waiter' AND wait_event_type = 'Lock')")
  or die 'the waiter does not wait for the lock';
usleep(2_500_000);
$small->safe_psql('postgres',
	"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lw_holder'");
my $lw_secs = time - $lw_t0;
finish_bg($lw);
finish_bg($lw_waiter);
my $lw_samples = $small->safe_psql('postgres',
	"SELECT coalesce(sum(samples), 0) FROM steward.waits WHERE event_type = 'Lock'");
cmp_ok($lw_samples, '>=', 1, "steward.sample_interval = 1s: the lock wait was sampled ($lw_samples)");
cmp_ok($lw_samples, '<=', int($lw_secs) + 2,
	sprintf('... about once a second over the %.1f s wait (at 10 ms it would be hundreds)', $lw_secs));

$small->stop;
done_testing();
