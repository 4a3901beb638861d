# A partial restore leaves idempotency keys without their scope's row:
# pg_restore --data-only -t idempotency_keys of a whole-database dump into
# a database whose steward.idempotency_scopes lacks the scope.  Such keys
# belong to nobody.  The role that then claims the name must get `new`
# from its begins, never the old tenant's stored response as a `replay`:
# when it creates the scope (create_idempotency_scope, or
# set_idempotency_retention on the name) the keys are deleted, with a
# NOTICE; when its first begin claims the name, the scope row gets a new
# claim, which the restored keys do not carry, so each begin of one of them
# replaces it.  A whole-database restore carries the scopes' claims and the
# keys', so there the tenant's retries still replay.

use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('idem_partial_restore');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_steward'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE ROLE tenant_old;
	CREATE ROLE tenant_new;
	CREATE DATABASE src;
});
$node->safe_psql('src', q{
	CREATE EXTENSION pg_steward;
	GRANT EXECUTE ON FUNCTION
	    steward.idempotency_begin(text, text, text, boolean),
	    steward.idempotency_complete(text, text, integer, jsonb)
	  TO tenant_old;
	SET ROLE tenant_old;
	SELECT outcome FROM steward.idempotency_begin('payments', 'k1', 'POST /charges 10');
	SELECT steward.idempotency_complete('payments', 'k1', 201, '{"card_last4": "4242"}');
	SELECT outcome FROM steward.idempotency_begin('payments', 'k2', 'POST /charges 20');
});

my $dir = PostgreSQL::Test::Utils::tempdir;
my $src_claim = $node->safe_psql('src',
	"SELECT claim FROM steward.idempotency_scopes WHERE scope = 'payments'");
like($src_claim, qr/^[0-9a-f-]{36}$/, 'a claimed scope has a claim');
is($node->safe_psql('src', q{
	SELECT string_agg(k.key, ',' ORDER BY k.key) FROM steward.idempotency_keys k
	  JOIN steward.idempotency_scopes s USING (scope) WHERE k.claim = s.claim}),
	'k1,k2', "its keys carry the scope's claim");
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/src.dump" ],
	'whole-database custom dump');

# A whole restore: the claims come back, the tenant's retry replays.
$node->safe_psql('postgres', 'CREATE DATABASE dst_full');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst_full'), "$dir/src.dump" ],
	'whole restore');
is($node->safe_psql('dst_full', q{
	SELECT s.claim || ':' || string_agg(k.key || '=' || (k.claim = s.claim)::text, ',' ORDER BY k.key)
	  FROM steward.idempotency_keys k JOIN steward.idempotency_scopes s USING (scope)
	 GROUP BY s.claim}),
	"$src_claim:k1=true,k2=true", 'whole restore: the scope and its keys keep their claim');
is($node->safe_psql('dst_full', q{
	SET ROLE tenant_old;
	SELECT outcome || ' ' || status || ' ' || response::text
	  FROM steward.idempotency_begin('payments', 'k1', 'POST /charges 10')}),
	'replay 201 {"card_last4": "4242"}', "whole restore: the tenant's retry replays its response");

my $begin = q{
	SET ROLE tenant_new;
	SELECT outcome || ' ' || coalesce(status::text, '-') || ' ' || coalesce(response::text, '-')
	  FROM steward.idempotency_begin('payments', 'k1', 'POST /charges 10')};

for my $how ('begin', 'create', 'retention')
{
	my $db = "dst_$how";
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, q{
		CREATE EXTENSION pg_steward;
		GRANT EXECUTE ON FUNCTION
		    steward.idempotency_begin(text, text, text, boolean),
		    steward.idempotency_complete(text, text, integer, jsonb),
		    steward.create_idempotency_scope(text, regrole, interval),
		    steward.set_idempotency_retention(text, interval)
		  TO tenant_new;
	});
	$node->command_ok(
		[ 'pg_restore', '--data-only', '-t', 'idempotency_keys', '--exit-on-error',
		  '-d', $node->connstr($db), "$dir/src.dump" ],
		"$how: restore of the keys table alone");
	is($node->safe_psql($db, q{
		SELECT string_agg(k.scope || '/' || k.key || ':' || (s.scope IS NOT NULL)::text, ',' ORDER BY k.key)
		  FROM steward.idempotency_keys k LEFT JOIN steward.idempotency_scopes s USING (scope)}),
		'payments/k1:false,payments/k2:false',
		"$how: the restored keys have no scope row");

	if ($how ne 'begin')
	{
		my ($rc, $out, $err) = $node->psql($db,
			"SET client_min_messages = notice; SET ROLE tenant_new; "
			. ($how eq 'create'
				? "SELECT steward.create_idempotency_scope('payments')"
				: "SELECT steward.set_idempotency_retention('payments', '1 day')"));
		is($rc, 0, "$how: the scope's creation succeeds");
		like($err, qr/NOTICE:  deleted 2 idempotency keys of scope "payments" that had no scope row/,
			"$how: ... and says it deleted the two leftover keys");
	}
	is($node->safe_psql($db, $begin), 'new - -',
		"$how: tenant_new's first begin of k1 is new, not tenant_old's replay");
	is($node->safe_psql($db, q{
		SET ROLE tenant_new;
		SELECT outcome FROM steward.idempotency_begin('payments', 'k2', 'POST /charges 20')}),
		'new', "$how: the restored pending key is not in progress for tenant_new");
	is($node->safe_psql($db, q{
		SET ROLE tenant_new;
		SELECT steward.idempotency_complete('payments', 'k1', 200, '{"mine": true}')}),
		'', "$how: tenant_new completes its own k1");
	is($node->safe_psql($db, q{
		SELECT string_agg(k.key || ':' || s.owner::text || ':' || (k.claim = s.claim)::text || ':'
		                  || coalesce(k.response::text, '-'), ',' ORDER BY k.key)
		  FROM steward.idempotency_keys k JOIN steward.idempotency_scopes s USING (scope)}),
		'k1:tenant_new:true:{"mine": true},k2:tenant_new:true:-',
		"$how: only tenant_new's keys, of its scope's claim, are left");
	isnt($node->safe_psql($db,
		"SELECT claim FROM steward.idempotency_scopes WHERE scope = 'payments'"),
		$src_claim, "$how: the scope's claim is a new one");
}

$node->stop;
done_testing();
