# pg_steward 0.1's SQL objects with the current library (after "make
# install" and a restart, before ALTER EXTENSION pg_steward UPDATE): the
# commands that would drop the extension with user tables are refused as
# they are under 0.2 (review9 F8).  0.2's guard is the event trigger
# steward_guard_drop, which 0.1's SQL does not have, so the library's
# utility hook runs the same guard where the trigger is missing; before,
# DROP EXTENSION pg_steward CASCADE dropped the steward tables with their rows.
# Also (review9 F7): the update itself names the user objects that call
# 0.1's token functions it replaces, instead of core's CASCADE hint.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('old_sql_drop');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', "CREATE EXTENSION pg_steward VERSION '0.1'");
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'"),
	'0.1', 'the database has 0.1\'s objects');
is($node->safe_psql('old', "SELECT count(*) FROM pg_event_trigger WHERE evtname = 'steward_guard_drop'"),
	'0', '0.1 has no drop guard event trigger');

$node->safe_psql('old', q{
	CREATE TABLE st2 (id int PRIMARY KEY, v bigint) USING steward;
	SELECT steward.track_versions('st2', 'v');
	INSERT INTO st2 (id) SELECT g FROM generate_series(1, 5) g;
	CREATE TABLE keys (k text);
	CREATE INDEX keys_k ON keys USING steward_hash (k);
	INSERT INTO keys VALUES ('a'), ('b');
});

# The error of a statement, verbose: "ERROR:  SQLSTATE: ..." with its HINT.
sub refusal
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('old', "\\set VERBOSITY verbose\n$sql");
	return $err;
}

my $bootstrap = $node->safe_psql('postgres', 'SELECT current_user');
for my $sql ('DROP EXTENSION pg_steward CASCADE', 'DROP EXTENSION pg_steward',
	'DROP SCHEMA steward CASCADE', 'DROP ACCESS METHOD steward CASCADE',
	"DROP OWNED BY $bootstrap CASCADE")
{
	like(refusal($sql),
		qr/ERROR:  2BP01: .*user objects? depends? on it.*DETAIL:  .*index public\.keys_k.*table public\.st2.*HINT:  This database still has pg_steward 0\.1's objects.*ALTER EXTENSION pg_steward UPDATE first, then release/s,
		"$sql on 0.1's objects: 2BP01 naming the tables, asking for the update and a release");
}
is($node->safe_psql('old', 'SELECT (SELECT count(*) FROM st2) || \'|\' || (SELECT count(*) FROM keys)'),
	'5|2', 'the rows are still there');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'"),
	'0.1', 'the extension is still installed');

# Only user objects count: 0.1 without any drops cleanly.
$node->safe_psql('postgres', 'CREATE DATABASE empty01');
$node->safe_psql('empty01', "CREATE EXTENSION pg_steward VERSION '0.1'");
$node->safe_psql('empty01', 'CREATE TABLE plain (id int)');
$node->safe_psql('empty01', 'DROP EXTENSION pg_steward CASCADE');
is($node->safe_psql('empty01', "SELECT count(*) FROM pg_extension WHERE extname = 'pg_steward'"),
	'0', 'a 0.1 database without user objects drops the extension');

# review9 F7: user objects calling 0.1's pg_lsn token functions, which the
# update drops: named up front, with what to do (not core's CASCADE hint).
$node->safe_psql('old', q{
	CREATE TABLE tok (id int, t pg_lsn DEFAULT steward.write_token());
	CREATE VIEW tokv AS SELECT steward.replica_caught_up('0/0'::pg_lsn) AS ok;
});
like(refusal('ALTER EXTENSION pg_steward UPDATE'),
	qr/ERROR:  2BP01: cannot update extension pg_steward: 2 user object\(s\) call 0\.1's read-your-writes token functions.*DETAIL:  .*Used by: default value for column t of table public\.tok, rule _RETURN on view public\.tokv\..*HINT:  Remove those uses first/s,
	'the update names the objects using 0.1 token functions and says what to do');
unlike(refusal('ALTER EXTENSION pg_steward UPDATE'), qr/CASCADE to drop/,
	'no hint towards CASCADE');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'"),
	'0.1', 'the refused update changed nothing');
$node->safe_psql('old', 'ALTER TABLE tok ALTER COLUMN t DROP DEFAULT; DROP VIEW tokv');

# The hint's way out: update, release, drop; the rows survive as heap.
$node->safe_psql('old', 'ALTER EXTENSION pg_steward UPDATE');
like(refusal('DROP EXTENSION pg_steward CASCADE'),
	qr/ERROR:  2BP01: .*HINT:  Release them first/s,
	'after the update the event trigger refuses, with 0.2\'s hint');
$node->safe_psql('old', 'SELECT count(*) FROM steward.release_all()');
$node->safe_psql('old', 'DROP EXTENSION pg_steward');
is($node->safe_psql('old', q{
	SELECT (SELECT count(*) FROM st2) || '|' || (SELECT count(*) FROM keys) || '|'
	    || (SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.relname = 'st2')}),
	'5|2|heap', 'released and dropped: the rows are kept');

done_testing();
