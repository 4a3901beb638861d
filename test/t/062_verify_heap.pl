# Physical checks of steward tables (issue 12 item 7).
#
# Steward tables are heap pages, but amcheck's verify_heapam and pgstattuple
# refuse them ("only heap AM is supported") and pg_amcheck does not even
# select them.  steward.verify_heap runs amcheck's own check on them.  Here a
# steward table is damaged on disk (server stopped, two tuples of its first
# page overwritten) and must be reported by steward.verify_heap, by
# steward.verify (whose first check it is) and by a restore drill, while
# pg_amcheck still exits 0: what docs/operations.md ("Corruption checks
# and core tools") warns about.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use StewardTest qw(:DEFAULT steward_drill);

my $node = PostgreSQL::Test::Cluster->new('verify_heap');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
# Keep autovacuum from touching the damaged page before we look at it.
$node->append_conf('postgresql.conf', "autovacuum = off");
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE EXTENSION amcheck;
	CREATE EXTENSION pgstattuple;
	CREATE TABLE damaged (id int PRIMARY KEY, note text, version bigint) USING steward;
	SELECT steward.track_versions('damaged', 'version');
	INSERT INTO damaged (id, note) SELECT g, 'row ' || g FROM generate_series(1, 500) g;
	-- One value stored out of line, so the TOAST check has work.
	INSERT INTO damaged (id, note) VALUES (1000, repeat(md5('x'), 400));
	CREATE TABLE healthy (id int PRIMARY KEY, note text) USING steward;
	INSERT INTO healthy SELECT g, 'row ' || g FROM generate_series(1, 500) g;
	UPDATE healthy SET note = note || '+' WHERE id % 3 = 0;
	DELETE FROM healthy WHERE id % 7 = 0;
	CREATE ROLE watcher LOGIN;
	GRANT SELECT ON healthy TO watcher;
});

# Before the damage: every tool agrees the tables are fine.
is($node->safe_psql('postgres', q{SELECT count(*) FROM steward.verify_heap('damaged')}),
	'0', 'verify_heap finds nothing before the damage');
is($node->safe_psql('postgres',
		q{SELECT passed || ' ' || detail FROM steward.verify('damaged') WHERE "check" = 'heap'}),
	'true pages and tuples intact (amcheck verify_heapam)',
	'verify() starts with a passing heap check');
is($node->safe_psql('postgres',
		q{SELECT tuple_count = (SELECT count(*) FROM healthy)
		         AND table_len = pg_relation_size('healthy')
		         AND dead_tuple_count + tuple_count > 429
		    FROM steward.pgstattuple('healthy')}),
	't', 'steward.pgstattuple counts live and dead tuples of a steward table');
is($node->safe_psql('postgres',
		q{SELECT approx_tuple_count > 0 FROM steward.pgstattuple_approx('healthy')}),
	't', 'steward.pgstattuple_approx runs on a steward table');

# The core tools refuse steward tables, or skip them.
my ($rc, $out, $err) = $node->psql('postgres', q{SELECT * FROM verify_heapam('damaged')});
like($err, qr/only heap AM is supported/, 'amcheck verify_heapam refuses a steward table');
($rc, $out, $err) = $node->psql('postgres', q{SELECT * FROM pgstattuple('healthy')});
like($err, qr/only heap AM is supported/, 'pgstattuple refuses a steward table');

# Privileges are amcheck's: not PUBLIC; granted, a role may run it.
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT count(*) FROM steward.verify_heap('healthy')}, extra_params => [ '-U', 'watcher' ]);
like($err, qr/permission denied for function verify_heap/, 'verify_heap is not granted to PUBLIC');
is($node->safe_psql('postgres',
		q{SELECT passed IS NULL AND detail LIKE 'not checked: needs EXECUTE%' FROM steward.verify('healthy')
		   WHERE "check" = 'heap'}, extra_params => [ '-U', 'watcher' ]),
	't', 'verify() says the heap check was skipped for a role without EXECUTE');
