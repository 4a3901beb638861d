# Rule rows applied by a logical replication worker (lead's stop-40 item
# 4: 5cab549's skip, untested).  A publication of steward.column_rules
# sends a rule row naming the publisher's table by name; on the subscriber
# that table may have other columns.  The apply worker runs under
# session_replication_role = replica: the row is stored as sent and only
# the caches are reset (rule_row_invalidate) - no WARNING about a column
# the subscriber's table does not have (warn_hand_written_rule is skipped
# in a logical replication worker), and no security label written.  A
# superuser session under replica writing the same row does get the
# WARNING and the label follows (214 part 3).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = PostgreSQL::Test::Cluster->new('rr_pub');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('rr_sub');
$sub->init;
$sub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$sub->start;

my $machine = q{SELECT steward.create_state_machine('m104', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);};
$pub->safe_psql('postgres', "CREATE EXTENSION pg_steward; $machine
	CREATE TABLE t104 (id int PRIMARY KEY, st text) USING steward;");
# The subscriber's table of that name has no column st.
$sub->safe_psql('postgres', "CREATE EXTENSION pg_steward; $machine
	CREATE TABLE t104 (id int PRIMARY KEY, other text) USING steward;");

$pub->safe_psql('postgres', 'CREATE PUBLICATION p104 FOR TABLE steward.column_rules');
# copy_data = false: each side has its own row for steward.migration_runs.
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s104 CONNECTION '" . $pub->connstr
	  . " dbname=postgres' PUBLICATION p104 WITH (copy_data = false)");
$pub->wait_for_catchup('s104');

my $log_offset = -s $sub->logfile;
$pub->safe_psql('postgres', q{SELECT steward.attach_state_machine('t104', 'st', 'm104');});
$pub->wait_for_catchup('s104');

is( $sub->safe_psql(
		'postgres',
		q{SELECT attname || ' ' || kind || ' ' || machine FROM steward.column_rules
		   WHERE relid = 't104'::regclass}),
	'st state m104',
	'the rule row arrives on the subscriber as sent');
my $log = slurp_file($sub->logfile, $log_offset);
unlike($log, qr/which the relation does not have/,
	'the apply worker gives no WARNING for a column the subscriber lacks');
unlike($log, qr/ERROR/, 'the apply worker raises nothing');
is( $sub->safe_psql('postgres',
		q{SELECT count(*) FROM pg_seclabel WHERE objoid = 't104'::regclass AND provider = 'steward'}),
	'0', 'the apply worker writes no security label');
is($sub->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_subscription WHERE subname = 's104' AND pid IS NOT NULL}),
	'1', 'the apply worker still runs');

# The subscriber's own writes still ignore the row: nothing enforced on a
# column it does not have.
$sub->safe_psql('postgres', q{INSERT INTO t104 VALUES (1, 'zz')});
is($sub->safe_psql('postgres', 'SELECT other FROM t104'), 'zz', 'subscriber writes unaffected');

# The same row written by a superuser session under replica: the WARNING.
my ($ret, $stdout, $stderr) = $sub->psql(
	'postgres', q{SET session_replication_role = replica;
	DELETE FROM steward.column_rules WHERE relid = 't104'::regclass;
	INSERT INTO steward.column_rules (relid, attname, kind, machine) VALUES ('t104', 'st', 'state', 'm104');});
like($stderr, qr/names column "st", which the relation does not have/,
	'a session under replica gets the WARNING');

$sub->stop;
$pub->stop;
done_testing();
