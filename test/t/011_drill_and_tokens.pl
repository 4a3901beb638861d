# Restore drills (steward-drill) and read-your-writes tokens.
#
# Part 1: a drill under load.  A primary with pg_steward in "postgres" and in
#   "shop" (steward tables with tracked versions, a state machine, a
#   steward_hash EXCLUDE constraint and a foreign key).  pgbench updates
#   shop.counters while steward-drill backs the server up, restores the
#   backup into a throwaway instance and verifies it.  The drill must pass
#   and be recorded in steward.restore_drills (duration, recovery point,
#   every steward table verified); the table pgbench writes to is skipped
#   for the checksum-range comparison while the idle tables match the
#   source; steward.health shows the drill as ok.
# Part 2: a drill whose backup is damaged by --before-restore (the data file
#   of shop.customers, an idle table, is truncated in the backup).  The drill
#   must fail (non-zero exit), record result 'failed' with details naming
#   the table, and steward.health must show restore_drill_failed 'critical'.
# Part 2b: damage in shop.ledger, a table pgbench writes during the drill:
#   its checksum ranges are skipped, and verify() of the copy must fail it.
# Part 3: tokens on a streaming standby with replay paused: wait_for_token
#   times out (57014) on a token the standby has received but not replayed,
#   replica_caught_up says f without blocking; a wait_for_token waiting
#   for replay holds no snapshot (backend_xmin IS NULL); after replay is
#   resumed the waiting CALL returns and its session sees the row.
#   wait_for_token refuses to run inside a transaction block.
# Part 4: steward-drill pointed at that standby exits non-zero at once,
#   saying it is a standby and to drill the primary; nothing is recorded.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest qw(start_pgbench steward_drill);
use IPC::Run;
use Time::HiRes qw(time);

my $t0     = time;

# The LSN part of a "TLI/LSN" token.
sub lsn_of
{
	my ($token) = @_;
	$token =~ s{^\d+/}{};
	return $token;
}
my $logdir = PostgreSQL::Test::Utils::tempdir;

my $node = PostgreSQL::Test::Cluster->new('drill_primary');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE EXTENSION pg_steward; CREATE DATABASE shop;');
$node->safe_psql(
	'shop', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL,
	                        version bigint) USING steward;
	SELECT steward.track_versions('customers', 'version');
	CREATE TABLE orders (id int PRIMARY KEY,
	                     customer_id int NOT NULL REFERENCES customers,
	                     status text NOT NULL DEFAULT 'new',
	                     ref text NOT NULL, version bigint,
	                     CONSTRAINT orders_ref EXCLUDE USING steward_hash (ref WITH =))
	  USING steward;
	SELECT steward.track_versions('orders', 'version');
	SELECT steward.attach_state_machine('orders', 'status', 'data_lifecycle');
	CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0,
	                       version bigint) USING steward;
	SELECT steward.track_versions('counters', 'version');
	INSERT INTO customers (id, name) SELECT g, 'customer ' || g FROM generate_series(1, 500) g;
	INSERT INTO orders (id, customer_id, ref)
	  SELECT g, 1 + g % 500, 'ref-' || g FROM generate_series(1, 2000) g;
	UPDATE orders SET status = 'pending_backfill' WHERE id % 3 = 0;
	INSERT INTO counters (id) SELECT g FROM generate_series(1, 10) g;
	-- Written by pgbench during the drill of part 2b (rows 1..10 only, on
	-- its first page); its other pages are never written after setup.
	CREATE TABLE ledger (id int PRIMARY KEY, ref text NOT NULL, n bigint NOT NULL DEFAULT 0,
	                     CONSTRAINT ledger_ref EXCLUDE USING steward_hash (ref WITH =))
	  USING steward;
	INSERT INTO ledger (id, ref) SELECT g, 'l-' || g FROM generate_series(1, 5000) g;
});

# Steward tables in the databases that have pg_steward.
my $steward_tables_sql = q{
	SELECT count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam
	 WHERE a.amname = 'steward' AND c.relkind = 'r'};
my $ntables = $node->safe_psql('postgres', $steward_tables_sql) +
  $node->safe_psql('shop', $steward_tables_sql);
