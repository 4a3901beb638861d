# The purge worker and tenants' databases (issue 11 item 5).
#
# A CREATEDB role makes databases of its own.  The worker must only touch
# the real extension's tables, as their owner, and no database may stall
# the others:
#   - in "tenant_fake" (no pg_steward) the tenant builds schema steward with
#     idempotency_keys (expired rows, an AFTER DELETE trigger that logs who
#     runs it and sleeps an hour), capacity_samples and _capacity_sample();
#     the worker must leave all of it alone: no row deleted, no trigger or
#     function run;
#   - in "tenant_ext" (pg_steward installed by a superuser, database owned
#     by the tenant) the tenant cannot add a trigger or rule to the real
#     steward.idempotency_keys, cannot change it, and cannot create objects
#     in schema steward (42501); it holds an ACCESS EXCLUSIVE lock on a
#     steward table of its own, which blocks the worker's size sample;
#   - in "tenant_squat" the tenant made schema steward before the
#     extension: CREATE EXTENSION refuses it (42501);
#   - in "stuck" a superuser holds an ACCESS EXCLUSIVE lock on
#     steward.idempotency_keys, which blocks the purge;
#   - meanwhile "shop", visited after them, gets its expired keys purged
#     wave after wave, and the worker's waits end with a lock timeout
#     (steward.idempotency_purge_timeout) in the log;
#   - the worker's session user in "shop" is the tables' owner, not the
#     bootstrap superuser, and the tenant is never superuser.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('purge_tenants');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'pg_steward'
steward.idempotency_purge_interval = '1s'
steward.idempotency_purge_timeout = '2s'
steward.capacity_sample_interval = '1s'
});
$node->start;

# The stalling databases come first in pg_database, so the launcher visits
# them before "shop".
$node->safe_psql('postgres', q{
	CREATE ROLE tenant LOGIN CREATEDB;
	CREATE ROLE steward_admin LOGIN SUPERUSER;
});
$node->safe_psql('postgres', 'SET ROLE tenant; CREATE DATABASE tenant_fake');
$node->safe_psql('postgres', 'SET ROLE tenant; CREATE DATABASE tenant_ext');
$node->safe_psql('postgres', 'CREATE DATABASE stuck');
$node->safe_psql('postgres', 'CREATE DATABASE shop');

# tenant_fake: a look-alike of the extension's tables, made by the tenant.
$node->safe_psql('tenant_fake', q{
	SET ROLE tenant;
	CREATE TABLE public.calls (at timestamptz DEFAULT clock_timestamp(),
	                           what text, session_user_name name, current_user_name name);
	GRANT INSERT ON public.calls TO PUBLIC;
	CREATE FUNCTION public.log_call(what text) RETURNS void LANGUAGE sql
	  AS $$ INSERT INTO public.calls (what, session_user_name, current_user_name)
	        VALUES (what, session_user, current_user) $$;
	CREATE SCHEMA steward;
	CREATE TABLE steward.idempotency_keys (
	    scope text NOT NULL, key text NOT NULL, fingerprint text NOT NULL,
	    status integer, response jsonb,
	    created_at timestamptz NOT NULL DEFAULT now(),
	    locked_at timestamptz NOT NULL DEFAULT now(),
	    completed_at timestamptz, expires_at timestamptz NOT NULL);
	INSERT INTO steward.idempotency_keys (scope, key, fingerprint, expires_at)
	  SELECT 'fake', 'k' || g, 'fp', now() - interval '1 day' FROM generate_series(1, 20) g;
	CREATE FUNCTION steward.slow_delete() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	    PERFORM public.log_call('trigger');
	    PERFORM pg_sleep(3600);
	    RETURN NULL;
	END $$;
	CREATE TRIGGER slow AFTER DELETE ON steward.idempotency_keys
	  FOR EACH ROW EXECUTE FUNCTION steward.slow_delete();
	CREATE TABLE steward.capacity_samples (sampled_at timestamptz, relid oid,
	                                       writes bigint, bytes bigint);
	CREATE FUNCTION steward._capacity_sample(force boolean DEFAULT false) RETURNS void
	  LANGUAGE plpgsql AS $$ BEGIN PERFORM public.log_call('sample'); END $$;
});

