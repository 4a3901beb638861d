# An in-place upgrade from a real pg_steward 0.1 install (review33 U4).
#
# The other upgrade tests build their "0.1 database" with CREATE EXTENSION
# pg_steward VERSION '0.1' under this library, which behaves differently
# from 0.1's: it writes security labels for 0.1's objects too, so TAP 063's
# check that the update writes them passed without the update writing
# any (that check is now this file's).  This test builds the 0.1 release (commit 52a29a4, on main's
# history) from the repository itself into a private copy of the
# PostgreSQL installation in PATH, fills a database with 0.1's own code
# (versions, state machines on a plain and a partitioned table, a finished
# run_transition, state checks, idempotency keys done and in progress,
# statement statistics), then starts the same data directory with the
# installed library, as docs/upgrading.md's steps 1-3 do: the guarantees
# hold before and after ALTER EXTENSION pg_steward UPDATE, and the update
# writes what 0.1 did not (labels, keys without claims, the machines'
# owners and their pg_shdepend rows).  The history is the repository this
# file is in (scripts/test.sh runs the tests in a copy without .git and
# exports 0.1's sources into it as STEWARD_01_SRC); a clone without that
# commit (a shallow one) fails here: fetch the whole history.

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $release = '52a29a4d9d18d0f8796f6b99742d2be886cea5ae';    # pg_steward 0.1
# Read-only git commands on that history, whoever owns it (the tests run
# as postgres, scripts/test.sh's checkout may be root's).
my @git = ('git', '-c', 'safe.directory=*',
	'-C', abs_path(dirname(__FILE__) . '/../..'));

# run_ok($what, @command): run a command, its output in the test log only
# when it fails; returns whether it succeeded.
sub run_ok
{
	my ($what, @cmd) = @_;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(\@cmd, '<', \undef, '>', \$out, '2>', \$err);
	ok($ok, $what) or diag("@cmd:\n$out$err");
	return $ok;
}

# 0.1's sources: exported by scripts/test.sh (STEWARD_01_SRC), else from
# this repository's history.
my ($src, $e);
if ($ENV{STEWARD_01_SRC})
{
	$src = $ENV{STEWARD_01_SRC};
	ok(-f "$src/pg_steward--0.1.sql", "0.1's sources exported by scripts/test.sh")
	  or BAIL_OUT("STEWARD_01_SRC ($src) holds no pg_steward--0.1.sql");
}
else
{
	my $have = IPC::Run::run([ @git, 'cat-file', '-e', "$release^{commit}" ],
		'<', \undef, '>', \my $o, '2>', \$e);
	BAIL_OUT("pg_steward 0.1 (commit $release) is not in the repository (@git[3..4]; "
		  . "a shallow clone?): this test builds 0.1 from the repository's history; "
		  . "run git fetch --unshallow ($e)")
	  unless $have;
	$src = PostgreSQL::Test::Utils::tempdir('src01');
	my $ok = IPC::Run::run(
		[ @git, 'archive', '--format=tar', $release,
		  'Makefile', 'pg_steward.control', 'pg_steward--0.1.sql', 'src' ],
		'|', [ 'tar', '-x', '-C', $src ], '2>', \$e);
	ok($ok, 'git archive of 0.1') or BAIL_OUT("git archive $release failed: $e");
}

# A private copy of the PostgreSQL installation in PATH (each directory at
# its own path under $root: pg_config and the server find share/ and
# include/ relative to bin/), without pg_steward, so that 0.1 installs
# there and nowhere else.
my %dir;
for my $opt (qw(bindir pkglibdir sharedir pkgincludedir includedir-server))
{
	chomp($dir{$opt} = `pg_config --$opt`);
	BAIL_OUT("pg_config --$opt failed") if $? || $dir{$opt} eq '';
}
my $root = PostgreSQL::Test::Utils::tempdir('pg01');
my @copied;
for my $d (sort values %dir)
{
	next if grep { index("$d/", "$_/") == 0 } @copied;
	push @copied, $d;
	make_path(dirname("$root$d"));
	system('cp', '-a', $d, dirname("$root$d")) == 0
	  or BAIL_OUT("could not copy $d to $root");
}
unlink glob("$root$dir{pkglibdir}/pg_steward*"), glob("$root$dir{sharedir}/extension/pg_steward*"),
  glob("$root$dir{pkglibdir}/bitcode/pg_steward*.bc");
system('rm', '-rf', "$root$dir{pkglibdir}/bitcode/pg_steward");
my $pg_config01 = "$root$dir{bindir}/pg_config";

