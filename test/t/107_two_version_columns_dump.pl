# codereview41 K1: a table that two version columns reach (its own rule
# and a partitioned ancestor's) refuses INSERT, COPY and UPDATE, but a
# hand-written rule row or a restored label leaves it with a WARNING, so
# the state is dumped.  Its restore's COPY, by the owner, was refused too
# (54000) and the partition came back empty.  A restoring COPY now checks
# both columns (each NULL becomes 1, each below 1 refused) and keeps the
# rows as dumped; every other write stays refused.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;

my $node = PostgreSQL::Test::Cluster->new('two_version_columns_dump');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
my ($ret, $out, $err) = $node->psql(
	'src', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE s (id int, v bigint, w bigint) PARTITION BY RANGE (id);
	CREATE TABLE s1 PARTITION OF s FOR VALUES FROM (0) TO (100) USING steward;
	CREATE TABLE s2 PARTITION OF s FOR VALUES FROM (100) TO (200) USING steward;
	SELECT steward.track_versions('s1', 'v');
	INSERT INTO s VALUES (1, 1, 1), (2, 3, 7), (150, 4, 2);
	INSERT INTO steward.column_rules (relid, attname, kind) VALUES ('s', 'w', 'version');
},
	extra_params => [ '-v', 'ON_ERROR_STOP=1' ]);
is($ret, 0, 'source tree made');
like($err, qr/WARNING:  relation "s1" would have two version columns, "v" and "w"/,
	'the rule row giving s1 a second version column is kept with a WARNING');

my $query = q{
	SELECT string_agg(format('%s.%s', relid::regclass, attname), ',' ORDER BY relid::regclass::text, attname)
	  FROM steward.column_rules WHERE relid::text NOT LIKE 'steward.%';
	SELECT string_agg(format('%s:%s:%s:%s', tableoid::regclass, id, v, w), ',' ORDER BY id) FROM s;
};
my $expected = $node->safe_psql('src', $query);
is($expected, "s.w,s1.v\ns1:1:1:1,s1:2:3:7,s2:150:4:2", 'source: the rules and rows');

my $write = q{INSERT INTO s VALUES (3, 1, 1)};
($ret, $out, $err) = $node->psql('src', $write);
like($err, qr/ERROR:  relation "s1" has two version columns, "v" and "w"/, 'source: s1 refuses an INSERT');

restore_three_ways($node, 'src', $query, $expected);
($ret, $out, $err) = $node->psql('plain', $write);
like($err, qr/ERROR:  relation "s1" has two version columns, "v" and "w"/,
	'plain restore: s1 refuses an INSERT, as in the source');
($ret, $out, $err) = $node->psql('plain', q{UPDATE s SET w = w + 1 WHERE id = 1});
like($err, qr/ERROR:  relation "s1" has two version columns, "v" and "w"/,
	'plain restore: and an UPDATE');

# Untracking one column, as the HINT says, makes s1 writable again.
is( $node->safe_psql('whole',
		qq{SELECT steward.untrack('s', 'w'); $write; SELECT count(*) FROM s1}),
	"\n3", 'restored: untracking one column makes s1 writable');

$node->stop;
done_testing();
