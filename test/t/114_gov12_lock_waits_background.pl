# Lock waits between a governed job and processes that are not the
# foreground (codereview12 Q4, gov12).
#
# Part 1: a job kept waiting for autovacuum (a process without a role,
#   PGPROC.roleId InvalidOid) is not at work: the rule counts a wait as a
#   job's work only when another role's session holds the lock, and
#   InvalidOid differed from every role.  Here a job locks a table that a
#   slowed-down autovacuum is vacuuming, again and again under a
#   lock_timeout of 1 s, next to a foreground of 200 statements a second:
#   the foreground's baseline is measured.  On the old code the job was
#   busy in every tick and baseline_calls stayed 0 (assertion 'next to a
#   job waiting for autovacuum the baseline is measured' fails).
# Part 2: only the foreground's waits for a job's locks are its victims:
#   another governed job's session waiting for the job's row adds no
#   lock-wait sample; a client session's does.  On the old code the job's
#   lock_wait_samples grew (assertion 'another job waiting for the row is
#   no victim' fails).  An autovacuum worker or a background worker as the
#   waiter takes the same path (is_foreground_proc) but is not reachable
#   here: autovacuum takes its table's lock with SKIP_LOCKED unless it is
#   an anti-wraparound one, and waits for no heavyweight lock after it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use StewardTest qw(:DEFAULT start_bg gov_foreground gov_baseline_calls gov_node gov_end_job);

# gov_node's settings, with autovacuum on (every second) and no deadlock
# check within the test (it would cancel an autovacuum that blocks a job).
my $node = gov_node('lock_background');
$node->append_conf(
	'postgresql.conf', qq{
autovacuum = on
autovacuum_naptime = 1
log_autovacuum_min_duration = 0
deadlock_timeout = '10min'
});
$node->restart;

sub sql
{
	return $node->safe_psql('postgres', $_[0]);
}

sub su_job
{
	my ($label, $body) = @_;
	return start_bg('psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1',
		'-d', $node->connstr('postgres'), '-c', qq{
	SET steward.governor = off;
	SET lock_timeout = '1s';
	DO \$\$DECLARE
	  j bigint := steward.governor_begin('backfill', '$label');
	  n int := 0;
	BEGIN
	  $body
	END\$\$});
}


# --- Part 1: a job waiting for autovacuum -----------------------------
# A table autovacuum vacuums slowly: 100 ms of sleep for about every page.
sql(q{
	CREATE TABLE av (id int, pad text)
	  WITH (autovacuum_vacuum_cost_delay = 100, autovacuum_vacuum_cost_limit = 1,
	        autovacuum_vacuum_threshold = 0, autovacuum_vacuum_scale_factor = 0,
	        autovacuum_analyze_threshold = 2000000000);
	INSERT INTO av SELECT i, repeat('x', 100) FROM generate_series(1, 100000) i;
	DELETE FROM av;
});
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM pg_stat_progress_vacuum p JOIN pg_class c ON c.oid = p.relid
		                  WHERE c.relname = 'av')}, 60),
	'autovacuum vacuums the table');
my $av_job = su_job('av', q{
	  FOR i IN 1 .. 100000 LOOP
	    n := steward.governor_pace(j, n);
	    BEGIN
	      LOCK TABLE public.av IN SHARE MODE;
	    EXCEPTION WHEN lock_not_available THEN NULL;
	    END;
	  END LOOP;});
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs j
		                  JOIN pg_stat_activity a USING (pid)
		                  JOIN pg_stat_activity v ON v.pid = ANY (pg_blocking_pids(a.pid))
		                  WHERE j.label = 'av' AND a.wait_event_type = 'Lock'
		                    AND v.backend_type = 'autovacuum worker')}, 30),
	'a job waits for autovacuum');
my $fg = gov_foreground($node, 30);
ok( poll_until($node, 'postgres',
		q{SELECT coalesce(baseline_calls, 0) >= 400 FROM steward.governor}, 25),
	'next to a job waiting for autovacuum the baseline is measured');
note('baseline next to the job waiting for autovacuum: ' . gov_baseline_calls($node) . ' calls');
ok( sql(q{SELECT EXISTS (SELECT 1 FROM pg_stat_progress_vacuum p JOIN pg_class c ON c.oid = p.relid
	                      WHERE c.relname = 'av')}) eq 't',
	'autovacuum still vacuums the table');
$fg->{h}->kill_kill;
gov_end_job($node, 'av', $av_job);

# --- Part 2: who is a victim of a job's row lock ----------------------
sql(q{CREATE TABLE pl (id int PRIMARY KEY); INSERT INTO pl VALUES (1);});
my $holder = su_job('holder', q{
	  n := steward.governor_pace(j, 0);
	  UPDATE public.pl SET id = id WHERE id = 1;
	  PERFORM pg_sleep(300);});
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		                  WHERE c.relname = 'pl' AND l.mode = 'RowExclusiveLock' AND l.granted)}, 30),
	'a job holds the row');
my $victim = su_job('victim', q{
	  FOR i IN 1 .. 100000 LOOP
	    n := steward.governor_pace(j, n);
	    BEGIN
	      PERFORM 1 FROM public.pl WHERE id = 1 FOR UPDATE;
	    EXCEPTION WHEN lock_not_available THEN NULL;
	    END;
	  END LOOP;});
my $waits = q{SELECT EXISTS (SELECT 1 FROM pg_stat_activity a
                              JOIN steward.governor_jobs h ON h.pid = ANY (pg_blocking_pids(a.pid))
                              WHERE h.label = 'holder' AND a.wait_event_type = 'Lock' AND %s)};
ok( poll_until($node, 'postgres',
		sprintf($waits, q{a.pid IN (SELECT pid FROM steward.governor_jobs WHERE label = 'victim')}), 30),
	"another job waits for the job's row");
sleep 3;
is(sql(q{SELECT lock_wait_samples FROM steward.governor_jobs WHERE label = 'holder'}),
	'0', 'another job waiting for the row is no victim');
gov_end_job($node, 'victim', $victim);
my $client = start_bg('psql', '-X', '-At', '-d', $node->connstr('postgres'), '-c',
	q{SET lock_timeout = '3s'; SELECT 1 FROM pl WHERE id = 1 FOR UPDATE});
ok( poll_until($node, 'postgres',
		q{SELECT lock_wait_samples > 0 FROM steward.governor_jobs WHERE label = 'holder'}, 10),
	"a client session waiting for the row is one");
$client->{h}->finish;
gov_end_job($node, 'holder', $holder);
$node->stop;
done_testing();