$node->safe_psql('postgres',
	q{GRANT EXECUTE ON FUNCTION steward.verify_heap(regclass, boolean, boolean, text, bigint, bigint)
	    TO watcher});
is($node->safe_psql('postgres', q{SELECT count(*) FROM steward.verify_heap('healthy')},
		extra_params => [ '-U', 'watcher' ]),
	'0', 'a role granted EXECUTE runs verify_heap');

# Damage the first page of "damaged": the first tuple's xmin becomes a
# transaction far in the future, the second tuple's header length becomes
# impossible.  Nothing but the checks reads that page afterwards: damage
# to line pointers or lengths would make page pruning overwrite memory
# beyond the page, which is why operators need these checks at all.
damage_first_page(
	$node, 'damaged',
	sub {
		my ($page, $off1, $off2) = @_;
		note "tuples 1 and 2 at $off1 and $off2";
		substr($$page, $off1, 4) = pack('V', 0xfffffff0);    # t_xmin
		substr($$page, $off2 + 22, 1) = pack('C', 3);         # t_hoff
	});

my $problems = $node->safe_psql('postgres',
	q{SELECT blkno || ':' || offnum || ' ' || msg FROM steward.verify_heap('damaged') ORDER BY offnum});
note "verify_heap says:\n$problems";
like($problems, qr/^0:1 .*xmin 4294967280/m, 'verify_heap reports the impossible xmin of tuple (0,1)');
like($problems, qr/^0:2 .*(data should begin|t_hoff|header)/m, 'verify_heap reports the bad header of tuple (0,2)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM steward.verify_heap('healthy')}),
	'0', 'the healthy steward table still checks clean');
is($node->safe_psql('postgres',
		q{SELECT count(*) FROM steward.verify_heap('damaged', startblock => 1)}),
	'0', "amcheck's arguments pass through: from block 1 on the table is clean");

# steward.verify: the heap check fails and ends the verification (the row
# checks would read the damaged page).
is($node->safe_psql('postgres',
		q{SELECT string_agg("check" || ':' || passed, ',') FROM steward.verify('damaged')}),
	'heap:false', 'verify() reports the damaged heap and stops there');
like($node->safe_psql('postgres',
		q{SELECT detail FROM steward.verify('damaged')}),
	qr/^2 problems \(see steward\.verify_heap\); first: block 0, offset 1: .*xmin/,
	'verify() names the count and the first problem');

# The table is usable afterwards: presenting it as heap was undone.
$node->safe_psql('postgres', q{UPDATE healthy SET note = 'after' WHERE id = 1});
is($node->safe_psql('postgres', q{SELECT a.amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam
                                    WHERE c.oid = 'damaged'::regclass}),
	'steward', 'the damaged table is still a steward table');
# (a row far from the damaged page: id 400 is on block 2)
($rc, $out, $err) = $node->psql('postgres', q{UPDATE damaged SET note = 'x', version = 0 WHERE id = 400});
like($err, qr/stale version/, 'its rules are still enforced after the checks');

# pg_amcheck: exit 0, and the steward tables are not among what it checked.
my ($stdout, $stderr) = ('', '');
IPC::Run::run([ 'pg_amcheck', '-h', $node->host, '-p', $node->port, '-d', 'postgres',
		'--verbose', '--heapallindexed' ],
	'>', \$stdout, '2>', \$stderr);
is($? >> 8, 0, 'pg_amcheck exits 0 although a steward table is damaged');
unlike($stdout . $stderr, qr/public\.damaged/, 'pg_amcheck does not select steward tables');

# A restore drill verifies every steward table of the copy: it fails and
# names the damaged one.
my ($drc, $dout, $derr) = steward_drill($node, 'postgres');
isnt($drc, 0, 'the drill fails on the damaged table');
like($dout . $derr, qr/damaged: heap: 2 problems/, 'the drill names the table and the heap check');
like($dout . $derr, qr/ok: postgres\.public\.healthy verified|healthy verified/,
	'the healthy table verifies in the same drill');

$node->stop;
done_testing();
