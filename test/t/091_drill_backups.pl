# Restore drills that never pass a broken restore, on every layout a
# production cluster has, and on the backups users really keep:
# - a table emptied in the backup fails the drill whatever its key shape
#   (two-column key, no key, one-column key), naming the table;
# - a cluster with a user tablespace and an unlogged table drills (the
#   copy relocates the tablespace; the unlogged table is empty, as it must);
# - pgBackRest: full, writes, incremental, writes, archive; drills to a time
#   between them see exactly the rows committed before it and record the
#   backup, the target and the recovery point achieved; a damaged backup
#   file fails the drill naming it.

use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest qw(steward_drill);

# pgBackRest is part of what the tests need (scripts/setup.sh installs it):
# without it this test fails, it does not skip.
my $pgbackrest = `sh -c 'command -v pgbackrest'`;
chomp $pgbackrest;
BAIL_OUT('pgbackrest is not installed (scripts/setup.sh installs it)') unless $pgbackrest;

my $node = PostgreSQL::Test::Cluster->new('src');
$node->init(allows_streaming => 1);
my $base = $PostgreSQL::Test::Utils::tmp_check . '/pgbr';
make_path("$base/repo", "$base/log", "$base/spool", "$base/lock", "$base/ts");
my $conf = "$base/pgbackrest.conf";
open my $fh, '>', $conf or die;
print $fh <<"CONF";
[global]
repo1-path=$base/repo
repo1-retention-full=2
log-path=$base/log
spool-path=$base/spool
lock-path=$base/lock
log-level-console=warn
log-level-file=off
start-fast=y
compress-type=gz

[main]
pg1-path=@{[ $node->data_dir ]}
pg1-port=@{[ $node->port ]}
pg1-socket-path=@{[ $node->host ]}
CONF
close $fh;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
archive_mode = on
archive_command = '$pgbackrest --config=$conf --stanza=main archive-push %p'
# A page written while a backup runs is restored from its full-page image
# in the WAL: an autovacuum of a table during the damaged drill below put
# back the emptied file's rows (the drill passed; CI, 30 Nov).  Nothing
# writes the tables' pages after the VACUUM FREEZE below.
autovacuum = off
});
$node->start;

$node->safe_psql('postgres', qq{
	CREATE EXTENSION pg_steward;
	CREATE TABLESPACE fast LOCATION '$base/ts';
	CREATE TABLE tenant_invoices (tenant_id int, invoice_id int, amount numeric,
	                              PRIMARY KEY (tenant_id, invoice_id)) USING steward;
	INSERT INTO tenant_invoices SELECT g % 50, g, g FROM generate_series(1, 5000) g;
	CREATE TABLE one_key (id int PRIMARY KEY, v text) USING steward;
	INSERT INTO one_key SELECT g, md5(g::text) FROM generate_series(1, 3000) g;
	CREATE TABLE no_key (a int, b text) USING steward;
	INSERT INTO no_key SELECT g % 7, 'x' || g FROM generate_series(1, 3000) g;
	CREATE TABLE by_expr (k text, v int) USING steward;
	CREATE UNIQUE INDEX ON by_expr (lower(k));
	INSERT INTO by_expr SELECT 'K' || g, g FROM generate_series(1, 2000) g;
	CREATE TABLE in_ts (id int PRIMARY KEY, v int) USING steward TABLESPACE fast;
	INSERT INTO in_ts SELECT g, g FROM generate_series(1, 1000) g;
	CREATE UNLOGGED TABLE scratch (id int PRIMARY KEY) USING steward;
	INSERT INTO scratch SELECT generate_series(1, 100);
});
$node->safe_psql('postgres', 'VACUUM (FREEZE, ANALYZE)');
$node->safe_psql('postgres', 'CHECKPOINT');