note "$ntables steward tables";
cmp_ok($ntables, '>=', 5, 'shop and postgres have steward tables');

is( $node->safe_psql('postgres',
		q{SELECT status FROM steward.health WHERE "check" = 'restore_drill_age_s'}),
	'warn',
	'never drilled: restore_drill_age_s is warn');

sub last_drill
{
	my %d;
	@d{qw(n id finished duration_pos recovery_point tables result)} = split /\|/,
	  $node->safe_psql(
		'postgres', q{
		SELECT (SELECT count(*) FROM steward.restore_drills), id,
		       finished_at IS NOT NULL, duration_s > 0, recovery_point, tables, result
		  FROM steward.restore_drills ORDER BY id DESC LIMIT 1});
	# The whole log (every database's lines) is in restore_drill_log, for
	# pg_read_all_stats; details keeps the recording database's only.
	$d{details} = $node->safe_psql('postgres',
		'SELECT l.details FROM steward.restore_drills d
		   JOIN steward.restore_drill_log l ON l.drill_id = d.id
		  ORDER BY d.id DESC LIMIT 1');
	return \%d;
}

sub health
{
	my ($check) = @_;
	return $node->safe_psql('postgres',
		qq{SELECT status FROM steward.health WHERE "check" = '$check'});
}

############################################################################
# Part 1: a drill while pgbench updates shop.counters.
############################################################################

my $script = "$logdir/update_counters.sql";
append_to_file($script,
	"\\set id random(1, 10)\nUPDATE counters SET n = n + 1 WHERE id = :id;\n");
# Long enough to outlast the drill on a loaded machine; stopped below.
my $pgbench = start_pgbench($node, 'counters', db => 'shop', clients => 2, jobs => 2,
	secs => 300, scripts => [$script]);
ok($node->poll_query_until('shop', 'SELECT sum(n) >= 200 FROM counters'),
	'pgbench is updating shop.counters');

my $lsn_before = $node->safe_psql('postgres', 'SELECT pg_current_wal_lsn()');
my ($rc, $out, $err) = steward_drill($node, 'postgres');
my $n_at_drill_end = $node->safe_psql('shop', 'SELECT sum(n) FROM counters');
is($rc, 0, 'drill under load exits 0');
like($out, qr/drill \d+ passed/, 'drill says it passed');
ok( $node->poll_query_until('shop',
		"SELECT sum(n) > $n_at_drill_end FROM counters"),
	'pgbench was still writing after the drill ended (drill ran under load)');

$pgbench->{h}->kill_kill;
# Stopped, not finished: what it printed must show no failed statement.
unlike(slurp_file($pgbench->{err}), qr/ERROR|aborted|FATAL/,
	'pgbench ran without an error');

my $d = last_drill();
is($d->{n},        1,        'one drill recorded');
is($d->{result},   'passed', 'drill recorded as passed');
is($d->{finished}, 't',      'drill has finished_at');
is($d->{duration_pos}, 't', 'drill duration_s > 0');
isnt($d->{recovery_point}, '', 'drill has a recovery point');
is( $node->safe_psql('postgres',
		"SELECT '$d->{recovery_point}'::pg_lsn >= '$lsn_before'::pg_lsn"),
	't',
	'recovery point is past the WAL position before the drill');
is($d->{tables}, $ntables, 'drill checked every steward table');
unlike($d->{details}, qr/FAIL/, 'drill details report no failure');
for my $t ('shop.customers', 'shop.orders', 'shop.counters',
	'shop.steward.idempotency_keys', 'postgres.steward.idempotency_keys')
{
	like($d->{details}, qr/^ok: \Q$t\E verified \(\d+ rows\)$/m, "$t verified");
}
my $nverified = () = $d->{details} =~ /^ok: \S+ verified \(\d+ rows\)$/mg;
is($nverified, $ntables, 'one "verified" line per steward table');
like(
	$d->{details},
	qr/^skipped: shop\.counters checksum ranges \(written on the source since the backup\)$/m,
	'table written by pgbench is skipped for checksum ranges, seen written before any comparison');
unlike($d->{details}, qr/seen late/,
	'no table needed the late re-check (a difference excused after the fact)');
unlike($d->{details}, qr/^ok: shop\.counters checksum ranges/m,
	'table written by pgbench is not compared');
like($d->{details}, qr/^ok: shop\.customers checksum ranges match the source$/m,
	'idle table customers: checksum ranges match');
like($d->{details}, qr/^ok: shop\.orders checksum ranges match the source$/m,
	'idle table orders: checksum ranges match');
is(health('restore_drill_failed'),     'ok', 'health: restore_drill_failed ok');
is(health('restore_drill_age_s'),      'ok', 'health: restore_drill_age_s ok');
is(health('restore_drill_duration_s'), 'ok', 'health: restore_drill_duration_s ok');

############################################################################
# Part 2: a drill of a damaged backup.
############################################################################

my $relpath = $node->safe_psql('shop', "SELECT pg_relation_filepath('customers')");
like($relpath, qr{^base/\d+/\d+$}, "customers is stored in $relpath");
my $damage =
  qq{f="\$1/$relpath"; test -s "\$f" || { echo "no \$f"; exit 1; }; }
  . qq{truncate -s 0 "\$f" && echo "damaged $relpath"};
($rc, $out, $err) = steward_drill($node, 'postgres', '--before-restore', $damage);
isnt($rc, 0, 'drill of a damaged backup exits non-zero');
like($out, qr/drill \d+ failed/, 'drill says it failed');

$d = last_drill();
is($d->{n},        2,        'second drill recorded');
is($d->{result},   'failed', 'damaged drill recorded as failed');
is($d->{finished}, 't',      'failed drill has finished_at');
like($d->{details}, qr/^damaged \Q$relpath\E$/m,
	'the damage was done to the backup');
unlike($d->{details}, qr/--before-restore failed/,
	'the damage command itself did not fail');
like($d->{details}, qr/^FAIL: shop\.customers: /m,
	'details name the damaged table');
like(
	$d->{details},
	qr/^FAIL: shop\.customers: checksum ranges differ from the source$/m,
	'checksum ranges of the damaged table differ from the source');
like($d->{details}, qr/^ok: shop\.counters checksum ranges match the source$/m,
	'the table pgbench wrote to is compared once idle');
is(health('restore_drill_failed'), 'critical',
	'health: restore_drill_failed critical after a failed drill');
is(health('restore_drill_age_s'), 'ok',
	'health: restore_drill_age_s still ok (last passed drill is recent)');

############################################################################
# Part 2b: damage in a table that is being written during the drill.  Its
# checksum ranges cannot be compared (it changes on the source), so the
# drill must catch the damage by verifying the copy.  The backup's ledger
# file is cut to its first page, the only page pgbench writes (WAL replay
# restores that one from full-page images); the other rows are lost, and
# their index entries point at nothing.
############################################################################

my $ledger_path = $node->safe_psql('shop', "SELECT pg_relation_filepath('ledger')");
cmp_ok($node->safe_psql('shop', "SELECT pg_relation_size('ledger') / 8192"), '>', 10,
	'ledger spans more than 10 pages');
my $ledger_script = "$logdir/update_ledger.sql";
append_to_file($ledger_script,
	"\\set id random(1, 10)\nUPDATE ledger SET n = n + 1 WHERE id = :id;\n");
$pgbench = start_pgbench($node, 'ledger', db => 'shop', clients => 2, jobs => 2, secs => 60,
	scripts => [$ledger_script]);
ok($node->poll_query_until('shop', 'SELECT sum(n) >= 200 FROM ledger'),
	'pgbench is updating shop.ledger');
($rc, $out, $err) = steward_drill($node, 'postgres', '--before-restore',
	qq{f="\$1/$ledger_path"; test -s "\$f" || { echo "no \$f"; exit 1; }; }
	  . qq{truncate -s 8192 "\$f" && echo "damaged $ledger_path"});
my $ledger_writes = $node->safe_psql('shop', 'SELECT sum(n) FROM ledger');
ok($node->poll_query_until('shop', "SELECT sum(n) > $ledger_writes FROM ledger"),
	'pgbench was still writing ledger after the drill');
$pgbench->{h}->kill_kill;
isnt($rc, 0, 'drill of a backup damaged in a table written during the drill exits non-zero');
$d = last_drill();
is($d->{result}, 'failed', 'the drill is recorded as failed');
like($d->{details}, qr/^damaged \Q$ledger_path\E$/m, 'the damage was done to the backup');
like($d->{details}, qr/^skipped: shop\.ledger checksum ranges \(written on the source since the backup\)$/m,
	'ledger is written on the source: its checksum ranges are not compared');
like($d->{details}, qr/^FAIL: shop\.ledger: .*index/m,
	'verifying the copy finds the damage (index entries of the lost rows)');
unlike($d->{details}, qr/^FAIL: shop\.(customers|orders|counters)/m,
	'no other table is reported');

############################################################################
# Part 3: read-your-writes tokens on a streaming standby.
############################################################################

$node->safe_psql('postgres',
	'CREATE TABLE tok (id int PRIMARY KEY, v text NOT NULL) USING steward');
$node->backup('tok_backup');
my $standby = PostgreSQL::Test::Cluster->new('drill_standby');
$standby->init_from_backup($node, 'tok_backup', has_streaming => 1);
$standby->start;

is($node->safe_psql('postgres', 'SELECT steward.write_token() IS NULL'),
	't', 'write_token is NULL before any commit of the session');

my $tok1 = $node->safe_psql('postgres',
	"INSERT INTO tok VALUES (1, 'one');\nSELECT steward.write_token();");
like($tok1, qr{^1/[0-9A-F]+/[0-9A-F]+$}, "write_token after a write: $tok1 (timeline/LSN)");
my $lsn1 = lsn_of($tok1);
is( $node->safe_psql('postgres',
		"SELECT '$lsn1'::pg_lsn <= pg_current_wal_insert_lsn() AND '$lsn1'::pg_lsn > '$lsn_before'::pg_lsn"),
	't',
	'token is a WAL position of this run');
$node->wait_for_catchup($standby, 'replay');

$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
my $tok2 = $node->safe_psql('postgres',
	"INSERT INTO tok VALUES (2, 'two');\nSELECT steward.write_token();");
my $lsn2 = lsn_of($tok2);
is($node->safe_psql('postgres', "SELECT '$lsn2'::pg_lsn > '$lsn1'::pg_lsn"),
	't', "second write has a later token: $tok2");
ok( $standby->poll_query_until(
		'postgres',
		"SELECT pg_last_wal_receive_lsn() >= '$lsn2' AND pg_get_wal_replay_pause_state() = 'paused'"
	),
	'standby received the second write and replay is paused');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM tok'),
	1, 'second row not replayed on the standby');

