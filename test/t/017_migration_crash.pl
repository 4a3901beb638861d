# Online migrations and failures (issue 16): pg_ctl stop -m immediate
# during a backfill, during complete and during rollback; a physical
# standby replays every step; pg_dump taken mid-migration restores to a
# consistent table whose migration carries on.
#
# A backfill commits batch by batch with its checkpoint: after the crash
# the committed batches are there with their progress, no row is half
# converted, and a second run finishes the job.  start, complete, cleanup
# and rollback are single transactions: a crash leaves the migration
# before the step, and the step then succeeds.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use StewardTest;

my $rows = $ENV{MIGRATION_ROWS} // 50_000;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$primary->start;
# Through a slot: the primary is stopped immediately three times.
my $standby = streaming_standby($primary, 'standby');

$primary->safe_psql('postgres', qq{
	CREATE EXTENSION pg_steward;
	CREATE TABLE orders (
	    order_id     bigint PRIMARY KEY,
	    user_id      bigint NOT NULL,
	    status       text NOT NULL DEFAULT 'created',
	    total_amount numeric(12,2) NOT NULL DEFAULT 0,
	    version      bigint
	) USING steward;
	SELECT steward.track_versions('orders', 'version');
	INSERT INTO orders (order_id, user_id, total_amount)
	  SELECT g, g % 1000, (g % 100000) / 100.0 FROM generate_series(1, $rows) g;
});
my $checksum_sql = q{SELECT string_agg(detail, ' ' ORDER BY "check") FROM steward.verify('orders')
                      WHERE "check" IN ('row_count', 'checksum')};
my $rows_sql = q{SELECT md5(string_agg(o::text, ',' ORDER BY order_id)) FROM orders o};
my $migrations_sql = q{SELECT string_agg(name || ':' || phase || ':' || result, ' ' ORDER BY started_at)
                         FROM steward.migrations};

# The standby sees what the primary sees.
sub standby_agrees
{
	my ($when) = @_;
	$primary->wait_for_catchup($standby);
	for my $q ($rows_sql, $migrations_sql,
		q{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
		   WHERE attrelid = 'orders'::regclass AND attnum > 0 AND NOT attisdropped},
		q{SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace WHERE nspname LIKE 'm\_%'})
	{
		is($standby->safe_psql('postgres', $q), $primary->safe_psql('postgres', $q),
			"standby agrees $when: " . substr($q, 0, 40));
	}
}

$primary->safe_psql('postgres', q{
	SELECT steward.migration_start('m_cents', $$[
	  {"alter_column": {"table": "orders", "column": "total_amount", "name": "total_cents",
	                    "type": "bigint", "up": "(total_amount * 100)::bigint",
	                    "down": "total_cents / 100.0"}}
	]$$);
});
standby_agrees('after start');

# 1. Crash during the backfill (2000 rows/s: 25 s for the table, so the
# stop lands midway however slow the machine is between poll and stop),
# in interleaved stripes (gov18): the stop lands inside a window of 4
# batches as often as not, whose rows after the checkpoint are partly
# filled; the checks below hold all the same.
my $backfill = $primary->background_psql('postgres', on_error_stop => 0);
$backfill->query_until(qr/go/, q{
	\echo go
	SET steward.migration_backfill_interleave = 4;
	CALL steward.migration_backfill('m_cents', 500, 2000);
});
$primary->poll_query_until('postgres',
	q{SELECT rows_backfilled >= 2000 FROM steward.migrations WHERE name = 'm_cents'})
  or die 'the backfill did not start';
$primary->stop('immediate');
eval { $backfill->quit };
$primary->start;
my ($done, $status) = split /\|/, $primary->safe_psql('postgres',
	q{SELECT rows_backfilled, backfill_status FROM steward.migrations WHERE name = 'm_cents'});