# Only the library and its SQL (no bitcode: with_llvm=no).
my @make = ('make', '-s', '-C', $src, "PG_CONFIG=$pg_config01", 'with_llvm=no');
run_ok('0.1 builds', @make, '-j2') or BAIL_OUT('the 0.1 build failed');
run_ok('0.1 installs into the private copy', @make, 'install')
  or BAIL_OUT('the 0.1 install failed');
like(slurp_file("$root$dir{sharedir}/extension/pg_steward.control"),
	qr/^default_version = '0\.1'$/m, 'the private copy has 0.1\'s control file');

# A cluster on 0.1.
my $old = PostgreSQL::Test::Cluster->new('release01', install_path => dirname("$root$dir{bindir}"));
$old->init;
$old->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$old->start;
$old->safe_psql('postgres', 'CREATE ROLE tenant; CREATE DATABASE shop');
$old->safe_psql('shop', q{
	CREATE EXTENSION pg_steward;
	GRANT CREATE ON SCHEMA public TO tenant;
	SELECT steward.create_state_machine('order_status', ARRAY['created', 'paid', 'shipped'],
	    ARRAY['created'], ARRAY['created->paid', 'paid->shipped']);
	CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL DEFAULT 'created',
	                     changed timestamptz, version bigint) USING steward;
	SELECT steward.track_versions('orders', 'version');
	SELECT steward.attach_state_machine('orders', 'status', 'order_status', 'changed');
	INSERT INTO orders (id) SELECT g FROM generate_series(1, 100) g;
	-- Qualified: 0.2 leaves public out of a check's search_path, since
	-- tenant may create there (docs/state-machines.md).
	SELECT steward.set_state_check('orders', 'shipped',
	    $$SELECT count(*) FROM public.orders WHERE status = 'shipped' AND changed IS NULL$$);
	CREATE TABLE porders (id int, region int, status text NOT NULL,
	                      PRIMARY KEY (id, region)) PARTITION BY LIST (region);
	CREATE TABLE porders_1 PARTITION OF porders FOR VALUES IN (1) USING steward;
	CREATE TABLE porders_2 PARTITION OF porders FOR VALUES IN (2) USING steward;
	SELECT steward.attach_state_machine('porders', 'status', 'order_status');
	INSERT INTO porders SELECT g, 1 + g % 2, 'created' FROM generate_series(1, 10) g;
	-- A built-in machine's column, with a check.
	CREATE TABLE jobs (id int PRIMARY KEY, phase text NOT NULL DEFAULT 'new') USING steward;
	SELECT steward.attach_state_machine('jobs', 'phase', 'data_lifecycle');
	SELECT steward.set_state_check('jobs', 'backfilled', 'SELECT 0');
	SET ROLE tenant;
	SELECT steward.create_state_machine('ticket', ARRAY['open', 'closed'], ARRAY['open'],
	                                    ARRAY['open->closed']);
	CREATE TABLE tickets (id int PRIMARY KEY, state text NOT NULL DEFAULT 'open') USING steward;
	SELECT steward.attach_state_machine('tickets', 'state', 'ticket');
	INSERT INTO tickets VALUES (1), (2);
	UPDATE tickets SET state = 'closed' WHERE id = 1;
	RESET ROLE;
	SELECT steward.set_idempotency_retention('acct_2', '2 days');
});
$old->safe_psql('shop', "CALL steward.run_transition('orders', 'created', 'paid', batch_size => 30)");
$old->safe_psql('shop', q{
	UPDATE orders SET status = 'shipped' WHERE id <= 10;
	SELECT outcome FROM steward.idempotency_begin('acct_1', 'k-done', 'fp1');
	SELECT steward.idempotency_complete('acct_1', 'k-done', 201, '{"id": 7}');
	SELECT outcome FROM steward.idempotency_begin('acct_1', 'k-open', 'fp2');
	SELECT 133 AS from_release_01;
});
is($old->safe_psql('shop', q{
	SELECT (SELECT string_agg(status || ':' || count, ',' ORDER BY status)
	          FROM (SELECT status, count(*) FROM orders GROUP BY 1) s)
	       || '|' || (SELECT min(version) FROM orders WHERE id > 10)
	       || '|' || (SELECT string_agg(status || ':' || rows_done, ',') FROM steward.transition_runs)
	       || '|' || (SELECT string_agg(key || ':' || coalesce(status, 0), ',' ORDER BY key)
	                    FROM steward.idempotency_keys)
	       || '|' || (SELECT count(*) FROM pg_seclabel WHERE provider = 'steward')
	       || '|' || (SELECT count(*) FROM steward.statements WHERE query LIKE '%from_release_01%')}),
	'paid:90,shipped:10|2|finished:100|k-done:201,k-open:0|0|1',
	'0.1 moved the rows, kept its keys and statistics, and wrote no labels');
