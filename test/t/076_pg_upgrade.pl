# pg_upgrade of a cluster whose databases use pg_steward (review15 R15-1).
#
# In binary-upgrade mode pg_dump recreates the extension's members one by
# one and every table with its security labels; pg_upgrade then copies the
# data files of all tables, the extension's configuration tables included
# (the rules, machines, keys, migrations the old cluster had).  The label
# hook used to refuse the first label (steward.migration_runs.phase: the
# rules table did not exist yet), so pg_upgrade failed on every database
# with the extension.  Here an old cluster with every kind of state the
# extension stores is upgraded (same PostgreSQL version on both sides, which
# pg_upgrade allows), and the new cluster must keep enforcing and serving
# all of it.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
my $bindir = `$pg_config --bindir`;
chomp $bindir;

my $old = PostgreSQL::Test::Cluster->new('old');
$old->init;
$old->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$old->start;

my $new = PostgreSQL::Test::Cluster->new('new');
$new->init;
$new->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");

$old->safe_psql('postgres', 'CREATE DATABASE shop');
$old->safe_psql('shop', q{
	CREATE EXTENSION pg_steward;

	-- Versions and a state machine with a changed_at column; retention.
	CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, version bigint,
	                       status text NOT NULL DEFAULT 'open',
	                       status_changed_at timestamptz) USING steward;
	SELECT steward.track_versions('accounts', 'version');
	SELECT steward.create_state_machine('acct_status', ARRAY['open', 'frozen', 'closed'],
	    ARRAY['open'], ARRAY['open->frozen', 'frozen->open', 'open->closed', 'frozen->closed']);
	SELECT steward.attach_state_machine('accounts', 'status', 'acct_status', 'status_changed_at');
	INSERT INTO accounts (id, balance) SELECT g, g * 10 FROM generate_series(1, 200) g;
	UPDATE accounts SET balance = balance + 1 WHERE id <= 50;
	UPDATE accounts SET status = 'closed' WHERE id = 7;
	SELECT steward.set_retention('accounts', '30 days');

	-- An idempotency-key EXCLUDE and an equality index of steward_hash,
	-- large enough to have split.
	CREATE TABLE payments (id bigint PRIMARY KEY, account_id bigint NOT NULL,
	                       request_id text NOT NULL,
	    EXCLUDE USING steward_hash (account_id WITH =, request_id WITH =)) USING steward;
	CREATE INDEX payments_request ON payments USING steward_hash (request_id);
	INSERT INTO payments SELECT g, g % 20, 'req-' || g FROM generate_series(1, 3000) g;

	-- An idempotency scope with a completed key.
	SELECT steward.create_idempotency_scope('acct_42', NULL, '7 days');
	BEGIN;
	SELECT outcome FROM steward.idempotency_begin('acct_42', 'k1', 'fp1');
	SELECT steward.idempotency_complete('acct_42', 'k1', 201, '{"charge_id": 1}');
	COMMIT;

	-- A completed column migration (switched, not cleaned up).
	CREATE TABLE invoices (invoice_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	    customer_id bigint NOT NULL, total_amount numeric(12,2) NOT NULL DEFAULT 0) USING steward;
	INSERT INTO invoices (customer_id, total_amount)
	  SELECT g % 100, g * 1.25 FROM generate_series(1, 500) g;
	SELECT steward.migration_start('invoices_cents', $$[
	  {"alter_column": {"table": "invoices", "column": "total_amount", "name": "total_cents",
	                    "type": "bigint", "up": "(total_amount * 100)::bigint",
	                    "down": "total_cents / 100.0"}}]$$);
	CALL steward.migration_backfill('invoices_cents');
	SELECT count(*) FROM steward.migration_validate('invoices_cents');
	SELECT steward.migration_complete('invoices_cents');

	-- A migration in flight (backfilled): shape schema, views, trigger.
	CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL) USING steward;
	INSERT INTO notes SELECT g, 'b' || g FROM generate_series(1, 300) g;
	SELECT steward.migration_start('notes_title', $$[
	  {"add_column": {"table": "notes", "column": "title", "type": "text", "up": "left(body, 3)"}}]$$);
	CALL steward.migration_backfill('notes_title');

	-- A partitioned table with its rule on the parent.
	CREATE TABLE events (part int NOT NULL, id int NOT NULL, version bigint, payload text,
	                     PRIMARY KEY (part, id)) PARTITION BY LIST (part);
	CREATE TABLE events_1 PARTITION OF events FOR VALUES IN (1) USING steward;
	CREATE TABLE events_2 PARTITION OF events FOR VALUES IN (2) USING steward;
	SELECT steward.track_versions('events', 'version');
	INSERT INTO events (part, id, payload) SELECT 1 + g % 2, g, 'p' || g FROM generate_series(1, 100) g;

	-- A machine and a table of a non-superuser.
	CREATE ROLE alice;
	GRANT USAGE, CREATE ON SCHEMA public TO alice;
	SET ROLE alice;
	SELECT steward.create_state_machine('alice_m', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	CREATE TABLE alice_t (id int PRIMARY KEY, st text) USING steward;
	SELECT steward.attach_state_machine('alice_t', 'st', 'alice_m');
	INSERT INTO alice_t VALUES (1, 'a');
	UPDATE alice_t SET st = 'b';
	RESET ROLE;
});