sub last_drill
{
	my $row = $node->safe_psql('postgres', q{
		SELECT result, coalesce(backup_source, ''), coalesce(backup_label, ''),
		       backup_time IS NOT NULL, coalesce(recovered_to::text, ''),
		       coalesce(target_time::text, '')
		  FROM steward.restore_drills ORDER BY id DESC LIMIT 1});
	my %d;
	@d{qw(result source label has_backup_time recovered_to target)} = split /\|/, $row;
	$d{details} = $node->safe_psql('postgres',
		'SELECT details FROM steward.restore_drills ORDER BY id DESC LIMIT 1');
	return \%d;
}

# A clean drill passes on this layout: tablespace relocated, unlogged empty.
my ($rc, $out) = steward_drill($node, 'postgres');
is($rc, 0, 'drill passes with a user tablespace and an unlogged table');
my $d = last_drill();
is($d->{result}, 'passed', 'recorded as passed');
is($d->{source}, 'pg_basebackup', 'backup source recorded');
# docs/observability.md ("What ok means"): a drill without --pgbackrest
# restores a base backup it took itself, which says nothing of the
# server's backups:
# backup_age_s stays unknown and its first response names --pgbackrest.
is($node->safe_psql('postgres', q{
	SELECT value IS NULL AND status = 'unknown' AND first_response LIKE '%--pgbackrest STANZA%'
	  FROM steward.health WHERE "check" = 'backup_age_s'}),
	't', 'a plain drill leaves backup_age_s unknown, naming --pgbackrest');
like($d->{details}, qr/^ok: postgres\.in_ts verified \(1000 rows\)$/m,
	'table in the user tablespace restored and verified');
like($d->{details}, qr/^ok: postgres\.scratch is unlogged and empty after the restore/m,
	'unlogged table: empty, as expected');
for my $t (qw(tenant_invoices one_key no_key by_expr in_ts))
{
	like($d->{details}, qr/^ok: postgres\.$t checksum ranges match the source$/m,
		"$t compared range by range whatever its key");
}
is(-d "$base/ts" ? scalar(() = glob("$base/ts/*")) : 0, 1,
	'the source tablespace directory holds only the source\'s data');

# Empty one table's data file in the backup: the drill fails naming it,
# whatever the table's key shape.
for my $t (qw(tenant_invoices no_key by_expr one_key in_ts))
{
	my $path = $node->safe_psql('postgres', "SELECT pg_relation_filepath('$t')");
	# A table in a tablespace lives under pg_tblspc/OID/..., which the drill
	# relocates: damage whatever the copy's path resolves to.
	($rc, $out) = steward_drill($node, 'postgres', '--before-restore', qq{: > "\$(readlink -f "\$1/$path")"});
	isnt($rc, 0, "emptied $t: the drill fails");
	$d = last_drill();
	is($d->{result}, 'failed', "emptied $t: recorded as failed");
	like($d->{details}, qr/^FAIL: postgres\.$t: /m, "emptied $t: the failure names it");
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM in_ts'), '1000',
	'damaging the copy never touched the source tablespace');