is($standby->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok1')"),
	't', 'replica_caught_up(first token) is t on the paused standby');
is($node->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok2')"),
	't', 'replica_caught_up is t on the primary');
my $t1 = time;
is($standby->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok2')"),
	'f', 'replica_caught_up(second token) is f on the paused standby');
# Blocking would last until replay resumes (never, here); the bound only
# leaves room for a loaded machine.
cmp_ok(time - $t1, '<', 30, 'replica_caught_up did not block');

my ($stdout, $stderr);
$t1 = time;
my $ret = $standby->psql(
	'postgres',
	"CALL steward.wait_for_token('$tok1', 500);\nSELECT 'after first';",
	stdout => \$stdout,
	stderr => \$stderr);
is($ret, 0, 'wait_for_token(first token) succeeds on the paused standby');
is($stdout, 'after first', 'wait_for_token(first token) returned');
cmp_ok(time - $t1, '<', 30, 'wait_for_token(first token) returned at once');

$t1 = time;
$ret = $standby->psql(
	'postgres',
	"\\set VERBOSITY verbose\nCALL steward.wait_for_token('$tok2', 500);",
	stdout => \$stdout,
	stderr => \$stderr);
my $waited = time - $t1;
isnt($ret, 0, 'wait_for_token(second token, 500) fails on the paused standby');
like(
	$stderr,
	qr/ERROR:  57014: timed out waiting for this standby to replay token "\Q$tok2\E"/,
	'timeout error with SQLSTATE 57014 names the token');