# A database still at 0.1's SQL objects: pg_upgrade keeps its version, and
# ALTER EXTENSION UPDATE runs in the new cluster.
$old->safe_psql('postgres', 'CREATE DATABASE legacy');
$old->safe_psql('legacy', q{
	CREATE EXTENSION pg_steward VERSION '0.1';
	CREATE TABLE accounts (id int PRIMARY KEY, seq int NOT NULL, version bigint) USING steward;
	SELECT steward.track_versions('accounts', 'version');
	SELECT steward.track_sequence('accounts', 'seq');
	INSERT INTO accounts (id, seq) SELECT g, 1 FROM generate_series(1, 100) g;
	SELECT steward.create_state_machine('order_status', ARRAY['created', 'paid', 'shipped'],
	    ARRAY['created'], ARRAY['created->paid', 'paid->shipped']);
	CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL) USING steward;
	SELECT steward.attach_state_machine('orders', 'status', 'order_status');
	INSERT INTO orders (id, status) SELECT g, 'created' FROM generate_series(1, 50) g;
});

# What must come across unchanged.
my %snapshot = (
	machines => 'SELECT * FROM steward.state_machines ORDER BY name',
	rules => 'SELECT relid::text, column_name, kind, machine, changed_at_column, enforced, tracked_since
	            FROM steward.tracked_columns ORDER BY 1, 2',
	migrations => 'SELECT name, phase FROM steward.migrations ORDER BY name',
	version => "SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'",
	keys => 'SELECT scope, key, status, response::text FROM steward.idempotency_keys ORDER BY 1, 2',
	retention => 'SELECT relid::text, retention FROM steward.table_retention ORDER BY 1',
	labels => "SELECT objoid::regclass::text, objsubid, label FROM pg_seclabel
	            WHERE provider = 'steward' ORDER BY 1, 2",
	rows => "SELECT (SELECT string_agg(a::text, ',' ORDER BY id) FROM accounts a)
	             || (SELECT string_agg(e::text, ',' ORDER BY part, id) FROM events e)
	             || (SELECT count(*) FROM payments)");
my %before = map { $_ => $old->safe_psql('shop', $snapshot{$_}) } keys %snapshot;
like($before{machines}, qr/acct_status.*accounts\.status/, 'the old cluster has the machine attached');
$old->stop;

# pg_upgrade writes its scripts into the working directory.
chdir $PostgreSQL::Test::Utils::tmp_check;
my $upgraded = run_log(
	[
		"$bindir/pg_upgrade", '--no-sync',
		'-d', $old->data_dir, '-D', $new->data_dir,
		'-b', $bindir, '-B', $bindir,
		'-s', $new->host, '-p', $old->port, '-P', $new->port
	]);
ok($upgraded, 'pg_upgrade of a cluster using pg_steward succeeds');
if (!$upgraded)
{
	# pg_upgrade keeps its logs on failure: show why.
	foreach my $log (glob($new->data_dir . '/pg_upgrade_output.d/*/log/*.log'))
	{
		my $text = slurp_file($log);
		diag("$log:\n" . substr($text, -2000)) if $text =~ /pg_restore: error|ERROR:/;
	}
	done_testing();
	exit 0;
}

$new->start;

foreach my $what (sort keys %snapshot)
{
	is($new->safe_psql('shop', $snapshot{$what}), $before{$what}, "$what are the same after pg_upgrade");
}

my ($ret, $out, $err) = $new->psql('shop', 'ALTER EXTENSION pg_steward UPDATE');
is($ret, 0, 'ALTER EXTENSION pg_steward UPDATE succeeds');
like($err, qr/version "0\.2" of extension "pg_steward" is already installed/, 'and is a no-op');

sub sqlstate_of
{
	my ($db, $sql) = @_;
	my ($r, $o, $e) = $new->psql($db, "\\set VERBOSITY verbose\n$sql");
	return $e =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : "none (rc $r: $e)";
}

# Rules are enforced.
is(sqlstate_of('shop', 'UPDATE accounts SET balance = 0, version = 0 WHERE id = 1'),
	'40001', 'a stale version is refused');
is(sqlstate_of('shop', "UPDATE accounts SET status = 'open' WHERE id = 7"),
	'23514', 'an illegal transition is refused');
is(sqlstate_of('shop', "INSERT INTO accounts (id, balance, status) VALUES (1000, 0, 'closed')"),
	'23514', 'a non-initial state on INSERT is refused');
is(sqlstate_of('shop', 'UPDATE events SET version = 0 WHERE id = 3'),
	'40001', 'the partitioned table\'s rule is enforced on its partitions');
is(sqlstate_of('shop', "SET ROLE alice; UPDATE alice_t SET st = 'a'"),
	'23514', 'the non-superuser\'s machine is enforced');
is($new->safe_psql('shop', q{
	UPDATE accounts SET status = 'frozen', version = 2 WHERE id = 1 RETURNING version, status_changed_at IS NOT NULL}),
	'3|t', 'a legal write is accepted, versioned and stamped');

# Keys replay.
is($new->safe_psql('shop', q{
	SELECT outcome || ' ' || status || ' ' || response::text
	  FROM steward.idempotency_begin('acct_42', 'k1', 'fp1')}),
	'replay 201 {"charge_id": 1}', 'a stored key replays its response');
is($new->safe_psql('shop',
	"SELECT outcome FROM steward.idempotency_begin('acct_42', 'k1', 'fp2')"),
	'mismatch', 'the same key for another request is a mismatch');

# steward_hash indexes: used, correct, intact.
is(sqlstate_of('shop', "INSERT INTO payments VALUES (99999, 5, 'req-5')"),
	'23P01', 'the steward_hash exclusion constraint refuses a duplicate key');
like($new->safe_psql('shop', q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	EXPLAIN (COSTS OFF) SELECT * FROM payments WHERE request_id = 'req-77'}),
	qr/Index Scan using payments_request/, 'the steward_hash index is used');