cmp_ok($done, '<', $rows, "crashed midway ($done of $rows rows backfilled)");
is($status, 'interrupted', 'the crashed backfill shows as interrupted');
is($primary->safe_psql('postgres', q{SELECT count(*) FROM orders WHERE _steward_side IS NOT NULL}),
	$done, 'exactly the committed batches survive, with their progress');
is($primary->safe_psql('postgres', q{
	SELECT count(*) FROM orders
	 WHERE (_steward_side IS NULL AND total_cents IS NOT NULL)
	    OR (_steward_side = 'o' AND total_cents IS DISTINCT FROM (total_amount * 100)::bigint)}),
	'0', 'no row is half converted');
is($primary->safe_psql('postgres', q{SELECT count(DISTINCT version) || ':' || min(version) FROM orders}),
	'1:1', 'no version moved');
$primary->safe_psql('postgres', q{CALL steward.migration_backfill('m_cents')});
is($primary->safe_psql('postgres',
		q{SELECT phase || ' ' || rows_backfilled FROM steward.migrations WHERE name = 'm_cents'}),
	"backfilled $rows", 'the second run finishes the job, counting every row once');
is($primary->safe_psql('postgres',
		q{SELECT bool_and(passed) FROM steward.migration_validate('m_cents')}),
	't', 'validation passes after the crash');
$primary->safe_psql('postgres', q{
	UPDATE orders SET total_amount = 1.23 WHERE order_id = 1;
	SET search_path = m_cents, public;
	UPDATE orders SET total_cents = 456 WHERE order_id = 2;
});
standby_agrees('mid-migration');
is($standby->safe_psql('postgres',
		q{SELECT total_amount || ' ' || total_cents FROM orders WHERE order_id IN (1, 2) ORDER BY 1}),
	"1.23 123\n4.56 456", 'the standby has both shapes of the rows written');

# 2. pg_dump mid-migration restores a consistent table whose migration
# goes on.
my $dump = $primary->basedir . '/mid.dump';
$primary->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $primary->connstr('postgres') ],
	'pg_dump mid-migration');
$primary->safe_psql('postgres', 'CREATE DATABASE restored');
$primary->command_checks_all(
	[ 'pg_restore', '--exit-on-error', '-d', $primary->connstr('restored'), $dump ],
	0, [qr/^$/], [qr/^$/], 'the dump restores without messages');
is($primary->safe_psql('restored', $rows_sql), $primary->safe_psql('postgres', $rows_sql),
	'restored: the same rows, both shapes');
is($primary->safe_psql('restored', $migrations_sql), $primary->safe_psql('postgres', $migrations_sql),
	'restored: the same migration record');
is($primary->safe_psql('restored',
		q{SELECT bool_and(passed) FROM steward.migration_validate('m_cents')}),
	't', 'restored: validation passes');
$primary->safe_psql('restored', q{
	INSERT INTO orders (order_id, user_id, total_amount) VALUES (-1, 1, 9.99);
	SET search_path = m_cents, public;
	INSERT INTO orders (order_id, user_id, total_cents) VALUES (-2, 1, 777);
});
is($primary->safe_psql('restored',
		q{SELECT string_agg(total_amount || ' ' || total_cents, ', ' ORDER BY order_id) FROM orders WHERE order_id < 0}),
	'7.77 777, 9.99 999', 'restored: dual writes go on in both directions');
$primary->safe_psql('restored', q{
	SELECT steward.migration_complete('m_cents');
	SELECT steward.migration_cleanup('m_cents');
});
is($primary->safe_psql('restored',
		q{SELECT phase || ' ' || result FROM steward.migrations WHERE name = 'm_cents'}),
	'validated completed', 'restored: the migration completes and cleans up');

