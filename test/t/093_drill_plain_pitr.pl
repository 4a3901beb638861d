# steward-drill without pgBackRest, recovered to a target time: the base
# backup it takes (pg_basebackup) plus WAL from the archive through
# --restore-command.
# - a target before the end of that backup fails the drill at once, saying
#   why and what to use instead (PostgreSQL would refuse to start the copy);
# - a target after it: the copy replays archived WAL written after the
#   backup and stops there; it holds exactly the rows committed by the
#   target (counted on the source by commit timestamp) and the drill
#   records the recovery point achieved, not after the target.

use strict;
use warnings;

use File::Path qw(make_path);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest qw(steward_drill);

my $osuser = getpwuid($>);
my $node = PostgreSQL::Test::Cluster->new('src');
$node->init(allows_streaming => 1);
my $arch = $PostgreSQL::Test::Utils::tmp_check . '/archive';
make_path($arch);
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
archive_mode = on
archive_command = 'cp %p $arch/%f'
track_commit_timestamp = on
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE events (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	                     at timestamptz NOT NULL DEFAULT clock_timestamp()) USING steward;
	INSERT INTO events DEFAULT VALUES;
	-- One row per commit, every 50 ms, until the given time.
	CREATE PROCEDURE tick(until timestamptz) LANGUAGE plpgsql AS $$
	BEGIN
		WHILE clock_timestamp() < until LOOP
			INSERT INTO events DEFAULT VALUES;
			COMMIT;
			PERFORM pg_sleep(0.05);
		END LOOP;
	END $$;
});

# The drill of database postgres, restoring WAL from the archive: its exit
# status (steward_drill).
sub run_drill
{
	my ($rc) = steward_drill($node, 'postgres', '--restore-command', "cp $arch/%f %p", @_);
	return $rc;
}

sub last_drill
{
	my ($result, $recovered_to, $target, $details) = split /\x1f/,
	  $node->safe_psql('postgres', q{
		SELECT concat_ws(chr(31), result, coalesce(recovered_to::text, ''),
		                 coalesce(target_time::text, ''), details)
		  FROM steward.restore_drills ORDER BY id DESC LIMIT 1});
	return { result => $result, recovered_to => $recovered_to,
		target => $target, details => $details };
}

# 1. A target before the backup the drill takes.
my $past = $node->safe_psql('postgres', q{SELECT now() - interval '1 minute'});
my $rc = run_drill('--target-time', $past);
isnt($rc, 0, 'a target time before the drill\'s own base backup fails the drill');
my $d = last_drill();
is($d->{result}, 'failed', 'recorded as failed');
like($d->{details},
	qr/^FAIL: --target-time \Q$past\E is before the end of the base backup this drill took \(.*\): a fresh backup recovers forward only; drill an earlier point from a backup you keep \(--pgbackrest\)$/m,
	'the drill says why and what to use instead');
unlike($d->{details}, qr/did not start/, 'it did not try to start a copy PostgreSQL refuses');

# A failing --before-restore hook fails the drill before any copy starts.
$rc = run_drill('--before-restore', 'exit 3');
isnt($rc, 0, 'a failing --before-restore fails the drill');
$d = last_drill();
like($d->{details}, qr/^FAIL: --before-restore failed$/m, 'the hook is named');
unlike($d->{details}, qr/did not start|restored copy on port/, 'no copy was started after it');

# 2. A target after the backup: the hook (run after the backup, before the
# copy starts) commits a row every 50 ms until 2 s past the target, then
# archives the WAL, which the copy replays up to the target.
my $target = $node->safe_psql('postgres',
	q{SELECT (now() + interval '8 seconds')::timestamptz(3)});
my $hook = $PostgreSQL::Test::Utils::tmp_check . '/write_past_target.sh';
open my $fh, '>', $hook or die;
printf $fh <<'HOOK', $node->host, $node->port, $osuser, $target;
#!/bin/sh
set -e
export PGHOST='%s' PGPORT='%s' PGUSER='%s' PGDATABASE=postgres
until="%s"
psql -X -q -v ON_ERROR_STOP=1 -v until="$until" <<'SQL'
CALL tick(:'until'::timestamptz + interval '2 seconds');
SQL
seg=$(psql -X -A -t -c 'SELECT pg_walfile_name(pg_switch_wal())')
for i in $(seq 1 600); do
	[ "$(psql -X -A -t -c "SELECT coalesce(last_archived_wal >= '$seg', false) FROM pg_stat_archiver")" = t ] && exit 0
	sleep 0.1
done
echo "WAL segment $seg not archived" >&2
exit 1
HOOK
close $fh;
chmod 0755, $hook;

$rc = run_drill('--target-time', $target, '--before-restore', $hook);
is($rc, 0, 'a drill to a time after its base backup passes');
$d = last_drill();
is($d->{result}, 'passed', 'recorded as passed');
is($node->safe_psql('postgres', "SELECT '$d->{target}'::timestamptz = '$target'::timestamptz"),
	't', 'the target is recorded');
my ($before, $after) = split /\|/, $node->safe_psql('postgres', qq{
	SELECT count(*) FILTER (WHERE pg_xact_commit_timestamp(xmin) <= '$target'),
	       count(*) FILTER (WHERE pg_xact_commit_timestamp(xmin) > '$target')
	  FROM events});
cmp_ok($after, '>', 0, "the source committed rows after the target ($after)");
like($d->{details}, qr/^ok: postgres\.events verified \($before rows\)$/m,
	"the copy holds exactly the $before rows committed by the target");
like($d->{details}, qr/^not compared: postgres\.events checksum ranges \(recovered to /m,
	'the source\'s later rows are not compared with the copy');
is($node->safe_psql('postgres', qq{
	SELECT '$d->{recovered_to}'::timestamptz <= '$target'
	   AND '$d->{recovered_to}'::timestamptz > '$target'::timestamptz - interval '2 seconds'}),
	't', "the recovery point achieved is recorded: $d->{recovered_to}, at most the target");

done_testing();
