# A governed job that waits again and again for a row lock its own role
# holds cannot keep the governor from measuring its baseline (review24 V1).
#
# A tick in which a job works is kept out of every job's baseline, and any
# role may register a job (steward.governor_begin is PUBLIC).  Since
# 982543a a job works in a tick when it was busy for 2% of it, and a
# sample that saw it waiting for a row lock younger than a window counted
# as busy.  A plain role's job that took one batch, then waited for a row
# its own role holds in another session, again and again under a
# lock_timeout of 4 s (shorter than steward.governor_window, 5 s), was
# "busy" in every tick at no cost: next to a foreground of 200 statements
# a second baseline_calls stayed 0, and another role's job paused to
# measure one, then ran with no latency signal.  Now a lock wait counts as
# work only while its holder is a session of another role and the job's
# batch was handed out less than a window ago.
#
# Part 1: a job waiting for a row another role holds is still working:
#   a superuser's job (steward.governor = off: it takes a batch before
#   each wait) keeps the ticks from being idle.
# Part 2: review24 V1: the plain role's job waiting for its own role's
#   row does not.  The baseline keeps the idle ticks of the last minute,
#   so this cluster had no idle tick with a foreground before (part 1's
#   ticks are busy; the parts of TAP 105 share theirs, which is why an
#   earlier attempt there passed on the old code too), and the baseline
#   can only come from the lock-waiting job's time.  On the code before
#   the fix baseline_calls stays 0 (assertion 'the baseline is measured'
#   fails).

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use StewardTest qw(:DEFAULT start_bg gov_foreground gov_baseline_calls gov_wait_for_baseline
  gov_plain_psql gov_job_pid);

my $node = PostgreSQL::Test::Cluster->new('lock_own_role');
$node->init;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
autovacuum = off
steward.governor_interval = '1s'
# This test's own polling (about 10 statements a second) is no foreground:
# only the pgbench client's 200 a second (1,000 a window) is.
steward.governor_min_calls = 200
});
$node->start;

sub sql
{
	return $node->safe_psql('postgres', $_[0]);
}

is(sql(q{SHOW steward.governor_window}), '5s', 'the window is at its default');
sql(q{
	CREATE EXTENSION pg_steward;
	CREATE ROLE plain LOGIN;
	CREATE TABLE pl (id int PRIMARY KEY);
	INSERT INTO pl VALUES (1);
	ALTER TABLE pl OWNER TO plain;
});

# A session of the plain role holds the row.
my $holder = gov_plain_psql($node, q{BEGIN; SELECT * FROM pl FOR UPDATE; SELECT pg_sleep(300); COMMIT;});
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
		                  WHERE c.relname = 'pl' AND l.mode = 'RowShareLock' AND l.granted)}, 30),
	'a session of the plain role holds the row');

# PL/pgSQL: wait for the row, 1000 times over, each wait ending at the
# session's lock_timeout; $before_each runs before each wait.
sub wait_for_row_again
{
	my ($before_each) = @_;
	return qq{
	  FOR i IN 1 .. 1000 LOOP
	    $before_each
	    BEGIN
	      PERFORM 1 FROM public.pl WHERE id = 1 FOR UPDATE;
	    EXCEPTION WHEN lock_not_available THEN NULL;
	    END;
	  END LOOP;};
}

# --- Part 1: waits for another role's row are work ----------------------
my $su_job = start_bg('psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1',
	'-d', $node->connstr('postgres'), '-c', q{
	SET steward.governor = off;
	SET lock_timeout = '1s';
	DO $$DECLARE
	  j bigint := steward.governor_begin('backfill', 'su');
	  n int := 0;
	BEGIN}
	  . wait_for_row_again('n := steward.governor_pace(j, n);') . q{
	END$$});
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs j
		                  JOIN pg_stat_activity a USING (pid)
		                  WHERE j.label = 'su' AND a.wait_event_type = 'Lock')}, 30),
	"a superuser's job waits for the plain role's row");
my $fg = gov_foreground($node, 12);
sleep 10;
cmp_ok(sql(q{SELECT foreground_calls FROM steward.governor}), '>=', 500,
	'a foreground runs');
is(gov_baseline_calls($node), 0, "next to a job waiting for another role's row the foreground has no baseline");
$fg->{h}->kill_kill;
sleep 3;
my $su_pid = gov_job_pid($node, 'su');
sql(qq{SELECT pg_terminate_backend($su_pid)});
$su_job->{h}->finish;
ok( poll_until($node, 'postgres',
		qq{SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $su_pid)}, 30),
	"the superuser's job ended");

# --- Part 2: waits for its own role's row are not -----------------------
# The plain role's job: one governor_pace with no foreground hands it a
# whole batch (state working until its next pace), then it waits for the
# row under lock_timeout = 4 s, over and over.
my $waiter = gov_plain_psql($node, q{
	SELECT steward.governor_pace(steward.governor_begin('backfill', 'lockjob'), 0) > 0;
	DO $$BEGIN
	  PERFORM set_config('lock_timeout', '4s', false);}
	  . wait_for_row_again('') . q{
	END$$});
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs j
		                  JOIN pg_stat_activity a USING (pid)
		                  WHERE j.label = 'lockjob' AND j.state = 'working'
		                    AND a.wait_event_type = 'Lock')}, 30),
	"the plain role's job was handed a batch and waits for the row");
my $lockjob_pid = gov_job_pid($node, 'lockjob');

# Another job running: a superuser's job that obeys its pace and does no
# work of its own (a timer between paces is not work), so only the
# lock-waiting job can keep the ticks from being idle.
my $other = start_bg('psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1',
	'-d', $node->connstr('postgres'), '-c', q{
	DO $$DECLARE
	  j bigint := steward.governor_begin('backfill', 'other');
	  n int := 0;
	BEGIN
	  FOR i IN 1 .. 100000 LOOP
	    n := steward.governor_pace(j, n);
	    PERFORM pg_sleep(0.05);
	  END LOOP;
	END$$});
ok( poll_until($node, 'postgres',
		q{SELECT EXISTS (SELECT 1 FROM steward.governor_jobs WHERE label = 'other')}, 30),
	'another job runs');

$fg = gov_foreground($node, 45);

# At 200 statements a second a window's worth of idle ticks (5) holds
# about 1,000.  On the old code it stays 0 for all 35 s.
my $calls = gov_wait_for_baseline($node, 200, 35);
note("baseline next to the job waiting for its own role's row: $calls calls");
cmp_ok($calls, '>=', 200, 'the baseline is measured');
note('foreground calls in the window: '
	  . sql(q{SELECT foreground_calls FROM steward.governor}));
note('the other job: '
	  . sql(q{SELECT last_decision || ' ' || reason FROM steward.governor_jobs WHERE label = 'other'}));

# The condition held throughout: the job still says it works and waits.
is(sql(qq{SELECT j.state || ' ' || a.wait_event_type
            FROM steward.governor_jobs j JOIN pg_stat_activity a USING (pid)
           WHERE j.label = 'lockjob'}),
	'working Lock', 'the job still says it works, waiting for the lock');
is(sql(q{SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()
           AND usename = 'plain' AND wait_event_type = 'Timeout'}),
	'1', 'its role still holds the row');

$fg->{h}->kill_kill;
sql(qq{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE pid <> pg_backend_pid() AND (usename = 'plain' OR query LIKE '%''other''%')});
$_->{h}->finish for ($waiter, $holder, $other);

$node->stop;
done_testing();