# The library is 0.1's: it has no C function 0.2 added.
my ($rc, $out, $err) = $old->psql('shop', q{
	CREATE FUNCTION pg_temp.f() RETURNS void AS 'pg_steward', 'steward_release' LANGUAGE C});
like($err, qr/could not find function "steward_release"/, 'the server runs 0.1\'s library');
$old->stop;
open(my $fh, '<:raw', $old->data_dir . '/pg_stat/pg_steward_statements.stat')
  or die "0.1 saved no statement statistics: $!";
read($fh, my $magic, 4);
close $fh;
is(unpack('L', $magic), 0x53545331, '0.1 saved its statement statistics (STS1)');

# The same data directory on the installed library (upgrading.md steps 1-2).
my $node = PostgreSQL::Test::Cluster->new('library02');
rename($old->data_dir, $node->data_dir) or die "could not move the data directory: $!";
$node->append_conf('postgresql.conf', 'port = ' . $node->port);
$node->start;
is($node->safe_psql('shop', q{
	SELECT extversion || '|' || (SELECT count(*) FROM pg_seclabel WHERE provider = 'steward')
	       || '|' || (SELECT count(*) FROM steward.statements WHERE query LIKE '%from_release_01%')
	  FROM pg_extension WHERE extname = 'pg_steward'}),
	'0.1|0|0', 'restarted on the new library: still 0.1\'s objects, no labels, statistics from zero');
ok(!-e $node->data_dir . '/pg_stat/pg_steward_statements.stat',
	'the new library removed 0.1\'s statistics file');

# sqlstate($sql): the SQLSTATE of $sql's error in database shop, or 'ok'.
sub sqlstate
{
	my ($sql) = @_;
	my ($rc, $out, $err) = $node->psql('shop', "\\set VERBOSITY sqlstate\n$sql");
	return $err =~ /ERROR:  ([0-9A-Z]{5})/ ? $1 : ($rc == 0 ? 'ok' : "rc $rc: $err");
}

# The guarantees of 0.1's objects, before and after the update.
sub enforced
{
	my ($when) = @_;
	is(sqlstate("UPDATE orders SET version = 1 WHERE id = 50"), '40001',
		"$when: a stale version is refused (40001)");
	is(sqlstate("UPDATE orders SET status = 'created' WHERE id = 50"), '23514',
		"$when: paid -> created is refused (23514)");
	is(sqlstate("UPDATE porders SET status = 'shipped' WHERE id = 3"), '23514',
		"$when: created -> shipped is refused in the partitioned table (23514)");
	is(sqlstate("SET ROLE tenant; UPDATE tickets SET state = 'open' WHERE id = 1"),
		'23514', "$when: the tenant's machine is enforced (closed -> open refused)");
	is(sqlstate('DROP EXTENSION pg_steward CASCADE'), '2BP01',
		"$when: DROP EXTENSION pg_steward CASCADE is refused (2BP01)");
	is($node->safe_psql('shop', q{
		SELECT (SELECT count(*) FROM orders) || '|' || (SELECT count(*) FROM porders)
		       || '|' || (SELECT count(*) FROM tickets) || '|' || extversion
		  FROM pg_extension WHERE extname = 'pg_steward'}),
		'100|10|2|' . ($when eq 'before the update' ? '0.1' : '0.2'),
		"$when: the tables keep their rows, the extension stays");
}

enforced('before the update');
is($node->safe_psql('shop', q{
	UPDATE orders SET status = 'shipped' WHERE id = 11
	RETURNING status || '|' || version || '|' || (changed IS NOT NULL)}),
	'shipped|3|true', 'before the update: a legal move bumps the version and stamps changed');
# Keys without owners are not served until the update (docs/upgrading.md).
is(sqlstate("SELECT steward.idempotency_begin('acct_1', 'k-done', 'fp1')"), '55000',
	'before the update: idempotency_begin waits for the update (55000)');
is(sqlstate("CALL steward.run_transition('orders', 'paid', 'shipped')"), '55000',
	'before the update: run_transition waits for the update (55000)');

$node->safe_psql('shop', 'ALTER EXTENSION pg_steward UPDATE');
enforced('after the update');

