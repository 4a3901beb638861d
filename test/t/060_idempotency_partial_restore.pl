# A partial restore leaves idempotency keys without their scope's row:
# pg_restore --data-only -t idempotency_keys of a whole-database dump into
# a database whose steward.idempotency_scopes lacks the scope.  Such keys
# belong to nobody.  The role that then creates the scope
# (create_idempotency_scope, or set_idempotency_retention on the name) must
# get `new` from its begins, never the old tenant's stored response as a
# `replay`; the keys are deleted when the scope's row is created, with a
# NOTICE.

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
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', "$dir/src.dump" ],
	'whole-database custom dump');

my $begin = q{
	SET ROLE tenant_new;
	SELECT outcome || ' ' || coalesce(status::text, '-') || ' ' || coalesce(response::text, '-')
	  FROM steward.idempotency_begin('payments', 'k1', 'POST /charges 10')};

for my $how ('create', 'retention')
{
	my $db = "dst_$how";
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, q{
		CREATE EXTENSION pg_steward;
		GRANT EXECUTE ON FUNCTION
		    steward.idempotency_begin(text, text, text, boolean),
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
		SELECT string_agg(k.key || ':' || s.owner::text || ':' || coalesce(k.response::text, '-'), ','
		                  ORDER BY k.key)
		  FROM steward.idempotency_keys k JOIN steward.idempotency_scopes s USING (scope)}),
		'k1:tenant_new:-,k2:tenant_new:-',
		"$how: only tenant_new's keys are left, without the old response");
}

$node->stop;
done_testing();
