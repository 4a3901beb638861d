# The files that keep pg_steward's cumulative counters across a clean
# restart (pg_stat/pg_steward_counters.stat, pg_steward_statements.stat,
# pg_steward_idempotency.stat; src/stats/statsfile.c) are as robust as
# PostgreSQL's pg_stat/pgstat.stat (stats49):
#   X4  a truncated or damaged file is discarded whole, with a LOG
#       "corrupted statistics file" naming it: a transition's state name
#       without its terminator (checksum made right, so only the record
#       check can catch it) used to be served as invalid text, and a
#       truncated file was loaded up to the cut;
#   X5  whatever has a file's name (a directory) or its temporary name (a
#       file the server cannot write) no longer blocks every later save;
#   X6  a start that fails with FATAL (recovery.signal without
#       restore_command) keeps the saved counters, as PostgreSQL keeps
#       pgstat.stat: the file used to be removed as soon as it was read;
#   X7  an immediate stop writes nothing (the postmaster exits with code 0
#       and used to save the counts of the stopped server): the files are
#       byte for byte those of the last clean shutdown, and a start after
#       pg_resetwal (pg_control then says "shut down") does not bring the
#       stopped server's counts back.

use strict;
use warnings;

use Digest::MD5 qw(md5_hex);
use File::Path;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('stats49_files');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_state_machine('s49_m', ARRAY['created', 'paid', 'refunded'],
	                                    ARRAY['created'], ARRAY['created->paid', 'paid->refunded']);
	CREATE TABLE s49 (id int PRIMARY KEY, st text NOT NULL DEFAULT 'created',
	                  ver bigint) USING steward;
	SELECT steward.attach_state_machine('s49', 'st', 's49_m');
	SELECT steward.track_versions('s49', 'ver');
	INSERT INTO s49 (id) VALUES (1), (2);
	UPDATE s49 SET st = 'paid' WHERE id = 1;
});

my $pgdata = $node->data_dir;
my %file = map { $_ => "$pgdata/pg_stat/pg_steward_$_.stat" } qw(counters statements idempotency);

# Events of every kind the files keep.
sub events
{
	$node->psql('postgres', q{UPDATE s49 SET ver = 0, st = 'paid' WHERE id = 1});
	$node->safe_psql('postgres', q{
		SELECT 4901 AS s49_marker;
		SELECT outcome FROM steward.idempotency_begin('s49', 'k' || clock_timestamp(), 'fp');
	});
}

# What a scraper would read of them, one line each.
sub snapshot
{
	return $node->safe_psql('postgres', q{
		SELECT 'counters ' || coalesce((SELECT version_conflicts || '/' || illegal_transitions
		                                  FROM steward.table_counters() WHERE relid = 's49'::regclass), '-');
		SELECT 'edges ' || coalesce((SELECT string_agg(from_state || '->' || to_state || '=' || transitions, ',')
		                               FROM steward.transition_counts WHERE relid = 's49'::regclass), '-');
		SELECT 'statements ' || coalesce((SELECT sum(calls)::text FROM steward.statements
		                                   WHERE query LIKE '%s49_marker%'), '-');
		SELECT 'idempotency ' || coalesce((SELECT new::text FROM steward.idempotency_counters()
		                                    WHERE scope = 's49'), '-');
	});
}
my $empty = "counters -\nedges -\nstatements -\nidempotency -";

sub log_since
{
	my ($offset) = @_;
	return slurp_file($node->logfile, $offset);
}

sub md5_of
{
	my ($path) = @_;
	return 'absent' unless -e $path;
	return md5_hex(slurp_file($path));
}

# CRC-32C (Castagnoli, reflected), as PostgreSQL's pg_crc32c computes it.
my @crc_table = map {
	my $c = $_;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$c
} 0 .. 255;

sub crc32c
{
	my ($bytes) = @_;
	my $crc = 0xFFFFFFFF;
	$crc = $crc_table[($crc ^ $_) & 0xFF] ^ ($crc >> 8) for unpack('C*', $bytes);
	return $crc ^ 0xFFFFFFFF;
}

sub write_file
{
	my ($path, $bytes) = @_;
	open my $fh, '>:raw', $path or die "$path: $!";
	print $fh $bytes;
	close $fh or die "$path: $!";
}

events() for 1 .. 2;
my $full = snapshot();
like($full, qr/^counters 2\/0\nedges created->paid=1\nstatements 2\nidempotency 2$/,
	'two conflicts, one edge, two marker calls, two new keys');

# ---- X4: damaged files are discarded whole ------------------------------
$node->stop;
my $saved = slurp_file($file{counters});
my $edge_at = index($saved, "created\0");
ok($edge_at > 0, 'the counters file holds the edge created->paid');
is(unpack('V', substr($saved, -4)), crc32c(substr($saved, 0, length($saved) - 4)),
	'the file ends with the CRC-32C of the rest (so the forged file below passes the checksum)');