# What the update wrote: the labels of every rule's column (0.1 wrote
# none), with the machine's states and the 0.1 checks.
is($node->safe_psql('shop', q{
	SELECT string_agg(objoid::regclass || '.' || a.attname || ':' || (label::jsonb->>'kind')
	                  || ':' || coalesce(label::jsonb->>'machine', '-')
	                  || ':' || (label::jsonb ? 'states'),
	                  ',' ORDER BY objoid::regclass::text, objsubid)
	  FROM pg_seclabel l JOIN pg_attribute a ON a.attrelid = l.objoid AND a.attnum = l.objsubid
	 WHERE provider = 'steward' AND objoid::regclass::text NOT LIKE 'steward.%'}),
	'jobs.phase:state:data_lifecycle:true,'
	. 'orders.status:state:order_status:true,orders.version:version:-:false,'
	. 'porders.status:state:order_status:true,tickets.state:state:ticket:true',
	'the update labelled every rule\'s column (a partitioned table\'s, not its partitions\'), '
	. 'state columns with their machine\'s states');
is($node->safe_psql('shop', q{
	SELECT label::jsonb->'checks' FROM pg_seclabel
	 WHERE provider = 'steward' AND objoid = 'orders'::regclass
	   AND objsubid = (SELECT attnum FROM pg_attribute WHERE attrelid = 'orders'::regclass AND attname = 'status')}),
	q({"shipped": "SELECT count(*) FROM public.orders WHERE status = 'shipped' AND changed IS NULL"}),
	'the state column\'s label carries 0.1\'s check');
is($node->safe_psql('shop', q{
	SELECT label::jsonb->'checks' FROM pg_seclabel
	 WHERE provider = 'steward' AND objoid = 'jobs'::regclass}),
	'{"backfilled": "SELECT 0"}', 'so does a built-in machine\'s column (data_lifecycle)');
# 0.1's keys and scopes belong to no claim; the scopes to the extension's owner.
is($node->safe_psql('shop', q{
	SELECT (SELECT string_agg(key || ':' || (claim IS NULL), ',' ORDER BY key) FROM steward.idempotency_keys)
	       || '|' || (SELECT string_agg(scope || ':' || owner::text || ':' || (claim IS NULL)
	                                    || ':' || coalesce(retention::text, '-'), ',' ORDER BY scope)
	                    FROM steward.idempotency_scopes)}),
	'k-done:true,k-open:true|acct_1:postgres:true:-,acct_2:postgres:true:2 days',
	'0.1\'s keys and scopes have no claim; the scopes belong to the extension\'s owner');
is($node->safe_psql('shop', q{
	SELECT string_agg(r.outcome || ':' || coalesce(r.status, 0) || ':' || coalesce(r.response::text, '-'), ',')
	  FROM (VALUES (1, 'k-done', 'fp1'), (2, 'k-open', 'fp2'), (3, 'k-done', 'other')) k (n, key, fp),
	       LATERAL steward.idempotency_begin('acct_1', k.key, k.fp, nowait => true) r}),
	'replay:201:{"id": 7},in_progress:0:-,mismatch:0:-',
	'after the update: the completed key replays, the open one is in progress, another request mismatches');
# The machines' owners and their roles in pg_shdepend.
is($node->safe_psql('shop', q{
	SELECT string_agg(name || ':' || owner::text || ':' || usage_roles::text, ',' ORDER BY name)
	  FROM steward.machine_definitions WHERE NOT builtin}),
	'order_status:postgres:{},ticket:tenant:{}',
	'a machine attached only to the tenant\'s table belongs to the tenant');
is($node->safe_psql('shop', q{
	SELECT count(*) FROM pg_shdepend
	 WHERE objid = 'steward.machine_definitions'::regclass AND refobjid = 'tenant'::regrole
	   AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())}),
	'1', 'the tenant is recorded as the machine\'s owner (DROP ROLE tenant is refused)');
is(sqlstate('DROP ROLE tenant'), '2BP01', 'DROP ROLE of the machine\'s owner is refused');
# 0.2's run_transition moves what is left; 0.1's run is still listed.
$node->safe_psql('shop', "CALL steward.run_transition('orders', 'paid', 'shipped')");
is($node->safe_psql('shop', q{
	SELECT (SELECT string_agg(status || ':' || count, ',') FROM (SELECT status, count(*) FROM orders GROUP BY 1) s)
	       || '|' || (SELECT string_agg(status || ':' || rows_done, ',' ORDER BY id) FROM steward.transition_runs)
	       || '|' || (SELECT string_agg(state || ':' || passed, ',') FROM steward.validate('orders'))}),
	'shipped:100|finished:100,finished:89|shipped:true',
	'after the update: run_transition moves the rest; 0.1\'s check passes');

$node->stop;
done_testing();