is($new->safe_psql('shop', q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	SELECT string_agg(id::text, ',') FROM payments WHERE request_id IN ('req-77', 'req-2999', 'req-none')}),
	'77,2999', 'and finds the rows');
is($new->safe_psql('shop', q{
	SELECT count(*) FROM steward.verify_index('payments_request')}), '0',
	'verify_index finds nothing wrong in the index');
is($new->safe_psql('shop', q{
	SELECT count(*) FROM steward.verify_index('payments_account_id_request_id_excl')}), '0',
	'nor in the exclusion constraint\'s');
$new->safe_psql('shop', "INSERT INTO payments SELECT g, g % 20, 'req-' || g FROM generate_series(3001, 6000) g");
is($new->safe_psql('shop', q{
	SELECT count(*) FROM steward.verify_index('payments_request')}), '0',
	'the index grows (splits) correctly after the upgrade');

# Migrations go on: the in-flight one completes, both clean up.
$new->safe_psql('shop', q{
	INSERT INTO notes (id, body) VALUES (1000, 'xyzw');
	SET search_path = notes_title, public;
	INSERT INTO notes (id, body, title) VALUES (1001, 'qq', 'tt');
	RESET search_path;
});
is($new->safe_psql('shop',
	"SELECT count(*) FROM steward.migration_validate('notes_title') WHERE NOT passed"),
	'0', 'the in-flight migration validates');
