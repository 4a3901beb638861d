# steward-drill with names a tenant chooses (issue 11 item 3, issue 13
# item 4): every name and value reaches SQL as data.
#
# A CREATEDB tenant (not a superuser) owns a database whose name looks like
# a connection string and holds quotes, spaces and non-ASCII.  In it the
# tenant creates schema "Sales Ü" with table "my orders" (primary key
# "Order Id"), a function t2.evil() that makes the tenant superuser when a
# superuser runs it, tables named to inject a call of it
# ("A';select(t2.evil());/*" and friends) and enough padding tables that
# the drill's log is longer than the 20,000 bytes the old script kept.
# A superuser runs the drill recording into that database.  The drill must
# pass; its row must hold the whole log (every crafted name verbatim);
# "my orders" must be verified and its checksum ranges compared; t2.evil()
# never runs, the tenant is not superuser, and an older row of
# steward.restore_drills is untouched.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest qw(steward_drill);
use IPC::Run;

my $osuser = getpwuid($>);
my $node   = PostgreSQL::Test::Cluster->new('drill_names');
$node->init(allows_streaming => 1, extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

# A database name that libpq would read as a connection string if it were
# passed as one (it would then connect to "postgres").
my $db = q{dbname=postgres port=1 "Tenant's" Ü};
(my $db_ident = $db) =~ s/"/""/g;
$node->safe_psql('postgres', q{
	CREATE ROLE tenant LOGIN CREATEDB;
	CREATE EXTENSION pg_steward;
});
$node->safe_psql('postgres', qq{SET ROLE tenant; CREATE DATABASE "$db_ident"});

# psql on the tenant's database: the name goes in PGDATABASE, as data.
sub try_psql
{
	my ($sql, %opts) = @_;
	local $ENV{PGDATABASE} = $db;
	my ($out, $err) = ('', '');
	IPC::Run::run(
		[
			'psql', '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1',
			'-h', $node->host, '-p', $node->port,
			'-U', $opts{user} // $osuser, '-f', '-'
		],
		'<', \$sql, '>', \$out, '2>', \$err);
	chomp $out;
	return ($? >> 8, $out, $err);
}

sub tenant_psql
{
	my ($rc, $out, $err) = try_psql(@_);
	die "psql failed: $err" if $rc;
	return $out;
}

tenant_psql('CREATE EXTENSION pg_steward');
is(tenant_psql('SELECT current_database()'), $db,
	'the database name reaches libpq as a name');

my @crafted = (
	q{A';select(t2.evil());/*},
	q{x'', result = 'passed' WHERE true; select t2.evil(); --},
	q{$$;select t2.evil();$$},
	q{:'x' :"y" \\! touch /tmp/steward-drill-pwned},
	qq{tab\tand\nnewline},
);
my $setup = q{
	CREATE SCHEMA "Sales Ü";
	CREATE TABLE "Sales Ü"."my orders" ("Order Id" int PRIMARY KEY, item text NOT NULL)
	  USING steward;
	INSERT INTO "Sales Ü"."my orders" SELECT g, 'item ' || g FROM generate_series(1, 300) g;
	CREATE SCHEMA t2;
	CREATE TABLE t2.calls (at timestamptz DEFAULT now(), by name DEFAULT current_user);
	GRANT INSERT ON t2.calls TO PUBLIC;
	CREATE FUNCTION t2.evil() RETURNS int LANGUAGE plpgsql AS $$
	BEGIN
	    INSERT INTO t2.calls DEFAULT VALUES;
	    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
	        EXECUTE 'ALTER ROLE tenant SUPERUSER';
	        UPDATE steward.restore_drills SET result = 'passed', details = 'forged';
	    END IF;
	    RETURN 1;
	END $$;
};
for my $name (@crafted)
{
	(my $ident = $name) =~ s/"/""/g;
	$setup .= qq{CREATE TABLE t2."$ident" (id int PRIMARY KEY, v text) USING steward;\n};
	$setup .= qq{INSERT INTO t2."$ident" SELECT g, 'v' FROM generate_series(1, 10) g;\n};
}
# Padding: 80 tables with 60-byte names make a log of well over 20,000 bytes.
$setup .= q{
	DO $$ BEGIN
	  FOR i IN 1..80 LOOP
	    EXECUTE format('CREATE TABLE t2.%I (id int PRIMARY KEY) USING steward',
	                   'pad ' || lpad(i::text, 3, '0') || ' ' || repeat('ü', 26));
	  END LOOP;
	END $$;
};
tenant_psql($setup, user => 'tenant');

# The tenant cannot write the drill table itself.
my ($rc, $out, $err) = try_psql('INSERT INTO steward.restore_drills (host) VALUES (1)',
	user => 'tenant');
like($err, qr/permission denied/, 'the tenant may not write steward.restore_drills');

# An earlier drill row that must survive untouched.
tenant_psql(q{INSERT INTO steward.restore_drills (host, finished_at, result, details)
              VALUES ('earlier', now(), 'failed', 'earlier drill')});
my $earlier = tenant_psql(q{SELECT id, host, result, details
                              FROM steward.restore_drills WHERE host = 'earlier'});

my $count_sql = q{SELECT count(*) FROM pg_class c JOIN pg_am a ON a.oid = c.relam
                   WHERE a.amname = 'steward' AND c.relkind = 'r'};
my $ntables = tenant_psql($count_sql) + $node->safe_psql('postgres', $count_sql);
($rc, $out, $err) = steward_drill($node, $db);
note "steward-drill exit $rc\nstderr:\n$err";
is($rc, 0, 'the drill passes');
is($err, '', 'the drill writes nothing to stderr');

my ($id, $result, $tables, $len, $finished, $rp) = split /\|/, tenant_psql(q{
	SELECT id, result, tables, octet_length(details), finished_at IS NOT NULL,
	       recovery_point IS NOT NULL
	  FROM steward.restore_drills WHERE host <> 'earlier'});
is($result,   'passed', 'the drill row says passed');
is($tables,   $ntables, 'every steward table of both databases was checked');
is($finished, 't',      'the drill row is finished');
is($rp,       't',      'the drill row has a recovery point');
cmp_ok($len, '>', 20000, 'the log is longer than the old 20,000-byte cut');
my $details = tenant_psql("SELECT details FROM steward.restore_drills WHERE id = $id");
like($details, qr/\Adrill $id: backing up the server/, 'the stored log starts at its beginning');
# The whole log (every database's tables) is in restore_drill_log; details
# holds the tenant's own database's lines (review9 F17).
my $log = tenant_psql("SELECT details FROM steward.restore_drill_log WHERE drill_id = $id");
like($log, qr/\Adrill $id: backing up the server/, 'the whole log is stored too');
for my $line (grep { /^(ok|FAIL|skipped): / } split /\n/, $out)
{
	next if index($log, $line) >= 0;
	fail("stored log lacks: $line");
}
for my $line (grep { /^(ok|FAIL|skipped): \Q$db\E\./ } split /\n/, $out)
{
	next if index($details, $line) >= 0;
	fail("details lack a line of the tenant's database: $line");
}
unlike($details, qr/^FAIL/m, 'no failure in the log');
like($details, qr/^ok: \Q$db\E\."Sales Ü"\."my orders" verified \(\d+ rows\)$/m,
	'"Sales Ü"."my orders" verified');
like($details,
	qr/^ok: \Q$db\E\."Sales Ü"\."my orders" checksum ranges match the source$/m,
	'"Sales Ü"."my orders" checksum ranges compared and equal');
for my $name (@crafted)
{
	(my $ident = $name) =~ s/"/""/g;
	like($details, qr/^ok: \Q$db.t2."$ident"\E checksum ranges match the source$/m,
		"crafted table t2.\"$ident\" verified and compared");
}
is(tenant_psql('SELECT count(*) FROM t2.calls'), 0, 't2.evil() never ran');
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'tenant'}),
	'f', 'the tenant is not superuser');