# tenant_ext: the real extension in the tenant's database.
$node->safe_psql('tenant_ext', q{
	CREATE EXTENSION pg_steward;
	GRANT CREATE ON SCHEMA public TO tenant;
});
for my $attack (
	[ 'trigger on the keys table',
	  q{CREATE FUNCTION public.t() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
	    CREATE TRIGGER slow AFTER DELETE ON steward.idempotency_keys
	      FOR EACH ROW EXECUTE FUNCTION public.t()} ],
	[ 'rule on the keys table',
	  q{CREATE RULE r AS ON DELETE TO steward.idempotency_keys DO INSTEAD NOTHING} ],
	[ 'policy on the keys table',
	  q{CREATE POLICY p ON steward.idempotency_keys USING (false)} ],
	[ 'ALTER TABLE of the keys table',
	  q{ALTER TABLE steward.idempotency_keys ADD COLUMN x int} ],
	[ 'LOCK of the keys table',
	  q{BEGIN; LOCK TABLE steward.idempotency_keys; COMMIT} ],
	[ 'a table in schema steward',
	  q{CREATE TABLE steward.capacity_samples2 (x int)} ],
	[ 'a function in schema steward',
	  q{CREATE FUNCTION steward.f() RETURNS int LANGUAGE sql AS 'SELECT 1'} ])
{
	my ($name, $sql) = @$attack;
	my ($rc, $out, $err) = $node->psql('tenant_ext', "SET ROLE tenant; $sql",
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  42501:/, "tenant cannot add a $name: 42501");
}

# A schema "steward" the tenant made before the extension: CREATE EXTENSION
# refuses to adopt it (its owner could rename it, drop the extension with
# it, or add look-alikes next to the real objects).
$node->safe_psql('postgres', 'SET ROLE tenant; CREATE DATABASE tenant_squat');
$node->safe_psql('tenant_squat', 'SET ROLE tenant; CREATE SCHEMA steward');
{
	my ($rc, $out, $err) = $node->psql('tenant_squat', 'CREATE EXTENSION pg_steward',
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	like($err, qr/ERROR:  42501: schema "steward" belongs to role "tenant"/,
		'CREATE EXTENSION refuses a schema "steward" owned by the tenant (42501)');
	is($node->safe_psql('tenant_squat',
		q{SELECT count(*) FROM pg_extension WHERE extname = 'pg_steward'}),
		'0', '... and installs nothing');
}

# tenant_ext: the tenant locks a steward table of its own, which the size
# sample must read.
$node->safe_psql('tenant_ext', q{
	SET ROLE tenant;
	CREATE TABLE public.mine (id int PRIMARY KEY) USING steward;
});
my $tenant_lock = $node->background_psql('tenant_ext');
$tenant_lock->query_safe('SET ROLE tenant');
$tenant_lock->query_safe('BEGIN');
$tenant_lock->query_safe('LOCK TABLE public.mine IN ACCESS EXCLUSIVE MODE');

# stuck: expired keys, and a superuser session locking the keys table.
$node->safe_psql('stuck', q{
	CREATE EXTENSION pg_steward;
	SET steward.idempotency_retention = '1s';
	SELECT count(*) FROM generate_series(1, 10) g,
	       steward.idempotency_begin('s', 'k' || g, 'fp');
});
my $stuck_lock = $node->background_psql('stuck');
$stuck_lock->query_safe('BEGIN');
$stuck_lock->query_safe('LOCK TABLE steward.idempotency_keys IN ACCESS EXCLUSIVE MODE');

# shop: the table owner is an ordinary superuser role, not the bootstrap one.
$node->safe_psql('shop', q{
	SET ROLE steward_admin;
	CREATE EXTENSION pg_steward;
	CREATE TABLE public.who (session_user_name name, current_user_name name);
});

my $bootstrap = $node->safe_psql('postgres',
	'SELECT rolname FROM pg_roles WHERE oid = 10');
my $t0 = time;
for my $wave (1 .. 3)
{
	$node->safe_psql('shop', qq{
		SET steward.idempotency_retention = '1s';
		SELECT count(*) FROM generate_series(1, 50) g,
		       steward.idempotency_begin('wave$wave', 'k' || g, 'fp');
	});
	ok( poll_until(
			$node, 'shop',
			"SELECT count(*) = 0 FROM steward.idempotency_keys WHERE scope = 'wave$wave'",
			30),
		"shop: wave $wave of expired keys purged while two databases are locked");
}
note sprintf('three waves purged in %.1f s', time - $t0);

# (pg_stat, not the table: the table is locked.)
is( $node->safe_psql('stuck',
		q{SELECT n_tup_del FROM pg_stat_user_tables
		   WHERE relid = 'steward.idempotency_keys'::regclass}),
	'0', 'stuck: nothing purged while the table is locked');
my $log = slurp_file($node->logfile);
like($log, qr/canceling statement due to (lock|statement) timeout/,
	'the blocked worker gave up at its timeout');
unlike($log, qr/overstayed/, 'no worker had to be terminated');

is($node->safe_psql('tenant_fake', 'SELECT count(*) FROM steward.idempotency_keys'),
	'20', 'tenant_fake: no row of the look-alike table deleted');
is($node->safe_psql('tenant_fake', 'SELECT count(*) FROM public.calls'),
	'0', 'tenant_fake: neither the trigger nor the look-alike function ran');
is( $node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity
		   WHERE datname = 'tenant_fake' AND backend_type = 'pg_steward purge'}),
	'0',
	'no purge worker is left in tenant_fake');