$new->safe_psql('shop', q{
	SELECT steward.migration_complete('notes_title');
	SELECT steward.migration_cleanup('notes_title');
	SELECT steward.migration_cleanup('invoices_cents');
});
is($new->safe_psql('shop',
	"SELECT string_agg(id || ':' || title, ',' ORDER BY id) FROM notes WHERE id IN (1, 1000, 1001)"),
	'1:b1,1000:xyz,1001:tt', 'the migration\'s dual writes and backfill carried over');
is($new->safe_psql('shop', q{
	SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
	 WHERE attrelid = 'invoices'::regclass AND attnum > 0 AND NOT attisdropped}),
	'invoice_id,customer_id,total_cents', 'the completed migration cleans up');

# pg_upgrade rebuilds pg_shdepend from the schema: the machines' roles are
# recorded again by steward.record_machine_roles() (docs/upgrading.md, "pg_upgrade"
# step 4), as by any write to the catalog.
my $machine_roles = q{SELECT count(*) FROM pg_shdepend
	WHERE objid = 'steward.machine_definitions'::regclass AND refobjid = 'alice'::regrole};
is($new->safe_psql('shop', $machine_roles), '0', 'pg_upgrade does not carry the machine\'s owner in pg_shdepend');
($ret, $out, $err) = $new->psql('shop', 'SET ROLE alice; SELECT steward.record_machine_roles()');
like($err, qr/permission denied for function record_machine_roles/, 'record_machine_roles is not for other roles');
$new->safe_psql('shop', 'SELECT steward.record_machine_roles()');
is($new->safe_psql('shop', $machine_roles), '1', 'the machine\'s owner is recorded in pg_shdepend again');

# The 0.1 database: enforced before and after its update.
is($new->safe_psql('legacy', "SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'"),
	'0.1', 'the 0.1 database keeps its version through pg_upgrade');
is(sqlstate_of('legacy', 'UPDATE accounts SET version = 0 WHERE id = 1'),
	'40001', 'its version rule is enforced before the update');
$new->safe_psql('legacy', 'ALTER EXTENSION pg_steward UPDATE');
is($new->safe_psql('legacy', q{
	SELECT (SELECT extversion FROM pg_extension WHERE extname = 'pg_steward')
	       || ' ' || (SELECT string_agg(column_name || ':' || kind, ',' ORDER BY relid::text, column_name)
	                    FROM steward.tracked_columns)}),
	'0.2 seq:sequence,version:version,status:state', 'it updates to 0.2 with its rules');
is(sqlstate_of('legacy', "UPDATE orders SET status = 'shipped' WHERE id = 1"),
	'23514', 'and enforces its machine after the update');
($ret, $out, $err) = $new->psql('legacy', 'UPDATE accounts SET seq = 0 WHERE id = 1');
like($err, qr/out-of-order write/, 'and its sequence');

# A fresh database of the new cluster works too.
$new->safe_psql('postgres', 'CREATE DATABASE fresh');
$new->safe_psql('fresh', q{
	CREATE EXTENSION pg_steward;
	CREATE TABLE t (id int PRIMARY KEY, v bigint) USING steward;
	SELECT steward.track_versions('t', 'v');
	INSERT INTO t (id) VALUES (1);
});
is(sqlstate_of('fresh', 'UPDATE t SET v = 0'), '40001', 'a new database of the new cluster enforces its rules');

# The servers pg_upgrade runs (binary-upgrade mode, -b) start no
# pg_steward worker, as core starts no autovacuum there.
$new->stop;
system_or_bail('pg_ctl', '-D', $new->data_dir, '-l', $new->logfile, '-o', '-b', '-w', 'start');
sleep 1;    # the workers start just after the server accepts connections
is($new->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pg_steward%'"),
	'0', 'no pg_steward worker in binary-upgrade mode');
system_or_bail('pg_ctl', '-D', $new->data_dir, '-m', 'fast', '-w', 'stop');
done_testing();
