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

# rules19 item 2: removing a partition's own state rule checks its rows
# against the parent's machine (rules18 item 2), with SQL the library
# writes itself: 0.1's SQL has no steward._state_rule_leaves, whose call
# failed every removal with 42883 until the update.
$node->safe_psql('postgres', 'CREATE DATABASE old_rules');
$node->safe_psql('old_rules', "CREATE EXTENSION pg_steward VERSION '0.1'");
$node->safe_psql('old_rules', q{
	SELECT steward.create_state_machine('wide', ARRAY['a', 'b', 'x'], ARRAY['a'], ARRAY['a->b', 'a->x']);
	SELECT steward.create_state_machine('narrow', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	CREATE TABLE p (id int, st text) PARTITION BY RANGE (id);
	CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (1) TO (100) USING steward;
	SELECT steward.attach_state_machine('p', 'st', 'narrow');
	SELECT steward.attach_state_machine('p1', 'st', 'wide');
	INSERT INTO p VALUES (1, 'a'), (2, 'a');
	UPDATE p SET st = 'x' WHERE id = 2;
});
sub old_rules_refusal
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('old_rules', "\\set VERBOSITY verbose\n$sql");
	return $err;
}
like(old_rules_refusal(q{SELECT steward.detach_state_machine('p1', 'st')}),
	qr/ERROR:  23514: cannot detach the state machine of column "st" of relation "p1".*DETAIL:  Machine "narrow" of relation "p" would govern its rows again, and they hold values it does not declare: .*x/s,
	'0.1 SQL: detach of the partition\'s machine checks the rows (23514, not 42883)');
like(old_rules_refusal(q{DELETE FROM steward.column_rules WHERE relid = 'p1'::regclass}),
	qr/ERROR:  23514: cannot remove the state rule of column "st" of relation "p1"/,
	'0.1 SQL: a DELETE of the rule row checks them too');
$node->safe_psql('old_rules', q{DELETE FROM p WHERE id = 2;
	SELECT steward.detach_state_machine('p1', 'st')});
is($node->safe_psql('old_rules', q{SELECT string_agg(relid::regclass || ' ' || machine, ',') FROM steward.column_rules}),
	'p narrow', 'once the rows fit, the detach goes through');
like(old_rules_refusal(q{UPDATE p SET st = 'x' WHERE id = 1}),
	qr/ERROR:  23514: /, 'the parent\'s machine governs the partition again');

done_testing();
