# codereview9 M2: a partitioned tree already past the cap of 8 state
# machines per table (parents' included) is still made with a WARNING: a
# SECURITY LABEL on an empty partition, or a row written into
# steward.column_rules.  pg_dump writes the partition with its labels as a
# standalone table (within the cap), then ALTER TABLE ONLY parent ATTACH
# PARTITION, then the rows.  52c2830 refused that ATTACH for an empty
# table too, so the restore left the partition detached (errors ignored
# 1) or, with --exit-on-error / ON_ERROR_STOP, failed.  An empty table is
# attached with a WARNING again (it refuses writes, as in the source);
# one that stores rows is still refused (sql/196, sql/203).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;

my $node = PostgreSQL::Test::Cluster->new('state_cap_dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
my ($ret, $out, $err) = $node->psql(
	'src', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('mc', ARRAY['a','b'], ARRAY['a'], ARRAY['a->b']);
	CREATE TABLE pc (id int, s1 text, s2 text, s3 text, s4 text, s5 text, s6 text, s7 text, s8 text, s9 text) PARTITION BY RANGE (id);
	CREATE TABLE pc0 PARTITION OF pc FOR VALUES FROM (0) TO (100) USING steward;
	CREATE TABLE pc1 PARTITION OF pc FOR VALUES FROM (100) TO (200) USING steward;
	SELECT steward.attach_state_machine('pc', c, 'mc') FROM unnest(ARRAY['s1','s2','s3','s4','s5']) c;
	SELECT steward.attach_state_machine('pc0', c, 'mc') FROM unnest(ARRAY['s6','s7','s8']) c;
	INSERT INTO pc VALUES (150, 'a', 'a', 'a', 'a', 'a', NULL, NULL, NULL, NULL);
	DO $$ BEGIN
	  EXECUTE format('SECURITY LABEL FOR steward ON COLUMN pc0.s9 IS %L',
	                 (SELECT label FROM pg_seclabel WHERE provider = 'steward'
	                   AND objoid = 'pc0'::regclass
	                   AND objsubid = (SELECT attnum FROM pg_attribute WHERE attrelid = 'pc0'::regclass AND attname = 's8')));
	END $$;
},
	extra_params => [ '-v', 'ON_ERROR_STOP=1' ]);
is($ret, 0, 'source tree made');
like($err, qr/WARNING:  relation "pc0" has more than 8 state machines/, 'the label past the cap is kept with a WARNING');

my $query = q{
	SELECT string_agg(format('%s:%s', c.relname, c.relispartition), ',' ORDER BY c.relname)
	  FROM pg_class c WHERE c.relname IN ('pc0', 'pc1');
	SELECT string_agg(format('%s.%s', relid::regclass, attname), ',' ORDER BY relid::regclass::text, attname)
	  FROM steward.column_rules;
	SELECT string_agg(format('%s:%s:%s', tableoid::regclass, id, s5), ',' ORDER BY id) FROM pc;
};
my $expected = $node->safe_psql('src', $query);
like($expected, qr/^pc0:t,pc1:t$/m, 'source: both partitions attached');
like($expected, qr/pc0\.s9/, 'source: the 9th rule on pc0');

my $write = q{INSERT INTO pc VALUES (1, 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a', 'a')};
($ret, $out, $err) = $node->psql('src', $write);
like($err, qr/ERROR:  relation "pc0" has more than 8 state machines/, 'source: pc0 refuses writes');

my $err_plain = restore_three_ways($node, 'src', $query, $expected);
like($err_plain, qr/WARNING:  partition "pc0" would have more than 8 state machines under relation "pc"/,
	'the plain restore\'s ATTACH of pc0 warns');
($ret, $out, $err) = $node->psql('plain', $write);
like($err, qr/ERROR:  relation "pc0" has more than 8 state machines/, 'plain restore: pc0 refuses writes, as in the source');

# Detaching one machine makes pc0 writable, in the restored database too.
is( $node->safe_psql('whole',
		qq{SELECT steward.detach_state_machine('pc0', 's9'); $write; SELECT count(*) FROM pc0}),
	"\n1", 'restored: detaching one machine makes pc0 writable');

$node->stop;
done_testing();