{
	my @br = ($pgbackrest, "--config=$conf", '--stanza=main');
	sub pgbr
	{
		my ($what, @cmd) = @_;
		my ($o, $e) = ('', '');
		IPC::Run::run(\@cmd, '<', \undef, '>', \$o, '2>', \$e)
		  or die "pgbackrest $what failed: $o $e";
	}
	pgbr('stanza-create', @br, 'stanza-create');
	pgbr('check', @br, 'check');
	$node->safe_psql('postgres',
		'CREATE TABLE events (id int PRIMARY KEY, batch text) USING steward');
	pgbr('full backup', @br, '--type=full', 'backup');
	$node->safe_psql('postgres',
		"INSERT INTO events SELECT g, 'a' FROM generate_series(1, 1000) g");
	sleep 1;
	my $t1 = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
	sleep 1;
	$node->safe_psql('postgres',
		"INSERT INTO events SELECT g, 'b' FROM generate_series(1001, 2000) g");
	pgbr('incr backup', @br, '--type=incr', 'backup');
	$node->safe_psql('postgres',
		"INSERT INTO events SELECT g, 'c' FROM generate_series(2001, 3000) g");
	sleep 1;
	my $t2 = $node->safe_psql('postgres', 'SELECT clock_timestamp()');
	sleep 1;
	$node->safe_psql('postgres',
		"INSERT INTO events SELECT g, 'd' FROM generate_series(3001, 4000) g");
	# Archive everything written so far.
	my $seg = $node->safe_psql('postgres',
		'SELECT pg_walfile_name(pg_current_wal_lsn()) FROM pg_switch_wal()');
	$node->poll_query_until('postgres',
		"SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver")
	  or die 'WAL not archived';

	# To a time between the full and the incremental backup.
	($rc, $out) = steward_drill($node, 'postgres', '--pgbackrest', 'main', '--pgbackrest-config', $conf,
		'--target-time', $t1);
	is($rc, 0, 'pgBackRest drill to a time after the full backup passes');
	$d = last_drill();
	is($d->{source}, 'pgbackrest:main', 'backup source recorded');
	like($d->{label}, qr/F$/, 'restored the full backup (the incremental came later)');
	like($d->{details}, qr/^ok: postgres\.events verified \(1000 rows\)$/m,
		'exactly the rows committed before the target time');
	ok($d->{recovered_to} ne '' && $node->safe_psql('postgres',
		"SELECT '$d->{recovered_to}'::timestamptz <= '$t1'::timestamptz"
		  . " AND '$d->{target}'::timestamptz = '$t1'::timestamptz") eq 't',
		'achieved recovery point recorded, not after the target');

	# To a time after the incremental backup.
	($rc, $out) = steward_drill($node, 'postgres', '--pgbackrest', 'main', '--pgbackrest-config', $conf,
		'--target-time', $t2);
	is($rc, 0, 'pgBackRest drill to a time after the incremental backup passes');
	$d = last_drill();
	like($d->{label}, qr/I$/, 'restored the incremental backup');
	like($d->{details}, qr/^ok: postgres\.events verified \(3000 rows\)$/m,
		'exactly the rows committed before the second target');
	like($d->{details}, qr/^ok: postgres\.in_ts verified \(1000 rows\)$/m,
		'tablespace relocated from pgBackRest too');
	is($node->safe_psql('postgres', q{
		SELECT status FROM steward.health WHERE "check" = 'recovery_point_s'}),
		'ok', 'achieved RPO within steward.rpo');
	is($node->safe_psql('postgres', q{
		SELECT value IS NOT NULL AND status = 'ok' FROM steward.health WHERE "check" = 'backup_age_s'}),
		't', 'health shows the age of the last drilled pgBackRest backup, ok');

	# The latest backup, to the end of the archive: everything archived.
	($rc, $out) = steward_drill($node, 'postgres', '--pgbackrest', 'main', '--pgbackrest-config', $conf);
	is($rc, 0, 'pgBackRest drill of the latest backup passes');
	$d = last_drill();
	like($d->{details}, qr/^ok: postgres\.events verified \(4000 rows\)$/m,
		'the latest backup plus archived WAL has every row');

	# Damage a file of the incremental backup in the repository.
	my ($label) = $d->{label};
	my $relpath = $node->safe_psql('postgres', "SELECT pg_relation_filepath('events')");
	my ($file) = glob("$base/repo/backup/main/$label/pg_data/$relpath*");
	ok(defined $file && -f $file, "backup file of events found ($relpath)");
	open my $bf, '+<', $file or die "open $file: $!";
	binmode $bf;
	seek $bf, 20, 0;
	print $bf "damage" x 10;
	close $bf;
	($rc, $out) = steward_drill($node, 'postgres', '--pgbackrest', 'main', '--pgbackrest-config', $conf);
	isnt($rc, 0, 'a damaged backup file fails the drill');
	$d = last_drill();
	is($d->{result}, 'failed', 'recorded as failed');
	like($d->{details}, qr/^FAIL: pgBackRest backup \Q$label\E is damaged: .*\Q$relpath\E/m,
		'the failure names the damaged file');
}

$node->stop;
done_testing();
