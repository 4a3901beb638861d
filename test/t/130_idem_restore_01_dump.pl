# A dump of a database at pg_steward 0.1 restored into 0.2's objects
# (pg_restore's CREATE EXTENSION installs the default version) keeps its
# idempotency keys working as ALTER EXTENSION UPDATE keeps them (review33
# U1): a completed key replays its response, a key without a result is in
# progress for 0.1's lease of 5 minutes, the scopes (those 0.1 kept a row
# for, with their retention, and those it did not) belong to the restoring
# role with the keys' claim (NULL), so another role gets 42501 until the
# scope is given to it.  Before the fix the scope rows got new claims (or
# none, and the first begin made one), the keys were other claims'
# leftovers, and every retried request got `new` and ran a second time.
# Either table may be restored first (pg_restore -j); a scope claimed
# under 0.2 is not taken over by a 0.1 dump's rows.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('idem_restore01');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_steward'
steward.idempotency_purge_interval = 0
});
$node->start;

# A database at 0.1: keys as 0.1's begin and complete wrote them (this
# library refuses to serve keys before the update), a retention override
# (0.1's only scope rows), a pending key taken just now.
$node->safe_psql('postgres', q{
	CREATE ROLE app_role;
	CREATE DATABASE old;
});
$node->safe_psql('old', q{
	CREATE EXTENSION pg_steward VERSION '0.1';
	INSERT INTO steward.idempotency_keys
	    (scope, key, fingerprint, status, response, completed_at, expires_at)
	VALUES ('acct-1', 'done', 'fp-1', 201, '{"charge_id": 7}', now(), now() + interval '1 day'),
	       ('acct-2', 'done', 'fp-2', 200, '{"charge_id": 8}', now(), now() + interval '1 day'),
	       ('acct-2', 'pending', 'fp-p', NULL, NULL, NULL, now() + interval '1 day');
	SELECT steward.set_idempotency_retention('acct-1', '2 days');
	SELECT steward.set_idempotency_retention('acct-3', '3 days');
});
my $dir = PostgreSQL::Test::Utils::tempdir;
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('old'), '-f', "$dir/old.dump" ],
	'dump of the 0.1 database');

# pg_restore restores the keys table's data before the scopes'; a list
# with the scopes first stands for pg_restore -j, which may do either.
my @list = split /\n/, `pg_restore -l $dir/old.dump`;
my ($keys_line) = grep { /TABLE DATA steward idempotency_keys / } @list;
my ($scopes_line) = grep { /TABLE DATA steward idempotency_scopes / } @list;
ok($keys_line && $scopes_line, 'the dump has both tables\' data');
open(my $fh, '>', "$dir/scopes_first.list") or die;
print $fh join("\n", (grep { $_ ne $keys_line } @list), $keys_line), "\n";
close $fh;

sub outcome
{
	my ($db, $scope, $key, $fp, $role) = @_;
	my $set = $role ? "SET ROLE $role;" : '';
	return $node->safe_psql($db, qq{$set
		SELECT outcome || ' ' || coalesce(status::text, '-') || ' ' || coalesce(response::text, '-')
		  FROM steward.idempotency_begin('$scope', '$key', '$fp')});
}