# One sentence after another (newcomer48 N15: "After 500 ms: This standby").
like(
	$stderr,
	qr/DETAIL:  This standby has replayed timeline \d+ up to [0-9A-F]+\/[0-9A-F]+\. It waited 500 ms\.\n/,
	'timeout DETAIL says what was replayed, then how long it waited');
cmp_ok($waited, '>=', 0.45, sprintf('it waited for the timeout (%.2f s)', $waited));
cmp_ok($waited, '<', 15, 'and not much longer (a loaded machine starts psql late)');

$ret = $standby->psql(
	'postgres',
	"\\set VERBOSITY verbose\nBEGIN;\nCALL steward.wait_for_token('$tok1', 100);\nCOMMIT;",
	stdout => \$stdout,
	stderr => \$stderr);
like(
	$stderr,
	qr/ERROR:  25000: steward\.wait_for_token must be called with CALL outside a transaction block/,
	'wait_for_token refuses to run inside a transaction block');

# A waiting CALL in the background; it must hold no snapshot while it waits.
my $bg_out = "$logdir/wait.out";
my $bg_err = "$logdir/wait.err";
my $bg     = IPC::Run::start(
	[
		'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
		'-d', $standby->connstr('postgres'),
		# (a timeout far longer than the checks below take on a loaded machine)
		'-c', "CALL steward.wait_for_token('$tok2', 120000)",
		'-c', 'SELECT v FROM tok WHERE id = 2'
	],
	'<', \undef, '>', $bg_out, '2>', $bg_err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
my $waiter_sql = q{
	FROM pg_stat_activity
	WHERE query LIKE 'CALL steward.wait_for_token%' AND state = 'active'
	  AND wait_event_type = 'Extension' AND pid <> pg_backend_pid()};
ok($standby->poll_query_until('postgres', "SELECT count(*) = 1 $waiter_sql"),
	'wait_for_token is waiting on the standby');
is( $standby->safe_psql(
		'postgres',
		"SELECT backend_xmin IS NULL, backend_xid IS NULL $waiter_sql"),
	't|t',
	'the waiting wait_for_token holds no snapshot (backend_xmin IS NULL)');
# Control: a session running a query on the standby does show an xmin.
is( $standby->safe_psql(
		'postgres',
		'SELECT backend_xmin IS NOT NULL FROM pg_stat_activity WHERE pid = pg_backend_pid()'),
	't',
	'control: a session holding a snapshot on the standby shows backend_xmin');
is($standby->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok2')"),
	'f', 'still not caught up while replay is paused');

$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$bg->finish;
is($bg->result(0), 0, 'waiting wait_for_token succeeded after replay resumed');
is(slurp_file($bg_err), '', 'waiting wait_for_token printed no error');
is(slurp_file($bg_out), "two\n",
	'the session that waited for the token sees the second row');
is($standby->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok2')"),
	't', 'replica_caught_up(second token) is t after replay');
is($standby->safe_psql('postgres', 'SELECT string_agg(v, \',\' ORDER BY id) FROM tok'),
	'one,two', 'both rows on the standby');

############################################################################
# Part 4: a drill pointed at the standby is refused before anything,
# naming the next step (newcomer45 N3: it said "cannot record the drill
# in database postgres (is pg_steward installed there?)").
############################################################################
{
	my $drills = $node->safe_psql('postgres', 'SELECT count(*) FROM steward.restore_drills');
	my ($rc, $out, $err) = steward_drill($standby, 'postgres');
	isnt($rc, 0, 'a drill of a hot standby exits non-zero');
	like(
		$err,
		qr/the server on port \d+ is a standby in recovery: .*run it against the primary/,
		'it says the server is a standby and to drill the primary');
	unlike($err, qr/is pg_steward installed/, 'not that pg_steward may be missing');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM steward.restore_drills'),
		$drills, 'no drill recorded');
}

$standby->stop;
$node->stop;
note sprintf('total time %.1f s', time - $t0);
done_testing();