is(tenant_psql(q{SELECT id, host, result, details
                   FROM steward.restore_drills WHERE host = 'earlier'}),
	$earlier, 'the earlier drill row is untouched');
is(tenant_psql('SELECT count(*) FROM steward.restore_drills'), 2,
	'exactly one row added');
ok(!-e '/tmp/steward-drill-pwned', 'no shell command ran from a name');
is($node->safe_psql('postgres', 'SELECT count(*) FROM steward.restore_drills'),
	0, 'nothing recorded in the database "postgres"');

# Keys that expired since the source's purge worker last ran (review30
# R3): the restored copy's worker deleted them at its first round, right
# after start, and the drill failed the source's own, intact
# steward.idempotency_keys ("checksum ranges differ from the source").
# The source's worker is made to wait an hour (a reload ends its current
# wait: one round first), then keys of a one-second scope expire.
$node->safe_psql('postgres', q{ALTER SYSTEM SET steward.idempotency_purge_interval = '1h'});
$node->reload;
sleep 2;
tenant_psql(q{
	SELECT steward.set_idempotency_retention('r3', '1 second');
	SELECT steward.idempotency_begin('r3', 'k' || g, 'f') FROM generate_series(1, 5) g;
	SELECT steward.idempotency_complete('r3', 'k' || g, 200, '{}') FROM generate_series(1, 5) g;
});
sleep 2;
($rc, $out, $err) = steward_drill($node, $db);
note "steward-drill (expired keys) exit $rc\nstdout:\n$out\nstderr:\n$err";
is($rc, 0, 'with expired keys on the source the drill passes');
like($out, qr/^ok: \Q$db\E\.steward\.idempotency_keys checksum ranges match the source$/m,
	'the expired keys are compared, and equal: the copy purged none');
is(tenant_psql(q{SELECT count(*) FROM steward.idempotency_keys WHERE scope = 'r3'}), 5,
	'the source still holds the expired keys');

# A server without a database called postgres (review30 R2): the drill
# asked the restored copy whether it had left recovery, and which
# databases it holds, in "postgres", so it waited out its 300 s and failed
# ("the restored copy does not answer").  It now asks in the database it
# records into.
$node->safe_psql('template1', 'ALTER DATABASE postgres RENAME TO "maint db"');
($rc, $out, $err) = steward_drill($node, $db);
note "steward-drill (no database postgres) exit $rc\nstderr:\n$err";
is($rc, 0, 'without a database postgres the drill passes');
is(tenant_psql(q{SELECT result || '|' || tables FROM steward.restore_drills
                  ORDER BY id DESC LIMIT 1}),
	"passed|$ntables", 'without a database postgres every steward table of both databases was checked');
like($out, qr/^ok: maint db\.\S+ verified/m, 'the renamed database\'s tables are verified');

done_testing();
