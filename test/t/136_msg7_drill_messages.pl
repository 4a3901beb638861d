# steward-drill's messages (closing45 Noticed 4, newcomer45; msg7 item 5).
# A server that could not be reached, a database that does not exist and
# a database without pg_steward all ended with "cannot record the drill in
# database postgres (is pg_steward installed there?)", a guess, after
# psql's own error; and a table of one row was "verified (1 rows)".  Now
# a connection failure says so with libpq's message and exits 1, a
# database without the extension is named as such with the next step, and
# a count of one is "1 row" (and "1 table").

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $osuser = getpwuid($>);
my $node   = PostgreSQL::Test::Cluster->new('r136');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE one (id int PRIMARY KEY) USING steward;
	INSERT INTO one VALUES (1);
	CREATE DATABASE bare;
});
$node->safe_psql('postgres', 'CHECKPOINT');

# steward-drill ARGS... -> (exit status, stdout, stderr)
sub drill
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'steward-drill', '-U', $osuser, @_ ],
		'<', \undef, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	my $rc = $? >> 8;
	note "steward-drill @_: exit $rc\nstdout:\n$out\nstderr:\n$err";
	return ($rc, $out, $err);
}

# A port nobody listens on: the node's, once it is stopped.
my $down = PostgreSQL::Test::Cluster->new('r136_down');
$down->init;
my ($rc, $out, $err) = drill('-h', $down->host, '-p', $down->port, '-d', 'postgres');
is($rc, 1, 'no server: exit 1');
like($err,
	qr/^steward-drill: cannot connect to database postgres on port \d+ of \S+: connection to server on socket "[^"]+" failed: /,
	'no server: the connection failed, with libpq\'s message');
unlike($err, qr/installed there|psql: |rows\)/, 'no server: no guess, no psql prefix, no psql footer');

($rc, $out, $err) = drill('-h', $node->host, '-p', $node->port, '-d', 'nosuch');
is($rc, 1, 'no such database: exit 1');
like($err,
	qr/^steward-drill: cannot connect to database nosuch on port \d+ of \S+: connection to server .* failed: FATAL:  database "nosuch" does not exist$/m,
	'no such database: libpq\'s message');
unlike($err, qr/installed there/, 'no such database: no guess');

($rc, $out, $err) = drill('-h', $node->host, '-p', $node->port, '-d', 'bare');
is($rc, 1, 'a database without pg_steward: exit 1');
is($err,
	"steward-drill: extension pg_steward is not installed in database bare: the drill records itself there; run CREATE EXTENSION pg_steward in it, or name a database that has it with -d\n",
	'a database without pg_steward: named as such, with the next step, nothing else');

# A drill of one table of one row.
($rc, $out, $err) = drill('-h', $node->host, '-p', $node->port, '-d', 'postgres');
is($rc, 0, 'the drill of one row passes');
like($out, qr/^ok: postgres\.one verified \(1 row\)$/m, '"1 row", not "1 rows"');
# The user's one table counted, pg_steward's own (steward.idempotency_keys
# and migration_runs) apart: the line said "(3 tables)" (closing46
# Noticed 6).
like($out, qr/^drill \d+ passed in [0-9.]+s \(1 table, and 2 of pg_steward's own\)$/m,
	'the user\'s tables counted in the last line, pg_steward\'s own apart');
unlike($out . $err, qr/\(1 rows\)|\(1 tables\)/, 'no "1 rows" anywhere');

$node->stop;
done_testing();