for my $order ('keys_first', 'scopes_first')
{
	my $db = "new_$order";
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->command_ok(
		[ 'pg_restore', '--exit-on-error', '-d', $node->connstr($db),
		  ($order eq 'scopes_first' ? ('-L', "$dir/scopes_first.list") : ()), "$dir/old.dump" ],
		"$order: the 0.1 dump restores into 0.2's objects");
	is($node->safe_psql($db,
		"SELECT extversion FROM pg_extension WHERE extname = 'pg_steward'"),
		$node->safe_psql($db,
			"SELECT default_version FROM pg_available_extensions WHERE name = 'pg_steward'"),
		"$order: at the default version");
	is($node->safe_psql($db, q{
		SELECT string_agg(scope || ':' || owner::text || ':' || coalesce(retention::text, '-')
		                  || ':' || coalesce(claim::text, 'null'), ',' ORDER BY scope)
		  FROM steward.idempotency_scopes}),
		'acct-1:postgres:2 days:null,acct-2:postgres:-:null,acct-3:postgres:3 days:null',
		"$order: every scope of the keys has a row, the restoring role's, claim NULL, retention kept");
	is($node->safe_psql($db, q{
		SELECT string_agg(scope || '/' || key || ':' || coalesce((lease_until - locked_at)::text, '-')
		                  || ':' || coalesce(claim::text, 'null'), ',' ORDER BY scope, key)
		  FROM steward.idempotency_keys}),
		'acct-1/done:-:null,acct-2/done:-:null,acct-2/pending:00:05:00:null',
		"$order: keys keep claim NULL; the pending one gets 0.1's lease of 5 minutes");
	is(outcome($db, 'acct-1', 'done', 'fp-1'), 'replay 201 {"charge_id": 7}',
		"$order: a completed key of a scope with a retention override replays");
	is(outcome($db, 'acct-2', 'done', 'fp-2'), 'replay 200 {"charge_id": 8}',
		"$order: a completed key of a scope 0.1 kept no row for replays");
	is(outcome($db, 'acct-2', 'pending', 'fp-p'), 'in_progress - -',
		"$order: the key without a result is in progress within its lease");
	$node->safe_psql($db, q{
		GRANT EXECUTE ON FUNCTION steward.idempotency_begin(text, text, text, boolean) TO app_role});
	my ($rc, $out, $err) = $node->psql($db, q{
		\set VERBOSITY sqlstate
		SET ROLE app_role;
		SELECT outcome FROM steward.idempotency_begin('acct-1', 'done', 'fp-1')});
	like($err, qr/ERROR:  42501/, "$order: another role cannot use the restored scope");
	$node->safe_psql($db, "SELECT steward.alter_idempotency_scope_owner('acct-1', 'app_role')");
	is(outcome($db, 'acct-1', 'done', 'fp-1', 'app_role'), 'replay 201 {"charge_id": 7}',
		"$order: given the scope, it replays the key");
}

# A scope claimed under 0.2 keeps its claim: a 0.1 dump's keys restored
# into it are nobody's, and its row is refused (23505), not taken over.
$node->safe_psql('postgres', 'CREATE DATABASE claimed');
$node->safe_psql('claimed', q{
	CREATE EXTENSION pg_steward;
	SELECT steward.create_idempotency_scope('acct-1', 'app_role');
	GRANT EXECUTE ON FUNCTION steward.idempotency_begin(text, text, text, boolean) TO app_role;
});
$node->command_ok(
	[ 'pg_restore', '--data-only', '-t', 'idempotency_keys', '--exit-on-error',
	  '-d', $node->connstr('claimed'), "$dir/old.dump" ],
	'claimed: the 0.1 keys restore alone');
is(outcome('claimed', 'acct-1', 'done', 'fp-1', 'app_role'), 'new - -',
	'claimed: the scope\'s owner does not get the 0.1 key as a replay');
my ($rc, $out, $err) = $node->psql('claimed',
	"\\set VERBOSITY verbose\n" . `pg_restore --data-only -t idempotency_scopes -f - $dir/old.dump`);
like($err, qr/ERROR:  23505: idempotency scope "acct-1" already exists.*HINT:  .*steward\.drop_idempotency_scope\('acct-1'\)/s,
	'claimed: the 0.1 scope rows are refused with 23505 naming the scope');
is($node->safe_psql('claimed', q{
	SELECT string_agg(scope || ':' || owner::text || ':' || (claim IS NOT NULL)::text, ',' ORDER BY scope)
	  FROM steward.idempotency_scopes}),
	'acct-1:app_role:true,acct-2:postgres:false',
	'claimed: the claimed scope is unchanged (the keys\' other scope got its row)');

$node->stop;
done_testing();
