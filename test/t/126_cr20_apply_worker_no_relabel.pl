# codereview19 C5: steward._machine_owner_relabel (machine_owner_relabel,
# ENABLE ALWAYS on steward.machine_definitions) rewrites the rules of a
# machine whose owner changed, so their labels name the new owner.  In a
# logical replication apply worker the rules' trigger rewrites no label
# (labels.c: the row may name another cluster's relation), so the
# UPDATE of steward.column_rules did nothing but write WAL and a dead row
# per rule (and republish them when the subscriber publishes
# column_rules).  It now skips it there: an owner change the apply worker
# stores leaves the subscriber's rule row as it was (same xmin), while the
# same change made by a session of the subscriber still rewrites it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pub = PostgreSQL::Test::Cluster->new('cr20_pub');
$pub->init(allows_streaming => 'logical');
$pub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$pub->start;
my $sub = PostgreSQL::Test::Cluster->new('cr20_sub');
$sub->init;
$sub->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$sub->start;

my $machine = q{CREATE ROLE r126_a; CREATE ROLE r126_b;
	SELECT steward.create_state_machine('m126', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);};
$pub->safe_psql('postgres', "CREATE EXTENSION pg_steward; $machine");
$sub->safe_psql('postgres', "CREATE EXTENSION pg_steward; $machine
	CREATE TABLE t126 (id int PRIMARY KEY, st text) USING steward;
	SELECT steward.attach_state_machine('t126', 'st', 'm126');");
$pub->safe_psql('postgres', 'CREATE PUBLICATION p126 FOR TABLE steward.machine_definitions');
$sub->safe_psql('postgres',
	"CREATE SUBSCRIPTION s126 CONNECTION '" . $pub->connstr
	  . " dbname=postgres' PUBLICATION p126 WITH (copy_data = false)");
$pub->wait_for_catchup('s126');

my $rule = q{SELECT xmin::text FROM steward.column_rules WHERE relid = 't126'::regclass AND kind = 'state'};
my $before = $sub->safe_psql('postgres', $rule);

# The publisher gives the machine away: the apply worker stores the owner.
$pub->safe_psql('postgres', q{SELECT steward.alter_state_machine_owner('m126', 'r126_a')});
$pub->wait_for_catchup('s126');
is($sub->safe_psql('postgres', q{SELECT owner::text FROM steward.machine_definitions WHERE name = 'm126'}),
	'r126_a', 'the apply worker stored the new owner');
is($sub->safe_psql('postgres', $rule), $before,
	'the apply worker did not rewrite the subscriber\'s rule row');

# A session of the subscriber changing the owner still relabels (the
# trigger's purpose outside an apply worker).
$sub->safe_psql('postgres', q{ALTER SUBSCRIPTION s126 DISABLE});
$sub->safe_psql('postgres', q{SELECT steward.alter_state_machine_owner('m126', 'r126_b')});
isnt($sub->safe_psql('postgres', $rule), $before,
	'a session\'s owner change rewrites the rule row');
like($sub->safe_psql('postgres',
		q{SELECT label FROM pg_seclabels WHERE objoid = 't126'::regclass AND objsubid > 0 AND provider = 'steward'}),
	qr/"machine_owner": "r126_b"/, 'whose label names the new owner');

$sub->stop;
$pub->stop;
done_testing();
