# mach18 item 1: a machine re-attached from a dump skipped mach17's check
# that its states fit a varchar(n) state column (regress 347): the restore
# said nothing, and every later write to the long state failed with 22001
# (or, past n in spaces only, stored another state).  A source can hold
# such a rule (an older pg_steward, a label or a rule row written by
# hand), so the restore keeps it, as in the source, and warns, naming the
# states and the ALTER TABLE that widens the column, on every path:
# - the label (pre-data: whole dumps, -t, --section=pre-data): applied to
#   a table that stores no row yet, the rule row's trigger warns;
# - the rule rows of a whole dump meet the label's rule: one warning;
# - data-only into a schema restored without labels: the rule row, or the
#   machine's row when it comes after its rules, warns.
# Refused, a partial dump would leave the column unchecked; a label on a
# table that stores rows is refused (regress 350).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('states_fit_restore');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
my ($ret, $out, $err) = $node->psql(
	'src', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('hold', ARRAY['new', 'on_hold'], ARRAY['new'], ARRAY['new->on_hold']);
	CREATE TABLE tick (id int PRIMARY KEY, st varchar(4) NOT NULL) USING steward;
	-- As an older pg_steward, or a hand edit, left it.
	INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('tick'::regclass, 'st', 'state', 'hold');
	INSERT INTO tick VALUES (1, 'new'), (2, 'new');
},
	extra_params => [ '-v', 'ON_ERROR_STOP=1' ]);
is($ret, 0, 'source made');
like($err, qr/WARNING:  states of machine "hold" do not fit state column "st" of relation "tick"/,
	'source: the hand-written rule warns');

my $query = q{
	SELECT string_agg(format('%s.%s:%s', relid::regclass, attname, machine), ',') FROM steward.column_rules
	 WHERE relid = 'tick'::regclass;
	SELECT string_agg(format('%s:%s', id, st), ',' ORDER BY id) FROM tick;
};
my $expected = "tick.st:hold\n1:new,2:new";
is($node->safe_psql('src', $query), $expected, 'source: the rule and rows');

my $warning = qr/WARNING:  states of machine "hold" do not fit state column "st" of relation "tick" of type character varying\(4\)\n.*'on_hold'.*\nHINT:  Keep room for the longest state: ALTER TABLE public\.tick ALTER COLUMN st TYPE character varying\(7\); or use text\./;

# restore($db, @pg_restore): a fresh database, the restore into it;
# whether it succeeded, and its stderr (pg_restore shows the server's
# warnings with -v only).
sub restore
{
	my ($db, @cmd) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	my ($stdout, $stderr) = ('', '');
	my $ok = IPC::Run::run([ @cmd, '-d', $node->connstr($db) ], '>', \$stdout, '2>', \$stderr);
	return ($ok, $stderr);
}

my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/all.dump" ], 'whole dump');
$node->command_ok([ 'pg_dump', '-Fc', '-t', 'tick', '-d', $node->connstr('src'), '-f', "$dir/t.dump" ], 'pg_dump -t tick');

# Whole database, one transaction, stop at the first error.
my ($ok, $e) = restore('whole', 'pg_restore', '-v', '--single-transaction', '--exit-on-error', "$dir/all.dump");
ok($ok, 'whole: restores with --exit-on-error');
like($e, $warning, 'whole: the restore warns, naming the state and the widening');
is(scalar(() = $e =~ /do not fit/g), 1, 'whole: once (the rule row meets the label\'s rule)');
is($node->safe_psql('whole', $query), $expected, 'whole: the rule and rows kept');

# pg_dump -t: the label is the rule's only carrier.
$node->safe_psql('postgres', 'CREATE DATABASE tonly');
$node->safe_psql('tonly', 'CREATE EXTENSION pg_steward');
$node->command_ok([ 'pg_restore', '-f', "$dir/t.sql", "$dir/t.dump" ], '-t dump as SQL');
($ret, $out, $e) = $node->psql('tonly', undef,
	extra_params => [ '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', "$dir/t.sql" ]);
is($ret, 0, '-t: restores with ON_ERROR_STOP');
like($e, $warning, '-t: the label\'s rule warns');
is($node->safe_psql('tonly', $query), $expected, '-t: the rule and rows kept');

# --section=pre-data: the label on a table without rows.
($ok, $e) = restore('pre', 'pg_restore', '-v', '--exit-on-error', '--section=pre-data', "$dir/all.dump");
ok($ok, 'pre-data: restores');
like($e, $warning, 'pre-data: the label\'s rule warns');
is($node->safe_psql('pre', q{SELECT machine FROM steward.column_rules WHERE relid = 'tick'::regclass}), 'hold', 'pre-data: the rule kept');

# Data only, into a schema restored without labels: the rules come as rows.
($ok, $e) = restore('dataonly', 'pg_restore', '--exit-on-error', '--schema-only', '--no-security-labels', "$dir/all.dump");
ok($ok, 'data-only: schema without labels');
is($node->safe_psql('dataonly', q{SELECT count(*) FROM steward.column_rules WHERE relid = 'tick'::regclass}), '0', 'data-only: no rule yet');
my ($o2, $e2) = ('', '');
$ok = IPC::Run::run([ 'pg_restore', '-v', '--exit-on-error', '--data-only', '-d', $node->connstr('dataonly'), "$dir/all.dump" ],
	'>', \$o2, '2>', \$e2);
$e = $e2;
ok($ok, 'data-only: restores');
like($e, $warning, 'data-only: the rule row (or the machine row after it) warns');
is($node->safe_psql('dataonly', $query), $expected, 'data-only: the rule and rows kept');

# In every restored database the rule holds, and the long state fails as
# the column's type says, as in the source; widening makes it reachable.
for my $db ('src', 'whole', 'tonly', 'dataonly')
{
	($ret, $out, $err) = $node->psql($db, q{UPDATE tick SET st = 'on_hold' WHERE id = 1});
	like($err, qr/value too long for type character varying\(4\)/, "$db: 'on_hold' does not fit, as in the source");
	($ret, $out, $err) = $node->psql($db, q{UPDATE tick SET st = 'gone' WHERE id = 1});
	like($err, qr/'gone' is not a state of machine "hold"/, "$db: the rule is enforced");
}
is($node->safe_psql('whole', q{ALTER TABLE tick ALTER COLUMN st TYPE varchar(7);
	UPDATE tick SET st = 'on_hold' WHERE id = 1 RETURNING st}), 'on_hold', 'whole: widened, the state is reachable');

$node->stop;
done_testing();
