# Upgrades: a database created with pg_steward 0.1 and brought forward with
# ALTER EXTENSION pg_steward UPDATE must end up with exactly the objects of a
# fresh install, keep its data, rules and keys, and keep enforcing them.
# The current library must also enforce 0.1's rules correctly in the window
# between "make install" and ALTER EXTENSION ... UPDATE.

use strict;
use warnings;

use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $objects_sql = slurp_file(dirname(__FILE__) . '/../sql/extension_objects.sql');

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

my $default_version = $node->safe_psql('postgres',
	"SELECT default_version FROM pg_available_extensions WHERE name = 'pg_steward'");

# Every shipped version can still be installed as it was.
my @versions = split /\n/, $node->safe_psql('postgres',
	"SELECT version FROM pg_available_extension_versions
	  WHERE name = 'pg_steward' ORDER BY string_to_array(version, '.')::int[]");
ok(scalar(grep { $_ eq '0.1' } @versions), 'version 0.1 is still installable');
is($versions[-1], $default_version, 'the default version is the newest');

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('fresh', 'CREATE EXTENSION pg_steward');
$node->safe_psql('old', "CREATE EXTENSION pg_steward VERSION '0.1'");
is($node->safe_psql('old',
	"SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'"),
	'0.1', 'old database starts at 0.1');

# Everything 0.1 users can have, made through 0.1's SQL API.
$node->safe_psql('old', q{
	CREATE TABLE accounts (id int PRIMARY KEY, balance numeric NOT NULL,
	                       seq int NOT NULL, version bigint) USING steward;
	SELECT steward.track_versions('accounts', 'version');
	SELECT steward.track_sequence('accounts', 'seq');
	INSERT INTO accounts (id, balance, seq) SELECT g, 0, 1 FROM generate_series(1, 100) g;
	UPDATE accounts SET balance = 10 WHERE id <= 10;

	SELECT steward.create_state_machine('order_status',
	    ARRAY['created', 'paid', 'shipped'], ARRAY['created'],
	    ARRAY['created->paid', 'paid->shipped']);
	CREATE TABLE orders (id int PRIMARY KEY, status text NOT NULL,
	                     status_changed_at timestamptz) USING steward;
	SELECT steward.attach_state_machine('orders', 'status', 'order_status',
	                                    'status_changed_at');
	INSERT INTO orders (id, status) SELECT g, 'created' FROM generate_series(1, 50) g;
	UPDATE orders SET status = 'paid' WHERE id <= 20;
	-- public.orders: the roles below may create in public, so validate()
	-- leaves public out of the check's search_path (review32 S1).
	SELECT steward.set_state_check('orders', 'paid',
	    'SELECT count(*) FROM public.orders WHERE status = ''paid'' AND status_changed_at IS NULL');

	-- The usual declaration of a version column (and of a changed_at
	-- column): NOT NULL with a default.  It works (the default gives 1,
	-- the AM stores 1); the update must not warn about it (vers4).
	CREATE TABLE invoices (id int PRIMARY KEY, version bigint NOT NULL DEFAULT 1,
	                       status text NOT NULL DEFAULT 'created',
	                       status_changed_at timestamptz NOT NULL DEFAULT now()) USING steward;
	SELECT steward.track_versions('invoices', 'version');
	SELECT steward.attach_state_machine('invoices', 'status', 'order_status',
	                                    'status_changed_at');
	INSERT INTO invoices (id) SELECT g FROM generate_series(1, 5) g;
	UPDATE invoices SET status = 'paid' WHERE id <= 2;

	-- 0.1 accepted `version bigint NOT NULL` without a default (clients
	-- that always send the version); after the update unrelated DDL, a
	-- dump's restore and verify must cope with it (codereview6 F5).
	CREATE TABLE legacy (id int PRIMARY KEY, version bigint) USING steward;
	SELECT steward.track_versions('legacy', 'version');
	ALTER TABLE legacy ALTER COLUMN version SET NOT NULL;
	INSERT INTO legacy VALUES (1, 1);

	CREATE TABLE payments (account_id int NOT NULL, request_id text NOT NULL,
	                       amount numeric NOT NULL,
	    CONSTRAINT payments_once EXCLUDE USING steward_hash
	        (account_id WITH =, request_id WITH =)) USING steward;
	INSERT INTO payments SELECT g % 7, 'r' || g, g FROM generate_series(1, 500) g;

	-- Keys as 0.1's idempotency_begin/complete wrote them (this library
	-- refuses to serve keys before the update: 0.1's scopes have no owners).
	INSERT INTO steward.idempotency_keys
	    (scope, key, fingerprint, status, response, completed_at, expires_at)
	VALUES ('acct-1', 'key-1', 'fp-1', 201, '{"charge_id": 7}', now(), now() + interval '1 day'),
	       ('acct-2', 'pending', 'fp-p', NULL, NULL, NULL, now() + interval '1 day');
	SELECT steward.set_idempotency_retention('acct-1', '2 days');
	SELECT steward.set_idempotency_retention('acct-3', '3 days');

	-- A tenant's machine on its own table, and one shared by two owners.
	CREATE ROLE old_tenant;
	CREATE ROLE old_other;
	GRANT CREATE ON SCHEMA public TO old_tenant, old_other;
	SET ROLE old_tenant;
	SELECT steward.create_state_machine('ticket', ARRAY['open', 'closed'], ARRAY['open'],
	                                    ARRAY['open->closed']);
	CREATE TABLE tickets (id int PRIMARY KEY, state text NOT NULL) USING steward;
	SELECT steward.attach_state_machine('tickets', 'state', 'ticket');
	SELECT steward.create_state_machine('shared', ARRAY['a', 'b'], ARRAY['a'], ARRAY['a->b']);
	CREATE TABLE shared_1 (id int PRIMARY KEY, s text NOT NULL) USING steward;
	SELECT steward.attach_state_machine('shared_1', 's', 'shared');
	RESET ROLE;
	SET ROLE old_other;
	CREATE TABLE shared_2 (id int PRIMARY KEY, s text NOT NULL) USING steward;
	SELECT steward.attach_state_machine('shared_2', 's', 'shared');
	RESET ROLE;
	SELECT steward.set_retention('orders', '30 days');
});

# Rules are enforced the same way before and after the update.
sub check_enforcement
{
	my ($when) = @_;
	my ($rc, $out, $err);

	($rc, $out, $err) = $node->psql('old',
		'UPDATE accounts SET balance = 1, version = 1 WHERE id = 1');
	like($err, qr/stale version/, "$when: a stale version is refused");
	($rc, $out, $err) = $node->psql('old',
		'UPDATE accounts SET seq = 0 WHERE id = 2');
	like($err, qr/out-of-order/, "$when: a lower sequence value is refused");
	($rc, $out, $err) = $node->psql('old',
		"UPDATE orders SET status = 'shipped' WHERE id = 30");
	like($err, qr/"created" -> "shipped"/, "$when: an illegal transition is refused");
	($rc, $out, $err) = $node->psql('old',
		"INSERT INTO payments VALUES (1, 'r1', 5)");
	like($err, qr/conflicting key value violates exclusion constraint "payments_once"/,
		"$when: a duplicate idempotency key is refused");
	if ($when =~ /^0\.1/)
	{
		# 0.1's scopes have no owners: keys wait for the update rather
		# than be served without isolation.
		($rc, $out, $err) = $node->psql('old',
			"\\set VERBOSITY verbose\nSELECT outcome FROM steward.idempotency_begin('acct-1', 'key-1', 'fp-1')");
		like($err, qr/ERROR:  55000: .*HINT:  Run ALTER EXTENSION pg_steward UPDATE in this database\./s,
			"$when: idempotency_begin asks for ALTER EXTENSION UPDATE (55000)");
		($rc, $out, $err) = $node->psql('old',
			"\\set VERBOSITY sqlstate\nSELECT steward.idempotency_complete('acct-1', 'key-1', 201, '{}')");
		like($err, qr/ERROR:  55000/, "$when: idempotency_complete too");
		return;
	}
	is($node->safe_psql('old',
		"SELECT outcome || ' ' || status || ' ' || response::text
		   FROM steward.idempotency_begin('acct-1', 'key-1', 'fp-1')"),
		'replay 201 {"charge_id": 7}', "$when: a completed key replays");
	is($node->safe_psql('old',
		"SELECT outcome FROM steward.idempotency_begin('acct-1', 'key-1', 'fp-2')"),
		'mismatch', "$when: a different fingerprint is a mismatch");
}

# The SQLSTATEs, not only the messages.
sub sqlstate
{
	my ($db, $sql) = @_;
	my ($rc, $out, $err) = $node->psql($db,
		"\\set VERBOSITY sqlstate\n$sql");
	return $err =~ /ERROR:\s+([0-9A-Z]{5})/ ? $1 : $err;
}

check_enforcement('0.1 objects, current library');

my ($update_rc, $update_out, $update_err) = $node->psql('old', 'ALTER EXTENSION pg_steward UPDATE');
is($update_rc, 0, 'ALTER EXTENSION UPDATE succeeds');
# The update checks every table with a rule (pg_steward--0.1--0.2.sql);
# it read none before the check locked them (only relations this backend
# has locked are read): of 0.1's tables only legacy's NOT NULL version
# without a default is worth a WARNING, not version NOT NULL DEFAULT 1 nor
# changed_at NOT NULL DEFAULT now().
my @update_warnings = $update_err =~ /WARNING:  ([^\n]*)/g;
is(scalar(@update_warnings), 1, 'ALTER EXTENSION UPDATE warns once')
  or diag($update_err);
like($update_warnings[0] // '',
	qr/^column "version" of relation "legacy" is NOT NULL and has no default/,
	'ALTER EXTENSION UPDATE warns about the legacy table');
is($node->safe_psql('old',
	"SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'"),
	$default_version, "ALTER EXTENSION UPDATE reaches $default_version");

# (a) Exactly the objects of a fresh install.
my $fresh_objects = $node->safe_psql('fresh', $objects_sql);
my $old_objects = $node->safe_psql('old', $objects_sql);
my $members = $node->safe_psql('fresh', q{
	SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
	 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
	   AND e.extname = 'pg_steward'});
cmp_ok($members, '>', 80, "a fresh install has its $members member objects");
if ($fresh_objects eq $old_objects)
{
	pass('upgraded objects equal a fresh install');
}
else
{
	my %fresh = map { $_ => 1 } split /\n/, $fresh_objects;
	my %old = map { $_ => 1 } split /\n/, $old_objects;
	diag("only in fresh install: $_") for grep { !$old{$_} } split /\n/, $fresh_objects;
	diag("only in upgraded database: $_") for grep { !$fresh{$_} } split /\n/, $old_objects;
	fail('upgraded objects equal a fresh install');
}

# (b) Data, rules and keys intact, and still enforced.
is($node->safe_psql('old', q{
	SELECT count(*), sum(version), sum(balance) FROM accounts}),
	'100|110|100', 'accounts rows and versions intact');
is($node->safe_psql('old', q{
	SELECT string_agg(column_name || ':' || kind, ',' ORDER BY column_name)
	  FROM steward.tracked_columns}),
	's:state,s:state,seq:sequence,state:state,status:state,status:state,version:version,version:version,version:version',
	'rules intact');
is($node->safe_psql('old', q{
	INSERT INTO invoices (id) VALUES (6) RETURNING version, status_changed_at = statement_timestamp();
	SELECT string_agg(id || ':' || version || ':' || status, ',' ORDER BY id) FROM invoices}),
	"1|t\n1:2:paid,2:2:paid,3:1:created,4:1:created,5:1:created,6:1:created",
	'version NOT NULL DEFAULT 1 after the update: an INSERT leaving it out stores 1');

# 0.1's `version bigint NOT NULL` without a default: unrelated DDL works
# after the update, verify names the fix, and a dump of the table restores
# with its rule and a WARNING naming the fix (codereview6 F5).
$node->safe_psql('old', q{
	ALTER TABLE legacy ADD COLUMN note text;
	ALTER TABLE legacy ALTER COLUMN id SET STATISTICS 200});
is($node->safe_psql('old', q{
	UPDATE legacy SET note = 'n', version = 1 WHERE id = 1 RETURNING version}),
	'2', 'legacy NOT NULL version after the update: ADD COLUMN accepted, the version still tracked');
like($node->safe_psql('old', q{
	SELECT detail FROM steward.verify('legacy') WHERE "check" = 'column_definition' AND NOT passed}),
	qr/^column "version" of public\.legacy: .* Fix: ALTER TABLE public\.legacy ALTER COLUMN version SET DEFAULT 1 \(or DROP NOT NULL\)\.$/,
	'verify reports the legacy NOT NULL version column with the ALTER TABLE that fixes it');
{
	my $dumpdir = PostgreSQL::Test::Utils::tempdir;
	$node->command_ok([ 'pg_dump', '-t', 'legacy', '-d', $node->connstr('old'),
		'-f', "$dumpdir/legacy.sql" ], 'dump of the legacy table');
	$node->safe_psql('postgres', 'CREATE DATABASE legacy_restore');
	$node->safe_psql('legacy_restore', 'CREATE EXTENSION pg_steward');
	my ($lrc, $lout, $lerr) = $node->psql('legacy_restore', "\\i $dumpdir/legacy.sql");
	like($lerr, qr/WARNING:  column "version" of relation "legacy" is NOT NULL and has no default.*\n.*\n.*HINT:  Unless the restore gives the column a default or an identity later .*, fix it: ALTER TABLE public\.legacy ALTER COLUMN version SET DEFAULT 1/,
		'restoring the legacy table warns with the fix');
	unlike($lerr, qr/ERROR/, 'restoring the legacy table raises no error');
	is($node->safe_psql('legacy_restore', q{
		SELECT string_agg(attname || ':' || kind, ',') FROM steward.column_rules
		 WHERE relid = 'legacy'::regclass;
		UPDATE legacy SET version = 2 WHERE id = 1 RETURNING version}),
		"version:version\n3", 'the restored legacy table keeps its version rule');
}
is($node->safe_psql('old', q{
	SELECT status, count(*), count(status_changed_at) FROM orders
	 GROUP BY status ORDER BY status}),
	"created|30|30\npaid|20|20", 'states and changed_at intact');
is($node->safe_psql('old', 'SELECT count(*) FROM payments'), '500', 'payments intact');
is($node->safe_psql('old',
	"SELECT retention FROM steward.idempotency_retention_overrides WHERE scope = 'acct-1'"),
	'2 days', 'per-scope retention intact');
is($node->safe_psql('old',
	"SELECT retention FROM steward.table_retention WHERE relid = 'orders'::regclass"),
	'30 days', 'table retention intact');

check_enforcement('after ALTER EXTENSION UPDATE');

# Machines made under 0.1: attached only to one role's tables -> that role's;
# otherwise (and built-ins) the extension owner's, with grants for the
# owners of the tables they are attached to.
my $extowner = $node->safe_psql('old',
	q{SELECT extowner::regrole FROM pg_extension WHERE extname = 'pg_steward'});
is($node->safe_psql('old',
	q{SELECT string_agg(name || ':' || owner::text || ':' || usage_roles::text, ',' ORDER BY name)
	    FROM steward.machine_definitions}),
	"data_lifecycle:$extowner:{},order_status:$extowner:{},"
	  . "shared:$extowner:{old_tenant,old_other},ticket:old_tenant:{}",
	'0.1 machines get owners and grants from the tables they are attached to');
is(sqlstate('old', "SET ROLE old_other; SELECT steward.drop_state_machine('ticket')"),
	'42501', 'another role cannot drop a 0.1 machine');
is(sqlstate('old', "SET ROLE old_other; CREATE TABLE t_other (s text) USING steward;
	SELECT steward.attach_state_machine('t_other', 's', 'ticket')"),
	'42501', '... nor attach it');
$node->safe_psql('old', q{
	SET ROLE old_other;
	CREATE TABLE shared_3 (id int PRIMARY KEY, s text NOT NULL) USING steward;
	SELECT steward.attach_state_machine('shared_3', 's', 'shared');
	SET ROLE old_tenant;
	SELECT steward.detach_state_machine('tickets', 'state');
	SELECT steward.drop_state_machine('ticket');
});
pass('0.1 co-users of a machine attach it again; the owner of a 0.1 machine drops it');

# Scopes made under 0.1 belong to the extension's owner; 0.1's pending key
# names no holder and got 0.1's default lease of 5 minutes.
is($node->safe_psql('old',
	q{SELECT string_agg(scope || ':' || owner::text || ':' || coalesce(retention::text, '-'), ','
	                    ORDER BY scope) FROM steward.idempotency_scopes}),
	"acct-1:$extowner:2 days,acct-2:$extowner:-,acct-3:$extowner:3 days",
	'0.1 scopes belong to the extension owner, retention overrides kept');
is($node->safe_psql('old',
	q{SELECT holder_pid IS NULL, lease_until - locked_at FROM steward.idempotency_keys
	   WHERE key = 'pending'}),
	't|00:05:00', '0.1 pending key: no holder, a 5-minute lease');
is($node->safe_psql('old',
	"SELECT outcome FROM steward.idempotency_begin('acct-2', 'pending', 'fp-p')"),
	'in_progress', '0.1 pending key in progress within its lease');
$node->safe_psql('old',
	"UPDATE steward.idempotency_keys SET lease_until = now() - interval '1 s' WHERE key = 'pending'");
is($node->safe_psql('old',
	"SELECT outcome FROM steward.idempotency_begin('acct-2', 'pending', 'fp-p')"),
	'new', '0.1 pending key taken over once its lease ran out');
$node->safe_psql('old', q{
	CREATE ROLE app_upgraded;
	GRANT EXECUTE ON FUNCTION steward.idempotency_begin(text, text, text, boolean) TO app_upgraded});
is(sqlstate('old', "SET ROLE app_upgraded; SELECT * FROM steward.idempotency_begin('acct-1', 'key-1', 'fp-1')"),
	'42501', 'an application role must be given a 0.1 scope first');
$node->safe_psql('old', "SELECT steward.alter_idempotency_scope_owner('acct-1', 'app_upgraded')");
is($node->safe_psql('old',
	"SET ROLE app_upgraded; SELECT outcome FROM steward.idempotency_begin('acct-1', 'key-1', 'fp-1')"),
	'replay', '... then it replays the key made under 0.1');

is(sqlstate('old', 'UPDATE accounts SET balance = 1, version = 1 WHERE id = 1'),
	'40001', 'stale version is SQLSTATE 40001');
is(sqlstate('old', "UPDATE orders SET status = 'shipped' WHERE id = 30"),
	'23514', 'illegal transition is SQLSTATE 23514');
is(sqlstate('old', "INSERT INTO payments VALUES (1, 'r1', 5)"),
	'23P01', 'duplicate key is SQLSTATE 23P01');

# New work goes on under the upgraded objects.
$node->safe_psql('old', q{
	UPDATE accounts SET balance = balance + 1 WHERE id = 1;
	UPDATE orders SET status = 'shipped' WHERE id = 1;
	INSERT INTO payments VALUES (1, 'new-request', 5);
});
is($node->safe_psql('old', 'SELECT version FROM accounts WHERE id = 1'),
	'3', 'a blind update bumps the version after the upgrade');
is($node->safe_psql('old',
	"SELECT state || ':' || passed || ':' || violations FROM steward.validate('orders')"),
	'paid:true:0', 'the validation check made under 0.1 still runs and passes');
is($node->safe_psql('old',
	"SELECT count(*) FROM steward.verify('payments') WHERE NOT passed"),
	'0', 'verify() passes on the upgraded database');
is($node->safe_psql('old',
	"SELECT count(*) FROM steward.verify_index('payments_once')"),
	'0', 'the steward_hash index built under 0.1 is consistent');

# Dropping back is not an upgrade path: there is no downgrade script.
my ($rc, $out, $err) = $node->psql('old', "ALTER EXTENSION pg_steward UPDATE TO '0.1'");
like($err, qr/no update path/, 'no downgrade path');

# The shell loop docs/upgrading.md gives for "every database that has the
# extension", run as written: a database whose name libpq would read as a
# connection string (a tenant's CREATEDB picks any name) must be updated
# too, not skipped nor mistaken for another (newcomer45 N6: it passed the
# name with psql -d, which expands a name holding "=").  The names reach
# the commands here as data: PGDATABASE, which libpq never expands.
sub run_with_env
{
	my ($cmd, %env) = @_;
	my ($out, $err) = ('', '');
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGDATABASE};
	delete $ENV{PGDATABASE};
	$ENV{$_} = $env{$_} foreach keys %env;
	IPC::Run::run($cmd, '<', \undef, '>', \$out, '2>', \$err);
	chomp $out;
	return ($? >> 8, $out, $err);
}
my ($loop) = slurp_file(dirname(__FILE__) . '/../../docs/upgrading.md')
  =~ /```sh\n(# as the postgres OS user: every database that has the extension\n.*?)```/s;
ok(defined $loop, 'docs/upgrading.md has the update loop');
my @loop_dbs = ('dbname=postgres x', 'plain01');
foreach my $db (@loop_dbs)
{
	(my $ident = $db) =~ s/"/""/g;
	$node->safe_psql('postgres', qq{CREATE DATABASE "$ident"});
	my ($rc, $o, $e) = run_with_env(
		[ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-c', "CREATE EXTENSION pg_steward VERSION '0.1'" ],
		PGDATABASE => $db);
	is($rc, 0, "database \"$db\" has pg_steward 0.1") or diag $e;
}
my ($loop_rc, $loop_out, $loop_err) = run_with_env([ 'bash', '-c', $loop // 'exit 1' ]);
note "update loop: exit $loop_rc\nstdout:\n$loop_out\nstderr:\n$loop_err";
is($loop_rc, 0, 'the update loop exits 0');
foreach my $db (@loop_dbs)
{
	my ($rc, $v) = run_with_env(
		[ 'psql', '-X', '-At', '-c', "SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'" ],
		PGDATABASE => $db);
	is($v, $default_version, "the update loop updated database \"$db\"");
}

$node->stop;
done_testing();
