# Read-your-writes tokens across an asynchronous failover (issue 20,
# section 2).
#
# A primary streams to an asynchronous standby.  The standby replays a
# first write (token 1) and is then cut off; the primary commits a second
# write (token 2) that the standby never receives, and crashes.  The standby
# is started alone -- still in recovery, it could yet receive the write, so
# a wait_for_token(token 2) waits -- and is then promoted: the waiting call
# must end with an error saying this server does not have the write (before
# issue 20 it returned as if caught up), and on the new primary
# replica_caught_up(token 2) is false and wait_for_token(token 2) fails at
# once, even after the new timeline's WAL has passed token 2's LSN (which
# is what an LSN-only token could not tell apart).  Token 1, from before
# the switch point, is caught up.  A 0.1 database (pg_lsn tokens, no
# timeline) on the promoted server gets 55000 with the HINT to update for
# the lost position, not "caught up".

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time);

my $logdir = PostgreSQL::Test::Utils::tempdir;

sub lsn_of
{
	my ($token) = @_;
	$token =~ s{^\d+/}{};
	return $token;
}

my $primary = PostgreSQL::Test::Cluster->new('tok_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE notes (id int PRIMARY KEY, body text, version bigint) USING steward;
	SELECT steward.track_versions('notes', 'version');
});
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('tok_standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;

my $tok1 = $primary->safe_psql('postgres',
	"INSERT INTO notes (id, body) VALUES (1, 'kept');\nSELECT steward.write_token();");
like($tok1, qr{^1/[0-9A-F]+/[0-9A-F]+$}, "token of the replicated write: $tok1");
$primary->wait_for_catchup($standby, 'replay');
is($standby->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok1')"),
	't', 'the standby has the first write');

# Cut the standby off, then write what it will never see.
$standby->stop;
my $tok2 = $primary->safe_psql('postgres',
	"INSERT INTO notes (id, body) VALUES (2, 'lost');\nSELECT steward.write_token();");
like($tok2, qr{^1/[0-9A-F]+/[0-9A-F]+$}, "token of the write the standby misses: $tok2");
is($primary->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok2')"),
	't', 'the old primary has it');
$primary->stop('immediate');

# The standby alone, still in recovery: the write may yet arrive, so a
# wait waits (and must hold no snapshot).
$standby->start;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby in recovery');
is($standby->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok2')"),
	'f', 'in recovery: the second write is not there yet');
my $bg_err = "$logdir/wait.err";
my $bg     = IPC::Run::start(
	[
		'psql', '-X', '-q', '-At', '-v', 'VERBOSITY=verbose',
		'-d', $standby->connstr('postgres'),
		'-c', "CALL steward.wait_for_token('$tok2', 60000)"
	],
	'<', \undef, '>', \my $bg_out, '2>', $bg_err,
	IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
ok( $standby->poll_query_until(
		'postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE query LIKE 'CALL steward.wait_for_token%' AND wait_event_type = 'Extension'}),
	'wait_for_token(second token) is waiting on the standby');

# Failover: promote the standby that missed the write.
my $t1 = time;
$standby->promote;
$bg->finish;
my $waited = time - $t1;
isnt($bg->result(0), 0, 'the waiting wait_for_token fails when the standby is promoted');
like(
	slurp_file($bg_err),
	qr/ERROR:  55000: this server does not have the write of token "\Q$tok2\E".*DETAIL:  This server left timeline 1 at [0-9A-F]+\/[0-9A-F]+ for timeline 2, before the token's position/s,
	'... with 55000 naming the token and the timeline switch');
cmp_ok($waited, '<', 30, sprintf('... soon after the promotion (%.1f s), not at the timeout', $waited));

my $new = $standby;
is($new->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 'f', 'promoted');
is($new->safe_psql('postgres', 'SELECT string_agg(body, \',\' ORDER BY id) FROM notes'),
	'kept', 'the promoted server has the first write only');
is($new->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok1')"),
	't', 'token 1 (before the switch point) is caught up');
is($new->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok2')"),
	'f', 'token 2 (the lost write) is not');
my ($ret, $stdout, $stderr) = (undef, '', '');
$ret = $new->psql(
	'postgres',
	"\\set VERBOSITY verbose\nCALL steward.wait_for_token('$tok2', 5000);",
	stdout => \$stdout,
	stderr => \$stderr);
isnt($ret, 0, 'wait_for_token(token 2) fails on the promoted server');
like($stderr, qr/ERROR:  55000: this server does not have the write of token/,
	'... saying so');
$ret = $new->psql('postgres', "CALL steward.wait_for_token('$tok1', 5000);");
is($ret, 0, 'wait_for_token(token 1) returns');

# The new timeline's WAL passes token 2's LSN: an LSN alone would now look
# "caught up"; the token still is not.
my $lsn2 = lsn_of($tok2);
$new->safe_psql('postgres',
	"INSERT INTO notes (id, body) SELECT g, repeat('x', 200) FROM generate_series(10, 2000) g");
is($new->safe_psql('postgres', "SELECT pg_current_wal_insert_lsn() > '$lsn2'::pg_lsn"),
	't', "the new timeline has passed LSN $lsn2");
is($new->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok2')"),
	'f', 'token 2 is still not caught up');
my $tok3 = $new->safe_psql('postgres',
	"UPDATE notes SET body = 'new' WHERE id = 1;\nSELECT steward.write_token();");
like($tok3, qr{^2/[0-9A-F]+/[0-9A-F]+$}, "tokens on the new primary carry timeline 2: $tok3");
is($new->safe_psql('postgres', "SELECT steward.replica_caught_up('$tok3')"), 't',
	'the new primary has its own write');

# A bare LSN (a 0.1 token) past the switch point cannot be judged.
is($new->safe_psql('postgres', "SELECT steward.replica_caught_up('$lsn2')"),
	'f', 'a bare LSN after the switch point is not reported as caught up');
$ret = $new->psql(
	'postgres',
	"\\set VERBOSITY verbose\nCALL steward.wait_for_token('$lsn2', 100);",
	stdout => \$stdout,
	stderr => \$stderr);
like($stderr, qr/ERROR:  55000: cannot tell whether this server has the write of token "\Q$lsn2\E"/,
	'wait_for_token(bare LSN) says it cannot tell');

# The library serving a database still at 0.1 (pg_lsn signatures).
$new->safe_psql('postgres', q{
	CREATE DATABASE old;
});
$new->safe_psql('old', "CREATE EXTENSION pg_steward VERSION '0.1'");
is($new->safe_psql('old', "SELECT pg_typeof(steward.write_token())"),
	'pg_lsn', '0.1 database: write_token still returns pg_lsn');
is($new->safe_psql('old', "SELECT steward.replica_caught_up('$lsn2'::pg_lsn)"),
	'f', '0.1 database: the lost LSN is not caught up');
is($new->safe_psql('old', "SELECT steward.replica_caught_up('" . lsn_of($tok1) . "'::pg_lsn)"),
	't', '0.1 database: an LSN before the switch point is');
$ret = $new->psql(
	'old',
	"\\set VERBOSITY verbose\nCALL steward.wait_for_token('$lsn2'::pg_lsn, 100);",
	stdout => \$stdout,
	stderr => \$stderr);
like($stderr, qr/ERROR:  55000: .*HINT:  .*ALTER EXTENSION pg_steward UPDATE/s,
	'0.1 database: wait_for_token gives 55000 and the HINT to update');
$new->safe_psql('old', 'ALTER EXTENSION pg_steward UPDATE');
is($new->safe_psql('old', "SELECT steward.replica_caught_up('$tok2')"),
	'f', 'after ALTER EXTENSION UPDATE: the text token of the lost write is not caught up');

$new->stop;
done_testing();