# Who the worker is: the keys table's owner (steward_admin), both as
# session and current user, when it runs SQL in "shop".
$node->safe_psql('shop', q{
	CREATE FUNCTION public.record_who() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	    INSERT INTO public.who VALUES (session_user, current_user);
	    RETURN NULL;
	END $$;
	ALTER FUNCTION public.record_who() OWNER TO steward_admin;
	ALTER TABLE public.who OWNER TO steward_admin;
	CREATE TRIGGER record_who AFTER DELETE ON steward.idempotency_keys
	  FOR EACH ROW EXECUTE FUNCTION public.record_who();
	SET steward.idempotency_retention = '1s';
	SELECT count(*) FROM steward.idempotency_begin('who', 'k', 'fp');
});
ok(poll_until($node, 'shop', 'SELECT count(*) > 0 FROM public.who', 30),
	'the owner\'s trigger saw the purge');
is($node->safe_psql('shop', 'SELECT DISTINCT session_user_name || \'/\' || current_user_name FROM public.who'),
	'steward_admin/steward_admin',
	"the worker runs as the tables' owner, not as $bootstrap");

$stuck_lock->query_safe('COMMIT');
$tenant_lock->query_safe('COMMIT');
$stuck_lock->quit;
$tenant_lock->quit;
ok( poll_until($node, 'stuck', 'SELECT count(*) = 0 FROM steward.idempotency_keys', 30),
	'stuck: purged once the lock is gone');
ok( poll_until($node, 'tenant_ext',
		q{SELECT count(*) > 0 FROM steward.capacity_samples
		   WHERE relid = 'public.mine'::regclass}, 30),
	'tenant_ext: sampled once the tenant\'s lock is gone');
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'tenant'}),
	'f', 'the tenant is not superuser');

# A freeze of the machine (closing41: CI's benchmark freezer stopped the
# whole cgroup for 279 s): the launcher and a visiting worker both stop
# past every deadline.  The launcher wakes first (here: a second before
# the worker) and must leave the worker its grace to end the visit by
# itself; before, it terminated the worker at once ("overstayed", exit
# code 1 in the log, as after a real failure).
my $freeze_lock = $node->background_psql('stuck');
$freeze_lock->set_query_timer_restart;
$freeze_lock->query_safe(q{SET steward.idempotency_retention = '1s'});
$freeze_lock->query_safe(
	q{SELECT count(*) FROM steward.idempotency_begin('frozen', 'k', 'fp')});
$freeze_lock->query_safe('BEGIN');
$freeze_lock->query_safe('LOCK TABLE steward.idempotency_keys IN ACCESS EXCLUSIVE MODE');
my $wait_q = q{SELECT pid FROM pg_stat_activity
                WHERE datname = 'stuck' AND backend_type = 'pg_steward purge'
                  AND wait_event_type = 'Lock'};
ok(poll_until($node, 'postgres', "SELECT EXISTS ($wait_q)", 30),
	'a worker waits for the keys table in stuck');
my $log_offset = -s $node->logfile;
my $worker_pid = $node->safe_psql('postgres', $wait_q);
my $launcher_pid = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_steward purge launcher'});
is(kill('STOP', $launcher_pid, $worker_pid), 2, 'the launcher and the worker are stopped');
# Past the launcher's deadline: twice the 2 s timeout and a second.
sleep 6;
kill('CONT', $launcher_pid);
sleep 1;
kill('CONT', $worker_pid);
ok( poll_until($node, 'postgres',
		qq{SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $worker_pid)}, 30),
	'the frozen worker ended its visit');
my $after = substr(slurp_file($node->logfile), $log_offset);
unlike($after, qr/overstayed|\(PID $worker_pid\) exited with exit code [1-9]/,
	'after the freeze the worker ended by itself, not terminated');
$freeze_lock->query_safe('COMMIT');
$freeze_lock->quit;

done_testing();
