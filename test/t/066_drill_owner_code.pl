# A restore drill never runs a table owner's code as its superuser
# (review9 F20).
#
# mallory, a role with no attribute and CREATE on schema public only,
# plants the reviewer's attack: an IMMUTABLE function, used in an index
# expression and in a partial-index predicate of an UNLOGGED steward table
# (and of a logged one), that runs a shell command (COPY TO PROGRAM writes
# a marker file) when it finds itself running as a superuser, and always
# logs who runs it.  Planning any query on such a table folds those
# functions (index expressions, predicates): the drill used to count the
# unlogged table's rows with a plain query as its superuser on the
# restored copy, so mallory's code ran as superuser and wrote the file,
# and the drill passed.
#
# Now the drill must pass (the unlogged table empty after the restore, the
# logged one verified and compared), no marker file may appear, mallory's
# code may have run only as mallory (the copy's server log, kept with
# --keep, says who ran it), and mallory is not superuser on the source.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest qw(steward_drill);
use IPC::Run;

my $tmp     = PostgreSQL::Test::Utils::tempdir();
my $marker  = "$tmp/r9_drill_pwned.txt";
my $workdir = "$tmp/drills";
mkdir $workdir or die "mkdir $workdir: $!";

my $node = PostgreSQL::Test::Cluster->new('drill_owner_code');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE mallory LOGIN;
	CREATE DATABASE shop;
});
$node->safe_psql('shop', q{
	CREATE EXTENSION pg_steward;
	REVOKE CREATE ON SCHEMA public FROM PUBLIC;
	GRANT CREATE ON SCHEMA public TO mallory;
});

(my $marker_sql = $marker) =~ s/'/''/g;
$node->safe_psql('shop', qq{
	SET ROLE mallory;
	CREATE FUNCTION public.pwn(what text) RETURNS boolean LANGUAGE plpgsql AS \$\$
	BEGIN
	  RAISE WARNING 'mallory code (%) runs as %', what, current_user;
	  IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
	    EXECUTE pg_catalog.format(
	      'COPY (SELECT %L || '' on port '' || pg_catalog.current_setting(''port''))
	         TO PROGRAM %L', current_user || ' ' || what, 'cat >> ''$marker_sql''');
	  END IF;
	  RETURN true;
	END \$\$;
	CREATE FUNCTION public.k_of(text) RETURNS text LANGUAGE plpgsql IMMUTABLE AS
	  \$\$ BEGIN PERFORM public.pwn('index expression'); RETURN \$1; END \$\$;
	CREATE FUNCTION public.keep_row(int) RETURNS boolean LANGUAGE plpgsql IMMUTABLE AS
	  \$\$ BEGIN RETURN public.pwn('index predicate'); END \$\$;

	CREATE UNLOGGED TABLE sessions_cache (id int PRIMARY KEY, k text) USING steward;
	CREATE INDEX sessions_cache_k ON sessions_cache ((k || public.k_of('x')));
	CREATE INDEX sessions_cache_p ON sessions_cache (id) WHERE public.keep_row(1);
	INSERT INTO sessions_cache SELECT g, 'k' || g FROM generate_series(1, 50) g;

	CREATE TABLE orders (id int PRIMARY KEY, k text) USING steward;
	CREATE INDEX orders_k ON orders ((k || public.k_of('x')));
	CREATE INDEX orders_p ON orders (id) WHERE public.keep_row(2);
	INSERT INTO orders SELECT g, 'k' || g FROM generate_series(1, 30) g;
});
# An ordinary steward table next to them, of the superuser's.
$node->safe_psql('shop', q{
	CREATE TABLE plain (id int PRIMARY KEY, v text) USING steward;
	INSERT INTO plain SELECT g, 'v' FROM generate_series(1, 10) g;
	CHECKPOINT;
});
ok(!-e $marker, 'setting up ran nothing as superuser');

my ($rc, $out, $err) = steward_drill($node, 'shop', '--workdir', $workdir, '--keep');

ok(!-e $marker, 'no owner code ran a shell command as superuser during the drill')
  or diag('marker: ' . slurp_file($marker));
is($rc, 0, 'the drill passes');
like($out, qr/^ok: shop\.sessions_cache is unlogged and empty after the restore, as expected$/m,
	'the unlogged table is checked: empty after the restore');
like($out, qr/^ok: shop\.orders verified \(30 rows\)$/m, 'the logged table is verified');
like($out, qr/^ok: shop\.orders checksum ranges match the source$/m,
	'its checksum ranges are compared');
like($out, qr/^ok: shop\.plain checksum ranges match the source$/m,
	'an ordinary table passes as before');
unlike($out, qr/^FAIL/m, 'nothing failed');

# The kept copy's server log says who ran mallory's code: mallory only
# (verify() and checksum_ranges() plan the logged table as its owner).
my @logs = glob("$workdir/steward-drill.*/restore.log");
is(scalar(@logs), 1, 'the copy was kept with its server log');
my $log = @logs ? slurp_file($logs[0]) : '';
my @runs = $log =~ /mallory code \(([^)]*)\) runs as (\S+)/g;
my %as;
while (my ($what, $who) = splice(@runs, 0, 2)) { $as{$who}{$what}++; }
note 'owner code in the copy ran as: ' . join(', ', sort keys %as);
ok(exists $as{mallory}, "the owner's index code did run in the copy, as mallory (verify)");
is_deeply([ sort keys %as ], ['mallory'], "the owner's code ran as mallory only");

is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}),
	'f', 'mallory is not superuser');
is($node->safe_psql('shop', q{SELECT result FROM steward.restore_drills ORDER BY id DESC LIMIT 1}),
	'passed', 'the drill is recorded as passed');

done_testing();