# 3. Crash during complete: complete is stuck retrying behind a long
# transaction when the server stops.
$primary->safe_psql('postgres', q{SELECT bool_and(passed) FROM steward.migration_validate('m_cents')});
my $holder = $primary->background_psql('postgres', on_error_stop => 0);
$holder->query_safe('BEGIN');
$holder->query_safe('SELECT count(*) FROM orders WHERE order_id = 1');
my $completer = $primary->background_psql('postgres', on_error_stop => 0);
$completer->query_until(qr/go/, q{
	SET steward.migration_lock_timeout = '100ms';
	SET steward.migration_lock_retries = 1000;
	\echo go
	SELECT steward.migration_complete('m_cents');
});
# Until it is stuck behind the holder: waiting for a lock (one of its
# retries), not merely started (a fixed 0.5 s after the start before).
$primary->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%migration_complete%' AND pid <> pg_backend_pid()
	     AND wait_event_type = 'Lock'})
  or die 'complete did not wait for its lock';
$primary->stop('immediate');
eval { $holder->quit };
eval { $completer->quit };
$primary->start;
is($primary->safe_psql('postgres',
		q{SELECT phase FROM steward.migrations WHERE name = 'm_cents'}),
	'dual_written', 'crashed during complete: the migration is as before the step');
is($primary->safe_psql('postgres',
		q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'orders'::regclass
		     AND attname IN ('total_amount', 'total_cents') AND NOT attisdropped}),
	'2', 'crashed during complete: both columns under their expand names');
$primary->safe_psql('postgres', q{SELECT steward.migration_complete('m_cents')});
is($primary->safe_psql('postgres',
		q{SELECT phase FROM steward.migrations WHERE name = 'm_cents'}),
	'switched', 'complete succeeds after the crash');
standby_agrees('after complete');
$primary->safe_psql('postgres', q{SELECT steward.migration_cleanup('m_cents')});

# 4. Crash during rollback, then rollback: the table is as before.
my $before = $primary->safe_psql('postgres', $checksum_sql);
$primary->safe_psql('postgres', q{
	SELECT steward.migration_start('m_note', $$[
	  {"add_column": {"table": "orders", "column": "note", "type": "text", "up": "'n' || order_id"}},
	  {"alter_column": {"table": "orders", "column": "status", "name": "state"}}
	]$$);
	CALL steward.migration_backfill('m_note');
});
$primary->safe_psql('postgres', q{SELECT bool_and(passed) FROM steward.migration_validate('m_note')});
$primary->safe_psql('postgres', q{SELECT steward.migration_complete('m_note')});
$holder = $primary->background_psql('postgres', on_error_stop => 0);
$holder->query_safe('BEGIN');
$holder->query_safe('SELECT count(*) FROM orders WHERE order_id = 1');
my $roller = $primary->background_psql('postgres', on_error_stop => 0);
$roller->query_until(qr/go/, q{
	SET steward.migration_lock_timeout = '100ms';
	SET steward.migration_lock_retries = 1000;
	\echo go
	SELECT steward.migration_rollback('m_note');
});
# Until it is stuck behind the holder: waiting for a lock (one of its
# retries), not merely started (a fixed 0.5 s after the start before).
$primary->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%migration_rollback%' AND pid <> pg_backend_pid()
	     AND wait_event_type = 'Lock'})
  or die 'rollback did not wait for its lock';
$primary->stop('immediate');
eval { $holder->quit };
eval { $roller->quit };
$primary->start;
is($primary->safe_psql('postgres',
		q{SELECT phase || ' ' || result FROM steward.migrations WHERE name = 'm_note'}),
	'switched in_progress', 'crashed during rollback: the migration is as before the step');
$primary->safe_psql('postgres', q{SELECT steward.migration_rollback('m_note')});
is($primary->safe_psql('postgres', $checksum_sql), $before,
	'rolled back after the crash: row count and checksum as before the migration');
is($primary->safe_psql('postgres',
		q{SELECT result FROM steward.migrations WHERE name = 'm_note'}),
	'rolled_back', 'recorded as rolled back');
standby_agrees('at the end');
is($standby->safe_psql('postgres', $checksum_sql), $before, 'the standby has the same table');

done_testing();