# The name's terminator and padding overwritten; checksum made right.
my $bad = $saved;
substr($bad, $edge_at + 7, 64 - 7) = 'x' x (64 - 7);
my $body = substr($bad, 0, length($bad) - 4);
write_file($file{counters}, $body . pack('V', crc32c($body)));
my $log_offset = -s $node->logfile;
$node->start;
is(snapshot(), "counters -\nedges -\nstatements 2\nidempotency 2",
	'X4: a state name without its terminator discards the whole counters file');
like(log_since($log_offset), qr/LOG:  corrupted statistics file "pg_stat\/pg_steward_counters\.stat"/,
	'... with a LOG naming the file');
unlike($node->safe_psql('postgres',
		q{SELECT string_agg(from_state || to_state, ',') FROM steward.transition_counts}),
	qr/x{8}/, '... and no such name is served');
$node->stop;

# Truncated files: nothing of what comes before the cut is served.
for my $kind (qw(counters statements idempotency))
{
	ok(-f $file{$kind}, "the $kind file was saved") or next;
	my $bytes = slurp_file($file{$kind});
	write_file($file{$kind}, substr($bytes, 0, int(length($bytes) * 3 / 4)));
}
$log_offset = -s $node->logfile;
$node->start;
is(snapshot(), $empty, 'X4: truncated files are discarded whole');
my $log = log_since($log_offset);
for my $kind (qw(counters statements idempotency))
{
	like($log, qr/corrupted statistics file "pg_stat\/pg_steward_$kind\.stat"/,
		"... the $kind file named in the LOG");
}
ok(!-e $file{$_}, "... and the damaged $_ file removed") for qw(counters statements);

# One byte changed in a count: the checksum discards it.
events();
$node->stop;
my $stmt = slurp_file($file{statements});
substr($stmt, 40, 1) = chr(ord(substr($stmt, 40, 1)) ^ 1);
write_file($file{statements}, $stmt);
$log_offset = -s $node->logfile;
$node->start;
like(snapshot(), qr/^counters 1\/0\nedges -\nstatements -\nidempotency 1$/,
	'X4: a statements file with one bit changed is discarded, the others load');
like(log_since($log_offset), qr/corrupted statistics file "pg_stat\/pg_steward_statements\.stat"/,
	'... with a LOG naming it');

# ---- X5: nothing in a file's place blocks the next save ------------------
$node->stop;
unlink($file{counters});
mkdir($file{counters}) or die;
write_file("$file{counters}/junk", 'junk');
write_file("$file{statements}.tmp", 'old');
chmod(0000, "$file{statements}.tmp") or die;
$node->start;
events();
my $before = snapshot();
like($before, qr/^counters 1\/0\nedges -\nstatements 1\nidempotency 2$/,
	'X5: started with a directory as the counters file (its counts lost)');
$log_offset = -s $node->logfile;
$node->restart;
ok(-f $file{counters}, 'X5: the directory was replaced by the saved file');
is(snapshot(), $before, 'X5: the save after an unreadable file and an unwritable temporary file worked');
like(log_since($log_offset), qr/removing "pg_stat\/pg_steward_counters\.stat", which is not a regular file/,
	'... and the removal is LOGged');

# ---- X6: a start that fails with FATAL loses nothing --------------------
# (what X5 put in place is cleared first: on the old code it is still
# there and would keep anything from being saved)
$node->stop;
File::Path::rmtree($file{counters}) if -d $file{counters};
chmod(0600, "$file{statements}.tmp");
unlink("$file{statements}.tmp");
$node->start;
events();
my $kept = snapshot();
like($kept, qr/^counters [1-9].*\nstatements [1-9].*\nidempotency [1-9]/s, 'counts to keep');
$node->stop;
write_file("$pgdata/recovery.signal", '');
$log_offset = -s $node->logfile;
ok(!$node->start(fail_ok => 1), 'the start with recovery.signal and no restore_command fails');
like(log_since($log_offset), qr/must specify restore_command/, '... with its FATAL');
unlink("$pgdata/recovery.signal");
$node->start;
is(snapshot(), $kept, 'X6: every count kept across the failed start');

# ---- X7: an immediate stop writes nothing ------------------------------
my %md5 = map { $_ => md5_of($file{$_}) } keys %file;
events();
$node->stop('immediate');
is(md5_of($file{$_}), $md5{$_}, "X7: the $_ file is the last clean shutdown's after an immediate stop")
  for sort keys %file;
command_ok([ 'pg_resetwal', '-f', $pgdata ], 'pg_resetwal marks the stopped server as shut down');
$node->start;
is(snapshot(), $empty, 'X7: the counts of the immediately stopped server do not come back');
$node->stop;
done_testing();
